//! What probing the service from outside found (issue 19, item 5), each kept as a test, on
//! SQLite and PostgreSQL: both stores must answer the same.

#![allow(clippy::unwrap_used)]

#[macro_use]
mod support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::{Value, json};
use support::Api;

api_tests!(
    control_characters_are_refused_before_anything_is_stored,
    repeated_documents_and_sizes_are_bounded,
    numbers_json_and_media_types_are_read_as_http_says,
    oversized_heads_and_refusals_are_problem_json,
    what_the_api_document_states_is_what_is_checked,
);

const NIK: &str = "1312990101900001";

async fn count_cases(api: &Api, token: &str) -> usize {
    let r = api.get("/cases?limit=500", token).await;
    r.body["cases"].as_array().unwrap().len()
}

async fn control_characters_are_refused_before_anything_is_stored(api: &Api) {
    let petugas = api.user("siti", "petugas_antrian").await;
    let admin = api.user("admin", "admin").await;
    let r = api
        .post(
            "/cases",
            &petugas,
            json!({ "sop_id": "ktp-el",
                    "data": { "nik": NIK, "alasan": "baru", "nama_lengkap": "Ani\u{0000}" } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert_eq!(r.content_type, "application/problem+json");
    assert_eq!(
        r.body["errors"][0]["pointer"], "/data/nama_lengkap",
        "{}",
        r.text
    );
    assert!(
        !r.text.contains("Ani"),
        "the value is not echoed: {}",
        r.text
    );
    assert_eq!(count_cases(api, &admin).await, 0, "nothing was stored");
    // A clean case goes through every step, and a step's data is checked the same way.
    let r = api
        .post(
            "/cases",
            &petugas,
            json!({ "sop_id": "ktp-el", "data": { "nik": NIK, "alasan": "baru" } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let case = r.body["case_id"].as_str().unwrap().to_owned();
    let r = api
        .post(
            &format!("/cases/{case}/steps/serahkan_berkas/complete"),
            &petugas,
            json!({ "data": { "nama_lengkap": "Budi\u{001b}" } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = api
        .post(
            &format!("/cases/{case}/steps/serahkan_berkas/complete"),
            &petugas,
            json!({ "data": { "nama_lengkap": "Budi Santoso" } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
}

async fn repeated_documents_and_sizes_are_bounded(api: &Api) {
    let petugas = api.user("siti", "petugas_antrian").await;
    let auditor = api.user("inspektorat", "auditor").await;
    let copies: Vec<Value> = (0..50_000)
        .map(|_| json!({ "type": "fotokopi_kk" }))
        .collect();
    let r = api
        .post(
            "/cases",
            &petugas,
            json!({ "sop_id": "ktp-el", "data": { "nik": NIK, "alasan": "baru" },
                    "documents": copies }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let case = r.body["case_id"].as_str().unwrap().to_owned();
    let history = api.get(&format!("/cases/{case}/history"), &auditor).await;
    let recorded = support::facts(history.body.as_array().unwrap())
        .iter()
        .find(|e| e["type"] == "documents_recorded")
        .unwrap()
        .clone();
    assert_eq!(
        recorded["event"]["documents"].as_array().unwrap().len(),
        1,
        "one document, once: {recorded}"
    );
    assert!(
        history.text.len() < 16 * 1024,
        "{} bytes",
        history.text.len()
    );
    // Too long a text: refused, naming the limit.
    let r = api
        .post(
            "/cases",
            &petugas,
            json!({ "sop_id": "ktp-el",
                    "data": { "nik": NIK, "alasan": "baru", "nama_lengkap": "x".repeat(5_000) } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(r.text.contains("4096"), "{}", r.text);
}

async fn numbers_json_and_media_types_are_read_as_http_says(api: &Api) {
    let petugas = api.user("siti", "petugas_antrian").await;
    let r = api
        .post(
            "/cases",
            &petugas,
            json!({ "sop_id": "ktp-el", "data": { "nik": NIK, "alasan": "baru" } }),
        )
        .await;
    let case = r.body["case_id"].as_str().unwrap().to_owned();
    let version = r.body["version"].as_u64().unwrap();
    let complete = |body: String, key: &'static str, media: &'static str| {
        Request::builder()
            .method(Method::POST)
            .uri(format!("/cases/{case}/steps/serahkan_berkas/complete"))
            // The scheme is case-insensitive (RFC 9110).
            .header("authorization", format!("bearer {petugas}"))
            .header("content-type", media)
            .header("idempotency-key", key)
            .body(Body::from(body))
            .unwrap()
    };
    // A media type that only starts like JSON is not JSON.
    let r = api
        .raw(complete("{}".into(), "k0", "application/jsonfoo"))
        .await;
    assert_eq!(r.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{}", r.text);
    // `399.0` is a whole number: a stale version is a conflict, not a malformed body.
    let r = api
        .raw(complete(
            r#"{"expected_version": 399.0}"#.into(),
            "k1",
            "application/json; charset=utf-8",
        ))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let r = api
        .raw(complete(
            format!(r#"{{"data":{{"nama_lengkap":"Ani"}},"expected_version":{version}.0}}"#),
            "k2",
            "application/json",
        ))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // The same JSON written otherwise, under the same key, is the same request.
    let again = format!(
        "{{ \"expected_version\" : {version}.0 ,\n  \"data\" : {{ \"nama_lengkap\" : \"Ani\" }} }}"
    );
    let r2 = api.raw(complete(again, "k2", "application/json")).await;
    assert_eq!(r2.status, StatusCode::OK, "{}", r2.text);
    assert_eq!(
        r2.headers
            .get("idempotent-replayed")
            .map(|v| v.to_str().unwrap()),
        Some("true")
    );
    assert_eq!(r2.body, r.body, "the same answer");
    let r = api
        .raw(complete(
            r#"{"expected_version": 1.5}"#.into(),
            "k3",
            "application/json",
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
}

async fn oversized_heads_and_refusals_are_problem_json(api: &Api) {
    let petugas = api.user("siti", "petugas_antrian").await;
    let long = format!("/cases?sop_id={}", "x".repeat(10_000));
    let r = api.get(&long, &petugas).await;
    assert_eq!(r.status, StatusCode::URI_TOO_LONG, "{}", r.text);
    assert_eq!(r.content_type, "application/problem+json");
    let big = "y".repeat(40_000);
    let r = api
        .send(
            Method::GET,
            "/cases",
            Some(&petugas),
            None,
            &[("x-padding", &big)],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "{}",
        r.text
    );
    assert_eq!(r.content_type, "application/problem+json");
    // Who may ask is decided before what the body is: 403, not 415.
    let request = Request::builder()
        .method(Method::POST)
        .uri("/sops/ktp-el/releases")
        .header("authorization", format!("Bearer {petugas}"))
        .header("content-type", "text/plain")
        .body(Body::from("not json"))
        .unwrap();
    let r = api.raw(request).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    // Query parameters are documented as query parameters, path parameters as path ones.
    let doc = api
        .send(Method::GET, "/openapi.json", None, None, &[])
        .await;
    for (template, item) in doc.body["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for p in operation["parameters"].as_array().into_iter().flatten() {
                let name = p["name"].as_str().unwrap();
                let in_path = template.contains(&format!("{{{name}}}"));
                let place = p["in"].as_str().unwrap();
                assert_eq!(
                    place == "path",
                    in_path,
                    "{method} {template}: parameter {name} is documented in {place}"
                );
            }
        }
    }
    let key = &doc.body["paths"]["/cases"]["post"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Idempotency-Key")
        .unwrap()["description"];
    assert!(
        key.as_str().unwrap().contains("200"),
        "the rules are documented: {key}"
    );
}

/// The rules `/openapi.json` states (found by schemathesis' positive and negative data
/// checks): they are the ones the service applies, on both stores.
async fn what_the_api_document_states_is_what_is_checked(api: &Api) {
    let petugas = api.user("siti", "petugas_antrian").await;
    let admin = api.user("admin", "admin").await;
    let auditor = api.user("audit", "auditor").await;
    let doc = api.get("/openapi.json", &petugas).await.body;
    let key = &doc["paths"]["/cases"]["post"]["parameters"][0];
    assert_eq!(key["name"], "Idempotency-Key");
    assert_eq!(key["schema"]["pattern"], "^[!-~]{1,200}$");
    // A space is not a visible character: refused before anything runs.
    let start = |key: &'static str| {
        Request::builder()
            .method(Method::POST)
            .uri("/cases")
            .header("authorization", format!("Bearer {petugas}"))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(Body::from(
                json!({ "sop_id": "ktp-el", "data": { "nik": NIK, "alasan": "baru" } }).to_string(),
            ))
            .unwrap()
    };
    let r = api.raw(start("a b")).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    assert_eq!(count_cases(api, &admin).await, 0);
    let r = api.raw(start("a-b")).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let case = r.body["case_id"].as_str().unwrap().to_owned();
    // A scan that is not canonical base64 is refused, as the document's pattern says.
    let schemas = &doc["components"]["schemas"];
    assert!(
        schemas["DocumentInput"]["properties"]["content_base64"]["pattern"]
            .as_str()
            .is_some()
    );
    let r = api
        .post(
            &format!("/cases/{case}/steps/serahkan_berkas/complete"),
            &petugas,
            json!({ "documents": [{ "type": "fotokopi_kk", "content_base64": "AB==" }] }),
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    // A reason given is checked whether or not it reveals (PostgreSQL's text cannot hold
    // `\u0000`), and a long one is refused too.
    for reason in ["a%00b", "a%C2%85b"] {
        for reveal in ["true", "false"] {
            let r = api
                .get(
                    &format!("/cases/{case}/replay?reveal={reveal}&reason={reason}"),
                    &auditor,
                )
                .await;
            assert_eq!(
                r.status,
                StatusCode::BAD_REQUEST,
                "{reveal} {reason}: {}",
                r.text
            );
            assert_eq!(r.content_type, "application/problem+json");
        }
    }
    let long = "x".repeat(sopflow_audit::MAX_REASON + 1);
    let r = api
        .get(&format!("/cases/{case}/replay?reason={long}"), &auditor)
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
    let r = api
        .get(
            &format!("/cases/{case}/replay?reveal=true&reason=court%0Aorder"),
            &auditor,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    // A release: the version is a whole number however written; its reason says something
    // and holds no control character.
    for (body, status) in [
        (
            json!({ "version": 1, "reason": "a\u{0}" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "version": 1, "reason": " \t" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "version": 1.5, "reason": "x" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "version": 4_294_967_296_u64, "reason": "x" }),
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        (
            json!({ "version": 1.0, "reason": "rollback" }),
            StatusCode::CREATED,
        ),
    ] {
        let r = api
            .post("/sops/ktp-el/releases", &admin, body.clone())
            .await;
        assert_eq!(r.status, status, "{body}: {}", r.text);
    }
    let r = api
        .deploy_yaml(&admin, &support::ktp_el_yaml(), "?reason=a%01")
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text);
}
