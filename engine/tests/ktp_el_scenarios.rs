//! Every path of the KTP-el SOP as a readable scenario. Each one ends by replaying the
//! history against the SOP and checking it rebuilds exactly the live state.

mod support;

use std::sync::Arc;

use serde_json::json;
use sopflow_engine::case::{
    CaseState, CaseStatus, Command, CommandError, Effect, EventBody, verify,
};
use support::{Case, applicant, ktp_el, run_ktp_el_case};

fn assert_replays(case: &Case) {
    let replayed = verify(case.sop, &case.events).expect("history verifies against its SOP");
    assert_eq!(&replayed, case.state(), "replay equals the live state");
}

#[test]
fn happy_path_from_file_to_card() {
    let sop = ktp_el();
    let case = run_ktp_el_case(&sop, false, false).unwrap();
    assert_eq!(
        case.path(),
        [
            "serahkan_berkas",
            "verifikasi_berkas",
            "tunggu_antrian",
            "periksa_perekaman",
            "cetak_ktp",
            "validasi_ktp",
            "terima_ktp",
            "selesai"
        ]
    );
    assert_eq!(case.state().status, CaseStatus::Completed);
    assert!(
        case.effects
            .iter()
            .any(|e| matches!(e, Effect::CallAdapter(call) if call.adapter == "printer_ktp"))
    );
    assert_replays(&case);
}

#[test]
fn incomplete_file_goes_back_to_the_applicant_then_gets_a_queue_number() {
    let sop = ktp_el();
    let mut case = Case::new(&sop);
    case.start(applicant("baru"), &[]).unwrap();
    case.complete("petugas_antrian", "serahkan_berkas", json!({}), &[], None)
        .unwrap();
    case.complete("petugas_antrian", "verifikasi_berkas", json!({}), &[], None)
        .unwrap();
    assert_eq!(
        case.current(),
        "serahkan_berkas",
        "an incomplete file is returned"
    );
    let returned = case
        .events
        .iter()
        .flat_map(|e| e.facts())
        .find_map(|f| match f {
            EventBody::BranchTaken {
                from,
                to,
                label,
                evaluations,
                ..
            } if &**from == "verifikasi_berkas" => {
                Some((to.clone(), label.clone(), evaluations.clone()))
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(&*returned.0, "serahkan_berkas");
    // The label and the guard's text are the pinned SOP's, not copied into the event (v2).
    assert_eq!(returned.1, None);
    assert_eq!(&*returned.2[0].guard, "");
    assert!(!returned.2[0].result);
    assert_eq!(returned.2[0].values["documents_complete"], json!(false));
    assert_eq!(
        case.state().visits.last().unwrap().visit,
        2,
        "second visit of step 1"
    );

    case.complete(
        "petugas_antrian",
        "serahkan_berkas",
        json!({}),
        &["fotokopi_kk"],
        None,
    )
    .unwrap();
    case.complete("petugas_antrian", "verifikasi_berkas", json!({}), &[], None)
        .unwrap();
    assert_eq!(case.current(), "tunggu_antrian");
    assert_eq!(case.state().queue_number.as_deref(), Some("A-001"));
    assert_replays(&case);
}

#[test]
fn duplicate_record_is_consulted_with_adb_then_printed() {
    let sop = ktp_el();
    let case = run_ktp_el_case(&sop, false, true).unwrap();
    let path = case.path();
    assert_eq!(
        &path[3..7],
        [
            "periksa_perekaman",
            "konsultasi_adb",
            "periksa_perekaman",
            "cetak_ktp"
        ]
    );
    let consult = case.effects.iter().find_map(|e| match e {
        Effect::CallAdapter(call) if call.adapter == "konsultasi_adb" => {
            Some((call.request.clone(), call.idempotency_key.clone()))
        }
        _ => None,
    });
    let (request, key) = consult.expect("a consultation is sent");
    assert_eq!(request["status_perekaman"], json!("DUPLICATE_RECORD"));
    assert_eq!(key, "case-1:konsultasi_adb:1");
    assert_eq!(case.state().status, CaseStatus::Completed);
    assert_replays(&case);
}

#[test]
fn adb_rejection_ends_the_case_with_its_reason() {
    let sop = ktp_el();
    let mut case = Case::new(&sop);
    case.start(applicant("baru"), &["fotokopi_kk"]).unwrap();
    case.complete("petugas_antrian", "serahkan_berkas", json!({}), &[], None)
        .unwrap();
    case.complete("petugas_antrian", "verifikasi_berkas", json!({}), &[], None)
        .unwrap();
    case.call("operator_cetak", "cetak_ktp").unwrap();
    case.complete(
        "operator_cetak",
        "periksa_perekaman",
        json!({ "status_perekaman": "PRINT_READY_RECORD", "masalah_nik": true }),
        &[],
        None,
    )
    .unwrap();
    assert_eq!(
        case.current(),
        "konsultasi_adb",
        "a NIK problem goes to the ADB even when printable"
    );
    case.adapter_result(Some("rejected"), None).unwrap();
    assert_eq!(case.current(), "ditolak");
    assert_eq!(case.state().status, CaseStatus::Completed);
    assert_replays(&case);
}

#[test]
fn a_pending_recording_status_waits_and_is_checked_again() {
    let sop = ktp_el();
    let mut case = Case::new(&sop);
    case.start(applicant("baru"), &["fotokopi_kk"]).unwrap();
    case.complete("petugas_antrian", "serahkan_berkas", json!({}), &[], None)
        .unwrap();
    case.complete("petugas_antrian", "verifikasi_berkas", json!({}), &[], None)
        .unwrap();
    case.call("operator_cetak", "cetak_ktp").unwrap();
    case.complete(
        "operator_cetak",
        "periksa_perekaman",
        json!({ "status_perekaman": "SENT_FOR_ENROLLMENT" }),
        &[],
        None,
    )
    .unwrap();
    assert_eq!(case.current(), "tunggu_status_perekaman");
    case.complete(
        "operator_cetak",
        "tunggu_status_perekaman",
        json!({}),
        &[],
        None,
    )
    .unwrap();
    assert_eq!(case.current(), "periksa_perekaman");
    assert_replays(&case);
}

#[test]
fn a_lost_card_needs_the_police_letter() {
    let sop = ktp_el();
    let mut case = Case::new(&sop);
    case.start(applicant("hilang"), &["fotokopi_kk"]).unwrap();
    case.complete("petugas_antrian", "serahkan_berkas", json!({}), &[], None)
        .unwrap();
    let missing = case
        .events
        .iter()
        .rev()
        .flat_map(|e| e.facts().rev())
        .find_map(|f| match f {
            EventBody::StepCompleted {
                missing_documents, ..
            } => Some(missing_documents.clone()),
            _ => None,
        });
    assert_eq!(missing.unwrap(), [Arc::<str>::from("surat_kehilangan")]);
    case.complete("petugas_antrian", "verifikasi_berkas", json!({}), &[], None)
        .unwrap();
    assert_eq!(
        case.current(),
        "serahkan_berkas",
        "returned without the police letter"
    );
    case.complete(
        "petugas_antrian",
        "serahkan_berkas",
        json!({}),
        &["surat_kehilangan"],
        None,
    )
    .unwrap();
    case.complete("petugas_antrian", "verifikasi_berkas", json!({}), &[], None)
        .unwrap();
    assert_eq!(case.current(), "tunggu_antrian");
    assert_replays(&case);
}

#[test]
fn a_damaged_card_needs_the_old_card_but_not_the_police_letter() {
    let sop = ktp_el();
    let mut case = Case::new(&sop);
    case.start(applicant("rusak"), &["fotokopi_kk", "ktp_lama"])
        .unwrap();
    case.complete("petugas_antrian", "serahkan_berkas", json!({}), &[], None)
        .unwrap();
    case.complete("petugas_antrian", "verifikasi_berkas", json!({}), &[], None)
        .unwrap();
    assert_eq!(case.current(), "tunggu_antrian");
    assert_replays(&case);
}

#[test]
fn validation_is_refused_without_the_printed_card() {
    let sop = ktp_el();
    let mut case = run_until(&sop, "validasi_ktp");
    let err = case
        .complete("petugas_antrian", "validasi_ktp", json!({}), &[], None)
        .unwrap_err();
    assert_eq!(
        err,
        CommandError::MissingDocuments {
            missing: vec!["ktp_el_tercetak".into()]
        }
    );
    assert_eq!(case.current(), "validasi_ktp", "nothing recorded");
}

#[test]
fn commands_that_do_not_fit_are_refused_with_a_reason() {
    let sop = ktp_el();
    let mut case = Case::new(&sop);
    let bad_nik = case
        .start(json!({ "nik": "12345", "alasan": "baru" }), &[])
        .unwrap_err();
    match bad_nik {
        CommandError::InvalidData { errors } => assert_eq!(errors[0].pointer, "/nik"),
        other => panic!("expected invalid data, got {other:?}"),
    }
    case.start(applicant("baru"), &["fotokopi_kk"]).unwrap();
    assert_eq!(
        case.complete("petugas_antrian", "verifikasi_berkas", json!({}), &[], None)
            .unwrap_err(),
        CommandError::WrongStep {
            requested: "verifikasi_berkas".into(),
            current: "serahkan_berkas".into()
        }
    );
    assert!(matches!(
        case.complete("operator_cetak", "serahkan_berkas", json!({}), &[], None)
            .unwrap_err(),
        CommandError::WrongRole { .. }
    ));
    assert!(matches!(
        case.complete(
            "petugas_antrian",
            "serahkan_berkas",
            json!({ "nik": "1312990101900002" }),
            &[],
            None
        )
        .unwrap_err(),
        CommandError::FieldsNotAllowed { .. }
    ));
    assert!(matches!(
        case.complete(
            "petugas_antrian",
            "serahkan_berkas",
            json!({}),
            &["paspor"],
            None
        )
        .unwrap_err(),
        CommandError::UnknownDocument { .. }
    ));
    assert!(matches!(
        case.complete("petugas_antrian", "nope", json!({}), &[], None)
            .unwrap_err(),
        CommandError::UnknownStep { .. }
    ));
    let version = case.state().version;
    assert_eq!(case.events.len() as u64, version, "refusals record nothing");

    let mut done = run_ktp_el_case(&sop, false, false).unwrap();
    assert_eq!(
        done.tick().unwrap_err(),
        CommandError::CaseClosed {
            status: "completed"
        }
    );
}

#[test]
fn only_the_print_operator_calls_from_the_queue() {
    let sop = ktp_el();
    let mut case = run_until(&sop, "tunggu_antrian");
    assert!(matches!(
        case.call("petugas_antrian", "cetak_ktp").unwrap_err(),
        CommandError::WrongRole { .. }
    ));
    assert_eq!(
        case.call("operator_cetak", "lain").unwrap_err(),
        CommandError::NotInQueue {
            queue: "lain".into()
        }
    );
    case.call("operator_cetak", "cetak_ktp").unwrap();
    assert_eq!(case.current(), "periksa_perekaman");
}

#[test]
fn a_time_budget_exceeded_is_recorded_once_per_step() {
    let sop = ktp_el();
    let mut case = Case::new(&sop);
    case.start(applicant("baru"), &["fotokopi_kk"]).unwrap();
    case.complete("petugas_antrian", "serahkan_berkas", json!({}), &[], None)
        .unwrap();
    let visit = case.state().visits.last().unwrap().clone();
    assert_eq!(
        visit.due_at,
        Some(visit.entered_at + std::time::Duration::from_secs(120)),
        "2 minutes for row 2"
    );
    case.advance_secs(119);
    case.tick().unwrap();
    assert!(
        !case.kinds().contains(&"time_budget_exceeded"),
        "not yet due"
    );
    case.advance_secs(2);
    case.tick().unwrap();
    case.advance_secs(60);
    case.tick().unwrap();
    let exceeded: Vec<_> = case
        .kinds()
        .into_iter()
        .filter(|k| *k == "time_budget_exceeded")
        .collect();
    assert_eq!(exceeded.len(), 1, "once per overdue step");
    assert!(case.state().is_overdue(case.now));
    case.advance_secs(12 * 60);
    case.tick().unwrap();
    assert!(
        case.kinds().contains(&"total_budget_exceeded"),
        "the SOP's 12 minutes ran out too"
    );
    assert_replays(&case);
}

#[test]
fn steps_of_one_row_share_its_budget_clock() {
    let sop = ktp_el();
    let case = run_until(&sop, "cetak_ktp");
    let periksa = case
        .state()
        .visits
        .iter()
        .find(|v| &*v.step == "periksa_perekaman")
        .unwrap()
        .clone();
    let cetak = case.state().visits.last().unwrap().clone();
    assert_eq!(&*cetak.step, "cetak_ktp");
    assert_eq!(cetak.budget_step.as_deref(), Some("periksa_perekaman"));
    assert_eq!(
        cetak.due_at, periksa.due_at,
        "printing runs on row 4's two minutes"
    );
}

#[test]
fn a_guard_that_fails_puts_the_case_into_an_incident() {
    let text = support::ktp_el_text().replace(
        "when: documents_complete",
        // Reads a field that is not set yet at this step: `!()` has no meaning in rhai.
        "when: documents_complete && !masalah_nik",
    );
    let sop = sopflow_engine::sop::load(&text)
        .expect("still a valid SOP: the error only shows at run time");
    let mut case = Case::new(&sop);
    case.start(applicant("baru"), &["fotokopi_kk"]).unwrap();
    case.complete("petugas_antrian", "serahkan_berkas", json!({}), &[], None)
        .unwrap();
    case.complete("petugas_antrian", "verifikasi_berkas", json!({}), &[], None)
        .unwrap();
    assert_eq!(case.state().status, CaseStatus::Incident);
    let reason = case.state().incident.clone().unwrap();
    assert!(reason.contains("!masalah_nik"), "{reason}");
    assert!(matches!(
        case.complete("petugas_antrian", "verifikasi_berkas", json!({}), &[], None)
            .unwrap_err(),
        CommandError::InIncident { .. }
    ));
    assert_replays(&case);
}

#[test]
fn an_adapter_failure_is_an_incident_and_a_resolution_retries_with_the_same_key() {
    let sop = ktp_el();
    let mut case = run_until(&sop, "cetak_ktp");
    let key = case.pending_key();
    case.run(
        "system",
        Command::RecordAdapterFailure {
            idempotency_key: key.clone(),
            reason: "printer offline".into(),
        },
    )
    .unwrap();
    assert_eq!(case.state().status, CaseStatus::Incident);
    case.effects.clear();
    case.run(
        "admin",
        Command::ResolveIncident {
            note: "printer back".into(),
        },
    )
    .unwrap();
    assert_eq!(case.state().status, CaseStatus::Open);
    assert!(
        matches!(&case.effects[..], [Effect::CallAdapter(call)] if call.idempotency_key == key)
    );
    case.adapter_result(None, Some("job-9")).unwrap();
    assert_eq!(case.current(), "validasi_ktp");
    assert_replays(&case);
}

#[test]
fn a_cancelled_case_accepts_nothing_more() {
    let sop = ktp_el();
    let mut case = run_until(&sop, "verifikasi_berkas");
    case.run(
        "admin",
        Command::Cancel {
            reason: "pemohon membatalkan".into(),
        },
    )
    .unwrap();
    assert_eq!(case.state().status, CaseStatus::Cancelled);
    assert_eq!(
        case.complete("petugas_antrian", "verifikasi_berkas", json!({}), &[], None)
            .unwrap_err(),
        CommandError::CaseClosed {
            status: "cancelled"
        }
    );
    assert_replays(&case);
}

#[test]
fn a_tampered_decision_is_caught_by_verification() {
    let sop = ktp_el();
    let mut case = run_ktp_el_case(&sop, true, false).unwrap();
    // The recording status rides in the check's completion (v2).
    let tampered = case
        .events
        .iter_mut()
        .flat_map(|e| {
            let seq = e.seq;
            e.facts_mut().map(move |f| (seq, f))
        })
        .find_map(|(seq, f)| match f {
            EventBody::StepCompleted { data, .. } if data.contains_key("status_perekaman") => {
                Some((seq, data))
            }
            _ => None,
        });
    let (seq, data) = tampered.unwrap();
    data.insert("status_perekaman".into(), json!("DUPLICATE_RECORD"));
    let divergence = verify(&sop, &case.events).unwrap_err();
    assert_eq!(
        divergence.seq, seq,
        "caught at the branch the data no longer supports, in the same event: {divergence}"
    );
    assert!(divergence.reason.contains("branch"), "{divergence}");
}

/// Every way a recorded guard evaluation can be altered is caught, also when the SOP
/// remembers the guard's result for the recorded values (replay then confirms a record
/// without evaluating it: the case below was decided, and verified once, before).
#[test]
fn an_altered_guard_record_is_caught_though_its_result_is_remembered() {
    let sop = ktp_el();
    let case = run_ktp_el_case(&sop, true, true).unwrap();
    assert_replays(&case);
    type Alter = fn(&mut Vec<sopflow_engine::case::GuardEvaluation>) -> bool;
    let alterations: [(&str, Alter); 5] = [
        ("the result", |e| {
            e.first_mut().map(|e| e.result = !e.result).is_some()
        }),
        ("a value read", |e| {
            let Some(v) = e.first_mut().and_then(|e| e.values.values_mut().next()) else {
                return false;
            };
            *v = json!("ALTERED");
            true
        }),
        ("a value dropped", |e| {
            let Some(e) = e.first_mut() else {
                return false;
            };
            let Some(name) = e.values.keys().next().cloned() else {
                return false;
            };
            e.values.remove(&name).is_some()
        }),
        ("the place", |e| {
            e.first_mut().map(|e| e.branch += 1).is_some()
        }),
        ("an evaluation dropped", |e| e.pop().is_some()),
    ];
    for (what, alter) in alterations {
        let mut events = case.events.clone();
        let altered = events.iter_mut().find_map(|e| {
            let seq = e.seq;
            e.facts_mut().find_map(|f| match f {
                EventBody::BranchTaken { evaluations, .. } => alter(evaluations).then_some(seq),
                _ => None,
            })
        });
        let seq = altered.expect("the case records guard evaluations");
        let divergence = verify(&sop, &events).expect_err(what);
        assert_eq!(divergence.seq, seq, "{what}: {divergence}");
    }
    // The data a record says a guard read, altered to a value whose result is remembered
    // too (the first check found a duplicate): the record no longer reads the case's value.
    let mut events = case.events.clone();
    let altered = events.iter_mut().rev().find_map(|e| {
        let seq = e.seq;
        e.facts_mut().find_map(|f| match f {
            EventBody::StepCompleted { data, .. }
                if data.get("status_perekaman") == Some(&json!("PRINT_READY_RECORD")) =>
            {
                data.insert("status_perekaman".into(), json!("DUPLICATE_RECORD"));
                Some(seq)
            }
            _ => None,
        })
    });
    let seq = altered.expect("the second check records the status");
    let divergence = verify(&sop, &events).expect_err("altered data");
    assert_eq!(divergence.seq, seq, "{divergence}");
    assert!(divergence.reason.contains("branch"), "{divergence}");
}

/// Runs the happy path until the case stands at `step`.
fn run_until<'a>(sop: &'a sopflow_engine::sop::Sop, step: &str) -> Case<'a> {
    let mut case = Case::new(sop);
    for stage in 0.. {
        if case.state.is_some() && case.current() == step {
            break;
        }
        let done = match stage {
            0 => case.start(applicant("baru"), &["fotokopi_kk"]),
            1 => case.complete("petugas_antrian", "serahkan_berkas", json!({}), &[], None),
            2 => case.complete("petugas_antrian", "verifikasi_berkas", json!({}), &[], None),
            3 => case.call("operator_cetak", "cetak_ktp"),
            4 => case.complete(
                "operator_cetak",
                "periksa_perekaman",
                json!({ "status_perekaman": "PRINT_READY_RECORD" }),
                &[],
                None,
            ),
            5 => case.adapter_result(None, Some("job-1")),
            _ => panic!("the happy path never reaches `{step}`"),
        };
        done.expect("happy path step");
    }
    case
}

#[test]
fn who_may_act_on_a_step_is_one_answer_of_the_sop() {
    let sop = ktp_el();
    let step = |id: &str| sop.step_index(id).unwrap();
    // The applicant's steps are recorded by the queue officer, the print operator's by itself.
    assert_eq!(sop.recorders(step("serahkan_berkas")), ["petugas_antrian"]);
    assert_eq!(sop.recorders(step("periksa_perekaman")), ["operator_cetak"]);
    // A queue step is acted on by those who call its queue.
    assert_eq!(sop.recorders(step("tunggu_antrian")), ["operator_cetak"]);
    assert!(sop.may_record(step("tunggu_antrian"), "operator_cetak"));
    assert!(!sop.may_record(step("tunggu_antrian"), "petugas_antrian"));
    assert!(!sop.may_record(step("serahkan_berkas"), "pemohon"));
}

#[test]
fn only_a_role_that_records_the_first_step_opens_a_case() {
    let sop = ktp_el();
    let mut case = Case::new(&sop);
    let refused = case
        .run(
            "operator_cetak",
            Command::Start {
                case_id: "case-1".into(),
                sop_version: 1,
                data: support::obj(applicant("baru")),
                documents: Vec::new(),
                service_point: None,
            },
        )
        .unwrap_err();
    assert_eq!(
        refused,
        CommandError::MayNotStart {
            role: "operator_cetak".into(),
            allowed: vec!["petugas_antrian".into()],
        }
    );
    assert!(case.state.is_none() && case.events.is_empty());
}

#[test]
fn replay_names_a_history_opened_by_a_role_that_may_not_open_it() {
    let sop = ktp_el();
    let mut case = run_ktp_el_case(&sop, false, false).unwrap();
    case.events[0].by = sopflow_engine::case::Actor::new("operator-1", "operator_cetak");
    let divergence = verify(&sop, &case.events).unwrap_err();
    assert_eq!(divergence.seq, 1);
    assert_eq!(
        divergence.reason,
        "case opened by role `operator_cetak`, which may not open it (allowed: petugas_antrian)"
    );
}

#[test]
fn replay_names_steps_recorded_or_called_by_roles_that_may_not() {
    let sop = ktp_el();
    let clean = run_ktp_el_case(&sop, false, false).unwrap();
    let seq_of = |kind: &str| clean.events.iter().position(|e| e.has(kind)).unwrap();
    // The applicant's hand-in, recorded in the print operator's name.
    let mut forged = clean.events.clone();
    let i = seq_of("step_completed");
    forged[i].by = sopflow_engine::case::Actor::new("operator-1", "operator_cetak");
    let divergence = verify(&sop, &forged).unwrap_err();
    assert_eq!(divergence.seq, forged[i].seq);
    assert!(
        divergence
            .reason
            .starts_with("`serahkan_berkas` recorded by role `operator_cetak`"),
        "{divergence}"
    );
    // The queue called by the queue officer, who may not call it.
    let mut forged = clean.events.clone();
    let i = seq_of("queue_called");
    forged[i].by = sopflow_engine::case::Actor::new("petugas-1", "petugas_antrian");
    let divergence = verify(&sop, &forged).unwrap_err();
    assert_eq!(divergence.seq, forged[i].seq);
    assert!(
        divergence
            .reason
            .starts_with("`tunggu_antrian` called by role `petugas_antrian`"),
        "{divergence}"
    );
}

#[test]
fn the_recording_check_is_refused_without_the_status_it_requires() {
    let sop = ktp_el();
    let mut case = run_until(&sop, "periksa_perekaman");
    let version = case.state().version;
    // Without the status the guards would send the applicant to the ADB by default.
    let refused = case
        .complete(
            "operator_cetak",
            "periksa_perekaman",
            json!({ "masalah_nik": false }),
            &[],
            None,
        )
        .unwrap_err();
    assert_eq!(
        refused,
        CommandError::MissingFields {
            step: "periksa_perekaman".into(),
            fields: vec!["status_perekaman".into()],
        }
    );
    assert_eq!(case.state().version, version, "nothing recorded");
    // A required field is also one the step may set.
    assert!(
        sop.settable(sop.step_index("periksa_perekaman").unwrap())
            .contains(&"status_perekaman".to_owned())
    );
    case.complete(
        "operator_cetak",
        "periksa_perekaman",
        json!({ "status_perekaman": "PRINT_READY_RECORD" }),
        &[],
        None,
    )
    .unwrap();
    assert_eq!(case.current(), "cetak_ktp");
    assert_replays(&case);
}

#[test]
fn replay_names_a_completion_without_a_required_field() {
    let sop = ktp_el();
    let mut case = run_ktp_el_case(&sop, false, false).unwrap();
    // Forge the recording check's data away: the completion no longer has its status.
    let i = case
        .events
        .iter()
        .position(|e| matches!(&e.body, EventBody::StepCompleted { step, .. } if &**step == "periksa_perekaman"))
        .unwrap();
    if let EventBody::StepCompleted { data, .. } = &mut case.events[i].body {
        assert!(
            data.remove("status_perekaman").is_some(),
            "recorded with it"
        );
    }
    let divergence = verify(&sop, &case.events).unwrap_err();
    assert_eq!(divergence.seq, case.events[i].seq);
    assert!(
        divergence.reason.contains("status_perekaman"),
        "{divergence}"
    );
}

#[test]
fn the_checklist_says_what_is_required_now_and_what_was_received() {
    use sopflow_engine::case::decide::{DocumentState, document_checklist};
    let sop = ktp_el();
    let step = sop.step_index("verifikasi_berkas").unwrap();
    let states = |alasan: &str, handed_in: &[&str]| {
        let mut case = Case::new(&sop);
        case.start(applicant(alasan), handed_in).unwrap();
        let state = case.state();
        document_checklist(&sop, step, &state.data, &state.documents)
            .unwrap()
            .into_iter()
            .map(|c| (c.doc.to_string(), c.state(), c.received))
            .collect::<Vec<_>>()
    };
    use DocumentState::*;
    // A first card: the old card and the police letter are not needed, and not received.
    assert_eq!(
        states("baru", &["fotokopi_kk"]),
        [
            ("fotokopi_kk".to_owned(), Received, true),
            ("ktp_lama".to_owned(), NotNeeded, false),
            ("surat_kehilangan".to_owned(), NotNeeded, false),
        ]
    );
    // A damaged card needs the old one; a letter handed in anyway is still not needed.
    assert_eq!(
        states("rusak", &["fotokopi_kk", "surat_kehilangan"]),
        [
            ("fotokopi_kk".to_owned(), Received, true),
            ("ktp_lama".to_owned(), Missing, false),
            ("surat_kehilangan".to_owned(), NotNeeded, true),
        ]
    );
}

#[test]
fn refusals_read_as_plain_sentences_naming_step_field_and_outcome() {
    let sop = ktp_el();
    let mut case = run_until(&sop, "tunggu_antrian");
    let mut refusals = vec![
        case.complete("operator_cetak", "tunggu_antrian", json!({}), &[], None)
            .unwrap_err(),
        case.complete("petugas_antrian", "verifikasi_berkas", json!({}), &[], None)
            .unwrap_err(),
        case.complete("operator_cetak", "serahkan_berkas", json!({}), &[], None)
            .unwrap_err(),
    ];
    case.call("operator_cetak", "cetak_ktp").unwrap();
    case.complete(
        "operator_cetak",
        "periksa_perekaman",
        json!({ "status_perekaman": "DUPLICATE_RECORD" }),
        &[],
        None,
    )
    .unwrap();
    // The ADB answers by hand, without an outcome, then with one the step does not know.
    let no_outcome = case
        .complete("adb", "konsultasi_adb", json!({}), &[], None)
        .unwrap_err();
    assert_eq!(
        no_outcome.to_string(),
        "step `konsultasi_adb` is completed with an outcome: one of `resolved`, `rejected`"
    );
    let unknown = case
        .complete("adb", "konsultasi_adb", json!({}), &[], Some("Lengkap"))
        .unwrap_err();
    assert_eq!(
        unknown.to_string(),
        "`Lengkap` is not an outcome of step `konsultasi_adb`: use one of `resolved`, `rejected`"
    );
    refusals.extend([no_outcome, unknown]);
    assert_eq!(
        refusals[0].to_string(),
        "step `tunggu_antrian` is a queue: the case leaves it when an operator calls its number"
    );
    assert_eq!(
        refusals[1].to_string(),
        "the case is at step `tunggu_antrian`, not at `verifikasi_berkas`"
    );
    for refusal in &refusals {
        let text = refusal.to_string();
        for debug in ["Some(", "None", "\"", "[", "{"] {
            assert!(!text.contains(debug), "Rust debug text in {text:?}");
        }
    }
}

#[test]
fn a_command_is_one_event_holding_its_facts_in_order() {
    let sop = ktp_el();
    let case = run_ktp_el_case(&sop, false, false).unwrap();
    let shape: Vec<Vec<&str>> = case
        .events
        .iter()
        .map(|e| e.facts().map(|f| f.kind()).collect())
        .collect();
    let entered = ["branch_taken", "step_entered"];
    let then = |first: &'static str, rest: &[&'static str]| {
        let mut v = vec![first];
        v.extend_from_slice(rest);
        v
    };
    assert_eq!(
        shape,
        [
            vec!["case_started", "step_entered"],
            then("step_completed", &entered),
            then("step_completed", &entered),
            vec!["queue_number_assigned"],
            then(
                "queue_called",
                &["step_completed", "branch_taken", "step_entered"]
            ),
            then(
                "step_completed",
                &["branch_taken", "step_entered", "adapter_requested"]
            ),
            then(
                "adapter_completed",
                &["step_completed", "branch_taken", "step_entered"]
            ),
            then("step_completed", &entered),
            then(
                "step_completed",
                &["branch_taken", "step_entered", "case_completed"]
            ),
        ]
    );
    assert!(case.events.iter().all(|e| e.v == 2));
    // The documents and data of a completion ride in it.
    assert!(matches!(
        &case.events[1].body,
        EventBody::StepCompleted { documents, .. } if documents.len() == 1
    ));
    assert!(matches!(
        &case.events[5].body,
        EventBody::StepCompleted { data, .. } if data["status_perekaman"] == "PRINT_READY_RECORD"
    ));
    // The stored JSON reads back as the same event.
    for event in &case.events {
        let text = serde_json::to_string(event).unwrap();
        let back: sopflow_engine::case::Event = serde_json::from_str(&text).unwrap();
        assert_eq!(&back, event, "{text}");
    }
}

#[test]
fn a_v1_history_still_folds_and_verifies_and_a_v2_event_continues_it() {
    let sop = ktp_el();
    let v2 = run_ktp_el_case(&sop, false, false).unwrap();
    // The same case in format v1: one fact per event, numbered in turn, the data and
    // documents of a completion in their own events before it, labels and guard text
    // copied in.
    let mut v1: Vec<sopflow_engine::case::Event> = Vec::new();
    for event in &v2.events {
        for fact in event.facts() {
            let mut parts = Vec::new();
            match fact.clone() {
                EventBody::StepCompleted {
                    step,
                    outcome,
                    missing_documents,
                    documents,
                    data,
                } => {
                    if !documents.is_empty() {
                        parts.push(EventBody::DocumentsRecorded {
                            step: step.clone(),
                            documents,
                        });
                    }
                    if !data.is_empty() {
                        parts.push(EventBody::DataRecorded {
                            step: step.clone(),
                            data,
                        });
                    }
                    parts.push(EventBody::StepCompleted {
                        step,
                        outcome,
                        missing_documents,
                        documents: Vec::new(),
                        data: Default::default(),
                    });
                }
                EventBody::BranchTaken {
                    from,
                    to,
                    branch,
                    mut evaluations,
                    ..
                } => {
                    let i = sop.step_index(&from).unwrap();
                    let branches = &sop.compiled(i).branches;
                    for e in &mut evaluations {
                        e.guard = branches[e.branch].guard.as_ref().unwrap().source.clone();
                    }
                    parts.push(EventBody::BranchTaken {
                        from,
                        to,
                        branch,
                        label: branches[branch].label.clone(),
                        evaluations,
                    });
                }
                other => parts.push(other),
            }
            for body in parts {
                let mut e = event.clone();
                e.v = 1;
                e.seq = v1.len() as u64 + 1;
                e.body = body;
                e.then.clear();
                v1.push(e);
            }
        }
    }
    assert_eq!(v1.len(), 31, "a straight case was 31 events in v1");
    let folded = CaseState::replay(&v1).unwrap();
    let verified = verify(&sop, &v1).unwrap();
    assert_eq!(folded, verified);
    let live = v2.state();
    assert_eq!(folded.status, live.status);
    assert_eq!(folded.data, live.data);
    assert_eq!(folded.documents, live.documents);
    assert_eq!(folded.visits, live.visits);
    // A tampered v1 guard text is still found.
    let mut forged = v1.clone();
    let b = forged
        .iter_mut()
        .find(|e| matches!(&e.body, EventBody::BranchTaken { evaluations, .. } if !evaluations.is_empty()))
        .unwrap();
    if let EventBody::BranchTaken { evaluations, .. } = &mut b.body {
        evaluations[0].guard = "true".into();
    }
    assert!(verify(&sop, &forged).is_err());
}
