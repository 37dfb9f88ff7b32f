//! The other SOPs end to end over the REST API: the Kartu Keluarga, Akta Kelahiran and Akta
//! Kematian SOPs as shipped in `sop-definitions/`, and a synthetic SOP (`tests/sops/`) whose
//! service steps send fields no shipped SOP has. Each case is opened and driven through every
//! step by the roles its YAML names, through its loops (a file sent back and handed in again),
//! its printer step (the outbox dispatcher prints on the default folder printer, or on a real
//! `ippeveprinter` when `SOPFLOW_TEST_IPP=1`) and its consultation, to its end; on SQLite and
//! (when configured) PostgreSQL. Nothing in the service knows these SOPs: they are files in its
//! definitions folder.

#![allow(clippy::unwrap_used)]

mod support;

use std::collections::HashMap;

use axum::http::StatusCode;
use serde_json::{Value, json};
use sopflow::serve::Config;
use sopflow_core::adapters::AdapterConfig;
use sopflow_engine::sop::Duration as SopDuration;
use support::peers::{Desk, Printer, PrinterOptions, ipp_enabled};
use support::{Api, Backend, Reply, Serving, quick_dispatch};

/// One test per scenario and backend.
macro_rules! sop_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { $crate::$name($crate::Backend::Sqlite).await }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { $crate::$name($crate::Backend::Postgres).await }
            )*
        }
    };
}

sop_tests!(
    a_kartu_keluarga_case_runs_from_the_queue_to_the_printed_kk,
    an_akta_kelahiran_file_sent_back_is_taken_in_again_and_its_draft_printed,
    an_akta_kematian_abroad_is_sent_back_completed_printed_and_reported,
    a_synthetic_sop_consults_and_prints_with_fields_of_its_own,
);

const KARTU_KELUARGA: &str = "sop-definitions/kartu-keluarga.yaml";
const AKTA_KELAHIRAN: &str = "sop-definitions/akta-kelahiran.yaml";
const AKTA_KEMATIAN: &str = "sop-definitions/akta-kematian.yaml";
const UJI_GENERIK: &str = "tests/sops/uji-generik.yaml";
const SECRET: &str = "rahasia-desk-uji-0123456789";

/// A service with some SOPs deployed, its dispatcher running, and a user per role.
struct Office {
    api: Api,
    serving: Serving,
    tokens: HashMap<String, String>,
}

impl Office {
    async fn open(
        backend: Backend,
        sops: &[&str],
        roles: &[&str],
        configure: impl FnOnce(&mut Config),
    ) -> Option<Office> {
        let api = Api::start_with_sops(backend, sops, configure).await?;
        let serving = api.serve(quick_dispatch()).await;
        let mut tokens = HashMap::new();
        for role in roles.iter().chain(&["auditor"]) {
            tokens.insert((*role).to_owned(), api.user(role, role).await);
        }
        Some(Office {
            api,
            serving,
            tokens,
        })
    }

    async fn finish(self) {
        drop(self.serving);
        self.api.finish().await;
    }

    fn token(&self, role: &str) -> &str {
        self.tokens
            .get(role)
            .unwrap_or_else(|| panic!("no user with role {role}"))
    }

    /// Opens a case as `role`; its id.
    async fn start(&self, role: &str, sop: &str, data: Value, documents: Value) -> Value {
        let r = self
            .api
            .post(
                "/cases",
                self.token(role),
                json!({ "sop_id": sop, "data": data, "documents": documents }),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        r.body
    }

    async fn send(&self, role: &str, case: &str, step: &str, body: Value) -> Reply {
        self.api
            .post(
                &format!("/cases/{case}/steps/{step}/complete"),
                self.token(role),
                body,
            )
            .await
    }

    /// Completes `step` as `role`; the case after it.
    async fn complete(&self, role: &str, case: &str, step: &str, body: Value) -> Value {
        let r = self.send(role, case, step, body).await;
        assert_eq!(r.status, StatusCode::OK, "{step} as {role}: {}", r.text);
        r.body
    }

    async fn wait_step(&self, case: &str, step: &str) -> Value {
        self.api
            .wait_case(case, self.token("auditor"), &format!("step {step}"), |b| {
                b["current_step"]["id"] == step
            })
            .await
    }

    async fn history(&self, case: &str) -> Vec<Value> {
        let r = self
            .api
            .get(&format!("/cases/{case}/history"), self.token("auditor"))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        r.body.as_array().unwrap().clone()
    }

    /// The PDFs the default folder printer printed for `case`.
    fn printed(&self, case: &str) -> Vec<Vec<u8>> {
        let Ok(entries) = std::fs::read_dir(self.api.prints()) else {
            return Vec::new();
        };
        let mut files: Vec<_> = entries
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_string_lossy().contains(case))
            .collect();
        files.sort();
        files.iter().map(|p| std::fs::read(p).unwrap()).collect()
    }
}

fn id(case: &Value) -> String {
    case["case_id"].as_str().unwrap().to_owned()
}

fn step_of(case: &Value) -> &str {
    case["current_step"]["id"].as_str().unwrap_or_default()
}

/// The current step's time budget in seconds (its clock's due time less its entry).
fn budget(case: &Value) -> Option<i64> {
    let at = |field: &str| {
        case["current_step"][field].as_str().map(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).unwrap()
        })
    };
    Some((at("due_at")? - at("entered_at")?).whole_seconds())
}

/// The steps the case entered, in order.
fn entered(history: &[Value]) -> Vec<String> {
    support::facts(history)
        .iter()
        .filter(|e| e["type"] == "step_entered")
        .map(|e| e["event"]["step"].as_str().unwrap().to_owned())
        .collect()
}

/// Who recorded each completed step (`step`, role).
fn recorders(history: &[Value]) -> Vec<(String, String)> {
    support::facts(history)
        .iter()
        .filter(|e| e["type"] == "step_completed")
        .map(|e| {
            (
                e["event"]["step"].as_str().unwrap().to_owned(),
                e["role"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// `text` as a PDF string literal writes it (the printer's PDFs are not compressed).
fn in_pdf(pdf: &[u8], text: &str) -> bool {
    let literal = text
        .replace('\\', "\\\\")
        .replace('(', "\\(")
        .replace(')', "\\)");
    let found = |needle: &str| pdf.windows(needle.len()).any(|w| w == needle.as_bytes());
    found(&format!("({literal})")) || found(&literal)
}

/// The printout is one PDF with `title` and each label and value.
fn assert_printed(pdfs: &[Vec<u8>], title: &str, lines: &[(&str, &str)]) {
    assert_eq!(pdfs.len(), 1, "one document printed");
    let pdf = &pdfs[0];
    assert!(pdf.starts_with(b"%PDF-"), "a PDF");
    assert!(in_pdf(pdf, title), "the title {title:?} is printed");
    for (label, value) in lines {
        assert!(in_pdf(pdf, label), "the label {label:?} is printed");
        assert!(in_pdf(pdf, value), "the value of {label:?} is printed");
    }
}

/// The Kartu Keluarga of Kota Sorong: the applicant's queue number, a file the front office may
/// not pass while a requirement is missing, SIAK, data entry, the Kasi's check, the electronic
/// signature and the printed KK, each by its own role.
async fn a_kartu_keluarga_case_runs_from_the_queue_to_the_printed_kk(backend: Backend) {
    let roles = [
        "petugas_fo",
        "petugas_loket",
        "operator_komputer",
        "kepala_seksi",
        "petugas_tte",
        "petugas_cetak",
    ];
    let Some(o) = Office::open(backend, &[KARTU_KELUARGA], &roles, |_| {}).await else {
        return;
    };
    // The applicant takes a number; the front office's account opens the case.
    let opened = o
        .start(
            "petugas_fo",
            "kartu-keluarga",
            json!({ "jenis_permohonan": "kk_baru" }),
            json!([]),
        )
        .await;
    let case = id(&opened);
    assert_eq!(step_of(&opened), "ambil_nomor_antrian");
    assert_eq!(opened["queue_number"], "KK-001");
    let r = o
        .api
        .post(
            "/queues/antrian_kk/call-next",
            o.token("petugas_loket"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = o
        .api
        .post(
            "/queues/antrian_kk/call-next",
            o.token("petugas_fo"),
            json!({}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["case_id"], case.as_str());
    assert_eq!(step_of(&r.body), "serahkan_persyaratan");

    // The file comes without the marriage certificate a new KK needs.
    let body = o
        .complete(
            "petugas_fo",
            &case,
            "serahkan_persyaratan",
            json!({ "data": { "nik_pemohon": "1312991203010002", "nama_pemohon": "Contoh Pemohon" } }),
        )
        .await;
    assert_eq!(step_of(&body), "teliti_berkas");
    let r = o
        .send("petugas_fo", &case, "teliti_berkas", json!({}))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("akta_perkawinan"), "{}", r.text);
    assert!(
        !r.text.contains("surat_pindah_datang"),
        "only what a new KK needs: {}",
        r.text
    );
    // Brought in, the file is complete.
    let body = o
        .complete(
            "petugas_fo",
            &case,
            "teliti_berkas",
            json!({ "documents": [{ "type": "akta_perkawinan" }] }),
        )
        .await;
    assert_eq!(step_of(&body), "verifikasi_siak");
    assert_eq!(budget(&body), Some(300), "row 3: 5 menit");
    let r = o
        .send("operator_komputer", &case, "verifikasi_siak", json!({}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    o.complete("petugas_loket", &case, "verifikasi_siak", json!({}))
        .await;
    // The data-entry step sets the KK's data; the Kasi's check may not change it.
    let kk = json!({
        "nomor_kk": "1312991507200001",
        "nama_kepala_keluarga": "Contoh Kepala Keluarga",
        "alamat": "Jl. Contoh No. 1, Kota Sorong",
    });
    o.complete(
        "operator_komputer",
        &case,
        "entri_data",
        json!({ "data": kk }),
    )
    .await;
    let r = o
        .send(
            "kepala_seksi",
            &case,
            "verifikasi_kasi",
            json!({ "data": { "alamat": "Alamat lain" } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("alamat"), "{}", r.text);
    let body = o
        .complete("kepala_seksi", &case, "verifikasi_kasi", json!({}))
        .await;
    assert_eq!(step_of(&body), "tte");
    assert_eq!(budget(&body), None, "the source gives row 6 no time");
    let body = o.complete("petugas_tte", &case, "tte", json!({})).await;
    assert_eq!(step_of(&body), "cetak_kk");

    // The dispatcher prints the KK on the folder printer, and the step completes.
    o.wait_step(&case, "terima_kk").await;
    assert_printed(
        &o.printed(&case),
        "KARTU KELUARGA",
        &[
            ("Nomor KK", "1312991507200001"),
            ("Nama Kepala Keluarga", "Contoh Kepala Keluarga"),
            ("Alamat", "Jl. Contoh No. 1, Kota Sorong"),
        ],
    );
    let done = o
        .complete("petugas_cetak", &case, "terima_kk", json!({}))
        .await;
    assert_eq!(done["status"], "completed", "{done}");

    let history = o.history(&case).await;
    assert_eq!(
        entered(&history),
        [
            "ambil_nomor_antrian",
            "serahkan_persyaratan",
            "teliti_berkas",
            "verifikasi_siak",
            "entri_data",
            "verifikasi_kasi",
            "tte",
            "cetak_kk",
            "terima_kk",
            "selesai",
        ]
    );
    let all_facts = support::facts(&history);
    let printed: Vec<&Value> = all_facts
        .iter()
        .filter(|e| e["type"] == "adapter_completed")
        .collect();
    assert_eq!(printed.len(), 1);
    assert_eq!(printed[0]["user"], "adapter:printer_kk");
    for pair in history.windows(2) {
        assert_eq!(
            pair[1]["prev_hash"], pair[0]["hash"],
            "the history is chained"
        );
    }
    // The auditor's replay re-checks every decision of the case against the SOP.
    let r = o
        .api
        .get(&format!("/cases/{case}/verify"), o.token("auditor"))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["findings"], json!([]), "{}", r.text);
    o.finish().await;
}

/// The Akta Kelahiran of Kabupaten Poso: the JFU takes the file in, the Kasi finds it
/// incomplete and sends it back (exit T), the JFU takes it in again, the Kasi passes it (Y);
/// the JFU registers it and the draft extract is printed; Kasi, Kabid, Sekretaris and Kadis
/// initial and sign; the Kabid hands it down and the Kasi gives it out.
async fn an_akta_kelahiran_file_sent_back_is_taken_in_again_and_its_draft_printed(
    backend: Backend,
) {
    let roles = ["jfu", "kasi", "kabid", "sekretaris", "kadis"];
    let Some(o) = Office::open(backend, &[AKTA_KELAHIRAN], &roles, |_| {}).await else {
        return;
    };
    let r = o
        .api
        .post(
            "/cases",
            o.token("kasi"),
            json!({ "sop_id": "akta-kelahiran", "data": { "nama_anak": "Contoh Anak" } }),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "the JFU takes files in: {}",
        r.text
    );
    let opened = o
        .start(
            "jfu",
            "akta-kelahiran",
            json!({ "nama_anak": "Contoh Anak", "jenis_kelamin": "perempuan" }),
            json!([{ "type": "berkas_permohonan" }]),
        )
        .await;
    let case = id(&opened);
    let child = json!({
        "tempat_lahir": "Poso",
        "tanggal_lahir": "2026-01-15",
        "nama_ayah": "Contoh Ayah",
        "nama_ibu": "Contoh Ibu",
    });
    o.complete("jfu", &case, "terima_berkas", json!({ "data": child }))
        .await;
    // The Kasi checks the file: the village head's letter is missing, so it goes back (T).
    let almost = json!([
        { "type": "surat_keterangan_lahir" },
        { "type": "surat_nikah_orang_tua" },
        { "type": "ktp_orang_tua" },
        { "type": "kartu_keluarga" },
    ]);
    let body = o
        .complete(
            "kasi",
            &case,
            "periksa_berkas",
            json!({ "documents": almost }),
        )
        .await;
    assert_eq!(step_of(&body), "terima_berkas", "{body}");
    // Completed, the file is taken in again and passes (Y).
    o.complete("jfu", &case, "terima_berkas", json!({})).await;
    let body = o
        .complete(
            "kasi",
            &case,
            "periksa_berkas",
            json!({ "documents": [{ "type": "surat_pengantar" }] }),
        )
        .await;
    assert_eq!(step_of(&body), "catat_akta", "{body}");
    let body = o
        .complete(
            "jfu",
            &case,
            "catat_akta",
            json!({ "data": { "nomor_akta": "7204-LT-15012026-0001" } }),
        )
        .await;
    assert_eq!(step_of(&body), "cetak_konsep");
    o.wait_step(&case, "paraf_kasi").await;
    assert_printed(
        &o.printed(&case),
        "KONSEP KUTIPAN AKTA KELAHIRAN",
        &[
            ("Nomor Akta", "7204-LT-15012026-0001"),
            ("Nama Anak", "Contoh Anak"),
            ("Jenis Kelamin", "perempuan"),
            ("Tempat Lahir", "Poso"),
            ("Tanggal Lahir", "2026-01-15"),
            ("Nama Ayah", "Contoh Ayah"),
            ("Nama Ibu", "Contoh Ibu"),
        ],
    );
    let r = o.send("kabid", &case, "paraf_kasi", json!({})).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    for (role, step) in [
        ("kasi", "paraf_kasi"),
        ("kabid", "paraf_kabid"),
        ("sekretaris", "paraf_sekretaris"),
        ("kadis", "tanda_tangan_kadis"),
        ("kabid", "teruskan_kutipan"),
    ] {
        o.complete(role, &case, step, json!({})).await;
    }
    let done = o
        .complete("kasi", &case, "serahkan_kutipan", json!({}))
        .await;
    assert_eq!(done["status"], "completed", "{done}");

    let history = o.history(&case).await;
    let steps = entered(&history);
    assert_eq!(
        steps.iter().filter(|s| *s == "terima_berkas").count(),
        2,
        "taken in twice: {steps:?}"
    );
    let all_facts = support::facts(&history);
    let branches: Vec<&Value> = all_facts
        .iter()
        .filter(|e| e["type"] == "branch_taken" && e["event"]["from"] == "periksa_berkas")
        .collect();
    // Sent back (the SOP's second branch, "T"), then on (its first, "Y"): the labels are the
    // pinned SOP's, shown by the replay rather than copied into each event (v2).
    let taken: Vec<u64> = branches
        .iter()
        .map(|e| e["event"]["branch"].as_u64().unwrap())
        .collect();
    assert_eq!(taken, [1, 0], "{branches:?}");
    assert!(branches.iter().all(|e| e["event"].get("label").is_none()));
    let replay = o
        .api
        .get(&format!("/cases/{case}/replay"), o.token("auditor"))
        .await;
    assert_eq!(replay.status, StatusCode::OK, "{}", replay.text);
    let labels: Vec<&str> = replay.body["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["step"] == "periksa_berkas")
        .map(|s| s["branch"]["label"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(labels, ["T", "Y"], "{}", replay.text);
    assert_eq!(
        recorders(&history)
            .iter()
            .filter(|(s, _)| s == "tanda_tangan_kadis")
            .map(|(_, r)| r.as_str())
            .collect::<Vec<_>>(),
        ["kadis"]
    );
    o.finish().await;
}

/// The Akta Kematian of Kabupaten Bandung Barat, for a death abroad: the file lacks the
/// immigration letter and goes back to the applicant, who completes it; the operator issues the
/// draft, Kasi and Kabid initial, the kutipan is printed and signed, handed over, and the
/// reporting letter of a death abroad is made. The whole service has 14 days.
async fn an_akta_kematian_abroad_is_sent_back_completed_printed_and_reported(backend: Backend) {
    let roles = [
        "petugas",
        "operator",
        "kepala_seksi",
        "kabid",
        "kepala_dinas",
        "petugas_loket",
    ];
    let Some(o) = Office::open(backend, &[AKTA_KEMATIAN], &roles, |_| {}).await else {
        return;
    };
    let opened = o
        .start(
            "petugas",
            "akta-kematian",
            json!({ "kategori": "luar_nkri" }),
            json!([
                { "type": "surat_kematian_negara_setempat" },
                { "type": "surat_kematian_rumah_sakit" },
                { "type": "fotokopi_kk" },
                { "type": "fotokopi_ktp_el" },
            ]),
        )
        .await;
    let case = id(&opened);
    let started = time::OffsetDateTime::parse(
        opened["started_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    let due = time::OffsetDateTime::parse(
        opened["total_due_at"].as_str().unwrap(),
        &time::format_description::well_known::Rfc3339,
    )
    .unwrap();
    assert_eq!(
        due - started,
        time::Duration::days(14),
        "Jangka Waktu 14 HARI"
    );
    let deceased = json!({
        "nik_almarhum": "1312994508950001",
        "nama_almarhum": "Contoh Almarhumah",
        "tanggal_kematian": "2026-01-10",
        "tempat_kematian": "Kuala Lumpur",
        "nama_pelapor": "Contoh Pelapor",
    });
    // The immigration letter is missing: the file goes back to the applicant.
    let body = o
        .complete(
            "petugas",
            &case,
            "terima_berkas",
            json!({ "data": deceased }),
        )
        .await;
    assert_eq!(step_of(&body), "lengkapi_berkas", "{body}");
    let r = o
        .send("operator", &case, "lengkapi_berkas", json!({}))
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let body = o
        .complete(
            "petugas",
            &case,
            "lengkapi_berkas",
            json!({ "documents": [{ "type": "surat_kematian_imigrasi" }] }),
        )
        .await;
    assert_eq!(step_of(&body), "terima_berkas");
    let body = o
        .complete("petugas", &case, "terima_berkas", json!({}))
        .await;
    assert_eq!(step_of(&body), "validasi_data", "{body}");
    o.complete(
        "operator",
        &case,
        "validasi_data",
        json!({ "data": { "nomor_akta": "3217-KM-20012026-0007" } }),
    )
    .await;
    o.complete("kepala_seksi", &case, "paraf_kepala_seksi", json!({}))
        .await;
    let body = o.complete("kabid", &case, "paraf_kabid", json!({})).await;
    assert_eq!(step_of(&body), "cetak_kutipan");
    o.wait_step(&case, "tanda_tangan").await;
    assert_printed(
        &o.printed(&case),
        "KUTIPAN AKTA KEMATIAN",
        &[
            ("Nomor Akta", "3217-KM-20012026-0007"),
            ("Nama", "Contoh Almarhumah"),
            ("Tanggal Kematian", "2026-01-10"),
            ("Tempat Kematian", "Kuala Lumpur"),
        ],
    );
    o.complete("kepala_dinas", &case, "tanda_tangan", json!({}))
        .await;
    o.complete("petugas_loket", &case, "serahkan_kutipan", json!({}))
        .await;
    let body = o
        .complete("petugas_loket", &case, "terima_kutipan", json!({}))
        .await;
    assert_eq!(
        step_of(&body),
        "buat_surat_pelaporan",
        "a death abroad is reported"
    );
    let done = o
        .complete("operator", &case, "buat_surat_pelaporan", json!({}))
        .await;
    assert_eq!(done["status"], "completed", "{done}");
    let history = o.history(&case).await;
    let steps = entered(&history);
    assert_eq!(
        steps.iter().filter(|s| *s == "terima_berkas").count(),
        2,
        "{steps:?}"
    );
    assert!(steps.contains(&"lengkapi_berkas".to_owned()));

    // A WNI's file with every document goes straight on, and ends without the letter.
    let wni = o
        .start(
            "petugas",
            "akta-kematian",
            json!({ "kategori": "wni", "memiliki_ktp_el": false }),
            json!([
                { "type": "formulir_permohonan" },
                { "type": "surat_keterangan_kematian" },
                { "type": "fotokopi_kk" },
                { "type": "fotokopi_ktp_el_saksi" },
            ]),
        )
        .await;
    let wni = id(&wni);
    let body = o
        .complete(
            "petugas",
            &wni,
            "terima_berkas",
            json!({ "data": {
                "nik_almarhum": "1312991203010002",
                "nama_almarhum": "Contoh Almarhum",
                "tanggal_kematian": "2026-01-12",
                "tempat_kematian": "Ngamprah",
            } }),
        )
        .await;
    assert_eq!(
        step_of(&body),
        "validasi_data",
        "no KTP-el is needed: {body}"
    );
    // The number the kutipan carries must be set here.
    let r = o
        .send("operator", &wni, "validasi_data", json!({ "data": {} }))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("nomor_akta"), "{}", r.text);
    o.complete(
        "operator",
        &wni,
        "validasi_data",
        json!({ "data": { "nomor_akta": "3217-KM-20012026-0008" } }),
    )
    .await;
    o.complete("kepala_seksi", &wni, "paraf_kepala_seksi", json!({}))
        .await;
    o.complete("kabid", &wni, "paraf_kabid", json!({})).await;
    o.wait_step(&wni, "tanda_tangan").await;
    o.complete("kepala_dinas", &wni, "tanda_tangan", json!({}))
        .await;
    o.complete("petugas_loket", &wni, "serahkan_kutipan", json!({}))
        .await;
    let done = o
        .complete("petugas_loket", &wni, "terima_kutipan", json!({}))
        .await;
    assert_eq!(done["status"], "completed", "{done}");
    assert!(!entered(&o.history(&wni).await).contains(&"buat_surat_pelaporan".to_owned()));
    o.finish().await;
}

/// The synthetic SOP: its consultation goes to a signed webhook desk carrying only the SOP's
/// own request fields, the desk's answer on the callback routes the case, and its letter is
/// printed on A4 with the SOP's labels (on a real printer when `SOPFLOW_TEST_IPP=1`). Deployed
/// beside the KTP-el SOP, neither knows of the other.
async fn a_synthetic_sop_consults_and_prints_with_fields_of_its_own(backend: Backend) {
    let desk = Desk::start(SECRET, "resolved", vec![]).await;
    let printer = ipp_enabled("the synthetic SOP's letter on a real printer")
        .then(|| Printer::start(PrinterOptions::default()));
    let url = desk.url.clone();
    let uri = printer.as_ref().map(|p| p.uri.clone());
    let roles = [
        "loket_uji",
        "penyusun_uji",
        "pejabat_uji",
        "petugas_antrian",
    ];
    let Some(o) = Office::open(
        backend,
        &[support::KTP_EL, UJI_GENERIK],
        &roles,
        |config: &mut Config| {
            config.adapters.insert(
                "cek_wilayah".into(),
                AdapterConfig::Webhook {
                    url,
                    secret: Some(SECRET.into()),
                    secret_env: None,
                    request_timeout: SopDuration::from_secs(5),
                },
            );
            if let Some(uri) = uri {
                config.adapters.insert(
                    "printer_surat".into(),
                    AdapterConfig::Ipp {
                        uri,
                        completion_wait: SopDuration::from_secs(30),
                        request_timeout: SopDuration::from_secs(10),
                    },
                );
            }
        },
    )
    .await
    else {
        return;
    };
    let r = o
        .api
        .post(
            "/cases",
            o.token("petugas_antrian"),
            json!({ "sop_id": "uji-generik", "data": { "kode_berkas": "UJI-0001" } }),
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "KTP-el's roles are not this SOP's: {}",
        r.text
    );
    let opened = o
        .start(
            "loket_uji",
            "uji-generik",
            json!({ "kode_berkas": "UJI-0001" }),
            json!([{ "type": "surat_permohonan" }]),
        )
        .await;
    let case = id(&opened);
    let body = o
        .complete(
            "loket_uji",
            &case,
            "daftar",
            json!({ "data": {
                "kode_wilayah": "131299",
                "perihal": "Keterangan uji cetak",
                "nama_penerima": "Penerima Fiktif",
            } }),
        )
        .await;
    assert_eq!(step_of(&body), "cek_pusat");
    // The desk gets the SOP's request fields and nothing else, answers, and the case goes on.
    o.wait_step(&case, "susun").await;
    let received = desk.received();
    assert_eq!(received.len(), 1, "{received:?}");
    let request = &received[0];
    assert!(request.signed);
    assert_eq!(request.idempotency_key, format!("{case}:cek_pusat:1"));
    assert_eq!(request.body["sop_id"], "uji-generik");
    assert_eq!(
        request.body["problem"], "cek_kode_wilayah",
        "the SOP's own problem text"
    );
    assert_eq!(
        request.body["request"],
        json!({ "kode_berkas": "UJI-0001", "kode_wilayah": "131299" })
    );
    assert_eq!(
        request.body["callback"],
        format!("{}/callbacks/cek_wilayah", o.serving.base)
    );
    o.complete(
        "penyusun_uji",
        &case,
        "susun",
        json!({ "data": { "nomor_surat": "470/UJI/2026", "jumlah_lembar": 2 } }),
    )
    .await;
    o.wait_step(&case, "tanda_tangan").await;
    let pdfs = match &printer {
        Some(printer) => printer.documents(),
        None => o.printed(&case),
    };
    assert_printed(
        &pdfs,
        "SURAT KETERANGAN UJI",
        &[
            ("Nomor Surat", "470/UJI/2026"),
            ("Perihal", "Keterangan uji cetak"),
            ("Penerima", "Penerima Fiktif"),
            ("Jumlah Lembar", "2"),
        ],
    );
    let done = o
        .complete("pejabat_uji", &case, "tanda_tangan", json!({}))
        .await;
    assert_eq!(done["status"], "completed", "{done}");
    let history = o.history(&case).await;
    let all_facts = support::facts(&history);
    let users: Vec<&str> = all_facts
        .iter()
        .filter(|e| e["type"] == "adapter_completed")
        .map(|e| e["user"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["callback:cek_wilayah", "adapter:printer_surat"]);
    o.finish().await;
}
