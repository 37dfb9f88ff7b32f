//! `sopflow serve`: configuration, start-up and the request observer.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serde::Deserialize;
use sopflow_store::Store;
use time::UtcOffset;

use crate::adapters::{AdapterConfig, AdapterConfigError, Adapters, DispatchConfig};
use crate::dispatch::Dispatcher;
use crate::registry::Registry;
use crate::runtime::Runtime;
use crate::{AppState, app, ticker};

/// The configuration file (`--config FILE`, TOML). Command-line flags override it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// `sqlite://PATH` (default `sqlite://./sopflow.db`) or `postgres://…`.
    pub database: String,
    /// Directory of SOP YAML files, watched for changes.
    pub definitions: PathBuf,
    /// The office's time zone (queue numbers restart each local day): an Indonesian zone
    /// name (`Asia/Jakarta`, `Asia/Makassar`, `Asia/Jayapura`...), `UTC`, or `+07:00`.
    pub timezone: String,
    /// Where card printers the configuration does not name print (one PDF per card).
    pub prints: PathBuf,
    /// How adapters reach this service (the consultation desk's callback goes to
    /// `{public_url}/callbacks/{adapter}`); default `http://{listen}`.
    pub public_url: Option<String>,
    /// Adapter implementations by the adapter ids SOPs use.
    pub adapters: BTreeMap<String, AdapterConfig>,
    /// Delivery of adapter requests: attempts, backoff, lease.
    pub dispatch: DispatchConfig,
    /// Failed authentications one client address may make at once, then per minute, before
    /// it is refused for a while (429).
    pub auth_failure_burst: u32,
    pub auth_failures_per_minute: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database: "sqlite://./sopflow.db".to_owned(),
            definitions: PathBuf::from("./sop-definitions"),
            timezone: "Asia/Jakarta".to_owned(),
            prints: PathBuf::from("./sopflow-prints"),
            public_url: None,
            adapters: BTreeMap::new(),
            dispatch: DispatchConfig::default(),
            auth_failure_burst: 20,
            auth_failures_per_minute: 10,
        }
    }
}

/// Why the configuration is refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: String,
        source: Box<toml::de::Error>,
    },
    #[error(
        "unknown time zone {0:?}: use an Indonesian zone (Asia/Jakarta, Asia/Makassar, Asia/Jayapura), UTC, or an offset like +07:00"
    )]
    TimeZone(String),
}

impl Config {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.display().to_string(),
            source: Box::new(source),
        })
    }

    /// The office's UTC offset. Indonesia keeps no daylight saving, so a zone is one offset.
    pub fn utc_offset(&self) -> Result<UtcOffset, ConfigError> {
        let hours = match self.timezone.as_str() {
            "UTC" | "Etc/UTC" => 0,
            "Asia/Jakarta" | "Asia/Pontianak" | "WIB" => 7,
            "Asia/Makassar" | "WITA" => 8,
            "Asia/Jayapura" | "WIT" => 9,
            other => {
                let format = time::macros::format_description!(
                    "[offset_hour sign:mandatory]:[offset_minute]"
                );
                return UtcOffset::parse(other, &format)
                    .map_err(|_| ConfigError::TimeZone(other.to_owned()));
            }
        };
        UtcOffset::from_hms(hours, 0, 0).map_err(|_| ConfigError::TimeZone(self.timezone.clone()))
    }
}

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
    _watch: Option<crate::registry::WatchGuard>,
}

/// Connects the store, deploys the definitions directory and starts watching it.
pub async fn build(config: &Config) -> Result<Service, ServeError> {
    let store = Store::connect(&config.database).await?;
    let registry = Registry::default();
    let offset = config.utc_offset()?;
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
        auth_limiter: Arc::new(crate::auth::AuthFailureLimiter::new(
            config.auth_failure_burst,
            config.auth_failures_per_minute,
        )),
        known_tokens: Arc::default(),
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
    tracing::info!(listen = %listener.local_addr()?, database = %redact_url(&config.database), "sopflow serving");
    // With the peer address: failed authentications are limited per address.
    axum::serve(
        listener,
        app(service.state.clone()).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    ticker.abort();
    dispatcher.abort();
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
}
