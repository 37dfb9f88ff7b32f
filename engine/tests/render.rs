//! The three drawings of the real KTP-el SOP, checked for content: every step, actor, arrow,
//! legal basis and budget must be there, in the right place, with text escaped.
//!
//! Two checks use outside tools and run only when asked, so that `cargo test` needs nothing
//! but Rust:
//! - `SOPFLOW_TEST_MERMAID=1`: Mermaid's own parser (Node.js; `npm ci --prefix tests/mermaid`);
//! - `SOPFLOW_TEST_GRAPHVIZ=1`: Graphviz `dot -Tsvg`.

use std::path::{Path, PathBuf};
use std::process::Command;

use sopflow_engine::render::{self, Format};
use sopflow_engine::sop::SopDocument;
use sopflow_engine::sop::model::{Next, StepKind};

const KTP_EL: &str = include_str!("../../sop-definitions/ktp-el.yaml");

fn ktp_el() -> SopDocument {
    match sopflow_engine::sop::load(KTP_EL) {
        Ok(sop) => sop.document().clone(),
        Err(problems) => panic!("ktp-el.yaml does not validate: {problems:?}"),
    }
}

/// Every (from, to, label) arrow the SOP declares.
fn declared_edges(document: &SopDocument) -> Vec<(String, String, Option<String>)> {
    let mut edges = Vec::new();
    for step in &document.steps {
        match &step.next {
            None => {}
            Some(Next::Step(to)) => edges.push((step.id.clone(), to.clone(), None)),
            Some(Next::Branches(branches)) => {
                for b in branches {
                    edges.push((step.id.clone(), b.to.clone(), b.label.clone()));
                }
            }
        }
    }
    edges
}

/// The KTP-el document with text that breaks naive escaping in every format.
fn hostile() -> SopDocument {
    let mut document = ktp_el();
    document.header.title = "Uji \"kutip\" <script>alert(1)</script> & [kurung] {kurawal}".into();
    document
        .header
        .legal_basis
        .push("Pasal 1 ayat (2) huruf \"a\"; #3 | `kode` \\N".into());
    document.actors[0].name = "Pemohon \"warga\" [WNI] <b>".into();
    document.steps[0].name = "Serahkan \"berkas\" (asli) [KK] {x} #1; a|b `c` \\l".into();
    document.steps[0].activity = Some("Baris satu\nbaris <dua> & 'tiga'".into());
    document.steps[1].name = "Verifikasi \\ \"berkas\"".into();
    if let Some(Next::Branches(branches)) = &mut document.steps[1].next {
        branches[0].label = Some("Lengkap \"ya\" | end --> x; %% bukan komentar".into());
    }
    document
}

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn asked(variable: &str) -> bool {
    std::env::var(variable).is_ok_and(|v| v == "1")
}

/// Says so on the terminal even though the test harness captures `eprintln!` of passing
/// tests: a skipped check must not look like a passed one.
fn skip_loudly(test: &str, variable: &str, needs: &str) {
    use std::io::Write as _;
    let _ = writeln!(
        std::io::stderr(),
        "\n*** SKIPPED {test}: set {variable}=1 to run it (needs {needs}) ***\n"
    );
}

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sopflow-render-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    dir
}

// ---------------------------------------------------------------- Mermaid

/// The node ids defined in a Mermaid source: the word before a shape opener.
fn mermaid_node_ids(source: &str) -> Vec<String> {
    source
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("%%") && !l.contains("-->") && !l.starts_with("subgraph"))
        .filter_map(|l| {
            let end = l.find(['[', '(', '{'])?;
            Some(l[..end].to_owned())
        })
        .collect()
}

/// The text between the double quotes of each label on a line.
fn quoted_labels(line: &str) -> Vec<&str> {
    line.split('"').skip(1).step_by(2).collect()
}

#[test]
fn mermaid_has_every_step_in_its_actor_lane_with_its_shape() {
    let document = ktp_el();
    let source = render::mermaid(&document);
    assert!(source.lines().any(|l| l == "flowchart TD"), "{source}");
    for actor in &document.actors {
        let header = format!("subgraph actor_{}[\"{}\"]", actor.id, actor.name);
        let start = source
            .find(&header)
            .unwrap_or_else(|| panic!("no lane for {}", actor.id));
        let lane = &source[start..start + source[start..].find("\n    end").unwrap()];
        for step in document.steps.iter().filter(|s| s.actor == actor.id) {
            let label = format!("({}) {}", step.row, step.name);
            let node = match step.kind {
                StepKind::Task => format!("step_{}[\"{label}\"]", step.id),
                StepKind::Decision => format!("step_{}{{\"{label}\"}}", step.id),
                StepKind::Service => format!("step_{}[[\"{label}\"]]", step.id),
                StepKind::Queue => format!("step_{}[/\"{label}\"/]", step.id),
                StepKind::End => format!("step_{}([\"{}\"])", step.id, step.name),
            };
            assert!(
                lane.contains(&node),
                "{node} not in lane {}:\n{lane}",
                actor.id
            );
        }
    }
    // The start terminator leads to the start step.
    assert!(source.contains("start_terminator([\"Mulai\"])"));
    assert!(source.contains("start_terminator --> step_serahkan_berkas"));
    // Branching activities get a diamond after their box.
    for id in ["verifikasi_berkas", "periksa_perekaman", "konsultasi_adb"] {
        assert!(
            source.contains(&format!("step_{id} --> choice_{id}")),
            "{id}"
        );
        assert!(source.contains(&format!("choice_{id}{{\"")), "{id}");
    }
}

#[test]
fn mermaid_has_every_arrow_with_its_label() {
    let document = ktp_el();
    let source = render::mermaid(&document);
    let edges = declared_edges(&document);
    let arrows = source.lines().filter(|l| l.contains("-->")).count();
    // One per declared arrow, one per box-to-diamond hop, one from the start terminator.
    assert_eq!(arrows, edges.len() + 3 + 1, "{source}");
    for (from, to, label) in edges {
        let branching = document
            .step(&from)
            .unwrap()
            .next
            .as_ref()
            .is_some_and(|n| matches!(n, Next::Branches(b) if b.len() > 1));
        let source_node = if branching {
            format!("choice_{from}")
        } else {
            format!("step_{from}")
        };
        let arrow = match &label {
            Some(label) => format!("{source_node} -->|\"{label}\"| step_{to}"),
            None => format!("{source_node} --> step_{to}"),
        };
        assert!(source.lines().any(|l| l.trim() == arrow), "missing {arrow}");
    }
}

#[test]
fn mermaid_ids_are_plain_and_labels_escaped() {
    let source = render::mermaid(&hostile());
    let ids = mermaid_node_ids(&source);
    assert!(ids.len() >= 15, "{ids:?}");
    for id in &ids {
        assert!(
            id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') && !id.is_empty(),
            "bad id {id:?}"
        );
        assert_ne!(id, "end");
    }
    for line in source.lines().filter(|l| !l.starts_with("%%")) {
        // Quotes come in pairs: none survives inside a label.
        assert_eq!(line.matches('"').count() % 2, 0, "{line}");
        for label in quoted_labels(line) {
            for forbidden in ['<', '>', '&', ';', '|', '`', '#'] {
                let without_entities = strip_mermaid_entities(label);
                assert!(
                    !without_entities.contains(forbidden),
                    "{forbidden:?} unescaped in {label:?}"
                );
            }
        }
    }
    assert!(
        source.contains(
            "Serahkan #quot;berkas#quot; (asli) [KK] {x} #35;1#59; a#124;b #96;c#96; \\l"
        )
    );
    assert!(source.contains("#lt;b#gt;"));
    // The hostile label's `-->` stays inside its quotes.
    assert!(
        source.contains("|\"Lengkap #quot;ya#quot; #124; end --#gt; x#59; %% bukan komentar\"|")
    );
}

/// A label with its `#name;` entity codes removed.
fn strip_mermaid_entities(label: &str) -> String {
    let mut out = String::new();
    let mut rest = label;
    while let Some(start) = rest.find('#') {
        out.push_str(&rest[..start]);
        match rest[start..].find(';') {
            Some(end) => rest = &rest[start + end + 1..],
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[test]
fn mermaid_parses_with_the_real_mermaid_parser() {
    if !asked("SOPFLOW_TEST_MERMAID") {
        skip_loudly(
            "mermaid_parses_with_the_real_mermaid_parser",
            "SOPFLOW_TEST_MERMAID",
            "node and `npm ci --prefix tests/mermaid`",
        );
        return;
    }
    let dir = scratch_dir("mermaid");
    let ktp = dir.join("ktp-el.mmd");
    let nasty = dir.join("hostile.mmd");
    std::fs::write(&ktp, render::mermaid(&ktp_el())).unwrap();
    std::fs::write(&nasty, render::mermaid(&hostile())).unwrap();
    let script = repository_root().join("tests/mermaid/check.mjs");
    let output = Command::new("node")
        .arg(&script)
        .arg(&ktp)
        .arg(&nasty)
        .output()
        .expect("SOPFLOW_TEST_MERMAID=1 but `node` could not be started");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "Mermaid refused the output:\n{report}"
    );
    assert_eq!(
        report.matches("\nok ").count() + usize::from(report.starts_with("ok ")),
        2,
        "{report}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------- Graphviz

#[test]
fn dot_has_every_step_with_its_actor_shape_and_arrow() {
    let document = ktp_el();
    let source = render::dot(&document);
    assert!(source.starts_with("digraph \"ktp-el\" {"), "{source}");
    assert!(source.trim_end().ends_with('}'));
    assert!(source.contains("label=\"SOP Penerbitan Kartu Tanda Penduduk Elektronik\""));
    for step in &document.steps {
        let shape = match step.kind {
            StepKind::Task => "shape=box",
            StepKind::Decision => "shape=diamond",
            StepKind::Service => "shape=box, peripheries=2",
            StepKind::Queue => "shape=parallelogram",
            StepKind::End => "shape=box, style=rounded",
        };
        let name = match step.kind {
            StepKind::End => step.name.clone(),
            _ => format!("({}) {}", step.row, step.name),
        };
        let actor = &document.actor(&step.actor).unwrap().name;
        let node = format!(
            "\"step_{}\" [label=<{name}<BR/><FONT POINT-SIZE=\"8\"><I>{actor}</I></FONT>>, {shape}];",
            step.id
        );
        assert!(source.lines().any(|l| l.trim() == node), "missing {node}");
    }
    let edges = declared_edges(&document);
    assert_eq!(
        source.lines().filter(|l| l.contains(" -> ")).count(),
        edges.len() + 3 + 1
    );
    for (from, to, label) in edges {
        let found = source.lines().any(|l| {
            (l.contains(&format!("\"step_{from}\" -> \"step_{to}\""))
                || l.contains(&format!("\"choice_{from}\" -> \"step_{to}\"")))
                && label
                    .as_ref()
                    .is_none_or(|label| l.contains(&format!("[label=\"{label}\"]")))
        });
        assert!(found, "missing arrow {from} -> {to} ({label:?})");
    }
}

#[test]
fn dot_escapes_quotes_backslashes_and_markup() {
    let source = render::dot(&hostile());
    // HTML-like label: entities, and the backslash is literal there.
    assert!(source.contains(
        "label=<(1) Serahkan &quot;berkas&quot; (asli) [KK] {x} #1; a|b `c` \\l<BR/><FONT POINT-SIZE=\"8\"><I>Pemohon &quot;warga&quot; [WNI] &lt;b&gt;</I></FONT>>"
    ));
    // Quoted strings: `\"` and `\\`.
    assert!(source.contains(
        "label=\"SOP Uji \\\"kutip\\\" <script>alert(1)</script> & [kurung] {kurawal}\""
    ));
    assert!(source.contains("[label=\"Verifikasi \\\\ \\\"berkas\\\"?\", shape=diamond]"));
    assert!(source.contains("[label=\"Lengkap \\\"ya\\\" | end --> x; %% bukan komentar\"]"));
    for line in source.lines() {
        let unescaped_quotes = line.replace("\\\\", "").replace("\\\"", "");
        assert_eq!(unescaped_quotes.matches('"').count() % 2, 0, "{line}");
    }
}

#[test]
fn dot_renders_with_graphviz() {
    if !asked("SOPFLOW_TEST_GRAPHVIZ") {
        skip_loudly(
            "dot_renders_with_graphviz",
            "SOPFLOW_TEST_GRAPHVIZ",
            "graphviz: `apt-get install -y graphviz`",
        );
        return;
    }
    for (name, document) in [("ktp-el", ktp_el()), ("hostile", hostile())] {
        let dir = scratch_dir(&format!("dot-{name}"));
        let input = dir.join("sop.dot");
        std::fs::write(&input, render::dot(&document)).unwrap();
        let output = Command::new("dot")
            .arg("-Tsvg")
            .arg(&input)
            .output()
            .expect("SOPFLOW_TEST_GRAPHVIZ=1 but `dot` could not be started");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(output.status.success(), "dot refused {name}: {stderr}");
        assert!(stderr.trim().is_empty(), "dot warned on {name}: {stderr}");
        let svg = String::from_utf8_lossy(&output.stdout);
        for step in &document.steps {
            assert!(
                svg.contains(&format!("<title>step_{}</title>", step.id)),
                "{name}: {}",
                step.id
            );
        }
        let edges = declared_edges(&document).len() + 3 + 1;
        assert_eq!(svg.matches("class=\"edge\"").count(), edges, "{name}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}

// ---------------------------------------------------------------- HTML

/// The `<tr>` of a step in the flowchart table.
fn table_row<'a>(html: &'a str, step: &str) -> &'a str {
    let start = html
        .find(&format!("<tr data-step=\"{step}\""))
        .unwrap_or_else(|| panic!("no row for {step}"));
    let end = start + html[start..].find("</tr>").expect("row closes");
    &html[start..end]
}

/// The `<td>` pieces of a row.
fn cells(row: &str) -> Vec<&str> {
    row.split("<td").skip(1).collect()
}

#[test]
fn html_identity_block_has_every_header_field() {
    let document = ktp_el();
    let html = render::html(&document);
    let header = &document.header;
    for text in [
        "PEMERINTAH KAB. PASAMAN BARAT",
        "DINAS KEPENDUDUKAN DAN PENCATATAN SIPIL",
        "SEKSI IDENTITAS PENDUDUK",
        "<th>Nomor SOP</th><td class=\"value\">/SOP/Disdukcapil/2021</td>",
        "<th>Tanggal Pembuatan</th><td class=\"value\">Mei 2021</td>",
        "<th>Tanggal Revisi</th><td class=\"value\"></td>",
        "<th>Tanggal Efektif</th><td class=\"value\"></td>",
        "<div class=\"approver-title\">Kepala Dinas</div>",
        "<div class=\"approver-name\">HJ. YULISNA, SH</div>",
        "NIP. 19650703 199102 2 001",
        "<th>Nama SOP</th><td class=\"value\">PENERBITAN KARTU TANDA PENDUDUK ELEKTRONIK</td>",
        "class=\"logo\"",
    ] {
        assert!(html.contains(text), "missing {text}");
    }
    // The pairs of the official layout, left | right, in order.
    let order = [
        "Dasar Hukum:",
        "Kualifikasi Pelaksana:",
        "Keterkaitan:",
        "Peralatan/Perlengkapan:",
        "Peringatan:",
        "Pencatatan dan Pendataan:",
    ];
    let positions: Vec<usize> = order.iter().map(|t| html.find(t).unwrap()).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    for list in [
        &header.legal_basis,
        &header.executor_qualifications,
        &header.related_sops,
        &header.equipment,
        &header.warnings,
        &header.records,
    ] {
        assert!(!list.is_empty());
        for item in list {
            assert!(html.contains(&format!("<li>{item}</li>")), "missing {item}");
        }
    }
    assert_eq!(html.matches("<li>").count(), 8 + 2 + 1 + 5 + 1 + 1);
}

#[test]
fn html_table_has_actor_columns_in_file_order_and_every_step() {
    let document = ktp_el();
    let html = render::html(&document);
    for heading in [
        "<th class=\"no\" rowspan=\"2\">No</th>",
        "Uraian Kegiatan",
        "Pelaksana",
        "Mutu Baku",
        "Kelengkapan",
        "Waktu",
        "Output",
        "Keterangan",
    ] {
        assert!(html.contains(heading), "missing {heading}");
    }
    let actor_headers: Vec<usize> = document
        .actors
        .iter()
        .map(|a| {
            html.find(&format!(
                "<th class=\"actor-name\" data-actor=\"{}\">{}</th>",
                a.id, a.name
            ))
            .unwrap_or_else(|| panic!("no column for {}", a.id))
        })
        .collect();
    assert!(actor_headers.windows(2).all(|w| w[0] < w[1]));
    assert!(html.contains("<th colspan=\"4\">Pelaksana</th>"));

    for step in &document.steps {
        let row = table_row(&html, &step.id);
        let text = step.activity.as_deref().unwrap_or(&step.name);
        assert!(
            row.contains(&format!(">{text}</td>")),
            "{}: no activity text",
            step.id
        );
    }
    // Table rows follow the SOP's row numbers; the No. shows once per row number.
    let numbers: Vec<&str> = html
        .match_indices("<td class=\"no\">")
        .map(|(i, m)| {
            let rest = &html[i + m.len()..];
            &rest[..rest.find('<').unwrap()]
        })
        .collect();
    // A printed page's first row shows its number again when it continues a row.
    let pages = html.matches("<section class=\"page flow-page\"").count();
    let mut once = numbers.clone();
    once.dedup();
    assert_eq!(once, ["1", "2", "3", "4", "5"]);
    assert!(
        numbers.len() >= 5 && numbers.len() < 5 + pages,
        "{numbers:?}"
    );
    assert_eq!(
        html.matches("<td class=\"no continued\">").count(),
        document.steps.len() - numbers.len()
    );
}

#[test]
fn html_symbols_stand_in_the_executing_actors_column() {
    let document = ktp_el();
    let html = render::html(&document);
    let expected = [
        ("serahkan_berkas", "pemohon", "terminator"),
        ("verifikasi_berkas", "petugas_antrian", "decision"),
        ("tunggu_antrian", "pemohon", "process"),
        ("periksa_perekaman", "operator_cetak", "decision"),
        ("cetak_ktp", "operator_cetak", "process"),
        ("tunggu_status_perekaman", "operator_cetak", "process"),
        ("konsultasi_adb", "adb", "decision"),
        ("ditolak", "pemohon", "terminator"),
        ("validasi_ktp", "petugas_antrian", "process"),
        ("terima_ktp", "pemohon", "process"),
        ("selesai", "pemohon", "terminator"),
    ];
    assert_eq!(expected.len(), document.steps.len());
    assert_eq!(
        html.matches("class=\"symbol\"").count(),
        document.steps.len()
    );
    for (step, actor, symbol) in expected {
        let row = table_row(&html, step);
        let actor_cells: Vec<&str> = cells(row)
            .into_iter()
            .filter(|c| c.starts_with(" class=\"actor\""))
            .collect();
        assert_eq!(actor_cells.len(), document.actors.len(), "{step}");
        let column = document.actors.iter().position(|a| a.id == actor).unwrap();
        for (i, cell) in actor_cells.iter().enumerate() {
            let has_symbol = cell.contains("class=\"symbol\"");
            assert_eq!(has_symbol, i == column, "{step}: column {i}");
        }
        let cell = actor_cells[column];
        assert!(cell.starts_with(&format!(" class=\"actor\" data-actor=\"{actor}\"")));
        assert!(
            cell.contains(&format!("data-step=\"{step}\" data-symbol=\"{symbol}\"")),
            "{step} should be a {symbol}: {cell}"
        );
    }
}

#[test]
fn html_draws_one_arrowhead_per_arrow_and_the_branch_labels() {
    let document = ktp_el();
    let html = render::html(&document);
    let edges = declared_edges(&document);
    assert_eq!(edges.len(), 13);
    assert_eq!(
        html.matches("marker-end=\"url(#arrowhead)\"").count(),
        edges.len()
    );
    assert!(html.contains(&format!("data-arrows=\"{}\"", edges.len())));
    assert_eq!(html.matches("<marker id=\"arrowhead\"").count(), 1);
    // Each label is wrapped into consecutive lines of SVG text.
    let label_lines: Vec<&str> = html
        .split("<text class=\"branch-label\"")
        .skip(1)
        .map(|t| &t[t.find('>').unwrap() + 1..t.find("</text>").unwrap()])
        .collect();
    let all_labels = label_lines.join(" ");
    let labels: Vec<&str> = edges.iter().filter_map(|(_, _, l)| l.as_deref()).collect();
    assert_eq!(labels.len(), 7);
    for label in labels {
        assert!(
            all_labels.contains(label),
            "label {label:?} missing from {all_labels:?}"
        );
    }
    assert!(html.contains(">Lengkap</text>"));
    // The loop back from the check of the file runs up to the first step: a line piece in the
    // first row of the applicant's column ends with the arrowhead.
    let first_row = table_row(&html, "serahkan_berkas");
    assert!(first_row.contains("class=\"arrow-end\""), "{first_row}");
}

#[test]
fn html_quality_columns_show_documents_budgets_outputs_and_notes() {
    let document = ktp_el();
    let html = render::html(&document);
    let cell = |step: &str, class: &str| -> String {
        let row = table_row(&html, step);
        let start = row.find(&format!("<td class=\"{class}\">")).unwrap() + class.len() + 13;
        row[start..start + row[start..].find("</td>").unwrap()].to_owned()
    };
    assert_eq!(
        cell("serahkan_berkas", "kelengkapan"),
        "Fotokopi KK, KTP yang akan diganti <span class=\"condition\">(jika perubahan data atau rusak)</span>, \
         Surat keterangan hilang dari kepolisian <span class=\"condition\">(jika hilang)</span>"
    );
    assert_eq!(
        cell("validasi_ktp", "kelengkapan"),
        "KTP-el yang sudah dicetak"
    );
    for (step, budget) in [
        ("serahkan_berkas", "1 menit"),
        ("verifikasi_berkas", "2 menit"),
        ("tunggu_antrian", "5 menit"),
        ("periksa_perekaman", "2 menit"),
        ("konsultasi_adb", "1 jam"),
        ("validasi_ktp", "2 menit"),
        ("cetak_ktp", ""),
    ] {
        assert_eq!(cell(step, "waktu"), budget, "{step}");
    }
    assert_eq!(
        cell("serahkan_berkas", "output"),
        "1 (satu) berkas pendaftaran"
    );
    assert_eq!(
        cell("tunggu_antrian", "keterangan"),
        "Nomor antrian diberikan saat berkas dinyatakan lengkap."
    );
}

#[test]
fn html_is_self_contained_printable_and_escaped() {
    let html = render::html(&hostile());
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("@page { size: A4 landscape;"));
    for forbidden in [
        "<script", "<link", "<img", "<iframe", "src=", "href=", "url(http", "@import",
    ] {
        assert!(!html.contains(forbidden), "{forbidden} found");
    }
    assert!(html.contains(
        "Uji &quot;kutip&quot; &lt;script&gt;alert(1)&lt;/script&gt; &amp; [kurung] {kurawal}"
    ));
    assert!(html.contains("Pemohon &quot;warga&quot; [WNI] &lt;b&gt;"));
    assert!(html.contains("Baris satu\nbaris &lt;dua&gt; &amp; &#39;tiga&#39;"));
    assert!(html.contains("Lengkap &quot;ya&quot; |"));
    // Every row, cell and drawing that opens also closes.
    for (open, close) in [
        ("<tr", "</tr>"),
        ("<td", "</td>"),
        ("<table", "</table>"),
        ("<svg", "</svg>"),
        ("<text", "</text>"),
    ] {
        assert_eq!(
            html.matches(open).count(),
            html.matches(close).count(),
            "{open}"
        );
    }
}

#[test]
fn every_format_renders_through_the_format_switch() {
    let document = ktp_el();
    assert_eq!(
        render::render(&document, Format::Mermaid),
        render::mermaid(&document)
    );
    assert_eq!(
        render::render(&document, Format::Dot),
        render::dot(&document)
    );
    assert_eq!(
        render::render(&document, Format::Html),
        render::html(&document)
    );
    assert_eq!(
        render::render(&document, Format::Svg),
        render::svg(&document)
    );
}

#[test]
fn html_table_prints_whole_headings_the_total_time_and_document_conditions() {
    let document = ktp_el();
    let html = render::html(&document);
    // Headings never break inside a word ("N o", "Wakt u") in print.
    assert!(html.contains("word-break: keep-all; hyphens: none;"));
    assert!(html.contains(".flow th.no, .flow th.waktu"));
    assert!(html.contains("<th class=\"waktu\">Waktu</th>"));
    let total = document
        .total_budget
        .expect("KTP-el declares its total time");
    assert!(
        html.contains(&format!(
            "Jumlah waktu</td><td class=\"waktu\">{}</td>",
            total.to_indonesian()
        )),
        "the total time stands under Waktu"
    );
    // A document required on a condition says it in Kelengkapan, escaped.
    let conditional = document
        .documents
        .iter()
        .find(|d| d.required_when.is_some())
        .expect("KTP-el has a conditional document");
    assert!(html.contains(&format!(
        "{} <span class=\"condition\">(jika ",
        conditional.name
    )));
    assert!(
        html.contains("(jika hilang)"),
        "the form's words: jika hilang"
    );
}
