//! Replays the checked-in fuzz corpus (`fuzz/corpus/<target>/`) through the same harness the
//! cargo-fuzz targets run (`support/fuzz_harness.rs`), on the stable toolchain: CI keeps every
//! input the fuzzer ever kept, and every crash it found, passing without cargo-fuzz.
//!
//! Besides "no panic", the seeds are checked to reach what their target is for (an SOP that
//! loads, guards evaluated at run time, a KTP-el case completed), so a harness change that
//! silently stops exercising the engine fails here.

#[path = "support/fuzz_harness.rs"]
mod harness;

use std::path::{Path, PathBuf};

use sopflow_engine::case::CaseStatus;

/// The corpus of `target`, without the `crash-*` files: those are open bugs, each replayed by
/// its own test below (failing until fixed), so this replay stays a check of everything else.
fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    corpus_files(target)
        .into_iter()
        .filter(|(p, _)| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("crash-"))
        })
        .collect()
}

fn corpus_files(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: empty corpus", dir.display());
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (p, bytes)
        })
        .collect()
}

fn named<'a>(files: &'a [(PathBuf, Vec<u8>)], name: &str) -> &'a [u8] {
    files
        .iter()
        .find(|(p, _)| p.file_name().is_some_and(|n| n == name))
        .map(|(_, b)| b.as_slice())
        .unwrap_or_else(|| panic!("corpus file {name} is missing"))
}

#[test]
fn sop_load_corpus() {
    let files = corpus("sop_load");
    let mut loaded = 0;
    for (path, bytes) in &files {
        eprintln!("{}", path.display());
        loaded += usize::from(harness::sop_load(bytes));
    }
    // The seeds include the valid SOPs and the broken corpus: both answers occur.
    assert!(harness::sop_load(named(&files, "seed-ktp-el.yaml")));
    assert!(harness::sop_load(named(&files, "seed-minimal.yaml")));
    assert!(loaded < files.len(), "no input of the corpus was refused");
}

#[test]
fn guard_corpus() {
    let files = corpus("guard");
    let mut total = harness::GuardSummary::default();
    for (path, bytes) in &files {
        eprintln!("{}", path.display());
        let s = harness::guard(bytes);
        total.loaded += s.loaded;
        total.evaluations += s.evaluations;
        total.incidents += s.incidents;
        total.completed += s.completed;
    }
    // The SOP's own guard loads at its place and routes cases to the end.
    let own = harness::guard(named(&files, "seed-documents-complete"));
    assert!(
        own.loaded >= 1 && own.evaluations > 0 && own.completed > 0,
        "{own:?}"
    );
    // A guard that fails at run time gives an incident, not a panic.
    let failing = harness::guard(named(&files, "seed-runtime-error"));
    assert!(failing.loaded >= 1 && failing.incidents > 0, "{failing:?}");
    assert!(total.evaluations > 0 && total.incidents > 0 && total.completed > 0);
}

#[test]
fn commands_corpus() {
    let files = corpus("commands");
    let mut completed = 0;
    for (path, bytes) in &files {
        eprintln!("{}", path.display());
        let s = harness::commands(bytes);
        completed += usize::from(s.status == Some(CaseStatus::Completed));
    }
    // The hand-written seed takes a case through every row to `selesai`.
    let happy = harness::commands(named(&files, "seed-happy-path"));
    assert_eq!(happy.status, Some(CaseStatus::Completed), "{happy:?}");
    assert!(completed > 0);
}

#[test]
fn yaml_quote_keeps_any_text_one_scalar() {
    // The guard target relies on this: whatever the input, the SOP stays YAML.
    for text in [
        "\"",
        "\\",
        "a\nb",
        "\u{0}",
        "\u{feff}x",
        "é",
        "🦀",
        "'",
        "#x",
        ": - [",
        "",
    ] {
        let yaml = format!("k: {}\n", harness::yaml_quote(text));
        let parsed: serde_json::Value = serde_yaml::from_str(&yaml).expect("valid YAML");
        assert_eq!(parsed["k"], serde_json::Value::from(text), "{yaml}");
    }
}

// Crashes the fuzzer found, now fixed; their inputs stay in the corpus as `regress-*`.

/// `sop::load("\re")` answered `2:1: ...`, line 2 of a text with no LF: positions counted a
/// lone CR as a line break (as YAML 1.2 does) while `FILE:LINE` readers counted LF only. The
/// loader now normalizes line breaks first, and positions are located in that text.
#[test]
fn a_lone_cr_is_a_line_break_everywhere() {
    let files = corpus_files("sop_load");
    harness::sop_load(named(&files, "regress-lone-cr-line-count"));
    let problems = sopflow_engine::sop::load("\re").expect_err("not an SOP");
    assert_eq!(problems[0].pos.line, 2, "{}", problems[0]);
    let crlf = sopflow_engine::sop::load("a: 1\r\nb: [").expect_err("not an SOP");
    assert!(crlf.iter().all(|p| p.pos.line <= 2), "{crlf:?}");
}
