//! One plain-HTTP/1 exchange with a bounded wait, over hyper (which the service already builds
//! for axum). No TLS: printers and the consultation desk are reached on the local network.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::AdapterError;

pub(crate) type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub(crate) fn client() -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(Duration::from_secs(5)));
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new()).build(connector)
}

/// Sends the request and reads the whole answer (at most `limit` bytes), all within `timeout`.
pub(crate) async fn exchange(
    client: &HttpClient,
    peer: &str,
    request: Request<Full<Bytes>>,
    timeout: Duration,
    limit: usize,
) -> Result<(StatusCode, Bytes), AdapterError> {
    let round_trip = async {
        let response = client.request(request).await.map_err(|e| {
            if e.is_connect() {
                AdapterError::Offline {
                    peer: peer.to_owned(),
                    detail: source_chain(&e),
                }
            } else {
                AdapterError::PeerFailed {
                    peer: peer.to_owned(),
                    status: None,
                    detail: source_chain(&e),
                }
            }
        })?;
        let status = response.status();
        let body = http_body_util::Limited::new(response.into_body(), limit)
            .collect()
            .await
            .map_err(|e| AdapterError::PeerFailed {
                peer: peer.to_owned(),
                status: Some(status.as_u16()),
                detail: format!("reading the answer: {e}"),
            })?
            .to_bytes();
        Ok((status, body))
    };
    tokio::time::timeout(timeout, round_trip)
        .await
        .map_err(|_| AdapterError::Timeout {
            peer: peer.to_owned(),
            after: timeout,
        })?
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
