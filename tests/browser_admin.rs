//! The administrator's pages in a real browser (headless Chromium) against a real `sopflow
//! serve`: an administrator deploys a new version of an SOP with a mistake, finds it at the
//! line the page shows, fixes it, sees what changes against the version in force, deploys it,
//! sees it in force, rolls back to the previous version with a reason, and the lists show
//! the rollback; a version's official table; others are refused. Screenshots at 1366×768 in
//! `target/screenshots/admin-*.png`. Runs when `SOPFLOW_TEST_BROWSER=1`.

#![allow(clippy::unwrap_used)]

mod chromium;
mod process;

use std::time::Duration;

use chromium::Browser;
use process::{Server, add_person};
use serde_json::json;

const PASSWORD: &str = "kata-sandi-uji-1";

/// A synthetic SOP (no shipped SOP has it): a permit with two actors and a guard.
const IZIN: &str = r#"schema_version: 1
id: izin-keramaian
header:
  government: PEMERINTAH KOTA CONTOH
  unit: KECAMATAN CONTOH
  number: 7/SOP/2026
  title: Izin Keramaian
  dates: {}
  approver: { title: Camat, name: Contoh }
actors:
  - id: pemohon
    name: Pemohon
    recorded_by: [petugas]
  - id: petugas
    name: Petugas
documents:
  - id: surat_permohonan
    name: Surat permohonan
case_schema:
  type: object
  required: [jenis]
  properties:
    jenis:
      title: Jenis acara
      enum: [kecil, besar]
start: ajukan
steps:
  - id: ajukan
    row: 1
    kind: task
    name: Ajukan permohonan
    actor: pemohon
    documents: [surat_permohonan]
    budget: 5m
    collects: [jenis]
    next: periksa
  - id: periksa
    row: 2
    kind: task
    name: Periksa permohonan
    actor: petugas
    budget: 10m
    outcomes: [setuju, tolak]
    next:
      - to: selesai
        when: outcome == "setuju"
        label: Disetujui
      - to: ditolak
        label: Ditolak
  - id: selesai
    row: 3
    kind: end
    name: Selesai
    actor: pemohon
  - id: ditolak
    row: 2
    kind: end
    name: Ditolak
    actor: pemohon
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn administrator_deploys_fixes_and_rolls_back_in_a_real_browser() {
    if !chromium::enabled() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let definitions = dir.path().join("sop-definitions");
    std::fs::create_dir_all(&definitions).unwrap();
    std::fs::write(definitions.join("ktp-el.yaml"), process::ktp_el_yaml()).unwrap();
    std::fs::write(definitions.join("izin-keramaian.yaml"), IZIN).unwrap();
    let database = format!("sqlite://{}", dir.path().join("sopflow.db").display());
    let server = Server::start_with_args("admin-pages", dir.path(), &database, &definitions, &[]);
    add_person(&database, "ani", "admin", PASSWORD);
    add_person(&database, "rina", "petugas", PASSWORD);
    let base = server.base.clone();
    let b = Browser::start().await;

    // Someone who is not an administrator is refused.
    b.login(&base, "rina", PASSWORD).await;
    assert!(
        !b.has("a[href='/kelola/sop']").await,
        "no admin link for others"
    );
    b.goto(&format!("{base}/kelola/sop")).await;
    b.wait_text("hanya untuk administrator", Duration::from_secs(5))
        .await;
    b.goto(&format!("{base}/meja")).await;
    b.logout().await;

    b.login(&base, "ani", PASSWORD).await;
    b.click("a[href='/kelola/sop']").await;
    let text = b.wait_text("izin-keramaian", Duration::from_secs(5)).await;
    assert!(text.contains("ktp-el"), "both SOPs are listed: {text}");
    let in_force = |sop: &str| {
        format!("return document.querySelector(\"tr[data-sop='{sop}'] .in-force\").innerText")
    };
    assert_eq!(
        b.js(&in_force("izin-keramaian"), vec![]).await,
        json!("versi 1")
    );
    b.screenshot("admin-01-sops").await;

    // A new version with a mistake: an actor nobody declared.
    let wrong = IZIN
        .replace("    budget: 10m\n", "    budget: 15m\n")
        .replace(
            "    name: Periksa permohonan\n    actor: petugas\n",
            "    name: Periksa permohonan\n    actor: camat\n",
        );
    let wrong_line = wrong.lines().position(|l| l == "    actor: camat").unwrap() + 1;
    b.click("a[href='/kelola/pasang']").await;
    b.find("#yaml").await;
    b.screenshot("admin-02-deploy-empty").await;
    b.js(
        "document.getElementById('yaml').value = arguments[0]",
        vec![json!(wrong)],
    )
    .await;
    b.click("#check-form button[type=submit]").await;
    b.wait_text("tidak valid", Duration::from_secs(10)).await;
    let marked = b
        .js(
            "return Array.from(document.querySelectorAll('#code tr.has-problem')).map(r => r.id)",
            vec![],
        )
        .await;
    assert_eq!(marked, json!([format!("baris-{wrong_line}")]));
    let problem = b
        .js(
            &format!(
                "return document.querySelector(\"#code tr.problem[data-line='{wrong_line}']\").innerText"
            ),
            vec![],
        )
        .await;
    let problem = problem.as_str().unwrap();
    assert!(problem.contains("steps[1].actor"), "{problem}");
    assert!(problem.contains("camat"), "{problem}");
    b.screenshot("admin-03-deploy-error-at-line").await;
    // The text came back as sent; it is fixed there, at that line.
    let kept = b
        .js("return document.getElementById('yaml').value", vec![])
        .await;
    assert_eq!(kept.as_str().unwrap(), wrong);
    b.js(
        "const t = document.getElementById('yaml'); t.value = t.value.replace('actor: camat', 'actor: petugas')",
        vec![],
    )
    .await;
    b.click("#check-form button[type=submit]").await;
    b.find("#check-ok").await;
    let summary = b.find("#summary").await.text().await.unwrap();
    assert!(summary.contains("periksa"), "{summary}");
    assert!(
        summary.contains("10m") && summary.contains("15m"),
        "{summary}"
    );
    let diff = b.find("#diff").await.text().await.unwrap();
    assert!(diff.contains("budget: 15m"), "{diff}");
    b.screenshot("admin-04-deploy-diff").await;
    b.type_into("#alasan-pasang", "Waktu pemeriksaan 15 menit")
        .await;
    b.click("#deploy-form button[type=submit]").await;
    b.wait_text("Terpasang: versi 2", Duration::from_secs(10))
        .await;
    assert_eq!(b.path().await, "/kelola/sop/izin-keramaian");
    let in_force_version =
        "return document.querySelector('#versions .in-force').closest('tr').dataset.version";
    assert_eq!(b.js(in_force_version, vec![]).await, json!("2"));
    b.screenshot("admin-05-sop-v2-in-force").await;

    // A release needs a reason: said beside the field.
    b.choose("#versi", "1").await;
    b.click("#release-form button[type=submit]").await;
    b.find("#alasan-error").await;
    assert_eq!(b.js(in_force_version, vec![]).await, json!("2"));

    // Roll back to version 1, with a reason.
    b.choose("#versi", "1").await;
    b.type_into("#alasan", "Kembali ke versi 1: uji coba gagal")
        .await;
    b.click("#release-form button[type=submit]").await;
    b.wait_text("dimulai pada versi 1", Duration::from_secs(10))
        .await;
    assert_eq!(b.js(in_force_version, vec![]).await, json!("1"));
    let latest = b
        .js(
            "return document.querySelector('#releases tbody tr').innerText",
            vec![],
        )
        .await;
    let latest = latest.as_str().unwrap();
    assert!(latest.contains("pengembalian"), "{latest}");
    assert!(
        latest.contains("Kembali ke versi 1: uji coba gagal"),
        "{latest}"
    );
    assert!(latest.contains("ani"), "{latest}");
    b.screenshot("admin-06-rolled-back").await;

    // The list shows it.
    b.goto(&format!("{base}/kelola/sop")).await;
    let row = b.js(&in_force("izin-keramaian"), vec![]).await;
    assert_eq!(row, json!("versi 1 dikembalikan"));

    // A version's page: its identity and the official table framed in it.
    b.goto(&format!("{base}/kelola/sop/izin-keramaian/versi/2"))
        .await;
    b.wait_text("7/SOP/2026", Duration::from_secs(5)).await;
    b.find("iframe.sop-table").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    b.screenshot("admin-07-version-table").await;
    b.goto(&format!("{base}/kelola/sop/izin-keramaian/versi/2/tabel"))
        .await;
    let table = b
        .wait_text("Periksa permohonan", Duration::from_secs(5))
        .await;
    assert!(table.contains("Pelaksana"), "{table}");
    // Printable as the official form: A4 landscape, headings whole.
    let css = b
        .js("return document.querySelector('style').textContent", vec![])
        .await;
    let css = css.as_str().unwrap();
    assert!(css.contains("size: A4 landscape"), "{css}");
    assert!(css.contains("word-break: keep-all"), "{css}");
    b.screenshot("admin-07b-official-table").await;
    b.goto(&format!("{base}/kelola/sop/ktp-el")).await;
    b.find("#versions").await;

    // Incidents: none is open on this office.
    b.goto(&format!("{base}/kelola/insiden")).await;
    b.wait_text("Tidak ada insiden terbuka", Duration::from_secs(5))
        .await;
    b.screenshot("admin-08-incidents").await;

    // Users: a short password is refused beside its field; then added, the token shown once.
    b.goto(&format!("{base}/kelola/pengguna")).await;
    b.type_into("#nama", "dewi").await;
    b.choose("#peran", "petugas").await;
    b.click("#add-user input[name=tempat][value='*']").await;
    b.type_into("#sandi", "pendek").await;
    b.click("#add-user button[type=submit]").await;
    b.wait_text("sedikitnya 10 karakter", Duration::from_secs(5))
        .await;
    // The entries came back (the password aside).
    let kept = b
        .js(
            "return document.querySelector(\"#add-user input[name=tempat][value='*']\").checked",
            vec![],
        )
        .await;
    assert_eq!(kept, json!(true));
    b.type_into("#sandi", "sandi-dewi-123").await;
    b.click("#add-user button[type=submit]").await;
    b.find("#new-token").await;
    let token = b
        .js(
            "return document.querySelector('#new-token .token').innerText",
            vec![],
        )
        .await;
    assert_eq!(token.as_str().unwrap().trim().len(), 64, "{token}");
    let held = b
        .js(
            "return document.querySelector(\"tr[data-user='dewi']\").innerText",
            vec![],
        )
        .await;
    assert!(held.as_str().unwrap().contains("petugas@*"), "{held}");
    b.screenshot("admin-09-users-token-once").await;
    // The token is not shown again.
    b.goto(&format!("{base}/kelola/pengguna")).await;
    assert!(!b.has("#new-token").await);
    // Disable dewi: she can no longer log in.
    b.js(
        "document.querySelector(\"tr[data-user='dewi'] details\").open = true",
        vec![],
    )
    .await;
    b.click("tr[data-user='dewi'] input[value=nonaktif] + button")
        .await;
    b.wait_text("dinonaktifkan", Duration::from_secs(5)).await;
    let state = b
        .js(
            "return document.querySelector(\"tr[data-user='dewi'] .badge\").innerText",
            vec![],
        )
        .await;
    assert!(state.as_str().unwrap().starts_with("Nonaktif"), "{state}");
    b.screenshot("admin-10-users").await;
    b.logout().await;
    b.goto(&format!("{base}/masuk")).await;
    b.type_into("#username", "dewi").await;
    b.type_into("#password", "sandi-dewi-123").await;
    b.click("form button[type=submit]").await;
    b.wait_text("salah", Duration::from_secs(5)).await;
    assert_eq!(b.path().await, "/masuk");
    drop(b);
    server.stop();
}
