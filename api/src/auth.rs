//! Bearer tokens: random 256-bit, shown once, stored only as SHA-256.

use axum::extract::FromRequestParts;
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
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .ok_or_else(Problem::unauthorized)?;
        let hash = sha256_hex(token.as_bytes());
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
                Problem::unauthorized()
            })?;
        // Defence in depth: compare the hashes without an early exit.
        if !bool::from(user.token_hash.as_bytes().ct_eq(hash.as_bytes())) {
            return Err(Problem::unauthorized());
        }
        Ok(User {
            name: user.name,
            role: user.role,
        })
    }
}
