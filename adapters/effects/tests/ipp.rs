#![allow(clippy::unwrap_used)] // Test helpers: a panic is a failed test, not a crash on input.
//! The IPP printer against a real IPP Everywhere printer (CUPS' `ippeveprinter`), started per
//! test on a free port with its own spool folder. Needs `SOPFLOW_TEST_IPP=1` and ippeveprinter
//! with DNS-SD running (see the crate README / `.ci/run`).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use sopflow_effects::{
    AdapterError, CardPrinter, IdempotencyKey, IppPrinter, JobState, Layout, Lookup, PrintDocument,
    PrintJob, PrintLine,
};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills the printer when the test ends, however it ends.
struct Printer {
    child: Child,
    uri: String,
    spool: tempfile::TempDir,
}

impl Drop for Printer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_printer() -> Option<Printer> {
    if std::env::var("SOPFLOW_TEST_IPP").as_deref() != Ok("1") {
        eprintln!(
            "*** SKIPPED *** ippeveprinter tests: set SOPFLOW_TEST_IPP=1 (needs cups-ipp-utils, dbus and avahi-daemon running)"
        );
        return None;
    }
    let spool = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = Command::new("ippeveprinter")
        .args(["-k", "-p", &port.to_string(), "-d"])
        .arg(spool.path())
        .args([
            "-f",
            "application/pdf,image/pwg-raster",
            &format!("sopflow-test-{port}"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ippeveprinter starts (apt-get install cups-ipp-utils)");
    let printer = Printer {
        child,
        uri: format!("ipp://localhost:{port}/ipp/print"),
        spool,
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "ippeveprinter did not listen on {port} within 20 s (is avahi-daemon running?)"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(printer)
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
                    value: "3201010101900002".into(),
                },
                PrintLine {
                    label: "Nama".into(),
                    value: "AGUS FIKTIF".into(),
                },
            ],
        },
    }
}

fn spooled_pdfs(dir: &std::path::Path) -> Vec<Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "pdf"))
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

#[tokio::test]
async fn prints_a_card_then_finds_it_by_key_and_never_prints_it_twice() {
    let Some(printer) = start_printer() else {
        return;
    };
    let ipp = IppPrinter::new(&printer.uri)
        .unwrap()
        .with_completion_wait(Duration::from_secs(30), Duration::from_millis(200));
    let job = job("case-0002:cetak_ktp:1");

    assert_eq!(ipp.lookup(&job.key).await.unwrap(), Lookup::NotRemembered);

    let outcome = ipp.print(&job).await.unwrap();
    assert_eq!(outcome.state, JobState::Completed, "{outcome:?}");
    assert!(!outcome.already_submitted);

    // The printer kept the document: the bytes we sent, holding the NIK.
    let pdfs = spooled_pdfs(printer.spool.path());
    assert_eq!(pdfs.len(), 1, "one document in the spool folder");
    assert_eq!(
        pdfs[0],
        sopflow_effects::pdf::render(&job.document).unwrap()
    );
    assert!(String::from_utf8_lossy(&pdfs[0]).contains("3201010101900002"));

    // After a crash the dispatcher looks the key up: the printer knows the job.
    assert_eq!(
        ipp.lookup(&job.key).await.unwrap(),
        Lookup::Found {
            job_ref: outcome.job_ref.clone(),
            state: JobState::Completed
        }
    );
    // And a print retried anyway submits nothing.
    let again = ipp.print(&job).await.unwrap();
    assert!(again.already_submitted);
    assert_eq!(again.job_ref, outcome.job_ref);
    assert_eq!(spooled_pdfs(printer.spool.path()).len(), 1);

    // Another key is another job.
    assert_eq!(
        ipp.lookup(&IdempotencyKey::new("case-0002:cetak_ktp:2").unwrap())
            .await
            .unwrap(),
        Lookup::NotRemembered
    );
}

#[tokio::test]
async fn an_offline_printer_is_a_retryable_error_that_printed_nothing() {
    let port = free_port();
    let ipp = IppPrinter::new(&format!("ipp://127.0.0.1:{port}/ipp/print")).unwrap();
    let err = ipp.print(&job("case-0003:cetak_ktp:1")).await.unwrap_err();
    assert!(matches!(err, AdapterError::Offline { .. }), "{err}");
    assert!(err.is_retryable() && !err.may_have_taken_effect());
    let err = ipp
        .lookup(&IdempotencyKey::new("case-0003:cetak_ktp:1").unwrap())
        .await
        .unwrap_err();
    assert!(err.is_retryable());
}
