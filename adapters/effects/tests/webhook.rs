#![allow(clippy::unwrap_used)] // Test helpers: a panic is a failed test, not a crash on input.
//! The consultation webhook against real HTTP receivers on 127.0.0.1.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use sopflow_effects::{
    Consultation, ConsultationRequest, IdempotencyKey, SIGNATURE_HEADER, TIMESTAMP_HEADER,
    WebhookConsultation, verify_signature,
};

const SECRET: &[u8] = b"rahasia-uji";

#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(HeaderMap, Bytes, bool)>>>);

async fn record(
    State(received): State<Received>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let valid = verify_signature(
        SECRET,
        &header(TIMESTAMP_HEADER),
        &body,
        &header(SIGNATURE_HEADER),
    );
    received.0.lock().unwrap().push((headers, body, valid));
    if valid {
        (
            StatusCode::ACCEPTED,
            r#"{"reference":"ADB-0001"}"#.to_owned(),
        )
    } else {
        (StatusCode::UNAUTHORIZED, "bad signature".to_owned())
    }
}

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}/konsultasi")
}

fn request() -> ConsultationRequest {
    let fields = serde_json::json!({
        "nik": "3201010101900001",
        "status_perekaman": "DUPLICATE_RECORD",
        "masalah_nik": false,
    });
    ConsultationRequest {
        key: IdempotencyKey::new("case-0001:konsultasi_adb:1").unwrap(),
        case_id: "case-0001".into(),
        sop_id: "ktp-el".into(),
        step: "konsultasi_adb".into(),
        problem: Some("duplicate_record".into()),
        fields: fields.as_object().unwrap().clone(),
        callback: Some("http://127.0.0.1:8080/cases/case-0001/commands".into()),
    }
}

#[tokio::test]
async fn delivers_a_signed_request_the_receiver_verifies() {
    let received = Received::default();
    let url = serve(
        Router::new()
            .route("/konsultasi", post(record))
            .with_state(received.clone()),
    )
    .await;
    let webhook = WebhookConsultation::new(&url, SECRET, Duration::from_secs(5)).unwrap();

    let sent = webhook.send(&request()).await.unwrap();
    assert_eq!(sent.status, 202);
    assert_eq!(sent.reference.as_deref(), Some("ADB-0001"));

    let received = received.0.lock().unwrap();
    assert_eq!(received.len(), 1);
    let (headers, body, valid) = &received[0];
    assert!(valid, "the receiver verified the HMAC");
    assert_eq!(headers["idempotency-key"], "case-0001:konsultasi_adb:1");
    assert_eq!(headers["content-type"], "application/json");
    let json: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(json["case_id"], "case-0001");
    assert_eq!(json["problem"], "duplicate_record");
    assert_eq!(json["request"]["nik"], "3201010101900001");
    assert_eq!(json["idempotency_key"], "case-0001:konsultasi_adb:1");
    assert_eq!(
        json["callback"],
        "http://127.0.0.1:8080/cases/case-0001/commands"
    );
}

#[tokio::test]
async fn a_wrong_secret_is_rejected_for_good() {
    let received = Received::default();
    let url = serve(
        Router::new()
            .route("/konsultasi", post(record))
            .with_state(received.clone()),
    )
    .await;
    let webhook =
        WebhookConsultation::new(&url, b"salah".to_vec(), Duration::from_secs(5)).unwrap();
    let err = webhook.send(&request()).await.unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    assert!(!received.0.lock().unwrap()[0].2);
}

#[tokio::test]
async fn a_server_error_is_retryable() {
    let url = serve(Router::new().route(
        "/konsultasi",
        post(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "down for maintenance") }),
    ))
    .await;
    let webhook = WebhookConsultation::new(&url, SECRET, Duration::from_secs(5)).unwrap();
    let err = webhook.send(&request()).await.unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().contains("500"), "{err}");
}

#[tokio::test]
async fn a_receiver_that_never_answers_times_out_retryably() {
    let url = serve(Router::new().route(
        "/konsultasi",
        post(|| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            StatusCode::OK
        }),
    ))
    .await;
    let webhook = WebhookConsultation::new(&url, SECRET, Duration::from_millis(300)).unwrap();
    let started = std::time::Instant::now();
    let err = webhook.send(&request()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert!(
        matches!(err, sopflow_effects::AdapterError::Timeout { .. }),
        "{err}"
    );
    assert!(err.is_retryable() && err.may_have_taken_effect());
}

#[tokio::test]
async fn nothing_listening_is_offline_and_retryable() {
    // Bind and drop: the port is free, nothing listens.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let webhook = WebhookConsultation::new(
        &format!("http://127.0.0.1:{port}/x"),
        SECRET,
        Duration::from_secs(5),
    )
    .unwrap();
    let err = webhook.send(&request()).await.unwrap_err();
    assert!(
        matches!(err, sopflow_effects::AdapterError::Offline { .. }),
        "{err}"
    );
    assert!(err.is_retryable() && !err.may_have_taken_effect());
}

#[test]
fn the_problem_is_the_text_the_sop_gave_or_null() {
    let mut request = request();
    assert_eq!(
        WebhookConsultation::body(&request)["problem"],
        "duplicate_record"
    );
    request.problem = None;
    assert!(WebhookConsultation::body(&request)["problem"].is_null());
}
