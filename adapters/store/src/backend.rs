//! A connected backend and its transactions, for either database: where statements run.
//! Each backend's `connect` (`sqlite.rs`, `postgres.rs`) decides which pools and connections
//! these hold; the statements are in the `Store`/`Tx` methods (see `store.rs`).

use std::collections::HashMap;
use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::Arc;

use sqlx::pool::PoolConnection;
use sqlx::{Database, Pool, SqlSafeStr as _};
use sqlx_core::transaction::TransactionManager as _;
use tokio::sync::{Mutex, OwnedMutexGuard};

use crate::dialect::Dialect;
use crate::error::Result;
use crate::log::NewLeaf;
use crate::types::{CaseRecord, SearchKey};

/// A connected backend: `Backend<Sqlite>` or `Backend<Postgres>`. Cheap to clone.
pub struct Backend<DB: Database> {
    /// Reads outside transactions.
    pub(crate) read: Pool<DB>,
    /// Writes outside transactions, and transactions when nothing is parked.
    pub(crate) write: Pool<DB>,
    /// The connection transactions run on, kept out of the pool between them (SQLite on a
    /// file): sqlx gives a connection back to its pool only after a round trip to the
    /// connection's thread, and the next transaction waited for that (measured: 1-7 ms per
    /// group commit under load). Driven by sqlx's transaction manager as sqlx's own
    /// `Transaction` does.
    pub(crate) parked: Option<Arc<Mutex<DB::Connection>>>,
    /// The schema the tables are in (PostgreSQL; empty on SQLite): notification channels are
    /// per database, so their names carry it (see `offices.rs`).
    pub(crate) schema: Arc<str>,
}

/// An SQLite store (see `sqlite.rs`).
pub type SqliteStore = Backend<sqlx::Sqlite>;
/// A PostgreSQL store (see `postgres.rs`).
pub type PgStore = Backend<sqlx::Postgres>;
/// An SQLite transaction.
pub type SqliteTx = DbTx<sqlx::Sqlite>;
/// A PostgreSQL transaction.
pub type PgTx = DbTx<sqlx::Postgres>;

impl<DB: Database> Clone for Backend<DB> {
    fn clone(&self) -> Self {
        Self {
            read: self.read.clone(),
            write: self.write.clone(),
            parked: self.parked.clone(),
            schema: self.schema.clone(),
        }
    }
}

impl<DB: Database> fmt::Debug for Backend<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Backend")
            .field("database", &DB::NAME)
            .field("read", &self.read)
            .field("write", &self.write)
            .field("parked", &self.parked.is_some())
            .finish()
    }
}

/// A write transaction: on the parked connection, or on one of the write pool's. Dropped while
/// open, it rolls back.
pub struct DbTx<DB: Database> {
    pub(crate) conn: TxConnection<DB>,
    /// Where to read the committed state after a failed statement has aborted the
    /// transaction (see [`Dialect::FAILED_STATEMENT_ABORTS_TX`]).
    pub(crate) committed: Option<Pool<DB>>,
    /// The backend's schema (see [`Backend::schema`]).
    pub(crate) schema: Arc<str>,
    /// A batch's writes left to its commit (see [`crate::Tx::defer_to_commit`]); `None`:
    /// each is made when it is asked for.
    pub(crate) deferred: Option<Deferred>,
    /// Whether lock waits are bounded (see [`crate::Tx::next_command`]).
    pub(crate) waits_bounded: bool,
    /// Case rows and salts read ahead for a batch, by case id (see
    /// [`crate::Tx::read_ahead`]): each answers its case's first read, once.
    pub(crate) read_ahead: HashMap<String, (CaseRecord, Option<String>)>,
    /// Begun and not yet ended: dropping it then rolls back.
    open: bool,
}

/// A batch's writes that wait for its commit (see [`crate::Tx::defer_to_commit`]), and how
/// many of each there were when the command's savepoint was set: a command rolled back to it
/// takes its own back.
#[derive(Default)]
pub(crate) struct Deferred {
    /// The appended events' leaves, in order (see `log.rs`).
    pub(crate) leaves: Vec<NewLeaf>,
    /// Search entries by case, in the order they were set: a case's last replace its earlier.
    pub(crate) search: Vec<(String, Vec<SearchKey>)>,
    at_savepoint: (usize, usize),
}

impl Deferred {
    /// The savepoint is set: what is deferred from now on is the next command's.
    pub(crate) fn mark(&mut self) {
        self.at_savepoint = (self.leaves.len(), self.search.len());
    }

    /// Rolled back to the savepoint: the command's deferred writes are dropped.
    pub(crate) fn undo(&mut self) {
        self.leaves.truncate(self.at_savepoint.0);
        self.search.truncate(self.at_savepoint.1);
    }
}

impl<DB: Database> fmt::Debug for DbTx<DB> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbTx")
            .field("database", &DB::NAME)
            .field("open", &self.open)
            .finish_non_exhaustive()
    }
}

pub(crate) enum TxConnection<DB: Database> {
    Parked(OwnedMutexGuard<DB::Connection>),
    Pooled(PoolConnection<DB>),
}

impl<DB: Database> Deref for TxConnection<DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        match self {
            TxConnection::Parked(conn) => conn,
            TxConnection::Pooled(conn) => conn,
        }
    }
}

impl<DB: Database> DerefMut for TxConnection<DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        match self {
            TxConnection::Parked(conn) => &mut *conn,
            TxConnection::Pooled(conn) => &mut *conn,
        }
    }
}

impl<DB: Database> Drop for DbTx<DB> {
    fn drop(&mut self) {
        if self.open {
            // Queued on the connection at once, ahead of whatever it runs next (the lock
            // is released promptly), as sqlx's `Transaction` does when dropped.
            DB::TransactionManager::start_rollback(&mut self.conn);
        }
    }
}

impl<DB: Dialect> Backend<DB> {
    /// Closes the pools; a parked connection closes with the last clone.
    pub(crate) async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }

    /// Starts a write transaction with the dialect's `BEGIN`.
    pub(crate) async fn begin(&self) -> Result<DbTx<DB>> {
        let conn = match &self.parked {
            Some(parked) => TxConnection::Parked(parked.clone().lock_owned().await),
            None => TxConnection::Pooled(self.write.acquire().await?),
        };
        let mut tx = DbTx {
            conn,
            committed: DB::FAILED_STATEMENT_ABORTS_TX.then(|| self.read.clone()),
            schema: self.schema.clone(),
            deferred: None,
            waits_bounded: false,
            read_ahead: HashMap::new(),
            // Set before it begins: a cancelled BEGIN is rolled back too.
            open: true,
        };
        let begin = DB::BEGIN.map(|sql| sql.into_sql_str());
        DB::TransactionManager::begin(&mut tx.conn, begin).await?;
        Ok(tx)
    }
}

impl<DB: Dialect> DbTx<DB> {
    /// Commits; when this returns `Ok`, the transaction is durable.
    pub(crate) async fn commit(mut self) -> Result<()> {
        DB::TransactionManager::commit(&mut self.conn).await?;
        self.open = false;
        Ok(())
    }

    pub(crate) async fn rollback(mut self) -> Result<()> {
        DB::TransactionManager::rollback(&mut self.conn).await?;
        self.open = false;
        Ok(())
    }
}
