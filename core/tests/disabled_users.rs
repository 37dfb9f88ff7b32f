//! A disabled user is refused by token and by password (and their sessions end); a rotated
//! token replaces the old one. On SQLite, and on PostgreSQL when `SOPFLOW_TEST_DATABASE_URL`
//! is set.

#![allow(clippy::unwrap_used)]

use sopflow_core::auth::{AuthError, Authenticator, hash_password, new_token};
use sopflow_store::testing::{Backend, TestDb};
use time::OffsetDateTime;

async fn disabled_users_are_refused(db: &TestDb) {
    let store = db.store().await;
    let now = OffsetDateTime::now_utc();
    let (token, hash) = new_token().unwrap();
    store.add_user("ani", "admin", &hash, now).await.unwrap();
    store
        .set_password_hash("ani", Some(&hash_password("sandi-ani-1").unwrap()))
        .await
        .unwrap();
    // A fresh authenticator each time: its token cache would keep an answer for seconds.
    let auth = || Authenticator::new(100, 100);
    assert_eq!(
        auth()
            .bearer(&store, Some(&token), None)
            .await
            .unwrap()
            .name,
        "ani"
    );
    assert_eq!(
        auth()
            .password(&store, "ani", "sandi-ani-1", None)
            .await
            .unwrap()
            .name,
        "ani"
    );

    store.set_user_disabled("ani", Some(now)).await.unwrap();
    let listed = store.list_users().await.unwrap();
    assert!(listed[0].disabled_at.is_some());
    assert!(matches!(
        auth().bearer(&store, Some(&token), None).await,
        Err(AuthError::Unauthenticated)
    ));
    assert!(matches!(
        auth().password(&store, "ani", "sandi-ani-1", None).await,
        Err(AuthError::Unauthenticated)
    ));
    store.set_user_disabled("ani", None).await.unwrap();
    assert_eq!(
        auth()
            .bearer(&store, Some(&token), None)
            .await
            .unwrap()
            .name,
        "ani"
    );

    // A new token: the old one stops working.
    let (fresh, fresh_hash) = new_token().unwrap();
    store.set_token_hash("ani", &fresh_hash).await.unwrap();
    assert!(auth().bearer(&store, Some(&token), None).await.is_err());
    assert_eq!(
        auth()
            .bearer(&store, Some(&fresh), None)
            .await
            .unwrap()
            .name,
        "ani"
    );
    assert!(store.set_token_hash("nobody", "x").await.is_err());
    assert!(store.set_user_disabled("nobody", Some(now)).await.is_err());
}

#[tokio::test]
async fn sqlite() {
    let db = TestDb::new(Backend::Sqlite).await.unwrap();
    disabled_users_are_refused(&db).await;
    db.cleanup().await;
}

#[tokio::test]
async fn postgres() {
    let Some(db) = TestDb::new(Backend::Postgres).await else {
        return;
    };
    disabled_users_are_refused(&db).await;
    db.cleanup().await;
}
