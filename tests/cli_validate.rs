//! `sopflow validate` and `sopflow schema` as a user runs them, from the workspace root.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn workspace() -> PathBuf {
    // The `sopflow` package is the workspace root.
    Path::new(env!("CARGO_MANIFEST_DIR")).to_owned()
}

fn sopflow(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sopflow"))
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("the sopflow binary runs")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

/// The lines `validate` must print for `file`: what the engine reports, prefixed by the file.
fn expected_problems(file: &str) -> Vec<String> {
    let text = std::fs::read_to_string(workspace().join(file)).expect("the file exists");
    match sopflow_engine::sop::load(&text) {
        Ok(_) => panic!("{file} is not broken"),
        Err(problems) => problems
            .iter()
            .map(|p| p.display_with(file).to_string())
            .collect(),
    }
}

/// `FILE:LINE:COLUMN: rest` split into its parts, if the line has that form.
fn located<'a>(line: &'a str, file: &str) -> Option<(usize, usize, &'a str)> {
    let rest = line.strip_prefix(file)?.strip_prefix(':')?;
    let (line_number, rest) = rest.split_once(':')?;
    let (column, rest) = rest.split_once(':')?;
    Some((
        line_number.parse().ok()?,
        column.parse().ok()?,
        rest.strip_prefix(' ')?,
    ))
}

#[test]
fn a_valid_sop_is_ok() {
    let output = sopflow(&["validate", "sop-definitions/ktp-el.yaml"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(
        stdout(&output),
        "sop-definitions/ktp-el.yaml: ok (11 steps)\n"
    );
}

#[test]
fn broken_sops_print_every_problem_located_and_exit_1() {
    let files = [
        "engine/tests/broken/ref_unknown_actor.yaml",
        "engine/tests/broken/syntax_duplicate_key.yaml",
    ];
    let output = sopflow(&["validate", files[0], files[1]]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let printed = stdout(&output);
    let lines: Vec<&str> = printed.lines().collect();
    let expected: Vec<String> = files.iter().flat_map(|f| expected_problems(f)).collect();
    assert_eq!(lines, expected);
    // Every line names its file, then a real line and column of that file.
    for file in files {
        let text = std::fs::read_to_string(workspace().join(file)).unwrap();
        let mine: Vec<_> = lines.iter().filter_map(|l| located(l, file)).collect();
        assert!(
            !mine.is_empty(),
            "no problem printed for {file}:\n{printed}"
        );
        for (line, column, message) in mine {
            let source = text
                .lines()
                .nth(line - 1)
                .unwrap_or_else(|| panic!("{file}:{line}: no such line"));
            assert!(
                column >= 1 && column <= source.chars().count() + 1,
                "{file}:{line}:{column}"
            );
            assert!(!message.is_empty());
        }
    }
    assert!(
        lines
            .iter()
            .all(|l| files.iter().any(|f| located(l, f).is_some())),
        "a line without FILE:LINE:COLUMN:\n{printed}"
    );
}

#[test]
fn one_broken_file_among_valid_ones_fails_the_run() {
    let output = sopflow(&[
        "validate",
        "sop-definitions/ktp-el.yaml",
        "engine/tests/broken/graph_no_end_step.yaml",
        "engine/tests/valid/minimal.yaml",
    ]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(
        stdout(&output),
        "sop-definitions/ktp-el.yaml: ok (11 steps)\n\
         engine/tests/broken/graph_no_end_step.yaml:42:1: steps: no end step (kind: end): no case could ever finish\n\
         engine/tests/valid/minimal.yaml: ok (5 steps)\n"
    );
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let output = sopflow(&["validate", "sop-definitions/nope.yaml"]);
    assert_ne!(output.status.code(), Some(0), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("sop-definitions/nope.yaml"), "{stderr}");
}

#[test]
fn schema_prints_the_committed_schema() {
    let output = sopflow(&["schema"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let committed =
        std::fs::read_to_string(workspace().join("sop-definitions/sop.schema.json")).unwrap();
    assert!(
        stdout(&output) == committed,
        "sop-definitions/sop.schema.json is stale; regenerate it with\n    \
         cargo run -- schema > sop-definitions/sop.schema.json"
    );
}

#[test]
fn warnings_are_printed_located_and_the_file_still_validates() {
    // The minimal SOP with nobody collecting `alasan`, which a document condition reads.
    let minimal =
        std::fs::read_to_string(workspace().join("engine/tests/valid/minimal.yaml")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("unset.yaml");
    std::fs::write(&file, minimal.replacen("    collects: [alasan]\n", "", 1)).unwrap();
    let name = file.display().to_string();
    let output = sopflow(&["validate", &name]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let printed = stdout(&output);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 2, "{printed}");
    let (line, column, rest) = located(lines[0], &name).expect("FILE:LINE:COLUMN");
    assert_eq!((line, column), (26, 20), "{printed}");
    assert!(
        rest.starts_with("warning: documents[1].required_when: guard reads `alasan`"),
        "{printed}"
    );
    assert_eq!(lines[1], format!("{name}: ok (5 steps)"));
}
