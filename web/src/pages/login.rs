//! Logging in and out, and the language switch.

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use sopflow_core::auth::AuthError;

use super::now;
use crate::WebState;
use crate::i18n::Lang;
use crate::people::{
    self, Chrome, FORM_COOKIE, LANG_COOKIE, Posted, SESSION_COOKIE, clear_cookie, local_path,
    set_cookie,
};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    c: Chrome,
    login_token: String,
    next: String,
    username: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct Next {
    ke: Option<String>,
}

fn login_page(
    state: &WebState,
    lang: Lang,
    status: StatusCode,
    next: &str,
    username: &str,
    error: Option<String>,
) -> Response {
    let Some((token, cookie)) = people::form_token(state) else {
        return super::errors::internal(lang);
    };
    let page = LoginPage {
        c: Chrome::new(lang, "/masuk", None, "login"),
        login_token: token,
        next: local_path(next),
        username: username.to_owned(),
        error,
    };
    let mut response = crate::html(status, page.render());
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

/// `GET /masuk`: the login form (a logged-in officer goes on to the desk).
pub async fn form(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(q): Query<Next>,
) -> Response {
    let lang = people::lang(&headers);
    if let Some(token) = people::cookie(&headers, SESSION_COOKIE)
        && let Ok(Some(_)) = state
            .sessions
            .find(&state.runtime.store, token, now())
            .await
    {
        return Redirect::to("/meja").into_response();
    }
    login_page(
        &state,
        lang,
        StatusCode::OK,
        q.ke.as_deref().unwrap_or("/meja"),
        "",
        None,
    )
}

/// `POST /masuk`: checks the password through the core (failures rate-limited per address
/// like bad tokens) and opens a session.
pub async fn submit(
    State(state): State<WebState>,
    crate::people::Peer(peer): crate::people::Peer,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let lang = people::lang(&headers);
    let m = lang.msg();
    let Ok(fields) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return StatusCode::BAD_REQUEST.into_response();
    };
    if !people::form_token_matches(&headers, people::field(&fields, people::CSRF_FIELD)) {
        return super::errors::csrf_refused(lang);
    }
    let username = people::field(&fields, "username").unwrap_or("");
    let password = people::field(&fields, "password").unwrap_or("");
    let next = local_path(people::field(&fields, "ke").unwrap_or("/meja"));
    let user = match state
        .auth
        .password(&state.runtime.store, username, password, peer)
        .await
    {
        Ok(user) => user,
        Err(AuthError::Unauthenticated) => {
            return login_page(
                &state,
                lang,
                StatusCode::UNAUTHORIZED,
                &next,
                username,
                Some(m.login_failed.to_owned()),
            );
        }
        Err(AuthError::RateLimited(wait)) => {
            let text = format!(
                "{} {} {}.",
                m.login_blocked,
                wait.as_secs().max(1),
                m.seconds
            );
            let mut response = login_page(
                &state,
                lang,
                StatusCode::TOO_MANY_REQUESTS,
                &next,
                username,
                Some(text),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, wait.as_secs().max(1).into());
            return response;
        }
        Err(AuthError::Store(e)) => {
            tracing::error!(error = %e, "login: user lookup failed");
            return super::errors::internal(lang);
        }
    };
    let (token, _) = match state
        .sessions
        .open(&state.runtime.store, &user, now())
        .await
    {
        Ok(opened) => opened,
        Err(e) => {
            tracing::error!(error = %e, "login: session not stored");
            return super::errors::internal(lang);
        }
    };
    let next = if next == "/" || next.starts_with("/masuk") {
        "/meja".to_owned()
    } else {
        next
    };
    // A supervisor has no inbox: their first page is the live figures.
    let next = if next == "/meja" && user.role == sopflow_core::auth::SUPERVISOR {
        "/pantau".to_owned()
    } else {
        next
    };
    let mut response = Redirect::to(&next).into_response();
    let secure = state.config.secure_cookies;
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, &token, secure, true),
    );
    headers.append(header::SET_COOKIE, clear_cookie(FORM_COOKIE, secure));
    response
}

/// `POST /keluar`: ends the session.
pub async fn logout(State(state): State<WebState>, posted: Posted) -> Response {
    if let Err(e) = state
        .sessions
        .close(&state.runtime.store, &posted.officer.session)
        .await
    {
        tracing::error!(error = %e, "logout: session not removed");
    }
    let mut response = Redirect::to("/masuk").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        clear_cookie(SESSION_COOKIE, state.config.secure_cookies),
    );
    response
}

/// `GET /bahasa/{id|en}?ke=/path`: switches the language for this browser session.
pub async fn language(
    State(state): State<WebState>,
    Path(code): Path<String>,
    Query(q): Query<Next>,
) -> Response {
    let lang = Lang::parse(&code).unwrap_or_default();
    let mut response = Redirect::to(&local_path(q.ke.as_deref().unwrap_or("/"))).into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(LANG_COOKIE, lang.code(), state.config.secure_cookies, true),
    );
    response
}
