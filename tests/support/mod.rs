//! Drives the HTTP app in-process (`oneshot`), on a fresh store per test: SQLite always,
//! PostgreSQL when `SOPFLOW_TEST_DATABASE_URL` is set.
#![allow(dead_code)]

use std::path::PathBuf;

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use serde_json::Value;
use sopflow::serve::{Config, Service, build};
use sopflow_store::testing::TestDb;
use tower::ServiceExt;

pub use sopflow_store::testing::Backend;

pub mod peers;

mod facts;
#[allow(unused_imports)]
pub use facts::facts;

pub struct Api {
    pub app: Router,
    pub service: Service,
    /// What the service was built with (another process is built the same way).
    pub config: Config,
    pub definitions: tempfile::TempDir,
    pub db: TestDb,
}

pub struct Reply {
    pub status: StatusCode,
    pub content_type: String,
    pub headers: axum::http::HeaderMap,
    pub body: Value,
    pub text: String,
}

/// A file of the repository (e.g. `sop-definitions/ktp-el.yaml`, `tests/sops/x.yaml`).
pub fn repo_file(relative: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The KTP-el SOP as shipped.
pub fn ktp_el_yaml() -> String {
    repo_file(KTP_EL)
}

/// The SOP the tests deploy unless they name others.
pub const KTP_EL: &str = "sop-definitions/ktp-el.yaml";
/// A test SOP whose roles share nothing with KTP-el's (`tests/data/surat-pindah.yaml`).
pub fn surat_pindah_yaml() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/surat-pindah.yaml");
    std::fs::read_to_string(path).expect("surat-pindah.yaml")
}

/// The configuration as [`Api::start`] leaves it.
pub fn as_it_is(_: &mut Config) {}

impl Api {
    /// A service on a fresh database with the KTP-el SOP in its definitions directory.
    pub async fn start(backend: Backend) -> Option<Api> {
        Self::start_with(backend, |_| {}).await
    }

    /// [`Api::start`], with the configuration adjusted by `configure` (adapters, dispatch).
    pub async fn start_with(backend: Backend, configure: impl FnOnce(&mut Config)) -> Option<Api> {
        Self::start_with_sops(backend, &[KTP_EL], configure).await
    }

    /// A service on a fresh database whose definitions directory holds the SOP files `sops`
    /// (paths from the repository root), with the configuration adjusted by `configure`.
    pub async fn start_with_sops(
        backend: Backend,
        sops: &[&str],
        configure: impl FnOnce(&mut Config),
    ) -> Option<Api> {
        let db = TestDb::new(backend).await?;
        let definitions = tempfile::tempdir().expect("tempdir");
        for sop in sops {
            let name = std::path::Path::new(sop)
                .file_name()
                .unwrap_or_else(|| panic!("{sop} names no file"));
            std::fs::write(definitions.path().join(name), repo_file(sop)).expect("write SOP");
        }
        let mut config = Config {
            database: db.url.clone(),
            definitions: PathBuf::from(definitions.path()),
            prints: definitions.path().join("prints"),
            // The calendars the project ships, whatever the working directory.
            calendars: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/calendars")),
            ..Config::default()
        };
        configure(&mut config);
        let service = build(&config).await.expect("service builds");
        let app = service.router();
        Some(Api {
            app,
            service,
            config,
            definitions,
            db,
        })
    }

    /// Where the default folder printer puts its PDFs.
    pub fn prints(&self) -> PathBuf {
        self.definitions.path().join("prints")
    }

    pub async fn finish(self) {
        self.service.runtime.store.close().await;
        self.db.cleanup().await;
    }

    /// Creates a user with `role` and returns its token.
    pub async fn user(&self, name: &str, role: &str) -> String {
        let (token, hash) = sopflow_core::auth::new_token().expect("randomness");
        self.service
            .runtime
            .store
            .add_user(name, role, &hash, time::OffsetDateTime::now_utc())
            .await
            .expect("add user");
        token
    }

    /// Creates a user who holds `role` at each of `at` (`*`: every service point) and
    /// returns its token.
    pub async fn user_at(&self, name: &str, role: &str, at: &[&str]) -> String {
        let (token, hash) = sopflow_core::auth::new_token().expect("randomness");
        let memberships: Vec<sopflow_store::Membership> = at
            .iter()
            .map(|p| sopflow_store::Membership {
                role: role.to_owned(),
                service_point: (*p).to_owned(),
            })
            .collect();
        self.service
            .runtime
            .store
            .add_user_with(
                name,
                role,
                &hash,
                &memberships,
                time::OffsetDateTime::now_utc(),
            )
            .await
            .expect("add user");
        token
    }

    /// Puts an SOP file into the definitions folder and deploys it.
    pub async fn add_sop(&self, file: &str, yaml: &str) {
        std::fs::write(self.definitions.path().join(file), yaml).expect("write SOP");
        let runtime = &self.service.runtime;
        let problems = runtime
            .registry
            .sync_dir(&runtime.store, self.definitions.path())
            .await;
        assert!(problems.is_empty(), "{problems:?}");
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        extra: &[(&str, &str)],
    ) -> Reply {
        let mut request = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        for (k, v) in extra {
            request = request.header(*k, *v);
        }
        let body = match body {
            Some(b) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Body::from(b.to_string())
            }
            None => Body::empty(),
        };
        self.raw(request.body(body).expect("request")).await
    }

    pub async fn raw(&self, request: Request<Body>) -> Reply {
        let response = self.app.clone().oneshot(request).await.expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("body");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            content_type,
            headers,
            body,
            text,
        }
    }

    /// `POST /sops` (optionally `?reason=`) with a YAML body.
    pub async fn deploy_yaml(&self, token: &str, yaml: &str, query: &str) -> Reply {
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!("/sops{query}"))
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/yaml")
            .body(Body::from(yaml.to_owned()))
            .expect("request");
        self.raw(request).await
    }

    /// The status of a GET whose body never ends (a stream of server-sent events): the body
    /// is dropped unread.
    pub async fn stream_status(&self, path: &str, token: Option<&str>) -> StatusCode {
        let mut request = Request::builder().method(Method::GET).uri(path);
        if let Some(t) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {t}"));
        }
        let request = request.body(Body::empty()).expect("request");
        let response = self.app.clone().oneshot(request).await.expect("infallible");
        response.status()
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.send(Method::GET, path, Some(token), None, &[]).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Some(token), Some(body), &[])
            .await
    }
}

/// The service on a real socket with its outbox dispatcher running, as `sopflow serve` runs
/// it; both stop when this is dropped.
pub struct Serving {
    /// `http://127.0.0.1:PORT`: the callbacks' base.
    pub base: String,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Serving {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Retries a second apart: a test waits for deliveries, not for backoff.
pub fn quick_dispatch() -> sopflow_core::adapters::DispatchConfig {
    use sopflow_engine::sop::Duration;
    sopflow_core::adapters::DispatchConfig {
        max_attempts: 3,
        first_retry: Duration::from_secs(1),
        max_retry: Duration::from_secs(2),
        lease: Duration::from_secs(30),
        concurrency: 4,
    }
}

impl Api {
    /// Serves the app on a socket and runs the dispatcher with `policy`.
    pub async fn serve(&self, policy: sopflow_core::adapters::DispatchConfig) -> Serving {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let app = self.app.clone();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let dispatcher = sopflow_core::dispatch::Dispatcher::new(
            self.service.runtime.clone(),
            self.service.state.adapters.clone(),
            policy,
            "test-dispatcher".into(),
            base.clone(),
        );
        let dispatch = tokio::spawn(dispatcher.run());
        Serving {
            base,
            tasks: vec![server, dispatch],
        }
    }

    /// Reads the case as `token` until `done` holds (the dispatcher works in the background);
    /// fails after 45 s naming `what`.
    pub async fn wait_case(
        &self,
        case: &str,
        token: &str,
        what: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(45);
        loop {
            let body = self.get(&format!("/cases/{case}"), token).await.body;
            if done(&body) {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "waited 45 s for {what}; the case: {body}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    }
}

/// One test per scenario and backend; `config = FN;` first adjusts the configuration.
#[allow(unused_macros)]
macro_rules! api_tests {
    (config = $config:path; $($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(api) = $crate::support::Api::start_with($crate::support::Backend::Sqlite, $config).await {
                        $crate::$name(&api).await;
                        api.finish().await;
                    }
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if let Some(api) = $crate::support::Api::start_with($crate::support::Backend::Postgres, $config).await {
                        $crate::$name(&api).await;
                        api.finish().await;
                    }
                }
            )*
        }
    };
    ($($name:ident),* $(,)?) => {
        api_tests!(config = $crate::support::as_it_is; $($name),*);
    };
}
#[allow(unused_imports)]
pub(crate) use api_tests;

// ---- the attacker's literals: event rows as the store keeps them (see the store's codec) ----

/// `bytes` as an SQL literal of the backend's blob type.
pub fn bytes_literal(backend: Backend, bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    match backend {
        Backend::Sqlite => format!("X'{hex}'"),
        Backend::Postgres => format!("'\\x{hex}'::bytea"),
    }
}

/// A hash (64 hex digits) as an event row stores it: its 32 bytes.
pub fn hash_literal(backend: Backend, hex: &str) -> String {
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("a hex hash"))
        .collect();
    bytes_literal(backend, &bytes)
}

/// `codec = 0, payload = ...`: a JSON text as an event row stores it uncompressed (codec 0,
/// which rows from before compression hold and the store reads as well).
pub fn plain_payload_set(backend: Backend, json: &str) -> String {
    format!(
        "codec = 0, payload = {}",
        bytes_literal(backend, json.as_bytes())
    )
}
