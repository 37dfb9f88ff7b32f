//! One replication: a discrete-event simulation whose cases are real engine cases.
//!
//! Each case is a [`CaseState`] advanced by [`execute_in_place`] with the simulated time in
//! its [`Context`], exactly as the service advances it: the engine enters steps, evaluates
//! guards and document conditions, starts budget clocks and asks for queue numbers and
//! adapter calls. The simulation only plays the world around it:
//!
//! - applicants arrive (a Poisson process per service point whose rate may change every
//!   hour) and open a case at once, so budgets count from arrival;
//! - staff are resources: a step that a person must take up (a task, a queue call, an
//!   attended service step) waits for a free person of a role that may record it, at the
//!   case's service point, during that person's working hours. A free person takes the
//!   most urgent waiting work they may do: a queue strictly by its numbers, tasks by the due
//!   time of their budget clock (then by arrival), and between the two by that due time.
//!   A person who finishes a step goes on with the case's next step when they may record it
//!   (the officer who verified a file and the applicant stay at the desk), which never
//!   happens across a queue: the queue is there to be called in order;
//! - queue numbers are handed out per queue per local day, in the same command, as the
//!   runtime does; adapter answers come back as commands after their time;
//! - timers (`Tick`) are sent only when histories are kept: a tick records breaches and
//!   never changes a route, so the figures are the same without them.
//!
//! Everything is ordered by (time, sequence number), so a replication is a pure function of
//! the model, the replication index and the seed.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};

use serde_json::{Map, Value};
use sopflow_engine::case::{
    Actor, CaseState, CaseStatus, Command, Context, DocumentReceipt, Effect, Event, EventBody,
    QueueNumber, execute, execute_in_place,
};
use sopflow_engine::sop::model::StepKind;

use crate::SimError;
use crate::model::{DAY, HOUR, Model, VisitModel};
use crate::rng::{Purpose, SimRng};

/// A case may take this many commands at most: more means a loop the scenario never leaves
/// (a record that is never ready, a file never complete); the case is then left unfinished.
const MAX_COMMANDS: u32 = 2_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Arrival(u32),
    ShiftStart(u32),
    ShiftEnd(u32),
    /// A person finishes what they took up.
    Done(u32),
    /// An unattended adapter answers (slot, case number).
    Adapter(u32, u64),
    /// A delay before a step is over.
    Ready(u32, u64),
    Tick(u32, u64),
}

struct Person {
    point: usize,
    role: usize,
    actor: Actor,
    /// (point's shift index) whose intervals this person works.
    shift: usize,
    next_interval: usize,
    on_duty: bool,
    case: Option<u32>,
    since: i64,
    busy: i64,
    available: i64,
}

/// What a person or an adapter will record when the step is done, drawn when it is taken up.
#[derive(Default)]
struct Inputs {
    data: Map<String, Value>,
    documents: Vec<DocumentReceipt>,
    outcome: Option<String>,
}

struct SimCase {
    number: u64,
    point: usize,
    state: CaseState,
    rng: SimRng,
    measured: bool,
    /// When each visit (by index into `state.visits`) was taken up; -1 if not.
    starts: Vec<i64>,
    inputs: Option<Inputs>,
    key: Option<String>,
    commands: u32,
    history: Vec<Event>,
}

/// Waiting work of one step at one point.
enum Line {
    /// By (urgency, sequence).
    Tasks(BinaryHeap<Reverse<(i64, u64, u32)>>),
    /// By queue number, i.e. arrival in the queue; (urgency, sequence, slot).
    Queue(VecDeque<(i64, u64, u32)>),
}

impl Line {
    fn head(&self) -> Option<(i64, u64)> {
        match self {
            Line::Tasks(h) => h.peek().map(|Reverse((u, s, _))| (*u, *s)),
            Line::Queue(q) => q.front().map(|(u, s, _)| (*u, *s)),
        }
    }

    fn pop(&mut self) -> Option<u32> {
        match self {
            Line::Tasks(h) => h.pop().map(|Reverse((_, _, slot))| slot),
            Line::Queue(q) => q.pop_front().map(|(_, _, slot)| slot),
        }
    }

    fn push(&mut self, urgency: i64, seq: u64, slot: u32) {
        match self {
            Line::Tasks(h) => h.push(Reverse((urgency, seq, slot))),
            Line::Queue(q) => q.push_back((urgency, seq, slot)),
        }
    }
}

/// The number waiting in a line, since when (integrated into `Tally::queue_area`).
#[derive(Clone)]
struct Track {
    count: u64,
    since: i64,
}

/// Adds `weight` × the part of [from, to) inside [lo, hi) to `area`, per hour of the day.
fn integrate(area: &mut [f64; 24], weight: f64, from: i64, to: i64, lo: i64, hi: i64) {
    let (mut t, end) = (from.max(lo), to.min(hi));
    while t < end {
        let hour_end = (t / HOUR + 1) * HOUR;
        let until = hour_end.min(end);
        area[((t / HOUR) % 24) as usize] += weight * (until - t) as f64;
        t = until;
    }
}

fn overlap(a: i64, b: i64, lo: i64, hi: i64) -> i64 {
    (b.min(hi) - a.max(lo)).max(0)
}

/// Accumulated figures of one step.
#[derive(Debug, Clone, Default)]
pub struct StepTally {
    pub visits: u64,
    pub waits: Vec<i64>,
    pub handles: Vec<i64>,
    pub waited: u64,
    pub budget_visits: u64,
    pub within_budget: u64,
    pub target_visits: u64,
    pub within_target: u64,
}

/// What one replication counted, before it is reduced to figures.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub arrived: u64,
    pub completed: u64,
    pub incidents: u64,
    pub unfinished: u64,
    /// Cases within the SOP's total budget (or, without one, within every step budget).
    pub within: u64,
    /// Arrival to end of each completed case.
    pub durations: Vec<i64>,
    pub steps: Vec<StepTally>,
    /// Branches taken, `from * steps + to`.
    pub branches: Vec<u64>,
    /// Per person: (point, role, busy, available) within the measured window.
    pub people: Vec<(usize, usize, i64, i64)>,
    /// Per (point, step): waiting count × microseconds, per hour of day.
    pub queue_area: Vec<[f64; 24]>,
    /// Microseconds of the measured window per hour of day.
    pub coverage: [f64; 24],
}

/// One replication's result; histories only when asked for.
pub struct RepOutput {
    pub tally: Tally,
    /// (case id, events) of the measured cases, in the order they ended.
    pub histories: Vec<(String, Vec<Event>)>,
}

struct Sim<'m> {
    m: &'m Model,
    rep: u32,
    keep: bool,
    now: i64,
    seq: u64,
    agenda: BinaryHeap<Reverse<(i64, u64, Ev)>>,
    cases: Vec<Option<SimCase>>,
    free: Vec<u32>,
    open: usize,
    next_case: u64,
    case_stream: SimRng,
    arrival_rngs: Vec<SimRng>,
    /// Per point: (segment index, position).
    cursors: Vec<(usize, i64)>,
    arrivals_left: usize,
    people: Vec<Person>,
    /// [point][role]: idle people on duty.
    idle: Vec<Vec<Vec<u32>>>,
    /// [point * steps + step].
    lines: Vec<Line>,
    tracks: Vec<Track>,
    numbers: HashMap<(usize, String, i64), u32>,
    system: Actor,
    tally: Tally,
    histories: Vec<(String, Vec<Event>)>,
}

/// Runs replication `rep` of `model`. `keep`: also keep the measured cases' histories (and
/// send the timers' ticks, so that they hold the breaches production would record).
pub fn run_replication(model: &Model, rep: u32, keep: bool) -> Result<RepOutput, SimError> {
    let mut sim = Sim::new(model, rep, keep);
    sim.run()?;
    Ok(sim.finish())
}

impl<'m> Sim<'m> {
    fn new(m: &'m Model, rep: u32, keep: bool) -> Self {
        let steps = m.steps.len();
        let mut people = Vec::new();
        for (pi, point) in m.points.iter().enumerate() {
            for (si, shift) in point.shifts.iter().enumerate() {
                for k in 0..shift.count {
                    let role = &m.roles[shift.role];
                    people.push(Person {
                        point: pi,
                        role: shift.role,
                        actor: Actor::new(format!("{}/{role}-{}", point.id, k + 1), role.as_str()),
                        shift: si,
                        next_interval: 0,
                        on_duty: false,
                        case: None,
                        since: 0,
                        busy: 0,
                        available: shift
                            .intervals
                            .iter()
                            .map(|&(a, b)| overlap(a, b, m.warm_up, m.horizon))
                            .sum(),
                    });
                }
            }
        }
        let mut lines = Vec::with_capacity(m.points.len() * steps);
        for _ in &m.points {
            for s in &m.steps {
                lines.push(if s.kind == StepKind::Queue {
                    Line::Queue(VecDeque::new())
                } else {
                    Line::Tasks(BinaryHeap::new())
                });
            }
        }
        let mut coverage = [0.0; 24];
        integrate(
            &mut coverage,
            1.0,
            m.warm_up,
            m.horizon,
            m.warm_up,
            m.horizon,
        );
        let tally = Tally {
            steps: vec![StepTally::default(); steps],
            branches: vec![0; steps * steps],
            queue_area: vec![[0.0; 24]; m.points.len() * steps],
            coverage,
            ..Tally::default()
        };
        Self {
            m,
            rep,
            keep,
            now: 0,
            seq: 0,
            agenda: BinaryHeap::new(),
            cases: Vec::new(),
            free: Vec::new(),
            open: 0,
            next_case: 0,
            case_stream: SimRng::stream(m.seed, rep, Purpose::Cases),
            arrival_rngs: (0..m.points.len())
                .map(|p| SimRng::stream(m.seed, rep, Purpose::Arrivals(p as u32)))
                .collect(),
            cursors: vec![(0, 0); m.points.len()],
            arrivals_left: m.points.len(),
            people,
            idle: vec![vec![Vec::new(); m.roles.len()]; m.points.len()],
            lines,
            tracks: vec![Track { count: 0, since: 0 }; m.points.len() * steps],
            numbers: HashMap::new(),
            system: Actor::system(),
            tally,
            histories: Vec::new(),
        }
    }

    fn at(&mut self, t: i64, ev: Ev) {
        self.seq += 1;
        self.agenda.push(Reverse((t, self.seq, ev)));
    }

    fn run(&mut self) -> Result<(), SimError> {
        for p in 0..self.m.points.len() {
            self.schedule_arrival(p);
        }
        for i in 0..self.people.len() {
            self.schedule_shift(i);
        }
        while let Some(Reverse((t, _, ev))) = self.agenda.pop() {
            if t > self.m.cap {
                break;
            }
            self.now = t;
            match ev {
                Ev::Arrival(p) => self.arrive(p as usize)?,
                Ev::ShiftStart(i) => self.shift_start(i)?,
                Ev::ShiftEnd(i) => self.shift_end(i),
                Ev::Done(i) => self.done(i)?,
                Ev::Adapter(slot, n) => {
                    if self.is(slot, n) {
                        self.adapter_answer(slot)?;
                    }
                }
                Ev::Ready(slot, n) => {
                    if self.is(slot, n) {
                        self.take_up_or_wait(slot, None)?;
                    }
                }
                Ev::Tick(slot, n) => {
                    if self.is(slot, n) {
                        let tick = Command::Tick;
                        let system = self.system.clone();
                        self.exec(slot, &system, &tick)?;
                    }
                }
            }
            if self.arrivals_left == 0 && self.open == 0 {
                break;
            }
        }
        // What is still open at the end is unfinished.
        self.now = self.now.max(self.m.horizon);
        for slot in 0..self.cases.len() {
            if self.cases[slot].is_some() {
                self.end_case(slot as u32);
            }
        }
        Ok(())
    }

    fn is(&self, slot: u32, number: u64) -> bool {
        matches!(self.cases.get(slot as usize), Some(Some(c)) if c.number == number)
    }

    /// The open case in `slot`. Every slot handed to this is occupied (events for emptied
    /// slots are filtered by `is`, and people hold only open cases): an error here is a bug
    /// in this bookkeeping, reported rather than panicking.
    fn case(&mut self, slot: u32) -> Result<&mut SimCase, SimError> {
        self.cases
            .get_mut(slot as usize)
            .and_then(Option::as_mut)
            .ok_or(SimError::Internal(
                "an event refers to a case that has ended",
            ))
    }

    // ---- arrivals ----

    fn schedule_arrival(&mut self, p: usize) {
        let segments = &self.m.points[p].arrivals;
        let rng = &mut self.arrival_rngs[p];
        let mut need = -libm::log(rng.open01());
        let (mut seg, mut pos) = self.cursors[p];
        while let Some(s) = segments.get(seg) {
            let from = pos.max(s.start);
            let room = (s.end - from) as f64 * s.rate;
            if need <= room && s.rate > 0.0 {
                let t = from + (need / s.rate).round() as i64;
                let t = t.min(s.end);
                self.cursors[p] = (seg, t);
                self.at(t, Ev::Arrival(p as u32));
                return;
            }
            need -= room;
            seg += 1;
            pos = s.end;
        }
        self.cursors[p] = (seg, pos);
        self.arrivals_left -= 1;
    }

    fn arrive(&mut self, p: usize) -> Result<(), SimError> {
        self.schedule_arrival(p);
        let number = self.next_case;
        self.next_case += 1;
        let mut rng = SimRng::for_case(&self.case_stream, number);
        let mut data = Map::new();
        for (field, dist) in &self.m.opening {
            data.insert(field.clone(), dist.draw(&mut rng));
        }
        let case_id = format!("sim-{}-{number}", self.rep);
        let command = Command::Start {
            case_id,
            sop_version: self.m.sop_version,
            data,
            documents: Vec::new(),
            service_point: None,
        };
        let ctx = Context {
            now: self.m.instant(self.now),
            actor: self.m.opener.clone(),
            calendar: Default::default(),
        };
        let executed =
            execute(&self.m.sop, None, &command, &ctx).map_err(|e| SimError::Refused {
                rep: self.rep,
                case: number,
                step: self.m.sop.step(self.m.sop.start()).id.clone(),
                command: "opening the case".into(),
                reason: e.to_string(),
            })?;
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.cases.push(None);
                (self.cases.len() - 1) as u32
            }
        };
        self.cases[slot as usize] = Some(SimCase {
            number,
            point: p,
            state: executed.state,
            rng,
            measured: self.now >= self.m.warm_up && self.now < self.m.horizon,
            starts: Vec::new(),
            inputs: None,
            key: None,
            commands: 1,
            history: Vec::new(),
        });
        self.open += 1;
        self.after(slot, executed.events, executed.effects)?;
        self.take_up_or_wait(slot, None)
    }

    // ---- staff ----

    fn schedule_shift(&mut self, i: usize) {
        let person = &self.people[i];
        let intervals = &self.m.points[person.point].shifts[person.shift].intervals;
        if let Some(&(start, _)) = intervals.get(person.next_interval) {
            self.at(start, Ev::ShiftStart(i as u32));
        }
    }

    fn shift_start(&mut self, i: u32) -> Result<(), SimError> {
        let person = &mut self.people[i as usize];
        let intervals = &self.m.points[person.point].shifts[person.shift].intervals;
        let Some(&(_, end)) = intervals.get(person.next_interval) else {
            return Ok(());
        };
        person.next_interval += 1;
        person.on_duty = true;
        let busy = person.case.is_some();
        self.at(end, Ev::ShiftEnd(i));
        if !busy {
            self.dispatch(i)?;
        }
        Ok(())
    }

    fn shift_end(&mut self, i: u32) {
        let person = &mut self.people[i as usize];
        person.on_duty = false;
        let (p, r) = (person.point, person.role);
        if person.case.is_none() {
            self.idle[p][r].retain(|&x| x != i);
        }
        self.schedule_shift(i as usize);
    }

    /// A free person on duty takes the most urgent work they may do, or waits for some.
    fn dispatch(&mut self, i: u32) -> Result<(), SimError> {
        let (p, r) = (self.people[i as usize].point, self.people[i as usize].role);
        let steps = self.m.steps.len();
        let mut best: Option<((i64, u64), usize)> = None;
        for &s in &self.m.role_steps[r] {
            if let Some(key) = self.lines[p * steps + s].head()
                && best.is_none_or(|(b, _)| key < b)
            {
                best = Some((key, s));
            }
        }
        match best {
            Some((_, s)) => {
                if let Some(slot) = self.lines[p * steps + s].pop() {
                    self.track(p * steps + s, -1);
                    self.take_up(i, slot)?;
                }
            }
            None => self.idle[p][r].push(i),
        }
        Ok(())
    }

    /// A person is done with a case: they go on with other work, or off duty.
    fn release(&mut self, holder: Option<u32>) -> Result<(), SimError> {
        if let Some(i) = holder
            && self.people[i as usize].on_duty
            && self.people[i as usize].case.is_none()
        {
            self.dispatch(i)?;
        }
        Ok(())
    }

    fn track(&mut self, line: usize, delta: i64) {
        let (lo, hi) = (self.m.warm_up, self.m.horizon);
        let now = self.now;
        let track = &mut self.tracks[line];
        integrate(
            &mut self.tally.queue_area[line],
            track.count as f64,
            track.since,
            now,
            lo,
            hi,
        );
        track.count = track.count.saturating_add_signed(delta);
        track.since = now;
    }

    // ---- cases ----

    /// The case's current step and visit.
    fn position(&self, slot: u32) -> Option<(usize, u32)> {
        let case = self.cases.get(slot as usize)?.as_ref()?;
        let step = case.state.current_step.as_deref()?;
        let idx = self.m.sop.step_index(step)?;
        let visit = case.state.visits.last().map_or(1, |v| v.visit);
        Some((idx, visit))
    }

    /// After a command: the case ends, waits for a person (or goes on with `holder`), or
    /// waits for an adapter.
    fn take_up_or_wait(&mut self, slot: u32, holder: Option<u32>) -> Result<(), SimError> {
        let status = self.case(slot)?.state.status;
        let stuck = self.case(slot)?.commands > MAX_COMMANDS;
        if status != CaseStatus::Open || stuck {
            self.end_case(slot);
            self.release(holder)?;
            return Ok(());
        }
        let Some((step, visit)) = self.position(slot) else {
            self.end_case(slot);
            self.release(holder)?;
            return Ok(());
        };
        let model = &self.m.steps[step];
        if !model.needs_person() {
            // An adapter is at work (or, for a step nobody takes up, nothing will move it).
            if model.kind != StepKind::Service {
                self.end_case(slot);
            }
            self.release(holder)?;
            return Ok(());
        }
        // A delay applies once, when the step is entered (not again when it ends).
        let (m, now) = (self.m, self.now);
        let entered_now = self
            .case(slot)?
            .state
            .visits
            .last()
            .is_some_and(|v| m.micros_of(v.entered_at) == now);
        if entered_now && let Some(delay) = &model.visit(visit).delay {
            let d = crate::model::to_micros(delay.sample(&mut self.case(slot)?.rng));
            if d > 0 {
                self.release(holder)?;
                let number = self.case(slot)?.number;
                self.at(self.now + d, Ev::Ready(slot, number));
                return Ok(());
            }
        }
        if let Some(h) = holder {
            let point = self.case(slot)?.point;
            let person = &self.people[h as usize];
            if model.kind != StepKind::Queue
                && person.on_duty
                && person.point == point
                && model.servers.contains(&person.role)
            {
                return self.take_up(h, slot);
            }
        }
        self.release(holder)?;
        self.wait_for_person(slot, step)
    }

    fn wait_for_person(&mut self, slot: u32, step: usize) -> Result<(), SimError> {
        let p = self.case(slot)?.point;
        for &r in &self.m.steps[step].servers {
            if let Some(i) = self.idle[p][r].pop() {
                return self.take_up(i, slot);
            }
        }
        let state = &self.case(slot)?.state;
        let urgency = state
            .clock
            .as_ref()
            .map(|c| c.due_at)
            .or(state.total_due_at)
            .map_or(i64::MAX, |at| self.m.micros_of(at));
        self.seq += 1;
        let line = p * self.m.steps.len() + step;
        self.lines[line].push(urgency, self.seq, slot);
        self.track(line, 1);
        Ok(())
    }

    /// Person `i` takes up the case's current step.
    fn take_up(&mut self, i: u32, slot: u32) -> Result<(), SimError> {
        let Some((step, visit)) = self.position(slot) else {
            return Ok(());
        };
        let now = self.now;
        let visit_model = self.m.steps[step].visit(visit);
        let case = self.case(slot)?;
        let duration = draw_inputs(visit_model, case, now);
        let person = &mut self.people[i as usize];
        person.case = Some(slot);
        person.since = now;
        self.at(now + duration, Ev::Done(i));
        Ok(())
    }

    /// Person `i` finished: record the step, then the case moves on.
    fn done(&mut self, i: u32) -> Result<(), SimError> {
        let (lo, hi, now) = (self.m.warm_up, self.m.horizon, self.now);
        let person = &mut self.people[i as usize];
        let Some(slot) = person.case.take() else {
            return Ok(());
        };
        person.busy += overlap(person.since, now, lo, hi);
        let actor = person.actor.clone();
        let Some((step, _)) = self.position(slot) else {
            return Ok(());
        };
        let inputs = self.case(slot)?.inputs.take().unwrap_or_default();
        let model = &self.m.steps[step];
        let command = match model.kind {
            StepKind::Queue => Command::CallFromQueue {
                queue: model.queue.clone().unwrap_or_default(),
                counter: None,
            },
            StepKind::Service => Command::RecordAdapterResult {
                idempotency_key: self.case(slot)?.key.clone().unwrap_or_default(),
                outcome: inputs.outcome,
                reference: None,
                data: inputs.data,
            },
            _ => Command::CompleteStep {
                step: model.id.clone(),
                data: inputs.data,
                documents: inputs.documents,
                outcome: inputs.outcome,
            },
        };
        let actor = if model.kind == StepKind::Service {
            self.system.clone()
        } else {
            actor
        };
        self.exec(slot, &actor, &command)?;
        self.take_up_or_wait(slot, Some(i))
    }

    fn adapter_answer(&mut self, slot: u32) -> Result<(), SimError> {
        let inputs = self.case(slot)?.inputs.take().unwrap_or_default();
        let command = Command::RecordAdapterResult {
            idempotency_key: self.case(slot)?.key.clone().unwrap_or_default(),
            outcome: inputs.outcome,
            reference: None,
            data: inputs.data,
        };
        let system = self.system.clone();
        self.exec(slot, &system, &command)?;
        self.take_up_or_wait(slot, None)
    }

    /// Runs one command on the case, then the effects it asks for.
    fn exec(&mut self, slot: u32, actor: &Actor, command: &Command) -> Result<(), SimError> {
        let ctx = Context {
            now: self.m.instant(self.now),
            actor: actor.clone(),
            calendar: Default::default(),
        };
        let sop = &self.m.sop;
        let rep = self.rep;
        let case = match self.cases.get_mut(slot as usize).and_then(Option::as_mut) {
            Some(c) => c,
            None => return Ok(()),
        };
        case.commands += 1;
        let stepped = execute_in_place(sop, &mut case.state, command, &ctx).map_err(|e| {
            SimError::Refused {
                rep,
                case: case.number,
                step: case.state.current_step.as_deref().unwrap_or("").to_owned(),
                command: describe(command),
                reason: e.to_string(),
            }
        })?;
        self.after(slot, stepped.events, stepped.effects)
    }

    fn after(
        &mut self,
        slot: u32,
        events: Vec<Event>,
        effects: Vec<Effect>,
    ) -> Result<(), SimError> {
        let steps = self.m.steps.len();
        let keep = self.keep;
        let sop = &self.m.sop;
        let case = self.case(slot)?;
        if case.measured {
            for fact in events.iter().flat_map(|e| e.facts()) {
                if let EventBody::BranchTaken { from, to, .. } = fact
                    && let (Some(f), Some(t)) = (sop.step_index(from), sop.step_index(to))
                {
                    self.tally.branches[f * steps + t] += 1;
                }
            }
        }
        let case = self.case(slot)?;
        if keep {
            case.history.extend(events);
        }
        for effect in effects {
            match effect {
                Effect::AssignQueueNumber { queue, prefix } => {
                    let day = self.now.div_euclid(DAY);
                    let point = self.case(slot)?.point;
                    let n = self.numbers.entry((point, queue, day)).or_insert(0);
                    *n += 1;
                    let command = Command::AssignQueueNumber {
                        number: QueueNumber::new(prefix, *n).to_string(),
                    };
                    let system = self.system.clone();
                    self.exec(slot, &system, &command)?;
                }
                Effect::CallAdapter(call) => {
                    self.case(slot)?.key = Some(call.idempotency_key);
                    if let Some((step, visit)) = self.position(slot)
                        && !self.m.steps[step].needs_person()
                    {
                        let now = self.now;
                        let visit_model = self.m.steps[step].visit(visit);
                        let case = self.case(slot)?;
                        let duration = draw_inputs(visit_model, case, now);
                        let number = case.number;
                        self.at(now + duration, Ev::Adapter(slot, number));
                    }
                }
            }
        }
        if keep {
            // Histories get the timer's ticks, as the service's ticker gives them: at the next
            // due time the case records (the engine records a breach strictly after it).
            let case = self.case(slot)?;
            let (number, due) = (case.number, case.state.next_due());
            if let Some(at) = due {
                self.at(self.m.micros_of(at) + 1, Ev::Tick(slot, number));
            }
        }
        Ok(())
    }

    fn end_case(&mut self, slot: u32) {
        let Some(case) = self.cases.get_mut(slot as usize).and_then(Option::take) else {
            return;
        };
        self.free.push(slot);
        self.open -= 1;
        if !case.measured {
            return;
        }
        let m = self.m;
        let t = &mut self.tally;
        let state = &case.state;
        t.arrived += 1;
        let mut all_within = true;
        for (i, v) in state.visits.iter().enumerate() {
            let Some(si) = m.sop.step_index(&v.step) else {
                continue;
            };
            let model = &m.steps[si];
            if matches!(model.kind, StepKind::Decision | StepKind::End) {
                continue;
            }
            let acc = &mut t.steps[si];
            acc.visits += 1;
            let entered = m.micros_of(v.entered_at);
            let done = v.completed_at.map(|at| m.micros_of(at));
            let start = case.starts.get(i).copied().filter(|s| *s >= 0);
            if let (Some(s), Some(d)) = (start, done) {
                let wait = s - entered;
                acc.waits.push(wait);
                acc.handles.push(d - s);
                if wait > 0 {
                    acc.waited += 1;
                }
                if let Some(target) = model.wait_target {
                    acc.target_visits += 1;
                    if wait <= target {
                        acc.within_target += 1;
                    }
                }
            }
            if let Some(due) = v.due_at {
                acc.budget_visits += 1;
                if done.is_some_and(|d| d <= m.micros_of(due)) {
                    acc.within_budget += 1;
                } else {
                    all_within = false;
                }
            }
        }
        match state.status {
            CaseStatus::Completed => {
                t.completed += 1;
                if let Some(closed) = state.closed_at {
                    t.durations
                        .push(m.micros_of(closed) - m.micros_of(state.started_at));
                }
            }
            CaseStatus::Incident => t.incidents += 1,
            _ => t.unfinished += 1,
        }
        let within = match (state.total_due_at, state.closed_at) {
            _ if state.status != CaseStatus::Completed => false,
            (Some(due), Some(closed)) => closed <= due,
            (None, _) => all_within,
            (Some(_), None) => false,
        };
        if within {
            t.within += 1;
        }
        if self.keep {
            self.histories
                .push((case.state.case_id.clone(), case.history));
        }
    }

    fn finish(mut self) -> RepOutput {
        let (lo, hi) = (self.m.warm_up, self.m.horizon);
        let end = self.now.max(hi);
        for line in 0..self.tracks.len() {
            let track = &self.tracks[line];
            integrate(
                &mut self.tally.queue_area[line],
                track.count as f64,
                track.since,
                end,
                lo,
                hi,
            );
        }
        for person in &mut self.people {
            if person.case.is_some() {
                person.busy += overlap(person.since, end, lo, hi);
            }
            self.tally
                .people
                .push((person.point, person.role, person.busy, person.available));
        }
        RepOutput {
            tally: self.tally,
            histories: self.histories,
        }
    }
}

/// Draws what the visit records and how long it takes (microseconds); remembers when it
/// was taken up.
fn draw_inputs(model: &VisitModel, case: &mut SimCase, now: i64) -> i64 {
    let rng = &mut case.rng;
    let duration = model
        .time
        .as_ref()
        .map_or(0, |t| crate::model::to_micros(t.sample(rng)));
    let mut inputs = Inputs::default();
    for (field, dist) in &model.data {
        inputs.data.insert(field.clone(), dist.draw(rng));
    }
    for (doc, p) in &model.documents {
        if rng.uniform() < *p {
            inputs.documents.push(DocumentReceipt {
                doc: doc.clone(),
                number: None,
                received: true,
                sha256: None,
            });
        }
    }
    inputs.outcome = model.outcome.as_ref().map(|o| match o.draw(rng) {
        Value::String(s) => s,
        other => other.to_string(),
    });
    case.inputs = Some(inputs);
    let index = case.state.visits.len().saturating_sub(1);
    if case.starts.len() <= index {
        case.starts.resize(index + 1, -1);
    }
    case.starts[index] = now;
    duration
}

fn describe(command: &Command) -> String {
    match command {
        Command::Start { .. } => "opening the case".into(),
        Command::CompleteStep { step, .. } => format!("completing `{step}`"),
        Command::AssignQueueNumber { .. } => "a queue number".into(),
        Command::CallFromQueue { queue, .. } => format!("calling from queue `{queue}`"),
        Command::Recall => "a recall".into(),
        Command::NoShow { .. } => "a no-show".into(),
        Command::Transfer { to } => format!("a transfer to `{to}`"),
        Command::RecordAdapterResult { .. } => "an adapter's answer".into(),
        Command::RecordAdapterFailure { .. } => "an adapter's failure".into(),
        Command::ResolveIncident { .. } => "resolving an incident".into(),
        Command::Cancel { .. } => "a cancellation".into(),
        Command::Tick => "a timer".into(),
    }
}
