//! Due times on a service point's calendar: working days across a weekend, a national
//! holiday and a cuti bersama day; working time across a closing; a step on clock time; the
//! breach on `Tick`; the calendar pinned in the history and replay on the pinned content.

mod support;

use std::sync::Arc;

use serde_json::json;
use sopflow_calendar::{Calendar, Library};
use sopflow_engine::case::{CaseCalendar, CommandError, EventBody, verify, verify_on};
use sopflow_engine::sop::{self, Sop};
use support::Case;
use time::OffsetDateTime;
use time::macros::datetime;

const SOP: &str = r#"
schema_version: 1
id: uji-waktu
header:
  government: G
  unit: U
  number: "1"
  title: Uji waktu kerja
  dates: {}
  approver: { title: Kepala, name: K }
actors: [{ id: petugas, name: Petugas }]
case_schema: { type: object, properties: {} }
total_budget: 15 hari kerja
start: terima
steps:
  - { id: terima, row: 1, kind: task, name: Terima, actor: petugas, budget: 2 menit, next: proses }
  - { id: proses, row: 2, kind: task, name: Proses, actor: petugas, budget: 14 hari kerja, next: konsultasi }
  - { id: konsultasi, row: 3, kind: task, name: Konsultasi, actor: petugas, budget: 1 jam, budget_clock: wall, next: selesai }
  - { id: selesai, row: 3, kind: end, name: Selesai, actor: petugas }
"#;

fn sop() -> Sop {
    sop::load(SOP).expect("the test SOP is valid")
}

fn data_file(name: &str) -> String {
    let path = format!("{}/../calendars/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The example office (Monday-Thursday 08:00-12:00 and 13:00-16:00, Friday 08:00-11:30 and
/// 13:30-16:30, WIB) on the national calendar of 2026, with `extra` appended to its file.
fn office(extra: &str) -> CaseCalendar {
    let mut library = Library::new();
    library.insert(
        "nasional-2026",
        "nasional-2026.toml",
        data_file("nasional-2026"),
    );
    library.insert(
        "contoh-kantor",
        "contoh-kantor.toml",
        data_file("contoh-kantor") + extra,
    );
    let calendar: Calendar = library.load("contoh-kantor").expect("the office calendar");
    CaseCalendar::pinned("contoh-kantor", Arc::new(calendar))
}

fn start(case: &mut Case<'_>, at: OffsetDateTime) {
    case.now = at;
    case.run(
        "petugas",
        sopflow_engine::case::Command::Start {
            case_id: "c-1".into(),
            sop_version: 1,
            data: Default::default(),
            documents: vec![],
            service_point: None,
        },
    )
    .expect("the case opens");
}

fn complete(case: &mut Case<'_>, step: &str, at: OffsetDateTime) {
    case.now = at;
    case.complete("petugas", step, json!({}), &[], None)
        .unwrap_or_else(|e| panic!("{step}: {e}"));
}

/// The due time recorded when the case entered `step` (the last time).
fn due_of(case: &Case<'_>, step: &str) -> Option<OffsetDateTime> {
    case.events
        .iter()
        .rev()
        .flat_map(|e| e.facts().rev())
        .find_map(|f| match f {
            EventBody::StepEntered {
                step: s, due_at, ..
            } if &**s == step => Some(*due_at),
            _ => None,
        })?
}

/// A whole case on the office calendar: every due time exact.
fn run_case(sop: &Sop, calendar: CaseCalendar) -> Case<'_> {
    let mut case = Case::new(sop);
    case.calendar = calendar;
    // Thursday 5 February 2026, one minute before closing.
    start(&mut case, datetime!(2026-02-05 15:59 +7));
    complete(&mut case, "terima", datetime!(2026-02-09 10:00 +7));
    complete(&mut case, "proses", datetime!(2026-03-06 16:00 +7));
    case
}

#[test]
fn two_minutes_one_minute_before_closing_are_due_one_minute_after_the_next_opening() {
    let sop = sop();
    let case = run_case(&sop, office(""));
    assert_eq!(
        due_of(&case, "terima"),
        Some(datetime!(2026-02-06 08:01 +7))
    );
}

#[test]
fn fourteen_working_days_skip_weekends_a_holiday_and_a_cuti_bersama_day() {
    let sop = sop();
    let case = run_case(&sop, office(""));
    // From Monday 9 February 10:00: 10-13 February (4), then Monday 16 (cuti bersama Imlek)
    // and Tuesday 17 (Tahun Baru Imlek) are closed: 18-20 (7), 23-27 (12), 2 March (13),
    // Tuesday 3 March (14), at 10:00.
    assert_eq!(
        due_of(&case, "proses"),
        Some(datetime!(2026-03-03 10:00 +7))
    );
    // The whole case, 15 working days from Thursday 5 February 15:59 (still open): 6, 9-13
    // (6), 18-20 (9), 23-27 (14), Monday 2 March (15), at 15:59.
    assert_eq!(
        case.state().total_due_at,
        Some(datetime!(2026-03-02 15:59 +7))
    );
    // Always open, the same budget is 14 × 24 hours.
    let open = run_case(&sop, CaseCalendar::always_open());
    assert_eq!(
        due_of(&open, "proses"),
        Some(datetime!(2026-02-23 10:00 +7))
    );
}

#[test]
fn a_step_on_clock_time_ignores_the_calendar() {
    let sop = sop();
    let case = run_case(&sop, office(""));
    // Friday 6 March 16:00 + 1 hour around the clock; on working time it would be Monday
    // 9 March 08:30 (the office closes at 16:30 on Fridays).
    assert_eq!(
        due_of(&case, "konsultasi"),
        Some(datetime!(2026-03-06 17:00 +7))
    );
}

#[test]
fn a_budget_is_breached_only_when_its_working_time_has_run_out() {
    let sop = sop();
    let mut case = Case::new(&sop);
    case.calendar = office("");
    start(&mut case, datetime!(2026-02-05 15:59 +7));
    let breaches = |case: &Case<'_>| {
        case.events
            .iter()
            .flat_map(|e| e.facts())
            .filter(|f| matches!(f, EventBody::TimeBudgetExceeded { .. }))
            .count()
    };
    // Two minutes of clock time have long passed that night, but not of working time.
    case.now = datetime!(2026-02-05 23:00 +7);
    case.run("system", sopflow_engine::case::Command::Tick)
        .unwrap();
    assert_eq!(breaches(&case), 0);
    case.now = datetime!(2026-02-06 08:01:01 +7);
    case.run("system", sopflow_engine::case::Command::Tick)
        .unwrap();
    assert_eq!(breaches(&case), 1);
}

#[test]
fn the_calendar_is_pinned_and_replay_uses_the_pinned_content() {
    let sop = sop();
    let calendar = office("");
    let case = run_case(&sop, calendar.clone());
    let EventBody::CaseStarted {
        calendar: Some(pin),
        ..
    } = &case.events[0].body
    else {
        panic!("the start records its calendar: {:?}", case.events[0].body);
    };
    assert_eq!(pin.id, "contoh-kantor");
    assert_eq!(pin.hash, calendar.calendar().content_hash());
    assert_eq!(pin.hash.len(), 64);

    let replayed = verify_on(&sop, &calendar, &case.events).expect("replays on its calendar");
    assert_eq!(&replayed, case.state());

    // The same calendar from its canonical text (as a store keeps it): the same pin.
    let from_store = Calendar::parse("stored", calendar.calendar().canonical()).unwrap();
    let reloaded = CaseCalendar::pinned(pin.id.clone(), Arc::new(from_store));
    assert_eq!(reloaded.pin(), Some(pin));
    verify_on(&sop, &reloaded, &case.events).expect("replays on the stored content");

    // A changed calendar (a closure on 10 February) is another calendar: replay refuses it
    // rather than recomputing the due times on it.
    let changed =
        office("\n[[closed]]\ndate = 2026-02-10\nkind = \"lokal\"\nname = \"Rapat kerja\"\n");
    assert_ne!(changed.pin(), calendar.pin());
    let divergence = verify_on(&sop, &changed, &case.events).unwrap_err();
    assert_eq!(divergence.seq, 1);
    assert!(divergence.reason.contains("contoh-kantor"), "{divergence}");
    // Nor may a pinned history be verified as always open.
    assert_eq!(verify(&sop, &case.events).unwrap_err().seq, 1);
}

#[test]
fn a_due_time_that_does_not_match_the_calendar_is_found() {
    let sop = sop();
    let calendar = office("");
    let case = run_case(&sop, calendar.clone());
    let mut forged = case.events.clone();
    let entered = forged
        .iter_mut()
        .find(|e| {
            e.facts()
                .any(|f| matches!(f, EventBody::StepEntered { step, .. } if &**step == "proses"))
        })
        .unwrap();
    let seq = entered.seq;
    let fact = entered
        .facts_mut()
        .find(|f| matches!(f, EventBody::StepEntered { .. }))
        .unwrap();
    if let EventBody::StepEntered { due_at, .. } = fact {
        // As if counted on clock time: 14 × 24 hours.
        *due_at = Some(datetime!(2026-02-23 10:00 +7));
    }
    let divergence = verify_on(&sop, &calendar, &forged).unwrap_err();
    assert_eq!(divergence.seq, seq);
    assert!(divergence.reason.contains("budget clock"), "{divergence}");

    let mut forged = case.events.clone();
    if let EventBody::CaseStarted { total_due_at, .. } = &mut forged[0].body {
        *total_due_at = Some(datetime!(2026-02-20 15:59 +7));
    }
    assert_eq!(verify_on(&sop, &calendar, &forged).unwrap_err().seq, 1);
}

#[test]
fn a_command_with_another_calendar_than_the_cases_is_refused() {
    let sop = sop();
    let mut case = Case::new(&sop);
    case.calendar = office("");
    start(&mut case, datetime!(2026-02-05 15:59 +7));
    let before = case.events.len();
    case.calendar = CaseCalendar::always_open();
    case.now = datetime!(2026-02-09 10:00 +7);
    let refused = case.complete("petugas", "terima", json!({}), &[], None);
    assert!(
        matches!(&refused, Err(CommandError::Internal { reason }) if reason.contains("contoh-kantor")),
        "{refused:?}"
    );
    assert_eq!(case.events.len(), before, "nothing recorded");
}

#[test]
fn a_history_without_a_calendar_keeps_its_wall_clock_due_times() {
    let sop = sop();
    let case = run_case(&sop, CaseCalendar::always_open());
    assert!(matches!(
        &case.events[0].body,
        EventBody::CaseStarted { calendar: None, .. }
    ));
    // Stored JSON of before calendars: no `calendar` key at all.
    let json = serde_json::to_value(&case.events[0]).unwrap();
    assert!(json.get("calendar").is_none(), "{json}");
    assert_eq!(
        due_of(&case, "terima"),
        Some(datetime!(2026-02-05 16:01 +7))
    );
    verify(&sop, &case.events).expect("replays as always open");
}

#[test]
fn a_calendar_with_no_working_time_left_refuses_the_command() {
    let sop = sop();
    // Open one day in January, never after it.
    let never = Calendar::parse(
        "sekali.toml",
        "zone = \"WIB\"\n[hours]\n[[open]]\ndate = 2026-01-05\nname = \"Sekali\"\nhours = [\"08:00-12:00\"]\n",
    )
    .unwrap();
    let mut case = Case::new(&sop);
    case.calendar = CaseCalendar::pinned("tutup", Arc::new(never));
    case.now = datetime!(2026-02-05 15:59 +7);
    let refused = case.run(
        "petugas",
        sopflow_engine::case::Command::Start {
            case_id: "c-1".into(),
            sop_version: 1,
            data: Default::default(),
            documents: vec![],
            service_point: None,
        },
    );
    assert!(
        matches!(&refused, Err(CommandError::NoDueTime { .. })),
        "{refused:?}"
    );
    assert!(case.events.is_empty());
}
