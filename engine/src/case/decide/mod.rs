//! `decide(sop, state, command, ctx) -> (events, effects)`: the whole behaviour of a case.
//!
//! Pure: the time and the actor come in through [`Context`], the new facts go out as event
//! bodies, and what the world must do (hand out a queue number, call an adapter) goes out as
//! [`Effect`]s for the runtime to carry out. Nothing here fails by panicking: a command that
//! does not fit is a typed [`CommandError`], and a guard that cannot decide becomes an
//! incident on the case.
//!
//! The parts: `types` (commands, effects, decisions, refusals), `decider` (the decision of
//! each command, applying its events to a working state as it goes), `data` (case data
//! against the case schema), `scope` (what a guard sees, document conditions and the memo of
//! their results) and `branch` (the choice of a branch, re-checked by replay).

mod adapter;
mod branch;
mod data;
mod decider;
mod scope;
mod types;

pub use adapter::{adapter_call, pending_call};
pub use branch::{BranchChoice, choose_branch, choose_branch_replaying, confirm_recorded_choice};
pub use data::{CaseFields, check_data, check_data_erased, is_erased};
pub use decider::open_call;
pub(crate) use decider::{budget_clock, check_required, is_idempotency_key, total_due};
pub use scope::{DocumentCheck, DocumentState, document_checklist, missing_documents};
pub use types::{
    AdapterCall, Command, CommandError, Context, DataError, Decision, Effect, PrintLine, Printout,
};

use super::state::CaseState;
use crate::sop::Sop;
use decider::Decider;

/// Decides what `command` does to the case `state` (None before the first event).
pub fn decide(
    sop: &Sop,
    state: Option<&CaseState>,
    command: &Command,
    ctx: &Context,
) -> Result<Decision, CommandError> {
    match state {
        None => start_case(sop, command, ctx).map(|(_, decision)| decision),
        Some(state) => {
            let mut working = state.clone();
            decide_in_place(sop, &mut working, command, ctx)
        }
    }
}

/// Decides the first command of a case (it must be `Start`): the case as of the new events,
/// and the decision.
pub(crate) fn start_case(
    sop: &Sop,
    command: &Command,
    ctx: &Context,
) -> Result<(CaseState, Decision), CommandError> {
    let Command::Start {
        case_id,
        sop_version,
        data,
        documents,
        service_point,
    } = command
    else {
        return Err(CommandError::NotStarted);
    };
    let mut d = Decider::new(sop, ctx);
    let state = d.start(
        case_id,
        *sop_version,
        data,
        documents,
        service_point.clone(),
    )?;
    d.finish().map(|decision| (state, decision))
}

/// Decides `command` on an open history and applies the decided events to `state` as it
/// goes, so that `state` ends as the fold of the history plus the new events. A refused
/// command leaves `state` untouched: every check comes before the first event.
pub(crate) fn decide_in_place(
    sop: &Sop,
    state: &mut CaseState,
    command: &Command,
    ctx: &Context,
) -> Result<Decision, CommandError> {
    if let Command::Start { .. } = command {
        return Err(CommandError::AlreadyStarted);
    }
    let mut d = Decider::new(sop, ctx);
    d.on_case(state, command)?;
    let decision = d.finish()?;
    if !decision.events.is_empty() {
        // The command's facts are one event.
        state.version += 1;
    }
    Ok(decision)
}
