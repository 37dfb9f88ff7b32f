//! Case versions and event seqs: `u64` in the store's API, as in the engine; an SQL `BIGINT`
//! (`i64`) in the database, which has no unsigned 64-bit integer. Converted here, at binds,
//! and by `#[sqlx(try_from = "i64")]` on the rows read back; never by a cast that could wrap.

use crate::error::{Error, Result};

/// A version or seq as bound: one beyond `i64::MAX` is refused, not wrapped.
pub(crate) fn bound(value: u64) -> Result<i64> {
    i64::try_from(value)
        .map_err(|_| Error::Invalid(format!("version {value} is beyond what the store keeps")))
}

/// A version or seq read back outside a row type: a negative one is refused.
pub(crate) fn read(stored: i64) -> Result<u64> {
    u64::try_from(stored)
        .map_err(|_| Error::Invalid(format!("stored version {stored} is negative")))
}
