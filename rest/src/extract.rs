//! What handlers take from a request (the caller, a JSON body, an Idempotency-Key) and how a
//! command's outcome becomes an answer.

use std::net::SocketAddr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use sopflow_core::auth::{AuthError, User};
use sopflow_core::runtime::{Idempotency, Outcome};
use sopflow_engine::case::event::canonical_json;
use time::OffsetDateTime;

use crate::dto::CaseView;
use crate::problem::Problem;
use crate::state::AppState;

/// The authenticated caller of a request (a bearer token).
pub struct Caller(pub User);

impl std::ops::Deref for Caller {
    type Target = User;

    fn deref(&self) -> &User {
        &self.0
    }
}

impl Caller {
    /// Refuses unless the caller has one of `roles`.
    pub fn require(&self, roles: &[&str]) -> Result<(), Problem> {
        if self.has_any(roles) {
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

impl FromRequestParts<AppState> for Caller {
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
        let token = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(bearer_token);
        state
            .auth
            .bearer(&state.runtime.store, token, peer)
            .await
            .map(Caller)
            .map_err(Problem::from)
    }
}

/// The token of an `Authorization: Bearer <token>` value; the scheme is case-insensitive
/// (RFC 9110 §11.1).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim_start().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token)
}

impl From<AuthError> for Problem {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Unauthenticated => Problem::unauthorized(),
            AuthError::RateLimited(wait) => {
                let seconds = wait.as_secs().max(1);
                let mut problem = Problem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too-many-failed-logins",
                    "Too many failed authentications from this address",
                )
                .detail(format!("try again in {seconds} s"));
                problem.retry_after = Some(seconds);
                problem
            }
            AuthError::Store(e) => {
                tracing::error!(error = %e, "user lookup failed");
                Problem::internal()
            }
        }
    }
}

/// A JSON body, read but not yet judged: a handler that checks the caller's role first calls
/// [`JsonBody::parse`] after it, so that a request the caller may not make is refused (403)
/// before its body is (415, 400, 422).
pub struct JsonBody<T> {
    parsed: Result<Parsed<T>, Problem>,
}

/// A JSON body as the handler uses it, with the SHA-256 of its canonical form (keys sorted,
/// no whitespace: the same JSON written otherwise is the same request) for idempotency.
pub struct Parsed<T> {
    pub value: T,
    pub sha256: String,
}

impl<T> JsonBody<T> {
    /// The body, or why it is refused (problem+json).
    pub fn parse(self) -> Result<Parsed<T>, Problem> {
        self.parsed
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_json_media_type);
        if !is_json {
            return Ok(Self {
                parsed: Err(Problem::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported-media-type",
                    "Expected Content-Type: application/json",
                )),
            });
        }
        // A body over the limit is refused whatever the caller: nothing is read past it.
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            Problem::new(e.status(), "body-refused", "The request body was refused")
                .detail(e.body_text())
        })?;
        Ok(Self {
            parsed: parse_json(&bytes),
        })
    }
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<Parsed<T>, Problem> {
    let json: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "malformed-json",
            "The request body is not JSON",
        )
        .detail(e.to_string())
    })?;
    // Requests are objects; serde would also read a struct from an array of its fields.
    if !json.is_object() {
        return Err(Problem::invalid_body("expected a JSON object"));
    }
    let sha256 = sopflow_engine::case::chain::sha256_hex(canonical_json(&json).as_bytes());
    // serde names the field; it does not echo values.
    let value = serde_json::from_value(json).map_err(|e| Problem::invalid_body(e.to_string()))?;
    Ok(Parsed { value, sha256 })
}

/// `application/json`, or a `+json` type (`application/merge-patch+json`), with or without
/// parameters (`; charset=utf-8`), any case: the media type is parsed, not prefix-matched
/// (`application/jsonfoo` is not JSON).
fn is_json_media_type(value: &str) -> bool {
    let essence = value.split(';').next().unwrap_or_default().trim();
    let Some((kind, subtype)) = essence.split_once('/') else {
        return false;
    };
    let subtype = subtype.to_ascii_lowercase();
    kind.eq_ignore_ascii_case("application") && (subtype == "json" || subtype.ends_with("+json"))
}

/// The request's Idempotency-Key: the same key on another endpoint (`scope`) or with another
/// body is a different request.
pub fn idempotency(
    headers: &HeaderMap,
    request_hash: &str,
    scope: &str,
) -> Result<Option<Idempotency>, Problem> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| crate::text::is_idempotency_key(k.as_bytes()))
        .ok_or_else(|| {
            Problem::bad_request("Idempotency-Key must be 1 to 200 visible ASCII characters")
        })?;
    Ok(Some(Idempotency {
        key: key.to_owned(),
        request_hash: sopflow_engine::case::chain::sha256_hex(
            format!("{scope}\n{request_hash}").as_bytes(),
        ),
    }))
}

/// The answer to `user`'s command: the case as it is after it (201 when the command opened
/// it), rendered at the command's time, so a replay under the same key answers the same, and
/// as the user sees it (personal data masked for an admin).
pub fn respond(outcome: &Outcome, user: &User) -> Response {
    let status = if outcome.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let case = &outcome.case;
    let sight = sopflow_core::access::sight(user, &case.deployed, &case.service_point)
        .unwrap_or(sopflow_core::access::Sight::Masked);
    let view = CaseView::of(case, outcome.at).seen(sight, case);
    let mut response = (status, Json(view)).into_response();
    if outcome.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_media_types_are_parsed() {
        for yes in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            "application/problem+json",
        ] {
            assert!(is_json_media_type(yes), "{yes}");
        }
        for no in [
            "application/jsonfoo",
            "text/json",
            "application/",
            "json",
            "",
        ] {
            assert!(!is_json_media_type(no), "{no}");
        }
    }

    #[test]
    fn the_bearer_scheme_is_case_insensitive() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER abc"), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearerabc"), None);
    }
}
