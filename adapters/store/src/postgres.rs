//! The PostgreSQL backend: a pool shared by the process, for several processes at once.
//!
//! Transactions run at `READ COMMITTED`. What makes that safe:
//! - an append updates the case row only `WHERE version = expected`: a concurrent append waits
//!   for the row lock, then finds the version moved and reports a conflict;
//! - a creation inserts `ON CONFLICT DO NOTHING`, which waits for a concurrent creator;
//! - claims choose rows `FOR UPDATE SKIP LOCKED` inside the claiming `UPDATE`, so two
//!   processes never take the same row; the next waiting case of a queue is chosen and
//!   locked the same way by one `SELECT` (`Tx::claim_waiting`), a row whose case was called
//!   meanwhile no longer matching when it is locked;
//! - the group committer runs several commands in one transaction, each under a savepoint
//!   (an error aborts a PostgreSQL transaction: rolling back to the savepoint undoes that
//!   command alone), and bounds the lock waits of all but the first
//!   (`Tx::next_command`, [`crate::Error::is_lock_wait`]);
//! - counters and SOP version numbers are upserts or retried inserts on unique keys.

use std::str::FromStr;

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::{Executor as _, Postgres};

use crate::backend::Backend;
use crate::dialect::{Dialect, Sql};
use crate::error::Result;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Per process (several processes share one database). 16 measured no better than 8 at 32
/// clients on 2 cores: there the CPU, not the pool, is the limit.
const MAX_CONNECTIONS: u32 = 8;

impl Dialect for Postgres {
    fn pick(sql: Sql) -> &'static str {
        sql.postgres
    }

    const BEGIN: Option<&'static str> = None;
    // After an error the transaction refuses every statement until it ends.
    const FAILED_STATEMENT_ABORTS_TX: bool = true;
    // A command's read locks its row (`FOR UPDATE`): a read ahead would not.
    const READS_AHEAD: bool = false;
    const STATEMENTS_IN_ONE_CALL: bool = false;
}

impl Backend<Postgres> {
    pub(crate) async fn connect(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .after_connect(|conn, _meta| {
                Box::pin(async move {
                    // Acknowledged means durable: keep the server's setting (it may be stronger,
                    // e.g. remote_apply) unless it is off.
                    let setting: String =
                        sqlx::query_scalar("SELECT current_setting('synchronous_commit')")
                            .fetch_one(&mut *conn)
                            .await?;
                    if setting == "off" {
                        conn.execute("SET synchronous_commit = on").await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        MIGRATOR.run(&pool).await?;
        let schema: String = sqlx::query_scalar("SELECT current_schema()")
            .fetch_one(&pool)
            .await?;
        // One pool for everything: the server orders concurrent writers itself.
        Ok(Self {
            read: pool.clone(),
            write: pool,
            parked: None,
            schema: schema.into(),
        })
    }
}
