//! A scenario checked against its SOP and compiled: roles, steps and service points as
//! indices, working time as intervals of simulated time, distributions ready to sample.
//!
//! Simulated time is whole microseconds from local midnight of the first simulated day
//! (the resolution of the store), so that every sum and comparison is exact integer
//! arithmetic and the same on every machine.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::Value;
use sopflow_engine::case::Actor;
use sopflow_engine::sop::Sop;
use sopflow_engine::sop::model::StepKind;
use time::{Date, OffsetDateTime, UtcOffset};

use crate::dist::Dist;
use crate::duration::{Seconds, micros};
use crate::rng::SimRng;
use crate::scenario::{Arrivals, Scenario, ValueSpec, VisitSpec, WEEKDAYS, WeekHours};

pub const HOUR: i64 = 3_600_000_000;
pub const DAY: i64 = 24 * HOUR;

pub type RoleIdx = usize;

/// A compiled scenario. Cheap to clone (the SOP is shared): the staffing search runs many
/// copies that differ in their staff.
#[derive(Debug, Clone)]
pub struct Model {
    pub sop: Arc<Sop>,
    pub seed: u64,
    pub replications: u32,
    pub days: u32,
    /// Local midnight of the first day: simulated time 0.
    pub base: OffsetDateTime,
    /// Weekday of day 0 (0 = Monday).
    pub first_weekday: usize,
    /// Arrivals before this are not counted.
    pub warm_up: i64,
    /// The end of the last day: no arrivals after it.
    pub horizon: i64,
    /// The end of the simulation: cases open then are unfinished.
    pub cap: i64,
    /// Every role that does some step, by index.
    pub roles: Vec<String>,
    pub points: Vec<PointModel>,
    /// By SOP step index.
    pub steps: Vec<StepModel>,
    /// For each role, the steps it may take up.
    pub role_steps: Vec<Vec<usize>>,
    /// The data a case opens with.
    pub opening: Vec<(String, ValueDist)>,
    /// Who opens the cases (the start step's first role).
    pub opener: Actor,
    /// The SOP's total budget, microseconds.
    pub total_budget: Option<i64>,
    /// The SOP version the cases are opened on (1 unless histories go to a store that
    /// numbers it otherwise).
    pub sop_version: u32,
}

/// One service point.
#[derive(Debug, Clone)]
pub struct PointModel {
    pub id: String,
    pub name: String,
    /// Arrival rate over time, sorted, not overlapping; none where nobody comes.
    pub arrivals: Vec<Segment>,
    /// Its opening hours over the whole simulation (for shifts without hours of their own).
    pub open: Vec<(i64, i64)>,
    pub shifts: Vec<ShiftModel>,
}

/// A stretch of time with a constant arrival rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Segment {
    pub start: i64,
    pub end: i64,
    /// Arrivals per microsecond.
    pub rate: f64,
}

/// People of one role working the same intervals.
#[derive(Debug, Clone)]
pub struct ShiftModel {
    pub role: RoleIdx,
    pub count: u32,
    /// Working intervals over the whole simulation, sorted.
    pub intervals: Vec<(i64, i64)>,
}

/// One SOP step in the simulation.
#[derive(Debug, Clone)]
pub struct StepModel {
    pub id: String,
    pub kind: StepKind,
    /// Roles a person taking it up may have; empty when no person takes it up (decisions,
    /// ends, unattended service steps).
    pub servers: Vec<RoleIdx>,
    /// A service step a person stays with.
    pub attended: bool,
    pub queue: Option<String>,
    pub first: VisitModel,
    pub again: VisitModel,
    pub wait_target: Option<i64>,
}

impl StepModel {
    pub fn visit(&self, visit: u32) -> &VisitModel {
        if visit > 1 { &self.again } else { &self.first }
    }

    /// Whether a person takes the step up.
    pub fn needs_person(&self) -> bool {
        !self.servers.is_empty()
    }
}

/// What one visit of a step draws.
#[derive(Debug, Clone, Default)]
pub struct VisitModel {
    pub time: Option<Dist>,
    pub delay: Option<Dist>,
    pub data: Vec<(String, ValueDist)>,
    pub documents: Vec<(String, f64)>,
    pub outcome: Option<ValueDist>,
}

/// A value to draw.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueDist {
    Fixed(Value),
    /// Values with their cumulative probabilities (the last is 1).
    Choice(Vec<(Value, f64)>),
}

impl ValueDist {
    pub fn draw(&self, rng: &mut SimRng) -> Value {
        match self {
            ValueDist::Fixed(v) => v.clone(),
            ValueDist::Choice(choices) => {
                let u = rng.uniform();
                choices
                    .iter()
                    .find(|(_, c)| u < *c)
                    .or(choices.last())
                    .map(|(v, _)| v.clone())
                    .unwrap_or(Value::Null)
            }
        }
    }

    /// The probability of each value.
    pub fn shares(&self) -> Vec<(Value, f64)> {
        match self {
            ValueDist::Fixed(v) => vec![(v.clone(), 1.0)],
            ValueDist::Choice(choices) => {
                let mut last = 0.0;
                choices
                    .iter()
                    .map(|(v, c)| {
                        let p = c - last;
                        last = *c;
                        (v.clone(), p)
                    })
                    .collect()
            }
        }
    }
}

/// Options of the compilation.
#[derive(Debug, Clone, Copy, Default)]
pub struct CompileOptions {
    /// Accept roles without staff (the staffing search adds them).
    pub allow_unstaffed: bool,
}

/// Problems of a scenario, each naming its key.
pub type Problems = Vec<String>;

impl Model {
    /// Checks `scenario` against `sop` and compiles it. Every problem is reported, each with
    /// the scenario key it concerns.
    pub fn compile(
        sop: Arc<Sop>,
        scenario: &Scenario,
        options: CompileOptions,
    ) -> Result<Model, Problems> {
        let mut p: Problems = Vec::new();
        let doc = sop.document();
        if let Some(id) = &scenario.sop
            && id != sop.id()
        {
            p.push(format!(
                "sop: the scenario is for SOP `{id}`, the SOP file is `{}`",
                sop.id()
            ));
        }
        if scenario.replications == 0 {
            p.push("replications: at least 1".into());
        }
        if scenario.days == 0 {
            p.push("days: at least 1".into());
        }
        let start = match Date::parse(
            &scenario.start,
            time::macros::format_description!("[year]-[month]-[day]"),
        ) {
            Ok(d) => d,
            Err(_) => {
                p.push(format!(
                    "start: {:?} is not a date YYYY-MM-DD",
                    scenario.start
                ));
                Date::MIN
            }
        };
        let offset = match UtcOffset::parse(
            &scenario.time_zone,
            time::macros::format_description!("[offset_hour sign:mandatory]:[offset_minute]"),
        ) {
            Ok(o) => o,
            Err(_) => {
                p.push(format!(
                    "time_zone: {:?} is not a UTC offset such as +07:00",
                    scenario.time_zone
                ));
                UtcOffset::UTC
            }
        };
        let base = start.midnight().assume_offset(offset);
        let first_weekday = usize::from(start.weekday().number_days_from_monday());
        let horizon = i64::from(scenario.days) * DAY;
        let drain = scenario.drain.map_or(7 * DAY, Seconds::as_micros);
        let cap = horizon + drain;
        let warm_up = scenario.warm_up.map_or(0, Seconds::as_micros);
        if warm_up >= horizon && horizon > 0 {
            p.push("warm_up: longer than the simulated days: nothing would be counted".into());
        }
        let total_days = (cap + DAY - 1) / DAY;

        // Roles: every role that may take up a step.
        let mut roles: Vec<String> = Vec::new();
        let role_of = |name: &str, roles: &mut Vec<String>| -> RoleIdx {
            match roles.iter().position(|r| r == name) {
                Some(i) => i,
                None => {
                    roles.push(name.to_owned());
                    roles.len() - 1
                }
            }
        };
        let mut steps = Vec::with_capacity(sop.step_count());
        for (idx, step) in doc.steps.iter().enumerate() {
            let spec = scenario.steps.get(&step.id);
            let adapter = step.adapter.as_ref().and_then(|a| scenario.adapters.get(a));
            let attended = step.kind == StepKind::Service && adapter.is_some_and(|a| a.attended);
            let server_names: Vec<String> = match step.kind {
                // Who may record a step (for a queue: who calls it) is the compiled SOP's rule.
                StepKind::Task | StepKind::Queue => sop.recorders(idx).to_vec(),
                StepKind::Service if attended => sop.recorders(idx).to_vec(),
                _ => Vec::new(),
            };
            let servers = server_names
                .iter()
                .map(|r| role_of(r, &mut roles))
                .collect();
            let key = format!("steps.{}", step.id);
            let first_spec = spec.map(|s| VisitSpec {
                time: s.time.clone(),
                delay: s.delay.clone(),
                data: s.data.clone(),
                documents: s.documents.clone(),
                outcome: s.outcome.clone(),
            });
            let first_spec = first_spec.unwrap_or_default();
            let again_spec = merged(&first_spec, spec.and_then(|s| s.again.as_ref()));
            let adapter_time = adapter.and_then(|a| a.time.as_ref());
            let first = visit_model(&sop, idx, &first_spec, adapter_time, &key, &mut p);
            let again = visit_model(
                &sop,
                idx,
                &again_spec,
                adapter_time,
                &format!("{key}.again"),
                &mut p,
            );
            match step.kind {
                StepKind::Task if first.time.is_none() => p.push(format!(
                    "{key}: no time for task step `{}` (add `time = ...`)",
                    step.id
                )),
                StepKind::Service if first.time.is_none() => p.push(format!(
                    "{key}: no time for service step `{}`: give `time` here or under [adapters.{}]",
                    step.id,
                    step.adapter.as_deref().unwrap_or("?")
                )),
                StepKind::Decision | StepKind::End if spec.is_some() => p.push(format!(
                    "{key}: `{}` is a {} step: nobody works on it, remove [{key}]",
                    step.id,
                    step.kind.as_str()
                )),
                _ => {}
            }
            steps.push(StepModel {
                id: step.id.clone(),
                kind: step.kind,
                servers,
                attended,
                queue: step.queue.clone(),
                first,
                again,
                wait_target: spec.and_then(|s| s.wait_target).map(Seconds::as_micros),
            });
        }
        for id in scenario.steps.keys() {
            if sop.step_index(id).is_none() {
                p.push(format!(
                    "steps.{id}: SOP `{}` has no step `{id}` (its steps: {})",
                    sop.id(),
                    doc.steps
                        .iter()
                        .map(|s| s.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
        }
        for (id, spec) in &scenario.adapters {
            if !doc.adapters.iter().any(|a| &a.id == id) {
                p.push(format!(
                    "adapters.{id}: SOP `{}` has no adapter `{id}`",
                    sop.id()
                ));
            }
            if let Some(Err(e)) = spec.time.as_ref().map(|t| t.compile()) {
                p.push(format!("adapters.{id}.time: {e}"));
            }
        }
        let mut role_steps = vec![Vec::new(); roles.len()];
        for (i, s) in steps.iter().enumerate() {
            for &r in &s.servers {
                role_steps[r].push(i);
            }
        }

        // The data a case opens with.
        let mut opening = Vec::new();
        let fields = sop.case_fields();
        for (field, spec) in &scenario.case.data {
            let key = format!("case.data.{field}");
            if !fields.contains(field) {
                p.push(format!(
                    "{key}: the case schema has no field `{field}` (fields: {})",
                    fields.join(", ")
                ));
                continue;
            }
            if let Some(d) = value_dist(&sop, Some(field), spec, &key, &mut p) {
                opening.push((field.clone(), d));
            }
        }
        if let Some(Value::Array(required)) = doc.case_schema.get("required") {
            for r in required.iter().filter_map(Value::as_str) {
                if !scenario.case.data.contains_key(r) {
                    p.push(format!(
                        "case.data: the case schema requires `{r}` when a case opens: give it \
                         (a fictitious value will do for personal data)"
                    ));
                }
            }
        }

        // Service points.
        let mut points = Vec::new();
        if scenario.service_points.is_empty() {
            p.push("service_points: at least one".into());
        }
        for (id, point) in &scenario.service_points {
            let key = format!("service_points.{id}");
            let closed = closed_days(&point.closed, start, total_days, &key, &mut p);
            let open = intervals(
                &point.hours,
                first_weekday,
                total_days,
                &closed,
                &format!("{key}.hours"),
                &mut p,
            );
            let arrivals = arrival_segments(
                &point.arrivals,
                &open,
                first_weekday,
                scenario.days,
                &closed,
                &format!("{key}.arrivals"),
                &mut p,
            );
            let mut shifts = Vec::new();
            for (role, staff) in &point.staff {
                let skey = format!("{key}.staff.{role}");
                let Some(r) = roles.iter().position(|x| x == role) else {
                    let known = if roles.is_empty() {
                        "none".to_owned()
                    } else {
                        roles.join(", ")
                    };
                    p.push(format!(
                        "{skey}: no step of SOP `{}` is taken up by role `{role}` (roles that work: {known})",
                        sop.id()
                    ));
                    continue;
                };
                for (i, shift) in staff.shifts().iter().enumerate() {
                    let intervals = match &shift.hours {
                        Some(h) => intervals(
                            h,
                            first_weekday,
                            total_days,
                            &closed,
                            &format!("{skey}[{i}].hours"),
                            &mut p,
                        ),
                        None => open.clone(),
                    };
                    shifts.push(ShiftModel {
                        role: r,
                        count: shift.count,
                        intervals,
                    });
                }
            }
            // Every working role has a shift entry, so that a search can add people to it.
            for r in 0..roles.len() {
                if !shifts.iter().any(|s| s.role == r) {
                    shifts.push(ShiftModel {
                        role: r,
                        count: 0,
                        intervals: open.clone(),
                    });
                }
            }
            if !options.allow_unstaffed {
                for step in steps.iter().filter(|s| s.needs_person()) {
                    let staffed = shifts.iter().any(|s| {
                        step.servers.contains(&s.role) && s.count > 0 && !s.intervals.is_empty()
                    });
                    if !staffed {
                        let names: Vec<&str> =
                            step.servers.iter().map(|r| roles[*r].as_str()).collect();
                        p.push(format!(
                            "{key}.staff: nobody to take up step `{}` (roles {}): its cases would wait forever",
                            step.id,
                            names.join(", ")
                        ));
                    }
                }
            }
            points.push(PointModel {
                id: id.clone(),
                name: point.name.clone().unwrap_or_else(|| id.clone()),
                arrivals,
                open,
                shifts,
            });
        }

        let start_idx = sop.start();
        let opener_role = sop
            .recorders(start_idx)
            .first()
            .cloned()
            .unwrap_or_else(|| "system".to_owned());
        let total_budget = doc.total_budget.map(|b| b.as_secs() as i64 * 1_000_000);
        if !p.is_empty() {
            return Err(p);
        }
        Ok(Model {
            sop,
            seed: scenario.seed,
            replications: scenario.replications,
            days: scenario.days,
            base,
            first_weekday,
            warm_up,
            horizon,
            cap,
            roles,
            points,
            steps,
            role_steps,
            opening,
            opener: Actor::new(format!("sim-{opener_role}"), opener_role),
            total_budget,
            sop_version: 1,
        })
    }

    /// Staff per (service point, role), in the order of [`Model::points`] and roles.
    pub fn staffing(&self) -> Vec<(usize, RoleIdx, u32)> {
        let mut out = Vec::new();
        for (pi, point) in self.points.iter().enumerate() {
            for r in 0..self.roles.len() {
                let n = point
                    .shifts
                    .iter()
                    .filter(|s| s.role == r)
                    .map(|s| s.count)
                    .sum();
                out.push((pi, r, n));
            }
        }
        out
    }

    /// Sets the number of people of `role` at `point`: more are added to its first shift,
    /// fewer are taken from its last shifts first.
    pub fn set_staff(&mut self, point: usize, role: RoleIdx, total: u32) {
        let shifts: Vec<usize> = self.points[point]
            .shifts
            .iter()
            .enumerate()
            .filter(|(_, s)| s.role == role)
            .map(|(i, _)| i)
            .collect();
        let current: u32 = shifts
            .iter()
            .map(|&i| self.points[point].shifts[i].count)
            .sum();
        let list = &mut self.points[point].shifts;
        if total >= current {
            if let Some(&first) = shifts.first() {
                list[first].count += total - current;
            }
        } else {
            let mut remove = current - total;
            for &i in shifts.iter().rev() {
                let take = remove.min(list[i].count);
                list[i].count -= take;
                remove -= take;
            }
        }
    }

    /// The roles with work at `point` whose steps have no staff there.
    pub fn unstaffed(&self, point: usize) -> Vec<RoleIdx> {
        let shifts = &self.points[point].shifts;
        let mut out: Vec<RoleIdx> = Vec::new();
        for step in self.steps.iter().filter(|s| s.needs_person()) {
            let staffed = shifts
                .iter()
                .any(|s| step.servers.contains(&s.role) && s.count > 0 && !s.intervals.is_empty());
            if !staffed
                && let Some(&r) = step.servers.first()
                && !out.contains(&r)
            {
                out.push(r);
            }
        }
        out
    }

    /// Simulated time at `at`.
    pub fn micros_of(&self, at: OffsetDateTime) -> i64 {
        i64::try_from((at - self.base).whole_microseconds()).unwrap_or(i64::MAX)
    }

    /// The instant of simulated time `t`.
    pub fn instant(&self, t: i64) -> OffsetDateTime {
        self.base + time::Duration::microseconds(t)
    }
}

/// `base` with what `again` gives over it.
fn merged(base: &VisitSpec, again: Option<&VisitSpec>) -> VisitSpec {
    let Some(again) = again else {
        return base.clone();
    };
    let mut out = base.clone();
    if again.time.is_some() {
        out.time = again.time.clone();
    }
    if again.delay.is_some() {
        out.delay = again.delay.clone();
    }
    if again.outcome.is_some() {
        out.outcome = again.outcome.clone();
    }
    for (k, v) in &again.data {
        out.data.insert(k.clone(), v.clone());
    }
    for (k, v) in &again.documents {
        out.documents.insert(k.clone(), *v);
    }
    out
}

fn visit_model(
    sop: &Sop,
    idx: usize,
    spec: &VisitSpec,
    adapter_time: Option<&crate::dist::DistSpec>,
    key: &str,
    p: &mut Problems,
) -> VisitModel {
    let step = sop.step(idx);
    let compile = |d: &crate::dist::DistSpec, what: &str, p: &mut Problems| match d.compile() {
        Ok(d) => Some(d),
        Err(e) => {
            p.push(format!("{key}.{what}: {e}"));
            None
        }
    };
    let time = match (&spec.time, adapter_time) {
        (Some(t), _) => compile(t, "time", p),
        (None, Some(t)) if step.kind == StepKind::Service => compile(t, "time", p),
        (None, _) if step.kind == StepKind::Queue => Some(Dist::Fixed(0.0)),
        _ => None,
    };
    let delay = spec.delay.as_ref().and_then(|d| compile(d, "delay", p));
    let mut data = Vec::new();
    for (field, v) in &spec.data {
        let fkey = format!("{key}.data.{field}");
        // What a step may set: its `collects` and its `requires` (the engine's rule).
        let settable = sop.settable(idx);
        if !settable.contains(field) {
            p.push(format!(
                "{fkey}: step `{}` does not collect `{field}` (it collects: {})",
                step.id,
                if settable.is_empty() {
                    "nothing".to_owned()
                } else {
                    settable.join(", ")
                }
            ));
            continue;
        }
        if let Some(d) = value_dist(sop, Some(field), v, &fkey, p) {
            data.push((field.clone(), d));
        }
    }
    let mut documents = Vec::new();
    for (doc, prob) in &spec.documents {
        let dkey = format!("{key}.documents.{doc}");
        if !step.documents.contains(doc) {
            p.push(format!(
                "{dkey}: step `{}` takes no document `{doc}` (its documents: {})",
                step.id,
                if step.documents.is_empty() {
                    "none".to_owned()
                } else {
                    step.documents.join(", ")
                }
            ));
            continue;
        }
        if !(0.0..=1.0).contains(prob) {
            p.push(format!("{dkey}: a probability, between 0 and 1"));
            continue;
        }
        documents.push((doc.clone(), *prob));
    }
    let outcome = match &spec.outcome {
        None => {
            if !step.outcomes.is_empty() && step.kind != StepKind::Queue {
                p.push(format!(
                    "{key}: step `{}` completes with an outcome ({}): give `outcome = ...`",
                    step.id,
                    step.outcomes.join(", ")
                ));
            }
            None
        }
        Some(v) => {
            let d = value_dist(sop, None, v, &format!("{key}.outcome"), p);
            if let Some(d) = &d {
                for (value, _) in d.shares() {
                    let ok = value
                        .as_str()
                        .is_some_and(|s| step.outcomes.iter().any(|o| o == s));
                    if !ok {
                        p.push(format!(
                            "{key}.outcome: {value} is not an outcome of step `{}` ({})",
                            step.id,
                            if step.outcomes.is_empty() {
                                "it has none".to_owned()
                            } else {
                                step.outcomes.join(", ")
                            }
                        ));
                    }
                }
            }
            d
        }
    };
    VisitModel {
        time,
        delay,
        data,
        documents,
        outcome,
    }
}

/// A value spec as values of `field` (or outcomes, for `None`), each checked against the
/// field's schema.
fn value_dist(
    sop: &Sop,
    field: Option<&str>,
    spec: &ValueSpec,
    key: &str,
    p: &mut Problems,
) -> Option<ValueDist> {
    let valid = |v: &Value| match (field, sop.field_validators()) {
        (Some(f), Some(validators)) => validators.is_valid(f, v),
        _ => true,
    };
    match spec {
        ValueSpec::Fixed(v) => {
            if !valid(v) {
                p.push(format!(
                    "{key}: {v} is not a valid value of `{}`",
                    field.unwrap_or("")
                ));
                return None;
            }
            Some(ValueDist::Fixed(v.clone()))
        }
        ValueSpec::Bernoulli(prob) => Some(ValueDist::Choice(vec![
            (Value::Bool(true), *prob),
            (Value::Bool(false), 1.0),
        ])),
        ValueSpec::Choice(weights) => {
            let total: f64 = weights.values().sum();
            let mut acc = 0.0;
            let mut out = Vec::new();
            let n = weights.len();
            for (i, (k, w)) in weights.iter().enumerate() {
                let value = match interpret(sop, field, k) {
                    Some(v) => v,
                    None => {
                        p.push(format!(
                            "{key}: `{k}` is not a valid value of `{}`",
                            field.unwrap_or("")
                        ));
                        continue;
                    }
                };
                acc += w / total;
                out.push((value, if i + 1 == n { 1.0 } else { acc }));
            }
            Some(ValueDist::Choice(out))
        }
    }
}

/// A choice key as the value the field takes: text, or the boolean, number or null it
/// spells when the field accepts that instead.
fn interpret(sop: &Sop, field: Option<&str>, key: &str) -> Option<Value> {
    let text = Value::String(key.to_owned());
    let Some(field) = field else {
        return Some(text);
    };
    let mut candidates = vec![text];
    match key {
        "true" => candidates.push(Value::Bool(true)),
        "false" => candidates.push(Value::Bool(false)),
        "null" => candidates.push(Value::Null),
        _ => {
            if let Ok(i) = key.parse::<i64>() {
                candidates.push(Value::from(i));
            } else if let Ok(f) = key.parse::<f64>()
                && let Some(n) = serde_json::Number::from_f64(f)
            {
                candidates.push(Value::Number(n));
            }
        }
    }
    match sop.field_validators() {
        Some(v) => candidates.into_iter().find(|c| v.is_valid(field, c)),
        // Without per-field validators, by the declared type.
        None => {
            let ty = sop
                .document()
                .case_schema
                .get("properties")
                .and_then(|p| p.get(field))
                .and_then(|s| s.get("type"))
                .and_then(Value::as_str);
            let want = |c: &Value| match ty {
                Some("boolean") => c.is_boolean(),
                Some("integer") | Some("number") => c.is_number(),
                Some("null") => c.is_null(),
                _ => c.is_string(),
            };
            candidates.into_iter().find(want)
        }
    }
}

/// Day indices of the closed dates.
fn closed_days(
    dates: &[String],
    start: Date,
    total_days: i64,
    key: &str,
    p: &mut Problems,
) -> Vec<bool> {
    let mut closed = vec![false; usize::try_from(total_days).unwrap_or(0)];
    for d in dates {
        match Date::parse(d, time::macros::format_description!("[year]-[month]-[day]")) {
            Ok(date) => {
                let day = (date - start).whole_days();
                if let Some(slot) = usize::try_from(day).ok().and_then(|i| closed.get_mut(i)) {
                    *slot = true;
                }
            }
            Err(_) => p.push(format!("{key}.closed: {d:?} is not a date YYYY-MM-DD")),
        }
    }
    closed
}

/// Minutes from midnight of `HH:MM` (`24:00` allowed).
fn clock(text: &str) -> Option<i64> {
    let (h, m) = text.trim().split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    let ok = (0..=24).contains(&h) && (0..60).contains(&m) && (h < 24 || m == 0);
    ok.then_some(h * 60 + m)
}

/// The ranges of a day's hours, microseconds from its midnight.
fn day_ranges(hours: &[String], key: &str, p: &mut Problems) -> Vec<(i64, i64)> {
    let mut out = Vec::new();
    for h in hours {
        if h.trim() == "closed" {
            continue;
        }
        let parsed = h
            .split_once('-')
            .and_then(|(a, b)| Some((clock(a)?, clock(b)?)));
        match parsed {
            Some((a, b)) if a < b => out.push((a * 60_000_000, b * 60_000_000)),
            _ => p.push(format!(
                "{key}: {h:?} is not a range of hours such as \"08:00-16:00\""
            )),
        }
    }
    out.sort_unstable();
    if out.windows(2).any(|w| w[1].0 < w[0].1) {
        p.push(format!("{key}: ranges overlap"));
    }
    out
}

/// The working intervals of `hours` over `days` days (closed days excluded).
fn intervals(
    hours: &WeekHours,
    first_weekday: usize,
    days: i64,
    closed: &[bool],
    key: &str,
    p: &mut Problems,
) -> Vec<(i64, i64)> {
    let week: Vec<Vec<(i64, i64)>> = (0..7)
        .map(|d| {
            hours
                .of(d)
                .map(|h| day_ranges(&h.0, &format!("{key}.{}", WEEKDAYS[d]), p))
                .unwrap_or_default()
        })
        .collect();
    let mut out: Vec<(i64, i64)> = Vec::new();
    for day in 0..days {
        if closed.get(day as usize).copied().unwrap_or(false) {
            continue;
        }
        let weekday = (first_weekday + day as usize) % 7;
        for &(a, b) in &week[weekday] {
            let (a, b) = (day * DAY + a, day * DAY + b);
            // A shift to 24:00 that goes on at 00:00 is one interval.
            match out.last_mut() {
                Some(last) if last.1 == a => last.1 = b,
                _ => out.push((a, b)),
            }
        }
    }
    out
}

/// The arrival rate over the simulated days.
fn arrival_segments(
    arrivals: &Arrivals,
    open: &[(i64, i64)],
    first_weekday: usize,
    days: u32,
    closed: &[bool],
    key: &str,
    p: &mut Problems,
) -> Vec<Segment> {
    let horizon = i64::from(days) * DAY;
    let mut out = Vec::new();
    match (arrivals.per_hour, arrivals.by_hour.is_empty()) {
        (Some(rate), true) => {
            if !(rate.is_finite() && rate >= 0.0) {
                p.push(format!("{key}.per_hour: a number of applicants, 0 or more"));
                return out;
            }
            for &(a, b) in open {
                if a >= horizon {
                    break;
                }
                out.push(Segment {
                    start: a,
                    end: b.min(horizon),
                    rate: rate / HOUR as f64,
                });
            }
        }
        (None, false) => {
            let mut week: Vec<Option<&Vec<f64>>> = vec![None; 7];
            let mut every_day = None;
            let mut weekdays = None;
            for (day, rates) in &arrivals.by_hour {
                if rates.len() != 24 || rates.iter().any(|r| !(r.is_finite() && *r >= 0.0)) {
                    p.push(format!(
                        "{key}.by_hour.{day}: 24 numbers (applicants per hour from 00:00), each 0 or more"
                    ));
                    continue;
                }
                match day.as_str() {
                    "every_day" => every_day = Some(rates),
                    "weekdays" => weekdays = Some(rates),
                    d => match WEEKDAYS.iter().position(|w| *w == d) {
                        Some(i) => week[i] = Some(rates),
                        None => p.push(format!(
                            "{key}.by_hour.{d}: not a day (mon..sun, weekdays, every_day)"
                        )),
                    },
                }
            }
            for day in 0..i64::from(days) {
                if closed.get(day as usize).copied().unwrap_or(false) {
                    continue;
                }
                let wd = (first_weekday + day as usize) % 7;
                let rates = week[wd]
                    .or(if wd < 5 { weekdays } else { None })
                    .or(every_day);
                let Some(rates) = rates else { continue };
                for (h, r) in rates.iter().enumerate() {
                    if *r > 0.0 {
                        let start = day * DAY + h as i64 * HOUR;
                        out.push(Segment {
                            start,
                            end: start + HOUR,
                            rate: r / HOUR as f64,
                        });
                    }
                }
            }
        }
        _ => p.push(format!(
            "{key}: give exactly one of `per_hour` or `by_hour`"
        )),
    }
    out
}

/// Weekday names of a model, for reports.
pub fn weekday_name(day: usize) -> &'static str {
    WEEKDAYS[day % 7]
}

/// Sorted map helper for reports: (point, role) → staff.
pub fn staff_map(model: &Model) -> BTreeMap<(String, String), u32> {
    model
        .staffing()
        .into_iter()
        .map(|(p, r, n)| ((model.points[p].id.clone(), model.roles[r].clone()), n))
        .collect()
}

pub fn seconds(us: i64) -> f64 {
    us as f64 / 1e6
}

pub fn to_micros(seconds: f64) -> i64 {
    micros(seconds)
}
