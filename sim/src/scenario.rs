//! The scenario file (TOML): who comes when, who works when, how long each step takes, and the
//! data and documents that drive the SOP's guards. It names the SOP's own ids (steps, roles,
//! documents, case fields, adapters) and nothing else: the same format serves every SOP.
//!
//! ```toml
//! sop = "ktp-el"
//! seed = 2026
//! replications = 20
//! days = 5
//! start = "2026-03-02"          # a Monday
//!
//! [service_points.kantor_dinas]
//! hours.weekdays = "08:00-16:00"
//! arrivals.per_hour = 30
//! staff.petugas_antrian = 2
//! staff.operator_cetak = { count = 2, hours.weekdays = "08:00-15:00" }
//!
//! [case.data]
//! alasan = { choice = { baru = 0.8, hilang = 0.2 } }
//!
//! [steps.verifikasi_berkas]
//! time = { lognormal = { mean = "1m", sd = "30s" } }
//! ```
//!
//! Working time (`hours`, `closed`) is given by the scenario itself for now; it stands where a
//! service point's office calendar will be named once offices exist.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::dist::DistSpec;
use crate::duration::Seconds;

/// A whole scenario file.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The id of the SOP this scenario is for; checked against the SOP file when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sop: Option<String>,
    /// Master seed: the same seed gives the same results on every machine.
    #[serde(default = "default_seed")]
    pub seed: u64,
    /// Independent runs of the whole period; results carry 95% confidence intervals over them.
    #[serde(default = "default_replications")]
    pub replications: u32,
    /// Days simulated (calendar days from `start`; closed days included).
    #[serde(default = "default_days")]
    pub days: u32,
    /// The first simulated day, `YYYY-MM-DD` (its weekday sets the week).
    #[serde(default = "default_start")]
    pub start: String,
    /// UTC offset of the office's local time, e.g. `+07:00` (WIB), `+08:00` (WITA).
    #[serde(default = "default_time_zone")]
    pub time_zone: String,
    /// Time from the start whose arrivals are simulated but not counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warm_up: Option<Seconds>,
    /// How long after the last day the cases still open are followed (default 7 days); those
    /// open after it count as unfinished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain: Option<Seconds>,
    /// Where applicants are served, by id.
    pub service_points: BTreeMap<String, ServicePoint>,
    /// What a case opens with.
    #[serde(default)]
    pub case: CaseSpec,
    /// Per SOP step id: its times and what it records.
    #[serde(default)]
    pub steps: BTreeMap<String, StepSpec>,
    /// Per SOP adapter id: how long it takes, and whether a person stays with it.
    #[serde(default)]
    pub adapters: BTreeMap<String, AdapterSpec>,
}

pub fn default_seed() -> u64 {
    1
}
pub fn default_replications() -> u32 {
    10
}
pub fn default_days() -> u32 {
    5
}
pub fn default_start() -> String {
    "2026-03-02".to_owned()
}
pub fn default_time_zone() -> String {
    "+07:00".to_owned()
}

/// One service point: its opening hours (its calendar), arrivals and staff.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServicePoint {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Opening hours per weekday; staff work them unless they have their own.
    pub hours: WeekHours,
    /// Dates the point is closed (holidays, cuti bersama), `YYYY-MM-DD`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub closed: Vec<String>,
    pub arrivals: Arrivals,
    /// Per role: a count (working the opening hours), a shift `{ count, hours }`, or a list of
    /// shifts.
    #[serde(default)]
    pub staff: BTreeMap<String, Staff>,
}

/// Hours per weekday. A day's own key wins over `weekdays` (Monday to Friday), which wins
/// over `every_day`; a day with none is closed.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct WeekHours {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every_day: Option<Hours>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekdays: Option<Hours>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mon: Option<Hours>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tue: Option<Hours>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wed: Option<Hours>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thu: Option<Hours>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fri: Option<Hours>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sat: Option<Hours>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sun: Option<Hours>,
}

pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl WeekHours {
    /// The hours of weekday `day` (0 = Monday), as written.
    pub fn of(&self, day: usize) -> Option<&Hours> {
        let own = match day {
            0 => &self.mon,
            1 => &self.tue,
            2 => &self.wed,
            3 => &self.thu,
            4 => &self.fri,
            5 => &self.sat,
            _ => &self.sun,
        };
        own.as_ref()
            .or(if day < 5 {
                self.weekdays.as_ref()
            } else {
                None
            })
            .or(self.every_day.as_ref())
    }

    pub fn is_empty(&self) -> bool {
        (0..7).all(|d| self.of(d).is_none())
    }
}

/// The hours of one day: `"08:00-16:00"`, a list of such ranges, or `"closed"`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Hours(pub Vec<String>);

impl<'de> Deserialize<'de> for Hours {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Hours;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("hours such as \"08:00-16:00\", a list of them, or \"closed\"")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Hours, E> {
                Ok(Hours(vec![v.to_owned()]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Hours, A::Error> {
                let mut ranges = Vec::new();
                while let Some(r) = seq.next_element::<String>()? {
                    ranges.push(r);
                }
                Ok(Hours(ranges))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// Applicants arriving (a Poisson process whose rate may change every hour).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Arrivals {
    /// Applicants per hour, the same in every opening hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_hour: Option<f64>,
    /// Applicants per hour for each hour of the day (24 numbers, from 00:00), per weekday
    /// (keys as in `hours`: `mon`..`sun`, `weekdays`, `every_day`). Closed dates have none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_hour: BTreeMap<String, Vec<f64>>,
}

/// The staff of one role at one service point.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Staff {
    Count(u32),
    Shifts(Vec<Shift>),
}

/// People of one role working the same hours.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Shift {
    pub count: u32,
    /// Their hours; the service point's opening hours when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hours: Option<WeekHours>,
}

impl Staff {
    pub fn shifts(&self) -> Vec<Shift> {
        match self {
            Staff::Count(count) => vec![Shift {
                count: *count,
                hours: None,
            }],
            Staff::Shifts(shifts) => shifts.clone(),
        }
    }

    pub fn total(&self) -> u32 {
        self.shifts().iter().map(|s| s.count).sum()
    }
}

impl<'de> Deserialize<'de> for Staff {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Staff;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(
                    "a number of people, a shift `{ count = 2, hours... }`, or a list of shifts",
                )
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Staff, E> {
                u32::try_from(v)
                    .map(Staff::Count)
                    .map_err(|_| E::custom(format!("{v} is not a number of people")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Staff, E> {
                self.visit_i64(i64::try_from(v).unwrap_or(-1))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Staff, A::Error> {
                let shift = Shift::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(Staff::Shifts(vec![shift]))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Staff, A::Error> {
                let shifts = Vec::<Shift>::deserialize(de::value::SeqAccessDeserializer::new(seq))?;
                Ok(Staff::Shifts(shifts))
            }
        }
        deserializer.deserialize_any(V)
    }
}

/// The data a case opens with, field by field.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CaseSpec {
    #[serde(default)]
    pub data: BTreeMap<String, ValueSpec>,
}

/// A value of a case field (or an outcome): fixed, or drawn.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueSpec {
    /// Always this value (any TOML value: text, number, boolean, array, table).
    Fixed(serde_json::Value),
    /// One of the keys, with these weights (they need not add up to 1). Keys are read as the
    /// field's type wants: `true`, `12`, or text.
    Choice(BTreeMap<String, f64>),
    /// `true` with this probability, else `false`.
    Bernoulli(f64),
}

impl Serialize for ValueSpec {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        match self {
            ValueSpec::Fixed(v) => v.serialize(serializer),
            ValueSpec::Choice(choices) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("choice", choices)?;
                map.end()
            }
            ValueSpec::Bernoulli(p) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("bernoulli", p)?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for ValueSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = toml::Value::deserialize(deserializer)?;
        let toml::Value::Table(table) = &value else {
            return Ok(ValueSpec::Fixed(to_json(&value)));
        };
        let keys: Vec<&String> = table.keys().collect();
        match keys.as_slice() {
            [k] if *k == "choice" => {
                let Some(toml::Value::Table(choices)) = table.get("choice") else {
                    return Err(de::Error::custom(
                        "`choice` takes a table of values and weights, e.g. { a = 0.8, b = 0.2 }",
                    ));
                };
                let mut out = BTreeMap::new();
                for (key, weight) in choices {
                    let w = match weight {
                        toml::Value::Float(f) => *f,
                        toml::Value::Integer(i) => *i as f64,
                        _ => {
                            return Err(de::Error::custom(format!(
                                "the weight of `{key}` must be a number"
                            )));
                        }
                    };
                    if !(w.is_finite() && w >= 0.0) {
                        return Err(de::Error::custom(format!(
                            "the weight of `{key}` must be 0 or more"
                        )));
                    }
                    out.insert(key.clone(), w);
                }
                if out.values().sum::<f64>() <= 0.0 {
                    return Err(de::Error::custom("a choice needs a weight above 0"));
                }
                Ok(ValueSpec::Choice(out))
            }
            [k] if *k == "bernoulli" => match table.get("bernoulli") {
                Some(toml::Value::Float(p)) if (0.0..=1.0).contains(p) => {
                    Ok(ValueSpec::Bernoulli(*p))
                }
                Some(toml::Value::Integer(p)) if (0..=1).contains(p) => {
                    Ok(ValueSpec::Bernoulli(*p as f64))
                }
                _ => Err(de::Error::custom(
                    "`bernoulli` takes the probability of true, between 0 and 1",
                )),
            },
            [k] if *k == "value" => Ok(ValueSpec::Fixed(to_json(&table["value"]))),
            _ => Err(de::Error::custom(
                "a table here is `{ choice = { ... } }`, `{ bernoulli = p }` or `{ value = ... }`",
            )),
        }
    }
}

/// A TOML value as JSON (dates as their text).
pub fn to_json(value: &toml::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        toml::Value::String(s) => J::String(s.clone()),
        toml::Value::Integer(i) => J::from(*i),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
        toml::Value::Boolean(b) => J::Bool(*b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(items) => J::Array(items.iter().map(to_json).collect()),
        toml::Value::Table(t) => {
            J::Object(t.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
    }
}

/// One SOP step: its times, and what it records on its first visit; `again` changes any of
/// it for later visits (a file handed in again, a record checked again).
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    /// Time a person spends on it (task), on calling the number (queue), or the adapter's
    /// time (service step; the adapter's own time otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<DistSpec>,
    /// Time before it can be taken up, no one working (an applicant fetching a document).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<DistSpec>,
    /// Report the share of visits taken up within this time of entering the step (a
    /// service level: "called within 15 minutes").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_target: Option<Seconds>,
    /// Case fields the step sets (among those it `collects`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, ValueSpec>,
    /// Per document of the step: the probability that it is handed in.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub documents: BTreeMap<String, f64>,
    /// The outcome the step completes with (steps with `outcomes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<ValueSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub again: Option<VisitSpec>,
}

/// What changes on later visits of a step.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct VisitSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<DistSpec>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<DistSpec>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data: BTreeMap<String, ValueSpec>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub documents: BTreeMap<String, f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<ValueSpec>,
}

/// An adapter of the SOP.
#[derive(Debug, Clone, PartialEq, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AdapterSpec {
    /// From the request to the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<DistSpec>,
    /// A person of the step's role stays with it meanwhile (an operator at the printer).
    #[serde(default)]
    pub attended: bool,
}

impl Scenario {
    /// Reads a scenario; errors carry the line and column toml reports.
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = r#"
        seed = 7
        [service_points.loket]
        hours.weekdays = "08:00-16:00"
        hours.fri = ["08:00-11:30", "13:30-16:00"]
        arrivals.per_hour = 12
        staff.petugas = 2
        staff.operator = [{ count = 1 }, { count = 1, hours.every_day = "10:00-14:00" }]

        [case.data]
        jenis = { choice = { a = 3, b = 1 } }
        urgent = { bernoulli = 0.25 }
        kode = "X1"

        [steps.layani]
        time = { exponential = { mean = "4m" } }
        documents = { formulir = 0.8 }
        [steps.layani.again]
        delay = "30m"
    "#;

    #[test]
    fn reads_a_scenario_with_every_form() {
        let s = Scenario::parse(SMALL).unwrap();
        assert_eq!(s.seed, 7);
        assert_eq!(s.replications, default_replications());
        let point = &s.service_points["loket"];
        assert_eq!(point.hours.of(0), Some(&Hours(vec!["08:00-16:00".into()])));
        assert_eq!(point.hours.of(4).unwrap().0.len(), 2);
        assert_eq!(point.hours.of(5), None);
        assert_eq!(point.staff["petugas"].total(), 2);
        assert_eq!(point.staff["operator"].shifts().len(), 2);
        assert_eq!(
            s.case.data["urgent"],
            ValueSpec::Bernoulli(0.25),
            "bernoulli"
        );
        assert_eq!(s.case.data["kode"], ValueSpec::Fixed("X1".into()));
        let ValueSpec::Choice(c) = &s.case.data["jenis"] else {
            panic!("a choice")
        };
        assert_eq!(c["a"], 3.0);
        let step = &s.steps["layani"];
        assert_eq!(step.documents["formulir"], 0.8);
        assert_eq!(
            step.again.as_ref().unwrap().delay,
            Some(DistSpec::Fixed(Seconds(1800.0)))
        );
    }

    #[test]
    fn errors_say_where() {
        let bad = SMALL.replace("staff.petugas = 2", "staff.petugas = \"two\"");
        let err = Scenario::parse(&bad).unwrap_err().to_string();
        assert!(err.contains("line 7"), "{err}");
        assert!(err.contains("a number of people"), "{err}");
        let bad = SMALL.replace("seed = 7", "seed = 7\nreplicatons = 3");
        let err = Scenario::parse(&bad).unwrap_err().to_string();
        assert!(err.contains("unknown field `replicatons`"), "{err}");
        let bad = SMALL.replace("{ bernoulli = 0.25 }", "{ bernoulli = 2.5 }");
        let err = Scenario::parse(&bad).unwrap_err().to_string();
        assert!(err.contains("between 0 and 1"), "{err}");
    }
}
