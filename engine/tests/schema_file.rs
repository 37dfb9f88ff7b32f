//! `sop-definitions/sop.schema.json` is what editors validate SOP files with. It must be the
//! schema this build generates, and it must judge files as the loader's schema layer does.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sopflow_engine::sop::{self, Layer};

fn path(relative: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(relative)
}

fn read(relative: &str) -> String {
    let path = path(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn committed_schema() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(&read("../sop-definitions/sop.schema.json"))
        .expect("sop.schema.json is JSON");
    jsonschema::validator_for(&schema).expect("sop.schema.json is a valid JSON Schema")
}

/// The problems the committed schema finds in a YAML file, as `pointer: message` lines.
fn schema_errors(validator: &jsonschema::Validator, yaml: &str) -> Vec<String> {
    let value: serde_yaml::Value = serde_yaml::from_str(yaml).expect("the file is YAML");
    let json = serde_json::to_value(value).expect("the file is representable as JSON");
    validator
        .iter_errors(&json)
        .map(|e| format!("{}: {e}", e.instance_path().as_str()))
        .collect()
}

#[test]
fn the_committed_schema_is_up_to_date() {
    let committed = read("../sop-definitions/sop.schema.json");
    let generated = sop::schema_json();
    if committed != generated {
        let first_difference = committed
            .lines()
            .zip(generated.lines())
            .enumerate()
            .find(|(_, (c, g))| c != g)
            .map_or_else(
                || "one file is longer than the other".to_owned(),
                |(i, (c, g))| format!("line {}:\n  committed: {c}\n  generated: {g}", i + 1),
            );
        panic!(
            "sop-definitions/sop.schema.json is stale: the SOP model changed since it was \
             generated. Regenerate it with\n\n    \
             cargo run -- schema > sop-definitions/sop.schema.json\n\n\
             and commit it. First difference at {first_difference}"
        );
    }
}

#[test]
fn ktp_el_matches_the_committed_schema() {
    let errors = schema_errors(&committed_schema(), &read("../sop-definitions/ktp-el.yaml"));
    assert!(errors.is_empty(), "ktp-el.yaml:\n{}", errors.join("\n"));
}

#[test]
fn the_minimal_sop_matches_the_committed_schema() {
    let errors = schema_errors(&committed_schema(), &read("tests/valid/minimal.yaml"));
    assert!(errors.is_empty(), "minimal.yaml:\n{}", errors.join("\n"));
}

/// An editor with the schema file flags what the loader's schema layer flags, except the few
/// checks JSON Schema cannot express; and files broken only past the schema layer pass it.
#[test]
fn the_committed_schema_agrees_with_the_schema_layer() {
    // The case schema's own validity and the 100-year bound on durations are checked in code.
    const BEYOND_JSON_SCHEMA: &[&str] = &["schema_invalid_case_schema", "schema_duration_too_long"];
    let validator = committed_schema();
    let mut checked = 0;
    for entry in std::fs::read_dir(path("tests/broken")).unwrap() {
        let file = entry.unwrap().path();
        let name = file.file_stem().unwrap().to_str().unwrap().to_owned();
        if name.starts_with("syntax_") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let loader_layer = sop::load(&text)
            .expect_err("a broken file does not load")
            .first()
            .map(|d| d.layer);
        let errors = schema_errors(&validator, &text);
        if loader_layer == Some(Layer::Schema) && !BEYOND_JSON_SCHEMA.contains(&name.as_str()) {
            assert!(
                !errors.is_empty(),
                "{name}: the loader refuses it, the schema file accepts it"
            );
        } else {
            assert!(
                errors.is_empty(),
                "{name}: the schema file refuses it:\n{}",
                errors.join("\n")
            );
        }
        checked += 1;
    }
    assert!(checked > 20, "only {checked} files checked");
}
