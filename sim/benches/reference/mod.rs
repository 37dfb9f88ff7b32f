//! The reference for the simulation's speed and a check of its figures: a plain
//! discrete-event loop over KTP-el written by hand, with no engine. Same arrivals, staff,
//! hours, distributions (the same compiled model and samplers) and the same dispatching
//! rules (continuity with the same person, the queue by number, tasks by due time); the
//! routing is the SOP's, hand-coded here: the guards as Rust conditions, the budget clocks
//! as the engine keeps them. What it leaves out is the engine: commands, events, states,
//! guard evaluation, schema checks.
//!
//! Shared by the criterion bench (`sim/benches/ktp_el_simulation.rs`) and the test that
//! compares its figures with the engine-backed simulation (`sim/tests/reference.rs`), both
//! of which include this file by path.
#![allow(dead_code)]

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use serde_json::Value;
use sopflow_sim::model::{Model, VisitModel};
use sopflow_sim::rng::{Purpose, SimRng};

const SERAHKAN: &str = "serahkan_berkas";
const VERIFIKASI: &str = "verifikasi_berkas";
const TUNGGU: &str = "tunggu_antrian";
const PERIKSA: &str = "periksa_perekaman";
const CETAK: &str = "cetak_ktp";
const TUNDA: &str = "tunggu_status_perekaman";
const ADB: &str = "konsultasi_adb";
const VALIDASI: &str = "validasi_ktp";
const TERIMA: &str = "terima_ktp";
const ENDS: usize = usize::MAX;

/// Statuses the SOP's second branch waits on.
const PENDING: [&str; 5] = [
    "BIO_CAPTURED",
    "PROCESSING",
    "SENT_FOR_ENROLLMENT",
    "RECEIVED_AT_CENTRAL",
    "SENT_FOR_DEDUPLICATION",
];

/// What the reference counts.
#[derive(Debug, Default, Clone, Copy)]
pub struct RefTally {
    pub arrived: u64,
    pub completed: u64,
    pub within: u64,
    /// Per role index of the model: busy and working time in the measured window.
    pub busy: [i64; 4],
    pub available: [i64; 4],
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    Arrival,
    ShiftStart(u32),
    ShiftEnd(u32),
    Done(u32),
    Adapter(u32),
    Ready(u32),
}

struct Case {
    step: usize,
    visits: [u32; 16],
    arrived: i64,
    total_due: i64,
    clock_owner: usize,
    clock_due: i64,
    alasan: Value,
    docs: [bool; 3],
    status: Value,
    masalah: bool,
    outcome: Value,
    rng: SimRng,
    measured: bool,
}

struct Person {
    role: usize,
    shift: usize,
    next: usize,
    on: bool,
    case: Option<u32>,
    since: i64,
}

/// One replication of `model` (a KTP-el scenario with one service point).
pub fn run(m: &Model, rep: u32) -> RefTally {
    Ref::new(m, rep).run()
}

struct Ref<'m> {
    m: &'m Model,
    id: [usize; 9],
    petugas: usize,
    operator: usize,
    docs: [usize; 3],
    now: i64,
    seq: u64,
    agenda: BinaryHeap<Reverse<(i64, u64, Ev)>>,
    cases: Vec<Option<Case>>,
    free: Vec<u32>,
    next_case: u64,
    stream: SimRng,
    arrivals: SimRng,
    cursor: (usize, i64),
    arrivals_done: bool,
    open: usize,
    people: Vec<Person>,
    idle: [Vec<u32>; 4],
    /// Per step index: waiting (urgency, seq, slot); the queue step FIFO.
    tasks: Vec<BinaryHeap<Reverse<(i64, u64, u32)>>>,
    queue: VecDeque<(i64, u64, u32)>,
    t: RefTally,
}

impl<'m> Ref<'m> {
    fn new(m: &'m Model, rep: u32) -> Self {
        let step = |id: &str| {
            m.steps
                .iter()
                .position(|s| s.id == id)
                .expect("a KTP-el step")
        };
        let role = |id: &str| m.roles.iter().position(|r| r == id).expect("a KTP-el role");
        let doc = |id: &str| {
            m.sop
                .document()
                .documents
                .iter()
                .position(|d| d.id == id)
                .expect("a KTP-el document")
        };
        let mut people = Vec::new();
        let mut t = RefTally::default();
        for (si, shift) in m.points[0].shifts.iter().enumerate() {
            for _ in 0..shift.count {
                people.push(Person {
                    role: shift.role,
                    shift: si,
                    next: 0,
                    on: false,
                    case: None,
                    since: 0,
                });
                t.available[shift.role] += shift
                    .intervals
                    .iter()
                    .map(|&(a, b)| (b.min(m.horizon) - a.max(m.warm_up)).max(0))
                    .sum::<i64>();
            }
        }
        Self {
            m,
            id: [
                SERAHKAN, VERIFIKASI, TUNGGU, PERIKSA, CETAK, TUNDA, ADB, VALIDASI, TERIMA,
            ]
            .map(step),
            petugas: role("petugas_antrian"),
            operator: role("operator_cetak"),
            docs: ["fotokopi_kk", "ktp_lama", "surat_kehilangan"].map(doc),
            now: 0,
            seq: 0,
            agenda: BinaryHeap::new(),
            cases: Vec::new(),
            free: Vec::new(),
            next_case: 0,
            stream: SimRng::stream(m.seed, rep, Purpose::Cases),
            arrivals: SimRng::stream(m.seed, rep, Purpose::Arrivals(0)),
            cursor: (0, 0),
            arrivals_done: false,
            open: 0,
            people,
            idle: Default::default(),
            tasks: (0..m.steps.len()).map(|_| BinaryHeap::new()).collect(),
            queue: VecDeque::new(),
            t,
        }
    }

    fn at(&mut self, t: i64, ev: Ev) {
        self.seq += 1;
        self.agenda.push(Reverse((t, self.seq, ev)));
    }

    fn run(mut self) -> RefTally {
        self.next_arrival();
        for i in 0..self.people.len() {
            self.next_shift(i as u32);
        }
        while let Some(Reverse((t, _, ev))) = self.agenda.pop() {
            if t > self.m.cap {
                break;
            }
            self.now = t;
            match ev {
                Ev::Arrival => self.arrive(),
                Ev::ShiftStart(i) => {
                    let p = &mut self.people[i as usize];
                    let iv = self.m.points[0].shifts[p.shift].intervals[p.next];
                    p.next += 1;
                    p.on = true;
                    let busy = p.case.is_some();
                    self.at(iv.1, Ev::ShiftEnd(i));
                    if !busy {
                        self.dispatch(i);
                    }
                }
                Ev::ShiftEnd(i) => {
                    let p = &mut self.people[i as usize];
                    p.on = false;
                    let r = p.role;
                    if p.case.is_none() {
                        self.idle[r].retain(|x| *x != i);
                    }
                    self.next_shift(i);
                }
                Ev::Done(i) => self.done(i),
                Ev::Adapter(slot) => self.adapter(slot),
                Ev::Ready(slot) => self.wait(slot),
            }
            if self.arrivals_done && self.open == 0 {
                break;
            }
        }
        self.t
    }

    fn next_shift(&mut self, i: u32) {
        let p = &self.people[i as usize];
        if let Some(&(a, _)) = self.m.points[0].shifts[p.shift].intervals.get(p.next) {
            self.at(a, Ev::ShiftStart(i));
        }
    }

    fn next_arrival(&mut self) {
        let segs = &self.m.points[0].arrivals;
        let mut need = -libm::log(self.arrivals.open01());
        let (mut s, mut pos) = self.cursor;
        while let Some(seg) = segs.get(s) {
            let from = pos.max(seg.start);
            let room = (seg.end - from) as f64 * seg.rate;
            if need <= room && seg.rate > 0.0 {
                let t = (from + (need / seg.rate).round() as i64).min(seg.end);
                self.cursor = (s, t);
                self.at(t, Ev::Arrival);
                return;
            }
            need -= room;
            s += 1;
            pos = seg.end;
        }
        self.arrivals_done = true;
    }

    fn arrive(&mut self) {
        self.next_arrival();
        let n = self.next_case;
        self.next_case += 1;
        let mut rng = SimRng::for_case(&self.stream, n);
        let mut alasan = Value::Null;
        for (field, d) in &self.m.opening {
            let v = d.draw(&mut rng);
            if field == "alasan" {
                alasan = v;
            }
        }
        let total = self.m.total_budget.unwrap_or(i64::MAX / 4);
        let case = Case {
            step: ENDS,
            visits: [0; 16],
            arrived: self.now,
            total_due: self.now + total,
            clock_owner: ENDS,
            clock_due: i64::MAX,
            alasan,
            docs: [false; 3],
            status: Value::Null,
            masalah: false,
            outcome: Value::Null,
            rng,
            measured: self.now >= self.m.warm_up && self.now < self.m.horizon,
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.cases[s as usize] = Some(case);
                s
            }
            None => {
                self.cases.push(Some(case));
                (self.cases.len() - 1) as u32
            }
        };
        self.open += 1;
        let first = self.id[0];
        self.enter(slot, first);
        self.wait(slot);
    }

    fn case(&mut self, slot: u32) -> &mut Case {
        self.cases[slot as usize].as_mut().expect("an open case")
    }

    /// Enters step `to` (index into the model): visits and the budget clock, as the engine.
    fn enter(&mut self, slot: u32, to: usize) {
        let now = self.now;
        let budget = self.m.sop.compiled(to).budget;
        let c = self.case(slot);
        let from_owner = c.clock_owner;
        c.step = to;
        c.visits[to.min(15)] += 1;
        match budget {
            Some((owner, _)) if owner == from_owner && c.clock_due != i64::MAX => {}
            Some((owner, d)) => {
                c.clock_owner = owner;
                c.clock_due = now + d.as_secs() as i64 * 1_000_000;
            }
            None => {
                c.clock_owner = ENDS;
                c.clock_due = i64::MAX;
            }
        }
    }

    fn visit(&mut self, slot: u32) -> &'m VisitModel {
        let m = self.m;
        let c = self.case(slot);
        m.steps[c.step].visit(c.visits[c.step.min(15)])
    }

    /// The case waits for a person at its step, or for its delay first.
    fn wait(&mut self, slot: u32) {
        let step = self.case(slot).step;
        if step == self.id[2] {
            for &r in &self.m.steps[step].servers {
                if let Some(i) = self.idle[r].pop() {
                    return self.take(i, slot);
                }
            }
            self.seq += 1;
            let due = self.case(slot).clock_due;
            self.queue.push_back((due, self.seq, slot));
            return;
        }
        for &r in &self.m.steps[step].servers {
            if let Some(i) = self.idle[r].pop() {
                return self.take(i, slot);
            }
        }
        self.seq += 1;
        let due = self.case(slot).clock_due;
        self.tasks[step].push(Reverse((due, self.seq, slot)));
    }

    fn dispatch(&mut self, i: u32) {
        let r = self.people[i as usize].role;
        let mut best: Option<((i64, u64), usize)> = None;
        for &s in &self.m.role_steps[r] {
            let head = if s == self.id[2] {
                self.queue.front().map(|(u, q, _)| (*u, *q))
            } else {
                self.tasks[s].peek().map(|Reverse((u, q, _))| (*u, *q))
            };
            if let Some(k) = head
                && best.is_none_or(|(b, _)| k < b)
            {
                best = Some((k, s));
            }
        }
        match best {
            Some((_, s)) if s == self.id[2] => {
                let (_, _, slot) = self.queue.pop_front().expect("a head");
                self.take(i, slot);
            }
            Some((_, s)) => {
                let Reverse((_, _, slot)) = self.tasks[s].pop().expect("a head");
                self.take(i, slot);
            }
            None => self.idle[r].push(i),
        }
    }

    fn take(&mut self, i: u32, slot: u32) {
        let visit = self.visit(slot);
        let now = self.now;
        let c = self.case(slot);
        let d = visit.time.as_ref().map_or(0.0, |t| t.sample(&mut c.rng));
        draw(visit, c);
        let p = &mut self.people[i as usize];
        p.case = Some(slot);
        p.since = now;
        self.at(now + (d * 1e6).round() as i64, Ev::Done(i));
    }

    fn done(&mut self, i: u32) {
        let (lo, hi, now) = (self.m.warm_up, self.m.horizon, self.now);
        let p = &mut self.people[i as usize];
        let slot = p.case.take().expect("a case in hand");
        self.t.busy[p.role] += (now.min(hi) - p.since.max(lo)).max(0);
        let next = self.route(slot);
        self.go(slot, next, Some(i));
    }

    fn adapter(&mut self, slot: u32) {
        let next = self.route(slot);
        self.go(slot, next, None);
    }

    /// The SOP's branches out of the case's current step.
    fn route(&mut self, slot: u32) -> usize {
        let id = self.id;
        let c = self.case(slot);
        let s = c.step;
        if s == id[0] {
            id[1]
        } else if s == id[1] {
            let a = c.alasan.as_str().unwrap_or("");
            let complete = c.docs[0]
                && (!(a == "perubahan_data" || a == "rusak") || c.docs[1])
                && (a != "hilang" || c.docs[2]);
            if complete { id[2] } else { id[0] }
        } else if s == id[2] {
            id[3]
        } else if s == id[3] {
            let status = c.status.as_str().unwrap_or("");
            if status == "PRINT_READY_RECORD" && !c.masalah {
                id[4]
            } else if !c.masalah && PENDING.contains(&status) {
                id[5]
            } else {
                id[6]
            }
        } else if s == id[4] {
            id[7]
        } else if s == id[5] {
            id[3]
        } else if s == id[6] {
            if c.outcome.as_str() == Some("resolved") {
                id[3]
            } else {
                ENDS
            }
        } else if s == id[7] {
            id[8]
        } else {
            ENDS
        }
    }

    fn go(&mut self, slot: u32, to: usize, holder: Option<u32>) {
        if to == ENDS {
            let now = self.now;
            let c = self.cases[slot as usize].take().expect("open");
            self.free.push(slot);
            self.open -= 1;
            if c.measured {
                self.t.arrived += 1;
                self.t.completed += 1;
                if now <= c.total_due {
                    self.t.within += 1;
                }
            }
            self.release(holder);
            return;
        }
        self.enter(slot, to);
        let model = &self.m.steps[to];
        if !model.needs_person() {
            // The unattended consultation.
            self.release(holder);
            let visit = self.visit(slot);
            let c = self.case(slot);
            let d = visit.time.as_ref().map_or(0.0, |t| t.sample(&mut c.rng));
            draw(visit, c);
            self.at(self.now + (d * 1e6).round() as i64, Ev::Adapter(slot));
            return;
        }
        let visit = self.visit(slot);
        if let Some(delay) = &visit.delay {
            let d = delay.sample(&mut self.case(slot).rng);
            if d > 0.0 {
                self.release(holder);
                self.at(self.now + (d * 1e6).round() as i64, Ev::Ready(slot));
                return;
            }
        }
        if let Some(h) = holder {
            let p = &self.people[h as usize];
            if to != self.id[2] && p.on && model.servers.contains(&p.role) {
                return self.take(h, slot);
            }
        }
        self.release(holder);
        self.wait(slot);
    }

    fn release(&mut self, holder: Option<u32>) {
        if let Some(i) = holder
            && self.people[i as usize].on
            && self.people[i as usize].case.is_none()
        {
            self.dispatch(i);
        }
    }
}

/// The data, documents and outcome a visit records, into the case.
fn draw(visit: &VisitModel, c: &mut Case) {
    for (field, d) in &visit.data {
        let v = d.draw(&mut c.rng);
        match field.as_str() {
            "status_perekaman" => c.status = v,
            "masalah_nik" => c.masalah = v == Value::Bool(true),
            _ => {}
        }
    }
    for (doc, p) in &visit.documents {
        let got = c.rng.uniform() < *p;
        let slot = match doc.as_str() {
            "fotokopi_kk" => Some(0),
            "ktp_lama" => Some(1),
            "surat_kehilangan" => Some(2),
            _ => None,
        };
        if let (Some(k), true) = (slot, got) {
            c.docs[k] = true;
        }
    }
    if let Some(o) = &visit.outcome {
        c.outcome = o.draw(&mut c.rng);
    }
}
