//! The SQLite backend: one file, one writer connection, a small pool of readers.
//!
//! SQLite allows one writer at a time, so writes go through a pool of exactly one connection
//! (queuing in this process instead of spinning on `SQLITE_BUSY`), and every write
//! transaction starts with `BEGIN IMMEDIATE`, so it holds the write lock from its first
//! statement: it can never fail to upgrade half-way, and another process on the same file
//! waits (`busy_timeout`). Readers see the last committed state (WAL) without blocking the
//! writer.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use sqlx::pool::PoolConnection;
use sqlx::sqlite::SqliteTransactionManager;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{ConnectOptions as _, QueryBuilder, Row, SqlSafeStr, Sqlite, SqliteConnection};
use sqlx_core::transaction::TransactionManager as _;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime};
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::Savepoint;
use crate::error::{Error, Result, is_unique_violation};
use crate::types::{
    CaseFilter, CaseProjection, CaseRecord, Event, NewEvent, NewOutbox, OutboxItem, OutboxStatus,
    Page, SopVersion, StoredResponse, User,
};
use crate::{
    EVENTS_PER_INSERT, day_text, events_ahead, json_list, lease_end, mismatch_error, payload_text,
    to_stored,
};

mod audit;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: StdDuration = StdDuration::from_secs(10);
const READERS: u32 = 4;
/// Lost races on a new SOP version before giving up (each lost race means another succeeded).
const SOP_VERSION_ATTEMPTS: usize = 50;

/// Fixed width so that text order is time order (RFC 3339 with trimmed fractions is not).
const TIME_FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

macro_rules! case_columns {
    () => {
        "case_id, sop_id, sop_version, status, current_step, version, head_hash, created_at, \
         updated_at, due_at, overdue"
    };
}

macro_rules! event_columns {
    () => {
        "case_id, seq, kind, recorded_at, user_name, role, payload, prev_hash, hash"
    };
}

macro_rules! outbox_columns {
    () => {
        "id, case_id, seq, idempotency_key, adapter, payload, status, attempts, next_attempt_at, \
         claimed_by, lease_until, last_error, created_at, updated_at"
    };
}

macro_rules! sop_columns {
    () => {
        "sop_id, version, content_hash, yaml, created_at"
    };
}

#[derive(Clone, Debug)]
pub struct SqliteStore {
    /// Writes outside transactions (claims, deploys, users), and migrations.
    writer: SqlitePool,
    reader: SqlitePool,
    /// The connection transactions run on, kept out of the pool between them: sqlx gives a
    /// connection back to its pool only after a round trip to the connection's thread, and
    /// the next transaction waited for that (measured: 1-7 ms per group commit under load).
    /// sqlx's transaction manager drives it as sqlx's own `Transaction` does. `None` for an
    /// in-memory database, whose one connection is the database.
    tx_conn: Option<Arc<Mutex<SqliteConnection>>>,
}

/// A write transaction: on the parked transaction connection, or (in memory) the pool's.
#[derive(Debug)]
pub struct SqliteTx {
    tx: TxConnection,
    /// Begun and not yet ended: dropping it then rolls back.
    open: bool,
}

impl Drop for SqliteTx {
    fn drop(&mut self) {
        if self.open {
            // Queued on the connection at once, ahead of whatever it runs next (the lock
            // is released promptly), as sqlx's `Transaction` does when dropped.
            SqliteTransactionManager::start_rollback(&mut self.tx);
        }
    }
}

#[derive(Debug)]
enum TxConnection {
    Parked(OwnedMutexGuard<SqliteConnection>),
    Pooled(PoolConnection<Sqlite>),
}

impl std::ops::Deref for TxConnection {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        match self {
            TxConnection::Parked(conn) => conn,
            TxConnection::Pooled(conn) => conn,
        }
    }
}

impl std::ops::DerefMut for TxConnection {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        match self {
            TxConnection::Parked(conn) => &mut *conn,
            TxConnection::Pooled(conn) => &mut *conn,
        }
    }
}

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on disk before it returns (NORMAL may lose the last ones).
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        // Each in-memory connection is a database of its own: there, one connection does all.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        // The writers stay open for good: no reconnect cost, and an in-memory database lives
        // exactly as long as its connection. On a file, a second one outside the pool is
        // parked for transactions; SQLite's write lock (with the busy timeout) orders the two.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone().create_if_missing(true))
            .await?;
        MIGRATOR.run(&writer).await?;
        let tx_conn = if in_memory {
            None
        } else {
            Some(Arc::new(Mutex::new(options.connect().await?)))
        };
        let reader = if in_memory {
            writer.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(READERS)
                .connect_with(options.read_only(true))
                .await?
        };
        Ok(Self {
            writer,
            reader,
            tx_conn,
        })
    }

    /// Closes the pools; the parked transaction connection closes with the last clone.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }

    pub async fn begin(&self) -> Result<SqliteTx> {
        let conn = match &self.tx_conn {
            Some(parked) => TxConnection::Parked(parked.clone().lock_owned().await),
            None => TxConnection::Pooled(self.writer.acquire().await?),
        };
        let mut tx = SqliteTx {
            tx: conn,
            // Set before it begins: a cancelled BEGIN is rolled back too.
            open: true,
        };
        SqliteTransactionManager::begin(
            &mut tx.tx,
            Some(SqlSafeStr::into_sql_str("BEGIN IMMEDIATE")),
        )
        .await?;
        Ok(tx)
    }

    pub async fn put_sop_version(
        &self,
        sop_id: &str,
        content_hash: &str,
        yaml: &str,
        now: OffsetDateTime,
    ) -> Result<(i64, bool)> {
        let now = ts(now)?;
        for _ in 0..SOP_VERSION_ATTEMPTS {
            let existing: Option<i64> = sqlx::query_scalar(
                "SELECT version FROM sop_versions WHERE sop_id = $1 AND content_hash = $2",
            )
            .bind(sop_id)
            .bind(content_hash)
            .fetch_optional(&self.writer)
            .await?;
            if let Some(version) = existing {
                return Ok((version, false));
            }
            // DO NOTHING on either unique key: another process took the number or deployed
            // the same text; look again.
            let created: Option<i64> = sqlx::query_scalar(
                "INSERT INTO sop_versions (sop_id, version, content_hash, yaml, created_at)
                 SELECT $1, COALESCE(MAX(version), 0) + 1, $2, $3, $4
                 FROM sop_versions WHERE sop_id = $1
                 ON CONFLICT DO NOTHING
                 RETURNING version",
            )
            .bind(sop_id)
            .bind(content_hash)
            .bind(yaml)
            .bind(&now)
            .fetch_optional(&self.writer)
            .await?;
            if let Some(version) = created {
                return Ok((version, true));
            }
        }
        Err(Error::Busy(format!(
            "could not number a new version of {sop_id}"
        )))
    }

    pub async fn sop_versions(&self, sop_id: &str) -> Result<Vec<SopVersion>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            sop_columns!(),
            " FROM sop_versions WHERE sop_id = $1 ORDER BY version"
        ))
        .bind(sop_id)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(sop_version).collect()
    }

    pub async fn sop_version(&self, sop_id: &str, version: i64) -> Result<Option<SopVersion>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            sop_columns!(),
            " FROM sop_versions WHERE sop_id = $1 AND version = $2"
        ))
        .bind(sop_id)
        .bind(version)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(sop_version).transpose()
    }

    pub async fn latest_sop_versions(&self) -> Result<Vec<SopVersion>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            sop_columns!(),
            " FROM sop_versions s
              WHERE version = (SELECT MAX(version) FROM sop_versions m WHERE m.sop_id = s.sop_id)
              ORDER BY sop_id"
        ))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(sop_version).collect()
    }

    pub async fn all_sop_versions(&self) -> Result<Vec<SopVersion>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            sop_columns!(),
            " FROM sop_versions ORDER BY sop_id, version"
        ))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(sop_version).collect()
    }

    pub async fn case(&self, case_id: &str) -> Result<Option<CaseRecord>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            case_columns!(),
            " FROM cases WHERE case_id = $1"
        ))
        .bind(case_id)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(case_record).transpose()
    }

    pub async fn events_since(&self, case_id: &str, seq: i64) -> Result<Vec<Event>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            event_columns!(),
            " FROM events WHERE case_id = $1 AND seq > $2 ORDER BY seq"
        ))
        .bind(case_id)
        .bind(seq)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(event).collect()
    }

    pub async fn list_cases(&self, filter: &CaseFilter, page: &Page) -> Result<Vec<CaseRecord>> {
        let overdue_at = filter.overdue_at.map(ts).transpose()?;
        let rows = sqlx::query(concat!(
            "SELECT ",
            case_columns!(),
            " FROM cases
              WHERE ($1 IS NULL OR sop_id = $1)
                AND ($2 IS NULL OR status IN (SELECT value FROM json_each($2)))
                AND ($3 IS NULL OR current_step IN (SELECT value FROM json_each($3)))
                AND ($4 IS NULL OR overdue = 1 OR due_at <= $4)
                AND ($5 IS NULL OR case_id > $5)
              ORDER BY case_id
              LIMIT $6"
        ))
        .bind(filter.sop_id.as_deref())
        .bind(json_list(filter.statuses.as_ref())?)
        .bind(json_list(filter.current_steps.as_ref())?)
        .bind(overdue_at)
        .bind(page.after.as_deref())
        .bind(i64::from(page.limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(case_record).collect()
    }

    pub async fn count_cases_by_status(&self) -> Result<Vec<(String, String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT sop_id, status, COUNT(*) FROM cases GROUP BY sop_id, status
             ORDER BY sop_id, status",
        )
        .fetch_all(&self.reader)
        .await?)
    }

    pub async fn case_salt(&self, case_id: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT salt FROM case_salts WHERE case_id = $1")
                .bind(case_id)
                .fetch_optional(&self.reader)
                .await?,
        )
    }

    pub async fn file(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT bytes FROM files WHERE sha256 = $1")
                .bind(sha256)
                .fetch_optional(&self.reader)
                .await?,
        )
    }

    pub async fn claim_due_cases(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<CaseRecord>> {
        let until = ts(lease_end(now, lease)?)?;
        // One statement on the single writer: the choice and the claim are atomic.
        let rows = sqlx::query(concat!(
            "UPDATE cases SET timer_claimed_by = $1, timer_lease_until = $3
             WHERE case_id IN (
                 SELECT case_id FROM cases
                 WHERE due_at IS NOT NULL AND due_at <= $2
                   AND (timer_lease_until IS NULL OR timer_lease_until <= $2)
                 ORDER BY due_at, case_id
                 LIMIT $4)
             RETURNING ",
            case_columns!()
        ))
        .bind(worker)
        .bind(ts(now)?)
        .bind(until)
        .bind(i64::from(limit))
        .fetch_all(&self.writer)
        .await?;
        let mut cases = rows.iter().map(case_record).collect::<Result<Vec<_>>>()?;
        cases.sort_by(|a, b| (a.due_at, &a.case_id).cmp(&(b.due_at, &b.case_id)));
        Ok(cases)
    }

    pub async fn claim_outbox(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<OutboxItem>> {
        let until = ts(lease_end(now, lease)?)?;
        let rows = sqlx::query(concat!(
            "UPDATE outbox
             SET status = 'claimed', claimed_by = $1, lease_until = $3,
                 attempts = attempts + 1, updated_at = $2
             WHERE id IN (
                 SELECT id FROM outbox
                 WHERE (status IN ('pending', 'failed') AND next_attempt_at <= $2)
                    OR (status = 'claimed' AND lease_until <= $2)
                 ORDER BY next_attempt_at, id
                 LIMIT $4)
             RETURNING ",
            outbox_columns!()
        ))
        .bind(worker)
        .bind(ts(now)?)
        .bind(until)
        .bind(i64::from(limit))
        .fetch_all(&self.writer)
        .await?;
        let mut items = rows.iter().map(outbox_item).collect::<Result<Vec<_>>>()?;
        items.sort_by_key(|i| (i.next_attempt_at, i.id));
        Ok(items)
    }

    pub async fn complete_outbox(&self, id: i64, worker: &str, now: OffsetDateTime) -> Result<()> {
        let done = sqlx::query(
            "UPDATE outbox SET status = 'done', lease_until = NULL, updated_at = $3
             WHERE id = $1 AND status = 'claimed' AND claimed_by = $2",
        )
        .bind(id)
        .bind(worker)
        .bind(ts(now)?)
        .execute(&self.writer)
        .await?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        self.not_claimed(id, worker).await
    }

    pub async fn fail_outbox(
        &self,
        id: i64,
        worker: &str,
        error: &str,
        next_attempt_at: OffsetDateTime,
        give_up: bool,
        now: OffsetDateTime,
    ) -> Result<()> {
        let status = if give_up {
            OutboxStatus::Incident
        } else {
            OutboxStatus::Failed
        };
        let failed = sqlx::query(
            "UPDATE outbox
             SET status = $3, last_error = $4, next_attempt_at = $5, lease_until = NULL,
                 updated_at = $6
             WHERE id = $1 AND status = 'claimed' AND claimed_by = $2",
        )
        .bind(id)
        .bind(worker)
        .bind(status.as_str())
        .bind(error)
        .bind(ts(next_attempt_at)?)
        .bind(ts(now)?)
        .execute(&self.writer)
        .await?;
        if failed.rows_affected() == 1 {
            return Ok(());
        }
        self.not_claimed(id, worker).await
    }

    /// Why `worker` could not report on row `id`.
    async fn not_claimed(&self, id: i64, worker: &str) -> Result<()> {
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM outbox WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.writer)
            .await?;
        match exists {
            None => Err(Error::NotFound(format!("outbox row {id}"))),
            Some(_) => Err(Error::LeaseLost {
                id,
                worker: worker.to_owned(),
            }),
        }
    }

    pub async fn list_incidents(&self) -> Result<Vec<OutboxItem>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            outbox_columns!(),
            " FROM outbox WHERE status = 'incident' ORDER BY updated_at, id"
        ))
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(outbox_item).collect()
    }

    pub async fn retry_incident(&self, id: i64, now: OffsetDateTime) -> Result<()> {
        let retried = sqlx::query(
            "UPDATE outbox
             SET status = 'pending', attempts = 0, next_attempt_at = $2, claimed_by = NULL,
                 lease_until = NULL, updated_at = $2
             WHERE id = $1 AND status = 'incident'",
        )
        .bind(id)
        .bind(ts(now)?)
        .execute(&self.writer)
        .await?;
        if retried.rows_affected() == 1 {
            Ok(())
        } else {
            Err(Error::NotFound(format!("outbox incident {id}")))
        }
    }

    pub async fn outbox_for_case(&self, case_id: &str) -> Result<Vec<OutboxItem>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            outbox_columns!(),
            " FROM outbox WHERE case_id = $1 ORDER BY id"
        ))
        .bind(case_id)
        .fetch_all(&self.reader)
        .await?;
        rows.iter().map(outbox_item).collect()
    }

    pub async fn add_user(
        &self,
        name: &str,
        role: &str,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<User> {
        let row = sqlx::query(
            "INSERT INTO users (name, role, token_hash, created_at) VALUES ($1, $2, $3, $4)
             RETURNING id, name, role, token_hash, created_at",
        )
        .bind(name)
        .bind(role)
        .bind(token_hash)
        .bind(ts(now)?)
        .fetch_one(&self.writer)
        .await
        .map_err(|e| match is_unique_violation(&e) {
            true => Error::AlreadyExists(format!("user {name} or their token")),
            false => e.into(),
        })?;
        user(&row)
    }

    pub async fn user_by_token_hash(&self, token_hash: &str) -> Result<Option<User>> {
        let row = sqlx::query(
            "SELECT id, name, role, token_hash, created_at FROM users WHERE token_hash = $1",
        )
        .bind(token_hash)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(user).transpose()
    }

    pub async fn list_users(&self) -> Result<Vec<User>> {
        let rows =
            sqlx::query("SELECT id, name, role, token_hash, created_at FROM users ORDER BY name")
                .fetch_all(&self.reader)
                .await?;
        rows.iter().map(user).collect()
    }

    pub async fn idempotent_response(
        &self,
        user: &str,
        key: &str,
    ) -> Result<Option<StoredResponse>> {
        let row = sqlx::query(
            "SELECT request_hash, status_code, response_body, created_at
             FROM idempotency_keys WHERE user_name = $1 AND key = $2",
        )
        .bind(user)
        .bind(key)
        .fetch_optional(&self.reader)
        .await?;
        row.as_ref().map(stored_response).transpose()
    }
}

impl SqliteTx {
    pub async fn case(&mut self, case_id: &str) -> Result<Option<CaseRecord>> {
        // The transaction holds the write lock already: nobody else can change the case.
        let row = sqlx::query(concat!(
            "SELECT ",
            case_columns!(),
            " FROM cases WHERE case_id = $1"
        ))
        .bind(case_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.as_ref().map(case_record).transpose()
    }

    pub async fn events(&mut self, case_id: &str) -> Result<Vec<Event>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            event_columns!(),
            " FROM events WHERE case_id = $1 ORDER BY seq"
        ))
        .bind(case_id)
        .fetch_all(&mut *self.tx)
        .await?;
        rows.iter().map(event).collect()
    }

    pub async fn case_salt(&mut self, case_id: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT salt FROM case_salts WHERE case_id = $1")
                .bind(case_id)
                .fetch_optional(&mut *self.tx)
                .await?,
        )
    }

    pub async fn case_and_salt(
        &mut self,
        case_id: &str,
    ) -> Result<Option<(CaseRecord, Option<String>)>> {
        let row = sqlx::query(concat!(
            "SELECT ",
            case_columns!(),
            ", (SELECT salt FROM case_salts WHERE case_id = $1) AS salt",
            " FROM cases WHERE case_id = $1"
        ))
        .bind(case_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.as_ref()
            .map(|row| Ok((case_record(row)?, row.try_get("salt")?)))
            .transpose()
    }

    pub async fn put_case_salt(&mut self, case_id: &str, salt: &str) -> Result<()> {
        sqlx::query("INSERT INTO case_salts (case_id, salt) VALUES ($1, $2)")
            .bind(case_id)
            .bind(salt)
            .execute(&mut *self.tx)
            .await
            .map_err(|e| match is_unique_violation(&e) {
                true => Error::AlreadyExists(format!("the salt of case {case_id}")),
                false => e.into(),
            })?;
        Ok(())
    }

    pub async fn put_file(&mut self, sha256: &str, bytes: &[u8]) -> Result<()> {
        // Content-addressed: the same hash is the same file, already stored.
        sqlx::query(
            "INSERT INTO files (sha256, bytes) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(sha256)
        .bind(bytes)
        .execute(&mut *self.tx)
        .await?;
        Ok(())
    }

    pub async fn next_queue_number(&mut self, queue_key: &str, day: Date) -> Result<i64> {
        let number = sqlx::query_scalar(
            "INSERT INTO queue_counters (queue_key, day, last_number) VALUES ($1, $2, 1)
             ON CONFLICT (queue_key, day) DO UPDATE SET last_number = queue_counters.last_number + 1
             RETURNING last_number",
        )
        .bind(queue_key)
        .bind(day_text(day)?)
        .fetch_one(&mut *self.tx)
        .await?;
        Ok(number)
    }

    pub async fn append(
        &mut self,
        case_id: &str,
        expected_version: i64,
        events: &[NewEvent],
        projection: &CaseProjection,
        outbox: &[NewOutbox],
    ) -> Result<()> {
        let updated_at = ts(projection.updated_at)?;
        let due_at = projection.due_at.map(ts).transpose()?;
        if expected_version == 0 {
            let created = sqlx::query(
                "INSERT INTO cases (case_id, sop_id, sop_version, status, current_step, version,
                                    head_hash, created_at, updated_at, due_at, overdue)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10)
                 ON CONFLICT (case_id) DO NOTHING",
            )
            .bind(case_id)
            .bind(&projection.sop_id)
            .bind(projection.sop_version)
            .bind(&projection.status)
            .bind(projection.current_step.as_deref())
            .bind(projection.version)
            .bind(&projection.head_hash)
            .bind(&updated_at)
            .bind(&due_at)
            .bind(projection.overdue)
            .execute(&mut *self.tx)
            .await?;
            if created.rows_affected() == 0 {
                return Err(self.mismatch(case_id, expected_version).await);
            }
        } else {
            // The version check and the chain check in one conditional update.
            let updated = sqlx::query(
                "UPDATE cases
                 SET status = $2, current_step = $3, version = $4, head_hash = $5,
                     updated_at = $6, due_at = $7, overdue = $8,
                     timer_claimed_by = NULL, timer_lease_until = NULL
                 WHERE case_id = $1 AND version = $9 AND head_hash = $10",
            )
            .bind(case_id)
            .bind(&projection.status)
            .bind(projection.current_step.as_deref())
            .bind(projection.version)
            .bind(&projection.head_hash)
            .bind(&updated_at)
            .bind(&due_at)
            .bind(projection.overdue)
            .bind(expected_version)
            .bind(&events[0].prev_hash)
            .execute(&mut *self.tx)
            .await?;
            if updated.rows_affected() == 0 {
                return Err(self.mismatch(case_id, expected_version).await);
            }
        }
        // One statement for the command's events (a command makes a handful): each statement
        // is a round trip to the connection's thread.
        let rows = (expected_version + 1..)
            .zip(events)
            .map(|(seq, e)| Ok((seq, e, ts(e.recorded_at)?, payload_text(&e.payload)?)))
            .collect::<Result<Vec<_>>>()?;
        for chunk in rows.chunks(EVENTS_PER_INSERT) {
            let mut insert = QueryBuilder::<Sqlite>::new(
                "INSERT INTO events (case_id, seq, kind, recorded_at, user_name, role, payload,
                                     prev_hash, hash) ",
            );
            insert.push_values(chunk, |mut row, (seq, e, recorded_at, payload)| {
                row.push_bind(case_id)
                    .push_bind(*seq)
                    .push_bind(e.kind.as_str())
                    .push_bind(recorded_at.as_str())
                    .push_bind(e.user_name.as_str())
                    .push_bind(e.role.as_str())
                    .push_bind(payload.as_str())
                    .push_bind(e.prev_hash.as_str())
                    .push_bind(e.hash.as_str());
            });
            let inserted = insert.build().execute(&mut *self.tx).await;
            match inserted {
                // Events beyond the projection's version: someone wrote them around the store.
                Err(err) if is_unique_violation(&err) => {
                    let last: Result<Option<i64>, _> =
                        sqlx::query_scalar("SELECT MAX(seq) FROM events WHERE case_id = $1")
                            .bind(case_id)
                            .fetch_one(&mut *self.tx)
                            .await;
                    return Err(events_ahead(case_id, last));
                }
                other => other?,
            };
        }
        for o in outbox {
            sqlx::query(
                "INSERT INTO outbox (case_id, seq, idempotency_key, adapter, payload, status,
                                     attempts, next_attempt_at, created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7, $7)
                 ON CONFLICT (idempotency_key) DO UPDATE
                 SET status = 'pending', attempts = 0, seq = excluded.seq,
                     next_attempt_at = excluded.next_attempt_at, claimed_by = NULL,
                     lease_until = NULL, updated_at = excluded.updated_at
                 WHERE outbox.status = 'incident'",
            )
            .bind(case_id)
            .bind(projection.version)
            .bind(&o.idempotency_key)
            .bind(&o.adapter)
            .bind(payload_text(&o.payload)?)
            .bind(ts(o.next_attempt_at)?)
            .bind(&updated_at)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    /// The error for an append whose version or chain check failed: what is the case now?
    async fn mismatch(&mut self, case_id: &str, expected_version: i64) -> Error {
        let current: Result<Option<(i64, String)>, _> =
            sqlx::query_as("SELECT version, head_hash FROM cases WHERE case_id = $1")
                .bind(case_id)
                .fetch_optional(&mut *self.tx)
                .await;
        mismatch_error(case_id, expected_version, current)
    }

    pub async fn remember_response(
        &mut self,
        user: &str,
        key: &str,
        response: &StoredResponse,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO idempotency_keys (user_name, key, request_hash, status_code,
                                           response_body, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(user)
        .bind(key)
        .bind(&response.request_hash)
        .bind(i32::from(response.status_code))
        .bind(&response.body)
        .bind(ts(response.created_at)?)
        .execute(&mut *self.tx)
        .await
        .map_err(|e| match is_unique_violation(&e) {
            true => Error::AlreadyExists(format!("idempotency key {key} of {user}")),
            false => e.into(),
        })?;
        Ok(())
    }

    pub async fn savepoint(&mut self, action: Savepoint) -> Result<()> {
        let sql = match action {
            Savepoint::Set => "SAVEPOINT sopflow_command",
            Savepoint::Release => "RELEASE SAVEPOINT sopflow_command",
            Savepoint::RollBack => "ROLLBACK TO SAVEPOINT sopflow_command",
        };
        sqlx::query(sql).execute(&mut *self.tx).await?;
        Ok(())
    }

    pub async fn commit(mut self) -> Result<()> {
        SqliteTransactionManager::commit(&mut self.tx).await?;
        self.open = false;
        Ok(())
    }

    pub async fn rollback(mut self) -> Result<()> {
        SqliteTransactionManager::rollback(&mut self.tx).await?;
        self.open = false;
        Ok(())
    }
}

fn ts(t: OffsetDateTime) -> Result<String> {
    to_stored(t)
        .format(TIME_FORMAT)
        .map_err(|e| Error::Invalid(format!("time {t}: {e}")))
}

fn decode_error(column: &str, source: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Database(sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: Box::new(source),
    })
}

fn get_ts(row: &SqliteRow, column: &str) -> Result<OffsetDateTime> {
    let text: String = row.try_get(column)?;
    parse_ts(column, &text)
}

fn get_opt_ts(row: &SqliteRow, column: &str) -> Result<Option<OffsetDateTime>> {
    let text: Option<String> = row.try_get(column)?;
    text.map(|t| parse_ts(column, &t)).transpose()
}

fn parse_ts(column: &str, text: &str) -> Result<OffsetDateTime> {
    PrimitiveDateTime::parse(text, TIME_FORMAT)
        .map(PrimitiveDateTime::assume_utc)
        .map_err(|e| decode_error(column, e))
}

fn get_json(row: &SqliteRow, column: &str) -> Result<serde_json::Value> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(|e| decode_error(column, e))
}

fn sop_version(row: &SqliteRow) -> Result<SopVersion> {
    Ok(SopVersion {
        sop_id: row.try_get("sop_id")?,
        version: row.try_get("version")?,
        content_hash: row.try_get("content_hash")?,
        yaml: row.try_get("yaml")?,
        created_at: get_ts(row, "created_at")?,
    })
}

fn case_record(row: &SqliteRow) -> Result<CaseRecord> {
    Ok(CaseRecord {
        case_id: row.try_get("case_id")?,
        sop_id: row.try_get("sop_id")?,
        sop_version: row.try_get("sop_version")?,
        status: row.try_get("status")?,
        current_step: row.try_get("current_step")?,
        version: row.try_get("version")?,
        head_hash: row.try_get("head_hash")?,
        created_at: get_ts(row, "created_at")?,
        updated_at: get_ts(row, "updated_at")?,
        due_at: get_opt_ts(row, "due_at")?,
        overdue: row.try_get("overdue")?,
    })
}

fn event(row: &SqliteRow) -> Result<Event> {
    Ok(Event {
        case_id: row.try_get("case_id")?,
        seq: row.try_get("seq")?,
        kind: row.try_get("kind")?,
        recorded_at: get_ts(row, "recorded_at")?,
        user_name: row.try_get("user_name")?,
        role: row.try_get("role")?,
        payload: get_json(row, "payload")?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

fn outbox_item(row: &SqliteRow) -> Result<OutboxItem> {
    let status: String = row.try_get("status")?;
    Ok(OutboxItem {
        id: row.try_get("id")?,
        case_id: row.try_get("case_id")?,
        seq: row.try_get("seq")?,
        idempotency_key: row.try_get("idempotency_key")?,
        adapter: row.try_get("adapter")?,
        payload: get_json(row, "payload")?,
        status: OutboxStatus::parse(&status).ok_or_else(|| {
            Error::Database(sqlx::Error::Decode(
                format!("unknown outbox status {status:?}").into(),
            ))
        })?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: get_ts(row, "next_attempt_at")?,
        claimed_by: row.try_get("claimed_by")?,
        lease_until: get_opt_ts(row, "lease_until")?,
        last_error: row.try_get("last_error")?,
        created_at: get_ts(row, "created_at")?,
        updated_at: get_ts(row, "updated_at")?,
    })
}

fn user(row: &SqliteRow) -> Result<User> {
    Ok(User {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: row.try_get("role")?,
        token_hash: row.try_get("token_hash")?,
        created_at: get_ts(row, "created_at")?,
    })
}

fn stored_response(row: &SqliteRow) -> Result<StoredResponse> {
    let status: i32 = row.try_get("status_code")?;
    Ok(StoredResponse {
        request_hash: row.try_get("request_hash")?,
        status_code: u16::try_from(status).map_err(|e| decode_error("status_code", e))?,
        body: row.try_get("response_body")?,
        created_at: get_ts(row, "created_at")?,
    })
}

// After the column macros above, which it uses.
mod front_office;
