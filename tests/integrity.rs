//! Integrity that holds against someone who can write the database (issue 19), on SQLite and
//! PostgreSQL: the transparency log and its signed checkpoints, inclusion proofs, the checks
//! of everything that decides behaviour, and erasure. Tampering is done as an attacker would:
//! raw SQL, the append-only triggers out of the way, hashes recomputed where the attacker can
//! (the chain has no secret); only the signing key, kept outside the database, is out of reach.

// Helpers outside `#[test]` functions unwrap too: in tests a panic is a failed assertion.
#![allow(clippy::unwrap_used)]

mod support;

use std::path::PathBuf;
use std::process::Command;

use axum::http::StatusCode;
use serde_json::{Value, json};
use sopflow_audit::checkpoint::{PublicKey, SignerKey, checkpoint};
use sopflow_audit::erase::erase_expired;
use sopflow_audit::verify::{Check, Finding, VerifyOptions, VerifyReport, verify_store};
use sopflow_engine::case::Event;
use sopflow_engine::case::chain::{GENESIS, event_hash};
use sopflow_store::log::{event_leaf, leaf_hash};
use sopflow_store::testing::Backend;
use support::{Api, api_tests, hash_literal, plain_payload_set};

api_tests!(
    signed_checkpoints_cover_the_log_and_prove_a_case_to_whoever_has_the_public_key,
    a_consistent_rewrite_a_deleted_case_a_truncated_tail_and_a_deleted_reveal_are_named,
    rewriting_the_log_too_is_caught_by_the_signed_roots,
    projection_outbox_queue_and_sop_text_edits_are_found,
    erasure_removes_personal_data_and_everything_still_verifies,
);

const NIK: &str = "1312990101900001";
const NAME: &str = "Contoh Pemohon";
const PERSONAL: [&str; 3] = ["nik", "nama_lengkap", "no_kk"];

struct Staff {
    petugas: String,
    operator: String,
    auditor: String,
}

async fn staff(api: &Api) -> Staff {
    Staff {
        petugas: api.user("petugas", "petugas_antrian").await,
        operator: api.user("operator", "operator_cetak").await,
        auditor: api.user("auditor", "auditor").await,
    }
}

async fn open_case(api: &Api, s: &Staff) -> String {
    let r = api
        .post(
            "/cases",
            &s.petugas,
            json!({ "sop_id": "ktp-el",
                    "data": { "nik": NIK, "nama_lengkap": NAME, "alasan": "baru" },
                    "documents": [{ "type": "fotokopi_kk" }] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["case_id"].as_str().unwrap().to_owned()
}

async fn complete(api: &Api, token: &str, case: &str, step: &str, body: Value) {
    let r = api
        .post(&format!("/cases/{case}/steps/{step}/complete"), token, body)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{step}: {}", r.text);
}

/// A case called from the queue and checked: it waits at the printer (`cetak_ktp`).
async fn at_printer(api: &Api, s: &Staff) -> String {
    let case = open_case(api, s).await;
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
        json!({ "data": { "status_perekaman": "PRINT_READY_RECORD", "masalah_nik": false } }),
    )
    .await;
    case
}

/// A case run from the file to the card.
async fn full_case(api: &Api, s: &Staff) -> String {
    let case = at_printer(api, s).await;
    complete(api, &s.operator, &case, "cetak_ktp", json!({})).await;
    complete(
        api,
        &s.petugas,
        &case,
        "validasi_ktp",
        json!({ "documents": [{ "type": "ktp_el_tercetak" }] }),
    )
    .await;
    complete(api, &s.petugas, &case, "terima_ktp", json!({})).await;
    case
}

/// An auditor's reveal: a row of the access log.
async fn reveal(api: &Api, s: &Staff, case: &str) {
    let r = api
        .get(
            &format!("/cases/{case}/replay?reveal=true&reason=complaint%20no.%207"),
            &s.auditor,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

/// The log's key, in a file only its owner reads, and its public key beside it.
struct Key {
    signer: SignerKey,
    dir: tempfile::TempDir,
}

impl Key {
    fn new() -> Key {
        let dir = tempfile::tempdir().unwrap();
        let signer = SignerKey::generate("disdukcapil.example/sopflow").unwrap();
        signer.create_file(&dir.path().join("log.key")).unwrap();
        std::fs::write(
            dir.path().join("log.pub"),
            signer.public().to_string() + "\n",
        )
        .unwrap();
        Key { signer, dir }
    }

    fn public(&self) -> PublicKey {
        self.signer.public()
    }

    fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn arg(&self, name: &str) -> String {
        self.file(name).display().to_string()
    }
}

async fn sign(api: &Api, key: &Key) -> sopflow_store::Checkpoint {
    checkpoint(
        &api.service.runtime.store,
        &key.signer,
        time::OffsetDateTime::now_utc(),
        false,
    )
    .await
    .unwrap()
    .unwrap()
}

async fn verify(api: &Api, key: Option<&Key>, exported: Vec<String>) -> VerifyReport {
    let options = VerifyOptions {
        public_key: key.map(Key::public),
        exported,
        ..VerifyOptions::default()
    };
    verify_store(&api.service.runtime.store, &options, &mut |_| {})
        .await
        .unwrap()
}

/// The real binary.
fn sopflow(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sopflow"))
        .args(args)
        .output()
        .expect("run sopflow")
}

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned() + &*String::from_utf8_lossy(&o.stderr)
}

fn has_case(findings: &[Finding], case: &str, seq: Option<u64>, check: Check, reason: &str) {
    assert!(
        findings.iter().any(|f| f.case_id.as_deref() == Some(case)
            && (seq.is_none() || f.seq == seq)
            && f.check == check
            && f.reason.contains(reason)),
        "expected case {case} event {seq:?} {check:?} `{reason}` among {findings:#?}"
    );
}

fn has_place(findings: &[Finding], place: &str, check: Check, reason: &str) {
    assert!(
        findings
            .iter()
            .any(|f| f.place.as_deref().is_some_and(|p| p.starts_with(place))
                && f.check == check
                && f.reason.contains(reason)),
        "expected {place} {check:?} `{reason}` among {findings:#?}"
    );
}

// ---- the attacker's tools ----

async fn sql(api: &Api, text: String) {
    // raw_execute takes a static statement; a test leaks a few short strings.
    let text: &'static str = Box::leak(text.into_boxed_str());
    api.db
        .raw_execute(text)
        .await
        .unwrap_or_else(|e| panic!("{text}: {e}"));
}

fn quote(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// The append-only triggers, out of the way.
async fn bypass_triggers(api: &Api) {
    let tables = [
        "events",
        "log_leaves",
        "log_nodes",
        "log_checkpoints",
        "audit_access",
        "sop_versions",
        "erasures",
    ];
    match api.db.backend {
        Backend::Sqlite => {
            for trigger in [
                "events_no_update",
                "events_no_delete",
                "log_leaves_no_update",
                "log_leaves_no_delete",
                "log_checkpoints_no_update",
                "log_checkpoints_no_delete",
                "audit_access_no_update",
                "audit_access_no_delete",
                "sop_versions_immutable",
            ] {
                sql(api, format!("DROP TRIGGER {trigger}")).await;
            }
        }
        Backend::Postgres => {
            for table in tables {
                sql(api, format!("ALTER TABLE {table} DISABLE TRIGGER USER")).await;
            }
        }
    }
}

async fn events(api: &Api, case: &str) -> Vec<(Event, sopflow_store::Event)> {
    let stored = api.service.runtime.store.events(case).await.unwrap();
    stored
        .into_iter()
        .map(|s| (serde_json::from_value(s.payload.clone()).unwrap(), s))
        .collect()
}

/// Rewrites a case's history as an attacker who knows the salt would: `edit` changes the
/// events, every hash is recomputed, the head follows. With `leaves`, the log's leaves of the
/// case are recomputed too. Returns the new hashes.
async fn rewrite(api: &Api, case: &str, edit: impl Fn(&mut Event), leaves: bool) -> Vec<String> {
    let salt = api
        .service
        .runtime
        .store
        .case_salt(case)
        .await
        .unwrap()
        .unwrap_or_default();
    let personal: Vec<String> = PERSONAL.map(String::from).to_vec();
    let mut prev = GENESIS.to_owned();
    let mut hashes = Vec::new();
    for (mut event, _) in events(api, case).await {
        edit(&mut event);
        let hash = event_hash(&prev, &event, &personal, &salt);
        sql(
            api,
            format!(
                "UPDATE events SET {}, user_name = {}, prev_hash = {}, hash = {} \
                 WHERE case_id = {} AND seq = {}",
                plain_payload_set(api.db.backend, &serde_json::to_string(&event).unwrap()),
                quote(&event.by.user),
                hash_literal(api.db.backend, &prev),
                hash_literal(api.db.backend, &hash),
                quote(case),
                event.seq
            ),
        )
        .await;
        if leaves {
            let leaf = leaf_hash(event_leaf(case, event.seq, &hash).as_bytes());
            let hex: String = leaf.iter().map(|b| format!("{b:02x}")).collect();
            let literal = match api.db.backend {
                Backend::Sqlite => format!("X'{hex}'"),
                Backend::Postgres => format!("'\\x{hex}'::bytea"),
            };
            sql(
                api,
                format!(
                    "UPDATE log_leaves SET leaf_hash = {literal} WHERE case_id = {} AND seq = {}",
                    quote(case),
                    event.seq
                ),
            )
            .await;
        }
        hashes.push(hash.clone());
        prev = hash;
    }
    sql(
        api,
        format!(
            "UPDATE cases SET head_hash = {} WHERE case_id = {}",
            quote(&prev),
            quote(case)
        ),
    )
    .await;
    hashes
}

// ---- the tests ----

async fn signed_checkpoints_cover_the_log_and_prove_a_case_to_whoever_has_the_public_key(
    api: &Api,
) {
    let s = staff(api).await;
    let key = Key::new();
    let first = full_case(api, &s).await;
    reveal(api, &s, &first).await;
    let one = sign(api, &key).await;
    // Commands of many clients at once: their leaves are still gap-free.
    let mut tasks = Vec::new();
    for _ in 0..6 {
        let (app, token) = (api.app.clone(), s.petugas.clone());
        tasks.push(tokio::spawn(async move {
            use tower::ServiceExt as _;
            let request = axum::http::Request::post("/cases")
                .header("authorization", format!("Bearer {token}"))
                .header("content-type", "application/json")
                .body(axum::body::Body::from(
                    json!({ "sop_id": "ktp-el",
                            "data": { "nik": NIK, "nama_lengkap": NAME, "alasan": "baru" } })
                    .to_string(),
                ))
                .unwrap();
            app.oneshot(request).await.unwrap().status()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::CREATED);
    }
    let second = full_case(api, &s).await;
    let two = sign(api, &key).await;
    assert!(two.tree_size > one.tree_size);
    let size = api.service.runtime.store.log_size().await.unwrap();
    assert_eq!(two.tree_size, size, "the checkpoint covers every leaf");

    let report = verify(api, Some(&key), vec![one.note.clone()]).await;
    assert!(report.ok(), "{:#?}", report.findings);
    assert_eq!(
        (report.checkpoints, report.signed_size, report.leaves),
        (2, size as u64, size as u64)
    );
    assert_eq!(
        report.unpinned_sop_texts, 0,
        "new cases record their SOP text's hash"
    );
    // Without the key, stored checkpoints cannot be trusted: said, not passed over.
    let unchecked = verify(api, None, Vec::new()).await;
    has_place(
        &unchecked.findings,
        "checkpoints",
        Check::Checkpoint,
        "no public key",
    );

    // The CLI, with the public key file.
    let cli = sopflow(&[
        "audit",
        "verify",
        "--database",
        &api.db.url,
        "--public-key",
        &key.arg("log.pub"),
    ]);
    assert!(cli.status.success(), "{}", stdout(&cli));
    assert!(
        stdout(&cli).contains("2 checkpoints checked"),
        "{}",
        stdout(&cli)
    );

    // An inclusion proof of a case, checked with nothing but the public key.
    let proof = key.file("proof.json");
    let made = sopflow(&[
        "audit",
        "prove",
        &second,
        "--database",
        &api.db.url,
        "-o",
        proof.to_str().unwrap(),
    ]);
    assert!(made.status.success(), "{}", stdout(&made));
    let checked = sopflow(&[
        "audit",
        "check-proof",
        proof.to_str().unwrap(),
        "--public-key",
        &key.public().to_string(),
    ]);
    assert!(checked.status.success(), "{}", stdout(&checked));
    let n = events(api, &second).await.len();
    assert!(
        stdout(&checked).contains(&format!("ok: {n} events of case {second}")),
        "{}",
        stdout(&checked)
    );
    let text = std::fs::read_to_string(&proof).unwrap();
    assert!(
        !text.contains(NIK) && !text.contains(NAME),
        "a proof holds no personal data"
    );
    // Against the earlier, published checkpoint, the later case is not covered yet.
    let published = key.file("one.txt");
    std::fs::write(&published, &one.note).unwrap();
    let early = sopflow(&[
        "audit",
        "prove",
        &second,
        "--database",
        &api.db.url,
        "--checkpoint",
        published.to_str().unwrap(),
    ]);
    let early: Value = serde_json::from_slice(&early.stdout).unwrap();
    assert_eq!(early["events"].as_array().unwrap().len(), 0);
    assert_eq!(early["not_covered"].as_array().unwrap().len(), n);
    // An edited proof, or another key, is refused.
    let mut forged: Value = serde_json::from_str(&text).unwrap();
    let event = format!("{} ", forged["events"][2]["event"].as_str().unwrap());
    forged["events"][2]["event"] = json!(event);
    std::fs::write(&proof, forged.to_string()).unwrap();
    let refused = sopflow(&[
        "audit",
        "check-proof",
        proof.to_str().unwrap(),
        "--public-key",
        &key.public().to_string(),
    ]);
    assert_eq!(refused.status.code(), Some(1), "{}", stdout(&refused));
    assert!(
        stdout(&refused).contains("REFUSED: event 3"),
        "{}",
        stdout(&refused)
    );
    std::fs::write(&proof, &text).unwrap();
    let other = SignerKey::generate("disdukcapil.example/sopflow").unwrap();
    let refused = sopflow(&[
        "audit",
        "check-proof",
        proof.to_str().unwrap(),
        "--public-key",
        &other.public().to_string(),
    ]);
    assert!(
        stdout(&refused).contains("signed by another key"),
        "{}",
        stdout(&refused)
    );

    // A checkpoint signed by another key, slipped into the database, is refused.
    bypass_triggers(api).await;
    let forged = other.sign(
        two.tree_size as u64,
        &[0; 32],
        time::OffsetDateTime::now_utc(),
    );
    let root = match api.db.backend {
        Backend::Sqlite => format!("X'{}'", "00".repeat(32)),
        Backend::Postgres => format!("'\\x{}'::bytea", "00".repeat(32)),
    };
    sql(
        api,
        format!(
            "INSERT INTO log_checkpoints (tree_size, root, signed_at, key_name, note) \
             VALUES ({}, {root}, {}, 'x', {})",
            two.tree_size,
            match api.db.backend {
                Backend::Sqlite => quote("2026-12-01T00:00:00.000000Z"),
                Backend::Postgres => quote("2026-12-01T00:00:00Z"),
            },
            quote(&forged)
        ),
    )
    .await;
    // And the first one deleted: the copy kept outside shows it.
    sql(
        api,
        format!("DELETE FROM log_checkpoints WHERE id = {}", one.id),
    )
    .await;
    let exported = key.file("exported");
    std::fs::create_dir(&exported).unwrap();
    std::fs::write(exported.join("one.txt"), &one.note).unwrap();
    let report = verify(api, Some(&key), vec![one.note.clone()]).await;
    has_place(
        &report.findings,
        "checkpoint",
        Check::Checkpoint,
        "signed by another key",
    );
    has_place(
        &report.findings,
        "exported checkpoint 1",
        Check::Checkpoint,
        "not among the stored ones",
    );
    let cli = sopflow(&[
        "audit",
        "verify",
        "--database",
        &api.db.url,
        "--public-key",
        &key.arg("log.pub"),
        "--checkpoint",
        exported.to_str().unwrap(),
    ]);
    assert_eq!(cli.status.code(), Some(1), "{}", stdout(&cli));
    assert!(
        stdout(&cli).contains("checkpoint: refused: signed by another key"),
        "{}",
        stdout(&cli)
    );
    assert!(
        stdout(&cli).contains("exported checkpoint 1: checkpoint: the checkpoint signed at"),
        "{}",
        stdout(&cli)
    );
}

async fn a_consistent_rewrite_a_deleted_case_a_truncated_tail_and_a_deleted_reveal_are_named(
    api: &Api,
) {
    let s = staff(api).await;
    let key = Key::new();
    let mut cases = Vec::new();
    for _ in 0..4 {
        cases.push(full_case(api, &s).await);
    }
    reveal(api, &s, &cases[3]).await;
    sign(api, &key).await;
    assert!(verify(api, Some(&key), Vec::new()).await.ok());
    bypass_triggers(api).await;

    // 1. A consistent rewrite: another applicant's NIK and name, another operator, every hash
    //    recomputed and the head moved. The chain holds; the log does not.
    rewrite(
        api,
        &cases[0],
        |e| {
            if let sopflow_engine::case::EventBody::CaseStarted { data, .. } = &mut e.body {
                data.insert("nik".into(), json!("1312990101900099"));
                data.insert("nama_lengkap".into(), json!("Orang Lain"));
            }
            if e.by.user.as_ref() == "operator" {
                e.by.user = "mallory".into();
            }
        },
        false,
    )
    .await;

    // 2. A case deleted whole: its outbox rows, events, salt, references, search keys, calls
    //    and row.
    let c = quote(&cases[1]);
    for table in [
        "outbox",
        "events",
        "case_salts",
        "case_references",
        "case_search",
        "queue_calls",
        "cases",
    ] {
        sql(api, format!("DELETE FROM {table} WHERE case_id = {c}")).await;
    }

    // 3. A truncated tail: the last event gone, the head and projection put back on the one
    //    before, so the chain and the head agree.
    let history = events(api, &cases[2]).await;
    let n = history.len() as u64;
    let before = &history[history.len() - 2].1;
    let c = quote(&cases[2]);
    sql(
        api,
        format!("DELETE FROM events WHERE case_id = {c} AND seq = {n}"),
    )
    .await;
    sql(
        api,
        format!(
            "UPDATE cases SET version = {}, head_hash = {} WHERE case_id = {c}",
            n - 1,
            quote(&before.hash)
        ),
    )
    .await;

    // 4. A reveal deleted from the access log.
    let access = api
        .service
        .runtime
        .store
        .audit_accesses(0, 10)
        .await
        .unwrap();
    let reveal_id = access.iter().find(|a| a.revealed).unwrap().id;
    sql(
        api,
        format!("DELETE FROM audit_access WHERE id = {reveal_id}"),
    )
    .await;

    let report = verify(api, Some(&key), Vec::new()).await;
    let f = &report.findings;
    has_case(
        f,
        &cases[0],
        Some(1),
        Check::Log,
        "not the event the log recorded at leaf",
    );
    has_case(
        f,
        &cases[1],
        Some(1),
        Check::Log,
        "the event is missing, and the case with it",
    );
    has_case(
        f,
        &cases[2],
        Some(n),
        Check::Log,
        "the event is missing: the log recorded it",
    );
    has_place(
        f,
        &format!("access {reveal_id}"),
        Check::Log,
        "the access-log row is missing",
    );
    // The leaves were left as they were: the signed root still holds, and each change is
    // named against the leaf that recorded it (rewriting the leaves too is the next test).
    assert!(!f.iter().any(|x| x.check == Check::Checkpoint), "{f:#?}");
    assert!(
        f.iter()
            .all(|x| x.case_id.as_deref() != Some(cases[3].as_str())),
        "the untouched case verifies: {f:#?}"
    );
    // The rewrite is invisible to the chain: only the log names it.
    assert!(
        !f.iter()
            .any(|x| x.case_id.as_deref() == Some(cases[0].as_str()) && x.check == Check::Chain),
        "{f:#?}"
    );

    let cli = sopflow(&[
        "audit",
        "verify",
        "--database",
        &api.db.url,
        "--public-key",
        &key.arg("log.pub"),
    ]);
    let out = stdout(&cli);
    assert_eq!(cli.status.code(), Some(1), "{out}");
    for line in [
        format!(
            "MISMATCH case {} event 1: log: not the event the log recorded",
            cases[0]
        ),
        format!(
            "MISMATCH case {} event 1: log: the event is missing, and the case",
            cases[1]
        ),
        format!(
            "MISMATCH case {} event {n}: log: the event is missing",
            cases[2]
        ),
        format!("MISMATCH access {reveal_id}: log: the access-log row is missing"),
    ] {
        assert!(out.contains(&line), "expected `{line}` in:\n{out}");
    }
}

async fn rewriting_the_log_too_is_caught_by_the_signed_roots(api: &Api) {
    let s = staff(api).await;
    let key = Key::new();
    let early = full_case(api, &s).await;
    let first = sign(api, &key).await;
    let later = full_case(api, &s).await;
    let second = sign(api, &key).await;
    bypass_triggers(api).await;

    // The later case rewritten, its leaves recomputed to match: the leaves agree with the
    // events, only the signed root disagrees, and the first checkpoint still matching
    // narrows it down to the leaves signed since, naming the case.
    rewrite(
        api,
        &later,
        |e| {
            if e.by.user.as_ref() == "operator" {
                e.by.user = "mallory".into();
            }
        },
        true,
    )
    .await;
    let report = verify(api, Some(&key), Vec::new()).await;
    let f = &report.findings;
    assert!(
        !f.iter().any(|x| x.check == Check::Log),
        "the leaves were made to agree: {f:#?}"
    );
    has_place(
        f,
        &format!("checkpoint {}", second.id),
        Check::Checkpoint,
        &format!(
            "checkpoint {} (size {}) still matches, so the change is among leaves {}..{} (case {later})",
            first.id, first.tree_size, first.tree_size, second.tree_size
        ),
    );
    assert!(
        !f.iter()
            .any(|x| x.place.as_deref() == Some(&format!("checkpoint {}", first.id))),
        "the first checkpoint still matches: {f:#?}"
    );
    assert!(
        !f.iter()
            .any(|x| x.case_id.as_deref() == Some(early.as_str())),
        "the case before the first checkpoint is untouched: {f:#?}"
    );

    // The log's tail cut off (leaves and size): the checkpoint over it says so.
    let keep = first.tree_size;
    sql(api, format!("DELETE FROM log_leaves WHERE idx >= {keep}")).await;
    sql(api, format!("UPDATE log_size SET size = {keep}")).await;
    let report = verify(api, Some(&key), Vec::new()).await;
    has_place(
        &report.findings,
        &format!("checkpoint {}", second.id),
        Check::Checkpoint,
        "leaves were removed",
    );
    has_case(
        &report.findings,
        &later,
        Some(1),
        Check::Log,
        "not in the log",
    );
}

async fn projection_outbox_queue_and_sop_text_edits_are_found(api: &Api) {
    let s = staff(api).await;
    let printing = at_printer(api, &s).await;
    let edited = at_printer(api, &s).await;
    let done = full_case(api, &s).await;
    // Last: it stays in the queue, ahead of any case called after it.
    let waiting = open_case(api, &s).await;
    complete(api, &s.petugas, &waiting, "serahkan_berkas", json!({})).await;
    complete(api, &s.petugas, &waiting, "verifikasi_berkas", json!({})).await;
    let clean = verify(api, None, Vec::new()).await;
    assert!(clean.ok(), "{:#?}", clean.findings);
    bypass_triggers(api).await;

    // The projection: a waiting applicant dropped from the queue by a status edit.
    sql(
        api,
        format!(
            "UPDATE cases SET status = 'cancelled' WHERE case_id = {}",
            quote(&waiting)
        ),
    )
    .await;
    // The outbox: the print request of one case deleted, another's rewritten.
    sql(
        api,
        format!("DELETE FROM outbox WHERE case_id = {}", quote(&printing)),
    )
    .await;
    let row = &api
        .service
        .runtime
        .store
        .outbox_for_case(&edited)
        .await
        .unwrap()[0];
    let mut payload = row.payload.clone();
    payload["request"]["nik"] = json!("1312990101900099");
    let cast = match api.db.backend {
        Backend::Sqlite => "",
        Backend::Postgres => "::jsonb",
    };
    sql(
        api,
        format!(
            "UPDATE outbox SET payload = {}{cast} WHERE id = {}",
            quote(&payload.to_string()),
            row.id
        ),
    )
    .await;
    // The queue counter moved back: the next applicant would get a number already called.
    sql(api, "UPDATE queue_counters SET last_number = 1".into()).await;
    // The SOP text swapped, its stored hash with it.
    let stored = api
        .service
        .runtime
        .store
        .sop_version("ktp-el", 1)
        .await
        .unwrap()
        .unwrap();
    let swapped = stored.yaml.replace("budget: 2m", "budget: 20m");
    assert_ne!(swapped, stored.yaml);
    let hash = sopflow_engine::case::chain::sha256_hex(swapped.as_bytes());
    sql(
        api,
        format!(
            "UPDATE sop_versions SET yaml = {}, content_hash = {} WHERE sop_id = 'ktp-el' AND version = 1",
            quote(&swapped),
            quote(&hash)
        ),
    )
    .await;

    let report = verify(api, None, Vec::new()).await;
    let f = &report.findings;
    has_case(
        f,
        &waiting,
        None,
        Check::Projection,
        "status `cancelled` (the history says `open`)",
    );
    has_case(f, &printing, None, Check::Outbox, "has no outbox row");
    has_case(
        f,
        &edited,
        None,
        Check::Outbox,
        "is not the request this event asked for",
    );
    has_place(
        f,
        "queue kantor:ktp-el:cetak_ktp",
        Check::Queue,
        "the counter is at 1",
    );
    has_case(
        f,
        &done,
        Some(1),
        Check::Sop,
        "the case started on the text",
    );
    let cli = sopflow(&["audit", "verify", "--database", &api.db.url]);
    let out = stdout(&cli);
    assert_eq!(cli.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "MISMATCH case {waiting}: projection: the case is listed with status"
        )),
        "{out}"
    );
    assert!(
        out.contains("MISMATCH queue kantor:ktp-el:cetak_ktp "),
        "{out}"
    );
}

async fn erasure_removes_personal_data_and_everything_still_verifies(api: &Api) {
    let s = staff(api).await;
    let key = Key::new();
    let closed = full_case(api, &s).await;
    let open = at_printer(api, &s).await;
    let unrecorded = full_case(api, &s).await;
    let retained = full_case(api, &s).await;
    let before = sign(api, &key).await;

    // An open case keeps its data; a closed one is erased, with a reason.
    let refused = sopflow(&[
        "erase",
        &open,
        "--reason",
        "request",
        "--database",
        &api.db.url,
    ]);
    assert!(!refused.status.success());
    assert!(
        stdout(&refused).contains("only a closed case"),
        "{}",
        stdout(&refused)
    );
    let erased = sopflow(&[
        "erase",
        &closed,
        "--reason",
        "the applicant's request, letter 12/2026",
        "--database",
        &api.db.url,
    ]);
    assert!(erased.status.success(), "{}", stdout(&erased));
    let again = sopflow(&[
        "erase",
        &closed,
        "--reason",
        "again",
        "--database",
        &api.db.url,
    ]);
    assert!(
        stdout(&again).contains("was erased at"),
        "{}",
        stdout(&again)
    );

    let store = &api.service.runtime.store;
    let record = store.erasure_of(&closed).await.unwrap().unwrap();
    assert_eq!(record.source, "request");
    assert!(record.events > 0);
    assert!(store.case_salt(&closed).await.unwrap().is_none());
    for e in store.events(&closed).await.unwrap() {
        let text = e.payload.to_string();
        assert!(
            !text.contains(NIK) && !text.contains(NAME),
            "event {}: {text}",
            e.seq
        );
    }
    for o in store.outbox_for_case(&closed).await.unwrap() {
        let text = o.payload.to_string();
        assert!(
            !text.contains(NIK) && !text.contains(NAME),
            "outbox: {text}"
        );
    }
    let shown = api.get(&format!("/cases/{closed}"), &s.petugas).await;
    assert_eq!(shown.status, StatusCode::OK, "{}", shown.text);
    assert!(
        !shown.text.contains(NIK) && !shown.text.contains(NAME),
        "{}",
        shown.text
    );
    // A returning applicant's NIK no longer finds the erased case (its searchable hashes
    // went with the data); it still finds the cases that keep theirs.
    let found = api
        .post(
            "/cases/search",
            &s.petugas,
            json!({ "field": "nik", "value": NIK }),
        )
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    let ids: Vec<&str> = found.body["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["case_id"].as_str())
        .collect();
    assert!(!ids.contains(&closed.as_str()), "{ids:?}");
    assert!(ids.contains(&retained.as_str()), "{ids:?}");
    // The replay of the erased case still re-checks its decisions.
    let replay = api
        .get(&format!("/cases/{closed}/replay"), &s.auditor)
        .await;
    assert_eq!(replay.status, StatusCode::OK, "{}", replay.text);
    assert_eq!(replay.body["verified"], true, "{}", replay.text);

    // Chain, log and the checkpoint signed before the erasure all verify; a new checkpoint
    // covers the erasure's own leaf and is consistent with the one before.
    let after = sign(api, &key).await;
    assert_eq!(
        after.tree_size,
        before.tree_size + 1,
        "the erasure is a leaf"
    );
    let report = verify(api, Some(&key), vec![before.note.clone()]).await;
    assert!(report.ok(), "{:#?}", report.findings);
    assert_eq!(report.erased_cases, 1);

    // Personal data removed without a record: found.
    sql(
        api,
        format!(
            "DELETE FROM case_salts WHERE case_id = {}",
            quote(&unrecorded)
        ),
    )
    .await;
    let report = verify(api, Some(&key), Vec::new()).await;
    has_case(
        &report.findings,
        &unrecorded,
        None,
        Check::Erasure,
        "no erasure is recorded",
    );

    // The retention rule erases what is closed long enough, and only that.
    let now = time::OffsetDateTime::now_utc();
    let (done, refused) = erase_expired(
        store,
        now + time::Duration::minutes(1),
        "retention: closed more than 0 days ago",
        now,
        100,
    )
    .await
    .unwrap();
    let erased: Vec<&str> = done.iter().map(|e| e.case_id.as_str()).collect();
    assert_eq!(erased, [retained.as_str()], "refused: {refused:?}");
    assert!(refused.iter().any(|(c, _)| *c == unrecorded), "{refused:?}");
    assert_eq!(
        store.erasure_of(&retained).await.unwrap().unwrap().source,
        "retention"
    );
    assert!(store.erasure_of(&open).await.unwrap().is_none());
}

/// The store leaves a first event's prev_hash unstored when it is the genesis hash: the same
/// one the chain starts from.
#[test]
fn the_store_s_genesis_hash_is_the_chain_s() {
    assert_eq!(sopflow_store::GENESIS, GENESIS);
}
