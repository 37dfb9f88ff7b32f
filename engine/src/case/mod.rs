//! Running cases: commands in, events and effects out; state as the fold of events.
//!
//! - [`decide`](decide::decide): the pure decision function;
//! - [`event`]: the facts, with their stable JSON form;
//! - [`state`]: the fold;
//! - [`replay`]: verification of a history against its SOP version.

pub mod chain;
pub mod decide;
pub mod event;
pub mod replay;
pub mod state;

pub use decide::{Command, CommandError, Context, DataError, Decision, Effect, decide};
pub use event::{Actor, DocumentReceipt, EVENT_FORMAT_VERSION, Event, EventBody, GuardEvaluation};
pub use replay::{Divergence, verify};
pub use state::{CaseState, CaseStatus};

use crate::sop::Sop;

/// The outcome of one command: the case after it, the new events (numbered and stamped),
/// and the effects to carry out once they are stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Executed {
    pub state: CaseState,
    pub events: Vec<Event>,
    pub effects: Vec<Effect>,
}

/// Decides `command` and applies its events: the convenience the runtime and tests use.
pub fn execute(
    sop: &Sop,
    state: Option<&CaseState>,
    command: &Command,
    ctx: &Context,
) -> Result<Executed, CommandError> {
    let decision = decide(sop, state, command, ctx)?;
    let events = stamp(state.map_or(0, |s| s.version), decision.events, ctx);
    let mut iter = events.iter();
    let mut next = match state {
        Some(s) => s.clone(),
        None => {
            let first = iter.next().ok_or(CommandError::NotStarted)?;
            CaseState::from_first(first).map_err(|_| CommandError::NotStarted)?
        }
    };
    for event in iter {
        // Decided events fit the state they were decided on; a failure here is a bug in
        // decide, surfaced as a refusal rather than a corrupt case.
        next.apply(event).map_err(|_| CommandError::NotStarted)?;
    }
    Ok(Executed {
        state: next,
        events,
        effects: decision.effects,
    })
}

/// Numbers event bodies after `version` and stamps them with the context's time and actor.
pub fn stamp(version: u64, bodies: Vec<EventBody>, ctx: &Context) -> Vec<Event> {
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| Event {
            v: EVENT_FORMAT_VERSION,
            seq: version + 1 + i as u64,
            at: ctx.now,
            by: ctx.actor.clone(),
            body,
        })
        .collect()
}
