//! Guessing tokens is slow: after a burst of failed authentications, an address is refused
//! (429 with Retry-After) for a while, even with a valid token; other addresses are not.

#![allow(clippy::unwrap_used)]

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use support::{Api, Backend};

fn get(url: &str, token: &str) -> (u16, Option<String>, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into();
    let mut response = agent
        .get(url)
        .header("authorization", format!("Bearer {token}"))
        .call()
        .unwrap();
    let retry = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.body_mut().read_to_string().unwrap();
    (response.status().as_u16(), retry, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_authentications_are_rate_limited_per_address() {
    let Some(api) = Api::start_with(Backend::Sqlite, |c| {
        c.auth_failure_burst = 5;
        c.auth_failures_per_minute = 2;
    })
    .await
    else {
        return;
    };
    let good = api.user("petugas", "petugas_antrian").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = api.app.clone();
    let server = tokio::spawn(async move {
        let _ = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await;
    });

    let url = format!("{base}/cases");
    let statuses = tokio::task::spawn_blocking(move || {
        let mut seen = Vec::new();
        for i in 0..5 {
            seen.push(get(&url, &format!("guess-{i}")));
        }
        seen.push(get(&url, "guess-5"));
        // Blocked now: a valid token from the same address is refused as well.
        seen.push(get(&url, &good));
        seen
    })
    .await
    .unwrap();
    for (status, _, body) in &statuses[..5] {
        assert_eq!(*status, 401, "{body}");
    }
    let (status, retry, body) = &statuses[5];
    assert_eq!(*status, 429, "{body}");
    assert!(body.contains("too-many-failed-logins"), "{body}");
    let seconds: u64 = retry.as_deref().unwrap().parse().unwrap();
    assert!((1..=60).contains(&seconds), "Retry-After {seconds}");
    assert_eq!(statuses[6].0, 429, "blocked whatever the token");

    // In-process requests (no socket address) are not limited, nor is /healthz.
    let reply = api
        .send(axum::http::Method::GET, "/healthz", None, None, &[])
        .await;
    assert_eq!(reply.status, 200);
    server.abort();
    api.finish().await;
}
