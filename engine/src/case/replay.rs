//! Replay with verification: rebuild a case event by event against the SOP version it ran
//! under, and re-check every decision the history records. An auditor's tool: a divergence
//! names the event where the history and the SOP part ways.
//!
//! After an erasure (a closed case's personal values replaced by their salted hashes, the
//! salt gone) replay still re-checks every decision that does not read a personal value, as
//! before: the path through the SOP, budgets and clocks, documents, who recorded what, adapter
//! keys, every guard on other fields. What it can no longer check is what depended on an
//! erased value itself: the schema of that field at the start (it was present: its salted hash
//! is there), and the result of a guard that read it, which stands as recorded, provided the
//! record is of that guard at that place and the value it recorded reading is the case's (the
//! same salted hash). A document condition that reads a personal field is evaluated on the
//! salted hash (SOPs condition documents on other fields: keep it that way).

use std::fmt;
use std::sync::Arc;

use super::CaseVersion;
use super::calendar::{CaseCalendar, describe};
use super::decide::{
    budget_clock, check_data_erased, check_required, choose_branch_replaying,
    confirm_recorded_choice, is_idempotency_key, missing_documents, open_call, total_due,
};
use super::event::{Event, EventBody};
use super::state::{ApplyError, CaseState};
use crate::sop::Sop;
use crate::sop::model::StepKind;

/// Where and why a history does not match its SOP.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Divergence {
    pub seq: CaseVersion,
    pub reason: String,
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "event {}: {}", self.seq, self.reason)
    }
}

impl From<ApplyError> for Divergence {
    fn from(e: ApplyError) -> Self {
        Self {
            seq: e.seq,
            reason: format!("{}: {}", e.kind, e.reason),
        }
    }
}

/// Rebuilds the state from `events`, re-checking each recorded decision against `sop`, for a
/// history without a calendar (always open; a pinned history diverges: use [`verify_on`]).
pub fn verify(sop: &Sop, events: &[Event]) -> Result<CaseState, Divergence> {
    verify_on(sop, &CaseCalendar::always_open(), events)
}

/// [`verify`] on `calendar`, which must be the one the history is pinned to (loaded by the
/// pin's hash): every due time is recomputed on it.
pub fn verify_on(
    sop: &Sop,
    calendar: &CaseCalendar,
    events: &[Event],
) -> Result<CaseState, Divergence> {
    let mut iter = events.iter();
    let first = iter.next().ok_or(Divergence {
        seq: 0,
        reason: "empty history".to_owned(),
    })?;
    let mut state = CaseState::from_first_parts(first.seq, first.at, &first.body)?;
    if let EventBody::CaseStarted {
        sop_id,
        data,
        total_due_at,
        calendar: pinned,
        ..
    } = &first.body
    {
        let diverge = |reason: String| Divergence { seq: 1, reason };
        if pinned.as_ref() != calendar.pin() {
            return Err(diverge(format!(
                "case ran on {}, verified against {}",
                describe(pinned.as_ref()),
                describe(calendar.pin())
            )));
        }
        if sop_id != sop.id() {
            return Err(diverge(format!(
                "case ran on SOP `{sop_id}`, verified against `{}`",
                sop.id()
            )));
        }
        let role = &*first.by.role;
        if !sop.may_record(sop.start(), role) {
            return Err(diverge(format!(
                "case opened by role `{role}`, which may not open it (allowed: {})",
                sop.recorders(sop.start()).join(", ")
            )));
        }
        check_data_erased(sop, data).map_err(|e| diverge(format!("initial data: {e}")))?;
        let expected = total_due(sop, calendar, first.at).map_err(|e| diverge(e.to_string()))?;
        if *total_due_at != expected {
            return Err(diverge(format!(
                "the whole case is due {}, the SOP gives {}",
                at(*total_due_at),
                at(expected)
            )));
        }
    }
    let mut route = Route {
        expected_entry: Some(sop.start()),
        previous_step: None,
        cursor: Cursor::default(),
    };
    // The first event's further facts (v2: the first step's entry), then every other event's,
    // each fact checked on the case as the facts before it left it.
    let mut check_facts = |state: &mut CaseState, event: &Event, facts: &[EventBody]| {
        for fact in facts {
            if let EventBody::StepCompleted {
                documents, data, ..
            } = fact
            {
                // Carried by a v2 completion, judged as recorded before it.
                state.record_inputs(documents, data);
            }
            check_fact(sop, calendar, state, event, fact, &mut route)?;
            state.apply_fact_inputs_taken(event.seq, event.at, fact)?;
        }
        Ok::<(), Divergence>(())
    };
    check_facts(&mut state, first, &first.then)?;
    for event in iter {
        if event.seq != state.version + 1 {
            return Err(Divergence {
                seq: event.seq,
                reason: format!(
                    "{}: expected event {}",
                    event.body.kind(),
                    state.version + 1
                ),
            });
        }
        check_facts(&mut state, event, std::slice::from_ref(&event.body))?;
        check_facts(&mut state, event, &event.then)?;
        state.version = event.seq;
    }
    Ok(state)
}

/// Whether guard evaluations re-made against the SOP are the recorded ones. A v2 record holds
/// no guard text (the SOP's is the one evaluated); a v1 record's text must be the SOP's.
fn same_evaluations(
    evaluated: &[super::event::GuardEvaluation],
    recorded: &[super::event::GuardEvaluation],
) -> bool {
    evaluated.len() == recorded.len()
        && evaluated.iter().zip(recorded).all(|(e, r)| {
            e.branch == r.branch
                && e.result == r.result
                && e.values == r.values
                && (r.guard.is_empty() || r.guard == e.guard)
        })
}

/// Where the history must go next.
struct Route {
    /// The step it must enter next (the start, or a branch's target), if any.
    expected_entry: Option<usize>,
    /// The step entered last.
    previous_step: Option<usize>,
    /// The step the case is at.
    cursor: Cursor,
}

/// The index of the step the case is at, looked up again only when the case moved (a case
/// stays at a step for several facts, and the lookup hashes the step id).
#[derive(Default)]
struct Cursor {
    at: Option<(Arc<str>, Option<usize>)>,
}

impl Cursor {
    fn current(&mut self, sop: &Sop, state: &CaseState) -> Option<usize> {
        let step = state.current_step.as_ref()?;
        match &self.at {
            Some((id, idx)) if Arc::ptr_eq(id, step) => *idx,
            _ => {
                let idx = sop.step_index(step);
                self.at = Some((step.clone(), idx));
                idx
            }
        }
    }
}

/// Checks one recorded fact on the case as the facts before it left it.
fn check_fact(
    sop: &Sop,
    calendar: &CaseCalendar,
    state: &CaseState,
    event: &Event,
    fact: &EventBody,
    route: &mut Route,
) -> Result<(), Divergence> {
    let current = route.cursor.current(sop, state);
    let Route {
        expected_entry,
        previous_step,
        cursor,
    } = route;
    let diverge = |reason: String| Divergence {
        seq: event.seq,
        reason,
    };
    match fact {
        EventBody::StepEntered {
            step,
            visit,
            budget_step,
            due_at,
        } => {
            let idx = sop
                .step_index(step)
                .ok_or_else(|| diverge(format!("unknown step `{step}`")))?;
            if *expected_entry != Some(idx) {
                return Err(diverge(format!(
                    "enters `{step}`, but the SOP leads to {}",
                    expected_entry
                        .map(|i| format!("`{}`", sop.step(i).id))
                        .unwrap_or_else(|| "no step here".into())
                )));
            }
            *expected_entry = None;
            let next_visit = state.next_visit(step);
            if *visit != next_visit {
                return Err(diverge(format!(
                    "visit {visit} of `{step}`, expected {next_visit}"
                )));
            }
            let expected = budget_clock(
                sop,
                idx,
                *previous_step,
                state.clock.as_ref(),
                event.at,
                calendar,
            )
            .map_err(|e| diverge(format!("no due time for `{step}` on the calendar: {e}")))?;
            if (budget_step.clone(), *due_at) != expected {
                return Err(diverge(format!(
                    "the budget clock is recorded as {}, the SOP gives {}",
                    clock(budget_step.as_deref(), *due_at),
                    clock(expected.0.as_deref(), expected.1)
                )));
            }
            *previous_step = Some(idx);
            // The case is at it once the fact is applied (the state holds this very id).
            cursor.at = Some((step.clone(), Some(idx)));
        }
        EventBody::StepCompleted {
            step,
            missing_documents: recorded,
            ..
        } => {
            let idx = current.ok_or_else(|| diverge("no current step".to_owned()))?;
            if *sop.step(idx).id != **step {
                return Err(diverge(format!(
                    "completes `{step}`, the case is at `{}`",
                    sop.step(idx).id
                )));
            }
            let kind = sop.kind(idx);
            // A person's step: recorded by a role that may record it. (A decision completes by
            // itself; a service step by its adapter or, by hand, as decide allows.)
            if kind == StepKind::Task && !sop.may_record(idx, &event.by.role) {
                return Err(diverge(format!(
                    "`{step}` recorded by role `{}`, which may not record it (allowed: {})",
                    event.by.role,
                    sop.recorders(idx).join(", ")
                )));
            }
            if matches!(kind, StepKind::Task | StepKind::Service) {
                check_required(sop, idx, &state.data).map_err(|e| diverge(e.to_string()))?;
            }
            if kind != StepKind::Service && kind != StepKind::Decision {
                let missing = missing_documents(sop, idx, &state.data, &state.documents)
                    .map_err(|e| diverge(format!("document condition: {e}")))?;
                if &missing != recorded {
                    return Err(diverge(format!(
                        "the documents missing are recorded as {}, the SOP gives {}",
                        names(recorded),
                        names(&missing)
                    )));
                }
            }
        }
        EventBody::BranchTaken {
            from,
            to,
            branch,
            evaluations,
            ..
        } => {
            let idx = current.ok_or_else(|| diverge("no current step".to_owned()))?;
            if *sop.step(idx).id != **from || !state.current_completed {
                return Err(diverge(format!(
                    "branches from `{from}`, which is not the completed current step"
                )));
            }
            let outcome = state.visits.last().and_then(|v| v.outcome.as_deref());
            let confirmed = confirm_recorded_choice(
                sop,
                idx,
                &state.data,
                &state.documents,
                outcome,
                evaluations,
            );
            // Confirmed: these very evaluations would be made. Else the choice is made again.
            let (chosen, choice) = match confirmed {
                Some(chosen) => (chosen, None),
                None => {
                    let choice = choose_branch_replaying(
                        sop,
                        idx,
                        &state.data,
                        &state.documents,
                        outcome,
                        evaluations,
                    )
                    .map_err(|e| diverge(format!("guard no longer evaluates: {e}")))?;
                    (choice.branch, Some(choice))
                }
            };
            let target = sop.compiled(idx).branches.get(chosen).map(|b| b.to);
            if chosen != *branch || target.map(|t| sop.step_id(t)) != Some(to) {
                return Err(diverge(format!(
                    "took branch {branch} to `{to}`, the SOP's guards choose branch {} to `{}`",
                    chosen,
                    target.map(|t| sop.step(t).id.as_str()).unwrap_or("?")
                )));
            }
            if let Some(choice) = choice
                && !same_evaluations(&choice.evaluations, evaluations)
            {
                return Err(diverge(
                    "recorded guard values differ from a re-evaluation".to_owned(),
                ));
            }
            *expected_entry = target;
        }
        EventBody::QueueCalled { step, .. } => {
            let idx = current.ok_or_else(|| diverge("no current step".to_owned()))?;
            if *sop.step(idx).id != **step || sop.kind(idx) != StepKind::Queue {
                return Err(diverge(format!(
                    "calls `{step}` from its queue, the case is at `{}`",
                    sop.step(idx).id
                )));
            }
            if !sop.may_record(idx, &event.by.role) {
                return Err(diverge(format!(
                    "`{step}` called by role `{}`, which may not call its queue (allowed: {})",
                    event.by.role,
                    sop.recorders(idx).join(", ")
                )));
            }
        }
        EventBody::QueueRecalled {
            step,
            number,
            counter,
            ..
        }
        | EventBody::QueueNoShow {
            step,
            number,
            counter,
            ..
        }
        | EventBody::QueueTransferred {
            step,
            number,
            from: counter,
            ..
        } => {
            let what = fact.kind();
            let (call, queue) = open_call(sop, state).ok_or_else(|| {
                diverge(format!(
                    "{what}: number {number} is not being called at a counter"
                ))
            })?;
            if *call.step != **step || call.number != *number || call.counter != *counter {
                return Err(diverge(format!(
                    "{what}: number {number} at {} from `{step}`, but {} is called at {} from `{}`",
                    counter.as_deref().unwrap_or("no counter"),
                    call.number,
                    call.counter.as_deref().unwrap_or("no counter"),
                    call.step
                )));
            }
            if !sop.may_record(queue, &event.by.role) {
                return Err(diverge(format!(
                    "{what} by role `{}`, which may not call the queue of `{step}` (allowed: {})",
                    event.by.role,
                    sop.recorders(queue).join(", ")
                )));
            }
            if let EventBody::QueueNoShow {
                no_shows, limit, ..
            } = fact
            {
                if *no_shows != state.no_shows + 1 {
                    return Err(diverge(format!(
                        "no-show {no_shows} of the case, but it had {} before",
                        state.no_shows
                    )));
                }
                // Below the limit the number goes back to its queue; at it the case is
                // cancelled, so no step is entered.
                *expected_entry = (*limit == 0 || no_shows < limit).then_some(queue);
                *previous_step = current;
            }
        }
        EventBody::TimeBudgetExceeded { step, due_at } => {
            let clock = state
                .clock
                .as_ref()
                .ok_or_else(|| diverge("no budget clock is running".to_owned()))?;
            if clock.step != *step
                || clock.due_at != *due_at
                || clock.exceeded
                || event.at <= *due_at
            {
                return Err(diverge(format!(
                    "budget of `{step}` recorded as exceeded at {}, but it was not",
                    event.at
                )));
            }
        }
        EventBody::TotalBudgetExceeded { due_at }
            if state.total_due_at != Some(*due_at)
                || state.total_exceeded
                || event.at <= *due_at =>
        {
            return Err(diverge(
                "total budget recorded as exceeded, but it was not".to_owned(),
            ));
        }
        EventBody::AdapterRequested {
            step,
            idempotency_key,
            ..
        } => {
            let visit = state.visits.last().map(|v| v.visit).unwrap_or(0);
            if !is_idempotency_key(idempotency_key, &state.case_id, step, visit)
                || current.map(|c| sop.kind(c)) != Some(StepKind::Service)
            {
                return Err(diverge(format!(
                    "adapter request `{idempotency_key}` does not fit the step"
                )));
            }
        }
        EventBody::CaseCompleted { end }
            if current.map(|c| sop.kind(c)) != Some(StepKind::End)
                || state.current_step.as_deref() != Some(end) =>
        {
            return Err(diverge(format!(
                "completes at `{end}`, which is not the end step the case reached"
            )));
        }
        EventBody::CaseRegistered { .. } if state.registration_number.is_some() => {
            return Err(diverge("a second registration number".to_owned()));
        }
        EventBody::IncidentResolved { .. } if state.current_completed => {
            // Routing is tried again after a resolved incident.
            *expected_entry = None;
        }
        _ => {}
    }
    Ok(())
}

/// A due time as an auditor reads it (RFC 3339), or `none`.
fn at(time: Option<time::OffsetDateTime>) -> String {
    time.and_then(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    })
    .unwrap_or_else(|| "none".to_owned())
}

/// A budget clock as an auditor reads it: whose, and when due (if it starts here).
fn clock(owner: Option<&str>, due: Option<time::OffsetDateTime>) -> String {
    match (owner, due) {
        (None, _) => "no budget clock".to_owned(),
        (Some(owner), None) => format!("the clock of `{owner}` running on"),
        (Some(owner), Some(_)) => format!("the clock of `{owner}` due {}", at(due)),
    }
}

/// Document ids in a sentence, or `none`.
fn names(ids: &[std::sync::Arc<str>]) -> String {
    if ids.is_empty() {
        return "none".to_owned();
    }
    ids.iter()
        .map(|i| format!("`{i}`"))
        .collect::<Vec<_>>()
        .join(", ")
}
