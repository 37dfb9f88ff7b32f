//! Calling from counters on the KTP-el SOP: a number called to a counter, recalled, sent to
//! another counter, and put back at the end of its queue (with its number) or the case
//! cancelled when nobody comes; every history folds to the live state and verifies, and a
//! forged call does not.

// Helpers outside `#[test]` functions unwrap too: in tests a panic is a failed assertion.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use sopflow_engine::case::{
    CaseState, CaseStatus, Command, CommandError, EventBody, open_call, verify,
};
use support::{Case, applicant, ktp_el};

/// A KTP-el case waiting in the print queue with number A-001.
fn queued(sop: &sopflow_engine::sop::Sop) -> Case<'_> {
    let mut case = Case::new(sop);
    case.start(applicant("baru"), &["fotokopi_kk"]).unwrap();
    case.complete("petugas_antrian", "serahkan_berkas", json!({}), &[], None)
        .unwrap();
    case.complete("petugas_antrian", "verifikasi_berkas", json!({}), &[], None)
        .unwrap();
    assert_eq!(case.current(), "tunggu_antrian");
    assert_eq!(case.state().queue_number.as_deref(), Some("A-001"));
    case
}

fn call_to(case: &mut Case, counter: &str) -> Result<(), CommandError> {
    case.run(
        "operator_cetak",
        Command::CallFromQueue {
            queue: "cetak_ktp".into(),
            counter: Some(counter.into()),
        },
    )
}

fn no_show(case: &mut Case, limit: u32) -> Result<(), CommandError> {
    case.run(
        "operator_cetak",
        Command::NoShow {
            limit,
            reason: Some("dipanggil tiga kali".into()),
        },
    )
}

/// The history folds to the live state and verifies against the SOP.
fn consistent(case: &Case) {
    let folded = CaseState::replay(&case.events).unwrap();
    assert_eq!(&folded, case.state());
    let verified = verify(case.sop, &case.events).unwrap();
    assert_eq!(&verified, case.state());
    for e in &case.events {
        let text = serde_json::to_string(e).unwrap();
        assert_eq!(
            &serde_json::from_str::<sopflow_engine::case::Event>(&text).unwrap(),
            e
        );
    }
}

#[test]
fn a_number_is_called_to_a_counter_recalled_and_sent_to_another() {
    let sop = ktp_el();
    let mut case = queued(&sop);
    call_to(&mut case, "loket_3").unwrap();
    assert_eq!(case.current(), "periksa_perekaman");
    let call = case.state().call.clone().unwrap();
    assert_eq!(
        (call.number.as_str(), call.counter.as_deref()),
        ("A-001", Some("loket_3"))
    );
    assert!(open_call(&sop, case.state()).is_some());
    let called = case
        .events
        .iter()
        .rev()
        .flat_map(|e| e.facts().rev())
        .find_map(|f| match f {
            EventBody::QueueCalled {
                counter, number, ..
            } => Some((number.clone(), counter.clone())),
            _ => None,
        });
    assert_eq!(
        called,
        Some(("A-001".into(), Some("loket_3".into()))),
        "the counter is in the history"
    );

    case.run("operator_cetak", Command::Recall).unwrap();
    assert!(matches!(
        &case.events.last().unwrap().body,
        EventBody::QueueRecalled { number, counter, .. } if number == "A-001" && counter.as_deref() == Some("loket_3")
    ));
    assert_eq!(
        case.run(
            "operator_cetak",
            Command::Transfer {
                to: "loket_3".into()
            }
        ),
        Err(CommandError::SameCounter {
            counter: "loket_3".into()
        })
    );
    case.run(
        "operator_cetak",
        Command::Transfer {
            to: "loket_1".into(),
        },
    )
    .unwrap();
    assert_eq!(
        case.state().call.as_ref().unwrap().counter.as_deref(),
        Some("loket_1")
    );
    // Recalled where it is now.
    case.run("operator_cetak", Command::Recall).unwrap();
    assert!(matches!(
        &case.events.last().unwrap().body,
        EventBody::QueueRecalled { counter, .. } if counter.as_deref() == Some("loket_1")
    ));
    // Only who calls the queue does this.
    assert!(matches!(
        case.run("petugas_antrian", Command::Recall),
        Err(CommandError::WrongRole { .. })
    ));
    consistent(&case);

    // The applicant came: the work begins, and the call is over.
    case.complete(
        "operator_cetak",
        "periksa_perekaman",
        json!({ "status_perekaman": "PROCESSING", "masalah_nik": false }),
        &[],
        None,
    )
    .unwrap();
    assert_eq!(
        case.run("operator_cetak", Command::Recall),
        Err(CommandError::NoOpenCall)
    );
    assert_eq!(no_show(&mut case, 3), Err(CommandError::NoOpenCall));
    consistent(&case);
}

#[test]
fn nobody_comes_the_number_goes_back_to_the_end_of_the_queue_then_the_case_is_cancelled() {
    let sop = ktp_el();
    let mut case = queued(&sop);
    // Nothing is being called yet.
    assert_eq!(
        case.run("operator_cetak", Command::Recall),
        Err(CommandError::NoOpenCall)
    );
    for round in 1..=2u32 {
        case.advance_secs(60);
        call_to(&mut case, "loket_2").unwrap();
        case.advance_secs(30);
        no_show(&mut case, 3).unwrap();
        let state = case.state();
        assert_eq!(state.status, CaseStatus::Open);
        assert_eq!(case.current(), "tunggu_antrian", "back in the queue");
        assert_eq!(
            state.queue_number.as_deref(),
            Some("A-001"),
            "with the same number"
        );
        assert_eq!(state.no_shows, round);
        assert_eq!(state.call, None);
        let entered = state.visits.last().unwrap();
        assert_eq!(
            (&*entered.step, entered.entered_at),
            ("tunggu_antrian", case.now),
            "it entered the queue again now: at its end"
        );
        consistent(&case);
    }
    // The number held was not drawn again.
    let draws = case
        .effects
        .iter()
        .filter(|e| matches!(e, sopflow_engine::case::Effect::AssignQueueNumber { .. }))
        .count();
    assert_eq!(draws, 1);
    call_to(&mut case, "loket_2").unwrap();
    no_show(&mut case, 3).unwrap();
    let state = case.state();
    assert_eq!(state.status, CaseStatus::Cancelled);
    let reason = case
        .events
        .iter()
        .rev()
        .flat_map(|e| e.facts().rev())
        .find_map(|f| match f {
            EventBody::CaseCancelled { reason } => Some(reason.clone()),
            _ => None,
        });
    let reason = reason.unwrap();
    assert!(
        reason.contains("A-001")
            && reason.contains("3 no-shows")
            && reason.contains("dipanggil tiga kali"),
        "{reason}"
    );
    consistent(&case);
}

#[test]
fn with_no_limit_a_number_goes_back_as_often_as_nobody_comes() {
    let sop = ktp_el();
    let mut case = queued(&sop);
    for _ in 0..5 {
        call_to(&mut case, "loket_1").unwrap();
        no_show(&mut case, 0).unwrap();
    }
    assert_eq!(case.state().status, CaseStatus::Open);
    assert_eq!(case.state().no_shows, 5);
    consistent(&case);
}

#[test]
fn a_forged_call_does_not_verify() {
    let sop = ktp_el();
    let mut case = queued(&sop);
    call_to(&mut case, "loket_1").unwrap();
    case.run("operator_cetak", Command::Recall).unwrap();
    // A recall recorded at a counter the number was not called to.
    let mut forged = case.events.clone();
    if let EventBody::QueueRecalled { counter, .. } = &mut forged.last_mut().unwrap().body {
        *counter = Some("loket_9".into());
    }
    let err = verify(&sop, &forged).unwrap_err();
    assert!(err.reason.contains("loket_9"), "{err}");
    // A no-show recorded after the work began.
    case.complete(
        "operator_cetak",
        "periksa_perekaman",
        json!({ "status_perekaman": "PROCESSING", "masalah_nik": false }),
        &[],
        None,
    )
    .unwrap();
    let mut forged = case.events.clone();
    let last = forged.last().unwrap().clone();
    let mut extra = last.clone();
    extra.seq = last.seq + 1;
    extra.then.clear();
    extra.body = EventBody::QueueNoShow {
        step: "tunggu_antrian".into(),
        queue: "cetak_ktp".into(),
        number: "A-001".into(),
        counter: Some("loket_1".into()),
        no_shows: 1,
        limit: 3,
    };
    forged.push(extra);
    let err = verify(&sop, &forged).unwrap_err();
    assert!(err.reason.contains("not being called"), "{err}");
}
