//! Who is asking: the session cookie (read through the core's sessions), the CSRF check of
//! every form and htmx request, the language cookie, and the page chrome built from them.

use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use sopflow_core::session::Session;

use crate::i18n::{Lang, Msg};
use crate::{WebState, assets};

pub const SESSION_COOKIE: &str = "sopflow_session";
pub const LANG_COOKIE: &str = "sopflow_lang";
/// The CSRF token of forms posted before there is a session (login, the status page): the
/// same random value in a cookie and in the form (double submit).
pub const FORM_COOKIE: &str = "sopflow_form";
/// The form field and the htmx header that carry the CSRF token.
pub const CSRF_FIELD: &str = "_csrf";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The value of cookie `name`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Strict, for the whole site, Secure behind TLS;
/// no Max-Age (gone when the browser closes; the server ends idle sessions itself).
pub fn set_cookie(name: &str, value: &str, secure: bool, http_only: bool) -> HeaderValue {
    let mut text = format!("{name}={value}; Path=/; SameSite=Strict");
    if http_only {
        text.push_str("; HttpOnly");
    }
    if secure {
        text.push_str("; Secure");
    }
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static(""))
}

/// A cookie removed.
pub fn clear_cookie(name: &str, secure: bool) -> HeaderValue {
    let mut text = format!("{name}=; Path=/; SameSite=Strict; HttpOnly; Max-Age=0");
    if secure {
        text.push_str("; Secure");
    }
    HeaderValue::from_str(&text).unwrap_or(HeaderValue::from_static(""))
}

/// The language of the request (cookie; Bahasa Indonesia without one).
pub fn lang(headers: &HeaderMap) -> Lang {
    cookie(headers, LANG_COOKIE)
        .and_then(Lang::parse)
        .unwrap_or_default()
}

/// The client's address (requests that came over a socket), for the failure limits.
pub fn peer(parts: &Parts) -> Option<std::net::IpAddr> {
    parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

fn is_htmx(headers: &HeaderMap) -> bool {
    headers.contains_key("hx-request")
}

/// What every page shows around its content: words, language switch, assets, who is logged in.
pub struct Chrome {
    pub m: &'static Msg,
    pub lang: &'static str,
    /// The path of the language switch (back to this page).
    pub switch_href: String,
    pub css: String,
    pub htmx: String,
    pub sse: String,
    pub app_js: String,
    pub board_js: String,
    /// Name and role of the officer, when logged in.
    pub officer: Option<(String, String)>,
    /// The session's CSRF token (empty without a session), for forms and htmx requests.
    pub csrf: String,
    /// The htmx request headers carrying the CSRF token, as the JSON `hx-headers` takes.
    pub hx_headers: String,
    /// The page being shown, for the navigation's `aria-current`.
    pub section: &'static str,
}

impl Chrome {
    pub fn new(lang: Lang, path: &str, session: Option<&Session>, section: &'static str) -> Self {
        let csrf = session.map(|s| s.csrf_token.clone()).unwrap_or_default();
        Self {
            m: lang.msg(),
            lang: lang.code(),
            switch_href: format!("/bahasa/{}?ke={}", lang.other().code(), local_path(path)),
            css: assets::url("app.css"),
            htmx: assets::url("htmx.min.js"),
            sse: assets::url("htmx-sse.min.js"),
            app_js: assets::url("app.js"),
            board_js: assets::url("board.js"),
            officer: session.map(|s| (s.user.name.clone(), s.user.role.clone())),
            hx_headers: serde_json::json!({ "X-CSRF-Token": csrf }).to_string(),
            csrf,
            section,
        }
    }
}

/// `path` if it is a path of this site (no scheme, no `//host`), else `/`: the language switch
/// and the login never redirect elsewhere.
pub fn local_path(path: &str) -> String {
    let ok = path.starts_with('/')
        && !path.starts_with("//")
        && !path.contains('\\')
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/-_.".contains(&b));
    if ok { path.to_owned() } else { "/".to_owned() }
}

/// A logged-in officer: the live session behind the request's cookie. Without one, a page
/// (GET) sends the browser to the login, an htmx request is told to go there, anything else
/// gets the "session ended" page.
pub struct Officer {
    pub session: Session,
    pub lang: Lang,
}

impl Officer {
    pub fn chrome(&self, path: &str, section: &'static str) -> Chrome {
        Chrome::new(self.lang, path, Some(&self.session), section)
    }

    /// The desk (service point and counter) the officer chose on the counter page, kept
    /// with the session as `point/counter`.
    pub fn desk(&self) -> Option<(&str, &str)> {
        sopflow_core::session::desk_of(self.session.counter.as_deref()?)
    }

    /// The service point the officer works at now: their desk's, else where their
    /// memberships first place them (the deployment's default for someone everywhere).
    pub fn point(&self, state: &WebState) -> String {
        match self.desk() {
            Some((point, _)) => point.to_owned(),
            None => sopflow_core::access::home_point(
                &self.session.user,
                state.runtime.offices.default_id(),
            ),
        }
    }
}

impl FromRequestParts<WebState> for Officer {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &WebState,
    ) -> Result<Self, Self::Rejection> {
        let lang = lang(&parts.headers);
        let now = time::OffsetDateTime::now_utc();
        let found = match cookie(&parts.headers, SESSION_COOKIE) {
            Some(token) => state
                .sessions
                .find(&state.runtime.store, token, now)
                .await
                .map_err(|e| {
                    tracing::error!(error = %e, "session lookup failed");
                    crate::pages::errors::internal(lang)
                })?,
            None => None,
        };
        match found {
            Some(session) => Ok(Officer { session, lang }),
            None => Err(not_logged_in(parts, lang)),
        }
    }
}

fn not_logged_in(parts: &Parts, lang: Lang) -> Response {
    let next = local_path(parts.uri.path());
    let login = format!("/masuk?ke={next}");
    if is_htmx(&parts.headers) {
        let mut response = StatusCode::UNAUTHORIZED.into_response();
        if let Ok(v) = HeaderValue::from_str(&login) {
            response.headers_mut().insert("hx-redirect", v);
        }
        return response;
    }
    if parts.method == Method::GET {
        return Redirect::to(&login).into_response();
    }
    crate::pages::errors::session_ended(lang)
}

/// A form posted by a logged-in officer, its CSRF token checked (the form field or, for htmx
/// requests, the header): the officer and the fields in order.
pub struct Posted {
    pub officer: Officer,
    pub fields: Vec<(String, String)>,
}

impl Posted {
    /// The first value of field `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        field(&self.fields, name)
    }
}

/// The first value of `name` in posted `fields`.
pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Largest form accepted (a step form is a few kilobytes).
const MAX_FORM_BYTES: usize = 64 * 1024;

impl FromRequest<WebState> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &WebState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let officer = Officer::from_request_parts(&mut parts, state).await?;
        let lang = officer.lang;
        let header_token = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let req = Request::from_parts(parts, body);
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| e.into_response())?;
        if bytes.len() > MAX_FORM_BYTES {
            return Err(StatusCode::PAYLOAD_TOO_LARGE.into_response());
        }
        let fields: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| StatusCode::BAD_REQUEST.into_response())?;
        let given = field(&fields, CSRF_FIELD)
            .map(str::to_owned)
            .or(header_token)
            .unwrap_or_default();
        if !officer.session.csrf_matches(&given) {
            return Err(crate::pages::errors::csrf_refused(lang));
        }
        Ok(Posted { officer, fields })
    }
}

/// A new token for a form without a session, and the cookie that carries it too.
pub fn form_token(state: &WebState) -> Option<(String, HeaderValue)> {
    let token = sopflow_core::codes::random_code(32).ok()?;
    let cookie = set_cookie(FORM_COOKIE, &token, state.config.secure_cookies, true);
    Some((token, cookie))
}

/// Whether a form without a session carried the token of its cookie.
pub fn form_token_matches(headers: &HeaderMap, given: Option<&str>) -> bool {
    use subtle_free::eq;
    match (cookie(headers, FORM_COOKIE), given) {
        (Some(a), Some(b)) => !a.is_empty() && eq(a.as_bytes(), b.as_bytes()),
        _ => false,
    }
}

mod subtle_free {
    /// Compares without an early exit (the token is a secret of the browser).
    pub fn eq(a: &[u8], b: &[u8]) -> bool {
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

/// The client's address, when the request came over a socket (in-process requests have none).
pub struct Peer(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Peer(peer(parts)))
    }
}
