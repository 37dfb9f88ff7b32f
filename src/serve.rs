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
use sopflow_core::auth::{ADMIN, Authenticator, hash_password, new_token, random_password};
use sopflow_core::calendars::{Calendars, CalendarsError};
pub use sopflow_core::config::{Config, ConfigError};
use sopflow_core::dispatch::Dispatcher;
use sopflow_core::offices::{OfficeError, Offices};
use sopflow_core::registry::{Registry, WatchGuard};
use sopflow_core::session::Sessions;
use sopflow_core::{Runtime, calls, ticker};
use sopflow_rest::AppState;
use sopflow_store::Store;
use sopflow_web::{WebConfig, WebState};

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
    pub web: WebState,
    pub runtime: Runtime,
    _watch: Option<WatchGuard>,
}

impl Service {
    /// Every face on one router (the REST API and the pages: their paths never collide),
    /// observed (latency metrics, a log line per request). An unknown path is answered by the
    /// face whose paths it looks like: problem+json for the API, an HTML page for the pages.
    pub fn router(&self) -> Router {
        let web = self.web.clone();
        sopflow_rest::routes(self.state.clone())
            .merge(sopflow_web::app(self.web.clone()))
            .fallback(move |request: Request| {
                let web = web.clone();
                async move { not_found(&web, request).await }
            })
            .layer(axum::middleware::from_fn(observe))
    }
}

/// The fallback of the merged router (see [`Service::router`]).
async fn not_found(_web: &WebState, request: Request) -> Response {
    let path = request.uri().path();
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    if sopflow_rest::PATH_PREFIXES.contains(&first) || !sopflow_web::owns_path(path) {
        use axum::response::IntoResponse as _;
        return sopflow_rest::problem::Problem::not_found("no such endpoint").into_response();
    }
    let lang = sopflow_web::people::lang(request.headers());
    sopflow_web::security_headers(sopflow_web::pages::errors::not_found(lang)).await
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
    let offices = Offices::start(
        &store,
        &config.service_points,
        &config.timezone,
        time::OffsetDateTime::now_utc(),
    )
    .await?;
    let calendars = Calendars::from_dir(&config.calendars)?;
    // Every calendar a configured service point names must load now, not at its first case.
    for point in &config.service_points {
        if let Some(id) = &point.calendar {
            calendars
                .by_id(id)
                .map_err(|e| ServeError::Calendar(point.id.clone(), e))?;
        }
    }
    let mut runtime = Runtime::new(store, registry, offset, offices, calendars);
    runtime.no_shows_before_cancel = config.counters.no_shows_before_cancel;
    // Cases that waited in a queue before the projection said so: calls must find them.
    let placed = runtime
        .project_queue_places()
        .await
        .map_err(|e| ServeError::Queues(e.to_string()))?;
    if placed > 0 {
        tracing::info!(placed, "waiting cases given their queue place");
    }
    // Calls made by other processes on the same database reach this one's streams.
    tokio::spawn(calls::relay(runtime.store.clone(), runtime.calls.clone()));
    let default_point = runtime.offices.default_id().to_owned();
    let auth = Arc::new(
        Authenticator::new(config.auth_failure_burst, config.auth_failures_per_minute)
            .default_point(&default_point),
    );
    let state = AppState {
        runtime: runtime.clone(),
        metrics: metrics_handle(),
        adapters: adapters.clone(),
        auth: auth.clone(),
    };
    let public_url = public_url(config);
    let web = WebState {
        runtime: runtime.clone(),
        auth,
        sessions: Sessions::new(time::Duration::seconds(
            i64::try_from(config.session_idle.as_secs()).unwrap_or(i64::MAX),
        ))
        .default_point(&default_point),
        status_limit: Arc::new(Authenticator::new(
            config.auth_failure_burst,
            config.auth_failures_per_minute,
        )),
        config: Arc::new(WebConfig {
            secure_cookies: public_url.starts_with("https://"),
            public_url,
        }),
        adapters,
        audit_jobs: Default::default(),
        log_key: match &config.log.key {
            Some(path) => Some(
                sopflow_audit::checkpoint::SignerKey::read_file(path)
                    .map_err(|e| ServeError::Key(e.to_string()))?
                    .public(),
            ),
            None => None,
        },
    };
    Ok(Service {
        state,
        web,
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
    let public_url = public_url(&config);
    first_admin(&service.runtime.store, &public_url).await?;
    let sweeper = tokio::spawn(sweep_sessions(service.web.clone()));
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
    sweeper.abort();
    service.runtime.store.close().await;
    Ok(())
}

/// How people and adapters reach the service: the configured public URL, or the listening
/// address.
fn public_url(config: &Config) -> String {
    config
        .public_url
        .clone()
        .unwrap_or_else(|| format!("http://{}", config.listen))
}

/// On a store with no admin, creates `admin` with a random password and prints it once, to
/// standard output only (never to the log), with where to log in.
pub async fn first_admin(store: &Store, public_url: &str) -> Result<(), ServeError> {
    if store.list_users().await?.iter().any(|u| u.role == ADMIN) {
        return Ok(());
    }
    let no_randomness = |e: getrandom::Error| ServeError::Random(e.to_string());
    let (_, token_hash) = new_token().map_err(no_randomness)?;
    let password = random_password().map_err(no_randomness)?;
    let hash = hash_password(&password).map_err(|e| ServeError::Random(e.to_string()))?;
    match store
        .add_user(ADMIN, ADMIN, &token_hash, time::OffsetDateTime::now_utc())
        .await
    {
        Ok(_) => {}
        // Another process on the same database made it first: its terminal has the password.
        Err(sopflow_store::Error::AlreadyExists(_)) => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    store.set_password_hash(ADMIN, Some(&hash)).await?;
    println!("No admin user yet: created `{ADMIN}`. Its password, shown only this once:");
    println!("    {password}");
    println!("Log in at {public_url}/ (change it with `sopflow user password {ADMIN}`).");
    Ok(())
}

/// Removes sessions idle past their expiry, every few minutes (a live one is refused on its
/// next use anyway; this keeps the table small).
async fn sweep_sessions(web: WebState) {
    let mut every = tokio::time::interval(std::time::Duration::from_secs(300));
    loop {
        every.tick().await;
        if let Err(e) = web
            .sessions
            .sweep(&web.runtime.store, time::OffsetDateTime::now_utc())
            .await
        {
            tracing::warn!(error = %e, "sweeping idle sessions");
        }
    }
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
    #[error("service points: {0}")]
    Offices(#[from] OfficeError),
    #[error("calendars: {0}")]
    Calendars(#[from] CalendarsError),
    #[error("service point `{0}`: {1}")]
    Calendar(String, CalendarsError),
    #[error("watching the definitions: {0}")]
    Watch(#[from] notify::Error),
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
    #[error("the log's signing key: {0}")]
    Key(String),
    #[error("the first admin's password: {0}")]
    Random(String),
    #[error("the waiting cases' queue places: {0}")]
    Queues(String),
}

#[cfg(test)]
mod tests {
    #[test]
    fn page_paths_and_api_paths_never_share_a_first_segment() {
        for prefix in sopflow_web::PAGE_PREFIXES {
            assert!(
                !sopflow_rest::PATH_PREFIXES.contains(prefix),
                "`/{prefix}` would be both a page and an API path"
            );
        }
        assert!(sopflow_web::owns_path("/berkas/abc/tanda-terima"));
        assert!(sopflow_web::owns_path("/"));
        assert!(sopflow_web::owns_path("/periksa/berkas/abc"));
        assert!(!sopflow_web::owns_path("/cases/abc"));
        assert!(!sopflow_web::owns_path("/healthz"));
    }
}
