//! Liveness, metrics and the fallback (the OpenAPI document serves itself: `openapi::serve`).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use sopflow_core::auth::{ADMIN, AUDITOR};

use crate::extract::Caller;
use crate::problem::Problem;
use crate::state::AppState;

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

/// Prometheus metrics (admin and auditor).
#[utoipa::path(get, path = "/metrics", security(("bearer" = [])), responses((status = 200, description = "Prometheus text format")))]
pub async fn metrics(State(state): State<AppState>, user: Caller) -> Result<Response, Problem> {
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

/// Fallback for unknown paths.
pub async fn not_found() -> Problem {
    Problem::not_found("no such endpoint")
}
