//! HTTP handlers around adapters: the incidents list and retry (admins), and the signed
//! callback on which a consultation desk answers.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use sopflow_effects::{SIGNATURE_HEADER, TIMESTAMP_HEADER, verify_signature};
use sopflow_engine::case::{Actor, Command, CommandError, EventBody};
use time::OffsetDateTime;
use utoipa::ToSchema;

use sopflow_core::auth::{ADMIN, AUDITOR};
use sopflow_core::outbox;
use sopflow_core::runtime::{CommandRequest, RuntimeError, decode};

use crate::dto;
use crate::extract::{Caller, JsonBody, now, respond};
use crate::problem::Problem;
use crate::state::AppState;

/// How old a callback's signature may be: a captured request cannot be replayed later.
const CALLBACK_MAX_AGE_SECONDS: i64 = 300;

/// A delivery given up after its attempts: the case waits for a person.
#[derive(Debug, Serialize, ToSchema)]
pub struct Incident {
    /// The delivery's id (for `POST /incidents/{id}/retry`).
    pub id: i64,
    pub case_id: String,
    pub step: Option<String>,
    pub adapter: String,
    pub idempotency_key: String,
    pub attempts: i32,
    /// Why it was given up (no personal data: adapters' errors name peers, not people).
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub queued_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub given_up_at: OffsetDateTime,
}

/// Adapter deliveries given up, oldest first (admins and auditors).
#[utoipa::path(get, path = "/incidents", security(("bearer" = [])), responses((status = 200, body = [Incident]), (status = 403, body = Problem)))]
pub async fn list_incidents(
    State(state): State<AppState>,
    user: Caller,
) -> Result<Json<Vec<Incident>>, Problem> {
    user.require(&[ADMIN, AUDITOR])?;
    let rows = state
        .runtime
        .store
        .list_incidents()
        .await
        .map_err(RuntimeError::from)?;
    Ok(Json(
        rows.into_iter()
            .map(|r| Incident {
                id: r.id,
                step: outbox::call(&r).ok().map(|c| c.step),
                case_id: r.case_id,
                adapter: r.adapter,
                idempotency_key: r.idempotency_key,
                attempts: r.attempts,
                last_error: r.last_error,
                queued_at: r.created_at,
                given_up_at: r.updated_at,
            })
            .collect(),
    ))
}

/// Retries a delivery given up (admin): the case's incident is resolved and the request is
/// queued again under the same idempotency key, in one transaction. For a print, the retry is
/// a person's decision that no card came out: it prints.
#[utoipa::path(post, path = "/incidents/{id}/retry", security(("bearer" = [])), request_body = dto::Reason, responses((status = 200, body = dto::CaseView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn retry_incident(
    State(state): State<AppState>,
    user: Caller,
    Path(id): Path<i64>,
    body: JsonBody<dto::Reason>,
) -> Result<Response, Problem> {
    user.require(&[ADMIN])?;
    let reason = body.parse()?.value.reason;
    match outbox::retry_incident(&state.runtime, &user, id, &reason, now()).await? {
        None => Err(Problem::not_found(format!("no open incident {id}"))),
        Some((_, outbox::Retried::Resolved(outcome))) => Ok(respond(&outcome, &user)),
        Some((case_id, outbox::Retried::Requeued)) => {
            let (loaded, sight) = state.runtime.load_for(&user, &case_id).await?;
            let view = dto::CaseView::of(&loaded, now()).seen(sight, &loaded);
            Ok(Json(view).into_response())
        }
    }
}

/// The desk's answer to a consultation.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackAnswer {
    /// The key the request carried (`Idempotency-Key`).
    pub idempotency_key: String,
    /// One of the step's outcomes (KTP-el: `resolved`, `rejected`).
    pub outcome: String,
    /// The desk's reference for the record.
    pub reference: Option<String>,
}

/// Where the answer went.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallbackReceipt {
    pub case_id: String,
    /// `recorded`, or `already_recorded` for a resent answer.
    pub status: String,
    pub version: u64,
}

/// The consultation desk answers here. No bearer token: the body is signed with the adapter's
/// shared secret like the request was (`X-Sopflow-Timestamp`, `X-Sopflow-Signature:
/// sha256=HMAC(secret, "{timestamp}.{body}")`), at most 5 minutes old.
#[utoipa::path(post, path = "/callbacks/{adapter}", request_body = CallbackAnswer, responses((status = 200, body = CallbackReceipt), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn consultation_callback(
    State(state): State<AppState>,
    Path(adapter): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Problem> {
    let secret = state
        .adapters
        .callback_secret(&adapter)
        .ok_or_else(|| Problem::not_found(format!("no webhook adapter `{adapter}`")))?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(timestamp), Some(signature)) = (header(TIMESTAMP_HEADER), header(SIGNATURE_HEADER))
    else {
        return Err(unsigned("the callback must be signed"));
    };
    if !verify_signature(secret, timestamp, &body, signature) {
        return Err(unsigned("the signature does not match"));
    }
    let signed_at = timestamp.parse::<i64>().unwrap_or(i64::MIN);
    if (now().unix_timestamp() - signed_at).abs() > CALLBACK_MAX_AGE_SECONDS {
        return Err(unsigned("the signature is too old (or from the future)"));
    }
    let answer: CallbackAnswer =
        serde_json::from_slice(&body).map_err(|e| Problem::invalid_body(e.to_string()))?;
    // Keys are `case:step:visit`.
    let case_id = answer
        .idempotency_key
        .split_once(':')
        .map(|(case, _)| case.to_owned())
        .ok_or_else(|| Problem::not_found("no request with this idempotency key"))?;
    let command = Command::RecordAdapterResult {
        idempotency_key: answer.idempotency_key.clone(),
        outcome: Some(answer.outcome.clone()),
        reference: answer.reference.clone(),
        data: serde_json::Map::new(),
    };
    let actor = Actor::new(format!("callback:{adapter}"), "adapter");
    let receipt = |status: &str, version| {
        Json(CallbackReceipt {
            case_id: case_id.clone(),
            status: status.to_owned(),
            version,
        })
        .into_response()
    };
    let record = CommandRequest::on_case(case_id.clone(), command, actor, now());
    match state.runtime.run(record).await {
        Ok(outcome) => Ok(receipt("recorded", outcome.case.state.version)),
        // A resent answer that is already in the history is acknowledged again, not refused.
        Err(RuntimeError::Command {
            error: CommandError::UnknownRequest { .. },
            current_version,
            ..
        }) if already_recorded(&state, &case_id, &answer).await? => {
            Ok(receipt("already_recorded", current_version))
        }
        Err(e) => Err(e.into()),
    }
}

async fn already_recorded(
    state: &AppState,
    case_id: &str,
    answer: &CallbackAnswer,
) -> Result<bool, Problem> {
    let (_, stored) = state.runtime.history(case_id).await?;
    let events = decode(&stored)?;
    Ok(events.iter().flat_map(|e| e.facts()).any(|f| {
        matches!(f, EventBody::AdapterCompleted { idempotency_key, outcome, .. }
            if *idempotency_key == answer.idempotency_key
                && outcome.as_deref() == Some(answer.outcome.as_str()))
    }))
}

fn unsigned(detail: &str) -> Problem {
    Problem::new(
        StatusCode::UNAUTHORIZED,
        "bad-signature",
        "The callback signature was refused",
    )
    .detail(detail)
}
