//! Several `sopflow serve` processes on one PostgreSQL database work together: two real
//! processes share the cases, hand out one sequence of queue numbers, call each waiting case
//! once, and record every budget that runs out once, whichever process's timer sees it.

// A panic is a failed assertion here, in helpers as in the test.
#![allow(clippy::unwrap_used)]

mod process;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;
use std::time::{Duration, Instant};

use process::{Server, add_user, assert_chained, ktp_el_with_budgets, wait_for};
use serde_json::{Value, json};
use sopflow_store::testing::{Backend, PG_URL_VAR, TestDb};

const CASES: usize = 20;
const CALLED: usize = 10;

fn applicant(i: usize) -> Value {
    json!({ "nik": format!("13129901019{i:05}"), "nama_lengkap": format!("Pemohon Uji {i}"), "alasan": "baru" })
}

#[test]
fn two_serve_processes_on_one_postgres_database_claim_timers_once_and_share_queue_numbers() {
    if std::env::var(PG_URL_VAR).is_err() {
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED: two sopflow serve processes on one PostgreSQL database: \
             {PG_URL_VAR} is not set ***\n"
        );
        return;
    }
    let started = Instant::now();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let db = rt
        .block_on(TestDb::new(Backend::Postgres))
        .expect("PostgreSQL is configured");

    let work = tempfile::tempdir().unwrap();
    let definitions = work.path().join("definitions");
    std::fs::create_dir(&definitions).unwrap();
    // Every step budget 1 s and the total 2 s: each case runs out of both while it waits.
    std::fs::write(
        definitions.join("ktp-el.yaml"),
        ktp_el_with_budgets("1s", "2s"),
    )
    .unwrap();

    // Users through the CLI, as the README does (this also creates the schema's tables).
    let petugas = add_user(&db.url, "siti", "petugas_antrian");
    let operator = add_user(&db.url, "budi", "operator_cetak");
    let auditor = add_user(&db.url, "inspektorat", "auditor");

    // Both start at once: concurrent migrations check and deployment of the same SOP.
    let servers = Server::start_all(
        &["serve-a", "serve-b"],
        work.path(),
        &db.url,
        &definitions,
        &[],
    );
    let [a, b] = [&servers[0], &servers[1]];
    for s in [a, b] {
        let sop = s.get("/sops/ktp-el", &auditor);
        assert_eq!(sop.status, 200, "{}: {}", s.name, sop.text);
        assert_eq!(
            sop.body["latest_version"], 1,
            "{}: the same text is one version: {}",
            s.name, sop.text
        );
    }

    // Open, hand in and verify every case concurrently, each step through the other process.
    let cases: Vec<(String, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..CASES)
            .map(|i| {
                let (this, other) = if i % 2 == 0 { (a, b) } else { (b, a) };
                let petugas = &petugas;
                scope.spawn(move || {
                    let r = this.post(
                        "/cases",
                        petugas,
                        &json!({ "sop_id": "ktp-el", "data": applicant(i), "documents": [{ "type": "fotokopi_kk" }] }),
                    );
                    assert_eq!(r.status, 201, "{}: {}", this.name, r.text);
                    let case = r.body["case_id"].as_str().unwrap().to_owned();
                    let r = other.post(
                        &format!("/cases/{case}/steps/serahkan_berkas/complete"),
                        petugas,
                        &json!({}),
                    );
                    assert_eq!(r.status, 200, "{}: {}", other.name, r.text);
                    let r = this.post(
                        &format!("/cases/{case}/steps/verifikasi_berkas/complete"),
                        petugas,
                        &json!({}),
                    );
                    assert_eq!(r.status, 200, "{}: {}", this.name, r.text);
                    assert_eq!(r.body["current_step"]["id"], "tunggu_antrian", "{}", r.text);
                    let number = r.body["queue_number"].as_str().unwrap().to_owned();
                    (case, number)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    let numbers: BTreeSet<&str> = cases.iter().map(|(_, n)| n.as_str()).collect();
    let expected: BTreeSet<String> = (1..=CASES).map(|n| format!("A-{n:03}")).collect();
    assert_eq!(
        numbers,
        expected.iter().map(String::as_str).collect(),
        "queue numbers through both processes are unique and consecutive"
    );

    // Operators at both processes call the queue at once: every call gets its own case.
    let called: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..CALLED)
            .map(|i| {
                let server = if i % 2 == 0 { a } else { b };
                let operator = &operator;
                scope.spawn(move || {
                    let r = server.post("/queues/cetak_ktp/call-next", operator, &json!({}));
                    assert_eq!(r.status, 200, "{}: {}", server.name, r.text);
                    assert_eq!(
                        r.body["current_step"]["id"], "periksa_perekaman",
                        "{}",
                        r.text
                    );
                    r.body["case_id"].as_str().unwrap().to_owned()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let called_set: BTreeSet<&String> = called.iter().collect();
    assert_eq!(
        called_set.len(),
        CALLED,
        "no case is called twice: {called:?}"
    );

    // Every case now waits on a 1 s clock (the queue's or the print check's) and a 2 s total:
    // the timers of the two processes record them. A case with nothing more to time has no
    // `due_at` left.
    wait_for(
        Duration::from_secs(20),
        "both timers to record every budget",
        || {
            let list = a.get("/cases?sop_id=ktp-el&limit=500", &auditor);
            assert_eq!(list.status, 200, "{}", list.text);
            let rows = list.body["cases"].as_array().unwrap().clone();
            (rows.len() == CASES && rows.iter().all(|c| c["due_at"].is_null())).then_some(())
        },
    );
    // Give a late second tick (it would have to come from a stale decision) a timer period to
    // show up before looking.
    std::thread::sleep(sopflow_core::ticker::INTERVAL);

    for (i, (case, number)) in cases.iter().enumerate() {
        let s = if i % 2 == 0 { b } else { a };
        let history = s.get(&format!("/cases/{case}/history"), &auditor);
        assert_eq!(history.status, 200, "{}", history.text);
        let events = history.body.as_array().unwrap();
        assert_chained(case, events);
        let facts = process::facts(events);

        // The budget clocks this case ran: (step owning the clock, due_at), in order.
        let clocks: Vec<(String, String)> = facts
            .iter()
            .filter(|e| e["type"] == "step_entered" && e["event"]["due_at"].is_string())
            .map(|e| {
                (
                    e["event"]["budget_step"].as_str().unwrap().to_owned(),
                    e["event"]["due_at"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        let mut exceeded: BTreeMap<(String, String), usize> = BTreeMap::new();
        for e in facts.iter().filter(|e| e["type"] == "time_budget_exceeded") {
            let clock = (
                e["event"]["step"].as_str().unwrap().to_owned(),
                e["event"]["due_at"].as_str().unwrap().to_owned(),
            );
            assert!(
                clocks.contains(&clock),
                "case {case}: a breach of a clock that never ran: {clock:?}"
            );
            assert_eq!(e["user"], "sopflow", "the timer records breaches");
            *exceeded.entry(clock).or_default() += 1;
        }
        for (clock, count) in &exceeded {
            assert_eq!(
                *count, 1,
                "case {case}: clock {clock:?} recorded {count} times"
            );
        }
        let last = clocks.last().unwrap();
        assert_eq!(
            exceeded.get(last),
            Some(&1),
            "case {case}: the clock it waits on ran out and is recorded once: {events:#?}"
        );
        let expected_owner = if called_set.contains(case) {
            "periksa_perekaman"
        } else {
            "tunggu_antrian"
        };
        assert_eq!(last.0, expected_owner, "case {case}");
        let totals = facts
            .iter()
            .filter(|e| e["type"] == "total_budget_exceeded")
            .count();
        assert_eq!(totals, 1, "case {case}: the total budget is recorded once");

        let all_facts = process::facts(events);
        let assigned: Vec<&Value> = all_facts
            .iter()
            .filter(|e| e["type"] == "queue_number_assigned")
            .map(|e| &e["event"]["number"])
            .collect();
        assert_eq!(assigned, [number.as_str()], "case {case}: one number");
        let calls = facts.iter().filter(|e| e["type"] == "queue_called").count();
        assert_eq!(
            calls,
            usize::from(called_set.contains(case)),
            "case {case}: called once or not at all"
        );
    }

    // Both processes were alive to the end (a crash would make this pass vacuously).
    for s in [a, b] {
        assert_eq!(s.get("/cases?limit=1", &auditor).status, 200, "{}", s.name);
    }
    drop(servers);
    rt.block_on(db.cleanup());
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
}
