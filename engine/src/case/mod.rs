//! Running cases: commands in, events and effects out; state as the fold of events.
//!
//! - [`decide`](decide::decide): the pure decision function;
//! - [`event`]: the facts, with their stable JSON form;
//! - [`state`]: the fold;
//! - [`replay`]: verification of a history against its SOP version;
//! - [`register`](register::register): the office's registration number of a case.

pub mod calendar;
pub mod chain;
pub mod decide;
pub mod event;
pub mod queue_number;
pub mod register;
pub mod replay;
pub mod state;

pub use calendar::CaseCalendar;
pub use decide::{Command, CommandError, Context, DataError, Decision, Effect, decide, open_call};
pub use event::{
    Actor, CalendarPin, DocumentReceipt, EVENT_FORMAT_VERSION, Event, EventBody, GuardEvaluation,
};
pub use queue_number::QueueNumber;
pub use register::register;
pub use replay::{Divergence, verify, verify_on};
pub use state::{CaseState, CaseStatus, Documents, OpenCall};

use crate::sop::Sop;

/// The version of an SOP: 1 for its first deployed content, 2 for the next... One type
/// wherever the engine names one; the store's integers are converted at its boundary.
pub type SopVersion = u32;

/// The version of a case: the sequence number of its last event (0 before any). Events
/// count in it (`Event::seq`), and so do the places a history is named by event.
pub type CaseVersion = u64;

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
    let (state, version, decision) = match state {
        None => {
            let (state, decision) = decide::start_case(sop, command, ctx)?;
            (state, 0, decision)
        }
        Some(s) => {
            let mut next = s.clone();
            let decision = decide::decide_in_place(sop, &mut next, command, ctx)?;
            (next, s.version, decision)
        }
    };
    Ok(Executed {
        state,
        events: stamp(version, decision.events, ctx),
        effects: decision.effects,
    })
}

/// The new events and effects of one command (see [`execute_in_place`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Stepped {
    pub events: Vec<Event>,
    pub effects: Vec<Effect>,
}

/// [`execute`] on an open case held by the caller: `state` becomes the case after the new
/// events, without copying it. A refused command leaves `state` as it was. For a caller that
/// owns its cases in memory (a benchmark, a cache): `execute` copies the state first.
pub fn execute_in_place(
    sop: &Sop,
    state: &mut CaseState,
    command: &Command,
    ctx: &Context,
) -> Result<Stepped, CommandError> {
    let version = state.version;
    let decision = decide::decide_in_place(sop, state, command, ctx)?;
    Ok(Stepped {
        events: stamp(version, decision.events, ctx),
        effects: decision.effects,
    })
}

/// The one event (format v2) of a command's facts, numbered after `version` and stamped with
/// the context's time and actor; none when the command made no fact.
pub fn stamp(version: CaseVersion, mut facts: Vec<EventBody>, ctx: &Context) -> Vec<Event> {
    if facts.is_empty() {
        return Vec::new();
    }
    // The first fact is the body; the rest stay in the decision's own vector (a command
    // makes a handful: shifting them is cheaper than a second vector).
    let body = facts.remove(0);
    vec![Event {
        v: EVENT_FORMAT_VERSION,
        seq: version + 1,
        at: ctx.now,
        by: ctx.actor.clone(),
        body,
        then: facts,
    }]
}
