//! The officer's desk: the inbox of their role, most urgent first, refreshing itself; finding
//! a case by its registration number.

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sopflow_core::queries;

use super::now;
use crate::WebState;
use crate::people::{self, Chrome, Officer, Posted, SESSION_COOKIE};
use crate::view::TaskRow;

/// Tasks shown at once: the most urgent; the count says how many more there are.
pub const INBOX_PAGE: u32 = 50;

#[derive(Template)]
#[template(path = "desk.html")]
struct DeskPage {
    c: Chrome,
    role: String,
    tasks: Vec<TaskRow>,
    total: i64,
    flash: Option<String>,
    find_value: String,
    find_error: Option<String>,
}

#[derive(Template)]
#[template(path = "desk_list.html")]
struct DeskList {
    c: Chrome,
    tasks: Vec<TaskRow>,
    total: i64,
}

/// `GET /`: the desk for an officer, the login for anyone else.
pub async fn home(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let logged_in = match people::cookie(&headers, SESSION_COOKIE) {
        Some(token) => matches!(
            state
                .sessions
                .find(&state.runtime.store, token, now())
                .await,
            Ok(Some(_))
        ),
        None => false,
    };
    Redirect::to(if logged_in { "/meja" } else { "/masuk" }).into_response()
}

async fn tasks(state: &WebState, officer: &Officer) -> Result<(Vec<TaskRow>, i64), Response> {
    let user = &officer.session.user;
    let page = queries::inbox_page(&state.runtime, user, &user.role, None, INBOX_PAGE)
        .await
        .map_err(|e| match e {
            queries::QueryError::Runtime(e) => super::errors::runtime(officer.lang, e),
            other => super::errors::forbidden(officer.lang, &other.to_string()),
        })?;
    let at = now();
    let m = officer.lang.msg();
    let rows = page
        .cases
        .iter()
        .map(|c| TaskRow::new(&c.deployed, &c.state, at, m))
        .collect();
    Ok((rows, page.total))
}

#[derive(Deserialize)]
pub struct DeskQuery {
    /// The case whose step was just recorded (a case id: no personal data).
    selesai: Option<String>,
}

/// `GET /meja`.
pub async fn page(
    State(state): State<WebState>,
    officer: Officer,
    Query(q): Query<DeskQuery>,
) -> Response {
    let flash = match q.selesai {
        Some(id) => state
            .runtime
            .load_for(&officer.session.user, &id)
            .await
            .ok()
            .map(|(c, _)| {
                format!(
                    "{} {}.",
                    officer.lang.msg().step_done,
                    c.state.registration_number.clone().unwrap_or(id)
                )
            }),
        None => None,
    };
    render(&state, &officer, StatusCode::OK, flash, String::new(), None).await
}

async fn render(
    state: &WebState,
    officer: &Officer,
    status: StatusCode,
    flash: Option<String>,
    find_value: String,
    find_error: Option<String>,
) -> Response {
    let (tasks, total) = match tasks(state, officer).await {
        Ok(t) => t,
        Err(response) => return response,
    };
    let page = DeskPage {
        c: officer.chrome("/meja", "desk"),
        role: officer.session.user.role.clone(),
        tasks,
        total,
        flash,
        find_value,
        find_error,
    };
    crate::html(status, page.render())
}

/// `GET /meja/daftar`: the inbox alone, for htmx's polling.
pub async fn list(State(state): State<WebState>, officer: Officer) -> Response {
    let (tasks, total) = match tasks(&state, &officer).await {
        Ok(t) => t,
        Err(response) => return response,
    };
    let list = DeskList {
        c: officer.chrome("/meja", "desk"),
        tasks,
        total,
    };
    crate::html(StatusCode::OK, list.render())
}

/// `POST /cari`: opens the case with this registration number (posted, not in the URL).
pub async fn find(State(state): State<WebState>, posted: Posted) -> Response {
    let typed = posted.get("nomor").unwrap_or("").to_owned();
    match queries::find_by_registration(&state.runtime, &posted.officer.session.user, &typed).await
    {
        Ok(Some(case_id)) => Redirect::to(&format!("/berkas/{case_id}")).into_response(),
        Ok(None) => {
            let m = posted.officer.lang.msg();
            render(
                &state,
                &posted.officer,
                StatusCode::NOT_FOUND,
                None,
                typed,
                Some(m.find_none.to_owned()),
            )
            .await
        }
        Err(e) => super::errors::runtime(posted.officer.lang, e),
    }
}
