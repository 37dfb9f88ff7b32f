//! The sopflow service: HTTP (axum) and background work around the pure engine.
//!
//! # Layout
//! - [`routes`]: thin handlers; [`dto`]: the wire types; [`problem`]: errors as RFC 9457;
//! - [`auth`]: bearer tokens and roles;
//! - [`audit`]: the auditor's tools (verify, anchor, replay, export, report) and their handlers;
//! - [`runtime`]: one command = one store transaction (decide, number, chain, append);
//! - [`registry`]: SOP versions (deployed from files or the API, watched, cached);
//! - [`ticker`]: the time-budget timer;
//! - [`dispatch`]: the outbox dispatcher (adapter deliveries, retries, incidents), over the
//!   [`adapters`] the configuration binds; [`adapter_routes`]: incidents and callbacks;
//! - [`serve`]: wiring it all together for `sopflow serve`.

pub mod adapter_routes;
pub mod adapters;
pub mod audit;
pub mod auth;
pub mod dispatch;
pub mod dto;
pub mod openapi;
pub mod problem;
pub mod registry;
pub mod routes;
pub mod runtime;
pub mod serve;
pub mod ticker;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use metrics_exporter_prometheus::PrometheusHandle;

/// Largest request body accepted (an SOP, or a step with a scanned document).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub runtime: runtime::Runtime,
    pub metrics: PrometheusHandle,
    /// The deployment's adapters (the callback endpoint checks their signatures).
    pub adapters: std::sync::Arc<adapters::Adapters>,
    /// Failed authentications per client address.
    pub auth_limiter: std::sync::Arc<auth::AuthFailureLimiter>,
    /// Users recently authenticated, by token hash.
    pub known_tokens: std::sync::Arc<auth::KnownTokens>,
}

/// The HTTP application, without a socket: tests drive it with `oneshot`.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(routes::healthz))
        .route("/openapi.json", get(routes::openapi))
        .route("/metrics", get(routes::metrics))
        .route("/sops", get(routes::list_sops).post(routes::deploy_sop))
        .route("/sops/{id}", get(routes::get_sop))
        .route(
            "/sops/{id}/versions/{version}",
            get(routes::get_sop_version),
        )
        .route("/cases", get(routes::list_cases).post(routes::start_case))
        .route("/cases/{id}", get(routes::get_case))
        .route("/cases/{id}/history", get(routes::history))
        .route(
            "/cases/{id}/steps/{step}/complete",
            post(routes::complete_step),
        )
        .route("/cases/{id}/cancel", post(routes::cancel_case))
        .route(
            "/cases/{id}/incident/resolve",
            post(routes::resolve_incident),
        )
        .route("/tasks", get(routes::tasks))
        .route("/queues/{queue}/call-next", post(routes::call_next))
        .route("/incidents", get(adapter_routes::list_incidents))
        .route(
            "/incidents/{id}/retry",
            post(adapter_routes::retry_incident),
        )
        .route(
            "/callbacks/{adapter}",
            post(adapter_routes::consultation_callback),
        )
        // The auditor's endpoints (handlers in audit::http).
        .route("/cases/{id}/replay", get(audit::http::replay))
        .route("/cases/{id}/verify", get(audit::http::verify_case))
        .route("/audit/anchor", get(audit::http::anchor))
        .route("/exports/cases", get(audit::http::export_cases))
        .route(
            "/reports/sops/{id}/versions/{version}",
            get(audit::http::sop_report),
        )
        .fallback(routes::not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::map_response(
            problem::problem_for_plain_errors,
        ))
        .layer(axum::middleware::from_fn(serve::observe))
        .with_state(state)
}
