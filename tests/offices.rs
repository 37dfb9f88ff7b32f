//! Offices: two service points whose queues, inboxes, lists and reports do not mix; calling
//! from counters with recall, transfer and no-show; the call stream delivering a call within
//! a second (from another process too, on PostgreSQL); the README's office configuration.
//! On SQLite and PostgreSQL.

#![allow(clippy::unwrap_used)]

#[macro_use]
mod support;

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use futures::StreamExt as _;
use serde_json::{Value, json};
use sopflow::serve::Config;
use sopflow_core::offices::{CounterConfig, ServicePointConfig};
use support::Api;
use tower::ServiceExt as _;

api_tests!(
    config = crate::two_offices;
    two_service_points_keep_their_queues_inboxes_lists_and_reports_apart,
    numbers_are_called_to_counters_recalled_transferred_and_sent_back_when_nobody_comes,
    the_call_stream_delivers_a_call_within_a_second,
    service_points_are_kept_by_the_file_or_by_an_admin,
    an_auditor_of_one_service_point_verifies_its_cases_in_one_walk,
);

const KANTOR: &str = "kantor_dinas";
const KEC: &str = "kec_sungai_aur";

/// The main office with three counters and a kecamatan office with one.
fn two_offices(config: &mut Config) {
    let names = |names: &[&str]| {
        names
            .iter()
            .map(|n| CounterConfig::Name((*n).to_owned()))
            .collect()
    };
    config.service_points = vec![
        ServicePointConfig {
            id: KANTOR.into(),
            name: "Kantor Dinas Dukcapil".into(),
            timezone: Some("Asia/Jakarta".into()),
            calendar: Some("contoh-kantor".into()),
            counters: names(&["Loket 1", "Loket 2", "Loket 3"]),
            default: true,
        },
        ServicePointConfig {
            id: KEC.into(),
            name: "UPT Dukcapil Kecamatan Sungai Aur".into(),
            timezone: None,
            calendar: None,
            counters: names(&["Loket 1"]),
            default: false,
        },
    ];
    config.counters.no_shows_before_cancel = 2;
}

fn applicant(nik: &str) -> Value {
    json!({ "sop_id": "ktp-el", "data": { "nik": nik, "nama_lengkap": "Contoh Pemohon", "alasan": "baru" },
            "documents": [{ "type": "fotokopi_kk" }] })
}

/// Opens a case as `petugas` and takes it to the print queue; returns (case, queue number).
async fn queued(api: &Api, petugas: &str, nik: &str) -> (String, String) {
    let r = api.post("/cases", petugas, applicant(nik)).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    let case = r.body["case_id"].as_str().unwrap().to_owned();
    for step in ["serahkan_berkas", "verifikasi_berkas"] {
        let r = api
            .post(
                &format!("/cases/{case}/steps/{step}/complete"),
                petugas,
                json!({}),
            )
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    }
    let got = api.get(&format!("/cases/{case}"), petugas).await;
    assert_eq!(
        got.body["current_step"]["id"], "tunggu_antrian",
        "{}",
        got.text
    );
    (case, got.body["queue_number"].as_str().unwrap().to_owned())
}

fn ids(reply: &support::Reply, list: &str) -> Vec<String> {
    let items = if list.is_empty() {
        reply.body.as_array()
    } else {
        reply.body[list].as_array()
    };
    let mut ids: Vec<String> = items
        .unwrap_or_else(|| panic!("a list: {}", reply.text))
        .iter()
        .map(|c| c["case_id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

fn waiting(board: &support::Reply) -> Vec<String> {
    let queue = board.body["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["queue"] == "cetak_ktp")
        .unwrap_or_else(|| panic!("the print queue: {}", board.text));
    queue["waiting"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect()
}

async fn two_service_points_keep_their_queues_inboxes_lists_and_reports_apart(api: &Api) {
    let siti = api.user_at("siti", "petugas_antrian", &[KANTOR]).await;
    let budi = api.user_at("budi", "petugas_antrian", &[KEC]).await;
    let op_kantor = api.user_at("op_kantor", "operator_cetak", &[KANTOR]).await;
    let op_kec = api.user_at("op_kec", "operator_cetak", &[KEC]).await;
    let auditor = api.user("inspektorat", "auditor").await;
    let auditor_kec = api.user_at("irban_kec", "auditor", &[KEC]).await;
    let both = api.user_at("rudi", "petugas_antrian", &[KANTOR, KEC]).await;

    // Opened where the officer works.
    let r = api
        .post("/cases", &siti, applicant("1312990101900001"))
        .await;
    assert_eq!(r.body["service_point"], KANTOR, "{}", r.text);
    let r = api
        .post("/cases", &budi, applicant("1312990101900002"))
        .await;
    assert_eq!(r.body["service_point"], KEC, "{}", r.text);
    let kec_first = r.body["case_id"].as_str().unwrap().to_owned();
    // Someone who works at both says where.
    let r = api
        .post("/cases", &both, applicant("1312990101900003"))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    assert!(
        r.text.contains(KANTOR) && r.text.contains(KEC),
        "{}",
        r.text
    );
    let mut body = applicant("1312990101900003");
    body["service_point"] = json!(KEC);
    let r = api.post("/cases", &both, body.clone()).await;
    assert_eq!(
        (r.status, r.body["service_point"].clone()),
        (StatusCode::CREATED, json!(KEC))
    );
    let r = api.post("/cases", &siti, body).await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "not where she works: {}",
        r.text
    );
    let mut nowhere = applicant("1312990101900003");
    nowhere["service_point"] = json!("nowhere");
    let r = api.post("/cases", &siti, nowhere).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);

    // Inboxes per service point.
    let siti_inbox = api.get("/tasks?role=petugas_antrian", &siti).await;
    let budi_inbox = api.get("/tasks?role=petugas_antrian", &budi).await;
    assert_eq!(ids(&siti_inbox, "").len(), 1, "{}", siti_inbox.text);
    assert_eq!(ids(&budi_inbox, "").len(), 2, "{}", budi_inbox.text);
    assert!(
        budi_inbox
            .body
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["service_point"] == KEC)
    );
    let r = api
        .get(
            &format!("/tasks?role=petugas_antrian&service_point={KANTOR}"),
            &budi,
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = api
        .get(
            &format!("/tasks?role=petugas_antrian&service_point={KEC}"),
            &both,
        )
        .await;
    assert_eq!(ids(&r, "").len(), 2);

    // Queue numbers run per service point: each office starts at A-001.
    let (kantor_1, n1) = queued(api, &siti, "1312990101900004").await;
    let (kantor_2, n2) = queued(api, &siti, "1312990101900005").await;
    let (kec_1, n3) = queued(api, &budi, "1312990101900006").await;
    assert_eq!(
        [n1.as_str(), n2.as_str(), n3.as_str()],
        ["A-001", "A-002", "A-001"]
    );
    let board = api
        .get(&format!("/service-points/{KANTOR}/queues"), &op_kantor)
        .await;
    assert_eq!(board.status, StatusCode::OK, "{}", board.text);
    assert_eq!(waiting(&board), ["A-001", "A-002"]);
    let board = api
        .get(&format!("/service-points/{KEC}/queues"), &op_kec)
        .await;
    assert_eq!(waiting(&board), ["A-001"]);
    assert!(
        !board.text.contains("1312990101900006"),
        "numbers only: {}",
        board.text
    );
    let r = api
        .get(&format!("/service-points/{KANTOR}/queues"), &op_kec)
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "another office's board");

    // Each operator calls their own office's queue.
    let call = |token: String, point: &'static str| async move {
        api.post(
            &format!("/service-points/{point}/queues/cetak_ktp/call-next"),
            &token,
            json!({ "counter": "loket_1" }),
        )
        .await
    };
    let r = call(op_kec.clone(), KEC).await;
    assert_eq!(r.body["case_id"], kec_1.as_str(), "{}", r.text);
    let r = call(op_kec.clone(), KEC).await;
    assert_eq!(
        r.status,
        StatusCode::NO_CONTENT,
        "the kantor's numbers are not called there"
    );
    let r = call(op_kec.clone(), KANTOR).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text);
    let r = call(op_kantor.clone(), KANTOR).await;
    assert_eq!(r.body["case_id"], kantor_1.as_str(), "{}", r.text);
    // The old path calls at the operator's one service point.
    let r = api
        .post("/queues/cetak_ktp/call-next", &op_kantor, json!({}))
        .await;
    assert_eq!(r.body["case_id"], kantor_2.as_str(), "{}", r.text);

    // Lists: each sees their office's cases; an auditor of all, all.
    let siti_cases = api.get("/cases", &siti).await;
    let budi_cases = api.get("/cases", &budi).await;
    assert_eq!(ids(&siti_cases, "cases").len(), 3);
    assert_eq!(ids(&budi_cases, "cases").len(), 3);
    assert!(ids(&budi_cases, "cases").contains(&kec_first));
    assert!(!ids(&budi_cases, "cases").contains(&kantor_1));
    assert_eq!(ids(&api.get("/cases", &auditor).await, "cases").len(), 6);
    let filtered = api
        .get(&format!("/cases?service_point={KEC}"), &auditor)
        .await;
    assert_eq!(ids(&filtered, "cases"), ids(&budi_cases, "cases"));
    // A filter narrows what one sees, never widens it, for those who work at some points.
    let rudi_kec = api.get(&format!("/cases?service_point={KEC}"), &both).await;
    assert_eq!(ids(&rudi_kec, "cases"), ids(&budi_cases, "cases"));
    let elsewhere = api
        .get(&format!("/cases?service_point={KANTOR}"), &auditor_kec)
        .await;
    assert!(ids(&elsewhere, "cases").is_empty(), "{}", elsewhere.text);
    let r = api.get(&format!("/cases/{kantor_1}"), &budi).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "another office's case");

    // Reports per service point.
    let report = async |token: &str, point: Option<&str>| {
        let query = point
            .map(|p| format!("?service_point={p}"))
            .unwrap_or_default();
        api.get(&format!("/reports/sops/ktp-el/versions/1{query}"), token)
            .await
    };
    let all = report(&auditor, None).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    assert_eq!(all.body["cases"], 6);
    assert_eq!(report(&auditor, Some(KANTOR)).await.body["cases"], 3);
    let kec = report(&auditor, Some(KEC)).await;
    assert_eq!(
        (kec.body["cases"].clone(), kec.body["service_point"].clone()),
        (json!(3), json!(KEC))
    );
    assert_eq!(report(&auditor_kec, Some(KEC)).await.body["cases"], 3);
    assert_eq!(
        report(&auditor_kec, Some(KANTOR)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        report(&auditor_kec, None).await.status,
        StatusCode::FORBIDDEN
    );
    let r = api.get(&format!("/cases/{kantor_1}"), &auditor_kec).await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "an auditor of another office"
    );
}

async fn numbers_are_called_to_counters_recalled_transferred_and_sent_back_when_nobody_comes(
    api: &Api,
) {
    let siti = api.user_at("siti", "petugas_antrian", &[KANTOR]).await;
    let op = api.user_at("op", "operator_cetak", &[KANTOR]).await;
    let auditor = api.user("inspektorat", "auditor").await;
    let (a, _) = queued(api, &siti, "1312990101900001").await;
    let (b, _) = queued(api, &siti, "1312990101900002").await;
    let call_next = async |counter: &str| {
        api.post(
            &format!("/service-points/{KANTOR}/queues/cetak_ktp/call-next"),
            &op,
            json!({ "counter": counter }),
        )
        .await
    };
    let on_call = async |case: &str, what: &str, body: Value| {
        api.post(&format!("/cases/{case}/call/{what}"), &op, body)
            .await
    };
    let r = call_next("loket_9").await;
    assert_eq!(
        r.status,
        StatusCode::NOT_FOUND,
        "no such counter: {}",
        r.text
    );
    assert!(r.text.contains("loket_1"), "{}", r.text);

    let r = call_next("loket_2").await;
    assert_eq!(r.body["case_id"], a.as_str(), "{}", r.text);
    assert_eq!(
        r.body["call"],
        json!({ "queue": "cetak_ktp", "number": "A-001", "counter": "loket_2" })
    );
    let r = on_call(&a, "recall", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    let r = on_call(&a, "transfer", json!({ "to": "loket_9" })).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text);
    let r = on_call(&a, "transfer", json!({ "to": "loket_2" })).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    let r = on_call(&a, "transfer", json!({ "to": "loket_3" })).await;
    assert_eq!(r.body["call"]["counter"], "loket_3", "{}", r.text);
    let r = api
        .post(&format!("/cases/{a}/call/recall"), &siti, json!({}))
        .await;
    assert_eq!(
        r.status,
        StatusCode::FORBIDDEN,
        "who does not call the queue: {}",
        r.text
    );

    // The board: the last call at each counter today, numbers and counters only.
    let board = api
        .get(&format!("/service-points/{KANTOR}/queues"), &op)
        .await;
    let counters = board.body["counters"].as_array().unwrap();
    let last = |id: &str| counters.iter().find(|c| c["id"] == id).unwrap()["last_call"].clone();
    assert_eq!(last("loket_1"), Value::Null);
    assert_eq!(
        (
            last("loket_2")["kind"].clone(),
            last("loket_2")["number"].clone()
        ),
        (json!("recall"), json!("A-001"))
    );
    assert_eq!(last("loket_3")["kind"], "transfer");
    assert_eq!(last("loket_3")["counter_name"], "Loket 3");
    assert_eq!(waiting(&board), ["A-002"]);
    // Each call records who made it, with the command that made it (migration 0010).
    let calls = api
        .service
        .runtime
        .store
        .calls_since(KANTOR, time::OffsetDateTime::UNIX_EPOCH)
        .await
        .unwrap();
    let callers: Vec<Option<&str>> = calls.iter().map(|c| c.called_by.as_deref()).collect();
    assert_eq!(callers, [Some("op"); 3], "{calls:?}");

    // Nobody comes: A-001 goes back behind A-002, with its number.
    let r = on_call(&a, "no-show", json!({})).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(r.body["current_step"]["id"], "tunggu_antrian");
    assert_eq!(
        (r.body["queue_number"].clone(), r.body["no_shows"].clone()),
        (json!("A-001"), json!(1))
    );
    let board = api
        .get(&format!("/service-points/{KANTOR}/queues"), &op)
        .await;
    assert_eq!(waiting(&board), ["A-002", "A-001"]);
    let r = on_call(&a, "recall", json!({})).await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "no longer being called: {}",
        r.text
    );
    assert_eq!(call_next("loket_1").await.body["case_id"], b.as_str());
    // B's applicant came: the work began, the call is over.
    let r = api
        .post(
            &format!("/cases/{b}/steps/periksa_perekaman/complete"),
            &op,
            json!({ "data": { "status_perekaman": "PROCESSING", "masalah_nik": false } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text);
    assert_eq!(
        on_call(&b, "no-show", json!({})).await.status,
        StatusCode::CONFLICT
    );
    // The second no-show (the configured limit) cancels A, saying why.
    assert_eq!(call_next("loket_1").await.body["case_id"], a.as_str());
    let r = on_call(&a, "no-show", json!({ "reason": "dipanggil tiga kali" })).await;
    assert_eq!(r.body["status"], "cancelled", "{}", r.text);

    let history = api.get(&format!("/cases/{a}/history"), &op).await;
    let events = history.body.as_array().unwrap();
    let facts = support::facts(events);
    let of = |kind: &str| facts.iter().filter(|e| e["type"] == kind).count();
    assert_eq!(
        (
            of("queue_called"),
            of("queue_recalled"),
            of("queue_transferred"),
            of("queue_no_show")
        ),
        (2, 1, 1, 2)
    );
    let first = facts.iter().find(|e| e["type"] == "queue_called").unwrap();
    assert_eq!(
        first["event"]["counter"], "loket_2",
        "the counter is in the history"
    );
    let cancelled = facts
        .iter()
        .find(|e| e["type"] == "case_cancelled")
        .unwrap();
    let reason = cancelled["event"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("A-001") && reason.contains("dipanggil tiga kali"),
        "{reason}"
    );
    assert_eq!(events[0]["event"]["service_point"], KANTOR);
    // The auditor's replay re-checks every call.
    let verified = api.get(&format!("/cases/{a}/verify"), &auditor).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.text);
    assert_eq!(verified.body["findings"], json!([]), "{}", verified.text);
}

/// The next `call` event of a server-sent event stream, as JSON.
async fn next_call(
    stream: &mut (impl futures::Stream<Item = Result<axum::body::Bytes, axum::Error>> + Unpin),
    buffer: &mut String,
) -> Value {
    loop {
        if let Some(end) = buffer.find("\n\n") {
            let message: String = buffer.drain(..end + 2).collect();
            if message.lines().any(|l| l == "event: call") {
                let data = message
                    .lines()
                    .find_map(|l| l.strip_prefix("data: "))
                    .expect("a call carries data");
                return serde_json::from_str(data).expect("JSON data");
            }
            continue;
        }
        let chunk = stream
            .next()
            .await
            .expect("the stream goes on")
            .expect("bytes");
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
}

async fn the_call_stream_delivers_a_call_within_a_second(api: &Api) {
    let siti = api.user_at("siti", "petugas_antrian", &[KANTOR]).await;
    let budi = api.user_at("budi", "petugas_antrian", &[KEC]).await;
    let op = api.user_at("op", "operator_cetak", &[KANTOR, KEC]).await;
    let board = api.user_at("tv_ruang_tunggu", "display", &[KANTOR]).await;
    queued(api, &siti, "1312990101900001").await;
    queued(api, &siti, "1312990101900002").await;
    queued(api, &budi, "1312990101900003").await;

    let request = Request::builder()
        .method(Method::GET)
        .uri(format!("/service-points/{KANTOR}/calls/stream"))
        .header(header::AUTHORIZATION, format!("Bearer {board}"))
        .body(Body::empty())
        .unwrap();
    let response = api.app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/event-stream"
    );
    let mut stream = response.into_body().into_data_stream();
    let mut buffer = String::new();
    // Nothing of a display board's but its own service point: the other office's call first.
    // Through `app`: this process's router, or another process's.
    let call = async |app: &axum::Router, point: &str, counter: &str| {
        let request = Request::builder()
            .method(Method::POST)
            .uri(format!(
                "/service-points/{point}/queues/cetak_ktp/call-next"
            ))
            .header(header::AUTHORIZATION, format!("Bearer {op}"))
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(json!({ "counter": counter }).to_string()))
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    };
    call(&api.app, KEC, "loket_1").await;
    call(&api.app, KANTOR, "loket_2").await;
    // Waited for at most a second after the call was answered (a bound, not a benchmark).
    let called = Instant::now();
    let event = tokio::time::timeout(Duration::from_secs(1), next_call(&mut stream, &mut buffer))
        .await
        .expect("the call reaches the stream within a second");
    assert!(called.elapsed() < Duration::from_secs(1));
    assert_eq!(
        event,
        json!({ "service_point": KANTOR, "sop_id": "ktp-el", "queue": "cetak_ktp", "number": "A-001",
                "counter": "loket_2", "counter_name": "Loket 2", "kind": "call", "at": event["at"] })
    );
    assert!(!buffer.contains("1312990101900") && !buffer.contains("Contoh"));

    // On PostgreSQL, a call made by another process reaches this one's streams too.
    if api.config.database.starts_with("postgres") {
        let other = sopflow::serve::build(&api.config).await.unwrap();
        call(&other.router(), KANTOR, "loket_3").await;
        let called = Instant::now();
        let event =
            tokio::time::timeout(Duration::from_secs(1), next_call(&mut stream, &mut buffer))
                .await
                .expect("another process's call reaches the stream within a second");
        assert!(called.elapsed() < Duration::from_secs(1));
        assert_eq!(
            (event["number"].clone(), event["counter"].clone()),
            (json!("A-002"), json!("loket_3"))
        );
        other.runtime.store.close().await;
    } else {
        eprintln!(
            "one process per SQLite file: the call stream across processes is tested on PostgreSQL"
        );
    }
}

async fn service_points_are_kept_by_the_file_or_by_an_admin(api: &Api) {
    let admin = api.user("admin", "admin").await;
    let list = api.get("/service-points", &admin).await;
    let points = list.body.as_array().unwrap();
    assert_eq!(points.len(), 2, "{}", list.text);
    assert_eq!(points[0]["id"], KANTOR);
    assert_eq!(points[0]["default"], true);
    assert_eq!(points[0]["kept_by"], "config");
    assert_eq!(
        points[0]["counters"][2],
        json!({ "id": "loket_3", "name": "Loket 3" })
    );
    assert_eq!(
        points[1]["timezone"], "Asia/Jakarta",
        "the deployment's zone"
    );
    // The file keeps its own; an admin adds others.
    let r = api
        .send(
            Method::PUT,
            &format!("/service-points/{KEC}"),
            Some(&admin),
            Some(json!({ "name": "x" })),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text);
    let mpp = json!({ "name": "Mal Pelayanan Publik", "timezone": "WITA",
                      "counters": ["Loket Dukcapil", { "id": "l2", "name": "Loket 2" }] });
    let r = api
        .send(
            Method::PUT,
            "/service-points/mpp",
            Some(&admin),
            Some(mpp.clone()),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["counters"][0]["id"], "loket_dukcapil");
    let r = api
        .send(
            Method::PUT,
            "/service-points/mpp",
            Some(&admin),
            Some(mpp),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    for bad in [
        json!({ "name": "x", "timezone": "Europe/Paris" }),
        json!({ "name": "x", "counters": ["Loket 1", "Loket 1"] }),
        json!({ "name": " " }),
        // A calendar the calendars folder does not have: refused now, not at the first case.
        json!({ "name": "x", "calendar": "tidak-ada" }),
    ] {
        let r = api
            .send(
                Method::PUT,
                "/service-points/mpp2",
                Some(&admin),
                Some(bad.clone()),
                &[],
            )
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            r.text
        );
    }
    let r = api
        .send(
            Method::PUT,
            "/service-points/Bad%20Id",
            Some(&admin),
            Some(json!({ "name": "x" })),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text);
    // A user can now work there, and cases are opened there.
    let mpp_officer = api.user_at("ina", "petugas_antrian", &["mpp"]).await;
    let r = api
        .post("/cases", &mpp_officer, applicant("1312990101900001"))
        .await;
    assert_eq!(r.body["service_point"], "mpp", "{}", r.text);
    let one = api.get("/service-points/mpp", &mpp_officer).await;
    assert_eq!(one.body["timezone"], "WITA");
    assert_eq!(
        api.get("/service-points/nowhere", &admin).await.status,
        StatusCode::NOT_FOUND
    );
}

/// The README's office configuration is one `sopflow serve --config` accepts, with its two
/// counters and calendar.
#[test]
fn the_readme_configures_an_office_with_two_counters() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = readme
        .split("\n## Offices")
        .nth(1)
        .expect("the README has an Offices section");
    let toml_text = section
        .split("```toml\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .expect("with a sopflow.toml example");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sopflow.toml");
    std::fs::write(&path, toml_text).unwrap();
    let config = Config::load(&path).unwrap();
    let office = &config.service_points[0];
    assert!(office.calendar.is_some(), "with its calendar");
    let counters: Vec<String> = office.counters.iter().map(|c| c.counter().name).collect();
    assert_eq!(counters.len(), 2, "{counters:?}");
}

/// `verify_store` over some service points (an auditor of those points): their cases only,
/// each checked in full, in one walk; a changed projection elsewhere is not theirs to see.
async fn an_auditor_of_one_service_point_verifies_its_cases_in_one_walk(api: &Api) {
    use sopflow_audit::verify::{VerifyOptions, verify_store};
    let siti = api.user_at("siti", "petugas_antrian", &[KANTOR]).await;
    let budi = api.user_at("budi", "petugas_antrian", &[KEC]).await;
    let mut at_kantor = Vec::new();
    for (who, nik) in [
        (&siti, "1312990101910001"),
        (&budi, "1312990101910002"),
        (&budi, "1312990101910003"),
    ] {
        let r = api.post("/cases", who, applicant(nik)).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        if r.body["service_point"] == KANTOR {
            at_kantor.push(r.body["case_id"].as_str().unwrap().to_owned());
        }
    }
    let tampered = at_kantor.pop().expect("one case at the main office");
    // The projection says more than the history: a finding for whoever walks that case.
    let statement: &'static str = Box::leak(
        format!("UPDATE cases SET status = 'completed' WHERE case_id = '{tampered}'")
            .into_boxed_str(),
    );
    api.db.raw_execute(statement).await.unwrap();

    let store = &api.service.runtime.store;
    let verify = |points: Option<Vec<String>>| async move {
        let options = VerifyOptions {
            service_points: points,
            ..VerifyOptions::default()
        };
        let mut walked = 0u64;
        let report = verify_store(store, &options, &mut |_| walked += 1)
            .await
            .unwrap();
        assert_eq!(walked, report.cases, "progress per case");
        let named: Vec<String> = report
            .findings
            .iter()
            .filter_map(|f| f.case_id.clone())
            .collect();
        (report.cases, named)
    };
    let (cases, named) = verify(Some(vec![KEC.to_owned()])).await;
    assert_eq!((cases, named.len()), (2, 0), "{named:?}");
    let (cases, named) = verify(Some(vec![KANTOR.to_owned()])).await;
    assert_eq!(cases, 1);
    assert!(
        named.iter().all(|c| *c == tampered) && !named.is_empty(),
        "{named:?}"
    );
    let (cases, named) = verify(None).await;
    assert_eq!(cases, 3);
    assert!(named.contains(&tampered), "{named:?}");
}
