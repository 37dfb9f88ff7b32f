//! A `sopflow serve` killed (SIGKILL) between handing a card to the printer and hearing that it
//! was printed: after a restart the print request is not lost and no second card comes out.
//! Real process, real ippeveprinter (slow, so the kill lands while the job is printing), on
//! SQLite and (when configured) PostgreSQL.

#![allow(clippy::unwrap_used)]

mod process;

use std::io::Write as _;
use std::time::Duration;

use process::{Server, add_user, assert_chained, ktp_el_yaml, wait_for};
use serde_json::json;
use sopflow_effects::{CardPrinter, IdempotencyKey, IppPrinter, Lookup};
use sopflow_store::testing::{Backend, TestDb};

#[path = "support/peers.rs"]
mod peers;

#[test]
fn sqlite_a_server_killed_mid_print_prints_the_card_once_after_restart() {
    killed_mid_print(Backend::Sqlite);
}

#[test]
fn postgres_a_server_killed_mid_print_prints_the_card_once_after_restart() {
    killed_mid_print(Backend::Postgres);
}

fn killed_mid_print(backend: Backend) {
    if !peers::ipp_enabled("a server killed mid-print") {
        return;
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let Some(db) = rt.block_on(TestDb::new(backend)) else {
        let _ = writeln!(
            std::io::stderr(),
            "*** SKIPPED *** {backend:?}: no database"
        );
        return;
    };
    // Each job "prints" for 4 s; the server follows a job for 2 s per attempt.
    let printer = peers::Printer::start(peers::PrinterOptions {
        slow_seconds: Some(4),
        ..Default::default()
    });
    let work = tempfile::tempdir().unwrap();
    let definitions = work.path().join("definitions");
    std::fs::create_dir(&definitions).unwrap();
    std::fs::write(definitions.join("ktp-el.yaml"), ktp_el_yaml()).unwrap();
    let config = work.path().join("sopflow.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[adapters.printer_ktp]
kind = "ipp"
uri = "{}"
completion_wait = "2s"
request_timeout = "5s"

[dispatch]
lease = "3s"
first_retry = "1s"
max_retry = "1s"
max_attempts = 20
"#,
            printer.uri
        ),
    )
    .unwrap();
    let args = ["--config", config.to_str().unwrap()];

    let petugas = add_user(&db.url, "siti", "petugas_antrian");
    let operator = add_user(&db.url, "budi", "operator_cetak");
    let auditor = add_user(&db.url, "inspektorat", "auditor");
    let server = Server::start_with_args("first", work.path(), &db.url, &definitions, &args);

    let r = server.post(
        "/cases",
        &petugas,
        &json!({ "sop_id": "ktp-el", "data": { "nik": "1312990101900042", "nama_lengkap": "Pemohon Uji", "alasan": "baru" }, "documents": [{ "type": "fotokopi_kk" }] }),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let case = r.body["case_id"].as_str().unwrap().to_owned();
    let step = |server: &Server, token: &str, step: &str, body: serde_json::Value| {
        let r = server.post(
            &format!("/cases/{case}/steps/{step}/complete"),
            token,
            &body,
        );
        assert_eq!(r.status, 200, "{step}: {}", r.text);
        r
    };
    step(&server, &petugas, "serahkan_berkas", json!({}));
    step(&server, &petugas, "verifikasi_berkas", json!({}));
    let r = server.post("/queues/cetak_ktp/call-next", &operator, &json!({}));
    assert_eq!(r.status, 200, "{}", r.text);
    step(
        &server,
        &operator,
        "periksa_perekaman",
        json!({ "data": { "status_perekaman": "PRINT_READY_RECORD", "masalah_nik": false } }),
    );

    // Wait until the printer has the job, then kill the server before it hears back.
    let key = IdempotencyKey::new(format!("{case}:cetak_ktp:1")).unwrap();
    let ipp = IppPrinter::new(&printer.uri).unwrap();
    wait_for(Duration::from_secs(20), "the job at the printer", || {
        matches!(rt.block_on(ipp.lookup(&key)), Ok(Lookup::Found { .. })).then_some(())
    });
    let at_kill = server.get(&format!("/cases/{case}"), &auditor);
    assert_eq!(
        at_kill.body["current_step"]["id"], "cetak_ktp",
        "killed before the print was confirmed"
    );
    let log = server.stop();

    // A new process picks the delivery up once the dead one's lease runs out.
    let server = Server::start_with_args("second", work.path(), &db.url, &definitions, &args);
    wait_for(
        Duration::from_secs(40),
        "the print confirmed after restart",
        || {
            let r = server.get(&format!("/cases/{case}"), &auditor);
            (r.body["current_step"]["id"] == "validasi_ktp").then_some(())
        },
    );
    assert_eq!(
        printer.documents().len(),
        1,
        "one card, not two (first process log:\n{log})"
    );
    let history = server.get(&format!("/cases/{case}/history"), &auditor);
    let events = history.body.as_array().unwrap();
    assert_chained(&case, events);
    let facts = process::facts(events);
    let completed: Vec<_> = facts
        .iter()
        .filter(|e| e["type"] == "adapter_completed")
        .collect();
    assert_eq!(completed.len(), 1, "the print is recorded once");
    assert_eq!(
        facts
            .iter()
            .filter(|e| e["type"] == "incident_raised")
            .count(),
        0
    );
    drop(server);
    rt.block_on(db.cleanup());
}
