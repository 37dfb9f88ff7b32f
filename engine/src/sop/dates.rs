//! Dates as SOP headers write them (`Tanggal Efektif: 1 Juni 2021`, `Mei 2021`,
//! `2026-12-01`), read into calendar dates where they can be.

use time::{Date, Month};

/// The date a text names: ISO `2026-12-01`, `1 Juni 2021` / `01/06/2021` / `01-06-2021`
/// (day first, as Indonesian offices write), or a month and year, `Mei 2021`, taken as its
/// first day. Month names in Bahasa Indonesia or English, full or short, any case. `None`
/// for anything else: such a date is shown as written and schedules nothing.
pub fn parse_date(text: &str) -> Option<Date> {
    let text = text.trim();
    if let Some(date) = numeric(text) {
        return Some(date);
    }
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    match words.as_slice() {
        [day, month, year] => {
            let day: u8 = day.trim_end_matches('.').parse().ok()?;
            Date::from_calendar_date(year.parse().ok()?, month_named(month)?, day).ok()
        }
        [month, year] => Date::from_calendar_date(year.parse().ok()?, month_named(month)?, 1).ok(),
        _ => None,
    }
}

/// `YYYY-MM-DD`, `DD-MM-YYYY` or `DD/MM/YYYY`.
fn numeric(text: &str) -> Option<Date> {
    let parts: Vec<&str> = text.split(['-', '/']).collect();
    let [a, b, c] = parts.as_slice() else {
        return None;
    };
    if !parts
        .iter()
        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    let (year, month, day) = if a.len() == 4 { (a, b, c) } else { (c, b, a) };
    let month = Month::try_from(month.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(year.parse().ok()?, month, day.parse().ok()?).ok()
}

fn month_named(word: &str) -> Option<Month> {
    let word = word.trim_end_matches('.').to_lowercase();
    let month = match word.as_str() {
        "januari" | "january" | "jan" => Month::January,
        "februari" | "pebruari" | "february" | "feb" | "peb" => Month::February,
        "maret" | "march" | "mar" => Month::March,
        "april" | "apr" => Month::April,
        "mei" | "may" => Month::May,
        "juni" | "june" | "jun" => Month::June,
        "juli" | "july" | "jul" => Month::July,
        "agustus" | "august" | "agu" | "agt" | "ags" | "aug" => Month::August,
        "september" | "sep" | "sept" => Month::September,
        "oktober" | "october" | "okt" | "oct" => Month::October,
        "november" | "nopember" | "nov" | "nop" => Month::November,
        "desember" | "december" | "des" | "dec" => Month::December,
        _ => return None,
    };
    Some(month)
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::parse_date;

    #[test]
    fn reads_the_ways_offices_write_dates() {
        assert_eq!(parse_date("2026-12-01"), Some(date!(2026 - 12 - 01)));
        assert_eq!(parse_date("1 Juni 2021"), Some(date!(2021 - 06 - 01)));
        assert_eq!(parse_date(" 17 Agustus 2026 "), Some(date!(2026 - 08 - 17)));
        assert_eq!(parse_date("02 Januari 2027"), Some(date!(2027 - 01 - 02)));
        assert_eq!(parse_date("Mei 2021"), Some(date!(2021 - 05 - 01)));
        assert_eq!(parse_date("01/06/2021"), Some(date!(2021 - 06 - 01)));
        assert_eq!(parse_date("31-12-2026"), Some(date!(2026 - 12 - 31)));
        assert_eq!(parse_date("3 dec. 2026"), Some(date!(2026 - 12 - 03)));
    }

    #[test]
    fn leaves_other_text_alone() {
        for text in [
            "",
            "segera",
            "30 Februari 2026",
            "2026",
            "Mei",
            "13/13/2026",
            "1 Juni",
        ] {
            assert_eq!(parse_date(text), None, "{text:?}");
        }
    }
}
