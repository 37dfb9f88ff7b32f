//! SOP versions: every deployed SOP text, numbered per SOP, immutable.

use time::OffsetDateTime;

use crate::dialect::sql;
use crate::error::{Error, Result};
use crate::store::{Store, on_backend};
use crate::timestamp::Ts;
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
    ) -> Result<(i64, bool)> {
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
                    return Ok((version, false));
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
                    return Ok((version, true));
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

    pub async fn sop_version(&self, sop_id: &str, version: i64) -> Result<Option<SopVersion>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(sql!(DB:
                "SELECT " sop_columns " FROM sop_versions WHERE sop_id = $1 AND version = $2"
            ))
            .bind(sop_id)
            .bind(version)
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
