//! What the front office in the browser keeps (migration 0003): people's passwords and
//! sessions, the registration number and tracking code of each case, and a role's open work
//! most urgent first.

use time::OffsetDateTime;

use crate::dialect::sql;
use crate::error::{Error, Result, is_unique_violation};
use crate::store::{Store, Tx, on_backend};
use crate::timestamp::Ts;
use crate::types::{CaseRecord, User};

/// A user with the hash of their password, if they have one.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Credentials {
    #[sqlx(flatten)]
    pub user: User,
    /// A PHC string (argon2id); `None`: no password, the user cannot log in to the pages.
    pub password_hash: Option<String>,
}

/// A browser session to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSession {
    /// Hex SHA-256 of the cookie's token; the token itself is never stored.
    pub id_hash: String,
    pub user_name: String,
    pub csrf_token: String,
    pub now: OffsetDateTime,
}

/// A stored session, with its user's role.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Session {
    pub id_hash: String,
    pub user_name: String,
    pub role: String,
    pub csrf_token: String,
    pub counter: Option<String>,
    #[sqlx(try_from = "Ts")]
    pub created_at: OffsetDateTime,
    #[sqlx(try_from = "Ts")]
    pub last_seen_at: OffsetDateTime,
}

/// A session with a counter chosen: who works at which counter, and when they were last seen
/// (migration 0010's staffing read).
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CounterSession {
    pub user_name: String,
    /// As the session keeps it (the web face's `point/counter`).
    pub counter: String,
    #[sqlx(try_from = "Ts")]
    pub last_seen_at: OffsetDateTime,
}

/// The office's numbers of a case.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CaseReferences {
    pub case_id: String,
    pub registration_number: String,
    pub tracking_code: String,
    #[sqlx(try_from = "Ts")]
    pub created_at: OffsetDateTime,
}

/// A step of one SOP version: where a role's work waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepKey {
    pub sop_id: String,
    pub sop_version: u32,
    pub step: String,
}

/// The most urgent open cases at some steps, and how many there are in all.
#[derive(Debug, Clone, PartialEq)]
pub struct UrgentCases {
    pub cases: Vec<CaseRecord>,
    pub total: i64,
}

impl Store {
    /// Sets (or, with `None`, removes) `name`'s password hash. [`Error::NotFound`] without
    /// such a user.
    pub async fn set_password_hash(&self, name: &str, hash: Option<&str>) -> Result<()> {
        let done = on_backend!(Store, self, |s| {
            sqlx::query("UPDATE users SET password_hash = $1 WHERE name = $2")
                .bind(hash)
                .bind(name)
                .execute(&s.write)
                .await?
                .rows_affected()
        });
        if done == 0 {
            return Err(Error::NotFound(format!("user {name}")));
        }
        Ok(())
    }

    /// The user called `name`, with their password hash.
    pub async fn credentials(&self, name: &str) -> Result<Option<Credentials>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(sql!(DB:
                "SELECT " user_columns ", password_hash FROM users WHERE name = $1"
            ))
            .bind(name)
            .fetch_optional(&s.read)
            .await?)
        })
    }

    /// Stores a new session. [`Error::AlreadyExists`] if its hash is taken.
    pub async fn create_session(&self, session: &NewSession) -> Result<()> {
        on_backend!(Store, self, |s| {
            sqlx::query(
                "INSERT INTO sessions (id_hash, user_name, csrf_token, created_at, last_seen_at)
                 VALUES ($1, $2, $3, $4, $4)",
            )
            .bind(&session.id_hash)
            .bind(&session.user_name)
            .bind(&session.csrf_token)
            .bind(Ts(session.now))
            .execute(&s.write)
            .await
            .map_err(|e| match is_unique_violation(&e) {
                true => Error::AlreadyExists("a session with this token".into()),
                false => e.into(),
            })?;
            Ok(())
        })
    }

    /// The session whose token hashes to `id_hash`, with its user's current role.
    pub async fn session(&self, id_hash: &str) -> Result<Option<Session>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(
                "SELECT s.id_hash, s.user_name, u.role, s.csrf_token, s.counter, s.created_at,
                        s.last_seen_at
                 FROM sessions s JOIN users u ON u.name = s.user_name WHERE s.id_hash = $1",
            )
            .bind(id_hash)
            .fetch_optional(&s.read)
            .await?)
        })
    }

    /// Records that the session was used at `now`.
    pub async fn touch_session(&self, id_hash: &str, now: OffsetDateTime) -> Result<()> {
        on_backend!(Store, self, |s| {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2")
                .bind(Ts(now))
                .bind(id_hash)
                .execute(&s.write)
                .await?;
            Ok(())
        })
    }

    /// Sets the counter the session's officer works at.
    pub async fn set_session_counter(&self, id_hash: &str, counter: Option<&str>) -> Result<()> {
        on_backend!(Store, self, |s| {
            sqlx::query("UPDATE sessions SET counter = $1 WHERE id_hash = $2")
                .bind(counter)
                .bind(id_hash)
                .execute(&s.write)
                .await?;
            Ok(())
        })
    }

    /// Ends a session (logout); ending an unknown one is not an error.
    pub async fn delete_session(&self, id_hash: &str) -> Result<()> {
        on_backend!(Store, self, |s| {
            sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                .bind(id_hash)
                .execute(&s.write)
                .await?;
            Ok(())
        })
    }

    /// Ends the sessions last used before `before` and returns how many.
    pub async fn delete_sessions_idle_since(&self, before: OffsetDateTime) -> Result<u64> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query("DELETE FROM sessions WHERE last_seen_at < $1")
                .bind(Ts(before))
                .execute(&s.write)
                .await?
                .rows_affected())
        })
    }

    /// The sessions of active users that chose a counter and were seen at or after
    /// `seen_since`, by counter then user: who staffs the counters now.
    pub async fn counter_sessions(
        &self,
        seen_since: OffsetDateTime,
    ) -> Result<Vec<CounterSession>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(
                "SELECT s.user_name, s.counter, s.last_seen_at
                 FROM sessions s JOIN users u ON u.name = s.user_name
                 WHERE s.counter IS NOT NULL AND s.last_seen_at >= $1
                   AND u.disabled_at IS NULL
                 ORDER BY s.counter, s.user_name",
            )
            .bind(Ts(seen_since))
            .fetch_all(&s.read)
            .await?)
        })
    }

    /// The references of a case.
    pub async fn case_references(&self, case_id: &str) -> Result<Option<CaseReferences>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(
                "SELECT case_id, registration_number, tracking_code, created_at
                 FROM case_references WHERE case_id = $1",
            )
            .bind(case_id)
            .fetch_optional(&s.read)
            .await?)
        })
    }

    /// The references of the case with this registration number.
    pub async fn case_by_registration(&self, number: &str) -> Result<Option<CaseReferences>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(
                "SELECT case_id, registration_number, tracking_code, created_at
                 FROM case_references WHERE registration_number = $1",
            )
            .bind(number)
            .fetch_optional(&s.read)
            .await?)
        })
    }

    /// The references of the case with this tracking code.
    pub async fn case_by_tracking_code(&self, code: &str) -> Result<Option<CaseReferences>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(
                "SELECT case_id, registration_number, tracking_code, created_at
                 FROM case_references WHERE tracking_code = $1",
            )
            .bind(code)
            .fetch_optional(&s.read)
            .await?)
        })
    }

    /// The open cases at `steps` (each of one SOP version), most urgent first: overdue ones,
    /// then by due time, then those with no due time; oldest first within each. At most
    /// `limit`, with the count of all. With `points`, only cases at those service points.
    ///
    /// One query per (step, service point) pair, each an ordered range of the partial index
    /// `cases_open_urgent` (migration 0011) that stops at `limit` rows, merged here: a role's
    /// work lies at a few steps, and one statement over all of them sorted every open case of
    /// those steps (10,000 at a full inbox) for each page.
    pub async fn urgent_open_cases(
        &self,
        steps: &[StepKey],
        points: Option<&Vec<String>>,
        limit: u32,
    ) -> Result<UrgentCases> {
        let mut cases: Vec<CaseRecord> = Vec::new();
        let mut total = 0i64;
        let per_point: Vec<Option<&str>> = match points {
            Some(points) => points.iter().map(|p| Some(p.as_str())).collect(),
            None => vec![None],
        };
        for step in steps {
            for point in &per_point {
                let (found, count) = self.urgent_at(step, *point, limit).await?;
                total += count;
                cases.extend(found);
            }
        }
        // The index's order, as SQL compares: overdue first, then due (none last), then id.
        cases.sort_by(|a, b| {
            b.overdue
                .cmp(&a.overdue)
                .then(a.due_at.is_none().cmp(&b.due_at.is_none()))
                .then(a.due_at.cmp(&b.due_at))
                .then(a.case_id.cmp(&b.case_id))
        });
        cases.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
        Ok(UrgentCases { cases, total })
    }

    /// The most urgent open cases of one step of one SOP version (at one service point, or
    /// all), and how many there are.
    async fn urgent_at(
        &self,
        step: &StepKey,
        point: Option<&str>,
        limit: u32,
    ) -> Result<(Vec<CaseRecord>, i64)> {
        let want = usize::try_from(limit).unwrap_or(usize::MAX);
        // Two statements, not `$4 IS NULL OR …`: an equality on the service point is what
        // lets the index give the rows in order.
        on_backend!(Store, self, |s| {
            let cases: Vec<CaseRecord> = match point {
                Some(point) => {
                    sqlx::query_as(sql!(DB:
                        "SELECT " case_columns " FROM cases
                         WHERE status = 'open' AND current_step = $1 AND sop_id = $2
                           AND sop_version = $3 AND service_point = $4
                         ORDER BY overdue DESC, due_at IS NULL, due_at, case_id
                         LIMIT $5"
                    ))
                    .bind(step.step.as_str())
                    .bind(step.sop_id.as_str())
                    .bind(i64::from(step.sop_version))
                    .bind(point)
                    .bind(i64::from(limit))
                    .fetch_all(&s.read)
                    .await?
                }
                None => {
                    sqlx::query_as(sql!(DB:
                        "SELECT " case_columns " FROM cases
                         WHERE status = 'open' AND current_step = $1 AND sop_id = $2
                           AND sop_version = $3
                         ORDER BY overdue DESC, due_at IS NULL, due_at, case_id
                         LIMIT $4"
                    ))
                    .bind(step.step.as_str())
                    .bind(step.sop_id.as_str())
                    .bind(i64::from(step.sop_version))
                    .bind(i64::from(limit))
                    .fetch_all(&s.read)
                    .await?
                }
            };
            // Fewer than asked for: that is all of them, no count needed.
            if cases.len() < want {
                let n = i64::try_from(cases.len()).unwrap_or(i64::MAX);
                return Ok((cases, n));
            }
            let total: i64 = sqlx::query_scalar(
                "SELECT COUNT(*) FROM cases
                 WHERE status = 'open' AND current_step = $1 AND sop_id = $2
                   AND sop_version = $3 AND ($4 IS NULL OR service_point = $4)",
            )
            .bind(step.step.as_str())
            .bind(step.sop_id.as_str())
            .bind(i64::from(step.sop_version))
            .bind(point)
            .fetch_one(&s.read)
            .await?;
            Ok((cases, total))
        })
    }
}

impl Tx {
    /// Records the references of a case, in the transaction that opens it (the case must
    /// exist at commit). [`Error::AlreadyExists`] if the case, the number or the code
    /// already has them.
    pub async fn put_case_references(&mut self, refs: &CaseReferences) -> Result<()> {
        on_backend!(Tx, self, |t| {
            sqlx::query(
                "INSERT INTO case_references (case_id, registration_number, tracking_code,
                                              created_at)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(&refs.case_id)
            .bind(&refs.registration_number)
            .bind(&refs.tracking_code)
            .bind(Ts(refs.created_at))
            .execute(&mut *t.conn)
            .await
            .map_err(|e| match is_unique_violation(&e) {
                true => Error::AlreadyExists(format!("references of case {}", refs.case_id)),
                false => e.into(),
            })?;
            Ok(())
        })
    }
}
