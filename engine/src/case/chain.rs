//! The hash chain of a case history: each event's hash covers the previous hash and the
//! event's canonical JSON, so that changing, removing, reordering or inserting an event breaks
//! every hash after it.
//!
//! Personal data (case fields marked `x-personal` in the SOP's case schema) is hashed in a
//! salted form, not as its value: the value can later be erased from the stored history
//! (retention rules) by replacing it with that salted hash, and the chain still verifies.
//! Without the salt, which is erased with the data, the hash does not reveal the value.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::CaseVersion;
use super::event::{Event, EventBody};

/// The `prev_hash` of a case's first event.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The key that marks an erased (or hashed) personal value in an event's JSON.
pub const PERSONAL_MARK: &str = "$personal";

/// SHA-256 of `text`, as lowercase hex.
pub fn sha256_hex(text: &[u8]) -> String {
    hex::encode(Sha256::digest(text))
}

/// The salted hash that stands for a personal value.
pub fn personal_hash(salt: &str, field: &str, value: &Value) -> Value {
    if value.get(PERSONAL_MARK).is_some() {
        return value.clone(); // already erased: the mark is what was hashed
    }
    let text = format!("{salt}\u{1f}{field}\u{1f}{value}");
    json!({ PERSONAL_MARK: sha256_hex(text.as_bytes()) })
}

fn redact_map(map: &mut Map<String, Value>, personal: &[String], salt: &str) {
    for (field, value) in map.iter_mut() {
        if personal.iter().any(|p| p == field) {
            *value = personal_hash(salt, field, value);
        }
    }
}

/// The event with each personal value replaced by its salted hash: what the chain covers,
/// and what the stored history holds once personal data is erased.
pub fn redacted(event: &Event, personal: &[String], salt: &str) -> Event {
    let mut event = event.clone();
    for fact in event.facts_mut() {
        match fact {
            EventBody::CaseStarted { data, .. }
            | EventBody::DataRecorded { data, .. }
            | EventBody::StepCompleted { data, .. } => redact_map(data, personal, salt),
            EventBody::AdapterRequested { request, .. } => redact_map(request, personal, salt),
            EventBody::BranchTaken { evaluations, .. } => {
                for evaluation in evaluations {
                    redact_map(&mut evaluation.values, personal, salt);
                }
            }
            _ => {}
        }
    }
    event
}

/// The hash of `event` following `prev_hash`.
pub fn event_hash(prev_hash: &str, event: &Event, personal: &[String], salt: &str) -> String {
    chained_hash(
        prev_hash,
        &redacted(event, personal, salt).to_canonical_json(),
    )
}

/// The hash of an event whose chained text (canonical JSON, personal values salted) is
/// `canonical`, following `prev_hash`.
fn chained_hash(prev_hash: &str, canonical: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(canonical.as_bytes());
    hex::encode(hasher.finalize())
}

/// A new event as it is stored: its JSON text and its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The event's canonical JSON, its personal values as they are: the text stored.
    pub text: String,
    /// [`event_hash`] of the event.
    pub hash: String,
}

/// `event`'s stored text and its hash following `prev_hash`. The text is serialised once and,
/// where the event holds no personal value, hashed as it is (the salted form is the same
/// text); only an event with personal values is serialised again in its salted form.
pub fn link(prev_hash: &str, event: &Event, personal: &[String], salt: &str) -> Link {
    let text = event.to_canonical_json();
    let hash = match holds_personal(event, personal) {
        true => event_hash(prev_hash, event, personal, salt),
        false => chained_hash(prev_hash, &text),
    };
    Link { text, hash }
}

/// Whether any of `event`'s maps that [`redacted`] salts has a personal field.
fn holds_personal(event: &Event, personal: &[String]) -> bool {
    if personal.is_empty() {
        return false;
    }
    let any = |map: &Map<String, Value>| personal.iter().any(|p| map.contains_key(p));
    event.facts().any(|fact| match fact {
        EventBody::CaseStarted { data, .. }
        | EventBody::DataRecorded { data, .. }
        | EventBody::StepCompleted { data, .. } => any(data),
        EventBody::AdapterRequested { request, .. } => any(request),
        EventBody::BranchTaken { evaluations, .. } => {
            evaluations.iter().any(|evaluation| any(&evaluation.values))
        }
        _ => false,
    })
}

/// Where a stored chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {seq}: {reason}")]
pub struct ChainBreak {
    pub seq: CaseVersion,
    pub reason: String,
}

/// Checks a stored chain: `(event, prev_hash, hash)` in order, from the genesis hash.
pub fn verify_chain<'a>(
    links: impl IntoIterator<Item = (&'a Event, &'a str, &'a str)>,
    personal: &[String],
    salt: &str,
) -> Result<String, ChainBreak> {
    let mut expected_prev = GENESIS.to_owned();
    for (expected_seq, (event, prev, hash)) in (1..).zip(links) {
        let fail = |reason: String| ChainBreak {
            seq: event.seq,
            reason,
        };
        if event.seq != expected_seq {
            return Err(fail(format!("expected event {expected_seq} here")));
        }
        if prev != expected_prev {
            return Err(fail(
                "its previous hash is not the hash of the event before it".to_owned(),
            ));
        }
        let computed = event_hash(prev, event, personal, salt);
        if computed != hash {
            return Err(fail("its content does not match its hash".to_owned()));
        }
        expected_prev = computed;
    }
    Ok(expected_prev)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use serde_json::{Map, json};
    use time::macros::datetime;

    use super::*;
    use crate::case::event::{Actor, EVENT_FORMAT_VERSION};

    fn event(seq: u64, body: EventBody, then: Vec<EventBody>) -> Event {
        Event {
            v: EVENT_FORMAT_VERSION,
            seq,
            at: datetime!(2026-12-04 08:00:00.5 UTC),
            by: Actor::new("ani", "petugas"),
            body,
            then,
        }
    }

    fn data(value: serde_json::Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    /// A link's hash is the event's hash, salted or not, and its text is what the store kept
    /// before links were made (the keys sorted: serde_json without `preserve_order`).
    #[test]
    fn a_link_is_the_event_s_text_and_hash() {
        let personal = vec!["nik".to_owned()];
        let recorded = |fields| EventBody::DataRecorded {
            step: Arc::from("periksa"),
            data: data(fields),
        };
        let entered = EventBody::StepEntered {
            step: Arc::from("cetak"),
            visit: 1,
            budget_step: None,
            due_at: None,
        };
        let plain = event(
            2,
            recorded(json!({"alamat": "Jl. Uji 1"})),
            vec![entered.clone()],
        );
        let with_nik = event(
            3,
            entered,
            vec![recorded(json!({"nik": "1312990101990001"}))],
        );
        for e in [&plain, &with_nik] {
            for personal in [&personal[..], &[]] {
                let link = link(GENESIS, e, personal, "salt");
                assert_eq!(link.hash, event_hash(GENESIS, e, personal, "salt"));
                let stored = serde_json::to_string(&serde_json::to_value(e).unwrap()).unwrap();
                assert_eq!(link.text, stored);
            }
        }
        // The salted value is what is hashed: another salt, another hash, the same text.
        let a = link(GENESIS, &with_nik, &personal, "a");
        let b = link(GENESIS, &with_nik, &personal, "b");
        assert_ne!(a.hash, b.hash);
        assert_eq!(a.text, b.text);
        assert!(!a.text.contains(PERSONAL_MARK));
        // An event without personal values hashes the same whatever the salt.
        assert_eq!(
            link(GENESIS, &plain, &personal, "a").hash,
            link(GENESIS, &plain, &personal, "b").hash
        );
    }
}
