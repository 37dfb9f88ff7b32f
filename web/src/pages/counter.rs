//! The counter (loket): the officer's desk (a service point and one of its counters), the
//! queues their roles call there with how many wait, Call next (the called case opens on its
//! step form), and, for the number just called: Recall, No-show, Transfer to another counter.
//! Every rule (who calls which queue, where, what a no-show does) is the core's
//! (`sopflow_core::counters`).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use sopflow_core::counters::{self, CallAction, CallAt, QueueState};
use sopflow_core::queries::QueryError;
use sopflow_store::QueueCall;

use super::now;
use crate::WebState;
use crate::people::{Chrome, Officer, Posted};

/// A counter the officer may sit at: `point/counter`, and how it reads.
pub struct DeskChoice {
    pub value: String,
    pub label: String,
}

#[derive(Template)]
#[template(path = "counter.html")]
struct CounterPage {
    c: Chrome,
    desks: Vec<DeskChoice>,
    current: String,
    queues: Vec<QueueState>,
    notice: Option<String>,
    /// The last number called to the officer's counter, and the other counters it may be
    /// sent to.
    last_call: Option<QueueCall>,
    others: Vec<DeskChoice>,
}

async fn render(
    state: &WebState,
    officer: &Officer,
    status: StatusCode,
    notice: Option<String>,
) -> Response {
    let lang = officer.lang;
    let user = &officer.session.user;
    let points = match counters::points_of(&state.runtime, user).await {
        Ok(p) => p,
        Err(e) => return super::errors::query(lang, e),
    };
    let several = points.len() > 1;
    let desks = points
        .iter()
        .flat_map(|p| {
            p.counters.iter().map(move |c| DeskChoice {
                value: sopflow_core::session::desk_value(&p.id, &c.id),
                label: if several {
                    format!("{} · {}", p.name, c.name)
                } else {
                    c.name.clone()
                },
            })
        })
        .collect();
    let point = officer.point(state);
    let board = match counters::desk_board(&state.runtime, user, &point, now()).await {
        Ok(b) => b,
        Err(e) => return super::errors::query(lang, e),
    };
    let mine = officer.desk().map(|(_, counter)| counter.to_owned());
    let last_call = board
        .counters
        .iter()
        .find(|c| Some(&c.counter.id) == mine.as_ref())
        .and_then(|c| c.last_call.clone())
        .filter(|call| board.queues.iter().any(|q| q.queue == call.queue));
    let others = board
        .point
        .counters
        .iter()
        .filter(|c| Some(&c.id) != mine.as_ref())
        .map(|c| DeskChoice {
            value: c.id.clone(),
            label: c.name.clone(),
        })
        .collect();
    let page = CounterPage {
        c: officer.chrome("/loket", "counter"),
        desks,
        current: officer.session.counter.clone().unwrap_or_default(),
        queues: board.queues,
        notice,
        last_call,
        others,
    };
    crate::html(status, page.render())
}

/// `GET /loket`.
pub async fn page(State(state): State<WebState>, officer: Officer) -> Response {
    render(&state, &officer, StatusCode::OK, None).await
}

/// `POST /loket/meja`: the desk this officer works at (kept with the session).
pub async fn set_counter(State(state): State<WebState>, posted: Posted) -> Response {
    let officer = &posted.officer;
    let points = match counters::points_of(&state.runtime, &officer.session.user).await {
        Ok(p) => p,
        Err(e) => return super::errors::query(officer.lang, e),
    };
    // Only a counter of a service point where the officer works.
    let chosen = posted.get("loket").filter(|value| {
        sopflow_core::session::desk_of(value).is_some_and(|(point, counter)| {
            points
                .iter()
                .any(|p| p.id == point && p.counter(counter).is_some())
        })
    });
    if let Err(e) = state
        .sessions
        .set_counter(&state.runtime.store, &officer.session, chosen)
        .await
    {
        tracing::error!(error = %e, "counter not stored");
        return super::errors::internal(officer.lang);
    }
    Redirect::to("/loket").into_response()
}

/// `POST /loket/panggil/{queue}`: calls the next number to the officer's counter (the API's
/// call-next) and opens the called case.
pub async fn call_next(
    State(state): State<WebState>,
    Path(queue): Path<String>,
    posted: Posted,
) -> Response {
    let officer = &posted.officer;
    let lang = officer.lang;
    let point = officer.point(&state);
    let at = CallAt {
        service_point: Some(&point),
        queue: &queue,
        counter: officer.desk().map(|(_, counter)| counter),
    };
    match counters::call_next(&state.runtime, &officer.session.user, at, now()).await {
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
        Err(e) => super::errors::query(lang, e),
    }
}

/// `POST /loket/ulang`, `/loket/tidak-hadir`, `/loket/alihkan`: the number just called
/// (the posted case id, never personal data) called again, marked a no-show (back to the end
/// of its queue, or cancelled at the configured limit), or sent to another counter.
async fn act(state: &WebState, posted: &Posted, action: CallAction) -> Response {
    let officer = &posted.officer;
    let lang = officer.lang;
    let Some(case_id) = posted.get("berkas") else {
        return super::errors::not_found(lang);
    };
    match counters::act_on_call(
        &state.runtime,
        &officer.session.user,
        case_id,
        action,
        now(),
    )
    .await
    {
        Ok(_) => Redirect::to("/loket").into_response(),
        Err(QueryError::Runtime(sopflow_core::RuntimeError::Command { error, .. })) => {
            render(
                state,
                officer,
                StatusCode::CONFLICT,
                Some(error.to_string()),
            )
            .await
        }
        Err(e) => super::errors::query(lang, e),
    }
}

/// `POST /loket/ulang`.
pub async fn recall(State(state): State<WebState>, posted: Posted) -> Response {
    act(&state, &posted, CallAction::Recall).await
}

/// `POST /loket/tidak-hadir`.
pub async fn no_show(State(state): State<WebState>, posted: Posted) -> Response {
    let reason = Some(posted.officer.lang.msg().no_show_reason.to_owned());
    act(&state, &posted, CallAction::NoShow { reason }).await
}

/// `POST /loket/alihkan`.
pub async fn transfer(State(state): State<WebState>, posted: Posted) -> Response {
    let to = posted.get("ke").unwrap_or("").to_owned();
    act(&state, &posted, CallAction::Transfer { to }).await
}
