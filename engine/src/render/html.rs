//! The SOP in the official layout of PermenPAN-RB 35/2012 (SOP AP): the identity block,
//! then the flowchart table, as one self-contained printable HTML page (inline CSS and SVG,
//! no script, nothing fetched).
//!
//! The flowchart table has one row per step (the No. column shows the SOP row the step
//! belongs to, merged over steps that share it) and one Pelaksana column per actor, in the
//! file's order. Symbols and arrows are inline SVG inside the Pelaksana cells, laid out by
//! [`super::grid`].

use std::fmt::Write as _;

use super::grid::{self, Anchor, Cell, Grid, LABEL_LINE_HEIGHT, Len, SYMBOL_HALF_WIDTH, Symbol};
use super::{edges, pages};
use crate::sop::model::{Header, SopDocument, Step};

/// The page's stylesheet: A4 landscape, black on white, table borders as on paper.
const STYLE: &str = r#"
@page { size: A4 landscape; margin: 10mm; }
* { box-sizing: border-box; }
html, body { margin: 0; padding: 0; background: #fff; color: #000; }
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; font-size: 10px; line-height: 1.3; }
.page { padding: 4mm 0; }
.page + .page { break-before: page; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; }
th, td { border: 1px solid #000; padding: 3px 5px; vertical-align: top; text-align: left; overflow-wrap: anywhere; }
.identity th { font-weight: normal; width: 16%; }
.identity td.value { font-weight: bold; }
.identity .issuer { text-align: center; vertical-align: middle; padding: 8px; }
.issuer .logo { display: block; margin: 0 auto 6px; width: 56px; height: 64px; }
.issuer .government, .issuer .unit, .issuer .section { font-weight: bold; font-size: 12px; }
.identity .signature { min-height: 70px; }
.signature .signature-space { height: 36px; }
.signature .approver-name { font-weight: bold; text-decoration: underline; }
.identity-lists { border-top: none; }
.identity-lists td { width: 50%; }
.identity-lists h3 { font-size: 10px; margin: 0 0 2px; }
.identity-lists ol { margin: 0; padding-left: 18px; }
.identity-lists .none { margin: 0; }
h2.flow-title { font-size: 13px; text-align: center; margin: 0 0 6px; }
.flow thead th { text-align: center; vertical-align: middle; font-weight: bold; overflow-wrap: normal; word-break: keep-all; hyphens: none; }
.flow th.no, .flow th.waktu, .flow td.waktu { white-space: nowrap; }
.flow td.kelengkapan .condition { font-style: italic; }
.flow tfoot td { font-weight: bold; }
.flow thead { display: table-header-group; }
.flow tr { break-inside: avoid; }
.flow td.no { text-align: center; }
.flow td.no.continued { border-top-style: hidden; }
.flow td.activity.sub-step { font-style: italic; }
.flow td.actor { position: relative; padding: 0; }
.flow td.waktu { text-align: center; }
svg.drawing { position: absolute; left: 0; top: 0; width: 100%; height: 100%; overflow: visible; }
.drawing line { stroke: #000; stroke-width: 1.2; fill: none; }
.drawing rect.symbol, .drawing svg.symbol polygon { fill: #fff; stroke: #000; stroke-width: 1.4; }
.drawing svg.connector polygon { fill: #fff; stroke: #000; stroke-width: 1.2; }
.drawing svg.connector text { font-size: 7.5px; font-weight: bold; fill: #000; }
h2.flow-title .page-number { font-weight: normal; font-size: 10px; }
.drawing text.branch-label { font-size: 7.5px; fill: #000; stroke: #fff; stroke-width: 2.5px; paint-order: stroke; stroke-linejoin: round; }
svg.defs { position: absolute; width: 0; height: 0; }
"#;

/// The printable HTML page of `document`.
pub fn html(document: &SopDocument) -> String {
    let header = &document.header;
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"id\">\n<head>\n<meta charset=\"utf-8\">\n");
    let _ = writeln!(
        out,
        "<title>SOP {} — {}</title>",
        escape(&header.number),
        escape(&header.title)
    );
    let _ = writeln!(out, "<style>{STYLE}</style>\n</head>\n<body>");
    // The arrowhead, shared by every cell's drawing. Not `display: none`, which would hide it.
    out.push_str(concat!(
        "<svg class=\"defs\" aria-hidden=\"true\" focusable=\"false\"><defs>",
        "<marker id=\"arrowhead\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" ",
        "markerHeight=\"7\" markerUnits=\"userSpaceOnUse\" orient=\"auto\">",
        "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#000\"/></marker></defs></svg>\n"
    ));
    write_identity(&mut out, header);
    write_flowchart(&mut out, document);
    out.push_str("</body>\n</html>\n");
    out
}

/// Bagian Identitas: issuer on the left, the numbered fields on the right, then the three
/// pairs of lists.
fn write_identity(out: &mut String, header: &Header) {
    out.push_str("<section class=\"page identity-page\">\n<table class=\"identity\">\n");
    out.push_str("<colgroup><col style=\"width:46%\"><col style=\"width:16%\"><col style=\"width:38%\"></colgroup>\n");
    let _ = write!(
        out,
        "<tr><td class=\"issuer\" rowspan=\"6\">{LOGO}<div class=\"government\">{}</div><div class=\"unit\">{}</div>",
        escape(&header.government),
        escape(&header.unit)
    );
    if let Some(section) = &header.section {
        let _ = write!(out, "<div class=\"section\">{}</div>", escape(section));
    }
    out.push_str("</td>");
    let optional = |value: &Option<String>| value.as_deref().map(escape).unwrap_or_default();
    let _ = writeln!(
        out,
        "<th>Nomor SOP</th><td class=\"value\">{}</td></tr>",
        escape(&header.number)
    );
    let _ = writeln!(
        out,
        "<tr><th>Tanggal Pembuatan</th><td class=\"value\">{}</td></tr>",
        optional(&header.dates.made)
    );
    let _ = writeln!(
        out,
        "<tr><th>Tanggal Revisi</th><td class=\"value\">{}</td></tr>",
        optional(&header.dates.revised)
    );
    let _ = writeln!(
        out,
        "<tr><th>Tanggal Efektif</th><td class=\"value\">{}</td></tr>",
        optional(&header.dates.effective)
    );
    let approver = &header.approver;
    let _ = write!(
        out,
        "<tr><th>Disahkan oleh</th><td class=\"signature\"><div class=\"approver-title\">{}</div><div class=\"signature-space\"></div><div class=\"approver-name\">{}</div>",
        escape(&approver.title),
        escape(&approver.name)
    );
    if let Some(nip) = &approver.nip {
        let _ = write!(
            out,
            "<div class=\"approver-nip\">NIP. {}</div>",
            escape(nip)
        );
    }
    out.push_str("</td></tr>\n");
    let _ = writeln!(
        out,
        "<tr><th>Nama SOP</th><td class=\"value\">{}</td></tr>",
        escape(&header.title.to_uppercase())
    );
    out.push_str("</table>\n<table class=\"identity-lists\">\n");
    let pairs: [(&str, &[String], &str, &[String]); 3] = [
        (
            "Dasar Hukum",
            &header.legal_basis,
            "Kualifikasi Pelaksana",
            &header.executor_qualifications,
        ),
        (
            "Keterkaitan",
            &header.related_sops,
            "Peralatan/Perlengkapan",
            &header.equipment,
        ),
        (
            "Peringatan",
            &header.warnings,
            "Pencatatan dan Pendataan",
            &header.records,
        ),
    ];
    for (left_title, left, right_title, right) in pairs {
        out.push_str("<tr>");
        write_list_cell(out, left_title, left);
        write_list_cell(out, right_title, right);
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n</section>\n");
}

fn write_list_cell(out: &mut String, title: &str, items: &[String]) {
    let _ = write!(out, "<td><h3>{}:</h3>", escape(title));
    if items.is_empty() {
        out.push_str("<p class=\"none\">-</p>");
    } else {
        out.push_str("<ol>");
        for item in items {
            let _ = write!(out, "<li>{}</li>", escape(item));
        }
        out.push_str("</ol>");
    }
    out.push_str("</td>");
}

/// Bagian Flowchart: No | Uraian Kegiatan | Pelaksana... | Mutu Baku | Keterangan, one
/// table per printed page (see [`super::pages`]), each with the header, the breaks joined by
/// off-page connectors.
fn write_flowchart(out: &mut String, document: &SopDocument) {
    let edges = edges(document);
    let mut grid = grid::layout(document, &edges);
    let pagination = pages::paginate(document, &mut grid);
    let pages_count = pagination.starts.len().max(1);
    for page in 0..pages_count {
        let rows = if pagination.starts.is_empty() {
            0..0
        } else {
            pagination.rows(page, grid.order.len())
        };
        write_flow_page(
            out,
            document,
            &grid,
            &pagination,
            FlowPage {
                number: page + 1,
                of: pages_count,
                rows,
                arrows: edges.len(),
            },
        );
    }
}

struct FlowPage {
    number: usize,
    of: usize,
    rows: std::ops::Range<usize>,
    arrows: usize,
}

fn write_flow_page(
    out: &mut String,
    document: &SopDocument,
    grid: &Grid,
    pagination: &pages::Pagination,
    page: FlowPage,
) {
    let actors = document.actors.len();
    let _ = write!(
        out,
        "<section class=\"page flow-page\" data-page=\"{}\">\n<h2 class=\"flow-title\">SOP {}",
        page.number,
        escape(&document.header.title)
    );
    if page.of > 1 {
        let _ = write!(
            out,
            " <span class=\"page-number\">(halaman {} dari {})</span>",
            page.number, page.of
        );
    }
    out.push_str("</h2>\n");
    let _ = writeln!(
        out,
        "<table class=\"flow\" data-steps=\"{}\" data-arrows=\"{}\" data-rows=\"{}\">",
        document.steps.len(),
        page.arrows,
        page.rows.len()
    );
    write_column_widths(out, actors);
    out.push_str(
        "<thead>\n<tr><th class=\"no\" rowspan=\"2\">No</th><th rowspan=\"2\">Uraian Kegiatan</th>",
    );
    let _ = write!(
        out,
        "<th colspan=\"{}\">Pelaksana</th><th colspan=\"3\">Mutu Baku</th><th rowspan=\"2\">Keterangan</th></tr>\n<tr>",
        actors.max(1)
    );
    for actor in &document.actors {
        let _ = write!(
            out,
            "<th class=\"actor-name\" data-actor=\"{}\">{}</th>",
            escape(&actor.id),
            escape(&actor.name)
        );
    }
    if actors == 0 {
        out.push_str("<th></th>");
    }
    out.push_str(
        "<th>Kelengkapan</th><th class=\"waktu\">Waktu</th><th>Output</th></tr>\n</thead>\n<tbody>\n",
    );

    for table_row in page.rows.clone() {
        let step_index = grid.order[table_row];
        let step = &document.steps[step_index];
        let _ = write!(
            out,
            "<tr data-step=\"{}\" data-row=\"{}\">",
            escape(&step.id),
            step.row
        );
        // A page's first row shows its number even when it continues the row above.
        let first_of_row = table_row == page.rows.start
            || document.steps[grid.order[table_row - 1]].row != step.row;
        // Steps sharing a row look like one merged No. cell, but without `rowspan`, which
        // would keep the whole group on one printed page.
        if first_of_row {
            let _ = write!(out, "<td class=\"no\">{}</td>", step.row);
        } else {
            out.push_str("<td class=\"no continued\"></td>");
        }
        match &step.activity {
            Some(activity) => {
                let _ = write!(out, "<td class=\"activity\">{}</td>", escape(activity));
            }
            None => {
                let _ = write!(
                    out,
                    "<td class=\"activity sub-step\">{}</td>",
                    escape(&step.name)
                );
            }
        }
        for (column, actor) in document.actors.iter().enumerate() {
            let connectors: Vec<(&pages::Connector, bool)> = pagination
                .connectors
                .iter()
                .filter(|c| c.column == column)
                .filter_map(|c| {
                    if c.boundary == table_row + 1 && table_row + 1 == page.rows.end {
                        Some((c, true))
                    } else if c.boundary == table_row && table_row == page.rows.start {
                        Some((c, false))
                    } else {
                        None
                    }
                })
                .collect();
            write_actor_cell(
                out,
                document,
                grid,
                table_row,
                column,
                &actor.id,
                &connectors,
            );
        }
        if actors == 0 {
            out.push_str("<td class=\"actor\"></td>");
        }
        write_quality_cells(out, document, step);
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n");
    // The SOP's total time, under the Waktu column, when the SOP declares one: on the last page.
    if let (Some(total), true) = (document.total_budget, page.number == page.of) {
        let before_waktu = 2 + actors.max(1) + 1;
        let _ = writeln!(
            out,
            "<tfoot><tr class=\"total\"><td colspan=\"{before_waktu}\">Jumlah waktu</td><td class=\"waktu\">{}</td><td colspan=\"2\"></td></tr></tfoot>",
            escape(&total.to_indonesian())
        );
    }
    out.push_str("</table>\n</section>\n");
}

/// The widths of [`pages::column_widths`], which the row height estimate also uses.
fn write_column_widths(out: &mut String, actors: usize) {
    out.push_str("<colgroup>");
    for (i, width) in pages::column_widths(actors).into_iter().enumerate() {
        let is_actor = i >= 2 && i < 2 + actors.max(1);
        if is_actor {
            let _ = write!(
                out,
                "<col class=\"actor-column\" style=\"width:{width:.2}%\">"
            );
        } else {
            let _ = write!(out, "<col style=\"width:{width:.2}%\">");
        }
    }
    out.push_str("</colgroup>\n");
}

fn write_actor_cell(
    out: &mut String,
    document: &SopDocument,
    grid: &Grid,
    row: usize,
    column: usize,
    actor_id: &str,
    connectors: &[(&pages::Connector, bool)],
) {
    let cell = grid.cell(row, column);
    let _ = write!(
        out,
        "<td class=\"actor\" data-actor=\"{}\" style=\"height:{}px\">",
        escape(actor_id),
        grid.min_height(row)
    );
    if cell != &Cell::default() || !connectors.is_empty() {
        // The outer SVG fills the cell; the inner one puts the origin at the cell's centre and
        // makes ±100% its edges.
        out.push_str("<svg class=\"drawing\" aria-hidden=\"true\" focusable=\"false\"><svg x=\"50%\" y=\"50%\" width=\"50%\" height=\"50%\" overflow=\"visible\">");
        for line in &cell.lines {
            let _ = write!(
                out,
                "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"",
                len(line.x1),
                len(line.y1),
                len(line.x2),
                len(line.y2)
            );
            if line.arrowhead {
                out.push_str(" class=\"arrow-end\" marker-end=\"url(#arrowhead)\"");
            }
            out.push_str("/>");
        }
        if let Some((step_index, symbol)) = cell.symbol {
            write_symbol(out, &document.steps[step_index], symbol);
        }
        for label in &cell.labels {
            let anchor = match label.anchor {
                Anchor::Start => "start",
                Anchor::End => "end",
            };
            for (i, text) in label.lines.iter().enumerate() {
                let _ = write!(
                    out,
                    "<text class=\"branch-label\" x=\"{}%\" y=\"{}\" text-anchor=\"{anchor}\">{}</text>",
                    label.x,
                    label.y + i as i32 * LABEL_LINE_HEIGHT,
                    escape(text)
                );
            }
        }
        for (connector, at_bottom) in connectors {
            write_connector(out, connector, *at_bottom);
        }
        out.push_str("</svg></svg>");
    }
    out.push_str("</td>");
}

fn write_symbol(out: &mut String, step: &Step, symbol: Symbol) {
    let half_height = symbol.half_height();
    let common = format!(
        "class=\"symbol\" data-step=\"{}\" data-symbol=\"{}\" x=\"{}%\" y=\"{}\" width=\"{}%\" height=\"{}\"",
        escape(&step.id),
        symbol.name(),
        -SYMBOL_HALF_WIDTH,
        -half_height,
        2 * SYMBOL_HALF_WIDTH,
        2 * half_height
    );
    let title = format!("<title>{}</title>", escape(&step.name));
    let _ = match symbol {
        Symbol::Terminator => write!(out, "<rect {common} rx=\"{half_height}\">{title}</rect>"),
        Symbol::Process => write!(out, "<rect {common}>{title}</rect>"),
        // A nested SVG stretches the diamond to the column's width without distorting the
        // stroke.
        Symbol::Decision => write!(
            out,
            "<svg {common} viewBox=\"0 0 100 100\" preserveAspectRatio=\"none\" overflow=\"visible\">{title}<polygon points=\"50,0 100,50 50,100 0,50\" vector-effect=\"non-scaling-stroke\"/></svg>"
        ),
    };
}

/// The off-page connector (a pentagon pointing down, the flow's direction on paper) at the
/// bottom or top edge of the cell, over the line it interrupts; labelled with its letter.
fn write_connector(out: &mut String, connector: &pages::Connector, at_bottom: bool) {
    let h = pages::CONNECTOR_HEIGHT;
    let w = 8;
    let (edge, top) = if at_bottom { (100, -h) } else { (-100, 0) };
    let shoulder = top + h * 3 / 5;
    let _ = write!(
        out,
        "<svg class=\"connector\" data-connector=\"{label}\" data-side=\"{side}\" x=\"{x}%\" y=\"{edge}%\" overflow=\"visible\"><polygon points=\"-{w},{top} {w},{top} {w},{shoulder} 0,{tip} -{w},{shoulder}\"/><text x=\"0\" y=\"{text_y}\" text-anchor=\"middle\">{label}</text></svg>",
        label = escape(&connector.label),
        side = if at_bottom { "bottom" } else { "top" },
        x = connector.x,
        tip = top + h,
        text_y = top + 8,
    );
}

/// Mutu Baku (Kelengkapan, Waktu, Output) and Keterangan.
fn write_quality_cells(out: &mut String, document: &SopDocument, step: &Step) {
    // Each document by name; one required only on a condition says so in italics.
    let documents: Vec<String> = step
        .documents
        .iter()
        .map(|id| match document.document(id) {
            Some(d) => match &d.required_when {
                Some(when) => format!(
                    "{} <span class=\"condition\">(jika {})</span>",
                    escape(&d.name),
                    escape(&condition_words(when))
                ),
                None => escape(&d.name),
            },
            None => escape(id),
        })
        .collect();
    let _ = write!(
        out,
        "<td class=\"kelengkapan\">{}</td>",
        documents.join(", ")
    );
    let _ = write!(
        out,
        "<td class=\"waktu\">{}</td>",
        step.budget
            .map(|b| escape(&b.to_indonesian()))
            .unwrap_or_default()
    );
    let _ = write!(
        out,
        "<td class=\"output\">{}</td>",
        step.output.as_deref().map(escape).unwrap_or_default()
    );
    let _ = write!(
        out,
        "<td class=\"keterangan\">{}</td>",
        step.note.as_deref().map(escape).unwrap_or_default()
    );
}

/// A document's condition as the paper form says it: `alasan == "hilang"` is "hilang",
/// `a == "x" || a == "rusak_berat"` is "x atau rusak berat"; any other expression as written.
pub(crate) fn condition_words(when: &str) -> String {
    let value = |term: &str| -> Option<String> {
        let (name, value) = term.split_once("==")?;
        let name = name.trim();
        let value = value.trim();
        let quoted = value.len() >= 2
            && ((value.starts_with('"') && value.ends_with('"'))
                || (value.starts_with('\'') && value.ends_with('\'')));
        let ident = !name.is_empty()
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.');
        let inner = value.get(1..value.len() - 1)?;
        (quoted && ident && !inner.contains(['"', '\''])).then(|| inner.replace('_', " "))
    };
    when.split("||")
        .map(value)
        .collect::<Option<Vec<_>>>()
        .map_or_else(|| when.trim().to_owned(), |v| v.join(" atau "))
}

fn len(value: Len) -> String {
    match value {
        Len::Pct(p) => format!("{p}%"),
        Len::Px(p) => p.to_string(),
    }
}

/// Text for HTML content and double- or single-quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// A placeholder for the issuer's logo (Garuda / regency arms), drawn so nothing is fetched.
const LOGO: &str = concat!(
    "<svg class=\"logo\" viewBox=\"0 0 56 64\" role=\"img\" aria-label=\"Logo\">",
    "<path d=\"M4 4 H52 V36 C52 50 40 58 28 62 C16 58 4 50 4 36 Z\" fill=\"none\" stroke=\"#000\" stroke-width=\"2\"/>",
    "<text x=\"28\" y=\"36\" text-anchor=\"middle\" font-size=\"10\" font-family=\"sans-serif\">LOGO</text></svg>"
);

#[cfg(test)]
mod tests {
    use super::condition_words;

    #[test]
    fn simple_conditions_read_as_their_values() {
        assert_eq!(condition_words("alasan == \"hilang\""), "hilang");
        assert_eq!(
            condition_words("alasan == \"perubahan_data\" || alasan == 'rusak'"),
            "perubahan data atau rusak"
        );
        assert_eq!(condition_words("umur >= 17"), "umur >= 17");
        assert_eq!(
            condition_words("a == \"x\" && b == \"y\""),
            "a == \"x\" && b == \"y\""
        );
    }
}
