use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use http_body_util::Full;
use hyper::Request;
use ipp::model::{DelimiterTag, IppVersion, Operation};
use ipp::prelude::{IppAttribute, IppOperationBuilder, IppPayload, IppRequestResponse, IppValue};

use crate::http::{HttpClient, client, exchange};
use crate::{
    AdapterError, BoxFuture, CardPrinter, IdempotencyKey, JobState, Lookup, PrintJob, PrintOutcome,
};

/// The largest IPP answer read (a Get-Jobs listing of a busy printer stays far below).
const ANSWER_LIMIT: usize = 1024 * 1024;
const USER_NAME: &str = "sopflow";

/// A network card printer spoken to over IPP (`ipp://host[:port]/path`, plain, no TLS).
///
/// Each card is one Print-Job whose job-name is the idempotency key, so the job can be found
/// again with Get-Jobs: IPP has no idempotency attribute, and the job-name is the only handle a
/// client controls. [`print`](CardPrinter::print) looks the key up first and never submits a
/// second job for a key the printer still knows, then follows the job with Get-Job-Attributes
/// until it is completed, aborted or canceled, or the completion wait runs out.
///
/// IPP printers forget finished jobs (ippeveprinter after about a minute), so a lookup that
/// finds nothing answers [`Lookup::NotRemembered`], not `NotFound`.
#[derive(Debug, Clone)]
pub struct IppPrinter {
    /// The printer URI as the printer knows itself (`ipp://…`), sent as `printer-uri`.
    printer_uri: hyper::Uri,
    /// Where the requests go (`http://…`, port 631 unless given).
    endpoint: hyper::Uri,
    request_timeout: Duration,
    completion_wait: Duration,
    poll_interval: Duration,
    client: HttpClient,
}

impl IppPrinter {
    /// `uri`: `ipp://host[:port]/path` (or `http://…`). `ipps` is not supported in this build.
    pub fn new(uri: &str) -> Result<Self, AdapterError> {
        let bad = |why: String| AdapterError::InvalidJob(format!("printer URI {uri:?}: {why}"));
        let parsed: hyper::Uri = uri.parse().map_err(|e| bad(format!("{e}")))?;
        let host = parsed.host().ok_or_else(|| bad("no host".into()))?;
        let default_port = match parsed.scheme_str() {
            Some("ipp") => 631,
            Some("http") => 80,
            _ => {
                return Err(bad(
                    "the scheme must be ipp or http (no TLS in this build)".into()
                ));
            }
        };
        let port = parsed.port_u16().unwrap_or(default_port);
        let path = parsed.path_and_query().map_or("/", |p| p.as_str());
        let host = if host.contains(':') && !host.starts_with('[') {
            format!("[{host}]")
        } else {
            host.to_owned()
        };
        let endpoint: hyper::Uri = format!("http://{host}:{port}{path}")
            .parse()
            .map_err(|e| bad(format!("{e}")))?;
        let printer_uri: hyper::Uri = format!("ipp://{host}:{port}{path}")
            .parse()
            .map_err(|e| bad(format!("{e}")))?;
        Ok(Self {
            printer_uri,
            endpoint,
            request_timeout: crate::DEFAULT_TIMEOUT,
            completion_wait: Duration::from_secs(60),
            poll_interval: Duration::from_millis(500),
            client: client(),
        })
    }

    /// How long one IPP exchange may take (default 10 s).
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// How long [`print`](CardPrinter::print) follows a job before returning it unfinished
    /// (default 60 s), and how often it asks (default 0.5 s).
    pub fn with_completion_wait(mut self, wait: Duration, poll_interval: Duration) -> Self {
        self.completion_wait = wait;
        self.poll_interval = poll_interval.max(Duration::from_millis(10));
        self
    }

    fn peer(&self) -> String {
        self.printer_uri.to_string()
    }

    /// Sends one IPP request (attributes, then `document`) and parses the answer. IPP
    /// client errors are rejections, server errors retryable failures.
    ///
    /// `request` is the encoded operation (see [`encode`]): `IppRequestResponse` is not `Sync`
    /// and so may not be held across an await.
    async fn call(
        &self,
        request: Bytes,
        document: &[u8],
    ) -> Result<IppRequestResponse, AdapterError> {
        let peer = self.peer();
        let mut body = BytesMut::from(request.as_ref());
        body.extend_from_slice(document);
        let http_request = Request::post(self.endpoint.clone())
            .header(hyper::header::CONTENT_TYPE, "application/ipp")
            .body(Full::new(body.freeze()))
            .map_err(|e| AdapterError::InvalidJob(format!("cannot build the IPP request: {e}")))?;
        let (status, answer) = exchange(
            &self.client,
            &peer,
            http_request,
            self.request_timeout,
            ANSWER_LIMIT,
        )
        .await?;
        if !status.is_success() {
            let detail = format!("HTTP {status}");
            return Err(if status.is_server_error() {
                AdapterError::PeerFailed {
                    peer,
                    status: Some(status.as_u16()),
                    detail,
                }
            } else {
                AdapterError::Rejected {
                    peer,
                    status: Some(status.as_u16()),
                    detail,
                }
            });
        }
        let response = parse(&answer).map_err(|detail| AdapterError::BadAnswer {
            peer: peer.clone(),
            detail,
        })?;
        let code = response.header().operation_or_status;
        if response.header().status_code().is_success() {
            return Ok(response);
        }
        let message = first_value(
            &response,
            DelimiterTag::OperationAttributes,
            "status-message",
        )
        .map(|v| v.to_string())
        .unwrap_or_default();
        let detail = format!("IPP status 0x{code:04x} {message}");
        Err(if (0x0500..0x0600).contains(&code) {
            AdapterError::PeerFailed {
                peer,
                status: None,
                detail,
            }
        } else {
            AdapterError::Rejected {
                peer,
                status: None,
                detail,
            }
        })
    }

    fn ipp_uri(&self) -> Result<ipp::prelude::Uri, AdapterError> {
        self.printer_uri
            .to_string()
            .parse()
            .map_err(|e| AdapterError::InvalidJob(format!("printer URI: {e}")))
    }

    /// Every job the printer still knows by this name, with id and state.
    async fn jobs_named(&self, key: &IdempotencyKey) -> Result<Vec<(i32, JobState)>, AdapterError> {
        let mut found = Vec::new();
        for which in ["not-completed", "completed"] {
            let response = self.call(self.get_jobs_request(which)?, &[]).await?;
            for group in response.attributes().groups_of(DelimiterTag::JobAttributes) {
                let name = group.get("job-name").map(|a| a.value().to_string());
                if name.as_deref() != Some(key.as_str()) {
                    continue;
                }
                if let (Some(IppValue::Integer(id)), Some(IppValue::Enum(state))) = (
                    group.get("job-id").map(|a| a.value()),
                    group.get("job-state").map(|a| a.value()),
                ) {
                    found.push((*id, job_state(*state)));
                }
            }
        }
        Ok(found)
    }

    fn get_jobs_request(&self, which: &str) -> Result<Bytes, AdapterError> {
        let mut request = IppRequestResponse::new(
            IppVersion::v1_1(),
            Operation::GetJobs,
            Some(self.ipp_uri()?),
        )
        .map_err(ipp_build_error)?;
        let user = IppValue::new_name_without_language(USER_NAME).map_err(ipp_build_error)?;
        let attributes = [
            attribute("requesting-user-name", user)?,
            attribute("which-jobs", keyword(which)?)?,
            attribute(
                "requested-attributes",
                IppValue::Array(vec![
                    keyword("job-id")?,
                    keyword("job-name")?,
                    keyword("job-state")?,
                ]),
            )?,
        ];
        for a in attributes {
            request
                .attributes_mut()
                .add(DelimiterTag::OperationAttributes, a);
        }
        Ok(request.to_bytes())
    }

    async fn lookup_key(&self, key: &IdempotencyKey) -> Result<Lookup, AdapterError> {
        let jobs = self.jobs_named(key).await?;
        // Should a name occur twice, the job that came furthest wins: a completed card counts.
        let rank = |s: JobState| match s {
            JobState::Completed => 3,
            JobState::Aborted | JobState::Canceled => 1,
            _ => 2,
        };
        Ok(
            match jobs
                .into_iter()
                .max_by_key(|&(id, state)| (rank(state), id))
            {
                Some((id, state)) => Lookup::Found {
                    job_ref: id.to_string(),
                    state,
                },
                None => Lookup::NotRemembered,
            },
        )
    }

    /// The job's state and reasons; `None` when the printer no longer knows it.
    async fn job_status(
        &self,
        job_id: i32,
    ) -> Result<Option<(JobState, Vec<String>)>, AdapterError> {
        let request = encode(
            IppOperationBuilder::get_job_attributes(self.ipp_uri()?, job_id)
                .user_name(USER_NAME)
                .build()
                .map_err(ipp_build_error)?,
        );
        let response = match self.call(request, &[]).await {
            Ok(response) => response,
            Err(AdapterError::Rejected { detail, .. })
                if detail.starts_with("IPP status 0x0406") =>
            {
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let state = match first_value(&response, DelimiterTag::JobAttributes, "job-state") {
            Some(IppValue::Enum(n)) => job_state(*n),
            _ => {
                return Err(AdapterError::BadAnswer {
                    peer: self.peer(),
                    detail: "no job-state".into(),
                });
            }
        };
        let reasons = match first_value(&response, DelimiterTag::JobAttributes, "job-state-reasons")
        {
            Some(IppValue::Array(values)) => values.iter().map(|v| v.to_string()).collect(),
            Some(value) => vec![value.to_string()],
            None => Vec::new(),
        };
        Ok(Some((state, reasons)))
    }

    /// Follows a job the printer accepted until it is final or the wait runs out. Errors while
    /// following end the wait but are not returned: the job exists, and an error here must not
    /// look like "nothing was printed".
    async fn follow(
        &self,
        job_id: i32,
        mut state: JobState,
        already_submitted: bool,
    ) -> PrintOutcome {
        let deadline = Instant::now() + self.completion_wait;
        let mut reasons = Vec::new();
        while !state.is_final() && Instant::now() < deadline {
            tokio::time::sleep(
                self.poll_interval
                    .min(deadline.saturating_duration_since(Instant::now())),
            )
            .await;
            match self.job_status(job_id).await {
                Ok(Some((s, r))) => {
                    state = s;
                    reasons = r;
                }
                Ok(None) | Err(_) => break,
            }
        }
        PrintOutcome {
            job_ref: job_id.to_string(),
            state,
            reasons,
            already_submitted,
        }
    }

    async fn print_job(&self, job: &PrintJob) -> Result<PrintOutcome, AdapterError> {
        if let Lookup::Found { job_ref, state } = self.lookup_key(&job.key).await? {
            let id = job_ref.parse().unwrap_or_default();
            return Ok(self.follow(id, state, true).await);
        }
        let pdf = crate::pdf::render(&job.document)?;
        let request = encode(
            IppOperationBuilder::print_job(self.ipp_uri()?, IppPayload::empty())
                .user_name(USER_NAME)
                .job_title(job.key.as_str())
                .document_format("application/pdf")
                .build()
                .map_err(ipp_build_error)?,
        );
        let response = self.call(request, &pdf).await?;
        let id = match first_value(&response, DelimiterTag::JobAttributes, "job-id") {
            Some(IppValue::Integer(id)) => *id,
            _ => {
                return Err(AdapterError::BadAnswer {
                    peer: self.peer(),
                    detail: "Print-Job accepted without a job-id".into(),
                });
            }
        };
        let state = match first_value(&response, DelimiterTag::JobAttributes, "job-state") {
            Some(IppValue::Enum(n)) => job_state(*n),
            _ => JobState::Pending,
        };
        Ok(self.follow(id, state, false).await)
    }
}

impl CardPrinter for IppPrinter {
    fn print<'a>(&'a self, job: &'a PrintJob) -> BoxFuture<'a, Result<PrintOutcome, AdapterError>> {
        Box::pin(self.print_job(job))
    }

    fn lookup<'a>(
        &'a self,
        key: &'a IdempotencyKey,
    ) -> BoxFuture<'a, Result<Lookup, AdapterError>> {
        Box::pin(self.lookup_key(key))
    }
}

fn parse(answer: &Bytes) -> Result<IppRequestResponse, String> {
    let reader = ipp::reader::IppReader::new(std::io::Cursor::new(answer.to_vec()));
    ipp::parser::IppParser::new(reader)
        .parse()
        .map_err(|e| e.to_string())
}

fn first_value<'r>(
    response: &'r IppRequestResponse,
    tag: DelimiterTag,
    name: &str,
) -> Option<&'r IppValue> {
    response
        .attributes()
        .groups_of(tag)
        .find_map(|g| g.get(name))
        .map(|a| a.value())
}

/// The operation's header and attributes (its payload is sent separately).
fn encode(operation: impl ipp::operation::IppOperation) -> Bytes {
    IppRequestResponse::from(operation).to_bytes()
}

fn attribute(name: &str, value: IppValue) -> Result<IppAttribute, AdapterError> {
    IppAttribute::with_name(name, value).map_err(ipp_build_error)
}

fn keyword(word: &str) -> Result<IppValue, AdapterError> {
    Ok(IppValue::Keyword(word.try_into().map_err(ipp_build_error)?))
}

fn ipp_build_error(e: ipp::parser::IppParseError) -> AdapterError {
    AdapterError::InvalidJob(format!("cannot build the IPP request: {e}"))
}

/// RFC 8011 `job-state` values.
fn job_state(n: i32) -> JobState {
    match n {
        3 => JobState::Pending,
        4 => JobState::Held,
        5 => JobState::Processing,
        6 => JobState::Stopped,
        7 => JobState::Canceled,
        8 => JobState::Aborted,
        9 => JobState::Completed,
        // Unknown values: treat as still going, never as "not printed".
        _ => JobState::Processing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        let p = IppPrinter::new("ipp://localhost:8631/ipp/print").unwrap();
        assert_eq!(p.endpoint.to_string(), "http://localhost:8631/ipp/print");
        assert_eq!(p.printer_uri.to_string(), "ipp://localhost:8631/ipp/print");
        let p = IppPrinter::new("ipp://printer.local/ipp/print").unwrap();
        assert_eq!(p.endpoint.to_string(), "http://printer.local:631/ipp/print");
        assert!(IppPrinter::new("ipps://printer.local/ipp/print").is_err());
        assert!(IppPrinter::new("not a uri").is_err());
    }
}
