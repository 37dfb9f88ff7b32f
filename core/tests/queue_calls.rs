//! Calling the next number takes the case in one claiming statement, in the command's
//! transaction: callers at once (on PostgreSQL, in two runtimes on one database, as two
//! processes are) take each waiting case once, none skipped, oldest first; a case waiting
//! from before its row had a queue place gets it at the service's start. On SQLite, and on
//! PostgreSQL when `SOPFLOW_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::{Map, json};
use sopflow_core::auth::User;
use sopflow_core::calendars::Calendars;
use sopflow_core::counters::{self, CallAt};
use sopflow_core::offices::{DEFAULT_POINT, Offices};
use sopflow_core::registry::Registry;
use sopflow_core::{CommandRequest, Runtime};
use sopflow_engine::case::{Command, DocumentReceipt, EventBody};
use sopflow_store::Store;
use sopflow_store::testing::{Backend, TestDb};
use time::{OffsetDateTime, UtcOffset};

const KTP_EL: &str = include_str!("../../sop-definitions/ktp-el.yaml");
const QUEUE: &str = "cetak_ktp";

struct Office {
    runtimes: Vec<Runtime>,
    _defs: tempfile::TempDir,
}

/// `processes` runtimes, each on its own connection to `db`, with the KTP-el SOP.
async fn office(db: &TestDb, processes: usize) -> Office {
    let defs = tempfile::tempdir().unwrap();
    std::fs::write(defs.path().join("ktp-el.yaml"), KTP_EL).unwrap();
    let mut runtimes = Vec::new();
    for _ in 0..processes {
        runtimes.push(runtime_on(db.store().await, defs.path()).await);
    }
    Office {
        runtimes,
        _defs: defs,
    }
}

async fn runtime_on(store: Store, defs: &std::path::Path) -> Runtime {
    let registry = Registry::default();
    assert!(registry.sync_dir(&store, defs).await.is_empty());
    let offices = Offices::start(&store, &[], "Asia/Jakarta", OffsetDateTime::now_utc())
        .await
        .unwrap();
    Runtime::new(
        store,
        registry,
        UtcOffset::from_hms(7, 0, 0).unwrap(),
        offices,
        Calendars::default(),
    )
}

fn petugas() -> User {
    User::new("siti", "petugas_antrian", Vec::new(), DEFAULT_POINT)
}

fn operator(name: &str) -> User {
    User::new(name, "operator_cetak", Vec::new(), DEFAULT_POINT)
}

/// Opens case `i` and gets it into the print queue; returns its id.
async fn waiting_case(runtime: &Runtime, i: usize) -> String {
    let siti = petugas();
    let data = json!({
        "nik": format!("13129901019{i:05}"),
        "nama_lengkap": format!("Pemohon Uji {i}"),
        "alasan": "baru",
    });
    let documents = vec![DocumentReceipt {
        doc: "fotokopi_kk".into(),
        number: None,
        received: true,
        sha256: None,
    }];
    let start = CommandRequest::start(
        "ktp-el",
        data.as_object().cloned().unwrap(),
        Vec::new(),
        siti.actor(),
        OffsetDateTime::now_utc(),
    )
    .by(&siti);
    let opened = runtime.run(start).await.unwrap();
    let case_id = opened.case.state.case_id.clone();
    let steps = [
        ("serahkan_berkas", documents),
        ("verifikasi_berkas", Vec::new()),
    ];
    let mut verified = opened;
    for (step, documents) in steps {
        let complete = Command::CompleteStep {
            step: step.into(),
            data: Map::new(),
            documents,
            outcome: None,
        };
        verified = runtime
            .run(
                CommandRequest::on_case(
                    &case_id,
                    complete,
                    siti.actor(),
                    OffsetDateTime::now_utc(),
                )
                .by(&siti),
            )
            .await
            .unwrap();
    }
    assert_eq!(
        verified.case.state.current_step.as_deref(),
        Some("tunggu_antrian")
    );
    case_id
}

fn at_queue() -> CallAt<'static> {
    CallAt {
        service_point: None,
        queue: QUEUE,
        counter: None,
    }
}

/// How many times the history of `case_id` says it was called.
async fn times_called(runtime: &Runtime, case_id: &str) -> usize {
    let (_, events) = runtime.history(case_id).await.unwrap();
    sopflow_core::runtime::decode(&events)
        .unwrap()
        .iter()
        .filter(|e| matches!(e.body, EventBody::QueueCalled { .. }))
        .count()
}

async fn calls_at_once_take_each_waiting_case_once(db: &TestDb, processes: usize) {
    const WAITING: usize = 12;
    const CALLERS: usize = 18;
    let office = office(db, processes).await;
    let first = &office.runtimes[0];
    let mut waiting = Vec::new();
    for i in 0..WAITING {
        waiting.push(waiting_case(first, i).await);
    }
    // Every caller at once, spread over the runtimes.
    let mut calls = tokio::task::JoinSet::new();
    for c in 0..CALLERS {
        let runtime = office.runtimes[c % processes].clone();
        calls.spawn(async move {
            let user = operator(&format!("operator{c}"));
            counters::call_next(&runtime, &user, at_queue(), OffsetDateTime::now_utc())
                .await
                .unwrap()
                .map(|outcome| outcome.case.state.case_id.clone())
        });
    }
    let mut called = Vec::new();
    let mut nobody = 0;
    while let Some(answer) = calls.join_next().await {
        match answer.unwrap() {
            Some(case_id) => called.push(case_id),
            None => nobody += 1,
        }
    }
    let distinct: BTreeSet<&String> = called.iter().collect();
    assert_eq!(distinct.len(), called.len(), "a case was called twice");
    assert_eq!(
        distinct,
        waiting.iter().collect::<BTreeSet<_>>(),
        "every waiting case is called, none skipped"
    );
    assert_eq!(
        nobody,
        CALLERS - WAITING,
        "the callers left over find nobody"
    );
    for case_id in &waiting {
        assert_eq!(times_called(first, case_id).await, 1, "case {case_id}");
    }
    // Nobody is left waiting, in either runtime.
    for runtime in &office.runtimes {
        let next = counters::call_next(
            runtime,
            &operator("late"),
            at_queue(),
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap();
        assert!(next.is_none());
    }
}

async fn calls_take_the_oldest_first(db: &TestDb) {
    let office = office(db, 1).await;
    let runtime = &office.runtimes[0];
    let mut waiting = Vec::new();
    for i in 0..4 {
        waiting.push(waiting_case(runtime, i).await);
    }
    let mut called = Vec::new();
    for _ in 0..4 {
        let outcome = counters::call_next(
            runtime,
            &operator("budi"),
            at_queue(),
            OffsetDateTime::now_utc(),
        )
        .await
        .unwrap()
        .unwrap();
        called.push(outcome.case.state.case_id.clone());
    }
    assert_eq!(called, waiting);
}

/// A case waiting in a queue from before its row said so (the migration left its place
/// empty) is not found by a call until the service's start gives it its place.
async fn cases_waiting_from_before_get_their_place(db: &TestDb) {
    let office = office(db, 1).await;
    let runtime = &office.runtimes[0];
    let case_id = waiting_case(runtime, 7).await;
    db.raw_execute(
        "UPDATE cases SET queue_id = NULL, queue_entered_at = NULL, queue_sequence = NULL",
    )
    .await
    .unwrap();
    let budi = operator("budi");
    let call = || counters::call_next(runtime, &budi, at_queue(), OffsetDateTime::now_utc());
    assert!(call().await.unwrap().is_none());
    assert_eq!(runtime.project_queue_places().await.unwrap(), 1);
    assert_eq!(runtime.project_queue_places().await.unwrap(), 0);
    let called = call().await.unwrap().unwrap();
    assert_eq!(called.case.state.case_id, case_id);
}

/// Two transactions claiming at once (two processes) take two cases, the second without
/// waiting for the first to end.
async fn two_open_claims_take_two_cases_without_waiting(db: &TestDb) {
    let office = office(db, 1).await;
    let runtime = &office.runtimes[0];
    let a = waiting_case(runtime, 1).await;
    let b = waiting_case(runtime, 2).await;
    let sops = vec!["ktp-el".to_owned()];
    let (one, two) = (db.store().await, db.store().await);
    let mut first = one.begin().await.unwrap();
    let mut second = two.begin().await.unwrap();
    let took = first
        .claim_waiting(DEFAULT_POINT, QUEUE, &sops)
        .await
        .unwrap()
        .unwrap();
    // The case's row and salt come with it.
    assert_eq!(took.0.case_id, a);
    assert_eq!(took.0.current_step.as_deref(), Some("tunggu_antrian"));
    assert_eq!(took.1, runtime.store.case_salt(&a).await.unwrap());
    assert!(took.1.is_some());
    let next = tokio::time::timeout(
        Duration::from_secs(5),
        second.claim_waiting(DEFAULT_POINT, QUEUE, &sops),
    )
    .await
    .expect("the second claim does not wait for the first")
    .unwrap();
    assert_eq!(next.map(|(case, _)| case.case_id).as_ref(), Some(&b));
    // With both held, a third finds nobody rather than waiting.
    let mut third = runtime.store.begin().await.unwrap();
    let none = tokio::time::timeout(
        Duration::from_secs(5),
        third.claim_waiting(DEFAULT_POINT, QUEUE, &sops),
    )
    .await
    .expect("the third claim does not wait")
    .unwrap();
    assert!(none.is_none());
    for tx in [first, second, third] {
        tx.rollback().await.unwrap();
    }
    one.close().await;
    two.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    // SQLite has one writer: one process.
    calls_at_once_take_each_waiting_case_once(&db, 1).await;
    db.cleanup().await;
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    calls_take_the_oldest_first(&db).await;
    db.cleanup().await;
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    cases_waiting_from_before_get_their_place(&db).await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    calls_at_once_take_each_waiting_case_once(&db, 2).await;
    db.cleanup().await;
    for test in 0..3 {
        let Some(db) = TestDb::new(Backend::Postgres).await else {
            return;
        };
        match test {
            0 => calls_take_the_oldest_first(&db).await,
            1 => cases_waiting_from_before_get_their_place(&db).await,
            _ => two_open_claims_take_two_cases_without_waiting(&db).await,
        }
        db.cleanup().await;
    }
}
