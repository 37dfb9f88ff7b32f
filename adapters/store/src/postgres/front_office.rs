//! The front office's tables on PostgreSQL (see `crate::front_office`).

use sqlx::Row;
use sqlx::postgres::PgRow;
use time::OffsetDateTime;

use super::{PgStore, PgTx, case_record, user};
use crate::error::{Error, Result, is_unique_violation};
use crate::front_office::{
    CaseReferences, Credentials, NewSession, Session, StepKey, UrgentCases, step_keys,
};

fn session(row: &PgRow) -> Result<Session> {
    Ok(Session {
        id_hash: row.try_get("id_hash")?,
        user_name: row.try_get("user_name")?,
        role: row.try_get("role")?,
        csrf_token: row.try_get("csrf_token")?,
        counter: row.try_get("counter")?,
        created_at: row.try_get("created_at")?,
        last_seen_at: row.try_get("last_seen_at")?,
    })
}

fn references(row: &PgRow) -> Result<CaseReferences> {
    Ok(CaseReferences {
        case_id: row.try_get("case_id")?,
        registration_number: row.try_get("registration_number")?,
        tracking_code: row.try_get("tracking_code")?,
        created_at: row.try_get("created_at")?,
    })
}

impl PgStore {
    pub async fn set_password_hash(&self, name: &str, hash: Option<&str>) -> Result<()> {
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE name = $2")
            .bind(hash)
            .bind(name)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(Error::NotFound(format!("user {name}")));
        }
        Ok(())
    }

    pub async fn credentials(&self, name: &str) -> Result<Option<Credentials>> {
        let row = sqlx::query(
            "SELECT id, name, role, token_hash, created_at, password_hash FROM users
             WHERE name = $1",
        )
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok(Credentials {
                user: user(&row)?,
                password_hash: row.try_get("password_hash")?,
            })
        })
        .transpose()
    }

    pub async fn create_session(&self, s: &NewSession) -> Result<()> {
        let now = crate::to_stored(s.now);
        sqlx::query(
            "INSERT INTO sessions (id_hash, user_name, csrf_token, created_at, last_seen_at)
             VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(&s.id_hash)
        .bind(&s.user_name)
        .bind(&s.csrf_token)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(|e| match is_unique_violation(&e) {
            true => Error::AlreadyExists("a session with this token".into()),
            false => e.into(),
        })?;
        Ok(())
    }

    pub async fn session(&self, id_hash: &str) -> Result<Option<Session>> {
        let row = sqlx::query(
            "SELECT s.id_hash, s.user_name, u.role, s.csrf_token, s.counter, s.created_at,
                    s.last_seen_at
             FROM sessions s JOIN users u ON u.name = s.user_name WHERE s.id_hash = $1",
        )
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(session).transpose()
    }

    pub async fn touch_session(&self, id_hash: &str, now: OffsetDateTime) -> Result<()> {
        sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
            .bind(crate::to_stored(now))
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn set_session_counter(&self, id_hash: &str, counter: Option<&str>) -> Result<()> {
        sqlx::query("UPDATE sessions SET counter = $1 WHERE id_hash = $2")
            .bind(counter)
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_session(&self, id_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn delete_sessions_idle_since(&self, before: OffsetDateTime) -> Result<u64> {
        let done = sqlx::query("DELETE FROM sessions WHERE last_seen_at < $1")
            .bind(crate::to_stored(before))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    /// `column` is one of the table's three unique columns, chosen by the caller.
    pub async fn case_references(
        &self,
        column: &'static str,
        value: &str,
    ) -> Result<Option<CaseReferences>> {
        let sql = match column {
            "case_id" => {
                "SELECT case_id, registration_number, tracking_code, created_at
                 FROM case_references WHERE case_id = $1"
            }
            "registration_number" => {
                "SELECT case_id, registration_number, tracking_code, created_at
                 FROM case_references WHERE registration_number = $1"
            }
            _ => {
                "SELECT case_id, registration_number, tracking_code, created_at
                 FROM case_references WHERE tracking_code = $1"
            }
        };
        let row = sqlx::query(sql)
            .bind(value)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(references).transpose()
    }

    pub async fn urgent_open_cases(&self, steps: &[StepKey], limit: u32) -> Result<UrgentCases> {
        let (keys, names) = step_keys(steps)?;
        // The step names let the partial index narrow the rows; the keys pin SOP versions.
        let rows = sqlx::query(concat!(
            "SELECT ",
            case_columns!(),
            " FROM cases
              WHERE status = 'open'
                AND current_step IN (SELECT jsonb_array_elements_text($2::jsonb))
                AND (sop_id || chr(31) || sop_version::text || chr(31) || current_step)
                    IN (SELECT jsonb_array_elements_text($1::jsonb))
              ORDER BY overdue DESC, due_at IS NULL, due_at, case_id
              LIMIT $3"
        ))
        .bind(&keys)
        .bind(&names)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM cases
              WHERE status = 'open'
                AND current_step IN (SELECT jsonb_array_elements_text($2::jsonb))
                AND (sop_id || chr(31) || sop_version::text || chr(31) || current_step)
                    IN (SELECT jsonb_array_elements_text($1::jsonb))",
        )
        .bind(&keys)
        .bind(&names)
        .fetch_one(&self.pool)
        .await?;
        Ok(UrgentCases {
            cases: rows.iter().map(case_record).collect::<Result<_>>()?,
            total,
        })
    }
}

impl PgTx {
    pub async fn put_case_references(&mut self, refs: &CaseReferences) -> Result<()> {
        sqlx::query(
            "INSERT INTO case_references (case_id, registration_number, tracking_code, created_at)
             VALUES ($1, $2, $3, $4)",
        )
        .bind(&refs.case_id)
        .bind(&refs.registration_number)
        .bind(&refs.tracking_code)
        .bind(crate::to_stored(refs.created_at))
        .execute(&mut *self.tx)
        .await
        .map_err(|e| match is_unique_violation(&e) {
            true => Error::AlreadyExists(format!("references of case {}", refs.case_id)),
            false => e.into(),
        })?;
        Ok(())
    }
}
