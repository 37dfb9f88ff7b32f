//! The page handlers: thin, as the REST handlers are. Each reads who is asking, calls the
//! core, and renders a template.

pub mod admin;
pub mod board;
pub mod case;
pub mod counter;
pub mod desk;
pub mod errors;
pub mod login;
pub mod open;
pub mod status;
// auditor pages
pub mod audit;
pub mod audit_tools;
pub mod supervisor;
pub mod survey;

use time::OffsetDateTime;

pub(crate) fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}
