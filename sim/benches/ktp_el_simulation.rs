//! Simulated KTP-el cases per second through the real engine (`sopflow simulate`'s own
//! loop: every case an engine case), and in the same run the reference: a plain
//! discrete-event loop over the same arrivals, staff, hours and distributions with the SOP's
//! routing written by hand and no engine (`reference/mod.rs`). Replications run in parallel
//! with rayon, as the command runs them; one replication alone gives the figure per core.
//! Throughput is in simulated cases; BENCHMARKS.md ("Simulation") holds the figures.

mod reference;

use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;
use sopflow_sim::model::{CompileOptions, Model};
use sopflow_sim::report::simulate;
use sopflow_sim::scenario::Scenario;
use std::hint::black_box;

/// Replications per iteration: a multiple of the two cores.
const REPLICATIONS: u32 = 8;

fn model() -> Model {
    let sop = sopflow_engine::sop::load(include_str!("../../sop-definitions/ktp-el.yaml"))
        .expect("the KTP-el SOP is valid");
    let mut scenario = Scenario::parse(include_str!("../scenarios/ktp-el.toml"))
        .expect("the KTP-el scenario reads");
    scenario.replications = REPLICATIONS;
    scenario.days = 7;
    Model::compile(Arc::new(sop), &scenario, CompileOptions::default()).expect("it fits")
}

fn bench(c: &mut Criterion) {
    let model = model();
    let tallies = simulate(&model).expect("runs");
    let cases: u64 = tallies.iter().map(|t| t.arrived).sum();
    let reference_cases: u64 = (0..REPLICATIONS)
        .map(|r| reference::run(&model, r).arrived)
        .sum();
    eprintln!(
        "per iteration: {cases} cases through the engine, {reference_cases} in the reference \
         ({REPLICATIONS} replications of 7 days)"
    );
    let mut group = c.benchmark_group("ktp_el_simulation");
    group.sample_size(10);
    group.measurement_time(std::time::Duration::from_secs(8));
    group.throughput(Throughput::Elements(cases));
    group.bench_function("engine_cases_replications_in_parallel", |b| {
        b.iter(|| black_box(simulate(&model).expect("runs")))
    });
    group.throughput(Throughput::Elements(reference_cases));
    group.bench_function("reference_plain_loop_replications_in_parallel", |b| {
        b.iter(|| {
            let t: Vec<_> = (0..REPLICATIONS)
                .into_par_iter()
                .map(|r| reference::run(&model, r))
                .collect();
            black_box(t)
        })
    });
    let one = tallies[0].arrived;
    group.throughput(Throughput::Elements(one));
    group.bench_function("engine_cases_one_replication", |b| {
        b.iter(|| black_box(sopflow_sim::sim::run_replication(&model, 0, false).expect("runs")))
    });
    group.throughput(Throughput::Elements(reference::run(&model, 0).arrived));
    group.bench_function("reference_plain_loop_one_replication", |b| {
        b.iter(|| black_box(reference::run(&model, 0)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
