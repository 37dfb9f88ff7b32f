//! What differs between the two backends' SQL, in one place: the [`Dialect`] trait (how a
//! transaction begins, what a failed statement does to it) and the
//! fragments that [`sql!`] splices into a statement written once (row locks, claims that skip
//! locked rows, a JSON array as rows).

use sqlx::Database;

/// What a backend's SQL supplies beyond what both share. Implemented by `sqlx::Sqlite`
/// (`sqlite.rs`) and `sqlx::Postgres` (`postgres.rs`).
pub trait Dialect: Database {
    /// The text of a statement that this dialect runs (see [`sql!`]).
    fn pick(sql: Sql) -> &'static str;
    /// The statement that begins a write transaction; `None` for sqlx's plain `BEGIN`.
    const BEGIN: Option<&'static str>;
    /// Whether a failed statement aborts its whole transaction (PostgreSQL), so that what
    /// follows it must read the committed state outside; else only the statement is undone.
    const FAILED_STATEMENT_ABORTS_TX: bool;
    /// Whether the case rows of a batch may be read ahead of its commands (see
    /// [`crate::Tx::read_ahead`]): where one writer holds the database, so that only the
    /// batch's own appends change them; not where a command's read locks its row.
    const READS_AHEAD: bool;
    /// Whether several statements go in one call (separated by `;`, their `$N` parameters
    /// numbered across them), as an append sends its case row's statement and its events'
    /// insert, and a commit its search entries' delete and insert: SQLite, where each call
    /// is a round trip to the connection's thread. PostgreSQL's extended protocol takes one
    /// statement per call.
    const STATEMENTS_IN_ONE_CALL: bool;
}

/// One statement in both dialects' texts, built at compile time by [`sql!`].
#[derive(Debug, Clone, Copy)]
pub struct Sql {
    pub sqlite: &'static str,
    pub postgres: &'static str,
}

/// `sql!(DB: "SELECT " case_columns " FROM cases WHERE case_id = $1" for_update)`: the
/// statement in `DB`'s dialect, as a `&'static str`. Literals are text both share; a name is a
/// fragment of [`fragment!`], `name("arg")` one that takes an argument. Both texts are built
/// at compile time; `DB` picks one.
macro_rules! sql {
    ($db:ty: $($part:tt)+) => {
        <$db as $crate::dialect::Dialect>::pick($crate::dialect::Sql {
            sqlite: $crate::dialect::sql_text!(sqlite [] $($part)+),
            postgres: $crate::dialect::sql_text!(postgres [] $($part)+),
        })
    };
}

/// One dialect's text of a [`sql!`] statement: its parts, fragments expanded, concatenated.
macro_rules! sql_text {
    ($d:ident [$($done:tt)*]) => { concat!($($done)*) };
    ($d:ident [$($done:tt)*] $text:literal $($rest:tt)*) => {
        $crate::dialect::sql_text!($d [$($done)* $text,] $($rest)*)
    };
    ($d:ident [$($done:tt)*] $name:ident ($arg:literal) $($rest:tt)*) => {
        $crate::dialect::sql_text!(
            $d [$($done)* $crate::dialect::fragment!($d $name $arg),] $($rest)*
        )
    };
    ($d:ident [$($done:tt)*] $name:ident $($rest:tt)*) => {
        $crate::dialect::sql_text!($d [$($done)* $crate::dialect::fragment!($d $name),] $($rest)*)
    };
}

/// The fragments of [`sql!`]: per dialect where they differ, then the column lists both read.
macro_rules! fragment {
    // Locks the case row until commit. SQLite's write transaction holds the database's one
    // write lock from its `BEGIN IMMEDIATE`: nobody else can change the case.
    (sqlite for_update) => {
        ""
    };
    (postgres for_update) => {
        " FOR UPDATE"
    };
    // Rows chosen for a claim: other processes' claims skip the rows this one has locked, so
    // each row is claimed once. SQLite has one writer: a claim is one atomic statement.
    (sqlite skip_locked) => {
        ""
    };
    (postgres skip_locked) => {
        " FOR UPDATE SKIP LOCKED"
    };
    // The values of a JSON array of strings (a bound text), as a subquery.
    (sqlite json_array $p:literal) => {
        concat!("(SELECT value FROM json_each(", $p, "))")
    };
    (postgres json_array $p:literal) => {
        concat!("(SELECT jsonb_array_elements_text(", $p, "::jsonb))")
    };

    // A character no id contains, to join ids into one key (the inbox's step keys).
    (sqlite unit_separator) => {
        "char(31)"
    };
    (postgres unit_separator) => {
        "chr(31)"
    };

    ($d:ident case_columns) => {
        "case_id, sop_id, sop_version, status, current_step, version, head_hash, created_at, \
         updated_at, due_at, overdue, service_point"
    };
    // Of `events e` (see `cases::EventRow`). A row stores no prev_hash where it is the hash
    // of the row before it (migration 0013): it is read from there, by the primary key.
    ($d:ident event_columns) => {
        "e.case_id, e.seq, e.kind, e.recorded_at, e.user_name, e.role, e.codec, e.payload, \
         COALESCE(e.prev_hash, (SELECT p.hash FROM events p \
                                WHERE p.case_id = e.case_id AND p.seq < e.seq \
                                ORDER BY p.seq DESC LIMIT 1)) AS prev_hash, \
         e.hash"
    };
    ($d:ident outbox_columns) => {
        "id, case_id, seq, idempotency_key, adapter, payload, status, attempts, next_attempt_at, \
         claimed_by, lease_until, last_error, created_at, updated_at"
    };
    ($d:ident sop_columns) => {
        "sop_id, version, content_hash, yaml, created_at"
    };
    ($d:ident point_columns) => {
        "id, name, timezone, calendar, counters, source, created_at, updated_at"
    };
    ($d:ident call_columns) => {
        "id, service_point, sop_id, queue, number, counter, kind, case_id, seq, at, called_by"
    };
    ($d:ident user_columns) => {
        "id, name, role, token_hash, created_at, disabled_at"
    };
}

pub(crate) use {fragment, sql, sql_text};
