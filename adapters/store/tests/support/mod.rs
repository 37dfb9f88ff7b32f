//! The harness (fresh databases come from `sopflow_store::testing`) and small builders.

use serde_json::json;
use sha2::{Digest as _, Sha256};
pub use sopflow_store::testing::{Backend, TestDb};
use sopflow_store::{CaseProjection, NewEvent, NewOutbox, Payload, Store};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

/// Runs one scenario on one backend with a fresh database.
pub async fn run(backend: Backend, scenario: impl AsyncFnOnce(&TestDb)) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    scenario(&db).await;
    db.cleanup().await;
}

/// One test per scenario and backend: `sqlite::NAME` and `postgres::NAME`.
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::support::run($crate::support::Backend::Sqlite, $crate::$name).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    $crate::support::run($crate::support::Backend::Postgres, $crate::$name).await;
                }
            )*
        }
    };
}

/// Runs SQL the test composed (`raw_execute` takes only static text: the test's statements
/// are few, so each is leaked); returns the rows it changed, and names the statement when it
/// fails.
pub async fn raw_sql(db: &TestDb, text: String) -> u64 {
    let text: &'static str = Box::leak(text.into_boxed_str());
    db.raw_execute(text)
        .await
        .unwrap_or_else(|e| panic!("{text}: {e}"))
}

// ---- builders ----

/// A Monday morning at the office, in UTC.
pub const T0: OffsetDateTime = datetime!(2025-03-03 01:00 UTC);

pub fn at(seconds: i64) -> OffsetDateTime {
    T0 + Duration::seconds(seconds)
}

pub const SOP: &str = "ktp_el";

/// The service point the builders' cases are opened at.
pub const POINT: &str = "kantor";

/// Deploys a version of `sop` (cases refer to it) and returns its number.
pub async fn deploy(store: &Store, sop: &str) -> u32 {
    let (version, _) = store
        .put_sop_version(sop, &format!("hash-of-{sop}"), &format!("id: {sop}\n"), T0)
        .await
        .expect("deploy");
    version
}

/// The hash the builders give event `seq` of `case_id` written by `tag` (64 hex digits, as
/// the store keeps hashes): the SHA-256 of that name.
pub fn hash_of(case_id: &str, seq: u64, tag: &str) -> String {
    Sha256::digest(format!("{case_id}/{seq}/{tag}"))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The JSON an appended payload holds, as a stored event reads it back.
pub fn json_of(payload: &Payload) -> serde_json::Value {
    serde_json::from_str(&payload.text().unwrap()).unwrap()
}

/// `n` chained events after seq `after`, the first chaining to `prev` (`""`: the genesis
/// hash). `tag` marks the writer.
pub fn events(case_id: &str, after: u64, prev: &str, n: usize, tag: &str) -> Vec<NewEvent> {
    let mut prev = match prev {
        "" => sopflow_store::GENESIS.to_owned(),
        prev => prev.to_owned(),
    };
    (after + 1..)
        .take(n)
        .map(|seq| {
            let hash = hash_of(case_id, seq, tag);
            NewEvent {
                kind: format!("step_recorded_{seq}"),
                recorded_at: T0,
                user_name: "ani".into(),
                role: "petugas_antrian".into(),
                payload: Payload::from_json(&json!({"v": 1, "seq": seq, "tag": tag})).unwrap(),
                prev_hash: std::mem::replace(&mut prev, hash.clone()),
                hash,
            }
        })
        .collect()
}

/// The projection after `events`, appended at `expected_version`.
pub fn projection(
    sop_version: u32,
    expected_version: u64,
    events: &[NewEvent],
    step: Option<&str>,
) -> CaseProjection {
    CaseProjection {
        sop_id: SOP.into(),
        sop_version,
        status: "open".into(),
        current_step: step.map(str::to_owned),
        version: expected_version + u64::try_from(events.len()).expect("event count"),
        head_hash: events.last().expect("events").hash.clone(),
        due_at: None,
        overdue: false,
        updated_at: T0,
        service_point: POINT.into(),
        queue: None,
    }
}

pub fn outbox(key: &str, due: OffsetDateTime) -> NewOutbox {
    NewOutbox {
        idempotency_key: key.into(),
        adapter: "print".into(),
        payload: json!({"job": key}),
        next_attempt_at: due,
    }
}

/// Creates a case of [`SOP`] with `n` events and the given outbox rows; returns its head hash.
pub async fn create_case(
    store: &Store,
    sop_version: u32,
    case_id: &str,
    n: usize,
    out: &[NewOutbox],
) -> String {
    let evs = events(case_id, 0, "", n, "create");
    let mut tx = store.begin().await.expect("begin");
    tx.append(
        case_id,
        0,
        &evs,
        &projection(sop_version, 0, &evs, Some("s1")),
        out,
    )
    .await
    .expect("create case");
    tx.commit().await.expect("commit");
    evs.last().expect("events").hash.clone()
}
