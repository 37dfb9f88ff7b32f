//! Crashes under load: clients drive KTP-el cases through a real `sopflow serve` while the
//! test kills it (SIGKILL) at random moments and starts it again. Afterwards every
//! acknowledged command is in the history, nothing happened twice, every chain verifies
//! (`sopflow audit verify`), and every card was printed exactly once.
//!
//! The short form (3 kills) runs in CI; `SOPFLOW_CRASH_ROUNDS=20` (see
//! `scripts/crash-long.sh`) is the long form. Each run prints its seed; `SOPFLOW_CRASH_SEED`
//! replays the same kill times.

#![allow(clippy::unwrap_used)]

mod process;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use process::{BIN, Server, add_user, assert_chained, ktp_el_yaml, wait_for};
use serde_json::{Value, json};
use sopflow_store::testing::{Backend, TestDb};

const CLIENTS: usize = 4;

#[test]
fn sqlite_acknowledged_work_survives_repeated_kill_9() {
    crash_under_load(Backend::Sqlite);
}

#[test]
fn postgres_acknowledged_work_survives_repeated_kill_9() {
    crash_under_load(Backend::Postgres);
}

/// What a client was told: the case reached `version` by `what`.
#[derive(Debug, Clone)]
struct Ack {
    case: String,
    version: u64,
    what: String,
}

struct Shared {
    base: RwLock<String>,
    stop: AtomicBool,
    acks: Mutex<Vec<Ack>>,
    /// Answers no client should ever get (5xx other than 503, unexpected 4xx).
    wrong: Mutex<Vec<String>>,
    starts_attempted: Mutex<usize>,
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// POSTs until some process answers (the server may be down or restarting): the same
/// request, the same Idempotency-Key. `None` once the load stops.
fn post(
    shared: &Shared,
    path: &str,
    token: &str,
    body: &Value,
    key: Option<&str>,
) -> Option<(u16, Value)> {
    let agent = agent();
    loop {
        if shared.stop.load(Ordering::Relaxed) {
            return None;
        }
        let url = format!("{}{path}", shared.base.read().unwrap());
        let mut request = agent
            .post(&url)
            .header("authorization", format!("Bearer {token}"));
        if let Some(k) = key {
            request = request.header("idempotency-key", k);
        }
        match request.send_json(body) {
            Ok(mut response) => {
                let status = response.status().as_u16();
                let text = response.body_mut().read_to_string().unwrap_or_default();
                if status == 503 {
                    std::thread::sleep(Duration::from_millis(50));
                    continue;
                }
                return Some((status, serde_json::from_str(&text).unwrap_or(Value::Null)));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(50)),
        }
    }
}

fn client(shared: &Shared, id: usize, petugas: &str, operator: &str) {
    let ack = |body: &Value, what: &str| {
        shared.acks.lock().unwrap().push(Ack {
            case: body["case_id"].as_str().unwrap().to_owned(),
            version: body["version"].as_u64().unwrap(),
            what: what.to_owned(),
        });
    };
    let wrong = |what: String| shared.wrong.lock().unwrap().push(what);
    for n in 0.. {
        *shared.starts_attempted.lock().unwrap() += 1;
        let start = json!({ "sop_id": "ktp-el", "data": { "nik": format!("13129901{id:02}{n:06}"), "nama_lengkap": "Pemohon Uji", "alasan": "baru" }, "documents": [{ "type": "fotokopi_kk" }] });
        let Some((status, body)) = post(
            shared,
            "/cases",
            petugas,
            &start,
            Some(&format!("c{id}-{n}-start")),
        ) else {
            return;
        };
        if status != 201 {
            wrong(format!("start: {status} {body}"));
            continue;
        }
        ack(&body, "start");
        let case = body["case_id"].as_str().unwrap().to_owned();
        for step in ["serahkan_berkas", "verifikasi_berkas"] {
            let Some((status, body)) = post(
                shared,
                &format!("/cases/{case}/steps/{step}/complete"),
                petugas,
                &json!({}),
                Some(&format!("c{id}-{n}-{step}")),
            ) else {
                return;
            };
            if status != 200 {
                wrong(format!("{step}: {status} {body}"));
                continue;
            }
            ack(&body, step);
        }
        // Call-next has no key: a retry after a crash may call another case (the first one
        // then waits at its check, called; it is not lost).
        let Some((status, body)) = post(
            shared,
            "/queues/cetak_ktp/call-next",
            operator,
            &json!({}),
            None,
        ) else {
            return;
        };
        if status == 204 {
            continue;
        }
        if status != 200 {
            wrong(format!("call-next: {status} {body}"));
            continue;
        }
        ack(&body, "call-next");
        let called = body["case_id"].as_str().unwrap().to_owned();
        let check =
            json!({ "data": { "status_perekaman": "PRINT_READY_RECORD", "masalah_nik": false } });
        let Some((status, body)) = post(
            shared,
            &format!("/cases/{called}/steps/periksa_perekaman/complete"),
            operator,
            &check,
            Some(&format!("c{id}-{n}-check-{called}")),
        ) else {
            return;
        };
        match status {
            200 => ack(&body, "periksa_perekaman"),
            // Another client called the same case before a crash hid the answer from it.
            409 => {}
            _ => wrong(format!("periksa_perekaman: {status} {body}")),
        }
    }
}

fn crash_under_load(backend: Backend) {
    let rounds: usize = std::env::var("SOPFLOW_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let seed: u64 = std::env::var("SOPFLOW_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| fastrand::u64(..));
    let mut rng = fastrand::Rng::with_seed(seed);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(db) = rt.block_on(TestDb::new(backend)) else {
        let _ = writeln!(
            std::io::stderr(),
            "*** SKIPPED *** crash test on {backend:?}: no database"
        );
        return;
    };
    let _ = writeln!(
        std::io::stderr(),
        "crash test on {backend:?}: {rounds} kills, SOPFLOW_CRASH_SEED={seed}"
    );
    let work = tempfile::tempdir().unwrap();
    let definitions = work.path().join("definitions");
    std::fs::create_dir(&definitions).unwrap();
    std::fs::write(definitions.join("ktp-el.yaml"), ktp_el_yaml()).unwrap();
    // A short lease: deliveries a killed process held are taken over quickly.
    let config = work.path().join("sopflow.toml");
    std::fs::write(
        &config,
        "[dispatch]\nlease = \"2s\"\nfirst_retry = \"1s\"\nmax_retry = \"1s\"\n",
    )
    .unwrap();
    let args = ["--config", config.to_str().unwrap()];
    let petugas = add_user(&db.url, "siti", "petugas_antrian");
    let operator = add_user(&db.url, "budi", "operator_cetak");
    let auditor = add_user(&db.url, "inspektorat", "auditor");

    let mut server = Server::start_with_args("s0", work.path(), &db.url, &definitions, &args);
    let shared = Arc::new(Shared {
        base: RwLock::new(server.base.clone()),
        stop: AtomicBool::new(false),
        acks: Mutex::default(),
        wrong: Mutex::default(),
        starts_attempted: Mutex::new(0),
    });
    let clients: Vec<_> = (0..CLIENTS)
        .map(|id| {
            let shared = shared.clone();
            let (p, o) = (petugas.clone(), operator.clone());
            std::thread::spawn(move || client(&shared, id, &p, &o))
        })
        .collect();
    let started = Instant::now();
    for round in 1..=rounds {
        std::thread::sleep(Duration::from_millis(rng.u64(200..1_200)));
        let acked_before = shared.acks.lock().unwrap().len();
        drop(server.stop());
        server = Server::start_with_args(
            &format!("s{round}"),
            work.path(),
            &db.url,
            &definitions,
            &args,
        );
        *shared.base.write().unwrap() = server.base.clone();
        let _ = writeln!(
            std::io::stderr(),
            "kill {round}/{rounds} after {acked_before} acknowledged commands"
        );
    }
    std::thread::sleep(Duration::from_millis(500));
    shared.stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let acks = shared.acks.lock().unwrap().clone();
    let wrong = shared.wrong.lock().unwrap().clone();
    assert!(wrong.is_empty(), "answers no client should get: {wrong:#?}");
    assert!(
        acks.len() > rounds,
        "the load ran: {} acknowledged",
        acks.len()
    );

    // The last process delivers what is left: no case stays at the printer.
    let all_cases = || {
        let mut cases = Vec::new();
        let mut after = String::new();
        loop {
            let r = server.get(&format!("/cases?sop_id=ktp-el&limit=500{after}"), &auditor);
            cases.extend(r.body["cases"].as_array().unwrap().iter().cloned());
            match r.body["next"].as_str() {
                Some(next) => after = format!("&after={next}"),
                None => return cases,
            }
        }
    };
    let cases: Vec<Value> = wait_for(
        Duration::from_secs(60),
        "the printer queue to drain",
        || {
            let cases = all_cases();
            cases
                .iter()
                .all(|c| c["current_step"] != "cetak_ktp")
                .then_some(cases)
        },
    );
    let attempted = *shared.starts_attempted.lock().unwrap();
    assert!(
        cases.len() <= attempted,
        "{} cases from {attempted} starts: a retried start made a second case",
        cases.len()
    );

    // Every acknowledged command is in the history; nothing happened twice.
    let mut histories: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for case in &cases {
        let id = case["case_id"].as_str().unwrap().to_owned();
        let r = server.get(&format!("/cases/{id}/history"), &auditor);
        let events = r.body.as_array().unwrap().clone();
        assert_chained(&id, &events);
        let mut completed = BTreeSet::new();
        for e in process::facts(&events)
            .iter()
            .filter(|e| e["type"] == "step_completed")
        {
            let step = e["event"]["step"].as_str().unwrap().to_owned();
            assert!(
                completed.insert(step.clone()),
                "case {id}: {step} completed twice"
            );
        }
        histories.insert(id, events);
    }
    for ack in &acks {
        let events = histories
            .get(&ack.case)
            .unwrap_or_else(|| panic!("acknowledged case {} is gone", ack.case));
        assert!(
            events.len() as u64 >= ack.version,
            "case {}: acknowledged version {} ({}) but the history has {} events",
            ack.case,
            ack.version,
            ack.what,
            events.len()
        );
    }

    // Every card printed exactly once, by the key of its case.
    let prints = work.path().join("sopflow-prints");
    let entries: Vec<String> = std::fs::read_dir(&prints)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect()
        })
        .unwrap_or_default();
    // A process killed mid-write leaves its temporary file in the staging folder (removed at
    // the next start), never a card under a temporary name beside the real ones.
    let strays: Vec<&String> = entries
        .iter()
        .filter(|n| !n.ends_with(".pdf") && *n != sopflow_effects::STAGING)
        .collect();
    assert!(
        strays.is_empty(),
        "not cards, in the print folder: {strays:?}"
    );
    let printed: BTreeSet<String> = entries
        .into_iter()
        .filter(|n| n.ends_with(".pdf"))
        .collect();
    let mut to_print = BTreeSet::new();
    for (id, events) in &histories {
        let events = process::facts(events);
        let requested = events
            .iter()
            .filter(|e| e["type"] == "adapter_requested")
            .count();
        let completed = events
            .iter()
            .filter(|e| e["type"] == "adapter_completed")
            .count();
        assert_eq!(
            requested, completed,
            "case {id}: every print request completed"
        );
        assert!(completed <= 1, "case {id}: printed {completed} times");
        if completed == 1 {
            to_print.insert(format!("{id}+cetak_ktp+1.pdf"));
        }
    }
    assert_eq!(printed, to_print, "one PDF per printed case, no other");

    // The auditor's check over the whole database.
    let verify = std::process::Command::new(BIN)
        .args(["audit", "verify", "--database", &db.url])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    assert!(
        verify.status.success(),
        "sopflow audit verify: {}\n{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
    let _ = writeln!(
        std::io::stderr(),
        "crash test on {backend:?}: {rounds} kills survived in {:.1} s; {} commands acknowledged, {} cases, {} cards printed once each",
        started.elapsed().as_secs_f64(),
        acks.len(),
        cases.len(),
        printed.len()
    );
    drop(server);
    rt.block_on(db.cleanup());
}
