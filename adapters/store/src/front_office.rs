//! What the front office in the browser keeps (migration 0003): people's passwords and
//! sessions, the registration number and tracking code of each case, and a role's open work
//! most urgent first.

use time::OffsetDateTime;

use crate::{CaseRecord, Error, Result, Store, Tx, User};

/// A user with the hash of their password, if they have one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id_hash: String,
    pub user_name: String,
    pub role: String,
    pub csrf_token: String,
    pub counter: Option<String>,
    pub created_at: OffsetDateTime,
    pub last_seen_at: OffsetDateTime,
}

/// The office's numbers of a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseReferences {
    pub case_id: String,
    pub registration_number: String,
    pub tracking_code: String,
    pub created_at: OffsetDateTime,
}

/// A step of one SOP version: where a role's work waits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepKey {
    pub sop_id: String,
    pub sop_version: i64,
    pub step: String,
}

/// The most urgent open cases at some steps, and how many there are in all.
#[derive(Debug, Clone, PartialEq)]
pub struct UrgentCases {
    pub cases: Vec<CaseRecord>,
    pub total: i64,
}

/// `["sop\u{1f}version\u{1f}step", …]`: the keys both backends compare rows against.
pub(crate) fn step_keys(steps: &[StepKey]) -> Result<(String, String)> {
    let keys: Vec<String> = steps
        .iter()
        .map(|s| format!("{}\u{1f}{}\u{1f}{}", s.sop_id, s.sop_version, s.step))
        .collect();
    let mut names: Vec<&str> = steps.iter().map(|s| s.step.as_str()).collect();
    names.sort_unstable();
    names.dedup();
    let json = |v: &[&str]| serde_json::to_string(v).map_err(|e| Error::Invalid(e.to_string()));
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    Ok((json(&keys)?, json(&names)?))
}

macro_rules! both {
    ($value:expr, $s:ident => $body:expr) => {
        match $value {
            Store::Sqlite($s) => $body,
            Store::Postgres($s) => $body,
        }
    };
}

impl Store {
    /// Sets (or, with `None`, removes) `name`'s password hash. [`crate::Error::NotFound`]
    /// without such a user.
    pub async fn set_password_hash(&self, name: &str, hash: Option<&str>) -> Result<()> {
        both!(self, s => s.set_password_hash(name, hash).await)
    }

    /// The user called `name`, with their password hash.
    pub async fn credentials(&self, name: &str) -> Result<Option<Credentials>> {
        both!(self, s => s.credentials(name).await)
    }

    /// Stores a new session. [`crate::Error::AlreadyExists`] if its hash is taken.
    pub async fn create_session(&self, session: &NewSession) -> Result<()> {
        both!(self, s => s.create_session(session).await)
    }

    /// The session whose token hashes to `id_hash`, with its user's current role.
    pub async fn session(&self, id_hash: &str) -> Result<Option<Session>> {
        both!(self, s => s.session(id_hash).await)
    }

    /// Records that the session was used at `now`.
    pub async fn touch_session(&self, id_hash: &str, now: OffsetDateTime) -> Result<()> {
        both!(self, s => s.touch_session(id_hash, now).await)
    }

    /// Sets the counter the session's officer works at.
    pub async fn set_session_counter(&self, id_hash: &str, counter: Option<&str>) -> Result<()> {
        both!(self, s => s.set_session_counter(id_hash, counter).await)
    }

    /// Ends a session (logout); ending an unknown one is not an error.
    pub async fn delete_session(&self, id_hash: &str) -> Result<()> {
        both!(self, s => s.delete_session(id_hash).await)
    }

    /// Ends the sessions last used before `before` and returns how many.
    pub async fn delete_sessions_idle_since(&self, before: OffsetDateTime) -> Result<u64> {
        both!(self, s => s.delete_sessions_idle_since(before).await)
    }

    /// The references of a case.
    pub async fn case_references(&self, case_id: &str) -> Result<Option<CaseReferences>> {
        both!(self, s => s.case_references("case_id", case_id).await)
    }

    /// The references of the case with this registration number.
    pub async fn case_by_registration(&self, number: &str) -> Result<Option<CaseReferences>> {
        both!(self, s => s.case_references("registration_number", number).await)
    }

    /// The references of the case with this tracking code.
    pub async fn case_by_tracking_code(&self, code: &str) -> Result<Option<CaseReferences>> {
        both!(self, s => s.case_references("tracking_code", code).await)
    }

    /// The open cases at `steps` (each of one SOP version), most urgent first: overdue ones,
    /// then by due time, then those with no due time; oldest first within each. At most
    /// `limit`, with the count of all.
    pub async fn urgent_open_cases(&self, steps: &[StepKey], limit: u32) -> Result<UrgentCases> {
        if steps.is_empty() {
            return Ok(UrgentCases {
                cases: Vec::new(),
                total: 0,
            });
        }
        both!(self, s => s.urgent_open_cases(steps, limit).await)
    }
}

impl Tx {
    /// Records the references of a case, in the transaction that opens it (the case must
    /// exist at commit). [`crate::Error::AlreadyExists`] if the case, the number or the code
    /// already has them.
    pub async fn put_case_references(&mut self, refs: &CaseReferences) -> Result<()> {
        match self {
            Tx::Sqlite(t) => t.put_case_references(refs).await,
            Tx::Postgres(t) => t.put_case_references(refs).await,
        }
    }
}
