//! The auditor's tools end to end, on SQLite and (when configured) PostgreSQL: cases run
//! through the HTTP API; histories tampered with directly in the database, as an attacker with
//! database access would (the append-only triggers bypassed); every tampering found by the
//! library and by the real `sopflow audit verify`, naming the case, the event and the reason.
//! Replay, export and the report, through the API and the CLI.

// Helpers outside `#[test]` functions unwrap too: in tests a panic is a failed assertion.
#![allow(clippy::unwrap_used)]

mod support;

use std::process::Command;

use axum::http::StatusCode;
use serde_json::{Value, json};
use sopflow_audit::anchor::{Anchor, make_anchor};
use sopflow_audit::verify::{Check, Finding, VerifyOptions, verify_store};
use sopflow_engine::case::Event;
use sopflow_engine::case::chain::event_hash;
use sopflow_store::testing::Backend;
use support::{Api, api_tests, bytes_literal, hash_literal, plain_payload_set};

api_tests!(
    every_tampering_is_found_with_its_case_event_and_reason,
    a_case_opened_by_a_role_that_may_not_open_it_is_named,
    an_anchor_proves_that_nothing_before_it_changed,
    replay_shows_a_case_step_by_step_with_personal_data_masked,
    exports_stream_masked_histories_and_record_every_reveal,
    the_report_shows_real_figures_per_sop_version,
    a_store_walked_page_by_page_judges_each_case_on_its_own_rows,
);

const NIK: &str = "1312990101900001";

struct Staff {
    admin: String,
    petugas: String,
    operator: String,
    adb: String,
    auditor: String,
}

async fn staff(api: &Api) -> Staff {
    Staff {
        admin: api.user("admin", "admin").await,
        petugas: api.user("petugas", "petugas_antrian").await,
        operator: api.user("operator", "operator_cetak").await,
        adb: api.user("adb", "adb").await,
        auditor: api.user("auditor", "auditor").await,
    }
}

async fn open_case(api: &Api, s: &Staff, documents: Value) -> String {
    let r = api
        .post(
            "/cases",
            &s.petugas,
            json!({ "sop_id": "ktp-el",
                    "data": { "nik": NIK, "nama_lengkap": "Contoh Pemohon", "alasan": "baru" },
                    "documents": documents }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["case_id"].as_str().unwrap().to_owned()
}

async fn complete(api: &Api, token: &str, case: &str, step: &str, body: Value) -> Value {
    let r = api
        .post(&format!("/cases/{case}/steps/{step}/complete"), token, body)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{step}: {}", r.text);
    r.body
}

/// Files in, verified, called from the queue, checked: the case waits at `cetak_ktp`... or
/// goes to the ADB consultation when `status` is not print-ready.
async fn to_recording_check(api: &Api, s: &Staff, status: &str) -> String {
    let case = open_case(api, s, json!([{ "type": "fotokopi_kk" }])).await;
    complete(api, &s.petugas, &case, "serahkan_berkas", json!({})).await;
    complete(api, &s.petugas, &case, "verifikasi_berkas", json!({})).await;
    let called = api
        .post("/queues/cetak_ktp/call-next", &s.operator, json!({}))
        .await;
    assert_eq!(called.body["case_id"], case.as_str(), "{}", called.text);
    complete(
        api,
        &s.operator,
        &case,
        "periksa_perekaman",
        json!({ "data": { "status_perekaman": status, "masalah_nik": false } }),
    )
    .await;
    case
}

/// A case run from the file to the card.
async fn full_case(api: &Api, s: &Staff) -> String {
    let case = to_recording_check(api, s, "PRINT_READY_RECORD").await;
    complete(api, &s.operator, &case, "cetak_ktp", json!({})).await;
    complete(
        api,
        &s.petugas,
        &case,
        "validasi_ktp",
        json!({ "documents": [{ "type": "ktp_el_tercetak" }] }),
    )
    .await;
    let done = complete(api, &s.petugas, &case, "terima_ktp", json!({})).await;
    assert_eq!(done["status"], "completed");
    case
}

// ---- the attacker's tools: raw SQL with the triggers out of the way ----

async fn sql(api: &Api, text: String) {
    // raw_execute takes a static statement; a test leaks a few short strings.
    let text: &'static str = Box::leak(text.into_boxed_str());
    api.db
        .raw_execute(text)
        .await
        .unwrap_or_else(|e| panic!("{text}: {e}"));
}

async fn bypass_triggers(api: &Api) {
    let refused = api
        .db
        .raw_execute("UPDATE events SET role = role WHERE seq = 1")
        .await;
    assert!(refused.is_err(), "the events table refuses updates");
    // The outbox refers to events by (case, seq); the attacker clears it out of the way.
    sql(api, "DELETE FROM outbox".into()).await;
    match api.db.backend {
        Backend::Sqlite => {
            sql(api, "DROP TRIGGER events_no_update".into()).await;
            sql(api, "DROP TRIGGER events_no_delete".into()).await;
        }
        Backend::Postgres => {
            sql(
                api,
                "ALTER TABLE events DISABLE TRIGGER events_append_only".into(),
            )
            .await
        }
    }
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

async fn events(api: &Api, case: &str) -> Vec<(Event, sopflow_store::Event)> {
    let stored = api.service.runtime.store.events(case).await.unwrap();
    stored
        .into_iter()
        .map(|s| (serde_json::from_value(s.payload.clone()).unwrap(), s))
        .collect()
}

async fn set_payload(api: &Api, case: &str, seq: u64, event: &Event) {
    let payload = serde_json::to_string(event).unwrap();
    sql(
        api,
        format!(
            "UPDATE events SET {}, user_name = {}, role = {} WHERE case_id = {} AND seq = {seq}",
            plain_payload_set(api.db.backend, &payload),
            quote(&event.by.user),
            quote(&event.by.role),
            quote(case)
        ),
    )
    .await;
}

/// Rewrites the hashes of a whole history as an attacker who knows the salt and the SOP would,
/// and, with `head`, the case's head too.
async fn rehash(api: &Api, case: &str, head: bool) {
    let store = &api.service.runtime.store;
    let salt = store.case_salt(case).await.unwrap().unwrap_or_default();
    let personal: Vec<String> = ["nik", "nama_lengkap", "no_kk"].map(String::from).to_vec();
    let mut prev = sopflow_engine::case::chain::GENESIS.to_owned();
    let mut last = 0;
    for (event, _) in events(api, case).await {
        let hash = event_hash(&prev, &event, &personal, &salt);
        sql(
            api,
            format!(
                "UPDATE events SET prev_hash = {}, hash = {} WHERE case_id = {} AND seq = {}",
                hash_literal(api.db.backend, &prev),
                hash_literal(api.db.backend, &hash),
                quote(case),
                event.seq
            ),
        )
        .await;
        prev = hash;
        last = event.seq;
    }
    if head {
        sql(
            api,
            format!(
                "UPDATE cases SET version = {last}, head_hash = {} WHERE case_id = {}",
                quote(&prev),
                quote(case)
            ),
        )
        .await;
    }
}

/// Inserts `event` as a new row (its seq), chained onto `prev_hash` with a correct hash.
async fn insert_event(api: &Api, case: &str, event: &Event, prev_hash: &str) {
    let salt = api
        .service
        .runtime
        .store
        .case_salt(case)
        .await
        .unwrap()
        .unwrap_or_default();
    let personal: Vec<String> = ["nik", "nama_lengkap", "no_kk"].map(String::from).to_vec();
    let hash = event_hash(prev_hash, event, &personal, &salt);
    let at = event
        .at
        .format(time::macros::format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z"
        ))
        .unwrap();
    sql(
        api,
        format!(
            "INSERT INTO events (case_id, seq, recorded_at, kind, user_name, role, codec, payload, prev_hash, hash) \
             VALUES ({}, {}, {}, {}, {}, {}, 0, {}, {}, {})",
            quote(case),
            event.seq,
            quote(&at),
            quote(event.body.kind()),
            quote(&event.by.user),
            quote(&event.by.role),
            bytes_literal(api.db.backend, serde_json::to_string(event).unwrap().as_bytes()),
            hash_literal(api.db.backend, prev_hash),
            hash_literal(api.db.backend, &hash)
        ),
    )
    .await;
}

async fn shift_from(api: &Api, case: &str, seq: u64, by: i64) {
    // Two steps, so that no (case_id, seq) collides on the way.
    let c = quote(case);
    sql(
        api,
        format!("UPDATE events SET seq = seq + 100000 WHERE case_id = {c} AND seq >= {seq}"),
    )
    .await;
    sql(
        api,
        format!(
            "UPDATE events SET seq = seq - 100000 + ({by}) WHERE case_id = {c} AND seq >= 100000"
        ),
    )
    .await;
}

/// The real binary.
fn sopflow(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sopflow"))
        .args(args)
        .output()
        .expect("run sopflow")
}

async fn library_findings(api: &Api, anchor: Option<Anchor>) -> Vec<Finding> {
    let options = VerifyOptions {
        anchor,
        ..VerifyOptions::default()
    };
    let mut seen = 0;
    let report = verify_store(&api.service.runtime.store, &options, &mut |_| seen += 1)
        .await
        .unwrap();
    assert_eq!(seen, report.cases, "progress is reported per case");
    report.findings
}

fn has(findings: &[Finding], case: &str, seq: u64, check: Check, reason: &str) {
    assert!(
        findings.iter().any(|f| f.case_id.as_deref() == Some(case)
            && f.seq == Some(seq)
            && f.check == check
            && f.reason.contains(reason)),
        "expected case {case} event {seq} {check:?} `{reason}` among {findings:#?}"
    );
}

fn cli_has(stdout: &str, case: &str, seq: u64, check: Check, reason: &str) {
    let prefix = format!("MISMATCH case {case} event {seq}: {}: ", check.as_str());
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with(&prefix) && l.contains(reason)),
        "expected `{prefix}...{reason}` in:\n{stdout}"
    );
}

async fn every_tampering_is_found_with_its_case_event_and_reason(api: &Api) {
    let s = staff(api).await;
    let mut cases = Vec::new();
    for _ in 0..11 {
        cases.push(full_case(api, &s).await);
    }
    let untouched = cases.pop().unwrap();
    assert!(
        library_findings(api, None).await.is_empty(),
        "clean at first"
    );
    let clean = sopflow(&["audit", "verify", "--database", &api.db.url]);
    let stdout = String::from_utf8_lossy(&clean.stdout);
    assert!(clean.status.success(), "{stdout}");
    assert!(stdout.contains("verified 11 cases"), "{stdout}");
    assert!(
        clean.stderr.is_empty(),
        "no progress bar when stderr is not a terminal"
    );

    bypass_triggers(api).await;
    let history = events(api, &cases[0]).await;
    let n = history.len() as u64;
    let mut expected: Vec<(String, u64, Check, &str)> = Vec::new();

    // 1. Alter an event's content: who did it.
    let mut forged = history[2].0.clone();
    forged.by.user = "mallory".into();
    set_payload(api, &cases[0], 3, &forged).await;
    expected.push((cases[0].clone(), 3, Check::Chain, "does not match its hash"));

    // 2. Alter only the stored columns beside the JSON (what listings show).
    sql(
        api,
        format!(
            "UPDATE events SET user_name = 'mallory' WHERE case_id = {} AND seq = 3",
            quote(&cases[1])
        ),
    )
    .await;
    expected.push((
        cases[1].clone(),
        3,
        Check::Record,
        "stored as done by mallory",
    ));

    // 3. Delete an event in the middle.
    sql(
        api,
        format!(
            "DELETE FROM events WHERE case_id = {} AND seq = 3",
            quote(&cases[2])
        ),
    )
    .await;
    expected.push((cases[2].clone(), 4, Check::Chain, "expected event 3 here"));

    // 4. Delete the last event.
    sql(
        api,
        format!(
            "DELETE FROM events WHERE case_id = {} AND seq = {n}",
            quote(&cases[3])
        ),
    )
    .await;
    expected.push((
        cases[3].clone(),
        n - 1,
        Check::Head,
        "its last stored event is",
    ));

    // 5. Reorder two events.
    let c = quote(&cases[4]);
    sql(
        api,
        format!("UPDATE events SET seq = 100000 WHERE case_id = {c} AND seq = 3"),
    )
    .await;
    sql(
        api,
        format!("UPDATE events SET seq = 3 WHERE case_id = {c} AND seq = 4"),
    )
    .await;
    sql(
        api,
        format!("UPDATE events SET seq = 4 WHERE case_id = {c} AND seq = 100000"),
    )
    .await;
    expected.push((
        cases[4].clone(),
        3,
        Check::Record,
        "stored as event 3, its content is event 4",
    ));

    // 6. Insert a forged event in the middle, correctly hashed onto the event before it.
    let target = events(api, &cases[5]).await;
    shift_from(api, &cases[5], 3, 1).await;
    let mut inserted = target[2].0.clone();
    inserted.by.user = "mallory".into();
    insert_event(api, &cases[5], &inserted, &target[1].1.hash).await;
    expected.push((
        cases[5].clone(),
        4,
        Check::Record,
        "stored as event 4, its content is event 3",
    ));

    // 7. Append a forged event, correctly chained, the case's head left as it was.
    let target = events(api, &cases[6]).await;
    let mut appended = target.last().unwrap().0.clone();
    appended.seq = n + 1;
    appended.then.clear();
    appended.body = sopflow_engine::case::EventBody::CaseCancelled {
        reason: "forged".into(),
    };
    insert_event(api, &cases[6], &appended, &target.last().unwrap().1.hash).await;
    expected.push((cases[6].clone(), n + 1, Check::Head, "records head event"));

    // 8. The same, with the head moved too: the chain holds, the replay does not.
    let target = events(api, &cases[7]).await;
    insert_event(api, &cases[7], &appended, &target.last().unwrap().1.hash).await;
    rehash(api, &cases[7], true).await;
    expected.push((cases[7].clone(), n + 1, Check::Replay, "already completed"));

    // 9. Change the applicant's reason and rehash the whole history: only a re-evaluation of
    //    the decisions finds it (a lost card needs the police letter).
    let target = events(api, &cases[8]).await;
    let mut started = target[0].0.clone();
    if let sopflow_engine::case::EventBody::CaseStarted { data, .. } = &mut started.body {
        data.insert("alasan".into(), json!("hilang"));
    }
    set_payload(api, &cases[8], 1, &started).await;
    rehash(api, &cases[8], true).await;
    let first_completion = target
        .iter()
        .find(|(e, _)| e.has("step_completed"))
        .unwrap()
        .0
        .seq;
    expected.push((
        cases[8].clone(),
        first_completion,
        Check::Replay,
        "surat_kehilangan",
    ));

    // 10. A step recorded in another role's name, rehashed: the role may not record it.
    let target = events(api, &cases[9]).await;
    let (mut completion, _) = target
        .iter()
        .find(|(e, _)| e.has("step_completed"))
        .unwrap()
        .clone();
    completion.by = sopflow_engine::case::Actor::new("operator", "operator_cetak");
    set_payload(api, &cases[9], completion.seq, &completion).await;
    rehash(api, &cases[9], true).await;
    expected.push((
        cases[9].clone(),
        completion.seq,
        Check::Replay,
        "recorded by role `operator_cetak`",
    ));

    let findings = library_findings(api, None).await;
    let output = sopflow(&["audit", "verify", "--database", &api.db.url]);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(output.status.code(), Some(1), "mismatches exit 1: {stdout}");
    for (case, seq, check, reason) in &expected {
        has(&findings, case, *seq, *check, reason);
        cli_has(&stdout, case, *seq, *check, reason);
    }
    assert!(
        findings
            .iter()
            .all(|f| f.case_id.as_deref() != Some(untouched.as_str())),
        "the untouched case verifies: {findings:#?}"
    );
    assert!(stdout.contains("verified 11 cases"), "{stdout}");

    // One case alone.
    let one = sopflow(&[
        "audit",
        "verify",
        "--database",
        &api.db.url,
        "--case",
        &untouched,
    ]);
    assert!(
        one.status.success(),
        "{}",
        String::from_utf8_lossy(&one.stdout)
    );
    let one = sopflow(&[
        "audit",
        "verify",
        "--database",
        &api.db.url,
        "--case",
        &cases[2],
    ]);
    let stdout = String::from_utf8_lossy(&one.stdout);
    assert_eq!(one.status.code(), Some(1));
    cli_has(&stdout, &cases[2], 4, Check::Chain, "expected event 3 here");
    assert!(stdout.contains("verified 1 cases"), "{stdout}");

    // The report counts the histories that no longer fold apart; the export still carries
    // every history as stored (it is the evidence).
    let r = api.get("/reports/sops/ktp-el/versions/1", &s.auditor).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        (r.body["cases"].as_u64(), r.body["unreadable"].as_u64()),
        (Some(11), Some(5)),
        "{}",
        r.text
    );
    let r = api
        .get(
            "/exports/cases?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z",
            &s.auditor,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text.lines().count(), 11);
    assert!(r.text.contains("mallory") && !r.text.contains(NIK));

    // A replay of a damaged history says why instead.
    let r = api
        .get(&format!("/cases/{}/replay", cases[2]), &s.auditor)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.body["errors"][0]["pointer"], "event 4", "{}", r.text);
    let intact_prefix = api
        .get(&format!("/cases/{}/replay?until=2", cases[0]), &s.auditor)
        .await;
    assert_eq!(
        intact_prefix.status,
        StatusCode::OK,
        "{}",
        intact_prefix.text
    );
    assert_eq!(
        intact_prefix.body["verified"], false,
        "the whole history does not verify"
    );

    // The API's verification of one case says the same.
    let r = api
        .get(&format!("/cases/{}/verify", cases[4]), &s.auditor)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["findings"][0]["seq"], 3, "{}", r.text);
    assert_eq!(r.body["findings"][0]["check"], "record");
    let r = api
        .get(&format!("/cases/{untouched}/verify"), &s.admin)
        .await;
    assert_eq!(r.body["findings"], json!([]), "{}", r.text);
}

/// Who may open a case is checked by the engine's start decision, so replay checks it too:
/// a history whose first event is recorded in the name of a role that may not open a case
/// (rehashed, so the chain holds) is named by the library and by `sopflow audit verify`.
async fn a_case_opened_by_a_role_that_may_not_open_it_is_named(api: &Api) {
    let s = staff(api).await;
    let forged_case = full_case(api, &s).await;
    let untouched = full_case(api, &s).await;
    bypass_triggers(api).await;
    let history = events(api, &forged_case).await;
    let mut started = history[0].0.clone();
    started.by = sopflow_engine::case::Actor::new("operator", "operator_cetak");
    set_payload(api, &forged_case, 1, &started).await;
    rehash(api, &forged_case, true).await;

    let reason = "case opened by role `operator_cetak`, which may not open it";
    let findings = library_findings(api, None).await;
    has(&findings, &forged_case, 1, Check::Replay, reason);
    assert!(
        findings
            .iter()
            .all(|f| f.case_id.as_deref() != Some(untouched.as_str())),
        "the untouched case verifies: {findings:#?}"
    );
    let output = sopflow(&["audit", "verify", "--database", &api.db.url]);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert_eq!(
        output.status.code(),
        Some(1),
        "a mismatch exits 1: {stdout}"
    );
    cli_has(&stdout, &forged_case, 1, Check::Replay, reason);
}

async fn an_anchor_proves_that_nothing_before_it_changed(api: &Api) {
    let s = staff(api).await;
    let a = full_case(api, &s).await;
    let b = full_case(api, &s).await;
    let open = open_case(api, &s, json!([{ "type": "fotokopi_kk" }])).await;

    // The CLI writes the anchor the API serves.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("anchor.json");
    let out = sopflow(&[
        "audit",
        "anchor",
        "--database",
        &api.db.url,
        "--output",
        file.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let anchor: Anchor = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(anchor.cases, 3);
    assert!(
        stdout.contains(&format!("anchor {}", anchor.anchor)),
        "{stdout}"
    );
    assert!(stdout.contains("cases 3"), "{stdout}");
    let served = api.get("/audit/anchor", &s.auditor).await;
    assert_eq!(served.status, StatusCode::OK, "{}", served.text);
    assert_eq!(
        served.body["anchor"],
        anchor.anchor.as_str(),
        "same heads, same anchor"
    );
    let library = make_anchor(&api.service.runtime.store, time::OffsetDateTime::now_utc())
        .await
        .unwrap();
    assert_eq!(library.anchor, anchor.anchor);

    // The case goes on after the anchor: that is no change to what the anchor recorded.
    complete(api, &s.petugas, &open, "serahkan_berkas", json!({})).await;
    let later = full_case(api, &s).await;
    let ok = sopflow(&[
        "audit",
        "verify",
        "--database",
        &api.db.url,
        "--anchor",
        file.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success(), "{stdout}");
    assert!(stdout.contains("3 heads checked"), "{stdout}");

    // An attacker rewrites a recorded case consistently: who did a step, every hash after it,
    // and the head. Chain, head and replay all hold; the anchor (and the log) see it.
    bypass_triggers(api).await;
    let history = events(api, &a).await;
    let mut forged = history[2].0.clone();
    forged.by.user = "mallory".into();
    set_payload(api, &a, 3, &forged).await;
    rehash(api, &a, true).await;
    // And removes another anchored case altogether.
    for table in ["outbox", "events", "case_salts", "case_references", "cases"] {
        sql(
            api,
            format!("DELETE FROM {table} WHERE case_id = {}", quote(&b)),
        )
        .await;
    }
    // Without the anchor the chain, head and replay hold up; the log (its leaves recorded
    // with the original events) names both changes all the same.
    let without = library_findings(api, None).await;
    has(
        &without,
        &a,
        3,
        Check::Log,
        "not the event the log recorded",
    );
    has(
        &without,
        &b,
        1,
        Check::Log,
        "the event is missing, and the case with it",
    );
    assert!(
        without.iter().all(|f| f.check == Check::Log),
        "only the log sees it: {without:#?}"
    );
    let findings = library_findings(api, Some(anchor.clone())).await;
    let last = history.len() as u64;
    has(&findings, &a, last, Check::Anchor, "the anchor recorded");
    has(
        &findings,
        &b,
        anchor.heads.iter().find(|h| h.case_id == b).unwrap().seq,
        Check::Anchor,
        "no longer has it",
    );
    assert!(
        findings
            .iter()
            .all(|f| f.case_id.as_deref() != Some(later.as_str())
                && f.case_id.as_deref() != Some(open.as_str()))
    );
    let bad = sopflow(&[
        "audit",
        "verify",
        "--database",
        &api.db.url,
        "--anchor",
        file.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1), "{stdout}");
    cli_has(&stdout, &a, last, Check::Anchor, "the anchor recorded");

    // An edited anchor file is refused, not believed.
    let mut edited = anchor.clone();
    edited.heads.retain(|h| h.case_id != b);
    edited.cases -= 1;
    std::fs::write(&file, serde_json::to_string(&edited).unwrap()).unwrap();
    let refused = sopflow(&[
        "audit",
        "verify",
        "--database",
        &api.db.url,
        "--anchor",
        file.to_str().unwrap(),
    ]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("hash to"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
}

async fn replay_shows_a_case_step_by_step_with_personal_data_masked(api: &Api) {
    let s = staff(api).await;
    // Returned once for a missing document, then through to the card.
    let case = open_case(api, &s, json!([])).await;
    complete(api, &s.petugas, &case, "serahkan_berkas", json!({})).await;
    complete(api, &s.petugas, &case, "verifikasi_berkas", json!({})).await;
    complete(
        api,
        &s.petugas,
        &case,
        "serahkan_berkas",
        json!({ "documents": [{ "type": "fotokopi_kk", "number": "KK-7" }] }),
    )
    .await;
    complete(api, &s.petugas, &case, "verifikasi_berkas", json!({})).await;

    let r = api.get(&format!("/cases/{case}/replay"), &s.auditor).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert!(!r.text.contains(NIK), "the NIK is masked: {}", r.text);
    assert!(!r.text.contains("Contoh Pemohon"), "the name too");
    assert_eq!(r.body["personal_data"], "masked");
    assert_eq!(r.body["verified"], true, "{}", r.text);
    assert_eq!(r.body["state"]["data"]["nik"], "************0001");
    let steps = r.body["steps"].as_array().unwrap();
    let ids: Vec<(&str, u64)> = steps
        .iter()
        .map(|s| (s["step"].as_str().unwrap(), s["visit"].as_u64().unwrap()))
        .collect();
    assert_eq!(
        ids,
        [
            ("serahkan_berkas", 1),
            ("verifikasi_berkas", 1),
            ("serahkan_berkas", 2),
            ("verifikasi_berkas", 2),
            ("tunggu_antrian", 1)
        ]
    );
    // Who, with which documents, which guard chose which branch with which values.
    assert_eq!(
        steps[0]["completed_by"],
        json!({ "user": "petugas", "role": "petugas_antrian" })
    );
    let returned = &steps[1]["branch"];
    assert_eq!(returned["to"], "serahkan_berkas", "{returned}");
    assert_eq!(returned["guards"][0]["guard"], "documents_complete");
    assert_eq!(returned["guards"][0]["result"], false);
    assert_eq!(returned["guards"][0]["values"]["documents_complete"], false);
    assert_eq!(steps[3]["branch"]["to"], "tunggu_antrian");
    assert_eq!(steps[3]["branch"]["guards"][0]["result"], true);
    let docs = steps[2]["documents"].as_array().unwrap();
    assert!(
        docs.iter()
            .any(|d| d["type"] == "fotokopi_kk" && d["number"] == "K***" && d["received"] == true),
        "a document's number is personal data, masked: {docs:?}"
    );
    // Time against the budget: done in well under a minute.
    assert_eq!(steps[0]["budget"], "under");
    assert_eq!(steps[0]["budget_seconds"], 60);
    assert!(steps[0]["spent_seconds"].as_f64().unwrap() < 60.0);
    assert_eq!(steps[4]["budget"], "running");
    assert_eq!(steps[4]["queue_number"], "A-001");

    // The state as of an earlier event: right after the file was returned.
    let back = steps[2]["entered_seq"].as_u64().unwrap();
    let r = api
        .get(&format!("/cases/{case}/replay?until={back}"), &s.admin)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["until"], back);
    assert_eq!(r.body["state"]["current_step"], "serahkan_berkas");
    assert_eq!(r.body["state"]["version"], back);
    assert_eq!(r.body["events"].as_array().unwrap().len() as u64, back);
    let bad = api
        .get(&format!("/cases/{case}/replay?until=0"), &s.auditor)
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let missing = api.get("/cases/nope/replay", &s.auditor).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);

    // Revealing: auditors only, with a reason, and recorded.
    let store = &api.service.runtime.store;
    let no_reason = api
        .get(&format!("/cases/{case}/replay?reveal=true"), &s.auditor)
        .await;
    assert_eq!(no_reason.status, StatusCode::BAD_REQUEST);
    let admin = api
        .get(
            &format!("/cases/{case}/replay?reveal=true&reason=curious"),
            &s.admin,
        )
        .await;
    assert_eq!(admin.status, StatusCode::FORBIDDEN);
    assert!(
        store.audit_accesses(0, 10).await.unwrap().is_empty(),
        "refused: nothing shown, nothing recorded"
    );
    let shown = api
        .get(
            &format!("/cases/{case}/replay?reveal=true&reason=complaint%20no.%207"),
            &s.auditor,
        )
        .await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.text);
    assert_eq!(shown.body["state"]["data"]["nik"], NIK);
    assert_eq!(
        shown.body["state"]["documents"]["fotokopi_kk"]["number"],
        "KK-7"
    );
    let log = store.audit_accesses(0, 10).await.unwrap();
    assert_eq!(log.len(), 1);
    assert_eq!(
        (log[0].user_name.as_str(), log[0].action.as_str()),
        ("auditor", "replay")
    );
    assert!(log[0].revealed);
    assert_eq!(log[0].reason.as_deref(), Some("complaint no. 7"));
    assert!(log[0].scope.contains(&case));

    // The CLI shows the same replay.
    let out = sopflow(&["replay", &case, "--database", &api.db.url, "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    let api_view = api
        .get(&format!("/cases/{case}/replay"), &s.auditor)
        .await
        .body;
    assert_eq!(cli["steps"], api_view["steps"]);
    assert_eq!(cli["state"], api_view["state"]);
    let text = sopflow(&[
        "replay",
        &case,
        "--database",
        &api.db.url,
        "--until",
        &back.to_string(),
    ]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("branch 1 -> serahkan_berkas"), "{text}");
    assert!(
        text.contains("guard [0] documents_complete = false"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "state as of event {back}: open at serahkan_berkas"
        )),
        "{text}"
    );
    assert!(!text.contains(NIK), "{text}");
    let revealed = sopflow(&[
        "replay",
        &case,
        "--database",
        &api.db.url,
        "--reveal",
        "--reason",
        "court order",
    ]);
    assert!(String::from_utf8_lossy(&revealed.stdout).contains(NIK));
    let log = store.audit_accesses(0, 10).await.unwrap();
    assert_eq!(log.len(), 2);
    assert_eq!(log[1].role, "cli");
    assert_eq!(log[1].reason.as_deref(), Some("court order"));
    let refused = sopflow(&["replay", &case, "--database", &api.db.url, "--reveal"]);
    assert!(!refused.status.success(), "--reveal needs --reason");

    let doc = api
        .send(axum::http::Method::GET, "/openapi.json", None, None, &[])
        .await;
    for path in [
        "/cases/{id}/replay",
        "/cases/{id}/verify",
        "/audit/anchor",
        "/exports/cases",
        "/reports/sops/{id}/versions/{version}",
    ] {
        assert!(
            doc.body["paths"].get(path).is_some(),
            "{path} is documented"
        );
    }
}

async fn exports_stream_masked_histories_and_record_every_reveal(api: &Api) {
    let s = staff(api).await;
    let before = time::OffsetDateTime::now_utc() - time::Duration::seconds(1);
    let a = full_case(api, &s).await;
    let b = open_case(
        api,
        &s,
        json!([{ "type": "fotokopi_kk", "number": "KK, \"7\"" }]),
    )
    .await;
    let after = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
    let rfc = |t: time::OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let range = format!("from={}&to={}", rfc(before), rfc(after));
    let store = &api.service.runtime.store;

    let r = api
        .get(&format!("/exports/cases?{range}"), &s.auditor)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.content_type, "application/jsonl");
    let lines: Vec<Value> = r
        .text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let ids: Vec<&str> = lines
        .iter()
        .map(|l| l["case_id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&a.as_str()) && ids.contains(&b.as_str()));
    let full = lines.iter().find(|l| l["case_id"] == a.as_str()).unwrap();
    let history = store.events(&a).await.unwrap();
    assert_eq!(full["events"].as_array().unwrap().len(), history.len());
    assert_eq!(full["head_hash"], history.last().unwrap().hash.as_str());
    assert!(!r.text.contains(NIK), "masked");
    assert!(r.text.contains("************0001"));

    let csv = api
        .get(&format!("/exports/cases?{range}&format=csv"), &s.auditor)
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(csv.content_type.starts_with("text/csv"));
    assert!(
        csv.text
            .starts_with("case_id,sop_id,sop_version,case_status,seq,")
    );
    assert!(!csv.text.contains(NIK));
    assert!(!csv.text.contains("KK, "), "a document's number is masked");
    // One row per event, plus the header.
    let events_b = store.events(&b).await.unwrap().len();
    assert_eq!(
        csv.text.matches("\r\n").count(),
        1 + history.len() + events_b
    );

    // Outside the range: nothing.
    let empty = api
        .get(
            &format!(
                "/exports/cases?from={}&to={}",
                rfc(before - time::Duration::days(1)),
                rfc(before)
            ),
            &s.auditor,
        )
        .await;
    assert_eq!((empty.status, empty.text.as_str()), (StatusCode::OK, ""));

    // Refused: other roles, a bad range, a reveal without reason.
    for token in [&s.admin, &s.petugas, &s.operator] {
        let r = api.get(&format!("/exports/cases?{range}"), token).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
    }
    let r = api
        .get(
            &format!("/exports/cases?from={}&to={}", rfc(after), rfc(before)),
            &s.auditor,
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = api
        .get(&format!("/exports/cases?{range}&format=xml"), &s.auditor)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let r = api
        .get(&format!("/exports/cases?{range}&reveal=true"), &s.auditor)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let log = store.audit_accesses(0, 100).await.unwrap();
    assert_eq!(
        log.len(),
        3,
        "each export recorded, refused ones not: {log:?}"
    );
    assert!(log.iter().all(|l| l.action == "export" && !l.revealed));

    let r = api
        .get(
            &format!("/exports/cases?{range}&format=csv&reveal=true&reason=KPK%20request%2012"),
            &s.auditor,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.text.contains(NIK), "revealed");
    // A quoted field keeps its commas and quotes.
    assert!(r.text.contains("KK, \\\"\"7\\\"\""), "{}", r.text);
    let log = store.audit_accesses(0, 100).await.unwrap();
    let last = log.last().unwrap();
    assert!(last.revealed);
    assert_eq!(last.reason.as_deref(), Some("KPK request 12"));
    assert_eq!(last.user_name, "auditor");
    assert!(last.scope.contains("csv"));
    // The log itself is append-only.
    for statement in [
        "UPDATE audit_access SET reason = 'nothing'",
        "DELETE FROM audit_access",
    ] {
        assert!(
            api.db.raw_execute(statement).await.is_err(),
            "{statement} is refused"
        );
    }
    assert_eq!(store.audit_accesses(0, 100).await.unwrap().len(), log.len());

    // The CLI exports the same, and records it.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases.jsonl");
    let out = sopflow(&[
        "export",
        "--from",
        &rfc(before),
        "--to",
        &rfc(after),
        "--database",
        &api.db.url,
        "--output",
        file.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let exported = std::fs::read_to_string(&file).unwrap();
    let first = api
        .get(&format!("/exports/cases?{range}"), &s.auditor)
        .await;
    assert_eq!(
        exported, first.text,
        "the CLI and the API export the same bytes"
    );
    let out = sopflow(&[
        "export",
        "--from",
        &rfc(before),
        "--to",
        &rfc(after),
        "--database",
        &api.db.url,
        "--format",
        "csv",
        "--reveal",
        "--reason",
        "audit 2026",
    ]);
    assert!(String::from_utf8_lossy(&out.stdout).contains(NIK));
    let log = store.audit_accesses(0, 100).await.unwrap();
    assert_eq!(log.last().unwrap().reason.as_deref(), Some("audit 2026"));
    assert_eq!(log.last().unwrap().role, "cli");
    let listed = sopflow(&["audit", "log", "--database", &api.db.url]);
    let listed = String::from_utf8_lossy(&listed.stdout);
    assert!(
        listed.contains("KPK request 12") && listed.contains("audit 2026"),
        "{listed}"
    );
    assert_eq!(listed.matches("\trevealed\t").count(), 2, "{listed}");
}

async fn the_report_shows_real_figures_per_sop_version(api: &Api) {
    let s = staff(api).await;
    // Version 2 of the SOP budgets two seconds for handing in the file, so that a test can
    // run over it on the real clock.
    let fast = support::ktp_el_yaml().replace("budget: 1m", "budget: 2s");
    assert_ne!(fast, support::ktp_el_yaml());
    std::fs::write(api.definitions.path().join("ktp-el.yaml"), &fast).unwrap();
    let problems = api
        .service
        .runtime
        .registry
        .sync_dir(&api.service.runtime.store, api.definitions.path())
        .await;
    assert!(problems.is_empty(), "{problems:?}");

    // A: through to the card.
    let a = full_case(api, &s).await;
    // C: a duplicate record, consulted with ADB, which cannot solve it.
    let c = to_recording_check(api, &s, "DUPLICATE_RECORD").await;
    let done = complete(
        api,
        &s.adb,
        &c,
        "konsultasi_adb",
        json!({ "outcome": "rejected" }),
    )
    .await;
    assert_eq!(done["status"], "completed", "{done}");
    // B: returned to the applicant once, then waits in the queue (after C was called).
    let b = open_case(api, &s, json!([])).await;
    complete(api, &s.petugas, &b, "serahkan_berkas", json!({})).await;
    complete(api, &s.petugas, &b, "verifikasi_berkas", json!({})).await;
    complete(
        api,
        &s.petugas,
        &b,
        "serahkan_berkas",
        json!({ "documents": [{ "type": "fotokopi_kk" }] }),
    )
    .await;
    complete(api, &s.petugas, &b, "verifikasi_berkas", json!({})).await;
    // D: over the two-second budget, and the timer records it; E: over it, unrecorded.
    let d = open_case(api, &s, json!([{ "type": "fotokopi_kk" }])).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let ticked = sopflow_core::ticker::tick_due(
        &api.service.runtime,
        "test",
        time::OffsetDateTime::now_utc(),
    )
    .await;
    assert_eq!(ticked, 1, "only D is due");
    let e = open_case(api, &s, json!([{ "type": "fotokopi_kk" }])).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    complete(api, &s.petugas, &d, "serahkan_berkas", json!({})).await;
    complete(api, &s.petugas, &e, "serahkan_berkas", json!({})).await;
    for case in [&a, &b, &c, &d, &e] {
        let v = api.get(&format!("/cases/{case}"), &s.auditor).await;
        assert_eq!(v.body["sop_version"], 2);
    }

    let r = api.get("/reports/sops/ktp-el/versions/2", &s.auditor).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let rep = &r.body;
    assert_eq!(rep["cases"], 5, "{rep}");
    assert_eq!(
        (rep["completed"].as_u64(), rep["running"].as_u64()),
        (Some(2), Some(3))
    );
    // The rates come from the SOP's structure: its one consultation step, its three loops.
    assert_eq!(
        rep["consultations"],
        json!([{ "step": "konsultasi_adb", "name": "Konsultasi ke ADB",
                 "adapter": "konsultasi_adb", "cases": 1, "rate": 0.2 }]),
        "{rep}"
    );
    assert_eq!(
        rep["loops"],
        json!([
            { "from": "tunggu_status_perekaman", "to": "periksa_perekaman",
              "label": "Tunda, status belum siap cetak → Periksa data perekaman",
              "cases": 0, "rate": 0.0 },
            { "from": "konsultasi_adb", "to": "periksa_perekaman",
              "label": "Masalah selesai, periksa kembali", "cases": 0, "rate": 0.0 },
            { "from": "verifikasi_berkas", "to": "serahkan_berkas",
              "label": "Tidak lengkap, berkas dikembalikan", "cases": 1, "rate": 0.2 },
        ]),
        "B was returned once: {rep}"
    );
    let step = |id: &str| {
        rep["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["step"] == id)
            .unwrap()
            .clone()
    };
    let handed_in = step("serahkan_berkas");
    assert_eq!(handed_in["budget_seconds"], 2);
    assert_eq!(handed_in["visits"], 6, "A, B twice, C, D, E: {handed_in}");
    assert_eq!(handed_in["over_budget"], 2, "D and E: {handed_in}");
    assert_eq!(handed_in["breaches"], 1, "recorded for D only: {handed_in}");
    // Four quick stays and two over two seconds: the median is quick, the 90th percentile not.
    assert!(
        handed_in["p50_seconds"].as_f64().unwrap() < 1.0,
        "{handed_in}"
    );
    assert!(
        handed_in["p90_seconds"].as_f64().unwrap() >= 1.1,
        "{handed_in}"
    );
    let verified = step("verifikasi_berkas");
    assert_eq!(
        (
            verified["visits"].as_u64(),
            verified["over_budget"].as_u64()
        ),
        (Some(4), Some(0))
    );
    assert_eq!(verified["budget_seconds"], 120);
    assert_eq!(step("konsultasi_adb")["visits"], 1);
    assert_eq!(step("konsultasi_adb")["budget_seconds"], 3600);
    let print = step("cetak_ktp");
    assert_eq!(
        (print["budget_step"].as_str(), print["visits"].as_u64()),
        (Some("periksa_perekaman"), Some(1))
    );

    // Version 1 has no cases; an unknown version is 404; operators may not read reports.
    let v1 = api.get("/reports/sops/ktp-el/versions/1", &s.admin).await;
    assert_eq!(v1.status, StatusCode::OK);
    assert_eq!(v1.body["cases"], 0);
    assert_eq!(
        api.get("/reports/sops/ktp-el/versions/9", &s.admin)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        api.get("/reports/sops/ktp-el/versions/2", &s.operator)
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // The CLI gives the same figures.
    let out = sopflow(&[
        "report",
        "--sop",
        "ktp-el",
        "--version",
        "2",
        "--database",
        &api.db.url,
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(cli[0], *rep);
    let text = sopflow(&["report", "--database", &api.db.url]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("ktp-el version 2"), "{text}");
    assert!(
        text.contains("consultation Konsultasi ke ADB (konsultasi_adb): 1 cases (20.0%)"),
        "{text}"
    );
    assert!(
        text.contains(
            "loop verifikasi_berkas → serahkan_berkas (Tidak lengkap, berkas dikembalikan): 1 cases (20.0%)"
        ),
        "{text}"
    );
    assert!(text.contains("ktp-el version 1"), "{text}");
}

/// `verify` reads the rows of a page of cases at once (events, salts, erasures, outbox rows,
/// leaves): across more than one page, each case is judged on its own rows and no other's.
async fn a_store_walked_page_by_page_judges_each_case_on_its_own_rows(api: &Api) {
    let s = staff(api).await;
    let mut cases = Vec::new();
    for _ in 0..3 {
        cases.push(full_case(api, &s).await);
    }
    let page = sopflow_audit::PAGE as usize;
    while cases.len() < page + 10 {
        cases.push(open_case(api, &s, json!([{ "type": "fotokopi_kk" }])).await);
    }
    assert!(
        library_findings(api, None).await.is_empty(),
        "clean across pages"
    );
    // The walk goes by case id: one tampered case in the first page, one in the second.
    cases.sort();
    let (first, last) = (cases[0].clone(), cases[cases.len() - 1].clone());
    bypass_triggers(api).await;
    for case in [&first, &last] {
        let mut forged = events(api, case).await.remove(0).0;
        forged.by.user = "mallory".into();
        set_payload(api, case, 1, &forged).await;
    }
    let findings = library_findings(api, None).await;
    has(
        &findings,
        &first,
        1,
        Check::Chain,
        "does not match its hash",
    );
    has(&findings, &last, 1, Check::Chain, "does not match its hash");
    let others: Vec<_> = findings
        .iter()
        .filter(|f| f.case_id.as_deref() != Some(&first) && f.case_id.as_deref() != Some(&last))
        .collect();
    assert!(others.is_empty(), "only the tampered cases: {others:#?}");

    let out = sopflow(&["audit", "verify", "--database", &api.db.url]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("verified {} cases", cases.len())),
        "{stdout}"
    );
    cli_has(&stdout, &last, 1, Check::Chain, "does not match its hash");
}
