//! The auditor's tools, below the faces that serve them (the REST handlers, the CLI):
//! verification of everything stored that decides behaviour ([`verify`]), the transparency
//! log's tree ([`merkle`]), its signed checkpoints ([`checkpoint`]) and inclusion proofs of a
//! case against one ([`prove`]), anchors over all case heads ([`anchor`]), a case step by step
//! ([`replay`]), exports of case histories ([`export`]), the per-SOP-version report
//! ([`report`]) and the erasure of a closed case's personal data ([`erase`]).
//!
//! Everything here reads the store as an auditor would: it trusts neither the projection
//! (`cases`) nor the stored columns beside an event's JSON, only what the hash chain covers,
//! and it checks the SOP text of a version against its recorded content hash before judging
//! a case by it.
//!
//! Personal data (the case fields an SOP marks `x-personal`: NIK, names, KK numbers) is masked
//! in whatever these tools show, unless an auditor asks for it with a reason; that request is
//! recorded in the store's `audit_access` log before anything is shown.

pub mod access_log;
pub mod anchor;
pub mod checkpoint;
pub mod erase;
pub mod export;
mod logcheck;
pub mod merkle;
pub mod prove;
pub mod replay;
pub mod report;
pub mod verify;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value};
use sopflow_engine::case::chain::{PERSONAL_MARK, sha256_hex};
use sopflow_engine::case::{CalendarPin, CaseCalendar, Event, EventBody};
use sopflow_engine::sop::{self, Sop};
use sopflow_store::{CaseFilter, CaseRecord, NewAuditAccess, Page, Store};
use time::OffsetDateTime;

/// Cases read per store round trip when walking all cases: a walk holds one page of
/// projections (and verification the rows of one page of cases) at a time, never the whole
/// store.
pub const PAGE: u32 = 200;

/// Longest reason accepted for revealing personal data.
pub const MAX_REASON: usize = 500;

/// Why an audit call failed (not a finding: findings are results).
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("no case `{0}`")]
    CaseNotFound(String),
    #[error("no version {version} of SOP `{sop_id}`")]
    SopNotFound { sop_id: String, version: u32 },
    /// The request itself is wrong (a bad range, a reveal without a reason).
    #[error("{0}")]
    Invalid(String),
    /// A stored history or SOP that cannot be read at all.
    #[error("{0}")]
    Corrupt(String),
    /// A history too damaged to replay; the findings say where and why.
    #[error("case {case_id} cannot be replayed: {}", findings.iter().map(|f| f.to_string()).collect::<Vec<_>>().join("; "))]
    Unreplayable {
        case_id: String,
        findings: Vec<verify::Finding>,
    },
    #[error("store: {0}")]
    Store(#[from] sopflow_store::Error),
}

/// Who is asking: recorded with any access to personal data.
#[derive(Debug, Clone)]
pub struct Requester {
    pub user: String,
    pub role: String,
}

/// Whether personal data is shown, and if so why.
#[derive(Debug, Clone, Default)]
pub enum Personal {
    /// Masked (the default).
    #[default]
    Masked,
    /// Shown as stored, for this reason (already recorded, see [`record_access`]).
    Revealed { reason: String },
}

impl Personal {
    /// Checks a reveal request: a reason is required and bounded. A reason given is checked
    /// (length, no control characters) whether or not it reveals, so that the rule is one
    /// the API document can state, and no store is handed text it refuses (PostgreSQL's
    /// `text` cannot hold `\u0000`).
    pub fn requested(reveal: bool, reason: Option<&str>) -> Result<Self, AuditError> {
        if let Some(r) = reason {
            if r.chars().count() > MAX_REASON {
                return Err(AuditError::Invalid(format!(
                    "the reason is longer than {MAX_REASON} characters"
                )));
            }
            if let Some(c) = r
                .chars()
                .find(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
            {
                return Err(AuditError::Invalid(format!(
                    "control character U+{:04X} is not allowed in the reason",
                    u32::from(c)
                )));
            }
        }
        let reason = reason.map(str::trim).filter(|r| !r.is_empty());
        match (reveal, reason) {
            (false, _) => Ok(Personal::Masked),
            (true, None) => Err(AuditError::Invalid(
                "revealing personal data needs a reason".into(),
            )),
            (true, Some(r)) => Ok(Personal::Revealed {
                reason: r.to_owned(),
            }),
        }
    }

    pub fn is_revealed(&self) -> bool {
        matches!(self, Personal::Revealed { .. })
    }

    pub fn label(&self) -> &'static str {
        match self {
            Personal::Masked => "masked",
            Personal::Revealed { .. } => "revealed",
        }
    }
}

/// Records an access in the store's append-only `audit_access` log.
pub async fn record_access(
    store: &Store,
    who: &Requester,
    action: &str,
    scope: &str,
    personal: &Personal,
    now: OffsetDateTime,
) -> Result<i64, AuditError> {
    let reason = match personal {
        Personal::Masked => None,
        Personal::Revealed { reason } => Some(reason.clone()),
    };
    Ok(store
        .record_audit_access(&NewAuditAccess {
            at: now,
            user_name: who.user.clone(),
            role: who.role.clone(),
            action: action.to_owned(),
            scope: scope.to_owned(),
            revealed: personal.is_revealed(),
            reason,
        })
        .await?)
}

/// A compiled SOP version, checked against its content hash.
#[derive(Debug, Clone)]
pub struct CheckedSop {
    pub sop: Arc<Sop>,
    pub content_hash: String,
}

/// SOP versions as the auditor loads them: from `sop_versions`, each text checked against its
/// recorded SHA-256 before it is compiled (a rewritten SOP text must not make a forged history
/// look right), compiled once per run. Likewise the calendars cases are pinned to, from
/// `calendars` by content hash.
#[derive(Debug, Default)]
pub struct SopCache {
    versions: HashMap<(String, u32), Result<CheckedSop, String>>,
    calendars: HashMap<CalendarPin, Result<CaseCalendar, String>>,
    /// The UTC offset of each service point's zone (`None`: unknown or unreadable).
    points: HashMap<String, Option<time::UtcOffset>>,
}

impl SopCache {
    /// The UTC offset of service point `id`, whose local day queue numbers restart on.
    pub async fn point_offset(
        &mut self,
        store: &Store,
        id: &str,
    ) -> Result<Option<time::UtcOffset>, AuditError> {
        if let Some(known) = self.points.get(id) {
            return Ok(*known);
        }
        let offset = store
            .service_point(id)
            .await?
            .and_then(|p| sopflow_calendar::utc_offset_of(&p.timezone));
        self.points.insert(id.to_owned(), offset);
        Ok(offset)
    }

    /// The version, or why it cannot be used to judge a case (`Ok(Err(..))`).
    pub async fn get(
        &mut self,
        store: &Store,
        sop_id: &str,
        version: u32,
    ) -> Result<Result<CheckedSop, String>, AuditError> {
        let key = (sop_id.to_owned(), version);
        if let Some(found) = self.versions.get(&key) {
            return Ok(found.clone());
        }
        let loaded = match store.sop_version(sop_id, version).await? {
            None => Err(format!(
                "the case is pinned to version {version} of SOP `{sop_id}`, which is not stored"
            )),
            Some(stored) if sha256_hex(stored.yaml.as_bytes()) != stored.content_hash => {
                Err(format!(
                    "the text of SOP `{sop_id}` version {version} does not match its content hash"
                ))
            }
            Some(stored) => match sop::load(&stored.yaml) {
                Ok(compiled) => Ok(CheckedSop {
                    sop: Arc::new(compiled),
                    content_hash: stored.content_hash,
                }),
                Err(problems) => Err(format!(
                    "SOP `{sop_id}` version {version} no longer validates ({} problems)",
                    problems.len()
                )),
            },
        };
        self.versions.insert(key, loaded.clone());
        Ok(loaded)
    }

    /// The calendar a history is pinned to (none: always open), or why it cannot be used to
    /// judge the case (`Ok(Err(..))`): not stored, or its stored text not the pinned one.
    pub async fn calendar(
        &mut self,
        store: &Store,
        pin: Option<&CalendarPin>,
    ) -> Result<Result<CaseCalendar, String>, AuditError> {
        let Some(pin) = pin else {
            return Ok(Ok(CaseCalendar::always_open()));
        };
        if let Some(found) = self.calendars.get(pin) {
            return Ok(found.clone());
        }
        let loaded = match store.calendar(&pin.hash).await? {
            None => Err(format!(
                "the case is pinned to calendar {pin}, which is not stored"
            )),
            Some(stored) => CaseCalendar::from_canonical(pin, &stored.canonical),
        };
        self.calendars.insert(pin.clone(), loaded.clone());
        Ok(loaded)
    }
}

/// Walks all cases (or those of one SOP) in case-id order, one page at a time.
pub struct CaseWalk {
    filter: CaseFilter,
    after: Option<String>,
    page: std::vec::IntoIter<CaseRecord>,
    done: bool,
}

impl CaseWalk {
    pub fn new(sop_id: Option<String>) -> Self {
        Self::filtered(CaseFilter {
            sop_id,
            ..CaseFilter::default()
        })
    }

    /// The cases `filter` selects (e.g. those of some service points).
    pub fn filtered(filter: CaseFilter) -> Self {
        Self {
            filter,
            after: None,
            page: Vec::new().into_iter(),
            done: false,
        }
    }

    /// The rest of the current page, or the next page: `None` once every case was given.
    pub async fn next_page(
        &mut self,
        store: &Store,
    ) -> Result<Option<Vec<CaseRecord>>, AuditError> {
        let Some(first) = self.next(store).await? else {
            return Ok(None);
        };
        let mut page = Vec::with_capacity(1 + self.page.len());
        page.push(first);
        page.extend(self.page.by_ref());
        if let Some(last) = page.last() {
            self.after = Some(last.case_id.clone());
        }
        Ok(Some(page))
    }

    pub async fn next(&mut self, store: &Store) -> Result<Option<CaseRecord>, AuditError> {
        loop {
            if let Some(record) = self.page.next() {
                self.after = Some(record.case_id.clone());
                return Ok(Some(record));
            }
            if self.done {
                return Ok(None);
            }
            let page = store
                .list_cases(
                    &self.filter,
                    &Page {
                        limit: PAGE,
                        after: self.after.clone(),
                    },
                )
                .await?;
            self.done = page.len() < PAGE as usize;
            self.page = page.into_iter();
        }
    }
}

/// How many cases the store holds (for a progress bar).
pub async fn count_cases(store: &Store) -> Result<u64, AuditError> {
    Ok(store
        .count_cases_by_status()
        .await?
        .iter()
        .map(|(_, _, n)| u64::try_from(*n).unwrap_or(0))
        .sum())
}

/// Decodes stored events, naming the first one whose JSON is not an event.
pub fn decode(case_id: &str, stored: &[sopflow_store::Event]) -> Result<Vec<Event>, AuditError> {
    stored
        .iter()
        .map(|e| {
            serde_json::from_value::<Event>(e.payload.clone()).map_err(|err| {
                AuditError::Corrupt(format!(
                    "case {case_id} event {}: not an event: {err}",
                    e.seq
                ))
            })
        })
        .collect()
}

/// A personal value as shown masked: digits keep their last four (`************0001`, enough
/// to tell two applicants apart at a counter), other text its first character; an erased
/// value keeps its erasure mark.
pub fn mask_value(value: &Value) -> Value {
    match value {
        Value::Object(map) if map.contains_key(PERSONAL_MARK) => value.clone(),
        Value::String(s) => {
            let chars: Vec<char> = s.chars().collect();
            let masked: String = if chars.len() > 4 && chars.iter().all(char::is_ascii_digit) {
                let keep = chars.len() - 4;
                "*".repeat(keep) + &s[s.len() - 4..]
            } else {
                match chars.first() {
                    Some(first) => format!("{first}***"),
                    None => String::new(),
                }
            };
            Value::String(masked)
        }
        Value::Null => Value::Null,
        _ => Value::String("***".to_owned()),
    }
}

/// Masks the personal fields of a map of case data.
pub fn mask_map(map: &mut Map<String, Value>, personal: &[String]) {
    for (field, value) in map.iter_mut() {
        if personal.iter().any(|p| p == field) {
            *value = mask_value(value);
        }
    }
}

/// Masks the personal fields wherever they appear in a JSON value (any object key named like
/// one), and the number of every document (what is under a `documents` key): for stored
/// JSON that may not even decode (a damaged history is still exported).
pub fn mask_json(value: &mut Value, personal: &[String]) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if personal.iter().any(|p| p == key) {
                    *v = mask_value(v);
                } else if key == "documents" {
                    mask_document_numbers(v);
                } else {
                    mask_json(v, personal);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| mask_json(v, personal)),
        _ => {}
    }
}

/// Masks the numbers of documents (a KK number on a handed-in copy is personal data) in a
/// list or map of receipts, as events and case views hold them.
pub fn mask_document_numbers(documents: &mut Value) {
    match documents {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                if key == "number" {
                    *v = mask_value(v);
                } else {
                    mask_document_numbers(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_document_numbers),
        _ => {}
    }
}

/// The event with its personal values masked: the same places the hash chain salts
/// (`chain::redacted`), and the documents' numbers.
pub fn mask_event(event: &Event, personal: &[String]) -> Event {
    let mut event = event.clone();
    let mask_numbers = |documents: &mut Vec<sopflow_engine::case::DocumentReceipt>| {
        for receipt in documents {
            if let Some(number) = &receipt.number {
                receipt.number = mask_value(&Value::String(number.clone()))
                    .as_str()
                    .map(str::to_owned);
            }
        }
    };
    for fact in event.facts_mut() {
        match fact {
            EventBody::CaseStarted { data, .. } | EventBody::DataRecorded { data, .. } => {
                mask_map(data, personal)
            }
            EventBody::StepCompleted {
                data, documents, ..
            } => {
                mask_map(data, personal);
                mask_numbers(documents);
            }
            EventBody::AdapterRequested { request, .. } => mask_map(request, personal),
            EventBody::BranchTaken { evaluations, .. } => {
                for evaluation in evaluations {
                    mask_map(&mut evaluation.values, personal);
                }
            }
            EventBody::DocumentsRecorded { documents, .. } => mask_numbers(documents),
            _ => {}
        }
    }
    event
}

/// The event as shown: masked unless revealed.
pub fn shown_event(event: &Event, personal: &[String], shown: &Personal) -> Event {
    match shown {
        Personal::Masked => mask_event(event, personal),
        Personal::Revealed { .. } => event.clone(),
    }
}

/// Seconds between two instants, to the millisecond.
pub fn seconds(from: OffsetDateTime, to: OffsetDateTime) -> f64 {
    ((to - from).as_seconds_f64() * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_nik_keeps_its_last_four_digits_and_a_name_its_first_letter() {
        assert_eq!(
            mask_value(&json!("1312990101900001")),
            json!("************0001")
        );
        assert_eq!(mask_value(&json!("Contoh Pemohon")), json!("C***"));
        assert_eq!(mask_value(&json!("")), json!(""));
        assert_eq!(mask_value(&json!(12)), json!("***"));
        let erased = json!({ PERSONAL_MARK: "abc" });
        assert_eq!(mask_value(&erased), erased);
    }

    #[test]
    fn personal_keys_are_masked_at_any_depth() {
        let personal = vec!["nik".to_owned()];
        let mut v = json!({ "data": { "nik": "1312990101900001", "alasan": "baru" },
                            "evaluations": [{ "values": { "nik": "1312990101900001" } }] });
        mask_json(&mut v, &personal);
        assert_eq!(v["data"]["nik"], "************0001");
        assert_eq!(v["data"]["alasan"], "baru");
        assert_eq!(v["evaluations"][0]["values"]["nik"], "************0001");
    }

    #[test]
    fn document_numbers_are_masked_and_queue_numbers_are_not() {
        let personal = vec!["nik".to_owned()];
        let mut v = json!({
            "type": "documents_recorded",
            "documents": [{ "type": "fotokopi_kk", "number": "1312990101900009" }],
            "number": "A-001"
        });
        mask_json(&mut v, &personal);
        assert_eq!(v["documents"][0]["number"], "************0009");
        assert_eq!(v["number"], "A-001", "a queue number is not personal");
        let mut state = json!({ "fotokopi_kk": { "number": "KK-7", "received": true } });
        mask_document_numbers(&mut state);
        assert_eq!(state["fotokopi_kk"]["number"], "K***");
        let event: Event = serde_json::from_value(json!({
            "v": 1, "seq": 2, "at": "2026-01-05T01:00:00Z",
            "by": { "user": "ani", "role": "petugas" },
            "type": "documents_recorded", "step": "s1",
            "documents": [{ "type": "kk", "number": "1312990101900009", "received": true }]
        }))
        .expect("an event");
        let masked = serde_json::to_value(mask_event(&event, &personal)).expect("json");
        assert_eq!(masked["documents"][0]["number"], "************0009");
    }

    #[test]
    fn a_reveal_needs_a_reason() {
        assert!(Personal::requested(true, None).is_err());
        assert!(Personal::requested(true, Some("  ")).is_err());
        assert!(Personal::requested(true, Some(&"x".repeat(MAX_REASON + 1))).is_err());
        assert!(matches!(
            Personal::requested(true, Some(" court order 12 ")),
            Ok(Personal::Revealed { reason }) if reason == "court order 12"
        ));
        assert!(matches!(
            Personal::requested(false, Some("ignored")),
            Ok(Personal::Masked)
        ));
        // A reason given is checked even when nothing is revealed.
        assert!(Personal::requested(false, Some("a\u{0}b")).is_err());
        assert!(Personal::requested(true, Some("a\u{85}b")).is_err());
        assert!(Personal::requested(false, Some(&"x".repeat(MAX_REASON + 1))).is_err());
        assert!(Personal::requested(true, Some("line\nbreak")).is_ok());
    }
}
