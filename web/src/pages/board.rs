//! The queue display board for the waiting-room screen: the number being served and its
//! counter, the last calls, how many wait in each queue. Numbers only, never a name. Updated
//! over server-sent events within a moment of each call (the core announces a call after
//! its commit); the page chimes and speaks the call (`board.js`, speech synthesis `id-ID`)
//! and reconnects by itself after a restart (EventSource and htmx's SSE extension).

use std::convert::Infallible;
use std::time::Duration;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use sopflow_core::queries::{self, QueueSummary};
use sopflow_core::queue::QueueCall;
use tokio::sync::broadcast::error::RecvError;

use crate::WebState;
use crate::i18n::Lang;
use crate::people::{self, Chrome};

/// A call as the board shows it.
pub struct BoardCall {
    pub number: String,
    pub counter_text: String,
    /// When it was called (milliseconds since the epoch): the script announces a call once.
    pub at: i128,
}

impl BoardCall {
    fn new(call: &QueueCall) -> Self {
        Self {
            number: call.number.clone(),
            counter_text: call.counter.clone().unwrap_or_default(),
            at: call.at.unix_timestamp_nanos() / 1_000_000,
        }
    }
}

#[derive(Template)]
#[template(path = "board.html")]
struct BoardPage {
    c: Chrome,
    service_point: String,
    latest: Option<BoardCall>,
    recent: Vec<BoardCall>,
    queues: Vec<QueueSummary>,
}

#[derive(Template)]
#[template(path = "board_content.html")]
pub struct BoardContent {
    c: Chrome,
    latest: Option<BoardCall>,
    recent: Vec<BoardCall>,
    queues: Vec<QueueSummary>,
}

/// The board's content now: the calls of this process and the waiting counts.
pub async fn content_now(state: &WebState, lang: Lang) -> BoardContent {
    let calls = state.runtime.calls.recent();
    let queues = queries::queue_summaries(&state.runtime)
        .await
        .unwrap_or_else(|e| {
            tracing::warn!(error = %e, "board: waiting counts");
            Vec::new()
        });
    let mut calls = calls.iter().map(BoardCall::new);
    let latest = calls.next();
    BoardContent {
        c: Chrome::new(lang, "/papan", None, "board"),
        latest,
        recent: calls.collect(),
        queues,
    }
}

/// `GET /papan`: the full-screen board (public: it shows numbers only).
pub async fn page(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let lang = people::lang(&headers);
    let content = content_now(&state, lang).await;
    let page = BoardPage {
        c: Chrome::new(lang, "/papan", None, "board"),
        service_point: state.config.service_point.clone(),
        latest: content.latest,
        recent: content.recent,
        queues: content.queues,
    };
    crate::html(StatusCode::OK, page.render())
}

/// `GET /papan/isi`: the content alone.
pub async fn content(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let lang = people::lang(&headers);
    crate::html(StatusCode::OK, content_now(&state, lang).await.render())
}

/// How often the board refreshes its waiting counts without a call.
const REFRESH: Duration = Duration::from_secs(10);

/// `GET /papan/aliran`: the board's event stream: its content at once (a reconnecting board
/// catches up), then after every call and every few seconds; a comment keeps idle
/// connections open through proxies.
pub async fn stream(State(state): State<WebState>, headers: HeaderMap) -> impl IntoResponse {
    let lang = people::lang(&headers);
    let calls = state.runtime.calls.subscribe();
    let stream = board_events(state, lang, calls);
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

fn board_events(
    state: WebState,
    lang: Lang,
    calls: tokio::sync::broadcast::Receiver<QueueCall>,
) -> impl Stream<Item = Result<Event, Infallible>> {
    futures::stream::unfold(
        (state, calls, true),
        move |(state, mut calls, first)| async move {
            if !first {
                tokio::select! {
                    received = calls.recv() => match received {
                        Ok(_) | Err(RecvError::Lagged(_)) => {}
                        Err(RecvError::Closed) => return None,
                    },
                    () = tokio::time::sleep(REFRESH) => {}
                }
            }
            let html = content_now(&state, lang).await.render().unwrap_or_default();
            // An SSE data line ends at a newline: the fragment goes as one line per line.
            let event = Event::default().event("board").data(html);
            Some((Ok(event), (state, calls, false)))
        },
    )
}
