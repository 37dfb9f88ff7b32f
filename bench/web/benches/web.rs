//! The web pages under a full inbox: `GET /meja` for a role with 10,000 open cases (the
//! store orders and counts, the page loads and renders the 50 most urgent), and the display
//! board's update after a call (what each board's event stream renders). SQLite, in a
//! temporary directory, through the real runtime and router.
//!
//! `cargo bench -p sopflow-bench-web` (`SOPFLOW_BENCH_CASES` to change the 10,000). Before
//! criterion's figures, each benchmark prints its p50 / p99 over 300 timed requests.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, header};
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Map, Value, json};
use sopflow_core::Runtime;
use sopflow_core::adapters::Adapters;
use sopflow_core::auth::{Authenticator, User};
use sopflow_core::registry::Registry;
use sopflow_core::runtime::CommandRequest;
use sopflow_core::session::Sessions;
use sopflow_engine::case::{Actor, Command};
use sopflow_web::{WebConfig, WebState};
use tower::ServiceExt;

const KTP_EL: &str = include_str!("../../../sop-definitions/ktp-el.yaml");

struct Setup {
    web: WebState,
    cookie: String,
    _dir: tempfile::TempDir,
}

async fn setup(cases: usize) -> Setup {
    let dir = tempfile::tempdir().expect("tempdir");
    let defs = dir.path().join("defs");
    std::fs::create_dir_all(&defs).expect("defs");
    std::fs::write(defs.join("ktp-el.yaml"), KTP_EL).expect("sop");
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let store = sopflow_store::Store::connect(&url).await.expect("store");
    let registry = Registry::default();
    registry.sync_dir(&store, &defs).await;
    let offset = time::UtcOffset::from_hms(7, 0, 0).expect("offset");
    let offices = sopflow_core::offices::Offices::start(
        &store,
        &[],
        "Asia/Jakarta",
        time::OffsetDateTime::now_utc(),
    )
    .await
    .expect("service points");
    // The default service point has no calendar: always open, as a bench needs.
    let calendars = sopflow_core::calendars::Calendars::default();
    let runtime = Runtime::new(store.clone(), registry, offset, offices, calendars);
    // Open cases waiting at the verification step (the queue officer's inbox), in parallel
    // through the group committer.
    let actor = Actor::new("siti", "petugas_antrian");
    let mut tasks = tokio::task::JoinSet::new();
    let per_task = cases.div_ceil(16);
    for t in 0..16 {
        let runtime = runtime.clone();
        let actor = actor.clone();
        tasks.spawn(async move {
            for i in (t * per_task)..((t + 1) * per_task).min(cases) {
                let data: Map<String, Value> = json!({
                    "nik": format!("{:016}", 1312990101000000u64 + i as u64),
                    "alasan": "baru",
                })
                .as_object()
                .cloned()
                .unwrap_or_default();
                let now = time::OffsetDateTime::now_utc();
                let start = CommandRequest::start("ktp-el", data, Vec::new(), actor.clone(), now);
                let outcome = runtime.run(start).await.expect("case opens");
                let first = Command::CompleteStep {
                    step: "serahkan_berkas".into(),
                    data: Map::new(),
                    documents: Vec::new(),
                    outcome: None,
                };
                runtime
                    .run(CommandRequest::on_case(
                        &outcome.case.state.case_id,
                        first,
                        actor.clone(),
                        now,
                    ))
                    .await
                    .expect("handed in");
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("task");
    }
    store
        .add_user(
            "siti",
            "petugas_antrian",
            "bench-token-hash",
            time::OffsetDateTime::now_utc(),
        )
        .await
        .expect("user");
    let sessions = Sessions::new(time::Duration::hours(8));
    let user = User::new(
        "siti",
        "petugas_antrian",
        Vec::new(),
        sopflow_core::offices::DEFAULT_POINT,
    );
    let (token, _) = sessions
        .open(&store, &user, time::OffsetDateTime::now_utc())
        .await
        .expect("session");
    let web = WebState {
        runtime,
        auth: Arc::new(Authenticator::new(20, 10)),
        sessions,
        status_limit: Arc::new(Authenticator::new(20, 10)),
        config: Arc::new(WebConfig {
            secure_cookies: false,
            public_url: "http://127.0.0.1:8080".into(),
        }),
        adapters: Arc::new(Adapters::defaults(dir.path())),
        audit_jobs: Default::default(),
        log_key: None,
    };
    Setup {
        web,
        cookie: format!("sopflow_session={token}"),
        _dir: dir,
    }
}

async fn inbox_page(app: &axum::Router, cookie: &str) -> usize {
    let request = Request::get("/meja")
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .expect("request");
    let response = app.clone().oneshot(request).await.expect("answer");
    assert_eq!(response.status(), 200);
    axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body")
        .len()
}

fn percentiles(name: &str, mut samples: Vec<Duration>) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    eprintln!(
        "{name}: p50 {:.2} ms, p99 {:.2} ms over {} requests",
        at(0.50).as_secs_f64() * 1e3,
        at(0.99).as_secs_f64() * 1e3,
        samples.len()
    );
}

fn benches(c: &mut Criterion) {
    let cases: usize = std::env::var("SOPFLOW_BENCH_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let started = Instant::now();
    let setup = rt.block_on(setup(cases));
    eprintln!(
        "{cases} open cases in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let app = sopflow_web::app(setup.web.clone());

    // The page shows the 50 most urgent and says how many there are.
    let body = rt.block_on(inbox_page(&app, &setup.cookie));
    assert!(body > 10_000, "the inbox page has its rows ({body} bytes)");
    let samples = rt.block_on(async {
        let mut samples = Vec::with_capacity(300);
        for _ in 0..300 {
            let t = Instant::now();
            inbox_page(&app, &setup.cookie).await;
            samples.push(t.elapsed());
        }
        samples
    });
    percentiles(&format!("inbox page, {cases} open cases"), samples);
    c.bench_function(&format!("inbox page, {cases} open cases"), |b| {
        b.to_async(&rt).iter(|| inbox_page(&app, &setup.cookie))
    });

    // The board as every connected board renders it after a call: today's calls, the
    // numbers waiting in each queue (read from the store and the state cache).
    let web = setup.web.clone();
    let call = move |web: WebState| async move {
        let (content, _) = sopflow_web::pages::board::content_now(
            &web,
            sopflow_web::i18n::Lang::Id,
            sopflow_core::offices::DEFAULT_POINT,
        )
        .await
        .unwrap_or_else(|_| panic!("board"));
        askama::Template::render(&content).expect("board").len()
    };
    let samples = rt.block_on(async {
        let mut samples = Vec::with_capacity(300);
        for _ in 0..300 {
            let t = Instant::now();
            call(web.clone()).await;
            samples.push(t.elapsed());
        }
        samples
    });
    percentiles("board content after a call", samples);
    c.bench_function("board content after a call", |b| {
        b.to_async(&rt).iter(|| call(web.clone()))
    });
}

criterion_group! {
    name = web;
    config = Criterion::default().sample_size(30).measurement_time(Duration::from_secs(10));
    targets = benches
}
criterion_main!(web);
