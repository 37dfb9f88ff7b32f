//! The queue display board of a service point, for the waiting-room screen: the number being
//! served and its counter, the last calls, how many wait in each queue. Numbers and counters
//! only, never a name, so it needs no login. Updated over server-sent events within a moment
//! of each call made at that service point (by any process on the database: the core's call
//! hub relays them); the page chimes and speaks the call (`board.js`, speech synthesis
//! `id-ID`) and reconnects by itself after a restart (EventSource and htmx's SSE extension).

use std::convert::Infallible;
use std::time::Duration;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use futures::Stream;
use sopflow_core::calls::Published;
use sopflow_core::counters::{self, QueueState};
use sopflow_core::offices::ServicePoint;
use sopflow_store::QueueCall;
use tokio::sync::broadcast::error::RecvError;

use super::now;
use crate::WebState;
use crate::i18n::Lang;
use crate::people::{self, Chrome};

/// Calls the board lists under the current one.
const RECENT: usize = 9;

/// A call as the board shows it.
pub struct BoardCall {
    pub number: String,
    pub counter_text: String,
    /// When it was called (milliseconds since the epoch): the script announces a call once.
    pub at: i128,
}

impl BoardCall {
    fn new(call: &QueueCall, point: &ServicePoint) -> Self {
        let counter_text = call
            .counter
            .as_deref()
            .map(|id| point.counter(id).map_or(id, |c| c.name.as_str()).to_owned())
            .unwrap_or_default();
        Self {
            number: call.number.clone(),
            counter_text,
            at: call.at.unix_timestamp_nanos() / 1_000_000,
        }
    }
}

#[derive(Template)]
#[template(path = "board.html")]
struct BoardPage {
    c: Chrome,
    point_id: String,
    service_point: String,
    latest: Option<BoardCall>,
    recent: Vec<BoardCall>,
    queues: Vec<QueueState>,
}

#[derive(Template)]
#[template(path = "board_content.html")]
pub struct BoardContent {
    c: Chrome,
    latest: Option<BoardCall>,
    recent: Vec<BoardCall>,
    queues: Vec<QueueState>,
}

#[derive(Template)]
#[template(path = "board_choose.html")]
struct ChoosePage {
    c: Chrome,
    points: Vec<(String, String)>,
}

/// The board's content now: today's calls at the service point and the numbers waiting.
pub async fn content_now(
    state: &WebState,
    lang: Lang,
    id: &str,
) -> Result<(BoardContent, String), Response> {
    let at = now();
    let board = counters::public_board(&state.runtime, id, at)
        .await
        .map_err(|e| super::errors::query(lang, e))?;
    let calls = counters::recent_calls(&state.runtime, id, RECENT + 1, at)
        .await
        .map_err(|e| super::errors::query(lang, e))?;
    let mut calls = calls.iter().map(|c| BoardCall::new(c, &board.point));
    let latest = calls.next();
    let content = BoardContent {
        c: Chrome::new(lang, &format!("/papan/{id}"), None, "board"),
        latest,
        recent: calls.collect(),
        queues: board.queues,
    };
    Ok((content, board.point.name.clone()))
}

/// `GET /papan`: the board of the only service point, or the list to choose from.
pub async fn choose(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let lang = people::lang(&headers);
    let points = match state.runtime.offices.all(&state.runtime.store).await {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(error = %e, "board: service points");
            return super::errors::internal(lang);
        }
    };
    if let [only] = points.as_slice() {
        return Redirect::to(&format!("/papan/{}", only.id)).into_response();
    }
    let page = ChoosePage {
        c: Chrome::new(lang, "/papan", None, "board"),
        points: points
            .iter()
            .map(|p| (p.id.clone(), p.name.clone()))
            .collect(),
    };
    crate::html(StatusCode::OK, page.render())
}

/// `GET /papan/{point}`: the full-screen board.
pub async fn page(
    State(state): State<WebState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let lang = people::lang(&headers);
    let (content, name) = match content_now(&state, lang, &id).await {
        Ok(c) => c,
        Err(r) => return r,
    };
    let page = BoardPage {
        c: content.c,
        point_id: id,
        service_point: name,
        latest: content.latest,
        recent: content.recent,
        queues: content.queues,
    };
    crate::html(StatusCode::OK, page.render())
}

/// `GET /papan/{point}/isi`: the content alone.
pub async fn content(
    State(state): State<WebState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let lang = people::lang(&headers);
    match content_now(&state, lang, &id).await {
        Ok((content, _)) => crate::html(StatusCode::OK, content.render()),
        Err(r) => r,
    }
}

/// How often the board refreshes its waiting counts without a call.
const REFRESH: Duration = Duration::from_secs(10);

/// `GET /papan/{point}/aliran`: the board's event stream: its content at once (a
/// reconnecting board catches up), then after every call at the service point and every few
/// seconds; a comment keeps idle connections open through proxies.
pub async fn stream(
    State(state): State<WebState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let lang = people::lang(&headers);
    if let Err(e) = counters::point(&state.runtime, &id).await {
        return super::errors::query(lang, e);
    }
    let calls = state.runtime.calls.subscribe();
    let stream = board_events(state, lang, id, calls);
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

fn board_events(
    state: WebState,
    lang: Lang,
    id: String,
    calls: tokio::sync::broadcast::Receiver<Published>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    futures::stream::unfold(
        (state, id, calls, true),
        move |(state, id, mut calls, first)| async move {
            if !first {
                // Wait for a call here (or a resync, or the refresh), not anywhere.
                let deadline = tokio::time::sleep(REFRESH);
                tokio::pin!(deadline);
                loop {
                    tokio::select! {
                        received = calls.recv() => match received {
                            Ok(Published::Call(call)) if call.service_point != id => continue,
                            Ok(_) | Err(RecvError::Lagged(_)) => break,
                            Err(RecvError::Closed) => return None,
                        },
                        () = &mut deadline => break,
                    }
                }
            }
            let html = match content_now(&state, lang, &id).await {
                Ok((content, _)) => content.render().unwrap_or_default(),
                Err(_) => return None,
            };
            // An SSE data line ends at a newline: the fragment goes as one line per line.
            let event = Event::default().event("board").data(html);
            Some((Ok(event), (state, id, calls, false)))
        },
    )
}
