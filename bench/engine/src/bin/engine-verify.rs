//! `engine-verify`: records N KTP-el histories through the pure engine (the mix of
//! `engine-runner`, untimed), then verifies them all (replay with every decision re-evaluated,
//! `engine::case::verify`): on one thread (`events_per_s`), then split across every core
//! (`events_per_s_all_cores`, the histories being independent, as an auditor's store walk
//! treats them). One JSON line of figures.
//!
//! A binary of its own: `engine-runner` counts every allocation in one shared counter (for the
//! memory per open case), a line every verifying thread would write; this one runs on the
//! allocator the `sopflow` binary runs on, as `sopflow audit verify` does.

use std::time::Instant;

use anyhow::ensure;
use clap::Parser;
use serde_json::json;
use sopflow_engine::case::{Event, verify};
use sopflow_engine::sop::{self, Sop};

use sopflow_bench_engine::mix::{Driver, Keep};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The SOP, embedded so the runner works from any directory.
const KTP_EL: &str = include_str!("../../../../sop-definitions/ktp-el.yaml");

#[derive(Parser)]
#[command(about = "Verify N KTP-el histories (one core, then all); prints one JSON line.")]
struct Args {
    /// Number of cases.
    #[arg(long, default_value_t = 20_000)]
    n: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    ensure!(args.n > 0, "--n must be at least 1");
    let sop = sop::load(KTP_EL).map_err(|e| anyhow::anyhow!("the KTP-el SOP: {e:?}"))?;
    let n = args.n;
    let mut driver = Driver::new(&sop);
    let mut keep = Keep::default();
    for i in 0..n {
        driver.whole_case(i, &mut keep)?;
    }
    driver.check(n).map_err(anyhow::Error::msg)?;
    let histories = &keep.0;
    let events: usize = histories.iter().map(Vec::len).sum();

    let started = Instant::now();
    verify_all(&sop, histories, 0)?;
    let elapsed = started.elapsed().as_secs_f64();

    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    let per_thread = histories.len().div_ceil(threads);
    let sop = &sop;
    let started = Instant::now();
    std::thread::scope(|scope| {
        let workers: Vec<_> = histories
            .chunks(per_thread)
            .enumerate()
            .map(|(t, chunk)| scope.spawn(move || verify_all(sop, chunk, t * per_thread)))
            .collect();
        workers.into_iter().try_for_each(|w| {
            w.join()
                .map_err(|_| anyhow::anyhow!("a verifier panicked"))?
        })
    })?;
    let elapsed_all = started.elapsed().as_secs_f64();

    let round = |x: f64, digits: i32| {
        let f = 10f64.powi(digits);
        (x * f).round() / f
    };
    let line = json!({
        "engine": "sopflow",
        "what": "verify",
        "n": n,
        "elapsed_s": round(elapsed, 4),
        "cases_per_s": round(n as f64 / elapsed, 1),
        "events_per_s": round(events as f64 / elapsed, 1),
        "threads": threads,
        "events_per_s_all_cores": round(events as f64 / elapsed_all, 1),
        "events": events,
        "history_events_per_case": round(events as f64 / n as f64, 2),
    });
    println!("{line}");
    Ok(())
}

/// Verifies each history (the `first`-th case onwards, for the error) and that it closed.
fn verify_all(sop: &Sop, histories: &[Vec<Event>], first: usize) -> anyhow::Result<()> {
    for (i, history) in histories.iter().enumerate() {
        let i = first + i;
        let state = verify(sop, history).map_err(|e| anyhow::anyhow!("case {i}: {e}"))?;
        ensure!(
            state.status.is_closed(),
            "case {i} verified but is not closed"
        );
    }
    Ok(())
}
