//! Fresh databases for tests, this crate's and its users': a SQLite file in a temporary
//! directory, and, when `SOPFLOW_TEST_DATABASE_URL` is set, a PostgreSQL schema of its own in
//! that database (chosen with `search_path`), so tests run in parallel without seeing each
//! other. Without the variable the PostgreSQL tests say loudly that they are skipped.

use std::io::Write;
use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};

use time::OffsetDateTime;

use crate::Store;

pub const PG_URL_VAR: &str = "SOPFLOW_TEST_DATABASE_URL";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database: connect with [`TestDb::store`] (or [`crate::Store::connect`] on
/// [`TestDb::url`]), as many times as there are "processes".
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    /// (admin URL, schema) for PostgreSQL.
    pg_schema: Option<(String, String)>,
}

impl TestDb {
    /// A fresh database, or `None` (said loudly) when PostgreSQL is not configured.
    pub async fn new(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temporary directory");
                let url = format!("sqlite://{}", dir.path().join("store.db").display());
                Some(TestDb {
                    backend,
                    url,
                    _dir: Some(dir),
                    pg_schema: None,
                })
            }
            Backend::Postgres => {
                let Ok(admin_url) = std::env::var(PG_URL_VAR) else {
                    say_postgres_skipped();
                    return None;
                };
                let schema = unique_schema_name();
                let admin = sqlx::PgPool::connect(&admin_url)
                    .await
                    .expect("connect to SOPFLOW_TEST_DATABASE_URL");
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                    .execute(&admin)
                    .await
                    .expect("create test schema");
                admin.close().await;
                let sep = if admin_url.contains('?') { '&' } else { '?' };
                let url = format!("{admin_url}{sep}options=-c%20search_path%3D{schema}");
                Some(TestDb {
                    backend,
                    url,
                    _dir: None,
                    pg_schema: Some((admin_url, schema)),
                })
            }
        }
    }

    /// The SQLite database at `url` that exists already (a copy of a fixture): cleanup leaves
    /// it to its owner.
    pub fn existing_sqlite(url: String) -> TestDb {
        TestDb {
            backend: Backend::Sqlite,
            url,
            _dir: None,
            pg_schema: None,
        }
    }

    /// A new connection to this database: a second call is like a second process.
    pub async fn store(&self) -> Store {
        Store::connect(&self.url)
            .await
            .expect("connect to the store")
    }

    /// Runs one statement outside the store's API (to test what the schema itself refuses).
    pub async fn raw_execute(&self, sql: &'static str) -> Result<u64, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => {
                let pool = sqlx::SqlitePool::connect(&self.url).await?;
                let result = sqlx::query(sql).execute(&pool).await;
                pool.close().await;
                Ok(result?.rows_affected())
            }
            Backend::Postgres => {
                let pool = sqlx::PgPool::connect(&self.url).await?;
                let result = sqlx::query(sql).execute(&pool).await;
                pool.close().await;
                Ok(result?.rows_affected())
            }
        }
    }

    /// Drops the PostgreSQL schema (the SQLite directory goes with `self`). A failing test
    /// skips this and leaves its schema behind for inspection.
    pub async fn cleanup(self) {
        if let Some((admin_url, schema)) = &self.pg_schema {
            let admin = sqlx::PgPool::connect(admin_url)
                .await
                .expect("connect to SOPFLOW_TEST_DATABASE_URL");
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP SCHEMA {schema} CASCADE")))
                .execute(&admin)
                .await
                .expect("drop test schema");
            admin.close().await;
        }
    }
}

fn say_postgres_skipped() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Straight to stderr: the test harness would hide an eprintln! of a passing test.
        let _ = writeln!(
            std::io::stderr(),
            "\n*** SKIPPED: the PostgreSQL store tests: {PG_URL_VAR} is not set \
             (e.g. postgres://sopflow:sopflow@127.0.0.1:5432/sopflow_test) ***\n"
        );
    });
}

fn unique_schema_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos() % 1_000_000_000_000;
    format!("sopflow_test_{}_{n}_{nanos}", std::process::id())
}
