//! The flowchart table on paper: which table rows go on which A4 landscape page, and the
//! off-page connectors where a flow line crosses a page break.
//!
//! Rows per page are decided here, not by the browser, so that both sides of a break are
//! known when the page is written: each row's height is estimated as the larger of the
//! Pelaksana cells' least height (from [`super::grid`]) and the lines its text columns need
//! at their printed widths, with a generous width per character; pages are filled greedily up
//! to [`PAGE_ROWS_HEIGHT`]. The estimate errs high, so a page written here is never split
//! again by the browser.
//!
//! A vertical run that reaches the bottom edge of a page's last row continues at the top
//! edge of the next page's first row, at the same x in the same column (the grid cuts runs at
//! cell edges). Each such place gets one label, A, B, …, drawn as the PermenPAN-RB off-page
//! connector (a pentagon) on both sides of the break.

use super::grid::{Grid, Len};
use super::{one_line, wrap};
use crate::sop::model::{SopDocument, Step};

/// Height of table rows on one printed page, CSS px (96 per inch). A4 landscape less the
/// 10 mm margins is 190 mm, 718 px; the title, the two header rows (actor names up to three
/// lines), the total row and the section padding take up to 170 px; the rest leaves room for
/// the connectors' rows to grow and for the estimate to be wrong by a tenth.
pub(crate) const PAGE_ROWS_HEIGHT: i32 = 480;
/// Printed width of the table, px: 297 mm less the margins.
const PRINT_WIDTH: f64 = 1047.0;
/// Width per character at the table's 10 px font, px (DejaVu Sans averages under 6).
const CHAR_WIDTH: f64 = 6.2;
/// Line height of the table's text, px (10 px at 1.3), and a cell's padding and border.
const LINE_HEIGHT: i32 = 13;
const CELL_PADDING: i32 = 8;
/// How much a row next to a break grows at that edge so a connector fits beside what it
/// already draws, px; the connector itself is [`CONNECTOR_HEIGHT`] tall.
pub(crate) const CONNECTOR_ROOM: i32 = 18;
pub(crate) const CONNECTOR_HEIGHT: i32 = 15;

/// An off-page connector: a flow line crosses the break above table row `boundary` (the first
/// row of a page) in `column`, at `x` percent of half the column's width from its centre.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Connector {
    pub boundary: usize,
    pub column: usize,
    pub x: i32,
    pub label: String,
}

/// The table cut into printed pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pagination {
    /// The first table row of each page; the first is 0 (when there is any row).
    pub starts: Vec<usize>,
    pub connectors: Vec<Connector>,
}

impl Pagination {
    /// The table rows of page `page`.
    pub fn rows(&self, page: usize, total: usize) -> std::ops::Range<usize> {
        let start = self.starts[page];
        let end = self.starts.get(page + 1).copied().unwrap_or(total);
        start..end
    }
}

/// Column widths in percent of the table, in table order: No, Uraian Kegiatan, one per actor
/// (at least one), Kelengkapan, Waktu, Output, Keterangan. The Pelaksana columns share up to
/// half the width, the rest keep the proportions of the paper form.
pub(crate) fn column_widths(actors: usize) -> Vec<f64> {
    let actor_width = if actors == 0 {
        10.0
    } else {
        (50.0 / actors as f64).min(10.0)
    };
    let rest = 100.0 - actor_width * actors.max(1) as f64;
    // Wide enough for the headings "No" and "Waktu" on one line in print.
    let before = [4.0, 20.0];
    let after = [12.0, 7.0, 10.0, 10.0];
    let weight: f64 = before.iter().chain(after.iter()).sum();
    let mut widths: Vec<f64> = before.iter().map(|s| rest * s / weight).collect();
    widths.extend(std::iter::repeat_n(actor_width, actors.max(1)));
    widths.extend(after.iter().map(|s| rest * s / weight));
    widths
}

/// Lines `text` takes in a column `percent` of the printed table wide.
fn lines_needed(text: &str, percent: f64) -> i32 {
    let width = PRINT_WIDTH * percent / 100.0 - f64::from(CELL_PADDING + 2);
    let per_line = ((width / CHAR_WIDTH).floor() as usize).max(1);
    wrap(&one_line(text), per_line)
        .iter()
        // A word longer than the line is broken anywhere (`overflow-wrap: anywhere`).
        .map(|l| l.chars().count().div_ceil(per_line).max(1) as i32)
        .sum()
}

/// The plain text of a step's Kelengkapan cell, as long as the page writes it.
fn documents_text(document: &SopDocument, step: &Step) -> String {
    step.documents
        .iter()
        .map(|id| match document.document(id) {
            Some(d) => match &d.required_when {
                Some(when) => format!("{} (jika {})", d.name, super::html::condition_words(when)),
                None => d.name.clone(),
            },
            None => id.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The estimated printed height of table row `row`, px.
fn row_height(document: &SopDocument, grid: &Grid, row: usize, widths: &[f64]) -> i32 {
    let step = &document.steps[grid.order[row]];
    let actors = widths.len() - 6;
    let activity = step.activity.as_deref().unwrap_or(&step.name);
    let budget = step.budget.map(|b| b.to_indonesian()).unwrap_or_default();
    let texts: [(&str, f64); 5] = [
        (activity, widths[1]),
        (&documents_text(document, step), widths[2 + actors]),
        (&budget, widths[3 + actors]),
        (step.output.as_deref().unwrap_or(""), widths[4 + actors]),
        (step.note.as_deref().unwrap_or(""), widths[5 + actors]),
    ];
    let text = texts
        .iter()
        .map(|(t, w)| lines_needed(t, *w) * LINE_HEIGHT + CELL_PADDING)
        .max()
        .unwrap_or(0);
    text.max(grid.min_height(row))
}

/// Cuts `grid`'s rows into pages and finds the connectors; grows the rows beside each break
/// that has a connector so that it fits.
pub(crate) fn paginate(document: &SopDocument, grid: &mut Grid) -> Pagination {
    let rows = grid.order.len();
    let widths = column_widths(document.actors.len());
    let mut starts = Vec::new();
    let mut used = 0;
    for row in 0..rows {
        let height = row_height(document, grid, row, &widths);
        if starts.is_empty() || (used > 0 && used + height > PAGE_ROWS_HEIGHT) {
            starts.push(row);
            used = 0;
        }
        used += height;
    }

    let connectors = connect(grid, &starts);
    Pagination { starts, connectors }
}

/// The connectors at the breaks above `starts[1..]`, labelled in order; grows the rows beside
/// each break that has one, by [`CONNECTOR_ROOM`] at both edges.
pub(crate) fn connect(grid: &mut Grid, starts: &[usize]) -> Vec<Connector> {
    let mut connectors = Vec::new();
    for &boundary in starts.iter().skip(1) {
        let crossing = crossings(grid, boundary);
        if !crossing.is_empty() {
            for row in [boundary - 1, boundary] {
                let half = grid.half_height(row);
                grid.grow_half_height(row, half + CONNECTOR_ROOM);
            }
        }
        for (column, x) in crossing {
            let label = connector_label(connectors.len());
            connectors.push(Connector {
                boundary,
                column,
                x,
                label,
            });
        }
    }
    connectors
}

/// Where flow lines cross the edge above table row `boundary`: column and x of each vertical
/// run reaching the bottom of the row above, in column then x order.
fn crossings(grid: &Grid, boundary: usize) -> Vec<(usize, i32)> {
    let mut crossing: Vec<(usize, i32)> = Vec::new();
    let Some(above) = boundary.checked_sub(1) else {
        return crossing;
    };
    for column in 0..grid.columns {
        for line in &grid.cell(above, column).lines {
            let vertical = line.x1 == line.x2;
            let reaches_bottom = line.y1 == Len::Pct(100) || line.y2 == Len::Pct(100);
            if let (true, true, Len::Pct(x)) = (vertical, reaches_bottom, line.x1)
                && !crossing.contains(&(column, x))
            {
                crossing.push((column, x));
            }
        }
    }
    crossing.sort_unstable();
    crossing
}

/// A, B, …, Z, AA, AB, …: the labels of the connectors, in order.
pub(crate) fn connector_label(index: usize) -> String {
    let mut n = index + 1;
    let mut label = Vec::new();
    while n > 0 {
        let digit = (n - 1) % 26;
        label.push(b'A' + digit as u8);
        n = (n - 1) / 26;
    }
    label.reverse();
    String::from_utf8(label).unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::render::{edges, grid};
    use crate::sop::model::Next;

    fn load(text: &str) -> SopDocument {
        crate::sop::load(text).unwrap().document().clone()
    }

    /// A long chain over two actors that also loops from its last task back to its first:
    /// one line runs down across every break, another up.
    pub(crate) fn long_sop(steps: usize) -> SopDocument {
        let mut document = load(include_str!("../../../sop-definitions/ktp-el.yaml"));
        let template = document.steps[1].clone();
        let actors: Vec<String> = document.actors.iter().map(|a| a.id.clone()).collect();
        let end = document
            .steps
            .iter()
            .find(|s| s.kind == crate::sop::model::StepKind::End)
            .cloned()
            .unwrap();
        document.steps.clear();
        for i in 0..steps {
            let mut step = template.clone();
            step.id = format!("langkah_{i}");
            step.row = i as u32 + 1;
            step.actor = actors[i % 2].clone();
            step.activity = Some(format!("Kegiatan nomor {i}"));
            step.documents.clear();
            step.next = Some(Next::Step(format!("langkah_{}", i + 1)));
            document.steps.push(step);
        }
        let mut last = end;
        last.id = format!("langkah_{steps}");
        last.row = steps as u32 + 1;
        last.actor = actors[0].clone();
        document.steps.push(last);
        document.start = "langkah_0".into();
        // The second-to-last task may go back to the first.
        let back = steps - 1;
        document.steps[back].next = Some(Next::Branches(vec![
            crate::sop::model::Branch {
                to: format!("langkah_{}", steps),
                when: Some("true".into()),
                label: Some("Selesai".into()),
            },
            crate::sop::model::Branch {
                to: "langkah_0".into(),
                when: None,
                label: Some("Ulang".into()),
            },
        ]));
        document
    }

    fn paginated(document: &SopDocument) -> (Grid, Pagination) {
        let edges = edges(document);
        let mut grid = grid::layout(document, &edges);
        let pages = paginate(document, &mut grid);
        (grid, pages)
    }

    #[test]
    fn labels_run_a_to_z_then_aa() {
        assert_eq!(connector_label(0), "A");
        assert_eq!(connector_label(25), "Z");
        assert_eq!(connector_label(26), "AA");
        assert_eq!(connector_label(27), "AB");
    }

    #[test]
    fn column_widths_fill_the_table() {
        for actors in [0, 1, 3, 5, 8] {
            let widths = column_widths(actors);
            assert_eq!(widths.len(), 6 + actors.max(1));
            assert!((widths.iter().sum::<f64>() - 100.0).abs() < 1e-9);
        }
    }

    #[test]
    fn a_short_sop_is_one_page_without_connectors() {
        let document = long_sop(3);
        let (_, pages) = paginated(&document);
        assert_eq!(pages.starts, vec![0]);
        assert!(pages.connectors.is_empty());
    }

    #[test]
    fn a_long_sop_gets_matching_connectors_on_both_sides_of_each_break() {
        let document = long_sop(30);
        let (grid, pages) = paginated(&document);
        let fresh = grid::layout(&document, &edges(&document));
        assert!(pages.starts.len() >= 3, "{:?}", pages.starts);
        for &boundary in &pages.starts[1..] {
            let here: Vec<&Connector> = pages
                .connectors
                .iter()
                .filter(|c| c.boundary == boundary)
                .collect();
            // The chain down crosses every break; the loop back up (from table row 29) every
            // break above its source.
            let expected = if boundary <= 29 { 2 } else { 1 };
            assert_eq!(here.len(), expected, "break at {boundary}: {here:?}");
            for c in here {
                let below = grid.cell(boundary, c.column).lines.iter().any(|l| {
                    l.x1 == Len::Pct(c.x)
                        && l.x2 == Len::Pct(c.x)
                        && (l.y1 == Len::Pct(-100) || l.y2 == Len::Pct(-100))
                });
                assert!(below, "{c:?} does not continue on the next page");
                // The rows beside the break grew for the connector.
                for row in [boundary - 1, boundary] {
                    assert!(grid.min_height(row) >= fresh.min_height(row) + 2 * CONNECTOR_ROOM);
                }
            }
        }
        // Every label is used once, in order.
        let labels: Vec<&str> = pages.connectors.iter().map(|c| c.label.as_str()).collect();
        let expected: Vec<String> = (0..labels.len()).map(connector_label).collect();
        assert_eq!(labels, expected);
        // Each page fits its height.
        let widths = column_widths(document.actors.len());
        for page in 0..pages.starts.len() {
            let rows = pages.rows(page, grid.order.len());
            let height: i32 = rows
                .clone()
                .map(|r| row_height(&document, &grid, r, &widths))
                .sum();
            assert!(
                height <= PAGE_ROWS_HEIGHT + 2 * CONNECTOR_ROOM * 2 || rows.len() == 1,
                "page {page}: {height}px"
            );
        }
    }

    #[test]
    fn a_table_without_steps_is_one_empty_page() {
        let mut document = long_sop(3);
        document.steps.clear();
        let (_, pages) = paginated(&document);
        assert!(pages.starts.is_empty() && pages.connectors.is_empty());
        let html = crate::render::html(&document);
        assert_eq!(html.matches("<section class=\"page flow-page\"").count(), 1);
    }

    #[test]
    fn the_printed_table_has_each_connector_twice_and_each_page_its_header() {
        let document = long_sop(30);
        let html = crate::render::html(&document);
        let (_, pages) = paginated(&document);
        let sections = html.matches("<section class=\"page flow-page\"").count();
        assert_eq!(sections, pages.starts.len());
        assert_eq!(html.matches("<thead>").count(), sections);
        assert_eq!(
            html.matches("<th class=\"waktu\">Waktu</th>").count(),
            sections
        );
        for c in &pages.connectors {
            for side in ["bottom", "top"] {
                assert_eq!(
                    html.matches(&format!(
                        "data-connector=\"{}\" data-side=\"{side}\"",
                        c.label
                    ))
                    .count(),
                    1,
                    "{} {side}",
                    c.label
                );
            }
        }
    }

    #[test]
    fn a_long_activity_makes_its_row_taller() {
        let mut document = long_sop(3);
        let (grid, _) = paginated(&document);
        let widths = column_widths(document.actors.len());
        let short = row_height(&document, &grid, 0, &widths);
        document.steps[0].activity = Some("kata ".repeat(200));
        let (grid, _) = paginated(&document);
        assert!(row_height(&document, &grid, 0, &widths) > short * 4);
    }

    #[test]
    fn every_shipped_sop_paginates_with_matching_connectors() {
        for text in [
            include_str!("../../../sop-definitions/ktp-el.yaml"),
            include_str!("../../../sop-definitions/kartu-keluarga.yaml"),
            include_str!("../../../sop-definitions/akta-kelahiran.yaml"),
            include_str!("../../../sop-definitions/akta-kematian.yaml"),
        ] {
            let document = load(text);
            let (grid, pages) = paginated(&document);
            assert_eq!(pages.starts.first(), Some(&0));
            for c in &pages.connectors {
                assert!(pages.starts.contains(&c.boundary));
                let continues = grid
                    .cell(c.boundary, c.column)
                    .lines
                    .iter()
                    .any(|l| l.x1 == Len::Pct(c.x) && l.x2 == Len::Pct(c.x));
                assert!(continues, "{}: {c:?}", document.id);
            }
        }
    }
}
