//! The state of a case: nothing but the fold of its events.

use std::sync::Arc;

use serde::Serialize;
use serde::ser::SerializeMap;
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::event::{CalendarPin, DocumentReceipt, Event, EventBody};
use super::{CaseVersion, SopVersion};

/// Where a case stands as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// At a step, waiting for a person, a queue call or an adapter result.
    Open,
    /// Stopped until someone deals with an incident.
    Incident,
    /// Reached an end step.
    Completed,
    /// Withdrawn.
    Cancelled,
}

impl CaseStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Open => "open",
            CaseStatus::Incident => "incident",
            CaseStatus::Completed => "completed",
            CaseStatus::Cancelled => "cancelled",
        }
    }

    pub fn is_closed(self) -> bool {
        matches!(self, CaseStatus::Completed | CaseStatus::Cancelled)
    }
}

/// One stay of the case at a step: entry, due time of its budget clock, completion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepVisit {
    pub step: Arc<str>,
    pub visit: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub entered_at: OffsetDateTime,
    /// The step whose budget runs (itself or its row's first budgeted step).
    pub budget_step: Option<Arc<str>>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub due_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
    pub outcome: Option<String>,
}

/// A request to an adapter that has not answered yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingRequest {
    pub step: Arc<str>,
    pub adapter: Arc<str>,
    pub idempotency_key: String,
}

/// The budget clock now running: which step owns it, when it is due, whether it ran out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BudgetClock {
    pub step: Arc<str>,
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    pub exceeded: bool,
}

/// The call of a case's number to a counter, while its applicant is expected there: from
/// the call until the work on the case begins (data or documents recorded, an adapter
/// asked), or the number goes back to the queue.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpenCall {
    /// The queue step the number was called from.
    pub step: Arc<str>,
    pub queue: Arc<str>,
    pub number: String,
    /// The counter it is called to now.
    pub counter: Option<String>,
    /// The queue step's stay, as an index into `visits`.
    pub visit: usize,
    /// Whether the work on the case has begun since the call.
    pub worked: bool,
}

/// A case, as of its last event.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseState {
    pub case_id: String,
    pub sop_id: String,
    pub sop_version: SopVersion,
    pub status: CaseStatus,
    /// Sequence number of the last event applied (0 before any).
    pub version: CaseVersion,
    /// The step the case is at (the end step once completed).
    pub current_step: Option<Arc<str>>,
    /// Whether the current step is done and the case is between steps (only while an
    /// incident keeps it from routing on).
    pub current_completed: bool,
    pub data: Map<String, Value>,
    /// The latest receipt of each document.
    pub documents: Documents,
    pub queue_number: Option<String>,
    /// The registration number the office gave the case (`case_registered`).
    pub registration_number: Option<String>,
    pub pending_request: Option<PendingRequest>,
    pub incident: Option<String>,
    pub clock: Option<BudgetClock>,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub total_due_at: Option<OffsetDateTime>,
    pub total_exceeded: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
    pub visits: Vec<StepVisit>,
    /// Where the case was opened (`None`: the deployment's default service point).
    pub service_point: Option<String>,
    /// The calendar its due times are computed on (`None`: always open).
    pub calendar: Option<CalendarPin>,
    /// The call of its number to a counter, while the applicant is expected there.
    pub call: Option<OpenCall>,
    /// How many times its number was called and nobody came.
    pub no_shows: u32,
}

/// The latest receipt of each document a case holds, ordered by document id.
///
/// A sorted vector rather than a `BTreeMap`: a case holds a handful of documents, and a
/// B-tree node costs over a kilobyte per open case. Serializes as the map it stands for.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Documents(Vec<DocumentReceipt>);

impl Documents {
    /// The receipt of document `doc`, if any.
    pub fn get(&self, doc: &str) -> Option<&DocumentReceipt> {
        self.0
            .binary_search_by(|r| r.doc.as_str().cmp(doc))
            .ok()
            .map(|i| &self.0[i])
    }

    /// Records `receipt`, replacing an earlier receipt of the same document.
    pub fn insert(&mut self, receipt: DocumentReceipt) {
        match self.0.binary_search_by(|r| r.doc.cmp(&receipt.doc)) {
            Ok(i) => self.0[i] = receipt,
            Err(i) => {
                // Grown by one: a case holds a few documents for its whole life, and room for
                // four (a vector's first growth) is 320 bytes per open case.
                self.0.reserve_exact(1);
                self.0.insert(i, receipt)
            }
        }
    }

    /// The receipts, by document id.
    pub fn iter(&self) -> impl Iterator<Item = &DocumentReceipt> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for Documents {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for receipt in &self.0 {
            map.serialize_entry(&receipt.doc, receipt)?;
        }
        map.end()
    }
}

/// An event that does not fit the state it is applied to: a corrupt or forged history.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("event {seq} ({kind}): {reason}")]
pub struct ApplyError {
    pub seq: CaseVersion,
    pub kind: &'static str,
    pub reason: String,
}

impl CaseState {
    /// Builds the state from the first event, which must be `case_started` with seq 1 (in
    /// v2 with the first step's entry after it).
    pub fn from_first(event: &Event) -> Result<Self, ApplyError> {
        let mut state = Self::from_first_parts(event.seq, event.at, &event.body)?;
        for fact in &event.then {
            state.apply_fact(event.seq, event.at, fact)?;
        }
        Ok(state)
    }

    /// [`from_first`](Self::from_first) on an event's parts: the decider builds its working
    /// state without making an event.
    pub fn from_first_parts(
        seq: CaseVersion,
        at: OffsetDateTime,
        body: &EventBody,
    ) -> Result<Self, ApplyError> {
        let fail = |reason: &str| ApplyError {
            seq,
            kind: body.kind(),
            reason: reason.to_owned(),
        };
        if seq != 1 {
            return Err(fail("a history starts with event 1"));
        }
        match body {
            EventBody::CaseStarted {
                case_id,
                sop_id,
                sop_version,
                data,
                total_due_at,
                service_point,
                calendar,
                ..
            } => Ok(Self {
                case_id: case_id.clone(),
                sop_id: sop_id.clone(),
                sop_version: *sop_version,
                status: CaseStatus::Open,
                version: 1,
                current_step: None,
                current_completed: false,
                data: data.clone(),
                documents: Documents::default(),
                queue_number: None,
                registration_number: None,
                pending_request: None,
                incident: None,
                clock: None,
                started_at: at,
                total_due_at: *total_due_at,
                total_exceeded: false,
                closed_at: None,
                visits: Vec::new(),
                service_point: service_point.clone(),
                calendar: calendar.clone(),
                call: None,
                no_shows: 0,
            }),
            _ => Err(fail("a history starts with case_started")),
        }
    }

    /// Folds a whole history.
    pub fn replay<'a>(events: impl IntoIterator<Item = &'a Event>) -> Result<Self, ApplyError> {
        let mut iter = events.into_iter();
        let first = iter.next().ok_or(ApplyError {
            seq: 0,
            kind: "none",
            reason: "empty history".to_owned(),
        })?;
        let mut state = Self::from_first(first)?;
        for event in iter {
            state.apply(event)?;
        }
        Ok(state)
    }

    /// Applies one event: each of its facts in order. Checks only what keeps the state
    /// coherent (sequence, case open); whether the event was the right decision is
    /// `verify`'s job.
    pub fn apply(&mut self, event: &Event) -> Result<(), ApplyError> {
        if event.seq != self.version + 1 {
            return Err(ApplyError {
                seq: event.seq,
                kind: event.body.kind(),
                reason: format!("expected event {}", self.version + 1),
            });
        }
        for fact in event.facts() {
            self.apply_fact(event.seq, event.at, fact)?;
        }
        self.version = event.seq;
        Ok(())
    }

    /// Applies one fact of event `seq` (recorded at `at`), leaving the version to the
    /// caller: [`apply`](Self::apply) sets it once per event, and the decider keeps its
    /// working state in step with the facts it decides without making (and cloning into)
    /// events.
    pub fn apply_fact(
        &mut self,
        seq: CaseVersion,
        at: OffsetDateTime,
        body: &EventBody,
    ) -> Result<(), ApplyError> {
        self.apply_fact_taking(seq, at, body, true)
    }

    /// [`apply_fact`](Self::apply_fact) of a completion whose documents and data the case
    /// already took in ([`record_inputs`](Self::record_inputs), as replay does to judge it):
    /// they are not compared again.
    pub(crate) fn apply_fact_inputs_taken(
        &mut self,
        seq: CaseVersion,
        at: OffsetDateTime,
        body: &EventBody,
    ) -> Result<(), ApplyError> {
        self.apply_fact_taking(seq, at, body, false)
    }

    fn apply_fact_taking(
        &mut self,
        seq: CaseVersion,
        at: OffsetDateTime,
        body: &EventBody,
        take_inputs: bool,
    ) -> Result<(), ApplyError> {
        let fail = |reason: String| ApplyError {
            seq,
            kind: body.kind(),
            reason,
        };
        if self.status.is_closed() {
            return Err(fail(format!("case is already {}", self.status.as_str())));
        }
        match body {
            EventBody::CaseStarted { .. } => return Err(fail("case already started".to_owned())),
            EventBody::StepEntered {
                step,
                visit,
                budget_step,
                due_at,
            } => {
                self.current_step = Some(step.clone());
                self.current_completed = false;
                self.queue_number = None;
                match (budget_step, due_at) {
                    (Some(owner), Some(due)) => {
                        self.clock = Some(BudgetClock {
                            step: owner.clone(),
                            due_at: *due,
                            exceeded: false,
                        })
                    }
                    (Some(_), None) => {} // shares the clock already running
                    (None, _) => self.clock = None,
                }
                self.visits.push(StepVisit {
                    step: step.clone(),
                    visit: *visit,
                    entered_at: at,
                    budget_step: budget_step.clone(),
                    due_at: self.clock.as_ref().map(|c| c.due_at),
                    completed_at: None,
                    outcome: None,
                });
            }
            EventBody::DocumentsRecorded { documents, .. } => {
                self.record_inputs(documents, &Map::new());
            }
            EventBody::DataRecorded { data, .. } => self.record_inputs(&[], data),
            EventBody::CaseRegistered { number } => {
                if self.registration_number.is_some() {
                    return Err(fail("the case is already registered".to_owned()));
                }
                self.registration_number = Some(number.clone())
            }
            EventBody::QueueNumberAssigned { number, .. } => {
                self.queue_number = Some(number.clone())
            }
            EventBody::QueueCalled {
                step,
                queue,
                number,
                counter,
            } => {
                self.call = Some(OpenCall {
                    step: step.clone(),
                    queue: queue.clone(),
                    number: number.clone(),
                    counter: counter.clone(),
                    visit: self.visits.len().saturating_sub(1),
                    worked: false,
                })
            }
            EventBody::QueueRecalled { .. } => {}
            EventBody::QueueTransferred { to, .. } => {
                if let Some(call) = &mut self.call {
                    call.counter = Some(to.clone());
                }
            }
            EventBody::QueueNoShow { no_shows, .. } => {
                self.no_shows = *no_shows;
                self.call = None;
            }
            EventBody::AdapterRequested {
                step,
                adapter,
                idempotency_key,
                ..
            } => {
                self.work_begins();
                self.pending_request = Some(PendingRequest {
                    step: step.clone(),
                    adapter: adapter.clone(),
                    idempotency_key: idempotency_key.clone(),
                })
            }
            EventBody::AdapterCompleted { .. } => self.pending_request = None,
            EventBody::StepCompleted {
                step,
                outcome,
                documents,
                data,
                ..
            } => {
                if self.current_step.as_deref() != Some(step) {
                    return Err(fail(match &self.current_step {
                        Some(current) => {
                            format!("completes `{step}`, but the case is at `{current}`")
                        }
                        None => format!("completes `{step}`, but the case is at no step"),
                    }));
                }
                if take_inputs {
                    self.record_inputs(documents, data);
                }
                self.current_completed = true;
                if let Some(visit) = self.visits.last_mut() {
                    visit.completed_at = Some(at);
                    visit.outcome = outcome.clone();
                }
            }
            EventBody::BranchTaken { .. } => {}
            EventBody::TimeBudgetExceeded { .. } => {
                if let Some(clock) = &mut self.clock {
                    clock.exceeded = true;
                }
            }
            EventBody::TotalBudgetExceeded { .. } => self.total_exceeded = true,
            EventBody::IncidentRaised { reason, .. } => {
                self.status = CaseStatus::Incident;
                self.incident = Some(reason.clone());
            }
            EventBody::IncidentResolved { .. } => {
                self.status = CaseStatus::Open;
                self.incident = None;
            }
            EventBody::CaseCompleted { .. } => {
                self.status = CaseStatus::Completed;
                self.closed_at = Some(at);
                self.clock = None;
                self.pending_request = None;
                self.call = None;
            }
            EventBody::CaseCancelled { .. } => {
                self.status = CaseStatus::Cancelled;
                self.closed_at = Some(at);
                self.clock = None;
                self.pending_request = None;
                self.call = None;
            }
        }
        Ok(())
    }

    /// Takes in the documents and data recorded at the current step (v1: their own events;
    /// v2: carried by the completion). Idempotent: recording the same twice changes nothing.
    pub fn record_inputs(&mut self, documents: &[DocumentReceipt], data: &Map<String, Value>) {
        if documents.is_empty() && data.is_empty() {
            return;
        }
        self.work_begins();
        // What is already held is not copied again (replay takes a completion's inputs in
        // before judging it, then applies the completion).
        for receipt in documents {
            if self.documents.get(&receipt.doc) != Some(receipt) {
                self.documents.insert(receipt.clone());
            }
        }
        for (k, v) in data {
            if self.data.get(k) != Some(v) {
                self.data.insert(k.clone(), v.clone());
            }
        }
    }

    /// Marks the work on a called case as begun: the applicant came.
    fn work_begins(&mut self) {
        if let Some(call) = &mut self.call {
            call.worked = true;
        }
    }

    /// The visit number the next entry into `step` gets (1 for the first).
    pub fn next_visit(&self, step: &str) -> u32 {
        self.visits.iter().filter(|v| &*v.step == step).count() as u32 + 1
    }

    /// When the case needs the ticker next: the running budget clock or the total budget,
    /// whichever runs out first and has not yet been recorded as exceeded. The store's case
    /// projection keeps it (`due_at`), and an auditor checks it against the fold.
    pub fn next_due(&self) -> Option<OffsetDateTime> {
        if self.status.is_closed() {
            return None;
        }
        let step = self
            .clock
            .as_ref()
            .filter(|c| !c.exceeded)
            .map(|c| c.due_at);
        let total = self.total_due_at.filter(|_| !self.total_exceeded);
        match (step, total) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether an exceeded budget is recorded for the running clock or the case (the
    /// projection's `overdue` flag).
    pub fn overdue_recorded(&self) -> bool {
        self.clock.as_ref().is_some_and(|c| c.exceeded) || self.total_exceeded
    }

    /// Whether the case or its current step is past its budget at `now`.
    pub fn is_overdue(&self, now: OffsetDateTime) -> bool {
        !self.status.is_closed()
            && (self.clock.as_ref().is_some_and(|c| now > c.due_at)
                || self.total_due_at.is_some_and(|d| now > d))
    }
}
