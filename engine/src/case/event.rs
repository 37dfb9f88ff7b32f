//! Events: the facts a case's history is made of. Their JSON form is stable and versioned; a
//! case is rebuilt by folding them, and an auditor re-checks every decision recorded in them.
//!
//! ## Event format v2: one event per command
//! A *fact* is one [`EventBody`] (step entered, step completed, branch taken...). In format v1
//! (`"v": 1`) every fact was an event of its own: a step transition was four or five events,
//! each numbered, hashed, stored and folded. In format v2 (`"v": 2`, written since) an event
//! is what one command decided, as the ordered facts it made: the first is the event's body
//! (its `type`, the stored kind), the others follow in `then`, in the order they happened.
//! So a completion is one event: `step_completed` carrying the data and documents recorded
//! with it (`data`, `documents`), its outcome and missing documents, then the `branch_taken`
//! with the guards' results and the values they read, then the next step's `step_entered`
//! (visit, budget clock, due time), and what entering it did (`adapter_requested`,
//! `case_completed`, a decision's own completion and branch...). A case opens with one
//! `case_started` whose `then` holds the first step's entry (and the documents handed in).
//! What the pinned SOP version holds is not copied into each event: a v2 `branch_taken`
//! carries no branch label and its guard evaluations no guard text (the auditor reads both
//! from the SOP, and re-evaluates the guards against it).
//!
//! A v1 history stays as it was written and folds, verifies and replays as before: a v1 event
//! is a v2 event with one fact. The hash chain covers each event's canonical JSON, `then`
//! included, so a fact cannot be changed, dropped or moved without breaking it.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::{CaseVersion, SopVersion};

/// Version of the stored event JSON written now. Bumped only with a reader for the old form:
/// 1 (one fact per event) is still read, folded and verified.
pub const EVENT_FORMAT_VERSION: u32 = 2;

/// Who did it: the user and the role they acted in.
///
/// Shared strings: every event of a command carries its actor, and a copy is a count
/// increment rather than two allocations.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    pub user: Arc<str>,
    pub role: Arc<str>,
}

impl Actor {
    pub fn new(user: impl Into<Arc<str>>, role: impl Into<Arc<str>>) -> Self {
        Self {
            user: user.into(),
            role: role.into(),
        }
    }

    /// The engine itself (timers, automatic decisions), as recorded in events.
    pub fn system() -> Self {
        Self::new("sopflow", "system")
    }
}

/// A document as the counter received it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DocumentReceipt {
    /// The document id declared in the SOP (e.g. `fotokopi_kk`).
    #[serde(rename = "type")]
    pub doc: String,
    /// Its number (letter number, KK number...), if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// Whether it was handed in. `false` records that it was checked and is missing.
    pub received: bool,
    /// SHA-256 of an uploaded scan, when one was stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// One guard evaluated while choosing a branch: its text, its result, and the values it read.
/// The text is empty in v2 events (it is the pinned SOP's, read from there).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardEvaluation {
    pub branch: usize,
    #[serde(default, skip_serializing_if = "is_empty_str")]
    pub guard: Arc<str>,
    pub result: bool,
    pub values: Map<String, Value>,
}

/// The calendar a case runs under: the id it was configured by (for people) and the
/// SHA-256 of its canonical text (what pins it: replay loads the calendar by this hash).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarPin {
    pub id: String,
    pub hash: String,
}

impl std::fmt::Display for CalendarPin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "`{}` ({})", self.id, self.hash)
    }
}

fn is_empty_str(s: &Arc<str>) -> bool {
    s.is_empty()
}

/// A recorded event: its place in the case's history, when, who, and what: its first fact
/// (`body`) and, in format v2, the facts the same command made after it (`then`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub v: u32,
    pub seq: CaseVersion,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub by: Actor,
    #[serde(flatten)]
    pub body: EventBody,
    /// The command's further facts, in order (v2; always empty in v1).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub then: Vec<EventBody>,
}

/// What happened. The names an SOP defines (steps, queues, adapters, documents, labels) are
/// shared with the SOP rather than copied into each event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum EventBody {
    /// A case was opened on an SOP version with its initial data.
    CaseStarted {
        case_id: String,
        sop_id: String,
        sop_version: SopVersion,
        /// SHA-256 (hex) of the SOP version's text, so that a replaced text is found even when
        /// its stored hash was replaced with it. Absent in histories from before it was recorded.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        sop_content_hash: Option<String>,
        data: Map<String, Value>,
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "time::serde::rfc3339::option"
        )]
        total_due_at: Option<OffsetDateTime>,
        /// Where the case was opened; absent in histories from before service points, which
        /// belong to the deployment's default one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        service_point: Option<String>,
        /// The calendar its working time runs on, pinned by content hash; absent in
        /// histories from before calendars and for a service point without one: always
        /// open (every budget is clock time, every day a working day).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        calendar: Option<CalendarPin>,
    },
    /// The case arrived at a step. `due_at` is set when the step's budget clock starts here
    /// (not when the step shares a clock already running for its row).
    StepEntered {
        step: Arc<str>,
        visit: u32,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        budget_step: Option<Arc<str>>,
        #[serde(
            default,
            skip_serializing_if = "Option::is_none",
            with = "time::serde::rfc3339::option"
        )]
        due_at: Option<OffsetDateTime>,
    },
    /// Documents were handed in or checked at a step.
    DocumentsRecorded {
        step: Arc<str>,
        documents: Vec<DocumentReceipt>,
    },
    /// Case data was set at a step (merged into the case data).
    DataRecorded {
        step: Arc<str>,
        data: Map<String, Value>,
    },
    /// The office registered the case: its registration number (per SOP per local day),
    /// drawn by the runtime in the transaction that opened the case.
    CaseRegistered { number: String },
    /// A queue number was handed out.
    QueueNumberAssigned {
        step: Arc<str>,
        queue: Arc<str>,
        number: String,
    },
    /// The case was called from its queue, to a counter (none in histories from before
    /// counters, and for a call from no counter).
    QueueCalled {
        step: Arc<str>,
        queue: Arc<str>,
        number: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        counter: Option<String>,
    },
    /// The number was called again, at the counter it was called to.
    QueueRecalled {
        step: Arc<str>,
        queue: Arc<str>,
        number: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        counter: Option<String>,
    },
    /// The number was sent on from one counter to another.
    QueueTransferred {
        step: Arc<str>,
        queue: Arc<str>,
        number: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        to: String,
    },
    /// Nobody came for the number called: its `no_shows`-th time. Below `limit` (or with no
    /// limit, 0) the case goes back to the end of the queue with its number; at it, the case
    /// is cancelled.
    QueueNoShow {
        step: Arc<str>,
        queue: Arc<str>,
        number: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        counter: Option<String>,
        no_shows: u32,
        limit: u32,
    },
    /// An adapter was asked to act; the result comes back as a command with the same key.
    AdapterRequested {
        step: Arc<str>,
        adapter: Arc<str>,
        idempotency_key: String,
        request: Map<String, Value>,
    },
    /// The adapter's result arrived.
    AdapterCompleted {
        step: Arc<str>,
        idempotency_key: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        outcome: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reference: Option<String>,
    },
    /// A step was done. `missing_documents` lists required documents absent at that moment.
    /// In v2 the documents and data recorded with the completion ride in it (`documents`
    /// first, then `data`, both applied before the completion is judged); in v1 they were
    /// `documents_recorded` and `data_recorded` events before it.
    StepCompleted {
        step: Arc<str>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        outcome: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        missing_documents: Vec<Arc<str>>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        documents: Vec<DocumentReceipt>,
        #[serde(default, skip_serializing_if = "Map::is_empty")]
        data: Map<String, Value>,
    },
    /// A branch was chosen, with the guards evaluated (in order) and the values they read.
    /// The label is the SOP's (absent in v2: read it from the pinned SOP version).
    BranchTaken {
        from: Arc<str>,
        to: Arc<str>,
        branch: usize,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        label: Option<Arc<str>>,
        evaluations: Vec<GuardEvaluation>,
    },
    /// A step's time budget ran out (once per budget clock).
    TimeBudgetExceeded {
        step: Arc<str>,
        #[serde(with = "time::serde::rfc3339")]
        due_at: OffsetDateTime,
    },
    /// The SOP's total budget ran out (once per case).
    TotalBudgetExceeded {
        #[serde(with = "time::serde::rfc3339")]
        due_at: OffsetDateTime,
    },
    /// The case cannot go on by itself: a guard failed, an adapter gave up.
    IncidentRaised { step: Arc<str>, reason: String },
    /// Someone dealt with the incident; the step is tried again.
    IncidentResolved { step: Arc<str>, note: String },
    /// The case reached an end step.
    CaseCompleted { end: Arc<str> },
    /// The case was withdrawn.
    CaseCancelled { reason: String },
}

impl EventBody {
    /// The `type` tag, as stored and filtered on.
    pub fn kind(&self) -> &'static str {
        match self {
            EventBody::CaseStarted { .. } => "case_started",
            EventBody::StepEntered { .. } => "step_entered",
            EventBody::DocumentsRecorded { .. } => "documents_recorded",
            EventBody::DataRecorded { .. } => "data_recorded",
            EventBody::CaseRegistered { .. } => "case_registered",
            EventBody::QueueNumberAssigned { .. } => "queue_number_assigned",
            EventBody::QueueCalled { .. } => "queue_called",
            EventBody::QueueRecalled { .. } => "queue_recalled",
            EventBody::QueueTransferred { .. } => "queue_transferred",
            EventBody::QueueNoShow { .. } => "queue_no_show",
            EventBody::AdapterRequested { .. } => "adapter_requested",
            EventBody::AdapterCompleted { .. } => "adapter_completed",
            EventBody::StepCompleted { .. } => "step_completed",
            EventBody::BranchTaken { .. } => "branch_taken",
            EventBody::TimeBudgetExceeded { .. } => "time_budget_exceeded",
            EventBody::TotalBudgetExceeded { .. } => "total_budget_exceeded",
            EventBody::IncidentRaised { .. } => "incident_raised",
            EventBody::IncidentResolved { .. } => "incident_resolved",
            EventBody::CaseCompleted { .. } => "case_completed",
            EventBody::CaseCancelled { .. } => "case_cancelled",
        }
    }
}

impl Event {
    /// The event's facts in order: its body, then the rest of its command's (v2).
    pub fn facts(&self) -> impl DoubleEndedIterator<Item = &EventBody> {
        std::iter::once(&self.body).chain(self.then.iter())
    }

    /// [`facts`](Self::facts), to change in place (masking, redaction).
    pub fn facts_mut(&mut self) -> impl DoubleEndedIterator<Item = &mut EventBody> {
        std::iter::once(&mut self.body).chain(self.then.iter_mut())
    }

    /// Whether one of the event's facts is of kind `kind` (a v2 event holds several).
    pub fn has(&self, kind: &str) -> bool {
        self.facts().any(|f| f.kind() == kind)
    }

    /// Canonical JSON: the stable text hashed into the case's chain. Keys are sorted at every
    /// level, whatever map order serde_json was built with, so the same event always gives
    /// the same bytes.
    pub fn to_canonical_json(&self) -> String {
        canonical_json(&serde_json::to_value(self).unwrap_or(Value::Null))
    }
}

/// Any JSON value in canonical form: compact, the keys of every object sorted. Two texts of
/// the same JSON (other whitespace, other key order) give the same bytes.
pub fn canonical_json(value: &Value) -> String {
    let mut out = Vec::with_capacity(256);
    write_canonical(value, &mut out);
    // Only serde_json's own (UTF-8) output was written.
    String::from_utf8(out).unwrap_or_default()
}

/// Writes `value` with the keys of every object sorted. Scalars and keys are written by
/// serde_json straight into `out` (compact form, the same bytes as `Value::to_string`).
fn write_canonical(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                let _ = serde_json::to_writer(&mut *out, key);
                out.push(b':');
                write_canonical(item, out);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical(item, out);
            }
            out.push(b']');
        }
        scalar => {
            let _ = serde_json::to_writer(&mut *out, scalar);
        }
    }
}
