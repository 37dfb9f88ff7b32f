//! The operators' work: a role's inbox and calling the next number of a queue.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sopflow_core::counters::{self, CallAt};
use sopflow_core::{access, queries};

use crate::dto::{CaseView, Task};
use crate::extract::{Caller, now, respond};
use crate::problem::Problem;
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct TaskQuery {
    /// The role whose inbox to list (one of yours; admins may list any).
    pub role: String,
    /// Only at this service point (default: every one where you hold the role).
    pub service_point: Option<String>,
}

/// The open steps a role can act on, most urgent first.
#[utoipa::path(get, path = "/tasks", security(("bearer" = [])), params(TaskQuery), responses((status = 200, body = [Task]), (status = 403, body = Problem)))]
pub async fn tasks(
    State(state): State<AppState>,
    user: Caller,
    query: Result<Query<TaskQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<Task>>, Problem> {
    let Query(q) = query?;
    let cases = queries::inbox(&state.runtime, &user, &q.role, q.service_point.as_deref()).await?;
    let at = now();
    Ok(Json(
        cases
            .iter()
            .filter_map(|c| {
                let sight = access::sight(&user, &c.deployed, &c.service_point)?;
                Task::new(CaseView::of(c, at).seen(sight, c))
            })
            .collect(),
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct CallQuery {
    /// Where to call (default: the one service point where you call this queue).
    pub service_point: Option<String>,
}

/// Calls the next waiting case of a queue at a service point (the oldest number of the day
/// first) for the caller, from no counter.
#[utoipa::path(post, path = "/queues/{queue}/call-next", security(("bearer" = [])), params(CallQuery),
    responses((status = 200, body = CaseView), (status = 204, description = "Nobody is waiting"), (status = 403, body = Problem)))]
pub async fn call_next(
    State(state): State<AppState>,
    user: Caller,
    Path(queue): Path<String>,
    query: Result<Query<CallQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, Problem> {
    let Query(q) = query?;
    let at = CallAt {
        service_point: q.service_point.as_deref(),
        queue: &queue,
        counter: None,
    };
    match counters::call_next(&state.runtime, &user, at, now()).await? {
        Some(outcome) => Ok(respond(&outcome, &user)),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}
