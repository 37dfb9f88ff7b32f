//! HTTP handlers: thin. Each checks who is asking, turns the request into a runtime call
//! and the result into JSON; the logic lives in the runtime and the engine.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use sopflow_engine::case::Command;
use sopflow_engine::sop::model::StepKind;
use sopflow_store::{CaseFilter, Page};
use time::OffsetDateTime;

use crate::AppState;
use crate::auth::{ADMIN, AUDITOR, User};
use crate::dto::{self, CaseView, Task};
use crate::problem::{FieldError, Problem};
use crate::registry::DeployError;
use crate::runtime::{Answer, Idempotency};

/// A JSON body, refused as problem+json when malformed; keeps the SHA-256 of its bytes for
/// idempotency checks.
pub struct JsonBody<T> {
    pub value: T,
    pub sha256: String,
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(Problem::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                "Expected Content-Type: application/json",
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            Problem::new(e.status(), "body-refused", "The request body was refused")
                .detail(e.body_text())
        })?;
        let json: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
            Problem::new(
                StatusCode::BAD_REQUEST,
                "malformed-json",
                "The request body is not JSON",
            )
            .detail(e.to_string())
        })?;
        // Requests are objects; serde would also read a struct from an array of its fields.
        if !json.is_object() {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-body",
                "The request body was refused",
            )
            .detail("expected a JSON object"));
        }
        // serde names the field; it does not echo values.
        let value = serde_json::from_value(json).map_err(|e| {
            Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-body",
                "The request body was refused",
            )
            .detail(e.to_string())
        })?;
        Ok(Self {
            value,
            sha256: sopflow_engine::case::chain::sha256_hex(&bytes),
        })
    }
}

fn idempotency(
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
        .filter(|k| !k.is_empty() && k.len() <= 200)
        .ok_or_else(|| {
            Problem::bad_request("Idempotency-Key must be 1 to 200 visible ASCII characters")
        })?;
    Ok(Some(Idempotency {
        key: key.to_owned(),
        // The same key on another endpoint or with another body is a different request.
        request_hash: sopflow_engine::case::chain::sha256_hex(
            format!("{scope}\n{request_hash}").as_bytes(),
        ),
    }))
}

pub(crate) fn answer(a: Answer) -> Response {
    let status = StatusCode::from_u16(a.status).unwrap_or(StatusCode::OK);
    let mut response = (status, Json(a.body)).into_response();
    if a.replayed {
        response
            .headers_mut()
            .insert("idempotent-replayed", HeaderValue::from_static("true"));
    }
    response
}

pub(crate) fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Liveness: the process answers and the store responds.
#[utoipa::path(get, path = "/healthz", responses((status = 200, description = "Alive")))]
pub async fn healthz(State(state): State<AppState>) -> Response {
    match state.runtime.store.list_users().await {
        Ok(_) => (StatusCode::OK, Json(serde_json::json!({ "status": "ok" }))).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "health check: store unreachable");
            Problem::unavailable("the store does not answer").into_response()
        }
    }
}

/// The OpenAPI 3.1 document of this API.
#[utoipa::path(get, path = "/openapi.json", responses((status = 200, description = "OpenAPI document")))]
pub async fn openapi() -> Response {
    Json(crate::openapi::document()).into_response()
}

/// Prometheus metrics (admin and auditor).
#[utoipa::path(get, path = "/metrics", security(("bearer" = [])), responses((status = 200, description = "Prometheus text format")))]
pub async fn metrics(State(state): State<AppState>, user: User) -> Result<Response, Problem> {
    user.require(&[ADMIN, AUDITOR])?;
    let counts = state
        .runtime
        .store
        .count_cases_by_status()
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "metrics: counting cases");
            Problem::internal()
        })?;
    for (sop_id, status, count) in counts {
        metrics::gauge!("sopflow_cases", "sop" => sop_id, "status" => status).set(count as f64);
    }
    let text = state.metrics.render();
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text).into_response())
}

/// The SOPs with their versions, and refused definition files.
#[utoipa::path(get, path = "/sops", security(("bearer" = [])), responses((status = 200, body = dto::SopList)))]
pub async fn list_sops(
    State(state): State<AppState>,
    _user: User,
) -> Result<Json<dto::SopList>, Problem> {
    let store = &state.runtime.store;
    let all = store.all_sop_versions().await.map_err(store_error)?;
    let mut sops: Vec<dto::SopSummary> = Vec::new();
    for v in all {
        let summary = dto::SopVersionSummary {
            version: v.version,
            content_hash: v.content_hash.clone(),
            created_at: v.created_at,
        };
        match sops.iter_mut().find(|s| s.sop_id == v.sop_id) {
            Some(s) => {
                s.latest_version = s.latest_version.max(v.version);
                s.versions.push(summary);
            }
            None => sops.push(dto::SopSummary {
                sop_id: v.sop_id.clone(),
                title: String::new(),
                latest_version: v.version,
                versions: vec![summary],
            }),
        }
    }
    for s in &mut sops {
        if let Ok(Some(d)) = state
            .runtime
            .registry
            .get(store, &s.sop_id, s.latest_version as u32)
            .await
        {
            s.title = d.sop.document().header.title.clone();
        }
    }
    let refused_files = state
        .runtime
        .registry
        .file_problems()
        .into_iter()
        .map(|f| dto::RefusedFile {
            file: f.file,
            problems: f.problems,
        })
        .collect();
    Ok(Json(dto::SopList {
        sops,
        refused_files,
    }))
}

/// One SOP's versions.
#[utoipa::path(get, path = "/sops/{id}", security(("bearer" = [])), responses((status = 200, body = dto::SopSummary), (status = 404, body = Problem)))]
pub async fn get_sop(
    State(state): State<AppState>,
    _user: User,
    Path(id): Path<String>,
) -> Result<Json<dto::SopSummary>, Problem> {
    let store = &state.runtime.store;
    let versions = store.sop_versions(&id).await.map_err(store_error)?;
    let latest = versions
        .iter()
        .map(|v| v.version)
        .max()
        .ok_or_else(|| Problem::not_found(format!("no SOP `{id}`")))?;
    let title = match state.runtime.registry.get(store, &id, latest as u32).await {
        Ok(Some(d)) => d.sop.document().header.title.clone(),
        _ => String::new(),
    };
    Ok(Json(dto::SopSummary {
        sop_id: id,
        title,
        latest_version: latest,
        versions: versions
            .into_iter()
            .map(|v| dto::SopVersionSummary {
                version: v.version,
                content_hash: v.content_hash,
                created_at: v.created_at,
            })
            .collect(),
    }))
}

/// One version: its YAML and its flowchart.
#[utoipa::path(get, path = "/sops/{id}/versions/{version}", security(("bearer" = [])), responses((status = 200, body = dto::SopVersionDetail), (status = 404, body = Problem)))]
pub async fn get_sop_version(
    State(state): State<AppState>,
    _user: User,
    Path((id, version)): Path<(String, u32)>,
) -> Result<Json<dto::SopVersionDetail>, Problem> {
    let deployed = state
        .runtime
        .registry
        .get(&state.runtime.store, &id, version)
        .await
        .map_err(store_error)?
        .ok_or_else(|| Problem::not_found(format!("no version {version} of SOP `{id}`")))?;
    Ok(Json(dto::SopVersionDetail {
        sop_id: deployed.sop_id.clone(),
        version: deployed.version,
        content_hash: deployed.content_hash.clone(),
        created_at: deployed.created_at,
        yaml: deployed.yaml.clone(),
        mermaid: sopflow_engine::render::mermaid(deployed.sop.document()),
    }))
}

/// Deploys an SOP (admin). The body is the YAML text.
#[utoipa::path(post, path = "/sops", security(("bearer" = [])), request_body(content = String, content_type = "application/yaml"),
    responses((status = 201, body = dto::Deployment), (status = 422, body = Problem)))]
pub async fn deploy_sop(
    State(state): State<AppState>,
    user: User,
    body: Bytes,
) -> Result<Response, Problem> {
    user.require(&[ADMIN])?;
    let text = std::str::from_utf8(&body)
        .map_err(|_| Problem::bad_request("the SOP must be UTF-8 text"))?;
    match state
        .runtime
        .registry
        .deploy(&state.runtime.store, text)
        .await
    {
        Ok(d) => {
            tracing::info!(sop_id = %d.sop_id, version = d.version, user = %user.name, "SOP deployed through the API");
            Ok((
                StatusCode::CREATED,
                Json(dto::Deployment {
                    sop_id: d.sop_id.clone(),
                    version: d.version,
                    content_hash: d.content_hash.clone(),
                }),
            )
                .into_response())
        }
        Err(DeployError::Invalid(problems)) => Err(Problem::unprocessable(
            "invalid-sop",
            "The SOP is invalid",
            format!("{} problems", problems.len()),
        )
        .errors(
            problems
                .iter()
                .map(|p| FieldError {
                    pointer: format!("{}:{}", p.pos.line, p.pos.column),
                    message: p.to_string(),
                })
                .collect(),
        )),
        Err(DeployError::Store(e)) => Err(store_error(e)),
    }
}

/// Opens a case on the newest version of an SOP.
#[utoipa::path(post, path = "/cases", security(("bearer" = [])), request_body = dto::StartCase,
    params(("Idempotency-Key" = Option<String>, Header, description = "Same key, same answer, no second case")),
    responses((status = 201, body = CaseView), (status = 422, body = Problem), (status = 403, body = Problem)))]
pub async fn start_case(
    State(state): State<AppState>,
    user: User,
    headers: HeaderMap,
    body: JsonBody<dto::StartCase>,
) -> Result<Response, Problem> {
    let idem = idempotency(&headers, &body.sha256, "POST /cases")?;
    let request = body.value;
    // An unknown SOP is a 404 before the body is looked at; who may open a case is the
    // engine's start decision (so replay checks it too).
    state
        .runtime
        .registry
        .latest(&state.runtime.store, &request.sop_id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| Problem::not_found(format!("no SOP `{}`", request.sop_id)))?;
    let (receipts, files) = dto::receipts(&request.documents).map_err(Problem::bad_request)?;
    let a = state
        .runtime
        .start_case(
            &request.sop_id,
            request.data,
            receipts,
            files,
            user.actor(),
            now(),
            idem,
            dto::render_case,
        )
        .await?;
    Ok(answer(a))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CaseQuery {
    pub sop_id: Option<String>,
    /// open, incident, completed, cancelled.
    pub status: Option<String>,
    /// Current step id.
    pub step: Option<String>,
    /// Only cases past a budget now.
    pub overdue: Option<bool>,
    /// Page size, 1 to 500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next` of the previous page.
    pub after: Option<String>,
}

/// Lists cases, filtered, one page at a time.
#[utoipa::path(get, path = "/cases", security(("bearer" = [])), params(CaseQuery), responses((status = 200, body = dto::CasePage)))]
pub async fn list_cases(
    State(state): State<AppState>,
    _user: User,
    query: Result<Query<CaseQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<dto::CasePage>, Problem> {
    let Query(q) = query?;
    let limit = q.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(Problem::bad_request("limit must be between 1 and 500"));
    }
    let filter = CaseFilter {
        sop_id: q.sop_id,
        statuses: q.status.map(|s| vec![s]),
        current_steps: q.step.map(|s| vec![s]),
        overdue_at: q.overdue.filter(|o| *o).map(|_| now()),
    };
    let rows = state
        .runtime
        .store
        .list_cases(
            &filter,
            &Page {
                limit,
                after: q.after,
            },
        )
        .await
        .map_err(store_error)?;
    let next = (rows.len() as u32 == limit)
        .then(|| rows.last().map(|r| r.case_id.clone()))
        .flatten();
    Ok(Json(dto::CasePage {
        cases: rows
            .into_iter()
            .map(|r| dto::CaseSummary {
                case_id: r.case_id,
                sop_id: r.sop_id,
                sop_version: r.sop_version,
                status: r.status,
                current_step: r.current_step,
                version: r.version,
                created_at: r.created_at,
                updated_at: r.updated_at,
                due_at: r.due_at,
                overdue: r.overdue,
            })
            .collect(),
        next,
    }))
}

/// One case.
#[utoipa::path(get, path = "/cases/{id}", security(("bearer" = [])), responses((status = 200, body = CaseView), (status = 404, body = Problem)))]
pub async fn get_case(
    State(state): State<AppState>,
    _user: User,
    Path(id): Path<String>,
) -> Result<Json<CaseView>, Problem> {
    let loaded = state.runtime.load(&id).await?;
    Ok(Json(CaseView::new(&loaded.deployed, &loaded.state, now())))
}

/// The events of a case, with their hash chain.
#[utoipa::path(get, path = "/cases/{id}/history", security(("bearer" = [])), responses((status = 200, body = [dto::HistoryEvent]), (status = 404, body = Problem)))]
pub async fn history(
    State(state): State<AppState>,
    _user: User,
    Path(id): Path<String>,
) -> Result<Json<Vec<dto::HistoryEvent>>, Problem> {
    let (_, events) = state.runtime.history(&id).await?;
    Ok(Json(
        events
            .into_iter()
            .map(|e| dto::HistoryEvent {
                seq: e.seq,
                kind: e.kind,
                at: e.recorded_at,
                user: e.user_name,
                role: e.role,
                event: e.payload,
                prev_hash: e.prev_hash,
                hash: e.hash,
            })
            .collect(),
    ))
}

/// Completes the current step with data and documents.
#[utoipa::path(post, path = "/cases/{id}/steps/{step}/complete", security(("bearer" = [])), request_body = dto::CompleteStep,
    params(("Idempotency-Key" = Option<String>, Header, description = "Same key, same answer, no second event")),
    responses((status = 200, body = CaseView), (status = 409, body = Problem), (status = 422, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn complete_step(
    State(state): State<AppState>,
    user: User,
    headers: HeaderMap,
    Path((id, step)): Path<(String, String)>,
    body: JsonBody<dto::CompleteStep>,
) -> Result<Response, Problem> {
    let idem = idempotency(&headers, &body.sha256, &format!("complete {id} {step}"))?;
    let request = body.value;
    let (receipts, files) = dto::receipts(&request.documents).map_err(Problem::bad_request)?;
    let command = Command::CompleteStep {
        step,
        data: request.data,
        documents: receipts,
        outcome: request.outcome,
    };
    let a = state
        .runtime
        .command(
            &id,
            request.expected_version,
            command,
            files,
            user.actor(),
            now(),
            idem,
            dto::render_case,
        )
        .await?;
    Ok(answer(a))
}

/// Withdraws a case (admin).
#[utoipa::path(post, path = "/cases/{id}/cancel", security(("bearer" = [])), request_body = dto::Reason, responses((status = 200, body = CaseView), (status = 409, body = Problem)))]
pub async fn cancel_case(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    body: JsonBody<dto::Reason>,
) -> Result<Response, Problem> {
    user.require(&[ADMIN])?;
    let command = Command::Cancel {
        reason: body.value.reason,
    };
    let a = state
        .runtime
        .plain(&id, command, user.actor(), now())
        .await?;
    Ok(answer(a))
}

/// Resolves a case's incident (admin): the case routes again or asks its adapter again.
#[utoipa::path(post, path = "/cases/{id}/incident/resolve", security(("bearer" = [])), request_body = dto::Reason, responses((status = 200, body = CaseView), (status = 409, body = Problem)))]
pub async fn resolve_incident(
    State(state): State<AppState>,
    user: User,
    Path(id): Path<String>,
    body: JsonBody<dto::Reason>,
) -> Result<Response, Problem> {
    user.require(&[ADMIN])?;
    let command = Command::ResolveIncident {
        note: body.value.reason,
    };
    let a = state
        .runtime
        .plain(&id, command, user.actor(), now())
        .await?;
    Ok(answer(a))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TaskQuery {
    /// The role whose inbox to list (your own; admins may list any).
    pub role: String,
}

/// The open steps a role can act on, most urgent first.
#[utoipa::path(get, path = "/tasks", security(("bearer" = [])), params(TaskQuery), responses((status = 200, body = [Task]), (status = 403, body = Problem)))]
pub async fn tasks(
    State(state): State<AppState>,
    user: User,
    query: Result<Query<TaskQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<Task>>, Problem> {
    let Query(q) = query?;
    if q.role != user.role && !user.is(ADMIN) {
        return Err(Problem::forbidden(format!(
            "role `{}` may only list its own inbox",
            user.role
        )));
    }
    let steps = steps_for(&state, |d, idx| {
        let step = d.sop.step(idx);
        match step.kind {
            StepKind::Task | StepKind::Service | StepKind::Queue => d.sop.may_record(idx, &q.role),
            _ => false,
        }
    })
    .await?;
    let at = now();
    let mut out = Vec::new();
    if steps.is_empty() {
        return Ok(Json(out));
    }
    let filter = CaseFilter {
        statuses: Some(vec!["open".into()]),
        current_steps: Some(steps.iter().map(|(_, _, s)| s.clone()).collect()),
        ..CaseFilter::default()
    };
    let rows = state
        .runtime
        .store
        .list_cases(&filter, &Page::first(500))
        .await
        .map_err(store_error)?;
    for row in rows {
        let in_version = steps.iter().any(|(sop, v, s)| {
            *sop == row.sop_id
                && i64::from(*v) == row.sop_version
                && Some(s) == row.current_step.as_ref()
        });
        if !in_version {
            continue;
        }
        let Ok(loaded) = state.runtime.load(&row.case_id).await else {
            continue;
        };
        let view = CaseView::new(&loaded.deployed, &loaded.state, at);
        if let Some(step) = view.current_step {
            out.push(Task {
                case_id: view.case_id,
                sop_id: view.sop_id,
                sop_version: view.sop_version,
                version: view.version,
                queue_number: view.queue_number,
                step,
            });
        }
    }
    out.sort_by(|a, b| (a.step.due_at, &a.case_id).cmp(&(b.step.due_at, &b.case_id)));
    Ok(Json(out))
}

/// Calls the next waiting case of a queue (the oldest number first) for the caller.
#[utoipa::path(post, path = "/queues/{queue}/call-next", security(("bearer" = [])),
    responses((status = 200, body = CaseView), (status = 204, description = "Nobody is waiting"), (status = 403, body = Problem)))]
pub async fn call_next(
    State(state): State<AppState>,
    user: User,
    Path(queue): Path<String>,
) -> Result<Response, Problem> {
    let steps = steps_for(&state, |d, idx| {
        d.sop.step(idx).queue.as_deref() == Some(queue.as_str())
    })
    .await?;
    if steps.is_empty() {
        return Err(Problem::not_found(format!("no queue `{queue}`")));
    }
    let mut allowed = false;
    for (sop_id, version, step) in &steps {
        if let Ok(Some(d)) = state
            .runtime
            .registry
            .get(&state.runtime.store, sop_id, *version)
            .await
        {
            allowed |= d
                .sop
                .step_index(step)
                .is_some_and(|idx| d.sop.may_record(idx, &user.role));
        }
    }
    if !allowed {
        return Err(Problem::forbidden(format!(
            "role `{}` may not call queue `{queue}`",
            user.role
        )));
    }
    let filter = CaseFilter {
        statuses: Some(vec!["open".into()]),
        current_steps: Some(steps.iter().map(|(_, _, s)| s.clone()).collect()),
        ..CaseFilter::default()
    };
    let rows = state
        .runtime
        .store
        .list_cases(&filter, &Page::first(500))
        .await
        .map_err(store_error)?;
    let mut waiting = Vec::new();
    for row in rows {
        if let Ok(loaded) = state.runtime.state_at(&row.case_id, row.version).await
            && loaded.queue_number.is_some()
        {
            // Called in number order: numbers restart each local day, so the day comes first.
            let day = loaded
                .visits
                .last()
                .map(|v| v.entered_at.to_offset(state.runtime.utc_offset).date());
            let number = loaded
                .queue_number
                .as_deref()
                .and_then(|n| n.rsplit('-').next())
                .and_then(|n| n.parse::<u64>().ok());
            waiting.push(((day, number), row.case_id));
        }
    }
    waiting.sort();
    for (_, case_id) in waiting {
        // Another call of this process is taking that one: take the next.
        let Some(_reserved) = state.runtime.reserve_call(&case_id) else {
            continue;
        };
        let command = Command::CallFromQueue {
            queue: queue.clone(),
        };
        match state
            .runtime
            .plain(&case_id, command, user.actor(), now())
            .await
        {
            Ok(a) => return Ok(answer(a)),
            // Another operator called this one first: take the next.
            Err(
                crate::runtime::RuntimeError::Command { .. }
                | crate::runtime::RuntimeError::Conflict { .. },
            ) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `(sop_id, version, step_id)` of every known SOP version's steps that match.
async fn steps_for(
    state: &AppState,
    matches: impl Fn(&crate::registry::Deployed, usize) -> bool,
) -> Result<Vec<(String, u32, String)>, Problem> {
    let store = &state.runtime.store;
    let versions = store.all_sop_versions().await.map_err(store_error)?;
    let mut out = Vec::new();
    for v in versions {
        let Ok(version) = u32::try_from(v.version) else {
            continue;
        };
        let Some(d) = state
            .runtime
            .registry
            .get(store, &v.sop_id, version)
            .await
            .map_err(store_error)?
        else {
            continue;
        };
        for idx in 0..d.sop.step_count() {
            if matches(&d, idx) {
                out.push((d.sop_id.clone(), version, d.sop.step(idx).id.clone()));
            }
        }
    }
    Ok(out)
}

fn store_error(e: sopflow_store::Error) -> Problem {
    crate::runtime::RuntimeError::from(e).into()
}

/// Fallback for unknown paths.
pub async fn not_found() -> Problem {
    Problem::not_found("no such endpoint")
}
