//! A store written before event format v2 (`tests/data/v1-history.db`, made at commit 4b81e8b
//! by `tests/data/v1_fixture_writer.rs`: five cases of two SOPs, finished, open and one with an
//! incident, all in event format v1) opened by this code: its cases are listed, replayed,
//! verified (library and the real `sopflow audit verify`) and exported; the open ones are
//! carried on to their end, and the mixed histories verify again.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;
use std::process::Command;

use axum::http::StatusCode;
use serde_json::{Value, json};
use sopflow::serve::{Config, build};
use sopflow_audit::verify::{VerifyOptions, verify_store};
use support::{Api, repo_file};

const DONE: &str = "01a23300-af8a-75d6-847a-d77470f74593";
const AT_CHECK: &str = "01a23300-af98-7517-9bb8-1e472e504f9f";
const INCIDENT: &str = "01a23300-af9f-7159-bedc-2f8e53d9ec48";
const MOVED: &str = "01a23300-afa8-7781-a6d8-41750c18debd";
const QUEUED: &str = "01a23300-afae-73de-bdad-661eb6dd8aed";
const ALL: [&str; 5] = [DONE, AT_CHECK, INCIDENT, MOVED, QUEUED];

/// The service on a copy of the fixture (the fixture itself is never written).
async fn on_fixture() -> (Api, tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("store.db");
    std::fs::copy(
        concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/v1-history.db"),
        &db,
    )
    .unwrap();
    let url = format!("sqlite://{}", db.display());
    let definitions = tempfile::tempdir().unwrap();
    for (name, file) in [
        ("ktp-el.yaml", support::KTP_EL),
        ("surat-pindah.yaml", "tests/data/surat-pindah.yaml"),
    ] {
        std::fs::write(definitions.path().join(name), repo_file(file)).unwrap();
    }
    let config = Config {
        database: url.clone(),
        definitions: PathBuf::from(definitions.path()),
        prints: definitions.path().join("prints"),
        calendars: PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/calendars")),
        ..Config::default()
    };
    let service = build(&config)
        .await
        .expect("the service opens the v1 store");
    let app = service.router();
    let db = sopflow_store::testing::TestDb::existing_sqlite(url.clone());
    let api = Api {
        app,
        service,
        config,
        definitions,
        db,
    };
    (api, dir, url)
}

fn sopflow(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sopflow"))
        .args(args)
        .output()
        .expect("run sopflow")
}

async fn complete(api: &Api, token: &str, case: &str, step: &str, body: Value) -> Value {
    let r = api
        .post(&format!("/cases/{case}/steps/{step}/complete"), token, body)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{step}: {}", r.text);
    r.body
}

async fn history(api: &Api, token: &str, case: &str) -> Vec<Value> {
    let r = api.get(&format!("/cases/{case}/history"), token).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    r.body.as_array().unwrap().clone()
}

/// Every case verifies, by the library and by the CLI, and replays with `verified: true`.
async fn all_verify(api: &Api, auditor: &str, url: &str) {
    let report = verify_store(
        &api.service.runtime.store,
        &VerifyOptions::default(),
        &mut |_| {},
    )
    .await
    .unwrap();
    assert_eq!(report.cases, ALL.len() as u64, "{report:?}");
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
    let out = sopflow(&["audit", "verify", "--database", url]);
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    for case in ALL {
        let r = api.get(&format!("/cases/{case}/replay"), auditor).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        assert_eq!(r.body["verified"], true, "{case}: {}", r.text);
    }
}

#[tokio::test]
async fn a_v1_store_is_read_replayed_verified_exported_and_carried_on() {
    let (api, _dir, url) = on_fixture().await;
    let auditor = api.user("auditor-2", "auditor").await;
    let admin = api.user("admin-2", "admin").await;
    let petugas = api.user("petugas-2", "petugas_antrian").await;
    let operator = api.user("operator-2", "operator_cetak").await;
    let kasi = api.user("kasi-2", "kasi_pindah").await;

    // Listed, as the fixture left them.
    let r = api.get("/cases?limit=50", &admin).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let listed: Vec<(String, String)> = r.body["cases"]
        .as_array()
        .or(r.body.as_array())
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["case_id"].as_str().unwrap().to_owned(),
                c["status"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    for (case, status) in [
        (DONE, "completed"),
        (AT_CHECK, "open"),
        (INCIDENT, "incident"),
        (MOVED, "completed"),
        (QUEUED, "open"),
    ] {
        assert!(
            listed.iter().any(|(c, s)| c == case && s == status),
            "{case} {status} in {listed:?}"
        );
    }
    // Every stored event is v1.
    let mut v1_histories: Vec<Vec<Value>> = Vec::new();
    for case in ALL {
        let events = history(&api, &auditor, case).await;
        assert!(events.iter().all(|e| e["event"]["v"] == 1), "{case}");
        v1_histories.push(events);
    }
    let v1_events: Vec<usize> = v1_histories.iter().map(Vec::len).collect();

    // Replayed step by step: the finished KTP-el case, file returned once.
    let r = api.get(&format!("/cases/{DONE}/replay"), &auditor).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let steps: Vec<(String, u64)> = r.body["steps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["step"].as_str().unwrap().to_owned(),
                s["visit"].as_u64().unwrap(),
            )
        })
        .collect();
    let expected: Vec<(String, u64)> = [
        ("serahkan_berkas", 1),
        ("verifikasi_berkas", 1),
        ("serahkan_berkas", 2),
        ("verifikasi_berkas", 2),
        ("tunggu_antrian", 1),
        ("periksa_perekaman", 1),
        ("cetak_ktp", 1),
        ("validasi_ktp", 1),
        ("terima_ktp", 1),
        ("selesai", 1),
    ]
    .iter()
    .map(|(s, v)| ((*s).to_owned(), *v))
    .collect();
    assert_eq!(steps, expected, "{}", r.text);
    let returned = &r.body["steps"][1]["branch"];
    assert_eq!(returned["to"], "serahkan_berkas", "{returned}");
    assert_eq!(returned["guards"][0]["guard"], "documents_complete");
    assert_eq!(returned["guards"][0]["result"], false);
    // The state as of an earlier event.
    let r = api
        .get(&format!("/cases/{DONE}/replay?until=5"), &auditor)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["state"]["version"], 5);
    // The CLI shows the same replay.
    let out = sopflow(&["replay", DONE, "--database", &url, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    let api_view = api
        .get(&format!("/cases/{DONE}/replay"), &auditor)
        .await
        .body;
    assert_eq!(cli["steps"], api_view["steps"]);

    all_verify(&api, &auditor, &url).await;

    // Exported: one line per case, each with its whole history.
    let r = api
        .get(
            "/exports/cases?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z",
            &auditor,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let lines: Vec<Value> = r
        .text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), ALL.len(), "{}", r.text);
    for (case, count) in ALL.iter().zip(&v1_events) {
        let line = lines.iter().find(|l| l["case_id"] == *case).unwrap();
        assert_eq!(
            line["events"].as_array().map(Vec::len),
            Some(*count),
            "{line}"
        );
    }

    // Carried on under this code: the open KTP-el case to its end...
    complete(
        &api,
        &operator,
        AT_CHECK,
        "periksa_perekaman",
        json!({ "data": { "status_perekaman": "PRINT_READY_RECORD", "masalah_nik": false } }),
    )
    .await;
    complete(&api, &operator, AT_CHECK, "cetak_ktp", json!({})).await;
    complete(
        &api,
        &petugas,
        AT_CHECK,
        "validasi_ktp",
        json!({ "documents": [{ "type": "ktp_el_tercetak" }] }),
    )
    .await;
    let end = complete(&api, &petugas, AT_CHECK, "terima_ktp", json!({})).await;
    assert_eq!(end["status"], "completed", "{end}");
    // ... the incident resolved and the card printed by hand...
    let r = api
        .post(
            &format!("/cases/{INCIDENT}/incident/resolve"),
            &admin,
            json!({ "reason": "printer back" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    complete(&api, &operator, INCIDENT, "cetak_ktp", json!({})).await;
    complete(
        &api,
        &petugas,
        INCIDENT,
        "validasi_ktp",
        json!({ "documents": [{ "type": "ktp_el_tercetak" }] }),
    )
    .await;
    let end = complete(&api, &petugas, INCIDENT, "terima_ktp", json!({})).await;
    assert_eq!(end["status"], "completed", "{end}");
    // ... and the queued move called and signed.
    let called = api
        .post("/queues/loket_pindah/call-next", &kasi, json!({}))
        .await;
    assert_eq!(called.body["case_id"], QUEUED, "{}", called.text);
    let end = complete(&api, &kasi, QUEUED, "tanda_tangan", json!({})).await;
    assert_eq!(end["status"], "completed", "{end}");

    // The mixed histories: the v1 part unchanged, then one v2 event per command given.
    for (case, before, commands) in [(AT_CHECK, 1, 4), (INCIDENT, 2, 4), (QUEUED, 4, 2)] {
        let events = history(&api, &auditor, case).await;
        let old = &v1_histories[before];
        assert_eq!(events.len(), old.len() + commands, "{case}");
        assert_eq!(
            &events[..old.len()],
            &old[..],
            "{case}: the v1 part as it was"
        );
        assert!(
            events[old.len()..].iter().all(|e| e["event"]["v"] == 2),
            "{case}"
        );
        let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
        assert_eq!(seqs, (1..=events.len() as u64).collect::<Vec<_>>());
    }
    all_verify(&api, &auditor, &url).await;
    let r = api
        .get(&format!("/cases/{AT_CHECK}/replay"), &auditor)
        .await;
    let last = r.body["steps"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["step"], "selesai", "{}", r.text);
    api.service.runtime.store.close().await;
}
