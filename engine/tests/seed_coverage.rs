//! Everything the source document of the KTP-el SOP says is in `ktp-el.yaml`.
//!
//! `sop-definitions/sources/ktp-el-sop.txt` is the SOP as the office published it, flattened
//! to text: the identity block as tab-separated label/value cells, the six PermenPAN-RB
//! 35/2012 sections, and the activity table as tab-separated rows. It is parsed here, not
//! copied: the test knows the layout and the official headings, never the expected contents.
//! Texts are compared with whitespace collapsed and case folded, since YAML folds long lines.

use std::path::Path;

use sopflow_engine::sop::{self, SopDocument};

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

const SEED: &str = "../sop-definitions/sources/ktp-el-sop.txt";
const YAML: &str = "../sop-definitions/ktp-el.yaml";

/// Whitespace collapsed, case folded.
fn norm(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// The labels of the identity block (Lampiran II.C.2.a).
const IDENTITY_LABELS: &[&str] = &[
    "Nomor SOP",
    "Tanggal Pembuatan",
    "Tanggal Revisi",
    "Tanggal Efektif",
    "Disahkan oleh",
    "Judul SOP",
];

/// The six sections below the identity block.
const SECTION_LABELS: &[&str] = &[
    "Dasar Hukum",
    "Kualifikasi pelaksana",
    "Keterkaitan",
    "Peralatan/perlengkapan",
    "Peringatan",
    "Pencatatan dan pendataan",
];

/// One row of the activity table.
#[derive(Debug)]
struct Row {
    number: u32,
    activity: String,
    documents: String,
    time: String,
    output: String,
}

/// The source document, parsed.
#[derive(Debug, Default)]
struct Seed {
    /// The left column of the identity block, top to bottom (government, then unit and section).
    issuer: Vec<String>,
    identity: Vec<(String, String)>,
    sections: Vec<(String, String)>,
    /// The line above the table: `SOP <title>`.
    heading: Option<String>,
    actors: Vec<String>,
    rows: Vec<Row>,
}

impl Seed {
    fn parse(text: &str) -> Self {
        let mut seed = Seed::default();
        let mut lines = text.lines().peekable();
        while let Some(line) = lines.next() {
            let cells: Vec<&str> = line.split('\t').map(str::trim).collect();
            if cells[0] == "No." {
                seed.parse_table(&cells, &mut lines);
                break;
            }
            if cells.len() >= 3 && IDENTITY_LABELS.contains(&cells[1]) {
                if !cells[0].is_empty() {
                    seed.issuer.push(cells[0].to_owned());
                }
                seed.identity
                    .push((cells[1].to_owned(), cells[2..].join(" ").trim().to_owned()));
            } else if section_label(cells[0]).is_some() {
                for cell in &cells {
                    let label = section_label(cell)
                        .unwrap_or_else(|| panic!("a section cell without a heading: {cell:?}"));
                    let content = cell[label.len()..].trim().to_owned();
                    seed.sections.push((label.to_owned(), content));
                }
            } else if cells.len() == 1 && cells[0].starts_with("SOP ") {
                seed.heading = Some(cells[0].to_owned());
            }
        }
        seed
    }

    /// The table: a heading row, a row naming the actors and the quality-standard columns,
    /// then one row per activity.
    fn parse_table<'a>(
        &mut self,
        heading: &[&str],
        lines: &mut std::iter::Peekable<impl Iterator<Item = &'a str>>,
    ) {
        let column = |name: &str| {
            heading
                .iter()
                .position(|c| *c == name)
                .unwrap_or_else(|| panic!("the table has no {name:?} column"))
        };
        let (actors_from, actors_to) = (column("Pelaksana"), column("Mutu Baku"));
        let activity = column("Uraian Kegiatan");
        let sub: Vec<&str> = lines
            .next()
            .expect("the table's second heading row")
            .split('\t')
            .map(str::trim)
            .collect();
        self.actors = sub[actors_from..actors_to]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let sub_column = |name: &str| {
            sub.iter()
                .position(|c| *c == name)
                .unwrap_or_else(|| panic!("the table has no {name:?} column"))
        };
        // The actor cells of a data row are merged (row 1's flowchart spans them), so data
        // rows do not line up with the heading rows by position. The Waktu cell is found by
        // its content (`2 Menit`); Kelengkapan and Output stand beside it as in the heading.
        let time = sub_column("Waktu");
        let offset = |name: &str| sub_column(name) as isize - time as isize;
        let (documents, output) = (offset("Kelengkapan"), offset("Output"));
        for line in lines {
            let cells: Vec<&str> = line.split('\t').map(str::trim).collect();
            let Ok(number) = cells[0].parse::<u32>() else {
                continue;
            };
            let time_at = (activity + 1..cells.len()).find(|&i| seconds(cells[i]).is_some());
            let cell = |at: Option<usize>, offset: isize| {
                at.and_then(|t| t.checked_add_signed(offset))
                    .and_then(|i| cells.get(i))
                    .copied()
                    .unwrap_or_default()
                    .to_owned()
            };
            self.rows.push(Row {
                number,
                activity: cell(Some(activity), 0),
                documents: cell(time_at, documents),
                time: cell(time_at, 0),
                output: cell(time_at, output),
            });
        }
    }

    fn identity(&self, label: &str) -> &str {
        self.identity
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("the seed has no {label:?}"))
    }

    fn section(&self, label: &str) -> &str {
        self.sections
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("the seed has no {label:?} section"))
    }
}

fn section_label(cell: &str) -> Option<&'static str> {
    SECTION_LABELS
        .iter()
        .copied()
        .find(|label| cell.to_lowercase().starts_with(&label.to_lowercase()))
}

/// `1. a 2. b 3. c` as its items; text without a leading `1. ` is one item.
fn numbered(text: &str) -> Vec<String> {
    let Some(mut rest) = text.strip_prefix("1. ") else {
        return vec![text.to_owned()];
    };
    let mut items = Vec::new();
    for next in 2.. {
        match rest.find(&format!(" {next}. ")) {
            Some(at) => {
                items.push(rest[..at].trim().to_owned());
                rest = &rest[at + format!(" {next}. ").len()..];
            }
            None => {
                items.push(rest.trim().to_owned());
                return items;
            }
        }
    }
    items
}

/// `2 Menit` in seconds.
fn seconds(time: &str) -> Option<u64> {
    let (number, unit) = time.trim().split_once(' ')?;
    let unit = match unit.trim().to_lowercase().as_str() {
        "detik" => 1,
        "menit" => 60,
        "jam" => 3_600,
        "hari" => 86_400,
        _ => return None,
    };
    Some(number.parse::<u64>().ok()? * unit)
}

/// Records a problem when two texts differ (beyond whitespace and case).
fn same(problems: &mut Vec<String>, what: &str, seed: &str, yaml: &str) {
    if norm(seed) != norm(yaml) {
        problems.push(format!("{what}: the seed says `{seed}`, the YAML `{yaml}`"));
    }
}

/// A section against its YAML list: a numbered section item by item, another as one text
/// (the seed runs `Komputer Printer KTP Jaringan LAN` together; the YAML lists them).
fn section(problems: &mut Vec<String>, seed: &Seed, label: &str, yaml: &[String], field: &str) {
    let text = seed.section(label);
    if text.starts_with("1. ") {
        let items = numbered(text);
        for (i, item) in items.iter().enumerate() {
            if !yaml.iter().any(|y| norm(y) == norm(item)) {
                problems.push(format!(
                    "{label} item {} is not in header.{field}: `{item}`",
                    i + 1
                ));
            }
        }
        if yaml.len() != items.len() {
            problems.push(format!(
                "header.{field} has {} items, {label} in the seed {}",
                yaml.len(),
                items.len()
            ));
        }
    } else if norm(&yaml.join(" ")) != norm(text) {
        problems.push(format!(
            "{label}: the seed says `{text}`, header.{field} reads `{}`",
            yaml.join(" ")
        ));
    }
}

/// Everything the seed says that the SOP does not, one line each.
fn coverage_problems(seed: &Seed, sop: &SopDocument) -> Vec<String> {
    let mut out = Vec::new();
    let problems = &mut out;
    let h = &sop.header;

    // The identity block.
    same(problems, "government", &seed.issuer[0], &h.government);
    same(
        problems,
        "unit and section",
        &seed.issuer[1],
        &format!("{} {}", h.unit, h.section.as_deref().unwrap_or_default()),
    );
    same(problems, "Nomor SOP", seed.identity("Nomor SOP"), &h.number);
    same(problems, "Judul SOP", seed.identity("Judul SOP"), &h.title);
    if let Some(heading) = &seed.heading {
        same(
            problems,
            "the table's heading",
            heading,
            &format!("SOP {}", h.title),
        );
    }
    let d = &h.dates;
    for (label, yaml) in [
        ("Tanggal Pembuatan", &d.made),
        ("Tanggal Revisi", &d.revised),
        ("Tanggal Efektif", &d.effective),
    ] {
        same(
            problems,
            label,
            seed.identity(label),
            yaml.as_deref().unwrap_or_default(),
        );
    }
    // `Kepala Dinas  HJ. YULISNA, SH NIP.19650703 199102 2 001`
    let approver = seed.identity("Disahkan oleh");
    let (official, nip) = approver.split_once("NIP.").unwrap_or((approver, ""));
    same(
        problems,
        "Disahkan oleh (title and name)",
        official,
        &format!("{} {}", h.approver.title, h.approver.name),
    );
    same(
        problems,
        "Disahkan oleh (NIP)",
        nip,
        h.approver.nip.as_deref().unwrap_or_default(),
    );

    // The sections: numbered lists item by item, the others as one text.
    section(problems, seed, "Dasar Hukum", &h.legal_basis, "legal_basis");
    section(
        problems,
        seed,
        "Kualifikasi pelaksana",
        &h.executor_qualifications,
        "executor_qualifications",
    );
    section(
        problems,
        seed,
        "Keterkaitan",
        &h.related_sops,
        "related_sops",
    );
    section(
        problems,
        seed,
        "Peralatan/perlengkapan",
        &h.equipment,
        "equipment",
    );
    section(problems, seed, "Peringatan", &h.warnings, "warnings");
    section(
        problems,
        seed,
        "Pencatatan dan pendataan",
        &h.records,
        "records",
    );

    // The actors, in the order of the table's columns.
    let names: Vec<String> = sop.actors.iter().map(|a| norm(&a.name)).collect();
    let mut last = None;
    for actor in &seed.actors {
        match names.iter().position(|n| *n == norm(actor)) {
            None => problems.push(format!("actor `{actor}` is not among the actors")),
            Some(i) if last.is_some_and(|l| i < l) => {
                problems.push(format!(
                    "actor `{actor}` is out of the table's column order"
                ));
            }
            Some(i) => last = Some(i),
        }
    }

    // The rows: the first step of each carries its activity, budget, output and documents.
    for row in &seed.rows {
        let n = row.number;
        let Some(step) = sop.steps.iter().find(|s| s.row == n) else {
            problems.push(format!("row {n} has no step"));
            continue;
        };
        same(
            problems,
            &format!("row {n} activity (step `{}`)", step.id),
            &row.activity,
            step.activity.as_deref().unwrap_or_default(),
        );
        same(
            problems,
            &format!("row {n} output (step `{}`)", step.id),
            &row.output,
            step.output.as_deref().unwrap_or_default(),
        );
        let budget = step.budget.map(|b| b.as_secs());
        match seconds(&row.time) {
            None => problems.push(format!(
                "row {n}: cannot read the seed's time `{}`",
                row.time
            )),
            Some(s) if budget != Some(s) => problems.push(format!(
                "row {n} time: the seed says `{}`, step `{}` has budget {}",
                row.time,
                step.id,
                step.budget.map_or("none".to_owned(), |b| b.to_string())
            )),
            Some(_) => {}
        }
        // `Fotokopi KK, KTP yang akan diganti jika ..., surat keterangan hilang ... untuk ...`:
        // a clause after `jika`/`untuk` is the condition the YAML puts in `required_when`.
        for item in row.documents.split(", ") {
            let (name, condition) = match [" jika ", " untuk "]
                .iter()
                .find_map(|sep| item.split_once(sep))
            {
                Some((name, condition)) => (name, Some(condition)),
                None => (item, None),
            };
            let Some(doc) = sop.documents.iter().find(|d| norm(&d.name) == norm(name)) else {
                problems.push(format!("row {n}: document `{name}` is not declared"));
                continue;
            };
            if !step.documents.contains(&doc.id) {
                problems.push(format!(
                    "row {n}: step `{}` does not list document `{}`",
                    step.id, doc.id
                ));
            }
            if condition.is_some() != doc.required_when.is_some() {
                problems.push(format!(
                    "row {n}: document `{}` is conditional in the seed (`{item}`) but not in the YAML, or the reverse",
                    doc.id
                ));
            }
        }
    }
    if let Some(last) = seed.rows.last()
        && let Some(extra) = sop.steps.iter().find(|s| s.row > last.number)
    {
        problems.push(format!(
            "step `{}` is in row {}, the seed's table ends at row {}",
            extra.id, extra.row, last.number
        ));
    }
    out
}

fn seed() -> Seed {
    Seed::parse(&read(SEED))
}

fn load(yaml: &str) -> SopDocument {
    sop::load(yaml)
        .unwrap_or_else(|p| {
            panic!(
                "{}",
                p.iter()
                    .map(|d| d.display_with("ktp-el.yaml").to_string())
                    .collect::<Vec<_>>()
                    .join("\n")
            )
        })
        .document()
        .clone()
}

/// The parser found the seed's parts, so the coverage check below is not vacuous.
#[test]
fn the_seed_parses() {
    let seed = seed();
    assert_eq!(seed.issuer.len(), 2, "{:?}", seed.issuer);
    assert_eq!(
        seed.identity.len(),
        IDENTITY_LABELS.len(),
        "{:?}",
        seed.identity
    );
    let labels: Vec<&str> = seed.sections.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(labels.len(), SECTION_LABELS.len(), "{labels:?}");
    assert_eq!(numbered(seed.section("Dasar Hukum")).len(), 8);
    assert_eq!(numbered(seed.section("Kualifikasi pelaksana")).len(), 2);
    assert_eq!(seed.actors.len(), 3, "{:?}", seed.actors);
    let numbers: Vec<u32> = seed.rows.iter().map(|r| r.number).collect();
    assert_eq!(numbers, [1, 2, 3, 4, 5]);
    for row in &seed.rows {
        assert!(!row.activity.is_empty(), "{row:?}");
        assert!(seconds(&row.time).is_some(), "{row:?}");
        assert!(
            !row.documents.is_empty() && !row.output.is_empty(),
            "{row:?}"
        );
    }
    assert!(seed.heading.is_some());
}

#[test]
fn ktp_el_yaml_covers_its_seed() {
    let problems = coverage_problems(&seed(), &load(&read(YAML)));
    assert!(
        problems.is_empty(),
        "ktp-el.yaml leaves out or changes what {SEED} says:\n  {}",
        problems.join("\n  ")
    );
}

/// The check fails, naming what is missing, when the YAML drifts from the seed.
#[test]
fn drift_from_the_seed_is_caught_and_named() {
    let yaml = read(YAML);
    let seed = seed();
    let drifted = |old: &str, new: &str| {
        assert_eq!(yaml.matches(old).count(), 1, "{old:?}");
        coverage_problems(&seed, &load(&yaml.replacen(old, new, 1)))
    };
    let fifth = numbered(seed.section("Dasar Hukum"))[4].clone();
    let problems = drifted(&format!("    - {fifth}\n"), "");
    assert_eq!(
        problems,
        [
            format!("Dasar Hukum item 5 is not in header.legal_basis: `{fifth}`"),
            "header.legal_basis has 7 items, Dasar Hukum in the seed 8".to_owned(),
        ]
    );
    let problems = drifted("    budget: 5m\n", "    budget: 4m\n");
    assert_eq!(
        problems,
        ["row 3 time: the seed says `5 Menit`, step `tunggu_antrian` has budget 4m"]
    );
    let problems = drifted("    - Jaringan LAN\n", "");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("Peralatan/perlengkapan: the seed says"),
        "{problems:?}"
    );
    let problems = drifted(
        "    nip: 19650703 199102 2 001\n",
        "    nip: 19650703 199102 2 002\n",
    );
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("Disahkan oleh (NIP)"),
        "{problems:?}"
    );
    let problems = drifted(
        "antrian. Jika berkas tidak lengkap",
        "antrian. Bila berkas tidak lengkap",
    );
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("row 2 activity (step `verifikasi_berkas`)"),
        "{problems:?}"
    );
    let problems = drifted("    made: Mei 2021\n", "    made: Juni 2021\n");
    assert_eq!(
        problems,
        ["Tanggal Pembuatan: the seed says `Mei 2021`, the YAML `Juni 2021`"]
    );
    let problems = drifted("    required_when: alasan == \"hilang\"\n", "");
    assert_eq!(problems.len(), 4, "one per row that lists it: {problems:?}");
    assert!(
        problems[0].starts_with("row 1: document `surat_kehilangan` is conditional"),
        "{problems:?}"
    );
    let problems = drifted(
        "    name: Operator Cetak KTP\n",
        "    name: Operator Cetak\n",
    );
    assert_eq!(
        problems,
        ["actor `Operator Cetak KTP` is not among the actors"]
    );
}
