//! Browser sessions of people: a random 256-bit token in a cookie, only its SHA-256 in the
//! store (shared by every process on the database), a CSRF token per session, idle expiry.
//! The face sets and reads the cookie; the rules are here.

use sopflow_engine::case::chain::sha256_hex;
use sopflow_store::{NewSession, Store};
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};

use crate::auth::User;

/// A live session: who, its CSRF token, the counter chosen.
#[derive(Debug, Clone)]
pub struct Session {
    pub user: User,
    /// Hex SHA-256 of the cookie's token: the session's id in the store.
    pub id_hash: String,
    pub csrf_token: String,
    pub counter: Option<String>,
}

impl Session {
    /// Whether `given` is this session's CSRF token (constant time).
    pub fn csrf_matches(&self, given: &str) -> bool {
        !given.is_empty() && bool::from(self.csrf_token.as_bytes().ct_eq(given.as_bytes()))
    }
}

/// Why a session could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("no randomness: {0}")]
    Random(String),
    #[error("store: {0}")]
    Store(#[from] sopflow_store::Error),
}

/// The session rules: how long one may stay idle, how often its last use is written.
#[derive(Debug, Clone)]
pub struct Sessions {
    pub idle: Duration,
    /// A request writes the session's last use only when the stored one is older than this:
    /// one write a minute per officer, not one per request (expiry is that much coarser).
    pub touch_every: Duration,
    /// Where a user stored without memberships works (see [`crate::auth::default_memberships`]).
    default_point: String,
}

impl Sessions {
    pub fn new(idle: Duration) -> Self {
        Self {
            idle,
            touch_every: Duration::minutes(1).min(idle / 4),
            default_point: crate::offices::DEFAULT_POINT.to_owned(),
        }
    }

    /// The deployment's default service point (see [`crate::offices::Offices::default_id`]).
    pub fn default_point(mut self, id: &str) -> Self {
        self.default_point = id.to_owned();
        self
    }

    /// Opens a session for `user`: the cookie's token (shown to the browser only) and the
    /// session.
    pub async fn open(
        &self,
        store: &Store,
        user: &User,
        now: OffsetDateTime,
    ) -> Result<(String, Session), SessionError> {
        let token = hex_random(32)?;
        let csrf_token = hex_random(32)?;
        let id_hash = sha256_hex(token.as_bytes());
        store
            .create_session(&NewSession {
                id_hash: id_hash.clone(),
                user_name: user.name.clone(),
                csrf_token: csrf_token.clone(),
                now,
            })
            .await?;
        Ok((
            token,
            Session {
                user: user.clone(),
                id_hash,
                csrf_token,
                counter: None,
            },
        ))
    }

    /// The live session of the cookie's `token`: `None` when unknown or idle too long (an
    /// expired one is removed). Its last use moves to `now`.
    pub async fn find(
        &self,
        store: &Store,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Session>, SessionError> {
        if token.is_empty() || token.len() > 128 {
            return Ok(None);
        }
        let id_hash = sha256_hex(token.as_bytes());
        let Some(stored) = store.session(&id_hash).await? else {
            return Ok(None);
        };
        if now - stored.last_seen_at > self.idle {
            store.delete_session(&id_hash).await?;
            return Ok(None);
        }
        if now - stored.last_seen_at > self.touch_every {
            store.touch_session(&id_hash, now).await?;
        }
        let memberships = store.memberships(&stored.user_name).await?;
        Ok(Some(Session {
            user: User::new(
                stored.user_name,
                stored.role,
                memberships,
                &self.default_point,
            ),
            id_hash,
            csrf_token: stored.csrf_token,
            counter: stored.counter,
        }))
    }

    /// Sets the counter (loket) the session's officer works at.
    pub async fn set_counter(
        &self,
        store: &Store,
        session: &Session,
        counter: Option<&str>,
    ) -> Result<(), SessionError> {
        Ok(store.set_session_counter(&session.id_hash, counter).await?)
    }

    /// Ends the session (logout).
    pub async fn close(&self, store: &Store, session: &Session) -> Result<(), SessionError> {
        Ok(store.delete_session(&session.id_hash).await?)
    }

    /// Removes every session idle too long at `now` (sessions nobody comes back to).
    pub async fn sweep(&self, store: &Store, now: OffsetDateTime) -> Result<u64, SessionError> {
        Ok(store.delete_sessions_idle_since(now - self.idle).await?)
    }
}

/// The desk a session keeps (`point/counter`, as the counter page stores it): the service
/// point's id and the counter's.
pub fn desk_of(value: &str) -> Option<(&str, &str)> {
    value.split_once('/')
}

/// The value a session keeps for the desk at `counter` of service point `point`.
pub fn desk_value(point: &str, counter: &str) -> String {
    format!("{point}/{counter}")
}

fn hex_random(bytes: usize) -> Result<String, SessionError> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| SessionError::Random(e.to_string()))?;
    Ok(hex::encode(buf))
}
