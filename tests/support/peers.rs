//! Real peers for the adapter tests: CUPS' `ippeveprinter` (an IPP Everywhere printer) and a
//! consultation desk (an HTTP server that checks signatures and answers on the callback).
#![allow(dead_code)]

use std::collections::VecDeque;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use serde_json::{Value, json};
use sopflow_effects::{SIGNATURE_HEADER, TIMESTAMP_HEADER, sign, verify_signature};

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// Whether the IPP tests can run; says so loudly when they cannot.
pub fn ipp_enabled(test: &str) -> bool {
    let on = std::env::var("SOPFLOW_TEST_IPP").as_deref() == Ok("1");
    if !on {
        eprintln!(
            "*** SKIPPED *** {test}: set SOPFLOW_TEST_IPP=1 (needs cups-ipp-utils, dbus and avahi-daemon running; see adapters/effects/README.md)"
        );
    }
    on
}

/// An `ippeveprinter` on a port of its own with its own spool folder, killed when dropped.
pub struct Printer {
    child: Child,
    pub uri: String,
    pub port: u16,
    pub spool: tempfile::TempDir,
}

impl Drop for Printer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// How the printer behaves.
#[derive(Default)]
pub struct PrinterOptions<'a> {
    /// Document formats it takes (default: PDF and PWG raster).
    pub formats: Option<&'a str>,
    /// Seconds each job stays "processing" (a print command that sleeps).
    pub slow_seconds: Option<u32>,
    /// Listen on this port (default: a free one).
    pub port: Option<u16>,
}

impl Printer {
    pub fn start(options: PrinterOptions) -> Printer {
        let spool = tempfile::tempdir().expect("spool dir");
        let port = options.port.unwrap_or_else(free_port);
        let mut command = Command::new("ippeveprinter");
        command
            .args(["-k", "-p", &port.to_string(), "-d"])
            .arg(spool.path())
            .args([
                "-f",
                options
                    .formats
                    .unwrap_or("application/pdf,image/pwg-raster"),
            ]);
        if let Some(seconds) = options.slow_seconds {
            // The job is "processing" while the print command runs.
            let script = spool.path().join("slow-print.sh");
            std::fs::write(&script, format!("#!/bin/sh\nsleep {seconds}\nexit 0\n"))
                .expect("script");
            let mut perms = std::fs::metadata(&script).expect("meta").permissions();
            std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o755);
            std::fs::set_permissions(&script, perms).expect("chmod");
            command.arg("-c").arg(&script);
        }
        let child = command
            .arg(format!("sopflow-test-{port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("ippeveprinter starts (apt-get install cups-ipp-utils)");
        let printer = Printer {
            child,
            uri: format!("ipp://127.0.0.1:{port}/ipp/print"),
            port,
            spool,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "ippeveprinter did not listen on {port} within 20 s (is avahi-daemon running?)"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        printer
    }

    /// The documents the printer received (it keeps them: `-k`).
    pub fn documents(&self) -> Vec<Vec<u8>> {
        let mut docs: Vec<_> = std::fs::read_dir(self.spool.path())
            .expect("spool")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "pdf"))
            .collect();
        docs.sort();
        docs.into_iter()
            .map(|p| std::fs::read(p).expect("read"))
            .collect()
    }
}

/// What the desk does with the next request.
#[derive(Debug, Clone)]
pub enum DeskStep {
    /// Answer with this status and do nothing else.
    Fail(u16),
    /// Take this long before answering (longer than the sender's timeout: it gives up).
    Stall(Duration),
}

/// One request the desk received.
#[derive(Debug, Clone)]
pub struct Received {
    pub idempotency_key: String,
    pub signed: bool,
    pub body: Value,
}

#[derive(Clone)]
struct DeskState {
    secret: Vec<u8>,
    outcome: String,
    script: Arc<Mutex<VecDeque<DeskStep>>>,
    received: Arc<Mutex<Vec<Received>>>,
    answered: Arc<Mutex<Vec<String>>>,
}

/// A consultation desk on a real socket: checks the signature, accepts with 202 and, a moment
/// later, posts its answer (`outcome`) to the callback the request names, signed.
pub struct Desk {
    pub url: String,
    state: DeskState,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Desk {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Desk {
    pub async fn start(secret: &str, outcome: &str, script: Vec<DeskStep>) -> Desk {
        let state = DeskState {
            secret: secret.as_bytes().to_vec(),
            outcome: outcome.to_owned(),
            script: Arc::new(Mutex::new(script.into())),
            received: Arc::default(),
            answered: Arc::default(),
        };
        let app = axum::Router::new()
            .route("/konsultasi", axum::routing::post(receive))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}/konsultasi", listener.local_addr().expect("addr"));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Desk { url, state, task }
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().expect("lock").clone()
    }

    /// Callback answers that sopflow acknowledged (2xx), by key.
    pub fn answered(&self) -> Vec<String> {
        self.state.answered.lock().expect("lock").clone()
    }
}

async fn receive(
    State(desk): State<DeskState>,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let header = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let signed = verify_signature(
        &desk.secret,
        &header(TIMESTAMP_HEADER),
        &body,
        &header(SIGNATURE_HEADER),
    );
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let key = header("idempotency-key");
    desk.received.lock().expect("lock").push(Received {
        idempotency_key: key.clone(),
        signed,
        body: json.clone(),
    });
    let step = desk.script.lock().expect("lock").pop_front();
    match step {
        Some(DeskStep::Fail(status)) => {
            return (
                StatusCode::from_u16(status).expect("status"),
                "desk failure",
            )
                .into_response();
        }
        Some(DeskStep::Stall(d)) => tokio::time::sleep(d).await,
        None => {}
    }
    if !signed {
        return (StatusCode::UNAUTHORIZED, "bad signature").into_response();
    }
    // Answer once per key, as a desk that deduplicates on the Idempotency-Key would.
    let first = !desk.answered.lock().expect("lock").contains(&key);
    if first && let Some(callback) = json["callback"].as_str().map(str::to_owned) {
        let answer = json!({
            "idempotency_key": key,
            "outcome": desk.outcome,
            "reference": "ADB-2026-0001",
        })
        .to_string();
        let secret = desk.secret.clone();
        let answered = desk.answered.clone();
        tokio::task::spawn_blocking(move || {
            std::thread::sleep(Duration::from_millis(50));
            let status = post_signed(&callback, &secret, &answer);
            if (200..300).contains(&status) {
                answered.lock().expect("lock").push(key);
            }
        });
    }
    (
        StatusCode::ACCEPTED,
        axum::Json(json!({"reference": "ADB-2026-0001"})),
    )
        .into_response()
}

/// POSTs `body` signed with `secret` now; the HTTP status.
pub fn post_signed(url: &str, secret: &[u8], body: &str) -> u16 {
    post_signed_at(
        url,
        secret,
        body,
        time::OffsetDateTime::now_utc().unix_timestamp(),
    )
}

pub fn post_signed_at(url: &str, secret: &[u8], body: &str, unix: i64) -> u16 {
    let timestamp = unix.to_string();
    let signature = sign(secret, &timestamp, body.as_bytes());
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    agent
        .post(url)
        .header("content-type", "application/json")
        .header(TIMESTAMP_HEADER, &timestamp)
        .header(SIGNATURE_HEADER, &signature)
        .send(body)
        .map(|r| r.status().as_u16())
        .unwrap_or(0)
}
