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

/// POSTs `body` to `url` (`http://…`) as `content_type` and returns the answer's status, all
/// within `timeout`: for what the service hands to others as it is (a signed checkpoint to a
/// witness), with no retry of its own.
pub async fn post(
    url: &str,
    content_type: &str,
    body: Vec<u8>,
    timeout: Duration,
) -> Result<u16, AdapterError> {
    let uri: hyper::Uri = url
        .parse()
        .map_err(|e| AdapterError::InvalidJob(format!("URL {url:?}: {e}")))?;
    if uri.scheme_str() != Some("http") || uri.host().is_none() {
        return Err(AdapterError::InvalidJob(format!(
            "URL {uri} must be http://host… (TLS is not built in)"
        )));
    }
    let peer = uri.host().unwrap_or_default().to_owned();
    let request = Request::post(uri)
        .header(hyper::header::CONTENT_TYPE, content_type)
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| AdapterError::InvalidJob(format!("cannot build the request: {e}")))?;
    let (status, _) = exchange(&client(), &peer, request, timeout, 64 * 1024).await?;
    Ok(status.as_u16())
}
