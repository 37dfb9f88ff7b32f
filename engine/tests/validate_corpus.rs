//! The broken-SOP corpus: every file in `tests/broken/` is `tests/valid/minimal.yaml` with
//! exactly one thing broken, and each test below pins the complete list of problems the
//! loader reports for it, as `LINE:COLUMN: field: message` lines, in order. A changed message,
//! line or column, an extra or a missing problem all fail the test.
//!
//! A file's name starts with the layer that must report it (`syntax_`, `schema_`, `ref_`,
//! `graph_`, `guard_`), and `check` asserts that too.

use std::path::{Path, PathBuf};

use sopflow_engine::sop::{self, Diagnostic, Layer};

fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The layer a corpus file's name says must report it.
fn layer_of(name: &str) -> Layer {
    match name.split('_').next() {
        Some("syntax") => Layer::Syntax,
        Some("schema") => Layer::Schema,
        Some("ref") => Layer::References,
        Some("graph") => Layer::Graph,
        Some("guard") => Layer::Guards,
        _ => panic!("{name}: a corpus file's name starts with its layer"),
    }
}

fn line(d: &Diagnostic) -> String {
    format!("{}:{}: {d}", d.pos.line, d.pos.column)
}

/// Loads `tests/broken/{name}.yaml` and asserts its problems are exactly `expected` (one
/// `LINE:COLUMN: field: message` per line; blank lines and indentation are ignored), all
/// from the layer the name starts with.
#[track_caller]
fn check(name: &str, expected: &str) {
    let text = read(&tests_dir().join("broken").join(format!("{name}.yaml")));
    check_text(
        &format!("{name}.yaml"),
        &text,
        Some(layer_of(name)),
        expected,
    );
}

#[track_caller]
fn check_text(name: &str, text: &str, layer: Option<Layer>, expected: &str) {
    let problems = match sop::load(text) {
        Ok(_) => panic!("{name} loaded without a problem"),
        Err(problems) => problems,
    };
    let actual: Vec<String> = problems.iter().map(line).collect();
    let expected: Vec<&str> = expected
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(
        actual,
        expected,
        "\n{name}: the problems differ. Actual:\n{}\n",
        actual.join("\n")
    );
    // Split on every newline: the end of a file is the line after its last newline.
    let lines: Vec<&str> = text.split('\n').collect();
    for d in &problems {
        if let Some(layer) = layer {
            assert_eq!(
                d.layer,
                layer,
                "{name}: {} comes from the wrong layer",
                line(d)
            );
        }
        let source = d
            .pos
            .line
            .checked_sub(1)
            .and_then(|i| lines.get(i))
            .unwrap_or_else(|| panic!("{name}: {} is past the last line", line(d)));
        assert!(
            d.pos.column >= 1 && d.pos.column <= source.chars().count() + 1,
            "{name}: {} is outside line {source:?}",
            line(d)
        );
    }
}

fn minimal() -> String {
    read(&tests_dir().join("valid/minimal.yaml"))
}

/// `minimal.yaml` with `old` (which must occur once) replaced by `new`.
fn minimal_with(old: &str, new: &str) -> String {
    let text = minimal();
    assert_eq!(text.matches(old).count(), 1, "{old:?}");
    text.replacen(old, new, 1)
}

#[test]
fn the_minimal_sop_loads_cleanly() {
    let sop = sop::load(&minimal())
        .unwrap_or_else(|p| panic!("{}", p.iter().map(line).collect::<Vec<_>>().join("\n")));
    assert_eq!(sop.id(), "minimal");
    assert_eq!(sop.step_count(), 5);
}

#[test]
fn the_ktp_el_sop_loads_cleanly() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sop-definitions/ktp-el.yaml");
    let sop = sop::load(&read(&path))
        .unwrap_or_else(|p| panic!("{}", p.iter().map(line).collect::<Vec<_>>().join("\n")));
    assert_eq!(sop.id(), "ktp-el");
    assert_eq!(sop.step_count(), 11);
}

/// Every corpus file has its test here, and the corpus covers every layer.
#[test]
fn every_broken_file_is_checked() {
    let this: String = include_str!("validate_corpus.rs")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let mut layers = Vec::new();
    let mut count = 0;
    for entry in std::fs::read_dir(tests_dir().join("broken")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
        assert_eq!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml"),
            "{}: only .yaml files belong in tests/broken",
            path.display()
        );
        assert!(
            this.contains(&format!("check(\"{name}\",")),
            "tests/broken/{name}.yaml has no `check(\"{name}\", ...)` test"
        );
        let layer = layer_of(&name);
        if !layers.contains(&layer) {
            layers.push(layer);
        }
        count += 1;
    }
    layers.sort();
    assert_eq!(
        layers,
        [
            Layer::Syntax,
            Layer::Schema,
            Layer::References,
            Layer::Graph,
            Layer::Guards
        ]
    );
    assert!(count >= 28, "only {count} broken files");
}

/// Spellings that mean the same as the canonical ones load too.
#[test]
fn equivalent_spellings_load() {
    for (old, new) in [
        ("schema_version: 1\n", "schema_version: 1.0\n"),
        ("    row: 3\n", "    row: 3.0\n"),
        ("    budget: 1m\n", "    budget: PT1M\n"),
        ("    budget: 1m\n", "    budget: 60s\n"),
        (
            "    documents: [kk, surat_hilang]\n",
            "    documents:\n      - kk\n      - \"surat_hilang\"\n",
        ),
    ] {
        let text = minimal_with(old, new);
        if let Err(problems) = sop::load(&text) {
            panic!(
                "{new:?}: {}",
                problems.iter().map(line).collect::<Vec<_>>().join("\n")
            );
        }
    }
}

/// Budgets as the SOP table writes them, and the clock a step's budget runs on.
#[test]
fn table_budgets_load() {
    for (old, new) in [
        ("    budget: 1m\n", "    budget: 1 menit\n"),
        ("    budget: 1m\n", "    budget: 1 Menit\n"),
        ("    budget: 1m\n", "    budget: 60 detik\n"),
        ("    budget: 1m\n", "    budget: pt1m\n"),
        ("    budget: 1m\n", "    budget: 1 jam 30 menit\n"),
        ("    budget: 1m\n", "    budget: 3 hari\n"),
        ("    budget: 1m\n", "    budget: 14 Hari Kerja\n"),
        (
            "    budget: 1m\n",
            "    budget: 2 menit\n    budget_clock: wall\n",
        ),
        (
            "    budget: 1m\n",
            "    budget: 3 hari\n    budget_clock: wall\n",
        ),
        (
            "    budget: 1m\n",
            "    budget: 14 hari kerja\n    budget_clock: working\n",
        ),
        (
            "start: serahkan\n",
            "total_budget: 14 hari kerja\nstart: serahkan\n",
        ),
    ] {
        let text = minimal_with(old, new);
        if let Err(problems) = sop::load(&text) {
            panic!(
                "{new:?}: {}",
                problems.iter().map(line).collect::<Vec<_>>().join("\n")
            );
        }
    }
}

/// A budget clock on a step that shares its row's budget belongs on the row's first step.
#[test]
fn a_budget_clock_on_a_step_sharing_its_rows_budget() {
    let text = minimal_with("    row: 2\n", "    row: 1\n    budget_clock: wall\n");
    check_text(
        "shared row",
        &text,
        Some(Layer::References),
        "55:19: steps[1].budget_clock: `budget_clock` without `budget`: the step runs on the budget of its row, step `serahkan`: set the clock there",
    );
}

/// Files that are not an SOP at all get one clear problem.
#[test]
fn files_that_are_not_an_sop() {
    let not_a_mapping = "an SOP is a mapping of fields (`schema_version: 1`, `id`, `header`, ...), but the file holds";
    check_text(
        "empty",
        "",
        Some(Layer::Schema),
        &format!("1:1: {not_a_mapping} nothing"),
    );
    check_text(
        "comment only",
        "# nothing yet\n",
        Some(Layer::Schema),
        &format!("1:1: {not_a_mapping} nothing"),
    );
    check_text(
        "a list",
        "- id: x\n",
        Some(Layer::Schema),
        &format!("1:1: {not_a_mapping} a list"),
    );
    check_text(
        "a word",
        "ktp-el\n",
        Some(Layer::Schema),
        &format!("1:1: {not_a_mapping} a single value"),
    );
    check_text(
        "two documents",
        &format!("{}---\nid: lagi\n", minimal()),
        Some(Layer::Syntax),
        "1:1: YAML: deserializing from YAML containing more than one document is not supported",
    );
    check_text(
        "unclosed at the end",
        "steps: [\n",
        Some(Layer::Syntax),
        "2:1: steps: YAML syntax error: while parsing a node, did not find expected node content (inside the `[` opened at line 1, column 8: is its closing `]` missing?)",
    );
}

// Layer 1: YAML syntax.

#[test]
fn syntax_bad_indentation() {
    check(
        "syntax_bad_indentation",
        r#"
        66:11: steps[2]: YAML syntax error: mapping values are not allowed in this context (usually a `: ` inside an unquoted value, which needs quotes, or a key indented deeper than the one before it)
        "#,
    );
}

#[test]
fn syntax_complex_key() {
    check(
        "syntax_complex_key",
        r#"
        42:3: a key must be text, not a list or a mapping
        "#,
    );
}

#[test]
fn syntax_duplicate_key() {
    check(
        "syntax_duplicate_key",
        r#"
        70:5: steps[2].actor: duplicate key `actor` (first defined at line 68)
        "#,
    );
}

#[test]
fn syntax_tab_indentation() {
    check(
        "syntax_tab_indentation",
        r#"
        66:1: steps[2]: YAML syntax error: a tab in the indentation (YAML indents with spaces only)
        "#,
    );
}

#[test]
fn syntax_unclosed_flow() {
    check(
        "syntax_unclosed_flow",
        r#"
        49:22: steps[0].documents: YAML syntax error: illegal placement of ':' indicator (inside the `[` opened at line 48, column 16: is its closing `]` missing?)
        "#,
    );
}

#[test]
fn syntax_unclosed_quote() {
    check(
        "syntax_unclosed_quote",
        r#"
        26:20: documents[1].required_when: YAML syntax error: invalid indentation in quoted scalar (is the closing ' of the string opened here missing?)
        "#,
    );
}

// Layer 2: the SOP format (JSON Schema) and the case schema.

#[test]
fn schema_bad_adapter_kind() {
    check(
        "schema_bad_adapter_kind",
        r#"
        29:11: adapters[0].kind: `printer` is not one of `card_printer`, `consultation`
        "#,
    );
}

#[test]
fn schema_bad_kind() {
    check(
        "schema_bad_kind",
        r#"
        66:11: steps[2].kind: `human` is not one of `task`, `decision`, `service`, `queue`, `end`
        "#,
    );
}

#[test]
fn schema_bad_next() {
    check(
        "schema_bad_next",
        r#"
        70:11: steps[2].next: {"to":"cetak"} is neither a step id nor a list of branches (`- to: step`, optional `when`, `label`)
        "#,
    );
}

#[test]
fn schema_bad_queue_prefix() {
    check(
        "schema_bad_queue_prefix",
        r#"
        33:13: queues[0].prefix: invalid queue prefix "a": one to three capital letters
        "#,
    );
}

#[test]
fn schema_branch_typo() {
    check(
        "schema_branch_typo",
        r#"
        60:9: steps[1].next[0].whn: unknown field `whn`: did you mean `when`?
        "#,
    );
}

#[test]
fn schema_duration_too_long() {
    check(
        "schema_duration_too_long",
        r#"
        50:13: steps[0].budget: duration "60000d" is longer than 100 years: is it a typo?
        "#,
    );
}

#[test]
fn schema_invalid_case_schema() {
    check(
        "schema_invalid_case_schema",
        r#"
        37:9: case_schema.type: not a valid JSON Schema: `objekt` is not one of `array`, `boolean`, `integer`, `null`, `number`, `object`, `string`
        "#,
    );
}

#[test]
fn schema_invalid_duration() {
    check(
        "schema_invalid_duration",
        r#"
        50:13: steps[0].budget: unknown unit `minggu` in "1 minggu": budgets count detik, menit, jam, hari or hari kerja (or s, m, h, d): a week is `7 hari` (or `5 hari kerja`)
        "#,
    );
}

#[test]
fn schema_budget_units_out_of_order() {
    check(
        "schema_budget_units_out_of_order",
        r#"
        50:13: steps[0].budget: "30 detik 1 menit": write the units from the largest to the smallest, each once (days, then jam, menit, detik), e.g. `1 jam 30 menit`
        "#,
    );
}

#[test]
fn schema_budget_fraction() {
    check(
        "schema_budget_fraction",
        r#"
        50:13: steps[0].budget: "1,5 menit": budgets are whole numbers: write e.g. `1 jam 30 menit` for one and a half hours
        "#,
    );
}

#[test]
fn schema_budget_without_unit() {
    check(
        "schema_budget_without_unit",
        r#"
        50:13: steps[0].budget: "90" has a number without its unit: write e.g. `90 menit`
        "#,
    );
}

#[test]
fn schema_budget_clock_unknown() {
    check(
        "schema_budget_clock_unknown",
        r#"
        51:19: steps[0].budget_clock: `jam_kerja` is not one of `working`, `wall`
        "#,
    );
}

#[test]
fn schema_total_budget_in_months() {
    check(
        "schema_total_budget_in_months",
        r#"
        41:15: total_budget: unknown unit `bulan` in "1 bulan": budgets count detik, menit, jam, hari or hari kerja (or s, m, h, d): months and years vary in length: count `hari` or `hari kerja`
        "#,
    );
}

#[test]
fn schema_invalid_sop_id() {
    check(
        "schema_invalid_sop_id",
        r#"
        4:5: id: invalid id "Minimal SOP": use lowercase ASCII letters, digits, `_` and `-`, starting with a letter
        "#,
    );
}

#[test]
fn schema_invalid_step_id() {
    check(
        "schema_invalid_step_id",
        r#"
        71:9: steps[3].id: invalid id "cetak-ktp": use lowercase ASCII letters, digits and `_`, starting with a letter
        "#,
    );
}

#[test]
fn schema_missing_field() {
    check(
        "schema_missing_field",
        r#"
        64:5: steps[2].name: missing required field `name`
        "#,
    );
}

#[test]
fn schema_misspelt_required_field() {
    check(
        "schema_misspelt_required_field",
        r#"
        68:5: steps[2].actr: unknown field `actr`: did you mean `actor`?
        "#,
    );
}

#[test]
fn schema_number_for_text() {
    check(
        "schema_number_for_text",
        r#"
        11:11: header.dates.made: 2024 is not of type "string": put it in quotes ("2024") to keep it as text
        "#,
    );
}

#[test]
fn schema_text_for_list() {
    check(
        "schema_text_for_list",
        r#"
        18:18: actors[0].recorded_by: "petugas" is not a list: write it as [petugas]
        "#,
    );
}

#[test]
fn schema_unknown_field() {
    check(
        "schema_unknown_field",
        r#"
        70:5: steps[2].notes: unknown field `notes`: did you mean `note`?
        "#,
    );
}

#[test]
fn schema_unsupported_version() {
    check(
        "schema_unsupported_version",
        r#"
        3:17: schema_version: unsupported schema_version 2: this sopflow reads version 1
        "#,
    );
}

#[test]
fn schema_version_as_text() {
    check(
        "schema_version_as_text",
        r#"
        3:17: schema_version: "1" is not of type "integer"
        "#,
    );
}

#[test]
fn schema_wrong_type() {
    check(
        "schema_wrong_type",
        r#"
        65:10: steps[2].row: "tiga" is not of type "integer"
        "#,
    );
}

// Layer 3: references.

#[test]
fn ref_adapter_on_task() {
    check(
        "ref_adapter_on_task",
        r#"
        52:14: steps[0].adapter: only service steps call an adapter
        "#,
    );
}

#[test]
fn ref_budget_clock_wall_working_days() {
    check(
        "ref_budget_clock_wall_working_days",
        r#"
        51:19: steps[0].budget_clock: `14 hari kerja` counts the calendar's working days, and `budget_clock: wall` ignores the calendar: write calendar days (`hari`) instead, or drop `budget_clock: wall`
        "#,
    );
}

#[test]
fn ref_budget_clock_without_budget() {
    check(
        "ref_budget_clock_without_budget",
        r#"
        57:19: steps[1].budget_clock: `budget_clock` without `budget`: the step has no budget, nor has its row
        "#,
    );
}

#[test]
fn ref_builtin_field_clash() {
    check(
        "ref_builtin_field_clash",
        r#"
        41:5: case_schema.properties.outcome: case field `outcome` clashes with a name the engine gives guards
        "#,
    );
}

#[test]
fn ref_collects_unknown_field() {
    check(
        "ref_collects_unknown_field",
        r#"
        51:24: steps[0].collects[1]: `nik` is not a property of case_schema (known: alasan)
        "#,
    );
}

#[test]
fn ref_decision_single_branch() {
    check(
        "ref_decision_single_branch",
        r#"
        58:11: steps[1].next: a decision needs at least two branches
        "#,
    );
}

#[test]
fn ref_duplicate_actor_id() {
    check(
        "ref_duplicate_actor_id",
        r#"
        21:9: actors[2].id: duplicate actor id `petugas` (first defined at line 19, actors[1])
        "#,
    );
}

#[test]
fn ref_duplicate_document_id() {
    check(
        "ref_duplicate_document_id",
        r#"
        24:9: documents[1].id: duplicate document id `kk` (first defined at line 22, documents[0])
        "#,
    );
}

#[test]
fn ref_duplicate_step_id() {
    check(
        "ref_duplicate_step_id",
        r#"
        88:9: steps[5].id: duplicate step id `selesai` (first defined at line 83, steps[4])
        "#,
    );
}

#[test]
fn ref_end_with_next() {
    check(
        "ref_end_with_next",
        r#"
        88:11: steps[4].next: an end step has no `next`
        "#,
    );
}

#[test]
fn ref_missing_next() {
    check(
        "ref_missing_next",
        r#"
        64:5: steps[2]: missing `next` (only end steps have none)
        "#,
    );
}

#[test]
fn ref_queue_without_queue() {
    check(
        "ref_queue_without_queue",
        r#"
        64:5: steps[2]: a queue step needs `queue`
        "#,
    );
}

#[test]
fn ref_request_unknown_field() {
    check(
        "ref_request_unknown_field",
        r#"
        77:15: steps[3].request[0]: `nik` is not a property of case_schema (known: alasan)
        "#,
    );
}

#[test]
fn ref_service_without_adapter() {
    check(
        "ref_service_without_adapter",
        r#"
        71:5: steps[3]: a service step needs `adapter`
        "#,
    );
}

#[test]
fn ref_unknown_actor() {
    check(
        "ref_unknown_actor",
        r#"
        68:12: steps[2].actor: unknown actor `pelanggan` (known: pemohon, petugas)
        "#,
    );
}

#[test]
fn ref_unknown_adapter() {
    check(
        "ref_unknown_adapter",
        r#"
        76:14: steps[3].adapter: unknown adapter `printer_ktp` (known: printer)
        "#,
    );
}

#[test]
fn ref_unknown_branch_target() {
    check(
        "ref_unknown_branch_target",
        r#"
        62:13: steps[1].next[1].to: unknown step `kembalikan` (known: serahkan, periksa, antri, cetak, selesai)
        "#,
    );
}

#[test]
fn ref_unknown_document() {
    check(
        "ref_unknown_document",
        r#"
        48:21: steps[0].documents[1]: unknown document `ktp_lama` (known: kk, surat_hilang)
        "#,
    );
}

#[test]
fn ref_unknown_next() {
    check(
        "ref_unknown_next",
        r#"
        70:11: steps[2].next: unknown step `cetak_ktp` (known: serahkan, periksa, antri, cetak, selesai)
        "#,
    );
}

#[test]
fn ref_unknown_queue() {
    check(
        "ref_unknown_queue",
        r#"
        69:12: steps[2].queue: unknown queue `loket_b` (known: loket)
        "#,
    );
}

#[test]
fn ref_unknown_role_called_by() {
    check(
        "ref_unknown_role_called_by",
        r#"
        35:17: queues[0].called_by[0]: unknown role `operator` (known: pemohon, petugas)
        "#,
    );
}

#[test]
fn ref_unknown_role_recorded_by() {
    check(
        "ref_unknown_role_recorded_by",
        r#"
        18:19: actors[0].recorded_by[0]: unknown role `petugas_loket` (known: pemohon, petugas)
        "#,
    );
}

#[test]
fn ref_unknown_start() {
    check(
        "ref_unknown_start",
        r#"
        41:8: start: unknown step `mulai` (known: serahkan, periksa, antri, cetak, selesai)
        "#,
    );
}

// Layer 4: the graph.

#[test]
fn graph_cannot_reach_end() {
    check(
        "graph_cannot_reach_end",
        r#"
        88:9: steps[5].id: step `tunda` can never reach an end step: a case there would be stuck
        "#,
    );
}

#[test]
fn graph_decision_loop() {
    check(
        "graph_decision_loop",
        r#"
        58:5: steps[1].next: decisions periksa → periksa_ulang form a loop that no person, queue or adapter breaks: a case would spin forever
        "#,
    );
}

#[test]
fn graph_default_not_last() {
    check(
        "graph_default_not_last",
        r#"
        59:9: steps[1].next[0]: the default branch (without `when`) must be the last one: branches after it are never taken
        "#,
    );
}

#[test]
fn graph_no_default_branch() {
    check(
        "graph_no_default_branch",
        r#"
        58:5: steps[1].next: no default branch: the last branch must have no `when`, so that the case always has a way out
        "#,
    );
}

#[test]
fn graph_no_end_step() {
    check(
        "graph_no_end_step",
        r#"
        42:1: steps: no end step (kind: end): no case could ever finish
        "#,
    );
}

#[test]
fn graph_two_defaults() {
    check(
        "graph_two_defaults",
        r#"
        61:9: steps[1].next[1]: more than one default branch (without `when`; next[0] is one too): only the last branch may have no `when`
        "#,
    );
}

#[test]
fn graph_unreachable_step() {
    check(
        "graph_unreachable_step",
        r#"
        88:9: steps[5].id: step `arsip` is unreachable from the start step `serahkan`
        "#,
    );
}

// Layer 5: guards.

#[test]
fn guard_bad_required_when() {
    check(
        "guard_bad_required_when",
        r#"
        26:43: documents[1].required_when: guard `alasan == "hilang" && !documents_complete` does not compile: `documents_complete` is not declared: a document condition reads only case fields (known: alasan)
        "#,
    );
}

#[test]
fn guard_outcome_without_outcomes() {
    check(
        "guard_outcome_without_outcomes",
        r#"
        60:37: steps[1].next[0].when: guard reads `outcome`, but step `periksa` declares no `outcomes`
        "#,
    );
}

#[test]
fn guard_statement() {
    check(
        "guard_statement",
        r#"
        60:15: steps[1].next[0].when: guard `let x = 1` does not compile: Unexpected 'let': a guard is one expression, without `let`, `;`, loops or functions
        "#,
    );
}

#[test]
fn guard_syntax_error() {
    check(
        "guard_syntax_error",
        r#"
        60:36: steps[1].next[0].when: guard `documents_complete &&` does not compile: Script is incomplete
        "#,
    );
}

#[test]
fn guard_undeclared_name() {
    check(
        "guard_undeclared_name",
        r#"
        60:15: steps[1].next[0].when: guard `berkas_lengkap` does not compile: `berkas_lengkap` is not declared (known: alasan, documents, documents_complete, missing_documents, outcome)
        "#,
    );
}

#[test]
fn guard_unknown_document() {
    check(
        "guard_unknown_document",
        r#"
        60:25: steps[1].next[0].when: guard reads `documents.ktp_lama`, but no document `ktp_lama` is declared (known: kk, surat_hilang)
        "#,
    );
}

#[test]
fn guard_unknown_document_index() {
    check(
        "guard_unknown_document_index",
        r#"
        60:25: steps[1].next[0].when: guard reads `documents["ktp_lama"]`, but no document `ktp_lama` is declared (known: kk, surat_hilang)
        "#,
    );
}

#[test]
fn guard_unknown_enum_value() {
    check(
        "guard_unknown_enum_value",
        r#"
        26:30: documents[1].required_when: `alasan` is never "hilng" (case_schema allows `baru`, `hilang`)
        "#,
    );
}

#[test]
fn guard_unknown_outcome() {
    check(
        "guard_unknown_outcome",
        r#"
        81:26: steps[3].next[0].when: `outcome` is never "tercetak" (step `cetak` declares outcomes `dicetak`, `gagal`)
        "#,
    );
}

#[test]
fn ref_printout_unknown_field() {
    check(
        "ref_printout_unknown_field",
        r#"
        84:18: steps[3].printout.fields[1].field: `nomor_surat` is not a property of case_schema (known: alasan)
        "#,
    );
}

#[test]
fn ref_printout_on_task() {
    check(
        "ref_printout_on_task",
        r#"
        52:5: steps[0].printout: only a service step whose adapter is a card_printer prints
        "#,
    );
}

#[test]
fn ref_printout_card_too_long() {
    check(
        "ref_printout_card_too_long",
        r#"
        89:11: steps[3].printout.fields[7]: an id1_card holds at most 7 lines below its title (8 given): use a4_document for more
        "#,
    );
}

#[test]
fn ref_problem_not_a_consultation() {
    check(
        "ref_problem_not_a_consultation",
        r#"
        78:14: steps[3].problem: only a service step whose adapter is a consultation sends a problem
        "#,
    );
}

#[test]
fn ref_requires_unknown_field() {
    check(
        "ref_requires_unknown_field",
        r#"
        52:16: steps[0].requires[0]: `nama` is not a property of case_schema (known: alasan)
        "#,
    );
}

#[test]
fn ref_requires_on_queue() {
    check(
        "ref_requires_on_queue",
        r#"
        70:15: steps[2].requires: a queue step is not completed by a person or an adapter: only task and service steps require fields
        "#,
    );
}

#[test]
fn schema_printout_bad_layout() {
    check(
        "schema_printout_bad_layout",
        r#"
        79:15: steps[3].printout.layout: `a5_card` is not one of `id1_card`, `a4_document`
        "#,
    );
}

/// Warnings: the SOP loads, and each warning is located like an error.
fn warnings(text: &str) -> Vec<String> {
    let sop = sop::load(text)
        .unwrap_or_else(|p| panic!("{}", p.iter().map(line).collect::<Vec<_>>().join("\n")));
    sop.warnings().iter().map(line).collect()
}

#[test]
fn the_minimal_and_ktp_el_sops_have_no_warnings() {
    assert_eq!(warnings(&minimal()), Vec::<String>::new());
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sop-definitions/ktp-el.yaml");
    assert_eq!(warnings(&read(&path)), Vec::<String>::new());
}

#[test]
fn a_guard_reading_a_field_nothing_sets_before_it_is_a_warning() {
    // Nobody collects `alasan` any more: the police letter's condition reads a field that is
    // never set.
    let text = minimal_with("    collects: [alasan]\n", "");
    let found = warnings(&text);
    assert_eq!(
        found,
        vec![
            "26:20: warning: documents[1].required_when: guard reads `alasan`, which no step up to here collects or requires and case_schema does not require: it may have no value (add it to a step's `requires`)"
        ]
    );
    assert!(
        sop::load(&text).unwrap().warnings()[0].severity == sop::Severity::Warning,
        "a warning, not an error"
    );
    // The case schema requiring it at the start, or a later step requiring it before the
    // guard runs, answers it.
    let required = text.replacen(
        "  type: object\n",
        "  type: object\n  required: [alasan]\n",
        1,
    );
    assert_eq!(warnings(&required), Vec::<String>::new());
}

#[test]
fn a_branch_guard_is_judged_by_the_paths_that_lead_to_it() {
    // The decision reads `alasan`; only the way through `serahkan` could set it, and that step
    // no longer collects it, but it requires it: the value is there.
    let text = minimal_with("    collects: [alasan]\n", "    requires: [alasan]\n").replacen(
        "        when: documents_complete\n",
        "        when: documents_complete && alasan != \"hilang\"\n",
        1,
    );
    assert_eq!(warnings(&text), Vec::<String>::new());
    let unset = text.replacen("    requires: [alasan]\n", "", 1);
    let found = warnings(&unset);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found[1].starts_with("59:15: warning: steps[1].next[0].when: guard reads `alasan`"),
        "{found:#?}"
    );
}
