//! The citizen's status page: public, no login. The tracking code from the receipt shows the
//! service, the step in the SOP's words, and whether the result is ready to collect; no
//! personal data, no case id. Unknown and malformed codes get one answer, and count against
//! the address like failed logins (guessing stays slow).

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sopflow_core::auth::AuthError;
use sopflow_core::queries::{self, PublicStage};

use crate::WebState;
use crate::i18n::Lang;
use crate::people::{self, Chrome};

pub struct StatusResult {
    pub service: String,
    pub step: Option<String>,
    pub stage: &'static str,
    pub class: &'static str,
}

#[derive(Template)]
#[template(path = "status.html")]
struct StatusPage {
    c: Chrome,
    token: String,
    typed: String,
    error: Option<String>,
    result: Option<StatusResult>,
    /// After hand-over: the satisfaction survey, or a note that it was answered.
    survey: Option<super::survey::SurveyForm>,
    survey_note: Option<&'static str>,
}

fn render(
    state: &WebState,
    lang: Lang,
    status: StatusCode,
    typed: &str,
    error: Option<String>,
    result: Option<StatusResult>,
    survey: (Option<super::survey::SurveyForm>, Option<&'static str>),
) -> Response {
    let Some((token, cookie)) = people::form_token(state) else {
        return super::errors::internal(lang);
    };
    let page = StatusPage {
        c: Chrome::new(lang, "/status", None, "status"),
        token,
        typed: typed.to_owned(),
        error,
        result,
        survey: survey.0,
        survey_note: survey.1,
    };
    let mut response = crate::html(status, page.render());
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

/// `GET /status`.
pub async fn form(State(state): State<WebState>, headers: HeaderMap) -> Response {
    render(
        &state,
        people::lang(&headers),
        StatusCode::OK,
        "",
        None,
        None,
        (None, None),
    )
}

/// `POST /status`: the code is posted, never put in a URL.
pub async fn lookup(
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
    let typed: String = people::field(&fields, "kode")
        .unwrap_or("")
        .chars()
        .take(30)
        .collect();
    let blocked = |state: &WebState| {
        render(
            state,
            lang,
            StatusCode::TOO_MANY_REQUESTS,
            "",
            Some(m.status_blocked.to_owned()),
            None,
            (None, None),
        )
    };
    if state.status_limit.check(peer).is_err() {
        return blocked(&state);
    }
    match queries::public_status(&state.runtime, &typed).await {
        Ok(Some(found)) => {
            let (stage, class) = match found.stage {
                PublicStage::InProgress => (m.status_in_progress, "green"),
                PublicStage::OnHold => (m.status_on_hold, "amber"),
                PublicStage::ReadyToCollect => (m.status_ready, "ready"),
                PublicStage::Completed => (m.status_done, "grey"),
                PublicStage::Cancelled => (m.status_withdrawn, "grey"),
            };
            let result = StatusResult {
                service: found.service,
                step: found.step,
                stage,
                class,
            };
            let survey = if found.stage == PublicStage::Completed {
                match sopflow_core::survey::state(&state.runtime, &typed).await {
                    Ok(sopflow_core::survey::SurveyState::Open { service }) => (
                        Some(super::survey::SurveyForm::new(
                            lang,
                            "status",
                            &typed,
                            Some(service),
                        )),
                        None,
                    ),
                    Ok(sopflow_core::survey::SurveyState::Answered) => {
                        (None, Some(m.survey_already))
                    }
                    Ok(_) => (None, None),
                    Err(e) => return super::errors::runtime(lang, e),
                }
            } else {
                (None, None)
            };
            render(
                &state,
                lang,
                StatusCode::OK,
                &typed,
                None,
                Some(result),
                survey,
            )
        }
        Ok(None) => match state.status_limit.refuse(peer) {
            AuthError::RateLimited(_) => blocked(&state),
            // The same answer for a code that is malformed, unknown, or was never issued.
            _ => render(
                &state,
                lang,
                StatusCode::OK,
                &typed,
                Some(m.status_unknown.to_owned()),
                None,
                (None, None),
            ),
        },
        Err(e) => super::errors::runtime(lang, e),
    }
}
