//! Migration 0013 (compact event rows) on a store written before it: the rows the old layout
//! holds (hex hashes, plain JSON text) read back as they were written, prev_hash included
//! where it did not chain; the outbox that refers to them and its ids survive; the history
//! takes new events, and stays append-only.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[macro_use]
#[allow(dead_code)]
mod support;

use sopflow_store::testing::{Backend, TestDb};
use sopflow_store::{Error, NewOutbox};
use support::{SOP, T0, events, hash_of, projection};

backend_tests!(rows_stored_before_0013_read_and_chain_after_it);

/// The migrations before 0013 only.
async fn migrate_to_0012(db: &TestDb) {
    match db.backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&format!("{}?mode=rwc", db.url))
                .await
                .unwrap();
            sqlx::migrate!("migrations/sqlite")
                .run_to(12, &pool)
                .await
                .unwrap();
            pool.close().await;
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
            sqlx::migrate!("migrations/postgres")
                .run_to(12, &pool)
                .await
                .unwrap();
            pool.close().await;
        }
    }
}

async fn sql(db: &TestDb, text: String) {
    support::raw_sql(db, text).await;
}

const GENESIS: &str = sopflow_store::GENESIS;

/// (seq, payload text, prev_hash, hash) of the rows written the old way: case `a` chains from
/// the genesis hash; case `b`'s second row names a prev_hash that is not its predecessor's.
fn old_rows(case: &str) -> Vec<(u64, String, String, String)> {
    let mut prev = GENESIS.to_owned();
    (1..=3)
        .map(|seq| {
            let hash = hash_of(case, seq, "old");
            let stated = match (case, seq) {
                ("b", 2) => hash_of(case, 1, "forged"),
                _ => prev.clone(),
            };
            prev = hash.clone();
            let payload = format!(
                r#"{{"at":"2025-03-03T01:00:00Z","by":{{"role":"petugas","user":"ani"}},"seq":{seq},"step":"periksa","type":"step_completed","v":2}}"#
            );
            (seq, payload, stated, hash)
        })
        .collect()
}

async fn rows_stored_before_0013_read_and_chain_after_it(db: &TestDb) {
    migrate_to_0012(db).await;
    sql(
        db,
        format!(
            "INSERT INTO sop_versions (sop_id, version, content_hash, yaml, created_at)
             VALUES ('{SOP}', 1, 'h', 'id: {SOP}', '2025-03-03T01:00:00.000000Z')"
        ),
    )
    .await;
    for case in ["a", "b"] {
        let rows = old_rows(case);
        sql(
            db,
            format!(
                "INSERT INTO cases (case_id, sop_id, sop_version, status, current_step, version,
                                    head_hash, created_at, updated_at, service_point)
                 VALUES ('{case}', '{SOP}', 1, 'open', 'periksa', 3, '{}',
                         '2025-03-03T01:00:00.000000Z', '2025-03-03T01:00:00.000000Z', 'kantor')",
                rows[2].3
            ),
        )
        .await;
        for (seq, payload, prev, hash) in &rows {
            sql(
                db,
                format!(
                    "INSERT INTO events (case_id, seq, recorded_at, kind, user_name, role,
                                         payload, prev_hash, hash)
                     VALUES ('{case}', {seq}, '2025-03-03T01:00:00.000000Z', 'step_completed',
                             'ani', 'petugas', '{payload}', '{prev}', '{hash}')"
                ),
            )
            .await;
        }
    }
    // Outbox rows refer to events; ids 1 and 2 given out, 2 gone since.
    for (key, seq) in [("k1", 2), ("k2", 3)] {
        sql(
            db,
            format!(
                "INSERT INTO outbox (case_id, seq, idempotency_key, adapter, payload, status,
                                     attempts, next_attempt_at, created_at, updated_at)
                 VALUES ('a', {seq}, '{key}', 'printer', '{{}}', 'pending', 0,
                         '2025-03-03T01:00:00.000000Z', '2025-03-03T01:00:00.000000Z',
                         '2025-03-03T01:00:00.000000Z')"
            ),
        )
        .await;
    }
    sql(db, "DELETE FROM outbox WHERE idempotency_key = 'k2'".into()).await;

    // Connecting runs 0013.
    let store = db.store().await;
    for case in ["a", "b"] {
        let read = store.events(case).await.unwrap();
        let rows = old_rows(case);
        assert_eq!(read.len(), rows.len());
        for (event, (seq, payload, prev, hash)) in read.iter().zip(&rows) {
            assert_eq!(event.seq, *seq);
            assert_eq!(serde_json::to_string(&event.payload).unwrap(), *payload);
            assert_eq!(
                (&event.prev_hash, &event.hash),
                (prev, hash),
                "case {case} event {seq}"
            );
            assert_eq!(
                (
                    event.kind.as_str(),
                    event.user_name.as_str(),
                    event.recorded_at
                ),
                ("step_completed", "ani", T0)
            );
        }
    }
    // Only the prev_hash that does not chain is still stored; the rows stay plain JSON.
    let stored = db
        .raw_execute(
            "UPDATE cases SET overdue = overdue WHERE EXISTS (SELECT 1 FROM events e
             WHERE e.case_id = cases.case_id AND e.prev_hash IS NOT NULL)",
        )
        .await
        .unwrap();
    assert_eq!(stored, 1, "case b only");
    let plain = db
        .raw_execute(
            "UPDATE cases SET overdue = overdue WHERE NOT EXISTS (SELECT 1 FROM events e
             WHERE e.case_id = cases.case_id AND e.codec <> 0)",
        )
        .await
        .unwrap();
    assert_eq!(plain, 2);

    // The outbox row is there, and a new one gets an id never given out.
    let out = store.outbox_for_case("a").await.unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].id, out[0].seq), (1, 2));
    let head = old_rows("a")[2].3.clone();
    let evs = events("a", 3, &head, 2, "new");
    let mut tx = store.begin().await.unwrap();
    tx.append(
        "a",
        3,
        &evs,
        &projection(1, 3, &evs, Some("periksa")),
        &[NewOutbox {
            idempotency_key: "k3".into(),
            adapter: "printer".into(),
            payload: serde_json::json!({}),
            next_attempt_at: T0,
        }],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let read = store.events("a").await.unwrap();
    assert_eq!(read.len(), 5);
    assert_eq!(
        read[3].prev_hash, head,
        "the new row chains to the moved one"
    );
    assert_eq!(read[4].prev_hash, read[3].hash);
    let out = store.outbox_for_case("a").await.unwrap();
    assert_eq!(out.iter().map(|o| o.id).collect::<Vec<_>>(), [1, 3]);

    // Still append-only; a stale append still conflicts.
    store.close().await;
    assert!(
        db.raw_execute("UPDATE events SET kind = 'forged'")
            .await
            .is_err()
    );
    assert!(db.raw_execute("DELETE FROM events").await.is_err());
    let store = db.store().await;
    let mut tx = store.begin().await.unwrap();
    let stale = tx
        .append("a", 3, &evs, &projection(1, 3, &evs, None), &[])
        .await;
    assert!(matches!(stale, Err(Error::Conflict { .. })), "{stale:?}");
}
