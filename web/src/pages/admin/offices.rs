//! Service points (`/kelola/tempat`): each with its time zone, calendar, counters (who works
//! each one now, who called there last), the queues called there and the cases open there;
//! adding one and changing one through [`sopflow_core::offices::put_point`], the function the
//! API's `PUT /service-points/{id}` calls. A refusal is shown beside its field, with what was
//! typed kept.

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use sopflow_core::offices::{self, CounterConfig, OfficeError, PointChange, ServicePoint};
use sopflow_core::staffing;
use sopflow_store::PointSource;

use super::{admin_only, local};
use crate::WebState;
use crate::i18n::Msg;
use crate::pages::{errors, now};
use crate::people::{Chrome, Officer, Posted};

/// A counter as the list shows it.
pub struct CounterRow {
    pub id: String,
    pub name: String,
    /// Who works it now (live sessions at it), joined.
    pub officers: String,
    /// The last call today: number, time, and who made it.
    pub last: Option<(String, String, String)>,
}

pub struct PointRow {
    pub id: String,
    pub name: String,
    pub timezone: String,
    pub calendar: Option<String>,
    pub default: bool,
    pub by_config: bool,
    pub counters: Vec<CounterRow>,
    /// `prefix name (waiting)` of each queue called there.
    pub queues: Vec<String>,
    pub open_cases: i64,
    /// Its edit form (points the API keeps).
    pub form: PointForm,
}

/// A service point form's entries and the error beside each field.
#[derive(Default, Clone)]
pub struct PointForm {
    /// The id of the point changed; empty for a new one.
    pub existing: String,
    pub id: String,
    pub name: String,
    pub timezone: String,
    pub calendar: String,
    /// One counter a line: `id = Name` or `Name`.
    pub counters: String,
    pub errors: Vec<(&'static str, String)>,
}

impl PointForm {
    pub fn error(&self, field: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, e)| e.as_str())
    }

    /// Whether the calendar typed is none of `known` (kept in the form to show its error).
    pub fn calendar_unknown(&self, known: &[String]) -> bool {
        !self.calendar.is_empty() && !known.contains(&self.calendar)
    }

    /// The HTML ids of this form's fields: `new-…` or `<point>-…`.
    pub fn key(&self) -> &str {
        if self.existing.is_empty() {
            "new"
        } else {
            &self.existing
        }
    }

    fn of(point: &ServicePoint) -> Self {
        PointForm {
            existing: point.id.clone(),
            id: point.id.clone(),
            name: point.name.clone(),
            timezone: point.timezone.clone(),
            calendar: point.calendar.clone().unwrap_or_default(),
            counters: point
                .counters
                .iter()
                .map(|c| format!("{} = {}", c.id, c.name))
                .collect::<Vec<_>>()
                .join("\n"),
            errors: Vec::new(),
        }
    }
}

#[derive(Template)]
#[template(path = "admin_offices.html")]
struct OfficesPage {
    c: Chrome,
    admin_css: String,
    points: Vec<PointRow>,
    calendars: Vec<String>,
    zones: &'static [&'static str],
    new_form: PointForm,
    flash: Option<String>,
}

/// The zones offered (any the configuration takes is accepted).
const ZONES: &[&str] = &[
    "Asia/Jakarta",
    "Asia/Makassar",
    "Asia/Jayapura",
    "WIB",
    "WITA",
    "WIT",
    "UTC",
];

#[derive(serde::Deserialize)]
pub struct ListQuery {
    /// The service point just saved (an id, nothing personal).
    ok: Option<String>,
}

/// `GET /kelola/tempat`.
pub async fn list(
    State(state): State<WebState>,
    officer: Officer,
    axum::extract::Query(q): axum::extract::Query<ListQuery>,
) -> Response {
    if let Err(r) = admin_only(&officer) {
        return r;
    }
    let flash =
        q.ok.filter(|id| offices::is_id(id))
            .map(|id| format!("{} {id}.", officer.lang.msg().off_saved));
    render(&state, &officer, StatusCode::OK, None, flash).await
}

/// The page, with `refused` (a form sent back with its errors) in place of its own.
async fn render(
    state: &WebState,
    officer: &Officer,
    status: StatusCode,
    refused: Option<PointForm>,
    flash: Option<String>,
) -> Response {
    let runtime = &state.runtime;
    let lang = officer.lang;
    let user = &officer.session.user;
    let at = now();
    let points = match runtime.offices.all(&runtime.store).await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "service points not read");
            return errors::internal(lang);
        }
    };
    let mut rows = Vec::with_capacity(points.len());
    for point in &points {
        let staff = match staffing::staffing(runtime, user, &point.id, &state.sessions, at).await {
            Ok(s) => s,
            // An admin who does not work there sees its counters, not who staffs them.
            Err(sopflow_core::queries::QueryError::Forbidden(_)) => {
                staffing::staff_of(point, &[], &[])
            }
            Err(e) => return errors::query(lang, e),
        };
        let open_cases = match staffing::open_cases(runtime, &point.id, at).await {
            Ok(n) => n,
            Err(e) => return errors::query(lang, e),
        };
        let queues = match sopflow_core::counters::public_board(runtime, &point.id, at).await {
            Ok(board) => board
                .queues
                .iter()
                .map(|q| format!("{} {} ({})", q.prefix, q.name, q.waiting.len()))
                .collect(),
            Err(e) => return errors::query(lang, e),
        };
        let counters = staff
            .iter()
            .map(|s| CounterRow {
                id: s.counter.id.clone(),
                name: s.counter.name.clone(),
                officers: s.officers.join(", "),
                last: s.last_call.as_ref().map(|call| {
                    (
                        call.number.clone(),
                        local(call.at, point.utc_offset),
                        call.called_by.clone().unwrap_or_else(|| "—".to_owned()),
                    )
                }),
            })
            .collect();
        let form = match &refused {
            Some(f) if f.existing == point.id => f.clone(),
            _ => PointForm::of(point),
        };
        rows.push(PointRow {
            id: point.id.clone(),
            name: point.name.clone(),
            timezone: point.timezone.clone(),
            calendar: point.calendar.clone(),
            default: point.id == runtime.offices.default_id(),
            by_config: point.source == PointSource::Config,
            counters,
            queues,
            open_cases,
            form,
        });
    }
    let new_form = match refused {
        Some(f) if f.existing.is_empty() => f,
        _ => PointForm {
            timezone: runtime.offices.default_timezone().to_owned(),
            ..PointForm::default()
        },
    };
    let page = OfficesPage {
        c: officer.chrome("/kelola/tempat", "admin"),
        admin_css: crate::assets::url("admin.css"),
        points: rows,
        calendars: runtime.calendars.ids(),
        zones: ZONES,
        new_form,
        flash,
    };
    crate::html(status, page.render())
}

/// The message beside a refused field, in the administrator's words.
fn field_message(m: &Msg, field: &str) -> &'static str {
    match field {
        "id" => m.off_bad_id,
        "name" => m.off_bad_name,
        "timezone" => m.off_bad_zone,
        "calendar" => m.off_bad_calendar,
        _ => m.off_bad_counters,
    }
}

/// `POST /kelola/tempat`: adds a service point (`asal` empty) or changes the one `asal`
/// names, through the core function the API's `PUT /service-points/{id}` calls.
pub async fn save(State(state): State<WebState>, posted: Posted) -> Response {
    let officer = &posted.officer;
    if let Err(r) = admin_only(officer) {
        return r;
    }
    let m = officer.lang.msg();
    let existing = posted.get("asal").unwrap_or("").trim().to_owned();
    let mut form = PointForm {
        // A change keeps its id: the posted `asal`, never a new one.
        id: if existing.is_empty() {
            posted.get("id").unwrap_or("").trim().to_owned()
        } else {
            existing.clone()
        },
        existing,
        name: posted.get("nama").unwrap_or("").to_owned(),
        timezone: posted.get("zona").unwrap_or("").trim().to_owned(),
        calendar: posted.get("kalender").unwrap_or("").trim().to_owned(),
        counters: posted.get("loket").unwrap_or("").to_owned(),
        errors: Vec::new(),
    };
    if !form.existing.is_empty() {
        match state
            .runtime
            .offices
            .get(&state.runtime.store, &form.existing)
            .await
        {
            Ok(Some(_)) => {}
            Ok(None) => return errors::not_found(officer.lang),
            Err(e) => {
                tracing::error!(error = %e, "service point not read");
                return errors::internal(officer.lang);
            }
        }
    } else if let Ok(Some(_)) = state
        .runtime
        .offices
        .get(&state.runtime.store, &form.id)
        .await
    {
        // Adding is not changing: an id in use is refused beside the id.
        form.errors.push(("id", m.off_id_taken.to_owned()));
        return render(&state, officer, StatusCode::CONFLICT, Some(form), None).await;
    }
    let change = PointChange {
        id: form.id.clone(),
        name: form.name.clone(),
        timezone: Some(form.timezone.clone()),
        calendar: Some(form.calendar.clone()),
        counters: CounterConfig::from_lines(&form.counters),
    };
    match offices::put_point(&state.runtime, change, now()).await {
        Ok((point, _)) => Redirect::to(&format!("/kelola/tempat?ok={}", point.id)).into_response(),
        Err(OfficeError::Invalid { field, reason, .. }) => {
            form.errors
                .push((field, format!("{} ({reason})", field_message(m, field))));
            render(
                &state,
                officer,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(form),
                None,
            )
            .await
        }
        Err(OfficeError::KeptByConfig(_)) => {
            form.errors.push(("name", m.off_kept_by_config.to_owned()));
            render(&state, officer, StatusCode::CONFLICT, Some(form), None).await
        }
        Err(OfficeError::Store(e)) => errors::runtime(officer.lang, e.into()),
    }
}
