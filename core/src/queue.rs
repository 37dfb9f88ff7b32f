//! Queue numbers: how they are drawn and in which order waiting cases are called.
//!
//! A number is drawn from the store's counter for (SOP, queue, local day) inside the
//! transaction of the command whose case enters the queue, so numbers are consecutive and
//! unique across processes, and a command rolled back gives its number back.

use sopflow_engine::case::{CaseState, QueueNumber};
use sopflow_store::Tx;
use time::{Date, UtcOffset};

use crate::runtime::RuntimeError;

/// Draws the next number of `queue` of `sop_id` on the office's local `day`.
pub async fn draw(
    tx: &mut Tx,
    sop_id: &str,
    queue: &str,
    prefix: &str,
    day: Date,
) -> Result<QueueNumber, RuntimeError> {
    let key = format!("{sop_id}:{queue}");
    let n = tx.next_queue_number(&key, day).await?;
    let sequence = u32::try_from(n)
        .map_err(|_| RuntimeError::Corrupt(format!("queue {key}: counter {n} out of range")))?;
    Ok(QueueNumber::new(prefix, sequence))
}

/// Where a waiting case stands in its queue: numbers restart each local day, so the day of
/// entering comes first, then the number. `None` for a case without a number yet.
pub fn call_order(state: &CaseState, utc_offset: UtcOffset) -> Option<(Date, QueueNumber)> {
    let number: QueueNumber = state.queue_number.as_deref()?.parse().ok()?;
    let day = state.visits.last()?.entered_at.to_offset(utc_offset).date();
    Some((day, number))
}

/// A number called at a counter, as display boards announce it: numbers only, never a name
/// or a case id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueCall {
    pub queue: String,
    pub queue_name: String,
    pub number: String,
    /// The counter (loket) that called, when the officer chose one.
    pub counter: Option<String>,
    pub at: time::OffsetDateTime,
    /// Whether this is a recall of a number already called.
    pub recall: bool,
}

/// The calls of this process, announced after each committed call: a broadcast for the
/// boards' event streams, and the last few for a board that (re)connects.
///
/// Per process: with several `sopflow` processes on one PostgreSQL, a board sees the calls
/// made through the process it is connected to (a shared call stream comes with counters and
/// service points).
#[derive(Clone)]
pub struct CallBoard {
    sender: tokio::sync::broadcast::Sender<QueueCall>,
    recent: std::sync::Arc<std::sync::Mutex<std::collections::VecDeque<QueueCall>>>,
}

impl Default for CallBoard {
    fn default() -> Self {
        // A board that falls this far behind skips to the newest calls (it is told it lagged).
        let (sender, _) = tokio::sync::broadcast::channel(64);
        Self {
            sender,
            recent: Default::default(),
        }
    }
}

impl CallBoard {
    /// How many past calls a board shows.
    pub const RECENT: usize = 10;

    /// Announces a committed call.
    pub fn publish(&self, call: QueueCall) {
        {
            let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
            recent.push_front(call.clone());
            recent.truncate(Self::RECENT);
        }
        // No board listening is not an error.
        let _ = self.sender.send(call);
    }

    /// The last calls, newest first.
    pub fn recent(&self) -> Vec<QueueCall> {
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        recent.iter().cloned().collect()
    }

    /// Calls from now on.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<QueueCall> {
        self.sender.subscribe()
    }
}
