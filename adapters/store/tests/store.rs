//! The store's behaviour, written once and run on SQLite and, when
//! `SOPFLOW_TEST_DATABASE_URL` is set, on PostgreSQL (`sqlite::NAME`, `postgres::NAME`).
//! Races use real concurrency: tasks on a multi-threaded runtime, and two connected stores
//! on one database standing for two processes.

// The scenarios are plain async fns (run by the generated #[tokio::test]s), which clippy's
// allow-unwrap-in-tests does not recognise as tests: a panic here is a failed assertion.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod support;

use std::collections::BTreeSet;

use serde_json::json;
use sopflow_store::testing::{Backend, TestDb};
use sopflow_store::{
    CallKind, CaseFilter, CaseProjection, Counter, Effective, Error, Membership, NewCall,
    NewRelease, Notified, OutboxStatus, Page, Payload, PointSource, Savepoint, SearchKey,
    ServicePoint, Store, StoredResponse,
};
use support::{
    POINT, SOP, T0, at, create_case, deploy, events, hash_of, json_of, outbox, projection, raw_sql,
};
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};

backend_tests!(
    migrations_run_twice_harmlessly,
    sop_versions_are_numbered_and_idempotent,
    concurrent_deploys_get_distinct_numbers,
    appended_events_read_back_in_order,
    rolled_back_transaction_leaves_nothing,
    bad_appends_are_refused_and_write_nothing,
    racing_appends_one_wins_the_rest_conflict,
    racing_creations_one_wins,
    commands_reading_in_their_transaction_serialize,
    schema_refuses_changing_history,
    outbox_rows_are_claimed_exactly_once,
    outbox_lifecycle_retry_incident_and_duplicates,
    expired_outbox_lease_is_reclaimed,
    queue_numbers_are_consecutive_per_queue_and_day,
    users_are_found_by_token_hash,
    idempotent_responses_commit_with_the_command,
    list_cases_filters_and_pages,
    due_cases_are_claimed_once_with_a_lease,
    times_are_utc_microseconds_and_sort_right,
    salts_and_files_commit_with_the_case,
    a_long_append_spans_several_statements,
    a_batch_reads_its_cases_ahead_as_each_command_would,
    stored_times_and_json_keep_their_format,
    service_points_are_kept_with_their_counters,
    users_hold_roles_at_service_points,
    cases_are_listed_by_service_point_sops_and_search,
    calls_commit_with_their_case_and_the_last_per_counter_is_read,
    notifications_reach_other_processes_when_they_commit,
    releases_are_kept_in_order_and_never_changed,
    calendars_are_kept_once_per_hash_and_never_changed,
);

#[tokio::test]
async fn unknown_url_scheme_is_refused_without_echoing_the_url() {
    let err = Store::connect("mysql://root:secret@localhost/db")
        .await
        .expect_err("mysql is not supported");
    assert!(matches!(err, Error::UnsupportedUrl(ref s) if s == "mysql"));
    assert!(!err.to_string().contains("secret"));
}

#[tokio::test]
async fn in_memory_sqlite_works_for_throwaway_runs() {
    let store = Store::connect("sqlite::memory:").await.unwrap();
    assert_eq!(store.backend(), "sqlite");
    let v = deploy(&store, SOP).await;
    create_case(&store, v, "c1", 2, &[]).await;
    // Reads go to the writer's connection: a second in-memory connection would be empty.
    assert_eq!(store.events("c1").await.unwrap().len(), 2);
    assert_eq!(store.case("c1").await.unwrap().unwrap().version, 2);
}

async fn migrations_run_twice_harmlessly(db: &TestDb) {
    let first = db.store().await;
    let v = deploy(&first, SOP).await;
    create_case(&first, v, "c1", 2, &[]).await;
    first.close().await;

    // Connecting again runs the migrations again: nothing changes, nothing fails.
    let second = db.store().await;
    let third = db.store().await;
    assert_eq!(second.sop_versions(SOP).await.unwrap().len(), 1);
    assert_eq!(third.events("c1").await.unwrap().len(), 2);
}

async fn sop_versions_are_numbered_and_idempotent(db: &TestDb) {
    let store = db.store().await;
    let put = |sop: &'static str, hash: &'static str| {
        let store = store.clone();
        async move {
            store
                .put_sop_version(sop, hash, &format!("yaml {hash}"), T0)
                .await
                .unwrap()
        }
    };
    assert_eq!(put("ktp_el", "h1").await, (1, true));
    assert_eq!(put("ktp_el", "h1").await, (1, false));
    assert_eq!(put("ktp_el", "h2").await, (2, true));
    assert_eq!(
        put("ktp_el", "h1").await,
        (1, false),
        "an old text keeps its number"
    );
    assert_eq!(
        put("akta_lahir", "h1").await,
        (1, true),
        "numbers are per SOP"
    );

    let ktp = store.sop_versions("ktp_el").await.unwrap();
    assert_eq!(
        ktp.iter()
            .map(|v| (v.version, v.content_hash.as_str()))
            .collect::<Vec<_>>(),
        [(1, "h1"), (2, "h2")]
    );
    let v2 = store.sop_version("ktp_el", 2).await.unwrap().unwrap();
    assert_eq!((v2.yaml.as_str(), v2.created_at), ("yaml h2", T0));
    assert_eq!(store.sop_version("ktp_el", 3).await.unwrap(), None);

    let latest = store.latest_sop_versions().await.unwrap();
    assert_eq!(
        latest
            .iter()
            .map(|v| (v.sop_id.as_str(), v.version))
            .collect::<Vec<_>>(),
        [("akta_lahir", 1), ("ktp_el", 2)]
    );
    let all = store.all_sop_versions().await.unwrap();
    assert_eq!(
        all.iter()
            .map(|v| (v.sop_id.as_str(), v.version))
            .collect::<Vec<_>>(),
        [("akta_lahir", 1), ("ktp_el", 1), ("ktp_el", 2)]
    );
}

async fn concurrent_deploys_get_distinct_numbers(db: &TestDb) {
    // Two "processes" deploy five texts, each text twice, all at once.
    let stores = [db.store().await, db.store().await];
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let store = stores[i % 2].clone();
            tokio::spawn(async move {
                let hash = format!("h{}", i % 5);
                let (version, created) =
                    store.put_sop_version(SOP, &hash, "yaml", T0).await.unwrap();
                (hash, version, created)
            })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    assert_eq!(results.iter().filter(|r| r.2).count(), 5, "{results:?}");
    for (hash, version, _) in &results {
        let same: BTreeSet<_> = results
            .iter()
            .filter(|r| &r.0 == hash)
            .map(|r| r.1)
            .collect();
        assert_eq!(
            same,
            BTreeSet::from([*version]),
            "one number per text: {results:?}"
        );
    }
    let numbers: BTreeSet<_> = results.iter().map(|r| r.1).collect();
    assert_eq!(numbers, (1..=5).collect(), "{results:?}");
}

async fn appended_events_read_back_in_order(db: &TestDb) {
    let store = db.store().await;
    let v = deploy(&store, SOP).await;
    let head = create_case(&store, v, "c1", 2, &[outbox("c1/s1/1", T0)]).await;

    let case = store.case("c1").await.unwrap().unwrap();
    assert_eq!(
        (
            case.sop_id.as_str(),
            case.sop_version,
            case.version,
            case.head_hash.as_str()
        ),
        (SOP, v, 2, head.as_str())
    );
    assert_eq!(
        (case.created_at, case.current_step.as_deref()),
        (T0, Some("s1"))
    );

    // The next command, in the shape the runtime uses: read in the transaction, then append.
    let mut more = events("c1", 2, &head, 3, "second");
    more[1].payload = Payload::from_json(
        &json!({"z": "Ñoño ✓", "a": [1, 2.5, -3], "nested": {"b": null, "a": true}}),
    )
    .unwrap();
    let mut tx = store.begin().await.unwrap();
    let seen = tx.case("c1").await.unwrap().unwrap();
    assert_eq!(seen.version, 2);
    assert_eq!(tx.events("c1").await.unwrap().len(), 2);
    let mut p = projection(v, 2, &more, Some("s2"));
    p.updated_at = at(60);
    p.due_at = Some(at(120));
    tx.append("c1", 2, &more, &p, &[]).await.unwrap();
    assert_eq!(
        tx.events("c1").await.unwrap().len(),
        5,
        "the transaction sees its writes"
    );
    tx.commit().await.unwrap();

    let all = store.events("c1").await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4, 5]
    );
    for pair in all.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash, "stored chained");
    }
    assert_eq!(
        all[3].payload,
        json_of(&more[1].payload),
        "payload round-trips"
    );
    assert_eq!(
        (
            all[2].kind.as_str(),
            all[2].user_name.as_str(),
            all[2].role.as_str()
        ),
        ("step_recorded_3", "ani", "petugas_antrian")
    );
    assert_eq!(all[2].recorded_at, T0);

    let since = store.events_since("c1", 2).await.unwrap();
    assert_eq!(since.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4, 5]);
    assert!(store.events_since("c1", 5).await.unwrap().is_empty());
    assert!(store.events("nobody").await.unwrap().is_empty());
    assert_eq!(store.case("nobody").await.unwrap(), None);

    let case = store.case("c1").await.unwrap().unwrap();
    assert_eq!(
        (case.version, case.head_hash.as_str()),
        (5, more[2].hash.as_str())
    );
    assert_eq!(
        (case.created_at, case.updated_at, case.due_at),
        (T0, at(60), Some(at(120)))
    );
    assert_eq!(case.current_step.as_deref(), Some("s2"));

    let out = store.outbox_for_case("c1").await.unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].seq, out[0].status), (2, OutboxStatus::Pending));
    assert_eq!(out[0].payload, json!({"job": "c1/s1/1"}));
}

async fn rolled_back_transaction_leaves_nothing(db: &TestDb) {
    let store = db.store().await;
    let v = deploy(&store, SOP).await;
    let head = create_case(&store, v, "c1", 1, &[]).await;

    let more = events("c1", 1, &head, 2, "rolled-back");
    let mut tx = store.begin().await.unwrap();
    let number = tx
        .next_queue_number("A", date!(2025 - 03 - 03))
        .await
        .unwrap();
    assert_eq!(number, 1);
    tx.append(
        "c1",
        1,
        &more,
        &projection(v, 1, &more, Some("s2")),
        &[outbox("k", T0)],
    )
    .await
    .unwrap();
    tx.rollback().await.unwrap();

    // Dropped without commit: the same.
    let mut tx = store.begin().await.unwrap();
    tx.append(
        "c1",
        1,
        &more,
        &projection(v, 1, &more, Some("s2")),
        &[outbox("k", T0)],
    )
    .await
    .unwrap();
    drop(tx);

    assert_eq!(store.events("c1").await.unwrap().len(), 1);
    assert_eq!(store.case("c1").await.unwrap().unwrap().version, 1);
    assert!(store.outbox_for_case("c1").await.unwrap().is_empty());
    let number = store
        .next_queue_number("A", date!(2025 - 03 - 03))
        .await
        .unwrap();
    assert_eq!(number, 1, "a rolled back number is given again");
}

async fn bad_appends_are_refused_and_write_nothing(db: &TestDb) {
    let store = db.store().await;
    let v = deploy(&store, SOP).await;
    let head = create_case(&store, v, "c1", 2, &[]).await;

    let attempt = |case_id: &'static str, expected: u64, evs: Vec<_>, p: CaseProjection| {
        let store = store.clone();
        async move {
            let mut tx = store.begin().await.unwrap();
            let result = tx.append(case_id, expected, &evs, &p, &[]).await;
            if result.is_ok() {
                tx.commit().await.unwrap();
            }
            result
        }
    };

    let evs = events("ghost", 1, "x", 1, "t");
    let err = attempt("ghost", 1, evs.clone(), projection(v, 1, &evs, None)).await;
    assert!(matches!(err, Err(Error::NotFound(_))), "{err:?}");

    let evs = events("c1", 0, "", 1, "again");
    let err = attempt("c1", 0, evs.clone(), projection(v, 0, &evs, None)).await;
    assert!(
        matches!(
            err,
            Err(Error::Conflict {
                current_version: 2,
                ..
            })
        ),
        "creating an existing case: {err:?}"
    );

    let evs = events("c1", 1, "whatever", 1, "stale");
    let err = attempt("c1", 1, evs.clone(), projection(v, 1, &evs, None)).await;
    assert!(
        matches!(
            err,
            Err(Error::Conflict {
                current_version: 2,
                ..
            })
        ),
        "stale version: {err:?}"
    );

    let evs = events("c1", 2, "not-the-head", 1, "unchained");
    let err = attempt("c1", 2, evs.clone(), projection(v, 2, &evs, None)).await;
    assert!(
        matches!(err, Err(Error::Invalid(_))),
        "broken chain: {err:?}"
    );

    // Refused in a transaction that goes on (a batch's other commands commit with it): the
    // refused append wrote none of its events.
    let mut tx = store.begin().await.unwrap();
    let evs = events("c1", 2, "not-the-head", 2, "unchained");
    let err = tx
        .append("c1", 2, &evs, &projection(v, 2, &evs, None), &[])
        .await;
    assert!(matches!(err, Err(Error::Invalid(_))), "{err:?}");
    assert_eq!(tx.events("c1").await.unwrap().len(), 2);
    tx.commit().await.unwrap();

    let mut evs = events("c1", 2, &head, 2, "gap");
    evs[1].prev_hash = "elsewhere".into();
    let err = attempt("c1", 2, evs.clone(), projection(v, 2, &evs, None)).await;
    assert!(
        matches!(err, Err(Error::Invalid(_))),
        "broken chain in the batch: {err:?}"
    );

    let evs = events("c1", 2, &head, 1, "miscounted");
    let mut p = projection(v, 2, &evs, None);
    p.version = 4;
    let err = attempt("c1", 2, evs, p.clone()).await;
    assert!(
        matches!(err, Err(Error::Invalid(_))),
        "projection version: {err:?}"
    );
    let err = attempt("c1", 2, vec![], p).await;
    assert!(matches!(err, Err(Error::Invalid(_))), "no events: {err:?}");

    // SQL has no unsigned 64-bit integer: a version beyond i64::MAX is refused, not wrapped.
    let evs = events("c1", 2, &head, 1, "huge");
    let mut p = projection(v, 2, &evs, None);
    p.version = u64::MAX;
    let err = attempt("c1", u64::MAX - 1, evs, p).await;
    assert!(
        matches!(err, Err(Error::Invalid(_))),
        "version beyond the database: {err:?}"
    );
    let err = store.events_since("c1", u64::MAX).await;
    assert!(
        matches!(err, Err(Error::Invalid(_))),
        "seq beyond the database: {err:?}"
    );

    let evs = events("c2", 0, "", 1, "unknown-sop");
    let err = attempt("c2", 0, evs.clone(), projection(99, 0, &evs, None)).await;
    assert!(
        matches!(err, Err(Error::Database(_))),
        "a case must refer to a deployed SOP version: {err:?}"
    );

    assert_eq!(store.events("c1").await.unwrap().len(), 2);
    assert_eq!(store.case("c1").await.unwrap().unwrap().head_hash, head);
    assert_eq!(store.case("c2").await.unwrap(), None);
}

async fn racing_appends_one_wins_the_rest_conflict(db: &TestDb) {
    let stores = [db.store().await, db.store().await];
    let v = deploy(&stores[0], SOP).await;
    let head = create_case(&stores[0], v, "c1", 1, &[]).await;

    // 20 commands decided on version 1, from two "processes" at once.
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = stores[i % 2].clone();
            let head = head.clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let tag = format!("w{i}");
                let evs = events("c1", 1, &head, 2, &tag);
                let p = projection(v, 1, &evs, Some(&tag));
                barrier.wait().await;
                let mut tx = store.begin().await?;
                tx.append("c1", 1, &evs, &p, &[outbox(&format!("c1/{tag}"), T0)])
                    .await?;
                tx.commit().await?;
                Ok::<_, Error>(tag)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        match t.await.unwrap() {
            Ok(tag) => winners.push(tag),
            Err(Error::Conflict {
                current_version, ..
            }) => assert_eq!(current_version, 3),
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one append wins: {winners:?}");
    let winner = &winners[0];

    let stored = stores[1].events("c1").await.unwrap();
    assert_eq!(stored.len(), 3, "nothing half-written");
    assert!(
        stored[1..]
            .iter()
            .all(|e| e.hash == hash_of("c1", e.seq, winner))
    );
    let case = stores[1].case("c1").await.unwrap().unwrap();
    assert_eq!(
        (
            case.version,
            case.current_step.as_deref(),
            case.head_hash.as_str()
        ),
        (3, Some(winner.as_str()), stored[2].hash.as_str())
    );
    let out = stores[1].outbox_for_case("c1").await.unwrap();
    assert_eq!(
        out.iter()
            .map(|o| o.idempotency_key.as_str())
            .collect::<Vec<_>>(),
        [format!("c1/{winner}")]
    );
}

async fn racing_creations_one_wins(db: &TestDb) {
    let stores = [db.store().await, db.store().await];
    let v = deploy(&stores[0], SOP).await;
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(20));
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = stores[i % 2].clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                let evs = events("new", 0, "", 1, &format!("w{i}"));
                barrier.wait().await;
                let mut tx = store.begin().await?;
                tx.append("new", 0, &evs, &projection(v, 0, &evs, None), &[])
                    .await?;
                tx.commit().await
            })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(()) => wins += 1,
            Err(Error::Conflict {
                current_version, ..
            }) => assert_eq!(current_version, 1),
            Err(e) => panic!("unexpected error: {e}"),
        }
    }
    assert_eq!(wins, 1);
    assert_eq!(stores[0].events("new").await.unwrap().len(), 1);
}

async fn commands_reading_in_their_transaction_serialize(db: &TestDb) {
    let stores = [db.store().await, db.store().await];
    let v = deploy(&stores[0], SOP).await;
    create_case(&stores[0], v, "c1", 1, &[]).await;

    // Each command reads the case in its transaction, then appends on what it read: the read
    // locks the case, so the commands queue instead of conflicting.
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(10));
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let store = stores[i % 2].clone();
            let barrier = barrier.clone();
            tokio::spawn(async move {
                barrier.wait().await;
                let mut tx = store.begin().await?;
                let case = tx.case("c1").await?.expect("case exists");
                let evs = events("c1", case.version, &case.head_hash, 1, &format!("w{i}"));
                let p = projection(v, case.version, &evs, None);
                tx.append("c1", case.version, &evs, &p, &[]).await?;
                tx.commit().await
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().expect("no command conflicts");
    }
    let stored = stores[1].events("c1").await.unwrap();
    assert_eq!(stored.len(), 11);
    for pair in stored.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
    assert_eq!(stores[1].case("c1").await.unwrap().unwrap().version, 11);
}

async fn schema_refuses_changing_history(db: &TestDb) {
    let store = db.store().await;
    let v = deploy(&store, SOP).await;
    create_case(&store, v, "c1", 2, &[]).await;
    store.close().await;

    assert!(
        db.raw_execute("UPDATE events SET kind = 'forged'")
            .await
            .is_err()
    );
    assert!(db.raw_execute("DELETE FROM events").await.is_err());
    assert!(
        db.raw_execute("UPDATE sop_versions SET yaml = 'x'")
            .await
            .is_err()
    );
    assert!(
        db.raw_execute("DELETE FROM sop_versions").await.is_err(),
        "a version a case refers to is kept"
    );
    let store = db.store().await;
    assert_eq!(store.events("c1").await.unwrap()[0].kind, "step_recorded_1");
}

async fn outbox_rows_are_claimed_exactly_once(db: &TestDb) {
    let stores = [db.store().await, db.store().await];
    let v = deploy(&stores[0], SOP).await;
    for c in 0..10 {
        let id = format!("c{c}");
        let rows: Vec<_> = (0..3)
            .map(|k| outbox(&format!("{id}/print/{k}"), T0))
            .collect();
        create_case(&stores[0], v, &id, 1, &rows).await;
    }
    // Four workers, two per "process", claim small batches until nothing is left.
    let tasks: Vec<_> = (0..4)
        .map(|w| {
            let store = stores[w % 2].clone();
            tokio::spawn(async move {
                let worker = format!("worker-{w}");
                let mut mine = Vec::new();
                loop {
                    let batch = store
                        .claim_outbox(&worker, at(1), Duration::minutes(5), 4)
                        .await
                        .unwrap();
                    if batch.is_empty() {
                        return mine;
                    }
                    for item in batch {
                        assert_eq!(item.claimed_by.as_deref(), Some(worker.as_str()));
                        assert_eq!((item.status, item.attempts), (OutboxStatus::Claimed, 1));
                        mine.push(item.id);
                    }
                }
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for t in tasks {
        claimed.extend(t.await.unwrap());
    }
    let distinct: BTreeSet<_> = claimed.iter().copied().collect();
    assert_eq!(claimed.len(), 30, "every row claimed once: {claimed:?}");
    assert_eq!(distinct.len(), 30);
}

async fn outbox_lifecycle_retry_incident_and_duplicates(db: &TestDb) {
    let store = db.store().await;
    let v = deploy(&store, SOP).await;
    let head = create_case(&store, v, "c1", 1, &[outbox("c1/print/1", at(10))]).await;
    let lease = Duration::seconds(60);

    assert!(
        store
            .claim_outbox("a", T0, lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "not due"
    );
    let claimed = store.claim_outbox("a", at(10), lease, 10).await.unwrap();
    assert_eq!(claimed.len(), 1);
    let item = &claimed[0];
    let id = item.id;
    assert_eq!((item.status, item.attempts), (OutboxStatus::Claimed, 1));
    assert_eq!(
        (item.claimed_by.as_deref(), item.lease_until),
        (Some("a"), Some(at(70)))
    );
    assert_eq!((item.adapter.as_str(), item.seq), ("print", 1));
    assert!(
        store
            .claim_outbox("b", at(11), lease, 10)
            .await
            .unwrap()
            .is_empty(),
        "leased"
    );
    let err = store.complete_outbox(id, "b", at(11)).await;
    assert!(matches!(err, Err(Error::LeaseLost { .. })), "{err:?}");

    // A failure to retry later.
    store
        .fail_outbox(id, "a", "printer offline", at(100), false, at(12))
        .await
        .unwrap();
    assert!(
        store
            .claim_outbox("b", at(50), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store.claim_outbox("b", at(100), lease, 10).await.unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(
        (again[0].attempts, again[0].last_error.as_deref()),
        (2, Some("printer offline"))
    );

    // Giving up makes an incident, which only a human's retry brings back.
    store
        .fail_outbox(id, "b", "paper jam", at(100), true, at(101))
        .await
        .unwrap();
    let far = at(1_000_000);
    assert!(
        store
            .claim_outbox("b", far, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let incidents = store.list_incidents().await.unwrap();
    assert_eq!(incidents.len(), 1);
    assert_eq!(
        (incidents[0].id, incidents[0].status),
        (id, OutboxStatus::Incident)
    );
    assert_eq!(incidents[0].last_error.as_deref(), Some("paper jam"));

    store.retry_incident(id, at(200)).await.unwrap();
    assert!(store.list_incidents().await.unwrap().is_empty());
    let err = store.retry_incident(id, at(200)).await;
    assert!(matches!(err, Err(Error::NotFound(_))), "{err:?}");
    let retried = store.claim_outbox("c", at(200), lease, 10).await.unwrap();
    assert_eq!((retried.len(), retried[0].attempts), (1, 1));
    store.complete_outbox(id, "c", at(201)).await.unwrap();
    let err = store.complete_outbox(id, "c", at(202)).await;
    assert!(
        matches!(err, Err(Error::LeaseLost { .. })),
        "done is final: {err:?}"
    );
    let err = store.complete_outbox(id + 1000, "c", at(202)).await;
    assert!(matches!(err, Err(Error::NotFound(_))), "{err:?}");
    assert!(
        store
            .claim_outbox("c", far, lease, 10)
            .await
            .unwrap()
            .is_empty()
    );

    // The same effect queued again (same deterministic key) is not queued twice.
    let evs = events("c1", 1, &head, 1, "again");
    let mut tx = store.begin().await.unwrap();
    tx.append(
        "c1",
        1,
        &evs,
        &projection(v, 1, &evs, None),
        &[outbox("c1/print/1", at(300)), outbox("c1/print/2", at(300))],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let rows = store.outbox_for_case("c1").await.unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| (r.idempotency_key.as_str(), r.status, r.seq))
            .collect::<Vec<_>>(),
        [
            ("c1/print/1", OutboxStatus::Done, 1),
            ("c1/print/2", OutboxStatus::Pending, 2)
        ]
    );

    // A row given up as an incident is re-armed when a command asks for the same key again.
    let second = rows[1].id;
    store.claim_outbox("d", at(300), lease, 10).await.unwrap();
    store
        .fail_outbox(second, "d", "printer offline", at(300), true, at(301))
        .await
        .unwrap();
    let head = store.case("c1").await.unwrap().unwrap().head_hash;
    let evs = events("c1", 2, &head, 1, "retry");
    let mut tx = store.begin().await.unwrap();
    tx.append(
        "c1",
        2,
        &evs,
        &projection(v, 2, &evs, None),
        &[outbox("c1/print/1", at(400)), outbox("c1/print/2", at(400))],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let rows = store.outbox_for_case("c1").await.unwrap();
    assert_eq!(
        rows.iter()
            .map(|r| (r.idempotency_key.as_str(), r.status, r.seq, r.attempts))
            .collect::<Vec<_>>(),
        [
            ("c1/print/1", OutboxStatus::Done, 1, 1),
            ("c1/print/2", OutboxStatus::Pending, 3, 0)
        ],
        "the done row stays done; the incident is queued again"
    );
    assert_eq!(rows[1].next_attempt_at, at(400));
    assert!(store.list_incidents().await.unwrap().is_empty());
}

async fn expired_outbox_lease_is_reclaimed(db: &TestDb) {
    let stores = [db.store().await, db.store().await];
    let v = deploy(&stores[0], SOP).await;
    create_case(&stores[0], v, "c1", 1, &[outbox("c1/adb/1", T0)]).await;
    let lease = Duration::seconds(30);

    // Worker a claims, then its process dies.
    let a = stores[0].claim_outbox("a", T0, lease, 10).await.unwrap();
    assert_eq!(a.len(), 1);
    let id = a[0].id;
    assert!(
        stores[1]
            .claim_outbox("b", at(29), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let b = stores[1]
        .claim_outbox("b", at(30), lease, 10)
        .await
        .unwrap();
    assert_eq!(b.len(), 1, "the lease ran out: the row is claimable again");
    assert_eq!(
        (b[0].id, b[0].attempts, b[0].claimed_by.as_deref()),
        (id, 2, Some("b"))
    );

    // a comes back late: its reports are refused; b's stands.
    let err = stores[0].complete_outbox(id, "a", at(31)).await;
    assert!(matches!(err, Err(Error::LeaseLost { .. })), "{err:?}");
    let err = stores[0]
        .fail_outbox(id, "a", "late", at(40), true, at(31))
        .await;
    assert!(matches!(err, Err(Error::LeaseLost { .. })), "{err:?}");
    stores[1].complete_outbox(id, "b", at(32)).await.unwrap();
    let rows = stores[0].outbox_for_case("c1").await.unwrap();
    assert_eq!(
        (rows[0].status, rows[0].last_error.as_deref()),
        (OutboxStatus::Done, None)
    );
}

async fn queue_numbers_are_consecutive_per_queue_and_day(db: &TestDb) {
    let stores = [db.store().await, db.store().await];
    let day = date!(2025 - 03 - 03);
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let store = stores[i % 2].clone();
            tokio::spawn(async move {
                let mut tx = store.begin().await.unwrap();
                let n = tx.next_queue_number("A", day).await.unwrap();
                tx.commit().await.unwrap();
                n
            })
        })
        .collect();
    let mut numbers = Vec::new();
    for t in tasks {
        numbers.push(t.await.unwrap());
    }
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        (1..=20).collect::<Vec<i64>>(),
        "unique and consecutive"
    );

    let mut tx = stores[0].begin().await.unwrap();
    assert_eq!(tx.next_queue_number("A", day).await.unwrap(), 21);
    assert_eq!(tx.next_queue_number("A", day).await.unwrap(), 22);
    tx.commit().await.unwrap();
    assert_eq!(
        stores[1].next_queue_number("B", day).await.unwrap(),
        1,
        "per queue"
    );
    let tomorrow = date!(2025 - 03 - 04);
    assert_eq!(
        stores[1].next_queue_number("A", tomorrow).await.unwrap(),
        1,
        "per day"
    );
    assert_eq!(stores[0].next_queue_number("A", day).await.unwrap(), 23);
}

async fn users_are_found_by_token_hash(db: &TestDb) {
    let store = db.store().await;
    let ani = store
        .add_user("ani", "petugas_antrian", "aa11", T0)
        .await
        .unwrap();
    let budi = store
        .add_user("budi", "operator_cetak", "bb22", at(1))
        .await
        .unwrap();
    assert_ne!(ani.id, budi.id);
    assert_eq!(
        (ani.name.as_str(), ani.role.as_str(), ani.created_at),
        ("ani", "petugas_antrian", T0)
    );

    assert_eq!(
        store.user_by_token_hash("bb22").await.unwrap(),
        Some(budi.clone())
    );
    assert_eq!(store.user_by_token_hash("cc33").await.unwrap(), None);

    let err = store.add_user("ani", "adb", "dd44", T0).await;
    assert!(
        matches!(err, Err(Error::AlreadyExists(_))),
        "name taken: {err:?}"
    );
    let err = store.add_user("cici", "adb", "aa11", T0).await;
    assert!(
        matches!(err, Err(Error::AlreadyExists(_))),
        "token taken: {err:?}"
    );

    assert_eq!(store.list_users().await.unwrap(), [ani, budi]);
}

async fn idempotent_responses_commit_with_the_command(db: &TestDb) {
    let store = db.store().await;
    let v = deploy(&store, SOP).await;
    let response = |body: &str| StoredResponse {
        request_hash: "req-hash".into(),
        status_code: 201,
        body: body.into(),
        created_at: at(5),
    };

    let evs = events("c1", 0, "", 1, "create");
    let mut tx = store.begin().await.unwrap();
    tx.append("c1", 0, &evs, &projection(v, 0, &evs, None), &[])
        .await
        .unwrap();
    tx.remember_response("ani", "key-1", &response("{\"case_id\":\"c1\"}"))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store.idempotent_response("ani", "key-1").await.unwrap(),
        Some(response("{\"case_id\":\"c1\"}"))
    );
    assert_eq!(
        store.idempotent_response("budi", "key-1").await.unwrap(),
        None,
        "per user"
    );

    // Rolled back with its command: not remembered.
    let evs = events("c2", 0, "", 1, "create");
    let mut tx = store.begin().await.unwrap();
    tx.append("c2", 0, &evs, &projection(v, 0, &evs, None), &[])
        .await
        .unwrap();
    tx.remember_response("ani", "key-2", &response("{}"))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(
        store.idempotent_response("ani", "key-2").await.unwrap(),
        None
    );
    assert_eq!(store.case("c2").await.unwrap(), None);

    let mut tx = store.begin().await.unwrap();
    let err = tx.remember_response("ani", "key-1", &response("{}")).await;
    assert!(matches!(err, Err(Error::AlreadyExists(_))), "{err:?}");
}

async fn list_cases_filters_and_pages(db: &TestDb) {
    let store = db.store().await;
    let ktp = deploy(&store, "ktp_el").await;
    let akta = deploy(&store, "akta_lahir").await;
    /// (id, sop, status, step, due_at, overdue)
    type Row = (
        &'static str,
        &'static str,
        &'static str,
        Option<&'static str>,
        Option<OffsetDateTime>,
        bool,
    );
    let rows: [Row; 7] = [
        ("c01", "ktp_el", "open", Some("s1"), Some(at(100)), false),
        ("c02", "ktp_el", "open", Some("s2"), None, false),
        ("c03", "ktp_el", "closed", None, None, false),
        ("c04", "akta_lahir", "open", Some("s1"), Some(at(50)), false),
        ("c05", "ktp_el", "open", Some("s1"), None, true),
        ("c06", "ktp_el", "open", Some("s3"), Some(at(300)), false),
        ("c07", "akta_lahir", "closed", None, None, false),
    ];
    for (n, (id, sop, status, step, due_at, overdue)) in (0..).zip(rows) {
        let evs = events(id, 0, "", 1, "create");
        let mut p = projection(if sop == "ktp_el" { ktp } else { akta }, 0, &evs, step);
        // Opened ten seconds apart, for the date range.
        p.updated_at = at(10 * n);
        p.sop_id = sop.into();
        p.status = status.into();
        p.due_at = due_at;
        p.overdue = overdue;
        let mut tx = store.begin().await.unwrap();
        tx.append(id, 0, &evs, &p, &[]).await.unwrap();
        tx.commit().await.unwrap();
    }
    let list = |filter: CaseFilter, page: Page| {
        let store = store.clone();
        async move {
            store
                .list_cases(&filter, &page)
                .await
                .unwrap()
                .into_iter()
                .map(|c| c.case_id)
                .collect::<Vec<_>>()
        }
    };
    let all = Page::first(100);
    let strings = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());

    assert_eq!(
        list(CaseFilter::default(), all.clone()).await,
        ["c01", "c02", "c03", "c04", "c05", "c06", "c07"]
    );
    let by_sop = CaseFilter {
        sop_id: Some("ktp_el".into()),
        ..Default::default()
    };
    assert_eq!(
        list(by_sop.clone(), all.clone()).await,
        ["c01", "c02", "c03", "c05", "c06"]
    );
    let open = CaseFilter {
        statuses: strings(&["open"]),
        ..Default::default()
    };
    assert_eq!(
        list(open, all.clone()).await,
        ["c01", "c02", "c04", "c05", "c06"]
    );
    let nothing = CaseFilter {
        statuses: strings(&[]),
        ..Default::default()
    };
    assert!(
        list(nothing, all.clone()).await.is_empty(),
        "an empty list matches nothing"
    );
    let steps = CaseFilter {
        current_steps: strings(&["s1", "s2"]),
        ..Default::default()
    };
    assert_eq!(list(steps, all.clone()).await, ["c01", "c02", "c04", "c05"]);
    let overdue = CaseFilter {
        overdue_at: Some(at(100)),
        ..Default::default()
    };
    assert_eq!(list(overdue, all.clone()).await, ["c01", "c04", "c05"]);
    let combined = CaseFilter {
        sop_id: Some("ktp_el".into()),
        current_steps: strings(&["s1"]),
        overdue_at: Some(at(60)),
        ..Default::default()
    };
    assert_eq!(list(combined, all.clone()).await, ["c05"]);
    let opened = CaseFilter {
        created_from: Some(at(20)),
        created_before: Some(at(50)),
        ..Default::default()
    };
    assert_eq!(
        list(opened, all.clone()).await,
        ["c03", "c04", "c05"],
        "from is inclusive, before is not"
    );
    let opened_ktp = CaseFilter {
        sop_id: Some("ktp_el".into()),
        created_from: Some(at(20)),
        ..Default::default()
    };
    assert_eq!(list(opened_ktp, all.clone()).await, ["c03", "c05", "c06"]);

    let page = |after: Option<&str>, limit| Page {
        limit,
        after: after.map(str::to_owned),
    };
    let everything = CaseFilter::default();
    assert_eq!(
        list(everything.clone(), page(None, 3)).await,
        ["c01", "c02", "c03"]
    );
    assert_eq!(
        list(everything.clone(), page(Some("c03"), 3)).await,
        ["c04", "c05", "c06"]
    );
    assert_eq!(
        list(everything.clone(), page(Some("c06"), 3)).await,
        ["c07"]
    );
    assert!(list(everything, page(Some("c07"), 3)).await.is_empty());
    assert_eq!(list(by_sop.clone(), page(None, 2)).await, ["c01", "c02"]);
    assert_eq!(
        list(by_sop.clone(), page(Some("c02"), 2)).await,
        ["c03", "c05"]
    );
    assert_eq!(list(by_sop, page(Some("c05"), 2)).await, ["c06"]);

    let counts = store.count_cases_by_status().await.unwrap();
    let counts: Vec<_> = counts
        .iter()
        .map(|(s, st, n)| (s.as_str(), st.as_str(), *n))
        .collect();
    assert_eq!(
        counts,
        [
            ("akta_lahir", "closed", 1),
            ("akta_lahir", "open", 1),
            ("ktp_el", "closed", 1),
            ("ktp_el", "open", 4)
        ]
    );
    assert_eq!(
        store.count_cases_by_version("ktp_el").await.unwrap(),
        [(ktp, 5)]
    );
    assert_eq!(
        store.count_cases_by_version("akta_lahir").await.unwrap(),
        [(akta, 2)]
    );
    assert!(
        store
            .count_cases_by_version("none")
            .await
            .unwrap()
            .is_empty()
    );
}

async fn due_cases_are_claimed_once_with_a_lease(db: &TestDb) {
    let stores = [db.store().await, db.store().await];
    let v = deploy(&stores[0], SOP).await;
    let mut heads = std::collections::BTreeMap::new();
    for (id, due) in [
        ("d1", Some(at(10))),
        ("d2", Some(at(20))),
        ("d3", Some(at(500))),
        ("d4", None),
    ] {
        let evs = events(id, 0, "", 1, "create");
        let mut p = projection(v, 0, &evs, Some("s1"));
        p.due_at = due;
        let mut tx = stores[0].begin().await.unwrap();
        tx.append(id, 0, &evs, &p, &[]).await.unwrap();
        tx.commit().await.unwrap();
        heads.insert(id, evs[0].hash.clone());
    }
    let lease = Duration::seconds(60);

    // Four tickers in two "processes" at once: each due case goes to one of them.
    let tasks: Vec<_> = (0..4)
        .map(|w| {
            let store = stores[w % 2].clone();
            tokio::spawn(async move {
                let mut mine = Vec::new();
                loop {
                    let batch = store
                        .claim_due_cases(&format!("ticker-{w}"), at(100), lease, 1)
                        .await
                        .unwrap();
                    if batch.is_empty() {
                        return mine;
                    }
                    mine.extend(batch.into_iter().map(|c| c.case_id));
                }
            })
        })
        .collect();
    let mut claimed = Vec::new();
    for t in tasks {
        claimed.extend(t.await.unwrap());
    }
    claimed.sort();
    assert_eq!(claimed, ["d1", "d2"], "each due case claimed once");

    // Within the lease nobody else gets them; once it runs out (the ticker died), they return.
    assert!(
        stores[1]
            .claim_due_cases("t", at(159), lease, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = stores[1]
        .claim_due_cases("t", at(160), lease, 10)
        .await
        .unwrap();
    assert_eq!(
        again.iter().map(|c| c.case_id.as_str()).collect::<Vec<_>>(),
        ["d1", "d2"],
        "oldest due first"
    );

    // An append sets the next due time and frees the case: d1 is done, d2 is still due.
    for (id, due) in [("d1", None), ("d2", Some(at(100)))] {
        let evs = events(id, 1, &heads[id], 1, "tick");
        let mut p = projection(v, 1, &evs, Some("s2"));
        p.due_at = due;
        p.overdue = true;
        let mut tx = stores[0].begin().await.unwrap();
        tx.append(id, 1, &evs, &p, &[]).await.unwrap();
        tx.commit().await.unwrap();
    }
    let after = stores[0]
        .claim_due_cases("t2", at(161), lease, 10)
        .await
        .unwrap();
    assert_eq!(
        after.iter().map(|c| c.case_id.as_str()).collect::<Vec<_>>(),
        ["d2"]
    );
    assert!(after[0].overdue);
}

async fn times_are_utc_microseconds_and_sort_right(db: &TestDb) {
    let store = db.store().await;
    let v = deploy(&store, SOP).await;
    // 08:00:10.123456789 in Jakarta is 01:00:10.123456 UTC once truncated to microseconds.
    let local = datetime!(2025-03-03 08:00:10.123456789 +07:00);
    let evs = events("c1", 0, "", 1, "t");
    let mut p = projection(v, 0, &evs, None);
    p.updated_at = local;
    p.due_at = Some(at(10));
    let mut tx = store.begin().await.unwrap();
    tx.append("c1", 0, &evs, &p, &[]).await.unwrap();
    tx.commit().await.unwrap();

    let case = store.case("c1").await.unwrap().unwrap();
    let expected = datetime!(2025-03-03 01:00:10.123456 UTC);
    assert_eq!(case.created_at, expected);
    assert!(case.created_at.offset().is_utc());

    // 10.5 s after T0 is later than 10 s: a text order that trimmed fractions would get wrong.
    let overdue = |t: OffsetDateTime| CaseFilter {
        overdue_at: Some(t),
        ..Default::default()
    };
    let half_past = at(10) + Duration::milliseconds(500);
    assert_eq!(
        store
            .list_cases(&overdue(half_past), &Page::first(10))
            .await
            .unwrap()
            .len(),
        1
    );
    let just_before = at(10) - Duration::microseconds(1);
    assert!(
        store
            .list_cases(&overdue(just_before), &Page::first(10))
            .await
            .unwrap()
            .is_empty()
    );
}

async fn salts_and_files_commit_with_the_case(db: &TestDb) {
    let store = db.store().await;
    let v = deploy(&store, SOP).await;
    let scan = b"%PDF-1.7 kartu keluarga".to_vec();

    // As the runtime creates a case: files and the salt first, then the append.
    let evs = events("c1", 0, "", 1, "create");
    let mut tx = store.begin().await.unwrap();
    tx.put_file("sha-of-scan", &scan).await.unwrap();
    tx.put_file("sha-of-scan", &scan).await.unwrap(); // content-addressed: no-op
    tx.put_case_salt("c1", "0011aabb").await.unwrap();
    assert_eq!(
        tx.case_salt("c1").await.unwrap().as_deref(),
        Some("0011aabb")
    );
    tx.append("c1", 0, &evs, &projection(v, 0, &evs, None), &[])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(
        store.case_salt("c1").await.unwrap().as_deref(),
        Some("0011aabb")
    );
    assert_eq!(store.file("sha-of-scan").await.unwrap(), Some(scan));
    assert_eq!(store.file("unknown").await.unwrap(), None);
    assert_eq!(store.case_salt("c2").await.unwrap(), None);

    // What a command on the case reads: the locked record and its salt, in one statement.
    let mut tx = store.begin().await.unwrap();
    let (record, salt) = tx.case_and_salt("c1").await.unwrap().unwrap();
    assert_eq!(
        (record.case_id.as_str(), record.version, salt.as_deref()),
        ("c1", 1, Some("0011aabb"))
    );
    assert_eq!(tx.case_and_salt("c2").await.unwrap(), None);
    drop(tx);

    let mut tx = store.begin().await.unwrap();
    let err = tx.put_case_salt("c1", "ffff").await;
    assert!(matches!(err, Err(Error::AlreadyExists(_))), "{err:?}");
    drop(tx);

    // A salt for a case that the transaction never creates does not commit.
    let mut tx = store.begin().await.unwrap();
    tx.put_case_salt("orphan", "ffff").await.unwrap();
    assert!(tx.commit().await.is_err());
    assert_eq!(store.case_salt("orphan").await.unwrap(), None);
}

/// A batch's cases read ahead in one statement answer each command's read as its own read
/// would: with the salt, none for a case that does not exist, and never a row the batch has
/// appended to since (read again: the new version). (On PostgreSQL nothing is read ahead.)
async fn a_batch_reads_its_cases_ahead_as_each_command_would(db: &TestDb) {
    let store = db.store().await;
    let v = deploy(&store, SOP).await;
    let mut heads = Vec::new();
    for case_id in ["c1", "c2"] {
        let evs = events(case_id, 0, "", 1, "create");
        let mut tx = store.begin().await.unwrap();
        tx.put_case_salt(case_id, &format!("salt-of-{case_id}"))
            .await
            .unwrap();
        tx.append(case_id, 0, &evs, &projection(v, 0, &evs, Some("s1")), &[])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        heads.push(evs[0].hash.clone());
    }
    let read = |row: Option<(sopflow_store::CaseRecord, Option<String>)>| {
        row.map(|(r, salt)| (r.case_id, r.version, r.head_hash, salt))
    };
    let mut tx = store.begin().await.unwrap();
    tx.read_ahead(&["c1", "c2", "nobody"]).await.unwrap();
    // c1 moves on before its command reads it.
    let more = events("c1", 1, &heads[0], 2, "next");
    tx.append("c1", 1, &more, &projection(v, 1, &more, Some("s2")), &[])
        .await
        .unwrap();
    assert_eq!(
        read(tx.case_and_salt("c1").await.unwrap()),
        Some((
            "c1".into(),
            3,
            more[1].hash.clone(),
            Some("salt-of-c1".into())
        ))
    );
    for _ in 0..2 {
        assert_eq!(
            read(tx.case_and_salt("c2").await.unwrap()),
            Some(("c2".into(), 1, heads[1].clone(), Some("salt-of-c2".into())))
        );
    }
    assert_eq!(read(tx.case_and_salt("nobody").await.unwrap()), None);
}

/// Events go in with multi-row statements of a bounded size: a command with more events than
/// one statement takes still lands whole, in order and chained.
async fn a_long_append_spans_several_statements(db: &TestDb) {
    let store = db.store().await;
    let v = deploy(&store, SOP).await;
    let head = create_case(&store, v, "c1", 1, &[]).await;
    let many = events("c1", 1, &head, 1_201, "long");
    let mut tx = store.begin().await.unwrap();
    tx.append("c1", 1, &many, &projection(v, 1, &many, Some("s2")), &[])
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let all = store.events("c1").await.unwrap();
    assert_eq!(
        all.iter().map(|e| e.seq).collect::<Vec<_>>(),
        (1..=1_202).collect::<Vec<u64>>()
    );
    for pair in all.windows(2) {
        assert_eq!(pair[1].prev_hash, pair[0].hash, "stored chained");
    }
    assert_eq!(all[1_201].payload, json_of(&many[1_200].payload));
    assert_eq!(store.case("c1").await.unwrap().unwrap().version, 1_202);

    // A long append rolled back leaves none of its statements behind.
    let mut tx = store.begin().await.unwrap();
    let more = events("c1", 1_202, &all[1_201].hash, 600, "more");
    tx.append("c1", 1_202, &more, &projection(v, 1_202, &more, None), &[])
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(store.events("c1").await.unwrap().len(), 1_202);
}

/// What the store writes is what databases written by earlier builds hold, and it reads those:
/// times as the fixed-width UTC text on SQLite (an instant on PostgreSQL, which compares the
/// same literals as `TIMESTAMPTZ`). An event's payload reads back as the exact JSON text it
/// was hashed as: written compressed (codec 1), smaller than that text; a row in codec 0 (as
/// migration 0013 moved the older ones) is that text's bytes.
async fn stored_times_and_json_keep_their_format(db: &TestDb) {
    let store = db.store().await;
    db.raw_execute(
        "INSERT INTO sop_versions (sop_id, version, content_hash, yaml, created_at)
         VALUES ('old', 1, 'h', 'id: old', '2025-01-31T08:00:00.123456Z')",
    )
    .await
    .unwrap();
    let old = store.sop_version("old", 1).await.unwrap().unwrap();
    assert_eq!(old.created_at, datetime!(2025-01-31 08:00:00.123456 UTC));

    let jakarta = datetime!(2025-01-31 15:00:00.5 +07:00);
    store
        .add_user("ani", "petugas", "h1", jakarta)
        .await
        .unwrap();
    let found = db
        .raw_execute(
            "UPDATE users SET role = role WHERE created_at = '2025-01-31T08:00:00.500000Z'",
        )
        .await
        .unwrap();
    assert_eq!(found, 1, "the stored time is that text");

    let v = deploy(&store, SOP).await;
    let head = create_case(&store, v, "c1", 1, &[]).await;
    let mut evs = events("c1", 1, &head, 1, "fmt");
    // Of the size and shape a command's event has.
    let payload = json!({
        "at": "2025-01-31T08:00:00.5Z", "by": {"role": "petugas", "user": "ani"}, "seq": 2,
        "step": "periksa", "type": "step_completed", "v": 2,
        "then": [
            {"branch": 0, "evaluations": [], "from": "periksa", "to": "cetak", "type": "branch_taken"},
            {"budget_step": "cetak", "due_at": "2025-01-31T09:00:00.5Z", "step": "cetak",
             "type": "step_entered", "visit": 1}
        ]
    });
    evs[0].payload = Payload::from_json(&payload).unwrap();
    let mut tx = store.begin().await.unwrap();
    tx.append("c1", 1, &evs, &projection(v, 1, &evs, None), &[])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let text = serde_json::to_string(&payload).unwrap();
    let hash = &evs[0].hash;
    let sql = format!(
        "UPDATE cases SET overdue = overdue WHERE EXISTS (
             SELECT 1 FROM events WHERE case_id = 'c1' AND seq = 2
             AND codec = 1 AND length(payload) < {} AND length(hash) = 32
             AND prev_hash IS NULL AND hash = {})",
        text.len(),
        bytes_literal(db, &hex_bytes(hash))
    );
    let found = raw_sql(db, sql).await;
    assert_eq!(
        found, 1,
        "the stored payload is compressed, the hash its bytes"
    );
    let read = store.events("c1").await.unwrap();
    assert_eq!(read[1].payload, payload);
    assert_eq!(serde_json::to_string(&read[1].payload).unwrap(), text);
    assert_eq!((&read[1].prev_hash, &read[1].hash), (&head, hash));

    // A row as an older build stored it: the JSON text, uncompressed, with its prev_hash.
    let plain = r#"{"seq":3,"tag":"plain","v":1}"#;
    let (prev, hash) = (hash_of("c1", 2, "elsewhere"), hash_of("c1", 3, "plain"));
    let sql = format!(
        "INSERT INTO events (case_id, seq, recorded_at, kind, user_name, role, codec, payload,
                             prev_hash, hash)
         VALUES ('c1', 3, '2025-01-31T08:00:00.123456Z', 'plain', 'ani', 'petugas', 0, {}, {}, {})",
        bytes_literal(db, plain.as_bytes()),
        bytes_literal(db, &hex_bytes(&prev)),
        bytes_literal(db, &hex_bytes(&hash))
    );
    raw_sql(db, sql).await;
    let read = store.events("c1").await.unwrap();
    assert_eq!(serde_json::to_string(&read[2].payload).unwrap(), plain);
    assert_eq!((&read[2].prev_hash, &read[2].hash), (&prev, &hash));
    assert_eq!(
        read[2].recorded_at,
        datetime!(2025-01-31 08:00:00.123456 UTC)
    );
}

/// The bytes of a hex text.
fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// `bytes` as an SQL literal of the backend's blob type.
fn bytes_literal(db: &TestDb, bytes: &[u8]) -> String {
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    match db.backend {
        Backend::Sqlite => format!("X'{hex}'"),
        Backend::Postgres => format!("'\\x{hex}'::bytea"),
    }
}

fn point(id: &str, counters: &[&str], source: PointSource, now: OffsetDateTime) -> ServicePoint {
    ServicePoint {
        id: id.into(),
        name: format!("Kantor {id}"),
        timezone: "Asia/Makassar".into(),
        calendar: Some("contoh-kantor".into()),
        counters: counters
            .iter()
            .map(|c| Counter {
                id: c.to_lowercase().replace(' ', "_"),
                name: (*c).into(),
            })
            .collect(),
        source,
        created_at: now,
        updated_at: now,
    }
}

async fn service_points_are_kept_with_their_counters(db: &TestDb) {
    let store = db.store().await;
    assert!(store.service_points().await.unwrap().is_empty());
    let mpp = point("mpp", &["Loket 2", "Loket 1"], PointSource::Api, T0);
    let kantor = point("kantor", &["Loket 1"], PointSource::Config, T0);
    store.put_service_point(&mpp).await.unwrap();
    store.put_service_point(&kantor).await.unwrap();
    assert_eq!(
        store.service_points().await.unwrap(),
        [kantor.clone(), mpp.clone()],
        "by id, counters in their order"
    );

    // Replaced: what changed is kept, the creation time stays the first one.
    let mut changed = point(
        "mpp",
        &["Loket 1", "Loket 2", "Loket 3"],
        PointSource::Api,
        at(60),
    );
    changed.calendar = None;
    store.put_service_point(&changed).await.unwrap();
    let read = store.service_point("mpp").await.unwrap().unwrap();
    assert_eq!(read.counters.len(), 3);
    assert_eq!(read.counters[2].name, "Loket 3");
    assert_eq!(read.calendar, None);
    assert_eq!((read.created_at, read.updated_at), (T0, at(60)));
    assert_eq!(store.service_point("nowhere").await.unwrap(), None);
}

async fn users_hold_roles_at_service_points(db: &TestDb) {
    let store = db.store().await;
    let m = |role: &str, at: &str| Membership {
        role: role.into(),
        service_point: at.into(),
    };
    store
        .add_user_with(
            "ani",
            "petugas_antrian",
            "aa11",
            &[m("petugas_antrian", "kantor"), m("operator_cetak", "mpp")],
            T0,
        )
        .await
        .unwrap();
    store.add_user("budi", "auditor", "bb22", T0).await.unwrap();
    assert_eq!(
        store.memberships("ani").await.unwrap(),
        [m("operator_cetak", "mpp"), m("petugas_antrian", "kantor")]
    );
    assert!(
        store.memberships("budi").await.unwrap().is_empty(),
        "a user made without memberships has none"
    );
    store
        .grant("budi", &m("auditor", Membership::EVERYWHERE))
        .await
        .unwrap();
    store
        .grant("budi", &m("auditor", Membership::EVERYWHERE))
        .await
        .unwrap();
    assert_eq!(
        store.memberships("budi").await.unwrap(),
        [m("auditor", "*")],
        "once"
    );
    let err = store.grant("cici", &m("adb", "kantor")).await;
    assert!(matches!(err, Err(Error::NotFound(_))), "{err:?}");

    // A refused user leaves no memberships behind.
    let err = store
        .add_user_with("ani", "adb", "cc33", &[m("adb", "mpp")], T0)
        .await;
    assert!(matches!(err, Err(Error::AlreadyExists(_))), "{err:?}");
    assert_eq!(store.memberships("ani").await.unwrap().len(), 2);
    assert_eq!(store.user_by_token_hash("cc33").await.unwrap(), None);
}

async fn cases_are_listed_by_service_point_sops_and_search(db: &TestDb) {
    let store = db.store().await;
    let ktp = deploy(&store, "ktp_el").await;
    let akta = deploy(&store, "akta_lahir").await;
    let key = |field: &str, value: &str| SearchKey {
        field: field.into(),
        value_hash: format!("{field}={value}"),
    };
    // (id, sop, service point, searchable values)
    let rows: [(&str, &str, &str, Vec<SearchKey>); 4] = [
        (
            "c1",
            "ktp_el",
            "kantor",
            vec![key("nik", "1"), key("no_kk", "9")],
        ),
        ("c2", "ktp_el", "mpp", vec![key("nik", "2")]),
        ("c3", "akta_lahir", "kantor", vec![key("nik", "1")]),
        ("c4", "akta_lahir", "mpp", vec![]),
    ];
    for (id, sop, point, keys) in &rows {
        let evs = events(id, 0, "", 1, "create");
        let mut p = projection(
            if *sop == "ktp_el" { ktp } else { akta },
            0,
            &evs,
            Some("s1"),
        );
        p.sop_id = (*sop).into();
        p.service_point = (*point).into();
        let mut tx = store.begin().await.unwrap();
        // Before the case row: the entries wait for it until commit.
        tx.index_case(id, keys).await.unwrap();
        tx.append(id, 0, &evs, &p, &[]).await.unwrap();
        tx.commit().await.unwrap();
    }
    let list = |filter: CaseFilter| {
        let store = store.clone();
        async move {
            let rows = store.list_cases(&filter, &Page::first(100)).await.unwrap();
            rows.into_iter().map(|c| c.case_id).collect::<Vec<_>>()
        }
    };
    let strings = |v: &[&str]| Some(v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    let at_mpp = CaseFilter {
        service_points: strings(&["mpp"]),
        ..Default::default()
    };
    assert_eq!(list(at_mpp).await, ["c2", "c4"]);
    let seen = CaseFilter {
        sop_ids: strings(&["akta_lahir"]),
        service_points: strings(&["kantor", "mpp"]),
        ..Default::default()
    };
    assert_eq!(list(seen).await, ["c3", "c4"]);
    let none = CaseFilter {
        sop_ids: strings(&[]),
        ..Default::default()
    };
    assert!(list(none).await.is_empty(), "no SOP, no case");
    let by_nik = |value: &str| CaseFilter {
        search: Some(key("nik", value)),
        ..Default::default()
    };
    assert_eq!(list(by_nik("1")).await, ["c1", "c3"]);
    assert!(
        list(by_nik("9")).await.is_empty(),
        "a value of another field"
    );
    let narrowed = CaseFilter {
        sop_ids: strings(&["ktp_el"]),
        ..by_nik("1")
    };
    assert_eq!(list(narrowed).await, ["c1"]);

    // Re-indexed: the old values no longer find it.
    let mut tx = store.begin().await.unwrap();
    tx.index_case("c1", &[key("nik", "3")]).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(list(by_nik("1")).await, ["c3"]);
    assert_eq!(list(by_nik("3")).await, ["c1"]);

    // In a batch the entries wait for its commit, made for all its commands at once: a case
    // indexed twice keeps its last, and a command rolled back to its savepoint takes its own
    // back.
    let mut tx = store.begin().await.unwrap();
    tx.defer_to_commit();
    tx.savepoint(Savepoint::Set).await.unwrap();
    tx.index_case("c2", &[key("nik", "4")]).await.unwrap();
    tx.index_case("c1", &[key("nik", "5")]).await.unwrap();
    tx.index_case("c2", &[key("nik", "6"), key("no_kk", "7")])
        .await
        .unwrap();
    tx.next_command(true, None).await.unwrap();
    tx.index_case("c3", &[]).await.unwrap();
    tx.next_command(false, None).await.unwrap();
    tx.index_case("c4", &[key("nik", "6")]).await.unwrap();
    tx.savepoint(Savepoint::Release).await.unwrap();
    assert_eq!(list(by_nik("3")).await, ["c1"], "not before the commit");
    tx.commit().await.unwrap();
    assert!(list(by_nik("2")).await.is_empty());
    assert!(list(by_nik("3")).await.is_empty());
    assert!(list(by_nik("4")).await.is_empty(), "replaced in the batch");
    assert_eq!(list(by_nik("5")).await, ["c1"]);
    assert_eq!(list(by_nik("6")).await, ["c2", "c4"]);
    assert_eq!(list(by_nik("1")).await, ["c3"], "its clearing was undone");
    // More entries than one statement takes (SQLite: 32,766 parameters) go in several.
    let many: Vec<SearchKey> = (0..6_000).map(|i| key(&format!("f{i}"), "x")).collect();
    let mut tx = store.begin().await.unwrap();
    tx.defer_to_commit();
    tx.index_case("c1", &many).await.unwrap();
    tx.index_case("c2", &many).await.unwrap();
    tx.commit().await.unwrap();
    for field in ["f0", "f5999"] {
        let filter = CaseFilter {
            search: Some(key(field, "x")),
            ..Default::default()
        };
        assert_eq!(list(filter).await, ["c1", "c2"]);
    }
    assert!(list(by_nik("5")).await.is_empty());
    let record = store.case("c2").await.unwrap().unwrap();
    assert_eq!(record.service_point.as_deref(), Some("mpp"));

    // A case from before service points is assigned to the default one, once.
    db.raw_execute("UPDATE cases SET service_point = NULL WHERE case_id IN ('c1', 'c4')")
        .await
        .unwrap();
    assert_eq!(store.case("c1").await.unwrap().unwrap().service_point, None);
    assert_eq!(store.assign_service_point(POINT).await.unwrap(), 2);
    assert_eq!(store.assign_service_point(POINT).await.unwrap(), 0);
    let at_point = CaseFilter {
        service_points: strings(&[POINT]),
        ..Default::default()
    };
    assert_eq!(list(at_point).await, ["c1", "c3", "c4"]);
}

async fn calls_commit_with_their_case_and_the_last_per_counter_is_read(db: &TestDb) {
    let store = db.store().await;
    let v = deploy(&store, SOP).await;
    let head = create_case(&store, v, "c1", 1, &[]).await;
    let call = |seq: u64, counter: Option<&str>, kind: CallKind, t: i64| NewCall {
        service_point: POINT.into(),
        sop_id: SOP.into(),
        queue: "cetak".into(),
        number: "A-001".into(),
        counter: counter.map(str::to_owned),
        kind,
        case_id: "c1".into(),
        seq,
        at: at(t),
        // The transfer is made by someone else; one call by no user.
        called_by: match kind {
            CallKind::Transfer => Some("budi".into()),
            _ if t == 40 => None,
            _ => Some("ani".into()),
        },
    };
    // With the event that makes it; rolled back, it is gone with the event.
    let evs = events("c1", 1, &head, 1, "call");
    let mut tx = store.begin().await.unwrap();
    tx.append("c1", 1, &evs, &projection(v, 1, &evs, Some("s2")), &[])
        .await
        .unwrap();
    tx.record_call(&call(2, Some("loket_1"), CallKind::Call, 10), None)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert!(store.calls_since(POINT, T0).await.unwrap().is_empty());

    let mut head = head;
    let made = [
        (Some("loket_1"), CallKind::Call, 10),
        (Some("loket_1"), CallKind::Recall, 20),
        (Some("loket_3"), CallKind::Transfer, 30),
        (None, CallKind::Call, 40),
        (Some("loket_2"), CallKind::NoShow, 50),
    ];
    for (seq, (counter, kind, t)) in (2..).zip(&made) {
        let evs = events("c1", seq - 1, &head, 1, "call");
        let mut tx = store.begin().await.unwrap();
        tx.append(
            "c1",
            seq - 1,
            &evs,
            &projection(v, seq - 1, &evs, Some("s2")),
            &[],
        )
        .await
        .unwrap();
        // Every other one with its notice, in the same statement on PostgreSQL.
        let notice = (seq % 2 == 0).then_some(("calls", "called"));
        tx.record_call(&call(seq, *counter, *kind, *t), notice)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        head = evs[0].hash.clone();
    }
    let all = store.calls_since(POINT, T0).await.unwrap();
    assert_eq!(all.len(), 5);
    assert_eq!(all[1].kind, CallKind::Recall);
    assert_eq!(all[1].seq, 3);
    let callers: Vec<Option<&str>> = all.iter().map(|c| c.called_by.as_deref()).collect();
    assert_eq!(
        callers,
        [Some("ani"), Some("ani"), Some("budi"), None, Some("ani")]
    );
    assert_eq!(store.calls_since(POINT, at(30)).await.unwrap().len(), 3);
    // The latest few, newest first: the day's calls from their end.
    let recent = store.recent_calls(POINT, T0, 2).await.unwrap();
    let expected: Vec<i64> = all.iter().rev().take(2).map(|c| c.id).collect();
    assert_eq!(recent.iter().map(|c| c.id).collect::<Vec<_>>(), expected);
    assert_eq!(
        store.recent_calls(POINT, at(30), 10).await.unwrap().len(),
        3
    );
    assert!(
        store.calls_since("mpp", T0).await.unwrap().is_empty(),
        "per service point"
    );
    let last: Vec<(Option<String>, CallKind)> = store
        .last_calls(POINT, T0)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.counter, c.kind))
        .collect();
    assert_eq!(
        last,
        [
            (Some("loket_1".into()), CallKind::Recall),
            (Some("loket_2".into()), CallKind::NoShow),
            (Some("loket_3".into()), CallKind::Transfer),
            (None, CallKind::Call),
        ]
    );
    let since = store.last_calls(POINT, at(25)).await.unwrap();
    assert_eq!(since.len(), 3, "only calls since then: {since:?}");
}

async fn notifications_reach_other_processes_when_they_commit(db: &TestDb) {
    let (listening, sending) = (db.store().await, db.store().await);
    let Some(mut notes) = listening.listen("calls").await.unwrap() else {
        assert_eq!(
            listening.backend(),
            "sqlite",
            "only SQLite has no notifications"
        );
        // One process serves a SQLite file: notifying is a harmless no-op.
        let mut tx = sending.begin().await.unwrap();
        tx.notify("calls", "x").await.unwrap();
        tx.commit().await.unwrap();
        return;
    };
    let next = async |notes: &mut sopflow_store::Notifications| {
        tokio::time::timeout(std::time::Duration::from_secs(5), notes.recv())
            .await
            .expect("a notification within 5 s")
            .unwrap()
    };
    let mut tx = sending.begin().await.unwrap();
    tx.notify("calls", "rolled back").await.unwrap();
    tx.rollback().await.unwrap();
    let mut tx = sending.begin().await.unwrap();
    tx.notify("other", "another channel").await.unwrap();
    tx.notify("calls", "first").await.unwrap();
    tx.notify("calls", "second").await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(next(&mut notes).await, Notified::Payload("first".into()));
    assert_eq!(next(&mut notes).await, Notified::Payload("second".into()));
    // Another schema (another deployment, or test) on the same database hears nothing of it.
    let elsewhere = TestDb::new(db.backend).await.unwrap();
    let other = elsewhere.store().await;
    let mut tx = other.begin().await.unwrap();
    tx.notify("calls", "elsewhere").await.unwrap();
    tx.commit().await.unwrap();
    let mut tx = sending.begin().await.unwrap();
    tx.notify("calls", "third").await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(next(&mut notes).await, Notified::Payload("third".into()));
    // A call recorded with its notice: stored, and heard once (and only if) it commits.
    let v = deploy(&sending, SOP).await;
    let head = create_case(&sending, v, "c1", 1, &[]).await;
    let evs = events("c1", 1, &head, 1, "call");
    let call = NewCall {
        service_point: POINT.into(),
        sop_id: SOP.into(),
        queue: "cetak".into(),
        number: "A-001".into(),
        counter: Some("loket_1".into()),
        kind: CallKind::Call,
        case_id: "c1".into(),
        seq: 2,
        at: at(10),
        called_by: Some("ani".into()),
    };
    for commit in [false, true] {
        let mut tx = sending.begin().await.unwrap();
        tx.append("c1", 1, &evs, &projection(v, 1, &evs, Some("s2")), &[])
            .await
            .unwrap();
        let notice = if commit {
            "called"
        } else {
            "called, rolled back"
        };
        let id = tx
            .record_call(&call, Some(("calls", notice)))
            .await
            .unwrap();
        if !commit {
            tx.rollback().await.unwrap();
            continue;
        }
        tx.commit().await.unwrap();
        assert_eq!(next(&mut notes).await, Notified::Payload("called".into()));
        let stored = sending.calls_since(POINT, T0).await.unwrap();
        assert_eq!(stored.iter().map(|c| c.id).collect::<Vec<_>>(), [id]);
    }
    other.close().await;
    elsewhere.cleanup().await;
}

async fn releases_are_kept_in_order_and_never_changed(db: &TestDb) {
    let store = db.store().await;
    let v1 = deploy(&store, SOP).await;
    let release = |version, effective, reason: &str| NewRelease {
        sop_id: SOP.to_owned(),
        version,
        effective,
        source: "api".to_owned(),
        released_by: "admin".to_owned(),
        reason: reason.to_owned(),
        recorded_at: at(5),
    };
    let first = store
        .record_release(&release(v1, Effective::At(at(1)), "deployed"))
        .await
        .unwrap();
    let second = store
        .record_release(&release(
            v1,
            Effective::On(date!(2027 - 01 - 01)),
            "effective date",
        ))
        .await
        .unwrap();
    assert!(second > first);
    let all = store.releases(Some(SOP)).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(
        (all[0].effective_at, all[0].effective_on),
        (Some(at(1)), None)
    );
    assert_eq!(
        (all[1].effective_at, all[1].effective_on),
        (None, Some(date!(2027 - 01 - 01)))
    );
    assert_eq!(all[1].reason, "effective date");
    assert_eq!(all[1].recorded_at, at(5));
    assert!(store.releases(Some("other")).await.unwrap().is_empty());
    assert_eq!(store.releases(None).await.unwrap(), all);
    // A release needs a reason and a version that exists.
    assert!(
        store
            .record_release(&release(v1, Effective::At(at(2)), "  "))
            .await
            .is_err()
    );
    assert!(
        store
            .record_release(&release(v1 + 7, Effective::At(at(2)), "no such version"))
            .await
            .is_err()
    );
    store.close().await;
    // The history of what was in force cannot be rewritten.
    assert!(
        db.raw_execute("UPDATE sop_releases SET version = 9")
            .await
            .is_err()
    );
    assert!(db.raw_execute("DELETE FROM sop_releases").await.is_err());
    let store = db.store().await;
    assert_eq!(store.releases(Some(SOP)).await.unwrap().len(), 2);
}

async fn calendars_are_kept_once_per_hash_and_never_changed(db: &TestDb) {
    let store = db.store().await;
    assert_eq!(store.calendar("h1").await.unwrap(), None);
    let mut tx = store.begin().await.unwrap();
    tx.put_calendar("h1", "contoh-kantor", "zone = \"WIB\"\n", T0)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    // The same hash again (another case, a later start): the first row stays.
    let mut tx = store.begin().await.unwrap();
    tx.put_calendar("h1", "renamed", "zone = \"WIB\"\n", at(60))
        .await
        .unwrap();
    tx.put_calendar("h2", "contoh-kantor", "zone = \"WITA\"\n", at(60))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let kept = store.calendar("h1").await.unwrap().unwrap();
    assert_eq!(
        (
            kept.calendar_id.as_str(),
            kept.canonical.as_str(),
            kept.created_at
        ),
        ("contoh-kantor", "zone = \"WIB\"\n", T0)
    );
    assert_eq!(
        store.calendar("h2").await.unwrap().unwrap().canonical,
        "zone = \"WITA\"\n"
    );
    // Rolled back with its transaction.
    let mut tx = store.begin().await.unwrap();
    tx.put_calendar("h3", "x", "zone = \"WIT\"\n", T0)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(store.calendar("h3").await.unwrap(), None);
    store.close().await;
    assert!(
        db.raw_execute("UPDATE calendars SET canonical = 'x'")
            .await
            .is_err()
    );
    assert!(db.raw_execute("DELETE FROM calendars").await.is_err());
}
