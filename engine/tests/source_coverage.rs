//! Everything the source documents of the Akta Kelahiran, Kartu Keluarga and Akta Kematian SOPs
//! say is in their YAML, and nothing the sources do not say was added; `seed_coverage.rs` does
//! the same for KTP-el.
//!
//! The sources (`sop-definitions/sources/*-sop.txt`) come in two layouts, each parsed here,
//! never copied: the SOP AP table of PermenPAN-RB 35/2012 (identity block, six sections and the
//! flowchart table as tab-separated cells, as in `ktp-el-sop.txt`), and the service standard an
//! office publishes (requirements, the procedure's steps, a paragraph of step times or the time
//! of the whole service, the legal basis), grouped by the transcriber's `#section` lines. Other
//! lines starting with `#` are the transcriber's notes. The test knows the layouts and the
//! official headings, never the expected contents. Texts are compared with whitespace collapsed
//! and case folded, since YAML folds long lines.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::{Map, Value};
use sopflow_engine::case::Documents;
use sopflow_engine::case::decide::missing_documents;
use sopflow_engine::render::{self, Format};
use sopflow_engine::sop::{self, Sop, SopDocument};

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// One SOP and its source.
struct Pair {
    yaml: &'static str,
    source: &'static str,
}

const AKTA_KELAHIRAN: Pair = Pair {
    yaml: "../sop-definitions/akta-kelahiran.yaml",
    source: "../sop-definitions/sources/akta-kelahiran-sop.txt",
};
const KARTU_KELUARGA: Pair = Pair {
    yaml: "../sop-definitions/kartu-keluarga.yaml",
    source: "../sop-definitions/sources/kartu-keluarga-sop.txt",
};
const AKTA_KEMATIAN: Pair = Pair {
    yaml: "../sop-definitions/akta-kematian.yaml",
    source: "../sop-definitions/sources/akta-kematian-sop.txt",
};

/// Whitespace collapsed, case folded.
fn norm(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn load(yaml: &str) -> Sop {
    sop::load(yaml).unwrap_or_else(|p| {
        panic!(
            "{}",
            p.iter()
                .map(|d| d.display_with("sop.yaml").to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    })
}

/// Records a problem when two texts differ (beyond whitespace and case).
fn same(problems: &mut Vec<String>, what: &str, source: &str, yaml: &str) {
    if norm(source) != norm(yaml) {
        problems.push(format!(
            "{what}: the source says `{source}`, the YAML `{yaml}`"
        ));
    }
}

/// `2 Menit`, `14 HARI` in seconds.
fn seconds(time: &str) -> Option<u64> {
    let mut words = time.split_whitespace();
    let number: u64 = words.next()?.parse().ok()?;
    let unit = match words.next()?.to_lowercase().trim_end_matches(['.', ',']) {
        "detik" => 1,
        "menit" => 60,
        "jam" => 3_600,
        "hari" => 86_400,
        _ => return None,
    };
    Some(number * unit)
}

/// The items the document itself closes with `dst.` ("and so on") are not items.
fn is_etc(item: &str) -> bool {
    matches!(
        norm(item).trim_end_matches(['.', '…']),
        "dst" | "dst.." | "dan seterusnya"
    )
}

/// `1. a 2. b 3. c` as its items; text without a leading `1. ` is one item. A trailing `dst.`
/// is dropped.
fn numbered(text: &str) -> Vec<String> {
    let mut items = Vec::new();
    match text.strip_prefix("1. ") {
        None => {
            let text = text.trim();
            let text = ["dst.", "dst…", "dst"]
                .iter()
                .find_map(|etc| text.strip_suffix(etc))
                .unwrap_or(text);
            if !text.trim().is_empty() {
                items.push(text.trim().to_owned());
            }
        }
        Some(mut rest) => {
            for next in 2.. {
                let marker = format!(" {next}. ");
                match rest.find(&marker) {
                    Some(at) => {
                        items.push(rest[..at].trim().to_owned());
                        rest = &rest[at + marker.len()..];
                    }
                    None => {
                        items.push(rest.trim().to_owned());
                        break;
                    }
                }
            }
        }
    }
    items.retain(|i| !is_etc(i));
    items
}

/// The names an actor goes by in a text: its own, and the long form of the usual
/// abbreviations of office titles.
fn names_of(name: &str) -> Vec<String> {
    const TITLES: &[(&str, &str)] = &[
        ("kasi", "kepala seksi"),
        ("kabid", "kepala bidang"),
        ("kadis", "kepala dinas"),
    ];
    let name = norm(name);
    let mut names = vec![name.clone()];
    if let Some((_, long)) = TITLES.iter().find(|(short, _)| *short == name) {
        names.push((*long).to_owned());
    }
    names
}

/// The first step of each row carries the row's text, time and output.
fn first_of_row(document: &SopDocument, row: u32) -> Option<&sop::model::Step> {
    document.steps.iter().find(|s| s.row == row)
}

/// Whether `doc` is required on a case holding `data`, as the engine decides it.
fn required(sop: &Sop, doc: &str, data: &Map<String, Value>) -> bool {
    let Some(step) = sop
        .document()
        .steps
        .iter()
        .find(|s| s.documents.iter().any(|d| d == doc))
        .and_then(|s| sop.step_index(&s.id))
    else {
        return false;
    };
    missing_documents(sop, step, data, &Documents::default())
        .unwrap_or_else(|e| panic!("the condition of `{doc}` fails: {e}"))
        .iter()
        .any(|m| &**m == doc)
}

/// Checks shared by both layouts: every budget belongs to a row the source times, nothing the
/// source does not name is declared, and the official table shows the SOP.
fn common_problems(
    problems: &mut Vec<String>,
    source: &str,
    document: &SopDocument,
    timed_rows: &BTreeSet<u32>,
    last_row: u32,
) {
    for step in &document.steps {
        let Some(budget) = step.budget else { continue };
        let first = first_of_row(document, step.row).map(|s| s.id.as_str());
        if first != Some(step.id.as_str()) {
            problems.push(format!(
                "step `{}` has a budget of its own ({budget}): a row's budget is its first step's",
                step.id
            ));
        } else if !timed_rows.contains(&step.row) {
            problems.push(format!(
                "row {}: the source gives no time, step `{}` has budget {budget}",
                step.row, step.id
            ));
        }
    }
    if let Some(extra) = document.steps.iter().find(|s| s.row > last_row) {
        problems.push(format!(
            "step `{}` is in row {}, the source ends at row {last_row}",
            extra.id, extra.row
        ));
    }
    let text = norm(source);
    for doc in &document.documents {
        if !text.contains(&norm(&doc.name)) {
            problems.push(format!(
                "document `{}` ({}) is not in the source",
                doc.id, doc.name
            ));
        }
    }
}

/// The HTML rendering shows the identity block and every row of the official table.
fn render_problems(document: &SopDocument) -> Vec<String> {
    let html = render::render(document, Format::Html);
    let mut problems = Vec::new();
    let mut expect = |what: String, needle: String| {
        if !html.contains(&needle) {
            problems.push(format!("the HTML table lacks {what}: `{needle}`"));
        }
    };
    let h = &document.header;
    expect(
        "the Nomor SOP".into(),
        format!(
            "<th>Nomor SOP</th><td class=\"value\">{}</td>",
            escape(&h.number)
        ),
    );
    expect(
        "the Nama SOP".into(),
        format!(
            "<th>Nama SOP</th><td class=\"value\">{}</td>",
            escape(&h.title.to_uppercase())
        ),
    );
    for item in h.legal_basis.iter().chain(&h.equipment).chain(&h.records) {
        expect("a header item".into(), format!("<li>{}</li>", escape(item)));
    }
    for actor in &document.actors {
        expect(
            format!("the Pelaksana column of `{}`", actor.id),
            format!(
                "data-actor=\"{}\">{}</th>",
                escape(&actor.id),
                escape(&actor.name)
            ),
        );
    }
    for step in &document.steps {
        if let Some(activity) = &step.activity {
            expect(
                format!("the Uraian Kegiatan of `{}`", step.id),
                format!("<td class=\"activity\">{}</td>", escape(activity)),
            );
        }
        if let Some(budget) = step.budget {
            expect(
                format!("the Waktu of `{}`", step.id),
                format!("<td class=\"waktu\">{}</td>", budget.to_indonesian()),
            );
        }
        expect(
            format!("the row of `{}`", step.id),
            format!("<tr data-step=\"{}\" data-row=\"{}\">", step.id, step.row),
        );
    }
    problems
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

// ---------------------------------------------------------------------------------------------
// The SOP AP table layout.

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

fn section_label(cell: &str) -> Option<&'static str> {
    SECTION_LABELS
        .iter()
        .copied()
        .find(|label| cell.to_lowercase().starts_with(&label.to_lowercase()))
}

/// A row of the flowchart table: its number and its cells by column name.
#[derive(Debug)]
struct TableRow {
    number: u32,
    cells: Vec<(String, String)>,
}

impl TableRow {
    fn cell(&self, column: &str) -> Option<&str> {
        self.cells
            .iter()
            .find(|(c, _)| c == column)
            .map(|(_, v)| v.as_str())
    }
}

/// A decision row's exits, as the transcriber read the drawing: label to row.
#[derive(Debug)]
struct Exits {
    row: u32,
    exits: Vec<(String, u32)>,
}

/// A source in the SOP AP layout, parsed.
#[derive(Debug, Default)]
struct SopAp {
    issuer: Vec<String>,
    identity: Vec<(String, String)>,
    sections: Vec<(String, String)>,
    heading: Option<String>,
    actors: Vec<String>,
    /// The Mutu Baku and Keterangan columns the table has.
    quality: Vec<String>,
    rows: Vec<TableRow>,
    decisions: Vec<Exits>,
}

impl SopAp {
    fn parse(text: &str) -> Self {
        let mut source = SopAp::default();
        let mut lines = text.lines();
        while let Some(line) = lines.next() {
            if let Some(rest) = line.strip_prefix("#decision ") {
                source.decisions.push(Self::exits(rest));
                continue;
            }
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let cells: Vec<&str> = line.split('\t').map(str::trim).collect();
            if cells[0] == "No." {
                source.table(&cells, &mut lines);
            } else if cells.len() >= 3 && IDENTITY_LABELS.contains(&cells[1]) {
                if !cells[0].is_empty() {
                    source.issuer.push(cells[0].to_owned());
                }
                source
                    .identity
                    .push((cells[1].to_owned(), cells[2..].join(" ").trim().to_owned()));
            } else if section_label(cells[0]).is_some() {
                for cell in &cells {
                    let label = section_label(cell)
                        .unwrap_or_else(|| panic!("a section cell without a heading: {cell:?}"));
                    let content = cell[label.len()..].trim().to_owned();
                    source.sections.push((label.to_owned(), content));
                }
            } else if cells.len() == 1 {
                source.heading = Some(cells[0].to_owned());
            }
        }
        source
    }

    /// `2 T=1 Y=3`.
    fn exits(text: &str) -> Exits {
        let mut parts = text.split_whitespace();
        let row = parts
            .next()
            .and_then(|r| r.parse().ok())
            .expect("#decision ROW LABEL=ROW...");
        let exits = parts
            .map(|p| {
                let (label, to) = p.split_once('=').expect("LABEL=ROW");
                (label.to_owned(), to.parse().expect("a row number"))
            })
            .collect();
        Exits { row, exits }
    }

    /// The heading rows name the columns (a cell of the second row names the column under a
    /// spanning heading of the first); each data row has one cell per column.
    fn table<'a>(&mut self, heading: &[&str], lines: &mut impl Iterator<Item = &'a str>) {
        let sub: Vec<&str> = lines
            .next()
            .expect("the table's second heading row")
            .split('\t')
            .map(str::trim)
            .collect();
        let position = |name: &str| {
            heading
                .iter()
                .position(|c| *c == name)
                .unwrap_or_else(|| panic!("the table has no {name:?} column"))
        };
        let (actors_from, quality_from) = (position("Pelaksana"), position("Mutu Baku"));
        let columns: Vec<String> = (0..heading.len().max(sub.len()))
            .map(|i| {
                let own = sub.get(i).copied().unwrap_or_default();
                let above = heading.get(i).copied().unwrap_or_default();
                if own.is_empty() { above } else { own }.to_owned()
            })
            .collect();
        self.actors = columns[actors_from..quality_from].to_vec();
        self.quality = columns[quality_from..]
            .iter()
            .filter(|c| !c.is_empty())
            .cloned()
            .collect();
        for line in lines.by_ref() {
            if line.starts_with('#') {
                if let Some(rest) = line.strip_prefix("#decision ") {
                    self.decisions.push(Self::exits(rest));
                }
                continue;
            }
            let cells: Vec<&str> = line.split('\t').map(str::trim).collect();
            let Ok(number) = cells[0].parse::<u32>() else {
                continue;
            };
            let cells = columns
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    (
                        c.clone(),
                        cells.get(i).copied().unwrap_or_default().to_owned(),
                    )
                })
                .collect();
            self.rows.push(TableRow { number, cells });
        }
    }

    fn identity(&self, label: &str) -> &str {
        self.identity
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("the source has no {label:?}"))
    }

    fn section(&self, label: &str) -> &str {
        self.sections
            .iter()
            .find(|(l, _)| l == label)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("the source has no {label:?} section"))
    }

    fn activity_column(&self) -> &str {
        let row = &self.rows[0];
        ["Uraian Kegiatan", "Uraian Prosedur"]
            .into_iter()
            .find(|c| row.cell(c).is_some())
            .expect("the table has an Uraian column")
    }
}

/// A section against its YAML list, item by item; `dst.` closes a list without being an item.
fn section_items(
    problems: &mut Vec<String>,
    source: &SopAp,
    label: &str,
    yaml: &[String],
    field: &str,
) {
    let items = numbered(source.section(label));
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
            "header.{field} has {} items, {label} in the source {}",
            yaml.len(),
            items.len()
        ));
    }
}

fn sop_ap_problems(text: &str, sop: &Sop) -> Vec<String> {
    let source = SopAp::parse(text);
    let document = sop.document();
    let mut out = Vec::new();
    let problems = &mut out;
    let h = &document.header;

    same(problems, "government", &source.issuer[0], &h.government);
    same(
        problems,
        "unit and section",
        &source.issuer[1],
        &format!("{} {}", h.unit, h.section.as_deref().unwrap_or_default()),
    );
    same(
        problems,
        "Nomor SOP",
        source.identity("Nomor SOP"),
        &h.number,
    );
    same(
        problems,
        "Judul SOP",
        source.identity("Judul SOP"),
        &h.title,
    );
    if let Some(heading) = &source.heading
        && norm(heading) != norm(&h.title)
        && norm(heading) != norm(&format!("SOP {}", h.title))
    {
        problems.push(format!(
            "the table's heading: the source says `{heading}`, the YAML's title is `{}`",
            h.title
        ));
    }
    for (label, yaml) in [
        ("Tanggal Pembuatan", &h.dates.made),
        ("Tanggal Revisi", &h.dates.revised),
        ("Tanggal Efektif", &h.dates.effective),
    ] {
        same(
            problems,
            label,
            source.identity(label),
            yaml.as_deref().unwrap_or_default(),
        );
    }
    let approver = source.identity("Disahkan oleh");
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
    section_items(
        problems,
        &source,
        "Dasar Hukum",
        &h.legal_basis,
        "legal_basis",
    );
    section_items(
        problems,
        &source,
        "Kualifikasi pelaksana",
        &h.executor_qualifications,
        "executor_qualifications",
    );
    section_items(
        problems,
        &source,
        "Keterkaitan",
        &h.related_sops,
        "related_sops",
    );
    section_items(
        problems,
        &source,
        "Peralatan/perlengkapan",
        &h.equipment,
        "equipment",
    );
    section_items(problems, &source, "Peringatan", &h.warnings, "warnings");
    section_items(
        problems,
        &source,
        "Pencatatan dan pendataan",
        &h.records,
        "records",
    );

    // The Pelaksana columns are the actors, all of them, in order.
    let names: Vec<String> = document.actors.iter().map(|a| norm(&a.name)).collect();
    let columns: Vec<String> = source.actors.iter().map(|a| norm(a)).collect();
    if names != columns {
        problems.push(format!(
            "the actors are {names:?}, the table's Pelaksana columns {columns:?}"
        ));
    }

    let activity = source.activity_column().to_owned();
    let mut timed = BTreeSet::new();
    for row in &source.rows {
        let n = row.number;
        let Some(step) = first_of_row(document, n) else {
            problems.push(format!("row {n} has no step"));
            continue;
        };
        let text = row.cell(&activity).unwrap_or_default();
        same(
            problems,
            &format!("row {n} activity (step `{}`)", step.id),
            text,
            step.activity.as_deref().unwrap_or_default(),
        );
        // Each Uraian opens with its executor's name.
        let named = document.actors.iter().find(|a| {
            names_of(&a.name)
                .iter()
                .any(|name| norm(text).starts_with(&format!("{name} ")))
        });
        match named {
            None => problems.push(format!("row {n} names none of the actors")),
            Some(actor) if actor.id != step.actor => problems.push(format!(
                "row {n} is done by `{}`, step `{}` by actor `{}`",
                actor.name, step.id, step.actor
            )),
            Some(_) => {}
        }
        let cell = |column: &str| {
            source
                .quality
                .iter()
                .any(|q| q == column)
                .then(|| row.cell(column).unwrap_or_default())
                .filter(|c| !c.is_empty())
        };
        match cell("Waktu") {
            Some(time) => match seconds(time) {
                None => problems.push(format!("row {n}: cannot read the time `{time}`")),
                Some(s) => {
                    timed.insert(n);
                    if step.budget.map(|b| b.as_secs()) != Some(s) {
                        problems.push(format!(
                            "row {n} time: the source says `{time}`, step `{}` has budget {}",
                            step.id,
                            step.budget.map_or("none".to_owned(), |b| b.to_string())
                        ));
                    }
                }
            },
            None if step.budget.is_some() => {} // reported by common_problems
            None => {}
        }
        match (cell("Output"), &step.output) {
            (Some(output), yaml) => same(
                problems,
                &format!("row {n} output (step `{}`)", step.id),
                output,
                yaml.as_deref().unwrap_or_default(),
            ),
            (None, Some(yaml)) => problems.push(format!(
                "row {n}: the source gives no output, step `{}` has `{yaml}`",
                step.id
            )),
            (None, None) => {}
        }
        if let Some(note) = cell("Keterangan") {
            same(
                problems,
                &format!("row {n} keterangan (step `{}`)", step.id),
                note,
                step.note.as_deref().unwrap_or_default(),
            );
        }
        for item in cell("Kelengkapan").unwrap_or_default().split(", ") {
            if item.is_empty() {
                continue;
            }
            match document
                .documents
                .iter()
                .find(|d| norm(&d.name) == norm(item))
            {
                None => problems.push(format!("row {n}: document `{item}` is not declared")),
                Some(doc) if !step.documents.contains(&doc.id) => problems.push(format!(
                    "row {n}: step `{}` does not list document `{}`",
                    step.id, doc.id
                )),
                Some(_) => {}
            }
        }
    }
    // A decision's exits go to the first step of the rows the drawing points at.
    for decision in &source.decisions {
        let Some(step) = document
            .steps
            .iter()
            .find(|s| s.row == decision.row && s.branches().len() > 1)
        else {
            problems.push(format!(
                "row {} is a decision but no step of it branches",
                decision.row
            ));
            continue;
        };
        for (label, to) in &decision.exits {
            let target = first_of_row(document, *to).map(|s| s.id.clone());
            let branch = step
                .branches()
                .into_iter()
                .find(|b| b.label.as_deref() == Some(label.as_str()));
            match branch {
                None => problems.push(format!(
                    "step `{}` has no exit `{label}` (the drawing's exit to row {to})",
                    step.id
                )),
                Some(b) if Some(&b.to) != target.as_ref() => problems.push(format!(
                    "exit `{label}` of step `{}` goes to `{}`, the drawing to row {to}",
                    step.id, b.to
                )),
                Some(_) => {}
            }
        }
    }
    let last = source.rows.last().map_or(0, |r| r.number);
    common_problems(problems, text, document, &timed, last);
    if document.total_budget.is_some() {
        problems.push("the source gives no time for the whole procedure".into());
    }
    out
}

// ---------------------------------------------------------------------------------------------
// The service-standard layout.

/// One `#section NAME [| field = value]` of a service-standard source.
#[derive(Debug)]
struct Part {
    name: String,
    /// The case field and value a requirement list is for.
    applies: Option<(String, Value)>,
    lines: Vec<String>,
    /// The excerpt ends inside this part.
    cut: bool,
}

impl Part {
    /// The part's list: its bullets (`• `), or else its numbered lines (`1. `), without the
    /// marks; a bullet may carry a number of its own (`• 1. ...`).
    fn items(&self) -> Vec<String> {
        let bulleted = self.lines.iter().any(|l| l.starts_with("• "));
        self.lines
            .iter()
            .filter_map(|l| {
                let l = if bulleted {
                    l.strip_prefix("• ")?
                } else {
                    l.as_str()
                };
                match l.split_once(". ") {
                    Some((n, rest)) if n.parse::<u32>().is_ok() => Some(rest.trim().to_owned()),
                    _ if bulleted => Some(l.trim().to_owned()),
                    _ => None,
                }
            })
            .collect()
    }

    /// `Label : value`.
    fn value(&self) -> Option<&str> {
        self.lines
            .iter()
            .find_map(|l| l.split_once(" : ").map(|(_, v)| v.trim()))
    }
}

#[derive(Debug, Default)]
struct Standard {
    parts: Vec<Part>,
}

impl Standard {
    fn parse(text: &str) -> Self {
        let mut parts: Vec<Part> = Vec::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("#section ") {
                let (name, applies) = match rest.split_once(" | ") {
                    None => (rest.trim(), None),
                    Some((name, applies)) => {
                        let (field, value) = applies.split_once(" = ").expect("FIELD = VALUE");
                        let value: Value =
                            serde_json::from_str(value.trim()).expect("a JSON value");
                        (name.trim(), Some((field.trim().to_owned(), value)))
                    }
                };
                parts.push(Part {
                    name: name.to_owned(),
                    applies,
                    lines: Vec::new(),
                    cut: false,
                });
            } else if line.starts_with("#excerpt-ends") {
                if let Some(part) = parts.last_mut() {
                    part.cut = true;
                }
            } else if !line.starts_with('#') && !line.trim().is_empty() {
                let part = parts.last_mut().expect("text before the first #section");
                part.lines.push(line.trim().to_owned());
            }
        }
        Standard { parts }
    }

    fn part(&self, name: &str) -> Option<&Part> {
        self.parts.iter().find(|p| p.name == name)
    }

    fn parts<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Part> + 'a {
        self.parts.iter().filter(move |p| p.name == name)
    }

    /// The procedure's steps, in order (row 1 first).
    fn rows(&self) -> Vec<String> {
        self.part("Prosedur").map(Part::items).unwrap_or_default()
    }

    /// The time paragraph cut at each `selama N unit`: the text and time of step 1, 2, ...
    fn timed_segments(&self) -> Vec<(String, String)> {
        let Some(part) = self.part("Waktu") else {
            return Vec::new();
        };
        let words: Vec<String> = part
            .lines
            .join(" ")
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        let mut segments = Vec::new();
        let mut start = 0;
        let mut i = 0;
        while i + 2 < words.len() {
            let unit = words[i + 2].trim_end_matches(['.', ',', ';']);
            let time = format!("{} {unit}", words[i + 1]);
            if words[i].eq_ignore_ascii_case("selama") && seconds(&time).is_some() {
                segments.push((words[start..i + 3].join(" "), time));
                start = i + 3;
                i += 3;
            } else {
                i += 1;
            }
        }
        segments
    }
}

/// A requirement as its document's name and the condition it states (a trailing bracket, or a
/// `bagi`/`untuk`/`jika` clause), unless the name of a declared document is the whole text.
fn requirement(item: &str, document: &SopDocument) -> (String, Option<String>) {
    let mut text = item.trim().trim_end_matches(['.', ';', ':']).trim();
    for verb in ["membawa ", "mengisi "] {
        if text.to_lowercase().starts_with(verb) {
            text = &text[verb.len()..];
        }
    }
    if document
        .documents
        .iter()
        .any(|d| norm(&d.name) == norm(text))
    {
        return (text.to_owned(), None);
    }
    if text.ends_with(')')
        && let Some(open) = text.rfind('(')
    {
        let condition = text[open + 1..text.len() - 1].to_owned();
        return (text[..open].trim().to_owned(), Some(condition));
    }
    for clause in [" bagi ", " untuk ", " jika "] {
        if let Some((name, condition)) = text.split_once(clause) {
            return (name.to_owned(), Some(condition.to_owned()));
        }
    }
    (text.to_owned(), None)
}

/// The YAML's comments, as one text.
fn comments(yaml: &str) -> String {
    norm(
        &yaml
            .lines()
            .filter_map(|l| l.split_once('#').map(|(_, c)| c))
            .collect::<Vec<_>>()
            .join(" "),
    )
}

fn standard_problems(text: &str, yaml: &str, sop: &Sop) -> Vec<String> {
    let source = Standard::parse(text);
    let document = sop.document();
    let mut out = Vec::new();
    let problems = &mut out;
    let h = &document.header;

    if let Some(title) = source.part("Judul").and_then(|p| p.lines.first()) {
        same(problems, "the title", title, &h.title);
    }
    // The page has no identity block: nothing may be made up for one.
    for (what, value) in [
        ("Nomor SOP", h.number.as_str()),
        ("Disahkan oleh (title)", h.approver.title.as_str()),
        ("Disahkan oleh (name)", h.approver.name.as_str()),
        (
            "Disahkan oleh (NIP)",
            h.approver.nip.as_deref().unwrap_or_default(),
        ),
        (
            "Tanggal Pembuatan",
            h.dates.made.as_deref().unwrap_or_default(),
        ),
        (
            "Tanggal Revisi",
            h.dates.revised.as_deref().unwrap_or_default(),
        ),
        (
            "Tanggal Efektif",
            h.dates.effective.as_deref().unwrap_or_default(),
        ),
    ] {
        if !value.is_empty() {
            problems.push(format!(
                "{what}: the source has none, the YAML says `{value}`"
            ));
        }
    }

    // The legal basis, item by item; one the excerpt cuts off must begin the YAML's item.
    let basis = source.part("Dasar Hukum");
    let items = basis.map(Part::items).unwrap_or_default();
    for (i, item) in items.iter().enumerate() {
        let cut = basis.is_some_and(|b| b.cut) && i + 1 == items.len();
        let found = h.legal_basis.iter().any(|y| {
            if cut {
                norm(y).starts_with(&norm(item))
            } else {
                norm(y) == norm(item)
            }
        });
        if !found {
            problems.push(format!(
                "Dasar Hukum item {} is not in header.legal_basis: `{item}`",
                i + 1
            ));
        }
    }
    if h.legal_basis.len() != items.len() {
        problems.push(format!(
            "header.legal_basis has {} items, the source's Dasar Hukum {}",
            h.legal_basis.len(),
            items.len()
        ));
    }

    // Requirements: declared, listed by a step, conditional as the source says. A list for one
    // value of a case field is what that value requires: its documents are required then and
    // the others are not.
    for part in source.parts("Persyaratan") {
        let mut listed = BTreeSet::new();
        let data: Map<String, Value> = part.applies.iter().cloned().collect();
        let scope = part
            .applies
            .as_ref()
            .map(|(f, v)| format!(" for {f} = {v}"))
            .unwrap_or_default();
        for item in part.items() {
            let (name, condition) = requirement(&item, document);
            let Some(doc) = document
                .documents
                .iter()
                .find(|d| norm(&d.name) == norm(&name))
            else {
                problems.push(format!("requirement `{item}` is not a declared document"));
                continue;
            };
            listed.insert(doc.id.clone());
            if !document.steps.iter().any(|s| s.documents.contains(&doc.id)) {
                problems.push(format!("no step lists document `{}`", doc.id));
            }
            if condition.is_some() != doc.required_when.is_some() && part.applies.is_none() {
                problems.push(format!(
                    "document `{}` is conditional in the source (`{item}`) but not in the YAML, or the reverse",
                    doc.id
                ));
            }
            if part.applies.is_some() {
                if condition.is_some() && doc.required_when.is_none() {
                    problems.push(format!(
                        "document `{}` is conditional in the source (`{item}`) but always required in the YAML",
                        doc.id
                    ));
                }
                if condition.is_none() && !required(sop, &doc.id, &data) {
                    problems.push(format!(
                        "document `{}` is required{scope} in the source, not in the YAML",
                        doc.id
                    ));
                }
            }
        }
        if part.applies.is_some() {
            for doc in &document.documents {
                if !listed.contains(&doc.id) && required(sop, &doc.id, &data) {
                    problems.push(format!(
                        "document `{}` is required{scope} in the YAML, the source does not list it",
                        doc.id
                    ));
                }
            }
        }
    }

    // The procedure: a row per step, done by the actor the step's text (or its sentence of the
    // time paragraph) names, timed as the paragraph times it.
    let rows = source.rows();
    let segments = source.timed_segments();
    let mut timed = BTreeSet::new();
    for (i, text) in rows.iter().enumerate() {
        let n = (i + 1) as u32;
        let Some(step) = first_of_row(document, n) else {
            problems.push(format!("row {n} has no step"));
            continue;
        };
        same(
            problems,
            &format!("row {n} activity (step `{}`)", step.id),
            text,
            step.activity.as_deref().unwrap_or_default(),
        );
        let sentence = segments.get(i).map(|(s, _)| norm(s)).unwrap_or_default();
        let actor = document.actor(&step.actor).expect("a validated SOP");
        let named = names_of(&actor.name)
            .iter()
            .any(|name| norm(text).contains(name) || sentence.contains(name));
        let unnamed_said = step
            .note
            .as_deref()
            .is_some_and(|n| norm(n).contains("pelaksana tidak disebut"));
        if !named && !unnamed_said {
            problems.push(format!(
                "row {n} does not name `{}`, the actor of step `{}`",
                actor.name, step.id
            ));
        }
        if let Some((_, time)) = segments.get(i) {
            timed.insert(n);
            let s = seconds(time).expect("timed_segments keeps readable times");
            if step.budget.map(|b| b.as_secs()) != Some(s) {
                problems.push(format!(
                    "row {n} time: the source says `{time}`, step `{}` has budget {}",
                    step.id,
                    step.budget.map_or("none".to_owned(), |b| b.to_string())
                ));
            }
        }
        if let Some(output) = &step.output {
            problems.push(format!(
                "row {n}: the source has no Output, step `{}` has `{output}`",
                step.id
            ));
        }
    }
    // Every actor is one the procedure names.
    let said = norm(&format!(
        "{} {}",
        rows.join(" "),
        segments
            .iter()
            .map(|(s, _)| s.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    ));
    for actor in &document.actors {
        if !names_of(&actor.name).iter().any(|n| said.contains(n)) {
            problems.push(format!(
                "actor `{}` ({}) is not named by the source's procedure",
                actor.id, actor.name
            ));
        }
    }
    // The time of the whole service.
    let total = source.part("Jangka Waktu").and_then(Part::value);
    match (total.and_then(seconds), document.total_budget) {
        (None, None) => {}
        (Some(s), Some(b)) if s == b.as_secs() => {}
        (_, yaml) => problems.push(format!(
            "the whole service: the source says `{}`, total_budget is {}",
            total.unwrap_or("nothing"),
            yaml.map_or("none".to_owned(), |b| b.to_string())
        )),
    }
    // What the format cannot hold yet is quoted in the YAML's comments, not dropped.
    let quoted = comments(yaml);
    for name in ["Biaya", "Waktu Pelayanan"] {
        for part in source.parts(name) {
            for line in &part.lines {
                let line = line.trim_start_matches("• ");
                if norm(line) != norm(name) && !quoted.contains(&norm(line)) {
                    problems.push(format!(
                        "{name}: `{line}` is not quoted in the YAML's comments"
                    ));
                }
            }
        }
    }
    let last = rows.len() as u32;
    common_problems(problems, text, document, &timed, last);
    out
}

// ---------------------------------------------------------------------------------------------
// The tests.

fn problems_of(pair: &Pair, yaml: &str) -> Vec<String> {
    let source = read(pair.source);
    let sop = load(yaml);
    let mut problems = if source.contains("\tJudul SOP\t") {
        sop_ap_problems(&source, &sop)
    } else {
        standard_problems(&source, yaml, &sop)
    };
    problems.extend(render_problems(sop.document()));
    problems
}

fn assert_covers(pair: &Pair) {
    let problems = problems_of(pair, &read(pair.yaml));
    assert!(
        problems.is_empty(),
        "{} leaves out or changes what {} says:\n  {}",
        pair.yaml,
        pair.source,
        problems.join("\n  ")
    );
}

/// The problems of the YAML with `old` replaced by `new` (which must occur once).
fn drifted(pair: &Pair, old: &str, new: &str) -> Vec<String> {
    let yaml = read(pair.yaml);
    assert_eq!(yaml.matches(old).count(), 1, "{old:?}");
    problems_of(pair, &yaml.replacen(old, new, 1))
}

/// The parsers found the sources' parts, so the coverage checks are not vacuous.
#[test]
fn the_sources_parse() {
    let poso = SopAp::parse(&read(AKTA_KELAHIRAN.source));
    assert_eq!(poso.issuer.len(), 2, "{:?}", poso.issuer);
    assert_eq!(poso.identity.len(), IDENTITY_LABELS.len());
    assert_eq!(
        poso.sections.len(),
        SECTION_LABELS.len(),
        "{:?}",
        poso.sections
    );
    assert_eq!(poso.actors, ["Kadis", "Sekretaris", "Kabid", "Kasi", "JFU"]);
    assert_eq!(poso.quality, ["Kelengkapan", "Keterangan"]);
    assert_eq!(
        poso.rows.iter().map(|r| r.number).collect::<Vec<_>>(),
        (1..=9).collect::<Vec<_>>()
    );
    assert_eq!(poso.rows[0].cell("Kelengkapan"), Some("Berkas permohonan"));
    assert_eq!(numbered(poso.section("Peralatan/perlengkapan")).len(), 4);
    assert_eq!(numbered(poso.section("Dasar Hukum")).len(), 1);
    assert_eq!(poso.decisions.len(), 1);
    assert_eq!(poso.heading.as_deref(), Some("Penerbitan Akta Kelahiran"));

    let sorong = Standard::parse(&read(KARTU_KELUARGA.source));
    assert_eq!(sorong.rows().len(), 7);
    assert_eq!(sorong.parts("Persyaratan").next().unwrap().items().len(), 6);
    let times: Vec<String> = sorong
        .timed_segments()
        .into_iter()
        .map(|(_, t)| t)
        .collect();
    assert_eq!(times, ["5 menit"; 5]);
    assert!(sorong.part("Waktu").unwrap().cut);

    let bandung = Standard::parse(&read(AKTA_KEMATIAN.source));
    assert_eq!(bandung.rows().len(), 7);
    let lists: Vec<usize> = bandung
        .parts("Persyaratan")
        .map(|p| p.items().len())
        .collect();
    assert_eq!(lists, [5, 6, 5]);
    assert_eq!(bandung.part("Dasar Hukum").unwrap().items().len(), 3);
    assert_eq!(
        bandung.part("Jangka Waktu").and_then(Part::value),
        Some("14 HARI")
    );
    assert!(bandung.part("Dasar Hukum").unwrap().cut);
    assert_eq!(bandung.part("Waktu Pelayanan").unwrap().items().len(), 3);
}

#[test]
fn akta_kelahiran_yaml_covers_its_source() {
    assert_covers(&AKTA_KELAHIRAN);
}

#[test]
fn kartu_keluarga_yaml_covers_its_source() {
    assert_covers(&KARTU_KELUARGA);
}

#[test]
fn akta_kematian_yaml_covers_its_source() {
    assert_covers(&AKTA_KEMATIAN);
}

/// The checks fail, naming what is wrong, when a YAML drifts from its source or adds to it.
#[test]
fn drift_from_the_table_layout_is_caught_and_named() {
    let p = &AKTA_KELAHIRAN;
    assert_eq!(
        drifted(p, "    - Buku Agenda\n", ""),
        [
            "Peralatan/perlengkapan item 4 is not in header.equipment: `Buku Agenda`",
            "header.equipment has 3 items, Peralatan/perlengkapan in the source 4",
        ]
    );
    // A time the source does not give is made up.
    assert_eq!(
        drifted(
            p,
            "    actor: kabid\n    next: paraf_sekretaris\n",
            "    actor: kabid\n    budget: 2m\n    next: paraf_sekretaris\n"
        ),
        ["row 5: the source gives no time, step `paraf_kabid` has budget 2m"]
    );
    // Row 6 is the Sekretaris's.
    assert_eq!(
        drifted(
            p,
            "    actor: sekretaris\n    next: tanda_tangan_kadis\n",
            "    actor: kabid\n    next: tanda_tangan_kadis\n"
        ),
        ["row 6 is done by `Sekretaris`, step `paraf_sekretaris` by actor `kabid`"]
    );
    // The T exit of row 2 goes back to row 1.
    assert_eq!(
        drifted(
            p,
            "      - to: terima_berkas\n        label: \"T\"\n",
            "      - to: paraf_kasi\n        label: \"T\"\n"
        ),
        ["exit `T` of step `periksa_berkas` goes to `paraf_kasi`, the drawing to row 1"]
    );
    let problems = drifted(p, "    name: Sekretaris\n", "    name: Sekretariat\n");
    assert!(
        problems[0].starts_with("the actors are [\"kadis\", \"sekretariat\""),
        "{problems:?}"
    );
    let problems = drifted(p, "  number: 18.2.2.20\n", "  number: 18.2.2.21\n");
    assert_eq!(
        problems[0],
        "Nomor SOP: the source says `18.2.2.20`, the YAML `18.2.2.21`"
    );
    let problems = drifted(p, "menyampaikan ke Kasi\n", "menyerahkan ke Kasi\n");
    assert!(
        problems[0].starts_with("row 8 activity (step `teruskan_kutipan`)"),
        "{problems:?}"
    );
}

#[test]
fn drift_from_a_service_standard_is_caught_and_named() {
    let k = &KARTU_KELUARGA;
    assert_eq!(
        drifted(
            k,
            "    budget: 5m  # SOP: dilakukan selama 5 menit\n    next: entri_data\n",
            "    budget: 4m\n    next: entri_data\n"
        ),
        ["row 3 time: the source says `5 menit`, step `verifikasi_siak` has budget 4m"]
    );
    // The excerpt ends before the time of step 6.
    assert_eq!(
        drifted(
            k,
            "    actor: petugas_tte\n",
            "    actor: petugas_tte\n    budget: 1h\n"
        ),
        ["row 6: the source gives no time, step `tte` has budget 1h"]
    );
    assert_eq!(
        drifted(k, "    required_when: orang_asing == true\n", ""),
        [
            "document `izin_tinggal_tetap` is conditional in the source (`Membawa izin tinggal tetap bagi orang asing`) but not in the YAML, or the reverse"
        ]
    );
    assert_eq!(
        drifted(
            k,
            "    name: Petugas loket\n",
            "    name: Petugas verifikasi\n"
        ),
        [
            "row 3 does not name `Petugas verifikasi`, the actor of step `verifikasi_siak`",
            "actor `petugas_loket` (Petugas verifikasi) is not named by the source's procedure",
        ]
    );
    assert_eq!(
        drifted(k, "  number: \"\"\n", "  number: 470/12/2023\n"),
        ["Nomor SOP: the source has none, the YAML says `470/12/2023`"]
    );

    let m = &AKTA_KEMATIAN;
    assert_eq!(
        drifted(
            m,
            "total_budget: 14d  # SOP: Jangka Waktu Pelayanan 14 HARI\n",
            "total_budget: 10d\n"
        ),
        ["the whole service: the source says `14 HARI`, total_budget is 10d"]
    );
    // A passport is what an orang asing brings, not a WNI.
    assert_eq!(
        drifted(
            m,
            "    name: Foto copy Passpor (Dilegalisir)\n    required_when: kategori == \"orang_asing\"\n",
            "    name: Foto copy Passpor (Dilegalisir)\n    required_when: kategori == \"wni\"\n"
        ),
        [
            "document `fotokopi_paspor` is required for kategori = \"wni\" in the YAML, the source does not list it",
            "document `fotokopi_paspor` is required for kategori = \"orang_asing\" in the source, not in the YAML",
        ]
    );
    assert_eq!(
        drifted(
            m,
            "    - Undang-undang No 23 Tahun 2006 tentang Administrasi Kependudukan\n",
            ""
        ),
        [
            "Dasar Hukum item 2 is not in header.legal_basis: `Undang-undang No 23 Tahun 2006 tentang Administrasi Kependudukan`",
            "header.legal_basis has 2 items, the source's Dasar Hukum 3",
        ]
    );
    // Row 7 names no executor: the YAML must say so where it picks one.
    assert_eq!(
        drifted(
            m,
            "    note: Pelaksana tidak disebut dalam dokumen; dikerjakan Operator, yang menerbitkan dokumen akta.\n",
            ""
        ),
        ["row 7 does not name `Operator`, the actor of step `buat_surat_pelaporan`"]
    );
    // What the format cannot hold stays quoted.
    let problems = drifted(m, "Jum'at : 08.00 - 16.30 WIB", "Jumat");
    assert_eq!(
        problems,
        ["Waktu Pelayanan: `Jum'at : 08.00 - 16.30 WIB` is not quoted in the YAML's comments"]
    );
}
