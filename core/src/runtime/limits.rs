//! What a command may carry, checked before anything runs, the same for every face and both
//! stores: bounded sizes (a request cannot grow a case's history without limit), no control
//! characters in text (PostgreSQL's JSONB refuses `\u0000`, SQLite keeps it: without this check
//! one store would accept what the other later fails on), and each document once.

use serde_json::{Map, Value};
use sopflow_engine::case::{Command, DocumentReceipt};

use super::{Order, RuntimeError};

/// Documents one command may hand in (after merging repeats of the same document).
pub const MAX_DOCUMENTS: usize = 64;
/// Case fields one command may set.
pub const MAX_FIELDS: usize = 128;
/// Characters in one text value (a name, a document number, a reason).
pub const MAX_TEXT_CHARS: usize = 4_096;
/// Values in one field (the elements of arrays and objects, at every depth).
pub const MAX_VALUES_PER_FIELD: usize = 1_024;

/// Checks `order` and merges repeated documents (the last receipt of a document stands, as it
/// would in the case).
pub(super) fn check(order: &mut Order) -> Result<(), RuntimeError> {
    match order {
        Order::Start {
            data, documents, ..
        } => {
            check_data(data, "/data")?;
            merge_documents(documents)?;
        }
        Order::Case { command, .. } => check_command(command)?,
    }
    Ok(())
}

pub(super) fn check_command(command: &mut Command) -> Result<(), RuntimeError> {
    match command {
        Command::Start {
            data, documents, ..
        } => {
            check_data(data, "/data")?;
            merge_documents(documents)?;
        }
        Command::CompleteStep {
            data,
            documents,
            outcome,
            ..
        } => {
            check_data(data, "/data")?;
            merge_documents(documents)?;
            check_optional(outcome.as_deref(), "/outcome")?;
        }
        Command::RecordAdapterResult {
            outcome,
            reference,
            data,
            ..
        } => {
            check_data(data, "/data")?;
            check_optional(outcome.as_deref(), "/outcome")?;
            check_optional(reference.as_deref(), "/reference")?;
        }
        Command::RecordAdapterFailure { reason, .. } | Command::Cancel { reason } => {
            check_text(reason, "/reason")?
        }
        Command::ResolveIncident { note } => check_text(note, "/reason")?,
        Command::NoShow { reason, .. } => check_optional(reason.as_deref(), "/reason")?,
        Command::CallFromQueue { counter, .. } => check_optional(counter.as_deref(), "/counter")?,
        Command::Transfer { to } => check_text(to, "/to")?,
        Command::AssignQueueNumber { .. } | Command::Recall | Command::Tick => {}
    }
    Ok(())
}

fn refused(pointer: impl Into<String>, message: impl Into<String>) -> RuntimeError {
    RuntimeError::Refused {
        pointer: pointer.into(),
        message: message.into(),
    }
}

fn check_data(data: &Map<String, Value>, at: &str) -> Result<(), RuntimeError> {
    if data.len() > MAX_FIELDS {
        return Err(refused(
            at,
            format!(
                "at most {MAX_FIELDS} fields in one request, not {}",
                data.len()
            ),
        ));
    }
    for (name, value) in data {
        let pointer = format!("{at}/{}", escape(name));
        check_text(name, &pointer)?;
        let mut budget = MAX_VALUES_PER_FIELD;
        check_value(value, &pointer, &mut budget)?;
    }
    Ok(())
}

fn check_value(value: &Value, at: &str, budget: &mut usize) -> Result<(), RuntimeError> {
    if *budget == 0 {
        return Err(refused(
            at,
            format!("at most {MAX_VALUES_PER_FIELD} values in one field"),
        ));
    }
    *budget -= 1;
    match value {
        Value::String(s) => check_text(s, at),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_value(item, &format!("{at}/{i}"), budget)?;
            }
            Ok(())
        }
        Value::Object(map) => {
            for (k, v) in map {
                let pointer = format!("{at}/{}", escape(k));
                check_text(k, &pointer)?;
                check_value(v, &pointer, budget)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn check_optional(text: Option<&str>, at: &str) -> Result<(), RuntimeError> {
    text.map_or(Ok(()), |t| check_text(t, at))
}

/// Text may hold any character but the control characters (tab, line feed and carriage
/// return excepted), and at most [`MAX_TEXT_CHARS`] of them.
fn check_text(text: &str, at: &str) -> Result<(), RuntimeError> {
    if let Some(c) = text
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(refused(
            at,
            format!(
                "control character U+{:04X} is not allowed in text",
                u32::from(c)
            ),
        ));
    }
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(refused(
            at,
            format!("at most {MAX_TEXT_CHARS} characters in one text, not {chars}"),
        ));
    }
    Ok(())
}

/// Keeps the last receipt of each document, in the order documents were first named.
fn merge_documents(documents: &mut Vec<DocumentReceipt>) -> Result<(), RuntimeError> {
    let mut merged: Vec<DocumentReceipt> = Vec::with_capacity(documents.len().min(MAX_DOCUMENTS));
    for receipt in documents.drain(..) {
        match merged.iter_mut().find(|r| r.doc == receipt.doc) {
            Some(earlier) => *earlier = receipt,
            None => {
                if merged.len() == MAX_DOCUMENTS {
                    return Err(refused(
                        "/documents",
                        format!("at most {MAX_DOCUMENTS} different documents in one request"),
                    ));
                }
                merged.push(receipt);
            }
        }
    }
    for (i, r) in merged.iter().enumerate() {
        let at = format!("/documents/{i}");
        check_text(&r.doc, &format!("{at}/type"))?;
        check_optional(r.number.as_deref(), &format!("{at}/number"))?;
    }
    *documents = merged;
    Ok(())
}

/// A JSON Pointer token (RFC 6901).
fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn receipt(doc: &str, number: Option<&str>) -> DocumentReceipt {
        DocumentReceipt {
            doc: doc.into(),
            number: number.map(str::to_owned),
            received: true,
            sha256: None,
        }
    }

    fn start(data: Value, documents: Vec<DocumentReceipt>) -> Order {
        Order::Start {
            sop_id: "s".into(),
            data: data.as_object().cloned().unwrap_or_default(),
            documents,
            service_point: None,
        }
    }

    fn refusal(order: &mut Order) -> (String, String) {
        match check(order) {
            Err(RuntimeError::Refused { pointer, message }) => (pointer, message),
            other => panic!("not refused: {other:?}"),
        }
    }

    #[test]
    fn control_characters_are_refused_where_they_are() {
        let mut order = start(serde_json::json!({ "nama": "Ani\u{0}" }), Vec::new());
        let (pointer, message) = refusal(&mut order);
        assert_eq!(pointer, "/data/nama");
        assert!(message.contains("U+0000"), "{message}");
        let mut order = start(
            serde_json::json!({ "alamat": ["Jl. Sudirman", { "rt/rw": "01\u{7}" }] }),
            Vec::new(),
        );
        assert_eq!(refusal(&mut order).0, "/data/alamat/1/rt~1rw");
        let mut fine = start(
            serde_json::json!({ "catatan": "baris 1\nbaris 2\tx" }),
            Vec::new(),
        );
        assert!(check(&mut fine).is_ok());
    }

    #[test]
    fn repeated_documents_are_merged_and_counts_bounded() {
        let mut order = start(
            serde_json::json!({}),
            (0..50_000)
                .map(|i| receipt("kk", Some(&i.to_string())))
                .collect(),
        );
        assert!(check(&mut order).is_ok());
        let Order::Start { documents, .. } = &order else {
            unreachable!()
        };
        assert_eq!(documents.len(), 1);
        assert_eq!(
            documents[0].number.as_deref(),
            Some("49999"),
            "the last stands"
        );
        let mut many = start(
            serde_json::json!({}),
            (0..=MAX_DOCUMENTS)
                .map(|i| receipt(&format!("d{i}"), None))
                .collect(),
        );
        let (pointer, message) = refusal(&mut many);
        assert_eq!(pointer, "/documents");
        assert!(message.contains(&MAX_DOCUMENTS.to_string()), "{message}");
    }

    #[test]
    fn sizes_are_bounded_with_the_limit_named() {
        let long = "x".repeat(MAX_TEXT_CHARS + 1);
        let (pointer, message) = refusal(&mut start(serde_json::json!({ "nama": long }), vec![]));
        assert_eq!(pointer, "/data/nama");
        assert!(message.contains(&MAX_TEXT_CHARS.to_string()), "{message}");
        let fields: Map<String, Value> = (0..=MAX_FIELDS)
            .map(|i| (format!("f{i}"), Value::Bool(true)))
            .collect();
        let (_, message) = refusal(&mut start(Value::Object(fields), vec![]));
        assert!(message.contains(&MAX_FIELDS.to_string()), "{message}");
        let wide = Value::Array(vec![Value::Null; MAX_VALUES_PER_FIELD + 1]);
        let (pointer, _) = refusal(&mut start(serde_json::json!({ "daftar": wide }), vec![]));
        assert!(pointer.starts_with("/data/daftar"), "{pointer}");
        let mut cancel = Order::Case {
            case_id: "c".into(),
            expected_version: None,
            command: Command::Cancel {
                reason: "batal\u{1b}[31m".into(),
            },
        };
        assert_eq!(refusal(&mut cancel).0, "/reason");
    }
}
