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
