//! The service's logs carry no personal data: a `sopflow serve` process logging at debug
//! level, as text and as JSON, runs a whole KTP-el case and refuses bad requests, and its
//! output never contains the applicant's NIK, name or KK number.

// A panic is a failed assertion here, in helpers as in the test.
#![allow(clippy::unwrap_used)]

mod process;

use std::io::Write as _;
use std::time::Duration;

use process::{Server, add_user, ktp_el_yaml};
use serde_json::json;
use sopflow_store::testing::PG_URL_VAR;

/// Synthetic personal data, distinctive enough that any appearance is a leak.
const NIK: &str = "1312995807770042";
const BAD_NIK: &str = "13129958X7770042";
const NAME: &str = "Zulkarnaen Sutanrajo Pribadiuji";
const NEW_NAME: &str = "Zulkarnaen Sutanrajo Gantinama";
const KK: &str = "1312998877665544";

/// Everything personal that went through the API, and the parts of the names.
fn personal() -> Vec<&'static str> {
    let mut all = vec![NIK, BAD_NIK, KK, NAME, NEW_NAME];
    all.extend(NAME.split(' '));
    all.extend(
        NEW_NAME
            .split(' ')
            .filter(|w| *w != "Zulkarnaen" && *w != "Sutanrajo"),
    );
    all
}

/// Runs a service with `env` on `database`, drives a case through it, and returns everything
/// it wrote and its log alone (standard error: standard output carries only what is meant for
/// the terminal, such as the first admin's password).
fn run_and_capture(database: &str, env: &[(&str, &str)]) -> (String, String) {
    let work = tempfile::tempdir().unwrap();
    let definitions = work.path().join("definitions");
    std::fs::create_dir(&definitions).unwrap();
    std::fs::write(definitions.join("ktp-el.yaml"), ktp_el_yaml()).unwrap();
    let database = database.replace("{dir}", &work.path().display().to_string());
    let petugas = add_user(&database, "siti", "petugas_antrian");
    let operator = add_user(&database, "budi", "operator_cetak");
    let auditor = add_user(&database, "inspektorat", "auditor");
    let server = Server::start("serve", work.path(), &database, &definitions, env);

    // Refused requests that carry personal data.
    let bad = server.post(
        "/cases",
        &petugas,
        &json!({ "sop_id": "ktp-el", "data": { "nik": BAD_NIK, "nama_lengkap": NAME, "no_kk": KK, "alasan": "baru" } }),
    );
    assert_eq!(bad.status, 422, "{}", bad.text);
    let unknown_field = server.post(
        "/cases",
        &petugas,
        &json!({ "sop_id": "ktp-el", "data": { "nik": NIK, "nama": NAME, "alasan": "baru" } }),
    );
    assert_eq!(unknown_field.status, 422, "{}", unknown_field.text);
    let wrong_type = server.post(
        "/cases",
        &petugas,
        &json!({ "sop_id": "ktp-el", "data": { "nik": NIK, "no_kk": KK.parse::<u64>().unwrap(), "alasan": "baru" } }),
    );
    assert_eq!(wrong_type.status, 422, "{}", wrong_type.text);
    let not_a_map = server.post(
        "/cases",
        &petugas,
        &json!({ "sop_id": "ktp-el", "data": [NIK, NAME] }),
    );
    assert_eq!(not_a_map.status, 422, "{}", not_a_map.text);
    let anonymous = server.send(
        "POST",
        "/cases",
        Some(NIK),
        Some(&json!({ "sop_id": "ktp-el", "data": { "nik": NIK } })),
    );
    assert_eq!(
        anonymous.status, 401,
        "a NIK as the token: {}",
        anonymous.text
    );

    // The whole case.
    let r = server.post(
        "/cases",
        &petugas,
        &json!({ "sop_id": "ktp-el",
                 "data": { "nik": NIK, "nama_lengkap": NAME, "no_kk": KK, "alasan": "baru" },
                 "documents": [{ "type": "fotokopi_kk", "number": KK }] }),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let case = r.body["case_id"].as_str().unwrap().to_owned();
    let step = |token: &str, step: &str, body: serde_json::Value| {
        let r = server.post(
            &format!("/cases/{case}/steps/{step}/complete"),
            token,
            &body,
        );
        assert_eq!(r.status, 200, "{step}: {}", r.text);
        r
    };
    // A step that does not collects the name: refused, the name in the refused body.
    let refused = server.post(
        &format!("/cases/{case}/steps/verifikasi_berkas/complete"),
        &petugas,
        &json!({ "data": { "nama_lengkap": NEW_NAME } }),
    );
    assert!(refused.status >= 400, "{}", refused.text);
    step(
        &petugas,
        "serahkan_berkas",
        json!({ "data": { "nama_lengkap": NEW_NAME } }),
    );
    let r = step(&petugas, "verifikasi_berkas", json!({}));
    assert_eq!(r.body["queue_number"], "A-001", "{}", r.text);
    let r = server.post("/queues/cetak_ktp/call-next", &operator, &json!({}));
    assert_eq!(r.status, 200, "{}", r.text);
    step(
        &operator,
        "periksa_perekaman",
        json!({ "data": { "status_perekaman": "PRINT_READY_RECORD", "masalah_nik": false } }),
    );
    // The default folder printer prints the card (the PDF holds the NIK; the logs must not).
    process::wait_for(Duration::from_secs(30), "the card to be printed", || {
        let r = server.get(&format!("/cases/{case}"), &auditor);
        (r.body["current_step"]["id"] == "validasi_ktp").then_some(())
    });
    step(
        &petugas,
        "validasi_ktp",
        json!({ "documents": [{ "type": "ktp_el_tercetak", "number": NIK }] }),
    );
    let r = step(&petugas, "terima_ktp", json!({}));
    assert_eq!(r.body["status"], "completed", "{}", r.text);
    // Reads that answer with the personal data.
    for path in [
        format!("/cases/{case}"),
        format!("/cases/{case}/history"),
        "/cases?sop_id=ktp-el".to_owned(),
    ] {
        let r = server.get(&path, &auditor);
        assert_eq!(r.status, 200, "{path}: {}", r.text);
    }
    // Those who work the case see its personal data (an auditor sees it masked).
    assert!(
        server
            .get(&format!("/cases/{case}"), &petugas)
            .text
            .contains(NEW_NAME),
        "the data went through (the API shows it to staff)"
    );
    server.stop_for_log()
}

/// The output is a debug log of this run and holds none of the personal data.
fn assert_clean(what: &str, output: &str) {
    assert!(
        output.contains("/cases/{id}/steps/{step}/complete")
            && (output.contains("DEBUG") || output.contains("\"level\":\"DEBUG\"")),
        "{what}: debug request logs were written:\n{output}"
    );
    for secret in personal() {
        if let Some(at) = output.find(secret) {
            let start = output[..at].rfind('\n').map_or(0, |i| i + 1);
            let end = output[at..].find('\n').map_or(output.len(), |i| at + i);
            panic!(
                "{what}: the log carries personal data {secret:?}:\n{}",
                &output[start..end]
            );
        }
    }
}

#[test]
fn debug_text_logs_carry_no_personal_data() {
    let (output, _) = run_and_capture("sqlite://{dir}/sopflow.db", &[("RUST_LOG", "debug")]);
    assert_clean("text, SQLite", &output);
}

#[test]
fn debug_json_logs_carry_no_personal_data() {
    let (output, log) = run_and_capture(
        "sqlite://{dir}/sopflow.db",
        &[("RUST_LOG", "debug"), ("SOPFLOW_LOG_FORMAT", "json")],
    );
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok(),
            "every line is JSON: {line}"
        );
    }
    assert_clean("JSON, SQLite", &output);
}

#[test]
fn debug_logs_on_postgres_carry_no_personal_data() {
    let Ok(url) = std::env::var(PG_URL_VAR) else {
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED: the PostgreSQL log test: {PG_URL_VAR} is not set ***\n"
        );
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let db = rt
        .block_on(sopflow_store::testing::TestDb::new(
            sopflow_store::testing::Backend::Postgres,
        ))
        .expect("PostgreSQL is configured");
    assert!(db.url.starts_with(&url));
    let (output, _) = run_and_capture(
        &db.url,
        &[("RUST_LOG", "debug"), ("SOPFLOW_LOG_FORMAT", "json")],
    );
    assert_clean("JSON, PostgreSQL", &output);
    rt.block_on(db.cleanup());
}
