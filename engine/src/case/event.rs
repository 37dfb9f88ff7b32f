//! Events: the facts a case's history is made of. Their JSON form is stable and versioned
//! (`"v": 1`); a case is rebuilt by folding them, and an auditor re-checks every decision
//! recorded in them.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::{CaseVersion, SopVersion};

/// Version of the stored event JSON. Bumped only with a reader for the old form.
pub const EVENT_FORMAT_VERSION: u32 = 1;

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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GuardEvaluation {
    pub branch: usize,
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

/// A recorded event: its place in the case's history, when, who, and what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub v: u32,
    pub seq: CaseVersion,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub by: Actor,
    #[serde(flatten)]
    pub body: EventBody,
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
    StepCompleted {
        step: Arc<str>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        outcome: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        missing_documents: Vec<Arc<str>>,
    },
    /// A branch was chosen, with the guards evaluated (in order) and the values they read.
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
