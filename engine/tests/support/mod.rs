//! A small driver for case scenarios: holds a case, runs commands as a given role, keeps the
//! history, and carries out queue-number effects the way the runtime does. Shared by the
//! scenario tests and the benchmark.
#![allow(dead_code)]

use serde_json::{Map, Value, json};
use sopflow_engine::case::{
    Actor, CaseCalendar, CaseState, Command, CommandError, Context, DocumentReceipt, Effect, Event,
    execute,
};
use sopflow_engine::sop::{self, Sop};
use time::OffsetDateTime;

pub fn ktp_el_text() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../sop-definitions/ktp-el.yaml"
    );
    std::fs::read_to_string(path).expect("sop-definitions/ktp-el.yaml is readable")
}

pub fn ktp_el() -> Sop {
    sop::load(&ktp_el_text()).expect("the KTP-el SOP is valid")
}

/// A fixed, arbitrary start time: 2026-03-02 08:00 UTC.
pub fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_772_438_400).expect("valid timestamp")
}

pub fn obj(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

pub fn doc(id: &str) -> DocumentReceipt {
    DocumentReceipt {
        doc: id.to_owned(),
        number: None,
        received: true,
        sha256: None,
    }
}

pub fn docs(ids: &[&str]) -> Vec<DocumentReceipt> {
    ids.iter().map(|id| doc(id)).collect()
}

pub struct Case<'a> {
    pub sop: &'a Sop,
    pub state: Option<CaseState>,
    pub events: Vec<Event>,
    pub effects: Vec<Effect>,
    pub now: OffsetDateTime,
    /// The calendar the commands come with (always open unless a test sets one).
    pub calendar: CaseCalendar,
    queue_counter: u32,
}

impl<'a> Case<'a> {
    pub fn new(sop: &'a Sop) -> Self {
        Self {
            sop,
            state: None,
            events: Vec::new(),
            effects: Vec::new(),
            now: t0(),
            calendar: CaseCalendar::always_open(),
            queue_counter: 0,
        }
    }

    pub fn state(&self) -> &CaseState {
        self.state.as_ref().expect("case started")
    }

    pub fn current(&self) -> &str {
        self.state().current_step.as_deref().unwrap_or("")
    }

    pub fn advance_secs(&mut self, secs: u64) {
        self.now += std::time::Duration::from_secs(secs);
    }

    /// Runs one command as `role`; on success the events are kept and queue numbers handed out.
    pub fn run(&mut self, role: &str, command: Command) -> Result<(), CommandError> {
        let ctx = Context {
            now: self.now,
            actor: Actor::new(format!("{role}-1"), role),
            calendar: self.calendar.clone(),
        };
        let executed = execute(self.sop, self.state.as_ref(), &command, &ctx)?;
        self.state = Some(executed.state);
        self.events.extend(executed.events);
        let mut assign = None;
        for effect in &executed.effects {
            if let Effect::AssignQueueNumber { prefix, .. } = effect {
                self.queue_counter += 1;
                assign = Some(format!("{prefix}-{:03}", self.queue_counter));
            }
        }
        self.effects.extend(executed.effects);
        if let Some(number) = assign {
            self.run("system", Command::AssignQueueNumber { number })?;
        }
        Ok(())
    }

    pub fn start(&mut self, data: Value, documents: &[&str]) -> Result<(), CommandError> {
        self.run(
            "petugas_antrian",
            Command::Start {
                case_id: "case-1".to_owned(),
                sop_version: 1,
                data: obj(data),
                documents: docs(documents),
                service_point: None,
            },
        )
    }

    pub fn complete(
        &mut self,
        role: &str,
        step: &str,
        data: Value,
        documents: &[&str],
        outcome: Option<&str>,
    ) -> Result<(), CommandError> {
        self.run(
            role,
            Command::CompleteStep {
                step: step.to_owned(),
                data: obj(data),
                documents: docs(documents),
                outcome: outcome.map(str::to_owned),
            },
        )
    }

    pub fn call(&mut self, role: &str, queue: &str) -> Result<(), CommandError> {
        self.run(
            role,
            Command::CallFromQueue {
                queue: queue.to_owned(),
                counter: None,
            },
        )
    }

    /// The key of the adapter request the case waits on.
    pub fn pending_key(&self) -> String {
        self.state()
            .pending_request
            .as_ref()
            .map(|p| p.idempotency_key.clone())
            .unwrap_or_default()
    }

    pub fn adapter_result(
        &mut self,
        outcome: Option<&str>,
        reference: Option<&str>,
    ) -> Result<(), CommandError> {
        let key = self.pending_key();
        self.run(
            "system",
            Command::RecordAdapterResult {
                idempotency_key: key,
                outcome: outcome.map(str::to_owned),
                reference: reference.map(str::to_owned),
                data: Map::new(),
            },
        )
    }

    pub fn tick(&mut self) -> Result<(), CommandError> {
        self.run("system", Command::Tick)
    }

    /// The ids of the steps entered, in order.
    pub fn path(&self) -> Vec<String> {
        self.events
            .iter()
            .flat_map(|e| e.facts())
            .filter_map(|f| match f {
                sopflow_engine::case::EventBody::StepEntered { step, .. } => Some(step.to_string()),
                _ => None,
            })
            .collect()
    }

    pub fn kinds(&self) -> Vec<&'static str> {
        self.events
            .iter()
            .flat_map(|e| e.facts())
            .map(|f| f.kind())
            .collect()
    }
}

/// A new KTP-el applicant's data (fictitious NIK: kecamatan 99 of Pasaman Barat).
pub fn applicant(reason: &str) -> Value {
    json!({ "nik": "1312990101900001", "nama_lengkap": "Contoh Pemohon", "alasan": reason })
}

/// Runs one KTP-el case along a path chosen by `incomplete_once` and `adb_once`.
pub fn run_ktp_el_case(
    sop: &Sop,
    incomplete_once: bool,
    adb_once: bool,
) -> Result<Case<'_>, CommandError> {
    let mut case = Case::new(sop);
    case.start(applicant("baru"), &[])?;
    if incomplete_once {
        case.complete("petugas_antrian", "serahkan_berkas", json!({}), &[], None)?;
        case.complete("petugas_antrian", "verifikasi_berkas", json!({}), &[], None)?;
    }
    case.complete(
        "petugas_antrian",
        "serahkan_berkas",
        json!({}),
        &["fotokopi_kk"],
        None,
    )?;
    case.complete("petugas_antrian", "verifikasi_berkas", json!({}), &[], None)?;
    case.call("operator_cetak", "cetak_ktp")?;
    if adb_once {
        case.complete(
            "operator_cetak",
            "periksa_perekaman",
            json!({ "status_perekaman": "DUPLICATE_RECORD" }),
            &[],
            None,
        )?;
        case.adapter_result(Some("resolved"), None)?;
    }
    case.complete(
        "operator_cetak",
        "periksa_perekaman",
        json!({ "status_perekaman": "PRINT_READY_RECORD", "masalah_nik": false }),
        &[],
        None,
    )?;
    case.adapter_result(None, Some("job-1"))?;
    case.complete(
        "petugas_antrian",
        "validasi_ktp",
        json!({}),
        &["ktp_el_tercetak"],
        None,
    )?;
    case.complete("petugas_antrian", "terima_ktp", json!({}), &[], None)?;
    Ok(case)
}
