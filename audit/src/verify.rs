//! Verification of stored histories: for each case, the stored rows against the events they
//! claim to be, the hash chain from the genesis hash, the case's head, a replay against its
//! pinned SOP version re-evaluating every decision (and who recorded each person's step),
//! and, given an anchor, that every case head the anchor recorded is still in that case's
//! history.

use std::collections::BTreeMap;
use std::fmt;

use serde::Serialize;
use sopflow_engine::case::chain::verify_chain;
use sopflow_engine::case::{Event, EventBody, verify};
use sopflow_store::{CaseRecord, Store};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::anchor::{Anchor, AnchorHead};
use super::{AuditError, CaseWalk, SopCache};

/// Which check a finding comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// A stored row is not the event it claims to be (its JSON, seq, kind, who or when).
    Record,
    /// The hash chain is broken.
    Chain,
    /// The case's recorded head (version, head hash) is not its last event.
    Head,
    /// The SOP version the case is pinned to cannot be used to judge it.
    Sop,
    /// Replaying the case against its SOP version diverges.
    Replay,
    /// A case head recorded in the anchor is no longer in the history.
    Anchor,
}

impl Check {
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Record => "record",
            Check::Chain => "chain",
            Check::Head => "head",
            Check::Sop => "sop",
            Check::Replay => "replay",
            Check::Anchor => "anchor",
        }
    }
}

/// One mismatch: the case, the event (when one is to blame) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Finding {
    pub case_id: String,
    pub seq: Option<u64>,
    pub check: Check,
    pub reason: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.seq {
            Some(seq) => write!(
                f,
                "case {} event {}: {}: {}",
                self.case_id,
                seq,
                self.check.as_str(),
                self.reason
            ),
            None => write!(
                f,
                "case {}: {}: {}",
                self.case_id,
                self.check.as_str(),
                self.reason
            ),
        }
    }
}

/// What to verify.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Only this case (and only its entry of the anchor).
    pub case: Option<String>,
    pub anchor: Option<Anchor>,
}

/// The outcome of a run.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct VerifyReport {
    pub cases: u64,
    pub events: u64,
    /// Case heads of the anchor checked (0 without an anchor).
    pub anchor_heads: u64,
    pub findings: Vec<Finding>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.findings.is_empty()
    }
}

/// Verifies every case (or one), calling `progress` after each case. Streams: one page of
/// case projections and one case's events in memory at a time.
pub async fn verify_store(
    store: &Store,
    options: &VerifyOptions,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<VerifyReport, AuditError> {
    let mut sops = SopCache::default();
    let mut report = VerifyReport::default();
    let mut anchored: BTreeMap<String, AnchorHead> = BTreeMap::new();
    if let Some(anchor) = &options.anchor {
        anchor.check_self().map_err(AuditError::Invalid)?;
        for head in &anchor.heads {
            if options.case.as_ref().is_none_or(|c| *c == head.case_id) {
                anchored.insert(head.case_id.clone(), head.clone());
            }
        }
        report.anchor_heads = anchored.len() as u64;
    }
    match &options.case {
        Some(case_id) => {
            if let Some(record) = store.case(case_id).await? {
                verify_one(store, &mut sops, &record, &mut anchored, &mut report).await?;
                progress(case_id);
            } else if !anchored.contains_key(case_id) {
                return Err(AuditError::CaseNotFound(case_id.clone()));
            }
        }
        None => {
            let mut walk = CaseWalk::new(None);
            while let Some(record) = walk.next(store).await? {
                verify_one(store, &mut sops, &record, &mut anchored, &mut report).await?;
                progress(&record.case_id);
            }
        }
    }
    // Anchored cases the store no longer has at all.
    for (case_id, head) in anchored {
        report.findings.push(Finding {
            case_id,
            seq: Some(head.seq),
            check: Check::Anchor,
            reason: "the anchor records this case, the store no longer has it".to_owned(),
        });
    }
    Ok(report)
}

async fn verify_one(
    store: &Store,
    sops: &mut SopCache,
    record: &CaseRecord,
    anchored: &mut BTreeMap<String, AnchorHead>,
    report: &mut VerifyReport,
) -> Result<(), AuditError> {
    let stored = store.events(&record.case_id).await?;
    let salt = store.case_salt(&record.case_id).await?.unwrap_or_default();
    report.cases += 1;
    report.events += stored.len() as u64;
    let anchor = anchored.remove(&record.case_id);
    let findings = check_case(store, sops, record, &stored, &salt, anchor.as_ref()).await?;
    report.findings.extend(findings);
    Ok(())
}

/// All checks of one case. `Err` only when the store fails; mismatches are findings.
pub async fn check_case(
    store: &Store,
    sops: &mut SopCache,
    record: &CaseRecord,
    stored: &[sopflow_store::Event],
    salt: &str,
    anchor: Option<&AnchorHead>,
) -> Result<Vec<Finding>, AuditError> {
    let case_id = record.case_id.as_str();
    let finding = |seq: Option<u64>, check: Check, reason: String| Finding {
        case_id: case_id.to_owned(),
        seq,
        check,
        reason,
    };
    let mut findings = Vec::new();
    let events = match decode_rows(stored) {
        Ok(events) => events,
        Err((seq, reason)) => {
            findings.push(finding(Some(seq), Check::Record, reason));
            return Ok(findings);
        }
    };
    let Some(first) = events.first() else {
        findings.push(finding(None, Check::Head, "the case has no events".into()));
        return Ok(findings);
    };
    // The SOP version comes from the first event (what the chain covers), not the projection.
    let EventBody::CaseStarted {
        sop_id,
        sop_version,
        case_id: started_id,
        ..
    } = &first.body
    else {
        findings.push(finding(
            Some(first.seq),
            Check::Replay,
            "the history does not start with case_started".into(),
        ));
        return Ok(findings);
    };
    if started_id != case_id {
        findings.push(finding(
            Some(1),
            Check::Record,
            format!("the history is of case `{started_id}`"),
        ));
    }
    if *sop_id != record.sop_id || i64::from(*sop_version) != record.sop_version {
        findings.push(finding(
            None,
            Check::Head,
            format!(
                "the case is listed on SOP `{}` version {}, its history started on `{sop_id}` version {sop_version}",
                record.sop_id, record.sop_version
            ),
        ));
    }
    let sop = sops.get(store, sop_id, i64::from(*sop_version)).await?;
    let sop = match sop {
        Ok(sop) => sop,
        Err(reason) => {
            findings.push(finding(None, Check::Sop, reason));
            return Ok(findings);
        }
    };
    let personal = sop.sop.personal_fields();

    // The chain: each event's hash covers the one before it.
    let links = events
        .iter()
        .zip(stored)
        .map(|(e, s)| (e, s.prev_hash.as_str(), s.hash.as_str()));
    if let Err(broken) = verify_chain(links, personal, salt) {
        findings.push(finding(Some(broken.seq), Check::Chain, broken.reason));
    }

    // The head: the projection must end where the chain ends.
    if let Some(last) = stored.last() {
        let last_seq = u64::try_from(last.seq).unwrap_or(0);
        if record.version != last.seq || record.head_hash != last.hash {
            findings.push(finding(
                Some(last_seq),
                Check::Head,
                format!(
                    "the case records head event {} ({}), its last stored event is {} ({})",
                    record.version,
                    short(&record.head_hash),
                    last.seq,
                    short(&last.hash)
                ),
            ));
        }
    }

    // The decisions, re-evaluated against the pinned SOP version.
    if let Err(divergence) = verify(&sop.sop, &events) {
        findings.push(finding(
            Some(divergence.seq),
            Check::Replay,
            divergence.reason,
        ));
    }

    // The anchor: the head it recorded must still be in this history, at its place.
    if let Some(head) = anchor {
        let at = usize::try_from(head.seq)
            .ok()
            .and_then(|s| s.checked_sub(1))
            .and_then(|i| stored.get(i));
        match at {
            None => findings.push(finding(
                Some(head.seq),
                Check::Anchor,
                format!(
                    "the anchor records head event {}, the history has {} events",
                    head.seq,
                    stored.len()
                ),
            )),
            Some(event) if event.hash != head.head => findings.push(finding(
                Some(head.seq),
                Check::Anchor,
                format!(
                    "event {} has hash {}, the anchor recorded {}",
                    head.seq,
                    short(&event.hash),
                    short(&head.head)
                ),
            )),
            Some(_) => {}
        }
    }
    Ok(findings)
}

/// Decodes the stored rows and checks that the columns beside each event's JSON (which the
/// API shows and filters on, but the hash does not cover) say what the JSON says.
fn decode_rows(stored: &[sopflow_store::Event]) -> Result<Vec<Event>, (u64, String)> {
    let mut events = Vec::with_capacity(stored.len());
    for row in stored {
        let seq = u64::try_from(row.seq).unwrap_or(0);
        let event: Event = serde_json::from_value(row.payload.clone())
            .map_err(|e| (seq, format!("the stored JSON is not an event: {e}")))?;
        if event.seq != seq {
            return Err((
                seq,
                format!("stored as event {seq}, its content is event {}", event.seq),
            ));
        }
        if row.kind != event.body.kind() {
            return Err((
                seq,
                format!(
                    "stored as `{}`, its content is `{}`",
                    row.kind,
                    event.body.kind()
                ),
            ));
        }
        if *row.user_name != *event.by.user || *row.role != *event.by.role {
            return Err((
                seq,
                format!(
                    "stored as done by {} ({}), its content says {} ({})",
                    row.user_name, row.role, event.by.user, event.by.role
                ),
            ));
        }
        if row.recorded_at != to_micros(event.at) {
            return Err((
                seq,
                format!(
                    "stored at {}, its content says {}",
                    row.recorded_at, event.at
                ),
            ));
        }
        events.push(event);
    }
    Ok(events)
}

/// The store keeps microseconds (PostgreSQL's precision); compare at that precision.
fn to_micros(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap_or(t)
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}
