//! The calendars of the service points, and the calendars cases are pinned to.
//!
//! A service point names its calendar by id: a file `<id>.toml` of the calendars folder
//! (`calendars = "..."` in the configuration), which may include others (an office's file
//! includes the national calendar of the year). The folder is read when the service starts;
//! a changed file takes effect at the next start, for new cases only. A case opening gets its
//! service point's calendar, and the runtime keeps that calendar's canonical text in the
//! store under its content hash in the case's transaction; every later command of the case
//! gets the pinned calendar back by that hash (from memory, else from the store), so an edit
//! of the file never changes a case's due times.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, RwLock};

use sopflow_calendar::{Calendar, Library, LoadError};
use sopflow_engine::case::{CalendarPin, CaseCalendar};
use sopflow_store::Store;
use time::Weekday;

/// Why a calendar cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum CalendarsError {
    #[error("cannot read the calendars folder {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("no calendar `{0}`: the calendars folder has no file `{0}.toml` (calendars: {1})")]
    Unknown(String, String),
    #[error("{0}")]
    Load(#[from] LoadError),
    #[error(
        "calendar `{0}` has no opening hours in its week: a service point's calendar needs them (days off and open days are dated entries)"
    )]
    NoWeek(String),
    /// The calendar a case is pinned to is not stored, or its stored text is not it.
    #[error("{0}")]
    Pinned(String),
    #[error("store: {0}")]
    Store(#[from] sopflow_store::Error),
}

/// Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct Calendars {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// The texts of the folder, by id (file stem).
    library: Library,
    /// Loaded by id (the service points' calendars), once.
    by_id: RwLock<BTreeMap<String, Arc<Calendar>>>,
    /// Every calendar this process has used, by content hash.
    by_hash: RwLock<HashMap<String, Arc<Calendar>>>,
}

impl Calendars {
    /// The calendar files (`*.toml`) of `dir`; none when it does not exist.
    pub fn from_dir(dir: &Path) -> Result<Self, CalendarsError> {
        let mut library = Library::new();
        if !dir.is_dir() {
            tracing::warn!(dir = %dir.display(), "no calendars folder: service points without a calendar are always open");
            return Ok(Self::with_library(library));
        }
        let read = |source| CalendarsError::Read {
            path: dir.display().to_string(),
            source,
        };
        let mut paths: Vec<_> = std::fs::read_dir(dir)
            .map_err(read)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
            .collect();
        paths.sort();
        for path in paths {
            let Some(id) = path.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            let text = std::fs::read_to_string(&path).map_err(read)?;
            library.insert(id, path.display().to_string(), text);
        }
        Ok(Self::with_library(library))
    }

    /// Calendars from texts already read (tests, tools).
    pub fn with_library(library: Library) -> Self {
        Self {
            inner: Arc::new(Inner {
                library,
                ..Inner::default()
            }),
        }
    }

    /// The calendar `id`, loaded (once) and checked as a service point's calendar.
    pub fn by_id(&self, id: &str) -> Result<Arc<Calendar>, CalendarsError> {
        if let Some(found) = read(&self.inner.by_id).get(id) {
            return Ok(found.clone());
        }
        if !self.inner.library.ids().any(|known| known == id) {
            let known: Vec<&str> = self.inner.library.ids().collect();
            return Err(CalendarsError::Unknown(
                id.to_owned(),
                if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                },
            ));
        }
        let calendar = self.inner.library.load(id)?;
        let week = [
            Weekday::Monday,
            Weekday::Tuesday,
            Weekday::Wednesday,
            Weekday::Thursday,
            Weekday::Friday,
            Weekday::Saturday,
            Weekday::Sunday,
        ];
        // Past its last dated entry only the week counts: without hours there, a budget
        // would have no due time.
        if week.iter().all(|d| calendar.weekday_hours(*d).is_closed()) {
            return Err(CalendarsError::NoWeek(id.to_owned()));
        }
        let calendar = Arc::new(calendar);
        write(&self.inner.by_hash).insert(calendar.content_hash().to_owned(), calendar.clone());
        write(&self.inner.by_id).insert(id.to_owned(), calendar.clone());
        Ok(calendar)
    }

    /// What a case opened at a service point with `calendar` runs on: that calendar, pinned,
    /// or always open for a service point without one.
    pub fn for_new_case(&self, calendar: Option<&str>) -> Result<CaseCalendar, CalendarsError> {
        match calendar {
            None => Ok(CaseCalendar::always_open()),
            Some(id) => Ok(CaseCalendar::pinned(id, self.by_id(id)?)),
        }
    }

    /// The calendar a case is pinned to (none: always open), by its hash: from memory, else
    /// from the store, checked against the hash.
    pub async fn pinned(
        &self,
        store: &Store,
        pin: Option<&CalendarPin>,
    ) -> Result<CaseCalendar, CalendarsError> {
        let Some(pin) = pin else {
            return Ok(CaseCalendar::always_open());
        };
        if let Some(found) = read(&self.inner.by_hash).get(&pin.hash) {
            return Ok(CaseCalendar::pinned(pin.id.clone(), found.clone()));
        }
        let stored = store.calendar(&pin.hash).await?.ok_or_else(|| {
            CalendarsError::Pinned(format!(
                "the case is pinned to calendar {pin}, which is not stored"
            ))
        })?;
        let calendar =
            CaseCalendar::from_canonical(pin, &stored.canonical).map_err(CalendarsError::Pinned)?;
        write(&self.inner.by_hash).insert(pin.hash.clone(), calendar.shared().clone());
        Ok(calendar)
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}
