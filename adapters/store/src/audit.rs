//! The audit-access log: every export of case histories, and every time personal data was
//! shown unmasked, with the reason the auditor gave. Append-only (triggers refuse updates and
//! deletes), apart from the case chains (migration 0002); each row is a leaf of the log.

use time::OffsetDateTime;

use crate::error::Result;
use crate::log::access_new_leaf;
use crate::store::{Store, Tx, on_backend};
use crate::timestamp::Ts;

/// An access to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditAccess {
    pub at: OffsetDateTime,
    pub user_name: String,
    pub role: String,
    /// `export` or `replay`.
    pub action: String,
    /// What was read: a case id, or an export's range and format.
    pub scope: String,
    /// Whether personal data was shown unmasked; the store refuses it without a reason.
    pub revealed: bool,
    pub reason: Option<String>,
}

/// A recorded access.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct AuditAccess {
    pub id: i64,
    #[sqlx(try_from = "Ts")]
    pub at: OffsetDateTime,
    pub user_name: String,
    pub role: String,
    pub action: String,
    pub scope: String,
    pub revealed: bool,
    pub reason: Option<String>,
}

impl Store {
    /// Records an access and returns its id. [`crate::Error::Database`] (a check) when
    /// `revealed` comes without a reason.
    pub async fn record_audit_access(&self, access: &NewAuditAccess) -> Result<i64> {
        let mut tx = self.begin().await?;
        let row: AuditAccess = on_backend!(Tx, &mut tx, |t| {
            sqlx::query_as(
                "INSERT INTO audit_access (at, user_name, role, action, scope, revealed, reason)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 RETURNING id, at, user_name, role, action, scope, revealed, reason",
            )
            .bind(Ts(access.at))
            .bind(access.user_name.as_str())
            .bind(access.role.as_str())
            .bind(access.action.as_str())
            .bind(access.scope.as_str())
            .bind(access.revealed)
            .bind(access.reason.as_deref())
            .fetch_one(&mut *t.conn)
            .await?
        });
        // Its leaf, from the row as stored (the time as the store keeps it).
        tx.add_leaves(&[access_new_leaf(&row)]).await?;
        tx.commit().await?;
        Ok(row.id)
    }

    /// One recorded access.
    pub async fn audit_access(&self, id: i64) -> Result<Option<AuditAccess>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(
                "SELECT id, at, user_name, role, action, scope, revealed, reason
                 FROM audit_access WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(&s.read)
            .await?)
        })
    }

    /// Recorded accesses with an id above `after_id`, oldest first, at most `limit`.
    pub async fn audit_accesses(&self, after_id: i64, limit: u32) -> Result<Vec<AuditAccess>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(
                "SELECT id, at, user_name, role, action, scope, revealed, reason
                 FROM audit_access WHERE id > $1 ORDER BY id LIMIT $2",
            )
            .bind(after_id)
            .bind(i64::from(limit))
            .fetch_all(&s.read)
            .await?)
        })
    }
}
