//! SOPs, their versions and releases; a version shown as the official PermenPAN-RB table.

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sopflow_core::queries::{self, SopEntry};
use sopflow_core::releases::{self, Releaser};
use sopflow_store::Release;

use super::{admin_only, local};
use crate::WebState;
use crate::pages::{errors, now};
use crate::people::{Chrome, Officer, Posted};

/// One SOP in the list.
pub struct SopRow {
    pub id: String,
    pub title: String,
    pub versions: usize,
    pub in_force: Option<u32>,
    /// `version, from` of each release still ahead.
    pub scheduled: Vec<(u32, String)>,
    pub cases: i64,
    /// The last release was not the newest version: someone chose an earlier one.
    pub rolled_back: bool,
}

#[derive(Template)]
#[template(path = "admin_sops.html")]
struct ListPage {
    c: Chrome,
    admin_css: String,
    sops: Vec<SopRow>,
    /// Definition files refused, with their problems.
    refused: Vec<(String, Vec<String>)>,
}

/// `GET /kelola/sop`.
pub async fn list(State(state): State<WebState>, officer: Officer) -> Response {
    if let Err(r) = admin_only(&officer) {
        return r;
    }
    let catalog = match queries::sop_catalog(&state.runtime, now()).await {
        Ok(c) => c,
        Err(e) => return errors::runtime(officer.lang, e),
    };
    let offset = state.runtime.registry.utc_offset();
    let mut sops = Vec::with_capacity(catalog.len());
    for entry in catalog {
        let counts = match counts(&state, &entry.sop_id).await {
            Ok(c) => c,
            Err(r) => return r,
        };
        sops.push(SopRow {
            rolled_back: entry
                .releases
                .last()
                .is_some_and(|r| r.version < entry.latest_version),
            id: entry.sop_id.clone(),
            title: entry.title.clone(),
            versions: entry.versions.len(),
            in_force: entry.in_force,
            scheduled: entry
                .scheduled
                .iter()
                .map(|r| (r.version, from(r, offset)))
                .collect(),
            cases: counts.values().sum(),
        });
    }
    let refused = state
        .runtime
        .registry
        .file_problems()
        .into_iter()
        .map(|f| (f.file, f.problems))
        .collect();
    let page = ListPage {
        c: officer.chrome("/kelola/sop", "admin"),
        admin_css: crate::assets::url("admin.css"),
        sops,
        refused,
    };
    crate::html(StatusCode::OK, page.render())
}

async fn counts(state: &WebState, sop_id: &str) -> Result<BTreeMap<u32, i64>, Response> {
    queries::cases_per_version(&state.runtime, sop_id)
        .await
        .map_err(|e| errors::runtime(crate::i18n::Lang::default(), e))
}

/// When a release takes effect, as the office reads it.
fn from(release: &Release, offset: time::UtcOffset) -> String {
    match (release.effective_at, release.effective_on) {
        (None, Some(day)) => day.to_string(),
        _ => local(releases::takes_effect(release, offset), offset),
    }
}

/// One version in an SOP's page.
pub struct VersionRow {
    pub version: u32,
    pub created: String,
    pub hash: String,
    pub cases: i64,
    pub in_force: bool,
    /// The date it is scheduled from, if a release still ahead names it.
    pub scheduled: Option<String>,
}

/// One release in an SOP's page.
pub struct ReleaseRow {
    pub version: u32,
    pub recorded: String,
    pub from: String,
    pub by: String,
    pub source: String,
    pub reason: String,
    /// This release chose a version older than one released before it.
    pub rollback: bool,
}

#[derive(Template)]
#[template(path = "admin_sop.html")]
struct SopPage {
    c: Chrome,
    admin_css: String,
    id: String,
    title: String,
    versions: Vec<VersionRow>,
    releases: Vec<ReleaseRow>,
    flash: Option<String>,
    /// The release form: chosen version, date, reason and the error beside each.
    form: ReleaseForm,
}

#[derive(Default)]
pub struct ReleaseForm {
    pub version: String,
    pub date: String,
    pub reason: String,
    pub reason_error: Option<String>,
    pub date_error: Option<String>,
    pub version_error: Option<String>,
}

#[derive(Deserialize)]
pub struct SopQuery {
    /// The version just deployed or released (a number: nothing personal).
    dipasang: Option<u32>,
    dirilis: Option<u32>,
}

/// `GET /kelola/sop/{id}`.
pub async fn page(
    State(state): State<WebState>,
    officer: Officer,
    Path(id): Path<String>,
    Query(q): Query<SopQuery>,
) -> Response {
    if let Err(r) = admin_only(&officer) {
        return r;
    }
    let m = officer.lang.msg();
    let flash = match (q.dipasang, q.dirilis) {
        (Some(v), _) => Some(format!("{} {v}.", m.adm_deployed_flash)),
        (_, Some(v)) => Some(format!("{} {v}.", m.adm_released_flash)),
        _ => None,
    };
    render_sop(
        &state,
        &officer,
        &id,
        StatusCode::OK,
        flash,
        ReleaseForm::default(),
    )
    .await
}

async fn render_sop(
    state: &WebState,
    officer: &Officer,
    id: &str,
    status: StatusCode,
    flash: Option<String>,
    form: ReleaseForm,
) -> Response {
    let entry: SopEntry = match queries::sop_entry(&state.runtime, id, now()).await {
        Ok(Some(e)) => e,
        Ok(None) => return errors::not_found(officer.lang),
        Err(e) => return errors::runtime(officer.lang, e),
    };
    let counts = match counts(state, id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let offset = state.runtime.registry.utc_offset();
    let versions = entry
        .versions
        .iter()
        .rev()
        .map(|v| VersionRow {
            version: v.version,
            created: local(v.created_at, offset),
            hash: v.content_hash.chars().take(12).collect(),
            cases: counts.get(&v.version).copied().unwrap_or(0),
            in_force: entry.in_force == Some(v.version),
            scheduled: entry
                .scheduled
                .iter()
                .find(|r| r.version == v.version)
                .map(|r| from(r, offset)),
        })
        .collect();
    let mut highest = 0;
    let mut releases = Vec::with_capacity(entry.releases.len());
    for r in &entry.releases {
        releases.push(ReleaseRow {
            version: r.version,
            recorded: local(r.recorded_at, offset),
            from: from(r, offset),
            by: r.released_by.clone(),
            source: r.source.clone(),
            reason: r.reason.clone(),
            rollback: r.version < highest,
        });
        highest = highest.max(r.version);
    }
    // Newest first: the last decision is what an administrator looks for.
    releases.reverse();
    let page = SopPage {
        c: officer.chrome(&format!("/kelola/sop/{id}"), "admin"),
        admin_css: crate::assets::url("admin.css"),
        id: entry.sop_id.clone(),
        title: entry.title.clone(),
        versions,
        releases,
        flash,
        form,
    };
    crate::html(status, page.render())
}

/// `POST /kelola/sop/{id}/rilis`: new cases start on the chosen version, now or from a date,
/// for a reason (a rollback is choosing an earlier version), recorded as the API's releases.
pub async fn release(
    State(state): State<WebState>,
    Path(id): Path<String>,
    posted: Posted,
) -> Response {
    let officer = &posted.officer;
    if let Err(r) = admin_only(officer) {
        return r;
    }
    let m = officer.lang.msg();
    let mut form = ReleaseForm {
        version: posted.get("versi").unwrap_or("").to_owned(),
        date: posted.get("tanggal").unwrap_or("").trim().to_owned(),
        reason: posted.get("alasan").unwrap_or("").to_owned(),
        ..ReleaseForm::default()
    };
    let version = form.version.parse::<u32>().ok();
    if version.is_none() {
        form.version_error = Some(m.adm_choose_version.to_owned());
    }
    let date = if form.date.is_empty() {
        None
    } else {
        match time::Date::parse(
            &form.date,
            time::macros::format_description!("[year]-[month]-[day]"),
        ) {
            Ok(d) => Some(d),
            Err(_) => {
                form.date_error = Some(m.adm_bad_date.to_owned());
                None
            }
        }
    };
    if form.reason.trim().is_empty() {
        form.reason_error = Some(m.adm_reason_needed.to_owned());
    }
    let (Some(version), None, None) = (version, &form.date_error, &form.reason_error) else {
        return render_sop(
            &state,
            officer,
            &id,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            form,
        )
        .await;
    };
    let releaser = Releaser {
        source: "web".to_owned(),
        by: officer.session.user.name.clone(),
        reason: form.reason.trim().to_owned(),
    };
    match state
        .runtime
        .registry
        .release(&state.runtime.store, &id, version, date, &releaser)
        .await
    {
        Ok(r) => Redirect::to(&format!("/kelola/sop/{id}?dirilis={}", r.version)).into_response(),
        Err(sopflow_core::registry::ReleaseError::NoVersion { .. }) => {
            form.version_error = Some(m.adm_choose_version.to_owned());
            render_sop(
                &state,
                officer,
                &id,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                form,
            )
            .await
        }
        Err(sopflow_core::registry::ReleaseError::NoReason) => {
            form.reason_error = Some(m.adm_reason_needed.to_owned());
            render_sop(
                &state,
                officer,
                &id,
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                form,
            )
            .await
        }
        Err(sopflow_core::registry::ReleaseError::Store(e)) => {
            errors::runtime(officer.lang, e.into())
        }
    }
}

#[derive(Template)]
#[template(path = "admin_version.html")]
struct VersionPage {
    c: Chrome,
    admin_css: String,
    id: String,
    title: String,
    number: String,
    version: u32,
    hash: String,
    created: String,
    cases: i64,
    total_time: Option<String>,
    table_href: String,
    /// The SOP's flowchart, an `<svg>` drawn by the engine's renderer, which escapes every
    /// text of the SOP it writes (shown with `|safe`).
    flowchart: String,
    /// The same, cut into drawings of one A4 landscape page each, for print (same renderer).
    flowchart_pages: Vec<String>,
    lines: Vec<(usize, String)>,
}

/// A stored version, for an admin: the version page and its table both start here.
async fn deployed_for_admin(
    state: &WebState,
    officer: &Officer,
    id: &str,
    version: u32,
) -> Result<std::sync::Arc<sopflow_core::registry::Deployed>, Response> {
    admin_only(officer)?;
    match state
        .runtime
        .registry
        .get(&state.runtime.store, id, version)
        .await
    {
        Ok(Some(d)) => Ok(d),
        Ok(None) => Err(errors::not_found(officer.lang)),
        Err(e) => Err(errors::runtime(officer.lang, e.into())),
    }
}

/// `GET /kelola/sop/{id}/versi/{version}`: the version's identity, its flowchart (SVG drawn
/// on the server), its official table (in a frame: the engine's page carries its own print
/// style) and its text.
pub async fn version(
    State(state): State<WebState>,
    officer: Officer,
    Path((id, version)): Path<(String, u32)>,
) -> Response {
    let deployed = match deployed_for_admin(&state, &officer, &id, version).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    let counts = match counts(&state, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let doc = deployed.sop.document();
    let page = VersionPage {
        c: officer.chrome(&format!("/kelola/sop/{id}/versi/{version}"), "admin"),
        admin_css: crate::assets::url("admin.css"),
        id: id.clone(),
        title: doc.header.title.clone(),
        number: doc.header.number.clone(),
        version,
        hash: deployed.content_hash.clone(),
        created: local(deployed.created_at, state.runtime.registry.utc_offset()),
        cases: counts.get(&version).copied().unwrap_or(0),
        total_time: doc.total_budget.as_ref().map(|b| b.to_string()),
        table_href: format!("/kelola/sop/{id}/versi/{version}/tabel"),
        flowchart: sopflow_engine::render::svg(doc),
        flowchart_pages: sopflow_engine::render::svg_pages(doc),
        lines: numbered(&deployed.yaml),
    };
    let mut response = crate::html(StatusCode::OK, page.render());
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(VERSION_CSP),
    );
    response
}

/// The pages' policy, and the table's frame from this origin.
const VERSION_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
     img-src 'self'; connect-src 'self'; frame-src 'self'; form-action 'self'; \
     frame-ancestors 'none'; base-uri 'none'";

/// The text's lines, numbered from 1 as the validator counts them.
pub(crate) fn numbered(text: &str) -> Vec<(usize, String)> {
    sopflow_engine::sop::load::normalize_newlines(text)
        .split('\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.to_owned()))
        .collect()
}

/// The table page's own policy: the engine's render is a self-contained page with its style
/// inline and no script; it may be framed by these pages only.
const TABLE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; \
     base-uri 'none'; form-action 'none'";

/// `GET /kelola/sop/{id}/versi/{version}/tabel`: the official PermenPAN-RB table, exactly as
/// `sopflow render --format html` gives it (printable on A4 landscape).
pub async fn table(
    State(state): State<WebState>,
    officer: Officer,
    Path((id, version)): Path<(String, u32)>,
) -> Response {
    let deployed = match deployed_for_admin(&state, &officer, &id, version).await {
        Ok(d) => d,
        Err(r) => return r,
    };
    // The engine escapes every text of the SOP it writes into this page.
    let body = sopflow_engine::render::html(deployed.sop.document());
    let mut response = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(TABLE_CSP),
    );
    headers.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    response
}
