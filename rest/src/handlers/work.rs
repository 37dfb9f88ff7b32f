//! The operators' work: a role's inbox and calling the next number of a queue.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use sopflow_core::queries;

use crate::dto::{CaseView, Task};
use crate::extract::{Caller, now, respond};
use crate::problem::Problem;
use crate::state::AppState;

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
    user: Caller,
    query: Result<Query<TaskQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<Vec<Task>>, Problem> {
    let Query(q) = query?;
    let cases = queries::inbox(&state.runtime, &user, &q.role).await?;
    let at = now();
    Ok(Json(
        cases
            .iter()
            .filter_map(|c| Task::new(CaseView::new(&c.deployed, &c.state, at)))
            .collect(),
    ))
}

/// Calls the next waiting case of a queue (the oldest number first) for the caller.
#[utoipa::path(post, path = "/queues/{queue}/call-next", security(("bearer" = [])),
    responses((status = 200, body = CaseView), (status = 204, description = "Nobody is waiting"), (status = 403, body = Problem)))]
pub async fn call_next(
    State(state): State<AppState>,
    user: Caller,
    Path(queue): Path<String>,
) -> Result<Response, Problem> {
    match queries::call_next(&state.runtime, &queue, &user.actor(), None, now()).await? {
        Some(outcome) => Ok(respond(&outcome)),
        None => Ok(StatusCode::NO_CONTENT.into_response()),
    }
}
