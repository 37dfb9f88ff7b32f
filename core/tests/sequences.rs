//! A case's commands run as one sequence (`Runtime::run_sequence`, the bulk path a backfill
//! takes) store what the same commands run one by one store: the same events, by the same
//! people at the same times, the same projection, calls and search keys, one chain. A
//! refused command undoes the whole sequence, numbers drawn included. On SQLite, and on
//! PostgreSQL when `SOPFLOW_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use sopflow_core::auth::User;
use sopflow_core::calendars::Calendars;
use sopflow_core::offices::{DEFAULT_POINT, Offices};
use sopflow_core::registry::Registry;
use sopflow_core::runtime::decode;
use sopflow_core::search;
use sopflow_core::{CommandRequest, FollowUp, Runtime, RuntimeError};
use sopflow_engine::case::chain::GENESIS;
use sopflow_engine::case::{CaseState, Command, DocumentReceipt, EventBody};
use sopflow_store::testing::{Backend, TestDb};
use sopflow_store::{CaseFilter, Page};
use time::{Duration, OffsetDateTime, UtcOffset};

const KTP_EL: &str = include_str!("../../sop-definitions/ktp-el.yaml");

async fn runtime_on(db: &TestDb) -> (Runtime, tempfile::TempDir) {
    let defs = tempfile::tempdir().unwrap();
    std::fs::write(defs.path().join("ktp-el.yaml"), KTP_EL).unwrap();
    let store = db.store().await;
    let registry = Registry::default();
    assert!(registry.sync_dir(&store, defs.path()).await.is_empty());
    let offices = Offices::start(&store, &[], "Asia/Jakarta", OffsetDateTime::now_utc())
        .await
        .unwrap();
    let runtime = Runtime::new(
        store,
        registry,
        UtcOffset::from_hms(7, 0, 0).unwrap(),
        offices,
        Calendars::default(),
    );
    (runtime, defs)
}

fn petugas() -> User {
    User::new("siti", "petugas_antrian", Vec::new(), DEFAULT_POINT)
}

fn operator() -> User {
    User::new("budi", "operator_cetak", Vec::new(), DEFAULT_POINT)
}

fn received(doc: &str) -> DocumentReceipt {
    DocumentReceipt {
        doc: doc.into(),
        number: None,
        received: true,
        sha256: None,
    }
}

fn complete(step: &str, data: Value, documents: Vec<DocumentReceipt>) -> Command {
    Command::CompleteStep {
        step: step.into(),
        data: data.as_object().cloned().unwrap_or_default(),
        documents,
        outcome: None,
    }
}

fn nik(i: u32) -> String {
    format!("131299010190{i:04}")
}

/// Case `i` from its opening to the hand-over: the opening, then each command by whom.
fn whole_case(i: u32, opened: OffsetDateTime) -> (CommandRequest, Vec<FollowUp>) {
    let siti = petugas();
    let budi = operator();
    let data =
        json!({ "nik": nik(i), "nama_lengkap": format!("Pemohon Uji {i}"), "alasan": "baru" });
    let start = CommandRequest::start(
        "ktp-el",
        data.as_object().cloned().unwrap(),
        Vec::new(),
        siti.actor(),
        opened,
    )
    .by(&siti);
    let ready = json!({ "status_perekaman": "PRINT_READY_RECORD", "masalah_nik": false });
    let call = Command::CallFromQueue {
        queue: "cetak_ktp".into(),
        counter: None,
    };
    let commands = [
        (
            &siti,
            complete("serahkan_berkas", json!({}), vec![received("fotokopi_kk")]),
        ),
        (&siti, complete("verifikasi_berkas", json!({}), Vec::new())),
        (&budi, call),
        (&budi, complete("periksa_perekaman", ready, Vec::new())),
        (&budi, complete("cetak_ktp", json!({}), Vec::new())),
        (
            &siti,
            complete("validasi_ktp", json!({}), vec![received("ktp_el_tercetak")]),
        ),
        (&siti, complete("terima_ktp", json!({}), Vec::new())),
    ];
    let then = commands
        .into_iter()
        .zip(1..)
        .map(|((user, command), minute)| {
            FollowUp::new(command, user.actor(), opened + Duration::minutes(minute)).by(user)
        })
        .collect();
    (start, then)
}

/// Each event's kind, who recorded it in which role, and when.
async fn facts(runtime: &Runtime, case_id: &str) -> Vec<(String, String, String, OffsetDateTime)> {
    let (_, events) = runtime.history(case_id).await.unwrap();
    events
        .into_iter()
        .map(|e| (e.kind, e.user_name, e.role, e.recorded_at))
        .collect()
}

/// The stored history chains from the genesis hash to the projection's head, and folds to
/// the state the runtime answered with.
async fn assert_one_chain(runtime: &Runtime, case_id: &str, answered: &CaseState) {
    let (_, events) = runtime.history(case_id).await.unwrap();
    let mut prev = GENESIS.to_owned();
    for e in &events {
        assert_eq!(
            e.prev_hash, prev,
            "event {} chains to the one before",
            e.seq
        );
        prev = e.hash.clone();
    }
    let record = runtime.store.case(case_id).await.unwrap().unwrap();
    assert_eq!(record.head_hash, prev);
    let folded = CaseState::replay(&decode(&events).unwrap()).unwrap();
    assert_eq!(
        serde_json::to_value(&folded).unwrap(),
        serde_json::to_value(answered).unwrap()
    );
}

async fn found_by_nik(runtime: &Runtime, i: u32) -> Vec<String> {
    let filter = CaseFilter {
        search: Some(search::key("nik", &Value::String(nik(i)))),
        ..CaseFilter::default()
    };
    let page = Page {
        after: None,
        limit: 10,
    };
    let found = runtime.store.list_cases(&filter, &page).await.unwrap();
    found.into_iter().map(|r| r.case_id).collect()
}

async fn a_sequence_stores_what_the_commands_one_by_one_store(db: &TestDb) {
    let (runtime, _defs) = runtime_on(db).await;
    let opened = OffsetDateTime::now_utc();

    // Case 1, one command at a time, as the REST handlers run them.
    let (start, then) = whole_case(1, opened);
    let mut one_by_one = runtime.run(start).await.unwrap();
    let first_id = one_by_one.case.state.case_id.clone();
    for follow in then {
        let mut request =
            CommandRequest::on_case(&first_id, follow.command, follow.actor, follow.now);
        if let Some(user) = &follow.user {
            request = request.by(user);
        }
        one_by_one = runtime.run(request).await.unwrap();
    }

    // Case 2, the same commands at the same times, as one sequence.
    let (start, then) = whole_case(2, opened);
    let last_at = then.last().unwrap().now;
    let sequence = runtime.run_sequence(start, then).await.unwrap();
    let second_id = sequence.case.state.case_id.clone();
    assert!(sequence.created);
    assert_eq!(sequence.at, last_at);

    let (a, b) = (&one_by_one.case.state, &sequence.case.state);
    assert!(b.status.is_closed(), "{:?}", b.status);
    assert_eq!(a.status, b.status);
    assert_eq!(a.version, b.version);
    assert_eq!(a.current_step, b.current_step);
    assert_eq!(
        facts(&runtime, &first_id).await,
        facts(&runtime, &second_id).await
    );
    // The second case drew the next registration number of the day.
    let (ra, rb) = (
        a.registration_number.clone().unwrap(),
        b.registration_number.clone().unwrap(),
    );
    assert_ne!(ra, rb);
    assert_eq!(ra[..ra.len() - 4], rb[..rb.len() - 4]);
    assert_one_chain(&runtime, &first_id, a).await;
    assert_one_chain(&runtime, &second_id, b).await;

    // The projection, the call and the search key, as for the one-by-one case.
    let (pa, pb) = (
        runtime.store.case(&first_id).await.unwrap().unwrap(),
        runtime.store.case(&second_id).await.unwrap().unwrap(),
    );
    assert_eq!(
        (pa.status, pa.version, pa.updated_at),
        (pb.status, pb.version, pb.updated_at)
    );
    let (_, history) = runtime.history(&second_id).await.unwrap();
    let calls = decode(&history)
        .unwrap()
        .iter()
        .flat_map(|e| e.facts().cloned().collect::<Vec<_>>())
        .filter(|f| matches!(f, EventBody::QueueCalled { .. }))
        .count();
    assert_eq!(calls, 1);
    // The printer's request: queued by the command that asked (and settled unsent by the
    // dispatcher, which finds the case moved on); a sequence that moved past it itself
    // queues nothing for it.
    let queued = runtime.store.outbox_for_case(&first_id).await.unwrap();
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert!(
        runtime
            .store
            .outbox_for_case(&second_id)
            .await
            .unwrap()
            .is_empty()
    );
    // One that stops where the case waits for the printer queues its request.
    let (start, mut then) = whole_case(6, opened);
    then.truncate(4);
    let waiting = runtime.run_sequence(start, then).await.unwrap();
    let state = &waiting.case.state;
    assert_eq!(state.current_step.as_deref(), Some("cetak_ktp"));
    let queued = runtime.store.outbox_for_case(&state.case_id).await.unwrap();
    assert_eq!(queued.len(), 1, "{queued:?}");
    assert_eq!(
        Some(queued[0].idempotency_key.as_str()),
        state.pending_request.as_ref().map(|p| &*p.idempotency_key)
    );
    assert_eq!(found_by_nik(&runtime, 1).await, vec![first_id]);
    assert_eq!(found_by_nik(&runtime, 2).await, vec![second_id]);
    runtime.store.close().await;
}

async fn a_refused_command_undoes_the_whole_sequence(db: &TestDb) {
    let (runtime, _defs) = runtime_on(db).await;
    let opened = OffsetDateTime::now_utc();
    let (start, mut then) = whole_case(3, opened);
    // Printing before the record was checked: the engine refuses it.
    then.swap(3, 4);
    let refused = runtime.run_sequence(start, then).await.unwrap_err();
    assert!(
        matches!(refused, RuntimeError::Command { .. }),
        "{refused:?}"
    );
    let all = runtime
        .store
        .list_cases(
            &CaseFilter::default(),
            &Page {
                after: None,
                limit: 10,
            },
        )
        .await
        .unwrap();
    assert!(all.is_empty(), "nothing of the sequence is stored: {all:?}");
    assert!(found_by_nik(&runtime, 3).await.is_empty());

    // The numbers it drew were undone with it: the next case gets the day's first.
    let (start, then) = whole_case(4, opened);
    let stored = runtime.run_sequence(start, then).await.unwrap();
    let number = stored.case.state.registration_number.clone().unwrap();
    assert!(number.ends_with("-0001"), "{number}");

    // And a sequence takes no Idempotency-Key (a retry of its first command would be
    // answered with its last's outcome).
    let (start, then) = whole_case(5, opened);
    let keyed = start.idempotency(Some(sopflow_core::runtime::Idempotency {
        key: "k".into(),
        request_hash: "h".into(),
    }));
    let refused = runtime.run_sequence(keyed, then).await.unwrap_err();
    assert!(matches!(refused, RuntimeError::Invalid(_)), "{refused:?}");
    runtime.store.close().await;
}

async fn both(db_for: impl AsyncFn() -> Option<TestDb>) {
    let Some(db) = db_for().await else {
        return;
    };
    a_sequence_stores_what_the_commands_one_by_one_store(&db).await;
    db.cleanup().await;
    let db = db_for().await.unwrap();
    a_refused_command_undoes_the_whole_sequence(&db).await;
    db.cleanup().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite() {
    both(async || TestDb::new(Backend::Sqlite).await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres() {
    both(async || TestDb::new(Backend::Postgres).await).await;
}
