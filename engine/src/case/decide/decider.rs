//! The decider: one command at a time, checked first, then its events emitted and applied
//! to the working state as they are decided.

use std::sync::Arc;

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::adapter::adapter_call;
use super::branch::choose_branch_knowing;
use super::data::{CaseFields, Changed, check_changes, check_data};
use super::scope::missing_documents_after;
use super::types::{Command, CommandError, Context, Decision, Effect};
use crate::case::SopVersion;
use crate::case::calendar::{CaseCalendar, describe};
use crate::case::event::{DocumentReceipt, EventBody};
use crate::case::state::{ApplyError, BudgetClock, CaseState, CaseStatus};
use crate::sop::model::{MissingDocuments, StepKind};
use crate::sop::{self, Sop, StepIdx};

// Calls from counters: call, recall, no-show, transfer.
mod calls;

pub use calls::open_call;

pub(super) struct Decider<'a> {
    sop: &'a Sop,
    ctx: &'a Context,
    out: Decision,
    /// The first event the decider made that did not fit its own working state: a bug in
    /// decide.
    broken: Option<ApplyError>,
    /// A budget the calendar gave no due time for: the command is refused.
    no_due_time: Option<CommandError>,
}

impl<'a> Decider<'a> {
    pub(super) fn new(sop: &'a Sop, ctx: &'a Context) -> Self {
        Self {
            sop,
            ctx,
            // Room for a command's usual facts at once (a completion routed on to a step
            // that does something on entry makes four), not grown one by one.
            out: Decision {
                events: Vec::with_capacity(4),
                effects: Vec::new(),
            },
            broken: None,
            no_due_time: None,
        }
    }

    /// The decision, unless the decider contradicted itself: then an internal error (the
    /// service answers 500), never a corrupt case nor a refusal the client could act on.
    pub(super) fn finish(self) -> Result<Decision, CommandError> {
        match (self.broken, self.no_due_time) {
            (Some(e), _) => Err(internal(e)),
            (None, Some(e)) => Err(e),
            (None, None) => Ok(self.out),
        }
    }

    /// Hands `effect` to the runtime. A command asks for one at most in practice: room for
    /// one, not the four of a vector's first growth (an effect is ~250 bytes).
    fn effect(&mut self, effect: Effect) {
        self.out.effects.reserve_exact(1);
        self.out.effects.push(effect);
    }

    /// Records fact `body` and keeps the working state in step with it. The command's facts
    /// become one event (see `case::stamp`): the version moves once, when the decision is made.
    fn emit(&mut self, working: &mut CaseState, body: EventBody) {
        // Pushed first and applied from where it lies: the body is moved once.
        self.out.events.push(body);
        let Some(body) = self.out.events.last() else {
            return;
        };
        if let Err(e) = working.apply_fact(working.version + 1, self.ctx.now, body)
            && self.broken.is_none()
        {
            self.broken = Some(e);
        }
    }

    pub(super) fn start(
        &mut self,
        case_id: &str,
        sop_version: SopVersion,
        data: &Map<String, Value>,
        documents: &[DocumentReceipt],
        service_point: Option<String>,
    ) -> Result<CaseState, CommandError> {
        let start = self.sop.start();
        // Who may open a case is who may record its first step: the same rule replay checks.
        let role = &*self.ctx.actor.role;
        if !self.sop.may_record(start, role) {
            return Err(CommandError::MayNotStart {
                role: role.to_owned(),
                allowed: self.sop.recorders(start).to_vec(),
            });
        }
        check_data(self.sop, data)?;
        check_documents_known(self.sop, start, documents)?;
        let total_due_at = total_due(self.sop, &self.ctx.calendar, self.ctx.now)?;
        let started = EventBody::CaseStarted {
            case_id: case_id.to_owned(),
            sop_id: self.sop.id().to_owned(),
            sop_version,
            sop_content_hash: Some(self.sop.content_hash().to_owned()).filter(|h| !h.is_empty()),
            data: data.clone(),
            total_due_at,
            service_point,
            calendar: self.ctx.calendar.pin().cloned(),
        };
        let mut working =
            CaseState::from_first_parts(1, self.ctx.now, &started).map_err(internal)?;
        self.out.events.push(started);
        self.enter(&mut working, start, None);
        if !documents.is_empty() {
            let body = EventBody::DocumentsRecorded {
                step: self.sop.step_id(start).clone(),
                documents: documents.to_vec(),
            };
            self.emit(&mut working, body);
        }
        Ok(working)
    }

    pub(super) fn on_case(
        &mut self,
        working: &mut CaseState,
        command: &Command,
    ) -> Result<(), CommandError> {
        if working.status.is_closed() {
            return Err(CommandError::CaseClosed {
                status: working.status.as_str(),
            });
        }
        // Due times are computed on the calendar the case is pinned to and on no other: a
        // runtime that hands over another one has a bug, and nothing is recorded.
        if self.ctx.calendar.pin() != working.calendar.as_ref() {
            return Err(CommandError::Internal {
                reason: format!(
                    "the case runs on {}, the command came with {}",
                    describe(working.calendar.as_ref()),
                    describe(self.ctx.calendar.pin())
                ),
            });
        }
        match command {
            Command::Start { .. } => Err(CommandError::AlreadyStarted),
            Command::Tick => {
                self.tick(working);
                Ok(())
            }
            Command::Cancel { reason } => {
                self.emit(
                    working,
                    EventBody::CaseCancelled {
                        reason: reason.clone(),
                    },
                );
                Ok(())
            }
            Command::ResolveIncident { note } => self.resolve_incident(working, note),
            _ if working.status == CaseStatus::Incident => Err(CommandError::InIncident {
                reason: working.incident.clone().unwrap_or_default(),
            }),
            Command::CompleteStep {
                step,
                data,
                documents,
                outcome,
            } => self.complete_step(working, step, data, documents, outcome.as_deref()),
            Command::AssignQueueNumber { number } => self.assign_queue_number(working, number),
            Command::CallFromQueue { queue, counter } => {
                self.call_from_queue(working, queue, counter.as_deref())
            }
            Command::Recall => self.recall(working),
            Command::NoShow { limit, reason } => self.no_show(working, *limit, reason.as_deref()),
            Command::Transfer { to } => self.transfer(working, to),
            Command::RecordAdapterResult {
                idempotency_key,
                outcome,
                reference,
                data,
            } => self.adapter_result(
                working,
                idempotency_key,
                outcome.as_deref(),
                reference.clone(),
                data,
            ),
            Command::RecordAdapterFailure {
                idempotency_key,
                reason,
            } => {
                let pending = working
                    .pending_request
                    .as_ref()
                    .filter(|p| &p.idempotency_key == idempotency_key);
                let Some(pending) = pending else {
                    return Err(CommandError::UnknownRequest {
                        key: idempotency_key.clone(),
                    });
                };
                let body = EventBody::IncidentRaised {
                    step: pending.step.clone(),
                    reason: format!("adapter `{}` failed: {reason}", pending.adapter),
                };
                self.emit(working, body);
                Ok(())
            }
        }
    }

    fn current(&self, working: &CaseState) -> Result<StepIdx, CommandError> {
        let id = working.current_step.as_deref().unwrap_or_default();
        self.sop
            .step_index(id)
            .ok_or_else(|| CommandError::UnknownStep {
                step: id.to_owned(),
            })
    }

    fn complete_step(
        &mut self,
        working: &mut CaseState,
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
        // The step the case is at is most often the one named: no second lookup then.
        let current = match &working.current_step {
            Some(at) if **at == **self.sop.step_id(requested) => requested,
            _ => self.current(working)?,
        };
        if requested != current || working.current_completed {
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
            .filter(|k| !self.sop.settable(current).contains(k))
            .cloned()
            .collect();
        if !not_allowed.is_empty() {
            return Err(CommandError::FieldsNotAllowed {
                step: step.id.clone(),
                fields: not_allowed,
            });
        }
        check_documents_known(self.sop, current, documents)?;
        check_outcome(&step.id, &step.outcomes, outcome)?;
        let after = Changed {
            changes: data,
            base: &working.data,
        };
        check_changes(self.sop, after)?;
        check_required(self.sop, current, &after)?;

        // Documents are judged on what the case holds after this step's receipts.
        let missing =
            match missing_documents_after(self.sop, current, &after, &working.documents, documents)
            {
                Ok(m) => m,
                Err(e) => {
                    self.record_inputs(working, current, data, documents);
                    self.raise(working, current, e.to_string());
                    return Ok(());
                }
            };
        if step.missing_documents == MissingDocuments::Block && !missing.is_empty() {
            return Err(CommandError::MissingDocuments {
                missing: missing.iter().map(|m| m.to_string()).collect(),
            });
        }
        if let Some(pending) = &working.pending_request {
            // Completed by hand: the adapter's request is settled with it.
            let body = EventBody::AdapterCompleted {
                step: pending.step.clone(),
                idempotency_key: pending.idempotency_key.clone(),
                outcome: outcome.map(str::to_owned),
                reference: None,
            };
            self.emit(working, body);
        }
        // The documents and data ride in the completion (event format v2).
        let body = EventBody::StepCompleted {
            step: self.sop.step_id(current).clone(),
            outcome: outcome.map(str::to_owned),
            missing_documents: missing.clone(),
            documents: documents.to_vec(),
            data: data.clone(),
        };
        self.emit(working, body);
        self.route(working, current, outcome, Some(missing));
        Ok(())
    }

    fn record_inputs(
        &mut self,
        working: &mut CaseState,
        step: StepIdx,
        data: &Map<String, Value>,
        documents: &[DocumentReceipt],
    ) {
        let id = self.sop.step_id(step);
        if !documents.is_empty() {
            let body = EventBody::DocumentsRecorded {
                step: id.clone(),
                documents: documents.to_vec(),
            };
            self.emit(working, body);
        }
        if !data.is_empty() {
            let body = EventBody::DataRecorded {
                step: id.clone(),
                data: data.clone(),
            };
            self.emit(working, body);
        }
    }

    fn check_role(&self, step: StepIdx) -> Result<(), CommandError> {
        let role = &*self.ctx.actor.role;
        if self.sop.may_record(step, role) {
            Ok(())
        } else {
            Err(CommandError::WrongRole {
                role: role.to_owned(),
                step: self.sop.step(step).id.clone(),
                allowed: self.sop.recorders(step).to_vec(),
            })
        }
    }

    fn assign_queue_number(
        &mut self,
        working: &mut CaseState,
        number: &str,
    ) -> Result<(), CommandError> {
        let current = self.current(working)?;
        let step = self.sop.step(current);
        if step.kind != StepKind::Queue || working.queue_number.is_some() {
            return Err(CommandError::UnexpectedQueueNumber);
        }
        let body = EventBody::QueueNumberAssigned {
            step: self.sop.step_id(current).clone(),
            queue: self.sop.compiled(current).queue.clone().unwrap_or_default(),
            number: number.to_owned(),
        };
        self.emit(working, body);
        Ok(())
    }

    fn adapter_result(
        &mut self,
        working: &mut CaseState,
        key: &str,
        outcome: Option<&str>,
        reference: Option<String>,
        data: &Map<String, Value>,
    ) -> Result<(), CommandError> {
        if working
            .pending_request
            .as_ref()
            .is_none_or(|p| p.idempotency_key != key)
        {
            return Err(CommandError::UnknownRequest {
                key: key.to_owned(),
            });
        }
        let current = self.current(working)?;
        let step = self.sop.step(current);
        check_outcome(&step.id, &step.outcomes, outcome)?;
        let not_allowed: Vec<String> = data
            .keys()
            .filter(|k| !self.sop.settable(current).contains(k))
            .cloned()
            .collect();
        if !not_allowed.is_empty() {
            return Err(CommandError::FieldsNotAllowed {
                step: step.id.clone(),
                fields: not_allowed,
            });
        }
        let after = Changed {
            changes: data,
            base: &working.data,
        };
        check_changes(self.sop, after)?;
        check_required(self.sop, current, &after)?;
        // Every check passed: the request is settled, and its completion records it (the
        // fold clears it again).
        let Some(pending) = working.pending_request.take() else {
            return Err(CommandError::UnknownRequest {
                key: key.to_owned(),
            });
        };
        let body = EventBody::AdapterCompleted {
            step: pending.step,
            idempotency_key: pending.idempotency_key,
            outcome: outcome.map(str::to_owned),
            reference,
        };
        self.emit(working, body);
        let body = EventBody::StepCompleted {
            step: self.sop.step_id(current).clone(),
            outcome: outcome.map(str::to_owned),
            missing_documents: Vec::new(),
            documents: Vec::new(),
            data: data.clone(),
        };
        self.emit(working, body);
        self.route(working, current, outcome, None);
        Ok(())
    }

    fn resolve_incident(
        &mut self,
        working: &mut CaseState,
        note: &str,
    ) -> Result<(), CommandError> {
        if working.status != CaseStatus::Incident {
            return Err(CommandError::NoIncident);
        }
        let current = self.current(working)?;
        let body = EventBody::IncidentResolved {
            step: self.sop.step_id(current).clone(),
            note: note.to_owned(),
        };
        self.emit(working, body);
        if working.current_completed {
            // The incident stopped the routing: route again with the step's outcome.
            let outcome = working.visits.last().and_then(|v| v.outcome.clone());
            self.route(working, current, outcome.as_deref(), None);
            return Ok(());
        }
        if let Some(pending) = working.pending_request.clone() {
            // The adapter is asked again with the same key: a retry never acts twice.
            match adapter_call(self.sop, current, working, pending.idempotency_key) {
                Ok(call) => self.effect(Effect::CallAdapter(call)),
                Err(e) => self.raise(working, current, e.to_string()),
            }
        } else if self.sop.kind(current) == StepKind::Service {
            // The request was never made (its problem condition failed): make it now.
            self.request_adapter(working, current);
        }
        Ok(())
    }

    fn tick(&mut self, state: &mut CaseState) {
        let now = self.ctx.now;
        if let Some(clock) = &state.clock
            && !clock.exceeded
            && now > clock.due_at
        {
            let body = EventBody::TimeBudgetExceeded {
                step: clock.step.clone(),
                due_at: clock.due_at,
            };
            self.emit(state, body);
        }
        if let Some(due) = state.total_due_at
            && !state.total_exceeded
            && now > due
        {
            self.emit(state, EventBody::TotalBudgetExceeded { due_at: due });
        }
    }

    fn raise(&mut self, working: &mut CaseState, step: StepIdx, reason: String) {
        let body = EventBody::IncidentRaised {
            step: self.sop.step_id(step).clone(),
            reason,
        };
        self.emit(working, body);
    }

    /// Chooses the branch out of `from` and enters its target. `known_missing`: the missing
    /// documents of `from` when the caller just computed them on the case as it is now.
    fn route(
        &mut self,
        working: &mut CaseState,
        from: StepIdx,
        outcome: Option<&str>,
        known_missing: Option<Vec<Arc<str>>>,
    ) {
        match choose_branch_knowing(
            self.sop,
            from,
            &working.data,
            &working.documents,
            outcome,
            known_missing,
        ) {
            Ok(choice) => {
                let compiled = &self.sop.compiled(from).branches[choice.branch];
                let to = compiled.to;
                // The label and the guards' text are the pinned SOP's: not copied (v2).
                let mut evaluations = choice.evaluations;
                for evaluation in &mut evaluations {
                    evaluation.guard = Arc::default();
                }
                let body = EventBody::BranchTaken {
                    from: self.sop.step_id(from).clone(),
                    to: self.sop.step_id(to).clone(),
                    branch: choice.branch,
                    label: None,
                    evaluations,
                };
                self.emit(working, body);
                self.enter(working, to, Some(from));
            }
            Err(e) => self.raise(working, from, e.to_string()),
        }
    }

    /// Enters step `to`: starts or keeps its budget clock, and does what its kind asks.
    fn enter(&mut self, working: &mut CaseState, to: StepIdx, from: Option<StepIdx>) {
        self.enter_step(working, to, from);
        let step = self.sop.step(to);
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
                self.effect(Effect::AssignQueueNumber {
                    queue: step.queue.clone().unwrap_or_default(),
                    prefix,
                });
            }
            StepKind::Service => self.request_adapter(working, to),
            StepKind::Decision => {
                let body = EventBody::StepCompleted {
                    step: self.sop.step_id(to).clone(),
                    outcome: None,
                    missing_documents: Vec::new(),
                    documents: Vec::new(),
                    data: Map::new(),
                };
                self.emit(working, body);
                // Validation forbids cycles of decisions, so this recursion ends.
                self.route(working, to, None, None);
            }
            StepKind::End => {
                let body = EventBody::CaseCompleted {
                    end: self.sop.step_id(to).clone(),
                };
                self.emit(working, body);
            }
        }
    }

    /// Records the entry into step `to` from `from`, with its budget clock (started, or kept
    /// while the case stays within the steps that share it), and nothing else.
    fn enter_step(&mut self, working: &mut CaseState, to: StepIdx, from: Option<StepIdx>) {
        let (budget_step, due_at) = match budget_clock(
            self.sop,
            to,
            from,
            working.clock.as_ref(),
            self.ctx.now,
            &self.ctx.calendar,
        ) {
            Ok(clock) => clock,
            Err(e) => {
                // Recorded without a due time in the working state only: the command fails.
                if self.no_due_time.is_none() {
                    self.no_due_time = Some(CommandError::NoDueTime {
                        step: self.sop.step(to).id.clone(),
                        reason: e.to_string(),
                    });
                }
                (
                    self.sop
                        .compiled(to)
                        .budget
                        .map(|(o, _)| self.sop.step_id(o).clone()),
                    None,
                )
            }
        };
        let body = EventBody::StepEntered {
            step: self.sop.step_id(to).clone(),
            visit: working.next_visit(&self.sop.step(to).id),
            budget_step,
            due_at,
        };
        self.emit(working, body);
    }

    /// Asks the adapter of service step `step`, the case's current step, to act: records
    /// the request and hands the call to the runtime, or raises an incident when the call
    /// cannot be made up (a failing problem condition).
    fn request_adapter(&mut self, working: &mut CaseState, step: StepIdx) {
        let visit = working.visits.last().map(|v| v.visit).unwrap_or(1);
        // Deterministic: the same case, step and visit always give the same key.
        let key = idempotency_key(&working.case_id, &self.sop.step(step).id, visit);
        match adapter_call(self.sop, step, working, key) {
            Ok(call) => {
                let body = EventBody::AdapterRequested {
                    step: self.sop.step_id(step).clone(),
                    adapter: self.sop.compiled(step).adapter.clone().unwrap_or_default(),
                    idempotency_key: call.idempotency_key.clone(),
                    request: call.request.clone(),
                };
                self.emit(working, body);
                self.effect(Effect::CallAdapter(call));
            }
            Err(e) => self.raise(working, step, e.to_string()),
        }
    }
}

/// `case:step:visit`, the key of a request (as `format!` writes it, without its machinery:
/// one request per service step entered).
fn idempotency_key(case_id: &str, step: &str, visit: u32) -> String {
    let (digits, at) = decimal(visit);
    let mut key = String::with_capacity(case_id.len() + step.len() + 2 + digits.len() - at);
    key.push_str(case_id);
    key.push(':');
    key.push_str(step);
    key.push(':');
    for &d in &digits[at..] {
        key.push(char::from(d));
    }
    key
}

/// Whether `key` is the request key of visit `visit` of `step` (replay checks every
/// recorded key; comparing in place spares it a string per request).
pub(crate) fn is_idempotency_key(key: &str, case_id: &str, step: &str, visit: u32) -> bool {
    let (digits, at) = decimal(visit);
    key.strip_prefix(case_id)
        .and_then(|k| k.strip_prefix(':'))
        .and_then(|k| k.strip_prefix(step))
        .and_then(|k| k.strip_prefix(':'))
        .is_some_and(|k| k.as_bytes() == &digits[at..])
}

/// The decimal digits of `n`: they are `digits[at..]`.
fn decimal(n: u32) -> ([u8; 10], usize) {
    let mut digits = [0u8; 10];
    let mut at = digits.len();
    let mut rest = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    (digits, at)
}

/// An event that did not fit the decider's own state, as the error it is: the event kind
/// and the ids it names (an `ApplyError` carries no case data).
fn internal(e: ApplyError) -> CommandError {
    CommandError::Internal {
        reason: e.to_string(),
    }
}

/// The fields step `step` requires, all holding a value in `data` (the case data as the
/// completion leaves it). Also used by replay to re-check a recorded completion.
pub(crate) fn check_required<D: CaseFields + ?Sized>(
    sop: &Sop,
    step: StepIdx,
    data: &D,
) -> Result<(), CommandError> {
    let missing: Vec<String> = sop
        .step(step)
        .requires
        .iter()
        .filter(|f| data.field(f).is_none_or(Value::is_null))
        .cloned()
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(CommandError::MissingFields {
            step: sop.step(step).id.clone(),
            fields: missing,
        })
    }
}

fn check_outcome(
    step: &str,
    allowed: &[String],
    outcome: Option<&str>,
) -> Result<(), CommandError> {
    let ok = match outcome {
        None => allowed.is_empty(),
        Some(o) => allowed.iter().any(|a| a == o),
    };
    if ok {
        Ok(())
    } else {
        Err(CommandError::InvalidOutcome {
            step: step.to_owned(),
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

/// The due time of the whole case opened at `now` (its total budget, on working time).
/// Also used by replay to re-check it.
pub(crate) fn total_due(
    sop: &Sop,
    calendar: &CaseCalendar,
    now: OffsetDateTime,
) -> Result<Option<OffsetDateTime>, CommandError> {
    let Some(budget) = sop.document().total_budget else {
        return Ok(None);
    };
    calendar
        .due(budget.on(sop::BudgetClock::Working), now)
        .map(Some)
        .map_err(|e| CommandError::NoDueTime {
            step: sop.step(sop.start()).id.clone(),
            reason: format!("the whole case's budget: {e}"),
        })
}

/// The budget clock of entering step `to` from `from` at `now`: the step that owns the
/// budget, and a due time on `calendar` when a new clock starts (`None` while the case stays
/// among the steps that share the clock already running). Also used by replay to re-check
/// it.
pub(crate) fn budget_clock(
    sop: &Sop,
    to: StepIdx,
    from: Option<StepIdx>,
    running: Option<&BudgetClock>,
    now: OffsetDateTime,
    calendar: &CaseCalendar,
) -> Result<BudgetClockEntry, sopflow_calendar::CalendarError> {
    let budget = sop.compiled(to).budget;
    let shares_running_clock = match (budget, from, running) {
        (Some((owner, _)), Some(from), Some(clock)) => {
            sop.compiled(from).budget.map(|(o, _)| o) == Some(owner)
                && *clock.step == *sop.step(owner).id
        }
        _ => false,
    };
    Ok(match budget {
        Some((owner, _)) if shares_running_clock => (Some(sop.step_id(owner).clone()), None),
        Some((owner, rule)) => (
            Some(sop.step_id(owner).clone()),
            Some(calendar.due(rule, now)?),
        ),
        None => (None, None),
    })
}

/// What entering a step records of its budget clock: the owner, and the due time when the
/// clock starts there.
pub(crate) type BudgetClockEntry = (Option<Arc<str>>, Option<OffsetDateTime>);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::decide::start_case;
    use crate::case::event::Actor;

    /// Two tasks and an end, one personal field.
    const SOP: &str = r#"
schema_version: 1
id: uji
header:
  government: G
  unit: U
  number: "1"
  title: Uji
  dates: {}
  approver: { title: Kepala, name: K }
actors: [{ id: petugas, name: Petugas }]
case_schema:
  type: object
  properties:
    nomor: { type: string, x-personal: true }
start: terima
steps:
  - { id: terima, row: 1, kind: task, name: Terima, actor: petugas, next: periksa }
  - { id: periksa, row: 2, kind: task, name: Periksa, actor: petugas, next: selesai }
  - { id: selesai, row: 2, kind: end, name: Selesai, actor: petugas }
"#;

    #[test]
    fn an_idempotency_key_is_case_step_and_visit() {
        for visit in [0, 1, 9, 10, 12_345, u32::MAX] {
            assert_eq!(
                idempotency_key("case-7", "cetak", visit),
                format!("case-7:cetak:{visit}")
            );
            assert!(is_idempotency_key(
                &format!("case-7:cetak:{visit}"),
                "case-7",
                "cetak",
                visit
            ));
        }
        for other in [
            "case-7:cetak:01",
            "case-7:cetak:1 ",
            "case-7:cetak",
            "case-7:ceta:1",
            "case-70:cetak:1",
            "case-7:cetak:11",
        ] {
            assert!(!is_idempotency_key(other, "case-7", "cetak", 1), "{other}");
        }
    }

    #[test]
    fn a_decider_that_contradicts_itself_is_an_internal_error_not_a_conflict() {
        let sop = crate::sop::load(SOP).expect("the SOP loads");
        let ctx = Context {
            now: OffsetDateTime::UNIX_EPOCH,
            actor: Actor::new("petugas-1", "petugas"),
            calendar: Default::default(),
        };
        let mut data = Map::new();
        data.insert("nomor".into(), Value::String("1312990101900001".into()));
        let start = Command::Start {
            case_id: "case-1".into(),
            sop_version: 1,
            data,
            documents: Vec::new(),
            service_point: None,
        };
        let (mut working, _) = start_case(&sop, &start, &ctx).expect("the case starts");
        let mut d = Decider::new(&sop, &ctx);
        // Completing a step the case is not at does not fit the working state: only a bug in
        // the decider could emit it.
        d.emit(
            &mut working,
            EventBody::StepCompleted {
                step: sop
                    .step_id(sop.step_index("periksa").expect("a step"))
                    .clone(),
                outcome: None,
                missing_documents: Vec::new(),
                documents: Vec::new(),
                data: Map::new(),
            },
        );
        match d.finish() {
            Err(CommandError::Internal { reason }) => {
                assert!(reason.contains("step_completed"), "{reason}");
                assert!(reason.contains("periksa"), "{reason}");
                assert!(
                    !reason.contains("1312990101900001"),
                    "no case data: {reason}"
                );
            }
            other => panic!("expected an internal error, got {other:?}"),
        }
    }
}
