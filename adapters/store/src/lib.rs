//! The durable store of sopflow: SOP versions, case events, the outbox of effects, queue
//! counters, users and idempotency records, on SQLite (one office, one file) or PostgreSQL
//! (several `sopflow` processes).
//!
//! The store does not know the engine: it keeps the event JSON, hashes and projections that the
//! runtime hands it, and guarantees the invariants below. [`Store::connect`] picks the backend
//! from the URL (`sqlite://path` or `postgres://…`) and runs the embedded migrations
//! (`migrations/sqlite`, `migrations/postgres`).
//!
//! # Tables
//!
//! | table | key | what it holds |
//! |---|---|---|
//! | `sop_versions` | (sop_id, version), unique (sop_id, content_hash) | every deployed SOP text; immutable (an update is refused by a trigger, a delete by the cases' foreign key) |
//! | `sop_releases` | id | which version new cases start on, decided over time: deployments and an admin's choices, each with who, why and from when (an instant or a local date); append-only (triggers) |
//! | `cases` | case_id | a projection of each case for listing and for the timer: status, current step, `version` (= last event's seq), head hash, `due_at`, `overdue`, the timer lease. The truth is the events. |
//! | `events` | (case_id, seq) | the append-only, hash-chained log (`hash` as 32 bytes, `prev_hash` only where it is not the previous row's hash, who, when, kind, the JSON payload in the row's `codec`: zstd with the format's dictionary, or plain; see `codec.rs`). Updates and deletes are refused by a trigger. |
//! | `case_salts` | case_id | the per-case salt of the personal-data hashes in the events; apart from the events so that retention can erase it |
//! | `files` | sha256 | uploaded document scans, content-addressed (personal data, outside the chain) |
//! | `outbox` | id, unique idempotency_key | effects to deliver: `pending` → `claimed` (worker + lease) → `done`, or `failed` (retried at `next_attempt_at`), or `incident` (given up; a human retries) |
//! | `queue_counters` | (queue_key, day) | the last number issued per queue per local day |
//! | `users` | id, unique name, unique token_hash | API users; only the SHA-256 (hex) of a token is stored, and of a password only its argon2id hash (PHC string) |
//! | `sessions` | id_hash | browser sessions: the SHA-256 of the cookie's token, the user, the CSRF token, the officer's counter, last use (idle expiry) |
//! | `case_references` | case_id, unique registration_number, unique tracking_code | the office's numbers of a case, written in the transaction that opens it |
//! | `idempotency_keys` | (user_name, key) | the response already given to a request carrying an `Idempotency-Key` |
//! | `audit_access` | id | who exported histories or saw personal data unmasked, when, and why; append-only (triggers) |
//! | `log_size`, `log_leaves` | idx | the transparency log: one leaf per event, access row and erasure, in commit order; its size row orders them (see `log.rs`); append-only |
//! | `log_nodes`, `log_checkpointer` | (level, idx) | the roots of the log's perfect subtrees, computed when checkpointing, and up to which size |
//! | `log_checkpoints` | id | signed checkpoints (tree size, root, time; the signed note's text); append-only |
//! | `erasures` | id, unique case_id | erasures of closed cases' personal data: who, when, why, on request or by retention; append-only, each a leaf of the log |
//! | `service_points` | id | each service point: name, time zone, calendar, counters, and whether the config file or the API keeps it |
//! | `memberships` | (user_name, role, service_point) | a user's roles and where they hold them (`*`: everywhere) |
//! | `calendars` | content_hash | the canonical text of every calendar a case was opened under, by its SHA-256 (the hash `case_started` records); written once per hash, immutable (triggers) |
//! | `case_search` | (case_id, field) | the SHA-256 of each searchable case field's value, for finding a returning applicant |
//! | `queue_calls` | id | every call of a number to a counter (call, recall, transfer, no-show) and who made it (`called_by`, 0010): a projection of the case events, for display boards and counter states |
//!
//! # Invariants
//!
//! - **One transaction per command.** [`Tx::append`] writes the events, the case projection,
//!   the outbox rows (and, with [`Tx::remember_response`], the idempotency record) in one
//!   transaction: all commit or none do.
//! - **Optimistic concurrency.** An append names the version it was decided on. The projection
//!   is updated only if its version still is that one, and (case_id, seq) is unique; either
//!   check failing gives [`Error::Conflict`] with the current version, and nothing is written.
//!   [`Tx::case`] also locks the case until the transaction ends (PostgreSQL: `FOR UPDATE`;
//!   SQLite: the transaction is a write transaction from its start), so a command that reads
//!   the case in its transaction decides on the latest state.
//! - **The chain is checked at the door.** Each event's `prev_hash` must be the previous
//!   event's `hash` (the case's head hash for the first one), and the projection's version and
//!   head hash must be those of the last event; otherwise [`Error::Invalid`].
//! - **Everything recorded is a leaf.** The transaction that appends events, records an access
//!   or an erasure adds their leaves to the log as its last write ([`Tx::add_leaves`]; a batch
//!   of commands adds all its appends' leaves in [`Tx::commit`], see [`Tx::defer_to_commit`]):
//!   indices are gap-free and follow commit order. Events refuse updates except an erasure's
//!   replacement of personal values by the salted hashes the chain covers (trigger).
//! - **Work is claimed once.** Outbox rows and due cases are claimed with a worker id and a
//!   lease (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: one writer); the next case waiting
//!   in a queue is claimed in the transaction of the command that calls it
//!   ([`Tx::claim_waiting`]). A lease that expires
//!   (a crashed process) makes the work claimable again; a worker whose lease was taken over
//!   gets [`Error::LeaseLost`] when it reports.
//! - **Acknowledged means durable.** SQLite runs in WAL mode with `synchronous=FULL`;
//!   PostgreSQL keeps the server's `synchronous_commit` unless it is `off`, which is raised to `on`.
//!
//! # Times
//!
//! The API takes and returns [`OffsetDateTime`](time::OffsetDateTime); the store keeps UTC
//! with microsecond precision (PostgreSQL's), truncating finer parts, so both backends return
//! the same instant. PostgreSQL uses `TIMESTAMPTZ`; SQLite uses fixed-width text,
//! `2025-01-31T08:00:00.000000Z`, whose text order is time order. Nothing reads the database
//! clock: every write takes `now`.
//!
//! # Two backends, one set of statements
//!
//! Each statement is written once, in the [`Store`] or [`Tx`] method that runs it (the modules
//! by subject: `sop_versions`, `cases`, `queues`, `outbox`, `users`, `audit`, `offices`). The method's
//! body goes through `on_backend!` (`store.rs`), which compiles it once per backend with
//! that backend's concrete sqlx types, so no statement is generic and none is written twice.
//! Shared too: the rows, read by `#[derive(sqlx::FromRow)]` on the types of `types.rs`; the
//! transactions (`backend.rs`: [`Backend`] holds the pools, [`DbTx`] drives sqlx's transaction
//! manager as sqlx's own `Transaction` does); the checks that need no database.
//!
//! What each backend supplies, and nothing else:
//! - **connection** (`sqlite.rs`, `postgres.rs`): SQLite's one-connection write pool, its
//!   reader pool and its transaction connection parked outside the pool (a pooled one came
//!   back only after a round trip to its thread: 1-7 ms per group commit); PostgreSQL's one
//!   pool and its `synchronous_commit` check. Each also implements the `Dialect` trait
//!   (`dialect.rs`): the `BEGIN` (`BEGIN IMMEDIATE` on SQLite), whether a failed statement
//!   aborts the transaction (PostgreSQL: then the committed state is read outside it), and the
//!   cast that keeps a bound JSON text exact (`::json` on PostgreSQL);
//! - **SQL fragments** (`dialect.rs`, side by side): the row lock (`FOR UPDATE`), the claim
//!   (`FOR UPDATE SKIP LOCKED`), a JSON array as rows (`json_each` /
//!   `jsonb_array_elements_text`), spliced into a statement at compile time by `sql!`;
//! - **time encoding** (`timestamp.rs`): `Ts` encodes and decodes itself as fixed-width text
//!   on SQLite and `TIMESTAMPTZ` on PostgreSQL.

mod audit;
mod backend;
mod calendars;
mod cases;
mod codec;
mod dialect;
mod erasure;
mod error;
mod front_office;
pub mod log;
mod offices;
mod outbox;
mod postgres;
mod queues;
mod seq;
mod sop_versions;
mod sqlite;
mod store;
mod supervision;
mod survey;
pub mod testing;
mod timestamp;
mod types;
mod users;

pub use audit::{AuditAccess, NewAuditAccess};
pub use backend::{Backend, DbTx, PgStore, PgTx, SqliteStore, SqliteTx};
pub use calendars::StoredCalendar;
pub use codec::{GENESIS, Payload};
pub use erasure::{NewErasure, Redaction};
pub use error::{Error, Result};
pub use front_office::{
    CaseReferences, CounterSession, Credentials, NewSession, Session, StepKey, UrgentCases,
};
pub use log::{Checkpoint, Erasure, Leaf, LeafKind, NewCheckpoint, NewLeaf, Node, Unbacked};
pub use offices::{Notifications, Notified};
pub use sop_versions::{Effective, NewRelease, Release};
pub use store::{Savepoint, Store, Tx};
pub use supervision::OpenAtStep;
pub use survey::{NewSurveyResponse, SurveyTotals};
pub use types::{
    CallKind, CaseFilter, CaseProjection, CaseRecord, Counter, Event, Membership, NewCall,
    NewEvent, NewOutbox, OutboxItem, OutboxStatus, Page, PointSource, QueueCall, QueuePlace,
    SearchKey, ServicePoint, SopVersion, StoredResponse, User,
};
