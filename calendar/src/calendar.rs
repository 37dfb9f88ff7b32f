//! A resolved calendar (includes applied) and the working-time arithmetic on it.
//!
//! Every operation is exact: instants keep their nanoseconds, interval bounds are whole
//! seconds of local time, and a local day is 86,400 s (fixed offsets). Every loop over days
//! is bounded: past the last dated entry (closure or open day) the week repeats, so a
//! calendar whose week has no hours gives [`CalendarError::NoWorkingTime`] there instead of
//! searching on.

use std::collections::BTreeMap;
use std::time::Duration as StdDuration;

use time::{Date, Duration, OffsetDateTime, PrimitiveDateTime, Time, Weekday};

use crate::canonical;
use crate::hours::{DAY, Hours};
use crate::zone::Zone;

/// Why a day is closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClosureKind {
    /// Hari libur nasional (a national holiday).
    LiburNasional,
    /// Cuti bersama (collective leave of the civil service, set with the holidays).
    CutiBersama,
    /// A closure of this office or region (libur daerah, a move, a staff meeting...).
    Lokal,
}

impl ClosureKind {
    pub const ALL: [ClosureKind; 3] = [
        ClosureKind::LiburNasional,
        ClosureKind::CutiBersama,
        ClosureKind::Lokal,
    ];

    /// The name in files.
    pub fn as_str(self) -> &'static str {
        match self {
            ClosureKind::LiburNasional => "libur_nasional",
            ClosureKind::CutiBersama => "cuti_bersama",
            ClosureKind::Lokal => "lokal",
        }
    }

    pub fn from_name(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

/// A dated closure.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Closure {
    pub kind: ClosureKind,
    pub name: String,
}

/// A dated exception that opens a day (an open Saturday) or gives it other hours (shorter
/// hours in Ramadan, a cuti bersama day a public service stays open).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Opening {
    pub name: String,
    pub hours: Hours,
}

/// What a date is in a calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayStatus<'a> {
    /// The week's hours for its weekday (maybe none: a weekend).
    Regular(&'a Hours),
    Closed(&'a Closure),
    Opened(&'a Opening),
}

/// A budget, as the calendar counts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Span {
    /// Clock time: due this long after the start, whatever the calendar says.
    Clock(StdDuration),
    /// Working time: only time while the calendar is open counts.
    Working(StdDuration),
    /// Calendar days: the same local time, this many days later (closures do not matter).
    Days(u32),
    /// Working days (`14 hari kerja`): see [`Calendar::add_working_days`].
    WorkingDays(u32),
}

/// An operation that has no answer on this calendar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("the calendar is never open after {after}: it has no working time left to count")]
    NoWorkingTime { after: OffsetDateTime },
    #[error("the due time is past the last date this calendar can represent (year 9999)")]
    OutOfRange,
}

/// A calendar with its includes applied: a zone, the week's hours, dated closures and
/// dated open days. Immutable; its content hash pins it like an SOP version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Calendar {
    name: Option<String>,
    zone: Zone,
    /// Monday first (`Weekday::number_days_from_monday`).
    week: [Hours; 7],
    closed: BTreeMap<Date, Closure>,
    open: BTreeMap<Date, Opening>,
    /// The last date with a dated entry: after it, only the week decides.
    last_dated: Option<Date>,
    /// Whether the week has any hours at all.
    week_opens: bool,
    /// Open every second: every weekday all day, no dated entry. Working time is then
    /// clock time, computed without walking the days.
    continuous: bool,
    canonical: String,
    hash: String,
}

impl Calendar {
    /// Built by the loader, which has checked that `closed` and `open` share no date.
    pub(crate) fn from_parts(
        name: Option<String>,
        zone: Zone,
        week: [Hours; 7],
        closed: BTreeMap<Date, Closure>,
        open: BTreeMap<Date, Opening>,
    ) -> Self {
        let last_dated = closed
            .keys()
            .next_back()
            .copied()
            .max(open.keys().next_back().copied());
        let week_opens = week.iter().any(|h| !h.is_closed());
        let all_day = Hours::all_day();
        let continuous = week.iter().all(|h| *h == all_day) && closed.is_empty() && open.is_empty();
        let canonical = canonical::write(name.as_deref(), zone, &week, &closed, &open);
        let hash = canonical::sha256_hex(canonical.as_bytes());
        Self {
            name,
            zone,
            week,
            closed,
            open,
            last_dated,
            week_opens,
            continuous,
            canonical,
            hash,
        }
    }

    /// Open every second of every day: what budgets meant before calendars (a working-time
    /// budget is then clock time, a working day a calendar day).
    pub fn always_open() -> Self {
        Self::from_parts(
            Some("always open".to_owned()),
            Zone::Wib,
            std::array::from_fn(|_| Hours::all_day()),
            BTreeMap::new(),
            BTreeMap::new(),
        )
    }

    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    pub fn zone(&self) -> Zone {
        self.zone
    }

    /// The week's hours of a weekday, before dated entries.
    pub fn weekday_hours(&self, day: Weekday) -> &Hours {
        &self.week[usize::from(day.number_days_from_monday())]
    }

    /// The dated closures, in date order.
    pub fn closures(&self) -> impl Iterator<Item = (Date, &Closure)> {
        self.closed.iter().map(|(d, c)| (*d, c))
    }

    /// The dated open days, in date order.
    pub fn openings(&self) -> impl Iterator<Item = (Date, &Opening)> {
        self.open.iter().map(|(d, o)| (*d, o))
    }

    /// The canonical text of this calendar: a calendar file with no includes, every date on
    /// its own, in a fixed order and spelling. Loading it gives this calendar back; it is
    /// what a store keeps to run old cases on the exact version they ran under.
    pub fn canonical(&self) -> &str {
        &self.canonical
    }

    /// SHA-256 of [`Calendar::canonical`], lowercase hex: the same calendar always hashes
    /// the same, and any change of a date, an hour, a name or the zone changes it.
    pub fn content_hash(&self) -> &str {
        &self.hash
    }

    pub fn status(&self, date: Date) -> DayStatus<'_> {
        if let Some(closure) = self.closed.get(&date) {
            DayStatus::Closed(closure)
        } else if let Some(opening) = self.open.get(&date) {
            DayStatus::Opened(opening)
        } else {
            DayStatus::Regular(self.weekday_hours(date.weekday()))
        }
    }

    /// The opening hours of a date, closures and open days applied.
    pub fn hours_on(&self, date: Date) -> &Hours {
        static CLOSED: Hours = Hours::closed();
        match self.status(date) {
            DayStatus::Regular(hours) => hours,
            DayStatus::Closed(_) => &CLOSED,
            DayStatus::Opened(opening) => &opening.hours,
        }
    }

    /// A working day is a date with opening hours.
    pub fn is_working_day(&self, date: Date) -> bool {
        !self.hours_on(date).is_closed()
    }

    /// The local date and time of day of an instant.
    fn split(&self, t: OffsetDateTime) -> (Date, Duration) {
        let local = t.to_offset(self.zone.offset());
        (local.date(), local.time() - Time::MIDNIGHT)
    }

    /// The instant `seconds` after local midnight starting `date` (`86_400` is the next
    /// midnight).
    fn at(&self, date: Date, seconds: u32) -> Result<OffsetDateTime, CalendarError> {
        PrimitiveDateTime::new(date, Time::MIDNIGHT)
            .assume_offset(self.zone.offset())
            .checked_add(Duration::seconds(i64::from(seconds)))
            .ok_or(CalendarError::OutOfRange)
    }

    /// The day after `date`, if the search for an open day may go on there: past the last
    /// dated entry only the week decides, so a week without hours ends the search.
    fn next_day(&self, date: Date, from: OffsetDateTime) -> Result<Date, CalendarError> {
        let next = date.next_day().ok_or(CalendarError::OutOfRange)?;
        if !self.week_opens && self.last_dated.is_none_or(|last| next > last) {
            return Err(CalendarError::NoWorkingTime { after: from });
        }
        Ok(next)
    }

    /// Whether the calendar is open at `t` (intervals are `[start, end)`: open at 08:00:00,
    /// closed at 16:00:00).
    pub fn is_open(&self, t: OffsetDateTime) -> bool {
        let (date, tod) = self.split(t);
        self.hours_on(date).intervals().iter().any(|i| {
            Duration::seconds(i64::from(i.start())) <= tod
                && tod < Duration::seconds(i64::from(i.end()))
        })
    }

    /// The first instant at or after `t` at which the calendar is open: `t` itself when open.
    pub fn next_open(&self, t: OffsetDateTime) -> Result<OffsetDateTime, CalendarError> {
        let (mut date, tod) = self.split(t);
        for interval in self.hours_on(date).intervals() {
            if tod < Duration::seconds(i64::from(interval.end())) {
                return if tod >= Duration::seconds(i64::from(interval.start())) {
                    Ok(t)
                } else {
                    self.at(date, interval.start())
                };
            }
        }
        loop {
            date = self.next_day(date, t)?;
            if let Some(first) = self.hours_on(date).intervals().first() {
                return self.at(date, first.start());
            }
        }
    }

    /// Open time between `from` and `to`, exact to the nanosecond; negative when `to` is
    /// before `from` (time left to a due time that has passed).
    pub fn working_time(&self, from: OffsetDateTime, to: OffsetDateTime) -> Duration {
        if to < from {
            return -self.working_time(to, from);
        }
        let (mut date, _) = self.split(from);
        let (last, _) = self.split(to);
        let mut total = Duration::ZERO;
        loop {
            for interval in self.hours_on(date).intervals() {
                // An instant past the last one `time` represents is after `to`.
                let Ok(start) = self.at(date, interval.start()) else {
                    continue;
                };
                let end = self.at(date, interval.end()).unwrap_or(to);
                let (lo, hi) = (start.max(from), end.min(to));
                if hi > lo {
                    total += hi - lo;
                }
            }
            match date.next_day() {
                Some(next) if next <= last => date = next,
                _ => return total,
            }
        }
    }

    /// The earliest instant by which `budget` of open time has passed since `t`. A budget
    /// that runs out exactly at a closing is due at that closing, not at the next opening;
    /// a 2-minute budget started one minute before closing is due one minute after the next
    /// opening. A zero budget is due at `t`.
    pub fn add_working_time(
        &self,
        t: OffsetDateTime,
        budget: StdDuration,
    ) -> Result<OffsetDateTime, CalendarError> {
        let mut remaining = Duration::try_from(budget).map_err(|_| CalendarError::OutOfRange)?;
        if remaining.is_zero() {
            return Ok(t);
        }
        if self.continuous {
            return t.checked_add(remaining).ok_or(CalendarError::OutOfRange);
        }
        let (mut date, _) = self.split(t);
        loop {
            for interval in self.hours_on(date).intervals() {
                let start = self.at(date, interval.start())?.max(t);
                let end = self.at(date, interval.end())?;
                if end <= start {
                    continue;
                }
                let available = end - start;
                if remaining <= available {
                    return Ok(start + remaining);
                }
                remaining -= available;
            }
            date = self.next_day(date, t)?;
        }
    }

    /// Due time of `n` working days from `t` (`14 hari kerja`):
    ///
    /// 1. The count starts at `s`, the first open instant at or after `t`: a file handed in
    ///    after closing, on a weekend or a holiday is counted from the next opening, so that
    ///    the office always has `n` whole working days for it.
    /// 2. The due day is the `n`-th working day after the date of `s` (the day of `s` itself
    ///    is day 0, whatever is left of it).
    /// 3. The due time is the local time of day of `s` on that day. If the day is closed then
    ///    (its hours differ), it is the latest closing of that day before that time, or the
    ///    day's first opening if it opens only later. Either way no open time of the due
    ///    day before that time of day is lost or added.
    ///
    /// So `n` working days from Monday 10:00 is the `n`-th next working day at 10:00; from
    /// Monday 17:00 (after closing) it counts from Tuesday's opening. With a calendar open
    /// around the clock it is exactly `n` × 24 hours. `n = 0` is due at `t`.
    pub fn add_working_days(
        &self,
        t: OffsetDateTime,
        n: u32,
    ) -> Result<OffsetDateTime, CalendarError> {
        if n == 0 {
            return Ok(t);
        }
        let s = self.next_open(t)?;
        let (mut date, tod) = self.split(s);
        let mut counted = 0;
        while counted < n {
            date = self.next_day(date, t)?;
            if self.is_working_day(date) {
                counted += 1;
            }
        }
        let intervals = self.hours_on(date).intervals();
        let mut due = None;
        for interval in intervals {
            let (start, end) = (
                Duration::seconds(i64::from(interval.start())),
                Duration::seconds(i64::from(interval.end())),
            );
            if tod < start {
                break;
            }
            if tod < end {
                let day = self.at(date, 0)?;
                return day.checked_add(tod).ok_or(CalendarError::OutOfRange);
            }
            due = Some(interval.end());
        }
        let first = intervals.first().map_or(0, |i| i.start());
        self.at(date, due.unwrap_or(first))
    }

    /// Due time of a budget started at `start`.
    pub fn due(&self, start: OffsetDateTime, span: Span) -> Result<OffsetDateTime, CalendarError> {
        match span {
            Span::Clock(d) => Duration::try_from(d)
                .ok()
                .and_then(|d| start.checked_add(d))
                .ok_or(CalendarError::OutOfRange),
            Span::Working(d) => self.add_working_time(start, d),
            Span::Days(n) => start
                .checked_add(Duration::seconds(i64::from(n) * i64::from(DAY)))
                .ok_or(CalendarError::OutOfRange),
            Span::WorkingDays(n) => self.add_working_days(start, n),
        }
    }
}
