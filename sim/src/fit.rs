//! `--fit-from`: a scenario estimated from real case histories.
//!
//! From the events of the cases (the engine's own JSON, as the store keeps them):
//! - arrivals: cases opened per hour of the day and weekday, divided by the number of such
//!   weekdays in the range;
//! - handling times, per step and visit (first or later), by maximum likelihood with the
//!   family chosen by goodness of fit ([`crate::dist::fit`]). A history records when a step
//!   was entered and completed, not when a person took it up; that is estimated per person
//!   as a single-server log is read: a person takes a step up when it is there and they
//!   have finished their previous one (`start = max(entered, their previous completion)`),
//!   so the handling time is `completed - start`. Queue calls are one action (time 0);
//!   adapter times run from the request to the answer;
//! - the data steps set, the documents handed in and the outcomes, as shares per value
//!   (personal fields never: a shape-keeping fictitious value stands for them);
//! - staff: people recording a role's steps per working day; opening hours from the hours
//!   with arrivals.
//!
//! Not in a history, so kept from the base scenario (or left out): delays before later
//! visits (an applicant fetching a document looks the same as waiting), whether an adapter
//! is attended, wait targets, seed and replications.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;

use serde_json::Value;
use sopflow_engine::case::{Event, EventBody};
use sopflow_engine::sop::Sop;
use sopflow_engine::sop::model::StepKind;
use time::{OffsetDateTime, UtcOffset};

use crate::dist::{DistSpec, fit};
use crate::duration::Seconds;
use crate::scenario::{
    AdapterSpec, Arrivals, Hours, Scenario, ServicePoint, Staff, StepSpec, ValueSpec, VisitSpec,
    WEEKDAYS, WeekHours,
};

/// A value is fitted as a choice only among this many distinct values; a field with more is
/// not a category (a free text, a number) and gets a fictitious fixed value.
const MAX_CHOICES: usize = 20;

#[derive(Default)]
struct Visits {
    handles: Vec<f64>,
    completed: u64,
    documents: BTreeMap<String, u64>,
    data: BTreeMap<String, BTreeMap<String, (Value, u64)>>,
    outcomes: BTreeMap<String, u64>,
}

/// Histories go in one case at a time; [`Fitter::finish`] gives the scenario.
pub struct Fitter<'s> {
    sop: &'s Sop,
    offset: UtcOffset,
    cases: u64,
    arrivals: Vec<OffsetDateTime>,
    opening: BTreeMap<String, BTreeMap<String, (Value, u64)>>,
    /// [step][0 first visit, 1 later ones]
    steps: Vec<[Visits; 2]>,
    adapters: BTreeMap<String, Vec<f64>>,
    /// Per user: (completed, entered, step, later visit).
    work: HashMap<String, Vec<(OffsetDateTime, OffsetDateTime, usize, usize)>>,
    /// Per (role, local date): users who recorded steps.
    staff_days: BTreeMap<(String, time::Date), BTreeSet<String>>,
    branches: BTreeMap<(String, String), u64>,
    skipped: u64,
}

/// The fitted scenario and what the fit says about itself.
pub struct Fitted {
    pub scenario: Scenario,
    pub notes: Vec<String>,
    pub cases: u64,
}

impl<'s> Fitter<'s> {
    pub fn new(sop: &'s Sop, offset: UtcOffset) -> Self {
        Self {
            sop,
            offset,
            cases: 0,
            arrivals: Vec::new(),
            opening: BTreeMap::new(),
            steps: (0..sop.step_count()).map(|_| Default::default()).collect(),
            adapters: BTreeMap::new(),
            work: HashMap::new(),
            staff_days: BTreeMap::new(),
            branches: BTreeMap::new(),
            skipped: 0,
        }
    }

    /// One case's history, in order.
    pub fn add(&mut self, events: &[Event]) {
        let Some(first) = events.first() else {
            return;
        };
        let EventBody::CaseStarted { sop_id, data, .. } = &first.body else {
            self.skipped += 1;
            return;
        };
        if sop_id != self.sop.id() {
            self.skipped += 1;
            return;
        }
        self.cases += 1;
        self.arrivals.push(first.at);
        for (field, value) in data {
            count_value(&mut self.opening, field, value);
        }
        // The visit in progress per step: (entered, later visit).
        let mut current: HashMap<usize, (OffsetDateTime, usize)> = HashMap::new();
        let mut requested: Option<(String, OffsetDateTime)> = None;
        for (event, fact) in events.iter().flat_map(|e| e.facts().map(move |f| (e, f))) {
            let step_of = |id: &str| self.sop.step_index(id);
            match fact {
                EventBody::StepEntered { step, visit, .. } => {
                    if let Some(i) = step_of(step) {
                        current.insert(i, (event.at, usize::from(*visit > 1)));
                    }
                }
                EventBody::DataRecorded { step, data } => {
                    if let Some(i) = step_of(step) {
                        let class = current.get(&i).map_or(0, |c| c.1);
                        for (field, value) in data {
                            count_value(&mut self.steps[i][class].data, field, value);
                        }
                    }
                }
                EventBody::DocumentsRecorded { step, documents } => {
                    if let Some(i) = step_of(step) {
                        let class = current.get(&i).map_or(0, |c| c.1);
                        for d in documents.iter().filter(|d| d.received) {
                            *self.steps[i][class]
                                .documents
                                .entry(d.doc.clone())
                                .or_default() += 1;
                        }
                    }
                }
                EventBody::AdapterRequested { adapter, .. } => {
                    requested = Some((adapter.to_string(), event.at));
                }
                EventBody::AdapterCompleted { .. } => {
                    if let Some((adapter, at)) = requested.take() {
                        let secs = (event.at - at).as_seconds_f64();
                        self.adapters.entry(adapter).or_default().push(secs);
                    }
                }
                EventBody::StepCompleted {
                    step,
                    outcome,
                    documents,
                    data,
                    ..
                } => {
                    let Some(i) = step_of(step) else { continue };
                    let (entered, class) = current.get(&i).copied().unwrap_or((event.at, 0));
                    let visits = &mut self.steps[i][class];
                    // v2: the data and documents recorded with the completion.
                    for (field, value) in data {
                        count_value(&mut visits.data, field, value);
                    }
                    for d in documents.iter().filter(|d| d.received) {
                        *visits.documents.entry(d.doc.clone()).or_default() += 1;
                    }
                    visits.completed += 1;
                    if let Some(o) = outcome {
                        *visits.outcomes.entry(o.clone()).or_default() += 1;
                    }
                    let kind = self.sop.kind(i);
                    if matches!(kind, StepKind::Task | StepKind::Queue)
                        && &*event.by.role != "system"
                    {
                        let user = event.by.user.to_string();
                        self.work
                            .entry(user.clone())
                            .or_default()
                            .push((event.at, entered, i, class));
                        let date = event.at.to_offset(self.offset).date();
                        self.staff_days
                            .entry((event.by.role.to_string(), date))
                            .or_default()
                            .insert(user);
                    }
                }
                EventBody::BranchTaken { from, to, .. } => {
                    *self
                        .branches
                        .entry((from.to_string(), to.to_string()))
                        .or_default() += 1;
                }
                _ => {}
            }
        }
    }

    /// The scenario, over the days from `from` to `to`; what no history tells comes from
    /// `base`.
    pub fn finish(
        mut self,
        base: Option<&Scenario>,
        from: OffsetDateTime,
        to: OffsetDateTime,
        point: &str,
    ) -> Result<Fitted, crate::SimError> {
        if self.cases == 0 {
            return Err(crate::SimError::Invalid(format!(
                "no case of SOP `{}` opened in the range to fit from",
                self.sop.id()
            )));
        }
        let mut notes = Vec::new();
        let sop = self.sop;
        let doc = sop.document();
        // Handling times from each person's sequence of completions. A person's first
        // completion of a day has no known start (when did they sit down?), so it is left
        // out; so are times far beyond the rest (a break between two cases).
        let offset = self.offset;
        let mut users: Vec<&String> = self.work.keys().collect();
        users.sort();
        let mut first_of_day = 0u64;
        for user in users {
            let mut list = self.work[user].clone();
            // Two completions by one person at the same instant (a step, then a queue call
            // that takes no time): the one entered first was done first.
            list.sort_by_key(|w| (w.0, w.1));
            let mut previous: Option<OffsetDateTime> = None;
            for &(completed, entered, step, class) in &list {
                let same_day = previous.is_some_and(|p| {
                    p.to_offset(offset).date() == completed.to_offset(offset).date()
                });
                if sop.kind(step) == StepKind::Task {
                    if same_day {
                        let start = previous.map_or(entered, |p| p.max(entered));
                        let secs = (completed - start).as_seconds_f64().max(0.0);
                        self.steps[step][class].handles.push(secs);
                    } else {
                        first_of_day += 1;
                    }
                }
                previous = Some(completed);
            }
        }
        let mut breaks = 0;
        for visits in self.steps.iter_mut().flatten() {
            breaks += trim_breaks(&mut visits.handles);
        }
        // An attended adapter's time holds the wait for its person too, overnight at worst.
        for times in self.adapters.values_mut() {
            breaks += trim_breaks(times);
        }
        notes.push(format!(
            "handling times: {first_of_day} first completions of a person's day left out (no known start), \
             {breaks} far beyond the rest of their step or adapter (breaks) left out"
        ));
        let base_steps = base.map(|b| b.steps.clone()).unwrap_or_default();
        let mut steps = BTreeMap::new();
        for (i, step) in doc.steps.iter().enumerate() {
            if matches!(step.kind, StepKind::Decision | StepKind::End) {
                continue;
            }
            let base_step = base_steps.get(&step.id);
            let [first, later] = &self.steps[i];
            if first.completed == 0 && later.completed == 0 {
                if let Some(b) = base_step {
                    steps.insert(step.id.clone(), b.clone());
                }
                notes.push(format!("step `{}`: never completed in the range", step.id));
                continue;
            }
            let base_delay = base_step
                .and_then(|b| b.again.as_ref())
                .and_then(|a| a.delay.clone());
            let mut spec = visit_spec(sop, i, first, &mut notes, "first visits");
            let mut again = visit_spec(sop, i, later, &mut notes, "later visits");
            if base_delay.is_some() && again.time.is_some() {
                // A later visit's time from the history holds the applicant's return too;
                // with the base scenario's delay for that, the first visits' time stands.
                again.time = None;
                notes.push(format!(
                    "step `{}`, later visits: times not fitted (they include the return the \
                     base scenario's delay stands for)",
                    step.id
                ));
            }
            if step.kind == StepKind::Queue {
                spec.time = Some(DistSpec::Fixed(Seconds(0.0)));
                again.time = None;
            }
            again.delay = base_delay;
            let wait_target = base_step.and_then(|b| b.wait_target);
            let again = (later.completed > 0 || again.delay.is_some())
                .then_some(again)
                .filter(|a| *a != VisitSpec::default());
            steps.insert(
                step.id.clone(),
                StepSpec {
                    time: spec.time,
                    delay: base_step.and_then(|b| b.delay.clone()),
                    wait_target,
                    data: spec.data,
                    documents: spec.documents,
                    outcome: spec.outcome,
                    again,
                },
            );
        }
        let mut adapters = BTreeMap::new();
        for a in &doc.adapters {
            let base_adapter = base.and_then(|b| b.adapters.get(&a.id));
            let attended = base_adapter.is_some_and(|b| b.attended);
            let time = match self.adapters.get(&a.id).and_then(|t| fit(t)) {
                Some(f) => {
                    notes.push(format!(
                        "adapter `{}`: {} answers, {}",
                        a.id,
                        f.n,
                        describe(&f)
                    ));
                    Some(f.spec)
                }
                None => base_adapter.and_then(|b| b.time.clone()),
            };
            if time.is_some() || attended {
                adapters.insert(a.id.clone(), AdapterSpec { time, attended });
            }
        }
        // Arrivals per hour and weekday.
        let first_day = from.to_offset(self.offset).date();
        let last_day = to.to_offset(self.offset).date();
        let mut weekdays = [0u32; 7];
        let mut d = first_day;
        while d < last_day || (d == first_day && d == last_day) {
            weekdays[usize::from(d.weekday().number_days_from_monday())] += 1;
            match d.next_day() {
                Some(n) => d = n,
                None => break,
            }
        }
        let mut counts = [[0u64; 24]; 7];
        for at in &self.arrivals {
            let local = at.to_offset(self.offset);
            let wd = usize::from(local.weekday().number_days_from_monday());
            counts[wd][usize::from(local.hour())] += 1;
        }
        let mut by_hour = BTreeMap::new();
        let mut hours = WeekHours::default();
        for wd in 0..7 {
            if weekdays[wd] == 0 || counts[wd].iter().all(|c| *c == 0) {
                continue;
            }
            let rates: Vec<f64> = counts[wd]
                .iter()
                .map(|c| (*c as f64 / f64::from(weekdays[wd]) * 100.0).round() / 100.0)
                .collect();
            let open = rates.iter().position(|r| *r > 0.0).unwrap_or(0);
            let close = rates.iter().rposition(|r| *r > 0.0).map_or(24, |h| h + 1);
            set_day(
                &mut hours,
                wd,
                Hours(vec![format!("{open:02}:00-{close:02}:00")]),
            );
            by_hour.insert(WEEKDAYS[wd].to_owned(), rates);
        }
        // Staff: people per role per working day, the mean rounded up.
        let mut per_role: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for ((role, _), users) in &self.staff_days {
            per_role.entry(role.clone()).or_default().push(users.len());
        }
        let mut staff = BTreeMap::new();
        for (role, days) in &per_role {
            let mean = days.iter().sum::<usize>() as f64 / days.len() as f64;
            staff.insert(role.clone(), Staff::Count(mean.ceil() as u32));
        }
        let base_point = base.and_then(|b| b.service_points.values().next());
        for (role, s) in base_point.map(|p| p.staff.clone()).unwrap_or_default() {
            staff.entry(role).or_insert(s);
        }
        // The data cases open with.
        let mut opening = BTreeMap::new();
        for (field, values) in &self.opening {
            if let Some(v) = value_spec(sop, field, values) {
                opening.insert(field.clone(), v);
            }
        }
        if let Some(b) = base {
            for (field, v) in &b.case.data {
                // Personal fields: a value the scenario's author chose beats a made-up one.
                if sop.personal_fields().contains(field) || !opening.contains_key(field) {
                    opening.insert(field.clone(), v.clone());
                }
            }
        }
        let total: u64 = self.branches.values().sum();
        if total > 0 {
            for ((from, to), n) in &self.branches {
                let all: u64 = self
                    .branches
                    .iter()
                    .filter(|((f, _), _)| f == from)
                    .map(|(_, n)| n)
                    .sum();
                if self.branches.keys().filter(|(f, _)| f == from).count() > 1 {
                    notes.push(format!(
                        "observed branch {from} -> {to}: {:.1}% of {all}",
                        *n as f64 * 100.0 / all as f64
                    ));
                }
            }
        }
        if self.skipped > 0 {
            notes.push(format!(
                "{} histories of other SOPs or unreadable skipped",
                self.skipped
            ));
        }
        notes.insert(
            0,
            format!(
                "fitted from {} cases of SOP `{}` opened from {} to {}",
                self.cases,
                sop.id(),
                first_day,
                last_day
            ),
        );
        let scenario = Scenario {
            sop: Some(sop.id().to_owned()),
            seed: base.map_or_else(crate::scenario::default_seed, |b| b.seed),
            replications: base
                .map_or_else(crate::scenario::default_replications, |b| b.replications),
            days: base.map_or_else(crate::scenario::default_days, |b| b.days),
            start: base.map_or_else(crate::scenario::default_start, |b| b.start.clone()),
            time_zone: base.map_or_else(|| format_offset(self.offset), |b| b.time_zone.clone()),
            warm_up: base.and_then(|b| b.warm_up),
            drain: base.and_then(|b| b.drain),
            service_points: BTreeMap::from([(
                point.to_owned(),
                ServicePoint {
                    name: base_point.and_then(|p| p.name.clone()),
                    hours,
                    closed: base_point.map(|p| p.closed.clone()).unwrap_or_default(),
                    arrivals: Arrivals {
                        per_hour: None,
                        by_hour,
                    },
                    staff,
                },
            )]),
            case: crate::scenario::CaseSpec { data: opening },
            steps,
            adapters,
        };
        Ok(Fitted {
            scenario,
            notes,
            cases: self.cases,
        })
    }
}

/// Drops the times beyond the third quartile plus ten interquartile ranges (far into the
/// tail of any family fitted here: an exponential passes it once in 200,000 draws); returns
/// how many.
fn trim_breaks(times: &mut Vec<f64>) -> u64 {
    if times.len() < 8 {
        return 0;
    }
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let q = |p: f64| sorted[((p * (sorted.len() - 1) as f64).round()) as usize];
    let limit = q(0.75) + 10.0 * (q(0.75) - q(0.25));
    let before = times.len();
    times.retain(|t| *t <= limit);
    (before - times.len()) as u64
}

fn format_offset(offset: UtcOffset) -> String {
    let (h, m, _) = offset.as_hms();
    format!(
        "{}{:02}:{:02}",
        if offset.is_negative() { '-' } else { '+' },
        h.abs(),
        m.abs()
    )
}

fn set_day(hours: &mut WeekHours, day: usize, h: Hours) {
    let slot = match day {
        0 => &mut hours.mon,
        1 => &mut hours.tue,
        2 => &mut hours.wed,
        3 => &mut hours.thu,
        4 => &mut hours.fri,
        5 => &mut hours.sat,
        _ => &mut hours.sun,
    };
    *slot = Some(h);
}

fn count_value(
    into: &mut BTreeMap<String, BTreeMap<String, (Value, u64)>>,
    field: &str,
    value: &Value,
) {
    let values = into.entry(field.to_owned()).or_default();
    // Bounded: a field with many values is not a category and is not kept value by value.
    if values.len() > MAX_CHOICES && !values.contains_key(&value.to_string()) {
        return;
    }
    values
        .entry(value.to_string())
        .or_insert_with(|| (value.clone(), 0))
        .1 += 1;
}

fn describe(f: &crate::dist::Fitted) -> String {
    match f.family {
        "fixed" | "empirical" => format!("{} {}", f.family, f.spec),
        _ => format!("{} {} (KS distance {:.3})", f.family, f.spec, f.ks),
    }
}

fn visit_spec(
    sop: &Sop,
    step: usize,
    v: &Visits,
    notes: &mut Vec<String>,
    what: &str,
) -> VisitSpec {
    let s = sop.step(step);
    let mut out = VisitSpec::default();
    if v.completed == 0 {
        return out;
    }
    if let Some(f) = fit(&v.handles) {
        notes.push(format!(
            "step `{}`, {what}: {} times, {}",
            s.id,
            f.n,
            describe(&f)
        ));
        out.time = Some(f.spec);
    }
    for (field, values) in &v.data {
        if let Some(spec) = value_spec(sop, field, values) {
            out.data.insert(field.clone(), spec);
        }
    }
    for doc in &s.documents {
        let n = v.documents.get(doc).copied().unwrap_or(0);
        let p = (n as f64 / v.completed as f64 * 1000.0).round() / 1000.0;
        out.documents.insert(doc.clone(), p.min(1.0));
    }
    if !s.outcomes.is_empty() {
        let weights: BTreeMap<String, f64> = v
            .outcomes
            .iter()
            .map(|(k, n)| (k.clone(), *n as f64))
            .collect();
        if !weights.is_empty() {
            out.outcome = Some(ValueSpec::Choice(shares(weights)));
        }
    }
    out
}

/// Weights as shares with three decimals.
fn shares(weights: BTreeMap<String, f64>) -> BTreeMap<String, f64> {
    let total: f64 = weights.values().sum();
    weights
        .into_iter()
        .map(|(k, w)| (k, (w / total * 1000.0).round() / 1000.0))
        .collect()
}

/// The distribution of a field's observed values; personal fields and non-categories as a
/// fictitious value of the same shape.
fn value_spec(
    sop: &Sop,
    field: &str,
    values: &BTreeMap<String, (Value, u64)>,
) -> Option<ValueSpec> {
    let personal = sop.personal_fields().iter().any(|p| p == field);
    if personal || values.len() > MAX_CHOICES {
        let sample = values.values().map(|(v, _)| v).find(|v| !v.is_object())?;
        return Some(ValueSpec::Fixed(placeholder(sample)));
    }
    if values.len() == 1 {
        return values
            .values()
            .next()
            .map(|(v, _)| ValueSpec::Fixed(v.clone()));
    }
    let weights: BTreeMap<String, f64> = values
        .values()
        .map(|(v, n)| {
            let key = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (key, *n as f64)
        })
        .collect();
    Some(ValueSpec::Choice(shares(weights)))
}

/// A value of the same shape that says nothing of the original: digits become 0 and
/// letters X (a 16-digit NIK stays 16 digits), numbers 0, booleans false.
fn placeholder(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::String(
            s.chars()
                .map(|c| {
                    if c.is_ascii_digit() {
                        '0'
                    } else if c.is_alphabetic() {
                        'X'
                    } else {
                        c
                    }
                })
                .collect(),
        ),
        Value::Number(_) => Value::from(0),
        Value::Bool(_) => Value::Bool(false),
        other => other.clone(),
    }
}

/// Reads the histories of the cases of `sop` opened in `[from, to)` from a store, one page
/// of cases at a time, into `fitter`.
pub async fn read_store(
    store: &sopflow_store::Store,
    fitter: &mut Fitter<'_>,
    from: OffsetDateTime,
    to: OffsetDateTime,
) -> Result<(), crate::SimError> {
    let filter = sopflow_store::CaseFilter {
        sop_id: Some(fitter.sop.id().to_owned()),
        ..Default::default()
    };
    let mut page = sopflow_store::Page::first(200);
    loop {
        let cases = store.list_cases(&filter, &page).await?;
        for case in &cases {
            if case.created_at < from || case.created_at >= to {
                continue;
            }
            let stored = store.events(&case.case_id).await?;
            let events: Result<Vec<Event>, _> = stored
                .iter()
                .map(|e| serde_json::from_value::<Event>(e.payload.clone()))
                .collect();
            match events {
                Ok(events) => fitter.add(&events),
                Err(_) => fitter.skipped += 1,
            }
        }
        match cases.last() {
            Some(last) if cases.len() == page.limit as usize => {
                page.after = Some(last.case_id.clone())
            }
            _ => break,
        }
    }
    Ok(())
}

/// The scenario as a TOML file a person edits.
pub fn to_toml(s: &Scenario, notes: &[String]) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# Fitted by `sopflow simulate --fit-from`. Edit and simulate again."
    );
    for n in notes {
        let _ = writeln!(o, "# {n}");
    }
    o.push('\n');
    if let Some(sop) = &s.sop {
        let _ = writeln!(o, "sop = {}", quote(sop));
    }
    let _ = writeln!(o, "seed = {}", s.seed);
    let _ = writeln!(o, "replications = {}", s.replications);
    let _ = writeln!(o, "days = {}", s.days);
    let _ = writeln!(o, "start = {}", quote(&s.start));
    let _ = writeln!(o, "time_zone = {}", quote(&s.time_zone));
    if let Some(w) = s.warm_up {
        let _ = writeln!(o, "warm_up = {}", quote(&w.to_string()));
    }
    if let Some(d) = s.drain {
        let _ = writeln!(o, "drain = {}", quote(&d.to_string()));
    }
    for (id, p) in &s.service_points {
        let _ = writeln!(o, "\n[service_points.{}]", key(id));
        if let Some(name) = &p.name {
            let _ = writeln!(o, "name = {}", quote(name));
        }
        for (i, day) in ["every_day", "weekdays"]
            .iter()
            .chain(WEEKDAYS.iter())
            .enumerate()
        {
            let h = match i {
                0 => &p.hours.every_day,
                1 => &p.hours.weekdays,
                n => match n - 2 {
                    0 => &p.hours.mon,
                    1 => &p.hours.tue,
                    2 => &p.hours.wed,
                    3 => &p.hours.thu,
                    4 => &p.hours.fri,
                    5 => &p.hours.sat,
                    _ => &p.hours.sun,
                },
            };
            if let Some(h) = h {
                let ranges: Vec<String> = h.0.iter().map(|r| quote(r)).collect();
                let _ = writeln!(o, "hours.{day} = [{}]", ranges.join(", "));
            }
        }
        if !p.closed.is_empty() {
            let dates: Vec<String> = p.closed.iter().map(|d| quote(d)).collect();
            let _ = writeln!(o, "closed = [{}]", dates.join(", "));
        }
        if let Some(r) = p.arrivals.per_hour {
            let _ = writeln!(o, "arrivals.per_hour = {r}");
        }
        for (day, rates) in &p.arrivals.by_hour {
            let r: Vec<String> = rates.iter().map(|x| format!("{x}")).collect();
            let _ = writeln!(o, "arrivals.by_hour.{day} = [{}]", r.join(", "));
        }
        for (role, staff) in &p.staff {
            match staff {
                Staff::Count(n) => {
                    let _ = writeln!(o, "staff.{} = {n}", key(role));
                }
                Staff::Shifts(shifts) => {
                    let text = toml::Value::try_from(shifts)
                        .map(|v| v.to_string())
                        .unwrap_or_default();
                    let _ = writeln!(o, "staff.{} = {text}", key(role));
                }
            }
        }
    }
    if !s.case.data.is_empty() {
        o.push_str("\n[case.data]\n");
        for (field, v) in &s.case.data {
            // An absent field reads as null to guards: nothing to write.
            if *v != ValueSpec::Fixed(Value::Null) {
                let _ = writeln!(o, "{} = {}", key(field), value_toml(v));
            }
        }
    }
    for (id, step) in &s.steps {
        let _ = writeln!(o, "\n[steps.{}]", key(id));
        write_visit(
            &mut o,
            &VisitSpec {
                time: step.time.clone(),
                delay: step.delay.clone(),
                data: step.data.clone(),
                documents: step.documents.clone(),
                outcome: step.outcome.clone(),
            },
        );
        if let Some(t) = step.wait_target {
            let _ = writeln!(o, "wait_target = {}", quote(&t.to_string()));
        }
        if let Some(again) = &step.again {
            let _ = writeln!(o, "[steps.{}.again]", key(id));
            write_visit(&mut o, again);
        }
    }
    for (id, a) in &s.adapters {
        let _ = writeln!(o, "\n[adapters.{}]", key(id));
        if let Some(t) = &a.time {
            let _ = writeln!(o, "time = {t}");
        }
        if a.attended {
            o.push_str("attended = true\n");
        }
    }
    o
}

fn write_visit(o: &mut String, v: &VisitSpec) {
    if let Some(t) = &v.time {
        let _ = writeln!(o, "time = {t}");
    }
    if let Some(d) = &v.delay {
        let _ = writeln!(o, "delay = {d}");
    }
    for (field, value) in &v.data {
        if *value != ValueSpec::Fixed(Value::Null) {
            let _ = writeln!(o, "data.{} = {}", key(field), value_toml(value));
        }
    }
    if !v.documents.is_empty() {
        let docs: Vec<String> = v
            .documents
            .iter()
            .map(|(d, p)| format!("{} = {}", key(d), float(*p)))
            .collect();
        let _ = writeln!(o, "documents = {{ {} }}", docs.join(", "));
    }
    if let Some(out) = &v.outcome {
        let _ = writeln!(o, "outcome = {}", value_toml(out));
    }
}

fn float(x: f64) -> String {
    let text = format!("{x}");
    if text.contains('.') || text.contains('e') || text.contains("inf") || text.contains("NaN") {
        text
    } else {
        format!("{text}.0")
    }
}

fn quote(s: &str) -> String {
    toml::Value::String(s.to_owned()).to_string()
}

/// A key, quoted unless it is a bare key.
fn key(k: &str) -> String {
    if !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        k.to_owned()
    } else {
        quote(k)
    }
}

fn value_toml(v: &ValueSpec) -> String {
    match v {
        ValueSpec::Fixed(json) => json_toml(json),
        ValueSpec::Bernoulli(p) => format!("{{ bernoulli = {} }}", float(*p)),
        ValueSpec::Choice(c) => {
            let items: Vec<String> = c
                .iter()
                .map(|(k, w)| format!("{} = {}", key(k), float(*w)))
                .collect();
            format!("{{ choice = {{ {} }} }}", items.join(", "))
        }
    }
}

fn json_toml(v: &Value) -> String {
    match v {
        Value::String(s) => quote(s),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        // TOML has no null; callers leave null fields out (absent reads as null).
        Value::Null => quote(""),
        other => match toml::Value::try_from(other) {
            Ok(t) => format!("{{ value = {t} }}"),
            Err(_) => quote(&other.to_string()),
        },
    }
}
