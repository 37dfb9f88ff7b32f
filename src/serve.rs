//! `sopflow serve`: start-up (store, definitions, runtime, background tasks), the faces
//! mounted on one router, and the request observer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use sopflow_core::adapters::{AdapterConfigError, Adapters};
use sopflow_core::auth::Authenticator;
pub use sopflow_core::config::{Config, ConfigError};
use sopflow_core::dispatch::Dispatcher;
use sopflow_core::registry::{Registry, WatchGuard};
use sopflow_core::{Runtime, ticker};
use sopflow_rest::AppState;
use sopflow_store::Store;

/// The Prometheus recorder, installed once per process.
pub fn metrics_handle() -> PrometheusHandle {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Another recorder already installed (tests): this handle still renders ours.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Everything `serve` runs, built but not yet listening.
pub struct Service {
    pub state: AppState,
    pub runtime: Runtime,
    _watch: Option<WatchGuard>,
}

impl Service {
    /// Every face on one router, observed (latency metrics, a log line per request).
    pub fn router(&self) -> Router {
        sopflow_rest::app(self.state.clone()).layer(axum::middleware::from_fn(observe))
    }
}

/// Connects the store, deploys the definitions directory and starts watching it.
pub async fn build(config: &Config) -> Result<Service, ServeError> {
    let store = Store::connect(&config.database).await?;
    let offset = config.utc_offset()?;
    let registry = Registry::new(offset);
    let watch = if config.definitions.is_dir() {
        registry.sync_dir(&store, &config.definitions).await;
        Some(registry.watch(store.clone(), config.definitions.clone())?)
    } else {
        tracing::warn!(dir = %config.definitions.display(), "no definitions directory: SOPs come only through POST /sops");
        None
    };
    let adapters = Arc::new(Adapters::from_config(&config.adapters, &config.prints)?);
    let runtime = Runtime::new(store, registry, offset);
    let state = AppState {
        runtime: runtime.clone(),
        metrics: metrics_handle(),
        adapters,
        auth: Arc::new(Authenticator::new(
            config.auth_failure_burst,
            config.auth_failures_per_minute,
        )),
    };
    Ok(Service {
        state,
        runtime,
        _watch: watch,
    })
}

/// Serves until Ctrl-C / SIGTERM.
pub async fn run(config: Config) -> Result<(), ServeError> {
    let service = build(&config).await?;
    let worker = format!("{}-{}", hostname(), std::process::id());
    let ticker = tokio::spawn(ticker::run(service.runtime.clone(), worker.clone()));
    let listener = tokio::net::TcpListener::bind(config.listen).await?;
    let public_url = config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.listen));
    let dispatcher = tokio::spawn(
        Dispatcher::new(
            service.runtime.clone(),
            service.state.adapters.clone(),
            config.dispatch.clone(),
            worker,
            public_url,
        )
        .run(),
    );
    let checkpoints = match &config.log.key {
        Some(path) => {
            let signer = sopflow_audit::checkpoint::SignerKey::read_file(path)
                .map_err(|e| ServeError::Key(e.to_string()))?;
            tracing::info!(public_key = %signer.public(), "signing checkpoints of the log");
            Some(tokio::spawn(crate::integrity_cli::run_checkpoints(
                service.runtime.store.clone(),
                signer,
                config.log.clone(),
            )))
        }
        None => {
            tracing::warn!(
                "no [log] key: no checkpoint of the log is signed (sopflow audit keygen)"
            );
            None
        }
    };
    let retention = tokio::spawn(crate::integrity_cli::run_retention(
        service.runtime.store.clone(),
        config.retention.clone(),
    ));
    tracing::info!(listen = %listener.local_addr()?, database = %redact_url(&config.database), "sopflow serving");
    // With the peer address: failed authentications are limited per address.
    axum::serve(
        listener,
        service
            .router()
            .into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    ticker.abort();
    dispatcher.abort();
    retention.abort();
    if let Some(task) = checkpoints {
        task.abort();
    }
    service.runtime.store.close().await;
    Ok(())
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_else(|_| "sopflow".to_owned())
}

/// A database URL without its password, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// Request latency by route and status, and a log line without personal data: the route
/// template (`/cases/{id}`), never bodies or query strings.
pub async fn observe(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".to_owned());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    let elapsed = started.elapsed().as_secs_f64();
    metrics::histogram!("sopflow_http_request_duration_seconds", "method" => method.clone(), "route" => route.clone(), "status" => status.clone())
        .record(elapsed);
    tracing::debug!(%method, %route, %status, elapsed_ms = elapsed * 1e3, "request");
    response
}

/// Why the service could not start: the store, the configuration, the watcher or the socket.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("store: {0}")]
    Store(#[from] sopflow_store::Error),
    #[error("configuration: {0}")]
    Config(#[from] ConfigError),
    #[error("adapters: {0}")]
    Adapters(#[from] AdapterConfigError),
    #[error("watching the definitions: {0}")]
    Watch(#[from] notify::Error),
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
    #[error("the log's signing key: {0}")]
    Key(String),
}
