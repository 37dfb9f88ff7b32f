//! The auditor's pages (inspektorat) in a real browser (headless Chromium through
//! chromium-driver) against a real `sopflow serve`: cases of two SOPs (KTP-el and Kartu
//! Keluarga) opened and advanced through the REST API; the auditor finds them (by SOP, by
//! registration number), reads each timeline (steps, who, documents, data, the guard values
//! and the branch taken, budget bars, the chain status of every event) with personal data
//! masked, reveals it with a reason and finds the reveal in the access log, verifies the case
//! and all cases (progress polled), downloads the anchor and an export (recorded with its
//! reason). Screenshots at 1366×768 in `target/screenshots/`. Runs when
//! `SOPFLOW_TEST_BROWSER=1`.

#![allow(clippy::unwrap_used)]

mod chromium;
mod process;

use std::time::Duration;

use chromium::Browser;
use fantoccini::Locator;
use process::{Server, add_person, add_user};
use serde_json::{Value, json};

const PASSWORD: &str = "kata-sandi-uji-1";
const NIK: &str = "1312990101900001";
const NAME: &str = "Contoh Pemohon Rahasia";
const KK_NIK: &str = "1312991203010002";
const REASON: &str = "Pemeriksaan pengaduan nomor 17/2026";

struct Office {
    server: Server,
    _dir: tempfile::TempDir,
    tokens: std::collections::HashMap<&'static str, String>,
}

impl Office {
    fn post(&self, role: &str, path: &str, body: Value) -> Value {
        let r = self.server.post(path, &self.tokens[role], &body);
        assert!(r.status < 300, "{path} as {role}: {} {}", r.status, r.text);
        r.body
    }

    fn complete(&self, role: &str, case: &str, step: &str, body: Value) -> Value {
        self.complete_unless_at(role, case, step, body, None)
            .unwrap_or_else(|| panic!("{step} of {case} was completed by someone else"))
    }

    /// Completes `step`, sent again on a conflict; `None` when the case was found at `then`
    /// instead (someone else completed the step: the answer is the conflict).
    fn complete_unless_at(
        &self,
        role: &str,
        case: &str,
        step: &str,
        body: Value,
        then: Option<&str>,
    ) -> Option<Value> {
        let path = format!("/cases/{case}/steps/{step}/complete");
        // The ticker may record the step's exceeded budget at the same moment: a conflict
        // then, and the command is sent again as a client would.
        // A loaded machine can lose the race a few times: back off as a client would.
        let mut last = String::new();
        for attempt in 1..=8 {
            let r = self.server.post(&path, &self.tokens[role], &body);
            if r.status != 409 {
                assert!(r.status < 300, "{path} as {role}: {} {}", r.status, r.text);
                return Some(r.body);
            }
            if then.is_some() && r.body["current_step"].as_str() == then {
                return None;
            }
            last = r.text;
            std::thread::sleep(Duration::from_millis(100 * attempt));
        }
        panic!("{path}: conflicts only, the last: {last}");
    }
}

fn office() -> Office {
    let dir = tempfile::tempdir().unwrap();
    let definitions = dir.path().join("sop-definitions");
    std::fs::create_dir_all(&definitions).unwrap();
    // Two-second step budgets: the recording check goes over its budget within the test.
    std::fs::write(
        definitions.join("ktp-el.yaml"),
        process::ktp_el_with_budgets("2s", "1h"),
    )
    .unwrap();
    let kk = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/sop-definitions/kartu-keluarga.yaml"
    ))
    .unwrap();
    std::fs::write(definitions.join("kartu-keluarga.yaml"), kk).unwrap();
    let database = format!("sqlite://{}", dir.path().join("sopflow.db").display());
    let server = Server::start_with_args("auditor-web", dir.path(), &database, &definitions, &[]);
    let mut tokens = std::collections::HashMap::new();
    for role in [
        "petugas_antrian",
        "operator_cetak",
        "petugas_fo",
        "petugas_loket",
    ] {
        tokens.insert(role, add_user(&database, &format!("api_{role}"), role));
    }
    add_person(&database, "inspektur", "auditor", PASSWORD);
    add_person(&database, "siti", "petugas_antrian", PASSWORD);
    Office {
        server,
        _dir: dir,
        tokens,
    }
}

/// A KTP-el case through the recording check (a guard on the recorded status chooses the
/// print branch) and the print: its id.
fn ktp_el_case(o: &Office) -> String {
    let opened = o.post(
        "petugas_antrian",
        "/cases",
        json!({ "sop_id": "ktp-el",
                "data": { "nik": NIK, "nama_lengkap": NAME, "alasan": "baru" },
                "documents": [{ "type": "fotokopi_kk", "number": "1312990101900009" }] }),
    );
    let case = opened["case_id"].as_str().unwrap().to_owned();
    o.complete("petugas_antrian", &case, "serahkan_berkas", json!({}));
    o.complete("petugas_antrian", &case, "verifikasi_berkas", json!({}));
    let called = o.post("operator_cetak", "/queues/cetak_ktp/call-next", json!({}));
    assert_eq!(called["case_id"], case.as_str());
    std::thread::sleep(Duration::from_millis(2500));
    o.complete(
        "operator_cetak",
        &case,
        "periksa_perekaman",
        json!({ "data": { "status_perekaman": "PRINT_READY_RECORD", "masalah_nik": false } }),
    );
    // The office's default printer prints the card too: its dispatcher may complete the step
    // before the operator does, and either leaves the case at the validation.
    o.complete_unless_at(
        "operator_cetak",
        &case,
        "cetak_ktp",
        json!({}),
        Some("validasi_ktp"),
    );
    case
}

/// A Kartu Keluarga case through its file check and SIAK verification: its id.
fn kk_case(o: &Office) -> String {
    let opened = o.post(
        "petugas_fo",
        "/cases",
        json!({ "sop_id": "kartu-keluarga", "data": { "jenis_permohonan": "kk_baru" }, "documents": [] }),
    );
    let case = opened["case_id"].as_str().unwrap().to_owned();
    o.post("petugas_fo", "/queues/antrian_kk/call-next", json!({}));
    o.complete(
        "petugas_fo",
        &case,
        "serahkan_persyaratan",
        json!({ "data": { "nik_pemohon": KK_NIK, "nama_pemohon": "Contoh Kepala" } }),
    );
    o.complete(
        "petugas_fo",
        &case,
        "teliti_berkas",
        json!({ "documents": [{ "type": "akta_perkawinan" }] }),
    );
    o.complete("petugas_loket", &case, "verifikasi_siak", json!({}));
    case
}

async fn count(b: &Browser, css: &str) -> usize {
    b.client.find_all(Locator::Css(css)).await.unwrap().len()
}

/// Searches by SOP and opens the one case found; the page's text.
async fn find_by_sop(b: &Browser, base: &str, sop: &str, case: &str) -> String {
    b.goto(&format!("{base}/periksa")).await;
    b.choose("#f-sop", sop).await;
    b.click("#audit-search").await;
    b.wait_text("Hasil pencarian", Duration::from_secs(10))
        .await;
    assert_eq!(
        count(b, ".audit-results tbody tr").await,
        1,
        "one {sop} case"
    );
    b.click(&format!("a[href='/periksa/berkas/{case}']")).await;
    b.find("#chain-status").await;
    b.text().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_reads_verifies_reveals_and_exports_in_a_real_browser() {
    if !chromium::enabled() {
        return;
    }
    let o = office();
    let ktp = ktp_el_case(&o);
    let kk = kk_case(&o);
    let base = o.server.base.clone();
    let b = Browser::start().await;

    // Not for an officer who does not audit.
    b.login(&base, "siti", PASSWORD).await;
    assert!(!b.has("a[href='/periksa']").await, "no audit link for siti");
    b.goto(&format!("{base}/periksa")).await;
    b.wait_text("Tidak diizinkan", Duration::from_secs(5)).await;
    b.goto(&format!("{base}/meja")).await;
    b.logout().await;

    b.login(&base, "inspektur", PASSWORD).await;
    b.click("header nav a[href='/periksa']").await;
    let text = b.wait_text("Cari berkas", Duration::from_secs(10)).await;
    assert!(!text.contains(NIK), "the list shows no NIK");
    assert_eq!(count(&b, ".audit-results tbody tr").await, 2, "{text}");
    b.screenshot("auditor-01-search").await;

    // The KTP-el case's timeline, masked.
    let text = find_by_sop(&b, &base, "ktp-el", &ktp).await;
    assert!(
        text.contains("Rantai hash dan semua keputusan terverifikasi"),
        "{text}"
    );
    for step in [
        "serahkan_berkas",
        "verifikasi_berkas",
        "periksa_perekaman",
        "cetak_ktp",
    ] {
        assert!(text.contains(step), "step {step} on the timeline:\n{text}");
    }
    assert!(
        !text.contains(NIK) && !text.contains(NAME),
        "masked:\n{text}"
    );
    assert!(text.contains("************0001"), "the NIK masked:\n{text}");
    assert!(text.contains("************0009"), "the KK number masked");
    assert!(text.contains("PRINT_READY_RECORD"), "the guard's value");
    assert!(text.contains("Cabang yang diambil"), "the branch taken");
    assert!(text.contains("api_operator_cetak"), "who did it");
    assert!(text.contains("operator_cetak"), "with their role");
    let events = count(&b, ".audit-events li").await;
    assert!(events >= 10, "every event listed: {events}");
    // A v2 event holds its command's facts: listed after the event's own kind.
    assert!(
        count(&b, ".audit-events li code.quiet").await >= events / 2,
        "the facts of each event"
    );
    assert!(
        text.contains("branch_taken") && text.contains("step_entered"),
        "{text}"
    );
    assert_eq!(
        count(&b, ".chain.ok").await,
        events,
        "every event's chain status is ok"
    );
    assert!(
        count(&b, "svg.budget-bar rect.fill").await >= 3,
        "budget bars"
    );
    assert!(
        count(&b, "svg.budget-bar.over rect.mark").await >= 1,
        "the step over its budget: a full bar with the budget marked inside"
    );
    assert!(text.contains("Melewati batas waktu"), "{text}");
    let registration = b
        .find("h1 code")
        .await
        .text()
        .await
        .unwrap()
        .trim()
        .to_owned();
    assert!(!registration.is_empty());
    b.screenshot("auditor-02-timeline").await;
    // The recording check: the guards with the values they read, the branch taken.
    let guards = b
        .js(
            "const t = [...document.querySelectorAll('table.guards')]
               .find(t => t.innerText.includes('PRINT_READY_RECORD'));
             if (!t) { return ''; }
             t.closest('section').scrollIntoView();
             return t.closest('section').innerText;",
            vec![],
        )
        .await;
    let guards = guards.as_str().unwrap();
    assert!(
        guards.contains("cetak_ktp"),
        "the branch to the print: {guards}"
    );
    assert!(guards.contains("benar"), "the guard that held: {guards}");
    b.screenshot("auditor-02b-timeline-branch").await;

    // Finding it again by its registration number (posted).
    b.goto(&format!("{base}/periksa")).await;
    b.type_into("#f-nomor", &registration).await;
    b.click("#audit-search").await;
    b.wait_text("Hasil pencarian", Duration::from_secs(10))
        .await;
    assert_eq!(count(&b, ".audit-results tbody tr").await, 1);
    assert!(b.path().await == "/periksa", "no number in the URL");
    b.click(&format!("a[href='/periksa/berkas/{ktp}']")).await;
    b.find("#chain-status").await;

    // Verify this case.
    b.click("#verify-case").await;
    let text = b
        .wait_text("Verifikasi berhasil", Duration::from_secs(10))
        .await;
    assert!(text.contains("tanpa temuan"), "{text}");

    // A reveal without a reason is refused beside the field (the browser's own check
    // removed to reach the server's).
    b.js(
        "document.getElementById('alasan').removeAttribute('required')",
        vec![],
    )
    .await;
    b.click("#reveal").await;
    b.wait_text("Alasan wajib diisi.", Duration::from_secs(10))
        .await;
    assert!(!b.text().await.contains(NIK));
    // With a reason: shown, and recorded.
    b.type_into("#alasan", REASON).await;
    b.click("#reveal").await;
    let text = b.wait_text(NIK, Duration::from_secs(10)).await;
    assert!(text.contains(NAME), "{text}");
    assert!(text.contains(REASON), "the reason is on the page");
    assert!(!b.url().await.contains("alasan"), "no reason in the URL");
    b.screenshot("auditor-03-revealed").await;

    // The access log: who, when, why.
    b.click(".audit-nav a[href='/periksa/akses']").await;
    let text = b.wait_text(REASON, Duration::from_secs(10)).await;
    assert!(text.contains("inspektur"), "{text}");
    assert!(text.contains(&format!("case {ktp}")), "{text}");
    assert!(text.contains("ditampilkan"), "{text}");
    b.screenshot("auditor-04-access-log").await;

    // The second SOP's timeline, through the same pages.
    let text = find_by_sop(&b, &base, "kartu-keluarga", &kk).await;
    assert!(
        text.contains("Rantai hash dan semua keputusan terverifikasi"),
        "{text}"
    );
    for step in [
        "serahkan_persyaratan",
        "teliti_berkas",
        "verifikasi_siak",
        "entri_data",
    ] {
        assert!(text.contains(step), "step {step}:\n{text}");
    }
    assert!(text.contains("akta_perkawinan"), "documents:\n{text}");
    assert!(!text.contains(KK_NIK), "masked:\n{text}");
    assert!(text.contains("************0002"), "{text}");
    assert!(text.contains("api_petugas_loket"), "{text}");
    assert_eq!(
        count(&b, ".chain.ok").await,
        count(&b, ".audit-events li").await
    );
    b.screenshot("auditor-05-timeline-kk").await;

    // Verify all, with progress.
    b.click(".audit-nav a[href='/periksa/alat']").await;
    b.click("#verify-all").await;
    let text = b
        .wait_text("Verifikasi berhasil", Duration::from_secs(20))
        .await;
    assert!(text.contains("2 / 2"), "{text}");
    let progress = b
        .find("#verify-job progress")
        .await
        .attr("value")
        .await
        .unwrap();
    assert_eq!(progress.as_deref(), Some("2"));
    b.screenshot("auditor-06-tools").await;

    // The anchor, as `sopflow audit verify --anchor` reads it.
    let anchor = b
        .client
        .execute_async(
            "const done = arguments[0]; fetch('/periksa/jangkar').then(r => r.json()).then(done, e => done(String(e)));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(anchor["format"], "sopflow-anchor/1", "{anchor}");
    assert_eq!(anchor["cases"], 2, "{anchor}");

    // An export over a date range, with a reason; masked.
    let today = time::OffsetDateTime::now_utc().date();
    let day = |d: time::Date| d.to_string();
    let exported = b
        .client
        .execute_async(
            "const [from, to, done] = arguments;
             const f = document.getElementById('export-form');
             f.querySelector('[name=dari]').value = from;
             f.querySelector('[name=sampai]').value = to;
             f.querySelector('[name=alasan]').value = 'Ekspor untuk laporan tahunan';
             fetch(f.action, { method: 'POST', body: new URLSearchParams(new FormData(f)) })
               .then(r => r.text().then(t => done([r.status, r.headers.get('content-disposition'), t])), e => done(String(e)));",
            vec![
                json!(day(today.previous_day().unwrap())),
                json!(day(today.next_day().unwrap())),
            ],
        )
        .await
        .unwrap();
    assert_eq!(exported[0], 200, "{exported}");
    assert!(exported[1].as_str().unwrap().contains("cases.jsonl"));
    let body = exported[2].as_str().unwrap();
    assert_eq!(body.lines().count(), 2, "two cases: {body}");
    assert!(!body.contains(NIK) && !body.contains(KK_NIK), "masked");
    // A bad export form: the messages beside the fields.
    b.goto(&format!("{base}/periksa/alat")).await;
    b.js(
        "document.querySelectorAll('#export-form [required]').forEach(e => e.removeAttribute('required'))",
        vec![],
    )
    .await;
    b.click("#export").await;
    let text = b
        .wait_text("Alasan wajib diisi.", Duration::from_secs(10))
        .await;
    assert!(text.contains("Wajib diisi."), "{text}");
    b.goto(&format!("{base}/periksa/akses")).await;
    let text = b
        .wait_text("Ekspor untuk laporan tahunan", Duration::from_secs(10))
        .await;
    assert!(text.contains("disamarkan"), "{text}");
    let newest = b.find("#access-log tbody tr").await.text().await.unwrap();
    assert!(
        newest.contains("export") && newest.contains("Ekspor untuk laporan tahunan"),
        "newest first: {newest}"
    );
    b.screenshot("auditor-07-access-log-export").await;
    b.logout().await;
}
