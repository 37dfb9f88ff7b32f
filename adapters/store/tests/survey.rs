//! The survey's store (migration 0008) and the supervisor's counts: anonymous answers apart
//! from the cases, one per case; open cases per step; completions since a time. On SQLite and,
//! when `SOPFLOW_TEST_DATABASE_URL` is set, on PostgreSQL.

#![allow(clippy::unwrap_used)]

#[macro_use]
#[allow(dead_code)]
mod support;

use sopflow_store::testing::TestDb;
use sopflow_store::{CaseProjection, Error, NewSurveyResponse, OpenAtStep, Store};
use support::{POINT, SOP, T0, at, deploy, events};

backend_tests!(
    a_case_answers_once_and_the_answer_names_no_case,
    the_store_refuses_scores_outside_the_scale,
    open_cases_per_step_and_completions,
);

fn response(id: &str, day: &str, scores: [u8; 9]) -> NewSurveyResponse {
    NewSurveyResponse {
        id: id.into(),
        sop_id: SOP.into(),
        service_point: POINT.into(),
        day: day.into(),
        scores,
        comment: Some("Cepat".into()),
    }
}

async fn case(store: &Store, v: u32, id: &str, p: impl FnOnce(&mut CaseProjection)) {
    let evs = events(id, 0, "", 1, "create");
    let mut projection = support::projection(v, 0, &evs, Some("s1"));
    p(&mut projection);
    let mut tx = store.begin().await.unwrap();
    tx.append(id, 0, &evs, &projection, &[]).await.unwrap();
    tx.commit().await.unwrap();
}

async fn answer(store: &Store, case_id: &str, r: &NewSurveyResponse) -> Result<(), Error> {
    let mut tx = store.begin().await?;
    tx.mark_survey_answered(case_id).await?;
    tx.put_survey_response(r).await?;
    tx.commit().await
}

async fn a_case_answers_once_and_the_answer_names_no_case(db: &TestDb) {
    let store = db.store().await;
    let v = deploy(&store, SOP).await;
    case(&store, v, "c1", |_| {}).await;
    case(&store, v, "c2", |_| {}).await;
    assert!(!store.survey_answered("c1").await.unwrap());
    answer(&store, "c1", &response("r1", "2026-12-01", [4; 9]))
        .await
        .unwrap();
    assert!(store.survey_answered("c1").await.unwrap());
    // A second answer of the same case: refused, and nothing of it kept.
    let again = answer(&store, "c1", &response("r2", "2026-12-01", [1; 9])).await;
    assert!(matches!(again, Err(Error::AlreadyExists(_))), "{again:?}");
    answer(
        &store,
        "c2",
        &response("r3", "2026-12-02", [3, 3, 4, 4, 3, 4, 4, 2, 3]),
    )
    .await
    .unwrap();
    let all = store
        .survey_totals("2026-12-01", "2026-12-31")
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].respondents, 2);
    assert_eq!(all[0].sums, [7, 7, 8, 8, 7, 8, 8, 6, 7]);
    let first_day = store
        .survey_totals("2026-12-01", "2026-12-01")
        .await
        .unwrap();
    assert_eq!((first_day[0].respondents, first_day[0].sums), (1, [4; 9]));
    assert!(
        store
            .survey_totals("2026-11-01", "2026-11-30")
            .await
            .unwrap()
            .is_empty()
    );
    // The response row has no column that could hold the case.
    let columns = db
        .raw_execute("SELECT id, sop_id, service_point, day, u1, u2, u3, u4, u5, u6, u7, u8, u9, comment FROM survey_responses")
        .await;
    assert!(columns.is_ok(), "{columns:?}");
    let case_column = db.raw_execute("SELECT case_id FROM survey_responses").await;
    assert!(
        case_column.is_err(),
        "survey_responses must not hold a case id"
    );
}

async fn the_store_refuses_scores_outside_the_scale(db: &TestDb) {
    let store = db.store().await;
    let v = deploy(&store, SOP).await;
    case(&store, v, "c1", |_| {}).await;
    let mut five = response("r1", "2026-12-01", [4; 9]);
    five.scores[3] = 5;
    assert!(answer(&store, "c1", &five).await.is_err());
    // The marker went with the refused answer (one transaction).
    assert!(!store.survey_answered("c1").await.unwrap());
    let mut long = response("r1", "2026-12-01", [4; 9]);
    long.comment = Some("x".repeat(501));
    assert!(answer(&store, "c1", &long).await.is_err());
    assert!(!store.survey_answered("c1").await.unwrap());
}

async fn open_cases_per_step_and_completions(db: &TestDb) {
    let store = db.store().await;
    let v = deploy(&store, SOP).await;
    case(&store, v, "c1", |p| p.due_at = Some(at(60))).await;
    case(&store, v, "c2", |p| p.due_at = Some(at(600))).await;
    case(&store, v, "c3", |p| {
        p.current_step = Some("s2".into());
        p.overdue = true;
    })
    .await;
    case(&store, v, "c4", |p| {
        p.status = "completed".into();
        p.current_step = None;
        p.updated_at = at(3600);
    })
    .await;
    case(&store, v, "c5", |p| p.service_point = "elsewhere".into()).await;
    let rows = store.open_cases_by_step(POINT, at(120)).await.unwrap();
    let row = |step: &str, open, overdue| OpenAtStep {
        sop_id: SOP.into(),
        sop_version: v,
        step: step.into(),
        open,
        overdue,
    };
    assert_eq!(rows, vec![row("s1", 2, 1), row("s2", 1, 1)]);
    assert_eq!(
        store.completed_since(POINT, T0).await.unwrap(),
        vec![at(3600)]
    );
    assert!(
        store
            .completed_since(POINT, at(3601))
            .await
            .unwrap()
            .is_empty()
    );
}
