//! Time budgets as SOP authors write them: `30s`, `1m`, `2h`, `3d`, combinations such as
//! `1h30m`, or ISO-8601 (`PT1M`, `P1DT2H`). Seconds matter: some SOPs budget 30 seconds.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A whole number of seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration {
    seconds: u64,
}

/// Why a duration text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid duration {text:?}: expected e.g. `30s`, `2m`, `1h30m`, `3d` or `PT2M`")]
pub struct ParseDurationError {
    text: String,
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

fn parse_units(body: &str, units: &[(char, u64)]) -> Option<u64> {
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
            .position(|(u, _)| *u == c.to_ascii_lowercase())?;
        if number.is_empty() || pos < last_unit {
            return None;
        }
        let value: u64 = number.parse().ok()?;
        total = total.checked_add(value.checked_mul(units[pos].1)?)?;
        number.clear();
        last_unit = pos + 1;
    }
    if !number.is_empty() || body.is_empty() {
        return None;
    }
    Some(total)
}

impl FromStr for Duration {
    type Err = ParseDurationError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = || ParseDurationError {
            text: text.to_owned(),
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
                parse_units(date, &[('d', 86_400)]).ok_or_else(err)?
            };
            let clock = match time {
                Some(t) => parse_units(t, &[('h', 3_600), ('m', 60), ('s', 1)]).ok_or_else(err)?,
                None if date.is_empty() => return Err(err()),
                None => 0,
            };
            days.checked_add(clock).ok_or_else(err)?
        } else {
            parse_units(trimmed, &[('d', 86_400), ('h', 3_600), ('m', 60), ('s', 1)])
                .ok_or_else(err)?
        };
        if seconds > MAX_SECONDS {
            return Err(err());
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

/// Same pattern as the parser accepts, so editors flag a bad budget before `validate` does.
pub const DURATION_PATTERN: &str =
    r"^(([0-9]+d)?([0-9]+h)?([0-9]+m)?([0-9]+s)?|P([0-9]+D)?(T([0-9]+H)?([0-9]+M)?([0-9]+S)?)?)$";

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

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(text: &str) -> Option<u64> {
        text.parse::<Duration>().ok().map(Duration::as_secs)
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
        ] {
            assert_eq!(secs(bad), None, "{bad:?} should be refused");
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
