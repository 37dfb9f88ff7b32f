//! The SQLite backend: one file, one writer connection, a small pool of readers.
//!
//! SQLite allows one writer at a time, so writes go through a pool of exactly one connection
//! (queuing in this process instead of spinning on `SQLITE_BUSY`), and every write
//! transaction starts with `BEGIN IMMEDIATE`, so it holds the write lock from its first
//! statement: it can never fail to upgrade half-way, and another process on the same file
//! waits (`busy_timeout`). Transactions run on a second writer connection parked outside the
//! pool (see [`Backend::parked`]); SQLite's write lock (with the busy timeout) orders the two.
//! Readers see the last committed state (WAL) without blocking the writer.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions as _, Sqlite};
use tokio::sync::Mutex;

use crate::backend::Backend;
use crate::dialect::{Dialect, Sql};
use crate::error::Result;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");

/// How long a statement waits for another process's write lock before failing.
const BUSY_TIMEOUT: StdDuration = StdDuration::from_secs(10);
const READERS: u32 = 4;

impl Dialect for Sqlite {
    fn pick(sql: Sql) -> &'static str {
        sql.sqlite
    }

    // IMMEDIATE: the write lock from the first statement (see the module doc).
    const BEGIN: Option<&'static str> = Some("BEGIN IMMEDIATE");
    // A failed statement is undone alone; the transaction reads on.
    const FAILED_STATEMENT_ABORTS_TX: bool = false;
    const READS_AHEAD: bool = true;
    const STATEMENTS_IN_ONE_CALL: bool = true;
}

impl Backend<Sqlite> {
    pub(crate) async fn connect(url: &str) -> Result<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: a commit is on disk before it returns (NORMAL may lose the last ones).
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        // Each in-memory connection is a database of its own: there, one connection does all.
        let in_memory = url.contains(":memory:") || url.contains("mode=memory");
        // The writers stay open for good: no reconnect cost, and an in-memory database lives
        // exactly as long as its connection.
        let write = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone().create_if_missing(true))
            .await?;
        MIGRATOR.run(&write).await?;
        let parked = if in_memory {
            None
        } else {
            Some(Arc::new(Mutex::new(options.connect().await?)))
        };
        let read = if in_memory {
            write.clone()
        } else {
            SqlitePoolOptions::new()
                .max_connections(READERS)
                .connect_with(options.read_only(true))
                .await?
        };
        Ok(Self {
            read,
            write,
            parked,
            schema: Arc::from(""),
        })
    }
}
