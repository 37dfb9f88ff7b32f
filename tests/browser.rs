//! The front office in a real browser (headless Chromium through chromium-driver) against a
//! real `sopflow serve`: a KTP-el case from opening to hand-over through the pages alone, a
//! case of a second SOP through its own generated forms, the display board, the citizen's
//! status page, the refusals, keyboard-only completion of a step form, and a screenshot of
//! each page at 1366×768 in `target/screenshots/`. Runs when `SOPFLOW_TEST_BROWSER=1`.

#![allow(clippy::unwrap_used)]

mod chromium;
mod process;

use std::path::Path;
use std::time::{Duration, Instant};

use chromium::Browser;
use process::{Server, add_person};
use serde_json::json;

const PASSWORD: &str = "kata-sandi-uji-1";

/// A second, synthetic SOP: a certificate of residence, with its own schema (a personal name
/// with a length limit, a number, a choice, a yes/no), a document required on a condition,
/// outcomes, and a step where the result is ready to collect.
const DOMISILI: &str = r#"
schema_version: 1
id: surat-domisili
header:
  government: PEMERINTAH KOTA CONTOH
  unit: KELURAHAN CONTOH
  number: 1/SOP/2026
  title: Surat Keterangan Domisili
  dates: {}
  approver: { title: Lurah, name: Contoh }
actors:
  - id: warga
    name: Warga
    recorded_by: [petugas_loket]
  - id: petugas_loket
    name: Petugas loket
  - id: lurah
    name: Lurah
documents:
  - id: ktp
    name: KTP pemohon
  - id: surat_rt
    name: Surat pengantar RT
    required_when: jenis == "tetap"
case_schema:
  type: object
  required: [nama, jenis]
  additionalProperties: false
  properties:
    nama:
      x-personal: true
      title: Nama pemohon
      type: string
      maxLength: 60
    rt:
      title: Nomor RT
      type: integer
      minimum: 1
      maximum: 99
    jenis:
      title: Jenis domisili
      enum: [tetap, sementara]
    sudah_lapor:
      title: Sudah lapor ke RT
      type: boolean
    catatan:
      title: Catatan lurah
      type: string
      maxLength: 200
start: ajukan
steps:
  - id: ajukan
    row: 1
    kind: task
    name: Ajukan permohonan
    activity: Warga menyerahkan permohonan dan kelengkapan
    actor: warga
    documents: [ktp, surat_rt]
    budget: 5m
    collects: [nama, rt, jenis, sudah_lapor]
    next: periksa
  - id: periksa
    row: 2
    kind: task
    name: Periksa dan tanda tangan
    activity: Lurah memeriksa permohonan dan menandatangani surat
    actor: lurah
    budget: 10m
    collects: [catatan]
    outcomes: [setuju, tolak]
    next:
      - to: serahkan
        when: outcome == "setuju"
        label: Disetujui
      - to: ditolak
        label: Ditolak
  - id: serahkan
    row: 3
    kind: task
    name: Serahkan surat
    activity: Petugas menyerahkan surat kepada warga
    actor: petugas_loket
    ready_to_collect: true
    next: selesai
  - id: selesai
    row: 3
    kind: end
    name: Selesai
    actor: warga
  - id: ditolak
    row: 2
    kind: end
    name: Ditolak
    actor: warga
"#;

struct Office {
    server: Server,
    database: String,
    definitions: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

fn office(name: &str, config: &str) -> Office {
    let dir = tempfile::tempdir().unwrap();
    let definitions = dir.path().join("sop-definitions");
    std::fs::create_dir_all(&definitions).unwrap();
    std::fs::write(definitions.join("ktp-el.yaml"), process::ktp_el_yaml()).unwrap();
    std::fs::write(definitions.join("surat-domisili.yaml"), DOMISILI).unwrap();
    let config_file = dir.path().join("sopflow.toml");
    std::fs::write(&config_file, config).unwrap();
    let database = format!("sqlite://{}", dir.path().join("sopflow.db").display());
    let server = Server::start_with_args(
        name,
        dir.path(),
        &database,
        &definitions,
        &["--config", config_file.to_str().unwrap()],
    );
    for (user, role) in [
        ("siti", "petugas_antrian"),
        ("budi", "operator_cetak"),
        ("rina", "petugas_loket"),
        ("pak_lurah", "lurah"),
    ] {
        add_person(&database, user, role, PASSWORD);
    }
    Office {
        server,
        database,
        definitions,
        _dir: dir,
    }
}

const CONFIG: &str = r#"
[[service_points]]
id = "kantor_dinas"
name = "Kantor Dinas Contoh"
timezone = "Asia/Jakarta"
counters = ["Loket 1", "Loket 2", "Loket 3"]
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn front_office_in_a_real_browser() {
    if !chromium::enabled() {
        return;
    }
    let mut office = office("web", CONFIG);
    let b = Browser::start().await;
    let base = office.server.base.clone();

    // The first start printed the admin's password once, on standard output only.
    let first = office.server.output();
    assert!(first.contains("created `admin`"), "{first}");

    let case = ktp_el_from_opening_to_hand_over(&b, &mut office).await;
    second_sop_through_its_own_forms(&b, &base).await;
    refusals(&b, &base, &case).await;
    keyboard_only(&b, &base).await;
    pages_answer_unknown_paths_in_their_own_shape(&b, &base).await;
    expired_session(&b).await;
}

/// Opens a KTP-el case at the desk, verifies it, calls it at the counter (the board shows
/// the call, also after a restart), records the print check, validates and hands over; the
/// citizen's page follows along. Returns the case id.
async fn ktp_el_from_opening_to_hand_over(b: &Browser, office: &mut Office) -> String {
    let base = office.server.base.clone();
    b.goto(&format!("{base}/")).await;
    assert_eq!(
        b.path().await,
        "/masuk",
        "the root sends strangers to the login"
    );
    b.screenshot("01-login").await;
    b.login(&base, "siti", PASSWORD).await;
    assert_eq!(b.path().await, "/meja");
    b.screenshot("02-desk-empty").await;

    // Opening: the form comes from the SOP's schema and first step.
    b.click("a[href='/baru']").await;
    b.click("a[href='/baru/ktp-el']").await;
    b.find("#f-nik").await;
    let pattern = b
        .js(
            "return document.getElementById('f-nik').getAttribute('pattern')",
            vec![],
        )
        .await;
    assert_eq!(pattern, json!("^[0-9]{16}$"));
    b.type_into("#f-nik", "1312990101900001").await;
    b.type_into("#f-nama_lengkap", "Contoh Pemohon").await;
    // The checklist follows the reason: lost card, the police letter becomes required.
    let status = |doc: &str| format!("document.getElementById('doc-status-{doc}').innerText");
    assert_eq!(
        b.js(&format!("return {}", status("surat_kehilangan")), vec![])
            .await,
        json!("Tidak diperlukan")
    );
    b.choose("#f-alasan", "hilang").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while b
        .js(&format!("return {}", status("surat_kehilangan")), vec![])
        .await
        != json!("Belum ada")
    {
        assert!(
            Instant::now() < deadline,
            "the checklist did not follow the reason"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    b.click("input[name='d.fotokopi_kk']").await;
    b.screenshot("03-open-case-form").await;
    b.click("form.step-form button[type=submit]").await;

    // The receipt: registration number, tracking code, no NIK, no name.
    let text = b.wait_text("TANDA TERIMA", Duration::from_secs(10)).await;
    assert!(text.contains("KTP-EL-"), "{text}");
    assert!(
        !text.contains("1312990101900001") && !text.contains("Contoh Pemohon"),
        "{text}"
    );
    let code = b
        .js(
            "return document.querySelector('.receipt .code').innerText",
            vec![],
        )
        .await;
    let code = code.as_str().unwrap().to_owned();
    assert_eq!(code.len(), 14, "{code}");
    let registration = b
        .js(
            "return document.querySelector('.receipt dd code').innerText",
            vec![],
        )
        .await;
    let registration = registration.as_str().unwrap().to_owned();
    assert!(!b.url().await.contains("1312990101900001"));
    b.screenshot("04-receipt").await;
    let case_path = b
        .js(
            "return document.querySelector('a[href^=\"/berkas/\"]').getAttribute('href')",
            vec![],
        )
        .await;
    let case_path = case_path.as_str().unwrap().to_owned();
    let case_id = case_path.trim_start_matches("/berkas/").to_owned();

    // The citizen's page, before the queue.
    check_status(b, &base, &code, "Sedang diproses").await;

    // The desk lists the verification; the file is incomplete (no police letter): back it goes.
    b.goto(&format!("{base}/meja")).await;
    let desk = b.wait_text(&registration, Duration::from_secs(10)).await;
    assert!(desk.contains("Verifikasi berkas"), "{desk}");
    // Finding a returning applicant by registration number.
    b.type_into("#find", &registration.to_lowercase()).await;
    b.click("form.find button").await;
    b.find("form.step-form").await;
    assert_eq!(b.path().await, case_path);
    b.screenshot("05-case-step-form").await;
    b.click("form.step-form button[type=submit]").await;
    // Returned to the applicant's hand-in step (the same officer records it): now complete.
    b.wait_text("Serahkan berkas", Duration::from_secs(10))
        .await;
    b.click("input[name='d.surat_kehilangan']").await;
    b.click("form.step-form button[type=submit]").await;
    b.wait_text("Verifikasi berkas", Duration::from_secs(10))
        .await;
    b.click("form.step-form button[type=submit]").await;
    b.wait_text("Langkah selesai dicatat", Duration::from_secs(10))
        .await;
    b.goto(&format!("{base}{case_path}")).await;
    let text = b.wait_text("A-001", Duration::from_secs(10)).await;
    assert!(text.contains("Tunggu antrian"), "{text}");
    b.logout().await;

    // The print operator at Loket 2; the board in a second window.
    b.login(&base, "budi", PASSWORD).await;
    b.goto(&format!("{base}/loket")).await;
    b.choose("#counter", "kantor_dinas/loket_2").await;
    b.click("form[action='/loket/meja'] button").await;
    b.wait_text("1 menunggu", Duration::from_secs(5)).await;
    b.screenshot("06-counter").await;
    let desk_window = b.client.window().await.unwrap();
    let board_window = b.client.new_window(false).await.unwrap().handle;
    b.client
        .switch_to_window(board_window.clone())
        .await
        .unwrap();
    b.goto(&format!("{base}/papan")).await;
    wait_board_connected(b).await;
    b.screenshot("07-board-before-call").await;
    b.client
        .switch_to_window(desk_window.clone())
        .await
        .unwrap();
    b.click("form[action='/loket/panggil/cetak_ktp'] button")
        .await;
    let called = Instant::now();
    b.find("#f-status_perekaman").await;
    assert_eq!(
        b.path().await,
        case_path,
        "the called case opens on its step form"
    );
    b.client
        .switch_to_window(board_window.clone())
        .await
        .unwrap();
    wait_board_call(b, "A-001", "Loket 2").await;
    let latency = called.elapsed();
    assert!(
        latency < Duration::from_secs(2),
        "the board showed the call after {latency:?}"
    );
    b.screenshot("08-board-called").await;
    let board_text = b.text().await;
    assert!(!board_text.contains("Contoh Pemohon") && !board_text.contains("1312990101900001"));

    // The server restarts: the board reconnects by itself and shows the next call.
    let opened = board_opened(b).await;
    assert!(opened >= 1, "the board's stream opened");
    let config_file = office._dir.path().join("sopflow.toml");
    office.server.restart(
        &office.database,
        &office.definitions,
        &["--config", config_file.to_str().unwrap()],
    );
    b.client
        .switch_to_window(board_window.clone())
        .await
        .unwrap();
    wait_board_reconnected(b, opened).await;
    b.client
        .switch_to_window(desk_window.clone())
        .await
        .unwrap();
    b.goto(&format!("{base}{case_path}")).await;
    // The session lives in the store: the restart did not log the operator out.
    b.find("#f-status_perekaman").await;
    b.goto(&format!("{base}/loket")).await;
    // The counter's last call is kept in the store: the new process can recall it.
    let recall = b.has("form[action='/loket/ulang']").await;
    assert!(recall, "the counter knows its last call after the restart");
    // Back at the step: the record is single, no NIK problem: the card prints by itself.
    b.client
        .switch_to_window(desk_window.clone())
        .await
        .unwrap();
    b.goto(&format!("{base}{case_path}")).await;
    b.choose("#f-status_perekaman", "PRINT_READY_RECORD").await;
    b.click("#f-masalah_nik-no").await;
    b.click("form.step-form button[type=submit]").await;
    b.wait_text("Langkah selesai dicatat", Duration::from_secs(10))
        .await;
    b.logout().await;

    // Validation and hand-over by the queue officer; the citizen sees "ready to collect".
    b.login(&base, "siti", PASSWORD).await;
    b.goto(&format!("{base}{case_path}")).await;
    b.wait_text("Validasi KTP-el", Duration::from_secs(20))
        .await;
    check_status(b, &base, &code, "Siap diambil").await;
    b.goto(&format!("{base}{case_path}")).await;
    b.find("input[name='d.ktp_el_tercetak']")
        .await
        .click()
        .await
        .unwrap();
    b.click("form.step-form button[type=submit]").await;
    b.wait_text("Terima KTP-el", Duration::from_secs(10)).await;
    b.click("form.step-form button[type=submit]").await;
    b.wait_text("Langkah selesai dicatat", Duration::from_secs(10))
        .await;
    b.goto(&format!("{base}{case_path}")).await;
    b.wait_text("Selesai", Duration::from_secs(5)).await;
    check_status(b, &base, &code, "Selesai").await;

    // A second call after the restart reaches the reconnected board; then a recall.
    open_and_verify_second_ktp_case(b, &base).await;
    b.logout().await;
    b.login(&base, "budi", PASSWORD).await;
    b.goto(&format!("{base}/loket")).await;
    // The counter is chosen per session: a new login chooses again.
    b.choose("#counter", "kantor_dinas/loket_2").await;
    b.click("form[action='/loket/meja'] button").await;
    b.wait_text("1 menunggu", Duration::from_secs(5)).await;
    b.click("form[action='/loket/panggil/cetak_ktp'] button")
        .await;
    b.find("#f-status_perekaman").await;
    b.client
        .switch_to_window(board_window.clone())
        .await
        .unwrap();
    wait_board_call(b, "A-002", "Loket 2").await;
    b.client
        .switch_to_window(desk_window.clone())
        .await
        .unwrap();
    b.goto(&format!("{base}/loket")).await;
    b.click("form[action='/loket/ulang'] button").await;
    b.client
        .switch_to_window(board_window.clone())
        .await
        .unwrap();
    // The recall is announced again: A-002 stays the number served and is listed once more.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let listed = b
            .js("return Array.from(document.querySelectorAll('#board .recent li')).map(l => l.innerText)", vec![])
            .await;
        if listed
            .as_array()
            .is_some_and(|l| l.iter().any(|t| t.as_str().unwrap_or("").contains("A-002")))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the recall is not listed: {listed}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_board_call(b, "A-002", "Loket 2").await;
    b.client.close_window().await.unwrap();
    b.client.switch_to_window(desk_window).await.unwrap();
    b.logout().await;
    case_id
}

async fn open_and_verify_second_ktp_case(b: &Browser, base: &str) {
    b.goto(&format!("{base}/baru/ktp-el")).await;
    b.type_into("#f-nik", "1312990101900002").await;
    b.choose("#f-alasan", "baru").await;
    b.click("input[name='d.fotokopi_kk']").await;
    b.click("form.step-form button[type=submit]").await;
    b.wait_text("TANDA TERIMA", Duration::from_secs(10)).await;
    b.click(".receipt-page a[href^='/berkas/']").await;
    b.wait_text("Verifikasi berkas", Duration::from_secs(10))
        .await;
    b.click("form.step-form button[type=submit]").await;
    b.wait_text("Langkah selesai dicatat", Duration::from_secs(10))
        .await;
}

async fn check_status(b: &Browser, base: &str, code: &str, expected: &str) {
    b.goto(&format!("{base}/status")).await;
    b.type_into("#kode", &code.to_lowercase().replace('-', " "))
        .await;
    b.click("form[action='/status'] button").await;
    let text = b.wait_text(expected, Duration::from_secs(5)).await;
    assert!(
        text.contains("Penerbitan Kartu Tanda Penduduk Elektronik"),
        "{text}"
    );
    assert!(
        !text.contains("1312990101900001") && !text.contains("Contoh Pemohon"),
        "{text}"
    );
    assert_eq!(
        b.path().await,
        "/status",
        "the code is posted, not put in the URL"
    );
    if expected == "Siap diambil" {
        b.screenshot("09-status-ready").await;
    }
}

async fn wait_board_connected(b: &Browser) {
    // The stream's first event replaces the content; the indicator stays hidden.
    b.find("#board .now").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
}

async fn wait_board_call(b: &Browser, number: &str, counter: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = b
            .js(
                "var c = document.querySelector('#board .now .call'); return c ? c.innerText : ''",
                vec![],
            )
            .await;
        let now = now.as_str().unwrap_or_default().to_owned();
        if now.contains(number) && now.contains(counter) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the board shows {now:?}, not {number} → {counter}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How many times the board's event stream has opened.
async fn board_opened(b: &Browser) -> u64 {
    let opened = b
        .js(
            "return document.body.getAttribute('data-opened') || '0'",
            vec![],
        )
        .await;
    opened.as_str().and_then(|n| n.parse().ok()).unwrap_or(0)
}

async fn wait_board_reconnected(b: &Browser, before: u64) {
    // EventSource retries by itself (htmx's extension opens it again if it gave up).
    let deadline = Instant::now() + Duration::from_secs(30);
    while board_opened(b).await <= before {
        assert!(Instant::now() < deadline, "the board did not reconnect");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The new process's first event shows the calls of the day from the store.
    wait_board_call(b, "A-001", "Loket 2").await;
}

/// A certificate of residence, through the forms its own SOP generates: a personal name with
/// markup (shown as text), a number, a choice with a conditional document, yes/no, outcomes.
async fn second_sop_through_its_own_forms(b: &Browser, base: &str) {
    b.login(base, "rina", PASSWORD).await;
    b.goto(&format!("{base}/baru")).await;
    let choices = b.text().await;
    assert!(choices.contains("Surat Keterangan Domisili"), "{choices}");
    assert!(
        !choices.contains("Penerbitan Kartu"),
        "rina does not open KTP-el cases: {choices}"
    );
    b.click("a[href='/baru/surat-domisili']").await;
    // Under the field's 60 characters.
    let markup = "<img src=x id=injected><script>document.title=1</script>";
    b.type_into("#f-nama", markup).await;
    assert_eq!(
        b.js(
            "return document.getElementById('f-nama').getAttribute('maxlength')",
            vec![]
        )
        .await,
        json!("60")
    );
    b.type_into("#f-rt", "7").await;
    b.choose("#f-jenis", "tetap").await;
    b.click("#f-sudah_lapor").await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while b
        .js(
            "return document.getElementById('doc-status-surat_rt').innerText",
            vec![],
        )
        .await
        != json!("Belum ada")
    {
        assert!(
            Instant::now() < deadline,
            "the RT letter did not become required"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    b.click("input[name='d.ktp']").await;
    b.click("input[name='d.surat_rt']").await;
    b.click("form.step-form button[type=submit]").await;
    b.wait_text("TANDA TERIMA", Duration::from_secs(10)).await;
    let code = b
        .js(
            "return document.querySelector('.receipt .code').innerText",
            vec![],
        )
        .await;
    let code = code.as_str().unwrap().to_owned();
    b.click(".receipt-page a[href^='/berkas/']").await;
    // The name is text: no injected element, no script run.
    let text = b
        .wait_text("Periksa dan tanda tangan", Duration::from_secs(10))
        .await;
    assert!(text.contains(markup), "{text}");
    assert!(!b.has("#injected").await);
    assert_ne!(b.js("return document.title", vec![]).await, json!("1"));
    assert!(
        !b.has("form.step-form").await,
        "the lurah's step is not the counter's"
    );
    assert!(text.contains("lurah"), "{text}");
    b.screenshot("10-case-other-role").await;
    let case_path = b.path().await;
    b.logout().await;

    // The lurah: outcomes as buttons, a note, then approve.
    b.login(base, "pak_lurah", PASSWORD).await;
    b.goto(&format!("{base}/meja")).await;
    let desk = b
        .wait_text("Periksa dan tanda tangan", Duration::from_secs(10))
        .await;
    assert!(desk.contains("Surat Keterangan Domisili"), "{desk}");
    b.screenshot("11-desk-lurah").await;
    b.goto(&format!("{base}{case_path}")).await;
    // The lurah works the case: the name is shown (as text).
    assert!(b.text().await.contains(markup));
    b.type_into("#f-catatan", "Sesuai").await;
    b.click("button[name=outcome][value=setuju]").await;
    b.wait_text("Langkah selesai dicatat", Duration::from_secs(10))
        .await;
    b.logout().await;

    // Ready to collect, then handed over at the counter.
    b.goto(&format!("{base}/status")).await;
    b.type_into("#kode", &code).await;
    b.click("form[action='/status'] button").await;
    let text = b.wait_text("Siap diambil", Duration::from_secs(5)).await;
    assert!(
        text.contains("Surat Keterangan Domisili") && text.contains("Serahkan surat"),
        "{text}"
    );
    assert!(!text.contains("injected"));
    b.login(base, "rina", PASSWORD).await;
    b.goto(&format!("{base}{case_path}")).await;
    b.click("form.step-form button[type=submit]").await;
    b.wait_text("Langkah selesai dicatat", Duration::from_secs(10))
        .await;
    b.logout().await;

    // A wrong code, and a malformed one, get the same answer.
    for typed in ["ZZZZ-ZZZZ-ZZZZ", "<b>x</b>"] {
        b.goto(&format!("{base}/status")).await;
        b.type_into("#kode", typed).await;
        b.click("form[action='/status'] button").await;
        let text = b
            .wait_text("Kode tidak dikenal", Duration::from_secs(5))
            .await;
        assert!(!text.contains("Layanan"), "{text}");
    }
    b.screenshot("12-status-unknown").await;
}

/// A form posted without its CSRF token, a step of another role, a schema error beside its
/// field, two officers on one task.
async fn refusals(b: &Browser, base: &str, _case: &str) {
    b.login(base, "siti", PASSWORD).await;
    b.goto(&format!("{base}/baru/ktp-el")).await;
    // Posted without its token (as a forged form would be): refused, nothing opened.
    let answer = b
        .js(
            "return fetch('/baru/ktp-el', {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'f.nik=1312990101900003&f.alasan=baru'}).then(r => r.text().then(t => [r.status, t]))",
            vec![],
        )
        .await;
    assert_eq!(answer[0], json!(403), "{answer}");
    assert!(
        answer[1].as_str().unwrap().contains("Formulir ditolak"),
        "{answer}"
    );
    // With the token, a wrong NIK passes the browser only with the check removed; the
    // server's answer appears beside the field.
    b.js(
        "document.getElementById('f-nik').removeAttribute('pattern')",
        vec![],
    )
    .await;
    b.type_into("#f-nik", "12345").await;
    b.choose("#f-alasan", "baru").await;
    b.click("form.step-form button[type=submit]").await;
    let text = b
        .wait_text("Format tidak sesuai", Duration::from_secs(5))
        .await;
    assert!(text.contains("Isian belum dapat disimpan"), "{text}");
    let beside = b
        .js(
            "return document.getElementById('f-nik-error').innerText",
            vec![],
        )
        .await;
    assert_eq!(beside, json!("Format tidak sesuai."));
    assert_eq!(
        b.js(
            "return document.getElementById('f-nik').getAttribute('aria-invalid')",
            vec![]
        )
        .await,
        json!("true")
    );
    assert_eq!(
        b.js("return document.activeElement.id", vec![]).await,
        json!("form-errors"),
        "the keyboard is taken to the list of what to fix"
    );
    b.screenshot("13-open-case-error").await;
    // A step of another role, posted with a valid token: refused by the core.
    let case = open_ktp_case(b, base, "1312990101900004").await;
    b.logout().await;
    b.login(base, "budi", PASSWORD).await;
    b.goto(&format!("{base}/berkas/{case}")).await;
    let text = b.text().await;
    assert!(!b.has("form.step-form").await, "{text}");
    let answer = b
        .js(
            "var t = document.querySelector('form[action=\"/keluar\"] input[name=_csrf]').value; return fetch(location.pathname + '/langkah/verifikasi_berkas', {method: 'POST', headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: '_csrf=' + encodeURIComponent(t)}).then(r => r.text().then(x => [r.status, x]))",
            vec![],
        )
        .await;
    assert_eq!(answer[0], json!(403), "{answer}");
    assert!(
        answer[1].as_str().unwrap().contains("tidak boleh mencatat"),
        "{answer}"
    );
    b.logout().await;
    // Two officers on the same task: the second is told the case moved on.
    b.login(base, "siti", PASSWORD).await;
    b.goto(&format!("{base}/berkas/{case}")).await;
    b.find("form.step-form").await;
    let stale = b
        .js(
            "return document.querySelector('input[name=versi]').value",
            vec![],
        )
        .await;
    let moved = b
        .js(
            "var f = document.querySelector('form.step-form'); var d = new URLSearchParams(new FormData(f)); return fetch(f.action, {method: 'POST', body: d}).then(r => r.status)",
            vec![],
        )
        .await;
    assert!(
        moved == json!(200),
        "the first completion goes through: {moved} (version {stale})"
    );
    b.click("form.step-form button[type=submit]").await;
    let text = b.wait_text("sudah berubah", Duration::from_secs(5)).await;
    assert!(text.contains("Tunggu antrian"), "{text}");
    b.logout().await;
}

async fn open_ktp_case(b: &Browser, base: &str, nik: &str) -> String {
    b.goto(&format!("{base}/baru/ktp-el")).await;
    b.type_into("#f-nik", nik).await;
    b.choose("#f-alasan", "baru").await;
    b.click("input[name='d.fotokopi_kk']").await;
    b.click("form.step-form button[type=submit]").await;
    b.wait_text("TANDA TERIMA", Duration::from_secs(10)).await;
    let href = b.js("return document.querySelector('.receipt-page a[href^=\"/berkas/\"]').getAttribute('href')", vec![]).await;
    href.as_str()
        .unwrap()
        .trim_start_matches("/berkas/")
        .to_owned()
}

/// The verification form completed with the keyboard alone: every control has a label, Tab
/// goes through them in the page's order, Space ticks, Enter sends.
async fn keyboard_only(b: &Browser, base: &str) {
    b.login(base, "siti", PASSWORD).await;
    let case = open_ktp_case(b, base, "1312990101900005").await;
    b.goto(&format!("{base}/berkas/{case}")).await;
    b.find("form.step-form").await;
    let unlabelled = b
        .js(
            "return Array.from(document.querySelectorAll('form.step-form input:not([type=hidden]), form.step-form select')).filter(e => e.labels.length === 0).map(e => e.name)",
            vec![],
        )
        .await;
    assert_eq!(unlabelled, json!([]), "every control has a label");
    // From the top of the page, Tab until the form's first control.
    b.js(
        "document.activeElement.blur(); window.scrollTo(0, 0)",
        vec![],
    )
    .await;
    let mut order = Vec::new();
    for _ in 0..40 {
        b.client
            .active_element()
            .await
            .unwrap()
            .send_keys("\u{e004}")
            .await
            .unwrap();
        let id = b
            .js("var e = document.activeElement; return e.closest('form.step-form') ? (e.id || e.name || e.textContent.trim()) : ''", vec![])
            .await;
        let id = id.as_str().unwrap_or_default().to_owned();
        if !id.is_empty() {
            order.push(id.clone());
        }
        if id.starts_with("f-alasan") {
            break;
        }
    }
    assert_eq!(
        order.first().map(String::as_str),
        Some("f-alasan"),
        "{order:?}"
    );
    // A choice by typing, on to the documents with Tab, ticked with Space.
    let active = b.client.active_element().await.unwrap();
    active.send_keys("Rusak").await.unwrap();
    let mut ticked = Vec::new();
    for _ in 0..6 {
        b.client
            .active_element()
            .await
            .unwrap()
            .send_keys("\u{e004}")
            .await
            .unwrap();
        let name = b
            .js(
                "return document.activeElement.name || document.activeElement.tagName",
                vec![],
            )
            .await;
        let name = name.as_str().unwrap_or_default().to_owned();
        if name.starts_with("d.") {
            let checked = b.js("return document.activeElement.checked", vec![]).await;
            // The reason "rusak" needs the old card; the police letter is not needed.
            if checked != json!(true) && name != "d.surat_kehilangan" {
                b.client
                    .active_element()
                    .await
                    .unwrap()
                    .send_keys(" ")
                    .await
                    .unwrap();
            }
            ticked.push(name);
        } else {
            break;
        }
    }
    assert_eq!(
        ticked,
        ["d.fotokopi_kk", "d.ktp_lama", "d.surat_kehilangan"],
        "documents in order"
    );
    let on_button = b.js("return document.activeElement.type", vec![]).await;
    assert_eq!(
        on_button,
        json!("submit"),
        "the button comes after the documents"
    );
    b.screenshot("14-keyboard-form").await;
    b.client
        .active_element()
        .await
        .unwrap()
        .send_keys("\u{e007}")
        .await
        .unwrap();
    b.wait_text("Langkah selesai dicatat", Duration::from_secs(10))
        .await;
    b.goto(&format!("{base}/berkas/{case}")).await;
    let text = b.wait_text("Tunggu antrian", Duration::from_secs(5)).await;
    assert!(
        text.contains("Rusak"),
        "the reason chosen by keyboard was recorded: {text}"
    );
    b.logout().await;
}

/// Unknown page paths and wrong methods get HTML pages; the API keeps problem+json.
async fn pages_answer_unknown_paths_in_their_own_shape(b: &Browser, base: &str) {
    b.goto(&format!("{base}/meja/tidak-ada")).await;
    let text = b.text().await;
    assert!(text.contains("Halaman tidak ditemukan"), "{text}");
    b.screenshot("15-not-found").await;
    let answers = b
        .js(
            "return Promise.all([fetch('/berkas/x/tanda-terima', {method: 'DELETE'}), fetch('/cases/nope'), fetch('/tidak-ada')]).then(rs => rs.map(r => [r.status, r.headers.get('content-type')]))",
            vec![],
        )
        .await;
    assert_eq!(answers[0][0], json!(405), "{answers}");
    assert!(
        answers[0][1].as_str().unwrap().starts_with("text/html"),
        "{answers}"
    );
    assert!(
        answers[1][1]
            .as_str()
            .unwrap()
            .starts_with("application/problem+json"),
        "{answers}"
    );
    assert!(
        answers[2][1]
            .as_str()
            .unwrap()
            .starts_with("application/problem+json")
            || answers[2][1].as_str().unwrap().starts_with("text/html"),
        "{answers}"
    );
    // The language switch, remembered for the browser session.
    b.goto(&format!("{base}/status")).await;
    b.click("a.lang").await;
    let text = b
        .wait_text("Check an application's status", Duration::from_secs(5))
        .await;
    assert!(text.contains("Tracking code"), "{text}");
    b.goto(&format!("{base}/masuk")).await;
    b.wait_text("Log in", Duration::from_secs(5)).await;
    b.click("a.lang").await;
    b.wait_text("Nama pengguna", Duration::from_secs(5)).await;
}

/// A session idle past its limit ends: the next form post is refused and the officer logs in
/// again.
async fn expired_session(b: &Browser) {
    let office = office("web-idle", "session_idle = \"2s\"\n");
    let base = office.server.base.clone();
    b.login(&base, "siti", PASSWORD).await;
    b.goto(&format!("{base}/baru/ktp-el")).await;
    b.type_into("#f-nik", "1312990101900009").await;
    b.choose("#f-alasan", "baru").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    b.click("form.step-form button[type=submit]").await;
    let text = b.wait_text("Sesi berakhir", Duration::from_secs(5)).await;
    assert!(text.contains("masuk kembali"), "{text}");
    b.screenshot("16-session-ended").await;
    b.goto(&format!("{base}/meja")).await;
    assert_eq!(
        b.path().await,
        "/masuk",
        "the desk asks for the login again"
    );
    let _ = Path::new("");
}
