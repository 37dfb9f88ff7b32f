//! The citizens' satisfaction survey (SKM): answering once per case after hand-over, and the
//! index a supervisor reads. The figures themselves are [`crate::skm`]'s (pure).
//!
//! Answers are anonymous: a response keeps the SOP, the service point where the case was
//! served, the local day and the scores, never the case; which cases have answered is kept
//! apart (`survey_answered`), so a case answers only once. Both are written in one
//! transaction here.

use std::collections::BTreeMap;

use sopflow_engine::case::CaseStatus;
use sopflow_store::{Error as StoreError, NewSurveyResponse};
use time::{Date, OffsetDateTime};

use crate::auth::{ADMIN, SUPERVISOR, User};
use crate::queries::QueryError;
use crate::skm::{Scores, Tally};
use crate::{Runtime, RuntimeError};

/// Where a tracking code's case stands with the survey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SurveyState {
    /// No case has this code (or it is malformed): the caller answers as for any unknown code.
    UnknownCode,
    /// The case is not completed yet: the survey opens after hand-over.
    NotYet,
    /// The case may answer; `service` is its SOP's title.
    Open { service: String },
    /// The case has answered.
    Answered,
}

/// What became of an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerOutcome {
    Recorded,
    UnknownCode,
    NotYet,
    /// The case had answered already; nothing was stored.
    AlreadyAnswered,
}

/// Where the case of a typed tracking code stands with the survey.
pub async fn state(runtime: &Runtime, typed_code: &str) -> Result<SurveyState, RuntimeError> {
    let Some(code) = crate::codes::normalise_tracking_code(typed_code) else {
        return Ok(SurveyState::UnknownCode);
    };
    let Some(refs) = runtime.store.case_by_tracking_code(&code).await? else {
        return Ok(SurveyState::UnknownCode);
    };
    let loaded = runtime.load(&refs.case_id).await?;
    if loaded.state.status != CaseStatus::Completed {
        return Ok(SurveyState::NotYet);
    }
    if runtime.store.survey_answered(&refs.case_id).await? {
        return Ok(SurveyState::Answered);
    }
    Ok(SurveyState::Open {
        service: loaded.deployed.sop.document().header.title.clone(),
    })
}

/// Records the answer of the case whose tracking code was typed: its scores (checked by
/// [`Scores`]) and comment (checked by [`crate::skm::comment`]), at the service point where
/// the case was served, on that point's local day of `now`.
pub async fn answer(
    runtime: &Runtime,
    typed_code: &str,
    scores: Scores,
    comment: Option<String>,
    now: OffsetDateTime,
) -> Result<AnswerOutcome, RuntimeError> {
    let Some(code) = crate::codes::normalise_tracking_code(typed_code) else {
        return Ok(AnswerOutcome::UnknownCode);
    };
    let Some(refs) = runtime.store.case_by_tracking_code(&code).await? else {
        return Ok(AnswerOutcome::UnknownCode);
    };
    let loaded = runtime.load(&refs.case_id).await?;
    if loaded.state.status != CaseStatus::Completed {
        return Ok(AnswerOutcome::NotYet);
    }
    let point = runtime
        .offices
        .get(&runtime.store, &loaded.service_point)
        .await
        .map_err(|e| RuntimeError::Busy(format!("service points: {e}")))?
        .ok_or_else(|| RuntimeError::PointNotFound(loaded.service_point.to_string()))?;
    let response = NewSurveyResponse {
        id: random_id()?,
        sop_id: loaded.deployed.sop_id.clone(),
        service_point: point.id.clone(),
        day: day_text(point.local_day(now)),
        scores: scores.0,
        comment,
    };
    let mut tx = runtime.store.begin().await?;
    match tx.mark_survey_answered(&refs.case_id).await {
        Ok(()) => {}
        Err(StoreError::AlreadyExists(_)) => {
            tx.rollback().await?;
            return Ok(AnswerOutcome::AlreadyAnswered);
        }
        Err(e) => return Err(e.into()),
    }
    tx.put_survey_response(&response).await?;
    tx.commit().await?;
    Ok(AnswerOutcome::Recorded)
}

fn random_id() -> Result<String, RuntimeError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| RuntimeError::Busy(format!("randomness: {e}")))?;
    Ok(hex::encode(bytes))
}

/// `YYYY-MM-DD`, as the store keeps days.
pub fn day_text(day: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        day.year(),
        u8::from(day.month()),
        day.day()
    )
}

/// The answers of one SOP at one service point over a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IkmRow {
    pub sop_id: String,
    /// The SOP's title (of the version new cases start on, else its latest).
    pub service: String,
    pub service_point: String,
    pub tally: Tally,
}

/// The service points whose aggregate figures `user` reads (supervisors and admins where
/// they hold the role); `None`: every one.
pub fn supervised_points(user: &User) -> Result<Option<Vec<String>>, QueryError> {
    let points = crate::access::points_holding(user, &[SUPERVISOR, ADMIN]);
    if points.as_ref().is_some_and(Vec::is_empty) {
        return Err(QueryError::Forbidden(format!(
            "{} supervises no service point",
            user.name
        )));
    }
    Ok(points)
}

/// The survey's answers from `from` to `to` (local days, inclusive) per SOP and service
/// point, of the service points `user` supervises (or only `point`).
pub async fn ikm(
    runtime: &Runtime,
    user: &User,
    from: Date,
    to: Date,
    point: Option<&str>,
) -> Result<Vec<IkmRow>, QueryError> {
    let reach = supervised_points(user)?;
    if let Some(p) = point
        && !user.holds(SUPERVISOR, p)
        && !user.holds(ADMIN, p)
    {
        return Err(QueryError::Forbidden(format!(
            "{} does not supervise `{p}`",
            user.name
        )));
    }
    let totals = runtime
        .store
        .survey_totals(&day_text(from), &day_text(to))
        .await
        .map_err(RuntimeError::from)?;
    let mut titles: BTreeMap<String, String> = BTreeMap::new();
    for d in runtime
        .registry
        .all(&runtime.store)
        .await
        .map_err(RuntimeError::from)?
    {
        // Later versions come later: the latest title wins.
        titles.insert(d.sop_id.clone(), d.sop.document().header.title.clone());
    }
    Ok(totals
        .into_iter()
        .filter(|t| point.is_none_or(|p| p == t.service_point))
        .filter(|t| reach.as_ref().is_none_or(|r| r.contains(&t.service_point)))
        .map(|t| IkmRow {
            service: titles
                .get(&t.sop_id)
                .cloned()
                .unwrap_or_else(|| t.sop_id.clone()),
            sop_id: t.sop_id,
            service_point: t.service_point,
            tally: Tally {
                respondents: u64::try_from(t.respondents).unwrap_or(0),
                sums: t.sums.map(|s| u64::try_from(s).unwrap_or(0)),
            },
        })
        .collect())
}
