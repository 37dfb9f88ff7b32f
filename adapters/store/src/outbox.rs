//! The outbox: effects to deliver, claimed under a lease by one worker at a time.

use time::{Duration, OffsetDateTime};

use crate::dialect::sql;
use crate::error::{Error, Result};
use crate::store::{Store, on_backend};
use crate::timestamp::{Ts, lease_end};
use crate::types::{OutboxItem, OutboxStatus};

impl Store {
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
        let until = lease_end(now, lease)?;
        let mut items: Vec<OutboxItem> = on_backend!(Store, self, |s| {
            sqlx::query_as(sql!(DB:
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
            .fetch_all(&s.write)
            .await?
        });
        items.sort_by_key(|i| (i.next_attempt_at, i.id));
        Ok(items)
    }

    /// Marks a row claimed by `worker` as delivered. [`Error::LeaseLost`] if another worker
    /// has claimed it since.
    pub async fn complete_outbox(&self, id: i64, worker: &str, now: OffsetDateTime) -> Result<()> {
        let done = on_backend!(Store, self, |s| {
            sqlx::query(
                "UPDATE outbox SET status = 'done', lease_until = NULL, updated_at = $3
                 WHERE id = $1 AND status = 'claimed' AND claimed_by = $2",
            )
            .bind(id)
            .bind(worker)
            .bind(Ts(now))
            .execute(&s.write)
            .await?
            .rows_affected()
        });
        if done == 1 {
            return Ok(());
        }
        self.not_claimed(id, worker).await
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
        let status = if give_up {
            OutboxStatus::Incident
        } else {
            OutboxStatus::Failed
        };
        let failed = on_backend!(Store, self, |s| {
            sqlx::query(
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
            .execute(&s.write)
            .await?
            .rows_affected()
        });
        if failed == 1 {
            return Ok(());
        }
        self.not_claimed(id, worker).await
    }

    /// Why `worker` could not report on row `id`.
    async fn not_claimed(&self, id: i64, worker: &str) -> Result<()> {
        let exists: Option<i64> = on_backend!(Store, self, |s| {
            sqlx::query_scalar("SELECT id FROM outbox WHERE id = $1")
                .bind(id)
                .fetch_optional(&s.write)
                .await?
        });
        match exists {
            None => Err(Error::NotFound(format!("outbox row {id}"))),
            Some(_) => Err(Error::LeaseLost {
                id,
                worker: worker.to_owned(),
            }),
        }
    }

    /// Outbox rows that were given up, oldest first.
    pub async fn list_incidents(&self) -> Result<Vec<OutboxItem>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(sql!(DB:
                "SELECT " outbox_columns " FROM outbox WHERE status = 'incident'
                 ORDER BY updated_at, id"
            ))
            .fetch_all(&s.read)
            .await?)
        })
    }

    /// Puts an incident back in the queue, due at `now`, with its attempt count reset (its
    /// last error is kept). [`Error::NotFound`] if `id` is not an incident.
    pub async fn retry_incident(&self, id: i64, now: OffsetDateTime) -> Result<()> {
        let retried = on_backend!(Store, self, |s| {
            sqlx::query(
                "UPDATE outbox
                 SET status = 'pending', attempts = 0, next_attempt_at = $2, claimed_by = NULL,
                     lease_until = NULL, updated_at = $2
                 WHERE id = $1 AND status = 'incident'",
            )
            .bind(id)
            .bind(Ts(now))
            .execute(&s.write)
            .await?
            .rows_affected()
        });
        if retried == 1 {
            Ok(())
        } else {
            Err(Error::NotFound(format!("outbox incident {id}")))
        }
    }

    /// The outbox rows of the cases `case_ids`, by id, in one statement.
    pub async fn outbox_of_cases(&self, case_ids: &[String]) -> Result<Vec<OutboxItem>> {
        let ids = crate::cases::ids_json(case_ids)?;
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(sql!(DB:
                "SELECT " outbox_columns " FROM outbox WHERE case_id IN " json_array("$1") "
                 ORDER BY id"
            ))
            .bind(&ids)
            .fetch_all(&s.read)
            .await?)
        })
    }

    /// The outbox rows of one case, by id.
    pub async fn outbox_for_case(&self, case_id: &str) -> Result<Vec<OutboxItem>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(sql!(DB:
                "SELECT " outbox_columns " FROM outbox WHERE case_id = $1 ORDER BY id"
            ))
            .bind(case_id)
            .fetch_all(&s.read)
            .await?)
        })
    }
}
