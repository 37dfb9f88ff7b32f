#![allow(clippy::unwrap_used)] // Test helpers: a panic is a failed test, not a crash on input.
//! The folder printer: one file per key, written atomically, never twice.

use sopflow_effects::{
    CardPrinter, FolderPrinter, IdempotencyKey, JobState, Layout, Lookup, PrintDocument, PrintJob,
    PrintLine, STAGING,
};

/// The names in the print folder (what a print station picks up), and whether the staging
/// subfolder is empty.
fn listing(dir: &std::path::Path) -> (Vec<String>, bool) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != STAGING)
        .collect();
    names.sort();
    let staging_empty = std::fs::read_dir(dir.join(STAGING))
        .map(|mut d| d.next().is_none())
        .unwrap_or(true);
    (names, staging_empty)
}

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

    // A portable name: no `:` (SMB shares and Windows refuse it); no temporary file left.
    assert_eq!(
        listing(&dir.path().join("cards")),
        (vec!["case-0001+cetak_ktp+1.pdf".to_owned()], true)
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
    assert_eq!(listing(dir.path()).0.len(), 2);
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
    assert_eq!(listing(dir.path()).0.len(), 1);
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

/// A process killed mid-write leaves its temporary file in the staging subfolder, never in the
/// print folder; the next start removes it there, and removes the `.KEY.PID.tmp` an earlier
/// build left beside the cards (a complete card under a name a print station may pick up).
/// A fresh temporary file (another process writing right now) is left alone.
#[tokio::test]
async fn stale_temporary_files_are_removed_and_none_is_written_beside_the_cards() {
    let dir = tempfile::tempdir().unwrap();
    let staging = dir.path().join(STAGING);
    std::fs::create_dir_all(&staging).unwrap();
    let card = sopflow_effects::pdf::render(&job("case-0006:cetak_ktp:1").document).unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3600);
    let stale = |path: std::path::PathBuf| {
        std::fs::write(&path, &card).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(old)
            .unwrap();
        path
    };
    let killed = stale(staging.join("case-0006+cetak_ktp+1.4242.tmp"));
    let earlier_build = stale(dir.path().join(".case-0007+cetak_ktp+1.4243.tmp"));
    let writing = staging.join("case-0008+cetak_ktp+1.4244.tmp");
    std::fs::write(&writing, b"%PDF-1.4 being written").unwrap();
    // A card a station keeps is never touched, however old.
    let kept = stale(dir.path().join("case-0005+cetak_ktp+1.pdf"));

    // A new process: its first use cleans up, before it prints or looks anything up.
    let printer = FolderPrinter::new(dir.path());
    let job = job("case-0006:cetak_ktp:1");
    assert_eq!(printer.lookup(&job.key).await.unwrap(), Lookup::NotFound);
    assert!(!killed.exists(), "the stale temporary file is removed");
    assert!(
        !earlier_build.exists(),
        "the earlier build's card under a temporary name is removed"
    );
    assert!(
        writing.exists(),
        "a fresh temporary file is another process's, left alone"
    );
    assert!(kept.exists());
    let outcome = printer.print(&job).await.unwrap();
    assert!(!outcome.already_submitted);
    std::fs::remove_file(&writing).unwrap();
    assert_eq!(
        listing(dir.path()),
        (
            vec![
                "case-0005+cetak_ktp+1.pdf".to_owned(),
                "case-0006+cetak_ktp+1.pdf".to_owned()
            ],
            true
        )
    );
    assert_eq!(std::fs::read(printer.path_for(&job.key)).unwrap(), card);
}
