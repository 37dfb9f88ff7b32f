//! Whole KTP-el cases per second through the pure engine, with the fixed mix of paths the
//! project benchmarks everywhere: of every 10 cases, 2 hand in an incomplete file once,
//! 1 has a duplicate record consulted with the ADB once, 7 go straight through.
//! Each case ends with its history verified, as an auditor would replay it.

#[path = "../tests/support/mod.rs"]
mod support;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use sopflow_engine::case::{EventBody, verify};
use std::hint::black_box;

/// (incomplete_once, adb_once) for ten cases.
const MIX: [(bool, bool); 10] = [
    (true, false),
    (false, false),
    (false, false),
    (false, true),
    (false, false),
    (true, false),
    (false, false),
    (false, false),
    (false, false),
    (false, false),
];

fn cases(c: &mut Criterion) {
    let sop = support::ktp_el();
    let mut group = c.benchmark_group("ktp_el");
    group.throughput(Throughput::Elements(MIX.len() as u64));
    group.bench_function("ten_cases_mixed_paths", |b| {
        b.iter(|| {
            for (incomplete, adb) in MIX {
                let case = support::run_ktp_el_case(&sop, incomplete, adb).expect("case runs");
                black_box(case.events.len());
            }
        })
    });
    let histories: Vec<_> = MIX
        .iter()
        .map(|&(i, a)| {
            support::run_ktp_el_case(&sop, i, a)
                .expect("case runs")
                .events
        })
        .collect();
    let events: usize = histories.iter().map(Vec::len).sum();
    group.throughput(Throughput::Elements(events as u64));
    group.bench_function("verify_ten_histories_events", |b| {
        b.iter(|| {
            for history in &histories {
                black_box(verify(&sop, history).expect("verifies"));
            }
        })
    });
    // Baseline, same run: only the guard evaluations those ten cases make, with a bare rhai
    // engine on the same values (read back from the recorded decisions). The ratio of the two
    // is what the engine adds around its guards.
    let engine = rhai::Engine::new();
    let mut evaluations = Vec::new();
    for history in &histories {
        for event in history {
            if let EventBody::BranchTaken {
                evaluations: evals, ..
            } = &event.body
            {
                for e in evals {
                    let ast = engine.compile_expression(&e.guard).expect("guard compiles");
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
    group.throughput(Throughput::Elements(MIX.len() as u64));
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
