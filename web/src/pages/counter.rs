//! The counter (loket): the officer's counter, the queues their role calls with how many
//! wait, Call next (the called case opens on its step form), Recall.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use sopflow_core::queries::{self, QueryError, QueueSummary};
use sopflow_core::queue::QueueCall;

use super::now;
use crate::WebState;
use crate::people::{Chrome, Officer, Posted};

#[derive(Template)]
#[template(path = "counter.html")]
struct CounterPage {
    c: Chrome,
    counters: Vec<String>,
    current: String,
    queues: Vec<QueueSummary>,
    notice: Option<String>,
    last_call: Option<QueueCall>,
}

async fn render(
    state: &WebState,
    officer: &Officer,
    status: StatusCode,
    notice: Option<String>,
) -> Response {
    let queues = match queries::queues_called_by(&state.runtime, &officer.session.user.role).await {
        Ok(q) => q,
        Err(e) => return super::errors::runtime(officer.lang, e),
    };
    let current = officer.session.counter.clone().unwrap_or_default();
    let last_call = state.runtime.calls.recent().into_iter().find(|c| {
        queues.iter().any(|q| q.queue == c.queue)
            && (current.is_empty() || c.counter.as_deref() == Some(current.as_str()))
    });
    let page = CounterPage {
        c: officer.chrome("/loket", "counter"),
        counters: state.config.counters.clone(),
        current,
        queues,
        notice,
        last_call,
    };
    crate::html(status, page.render())
}

/// `GET /loket`.
pub async fn page(State(state): State<WebState>, officer: Officer) -> Response {
    render(&state, &officer, StatusCode::OK, None).await
}

/// `POST /loket/meja`: the counter this officer works at (kept with the session).
pub async fn set_counter(State(state): State<WebState>, posted: Posted) -> Response {
    let chosen = posted
        .get("loket")
        .filter(|c| state.config.counters.iter().any(|k| k == c));
    if let Err(e) = state
        .sessions
        .set_counter(&state.runtime.store, &posted.officer.session, chosen)
        .await
    {
        tracing::error!(error = %e, "counter not stored");
        return super::errors::internal(posted.officer.lang);
    }
    Redirect::to("/loket").into_response()
}

/// `POST /loket/panggil/{queue}`: calls the next number (the API's call-next) and opens the
/// called case.
pub async fn call_next(
    State(state): State<WebState>,
    Path(queue): Path<String>,
    posted: Posted,
) -> Response {
    let officer = &posted.officer;
    let lang = officer.lang;
    let actor = officer.session.user.actor();
    match queries::call_next(
        &state.runtime,
        &queue,
        &actor,
        officer.session.counter.as_deref(),
        now(),
    )
    .await
    {
        Ok(Some(outcome)) => {
            Redirect::to(&format!("/berkas/{}", outcome.case.state.case_id)).into_response()
        }
        Ok(None) => {
            render(
                &state,
                officer,
                StatusCode::OK,
                Some(lang.msg().nobody_waiting.to_owned()),
            )
            .await
        }
        Err(QueryError::Runtime(e)) => super::errors::runtime(lang, e),
        Err(QueryError::NotFound(_)) => super::errors::not_found(lang),
        Err(QueryError::Forbidden(text)) => super::errors::forbidden(lang, &text),
    }
}

/// `POST /loket/ulang`: announces the last number again.
pub async fn recall(State(state): State<WebState>, posted: Posted) -> Response {
    let officer = &posted.officer;
    let queue = posted.get("antrian").unwrap_or("");
    let number = posted.get("nomor").unwrap_or("");
    match queries::recall(
        &state.runtime,
        &officer.session.user.role,
        queue,
        number,
        officer.session.counter.as_deref(),
        now(),
    )
    .await
    {
        Ok(_) => Redirect::to("/loket").into_response(),
        Err(QueryError::Runtime(e)) => super::errors::runtime(officer.lang, e),
        Err(e) => super::errors::forbidden(officer.lang, &e.to_string()),
    }
}
