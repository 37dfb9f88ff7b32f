//! The PostgreSQL backend: a pool shared by the process, for several processes at once.
//!
//! Transactions run at `READ COMMITTED`. What makes that safe:
//! - an append updates the case row only `WHERE version = expected`: a concurrent append waits
//!   for the row lock, then finds the version moved and reports a conflict;
//! - a creation inserts `ON CONFLICT DO NOTHING`, which waits for a concurrent creator;
//! - claims choose rows `FOR UPDATE SKIP LOCKED` inside the claiming `UPDATE`, so two
//!   processes never take the same row;
//! - counters and SOP version numbers are upserts or retried inserts on unique keys.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::types::Json;
use sqlx::{Executor, Postgres, QueryBuilder, Row, Transaction};
use time::{Date, Duration, OffsetDateTime};

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

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Per process (several processes share one database). 16 measured no better than 8 at 32
/// clients on 2 cores: there the CPU, not the pool, is the limit.
const MAX_CONNECTIONS: u32 = 8;
/// Lost races on a new SOP version before giving up (each lost race means another succeeded).
const SOP_VERSION_ATTEMPTS: usize = 50;

macro_rules! case_columns {
    () => {
        "case_id, sop_id, sop_version, status, current_step, version, head_hash, created_at, \
         updated_at, due_at, overdue"
    };
}

macro_rules! event_columns {
    // payload::text: the JSON column's exact text.
    () => {
        "case_id, seq, kind, recorded_at, user_name, role, payload::text AS payload, prev_hash, hash"
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
pub struct PgStore {
    pool: PgPool,
}

#[derive(Debug)]
pub struct PgTx {
    tx: Transaction<'static, Postgres>,
    /// For reading committed state after an error has aborted the transaction.
    pool: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    // Acknowledged means durable: keep the server's setting (it may be stronger,
                    // e.g. remote_apply) unless it is off.
                    let setting: String =
                        sqlx::query_scalar("SELECT current_setting('synchronous_commit')")
                            .fetch_one(&mut *conn)
                            .await?;
                    if setting == "off" {
                        conn.execute("SET synchronous_commit = on").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        Ok(Self { pool })
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub async fn begin(&self) -> Result<PgTx> {
        Ok(PgTx {
            tx: self.pool.begin().await?,
            pool: self.pool.clone(),
        })
    }

    pub async fn put_sop_version(
        &self,
        sop_id: &str,
        content_hash: &str,
        yaml: &str,
        now: OffsetDateTime,
    ) -> Result<(i64, bool)> {
        for _ in 0..SOP_VERSION_ATTEMPTS {
            let existing: Option<i64> = sqlx::query_scalar(
                "SELECT version FROM sop_versions WHERE sop_id = $1 AND content_hash = $2",
            )
            .bind(sop_id)
            .bind(content_hash)
            .fetch_optional(&self.pool)
            .await?;
            if let Some(version) = existing {
                return Ok((version, false));
            }
            // A concurrent deploy makes this insert wait, then DO NOTHING on either unique key
            // (it took the number, or deployed the same text): look again.
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
            .bind(to_stored(now))
            .fetch_optional(&self.pool)
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
        .fetch_all(&self.pool)
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
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(sop_version).transpose()
    }

    pub async fn latest_sop_versions(&self) -> Result<Vec<SopVersion>> {
        let rows = sqlx::query(concat!(
            "SELECT DISTINCT ON (sop_id) ",
            sop_columns!(),
            " FROM sop_versions ORDER BY sop_id, version DESC"
        ))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(sop_version).collect()
    }

    pub async fn all_sop_versions(&self) -> Result<Vec<SopVersion>> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            sop_columns!(),
            " FROM sop_versions ORDER BY sop_id, version"
        ))
        .fetch_all(&self.pool)
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
        .fetch_optional(&self.pool)
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
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(event).collect()
    }

    pub async fn list_cases(&self, filter: &CaseFilter, page: &Page) -> Result<Vec<CaseRecord>> {
        // case_id is COLLATE "C" (bytewise), as in SQLite: pages are the same on both.
        let rows = sqlx::query(concat!(
            "SELECT ",
            case_columns!(),
            " FROM cases
              WHERE ($1::text IS NULL OR sop_id = $1)
                AND ($2::jsonb IS NULL OR status IN (SELECT jsonb_array_elements_text($2::jsonb)))
                AND ($3::jsonb IS NULL
                     OR current_step IN (SELECT jsonb_array_elements_text($3::jsonb)))
                AND ($4::timestamptz IS NULL OR overdue OR due_at <= $4)
                AND ($5::text IS NULL OR case_id > $5)
              ORDER BY case_id
              LIMIT $6"
        ))
        .bind(filter.sop_id.as_deref())
        .bind(json_list(filter.statuses.as_ref())?)
        .bind(json_list(filter.current_steps.as_ref())?)
        .bind(filter.overdue_at.map(to_stored))
        .bind(page.after.as_deref())
        .bind(i64::from(page.limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(case_record).collect()
    }

    pub async fn count_cases_by_status(&self) -> Result<Vec<(String, String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT sop_id, status, COUNT(*) FROM cases GROUP BY sop_id, status
             ORDER BY sop_id, status",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    pub async fn case_salt(&self, case_id: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT salt FROM case_salts WHERE case_id = $1")
                .bind(case_id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn file(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT bytes FROM files WHERE sha256 = $1")
                .bind(sha256)
                .fetch_optional(&self.pool)
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
        let until = to_stored(lease_end(now, lease)?);
        let rows = sqlx::query(concat!(
            "UPDATE cases SET timer_claimed_by = $1, timer_lease_until = $3
             WHERE case_id IN (
                 SELECT case_id FROM cases
                 WHERE due_at IS NOT NULL AND due_at <= $2
                   AND (timer_lease_until IS NULL OR timer_lease_until <= $2)
                 ORDER BY due_at, case_id
                 LIMIT $4
                 FOR UPDATE SKIP LOCKED)
             RETURNING ",
            case_columns!()
        ))
        .bind(worker)
        .bind(to_stored(now))
        .bind(until)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
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
        let until = to_stored(lease_end(now, lease)?);
        let rows = sqlx::query(concat!(
            "UPDATE outbox
             SET status = 'claimed', claimed_by = $1, lease_until = $3,
                 attempts = attempts + 1, updated_at = $2
             WHERE id IN (
                 SELECT id FROM outbox
                 WHERE (status IN ('pending', 'failed') AND next_attempt_at <= $2)
                    OR (status = 'claimed' AND lease_until <= $2)
                 ORDER BY next_attempt_at, id
                 LIMIT $4
                 FOR UPDATE SKIP LOCKED)
             RETURNING ",
            outbox_columns!()
        ))
        .bind(worker)
        .bind(to_stored(now))
        .bind(until)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
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
        .bind(to_stored(now))
        .execute(&self.pool)
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
        .bind(to_stored(next_attempt_at))
        .bind(to_stored(now))
        .execute(&self.pool)
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
            .fetch_optional(&self.pool)
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
        .fetch_all(&self.pool)
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
        .bind(to_stored(now))
        .execute(&self.pool)
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
        .fetch_all(&self.pool)
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
        .bind(to_stored(now))
        .fetch_one(&self.pool)
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
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(user).transpose()
    }

    pub async fn list_users(&self) -> Result<Vec<User>> {
        let rows =
            sqlx::query("SELECT id, name, role, token_hash, created_at FROM users ORDER BY name")
                .fetch_all(&self.pool)
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
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(stored_response).transpose()
    }
}

impl PgTx {
    pub async fn case(&mut self, case_id: &str) -> Result<Option<CaseRecord>> {
        // FOR UPDATE: a concurrent command on this case waits for our commit, then reads ours.
        let row = sqlx::query(concat!(
            "SELECT ",
            case_columns!(),
            " FROM cases WHERE case_id = $1 FOR UPDATE"
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

    pub async fn case_and_salt(
        &mut self,
        case_id: &str,
    ) -> Result<Option<(CaseRecord, Option<String>)>> {
        // FOR UPDATE locks the case row, as `case` does; the salt is read alongside.
        let row = sqlx::query(concat!(
            "SELECT ",
            case_columns!(),
            ", (SELECT salt FROM case_salts WHERE case_id = $1) AS salt",
            " FROM cases WHERE case_id = $1 FOR UPDATE"
        ))
        .bind(case_id)
        .fetch_optional(&mut *self.tx)
        .await?;
        row.as_ref()
            .map(|row| Ok((case_record(row)?, row.try_get("salt")?)))
            .transpose()
    }

    pub async fn case_salt(&mut self, case_id: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT salt FROM case_salts WHERE case_id = $1")
                .bind(case_id)
                .fetch_optional(&mut *self.tx)
                .await?,
        )
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
        // The upsert locks the counter row until commit: the next taker waits for our number.
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
        let updated_at = to_stored(projection.updated_at);
        let due_at = projection.due_at.map(to_stored);
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
            .bind(updated_at)
            .bind(due_at)
            .bind(projection.overdue)
            .execute(&mut *self.tx)
            .await?;
            if created.rows_affected() == 0 {
                return Err(self.mismatch(case_id, expected_version).await);
            }
        } else {
            // Waits for a concurrent append's row lock, then re-checks the version: the loser
            // updates nothing and reports the conflict.
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
            .bind(updated_at)
            .bind(due_at)
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
        // is a round trip to the server.
        let rows = (expected_version + 1..)
            .zip(events)
            .map(|(seq, e)| Ok((seq, e, payload_text(&e.payload)?)))
            .collect::<Result<Vec<_>>>()?;
        for chunk in rows.chunks(EVENTS_PER_INSERT) {
            let mut insert = QueryBuilder::<Postgres>::new(
                "INSERT INTO events (case_id, seq, kind, recorded_at, user_name, role, payload,
                                     prev_hash, hash) ",
            );
            insert.push_values(chunk, |mut row, (seq, e, payload)| {
                row.push_bind(case_id)
                    .push_bind(*seq)
                    .push_bind(e.kind.as_str())
                    .push_bind(to_stored(e.recorded_at))
                    .push_bind(e.user_name.as_str())
                    .push_bind(e.role.as_str())
                    .push_bind(payload.as_str())
                    .push_unseparated("::json")
                    .push_bind(e.prev_hash.as_str())
                    .push_bind(e.hash.as_str());
            });
            let inserted = insert.build().execute(&mut *self.tx).await;
            match inserted {
                // Events beyond the projection's version: someone wrote them around the store.
                // The transaction is aborted now; read the committed state instead.
                Err(err) if is_unique_violation(&err) => {
                    let last: Result<Option<i64>, _> =
                        sqlx::query_scalar("SELECT MAX(seq) FROM events WHERE case_id = $1")
                            .bind(case_id)
                            .fetch_one(&self.pool)
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
            .bind(Json(&o.payload))
            .bind(to_stored(o.next_attempt_at))
            .bind(updated_at)
            .execute(&mut *self.tx)
            .await?;
        }
        Ok(())
    }

    /// The error for an append whose version or chain check failed: what is the case now?
    async fn mismatch(&mut self, case_id: &str, expected_version: i64) -> Error {
        // A new statement sees what the concurrent append committed (READ COMMITTED).
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
        .bind(to_stored(response.created_at))
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

    pub async fn commit(self) -> Result<()> {
        Ok(self.tx.commit().await?)
    }

    pub async fn rollback(self) -> Result<()> {
        Ok(self.tx.rollback().await?)
    }
}

fn decode_error(column: &str, source: impl std::error::Error + Send + Sync + 'static) -> Error {
    Error::Database(sqlx::Error::ColumnDecode {
        index: column.to_owned(),
        source: Box::new(source),
    })
}

fn sop_version(row: &PgRow) -> Result<SopVersion> {
    Ok(SopVersion {
        sop_id: row.try_get("sop_id")?,
        version: row.try_get("version")?,
        content_hash: row.try_get("content_hash")?,
        yaml: row.try_get("yaml")?,
        created_at: row.try_get("created_at")?,
    })
}

fn case_record(row: &PgRow) -> Result<CaseRecord> {
    Ok(CaseRecord {
        case_id: row.try_get("case_id")?,
        sop_id: row.try_get("sop_id")?,
        sop_version: row.try_get("sop_version")?,
        status: row.try_get("status")?,
        current_step: row.try_get("current_step")?,
        version: row.try_get("version")?,
        head_hash: row.try_get("head_hash")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
        due_at: row.try_get("due_at")?,
        overdue: row.try_get("overdue")?,
    })
}

fn event(row: &PgRow) -> Result<Event> {
    let payload: String = row.try_get("payload")?;
    Ok(Event {
        case_id: row.try_get("case_id")?,
        seq: row.try_get("seq")?,
        kind: row.try_get("kind")?,
        recorded_at: row.try_get("recorded_at")?,
        user_name: row.try_get("user_name")?,
        role: row.try_get("role")?,
        payload: serde_json::from_str(&payload).map_err(|e| decode_error("payload", e))?,
        prev_hash: row.try_get("prev_hash")?,
        hash: row.try_get("hash")?,
    })
}

fn outbox_item(row: &PgRow) -> Result<OutboxItem> {
    let status: String = row.try_get("status")?;
    let Json(payload) = row.try_get("payload")?;
    Ok(OutboxItem {
        id: row.try_get("id")?,
        case_id: row.try_get("case_id")?,
        seq: row.try_get("seq")?,
        idempotency_key: row.try_get("idempotency_key")?,
        adapter: row.try_get("adapter")?,
        payload,
        status: OutboxStatus::parse(&status).ok_or_else(|| {
            Error::Database(sqlx::Error::Decode(
                format!("unknown outbox status {status:?}").into(),
            ))
        })?,
        attempts: row.try_get("attempts")?,
        next_attempt_at: row.try_get("next_attempt_at")?,
        claimed_by: row.try_get("claimed_by")?,
        lease_until: row.try_get("lease_until")?,
        last_error: row.try_get("last_error")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn user(row: &PgRow) -> Result<User> {
    Ok(User {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: row.try_get("role")?,
        token_hash: row.try_get("token_hash")?,
        created_at: row.try_get("created_at")?,
    })
}

fn stored_response(row: &PgRow) -> Result<StoredResponse> {
    let status: i32 = row.try_get("status_code")?;
    Ok(StoredResponse {
        request_hash: row.try_get("request_hash")?,
        status_code: u16::try_from(status).map_err(|e| decode_error("status_code", e))?,
        body: row.try_get("response_body")?,
        created_at: row.try_get("created_at")?,
    })
}

// After the column macros above, which it uses.
mod front_office;
