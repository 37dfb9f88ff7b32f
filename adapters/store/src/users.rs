//! API users, and the responses already given to their idempotent requests.

use time::OffsetDateTime;

use crate::dialect::sql;
use crate::error::{Error, Result, is_unique_violation};
use crate::store::{Store, Tx, on_backend};
use crate::timestamp::Ts;
use crate::types::{Membership, StoredResponse, User};

impl Store {
    /// Adds a user. [`Error::AlreadyExists`] if the name or the token hash is taken.
    pub async fn add_user(
        &self,
        name: &str,
        role: &str,
        token_hash: &str,
        now: OffsetDateTime,
    ) -> Result<User> {
        on_backend!(Store, self, |s| {
            sqlx::query_as(sql!(DB:
                "INSERT INTO users (name, role, token_hash, created_at) VALUES ($1, $2, $3, $4)
                 RETURNING " user_columns
            ))
            .bind(name)
            .bind(role)
            .bind(token_hash)
            .bind(Ts(now))
            .fetch_one(&s.write)
            .await
            .map_err(|e| match is_unique_violation(&e) {
                true => Error::AlreadyExists(format!("user {name} or their token")),
                false => e.into(),
            })
        })
    }

    /// Adds a user with their memberships (their roles and where they hold them), in one
    /// transaction. [`Error::AlreadyExists`] if the name or the token hash is taken.
    pub async fn add_user_with(
        &self,
        name: &str,
        role: &str,
        token_hash: &str,
        memberships: &[Membership],
        now: OffsetDateTime,
    ) -> Result<User> {
        let mut tx = self.begin().await?;
        let user: User = on_backend!(Tx, &mut tx, |t| {
            sqlx::query_as(sql!(DB:
                "INSERT INTO users (name, role, token_hash, created_at) VALUES ($1, $2, $3, $4)
                 RETURNING " user_columns
            ))
            .bind(name)
            .bind(role)
            .bind(token_hash)
            .bind(Ts(now))
            .fetch_one(&mut *t.conn)
            .await
            .map_err(|e| match is_unique_violation(&e) {
                true => Error::AlreadyExists(format!("user {name} or their token")),
                false => Error::from(e),
            })?
        });
        for m in memberships {
            tx.grant(name, m).await?;
        }
        tx.commit().await?;
        Ok(user)
    }

    /// Gives `user` a role at a service point (a no-op when they hold it already).
    /// [`Error::NotFound`] if there is no such user.
    pub async fn grant(&self, user: &str, membership: &Membership) -> Result<()> {
        let mut tx = self.begin().await?;
        tx.grant(user, membership).await?;
        tx.commit().await
    }

    /// A user's memberships, by role then service point. Empty for a user who has none: they
    /// hold `users.role` at the deployment's default service point.
    pub async fn memberships(&self, user: &str) -> Result<Vec<Membership>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(
                "SELECT role, service_point FROM memberships WHERE user_name = $1
                 ORDER BY role, service_point",
            )
            .bind(user)
            .fetch_all(&s.read)
            .await?)
        })
    }

    /// The user whose token hashes to `token_hash` (hex SHA-256).
    pub async fn user_by_token_hash(&self, token_hash: &str) -> Result<Option<User>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(sql!(DB:
                "SELECT " user_columns " FROM users WHERE token_hash = $1"
            ))
            .bind(token_hash)
            .fetch_optional(&s.read)
            .await?)
        })
    }

    /// All users, by name.
    pub async fn list_users(&self) -> Result<Vec<User>> {
        on_backend!(Store, self, |s| {
            Ok(
                sqlx::query_as(sql!(DB: "SELECT " user_columns " FROM users ORDER BY name"))
                    .fetch_all(&s.read)
                    .await?,
            )
        })
    }

    /// Gives `name` a new token (hex SHA-256 of it): the old one stops working.
    /// [`Error::NotFound`] if there is no such user.
    pub async fn set_token_hash(&self, name: &str, token_hash: &str) -> Result<()> {
        let changed = on_backend!(Store, self, |s| {
            sqlx::query("UPDATE users SET token_hash = $1 WHERE name = $2")
                .bind(token_hash)
                .bind(name)
                .execute(&s.write)
                .await
                .map_err(|e| match is_unique_violation(&e) {
                    true => Error::AlreadyExists("that token".to_owned()),
                    false => e.into(),
                })?
                .rows_affected()
        });
        match changed {
            0 => Err(Error::NotFound(format!("user {name}"))),
            _ => Ok(()),
        }
    }

    /// Disables `name` from `at` (`None`: enables them again) and, when disabling, ends their
    /// sessions, in one transaction. [`Error::NotFound`] if there is no such user.
    pub async fn set_user_disabled(&self, name: &str, at: Option<OffsetDateTime>) -> Result<()> {
        let mut tx = self.begin().await?;
        let changed = on_backend!(Tx, &mut tx, |t| {
            let changed = sqlx::query("UPDATE users SET disabled_at = $1 WHERE name = $2")
                .bind(at.map(Ts))
                .bind(name)
                .execute(&mut *t.conn)
                .await?
                .rows_affected();
            if at.is_some() {
                sqlx::query("DELETE FROM sessions WHERE user_name = $1")
                    .bind(name)
                    .execute(&mut *t.conn)
                    .await?;
            }
            changed
        });
        if changed == 0 {
            return Err(Error::NotFound(format!("user {name}")));
        }
        tx.commit().await
    }

    /// The response already given to `user`'s request with this `Idempotency-Key`.
    pub async fn idempotent_response(
        &self,
        user: &str,
        key: &str,
    ) -> Result<Option<StoredResponse>> {
        on_backend!(Store, self, |s| {
            Ok(sqlx::query_as(
                "SELECT request_hash, status_code, response_body, created_at
                 FROM idempotency_keys WHERE user_name = $1 AND key = $2",
            )
            .bind(user)
            .bind(key)
            .fetch_optional(&s.read)
            .await?)
        })
    }
}

impl Tx {
    /// [`Store::grant`] in this transaction.
    pub async fn grant(&mut self, user: &str, membership: &Membership) -> Result<()> {
        on_backend!(Tx, self, |t| {
            let known: Option<i64> = sqlx::query_scalar("SELECT id FROM users WHERE name = $1")
                .bind(user)
                .fetch_optional(&mut *t.conn)
                .await?;
            if known.is_none() {
                return Err(Error::NotFound(format!("user {user}")));
            }
            sqlx::query(
                "INSERT INTO memberships (user_name, role, service_point) VALUES ($1, $2, $3)
                 ON CONFLICT (user_name, role, service_point) DO NOTHING",
            )
            .bind(user)
            .bind(membership.role.as_str())
            .bind(membership.service_point.as_str())
            .execute(&mut *t.conn)
            .await?;
            Ok(())
        })
    }

    /// Records the response to an idempotent request, to commit with the command it answers.
    /// [`Error::AlreadyExists`] if that user's key is already recorded.
    pub async fn remember_response(
        &mut self,
        user: &str,
        key: &str,
        response: &StoredResponse,
    ) -> Result<()> {
        on_backend!(Tx, self, |t| {
            sqlx::query(
                "INSERT INTO idempotency_keys (user_name, key, request_hash, status_code,
                                               response_body, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(user)
            .bind(key)
            .bind(response.request_hash.as_str())
            .bind(i32::from(response.status_code))
            .bind(response.body.as_str())
            .bind(Ts(response.created_at))
            .execute(&mut *t.conn)
            .await
            .map_err(|e| match is_unique_violation(&e) {
                true => Error::AlreadyExists(format!("idempotency key {key} of {user}")),
                false => e.into(),
            })?;
            Ok(())
        })
    }
}
