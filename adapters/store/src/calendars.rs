//! Calendars cases are pinned to: canonical texts by content hash, written once, immutable.

use time::OffsetDateTime;

use crate::error::Result;
use crate::store::{Store, Tx, on_backend};
use crate::timestamp::Ts;

/// A calendar as a case was pinned to it (see migration 0007).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredCalendar {
    /// SHA-256 (hex) of `canonical`, which the caller computed.
    pub content_hash: String,
    /// The id it was first configured by.
    pub calendar_id: String,
    pub canonical: String,
    #[sqlx(try_from = "Ts")]
    pub created_at: OffsetDateTime,
}

impl Tx {
    /// Keeps a calendar's canonical text under its content hash, in the transaction of the
    /// case that pins it; a hash already kept is left as it is (the same hash is the same
    /// text).
    pub async fn put_calendar(
        &mut self,
        content_hash: &str,
        calendar_id: &str,
        canonical: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        on_backend!(Tx, self, |t| {
            sqlx::query(
                "INSERT INTO calendars (content_hash, calendar_id, canonical, created_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (content_hash) DO NOTHING",
            )
            .bind(content_hash)
            .bind(calendar_id)
            .bind(canonical)
            .bind(Ts(now))
            .execute(&mut *t.conn)
            .await?;
            Ok(())
        })
    }
}

impl Store {
    /// The calendar kept under `content_hash`.
    pub async fn calendar(&self, content_hash: &str) -> Result<Option<StoredCalendar>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(
                "SELECT content_hash, calendar_id, canonical, created_at
                 FROM calendars WHERE content_hash = $1",
            )
            .bind(content_hash)
            .fetch_optional(&s.read)
            .await?)
        })
    }
}
