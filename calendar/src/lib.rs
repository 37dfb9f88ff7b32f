//! Working time of sopflow's service points.
//!
//! A [`Calendar`] is data: a time zone (WIB, WITA, WIT: fixed offsets, Indonesia has no
//! daylight saving time), the opening hours of each weekday (several intervals a day, e.g.
//! around a lunch break), dated closures (libur nasional, cuti bersama, local closures, each
//! with its name) and dated open days (an office's open Saturday, other hours in Ramadan).
//! It is loaded from TOML text ([`Library`], [`Calendar::parse`]), may include other
//! calendars (an office = the national calendar of the year + its own days), and has a
//! content hash over a canonical form, so that a case can be pinned to the calendar version
//! it ran under.
//!
//! On it: whether it is open at an instant, the next opening, the working time between two
//! instants, and the due time of a budget ([`Span`]: clock time, working time, calendar days,
//! working days). The crate is pure: no clock, no files; time and texts come in.

mod calendar;
mod canonical;
mod hours;
mod load;
mod zone;

pub use calendar::{Calendar, CalendarError, Closure, ClosureKind, DayStatus, Opening, Span};
pub use canonical::HEADER as CANONICAL_HEADER;
pub use hours::{DAY, Hours, Interval};
pub use load::{Library, LoadError, Problem};
pub use zone::{Zone, utc_offset_of};
