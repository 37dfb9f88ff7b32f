//! Opening hours of one day: intervals of local time, to the second.

use std::fmt;

/// Seconds in a local day (no DST in Indonesia: every day has exactly this many).
pub const DAY: u32 = 86_400;

/// An opening interval of a day, `[start, end)` in seconds since local midnight: open at
/// `start`, closed again at `end` (`16:00` closes at 16:00:00 sharp). `end` may be `24:00`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Interval {
    start: u32,
    end: u32,
}

impl Interval {
    /// `None` unless `start < end <= 24:00`.
    pub fn new(start: u32, end: u32) -> Option<Self> {
        (start < end && end <= DAY).then_some(Self { start, end })
    }

    pub fn start(self) -> u32 {
        self.start
    }

    pub fn end(self) -> u32 {
        self.end
    }

    pub fn seconds(self) -> u32 {
        self.end - self.start
    }

    /// `08:00-16:00` (`08.00-16.00` and an en dash are accepted too, as offices write them;
    /// seconds when needed: `07:59:30-12:00`).
    pub fn parse(text: &str) -> Result<Self, String> {
        let trimmed = text.trim();
        let Some((from, to)) = trimmed
            .split_once('-')
            .or_else(|| trimmed.split_once('\u{2013}'))
        else {
            return Err(format!(
                "{text:?} is not an interval: write it as `08:00-16:00`"
            ));
        };
        let start = parse_clock(from.trim())
            .ok_or_else(|| format!("{:?} is not a time of day such as `08:00`", from.trim()))?;
        let end = parse_clock(to.trim())
            .ok_or_else(|| format!("{:?} is not a time of day such as `16:00`", to.trim()))?;
        if start == DAY {
            return Err(format!(
                "{text:?} starts at 24:00, the end of the day: a day's hours start before it"
            ));
        }
        Self::new(start, end).ok_or_else(|| {
            format!(
                "{text:?} ends before it starts: an interval lies within one day (split a night at 24:00)"
            )
        })
    }
}

/// `HH:MM` or `HH:MM:SS` (or with `.`), `00:00` to `24:00`.
fn parse_clock(text: &str) -> Option<u32> {
    let parts: Vec<&str> = text.split([':', '.']).collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let number = |part: &str, max: u32| -> Option<u32> {
        if part.len() != 2 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        part.parse().ok().filter(|&n| n <= max)
    };
    let h = number(parts[0], 24)?;
    let m = number(parts[1], 59)?;
    let s = match parts.get(2) {
        Some(p) => number(p, 59)?,
        None => 0,
    };
    let total = h * 3600 + m * 60 + s;
    (total <= DAY).then_some(total)
}

pub(crate) fn format_clock(seconds: u32) -> String {
    let (h, m, s) = (seconds / 3600, seconds / 60 % 60, seconds % 60);
    if s == 0 {
        format!("{h:02}:{m:02}")
    } else {
        format!("{h:02}:{m:02}:{s:02}")
    }
}

impl fmt::Display for Interval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", format_clock(self.start), format_clock(self.end))
    }
}

/// A day's opening hours: intervals in order, neither overlapping nor touching (touching
/// intervals are one). Empty: closed all day.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Hours(Vec<Interval>);

impl Hours {
    /// Closed all day.
    pub const fn closed() -> Self {
        Self(Vec::new())
    }

    /// Open around the clock.
    pub fn all_day() -> Self {
        Self(vec![Interval { start: 0, end: DAY }])
    }

    /// Orders the intervals and joins touching ones (`08:00-12:00`, `12:00-16:00` is
    /// `08:00-16:00`). Overlapping intervals are refused: the two that overlap, by index.
    pub fn new(mut intervals: Vec<Interval>) -> Result<Self, (usize, usize)> {
        let mut order: Vec<usize> = (0..intervals.len()).collect();
        order.sort_by_key(|&i| intervals[i]);
        for pair in order.windows(2) {
            let (a, b) = (intervals[pair[0]], intervals[pair[1]]);
            if b.start < a.end {
                return Err((pair[0].min(pair[1]), pair[0].max(pair[1])));
            }
        }
        intervals.sort();
        let mut joined: Vec<Interval> = Vec::with_capacity(intervals.len());
        for interval in intervals {
            match joined.last_mut() {
                Some(last) if last.end == interval.start => last.end = interval.end,
                _ => joined.push(interval),
            }
        }
        Ok(Self(joined))
    }

    pub fn intervals(&self) -> &[Interval] {
        &self.0
    }

    pub fn is_closed(&self) -> bool {
        self.0.is_empty()
    }

    /// Open seconds in the day.
    pub fn seconds(&self) -> u32 {
        self.0.iter().map(|i| i.seconds()).sum()
    }
}

impl fmt::Display for Hours {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            return f.write_str("closed");
        }
        for (i, interval) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{interval}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iv(text: &str) -> Interval {
        Interval::parse(text).unwrap()
    }

    #[test]
    fn intervals_parse_as_offices_write_them() {
        assert_eq!(
            iv("08:00-16:00"),
            Interval::new(8 * 3600, 16 * 3600).unwrap()
        );
        assert_eq!(
            iv("08.00-16.30"),
            Interval::new(8 * 3600, 16 * 3600 + 1800).unwrap()
        );
        assert_eq!(iv("08.00 \u{2013} 16.00"), iv("08:00-16:00"));
        assert_eq!(iv("07:59:30-24:00").start(), 7 * 3600 + 59 * 60 + 30);
        assert_eq!(iv("00:00-24:00").seconds(), DAY);
        assert_eq!(iv("07:59:30-12:00").to_string(), "07:59:30-12:00");
        assert_eq!(iv("08.00-16.30").to_string(), "08:00-16:30");
    }

    #[test]
    fn bad_intervals_say_why() {
        for (text, says) in [
            ("08:00", "is not an interval"),
            ("8:00-16:00", "\"8:00\" is not a time of day"),
            ("08:00-16:60", "\"16:60\" is not a time of day"),
            ("08:00-24:01", "\"24:01\" is not a time of day"),
            ("25:00-26:00", "\"25:00\" is not a time of day"),
            ("16:00-08:00", "ends before it starts"),
            ("08:00-08:00", "ends before it starts"),
            ("24:00-24:00", "starts at 24:00"),
            ("08:00-16:00-17:00", "\"16:00-17:00\" is not a time of day"),
        ] {
            let message = Interval::parse(text).unwrap_err();
            assert!(message.contains(says), "{text}: {message}");
        }
    }

    #[test]
    fn hours_order_join_and_refuse_overlaps() {
        let hours = Hours::new(vec![iv("13:00-16:00"), iv("08:00-12:00")]).unwrap();
        assert_eq!(hours.to_string(), "08:00-12:00, 13:00-16:00");
        assert_eq!(hours.seconds(), 7 * 3600);
        let joined = Hours::new(vec![iv("12:00-16:00"), iv("08:00-12:00")]).unwrap();
        assert_eq!(joined.to_string(), "08:00-16:00");
        assert_eq!(
            Hours::new(vec![
                iv("08:00-12:00"),
                iv("13:00-14:00"),
                iv("11:00-13:30")
            ]),
            Err((0, 2))
        );
        assert!(Hours::closed().is_closed());
        assert_eq!(Hours::all_day().seconds(), DAY);
    }
}
