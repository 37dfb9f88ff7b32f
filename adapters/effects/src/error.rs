use std::time::Duration;

/// Why an adapter call failed.
///
/// The dispatcher needs two answers from an error: may I try again
/// ([`is_retryable`](Self::is_retryable)), and may the effect already have happened
/// ([`may_have_taken_effect`](Self::may_have_taken_effect)) — a print that may have happened is
/// looked up before any retry.
#[derive(Debug, thiserror::Error)]
pub enum AdapterError {
    /// Nothing answered (connection refused, no route, DNS): the request never got there.
    #[error("{peer} is unreachable: {detail}")]
    Offline { peer: String, detail: String },
    /// The request was (maybe) sent but no answer came in time.
    #[error("{peer} did not answer within {after:?}")]
    Timeout { peer: String, after: Duration },
    /// The peer answered with a server-side failure (HTTP 5xx, IPP server-error), or the
    /// connection broke after the request was sent.
    #[error("{peer} failed: {detail}")]
    PeerFailed {
        peer: String,
        status: Option<u16>,
        detail: String,
    },
    /// The peer refused the request for good (HTTP 4xx, IPP client-error: job rejected).
    #[error("{peer} rejected the request: {detail}")]
    Rejected {
        peer: String,
        status: Option<u16>,
        detail: String,
    },
    /// The peer's answer could not be understood.
    #[error("{peer} answered something unreadable: {detail}")]
    BadAnswer { peer: String, detail: String },
    /// The job itself is unusable (bad key, card cannot be rendered): retrying will not help.
    #[error("invalid job: {0}")]
    InvalidJob(String),
    /// A local I/O failure (spool folder): retryable, nothing was printed.
    #[error("local I/O failed: {0}")]
    Io(#[from] std::io::Error),
}

impl AdapterError {
    /// Offline, timeout, server failure, local I/O: try again later.
    /// Rejected, unreadable answer, invalid job: a person has to look.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Offline { .. } | Self::Timeout { .. } | Self::PeerFailed { .. } | Self::Io(_)
        )
    }

    /// Whether the physical effect may have happened despite the error. Before retrying a print
    /// for which this is true, look the job up by its key.
    pub fn may_have_taken_effect(&self) -> bool {
        matches!(
            self,
            Self::Timeout { .. } | Self::PeerFailed { .. } | Self::BadAnswer { .. }
        )
    }
}
