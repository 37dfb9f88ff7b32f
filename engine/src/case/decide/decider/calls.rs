//! Calling from counters: a queue's number called to a counter, called again (recall), sent
//! to another counter (transfer), or, when nobody comes, put back at the end of its queue
//! with the same number, or the case cancelled after as many no-shows as the runtime's limit.
//!
//! Recall, transfer and no-show act on a number being called (`CaseState::call`): called,
//! and nobody has begun working the case since (no data, documents or adapter request; only
//! automatic decisions between the queue and the step the case waits at).

use super::Decider;
use crate::case::decide::scope::missing_documents;
use crate::case::decide::types::CommandError;
use crate::case::event::EventBody;
use crate::case::state::{CaseState, OpenCall};
use crate::sop::model::StepKind;
use crate::sop::{Sop, StepIdx};

/// The call a recall, transfer or no-show acts on, and its queue step; `None` when the
/// case's number is not being called (see the module doc). Replay checks the same.
pub fn open_call<'s>(sop: &Sop, state: &'s CaseState) -> Option<(&'s OpenCall, StepIdx)> {
    let call = state.call.as_ref().filter(|c| !c.worked)?;
    if state.status.is_closed() || state.current_completed {
        return None;
    }
    let queue = sop.step_index(&call.step)?;
    let after = state.visits.get(call.visit + 1..)?;
    let (waiting, between) = after.split_last()?;
    let current = state.current_step.as_deref()?;
    let passed_only_decisions = between.iter().all(|v| {
        sop.step_index(&v.step)
            .is_some_and(|i| sop.kind(i) == StepKind::Decision)
    });
    (*waiting.step == *current && passed_only_decisions).then_some((call, queue))
}

impl Decider<'_> {
    pub(super) fn call_from_queue(
        &mut self,
        working: &mut CaseState,
        queue: &str,
        counter: Option<&str>,
    ) -> Result<(), CommandError> {
        let current = self.current(working)?;
        let step = self.sop.step(current);
        if step.kind != StepKind::Queue
            || step.queue.as_deref() != Some(queue)
            || working.current_completed
        {
            return Err(CommandError::NotInQueue {
                queue: queue.to_owned(),
            });
        }
        self.check_role(current)?;
        let number = working
            .queue_number
            .clone()
            .ok_or(CommandError::NoQueueNumber)?;
        let missing = match missing_documents(self.sop, current, &working.data, &working.documents)
        {
            Ok(m) => m,
            Err(e) => {
                self.raise(working, current, e.to_string());
                return Ok(());
            }
        };
        let body = EventBody::QueueCalled {
            step: self.sop.step_id(current).clone(),
            queue: self.sop.compiled(current).queue.clone().unwrap_or_default(),
            number,
            counter: counter.map(str::to_owned),
        };
        self.emit(working, body);
        let body = EventBody::StepCompleted {
            step: self.sop.step_id(current).clone(),
            outcome: None,
            missing_documents: missing.clone(),
            documents: Vec::new(),
            data: serde_json::Map::new(),
        };
        self.emit(working, body);
        self.route(working, current, None, Some(missing));
        Ok(())
    }

    /// The number being called and its queue step, if the actor may call that queue. A role
    /// that calls none of the SOP's queues is refused as such, called number or not.
    fn called(&self, working: &CaseState) -> Result<(OpenCall, StepIdx), CommandError> {
        let Some((call, queue)) = open_call(self.sop, working) else {
            let queues: Vec<StepIdx> = (0..self.sop.step_count())
                .filter(|&i| self.sop.kind(i) == StepKind::Queue)
                .collect();
            let role = &*self.ctx.actor.role;
            return match queues.iter().find(|&&i| self.sop.may_record(i, role)) {
                Some(_) => Err(CommandError::NoOpenCall),
                None => match queues.first() {
                    Some(&first) => self.check_role(first).and(Err(CommandError::NoOpenCall)),
                    None => Err(CommandError::NoOpenCall),
                },
            };
        };
        self.check_role(queue)?;
        Ok((call.clone(), queue))
    }

    pub(super) fn recall(&mut self, working: &mut CaseState) -> Result<(), CommandError> {
        let (call, _) = self.called(working)?;
        let body = EventBody::QueueRecalled {
            step: call.step,
            queue: call.queue,
            number: call.number,
            counter: call.counter,
        };
        self.emit(working, body);
        Ok(())
    }

    pub(super) fn transfer(
        &mut self,
        working: &mut CaseState,
        to: &str,
    ) -> Result<(), CommandError> {
        let (call, _) = self.called(working)?;
        if call.counter.as_deref() == Some(to) {
            return Err(CommandError::SameCounter {
                counter: to.to_owned(),
            });
        }
        let body = EventBody::QueueTransferred {
            step: call.step,
            queue: call.queue,
            number: call.number,
            from: call.counter,
            to: to.to_owned(),
        };
        self.emit(working, body);
        Ok(())
    }

    pub(super) fn no_show(
        &mut self,
        working: &mut CaseState,
        limit: u32,
        reason: Option<&str>,
    ) -> Result<(), CommandError> {
        let (call, queue) = self.called(working)?;
        let current = self.current(working)?;
        let no_shows = working.no_shows.saturating_add(1);
        let number = call.number.clone();
        let body = EventBody::QueueNoShow {
            step: call.step,
            queue: call.queue,
            number: call.number,
            counter: call.counter,
            no_shows,
            limit,
        };
        self.emit(working, body);
        if limit > 0 && no_shows >= limit {
            let said = reason
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            let body = EventBody::CaseCancelled {
                reason: format!(
                    "nobody came for number {number}: {no_shows} no-shows, the limit is {limit}{said}"
                ),
            };
            self.emit(working, body);
            return Ok(());
        }
        // Back to the end of the queue, with the number the applicant holds.
        self.enter_step(working, queue, Some(current));
        let body = EventBody::QueueNumberAssigned {
            step: self.sop.step_id(queue).clone(),
            queue: self.sop.compiled(queue).queue.clone().unwrap_or_default(),
            number,
        };
        self.emit(working, body);
        Ok(())
    }
}
