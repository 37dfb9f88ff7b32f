//! Service points: the places a deployment serves from (the main office, kecamatan offices, a
//! desk at the Mal Pelayanan Publik), each with its time zone, calendar and counters.
//!
//! They are configured in the configuration file (`[[service_points]]`, written to the store
//! at each start: the file keeps those) and by an admin through the API (kept in the store).
//! A deployment that configures none has one, [`DEFAULT_POINT`], so that an office with one
//! desk needs no configuration. One service point is the default: where cases opened before
//! there were service points belong, and where a user made without one works.
//!
//! What a process knows is cached and read again from the store when an id is not known or
//! the cache is older than [`Offices::TTL`], so that a service point another process added
//! is found.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use serde::Deserialize;
use sopflow_store::{Counter, PointSource, ServicePoint as StoredPoint, Store};
use time::{Date, OffsetDateTime, UtcOffset};

use crate::calendars::Calendars;
use crate::config::utc_offset_of;
use crate::runtime::Runtime;

/// The id of the service point of a deployment that configures none.
pub const DEFAULT_POINT: &str = "kantor";

/// `[[service_points]]` in the configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServicePointConfig {
    /// Stable ASCII id (`kantor_dinas`, `kec_sungai_aur`, `mpp`): lower-case letters, digits,
    /// `_` and `-`.
    pub id: String,
    pub name: String,
    /// Default: the configuration's `timezone`.
    #[serde(default)]
    pub timezone: Option<String>,
    /// The calendar it keeps (working days, hours, holidays), by the name of its file.
    #[serde(default)]
    pub calendar: Option<String>,
    /// Its counters, in the order the display board lists them: names (`"Loket 1"`, whose id
    /// is then `loket_1`) or tables `{ id = "...", name = "..." }`.
    #[serde(default)]
    pub counters: Vec<CounterConfig>,
    /// The default service point (else the first listed).
    #[serde(default)]
    pub default: bool,
}

/// A counter as configured: its name alone, or its id and name.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum CounterConfig {
    Name(String),
    Full { id: String, name: String },
}

impl CounterConfig {
    /// The counter: a name alone gets its id from the name (see [`id_from_name`]).
    pub fn counter(&self) -> Counter {
        match self {
            CounterConfig::Name(name) => Counter {
                id: id_from_name(name),
                name: name.clone(),
            },
            CounterConfig::Full { id, name } => Counter {
                id: id.clone(),
                name: name.clone(),
            },
        }
    }
}

/// `Loket 1` → `loket_1`: lower-case ASCII letters and digits, other runs as one `_`.
pub fn id_from_name(name: &str) -> String {
    let mut id = String::with_capacity(name.len());
    for c in name.trim().chars() {
        if c.is_ascii_alphanumeric() {
            id.push(c.to_ascii_lowercase());
        } else if !id.ends_with('_') && !id.is_empty() {
            id.push('_');
        }
    }
    id.trim_end_matches('_').to_owned()
}

/// Whether `id` is a stable ASCII id: 1 to 64 of `a-z`, `0-9`, `_`, `-`.
pub fn is_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// A service point as the core uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServicePoint {
    pub id: String,
    pub name: String,
    /// As configured (`Asia/Jakarta`, `WITA`...).
    pub timezone: String,
    pub utc_offset: UtcOffset,
    pub calendar: Option<String>,
    pub counters: Vec<Counter>,
    pub source: PointSource,
}

impl ServicePoint {
    pub fn counter(&self, id: &str) -> Option<&Counter> {
        self.counters.iter().find(|c| c.id == id)
    }

    /// The local day at `at`: queue numbers restart each local day.
    pub fn local_day(&self, at: OffsetDateTime) -> Date {
        at.to_offset(self.utc_offset).date()
    }

    /// The local midnight that began the day of `at`.
    pub fn day_start(&self, at: OffsetDateTime) -> OffsetDateTime {
        self.local_day(at).midnight().assume_offset(self.utc_offset)
    }

    fn from_stored(p: StoredPoint) -> Result<Self, OfficeError> {
        let utc_offset = utc_offset_of(&p.timezone).map_err(|_| OfficeError::Invalid {
            id: p.id.clone(),
            field: "timezone",
            reason: format!("unknown time zone {:?}", p.timezone),
        })?;
        Ok(Self {
            id: p.id,
            name: p.name,
            timezone: p.timezone,
            utc_offset,
            calendar: p.calendar,
            counters: p.counters,
            source: p.source,
        })
    }
}

/// What an admin gives to create or change a service point through the API.
#[derive(Debug, Clone)]
pub struct NewServicePoint {
    pub id: String,
    pub name: String,
    pub timezone: String,
    pub calendar: Option<String>,
    pub counters: Vec<Counter>,
}

/// Why a service point is refused.
#[derive(Debug, thiserror::Error)]
pub enum OfficeError {
    /// `field` is the one refused: `id`, `name`, `timezone`, `calendar` or `counters`.
    #[error("service point `{id}`: {reason}")]
    Invalid {
        id: String,
        field: &'static str,
        reason: String,
    },
    /// The configuration file keeps it: change it there.
    #[error(
        "service point `{0}` is kept by the configuration file: change it there (it is written again at each start)"
    )]
    KeptByConfig(String),
    #[error("store: {0}")]
    Store(#[from] sopflow_store::Error),
}

#[derive(Debug)]
struct Known {
    points: BTreeMap<String, Arc<ServicePoint>>,
    read_at: Instant,
}

/// The service points a process knows. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Offices {
    known: Arc<RwLock<Known>>,
    default: Arc<str>,
    /// The configuration's time zone: that of a service point that names none.
    timezone: Arc<str>,
}

impl Offices {
    /// How long the cache is trusted before the store is read again.
    pub const TTL: Duration = Duration::from_secs(30);

    /// Writes the configured service points to the store (or, when none is configured and
    /// the store has none, the default one in `timezone`), assigns the cases from before
    /// service points to the default one, and reads them all.
    pub async fn start(
        store: &Store,
        configured: &[ServicePointConfig],
        timezone: &str,
        now: OffsetDateTime,
    ) -> Result<Offices, OfficeError> {
        if let Some(second) = configured.iter().filter(|c| c.default).nth(1) {
            return Err(invalid(
                &second.id,
                "id",
                "only one service point may be the default",
            ));
        }
        let mut ids = std::collections::BTreeSet::new();
        for c in configured {
            let counters: Vec<Counter> = c.counters.iter().map(CounterConfig::counter).collect();
            let point = checked(
                &c.id,
                &c.name,
                c.timezone.as_deref().unwrap_or(timezone),
                c.calendar.clone(),
                counters,
                PointSource::Config,
                now,
            )?;
            if !ids.insert(c.id.clone()) {
                return Err(invalid(&c.id, "id", "configured twice"));
            }
            store.put_service_point(&point).await?;
        }
        let mut stored = store.service_points().await?;
        // One the file no longer lists stays (cases refer to it) and passes to the API.
        for p in &mut stored {
            if p.source == PointSource::Config && !ids.contains(&p.id) {
                p.source = PointSource::Api;
                p.updated_at = now;
                store.put_service_point(p).await?;
            }
        }
        if stored.is_empty() {
            let point = checked(
                DEFAULT_POINT,
                "Kantor",
                timezone,
                None,
                Vec::new(),
                // An admin may give it counters through the API.
                PointSource::Api,
                now,
            )?;
            store.put_service_point(&point).await?;
            stored.push(point);
        }
        let default = configured
            .iter()
            .find(|c| c.default)
            .or(configured.first())
            .map(|c| c.id.clone())
            .or_else(|| {
                stored
                    .iter()
                    .find(|p| p.id == DEFAULT_POINT)
                    .or(stored.first())
                    .map(|p| p.id.clone())
            })
            .unwrap_or_else(|| DEFAULT_POINT.to_owned());
        let assigned = store.assign_service_point(&default).await?;
        if assigned > 0 {
            tracing::info!(
                cases = assigned,
                service_point = %default,
                "cases from before service points assigned to the default one"
            );
        }
        let offices = Offices {
            known: Arc::new(RwLock::new(Known {
                points: BTreeMap::new(),
                read_at: Instant::now(),
            })),
            default: default.into(),
            timezone: timezone.into(),
        };
        offices.fill(stored);
        Ok(offices)
    }

    /// The default service point's id.
    pub fn default_id(&self) -> &str {
        &self.default
    }

    /// The time zone of a service point that names none (the configuration's).
    pub fn default_timezone(&self) -> &str {
        &self.timezone
    }

    fn fill(&self, stored: Vec<StoredPoint>) {
        let mut points = BTreeMap::new();
        for p in stored {
            match ServicePoint::from_stored(p) {
                Ok(p) => {
                    points.insert(p.id.clone(), Arc::new(p));
                }
                // Written by this code, so never expected: skipped, said loudly.
                Err(e) => tracing::error!(error = %e, "a stored service point is unusable"),
            }
        }
        let mut known = self.known.write().unwrap_or_else(|p| p.into_inner());
        known.points = points;
        known.read_at = Instant::now();
    }

    /// Reads every service point from the store again.
    pub async fn refresh(&self, store: &Store) -> Result<(), OfficeError> {
        self.fill(store.service_points().await?);
        Ok(())
    }

    fn cached(&self, id: &str) -> (Option<Arc<ServicePoint>>, bool) {
        let known = self.known.read().unwrap_or_else(|p| p.into_inner());
        (
            known.points.get(id).cloned(),
            known.read_at.elapsed() < Self::TTL,
        )
    }

    /// The service point `id`, from the cache, else from the store.
    pub async fn get(
        &self,
        store: &Store,
        id: &str,
    ) -> Result<Option<Arc<ServicePoint>>, OfficeError> {
        match self.cached(id) {
            (Some(p), true) => Ok(Some(p)),
            _ => {
                self.refresh(store).await?;
                Ok(self.cached(id).0)
            }
        }
    }

    /// Every service point, by id.
    pub async fn all(&self, store: &Store) -> Result<Vec<Arc<ServicePoint>>, OfficeError> {
        let fresh = {
            let known = self.known.read().unwrap_or_else(|p| p.into_inner());
            known.read_at.elapsed() < Self::TTL
        };
        if !fresh {
            self.refresh(store).await?;
        }
        let known = self.known.read().unwrap_or_else(|p| p.into_inner());
        Ok(known.points.values().cloned().collect())
    }

    /// Creates or changes a service point for an admin; refused for one the configuration
    /// file keeps, and for a calendar `calendars` cannot load as a service point's. Returns
    /// it and whether it is new. The faces call [`put_point`].
    pub async fn put(
        &self,
        store: &Store,
        calendars: &Calendars,
        point: NewServicePoint,
        now: OffsetDateTime,
    ) -> Result<(Arc<ServicePoint>, bool), OfficeError> {
        let existing = store.service_point(&point.id).await?;
        if existing
            .as_ref()
            .is_some_and(|p| p.source == PointSource::Config)
        {
            return Err(OfficeError::KeptByConfig(point.id));
        }
        let mut stored = checked(
            &point.id,
            &point.name,
            &point.timezone,
            point.calendar,
            point.counters,
            PointSource::Api,
            now,
        )?;
        // Checked now, not at the first case opened there: a case cannot open on a calendar
        // that does not load.
        if let Some(calendar) = &stored.calendar {
            calendars
                .by_id(calendar)
                .map_err(|e| invalid(&stored.id, "calendar", &e.to_string()))?;
        }
        if let Some(existing) = &existing {
            stored.created_at = existing.created_at;
        }
        store.put_service_point(&stored).await?;
        self.refresh(store).await?;
        let created = existing.is_none();
        let point = ServicePoint::from_stored(stored)?;
        Ok((Arc::new(point), created))
    }
}

/// What an admin asks for a service point, through `PUT /service-points/{id}` or the admin
/// page: the same request, the same rules.
#[derive(Debug, Clone)]
pub struct PointChange {
    pub id: String,
    pub name: String,
    /// `None` (or empty): the deployment's time zone.
    pub timezone: Option<String>,
    /// `None` (or empty): no calendar, always open.
    pub calendar: Option<String>,
    pub counters: Vec<CounterConfig>,
}

/// Creates or changes a service point for an admin: the one path of every face (the REST
/// API's `PUT /service-points/{id}`, the admin page). Refusals name the field
/// ([`OfficeError::Invalid`]); one the configuration file keeps is [`OfficeError::KeptByConfig`].
pub async fn put_point(
    runtime: &Runtime,
    change: PointChange,
    now: OffsetDateTime,
) -> Result<(Arc<ServicePoint>, bool), OfficeError> {
    let given = |v: Option<String>| v.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    let point = NewServicePoint {
        id: change.id,
        name: change.name,
        timezone: given(change.timezone)
            .unwrap_or_else(|| runtime.offices.default_timezone().to_owned()),
        calendar: given(change.calendar),
        counters: change.counters.iter().map(CounterConfig::counter).collect(),
    };
    runtime
        .offices
        .put(&runtime.store, &runtime.calendars, point, now)
        .await
}

impl CounterConfig {
    /// One line of a counters list as an admin types it: `Loket 1` (its id from the name) or
    /// `id = Name` when the text before the first `=` is an id. Blank lines are none.
    pub fn from_line(line: &str) -> Option<CounterConfig> {
        let line = line.trim();
        if line.is_empty() {
            return None;
        }
        if let Some((id, name)) = line.split_once('=')
            && is_id(id.trim())
        {
            return Some(CounterConfig::Full {
                id: id.trim().to_owned(),
                name: name.trim().to_owned(),
            });
        }
        Some(CounterConfig::Name(line.to_owned()))
    }

    /// The counters of a list typed one per line (see [`CounterConfig::from_line`]).
    pub fn from_lines(text: &str) -> Vec<CounterConfig> {
        text.lines().filter_map(CounterConfig::from_line).collect()
    }
}

fn invalid(id: &str, field: &'static str, reason: &str) -> OfficeError {
    OfficeError::Invalid {
        id: id.to_owned(),
        field,
        reason: reason.to_owned(),
    }
}

/// A service point to store, after checking its id, name, zone and counters.
fn checked(
    id: &str,
    name: &str,
    timezone: &str,
    calendar: Option<String>,
    counters: Vec<Counter>,
    source: PointSource,
    now: OffsetDateTime,
) -> Result<StoredPoint, OfficeError> {
    if !is_id(id) {
        return Err(invalid(
            id,
            "id",
            "an id is 1 to 64 of a-z, 0-9, `_` and `-` (e.g. kec_sungai_aur)",
        ));
    }
    if name.trim().is_empty() {
        return Err(invalid(id, "name", "it needs a name"));
    }
    if utc_offset_of(timezone).is_err() {
        return Err(invalid(
            id,
            "timezone",
            &format!(
                "unknown time zone {timezone:?}: use Asia/Jakarta (WIB), Asia/Makassar (WITA), Asia/Jayapura (WIT), UTC or an offset like +07:00"
            ),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for c in &counters {
        if !is_id(&c.id) {
            return Err(invalid(
                id,
                "counters",
                &format!(
                    "counter {:?} has no usable id: give it one of a-z, 0-9, `_` and `-`",
                    c.name
                ),
            ));
        }
        if c.name.trim().is_empty() {
            return Err(invalid(
                id,
                "counters",
                &format!("counter `{}` needs a name", c.id),
            ));
        }
        if !seen.insert(c.id.clone()) {
            return Err(invalid(
                id,
                "counters",
                &format!("counter `{}` is listed twice", c.id),
            ));
        }
    }
    Ok(StoredPoint {
        id: id.to_owned(),
        name: name.trim().to_owned(),
        timezone: timezone.to_owned(),
        calendar,
        counters,
        source,
        created_at: now,
        updated_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counter_ids_come_from_their_names() {
        assert_eq!(id_from_name("Loket 1"), "loket_1");
        assert_eq!(
            id_from_name("  Loket  Foto & Sidik Jari "),
            "loket_foto_sidik_jari"
        );
        assert_eq!(id_from_name("Ruang Pelayanan (2)"), "ruang_pelayanan_2");
        assert_eq!(id_from_name("—"), "");
        assert!(is_id("kec_sungai_aur") && is_id("mpp-1"));
        assert!(!is_id("") && !is_id("Loket 1") && !is_id(&"x".repeat(65)));
    }

    #[test]
    fn a_service_point_is_checked_before_it_is_kept() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let c = |id: &str, name: &str| Counter {
            id: id.into(),
            name: name.into(),
        };
        let ok = checked(
            "mpp",
            "MPP",
            "WITA",
            None,
            vec![c("l1", "Loket 1")],
            PointSource::Api,
            now,
        );
        assert!(ok.is_ok());
        let refusals = [
            checked("MPP", "MPP", "WIB", None, vec![], PointSource::Api, now),
            checked("mpp", " ", "WIB", None, vec![], PointSource::Api, now),
            checked(
                "mpp",
                "MPP",
                "Europe/Paris",
                None,
                vec![],
                PointSource::Api,
                now,
            ),
            checked(
                "mpp",
                "MPP",
                "WIB",
                None,
                vec![c("", "—")],
                PointSource::Api,
                now,
            ),
            checked(
                "mpp",
                "MPP",
                "WIB",
                None,
                vec![c("l1", "Loket 1"), c("l1", "Loket 1 lagi")],
                PointSource::Api,
                now,
            ),
        ];
        for (i, r) in refusals.iter().enumerate() {
            assert!(matches!(r, Err(OfficeError::Invalid { .. })), "{i}: {r:?}");
        }
    }

    #[test]
    fn counters_are_typed_one_per_line() {
        let typed = "Loket 1\n\n  loket_foto = Loket Foto & Sidik Jari \nRuang = Tunggu\n";
        let counters: Vec<Counter> = CounterConfig::from_lines(typed)
            .iter()
            .map(CounterConfig::counter)
            .collect();
        let pairs: Vec<(&str, &str)> = counters
            .iter()
            .map(|c| (c.id.as_str(), c.name.as_str()))
            .collect();
        // `Ruang` is not an id (upper case): the whole line is the name.
        assert_eq!(
            pairs,
            [
                ("loket_1", "Loket 1"),
                ("loket_foto", "Loket Foto & Sidik Jari"),
                ("ruang_tunggu", "Ruang = Tunggu"),
            ]
        );
    }

    #[test]
    fn refusals_name_their_field() {
        let now = OffsetDateTime::UNIX_EPOCH;
        let c = |id: &str| Counter {
            id: id.into(),
            name: "L".into(),
        };
        let field = |r: Result<StoredPoint, OfficeError>| match r {
            Err(OfficeError::Invalid { field, .. }) => field,
            other => panic!("not refused: {other:?}"),
        };
        let api = PointSource::Api;
        assert_eq!(
            field(checked("A", "x", "WIB", None, vec![], api, now)),
            "id"
        );
        assert_eq!(
            field(checked("a", "", "WIB", None, vec![], api, now)),
            "name"
        );
        assert_eq!(
            field(checked("a", "x", "Mars", None, vec![], api, now)),
            "timezone"
        );
        assert_eq!(
            field(checked(
                "a",
                "x",
                "WIB",
                None,
                vec![c("l"), c("l")],
                api,
                now
            )),
            "counters"
        );
    }

    #[test]
    fn a_local_day_starts_at_local_midnight() {
        let point = ServicePoint {
            id: "mpp".into(),
            name: "MPP".into(),
            timezone: "WITA".into(),
            utc_offset: UtcOffset::from_hms(8, 0, 0).expect("an offset"),
            calendar: None,
            counters: vec![],
            source: PointSource::Api,
        };
        // 17:30 UTC on 2 March is 01:30 on 3 March in WITA.
        let at = time::macros::datetime!(2026-03-02 17:30 UTC);
        assert_eq!(point.local_day(at), time::macros::date!(2026 - 03 - 03));
        assert_eq!(
            point.day_start(at),
            time::macros::datetime!(2026-03-02 16:00 UTC)
        );
    }
}
