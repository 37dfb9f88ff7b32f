//! Every statement of the store, written once for both backends: generic over the database,
//! with the few SQL fragments that differ spliced in by [`sql!`] (see `dialect.rs`), times
//! bound and read as [`Ts`], rows read by the `FromRow` derives of `types.rs`.
//!
//! The `where` clauses say what sqlx must supply for the types bound and read here; both
//! backends supply all of it, and the compiler checks that where `Store` picks one.

use sqlx::types::Json;
use sqlx::{Encode, Executor, FromRow, IntoArguments, QueryBuilder, Type};
use time::{Date, Duration, OffsetDateTime};

use crate::Savepoint;
use crate::audit::{AuditAccess, NewAuditAccess};
use crate::backend::{Backend, DbTx};
use crate::dialect::{Dialect, sql};
use crate::error::{Error, Result, is_unique_violation};
use crate::timestamp::Ts;
use crate::types::{
    CaseFilter, CaseProjection, CaseRecord, Event, NewEvent, NewOutbox, OutboxItem, OutboxStatus,
    Page, SopVersion, StoredResponse, User,
};

/// Lost races on a new SOP version before giving up (each lost race means another succeeded).
const SOP_VERSION_ATTEMPTS: usize = 50;

/// Events per multi-row `INSERT`: 9 parameters each, well under SQLite's (32,766) and
/// PostgreSQL's (65,535) limits on parameters per statement.
const EVENTS_PER_INSERT: usize = 500;

/// What [`DbTx::case_and_salt`] reads: the case row and, beside it, its salt.
#[derive(sqlx::FromRow)]
pub struct CaseAndSalt {
    #[sqlx(flatten)]
    case: CaseRecord,
    salt: Option<String>,
}

impl<DB> Backend<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> Ts: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<Ts>: Encode<'q, DB> + Type<DB>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
    for<'r> (String,): FromRow<'r, DB::Row>,
    for<'r> (Vec<u8>,): FromRow<'r, DB::Row>,
    for<'r> (String, String, i64): FromRow<'r, DB::Row>,
    for<'r> SopVersion: FromRow<'r, DB::Row>,
    for<'r> CaseRecord: FromRow<'r, DB::Row>,
    for<'r> Event: FromRow<'r, DB::Row>,
    for<'r> OutboxItem: FromRow<'r, DB::Row>,
    for<'r> User: FromRow<'r, DB::Row>,
    for<'r> StoredResponse: FromRow<'r, DB::Row>,
    for<'r> AuditAccess: FromRow<'r, DB::Row>,
{
    // ---- SOP versions ----

    pub(crate) async fn put_sop_version(
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
            .fetch_optional(&self.write)
            .await?;
            if let Some(version) = existing {
                return Ok((version, false));
            }
            // DO NOTHING on either unique key: another process took the number or deployed
            // the same text (on PostgreSQL, after waiting for it to commit); look again.
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
            .bind(Ts(now))
            .fetch_optional(&self.write)
            .await?;
            if let Some(version) = created {
                return Ok((version, true));
            }
        }
        Err(Error::Busy(format!(
            "could not number a new version of {sop_id}"
        )))
    }

    pub(crate) async fn sop_versions(&self, sop_id: &str) -> Result<Vec<SopVersion>> {
        Ok(sqlx::query_as(sql!(DB:
            "SELECT " sop_columns " FROM sop_versions WHERE sop_id = $1 ORDER BY version"
        ))
        .bind(sop_id)
        .fetch_all(&self.read)
        .await?)
    }

    pub(crate) async fn sop_version(
        &self,
        sop_id: &str,
        version: i64,
    ) -> Result<Option<SopVersion>> {
        Ok(sqlx::query_as(sql!(DB:
            "SELECT " sop_columns " FROM sop_versions WHERE sop_id = $1 AND version = $2"
        ))
        .bind(sop_id)
        .bind(version)
        .fetch_optional(&self.read)
        .await?)
    }

    pub(crate) async fn latest_sop_versions(&self) -> Result<Vec<SopVersion>> {
        Ok(sqlx::query_as(sql!(DB:
            "SELECT " sop_columns " FROM sop_versions s
             WHERE version = (SELECT MAX(version) FROM sop_versions m WHERE m.sop_id = s.sop_id)
             ORDER BY sop_id"
        ))
        .fetch_all(&self.read)
        .await?)
    }

    pub(crate) async fn all_sop_versions(&self) -> Result<Vec<SopVersion>> {
        Ok(sqlx::query_as(sql!(DB:
            "SELECT " sop_columns " FROM sop_versions ORDER BY sop_id, version"
        ))
        .fetch_all(&self.read)
        .await?)
    }

    // ---- cases and events ----

    pub(crate) async fn case(&self, case_id: &str) -> Result<Option<CaseRecord>> {
        Ok(
            sqlx::query_as(sql!(DB: "SELECT " case_columns " FROM cases WHERE case_id = $1"))
                .bind(case_id)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    pub(crate) async fn events_since(&self, case_id: &str, seq: i64) -> Result<Vec<Event>> {
        Ok(sqlx::query_as(sql!(DB:
            "SELECT " event_columns " FROM events WHERE case_id = $1 AND seq > $2 ORDER BY seq"
        ))
        .bind(case_id)
        .bind(seq)
        .fetch_all(&self.read)
        .await?)
    }

    pub(crate) async fn list_cases(
        &self,
        filter: &CaseFilter,
        page: &Page,
    ) -> Result<Vec<CaseRecord>> {
        let statuses = json_list(filter.statuses.as_ref())?;
        let current_steps = json_list(filter.current_steps.as_ref())?;
        // case_id orders bytewise on both (PostgreSQL: COLLATE "C"): pages are the same.
        Ok(sqlx::query_as(sql!(DB:
            "SELECT " case_columns " FROM cases
             WHERE ($1 IS NULL OR sop_id = $1)
               AND ($2 IS NULL OR status IN " json_array("$2") ")
               AND ($3 IS NULL OR current_step IN " json_array("$3") ")
               AND ($4 IS NULL OR overdue OR due_at <= $4)
               AND ($5 IS NULL OR case_id > $5)
             ORDER BY case_id
             LIMIT $6"
        ))
        .bind(filter.sop_id.as_deref())
        .bind(statuses.as_deref())
        .bind(current_steps.as_deref())
        .bind(filter.overdue_at.map(Ts))
        .bind(page.after.as_deref())
        .bind(i64::from(page.limit))
        .fetch_all(&self.read)
        .await?)
    }

    pub(crate) async fn claim_due_cases(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<CaseRecord>> {
        let until = lease_end(now, lease)?;
        // The choice and the claim in one statement.
        let mut cases: Vec<CaseRecord> = sqlx::query_as(sql!(DB:
            "UPDATE cases SET timer_claimed_by = $1, timer_lease_until = $3
             WHERE case_id IN (
                 SELECT case_id FROM cases
                 WHERE due_at IS NOT NULL AND due_at <= $2
                   AND (timer_lease_until IS NULL OR timer_lease_until <= $2)
                 ORDER BY due_at, case_id
                 LIMIT $4" skip_locked ")
             RETURNING " case_columns
        ))
        .bind(worker)
        .bind(Ts(now))
        .bind(Ts(until))
        .bind(i64::from(limit))
        .fetch_all(&self.write)
        .await?;
        cases.sort_by(|a, b| (a.due_at, &a.case_id).cmp(&(b.due_at, &b.case_id)));
        Ok(cases)
    }

    pub(crate) async fn count_cases_by_status(&self) -> Result<Vec<(String, String, i64)>> {
        Ok(sqlx::query_as(
            "SELECT sop_id, status, COUNT(*) FROM cases GROUP BY sop_id, status
             ORDER BY sop_id, status",
        )
        .fetch_all(&self.read)
        .await?)
    }

    pub(crate) async fn case_salt(&self, case_id: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT salt FROM case_salts WHERE case_id = $1")
                .bind(case_id)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    pub(crate) async fn file(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        Ok(
            sqlx::query_scalar("SELECT bytes FROM files WHERE sha256 = $1")
                .bind(sha256)
                .fetch_optional(&self.read)
                .await?,
        )
    }

    // ---- outbox ----

    pub(crate) async fn claim_outbox(
        &self,
        worker: &str,
        now: OffsetDateTime,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<OutboxItem>> {
        let until = lease_end(now, lease)?;
        let mut items: Vec<OutboxItem> = sqlx::query_as(sql!(DB:
            "UPDATE outbox
             SET status = 'claimed', claimed_by = $1, lease_until = $3,
                 attempts = attempts + 1, updated_at = $2
             WHERE id IN (
                 SELECT id FROM outbox
                 WHERE (status IN ('pending', 'failed') AND next_attempt_at <= $2)
                    OR (status = 'claimed' AND lease_until <= $2)
                 ORDER BY next_attempt_at, id
                 LIMIT $4" skip_locked ")
             RETURNING " outbox_columns
        ))
        .bind(worker)
        .bind(Ts(now))
        .bind(Ts(until))
        .bind(i64::from(limit))
        .fetch_all(&self.write)
        .await?;
        items.sort_by_key(|i| (i.next_attempt_at, i.id));
        Ok(items)
    }

    pub(crate) async fn complete_outbox(
        &self,
        id: i64,
        worker: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE outbox SET status = 'done', lease_until = NULL, updated_at = $3
             WHERE id = $1 AND status = 'claimed' AND claimed_by = $2",
        )
        .bind(id)
        .bind(worker)
        .bind(Ts(now))
        .execute(&self.write)
        .await?;
        if DB::rows_affected(&done) == 1 {
            return Ok(());
        }
        self.not_claimed(id, worker).await
    }

    pub(crate) async fn fail_outbox(
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
        .bind(Ts(next_attempt_at))
        .bind(Ts(now))
        .execute(&self.write)
        .await?;
        if DB::rows_affected(&failed) == 1 {
            return Ok(());
        }
        self.not_claimed(id, worker).await
    }

    /// Why `worker` could not report on row `id`.
    async fn not_claimed(&self, id: i64, worker: &str) -> Result<()> {
        let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM outbox WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.write)
            .await?;
        match exists {
            None => Err(Error::NotFound(format!("outbox row {id}"))),
            Some(_) => Err(Error::LeaseLost {
                id,
                worker: worker.to_owned(),
            }),
        }
    }

    pub(crate) async fn list_incidents(&self) -> Result<Vec<OutboxItem>> {
        Ok(sqlx::query_as(sql!(DB:
            "SELECT " outbox_columns " FROM outbox WHERE status = 'incident'
             ORDER BY updated_at, id"
        ))
        .fetch_all(&self.read)
        .await?)
    }

    pub(crate) async fn retry_incident(&self, id: i64, now: OffsetDateTime) -> Result<()> {
        let retried = sqlx::query(
            "UPDATE outbox
             SET status = 'pending', attempts = 0, next_attempt_at = $2, claimed_by = NULL,
                 lease_until = NULL, updated_at = $2
             WHERE id = $1 AND status = 'incident'",
        )
        .bind(id)
        .bind(Ts(now))
        .execute(&self.write)
        .await?;
        if DB::rows_affected(&retried) == 1 {
            Ok(())
        } else {
            Err(Error::NotFound(format!("outbox incident {id}")))
        }
    }

    pub(crate) async fn outbox_for_case(&self, case_id: &str) -> Result<Vec<OutboxItem>> {
        Ok(sqlx::query_as(sql!(DB:
            "SELECT " outbox_columns " FROM outbox WHERE case_id = $1 ORDER BY id"
        ))
        .bind(case_id)
        .fetch_all(&self.read)
        .await?)
    }

    // ---- users ----

    pub(crate) async fn add_user(
        &self,
        name: &str,
        role: &str,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<User> {
        sqlx::query_as(sql!(DB:
            "INSERT INTO users (name, role, token_hash, created_at) VALUES ($1, $2, $3, $4)
             RETURNING " user_columns
        ))
        .bind(name)
        .bind(role)
        .bind(token_hash)
        .bind(Ts(now))
        .fetch_one(&self.write)
        .await
        .map_err(|e| match is_unique_violation(&e) {
            true => Error::AlreadyExists(format!("user {name} or their token")),
            false => e.into(),
        })
    }

    pub(crate) async fn user_by_token_hash(&self, token_hash: &str) -> Result<Option<User>> {
        Ok(sqlx::query_as(sql!(DB:
            "SELECT " user_columns " FROM users WHERE token_hash = $1"
        ))
        .bind(token_hash)
        .fetch_optional(&self.read)
        .await?)
    }

    pub(crate) async fn list_users(&self) -> Result<Vec<User>> {
        Ok(
            sqlx::query_as(sql!(DB: "SELECT " user_columns " FROM users ORDER BY name"))
                .fetch_all(&self.read)
                .await?,
        )
    }

    // ---- idempotency ----

    pub(crate) async fn idempotent_response(
        &self,
        user: &str,
        key: &str,
    ) -> Result<Option<StoredResponse>> {
        Ok(sqlx::query_as(
            "SELECT request_hash, status_code, response_body, created_at
             FROM idempotency_keys WHERE user_name = $1 AND key = $2",
        )
        .bind(user)
        .bind(key)
        .fetch_optional(&self.read)
        .await?)
    }

    // ---- the audit-access log ----

    pub(crate) async fn record_audit_access(&self, a: &NewAuditAccess) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "INSERT INTO audit_access (at, user_name, role, action, scope, revealed, reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(Ts(a.at))
        .bind(a.user_name.as_str())
        .bind(a.role.as_str())
        .bind(a.action.as_str())
        .bind(a.scope.as_str())
        .bind(a.revealed)
        .bind(a.reason.as_deref())
        .fetch_one(&self.write)
        .await?)
    }

    pub(crate) async fn audit_accesses(
        &self,
        after_id: i64,
        limit: u32,
    ) -> Result<Vec<AuditAccess>> {
        Ok(sqlx::query_as(
            "SELECT id, at, user_name, role, action, scope, revealed, reason
             FROM audit_access WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?)
    }
}

impl<DB> DbTx<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    DB::Arguments: IntoArguments<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> i32: Encode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'q> Ts: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<Ts>: Encode<'q, DB> + Type<DB>,
    for<'q> Json<&'q serde_json::Value>: Encode<'q, DB> + Type<DB>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
    for<'r> (Option<i64>,): FromRow<'r, DB::Row>,
    for<'r> (String,): FromRow<'r, DB::Row>,
    for<'r> (i64, String): FromRow<'r, DB::Row>,
    for<'r> CaseRecord: FromRow<'r, DB::Row>,
    for<'r> Event: FromRow<'r, DB::Row>,
    for<'r> CaseAndSalt: FromRow<'r, DB::Row>,
{
    pub(crate) async fn case(&mut self, case_id: &str) -> Result<Option<CaseRecord>> {
        Ok(sqlx::query_as(sql!(DB:
            "SELECT " case_columns " FROM cases WHERE case_id = $1" for_update
        ))
        .bind(case_id)
        .fetch_optional(&mut *self.conn)
        .await?)
    }

    pub(crate) async fn events(&mut self, case_id: &str) -> Result<Vec<Event>> {
        Ok(sqlx::query_as(sql!(DB:
            "SELECT " event_columns " FROM events WHERE case_id = $1 ORDER BY seq"
        ))
        .bind(case_id)
        .fetch_all(&mut *self.conn)
        .await?)
    }

    pub(crate) async fn case_and_salt(
        &mut self,
        case_id: &str,
    ) -> Result<Option<(CaseRecord, Option<String>)>> {
        let row: Option<CaseAndSalt> = sqlx::query_as(sql!(DB:
            "SELECT " case_columns ", (SELECT salt FROM case_salts WHERE case_id = $1) AS salt
             FROM cases WHERE case_id = $1" for_update
        ))
        .bind(case_id)
        .fetch_optional(&mut *self.conn)
        .await?;
        Ok(row.map(|row| (row.case, row.salt)))
    }

    pub(crate) async fn case_salt(&mut self, case_id: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT salt FROM case_salts WHERE case_id = $1")
                .bind(case_id)
                .fetch_optional(&mut *self.conn)
                .await?,
        )
    }

    pub(crate) async fn put_case_salt(&mut self, case_id: &str, salt: &str) -> Result<()> {
        sqlx::query("INSERT INTO case_salts (case_id, salt) VALUES ($1, $2)")
            .bind(case_id)
            .bind(salt)
            .execute(&mut *self.conn)
            .await
            .map_err(|e| match is_unique_violation(&e) {
                true => Error::AlreadyExists(format!("the salt of case {case_id}")),
                false => e.into(),
            })?;
        Ok(())
    }

    pub(crate) async fn put_file(&mut self, sha256: &str, bytes: &[u8]) -> Result<()> {
        // Content-addressed: the same hash is the same file, already stored.
        sqlx::query(
            "INSERT INTO files (sha256, bytes) VALUES ($1, $2) ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(sha256)
        .bind(bytes)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    pub(crate) async fn next_queue_number(&mut self, queue_key: &str, day: Date) -> Result<i64> {
        // The upsert locks the counter row until commit: the next taker waits for our number.
        Ok(sqlx::query_scalar(
            "INSERT INTO queue_counters (queue_key, day, last_number) VALUES ($1, $2, 1)
             ON CONFLICT (queue_key, day) DO UPDATE SET last_number = queue_counters.last_number + 1
             RETURNING last_number",
        )
        .bind(queue_key)
        .bind(day_text(day)?.as_str())
        .fetch_one(&mut *self.conn)
        .await?)
    }

    pub(crate) async fn append(
        &mut self,
        case_id: &str,
        expected_version: i64,
        events: &[NewEvent],
        projection: &CaseProjection,
        outbox: &[NewOutbox],
    ) -> Result<()> {
        let updated_at = Ts(projection.updated_at);
        let due_at = projection.due_at.map(Ts);
        let written = if expected_version == 0 {
            sqlx::query(
                "INSERT INTO cases (case_id, sop_id, sop_version, status, current_step, version,
                                    head_hash, created_at, updated_at, due_at, overdue)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10)
                 ON CONFLICT (case_id) DO NOTHING",
            )
            .bind(case_id)
            .bind(projection.sop_id.as_str())
            .bind(projection.sop_version)
            .bind(projection.status.as_str())
            .bind(projection.current_step.as_deref())
            .bind(projection.version)
            .bind(projection.head_hash.as_str())
            .bind(updated_at)
            .bind(due_at)
            .bind(projection.overdue)
            .execute(&mut *self.conn)
            .await?
        } else {
            // The version check and the chain check in one conditional update. On PostgreSQL
            // it waits for a concurrent append's row lock, then re-checks the version: the
            // loser updates nothing and reports the conflict.
            sqlx::query(
                "UPDATE cases
                 SET status = $2, current_step = $3, version = $4, head_hash = $5,
                     updated_at = $6, due_at = $7, overdue = $8,
                     timer_claimed_by = NULL, timer_lease_until = NULL
                 WHERE case_id = $1 AND version = $9 AND head_hash = $10",
            )
            .bind(case_id)
            .bind(projection.status.as_str())
            .bind(projection.current_step.as_deref())
            .bind(projection.version)
            .bind(projection.head_hash.as_str())
            .bind(updated_at)
            .bind(due_at)
            .bind(projection.overdue)
            .bind(expected_version)
            .bind(events[0].prev_hash.as_str())
            .execute(&mut *self.conn)
            .await?
        };
        if DB::rows_affected(&written) == 0 {
            return Err(self.mismatch(case_id, expected_version).await);
        }
        // One statement for the command's events (a command makes a handful): each statement
        // is a round trip to the connection's thread or the server.
        let rows = (expected_version + 1..)
            .zip(events)
            .map(|(seq, e)| Ok((seq, e, payload_text(&e.payload)?)))
            .collect::<Result<Vec<_>>>()?;
        for chunk in rows.chunks(EVENTS_PER_INSERT) {
            let mut insert = QueryBuilder::<DB>::new(
                "INSERT INTO events (case_id, seq, kind, recorded_at, user_name, role, payload,
                                     prev_hash, hash) ",
            );
            insert.push_values(chunk, |mut row, (seq, e, payload)| {
                row.push_bind(case_id)
                    .push_bind(*seq)
                    .push_bind(e.kind.as_str())
                    .push_bind(Ts(e.recorded_at))
                    .push_bind(e.user_name.as_str())
                    .push_bind(e.role.as_str())
                    .push_bind(payload.as_str())
                    .push_unseparated(DB::JSON_TEXT)
                    .push_bind(e.prev_hash.as_str())
                    .push_bind(e.hash.as_str());
            });
            let inserted = insert.build().execute(&mut *self.conn).await;
            match inserted {
                // Events beyond the projection's version: someone wrote them around the store.
                Err(err) if is_unique_violation(&err) => {
                    return Err(self.events_ahead(case_id).await);
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
            .bind(o.idempotency_key.as_str())
            .bind(o.adapter.as_str())
            .bind(Json(&o.payload))
            .bind(Ts(o.next_attempt_at))
            .bind(updated_at)
            .execute(&mut *self.conn)
            .await?;
        }
        Ok(())
    }

    /// The error for an append whose version or chain check failed: what is the case now?
    async fn mismatch(&mut self, case_id: &str, expected_version: i64) -> Error {
        // A new statement sees what a concurrent append committed (PostgreSQL: READ
        // COMMITTED; SQLite: nobody else writes during the transaction).
        let current: Result<Option<(i64, String)>, _> =
            sqlx::query_as("SELECT version, head_hash FROM cases WHERE case_id = $1")
                .bind(case_id)
                .fetch_optional(&mut *self.conn)
                .await;
        match current {
            Err(e) => e.into(),
            Ok(None) => Error::NotFound(format!("case {case_id}")),
            Ok(Some((version, _))) if version != expected_version => Error::Conflict {
                case_id: case_id.to_owned(),
                current_version: version,
            },
            Ok(Some(_)) => Error::Invalid(format!(
                "the first event does not chain to the head of case {case_id}"
            )),
        }
    }

    /// The error for events that go further than the case's projection said: a conflict at
    /// the last event stored. Read in the transaction, or, where the failed insert aborted
    /// it, from the committed state.
    async fn events_ahead(&mut self, case_id: &str) -> Error {
        let last = sqlx::query_scalar("SELECT MAX(seq) FROM events WHERE case_id = $1");
        let last: Result<Option<i64>, _> = match &self.committed {
            Some(pool) => last.bind(case_id).fetch_one(pool).await,
            None => last.bind(case_id).fetch_one(&mut *self.conn).await,
        };
        match last {
            Err(e) => e.into(),
            Ok(last) => Error::Conflict {
                case_id: case_id.to_owned(),
                current_version: last.unwrap_or(0),
            },
        }
    }

    pub(crate) async fn remember_response(
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
        .bind(response.request_hash.as_str())
        .bind(i32::from(response.status_code))
        .bind(response.body.as_str())
        .bind(Ts(response.created_at))
        .execute(&mut *self.conn)
        .await
        .map_err(|e| match is_unique_violation(&e) {
            true => Error::AlreadyExists(format!("idempotency key {key} of {user}")),
            false => e.into(),
        })?;
        Ok(())
    }

    pub(crate) async fn savepoint(&mut self, action: Savepoint) -> Result<()> {
        let sql = match action {
            Savepoint::Set => "SAVEPOINT sopflow_command",
            Savepoint::Release => "RELEASE SAVEPOINT sopflow_command",
            Savepoint::RollBack => "ROLLBACK TO SAVEPOINT sopflow_command",
        };
        sqlx::query(sql).execute(&mut *self.conn).await?;
        Ok(())
    }
}

/// `now + lease`, refusing a lease that overflows the calendar.
fn lease_end(now: OffsetDateTime, lease: Duration) -> Result<OffsetDateTime> {
    if lease.is_negative() {
        return Err(Error::Invalid(format!("lease {lease} is negative")));
    }
    now.checked_add(lease)
        .ok_or_else(|| Error::Invalid(format!("lease {lease} is out of range")))
}

/// Serialises a list filter for the dialect's `json_array` fragment.
fn json_list(values: Option<&Vec<String>>) -> Result<Option<String>> {
    values
        .map(|v| serde_json::to_string(v).map_err(|e| Error::Invalid(e.to_string())))
        .transpose()
}

/// The exact JSON text an event is stored (and hashed) as.
fn payload_text(payload: &serde_json::Value) -> Result<String> {
    serde_json::to_string(payload).map_err(|e| Error::Invalid(format!("payload: {e}")))
}

/// The office's local day as `YYYY-MM-DD`.
fn day_text(day: Date) -> Result<String> {
    day.format(time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|e| Error::Invalid(format!("day {day}: {e}")))
}
