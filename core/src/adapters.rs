//! Which real adapter serves each adapter a SOP names, as the deployment configures it.
//!
//! A SOP names its adapters by id and kind (`printer_ktp: card_printer`); the configuration
//! binds ids to implementations:
//!
//! ```toml
//! [adapters.printer_ktp]
//! kind = "ipp"                      # or "folder" (path = …), or "manual"
//! uri = "ipp://192.168.1.20/ipp/print"
//!
//! [adapters.konsultasi_adb]
//! kind = "webhook"                  # or "manual"
//! url = "http://adb.disdukcapil.local/konsultasi"
//! secret_env = "SOPFLOW_ADB_SECRET" # or secret = "…"
//! ```
//!
//! An id the configuration does not name gets its kind's default: a card printer prints to
//! the folder `prints` (one PDF per job, like a print-to-file printer); a consultation is
//! `manual`, i.e. answered by an ADB user through the API.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use sopflow_effects::{CardPrinter, Consultation, FolderPrinter, IppPrinter, WebhookConsultation};
use sopflow_engine::sop::Duration;
use sopflow_engine::sop::model::{AdapterDef, AdapterKind};

/// One adapter's configuration (`[adapters.ID]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum AdapterConfig {
    /// A folder of PDFs, one per card.
    Folder { path: PathBuf },
    /// An IPP printer.
    Ipp {
        uri: String,
        /// How long one print follows its job before a later attempt looks it up again.
        #[serde(default = "default_completion_wait")]
        completion_wait: Duration,
        #[serde(default = "default_request_timeout")]
        request_timeout: Duration,
    },
    /// An HTTP webhook signed with HMAC-SHA256; the desk answers on
    /// `POST /callbacks/{adapter}`, signed with the same secret.
    Webhook {
        url: String,
        /// The shared secret itself (prefer `secret_env`: config files get copied around).
        secret: Option<String>,
        /// The environment variable holding the shared secret.
        secret_env: Option<String>,
        #[serde(default = "default_request_timeout")]
        request_timeout: Duration,
    },
    /// No adapter: the step's actor completes it through the API.
    Manual,
}

fn default_completion_wait() -> Duration {
    Duration::from_secs(60)
}

fn default_request_timeout() -> Duration {
    Duration::from_secs(10)
}

/// How the dispatcher delivers (`[dispatch]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DispatchConfig {
    /// Attempts before a delivery becomes an incident (a person retries it).
    pub max_attempts: u32,
    /// Wait before the second attempt; it doubles each time, with jitter, up to `max_retry`.
    pub first_retry: Duration,
    pub max_retry: Duration,
    /// How long a claimed delivery is ours. A process that dies holding it loses it after
    /// this; it must exceed the longest delivery (request timeout + completion wait).
    pub lease: Duration,
    /// Deliveries in flight at once, per process.
    pub concurrency: usize,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        Self {
            max_attempts: 5,
            first_retry: Duration::from_secs(2),
            max_retry: Duration::from_secs(300),
            lease: Duration::from_secs(120),
            concurrency: 8,
        }
    }
}

/// Why the adapter configuration is refused.
#[derive(Debug, thiserror::Error)]
pub enum AdapterConfigError {
    #[error("adapter `{id}`: {source}")]
    Adapter {
        id: String,
        source: sopflow_effects::AdapterError,
    },
    #[error("adapter `{id}`: give the webhook secret as `secret` or `secret_env`")]
    NoSecret { id: String },
    #[error("adapter `{id}`: the environment variable `{var}` is not set")]
    SecretEnv { id: String, var: String },
    #[error("adapter `{id}`: the webhook secret must be at least 16 bytes")]
    WeakSecret { id: String },
}

/// The implementation behind one adapter id.
#[derive(Clone)]
pub enum Adapter {
    Printer(Arc<dyn CardPrinter>),
    Consultation(Arc<dyn Consultation>),
    /// Done by hand through the API.
    Manual,
}

/// Every configured adapter, plus the defaults for ids the configuration does not name.
#[derive(Clone)]
pub struct Adapters {
    by_id: HashMap<String, Adapter>,
    /// Webhook secrets by adapter id: the callback endpoint checks the desk's signature.
    secrets: HashMap<String, Vec<u8>>,
    default_printer: Arc<FolderPrinter>,
}

impl std::fmt::Debug for Adapters {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secrets.
        f.debug_struct("Adapters")
            .field("configured", &self.by_id.keys().collect::<Vec<_>>())
            .field("default_printer", &self.default_printer.dir())
            .finish()
    }
}

impl Adapters {
    /// Builds the adapters of `configs`; unnamed card printers print into `prints`.
    pub fn from_config(
        configs: &BTreeMap<String, AdapterConfig>,
        prints: &Path,
    ) -> Result<Self, AdapterConfigError> {
        let mut by_id = HashMap::new();
        let mut secrets = HashMap::new();
        for (id, config) in configs {
            let wrap = |source| AdapterConfigError::Adapter {
                id: id.clone(),
                source,
            };
            let adapter = match config {
                AdapterConfig::Folder { path } => {
                    Adapter::Printer(Arc::new(FolderPrinter::new(path.clone())))
                }
                AdapterConfig::Ipp {
                    uri,
                    completion_wait,
                    request_timeout,
                } => Adapter::Printer(Arc::new(
                    IppPrinter::new(uri)
                        .map_err(wrap)?
                        .with_request_timeout(std_duration(*request_timeout))
                        .with_completion_wait(
                            std_duration(*completion_wait),
                            std::time::Duration::from_millis(500),
                        ),
                )),
                AdapterConfig::Webhook {
                    url,
                    secret,
                    secret_env,
                    request_timeout,
                } => {
                    let secret = match (secret, secret_env) {
                        (Some(s), _) => s.clone().into_bytes(),
                        (None, Some(var)) => std::env::var(var)
                            .map_err(|_| AdapterConfigError::SecretEnv {
                                id: id.clone(),
                                var: var.clone(),
                            })?
                            .into_bytes(),
                        (None, None) => {
                            return Err(AdapterConfigError::NoSecret { id: id.clone() });
                        }
                    };
                    if secret.len() < 16 {
                        return Err(AdapterConfigError::WeakSecret { id: id.clone() });
                    }
                    let desk = WebhookConsultation::new(
                        url,
                        secret.clone(),
                        std_duration(*request_timeout),
                    )
                    .map_err(wrap)?;
                    secrets.insert(id.clone(), secret);
                    Adapter::Consultation(Arc::new(desk))
                }
                AdapterConfig::Manual => Adapter::Manual,
            };
            by_id.insert(id.clone(), adapter);
        }
        Ok(Self {
            by_id,
            secrets,
            default_printer: Arc::new(FolderPrinter::new(prints)),
        })
    }

    /// Nothing configured: card printers print into `prints`, consultations are manual.
    pub fn defaults(prints: &Path) -> Self {
        Self {
            by_id: HashMap::new(),
            secrets: HashMap::new(),
            default_printer: Arc::new(FolderPrinter::new(prints)),
        }
    }

    /// The implementation serving `def`.
    pub fn resolve(&self, def: &AdapterDef) -> Adapter {
        if let Some(adapter) = self.by_id.get(&def.id) {
            return adapter.clone();
        }
        match def.kind {
            AdapterKind::CardPrinter => Adapter::Printer(self.default_printer.clone()),
            AdapterKind::Consultation => Adapter::Manual,
        }
    }

    /// Whether the adapter `def` is answered by hand (no implementation configured for it):
    /// then its service steps are completed by their actor, as a task is.
    pub fn is_manual(&self, def: &AdapterDef) -> bool {
        matches!(self.resolve(def), Adapter::Manual)
    }

    /// The shared secret a callback for `adapter` must be signed with, if it has one.
    pub fn callback_secret(&self, adapter: &str) -> Option<&[u8]> {
        self.secrets.get(adapter).map(Vec::as_slice)
    }
}

pub(crate) fn std_duration(d: Duration) -> std::time::Duration {
    std::time::Duration::from_secs(d.as_secs())
}
