//! The front office's store (migration 0003): passwords, sessions shared by processes, case
//! references, and a role's work most urgent first; on SQLite and, when
//! `SOPFLOW_TEST_DATABASE_URL` is set, on PostgreSQL.

#![allow(clippy::unwrap_used)]

#[macro_use]
#[allow(dead_code)]
mod support;

use sopflow_store::testing::TestDb;
use sopflow_store::{CaseProjection, CaseReferences, Error, NewSession, StepKey, Store};
use support::{SOP, T0, at, deploy, events};

backend_tests!(
    passwords_are_set_and_read_with_the_user,
    sessions_are_shared_touched_and_expire,
    sessions_end_with_their_user,
    counter_sessions_say_who_staffs_which_counter_now,
    references_commit_with_the_case_and_are_unique,
    urgent_cases_come_overdue_then_by_due_then_without,
);

async fn passwords_are_set_and_read_with_the_user(db: &TestDb) {
    let store = db.store().await;
    store.add_user("ani", "petugas", "h-ani", T0).await.unwrap();
    let creds = store.credentials("ani").await.unwrap().unwrap();
    assert_eq!(creds.user.role, "petugas");
    assert_eq!(creds.password_hash, None);
    store
        .set_password_hash("ani", Some("$argon2id$v=19$x"))
        .await
        .unwrap();
    let creds = store.credentials("ani").await.unwrap().unwrap();
    assert_eq!(creds.password_hash.as_deref(), Some("$argon2id$v=19$x"));
    assert_eq!(store.credentials("budi").await.unwrap(), None);
    let err = store.set_password_hash("budi", Some("x")).await;
    assert!(matches!(err, Err(Error::NotFound(_))), "{err:?}");
    store.set_password_hash("ani", None).await.unwrap();
    assert_eq!(
        store
            .credentials("ani")
            .await
            .unwrap()
            .unwrap()
            .password_hash,
        None
    );
}

async fn sessions_are_shared_touched_and_expire(db: &TestDb) {
    let one = db.store().await;
    // A second connected store stands for a second process on the same database.
    let two = db.store().await;
    one.add_user("ani", "petugas", "h-ani", T0).await.unwrap();
    let new = |hash: &str, at| NewSession {
        id_hash: hash.into(),
        user_name: "ani".into(),
        csrf_token: format!("csrf-{hash}"),
        now: at,
    };
    one.create_session(&new("s1", at(0))).await.unwrap();
    one.create_session(&new("s2", at(10))).await.unwrap();
    let err = two.create_session(&new("s1", at(20))).await;
    assert!(matches!(err, Err(Error::AlreadyExists(_))), "{err:?}");

    let s1 = two.session("s1").await.unwrap().unwrap();
    assert_eq!(
        (
            s1.user_name.as_str(),
            s1.role.as_str(),
            s1.csrf_token.as_str()
        ),
        ("ani", "petugas", "csrf-s1")
    );
    assert_eq!(
        (s1.created_at, s1.last_seen_at, s1.counter),
        (at(0), at(0), None)
    );
    two.touch_session("s1", at(100)).await.unwrap();
    two.set_session_counter("s1", Some("Loket 2"))
        .await
        .unwrap();
    let s1 = one.session("s1").await.unwrap().unwrap();
    assert_eq!(
        (s1.last_seen_at, s1.counter.as_deref()),
        (at(100), Some("Loket 2"))
    );

    // Idle since before 50: s2 (last seen at 10) goes, s1 (100) stays.
    assert_eq!(one.delete_sessions_idle_since(at(50)).await.unwrap(), 1);
    assert_eq!(two.session("s2").await.unwrap(), None);
    assert!(two.session("s1").await.unwrap().is_some());
    two.delete_session("s1").await.unwrap();
    two.delete_session("s1").await.unwrap();
    assert_eq!(one.session("s1").await.unwrap(), None);
}

async fn sessions_end_with_their_user(db: &TestDb) {
    let store = db.store().await;
    store.add_user("ani", "petugas", "h-ani", T0).await.unwrap();
    let err = store
        .create_session(&NewSession {
            id_hash: "s".into(),
            user_name: "nobody".into(),
            csrf_token: "c".into(),
            now: T0,
        })
        .await;
    assert!(err.is_err(), "a session of no user: {err:?}");
}

async fn counter_sessions_say_who_staffs_which_counter_now(db: &TestDb) {
    let one = db.store().await;
    let two = db.store().await;
    for name in ["ani", "budi", "citra", "dedi"] {
        one.add_user(name, "petugas", &format!("h-{name}"), T0)
            .await
            .unwrap();
    }
    let open = |hash: &'static str, user: &'static str, seen: i64| NewSession {
        id_hash: hash.into(),
        user_name: user.into(),
        csrf_token: format!("csrf-{hash}"),
        now: at(seen),
    };
    // ani and budi at counters, seen recently; citra at one but idle; dedi chose none.
    for (hash, user, seen, counter) in [
        ("s-ani", "ani", 100, Some("kantor/loket_2")),
        ("s-budi", "budi", 90, Some("kantor/loket_1")),
        ("s-citra", "citra", 10, Some("kantor/loket_1")),
        ("s-dedi", "dedi", 100, None),
    ] {
        one.create_session(&open(hash, user, seen)).await.unwrap();
        if counter.is_some() {
            two.set_session_counter(hash, counter).await.unwrap();
        }
    }
    let seen = |rows: Vec<sopflow_store::CounterSession>| -> Vec<(String, String)> {
        rows.into_iter().map(|r| (r.counter, r.user_name)).collect()
    };
    let live = seen(two.counter_sessions(at(50)).await.unwrap());
    assert_eq!(
        live,
        [
            ("kantor/loket_1".to_owned(), "budi".to_owned()),
            ("kantor/loket_2".to_owned(), "ani".to_owned()),
        ]
    );
    let all = two.counter_sessions(at(0)).await.unwrap();
    assert_eq!(all.len(), 3, "{all:?}");
    assert_eq!(all[0].last_seen_at, at(90));
    // A disabled user (their sessions end with it) staffs nothing.
    one.set_user_disabled("budi", Some(at(95))).await.unwrap();
    assert_eq!(
        seen(two.counter_sessions(at(50)).await.unwrap()),
        [("kantor/loket_2".to_owned(), "ani".to_owned())]
    );
}

async fn create(store: &Store, v: u32, case_id: &str, refs: Option<&CaseReferences>) {
    let evs = events(case_id, 0, "", 1, "create");
    let mut tx = store.begin().await.unwrap();
    if let Some(refs) = refs {
        tx.put_case_references(refs).await.unwrap();
    }
    let projection = support::projection(v, 0, &evs, Some("s1"));
    tx.append(case_id, 0, &evs, &projection, &[]).await.unwrap();
    tx.commit().await.unwrap();
}

fn refs(case_id: &str, number: &str, code: &str) -> CaseReferences {
    CaseReferences {
        case_id: case_id.into(),
        registration_number: number.into(),
        tracking_code: code.into(),
        created_at: at(5),
    }
}

async fn references_commit_with_the_case_and_are_unique(db: &TestDb) {
    let store = db.store().await;
    let v = deploy(&store, SOP).await;
    let r1 = refs("c1", "S-20260101-0001", "ABCD2345WXYZ");
    create(&store, v, "c1", Some(&r1)).await;
    assert_eq!(store.case_references("c1").await.unwrap(), Some(r1.clone()));
    assert_eq!(
        store.case_by_registration("S-20260101-0001").await.unwrap(),
        Some(r1.clone())
    );
    assert_eq!(
        store.case_by_tracking_code("ABCD2345WXYZ").await.unwrap(),
        Some(r1.clone())
    );
    assert_eq!(
        store.case_by_tracking_code("ABCD2345WXY0").await.unwrap(),
        None
    );
    assert_eq!(
        store.case_by_registration("S-20260101-0002").await.unwrap(),
        None
    );

    // The same code (or number) for another case is refused, and its transaction with it.
    let evs = events("c2", 0, "", 1, "create");
    let mut tx = store.begin().await.unwrap();
    let err = tx
        .put_case_references(&refs("c2", "S-20260101-0002", "ABCD2345WXYZ"))
        .await;
    assert!(matches!(err, Err(Error::AlreadyExists(_))), "{err:?}");
    drop(tx);
    let mut tx = store.begin().await.unwrap();
    let projection = support::projection(v, 0, &evs, Some("s1"));
    tx.append("c2", 0, &evs, &projection, &[]).await.unwrap();
    tx.rollback().await.unwrap();

    // References of a case the transaction never creates do not commit.
    let mut tx = store.begin().await.unwrap();
    tx.put_case_references(&refs("orphan", "S-20260101-0009", "QQQQ2345WXYZ"))
        .await
        .unwrap();
    assert!(tx.commit().await.is_err());
    assert_eq!(store.case_references("orphan").await.unwrap(), None);
}

async fn urgent_cases_come_overdue_then_by_due_then_without(db: &TestDb) {
    let store = db.store().await;
    let v1 = deploy(&store, SOP).await;
    // (case, step, due in seconds, overdue, status)
    let cases: [(&str, &str, Option<i64>, bool, &str); 7] = [
        ("c1", "s1", Some(300), false, "open"),
        ("c2", "s1", None, false, "open"),
        ("c3", "s1", Some(100), false, "open"),
        ("c4", "s1", Some(900), true, "open"),
        ("c5", "s2", Some(50), false, "open"),
        ("c6", "s1", Some(10), false, "incident"),
        ("c7", "s1", None, false, "open"),
    ];
    for (id, step, due, overdue, status) in cases {
        let evs = events(id, 0, "", 1, "create");
        let projection = CaseProjection {
            current_step: Some(step.into()),
            due_at: due.map(at),
            overdue,
            status: status.into(),
            service_point: if id == "c3" { "pos" } else { "kantor" }.into(),
            ..support::projection(v1, 0, &evs, Some(step))
        };
        let mut tx = store.begin().await.unwrap();
        tx.append(id, 0, &evs, &projection, &[]).await.unwrap();
        tx.commit().await.unwrap();
    }
    let key = |step: &str, version: u32| StepKey {
        sop_id: SOP.into(),
        sop_version: version,
        step: step.into(),
    };
    let ids = |cases: &[sopflow_store::CaseRecord]| {
        cases.iter().map(|c| c.case_id.clone()).collect::<Vec<_>>()
    };
    let urgent = store
        .urgent_open_cases(&[key("s1", v1)], None, 10)
        .await
        .unwrap();
    assert_eq!(ids(&urgent.cases), ["c4", "c3", "c1", "c2", "c7"]);
    assert_eq!(urgent.total, 5);
    let first_two = store
        .urgent_open_cases(&[key("s1", v1)], None, 2)
        .await
        .unwrap();
    assert_eq!(
        (ids(&first_two.cases), first_two.total),
        (vec!["c4".into(), "c3".into()], 5)
    );
    let both = store
        .urgent_open_cases(&[key("s1", v1), key("s2", v1)], None, 3)
        .await
        .unwrap();
    assert_eq!(
        (ids(&both.cases), both.total),
        (vec!["c4".into(), "c5".into(), "c3".into()], 6)
    );
    // Another SOP version's step of the same name is not this one.
    let other = store
        .urgent_open_cases(&[key("s1", v1 + 1)], None, 10)
        .await
        .unwrap();
    assert_eq!((other.cases.len(), other.total), (0, 0));
    assert_eq!(
        store.urgent_open_cases(&[], None, 10).await.unwrap().total,
        0
    );
    // Only the cases of the service points asked for.
    let at_pos = store
        .urgent_open_cases(&[key("s1", v1)], Some(&vec!["pos".to_owned()]), 10)
        .await
        .unwrap();
    assert_eq!((ids(&at_pos.cases), at_pos.total), (vec!["c3".into()], 1));
    let nowhere = store
        .urgent_open_cases(&[key("s1", v1)], Some(&Vec::new()), 10)
        .await
        .unwrap();
    assert_eq!(nowhere.total, 0);
}
