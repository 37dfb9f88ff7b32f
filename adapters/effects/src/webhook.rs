use std::time::Duration;

use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use http_body_util::Full;
use hyper::Request;
use sha2::Sha256;

use crate::http::{HttpClient, client, exchange};
use crate::{AdapterError, BoxFuture, Consultation, ConsultationRequest, Sent};

/// `sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>`.
pub const SIGNATURE_HEADER: &str = "X-Sopflow-Signature";
/// Unix seconds when the request was signed; part of the signed material, so a receiver can
/// refuse old (replayed) requests.
pub const TIMESTAMP_HEADER: &str = "X-Sopflow-Timestamp";

/// Sends a case to the consultation desk as a signed JSON POST.
///
/// The body names the case, the problem (the text the SOP's `problem` gives, or null), the
/// step's request fields, the idempotency key and where to post the answer. Headers:
/// `Idempotency-Key` (the desk deduplicates resends on it), [`TIMESTAMP_HEADER`] and
/// [`SIGNATURE_HEADER`]. Any 2xx is acceptance; 5xx, timeouts and refused connections are
/// retryable; other statuses are rejections.
#[derive(Clone)]
pub struct WebhookConsultation {
    url: hyper::Uri,
    secret: Vec<u8>,
    timeout: Duration,
    client: HttpClient,
}

impl std::fmt::Debug for WebhookConsultation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("WebhookConsultation")
            .field("url", &self.url)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl WebhookConsultation {
    /// `url` must be `http://…` (no TLS in this build).
    pub fn new(
        url: &str,
        secret: impl Into<Vec<u8>>,
        timeout: Duration,
    ) -> Result<Self, AdapterError> {
        let url: hyper::Uri = url
            .parse()
            .map_err(|e| AdapterError::InvalidJob(format!("consultation URL {url:?}: {e}")))?;
        if url.scheme_str() != Some("http") || url.host().is_none() {
            return Err(AdapterError::InvalidJob(format!(
                "consultation URL {url} must be http://host… (TLS is not built in)"
            )));
        }
        Ok(Self {
            url,
            secret: secret.into(),
            timeout,
            client: client(),
        })
    }

    /// The JSON body for a request (public for the callback side's tests and documentation).
    pub fn body(request: &ConsultationRequest) -> serde_json::Value {
        serde_json::json!({
            "case_id": request.case_id,
            "sop_id": request.sop_id,
            "step": request.step,
            "problem": request.problem,
            "request": request.fields,
            "idempotency_key": request.key,
            "callback": request.callback,
        })
    }

    async fn post(&self, request: &ConsultationRequest) -> Result<Sent, AdapterError> {
        let peer = self.url.to_string();
        let body = serde_json::to_vec(&Self::body(request))
            .map_err(|e| AdapterError::InvalidJob(format!("cannot encode the request: {e}")))?;
        let timestamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
            .to_string();
        let signature = sign(&self.secret, &timestamp, &body);
        let http_request = Request::post(self.url.clone())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header("Idempotency-Key", request.key.as_str())
            .header(TIMESTAMP_HEADER, &timestamp)
            .header(SIGNATURE_HEADER, &signature)
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| AdapterError::InvalidJob(format!("cannot build the request: {e}")))?;
        let (status, answer) =
            exchange(&self.client, &peer, http_request, self.timeout, 64 * 1024).await?;
        if status.is_success() {
            let reference = serde_json::from_slice::<serde_json::Value>(&answer)
                .ok()
                .and_then(|v| {
                    v.get("reference")
                        .and_then(|r| r.as_str())
                        .map(str::to_owned)
                });
            Ok(Sent {
                status: status.as_u16(),
                reference,
            })
        } else {
            let detail = format!(
                "HTTP {status}: {}",
                String::from_utf8_lossy(&answer[..answer.len().min(200)])
            );
            if status.is_server_error() || status == hyper::StatusCode::TOO_MANY_REQUESTS {
                Err(AdapterError::PeerFailed {
                    peer,
                    status: Some(status.as_u16()),
                    detail,
                })
            } else {
                Err(AdapterError::Rejected {
                    peer,
                    status: Some(status.as_u16()),
                    detail,
                })
            }
        }
    }
}

impl Consultation for WebhookConsultation {
    fn send<'a>(
        &'a self,
        request: &'a ConsultationRequest,
    ) -> BoxFuture<'a, Result<Sent, AdapterError>> {
        Box::pin(self.post(request))
    }
}

fn mac(secret: &[u8], timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(secret) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The [`SIGNATURE_HEADER`] value for a body: `sha256=` and the lower-case hex of
/// HMAC-SHA256(secret, `timestamp + "." + body`).
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let tag = mac(secret, timestamp, body).finalize().into_bytes();
    format!("sha256={}", hex::encode(tag))
}

/// Checks a [`SIGNATURE_HEADER`] value in constant time (for the side that receives the webhook,
/// and for the desk's callback if it signs the same way). Checking the timestamp's age is the
/// caller's business.
pub fn verify_signature(secret: &[u8], timestamp: &str, body: &[u8], header: &str) -> bool {
    let Some(hex) = header.strip_prefix("sha256=") else {
        return false;
    };
    let Some(tag) = decode_hex(hex) else {
        return false;
    };
    mac(secret, timestamp, body).verify_slice(&tag).is_ok()
}

fn decode_hex(hex: &str) -> Option<Vec<u8>> {
    if !hex.len().is_multiple_of(2) {
        return None;
    }
    hex.as_bytes()
        .chunks(2)
        .map(|pair| {
            let s = std::str::from_utf8(pair).ok()?;
            u8::from_str_radix(s, 16).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_round_trip() {
        let header = sign(b"rahasia", "1700000000", b"{\"a\":1}");
        assert!(header.starts_with("sha256=") && header.len() == 7 + 64);
        assert!(verify_signature(
            b"rahasia",
            "1700000000",
            b"{\"a\":1}",
            &header
        ));
        assert!(!verify_signature(
            b"rahasia",
            "1700000001",
            b"{\"a\":1}",
            &header
        ));
        assert!(!verify_signature(
            b"lain",
            "1700000000",
            b"{\"a\":1}",
            &header
        ));
        assert!(!verify_signature(
            b"rahasia",
            "1700000000",
            b"{\"a\":2}",
            &header
        ));
        assert!(!verify_signature(
            b"rahasia",
            "1700000000",
            b"{\"a\":1}",
            "sha256=zz"
        ));
        assert!(!verify_signature(
            b"rahasia",
            "1700000000",
            b"{\"a\":1}",
            &header[7..]
        ));
    }
}
