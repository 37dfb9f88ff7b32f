//! Registration: the number the office gives a case (on the receipt, and to find it again),
//! once, in the transaction that opens it. The runtime draws the number from its counter
//! (per SOP per local day) and the engine records it, as it does queue numbers.

use super::decide::Context;
use super::event::{Event, EventBody};
use super::state::CaseState;

/// Registers an open, unregistered case under `number`: the event (numbered after the case's
/// last one, stamped with the context) and `state` after it. `None` when the case is closed
/// or already has a number: a case has one registration number for life.
pub fn register(state: &mut CaseState, number: String, ctx: &Context) -> Option<Event> {
    if state.status.is_closed() || state.registration_number.is_some() {
        return None;
    }
    let body = EventBody::CaseRegistered { number };
    let mut events = super::stamp(state.version, vec![body], ctx);
    let event = events.pop()?;
    state.apply(&event).ok()?;
    Some(event)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::event::Actor;
    use time::OffsetDateTime;

    fn started() -> CaseState {
        let first = Event {
            v: crate::case::EVENT_FORMAT_VERSION,
            seq: 1,
            at: OffsetDateTime::UNIX_EPOCH,
            by: Actor::new("ani", "petugas"),
            body: EventBody::CaseStarted {
                case_id: "c1".into(),
                sop_id: "s".into(),
                sop_version: 1,
                data: Default::default(),
                total_due_at: None,
                service_point: None,
                sop_content_hash: None,
                calendar: None,
            },
            then: Vec::new(),
        };
        CaseState::from_first(&first).expect("a first event")
    }

    #[test]
    fn a_case_is_registered_once_and_the_number_folds_into_its_state() {
        let mut state = started();
        let ctx = Context::new(OffsetDateTime::UNIX_EPOCH, Actor::system());
        let event = register(&mut state, "S-20260101-0001".into(), &ctx).expect("registered");
        assert_eq!(event.seq, 2);
        assert_eq!(event.body.kind(), "case_registered");
        assert_eq!(
            state.registration_number.as_deref(),
            Some("S-20260101-0001")
        );
        assert_eq!(state.version, 2);
        assert!(register(&mut state, "S-20260101-0002".into(), &ctx).is_none());
        assert_eq!(
            state.registration_number.as_deref(),
            Some("S-20260101-0001")
        );
        let mut replayed = started();
        replayed.apply(&event).expect("the event applies");
        assert_eq!(replayed, state);
    }
}
