//! The auditor's endpoints: thin handlers over [`sopflow_audit`].
//!
//! Who may do what: replay, verify, anchor and report are for `auditor` and `admin`; exports
//! and revealing personal data (`reveal=true&reason=...`) for `auditor` only. The SOP actor
//! roles run cases and already see the ones they work on (`/cases/{id}`, `/history`); the
//! auditor's views across cases are not theirs.

use axum::Json;
use axum::body::{Body, Bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use sopflow_audit::anchor::{Anchor, make_anchor};
use sopflow_audit::export::{ExportFormat, ExportRequest, Exporter};
use sopflow_audit::replay::{Replay, replay_case};
use sopflow_audit::report::{SopReport, report};
use sopflow_audit::verify::{VerifyOptions, VerifyReport, verify_store};
use sopflow_audit::{AuditError, Personal, Requester, record_access};
use sopflow_core::auth::{ADMIN, AUDITOR};

use crate::extract::Caller;
use crate::problem::{FieldError, Problem};
use crate::state::AppState;

impl From<AuditError> for Problem {
    fn from(e: AuditError) -> Self {
        match e {
            AuditError::CaseNotFound(id) => Problem::not_found(format!("no case `{id}`")),
            AuditError::SopNotFound { sop_id, version } => {
                Problem::not_found(format!("no version {version} of SOP `{sop_id}`"))
            }
            AuditError::Invalid(detail) => Problem::bad_request(detail),
            AuditError::Corrupt(detail) => {
                // The detail may quote stored values: logged (ids only), not sent.
                tracing::error!(
                    detail_len = detail.len(),
                    "audit: a stored history or SOP cannot be read"
                );
                Problem::internal()
            }
            AuditError::Unreplayable { case_id, findings } => Problem::unprocessable(
                "unreplayable-history",
                "The history cannot be replayed",
                format!("case {case_id} does not verify; see `sopflow audit verify`"),
            )
            .errors(
                findings
                    .into_iter()
                    .map(|f| FieldError {
                        pointer: f.seq.map(|s| format!("event {s}")).unwrap_or_default(),
                        message: format!("{}: {}", f.check.as_str(), f.reason),
                    })
                    .collect(),
            ),
            AuditError::Store(e) => {
                tracing::error!(error = %e, "audit: store error");
                Problem::internal()
            }
        }
    }
}

fn requester(user: &Caller) -> Requester {
    Requester {
        user: user.name.clone(),
        role: user.role.clone(),
    }
}

/// Checks a reveal request: auditors only, with a reason.
fn personal(
    user: &Caller,
    reveal: Option<bool>,
    reason: Option<&str>,
) -> Result<Personal, Problem> {
    let personal = Personal::requested(reveal.unwrap_or(false), reason)?;
    if personal.is_revealed() {
        user.require(&[AUDITOR])?;
    }
    Ok(personal)
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReplayQuery {
    /// Replay up to this event (default: the whole history).
    pub until: Option<u64>,
    /// Show personal data unmasked (auditor only; needs `reason`; recorded).
    pub reveal: Option<bool>,
    /// Why personal data must be shown.
    pub reason: Option<String>,
}

/// A case step by step, and its state as of any event (auditor, admin).
#[utoipa::path(get, path = "/cases/{id}/replay", security(("bearer" = [])), params(("id" = String, Path, description = "Case id"), ReplayQuery),
    responses((status = 200, body = Replay), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, description = "The history is too damaged to replay: the findings", body = Problem)))]
pub async fn replay(
    State(state): State<AppState>,
    user: Caller,
    Path(id): Path<String>,
    query: Result<Query<ReplayQuery>, QueryRejection>,
) -> Result<Json<Replay>, Problem> {
    user.require(&[AUDITOR, ADMIN])?;
    let Query(q) = query?;
    let shown = personal(&user, q.reveal, q.reason.as_deref())?;
    // Only a case of a service point where the caller audits (else, as unknown, 404).
    state.runtime.sight_of(&user, &id).await?;
    let store = &state.runtime.store;
    let replay = replay_case(store, &id, q.until, &shown).await?;
    if shown.is_revealed() {
        // Recorded before anything is shown; if it cannot be recorded, nothing is.
        let scope = format!("case {id} until event {}", replay.until);
        record_access(
            store,
            &requester(&user),
            "replay",
            &scope,
            &shown,
            OffsetDateTime::now_utc(),
        )
        .await?;
    }
    Ok(Json(replay))
}

/// Verifies one case: its stored rows, hash chain, head and projection, its events against
/// the log, its outbox rows, and a replay re-evaluating every decision against its SOP
/// version (auditor, admin).
#[utoipa::path(get, path = "/cases/{id}/verify", security(("bearer" = [])), params(("id" = String, Path, description = "Case id")),
    responses((status = 200, body = VerifyReport), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn verify_case(
    State(state): State<AppState>,
    user: Caller,
    Path(id): Path<String>,
) -> Result<Json<VerifyReport>, Problem> {
    user.require(&[AUDITOR, ADMIN])?;
    state.runtime.sight_of(&user, &id).await?;
    let options = VerifyOptions {
        case: Some(id),
        utc_offset: state.runtime.utc_offset,
        ..VerifyOptions::default()
    };
    Ok(Json(
        verify_store(&state.runtime.store, &options, &mut |_| {}).await?,
    ))
}

/// An anchor over all case heads now, to keep, sign or publish (auditor, admin).
#[utoipa::path(get, path = "/audit/anchor", security(("bearer" = [])),
    responses((status = 200, body = Anchor), (status = 403, body = Problem)))]
pub async fn anchor(State(state): State<AppState>, user: Caller) -> Result<Json<Anchor>, Problem> {
    user.require(&[AUDITOR, ADMIN])?;
    Ok(Json(
        make_anchor(&state.runtime.store, OffsetDateTime::now_utc()).await?,
    ))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// Cases started at or after this time (RFC 3339).
    pub from: String,
    /// Cases started before this time (RFC 3339).
    pub to: String,
    /// `jsonl` (default: one case per line) or `csv` (one event per row).
    pub format: Option<String>,
    /// Show personal data unmasked (needs `reason`; recorded).
    pub reveal: Option<bool>,
    pub reason: Option<String>,
}

/// A query-string time; a `+` of an offset arrives as a space when it was not escaped.
fn parse_time(name: &str, text: &str) -> Result<OffsetDateTime, Problem> {
    OffsetDateTime::parse(&text.replace(' ', "+"), &Rfc3339)
        .map_err(|_| Problem::bad_request(format!("`{name}` must be an RFC 3339 time")))
}

/// Case histories of a time range, streamed as JSON Lines or CSV (auditor only). Every
/// export is recorded in the audit-access log, with its reason when personal data is revealed.
#[utoipa::path(get, path = "/exports/cases", security(("bearer" = [])), params(ExportQuery),
    responses((status = 200, description = "JSON Lines (application/jsonl) or CSV, streamed", content_type = "application/jsonl"),
        (status = 400, body = Problem), (status = 403, body = Problem)))]
pub async fn export_cases(
    State(state): State<AppState>,
    user: Caller,
    query: Result<Query<ExportQuery>, QueryRejection>,
) -> Result<Response, Problem> {
    user.require(&[AUDITOR])?;
    let Query(q) = query?;
    let request = ExportRequest {
        from: parse_time("from", &q.from)?,
        to: parse_time("to", &q.to)?,
        format: ExportFormat::parse(q.format.as_deref().unwrap_or("jsonl"))?,
        personal: personal(&user, q.reveal, q.reason.as_deref())?,
        // The cases of the service points where the caller audits.
        service_points: sopflow_core::access::points_holding(&user, &[AUDITOR]),
    };
    let store = state.runtime.store.clone();
    let scope = request.scope();
    let shown = request.personal.clone();
    let format = request.format;
    let exporter = Exporter::new(store.clone(), request)?;
    record_access(
        &store,
        &requester(&user),
        "export",
        &scope,
        &shown,
        OffsetDateTime::now_utc(),
    )
    .await?;
    let stream = futures::stream::try_unfold(exporter, |mut exporter| async move {
        match exporter.next_chunk().await {
            Ok(Some(chunk)) => Ok(Some((Bytes::from(chunk), exporter))),
            Ok(None) => Ok(None),
            Err(e) => {
                // Headers are gone: the client sees a cut stream, the log says why.
                tracing::error!(error = %e, "export stopped");
                Err(std::io::Error::other("export stopped"))
            }
        }
    });
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, format.content_type()),
            (
                header::CONTENT_DISPOSITION,
                if format == ExportFormat::Csv {
                    "attachment; filename=\"cases.csv\""
                } else {
                    "attachment; filename=\"cases.jsonl\""
                },
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ReportQuery {
    /// Only the cases of this service point (default: every one, for those who audit all).
    pub service_point: Option<String>,
}

/// Per step p50/p90 time against its budget, breaches, and the share of cases that reached
/// each consultation step and went round each loop, of one SOP version (auditor, admin), at
/// one service point or all.
#[utoipa::path(get, path = "/reports/sops/{id}/versions/{version}", security(("bearer" = [])),
    params(("id" = String, Path, description = "SOP id"), ("version" = u32, Path, description = "SOP version"), ReportQuery),
    responses((status = 200, body = SopReport), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn sop_report(
    State(state): State<AppState>,
    user: Caller,
    Path((id, version)): Path<(String, u32)>,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Json<SopReport>, Problem> {
    user.require(&[AUDITOR, ADMIN])?;
    let Query(q) = query?;
    let reach = sopflow_core::access::points_holding(&user, &[AUDITOR, ADMIN]);
    match (&q.service_point, &reach) {
        (Some(point), Some(points)) if !points.contains(point) => {
            return Err(Problem::forbidden(format!(
                "{} does not audit `{point}`",
                user.name
            )));
        }
        (None, Some(points)) => {
            return Err(Problem::forbidden(format!(
                "{} audits only some service points: name one ({})",
                user.name,
                points.join(", ")
            )));
        }
        _ => {}
    }
    let point = q.service_point.as_deref();
    let mut reports = report(&state.runtime.store, Some(&id), Some(version), point).await?;
    reports
        .pop()
        .map(Json)
        .ok_or_else(|| Problem::not_found(format!("no version {version} of SOP `{id}`")))
}
