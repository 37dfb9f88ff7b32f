//! `calendars/nasional-2026.toml` holds exactly the days of the 2026 SKB 3 Menteri as
//! `calendars/sources/skb-libur-2026.txt` lists them.
//!
//! The source is parsed here, not copied: the test knows its layout (a heading, then
//! tab-separated rows `No. Tanggal Hari Keterangan` written as the decree's table is, dates in
//! Indonesian), never the expected dates. It checks each row's weekday against its date, the
//! counts the decree gives (17 holidays, 8 cuti bersama days) and that the data file has one
//! closure per row, of the row's kind, named after it (a cuti bersama day as
//! `Cuti Bersama <Keterangan>`), and nothing else.

use std::path::Path;

use sopflow_calendar::{ClosureKind, Library};
use time::{Date, Month, Weekday};

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

const SOURCE: &str = "../calendars/sources/skb-libur-2026.txt";
const DATA: &str = "../calendars/nasional-2026.toml";

const BULAN: [(&str, Month); 12] = [
    ("Januari", Month::January),
    ("Februari", Month::February),
    ("Maret", Month::March),
    ("April", Month::April),
    ("Mei", Month::May),
    ("Juni", Month::June),
    ("Juli", Month::July),
    ("Agustus", Month::August),
    ("September", Month::September),
    ("Oktober", Month::October),
    ("November", Month::November),
    ("Desember", Month::December),
];

const HARI: [(&str, Weekday); 7] = [
    ("Senin", Weekday::Monday),
    ("Selasa", Weekday::Tuesday),
    ("Rabu", Weekday::Wednesday),
    ("Kamis", Weekday::Thursday),
    ("Jumat", Weekday::Friday),
    ("Sabtu", Weekday::Saturday),
    ("Minggu", Weekday::Sunday),
];

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct Row {
    date: Date,
    kind: ClosureKind,
    name: String,
}

/// `21 Maret 2026`.
fn tanggal(text: &str) -> Date {
    let parts: Vec<&str> = text.split_whitespace().collect();
    let [day, month, year] = parts.as_slice() else {
        panic!("{text:?} is not `day month year`");
    };
    let month = BULAN
        .iter()
        .find(|(name, _)| name == month)
        .map(|(_, m)| *m)
        .unwrap_or_else(|| panic!("{month:?} is not a month"));
    let year: i32 = year.parse().unwrap_or_else(|_| panic!("year in {text:?}"));
    let day: u8 = day.parse().unwrap_or_else(|_| panic!("day in {text:?}"));
    Date::from_calendar_date(year, month, day).unwrap_or_else(|e| panic!("{text:?}: {e}"))
}

fn source_rows() -> Vec<Row> {
    let text = read(SOURCE);
    let mut kind = None;
    let mut rows = Vec::new();
    let mut numbers = Vec::new();
    for line in text.lines() {
        match line.trim() {
            "LIBUR NASIONAL" => {
                kind = Some(ClosureKind::LiburNasional);
                numbers.clear();
                continue;
            }
            "CUTI BERSAMA" => {
                kind = Some(ClosureKind::CutiBersama);
                numbers.clear();
                continue;
            }
            _ => {}
        }
        let Some(kind) = kind else { continue };
        let cells: Vec<&str> = line.split('\t').map(str::trim).collect();
        if cells[0] == "No." || line.trim().is_empty() {
            continue;
        }
        let [number, date, weekday, name] = cells.as_slice() else {
            panic!("a row of the source has four cells: {line:?}");
        };
        let number: u32 = number
            .parse()
            .unwrap_or_else(|_| panic!("row number in {line:?}"));
        assert_eq!(
            number as usize,
            numbers.len() + 1,
            "rows are numbered 1, 2, ...: {line:?}"
        );
        numbers.push(number);
        let date = tanggal(date);
        let (_, expected) = HARI
            .iter()
            .find(|(h, _)| h == weekday)
            .unwrap_or_else(|| panic!("{weekday:?} is not a weekday"));
        assert_eq!(
            date.weekday(),
            *expected,
            "{line:?}: the weekday does not match the date"
        );
        rows.push(Row {
            date,
            kind,
            name: (*name).to_owned(),
        });
    }
    rows
}

#[test]
fn the_source_lists_17_holidays_and_8_cuti_bersama_days() {
    let rows = source_rows();
    let count = |k| rows.iter().filter(|r| r.kind == k).count();
    assert_eq!(count(ClosureKind::LiburNasional), 17);
    assert_eq!(count(ClosureKind::CutiBersama), 8);
    let mut dates: Vec<Date> = rows.iter().map(|r| r.date).collect();
    dates.sort();
    dates.dedup();
    assert_eq!(dates.len(), 25, "a date is listed twice");
    assert!(rows.iter().all(|r| r.date.year() == 2026));
}

#[test]
fn the_data_file_holds_exactly_the_decree_days() {
    // The national calendar has no zone or hours of its own: an office calendar includes it.
    let mut library = Library::new();
    library.insert("nasional-2026", "nasional-2026.toml", read(DATA));
    library.insert(
        "office",
        "office.toml",
        "zone = \"WIB\"\ninclude = [\"nasional-2026\"]\n[hours]\nmonday-friday = \"08:00-16:00\"\n",
    );
    let calendar = library.load("office").unwrap_or_else(|e| panic!("{e}"));
    let mut data: Vec<Row> = calendar
        .closures()
        .map(|(date, closure)| Row {
            date,
            kind: closure.kind,
            name: closure.name.clone(),
        })
        .collect();
    let mut expected: Vec<Row> = source_rows()
        .into_iter()
        .map(|mut r| {
            if r.kind == ClosureKind::CutiBersama {
                r.name = format!("Cuti Bersama {}", r.name);
            }
            r
        })
        .collect();
    data.sort();
    expected.sort();
    assert_eq!(data, expected);
    assert_eq!(calendar.openings().count(), 0);
}
