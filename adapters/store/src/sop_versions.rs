//! SOP versions: every deployed SOP text, numbered per SOP, immutable.

use time::OffsetDateTime;

use crate::dialect::sql;
use crate::error::{Error, Result};
use crate::store::{Store, on_backend};
use crate::timestamp::{MaybeTs, Ts};
use crate::types::SopVersion;

/// Lost races on a new SOP version before giving up (each lost race means another succeeded).
const SOP_VERSION_ATTEMPTS: usize = 50;

impl Store {
    /// Stores an SOP text and returns its version and whether it is new. The same content hash
    /// gives the existing version back; other content gets the next number. Safe when several
    /// processes deploy at once (a lost race is retried).
    pub async fn put_sop_version(
        &self,
        sop_id: &str,
        content_hash: &str,
        yaml: &str,
        now: OffsetDateTime,
    ) -> Result<(u32, bool)> {
        on_backend!(Store, self, |s| {
            for _ in 0..SOP_VERSION_ATTEMPTS {
                let existing: Option<i64> = sqlx::query_scalar(
                    "SELECT version FROM sop_versions WHERE sop_id = $1 AND content_hash = $2",
                )
                .bind(sop_id)
                .bind(content_hash)
                .fetch_optional(&s.write)
                .await?;
                if let Some(version) = existing {
                    return Ok((version_of(version)?, false));
                }
                // DO NOTHING on either unique key: another process took the number or deployed
                // the same text (PostgreSQL makes this insert wait for it to commit); look again.
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
                .fetch_optional(&s.write)
                .await?;
                if let Some(version) = created {
                    return Ok((version_of(version)?, true));
                }
            }
            Err(Error::Busy(format!(
                "could not number a new version of {sop_id}"
            )))
        })
    }

    /// All versions of one SOP, oldest first.
    pub async fn sop_versions(&self, sop_id: &str) -> Result<Vec<SopVersion>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(sql!(DB:
                "SELECT " sop_columns " FROM sop_versions WHERE sop_id = $1 ORDER BY version"
            ))
            .bind(sop_id)
            .fetch_all(&s.read)
            .await?)
        })
    }

    pub async fn sop_version(&self, sop_id: &str, version: u32) -> Result<Option<SopVersion>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(sql!(DB:
                "SELECT " sop_columns " FROM sop_versions WHERE sop_id = $1 AND version = $2"
            ))
            .bind(sop_id)
            .bind(i64::from(version))
            .fetch_optional(&s.read)
            .await?)
        })
    }

    /// The highest version of each SOP, by sop_id.
    pub async fn latest_sop_versions(&self) -> Result<Vec<SopVersion>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(sql!(DB:
                "SELECT " sop_columns " FROM sop_versions s
                 WHERE version = (SELECT MAX(version) FROM sop_versions m WHERE m.sop_id = s.sop_id)
                 ORDER BY sop_id"
            ))
            .fetch_all(&s.read)
            .await?)
        })
    }

    /// `(sop_id, version)` of every SOP version, by sop_id then version: what a caller needs
    /// to find the versions it has compiled, without reading every text (the list pages, the
    /// inbox and the board ask on every request).
    pub async fn sop_version_keys(&self) -> Result<Vec<(String, u32)>> {
        on_backend!(Store, self, |s| {
            let rows: Vec<(String, i64)> =
                sqlx::query_as("SELECT sop_id, version FROM sop_versions ORDER BY sop_id, version")
                    .fetch_all(&s.read)
                    .await?;
            rows.into_iter()
                .map(|(id, v)| Ok((id, version_of(v)?)))
                .collect()
        })
    }

    /// Every version of every SOP (cases are pinned to old versions), by sop_id then version.
    pub async fn all_sop_versions(&self) -> Result<Vec<SopVersion>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(sql!(DB:
                "SELECT " sop_columns " FROM sop_versions ORDER BY sop_id, version"
            ))
            .fetch_all(&s.read)
            .await?)
        })
    }
}

/// A decision about which version of an SOP new cases start on (see migration 0003).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRelease {
    pub sop_id: String,
    pub version: u32,
    pub effective: Effective,
    /// `file:<path>`, `api` or `cli`.
    pub source: String,
    pub released_by: String,
    pub reason: String,
    pub recorded_at: OffsetDateTime,
}

/// From when a release takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effective {
    /// At this instant.
    At(OffsetDateTime),
    /// From midnight of this local date, at each service point.
    On(time::Date),
}

/// A recorded release.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Release {
    pub id: i64,
    pub sop_id: String,
    #[sqlx(try_from = "i64")]
    pub version: u32,
    #[sqlx(try_from = "MaybeTs")]
    pub effective_at: Option<OffsetDateTime>,
    pub effective_on: Option<time::Date>,
    pub source: String,
    pub released_by: String,
    pub reason: String,
    #[sqlx(try_from = "Ts")]
    pub recorded_at: OffsetDateTime,
}

impl Store {
    /// Records a release and returns its id. [`Error::Database`] (a foreign key) when the
    /// version does not exist, or (a check) when the reason is empty.
    pub async fn record_release(&self, release: &NewRelease) -> Result<i64> {
        let (at, on) = match release.effective {
            Effective::At(t) => (Some(Ts(t)), None),
            Effective::On(d) => (None, Some(d)),
        };
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_scalar(
                "INSERT INTO sop_releases (sop_id, version, effective_at, effective_on, source,
                     released_by, reason, recorded_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            )
            .bind(release.sop_id.as_str())
            .bind(i64::from(release.version))
            .bind(at)
            .bind(on)
            .bind(release.source.as_str())
            .bind(release.released_by.as_str())
            .bind(release.reason.as_str())
            .bind(Ts(release.recorded_at))
            .fetch_one(&s.write)
            .await?)
        })
    }

    /// The releases of one SOP (every SOP with `None`), in the order they were recorded.
    pub async fn releases(&self, sop_id: Option<&str>) -> Result<Vec<Release>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(
                "SELECT id, sop_id, version, effective_at, effective_on, source, released_by,
                        reason, recorded_at
                 FROM sop_releases WHERE $1 IS NULL OR sop_id = $1 ORDER BY id",
            )
            .bind(sop_id)
            .fetch_all(&s.read)
            .await?)
        })
    }
}

/// A version number read back: the database holds an SQL integer, sopflow numbers from 1.
pub(crate) fn version_of(stored: i64) -> Result<u32> {
    u32::try_from(stored)
        .map_err(|_| Error::Invalid(format!("stored SOP version {stored} is out of range")))
}
