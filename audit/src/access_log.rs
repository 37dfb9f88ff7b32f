//! The audit-access log as the auditor's pages use it: an access recorded with the reason
//! the auditor gave even when nothing personal was shown (an export is justified either way),
//! and the latest entries, newest first.

use sopflow_store::{AuditAccess, NewAuditAccess, Store};
use time::OffsetDateTime;

use super::{AuditError, MAX_REASON, Personal, Requester};

/// Entries read per store round trip when looking for the latest.
const READ: u32 = 500;

/// Records an access with `reason` (required, at most [`MAX_REASON`] characters), whether or
/// not personal data is shown (`personal`); returns the entry's id.
pub async fn record_with_reason(
    store: &Store,
    who: &Requester,
    action: &str,
    scope: &str,
    personal: &Personal,
    reason: &str,
    now: OffsetDateTime,
) -> Result<i64, AuditError> {
    let reason = checked_reason(reason)?;
    Ok(store
        .record_audit_access(&NewAuditAccess {
            at: now,
            user_name: who.user.clone(),
            role: who.role.clone(),
            action: action.to_owned(),
            scope: scope.to_owned(),
            revealed: personal.is_revealed(),
            reason: Some(reason),
        })
        .await?)
}

/// A reason as recorded: trimmed, not empty, bounded.
pub fn checked_reason(reason: &str) -> Result<String, AuditError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(AuditError::Invalid("a reason is required".into()));
    }
    if reason.chars().count() > MAX_REASON {
        return Err(AuditError::Invalid(format!(
            "the reason is longer than {MAX_REASON} characters"
        )));
    }
    Ok(reason.to_owned())
}

/// The latest `limit` entries of the log, newest first. Reads the log forward in pages (the
/// store lists it oldest first), holding at most `limit` entries and one page.
pub async fn latest(store: &Store, limit: usize) -> Result<Vec<AuditAccess>, AuditError> {
    let mut kept: std::collections::VecDeque<AuditAccess> =
        std::collections::VecDeque::with_capacity(limit);
    let mut after = 0;
    loop {
        let page = store.audit_accesses(after, READ).await?;
        let full = page.len() == READ as usize;
        for entry in page {
            after = entry.id;
            if kept.len() == limit {
                kept.pop_front();
            }
            if limit > 0 {
                kept.push_back(entry);
            }
        }
        if !full {
            break;
        }
    }
    Ok(kept.into_iter().rev().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_trimmed_required_and_bounded() {
        assert_eq!(checked_reason("  audit 7 ").unwrap_or_default(), "audit 7");
        assert!(checked_reason(" ").is_err());
        assert!(checked_reason(&"x".repeat(MAX_REASON + 1)).is_err());
        assert!(checked_reason(&"x".repeat(MAX_REASON)).is_ok());
    }
}
