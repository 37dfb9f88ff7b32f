//! Histories generated from known distributions (by simulating KTP-el through the engine)
//! are fitted back: the fit finds the families, parameters and shares it was given, the
//! fitted file reads back, and simulating it gives the same figures again. Also through a
//! real store: written as hash-chained histories, then `--fit-from` on it, as the CLI runs.

// Helpers outside #[test] functions unwrap too: a panic in a test is a failure.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;

use sopflow_sim::dist::DistSpec;
use sopflow_sim::fit::{Fitter, to_toml};
use sopflow_sim::model::{CompileOptions, Model};
use sopflow_sim::report::{Report, simulate};
use sopflow_sim::scenario::{Scenario, ValueSpec};
use sopflow_sim::sim::run_replication;
use sopflow_store::testing::{Backend, TestDb};

const KTP_EL: &str = include_str!("../../sop-definitions/ktp-el.yaml");
const KNOWN: &str = include_str!("data/ktp-el-known.toml");

fn known() -> (Arc<sopflow_engine::sop::Sop>, Scenario, Model) {
    let sop = Arc::new(sopflow_engine::sop::load(KTP_EL).unwrap());
    let scenario = Scenario::parse(KNOWN).unwrap();
    let model = Model::compile(sop.clone(), &scenario, CompileOptions::default()).unwrap();
    (sop, scenario, model)
}

fn close(name: &str, got: f64, want: f64, tolerance: f64) {
    assert!(
        (got - want).abs() <= tolerance,
        "{name}: fitted {got}, known {want} (tolerance {tolerance})"
    );
}

fn choice(v: &ValueSpec) -> BTreeMap<String, f64> {
    match v {
        ValueSpec::Choice(c) => c.clone(),
        other => panic!("a choice, not {other:?}"),
    }
}

/// The fitted scenario against the known one.
fn check(fitted: &Scenario) {
    let point = fitted.service_points.values().next().unwrap();
    // 20 applicants per hour, 12:00 10; Poisson over 20 days of each weekday: ±4 is 4 sigma.
    for day in ["mon", "wed", "fri"] {
        let rates = &point.arrivals.by_hour[day];
        close(&format!("{day} 09:00"), rates[9], 20.0, 4.0);
        close(&format!("{day} 12:00"), rates[12], 10.0, 3.0);
        assert_eq!(rates[7], 0.0);
        assert_eq!(rates[15], 0.0);
    }
    assert!(!point.arrivals.by_hour.contains_key("sat"));
    assert_eq!(point.staff["petugas_antrian"].total(), 3);
    assert_eq!(point.staff["operator_cetak"].total(), 2);

    let step = |id: &str| &fitted.steps[id];
    match &step("serahkan_berkas").time {
        Some(DistSpec::Exponential { mean }) => close("serahkan mean", mean.0, 40.0, 2.0),
        other => panic!("serahkan_berkas: an exponential, not {other:?}"),
    }
    match &step("verifikasi_berkas").time {
        Some(DistSpec::Lognormal { mean, sd }) => {
            close("verifikasi mean", mean.0, 60.0, 2.0);
            close("verifikasi sd", sd.0, 30.0, 3.0);
        }
        other => panic!("verifikasi_berkas: a lognormal, not {other:?}"),
    }
    match &step("periksa_perekaman").time {
        Some(DistSpec::Gamma { shape, scale }) => {
            close("periksa shape", *shape, 4.0, 0.5);
            close("periksa mean", shape * scale.0, 50.0, 2.0);
        }
        other => panic!("periksa_perekaman: a gamma, not {other:?}"),
    }
    assert_eq!(
        step("validasi_ktp").time,
        Some(DistSpec::Fixed(sopflow_sim::duration::Seconds(45.0)))
    );
    let terima = step("terima_ktp").time.as_ref().unwrap().mean();
    close("terima mean", terima, 20.0, 1.0);
    assert_eq!(
        fitted.adapters["printer_ktp"].time,
        Some(DistSpec::Fixed(sopflow_sim::duration::Seconds(40.0)))
    );
    assert!(
        fitted.adapters["printer_ktp"].attended,
        "kept from the base scenario"
    );
    match &fitted.adapters["konsultasi_adb"].time {
        Some(DistSpec::Exponential { mean }) => close("adb mean", mean.0, 1200.0, 150.0),
        other => panic!("konsultasi_adb: an exponential, not {other:?}"),
    }
    let status = choice(&step("periksa_perekaman").data["status_perekaman"]);
    close("PRINT_READY", status["PRINT_READY_RECORD"], 0.9, 0.015);
    close("DUPLICATE", status["DUPLICATE_RECORD"], 0.05, 0.01);
    let nik = choice(&step("periksa_perekaman").data["masalah_nik"]);
    close("masalah_nik", nik["true"], 0.02, 0.006);
    let again = step("periksa_perekaman").again.as_ref().unwrap();
    assert_eq!(
        again.data["status_perekaman"],
        ValueSpec::Fixed("PRINT_READY_RECORD".into())
    );
    close(
        "fotokopi_kk",
        step("serahkan_berkas").documents["fotokopi_kk"],
        0.8,
        0.015,
    );
    let returned = step("serahkan_berkas").again.as_ref().unwrap();
    assert_eq!(returned.documents["fotokopi_kk"], 1.0);
    assert!(
        returned.delay.is_some(),
        "the delay is kept from the base scenario"
    );
    let outcome = choice(step("konsultasi_adb").outcome.as_ref().unwrap());
    close("resolved", outcome["resolved"], 0.8, 0.05);
    let alasan = choice(&fitted.case.data["alasan"]);
    close("baru", alasan["baru"], 0.7, 0.015);
    // Personal data: a fictitious value of the same shape, never a real one.
    assert_eq!(
        fitted.case.data["nik"],
        ValueSpec::Fixed("3201000000000001".into()),
        "the base scenario's own fictitious NIK is kept"
    );
}

#[test]
fn a_fit_recovers_the_distributions_it_was_generated_from() {
    let (sop, scenario, model) = known();
    let out = run_replication(&model, 0, true).unwrap();
    assert!(out.histories.len() > 10_000, "{}", out.histories.len());
    let mut fitter = Fitter::new(&sop, time::macros::offset!(+7));
    for (_, events) in &out.histories {
        fitter.add(events);
    }
    let from = model.base;
    let to = model.base + time::Duration::days(140);
    let fit = fitter.finish(Some(&scenario), from, to, "kantor").unwrap();
    check(&fit.scenario);

    // The written file reads back as the same scenario.
    let text = to_toml(&fit.scenario, &fit.notes);
    let back = Scenario::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(back, fit.scenario, "{text}");

    // Simulating the fit gives the figures of the original (both over 6 weeks).
    let figures = |s: &Scenario| {
        let mut s = s.clone();
        s.days = 42;
        s.replications = 4;
        let m = Model::compile(sop.clone(), &s, CompileOptions::default()).unwrap();
        Report::new(&m, simulate(&m).unwrap(), "", "")
    };
    let (a, b) = (figures(&scenario), figures(&back));
    let within = |r: &Report| r.cases.within_budget.unwrap().mean;
    close("within budget", within(&b), within(&a), 0.02);
    // (Waiting times themselves are dominated by the few cases left waiting overnight,
    // too rare for a tight comparison over six weeks.)
    let utilisation = |r: &Report, role: &str| {
        r.roles
            .iter()
            .find(|x| x.role == role)
            .and_then(|x| x.utilisation)
            .unwrap()
            .mean
    };
    for role in ["petugas_antrian", "operator_cetak"] {
        close(role, utilisation(&b, role), utilisation(&a, role), 0.03);
    }
    let arrived = |r: &Report| r.cases.arrived.unwrap().mean;
    close("arrived", arrived(&b), arrived(&a), 0.03 * arrived(&a));
}

/// Histories written to a store as the runtime writes them, then fitted with `--fit-from`
/// through the command itself.
async fn through_store(backend: Backend) {
    let Some(db) = TestDb::new(backend).await else {
        return;
    };
    let (sop, _, model) = known();
    let mut short = model.clone();
    // Four weeks are enough to see the fit work through the store.
    short.horizon = 28 * sopflow_sim::model::DAY;
    short.cap = short.horizon + 3 * sopflow_sim::model::DAY;
    short.points[0].arrivals.retain(|s| s.start < short.horizon);
    let store = db.store().await;
    let version = sopflow_sim::history::deploy(&store, &sop, KTP_EL, model.base)
        .await
        .unwrap();
    short.sop_version = version;
    let out = run_replication(&short, 0, true).unwrap();
    let n = sopflow_sim::history::write(&store, &sop, version, short.seed, &out.histories)
        .await
        .unwrap();
    assert_eq!(n, out.histories.len());
    store.close().await;

    let dir = tempfile::tempdir().unwrap();
    let sop_file = dir.path().join("ktp-el.yaml");
    std::fs::write(&sop_file, KTP_EL).unwrap();
    let base = dir.path().join("base.toml");
    std::fs::write(&base, KNOWN).unwrap();
    let fitted_file = dir.path().join("fitted.toml");
    let args = sopflow_sim::SimulateArgs {
        sop: sop_file,
        scenario: Some(base),
        fit_from: Some(db.url.clone()),
        from: Some("2026-01-05".into()),
        to: Some("2026-02-02".into()),
        write_fit: Some(fitted_file.clone()),
        staff_for: None,
        format: sopflow_sim::OutputFormat::Json,
        output: None,
        replications: Some(2),
        seed: None,
        days: Some(5),
        write_histories: None,
    };
    let output = tokio::task::spawn_blocking(move || sopflow_sim::run(&args))
        .await
        .unwrap()
        .unwrap();
    assert!(
        output.notes[0].starts_with(&format!("fitted from {n} cases")),
        "{:?}",
        output.notes
    );
    let fitted = Scenario::parse(&std::fs::read_to_string(&fitted_file).unwrap()).unwrap();
    let rates = &fitted.service_points["kantor"].arrivals.by_hour["tue"];
    close("tue 10:00", rates[10], 20.0, 9.0);
    assert!(matches!(
        fitted.steps["serahkan_berkas"].time,
        Some(DistSpec::Exponential { .. })
    ));
    let report: serde_json::Value = serde_json::from_str(&output.rendered).unwrap();
    assert_eq!(
        report["scenario"]["source"],
        format!("fitted from {n} cases")
    );
    assert!(report["cases"]["arrived"]["mean"].as_f64().unwrap() > 500.0);
}

#[tokio::test]
async fn fit_from_a_sqlite_store() {
    through_store(Backend::Sqlite).await;
}

#[tokio::test]
async fn fit_from_a_postgres_store() {
    through_store(Backend::Postgres).await;
}
