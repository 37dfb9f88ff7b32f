//! The durable store of sopflow: SOP versions, case events, the outbox of effects, queue
//! counters, users and idempotency records, on SQLite (one office, one file) or PostgreSQL
//! (several `sopflow` processes).
//!
//! The store does not know the engine: it keeps the event JSON, hashes and projections that the
//! runtime hands it, and guarantees the invariants below. [`Store::connect`] picks the backend
//! from the URL (`sqlite://path` or `postgres://…`) and runs the embedded migrations
//! (`migrations/sqlite`, `migrations/postgres`).
//!
//! # Tables
//!
//! | table | key | what it holds |
//! |---|---|---|
//! | `sop_versions` | (sop_id, version), unique (sop_id, content_hash) | every deployed SOP text; immutable (an update is refused by a trigger, a delete by the cases' foreign key) |
//! | `cases` | case_id | a projection of each case for listing and for the timer: status, current step, `version` (= last event's seq), head hash, `due_at`, `overdue`, the timer lease. The truth is the events. |
//! | `events` | (case_id, seq) | the append-only, hash-chained log (`prev_hash`, `hash`, who, when, kind, JSON payload). Updates and deletes are refused by a trigger. |
//! | `case_salts` | case_id | the per-case salt of the personal-data hashes in the events; apart from the events so that retention can erase it |
//! | `files` | sha256 | uploaded document scans, content-addressed (personal data, outside the chain) |
//! | `outbox` | id, unique idempotency_key | effects to deliver: `pending` → `claimed` (worker + lease) → `done`, or `failed` (retried at `next_attempt_at`), or `incident` (given up; a human retries) |
//! | `queue_counters` | (queue_key, day) | the last number issued per queue per local day |
//! | `users` | id, unique name, unique token_hash | API users; only the SHA-256 (hex) of a token is stored |
//! | `idempotency_keys` | (user_name, key) | the response already given to a request carrying an `Idempotency-Key` |
//! | `audit_access` | id | who exported histories or saw personal data unmasked, when, and why; append-only (triggers) |
//!
//! # Invariants
//!
//! - **One transaction per command.** [`Tx::append`] writes the events, the case projection,
//!   the outbox rows (and, with [`Tx::remember_response`], the idempotency record) in one
//!   transaction: all commit or none do.
//! - **Optimistic concurrency.** An append names the version it was decided on. The projection
//!   is updated only if its version still is that one, and (case_id, seq) is unique; either
//!   check failing gives [`Error::Conflict`] with the current version, and nothing is written.
//!   [`Tx::case`] also locks the case until the transaction ends (PostgreSQL: `FOR UPDATE`;
//!   SQLite: the transaction is a write transaction from its start), so a command that reads
//!   the case in its transaction decides on the latest state.
//! - **The chain is checked at the door.** Each event's `prev_hash` must be the previous
//!   event's `hash` (the case's head hash for the first one), and the projection's version and
//!   head hash must be those of the last event; otherwise [`Error::Invalid`].
//! - **Work is claimed once.** Outbox rows and due cases are claimed with a worker id and a
//!   lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: one writer). A lease that expires
//!   (a crashed process) makes the work claimable again; a worker whose lease was taken over
//!   gets [`Error::LeaseLost`] when it reports.
//! - **Acknowledged means durable.** SQLite runs in WAL mode with `synchronous=FULL`;
//!   PostgreSQL keeps the server's `synchronous_commit` unless it is `off`, which is raised to `on`.
//!
//! # Times
//!
//! The API takes and returns [`OffsetDateTime`]; the store keeps UTC with microsecond
//! precision (PostgreSQL's), truncating finer parts, so both backends return the same instant.
//! PostgreSQL uses `TIMESTAMPTZ`; SQLite uses fixed-width text, `2025-01-31T08:00:00.000000Z`,
//! whose text order is time order. Nothing reads the database clock: every write takes `now`.

mod audit;
mod backend;
mod dialect;
mod error;
mod postgres;
mod queries;
mod sqlite;
pub mod testing;
mod timestamp;
mod types;

use time::{Date, Duration, OffsetDateTime};

pub use audit::{AuditAccess, NewAuditAccess};
pub use backend::{Backend, DbTx, PgStore, PgTx, SqliteStore, SqliteTx};
pub use error::{Error, Result};
pub use types::{
    CaseFilter, CaseProjection, CaseRecord, Event, NewEvent, NewOutbox, OutboxItem, OutboxStatus,
    Page, SopVersion, StoredResponse, User,
};

/// A connected store: one of the two backends. Cheap to clone (it holds connection pools).
#[derive(Clone, Debug)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// What to do with the per-command savepoint (see [`Tx::savepoint`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Savepoint {
    Set,
    Release,
    RollBack,
}

/// A transaction: see [`Store::begin`]. Dropped without [`Tx::commit`], it rolls back.
#[derive(Debug)]
pub enum Tx {
    Sqlite(SqliteTx),
    Postgres(PgTx),
}

macro_rules! dispatch {
    ($enum:ident, $value:expr, $inner:ident => $body:expr) => {
        match $value {
            $enum::Sqlite($inner) => $body,
            $enum::Postgres($inner) => $body,
        }
    };
}
pub(crate) use dispatch;

impl Store {
    /// Connects to `sqlite://PATH` (created if missing) or `postgres://…`/`postgresql://…` and
    /// applies the migrations (a no-op when they are already applied).
    pub async fn connect(url: &str) -> Result<Store> {
        if url.starts_with("sqlite:") {
            Ok(Store::Sqlite(SqliteStore::connect(url).await?))
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Store::Postgres(PgStore::connect(url).await?))
        } else {
            // The URL may carry a password: show only its scheme.
            let scheme = url.split(':').next().unwrap_or_default();
            Err(Error::UnsupportedUrl(scheme.to_owned()))
        }
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Closes the pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        dispatch!(Store, self, s => s.close().await)
    }

    /// Starts a write transaction (SQLite: `BEGIN IMMEDIATE`, so it never fails to upgrade
    /// later; PostgreSQL: `READ COMMITTED`, with the checks described in the crate doc).
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Store::Sqlite(s) => Tx::Sqlite(s.begin().await?),
            Store::Postgres(s) => Tx::Postgres(s.begin().await?),
        })
    }

    // ---- SOP versions ----

    /// Stores an SOP text and returns its version and whether it is new. The same content hash
    /// gives the existing version back; other content gets the next number. Safe when several
    /// processes deploy at once (a lost race is retried).
    pub async fn put_sop_version(
        &self,
        sop_id: &str,
        content_hash: &str,
        yaml: &str,
        now: OffsetDateTime,
    ) -> Result<(i64, bool)> {
        dispatch!(Store, self, s => s.put_sop_version(sop_id, content_hash, yaml, now).await)
    }

    /// All versions of one SOP, oldest first.
    pub async fn sop_versions(&self, sop_id: &str) -> Result<Vec<SopVersion>> {
        dispatch!(Store, self, s => s.sop_versions(sop_id).await)
    }

    pub async fn sop_version(&self, sop_id: &str, version: i64) -> Result<Option<SopVersion>> {
        dispatch!(Store, self, s => s.sop_version(sop_id, version).await)
    }

    /// The highest version of each SOP, by sop_id.
    pub async fn latest_sop_versions(&self) -> Result<Vec<SopVersion>> {
        dispatch!(Store, self, s => s.latest_sop_versions().await)
    }

    /// Every version of every SOP (cases are pinned to old versions), by sop_id then version.
    pub async fn all_sop_versions(&self) -> Result<Vec<SopVersion>> {
        dispatch!(Store, self, s => s.all_sop_versions().await)
    }

    // ---- cases and events ----

    pub async fn case(&self, case_id: &str) -> Result<Option<CaseRecord>> {
        dispatch!(Store, self, s => s.case(case_id).await)
    }

    /// All events of a case, by seq.
    pub async fn events(&self, case_id: &str) -> Result<Vec<Event>> {
        dispatch!(Store, self, s => s.events_since(case_id, 0).await)
    }

    /// The events after `seq` (exclusive), by seq.
    pub async fn events_since(&self, case_id: &str, seq: i64) -> Result<Vec<Event>> {
        dispatch!(Store, self, s => s.events_since(case_id, seq).await)
    }

    /// Cases matching every given filter, by case_id, one page at a time: pass the last
    /// case_id of a page as `page.after` to get the next.
    pub async fn list_cases(&self, filter: &CaseFilter, page: &Page) -> Result<Vec<CaseRecord>> {
        dispatch!(Store, self, s => s.list_cases(filter, page).await)
    }

    /// Claims up to `limit` cases whose `due_at` has passed and that no live lease holds, for
    /// `lease`, for the time-budget ticker. The ticker then appends as any command does (the
    /// version check still applies); an append clears the lease, and a case it left due is
    /// claimable again once the lease runs out. Oldest `due_at` first.
    pub async fn claim_due_cases(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<CaseRecord>> {
        dispatch!(Store, self, s => s.claim_due_cases(worker, now, lease, limit).await)
    }

    /// How many cases each SOP has in each status, by sop_id then status (for metrics).
    pub async fn count_cases_by_status(&self) -> Result<Vec<(String, String, i64)>> {
        dispatch!(Store, self, s => s.count_cases_by_status().await)
    }

    /// The salt of a case's personal-data hashes (see [`Tx::put_case_salt`]).
    pub async fn case_salt(&self, case_id: &str) -> Result<Option<String>> {
        dispatch!(Store, self, s => s.case_salt(case_id).await)
    }

    /// A stored file's bytes, by the SHA-256 (hex) of its content.
    pub async fn file(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        dispatch!(Store, self, s => s.file(sha256).await)
    }

    // ---- outbox ----

    /// Claims up to `limit` due outbox rows for `worker` until `now + lease`: `pending` and
    /// `failed` rows whose `next_attempt_at` has passed, and `claimed` rows whose lease has
    /// expired (their worker is presumed dead). Each claim counts an attempt. Oldest first.
    pub async fn claim_outbox(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<OutboxItem>> {
        dispatch!(Store, self, s => s.claim_outbox(worker, now, lease, limit).await)
    }

    /// Marks a row claimed by `worker` as delivered. [`Error::LeaseLost`] if another worker
    /// has claimed it since.
    pub async fn complete_outbox(&self, id: i64, worker: &str, now: OffsetDateTime) -> Result<()> {
        dispatch!(Store, self, s => s.complete_outbox(id, worker, now).await)
    }

    /// Records a failed delivery by `worker`: retried at `next_attempt_at` (status `failed`),
    /// or, with `give_up`, parked as an `incident` until [`Store::retry_incident`].
    pub async fn fail_outbox(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        next_attempt_at: OffsetDateTime,
        give_up: bool,
        now: OffsetDateTime,
    ) -> Result<()> {
        dispatch!(Store, self, s => s.fail_outbox(id, worker, error, next_attempt_at, give_up, now).await)
    }

    /// Outbox rows that were given up, oldest first.
    pub async fn list_incidents(&self) -> Result<Vec<OutboxItem>> {
        dispatch!(Store, self, s => s.list_incidents().await)
    }

    /// Puts an incident back in the queue, due at `now`, with its attempt count reset (its
    /// last error is kept). [`Error::NotFound`] if `id` is not an incident.
    pub async fn retry_incident(&self, id: i64, now: OffsetDateTime) -> Result<()> {
        dispatch!(Store, self, s => s.retry_incident(id, now).await)
    }

    /// The outbox rows of one case, by id.
    pub async fn outbox_for_case(&self, case_id: &str) -> Result<Vec<OutboxItem>> {
        dispatch!(Store, self, s => s.outbox_for_case(case_id).await)
    }

    // ---- queues ----

    /// The next number of `queue_key` on `day`, in its own transaction (see
    /// [`Tx::next_queue_number`] to take it with the command that announces it).
    pub async fn next_queue_number(&self, queue_key: &str, day: Date) -> Result<i64> {
        let mut tx = self.begin().await?;
        let number = tx.next_queue_number(queue_key, day).await?;
        tx.commit().await?;
        Ok(number)
    }

    // ---- users ----

    /// Adds a user. [`Error::AlreadyExists`] if the name or the token hash is taken.
    pub async fn add_user(
        &self,
        name: &str,
        role: &str,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<User> {
        dispatch!(Store, self, s => s.add_user(name, role, token_hash, now).await)
    }

    /// The user whose token hashes to `token_hash` (hex SHA-256).
    pub async fn user_by_token_hash(&self, token_hash: &str) -> Result<Option<User>> {
        dispatch!(Store, self, s => s.user_by_token_hash(token_hash).await)
    }

    /// All users, by name.
    pub async fn list_users(&self) -> Result<Vec<User>> {
        dispatch!(Store, self, s => s.list_users().await)
    }

    // ---- idempotency ----

    /// The response already given to `user`'s request with this `Idempotency-Key`.
    pub async fn idempotent_response(
        &self,
        user: &str,
        key: &str,
    ) -> Result<Option<StoredResponse>> {
        dispatch!(Store, self, s => s.idempotent_response(user, key).await)
    }
}

impl Tx {
    /// The case, locked until this transaction ends (see the crate doc).
    pub async fn case(&mut self, case_id: &str) -> Result<Option<CaseRecord>> {
        dispatch!(Tx, self, t => t.case(case_id).await)
    }

    /// All events of a case, by seq, as this transaction sees them.
    pub async fn events(&mut self, case_id: &str) -> Result<Vec<Event>> {
        dispatch!(Tx, self, t => t.events(case_id).await)
    }

    /// [`Tx::case`] and [`Tx::case_salt`] in one statement: what a command on a case reads.
    pub async fn case_and_salt(
        &mut self,
        case_id: &str,
    ) -> Result<Option<(CaseRecord, Option<String>)>> {
        dispatch!(Tx, self, t => t.case_and_salt(case_id).await)
    }

    /// The salt of a case's personal-data hashes, as this transaction sees it.
    pub async fn case_salt(&mut self, case_id: &str) -> Result<Option<String>> {
        dispatch!(Tx, self, t => t.case_salt(case_id).await)
    }

    /// Stores the salt of a new case, in the transaction that creates it (before or after the
    /// append: the case must exist at commit). [`Error::AlreadyExists`] if it has one.
    pub async fn put_case_salt(&mut self, case_id: &str, salt: &str) -> Result<()> {
        dispatch!(Tx, self, t => t.put_case_salt(case_id, salt).await)
    }

    /// Stores a file under the SHA-256 (hex) of its content, which the caller computed; storing
    /// the same hash again is a no-op.
    pub async fn put_file(&mut self, sha256: &str, bytes: &[u8]) -> Result<()> {
        dispatch!(Tx, self, t => t.put_file(sha256, bytes).await)
    }

    /// The next number of `queue_key` on `day` (the office's local day). The counter row stays
    /// locked until commit, so numbers are consecutive and unique across processes; a rolled
    /// back transaction gives its number back.
    pub async fn next_queue_number(&mut self, queue_key: &str, day: Date) -> Result<i64> {
        dispatch!(Tx, self, t => t.next_queue_number(queue_key, day).await)
    }

    /// Appends `events` to the case as seq `expected_version + 1 ..`, sets its projection and
    /// queues `outbox` rows (each tied to the last event appended here; a row whose
    /// idempotency key is already queued is not queued twice, except that a row given up as an
    /// `incident` is queued again, attempts reset: the command that asks again is the human's
    /// retry, so it re-arms the delivery in its own transaction).
    ///
    /// `expected_version == 0` creates the case (`projection` then also gives its SOP and
    /// version; later appends keep those and `created_at`). `projection.updated_at` is the
    /// command's time and stamps the outbox rows.
    ///
    /// [`Error::Conflict`] if the case has moved past `expected_version` (or already exists,
    /// for a creation); [`Error::NotFound`] if the case does not exist; [`Error::Invalid`] if
    /// the events and projection do not chain. After an error, drop the transaction.
    pub async fn append(
        &mut self,
        case_id: &str,
        expected_version: i64,
        events: &[NewEvent],
        projection: &CaseProjection,
        outbox: &[NewOutbox],
    ) -> Result<()> {
        check_append(expected_version, events, projection)?;
        dispatch!(Tx, self, t => t.append(case_id, expected_version, events, projection, outbox).await)
    }

    /// Records the response to an idempotent request, to commit with the command it answers.
    /// [`Error::AlreadyExists`] if that user's key is already recorded.
    pub async fn remember_response(
        &mut self,
        user: &str,
        key: &str,
        response: &StoredResponse,
    ) -> Result<()> {
        dispatch!(Tx, self, t => t.remember_response(user, key, response).await)
    }

    /// Sets, releases or rolls back to the transaction's one savepoint. Group commit runs
    /// several commands in one transaction, each between a set and a release, so that one
    /// failing command is rolled back alone.
    pub async fn savepoint(&mut self, action: Savepoint) -> Result<()> {
        dispatch!(Tx, self, t => t.savepoint(action).await)
    }

    /// Commits; when this returns `Ok`, the transaction is durable.
    pub async fn commit(self) -> Result<()> {
        dispatch!(Tx, self, t => t.commit().await)
    }

    pub async fn rollback(self) -> Result<()> {
        dispatch!(Tx, self, t => t.rollback().await)
    }
}

/// The checks that need no database: the batch must chain and end where the projection says.
fn check_append(
    expected_version: i64,
    events: &[NewEvent],
    projection: &CaseProjection,
) -> Result<()> {
    let Some(last) = events.last() else {
        return Err(Error::Invalid("an append needs at least one event".into()));
    };
    if expected_version < 0 {
        return Err(Error::Invalid(format!(
            "expected version {expected_version} is negative"
        )));
    }
    let count = i64::try_from(events.len()).unwrap_or(i64::MAX);
    if expected_version.checked_add(count) != Some(projection.version) {
        return Err(Error::Invalid(format!(
            "projection version {} is not expected version {expected_version} + {count} events",
            projection.version
        )));
    }
    for (i, pair) in events.windows(2).enumerate() {
        if pair[1].prev_hash != pair[0].hash {
            return Err(Error::Invalid(format!(
                "event {} does not chain to the event before it",
                expected_version + 2 + i as i64
            )));
        }
    }
    if projection.head_hash != last.hash {
        return Err(Error::Invalid(
            "projection head hash is not the last event's hash".into(),
        ));
    }
    Ok(())
}
