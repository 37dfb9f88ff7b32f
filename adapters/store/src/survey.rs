//! Survei Kepuasan Masyarakat (migration 0008): anonymous answers apart from the cases, and
//! which cases have answered. A response never names its case; the core writes both in one
//! transaction (see `sopflow_core::survey`).

use crate::error::{Error, Result, is_unique_violation};
use crate::store::{Store, Tx, on_backend};

/// An answer to store: where and when (the local day, `YYYY-MM-DD`) the service was given,
/// the nine scores (1–4, U1–U9) and an optional comment. No case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSurveyResponse {
    /// Random, unguessable, and not in the order of writing.
    pub id: String,
    pub sop_id: String,
    pub service_point: String,
    pub day: String,
    pub scores: [u8; 9],
    pub comment: Option<String>,
}

/// The answers of one SOP at one service point over some days, added up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyTotals {
    pub sop_id: String,
    pub service_point: String,
    pub respondents: i64,
    /// Each element's sum of scores, U1–U9.
    pub sums: [i64; 9],
}

type TotalsRow = (
    String,
    String,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
    i64,
);

impl Store {
    /// Whether the case has answered the survey.
    pub async fn survey_answered(&self, case_id: &str) -> Result<bool> {
        on_backend!(Store, self, |s| {
            let found: Option<String> =
                sqlx::query_scalar("SELECT case_id FROM survey_answered WHERE case_id = $1")
                    .bind(case_id)
                    .fetch_optional(&s.read)
                    .await?;
            Ok(found.is_some())
        })
    }

    /// The answers given on the days `from` to `to` (inclusive, `YYYY-MM-DD`), added up per
    /// SOP and service point, by SOP then service point.
    pub async fn survey_totals(&self, from: &str, to: &str) -> Result<Vec<SurveyTotals>> {
        let rows: Vec<TotalsRow> = on_backend!(Store, self, |s| {
            sqlx::query_as(
                "SELECT sop_id, service_point, COUNT(*),
                        SUM(u1), SUM(u2), SUM(u3), SUM(u4), SUM(u5), SUM(u6), SUM(u7),
                        SUM(u8), SUM(u9)
                 FROM survey_responses WHERE day >= $1 AND day <= $2
                 GROUP BY sop_id, service_point ORDER BY sop_id, service_point",
            )
            .bind(from)
            .bind(to)
            .fetch_all(&s.read)
            .await?
        });
        Ok(rows
            .into_iter()
            .map(|r| SurveyTotals {
                sop_id: r.0,
                service_point: r.1,
                respondents: r.2,
                sums: [r.3, r.4, r.5, r.6, r.7, r.8, r.9, r.10, r.11],
            })
            .collect())
    }
}

impl Tx {
    /// Marks the case as having answered. [`Error::AlreadyExists`] when it already has.
    pub async fn mark_survey_answered(&mut self, case_id: &str) -> Result<()> {
        on_backend!(Tx, self, |t| {
            sqlx::query("INSERT INTO survey_answered (case_id) VALUES ($1)")
                .bind(case_id)
                .execute(&mut *t.conn)
                .await
                .map_err(|e| match is_unique_violation(&e) {
                    true => Error::AlreadyExists(format!("survey answer of case {case_id}")),
                    false => e.into(),
                })?;
            Ok(())
        })
    }

    /// Stores an answer (the store's checks refuse scores outside 1–4 and long comments).
    pub async fn put_survey_response(&mut self, r: &NewSurveyResponse) -> Result<()> {
        let [u1, u2, u3, u4, u5, u6, u7, u8, u9] = r.scores.map(i16::from);
        on_backend!(Tx, self, |t| {
            sqlx::query(
                "INSERT INTO survey_responses
                     (id, sop_id, service_point, day, u1, u2, u3, u4, u5, u6, u7, u8, u9, comment)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )
            .bind(&r.id)
            .bind(&r.sop_id)
            .bind(&r.service_point)
            .bind(&r.day)
            .bind(u1)
            .bind(u2)
            .bind(u3)
            .bind(u4)
            .bind(u5)
            .bind(u6)
            .bind(u7)
            .bind(u8)
            .bind(u9)
            .bind(r.comment.as_deref())
            .execute(&mut *t.conn)
            .await?;
            Ok(())
        })
    }
}
