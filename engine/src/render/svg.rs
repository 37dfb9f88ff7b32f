//! The SOP's flowchart as one standalone SVG drawing, for pages that show it without script
//! (no Mermaid in the browser, no Graphviz on the server).
//!
//! It is drawn from the same layout as the official table ([`super::grid`]): one swimlane per
//! actor (Pelaksana), one band per step in table order, the step's symbol in its actor's lane
//! with its name inside (capsule for the first and the end steps, box for an activity,
//! diamond for a step that chooses), arrows routed around the symbols, loops back up along
//! the lanes' margins, branch labels beside their ports. Unlike the table, here every size is
//! known: lanes are [`LANE_WIDTH`] wide and a band is the grid's least row height scaled by
//! [`SCALE`], so the grid's cell-relative pieces become absolute coordinates. The drawing
//! has a `viewBox`, so a page scales it to its width, on screen and on A4 landscape.
//!
//! Only presentation attributes style it (no `style` attribute or element), so a page's
//! Content-Security-Policy without `'unsafe-inline'` shows it as drawn. Every text of the SOP
//! is escaped.

use std::fmt::Write as _;

use super::grid::{self, Anchor, Grid, LABEL_LINE_HEIGHT, Len, SYMBOL_HALF_WIDTH, Symbol};
use super::html::escape;
use super::pages;
use super::{edges, wrap};
use crate::sop::model::SopDocument;

/// Width of one actor's lane, px.
pub const LANE_WIDTH: i32 = 220;
/// How much larger than in the table's cells the grid's pixel lengths (all vertical) are
/// drawn, as a fraction: the symbols carry the step names here.
const SCALE: (i32, i32) = (3, 2);
/// The column of row numbers on the left, the title and the lane headers, px.
const NUMBER_WIDTH: i32 = 36;
const TITLE_HEIGHT: i32 = 30;
const HEADER_HEIGHT: i32 = 34;
/// Step names inside symbols: characters per line (boxes; diamonds take fewer) and at most
/// this many lines (the full name is the symbol's tooltip).
const NAME_WIDTH: usize = 22;
const NAME_LINES: usize = 2;
const FONT: &str = "DejaVu Sans, Arial, Helvetica, sans-serif";

/// The flowchart of `document` as an `<svg>` element (no XML prolog: it is meant to be
/// embedded in a page, or saved as an `.svg` file as it is).
pub fn svg(document: &SopDocument) -> String {
    let edges = edges(document);
    let grid = grid::layout(document, &edges);
    let rows = 0..grid.order.len();
    draw(
        document,
        &grid,
        edges.len(),
        Part {
            id: "flowchart".to_owned(),
            rows,
            page: None,
            connectors: Vec::new(),
        },
    )
}

/// Printed width of an A4 landscape page less its margins, px (96 per inch), and the height
/// a drawing may take on it under the page's heading.
const PRINT_WIDTH: i32 = 1047;
const PRINT_HEIGHT: i32 = 640;

/// The flowchart cut into drawings that each fit one A4 landscape page when printed at the
/// page's width (or their own, if narrower), every one with the lane headers, the bands in
/// table order, and off-page connectors (A, B, …, as in the official table) where a flow line
/// crosses from one page to the next. One drawing when it all fits.
pub fn svg_pages(document: &SopDocument) -> Vec<String> {
    let edges = edges(document);
    let mut grid = grid::layout(document, &edges);
    let lanes = document.actors.len().max(1) as i32;
    let width = NUMBER_WIDTH + lanes * LANE_WIDTH;
    // The drawing is printed at most PRINT_WIDTH wide: its own units per printed px.
    let budget = PRINT_HEIGHT * width.max(PRINT_WIDTH) / PRINT_WIDTH - TITLE_HEIGHT - HEADER_HEIGHT;
    // Room for the connectors: a page's first and last rows may each grow at both edges.
    let budget = budget - 2 * scaled(2 * pages::CONNECTOR_ROOM);
    let mut starts = Vec::new();
    let mut used = 0;
    for row in 0..grid.order.len() {
        let height = scaled(grid.min_height(row));
        if starts.is_empty() || (used > 0 && used + height > budget) {
            starts.push(row);
            used = 0;
        }
        used += height;
    }
    if starts.is_empty() {
        return vec![svg(document)];
    }
    let connectors = pages::connect(&mut grid, &starts);
    let of = starts.len();
    (0..of)
        .map(|page| {
            let rows = starts[page]..starts.get(page + 1).copied().unwrap_or(grid.order.len());
            let here = connectors
                .iter()
                .filter_map(|c| {
                    if c.boundary == rows.end {
                        Some((c.clone(), true))
                    } else if c.boundary == rows.start {
                        Some((c.clone(), false))
                    } else {
                        None
                    }
                })
                .collect();
            draw(
                document,
                &grid,
                edges.len(),
                Part {
                    id: format!("flowchart-page-{}", page + 1),
                    rows,
                    page: Some((page + 1, of)),
                    connectors: here,
                },
            )
        })
        .collect()
}

/// What one drawing shows: table rows `rows`, which page of how many, the connectors at its
/// bottom (`true`) and top edges; `id` keeps its ids apart from other drawings on a page.
struct Part {
    id: String,
    rows: std::ops::Range<usize>,
    page: Option<(usize, usize)>,
    connectors: Vec<(pages::Connector, bool)>,
}

fn draw(document: &SopDocument, grid: &Grid, arrows: usize, part: Part) -> String {
    let Part {
        id,
        rows,
        page,
        connectors,
    } = part;
    let lanes = document.actors.len().max(1) as i32;
    let width = NUMBER_WIDTH + lanes * LANE_WIDTH;
    let top = TITLE_HEIGHT + HEADER_HEIGHT;
    // Each band's top, px, by table row.
    let mut band_tops = vec![0; grid.order.len()];
    let mut y = top;
    for row in rows.clone() {
        band_tops[row] = y;
        y += scaled(grid.min_height(row));
    }
    let height = y + 1;
    let title = match page {
        Some((n, of)) => format!("SOP {} (halaman {n} dari {of})", document.header.title),
        None => format!("SOP {}", document.header.title),
    };

    let mut out = String::new();
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"sop-flowchart\" viewBox=\"0 0 {width} {height}\" \
         width=\"{width}\" height=\"{height}\" role=\"img\" aria-labelledby=\"{id}-title\" \
         font-family=\"{FONT}\" data-steps=\"{}\" data-arrows=\"{arrows}\">",
        document.steps.len(),
    );
    let _ = write!(
        out,
        "<title id=\"{id}-title\">Bagan alir {}</title>",
        escape(&title)
    );
    let _ = write!(
        out,
        "<defs><marker id=\"{id}-arrowhead\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" \
         markerWidth=\"9\" markerHeight=\"9\" markerUnits=\"userSpaceOnUse\" orient=\"auto\">\
         <path d=\"M0,0 L10,5 L0,10 z\" fill=\"#000\"/></marker></defs>"
    );
    let _ = write!(
        out,
        "<rect x=\"0\" y=\"0\" width=\"{width}\" height=\"{height}\" fill=\"#fff\"/>\
         <text x=\"{}\" y=\"20\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">{}</text>",
        width / 2,
        escape(&title)
    );
    // The lanes: headers, borders, the row numbers.
    let _ = write!(
        out,
        "<g class=\"lanes\" fill=\"none\" stroke=\"#000\" stroke-width=\"1\">\
         <rect x=\"0.5\" y=\"{TITLE_HEIGHT}.5\" width=\"{}\" height=\"{}\"/>\
         <line x1=\"0\" y1=\"{top}.5\" x2=\"{width}\" y2=\"{top}.5\"/>",
        width - 1,
        height - TITLE_HEIGHT - 1
    );
    for lane in 0..lanes {
        let x = NUMBER_WIDTH + lane * LANE_WIDTH;
        let _ = write!(
            out,
            "<line x1=\"{x}.5\" y1=\"{TITLE_HEIGHT}\" x2=\"{x}.5\" y2=\"{height}\"/>"
        );
    }
    out.push_str("</g>");
    out.push_str(
        "<g class=\"lane-names\" font-size=\"11\" font-weight=\"bold\" text-anchor=\"middle\">",
    );
    for (lane, actor) in document.actors.iter().enumerate() {
        let centre = NUMBER_WIDTH + lane as i32 * LANE_WIDTH + LANE_WIDTH / 2;
        let lines = wrap(&actor.name, 30);
        let first = TITLE_HEIGHT + HEADER_HEIGHT / 2 + 4 - (lines.len().min(2) as i32 - 1) * 6;
        let _ = write!(
            out,
            "<text data-actor=\"{}\" x=\"{centre}\" y=\"{first}\">",
            escape(&actor.id)
        );
        for (i, line) in lines.iter().take(2).enumerate() {
            let _ = write!(
                out,
                "<tspan x=\"{centre}\" dy=\"{}\">{}</tspan>",
                if i == 0 { 0 } else { 12 },
                escape(line)
            );
        }
        out.push_str("</text>");
    }
    out.push_str(
        "</g><g class=\"row-numbers\" font-size=\"10\" text-anchor=\"middle\" fill=\"#555\">",
    );
    let mut previous_row = None;
    for row in rows.clone() {
        let number = document.steps[grid.order[row]].row;
        if previous_row != Some(number) {
            let _ = write!(
                out,
                "<text x=\"{}\" y=\"{}\">{number}</text>",
                NUMBER_WIDTH / 2,
                band_tops[row] + 14
            );
        }
        previous_row = Some(number);
    }
    out.push_str("</g>");

    let geometry = Geometry {
        grid,
        band_tops: &band_tops,
    };
    // Arrows first, so the symbols (filled white) sit over the ends they meet.
    out.push_str("<g class=\"arrows\" stroke=\"#000\" stroke-width=\"1.3\" fill=\"none\">");
    for row in rows.clone() {
        for column in 0..grid.columns {
            for line in &grid.cell(row, column).lines {
                let (x1, y1) = geometry.point(row, column, line.x1, line.y1);
                let (x2, y2) = geometry.point(row, column, line.x2, line.y2);
                let _ = write!(out, "<line x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\"");
                if line.arrowhead {
                    let _ = write!(
                        out,
                        " class=\"arrow-end\" marker-end=\"url(#{id}-arrowhead)\""
                    );
                }
                out.push_str("/>");
            }
        }
    }
    out.push_str("</g><g class=\"symbols\">");
    for row in rows.clone() {
        for column in 0..grid.columns {
            if let Some((step_index, symbol)) = grid.cell(row, column).symbol {
                write_symbol(
                    &mut out, document, &geometry, row, column, step_index, symbol,
                );
            }
        }
    }
    out.push_str("</g><g class=\"branch-labels\" font-size=\"10\">");
    for row in rows.clone() {
        for column in 0..grid.columns {
            for label in &grid.cell(row, column).labels {
                let (x, y) = geometry.point(row, column, Len::Pct(label.x), Len::Px(label.y));
                let anchor = match label.anchor {
                    Anchor::Start => "start",
                    Anchor::End => "end",
                };
                for (i, text) in label.lines.iter().enumerate() {
                    let _ = write!(
                        out,
                        "<text class=\"branch-label\" x=\"{x}\" y=\"{}\" text-anchor=\"{anchor}\" \
                         stroke=\"#fff\" stroke-width=\"3\" paint-order=\"stroke\">{}</text>",
                        y + scaled(i as i32 * LABEL_LINE_HEIGHT),
                        escape(text)
                    );
                }
            }
        }
    }
    out.push_str("</g>");
    for (connector, at_bottom) in &connectors {
        write_connector(&mut out, &geometry, connector, *at_bottom);
    }
    out.push_str("</svg>\n");
    out
}

/// The off-page connector, as in the official table: a pentagon pointing down at the edge
/// of the band, over the line it interrupts, with its letter.
fn write_connector(
    out: &mut String,
    geometry: &Geometry<'_>,
    connector: &pages::Connector,
    at_bottom: bool,
) {
    let (row, edge) = if at_bottom {
        (connector.boundary - 1, 100)
    } else {
        (connector.boundary, -100)
    };
    let (x, y) = geometry.point(row, connector.column, Len::Pct(connector.x), Len::Pct(edge));
    let h = scaled(pages::CONNECTOR_HEIGHT);
    let w = 11;
    let top = if at_bottom { y - h } else { y };
    let shoulder = top + h * 3 / 5;
    let _ = write!(
        out,
        "<g class=\"connector\" data-connector=\"{label}\" data-side=\"{side}\">\
         <polygon points=\"{l},{top} {r},{top} {r},{shoulder} {x},{tip} {l},{shoulder}\" fill=\"#fff\" stroke=\"#000\" stroke-width=\"1.3\"/>\
         <text x=\"{x}\" y=\"{ty}\" text-anchor=\"middle\" font-size=\"10\" font-weight=\"bold\">{label}</text></g>",
        label = escape(&connector.label),
        side = if at_bottom { "bottom" } else { "top" },
        l = x - w,
        r = x + w,
        tip = top + h,
        ty = top + 11,
    );
}

fn scaled(px: i32) -> i32 {
    px * SCALE.0 / SCALE.1
}

/// Where the grid's cell-relative lengths are on the drawing.
struct Geometry<'a> {
    grid: &'a Grid,
    band_tops: &'a [i32],
}

impl Geometry<'_> {
    fn point(&self, row: usize, column: usize, x: Len, y: Len) -> (i32, i32) {
        let centre_x = NUMBER_WIDTH + column as i32 * LANE_WIDTH + LANE_WIDTH / 2;
        let half = scaled(self.grid.half_height(row));
        let centre_y = self.band_tops[row] + half;
        let x = match x {
            Len::Pct(p) => centre_x + p * (LANE_WIDTH / 2) / 100,
            Len::Px(p) => centre_x + scaled(p),
        };
        let y = match y {
            Len::Pct(p) => centre_y + p * half / 100,
            Len::Px(p) => centre_y + scaled(p),
        };
        (x, y)
    }
}

fn write_symbol(
    out: &mut String,
    document: &SopDocument,
    geometry: &Geometry<'_>,
    row: usize,
    column: usize,
    step_index: usize,
    symbol: Symbol,
) {
    let step = &document.steps[step_index];
    let (cx, cy) = geometry.point(row, column, Len::Pct(0), Len::Px(0));
    let half_w = SYMBOL_HALF_WIDTH * (LANE_WIDTH / 2) / 100;
    let half_h = scaled(symbol.half_height());
    let _ = write!(
        out,
        "<g class=\"step\" data-step=\"{}\" data-symbol=\"{}\"><title>{}</title>",
        escape(&step.id),
        symbol.name(),
        escape(&step.name)
    );
    let paint = "fill=\"#fff\" stroke=\"#000\" stroke-width=\"1.5\"";
    let (left, top) = (cx - half_w, cy - half_h);
    let _ = match symbol {
        Symbol::Terminator => write!(
            out,
            "<rect x=\"{left}\" y=\"{top}\" width=\"{}\" height=\"{}\" rx=\"{half_h}\" {paint}/>",
            2 * half_w,
            2 * half_h
        ),
        Symbol::Process => write!(
            out,
            "<rect x=\"{left}\" y=\"{top}\" width=\"{}\" height=\"{}\" {paint}/>",
            2 * half_w,
            2 * half_h
        ),
        Symbol::Decision => write!(
            out,
            "<polygon points=\"{cx},{top} {},{cy} {cx},{} {left},{cy}\" {paint}/>",
            cx + half_w,
            cy + half_h
        ),
    };
    // The diamond's middle is narrower and shorter than a box.
    let (per_line, font, line_height) = match symbol {
        Symbol::Decision => (NAME_WIDTH * 2 / 3, 9, 10),
        _ => (NAME_WIDTH, 10, 12),
    };
    let mut lines = wrap(&step.name, per_line);
    if lines.len() > NAME_LINES {
        lines.truncate(NAME_LINES);
        if let Some(last) = lines.last_mut() {
            last.push('…');
        }
    }
    let count = lines.len() as i32;
    let first = cy - (count - 1) * line_height / 2 + font / 3;
    let _ = write!(
        out,
        "<text x=\"{cx}\" y=\"{first}\" font-size=\"{font}\" text-anchor=\"middle\">"
    );
    for (i, line) in lines.iter().enumerate() {
        let _ = write!(
            out,
            "<tspan x=\"{cx}\" dy=\"{}\">{}</tspan>",
            if i == 0 { 0 } else { line_height },
            escape(line)
        );
    }
    out.push_str("</text></g>");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> SopDocument {
        crate::sop::load(text).unwrap().document().clone()
    }

    const SHIPPED: [&str; 4] = [
        include_str!("../../../sop-definitions/ktp-el.yaml"),
        include_str!("../../../sop-definitions/kartu-keluarga.yaml"),
        include_str!("../../../sop-definitions/akta-kelahiran.yaml"),
        include_str!("../../../sop-definitions/akta-kematian.yaml"),
    ];

    /// Every element that opens also closes (or closes itself).
    fn balanced(svg: &str) -> Result<(), String> {
        let mut stack: Vec<&str> = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            let end = rest[start..].find('>').ok_or("unclosed tag")? + start;
            let tag = &rest[start + 1..end];
            if let Some(name) = tag.strip_prefix('/') {
                match stack.pop() {
                    Some(open) if open == name => {}
                    other => return Err(format!("</{name}> closes {other:?}")),
                }
            } else if !tag.ends_with('/') {
                let name = tag.split_whitespace().next().unwrap_or("");
                stack.push(name);
            }
            rest = &rest[end + 1..];
        }
        if stack.is_empty() {
            Ok(())
        } else {
            Err(format!("left open: {stack:?}"))
        }
    }

    #[test]
    fn every_shipped_sop_draws_its_steps_decisions_and_arrows() {
        for text in SHIPPED {
            let document = load(text);
            let drawing = svg(&document);
            assert!(drawing.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
            assert_eq!(balanced(&drawing), Ok(()), "{}", document.id);
            // One symbol per step, a diamond for each that chooses.
            assert_eq!(
                drawing.matches("<g class=\"step\"").count(),
                document.steps.len(),
                "{}",
                document.id
            );
            let choosing = document
                .steps
                .iter()
                .filter(|s| super::super::has_choice(s))
                .count();
            assert_eq!(
                drawing.matches("data-symbol=\"decision\"").count(),
                choosing
            );
            assert_eq!(drawing.matches("<polygon").count(), choosing);
            // One arrowhead per arrow.
            assert_eq!(
                drawing
                    .matches("marker-end=\"url(#flowchart-arrowhead)\"")
                    .count(),
                edges(&document).len(),
                "{}",
                document.id
            );
            // Every actor heads a lane; every step's name is its tooltip.
            for actor in &document.actors {
                assert!(drawing.contains(&format!("data-actor=\"{}\"", escape(&actor.id))));
            }
            for step in &document.steps {
                assert!(drawing.contains(&format!("<title>{}</title>", escape(&step.name))));
            }
            // No styling a strict CSP would drop, nothing fetched, no script.
            for forbidden in [
                "style=",
                "<style",
                "<script",
                "href",
                "<image",
                "<foreignObject",
            ] {
                assert!(
                    !drawing.contains(forbidden),
                    "{forbidden} in {}",
                    document.id
                );
            }
        }
    }

    #[test]
    fn decisions_are_diamonds() {
        let document = load(SHIPPED[0]);
        let drawing = svg(&document);
        let start = drawing.find("data-step=\"verifikasi_berkas\"").unwrap();
        let group = &drawing[start..start + drawing[start..].find("</g>").unwrap()];
        assert!(group.contains("data-symbol=\"decision\""));
        assert!(group.contains("<polygon points="));
    }

    #[test]
    fn a_loop_back_is_drawn_upwards() {
        // KTP-el's check of the file can send it back to the first step, above it.
        let document = load(SHIPPED[0]);
        let drawing = svg(&document);
        let ups = drawing
            .split("<line ")
            .skip(1)
            .filter_map(|l| {
                let attr = |name: &str| -> Option<i32> {
                    let start = l.find(&format!("{name}=\""))? + name.len() + 2;
                    l[start..start + l[start..].find('"')?].parse().ok()
                };
                Some((attr("x1")?, attr("y1")?, attr("x2")?, attr("y2")?))
            })
            .filter(|(x1, y1, x2, y2)| x1 == x2 && y2 < y1)
            .count();
        assert!(ups > 0, "no line runs up");
    }

    #[test]
    fn step_labels_stay_text() {
        let mut document = load(SHIPPED[0]);
        document.steps[0].name = "<script>alert(\"x\")</script> & 'y'".into();
        document.actors[0].name = "<b>Pemohon</b>".into();
        document.header.title = "</svg><script>".into();
        if let Some(crate::sop::model::Next::Branches(b)) = document
            .steps
            .iter_mut()
            .find(|s| matches!(s.next, Some(crate::sop::model::Next::Branches(_))))
            .and_then(|s| s.next.as_mut())
        {
            b[0].label = Some("<i>ya</i>".into());
        }
        let drawing = svg(&document);
        assert!(!drawing.contains("<script"));
        assert!(!drawing.contains("<b>"));
        assert!(!drawing.contains("<i>"));
        assert!(drawing.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
        assert!(drawing.contains("&lt;b&gt;Pemohon&lt;/b&gt;"));
        assert!(drawing.contains("&lt;i&gt;ya&lt;/i&gt;"));
        assert_eq!(balanced(&drawing), Ok(()));
        assert_eq!(drawing.matches("</svg>").count(), 1);
    }

    #[test]
    fn long_names_are_cut_to_two_lines_with_the_whole_name_as_tooltip() {
        let mut document = load(SHIPPED[0]);
        let long = "kata ".repeat(40);
        document.steps[0].name = long.trim().to_owned();
        let drawing = svg(&document);
        let start = drawing
            .find(&format!("data-step=\"{}\"", document.steps[0].id))
            .unwrap();
        let group = &drawing[start..start + drawing[start..].find("</g>").unwrap()];
        assert_eq!(group.matches("<tspan").count(), NAME_LINES);
        assert!(group.contains('…'));
        assert!(group.contains(&format!("<title>{}</title>", long.trim())));
    }

    #[test]
    fn a_long_flowchart_prints_on_pages_joined_by_connectors() {
        let document = crate::render::pages::tests::long_sop(30);
        let drawings = svg_pages(&document);
        assert!(drawings.len() >= 2, "{} pages", drawings.len());
        let mut steps = 0;
        for (i, drawing) in drawings.iter().enumerate() {
            assert_eq!(balanced(drawing), Ok(()));
            assert!(drawing.contains(&format!("(halaman {} dari {})", i + 1, drawings.len())));
            assert!(drawing.contains(&format!("id=\"flowchart-page-{}-arrowhead\"", i + 1)));
            steps += drawing.matches("<g class=\"step\"").count();
            // Fits the page: at most PRINT_HEIGHT printed px tall at the printed width.
            let width = NUMBER_WIDTH + document.actors.len() as i32 * LANE_WIDTH;
            let height: i32 = {
                let at = drawing.find("height=\"").unwrap() + 8;
                drawing[at..at + drawing[at..].find('"').unwrap()]
                    .parse()
                    .unwrap()
            };
            let printed = height * PRINT_WIDTH.min(width) / width;
            assert!(printed <= PRINT_HEIGHT + 1, "page {i}: {printed}px");
        }
        assert_eq!(steps, document.steps.len(), "every step on one page");
        // Each label at the bottom of one page and the top of the next.
        let label_of = |d: &str, side: &str| -> Vec<String> {
            d.split("<g class=\"connector\" data-connector=\"")
                .skip(1)
                .filter(|g| {
                    g.contains(&format!("data-side=\"{side}\"")[..]) && g.find(side).unwrap() < 40
                })
                .map(|g| g[..g.find('"').unwrap()].to_owned())
                .collect()
        };
        for pair in drawings.windows(2) {
            let below = label_of(&pair[0], "bottom");
            assert!(!below.is_empty());
            assert_eq!(below, label_of(&pair[1], "top"));
        }
        assert!(label_of(&drawings[0], "top").is_empty());
        assert!(label_of(drawings.last().unwrap(), "bottom").is_empty());
    }

    #[test]
    fn a_short_flowchart_is_one_page_without_connectors() {
        let document = crate::render::pages::tests::long_sop(3);
        let drawings = svg_pages(&document);
        assert_eq!(drawings.len(), 1);
        assert!(!drawings[0].contains("class=\"connector\""));
    }

    #[test]
    fn unresolved_references_and_no_actors_draw_without_panicking() {
        let mut document = load(SHIPPED[0]);
        document.steps[0].actor = "nobody".into();
        document.steps[1].next = Some(crate::sop::model::Next::Step("nowhere".into()));
        let drawing = svg(&document);
        assert_eq!(balanced(&drawing), Ok(()));
        assert_eq!(
            drawing.matches("<g class=\"step\"").count(),
            document.steps.len() - 1
        );
        document.actors.clear();
        assert_eq!(balanced(&svg(&document)), Ok(()));
        assert!(svg_pages(&document).iter().all(|d| balanced(d).is_ok()));
        document.steps.clear();
        assert_eq!(svg_pages(&document).len(), 1);
    }

    #[test]
    fn the_drawing_grows_with_lanes_and_steps() {
        let document = load(SHIPPED[0]);
        let drawing = svg(&document);
        let width = NUMBER_WIDTH + document.actors.len() as i32 * LANE_WIDTH;
        assert!(drawing.contains(&format!("viewBox=\"0 0 {width} ")));
        let mut fewer = document.clone();
        fewer.actors.truncate(2);
        assert!(svg(&fewer).contains(&format!("viewBox=\"0 0 {} ", NUMBER_WIDTH + 2 * LANE_WIDTH)));
    }
}
