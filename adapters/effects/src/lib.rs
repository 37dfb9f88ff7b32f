//! Effect adapters of sopflow: the outside world a case's service steps act on.
//!
//! Design invariant 4: an effect is *delivered* at least once, under a deterministic idempotency
//! key (`case:step:visit`), but the *physical* effect happens at most once. The traits here are
//! shaped for that:
//!
//! - every call carries the [`IdempotencyKey`]; the card printer uses it as the job-name and the
//!   consultation webhook sends it as `Idempotency-Key`;
//! - [`AdapterError`] says whether a failure may be retried ([`AdapterError::is_retryable`]) and
//!   whether the effect may already have happened ([`AdapterError::may_have_taken_effect`]);
//! - [`CardPrinter::lookup`] asks the printer whether a job with the key exists. A dispatcher that
//!   retries a print whose outcome is unknown looks it up first and prints again only on
//!   [`Lookup::NotFound`]; on [`Lookup::NotRemembered`] a human confirms — never an automatic
//!   reprint.
//!
//! The traits return boxed futures rather than using `async fn` so that they stay object-safe:
//! the service picks the printer at start-up (`dyn CardPrinter`).
//!
//! This crate does not depend on the API crate, nor knows any SOP: what is printed and what a
//! consultation is about come from the SOP through the request. The dispatcher (in the
//! service) maps outbox rows to [`PrintJob`] and [`ConsultationRequest`] and the results back
//! to commands.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

mod error;
mod folder;
pub mod http;
mod ipp_printer;
pub mod pdf;
mod webhook;

pub use error::AdapterError;
pub use folder::{FolderPrinter, STAGING};
pub use ipp_printer::IppPrinter;
pub use webhook::{
    SIGNATURE_HEADER, TIMESTAMP_HEADER, WebhookConsultation, sign, verify_signature,
};

/// A boxed, `Send` future: what the object-safe adapter traits return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The deterministic key of one delivery of an effect: `case:step:visit`.
///
/// Retries of the same delivery carry the same key; a new visit of the step gets a new one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Takes the key as the outbox stores it. It becomes a file name and an IPP job-name, so it is
    /// limited to ASCII letters, digits and `:-_.` (1..=200 characters) and may not start with `.`.
    pub fn new(key: impl Into<String>) -> Result<Self, AdapterError> {
        let key = key.into();
        let valid = !key.is_empty()
            && key.len() <= 200
            && !key.starts_with('.')
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'-' | b'_' | b'.'));
        if valid {
            Ok(Self(key))
        } else {
            Err(AdapterError::InvalidJob(format!(
                "idempotency key {key:?} is not 1..=200 characters of [A-Za-z0-9:_.-]"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for IdempotencyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The paper a document is laid out on (see [`pdf`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// An ID-1 card, 85.6 × 54 mm (a KTP-el): the title, then at most 7 lines, the first
    /// emphasised.
    Id1Card,
    /// An A4 page, 210 × 297 mm: the title, then a line per label; more pages as needed.
    A4Document,
}

/// One line of a printed document: a label and the value after it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PrintLine {
    pub label: String,
    pub value: String,
}

/// What to print, as the SOP's printout describes it: a layout, a title and the lines.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PrintDocument {
    pub layout: Layout,
    pub title: String,
    pub lines: Vec<PrintLine>,
}

/// One document to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintJob {
    pub key: IdempotencyKey,
    pub document: PrintDocument,
}

/// Where a print job stands, as the printer reports it (IPP `job-state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Pending,
    Held,
    Processing,
    Stopped,
    /// The card came out.
    Completed,
    /// The printer gave up; the card may be partly printed or not at all.
    Aborted,
    /// Cancelled (by an operator or the printer) before it completed.
    Canceled,
}

impl JobState {
    /// Completed, aborted or canceled: the printer will not change it any more.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Aborted | Self::Canceled)
    }
}

/// What the printer said about a job after [`CardPrinter::print`].
///
/// `state` is final unless the bounded wait for completion ran out, in which case the job was
/// accepted and is still `Pending`/`Processing`: look it up later, do not print again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrintOutcome {
    /// The printer's reference for the job (IPP job-id, or the file path of the folder printer).
    pub job_ref: String,
    pub state: JobState,
    /// The printer's `job-state-reasons`, for the record.
    pub reasons: Vec<String>,
    /// True when the job already existed under this key and nothing new was submitted.
    pub already_submitted: bool,
}

/// The answer of [`CardPrinter::lookup`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// A job with this key exists (or existed and is still remembered).
    Found { job_ref: String, state: JobState },
    /// The printer keeps every job it ever got and has none with this key: printing is safe.
    NotFound,
    /// The printer has no job with this key but forgets jobs (an IPP printer keeps completed jobs
    /// only for a while): it cannot tell whether the card was printed. A human confirms.
    NotRemembered,
}

/// A printer of cards and documents. Implementations: [`IppPrinter`], [`FolderPrinter`].
pub trait CardPrinter: Send + Sync {
    /// Submits the job under its key as job-name and follows it, within a bounded wait.
    ///
    /// When the printer already has a job with the key, returns that job
    /// (`already_submitted = true`) instead of printing a second card.
    fn print<'a>(&'a self, job: &'a PrintJob) -> BoxFuture<'a, Result<PrintOutcome, AdapterError>>;

    /// Looks a job up by its key (the job-name).
    fn lookup<'a>(&'a self, key: &'a IdempotencyKey)
    -> BoxFuture<'a, Result<Lookup, AdapterError>>;
}

/// One consultation to send (a consultation step's request).
#[derive(Debug, Clone, PartialEq)]
pub struct ConsultationRequest {
    pub key: IdempotencyKey,
    pub case_id: String,
    pub sop_id: String,
    pub step: String,
    /// What the consultation is about, as the SOP's `problem` gives it for the case.
    pub problem: Option<String>,
    /// The case fields the step's `request` lists.
    pub fields: serde_json::Map<String, serde_json::Value>,
    /// Where the desk posts its answer (resolved/rejected), if the service exposes one.
    pub callback: Option<String>,
}

/// The consultation desk took the request. Its answer comes later, as a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The HTTP status of the acceptance (2xx).
    pub status: u16,
    /// The desk's reference, when its answer carries one (`{"reference": "..."}`).
    pub reference: Option<String>,
}

/// A consultation desk. Implementation: [`WebhookConsultation`].
pub trait Consultation: Send + Sync {
    /// Delivers the request. The desk deduplicates on the `Idempotency-Key`, so resending after an
    /// unknown outcome is safe.
    fn send<'a>(
        &'a self,
        request: &'a ConsultationRequest,
    ) -> BoxFuture<'a, Result<Sent, AdapterError>>;
}

/// Default time one HTTP/IPP exchange may take.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);
