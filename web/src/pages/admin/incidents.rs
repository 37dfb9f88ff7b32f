//! Incidents: adapter deliveries given up after their attempts, each with its case, step
//! and reason; retried with a reason through the core, as the REST API does.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use sopflow_core::outbox;

use super::{admin_only, local};
use crate::WebState;
use crate::pages::{errors, now};
use crate::people::{Chrome, Officer, Posted};

pub struct IncidentRow {
    pub id: i64,
    pub case_id: String,
    pub step: String,
    pub adapter: String,
    pub attempts: i32,
    pub reason: String,
    pub given_up: String,
}

#[derive(Template)]
#[template(path = "admin_incidents.html")]
struct IncidentsPage {
    c: Chrome,
    admin_css: String,
    incidents: Vec<IncidentRow>,
    flash: Option<String>,
    /// The incident whose retry was refused, and why (beside its reason field).
    error: Option<(i64, String)>,
}

#[derive(serde::Deserialize)]
pub struct ListQuery {
    diulang: Option<u8>,
}

/// `GET /kelola/insiden`.
pub async fn list(
    State(state): State<WebState>,
    officer: Officer,
    axum::extract::Query(q): axum::extract::Query<ListQuery>,
) -> Response {
    if let Err(r) = admin_only(&officer) {
        return r;
    }
    let flash = q
        .diulang
        .map(|_| officer.lang.msg().adm_incident_retried.to_owned());
    render(&state, &officer, StatusCode::OK, flash, None).await
}

async fn render(
    state: &WebState,
    officer: &Officer,
    status: StatusCode,
    flash: Option<String>,
    error: Option<(i64, String)>,
) -> Response {
    let rows = match state.runtime.store.list_incidents().await {
        Ok(r) => r,
        Err(e) => return errors::runtime(officer.lang, e.into()),
    };
    let offset = state.runtime.registry.utc_offset();
    let incidents = rows
        .into_iter()
        .map(|r| IncidentRow {
            id: r.id,
            step: outbox::call(&r).map(|c| c.step).unwrap_or_default(),
            case_id: r.case_id,
            adapter: r.adapter,
            attempts: r.attempts,
            reason: r.last_error.unwrap_or_default(),
            given_up: local(r.updated_at, offset),
        })
        .collect();
    let page = IncidentsPage {
        c: officer.chrome("/kelola/insiden", "admin"),
        admin_css: crate::assets::url("admin.css"),
        incidents,
        flash,
        error,
    };
    crate::html(status, page.render())
}

/// `POST /kelola/insiden/{id}/ulang`: retries the delivery, for the reason given.
pub async fn retry(State(state): State<WebState>, Path(id): Path<i64>, posted: Posted) -> Response {
    let officer = &posted.officer;
    if let Err(r) = admin_only(officer) {
        return r;
    }
    let m = officer.lang.msg();
    let reason = posted.get("alasan").unwrap_or("").trim().to_owned();
    if reason.is_empty() {
        let error = Some((id, m.adm_incident_reason_needed.to_owned()));
        return render(
            &state,
            officer,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            error,
        )
        .await;
    }
    match outbox::retry_incident(&state.runtime, &officer.session.user, id, &reason, now()).await {
        Ok(Some(_)) => Redirect::to("/kelola/insiden?diulang=1").into_response(),
        Ok(None) => {
            let flash = Some(m.adm_incident_gone.to_owned());
            render(&state, officer, StatusCode::NOT_FOUND, flash, None).await
        }
        Err(e) => errors::runtime(officer.lang, e),
    }
}
