//! `execute_in_place` is `execute` without the copy: same events, same state, and a refused
//! command leaves the case as it was. A command's changed fields are checked alone, with the
//! same errors as a check of the whole case data.

mod support;

use serde_json::{Map, Value, json};
use sopflow_engine::case::{
    Actor, CaseState, Command, CommandError, Context, execute, execute_in_place,
};
use support::{applicant, docs, ktp_el, obj, t0};

fn ctx(role: &str) -> Context {
    Context {
        now: t0(),
        actor: Actor::new(format!("{role}-1"), role),
        calendar: Default::default(),
    }
}

fn complete(step: &str, data: Value, documents: &[&str]) -> Command {
    Command::CompleteStep {
        step: step.to_owned(),
        data: obj(data),
        documents: docs(documents),
        outcome: None,
    }
}

fn started(sop: &sopflow_engine::sop::Sop) -> CaseState {
    let start = Command::Start {
        case_id: "case-1".into(),
        sop_version: 1,
        data: obj(applicant("baru")),
        documents: Vec::new(),
        service_point: None,
    };
    execute(sop, None, &start, &ctx("petugas_antrian"))
        .expect("the case starts")
        .state
}

#[test]
fn in_place_gives_the_events_and_state_of_execute() {
    let sop = ktp_el();
    let mut copied = started(&sop);
    let mut in_place = copied.clone();
    let script = [
        (
            "petugas_antrian",
            complete("serahkan_berkas", json!({}), &["fotokopi_kk"]),
        ),
        (
            "petugas_antrian",
            complete("verifikasi_berkas", json!({}), &[]),
        ),
        (
            "system",
            Command::AssignQueueNumber {
                number: "A-001".into(),
            },
        ),
        (
            "operator_cetak",
            Command::CallFromQueue {
                queue: "cetak_ktp".into(),
                counter: None,
            },
        ),
        (
            "operator_cetak",
            complete(
                "periksa_perekaman",
                json!({ "status_perekaman": "DUPLICATE_RECORD" }),
                &[],
            ),
        ),
    ];
    for (role, command) in &script {
        let executed = execute(&sop, Some(&copied), command, &ctx(role)).unwrap();
        let stepped = execute_in_place(&sop, &mut in_place, command, &ctx(role)).unwrap();
        assert_eq!(executed.events, stepped.events);
        assert_eq!(executed.effects, stepped.effects);
        assert_eq!(executed.state, in_place);
        copied = executed.state;
    }
    assert_eq!(in_place.current_step.as_deref(), Some("konsultasi_adb"));
}

#[test]
fn a_refused_command_leaves_the_case_as_it_was() {
    let sop = ktp_el();
    let mut state = started(&sop);
    let before = state.clone();
    let refusals = [
        (
            "petugas_antrian",
            complete("verifikasi_berkas", json!({}), &[]),
        ),
        (
            "operator_cetak",
            complete("serahkan_berkas", json!({}), &[]),
        ),
        (
            "petugas_antrian",
            complete(
                "serahkan_berkas",
                json!({ "no_kk": "12" }),
                &["fotokopi_kk"],
            ),
        ),
        (
            "petugas_antrian",
            complete("serahkan_berkas", json!({ "status_perekaman": "X" }), &[]),
        ),
        (
            "petugas_antrian",
            complete("serahkan_berkas", json!({}), &["ktp_el_tercetak"]),
        ),
        (
            "system",
            Command::AssignQueueNumber {
                number: "A-001".into(),
            },
        ),
    ];
    for (role, command) in &refusals {
        assert!(execute_in_place(&sop, &mut state, command, &ctx(role)).is_err());
        assert_eq!(state, before, "{command:?}");
    }
}

#[test]
fn a_changed_field_is_refused_with_the_errors_of_the_whole_check() {
    let sop = ktp_el();
    let mut state = started(&sop);
    let bad = complete(
        "serahkan_berkas",
        json!({ "no_kk": "12", "alasan": "hilang" }),
        &[],
    );
    let err = execute_in_place(&sop, &mut state, &bad, &ctx("petugas_antrian")).unwrap_err();
    let mut merged: Map<String, Value> = state.data.clone();
    merged.insert("no_kk".into(), json!("12"));
    merged.insert("alasan".into(), json!("hilang"));
    assert_eq!(
        Err(err),
        sopflow_engine::case::decide::check_data(&sop, &merged)
    );
    let good = complete(
        "serahkan_berkas",
        json!({ "no_kk": "1312990101900002", "alasan": "hilang" }),
        &["fotokopi_kk"],
    );
    execute_in_place(&sop, &mut state, &good, &ctx("petugas_antrian")).unwrap();
    assert_eq!(state.data["alasan"], json!("hilang"));
    assert!(matches!(
        execute_in_place(&sop, &mut state, &good, &ctx("petugas_antrian")),
        Err(CommandError::WrongStep { .. })
    ));
}
