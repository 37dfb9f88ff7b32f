//! Calls of queue numbers to counters, as display boards show them: "A-014 → Loket 3".
//!
//! A command whose events call a number (call, recall, transfer, no-show) records the call in
//! the store's `queue_calls` in its own transaction. Once it has committed, the runtime
//! publishes the call to this process's [`CallHub`], which every open call stream (the REST
//! face's server-sent events, the web pages' boards) listens to. A call carries numbers and
//! counters only, never a name or a case's data.
//!
//! Several processes on one PostgreSQL database: the command's transaction also sends the
//! call with `NOTIFY` (delivered to every listening process when, and only if, it commits, in
//! commit order), and [`relay`] in each process hands on the calls other processes made. This
//! is LISTEN/NOTIFY rather than polling `queue_calls`: polling a table by id misses rows whose
//! ids were taken before a concurrent transaction committed, and every board would cost a
//! query a second. A notification sent while a listener reconnects is lost; the relay then
//! publishes [`Published::Resync`] so boards read the queues again. SQLite serves one
//! process, so there the hub is all.

use serde::{Deserialize, Serialize};
use sopflow_engine::case::{Event, EventBody};
use sopflow_store::{CallKind, NewCall, Notified, Store};
use time::OffsetDateTime;
use tokio::sync::broadcast;

use crate::offices::ServicePoint;

/// The notification channel of calls (the store adds the schema).
pub const CHANNEL: &str = "sopflow_calls";

/// Calls a slow stream may fall behind by before it is told to resynchronise.
const BACKLOG: usize = 1024;

/// One call, as a display board shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    pub service_point: String,
    pub sop_id: String,
    pub queue: String,
    pub number: String,
    /// The counter's id and name (`loket_3`, `Loket 3`); none for a call from no counter.
    pub counter: Option<String>,
    pub counter_name: Option<String>,
    pub kind: CallKind,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// What a call stream receives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    Call(Call),
    /// Calls may have been missed (a stream fell behind, a listener reconnected): read the
    /// queues again.
    Resync,
}

/// What the notification carries: the call and the process that made it (which has
/// published it already).
#[derive(Serialize, Deserialize)]
struct Notice {
    origin: String,
    call: Call,
}

/// This process's calls, for every stream. Cheap to clone.
#[derive(Debug, Clone)]
pub struct CallHub {
    sender: broadcast::Sender<Published>,
    /// Tells this process's notifications from the others'.
    origin: String,
}

impl Default for CallHub {
    fn default() -> Self {
        let (sender, _) = broadcast::channel(BACKLOG);
        let mut bytes = [0u8; 8];
        // Without an entropy source two processes could share an origin; they would then
        // miss each other's calls until a resync, nothing worse.
        let _ = getrandom::fill(&mut bytes);
        Self {
            sender,
            origin: hex::encode(bytes),
        }
    }
}

impl CallHub {
    /// A receiver of every call published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Published> {
        self.sender.subscribe()
    }

    /// Publishes committed calls to this process's streams.
    pub fn publish(&self, calls: &[Call]) {
        for call in calls {
            // No stream open: nobody to tell.
            let _ = self.sender.send(Published::Call(call.clone()));
        }
    }

    fn resync(&self) {
        let _ = self.sender.send(Published::Resync);
    }

    /// The notification that carries `call` to the other processes.
    pub(crate) fn notice(&self, call: &Call) -> Result<String, serde_json::Error> {
        serde_json::to_string(&Notice {
            origin: self.origin.clone(),
            call: call.clone(),
        })
    }
}

/// The calls that `events` (a command's new events) make at `point`, to record with them.
pub fn calls_in(
    events: &[Event],
    case_id: &str,
    sop_id: &str,
    point: &ServicePoint,
) -> Vec<(NewCall, Call)> {
    let mut out = Vec::new();
    for (event, fact) in events.iter().flat_map(|e| e.facts().map(move |f| (e, f))) {
        let (queue, number, counter, kind) = match fact {
            EventBody::QueueCalled {
                queue,
                number,
                counter,
                ..
            } => (queue, number, counter.as_deref(), CallKind::Call),
            EventBody::QueueRecalled {
                queue,
                number,
                counter,
                ..
            } => (queue, number, counter.as_deref(), CallKind::Recall),
            // Shown at the counter it goes to.
            EventBody::QueueTransferred {
                queue, number, to, ..
            } => (queue, number, Some(to.as_str()), CallKind::Transfer),
            EventBody::QueueNoShow {
                queue,
                number,
                counter,
                ..
            } => (queue, number, counter.as_deref(), CallKind::NoShow),
            _ => continue,
        };
        let new = NewCall {
            service_point: point.id.clone(),
            sop_id: sop_id.to_owned(),
            queue: queue.to_string(),
            number: number.clone(),
            counter: counter.map(str::to_owned),
            kind,
            case_id: case_id.to_owned(),
            seq: event.seq,
            at: event.at,
            // The staff member whose command made the call (not a citizen: staff names only).
            called_by: Some(event.by.user.to_string()),
        };
        let call = Call {
            service_point: new.service_point.clone(),
            sop_id: new.sop_id.clone(),
            queue: new.queue.clone(),
            number: new.number.clone(),
            counter: new.counter.clone(),
            counter_name: counter
                .and_then(|c| point.counter(c))
                .map(|c| c.name.clone()),
            kind,
            at: event.at,
        };
        out.push((new, call));
    }
    out
}

/// Hands the calls other processes make on this database to `hub`, until the store closes.
/// A no-op on SQLite.
pub async fn relay(store: Store, hub: CallHub) {
    let mut notes = match store.listen(CHANNEL).await {
        Ok(Some(notes)) => notes,
        Ok(None) => return,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for other processes' calls");
            return;
        }
    };
    loop {
        match notes.recv().await {
            Ok(Notified::Payload(text)) => match serde_json::from_str::<Notice>(&text) {
                Ok(notice) if notice.origin == hub.origin => {}
                Ok(notice) => hub.publish(&[notice.call]),
                Err(e) => tracing::warn!(error = %e, "a call notification that is not a call"),
            },
            Ok(Notified::Reconnected) => hub.resync(),
            // The store is closing: let go of the listener's connection.
            Err(e) if e.is_closed() => return,
            Err(e) => {
                tracing::warn!(error = %e, "listening for calls failed; retrying");
                hub.resync();
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
        }
    }
}
