//! The time-budget timer: finds cases whose budget ran out and records it (`Tick`).
//! Claims are leased in the store, so with several processes each case is ticked once.

use std::time::Duration;

use sopflow_engine::case::{Actor, Command};
use time::OffsetDateTime;

use crate::runtime::{CommandRequest, Runtime};

/// How often the timer looks; budgets are in seconds, so once a second is precise enough.
pub const INTERVAL: Duration = Duration::from_secs(1);
// Short: a claim whose tick wrote nothing (the case moved on meanwhile) holds the case only
// this long; long enough for one pass of a batch.
const LEASE: time::Duration = time::Duration::seconds(5);
const BATCH: u32 = 100;

/// One pass: ticks every case due at `now`. Returns how many were ticked.
pub async fn tick_due(runtime: &Runtime, worker: &str, now: OffsetDateTime) -> usize {
    let due = match runtime
        .store
        .claim_due_cases(worker, now, LEASE, BATCH)
        .await
    {
        Ok(due) => due,
        Err(e) => {
            tracing::warn!(error = %e, "timer: claiming due cases failed");
            return 0;
        }
    };
    let mut ticked = 0;
    for case in due {
        let tick =
            CommandRequest::on_case(case.case_id.clone(), Command::Tick, Actor::system(), now);
        match runtime.run(tick).await {
            Ok(_) => ticked += 1,
            Err(e) => tracing::warn!(case_id = %case.case_id, error = %e, "timer: tick failed"),
        }
    }
    ticked
}

/// Runs the timer until the task is dropped.
pub async fn run(runtime: Runtime, worker: String) {
    let mut interval = tokio::time::interval(INTERVAL);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        tick_due(&runtime, &worker, OffsetDateTime::now_utc()).await;
    }
}
