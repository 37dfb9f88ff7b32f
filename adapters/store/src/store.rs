//! [`Store`] and [`Tx`], the store's face: each holds one of the two backends, and each of
//! their methods runs its one body on whichever it is, through [`on_backend!`]. The statements
//! are in the modules by subject (`sop_versions.rs`, `cases.rs`, `queues.rs`, `outbox.rs`,
//! `users.rs`, `audit.rs`); what differs between the backends is in `dialect.rs`,
//! `timestamp.rs`, `sqlite.rs` and `postgres.rs`.

use crate::backend::{PgStore, PgTx, SqliteStore, SqliteTx};
use crate::error::{Error, Result};

/// A connected store: one of the two backends. Cheap to clone (it holds connection pools).
#[derive(Clone, Debug)]
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

/// A transaction: see [`Store::begin`]. Dropped without [`Tx::commit`], it rolls back.
#[derive(Debug)]
pub enum Tx {
    Sqlite(SqliteTx),
    Postgres(PgTx),
}

/// What to do with the per-command savepoint (see [`Tx::savepoint`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Savepoint {
    Set,
    Release,
    RollBack,
}

/// `on_backend!(Store, self, |s| body)`: runs `body` on the backend that a [`Store`] (or, with
/// `Tx`, a [`Tx`]) holds. The one body is compiled once per backend: in each, `s` is that
/// backend's [`crate::Backend`] (or [`crate::DbTx`]) and `DB` its `sqlx::Database`, for
/// [`crate::dialect::sql!`] and the dialect's constants. It is written like a closure so that
/// rustfmt formats it, but it is not one: `?` and `return` leave the method.
macro_rules! on_backend {
    ($enum:ident, $value:expr, |$b:ident| $body:expr) => {
        match $value {
            $enum::Sqlite($b) => {
                // Unused by bodies with nothing dialect-specific.
                #[allow(dead_code)]
                type DB = sqlx::Sqlite;
                $body
            }
            $enum::Postgres($b) => {
                #[allow(dead_code)]
                type DB = sqlx::Postgres;
                $body
            }
        }
    };
}
pub(crate) use on_backend;

impl Store {
    /// Connects to `sqlite://PATH` (created if missing) or `postgres://…`/`postgresql://…` and
    /// applies the migrations (a no-op when they are already applied); what was stored before
    /// the log (migration 0006) becomes its first leaves.
    pub async fn connect(url: &str) -> Result<Store> {
        let store = if url.starts_with("sqlite:") {
            Store::Sqlite(SqliteStore::connect(url).await?)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Store::Postgres(PgStore::connect(url).await?)
        } else {
            // The URL may carry a password: show only its scheme.
            let scheme = url.split(':').next().unwrap_or_default();
            return Err(Error::UnsupportedUrl(scheme.to_owned()));
        };
        // A store from before the log gets its leaves once (a no-op afterwards).
        store.adopt_unlogged().await?;
        Ok(store)
    }

    /// `"sqlite"` or `"postgres"`.
    pub fn backend(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Closes the pools, waiting for connections in use to be returned.
    pub async fn close(&self) {
        on_backend!(Store, self, |s| s.close().await)
    }

    /// Writes a consistent copy of an SQLite store to the new file `path` (`VACUUM INTO`: a
    /// snapshot of the last commit, taken while the service goes on writing). PostgreSQL has
    /// its own tools (pg_dump, base backups).
    pub async fn backup_into(&self, path: &std::path::Path) -> Result<()> {
        let Some(path) = path.to_str() else {
            return Err(Error::Invalid(format!("{} is not UTF-8", path.display())));
        };
        match self {
            Store::Sqlite(s) => {
                sqlx::query("VACUUM INTO $1")
                    .bind(path)
                    .execute(&s.read)
                    .await?;
                Ok(())
            }
            Store::Postgres(_) => Err(Error::Invalid(
                "a PostgreSQL store is backed up with pg_dump or base backups".into(),
            )),
        }
    }

    /// Starts a write transaction (SQLite: `BEGIN IMMEDIATE`, so it never fails to upgrade
    /// later; PostgreSQL: `READ COMMITTED`, with the checks described in the crate doc).
    pub async fn begin(&self) -> Result<Tx> {
        Ok(match self {
            Store::Sqlite(s) => Tx::Sqlite(s.begin().await?),
            Store::Postgres(s) => Tx::Postgres(s.begin().await?),
        })
    }
}

impl Tx {
    /// Sets, releases or rolls back to the transaction's one savepoint. Group commit runs
    /// several commands in one transaction, each between a set and a release, so that one
    /// failing command is rolled back alone (its deferred leaves with it).
    pub async fn savepoint(&mut self, action: Savepoint) -> Result<()> {
        let sql = match action {
            Savepoint::Set => "SAVEPOINT sopflow_command",
            Savepoint::Release => "RELEASE SAVEPOINT sopflow_command",
            Savepoint::RollBack => "ROLLBACK TO SAVEPOINT sopflow_command",
        };
        on_backend!(Tx, self, |t| {
            sqlx::query(sql).execute(&mut *t.conn).await?;
            match (action, t.deferred.as_mut()) {
                (Savepoint::Set, Some(d)) => d.mark(),
                (Savepoint::RollBack, Some(d)) => d.undo(),
                _ => {}
            }
            Ok(())
        })
    }

    /// Between two commands of a batch, in one round trip: ends the savepoint of the one
    /// that ran (released if it `succeeded`, else rolled back to: a failed statement no
    /// longer aborts the transaction), and sets the next one's. With `bound_waits`
    /// (PostgreSQL), from then on a statement that waits longer than that many milliseconds
    /// for a lock another transaction holds fails ([`Error::is_lock_wait`]): set outside the
    /// savepoint, so that it holds for the rest of the transaction. A batch bounds the waits
    /// of its later commands so that it never waits long holding the locks of earlier ones,
    /// and two batches that each wait for the other part at once instead of at the deadlock
    /// detector's second. SQLite has one writer: nothing to wait for.
    pub async fn next_command(&mut self, succeeded: bool, bound_waits: Option<u32>) -> Result<()> {
        let mut sql = String::new();
        if !succeeded {
            sql.push_str("ROLLBACK TO SAVEPOINT sopflow_command; ");
        }
        sql.push_str("RELEASE SAVEPOINT sopflow_command; ");
        if let (Some(millis), Tx::Postgres(t)) = (bound_waits, &mut *self) {
            // SET takes no parameters; the value is a number formatted here.
            sql.push_str(&format!("SET LOCAL lock_timeout = {millis}; "));
            t.waits_bounded = true;
        }
        sql.push_str("SAVEPOINT sopflow_command");
        on_backend!(Tx, self, |t| {
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut *t.conn)
                .await?;
            if let Some(d) = t.deferred.as_mut() {
                if !succeeded {
                    d.undo();
                }
                d.mark();
            }
            Ok(())
        })
    }

    /// From now on, two kinds of write wait for [`Tx::commit`], which makes them together:
    /// the leaves of appended events, added to the log (the log's size row, which every
    /// appending transaction locks until it commits, is then locked once per batch and only
    /// for its last statements, never while the batch waits for a case another transaction
    /// holds); and the cases' search entries (see [`Tx::index_case`]: one delete and one
    /// insert for the batch, not two statements per command; nothing in the transaction
    /// reads them).
    pub fn defer_to_commit(&mut self) {
        on_backend!(Tx, self, |t| {
            t.deferred.get_or_insert_with(Default::default);
        })
    }

    /// Commits (making the deferred writes first); when this returns `Ok`, the transaction
    /// is durable.
    pub async fn commit(mut self) -> Result<()> {
        let deferred = on_backend!(Tx, &mut self, |t| t.deferred.take());
        if let Some(deferred) = deferred {
            // The log's size row is held by a transaction that is committing: wait for it
            // however long that takes, never give up the whole batch.
            if let Tx::Postgres(t) = &mut self
                && t.waits_bounded
            {
                sqlx::raw_sql("SET LOCAL lock_timeout = 0")
                    .execute(&mut *t.conn)
                    .await?;
            }
            let search = deferred.search.iter();
            self.write_search(search.map(|(case_id, entries)| (case_id.as_str(), &entries[..])))
                .await?;
            self.add_leaves(&deferred.leaves).await?;
        }
        on_backend!(Tx, self, |t| t.commit().await)
    }

    pub async fn rollback(self) -> Result<()> {
        on_backend!(Tx, self, |t| t.rollback().await)
    }
}
