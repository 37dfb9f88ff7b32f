//! Erasure of a closed case's personal data (UU 27/2022): the stored event JSON keeps the
//! salted hashes of its personal values instead of the values, the salt goes, the outbox rows
//! are redacted the same way, the case's uploaded scans and its searchable fields' hashes go. The chain and the log are
//! untouched (they cover the salted hashes). Every erasure is recorded (`erasures`,
//! append-only) and is itself a leaf of the log. What to write is the caller's (the audit
//! crate knows the events); the store writes it in one transaction.

use time::OffsetDateTime;

use crate::codec;
use crate::dialect::sql;
use crate::error::{Error, Result, is_unique_violation};
use crate::log::{Erasure, erasure_new_leaf};
use crate::store::{Store, Tx, on_backend};
use crate::timestamp::Ts;

/// An erasure to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewErasure {
    pub case_id: String,
    pub at: OffsetDateTime,
    pub user_name: String,
    pub role: String,
    /// `request` or `retention`.
    pub source: String,
    pub reason: String,
}

/// What an erasure writes besides its record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Redaction {
    /// (seq, the event's JSON with its personal values replaced by their salted hashes).
    pub events: Vec<(u64, serde_json::Value)>,
    /// (outbox id, its payload redacted the same way).
    pub outbox: Vec<(i64, serde_json::Value)>,
    /// The SHA-256 of the case's uploaded scans: deleted unless another case holds them too.
    pub files: Vec<String>,
}

impl Tx {
    /// Erases a case's personal data as `redaction` says and records it; returns the record.
    /// [`Error::AlreadyExists`] if the case was erased before.
    pub async fn erase_case(
        &mut self,
        erasure: &NewErasure,
        redaction: &Redaction,
    ) -> Result<Erasure> {
        let events = i64::try_from(redaction.events.len()).unwrap_or(i64::MAX);
        let record: Erasure = on_backend!(Tx, self, |t| {
            // First: the events' trigger lets an erased case's JSON change, nothing else.
            let record: Erasure = sqlx::query_as(
                "INSERT INTO erasures (case_id, at, user_name, role, source, reason, events)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 RETURNING id, case_id, at, user_name, role, source, reason, events",
            )
            .bind(erasure.case_id.as_str())
            .bind(Ts(erasure.at))
            .bind(erasure.user_name.as_str())
            .bind(erasure.role.as_str())
            .bind(erasure.source.as_str())
            .bind(erasure.reason.as_str())
            .bind(events)
            .fetch_one(&mut *t.conn)
            .await
            .map_err(|e| match is_unique_violation(&e) {
                true => Error::AlreadyExists(format!("an erasure of case {}", erasure.case_id)),
                false => e.into(),
            })?;
            for (seq, payload) in &redaction.events {
                let text = serde_json::to_string(payload)
                    .map_err(|e| Error::Invalid(format!("payload: {e}")))?;
                // Written as new rows are, whichever codec wrote the row.
                let (codec, bytes) = codec::encode(&text)?;
                let updated = sqlx::query(
                    "UPDATE events SET codec = $1, payload = $2 WHERE case_id = $3 AND seq = $4",
                )
                .bind(codec)
                .bind(bytes)
                .bind(erasure.case_id.as_str())
                .bind(crate::seq::bound(*seq)?)
                .execute(&mut *t.conn)
                .await?;
                if updated.rows_affected() != 1 {
                    return Err(Error::NotFound(format!(
                        "event {seq} of case {}",
                        erasure.case_id
                    )));
                }
            }
            sqlx::query("DELETE FROM case_salts WHERE case_id = $1")
                .bind(erasure.case_id.as_str())
                .execute(&mut *t.conn)
                .await?;
            // The searchable fields' hashes are unsalted (a NIK's could be found by trying
            // every NIK): they are personal data too.
            sqlx::query("DELETE FROM case_search WHERE case_id = $1")
                .bind(erasure.case_id.as_str())
                .execute(&mut *t.conn)
                .await?;
            for (id, payload) in &redaction.outbox {
                sqlx::query("UPDATE outbox SET payload = $1 WHERE id = $2 AND case_id = $3")
                    .bind(sqlx::types::Json(payload))
                    .bind(*id)
                    .bind(erasure.case_id.as_str())
                    .execute(&mut *t.conn)
                    .await?;
            }
            record
        });
        // Content-addressed: another case whose events name the same scan keeps it. The
        // payloads are compressed, so the search is here, over every other case's events
        // once (an erasure with scans is rare; its cost grows with the store).
        let shared = self
            .files_named_elsewhere(&erasure.case_id, &redaction.files)
            .await?;
        on_backend!(Tx, self, |t| {
            for sha256 in redaction.files.iter().filter(|f| !shared.contains(*f)) {
                sqlx::query("DELETE FROM files WHERE sha256 = $1")
                    .bind(sha256.as_str())
                    .execute(&mut *t.conn)
                    .await?;
            }
        });
        // Last: the leaf locks the log's size until commit.
        self.add_leaves(&[erasure_new_leaf(&record)]).await?;
        Ok(record)
    }
}

impl Tx {
    /// Which of `files` (SHA-256 hex) the events of a case other than `case_id` name.
    async fn files_named_elsewhere(
        &mut self,
        case_id: &str,
        files: &[String],
    ) -> Result<Vec<String>> {
        use futures::TryStreamExt as _;

        let mut named = Vec::new();
        if files.is_empty() {
            return Ok(named);
        }
        on_backend!(Tx, self, |t| {
            let mut rows = sqlx::query_as::<_, (i16, Vec<u8>)>(
                "SELECT codec, payload FROM events WHERE case_id <> $1",
            )
            .bind(case_id)
            .fetch(&mut *t.conn);
            while let Some((codec, payload)) = rows.try_next().await? {
                let text = codec::decode(codec, &payload)?;
                for f in files {
                    if !named.contains(f) && text.contains(f.as_str()) {
                        named.push(f.clone());
                    }
                }
                if named.len() == files.len() {
                    break;
                }
            }
        });
        Ok(named)
    }
}

impl Store {
    /// Recorded erasures with an id above `after_id`, oldest first, at most `limit`.
    pub async fn erasures(&self, after_id: i64, limit: u32) -> Result<Vec<Erasure>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(
                "SELECT id, case_id, at, user_name, role, source, reason, events FROM erasures
                 WHERE id > $1 ORDER BY id LIMIT $2",
            )
            .bind(after_id)
            .bind(i64::from(limit))
            .fetch_all(&s.read)
            .await?)
        })
    }

    /// The erasures of those of the cases `case_ids` that were erased, in one statement.
    pub async fn erasures_of_cases(&self, case_ids: &[String]) -> Result<Vec<Erasure>> {
        let ids = crate::cases::ids_json(case_ids)?;
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(sql!(DB:
                "SELECT id, case_id, at, user_name, role, source, reason, events FROM erasures
                 WHERE case_id IN " json_array("$1")
            ))
            .bind(&ids)
            .fetch_all(&s.read)
            .await?)
        })
    }

    /// The erasure of a case, if it was erased.
    pub async fn erasure_of(&self, case_id: &str) -> Result<Option<Erasure>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(
                "SELECT id, case_id, at, user_name, role, source, reason, events FROM erasures
                 WHERE case_id = $1",
            )
            .bind(case_id)
            .fetch_optional(&s.read)
            .await?)
        })
    }

    /// Cases listed as closed (completed or cancelled) at or before `closed_before` and not
    /// erased, oldest first, at most `limit`: what a retention rule erases next. The listing is
    /// a projection: the eraser checks each case's history before erasing it.
    pub async fn closed_unerased(
        &self,
        closed_before: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<String>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_scalar(
                "SELECT case_id FROM cases
                 WHERE status IN ('completed', 'cancelled') AND updated_at <= $1
                   AND NOT EXISTS (SELECT 1 FROM erasures x WHERE x.case_id = cases.case_id)
                 ORDER BY updated_at, case_id LIMIT $2",
            )
            .bind(Ts(closed_before))
            .bind(i64::from(limit))
            .fetch_all(&s.read)
            .await?)
        })
    }
}
