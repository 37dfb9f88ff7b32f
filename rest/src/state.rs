//! What every REST handler shares.

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use sopflow_core::Runtime;
use sopflow_core::adapters::Adapters;
use sopflow_core::auth::Authenticator;

/// The REST face's state: the core runtime and what only HTTP needs around it.
#[derive(Clone)]
pub struct AppState {
    pub runtime: Runtime,
    pub metrics: PrometheusHandle,
    /// The deployment's adapters (the callback endpoint checks their signatures).
    pub adapters: Arc<Adapters>,
    /// Who is asking: bearer tokens, remembered briefly, failures limited per address.
    pub auth: Arc<Authenticator>,
}
