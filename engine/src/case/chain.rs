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
    let canonical = redacted(event, personal, salt).to_canonical_json();
    let mut hasher = Sha256::new();
    hasher.update(prev_hash.as_bytes());
    hasher.update(b"\n");
    hasher.update(canonical.as_bytes());
    hex::encode(hasher.finalize())
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
