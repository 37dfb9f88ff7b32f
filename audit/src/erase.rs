//! Erasure of a closed case's personal data (UU 27/2022 on personal data protection), on
//! request or by the retention rule. The stored events keep, in place of each personal value,
//! the salted hash the chain already covers; the salt goes (without it the hashes reveal
//! nothing); the outbox rows lose their requests' personal values and their printouts; the
//! case's uploaded scans go. The chain, the log and every checkpoint still verify, and the
//! erasure itself is recorded (who, when, why) as a leaf of the log.
//!
//! What the replay of an erased case can still check, and what not, is said in
//! `sopflow_engine::case::replay`.

use serde_json::{Map, Value};
use sopflow_engine::case::chain::{event_hash, personal_hash, redacted};
use sopflow_engine::case::{CaseState, EventBody};
use sopflow_store::{Erasure, NewErasure, Redaction, Store};
use time::OffsetDateTime;

use crate::{AuditError, Requester, SopCache, decode};

/// Why an erasure happens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Someone asked (the applicant, a court, the office), with a reason.
    Request,
    /// The retention rule: closed longer than the office keeps personal data.
    Retention,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Source::Request => "request",
            Source::Retention => "retention",
        }
    }
}

/// Erases the personal data of the closed case `case_id`. Refused for an open case, an erased
/// one, and one whose history does not verify (its evidence is kept as it is).
pub async fn erase_case(
    store: &Store,
    case_id: &str,
    who: &Requester,
    reason: &str,
    source: Source,
    now: OffsetDateTime,
) -> Result<Erasure, AuditError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AuditError::Invalid("an erasure needs a reason".into()));
    }
    let record = store
        .case(case_id)
        .await?
        .ok_or_else(|| AuditError::CaseNotFound(case_id.to_owned()))?;
    if let Some(done) = store.erasure_of(case_id).await? {
        return Err(AuditError::Invalid(format!(
            "case {case_id} was erased at {} ({})",
            done.at, done.reason
        )));
    }
    let stored = store.events(case_id).await?;
    let events = decode(case_id, &stored)?;
    // Closed as its history says, not as its listing says.
    let state = CaseState::replay(&events)
        .map_err(|e| AuditError::Corrupt(format!("case {case_id}: {e:?}")))?;
    if !state.status.is_closed() {
        return Err(AuditError::Invalid(format!(
            "case {case_id} is {}: only a closed case's personal data is erased",
            state.status.as_str()
        )));
    }
    let salt = store.case_salt(case_id).await?.ok_or_else(|| {
        AuditError::Corrupt(format!(
            "case {case_id} has no salt and no recorded erasure: verify it first"
        ))
    })?;
    let mut sops = SopCache::default();
    let sop = sops
        .get(store, &record.sop_id, record.sop_version)
        .await?
        .map_err(AuditError::Corrupt)?;
    let personal = sop.sop.personal_fields();
    let mut redaction = Redaction::default();
    for (event, row) in events.iter().zip(&stored) {
        // What is written must be what the chain already covers.
        if event_hash(&row.prev_hash, event, personal, &salt) != row.hash {
            return Err(AuditError::Invalid(format!(
                "case {case_id} event {}: the history does not verify; it is kept as it is \
                 until that is investigated",
                event.seq
            )));
        }
        let erased = redacted(event, personal, &salt);
        if erased != *event {
            let payload = serde_json::to_value(&erased)
                .map_err(|e| AuditError::Corrupt(format!("event {}: {e}", event.seq)))?;
            redaction.events.push((row.seq, payload));
        }
        for fact in event.facts() {
            if let EventBody::DocumentsRecorded { documents, .. }
            | EventBody::StepCompleted { documents, .. } = fact
            {
                redaction
                    .files
                    .extend(documents.iter().filter_map(|d| d.sha256.clone()));
            }
        }
    }
    for row in store.outbox_for_case(case_id).await? {
        let mut payload = row.payload.clone();
        if let Some(map) = payload.as_object_mut() {
            if let Some(Value::Object(request)) = map.get_mut("request") {
                redact_in_place(request, personal, &salt);
            }
            // A printout is the personal values laid out.
            map.remove("printout");
        }
        if payload != row.payload {
            redaction.outbox.push((row.id, payload));
        }
    }
    redaction.files.sort();
    redaction.files.dedup();
    let mut tx = store.begin().await?;
    let erasure = tx
        .erase_case(
            &NewErasure {
                case_id: case_id.to_owned(),
                at: now,
                user_name: who.user.clone(),
                role: who.role.clone(),
                source: source.as_str().to_owned(),
                reason: reason.to_owned(),
            },
            &redaction,
        )
        .await?;
    tx.commit().await?;
    Ok(erasure)
}

/// The retention rule: erases the cases closed at or before `closed_before`, up to `limit`
/// of them; returns the erasures and the cases that could not be erased (with why).
pub async fn erase_expired(
    store: &Store,
    closed_before: OffsetDateTime,
    reason: &str,
    now: OffsetDateTime,
    limit: u32,
) -> Result<(Vec<Erasure>, Vec<(String, String)>), AuditError> {
    let who = Requester {
        user: "sopflow".into(),
        role: "system".into(),
    };
    let mut done = Vec::new();
    let mut refused = Vec::new();
    for case_id in store.closed_unerased(closed_before, limit).await? {
        match erase_case(store, &case_id, &who, reason, Source::Retention, now).await {
            Ok(e) => done.push(e),
            Err(AuditError::Store(e)) => return Err(AuditError::Store(e)),
            Err(e) => refused.push((case_id, e.to_string())),
        }
    }
    Ok((done, refused))
}

fn redact_in_place(map: &mut Map<String, Value>, personal: &[String], salt: &str) {
    for (field, value) in map.iter_mut() {
        if personal.iter().any(|p| p == field) {
            *value = personal_hash(salt, field, value);
        }
    }
}
