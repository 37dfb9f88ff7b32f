//! Small SVG charts for reports and pages: horizontal bars (with intervals, a mark per bar
//! such as a budget, and a reference line such as a target) and lines over a continuous axis
//! such as the hours of a day.
//!
//! The charts know nothing of what they show: categories, values and labels come in, an SVG
//! document (text) goes out, to be inlined into HTML. Drawn with plotters' SVG backend only:
//! no fonts are read (text is SVG `<text>` in the viewer's sans-serif), nothing bitmap, and
//! black and white print stays readable (series differ by pattern of grey as well as colour,
//! labels are text).

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// Why a chart could not be drawn.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("chart: {0}")]
    Draw(String),
    #[error("chart: {0}")]
    Input(&'static str),
}

fn draw_err<E: std::fmt::Debug>(e: E) -> ChartError {
    ChartError::Draw(format!("{e:?}"))
}

/// Values of one series, one per category (or per x position for lines); `None` for none.
#[derive(Debug, Clone, Default)]
pub struct Series {
    pub name: String,
    pub values: Vec<Option<f64>>,
    /// An interval around each value (a confidence interval), drawn as a whisker.
    pub intervals: Vec<Option<(f64, f64)>>,
}

/// A value per category drawn as a mark across its bars (a budget, a limit).
#[derive(Debug, Clone, Default)]
pub struct Marks {
    pub name: String,
    pub values: Vec<Option<f64>>,
}

/// A value drawn as a line across the whole chart (a target).
#[derive(Debug, Clone)]
pub struct Reference {
    pub name: String,
    pub value: f64,
}

/// Horizontal bars: one row per category, one bar per series in each row.
#[derive(Debug, Clone, Default)]
pub struct BarChart {
    pub title: String,
    /// Label of the value axis.
    pub value_label: String,
    pub categories: Vec<String>,
    pub series: Vec<Series>,
    pub marks: Option<Marks>,
    pub reference: Option<Reference>,
    /// Upper end of the value axis (e.g. 1 for shares); from the data when absent.
    pub max: Option<f64>,
    /// How values are written on the axis.
    pub format: Format,
}

/// Lines over a continuous axis.
#[derive(Debug, Clone, Default)]
pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// The positions of the values, shared by every series.
    pub x: Vec<f64>,
    pub series: Vec<Series>,
    pub x_format: Format,
    pub y_format: Format,
}

/// How a number is written on an axis.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    #[default]
    Number,
    /// 0.25 as 25%.
    Percent,
    /// Seconds as 45s, 4m, 1h30m.
    Duration,
    /// Hours of the day as 08:00.
    HourOfDay,
}

impl Format {
    pub fn write(self, v: f64) -> String {
        match self {
            Format::Number => {
                if (v - v.round()).abs() < 1e-9 {
                    format!("{}", v.round() as i64)
                } else {
                    format!("{v:.1}")
                }
            }
            Format::Percent => format!("{:.0}%", v * 100.0),
            Format::Duration => duration(v),
            Format::HourOfDay => format!("{:02}:00", (v.round() as i64).rem_euclid(24)),
        }
    }
}

/// Seconds in the largest sensible units.
pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0);
    if s < 60.0 {
        if s.fract() == 0.0 {
            format!("{s:.0}s")
        } else {
            format!("{s:.1}s")
        }
    } else if s < 3600.0 {
        let total = s.round() as i64;
        match total % 60 {
            0 => format!("{}m", total / 60),
            r => format!("{}m{r:02}s", total / 60),
        }
    } else {
        let total = (s / 60.0).round() as i64;
        match total % 60 {
            0 => format!("{}h", total / 60),
            r => format!("{}h{r:02}m", total / 60),
        }
    }
}

/// Fill colours of the series, chosen to stay apart in grey when printed.
const FILLS: [RGBColor; 4] = [
    RGBColor(31, 87, 148),
    RGBColor(230, 159, 0),
    RGBColor(120, 120, 120),
    RGBColor(0, 158, 115),
];

const WIDTH: u32 = 760;
const FONT: &str = "sans-serif";

/// A ceiling for an axis: a little above `max`, on a round number.
fn nice_max(max: f64) -> f64 {
    if !(max.is_finite() && max > 0.0) {
        return 1.0;
    }
    let raw = max * 1.08;
    let magnitude = 10f64.powf(raw.log10().floor());
    for step in [1.0, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0] {
        if step * magnitude >= raw {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

fn finite_max(values: impl Iterator<Item = f64>) -> f64 {
    values.filter(|v| v.is_finite()).fold(0.0, f64::max)
}

/// Draws `chart` as an SVG document.
pub fn bars(chart: &BarChart) -> Result<String, ChartError> {
    let n = chart.categories.len();
    if n == 0 {
        return Err(ChartError::Input("a bar chart needs categories"));
    }
    if chart.series.iter().any(|s| s.values.len() != n) {
        return Err(ChartError::Input(
            "every series needs one value per category",
        ));
    }
    let groups = chart.series.len().max(1);
    let row = (16 * groups + 10) as u32;
    let entries = if chart.series.len() > 1 {
        chart.series.len()
    } else {
        0
    } + usize::from(chart.marks.is_some())
        + usize::from(chart.reference.is_some());
    let legend = 24 * entries.div_ceil(3) as u32;
    let height = 80 + legend + row * n as u32;
    let longest = chart
        .categories
        .iter()
        .map(|c| c.chars().count())
        .max()
        .unwrap_or(1);
    let label_area = (longest as u32 * 8 + 16).clamp(60, 320);
    let max = chart.max.unwrap_or_else(|| {
        let values = chart.series.iter().flat_map(|s| {
            s.values
                .iter()
                .flatten()
                .copied()
                .chain(s.intervals.iter().flatten().map(|(_, hi)| *hi))
        });
        let marks = chart
            .marks
            .iter()
            .flat_map(|m| m.values.iter().flatten().copied());
        let reference = chart.reference.iter().map(|r| r.value);
        nice_max(finite_max(values.chain(marks).chain(reference)))
    });
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let (top, body) = root.split_vertically(legend + 30);
        title(&top, &chart.title)?;
        let mut ctx = ChartBuilder::on(&body)
            .margin_left(8)
            .margin_right(24)
            .margin_bottom(6)
            .x_label_area_size(40)
            .y_label_area_size(label_area)
            .build_cartesian_2d(0f64..max, 0f64..n as f64)
            .map_err(draw_err)?;
        let format = chart.format;
        ctx.configure_mesh()
            .disable_y_mesh()
            .y_labels(0)
            .x_labels(8)
            .x_label_formatter(&|v| format.write(*v))
            .x_desc(chart.value_label.as_str())
            .axis_desc_style((FONT, 16))
            .label_style((FONT, 15))
            .light_line_style(RGBColor(235, 235, 235))
            .max_light_lines(1)
            .draw()
            .map_err(draw_err)?;
        let label_style = TextStyle::from((FONT, 15).into_font())
            .pos(Pos::new(HPos::Right, VPos::Center))
            .color(&BLACK);
        // Category 0 at the top.
        let band = |i: usize| (n - 1 - i) as f64;
        for (i, name) in chart.categories.iter().enumerate() {
            ctx.draw_series(std::iter::once(
                EmptyElement::at((0.0, band(i) + 0.5))
                    + Text::new(name.clone(), (-6, 0), label_style.clone()),
            ))
            .map_err(draw_err)?;
        }
        let slot = 0.8 / groups as f64;
        for (g, series) in chart.series.iter().enumerate() {
            let fill = FILLS[g % FILLS.len()];
            for (i, value) in series.values.iter().enumerate() {
                let Some(v) = value.filter(|v| v.is_finite()) else {
                    continue;
                };
                let y0 = band(i) + 0.1 + slot * (groups - 1 - g) as f64;
                let y1 = y0 + slot * 0.9;
                ctx.draw_series(std::iter::once(Rectangle::new(
                    [(0.0, y0), (v.min(max), y1)],
                    fill.filled(),
                )))
                .map_err(draw_err)?;
                if let Some(Some((lo, hi))) = series.intervals.get(i) {
                    let mid = (y0 + y1) / 2.0;
                    let (lo, hi) = (lo.clamp(0.0, max), hi.clamp(0.0, max));
                    let whisker = ShapeStyle::from(&BLACK).stroke_width(1);
                    ctx.draw_series([
                        PathElement::new(vec![(lo, mid), (hi, mid)], whisker),
                        PathElement::new(
                            vec![(lo, y0 + 0.15 * slot), (lo, y1 - 0.15 * slot)],
                            whisker,
                        ),
                        PathElement::new(
                            vec![(hi, y0 + 0.15 * slot), (hi, y1 - 0.15 * slot)],
                            whisker,
                        ),
                    ])
                    .map_err(draw_err)?;
                }
            }
            if chart.series.len() > 1 {
                legend_entry(&top, g, &series.name, LegendKind::Fill(fill))?;
            }
        }
        let mut entry = chart.series.len().max(1);
        if let Some(marks) = &chart.marks {
            let style = ShapeStyle::from(&RED).stroke_width(3);
            for (i, mark) in marks.values.iter().enumerate() {
                if let Some(v) = mark.filter(|v| v.is_finite() && *v <= max) {
                    ctx.draw_series(std::iter::once(PathElement::new(
                        vec![(v, band(i) + 0.04), (v, band(i) + 0.96)],
                        style,
                    )))
                    .map_err(draw_err)?;
                }
            }
            let slot = if chart.series.len() > 1 { entry } else { 0 };
            legend_entry(&top, slot, &marks.name, LegendKind::Mark(RED))?;
            entry = slot + 1;
        }
        if let Some(reference) = &chart.reference {
            let v = reference.value.min(max);
            let style = ShapeStyle::from(&BLACK).stroke_width(2);
            ctx.draw_series(std::iter::once(PathElement::new(
                vec![(v, 0.0), (v, n as f64)],
                style,
            )))
            .map_err(draw_err)?;
            let slot = if chart.series.len() > 1 || chart.marks.is_some() {
                entry
            } else {
                0
            };
            legend_entry(&top, slot, &reference.name, LegendKind::Mark(BLACK))?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

/// Draws `chart` as an SVG document.
pub fn lines(chart: &LineChart) -> Result<String, ChartError> {
    let n = chart.x.len();
    if n < 2 {
        return Err(ChartError::Input(
            "a line chart needs two positions or more",
        ));
    }
    if chart.series.iter().any(|s| s.values.len() != n) {
        return Err(ChartError::Input(
            "every series needs one value per position",
        ));
    }
    let legend = 24 * chart.series.len().div_ceil(3) as u32;
    let height = 300 + legend;
    let (x0, x1) = (chart.x[0], chart.x[n - 1]);
    let ymax = nice_max(finite_max(chart.series.iter().flat_map(|s| {
        s.values
            .iter()
            .flatten()
            .copied()
            .chain(s.intervals.iter().flatten().map(|(_, hi)| *hi))
    })));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, height)).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        let (top, body) = root.split_vertically(legend + 30);
        title(&top, &chart.title)?;
        let mut ctx = ChartBuilder::on(&body)
            .margin_left(8)
            .margin_right(24)
            .margin_bottom(6)
            .x_label_area_size(40)
            .y_label_area_size(56)
            .build_cartesian_2d(x0..x1, 0f64..ymax)
            .map_err(draw_err)?;
        let (xf, yf) = (chart.x_format, chart.y_format);
        ctx.configure_mesh()
            .x_labels(n.min(13))
            .y_labels(6)
            .x_label_formatter(&|v| xf.write(*v))
            .y_label_formatter(&|v| yf.write(*v))
            .x_desc(chart.x_label.as_str())
            .y_desc(chart.y_label.as_str())
            .axis_desc_style((FONT, 16))
            .label_style((FONT, 15))
            .light_line_style(RGBColor(235, 235, 235))
            .max_light_lines(1)
            .draw()
            .map_err(draw_err)?;
        for (g, series) in chart.series.iter().enumerate() {
            let colour = FILLS[g % FILLS.len()];
            // Series beyond the palette are told apart by their markers' size too.
            let style = ShapeStyle::from(&colour).stroke_width(2 + (g / FILLS.len()) as u32);
            // A gap where a value is missing.
            let mut run: Vec<(f64, f64)> = Vec::new();
            let mut runs = Vec::new();
            for (x, v) in chart.x.iter().zip(&series.values) {
                match v.filter(|v| v.is_finite()) {
                    Some(v) => run.push((*x, v)),
                    None => runs.push(std::mem::take(&mut run)),
                }
            }
            runs.push(run);
            for r in runs.into_iter().filter(|r| !r.is_empty()) {
                ctx.draw_series(std::iter::once(PathElement::new(r.clone(), style)))
                    .map_err(draw_err)?;
                ctx.draw_series(
                    r.iter()
                        .map(|p| Circle::new(*p, 3 + g as i32 % 3, colour.filled())),
                )
                .map_err(draw_err)?;
            }
            for (x, interval) in chart.x.iter().zip(&series.intervals) {
                if let Some((lo, hi)) = interval {
                    ctx.draw_series(std::iter::once(PathElement::new(
                        vec![(*x, lo.max(0.0)), (*x, hi.min(ymax))],
                        ShapeStyle::from(&colour).stroke_width(1),
                    )))
                    .map_err(draw_err)?;
                }
            }
            legend_entry(&top, g, &series.name, LegendKind::Fill(colour))?;
        }
        root.present().map_err(draw_err)?;
    }
    Ok(svg)
}

fn title(area: &DrawingArea<SVGBackend<'_>, Shift>, text: &str) -> Result<(), ChartError> {
    area.draw(&Text::new(
        text.to_owned(),
        (10, 8),
        TextStyle::from((FONT, 19).into_font()).color(&BLACK),
    ))
    .map_err(draw_err)
}

enum LegendKind {
    Fill(RGBColor),
    Mark(RGBColor),
}

/// Legend entries three to a row under the title.
fn legend_entry(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    index: usize,
    name: &str,
    kind: LegendKind,
) -> Result<(), ChartError> {
    let x = 12 + 245 * (index % 3) as i32;
    let y = 32 + 24 * (index / 3) as i32;
    match kind {
        LegendKind::Fill(c) => area
            .draw(&Rectangle::new([(x, y), (x + 14, y + 12)], c.filled()))
            .map_err(draw_err)?,
        LegendKind::Mark(c) => area
            .draw(&Rectangle::new(
                [(x + 5, y - 2), (x + 8, y + 14)],
                c.filled(),
            ))
            .map_err(draw_err)?,
    }
    area.draw(&Text::new(
        name.to_owned(),
        (x + 20, y),
        TextStyle::from((FONT, 15).into_font()).color(&BLACK),
    ))
    .map_err(draw_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_bars() -> BarChart {
        BarChart {
            title: "Time at each step".into(),
            value_label: "time".into(),
            categories: vec!["first".into(), "second_step".into(), "third".into()],
            series: vec![
                Series {
                    name: "waiting".into(),
                    values: vec![Some(30.0), Some(200.0), None],
                    intervals: vec![Some((25.0, 35.0)), Some((150.0, 250.0)), None],
                },
                Series {
                    name: "handling".into(),
                    values: vec![Some(60.0), Some(45.0), Some(10.0)],
                    intervals: vec![None, None, None],
                },
            ],
            marks: Some(Marks {
                name: "budget".into(),
                values: vec![Some(60.0), None, Some(120.0)],
            }),
            reference: Some(Reference {
                name: "target".into(),
                value: 100.0,
            }),
            max: None,
            format: Format::Duration,
        }
    }

    #[test]
    fn bars_carry_their_labels_values_and_marks() {
        let svg = bars(&sample_bars()).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40]);
        for text in [
            "Time at each step",
            "second_step",
            "waiting",
            "handling",
            "budget",
            "target",
            "time",
        ] {
            assert!(svg.contains(text), "{text} missing");
        }
        // Two series: five bars (one value is missing), plus the legend's two swatches.
        let fills = |c: RGBColor| {
            svg.matches(&format!("fill=\"#{:02X}{:02X}{:02X}\"", c.0, c.1, c.2))
                .count()
        };
        assert_eq!(fills(FILLS[0]), 2 + 1);
        assert_eq!(fills(FILLS[1]), 3 + 1);
        // The axis says durations.
        assert!(
            svg.contains(">\n4m\n<") || svg.contains("4m"),
            "duration ticks"
        );
    }

    #[test]
    fn lines_over_a_day() {
        let chart = LineChart {
            title: "Waiting over the day".into(),
            x_label: "hour".into(),
            y_label: "people waiting".into(),
            x: (0..24).map(f64::from).collect(),
            series: vec![Series {
                name: "queue".into(),
                values: (0..24)
                    .map(|h| (8..16).contains(&h).then_some(f64::from(h % 5)))
                    .collect(),
                intervals: vec![None; 24],
            }],
            x_format: Format::HourOfDay,
            y_format: Format::Number,
        };
        let svg = lines(&chart).unwrap();
        assert!(svg.contains("08:00"));
        assert!(svg.contains("people waiting"));
        // One marker per value present.
        assert_eq!(svg.matches("<circle").count(), 8);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let mut c = sample_bars();
        c.series[0].values.pop();
        assert!(bars(&c).is_err());
        assert!(bars(&BarChart::default()).is_err());
        assert!(lines(&LineChart::default()).is_err());
    }

    #[test]
    fn formats() {
        assert_eq!(Format::Percent.write(0.955), "96%");
        assert_eq!(Format::Duration.write(45.0), "45s");
        assert_eq!(Format::Duration.write(240.0), "4m");
        assert_eq!(Format::Duration.write(5400.0), "1h30m");
        assert_eq!(Format::HourOfDay.write(8.0), "08:00");
        assert_eq!(nice_max(0.9), 1.0);
        assert_eq!(nice_max(260.0), 300.0);
    }
}
