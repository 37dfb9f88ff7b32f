//! Service steps ask their adapters for what the SOP says: the `request` fields, a print
//! step's printout filled with the case's values (the one it declares, or its request on an
//! A4 page), a consultation's problem text; nothing of any particular SOP is assumed.

// Helpers outside `#[test]` functions unwrap too: in tests a panic is a failed assertion.
#![allow(clippy::unwrap_used)]

mod support;

use serde_json::json;
use sopflow_engine::case::decide::{AdapterCall, pending_call};
use sopflow_engine::case::{CaseStatus, Command, Effect, EventBody, verify};
use sopflow_engine::sop::model::PrintLayout;
use sopflow_engine::sop::{self, Sop};
use support::{Case, ktp_el, run_ktp_el_case};

/// A birth certificate office: the registrar records the child, a certificate is printed on
/// A4, then a second desk is consulted.
const AKTA: &str = r#"
schema_version: 1
id: akta-uji
header:
  government: PEMERINTAH KAB. CONTOH
  unit: DINAS CONTOH
  number: 2/SOP/2024
  title: Akta Kelahiran (uji)
  dates: {}
  approver: { title: Kepala Dinas, name: CONTOH }
actors:
  - { id: registrar, name: Petugas Registrasi }
  - { id: verifikator, name: Verifikator }
adapters:
  - { id: printer_akta, kind: card_printer, name: Printer akta }
  - { id: printer_lain, kind: card_printer, name: Printer lain }
  - { id: meja, kind: consultation, name: Meja konsultasi }
case_schema:
  type: object
  properties:
    nama_anak: { type: string, title: Nama anak }
    tanggal_lahir: { type: string }
    berat_gram: { type: integer }
    kembar: { type: boolean }
start: catat
steps:
  - id: catat
    row: 1
    kind: task
    name: Catat kelahiran
    actor: registrar
    collects: [nama_anak, tanggal_lahir, berat_gram, kembar]
    next: cetak_akta
  - id: cetak_akta
    row: 2
    kind: service
    name: Cetak akta
    actor: registrar
    adapter: printer_akta
    request: [nama_anak]
    printout:
      layout: a4_document
      title: KUTIPAN AKTA KELAHIRAN
      fields:
        - { field: nama_anak, label: Nama }
        - { field: tanggal_lahir, label: Lahir pada tanggal }
        - { field: berat_gram, label: Berat (gram) }
    next: cetak_salinan
  - id: cetak_salinan
    row: 2
    kind: service
    name: Salinan register
    actor: registrar
    adapter: printer_lain
    request: [nama_anak, tanggal_lahir]
    next: konsultasi
  - id: konsultasi
    row: 3
    kind: service
    name: Konsultasi
    actor: verifikator
    adapter: meja
    request: [kembar]
    problem:
      - when: kembar == true
        text: kelahiran_kembar
      # Arithmetic on an unset field fails (a comparison alone would be false).
      - when: berat_gram - 2500 < 0
        text: berat_rendah
    next: selesai
  - { id: selesai, row: 3, kind: end, name: Selesai, actor: registrar }
"#;

fn akta() -> Sop {
    sop::load(AKTA).unwrap_or_else(|p| panic!("{p:?}"))
}

fn open(case: &mut Case) {
    case.run(
        "registrar",
        Command::Start {
            case_id: "case-1".into(),
            sop_version: 1,
            data: support::obj(json!({})),
            documents: Vec::new(),
            service_point: None,
        },
    )
    .unwrap();
}

fn calls(case: &Case) -> Vec<AdapterCall> {
    case.effects
        .iter()
        .filter_map(|e| match e {
            Effect::CallAdapter(call) => Some(call.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn the_ktp_el_card_and_consultation_come_from_the_sop() {
    let sop = ktp_el();
    let case = run_ktp_el_case(&sop, false, true).unwrap();
    let calls = calls(&case);
    let consult = calls
        .iter()
        .find(|c| c.adapter == "konsultasi_adb")
        .unwrap();
    assert_eq!(consult.problem.as_deref(), Some("duplicate_record"));
    assert_eq!(consult.step, "konsultasi_adb");
    assert_eq!(consult.case_id, "case-1");
    assert_eq!(consult.sop_id, "ktp-el");
    let print = calls.iter().find(|c| c.adapter == "printer_ktp").unwrap();
    let printout = print
        .printout
        .as_ref()
        .expect("a print step carries its printout");
    assert_eq!(printout.layout, PrintLayout::Id1Card);
    assert_eq!(printout.title, "REPUBLIK INDONESIA");
    let lines: Vec<(&str, &str)> = printout
        .lines
        .iter()
        .map(|l| (l.label.as_str(), l.value.as_str()))
        .collect();
    assert_eq!(
        lines,
        [("NIK", "1312990101900001"), ("Nama", "Contoh Pemohon")]
    );
    assert!(printout.missing.is_empty());
    assert_eq!(print.request["nik"], json!("1312990101900001"));
    assert!(consult.printout.is_none() && print.problem.is_none());
}

#[test]
fn another_sop_prints_other_fields_on_a4_and_says_what_it_lacks() {
    let sop = akta();
    let mut case = Case::new(&sop);
    open(&mut case);
    case.complete(
        "registrar",
        "catat",
        json!({ "nama_anak": "PUTRI CONTOH", "berat_gram": 3100 }),
        &[],
        None,
    )
    .unwrap();
    let call = calls(&case).pop().unwrap();
    assert_eq!(call.step, "cetak_akta");
    assert_eq!(call.idempotency_key, "case-1:cetak_akta:1");
    assert_eq!(
        call.request,
        support::obj(json!({ "nama_anak": "PUTRI CONTOH" }))
    );
    let printout = call.printout.unwrap();
    assert_eq!(printout.layout, PrintLayout::A4Document);
    assert_eq!(printout.title, "KUTIPAN AKTA KELAHIRAN");
    let values: Vec<&str> = printout.lines.iter().map(|l| l.value.as_str()).collect();
    // Numbers print as written; a field the case lacks is named, never guessed.
    assert_eq!(values, ["PUTRI CONTOH", "", "3100"]);
    assert_eq!(printout.missing, ["tanggal_lahir"]);

    // A print step without a printout prints its request, labelled by the case schema's
    // titles (or the field names), on an A4 page titled with the step's name.
    case.adapter_result(None, Some("job-1")).unwrap();
    let call = calls(&case).pop().unwrap();
    assert_eq!(call.step, "cetak_salinan");
    let printout = call.printout.unwrap();
    assert_eq!(printout.layout, PrintLayout::A4Document);
    assert_eq!(printout.title, "Salinan register");
    let labels: Vec<&str> = printout.lines.iter().map(|l| l.label.as_str()).collect();
    assert_eq!(labels, ["Nama anak", "tanggal_lahir"]);
    let replayed = verify(&sop, &case.events).unwrap();
    assert_eq!(&replayed, case.state());
}

#[test]
fn a_consultation_problem_is_the_first_text_whose_condition_holds_or_none() {
    let sop = akta();
    for (data, problem) in [
        (
            json!({ "kembar": true, "berat_gram": 2000 }),
            Some("kelahiran_kembar"),
        ),
        (
            json!({ "kembar": false, "berat_gram": 2000 }),
            Some("berat_rendah"),
        ),
        (json!({ "kembar": false, "berat_gram": 3000 }), None),
    ] {
        let mut case = Case::new(&sop);
        open(&mut case);
        case.complete("registrar", "catat", data, &[], None)
            .unwrap();
        case.adapter_result(None, Some("job-1")).unwrap();
        case.adapter_result(None, Some("job-2")).unwrap();
        let call = calls(&case).pop().unwrap();
        assert_eq!(call.step, "konsultasi");
        assert_eq!(call.problem.as_deref(), problem);
        assert!(call.printout.is_none());
        // The dispatcher of an older stored call asks the engine for the same call.
        let again = pending_call(&sop, case.state()).unwrap().unwrap();
        assert_eq!(again, call);
    }
}

#[test]
fn a_problem_condition_that_fails_is_an_incident_and_resolving_it_asks_again() {
    let sop = akta();
    let mut case = Case::new(&sop);
    open(&mut case);
    // `berat_gram` unset: `() - 2500` fails in rhai.
    case.complete("registrar", "catat", json!({ "kembar": false }), &[], None)
        .unwrap();
    case.adapter_result(None, Some("job-1")).unwrap();
    case.effects.clear();
    case.adapter_result(None, Some("job-2")).unwrap();
    assert_eq!(case.current(), "konsultasi");
    assert_eq!(case.state().status, CaseStatus::Incident);
    assert!(case.state().pending_request.is_none());
    assert!(calls(&case).is_empty(), "nothing is sent on a guess");
    // Resolved: the request is made (and fails again here, as the data is unchanged).
    case.run(
        "verifikator",
        Command::ResolveIncident {
            note: "checked".into(),
        },
    )
    .unwrap();
    assert_eq!(case.state().status, CaseStatus::Incident);
    let replayed = verify(&sop, &case.events).unwrap();
    assert_eq!(&replayed, case.state());
    assert!(
        case.events
            .iter()
            .flat_map(|e| e.facts())
            .filter(|f| matches!(f, EventBody::IncidentRaised { .. }))
            .count()
            == 2
    );
}
