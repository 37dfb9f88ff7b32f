//! The engine-backed simulation against a hand-written model of KTP-el with the same
//! arrivals, staff, distributions and dispatching (`benches/reference/mod.rs`): the engine's
//! routing, documents and budget clocks give the same figures as the SOP written out by hand.

// Helpers outside #[test] functions unwrap too: a panic in a test is a failure.
#![allow(clippy::unwrap_used)]

#[path = "../benches/reference/mod.rs"]
mod reference;

use std::sync::Arc;

use sopflow_sim::model::{CompileOptions, Model};
use sopflow_sim::report::simulate;
use sopflow_sim::scenario::Scenario;
use sopflow_sim::stats::{ci, share};

#[test]
fn the_engine_and_the_hand_written_ktp_el_agree() {
    let sop = sopflow_engine::sop::load(include_str!("../../sop-definitions/ktp-el.yaml")).unwrap();
    let mut scenario = Scenario::parse(include_str!("../scenarios/ktp-el.toml")).unwrap();
    scenario.replications = 12;
    let model = Model::compile(Arc::new(sop), &scenario, CompileOptions::default()).unwrap();
    let engine = simulate(&model).unwrap();
    let plain: Vec<_> = (0..model.replications)
        .map(|r| reference::run(&model, r))
        .collect();

    let a = ci(engine.iter().map(|t| share(t.within, t.arrived))).unwrap();
    let b = ci(plain.iter().map(|t| share(t.within, t.arrived))).unwrap();
    let slack = 2.0 * (a.half() + b.half()) + 0.01;
    assert!(
        (a.mean - b.mean).abs() <= slack,
        "within budget: engine {a:?}, reference {b:?}"
    );
    let arrived_a = engine.iter().map(|t| t.arrived).sum::<u64>() as f64;
    let arrived_b = plain.iter().map(|t| t.arrived).sum::<u64>() as f64;
    assert!(
        (arrived_a - arrived_b).abs() <= 0.03 * arrived_a,
        "{arrived_a} {arrived_b}"
    );
    for (r, role) in model.roles.iter().enumerate() {
        let util_a = ci(engine.iter().map(|t| {
            let (busy, avail) = t
                .people
                .iter()
                .filter(|p| p.1 == r)
                .fold((0, 0), |(b, a), p| (b + p.2, a + p.3));
            (avail > 0).then(|| busy as f64 / avail as f64)
        }))
        .unwrap();
        let util_b = ci(plain
            .iter()
            .map(|t| (t.available[r] > 0).then(|| t.busy[r] as f64 / t.available[r] as f64)))
        .unwrap();
        assert!(
            (util_a.mean - util_b.mean).abs() <= 2.0 * (util_a.half() + util_b.half()) + 0.01,
            "{role}: engine {util_a:?}, reference {util_b:?}"
        );
    }
}
