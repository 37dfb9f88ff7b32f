//! Whole KTP-el cases per second through the pure engine, with the fixed mix of paths the
//! project benchmarks everywhere (`bench/engine/src/mix.rs`: of every 10 cases, 2 hand in an incomplete
//! file once, 1 has a duplicate record consulted with the ADB once, 7 go straight through),
//! one case at a time and with many cases open at once; verification of the histories; and,
//! in the same run, a bare rhai engine evaluating only the branch guards those cases
//! evaluate, on the same values. Every throughput is in cases (events for
//! verification): compare the cases benches with `baseline_bare_rhai_guards_of_ten_cases`
//! for what the engine adds around its guards. `bench/engine` (`engine-runner`) reports the same figures as JSON.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sopflow_bench_engine::mix;
use sopflow_engine::case::{EventBody, verify};
use sopflow_engine::sop::{self, Sop};
use std::hint::black_box;

/// Cases open at once in the `open_cases` bench (the target is set at 20,000; the
/// runner measures that; criterion repeats its routine, so it holds fewer).
const OPEN: usize = 2_000;

fn ktp_el() -> Sop {
    let text = include_str!("../../../sop-definitions/ktp-el.yaml");
    sop::load(text).expect("the KTP-el SOP is valid")
}

fn cases(c: &mut Criterion) {
    let sop = ktp_el();
    let mut group = c.benchmark_group("ktp_el");
    group.throughput(Throughput::Elements(10));
    group.bench_function("ten_cases_one_at_a_time", |b| {
        b.iter(|| {
            let mut driver = mix::Driver::new(&sop);
            for i in 0..10 {
                driver.whole_case(i, &mut mix::Discard).expect("case runs");
            }
            driver.check(10).expect("counts of the mix");
            black_box(driver.counters.events);
        })
    });
    // Many open cases: all started, then one human step each per round, as the peers' live
    // mode. Throughput in cases, like the others.
    group.throughput(Throughput::Elements(OPEN as u64));
    group.bench_function("cases_among_2000_open", |b| {
        b.iter(|| {
            let mut driver = mix::Driver::new(&sop);
            let mut open: Vec<mix::MixCase> = (0..OPEN)
                .map(|i| driver.start(i, &mut mix::Discard).expect("starts"))
                .collect();
            while !open.is_empty() {
                open.retain_mut(|c| driver.step(c, &mut mix::Discard).expect("steps"));
            }
            driver.check(OPEN).expect("counts of the mix");
            black_box(driver.counters.events);
        })
    });
    let mut keep = mix::Keep::default();
    let mut driver = mix::Driver::new(&sop);
    for i in 0..10 {
        driver.whole_case(i, &mut keep).expect("case runs");
    }
    let histories = keep.0;
    let events: usize = histories.iter().map(Vec::len).sum();
    group.throughput(Throughput::Elements(events as u64));
    group.bench_function("verify_ten_histories_events", |b| {
        b.iter(|| {
            for history in &histories {
                black_box(verify(&sop, history).expect("verifies"));
            }
        })
    });
    // Baseline, same run: only the branch-guard evaluations those ten cases make, with a bare
    // rhai engine on the same values (read back from the recorded decisions).
    let engine = rhai::Engine::new();
    let mut evaluations = Vec::new();
    for history in &histories {
        // Every branch taken, among each event's facts (a v2 event holds several).
        for fact in history.iter().flat_map(|e| e.facts()) {
            if let EventBody::BranchTaken {
                from,
                evaluations: evals,
                ..
            } = fact
            {
                for e in evals {
                    // v2 records no guard text: the pinned SOP's branch holds it.
                    let text: String = if e.guard.is_empty() {
                        let step = sop.step_index(from).expect("a recorded step is the SOP's");
                        sop.compiled(step).branches[e.branch]
                            .guard
                            .as_ref()
                            .expect("an evaluated branch has a guard")
                            .source
                            .to_string()
                    } else {
                        e.guard.to_string()
                    };
                    let ast = engine.compile_expression(&text).expect("guard compiles");
                    let values: Vec<(String, rhai::Dynamic)> = e
                        .values
                        .iter()
                        .map(|(k, v)| {
                            (
                                k.clone(),
                                rhai::serde::to_dynamic(v).expect("value converts"),
                            )
                        })
                        .collect();
                    evaluations.push((ast, values));
                }
            }
        }
    }
    assert!(
        !evaluations.is_empty(),
        "the ten cases evaluate branch guards: a baseline of none measures nothing"
    );
    group.throughput(Throughput::Elements(10));
    group.bench_function("baseline_bare_rhai_guards_of_ten_cases", |b| {
        b.iter(|| {
            for (ast, values) in &evaluations {
                let mut scope = rhai::Scope::new();
                for (k, v) in values {
                    scope.push(k.clone(), v.clone());
                }
                let result: bool = engine
                    .eval_ast_with_scope(&mut scope, ast)
                    .expect("guard evaluates");
                black_box(result);
            }
        })
    });
    group.finish();
}

criterion_group!(benches, cases);
criterion_main!(benches);
