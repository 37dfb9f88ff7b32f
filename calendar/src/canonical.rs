//! The canonical form of a calendar, which its content hash is taken over.
//!
//! It is a calendar file itself (TOML, no includes), written here by hand rather than by a
//! serializer so that its bytes depend on nothing but this code: a new version of a TOML
//! crate must never change the hash of a calendar cases are pinned to. Rules: a header
//! comment naming the form's version; `name` (if any) and `zone`; `[hours]` with all seven
//! days, Monday first, intervals ordered and joined; then every closed date and every open
//! date on its own (ranges expanded), in date order, as TOML local dates; strings as TOML
//! basic strings, escaping `"`, `\` and control characters only.

use std::collections::BTreeMap;
use std::fmt::Write;

use sha2::{Digest, Sha256};
use time::{Date, Weekday};

use crate::calendar::{Closure, Opening};
use crate::hours::Hours;
use crate::zone::Zone;

/// The first line; a change of these rules must change it (and so every hash).
pub const HEADER: &str = "# sopflow calendar, canonical form 1";

pub(crate) const WEEKDAYS: [(Weekday, &str); 7] = [
    (Weekday::Monday, "monday"),
    (Weekday::Tuesday, "tuesday"),
    (Weekday::Wednesday, "wednesday"),
    (Weekday::Thursday, "thursday"),
    (Weekday::Friday, "friday"),
    (Weekday::Saturday, "saturday"),
    (Weekday::Sunday, "sunday"),
];

pub(crate) fn write(
    name: Option<&str>,
    zone: Zone,
    week: &[Hours; 7],
    closed: &BTreeMap<Date, Closure>,
    open: &BTreeMap<Date, Opening>,
) -> String {
    let mut out = String::new();
    out.push_str(HEADER);
    out.push('\n');
    if let Some(name) = name {
        let _ = writeln!(out, "name = {}", quote(name));
    }
    let _ = writeln!(out, "zone = {}", quote(zone.name()));
    out.push_str("\n[hours]\n");
    for (hours, (_, day)) in week.iter().zip(WEEKDAYS) {
        let _ = writeln!(out, "{day} = {}", hours_list(hours));
    }
    for (date, closure) in closed {
        let _ = write!(
            out,
            "\n[[closed]]\ndate = {}\nkind = {}\nname = {}\n",
            iso_date(*date),
            quote(closure.kind.as_str()),
            quote(&closure.name)
        );
    }
    for (date, opening) in open {
        let _ = write!(
            out,
            "\n[[open]]\ndate = {}\nname = {}\nhours = {}\n",
            iso_date(*date),
            quote(&opening.name),
            hours_list(&opening.hours)
        );
    }
    out
}

fn hours_list(hours: &Hours) -> String {
    let items: Vec<String> = hours
        .intervals()
        .iter()
        .map(|i| quote(&i.to_string()))
        .collect();
    format!("[{}]", items.join(", "))
}

/// `2026-01-01` (years 0 to 9999; `time` represents no others without its `large-dates`).
pub(crate) fn iso_date(date: Date) -> String {
    format!(
        "{:04}-{:02}-{:02}",
        date.year(),
        u8::from(date.month()),
        date.day()
    )
}

/// A TOML basic string.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_toml_basic_strings() {
        assert_eq!(quote("Hari \"Raya\" \\ 1"), r#""Hari \"Raya\" \\ 1""#);
        assert_eq!(quote("a\u{7}b\nc"), r#""a\u0007b\nc""#);
        let parsed: toml::Table =
            toml::from_str(&format!("x = {}", quote("Hari \"Raya\" \\ \u{7}\n\tNyepi"))).unwrap();
        assert_eq!(
            parsed["x"].as_str(),
            Some("Hari \"Raya\" \\ \u{7}\n\tNyepi")
        );
    }

    #[test]
    fn sha256_of_nothing() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
