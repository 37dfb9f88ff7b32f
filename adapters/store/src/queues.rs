//! Queue counters: the last number issued per queue per local day.

use time::Date;

use crate::cases::CaseAndSalt;
use crate::dialect::sql;
use crate::error::{Error, Result};
use crate::store::{Store, Tx, on_backend};
use crate::types::CaseRecord;

impl Store {
    /// The next number of `queue_key` on `day`, in its own transaction (see
    /// [`Tx::next_queue_number`] to take it with the command that announces it).
    pub async fn next_queue_number(&self, queue_key: &str, day: Date) -> Result<i64> {
        let mut tx = self.begin().await?;
        let number = tx.next_queue_number(queue_key, day).await?;
        tx.commit().await?;
        Ok(number)
    }
}

impl Store {
    /// Every queue counter: (queue key, local day `YYYY-MM-DD`, last number), by key and day.
    pub async fn queue_counters(&self) -> Result<Vec<(String, String, i64)>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(
                "SELECT queue_key, day, last_number FROM queue_counters ORDER BY queue_key, day",
            )
            .fetch_all(&s.read)
            .await?)
        })
    }
}

impl Tx {
    /// The next number of `queue_key` on `day` (the office's local day). The counter row stays
    /// locked until commit, so numbers are consecutive and unique across processes; a rolled
    /// back transaction gives its number back.
    pub async fn next_queue_number(&mut self, queue_key: &str, day: Date) -> Result<i64> {
        let day = day
            .format(time::macros::format_description!("[year]-[month]-[day]"))
            .map_err(|e| Error::Invalid(format!("day {day}: {e}")))?;
        // The upsert locks the counter row until commit: the next taker waits for our number.
        on_backend!(Tx, self, |t| {
            Ok(sqlx::query_scalar(
                "INSERT INTO queue_counters (queue_key, day, last_number) VALUES ($1, $2, 1)
                 ON CONFLICT (queue_key, day)
                 DO UPDATE SET last_number = queue_counters.last_number + 1
                 RETURNING last_number",
            )
            .bind(queue_key)
            .bind(day.as_str())
            .fetch_one(&mut *t.conn)
            .await?)
        })
    }
}

impl Tx {
    /// Takes the next case waiting in `queue` at `service_point` among the cases of
    /// `sop_ids` (by when it entered the queue, then number: see [`crate::QueuePlace`]) and
    /// locks it until this transaction ends, in one statement that also reads its row and
    /// salt. PostgreSQL skips the cases
    /// other transactions hold (another process calling, or a command on that case), so two
    /// calls at once take two cases and neither waits; a case called meanwhile no longer
    /// matches when its row is locked and the next one is taken. SQLite has one writer: a
    /// call made earlier in the same transaction has already taken its case out of the queue.
    pub async fn claim_waiting(
        &mut self,
        service_point: &str,
        queue: &str,
        sop_ids: &[String],
    ) -> Result<Option<(CaseRecord, Option<String>)>> {
        let sop_ids = serde_json::to_string(sop_ids).map_err(|e| Error::Invalid(e.to_string()))?;
        // The case's row and salt come with it, as `Tx::case_and_salt` reads them: the call
        // needs no second round trip to read the case it took.
        let row: Option<CaseAndSalt> = on_backend!(Tx, self, |t| {
            sqlx::query_as(sql!(DB:
                "SELECT " case_columns ",
                        (SELECT s.salt FROM case_salts s WHERE s.case_id = cases.case_id) AS salt
                 FROM cases
                 WHERE service_point = $1 AND queue_id = $2 AND status = 'open'
                   AND sop_id IN " json_array("$3") "
                 ORDER BY queue_entered_at, queue_sequence, case_id
                 LIMIT 1" skip_locked
            ))
            .bind(service_point)
            .bind(queue)
            .bind(sop_ids.as_str())
            .fetch_optional(&mut *t.conn)
            .await?
        });
        Ok(row.map(|row| (row.case, row.salt)))
    }
}
