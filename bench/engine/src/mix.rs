//! The KTP-el case mix every sopflow benchmark and every peer runner plays, as a driver that
//! takes one human step at a time, so that many cases can be open at once.
//!
//! Case `i`: `i % 5 == 0` (20%) hands in an incomplete file once (the verification returns it,
//! then it comes back complete); `i % 10 == 1` (10%) has a duplicate record once (the ADB is
//! consulted, answers `resolved`, the record is checked again); the rest go straight through.
//!
//! A human step is one command a person gives (hand in the file, verify it, call the number,
//! check the record, validate the card, hand it over: 6 per straight case), plus the system
//! commands its effects ask for at once (the queue number; the printer's and the ADB's
//! answers), as the service and the peers' inline service tasks do.
//!
//! Shared by the criterion bench (`bench/engine/benches/ktp_el_cases.rs`) and the `engine-runner`
//! binary (`bench/engine`): this crate's library.

use serde_json::{Map, Value};
use sopflow_engine::case::{
    Actor, CaseState, Command, CommandError, Context, DocumentReceipt, Effect, Event, execute,
    execute_in_place,
};
use sopflow_engine::sop::Sop;
use time::OffsetDateTime;

pub fn incomplete_once(i: usize) -> bool {
    i.is_multiple_of(5)
}

pub fn duplicate_once(i: usize) -> bool {
    i % 10 == 1
}

/// The peers' count of BPMN flow nodes a case passes: 11, plus 3 per loop taken.
pub fn flow_nodes(i: usize) -> u64 {
    11 + if incomplete_once(i) { 3 } else { 0 } + if duplicate_once(i) { 3 } else { 0 }
}

/// Human steps of case `i` in this SOP: 6, plus 2 for the returned file, 1 for the re-check.
pub fn human_steps(i: usize) -> u64 {
    6 + if incomplete_once(i) { 2 } else { 0 } + if duplicate_once(i) { 1 } else { 0 }
}

/// A fictitious 16-digit NIK, the same numbering as the peers.
pub fn nik_of(i: usize) -> String {
    format!("3201{i:012}")
}

/// A fixed, arbitrary start time: 2026-03-02 08:00 UTC.
pub fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_772_438_400).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// What the run counted, to be checked against the mix at the end.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    pub commands: u64,
    pub events: u64,
    pub human_steps: u64,
    pub adb_calls: u64,
    pub cases_ended: u64,
    pub queue_numbers: u64,
}

/// The actors of the run, built once (a context per command is the runtime's job too).
pub struct Actors {
    petugas: Actor,
    operator: Actor,
    system: Actor,
}

impl Default for Actors {
    fn default() -> Self {
        Self {
            petugas: Actor::new("petugas_antrian-1", "petugas_antrian"),
            operator: Actor::new("operator_cetak-1", "operator_cetak"),
            system: Actor::system(),
        }
    }
}

/// Where the new events of a command go.
pub trait Sink {
    fn events(&mut self, case: usize, events: Vec<Event>);
}

/// Drops the events (they are counted only).
pub struct Discard;

impl Sink for Discard {
    fn events(&mut self, _case: usize, _events: Vec<Event>) {}
}

/// Keeps every case's whole history.
#[derive(Default)]
pub struct Keep(pub Vec<Vec<Event>>);

impl Sink for Keep {
    fn events(&mut self, case: usize, events: Vec<Event>) {
        if self.0.len() <= case {
            self.0.resize_with(case + 1, Vec::new);
        }
        self.0[case].extend(events);
    }
}

/// Collects the events of whichever case, in order.
#[derive(Default)]
pub struct Collect(pub Vec<Event>);

impl Sink for Collect {
    fn events(&mut self, _case: usize, events: Vec<Event>) {
        self.0.extend(events);
    }
}

/// The whole run: the SOP, the shared queue counter, the counters.
pub struct Driver<'a> {
    pub sop: &'a Sop,
    pub actors: Actors,
    pub counters: Counters,
    pub now: OffsetDateTime,
}

/// One open case of the mix: its state and how often it passed the looping steps.
pub struct MixCase {
    pub i: usize,
    pub state: CaseState,
    submitted: u8,
    checked: u8,
}

fn doc(id: &str) -> DocumentReceipt {
    DocumentReceipt {
        doc: id.to_owned(),
        number: None,
        received: true,
        sha256: None,
    }
}

impl<'a> Driver<'a> {
    pub fn new(sop: &'a Sop) -> Self {
        Self {
            sop,
            actors: Actors::default(),
            counters: Counters::default(),
            now: t0(),
        }
    }

    fn context(&self, who: Who) -> Context {
        let actor = match who {
            Who::Petugas => &self.actors.petugas,
            Who::Operator => &self.actors.operator,
            Who::System => &self.actors.system,
        };
        Context {
            now: self.now,
            actor: actor.clone(),
            calendar: Default::default(),
        }
    }

    /// Runs `command` on the open case `state` in place, then the commands its effects ask
    /// for.
    fn run(
        &mut self,
        case: usize,
        state: &mut CaseState,
        who: Who,
        command: &Command,
        sink: &mut impl Sink,
    ) -> Result<(), CommandError> {
        let ctx = self.context(who);
        let stepped = execute_in_place(self.sop, state, command, &ctx)?;
        self.after(case, state, stepped.events, stepped.effects, sink)
    }

    /// Counts and keeps the events, and carries out the effects at once, as the runtime does
    /// in the same transaction (queue number) or as the adapters answer (printer, ADB).
    fn after(
        &mut self,
        case: usize,
        state: &mut CaseState,
        events: Vec<Event>,
        effects: Vec<Effect>,
        sink: &mut impl Sink,
    ) -> Result<(), CommandError> {
        self.counters.commands += 1;
        self.counters.events += events.len() as u64;
        sink.events(case, events);
        for effect in effects {
            let follow = match effect {
                Effect::AssignQueueNumber { prefix, .. } => {
                    self.counters.queue_numbers += 1;
                    Command::AssignQueueNumber {
                        number: format!("{prefix}-{:03}", self.counters.queue_numbers % 1000),
                    }
                }
                Effect::CallAdapter(call) => {
                    let idempotency_key = call.idempotency_key;
                    let adb = call.adapter == "konsultasi_adb";
                    if adb {
                        self.counters.adb_calls += 1;
                    }
                    Command::RecordAdapterResult {
                        idempotency_key,
                        outcome: adb.then(|| "resolved".to_owned()),
                        reference: (!adb).then(|| format!("job-{case}")),
                        data: Map::new(),
                    }
                }
            };
            self.run(case, state, Who::System, &follow, sink)?;
        }
        Ok(())
    }

    /// Opens case `i` with the applicant's data.
    pub fn start(&mut self, i: usize, sink: &mut impl Sink) -> Result<MixCase, CommandError> {
        let mut data = Map::new();
        data.insert("nik".into(), Value::String(nik_of(i)));
        data.insert(
            "nama_lengkap".into(),
            Value::String(format!("Applicant {i}")),
        );
        data.insert("alasan".into(), Value::String("baru".into()));
        let command = Command::Start {
            case_id: format!("case-{i}"),
            sop_version: 1,
            data,
            documents: Vec::new(),
            service_point: None,
        };
        let ctx = self.context(Who::Petugas);
        let executed = execute(self.sop, None, &command, &ctx)?;
        let mut state = executed.state;
        self.after(i, &mut state, executed.events, executed.effects, sink)?;
        Ok(MixCase {
            i,
            state,
            submitted: 0,
            checked: 0,
        })
    }

    /// Takes the human step case `c` waits for. Returns whether the case is still open.
    pub fn step(&mut self, c: &mut MixCase, sink: &mut impl Sink) -> Result<bool, StepError> {
        let i = c.i;
        let step = c.state.current_step.as_deref().unwrap_or("");
        let (who, command) = match step {
            "serahkan_berkas" => {
                c.submitted += 1;
                let documents = if incomplete_once(i) && c.submitted == 1 {
                    Vec::new()
                } else {
                    vec![doc("fotokopi_kk")]
                };
                (
                    Who::Petugas,
                    complete("serahkan_berkas", Map::new(), documents),
                )
            }
            "verifikasi_berkas" => (
                Who::Petugas,
                complete("verifikasi_berkas", Map::new(), Vec::new()),
            ),
            "tunggu_antrian" => (
                Who::Operator,
                Command::CallFromQueue {
                    queue: "cetak_ktp".to_owned(),
                    counter: None,
                },
            ),
            "periksa_perekaman" => {
                c.checked += 1;
                let mut data = Map::new();
                if duplicate_once(i) && c.checked == 1 {
                    data.insert("status_perekaman".into(), "DUPLICATE_RECORD".into());
                } else {
                    data.insert("status_perekaman".into(), "PRINT_READY_RECORD".into());
                    data.insert("masalah_nik".into(), Value::Bool(false));
                }
                (
                    Who::Operator,
                    complete("periksa_perekaman", data, Vec::new()),
                )
            }
            "validasi_ktp" => (
                Who::Petugas,
                complete("validasi_ktp", Map::new(), vec![doc("ktp_el_tercetak")]),
            ),
            "terima_ktp" => (Who::Petugas, complete("terima_ktp", Map::new(), Vec::new())),
            other => return Err(StepError::Unexpected(other.to_owned())),
        };
        self.now += std::time::Duration::from_secs(20);
        self.run(i, &mut c.state, who, &command, sink)
            .map_err(StepError::Refused)?;
        self.counters.human_steps += 1;
        let open = !c.state.status.is_closed();
        if !open {
            self.counters.cases_ended += 1;
        }
        Ok(open)
    }

    /// Runs case `i` from start to end.
    pub fn whole_case(&mut self, i: usize, sink: &mut impl Sink) -> Result<(), StepError> {
        let mut c = self.start(i, sink).map_err(StepError::Refused)?;
        while self.step(&mut c, sink)? {}
        Ok(())
    }

    /// What the counters must be after `n` whole cases.
    pub fn expected(n: usize) -> (u64, u64, u64) {
        let human = (0..n).map(human_steps).sum();
        let adb = (0..n).filter(|&i| duplicate_once(i)).count() as u64;
        (n as u64, human, adb)
    }

    /// Fails unless the counters are those of `n` whole cases of the mix.
    pub fn check(&self, n: usize) -> Result<(), String> {
        let (ended, human, adb) = Self::expected(n);
        let c = &self.counters;
        if (c.cases_ended, c.human_steps, c.adb_calls) == (ended, human, adb) {
            Ok(())
        } else {
            Err(format!(
                "counts differ from the mix: ended {} (expected {ended}), human steps {} \
                 (expected {human}), ADB calls {} (expected {adb})",
                c.cases_ended, c.human_steps, c.adb_calls
            ))
        }
    }
}

#[derive(Clone, Copy)]
enum Who {
    Petugas,
    Operator,
    System,
}

fn complete(step: &str, data: Map<String, Value>, documents: Vec<DocumentReceipt>) -> Command {
    Command::CompleteStep {
        step: step.to_owned(),
        data,
        documents,
        outcome: None,
    }
}

/// A step the mix could not take.
#[derive(Debug)]
pub enum StepError {
    Refused(CommandError),
    Unexpected(String),
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepError::Refused(e) => write!(f, "command refused: {e}"),
            StepError::Unexpected(step) => write!(f, "the mix does not expect step `{step}`"),
        }
    }
}

impl std::error::Error for StepError {}
