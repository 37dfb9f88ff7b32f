//! The service core of sopflow: what every face (the REST API, the web pages, the CLI) shares.
//!
//! # Layout
//! - [`runtime`]: one command = one store transaction (decide, number, chain, append), group
//!   commit on SQLite, the state cache;
//! - [`queries`]: the SOP catalogue, a role's inbox, the cases a user may see, search;
//! - [`access`]: who sees a case, with or without its personal data, and as whom a person
//!   acts on it;
//! - [`calendars`]: the service points' calendars and the calendars cases are pinned to;
//! - [`offices`]: service points and their counters; [`counters`]: calling from counters
//!   and a service point's board; [`calls`]: the calls, for the call streams; [`search`]:
//!   searchable fields as hashes;
//! - [`queue`]: how queue numbers are drawn and the order they are called in;
//! - [`registry`]: SOP versions (deployed from files or the API, watched, cached);
//!   [`releases`]: which version new cases start on (deployments, effective dates, rollbacks);
//! - [`ticker`]: the time-budget timer;
//! - [`dispatch`]: the outbox dispatcher (adapter deliveries, retries, incidents), over the
//!   [`adapters`] the configuration binds; [`outbox`]: what a row carries;
//! - [`accounts`]: adding users, passwords, tokens from the pages;
//! - [`auth`]: users, bearer tokens, passwords and the failed-authentication limit;
//!   [`session`]: people's browser sessions (cookie token, CSRF token, idle expiry);
//! - [`registration`]: registration numbers and tracking codes of new cases ([`codes`]: the
//!   alphabet people type);
//! - [`config`]: the service's configuration file;
//! - [`changes`]: what a new SOP version changes against another (text and structure).
//!
//! **Architecture invariant:** no HTTP here (no axum, no status codes, no wire types): the
//! core answers with what happened and the faces render it. Every face reaches the store
//! through these functions, so a rule holds for all of them at once.

pub mod access;
pub mod accounts;
pub mod adapters;
pub mod auth;
pub mod calendars;
pub mod calls;
pub mod changes;
pub mod codes;
pub mod config;
pub mod counters;
pub mod dispatch;
mod metrics;
pub mod offices;
pub mod outbox;
pub mod queries;
pub mod queue;
pub mod registration;
pub mod registry;
pub mod releases;
pub mod runtime;
pub mod search;
pub mod session;
pub mod skm;
pub mod staffing;
pub mod supervision;
pub mod survey;
pub mod ticker;

pub use runtime::{CommandRequest, FollowUp, LoadedCase, Outcome, Runtime, RuntimeError};
