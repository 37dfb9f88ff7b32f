//! The logic of the fuzz targets, in one copy: `fuzz/fuzz_targets/*.rs` (cargo-fuzz) include
//! this file, and `engine/tests/fuzz_corpus.rs` replays the checked-in corpus through it on the
//! stable toolchain, so CI checks the corpus without cargo-fuzz.
//!
//! Each function takes the raw fuzz input and panics when a property is violated. A refusal
//! (located problems, a `CommandError`, an incident) is a correct answer, not a failure.
#![allow(dead_code)]

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use arbitrary::Unstructured;
use serde_json::{Map, Value, json};
use sopflow_engine::case::{
    Actor, CaseState, CaseStatus, Command, CommandError, Context, DocumentReceipt, Effect, Event,
    EventBody, execute, verify,
};
use sopflow_engine::sop::{self, Diagnostic, Layer, Sop};
use time::OffsetDateTime;

const MINIMAL: &str = include_str!("../valid/minimal.yaml");
const KTP_EL: &str = include_str!("../../../sop-definitions/ktp-el.yaml");

/// One command must be answered within this, however hostile its guards (rhai is bounded to
/// 10,000 operations). Generous: sanitizer builds and a loaded CI machine are slow.
const COMMAND_TIME_LIMIT: Duration = Duration::from_secs(5);

/// Bounds one `commands` input, so a long input cannot make one run slow.
const MAX_COMMANDS: usize = 96;

/// A fixed, arbitrary start time: 2026-03-02 08:00 UTC.
fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_772_438_400).expect("valid timestamp")
}

/// Asserts every problem points inside `text` (1-based line, column at most one past the
/// line's end), as `load_never_panics.rs` does.
fn assert_located(text: &str, problems: &[Diagnostic]) {
    assert!(
        !problems.is_empty(),
        "load refused the SOP without a problem"
    );
    // Positions count lines as YAML does (a lone CR breaks a line too).
    let text = sop::load::normalize_newlines(text);
    let lines: Vec<&str> = text.split('\n').collect();
    for p in problems {
        let source = p.pos.line.checked_sub(1).and_then(|i| lines.get(i));
        let Some(source) = source else {
            panic!("{}:{}: {p}: no such line", p.pos.line, p.pos.column);
        };
        let width = source.chars().count();
        assert!(
            p.pos.column >= 1 && p.pos.column <= width + 1,
            "{}:{}: {p}: no such column (line has {width} characters)",
            p.pos.line,
            p.pos.column
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Target `sop_load`: arbitrary bytes through the loader and its five validation layers.

/// Loads the input (lossy UTF-8). Returns whether it loaded.
pub fn sop_load(input: &[u8]) -> bool {
    let text = String::from_utf8_lossy(input);
    match sop::load(&text) {
        Ok(_) => true,
        Err(problems) => {
            assert_located(&text, &problems);
            false
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Target `guard`: the input as a guard expression in the minimal SOP, evaluated at run time.

/// Where the expression goes in `minimal.yaml`.
#[derive(Debug, Clone, Copy)]
enum Placement {
    /// The first branch of the decision step `periksa` (sees the documents).
    DecisionBranch,
    /// The `required_when` of document `surat_hilang` (case fields only).
    RequiredWhen,
    /// The first branch of the service step `cetak` (sees `outcome`).
    ServiceBranch,
}

const PLACEMENTS: [Placement; 3] = [
    Placement::DecisionBranch,
    Placement::RequiredWhen,
    Placement::ServiceBranch,
];

/// A YAML double-quoted scalar holding exactly `s`: everything but printable ASCII is escaped,
/// so no input can end the scalar or smuggle YAML structure in.
pub fn yaml_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            ' '..='~' => out.push(c),
            c if (c as u32) <= 0xFFFF => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

fn replace_once(text: &str, from: &str, to: &str) -> String {
    assert!(
        text.matches(from).count() == 1,
        "minimal.yaml changed: `{from}` is no longer there exactly once"
    );
    text.replacen(from, to, 1)
}

/// The minimal SOP with `expression` at `placement`, and a few more case fields of several
/// types (one untyped, so guards meet values of any type) collected by the first step.
fn guard_sop(placement: Placement, expression: &str) -> String {
    let quoted = yaml_quote(expression);
    let mut text = replace_once(
        MINIMAL,
        "    alasan:\n      enum: [baru, hilang]\n",
        "    alasan:\n      enum: [baru, hilang]\n    n: { type: integer }\n    flag: { type: boolean }\n    label: { type: string }\n    extra: {}\n",
    );
    text = replace_once(
        &text,
        "    collects: [alasan]\n",
        "    collects: [alasan, n, flag, label, extra]\n",
    );
    let (from, to) = match placement {
        Placement::DecisionBranch => (
            "        when: documents_complete\n",
            format!("        when: {quoted}\n"),
        ),
        Placement::RequiredWhen => (
            "    required_when: alasan == \"hilang\"\n",
            format!("    required_when: {quoted}\n"),
        ),
        Placement::ServiceBranch => (
            "        when: outcome == \"dicetak\"\n",
            format!("        when: {quoted}\n"),
        ),
    };
    replace_once(&text, from, &to)
}

/// What the `guard` target reached, so the corpus test can check the seeds do their job.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct GuardSummary {
    /// Placements where the SOP loaded.
    pub loaded: usize,
    /// Guard evaluations recorded in branch decisions.
    pub evaluations: usize,
    /// Incidents raised (a guard that failed or did not give a boolean, or an adapter failure).
    pub incidents: usize,
    /// Cases that reached their end step.
    pub completed: usize,
}

/// Tries the expression at each placement; where the SOP loads, runs a few cases with
/// different data through the guarded branch.
pub fn guard(input: &[u8]) -> GuardSummary {
    let expression = String::from_utf8_lossy(input);
    let mut summary = GuardSummary::default();
    for placement in PLACEMENTS {
        let text = guard_sop(placement, &expression);
        let sop = match sop::load(&text) {
            Ok(sop) => sop,
            Err(problems) => {
                // A quoted scalar can make a bad guard, never bad YAML.
                for p in &problems {
                    assert_ne!(
                        p.layer,
                        Layer::Syntax,
                        "{placement:?}: a quoted guard broke the YAML: {p}\n{text}"
                    );
                }
                assert_located(&text, &problems);
                continue;
            }
        };
        summary.loaded += 1;
        for variant in 0..3 {
            run_minimal_case(&sop, variant, &mut summary);
        }
    }
    summary
}

/// One case of the minimal SOP, through every guard, with data variant `variant`.
fn run_minimal_case(sop: &Sop, variant: usize, summary: &mut GuardSummary) {
    let (alasan, fields, docs, outcome): (Value, Value, &[&str], Option<&str>) = match variant {
        0 => (
            json!("baru"),
            json!({ "n": 5, "flag": true, "label": "a", "extra": 1.5 }),
            &["kk", "surat_hilang"],
            Some("dicetak"),
        ),
        1 => (
            json!("hilang"),
            json!({ "n": -3, "flag": false, "label": "", "extra": { "k": [1, "x", null] } }),
            &["kk"],
            Some("gagal"),
        ),
        _ => (Value::Null, json!({ "extra": "teks" }), &[], None),
    };
    let mut start_data = Map::new();
    if !alasan.is_null() {
        start_data.insert("alasan".into(), alasan);
    }
    let documents: Vec<DocumentReceipt> = docs.iter().map(|d| receipt(d, true)).collect();
    let mut driver = Driver::new(sop, "A");
    let complete = Command::CompleteStep {
        step: "serahkan".into(),
        data: as_map(fields),
        documents: documents.clone(),
        outcome: None,
    };
    let script = [
        (
            "petugas",
            Command::Start {
                case_id: "fuzz".into(),
                sop_version: 1,
                data: start_data,
                documents,
                service_point: None,
            },
        ),
        ("petugas", complete.clone()),
        ("admin", resolve()),
        // Sent back to the first step: complete it again.
        ("petugas", complete),
        ("admin", resolve()),
        (
            "petugas",
            Command::CallFromQueue {
                queue: "loket".into(),
                counter: None,
            },
        ),
        ("admin", resolve()),
        ("system", Command::Tick),
    ];
    for (role, command) in script {
        driver.run(role, &command);
        if let Some(key) = driver.pending_key() {
            let answer = match outcome {
                Some(o) => Command::RecordAdapterResult {
                    idempotency_key: key,
                    outcome: Some(o.to_owned()),
                    reference: Some("job-1".into()),
                    data: Map::new(),
                },
                None => Command::RecordAdapterFailure {
                    idempotency_key: key,
                    reason: "offline".into(),
                },
            };
            driver.run("system", &answer);
        }
        driver.now += Duration::from_secs(45);
    }
    driver.check_history();
    summary.evaluations += driver.evaluations();
    summary.incidents += driver.incidents();
    summary.completed += usize::from(driver.status() == Some(CaseStatus::Completed));
}

fn resolve() -> Command {
    Command::ResolveIncident {
        note: "checked".into(),
    }
}

fn as_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

fn receipt(doc: &str, received: bool) -> DocumentReceipt {
    DocumentReceipt {
        doc: doc.to_owned(),
        number: None,
        received,
        sha256: None,
    }
}

// ---------------------------------------------------------------------------------------------
// The case driver shared by `guard` and `commands`.

/// Holds a case and its history; runs commands the way the runtime does (queue numbers are
/// handed out in the same transaction) and checks what must hold after every command.
struct Driver<'a> {
    sop: &'a Sop,
    state: Option<CaseState>,
    events: Vec<Event>,
    now: OffsetDateTime,
    queue_prefix: &'static str,
    queue_counter: u32,
    accepted: usize,
    refused: usize,
}

impl<'a> Driver<'a> {
    fn new(sop: &'a Sop, queue_prefix: &'static str) -> Self {
        Self {
            sop,
            state: None,
            events: Vec::new(),
            now: t0(),
            queue_prefix,
            queue_counter: 0,
            accepted: 0,
            refused: 0,
        }
    }

    /// Runs `command` as a user with `role`; returns whether it was accepted.
    fn run(&mut self, role: &str, command: &Command) -> bool {
        let ctx = Context {
            now: self.now,
            actor: Actor::new(format!("{role}-1"), role),
            calendar: Default::default(),
        };
        match self.execute(command, &ctx) {
            Ok(effects) => {
                self.accepted += 1;
                let queue = effects
                    .iter()
                    .any(|e| matches!(e, Effect::AssignQueueNumber { .. }));
                if queue {
                    self.queue_counter += 1;
                    let number = format!("{}-{:03}", self.queue_prefix, self.queue_counter);
                    let assign = Command::AssignQueueNumber { number };
                    if let Err(e) = self.execute(&assign, &ctx) {
                        panic!("the queue number the engine asked for was refused: {e}");
                    }
                }
                true
            }
            Err(_) => {
                self.refused += 1;
                false
            }
        }
    }

    fn execute(&mut self, command: &Command, ctx: &Context) -> Result<Vec<Effect>, CommandError> {
        let started = Instant::now();
        let result = execute(self.sop, self.state.as_ref(), command, ctx);
        let took = started.elapsed();
        assert!(
            took < COMMAND_TIME_LIMIT,
            "a command took {took:?} (limit {COMMAND_TIME_LIMIT:?}): {command:?}"
        );
        let done = result?;
        let version = self.state.as_ref().map_or(0, |s| s.version);
        for (i, event) in done.events.iter().enumerate() {
            assert_eq!(event.seq, version + 1 + i as u64, "events out of sequence");
        }
        assert_eq!(
            done.state.version,
            version + done.events.len() as u64,
            "the state's version does not count its events"
        );
        if self.state.as_ref().is_some_and(|s| s.status.is_closed()) {
            panic!("a closed case accepted {command:?}");
        }
        self.events.extend(done.events);
        self.state = Some(done.state);
        Ok(done.effects)
    }

    fn pending_key(&self) -> Option<String> {
        self.state
            .as_ref()?
            .pending_request
            .as_ref()
            .map(|p| p.idempotency_key.clone())
    }

    fn status(&self) -> Option<CaseStatus> {
        self.state.as_ref().map(|s| s.status)
    }

    fn evaluations(&self) -> usize {
        self.events
            .iter()
            .flat_map(|e| e.facts())
            .map(|f| match f {
                EventBody::BranchTaken { evaluations, .. } => evaluations.len(),
                _ => 0,
            })
            .sum()
    }

    fn incidents(&self) -> usize {
        self.events
            .iter()
            .flat_map(|e| e.facts())
            .filter(|f| matches!(f, EventBody::IncidentRaised { .. }))
            .count()
    }

    /// The history is the case: its fold and its verification against the SOP both give the
    /// live state, and every event reads back from its JSON form.
    fn check_history(&self) {
        let Some(live) = &self.state else {
            assert!(self.events.is_empty(), "events without a case");
            return;
        };
        let folded = CaseState::replay(&self.events)
            .unwrap_or_else(|e| panic!("the engine's own history does not fold: {e}"));
        assert_eq!(&folded, live, "replay differs from the live state");
        let verified = verify(self.sop, &self.events)
            .unwrap_or_else(|e| panic!("verify refused the engine's own history: {e}"));
        assert_eq!(&verified, live, "verification differs from the live state");
        for event in &self.events {
            let text = serde_json::to_string(event).expect("an event serializes");
            let back: Event = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("event does not read back: {e}: {text}"));
            assert_eq!(&back, event, "event changed through JSON");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Target `commands`: a sequence of commands, decoded from the input, on the KTP-el SOP.

static KTP_EL_SOP: LazyLock<Sop> =
    LazyLock::new(|| sop::load(KTP_EL).expect("the KTP-el SOP loads"));

/// What the `commands` target reached.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CommandsSummary {
    pub accepted: usize,
    pub refused: usize,
    pub events: usize,
    pub status: Option<CaseStatus>,
    pub incidents: usize,
}

const ROLES: &[&str] = &[
    "petugas_antrian",
    "operator_cetak",
    "adb",
    "pemohon",
    "system",
    "admin",
    "",
];

const DOCS: &[&str] = &[
    "fotokopi_kk",
    "ktp_lama",
    "surat_kehilangan",
    "ktp_el_tercetak",
    "akta",
];

const OUTCOMES: &[Option<&str>] = &[
    None,
    Some("resolved"),
    Some("rejected"),
    Some(""),
    Some("dicetak"),
];

/// Case fields (and one unknown), each with right and wrong values.
fn field_value(u: &mut Unstructured) -> arbitrary::Result<(&'static str, Value)> {
    let field = *u.choose(&[
        "nik",
        "nama_lengkap",
        "no_kk",
        "alasan",
        "status_perekaman",
        "masalah_nik",
        "tidak_dikenal",
    ])?;
    let value = match (field, u.choose_index(4)?) {
        ("nik" | "no_kk", 0 | 1) => json!("1312990101900001"),
        ("nik" | "no_kk", 2) => json!("13129901"),
        ("nama_lengkap", 0 | 1) => json!("Contoh Pemohon"),
        ("nama_lengkap", 2) => json!("x".repeat(201)),
        ("alasan", i) => json!(["baru", "perubahan_data", "rusak", "hilang"][i]),
        ("status_perekaman", i) => json!(
            [
                "PRINT_READY_RECORD",
                "DUPLICATE_RECORD",
                "PROCESSING",
                "ADJUDICATE_RECORD"
            ][i]
        ),
        ("masalah_nik", 0 | 1) => json!(u.arbitrary::<bool>()?),
        // Wrong types and shapes.
        (_, _) => u
            .choose(&[
                json!(1_312_990_101_900_001_i64),
                json!(null),
                json!(true),
                json!([]),
                json!({ "a": 1 }),
                json!("RUSAK"),
            ])?
            .clone(),
    };
    Ok((field, value))
}

fn data(u: &mut Unstructured) -> arbitrary::Result<Map<String, Value>> {
    let mut m = Map::new();
    for _ in 0..u.choose_index(4)? {
        let (k, v) = field_value(u)?;
        m.insert(k.to_owned(), v);
    }
    Ok(m)
}

fn documents(u: &mut Unstructured) -> arbitrary::Result<Vec<DocumentReceipt>> {
    let mut out = Vec::new();
    for _ in 0..u.choose_index(3)? {
        let mut r = receipt(u.choose(DOCS)?, u.choose_index(5)? != 0);
        if u.ratio(1, 4)? {
            r.number = Some("474.1/123".into());
        }
        if u.ratio(1, 4)? {
            r.sha256 = Some(["0".repeat(64), "zz".into()][u.choose_index(2)?].clone());
        }
        out.push(r);
    }
    Ok(out)
}

fn outcome(u: &mut Unstructured) -> arbitrary::Result<Option<String>> {
    Ok(u.choose(OUTCOMES)?.map(str::to_owned))
}

/// A key for adapter answers: usually the pending one, else a near miss or garbage.
fn adapter_key(u: &mut Unstructured, state: Option<&CaseState>) -> arbitrary::Result<String> {
    let pending = state
        .and_then(|s| s.pending_request.as_ref())
        .map(|p| p.idempotency_key.clone());
    Ok(match (u.choose_index(4)?, pending) {
        (0 | 1, Some(key)) => key,
        (2, _) => "c:cetak_ktp:1".into(),
        (3, Some(key)) => format!("{key}x"),
        _ => String::new(),
    })
}

fn command(
    u: &mut Unstructured,
    sop: &Sop,
    state: Option<&CaseState>,
) -> arbitrary::Result<Command> {
    Ok(match u.choose_index(12)? {
        0..=3 => {
            let step = match u.choose_index(4)? {
                0 => sop.step(u.choose_index(sop.step_count())?).id.clone(),
                1 => ["", "langkah_lain", "SELESAI"][u.choose_index(3)?].to_owned(),
                _ => state
                    .and_then(|s| s.current_step.as_deref().map(str::to_owned))
                    .unwrap_or_default(),
            };
            Command::CompleteStep {
                step,
                data: data(u)?,
                documents: documents(u)?,
                outcome: outcome(u)?,
            }
        }
        4 => Command::CallFromQueue {
            queue: ["cetak_ktp", "cetak_ktp", "antrian_lain"][u.choose_index(3)?].into(),
            // The checked-in corpus decodes as it did before counters: the counter commands
            // are exercised by the property tests (engine/tests/properties.rs).
            counter: None,
        },
        5 => Command::RecordAdapterResult {
            idempotency_key: adapter_key(u, state)?,
            outcome: outcome(u)?,
            reference: u.ratio(1, 2)?.then(|| "job-7".to_owned()),
            data: data(u)?,
        },
        6 => Command::RecordAdapterFailure {
            idempotency_key: adapter_key(u, state)?,
            reason: "timeout".into(),
        },
        7 => Command::ResolveIncident {
            note: "checked".into(),
        },
        8 => Command::AssignQueueNumber {
            number: "Z-999".into(),
        },
        9 if u.ratio(1, 8)? => Command::Cancel {
            reason: "withdrawn".into(),
        },
        10 => Command::Start {
            case_id: "c".into(),
            sop_version: 1,
            data: data(u)?,
            documents: documents(u)?,
            service_point: None,
        },
        _ => Command::Tick,
    })
}

/// Time between commands: mostly seconds, sometimes past a step budget or the total budget.
fn pause(u: &mut Unstructured) -> arbitrary::Result<u64> {
    Ok(match u.choose_index(8)? {
        0..=4 => u.int_in_range(0..=59)?,
        5 | 6 => 60 * u.int_in_range(1..=10)?,
        _ => 3600 * u.int_in_range(1..=48)?,
    })
}

/// Decodes the input into commands, applies each through `execute` (keeping the new state and
/// events on success), then checks the history against the live state.
pub fn commands(input: &[u8]) -> CommandsSummary {
    let sop: &Sop = &KTP_EL_SOP;
    let mut u = Unstructured::new(input);
    let mut driver = Driver::new(sop, "A");
    let mut count = 0;
    while !u.is_empty() && count < MAX_COMMANDS {
        count += 1;
        let Ok(next) = next_command(&mut u, sop, driver.state.as_ref()) else {
            break;
        };
        let (secs, role, command) = next;
        driver.now += Duration::from_secs(secs);
        driver.run(role, &command);
    }
    driver.check_history();
    CommandsSummary {
        accepted: driver.accepted,
        refused: driver.refused,
        events: driver.events.len(),
        status: driver.status(),
        incidents: driver.incidents(),
    }
}

fn next_command(
    u: &mut Unstructured,
    sop: &Sop,
    state: Option<&CaseState>,
) -> arbitrary::Result<(u64, &'static str, Command)> {
    let secs = pause(u)?;
    let role = *u.choose(ROLES)?;
    let command = if state.is_none() && u.choose_index(8)? != 0 {
        // Mostly a start while there is no case: everything else is refused then.
        Command::Start {
            case_id: "c".into(),
            sop_version: 1,
            data: data(u)?,
            documents: documents(u)?,
            service_point: None,
        }
    } else {
        command(u, sop, state)?
    };
    Ok((secs, role, command))
}
