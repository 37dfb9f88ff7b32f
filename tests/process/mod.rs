//! Runs the real `sopflow` binary: `sopflow serve` processes on free loopback ports, their
//! output captured to files, killed when dropped (also when a test panics); `sopflow user add`;
//! and a small blocking HTTP client for the processes.
#![allow(dead_code)]

#[path = "../support/facts.rs"]
mod facts;
#[allow(unused_imports)]
pub use facts::facts;

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The binary Cargo built for this package's tests.
pub const BIN: &str = env!("CARGO_BIN_EXE_sopflow");

/// How long a process may take to start serving (it migrates and deploys first).
const START_TIMEOUT: Duration = Duration::from_secs(20);

/// The KTP-el SOP as shipped.
pub fn ktp_el_yaml() -> String {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/sop-definitions/ktp-el.yaml");
    std::fs::read_to_string(path).expect("ktp-el.yaml")
}

/// The KTP-el SOP with every step budget set to `step` and the total budget to `total`, so
/// that timers fire within a test.
pub fn ktp_el_with_budgets(step: &str, total: &str) -> String {
    let shipped = ktp_el_yaml();
    let (mut steps, mut totals) = (0, 0);
    let mut out = String::with_capacity(shipped.len());
    for line in shipped.lines() {
        let indent = &line[..line.len() - line.trim_start().len()];
        if line.trim_start().starts_with("budget:") {
            steps += 1;
            out.push_str(&format!("{indent}budget: {step}"));
        } else if line.starts_with("total_budget:") {
            totals += 1;
            out.push_str(&format!("total_budget: {total}"));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    assert!(
        steps >= 4 && totals == 1,
        "the budgets of ktp-el.yaml moved"
    );
    out
}

/// A port on 127.0.0.1 that was free a moment ago (another process may take it before the
/// server binds it: [`Server::start`] then tries another).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local address").port()
}

/// The HTTP client: statuses are answers (not errors), no proxy, bounded.
fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(15)))
        .build()
        .into()
}

/// One answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    pub body: Value,
    pub text: String,
}

/// A running `sopflow serve`. Dropping it kills the process.
pub struct Server {
    pub name: String,
    pub base: String,
    child: Child,
    stdout: PathBuf,
    stderr: PathBuf,
    agent: ureq::Agent,
}

impl Server {
    /// Starts `sopflow serve` on `database` and `definitions`, with extra environment, and
    /// waits until `/healthz` answers. Output goes to `<logs>/<name>.{stdout,stderr}`.
    pub fn start(
        name: &str,
        logs: &Path,
        database: &str,
        definitions: &Path,
        env: &[(&str, &str)],
    ) -> Server {
        Self::start_all(&[name], logs, database, definitions, env)
            .pop()
            .expect("one server")
    }

    /// [`Server::start`] with more command-line arguments (e.g. `--config FILE`).
    pub fn start_with_args(
        name: &str,
        logs: &Path,
        database: &str,
        definitions: &Path,
        args: &[&str],
    ) -> Server {
        let mut server = Self::spawn_with(name, logs, database, definitions, &[], args);
        if let Err(log) = server.wait_ready() {
            panic!("{name} did not start:\n{log}");
        }
        server
    }

    /// Starts several processes at once (they migrate and deploy concurrently), then waits
    /// for each to serve.
    pub fn start_all(
        names: &[&str],
        logs: &Path,
        database: &str,
        definitions: &Path,
        env: &[(&str, &str)],
    ) -> Vec<Server> {
        let spawned: Vec<Server> = names
            .iter()
            .map(|name| Self::spawn(name, logs, database, definitions, env))
            .collect();
        let mut ready = Vec::new();
        for mut server in spawned {
            let mut attempts = 1;
            loop {
                match server.wait_ready() {
                    Ok(()) => break,
                    // Someone took the port between the probe and the bind: another port.
                    Err(log) if attempts < 5 && log.contains("network:") => {
                        attempts += 1;
                        let name = server.name.clone();
                        drop(server);
                        server = Self::spawn(&name, logs, database, definitions, env);
                    }
                    Err(log) => panic!("{} did not start:\n{log}", server.name),
                }
            }
            ready.push(server);
        }
        ready
    }

    fn spawn(
        name: &str,
        logs: &Path,
        database: &str,
        definitions: &Path,
        env: &[(&str, &str)],
    ) -> Server {
        Self::spawn_with(name, logs, database, definitions, env, &[])
    }

    fn spawn_with(
        name: &str,
        logs: &Path,
        database: &str,
        definitions: &Path,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Server {
        let port = free_port();
        let stdout = logs.join(format!("{name}.stdout"));
        let stderr = logs.join(format!("{name}.stderr"));
        let mut command = Command::new(BIN);
        command
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--database")
            .arg(database)
            .arg("--definitions")
            .arg(definitions)
            .args(args)
            // Not the developer's settings: each test says what it wants.
            .env_remove("RUST_LOG")
            .env_remove("SOPFLOW_LOG_FORMAT")
            .envs(env.iter().copied())
            .current_dir(logs)
            .stdin(Stdio::null())
            .stdout(File::create(&stdout).expect("stdout file"))
            .stderr(File::create(&stderr).expect("stderr file"));
        let child = command.spawn().expect("start sopflow serve");
        Server {
            name: name.to_owned(),
            base: format!("http://127.0.0.1:{port}"),
            child,
            stdout,
            stderr,
            agent: agent(),
        }
    }

    /// Kills the process and starts it again on the same port, database and arguments (a
    /// restart the clients it served must survive), waiting until it serves.
    pub fn restart(&mut self, database: &str, definitions: &Path, args: &[&str]) {
        self.kill();
        let port = self.base.rsplit(':').next().unwrap_or_default().to_owned();
        let logs = self.stdout.parent().expect("logs directory").to_path_buf();
        let mut command = Command::new(BIN);
        command
            .arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--database")
            .arg(database)
            .arg("--definitions")
            .arg(definitions)
            .args(args)
            .env_remove("RUST_LOG")
            .env_remove("SOPFLOW_LOG_FORMAT")
            .current_dir(&logs)
            .stdin(Stdio::null())
            .stdout(
                File::create(logs.join(format!("{}-restarted.stdout", self.name)))
                    .expect("stdout file"),
            )
            .stderr(
                File::create(logs.join(format!("{}-restarted.stderr", self.name)))
                    .expect("stderr file"),
            );
        let deadline = Instant::now() + START_TIMEOUT;
        // The old socket may linger a moment: retry the bind.
        loop {
            self.child = command.spawn().expect("restart sopflow serve");
            if self.wait_ready().is_ok() {
                return;
            }
            let _ = self.child.kill();
            let _ = self.child.wait();
            assert!(Instant::now() < deadline, "{} did not restart", self.name);
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Polls `/healthz` until it answers 200; the process's output if it exits first.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("exited with {status}:\n{}", self.output()));
            }
            if let Ok(mut response) = self.agent.get(format!("{}/healthz", self.base)).call()
                && response.status() == 200
                && response
                    .body_mut()
                    .read_to_string()
                    .is_ok_and(|b| b.contains("ok"))
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "not serving after {START_TIMEOUT:?}:\n{}",
                    self.output()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What the process wrote so far: stdout, then stderr.
    pub fn output(&self) -> String {
        let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_default();
        format!("{}{}", read(&self.stdout), read(&self.stderr))
    }

    /// Stops the process (SIGKILL, like `kill -9`: no graceful shutdown) and returns everything
    /// it wrote.
    pub fn stop(mut self) -> String {
        self.kill();
        self.output()
    }

    /// Stops the process as [`Server::stop`] does: everything it wrote, and its log (standard
    /// error) alone.
    #[allow(dead_code)]
    pub fn stop_for_log(mut self) -> (String, String) {
        self.kill();
        let log = std::fs::read_to_string(&self.stderr).unwrap_or_default();
        (self.output(), log)
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Reply {
        let url = format!("{}{path}", self.base);
        let auth = token.map(|t| format!("Bearer {t}"));
        let result = match (method, body) {
            ("GET", _) => {
                let mut request = self.agent.get(&url);
                if let Some(a) = &auth {
                    request = request.header("authorization", a);
                }
                request.call()
            }
            ("POST", body) => {
                let mut request = self.agent.post(&url);
                if let Some(a) = &auth {
                    request = request.header("authorization", a);
                }
                match body {
                    Some(b) => request.send_json(b),
                    None => request.send_empty(),
                }
            }
            _ => panic!("method {method} is not used by these tests"),
        };
        let mut response =
            result.unwrap_or_else(|e| panic!("{method} {url} on {}: {e}", self.name));
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let text = response
            .body_mut()
            .read_to_string()
            .unwrap_or_else(|e| panic!("{method} {url}: body: {e}"));
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Reply {
            status,
            content_type,
            body,
            text,
        }
    }

    pub fn get(&self, path: &str, token: &str) -> Reply {
        self.send("GET", path, Some(token), None)
    }

    pub fn post(&self, path: &str, token: &str, body: &Value) -> Reply {
        self.send("POST", path, Some(token), Some(body))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `sopflow user add NAME --role ROLE --password-stdin`: a person who logs in to the pages.
pub fn add_person(database: &str, name: &str, role: &str, password: &str) {
    use std::io::Write as _;
    let mut child = Command::new(BIN)
        .args([
            "user",
            "add",
            name,
            "--role",
            role,
            "--password-stdin",
            "--database",
            database,
        ])
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run sopflow user add");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("write the password");
    let output = child.wait_with_output().expect("sopflow user add");
    assert!(
        output.status.success(),
        "sopflow user add {name}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// `sopflow user add NAME --role ROLE --database URL`: the token, from the last line.
pub fn add_user(database: &str, name: &str, role: &str) -> String {
    let output = Command::new(BIN)
        .args(["user", "add", name, "--role", role, "--database", database])
        .env_remove("RUST_LOG")
        .output()
        .expect("run sopflow user add");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "sopflow user add {name}: {}\n{stdout}{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    let token = stdout.lines().last().unwrap_or_default().trim().to_owned();
    assert_eq!(token.len(), 64, "the token is the last line: {stdout}");
    token
}

/// Polls `done` every 100 ms until it gives `Some`, for at most `limit`; panics with `what`.
pub fn wait_for<T>(limit: Duration, what: &str, mut done: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = done() {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "waited {limit:?} for {what}: it did not happen"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The history's events are hash-chained from the genesis hash, numbered from 1.
pub fn assert_chained(case: &str, events: &[Value]) {
    assert!(!events.is_empty(), "case {case} has a history");
    assert_eq!(
        events[0]["prev_hash"],
        sopflow_engine::case::chain::GENESIS,
        "case {case}: the chain starts at the genesis hash"
    );
    for (i, event) in events.iter().enumerate() {
        assert_eq!(
            event["seq"].as_u64(),
            Some(i as u64 + 1),
            "case {case}: seq"
        );
    }
    for pair in events.windows(2) {
        assert_eq!(
            pair[1]["prev_hash"], pair[0]["hash"],
            "case {case}: event {} does not link to event {}",
            pair[1]["seq"], pair[0]["seq"]
        );
    }
}
