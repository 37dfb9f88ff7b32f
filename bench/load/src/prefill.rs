//! `--stored N`: before the load, fill the store with N finished KTP-el cases of the bench mix,
//! so that the load runs against a store that already holds a year of an office's work.
//!
//! The cases go through the service's own start-up (`sopflow::serve::build`: the same store,
//! registry and runtime `sopflow serve` runs) and its command pipeline, in process, no HTTP:
//! each case whole as one sequence (`Runtime::run_sequence`: every command decided as a
//! REST handler's would be, the case's events stored in one append), many cases per
//! transaction (the group commit). Their times are spread
//! over the working days of the year before the load, a few hundred cases a day, so
//! registration and queue numbers are drawn per day as an office draws them.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, bail};
use serde_json::{Map, Value, json};
use sopflow::serve::{self, Config};
use sopflow_core::auth::User;
use sopflow_core::runtime::{CommandRequest, FollowUp, Runtime};
use sopflow_engine::case::{Command, DocumentReceipt};
use sopflow_store::{Effective, Membership, NewRelease};
use time::{Duration, OffsetDateTime};

use crate::{duplicate_once, incomplete_once, nik_of};

/// Cases opened per working day: a large office's year (~250 days) is ~250,000 cases.
const PER_DAY: u64 = 1_000;
/// Tasks driving cases at once: enough to fill the group commit's batches.
const TASKS: usize = 64;

/// The officers of the mix, each holding their role everywhere.
struct Staff {
    petugas: User,
    operator: User,
    adb: User,
}

impl Staff {
    fn new(default_point: &str) -> Self {
        let user = |name: &str, role: &str| {
            User::new(
                name,
                role,
                vec![Membership {
                    role: role.to_owned(),
                    service_point: Membership::EVERYWHERE.to_owned(),
                }],
                default_point,
            )
        };
        Self {
            petugas: user("prefill-petugas", "petugas_antrian"),
            operator: user("prefill-operator", "operator_cetak"),
            adb: user("prefill-adb", "adb"),
        }
    }
}

/// Fills `database` with `n` finished cases; returns how long it took, in seconds.
pub async fn fill(database: &str, definitions: &Path, n: u64) -> anyhow::Result<f64> {
    let dir = std::env::temp_dir().join(format!("sopflow-prefill-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config_path = dir.join("sopflow.toml");
    // The printer is recorded by its operator, as in the load (see `main`).
    std::fs::write(
        &config_path,
        format!(
            "database = {database:?}\ndefinitions = {:?}\n\n[adapters.printer_ktp]\nkind = \"manual\"\n",
            definitions.display().to_string()
        ),
    )?;
    let config = Config::load(&config_path).context("prefill config")?;
    let service = serve::build(&config).await.context("prefill start-up")?;
    let runtime = service.runtime.clone();
    let staff = Arc::new(Staff::new(runtime.offices.default_id()));
    // The year before the load, working days only (Monday to Friday), from 08:00 local.
    let today = OffsetDateTime::now_utc();
    let days = n.div_ceil(PER_DAY);
    let first = working_days_back(today, days);
    // The SOP versions the folder deployed now were in force all that year: a release
    // dated back, recorded once (the product releases only from now on; this is the
    // bench's stand-in for the year of releases a real store holds).
    for d in runtime.registry.all(&runtime.store).await? {
        runtime
            .store
            .record_release(&NewRelease {
                sop_id: d.sop_id.clone(),
                version: d.version,
                effective: Effective::At(first - Duration::days(1)),
                source: "bench:prefill".into(),
                released_by: "sopflow-load".into(),
                reason: "the store a year of an office leaves".into(),
                recorded_at: OffsetDateTime::now_utc(),
            })
            .await?;
    }
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..TASKS {
        let runtime = runtime.clone();
        let staff = staff.clone();
        let next = next.clone();
        tasks.spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return Ok::<(), anyhow::Error>(());
                }
                let at = case_time(first, i);
                one_case(&runtime, &staff, i, at)
                    .await
                    .with_context(|| format!("stored case {i}"))?;
            }
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let took = started.elapsed().as_secs_f64();
    runtime.store.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(took)
}

/// The first of the `days` working days before `today`, at 08:00 UTC.
fn working_days_back(today: OffsetDateTime, days: u64) -> OffsetDateTime {
    let mut day = today.date();
    let mut left = days;
    while left > 0 {
        day = day.previous_day().unwrap_or(day);
        if day.weekday().number_days_from_monday() < 5 {
            left -= 1;
        }
    }
    day.midnight().assume_utc() + Duration::hours(1)
}

/// When case `i` opens: its working day, and its place among the day's cases over 8 hours.
fn case_time(first: OffsetDateTime, i: u64) -> OffsetDateTime {
    let mut day = first.date();
    for _ in 0..i / PER_DAY {
        day = day.next_day().unwrap_or(day);
        while day.weekday().number_days_from_monday() >= 5 {
            day = day.next_day().unwrap_or(day);
        }
    }
    let within = Duration::seconds(i64::try_from((i % PER_DAY) * 8 * 3600 / PER_DAY).unwrap_or(0));
    day.midnight().assume_utc() + Duration::hours(1) + within
}

fn object(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn received(doc: &str) -> DocumentReceipt {
    DocumentReceipt {
        doc: doc.to_owned(),
        number: None,
        received: true,
        sha256: None,
    }
}

/// Case `i` of the mix from its opening to the hand-over, each command a minute after the
/// one before, as one sequence: decided command by command as the service decides them, and
/// stored in one append.
async fn one_case(
    runtime: &Runtime,
    staff: &Staff,
    i: u64,
    opened: OffsetDateTime,
) -> anyhow::Result<()> {
    let mut at = opened;
    let mut tick = || {
        at += Duration::minutes(1);
        at
    };
    let documents = if incomplete_once(i) {
        Vec::new()
    } else {
        vec![received("fotokopi_kk")]
    };
    let data = object(
        json!({ "nik": nik_of(i), "nama_lengkap": format!("Pemohon {i}"), "alasan": "baru" }),
    );
    let start = CommandRequest::start("ktp-el", data, documents, staff.petugas.actor(), opened)
        .by(&staff.petugas);
    let step = |name: &str, data: Value, documents: Vec<DocumentReceipt>| Command::CompleteStep {
        step: name.to_owned(),
        data: object(data),
        documents,
        outcome: None,
    };
    // A command for a step the case is not at is refused, and the sequence with it: the
    // sequence going through is the check that each lands where the SOP says.
    let mut steps: Vec<(&User, Command)> = Vec::new();
    if incomplete_once(i) {
        steps.push((&staff.petugas, step("serahkan_berkas", json!({}), vec![])));
        steps.push((&staff.petugas, step("verifikasi_berkas", json!({}), vec![])));
        let kk = vec![received("fotokopi_kk")];
        steps.push((&staff.petugas, step("serahkan_berkas", json!({}), kk)));
    } else {
        steps.push((&staff.petugas, step("serahkan_berkas", json!({}), vec![])));
    }
    steps.push((&staff.petugas, step("verifikasi_berkas", json!({}), vec![])));
    let call = Command::CallFromQueue {
        queue: "cetak_ktp".into(),
        counter: None,
    };
    steps.push((&staff.operator, call));
    if duplicate_once(i) {
        let dup = json!({ "status_perekaman": "DUPLICATE_RECORD", "masalah_nik": false });
        steps.push((&staff.operator, step("periksa_perekaman", dup, vec![])));
        let answer = Command::CompleteStep {
            step: "konsultasi_adb".into(),
            data: Map::new(),
            documents: Vec::new(),
            outcome: Some("resolved".into()),
        };
        steps.push((&staff.adb, answer));
    }
    let ready = json!({ "status_perekaman": "PRINT_READY_RECORD", "masalah_nik": false });
    steps.push((&staff.operator, step("periksa_perekaman", ready, vec![])));
    steps.push((&staff.operator, step("cetak_ktp", json!({}), vec![])));
    let printed = vec![received("ktp_el_tercetak")];
    steps.push((&staff.petugas, step("validasi_ktp", json!({}), printed)));
    steps.push((&staff.petugas, step("terima_ktp", json!({}), vec![])));
    let then = steps
        .into_iter()
        .map(|(user, command)| FollowUp::new(command, user.actor(), tick()).by(user))
        .collect();
    let state = runtime.run_sequence(start, then).await?.case.state;
    if !state.status.is_closed() {
        bail!(
            "expected the case closed, it is at `{}` ({:?})",
            state.current_step.as_deref().unwrap_or(""),
            state.status
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use time::Weekday;
    use time::macros::datetime;

    use super::*;

    #[test]
    fn cases_fall_on_working_days_a_thousand_a_day_from_the_first() {
        // Tuesday 2026-12-01: three working days back is Thursday 2026-11-26.
        let first = working_days_back(datetime!(2026-12-01 19:00 UTC), 3);
        assert_eq!(first, datetime!(2026-11-26 01:00 UTC));
        assert_eq!(case_time(first, 0), first);
        // The day's last case opens within its 8 hours.
        assert!(case_time(first, PER_DAY - 1) < first + Duration::hours(8));
        // Case 1,000 opens the next day, case 2,000 after the weekend, on Monday.
        assert_eq!(
            case_time(first, PER_DAY).date(),
            first.date().next_day().unwrap()
        );
        let monday = case_time(first, 2 * PER_DAY);
        assert_eq!(monday.weekday(), Weekday::Monday);
        assert_eq!(monday, datetime!(2026-11-30 01:00 UTC));
    }
}
