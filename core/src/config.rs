//! The service's configuration file (`sopflow serve --config FILE`, TOML).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sopflow_engine::sop::Duration;
use time::UtcOffset;

use crate::adapters::{AdapterConfig, DispatchConfig};
use crate::offices::ServicePointConfig;

/// The configuration file (`--config FILE`, TOML). Command-line flags override it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// `sqlite://PATH` (default `sqlite://./sopflow.db`) or `postgres://…`.
    pub database: String,
    /// Directory of SOP YAML files, watched for changes.
    pub definitions: PathBuf,
    /// Directory of calendar files (`<id>.toml`), the ones service points name by id; read
    /// at start.
    pub calendars: PathBuf,
    /// The office's time zone (queue numbers restart each local day): an Indonesian zone
    /// name (`Asia/Jakarta`, `Asia/Makassar`, `Asia/Jayapura`...), `UTC`, or `+07:00`.
    pub timezone: String,
    /// Where card printers the configuration does not name print (one PDF per card).
    pub prints: PathBuf,
    /// How adapters reach this service (the consultation desk's callback goes to
    /// `{public_url}/callbacks/{adapter}`); default `http://{listen}`.
    pub public_url: Option<String>,
    /// Adapter implementations by the adapter ids SOPs use.
    pub adapters: BTreeMap<String, AdapterConfig>,
    /// Delivery of adapter requests: attempts, backoff, lease.
    pub dispatch: DispatchConfig,
    /// Failed authentications one client address may make at once, then per minute, before
    /// it is refused for a while (429).
    pub auth_failure_burst: u32,
    pub auth_failures_per_minute: u32,
    /// Signed checkpoints of the transparency log (`[log]`).
    pub log: LogConfig,
    /// How long personal data is kept (`[retention]`).
    pub retention: RetentionConfig,
    /// A browser session unused this long ends (the officer logs in again).
    pub session_idle: Duration,
    /// The service points this deployment serves from (`[[service_points]]`); none: one
    /// default service point, `kantor`, in `timezone`. Others may be added through the API.
    pub service_points: Vec<ServicePointConfig>,
    /// Calls from counters: how many no-shows cancel a case.
    pub counters: CounterConfig,
}

/// The transparency log's checkpoints (`[log]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// The signing key's file (`sopflow audit keygen`), readable by the service's user only.
    /// Without one the service signs no checkpoint (and says so at start).
    pub key: Option<PathBuf>,
    /// How often a checkpoint is signed, when the log has grown since the last.
    pub checkpoint_every: Duration,
    /// Each signed checkpoint is also written here, one file each: a place the database's
    /// writers cannot write (another machine's share, write-once storage).
    pub export_dir: Option<PathBuf>,
    /// And sent here (an HTTP POST of the note as `text/plain`), e.g. a witness service.
    pub export_url: Option<String>,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self {
            key: None,
            checkpoint_every: Duration::from_secs(300),
            export_dir: None,
            export_url: None,
        }
    }
}

/// How long personal data is kept (`[retention]`, UU 27/2022).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Erase the personal data of cases closed at least this many days ago; unset: kept.
    pub erase_closed_after_days: Option<u32>,
    /// How often the service looks for such cases.
    pub every: Duration,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        Self {
            erase_closed_after_days: None,
            every: Duration::from_secs(3600),
        }
    }
}

/// `[counters]`: calling from counters.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CounterConfig {
    /// After this many no-shows in a row the case is cancelled (with the reason in its
    /// history) instead of going back to the end of its queue; 0: never cancelled.
    pub no_shows_before_cancel: u32,
}

impl Default for CounterConfig {
    fn default() -> Self {
        Self {
            no_shows_before_cancel: 3,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database: "sqlite://./sopflow.db".to_owned(),
            definitions: PathBuf::from("./sop-definitions"),
            calendars: PathBuf::from("./calendars"),
            timezone: "Asia/Jakarta".to_owned(),
            prints: PathBuf::from("./sopflow-prints"),
            public_url: None,
            adapters: BTreeMap::new(),
            dispatch: DispatchConfig::default(),
            auth_failure_burst: 20,
            auth_failures_per_minute: 10,
            log: LogConfig::default(),
            retention: RetentionConfig::default(),
            session_idle: Duration::from_secs(30 * 60),
            service_points: Vec::new(),
            counters: CounterConfig::default(),
        }
    }
}

/// Why the configuration is refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Parse {
        path: String,
        source: Box<toml::de::Error>,
    },
    #[error(
        "unknown time zone {0:?}: use an Indonesian zone (Asia/Jakarta, Asia/Makassar, Asia/Jayapura), UTC, or an offset like +07:00"
    )]
    TimeZone(String),
}

impl Config {
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        toml::from_str(&text).map_err(|source| ConfigError::Parse {
            path: path.display().to_string(),
            source: Box::new(source),
        })
    }

    /// The office's UTC offset. Indonesia keeps no daylight saving, so a zone is one offset.
    pub fn utc_offset(&self) -> Result<UtcOffset, ConfigError> {
        utc_offset_of(&self.timezone)
    }
}

/// The UTC offset of a zone as configured: an Indonesian zone name (`Asia/Jakarta`, `WIB`,
/// `Asia/Makassar`, `WITA`, `Asia/Jayapura`, `WIT`...), `UTC`, or an offset like `+07:00`.
pub fn utc_offset_of(zone: &str) -> Result<UtcOffset, ConfigError> {
    sopflow_calendar::utc_offset_of(zone).ok_or_else(|| ConfigError::TimeZone(zone.to_owned()))
}
