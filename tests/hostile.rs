//! Hostile input against the running service: SOPs built to hang or exhaust the server
//! (through `POST /sops` and through the watched folder) and oversized requests. Each is refused
//! with a clear problem, the service stays up and keeps the SOP version it had.

#![allow(clippy::unwrap_used)]

mod support;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use serde_json::json;
use support::{Api, api_tests};

api_tests!(hostile_sops_and_oversized_requests_are_refused_and_nothing_changes);

fn alias_bomb() -> String {
    let mut bomb = String::from("bomb0: &a0 [\"lol\"]\n");
    for level in 1..10 {
        let refs = vec![format!("*a{}", level - 1); 9].join(", ");
        bomb.push_str(&format!("bomb{level}: &a{level} [{refs}]\n"));
    }
    support::ktp_el_yaml().replacen("\nid: ", &format!("\n{bomb}id: "), 1)
}

async fn deploy(api: &Api, admin: &str, yaml: String) -> support::Reply {
    let request = Request::builder()
        .method(Method::POST)
        .uri("/sops")
        .header("authorization", format!("Bearer {admin}"))
        .header("content-type", "application/yaml")
        .body(Body::from(yaml))
        .unwrap();
    api.raw(request).await
}

async fn hostile_sops_and_oversized_requests_are_refused_and_nothing_changes(api: &Api) {
    let admin = api.user("admin", "admin").await;
    let petugas = api.user("petugas", "petugas_antrian").await;
    let shipped = support::ktp_el_yaml();
    let hostile = [
        ("alias bomb", alias_bomb(), "aliases"),
        (
            "deep nesting",
            shipped.replacen(
                "\nid: ",
                &format!("\nx: {}1{}\nid: ", "[".repeat(50_000), "]".repeat(50_000)),
                1,
            ),
            "nesting deeper",
        ),
        (
            "a guard that loops",
            shipped.replacen("when: documents_complete", "when: 'loop { }'", 1),
            "guard",
        ),
        (
            "a guard nested too deep",
            shipped.replacen(
                "when: documents_complete",
                &format!("when: '{}true{}'", "(".repeat(400), ")".repeat(400)),
                1,
            ),
            "guard",
        ),
    ];
    for (what, yaml, needle) in hostile {
        assert_ne!(yaml, shipped, "{what}: the mutation applied");
        let r = deploy(api, &admin, yaml).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{what}: {}",
            r.text
        );
        assert_eq!(r.content_type, "application/problem+json", "{what}");
        assert!(r.text.contains(needle), "{what}: {}", r.text);
    }
    // Bigger than any request may be: refused before it is read whole.
    let huge = format!("{shipped}\n# {}", "x".repeat(3 * 1024 * 1024));
    let r = deploy(api, &admin, huge).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);
    assert_eq!(r.content_type, "application/problem+json");
    let r = api
        .post(
            "/cases",
            &petugas,
            json!({ "sop_id": "ktp-el", "data": { "nik": "1".repeat(3 * 1024 * 1024) } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text);

    // The watched folder: a 10 MB file and an alias bomb are refused and reported.
    std::fs::write(
        api.definitions.path().join("huge.yaml"),
        format!("{shipped}\n# {}", "x".repeat(10 * 1024 * 1024)),
    )
    .unwrap();
    std::fs::write(api.definitions.path().join("ktp-el.yaml"), alias_bomb()).unwrap();
    let problems = api
        .service
        .runtime
        .registry
        .sync_dir(&api.service.runtime.store, api.definitions.path())
        .await;
    assert_eq!(problems.len(), 2, "{problems:?}");
    let list = api.get("/sops", &admin).await;
    assert_eq!(list.body["sops"].as_array().unwrap().len(), 1);
    assert_eq!(list.body["sops"][0]["latest_version"], 1, "{}", list.text);
    assert_eq!(list.body["refused_files"].as_array().unwrap().len(), 2);

    // Still serving, on the version it had.
    let health = api.send(Method::GET, "/healthz", None, None, &[]).await;
    assert_eq!(health.status, StatusCode::OK);
    let r = api
        .post(
            "/cases",
            &petugas,
            json!({ "sop_id": "ktp-el", "data": { "nik": "1312990101900001", "nama_lengkap": "Contoh", "alasan": "baru" } }),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
    assert_eq!(r.body["sop_version"], 1);
}
