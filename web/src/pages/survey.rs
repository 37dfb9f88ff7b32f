//! The citizens' satisfaction survey (SKM): the nine questions, answered once per case after
//! hand-over, from the status page (the code already typed there, posted again with the
//! answers) or from a kiosk at a service point (`/survei`: the citizen types the code). Public,
//! no login; the code is posted, never put in a URL; unknown codes count against the address
//! as on the status page. What is stored, and that it stays anonymous, is the core's
//! (`sopflow_core::survey`).

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sopflow_core::auth::AuthError;
use sopflow_core::skm::{self, AnswerError, ELEMENTS, Scores};
use sopflow_core::survey::{self, AnswerOutcome};

use super::now;
use crate::WebState;
use crate::i18n::Lang;
use crate::people::{self, Chrome};

/// One question of the form, with what was chosen and its error.
pub struct Question {
    /// `u1`..`u9`: the field's name.
    pub field: String,
    pub number: usize,
    pub name: String,
    pub chosen: u8,
    pub error: Option<&'static str>,
}

/// The survey form, on the status page or the kiosk.
pub struct SurveyForm {
    /// Where it was sent from: `status` (the code is a hidden field) or `kiosk`.
    pub from: &'static str,
    pub code: String,
    pub service: Option<String>,
    pub questions: Vec<Question>,
    pub comment: String,
    pub comment_error: Option<&'static str>,
    pub code_error: Option<String>,
    /// The four values and their words.
    pub scale: [(u8, &'static str); 4],
}

impl SurveyForm {
    pub fn new(lang: Lang, from: &'static str, code: &str, service: Option<String>) -> Self {
        SurveyForm {
            from,
            code: code.to_owned(),
            service,
            questions: (0..ELEMENTS.len())
                .map(|i| Question {
                    field: format!("u{}", i + 1),
                    number: i + 1,
                    name: match lang {
                        Lang::Id => ELEMENTS[i].name_id.to_owned(),
                        Lang::En => ELEMENTS[i].name_en.to_owned(),
                    },
                    chosen: 0,
                    error: None,
                })
                .collect(),
            comment: String::new(),
            comment_error: None,
            code_error: None,
            scale: {
                let m = lang.msg();
                [
                    (1, m.survey_1),
                    (2, m.survey_2),
                    (3, m.survey_3),
                    (4, m.survey_4),
                ]
            },
        }
    }

    pub fn kiosk(&self) -> bool {
        self.from == "kiosk"
    }
}

#[derive(Template)]
#[template(path = "survey.html")]
struct KioskPage {
    c: Chrome,
    token: String,
    form: SurveyForm,
    notice: Option<(String, &'static str)>,
}

#[derive(Template)]
#[template(path = "survey_done.html")]
struct DonePage {
    c: Chrome,
    text: String,
    tone: &'static str,
    from: &'static str,
}

fn render_kiosk(
    state: &WebState,
    lang: Lang,
    status: StatusCode,
    form: SurveyForm,
    notice: Option<(String, &'static str)>,
) -> Response {
    let Some((token, cookie)) = people::form_token(state) else {
        return super::errors::internal(lang);
    };
    let page = KioskPage {
        c: Chrome::new(lang, "/survei", None, "survey"),
        token,
        form,
        notice,
    };
    let mut response = crate::html(status, page.render());
    response.headers_mut().append(header::SET_COOKIE, cookie);
    response
}

/// `GET /survei`: the kiosk.
pub async fn kiosk(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let lang = people::lang(&headers);
    render_kiosk(
        &state,
        lang,
        StatusCode::OK,
        SurveyForm::new(lang, "kiosk", "", None),
        None,
    )
}

fn done(
    lang: Lang,
    status: StatusCode,
    text: &str,
    tone: &'static str,
    from: &'static str,
) -> Response {
    let page = DonePage {
        c: Chrome::new(lang, "/survei", None, "survey"),
        text: text.to_owned(),
        tone,
        from,
    };
    crate::html(status, page.render())
}

/// `POST /survei`: an answer, from the status page or the kiosk.
pub async fn answer(
    State(state): State<WebState>,
    people::Peer(peer): people::Peer,
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
    let from = match people::field(&fields, "asal") {
        Some("status") => "status",
        _ => "kiosk",
    };
    let code: String = people::field(&fields, "kode")
        .unwrap_or("")
        .chars()
        .take(30)
        .collect();
    let mut form = SurveyForm::new(lang, from, &code, None);
    let typed: Vec<Option<&str>> = (1..=9)
        .map(|i| people::field(&fields, &format!("u{i}")))
        .collect();
    let mut missing = false;
    for (q, t) in form.questions.iter_mut().zip(&typed) {
        match t
            .and_then(|v| v.trim().parse::<u8>().ok())
            .filter(|v| (1..=4).contains(v))
        {
            Some(v) => q.chosen = v,
            None => {
                q.error = Some(m.survey_choose_one);
                missing = true;
            }
        }
    }
    let typed_comment = people::field(&fields, "komentar");
    form.comment = typed_comment
        .unwrap_or("")
        .chars()
        .take(skm::MAX_COMMENT + 50)
        .collect();
    let comment = match skm::comment(typed_comment) {
        Ok(c) => Some(c),
        Err(AnswerError::CommentTooLong) => {
            form.comment_error = Some(m.survey_comment_too_long);
            None
        }
        Err(_) => {
            form.comment_error = Some(m.survey_comment_control);
            None
        }
    };
    let scores = Scores::parse(std::array::from_fn(|i| typed[i]));
    let (Ok(scores), Some(comment), false) = (scores, comment, missing) else {
        return render_kiosk(
            &state,
            lang,
            StatusCode::UNPROCESSABLE_ENTITY,
            form,
            Some((m.survey_fix.to_owned(), "bad")),
        );
    };
    if state.status_limit.check(peer).is_err() {
        return done(
            lang,
            StatusCode::TOO_MANY_REQUESTS,
            m.status_blocked,
            "bad",
            from,
        );
    }
    match survey::answer(&state.runtime, &code, scores, comment, now()).await {
        Ok(AnswerOutcome::Recorded) => {
            if from == "kiosk" {
                // The kiosk is ready for the next citizen at once.
                render_kiosk(
                    &state,
                    lang,
                    StatusCode::OK,
                    SurveyForm::new(lang, "kiosk", "", None),
                    Some((m.survey_thanks.to_owned(), "good")),
                )
            } else {
                done(lang, StatusCode::OK, m.survey_thanks, "good", from)
            }
        }
        Ok(AnswerOutcome::AlreadyAnswered) => {
            done(lang, StatusCode::CONFLICT, m.survey_already, "", from)
        }
        Ok(AnswerOutcome::NotYet) => done(lang, StatusCode::CONFLICT, m.survey_not_yet, "", from),
        Ok(AnswerOutcome::UnknownCode) => match state.status_limit.refuse(peer) {
            AuthError::RateLimited(_) => done(
                lang,
                StatusCode::TOO_MANY_REQUESTS,
                m.status_blocked,
                "bad",
                from,
            ),
            _ => {
                form.code_error = Some(m.status_unknown.to_owned());
                render_kiosk(
                    &state,
                    lang,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    SurveyForm {
                        from: "kiosk",
                        ..form
                    },
                    None,
                )
            }
        },
        Err(e) => super::errors::runtime(lang, e),
    }
}
