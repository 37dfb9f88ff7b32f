//! Where the symbols and arrows of the official table go.
//!
//! The table has one row per step and one Pelaksana column per actor; a step's symbol sits in
//! the cell of its row and its actor's column. Row heights depend on how the browser wraps
//! the activity text, so nothing here knows them: every drawing is cut into per-cell pieces
//! whose vertical positions are either pixels from the cell's centre (symbols, ports, bands)
//! or the cell's top and bottom edges (±100% of half the cell). Each cell draws its pieces in
//! an SVG that fills it, so the arrows meet at the cell borders whatever the row heights are,
//! on screen and in print.
//!
//! Routing keeps arrows off other symbols with two facts: a row holds exactly one symbol, so
//! a horizontal run inside the source or target row crosses only empty cells; and vertical
//! runs go either down the centre of a column that is empty over the rows crossed, or along
//! a lane in a column's margin, beside the symbols.

use super::{Edge, has_choice};
use crate::sop::model::{SopDocument, StepKind};

/// The three symbols of PermenPAN-RB 35/2012 a step can be drawn with (the other two are the
/// arrow and the off-page connector).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Symbol {
    /// Capsule: the first step and the end steps.
    Terminator,
    /// Rectangle: an activity.
    Process,
    /// Diamond: a step that chooses between exits.
    Decision,
}

impl Symbol {
    pub fn name(self) -> &'static str {
        match self {
            Symbol::Terminator => "terminator",
            Symbol::Process => "process",
            Symbol::Decision => "decision",
        }
    }

    /// Half the symbol's height, in px.
    pub fn half_height(self) -> i32 {
        match self {
            Symbol::Decision => 17,
            Symbol::Terminator | Symbol::Process => 12,
        }
    }
}

/// Half a symbol's width, in percent of half the column width.
pub(crate) const SYMBOL_HALF_WIDTH: i32 = 58;
/// Distance from a symbol's top or bottom to the horizontal run above or below it, px.
const BAND_GAP: i32 = 10;
/// Lanes in a column's left and right margins, in percent of half the column width.
const LANE_OFFSETS: [i32; 3] = [70, 80, 90];
/// Characters per line of an arrow label.
const LABEL_WIDTH: usize = 16;
/// Half the height of a Pelaksana cell when nothing asks for more, px.
const DEFAULT_HALF_ROW: i32 = 34;
/// Line height of arrow labels, px.
pub(crate) const LABEL_LINE_HEIGHT: i32 = 9;

/// A length inside a cell, measured from the cell's centre.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Len {
    /// Percent of half the cell's width or height: ±100 are its edges.
    Pct(i32),
    /// Pixels.
    Px(i32),
}

/// A straight piece of an arrow inside one cell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Line {
    pub x1: Len,
    pub y1: Len,
    pub x2: Len,
    pub y2: Len,
    /// The arrow's last piece, which carries the arrowhead.
    pub arrowhead: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Anchor {
    Start,
    End,
}

/// A branch label next to the port an arrow leaves from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Label {
    /// Percent of half the cell width from the centre.
    pub x: i32,
    /// Baseline of the first line, px from the centre.
    pub y: i32,
    pub anchor: Anchor,
    pub lines: Vec<String>,
}

/// What one Pelaksana cell draws.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Cell {
    pub lines: Vec<Line>,
    /// The step drawn here (index into `document.steps`) and its symbol.
    pub symbol: Option<(usize, Symbol)>,
    pub labels: Vec<Label>,
}

/// The flowchart laid out on the table.
#[derive(Debug, Clone)]
pub(crate) struct Grid {
    /// The step of each table row, in table order.
    pub order: Vec<usize>,
    pub columns: usize,
    /// Row-major, `order.len() * columns` cells.
    cells: Vec<Cell>,
    /// Half the least height of each table row's Pelaksana cells, px: room for the labels.
    half_heights: Vec<i32>,
}

impl Grid {
    pub fn cell(&self, row: usize, column: usize) -> &Cell {
        &self.cells[row * self.columns + column]
    }

    /// The least height of a table row, px, so that its symbol and labels fit.
    pub fn min_height(&self, row: usize) -> i32 {
        2 * self.half_heights[row]
    }

    /// Makes table row `row` at least `half` px from its centre to each edge (room for an
    /// off-page connector at a page break); every drawing in it stays joined to its edges.
    pub fn grow_half_height(&mut self, row: usize, half: i32) {
        if let Some(h) = self.half_heights.get_mut(row) {
            *h = (*h).max(half);
        }
    }

    /// Half the least height of table row `row`, px.
    pub fn half_height(&self, row: usize) -> i32 {
        self.half_heights[row]
    }

    fn cell_mut(&mut self, row: usize, column: usize) -> &mut Cell {
        &mut self.cells[row * self.columns + column]
    }
}

/// A point of an arrow: column and percent of its half width; table row and px from its
/// centre.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Point {
    column: usize,
    x: i32,
    row: usize,
    y: i32,
}

impl Point {
    /// Position across the table in half-column-widths, to compare x between columns.
    fn across(self) -> i32 {
        self.column as i32 * 200 + self.x
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Port {
    Bottom,
    Left,
    Right,
}

/// Where each placed step is.
struct Placement {
    row: usize,
    column: usize,
    symbol: Symbol,
}

/// Lays out `document`'s steps and `edges` on the table.
pub(crate) fn layout(document: &SopDocument, edges: &[Edge<'_>]) -> Grid {
    let mut order: Vec<usize> = (0..document.steps.len()).collect();
    // Table order is the SOP's row order; steps of one row keep their order in the file.
    order.sort_by_key(|&i| document.steps[i].row);
    let columns = document.actors.len();
    let mut grid = Grid {
        order: order.clone(),
        columns,
        cells: vec![Cell::default(); order.len() * columns],
        half_heights: vec![DEFAULT_HALF_ROW; order.len()],
    };

    let mut placements: Vec<Option<Placement>> = (0..document.steps.len()).map(|_| None).collect();
    for (row, &step_index) in order.iter().enumerate() {
        let step = &document.steps[step_index];
        let Some(column) = document.actors.iter().position(|a| a.id == step.actor) else {
            continue;
        };
        let symbol = if has_choice(step) {
            Symbol::Decision
        } else if step.kind == StepKind::End || step.id == document.start {
            Symbol::Terminator
        } else {
            Symbol::Process
        };
        grid.cell_mut(row, column).symbol = Some((step_index, symbol));
        placements[step_index] = Some(Placement {
            row,
            column,
            symbol,
        });
    }

    let drawable: Vec<&Edge<'_>> = edges
        .iter()
        .filter(|e| placements[e.from].is_some() && placements[e.to].is_some())
        .collect();
    let ports = assign_ports(&placements, &drawable);
    let mut router = Router {
        grid: &mut grid,
        lanes: Vec::new(),
    };
    for (edge, &port) in drawable.iter().zip(&ports) {
        if let (Some(from), Some(to)) = (&placements[edge.from], &placements[edge.to]) {
            let exits_of_target: Vec<Port> = drawable
                .iter()
                .zip(&ports)
                .filter(|(e, _)| e.from == edge.to)
                .map(|(_, &p)| p)
                .collect();
            router.route(from, to, port, &exits_of_target, edge.label);
        }
    }
    grid
}

/// The port each edge leaves its step by. The bottom goes to the forward arrow that runs
/// straight down if there is one (else the first forward arrow); the others leave by the
/// side facing their target, or the free side.
fn assign_ports(placements: &[Option<Placement>], edges: &[&Edge<'_>]) -> Vec<Port> {
    let mut ports = vec![Port::Bottom; edges.len()];
    let mut sources: Vec<usize> = edges.iter().map(|e| e.from).collect();
    sources.dedup();
    for source in sources {
        let Some(from) = &placements[source] else {
            continue;
        };
        let outgoing: Vec<usize> = (0..edges.len())
            .filter(|&i| edges[i].from == source)
            .collect();
        let target = |i: usize| placements[edges[i].to].as_ref();
        let forward = |i: usize| target(i).is_some_and(|t| t.row > from.row);
        let straight_down = outgoing
            .iter()
            .copied()
            .find(|&i| target(i).is_some_and(|t| t.row == from.row + 1 && t.column == from.column));
        let bottom = straight_down.or_else(|| outgoing.iter().copied().find(|&i| forward(i)));
        let (mut left_used, mut right_used) = (false, false);
        let mut take_side = |prefer_right: bool| -> Port {
            match (prefer_right, left_used, right_used) {
                (true, _, false) | (false, true, false) => {
                    right_used = true;
                    Port::Right
                }
                (false, false, _) | (true, false, true) => {
                    left_used = true;
                    Port::Left
                }
                (_, true, true) => Port::Bottom,
            }
        };
        // Arrows to another column choose first: for them the side matters.
        let mut rest: Vec<usize> = outgoing
            .iter()
            .copied()
            .filter(|&i| Some(i) != bottom)
            .collect();
        rest.sort_by_key(|&i| target(i).is_some_and(|t| t.column == from.column));
        for i in rest {
            let prefer_right = target(i).is_none_or(|t| t.column >= from.column);
            ports[i] = take_side(prefer_right);
        }
    }
    ports
}

struct Router<'g> {
    grid: &'g mut Grid,
    /// Lanes taken: column, right side?, slot, and the table rows they span.
    lanes: Vec<(usize, bool, usize, usize, usize)>,
}

impl Router<'_> {
    fn route(
        &mut self,
        from: &Placement,
        to: &Placement,
        port: Port,
        exits_of_target: &[Port],
        label: Option<&str>,
    ) {
        let from_half = from.symbol.half_height();
        let to_half = to.symbol.half_height();
        let at = |column: usize, x: i32, row: usize, y: i32| Point { column, x, row, y };
        let start = match port {
            Port::Bottom => at(from.column, 0, from.row, from_half),
            Port::Right => at(from.column, SYMBOL_HALF_WIDTH, from.row, 0),
            Port::Left => at(from.column, -SYMBOL_HALF_WIDTH, from.row, 0),
        };
        let target_top = at(to.column, 0, to.row, -to_half);
        let forward = to.row > from.row;
        let target_centre_free = forward && self.column_free(to.column, from.row + 1, to.row);

        let mut points = vec![start];
        // The horizontal run below a bottom port.
        let band = from_half + BAND_GAP;
        let mut label_on_right = true;
        // Where a label beside a side port ends: past the lane if the arrow turns into one.
        let mut side_label_x = match port {
            Port::Left => -SYMBOL_HALF_WIDTH - 4,
            _ => SYMBOL_HALF_WIDTH + 4,
        };
        match port {
            Port::Bottom if forward && to.column == from.column && target_centre_free => {
                points.push(target_top);
            }
            Port::Bottom if forward && target_centre_free => {
                points.push(at(from.column, 0, from.row, band));
                points.push(at(to.column, 0, from.row, band));
                points.push(target_top);
                label_on_right = to.column < from.column;
            }
            Port::Right | Port::Left
                if forward
                    && target_centre_free
                    && ((port == Port::Right && to.column > from.column)
                        || (port == Port::Left && to.column < from.column)) =>
            {
                points.push(at(to.column, 0, from.row, 0));
                points.push(target_top);
            }
            _ => {
                let lane_on_right = match port {
                    Port::Right => true,
                    Port::Left => false,
                    Port::Bottom => to.column >= from.column,
                };
                label_on_right = !lane_on_right;
                let lane_x = self.take_lane(from.column, lane_on_right, from.row, to.row);
                side_label_x = if lane_on_right {
                    lane_x + 4
                } else {
                    lane_x - 4
                };
                let mut run_y = 0;
                if port == Port::Bottom {
                    points.push(at(from.column, 0, from.row, band));
                    run_y = band;
                }
                let lane = at(from.column, lane_x, from.row, run_y);
                points.push(lane);
                let enter_right = lane.across() > at(to.column, 0, to.row, 0).across();
                let side = if enter_right { Port::Right } else { Port::Left };
                if exits_of_target.contains(&side) {
                    // That side already has an arrow leaving: come in from the top instead.
                    let upper_band = -(to_half + BAND_GAP);
                    points.push(at(from.column, lane_x, to.row, upper_band));
                    points.push(at(to.column, 0, to.row, upper_band));
                    points.push(target_top);
                } else {
                    let side_x = if enter_right {
                        SYMBOL_HALF_WIDTH
                    } else {
                        -SYMBOL_HALF_WIDTH
                    };
                    points.push(at(from.column, lane_x, to.row, 0));
                    points.push(at(to.column, side_x, to.row, 0));
                }
            }
        }
        self.draw(&points);
        if let Some(text) = label {
            self.label(from, port, from_half, label_on_right, side_label_x, text);
        }
    }

    /// Whether no symbol stands in `column` over table rows `first..last`.
    fn column_free(&self, column: usize, first: usize, last: usize) -> bool {
        (first..last).all(|row| self.grid.cell(row, column).symbol.is_none())
    }

    /// A lane in `column`'s right or left margin free over the rows between `a` and `b`,
    /// as an x offset. When every lane is taken the outermost is shared.
    fn take_lane(&mut self, column: usize, right: bool, a: usize, b: usize) -> i32 {
        let (low, high) = (a.min(b), a.max(b));
        let slot = (0..LANE_OFFSETS.len())
            .find(|&slot| {
                !self.lanes.iter().any(|&(c, r, s, l, h)| {
                    c == column && r == right && s == slot && l <= high && low <= h
                })
            })
            .unwrap_or(LANE_OFFSETS.len() - 1);
        self.lanes.push((column, right, slot, low, high));
        let offset = LANE_OFFSETS[slot];
        if right { offset } else { -offset }
    }

    /// Cuts the polyline into per-cell lines; the last piece carries the arrowhead.
    fn draw(&mut self, points: &[Point]) {
        let mut pieces: Vec<(usize, usize, Line)> = Vec::new();
        for pair in points.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if a.column == b.column && a.x == b.x {
                pieces.extend(vertical(a, b));
            } else if a.row == b.row && a.y == b.y {
                pieces.extend(horizontal(a, b));
            } else {
                // Not axis-aligned (cannot happen by construction): go down, then across.
                let corner = Point {
                    row: b.row,
                    y: b.y,
                    ..a
                };
                pieces.extend(vertical(a, corner));
                pieces.extend(horizontal(corner, b));
            }
        }
        if let Some(last) = pieces.last_mut() {
            last.2.arrowhead = true;
        }
        for (row, column, line) in pieces {
            self.grid.cell_mut(row, column).lines.push(line);
        }
    }

    fn label(
        &mut self,
        from: &Placement,
        port: Port,
        half: i32,
        on_right: bool,
        side_x: i32,
        text: &str,
    ) {
        let lines = super::wrap(text, LABEL_WIDTH);
        let count = lines.len() as i32;
        let (label, reach) = match port {
            // Beside the arrow's first stretch down, on the side it does not turn to.
            Port::Bottom => (
                Label {
                    x: if on_right { 6 } else { -6 },
                    y: half + LABEL_LINE_HEIGHT,
                    anchor: if on_right { Anchor::Start } else { Anchor::End },
                    lines,
                },
                half + count * LABEL_LINE_HEIGHT + 4,
            ),
            // Above the arrow's first stretch sideways, pointing away from the symbol.
            Port::Right | Port::Left => (
                Label {
                    x: side_x,
                    y: -3 - (count - 1) * LABEL_LINE_HEIGHT,
                    anchor: if side_x > 0 {
                        Anchor::Start
                    } else {
                        Anchor::End
                    },
                    lines,
                },
                count * LABEL_LINE_HEIGHT + 6,
            ),
        };
        let half_height = &mut self.grid.half_heights[from.row];
        *half_height = (*half_height).max(reach);
        self.grid.cell_mut(from.row, from.column).labels.push(label);
    }
}

/// Pieces of a vertical run, one per row crossed.
fn vertical(a: Point, b: Point) -> Vec<(usize, usize, Line)> {
    let x = Len::Pct(a.x);
    let piece = |row: usize, y1: Len, y2: Len| {
        (
            row,
            a.column,
            Line {
                x1: x,
                y1,
                x2: x,
                y2,
                arrowhead: false,
            },
        )
    };
    if a.row == b.row {
        return vec![piece(a.row, Len::Px(a.y), Len::Px(b.y))];
    }
    let edge = if b.row > a.row { 100 } else { -100 };
    let mut pieces = vec![piece(a.row, Len::Px(a.y), Len::Pct(edge))];
    let between: Vec<usize> = if b.row > a.row {
        (a.row + 1..b.row).collect()
    } else {
        (b.row + 1..a.row).rev().collect()
    };
    for row in between {
        pieces.push(piece(row, Len::Pct(-edge), Len::Pct(edge)));
    }
    pieces.push(piece(b.row, Len::Pct(-edge), Len::Px(b.y)));
    pieces
}

/// Pieces of a horizontal run, one per column crossed.
fn horizontal(a: Point, b: Point) -> Vec<(usize, usize, Line)> {
    let y = Len::Px(a.y);
    let piece = |column: usize, x1: Len, x2: Len| {
        (
            a.row,
            column,
            Line {
                x1,
                y1: y,
                x2,
                y2: y,
                arrowhead: false,
            },
        )
    };
    if a.column == b.column {
        return vec![piece(a.column, Len::Pct(a.x), Len::Pct(b.x))];
    }
    let edge = if b.column > a.column { 100 } else { -100 };
    let mut pieces = vec![piece(a.column, Len::Pct(a.x), Len::Pct(edge))];
    let between: Vec<usize> = if b.column > a.column {
        (a.column + 1..b.column).collect()
    } else {
        (b.column + 1..a.column).rev().collect()
    };
    for column in between {
        pieces.push(piece(column, Len::Pct(-edge), Len::Pct(edge)));
    }
    pieces.push(piece(b.column, Len::Pct(-edge), Len::Pct(b.x)));
    pieces
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::render::edges;
    use crate::sop::model::{Branch, Next};

    fn ktp_el() -> SopDocument {
        let text = include_str!("../../../sop-definitions/ktp-el.yaml");
        crate::sop::load(text).unwrap().document().clone()
    }

    /// A piece's extent along one axis, with the cell's edges as far away as they can be.
    fn span(a: Len, b: Len) -> (i32, i32) {
        let value = |l: Len| match l {
            Len::Px(p) => p,
            Len::Pct(p) if p >= 100 => i32::MAX,
            Len::Pct(p) if p <= -100 => i32::MIN,
            // A percentage between the edges is only used across (x), never down (y).
            Len::Pct(p) => p,
        };
        let (a, b) = (value(a), value(b));
        (a.min(b), a.max(b))
    }

    fn pct(l: Len) -> i32 {
        match l {
            Len::Pct(p) | Len::Px(p) => p,
        }
    }

    /// Every arrow ends with one arrowhead in its target's cell, and no line runs through a
    /// symbol (touching its border at a port is fine).
    fn check_layout(document: &SopDocument) -> Result<(), String> {
        let edges = edges(document);
        let grid = layout(document, &edges);
        let mut arrowheads = 0;
        for row in 0..grid.order.len() {
            for column in 0..grid.columns {
                let cell = grid.cell(row, column);
                arrowheads += cell.lines.iter().filter(|l| l.arrowhead).count();
                let Some((_, symbol)) = cell.symbol else {
                    continue;
                };
                let half = symbol.half_height();
                for line in &cell.lines {
                    let through = if line.x1 == line.x2 {
                        let (low, high) = span(line.y1, line.y2);
                        pct(line.x1).abs() < SYMBOL_HALF_WIDTH && low < half && high > -half
                    } else {
                        let (low, high) = span(line.x1, line.x2);
                        pct(line.y1).abs() < half
                            && low < SYMBOL_HALF_WIDTH
                            && high > -SYMBOL_HALF_WIDTH
                    };
                    if through {
                        return Err(format!(
                            "row {row} column {column}: {line:?} crosses {symbol:?}"
                        ));
                    }
                }
            }
        }
        if arrowheads != edges.len() {
            return Err(format!(
                "{arrowheads} arrowheads for {} arrows",
                edges.len()
            ));
        }
        for edge in &edges {
            let row = grid
                .order
                .iter()
                .position(|&s| s == edge.to)
                .unwrap_or(usize::MAX);
            let target = &document.steps[edge.to];
            let column = document.actors.iter().position(|a| a.id == target.actor);
            let lands = column.is_some_and(|c| grid.cell(row, c).lines.iter().any(|l| l.arrowhead));
            if !lands {
                return Err(format!("no arrowhead at {}", target.id));
            }
        }
        Ok(())
    }

    #[test]
    fn ktp_el_arrows_avoid_symbols_and_land_on_their_targets() {
        assert_eq!(check_layout(&ktp_el()), Ok(()));
    }

    #[test]
    fn ktp_el_steps_sit_in_table_order_and_their_actors_columns() {
        let document = ktp_el();
        let grid = layout(&document, &edges(&document));
        let ids: Vec<&str> = grid
            .order
            .iter()
            .map(|&i| document.steps[i].id.as_str())
            .collect();
        assert_eq!(
            ids,
            [
                "serahkan_berkas",
                "verifikasi_berkas",
                "tunggu_antrian",
                "periksa_perekaman",
                "cetak_ktp",
                "tunggu_status_perekaman",
                "konsultasi_adb",
                "ditolak",
                "validasi_ktp",
                "terima_ktp",
                "selesai",
            ]
        );
        // periksa_perekaman (operator_cetak, third column) is a diamond.
        assert_eq!(grid.cell(3, 2).symbol, Some((3, Symbol::Decision)));
        // The loop back from verifikasi_berkas ends at serahkan_berkas' side, in row 0.
        assert!(
            grid.cell(0, 0)
                .lines
                .iter()
                .any(|l| l.arrowhead && l.x2 == Len::Pct(SYMBOL_HALF_WIDTH))
        );
        // Rows with labels below their symbol are taller than the default.
        assert!(grid.min_height(3) > 2 * DEFAULT_HALF_ROW);
        assert_eq!(grid.min_height(2), 2 * DEFAULT_HALF_ROW);
    }

    #[test]
    fn a_step_that_loops_on_itself_gets_an_arrow() {
        let mut document = ktp_el();
        document.steps[2].next = Some(Next::Branches(vec![
            Branch {
                to: "tunggu_antrian".into(),
                when: Some("true".into()),
                label: Some("Ulang".into()),
            },
            Branch {
                to: "periksa_perekaman".into(),
                when: None,
                label: None,
            },
        ]));
        assert_eq!(check_layout(&document), Ok(()));
    }

    #[test]
    fn unresolved_references_are_left_out_not_fatal() {
        let mut document = ktp_el();
        document.steps[0].actor = "nobody".into();
        document.steps[1].next = Some(Next::Step("nowhere".into()));
        let grid = layout(&document, &edges(&document));
        assert!((0..grid.columns).all(|c| grid.cell(0, c).symbol.is_none()));
        document.actors.clear();
        let grid = layout(&document, &edges(&document));
        assert_eq!(grid.columns, 0);
    }

    proptest! {
        /// Any wiring of any steps over any actors lays out without crossing a symbol.
        #[test]
        fn arbitrary_flowcharts_keep_arrows_off_symbols(
            actors in proptest::collection::vec(0usize..4, 11),
            rows in proptest::collection::vec(1u32..6, 11),
            targets in proptest::collection::vec(proptest::collection::vec(0usize..11, 0..4), 11),
        ) {
            let mut document = ktp_el();
            let ids: Vec<String> = document.steps.iter().map(|s| s.id.clone()).collect();
            let actor_ids: Vec<String> = document.actors.iter().map(|a| a.id.clone()).collect();
            for (i, step) in document.steps.iter_mut().enumerate() {
                step.actor = actor_ids[actors[i]].clone();
                step.row = rows[i];
                step.next = match targets[i].as_slice() {
                    [] => None,
                    [one] => Some(Next::Step(ids[*one].clone())),
                    many => Some(Next::Branches(
                        many.iter()
                            .map(|&t| Branch { to: ids[t].clone(), when: None, label: Some(format!("ke {}", ids[t])) })
                            .collect(),
                    )),
                };
            }
            prop_assert_eq!(check_layout(&document), Ok(()));
        }
    }
}
