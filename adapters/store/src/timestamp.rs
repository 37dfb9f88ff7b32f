//! The store's one time type, [`Ts`]: what both backends keep of an instant, and how each
//! encodes it. PostgreSQL has `TIMESTAMPTZ`; SQLite has fixed-width UTC text,
//! `2025-01-31T08:00:00.000000Z`, whose text order is time order (RFC 3339 with trimmed
//! fractions is not). Both keep microseconds (PostgreSQL's precision), so both return the same
//! instant.

use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Postgres, Sqlite, Type, ValueRef as _};
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;
use time::{Duration, OffsetDateTime, PrimitiveDateTime, UtcOffset};

use crate::error::{Error, Result};

/// An instant as the store keeps it: bound as `Ts(t)`, it is stored as UTC truncated to
/// microseconds; read back, it converts into [`OffsetDateTime`] (UTC).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ts(pub OffsetDateTime);

/// A time column that may be NULL, for `#[sqlx(try_from = "MaybeTs")]`: the derive reads each
/// field through one type, and `Option<OffsetDateTime>` can only come from a type of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MaybeTs(pub Option<OffsetDateTime>);

impl Ts {
    /// UTC, truncated to microseconds: what both backends can keep exactly.
    fn stored(self) -> OffsetDateTime {
        let t = self.0.to_offset(UtcOffset::UTC);
        t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
            .unwrap_or(t)
    }
}

/// The instant as the store keeps it, as fixed-width UTC text (SQLite's encoding): the form
/// the log's leaves hash, the same on both backends.
pub(crate) fn text(t: OffsetDateTime) -> String {
    Ts(t).stored().format(SQLITE_FORMAT).unwrap_or_default()
}

impl From<Ts> for OffsetDateTime {
    fn from(t: Ts) -> Self {
        t.0
    }
}

impl From<MaybeTs> for Option<OffsetDateTime> {
    fn from(t: MaybeTs) -> Self {
        t.0
    }
}

/// `now + lease`, refusing a lease that overflows the calendar.
pub(crate) fn lease_end(now: OffsetDateTime, lease: Duration) -> Result<OffsetDateTime> {
    if lease.is_negative() {
        return Err(Error::Invalid(format!("lease {lease} is negative")));
    }
    now.checked_add(lease)
        .ok_or_else(|| Error::Invalid(format!("lease {lease} is out of range")))
}

// ---- SQLite: fixed-width text ----

const SQLITE_FORMAT: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:6]Z");

impl Type<Sqlite> for Ts {
    fn type_info() -> <Sqlite as Database>::TypeInfo {
        <str as Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &<Sqlite as Database>::TypeInfo) -> bool {
        <str as Type<Sqlite>>::compatible(ty)
    }
}

impl Encode<'_, Sqlite> for Ts {
    fn encode_by_ref(
        &self,
        buf: &mut <Sqlite as Database>::ArgumentBuffer,
    ) -> Result<IsNull, BoxDynError> {
        let text = self.stored().format(SQLITE_FORMAT)?;
        <String as Encode<Sqlite>>::encode(text, buf)
    }
}

impl<'r> Decode<'r, Sqlite> for Ts {
    fn decode(value: <Sqlite as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<Sqlite>>::decode(value)?;
        Ok(Ts(
            PrimitiveDateTime::parse(text, SQLITE_FORMAT)?.assume_utc()
        ))
    }
}

// ---- PostgreSQL: TIMESTAMPTZ ----

impl Type<Postgres> for Ts {
    fn type_info() -> <Postgres as Database>::TypeInfo {
        <OffsetDateTime as Type<Postgres>>::type_info()
    }
}

impl Encode<'_, Postgres> for Ts {
    fn encode_by_ref(
        &self,
        buf: &mut <Postgres as Database>::ArgumentBuffer,
    ) -> Result<IsNull, BoxDynError> {
        <OffsetDateTime as Encode<Postgres>>::encode(self.stored(), buf)
    }
}

impl<'r> Decode<'r, Postgres> for Ts {
    fn decode(value: <Postgres as Database>::ValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(Ts(<OffsetDateTime as Decode<Postgres>>::decode(value)?))
    }
}

// ---- NULL, either way ----

impl<DB: Database> Type<DB> for MaybeTs
where
    Ts: Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <Ts as Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <Ts as Type<DB>>::compatible(ty)
    }
}

impl<'r, DB: Database> Decode<'r, DB> for MaybeTs
where
    Ts: Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<Self, BoxDynError> {
        if value.is_null() {
            return Ok(MaybeTs(None));
        }
        Ok(MaybeTs(Some(Ts::decode(value)?.0)))
    }
}
