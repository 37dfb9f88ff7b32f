//! The REST API end to end, in-process, on SQLite and (when configured) PostgreSQL.

// Helpers outside `#[test]` functions unwrap too: in tests a panic is a failed assertion.
#![allow(clippy::unwrap_used)]

mod support;

use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Api, api_tests};

api_tests!(
    a_ktp_el_case_runs_from_file_to_card,
    two_operators_completing_the_same_step_one_wins_one_gets_409,
    an_idempotency_key_gives_the_same_answer_and_no_second_event,
    bad_input_gets_problem_json_and_writes_nothing,
    every_endpoint_refuses_the_wrong_roles,
    a_changed_definition_becomes_a_new_version_and_cases_stay_pinned,
    the_inbox_lists_open_steps_by_role_with_due_time_and_documents,
    queue_numbers_run_per_queue_and_call_next_takes_the_oldest,
    the_timer_records_an_exceeded_budget_once,
    openapi_and_metrics_describe_the_service,
    concurrent_commands_commit_together_and_a_refused_one_rolls_back_alone,
    an_uploaded_document_is_stored_and_its_sha256_recorded,
    a_case_is_seen_only_by_those_who_work_it,
    a_step_says_which_documents_and_fields_it_needs,
);

struct Staff {
    admin: String,
    petugas: String,
    operator: String,
    auditor: String,
}

async fn staff(api: &Api) -> Staff {
    Staff {
        admin: api.user("admin", "admin").await,
        petugas: api.user("petugas", "petugas_antrian").await,
        operator: api.user("operator", "operator_cetak").await,
        auditor: api.user("auditor", "auditor").await,
    }
}

fn applicant() -> Value {
    json!({ "nik": "1312990101900001", "nama_lengkap": "Contoh Pemohon", "alasan": "baru" })
}

async fn open_case(api: &Api, token: &str) -> String {
    let r = api
        .post("/cases", token, json!({ "sop_id": "ktp-el", "data": applicant(), "documents": [{ "type": "fotokopi_kk" }] }))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["case_id"].as_str().unwrap().to_owned()
}

async fn complete(api: &Api, token: &str, case: &str, step: &str, body: Value) -> support::Reply {
    api.post(&format!("/cases/{case}/steps/{step}/complete"), token, body)
        .await
}

async fn a_ktp_el_case_runs_from_file_to_card(api: &Api) {
    let s = staff(api).await;
    let case = open_case(api, &s.petugas).await;
    let r = complete(api, &s.petugas, &case, "serahkan_berkas", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["current_step"]["id"], "verifikasi_berkas");
    let r = complete(api, &s.petugas, &case, "verifikasi_berkas", json!({})).await;
    assert_eq!(r.body["current_step"]["id"], "tunggu_antrian");
    assert_eq!(r.body["queue_number"], "A-001");

    let r = api
        .post("/queues/cetak_ktp/call-next", &s.operator, json!({}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["case_id"], case.as_str());
    assert_eq!(r.body["current_step"]["id"], "periksa_perekaman");

    let r = complete(
        api,
        &s.operator,
        &case,
        "periksa_perekaman",
        json!({ "data": { "status_perekaman": "PRINT_READY_RECORD", "masalah_nik": false } }),
    )
    .await;
    assert_eq!(r.body["current_step"]["id"], "cetak_ktp", "{}", r.text);
    // No printer adapter configured: the operator records the print.
    let r = complete(api, &s.operator, &case, "cetak_ktp", json!({})).await;
    assert_eq!(r.body["current_step"]["id"], "validasi_ktp", "{}", r.text);
    let r = complete(
        api,
        &s.petugas,
        &case,
        "validasi_ktp",
        json!({ "documents": [{ "type": "ktp_el_tercetak" }] }),
    )
    .await;
    assert_eq!(r.body["current_step"]["id"], "terima_ktp", "{}", r.text);
    let r = complete(api, &s.petugas, &case, "terima_ktp", json!({})).await;
    assert_eq!(r.body["status"], "completed", "{}", r.text);

    let history = api.get(&format!("/cases/{case}/history"), &s.auditor).await;
    assert_eq!(history.status, StatusCode::OK);
    let events = history.body.as_array().unwrap();
    // Event format v2: the last command's event is the completion, its last fact the end.
    assert_eq!(events.last().unwrap()["type"], "step_completed");
    assert!(events.iter().all(|e| e["event"]["v"] == 2));
    assert_eq!(
        support::facts(events).last().unwrap()["type"],
        "case_completed"
    );
    for pair in events.windows(2) {
        assert_eq!(
            pair[1]["prev_hash"], pair[0]["hash"],
            "the history is chained"
        );
    }
    let users: Vec<&str> = events.iter().map(|e| e["user"].as_str().unwrap()).collect();
    assert!(
        users.contains(&"petugas") && users.contains(&"operator"),
        "who did it is recorded"
    );

    let got = api.get(&format!("/cases/{case}"), &s.auditor).await;
    assert_eq!(got.body["status"], "completed");
    assert_eq!(got.body["version"].as_u64().unwrap(), events.len() as u64);
}

async fn two_operators_completing_the_same_step_one_wins_one_gets_409(api: &Api) {
    let s = staff(api).await;
    let case = open_case(api, &s.petugas).await;
    let other = api.user("petugas2", "petugas_antrian").await;
    let path = format!("/cases/{case}/steps/serahkan_berkas/complete");
    let (a, b) = tokio::join!(
        api.post(&path, &s.petugas, json!({})),
        api.post(&path, &other, json!({}))
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{} / {}",
        a.text,
        b.text
    );
    let loser = if a.status == StatusCode::CONFLICT {
        &a
    } else {
        &b
    };
    assert_eq!(loser.content_type, "application/problem+json");
    let got = api.get(&format!("/cases/{case}"), &s.petugas).await;
    assert_eq!(
        loser.body["current_version"], got.body["version"],
        "409 carries the current version"
    );
    let history = api.get(&format!("/cases/{case}/history"), &s.auditor).await;
    let completions = support::facts(history.body.as_array().unwrap())
        .iter()
        .filter(|e| e["type"] == "step_completed")
        .count();
    assert_eq!(completions, 1, "nothing twice");

    // A stale expected_version is refused even when the step fits.
    let r = complete(
        api,
        &s.petugas,
        &case,
        "verifikasi_berkas",
        json!({ "expected_version": 1 }),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
}

async fn an_idempotency_key_gives_the_same_answer_and_no_second_event(api: &Api) {
    let s = staff(api).await;
    let body = json!({ "sop_id": "ktp-el", "data": applicant() });
    let first = api
        .send(
            Method::POST,
            "/cases",
            Some(&s.petugas),
            Some(body.clone()),
            &[("idempotency-key", "k-1")],
        )
        .await;
    let again = api
        .send(
            Method::POST,
            "/cases",
            Some(&s.petugas),
            Some(body),
            &[("idempotency-key", "k-1")],
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(again.status, StatusCode::CREATED);
    assert_eq!(first.body, again.body, "same key, same answer");
    assert_eq!(again.headers.get("idempotent-replayed").unwrap(), "true");
    let list = api.get("/cases?sop_id=ktp-el", &s.auditor).await;
    assert_eq!(
        list.body["cases"].as_array().unwrap().len(),
        1,
        "no second case"
    );

    let case = first.body["case_id"].as_str().unwrap();
    let path = format!("/cases/{case}/steps/serahkan_berkas/complete");
    let a = api
        .send(
            Method::POST,
            &path,
            Some(&s.petugas),
            Some(json!({})),
            &[("idempotency-key", "k-2")],
        )
        .await;
    let b = api
        .send(
            Method::POST,
            &path,
            Some(&s.petugas),
            Some(json!({})),
            &[("idempotency-key", "k-2")],
        )
        .await;
    assert_eq!(
        (a.status, b.status),
        (StatusCode::OK, StatusCode::OK),
        "{}",
        b.text
    );
    assert_eq!(a.body, b.body);
    let reused = api
        .send(
            Method::POST,
            &path,
            Some(&s.petugas),
            Some(json!({ "outcome": "x" })),
            &[("idempotency-key", "k-2")],
        )
        .await;
    assert_eq!(
        reused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "same key, other request: refused"
    );
}

async fn bad_input_gets_problem_json_and_writes_nothing(api: &Api) {
    let s = staff(api).await;
    let case = open_case(api, &s.petugas).await;
    let before = api.get(&format!("/cases/{case}"), &s.petugas).await.body["version"].clone();
    let path = format!("/cases/{case}/steps/serahkan_berkas/complete");
    let send_text = |text: &'static str| {
        let request = axum::http::Request::builder()
            .method(Method::POST)
            .uri(path.clone())
            .header("authorization", format!("Bearer {}", s.petugas))
            .header("content-type", "application/json")
            .body(axum::body::Body::from(text))
            .unwrap();
        api.raw(request)
    };
    let cases: Vec<(support::Reply, StatusCode)> = vec![
        (send_text("{\"data\": ").await, StatusCode::BAD_REQUEST),
        (
            send_text("{\"dta\": {}}").await,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            send_text("{\"data\": 5}").await,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (send_text("[]").await, StatusCode::UNPROCESSABLE_ENTITY),
        (
            complete(
                api,
                &s.petugas,
                &case,
                "serahkan_berkas",
                json!({ "data": { "alasan": "liburan" } }),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            complete(api, &s.petugas, &case, "nope", json!({})).await,
            StatusCode::NOT_FOUND,
        ),
        (
            complete(
                api,
                &s.petugas,
                "no-such-case",
                "serahkan_berkas",
                json!({}),
            )
            .await,
            StatusCode::NOT_FOUND,
        ),
        (
            api.post(
                "/cases",
                &s.petugas,
                json!({ "sop_id": "ktp-el", "data": { "nik": "123", "alasan": "baru" } }),
            )
            .await,
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            api.post(
                "/cases",
                &s.petugas,
                json!({ "sop_id": "nope", "data": {} }),
            )
            .await,
            StatusCode::NOT_FOUND,
        ),
        (api.get("/nowhere", &s.petugas).await, StatusCode::NOT_FOUND),
        (
            api.get("/cases?limit=0", &s.petugas).await,
            StatusCode::BAD_REQUEST,
        ),
        (
            api.get("/cases?bogus=1", &s.petugas).await,
            StatusCode::BAD_REQUEST,
        ),
    ];
    for (i, (reply, expected)) in cases.iter().enumerate() {
        assert_eq!(reply.status, *expected, "case {i}: {}", reply.text);
        assert_eq!(reply.content_type, "application/problem+json", "case {i}");
        assert_eq!(
            reply.body["status"].as_u64(),
            Some(u64::from(expected.as_u16())),
            "case {i}"
        );
    }
    let invalid = &cases[7].0;
    assert_eq!(
        invalid.body["errors"][0]["pointer"], "/nik",
        "the field is named"
    );
    let huge = "x".repeat(sopflow_rest::MAX_BODY_BYTES + 1);
    let request = axum::http::Request::builder()
        .method(Method::POST)
        .uri(path.clone())
        .header("authorization", format!("Bearer {}", s.petugas))
        .header("content-type", "application/json")
        .body(axum::body::Body::from(format!(
            "{{\"outcome\": \"{huge}\"}}"
        )))
        .unwrap();
    let too_big = api.raw(request).await;
    assert_eq!(
        too_big.status,
        StatusCode::PAYLOAD_TOO_LARGE,
        "{}",
        too_big.text
    );
    let after = api.get(&format!("/cases/{case}"), &s.petugas).await.body["version"].clone();
    assert_eq!(before, after, "nothing written");
}

/// The roles of the matrix: the built-in ones, KTP-el's, and those of a second SOP that share
/// nothing with KTP-el's.
const ROLES: [&str; 7] = [
    "admin",
    "petugas_antrian",
    "operator_cetak",
    "auditor",
    "display",
    "petugas_pindah",
    "kasi_pindah",
];
const EVERYONE: &[&str] = &ROLES;
const KTP_EL: &[&str] = &["admin", "petugas_antrian", "operator_cetak", "auditor"];
const PINDAH: &[&str] = &["admin", "petugas_pindah", "kasi_pindah", "auditor"];

fn pindah_applicant() -> Value {
    json!({ "sop_id": "surat-pindah", "data": { "nik": "1312990101900002", "tujuan": "Padang" } })
}

async fn every_endpoint_refuses_the_wrong_roles(api: &Api) {
    api.add_sop("surat-pindah.yaml", &support::surat_pindah_yaml())
        .await;
    let mut tokens = Vec::new();
    for role in ROLES {
        tokens.push((role, api.user(role, role).await));
    }
    let token = |role: &str| tokens.iter().find(|(r, _)| *r == role).unwrap().1.clone();
    // The one service point gets counters.
    let r = api
        .send(
            Method::PUT,
            "/service-points/kantor",
            Some(&token("admin")),
            Some(json!({ "name": "Kantor", "counters": ["Loket 1", "Loket 2"] })),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let case = open_case(api, &token("petugas_antrian")).await;
    let r = api
        .post("/cases", &token("petugas_pindah"), pindah_applicant())
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let pindah = r.body["case_id"].as_str().unwrap().to_owned();
    let yaml = support::ktp_el_yaml();
    let search = json!({ "field": "nik", "value": "1312990101900001" });
    // (method, path, body, roles that may, roles to whom the case does not exist: 404 for
    // them, 403 for the other roles that may not)
    type Entry = (
        Method,
        String,
        Option<Value>,
        &'static [&'static str],
        &'static [&'static str],
    );
    let not_ktp: &[&str] = &["display", "petugas_pindah", "kasi_pindah"];
    let not_pindah: &[&str] = &["display", "petugas_antrian", "operator_cetak"];
    let matrix: Vec<Entry> = vec![
        (Method::GET, "/sops".into(), None, EVERYONE, &[]),
        (Method::GET, "/sops/ktp-el".into(), None, EVERYONE, &[]),
        (
            Method::GET,
            "/sops/ktp-el/versions/1".into(),
            None,
            EVERYONE,
            &[],
        ),
        // Everyone lists and searches; each finds what they may see (tested below).
        (Method::GET, "/cases".into(), None, EVERYONE, &[]),
        (
            Method::POST,
            "/cases/search".into(),
            Some(search),
            EVERYONE,
            &[],
        ),
        (
            Method::POST,
            "/cases/lookup".into(),
            Some(json!({ "registration_number": "KTP-EL-19990101-0001" })),
            EVERYONE,
            &[],
        ),
        (Method::GET, format!("/cases/{case}"), None, KTP_EL, not_ktp),
        (
            Method::GET,
            format!("/cases/{case}/history"),
            None,
            KTP_EL,
            not_ktp,
        ),
        (
            Method::GET,
            format!("/cases/{pindah}"),
            None,
            PINDAH,
            not_pindah,
        ),
        (
            Method::GET,
            format!("/cases/{pindah}/history"),
            None,
            PINDAH,
            not_pindah,
        ),
        (
            Method::GET,
            "/metrics".into(),
            None,
            &["admin", "auditor"],
            &[],
        ),
        (
            Method::POST,
            "/sops/ktp-el/releases".into(),
            Some(json!({ "version": 1, "reason": "the matrix" })),
            &["admin"],
            &[],
        ),
        (
            Method::GET,
            "/tasks?role=petugas_antrian".into(),
            None,
            &["admin", "petugas_antrian"],
            &[],
        ),
        (
            Method::GET,
            "/tasks?role=kasi_pindah".into(),
            None,
            &["admin", "kasi_pindah"],
            &[],
        ),
        (
            Method::POST,
            "/cases".into(),
            Some(json!({ "sop_id": "ktp-el", "data": applicant() })),
            &["petugas_antrian"],
            &[],
        ),
        (
            Method::POST,
            "/cases".into(),
            Some(pindah_applicant()),
            &["petugas_pindah"],
            &[],
        ),
        (
            Method::POST,
            format!("/cases/{case}/steps/serahkan_berkas/complete"),
            Some(json!({})),
            &["petugas_antrian"],
            not_ktp,
        ),
        (
            Method::POST,
            format!("/cases/{pindah}/steps/ajukan/complete"),
            Some(json!({})),
            &["petugas_pindah"],
            not_pindah,
        ),
        (
            Method::POST,
            "/queues/cetak_ktp/call-next".into(),
            Some(json!({})),
            &["operator_cetak"],
            &[],
        ),
        (
            Method::POST,
            "/queues/loket_pindah/call-next".into(),
            Some(json!({})),
            &["kasi_pindah"],
            &[],
        ),
        (
            Method::POST,
            "/service-points/kantor/queues/cetak_ktp/call-next".into(),
            Some(json!({ "counter": "loket_1" })),
            &["operator_cetak"],
            &[],
        ),
        // Nothing is being called: 409 for who may, 403 or 404 for the others.
        (
            Method::POST,
            format!("/cases/{case}/call/recall"),
            Some(json!({})),
            &["operator_cetak"],
            not_ktp,
        ),
        (
            Method::POST,
            format!("/cases/{case}/call/no-show"),
            Some(json!({})),
            &["operator_cetak"],
            not_ktp,
        ),
        (
            Method::POST,
            format!("/cases/{case}/call/transfer"),
            Some(json!({ "to": "loket_2" })),
            &["operator_cetak"],
            not_ktp,
        ),
        (
            Method::POST,
            format!("/cases/{case}/incident/resolve"),
            Some(json!({ "reason": "x" })),
            &["admin"],
            &[],
        ),
        (
            Method::POST,
            format!("/cases/{case}/cancel"),
            Some(json!({ "reason": "x" })),
            &["admin"],
            &[],
        ),
        (
            Method::GET,
            "/incidents".into(),
            None,
            &["admin", "auditor"],
            &[],
        ),
        (
            Method::POST,
            "/incidents/1/retry".into(),
            Some(json!({ "reason": "x" })),
            &["admin"],
            &[],
        ),
        // The auditor's endpoints (tests/audit.rs tests what they do).
        (
            Method::GET,
            format!("/cases/{case}/replay"),
            None,
            &["admin", "auditor"],
            &[],
        ),
        (
            Method::GET,
            format!("/cases/{case}/replay?reveal=true&reason=x"),
            None,
            &["auditor"],
            &[],
        ),
        (
            Method::GET,
            format!("/cases/{pindah}/verify"),
            None,
            &["admin", "auditor"],
            &[],
        ),
        (
            Method::GET,
            "/audit/anchor".into(),
            None,
            &["admin", "auditor"],
            &[],
        ),
        (
            Method::GET,
            "/exports/cases?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z".into(),
            None,
            &["auditor"],
            &[],
        ),
        (
            Method::GET,
            "/reports/sops/ktp-el/versions/1".into(),
            None,
            &["admin", "auditor"],
            &[],
        ),
        // Service points: everyone here works at the one there is.
        (Method::GET, "/service-points".into(), None, EVERYONE, &[]),
        (
            Method::GET,
            "/service-points/kantor".into(),
            None,
            EVERYONE,
            &[],
        ),
        (
            Method::GET,
            "/service-points/kantor/queues".into(),
            None,
            EVERYONE,
            &[],
        ),
        (
            Method::PUT,
            "/service-points/mpp".into(),
            Some(json!({ "name": "Mal Pelayanan Publik", "counters": ["Loket 1"] })),
            &["admin"],
            &[],
        ),
    ];
    // Every documented endpoint is in the matrix, or checked below on its own.
    let separately = [
        "/healthz",
        "/openapi.json",
        "/sops",
        "/callbacks/{adapter}",
        "/service-points/{id}/calls/stream",
    ];
    let document = api
        .send(Method::GET, "/openapi.json", None, None, &[])
        .await;
    for template in document.body["paths"].as_object().unwrap().keys() {
        let fits = |path: &str| {
            let path = path.split('?').next().unwrap_or_default();
            let (a, b): (Vec<_>, Vec<_>) =
                (template.split('/').collect(), path.split('/').collect());
            a.len() == b.len() && a.iter().zip(&b).all(|(t, p)| t.starts_with('{') || t == p)
        };
        assert!(
            separately.contains(&template.as_str())
                || matrix.iter().any(|(_, path, _, _, _)| fits(path)),
            "{template} is not in the endpoint x role matrix"
        );
    }
    for (method, path, body, allowed, hidden) in &matrix {
        let anonymous = api
            .send(method.clone(), path, None, body.clone(), &[])
            .await;
        assert_eq!(
            anonymous.status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} without a token"
        );
        let forged = api
            .send(method.clone(), path, Some("not-a-token"), body.clone(), &[])
            .await;
        assert_eq!(
            forged.status,
            StatusCode::UNAUTHORIZED,
            "{method} {path} with a bad token"
        );
        for (role, token) in &tokens {
            let reply = api
                .send(method.clone(), path, Some(token), body.clone(), &[])
                .await;
            if allowed.contains(role) {
                // Where the case is hidden from some, those allowed must find it.
                let found = if hidden.is_empty() {
                    None
                } else {
                    Some(StatusCode::NOT_FOUND)
                };
                for refused in [
                    Some(StatusCode::FORBIDDEN),
                    Some(StatusCode::UNAUTHORIZED),
                    found,
                ]
                .into_iter()
                .flatten()
                {
                    assert_ne!(
                        reply.status, refused,
                        "{method} {path} as {role}: {}",
                        reply.text
                    );
                }
            } else {
                let expected = if hidden.contains(role) {
                    StatusCode::NOT_FOUND
                } else {
                    StatusCode::FORBIDDEN
                };
                assert_eq!(
                    reply.status, expected,
                    "{method} {path} as {role}: {}",
                    reply.text
                );
                assert_eq!(reply.content_type, "application/problem+json");
            }
        }
    }
    // Deploying an SOP: admin only (a YAML body, so it is sent separately).
    for (role, token) in &tokens {
        let reply = api.deploy_yaml(token, &yaml, "").await;
        let expected = if *role == "admin" {
            StatusCode::CREATED
        } else {
            StatusCode::FORBIDDEN
        };
        assert_eq!(
            reply.status, expected,
            "POST /sops as {role}: {}",
            reply.text
        );
    }
    // The call stream never ends: only its answer's head is read.
    for (role, token) in &tokens {
        let status = api
            .stream_status("/service-points/kantor/calls/stream", Some(token))
            .await;
        assert_eq!(status, StatusCode::OK, "the call stream as {role}");
    }
    for token in [None, Some("not-a-token")] {
        let status = api
            .stream_status("/service-points/kantor/calls/stream", token)
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let status = api
        .stream_status(
            "/service-points/nowhere/calls/stream",
            Some(&token("admin")),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    // The consultation desk's callback takes no bearer token: a staff token is not a signature.
    for (role, token) in &tokens {
        let reply = api
            .send(
                Method::POST,
                "/callbacks/konsultasi_adb",
                Some(token),
                Some(json!({})),
                &[],
            )
            .await;
        assert!(
            reply.status == StatusCode::UNAUTHORIZED || reply.status == StatusCode::NOT_FOUND,
            "POST /callbacks as {role}: {}",
            reply.text
        );
    }
    for open in ["/healthz", "/openapi.json"] {
        let reply = api.send(Method::GET, open, None, None, &[]).await;
        assert_eq!(reply.status, StatusCode::OK, "{open} needs no token");
    }
}

async fn a_changed_definition_becomes_a_new_version_and_cases_stay_pinned(api: &Api) {
    let s = staff(api).await;
    let case = open_case(api, &s.petugas).await;
    let changed = support::ktp_el_yaml().replace("budget: 5m", "budget: 10m");
    std::fs::write(api.definitions.path().join("ktp-el.yaml"), &changed).unwrap();
    let registry = &api.service.runtime.registry;
    registry
        .sync_dir(&api.service.runtime.store, api.definitions.path())
        .await;
    let sop = api.get("/sops/ktp-el", &s.admin).await;
    assert_eq!(sop.body["latest_version"], 2, "{}", sop.text);
    let newer = open_case(api, &s.petugas).await;
    assert_eq!(
        api.get(&format!("/cases/{newer}"), &s.admin).await.body["sop_version"],
        2
    );
    assert_eq!(
        api.get(&format!("/cases/{case}"), &s.admin).await.body["sop_version"],
        1,
        "pinned to its version"
    );

    // A broken save changes nothing and is reported.
    std::fs::write(
        api.definitions.path().join("ktp-el.yaml"),
        changed.replace("actor: operator_cetak\n", "actor: operator\n"),
    )
    .unwrap();
    let problems = registry
        .sync_dir(&api.service.runtime.store, api.definitions.path())
        .await;
    assert_eq!(problems.len(), 1);
    let list = api.get("/sops", &s.admin).await;
    assert_eq!(list.body["sops"][0]["latest_version"], 2);
    let refused = list.body["refused_files"][0]["problems"][0]
        .as_str()
        .unwrap();
    assert!(refused.contains("unknown actor `operator`"), "{refused}");
    let v1 = api.get("/sops/ktp-el/versions/1", &s.admin).await;
    assert!(
        v1.body["yaml"].as_str().unwrap().contains("budget: 5m"),
        "old versions are kept"
    );
    assert!(
        v1.body["mermaid"]
            .as_str()
            .unwrap()
            .contains("flowchart TD"),
        "{}",
        v1.text
    );
}

async fn the_inbox_lists_open_steps_by_role_with_due_time_and_documents(api: &Api) {
    let s = staff(api).await;
    let case = open_case(api, &s.petugas).await;
    let inbox = api.get("/tasks?role=petugas_antrian", &s.petugas).await;
    assert_eq!(inbox.status, StatusCode::OK, "{}", inbox.text);
    let tasks = inbox.body.as_array().unwrap();
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["case_id"], case.as_str());
    assert_eq!(tasks[0]["step"]["id"], "serahkan_berkas");
    assert!(tasks[0]["step"]["due_at"].is_string());
    let docs = tasks[0]["step"]["documents"].as_array().unwrap();
    assert!(
        docs.iter()
            .any(|d| d["type"] == "fotokopi_kk" && d["received"] == true)
    );
    let operator_inbox = api.get("/tasks?role=operator_cetak", &s.operator).await;
    assert_eq!(operator_inbox.body.as_array().unwrap().len(), 0);
    let other_role = api.get("/tasks?role=operator_cetak", &s.petugas).await;
    assert_eq!(other_role.status, StatusCode::FORBIDDEN);
}

async fn queue_numbers_run_per_queue_and_call_next_takes_the_oldest(api: &Api) {
    let s = staff(api).await;
    let mut cases = Vec::new();
    for _ in 0..3 {
        let case = open_case(api, &s.petugas).await;
        complete(api, &s.petugas, &case, "serahkan_berkas", json!({})).await;
        let r = complete(api, &s.petugas, &case, "verifikasi_berkas", json!({})).await;
        cases.push((case, r.body["queue_number"].as_str().unwrap().to_owned()));
    }
    let numbers: Vec<&str> = cases.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(numbers, ["A-001", "A-002", "A-003"]);
    for (case, _) in &cases {
        let r = api
            .post("/queues/cetak_ktp/call-next", &s.operator, json!({}))
            .await;
        assert_eq!(r.body["case_id"], case.as_str(), "oldest first");
    }
    let empty = api
        .post("/queues/cetak_ktp/call-next", &s.operator, json!({}))
        .await;
    assert_eq!(empty.status, StatusCode::NO_CONTENT);
    let unknown = api
        .post("/queues/nope/call-next", &s.operator, json!({}))
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
}

async fn the_timer_records_an_exceeded_budget_once(api: &Api) {
    let s = staff(api).await;
    let case = open_case(api, &s.petugas).await;
    let later = time::OffsetDateTime::now_utc() + time::Duration::minutes(2);
    let runtime = &api.service.runtime;
    assert_eq!(
        sopflow_core::ticker::tick_due(runtime, "w1", later).await,
        1
    );
    assert_eq!(
        sopflow_core::ticker::tick_due(runtime, "w1", later).await,
        0,
        "once per step"
    );
    let overdue = api.get("/cases?overdue=true", &s.auditor).await;
    assert_eq!(overdue.body["cases"][0]["case_id"], case.as_str());
    let history = api.get(&format!("/cases/{case}/history"), &s.auditor).await;
    let breaches = support::facts(history.body.as_array().unwrap())
        .iter()
        .filter(|e| e["type"] == "time_budget_exceeded")
        .count();
    assert_eq!(breaches, 1);
}

async fn openapi_and_metrics_describe_the_service(api: &Api) {
    let s = staff(api).await;
    open_case(api, &s.petugas).await;
    let doc = api
        .send(Method::GET, "/openapi.json", None, None, &[])
        .await;
    assert!(
        doc.body["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        doc.text
    );
    for path in [
        "/cases",
        "/cases/{id}/steps/{step}/complete",
        "/tasks",
        "/queues/{queue}/call-next",
        "/sops",
    ] {
        assert!(
            doc.body["paths"].get(path).is_some(),
            "{path} is documented"
        );
    }
    let metrics = api.get("/metrics", &s.admin).await;
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(metrics.text.contains("sopflow_cases{"), "{}", metrics.text);
    assert!(
        metrics
            .text
            .contains("sopflow_http_request_duration_seconds"),
        "{}",
        metrics.text
    );
    assert!(
        !metrics.text.contains("1312990101900001"),
        "no personal data in metrics"
    );
}

async fn concurrent_commands_commit_together_and_a_refused_one_rolls_back_alone(api: &Api) {
    let s = staff(api).await;
    // 30 clients at once: on SQLite they share group commits; every third one is refused.
    let requests = (0..30).map(|i| {
        let nik = if i % 3 == 0 {
            "bad".to_owned()
        } else {
            format!("13129901019{i:05}")
        };
        api.post(
            "/cases",
            &s.petugas,
            json!({ "sop_id": "ktp-el", "data": { "nik": nik, "alasan": "baru" } }),
        )
    });
    let replies = futures::future::join_all(requests).await;
    let created = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    let refused = replies
        .iter()
        .filter(|r| r.status == StatusCode::UNPROCESSABLE_ENTITY)
        .count();
    assert_eq!((created, refused), (20, 10));
    let list = api.get("/cases?limit=100", &s.auditor).await;
    assert_eq!(
        list.body["cases"].as_array().unwrap().len(),
        20,
        "exactly the accepted ones are stored"
    );
    for reply in replies.iter().filter(|r| r.status == StatusCode::CREATED) {
        let id = reply.body["case_id"].as_str().unwrap();
        let history = api.get(&format!("/cases/{id}/history"), &s.auditor).await;
        assert_eq!(
            history.body[0]["type"], "case_started",
            "an acknowledged case is stored whole"
        );
    }
}

async fn an_uploaded_document_is_stored_and_its_sha256_recorded(api: &Api) {
    use base64::Engine as _;
    use sha2::Digest as _;
    let s = staff(api).await;
    let case = open_case(api, &s.petugas).await;
    // A "scan": binary, with zero bytes and every byte value.
    let scan: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(&scan);
    let sha256: String = sha2::Sha256::digest(&scan)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();

    // Not base64: refused, nothing recorded.
    let before = api.get(&format!("/cases/{case}"), &s.petugas).await.body["version"].clone();
    let r = complete(
        api,
        &s.petugas,
        &case,
        "serahkan_berkas",
        json!({ "documents": [{ "type": "fotokopi_kk", "content_base64": "not base64!" }] }),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(r.content_type, "application/problem+json");
    assert_eq!(
        api.get(&format!("/cases/{case}"), &s.petugas).await.body["version"],
        before,
        "nothing written"
    );

    let r = complete(
        api,
        &s.petugas,
        &case,
        "serahkan_berkas",
        json!({ "documents": [{ "type": "fotokopi_kk", "number": "KK-7", "content_base64": encoded }] }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        r.body["documents"]["fotokopi_kk"]["sha256"],
        sha256.as_str()
    );

    // Those who work the case see the document's number; an auditor sees it masked.
    let history = api.get(&format!("/cases/{case}/history"), &s.petugas).await;
    let masked = api.get(&format!("/cases/{case}/history"), &s.auditor).await;
    assert!(
        masked.text.contains("\"K***\"") && !masked.text.contains("KK-7"),
        "{}",
        masked.text
    );
    // At the start its own fact; at the step carried by the completion (v2).
    let all_facts = support::facts(history.body.as_array().unwrap());
    let recorded: Vec<&Value> = all_facts
        .iter()
        .filter(|e| {
            (e["type"] == "documents_recorded" || e["type"] == "step_completed")
                && e["event"]["step"] == "serahkan_berkas"
                && e["event"]["documents"].is_array()
        })
        .map(|e| &e["event"]["documents"])
        .collect();
    assert_eq!(
        recorded.len(),
        2,
        "at the start and at the step: {}",
        history.text
    );
    assert_eq!(
        recorded[1],
        &json!([{ "type": "fotokopi_kk", "number": "KK-7", "received": true, "sha256": sha256 }]),
        "the receipt carries the SHA-256 of the bytes"
    );
    assert!(
        !history.text.contains(&encoded[..64]),
        "the history holds the hash, not the content"
    );

    let store = &api.service.runtime.store;
    assert_eq!(
        store.file(&sha256).await.unwrap().as_deref(),
        Some(scan.as_slice()),
        "the bytes are stored under their SHA-256"
    );
    // Content-addressed: the same scan for another case is stored once, and still found.
    let other = open_case(api, &s.petugas).await;
    let r = complete(
        api,
        &s.petugas,
        &other,
        "serahkan_berkas",
        json!({ "documents": [{ "type": "fotokopi_kk", "content_base64": encoded }] }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        store.file(&sha256).await.unwrap().as_deref(),
        Some(scan.as_slice())
    );
    assert_eq!(store.file(&"0".repeat(64)).await.unwrap(), None);
}

async fn a_case_is_seen_only_by_those_who_work_it(api: &Api) {
    api.add_sop("surat-pindah.yaml", &support::surat_pindah_yaml())
        .await;
    let s = staff(api).await;
    let pindah_officer = api.user("rina", "petugas_pindah").await;
    let display = api.user("papan", "display").await;
    // The same role at a service point the case is not at.
    let elsewhere = api.user_at("dodi", "petugas_antrian", &["kec_lain"]).await;
    let kk = "1312990101900009";
    let r = api
        .post(
            "/cases",
            &s.petugas,
            json!({ "sop_id": "ktp-el", "data": applicant(),
                    "documents": [{ "type": "fotokopi_kk", "number": kk }] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let ktp = r.body["case_id"].as_str().unwrap().to_owned();
    assert_eq!(
        r.body["service_point"], "kantor",
        "opened at the only service point"
    );
    let r = api
        .post("/cases", &pindah_officer, pindah_applicant())
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let pindah = r.body["case_id"].as_str().unwrap().to_owned();

    let listed = async |token: &str| {
        let r = api.get("/cases", token).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let mut ids: Vec<String> = r.body["cases"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["case_id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let mut both = vec![ktp.clone(), pindah.clone()];
    both.sort();
    assert_eq!(listed(&s.petugas).await, std::slice::from_ref(&ktp));
    assert_eq!(
        listed(&s.operator).await,
        std::slice::from_ref(&ktp),
        "an actor of the SOP"
    );
    assert_eq!(listed(&pindah_officer).await, std::slice::from_ref(&pindah));
    assert_eq!(listed(&s.auditor).await, both);
    assert_eq!(listed(&s.admin).await, both);
    assert!(listed(&display).await.is_empty());
    assert!(
        listed(&elsewhere).await.is_empty(),
        "another service point's"
    );
    for (who, token) in [
        ("rina", &pindah_officer),
        ("papan", &display),
        ("dodi", &elsewhere),
    ] {
        for path in [format!("/cases/{ktp}"), format!("/cases/{ktp}/history")] {
            let r = api.get(&path, token).await;
            assert_eq!(
                r.status,
                StatusCode::NOT_FOUND,
                "{path} as {who}: {}",
                r.text
            );
            assert_eq!(
                r.body["detail"],
                format!("no case `{ktp}`"),
                "as for an unknown case"
            );
        }
    }
    let r = api.get("/tasks?role=petugas_antrian", &elsewhere).await;
    assert_eq!(
        r.body.as_array().unwrap().len(),
        0,
        "no work of another service point"
    );

    // Who works the case sees its personal data; an admin or an auditor sees it masked.
    let nik = "1312990101900001";
    let view = api.get(&format!("/cases/{ktp}"), &s.petugas).await;
    assert_eq!(view.body["data"]["nik"], nik);
    assert_eq!(view.body["documents"]["fotokopi_kk"]["number"], kk);
    for token in [&s.auditor, &s.admin] {
        let view = api.get(&format!("/cases/{ktp}"), token).await;
        assert_eq!(
            view.body["data"]["nik"], "************0001",
            "{}",
            view.text
        );
        assert_eq!(view.body["data"]["nama_lengkap"], "C***");
        assert_eq!(view.body["data"]["alasan"], "baru", "not personal");
        assert_eq!(
            view.body["documents"]["fotokopi_kk"]["number"],
            "************0009"
        );
        let history = api.get(&format!("/cases/{ktp}/history"), token).await;
        assert_eq!(history.status, StatusCode::OK);
        assert!(
            !history.text.contains(nik) && !history.text.contains(kk),
            "{}",
            history.text
        );
        assert!(
            history.text.contains("************0009"),
            "{}",
            history.text
        );
    }
    let history = api.get(&format!("/cases/{ktp}/history"), &s.operator).await;
    assert!(history.text.contains(nik) && history.text.contains(kk));

    // Exports and replays mask document numbers as they mask personal fields.
    let export = api
        .get(
            "/exports/cases?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z&format=csv",
            &s.auditor,
        )
        .await;
    assert_eq!(export.status, StatusCode::OK);
    assert!(
        !export.text.contains(kk) && export.text.contains("0009"),
        "{}",
        export.text
    );
    let replay = api.get(&format!("/cases/{ktp}/replay"), &s.auditor).await;
    assert_eq!(replay.status, StatusCode::OK, "{}", replay.text);
    assert!(
        !replay.text.contains(kk) && !replay.text.contains(nik),
        "{}",
        replay.text
    );
    assert!(replay.text.contains("************0009"));

    // A returning applicant is found by a searchable field, by those who see the case in
    // full; the value is in the body, not the URL.
    let search = async |token: &str, body: Value| api.post("/cases/search", token, body).await;
    let by_nik = json!({ "field": "nik", "value": nik });
    let found = search(&s.petugas, by_nik.clone()).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    assert_eq!(found.body["cases"][0]["case_id"], ktp.as_str());
    assert_eq!(found.body["cases"].as_array().unwrap().len(), 1);
    for token in [&pindah_officer, &s.auditor, &display] {
        let none = search(token, by_nik.clone()).await;
        assert_eq!(none.status, StatusCode::OK);
        assert!(
            none.body["cases"].as_array().unwrap().is_empty(),
            "{}",
            none.text
        );
    }
    let other = search(
        &pindah_officer,
        json!({ "field": "nik", "value": "1312990101900002" }),
    )
    .await;
    assert_eq!(other.body["cases"][0]["case_id"], pindah.as_str());
    let narrowed = search(
        &s.petugas,
        json!({ "field": "nik", "value": nik, "sop_id": "surat-pindah" }),
    )
    .await;
    assert!(narrowed.body["cases"].as_array().unwrap().is_empty());
    let unknown = search(&s.petugas, json!({ "field": "alasan", "value": "baru" })).await;
    assert_eq!(
        unknown.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        unknown.text
    );
    assert!(unknown.text.contains("x-searchable"), "{}", unknown.text);

    // ... or by the registration number on their receipt, as typed (lower case, spaces), by
    // those who see the case; to the others it does not exist.
    let lookup = async |token: &str, body: Value| api.post("/cases/lookup", token, body).await;
    let shown = api.get(&format!("/cases/{ktp}"), &s.petugas).await;
    let number = shown.body["registration_number"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(number.starts_with("KTP-EL-"), "{}", shown.text);
    let typed = json!({ "registration_number": format!("  {}  ", number.to_lowercase()) });
    let found = lookup(&s.petugas, typed.clone()).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.text);
    assert_eq!(found.body["case_id"], ktp.as_str());
    assert_eq!(found.body["data"]["nik"], nik);
    for token in [&pindah_officer, &display] {
        let hidden = lookup(token, typed.clone()).await;
        assert_eq!(hidden.status, StatusCode::NOT_FOUND, "{}", hidden.text);
        assert!(!hidden.text.contains(ktp.as_str()), "{}", hidden.text);
    }
    let unknown = lookup(
        &s.petugas,
        json!({ "registration_number": "KTP-EL-19990101-0001" }),
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND, "{}", unknown.text);
    let malformed = lookup(&s.petugas, json!({ "number": number })).await;
    assert_eq!(
        malformed.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        malformed.text
    );
    // Data recorded later is found too.
    let r = complete(
        api,
        &s.petugas,
        &ktp,
        "serahkan_berkas",
        json!({ "data": { "no_kk": kk } }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let by_kk = search(&s.petugas, json!({ "field": "no_kk", "value": kk })).await;
    assert_eq!(
        by_kk.body["cases"][0]["case_id"],
        ktp.as_str(),
        "{}",
        by_kk.text
    );
}

/// The current step's checklist says, per document, whether it is required now and whether it
/// was received; a step that requires a field refuses to complete without it (422 naming it);
/// the replay says which documents made `documents_complete` false.
async fn a_step_says_which_documents_and_fields_it_needs(api: &Api) {
    let s = staff(api).await;
    // A first card (`alasan: baru`): the old card is not needed, and not received.
    let r = api
        .post(
            "/cases",
            &s.petugas,
            json!({ "sop_id": "ktp-el", "data": applicant(), "documents": [] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let case = r.body["case_id"].as_str().unwrap().to_owned();
    let docs = r.body["current_step"]["documents"]
        .as_array()
        .unwrap()
        .clone();
    let doc = |id: &str| docs.iter().find(|d| d["type"] == id).unwrap().clone();
    assert_eq!(
        (
            doc("ktp_lama")["required"].clone(),
            doc("ktp_lama")["received"].clone(),
            doc("ktp_lama")["state"].clone()
        ),
        (json!(false), json!(false), json!("not_needed"))
    );
    assert_eq!(doc("fotokopi_kk")["state"], "missing");
    // Handed in without the family card: sent back, and the replay says why.
    complete(api, &s.petugas, &case, "serahkan_berkas", json!({})).await;
    let r = complete(api, &s.petugas, &case, "verifikasi_berkas", json!({})).await;
    assert_eq!(
        r.body["current_step"]["id"], "serahkan_berkas",
        "{}",
        r.text
    );
    let replay = api.get(&format!("/cases/{case}/replay"), &s.auditor).await;
    assert_eq!(replay.status, StatusCode::OK, "{}", replay.text);
    let check = replay.body["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|st| st["step"] == "verifikasi_berkas")
        .unwrap()
        .clone();
    assert_eq!(
        check["missing_documents"],
        json!(["fotokopi_kk"]),
        "{check}"
    );
    assert_eq!(check["checklist"][1]["state"], "not_needed", "{check}");

    // Through to the recording check, which requires the recording status.
    let r = complete(
        api,
        &s.petugas,
        &case,
        "serahkan_berkas",
        json!({ "documents": [{ "type": "fotokopi_kk" }] }),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    complete(api, &s.petugas, &case, "verifikasi_berkas", json!({})).await;
    let called = api
        .post("/queues/cetak_ktp/call-next", &s.operator, json!({}))
        .await;
    assert_eq!(called.body["case_id"], case.as_str(), "{}", called.text);
    assert_eq!(
        called.body["current_step"]["requires"],
        json!(["status_perekaman"])
    );
    let version = called.body["version"].clone();
    let r = complete(
        api,
        &s.operator,
        &case,
        "periksa_perekaman",
        json!({ "data": { "masalah_nik": false } }),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.body["type"], "urn:sopflow:problem:missing-fields");
    assert_eq!(r.body["errors"][0]["pointer"], "/data/status_perekaman");
    assert!(
        r.body["detail"]
            .as_str()
            .unwrap()
            .contains("status_perekaman"),
        "{}",
        r.text
    );
    let got = api.get(&format!("/cases/{case}"), &s.operator).await;
    assert_eq!(got.body["version"], version, "nothing recorded");
}
