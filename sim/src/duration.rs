//! Times as a scenario writes them: a number of seconds (`40`, `2.5`) or a text such as
//! `40s`, `1.5m`, `1h30m`, `500ms`, `2d` (ISO-8601 `PT2M` too). Fractions are allowed: service
//! times are measured, not budgeted.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A non-negative time span in seconds.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Seconds(pub f64);

impl Seconds {
    pub fn as_f64(self) -> f64 {
        self.0
    }

    /// Whole microseconds, the resolution of simulated time (and of the store).
    pub fn as_micros(self) -> i64 {
        micros(self.0)
    }
}

/// Seconds to whole microseconds, rounded to nearest; negative and non-finite values as 0.
pub fn micros(seconds: f64) -> i64 {
    if seconds.is_finite() && seconds > 0.0 {
        // 100 years bound keeps every later sum far from overflow.
        (seconds.min(3.2e9) * 1e6).round() as i64
    } else {
        0
    }
}

/// Why a time text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid time {0:?}: expected seconds (`40`), or e.g. `40s`, `1.5m`, `1h30m`, `500ms`, `2d`"
)]
pub struct ParseSecondsError(pub String);

impl FromStr for Seconds {
    type Err = ParseSecondsError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let fail = || ParseSecondsError(text.to_owned());
        let body = text.trim();
        if body.is_empty() {
            return Err(fail());
        }
        if body.starts_with('P') {
            let d: sopflow_engine::sop::Duration = body.parse().map_err(|_| fail())?;
            return Ok(Seconds(d.as_secs() as f64));
        }
        if let Ok(n) = body.parse::<f64>() {
            return check(n).ok_or_else(fail);
        }
        let mut total = 0.0;
        let mut rest = body;
        while !rest.is_empty() {
            let digits = rest
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .ok_or_else(fail)?;
            if digits == 0 {
                return Err(fail());
            }
            let number: f64 = rest[..digits].parse().map_err(|_| fail())?;
            rest = &rest[digits..];
            let unit_len = rest
                .find(|c: char| c.is_ascii_digit() || c == '.')
                .unwrap_or(rest.len());
            let factor = match &rest[..unit_len] {
                "ms" => 0.001,
                "s" => 1.0,
                "m" => 60.0,
                "h" => 3600.0,
                "d" => 86_400.0,
                _ => return Err(fail()),
            };
            total += number * factor;
            rest = &rest[unit_len..];
        }
        check(total).ok_or_else(fail)
    }
}

fn check(n: f64) -> Option<Seconds> {
    (n.is_finite() && (0.0..=3.2e9).contains(&n)).then_some(Seconds(n))
}

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.0;
        if s.fract() == 0.0 && (1.0..1e9).contains(&s) {
            let whole = s as u64;
            let (d, h, m, sec) = (
                whole / 86_400,
                whole % 86_400 / 3600,
                whole % 3600 / 60,
                whole % 60,
            );
            for (n, unit) in [(d, "d"), (h, "h"), (m, "m"), (sec, "s")] {
                if n > 0 {
                    write!(f, "{n}{unit}")?;
                }
            }
            Ok(())
        } else {
            let text = format!("{s:.3}");
            let text = text.trim_end_matches('0').trim_end_matches('.');
            write!(f, "{text}s")
        }
    }
}

impl Serialize for Seconds {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Seconds;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a time: seconds as a number, or a text such as `40s`, `1.5m`, `1h30m`")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Seconds, E> {
                check(v as f64).ok_or_else(|| E::custom(format!("invalid time {v}")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Seconds, E> {
                check(v as f64).ok_or_else(|| E::custom(format!("invalid time {v}")))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Seconds, E> {
                check(v).ok_or_else(|| E::custom(format!("invalid time {v}")))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Seconds, E> {
                v.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_a_scenario_uses() {
        let cases = [
            ("40", 40.0),
            ("2.5", 2.5),
            ("40s", 40.0),
            ("1.5m", 90.0),
            ("1h30m", 5400.0),
            ("500ms", 0.5),
            ("2d", 172_800.0),
            ("PT2M", 120.0),
            ("1m30.5s", 90.5),
        ];
        for (text, expected) in cases {
            assert_eq!(text.parse::<Seconds>(), Ok(Seconds(expected)), "{text}");
        }
        for bad in ["", "s", "4x", "-3", "1h-2m", "1.2.3s", "m4"] {
            assert!(bad.parse::<Seconds>().is_err(), "{bad}");
        }
    }

    #[test]
    fn displays_in_the_largest_exact_units_and_round_trips() {
        for (value, text) in [
            (240.0, "4m"),
            (5400.0, "1h30m"),
            (45.0, "45s"),
            (52.3417, "52.342s"),
            (0.0, "0s"),
            (0.5, "0.5s"),
        ] {
            assert_eq!(Seconds(value).to_string(), text);
            let back: Seconds = text.parse().unwrap();
            assert!((back.0 - value).abs() < 1e-3, "{text}");
        }
    }
}
