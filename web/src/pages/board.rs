//! The queue display board of a service point, for the waiting-room screen: the number being
//! served and its counter, the last calls, how many wait in each queue. Numbers and counters
//! only, never a name, so it needs no login. Updated over server-sent events within a moment
//! of each call made at that service point (by any process on the database: the core's call
//! hub relays them); the page chimes and speaks the call (`board.js`, speech synthesis
//! `id-ID`) and reconnects by itself after a restart (EventSource and htmx's SSE extension).

use std::convert::Infallible;
use std::time::{Duration, Instant};

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Redirect, Response};
use futures::Stream;
use sopflow_core::calls::{Call, Published};
use sopflow_core::counters::{self, QueueState};
use sopflow_core::offices::ServicePoint;
use sopflow_store::{CallKind, QueueCall};
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
/// How soon after a call shown from the call itself the board reads the store again (for the
/// cases that came into the queues meanwhile): at most once per this, however many calls.
const SETTLE: Duration = Duration::from_secs(1);

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
    let feed = Feed {
        calls: state.runtime.calls.subscribe(),
        state,
        lang,
        id,
        shown: None,
        read_at: Instant::now(),
        patched_since: None,
    };
    Sse::new(board_events(feed))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

/// One board's stream: what it shows and when it last read the store.
struct Feed {
    state: WebState,
    lang: Lang,
    id: String,
    calls: tokio::sync::broadcast::Receiver<Published>,
    /// The content last sent; `None` before the first.
    shown: Option<BoardContent>,
    read_at: Instant,
    /// Since when the content shown holds calls not yet read back from the store.
    patched_since: Option<Instant>,
}

impl Feed {
    /// The next content to send: a call at this service point shown at once from the call
    /// itself (the number announced without waiting for the store), the store read again
    /// soon after, on a resync or a no-show (its number may go back to the queue), and every
    /// [`REFRESH`] without calls. `None`: the stream ends.
    async fn next(&mut self) -> Option<String> {
        if self.shown.is_some() {
            let deadline = match self.patched_since {
                Some(t) => t + SETTLE,
                None => self.read_at + REFRESH,
            };
            let sleep = tokio::time::sleep_until(deadline.into());
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    received = self.calls.recv() => match received {
                        Ok(Published::Call(call)) if call.service_point != self.id => continue,
                        Ok(Published::Call(call)) if call.kind != CallKind::NoShow => {
                            let shown = self.shown.as_mut()?;
                            shown.apply(&call);
                            self.patched_since.get_or_insert_with(Instant::now);
                            return shown.render().ok();
                        }
                        Ok(_) | Err(RecvError::Lagged(_)) => break,
                        Err(RecvError::Closed) => return None,
                    },
                    () = &mut sleep => break,
                }
            }
        }
        let (content, _) = content_now(&self.state, self.lang, &self.id).await.ok()?;
        let html = content.render().ok();
        self.shown = Some(content);
        self.read_at = Instant::now();
        self.patched_since = None;
        html
    }
}

impl BoardContent {
    /// The board after `call`, as the store will show it: the number on top, the one before
    /// it first of the recent ones, and (a first call) the number out of its queue.
    fn apply(&mut self, call: &Call) {
        let shown = BoardCall {
            number: call.number.clone(),
            counter_text: call
                .counter_name
                .clone()
                .or_else(|| call.counter.clone())
                .unwrap_or_default(),
            at: call.at.unix_timestamp_nanos() / 1_000_000,
        };
        if let Some(before) = self.latest.replace(shown) {
            self.recent.insert(0, before);
            self.recent.truncate(RECENT);
        }
        if call.kind == CallKind::Call {
            for q in self
                .queues
                .iter_mut()
                .filter(|q| q.sop_id == call.sop_id && q.queue == call.queue)
            {
                q.waiting.retain(|n| *n != call.number);
            }
        }
    }
}

fn board_events(feed: Feed) -> impl Stream<Item = Result<Event, Infallible>> {
    futures::stream::unfold(feed, |mut feed| async move {
        let html = feed.next().await?;
        // An SSE data line ends at a newline: the fragment goes as one line per line.
        Some((Ok(Event::default().event("board").data(html)), feed))
    })
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    fn queue(sop: &str, id: &str, waiting: &[&str]) -> QueueState {
        QueueState {
            sop_id: sop.into(),
            queue: id.into(),
            name: id.into(),
            prefix: "A".into(),
            waiting: waiting.iter().map(|n| (*n).to_owned()).collect(),
        }
    }

    fn call(number: &str, kind: CallKind, minute: i64) -> Call {
        Call {
            service_point: "kantor".into(),
            sop_id: "s".into(),
            queue: "q".into(),
            number: number.into(),
            counter: Some("loket_1".into()),
            counter_name: Some("Loket 1".into()),
            kind,
            at: datetime!(2026-12-01 08:00 UTC) + time::Duration::minutes(minute),
        }
    }

    #[test]
    fn a_call_is_shown_from_itself_as_the_store_would_show_it() {
        let mut board = BoardContent {
            c: Chrome::new(Lang::Id, "/papan/kantor", None, "board"),
            latest: None,
            recent: Vec::new(),
            queues: vec![
                queue("s", "q", &["A-001", "A-002"]),
                queue("t", "q", &["A-001"]),
            ],
        };
        board.apply(&call("A-001", CallKind::Call, 0));
        let latest = board
            .latest
            .as_ref()
            .map(|c| (c.number.as_str(), c.counter_text.as_str()));
        assert_eq!(latest, Some(("A-001", "Loket 1")));
        assert!(board.recent.is_empty());
        // Out of its own queue only: another SOP's queue of the same name keeps its number.
        assert_eq!(board.queues[0].waiting, vec!["A-002"]);
        assert_eq!(board.queues[1].waiting, vec!["A-001"]);

        board.apply(&call("A-002", CallKind::Call, 1));
        board.apply(&call("A-002", CallKind::Recall, 2));
        let numbers: Vec<&str> = board.recent.iter().map(|c| c.number.as_str()).collect();
        assert_eq!(
            board.latest.as_ref().map(|c| c.number.as_str()),
            Some("A-002")
        );
        assert_eq!(numbers, vec!["A-002", "A-001"]);
        assert!(board.queues[0].waiting.is_empty());
        let html = board.render().unwrap_or_default();
        assert!(html.contains(r#"data-number="A-002""#), "{html}");

        // The recent list keeps its length.
        for m in 0..20 {
            board.apply(&call(&format!("A-{m:03}"), CallKind::Call, 3 + m));
        }
        assert_eq!(board.recent.len(), RECENT);
    }
}
