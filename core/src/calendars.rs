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

use sopflow_calendar::{Calendar, Library, LoadError, Span};
use sopflow_engine::case::{CalendarPin, CaseCalendar};
use sopflow_store::Store;
use time::{OffsetDateTime, PrimitiveDateTime, Weekday};

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

/// A calendar of the folder as an administrator reads it.
#[derive(Debug, Clone)]
pub struct CalendarOverview {
    pub id: String,
    /// The file it was read from.
    pub file: String,
    /// The calendars it includes, directly or not, in the order they apply.
    pub includes: Vec<String>,
    /// With its includes applied, or why it does not load.
    pub calendar: Result<Arc<Calendar>, String>,
    /// Whether a service point may keep it ([`Calendars::by_id`] takes it); else why not.
    pub for_service_points: Result<(), String>,
}

/// What a calendar says of one moment: open or not, and when it opens next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenCheck {
    /// The moment asked, at the calendar's zone.
    pub at: OffsetDateTime,
    pub open: bool,
    /// The first open moment at or after `at` (`None`: it never opens again).
    pub next_open: Option<OffsetDateTime>,
}

impl Calendars {
    /// Every calendar of the folder, by id.
    pub fn overview(&self) -> Vec<CalendarOverview> {
        let library = &self.inner.library;
        library
            .ids()
            .map(|id| CalendarOverview {
                id: id.to_owned(),
                file: library.file(id).unwrap_or_default().to_owned(),
                includes: library.includes(id),
                calendar: self.loaded(id).map_err(|e| e.to_string()),
                for_service_points: self.by_id(id).map(|_| ()).map_err(|e| e.to_string()),
            })
            .collect()
    }

    /// The ids of the folder's calendars.
    pub fn ids(&self) -> Vec<String> {
        self.inner.library.ids().map(str::to_owned).collect()
    }

    /// The calendar `id` as the engine runs on it: the one new cases get when a service
    /// point may keep it, else loaded on its own (an included national calendar).
    fn loaded(&self, id: &str) -> Result<Arc<Calendar>, CalendarsError> {
        match self.by_id(id) {
            Ok(calendar) => Ok(calendar),
            Err(CalendarsError::NoWeek(_)) => Ok(Arc::new(self.inner.library.load(id)?)),
            Err(e) => Err(e),
        }
    }

    /// Whether calendar `id` is open at the local date and time `local` (of its zone), and
    /// its next opening: [`Calendar::is_open`] and [`Calendar::next_open`], as the engine's
    /// working-time budgets count.
    pub fn open_at(&self, id: &str, local: PrimitiveDateTime) -> Result<OpenCheck, CalendarsError> {
        let calendar = self.loaded(id)?;
        let at = local.assume_offset(calendar.zone().offset());
        Ok(OpenCheck {
            at,
            open: calendar.is_open(at),
            next_open: calendar.next_open(at).ok(),
        })
    }

    /// When `n` working days (`hari kerja`) from the local date and time `local` are over
    /// on calendar `id`: [`Calendar::due`] with [`Span::WorkingDays`], as a step budget of
    /// `n hari kerja` is due.
    pub fn working_days_from(
        &self,
        id: &str,
        local: PrimitiveDateTime,
        n: u32,
    ) -> Result<OffsetDateTime, CalendarsError> {
        let calendar = self.loaded(id)?;
        let at = local.assume_offset(calendar.zone().offset());
        calendar
            .due(at, Span::WorkingDays(n))
            .map_err(|e| CalendarsError::Pinned(e.to_string()))
    }
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|p| p.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn calendars() -> Calendars {
        let mut library = Library::new();
        library.insert(
            "nasional",
            "nasional.toml",
            "[[closed]]\ndate = 2026-08-17\nkind = \"libur_nasional\"\nname = \"HUT RI\"\n",
        );
        library.insert(
            "kantor",
            "kantor.toml",
            "zone = \"WITA\"\ninclude = [\"nasional\"]\n[hours]\nmonday-friday = [\"08:00-16:00\"]\n",
        );
        Calendars::with_library(library)
    }

    #[test]
    fn the_overview_lists_files_includes_and_who_may_keep_them() {
        let all = calendars().overview();
        let ids: Vec<&str> = all.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["kantor", "nasional"]);
        assert_eq!(all[0].includes, ["nasional"]);
        assert_eq!(all[0].file, "kantor.toml");
        assert!(all[0].for_service_points.is_ok());
        // The national file has no zone or hours of its own: it is only included.
        let why = all[1].calendar.clone().unwrap_err();
        assert!(why.contains("zone"), "{why}");
        assert!(all[1].for_service_points.is_err());
    }

    #[test]
    fn checks_run_on_the_calendar_in_its_zone() {
        let c = calendars();
        // Monday 17 August 2026 is a holiday: closed, next open on Tuesday at 08:00 WITA.
        let check = c.open_at("kantor", datetime!(2026-08-17 10:00)).unwrap();
        assert!(!check.open);
        assert_eq!(check.at, datetime!(2026-08-17 10:00 +08:00));
        assert_eq!(check.next_open, Some(datetime!(2026-08-18 08:00 +08:00)));
        assert!(
            c.open_at("kantor", datetime!(2026-08-18 10:00))
                .unwrap()
                .open
        );
        // 1 working day from Friday 14 August 10:00: Tuesday 18 August 10:00 (not Monday).
        assert_eq!(
            c.working_days_from("kantor", datetime!(2026-08-14 10:00), 1)
                .unwrap(),
            datetime!(2026-08-18 10:00 +08:00)
        );
        // The national calendar alone does not load (no zone, no hours).
        assert!(
            c.working_days_from("nasional", datetime!(2026-08-14 10:00), 1)
                .is_err()
        );
        assert!(matches!(
            c.open_at("tidak-ada", datetime!(2026-08-14 10:00)),
            Err(CalendarsError::Unknown(..))
        ));
    }
}
