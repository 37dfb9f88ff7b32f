//! What goes into a decision and what comes out: commands, effects, the context, refusals.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use crate::case::SopVersion;
use crate::case::calendar::CaseCalendar;
use crate::case::event::{Actor, DocumentReceipt, EventBody};
use crate::sop::model::PrintLayout;

/// What a case is asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Open a case (only on an empty history), at a service point (`None`: the deployment's
    /// default one, as a history from before service points reads).
    Start {
        case_id: String,
        sop_version: SopVersion,
        data: Map<String, Value>,
        documents: Vec<DocumentReceipt>,
        service_point: Option<String>,
    },
    /// A person completes the current step.
    CompleteStep {
        step: String,
        data: Map<String, Value>,
        documents: Vec<DocumentReceipt>,
        outcome: Option<String>,
    },
    /// The runtime hands out the queue number an [`Effect::AssignQueueNumber`] asked for.
    AssignQueueNumber { number: String },
    /// An operator calls the case from its queue, to a counter (`None`: to no counter).
    CallFromQueue {
        queue: String,
        counter: Option<String>,
    },
    /// The number just called is called again, at the counter it was called to.
    Recall,
    /// Nobody came for the number just called: it goes back to the end of its queue, or, on
    /// the `limit`-th no-show of the case (0: never), the case is cancelled.
    NoShow {
        limit: u32,
        /// Why, in the operator's words (recorded in the cancellation's reason).
        reason: Option<String>,
    },
    /// The number just called is sent to another counter.
    Transfer { to: String },
    /// An adapter's answer to [`Effect::CallAdapter`].
    RecordAdapterResult {
        idempotency_key: String,
        outcome: Option<String>,
        reference: Option<String>,
        data: Map<String, Value>,
    },
    /// The runtime gave up delivering a request: the case needs a person.
    RecordAdapterFailure {
        idempotency_key: String,
        reason: String,
    },
    /// Someone dealt with the incident: route again (guards) or wait for the adapter again.
    ResolveIncident { note: String },
    /// Withdraw the case.
    Cancel { reason: String },
    /// Time passes: budgets that ran out are recorded.
    Tick,
}

/// What the runtime must do after committing the events. (Timers are not effects: the
/// runtime wakes cases from the due times their events record, `StepEntered::due_at` and
/// `CaseStarted::total_due_at`, kept in the case projection.)
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Hand out the next number of `queue` and send it back as `AssignQueueNumber`, in the
    /// same transaction.
    AssignQueueNumber { queue: String, prefix: String },
    /// Deliver a request to an adapter (at least once; the key makes it happen once).
    CallAdapter(AdapterCall),
}

/// A request to an adapter, with everything the adapter needs: what the SOP lists (the
/// `request` fields, a print step's printout filled in, a consultation's problem text), the
/// case, the step and the idempotency key. The runtime stores it as the outbox payload and
/// the dispatcher reads it back, so it is a stored format: fields are only ever added, and
/// read with defaults.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AdapterCall {
    pub adapter: String,
    pub case_id: String,
    pub sop_id: String,
    pub step: String,
    pub idempotency_key: String,
    /// The case fields the step's `request` lists (those the case holds).
    pub request: Map<String, Value>,
    /// A print step's printout, filled in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub printout: Option<Printout>,
    /// A consultation step's problem text (none when no text's condition holds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

/// A printout filled in with a case's values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Printout {
    pub layout: PrintLayout,
    pub title: String,
    pub lines: Vec<PrintLine>,
    /// The fields the printout names that the case does not hold (their lines are empty):
    /// such a printout is not to be printed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<String>,
}

/// One line of a printout: a label and the value printed after it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrintLine {
    pub label: String,
    pub value: String,
}

/// The time, the actor and the calendar of a command.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    pub now: OffsetDateTime,
    pub actor: Actor,
    /// The case's calendar: the service point's for a start (recorded in `case_started`),
    /// the pinned one for every later command (refused when it is not the case's).
    pub calendar: CaseCalendar,
}

impl Context {
    /// At `now`, by `actor`, on the always-open calendar (a case without a calendar).
    pub fn new(now: OffsetDateTime, actor: Actor) -> Self {
        Self {
            now,
            actor,
            calendar: CaseCalendar::always_open(),
        }
    }

    /// On `calendar`.
    pub fn on(mut self, calendar: CaseCalendar) -> Self {
        self.calendar = calendar;
        self
    }
}

/// The command's facts, in order (the caller stamps them as one event: `case::stamp`), and
/// the effects to carry out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decision {
    pub events: Vec<EventBody>,
    pub effects: Vec<Effect>,
}

/// A command refused. Nothing is recorded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    #[error("the case has already been opened")]
    AlreadyStarted,
    #[error("the case has not been opened yet")]
    NotStarted,
    #[error("the case is already {status}: nothing more can be done on it")]
    CaseClosed { status: &'static str },
    #[error("the case is stopped by an open incident until someone resolves it: {reason}")]
    InIncident { reason: String },
    #[error("the case has no open incident to resolve")]
    NoIncident,
    #[error("the SOP has no step `{step}`")]
    UnknownStep { step: String },
    #[error("the case is at step `{current}`, not at `{requested}`")]
    WrongStep { requested: String, current: String },
    #[error("{}", wrong_kind(step, kind))]
    WrongKind { step: String, kind: &'static str },
    #[error(
        "role `{role}` may not record step `{step}`; it is recorded by: {}",
        ticked(allowed)
    )]
    WrongRole {
        role: String,
        step: String,
        allowed: Vec<String>,
    },
    /// The actor's role may not record the SOP's start step, so it may not open a case.
    #[error(
        "role `{role}` may not open a case of this SOP; cases are opened by: {}",
        ticked(allowed)
    )]
    MayNotStart { role: String, allowed: Vec<String> },
    #[error("these required documents have not been received: {}", ticked(missing))]
    MissingDocuments { missing: Vec<String> },
    #[error("step `{step}` does not take document `{doc}`")]
    UnknownDocument { step: String, doc: String },
    #[error("step `{step}` may not set {}", ticked(fields))]
    FieldsNotAllowed { step: String, fields: Vec<String> },
    /// The step requires fields (`requires`) the case data does not hold after it.
    #[error(
        "step `{step}` cannot be completed without a value for {}",
        ticked(fields)
    )]
    MissingFields { step: String, fields: Vec<String> },
    #[error("the case data does not fit the SOP's case schema")]
    InvalidData { errors: Vec<DataError> },
    #[error("{}", invalid_outcome(step, found.as_deref(), allowed))]
    InvalidOutcome {
        step: String,
        found: Option<String>,
        allowed: Vec<String>,
    },
    #[error("the case is not waiting in queue `{queue}`")]
    NotInQueue { queue: String },
    #[error("the case has no queue number yet, so it cannot be called")]
    NoQueueNumber,
    #[error("the case is not waiting for an answer with key `{key}`")]
    UnknownRequest { key: String },
    #[error("the case is not waiting for a queue number")]
    UnexpectedQueueNumber,
    /// Recall, no-show and transfer act on a number being called: called, and nobody has
    /// begun working the case since.
    #[error(
        "the case's number is not being called at a counter: it was not called, or the work on it has begun"
    )]
    NoOpenCall,
    #[error("the number is already called to counter `{counter}`")]
    SameCounter { counter: String },
    /// The case's calendar gives no due time for a budget (it has no working time left,
    /// or the due time lies past the year 9999): nothing is recorded.
    #[error("no due time for the budget of `{step}` on the case's calendar: {reason}")]
    NoDueTime { step: String, reason: String },
    /// The engine contradicted itself: an event it decided does not fit its own working
    /// state. A bug in the engine, not a fault of the command: nothing is recorded. `reason`
    /// names the event kind and step ids, never case data.
    #[error("internal engine error: {reason}")]
    Internal { reason: String },
}

/// Names in a sentence: `` `a`, `b`, `c` ``, or `none`.
fn ticked(items: &[String]) -> String {
    if items.is_empty() {
        return "none".to_owned();
    }
    items
        .iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn wrong_kind(step: &str, kind: &str) -> String {
    match kind {
        "decision" => format!("step `{step}` is decided by the engine itself: nobody completes it"),
        "queue" => format!(
            "step `{step}` is a queue: the case leaves it when an operator calls its number"
        ),
        "end" => format!("step `{step}` ends the case: nothing completes it"),
        other => format!("step `{step}` is a {other} step and is not completed this way"),
    }
}

fn invalid_outcome(step: &str, found: Option<&str>, allowed: &[String]) -> String {
    match (found, allowed.is_empty()) {
        (None, _) => format!(
            "step `{step}` is completed with an outcome: one of {}",
            ticked(allowed)
        ),
        (Some(found), true) => {
            format!("step `{step}` takes no outcome, but `{found}` was given")
        }
        (Some(found), false) => format!(
            "`{found}` is not an outcome of step `{step}`: use one of {}",
            ticked(allowed)
        ),
    }
}

/// One violation of the case schema, at a JSON Pointer into the case data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataError {
    pub pointer: String,
    pub message: String,
}
