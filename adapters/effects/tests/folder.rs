#![allow(clippy::unwrap_used)] // Test helpers: a panic is a failed test, not a crash on input.
//! The folder printer: one file per key, written atomically, never twice.

use sopflow_effects::{
    CardPrinter, FolderPrinter, IdempotencyKey, JobState, Layout, Lookup, PrintDocument, PrintJob,
    PrintLine,
};

fn job(key: &str) -> PrintJob {
    PrintJob {
        key: IdempotencyKey::new(key).unwrap(),
        document: PrintDocument {
            layout: Layout::Id1Card,
            title: "REPUBLIK INDONESIA".into(),
            lines: vec![
                PrintLine {
                    label: "NIK".into(),
                    value: "3201010101900001".into(),
                },
                PrintLine {
                    label: "Nama".into(),
                    value: "SITI CONTOH".into(),
                },
            ],
        },
    }
}

#[tokio::test]
async fn printing_twice_with_the_same_key_writes_one_file() {
    let dir = tempfile::tempdir().unwrap();
    let printer = FolderPrinter::new(dir.path().join("cards"));
    let job = job("case-0001:cetak_ktp:1");

    assert_eq!(printer.lookup(&job.key).await.unwrap(), Lookup::NotFound);
    let first = printer.print(&job).await.unwrap();
    assert_eq!(first.state, JobState::Completed);
    assert!(!first.already_submitted);
    let path = printer.path_for(&job.key);
    let written = std::fs::read(&path).unwrap();
    let modified = std::fs::metadata(&path).unwrap().modified().unwrap();

    let second = printer.print(&job).await.unwrap();
    assert!(second.already_submitted);
    assert_eq!(second.job_ref, first.job_ref);
    assert_eq!(
        std::fs::metadata(&path).unwrap().modified().unwrap(),
        modified
    );

    let files: Vec<_> = std::fs::read_dir(dir.path().join("cards"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    // A portable name: no `:` (SMB shares and Windows refuse it).
    assert_eq!(
        files,
        vec![std::ffi::OsString::from("case-0001+cetak_ktp+1.pdf")]
    );
    assert_eq!(
        written,
        sopflow_effects::pdf::render(&job.document).unwrap()
    );
    assert!(matches!(
        printer.lookup(&job.key).await.unwrap(),
        Lookup::Found {
            state: JobState::Completed,
            ..
        }
    ));
}

#[tokio::test]
async fn another_visit_is_another_card() {
    let dir = tempfile::tempdir().unwrap();
    let printer = FolderPrinter::new(dir.path());
    printer.print(&job("case-0001:cetak_ktp:1")).await.unwrap();
    let second = printer.print(&job("case-0001:cetak_ktp:2")).await.unwrap();
    assert!(!second.already_submitted);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

#[test]
fn keys_that_could_escape_the_folder_are_refused() {
    for bad in ["", "../x", "a/b", ".hidden", "a b", "ké"] {
        assert!(IdempotencyKey::new(bad).is_err(), "{bad:?}");
    }
}

#[tokio::test]
async fn a_card_printed_under_the_old_name_is_found_and_not_printed_again() {
    let dir = tempfile::tempdir().unwrap();
    let printer = FolderPrinter::new(dir.path());
    let job = job("case-0004:cetak_ktp:1");
    // Written by a build that named files after the key as it is.
    let legacy = dir.path().join("case-0004:cetak_ktp:1.pdf");
    std::fs::write(&legacy, b"%PDF-1.4 printed earlier").unwrap();
    assert!(matches!(
        printer.lookup(&job.key).await.unwrap(),
        Lookup::Found { .. }
    ));
    let again = printer.print(&job).await.unwrap();
    assert!(again.already_submitted);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[tokio::test]
async fn an_a4_document_is_printed_too() {
    let dir = tempfile::tempdir().unwrap();
    let printer = FolderPrinter::new(dir.path());
    let mut job = job("case-0005:cetak_kk:1");
    job.document.layout = Layout::A4Document;
    job.document.title = "KARTU KELUARGA".into();
    let outcome = printer.print(&job).await.unwrap();
    assert_eq!(outcome.state, JobState::Completed);
    let pdf = std::fs::read(printer.path_for(&job.key)).unwrap();
    assert_eq!(pdf, sopflow_effects::pdf::render(&job.document).unwrap());
    assert!(String::from_utf8_lossy(&pdf).contains("KARTU KELUARGA"));
}
