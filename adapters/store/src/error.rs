//! What a store call can fail with.

/// A store error. [`Error::Conflict`] and [`Error::NotFound`] are answers the API maps to 409
/// and 404; [`Error::Invalid`] is a caller bug; [`Error::Database`] is the database's own.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The case has moved on (or, for a creation, already exists).
    #[error("case {case_id} has moved on: its current version is {current_version}")]
    Conflict {
        case_id: String,
        current_version: u64,
    },
    #[error("not found: {0}")]
    NotFound(String),
    /// A unique name, token or idempotency key is taken.
    #[error("already exists: {0}")]
    AlreadyExists(String),
    /// The worker's claim on an outbox row expired and another worker took it over.
    #[error("outbox row {id} is no longer claimed by {worker}")]
    LeaseLost { id: i64, worker: String },
    /// The arguments break an invariant (an unchained event, a version that does not add up).
    #[error("invalid store request: {0}")]
    Invalid(String),
    /// Too many processes raced for the same thing; retrying later may succeed.
    #[error("busy: {0}")]
    Busy(String),
    #[error("unsupported database URL scheme {0:?}: expected sqlite:// or postgres://")]
    UnsupportedUrl(String),
    #[error("database migration: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Whether the store was closed ([`crate::Store::close`]): whoever waits on it should stop.
    pub fn is_closed(&self) -> bool {
        matches!(self, Error::Database(sqlx::Error::PoolClosed))
    }

    /// Whether a statement gave up waiting for a lock another transaction holds
    /// (PostgreSQL's `lock_timeout`, see [`crate::Tx::next_command`]) or was chosen to
    /// break a deadlock: the same command may go through once that transaction has ended.
    pub fn is_lock_wait(&self) -> bool {
        // 55P03 lock_not_available, 40P01 deadlock_detected.
        matches!(self, Error::Database(sqlx::Error::Database(db))
            if matches!(db.code().as_deref(), Some("55P03" | "40P01")))
    }
}

/// Whether the database refused a duplicate in a unique index (both backends).
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if db.is_unique_violation())
}
