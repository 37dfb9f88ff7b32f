//! What a supervisor's live page counts: open cases per step (and how many of them are past
//! their due time), and when today's cases were completed. Counts and times only.

use time::OffsetDateTime;

use crate::error::Result;
use crate::store::{Store, on_backend};
use crate::timestamp::Ts;

/// The open cases of one step of one SOP version at a service point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenAtStep {
    pub sop_id: String,
    pub sop_version: u32,
    pub step: String,
    pub open: i64,
    /// Of them, flagged overdue or due at or before the time asked about.
    pub overdue: i64,
}

impl Store {
    /// The open cases at `point` per (SOP, version, current step), by those.
    pub async fn open_cases_by_step(
        &self,
        point: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<OpenAtStep>> {
        let rows: Vec<(String, i64, Option<String>, i64, i64)> = on_backend!(Store, self, |s| {
            sqlx::query_as(
                "SELECT sop_id, sop_version, current_step, COUNT(*),
                        SUM(CASE WHEN overdue OR (due_at IS NOT NULL AND due_at <= $2)
                                 THEN 1 ELSE 0 END)
                 FROM cases WHERE status = 'open' AND service_point = $1
                 GROUP BY sop_id, sop_version, current_step
                 ORDER BY sop_id, sop_version, current_step",
            )
            .bind(point)
            .bind(Ts(now))
            .fetch_all(&s.read)
            .await?
        });
        Ok(rows
            .into_iter()
            .filter_map(|(sop_id, sop_version, step, open, overdue)| {
                Some(OpenAtStep {
                    sop_id,
                    sop_version: u32::try_from(sop_version).ok()?,
                    step: step?,
                    open,
                    overdue,
                })
            })
            .collect())
    }

    /// When the cases of `point` completed at or after `since` were completed (a closed
    /// case takes no more events, so its last update is its completion), oldest first.
    pub async fn completed_since(
        &self,
        point: &str,
        since: OffsetDateTime,
    ) -> Result<Vec<OffsetDateTime>> {
        let rows: Vec<Ts> = on_backend!(Store, self, |s| {
            sqlx::query_scalar(
                "SELECT updated_at FROM cases
                 WHERE status = 'completed' AND service_point = $1 AND updated_at >= $2
                 ORDER BY updated_at",
            )
            .bind(point)
            .bind(Ts(since))
            .fetch_all(&s.read)
            .await?
        });
        Ok(rows.into_iter().map(OffsetDateTime::from).collect())
    }
}
