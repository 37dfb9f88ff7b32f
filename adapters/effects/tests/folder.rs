#![allow(clippy::unwrap_used)] // Test helpers: a panic is a failed test, not a crash on input.
//! The folder printer: one file per key, written atomically, never twice.

use sopflow_effects::{
    CardFields, CardPrinter, FolderPrinter, IdempotencyKey, JobState, Lookup, PrintJob,
};

fn job(key: &str) -> PrintJob {
    PrintJob {
        key: IdempotencyKey::new(key).unwrap(),
        card: CardFields {
            nik: "3201010101900001".into(),
            nama_lengkap: "SITI CONTOH".into(),
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
    assert_eq!(
        files,
        vec![std::ffi::OsString::from("case-0001:cetak_ktp:1.pdf")]
    );
    assert_eq!(
        written,
        sopflow_effects::pdf::render_card(&job.card).unwrap()
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
