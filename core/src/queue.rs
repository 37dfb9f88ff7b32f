//! Queue numbers: how they are drawn and in which order waiting cases are called.
//!
//! A number is drawn from the store's counter for (service point, SOP, queue, local day of
//! the service point) inside the transaction of the command whose case enters the queue, so
//! numbers are consecutive and unique across processes, and a command rolled back gives its
//! number back. Each service point's queues are its own: two offices both call A-001.

use sopflow_engine::case::{CaseState, QueueNumber};
use sopflow_store::Tx;
use time::{Date, OffsetDateTime};

use crate::runtime::RuntimeError;

/// Draws the next number of `queue` of `sop_id` at `point` on its local `day`.
pub async fn draw(
    tx: &mut Tx,
    point: &str,
    sop_id: &str,
    queue: &str,
    prefix: &str,
    day: Date,
) -> Result<QueueNumber, RuntimeError> {
    let key = format!("{point}:{sop_id}:{queue}");
    let n = tx.next_queue_number(&key, day).await?;
    let sequence = u32::try_from(n)
        .map_err(|_| RuntimeError::Corrupt(format!("queue {key}: counter {n} out of range")))?;
    Ok(QueueNumber::new(prefix, sequence))
}

/// Where a waiting case stands in its queue: by the time it entered the queue (a number that
/// nobody came for goes back to the end of the queue: it entered again when it went back),
/// then by number (numbers drawn at the same instant). Numbers restart each local day; the
/// time of entering keeps yesterday's late numbers ahead of today's. `None` for a case
/// without a number yet.
pub fn call_order(state: &CaseState) -> Option<(OffsetDateTime, QueueNumber)> {
    let number: QueueNumber = state.queue_number.as_deref()?.parse().ok()?;
    Some((state.visits.last()?.entered_at, number))
}
