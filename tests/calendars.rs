//! Working time through the service, on SQLite and (when configured) PostgreSQL: a service
//! point's calendar from the calendars folder, due times on it, the calendar pinned by hash
//! in the store, and a case that keeps its due times, replays and verifies exactly after the
//! calendar file changed and the service restarted.

// Helpers outside `#[test]` functions unwrap too: in tests a panic is a failed assertion.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::Map;
use sopflow::serve::{Config, build};
use sopflow_audit::verify::{Check, VerifyOptions, verify_store};
use sopflow_core::offices::ServicePointConfig;
use sopflow_core::{CommandRequest, Runtime};
use sopflow_engine::case::{Actor, Command, Event, EventBody};
use sopflow_store::testing::Backend;
use support::{Api, repo_file};
use time::OffsetDateTime;
use time::macros::datetime;

const SOP: &str = "tests/data/waktu-kerja.yaml";

/// The calendars folder inside the test's temporary definitions folder: the national
/// calendar of 2026 and an office (`kantor-uji`: the example office's file).
fn configure(config: &mut Config) {
    let dir = config.definitions.join("calendars");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["nasional-2026", "contoh-kantor"] {
        let target = if name == "contoh-kantor" {
            "kantor-uji"
        } else {
            name
        };
        std::fs::write(
            dir.join(format!("{target}.toml")),
            repo_file(&format!("calendars/{name}.toml")),
        )
        .unwrap();
    }
    config.calendars = dir;
    config.timezone = "Asia/Jakarta".into();
    config.service_points = vec![ServicePointConfig {
        id: "kantor".into(),
        name: "Kantor Uji".into(),
        timezone: None,
        calendar: Some("kantor-uji".into()),
        counters: vec![],
        default: true,
    }];
}

fn petugas() -> Actor {
    Actor::new("petugas-1", "petugas")
}

/// The test's commands happen in February 2026, before the SOP was deployed (at the real
/// time): released from 1 January, as an administrator would.
async fn release_from_january(runtime: &Runtime) {
    runtime
        .store
        .record_release(&sopflow_store::NewRelease {
            sop_id: "uji-waktu".into(),
            version: 1,
            effective: sopflow_store::Effective::At(datetime!(2026-01-01 00:00 +7)),
            source: "cli".into(),
            released_by: "test".into(),
            reason: "the test runs in February 2026".into(),
            recorded_at: OffsetDateTime::now_utc(),
        })
        .await
        .unwrap();
}

async fn open(runtime: &Runtime, at: OffsetDateTime) -> String {
    let outcome = runtime
        .run(CommandRequest::start(
            "uji-waktu",
            Map::new(),
            vec![],
            petugas(),
            at,
        ))
        .await
        .unwrap();
    outcome.case.state.case_id.clone()
}

async fn complete(runtime: &Runtime, case: &str, step: &str, at: OffsetDateTime) {
    let command = Command::CompleteStep {
        step: step.into(),
        data: Map::new(),
        documents: vec![],
        outcome: None,
    };
    runtime
        .run(CommandRequest::on_case(case, command, petugas(), at))
        .await
        .unwrap_or_else(|e| panic!("{step}: {e}"));
}

async fn history(runtime: &Runtime, case: &str) -> Vec<Event> {
    let stored = runtime.store.events(case).await.unwrap();
    sopflow_core::runtime::decode(&stored).unwrap()
}

/// The due time recorded when the case entered `step`.
async fn due_of(runtime: &Runtime, case: &str, step: &str) -> Option<OffsetDateTime> {
    history(runtime, case)
        .await
        .iter()
        .flat_map(|e| e.facts())
        .find_map(|f| match f {
            EventBody::StepEntered {
                step: s, due_at, ..
            } if &**s == step => *due_at,
            _ => None,
        })
}

async fn pinned_hash(runtime: &Runtime, case: &str) -> String {
    match &history(runtime, case).await[0].body {
        EventBody::CaseStarted {
            calendar: Some(pin),
            ..
        } => {
            assert_eq!(pin.id, "kantor-uji");
            pin.hash.clone()
        }
        other => panic!("no calendar pinned: {other:?}"),
    }
}

async fn verify(runtime: &Runtime) -> sopflow_audit::verify::VerifyReport {
    let options = VerifyOptions::default();
    verify_store(&runtime.store, &options, &mut |_| {})
        .await
        .unwrap()
}

async fn a_case_keeps_its_calendar_after_the_file_changed(backend: Backend) {
    let Some(api) = Api::start_with_sops(backend, &[SOP], configure).await else {
        return;
    };
    let runtime = api.service.runtime.clone();
    release_from_january(&runtime).await;

    // Thursday 5 February 2026, one minute before closing (16:00): two minutes of working
    // time are due one minute after Friday's opening.
    let a = open(&runtime, datetime!(2026-02-05 15:59 +7)).await;
    assert_eq!(
        due_of(&runtime, &a, "terima").await,
        Some(datetime!(2026-02-06 08:01 +7))
    );
    let first_hash = pinned_hash(&runtime, &a).await;
    let stored = runtime.store.calendar(&first_hash).await.unwrap().unwrap();
    assert_eq!(stored.calendar_id, "kantor-uji");
    // That night two minutes of clock time have passed, not of working time: no breach.
    runtime
        .run(CommandRequest::on_case(
            &a,
            Command::Tick,
            Actor::system(),
            datetime!(2026-02-05 23:00 +7),
        ))
        .await
        .unwrap();
    assert!(
        !history(&runtime, &a)
            .await
            .iter()
            .any(|e| matches!(e.body, EventBody::TimeBudgetExceeded { .. }))
    );

    // The office closes on Tuesday 10 February after all; the service restarts.
    let file = api.config.calendars.join("kantor-uji.toml");
    let mut text = std::fs::read_to_string(&file).unwrap();
    text.push_str("\n[[closed]]\ndate = 2026-02-10\nkind = \"lokal\"\nname = \"Rapat kerja\"\n");
    std::fs::write(&file, text).unwrap();
    let restarted = build(&api.config).await.expect("the service restarts");
    let runtime = restarted.runtime.clone();

    // Case A runs on the calendar it was opened under: 14 working days from Monday
    // 9 February 10:00 skip the weekends, Monday 16 February (cuti bersama Imlek) and
    // Tuesday 17 (Tahun Baru Imlek), but not 10 February: Tuesday 3 March, 10:00.
    complete(&runtime, &a, "terima", datetime!(2026-02-09 10:00 +7)).await;
    assert_eq!(
        due_of(&runtime, &a, "proses").await,
        Some(datetime!(2026-03-03 10:00 +7))
    );
    // The whole case: 15 working days from Thursday 15:59: Monday 2 March, 15:59.
    let record = runtime.store.case(&a).await.unwrap().unwrap();
    assert_eq!(record.due_at, Some(datetime!(2026-03-02 15:59 +7)));
    // A case opened now runs on the changed calendar: one day later.
    let b = open(&runtime, datetime!(2026-02-09 09:59 +7)).await;
    complete(&runtime, &b, "terima", datetime!(2026-02-09 10:00 +7)).await;
    assert_eq!(
        due_of(&runtime, &b, "proses").await,
        Some(datetime!(2026-03-04 10:00 +7))
    );
    let second_hash = pinned_hash(&runtime, &b).await;
    assert_ne!(first_hash, second_hash);
    assert!(
        runtime
            .store
            .calendar(&second_hash)
            .await
            .unwrap()
            .is_some()
    );

    // A step on clock time ignores the calendar: Friday 6 March 16:00 + 1 hour, though the
    // office closes at 16:30.
    complete(&runtime, &a, "proses", datetime!(2026-03-06 16:00 +7)).await;
    assert_eq!(
        due_of(&runtime, &a, "konsultasi").await,
        Some(datetime!(2026-03-06 17:00 +7))
    );

    // Both cases verify exactly, each on its own calendar (the library and the CLI).
    let report = verify(&runtime).await;
    assert_eq!(report.cases, 2);
    assert!(report.ok(), "{:?}", report.findings);
    let cli = std::process::Command::new(env!("CARGO_BIN_EXE_sopflow"))
        .args(["audit", "verify", "--database", &api.db.url])
        .output()
        .unwrap();
    assert!(
        cli.status.success(),
        "{}{}",
        String::from_utf8_lossy(&cli.stdout),
        String::from_utf8_lossy(&cli.stderr)
    );

    // A stored calendar rewritten behind the store's back (its trigger bypassed) no longer
    // hashes to the pin: verify names the case and says so.
    match backend {
        Backend::Sqlite => api.db.raw_execute("DROP TRIGGER calendars_no_update").await,
        Backend::Postgres => {
            api.db
                .raw_execute("ALTER TABLE calendars DISABLE TRIGGER calendars_immutable")
                .await
        }
    }
    .unwrap();
    let forged: &'static str = Box::leak(
        format!(
            "UPDATE calendars SET canonical = REPLACE(canonical, '16:00', '17:00') WHERE content_hash = '{first_hash}'"
        )
        .into_boxed_str(),
    );
    assert_eq!(api.db.raw_execute(forged).await.unwrap(), 1);
    let report = verify(&runtime).await;
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
    let finding = &report.findings[0];
    assert_eq!(
        (finding.case_id.as_deref(), finding.check),
        (Some(a.as_str()), Check::Calendar)
    );
    assert!(finding.reason.contains("was changed"), "{}", finding.reason);

    restarted.runtime.store.close().await;
    api.finish().await;
}

async fn a_service_point_without_a_calendar_is_always_open(backend: Backend) {
    let Some(api) = Api::start_with_sops(backend, &[SOP], |config| {
        configure(config);
        config.service_points[0].calendar = None;
    })
    .await
    else {
        return;
    };
    let runtime = api.service.runtime.clone();
    release_from_january(&runtime).await;
    let a = open(&runtime, datetime!(2026-02-05 15:59 +7)).await;
    assert!(matches!(
        &history(&runtime, &a).await[0].body,
        EventBody::CaseStarted { calendar: None, .. }
    ));
    assert_eq!(
        due_of(&runtime, &a, "terima").await,
        Some(datetime!(2026-02-05 16:01 +7))
    );
    assert!(verify(&runtime).await.ok());
    api.finish().await;
}

#[tokio::test]
async fn service_point_calendar_refused_at_start_when_it_does_not_load() {
    let Some(db) = sopflow_store::testing::TestDb::new(Backend::Sqlite).await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        database: db.url.clone(),
        definitions: dir.path().join("sops"),
        ..Config::default()
    };
    configure(&mut config);
    config.calendars = dir.path().join("calendars");
    std::fs::create_dir_all(&config.calendars).unwrap();
    std::fs::write(
        config.calendars.join("kantor-uji.toml"),
        "zone = \"WIB\"\ninclude = [\"nasional-2026\"]\n[hours]\nmonday = [\"08:00-16:00\"]\n",
    )
    .unwrap();
    let refused = build(&config).await.err().expect("refused").to_string();
    assert!(
        refused.contains("kantor") && refused.contains("nasional-2026"),
        "{refused}"
    );
    db.cleanup().await;
}

mod sqlite {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_case_keeps_its_calendar_after_the_file_changed() {
        super::a_case_keeps_its_calendar_after_the_file_changed(super::Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_service_point_without_a_calendar_is_always_open() {
        super::a_service_point_without_a_calendar_is_always_open(super::Backend::Sqlite).await;
    }
}

mod postgres {
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_case_keeps_its_calendar_after_the_file_changed() {
        super::a_case_keeps_its_calendar_after_the_file_changed(super::Backend::Postgres).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_service_point_without_a_calendar_is_always_open() {
        super::a_service_point_without_a_calendar_is_always_open(super::Backend::Postgres).await;
    }
}
