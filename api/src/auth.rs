//! Bearer tokens: random 256-bit, shown once, stored only as SHA-256.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use sopflow_engine::case::Actor;
use sopflow_engine::case::chain::sha256_hex;
use subtle::ConstantTimeEq;

use crate::AppState;
use crate::problem::Problem;

/// Roles that are not SOP actors.
pub const ADMIN: &str = "admin";
pub const AUDITOR: &str = "auditor";

/// A new token (64 hex characters = 256 bits) and the hash to store.
pub fn new_token() -> Result<(String, String), getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let hash = sha256_hex(token.as_bytes());
    Ok((token, hash))
}

/// Users recently authenticated, by token hash, so that a busy operator's requests do not
/// each read the users table. Only successful lookups are kept (a user added a moment ago is
/// found at once), each for [`KnownTokens::TTL`]: tokens are never changed in place, and a
/// removed user's token stops working within that time.
#[derive(Default)]
pub struct KnownTokens {
    users: Mutex<HashMap<String, (Instant, User)>>,
}

impl KnownTokens {
    pub const TTL: Duration = Duration::from_secs(10);
    /// Beyond this many tokens the map starts afresh (the cache, not the users, is bounded).
    const CAPACITY: usize = 10_000;

    fn get(&self, hash: &str) -> Option<User> {
        let users = self.users.lock().ok()?;
        users
            .get(hash)
            .filter(|(at, _)| at.elapsed() < Self::TTL)
            .map(|(_, user)| user.clone())
    }

    fn insert(&self, hash: String, user: User) {
        if let Ok(mut users) = self.users.lock() {
            if users.len() >= Self::CAPACITY {
                users.clear();
            }
            users.insert(hash, (Instant::now(), user));
        }
    }
}

/// Failed authentications per client address: a burst, then a steady rate; beyond it the
/// address is refused (429) for a while, valid token or not, so guessing tokens stays slow.
///
/// Keyed by the TCP peer address: behind a reverse proxy every client shares the proxy's
/// address, and the proxy should rate-limit itself.
pub struct AuthFailureLimiter {
    limiter: governor::RateLimiter<
        IpAddr,
        governor::state::keyed::HashMapStateStore<IpAddr>,
        governor::clock::DefaultClock,
    >,
    clock: governor::clock::DefaultClock,
    blocked: Mutex<HashMap<IpAddr, Instant>>,
}

/// Beyond this many blocked addresses, expired blocks are swept.
const BLOCKED_SWEEP_AT: usize = 10_000;

impl AuthFailureLimiter {
    /// `burst` failures at once, refilled at `per_minute`.
    pub fn new(burst: u32, per_minute: u32) -> Self {
        let burst = NonZeroU32::new(burst).unwrap_or(NonZeroU32::MIN);
        let per_minute = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        let quota = governor::Quota::per_minute(per_minute).allow_burst(burst);
        let clock = governor::clock::DefaultClock::default();
        Self {
            limiter: governor::RateLimiter::new(
                quota,
                governor::state::keyed::HashMapStateStore::default(),
                clock.clone(),
            ),
            clock,
            blocked: Mutex::new(HashMap::new()),
        }
    }

    /// How long `ip` must still wait, if it is blocked.
    fn blocked_for(&self, ip: IpAddr) -> Option<Duration> {
        let blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        let until = *blocked.get(&ip)?;
        until.checked_duration_since(Instant::now())
    }

    /// Counts a failure; returns the wait when it used up the address's allowance.
    fn failed(&self, ip: IpAddr) -> Option<Duration> {
        use governor::clock::Clock as _;
        let wait = match self.limiter.check_key(&ip) {
            Ok(()) => return None,
            Err(not_until) => not_until
                .wait_time_from(self.clock.now())
                .max(Duration::from_secs(1)),
        };
        let mut blocked = self.blocked.lock().unwrap_or_else(|p| p.into_inner());
        let now = Instant::now();
        if blocked.len() >= BLOCKED_SWEEP_AT {
            blocked.retain(|_, until| *until > now);
            self.limiter.retain_recent();
        }
        blocked.insert(ip, now + wait);
        Some(wait)
    }
}

fn too_many(wait: Duration) -> Problem {
    metrics::counter!("sopflow_auth_rate_limited_total").increment(1);
    let mut problem = Problem::new(
        axum::http::StatusCode::TOO_MANY_REQUESTS,
        "too-many-failed-logins",
        "Too many failed authentications from this address",
    )
    .detail(format!("try again in {} s", wait.as_secs().max(1)));
    problem.retry_after = Some(wait.as_secs().max(1));
    problem
}

/// The authenticated caller.
#[derive(Debug, Clone)]
pub struct User {
    pub name: String,
    pub role: String,
}

impl User {
    pub fn actor(&self) -> Actor {
        Actor::new(self.name.clone(), self.role.clone())
    }

    pub fn is(&self, role: &str) -> bool {
        self.role == role
    }

    /// Refuses unless the caller has one of `roles`.
    pub fn require(&self, roles: &[&str]) -> Result<(), Problem> {
        if roles.contains(&self.role.as_str()) {
            Ok(())
        } else {
            Err(Problem::forbidden(format!(
                "role `{}` may not do this (allowed: {})",
                self.role,
                roles.join(", ")
            )))
        }
    }
}

impl FromRequestParts<AppState> for User {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // Only requests that came over a socket have an address to limit (not in-process ones).
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        if let Some(wait) = peer.and_then(|ip| state.auth_limiter.blocked_for(ip)) {
            return Err(too_many(wait));
        }
        let refuse = || match peer.and_then(|ip| state.auth_limiter.failed(ip)) {
            Some(wait) => too_many(wait),
            None => Problem::unauthorized(),
        };
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            // No token is no guess: only wrong tokens count against the address.
            .ok_or_else(Problem::unauthorized)?;
        let hash = sha256_hex(token.as_bytes());
        if let Some(user) = state.known_tokens.get(&hash) {
            return Ok(user);
        }
        // Looked up by its hash: the lookup's timing depends on the hash, not on the token.
        let user = state
            .runtime
            .store
            .user_by_token_hash(&hash)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "user lookup failed");
                Problem::internal()
            })?
            .ok_or_else(|| {
                metrics::counter!("sopflow_auth_failures_total").increment(1);
                refuse()
            })?;
        // Defence in depth: compare the hashes without an early exit.
        if !bool::from(user.token_hash.as_bytes().ct_eq(hash.as_bytes())) {
            return Err(refuse());
        }
        let user = User {
            name: user.name,
            role: user.role,
        };
        state.known_tokens.insert(hash, user.clone());
        Ok(user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ani() -> User {
        User {
            name: "ani".into(),
            role: "petugas_antrian".into(),
        }
    }

    #[test]
    fn known_tokens_answer_for_the_hash_they_were_given() {
        let known = KnownTokens::default();
        assert!(known.get("h1").is_none());
        known.insert("h1".into(), ani());
        let found = known.get("h1").map(|u| (u.name, u.role));
        assert_eq!(found, Some(("ani".into(), "petugas_antrian".into())));
        assert!(known.get("h2").is_none());
    }

    #[test]
    fn known_tokens_stay_bounded() {
        let known = KnownTokens::default();
        for i in 0..=KnownTokens::CAPACITY {
            known.insert(format!("h{i}"), ani());
        }
        let held = known.users.lock().map(|u| u.len()).unwrap_or(usize::MAX);
        assert!(held <= KnownTokens::CAPACITY, "{held} tokens held");
        assert!(known.get(&format!("h{}", KnownTokens::CAPACITY)).is_some());
    }
}
