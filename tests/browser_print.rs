//! A version's flowchart and its printed table, and an incident retried, in a real browser
//! (headless Chromium) against a real `sopflow serve`:
//! - the version page shows the SOP's flowchart drawn on the server (SVG, no script), for
//!   more than one SOP, a step name with markup kept as text; printed (print media and
//!   `Page.printToPDF`, A4 landscape) it is one page;
//! - the official table of a long SOP prints on as many A4 landscape pages as it says, each
//!   with the header, headings whole, off-page connectors labelled alike on both sides of each
//!   break; a short one is one page without connectors;
//! - a print fails (the printer is unreachable), the incident is on `/kelola/insiden` with its
//!   case and reason; a retry without a reason is refused beside the field; once the printer
//!   is there the administrator retries it with a reason, the incident is gone and the case's
//!   history records who retried and why.
//!
//! Screenshots at 1366×768 in `target/screenshots/print-*.png`. Runs when
//! `SOPFLOW_TEST_BROWSER=1`; the printer coming back needs `SOPFLOW_TEST_IPP=1` too.

#![allow(clippy::unwrap_used)]

mod chromium;
mod process;

#[path = "support/peers.rs"]
mod peers;

use std::time::Duration;

use chromium::Browser;
use process::{Server, add_person, add_user, wait_for};
use serde_json::{Value, json};

const PASSWORD: &str = "kata-sandi-uji-1";

/// A synthetic SOP (no shipped SOP is like it) with `steps` tasks over two actors, the last
/// task able to send the file back to the first: flow lines cross every page break of its
/// table, down and up. The third step's name carries markup.
fn long_sop(id: &str, steps: usize) -> String {
    let mut yaml = format!(
        r#"schema_version: 1
id: {id}
header:
  government: PEMERINTAH KOTA CONTOH
  unit: KECAMATAN CONTOH
  number: 9/SOP/2026
  title: Uji Tabel Panjang
  dates: {{}}
  approver: {{ title: Camat, name: Contoh }}
actors:
  - id: pemohon
    name: Pemohon
    recorded_by: [petugas]
  - id: petugas
    name: Petugas
case_schema:
  type: object
  properties:
    catatan:
      title: Catatan
      type: string
start: langkah_1
steps:
"#
    );
    for i in 1..=steps {
        let actor = if i % 2 == 1 { "pemohon" } else { "petugas" };
        let name = if i == 3 {
            "<script>window.diserang = 1</script> Periksa & catat".to_owned()
        } else {
            format!("Langkah nomor {i}")
        };
        let next = if i == steps {
            "    outcomes: [lanjut, ulang]\n    next:\n      - to: selesai\n        when: outcome == \"lanjut\"\n        label: Lengkap\n      - to: langkah_1\n        label: Ulangi dari awal\n".to_owned()
        } else {
            format!("    next: langkah_{}\n", i + 1)
        };
        yaml.push_str(&format!(
            "  - id: langkah_{i}\n    row: {i}\n    kind: task\n    name: {}\n    activity: Kegiatan nomor {i} dikerjakan dan dicatat pada buku register\n    actor: {actor}\n    budget: 2m\n{next}",
            serde_json::to_string(&name).unwrap()
        ));
    }
    yaml.push_str(&format!(
        "  - id: selesai\n    row: {}\n    kind: end\n    name: Selesai\n    actor: pemohon\n",
        steps + 1
    ));
    yaml
}

/// Pages in a PDF that Chromium wrote (each page object says `/Type /Page`).
fn pdf_pages(pdf: &[u8]) -> usize {
    let needle = b"/Type /Page";
    pdf.windows(needle.len() + 1)
        .filter(|w| &w[..needle.len()] == needle && w[needle.len()] != b's')
        .count()
}

/// How many lines the text of the first element matching `css` takes.
const LINES_OF: &str = "const e = document.querySelector(arguments[0]); const r = document.createRange(); \
     r.selectNodeContents(e); const tops = new Set(Array.from(r.getClientRects()).map(x => Math.round(x.top))); \
     return tops.size";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flowchart_printed_table_and_incident_retry_in_a_real_browser() {
    if !chromium::enabled() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let definitions = dir.path().join("sop-definitions");
    std::fs::create_dir_all(&definitions).unwrap();
    std::fs::write(definitions.join("ktp-el.yaml"), process::ktp_el_yaml()).unwrap();
    let kk = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/sop-definitions/kartu-keluarga.yaml"
    ))
    .unwrap();
    std::fs::write(definitions.join("kartu-keluarga.yaml"), &kk).unwrap();
    for other in ["akta-kelahiran", "akta-kematian"] {
        let path = format!(
            "{}/sop-definitions/{other}.yaml",
            env!("CARGO_MANIFEST_DIR")
        );
        std::fs::copy(path, definitions.join(format!("{other}.yaml"))).unwrap();
    }
    let long = long_sop("uji-panjang", 24);
    std::fs::write(definitions.join("uji-panjang.yaml"), &long).unwrap();
    std::fs::write(
        definitions.join("uji-pendek.yaml"),
        long_sop("uji-pendek", 3),
    )
    .unwrap();

    // The KTP-el printer is somewhere nothing listens: each delivery fails, twice, fast.
    let printer_port = peers::free_port();
    let printer_uri = format!("ipp://127.0.0.1:{printer_port}/ipp/print");
    let config = dir.path().join("sopflow.toml");
    std::fs::write(
        &config,
        format!(
            "[adapters.printer_ktp]\nkind = \"ipp\"\nuri = \"{printer_uri}\"\ncompletion_wait = \"20s\"\nrequest_timeout = \"2s\"\n\n\
             [dispatch]\nlease = \"10s\"\nfirst_retry = \"1s\"\nmax_retry = \"1s\"\nmax_attempts = 2\n"
        ),
    )
    .unwrap();
    let database = format!("sqlite://{}", dir.path().join("sopflow.db").display());
    let server = Server::start_with_args(
        "print-pages",
        dir.path(),
        &database,
        &definitions,
        &["--config", config.to_str().unwrap()],
    );
    add_person(&database, "ani", "admin", PASSWORD);
    let petugas = add_user(&database, "siti", "petugas_antrian");
    let operator = add_user(&database, "budi", "operator_cetak");
    let auditor = add_user(&database, "inspektorat", "auditor");
    let base = server.base.clone();
    let b = Browser::start().await;
    b.login(&base, "ani", PASSWORD).await;

    // ---- The flowchart on the version page, for two different SOPs.
    for (sop, yaml) in [
        ("kartu-keluarga", kk.as_str()),
        ("uji-panjang", long.as_str()),
    ] {
        let document = sopflow_engine::sop::load(yaml).unwrap().document().clone();
        b.goto(&format!("{base}/kelola/sop/{sop}/versi/1")).await;
        b.find("#flowchart .flowchart-drawing svg.sop-flowchart")
            .await;
        let steps = b
            .js(
                "return document.querySelectorAll('#flowchart .flowchart-drawing svg g.step').length",
                vec![],
            )
            .await;
        assert_eq!(steps, json!(document.steps.len()), "{sop}");
        let lanes = b
            .js(
                "return Array.from(document.querySelectorAll('#flowchart .flowchart-drawing svg .lane-names text')).map(t => t.dataset.actor)",
                vec![],
            )
            .await;
        let actors: Vec<&str> = document.actors.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(lanes, json!(actors), "{sop}");
        // Drawn, not blank: the browser laid the drawing out at a real size.
        let size = b
            .js(
                "const r = document.querySelector('#flowchart .flowchart-drawing svg').getBoundingClientRect(); return [r.width, r.height]",
                vec![],
            )
            .await;
        assert!(size[0].as_f64().unwrap() > 400.0, "{sop}: {size}");
        assert!(size[1].as_f64().unwrap() > 300.0, "{sop}: {size}");
        b.js(
            "document.getElementById('flowchart').scrollIntoView()",
            vec![],
        )
        .await;
        b.screenshot(&format!("print-01-flowchart-{sop}")).await;
    }
    // The long SOP: a loop back up, a diamond, and the name with markup stayed text.
    let diamond = b
        .js(
            "return document.querySelector(\"#flowchart .flowchart-drawing g.step[data-step='langkah_24']\").dataset.symbol",
            vec![],
        )
        .await;
    assert_eq!(diamond, json!("decision"));
    let title = b
        .js(
            "return document.querySelector(\"#flowchart .flowchart-drawing g.step[data-step='langkah_3'] title\").textContent",
            vec![],
        )
        .await;
    assert_eq!(
        title,
        json!("<script>window.diserang = 1</script> Periksa & catat")
    );
    assert_eq!(
        b.js(
            "return [typeof window.diserang, document.querySelectorAll('#flowchart script').length]",
            vec![]
        )
        .await,
        json!(["undefined", 0])
    );

    // Printed: the page's chrome goes, the flowchart is drawn in A4 landscape pieces joined
    // by connectors, one sheet each after the facts.
    let pieces = b
        .js(
            "return Array.from(document.querySelectorAll('.flowchart-print-page svg')).map(s => \
               Array.from(s.querySelectorAll('g.connector')).map(c => c.dataset.side + ':' + c.dataset.connector))",
            vec![],
        )
        .await;
    let pieces = pieces.as_array().unwrap();
    assert!(
        pieces.len() >= 2,
        "a long flowchart takes pages: {pieces:?}"
    );
    for pair in pieces.windows(2) {
        let labels = |v: &Value, side: &str| -> Vec<String> {
            v.as_array()
                .unwrap()
                .iter()
                .filter_map(|s| s.as_str().unwrap().strip_prefix(side).map(str::to_owned))
                .collect()
        };
        let below = labels(&pair[0], "bottom:");
        assert!(!below.is_empty(), "{pieces:?}");
        assert_eq!(below, labels(&pair[1], "top:"), "{pieces:?}");
    }
    b.cdp("Emulation.setEmulatedMedia", json!({ "media": "print" }))
        .await;
    let shown = b
        .js(
            "return [getComputedStyle(document.querySelector('header.top')).display, getComputedStyle(document.querySelector('.flowchart-print')).display, getComputedStyle(document.querySelector('.flowchart-drawing')).display, getComputedStyle(document.querySelector('iframe.sop-table').closest('section')).display]",
            vec![],
        )
        .await;
    assert_eq!(shown, json!(["none", "block", "none", "none"]));
    b.js(
        "document.querySelectorAll('.flowchart-print-page')[1].scrollIntoView()",
        vec![],
    )
    .await;
    b.screenshot("print-02-version-print-media").await;
    b.cdp("Emulation.setEmulatedMedia", json!({ "media": "" }))
        .await;
    let pdf = b.print_a4_landscape().await;
    assert!(pdf.starts_with(b"%PDF"), "a PDF");
    std::fs::write(
        chromium::screenshot_dir().join("print-version-uji-panjang.pdf"),
        &pdf,
    )
    .unwrap();
    // The facts on the first sheet, then one sheet per piece: none split by the browser.
    assert_eq!(pdf_pages(&pdf), 1 + pieces.len(), "version page printed");

    // ---- The official table of the long SOP, on paper.
    b.goto(&format!("{base}/kelola/sop/uji-panjang/versi/1/tabel"))
        .await;
    b.wait_text("Uji Tabel Panjang", Duration::from_secs(5))
        .await;
    let pages = b
        .js(
            "return document.querySelectorAll('section.flow-page').length",
            vec![],
        )
        .await
        .as_u64()
        .unwrap() as usize;
    assert!(pages >= 2, "a long table takes pages: {pages}");
    // Each page repeats the header.
    let headers = b
        .js(
            "return Array.from(document.querySelectorAll('section.flow-page')).map(s => s.querySelectorAll('thead th.waktu').length)",
            vec![],
        )
        .await;
    assert_eq!(headers, json!(vec![1; pages]));
    // Every connector label is on the bottom edge of one page's last row and the top edge of
    // the next page's first row, in the same lane.
    let connectors = b
        .js(
            "return Array.from(document.querySelectorAll('svg.connector')).map(c => { \
               const td = c.closest('td'); const tr = td.closest('tr'); const page = c.closest('section'); \
               const rows = Array.from(page.querySelectorAll('tbody tr')); \
               return { label: c.dataset.connector, side: c.dataset.side, actor: td.dataset.actor, \
                        page: Number(page.dataset.page), first: rows[0] === tr, last: rows[rows.length - 1] === tr, \
                        text: c.textContent }; })",
            vec![],
        )
        .await;
    let connectors = connectors.as_array().unwrap();
    assert!(!connectors.is_empty(), "connectors at the breaks");
    let mut labels: Vec<&str> = connectors
        .iter()
        .map(|c| c["label"].as_str().unwrap())
        .collect();
    labels.sort_unstable();
    labels.dedup();
    for label in &labels {
        let both: Vec<&Value> = connectors.iter().filter(|c| c["label"] == *label).collect();
        assert_eq!(both.len(), 2, "{label}: {both:?}");
        let bottom = both.iter().find(|c| c["side"] == "bottom").unwrap();
        let top = both.iter().find(|c| c["side"] == "top").unwrap();
        assert_eq!(bottom["last"], json!(true), "{label}: {bottom}");
        assert_eq!(top["first"], json!(true), "{label}: {top}");
        assert_eq!(
            top["page"].as_u64().unwrap(),
            bottom["page"].as_u64().unwrap() + 1,
            "{label}"
        );
        assert_eq!(top["actor"], bottom["actor"], "{label}: same lane");
        assert_eq!(top["text"], json!(label), "labelled");
    }
    // Both the chain down and the loop back up cross the first break.
    let first_break = connectors
        .iter()
        .filter(|c| c["page"] == 1 && c["side"] == "bottom")
        .count();
    assert_eq!(first_break, 2, "{connectors:?}");

    // In print, at A4 landscape's width, the headings are whole: "No" and "Waktu" one line.
    b.cdp("Emulation.setEmulatedMedia", json!({ "media": "print" }))
        .await;
    b.cdp(
        "Emulation.setDeviceMetricsOverride",
        json!({ "width": 1047, "height": 718, "deviceScaleFactor": 1, "mobile": false }),
    )
    .await;
    for heading in ["th.no", "th.waktu"] {
        let lines = b.js(LINES_OF, vec![json!(heading)]).await;
        assert_eq!(lines, json!(1), "{heading} on one line");
    }
    b.cdp("Emulation.clearDeviceMetricsOverride", json!({}))
        .await;
    b.js(
        "document.querySelector('svg.connector[data-side=bottom]').scrollIntoView({block: 'center'})",
        vec![],
    )
    .await;
    b.screenshot("print-03-table-connectors-print-media").await;
    b.cdp("Emulation.setEmulatedMedia", json!({ "media": "" }))
        .await;
    // Chromium prints it on exactly the pages the table says: the identity page, then one per
    // flow page. The browser added no break of its own, so the connectors are where the
    // pages break.
    let pdf = b.print_a4_landscape().await;
    std::fs::write(
        chromium::screenshot_dir().join("print-table-uji-panjang.pdf"),
        &pdf,
    )
    .unwrap();
    assert_eq!(pdf_pages(&pdf), 1 + pages, "printed pages");

    // The shipped SOPs with their long texts print on the pages their tables say, too. (Not
    // akta-kematian: the Kelengkapan of its first rows, conditions written out as guards, is
    // taller than a page by itself, and a row taller than a page is split by the browser.)
    for sop in ["ktp-el", "kartu-keluarga", "akta-kelahiran"] {
        b.goto(&format!("{base}/kelola/sop/{sop}/versi/1/tabel"))
            .await;
        b.find("section.flow-page").await;
        let sections = b
            .js(
                "return document.querySelectorAll('section.flow-page').length",
                vec![],
            )
            .await
            .as_u64()
            .unwrap() as usize;
        let pdf = b.print_a4_landscape().await;
        assert_eq!(pdf_pages(&pdf), 1 + sections, "{sop}: printed pages");
    }

    // A short SOP: one page of table, no connector.
    b.goto(&format!("{base}/kelola/sop/uji-pendek/versi/1/tabel"))
        .await;
    b.wait_text("Uji Tabel Panjang", Duration::from_secs(5))
        .await;
    assert_eq!(
        b.js(
            "return [document.querySelectorAll('section.flow-page').length, document.querySelectorAll('svg.connector').length]",
            vec![]
        )
        .await,
        json!([1, 0])
    );
    assert_eq!(pdf_pages(&b.print_a4_landscape().await), 2);

    // ---- A print that fails becomes an incident; retried with a reason once fixed.
    let r = server.post(
        "/cases",
        &petugas,
        &json!({ "sop_id": "ktp-el", "data": { "nik": "1312990101900042", "nama_lengkap": "Pemohon Uji", "alasan": "baru" }, "documents": [{ "type": "fotokopi_kk" }] }),
    );
    assert_eq!(r.status, 201, "{}", r.text);
    let case = r.body["case_id"].as_str().unwrap().to_owned();
    for (token, step, body) in [
        (&petugas, "serahkan_berkas", json!({})),
        (&petugas, "verifikasi_berkas", json!({})),
    ] {
        let r = server.post(
            &format!("/cases/{case}/steps/{step}/complete"),
            token,
            &body,
        );
        assert_eq!(r.status, 200, "{step}: {}", r.text);
    }
    let r = server.post("/queues/cetak_ktp/call-next", &operator, &json!({}));
    assert_eq!(r.status, 200, "{}", r.text);
    let r = server.post(
        &format!("/cases/{case}/steps/periksa_perekaman/complete"),
        &operator,
        &json!({ "data": { "status_perekaman": "PRINT_READY_RECORD", "masalah_nik": false } }),
    );
    assert_eq!(r.status, 200, "{}", r.text);
    wait_for(Duration::from_secs(45), "the incident", || {
        let r = server.get(&format!("/cases/{case}"), &auditor);
        (r.body["status"] == "incident").then_some(())
    });

    // The dispatcher raises the case's incident, then parks the delivery: reload until listed.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        b.goto(&format!("{base}/kelola/insiden")).await;
        if b.has("#incidents").await {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no incident listed");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let row = b
        .js(
            "const r = document.querySelector('#incidents tbody tr'); return [r.dataset.incident, r.innerText]",
            vec![],
        )
        .await;
    let incident = row[0].as_str().unwrap().to_owned();
    let text = row[1].as_str().unwrap();
    assert!(text.contains(&case), "its case: {text}");
    assert!(text.contains("printer_ktp"), "{text}");
    assert!(text.contains("cetak_ktp"), "{text}");
    assert!(text.contains("unreachable"), "its reason: {text}");
    assert!(!text.contains("1312990101900042"), "no personal data");
    b.screenshot("print-04-incident-listed").await;

    // No reason: refused beside the field, nothing retried.
    b.click(&format!(
        "tr[data-incident='{incident}'] button[type=submit]"
    ))
    .await;
    let error = b
        .find(&format!("#alasan-{incident}-error"))
        .await
        .text()
        .await
        .unwrap();
    assert!(error.contains("alasan"), "{error}");
    assert_eq!(
        b.js(
            &format!("return document.getElementById('alasan-{incident}').getAttribute('aria-describedby')"),
            vec![]
        )
        .await,
        json!(format!("alasan-{incident}-error"))
    );
    assert!(b.has(&format!("tr[data-incident='{incident}']")).await);
    b.screenshot("print-05-incident-reason-needed").await;

    // The cause is fixed (the printer is switched on), then retried with a reason.
    let printer = peers::ipp_enabled("the printer switched on before the retry").then(|| {
        peers::Printer::start(peers::PrinterOptions {
            port: Some(printer_port),
            ..Default::default()
        })
    });
    let reason = "Printer sudah dinyalakan kembali";
    b.type_into(&format!("#alasan-{incident}"), reason).await;
    b.click(&format!(
        "tr[data-incident='{incident}'] button[type=submit]"
    ))
    .await;
    b.wait_text("Pengiriman diulang", Duration::from_secs(10))
        .await;
    assert!(!b.has(&format!("tr[data-incident='{incident}']")).await);
    b.screenshot("print-06-incident-retried").await;

    // The case's history: resolved by ani, for that reason.
    let history = server.get(&format!("/cases/{case}/history"), &auditor);
    let events = history.body.as_array().unwrap();
    let all_facts = process::facts(events);
    let resolved: Vec<&Value> = all_facts
        .iter()
        .filter(|e| e["type"] == "incident_resolved")
        .collect();
    assert_eq!(resolved.len(), 1, "{events:?}");
    assert_eq!(resolved[0]["user"], "ani", "{}", resolved[0]);
    assert!(
        resolved[0].to_string().contains(reason),
        "the reason is recorded: {}",
        resolved[0]
    );
    if let Some(printer) = printer {
        wait_for(Duration::from_secs(45), "the card printed", || {
            let r = server.get(&format!("/cases/{case}"), &auditor);
            (r.body["current_step"]["id"] == "validasi_ktp").then_some(())
        });
        assert_eq!(printer.documents().len(), 1, "one card");
        b.goto(&format!("{base}/kelola/insiden")).await;
        b.wait_text("Tidak ada insiden terbuka", Duration::from_secs(5))
            .await;
    }
    drop(b);
    server.stop();
}
