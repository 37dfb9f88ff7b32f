//! The supervisor's pages (kepala seksi, kepala dinas): a service point live today, the
//! report over a period (the figures of `sopflow report`, as tables and server-drawn SVG
//! charts, and CSV), and the satisfaction index (IKM) with CSV. Aggregate figures only: the
//! core's `supervision`, `survey` and the audit crate's report decide what is counted and who
//! may read it; no case's data is shown. Their query strings carry service point ids, dates
//! and the weighting only (no personal data).

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sopflow_core::skm::{ELEMENTS, Tally, Weighting};
use sopflow_core::{supervision, survey};
use time::{Date, Duration, OffsetDateTime, UtcOffset};

use super::now;
use crate::WebState;
use crate::i18n::Lang;
use crate::people::{Chrome, Officer};

/// Longest period a page computes at once (the report reads every case of the point).
pub const MAX_DAYS: i64 = 400;

fn hm(at: OffsetDateTime, offset: UtcOffset) -> String {
    let t = at.to_offset(offset);
    format!("{:02}:{:02}", t.hour(), t.minute())
}

fn parse_day(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text.trim(), &format).ok()
}

fn chart_or_none(svg: Result<String, sopflow_charts::ChartError>) -> Option<String> {
    match svg {
        Ok(svg) => Some(svg),
        Err(e) => {
            tracing::warn!(error = %e, "supervisor page: chart not drawn");
            None
        }
    }
}

// ---------------------------------------------------------------- live

/// A point the supervisor may choose.
pub struct PointLink {
    pub id: String,
    pub name: String,
}

#[derive(Template)]
#[template(path = "supervisor_choose.html")]
struct ChoosePage {
    c: Chrome,
    points: Vec<PointLink>,
}

pub struct StepRow {
    pub service: String,
    pub step: String,
    pub budget: String,
    pub open: i64,
    pub overdue: i64,
}

pub struct QueueRow {
    pub service: String,
    pub name: String,
    pub prefix: String,
    pub waiting: usize,
    pub oldest: String,
}

pub struct BreachRow {
    pub registration: String,
    pub service: String,
    pub step: String,
    pub due: String,
    pub late: String,
}

pub struct CounterRow {
    pub name: String,
    pub number: String,
    pub at: String,
    /// Who works it now (staff user names), and who made its last call.
    pub officers: String,
    pub caller: String,
}

#[derive(Template)]
#[template(path = "supervisor_live.html")]
struct LivePage {
    c: Chrome,
    point_id: String,
    point_name: String,
    live: LiveView,
}

#[derive(Template)]
#[template(path = "supervisor_live_content.html")]
struct LiveContent {
    c: Chrome,
    live: LiveView,
}

pub struct LiveView {
    pub as_of: String,
    pub steps: Vec<StepRow>,
    pub queues: Vec<QueueRow>,
    pub breaches: Vec<BreachRow>,
    pub breach_total: i64,
    pub completed_today: usize,
    /// Numbers waiting in all queues.
    pub waiting_total: usize,
    /// (hour, count) from the first hour shown to the current one.
    pub hours: Vec<(String, u32)>,
    /// The per-hour chart, drawn by `sopflow-charts` from numbers and hour labels.
    pub hours_chart: Option<String>,
    pub counters: Vec<CounterRow>,
}

/// `GET /pantau`: the service points the supervisor reads; one alone opens at once.
pub async fn choose(State(state): State<WebState>, officer: Officer) -> Response {
    let points = match supervision::points(&state.runtime, &officer.session.user).await {
        Ok(p) => p,
        Err(e) => return super::errors::query(officer.lang, e),
    };
    if points.is_empty() {
        let m = officer.lang.msg();
        return super::errors::forbidden(officer.lang, m.sv_not_supervisor);
    }
    if let [one] = points.as_slice() {
        return Redirect::to(&format!("/pantau/{}", one.id)).into_response();
    }
    let page = ChoosePage {
        c: officer.chrome("/pantau", "supervise"),
        points: points
            .iter()
            .map(|p| PointLink {
                id: p.id.clone(),
                name: p.name.clone(),
            })
            .collect(),
    };
    crate::html(StatusCode::OK, page.render())
}

async fn live_view(
    state: &WebState,
    officer: &Officer,
    point: &str,
) -> Result<(String, LiveView), Response> {
    let lang = officer.lang;
    let m = lang.msg();
    let at = now();
    let live = supervision::live(&state.runtime, &officer.session.user, point, at)
        .await
        .map_err(|e| super::errors::query(lang, e))?;
    let offset = live.point.utc_offset;
    let none = || "—".to_owned();
    let steps = live
        .steps
        .iter()
        .map(|s| StepRow {
            service: s.service.clone(),
            step: s.step_name.clone(),
            budget: s
                .budget_seconds
                .map(|b| sopflow_charts::duration(b as f64))
                .unwrap_or_else(none),
            open: s.open,
            overdue: s.overdue,
        })
        .collect();
    let services: std::collections::BTreeMap<&str, &str> = live
        .steps
        .iter()
        .map(|s| (s.sop_id.as_str(), s.service.as_str()))
        .collect();
    let queues = live
        .queues
        .iter()
        .map(|q| QueueRow {
            service: services
                .get(q.sop_id.as_str())
                .map_or_else(|| q.sop_id.clone(), |s| (*s).to_owned()),
            name: q.name.clone(),
            prefix: q.prefix.clone(),
            waiting: q.waiting,
            oldest: q
                .oldest_since
                .map(|s| {
                    format!(
                        "{} ({} {})",
                        sopflow_charts::duration((at - s).as_seconds_f64().max(0.0)),
                        m.sv_since,
                        hm(s, offset)
                    )
                })
                .unwrap_or_else(none),
        })
        .collect();
    let breaches = live
        .breaches
        .iter()
        .map(|b| BreachRow {
            registration: b.registration.clone().unwrap_or_else(none),
            service: b.service.clone(),
            step: b.step_name.clone(),
            due: b.due_at.map(|d| hm(d, offset)).unwrap_or_else(none),
            late: b
                .due_at
                .map(|d| sopflow_charts::duration((at - d).as_seconds_f64().max(0.0)))
                .unwrap_or_else(none),
        })
        .collect();
    let current = usize::from(at.to_offset(offset).hour());
    let first = live
        .completed_per_hour
        .iter()
        .position(|&n| n > 0)
        .unwrap_or(current)
        .min(current)
        .min(7);
    let hours: Vec<(String, u32)> = (first..=current)
        .map(|h| (format!("{h:02}:00"), live.completed_per_hour[h]))
        .collect();
    let hours_chart = chart_or_none(sopflow_charts::bars(&sopflow_charts::BarChart {
        title: m.sv_completed_per_hour.to_owned(),
        value_label: m.sv_cases.to_owned(),
        categories: hours.iter().map(|(h, _)| h.clone()).collect(),
        series: vec![sopflow_charts::Series {
            name: m.sv_completed.to_owned(),
            values: hours.iter().map(|(_, n)| Some(f64::from(*n))).collect(),
            intervals: Vec::new(),
        }],
        ..sopflow_charts::BarChart::default()
    }));
    // Who staffs each counter now and who called there last (staff names, no citizen's).
    let staff = sopflow_core::staffing::staffing(
        &state.runtime,
        &officer.session.user,
        point,
        &state.sessions,
        at,
    )
    .await
    .map_err(|e| super::errors::query(lang, e))?;
    let counters = staff
        .iter()
        .map(|c| CounterRow {
            name: c.counter.name.clone(),
            number: c
                .last_call
                .as_ref()
                .map(|l| l.number.clone())
                .unwrap_or_else(none),
            at: c
                .last_call
                .as_ref()
                .map(|l| hm(l.at, offset))
                .unwrap_or_else(none),
            officers: if c.officers.is_empty() {
                none()
            } else {
                c.officers.join(", ")
            },
            caller: c.last_caller().map_or_else(none, str::to_owned),
        })
        .collect();
    Ok((
        live.point.name.clone(),
        LiveView {
            as_of: hm(at, offset),
            steps,
            queues,
            breaches,
            breach_total: live.breach_total,
            completed_today: live.completed_today,
            waiting_total: live.queues.iter().map(|q| q.waiting).sum(),
            hours,
            hours_chart,
            counters,
        },
    ))
}

/// `GET /pantau/{point}`: the live page, refreshing itself.
pub async fn live(
    State(state): State<WebState>,
    officer: Officer,
    Path(point): Path<String>,
) -> Response {
    let (point_name, live) = match live_view(&state, &officer, &point).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let page = LivePage {
        c: officer.chrome(&format!("/pantau/{point}"), "supervise"),
        point_id: point,
        point_name,
        live,
    };
    crate::html(StatusCode::OK, page.render())
}

/// `GET /pantau/{point}/isi`: the live figures alone, for htmx's polling.
pub async fn live_content(
    State(state): State<WebState>,
    officer: Officer,
    Path(point): Path<String>,
) -> Response {
    let (_, live) = match live_view(&state, &officer, &point).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let page = LiveContent {
        c: officer.chrome(&format!("/pantau/{point}"), "supervise"),
        live,
    };
    crate::html(StatusCode::OK, page.render())
}

// ---------------------------------------------------------------- period

/// The period form of the report and the IKM pages.
#[derive(Deserialize, Default)]
pub struct PeriodQuery {
    tempat: Option<String>,
    dari: Option<String>,
    sampai: Option<String>,
    bobot: Option<String>,
}

/// A period as asked: the typed values, their errors, and when valid the days.
pub struct Period {
    pub point: String,
    pub from_text: String,
    pub to_text: String,
    pub from_error: Option<&'static str>,
    pub to_error: Option<&'static str>,
    pub days: Option<(Date, Date)>,
}

impl Period {
    fn query(&self, weighting: Option<Weighting>) -> String {
        let mut pairs = vec![
            ("tempat", self.point.as_str()),
            ("dari", self.from_text.as_str()),
            ("sampai", self.to_text.as_str()),
        ];
        if let Some(w) = weighting {
            pairs.push(("bobot", w.id()));
        }
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }
}

/// The period asked for, checked: the days (default: this month so far at the first point),
/// the point among those supervised (`all` allowed where `any_point`).
fn period(
    q: &PeriodQuery,
    points: &[std::sync::Arc<sopflow_core::offices::ServicePoint>],
    any_point: bool,
    lang: Lang,
) -> Result<Period, Response> {
    let m = lang.msg();
    let first = points
        .first()
        .ok_or_else(|| super::errors::forbidden(lang, m.sv_not_supervisor))?;
    let point = match q.tempat.as_deref().filter(|p| !p.is_empty()) {
        None if any_point => "semua".to_owned(),
        None => first.id.clone(),
        Some("semua") if any_point => "semua".to_owned(),
        Some(p) if points.iter().any(|x| x.id == p) => p.to_owned(),
        // Not one of theirs: as for a service point that does not exist.
        Some(_) => return Err(super::errors::forbidden(lang, m.sv_not_supervisor)),
    };
    let offset = points
        .iter()
        .find(|p| p.id == point)
        .unwrap_or(first)
        .utc_offset;
    let today = now().to_offset(offset).date();
    let month_start = today.replace_day(1).unwrap_or(today);
    let from_text = q
        .dari
        .clone()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| survey::day_text(month_start));
    let to_text = q
        .sampai
        .clone()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| survey::day_text(today));
    let from = parse_day(&from_text);
    let to = parse_day(&to_text);
    let mut out = Period {
        point,
        from_text: from_text.chars().take(20).collect(),
        to_text: to_text.chars().take(20).collect(),
        from_error: from.is_none().then_some(m.sv_bad_date),
        to_error: to.is_none().then_some(m.sv_bad_date),
        days: None,
    };
    if let (Some(from), Some(to)) = (from, to) {
        if to < from {
            out.to_error = Some(m.sv_period_backwards);
        } else if (to - from).whole_days() > MAX_DAYS {
            out.to_error = Some(m.sv_period_too_long);
        } else {
            out.days = Some((from, to));
        }
    }
    Ok(out)
}

fn csv_cell(text: &str) -> String {
    // A cell a spreadsheet would read as a formula is kept as text.
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

fn csv_line(cells: &[String]) -> String {
    let mut line = cells
        .iter()
        .map(|c| csv_cell(c))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

fn csv_response(name: &str, body: String) -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

// ---------------------------------------------------------------- report

pub struct ReportStep {
    pub name: String,
    pub budget: String,
    pub visits: u64,
    pub p50: String,
    pub p90: String,
    pub over_budget: u64,
    pub breaches: u64,
    /// `red` when the p90 is over the budget.
    pub tone: &'static str,
}

pub struct ReportRate {
    pub label: String,
    pub cases: u64,
    pub percent: String,
}

pub struct ReportVersion {
    pub service: String,
    pub version: u32,
    pub cases: u64,
    pub completed: u64,
    pub cancelled: u64,
    pub running: u64,
    pub total_breaches: u64,
    pub steps: Vec<ReportStep>,
    pub returns: Vec<ReportRate>,
    pub consultations: Vec<ReportRate>,
    /// p50 and p90 per step against its budget, drawn by `sopflow-charts`.
    pub time_chart: Option<String>,
    pub rate_chart: Option<String>,
}

#[derive(Template)]
#[template(path = "supervisor_report.html")]
struct ReportPage {
    c: Chrome,
    points: Vec<PointLink>,
    period: Period,
    versions: Vec<ReportVersion>,
    csv_href: String,
}

async fn report_figures(
    state: &WebState,
    officer: &Officer,
    q: &PeriodQuery,
) -> Result<
    (
        Vec<PointLink>,
        Period,
        Vec<sopflow_audit::report::SopReport>,
    ),
    Response,
> {
    let lang = officer.lang;
    let points = supervision::points(&state.runtime, &officer.session.user)
        .await
        .map_err(|e| super::errors::query(lang, e))?;
    let period = period(q, &points, false, lang)?;
    let links = points
        .iter()
        .map(|p| PointLink {
            id: p.id.clone(),
            name: p.name.clone(),
        })
        .collect();
    let Some((from, to)) = period.days else {
        return Ok((links, period, Vec::new()));
    };
    let offset = points
        .iter()
        .find(|p| p.id == period.point)
        .map_or(UtcOffset::UTC, |p| p.utc_offset);
    let start = from.midnight().assume_offset(offset);
    let end = (to + Duration::days(1)).midnight().assume_offset(offset);
    let reports = sopflow_audit::report::report_opened(
        &state.runtime.store,
        None,
        None,
        Some(&period.point),
        Some((start, end)),
    )
    .await
    .map_err(|e| {
        tracing::error!(error = %e, "supervisor report failed");
        super::errors::internal(lang)
    })?;
    Ok((
        links,
        period,
        reports.into_iter().filter(|r| r.cases > 0).collect(),
    ))
}

async fn title_of(state: &WebState, sop_id: &str, version: u32) -> String {
    let found = state
        .runtime
        .registry
        .get(&state.runtime.store, sop_id, version)
        .await
        .ok()
        .flatten();
    found.map_or_else(
        || sop_id.to_owned(),
        |d| d.sop.document().header.title.clone(),
    )
}

fn percent(rate: f64) -> String {
    format!("{:.1}%", rate * 100.0)
}

/// `GET /laporan`: the report of a service point over a period.
pub async fn report(
    State(state): State<WebState>,
    officer: Officer,
    Query(q): Query<PeriodQuery>,
) -> Response {
    let m = officer.lang.msg();
    let (points, period, reports) = match report_figures(&state, &officer, &q).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    let none = || "—".to_owned();
    let mut versions = Vec::new();
    for r in reports {
        let service = title_of(&state, &r.sop_id, r.version).await;
        let measured: Vec<&sopflow_audit::report::StepReport> =
            r.steps.iter().filter(|s| s.visits > 0).collect();
        let time_chart = (!measured.is_empty()).then(|| {
            let values = |f: fn(&sopflow_audit::report::StepReport) -> Option<f64>| {
                measured.iter().map(|s| f(s)).collect::<Vec<_>>()
            };
            chart_or_none(sopflow_charts::bars(&sopflow_charts::BarChart {
                title: format!("{service}: {}", m.sv_time_chart),
                value_label: m.sv_time_axis.to_owned(),
                categories: measured.iter().map(|s| s.name.clone()).collect(),
                series: vec![
                    sopflow_charts::Series {
                        name: "p50".into(),
                        values: values(|s| s.p50_seconds),
                        intervals: Vec::new(),
                    },
                    sopflow_charts::Series {
                        name: "p90".into(),
                        values: values(|s| s.p90_seconds),
                        intervals: Vec::new(),
                    },
                ],
                marks: Some(sopflow_charts::Marks {
                    name: m.sv_budget.to_owned(),
                    values: measured
                        .iter()
                        .map(|s| s.budget_seconds.map(|b| b as f64))
                        .collect(),
                }),
                format: sopflow_charts::Format::Duration,
                ..sopflow_charts::BarChart::default()
            }))
        });
        let returns: Vec<ReportRate> = r
            .loops
            .iter()
            .map(|l| ReportRate {
                label: l.label.clone(),
                cases: l.rate.cases,
                percent: percent(l.rate.rate),
            })
            .collect();
        let consultations: Vec<ReportRate> = r
            .consultations
            .iter()
            .map(|c| ReportRate {
                label: c.name.clone(),
                cases: c.rate.cases,
                percent: percent(c.rate.rate),
            })
            .collect();
        let rates: Vec<(String, f64)> = r
            .loops
            .iter()
            .map(|l| (l.label.clone(), l.rate.rate))
            .chain(
                r.consultations
                    .iter()
                    .map(|c| (c.name.clone(), c.rate.rate)),
            )
            .collect();
        let rate_chart = (!rates.is_empty()).then(|| {
            chart_or_none(sopflow_charts::bars(&sopflow_charts::BarChart {
                title: format!("{service}: {}", m.sv_rate_chart),
                value_label: m.sv_share_of_cases.to_owned(),
                categories: rates.iter().map(|(l, _)| l.clone()).collect(),
                series: vec![sopflow_charts::Series {
                    name: m.sv_share_of_cases.to_owned(),
                    values: rates.iter().map(|(_, v)| Some(*v)).collect(),
                    intervals: Vec::new(),
                }],
                max: Some(1.0),
                format: sopflow_charts::Format::Percent,
                ..sopflow_charts::BarChart::default()
            }))
        });
        let steps = r
            .steps
            .iter()
            .map(|s| ReportStep {
                name: s.name.clone(),
                budget: s
                    .budget_seconds
                    .map(|b| sopflow_charts::duration(b as f64))
                    .unwrap_or_else(none),
                visits: s.visits,
                p50: s
                    .p50_seconds
                    .map(sopflow_charts::duration)
                    .unwrap_or_else(none),
                p90: s
                    .p90_seconds
                    .map(sopflow_charts::duration)
                    .unwrap_or_else(none),
                over_budget: s.over_budget,
                breaches: s.breaches,
                tone: match (s.p90_seconds, s.budget_seconds) {
                    (Some(p), Some(b)) if p > b as f64 => "red",
                    _ => "",
                },
            })
            .collect();
        versions.push(ReportVersion {
            service,
            version: r.version,
            cases: r.cases,
            completed: r.completed,
            cancelled: r.cancelled,
            running: r.running,
            total_breaches: r.total_budget_breaches,
            steps,
            returns,
            consultations,
            time_chart: time_chart.flatten(),
            rate_chart: rate_chart.flatten(),
        });
    }
    let status = if period.days.is_some() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = ReportPage {
        c: officer.chrome("/laporan", "report"),
        csv_href: format!("/laporan/csv?{}", period.query(None)),
        points,
        period,
        versions,
    };
    crate::html(status, page.render())
}

/// `GET /laporan/csv`: the same figures as CSV, one line per step, loop and consultation.
pub async fn report_csv(
    State(state): State<WebState>,
    officer: Officer,
    Query(q): Query<PeriodQuery>,
) -> Response {
    let (_, period, reports) = match report_figures(&state, &officer, &q).await {
        Ok(v) => v,
        Err(r) => return r,
    };
    if period.days.is_none() {
        return super::errors::message(
            officer.lang,
            StatusCode::UNPROCESSABLE_ENTITY,
            officer.lang.msg().err_invalid,
            period
                .from_error
                .or(period.to_error)
                .unwrap_or(officer.lang.msg().sv_bad_date),
            Some(("/laporan", officer.lang.msg().nav_report)),
        );
    }
    let opt = |v: Option<f64>| v.map(|x| x.to_string()).unwrap_or_default();
    let mut body = csv_line(
        &[
            "service_point",
            "from",
            "to",
            "sop_id",
            "version",
            "kind",
            "id",
            "name",
            "budget_seconds",
            "visits",
            "p50_seconds",
            "p90_seconds",
            "over_budget",
            "breaches",
            "cases",
            "rate",
        ]
        .map(str::to_owned),
    );
    for r in &reports {
        let head = [
            period.point.clone(),
            period.from_text.clone(),
            period.to_text.clone(),
            r.sop_id.clone(),
            r.version.to_string(),
        ];
        let line = |rest: [String; 11]| {
            let mut cells = head.to_vec();
            cells.extend(rest);
            csv_line(&cells)
        };
        body.push_str(&line([
            "version".into(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            r.total_budget_breaches.to_string(),
            r.cases.to_string(),
            String::new(),
        ]));
        for s in &r.steps {
            body.push_str(&line([
                "step".into(),
                s.step.clone(),
                s.name.clone(),
                s.budget_seconds.map(|b| b.to_string()).unwrap_or_default(),
                s.visits.to_string(),
                opt(s.p50_seconds),
                opt(s.p90_seconds),
                s.over_budget.to_string(),
                s.breaches.to_string(),
                String::new(),
                String::new(),
            ]));
        }
        for l in &r.loops {
            body.push_str(&line([
                "return".into(),
                format!("{}>{}", l.from, l.to),
                l.label.clone(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                l.rate.cases.to_string(),
                l.rate.rate.to_string(),
            ]));
        }
        for c in &r.consultations {
            body.push_str(&line([
                "consultation".into(),
                c.step.clone(),
                c.name.clone(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                c.rate.cases.to_string(),
                c.rate.rate.to_string(),
            ]));
        }
    }
    csv_response(
        &format!(
            "laporan-{}-{}-{}.csv",
            period.point, period.from_text, period.to_text
        ),
        body,
    )
}

// ---------------------------------------------------------------- IKM

pub struct IkmLine {
    pub service: String,
    pub point: String,
    pub respondents: u64,
    pub averages: Vec<String>,
    pub index: String,
    pub grade: String,
    pub grade_words: String,
    pub total: bool,
}

#[derive(Template)]
#[template(path = "supervisor_ikm.html")]
struct IkmPage {
    c: Chrome,
    points: Vec<PointLink>,
    period: Period,
    exact: bool,
    elements: Vec<(String, String)>,
    lines: Vec<IkmLine>,
    /// The element averages of all answers, drawn by `sopflow-charts`.
    chart: Option<String>,
    csv_href: String,
}

struct IkmFigures {
    points: Vec<PointLink>,
    period: Period,
    weighting: Weighting,
    /// (service, point name, tally), then the total.
    rows: Vec<(String, String, String, String, Tally)>,
    total: Tally,
}

async fn ikm_figures(
    state: &WebState,
    officer: &Officer,
    q: &PeriodQuery,
) -> Result<IkmFigures, Response> {
    let lang = officer.lang;
    let user = &officer.session.user;
    let points = supervision::points(&state.runtime, user)
        .await
        .map_err(|e| super::errors::query(lang, e))?;
    let period = period(q, &points, true, lang)?;
    let weighting = q
        .bobot
        .as_deref()
        .and_then(Weighting::parse)
        .unwrap_or_default();
    let links: Vec<PointLink> = points
        .iter()
        .map(|p| PointLink {
            id: p.id.clone(),
            name: p.name.clone(),
        })
        .collect();
    let mut rows = Vec::new();
    let mut total = Tally::default();
    if let Some((from, to)) = period.days {
        let only = (period.point != "semua").then_some(period.point.as_str());
        let found = survey::ikm(&state.runtime, user, from, to, only)
            .await
            .map_err(|e| super::errors::query(lang, e))?;
        for r in found {
            let name = links
                .iter()
                .find(|p| p.id == r.service_point)
                .map_or_else(|| r.service_point.clone(), |p| p.name.clone());
            total.merge(&r.tally);
            rows.push((r.sop_id, r.service, r.service_point, name, r.tally));
        }
    }
    Ok(IkmFigures {
        points: links,
        period,
        weighting,
        rows,
        total,
    })
}

fn ikm_line(
    lang: Lang,
    service: &str,
    point: &str,
    tally: &Tally,
    weighting: Weighting,
    total: bool,
) -> IkmLine {
    let averages = tally
        .averages()
        .map(|a| a.iter().map(|v| format!("{v:.2}")).collect())
        .unwrap_or_else(|| vec!["—".to_owned(); 9]);
    let ikm = tally.ikm(weighting);
    IkmLine {
        service: service.to_owned(),
        point: point.to_owned(),
        respondents: tally.respondents,
        averages,
        index: ikm.map_or_else(|| "—".to_owned(), |i| i.text()),
        grade: ikm.map_or_else(String::new, |i| i.grade.letter().to_owned()),
        grade_words: ikm.map_or_else(String::new, |i| match lang {
            Lang::Id => i.grade.words_id().to_owned(),
            Lang::En => i.grade.words_en().to_owned(),
        }),
        total,
    }
}

fn element_name(lang: Lang, i: usize) -> String {
    match lang {
        Lang::Id => ELEMENTS[i].name_id.to_owned(),
        Lang::En => ELEMENTS[i].name_en.to_owned(),
    }
}

/// `GET /ikm`: the satisfaction index per service and service point over a period.
pub async fn ikm(
    State(state): State<WebState>,
    officer: Officer,
    Query(q): Query<PeriodQuery>,
) -> Response {
    let lang = officer.lang;
    let m = lang.msg();
    let f = match ikm_figures(&state, &officer, &q).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let mut lines: Vec<IkmLine> = f
        .rows
        .iter()
        .map(|(_, service, _, point, t)| ikm_line(lang, service, point, t, f.weighting, false))
        .collect();
    if f.rows.len() > 1 {
        lines.push(ikm_line(
            lang,
            m.sv_all_services,
            "",
            &f.total,
            f.weighting,
            true,
        ));
    }
    let chart = f.total.averages().and_then(|a| {
        chart_or_none(sopflow_charts::bars(&sopflow_charts::BarChart {
            title: m.sv_ikm_chart.to_owned(),
            value_label: m.sv_average.to_owned(),
            categories: (0..9)
                .map(|i| format!("U{} {}", i + 1, element_name(lang, i)))
                .collect(),
            series: vec![sopflow_charts::Series {
                name: m.sv_average.to_owned(),
                values: a.iter().map(|v| Some(*v)).collect(),
                intervals: Vec::new(),
            }],
            max: Some(4.0),
            ..sopflow_charts::BarChart::default()
        }))
    });
    let status = if f.period.days.is_some() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = IkmPage {
        c: officer.chrome("/ikm", "ikm"),
        csv_href: format!("/ikm/csv?{}", f.period.query(Some(f.weighting))),
        exact: f.weighting == Weighting::Exact,
        elements: (0..9)
            .map(|i| (format!("U{}", i + 1), element_name(lang, i)))
            .collect(),
        points: f.points,
        period: f.period,
        lines,
        chart,
    };
    crate::html(status, page.render())
}

/// `GET /ikm/csv`: the same figures as CSV.
pub async fn ikm_csv(
    State(state): State<WebState>,
    officer: Officer,
    Query(q): Query<PeriodQuery>,
) -> Response {
    let lang = officer.lang;
    let f = match ikm_figures(&state, &officer, &q).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    if f.period.days.is_none() {
        return super::errors::message(
            lang,
            StatusCode::UNPROCESSABLE_ENTITY,
            lang.msg().err_invalid,
            f.period
                .from_error
                .or(f.period.to_error)
                .unwrap_or(lang.msg().sv_bad_date),
            Some(("/ikm", lang.msg().nav_ikm)),
        );
    }
    let mut head: Vec<String> = ["from", "to", "sop_id", "service", "service_point"]
        .map(str::to_owned)
        .to_vec();
    head.push("respondents".into());
    head.extend(ELEMENTS.iter().map(|e| format!("nrr_{}", e.id)));
    head.extend(["weighting", "ikm", "grade"].map(str::to_owned));
    let mut body = csv_line(&head);
    let mut push = |sop: &str, service: &str, point: &str, t: &Tally| {
        let mut cells = vec![
            f.period.from_text.clone(),
            f.period.to_text.clone(),
            sop.to_owned(),
            service.to_owned(),
            point.to_owned(),
            t.respondents.to_string(),
        ];
        match t.averages() {
            Some(a) => cells.extend(a.iter().map(|v| format!("{v:.4}"))),
            None => cells.extend(std::iter::repeat_n(String::new(), 9)),
        }
        cells.push(f.weighting.id().to_owned());
        let ikm = t.ikm(f.weighting);
        cells.push(ikm.map(|i| i.text()).unwrap_or_default());
        cells.push(ikm.map(|i| i.grade.letter().to_owned()).unwrap_or_default());
        body.push_str(&csv_line(&cells));
    };
    for (sop, service, point, _, t) in &f.rows {
        push(sop, service, point, t);
    }
    if f.rows.len() > 1 {
        push("", "", "", &f.total);
    }
    csv_response(
        &format!(
            "ikm-{}-{}-{}.csv",
            f.period.point, f.period.from_text, f.period.to_text
        ),
        body,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_kept_as_text() {
        assert_eq!(csv_cell("Periksa"), "Periksa");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_line(&["x".into(), "y\nz".into()]), "x,\"y\nz\"\r\n");
    }

    #[test]
    fn days_are_read_as_typed_by_a_date_input() {
        assert_eq!(
            parse_day("2026-12-01"),
            Some(time::macros::date!(2026 - 12 - 01))
        );
        assert_eq!(parse_day("01/12/2026"), None);
        assert_eq!(parse_day("2026-02-30"), None);
    }
}
