//! Races: many clients on the same cases and steps at once. Exactly one wins each step, the
//! others get 409 with the current version; concurrent retries under one Idempotency-Key all
//! get the one answer and add nothing. On SQLite (group commit) and PostgreSQL.

#![allow(clippy::unwrap_used)]

mod support;

use axum::http::{Method, StatusCode};
use futures::future::join_all;
use serde_json::{Value, json};
use support::{Api, api_tests};

api_tests!(
    many_clients_on_one_step_exactly_one_wins,
    concurrent_retries_with_one_key_get_one_answer_and_one_event,
);

const CLIENTS: usize = 16;
const CASES: usize = 6;

async fn open_case(api: &Api, token: &str, i: usize) -> String {
    let r = api
        .post("/cases", token, json!({ "sop_id": "ktp-el", "data": { "nik": format!("13129901019{i:05}"), "nama_lengkap": "Contoh", "alasan": "baru" }, "documents": [{ "type": "fotokopi_kk" }] }))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    r.body["case_id"].as_str().unwrap().to_owned()
}

async fn history(api: &Api, token: &str, case: &str) -> Vec<Value> {
    api.get(&format!("/cases/{case}/history"), token)
        .await
        .body
        .as_array()
        .unwrap()
        .clone()
}

async fn many_clients_on_one_step_exactly_one_wins(api: &Api) {
    let mut tokens = Vec::new();
    for i in 0..CLIENTS {
        tokens.push(api.user(&format!("petugas{i}"), "petugas_antrian").await);
    }
    let auditor = api.user("auditor", "auditor").await;
    let mut cases = Vec::new();
    for i in 0..CASES {
        cases.push(open_case(api, &tokens[0], i).await);
    }
    // Every client completes the first step of every case, all at once.
    for step in ["serahkan_berkas", "verifikasi_berkas"] {
        let attempts = cases.iter().flat_map(|case| {
            tokens.iter().map(move |token| async move {
                let path = format!("/cases/{case}/steps/{step}/complete");
                api.post(&path, token, json!({})).await
            })
        });
        let replies = join_all(attempts).await;
        for (c, case) in cases.iter().enumerate() {
            let mine = &replies[c * CLIENTS..(c + 1) * CLIENTS];
            let winners = mine.iter().filter(|r| r.status == StatusCode::OK).count();
            assert_eq!(winners, 1, "{step} of {case}: one winner");
            for loser in mine.iter().filter(|r| r.status != StatusCode::OK) {
                assert_eq!(loser.status, StatusCode::CONFLICT, "{}", loser.text);
                assert_eq!(loser.content_type, "application/problem+json");
                assert!(loser.body["current_version"].is_u64(), "{}", loser.text);
            }
        }
    }
    for case in &cases {
        let events = support::facts(&history(api, &auditor, case).await);
        let completions = events
            .iter()
            .filter(|e| e["type"] == "step_completed")
            .count();
        assert_eq!(completions, 2, "{case}: each step once");
        let numbers = events
            .iter()
            .filter(|e| e["type"] == "queue_number_assigned")
            .count();
        assert_eq!(numbers, 1, "{case}: one queue number");
    }
    // And the queue numbers are distinct.
    let mut numbers = Vec::new();
    for case in &cases {
        let body = api.get(&format!("/cases/{case}"), &auditor).await.body;
        numbers.push(body["queue_number"].as_str().unwrap().to_owned());
    }
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), CASES);
}

async fn concurrent_retries_with_one_key_get_one_answer_and_one_event(api: &Api) {
    let petugas = api.user("petugas", "petugas_antrian").await;
    let auditor = api.user("auditor", "auditor").await;
    let body = json!({ "sop_id": "ktp-el", "data": { "nik": "1312990101900001", "nama_lengkap": "Contoh", "alasan": "baru" } });
    let starts = (0..CLIENTS).map(|_| {
        api.send(
            Method::POST,
            "/cases",
            Some(&petugas),
            Some(body.clone()),
            &[("idempotency-key", "start-once")],
        )
    });
    let replies = join_all(starts).await;
    let created: Vec<_> = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .collect();
    assert!(!created.is_empty());
    for r in &replies {
        // A retry racing the first is told to wait (503), never given a second case.
        assert!(
            r.status == StatusCode::CREATED || r.status == StatusCode::SERVICE_UNAVAILABLE,
            "{}",
            r.text
        );
    }
    let case = created[0].body["case_id"].as_str().unwrap().to_owned();
    assert!(created.iter().all(|r| r.body["case_id"] == case.as_str()));
    // After the race, a retry replays the one answer.
    let again = api
        .send(
            Method::POST,
            "/cases",
            Some(&petugas),
            Some(body.clone()),
            &[("idempotency-key", "start-once")],
        )
        .await;
    assert_eq!(again.body, created[0].body);
    let list = api.get("/cases?sop_id=ktp-el", &auditor).await;
    assert_eq!(list.body["cases"].as_array().unwrap().len(), 1, "one case");

    let path = format!("/cases/{case}/steps/serahkan_berkas/complete");
    let completes = (0..CLIENTS).map(|_| {
        api.send(
            Method::POST,
            &path,
            Some(&petugas),
            Some(json!({})),
            &[("idempotency-key", "complete-once")],
        )
    });
    let replies = join_all(completes).await;
    let ok: Vec<_> = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .collect();
    assert!(!ok.is_empty());
    assert!(ok.iter().all(|r| r.body == ok[0].body), "one answer");
    let events = support::facts(&history(api, &auditor, &case).await);
    assert_eq!(
        events
            .iter()
            .filter(|e| e["type"] == "step_completed")
            .count(),
        1
    );
}
