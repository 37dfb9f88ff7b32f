//! The supervisor's pages and the satisfaction survey in a real browser (headless Chromium
//! through chromium-driver) against a real `sopflow serve`: a supervisor watches a service
//! point live and sees a case's step budget (30 seconds, in an SOP written here) run out
//! without reloading; the case is handed over and the citizen answers the survey from the
//! status page, a second citizen from the kiosk; a case answers only once; the supervisor's
//! IKM changes with each answer, under either weighting; the report's tables, charts and CSV.
//! Screenshots at 1366×768 in `target/screenshots/sv-*.png`. Runs when
//! `SOPFLOW_TEST_BROWSER=1`.

#![allow(clippy::unwrap_used)]

mod chromium;
mod process;

use std::time::{Duration, Instant};

use chromium::Browser;
use process::{Server, add_person};
use serde_json::{Value, json};

const PASSWORD: &str = "kata-sandi-uji-1";

/// A short SOP written for this test: the processing step has 30 seconds (wall clock).
const PENGANTAR: &str = r#"
schema_version: 1
id: surat-pengantar
header:
  government: PEMERINTAH KOTA CONTOH
  unit: KELURAHAN CONTOH
  number: 2/SOP/2026
  title: Surat Pengantar Contoh
  dates: {}
  approver: { title: Lurah, name: Contoh }
actors:
  - id: pemohon
    name: Pemohon
    recorded_by: [petugas]
  - id: petugas
    name: Petugas
case_schema:
  type: object
  required: [nama]
  additionalProperties: false
  properties:
    nama:
      x-personal: true
      title: Nama pemohon
      type: string
      maxLength: 60
start: ajukan
steps:
  - id: ajukan
    row: 1
    kind: task
    name: Ajukan permohonan
    activity: Pemohon menyerahkan permohonan
    actor: pemohon
    budget: 5 menit
    collects: [nama]
    next: proses
  - id: proses
    row: 2
    kind: task
    name: Proses surat
    activity: Petugas membuat surat pengantar
    actor: petugas
    budget: 30 detik
    budget_clock: wall
    next: serahkan
  - id: serahkan
    row: 3
    kind: task
    name: Serahkan surat
    activity: Petugas menyerahkan surat
    actor: petugas
    ready_to_collect: true
    next: selesai
  - id: selesai
    row: 3
    kind: end
    name: Selesai
    actor: pemohon
"#;

/// A second SOP, with its own steps, roles and a queue: its case waits there, beside the first.
const IZIN: &str = r#"
schema_version: 1
id: izin-keramaian
header:
  government: PEMERINTAH KOTA CONTOH
  unit: KELURAHAN CONTOH
  number: 3/SOP/2026
  title: Izin Keramaian Contoh
  dates: {}
  approver: { title: Lurah, name: Contoh }
actors:
  - id: warga
    name: Warga
    recorded_by: [petugas]
  - id: petugas
    name: Petugas
  - id: lurah
    name: Lurah
queues:
  - id: antrian_izin
    prefix: I
    name: Antrian izin
    called_by: [petugas]
case_schema:
  type: object
  required: [acara]
  additionalProperties: false
  properties:
    acara:
      title: Nama acara
      type: string
      maxLength: 80
start: daftar
steps:
  - id: daftar
    row: 1
    kind: task
    name: Daftarkan acara
    activity: Warga mendaftarkan acara
    actor: warga
    budget: 5 menit
    collects: [acara]
    next: tunggu
  - id: tunggu
    row: 2
    kind: queue
    name: Tunggu antrian izin
    activity: Warga menunggu dipanggil
    actor: warga
    queue: antrian_izin
    budget: 5 menit
    next: setujui
  - id: setujui
    row: 3
    kind: task
    name: Setujui izin
    activity: Lurah menyetujui izin
    actor: lurah
    budget: 2 hari
    next: selesai
  - id: selesai
    row: 3
    kind: end
    name: Selesai
    actor: warga
"#;

const CONFIG: &str = r#"
[[service_points]]
id = "kantor_contoh"
name = "Kantor Kelurahan Contoh"
timezone = "Asia/Jakarta"
counters = ["Loket 1", "Loket 2"]
"#;

struct Office {
    server: Server,
    _dir: tempfile::TempDir,
}

fn office() -> Office {
    let dir = tempfile::tempdir().unwrap();
    let definitions = dir.path().join("sop-definitions");
    std::fs::create_dir_all(&definitions).unwrap();
    std::fs::write(definitions.join("surat-pengantar.yaml"), PENGANTAR).unwrap();
    std::fs::write(definitions.join("izin-keramaian.yaml"), IZIN).unwrap();
    let config_file = dir.path().join("sopflow.toml");
    std::fs::write(&config_file, CONFIG).unwrap();
    let database = format!("sqlite://{}", dir.path().join("sopflow.db").display());
    let server = Server::start_with_args(
        "supervisor",
        dir.path(),
        &database,
        &definitions,
        &["--config", config_file.to_str().unwrap()],
    );
    // `sopflow user add --role supervisor`: the built-in role is accepted.
    for (user, role) in [("ani", "petugas"), ("kasi", "supervisor")] {
        add_person(&database, user, role, PASSWORD);
    }
    Office { server, _dir: dir }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn supervisor_and_survey_in_a_real_browser() {
    if !chromium::enabled() {
        return;
    }
    let office = office();
    let base = office.server.base.clone();
    let b = Browser::start().await;

    // The supervisor lands on the live page of their service point.
    b.login(&base, "kasi", PASSWORD).await;
    assert_eq!(b.path().await, "/pantau/kantor_contoh");
    let live = b
        .wait_text("Pantauan hari ini", Duration::from_secs(5))
        .await;
    assert!(live.contains("Tidak ada berkas yang terlambat"), "{live}");
    assert_eq!(text_of(&b, "#breach-total").await, "0");
    b.goto(&format!("{base}/ikm")).await;
    b.wait_text("Belum ada jawaban survei", Duration::from_secs(5))
        .await;
    b.logout().await;

    // An officer opens a case of each SOP; the first waits at its 30-second step.
    b.login(&base, "ani", PASSWORD).await;
    let (first_reg, first_code, first_case) =
        open_case(&b, &base, "surat-pengantar", "#f-nama", "Siti Aminah").await;
    b.logout().await;

    // The supervisor watches: the breach appears without a reload.
    b.login(&base, "kasi", PASSWORD).await;
    let text = b.wait_text("Proses surat", Duration::from_secs(10)).await;
    assert!(text.contains("Surat Pengantar Contoh"), "{text}");
    b.screenshot("sv-01-live-before-breach").await;
    b.js("window.__marker = 'no reload'", vec![]).await;
    let started = Instant::now();
    loop {
        if text_of(&b, "#breach-total").await == "1" && b.has("#breaches").await {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(75),
            "no breach on the live page:\n{}",
            b.text().await
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(
        b.js("return window.__marker", vec![]).await,
        json!("no reload"),
        "the page refreshed itself"
    );
    let breaches = text_of(&b, "#breaches").await;
    assert!(
        breaches.contains(&first_reg) && breaches.contains("Proses surat"),
        "{breaches}"
    );
    // No personal data on the supervisor's page.
    assert!(!b.text().await.contains("Siti Aminah"));
    b.screenshot("sv-02-live-breach").await;
    // The supervisor does not see the case itself.
    b.goto(&format!("{base}{first_case}")).await;
    let page = b.text().await;
    assert!(
        page.contains("Halaman tidak ditemukan") && !page.contains("Siti Aminah"),
        "{page}"
    );
    b.goto(&format!("{base}/pantau")).await;
    b.logout().await;

    // The officer finishes the case and hands it over; a second case of the second SOP stays
    // open, and a third of the first is opened and handed over for the kiosk.
    b.login(&base, "ani", PASSWORD).await;
    finish(&b, &base, &first_case).await;
    let _ = open_case(&b, &base, "izin-keramaian", "#f-acara", "Pentas seni").await;
    let (_, second_code, second_case) =
        open_case(&b, &base, "surat-pengantar", "#f-nama", "Budi Santoso").await;
    finish(&b, &base, &second_case).await;
    b.logout().await;

    // The citizen: the status page offers the survey after hand-over.
    b.goto(&format!("{base}/status")).await;
    b.type_into("#kode", &first_code).await;
    b.click("form[action='/status'] button").await;
    b.wait_text("Survei Kepuasan Masyarakat", Duration::from_secs(5))
        .await;
    assert!(b.has("form.survey input[name=kode][type=hidden]").await);
    assert!(!b.url().await.contains(&first_code.replace('-', "")));
    // Sent with one element unanswered: the message beside that question, entries kept.
    for i in 1..=8 {
        b.click(&format!("#q-u{i} input[value='4']")).await;
    }
    b.type_into("#komentar", "Cepat dan ramah").await;
    b.js(
        "document.querySelectorAll('form.survey [required]').forEach(e => e.removeAttribute('required'))",
        vec![],
    )
    .await;
    b.click("form.survey button[type=submit]").await;
    b.wait_text("Periksa isian yang ditandai", Duration::from_secs(5))
        .await;
    assert!(b.has("#q-u9.has-error").await);
    assert!(b.has("#q-u1 input[value='4']:checked").await);
    // The form again, the code still a hidden field: answer the last one and send.
    assert!(b.has("form.survey input[name=kode][type=hidden]").await);
    b.screenshot("sv-03-survey-error").await;
    b.click("#q-u9 input[value='3']").await;
    b.click("form.survey button[type=submit]").await;
    b.wait_text("jawaban Anda sudah tercatat", Duration::from_secs(5))
        .await;
    b.screenshot("sv-04-survey-thanks").await;

    // The same case again: refused politely, on the status page and at the kiosk.
    b.goto(&format!("{base}/status")).await;
    b.type_into("#kode", &first_code).await;
    b.click("form[action='/status'] button").await;
    b.wait_text("sudah diisi", Duration::from_secs(5)).await;
    assert!(!b.has("form.survey").await);
    kiosk_answer(&b, &base, &first_code, 1).await;
    b.wait_text("sudah diisi", Duration::from_secs(5)).await;

    // The supervisor's IKM: one respondent, 8 fours and a 3 (total 35):
    // exact 35 / 9 × 25 = 97.22 (A).
    b.login(&base, "kasi", PASSWORD).await;
    b.goto(&format!("{base}/ikm")).await;
    b.wait_text("Indeks Kepuasan Masyarakat", Duration::from_secs(5))
        .await;
    assert_eq!(text_of(&b, "#ikm tbody tr .respondents").await, "1");
    assert_eq!(text_of(&b, "#ikm tbody tr .ikm-value").await, "97.22");
    assert!(text_of(&b, "#ikm tbody tr .grade").await.starts_with('A'));
    b.logout().await;

    // A second citizen at the kiosk, all threes (total 27): both together, 62 over 2
    // respondents: exact 62 / 2 / 9 × 25 = 86.11 (B); rounded 31 × 0.111 × 25 = 86.025 →
    // 86.03 (B).
    kiosk_answer(&b, &base, &second_code, 3).await;
    b.wait_text("jawaban Anda sudah tercatat", Duration::from_secs(5))
        .await;
    // The kiosk is ready for the next citizen.
    assert_eq!(
        b.js(
            "return document.getElementById('survei-kode').value",
            vec![]
        )
        .await,
        json!("")
    );
    b.screenshot("sv-05-kiosk").await;

    b.login(&base, "kasi", PASSWORD).await;
    b.goto(&format!("{base}/ikm")).await;
    b.wait_text("Indeks Kepuasan Masyarakat", Duration::from_secs(5))
        .await;
    assert_eq!(text_of(&b, "#ikm tbody tr .respondents").await, "2");
    assert_eq!(text_of(&b, "#ikm tbody tr .ikm-value").await, "86.11");
    assert!(b.has("figure.chart svg").await, "the element chart");
    b.screenshot("sv-06-ikm").await;
    b.choose("#bobot", "0.111").await;
    b.click("form.period button[type=submit]").await;
    b.wait_text("0,111 × 25", Duration::from_secs(5)).await;
    assert_eq!(text_of(&b, "#ikm tbody tr .ikm-value").await, "86.03");
    let csv = fetch(&b, "#ikm-csv").await;
    assert_eq!(csv[0], json!(200), "{csv}");
    let csv_text = csv[1].as_str().unwrap();
    assert!(csv_text.starts_with("from,to,sop_id"), "{csv_text}");
    assert!(
        csv_text.contains("surat-pengantar,Surat Pengantar Contoh,kantor_contoh,2,")
            && csv_text.contains(",0.111,86.03,B"),
        "{csv_text}"
    );

    // The live page after hand-over: no breach left, two completed today.
    b.goto(&format!("{base}/pantau/kantor_contoh")).await;
    b.wait_text("Tidak ada berkas yang terlambat", Duration::from_secs(10))
        .await;
    assert_eq!(text_of(&b, "#completed-today").await, "2");
    assert!(
        text_of(&b, "#open-steps")
            .await
            .contains("Tunggu antrian izin")
    );
    assert_eq!(text_of(&b, "#waiting-total").await, "1");
    let queues = text_of(&b, "#queues").await;
    assert!(
        queues.contains("Antrian izin") && queues.contains("Izin Keramaian Contoh"),
        "{queues}"
    );
    b.screenshot("sv-08-live-after").await;

    // The report over the period: the same figures as `sopflow report`, with charts and CSV.
    b.goto(&format!("{base}/laporan")).await;
    let report = b
        .wait_text("Laporan waktu pelayanan", Duration::from_secs(10))
        .await;
    assert!(
        report.contains("Surat Pengantar Contoh") && report.contains("Izin Keramaian Contoh"),
        "{report}"
    );
    assert!(report.contains("Proses surat"), "{report}");
    assert!(b.has(".report-version figure.chart svg").await);
    b.screenshot("sv-07-report").await;
    let csv = fetch(&b, "#report-csv").await;
    assert_eq!(csv[0], json!(200), "{csv}");
    let csv_text = csv[1].as_str().unwrap();
    let proses = csv_text
        .lines()
        .find(|l| l.contains(",step,proses,"))
        .unwrap_or_else(|| panic!("{csv_text}"));
    // Budget 30 s, 2 visits, the first over it: one breach recorded by the ticker.
    let cells: Vec<&str> = proses.split(',').collect();
    assert_eq!(cells[8], "30", "{proses}");
    assert_eq!(cells[9], "2", "{proses}");
    assert_eq!(cells[13], "1", "{proses}");
    assert!(
        !csv_text.contains("Siti") && !csv_text.contains("Budi"),
        "{csv_text}"
    );
    // A period that ends before it begins: the message beside the field.
    b.js(
        "document.getElementById('dari').value = '2030-01-01'",
        vec![],
    )
    .await;
    b.click("form.period button[type=submit]").await;
    b.wait_text("harus sesudah", Duration::from_secs(5)).await;
    b.logout().await;
}

/// Opens a case of `sop` with one text field; returns its registration number, tracking code
/// and page path.
async fn open_case(
    b: &Browser,
    base: &str,
    sop: &str,
    field: &str,
    value: &str,
) -> (String, String, String) {
    b.goto(&format!("{base}/baru/{sop}")).await;
    b.type_into(field, value).await;
    b.click("form.step-form button[type=submit]").await;
    b.wait_text("TANDA TERIMA", Duration::from_secs(10)).await;
    let reg = b
        .js(
            "return document.querySelector('.receipt dd.big code').innerText",
            vec![],
        )
        .await;
    let code = b
        .js(
            "return document.querySelector('.receipt .code').innerText",
            vec![],
        )
        .await;
    let case = b
        .js(
            "return document.querySelector(\".receipt-page a[href^='/berkas/']\").getAttribute('href')",
            vec![],
        )
        .await;
    (
        reg.as_str().unwrap().trim().to_owned(),
        code.as_str().unwrap().trim().to_owned(),
        case.as_str().unwrap().to_owned(),
    )
}

/// Records the case's two steps after opening: processed, handed over.
async fn finish(b: &Browser, base: &str, case: &str) {
    b.goto(&format!("{base}{case}")).await;
    b.click("form.step-form[action$='/langkah/proses'] button[type=submit]")
        .await;
    // The next step is the same officer's: the case again, at it.
    b.click("form.step-form[action$='/langkah/serahkan'] button[type=submit]")
        .await;
    b.wait_text("Langkah selesai dicatat", Duration::from_secs(10))
        .await;
}

/// Answers at the kiosk with `score` for every element.
async fn kiosk_answer(b: &Browser, base: &str, code: &str, score: u8) {
    b.goto(&format!("{base}/survei")).await;
    b.type_into("#survei-kode", code).await;
    for i in 1..=9 {
        b.click(&format!("#q-u{i} input[value='{score}']")).await;
    }
    b.click("form.survey button[type=submit]").await;
}

async fn text_of(b: &Browser, css: &str) -> String {
    b.find(css).await;
    b.js(
        "return document.querySelector(arguments[0]).innerText",
        vec![json!(css)],
    )
    .await
    .as_str()
    .unwrap_or_default()
    .trim()
    .to_owned()
}

/// Fetches the link `css` points at from the page: [status, text, content type].
async fn fetch(b: &Browser, css: &str) -> Value {
    b.find(css).await;
    b.js(
        "return fetch(document.querySelector(arguments[0]).getAttribute('href')).then(r => r.text().then(t => [r.status, t, r.headers.get('content-type')]))",
        vec![json!(css)],
    )
    .await
}
