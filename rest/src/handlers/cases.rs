//! Cases: opening, listing, reading, completing steps, and the admin's commands.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use sopflow_core::auth::ADMIN;
use sopflow_core::runtime::CommandRequest;
use sopflow_engine::case::Command;
use sopflow_store::{CaseFilter, Page};

use super::store_error;
use crate::dto::{self, CaseView};
use crate::extract::{Caller, JsonBody, idempotency, now, respond};
use crate::problem::Problem;
use crate::state::AppState;

/// Opens a case on the newest version of an SOP.
#[utoipa::path(post, path = "/cases", security(("bearer" = [])), request_body = dto::StartCase,
    params(("Idempotency-Key" = Option<String>, Header, description = "Same key, same answer, no second case. 1 to 200 visible ASCII characters, kept per user. The same key with the same request (the same endpoint and the same JSON, whatever its whitespace or key order) gives the first answer again, with `Idempotent-Replayed: true`, and does nothing twice; the same key with another request is refused (422).")),
    responses((status = 201, body = CaseView), (status = 422, body = Problem), (status = 403, body = Problem)))]
pub async fn start_case(
    State(state): State<AppState>,
    user: Caller,
    headers: HeaderMap,
    body: JsonBody<dto::StartCase>,
) -> Result<Response, Problem> {
    let body = body.parse()?;
    let idem = idempotency(&headers, &body.sha256, "POST /cases")?;
    let request = body.value;
    // An unknown SOP is a 404 before the documents are looked at; who may open a case is the
    // engine's start decision (so replay checks it too).
    state
        .runtime
        .registry
        .in_force(&state.runtime.store, &request.sop_id, now())
        .await
        .map_err(store_error)?
        .ok_or_else(|| Problem::not_found(format!("no SOP `{}`", request.sop_id)))?;
    let (receipts, files) = dto::receipts(&request.documents).map_err(Problem::bad_request)?;
    let command =
        CommandRequest::start(request.sop_id, request.data, receipts, user.actor(), now())
            .files(files)
            .idempotency(idem);
    Ok(respond(&state.runtime.run(command).await?))
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
    _user: Caller,
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
        cases: rows.into_iter().map(dto::CaseSummary::from).collect(),
        next,
    }))
}

/// One case.
#[utoipa::path(get, path = "/cases/{id}", security(("bearer" = [])), responses((status = 200, body = CaseView), (status = 404, body = Problem)))]
pub async fn get_case(
    State(state): State<AppState>,
    _user: Caller,
    Path(id): Path<String>,
) -> Result<Json<CaseView>, Problem> {
    let loaded = state.runtime.load(&id).await?;
    Ok(Json(CaseView::new(&loaded.deployed, &loaded.state, now())))
}

/// The events of a case, with their hash chain.
#[utoipa::path(get, path = "/cases/{id}/history", security(("bearer" = [])), responses((status = 200, body = [dto::HistoryEvent]), (status = 404, body = Problem)))]
pub async fn history(
    State(state): State<AppState>,
    _user: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<dto::HistoryEvent>>, Problem> {
    let (_, events) = state.runtime.history(&id).await?;
    Ok(Json(
        events.into_iter().map(dto::HistoryEvent::from).collect(),
    ))
}

/// Completes the current step with data and documents.
#[utoipa::path(post, path = "/cases/{id}/steps/{step}/complete", security(("bearer" = [])), request_body = dto::CompleteStep,
    params(("Idempotency-Key" = Option<String>, Header, description = "Same key, same answer, no second event. 1 to 200 visible ASCII characters, kept per user. The same key with the same request (the same endpoint and the same JSON, whatever its whitespace or key order) gives the first answer again, with `Idempotent-Replayed: true`, and does nothing twice; the same key with another request is refused (422).")),
    responses((status = 200, body = CaseView), (status = 409, body = Problem), (status = 422, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn complete_step(
    State(state): State<AppState>,
    user: Caller,
    headers: HeaderMap,
    Path((id, step)): Path<(String, String)>,
    body: JsonBody<dto::CompleteStep>,
) -> Result<Response, Problem> {
    let body = body.parse()?;
    let idem = idempotency(&headers, &body.sha256, &format!("complete {id} {step}"))?;
    let request = body.value;
    let (receipts, files) = dto::receipts(&request.documents).map_err(Problem::bad_request)?;
    let command = Command::CompleteStep {
        step,
        data: request.data,
        documents: receipts,
        outcome: request.outcome,
    };
    let command = CommandRequest::on_case(id, command, user.actor(), now())
        .expected_version(request.expected_version)
        .files(files)
        .idempotency(idem);
    Ok(respond(&state.runtime.run(command).await?))
}

/// Withdraws a case (admin).
#[utoipa::path(post, path = "/cases/{id}/cancel", security(("bearer" = [])), request_body = dto::Reason, responses((status = 200, body = CaseView), (status = 409, body = Problem)))]
pub async fn cancel_case(action: AdminAction) -> Result<Response, Problem> {
    action.run(|reason| Command::Cancel { reason }).await
}

/// Resolves a case's incident (admin): the case routes again or asks its adapter again.
#[utoipa::path(post, path = "/cases/{id}/incident/resolve", security(("bearer" = [])), request_body = dto::Reason, responses((status = 200, body = CaseView), (status = 409, body = Problem)))]
pub async fn resolve_incident(action: AdminAction) -> Result<Response, Problem> {
    action.run(|note| Command::ResolveIncident { note }).await
}

/// A command only an admin gives, on any case, with a reason: what the admin's endpoints
/// take from their requests.
pub struct AdminAction {
    state: AppState,
    user: Caller,
    case_id: String,
    body: JsonBody<dto::Reason>,
}

impl FromRequest<AppState> for AdminAction {
    type Rejection = Problem;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let user = Caller::from_request_parts(&mut parts, state).await?;
        let Path(case_id) = Path::<String>::from_request_parts(&mut parts, state)
            .await
            .map_err(|e| Problem::bad_request(e.body_text()))?;
        let body =
            JsonBody::<dto::Reason>::from_request(Request::from_parts(parts, body), state).await?;
        Ok(Self {
            state: state.clone(),
            user,
            case_id,
            body,
        })
    }
}

impl AdminAction {
    async fn run(self, command: impl FnOnce(String) -> Command) -> Result<Response, Problem> {
        self.user.require(&[ADMIN])?;
        let reason = self.body.parse()?.value.reason;
        let command =
            CommandRequest::on_case(self.case_id, command(reason), self.user.actor(), now());
        Ok(respond(&self.state.runtime.run(command).await?))
    }
}
