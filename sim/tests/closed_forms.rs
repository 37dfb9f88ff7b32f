//! The simulation against queueing theory's closed forms, on a one-step SOP run through the
//! real engine: each case is opened, taken up and completed by engine commands, and the
//! figures come from the engine's own visit times.

// Helpers outside #[test] functions unwrap too: a panic in a test is a failure.
#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use sopflow_sim::model::{CompileOptions, Model};
use sopflow_sim::report::{Report, simulate};
use sopflow_sim::scenario::Scenario;
use sopflow_sim::stats::Ci;

fn report(scenario: &str) -> Report {
    let sop = sopflow_engine::sop::load(include_str!("data/one-step.yaml")).unwrap();
    let scenario = Scenario::parse(scenario).unwrap();
    let model = Model::compile(Arc::new(sop), &scenario, CompileOptions::default()).unwrap();
    let tallies = simulate(&model).unwrap();
    Report::new(&model, tallies, "test", "")
}

/// The interval holds the closed form and is narrow enough to mean something.
fn holds(name: &str, ci: Option<Ci>, exact: f64, relative_width: f64) {
    let ci = ci.unwrap_or_else(|| panic!("{name}: no figure"));
    assert!(
        ci.contains(exact),
        "{name}: {exact} outside [{:.4}, {:.4}] (mean {:.4})",
        ci.low,
        ci.high,
        ci.mean
    );
    assert!(
        ci.half() <= relative_width * exact,
        "{name}: interval ±{:.4} wider than {relative_width} of {exact}",
        ci.half()
    );
}

#[test]
fn mm1_utilisation_and_times() {
    let r = report(include_str!("data/mm1.toml"));
    let step = &r.steps[0];
    holds("utilisation", r.roles[0].utilisation, 0.80, 0.02);
    holds("Wq (s)", step.waiting_mean_seconds, 16.0 * 60.0, 0.06);
    holds("W (s)", r.cases.time_mean_seconds, 20.0 * 60.0, 0.06);
    holds("service (s)", step.handling_mean_seconds, 4.0 * 60.0, 0.02);
    // In M/M/1 an arrival waits with probability rho.
    holds("P(wait)", step.waited, 0.80, 0.02);
}

#[test]
fn mmc_erlang_c() {
    let r = report(include_str!("data/mmc.toml"));
    let step = &r.steps[0];
    holds("P(wait)", step.waited, 0.1741, 0.06);
    holds("within 20 s", step.within_wait_target, 0.8884, 0.01);
    holds("mean wait (s)", step.waiting_mean_seconds, 7.84, 0.08);
    holds("utilisation", r.roles[0].utilisation, 10.0 / 14.0, 0.01);
}
