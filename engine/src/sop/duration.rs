//! Lengths of time and time budgets.
//!
//! [`Duration`] is a plain length (`30s`, `1m`, `2h`, `3d`, `1h30m`, ISO-8601 `PT1M`), as the
//! service's configuration writes timeouts. [`Budget`] is the Waktu of an SOP step as the
//! table writes it (`30 detik`, `2 menit`, `1 jam`, `3 hari`, `14 hari kerja`, and the short
//! and ISO forms): days, calendar or working, then time. [`BudgetRule`] is a budget with the
//! clock its time runs on, and gives its due time on a service point's calendar. Seconds
//! matter: some SOPs budget 30 seconds.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;
use std::sync::LazyLock;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sopflow_calendar::{Calendar, CalendarError, Span};
use time::OffsetDateTime;

/// A whole number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration {
    seconds: u64,
}

/// Why a duration text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseDurationError {
    #[error("invalid duration {0:?}: expected e.g. `30s`, `2m`, `1h30m`, `3d` or `PT2M`")]
    Malformed(String),
    #[error("duration {0:?} is longer than 100 years: is it a typo?")]
    TooLong(String),
}

/// Upper bound (100 years): anything beyond is a typo, and it keeps arithmetic far from overflow.
const MAX_SECONDS: u64 = 100 * 366 * 24 * 3600;

impl Duration {
    pub const fn from_secs(seconds: u64) -> Self {
        Self { seconds }
    }

    pub const fn as_secs(self) -> u64 {
        self.seconds
    }

    /// Whole minutes when exact, for the table's Waktu column (`2 menit`).
    pub fn to_indonesian(self) -> String {
        let s = self.seconds;
        match s {
            s if s > 0 && s % 86_400 == 0 => format!("{} hari", s / 86_400),
            s if s > 0 && s % 3_600 == 0 => format!("{} jam", s / 3_600),
            s if s > 0 && s % 60 == 0 => format!("{} menit", s / 60),
            s => format!("{s} detik"),
        }
    }
}

/// Why a run of number-unit pairs was refused.
enum Refused {
    Malformed,
    TooLong,
}

fn parse_units(body: &str, units: &[(char, u64)]) -> Result<u64, Refused> {
    let mut total: u64 = 0;
    let mut number = String::new();
    let mut last_unit = 0usize;
    for c in body.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        // Units must appear in order (largest first) and each once.
        let pos = units
            .iter()
            .position(|(u, _)| *u == c.to_ascii_lowercase())
            .ok_or(Refused::Malformed)?;
        if number.is_empty() || pos < last_unit {
            return Err(Refused::Malformed);
        }
        // Only digits were pushed, so the one way to fail is being too large for u64.
        let value: u64 = number.parse().map_err(|_| Refused::TooLong)?;
        total = value
            .checked_mul(units[pos].1)
            .and_then(|v| total.checked_add(v))
            .ok_or(Refused::TooLong)?;
        number.clear();
        last_unit = pos + 1;
    }
    if !number.is_empty() || body.is_empty() {
        return Err(Refused::Malformed);
    }
    Ok(total)
}

impl FromStr for Duration {
    type Err = ParseDurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = |refused| match refused {
            Refused::Malformed => ParseDurationError::Malformed(text.to_owned()),
            Refused::TooLong => ParseDurationError::TooLong(text.to_owned()),
        };
        let trimmed = text.trim();
        let seconds = if let Some(iso) = trimmed.strip_prefix('P') {
            let (date, time) = match iso.split_once('T') {
                Some((d, t)) => (d, Some(t)),
                None => (iso, None),
            };
            let days = if date.is_empty() {
                0
            } else {
                parse_units(date, &[('d', 86_400)]).map_err(err)?
            };
            let clock = match time {
                Some(t) => parse_units(t, &[('h', 3_600), ('m', 60), ('s', 1)]).map_err(err)?,
                None if date.is_empty() => return Err(err(Refused::Malformed)),
                None => 0,
            };
            days.checked_add(clock)
                .ok_or_else(|| err(Refused::TooLong))?
        } else {
            parse_units(trimmed, &[('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)])
                .map_err(err)?
        };
        if seconds > MAX_SECONDS {
            return Err(err(Refused::TooLong));
        }
        Ok(Self { seconds })
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.seconds;
        if rest == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
            if rest >= size {
                write!(f, "{}{unit}", rest / size)?;
                rest %= size;
            }
        }
        Ok(())
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The forms the parser accepts (in canonical case), so editors flag a bad budget before
/// `validate` does. Only the 100-year bound is left to the parser. The ISO form needs a unit
/// after `T`: `PT` and `P1DT` are refused.
pub const DURATION_PATTERN: &str = r"^(([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?|P([0-9]+D(T([0-9]+H([0-9]+M)?([0-9]+S)?|[0-9]+M([0-9]+S)?|[0-9]+S))?|T([0-9]+H([0-9]+M)?([0-9]+S)?|[0-9]+M([0-9]+S)?|[0-9]+S)))$";

impl JsonSchema for Duration {
    fn schema_name() -> Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A time budget: `30s`, `2m`, `1h30m`, `3d`, or ISO-8601 such as `PT2M`.",
            "pattern": DURATION_PATTERN,
            "minLength": 2,
        })
    }
}

/// How a budget's days are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum DayCount {
    /// `3 hari`, `3d`, `P3D`: the same local time that many days later, open or not.
    #[default]
    Calendar,
    /// `14 hari kerja`: working days of the service point's calendar.
    Working,
}

/// Waktu: a step's time budget as the SOP table writes it. First days (calendar days or
/// working days), then time (hours, minutes, seconds), each part optional but not both:
/// `14 hari kerja`, `3 hari`, `1 jam 30 menit`, `1d2h`. The time part runs on the step's
/// [`BudgetClock`]; days count as they say.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Budget {
    days: u32,
    day_count: DayCount,
    time: Duration,
}

/// Why a budget text was refused. Each message says what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseBudgetError {
    #[error(
        "invalid budget {0:?}: expected e.g. `2 menit`, `30 detik`, `1 jam`, `3 hari`, `14 hari kerja`, `1h30m` or `PT2M`"
    )]
    Malformed(String),
    #[error(
        "unknown unit `{unit}` in {text:?}: budgets count detik, menit, jam, hari or hari kerja (or s, m, h, d){hint}"
    )]
    UnknownUnit {
        text: String,
        unit: String,
        hint: &'static str,
    },
    #[error("{0:?} has a number without its unit: write e.g. `{1} menit`")]
    NoUnit(String, String),
    #[error(
        "{0:?}: budgets are whole numbers: write e.g. `1 jam 30 menit` for one and a half hours"
    )]
    Fraction(String),
    #[error(
        "{0:?}: write the units from the largest to the smallest, each once (days, then jam, menit, detik), e.g. `1 jam 30 menit`"
    )]
    Order(String),
    #[error("duration {0:?} is longer than 100 years: is it a typo?")]
    TooLong(String),
}

impl Budget {
    /// `days` counted as `count`, then `time`. (Without days, how they count is moot.)
    pub const fn new(days: u32, count: DayCount, time: Duration) -> Self {
        let day_count = if days == 0 { DayCount::Calendar } else { count };
        Self {
            days,
            day_count,
            time,
        }
    }

    /// A budget of time only (`2 menit`).
    pub const fn time(duration: Duration) -> Self {
        Self {
            days: 0,
            day_count: DayCount::Calendar,
            time: duration,
        }
    }

    /// A budget of days only (`3 hari`, `14 hari kerja`).
    pub const fn days(days: u32, count: DayCount) -> Self {
        Self::new(days, count, Duration::from_secs(0))
    }

    /// The days part, when there is one.
    pub fn day_part(self) -> Option<(u32, DayCount)> {
        (self.days > 0).then_some((self.days, self.day_count))
    }

    /// The time part (zero when the budget is days only).
    pub fn time_part(self) -> Duration {
        self.time
    }

    /// Whether the budget counts working days, which only a calendar can.
    pub fn counts_working_days(self) -> bool {
        self.days > 0 && self.day_count == DayCount::Working
    }

    /// The budget's length on a calendar that is always open, which is what it meant before
    /// calendars: every day, calendar or working, is 24 hours; time is clock time.
    pub fn as_secs(self) -> u64 {
        u64::from(self.days) * 86_400 + self.time.as_secs()
    }

    /// The budget on `clock`.
    pub fn on(self, clock: BudgetClock) -> BudgetRule {
        BudgetRule {
            budget: self,
            clock,
        }
    }

    /// The table's Waktu column: `14 hari kerja`, `3 hari`, `2 menit`, `1 hari 2 jam`.
    pub fn to_indonesian(self) -> String {
        let time = self.time.as_secs();
        let time_text = match time {
            s if s > 0 && s % 3_600 == 0 => format!("{} jam", s / 3_600),
            s if s > 0 && s % 60 == 0 => format!("{} menit", s / 60),
            s => format!("{s} detik"),
        };
        match (self.day_part(), time) {
            (None, _) => time_text,
            (Some((n, count)), t) => {
                let days = match count {
                    DayCount::Calendar => format!("{n} hari"),
                    DayCount::Working => format!("{n} hari kerja"),
                };
                if t == 0 {
                    days
                } else {
                    format!("{days} {time_text}")
                }
            }
        }
    }
}

/// The unit words, lowercase, and the rank of the unit (days first).
const UNITS: &[(&str, usize)] = &[
    ("d", 0),
    ("hari", 0),
    ("h", 1),
    ("jam", 1),
    ("m", 2),
    ("menit", 2),
    ("s", 3),
    ("detik", 3),
];
const RANK_SECONDS: [u64; 4] = [86_400, 3_600, 60, 1];

fn unknown_unit_hint(unit: &str) -> &'static str {
    match unit {
        "minggu" | "pekan" | "w" | "week" | "weeks" => ": a week is `7 hari` (or `5 hari kerja`)",
        "bulan" | "month" | "months" | "tahun" => {
            ": months and years vary in length: count `hari` or `hari kerja`"
        }
        "mnt" | "min" | "minute" | "minutes" => ": write `menit` (or `m`)",
        "dtk" | "sec" | "second" | "seconds" => ": write `detik` (or `s`)",
        "hour" | "hours" => ": write `jam` (or `h`)",
        "day" | "days" => ": write `hari` (or `d`), or `hari kerja` for working days",
        _ => "",
    }
}

/// `14 hari kerja`, `1 jam 30 menit`, `1h30m` (lowercased, trimmed).
fn parse_terms(text: &str, original: &str) -> Result<Budget, ParseBudgetError> {
    let malformed = || ParseBudgetError::Malformed(original.to_owned());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut next_rank = 0;
    let mut budget = Budget::time(Duration::from_secs(0));
    let mut seconds: u64 = 0;
    let skip_spaces = |i: &mut usize| {
        while chars.get(*i) == Some(&' ') {
            *i += 1;
        }
    };
    loop {
        skip_spaces(&mut i);
        if i == chars.len() {
            break;
        }
        let start = i;
        while chars.get(i).is_some_and(char::is_ascii_digit) {
            i += 1;
        }
        if i == start {
            return Err(malformed());
        }
        let number: String = chars[start..i].iter().collect();
        if matches!(chars.get(i), Some('.' | ','))
            && chars.get(i + 1).is_some_and(char::is_ascii_digit)
        {
            return Err(ParseBudgetError::Fraction(original.to_owned()));
        }
        skip_spaces(&mut i);
        let word_start = i;
        while chars.get(i).is_some_and(|c| c.is_alphabetic()) {
            i += 1;
        }
        if i == word_start {
            if i == chars.len() {
                return Err(ParseBudgetError::NoUnit(original.to_owned(), number));
            }
            return Err(malformed());
        }
        let word: String = chars[word_start..i].iter().collect();
        let Some(&(_, rank)) = UNITS.iter().find(|(u, _)| *u == word) else {
            return Err(ParseBudgetError::UnknownUnit {
                text: original.to_owned(),
                hint: unknown_unit_hint(&word),
                unit: word,
            });
        };
        let mut working = false;
        if word == "hari" {
            let mut j = i;
            skip_spaces(&mut j);
            let k_start = j;
            while chars.get(j).is_some_and(|c| c.is_alphabetic()) {
                j += 1;
            }
            if j > i && chars[k_start..j].iter().collect::<String>() == "kerja" && k_start > i {
                working = true;
                i = j;
            }
        }
        if rank < next_rank {
            return Err(ParseBudgetError::Order(original.to_owned()));
        }
        next_rank = rank + 1;
        let too_long = || ParseBudgetError::TooLong(original.to_owned());
        let value: u64 = number.parse().map_err(|_| too_long())?;
        if rank == 0 {
            budget.days = u32::try_from(value).map_err(|_| too_long())?;
            budget.day_count = if working {
                DayCount::Working
            } else {
                DayCount::Calendar
            };
        } else {
            seconds = value
                .checked_mul(RANK_SECONDS[rank])
                .and_then(|v| seconds.checked_add(v))
                .ok_or_else(too_long)?;
        }
    }
    if next_rank == 0 {
        return Err(malformed());
    }
    Ok(Budget::new(
        budget.days,
        budget.day_count,
        Duration::from_secs(seconds),
    ))
}

/// `P3D`, `PT2M`, `P1DT2H` (lowercased, trimmed, without the `p`).
fn parse_iso(iso: &str, original: &str) -> Result<Budget, ParseBudgetError> {
    let err = |refused| match refused {
        Refused::Malformed => ParseBudgetError::Malformed(original.to_owned()),
        Refused::TooLong => ParseBudgetError::TooLong(original.to_owned()),
    };
    let (date, time) = match iso.split_once('t') {
        Some((d, t)) => (d, Some(t)),
        None => (iso, None),
    };
    let days = if date.is_empty() {
        0
    } else {
        parse_units(date, &[('d', 1)]).map_err(err)?
    };
    let seconds = match time {
        Some(t) => parse_units(t, &[('h', 3_600), ('m', 60), ('s', 1)]).map_err(err)?,
        None if date.is_empty() => return Err(err(Refused::Malformed)),
        None => 0,
    };
    Ok(Budget {
        days: u32::try_from(days).map_err(|_| err(Refused::TooLong))?,
        day_count: DayCount::Calendar,
        time: Duration::from_secs(seconds),
    })
}

impl FromStr for Budget {
    type Err = ParseBudgetError;

    /// Case does not matter (`2 Menit`, `14 Hari Kerja`, `pt2m`); spaces between a number
    /// and its unit, and between parts, are optional (`1h30m`, `1 jam 30 menit`).
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let lower = text.trim().to_lowercase();
        let budget = match lower.strip_prefix('p') {
            Some(iso) => parse_iso(iso, text)?,
            None => parse_terms(&lower, text)?,
        };
        if budget.as_secs() > MAX_SECONDS {
            return Err(ParseBudgetError::TooLong(text.to_owned()));
        }
        Ok(budget)
    }
}

/// The time part in hours at most (`26h`: hours of time are never shown as a day).
struct Clock(u64);

impl fmt::Display for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        if rest == 0 {
            return f.write_str("0s");
        }
        for (unit, size) in [("h", 3_600), ("m", 60), ("s", 1)] {
            if rest >= size {
                write!(f, "{}{unit}", rest / size)?;
                rest %= size;
            }
        }
        Ok(())
    }
}

/// The short form for calendar days and time (`3d`, `1h30m`, `1d2h`, as before budgets had
/// days of their own), the words for working days (`14 hari kerja`, `1 hari kerja 2h`).
impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let time = Clock(self.time.as_secs());
        match self.day_part() {
            None => write!(f, "{time}"),
            Some((n, DayCount::Calendar)) if time.0 == 0 => write!(f, "{n}d"),
            Some((n, DayCount::Calendar)) => write!(f, "{n}d{time}"),
            Some((n, DayCount::Working)) if time.0 == 0 => write!(f, "{n} hari kerja"),
            Some((n, DayCount::Working)) => write!(f, "{n} hari kerja {time}"),
        }
    }
}

impl Serialize for Budget {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Budget {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// `[hH][aA][rR][iI]`: JSON Schema patterns (ECMA-262) have no portable case-insensitive flag.
fn any_case(word: &str) -> String {
    word.chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase())
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// The pattern of the forms [`Budget`]'s parser accepts, so editors flag a bad budget before
/// `validate` does. Only the 100-year bound and the spaces around the whole are left to the
/// parser.
pub static BUDGET_PATTERN: LazyLock<String> = LazyLock::new(|| {
    let n = "[0-9]+";
    let sp = " *";
    let unit = |words: &[&str]| {
        let alternatives: Vec<String> = words.iter().map(|w| any_case(w)).collect();
        format!("{n}{sp}({})", alternatives.join("|"))
    };
    let day = format!(
        "{n}{sp}({}( +{})?|{})",
        any_case("hari"),
        any_case("kerja"),
        any_case("d")
    );
    let hour = unit(&["jam", "h"]);
    let minute = unit(&["menit", "m"]);
    let second = unit(&["detik", "s"]);
    let words = format!(
        "{day}({sp}{hour})?({sp}{minute})?({sp}{second})?|{hour}({sp}{minute})?({sp}{second})?|{minute}({sp}{second})?|{second}"
    );
    let [p, t, d, h, m, s] = ["p", "t", "d", "h", "m", "s"].map(any_case);
    let clock = format!("{t}({n}{h}({n}{m})?({n}{s})?|{n}{m}({n}{s})?|{n}{s})");
    let iso = format!("{p}({n}{d}({clock})?|{clock})");
    format!("^({words}|{iso})$")
});

impl JsonSchema for Budget {
    fn schema_name() -> Cow<'static, str> {
        "Budget".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "Waktu, a time budget as the SOP table writes it: `30 detik`, `2 menit`, `1 jam`, `1 jam 30 menit` (working time: only while the service point is open, unless the step says `budget_clock: wall`), `3 hari` (calendar days), `14 hari kerja` (working days of the service point's calendar); also `30s`, `2m`, `1h30m`, `3d` and ISO-8601 `PT2M`. Case does not matter.",
            "pattern": *BUDGET_PATTERN,
            "minLength": 2,
        })
    }
}

/// What the hours, minutes and seconds of a step's budget count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BudgetClock {
    /// Working time: only while the case's service point is open (the default).
    #[default]
    Working,
    /// Clock time, around the clock: the step waits on something that does not keep the
    /// office's hours (e.g. an outside desk).
    Wall,
}

/// A step's budget on its clock: what the engine runs. Days count as the budget says;
/// its time then runs on the clock, from the end of the days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BudgetRule {
    pub budget: Budget,
    pub clock: BudgetClock,
}

impl BudgetRule {
    /// The length on an always-open calendar (see [`Budget::as_secs`]).
    pub fn as_secs(self) -> u64 {
        self.budget.as_secs()
    }

    /// When a budget started at `start` runs out on `calendar` (the service point's). On
    /// [`Calendar::always_open`] this is `start + as_secs()` for every budget.
    pub fn due(
        self,
        calendar: &Calendar,
        start: OffsetDateTime,
    ) -> Result<OffsetDateTime, CalendarError> {
        let after_days = match self.budget.day_part() {
            None => start,
            Some((n, DayCount::Calendar)) => calendar.due(start, Span::Days(n))?,
            Some((n, DayCount::Working)) => calendar.due(start, Span::WorkingDays(n))?,
        };
        let time = std::time::Duration::from_secs(self.budget.time.as_secs());
        if time.is_zero() {
            return Ok(after_days);
        }
        let span = match self.clock {
            BudgetClock::Working => Span::Working(time),
            BudgetClock::Wall => Span::Clock(time),
        };
        calendar.due(after_days, span)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(text: &str) -> Option<u64> {
        text.parse::<Duration>().ok().map(Duration::as_secs)
    }

    fn budget(text: &str) -> Result<Budget, ParseBudgetError> {
        text.parse()
    }

    fn ok(text: &str) -> Budget {
        budget(text).unwrap_or_else(|e| panic!("{text:?}: {e}"))
    }

    #[test]
    fn budgets_as_the_table_writes_them() {
        let time = |s| Budget::time(Duration::from_secs(s));
        assert_eq!(ok("2 menit"), time(120));
        assert_eq!(ok("2 Menit"), time(120));
        assert_eq!(ok("30 detik"), time(30));
        assert_eq!(ok("1 jam"), time(3_600));
        assert_eq!(ok("1 jam 30 menit"), time(5_400));
        assert_eq!(ok("1jam30menit"), time(5_400));
        assert_eq!(ok("3 hari"), Budget::days(3, DayCount::Calendar));
        assert_eq!(ok("14 hari kerja"), Budget::days(14, DayCount::Working));
        assert_eq!(ok("14 Hari Kerja"), Budget::days(14, DayCount::Working));
        assert_eq!(
            ok("  14  HARI   KERJA "),
            Budget::days(14, DayCount::Working)
        );
        let mixed = ok("1 hari kerja 2 jam");
        assert_eq!(mixed.day_part(), Some((1, DayCount::Working)));
        assert_eq!(mixed.time_part().as_secs(), 7_200);
        // The forms budgets had before, with the same lengths.
        assert_eq!(ok("2m"), time(120));
        assert_eq!(ok("30s"), time(30));
        assert_eq!(ok("1h30m"), time(5_400));
        assert_eq!(ok("1h 30m"), time(5_400));
        assert_eq!(ok("3d"), Budget::days(3, DayCount::Calendar));
        assert_eq!(ok("PT2M"), time(120));
        assert_eq!(ok("pt2m"), time(120));
        assert_eq!(ok("P3D"), Budget::days(3, DayCount::Calendar));
        assert_eq!(ok("P1DT2H").as_secs(), 93_600);
        assert_eq!(ok("1d2h3m4s").as_secs(), 93_784);
        for text in [
            "30s", "2m", "1h30m", "3d", "1d2h3m4s", "PT2M", "P1DT2H", "1h",
        ] {
            assert_eq!(
                ok(text).as_secs(),
                text.parse::<Duration>().unwrap().as_secs(),
                "{text}: a budget is as long as the duration it was"
            );
        }
    }

    #[test]
    fn bad_budgets_say_what_to_write() {
        for (text, message) in [
            (
                "",
                "invalid budget \"\": expected e.g. `2 menit`, `30 detik`, `1 jam`, `3 hari`, `14 hari kerja`, `1h30m` or `PT2M`",
            ),
            (
                "menit",
                "invalid budget \"menit\": expected e.g. `2 menit`, `30 detik`, `1 jam`, `3 hari`, `14 hari kerja`, `1h30m` or `PT2M`",
            ),
            (
                "2 minggu",
                "unknown unit `minggu` in \"2 minggu\": budgets count detik, menit, jam, hari or hari kerja (or s, m, h, d): a week is `7 hari` (or `5 hari kerja`)",
            ),
            (
                "1 bulan",
                "unknown unit `bulan` in \"1 bulan\": budgets count detik, menit, jam, hari or hari kerja (or s, m, h, d): months and years vary in length: count `hari` or `hari kerja`",
            ),
            (
                "5 mnt",
                "unknown unit `mnt` in \"5 mnt\": budgets count detik, menit, jam, hari or hari kerja (or s, m, h, d): write `menit` (or `m`)",
            ),
            (
                "14 harikerja",
                "unknown unit `harikerja` in \"14 harikerja\": budgets count detik, menit, jam, hari or hari kerja (or s, m, h, d)",
            ),
            (
                "15",
                "\"15\" has a number without its unit: write e.g. `15 menit`",
            ),
            (
                "1 jam 30",
                "\"1 jam 30\" has a number without its unit: write e.g. `30 menit`",
            ),
            (
                "1,5 jam",
                "\"1,5 jam\": budgets are whole numbers: write e.g. `1 jam 30 menit` for one and a half hours",
            ),
            (
                "1.5h",
                "\"1.5h\": budgets are whole numbers: write e.g. `1 jam 30 menit` for one and a half hours",
            ),
            (
                "30 menit 1 jam",
                "\"30 menit 1 jam\": write the units from the largest to the smallest, each once (days, then jam, menit, detik), e.g. `1 jam 30 menit`",
            ),
            (
                "3 hari 2 hari kerja",
                "\"3 hari 2 hari kerja\": write the units from the largest to the smallest, each once (days, then jam, menit, detik), e.g. `1 jam 30 menit`",
            ),
            (
                "2 menit 5 menit",
                "\"2 menit 5 menit\": write the units from the largest to the smallest, each once (days, then jam, menit, detik), e.g. `1 jam 30 menit`",
            ),
            (
                "-2 menit",
                "invalid budget \"-2 menit\": expected e.g. `2 menit`, `30 detik`, `1 jam`, `3 hari`, `14 hari kerja`, `1h30m` or `PT2M`",
            ),
            (
                "PT",
                "invalid budget \"PT\": expected e.g. `2 menit`, `30 detik`, `1 jam`, `3 hari`, `14 hari kerja`, `1h30m` or `PT2M`",
            ),
            (
                "P2M",
                "invalid budget \"P2M\": expected e.g. `2 menit`, `30 detik`, `1 jam`, `3 hari`, `14 hari kerja`, `1h30m` or `PT2M`",
            ),
            (
                "60000 hari",
                "duration \"60000 hari\" is longer than 100 years: is it a typo?",
            ),
            (
                "99999999999 hari kerja",
                "duration \"99999999999 hari kerja\" is longer than 100 years: is it a typo?",
            ),
            (
                "99999999999999999999s",
                "duration \"99999999999999999999s\" is longer than 100 years: is it a typo?",
            ),
        ] {
            assert_eq!(
                budget(text).map_err(|e| e.to_string()),
                Err(message.to_owned()),
                "{text:?}"
            );
        }
    }

    #[test]
    fn display_round_trips_and_the_table_form() {
        for (text, shown, indonesian) in [
            ("2 menit", "2m", "2 menit"),
            ("1 jam 30 menit", "1h30m", "90 menit"),
            // A day of working time is not a calendar day: never shown as one.
            ("24 jam", "24h", "24 jam"),
            ("3 hari", "3d", "3 hari"),
            ("1d2h", "1d2h", "1 hari 2 jam"),
            ("14 hari kerja", "14 hari kerja", "14 hari kerja"),
            (
                "1 hari kerja 30s",
                "1 hari kerja 30s",
                "1 hari kerja 30 detik",
            ),
            ("0s", "0s", "0 detik"),
        ] {
            let b = ok(text);
            assert_eq!(b.to_indonesian(), indonesian, "{text}");
            assert_eq!(b.to_string(), shown, "{text}");
            assert_eq!(ok(&b.to_string()), b, "{text}");
        }
    }

    /// The pattern in the schema accepts exactly what the parser does (but the 100-year
    /// bound and the spaces around the whole).
    #[test]
    fn the_budget_pattern_agrees_with_the_parser() {
        let schema = serde_json::json!({"type": "string", "pattern": *BUDGET_PATTERN});
        let validator = jsonschema::validator_for(&schema).unwrap();
        for text in [
            "2 menit",
            "2 Menit",
            "2menit",
            "30 detik",
            "1 jam",
            "1 jam 30 menit",
            "1jam 30menit",
            "3 hari",
            "14 hari kerja",
            "14 HARI KERJA",
            "14 hari  kerja",
            "1 hari kerja 2 jam",
            "1 hari kerja2jam",
            "1d2h",
            "30s",
            "2m",
            "1h30m",
            "1h 30m",
            "3d",
            "PT2M",
            "pt2m",
            "P3D",
            "P1DT2H",
            "PT1H30M",
            "P2DT5S",
            "",
            "P",
            "PT",
            "P1DT",
            "5",
            "m",
            "1m1h",
            "PT1H1H",
            "P1H",
            "P2M",
            "PTM",
            "P1DT1M1H",
            "14 harikerja",
            "14 kerja",
            "2 minggu",
            "1,5 jam",
            "1.5h",
            "30 menit 1 jam",
            "3 hari 2 hari kerja",
            "-2m",
            "2 m 3 m",
            "hari kerja",
            "1 hari kerja kerja",
            "1 jam 30",
            "2  menit",
            "PT 2M",
            "P 3D",
        ] {
            assert_eq!(
                validator.is_valid(&serde_json::json!(text)),
                budget(text).is_ok(),
                "{text:?}: the pattern and the parser disagree"
            );
        }
    }

    proptest::proptest! {
        /// Strings made of the budget's own pieces: the pattern and the parser agree on all.
        #[test]
        fn the_pattern_and_the_parser_agree_on_pieces(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    "1", "14", "0", " ", "  ", "hari", "kerja", "jam", "menit", "detik", "d",
                    "h", "m", "s", "P", "T", "D", "H", "M", "S", "Hari", "KERJA", ",", "5x",
                ]),
                0..7,
            )
        ) {
            let text: String = pieces.concat();
            let schema = serde_json::json!({"type": "string", "pattern": *BUDGET_PATTERN});
            let validator = jsonschema::validator_for(&schema).unwrap();
            let trimmed = text.trim();
            proptest::prop_assert_eq!(
                validator.is_valid(&serde_json::json!(trimmed)),
                budget(trimmed).is_ok(),
                "{:?}", trimmed
            );
        }

        /// On an always-open calendar every budget is due `as_secs` after its start, on
        /// either clock: what budgets meant before calendars.
        #[test]
        fn always_open_is_todays_behaviour(
            days in 0u32..400,
            working in proptest::bool::ANY,
            seconds in 0u64..10_000_000,
            wall in proptest::bool::ANY,
            start in -1_000_000_000i64..3_000_000_000,
        ) {
            let count = if working { DayCount::Working } else { DayCount::Calendar };
            let b = Budget::new(days, count, Duration::from_secs(seconds));
            let clock = if wall { BudgetClock::Wall } else { BudgetClock::Working };
            let start = OffsetDateTime::from_unix_timestamp(start).unwrap();
            let due = b.on(clock).due(&Calendar::always_open(), start).unwrap();
            proptest::prop_assert_eq!(due, start + std::time::Duration::from_secs(b.as_secs()));
            proptest::prop_assert_eq!(ok(&b.to_string()), b);
        }
    }

    /// On an office's calendar: working time, its wall-clock variant, working days.
    #[test]
    fn due_times_on_an_office_calendar() {
        use time::macros::datetime;
        let calendar = Calendar::parse(
            "kantor.toml",
            "zone = \"WIB\"\n[hours]\nmonday-friday = [\"08:00-12:00\", \"13:00-16:00\"]\n[[closed]]\ndate = 2026-03-19\nkind = \"libur_nasional\"\nname = \"Hari Suci Nyepi\"\n",
        )
        .unwrap();
        let due = |text: &str, clock, start| ok(text).on(clock).due(&calendar, start).unwrap();
        let thursday = datetime!(2026-03-12 15:59 +7);
        assert_eq!(
            due("2 menit", BudgetClock::Working, thursday),
            datetime!(2026-03-13 08:01 +7)
        );
        assert_eq!(
            due("2 menit", BudgetClock::Wall, thursday),
            datetime!(2026-03-12 16:01 +7)
        );
        assert_eq!(
            due("1 hari", BudgetClock::Working, thursday),
            datetime!(2026-03-13 15:59 +7)
        );
        // Wednesday 18 March 10:00 + 1 working day: Thursday is Nyepi, so Friday 10:00.
        let wednesday = datetime!(2026-03-18 10:00 +7);
        assert_eq!(
            due("1 hari kerja", BudgetClock::Working, wednesday),
            datetime!(2026-03-20 10:00 +7)
        );
        // Then the time part: 2 hours of working time from Friday 10:00, over lunch.
        assert_eq!(
            due("1 hari kerja 3 jam", BudgetClock::Working, wednesday),
            datetime!(2026-03-20 14:00 +7)
        );
    }

    #[test]
    fn short_forms() {
        assert_eq!(secs("30s"), Some(30));
        assert_eq!(secs("1m"), Some(60));
        assert_eq!(secs("2h"), Some(7_200));
        assert_eq!(secs("3d"), Some(259_200));
        assert_eq!(secs("1h30m"), Some(5_400));
    }

    #[test]
    fn iso_forms() {
        assert_eq!(secs("PT1M"), Some(60));
        assert_eq!(secs("PT30S"), Some(30));
        assert_eq!(secs("P1DT2H"), Some(93_600));
        assert_eq!(secs("P2D"), Some(172_800));
    }

    #[test]
    fn refuses_nonsense() {
        for bad in [
            "",
            "5",
            "m",
            "5 minutes",
            "1m1h",
            "PT",
            "P",
            "1x",
            "99999999999999999999s",
            "-1m",
            "P1DT",
        ] {
            assert_eq!(secs(bad), None, "{bad:?} should be refused");
        }
        assert!(matches!(
            "99999999999999999999s".parse::<Duration>(),
            Err(ParseDurationError::TooLong(_))
        ));
        assert!(matches!(
            "101000d".parse::<Duration>(),
            Err(ParseDurationError::TooLong(_))
        ));
    }

    /// The pattern in the schema accepts exactly what the parser does (but the 100-year
    /// bound, and the surrounding spaces and lowercase ISO units the parser tolerates).
    #[test]
    fn the_schema_pattern_agrees_with_the_parser() {
        let schema =
            serde_json::json!({"type": "string", "pattern": DURATION_PATTERN, "minLength": 2});
        let validator = jsonschema::validator_for(&schema).unwrap();
        for text in [
            "30s", "2m", "1h30m", "3d", "1d2h3m4s", "PT2M", "PT30S", "P1D", "P1DT2H", "PT1H30M",
            "P2DT5S", "", "P", "PT", "P1DT", "5", "m", "1m1h", "PT1H1H", "P1H", "1 m", "PTM",
            "P1DT1M1H",
        ] {
            assert_eq!(
                validator.is_valid(&serde_json::json!(text)),
                secs(text).is_some(),
                "{text:?}: the pattern and the parser disagree"
            );
        }
    }

    #[test]
    fn display_round_trips() {
        for text in ["30s", "2m", "1h30m", "3d", "1d2h3m4s"] {
            let d: Duration = text.parse().unwrap();
            assert_eq!(d.to_string(), text);
        }
        assert_eq!(Duration::from_secs(120).to_indonesian(), "2 menit");
    }
}
