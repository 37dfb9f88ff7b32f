//! The SQLite group-commit writer: SQLite has one writer, so commands queue to one task that
//! runs the waiting ones in one transaction and commits once (one fsync for many commands).

use std::sync::Arc;

use sopflow_store::Savepoint;
use tokio::sync::{mpsc, oneshot};

use super::pipeline::Job;
use super::{Outcome, Runtime, RuntimeError};

/// Most commands committed together. Enough to amortise one fsync over a burst of clients,
/// small enough that no command waits long behind others.
const MAX_BATCH: usize = 64;

/// A job waiting for the group committer, with where to send its outcome.
pub(super) struct Batched {
    pub(super) job: Job,
    pub(super) reply: oneshot::Sender<Result<Outcome, RuntimeError>>,
}

/// Starts the group committer on a thread of its own, with a runtime of its own, so that
/// between its statements it never waits for a shared worker behind request tasks (every
/// command waits for the writer). On the 2-core bench machine this alone made no measurable
/// difference; the benchmarks ran with it. It ends when the last sender is dropped.
pub(super) fn spawn(runtime: Runtime) -> mpsc::UnboundedSender<Batched> {
    let (sender, receiver) = mpsc::unbounded_channel();
    let started = std::thread::Builder::new()
        .name("sopflow-writer".into())
        .spawn(move || {
            match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt.block_on(group_commit(runtime, receiver)),
                Err(e) => tracing::error!(error = %e, "cannot start the writer's runtime"),
            }
        });
    if let Err(e) = started {
        tracing::error!(error = %e, "cannot start the writer thread");
    }
    sender
}

/// The SQLite writer: takes the commands waiting, runs them inside one transaction (a
/// refused command has written nothing, or is rolled back alone to its savepoint), commits
/// once, and only then answers them all. One fsync for many commands, and every answer still
/// means durable.
async fn group_commit(runtime: Runtime, mut receiver: mpsc::UnboundedReceiver<Batched>) {
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match receiver.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        metrics::histogram!("sopflow_commit_batch_size").record(batch.len() as f64);
        let mut tx = match runtime.store.begin().await {
            Ok(tx) => tx,
            Err(e) => {
                let message = format!("cannot begin a transaction: {e}");
                for b in batch {
                    let _ = b.reply.send(Err(RuntimeError::Busy(message.clone())));
                }
                continue;
            }
        };
        let mut done = Vec::with_capacity(batch.len());
        let mut broken = None;
        for b in batch {
            if broken.is_some() {
                done.push((b.reply, Err(RuntimeError::Busy("the batch failed".into()))));
                continue;
            }
            // A command is rolled back alone to its savepoint when it fails after writing.
            // Only a command that answers an Idempotency-Key (a retry of the same key earlier
            // in the batch) or stores files before deciding can fail after a write in the
            // normal course; for the others the savepoint's two statements are saved, and a
            // failure after a write (a broken database, a history written around the store)
            // fails the batch, whose commands are all answered "busy, retry".
            let guarded = b.job.idempotency.is_some() || !b.job.files.is_empty();
            if guarded && let Err(e) = tx.savepoint(Savepoint::Set).await {
                broken = Some(e.to_string());
                done.push((b.reply, Err(RuntimeError::Busy("the batch failed".into()))));
                continue;
            }
            let mut wrote = false;
            let outcome = runtime.execute(&mut tx, &b.job, &mut wrote).await;
            if guarded {
                let closing = if outcome.is_ok() {
                    Savepoint::Release
                } else {
                    Savepoint::RollBack
                };
                let mut closed = tx.savepoint(closing).await;
                if closing == Savepoint::RollBack && closed.is_ok() {
                    closed = tx.savepoint(Savepoint::Release).await;
                }
                if let Err(e) = closed {
                    broken = Some(e.to_string());
                }
            } else if let Err(e) = &outcome
                && wrote
            {
                broken = Some(format!("a command failed after writing: {e}"));
            }
            done.push((b.reply, outcome));
        }
        let committed = match broken {
            Some(reason) => {
                let _ = tx.rollback().await;
                Err(reason)
            }
            None => tx.commit().await.map_err(|e| e.to_string()),
        };
        runtime.committed();
        for (reply, outcome) in done {
            let answer = match (&committed, outcome) {
                (Ok(()), Ok(outcome)) => {
                    runtime.cache.put(Arc::clone(&outcome.case.state));
                    Ok(outcome)
                }
                (Ok(()), Err(e)) => Err(e),
                (Err(reason), _) => {
                    tracing::error!(%reason, "group commit failed; the batch was rolled back");
                    Err(RuntimeError::Busy(format!("the commit failed: {reason}")))
                }
            };
            let _ = reply.send(answer);
        }
    }
}
