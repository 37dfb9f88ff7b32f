//! Calendars (`/kelola/kalender`), read-only: each calendar of the calendars folder with its
//! content hash, the files it includes, its week, the days it is closed (and opened) in the
//! coming 12 months, the service points that keep it; and a check, "is it open at …" and
//! "N hari kerja from …", computed by the core's calendar functions the engine's budgets use.
//! The folder is read when the service starts: the page says how a calendar is changed. The
//! check's query string carries a calendar id, a date, a time and a number only.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use sopflow_calendar::{Calendar, ClosureKind, Hours};
use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time, Weekday};

use super::admin_only;
use crate::WebState;
use crate::i18n::Msg;
use crate::pages::{errors, now};
use crate::people::{Chrome, Officer};

/// Longest count of working days the check computes.
const MAX_DAYS: u32 = 400;

pub struct DayRow {
    pub date: String,
    pub weekday: &'static str,
    /// `libur_nasional`, `cuti_bersama`, `lokal`, or `buka` for a day opened.
    pub kind: &'static str,
    pub kind_label: &'static str,
    pub name: String,
    /// The hours of a day opened.
    pub hours: String,
}

pub struct CalendarCard {
    pub id: String,
    pub file: String,
    pub hash: String,
    pub hash_short: String,
    pub name: String,
    pub zone: String,
    pub includes: Vec<String>,
    /// (weekday, hours) Monday first.
    pub week: Vec<(&'static str, String)>,
    pub days: Vec<DayRow>,
    pub points: Vec<String>,
    /// The calendars that include it.
    pub included_by: Vec<String>,
    /// Why it does not load (then nothing else is shown of it).
    pub error: Option<String>,
    /// Why a service point may not keep it (an included file).
    pub not_for_points: Option<String>,
}

/// The check's form, its errors and its answers.
#[derive(Default)]
pub struct CheckForm {
    pub calendar: String,
    pub date: String,
    pub time: String,
    pub days: String,
    pub errors: Vec<(&'static str, String)>,
    /// "Open" or "closed", and the next opening.
    pub open: Option<(bool, String)>,
    /// The due time of the working days.
    pub due: Option<String>,
}

impl CheckForm {
    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, e)| e.as_str())
    }
}

#[derive(Template)]
#[template(path = "admin_calendars.html")]
struct CalendarsPage {
    c: Chrome,
    admin_css: String,
    cards: Vec<CalendarCard>,
    usable: Vec<String>,
    check: CheckForm,
    from: String,
    to: String,
}

#[derive(Deserialize, Default)]
pub struct CheckQuery {
    kalender: Option<String>,
    tanggal: Option<String>,
    jam: Option<String>,
    hari: Option<String>,
}

fn weekday(m: &Msg, day: Weekday) -> &'static str {
    match day {
        Weekday::Monday => m.cal_mon,
        Weekday::Tuesday => m.cal_tue,
        Weekday::Wednesday => m.cal_wed,
        Weekday::Thursday => m.cal_thu,
        Weekday::Friday => m.cal_fri,
        Weekday::Saturday => m.cal_sat,
        Weekday::Sunday => m.cal_sun,
    }
}

fn hm(seconds: u32) -> String {
    format!("{:02}:{:02}", seconds / 3600, seconds % 3600 / 60)
}

fn hours_text(m: &Msg, hours: &Hours) -> String {
    if hours.is_closed() {
        return m.cal_closed.to_owned();
    }
    hours
        .intervals()
        .iter()
        .map(|i| format!("{}–{}", hm(i.start()), hm(i.end())))
        .collect::<Vec<_>>()
        .join(", ")
}

fn day_text(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn at_text(m: &Msg, at: OffsetDateTime, calendar: &Calendar) -> String {
    let local = at.to_offset(calendar.zone().offset());
    format!(
        "{} {} {:02}:{:02} {}",
        weekday(m, local.weekday()),
        day_text(local.date()),
        local.hour(),
        local.minute(),
        calendar.zone().name()
    )
}

fn card(
    m: &Msg,
    overview: sopflow_core::calendars::CalendarOverview,
    from: Date,
    to: Date,
    points: Vec<String>,
) -> CalendarCard {
    let mut card = CalendarCard {
        id: overview.id,
        file: overview.file,
        hash: String::new(),
        hash_short: String::new(),
        name: String::new(),
        zone: String::new(),
        includes: overview.includes,
        week: Vec::new(),
        days: Vec::new(),
        points,
        included_by: Vec::new(),
        error: None,
        not_for_points: overview.for_service_points.err(),
    };
    let calendar = match overview.calendar {
        Ok(c) => c,
        Err(e) => {
            card.error = Some(e);
            return card;
        }
    };
    card.hash = calendar.content_hash().to_owned();
    card.hash_short = card.hash.chars().take(12).collect();
    card.name = calendar.name().unwrap_or_default().to_owned();
    card.zone = calendar.zone().name().to_owned();
    let mut day = Weekday::Monday;
    for _ in 0..7 {
        card.week
            .push((weekday(m, day), hours_text(m, calendar.weekday_hours(day))));
        day = day.next();
    }
    let mut days: Vec<(Date, DayRow)> = calendar
        .closures()
        .filter(|(d, _)| (from..=to).contains(d))
        .map(|(d, closure)| {
            let (kind, kind_label) = match closure.kind {
                ClosureKind::LiburNasional => (closure.kind.as_str(), m.cal_national),
                ClosureKind::CutiBersama => (closure.kind.as_str(), m.cal_cuti),
                ClosureKind::Lokal => (closure.kind.as_str(), m.cal_local),
            };
            (
                d,
                DayRow {
                    date: day_text(d),
                    weekday: weekday(m, d.weekday()),
                    kind,
                    kind_label,
                    name: closure.name.clone(),
                    hours: String::new(),
                },
            )
        })
        .collect();
    days.extend(
        calendar
            .openings()
            .filter(|(d, _)| (from..=to).contains(d))
            .map(|(d, opening)| {
                (
                    d,
                    DayRow {
                        date: day_text(d),
                        weekday: weekday(m, d.weekday()),
                        kind: "buka",
                        kind_label: m.cal_opened,
                        name: opening.name.clone(),
                        hours: hours_text(m, &opening.hours),
                    },
                )
            }),
    );
    days.sort_by_key(|(d, _)| *d);
    card.days = days.into_iter().map(|(_, row)| row).collect();
    card
}

fn parse_date(text: &str) -> Option<Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(text.trim(), &format).ok()
}

fn parse_time(text: &str) -> Option<Time> {
    let text = text.trim();
    if text.is_empty() {
        return Some(Time::from_hms(8, 0, 0).unwrap_or(Time::MIDNIGHT));
    }
    let format = time::macros::format_description!("[hour]:[minute]");
    Time::parse(text, &format).ok()
}

/// Runs the check asked in `q` on the core's calendars.
fn check(state: &WebState, m: &Msg, q: CheckQuery) -> CheckForm {
    let calendars = &state.runtime.calendars;
    let mut form = CheckForm {
        calendar: q.kalender.unwrap_or_default(),
        date: q.tanggal.unwrap_or_default(),
        time: q.jam.unwrap_or_default(),
        days: q.hari.unwrap_or_default(),
        ..CheckForm::default()
    };
    if form.calendar.is_empty() {
        return form;
    }
    let date = parse_date(&form.date);
    if date.is_none() {
        form.errors.push(("date", m.cal_bad_date.to_owned()));
    }
    let time = parse_time(&form.time);
    if time.is_none() {
        form.errors.push(("time", m.cal_bad_time.to_owned()));
    }
    let days = match form.days.trim() {
        "" => None,
        text => match text.parse::<u32>() {
            Ok(n) if n <= MAX_DAYS => Some(n),
            _ => {
                form.errors.push(("days", m.cal_bad_days.to_owned()));
                None
            }
        },
    };
    let (Some(date), Some(time)) = (date, time) else {
        return form;
    };
    let local = PrimitiveDateTime::new(date, time);
    let shown = |at: OffsetDateTime| match calendars
        .overview()
        .into_iter()
        .find(|c| c.id == form.calendar)
        .and_then(|c| c.calendar.ok())
    {
        Some(calendar) => at_text(m, at, &calendar),
        None => at.to_string(),
    };
    match calendars.open_at(&form.calendar, local) {
        Ok(answer) => {
            let next = answer
                .next_open
                .map(shown)
                .unwrap_or_else(|| "—".to_owned());
            form.open = Some((answer.open, next));
        }
        Err(e) => {
            form.errors.push(("calendar", e.to_string()));
            return form;
        }
    }
    if let Some(n) = days {
        match calendars.working_days_from(&form.calendar, local, n) {
            Ok(due) => form.due = Some(shown(due)),
            Err(e) => form.errors.push(("days", e.to_string())),
        }
    }
    form
}

/// `GET /kelola/kalender`, with the check's answer when one is asked.
pub async fn page(
    State(state): State<WebState>,
    officer: Officer,
    Query(q): Query<CheckQuery>,
) -> Response {
    if let Err(r) = admin_only(&officer) {
        return r;
    }
    let lang = officer.lang;
    let m = lang.msg();
    let runtime = &state.runtime;
    let points = match runtime.offices.all(&runtime.store).await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "service points not read");
            return errors::internal(lang);
        }
    };
    let today = now().to_offset(runtime.utc_offset).date();
    let to = today.saturating_add(Duration::days(365));
    let overview = runtime.calendars.overview();
    let usable = overview
        .iter()
        .filter(|c| c.calendar.is_ok())
        .map(|c| c.id.clone())
        .collect();
    let includers: Vec<(String, Vec<String>)> = overview
        .iter()
        .map(|o| (o.id.clone(), o.includes.clone()))
        .collect();
    let cards = overview
        .into_iter()
        .map(|o| {
            let included_by = includers
                .iter()
                .filter(|(_, inc)| inc.contains(&o.id))
                .map(|(id, _)| id.clone())
                .collect();
            let using = points
                .iter()
                .filter(|p| p.calendar.as_deref() == Some(o.id.as_str()))
                .map(|p| format!("{} ({})", p.name, p.id))
                .collect();
            CalendarCard {
                included_by,
                ..card(m, o, today, to, using)
            }
        })
        .collect();
    let check = check(&state, m, q);
    let status = if check.errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = CalendarsPage {
        c: officer.chrome("/kelola/kalender", "admin"),
        admin_css: crate::assets::url("admin.css"),
        cards,
        usable,
        check,
        from: day_text(today),
        to: day_text(to),
    };
    crate::html(status, page.render())
}
