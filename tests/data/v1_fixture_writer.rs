//! Writes `tests/data/v1-history.db`: a small SQLite store holding event format v1 histories,
//! made by the code of commit 4b81e8b (before event format v2). Kept for the record of how the
//! fixture was made; it is not compiled (see tests/v1_history.rs, which reads the fixture).
//! To run it again on that commit: copy it to tests/ and
//! `SOPFLOW_V1_FIXTURE_OUT=/abs/path.db cargo test --test v1_fixture_writer`.
#![allow(clippy::unwrap_used)]

mod support;

use axum::http::StatusCode;
use serde_json::{Value, json};
use sopflow_core::runtime::CommandRequest;
use sopflow_engine::case::{Actor, Command};
use sopflow_store::testing::Backend;
use support::Api;

async fn complete(api: &Api, token: &str, case: &str, step: &str, body: Value) -> Value {
    let r = api
        .post(&format!("/cases/{case}/steps/{step}/complete"), token, body)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{step}: {}", r.text);
    r.body
}

async fn open(api: &Api, token: &str, body: Value) -> String {
    let r = api.post("/cases", token, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["case_id"].as_str().unwrap().to_owned()
}

/// A KTP-el case filed, returned once for its KK copy, verified and called: at the check.
async fn ktp_to_check(api: &Api, petugas: &str, operator: &str, nik: &str) -> String {
    let case = open(
        api,
        petugas,
        json!({ "sop_id": "ktp-el",
                "data": { "nik": nik, "nama_lengkap": "Contoh Pemohon", "alasan": "baru" } }),
    )
    .await;
    complete(api, petugas, &case, "serahkan_berkas", json!({})).await;
    complete(api, petugas, &case, "verifikasi_berkas", json!({})).await;
    complete(
        api,
        petugas,
        &case,
        "serahkan_berkas",
        json!({ "documents": [{ "type": "fotokopi_kk", "number": "KK-7" }] }),
    )
    .await;
    complete(api, petugas, &case, "verifikasi_berkas", json!({})).await;
    let called = api
        .post("/queues/cetak_ktp/call-next", operator, json!({}))
        .await;
    assert_eq!(called.body["case_id"], case.as_str(), "{}", called.text);
    case
}

#[tokio::test]
async fn write_v1_fixture() {
    let out = std::env::var("SOPFLOW_V1_FIXTURE_OUT").expect("SOPFLOW_V1_FIXTURE_OUT");
    let api = Api::start_with_sops(
        Backend::Sqlite,
        &[support::KTP_EL, "tests/data/surat-pindah.yaml"],
        support::as_it_is,
    )
    .await
    .unwrap();
    let petugas = api.user("petugas", "petugas_antrian").await;
    let operator = api.user("operator", "operator_cetak").await;
    let warga = api.user("petugas_pindah", "petugas_pindah").await;
    let kasi = api.user("kasi", "kasi_pindah").await;

    // 1. KTP-el, completed.
    let done = ktp_to_check(&api, &petugas, &operator, "1312990101900001").await;
    complete(
        &api,
        &operator,
        &done,
        "periksa_perekaman",
        json!({ "data": { "status_perekaman": "PRINT_READY_RECORD", "masalah_nik": false } }),
    )
    .await;
    complete(&api, &operator, &done, "cetak_ktp", json!({})).await;
    complete(
        &api,
        &petugas,
        &done,
        "validasi_ktp",
        json!({ "documents": [{ "type": "ktp_el_tercetak" }] }),
    )
    .await;
    let end = complete(&api, &petugas, &done, "terima_ktp", json!({})).await;
    assert_eq!(end["status"], "completed");

    // 2. KTP-el, open at the recording check.
    ktp_to_check(&api, &petugas, &operator, "1312990101900002").await;

    // 3. KTP-el, an incident: the printer gave up.
    let stuck = ktp_to_check(&api, &petugas, &operator, "1312990101900003").await;
    complete(
        &api,
        &operator,
        &stuck,
        "periksa_perekaman",
        json!({ "data": { "status_perekaman": "PRINT_READY_RECORD", "masalah_nik": false } }),
    )
    .await;
    api.service
        .runtime
        .run(CommandRequest::on_case(
            stuck.clone(),
            Command::RecordAdapterFailure {
                idempotency_key: format!("{stuck}:cetak_ktp:1"),
                reason: "2 attempts failed, the last: printer unreachable".into(),
            },
            Actor::new("adapter:printer_ktp", "system"),
            time::OffsetDateTime::now_utc(),
        ))
        .await
        .unwrap();

    // 4. Surat pindah, completed; 5. surat pindah, waiting in its queue.
    let pindah = |nik: &str| {
        json!({ "sop_id": "surat-pindah", "data": { "nik": nik },
                "documents": [{ "type": "surat_pengantar" }] })
    };
    let moved = open(&api, &warga, pindah("1312990101900004")).await;
    complete(&api, &warga, &moved, "ajukan", json!({ "data": { "tujuan": "Padang" } })).await;
    let called = api
        .post("/queues/loket_pindah/call-next", &kasi, json!({}))
        .await;
    assert_eq!(called.body["case_id"], moved.as_str(), "{}", called.text);
    let end = complete(&api, &kasi, &moved, "tanda_tangan", json!({})).await;
    assert_eq!(end["status"], "completed", "{end}");
    let waiting = open(&api, &warga, pindah("1312990101900005")).await;
    complete(&api, &warga, &waiting, "ajukan", json!({ "data": { "tujuan": "Solok" } })).await;

    let store = api.db.url.trim_start_matches("sqlite://").to_owned();
    api.service.runtime.store.close().await;
    let _ = std::fs::remove_file(&out);
    let status = std::process::Command::new("sqlite3")
        .arg(&store)
        .arg(format!("VACUUM INTO '{out}'"))
        .status()
        .unwrap();
    assert!(status.success());
    api.db.cleanup().await;
}
