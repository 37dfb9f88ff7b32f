//! Histories read fact by fact (shared by the in-process and the process tests).

use serde_json::Value;

/// A history (`GET /cases/{id}/history`) fact by fact: a v2 event holds its command's facts
/// (its body, then `then`), a v1 event one. Each fact comes as a row of the history would,
/// its `type` and `event` the fact's, with the seq, time and actor of the event holding it.
pub fn facts(history: &[Value]) -> Vec<Value> {
    let mut out = Vec::new();
    for row in history {
        let mut body = row["event"].clone();
        let then = body
            .as_object_mut()
            .and_then(|o| o.remove("then"))
            .and_then(|t| t.as_array().cloned())
            .unwrap_or_default();
        out.push(row.clone());
        if let Some(last) = out.last_mut() {
            last["event"] = body;
        }
        for fact in then {
            let mut r = row.clone();
            r["type"] = fact["type"].clone();
            r["event"] = fact;
            out.push(r);
        }
    }
    out
}
