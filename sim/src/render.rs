//! The report as a terminal table or a self-contained HTML page with SVG charts.

use std::fmt::Write as _;

use sopflow_charts::{BarChart, Format, LineChart, Marks, Reference, Series};

use crate::report::{Report, StaffCount};
use crate::stats::Ci;

/// Seconds as people read them: 45.2s, 4m05s, 1h20m.
pub fn secs(s: f64) -> String {
    if !s.is_finite() {
        return "-".into();
    }
    let neg = if s < 0.0 { "-" } else { "" };
    let s = s.abs();
    let body = if s < 60.0 {
        format!("{s:.1}s")
    } else if s < 3600.0 {
        let t = s.round() as i64;
        match t % 60 {
            0 => format!("{}m", t / 60),
            r => format!("{}m{r:02}s", t / 60),
        }
    } else {
        let t = (s / 60.0).round() as i64;
        match t % 60 {
            0 => format!("{}h", t / 60),
            r => format!("{}h{r:02}m", t / 60),
        }
    };
    format!("{neg}{body}")
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

fn num(x: f64) -> String {
    if x.abs() >= 100.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.1}")
    }
}

/// `mean ±half`, or `-`.
fn with_ci(c: &Option<Ci>, f: fn(f64) -> String) -> String {
    match c {
        None => "-".into(),
        Some(c) if c.half() > 0.0 => format!("{} ±{}", f(c.mean), f(c.half())),
        Some(c) => f(c.mean),
    }
}

fn staff_line(staff: &[StaffCount]) -> String {
    // One service point: its name adds nothing.
    let one_point = staff
        .windows(2)
        .all(|w| w[0].service_point == w[1].service_point);
    staff
        .iter()
        .map(|s| {
            if one_point {
                format!("{} {}", s.staff, s.role)
            } else {
                format!("{} {}/{}", s.staff, s.service_point, s.role)
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// A left-aligned first column and right-aligned others.
fn table(out: &mut String, header: &[&str], rows: &[Vec<String>]) {
    let cols = header.len();
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate().take(cols) {
            width[i] = width[i].max(cell.chars().count());
        }
    }
    let line = |cells: &[String], out: &mut String| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = width[i].saturating_sub(cell.chars().count());
            if i == 0 {
                text.push_str(cell);
                text.push_str(&" ".repeat(pad));
            } else {
                text.push_str("  ");
                text.push_str(&" ".repeat(pad));
                text.push_str(cell);
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    let head: Vec<String> = header.iter().map(|h| (*h).to_owned()).collect();
    line(&head, out);
    for row in rows {
        line(row, out);
    }
}

/// The opening hours of the day (of any service point), when someone waits in them.
fn busy_hours(report: &Report) -> Vec<usize> {
    let someone_waits = report.queues.iter().any(|q| {
        report
            .hours_open
            .iter()
            .any(|h| q.by_hour[*h as usize].is_some_and(|c| c.mean > 0.005))
    });
    if someone_waits {
        report.hours_open.iter().map(|h| *h as usize).collect()
    } else {
        Vec::new()
    }
}

/// The terminal table.
pub fn table_text(r: &Report) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "SOP {}: {}", r.sop.id, r.sop.title);
    let _ = writeln!(
        o,
        "Scenario {}: {} replications of {} days from {}, seed {}{}",
        r.scenario.source,
        r.scenario.replications,
        r.scenario.days,
        r.scenario.start,
        r.scenario.seed,
        if r.scenario.warm_up_seconds > 0.0 {
            format!(", warm-up {}", secs(r.scenario.warm_up_seconds))
        } else {
            String::new()
        }
    );
    let _ = writeln!(
        o,
        "Means per replication with 95% confidence intervals (±) over the replications.\n"
    );
    let c = &r.cases;
    let _ = writeln!(
        o,
        "Cases: {} arrived, {} completed, {} incidents, {} unfinished",
        with_ci(&c.arrived, num),
        with_ci(&c.completed, num),
        with_ci(&c.incidents, num),
        with_ci(&c.unfinished, num)
    );
    let _ = writeln!(
        o,
        "Within budget: {}  ({})",
        with_ci(&c.within_budget, pct),
        r.criterion
    );
    let _ = writeln!(
        o,
        "Time from arrival to the end: mean {}, p90 {}\n",
        with_ci(&c.time_mean_seconds, secs),
        with_ci(&c.time_p90_seconds, secs)
    );
    if let Some(s) = &r.staffing {
        let _ = writeln!(
            o,
            "Staffing for {} of cases within budget: {}",
            pct(s.target),
            if s.reached {
                format!("reached with {}", staff_line(&s.staff))
            } else {
                format!("not reached; the best found: {}", staff_line(&s.staff))
            }
        );
        for t in &s.tried {
            let _ = writeln!(
                o,
                "  tried {:<60} {}",
                staff_line(&t.staff),
                with_ci(&t.within_budget, pct)
            );
        }
        o.push('\n');
    }
    let rows: Vec<Vec<String>> = r
        .steps
        .iter()
        .map(|s| {
            vec![
                format!(
                    "{}{}",
                    s.step,
                    match (&s.budget_step, s.budget_seconds) {
                        (Some(owner), Some(b)) if *owner == s.step => format!(" ({})", secs(b)),
                        (Some(owner), Some(_)) => format!(" (on {owner})"),
                        _ => String::new(),
                    }
                ),
                with_ci(&s.visits, num),
                with_ci(&s.waiting_mean_seconds, secs),
                with_ci(&s.waiting_p90_seconds, secs),
                with_ci(&s.handling_mean_seconds, secs),
                with_ci(&s.handling_p90_seconds, secs),
                with_ci(&s.within_budget, pct),
            ]
        })
        .collect();
    table(
        &mut o,
        &[
            "step (budget)",
            "visits",
            "waiting mean",
            "waiting p90",
            "handling mean",
            "handling p90",
            "within budget",
        ],
        &rows,
    );
    let targets: Vec<Vec<String>> = r
        .steps
        .iter()
        .filter_map(|s| {
            let t = s.wait_target_seconds?;
            Some(vec![
                s.step.clone(),
                secs(t),
                with_ci(&s.within_wait_target, pct),
                with_ci(&s.waited, pct),
            ])
        })
        .collect();
    if !targets.is_empty() {
        o.push('\n');
        table(
            &mut o,
            &["step", "wait target", "taken up within it", "waited at all"],
            &targets,
        );
    }
    o.push('\n');
    let rows: Vec<Vec<String>> = r
        .roles
        .iter()
        .map(|x| {
            vec![
                format!("{}/{}", x.service_point, x.role),
                x.staff.to_string(),
                with_ci(&x.utilisation, pct),
            ]
        })
        .collect();
    table(
        &mut o,
        &["service point/role", "staff", "utilisation"],
        &rows,
    );
    let hours = busy_hours(r);
    if !hours.is_empty() {
        let _ = writeln!(o, "\nWaiting for a person, mean number by hour of the day");
        let mut header = vec!["service point/step".to_owned()];
        header.extend(hours.iter().map(|h| format!("{h:02}")));
        let rows: Vec<Vec<String>> = r
            .queues
            .iter()
            .filter(|q| {
                hours
                    .iter()
                    .any(|h| q.by_hour[*h].is_some_and(|c| c.mean > 0.005))
            })
            .map(|q| {
                let mut row = vec![format!("{}/{}", q.service_point, q.step)];
                row.extend(
                    hours
                        .iter()
                        .map(|h| q.by_hour[*h].map_or("-".into(), |c| format!("{:.1}", c.mean))),
                );
                row
            })
            .collect();
        let head: Vec<&str> = header.iter().map(String::as_str).collect();
        table(&mut o, &head, &rows);
    }
    if !r.branches.is_empty() {
        let _ = writeln!(o, "\nBranches");
        let rows: Vec<Vec<String>> = r
            .branches
            .iter()
            .map(|b| {
                vec![
                    format!(
                        "{} -> {}{}",
                        b.from,
                        b.to,
                        b.label
                            .as_ref()
                            .map(|l| format!(" ({l})"))
                            .unwrap_or_default()
                    ),
                    with_ci(&b.share, pct),
                ]
            })
            .collect();
        table(&mut o, &["from -> to", "share"], &rows);
    }
    o
}

fn esc(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn interval(c: &Option<Ci>) -> Option<(f64, f64)> {
    c.map(|c| (c.low, c.high))
}

/// The self-contained HTML report.
pub fn html(r: &Report) -> String {
    let mut charts: Vec<String> = Vec::new();
    // Steps people take up: an adapter's own time (a consultation of an hour) would flatten
    // the rest.
    let people_steps: Vec<&crate::report::StepReport> = r
        .steps
        .iter()
        .filter(|s| !s.taken_up_by.is_empty())
        .collect();
    let names: Vec<String> = people_steps.iter().map(|s| s.step.clone()).collect();
    let own_budget: Vec<Option<f64>> = people_steps
        .iter()
        .map(|s| match &s.budget_step {
            Some(owner) if *owner == s.step => s.budget_seconds,
            _ => None,
        })
        .collect();
    let time_chart = BarChart {
        title: "Time at each step people take up: waiting and handling (means, 95% intervals)"
            .into(),
        value_label: "time".into(),
        categories: names.clone(),
        series: vec![
            Series {
                name: "waiting for a person".into(),
                values: people_steps
                    .iter()
                    .map(|s| s.waiting_mean_seconds.map(|c| c.mean))
                    .collect(),
                intervals: people_steps
                    .iter()
                    .map(|s| interval(&s.waiting_mean_seconds))
                    .collect(),
            },
            Series {
                name: "handling".into(),
                values: people_steps
                    .iter()
                    .map(|s| s.handling_mean_seconds.map(|c| c.mean))
                    .collect(),
                intervals: people_steps
                    .iter()
                    .map(|s| interval(&s.handling_mean_seconds))
                    .collect(),
            },
        ],
        marks: Some(Marks {
            name: "the step's budget".into(),
            values: own_budget,
        }),
        reference: None,
        max: None,
        format: Format::Duration,
    };
    let budgeted: Vec<&crate::report::StepReport> = r
        .steps
        .iter()
        .filter(|s| s.within_budget.is_some())
        .collect();
    let share_chart = (!budgeted.is_empty()).then(|| BarChart {
        title: "Visits completed within their budget clock".into(),
        value_label: "share of visits".into(),
        categories: budgeted.iter().map(|s| s.step.clone()).collect(),
        series: vec![Series {
            name: "within budget".into(),
            values: budgeted
                .iter()
                .map(|s| s.within_budget.map(|c| c.mean))
                .collect(),
            intervals: budgeted
                .iter()
                .map(|s| interval(&s.within_budget))
                .collect(),
        }],
        marks: None,
        reference: None,
        max: Some(1.0),
        format: Format::Percent,
    });
    let roles: Vec<&crate::report::RoleReport> = r.roles.iter().filter(|x| x.staff > 0).collect();
    let role_chart = (!roles.is_empty()).then(|| BarChart {
        title: "Utilisation of the staff".into(),
        value_label: "busy share of working time".into(),
        categories: roles
            .iter()
            .map(|x| format!("{}/{} ({})", x.service_point, x.role, x.staff))
            .collect(),
        series: vec![Series {
            name: "utilisation".into(),
            values: roles
                .iter()
                .map(|x| x.utilisation.map(|c| c.mean))
                .collect(),
            intervals: roles.iter().map(|x| interval(&x.utilisation)).collect(),
        }],
        marks: None,
        reference: None,
        max: Some(1.0),
        format: Format::Percent,
    });
    let hours = busy_hours(r);
    let queue_chart = (!hours.is_empty()).then(|| {
        let x: Vec<f64> = hours.iter().map(|h| *h as f64).collect();
        LineChart {
            title: "Waiting for a person over the day (mean number, by hour)".into(),
            x_label: "hour of the day".into(),
            y_label: "people waiting".into(),
            series: r
                .queues
                .iter()
                .filter(|q| {
                    hours
                        .iter()
                        .any(|h| q.by_hour[*h].is_some_and(|c| c.mean > 0.005))
                })
                .map(|q| Series {
                    name: format!("{}/{}", q.service_point, q.step),
                    values: x
                        .iter()
                        .map(|h| q.by_hour[*h as usize].map(|c| c.mean))
                        .collect(),
                    intervals: x
                        .iter()
                        .map(|h| interval(&q.by_hour[*h as usize]))
                        .collect(),
                })
                .collect(),
            x,
            x_format: Format::HourOfDay,
            y_format: Format::Number,
        }
    });
    let search_chart = r.staffing.as_ref().map(|s| BarChart {
        title: "Staffings tried: share of cases within budget".into(),
        value_label: "share of cases".into(),
        categories: s.tried.iter().map(|t| staff_line(&t.staff)).collect(),
        series: vec![Series {
            name: "within budget".into(),
            values: s
                .tried
                .iter()
                .map(|t| t.within_budget.map(|c| c.mean))
                .collect(),
            intervals: s.tried.iter().map(|t| interval(&t.within_budget)).collect(),
        }],
        marks: None,
        reference: Some(Reference {
            name: format!("target {}", pct(s.target)),
            value: s.target,
        }),
        max: Some(1.0),
        format: Format::Percent,
    });
    let mut push = |svg: Result<String, sopflow_charts::ChartError>| match svg {
        Ok(svg) => charts.push(svg),
        Err(e) => charts.push(format!("<p class=\"note\">{}</p>", esc(&e.to_string()))),
    };
    if let Some(c) = &search_chart {
        push(sopflow_charts::bars(c));
    }
    if !names.is_empty() {
        push(sopflow_charts::bars(&time_chart));
    }
    if let Some(c) = &share_chart {
        push(sopflow_charts::bars(c));
    }
    if let Some(c) = &role_chart {
        push(sopflow_charts::bars(c));
    }
    if let Some(c) = &queue_chart {
        push(sopflow_charts::lines(c));
    }

    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"id\"><head><meta charset=\"utf-8\">\
         <title>Simulasi {id}</title><style>\
         body{{font-family:sans-serif;max-width:60rem;margin:1.5rem auto;padding:0 1rem;color:#111}}\
         h1{{font-size:1.4rem}}h2{{font-size:1.1rem;margin-top:1.6rem}}\
         table{{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}}\
         td,th{{border:1px solid #999;padding:.2rem .5rem;text-align:right}}\
         td:first-child,th:first-child{{text-align:left}}th{{background:#eee}}\
         figure{{margin:1rem 0;break-inside:avoid}}svg{{max-width:100%;height:auto}}\
         .note{{color:#444;font-size:.9rem}}\
         @media print{{body{{margin:0;max-width:none}}h2{{break-after:avoid}}}}\
         </style></head><body>\n",
        id = esc(&r.sop.id)
    );
    let _ = writeln!(
        o,
        "<h1>Simulation of SOP {}: {}</h1>",
        esc(&r.sop.id),
        esc(&r.sop.title)
    );
    let _ = writeln!(
        o,
        "<p class=\"note\">Scenario {}: {} replications of {} days from {}, seed {}. \
         Figures are means per replication with 95% confidence intervals over the \
         replications. Cases run through the SOP's own engine: the same steps, guards, \
         documents and budgets as in service.</p>",
        esc(&r.scenario.source),
        r.scenario.replications,
        r.scenario.days,
        esc(&r.scenario.start),
        r.scenario.seed
    );
    let c = &r.cases;
    let _ = writeln!(
        o,
        "<h2>Cases</h2><table><tr><th>figure</th><th>value</th></tr>\
         <tr><td>arrived</td><td>{}</td></tr><tr><td>completed</td><td>{}</td></tr>\
         <tr><td>incidents</td><td>{}</td></tr><tr><td>unfinished</td><td>{}</td></tr>\
         <tr><td>within budget ({})</td><td>{}</td></tr>\
         <tr><td>time from arrival to the end, mean</td><td>{}</td></tr>\
         <tr><td>time from arrival to the end, p90</td><td>{}</td></tr></table>",
        with_ci(&c.arrived, num),
        with_ci(&c.completed, num),
        with_ci(&c.incidents, num),
        with_ci(&c.unfinished, num),
        esc(&r.criterion),
        with_ci(&c.within_budget, pct),
        with_ci(&c.time_mean_seconds, secs),
        with_ci(&c.time_p90_seconds, secs)
    );
    if let Some(s) = &r.staffing {
        let _ = writeln!(
            o,
            "<h2>Staffing for {} within budget</h2><p>{}</p>",
            pct(s.target),
            esc(&if s.reached {
                format!("Reached with {}.", staff_line(&s.staff))
            } else {
                format!("Not reached; the best found: {}.", staff_line(&s.staff))
            })
        );
    }
    for svg in &charts {
        let _ = writeln!(o, "<figure>{svg}</figure>");
    }
    let _ = writeln!(
        o,
        "<h2>Steps</h2><table><tr><th>step</th><th>budget</th><th>visits</th>\
         <th>waiting mean</th><th>waiting p90</th><th>handling mean</th><th>handling p90</th>\
         <th>within budget</th><th>waited</th></tr>"
    );
    for s in &r.steps {
        let budget = match (&s.budget_step, s.budget_seconds) {
            (Some(owner), Some(b)) if *owner == s.step => secs(b),
            (Some(owner), Some(_)) => format!("on {owner}"),
            _ => "-".into(),
        };
        let _ = writeln!(
            o,
            "<tr><td>{} <span class=\"note\">{}</span></td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&s.step),
            esc(&s.name),
            esc(&budget),
            with_ci(&s.visits, num),
            with_ci(&s.waiting_mean_seconds, secs),
            with_ci(&s.waiting_p90_seconds, secs),
            with_ci(&s.handling_mean_seconds, secs),
            with_ci(&s.handling_p90_seconds, secs),
            with_ci(&s.within_budget, pct),
            with_ci(&s.waited, pct)
        );
    }
    o.push_str("</table>\n<h2>Staff</h2><table><tr><th>service point/role</th><th>staff</th><th>utilisation</th></tr>\n");
    for x in &r.roles {
        let _ = writeln!(
            o,
            "<tr><td>{}/{}</td><td>{}</td><td>{}</td></tr>",
            esc(&x.service_point),
            esc(&x.role),
            x.staff,
            with_ci(&x.utilisation, pct)
        );
    }
    o.push_str("</table>\n");
    if !r.branches.is_empty() {
        o.push_str("<h2>Branches</h2><table><tr><th>from → to</th><th>share</th></tr>\n");
        for b in &r.branches {
            let _ = writeln!(
                o,
                "<tr><td>{} → {}{}</td><td>{}</td></tr>",
                esc(&b.from),
                esc(&b.to),
                b.label
                    .as_ref()
                    .map(|l| format!(" ({})", esc(l)))
                    .unwrap_or_default(),
                with_ci(&b.share, pct)
            );
        }
        o.push_str("</table>\n");
    }
    o.push_str("</body></html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(secs(45.24), "45.2s");
        assert_eq!(secs(245.0), "4m05s");
        assert_eq!(secs(120.0), "2m");
        assert_eq!(secs(3600.0), "1h");
        assert_eq!(secs(4800.0), "1h20m");
        assert_eq!(secs(-3.0), "-3.0s");
        assert_eq!(esc("<a & \"b\">"), "&lt;a &amp; &quot;b&quot;&gt;");
    }
}
