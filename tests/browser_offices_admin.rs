//! The administrator's service points and calendars, and who staffs which counter, in a real
//! browser (headless Chromium) against a real `sopflow serve`: an administrator gives the
//! default service point a calendar and counters (first with two counters of one id, refused
//! beside the field with what was typed kept, then fixed) and adds a service point (first in
//! an unknown time zone); the new counter is offered at `/loket`; an officer calls a number
//! there; the supervisor's live page and the administrator's page show that officer at that
//! counter and as its last caller; the calendar page shows the office's calendar, its
//! includes and users, and a national holiday as closed. Screenshots at 1366×768 in
//! `target/screenshots/offices-*.png`. Runs when `SOPFLOW_TEST_BROWSER=1`.

#![allow(clippy::unwrap_used)]

mod chromium;
mod process;

use std::time::Duration;

use chromium::Browser;
use process::{Server, add_person};
use serde_json::json;

const PASSWORD: &str = "kata-sandi-uji-1";

/// A short SOP written for this test (no shipped SOP has it): a request, then a queue.
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
    next: periksa
  - id: periksa
    row: 3
    kind: task
    name: Periksa permohonan
    activity: Petugas memeriksa permohonan
    actor: petugas
    budget: 10 menit
    next: selesai
  - id: selesai
    row: 4
    kind: end
    name: Selesai
    actor: warga
"#;

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

async fn set_value(b: &Browser, css: &str, value: &str) {
    b.find(css).await;
    b.js(
        "document.querySelector(arguments[0]).value = arguments[1]",
        vec![json!(css), json!(value)],
    )
    .await;
}

/// Leaves the browser without logging out: the session stays live in the store, as an
/// officer's does when someone else uses another computer.
async fn walk_away(b: &Browser) {
    b.client.delete_all_cookies().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrator_sets_counters_and_calendars_and_the_supervisor_sees_who_staffs_them() {
    if !chromium::enabled() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let definitions = dir.path().join("sop-definitions");
    std::fs::create_dir_all(&definitions).unwrap();
    std::fs::write(definitions.join("izin-keramaian.yaml"), IZIN).unwrap();
    std::fs::write(definitions.join("ktp-el.yaml"), process::ktp_el_yaml()).unwrap();
    // The repository's national and example office calendars.
    let calendars = dir.path().join("calendars");
    std::fs::create_dir_all(&calendars).unwrap();
    for name in ["nasional-2026", "contoh-kantor"] {
        let text = std::fs::read_to_string(format!(
            "{}/calendars/{name}.toml",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        std::fs::write(calendars.join(format!("{name}.toml")), text).unwrap();
    }
    // No service point configured: the default one (`kantor`) is the administrator's to set.
    let config_file = dir.path().join("sopflow.toml");
    std::fs::write(
        &config_file,
        format!(
            "timezone = \"Asia/Jakarta\"\ncalendars = {:?}\n",
            calendars.display().to_string()
        ),
    )
    .unwrap();
    let database = format!("sqlite://{}", dir.path().join("sopflow.db").display());
    let server = Server::start_with_args(
        "offices-admin",
        dir.path(),
        &database,
        &definitions,
        &["--config", config_file.to_str().unwrap()],
    );
    for (user, role) in [
        ("ani", "admin"),
        ("rina", "petugas"),
        ("kasi", "supervisor"),
    ] {
        add_person(&database, user, role, PASSWORD);
    }
    let base = server.base.clone();
    let b = Browser::start().await;

    // The administrator finds the page from the admin navigation.
    b.login(&base, "ani", PASSWORD).await;
    b.goto(&format!("{base}/kelola/sop")).await;
    b.click("a[href='/kelola/tempat']").await;
    b.wait_text("Tempat layanan dan loket", Duration::from_secs(5))
        .await;
    assert!(b.has("#tempat-kantor").await, "the default service point");
    assert!(!b.has("#tempat-kantor tr[data-counter]").await);
    b.screenshot("offices-01-points").await;

    // Counters with one id twice, and a calendar: refused beside the counters, nothing lost.
    b.click("#tempat-kantor details summary").await;
    b.choose("#kantor-kalender", "contoh-kantor").await;
    set_value(&b, "#kantor-loket", "Loket 1\nloket_1 = Loket Satu").await;
    b.click("#form-kantor button[type=submit]").await;
    b.wait_text("Daftar loket ditolak", Duration::from_secs(5))
        .await;
    assert!(b.has("#form-kantor .field.has-error #kantor-loket").await);
    let error = text_of(&b, "#form-kantor .field.has-error .error").await;
    assert!(
        error.contains("loket_1") && error.contains("twice"),
        "{error}"
    );
    assert_eq!(
        b.js(
            "return document.getElementById('kantor-loket').value",
            vec![]
        )
        .await,
        json!("Loket 1\nloket_1 = Loket Satu"),
        "what was typed is kept"
    );
    assert_eq!(
        b.js(
            "return document.getElementById('kantor-kalender').value",
            vec![]
        )
        .await,
        json!("contoh-kantor")
    );
    assert!(b.has("#tempat-kantor details[open]").await);
    b.js(
        "document.querySelector('#form-kantor .has-error').scrollIntoView({block: 'center'})",
        vec![],
    )
    .await;
    b.screenshot("offices-02-counter-error").await;

    // Fixed: two counters.
    set_value(&b, "#kantor-loket", "Loket 1\nLoket 2").await;
    b.click("#form-kantor button[type=submit]").await;
    b.wait_text("Tersimpan: kantor.", Duration::from_secs(5))
        .await;
    assert_eq!(
        text_of(&b, "#tempat-kantor tr[data-counter='loket_2'] td").await,
        "Loket 2"
    );
    assert_eq!(
        text_of(&b, "#tempat-kantor .calendar").await,
        "contoh-kantor"
    );

    // A second service point, first in a time zone nobody knows.
    b.type_into("#new-id", "mpp").await;
    b.type_into("#new-nama", "Mal Pelayanan Publik").await;
    set_value(&b, "#new-zona", "Mars/Olympus").await;
    b.type_into("#new-loket", "Loket Dukcapil").await;
    b.click("#form-new button[type=submit]").await;
    b.wait_text("Zona waktu tidak dikenal", Duration::from_secs(5))
        .await;
    assert!(b.has("#form-new .field.has-error #new-zona").await);
    b.js(
        "document.querySelector('#form-new .has-error').scrollIntoView({block: 'center'})",
        vec![],
    )
    .await;
    b.screenshot("offices-03-zone-error").await;
    assert_eq!(
        b.js("return document.getElementById('new-nama').value", vec![])
            .await,
        json!("Mal Pelayanan Publik")
    );
    set_value(&b, "#new-zona", "WITA").await;
    b.click("#form-new button[type=submit]").await;
    b.wait_text("Tersimpan: mpp.", Duration::from_secs(5)).await;
    assert_eq!(text_of(&b, "#tempat-mpp .zone").await, "WITA");
    assert_eq!(
        text_of(&b, "#tempat-mpp tr[data-counter='loket_dukcapil'] td").await,
        "Loket Dukcapil"
    );
    b.screenshot("offices-03b-points-saved").await;
    b.logout().await;

    // The officer: not an administrator's pages; the new counter is offered at /loket.
    b.login(&base, "rina", PASSWORD).await;
    for page in ["/kelola/tempat", "/kelola/kalender"] {
        b.goto(&format!("{base}{page}")).await;
        b.wait_text("hanya untuk administrator", Duration::from_secs(5))
            .await;
    }
    b.goto(&format!("{base}/baru/izin-keramaian")).await;
    b.type_into("#f-acara", "Pentas seni").await;
    b.click("form.step-form button[type=submit]").await;
    b.wait_text("TANDA TERIMA", Duration::from_secs(10)).await;
    b.goto(&format!("{base}/loket")).await;
    let offered = b
        .js(
            "return Array.from(document.querySelectorAll('#counter option')).map(o => o.value)",
            vec![],
        )
        .await;
    assert_eq!(
        offered,
        json!(["", "kantor/loket_1", "kantor/loket_2"]),
        "the counters of her service point"
    );
    b.choose("#counter", "kantor/loket_2").await;
    b.click("form[action='/loket/meja'] button").await;
    b.find("form[action='/loket/panggil/antrian_izin'] button")
        .await;
    b.click("form[action='/loket/panggil/antrian_izin'] button")
        .await;
    b.wait_text("Pentas seni", Duration::from_secs(10)).await;
    assert!(b.path().await.starts_with("/berkas/"));
    walk_away(&b).await;

    // The supervisor's live page: rina at Loket 2, and the one who called I-001 there.
    b.login(&base, "kasi", PASSWORD).await;
    b.goto(&format!("{base}/pantau/kantor")).await;
    b.wait_text("Pantauan hari ini", Duration::from_secs(5))
        .await;
    let row = |n: usize| format!("#counters tbody tr:nth-child({n})");
    let loket_2 = text_of(&b, &row(2)).await;
    assert!(
        loket_2.starts_with("Loket 2") && loket_2.contains("I-001"),
        "{loket_2}"
    );
    assert_eq!(text_of(&b, &format!("{} .staffed", row(2))).await, "rina");
    assert_eq!(text_of(&b, &format!("{} .caller", row(2))).await, "rina");
    assert_eq!(text_of(&b, &format!("{} .staffed", row(1))).await, "—");
    assert!(!b.text().await.contains("Pentas seni"), "no case data");
    b.screenshot("offices-04-live-staff").await;
    b.logout().await;

    // The administrator's page says the same.
    b.login(&base, "ani", PASSWORD).await;
    b.goto(&format!("{base}/kelola/tempat")).await;
    let at = "#tempat-kantor tr[data-counter='loket_2']";
    assert_eq!(text_of(&b, &format!("{at} .staffed")).await, "rina");
    assert_eq!(text_of(&b, &format!("{at} .caller")).await, "rina");
    assert_eq!(text_of(&b, "#tempat-kantor .open-cases").await, "1");
    b.screenshot("offices-05-points-staffed").await;

    // The calendars: the office's with its include and user; a national holiday is closed.
    b.click("a[href='/kelola/kalender']").await;
    b.wait_text("Kalender kerja", Duration::from_secs(5)).await;
    assert!(text_of(&b, "#how-to-change").await.contains("mulai ulang"));
    assert_eq!(
        text_of(&b, "#kalender-contoh-kantor .includes").await,
        "nasional-2026"
    );
    assert_eq!(
        text_of(&b, "#kalender-contoh-kantor .used-by").await,
        "Kantor (kantor)"
    );
    assert!(b.has("#kalender-contoh-kantor code.hash").await);
    assert!(
        text_of(&b, "#kalender-nasional-2026 .included-only")
            .await
            .contains("contoh-kantor")
    );
    b.screenshot("offices-06-calendars").await;
    b.js(
        "document.querySelector('#kalender-contoh-kantor h3').scrollIntoView()",
        vec![],
    )
    .await;
    b.screenshot("offices-06b-calendar-week-and-days").await;
    b.choose("#kalender", "contoh-kantor").await;
    set_value(&b, "#tanggal", "2026-08-17").await;
    set_value(&b, "#jam", "10:00").await;
    b.type_into("#hari", "1").await;
    b.click("#check-form button[type=submit]").await;
    b.find("#check-answer").await;
    assert_eq!(text_of(&b, "#answer-open").await, "tutup");
    let answer = text_of(&b, "#check-answer").await;
    // Closed on Independence Day (Monday): it opens on Tuesday at 08:00, and one working
    // day from then ends on Wednesday at 08:00.
    assert!(answer.contains("Selasa 2026-08-18 08:00 WIB"), "{answer}");
    assert!(
        text_of(&b, "#answer-due")
            .await
            .contains("Rabu 2026-08-19 08:00 WIB"),
        "{answer}"
    );
    b.screenshot("offices-07-calendar-check").await;
    // A date that is no date: the message beside it.
    set_value(&b, "#tanggal", "").await;
    b.js(
        "document.getElementById('tanggal').removeAttribute('required')",
        vec![],
    )
    .await;
    b.click("#check-form button[type=submit]").await;
    b.wait_text("Tulis tanggal seperti", Duration::from_secs(5))
        .await;
    b.logout().await;
    drop(server);
}
