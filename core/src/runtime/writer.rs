//! The group committer: commands queue to it, and it runs the waiting ones in one transaction
//! and commits once (one flush to disk for many commands), each command under a savepoint
//! where it may fail after writing, so that it is undone alone and every command gets its own
//! answer, given only after the commit.
//!
//! - SQLite has one writer: one committer, on a thread of its own.
//! - PostgreSQL: [`PG_COMMITTERS`] committers per process, each on a pooled connection, take
//!   turns at the queue; while one commits, another runs its batch. Every command runs under
//!   a savepoint (a failed statement aborts a PostgreSQL transaction). The batch's log leaves
//!   are added at its end, so the log's size row, which serialises every appending
//!   transaction, is held only for the last statements and the commit, and never while a
//!   batch waits for a case row. After its first command a batch waits at most
//!   [`PG_LATER_LOCK_WAIT_MS`] for a lock another transaction holds: it never keeps the
//!   locks of its earlier commands long behind another process, and two batches that wait for
//!   each other part at once. Such a command is undone alone and runs again first in the
//!   committer's next batch, where it waits as a transaction of its own would. A conflict with
//!   another process stays what it was: the case row is locked (`FOR UPDATE`) before the
//!   command is decided and the append checks the version, so the loser gets the conflict.

use std::collections::VecDeque;
use std::sync::Arc;

use sopflow_store::{Savepoint, Tx};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::pipeline::{Executed, Job};
use super::{Outcome, Runtime, RuntimeError};

/// Most commands committed together on SQLite. Enough to amortise one fsync over a burst of
/// clients, small enough that no command waits long behind others.
const MAX_BATCH: usize = 64;

/// Committers per process on PostgreSQL: one runs its batch while another commits. Half the
/// pool (`MAX_CONNECTIONS`, 8): reads outside transactions keep the rest.
pub(super) const PG_COMMITTERS: usize = 4;

/// Most commands per batch on PostgreSQL. Each command there is a few round trips to the
/// server, on one connection: more would make the first commands wait for the last.
const PG_MAX_BATCH: usize = 16;

/// How long a command after a batch's first waits for a lock held by another transaction
/// before it is undone and run again in the next batch. About one commit of another batch.
pub(super) const PG_LATER_LOCK_WAIT_MS: u32 = 20;

/// How many times a command is run again after waiting too long for a lock before it is
/// answered "busy, retry".
const MAX_RERUNS: u8 = 3;

/// A job waiting for the group committer, with where to send its outcome (`None`: a call
/// with nobody waiting).
pub(super) struct Batched {
    pub(super) job: Job,
    pub(super) reply: oneshot::Sender<Result<Option<Outcome>, RuntimeError>>,
}

/// How a backend's batches run.
#[derive(Clone, Copy)]
struct Policy {
    max_batch: usize,
    /// Every command under a savepoint (PostgreSQL), else only those that may fail after
    /// writing (SQLite: one writer, nothing else can get in the way of a command).
    always_guarded: bool,
    /// Lock waits of the commands after a batch's first (PostgreSQL).
    later_lock_wait_ms: Option<u32>,
}

const SQLITE: Policy = Policy {
    max_batch: MAX_BATCH,
    always_guarded: false,
    later_lock_wait_ms: None,
};

const POSTGRES: Policy = Policy {
    max_batch: PG_MAX_BATCH,
    always_guarded: true,
    later_lock_wait_ms: Some(PG_LATER_LOCK_WAIT_MS),
};

type Queue = Arc<Mutex<mpsc::UnboundedReceiver<Batched>>>;

/// Starts the group committer(s). SQLite's runs on a thread of its own, with a runtime of
/// its own, so that between its statements it never waits for a shared worker behind request
/// tasks (every command waits for the writer). PostgreSQL's are tasks of the caller's tokio
/// runtime (its connections belong to that runtime's reactor). They end when the last sender
/// is dropped.
pub(super) fn spawn(runtime: Runtime) -> mpsc::UnboundedSender<Batched> {
    let (sender, receiver) = mpsc::unbounded_channel();
    let queue: Queue = Arc::new(Mutex::new(receiver));
    if runtime.store.backend() == "sqlite" {
        let started = std::thread::Builder::new()
            .name("sopflow-writer".into())
            .spawn(move || {
                match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt.block_on(group_commit(runtime, SQLITE, queue)),
                    Err(e) => tracing::error!(error = %e, "cannot start the writer's runtime"),
                }
            });
        if let Err(e) = started {
            tracing::error!(error = %e, "cannot start the writer thread");
        }
    } else {
        for _ in 0..PG_COMMITTERS {
            tokio::spawn(group_commit(runtime.clone(), POSTGRES, queue.clone()));
        }
    }
    sender
}

/// A job of a batch, with how many times it was run again.
struct Pending {
    batched: Batched,
    reruns: u8,
}

/// One committer: takes the commands waiting (first those it must run again), runs them
/// inside one transaction, commits once, and only then answers them all. Every answer still
/// means durable.
async fn group_commit(runtime: Runtime, policy: Policy, queue: Queue) {
    let mut again: VecDeque<Pending> = VecDeque::new();
    loop {
        let mut batch: Vec<Pending> = Vec::with_capacity(policy.max_batch);
        while batch.len() < policy.max_batch
            && let Some(p) = again.pop_front()
        {
            batch.push(p);
        }
        if batch.is_empty() {
            let mut receiver = queue.lock().await;
            match receiver.recv().await {
                Some(first) => batch.push(Pending {
                    batched: first,
                    reruns: 0,
                }),
                None => return,
            }
            fill(&mut receiver, &mut batch, policy.max_batch);
        } else if let Ok(mut receiver) = queue.try_lock() {
            // With commands to run again, never wait for the queue: an idle committer holds
            // it while it waits for a new command, which may never come while these wait.
            fill(&mut receiver, &mut batch, policy.max_batch);
        }
        metrics::histogram!("sopflow_commit_batch_size").record(batch.len() as f64);
        again.extend(run_batch(&runtime, policy, batch).await);
    }
}

/// Adds the commands waiting in the queue to `batch`, up to `max`, without waiting.
fn fill(receiver: &mut mpsc::UnboundedReceiver<Batched>, batch: &mut Vec<Pending>, max: usize) {
    while batch.len() < max {
        match receiver.try_recv() {
            Ok(next) => batch.push(Pending {
                batched: next,
                reruns: 0,
            }),
            Err(_) => break,
        }
    }
}

/// Runs one batch and answers its commands; returns those to run again (they waited too
/// long for a lock another transaction holds, and were undone).
async fn run_batch(runtime: &Runtime, policy: Policy, batch: Vec<Pending>) -> Vec<Pending> {
    let mut tx = match runtime.store.begin().await {
        Ok(tx) => tx,
        Err(e) => {
            let message = format!("cannot begin a transaction: {e}");
            for p in batch {
                let _ = p
                    .batched
                    .reply
                    .send(Err(RuntimeError::Busy(message.clone())));
            }
            return Vec::new();
        }
    };
    tx.defer_to_commit();
    read_ahead(&mut tx, &batch).await;
    let count = batch.len();
    let mut done = Vec::with_capacity(count);
    let mut again = Vec::new();
    let mut broken = None;
    // Whether the savepoint of the command before is still open (PostgreSQL: always after
    // the first command), and whether that command succeeded.
    let mut open_savepoint: Option<bool> = None;
    for (i, p) in batch.into_iter().enumerate() {
        let Batched { job, reply } = p.batched;
        if broken.is_some() {
            done.push((
                reply,
                Err(RuntimeError::Busy("the batch failed".into())),
                None,
            ));
            continue;
        }
        // A command is rolled back alone to its savepoint when it fails after writing. On
        // SQLite only a command that answers an Idempotency-Key (a retry of the same key
        // earlier in the batch) or stores files before deciding can fail after a write in
        // the normal course (and a sequence, whose later command may be refused after the
        // first drew numbers); for the others the savepoint's statements are saved, and a
        // failure after a write (a broken database, a history written around the store)
        // fails the batch, whose commands are all answered "busy, retry".
        let guarded = policy.always_guarded
            || job.idempotency.is_some()
            || !job.files.is_empty()
            || !job.then.is_empty();
        if guarded {
            let set = match open_savepoint.take() {
                // PostgreSQL: the savepoint of the command before is closed and this one's set
                // in one round trip; from the second command on, lock waits are bounded.
                Some(succeeded) => {
                    let bound = policy.later_lock_wait_ms.filter(|_| i == 1);
                    tx.next_command(succeeded, bound).await
                }
                None => tx.savepoint(Savepoint::Set).await,
            };
            if let Err(e) = set {
                broken = Some(e.to_string());
                done.push((
                    reply,
                    Err(RuntimeError::Busy("the batch failed".into())),
                    None,
                ));
                continue;
            }
        }
        let mut wrote = false;
        let (outcome, tip) = match runtime.execute(&mut tx, &job, &mut wrote).await {
            Ok(Executed { outcome, tip }) => (Ok(outcome), tip),
            Err(e) => (Err(e), None),
        };
        if guarded {
            let closed = if !policy.always_guarded {
                close_savepoint(&mut tx, outcome.is_ok()).await
            } else if i + 1 < count {
                // Closed by the next command's `next_command`, in the same round trip.
                open_savepoint = Some(outcome.is_ok());
                Ok(())
            } else if outcome.is_err() {
                // The last one: undone before the commit (which ends a savepoint kept).
                tx.savepoint(Savepoint::RollBack).await
            } else {
                Ok(())
            };
            if let Err(e) = closed {
                broken = Some(e.to_string());
            }
        } else if let Err(e) = &outcome
            && wrote
        {
            broken = Some(format!("a command failed after writing: {e}"));
        }
        match outcome {
            Err(RuntimeError::Store(e)) if e.is_lock_wait() && p.reruns < MAX_RERUNS => {
                again.push(Pending {
                    batched: Batched { job, reply },
                    reruns: p.reruns + 1,
                });
            }
            Err(RuntimeError::Store(e)) if e.is_lock_wait() => done.push((
                reply,
                Err(RuntimeError::Busy(format!(
                    "the case is held by another transaction: {e}"
                ))),
                None,
            )),
            outcome => done.push((reply, outcome, tip)),
        }
    }
    let committed = match broken {
        Some(reason) => {
            let _ = tx.rollback().await;
            Err(reason)
        }
        None => tx.commit().await.map_err(|e| e.to_string()),
    };
    runtime.committed();
    if committed.is_err() {
        // Nothing of the batch is stored: the commands to run again are answered too.
        for p in again.drain(..) {
            done.push((
                p.batched.reply,
                Err(RuntimeError::Busy("the batch failed".into())),
                None,
            ));
        }
    }
    for (reply, outcome, tip) in done {
        let answer = match (&committed, outcome) {
            (Ok(()), Ok(outcome)) => {
                // Committed: the next command on the case may be decided on it ahead.
                match tip {
                    Some(tip) => runtime.cache.put_tip(tip),
                    None => {
                        if let Some(outcome) = &outcome {
                            runtime.cache.put(Arc::clone(&outcome.case.state));
                        }
                    }
                }
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
    again
}

/// Reads the cases the batch's commands work on in one statement, where the store allows it
/// (see [`Tx::read_ahead`]): one round trip instead of one per command.
async fn read_ahead(tx: &mut Tx, batch: &[Pending]) {
    let mut ids: Vec<&str> = batch
        .iter()
        .filter_map(|p| p.batched.job.existing_case())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.len() < 2 {
        return;
    }
    // Only a shortcut: a command whose case was not read ahead reads it itself, and meets
    // whatever made this read fail.
    if let Err(e) = tx.read_ahead(&ids).await {
        tracing::debug!(error = %e, "the batch's cases were not read ahead");
    }
}

/// Ends a command's savepoint: released, or rolled back to and released.
async fn close_savepoint(tx: &mut Tx, succeeded: bool) -> Result<(), sopflow_store::Error> {
    if succeeded {
        return tx.savepoint(Savepoint::Release).await;
    }
    tx.savepoint(Savepoint::RollBack).await?;
    tx.savepoint(Savepoint::Release).await
}

#[cfg(test)]
mod tests {
    //! Batches run by hand (as the committer runs them, without its timing): one command that
    //! conflicts is undone alone and the others commit, each answered; on PostgreSQL a later
    //! command that waits for a case another process holds runs again in the next batch and,
    //! when that process moved the case meanwhile, gets the conflict it would have got alone.

    #![allow(clippy::unwrap_used)]

    use serde_json::{Map, json};
    use sopflow_engine::case::{Command, DocumentReceipt};
    use sopflow_store::Store;
    use sopflow_store::testing::{Backend, TestDb};
    use time::{OffsetDateTime, UtcOffset};
    use tokio::sync::oneshot;

    use super::{Batched, Job, POSTGRES, Pending, Policy, SQLITE, group_commit, run_batch};
    use crate::auth::User;
    use crate::calendars::Calendars;
    use crate::offices::{DEFAULT_POINT, Offices};
    use crate::registry::Registry;
    use crate::runtime::{CommandRequest, Outcome, Runtime, RuntimeError};

    const KTP_EL: &str = include_str!("../../../sop-definitions/ktp-el.yaml");

    type Answer = oneshot::Receiver<Result<Option<Outcome>, RuntimeError>>;

    async fn runtime_on(store: Store, defs: &std::path::Path) -> Runtime {
        let registry = Registry::default();
        assert!(registry.sync_dir(&store, defs).await.is_empty());
        let offices = Offices::start(&store, &[], "Asia/Jakarta", OffsetDateTime::now_utc())
            .await
            .unwrap();
        Runtime::new(
            store,
            registry,
            UtcOffset::from_hms(7, 0, 0).unwrap(),
            offices,
            Calendars::default(),
        )
    }

    fn petugas() -> User {
        User::new("siti", "petugas_antrian", Vec::new(), DEFAULT_POINT)
    }

    /// A case opened and handed in: at the file check, version 4 or so.
    async fn case_at_check(runtime: &Runtime, i: usize) -> (String, u64) {
        let (case_id, _) = case_opened(runtime, i).await;
        let done = runtime.run(hand_in(&case_id)).await.unwrap();
        assert_eq!(
            done.case.state.current_step.as_deref(),
            Some("verifikasi_berkas")
        );
        (case_id, done.case.state.version)
    }

    /// `job` as the committer takes it from the queue, with where its answer comes.
    fn pending(job: Job) -> (Pending, Answer) {
        let (reply, answer) = oneshot::channel();
        let pending = Pending {
            batched: Batched { job, reply },
            reruns: 0,
        };
        (pending, answer)
    }

    /// The file check of `case_id`, if it is at `expected` (any version with `None`).
    async fn check(runtime: &Runtime, case_id: &str, expected: Option<u64>) -> (Pending, Answer) {
        let siti = petugas();
        let verify = Command::CompleteStep {
            step: "verifikasi_berkas".into(),
            data: Map::new(),
            documents: Vec::new(),
            outcome: None,
        };
        let request =
            CommandRequest::on_case(case_id, verify, siti.actor(), OffsetDateTime::now_utc())
                .by(&siti)
                .expected_version(expected);
        pending(runtime.job(request).await.unwrap())
    }

    /// A case just opened, at the hand-in: its id and version.
    async fn case_opened(runtime: &Runtime, i: usize) -> (String, u64) {
        let siti = petugas();
        let data = json!({
            "nik": format!("13129901029{i:05}"),
            "nama_lengkap": format!("Pemohon Uji {i}"),
            "alasan": "baru",
        });
        let start = CommandRequest::start(
            "ktp-el",
            data.as_object().cloned().unwrap(),
            Vec::new(),
            siti.actor(),
            OffsetDateTime::now_utc(),
        )
        .by(&siti);
        let opened = runtime.run(start).await.unwrap();
        (opened.case.state.case_id.clone(), opened.case.state.version)
    }

    /// The hand-in of `case_id` (no number to draw: the file check follows), as a request.
    fn hand_in(case_id: &str) -> CommandRequest {
        let siti = petugas();
        let hand_in = Command::CompleteStep {
            step: "serahkan_berkas".into(),
            data: Map::new(),
            documents: vec![DocumentReceipt {
                doc: "fotokopi_kk".into(),
                number: None,
                received: true,
                sha256: None,
            }],
            outcome: None,
        };
        CommandRequest::on_case(case_id, hand_in, siti.actor(), OffsetDateTime::now_utc()).by(&siti)
    }

    /// [`hand_in`], decided ahead on the case as this process last committed it.
    async fn hand_in_ahead(runtime: &Runtime, case_id: &str) -> (Pending, Answer) {
        let mut job = runtime.job(hand_in(case_id)).await.unwrap();
        job.prepared = runtime.prepare(&job).await;
        assert!(job.prepared.is_some(), "decided ahead on the cached case");
        pending(job)
    }

    /// Every stored event chains to the one before and hashes to what is stored, and the
    /// history folds to the projection's version: as the auditor checks it.
    async fn history_holds(runtime: &Runtime, case_id: &str) {
        let stored = runtime.store.events(case_id).await.unwrap();
        let events = crate::runtime::decode(&stored).unwrap();
        let salt = runtime.store.case_salt(case_id).await.unwrap().unwrap();
        let record = runtime.store.case(case_id).await.unwrap().unwrap();
        let deployed = runtime
            .registry
            .get(&runtime.store, &record.sop_id, record.sop_version)
            .await
            .unwrap()
            .unwrap();
        let links = events
            .iter()
            .zip(&stored)
            .map(|(e, s)| (e, s.prev_hash.as_str(), s.hash.as_str()));
        let head =
            sopflow_engine::case::chain::verify_chain(links, deployed.sop.personal_fields(), &salt)
                .unwrap();
        assert_eq!(head, record.head_hash);
        let state = sopflow_engine::case::CaseState::replay(&events).unwrap();
        assert_eq!(state.version, record.version);
    }

    async fn step_of(runtime: &Runtime, case_id: &str) -> Option<String> {
        runtime
            .store
            .case(case_id)
            .await
            .unwrap()
            .unwrap()
            .current_step
    }

    /// Every event has its leaf, and only those: the log's size is the sum of the versions.
    async fn log_covers(runtime: &Runtime, cases: &[&str]) {
        let mut events = 0;
        for case_id in cases {
            events += runtime.store.case(case_id).await.unwrap().unwrap().version;
        }
        let size = runtime.store.log_size().await.unwrap();
        assert_eq!(u64::try_from(size).unwrap(), events);
    }

    async fn one_conflict_in_a_batch_leaves_the_others(db: &TestDb, policy: Policy) {
        let defs = tempfile::tempdir().unwrap();
        std::fs::write(defs.path().join("ktp-el.yaml"), KTP_EL).unwrap();
        let runtime = runtime_on(db.store().await, defs.path()).await;
        let (a, va) = case_at_check(&runtime, 1).await;
        let (b, vb) = case_at_check(&runtime, 2).await;
        let (c, _) = case_at_check(&runtime, 3).await;
        let (ja, answer_a) = check(&runtime, &a, Some(va)).await;
        // A stale screen: B is not at the version the client saw.
        let (jb, answer_b) = check(&runtime, &b, Some(vb - 1)).await;
        let (jc, answer_c) = check(&runtime, &c, None).await;
        let again = run_batch(&runtime, policy, vec![ja, jb, jc]).await;
        assert!(again.is_empty());
        let a_done = answer_a.await.unwrap().unwrap().unwrap();
        assert_eq!(
            a_done.case.state.current_step.as_deref(),
            Some("tunggu_antrian")
        );
        match answer_b.await.unwrap() {
            Err(RuntimeError::Conflict {
                current_version, ..
            }) => assert_eq!(current_version, vb),
            other => panic!("expected the conflict, got {other:?}"),
        }
        let c_done = answer_c.await.unwrap().unwrap().unwrap();
        assert_eq!(
            c_done.case.state.current_step.as_deref(),
            Some("tunggu_antrian")
        );
        assert_eq!(
            step_of(&runtime, &a).await.as_deref(),
            Some("tunggu_antrian")
        );
        assert_eq!(
            step_of(&runtime, &b).await.as_deref(),
            Some("verifikasi_berkas")
        );
        assert_eq!(
            step_of(&runtime, &c).await.as_deref(),
            Some("tunggu_antrian")
        );
        // The conflicting command's last in a batch too: undone before the commit.
        let (jb, answer_b) = check(&runtime, &b, Some(vb - 1)).await;
        let (jb2, answer_b2) = check(&runtime, &b, Some(vb)).await;
        let (jb3, answer_b3) = check(&runtime, &b, Some(vb)).await;
        let again = run_batch(&runtime, policy, vec![jb, jb2, jb3]).await;
        assert!(again.is_empty());
        assert!(matches!(
            answer_b.await.unwrap(),
            Err(RuntimeError::Conflict { .. })
        ));
        assert!(answer_b2.await.unwrap().unwrap().is_some());
        // The same check again: the case has moved on.
        assert!(matches!(
            answer_b3.await.unwrap(),
            Err(RuntimeError::Conflict { .. })
        ));
        log_covers(&runtime, &[&a, &b, &c]).await;
    }

    /// A command decided ahead is written as decided when its case has not moved; when the
    /// case moved meanwhile (here: the same hand-in, given first by another request), it is
    /// decided again on the case as stored, and refused as it would be alone. Either way the
    /// history chains and folds. One that draws a number is decided in the transaction only.
    async fn decided_ahead_only_on_the_case_as_it_still_is(db: &TestDb, policy: Policy) {
        let defs = tempfile::tempdir().unwrap();
        std::fs::write(defs.path().join("ktp-el.yaml"), KTP_EL).unwrap();
        let runtime = runtime_on(db.store().await, defs.path()).await;
        let (a, va) = case_opened(&runtime, 1).await;
        let (b, vb) = case_opened(&runtime, 2).await;

        let (ja, answer_a) = hand_in_ahead(&runtime, &a).await;
        let (jb, answer_b) = hand_in_ahead(&runtime, &b).await;
        let moved = runtime.run(hand_in(&b)).await.unwrap();
        assert!(moved.case.state.version > vb);

        let again = run_batch(&runtime, policy, vec![ja, jb]).await;
        assert!(again.is_empty());
        let a_done = answer_a.await.unwrap().unwrap().unwrap();
        assert_eq!(
            a_done.case.state.current_step.as_deref(),
            Some("verifikasi_berkas")
        );
        assert!(a_done.case.state.version > va);
        let stored = runtime.store.case(&a).await.unwrap().unwrap();
        assert_eq!(stored.version, a_done.case.state.version);
        match answer_b.await.unwrap() {
            Err(RuntimeError::Command {
                current_version, ..
            }) => assert_eq!(current_version, moved.case.state.version),
            other => panic!("expected the engine's refusal, got {other:?}"),
        }
        assert_eq!(
            runtime.store.case(&b).await.unwrap().unwrap().version,
            moved.case.state.version
        );
        // The file check draws a queue number: not decided ahead, decided in the batch, on
        // the tip the batch above left.
        let (mut check_a, answer) = check(&runtime, &a, None).await;
        assert!(runtime.prepare(&check_a.batched.job).await.is_none());
        check_a.batched.job.prepared = None;
        assert!(run_batch(&runtime, policy, vec![check_a]).await.is_empty());
        let checked = answer.await.unwrap().unwrap().unwrap();
        assert_eq!(
            checked.case.state.current_step.as_deref(),
            Some("tunggu_antrian")
        );
        assert!(checked.case.state.queue_number.is_some());
        for case in [&a, &b] {
            history_holds(&runtime, case).await;
        }
        log_covers(&runtime, &[&a, &b]).await;
    }

    #[tokio::test]
    async fn sqlite_decided_ahead() {
        let db = TestDb::new(Backend::Sqlite).await.unwrap();
        decided_ahead_only_on_the_case_as_it_still_is(&db, SQLITE).await;
        db.cleanup().await;
    }

    #[tokio::test]
    async fn postgres_decided_ahead() {
        let Some(db) = TestDb::new(Backend::Postgres).await else {
            return;
        };
        decided_ahead_only_on_the_case_as_it_still_is(&db, POSTGRES).await;
        db.cleanup().await;
    }

    #[tokio::test]
    async fn sqlite_batch_with_a_conflict() {
        let db = TestDb::new(Backend::Sqlite).await.unwrap();
        one_conflict_in_a_batch_leaves_the_others(&db, SQLITE).await;
        db.cleanup().await;
    }

    #[tokio::test]
    async fn postgres_batch_with_a_conflict() {
        let Some(db) = TestDb::new(Backend::Postgres).await else {
            return;
        };
        one_conflict_in_a_batch_leaves_the_others(&db, POSTGRES).await;
        db.cleanup().await;
    }

    /// Another process holds case B while a batch runs [A, B, C]: A and C commit without
    /// waiting for it, B is undone and handed back to run again. That process then moves B
    /// on: B's command, run again, gets the conflict, as it would have alone.
    #[tokio::test]
    async fn postgres_later_command_behind_another_process() {
        let Some(db) = TestDb::new(Backend::Postgres).await else {
            return;
        };
        let defs = tempfile::tempdir().unwrap();
        std::fs::write(defs.path().join("ktp-el.yaml"), KTP_EL).unwrap();
        let one = runtime_on(db.store().await, defs.path()).await;
        let other = runtime_on(db.store().await, defs.path()).await;
        let (a, _) = case_at_check(&one, 1).await;
        let (b, vb) = case_at_check(&one, 2).await;
        let (c, _) = case_at_check(&one, 3).await;

        let mut held = other.store.begin().await.unwrap();
        assert!(held.case(&b).await.unwrap().is_some());
        let (ja, answer_a) = check(&one, &a, None).await;
        let (jb, mut answer_b) = check(&one, &b, Some(vb)).await;
        let (jc, answer_c) = check(&one, &c, None).await;
        let again = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            run_batch(&one, POSTGRES, vec![ja, jb, jc]),
        )
        .await
        .expect("the batch does not wait for the other process");
        assert_eq!(again.len(), 1, "B is handed back to run again");
        assert_eq!(again[0].reruns, 1);
        assert!(answer_a.await.unwrap().unwrap().is_some());
        assert!(answer_c.await.unwrap().unwrap().is_some());
        assert!(answer_b.try_recv().is_err(), "B is not answered yet");
        held.rollback().await.unwrap();

        // The other process checks B first.
        let (jo, answer_o) = check(&other, &b, Some(vb)).await;
        assert!(run_batch(&other, POSTGRES, vec![jo]).await.is_empty());
        assert!(answer_o.await.unwrap().unwrap().is_some());
        assert!(run_batch(&one, POSTGRES, again).await.is_empty());
        match answer_b.await.unwrap() {
            Err(RuntimeError::Conflict {
                current_version, ..
            }) => assert!(current_version > vb),
            other => panic!("expected the conflict, got {other:?}"),
        }
        log_covers(&one, &[&a, &b, &c]).await;
        db.cleanup().await;
    }

    /// A committer with a command to run again does not wait for the queue, which an idle
    /// committer holds while it waits for a new command (none comes while the clients wait
    /// for their answers).
    #[tokio::test]
    async fn postgres_command_run_again_is_not_stuck_behind_an_idle_committer() {
        let Some(db) = TestDb::new(Backend::Postgres).await else {
            return;
        };
        let defs = tempfile::tempdir().unwrap();
        std::fs::write(defs.path().join("ktp-el.yaml"), KTP_EL).unwrap();
        let one = runtime_on(db.store().await, defs.path()).await;
        let other = runtime_on(db.store().await, defs.path()).await;
        let (a, _) = case_at_check(&one, 1).await;
        let (b, _) = case_at_check(&one, 2).await;
        let mut held = other.store.begin().await.unwrap();
        assert!(held.case(&b).await.unwrap().is_some());

        // Both in the queue before the committers start: the first takes them together.
        let (sender, receiver) = tokio::sync::mpsc::unbounded_channel();
        let (ja, answer_a) = check(&one, &a, None).await;
        let (jb, answer_b) = check(&one, &b, None).await;
        sender.send(ja.batched).unwrap();
        sender.send(jb.batched).unwrap();
        let queue = std::sync::Arc::new(tokio::sync::Mutex::new(receiver));
        for _ in 0..2 {
            tokio::spawn(group_commit(one.clone(), POSTGRES, queue.clone()));
        }
        let wait = std::time::Duration::from_secs(10);
        let a_done = tokio::time::timeout(wait, answer_a).await.unwrap();
        assert!(a_done.unwrap().unwrap().is_some());
        // B was handed back; the other process lets the case go.
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        held.rollback().await.unwrap();
        let b_done = tokio::time::timeout(wait, answer_b)
            .await
            .expect("the command run again is answered");
        assert!(b_done.unwrap().unwrap().is_some());
        drop(sender);
        db.cleanup().await;
    }
}
