//! RFC 9457 problem details: the one place where errors become HTTP answers.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sopflow_engine::case::CommandError;
use utoipa::ToSchema;

use sopflow_core::RuntimeError;
use sopflow_core::queries::QueryError;

/// An error answer (`application/problem+json`).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem (`urn:sopflow:problem:<kind>`).
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Field-level problems (case data, SOP diagnostics), each with a JSON Pointer or a
    /// `LINE:COLUMN` location.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// On a conflict: the case's version now, to retry against.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_version: Option<u64>,
    /// On a conflict: the step the case is at now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current_step: Option<String>,
    /// Seconds to wait, sent as `Retry-After` (429).
    #[serde(skip)]
    pub retry_after: Option<u64>,
}

/// One located problem inside a request.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    /// JSON Pointer into the request (or `LINE:COLUMN` in an SOP file).
    pub pointer: String,
    pub message: String,
}

impl Problem {
    pub fn new(status: StatusCode, kind: &str, title: impl Into<String>) -> Self {
        Self {
            kind: format!("urn:sopflow:problem:{kind}"),
            title: title.into(),
            status: status.as_u16(),
            detail: None,
            errors: Vec::new(),
            current_version: None,
            current_step: None,
            retry_after: None,
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad-request", "Bad request").detail(detail)
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", "Not found").detail(detail)
    }

    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "A valid bearer token is required",
        )
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Not allowed for this role",
        )
        .detail(detail)
    }

    pub fn unprocessable(kind: &str, title: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, kind, title).detail(detail)
    }

    /// A well-formed request whose body does not fit (serde names the field, never the value).
    pub fn invalid_body(detail: impl Into<String>) -> Self {
        Self::unprocessable("invalid-body", "The request body was refused", detail)
    }

    pub fn internal() -> Self {
        // The cause is logged where it happened; the client learns nothing internal.
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "Internal error",
        )
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            "Service unavailable",
        )
        .detail(detail)
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let retry_after = self.retry_after;
        let mut response = (status, Json(self)).into_response();
        if let Some(seconds) = retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        response
    }
}

impl From<JsonRejection> for Problem {
    fn from(rejection: JsonRejection) -> Self {
        let status = rejection.status();
        let kind = match status {
            StatusCode::PAYLOAD_TOO_LARGE => "too-large",
            StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
            StatusCode::UNPROCESSABLE_ENTITY => "invalid-body",
            _ => "malformed-json",
        };
        // axum's text names the field and position but never echoes values back.
        Problem::new(status, kind, "The request body was refused").detail(rejection.body_text())
    }
}

impl From<QueryRejection> for Problem {
    fn from(rejection: QueryRejection) -> Self {
        Problem::bad_request(rejection.body_text())
    }
}

impl From<CommandError> for Problem {
    fn from(e: CommandError) -> Self {
        let detail = e.to_string();
        match e {
            CommandError::WrongRole { .. } | CommandError::MayNotStart { .. } => {
                Problem::forbidden(detail)
            }
            CommandError::UnknownStep { .. } => Problem::not_found(detail),
            CommandError::InvalidData { errors } => Problem::unprocessable(
                "invalid-data",
                "The case data is invalid",
                "the data does not match the SOP's case schema",
            )
            .errors(
                errors
                    .into_iter()
                    .map(|e| FieldError {
                        pointer: e.pointer,
                        message: e.message,
                    })
                    .collect(),
            ),
            CommandError::MissingFields { step, fields } => {
                Problem::unprocessable("missing-fields", "Required fields are missing", detail)
                    .errors(
                        fields
                            .into_iter()
                            .map(|f| FieldError {
                                pointer: format!("/data/{f}"),
                                message: format!("step `{step}` requires `{f}`"),
                            })
                            .collect(),
                    )
            }
            CommandError::MissingDocuments { .. } => Problem::unprocessable(
                "missing-documents",
                "Required documents are missing",
                detail,
            ),
            CommandError::UnknownDocument { .. } => {
                Problem::unprocessable("unknown-document", "Unknown document", detail)
            }
            CommandError::FieldsNotAllowed { .. } => Problem::unprocessable(
                "fields-not-allowed",
                "Fields not allowed at this step",
                detail,
            ),
            CommandError::InvalidOutcome { .. } => {
                Problem::unprocessable("invalid-outcome", "Invalid outcome", detail)
            }
            CommandError::Internal { reason } => {
                // An engine bug, not the client's doing: logged (event kind and ids, no case
                // data), answered as a plain 500.
                tracing::error!(%reason, "the engine contradicted itself");
                Problem::internal()
            }
            CommandError::NoDueTime { .. } => {
                Problem::unprocessable("no-due-time", "No due time on the calendar", detail)
            }
            CommandError::WrongKind { .. } => {
                Problem::unprocessable("wrong-kind", "The step is not completed this way", detail)
            }
            // Everything else means the case is not where the client thought; the title says
            // how, the detail in plain words.
            CommandError::WrongStep { .. } => Problem::new(
                StatusCode::CONFLICT,
                "conflict",
                "The case is at another step",
            )
            .detail(detail),
            CommandError::InIncident { .. } => Problem::new(
                StatusCode::CONFLICT,
                "conflict",
                "The case has an open incident",
            )
            .detail(detail),
            CommandError::CaseClosed { .. } => {
                Problem::new(StatusCode::CONFLICT, "conflict", "The case is closed").detail(detail)
            }
            CommandError::NoOpenCall => Problem::new(
                StatusCode::CONFLICT,
                "conflict",
                "The case's number is not being called",
            )
            .detail(detail),
            CommandError::SameCounter { .. } => {
                Problem::unprocessable("same-counter", "The number is at that counter", detail)
            }
            _ => Problem::new(StatusCode::CONFLICT, "conflict", "The case has moved on")
                .detail(detail),
        }
    }
}

impl From<RuntimeError> for Problem {
    fn from(e: RuntimeError) -> Self {
        match e {
            RuntimeError::Command {
                error,
                current_version,
                current_step,
            } => {
                let mut p = Problem::from(error);
                if p.status == StatusCode::CONFLICT.as_u16() {
                    p.current_version = Some(current_version);
                    p.current_step = current_step;
                }
                p
            }
            RuntimeError::Conflict {
                current_version,
                current_step,
            } => {
                let mut p = Problem::new(StatusCode::CONFLICT, "conflict", "The case has moved on")
                    .detail(format!("the case is at version {current_version}"));
                p.current_version = Some(current_version);
                p.current_step = current_step;
                p
            }
            RuntimeError::CaseNotFound(id) => Problem::not_found(format!("no case `{id}`")),
            RuntimeError::SopNotFound(id) => Problem::not_found(format!("no SOP `{id}`")),
            RuntimeError::PointNotFound(id) => {
                Problem::not_found(format!("no service point `{id}`"))
            }
            RuntimeError::Forbidden(detail) => Problem::forbidden(detail),
            RuntimeError::Invalid(detail) => Problem::unprocessable(
                "invalid-request",
                "The request cannot be carried out",
                detail,
            ),
            RuntimeError::Refused { pointer, message } => Problem::unprocessable(
                "request-refused",
                "The request carries what no command may",
                message.clone(),
            )
            .errors(vec![FieldError { pointer, message }]),
            RuntimeError::IdempotencyMismatch => Problem::unprocessable(
                "idempotency-key-reused",
                "Idempotency-Key reused",
                "this Idempotency-Key was used for a different request",
            ),
            RuntimeError::Busy(detail) => Problem::unavailable(detail),
            RuntimeError::Corrupt(detail) => {
                tracing::error!(%detail, "stored history does not fold");
                Problem::internal()
            }
            RuntimeError::Store(e) => {
                tracing::error!(error = %e, "store error");
                Problem::internal()
            }
        }
    }
}

impl From<QueryError> for Problem {
    fn from(e: QueryError) -> Self {
        match e {
            QueryError::Forbidden(detail) => Problem::forbidden(detail),
            QueryError::NotFound(detail) => Problem::not_found(detail),
            QueryError::Invalid(detail) => Problem::unprocessable(
                "invalid-request",
                "The request cannot be carried out",
                detail,
            ),
            QueryError::Runtime(e) => e.into(),
        }
    }
}

/// Longest request target (path and query) accepted.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// Largest header section accepted (names and values).
pub const MAX_HEADER_BYTES: usize = 32 * 1024;

/// Refuses a request whose target or headers are too large as problem+json (414, 431), below
/// the HTTP server's own hard limits (hyper answers past those in plain text, at about 64 KiB
/// of target or 400 KiB of headers, before any handler runs).
pub async fn refuse_oversized_heads(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let target = request
        .uri()
        .path_and_query()
        .map_or(0, |p| p.as_str().len());
    if target > MAX_URI_BYTES {
        return Problem::new(StatusCode::URI_TOO_LONG, "uri-too-long", "URI too long")
            .detail(format!(
                "the request target may have at most {MAX_URI_BYTES} bytes"
            ))
            .into_response();
    }
    let headers: usize = request
        .headers()
        .iter()
        .map(|(k, v)| k.as_str().len() + v.len())
        .sum();
    if headers > MAX_HEADER_BYTES {
        return Problem::new(
            StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            "headers-too-large",
            "Request header fields too large",
        )
        .detail(format!(
            "the headers may have at most {MAX_HEADER_BYTES} bytes"
        ))
        .into_response();
    }
    next.run(request).await
}

/// Longest framework error text carried over into a problem's detail.
const MAX_REJECTION_DETAIL: usize = 512;

/// Turns error answers that did not come from a handler (axum's own rejections: a body over the
/// size limit, a method the route lacks, an unreadable path parameter) into problem+json, so
/// that every error a client sees has the same shape.
pub async fn problem_for_plain_errors(response: Response) -> Response {
    let status = response.status();
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    if is_problem || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text: String = axum::body::to_bytes(body, MAX_REJECTION_DETAIL * 4)
        .await
        .map(|b| {
            String::from_utf8_lossy(&b)
                .chars()
                .take(MAX_REJECTION_DETAIL)
                .collect()
        })
        .unwrap_or_default();
    let kind = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "payload-too-large",
        StatusCode::METHOD_NOT_ALLOWED => "method-not-allowed",
        StatusCode::NOT_FOUND => "not-found",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported-media-type",
        s if s.is_server_error() => "internal",
        _ => "bad-request",
    };
    let title = status.canonical_reason().unwrap_or("Error");
    let mut problem = Problem::new(status, kind, title);
    if !text.is_empty() {
        problem = problem.detail(text);
    }
    let mut answer = problem.into_response();
    // Keep headers such as `Allow` on a 405.
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().insert(name.clone(), value.clone());
        }
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_engine_contradiction_is_a_500_never_a_conflict() {
        let p = Problem::from(CommandError::Internal {
            reason: "event 3 (step_completed): completes `a`, but the case is at `b`".into(),
        });
        assert_eq!(p.status, 500);
        assert!(p.detail.is_none(), "nothing internal reaches the client");
        let p = Problem::from(RuntimeError::Command {
            error: CommandError::Internal { reason: "x".into() },
            current_version: 3,
            current_step: Some("a".into()),
        });
        assert_eq!((p.status, p.current_version), (500, None));
    }

    #[test]
    fn a_conflict_says_what_happened_in_words_a_clerk_reads() {
        let title = |e: CommandError| Problem::from(e).title;
        assert_eq!(
            title(CommandError::WrongStep {
                requested: "a".into(),
                current: "b".into()
            }),
            "The case is at another step"
        );
        assert_eq!(
            title(CommandError::InIncident {
                reason: "printer offline".into()
            }),
            "The case has an open incident"
        );
        assert_eq!(
            title(CommandError::CaseClosed {
                status: "completed"
            }),
            "The case is closed"
        );
        let p = Problem::from(CommandError::InvalidOutcome {
            step: "konsultasi".into(),
            found: None,
            allowed: vec!["resolved".into(), "rejected".into()],
        });
        assert_eq!(p.status, 422);
        assert_eq!(
            p.detail.as_deref(),
            Some("step `konsultasi` is completed with an outcome: one of `resolved`, `rejected`")
        );
    }
}
