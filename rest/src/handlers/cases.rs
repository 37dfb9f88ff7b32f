//! Cases: opening, listing, reading, completing steps, and the admin's commands.

use axum::Json;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use sopflow_core::auth::ADMIN;
use sopflow_core::queries;
use sopflow_core::runtime::CommandRequest;
use sopflow_engine::case::Command;
use sopflow_store::{CaseFilter, Page};

use super::store_error;
use crate::dto::{self, CaseView};
use crate::extract::{Caller, JsonBody, idempotency, now, respond};
use crate::problem::Problem;
use crate::state::AppState;

/// Opens a case on the version of an SOP in force, at a service point (the caller's, or one
/// of theirs named in the body).
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
    // Where, and in which role: the core decides (the opener's service point unless named).
    let command =
        CommandRequest::start(request.sop_id, request.data, receipts, user.actor(), now())
            .by(&user)
            .at(request.service_point)
            .files(files)
            .idempotency(idem);
    Ok(respond(&state.runtime.run(command).await?, &user))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CaseQuery {
    pub sop_id: Option<String>,
    /// Only cases opened at this service point.
    pub service_point: Option<String>,
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

/// Lists the cases the caller may see (the SOPs their roles work, at their service points),
/// filtered, one page at a time. A page may hold fewer cases than `limit` and still have a
/// `next`.
#[utoipa::path(get, path = "/cases", security(("bearer" = [])), params(CaseQuery), responses((status = 200, body = dto::CasePage)))]
pub async fn list_cases(
    State(state): State<AppState>,
    user: Caller,
    query: Result<Query<CaseQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<dto::CasePage>, Problem> {
    let Query(q) = query?;
    let limit = page_limit(q.limit)?;
    let filter = CaseFilter {
        sop_id: q.sop_id,
        statuses: q.status.map(|s| vec![s]),
        current_steps: q.step.map(|s| vec![s]),
        overdue_at: q.overdue.filter(|o| *o).map(|_| now()),
        service_points: q.service_point.map(|p| vec![p]),
        ..CaseFilter::default()
    };
    let page = Page {
        limit,
        after: q.after,
    };
    let (rows, next) = queries::list_cases(&state.runtime, &user, filter, page).await?;
    Ok(Json(dto::CasePage::new(rows, next)))
}

fn page_limit(limit: Option<u32>) -> Result<u32, Problem> {
    let limit = limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(Problem::bad_request("limit must be between 1 and 500"));
    }
    Ok(limit)
}

/// Finds the cases whose searchable field (one an SOP marks `x-searchable`, e.g. a NIK) has
/// a value, among those the caller may see; a personal field finds only cases the caller
/// sees in full. The value travels in the body, never in the URL.
#[utoipa::path(post, path = "/cases/search", security(("bearer" = [])), request_body = dto::CaseSearch,
    responses((status = 200, body = dto::CasePage), (status = 422, body = Problem)))]
pub async fn search_cases(
    State(state): State<AppState>,
    user: Caller,
    body: JsonBody<dto::CaseSearch>,
) -> Result<Json<dto::CasePage>, Problem> {
    let request = body.parse()?.value;
    let page = Page {
        limit: page_limit(request.limit)?,
        after: request.after,
    };
    let (rows, next) = queries::search(
        &state.runtime,
        &user,
        request.sop_id,
        &request.field,
        &request.value,
        page,
    )
    .await?;
    Ok(Json(dto::CasePage::new(rows, next)))
}

/// The case with a registration number (the one on the applicant's receipt, as typed: case
/// and surrounding spaces do not matter), shown as `GET /cases/{id}` shows it; 404 for a case
/// the caller may not see, as for an unknown number. The number travels in the body, never
/// in the URL.
#[utoipa::path(post, path = "/cases/lookup", security(("bearer" = [])), request_body = dto::CaseLookup,
    responses((status = 200, body = CaseView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn lookup_case(
    State(state): State<AppState>,
    user: Caller,
    body: JsonBody<dto::CaseLookup>,
) -> Result<Json<CaseView>, Problem> {
    let request = body.parse()?.value;
    let found =
        queries::case_by_registration(&state.runtime, &user, &request.registration_number).await?;
    let Some((loaded, sight)) = found else {
        return Err(Problem::not_found("no case with this registration number"));
    };
    Ok(Json(CaseView::of(&loaded, now()).seen(sight, &loaded)))
}

/// One case, if the caller may see it (else 404, as for an unknown case); personal data
/// masked unless the caller works the case.
#[utoipa::path(get, path = "/cases/{id}", security(("bearer" = [])), responses((status = 200, body = CaseView), (status = 404, body = Problem)))]
pub async fn get_case(
    State(state): State<AppState>,
    user: Caller,
    Path(id): Path<String>,
) -> Result<Json<CaseView>, Problem> {
    let (loaded, sight) = state.runtime.load_for(&user, &id).await?;
    Ok(Json(CaseView::of(&loaded, now()).seen(sight, &loaded)))
}

/// The events of a case, with their hash chain, if the caller may see it; personal data
/// (personal fields, document numbers) masked unless the caller works the case.
#[utoipa::path(get, path = "/cases/{id}/history", security(("bearer" = [])), responses((status = 200, body = [dto::HistoryEvent]), (status = 404, body = Problem)))]
pub async fn history(
    State(state): State<AppState>,
    user: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<dto::HistoryEvent>>, Problem> {
    let (loaded, sight) = state.runtime.load_for(&user, &id).await?;
    let events = state.runtime.store.events(&id).await.map_err(store_error)?;
    let personal = loaded.deployed.sop.personal_fields();
    Ok(Json(
        events
            .into_iter()
            .map(|e| {
                let mut event = dto::HistoryEvent::from(e);
                if !sight.personal() {
                    sopflow_audit::mask_json(&mut event.event, personal);
                }
                event
            })
            .collect(),
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
        .by(&user)
        .expected_version(request.expected_version)
        .files(files)
        .idempotency(idem);
    Ok(respond(&state.runtime.run(command).await?, &user))
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
            CommandRequest::on_case(self.case_id, command(reason), self.user.actor(), now())
                .by(&self.user);
        Ok(respond(&self.state.runtime.run(command).await?, &self.user))
    }
}
