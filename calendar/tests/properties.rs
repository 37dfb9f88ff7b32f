//! Properties of the working-time arithmetic over random calendars (random weekly hours
//! with breaks, random closures and open days around March 2026, all three zones) and
//! random instants with nanoseconds. `working_time` is the plain definition (sum the open
//! intervals that overlap); the other operations are checked against it.

#![allow(clippy::unwrap_used)]

use std::fmt::Write;
use std::time::Duration as StdDuration;

use proptest::prelude::*;
use sopflow_calendar::{Calendar, Span, Zone};
use time::macros::datetime;
use time::{Date, Duration, OffsetDateTime, Time};

/// Intervals of a day, in seconds since midnight.
type Intervals = Vec<(u32, u32)>;

/// A calendar as data, written out as a file to load.
#[derive(Debug, Clone)]
struct Spec {
    zone: Zone,
    week: Vec<Intervals>,
    /// Day offsets from 2026-03-01 and what the date is: closed, or open with hours.
    dated: Vec<(i64, Option<Intervals>)>,
}

fn clock(s: u32) -> String {
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

fn list(intervals: &[(u32, u32)]) -> String {
    let items: Vec<String> = intervals
        .iter()
        .map(|(a, b)| format!("\"{}-{}\"", clock(*a), clock(*b)))
        .collect();
    format!("[{}]", items.join(", "))
}

const DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

fn base() -> Date {
    time::macros::date!(2026 - 03 - 01)
}

impl Spec {
    fn text(&self, reversed: bool) -> String {
        let mut out = format!("zone = \"{}\"\n[hours]\n", self.zone.name());
        for (day, hours) in DAYS.iter().zip(&self.week) {
            let _ = writeln!(out, "{day} = {}", list(hours));
        }
        let mut dated: Vec<_> = self.dated.iter().collect();
        if reversed {
            dated.reverse();
        }
        for (offset, what) in dated {
            let date = base() + Duration::days(*offset);
            match what {
                None => {
                    let _ = write!(
                        out,
                        "[[closed]]\ndate = {date}\nname = \"Tutup {offset}\"\n"
                    );
                }
                Some(hours) => {
                    let _ = write!(
                        out,
                        "[[open]]\ndate = {date}\nname = \"Buka {offset}\"\nhours = {}\n",
                        list(hours)
                    );
                }
            }
        }
        out
    }

    fn calendar(&self) -> Calendar {
        Calendar::parse("random.toml", &self.text(false))
            .unwrap_or_else(|e| panic!("{e}\n{}", self.text(false)))
    }
}

/// 0 to 3 intervals: sorted distinct cut points, taken in pairs.
fn day_hours(max: usize) -> impl Strategy<Value = Vec<(u32, u32)>> {
    prop::collection::btree_set(0u32..=86_400, 0..=2 * max).prop_map(|points| {
        let points: Vec<u32> = points.into_iter().collect();
        points.chunks_exact(2).map(|p| (p[0], p[1])).collect()
    })
}

fn spec() -> impl Strategy<Value = Spec> {
    let zone = prop::sample::select(Zone::ALL.to_vec());
    let week = prop::collection::vec(day_hours(3), 7);
    let dated = prop::collection::btree_map(
        -40i64..40,
        prop::option::weighted(
            0.6,
            day_hours(2).prop_filter("an open day has hours", |h| !h.is_empty()),
        ),
        0..12,
    );
    (zone, week, dated).prop_map(|(zone, mut week, dated)| {
        if week.iter().all(Vec::is_empty) {
            week[0] = vec![(8 * 3600, 16 * 3600)];
        }
        Spec {
            zone,
            week,
            dated: dated.into_iter().collect(),
        }
    })
}

/// An instant within a month of the dated entries, with or without nanoseconds.
fn instant() -> impl Strategy<Value = OffsetDateTime> {
    (
        -30i64 * 86_400..30 * 86_400,
        prop::option::of(0u32..1_000_000_000),
    )
        .prop_map(|(s, n)| {
            datetime!(2026-03-01 00:00 UTC)
                + Duration::seconds(s)
                + Duration::nanoseconds(i64::from(n.unwrap_or(0)))
        })
}

fn std(d: Duration) -> StdDuration {
    StdDuration::try_from(d).unwrap()
}

fn local_midnight(c: &Calendar, t: OffsetDateTime) -> OffsetDateTime {
    let local = t.to_offset(c.zone().offset());
    local.replace_time(Time::MIDNIGHT)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn working_time_adds_up(spec in spec(), a in instant(), b in instant(), c in instant()) {
        let cal = spec.calendar();
        let (ab, bc, ac) = (cal.working_time(a, b), cal.working_time(b, c), cal.working_time(a, c));
        prop_assert_eq!(ab + bc, ac);
        prop_assert_eq!(cal.working_time(b, a), -ab);
        let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
        let w = cal.working_time(lo, hi);
        prop_assert!(w >= Duration::ZERO && w <= hi - lo);
    }

    #[test]
    fn the_next_opening_is_the_first_open_instant(spec in spec(), t in instant()) {
        let cal = spec.calendar();
        let next = cal.next_open(t).unwrap();
        prop_assert!(next >= t);
        prop_assert!(cal.is_open(next));
        prop_assert_eq!(cal.working_time(t, next), Duration::ZERO);
        if next > t {
            prop_assert!(!cal.is_open(t));
            prop_assert!(!cal.is_open(next - Duration::nanoseconds(1)));
        }
    }

    /// The due time of a working-time budget is the earliest instant by which exactly that
    /// much open time has passed.
    #[test]
    fn working_time_budgets_are_due_at_the_earliest_instant(
        spec in spec(), t in instant(), seconds in 0u64..400_000, nanos in 0u32..1_000_000_000,
    ) {
        let cal = spec.calendar();
        let budget = StdDuration::new(seconds, if nanos % 2 == 0 { 0 } else { nanos });
        let due = cal.due(t, Span::Working(budget)).unwrap();
        prop_assert!(due >= t);
        prop_assert_eq!(std(cal.working_time(t, due)), budget);
        if !budget.is_zero() {
            let just_before = due - Duration::nanoseconds(1);
            prop_assert!(std(cal.working_time(t, just_before)) < budget);
            prop_assert!(cal.is_open(just_before), "the last moment counted was open");
        }
    }

    /// The budget of exactly the open time up to `u` is due at `u`, or earlier when `u` is
    /// in a closed stretch: at the closing before it, not the opening after it.
    #[test]
    fn the_open_time_up_to_an_instant_is_due_by_then(spec in spec(), t in instant(), u in instant()) {
        let cal = spec.calendar();
        let (t, u) = if t <= u { (t, u) } else { (u, t) };
        let budget = std(cal.working_time(t, u));
        let due = cal.due(t, Span::Working(budget)).unwrap();
        prop_assert!(due <= u);
        prop_assert_eq!(cal.working_time(due, u), Duration::ZERO);
    }

    #[test]
    fn a_later_start_is_never_due_earlier(
        spec in spec(), a in instant(), b in instant(), seconds in 0u64..200_000, days in 0u32..12,
    ) {
        let cal = spec.calendar();
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        for span in [Span::Working(StdDuration::from_secs(seconds)), Span::WorkingDays(days)] {
            prop_assert!(cal.due(a, span).unwrap() <= cal.due(b, span).unwrap(), "{:?}", span);
        }
    }

    /// `n` working days: on the `n`-th working day after the start's (next open) day, at the
    /// start's time of day clamped into that day's hours without losing or adding open time.
    #[test]
    fn working_days_budgets(spec in spec(), t in instant(), n in 1u32..15) {
        let cal = spec.calendar();
        let due = cal.due(t, Span::WorkingDays(n)).unwrap();
        let start = cal.next_open(t).unwrap();
        let zone = cal.zone().offset();
        let (first, last) = (start.to_offset(zone).date(), due.to_offset(zone).date());
        prop_assert!(cal.is_working_day(last));
        let mut counted = 0;
        let mut day = first;
        while day < last {
            day = day.next_day().unwrap();
            counted += u32::from(cal.is_working_day(day));
        }
        prop_assert_eq!(counted, n);
        let midnight = local_midnight(&cal, due);
        let time_of_day = start - local_midnight(&cal, start);
        prop_assert_eq!(
            cal.working_time(midnight, due),
            cal.working_time(midnight, midnight + time_of_day)
        );
        // The due instant is the time of day itself, or a bound of an interval of the day.
        let bounds: Vec<Duration> = cal
            .hours_on(last)
            .intervals()
            .iter()
            .flat_map(|i| [i.start(), i.end()])
            .map(|s| Duration::seconds(i64::from(s)))
            .collect();
        prop_assert!(due - midnight == time_of_day || bounds.contains(&(due - midnight)));
    }

    #[test]
    fn always_open_is_clock_time(t in instant(), seconds in 0u64..10_000_000, n in 0u32..400) {
        let cal = Calendar::always_open();
        let d = StdDuration::from_secs(seconds);
        prop_assert_eq!(cal.due(t, Span::Working(d)).unwrap(), t + d);
        prop_assert_eq!(cal.due(t, Span::Clock(d)).unwrap(), t + d);
        prop_assert_eq!(cal.due(t, Span::WorkingDays(n)).unwrap(), t + Duration::days(i64::from(n)));
        prop_assert_eq!(cal.due(t, Span::Days(n)).unwrap(), t + Duration::days(i64::from(n)));
    }

    /// An always-open calendar computes working time as clock time without walking the days;
    /// the same hours with a dated entry (which turns that shortcut off) give the same dues.
    #[test]
    fn the_continuous_shortcut_agrees_with_the_walk(
        zone in prop::sample::select(Zone::ALL.to_vec()), t in instant(),
        seconds in 0u64..2_000_000, nanos in 0u32..1_000_000_000,
    ) {
        let mut text = format!("zone = \"{}\"\n[hours]\n", zone.name());
        for day in DAYS {
            let _ = writeln!(text, "{day} = [\"00:00-24:00\"]");
        }
        let continuous = Calendar::parse("continuous.toml", &text).unwrap();
        text.push_str("[[open]]\ndate = 2030-01-01\nname = \"Buka\"\nhours = [\"00:00-24:00\"]\n");
        let walked = Calendar::parse("walked.toml", &text).unwrap();
        let budget = StdDuration::new(seconds, nanos);
        let due = continuous.due(t, Span::Working(budget)).unwrap();
        prop_assert_eq!(due, walked.due(t, Span::Working(budget)).unwrap());
        prop_assert_eq!(due, t + budget);
    }

    /// The canonical form loads back to the same calendar; the order entries are written in
    /// does not change the hash, a changed second of an hour does.
    #[test]
    fn the_canonical_form_and_the_hash(spec in spec()) {
        let cal = spec.calendar();
        let again = Calendar::parse("canonical.toml", cal.canonical()).unwrap();
        prop_assert_eq!(&again, &cal);
        prop_assert_eq!(again.canonical(), cal.canonical());
        let reordered = Calendar::parse("reordered.toml", &spec.text(true)).unwrap();
        prop_assert_eq!(reordered.content_hash(), cal.content_hash());
        let mut changed = spec.clone();
        let day = changed.week.iter().position(|h| !h.is_empty()).unwrap();
        let (start, end) = changed.week[day][0];
        if end - start > 1 {
            // Closing one second earlier.
            changed.week[day][0] = (start, end - 1);
            let other = Calendar::parse("changed.toml", &changed.text(false)).unwrap();
            prop_assert_ne!(other.content_hash(), cal.content_hash());
        }
    }
}
