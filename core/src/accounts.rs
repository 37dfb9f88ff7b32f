//! What an administrator does to users from the pages, checked the way the CLI checks it: a
//! role some SOP (or the service) knows, service points that exist, a password long enough.
//! Tokens are shown once and only their SHA-256 is kept; passwords are kept as argon2id.

use std::collections::BTreeSet;

use sopflow_store::{Membership, Store};
use time::OffsetDateTime;

use crate::auth::{hash_password, new_token};
use crate::registry::Registry;

/// The shortest password accepted from the pages.
pub const MIN_PASSWORD: usize = 10;

/// Why a change of users was refused; `field` names the form field it concerns.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("{message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("user {0} exists already")]
    Exists(String),
    #[error("no user {0}")]
    NotFound(String),
    #[error("store: {0}")]
    Store(sopflow_store::Error),
}

impl From<sopflow_store::Error> for AccountError {
    fn from(e: sopflow_store::Error) -> Self {
        match e {
            sopflow_store::Error::NotFound(what) => AccountError::NotFound(what),
            sopflow_store::Error::AlreadyExists(what) => AccountError::Exists(what),
            other => AccountError::Store(other),
        }
    }
}

fn invalid(field: &'static str, message: impl Into<String>) -> AccountError {
    AccountError::Invalid {
        field,
        message: message.into(),
    }
}

/// The roles and the service points a user may be given.
pub async fn choices(
    store: &Store,
    registry: &Registry,
) -> Result<(BTreeSet<String>, BTreeSet<String>), AccountError> {
    let roles = crate::access::known_roles(store, registry).await?;
    let points = store
        .service_points()
        .await?
        .into_iter()
        .map(|p| p.id)
        .collect();
    Ok((roles, points))
}

/// `role` at each of `points` (`*`: every one), if the role and the points are known.
pub async fn memberships(
    store: &Store,
    registry: &Registry,
    role: &str,
    points: &[String],
) -> Result<Vec<Membership>, AccountError> {
    let (roles, known) = choices(store, registry).await?;
    if !roles.contains(role) {
        return Err(invalid("role", format!("unknown role {role:?}")));
    }
    if points.is_empty() {
        return Err(invalid("points", "choose at least one service point"));
    }
    points
        .iter()
        .map(|p| {
            if p == Membership::EVERYWHERE || known.contains(p) {
                Ok(Membership {
                    role: role.to_owned(),
                    service_point: p.clone(),
                })
            } else {
                Err(invalid("points", format!("unknown service point {p:?}")))
            }
        })
        .collect()
}

fn check_password(password: &str) -> Result<String, AccountError> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(invalid(
            "password",
            format!("at least {MIN_PASSWORD} characters"),
        ));
    }
    hash_password(password).map_err(|e| invalid("password", e.to_string()))
}

/// Whether `name` can be a user's name: 1 to 64 of `a-z 0-9 _ . -`, as people type it at
/// the login.
pub fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b))
}

/// Adds `name` with `memberships` and, if given, a password; the new token (shown once).
pub async fn add(
    store: &Store,
    name: &str,
    memberships: &[Membership],
    password: Option<&str>,
    now: OffsetDateTime,
) -> Result<String, AccountError> {
    if !valid_name(name) {
        return Err(invalid("name", "1 to 64 of a-z, 0-9, _ . -"));
    }
    let Some(first) = memberships.first() else {
        return Err(invalid("points", "choose at least one service point"));
    };
    // Hashed before the user exists: a refused password adds nobody.
    let password_hash = password.map(check_password).transpose()?;
    let (token, hash) = new_token().map_err(|e| invalid("name", e.to_string()))?;
    store
        .add_user_with(name, &first.role, &hash, memberships, now)
        .await
        .map_err(|e| match e {
            sopflow_store::Error::AlreadyExists(_) => AccountError::Exists(name.to_owned()),
            other => other.into(),
        })?;
    if let Some(hash) = password_hash {
        store.set_password_hash(name, Some(&hash)).await?;
    }
    Ok(token)
}

/// Sets `name`'s password.
pub async fn reset_password(store: &Store, name: &str, password: &str) -> Result<(), AccountError> {
    let hash = check_password(password)?;
    if store.credentials(name).await?.is_none() {
        return Err(AccountError::NotFound(name.to_owned()));
    }
    store.set_password_hash(name, Some(&hash)).await?;
    Ok(())
}

/// Gives `name` a new token (shown once); the old one stops working (within the
/// authenticator's cache time, [`crate::auth::KnownTokens::TTL`]).
pub async fn rotate_token(store: &Store, name: &str) -> Result<String, AccountError> {
    let (token, hash) = new_token().map_err(|e| invalid("name", e.to_string()))?;
    store.set_token_hash(name, &hash).await?;
    Ok(token)
}

/// Gives `name` these memberships (those held already stay).
pub async fn grant(
    store: &Store,
    name: &str,
    memberships: &[Membership],
) -> Result<(), AccountError> {
    for m in memberships {
        store.grant(name, m).await?;
    }
    Ok(())
}

/// Disables `name` from `at` (their sessions end; token and password refused), or enables
/// them again with `None`.
pub async fn set_disabled(
    store: &Store,
    name: &str,
    at: Option<OffsetDateTime>,
) -> Result<(), AccountError> {
    store.set_user_disabled(name, at).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_what_people_type() {
        assert!(valid_name("ani"));
        assert!(valid_name("pak.lurah-2"));
        assert!(!valid_name(""));
        assert!(!valid_name("Ani"));
        assert!(!valid_name("ani budi"));
        assert!(!valid_name(&"a".repeat(65)));
    }

    #[test]
    fn short_passwords_are_refused_at_their_field() {
        assert!(matches!(
            check_password("pendek"),
            Err(AccountError::Invalid {
                field: "password",
                ..
            })
        ));
        assert!(check_password("cukup-panjang-1").is_ok());
    }
}
