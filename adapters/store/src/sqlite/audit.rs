//! The audit-access log on SQLite (see `crate::audit`).

use sqlx::Row;

use super::{SqliteStore, get_ts, ts};
use crate::Result;
use crate::audit::{AuditAccess, NewAuditAccess};

impl SqliteStore {
    pub async fn record_audit_access(&self, a: &NewAuditAccess) -> Result<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO audit_access (at, user_name, role, action, scope, revealed, reason)
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(ts(a.at)?)
        .bind(&a.user_name)
        .bind(&a.role)
        .bind(&a.action)
        .bind(&a.scope)
        .bind(a.revealed)
        .bind(a.reason.as_deref())
        .fetch_one(&self.writer)
        .await?;
        Ok(id)
    }

    pub async fn audit_accesses(&self, after_id: i64, limit: u32) -> Result<Vec<AuditAccess>> {
        let rows = sqlx::query(
            "SELECT id, at, user_name, role, action, scope, revealed, reason
             FROM audit_access WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after_id)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AuditAccess {
                    id: row.try_get("id")?,
                    at: get_ts(row, "at")?,
                    user_name: row.try_get("user_name")?,
                    role: row.try_get("role")?,
                    action: row.try_get("action")?,
                    scope: row.try_get("scope")?,
                    revealed: row.try_get("revealed")?,
                    reason: row.try_get("reason")?,
                })
            })
            .collect()
    }
}
