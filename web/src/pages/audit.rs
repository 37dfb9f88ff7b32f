//! The auditor's pages (inspektorat): finding cases, a case's timeline as the audit replay
//! reconstructs it (who, when, documents, data, the guards and the branch taken, time against
//! the budget, incidents, the chain status of each event), revealing personal data with a
//! reason, and verifying the case. The background verification of all cases, the anchor,
//! exports and the access log are in [`super::audit_tools`].
//!
//! Everything shown comes from `sopflow_audit` (the replay re-checks every decision against
//! the SOP version the case is pinned to) and `sopflow_core::queries`/`access` (which cases the
//! auditor sees: those of the service points where they audit, masked). A reveal is recorded
//! in the audit-access log before anything unmasked is rendered, as the REST replay does.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;
use sopflow_audit::replay::{Replay, ReplayStep, replay_case};
use sopflow_audit::verify::{VerifyOptions, verify_store};
use sopflow_audit::{AuditError, Personal, Requester, record_access};
use sopflow_core::auth::{ADMIN, AUDITOR};
use sopflow_core::queries;
use sopflow_store::{CaseFilter, Page};
use time::{Date, OffsetDateTime, Time, UtcOffset};

use super::now;
use crate::WebState;
use crate::i18n::{Lang, Msg};
use crate::people::{Chrome, Officer, Posted};

/// Cases listed per page of a search.
pub const SEARCH_PAGE: u32 = 50;

/// The statuses a case can have, as the store names them.
const STATUSES: &[&str] = &["open", "incident", "completed", "cancelled"];

/// Auditors and admins read these pages (as the REST replay and verify); only auditors
/// reveal personal data or export.
pub(crate) fn require_reader(officer: &Officer) -> Result<(), Response> {
    let user = &officer.session.user;
    if user.is(AUDITOR) || user.is(ADMIN) {
        Ok(())
    } else {
        Err(super::errors::forbidden(
            officer.lang,
            officer.lang.msg().audit_only_auditors,
        ))
    }
}

pub(crate) fn requester(officer: &Officer) -> Requester {
    Requester {
        user: officer.session.user.name.clone(),
        role: if officer.session.user.is(AUDITOR) {
            AUDITOR.to_owned()
        } else {
            officer.session.user.role.clone()
        },
    }
}

/// A time as the pages show it, in the office's offset.
pub(crate) fn when(at: OffsetDateTime, offset: UtcOffset) -> String {
    at.to_offset(offset)
        .format(time::macros::format_description!(
            "[day]-[month]-[year] [hour]:[minute]:[second]"
        ))
        .unwrap_or_default()
}

/// `YYYY-MM-DD` (an `<input type=date>`) at local midnight; `Err` for anything else.
pub(crate) fn parse_day(text: &str, offset: UtcOffset) -> Result<Option<OffsetDateTime>, ()> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let day = Date::parse(
        text,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .map_err(|_| ())?;
    Ok(Some(day.with_time(Time::MIDNIGHT).assume_offset(offset)))
}

pub(crate) fn status_word(m: &Msg, status: &str) -> &'static str {
    match status {
        "open" => m.status_open,
        "incident" => m.status_incident,
        "completed" => m.status_completed,
        "cancelled" => m.status_cancelled,
        _ => m.audit_status_unknown,
    }
}

// ---------------------------------------------------------------------------------------
// Search

/// One option of a choice.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// A case found.
pub struct FoundRow {
    pub case_id: String,
    pub registration: String,
    pub service: String,
    pub version: u32,
    pub point: String,
    pub status: &'static str,
    pub status_class: String,
    pub opened: String,
    pub updated: String,
}

/// The search form as filled in.
#[derive(Default, Clone)]
pub struct SearchForm {
    pub number: String,
    pub sop: String,
    pub point: String,
    pub status: String,
    pub from: String,
    pub to: String,
}

#[derive(Template)]
#[template(path = "audit_search.html")]
struct SearchPage {
    c: Chrome,
    tab: &'static str,
    form: SearchForm,
    sops: Vec<Choice>,
    points: Vec<Choice>,
    statuses: Vec<Choice>,
    rows: Vec<FoundRow>,
    searched: bool,
    next: Option<String>,
    errors: Vec<(&'static str, &'static str)>,
}

impl SearchPage {
    fn error(&self, field: &str) -> Option<&'static str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, e)| *e)
    }
}

/// `GET /periksa`: the search form and the first cases the auditor sees.
pub async fn search_page(State(state): State<WebState>, officer: Officer) -> Response {
    if let Err(r) = require_reader(&officer) {
        return r;
    }
    search(&state, &officer, SearchForm::default(), None, false).await
}

/// `POST /periksa`: the cases matching the form (posted: a registration number is not for
/// URLs and logs).
pub async fn search_submit(State(state): State<WebState>, posted: Posted) -> Response {
    if let Err(r) = require_reader(&posted.officer) {
        return r;
    }
    let get = |name: &str| posted.get(name).unwrap_or("").trim().to_owned();
    let form = SearchForm {
        number: get("nomor"),
        sop: get("sop"),
        point: get("titik"),
        status: get("status"),
        from: get("dari"),
        to: get("sampai"),
    };
    let after = posted
        .get("setelah")
        .filter(|a| !a.is_empty())
        .map(str::to_owned);
    search(&state, &posted.officer, form, after, true).await
}

async fn search(
    state: &WebState,
    officer: &Officer,
    form: SearchForm,
    after: Option<String>,
    searched: bool,
) -> Response {
    let lang = officer.lang;
    let m = lang.msg();
    let runtime = &state.runtime;
    let offset = runtime.registry.utc_offset();
    let user = &officer.session.user;
    let mut errors = Vec::new();
    let from = parse_day(&form.from, offset).unwrap_or_else(|()| {
        errors.push(("dari", m.audit_bad_date));
        None
    });
    let to = parse_day(&form.to, offset).unwrap_or_else(|()| {
        errors.push(("sampai", m.audit_bad_date));
        None
    });
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        errors.push(("sampai", m.audit_range_backwards));
    }
    if !form.status.is_empty() && !STATUSES.contains(&form.status.as_str()) {
        errors.push(("status", m.err_choice));
    }
    let catalog = match queries::sop_catalog(runtime, now()).await {
        Ok(c) => c,
        Err(e) => return super::errors::runtime(lang, e),
    };
    let points = match runtime.offices.all(&runtime.store).await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "audit: service points");
            return super::errors::internal(lang);
        }
    };
    // The points the auditor audits (all, for one who audits everywhere).
    let reach = sopflow_core::access::points_holding(user, &[AUDITOR, ADMIN]);
    let mut point_choices: Vec<Choice> = points
        .iter()
        .filter(|p| reach.as_ref().is_none_or(|r| r.contains(&p.id)))
        .map(|p| Choice {
            value: p.id.clone(),
            label: p.name.clone(),
            selected: p.id == form.point,
        })
        .collect();
    point_choices.sort_by(|a, b| a.label.cmp(&b.label));
    if !form.point.is_empty() && !point_choices.iter().any(|p| p.value == form.point) {
        errors.push(("titik", m.err_choice));
    }
    if !form.sop.is_empty() && !catalog.iter().any(|s| s.sop_id == form.sop) {
        errors.push(("sop", m.err_choice));
    }
    let mut rows = Vec::new();
    let mut next = None;
    if errors.is_empty() {
        let found = if !form.number.is_empty() {
            // A registration number names one case: the other filters do not apply.
            match queries::find_by_registration(runtime, user, &form.number).await {
                Ok(Some(id)) => match runtime.store.case(&id).await {
                    Ok(Some(record)) => vec![record],
                    Ok(None) => Vec::new(),
                    Err(e) => return super::errors::runtime(lang, e.into()),
                },
                Ok(None) => Vec::new(),
                Err(e) => return super::errors::runtime(lang, e),
            }
        } else {
            let filter = CaseFilter {
                sop_id: Some(form.sop.clone()).filter(|s| !s.is_empty()),
                service_points: Some(vec![form.point.clone()]).filter(|_| !form.point.is_empty()),
                statuses: Some(vec![form.status.clone()]).filter(|_| !form.status.is_empty()),
                created_from: from,
                // The last day is included: cases opened before the next midnight.
                created_before: to.map(|t| t + time::Duration::days(1)),
                ..CaseFilter::default()
            };
            let page = Page {
                limit: SEARCH_PAGE,
                after: after.clone(),
            };
            match queries::list_cases(runtime, user, filter, page).await {
                Ok((found, n)) => {
                    next = n;
                    found.into_iter().map(|(record, _)| record).collect()
                }
                Err(e) => return super::errors::query(lang, e),
            }
        };
        for record in found {
            let registration = match runtime.load(&record.case_id).await {
                Ok(loaded) => loaded.state.registration_number.clone().unwrap_or_default(),
                Err(_) => String::new(),
            };
            let service = catalog
                .iter()
                .find(|s| s.sop_id == record.sop_id)
                .map(|s| s.title.clone())
                .unwrap_or_else(|| record.sop_id.clone());
            let point = record
                .service_point
                .clone()
                .unwrap_or_else(|| runtime.offices.default_id().to_owned());
            let point = points
                .iter()
                .find(|p| p.id == point)
                .map(|p| p.name.clone())
                .unwrap_or(point);
            rows.push(FoundRow {
                registration,
                service,
                version: record.sop_version,
                point,
                status: status_word(m, &record.status),
                status_class: record.status.clone(),
                opened: when(record.created_at, offset),
                updated: when(record.updated_at, offset),
                case_id: record.case_id,
            });
        }
    }
    let sops = catalog
        .iter()
        .map(|s| Choice {
            value: s.sop_id.clone(),
            label: s.title.clone(),
            selected: s.sop_id == form.sop,
        })
        .collect();
    let statuses = STATUSES
        .iter()
        .map(|s| Choice {
            value: (*s).to_owned(),
            label: status_word(m, s).to_owned(),
            selected: *s == form.status,
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let page = SearchPage {
        c: officer.chrome("/periksa", "audit"),
        tab: "search",
        form,
        sops,
        points: point_choices,
        statuses,
        rows,
        searched,
        next,
        errors,
    };
    crate::html(status, page.render())
}

// ---------------------------------------------------------------------------------------
// A case's timeline

/// Time spent at a step against its budget, drawn as an SVG bar: widths in percent of the
/// bar, computed here (no inline style).
pub struct Bar {
    /// The filled part, 0-100.
    pub fill: u32,
    /// Where the budget ends, 0-100 (100 unless the step went over).
    pub budget_at: u32,
    /// `under`, `near` (over three quarters used), `over`, `running`.
    pub class: &'static str,
}

impl Bar {
    /// `spent` seconds against a `budget` of seconds; over the budget, the bar is the time
    /// spent and the budget a mark inside it.
    pub fn new(spent: f64, budget: u64, running: bool) -> Option<Bar> {
        if budget == 0 || !spent.is_finite() || spent < 0.0 {
            return None;
        }
        let budget = budget as f64;
        let pct = |x: f64| (x * 100.0).round().clamp(0.0, 100.0) as u32;
        Some(if spent > budget {
            Bar {
                fill: 100,
                budget_at: pct(budget / spent),
                class: "over",
            }
        } else {
            Bar {
                fill: pct(spent / budget),
                budget_at: 100,
                class: if running {
                    "running"
                } else if spent * 4.0 > budget * 3.0 {
                    "near"
                } else {
                    "under"
                },
            }
        })
    }
}

/// An event as the timeline lists it.
pub struct EventLine {
    pub seq: u64,
    pub kind: String,
    /// The kinds of the facts the event holds after its first (event format v2).
    pub then: Vec<String>,
    pub at: String,
    pub user: String,
    pub role: String,
    /// The incident's reason or resolution note, the cancellation's reason.
    pub note: Option<String>,
    pub incident: bool,
    /// The findings naming this event (empty: the event verifies).
    pub findings: Vec<String>,
}

pub struct DocLine {
    pub doc: String,
    pub number: Option<String>,
    pub received: bool,
    pub by: String,
}

pub struct CheckLine {
    pub doc: String,
    pub required: bool,
    pub state: &'static str,
    pub class: &'static str,
}

pub struct GuardLine {
    pub branch: usize,
    pub guard: String,
    pub result: bool,
    pub values: Vec<(String, String)>,
}

pub struct BranchView {
    pub to: String,
    pub label: Option<String>,
    pub guards: Vec<GuardLine>,
    /// No guard held: the branch without a condition was taken.
    pub by_default: bool,
}

/// One stay at a step.
pub struct StepView {
    pub name: String,
    pub step: String,
    pub row: u32,
    pub kind: String,
    pub actor: String,
    pub visit: u32,
    pub entered: String,
    pub completed: Option<String>,
    pub completed_by: Option<(String, String)>,
    pub outcome: Option<String>,
    pub spent: Option<String>,
    pub budget: Option<String>,
    pub budget_state: &'static str,
    pub budget_class: &'static str,
    pub bar: Option<Bar>,
    pub documents: Vec<DocLine>,
    pub checklist: Vec<CheckLine>,
    pub data: Vec<(String, String)>,
    pub queue_number: Option<String>,
    pub branch: Option<BranchView>,
    pub events: Vec<EventLine>,
}

#[derive(Template)]
#[template(path = "audit_case.html")]
struct CasePage {
    c: Chrome,
    tab: &'static str,
    case_id: String,
    registration: String,
    service: String,
    sop_id: String,
    sop_version: u32,
    sop_hash: String,
    point: String,
    status: &'static str,
    status_class: String,
    verified: bool,
    /// Findings that name no event (the head, the SOP version).
    case_findings: Vec<String>,
    finding_count: usize,
    events_total: u64,
    revealed: bool,
    reveal_reason: String,
    reveal_error: Option<&'static str>,
    may_reveal: bool,
    /// The events before the first step (the opening).
    opening: Vec<EventLine>,
    steps: Vec<StepView>,
    data: Vec<(String, String)>,
    /// The result of "verify this case", when asked.
    verify: Option<VerifyView>,
}

/// The answer of a one-case verification.
pub struct VerifyView {
    pub ok: bool,
    pub events: u64,
    pub findings: Vec<String>,
}

/// A JSON value as text: strings as they are, the rest as JSON.
pub(crate) fn value_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "—".to_owned(),
        other => other.to_string(),
    }
}

fn seconds_text(seconds: f64) -> String {
    crate::view::duration(seconds.round() as i64)
}

fn note_of(event: &Value) -> Option<String> {
    ["reason", "note"]
        .iter()
        .find_map(|k| event.get(*k).and_then(Value::as_str))
        .map(str::to_owned)
}

fn event_line(replay: &Replay, seq: u64, offset: UtcOffset) -> Option<EventLine> {
    let e = replay.events.iter().find(|e| e.seq == seq)?;
    // A v2 event holds its command's facts: the incident may be one after its first.
    let incident_fact = std::iter::once(&e.event)
        .chain(
            e.event
                .get("then")
                .and_then(Value::as_array)
                .into_iter()
                .flatten(),
        )
        .find(|f| {
            let kind = f.get("type").and_then(Value::as_str).unwrap_or_default();
            kind.starts_with("incident_") || kind == "case_cancelled"
        });
    let incident = incident_fact.is_some();
    let then = e
        .event
        .get("then")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|f| f.get("type").and_then(Value::as_str))
        .map(str::to_owned)
        .collect();
    Some(EventLine {
        seq,
        kind: e.kind.clone(),
        then,
        at: when(e.at, offset),
        user: e.by.user.clone(),
        role: e.by.role.clone(),
        note: incident_fact.and_then(note_of),
        incident,
        findings: replay
            .findings
            .iter()
            .filter(|f| f.seq == Some(seq))
            .map(|f| format!("{}: {}", f.check.as_str(), f.reason))
            .collect(),
    })
}

fn step_view(replay: &Replay, stay: &ReplayStep, m: &Msg, offset: UtcOffset) -> StepView {
    let (budget_state, budget_class) = match stay.budget.as_str() {
        "under" => (m.audit_budget_under, "green"),
        "over" => (m.audit_budget_over, "red"),
        "running" => (m.audit_budget_running, "grey"),
        _ => (m.no_budget, "grey"),
    };
    // An open step's time runs to now.
    let running = stay.completed_at.is_none();
    let spent = stay
        .spent_seconds
        .or_else(|| running.then(|| (now() - stay.entered_at).as_seconds_f64()));
    let bar = match (spent, stay.budget_seconds) {
        (Some(s), Some(b)) => Bar::new(s, b, running),
        _ => None,
    };
    let branch = stay.branch.as_ref().map(|b| BranchView {
        to: b.to.clone(),
        label: b.label.clone(),
        by_default: b.guards.iter().all(|g| !g.result),
        guards: b
            .guards
            .iter()
            .map(|g| GuardLine {
                branch: g.branch + 1,
                guard: g.guard.clone(),
                result: g.result,
                values: g
                    .values
                    .iter()
                    .map(|(k, v)| (k.clone(), value_text(v)))
                    .collect(),
            })
            .collect(),
    });
    StepView {
        name: stay.name.clone(),
        step: stay.step.clone(),
        row: stay.row,
        kind: stay.kind.clone(),
        actor: stay.actor.clone(),
        visit: stay.visit,
        entered: when(stay.entered_at, offset),
        completed: stay.completed_at.map(|t| when(t, offset)),
        completed_by: stay
            .completed_by
            .as_ref()
            .map(|b| (b.user.clone(), b.role.clone())),
        outcome: stay.outcome.clone(),
        spent: spent.map(seconds_text),
        budget: stay.budget_seconds.map(|b| seconds_text(b as f64)),
        budget_state,
        budget_class,
        bar,
        documents: stay
            .documents
            .iter()
            .map(|d| DocLine {
                doc: d.doc.clone(),
                number: d.number.clone(),
                received: d.received,
                by: format!("{} ({})", d.by.user, d.by.role),
            })
            .collect(),
        checklist: stay
            .checklist
            .iter()
            .map(|c| {
                let (state, class) = match c.state.as_str() {
                    "received" => (m.doc_received, "ok"),
                    "missing" => (m.doc_missing, "missing"),
                    _ => (m.doc_not_needed, "not-needed"),
                };
                CheckLine {
                    doc: c.doc.clone(),
                    required: c.required,
                    state,
                    class,
                }
            })
            .collect(),
        data: stay
            .data
            .iter()
            .map(|(k, v)| (k.clone(), value_text(v)))
            .collect(),
        queue_number: stay.queue_number.clone(),
        branch,
        events: stay
            .events
            .iter()
            .filter_map(|seq| event_line(replay, *seq, offset))
            .collect(),
    }
}

/// What the case page needs besides the replay.
struct Extra {
    reveal_reason: String,
    reveal_error: Option<&'static str>,
    verify: Option<VerifyView>,
    status: StatusCode,
}

async fn render_case(
    state: &WebState,
    officer: &Officer,
    id: &str,
    personal: &Personal,
    extra: Extra,
) -> Response {
    let lang = officer.lang;
    let m = lang.msg();
    let runtime = &state.runtime;
    // Only a case of a service point where the reader audits (else, as unknown, 404).
    let loaded = match runtime.load_for(&officer.session.user, id).await {
        Ok((loaded, _)) => loaded,
        Err(e) => return super::errors::runtime(lang, e),
    };
    let store = &runtime.store;
    let replay = match replay_case(store, id, None, personal).await {
        Ok(r) => r,
        Err(e) => return audit_error(lang, e),
    };
    if personal.is_revealed() {
        // Recorded before anything is shown; if it cannot be recorded, nothing is.
        let scope = format!("case {id} until event {}", replay.until);
        if let Err(e) = record_access(
            store,
            &requester(officer),
            "replay",
            &scope,
            personal,
            now(),
        )
        .await
        {
            return audit_error(lang, e);
        }
    }
    let offset = runtime.registry.utc_offset();
    let in_steps: std::collections::BTreeSet<u64> = replay
        .steps
        .iter()
        .flat_map(|s| s.events.iter().copied())
        .collect();
    let opening = replay
        .events
        .iter()
        .filter(|e| !in_steps.contains(&e.seq))
        .filter_map(|e| event_line(&replay, e.seq, offset))
        .collect();
    let point = match runtime.offices.get(store, &loaded.service_point).await {
        Ok(Some(p)) => p.name.clone(),
        _ => loaded.service_point.to_string(),
    };
    let page = CasePage {
        c: officer.chrome(&format!("/periksa/berkas/{id}"), "audit"),
        tab: "search",
        case_id: id.to_owned(),
        registration: loaded.state.registration_number.clone().unwrap_or_default(),
        service: loaded.deployed.sop.document().header.title.clone(),
        sop_id: replay.sop_id.clone(),
        sop_version: replay.sop_version,
        sop_hash: replay.sop_content_hash.clone(),
        point,
        status: status_word(m, &replay.state.status),
        status_class: replay.state.status.clone(),
        verified: replay.verified,
        case_findings: replay
            .findings
            .iter()
            .filter(|f| f.seq.is_none())
            .map(|f| format!("{}: {}", f.check.as_str(), f.reason))
            .collect(),
        finding_count: replay.findings.len(),
        events_total: replay.events_total,
        revealed: personal.is_revealed(),
        reveal_reason: extra.reveal_reason,
        reveal_error: extra.reveal_error,
        may_reveal: officer.session.user.is(AUDITOR),
        opening,
        steps: replay
            .steps
            .iter()
            .map(|s| step_view(&replay, s, m, offset))
            .collect(),
        data: replay
            .state
            .data
            .iter()
            .map(|(k, v)| (k.clone(), value_text(v)))
            .collect(),
        verify: extra.verify,
    };
    crate::html(extra.status, page.render())
}

/// An audit call's failure as a page: a history too damaged to replay is shown with its
/// findings; a stored text that cannot be read is logged (it may quote values), not shown.
pub(crate) fn audit_error(lang: Lang, e: AuditError) -> Response {
    let m = lang.msg();
    match e {
        AuditError::CaseNotFound(_) | AuditError::SopNotFound { .. } => {
            super::errors::not_found(lang)
        }
        AuditError::Invalid(text) => super::errors::message(
            lang,
            StatusCode::BAD_REQUEST,
            m.err_invalid,
            &text,
            Some(("/periksa", m.audit_back)),
        ),
        AuditError::Unreplayable { findings, .. } => super::errors::message(
            lang,
            StatusCode::UNPROCESSABLE_ENTITY,
            m.audit_unreplayable,
            &findings
                .iter()
                .map(|f| {
                    format!(
                        "{}{}: {}",
                        f.seq.map(|s| format!("#{s} ")).unwrap_or_default(),
                        f.check.as_str(),
                        f.reason
                    )
                })
                .collect::<Vec<_>>()
                .join("; "),
            Some(("/periksa", m.audit_back)),
        ),
        AuditError::Corrupt(detail) => {
            tracing::error!(
                detail_len = detail.len(),
                "audit page: a stored history or SOP cannot be read"
            );
            super::errors::internal(lang)
        }
        AuditError::Store(e) => {
            tracing::error!(error = %e, "audit page: store error");
            super::errors::internal(lang)
        }
    }
}

fn plain() -> Extra {
    Extra {
        reveal_reason: String::new(),
        reveal_error: None,
        verify: None,
        status: StatusCode::OK,
    }
}

/// `GET /periksa/berkas/{id}`: the timeline, personal data masked.
pub async fn case_page(
    State(state): State<WebState>,
    officer: Officer,
    Path(id): Path<String>,
) -> Response {
    if let Err(r) = require_reader(&officer) {
        return r;
    }
    render_case(&state, &officer, &id, &Personal::Masked, plain()).await
}

/// `POST /periksa/berkas/{id}/buka`: the timeline with personal data shown, for the reason
/// posted (recorded first). Answered directly (no redirect): the unmasked page is never at
/// an address and never cached.
pub async fn reveal(
    State(state): State<WebState>,
    Path(id): Path<String>,
    posted: Posted,
) -> Response {
    let officer = &posted.officer;
    if let Err(r) = require_reader(officer) {
        return r;
    }
    let m = officer.lang.msg();
    let reason = posted.get("alasan").unwrap_or("").to_owned();
    let refused = |error: &'static str| Extra {
        reveal_reason: reason.clone(),
        reveal_error: Some(error),
        verify: None,
        status: StatusCode::UNPROCESSABLE_ENTITY,
    };
    if !officer.session.user.is(AUDITOR) {
        return render_case(
            &state,
            officer,
            &id,
            &Personal::Masked,
            Extra {
                status: StatusCode::FORBIDDEN,
                ..refused(m.audit_reveal_auditors_only)
            },
        )
        .await;
    }
    let personal = match Personal::requested(true, Some(&reason)) {
        Ok(p) => p,
        Err(_) => {
            let error = if reason.trim().is_empty() {
                m.audit_reason_required
            } else {
                m.audit_reason_too_long
            };
            return render_case(&state, officer, &id, &Personal::Masked, refused(error)).await;
        }
    };
    render_case(&state, officer, &id, &personal, plain_with_reason(&reason)).await
}

fn plain_with_reason(reason: &str) -> Extra {
    Extra {
        reveal_reason: reason.trim().to_owned(),
        ..plain()
    }
}

/// `POST /periksa/berkas/{id}/verifikasi`: verifies the case (rows, chain, head, a replay
/// re-evaluating every decision) and shows the answer on its page.
pub async fn verify_case(
    State(state): State<WebState>,
    Path(id): Path<String>,
    posted: Posted,
) -> Response {
    let officer = &posted.officer;
    if let Err(r) = require_reader(officer) {
        return r;
    }
    // Sight from the projection: a damaged history must still be reached to say why.
    if let Err(e) = state.runtime.sight_of(&officer.session.user, &id).await {
        return super::errors::runtime(officer.lang, e);
    }
    let options = VerifyOptions {
        case: Some(id.clone()),
        utc_offset: state.runtime.utc_offset,
        public_key: state.log_key.clone(),
        ..VerifyOptions::default()
    };
    let report = match verify_store(&state.runtime.store, &options, &mut |_| {}).await {
        Ok(r) => r,
        Err(e) => return audit_error(officer.lang, e),
    };
    let verify = VerifyView {
        ok: report.ok(),
        events: report.events,
        findings: report.findings.iter().map(ToString::to_string).collect(),
    };
    render_case(
        &state,
        officer,
        &id,
        &Personal::Masked,
        Extra {
            verify: Some(verify),
            ..plain()
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bar_fills_to_the_share_of_the_budget_used() {
        let b = Bar::new(30.0, 120, false).unwrap();
        assert_eq!((b.fill, b.budget_at, b.class), (25, 100, "under"));
        let b = Bar::new(100.0, 120, false).unwrap();
        assert_eq!((b.fill, b.class), (83, "near"));
        let b = Bar::new(10.0, 120, true).unwrap();
        assert_eq!(b.class, "running");
    }

    #[test]
    fn over_the_budget_the_bar_is_full_and_the_budget_a_mark_inside() {
        let b = Bar::new(300.0, 120, false).unwrap();
        assert_eq!((b.fill, b.budget_at, b.class), (100, 40, "over"));
        assert!(Bar::new(10.0, 0, false).is_none(), "no budget, no bar");
        assert!(Bar::new(f64::NAN, 10, false).is_none());
    }

    #[test]
    fn a_day_is_local_midnight() {
        let offset = UtcOffset::from_hms(7, 0, 0).unwrap();
        let t = parse_day("2026-03-04", offset).unwrap().unwrap();
        assert_eq!(t.to_offset(UtcOffset::UTC).hour(), 17);
        assert_eq!(parse_day("  ", offset), Ok(None));
        assert!(parse_day("04/03/2026", offset).is_err());
    }
}
