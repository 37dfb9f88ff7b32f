//! `sopflow-load`: plays N concurrent operators against a real `sopflow serve`, each taking
//! KTP-el cases through every step of the SOP over the REST API (the README's walk-through),
//! with the bench mix: case `i` hands in an incomplete file once when `i % 5 == 0` and has a
//! duplicate record (ADB consultation, then a second check) once when `i % 10 == 1`.
//!
//! It starts the server itself (or targets `--url`), creates the users with
//! `sopflow user add`, runs the load, and prints one JSON line: completions/s, cases/s,
//! latency percentiles, errors (must be 0; 409s counted apart) and the server's peak RSS.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use clap::Parser;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

mod prefill;
mod web;

#[derive(Parser, Debug)]
#[command(about = "Load driver: concurrent operators run KTP-el cases through sopflow serve")]
struct Args {
    /// The sopflow binary (release build).
    #[arg(long, default_value = "target/release/sopflow")]
    sopflow: PathBuf,
    /// sqlite://PATH or postgres://USER:PASS@HOST/DB; used for `user add` and by the server.
    #[arg(long)]
    database: String,
    /// Directory of SOP definitions the server deploys.
    #[arg(long, default_value = "sop-definitions")]
    definitions: PathBuf,
    /// Address the started server listens on.
    #[arg(long, default_value = "127.0.0.1:18080")]
    listen: String,
    /// Target an already running server instead of starting one.
    #[arg(long)]
    url: Option<String>,
    /// With --url: the server's pid, to read its peak RSS.
    #[arg(long)]
    server_pid: Option<u32>,
    /// Where the started server writes its log.
    #[arg(long, default_value = "sopflow-serve.log")]
    server_log: PathBuf,
    /// Concurrent operators.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Cases in all.
    #[arg(long, default_value_t = 2000)]
    cases: u64,
    /// Cases whose history is read back (as the auditor) for events and bytes per case.
    #[arg(long, default_value_t = 100)]
    history_sample: u64,
    /// Officers who reload their inbox page (`GET /meja`, logged in with a password) during
    /// the load, and a display board listening to its event stream; 0: the API alone.
    #[arg(long, default_value_t = 0)]
    web_clients: usize,
    /// Cases opened before the load and left at their first step: the web officers' inbox.
    #[arg(long, default_value_t = 0)]
    web_backlog: u64,
    /// Pause between one officer's pages, ms (a desk's page refreshes itself every 5,000).
    #[arg(long, default_value_t = 20)]
    web_pause_ms: u64,
    /// The service point whose board is watched.
    #[arg(long, default_value = "kantor")]
    web_point: String,
    /// Finished cases put in the store before the load (through the service's own start-up
    /// and command pipeline, in process): the store a year of an office leaves.
    #[arg(long, default_value_t = 0)]
    stored: u64,
}

// ---- the mix (the same rule as the engine runner and every peer) ----

fn incomplete_once(i: u64) -> bool {
    i.is_multiple_of(5)
}

fn duplicate_once(i: u64) -> bool {
    i % 10 == 1
}

fn nik_of(i: u64) -> String {
    format!("3201{i:012}")
}

/// Step completions case `i` needs: serahkan, verifikasi, the queue call, periksa, cetak,
/// validasi, terima; +2 for the returned file, +2 for the ADB consultation and re-check.
fn completions_of(i: u64) -> u64 {
    7 + if incomplete_once(i) { 2 } else { 0 } + if duplicate_once(i) { 2 } else { 0 }
}

// ---- measurements ----

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Kind {
    Create,
    Complete,
    CallNext,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Create => "create_case",
            Kind::Complete => "complete_step",
            Kind::CallNext => "call_next",
        }
    }
}

#[derive(Default)]
struct Tally {
    latencies: Vec<(Kind, u32)>,
    completions: u64,
    cases_done: u64,
    errors: u64,
    conflicts: u64,
    empty_calls: u64,
    first_errors: Vec<String>,
}

impl Tally {
    fn error(&mut self, what: String) {
        self.errors += 1;
        if self.first_errors.len() < 5 {
            self.first_errors.push(what);
        }
    }

    fn merge(&mut self, other: Tally) {
        self.latencies.extend(other.latencies);
        self.completions += other.completions;
        self.cases_done += other.cases_done;
        self.errors += other.errors;
        self.conflicts += other.conflicts;
        self.empty_calls += other.empty_calls;
        for e in other.first_errors {
            if self.first_errors.len() < 5 {
                self.first_errors.push(e);
            }
        }
    }
}

/// The `p`-th percentile (nearest rank) of sorted values.
fn percentile(sorted: &[u32], p: f64) -> u32 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn latency_json(mut us: Vec<u32>) -> Value {
    us.sort_unstable();
    let ms = |v: u32| (f64::from(v) / 10.0).round() / 100.0;
    json!({
        "count": us.len(),
        "p50_ms": ms(percentile(&us, 50.0)),
        "p90_ms": ms(percentile(&us, 90.0)),
        "p99_ms": ms(percentile(&us, 99.0)),
        "max_ms": ms(us.last().copied().unwrap_or(0)),
    })
}

// ---- HTTP ----

type HttpClient = Client<HttpConnector, Full<Bytes>>;

struct Api {
    client: HttpClient,
    base: String,
}

struct Reply {
    status: u16,
    body: Value,
}

impl Api {
    fn new(base: &str) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        Self {
            client: Client::builder(TokioExecutor::new()).build(connector),
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: Option<&Value>,
    ) -> anyhow::Result<Reply> {
        let bytes = match body {
            Some(v) => Bytes::from(serde_json::to_vec(v)?),
            None => Bytes::new(),
        };
        let request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base))
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(Full::new(bytes))?;
        let response = self.client.request(request).await?;
        let status = response.status().as_u16();
        let raw = response.into_body().collect().await?.to_bytes();
        let body = if raw.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&raw).unwrap_or(Value::Null)
        };
        Ok(Reply { status, body })
    }
}

// ---- one operator ----

struct Tokens {
    petugas: String,
    operator: String,
    adb: String,
}

struct Shared {
    api_base: String,
    next_case: AtomicU64,
    cases: u64,
    /// case id → mix index, so whoever calls a case from the queue knows its data.
    index_of: Mutex<HashMap<String, u64>>,
    /// With the web pages: each call's number, for the board watcher.
    board: Option<Arc<Mutex<web::BoardWatch>>>,
}

struct Operator {
    api: Api,
    tokens: Tokens,
    shared: Arc<Shared>,
    tally: Tally,
}

/// What a step answer must show for the case to go on.
enum Expect<'a> {
    Step(&'a str),
    Completed,
}

impl Operator {
    /// One timed request; returns the answer when it is the expected 2xx.
    async fn timed(
        &mut self,
        kind: Kind,
        method: Method,
        path: &str,
        token: Token,
        body: Option<Value>,
    ) -> Option<Reply> {
        let token = match token {
            Token::Petugas => &self.tokens.petugas,
            Token::Operator => &self.tokens.operator,
            Token::Adb => &self.tokens.adb,
        };
        let t0 = Instant::now();
        let r = self.api.send(method, path, token, body.as_ref()).await;
        let us = u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX);
        self.tally.latencies.push((kind, us));
        match r {
            Ok(reply) if (200..300).contains(&reply.status) => Some(reply),
            Ok(reply) if reply.status == 409 => {
                self.tally.conflicts += 1;
                None
            }
            Ok(reply) => {
                self.tally.error(format!(
                    "{} {path}: HTTP {}: {}",
                    kind.name(),
                    reply.status,
                    reply.body
                ));
                None
            }
            Err(e) => {
                self.tally.error(format!("{} {path}: {e:#}", kind.name()));
                None
            }
        }
    }

    async fn complete(
        &mut self,
        case: &str,
        step: &str,
        token: Token,
        body: Value,
        expect: Expect<'_>,
    ) -> bool {
        let path = format!("/cases/{case}/steps/{step}/complete");
        let Some(reply) = self
            .timed(Kind::Complete, Method::POST, &path, token, Some(body))
            .await
        else {
            return false;
        };
        self.tally.completions += 1;
        let ok = match expect {
            Expect::Step(next) => reply.body["current_step"]["id"] == next,
            Expect::Completed => reply.body["status"] == "completed",
        };
        if !ok {
            self.tally.error(format!(
                "after {step}: unexpected case state {}",
                reply.body
            ));
        }
        ok
    }

    /// The queue officer's part: opens the case and gets it through the file check.
    async fn hand_in(&mut self, i: u64) -> bool {
        let incomplete = incomplete_once(i);
        // An incomplete file: the family card copy is missing the first time.
        let documents = if incomplete {
            json!([])
        } else {
            json!([{ "type": "fotokopi_kk" }])
        };
        let body = json!({
            "sop_id": "ktp-el",
            "data": { "nik": nik_of(i), "nama_lengkap": format!("Pemohon {i}"), "alasan": "baru" },
            "documents": documents,
        });
        let Some(reply) = self
            .timed(
                Kind::Create,
                Method::POST,
                "/cases",
                Token::Petugas,
                Some(body),
            )
            .await
        else {
            return false;
        };
        let Some(case) = reply.body["case_id"].as_str().map(str::to_owned) else {
            self.tally
                .error(format!("create: no case_id in {}", reply.body));
            return false;
        };
        if let Ok(mut map) = self.shared.index_of.lock() {
            map.insert(case.clone(), i);
        }
        if incomplete {
            let returned = self
                .complete(
                    &case,
                    "serahkan_berkas",
                    Token::Petugas,
                    json!({}),
                    Expect::Step("verifikasi_berkas"),
                )
                .await
                && self
                    .complete(
                        &case,
                        "verifikasi_berkas",
                        Token::Petugas,
                        json!({}),
                        Expect::Step("serahkan_berkas"),
                    )
                    .await;
            if !returned {
                return false;
            }
            let again = json!({ "documents": [{ "type": "fotokopi_kk" }] });
            if !self
                .complete(
                    &case,
                    "serahkan_berkas",
                    Token::Petugas,
                    again,
                    Expect::Step("verifikasi_berkas"),
                )
                .await
            {
                return false;
            }
        } else if !self
            .complete(
                &case,
                "serahkan_berkas",
                Token::Petugas,
                json!({}),
                Expect::Step("verifikasi_berkas"),
            )
            .await
        {
            return false;
        }
        self.complete(
            &case,
            "verifikasi_berkas",
            Token::Petugas,
            json!({}),
            Expect::Step("tunggu_antrian"),
        )
        .await
    }

    /// The print operator calls the next number; the answer is whichever case waited longest.
    async fn call_next(&mut self) -> Option<(String, u64)> {
        for _ in 0..5000 {
            let sent = Instant::now();
            let reply = self
                .timed(
                    Kind::CallNext,
                    Method::POST,
                    "/queues/cetak_ktp/call-next",
                    Token::Operator,
                    None,
                )
                .await?;
            if reply.status == 204 {
                // Everyone waiting was just called by other operators.
                self.tally.empty_calls += 1;
                tokio::time::sleep(Duration::from_millis(1)).await;
                continue;
            }
            self.tally.completions += 1;
            // The call's number (the case's queue number ends with the queue step).
            if let (Some(board), Some(number)) =
                (&self.shared.board, reply.body["call"]["number"].as_str())
                && let Ok(mut w) = board.lock()
            {
                w.called(number, sent, Instant::now());
            }
            let case = reply.body["case_id"].as_str().map(str::to_owned);
            let index = case.as_ref().and_then(|c| {
                self.shared
                    .index_of
                    .lock()
                    .ok()
                    .and_then(|m| m.get(c).copied())
            });
            return match (case, index) {
                (Some(c), Some(i)) if reply.body["current_step"]["id"] == "periksa_perekaman" => {
                    Some((c, i))
                }
                _ => {
                    self.tally
                        .error(format!("call-next: unexpected answer {}", reply.body));
                    None
                }
            };
        }
        self.tally.error("call-next: the queue stayed empty".into());
        None
    }

    /// The print operator's part, the ADB's when needed, and the hand-over.
    async fn print_and_hand_over(&mut self, case: &str, i: u64) -> bool {
        if duplicate_once(i) {
            let dup =
                json!({ "data": { "status_perekaman": "DUPLICATE_RECORD", "masalah_nik": false } });
            let consulted = self
                .complete(case, "periksa_perekaman", Token::Operator, dup, Expect::Step("konsultasi_adb"))
                .await
                // No consultation adapter is configured: the ADB records its answer itself.
                && self
                    .complete(case, "konsultasi_adb", Token::Adb, json!({ "outcome": "resolved" }), Expect::Step("periksa_perekaman"))
                    .await;
            if !consulted {
                return false;
            }
        }
        let ready =
            json!({ "data": { "status_perekaman": "PRINT_READY_RECORD", "masalah_nik": false } });
        self.complete(case, "periksa_perekaman", Token::Operator, ready, Expect::Step("cetak_ktp"))
            .await
            // The printer is configured `manual` here: the operator records the print.
            && self
                .complete(case, "cetak_ktp", Token::Operator, json!({}), Expect::Step("validasi_ktp"))
                .await
            && self
                .complete(case, "validasi_ktp", Token::Petugas, json!({ "documents": [{ "type": "ktp_el_tercetak" }] }), Expect::Step("terima_ktp"))
                .await
            && self
                .complete(case, "terima_ktp", Token::Petugas, json!({}), Expect::Completed)
                .await
    }

    async fn run(mut self) -> Tally {
        loop {
            let i = self.shared.next_case.fetch_add(1, Ordering::Relaxed);
            if i >= self.shared.cases {
                break;
            }
            // Every operator queues one case before calling one, so the queue is never empty
            // for long; the called case may be another operator's.
            if !self.hand_in(i).await {
                continue;
            }
            let Some((case, j)) = self.call_next().await else {
                continue;
            };
            if self.print_and_hand_over(&case, j).await {
                self.tally.cases_done += 1;
            }
        }
        self.tally
    }
}

#[derive(Clone, Copy)]
enum Token {
    Petugas,
    Operator,
    Adb,
}

// ---- set-up ----

fn add_user(args: &Args, name: &str, role: &str) -> anyhow::Result<String> {
    add_user_with(args, name, role, None)
}

/// `sopflow user add`; with a password for the pages (read from standard input).
fn add_user_with(
    args: &Args,
    name: &str,
    role: &str,
    password: Option<&str>,
) -> anyhow::Result<String> {
    use std::io::Write;
    let mut command = Command::new(&args.sopflow);
    command.args([
        "user",
        "add",
        name,
        "--role",
        role,
        "--database",
        &args.database,
    ]);
    // The roles `user add` accepts are the SOPs' (the server deploys this folder).
    command.arg("--definitions").arg(&args.definitions);
    if password.is_some() {
        command.arg("--password-stdin").stdin(Stdio::piped());
    }
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("running {}", args.sopflow.display()))?;
    if let (Some(password), Some(mut stdin)) = (password, child.stdin.take()) {
        writeln!(stdin, "{password}")?;
    }
    let out = child.wait_with_output()?;
    if !out.status.success() {
        bail!("sopflow user add {name} failed: {}", out.status);
    }
    let text = String::from_utf8(out.stdout)?;
    text.lines()
        .last()
        .map(|l| l.trim().to_owned())
        .filter(|t| !t.is_empty())
        .context("sopflow user add printed no token")
}

/// Opens `n` cases and leaves them at their first step (16 at a time): the inbox the web
/// officers reload.
async fn open_backlog(base: &str, token: &str, n: u64) -> anyhow::Result<()> {
    let next = Arc::new(AtomicU64::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let api = Api::new(base);
        let token = token.to_owned();
        let next = Arc::clone(&next);
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<(), anyhow::Error>(());
                }
                let body = json!({
                    "sop_id": "ktp-el",
                    "data": { "nik": format!("3299{i:012}"), "nama_lengkap": format!("Antre {i}"), "alasan": "baru" },
                    "documents": [{ "type": "fotokopi_kk" }],
                });
                let r = api.send(Method::POST, "/cases", &token, Some(&body)).await?;
                if r.status != 201 {
                    bail!("backlog case {i}: HTTP {}: {}", r.status, r.body);
                }
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

struct Server {
    child: Option<Child>,
    pid: Option<u32>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn start_server(args: &Args) -> anyhow::Result<Server> {
    let log = std::fs::File::create(&args.server_log)
        .with_context(|| format!("creating {}", args.server_log.display()))?;
    // The print operator records the print through the API (a manual printer), so that every
    // step of a case is one measured request, as in the runs before the default folder printer.
    let config = args.server_log.with_extension("toml");
    std::fs::write(&config, "[adapters.printer_ktp]\nkind = \"manual\"\n")
        .with_context(|| format!("writing {}", config.display()))?;
    let child = Command::new(&args.sopflow)
        .arg("serve")
        .args(["--database", &args.database, "--listen", &args.listen])
        .arg("--definitions")
        .arg(&args.definitions)
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .with_context(|| format!("starting {} serve", args.sopflow.display()))?;
    let pid = child.id();
    Ok(Server {
        child: Some(child),
        pid: Some(pid),
    })
}

async fn wait_healthy(api: &Api) -> anyhow::Result<()> {
    for _ in 0..300 {
        if let Ok(r) = api.send(Method::GET, "/healthz", "", None).await
            && r.status == 200
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("the server did not answer /healthz within 30 s")
}

/// Peak resident set (VmHWM) of a process, in MiB.
fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some((kb / 1024.0 * 10.0).round() / 10.0)
}

/// CPU time (user + system) a process has used so far, in seconds (`/proc/PID/stat`).
fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: the fields after it start past the last ')'.
    let rest = stat.get(stat.rfind(')')? + 2..)?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // USER_HZ is 100 on Linux.
    Some(ticks / 100.0)
}

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

// One thread: the driver shares the machine with the server and should take as little as it can.
#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let backend = if args.database.starts_with("postgres") {
        "postgres"
    } else {
        "sqlite"
    };
    let prefill_s = if args.stored > 0 {
        let took = prefill::fill(&args.database, &args.definitions, args.stored).await?;
        eprintln!(
            "{} stored cases put in {took:.1} s ({:.0} cases/s)",
            args.stored,
            args.stored as f64 / took
        );
        Some(took)
    } else {
        None
    };

    // Users first: one desk (queue officer, print operator, ADB) per simulated operator.
    let stamp = std::process::id();
    let mut tokens = Vec::with_capacity(args.clients);
    for k in 0..args.clients {
        tokens.push(Tokens {
            petugas: add_user(
                &args,
                &format!("load{stamp}-{k}-petugas"),
                "petugas_antrian",
            )?,
            operator: add_user(
                &args,
                &format!("load{stamp}-{k}-operator"),
                "operator_cetak",
            )?,
            adb: add_user(&args, &format!("load{stamp}-{k}-adb"), "adb")?,
        });
    }
    let auditor = add_user(&args, &format!("load{stamp}-auditor"), "auditor")?;
    // The web officers log in with a password, as people do.
    let web_password = format!("load-web-{stamp}-password");
    let mut web_users = Vec::with_capacity(args.web_clients);
    for k in 0..args.web_clients {
        let name = format!("load{stamp}-web{k}");
        add_user_with(&args, &name, "petugas_antrian", Some(&web_password))?;
        web_users.push(name);
    }
    let backlog_token = tokens.first().map(|t| t.petugas.clone());

    let server = match &args.url {
        Some(_) => Server {
            child: None,
            pid: args.server_pid,
        },
        None => start_server(&args)?,
    };
    let base = args
        .url
        .clone()
        .unwrap_or_else(|| format!("http://{}", args.listen));
    let probe = Api::new(&base);
    wait_healthy(&probe).await?;

    if args.web_backlog > 0 {
        let token = backlog_token.context("--web-backlog needs at least one client")?;
        let t = Instant::now();
        open_backlog(&base, &token, args.web_backlog).await?;
        eprintln!(
            "{} backlog cases opened in {:.1} s",
            args.web_backlog,
            t.elapsed().as_secs_f64()
        );
    }
    let mut browsers = Vec::with_capacity(web_users.len());
    for name in &web_users {
        browsers.push(web::Browser::login(&base, name, &web_password).await?);
    }
    let board = (!browsers.is_empty()).then(|| Arc::new(Mutex::new(web::BoardWatch::default())));
    let shared = Arc::new(Shared {
        api_base: base.clone(),
        next_case: AtomicU64::new(0),
        cases: args.cases,
        index_of: Mutex::new(HashMap::new()),
        board: board.clone(),
    });
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut pages = Vec::with_capacity(browsers.len());
    for browser in browsers {
        // The page lists tasks: its table, not the empty inbox's line.
        pages.push(tokio::spawn(web::reload_inbox(
            browser,
            Arc::clone(&stop),
            "class=\"tasks\"".to_owned(),
            Duration::from_millis(args.web_pause_ms),
        )));
    }
    let watcher = board.as_ref().map(|board| {
        tokio::spawn(web::watch_board(
            base.clone(),
            args.web_point.clone(),
            Arc::clone(board),
            Arc::clone(&stop),
        ))
    });
    if watcher.is_some() {
        // The stream's first event (the board as it is) before the first call.
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let server_cpu0 = server.pid.and_then(|p| cpu_seconds(&p.to_string()));
    let own_cpu0 = cpu_seconds("self");
    let t0 = Instant::now();
    let mut handles = Vec::with_capacity(args.clients);
    for tokens in tokens {
        let op = Operator {
            api: Api::new(&shared.api_base),
            tokens,
            shared: Arc::clone(&shared),
            tally: Tally::default(),
        };
        handles.push(tokio::spawn(op.run()));
    }
    let mut total = Tally::default();
    for h in handles {
        total.merge(h.await?);
    }
    let elapsed = t0.elapsed().as_secs_f64();
    // The last calls reach the board within moments; then the pages stop.
    if watcher.is_some() {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut inbox = Vec::new();
    let mut web_errors = Vec::new();
    for page in pages {
        let (latencies, errors) = page.await?;
        inbox.extend(latencies);
        web_errors.extend(errors);
    }
    let board_events = match watcher {
        Some(w) => match w.await? {
            Ok(n) => Some(n),
            Err(e) => {
                web_errors.push(format!("board: {e:#}"));
                None
            }
        },
        None => None,
    };
    let web_json = match &board {
        None => Value::Null,
        Some(board) => {
            let w = board.lock().map_err(|_| anyhow::anyhow!("poisoned"))?;
            json!({
                "clients": args.web_clients,
                "pause_ms": args.web_pause_ms,
                "backlog_cases": args.web_backlog,
                "inbox_pages": inbox.len(),
                "inbox_latency": latency_json(inbox),
                "board_point": args.web_point,
                "board_events": board_events,
                "board_calls": w.calls,
                "board_calls_shown": w.latencies.len(),
                "board_calls_missed": w.missed(),
                "board_update_latency": latency_json(w.latencies.clone()),
                "board_lag_after_call": latency_json(w.lags.clone()),
                "errors": web_errors.len(),
                "first_errors": web_errors.iter().take(5).collect::<Vec<_>>(),
            })
        }
    };
    let peak_rss = server.pid.and_then(peak_rss_mib);
    let server_cpu = server
        .pid
        .and_then(|p| cpu_seconds(&p.to_string()))
        .zip(server_cpu0)
        .map(|(b, a)| b - a);
    let own_cpu = cpu_seconds("self").zip(own_cpu0).map(|(b, a)| b - a);

    // History per case, read back as the auditor from the first cases (the mix repeats every 10).
    let mut events = 0usize;
    let mut json_bytes = 0usize;
    let mut sampled = 0u64;
    let ids: Vec<(u64, String)> = {
        let map = shared
            .index_of
            .lock()
            .map_err(|_| anyhow::anyhow!("poisoned"))?;
        let mut v: Vec<(u64, String)> = map
            .iter()
            .filter(|(_, i)| **i < args.history_sample)
            .map(|(c, i)| (*i, c.clone()))
            .collect();
        v.sort();
        v
    };
    for (_, case) in &ids {
        let r = probe
            .send(
                Method::GET,
                &format!("/cases/{case}/history"),
                &auditor,
                None,
            )
            .await?;
        if let Some(list) = r.body.as_array() {
            events += list.len();
            json_bytes += serde_json::to_vec(&r.body)?.len();
            sampled += 1;
        }
    }
    drop(server);
    let audit = audit_verify(&args)?;

    let expected: u64 = (0..args.cases).map(completions_of).sum();
    let mut by_kind: HashMap<Kind, Vec<u32>> = HashMap::new();
    for (k, us) in &total.latencies {
        by_kind.entry(*k).or_default().push(*us);
    }
    let all: Vec<u32> = total.latencies.iter().map(|(_, us)| *us).collect();
    let requests = all.len();
    let per_case = |x: usize| {
        if sampled == 0 {
            Value::Null
        } else {
            json!(round(x as f64 / sampled as f64, 1))
        }
    };
    let out = json!({
        "engine": "sopflow-serve",
        "backend": backend,
        "clients": args.clients,
        "cases": args.cases,
        "stored_cases": args.stored,
        "prefill_s": prefill_s.map(|s| round(s, 1)),
        "cases_done": total.cases_done,
        "elapsed_s": round(elapsed, 3),
        "cases_per_s": round(total.cases_done as f64 / elapsed, 1),
        "completions": total.completions,
        "completions_expected": expected,
        "completions_per_s": round(total.completions as f64 / elapsed, 1),
        "requests": requests,
        "requests_per_s": round(requests as f64 / elapsed, 1),
        "latency": latency_json(all),
        "latency_by_kind": {
            "create_case": latency_json(by_kind.remove(&Kind::Create).unwrap_or_default()),
            "complete_step": latency_json(by_kind.remove(&Kind::Complete).unwrap_or_default()),
            "call_next": latency_json(by_kind.remove(&Kind::CallNext).unwrap_or_default()),
        },
        "errors": total.errors,
        "first_errors": total.first_errors,
        "conflicts_409": total.conflicts,
        "empty_calls": total.empty_calls,
        "server_peak_rss_mib": peak_rss,
        "audit_verify": audit,
        // CPU the server and this driver used during the load: what a request costs, and how
        // much of the 2 cores the driver took from the server.
        "server_cpu_s": server_cpu.map(|c| round(c, 2)),
        "server_cpu_ms_per_request": server_cpu.map(|c| round(c * 1000.0 / requests.max(1) as f64, 3)),
        "driver_cpu_s": own_cpu.map(|c| round(c, 2)),
        "history_sampled_cases": sampled,
        "history_events_per_case": per_case(events),
        "history_api_json_bytes_per_case": per_case(json_bytes),
        "web": web_json,
    });
    println!("{out}");
    if !web_errors.is_empty() {
        bail!("web pages not clean: {} errors", web_errors.len());
    }
    if total.errors > 0 || total.cases_done != args.cases || total.completions != expected {
        bail!(
            "load run not clean: {} errors, {} of {} cases done, {} of {} completions",
            total.errors,
            total.cases_done,
            args.cases,
            total.completions,
            expected
        );
    }
    Ok(())
}

/// The auditor's `sopflow audit verify` over the whole store once the load is done (the
/// stored cases and the loaded ones): its wall time and events per second. A finding fails
/// the run: the load must leave a store that verifies.
fn audit_verify(args: &Args) -> anyhow::Result<Value> {
    let started = Instant::now();
    let out = Command::new(&args.sopflow)
        .args(["audit", "verify", "--database", &args.database])
        .output()
        .context("run `sopflow audit verify`")?;
    let elapsed = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "`sopflow audit verify` failed after the load: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // "verified N cases, M events: ok"
    let counts: Vec<u64> = stdout
        .lines()
        .find(|l| l.starts_with("verified "))
        .context("`sopflow audit verify` printed no summary")?
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    let [cases, events] = counts[..] else {
        bail!("`sopflow audit verify`'s summary is not `verified N cases, M events`: {stdout}");
    };
    Ok(json!({
        "elapsed_s": round(elapsed, 3),
        "cases": cases,
        "events": events,
        "events_per_s": round(events as f64 / elapsed, 1),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mix_gives_the_expected_share_of_loops() {
        let n = 1000;
        assert_eq!((0..n).filter(|i| incomplete_once(*i)).count(), 200);
        assert_eq!((0..n).filter(|i| duplicate_once(*i)).count(), 100);
        assert!((0..n).all(|i| !(incomplete_once(i) && duplicate_once(i))));
        // 7 completions straight through, 9 with one loop: 7 + 0.2 * 2 + 0.1 * 2 on average.
        let total: u64 = (0..n).map(completions_of).sum();
        assert_eq!(total, 7600);
        assert_eq!(nik_of(42).len(), 16);
    }

    #[test]
    fn percentiles_take_the_nearest_rank() {
        let v: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&v, 50.0), 50);
        assert_eq!(percentile(&v, 99.0), 99);
        assert_eq!(percentile(&v, 100.0), 100);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
    }
}
