//! The REST face of sopflow: HTTP (axum) over the service core.
//!
//! # Layout
//! - [`handlers`]: thin handlers, one module per resource; [`extract`]: the caller, JSON
//!   bodies, Idempotency-Keys and how an outcome becomes an answer;
//! - [`dto`]: the wire types; [`problem`]: errors as RFC 9457; [`openapi`]: the document;
//! - [`state`]: what handlers share; [`text`]: the text rules of parameters and bodies.
//!
//! **Architecture invariant:** the handlers hold no rules of cases and never write the store
//! themselves: every change goes through [`sopflow_core::Runtime::run`], every cross-case read
//! through [`sopflow_core::queries`], as for every other face.

pub mod dto;
pub mod extract;
pub mod handlers;
pub mod openapi;
pub mod problem;
pub mod state;
pub mod text;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};

use handlers::{audit, cases, incidents, offices, sops, system, work};
pub use state::AppState;

/// Largest request body accepted (an SOP, or a step with a scanned document).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// The REST API, without a socket: tests drive it with `oneshot`. Every error it answers, the
/// framework's own included, is problem+json.
pub fn app(state: AppState) -> Router {
    routes(state).fallback(system::not_found)
}

/// The first segment of every API path: the binary, which mounts the pages beside the API,
/// answers unknown paths by it (problem+json here, an HTML page for the pages).
pub const PATH_PREFIXES: &[&str] = &[
    "healthz",
    "openapi.json",
    "metrics",
    "sops",
    "cases",
    "tasks",
    "queues",
    "incidents",
    "callbacks",
    "audit",
    "exports",
    "reports",
];

/// The API's routes without a fallback, to merge with the other faces' routes.
pub fn routes(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(system::healthz))
        .route("/openapi.json", get(openapi::serve))
        .route("/metrics", get(system::metrics))
        .route("/sops", get(sops::list_sops).post(sops::deploy_sop))
        .route("/sops/{id}", get(sops::get_sop))
        .route("/sops/{id}/releases", post(sops::release_sop))
        .route("/sops/{id}/versions/{version}", get(sops::get_sop_version))
        .route("/cases", get(cases::list_cases).post(cases::start_case))
        .route("/cases/search", post(cases::search_cases))
        .route("/cases/lookup", post(cases::lookup_case))
        .route("/cases/{id}", get(cases::get_case))
        .route("/cases/{id}/history", get(cases::history))
        .route(
            "/cases/{id}/steps/{step}/complete",
            post(cases::complete_step),
        )
        .route("/cases/{id}/cancel", post(cases::cancel_case))
        .route(
            "/cases/{id}/incident/resolve",
            post(cases::resolve_incident),
        )
        .route("/tasks", get(work::tasks))
        .route("/queues/{queue}/call-next", post(work::call_next))
        .route("/service-points", get(offices::list_service_points))
        .route(
            "/service-points/{id}",
            get(offices::get_service_point).put(offices::put_service_point),
        )
        .route("/service-points/{id}/queues", get(offices::queues))
        .route(
            "/service-points/{id}/queues/{queue}/call-next",
            post(offices::call_next),
        )
        .route("/cases/{id}/call/recall", post(offices::recall))
        .route("/cases/{id}/call/no-show", post(offices::no_show))
        .route("/cases/{id}/call/transfer", post(offices::transfer))
        .route(
            "/service-points/{id}/calls/stream",
            get(offices::call_stream),
        )
        .route("/incidents", get(incidents::list_incidents))
        .route("/incidents/{id}/retry", post(incidents::retry_incident))
        .route(
            "/callbacks/{adapter}",
            post(incidents::consultation_callback),
        )
        .route("/cases/{id}/replay", get(audit::replay))
        .route("/cases/{id}/verify", get(audit::verify_case))
        .route("/audit/anchor", get(audit::anchor))
        .route("/exports/cases", get(audit::export_cases))
        .route(
            "/reports/sops/{id}/versions/{version}",
            get(audit::sop_report),
        )
        .layer(axum::middleware::from_fn(problem::refuse_oversized_heads))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(
            problem::problem_for_plain_errors,
        ))
        .with_state(state)
}
