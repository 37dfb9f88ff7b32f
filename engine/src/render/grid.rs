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
