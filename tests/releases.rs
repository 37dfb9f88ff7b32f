//! Which version new cases start on: deployments release their version, an administrator
//! chooses another (a rollback) with a reason, a version deployed ahead of its Tanggal Efektif
//! takes over at that date, and the definitions folder does not override an administrator's
//! choice by being read again. On SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)]

#[macro_use]
mod support;

use axum::http::StatusCode;
use serde_json::json;
use sopflow_core::runtime::CommandRequest;
use sopflow_engine::case::Actor;
use support::Api;
use time::OffsetDateTime;

api_tests!(
    an_admin_chooses_the_version_new_cases_start_on,
    a_version_ahead_of_its_effective_date_takes_over_at_that_date,
    the_folder_does_not_undo_a_choice_until_its_file_changes,
);

fn case_data() -> serde_json::Value {
    json!({ "sop_id": "ktp-el", "data": { "nik": "1312990101900001", "alasan": "baru" } })
}

async fn open_on(api: &Api, token: &str) -> serde_json::Value {
    let r = api.post("/cases", token, case_data()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["sop_version"].clone()
}

async fn an_admin_chooses_the_version_new_cases_start_on(api: &Api) {
    let admin = api.user("admin", "admin").await;
    let petugas = api.user("siti", "petugas_antrian").await;
    let v1 = support::ktp_el_yaml();
    let v2 = v1.replace("budget: 5m", "budget: 10m");
    assert_eq!(open_on(api, &petugas).await, 1, "the folder's version");

    let d = api
        .deploy_yaml(&admin, &v2, "?reason=antrian%20lebih%20lama")
        .await;
    assert_eq!(d.status, StatusCode::CREATED, "{}", d.text);
    assert_eq!(d.body["version"], 2);
    assert_eq!(open_on(api, &petugas).await, 2, "a deployment is released");

    // A rollback: version 1 again, with who and why.
    let r = api
        .post(
            "/sops/ktp-el/releases",
            &admin,
            json!({ "version": 1, "reason": "versi 2 salah ketik" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["version"], 1);
    assert_eq!(r.body["released_by"], "admin");
    assert_eq!(r.body["reason"], "versi 2 salah ketik");
    assert_eq!(open_on(api, &petugas).await, 1);
    let sop = api.get("/sops/ktp-el", &admin).await;
    assert_eq!(sop.body["latest_version"], 2, "{}", sop.text);
    assert_eq!(sop.body["in_force_version"], 1, "{}", sop.text);
    let releases = sop.body["releases"].as_array().unwrap();
    let reasons: Vec<&str> = releases
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "the definition file changed",
            "antrian lebih lama",
            "versi 2 salah ketik"
        ]
    );
    assert!(releases[0]["source"].as_str().unwrap().starts_with("file:"));
    assert_eq!(releases[1]["source"], "api");

    // Deploying the same text again makes no new version; it is released again.
    let d = api.deploy_yaml(&admin, &v2, "").await;
    assert_eq!(d.status, StatusCode::CREATED, "{}", d.text);
    assert_eq!(d.body["version"], 2);
    let sop = api.get("/sops/ktp-el", &admin).await;
    assert_eq!(sop.body["latest_version"], 2, "no duplicate version");
    assert_eq!(sop.body["in_force_version"], 2);
    assert_eq!(sop.body["versions"].as_array().unwrap().len(), 2);

    // Refusals: no reason, no such version, not an admin, a bad date.
    let r = api
        .post(
            "/sops/ktp-el/releases",
            &admin,
            json!({ "version": 1, "reason": " " }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = api
        .post(
            "/sops/ktp-el/releases",
            &admin,
            json!({ "version": 9, "reason": "x" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = api
        .post(
            "/sops/nope/releases",
            &admin,
            json!({ "version": 1, "reason": "x" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = api
        .post(
            "/sops/ktp-el/releases",
            &petugas,
            json!({ "version": 1, "reason": "x" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = api
        .post(
            "/sops/ktp-el/releases",
            &admin,
            json!({ "version": 1, "reason": "x", "effective_on": "besok" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(
        api.get("/sops/ktp-el", &admin).await.body["in_force_version"],
        2
    );
}

async fn a_version_ahead_of_its_effective_date_takes_over_at_that_date(api: &Api) {
    let admin = api.user("admin", "admin").await;
    let petugas = api.user("siti", "petugas_antrian").await;
    let now = OffsetDateTime::now_utc();
    // The office runs on WIB (the default time zone): a date two days ahead, there.
    let office = time::UtcOffset::from_hms(7, 0, 0).unwrap();
    let effective = now.to_offset(office).date() + time::Duration::days(2);
    let v2 = support::ktp_el_yaml()
        .replace("budget: 5m", "budget: 10m")
        .replace(
            "    made: Mei 2021",
            &format!("    made: Mei 2021\n    effective: {effective}"),
        );
    assert!(v2.contains("effective:"), "the header holds the date");
    let d = api.deploy_yaml(&admin, &v2, "").await;
    assert_eq!(d.status, StatusCode::CREATED, "{}", d.text);
    let sop = api.get("/sops/ktp-el", &admin).await;
    assert_eq!(sop.body["in_force_version"], 1, "not yet: {}", sop.text);
    let scheduled = sop.body["scheduled"].as_array().unwrap();
    assert_eq!(scheduled.len(), 1, "{}", sop.text);
    assert_eq!(scheduled[0]["version"], 2);
    assert_eq!(scheduled[0]["effective_on"], effective.to_string());
    assert_eq!(
        open_on(api, &petugas).await,
        1,
        "until then the previous version serves"
    );

    // The same runtime with the clock moved: at the office's midnight of that date, not before.
    let midnight = effective.midnight().assume_offset(office);
    let start_at = |at: OffsetDateTime| {
        CommandRequest::start(
            "ktp-el",
            case_data()["data"].as_object().unwrap().clone(),
            Vec::new(),
            Actor::new("siti", "petugas_antrian"),
            at,
        )
    };
    let runtime = &api.service.runtime;
    let before = runtime
        .run(start_at(midnight - time::Duration::seconds(1)))
        .await
        .unwrap();
    assert_eq!(before.case.state.sop_version, 1);
    let after = runtime.run(start_at(midnight)).await.unwrap();
    assert_eq!(after.case.state.sop_version, 2);
    // Cases stay on the version they started on.
    let stayed = api
        .get(&format!("/cases/{}", before.case.state.case_id), &admin)
        .await;
    assert_eq!(stayed.body["sop_version"], 1);
}

async fn the_folder_does_not_undo_a_choice_until_its_file_changes(api: &Api) {
    let admin = api.user("admin", "admin").await;
    let petugas = api.user("siti", "petugas_antrian").await;
    let file = api.definitions.path().join("ktp-el.yaml");
    let v2 = support::ktp_el_yaml().replace("budget: 5m", "budget: 10m");
    let registry = &api.service.runtime.registry;
    let store = &api.service.runtime.store;
    std::fs::write(&file, &v2).unwrap();
    registry.sync_dir(store, api.definitions.path()).await;
    assert_eq!(
        open_on(api, &petugas).await,
        2,
        "the changed file is released"
    );
    let r = api
        .post(
            "/sops/ktp-el/releases",
            &admin,
            json!({ "version": 1, "reason": "kembali" }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    // A restart reads the folder afresh (a new registry): the file has not changed since it
    // released version 2, so the administrator's choice stands.
    let restarted = sopflow_core::registry::Registry::new(registry.utc_offset());
    restarted.sync_dir(store, api.definitions.path()).await;
    assert_eq!(
        open_on(api, &petugas).await,
        1,
        "the choice survives a restart"
    );
    // Changing the file is a new decision: its version is released.
    let v3 = v2.replace("budget: 10m", "budget: 15m");
    std::fs::write(&file, &v3).unwrap();
    restarted.sync_dir(store, api.definitions.path()).await;
    assert_eq!(open_on(api, &petugas).await, 3);
}

/// Two service points in different zones: the main office in WIB and a desk in WIT, two
/// hours ahead.
fn two_zones(config: &mut sopflow::serve::Config) {
    use sopflow_core::offices::ServicePointConfig;
    let point = |id: &str, timezone: &str, default| ServicePointConfig {
        id: id.into(),
        name: format!("Kantor {id}"),
        timezone: Some(timezone.into()),
        calendar: None,
        counters: vec![],
        default,
    };
    config.service_points = vec![
        point("kantor", "Asia/Jakarta", true),
        point("mpp_jayapura", "Asia/Jayapura", false),
    ];
}

/// A dated version takes over at each service point's own midnight: in WIT two hours before
/// the main office in WIB.
async fn an_effective_date_takes_effect_at_the_service_points_midnight(api: &Api) {
    let admin = api.user("admin", "admin").await;
    let now = OffsetDateTime::now_utc();
    let wit = time::UtcOffset::from_hms(9, 0, 0).unwrap();
    let wib = time::UtcOffset::from_hms(7, 0, 0).unwrap();
    let effective = now.to_offset(wib).date() + time::Duration::days(2);
    let v2 = support::ktp_el_yaml().replace(
        "    made: Mei 2021",
        &format!("    made: Mei 2021\n    effective: {effective}"),
    );
    let d = api.deploy_yaml(&admin, &v2, "").await;
    assert_eq!(d.status, StatusCode::CREATED, "{}", d.text);
    let start_at = |at: OffsetDateTime, point: &str| {
        CommandRequest::start(
            "ktp-el",
            case_data()["data"].as_object().unwrap().clone(),
            Vec::new(),
            Actor::new("siti", "petugas_antrian"),
            at,
        )
        .at(Some(point.to_owned()))
    };
    let runtime = &api.service.runtime;
    let version = |outcome: sopflow_core::Outcome| outcome.case.state.sop_version;
    let wit_midnight = effective.midnight().assume_offset(wit);
    let wib_midnight = effective.midnight().assume_offset(wib);
    let before = wit_midnight - time::Duration::seconds(1);
    let run = |at, point| runtime.run(start_at(at, point));
    assert_eq!(version(run(before, "mpp_jayapura").await.unwrap()), 1);
    // At midnight in Jayapura it is 22:00 the day before in Jakarta.
    assert_eq!(version(run(wit_midnight, "mpp_jayapura").await.unwrap()), 2);
    assert_eq!(version(run(wit_midnight, "kantor").await.unwrap()), 1);
    let just_before = wib_midnight - time::Duration::seconds(1);
    assert_eq!(version(run(just_before, "kantor").await.unwrap()), 1);
    assert_eq!(version(run(wib_midnight, "kantor").await.unwrap()), 2);
}

mod by_zone {
    mod sqlite {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn an_effective_date_takes_effect_at_the_service_points_midnight() {
            use crate::support::{Api, Backend};
            if let Some(api) = Api::start_with(Backend::Sqlite, crate::two_zones).await {
                crate::an_effective_date_takes_effect_at_the_service_points_midnight(&api).await;
                api.finish().await;
            }
        }
    }

    mod postgres {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn an_effective_date_takes_effect_at_the_service_points_midnight() {
            use crate::support::{Api, Backend};
            if let Some(api) = Api::start_with(Backend::Postgres, crate::two_zones).await {
                crate::an_effective_date_takes_effect_at_the_service_points_midnight(&api).await;
                api.finish().await;
            }
        }
    }
}
