//! Registration numbers and tracking codes: what the receipt (tanda terima) gives a case.
//!
//! - The **registration number** (`KTP-EL-20260312-0007`) runs per SOP per local day of the
//!   office, drawn from the store's counters in the transaction that opens the case (as queue
//!   numbers are: consecutive, unique across processes, given back by a rollback) and recorded
//!   in the case's history (`case_registered`). Officers find a returning applicant by it.
//! - The **tracking code** (`K7QM-3XW9-PT4R`, 60 random bits, see [`crate::codes`]) is the
//!   citizen's key to the public status page. It is stored beside the case, not in its
//!   history: it is a secret of the applicant, not a fact of the case.

use sopflow_engine::case::{Actor, CaseState, Context, Event, register};
use sopflow_store::{CaseReferences, Tx};
use time::macros::format_description;
use time::{OffsetDateTime, UtcOffset};

use crate::runtime::RuntimeError;

/// The counter of an SOP's registration numbers. A `/` never appears in a queue's counter key
/// (`{sop}:{queue}`, ids without slashes), so the two never share a counter.
fn counter_key(sop_id: &str) -> String {
    format!("registration/{sop_id}")
}

/// Registers the new case `state` in `tx`: draws its number, records it as the case's next
/// event (returned, to chain with the others) and returns the references to store.
pub async fn register_new_case(
    tx: &mut Tx,
    state: &mut CaseState,
    now: OffsetDateTime,
    utc_offset: UtcOffset,
) -> Result<(Event, CaseReferences), RuntimeError> {
    let day = now.to_offset(utc_offset).date();
    let n = tx
        .next_queue_number(&counter_key(&state.sop_id), day)
        .await?;
    let date = day
        .format(format_description!("[year][month][day]"))
        .map_err(|e| RuntimeError::Corrupt(format!("day {day}: {e}")))?;
    let number = format!("{}-{date}-{n:04}", state.sop_id.to_uppercase());
    // Registration reads no budget: the calendar does not matter here.
    let ctx = Context::new(now, Actor::system());
    let event = register(state, number.clone(), &ctx)
        .ok_or_else(|| RuntimeError::Corrupt(format!("case {} is registered", state.case_id)))?;
    let tracking_code = crate::codes::new_tracking_code()
        .map_err(|e| RuntimeError::Busy(format!("no randomness: {e}")))?;
    Ok((
        event,
        CaseReferences {
            case_id: state.case_id.clone(),
            registration_number: number,
            tracking_code,
            created_at: now,
        },
    ))
}

/// A registration number as typed: trimmed, upper case.
pub fn normalise_registration_number(typed: &str) -> String {
    typed.trim().to_uppercase()
}
