//! `engine-runner`: whole KTP-el cases through the pure sopflow engine, driven the way the peer
//! runners drive SpiffWorkflow, bpmn-engine, XState and transitions (same mix, same modes), and
//! one JSON line of figures.
//!
//! - `--what cases` (default): `--mode live` starts all N cases, then gives every open case one
//!   human step per round (N cases open at once); `--mode seq` runs one case to its end, then
//!   the next. `--persist` serializes the new events of every command to their stored JSON
//!   (event format v2) and appends them to the case's JSON-lines string, kept in memory: what
//!   the service's store saves after every step.
//! - Verification is `engine-verify`'s (the same mix; that binary counts no allocation, so
//!   its threads share no counter).
//! - `--what rhai-baseline`: a bare `rhai::Engine` evaluates the branch guards the same N cases
//!   evaluate, on the same values: the floor the engine's cost is compared with.

use std::time::Instant;

use anyhow::{Context as _, bail, ensure};
use cap::Cap;
use clap::{Parser, ValueEnum};
use serde_json::{Value, json};
use sopflow_engine::case::{Event, EventBody};
use sopflow_engine::sop::{self, Sop};

use sopflow_bench_engine::mix::{self, Discard, Driver, Keep, MixCase, Sink};

/// Counts live heap bytes (requested sizes), for the memory per open case, over the
/// allocator the `sopflow` binary uses.
#[global_allocator]
static ALLOCATOR: Cap<mimalloc::MiMalloc> = Cap::new(mimalloc::MiMalloc, usize::MAX);

/// The SOP, embedded so the runner works from any directory.
const KTP_EL: &str = include_str!("../../../sop-definitions/ktp-el.yaml");

#[derive(Parser)]
#[command(about = "Whole KTP-el cases through the pure sopflow engine; prints one JSON line.")]
struct Args {
    /// Number of cases.
    #[arg(long, default_value_t = 20_000)]
    n: usize,
    #[arg(long, value_enum, default_value_t = Mode::Live)]
    mode: Mode,
    /// Serialize every command's new events to JSON (kept in memory), as a store would.
    #[arg(long)]
    persist: bool,
    #[arg(long, value_enum, default_value_t = What::Cases)]
    what: What,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Mode {
    Live,
    Seq,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum What {
    Cases,
    RhaiBaseline,
}

/// The persisted histories: one JSON-lines string per case.
#[derive(Default)]
struct Persist {
    cases: Vec<String>,
}

impl Persist {
    /// Heap bytes held, to keep them out of the memory per open case.
    fn heap_bytes(&self) -> usize {
        self.cases.capacity() * std::mem::size_of::<String>()
            + self.cases.iter().map(String::capacity).sum::<usize>()
    }
}

impl Sink for Persist {
    fn events(&mut self, case: usize, events: Vec<Event>) {
        if self.cases.len() <= case {
            self.cases.resize_with(case + 1, String::new);
        }
        let out = &mut self.cases[case];
        for event in &events {
            // Event JSON cannot fail to serialize (string keys, no non-finite floats).
            if let Ok(line) = serde_json::to_string(event) {
                out.push_str(&line);
                out.push('\n');
            }
        }
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(args.n > 0, "--n must be at least 1");
    let sop = sop::load(KTP_EL).map_err(|e| anyhow::anyhow!("the KTP-el SOP: {e:?}"))?;
    let mut out = match args.what {
        What::Cases => cases(&sop, &args)?,
        What::RhaiBaseline => rhai_baseline(&sop, args.n)?,
    };
    let (bytes, events) = history_size(&sop, args.n)?;
    out.insert("history_bytes_per_case".into(), json!(round(bytes, 1)));
    out.insert("history_events_per_case".into(), json!(round(events, 2)));
    out.insert("maxrss_mib".into(), json!(round(maxrss_mib(), 1)));
    let mut line = serde_json::Map::new();
    line.insert("engine".into(), json!("sopflow"));
    line.insert(
        "what".into(),
        json!(match args.what {
            What::Cases => "cases",
            What::RhaiBaseline => "rhai-baseline",
        }),
    );
    line.insert(
        "mode".into(),
        json!(match args.mode {
            Mode::Live => "live",
            Mode::Seq => "seq",
        }),
    );
    line.insert("n".into(), json!(args.n));
    line.insert("persist".into(), json!(args.persist));
    line.extend(out);
    println!("{}", Value::Object(line));
    Ok(())
}

type Figures = serde_json::Map<String, Value>;

fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}

fn cases(sop: &Sop, args: &Args) -> anyhow::Result<Figures> {
    let n = args.n;
    let mut driver = Driver::new(sop);
    let mut persist = Persist::default();
    let mut discard = Discard;
    let heap_before = ALLOCATOR.allocated();
    let mut open_bytes = None;
    let started = Instant::now();
    match (args.mode, args.persist) {
        (Mode::Seq, true) => seq(&mut driver, n, &mut persist)?,
        (Mode::Seq, false) => seq(&mut driver, n, &mut discard)?,
        (Mode::Live, true) => live(&mut driver, n, &mut persist, |p| {
            open_bytes = Some(ALLOCATOR.allocated() - heap_before - p.heap_bytes());
        })?,
        (Mode::Live, false) => live(&mut driver, n, &mut discard, |_| {
            open_bytes = Some(ALLOCATOR.allocated() - heap_before);
        })?,
    }
    let elapsed = started.elapsed().as_secs_f64();
    driver.check(n).map_err(anyhow::Error::msg)?;
    let c = driver.counters;
    let nodes: u64 = (0..n).map(mix::flow_nodes).sum();
    let mut f = Figures::new();
    f.insert("elapsed_s".into(), json!(round(elapsed, 4)));
    f.insert("cases_per_s".into(), json!(round(n as f64 / elapsed, 1)));
    f.insert(
        "human_steps_per_s".into(),
        json!(round(c.human_steps as f64 / elapsed, 1)),
    );
    f.insert(
        "flow_nodes_per_s".into(),
        json!(round(nodes as f64 / elapsed, 1)),
    );
    f.insert(
        "transitions_per_s".into(),
        json!(round(c.commands as f64 / elapsed, 1)),
    );
    f.insert(
        "events_per_s".into(),
        json!(round(c.events as f64 / elapsed, 1)),
    );
    f.insert("human_steps".into(), json!(c.human_steps));
    f.insert("transitions".into(), json!(c.commands));
    f.insert("events".into(), json!(c.events));
    f.insert("adb_calls".into(), json!(c.adb_calls));
    f.insert("flow_nodes".into(), json!(nodes));
    // Live heap of the open cases (their state and the driver's per-case record, the vector
    // holding them) after all N started and took their first step, divided by N. Event
    // histories are not in it: without --persist the driver drops each command's events
    // (the store keeps them), with --persist the JSON strings are subtracted exactly.
    // Seq mode never has N cases open: null.
    f.insert(
        "bytes_per_open_case".into(),
        json!(open_bytes.map(|b| round(b as f64 / n as f64, 1))),
    );
    if args.persist {
        let total: usize = persist.cases.iter().map(String::len).sum();
        f.insert(
            "persisted_json_bytes_per_case".into(),
            json!(round(total as f64 / n as f64, 1)),
        );
    }
    Ok(f)
}

fn seq<S: Sink>(driver: &mut Driver, n: usize, sink: &mut S) -> anyhow::Result<()> {
    for i in 0..n {
        driver.whole_case(i, sink)?;
    }
    Ok(())
}

/// All N cases open, one human step each per round; `measure` runs once, when every case has
/// started and taken its first step.
fn live<S: Sink>(
    driver: &mut Driver,
    n: usize,
    sink: &mut S,
    mut measure: impl FnMut(&S),
) -> anyhow::Result<()> {
    let mut open: Vec<MixCase> = Vec::with_capacity(n);
    for i in 0..n {
        open.push(driver.start(i, sink)?);
    }
    let mut first = true;
    while !open.is_empty() {
        // Closed cases leave the list in place: an open case's state is not moved.
        let mut failed = None;
        open.retain_mut(|c| {
            if failed.is_some() {
                return true;
            }
            match driver.step(c, sink) {
                Ok(still_open) => still_open,
                Err(e) => {
                    failed = Some(e);
                    false
                }
            }
        });
        if let Some(e) = failed {
            return Err(e.into());
        }
        if first {
            measure(sink);
            first = false;
        }
    }
    Ok(())
}

/// One guard evaluation a case makes: the guard (index into the compiled list), the values it
/// read, the result the engine recorded.
struct Evaluation {
    guard: usize,
    values: Vec<(String, rhai::Dynamic)>,
    result: bool,
}

/// A bare rhai engine evaluating the branch guards of the same N cases on the same values.
/// The guards and values are read from the decisions the engine recorded for one case of each
/// path of the mix (untimed); the loop pays what any guard evaluation pays, a scope with the
/// values and the evaluation. Document conditions (`required_when`) are not in it: the
/// baseline is the guards an auditor sees in the history, so it errs on the fast side.
fn rhai_baseline(sop: &Sop, n: usize) -> anyhow::Result<Figures> {
    let engine = rhai::Engine::new();
    let mut sources: Vec<String> = Vec::new();
    let mut asts = Vec::new();
    // Paths of the mix: case 0 (incomplete once), 1 (duplicate once), 2 (straight); the values
    // the guards read do not depend on the case beyond its path.
    let mut paths: Vec<Vec<Evaluation>> = Vec::new();
    for i in 0..3 {
        let mut driver = Driver::new(sop);
        let mut keep = Keep::default();
        driver.whole_case(i, &mut keep)?;
        let mut evals = Vec::new();
        // Every branch taken, among each event's facts (v2 holds several per event).
        for fact in keep.0.iter().flatten().flat_map(|e| e.facts()) {
            if let EventBody::BranchTaken {
                from, evaluations, ..
            } = fact
            {
                let branches = sop.step_index(from).map(|i| &sop.compiled(i).branches);
                for e in evaluations {
                    // v2 records no guard text: the pinned SOP's branch holds it.
                    let text: String = if e.guard.is_empty() {
                        branches
                            .and_then(|b| b.get(e.branch))
                            .and_then(|b| b.guard.as_ref())
                            .map(|g| g.source.to_string())
                            .with_context(|| {
                                format!("no guard at branch {} of `{from}`", e.branch)
                            })?
                    } else {
                        e.guard.to_string()
                    };
                    let guard = match sources.iter().position(|s| *s == text) {
                        Some(g) => g,
                        None => {
                            asts.push(
                                engine
                                    .compile_expression(&text)
                                    .with_context(|| format!("guard `{text}`"))?,
                            );
                            sources.push(text);
                            sources.len() - 1
                        }
                    };
                    let values = e
                        .values
                        .iter()
                        .map(|(k, v)| Ok((k.clone(), rhai::serde::to_dynamic(v)?)))
                        .collect::<Result<Vec<_>, Box<rhai::EvalAltResult>>>()
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    evals.push(Evaluation {
                        guard,
                        values,
                        result: e.result,
                    });
                }
            }
        }
        paths.push(evals);
    }
    let path_of = |i: usize| {
        if mix::incomplete_once(i) {
            0
        } else if mix::duplicate_once(i) {
            1
        } else {
            2
        }
    };
    let mut count = 0u64;
    let started = Instant::now();
    for i in 0..n {
        for e in &paths[path_of(i)] {
            let mut scope = rhai::Scope::new();
            for (k, v) in &e.values {
                scope.push(k.clone(), v.clone());
            }
            let result: bool = engine
                .eval_ast_with_scope(&mut scope, &asts[e.guard])
                .map_err(|err| anyhow::anyhow!("guard `{}`: {err}", sources[e.guard]))?;
            if result != e.result {
                bail!(
                    "guard `{}` gave {result}, the engine recorded {}",
                    sources[e.guard],
                    e.result
                );
            }
            count += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    let expected: u64 = (0..n).map(|i| paths[path_of(i)].len() as u64).sum();
    ensure!(
        count == expected,
        "evaluated {count} guards, expected {expected}"
    );
    let mut f = Figures::new();
    f.insert("elapsed_s".into(), json!(round(elapsed, 4)));
    f.insert("cases_per_s".into(), json!(round(n as f64 / elapsed, 1)));
    f.insert(
        "guard_evals_per_s".into(),
        json!(round(count as f64 / elapsed, 1)),
    );
    f.insert("guard_evals".into(), json!(count));
    Ok(f)
}

/// Mean canonical-JSON bytes and events of a case history over the N cases (untimed).
fn history_size(sop: &Sop, n: usize) -> anyhow::Result<(f64, f64)> {
    let mut driver = Driver::new(sop);
    let mut bytes = 0usize;
    let mut events = 0usize;
    for i in 0..n {
        let mut one = mix::Collect::default();
        driver.whole_case(i, &mut one)?;
        for event in &one.0 {
            bytes += event.to_canonical_json().len();
            events += 1;
        }
    }
    Ok((bytes as f64 / n as f64, events as f64 / n as f64))
}

/// Peak resident set size (VmHWM), in MiB.
fn maxrss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}
