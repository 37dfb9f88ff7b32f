//! Working-time arithmetic on the example office calendar (`calendars/contoh-kantor.toml`:
//! Mon–Thu 08:00–12:00 and 13:00–16:00, Fri 08:00–11:30 and 13:30–16:30, WIB, on the 2026
//! national calendar), each expectation worked out by hand in its comment.

use std::path::Path;
use std::time::Duration as StdDuration;

use sopflow_calendar::{Calendar, CalendarError, DayStatus, Library, Span, Zone};
use time::macros::{date, datetime};
use time::{Duration, OffsetDateTime};

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../calendars")
        .join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn library() -> Library {
    let mut library = Library::new();
    for id in ["nasional-2026", "contoh-kantor", "contoh-kantor-loket-2"] {
        library.insert(id, format!("{id}.toml"), read(&format!("{id}.toml")));
    }
    library
}

fn office() -> Calendar {
    library()
        .load("contoh-kantor")
        .unwrap_or_else(|e| panic!("{e}"))
}

fn minutes(n: u64) -> StdDuration {
    StdDuration::from_secs(n * 60)
}

#[test]
fn open_at_an_instant_to_the_second() {
    let c = office();
    // Thursday 12 March 2026.
    assert!(!c.is_open(datetime!(2026-03-12 07:59:59 +7)));
    assert!(c.is_open(datetime!(2026-03-12 08:00:00 +7)));
    assert!(c.is_open(datetime!(2026-03-12 11:59:59.999 +7)));
    assert!(!c.is_open(datetime!(2026-03-12 12:00:00 +7)), "lunch break");
    assert!(c.is_open(datetime!(2026-03-12 13:00:00 +7)));
    assert!(
        !c.is_open(datetime!(2026-03-12 16:00:00 +7)),
        "closes at 16:00:00"
    );
    // The same instant written in UTC.
    assert!(c.is_open(datetime!(2026-03-12 01:00:00 UTC)));
    assert!(!c.is_open(datetime!(2026-03-12 00:59:59 UTC)));
    // Friday closes later; Saturday is closed.
    assert!(c.is_open(datetime!(2026-03-13 16:29:59 +7)));
    assert!(
        !c.is_open(datetime!(2026-03-13 12:00:00 +7)),
        "Friday prayer"
    );
    assert!(!c.is_open(datetime!(2026-03-14 10:00:00 +7)));
    // Nyepi (libur nasional) and the cuti bersama before it, both weekdays.
    assert!(!c.is_open(datetime!(2026-03-19 10:00:00 +7)));
    assert!(!c.is_open(datetime!(2026-03-18 10:00:00 +7)));
    // The office's own closure, its open Saturday, and the cuti bersama day it stays open.
    assert!(!c.is_open(datetime!(2026-07-10 10:00:00 +7)));
    assert!(c.is_open(datetime!(2026-08-08 11:59:59 +7)));
    assert!(!c.is_open(datetime!(2026-08-08 12:00:00 +7)));
    assert!(
        c.is_open(datetime!(2026-05-15 16:00:00 +7)),
        "usual Friday hours"
    );
}

#[test]
fn the_status_of_a_day_says_why() {
    let c = office();
    assert!(matches!(
        c.status(date!(2026-03-19)),
        DayStatus::Closed(closure) if closure.name == "Hari Suci Nyepi (Tahun Baru Saka 1948)"
    ));
    assert!(matches!(
        c.status(date!(2026-05-15)),
        DayStatus::Opened(opening) if opening.hours.to_string() == "08:00-11:30, 13:30-16:30"
    ));
    assert!(matches!(c.status(date!(2026-03-14)), DayStatus::Regular(h) if h.is_closed()));
    assert!(c.is_working_day(date!(2026 - 03 - 13)));
    assert!(!c.is_working_day(date!(2026 - 03 - 20)));
}

#[test]
fn the_next_opening() {
    let c = office();
    let open = datetime!(2026-03-12 09:30:15.5 +7);
    assert_eq!(c.next_open(open), Ok(open), "open: the instant itself");
    assert_eq!(
        c.next_open(datetime!(2026-03-12 12:30 +7)),
        Ok(datetime!(2026-03-12 13:00 +7))
    );
    assert_eq!(
        c.next_open(datetime!(2026-03-12 06:00 +7)),
        Ok(datetime!(2026-03-12 08:00 +7))
    );
    // Friday after closing: Monday morning.
    assert_eq!(
        c.next_open(datetime!(2026-03-13 16:30 +7)),
        Ok(datetime!(2026-03-16 08:00 +7))
    );
    // Tuesday 17 March after closing: 18 cuti bersama, 19 Nyepi, 20 cuti bersama, 21–22
    // Idul Fitri on the weekend, 23–24 cuti bersama: Wednesday 25 March.
    assert_eq!(
        c.next_open(datetime!(2026-03-17 16:00 +7)),
        Ok(datetime!(2026-03-25 08:00 +7))
    );
}

#[test]
fn working_time_between_two_instants() {
    let c = office();
    let monday = datetime!(2026-03-09 08:00 +7);
    // A Monday is 7 hours (4 + 3).
    assert_eq!(
        c.working_time(monday, datetime!(2026-03-10 08:00 +7)),
        Duration::hours(7)
    );
    // Mon–Thu 4 × 7 h + Friday 3.5 + 3 h = 34.5 h a week.
    assert_eq!(
        c.working_time(monday, datetime!(2026-03-16 08:00 +7)),
        Duration::minutes(34 * 60 + 30)
    );
    // Across the lunch break, to the nanosecond.
    assert_eq!(
        c.working_time(
            datetime!(2026-03-09 11:59:59.25 +7),
            datetime!(2026-03-09 13:00:01 +7)
        ),
        Duration::milliseconds(1750)
    );
    // Backwards is negative: time left to a due time already passed.
    assert_eq!(
        c.working_time(datetime!(2026-03-10 08:00 +7), monday),
        -Duration::hours(7)
    );
    // Over Nyepi and Lebaran (17 March 16:00 to 25 March 08:00) nothing is open.
    assert_eq!(
        c.working_time(
            datetime!(2026-03-17 16:00 +7),
            datetime!(2026-03-25 08:00 +7)
        ),
        Duration::ZERO
    );
}

/// The issue's example: a 2-minute budget entered one minute before closing is due one
/// minute after the next working morning opens.
#[test]
fn two_minutes_one_minute_before_closing() {
    let c = office();
    assert_eq!(
        c.due(datetime!(2026-03-12 15:59 +7), Span::Working(minutes(2))),
        Ok(datetime!(2026-03-13 08:01 +7))
    );
    // Before the Lebaran closures the next working morning is 25 March.
    assert_eq!(
        c.due(datetime!(2026-03-17 15:59 +7), Span::Working(minutes(2))),
        Ok(datetime!(2026-03-25 08:01 +7))
    );
    // Over the lunch break.
    assert_eq!(
        c.due(datetime!(2026-03-12 11:59 +7), Span::Working(minutes(2))),
        Ok(datetime!(2026-03-12 13:01 +7))
    );
    // A budget that runs out exactly at closing is due at closing, not next morning.
    assert_eq!(
        c.due(datetime!(2026-03-12 15:59 +7), Span::Working(minutes(1))),
        Ok(datetime!(2026-03-12 16:00 +7))
    );
    // Started while closed: counted from the opening.
    assert_eq!(
        c.due(datetime!(2026-03-14 10:00 +7), Span::Working(minutes(2))),
        Ok(datetime!(2026-03-16 08:02 +7))
    );
    // Clock time does not care.
    assert_eq!(
        c.due(datetime!(2026-03-12 15:59 +7), Span::Clock(minutes(2))),
        Ok(datetime!(2026-03-12 16:01 +7))
    );
}

/// `14 hari kerja` across a weekend, a national holiday and cuti bersama days.
#[test]
fn fourteen_working_days() {
    let c = office();
    // From Monday 9 March 10:00 the working days are: Tue 10 (1), Wed 11 (2), Thu 12 (3),
    // Fri 13 (4), Mon 16 (5), Tue 17 (6); then 18 cuti bersama, 19 Nyepi, 20 cuti bersama,
    // 21–22 Idul Fitri (a weekend), 23–24 cuti bersama; Wed 25 (7), Thu 26 (8), Fri 27 (9),
    // Mon 30 (10), Tue 31 (11), Wed 1 April (12), Thu 2 April (13); Fri 3 April is Wafat
    // Yesus Kristus and 4–5 a weekend (Paskah on the Sunday): Mon 6 April (14), at 10:00.
    assert_eq!(
        c.due(datetime!(2026-03-09 10:00 +7), Span::WorkingDays(14)),
        Ok(datetime!(2026-04-06 10:00 +7))
    );
    // Handed in on Saturday: counted from Monday's opening, due on the 14th working day after
    // it at 08:00 (which is, in open time, the end of the 14th full working day).
    assert_eq!(
        c.due(datetime!(2026-03-07 10:00 +7), Span::WorkingDays(14)),
        Ok(datetime!(2026-04-06 08:00 +7))
    );
    // After closing on Monday: from Tuesday's opening.
    assert_eq!(
        c.due(datetime!(2026-03-09 17:00 +7), Span::WorkingDays(1)),
        Ok(datetime!(2026-03-11 08:00 +7))
    );
    // Friday 16:15 (open until 16:30): Monday closes at 16:00, so due then.
    assert_eq!(
        c.due(datetime!(2026-03-13 16:15 +7), Span::WorkingDays(1)),
        Ok(datetime!(2026-03-16 16:00 +7))
    );
    // Thursday 11:45: Friday is closed at 11:45 (its break starts 11:30), so due at 11:30.
    assert_eq!(
        c.due(datetime!(2026-03-12 11:45 +7), Span::WorkingDays(1)),
        Ok(datetime!(2026-03-13 11:30 +7))
    );
    // Wednesday 1 April 08:00 plus 1: Thursday 2 April 08:00.
    assert_eq!(
        c.due(datetime!(2026-04-01 08:00 +7), Span::WorkingDays(1)),
        Ok(datetime!(2026-04-02 08:00 +7))
    );
    assert_eq!(
        c.due(datetime!(2026-03-09 10:00 +7), Span::WorkingDays(0)),
        Ok(datetime!(2026-03-09 10:00 +7))
    );
}

#[test]
fn calendar_days_ignore_closures() {
    let c = office();
    // `3 hari` from Thursday 10:00: Sunday 10:00, though the office is closed.
    assert_eq!(
        c.due(datetime!(2026-03-12 10:00 +7), Span::Days(3)),
        Ok(datetime!(2026-03-15 10:00 +7))
    );
}

#[test]
fn a_counter_with_its_own_hours_keeps_the_office_days() {
    let loket = library()
        .load("contoh-kantor-loket-2")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loket.zone(), Zone::Wib);
    assert!(loket.is_open(datetime!(2026-03-13 11:59 +7)));
    assert!(!loket.is_open(datetime!(2026-03-13 13:30 +7)));
    assert!(!loket.is_open(datetime!(2026-03-19 09:00 +7)), "Nyepi");
    assert!(
        !loket.is_open(datetime!(2026-07-09 09:00 +7)),
        "the office's closure"
    );
    // The cuti bersama day the office opens with its usual hours: the counter's usual hours.
    assert!(loket.is_open(datetime!(2026-05-15 09:00 +7)));
    assert!(!loket.is_open(datetime!(2026-05-15 14:00 +7)));
    assert_ne!(loket.content_hash(), office().content_hash());
}

#[test]
fn the_same_hours_in_another_zone() {
    let text =
        |zone: &str| format!("zone = \"{zone}\"\n[hours]\nmonday-friday = \"08:00-16:00\"\n");
    let wib = Calendar::parse("wib.toml", &text("WIB")).unwrap();
    let wita = Calendar::parse("wita.toml", &text("WITA")).unwrap();
    let wit = Calendar::parse("wit.toml", &text("Asia/Jayapura")).unwrap();
    assert_eq!(wit.zone(), Zone::Wit);
    // 08:00 WITA is 07:00 WIB and 00:00 UTC.
    let instant = datetime!(2026-03-12 00:00 UTC);
    assert!(!wib.is_open(instant));
    assert!(wita.is_open(instant));
    assert!(wit.is_open(instant));
    assert_eq!(
        wita.next_open(datetime!(2026-03-11 23:00 UTC)),
        Ok(datetime!(2026-03-12 08:00 +8))
    );
    assert_ne!(wib.content_hash(), wita.content_hash());
}

#[test]
fn a_calendar_that_stops_opening_gives_an_error_not_a_hang() {
    // No weekly hours, one open day: after it there is no working time at all.
    let c = Calendar::parse(
        "once.toml",
        "zone = \"WIB\"\n[hours]\n[[open]]\ndate = 2026-06-06\nname = \"Sekali\"\nhours = \"08:00-12:00\"\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let before = datetime!(2026-06-01 10:00 +7);
    assert_eq!(c.next_open(before), Ok(datetime!(2026-06-06 08:00 +7)));
    assert_eq!(
        c.due(before, Span::Working(minutes(60))),
        Ok(datetime!(2026-06-06 09:00 +7))
    );
    let after = datetime!(2026-06-06 12:00 +7);
    let never = Err(CalendarError::NoWorkingTime { after });
    assert_eq!(c.next_open(after), never);
    assert_eq!(c.due(after, Span::Working(minutes(1))), never);
    assert_eq!(c.due(after, Span::WorkingDays(1)), never);
    assert_eq!(
        c.due(before, Span::Working(minutes(5 * 60))),
        Err(CalendarError::NoWorkingTime { after: before }),
        "more working time than the calendar has left"
    );
    assert_eq!(c.due(after, Span::Days(2)), Ok(after + Duration::days(2)));
    // A file whose days never open is refused when it is loaded.
    let refused =
        Calendar::parse("never.toml", "zone = \"WIB\"\n[hours]\nmonday = []\n").unwrap_err();
    assert_eq!(
        refused.to_string(),
        "never.toml:2:2: hours: the calendar never opens: [hours] gives no day any hours and no [[open]] day is listed"
    );
}

#[test]
fn always_open_is_the_wall_clock() {
    let c = Calendar::always_open();
    let t = datetime!(2026-03-12 15:59:30.123 +7);
    assert!(c.is_open(t));
    assert_eq!(
        c.due(t, Span::Working(minutes(2))),
        Ok(t + Duration::minutes(2))
    );
    assert_eq!(c.due(t, Span::WorkingDays(14)), Ok(t + Duration::days(14)));
    assert_eq!(
        c.working_time(t, datetime!(2026-03-20 00:00 UTC)),
        datetime!(2026-03-20 00:00 UTC) - t
    );
}

#[test]
fn a_due_time_past_year_9999_is_an_error() {
    let c = Calendar::always_open();
    let late: OffsetDateTime = datetime!(9999-12-30 10:00 UTC);
    assert_eq!(c.due(late, Span::Days(5)), Err(CalendarError::OutOfRange));
    assert_eq!(
        c.due(late, Span::Working(StdDuration::from_secs(5 * 86_400))),
        Err(CalendarError::OutOfRange)
    );
    assert_eq!(
        c.due(late, Span::Clock(StdDuration::from_secs(5 * 86_400))),
        Err(CalendarError::OutOfRange)
    );
}

/// The README shows the example calendars: they must be these files, to the hash.
#[test]
fn the_readme_shows_the_example_calendars() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md"))
            .unwrap_or_else(|e| panic!("cannot read README.md: {e}"));
    let mut shown = Library::new();
    shown.insert(
        "nasional-2026",
        "nasional-2026.toml",
        read("nasional-2026.toml"),
    );
    let mut found = Vec::new();
    for block in readme.split("```toml\n").skip(1) {
        let block = block.split("```").next().unwrap_or_default();
        let Some(id) = block
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("# calendars/"))
            .and_then(|l| l.split(".toml").next())
        else {
            continue;
        };
        shown.insert(id, format!("README.md ({id})"), block);
        found.push(id.to_owned());
    }
    assert_eq!(found, ["contoh-kantor", "contoh-kantor-loket-2"]);
    for id in found {
        let in_readme = shown.load(&id).unwrap_or_else(|e| panic!("{e}"));
        let shipped = library().load(&id).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(in_readme.content_hash(), shipped.content_hash(), "{id}");
    }
}
