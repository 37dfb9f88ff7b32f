//! `decide(sop, state, command, ctx) -> (events, effects)`: the whole behaviour of a case.
//!
//! Pure: the time and the actor come in through [`Context`], the new facts go out as event
//! bodies, and what the world must do (hand out a queue number, call an adapter) goes out as
//! [`Effect`]s for the runtime to carry out. Nothing here fails by panicking: a command that
//! does not fit is a typed [`CommandError`], and a guard that cannot decide becomes an
//! incident on the case.

use rhai::{Array, Dynamic, Map as RhaiMap, Scope};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::event::{Actor, DocumentReceipt, Event, EventBody, GuardEvaluation};
use super::state::{CaseState, CaseStatus};
use crate::guard::{self, CompiledGuard, GuardError};
use crate::sop::model::{MissingDocuments, StepKind};
use crate::sop::{Sop, StepIdx};

/// What a case is asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Open a case (only on an empty history).
    Start {
        case_id: String,
        sop_version: u32,
        data: Map<String, Value>,
        documents: Vec<DocumentReceipt>,
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
    /// An operator calls the case from its queue.
    CallFromQueue { queue: String },
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

/// What the runtime must do after committing the events.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Hand out the next number of `queue` and send it back as `AssignQueueNumber`, in the
    /// same transaction.
    AssignQueueNumber { queue: String, prefix: String },
    /// Deliver a request to an adapter (at least once; the key makes it happen once).
    CallAdapter {
        adapter: String,
        step: String,
        idempotency_key: String,
        request: Map<String, Value>,
    },
    /// Wake the case at `at` (a budget runs out then) with `Tick`.
    ScheduleTimer { at: OffsetDateTime },
}

/// The time and the actor of a command.
#[derive(Debug, Clone, PartialEq)]
pub struct Context {
    pub now: OffsetDateTime,
    pub actor: Actor,
}

/// New events (bodies; the caller numbers and stamps them) and the effects to carry out.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Decision {
    pub events: Vec<EventBody>,
    pub effects: Vec<Effect>,
}

/// A command refused. Nothing is recorded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CommandError {
    #[error("the case has already started")]
    AlreadyStarted,
    #[error("the case has not started")]
    NotStarted,
    #[error("the case is {status}")]
    CaseClosed { status: &'static str },
    #[error("the case has an open incident: {reason}")]
    InIncident { reason: String },
    #[error("the case has no open incident")]
    NoIncident,
    #[error("unknown step `{step}`")]
    UnknownStep { step: String },
    #[error("the case is at step `{current}`, not `{requested}`")]
    WrongStep { requested: String, current: String },
    #[error("step `{step}` is a {kind} step and is not completed this way")]
    WrongKind { step: String, kind: &'static str },
    #[error("role `{role}` may not record step `{step}` (allowed: {})", allowed.join(", "))]
    WrongRole {
        role: String,
        step: String,
        allowed: Vec<String>,
    },
    #[error("required documents missing: {}", missing.join(", "))]
    MissingDocuments { missing: Vec<String> },
    #[error("unknown document `{doc}` for step `{step}`")]
    UnknownDocument { step: String, doc: String },
    #[error("step `{step}` may not set {}", fields.join(", "))]
    FieldsNotAllowed { step: String, fields: Vec<String> },
    #[error("invalid case data")]
    InvalidData { errors: Vec<DataError> },
    #[error("outcome {found:?} is not one of {}", allowed.join(", "))]
    InvalidOutcome {
        found: Option<String>,
        allowed: Vec<String>,
    },
    #[error("the case is not waiting in queue `{queue}`")]
    NotInQueue { queue: String },
    #[error("the case has no queue number yet")]
    NoQueueNumber,
    #[error("no request with key `{key}` is pending")]
    UnknownRequest { key: String },
    #[error("a queue number is not expected now")]
    UnexpectedQueueNumber,
}

/// One violation of the case schema, at a JSON Pointer into the case data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataError {
    pub pointer: String,
    pub message: String,
}

/// Decides what `command` does to the case `state` (None before the first event).
pub fn decide(
    sop: &Sop,
    state: Option<&CaseState>,
    command: &Command,
    ctx: &Context,
) -> Result<Decision, CommandError> {
    let mut d = Decider {
        sop,
        ctx,
        out: Decision::default(),
    };
    match (state, command) {
        (
            None,
            Command::Start {
                case_id,
                sop_version,
                data,
                documents,
            },
        ) => {
            d.start(case_id, *sop_version, data, documents)?;
        }
        (None, _) => return Err(CommandError::NotStarted),
        (Some(_), Command::Start { .. }) => return Err(CommandError::AlreadyStarted),
        (Some(state), command) => d.on_case(state, command)?,
    }
    Ok(d.out)
}

struct Decider<'a> {
    sop: &'a Sop,
    ctx: &'a Context,
    out: Decision,
}

/// What the case looks like while a decision is being made: the stored state plus the
/// events decided so far in this command.
struct Working {
    case: CaseState,
}

impl<'a> Decider<'a> {
    fn emit(&mut self, body: EventBody) {
        self.out.events.push(body);
    }

    fn start(
        &mut self,
        case_id: &str,
        sop_version: u32,
        data: &Map<String, Value>,
        documents: &[DocumentReceipt],
    ) -> Result<(), CommandError> {
        check_data(self.sop, data)?;
        let start = self.sop.start();
        check_documents_known(self.sop, start, documents)?;
        let total_due_at = self
            .sop
            .document()
            .total_budget
            .map(|b| self.ctx.now + std::time::Duration::from_secs(b.as_secs()));
        let started = EventBody::CaseStarted {
            case_id: case_id.to_owned(),
            sop_id: self.sop.id().to_owned(),
            sop_version,
            data: data.clone(),
            total_due_at,
        };
        let mut working = Working::from_first(started.clone(), self.ctx)?;
        self.emit(started);
        if let Some(at) = total_due_at {
            self.out.effects.push(Effect::ScheduleTimer { at });
        }
        self.enter(&mut working, start, None)?;
        if !documents.is_empty() {
            let body = EventBody::DocumentsRecorded {
                step: self.sop.step(start).id.clone(),
                documents: documents.to_vec(),
            };
            working.apply(&body, self.ctx);
            self.emit(body);
        }
        Ok(())
    }

    fn on_case(&mut self, state: &CaseState, command: &Command) -> Result<(), CommandError> {
        if state.status.is_closed() {
            return Err(CommandError::CaseClosed {
                status: state.status.as_str(),
            });
        }
        let mut working = Working::from_state(state);
        match command {
            Command::Start { .. } => Err(CommandError::AlreadyStarted),
            Command::Tick => {
                self.tick(state);
                Ok(())
            }
            Command::Cancel { reason } => {
                self.emit(EventBody::CaseCancelled {
                    reason: reason.clone(),
                });
                Ok(())
            }
            Command::ResolveIncident { note } => self.resolve_incident(&mut working, note),
            _ if state.status == CaseStatus::Incident => Err(CommandError::InIncident {
                reason: state.incident.clone().unwrap_or_default(),
            }),
            Command::CompleteStep {
                step,
                data,
                documents,
                outcome,
            } => self.complete_step(&mut working, step, data, documents, outcome.as_deref()),
            Command::AssignQueueNumber { number } => self.assign_queue_number(&mut working, number),
            Command::CallFromQueue { queue } => self.call_from_queue(&mut working, queue),
            Command::RecordAdapterResult {
                idempotency_key,
                outcome,
                reference,
                data,
            } => self.adapter_result(
                &mut working,
                idempotency_key,
                outcome.as_deref(),
                reference.clone(),
                data,
            ),
            Command::RecordAdapterFailure {
                idempotency_key,
                reason,
            } => {
                let pending = state
                    .pending_request
                    .as_ref()
                    .filter(|p| &p.idempotency_key == idempotency_key);
                let Some(pending) = pending else {
                    return Err(CommandError::UnknownRequest {
                        key: idempotency_key.clone(),
                    });
                };
                self.emit(EventBody::IncidentRaised {
                    step: pending.step.clone(),
                    reason: format!("adapter `{}` failed: {reason}", pending.adapter),
                });
                Ok(())
            }
        }
    }

    fn current(&self, working: &Working) -> Result<StepIdx, CommandError> {
        let id = working.case.current_step.as_deref().unwrap_or_default();
        self.sop
            .step_index(id)
            .ok_or_else(|| CommandError::UnknownStep {
                step: id.to_owned(),
            })
    }

    fn complete_step(
        &mut self,
        working: &mut Working,
        step_id: &str,
        data: &Map<String, Value>,
        documents: &[DocumentReceipt],
        outcome: Option<&str>,
    ) -> Result<(), CommandError> {
        let requested = self
            .sop
            .step_index(step_id)
            .ok_or_else(|| CommandError::UnknownStep {
                step: step_id.to_owned(),
            })?;
        // A role that may never record this step is refused whatever the case's position.
        self.check_role(requested)?;
        let current = self.current(working)?;
        if requested != current || working.case.current_completed {
            return Err(CommandError::WrongStep {
                requested: step_id.to_owned(),
                current: self.sop.step(current).id.clone(),
            });
        }
        let step = self.sop.step(current);
        match step.kind {
            StepKind::Task => {}
            // A service step with no adapter configured is done by its actor through the API.
            StepKind::Service => {}
            other => {
                return Err(CommandError::WrongKind {
                    step: step.id.clone(),
                    kind: other.as_str(),
                });
            }
        }
        let not_allowed: Vec<String> = data
            .keys()
            .filter(|k| !step.collects.contains(k))
            .cloned()
            .collect();
        if !not_allowed.is_empty() {
            return Err(CommandError::FieldsNotAllowed {
                step: step.id.clone(),
                fields: not_allowed,
            });
        }
        check_documents_known(self.sop, current, documents)?;
        check_outcome(&step.outcomes, outcome)?;
        let mut merged = working.case.data.clone();
        merged.extend(data.iter().map(|(k, v)| (k.clone(), v.clone())));
        check_data(self.sop, &merged)?;

        // Documents are judged on what the case holds after this step's receipts.
        let mut docs_after = working.case.documents.clone();
        for r in documents {
            docs_after.insert(r.doc.clone(), r.clone());
        }
        let missing = match missing_documents(self.sop, current, &merged, &docs_after) {
            Ok(m) => m,
            Err(e) => {
                self.record_inputs(working, current, data, documents);
                self.raise(working, current, e.to_string());
                return Ok(());
            }
        };
        if step.missing_documents == MissingDocuments::Block && !missing.is_empty() {
            return Err(CommandError::MissingDocuments { missing });
        }
        if let Some(pending) = &working.case.pending_request {
            // Completed by hand: the adapter's request is settled with it.
            let body = EventBody::AdapterCompleted {
                step: pending.step.clone(),
                idempotency_key: pending.idempotency_key.clone(),
                outcome: outcome.map(str::to_owned),
                reference: None,
            };
            working.apply(&body, self.ctx);
            self.emit(body);
        }
        self.record_inputs(working, current, data, documents);
        let body = EventBody::StepCompleted {
            step: step.id.clone(),
            outcome: outcome.map(str::to_owned),
            missing_documents: missing,
        };
        working.apply(&body, self.ctx);
        self.emit(body);
        self.route(working, current, outcome)
    }

    fn record_inputs(
        &mut self,
        working: &mut Working,
        step: StepIdx,
        data: &Map<String, Value>,
        documents: &[DocumentReceipt],
    ) {
        let id = &self.sop.step(step).id;
        if !documents.is_empty() {
            let body = EventBody::DocumentsRecorded {
                step: id.clone(),
                documents: documents.to_vec(),
            };
            working.apply(&body, self.ctx);
            self.emit(body);
        }
        if !data.is_empty() {
            let body = EventBody::DataRecorded {
                step: id.clone(),
                data: data.clone(),
            };
            working.apply(&body, self.ctx);
            self.emit(body);
        }
    }

    fn check_role(&self, step: StepIdx) -> Result<(), CommandError> {
        let allowed = &self.sop.compiled(step).roles;
        if allowed.contains(&self.ctx.actor.role) {
            Ok(())
        } else {
            Err(CommandError::WrongRole {
                role: self.ctx.actor.role.clone(),
                step: self.sop.step(step).id.clone(),
                allowed: allowed.clone(),
            })
        }
    }

    fn assign_queue_number(
        &mut self,
        working: &mut Working,
        number: &str,
    ) -> Result<(), CommandError> {
        let current = self.current(working)?;
        let step = self.sop.step(current);
        if step.kind != StepKind::Queue || working.case.queue_number.is_some() {
            return Err(CommandError::UnexpectedQueueNumber);
        }
        self.emit(EventBody::QueueNumberAssigned {
            step: step.id.clone(),
            queue: step.queue.clone().unwrap_or_default(),
            number: number.to_owned(),
        });
        Ok(())
    }

    fn call_from_queue(&mut self, working: &mut Working, queue: &str) -> Result<(), CommandError> {
        let current = self.current(working)?;
        let step = self.sop.step(current);
        if step.kind != StepKind::Queue
            || step.queue.as_deref() != Some(queue)
            || working.case.current_completed
        {
            return Err(CommandError::NotInQueue {
                queue: queue.to_owned(),
            });
        }
        let allowed: Vec<String> = self
            .sop
            .document()
            .queues
            .iter()
            .find(|q| q.id == queue)
            .map(|q| q.called_by.clone())
            .unwrap_or_default();
        if !allowed.contains(&self.ctx.actor.role) {
            return Err(CommandError::WrongRole {
                role: self.ctx.actor.role.clone(),
                step: step.id.clone(),
                allowed,
            });
        }
        let number = working
            .case
            .queue_number
            .clone()
            .ok_or(CommandError::NoQueueNumber)?;
        let missing = match missing_documents(
            self.sop,
            current,
            &working.case.data,
            &working.case.documents,
        ) {
            Ok(m) => m,
            Err(e) => {
                self.raise(working, current, e.to_string());
                return Ok(());
            }
        };
        self.emit(EventBody::QueueCalled {
            step: step.id.clone(),
            queue: queue.to_owned(),
            number,
        });
        let body = EventBody::StepCompleted {
            step: step.id.clone(),
            outcome: None,
            missing_documents: missing,
        };
        working.apply(&body, self.ctx);
        self.emit(body);
        self.route(working, current, None)
    }

    fn adapter_result(
        &mut self,
        working: &mut Working,
        key: &str,
        outcome: Option<&str>,
        reference: Option<String>,
        data: &Map<String, Value>,
    ) -> Result<(), CommandError> {
        let Some(pending) = working
            .case
            .pending_request
            .clone()
            .filter(|p| p.idempotency_key == key)
        else {
            return Err(CommandError::UnknownRequest {
                key: key.to_owned(),
            });
        };
        let current = self.current(working)?;
        let step = self.sop.step(current);
        check_outcome(&step.outcomes, outcome)?;
        let not_allowed: Vec<String> = data
            .keys()
            .filter(|k| !step.collects.contains(k))
            .cloned()
            .collect();
        if !not_allowed.is_empty() {
            return Err(CommandError::FieldsNotAllowed {
                step: step.id.clone(),
                fields: not_allowed,
            });
        }
        let mut merged = working.case.data.clone();
        merged.extend(data.iter().map(|(k, v)| (k.clone(), v.clone())));
        check_data(self.sop, &merged)?;
        let body = EventBody::AdapterCompleted {
            step: pending.step.clone(),
            idempotency_key: pending.idempotency_key.clone(),
            outcome: outcome.map(str::to_owned),
            reference,
        };
        working.apply(&body, self.ctx);
        self.emit(body);
        self.record_inputs(working, current, data, &[]);
        let body = EventBody::StepCompleted {
            step: step.id.clone(),
            outcome: outcome.map(str::to_owned),
            missing_documents: Vec::new(),
        };
        working.apply(&body, self.ctx);
        self.emit(body);
        self.route(working, current, outcome)
    }

    fn resolve_incident(&mut self, working: &mut Working, note: &str) -> Result<(), CommandError> {
        if working.case.status != CaseStatus::Incident {
            return Err(CommandError::NoIncident);
        }
        let current = self.current(working)?;
        let body = EventBody::IncidentResolved {
            step: self.sop.step(current).id.clone(),
            note: note.to_owned(),
        };
        working.apply(&body, self.ctx);
        self.emit(body);
        if working.case.current_completed {
            // The incident stopped the routing: route again with the step's outcome.
            let outcome = working.case.visits.last().and_then(|v| v.outcome.clone());
            return self.route(working, current, outcome.as_deref());
        }
        if let Some(pending) = working.case.pending_request.clone() {
            // The adapter is asked again with the same key: a retry never acts twice.
            self.out.effects.push(Effect::CallAdapter {
                adapter: pending.adapter,
                step: pending.step,
                idempotency_key: pending.idempotency_key,
                request: self.request_payload(current, &working.case.data),
            });
        }
        Ok(())
    }

    fn tick(&mut self, state: &CaseState) {
        let now = self.ctx.now;
        if let Some(clock) = &state.clock
            && !clock.exceeded
            && now > clock.due_at
        {
            self.emit(EventBody::TimeBudgetExceeded {
                step: clock.step.clone(),
                due_at: clock.due_at,
            });
        }
        if let Some(due) = state.total_due_at
            && !state.total_exceeded
            && now > due
        {
            self.emit(EventBody::TotalBudgetExceeded { due_at: due });
        }
    }

    fn raise(&mut self, working: &mut Working, step: StepIdx, reason: String) {
        let body = EventBody::IncidentRaised {
            step: self.sop.step(step).id.clone(),
            reason,
        };
        working.apply(&body, self.ctx);
        self.emit(body);
    }

    /// Chooses the branch out of `from` and enters its target.
    fn route(
        &mut self,
        working: &mut Working,
        from: StepIdx,
        outcome: Option<&str>,
    ) -> Result<(), CommandError> {
        match choose_branch(
            self.sop,
            from,
            &working.case.data,
            &working.case.documents,
            outcome,
        ) {
            Ok(choice) => {
                let compiled = &self.sop.compiled(from).branches[choice.branch];
                let to = compiled.to;
                let body = EventBody::BranchTaken {
                    from: self.sop.step(from).id.clone(),
                    to: self.sop.step(to).id.clone(),
                    branch: choice.branch,
                    label: compiled.label.clone(),
                    evaluations: choice.evaluations,
                };
                working.apply(&body, self.ctx);
                self.emit(body);
                self.enter(working, to, Some(from))
            }
            Err(e) => {
                self.raise(working, from, e.to_string());
                Ok(())
            }
        }
    }

    /// Enters step `to`: starts or keeps its budget clock, and does what its kind asks.
    fn enter(
        &mut self,
        working: &mut Working,
        to: StepIdx,
        from: Option<StepIdx>,
    ) -> Result<(), CommandError> {
        let step = self.sop.step(to);
        // A clock keeps running while the case stays within the steps that share it.
        let (budget_step, due_at) = budget_clock(
            self.sop,
            to,
            from,
            working.case.clock.as_ref(),
            self.ctx.now,
        );
        let body = EventBody::StepEntered {
            step: step.id.clone(),
            visit: working.case.next_visit(&step.id),
            budget_step,
            due_at,
        };
        working.apply(&body, self.ctx);
        self.emit(body);
        if let Some(at) = due_at {
            self.out.effects.push(Effect::ScheduleTimer { at });
        }
        match step.kind {
            StepKind::Task => {}
            StepKind::Queue => {
                let prefix = self
                    .sop
                    .document()
                    .queues
                    .iter()
                    .find(|q| Some(&q.id) == step.queue.as_ref())
                    .map(|q| q.prefix.clone())
                    .unwrap_or_default();
                self.out.effects.push(Effect::AssignQueueNumber {
                    queue: step.queue.clone().unwrap_or_default(),
                    prefix,
                });
            }
            StepKind::Service => {
                let adapter = step.adapter.clone().unwrap_or_default();
                let visit = working.case.visits.last().map(|v| v.visit).unwrap_or(1);
                // Deterministic: the same case, step and visit always give the same key.
                let key = format!("{}:{}:{}", working.case.case_id, step.id, visit);
                let request = self.request_payload(to, &working.case.data);
                let body = EventBody::AdapterRequested {
                    step: step.id.clone(),
                    adapter: adapter.clone(),
                    idempotency_key: key.clone(),
                    request: request.clone(),
                };
                working.apply(&body, self.ctx);
                self.emit(body);
                self.out.effects.push(Effect::CallAdapter {
                    adapter,
                    step: step.id.clone(),
                    idempotency_key: key,
                    request,
                });
            }
            StepKind::Decision => {
                let body = EventBody::StepCompleted {
                    step: step.id.clone(),
                    outcome: None,
                    missing_documents: Vec::new(),
                };
                working.apply(&body, self.ctx);
                self.emit(body);
                // Validation forbids cycles of decisions, so this recursion ends.
                return self.route(working, to, None);
            }
            StepKind::End => {
                self.emit(EventBody::CaseCompleted {
                    end: step.id.clone(),
                });
            }
        }
        Ok(())
    }

    fn request_payload(&self, step: StepIdx, data: &Map<String, Value>) -> Map<String, Value> {
        self.sop
            .step(step)
            .request
            .iter()
            .filter_map(|f| data.get(f).map(|v| (f.clone(), v.clone())))
            .collect()
    }
}

impl Working {
    fn from_state(state: &CaseState) -> Self {
        Self {
            case: state.clone(),
        }
    }

    fn from_first(started: EventBody, ctx: &Context) -> Result<Self, CommandError> {
        let event = Event {
            v: super::event::EVENT_FORMAT_VERSION,
            seq: 1,
            at: ctx.now,
            by: ctx.actor.clone(),
            body: started,
        };
        let case = CaseState::from_first(&event).map_err(|_| CommandError::NotStarted)?;
        Ok(Self { case })
    }

    /// Keeps the working state in step with the events decided so far.
    fn apply(&mut self, body: &EventBody, ctx: &Context) {
        let event = Event {
            v: super::event::EVENT_FORMAT_VERSION,
            seq: self.case.version + 1,
            at: ctx.now,
            by: ctx.actor.clone(),
            body: body.clone(),
        };
        // Decided events always fit the state they were decided on.
        let _ = self.case.apply(&event);
    }
}

fn check_outcome(allowed: &[String], outcome: Option<&str>) -> Result<(), CommandError> {
    let ok = match outcome {
        None => allowed.is_empty(),
        Some(o) => allowed.iter().any(|a| a == o),
    };
    if ok {
        Ok(())
    } else {
        Err(CommandError::InvalidOutcome {
            found: outcome.map(str::to_owned),
            allowed: allowed.to_vec(),
        })
    }
}

fn check_documents_known(
    sop: &Sop,
    step: StepIdx,
    documents: &[DocumentReceipt],
) -> Result<(), CommandError> {
    let declared = &sop.step(step).documents;
    match documents.iter().find(|r| !declared.contains(&r.doc)) {
        Some(r) => Err(CommandError::UnknownDocument {
            step: sop.step(step).id.clone(),
            doc: r.doc.clone(),
        }),
        None => Ok(()),
    }
}

/// The budget clock of entering step `to` from `from` at `now`: the step that owns the
/// budget, and a due time when a new clock starts (`None` while the case stays among the
/// steps that share the clock already running). Also used by replay to re-check it.
pub(crate) fn budget_clock(
    sop: &Sop,
    to: StepIdx,
    from: Option<StepIdx>,
    running: Option<&super::state::BudgetClock>,
    now: OffsetDateTime,
) -> (Option<String>, Option<OffsetDateTime>) {
    let budget = sop.compiled(to).budget;
    let shares_running_clock = match (budget, from, running) {
        (Some((owner, _)), Some(from), Some(clock)) => {
            sop.compiled(from).budget.map(|(o, _)| o) == Some(owner)
                && clock.step == sop.step(owner).id
        }
        _ => false,
    };
    match budget {
        Some((owner, _)) if shares_running_clock => (Some(sop.step(owner).id.clone()), None),
        Some((owner, duration)) => (
            Some(sop.step(owner).id.clone()),
            Some(now + std::time::Duration::from_secs(duration.as_secs())),
        ),
        None => (None, None),
    }
}

/// Validates case data against the SOP's case schema, every error with its JSON Pointer.
pub fn check_data(sop: &Sop, data: &Map<String, Value>) -> Result<(), CommandError> {
    let value = Value::Object(data.clone());
    let errors: Vec<DataError> = sop
        .case_validator()
        .iter_errors(&value)
        .map(|e| DataError {
            pointer: e.instance_path().as_str().to_owned(),
            message: e.to_string(),
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CommandError::InvalidData { errors })
    }
}

/// The scope guards see: every case field (absent ones as `()`), and the engine's names.
fn guard_scope(
    sop: &Sop,
    data: &Map<String, Value>,
    documents: Option<(
        &std::collections::BTreeMap<String, DocumentReceipt>,
        &[String],
    )>,
    outcome: Option<&str>,
) -> Scope<'static> {
    let mut scope = Scope::new();
    for field in sop.case_fields() {
        let value = data
            .get(field)
            .and_then(|v| rhai::serde::to_dynamic(v).ok())
            .unwrap_or(Dynamic::UNIT);
        scope.push(field.clone(), value);
    }
    if let Some((held, missing)) = documents {
        let mut map = RhaiMap::new();
        for doc in &sop.document().documents {
            let present = held.get(&doc.id).is_some_and(|r| r.received);
            map.insert(doc.id.as_str().into(), Dynamic::from_bool(present));
        }
        scope.push("documents", map);
        scope.push("documents_complete", missing.is_empty());
        let missing: Array = missing.iter().map(|m| Dynamic::from(m.clone())).collect();
        scope.push("missing_documents", missing);
        scope.push(
            "outcome",
            outcome
                .map(|o| Dynamic::from(o.to_owned()))
                .unwrap_or(Dynamic::UNIT),
        );
    }
    scope
}

/// The required documents of `step` that the case does not hold, in the step's order.
pub fn missing_documents(
    sop: &Sop,
    step: StepIdx,
    data: &Map<String, Value>,
    held: &std::collections::BTreeMap<String, DocumentReceipt>,
) -> Result<Vec<String>, GuardError> {
    let engine = guard::shared();
    let mut scope: Option<Scope> = None;
    let mut missing = Vec::new();
    for &doc in &sop.compiled(step).documents {
        let def = &sop.document().documents[doc];
        let required = match sop.document_condition(doc) {
            None => true,
            Some(condition) => {
                let scope = scope.get_or_insert_with(|| guard_scope(sop, data, None, None));
                engine.eval(condition, scope)?
            }
        };
        if required && !held.get(&def.id).is_some_and(|r| r.received) {
            missing.push(def.id.clone());
        }
    }
    Ok(missing)
}

/// The branch a step takes, and the evaluations that decided it.
#[derive(Debug, Clone, PartialEq)]
pub struct BranchChoice {
    pub branch: usize,
    pub evaluations: Vec<GuardEvaluation>,
}

/// Evaluates the branches of `step` in order; the first whose guard holds (or the default)
/// wins. Also used by replay to re-check a recorded decision.
pub fn choose_branch(
    sop: &Sop,
    step: StepIdx,
    data: &Map<String, Value>,
    documents: &std::collections::BTreeMap<String, DocumentReceipt>,
    outcome: Option<&str>,
) -> Result<BranchChoice, GuardError> {
    let branches = &sop.compiled(step).branches;
    let needs_scope = branches.iter().any(|b| b.guard.is_some());
    let mut evaluations = Vec::new();
    if needs_scope {
        let missing = missing_documents(sop, step, data, documents)?;
        let mut scope = guard_scope(sop, data, Some((documents, &missing)), outcome);
        let engine = guard::shared();
        for (i, branch) in branches.iter().enumerate() {
            let Some(guard) = &branch.guard else {
                return Ok(BranchChoice {
                    branch: i,
                    evaluations,
                });
            };
            let result = engine.eval(guard, &mut scope)?;
            evaluations.push(GuardEvaluation {
                branch: i,
                guard: guard.source.clone(),
                result,
                values: read_values(guard, &scope),
            });
            if result {
                return Ok(BranchChoice {
                    branch: i,
                    evaluations,
                });
            }
        }
    }
    // Validation guarantees a default branch; an SOP without one ends here on its last.
    Ok(BranchChoice {
        branch: branches.len().saturating_sub(1),
        evaluations,
    })
}

fn read_values(guard: &CompiledGuard, scope: &Scope) -> Map<String, Value> {
    guard
        .reads
        .iter()
        .map(|name| {
            let value = scope
                .get(name)
                .and_then(|d| rhai::serde::from_dynamic::<Value>(d).ok())
                .unwrap_or(Value::Null);
            (name.clone(), value)
        })
        .collect()
}
