//! Adapters end to end: the outbox dispatcher delivering KTP-el prints and ADB consultations to
//! real peers (ippeveprinter, an HTTP desk on a socket that answers on the signed callback),
//! retries, incidents and an admin's retry. In-process service on a real socket, on SQLite and
//! (when configured) PostgreSQL.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::Duration;

use axum::http::StatusCode;
use serde_json::{Value, json};
use sopflow::serve::Config;
use sopflow_core::adapters::{AdapterConfig, DispatchConfig};
use sopflow_core::dispatch::Dispatcher;
use sopflow_engine::sop::Duration as SopDuration;
use support::peers::{Desk, DeskStep, Printer, PrinterOptions, free_port, ipp_enabled};
use support::{Api, Backend, Reply};

const SECRET: &str = "rahasia-desk-adb-0123456789";

/// One test per scenario and backend, each with its own configuration.
macro_rules! adapter_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { $crate::$name($crate::Backend::Sqlite).await }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { $crate::$name($crate::Backend::Postgres).await }
            )*
        }
    };
}

adapter_tests!(
    a_ktp_el_case_prints_on_a_real_printer_and_consults_a_real_desk,
    the_default_folder_printer_prints_one_pdf_per_card,
    another_sop_prints_its_own_fields_on_a4_with_no_code_for_it,
    an_offline_printer_becomes_an_incident_that_an_admin_retries,
    a_printer_that_never_answers_is_not_printed_on_twice,
    a_slow_printer_is_followed_to_completion_not_printed_again,
    a_printer_rejecting_the_job_is_an_incident_at_once,
    a_desk_failing_then_stalling_gets_the_request_and_answers_once,
    callbacks_must_be_signed_fresh_and_known,
);

/// A service on a real socket with its dispatcher running; dropped at the end of the test.
struct Running {
    api: Api,
    base: String,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    admin: String,
    petugas: String,
    operator: String,
    auditor: String,
}

impl Running {
    async fn start(
        backend: Backend,
        adapters: Vec<(&str, AdapterConfig)>,
        policy: DispatchConfig,
    ) -> Option<Running> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let api = Api::start_with(backend, |config: &mut Config| {
            for (id, adapter) in adapters {
                config.adapters.insert(id.to_owned(), adapter);
            }
            config.dispatch = policy.clone();
        })
        .await?;
        let app = api.app.clone();
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let dispatcher = Dispatcher::new(
            api.service.runtime.clone(),
            api.service.state.adapters.clone(),
            policy,
            "test-dispatcher".into(),
            base.clone(),
        );
        let dispatch = tokio::spawn(dispatcher.run());
        Some(Running {
            admin: api.user("admin", "admin").await,
            petugas: api.user("petugas", "petugas_antrian").await,
            operator: api.user("operator", "operator_cetak").await,
            auditor: api.user("auditor", "auditor").await,
            api,
            base,
            tasks: vec![server, dispatch],
        })
    }

    async fn finish(self) {
        for t in &self.tasks {
            t.abort();
        }
        self.api.finish().await;
    }

    async fn complete(&self, token: &str, case: &str, step: &str, body: Value) -> Value {
        let r = self
            .api
            .post(&format!("/cases/{case}/steps/{step}/complete"), token, body)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{step}: {}", r.text);
        r.body
    }

    /// Opens a case and takes it to `periksa_perekaman` (called from the queue).
    async fn case_at_check(&self) -> String {
        let r = self
            .api
            .post(
                "/cases",
                &self.petugas,
                json!({ "sop_id": "ktp-el", "data": { "nik": "1312990101900007", "nama_lengkap": "Contoh Pemohon", "alasan": "baru" }, "documents": [{ "type": "fotokopi_kk" }] }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let case = r.body["case_id"].as_str().unwrap().to_owned();
        self.complete(&self.petugas, &case, "serahkan_berkas", json!({}))
            .await;
        self.complete(&self.petugas, &case, "verifikasi_berkas", json!({}))
            .await;
        let r = self
            .api
            .post("/queues/cetak_ktp/call-next", &self.operator, json!({}))
            .await;
        assert_eq!(
            r.body["current_step"]["id"], "periksa_perekaman",
            "{}",
            r.text
        );
        case
    }

    /// Records a clean recording status: the case goes to `cetak_ktp`, and so to the printer.
    async fn send_to_printer(&self, case: &str) {
        let body = self
            .complete(
                &self.operator,
                case,
                "periksa_perekaman",
                json!({ "data": { "status_perekaman": "PRINT_READY_RECORD", "masalah_nik": false } }),
            )
            .await;
        assert_eq!(body["current_step"]["id"], "cetak_ktp");
    }

    /// Records a duplicate record: the case goes to `konsultasi_adb`, and so to the desk.
    async fn send_to_adb(&self, case: &str) {
        let body = self
            .complete(
                &self.operator,
                case,
                "periksa_perekaman",
                json!({ "data": { "status_perekaman": "DUPLICATE_RECORD", "masalah_nik": false } }),
            )
            .await;
        assert_eq!(body["current_step"]["id"], "konsultasi_adb");
    }

    async fn case(&self, case: &str) -> Value {
        self.api
            .get(&format!("/cases/{case}"), &self.auditor)
            .await
            .body
    }

    /// Polls the case until `done` holds (the dispatcher works in the background).
    async fn wait_case(&self, case: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
        loop {
            let body = self.case(case).await;
            if done(&body) {
                return body;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "waited 45 s for {what}; the case: {body}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The incidents list once it holds `n` rows: the dispatcher raises the case's incident
    /// first and parks the outbox row just after.
    async fn wait_incidents(&self, n: usize) -> Reply {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(45);
        loop {
            let r = self.incidents(&self.auditor).await;
            if r.status != StatusCode::OK || r.body.as_array().is_some_and(|l| l.len() >= n) {
                return r;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "waited 45 s for {n} incidents: {}",
                r.text
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn wait_step(&self, case: &str, step: &str) -> Value {
        self.wait_case(case, &format!("step {step}"), |b| {
            b["current_step"]["id"] == step
        })
        .await
    }

    async fn history(&self, case: &str) -> Vec<Value> {
        let r = self
            .api
            .get(&format!("/cases/{case}/history"), &self.auditor)
            .await;
        r.body.as_array().unwrap().clone()
    }

    async fn incidents(&self, token: &str) -> support::Reply {
        self.api.get("/incidents", token).await
    }
}

fn fast_policy(max_attempts: u32) -> DispatchConfig {
    DispatchConfig {
        max_attempts,
        first_retry: SopDuration::from_secs(1),
        max_retry: SopDuration::from_secs(2),
        lease: SopDuration::from_secs(30),
        concurrency: 4,
    }
}

fn ipp(uri: &str, completion_wait: u64, request_timeout: u64) -> AdapterConfig {
    AdapterConfig::Ipp {
        uri: uri.to_owned(),
        completion_wait: SopDuration::from_secs(completion_wait),
        request_timeout: SopDuration::from_secs(request_timeout),
    }
}

fn webhook(desk: &Desk, timeout: u64) -> AdapterConfig {
    AdapterConfig::Webhook {
        url: desk.url.clone(),
        secret: Some(SECRET.to_owned()),
        secret_env: None,
        request_timeout: SopDuration::from_secs(timeout),
    }
}

fn count(events: &[Value], kind: &str) -> usize {
    support::facts(events)
        .iter()
        .filter(|e| e["type"] == kind)
        .count()
}

/// The whole KTP-el path through both adapters: a duplicate record goes to the ADB desk over a
/// signed webhook, the desk answers `resolved` on the callback, the record is checked again,
/// and the card is printed by the real printer, once, with the applicant's data.
async fn a_ktp_el_case_prints_on_a_real_printer_and_consults_a_real_desk(backend: Backend) {
    if !ipp_enabled("a_ktp_el_case_prints_on_a_real_printer_and_consults_a_real_desk") {
        return;
    }
    let printer = Printer::start(PrinterOptions::default());
    let desk = Desk::start(SECRET, "resolved", vec![]).await;
    let Some(run) = Running::start(
        backend,
        vec![
            ("printer_ktp", ipp(&printer.uri, 30, 10)),
            ("konsultasi_adb", webhook(&desk, 5)),
        ],
        fast_policy(3),
    )
    .await
    else {
        return;
    };
    let case = run.case_at_check().await;
    run.send_to_adb(&case).await;

    // The desk gets the consultation, answers on the callback, and the case checks again.
    run.wait_step(&case, "periksa_perekaman").await;
    let received = desk.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let request = &received[0];
    assert!(
        request.signed,
        "the request is signed with the shared secret"
    );
    assert_eq!(request.idempotency_key, format!("{case}:konsultasi_adb:1"));
    assert_eq!(request.body["problem"], "duplicate_record");
    assert_eq!(request.body["case_id"], case.as_str());
    assert_eq!(request.body["request"]["nik"], "1312990101900007");
    assert_eq!(
        request.body["callback"],
        format!("{}/callbacks/konsultasi_adb", run.base)
    );
    assert_eq!(desk.answered(), vec![request.idempotency_key.clone()]);

    run.send_to_printer(&case).await;
    let done = run.wait_step(&case, "validasi_ktp").await;
    assert_eq!(done["status"], "open");

    let documents = printer.documents();
    assert_eq!(documents.len(), 1, "one card printed");
    // The card ktp-el.yaml's printout describes, with the case's values.
    let line = |label: &str, value: &str| sopflow_effects::PrintLine {
        label: label.into(),
        value: value.into(),
    };
    let expected = sopflow_effects::pdf::render(&sopflow_effects::PrintDocument {
        layout: sopflow_effects::Layout::Id1Card,
        title: "REPUBLIK INDONESIA".into(),
        lines: vec![
            line("NIK", "1312990101900007"),
            line("Nama", "Contoh Pemohon"),
        ],
    })
    .unwrap();
    assert_eq!(
        documents[0], expected,
        "the printer got the card with the case's data"
    );

    let events = run.history(&case).await;
    let all_facts = support::facts(&events);
    let completed: Vec<&Value> = all_facts
        .iter()
        .filter(|e| e["type"] == "adapter_completed")
        .collect();
    assert_eq!(completed.len(), 2, "one answer per request");
    assert_eq!(completed[0]["event"]["outcome"], "resolved");
    assert_eq!(completed[0]["user"], "callback:konsultasi_adb");
    assert_eq!(completed[0]["event"]["reference"], "ADB-2026-0001");
    assert_eq!(completed[1]["user"], "adapter:printer_ktp");
    assert!(
        completed[1]["event"]["reference"]
            .as_str()
            .unwrap()
            .starts_with("job "),
        "the print job id is recorded: {}",
        completed[1]
    );
    run.finish().await;
}

/// With no printer configured, cards go to the prints folder: one PDF per card, named by key.
async fn the_default_folder_printer_prints_one_pdf_per_card(backend: Backend) {
    let Some(run) = Running::start(backend, vec![], fast_policy(3)).await else {
        return;
    };
    let case = run.case_at_check().await;
    run.send_to_printer(&case).await;
    run.wait_step(&case, "validasi_ktp").await;
    let prints = run.api.definitions.path().join("prints");
    let mut files: Vec<_> = std::fs::read_dir(&prints)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    // Portable names: the key's `:` is `+` (SMB shares and Windows refuse `:`); the card is
    // written in the hidden staging folder first, which is left empty.
    assert_eq!(
        files,
        vec![
            sopflow_effects::STAGING.to_owned(),
            format!("{case}+cetak_ktp+1.pdf")
        ]
    );
    assert_eq!(
        std::fs::read_dir(prints.join(sopflow_effects::STAGING))
            .unwrap()
            .count(),
        0
    );
    let pdf = std::fs::read(prints.join(format!("{case}+cetak_ktp+1.pdf"))).unwrap();
    assert!(pdf.starts_with(b"%PDF"));
    run.finish().await;
}

/// A birth-certificate SOP written for this test: its print step sends other fields, on
/// another layout, through the same dispatcher and folder printer; a case lacking a printed
/// field becomes an incident naming the field, never a half-printed certificate.
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
adapters:
  - { id: printer_akta, kind: card_printer, name: Printer akta }
case_schema:
  type: object
  properties:
    nama_anak: { type: string, x-personal: true }
    tempat_lahir: { type: string }
start: catat
steps:
  - id: catat
    row: 1
    kind: task
    name: Catat kelahiran
    actor: registrar
    collects: [nama_anak, tempat_lahir]
    requires: [tempat_lahir]
    next: cetak_akta
  - id: cetak_akta
    row: 2
    kind: service
    name: Cetak akta
    actor: registrar
    adapter: printer_akta
    printout:
      layout: a4_document
      title: KUTIPAN AKTA KELAHIRAN
      fields:
        - { field: nama_anak, label: Nama }
        - { field: tempat_lahir, label: Tempat lahir }
    next: serahkan
  - { id: serahkan, row: 3, kind: task, name: Serahkan akta, actor: registrar, next: selesai }
  - { id: selesai, row: 3, kind: end, name: Selesai, actor: registrar }
"#;

async fn another_sop_prints_its_own_fields_on_a4_with_no_code_for_it(backend: Backend) {
    let Some(run) = Running::start(backend, vec![], fast_policy(1)).await else {
        return;
    };
    std::fs::write(run.api.definitions.path().join("akta-uji.yaml"), AKTA).unwrap();
    let runtime = &run.api.service.runtime;
    let refused = runtime
        .registry
        .sync_dir(&runtime.store, run.api.definitions.path())
        .await;
    assert!(refused.is_empty(), "{refused:?}");
    let registrar = run.api.user("registrar", "registrar").await;
    let open = |data: Value| {
        let api = &run.api;
        let registrar = registrar.clone();
        async move {
            let r = api
                .post(
                    "/cases",
                    &registrar,
                    json!({ "sop_id": "akta-uji", "data": data }),
                )
                .await;
            assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
            r.body["case_id"].as_str().unwrap().to_owned()
        }
    };

    let case = open(json!({})).await;
    run.complete(
        &registrar,
        &case,
        "catat",
        json!({ "data": { "nama_anak": "PUTRI CONTOH", "tempat_lahir": "Simpang Empat" } }),
    )
    .await;
    run.wait_step(&case, "serahkan").await;
    let prints = run.api.definitions.path().join("prints");
    let file = prints.join(format!("{case}+cetak_akta+1.pdf"));
    let pdf = std::fs::read(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let line = |label: &str, value: &str| sopflow_effects::PrintLine {
        label: label.into(),
        value: value.into(),
    };
    let expected = sopflow_effects::pdf::render(&sopflow_effects::PrintDocument {
        layout: sopflow_effects::Layout::A4Document,
        title: "KUTIPAN AKTA KELAHIRAN".into(),
        lines: vec![
            line("Nama", "PUTRI CONTOH"),
            line("Tempat lahir", "Simpang Empat"),
        ],
    })
    .unwrap();
    assert_eq!(
        pdf, expected,
        "the printer got the SOP's printout with the case's values"
    );

    // No child's name: nothing is printed, and the incident says which field is lacking.
    let lacking = open(json!({})).await;
    run.complete(
        &registrar,
        &lacking,
        "catat",
        json!({ "data": { "tempat_lahir": "Simpang Empat" } }),
    )
    .await;
    let stopped = run
        .wait_case(&lacking, "an incident", |b| b["status"] == "incident")
        .await;
    let reason = stopped["incident"].as_str().unwrap();
    assert!(reason.contains("nama_anak"), "{reason}");
    assert!(!prints.join(format!("{lacking}+cetak_akta+1.pdf")).exists());
    run.finish().await;
}

/// Nothing listens where the printer should be: retried with backoff, then an incident that
/// admins (and auditors) see; an admin's retry queues it again with fresh attempts, and once the
/// printer is there (when ippeveprinter is available) the card is printed, once.
async fn an_offline_printer_becomes_an_incident_that_an_admin_retries(backend: Backend) {
    let port = free_port();
    let uri = format!("ipp://127.0.0.1:{port}/ipp/print");
    let Some(run) = Running::start(
        backend,
        vec![("printer_ktp", ipp(&uri, 30, 2))],
        fast_policy(2),
    )
    .await
    else {
        return;
    };
    let case = run.case_at_check().await;
    run.send_to_printer(&case).await;
    let body = run
        .wait_case(&case, "the incident", |b| b["status"] == "incident")
        .await;
    assert_eq!(body["current_step"]["id"], "cetak_ktp");

    let r = run.incidents(&run.operator).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = run.wait_incidents(1).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let list = r.body.as_array().unwrap();
    assert_eq!(list.len(), 1, "{}", r.text);
    assert_eq!(list[0]["case_id"], case.as_str());
    assert_eq!(list[0]["adapter"], "printer_ktp");
    assert_eq!(list[0]["step"], "cetak_ktp");
    assert_eq!(list[0]["attempts"], 2);
    let error = list[0]["last_error"].as_str().unwrap();
    assert!(error.contains("unreachable"), "{error}");
    assert!(!error.contains("1312990101900007"), "no personal data");
    let id = list[0]["id"].as_i64().unwrap();

    let events = run.history(&case).await;
    assert_eq!(count(&events, "incident_raised"), 1);

    let r = run
        .api
        .post(
            &format!("/incidents/{id}/retry"),
            &run.operator,
            json!({ "reason": "x" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let r = run
        .api
        .post(
            &format!("/incidents/{}/retry", id + 1000),
            &run.admin,
            json!({ "reason": "x" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);

    let printer = ipp_enabled("the printer coming back after an incident").then(|| {
        Printer::start(PrinterOptions {
            port: Some(port),
            ..Default::default()
        })
    });
    let r = run
        .api
        .post(
            &format!("/incidents/{id}/retry"),
            &run.admin,
            json!({ "reason": "printer switched on" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["status"], "open");
    assert!(
        run.incidents(&run.admin)
            .await
            .body
            .as_array()
            .unwrap()
            .is_empty()
    );
    let events = run.history(&case).await;
    assert_eq!(count(&events, "incident_resolved"), 1);
    assert!(
        support::facts(&events)
            .iter()
            .any(|e| e["type"] == "incident_resolved" && e["user"] == "admin"),
        "who retried is recorded"
    );

    match printer {
        Some(printer) => {
            run.wait_step(&case, "validasi_ktp").await;
            assert_eq!(printer.documents().len(), 1, "one card");
        }
        None => {
            // Still offline: fresh attempts, then an incident again.
            run.wait_case(&case, "the second incident", |b| b["status"] == "incident")
                .await;
            let list = run.incidents(&run.admin).await.body;
            assert_eq!(list[0]["attempts"], 2, "the retry started the count again");
            assert_eq!(count(&run.history(&case).await, "incident_raised"), 2);
        }
    }
    run.finish().await;
}

/// A printer that takes the connection and never answers: the first attempt times out (the job
/// may have arrived), so the second only looks it up, and when the printer cannot tell, a person
/// decides: an incident, not a second print.
async fn a_printer_that_never_answers_is_not_printed_on_twice(backend: Backend) {
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let held = accepted.clone();
    std::thread::spawn(move || {
        for stream in silent.incoming().flatten() {
            held.lock().unwrap().push(stream);
        }
    });
    let uri = format!("ipp://127.0.0.1:{port}/ipp/print");
    let Some(run) = Running::start(
        backend,
        vec![("printer_ktp", ipp(&uri, 30, 1))],
        fast_policy(3),
    )
    .await
    else {
        return;
    };
    let case = run.case_at_check().await;
    run.send_to_printer(&case).await;
    run.wait_case(&case, "the incident", |b| b["status"] == "incident")
        .await;
    let list = run.incidents(&run.admin).await.body;
    let error = list[0]["last_error"].as_str().unwrap().to_owned();
    assert!(error.contains("did not answer"), "{error}");
    assert!(
        list[0]["attempts"].as_i64().unwrap() <= 3,
        "given up within the configured attempts: {list}"
    );
    run.finish().await;
}

/// A printer that takes its time: the print is followed until the wait runs out, then looked
/// up (never submitted again) until it completes. One job.
async fn a_slow_printer_is_followed_to_completion_not_printed_again(backend: Backend) {
    if !ipp_enabled("a_slow_printer_is_followed_to_completion_not_printed_again") {
        return;
    }
    let printer = Printer::start(PrinterOptions {
        slow_seconds: Some(4),
        ..Default::default()
    });
    let Some(run) = Running::start(
        backend,
        vec![("printer_ktp", ipp(&printer.uri, 1, 5))],
        fast_policy(10),
    )
    .await
    else {
        return;
    };
    let case = run.case_at_check().await;
    run.send_to_printer(&case).await;
    run.wait_step(&case, "validasi_ktp").await;
    assert_eq!(
        printer.documents().len(),
        1,
        "one job, however often we asked"
    );
    run.finish().await;
}

/// The printer refuses the document (it takes no PDF): no retry helps, an incident at once.
async fn a_printer_rejecting_the_job_is_an_incident_at_once(backend: Backend) {
    if !ipp_enabled("a_printer_rejecting_the_job_is_an_incident_at_once") {
        return;
    }
    let printer = Printer::start(PrinterOptions {
        formats: Some("image/pwg-raster"),
        ..Default::default()
    });
    let Some(run) = Running::start(
        backend,
        vec![("printer_ktp", ipp(&printer.uri, 10, 5))],
        fast_policy(5),
    )
    .await
    else {
        return;
    };
    let case = run.case_at_check().await;
    run.send_to_printer(&case).await;
    run.wait_case(&case, "the incident", |b| b["status"] == "incident")
        .await;
    let list = run.incidents(&run.admin).await.body;
    assert_eq!(list[0]["attempts"], 1, "not retried: {list}");
    assert!(
        list[0]["last_error"].as_str().unwrap().contains("rejected"),
        "{list}"
    );
    assert!(printer.documents().is_empty());
    run.finish().await;
}

/// The desk answers 500, then stalls past the timeout, then takes the request: three
/// deliveries under one idempotency key, one answer, recorded once.
async fn a_desk_failing_then_stalling_gets_the_request_and_answers_once(backend: Backend) {
    let desk = Desk::start(
        SECRET,
        "rejected",
        vec![DeskStep::Fail(500), DeskStep::Stall(Duration::from_secs(3))],
    )
    .await;
    let Some(run) = Running::start(
        backend,
        vec![("konsultasi_adb", webhook(&desk, 1))],
        fast_policy(5),
    )
    .await
    else {
        return;
    };
    let case = run.case_at_check().await;
    run.send_to_adb(&case).await;
    // Rejected: the case ends with the reason for the applicant.
    let body = run
        .wait_case(&case, "the rejection", |b| b["status"] != "open")
        .await;
    assert_eq!(body["status"], "completed", "{body}");
    let events = run.history(&case).await;
    assert!(
        support::facts(&events)
            .iter()
            .any(|e| e["type"] == "step_entered" && e["event"]["step"] == "ditolak"),
        "the case ended at the rejection step"
    );
    let received = desk.received();
    assert!(received.len() >= 3, "{received:?}");
    assert!(received.iter().all(|r| r.signed));
    assert!(
        received
            .iter()
            .all(|r| r.idempotency_key == format!("{case}:konsultasi_adb:1")),
        "every resend carries the same key"
    );
    assert_eq!(count(&events, "adapter_completed"), 1);
    assert_eq!(count(&events, "incident_raised"), 0);
    run.finish().await;
}

/// The callback takes only answers signed with the adapter's secret, recent ones, for known
/// adapters and pending requests; a resent answer is acknowledged, not recorded twice.
async fn callbacks_must_be_signed_fresh_and_known(backend: Backend) {
    // A desk that never answers by itself: this test plays the desk.
    let desk = Desk::start(SECRET, "resolved", vec![DeskStep::Fail(503); 50]).await;
    let Some(run) = Running::start(
        backend,
        vec![("konsultasi_adb", webhook(&desk, 5))],
        fast_policy(50),
    )
    .await
    else {
        return;
    };
    let case = run.case_at_check().await;
    run.send_to_adb(&case).await;
    let url = format!("{}/callbacks/konsultasi_adb", run.base);
    let key = format!("{case}:konsultasi_adb:1");
    let answer = json!({ "idempotency_key": key, "outcome": "resolved" }).to_string();
    let post = |url: String, secret: &'static [u8], body: String, at: i64| {
        tokio::task::spawn_blocking(move || support::peers::post_signed_at(&url, secret, &body, at))
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let wrong: &'static [u8] = b"not-the-secret-at-all";
    let secret: &'static [u8] = SECRET.as_bytes();
    assert_eq!(
        post(url.clone(), wrong, answer.clone(), now).await.unwrap(),
        401
    );
    assert_eq!(
        post(url.clone(), secret, answer.clone(), now - 3600)
            .await
            .unwrap(),
        401,
        "an old signature is refused"
    );
    assert_eq!(
        post(
            format!("{}/callbacks/printer_ktp", run.base),
            secret,
            answer.clone(),
            now
        )
        .await
        .unwrap(),
        404
    );
    let unsigned = run
        .api
        .send(
            axum::http::Method::POST,
            "/callbacks/konsultasi_adb",
            None,
            Some(json!({})),
            &[],
        )
        .await;
    assert_eq!(unsigned.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unsigned.content_type, "application/problem+json");
    let bad_outcome = json!({ "idempotency_key": key, "outcome": "maybe" }).to_string();
    assert_eq!(
        post(url.clone(), secret, bad_outcome, now).await.unwrap(),
        422
    );
    assert_eq!(
        run.case(&case).await["current_step"]["id"],
        "konsultasi_adb"
    );

    assert_eq!(
        post(url.clone(), secret, answer.clone(), now)
            .await
            .unwrap(),
        200
    );
    assert_eq!(
        run.case(&case).await["current_step"]["id"],
        "periksa_perekaman"
    );
    // The desk resends (it did not see our answer): acknowledged, nothing new.
    assert_eq!(
        post(url.clone(), secret, answer.clone(), now)
            .await
            .unwrap(),
        200
    );
    let other =
        json!({ "idempotency_key": format!("{case}:konsultasi_adb:9"), "outcome": "resolved" })
            .to_string();
    assert_eq!(post(url, secret, other, now).await.unwrap(), 409);
    let events = run.history(&case).await;
    assert_eq!(count(&events, "adapter_completed"), 1);
    run.finish().await;
}
