//! The calendar a case runs under, as the runtime hands it to the engine.
//!
//! The engine never reads a calendar file: the runtime gives each command the calendar of
//! the case (the service point's when the case opens, the pinned one by hash afterwards) in
//! its [`Context`](super::Context), and `decide` records the pin in `case_started`. Every
//! due time is computed on it; replay recomputes them on the pinned content.

use std::sync::{Arc, LazyLock};

use sopflow_calendar::{Calendar, CalendarError};
use time::OffsetDateTime;

use super::event::CalendarPin;
use crate::sop::BudgetRule;

/// A calendar with its pin, or the always-open calendar of a case that has none.
#[derive(Debug, Clone)]
pub struct CaseCalendar {
    pin: Option<CalendarPin>,
    calendar: Arc<Calendar>,
}

static ALWAYS_OPEN: LazyLock<Arc<Calendar>> = LazyLock::new(|| Arc::new(Calendar::always_open()));

impl CaseCalendar {
    /// Open every second: budgets as they were before calendars (a history without a pin).
    pub fn always_open() -> Self {
        Self {
            pin: None,
            calendar: ALWAYS_OPEN.clone(),
        }
    }

    /// `calendar`, configured as `id`, pinned by its content hash.
    pub fn pinned(id: impl Into<String>, calendar: Arc<Calendar>) -> Self {
        Self {
            pin: Some(CalendarPin {
                id: id.into(),
                hash: calendar.content_hash().to_owned(),
            }),
            calendar,
        }
    }

    /// The calendar `pin` names, from the canonical text a store kept for it: refused when
    /// the text does not load or does not hash to the pin (the store's copy was changed).
    pub fn from_canonical(pin: &CalendarPin, canonical: &str) -> Result<Self, String> {
        let calendar = Calendar::parse(&format!("calendar {}", pin.hash), canonical)
            .map_err(|e| format!("the stored text of {pin} does not load: {e}"))?;
        if calendar.content_hash() != pin.hash {
            return Err(format!(
                "the stored text of {pin} hashes to {}: it was changed",
                calendar.content_hash()
            ));
        }
        Ok(Self::pinned(pin.id.clone(), Arc::new(calendar)))
    }

    /// What `case_started` records (`None`: always open).
    pub fn pin(&self) -> Option<&CalendarPin> {
        self.pin.as_ref()
    }

    pub fn calendar(&self) -> &Calendar {
        &self.calendar
    }

    /// The calendar, shared.
    pub fn shared(&self) -> &Arc<Calendar> {
        &self.calendar
    }

    /// When `rule`, started at `start`, runs out on this calendar.
    pub fn due(
        &self,
        rule: BudgetRule,
        start: OffsetDateTime,
    ) -> Result<OffsetDateTime, CalendarError> {
        rule.due(&self.calendar, start)
    }
}

impl Default for CaseCalendar {
    fn default() -> Self {
        Self::always_open()
    }
}

/// Two case calendars are the same when they pin the same content (the pin's hash is the
/// calendar's own, so comparing pins compares calendars).
impl PartialEq for CaseCalendar {
    fn eq(&self, other: &Self) -> bool {
        self.pin == other.pin
    }
}

/// How a pin reads in a message: the calendar's id and hash, or "always open".
pub(crate) fn describe(pin: Option<&CalendarPin>) -> String {
    match pin {
        Some(pin) => format!("calendar {pin}"),
        None => "no calendar (always open)".to_owned(),
    }
}
