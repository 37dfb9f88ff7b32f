//! Which version of an SOP new cases start on.
//!
//! Every decision is a release, kept in the store (`sop_releases`, append-only): a deployment
//! takes effect at once, or from its Tanggal Efektif when that lies ahead (from midnight at
//! each service point, in its own zone: `Registry::in_force_at`); an administrator may
//! choose any version (a rollback), with a reason. The version in force at an instant is
//! that of the latest decision already in effect then, so a later decision overrides earlier
//! ones, including ones scheduled further ahead. A file of the definitions folder releases
//! its version when its content changes (or is first seen), not at every start: an
//! administrator's choice through the API stands until the file changes again.

use sopflow_store::{Effective, Release};
use time::{OffsetDateTime, UtcOffset};

/// Who released, from where, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Releaser {
    /// `file:<path>`, `api` or `cli`.
    pub source: String,
    pub by: String,
    pub reason: String,
}

impl Releaser {
    /// The definitions folder, for the file `name`.
    pub fn file(name: &str) -> Self {
        Self {
            source: format!("file:{name}"),
            by: "sopflow".to_owned(),
            reason: "the definition file changed".to_owned(),
        }
    }
}

/// The instant a release takes effect: its own, or midnight of its date at `offset`.
pub fn takes_effect(release: &Release, offset: UtcOffset) -> OffsetDateTime {
    match (release.effective_at, release.effective_on) {
        (Some(at), _) => at,
        (None, Some(on)) => on.midnight().assume_offset(offset),
        // The store refuses a release without either.
        (None, None) => release.recorded_at,
    }
}

/// The release in force at `at` among `releases` (in recorded order): the latest recorded of
/// those already in effect.
pub fn in_force(releases: &[Release], at: OffsetDateTime, offset: UtcOffset) -> Option<&Release> {
    releases
        .iter()
        .rev()
        .find(|r| takes_effect(r, offset) <= at)
}

/// Releases that will still take effect after `at`: not yet in effect, and recorded after the
/// one in force (an earlier-recorded one is overridden by it). In recorded order.
pub fn scheduled(releases: &[Release], at: OffsetDateTime, offset: UtcOffset) -> Vec<&Release> {
    let current = in_force(releases, at, offset).map_or(i64::MIN, |r| r.id);
    releases
        .iter()
        .filter(|r| r.id > current && takes_effect(r, offset) > at)
        .collect()
}

/// When a new version takes effect: from its effective date when that lies after the local
/// day of `now`, else at once.
pub fn effective_for(
    effective_date: Option<time::Date>,
    now: OffsetDateTime,
    offset: UtcOffset,
) -> Effective {
    match effective_date {
        Some(date) if date > now.to_offset(offset).date() => Effective::On(date),
        _ => Effective::At(now),
    }
}

#[cfg(test)]
mod tests {
    use time::macros::{date, datetime, offset};

    use super::*;

    fn release(id: i64, version: u32, effective: Effective) -> Release {
        let (effective_at, effective_on) = match effective {
            Effective::At(t) => (Some(t), None),
            Effective::On(d) => (None, Some(d)),
        };
        Release {
            id,
            sop_id: "s".into(),
            version,
            effective_at,
            effective_on,
            source: "api".into(),
            released_by: "admin".into(),
            reason: "r".into(),
            recorded_at: datetime!(2026-12-01 00:00 UTC),
        }
    }

    const WIB: UtcOffset = offset!(+7);

    #[test]
    fn a_dated_release_takes_over_at_local_midnight() {
        let releases = [
            release(1, 1, Effective::At(datetime!(2026-11-01 00:00 UTC))),
            release(2, 2, Effective::On(date!(2027 - 01 - 01))),
        ];
        let version = |at| in_force(&releases, at, WIB).map(|r| r.version);
        // Midnight in WIB is 17:00 UTC the day before.
        assert_eq!(version(datetime!(2026-12-31 16:59:59 UTC)), Some(1));
        assert_eq!(version(datetime!(2026-12-31 17:00 UTC)), Some(2));
        let ahead = scheduled(&releases, datetime!(2026-12-15 00:00 UTC), WIB);
        assert_eq!(ahead.iter().map(|r| r.version).collect::<Vec<_>>(), [2]);
        assert!(scheduled(&releases, datetime!(2027-01-02 00:00 UTC), WIB).is_empty());
    }

    #[test]
    fn a_later_decision_overrides_an_earlier_one() {
        let releases = [
            release(1, 1, Effective::At(datetime!(2026-11-01 00:00 UTC))),
            release(2, 3, Effective::At(datetime!(2026-11-10 00:00 UTC))),
            release(3, 2, Effective::On(date!(2027 - 01 - 01))),
            // A rollback to 1 decided after version 2 was scheduled: 2 never takes effect.
            release(4, 1, Effective::At(datetime!(2026-12-05 00:00 UTC))),
        ];
        let version = |at| in_force(&releases, at, WIB).map(|r| r.version);
        assert_eq!(version(datetime!(2026-10-01 00:00 UTC)), None);
        assert_eq!(version(datetime!(2026-11-20 00:00 UTC)), Some(3));
        assert_eq!(version(datetime!(2026-12-06 00:00 UTC)), Some(1));
        assert_eq!(version(datetime!(2027-02-01 00:00 UTC)), Some(1));
        assert!(scheduled(&releases, datetime!(2026-12-06 00:00 UTC), WIB).is_empty());
        assert_eq!(
            scheduled(&releases, datetime!(2026-12-01 00:00 UTC), WIB)
                .iter()
                .map(|r| r.version)
                .collect::<Vec<_>>(),
            [2, 1],
            "both still ahead on 1 December"
        );
    }

    #[test]
    fn a_past_or_missing_effective_date_takes_effect_at_once() {
        let now = datetime!(2026-12-01 03:00 UTC);
        assert_eq!(effective_for(None, now, WIB), Effective::At(now));
        assert_eq!(
            effective_for(Some(date!(2021 - 05 - 01)), now, WIB),
            Effective::At(now)
        );
        assert_eq!(
            effective_for(Some(date!(2026 - 12 - 01)), now, WIB),
            Effective::At(now),
            "today, locally"
        );
        assert_eq!(
            effective_for(Some(date!(2026 - 12 - 02)), now, WIB),
            Effective::On(date!(2026 - 12 - 02))
        );
    }
}
