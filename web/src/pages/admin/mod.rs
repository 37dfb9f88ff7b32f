//! The administrator's pages (`/kelola/…`): SOPs and their versions, deploying a new version
//! and choosing the one new cases start on, incidents, users. Only administrators see them;
//! every change goes through the registry, the runtime or the store's user functions, exactly
//! as the REST API's and the CLI's.

pub mod calendars;
pub mod deploy;
pub mod incidents;
pub mod offices;
pub mod sops;
pub mod users;

use axum::response::Response;
use sopflow_core::auth::ADMIN;
use time::{OffsetDateTime, UtcOffset};

use crate::people::Officer;

/// `Ok` for an administrator, else the "not allowed" page.
pub(crate) fn admin_only(officer: &Officer) -> Result<(), Response> {
    if officer.session.user.is(ADMIN) {
        Ok(())
    } else {
        Err(super::errors::forbidden(
            officer.lang,
            officer.lang.msg().adm_only_admins,
        ))
    }
}

/// A time as the office reads it: `YYYY-MM-DD HH:MM` at its UTC offset.
pub(crate) fn local(at: OffsetDateTime, offset: UtcOffset) -> String {
    let at = at.to_offset(offset);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

/// `/kelola`: the SOPs.
pub async fn home() -> axum::response::Redirect {
    axum::response::Redirect::to("/kelola/sop")
}
