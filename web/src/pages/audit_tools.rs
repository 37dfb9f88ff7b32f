//! The auditor's tools across cases: verifying every case the auditor audits as a background
//! job (its progress polled by htmx), the anchor over all case heads (the `sopflow-anchor/1`
//! file of `sopflow audit anchor`), exports of case histories over a date range with a reason
//! (recorded), and the audit-access log (every reveal and export: who, when, why).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use askama::Template;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use sopflow_audit::anchor::make_anchor;
use sopflow_audit::export::{ExportFormat, ExportRequest, Exporter};
use sopflow_audit::verify::{VerifyOptions, verify_store};
use sopflow_audit::{CaseWalk, Personal, access_log, count_cases};
use sopflow_core::auth::{ADMIN, AUDITOR};
use sopflow_store::{CaseFilter, Store};
use time::OffsetDateTime;

use super::audit::{audit_error, parse_day, requester, require_reader, when};
use super::now;
use crate::WebState;
use crate::people::{Chrome, Officer, Posted};

/// Entries of the access log shown.
pub const LOG_SHOWN: usize = 200;

/// Findings kept per job (the count is exact; the list is for reading).
const FINDINGS_KEPT: usize = 500;

/// One reader's verification of all the cases they audit, running or finished.
#[derive(Debug, Clone)]
pub struct VerifyJob {
    pub started_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
    pub total: u64,
    pub done: u64,
    pub events: u64,
    pub finding_count: usize,
    pub findings: Vec<String>,
    /// The run stopped on an error of the store (logged), not a finding.
    pub failed: bool,
}

/// The verification jobs of this process, one per reader (their latest), held in the web
/// state: a job outlives the request that started it, and the page polls its progress.
#[derive(Debug, Clone, Default)]
pub struct AuditJobs {
    jobs: Arc<Mutex<HashMap<String, VerifyJob>>>,
}

impl AuditJobs {
    fn get(&self, user: &str) -> Option<VerifyJob> {
        self.lock().get(user).cloned()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VerifyJob>> {
        self.jobs.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn update(&self, user: &str, f: impl FnOnce(&mut VerifyJob)) {
        if let Some(job) = self.lock().get_mut(user) {
            f(job);
        }
    }

    /// Starts a job for `user` unless one of theirs is running; whether it started.
    fn start(&self, user: &str, total: u64) -> bool {
        let mut jobs = self.lock();
        if jobs.get(user).is_some_and(|j| j.finished_at.is_none()) {
            return false;
        }
        jobs.insert(
            user.to_owned(),
            VerifyJob {
                started_at: now(),
                finished_at: None,
                total,
                done: 0,
                events: 0,
                finding_count: 0,
                findings: Vec::new(),
                failed: false,
            },
        );
        true
    }
}

/// The job as the progress fragment shows it.
pub struct JobView {
    pub running: bool,
    pub total: u64,
    pub done: u64,
    pub events: u64,
    pub started: String,
    pub finished: Option<String>,
    pub finding_count: usize,
    pub findings: Vec<String>,
    pub failed: bool,
}

fn job_view(job: Option<VerifyJob>, offset: time::UtcOffset) -> Option<JobView> {
    job.map(|j| JobView {
        running: j.finished_at.is_none(),
        total: j.total.max(j.done),
        done: j.done,
        events: j.events,
        started: when(j.started_at, offset),
        finished: j.finished_at.map(|t| when(t, offset)),
        finding_count: j.finding_count,
        findings: j.findings,
        failed: j.failed,
    })
}

/// The export form as filled in, and its errors by field.
#[derive(Default)]
pub struct ExportForm {
    pub from: String,
    pub to: String,
    pub format: String,
    pub reveal: bool,
    pub reason: String,
    pub errors: Vec<(&'static str, &'static str)>,
}

impl ExportForm {
    pub fn error(&self, field: &str) -> Option<&'static str> {
        self.errors
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, e)| *e)
    }
}

#[derive(Template)]
#[template(path = "audit_tools.html")]
struct ToolsPage {
    c: Chrome,
    tab: &'static str,
    job: Option<JobView>,
    export: ExportForm,
    may_export: bool,
}

#[derive(Template)]
#[template(path = "audit_job.html")]
struct JobFragment {
    c: Chrome,
    job: Option<JobView>,
}

fn tools_page(
    state: &WebState,
    officer: &Officer,
    export: ExportForm,
    status: StatusCode,
) -> Response {
    let offset = state.runtime.registry.utc_offset();
    let page = ToolsPage {
        c: officer.chrome("/periksa/alat", "audit"),
        tab: "tools",
        job: job_view(state.audit_jobs.get(&officer.session.user.name), offset),
        export,
        may_export: officer.session.user.is(AUDITOR),
    };
    crate::html(status, page.render())
}

/// `GET /periksa/alat`: verify all, the anchor, exports.
pub async fn tools(State(state): State<WebState>, officer: Officer) -> Response {
    if let Err(r) = require_reader(&officer) {
        return r;
    }
    let export = ExportForm {
        format: "jsonl".to_owned(),
        ..ExportForm::default()
    };
    tools_page(&state, &officer, export, StatusCode::OK)
}

/// `GET /periksa/verifikasi/kemajuan`: the job's progress, for htmx's polling (which stops
/// once the fragment comes back finished).
pub async fn progress(State(state): State<WebState>, officer: Officer) -> Response {
    if let Err(r) = require_reader(&officer) {
        return r;
    }
    let offset = state.runtime.registry.utc_offset();
    let fragment = JobFragment {
        c: officer.chrome("/periksa/alat", "audit"),
        job: job_view(state.audit_jobs.get(&officer.session.user.name), offset),
    };
    crate::html(StatusCode::OK, fragment.render())
}

/// `POST /periksa/verifikasi`: starts verifying every case the reader audits (every case,
/// for one who audits everywhere) in the background, then back to the tools page.
pub async fn start_verify(State(state): State<WebState>, posted: Posted) -> Response {
    let officer = &posted.officer;
    if let Err(r) = require_reader(officer) {
        return r;
    }
    let user = officer.session.user.name.clone();
    let store = state.runtime.store.clone();
    let reach = sopflow_core::access::points_holding(&officer.session.user, &[AUDITOR, ADMIN]);
    // Those who audit only some service points verify only those points' cases.
    let total = match &reach {
        Some(points) => match cases_at(&store, points.clone()).await {
            Ok(n) => n,
            Err(e) => return audit_error(officer.lang, e),
        },
        None => match count_cases(&store).await {
            Ok(n) => n,
            Err(e) => return audit_error(officer.lang, e),
        },
    };
    let jobs = state.audit_jobs.clone();
    if jobs.start(&user, total) {
        let options = VerifyOptions {
            utc_offset: state.runtime.utc_offset,
            public_key: state.log_key.clone(),
            service_points: reach,
            ..VerifyOptions::default()
        };
        tokio::spawn(run_job(jobs, user, store, options));
    }
    Redirect::to("/periksa/alat").into_response()
}

/// How many cases were opened at `points` (the progress bar's whole).
async fn cases_at(store: &Store, points: Vec<String>) -> Result<u64, sopflow_audit::AuditError> {
    let mut walk = CaseWalk::filtered(CaseFilter {
        service_points: Some(points),
        ..CaseFilter::default()
    });
    let mut n = 0;
    while walk.next(store).await?.is_some() {
        n += 1;
    }
    Ok(n)
}

async fn run_job(jobs: AuditJobs, user: String, store: Store, base: VerifyOptions) {
    let mut progress = {
        let jobs = jobs.clone();
        let user = user.clone();
        move |_: &str| jobs.update(&user, |j| j.done += 1)
    };
    let mut keep = |report: sopflow_audit::verify::VerifyReport| {
        jobs.update(&user, |j| {
            j.events += report.events;
            j.finding_count += report.findings.len();
            let room = FINDINGS_KEPT.saturating_sub(j.findings.len());
            j.findings
                .extend(report.findings.iter().take(room).map(ToString::to_string));
        })
    };
    // One walk, one cache of compiled SOP versions, whether over every case or some points'.
    let result = verify_store(&store, &base, &mut progress)
        .await
        .map(&mut keep);
    let failed = match result {
        Ok(()) => false,
        Err(e) => {
            tracing::error!(error = %e, "audit page: verification of all cases stopped");
            true
        }
    };
    jobs.update(&user, |j| {
        j.failed = failed;
        j.finished_at = Some(now());
    });
}

/// `GET /periksa/jangkar`: the anchor over every case head now, as a file to keep, sign or
/// publish (the format `sopflow audit verify --anchor` reads).
pub async fn anchor(State(state): State<WebState>, officer: Officer) -> Response {
    if let Err(r) = require_reader(&officer) {
        return r;
    }
    let at = now();
    let anchor = match make_anchor(&state.runtime.store, at).await {
        Ok(a) => a,
        Err(e) => return audit_error(officer.lang, e),
    };
    let body = match serde_json::to_string_pretty(&anchor) {
        Ok(b) => b + "\n",
        Err(_) => return super::errors::internal(officer.lang),
    };
    let name = at
        .format(time::macros::format_description!(
            "[year][month][day]T[hour][minute][second]Z"
        ))
        .unwrap_or_default();
    let disposition = HeaderValue::from_str(&format!(
        "attachment; filename=\"sopflow-anchor-{name}.json\""
    ))
    .unwrap_or(HeaderValue::from_static("attachment"));
    (
        StatusCode::OK,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response()
}

/// `POST /periksa/ekspor`: the histories of the cases opened in a date range (at the service
/// points where the auditor audits), as JSON Lines or CSV, personal data masked unless
/// revealed; the reason is required either way and recorded before the first byte.
pub async fn export(State(state): State<WebState>, posted: Posted) -> Response {
    let officer = &posted.officer;
    if let Err(r) = require_reader(officer) {
        return r;
    }
    let m = officer.lang.msg();
    let offset = state.runtime.registry.utc_offset();
    let get = |name: &str| posted.get(name).unwrap_or("").trim().to_owned();
    let mut form = ExportForm {
        from: get("dari"),
        to: get("sampai"),
        format: get("format"),
        reveal: posted.get("buka") == Some("1"),
        reason: get("alasan"),
        errors: Vec::new(),
    };
    if !officer.session.user.is(AUDITOR) {
        return super::errors::forbidden(officer.lang, m.audit_export_auditors_only);
    }
    let from = match parse_day(&form.from, offset) {
        Ok(Some(t)) => Some(t),
        Ok(None) => {
            form.errors.push(("dari", m.err_required));
            None
        }
        Err(()) => {
            form.errors.push(("dari", m.audit_bad_date));
            None
        }
    };
    let to = match parse_day(&form.to, offset) {
        Ok(Some(t)) => Some(t + time::Duration::days(1)),
        Ok(None) => {
            form.errors.push(("sampai", m.err_required));
            None
        }
        Err(()) => {
            form.errors.push(("sampai", m.audit_bad_date));
            None
        }
    };
    if let (Some(f), Some(t)) = (from, to)
        && t <= f
    {
        form.errors.push(("sampai", m.audit_range_backwards));
    }
    let format = match ExportFormat::parse(&form.format) {
        Ok(f) => Some(f),
        Err(_) => {
            form.errors.push(("format", m.err_choice));
            None
        }
    };
    let reason = match access_log::checked_reason(&form.reason) {
        Ok(r) => Some(r),
        Err(_) => {
            form.errors.push((
                "alasan",
                if form.reason.is_empty() {
                    m.audit_reason_required
                } else {
                    m.audit_reason_too_long
                },
            ));
            None
        }
    };
    let (Some(from), Some(to), Some(format), Some(reason)) = (from, to, format, reason) else {
        return tools_page(&state, officer, form, StatusCode::UNPROCESSABLE_ENTITY);
    };
    if !form.errors.is_empty() {
        return tools_page(&state, officer, form, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let personal = if form.reveal {
        Personal::Revealed {
            reason: reason.clone(),
        }
    } else {
        Personal::Masked
    };
    let request = ExportRequest {
        from,
        to,
        format,
        personal: personal.clone(),
        service_points: sopflow_core::access::points_holding(&officer.session.user, &[AUDITOR]),
    };
    let store = state.runtime.store.clone();
    let scope = request.scope();
    let exporter = match Exporter::new(store.clone(), request) {
        Ok(e) => e,
        Err(e) => return audit_error(officer.lang, e),
    };
    if let Err(e) = access_log::record_with_reason(
        &store,
        &requester(officer),
        "export",
        &scope,
        &personal,
        &reason,
        now(),
    )
    .await
    {
        return audit_error(officer.lang, e);
    }
    let stream = futures::stream::try_unfold(exporter, |mut exporter| async move {
        match exporter.next_chunk().await {
            Ok(Some(chunk)) => Ok(Some((Bytes::from(chunk), exporter))),
            Ok(None) => Ok(None),
            Err(e) => {
                // Headers are gone: the browser sees a cut download, the log says why.
                tracing::error!(error = %e, "audit page: export stopped");
                Err(std::io::Error::other("export stopped"))
            }
        }
    });
    let file = if format == ExportFormat::Csv {
        "attachment; filename=\"cases.csv\""
    } else {
        "attachment; filename=\"cases.jsonl\""
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, format.content_type()),
            (header::CONTENT_DISPOSITION, file),
        ],
        Body::from_stream(stream),
    )
        .into_response()
}

/// An entry of the access log as shown.
pub struct AccessRow {
    pub at: String,
    pub user: String,
    pub role: String,
    pub action: String,
    pub scope: String,
    pub revealed: bool,
    pub reason: Option<String>,
}

#[derive(Template)]
#[template(path = "audit_access.html")]
struct AccessPage {
    c: Chrome,
    tab: &'static str,
    rows: Vec<AccessRow>,
    shown: usize,
}

/// `GET /periksa/akses`: the latest reveals and exports, newest first.
pub async fn access(State(state): State<WebState>, officer: Officer) -> Response {
    if let Err(r) = require_reader(&officer) {
        return r;
    }
    let offset = state.runtime.registry.utc_offset();
    let entries = match access_log::latest(&state.runtime.store, LOG_SHOWN).await {
        Ok(e) => e,
        Err(e) => return audit_error(officer.lang, e),
    };
    let rows = entries
        .into_iter()
        .map(|e| AccessRow {
            at: when(e.at, offset),
            user: e.user_name,
            role: e.role,
            action: e.action,
            scope: e.scope,
            revealed: e.revealed,
            reason: e.reason,
        })
        .collect();
    let page = AccessPage {
        c: officer.chrome("/periksa/akses", "audit"),
        tab: "access",
        rows,
        shown: LOG_SHOWN,
    };
    crate::html(StatusCode::OK, page.render())
}
