//! Pages for what went wrong: the session ended, a form without its CSRF token, a refusal,
//! a page that does not exist; and the layer that gives the framework's own bare errors
//! (404, 405, 413...) an HTML page too.

use askama::Template;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use sopflow_core::RuntimeError;
use sopflow_core::queries::QueryError;

use crate::i18n::Lang;
use crate::people::Chrome;

#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage {
    pub c: Chrome,
    pub title: String,
    pub text: String,
    /// `good`, `bad` or empty.
    pub tone: &'static str,
    pub link: Option<(String, String)>,
}

/// A page with a title, a sentence and an optional link.
pub fn message(
    lang: Lang,
    status: StatusCode,
    title: &str,
    text: &str,
    link: Option<(&str, &str)>,
) -> Response {
    let page = MessagePage {
        c: Chrome::new(lang, "/", None, ""),
        title: title.to_owned(),
        text: text.to_owned(),
        tone: if status.is_success() { "" } else { "bad" },
        link: link.map(|(h, l)| (h.to_owned(), l.to_owned())),
    };
    crate::html(status, page.render())
}

pub fn session_ended(lang: Lang) -> Response {
    let m = lang.msg();
    message(
        lang,
        StatusCode::UNAUTHORIZED,
        m.session_expired_title,
        m.session_expired,
        Some(("/masuk", m.login_title)),
    )
}

pub fn csrf_refused(lang: Lang) -> Response {
    let m = lang.msg();
    message(
        lang,
        StatusCode::FORBIDDEN,
        m.csrf_refused_title,
        m.csrf_refused,
        Some(("/meja", m.back_to_desk)),
    )
}

pub fn forbidden(lang: Lang, text: &str) -> Response {
    let m = lang.msg();
    message(
        lang,
        StatusCode::FORBIDDEN,
        m.forbidden_title,
        text,
        Some(("/meja", m.back_to_desk)),
    )
}

pub fn not_found(lang: Lang) -> Response {
    let m = lang.msg();
    message(
        lang,
        StatusCode::NOT_FOUND,
        m.not_found_title,
        m.not_found,
        Some(("/", m.back_to_desk)),
    )
}

pub fn internal(lang: Lang) -> Response {
    let m = lang.msg();
    message(
        lang,
        StatusCode::INTERNAL_SERVER_ERROR,
        m.error_title,
        m.error_text,
        Some(("/meja", m.back_to_desk)),
    )
}

/// A core error as a page (the cause of an internal one is logged, never shown).
pub fn runtime(lang: Lang, e: RuntimeError) -> Response {
    match e {
        RuntimeError::CaseNotFound(_)
        | RuntimeError::SopNotFound(_)
        | RuntimeError::PointNotFound(_) => not_found(lang),
        RuntimeError::Forbidden(text) => forbidden(lang, &text),
        RuntimeError::Invalid(text) => {
            let m = lang.msg();
            message(
                lang,
                StatusCode::UNPROCESSABLE_ENTITY,
                m.err_invalid,
                &text,
                Some(("/meja", m.back_to_desk)),
            )
        }
        RuntimeError::Busy(_) => {
            let m = lang.msg();
            message(
                lang,
                StatusCode::SERVICE_UNAVAILABLE,
                m.error_title,
                m.error_text,
                None,
            )
        }
        other => {
            tracing::error!(error = %other, "page: core error");
            internal(lang)
        }
    }
}

/// A core query's refusal as a page.
pub fn query(lang: Lang, e: QueryError) -> Response {
    match e {
        QueryError::Runtime(e) => runtime(lang, e),
        QueryError::NotFound(_) => not_found(lang),
        QueryError::Forbidden(text) => forbidden(lang, &text),
        QueryError::Invalid(text) => runtime(lang, RuntimeError::Invalid(text)),
    }
}

/// Gives bare error answers of page paths (the router's 404 and 405, a rejected body) an
/// HTML page in the request's language.
pub async fn plain_errors(request: Request, next: Next) -> Response {
    let lang = crate::people::lang(request.headers());
    let response = next.run(request).await;
    let status = response.status();
    let has_page = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    let redirect = response.headers().contains_key("hx-redirect");
    if has_page || redirect || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let m = lang.msg();
    let mut page = match status {
        StatusCode::NOT_FOUND => not_found(lang),
        StatusCode::METHOD_NOT_ALLOWED => message(
            lang,
            status,
            m.method_not_allowed_title,
            m.method_not_allowed,
            Some(("/", m.back_to_desk)),
        ),
        s if s.is_server_error() => internal(lang),
        s => message(
            lang,
            s,
            m.error_title,
            m.error_text,
            Some(("/", m.back_to_desk)),
        ),
    };
    if let Some(allow) = response.headers().get(header::ALLOW) {
        page.headers_mut().insert(header::ALLOW, allow.clone());
    }
    page
}
