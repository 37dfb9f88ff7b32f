//! The web pages under the load: while the operators run their cases over the REST API,
//! officers logged in with a password reload their inbox page (`GET /meja`, a role with a
//! backlog of open cases), and a display board listens to its service point's event stream
//! (`GET /papan/{point}/aliran`). Measured: each inbox page's latency, and how long after a
//! call-next request was sent the board's stream carried that number.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use hyper::{Method, Request};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

fn client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new()).build(connector)
}

/// A browser session: the cookie the login gave.
pub struct Browser {
    client: HttpClient,
    base: String,
    cookie: String,
}

/// The value of `name=` in the response's `Set-Cookie` headers.
fn cookie_from(headers: &hyper::HeaderMap, name: &str) -> Option<String> {
    headers.get_all(SET_COOKIE).iter().find_map(|v| {
        let v = v.to_str().ok()?;
        let pair = v.split(';').next()?;
        let (k, value) = pair.split_once('=')?;
        (k.trim() == name && !value.is_empty()).then(|| value.to_owned())
    })
}

/// The `value` of the hidden input `name` in a page.
fn hidden_value(html: &str, name: &str) -> Option<String> {
    let at = html.find(&format!("name=\"{name}\""))?;
    let rest = &html[at..];
    let start = rest.find("value=\"")? + "value=\"".len();
    let end = rest[start..].find('"')?;
    Some(rest[start..start + end].to_owned())
}

fn form_encode(pairs: &[(&str, &str)]) -> String {
    let mut out = String::new();
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(k);
        out.push('=');
        for b in v.bytes() {
            match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    out.push(b as char)
                }
                _ => out.push_str(&format!("%{b:02X}")),
            }
        }
    }
    out
}

impl Browser {
    /// Logs in through the login form, as a browser does: the form cookie and its token,
    /// then the session cookie.
    pub async fn login(base: &str, username: &str, password: &str) -> anyhow::Result<Self> {
        let client = client();
        let form = client
            .request(Request::get(format!("{base}/masuk")).body(Full::new(Bytes::new()))?)
            .await?;
        let form_cookie = cookie_from(form.headers(), "sopflow_form")
            .context("the login page set no form cookie")?;
        let html = String::from_utf8(form.into_body().collect().await?.to_bytes().to_vec())?;
        let token = hidden_value(&html, "_csrf").context("the login page has no form token")?;
        let body = form_encode(&[
            ("_csrf", &token),
            ("username", username),
            ("password", password),
            ("ke", "/meja"),
        ]);
        let answer = client
            .request(
                Request::post(format!("{base}/masuk"))
                    .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .header(COOKIE, format!("sopflow_form={form_cookie}"))
                    .body(Full::new(Bytes::from(body)))?,
            )
            .await?;
        let session = cookie_from(answer.headers(), "sopflow_session");
        let to = answer
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        match session {
            Some(cookie) => Ok(Self {
                client,
                base: base.to_owned(),
                cookie: format!("sopflow_session={cookie}"),
            }),
            None => bail!(
                "login as {username}: HTTP {} (to {to:?}), no session",
                answer.status()
            ),
        }
    }

    /// One page: its status and body.
    pub async fn get(&self, path: &str) -> anyhow::Result<(u16, String)> {
        let request = Request::builder()
            .method(Method::GET)
            .uri(format!("{}{path}", self.base))
            .header(COOKIE, &self.cookie)
            .body(Full::new(Bytes::new()))?;
        let response = self.client.request(request).await?;
        let status = response.status().as_u16();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, String::from_utf8_lossy(&body).into_owned()))
    }
}

/// Reloads the inbox page until `stop`; each page's latency in µs, and the failures.
pub async fn reload_inbox(
    browser: Browser,
    stop: Arc<AtomicBool>,
    must_show: String,
    pause: Duration,
) -> (Vec<u32>, Vec<String>) {
    let mut latencies = Vec::new();
    let mut errors = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let t0 = Instant::now();
        let answer = browser.get("/meja").await;
        let us = u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX);
        match answer {
            // The page must really list the backlog (not a login page or an empty list).
            Ok((200, body)) if body.contains(&must_show) => latencies.push(us),
            Ok((status, body)) => errors.push(format!(
                "GET /meja: HTTP {status}, {} bytes, without {must_show:?}",
                body.len()
            )),
            Err(e) => errors.push(format!("GET /meja: {e:#}")),
        }
        // Between pages, as a desk's refresh (or far more often, to stress the server). The
        // pause is cut short when the load ends.
        let deadline = Instant::now() + pause;
        while Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
            tokio::time::sleep(pause.min(Duration::from_millis(50))).await;
        }
    }
    (latencies, errors)
}

/// The calls whose number the board has yet to show, and the numbers it showed first.
#[derive(Default)]
pub struct BoardWatch {
    /// number → when its call-next request was sent and answered (not yet on the board).
    pending: HashMap<String, (Instant, Instant)>,
    /// number → when the board's stream first carried it (before the caller had the answer).
    seen: HashMap<String, Instant>,
    /// From the call-next request to the board, µs: what the waiting room sees after the
    /// officer pressed "call" (it includes the call's own latency).
    pub latencies: Vec<u32>,
    /// From the call's answer to the board, µs (0 when the board was first): what the board
    /// adds to the call.
    pub lags: Vec<u32>,
    pub calls: u64,
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

impl BoardWatch {
    /// The caller's side: the number its call got, when the call was sent and answered.
    pub fn called(&mut self, number: &str, sent: Instant, answered: Instant) {
        self.calls += 1;
        match self.seen.get(number) {
            Some(at) => {
                self.latencies
                    .push(micros(at.saturating_duration_since(sent)));
                self.lags
                    .push(micros(at.saturating_duration_since(answered)));
            }
            None => {
                self.pending.insert(number.to_owned(), (sent, answered));
            }
        }
    }

    /// The board's side: every queue number in one event of the stream.
    fn shown(&mut self, data: &str, at: Instant) {
        for number in queue_numbers(data) {
            if let Some((sent, answered)) = self.pending.remove(number) {
                self.latencies
                    .push(micros(at.saturating_duration_since(sent)));
                self.lags
                    .push(micros(at.saturating_duration_since(answered)));
                self.seen.insert(number.to_owned(), at);
            } else {
                self.seen.entry(number.to_owned()).or_insert(at);
            }
        }
    }

    /// Calls the board never showed (more calls between two renders than its list holds).
    pub fn missed(&self) -> usize {
        self.pending.len()
    }
}

/// Tokens shaped like a queue number, `PREFIX-DIGITS` (the board shows numbers and counters).
fn queue_numbers(text: &str) -> Vec<&str> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_alphanumeric() {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_alphanumeric() {
            i += 1;
        }
        if i < bytes.len() && bytes[i] == b'-' {
            let dash = i;
            i += 1;
            let digits = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            let ends_clean = i == bytes.len() || !bytes[i].is_ascii_alphanumeric();
            if i > digits && ends_clean && bytes[start].is_ascii_alphabetic() {
                out.push(&text[start..i]);
            }
            if i == digits {
                i = dash + 1;
            }
        }
    }
    out
}

/// Listens to the board's event stream until `stop`, recording when each number appears.
pub async fn watch_board(
    base: String,
    point: String,
    watch: Arc<Mutex<BoardWatch>>,
    stop: Arc<AtomicBool>,
) -> anyhow::Result<u64> {
    let client = client();
    let response = client
        .request(
            Request::get(format!("{base}/papan/{point}/aliran"))
                .header("accept", "text/event-stream")
                .body(Full::new(Bytes::new()))?,
        )
        .await?;
    if response.status() != 200 {
        bail!("board stream of {point}: HTTP {}", response.status());
    }
    let mut body = response.into_body();
    let mut buffer = String::new();
    let mut events = 0u64;
    while !stop.load(Ordering::Relaxed) {
        let frame = match tokio::time::timeout(Duration::from_millis(200), body.frame()).await {
            Err(_) => continue,
            Ok(None) => bail!("the board stream of {point} ended"),
            Ok(Some(frame)) => frame?,
        };
        let at = Instant::now();
        let Ok(data) = frame.into_data() else {
            continue;
        };
        buffer.push_str(&String::from_utf8_lossy(&data));
        // Server-sent events end with a blank line.
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            events += 1;
            if let Ok(mut w) = watch.lock() {
                w.shown(&event, at);
            }
        }
    }
    Ok(events)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queue_numbers_are_found_whole() {
        let html = r#"<li class="now">A-001 <b>Loket 1</b></li><li>B-1000</li> x-1 KTP-el 7-12"#;
        assert_eq!(queue_numbers(html), vec!["A-001", "B-1000", "x-1"]);
        assert!(queue_numbers("A-").is_empty());
        assert_eq!(queue_numbers("data: A-12\n\n"), vec!["A-12"]);
    }

    #[test]
    fn a_call_is_timed_whichever_side_comes_first() {
        let mut w = BoardWatch::default();
        let t0 = Instant::now();
        let ms = |n| t0 + Duration::from_millis(n);
        w.called("A-001", t0, ms(2));
        w.shown("A-001 A-002", ms(5));
        // A-002 showed before its caller had the answer.
        w.called("A-002", ms(1), ms(7));
        assert_eq!(w.latencies, [5000, 4000]);
        assert_eq!(w.lags, [3000, 0]);
        assert_eq!(w.missed(), 0);
        w.called("A-003", t0, t0);
        assert_eq!(w.missed(), 1);
    }

    #[test]
    fn login_pages_are_read_like_a_browser() {
        let html = r#"<form><input type="hidden" name="_csrf" value="abc123"></form>"#;
        assert_eq!(hidden_value(html, "_csrf").as_deref(), Some("abc123"));
        assert_eq!(
            form_encode(&[("a", "x y&"), ("b", "ok")]),
            "a=x%20y%26&b=ok"
        );
        let mut headers = hyper::HeaderMap::new();
        headers.append(SET_COOKIE, "other=1; Path=/".parse().unwrap());
        headers.append(SET_COOKIE, "sopflow_form=T0; HttpOnly".parse().unwrap());
        assert_eq!(cookie_from(&headers, "sopflow_form").as_deref(), Some("T0"));
    }
}
