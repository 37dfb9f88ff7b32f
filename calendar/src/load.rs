//! Calendar files: TOML text to a [`Calendar`], every problem at its file, line, column and
//! field. The crate reads no files: the caller hands the texts over in a [`Library`], keyed
//! by the id other calendars include them by (the file's stem, by convention).
//!
//! ```toml
//! name = "Kantor Dinas"
//! zone = "WIB"                       # WIB, WITA or WIT (or Asia/Jakarta, ...)
//! include = ["nasional-2026"]        # its closures and open days, and its zone and hours
//!                                    # unless this file gives its own
//! [hours]                            # a day not listed is closed
//! monday-thursday = ["08:00-12:00", "13:00-16:00"]
//! friday = "08:00-16:30"
//!
//! [[closed]]                         # kind: libur_nasional, cuti_bersama, lokal (default)
//! date = 2026-07-17
//! through = 2026-07-18               # optional, inclusive
//! name = "Pindah kantor"
//!
//! [[open]]                           # opens a closed day, or gives a day other hours
//! date = 2026-08-08
//! name = "Pelayanan Sabtu"
//! hours = ["08:00-12:00"]            # optional: the weekday's hours
//! ```
//!
//! A file's own entries win over what it includes (an office may stay open on a cuti
//! bersama day); within one file a date is listed once. When two included calendars
//! disagree on a date (closed in one, open in the other), or on the zone or the hours, the
//! including file must say which holds.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::ops::Range;

use time::{Date, Month, Weekday};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::calendar::{Calendar, Closure, ClosureKind, Opening};
use crate::canonical::{WEEKDAYS, iso_date};
use crate::hours::{Hours, Interval};
use crate::zone::Zone;

/// One problem of a calendar file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    /// 1-based line and column (in characters) of the value or key at fault.
    pub line: usize,
    pub column: usize,
    /// Where in the file: `closed[2].date`, `hours.friday[1]`; empty for a syntax error.
    pub field: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

/// Why a calendar could not be loaded: all its problems, in file and line order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct LoadError {
    pub problems: Vec<Problem>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

/// Where something was written, for the problems found later (conflicts, defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Loc {
    file: String,
    line: usize,
    column: usize,
    field: String,
}

impl Loc {
    fn problem(&self, message: impl Into<String>) -> Problem {
        Problem {
            file: self.file.clone(),
            line: self.line,
            column: self.column,
            field: self.field.clone(),
            message: message.into(),
        }
    }

    /// `closed[3].date` at nasional-2026.toml:40
    fn at(&self) -> String {
        format!("`{}` at {}:{}", self.field, self.file, self.line)
    }
}

/// Calendar texts by id, to load one of them with everything it includes.
#[derive(Debug, Clone, Default)]
pub struct Library {
    /// id → (file name for messages, text).
    files: BTreeMap<String, (String, String)>,
}

impl Library {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the calendar `id`, read from `file` (the name problems give).
    pub fn insert(
        &mut self,
        id: impl Into<String>,
        file: impl Into<String>,
        text: impl Into<String>,
    ) {
        self.files.insert(id.into(), (file.into(), text.into()));
    }

    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.files.keys().map(String::as_str)
    }

    /// The file calendar `id` was read from, as given to [`Library::insert`].
    pub fn file(&self, id: &str) -> Option<&str> {
        self.files.get(id).map(|(file, _)| file.as_str())
    }

    /// The calendars `id` includes, directly or through others, each once, in the order
    /// they are applied (depth first); none for an unknown id or a file that does not read
    /// (its problems are [`Library::load`]'s).
    pub fn includes(&self, id: &str) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        let mut stack = vec![id.to_owned()];
        self.includes_into(id, &mut stack, &mut out);
        out
    }

    fn includes_into(&self, id: &str, stack: &mut Vec<String>, out: &mut Vec<String>) {
        let Some((file, text)) = self.files.get(id) else {
            return;
        };
        let Ok(def) = Reader::new(file, text).read() else {
            return;
        };
        for (included, _) in def.include {
            // A cycle is a load problem; here it only ends the walk.
            if stack.contains(&included) || out.contains(&included) {
                continue;
            }
            out.push(included.clone());
            stack.push(included.clone());
            self.includes_into(&included, stack, out);
            stack.pop();
        }
    }

    /// The calendar `id`, its includes applied.
    pub fn load(&self, id: &str) -> Result<Calendar, LoadError> {
        let mut resolver = Resolver {
            library: self,
            stack: Vec::new(),
            done: HashMap::new(),
            problems: Vec::new(),
        };
        let Some((file, _)) = self.files.get(id) else {
            return Err(LoadError {
                problems: vec![Problem {
                    file: format!("{id}.toml"),
                    line: 1,
                    column: 1,
                    field: String::new(),
                    message: format!("unknown calendar `{id}`{}", self.known()),
                }],
            });
        };
        let top = Loc {
            file: file.clone(),
            line: 1,
            column: 1,
            field: String::new(),
        };
        let resolved = resolver.resolve(id);
        let mut problems = resolver.problems;
        let calendar = resolved.and_then(|r| finish(r, &top, &mut problems));
        problems.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
        problems.dedup();
        match calendar {
            Some(calendar) if problems.is_empty() => Ok(calendar),
            _ => Err(LoadError { problems }),
        }
    }

    fn known(&self) -> String {
        if self.files.is_empty() {
            " (no other calendar is given)".to_owned()
        } else {
            let ids: Vec<&str> = self.ids().collect();
            format!(" (known: {})", ids.join(", "))
        }
    }
}

impl Calendar {
    /// A calendar file on its own (a canonical form, or a file without includes).
    pub fn parse(file: &str, text: &str) -> Result<Calendar, LoadError> {
        let id = std::path::Path::new(file)
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or(file)
            .to_owned();
        let mut library = Library::new();
        library.insert(id.clone(), file, text);
        library.load(&id)
    }
}

/// What one file says, checked on its own.
struct FileDef {
    name: Option<String>,
    zone: Option<(Zone, Loc)>,
    include: Vec<(String, Loc)>,
    hours: Option<([Hours; 7], Loc)>,
    closed: Vec<(Date, Closure, Loc)>,
    open: Vec<(Date, OpenDef, Loc)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct OpenDef {
    name: String,
    /// `None`: the weekday's hours of the final calendar.
    hours: Option<Hours>,
}

/// A file with its includes applied; the zone and hours may still be missing.
#[derive(Clone)]
struct Partial {
    name: Option<String>,
    zone: Option<(Zone, Loc)>,
    week: Option<([Hours; 7], Loc)>,
    closed: BTreeMap<Date, (Closure, Loc)>,
    open: BTreeMap<Date, (OpenDef, Loc)>,
}

struct Resolver<'l> {
    library: &'l Library,
    stack: Vec<String>,
    done: HashMap<String, Option<Partial>>,
    problems: Vec<Problem>,
}

impl Resolver<'_> {
    fn resolve(&mut self, id: &str) -> Option<Partial> {
        if let Some(done) = self.done.get(id) {
            return done.clone();
        }
        let (file, text) = self.library.files.get(id)?;
        self.stack.push(id.to_owned());
        let resolved = match Reader::new(file, text).read() {
            Ok(def) => self.apply(def),
            Err(problems) => {
                self.problems.extend(problems);
                None
            }
        };
        self.stack.pop();
        self.done.insert(id.to_owned(), resolved.clone());
        resolved
    }

    fn apply(&mut self, def: FileDef) -> Option<Partial> {
        let mut merged = Partial {
            name: None,
            zone: None,
            week: None,
            closed: BTreeMap::new(),
            open: BTreeMap::new(),
        };
        // Conflicts between includes matter only where this file does not decide itself.
        let own_dates: Vec<Date> = def
            .closed
            .iter()
            .map(|(d, _, _)| *d)
            .chain(def.open.iter().map(|(d, _, _)| *d))
            .collect();
        let mut ok = true;
        for (id, loc) in &def.include {
            if let Some(start) = self.stack.iter().position(|s| s == id) {
                let mut cycle = self.stack[start..].to_vec();
                cycle.push(id.clone());
                self.problems
                    .push(loc.problem(format!("include cycle: {}", cycle.join(" → "))));
                ok = false;
                continue;
            }
            if !self.library.files.contains_key(id) {
                self.problems
                    .push(loc.problem(format!("unknown calendar `{id}`{}", self.library.known())));
                ok = false;
                continue;
            }
            let Some(included) = self.resolve(id) else {
                ok = false;
                continue;
            };
            if let Some((zone, _)) = &included.zone {
                match &merged.zone {
                    None => merged.zone = Some((*zone, loc.clone())),
                    Some((earlier, at)) if earlier != zone && def.zone.is_none() => {
                        self.problems.push(loc.problem(format!(
                            "`{id}` is in {zone}, but the calendar included at {} is in {earlier}: set `zone` in this file",
                            at.at()
                        )));
                    }
                    Some(_) => {}
                }
            }
            if let Some((week, _)) = &included.week {
                match &merged.week {
                    None => merged.week = Some((week.clone(), loc.clone())),
                    Some((earlier, at)) if earlier != week && def.hours.is_none() => {
                        self.problems.push(loc.problem(format!(
                            "`{id}` has other [hours] than the calendar included at {}: give [hours] in this file",
                            at.at()
                        )));
                    }
                    Some(_) => {}
                }
            }
            for (date, (closure, at)) in included.closed {
                if let Some((opening, open_at)) = merged.open.get(&date) {
                    if !own_dates.contains(&date) {
                        self.problems.push(loc.problem(format!(
                            "{} is closed in `{id}` ({}, {}) but open in a calendar included before it ({}, {}): list the date in this file to say which holds",
                            iso_date(date),
                            closure.name,
                            at.at(),
                            opening.name,
                            open_at.at()
                        )));
                    }
                    continue;
                }
                // Closed twice (the same holiday in two calendars): the first one stays.
                merged.closed.entry(date).or_insert((closure, at));
            }
            for (date, (opening, at)) in included.open {
                let clash = match (merged.closed.get(&date), merged.open.get(&date)) {
                    (Some((closure, closed_at)), _) => Some(format!(
                        "closed in a calendar included before it ({}, {})",
                        closure.name,
                        closed_at.at()
                    )),
                    (None, Some((earlier, open_at))) if earlier.hours != opening.hours => {
                        Some(format!(
                            "open with other hours in a calendar included before it ({}, {})",
                            earlier.name,
                            open_at.at()
                        ))
                    }
                    _ => None,
                };
                match clash {
                    Some(clash) => {
                        if !own_dates.contains(&date) {
                            self.problems.push(loc.problem(format!(
                                "{} is open in `{id}` ({}, {}) but {clash}: list the date in this file to say which holds",
                                iso_date(date),
                                opening.name,
                                at.at()
                            )));
                        }
                    }
                    None => {
                        merged.open.entry(date).or_insert((opening, at));
                    }
                }
            }
        }
        merged.name = def.name;
        if def.zone.is_some() {
            merged.zone = def.zone;
        }
        if def.hours.is_some() {
            merged.week = def.hours;
        }
        for (date, closure, loc) in def.closed {
            merged.open.remove(&date);
            merged.closed.insert(date, (closure, loc));
        }
        for (date, opening, loc) in def.open {
            merged.closed.remove(&date);
            merged.open.insert(date, (opening, loc));
        }
        ok.then_some(merged)
    }
}

/// The calendar a top-level file resolves to: zone and hours present, open days' hours set.
fn finish(partial: Partial, top: &Loc, problems: &mut Vec<Problem>) -> Option<Calendar> {
    let mut found = Vec::new();
    let zone = match &partial.zone {
        Some((zone, _)) => Some(*zone),
        None => {
            found.push(top.problem(
                "no `zone`: say where the office is, e.g. `zone = \"WIB\"` (or include a calendar that says it)",
            ));
            None
        }
    };
    let week = match &partial.week {
        Some((week, _)) => Some(week.clone()),
        None => {
            found.push(top.problem(
                "no [hours]: give the opening hours of the week (or include a calendar that has them)",
            ));
            None
        }
    };
    let mut open = BTreeMap::new();
    if let Some(week) = &week {
        for (date, (def, loc)) in &partial.open {
            let hours = match &def.hours {
                Some(hours) => hours.clone(),
                None => {
                    let usual = &week[usize::from(date.weekday().number_days_from_monday())];
                    if usual.is_closed() {
                        found.push(loc.problem(format!(
                            "{} is a {}, which has no hours in [hours]: give this day its `hours`",
                            iso_date(*date),
                            date.weekday()
                        )));
                        continue;
                    }
                    usual.clone()
                }
            };
            open.insert(
                *date,
                Opening {
                    name: def.name.clone(),
                    hours,
                },
            );
        }
        if week.iter().all(Hours::is_closed) && partial.open.is_empty() {
            let at = partial.week.as_ref().map_or(top, |(_, loc)| loc);
            found.push(at.problem(
                "the calendar never opens: [hours] gives no day any hours and no [[open]] day is listed",
            ));
        }
    }
    let failed = !found.is_empty();
    problems.extend(found);
    if failed {
        return None;
    }
    let closed = partial
        .closed
        .into_iter()
        .map(|(date, (closure, _))| (date, closure))
        .collect();
    Some(Calendar::from_parts(
        partial.name,
        zone?,
        week?,
        closed,
        open,
    ))
}

fn weekday_name(day: Weekday) -> &'static str {
    WEEKDAYS
        .iter()
        .find(|(d, _)| *d == day)
        .map_or("day", |(_, name)| name)
}

const TOP_FIELDS: &[&str] = &["name", "zone", "include", "hours", "closed", "open"];
const CLOSED_FIELDS: &[&str] = &["date", "through", "name", "kind"];
const OPEN_FIELDS: &[&str] = &["date", "through", "name", "hours"];
/// The longest range one entry may cover: more is a typo in a year.
const MAX_RANGE_DAYS: i64 = 366;

/// Indonesian day names, to point at the English key.
const HARI: [(&str, Weekday); 7] = [
    ("senin", Weekday::Monday),
    ("selasa", Weekday::Tuesday),
    ("rabu", Weekday::Wednesday),
    ("kamis", Weekday::Thursday),
    ("jumat", Weekday::Friday),
    ("sabtu", Weekday::Saturday),
    ("minggu", Weekday::Sunday),
];

type Value<'i> = Spanned<DeValue<'i>>;

struct Reader<'t> {
    file: &'t str,
    text: &'t str,
    line_starts: Vec<usize>,
    problems: Vec<Problem>,
}

impl<'t> Reader<'t> {
    fn new(file: &'t str, text: &'t str) -> Self {
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Self {
            file,
            text,
            line_starts,
            problems: Vec::new(),
        }
    }

    fn loc(&self, span: &Range<usize>, field: &str) -> Loc {
        let offset = span.start.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset);
        let start = self.line_starts[line - 1];
        let column = self
            .text
            .get(start..offset)
            .map_or(1, |s| s.chars().count() + 1);
        Loc {
            file: self.file.to_owned(),
            line,
            column,
            field: field.to_owned(),
        }
    }

    fn report(&mut self, span: &Range<usize>, field: &str, message: impl Into<String>) {
        let problem = self.loc(span, field).problem(message);
        self.problems.push(problem);
    }

    fn read(mut self) -> Result<FileDef, Vec<Problem>> {
        let text = self.text;
        let doc = match DeTable::parse(text) {
            Ok(doc) => doc,
            Err(e) => {
                let span = e.span().unwrap_or(0..0);
                self.report(
                    &span,
                    "",
                    format!("TOML syntax error: {}", e.message().trim_end()),
                );
                return Err(self.problems);
            }
        };
        let mut def = FileDef {
            name: None,
            zone: None,
            include: Vec::new(),
            hours: None,
            closed: Vec::new(),
            open: Vec::new(),
        };
        for (key, value) in doc.get_ref().iter() {
            let field = key.get_ref().as_ref();
            match field {
                "name" => def.name = self.name(value, "name"),
                "zone" => {
                    if let Some(text) = self.string(value, "zone") {
                        match Zone::from_name(text) {
                            Some(zone) => def.zone = Some((zone, self.loc(&value.span(), "zone"))),
                            None => self.report(
                                &value.span(),
                                "zone",
                                format!(
                                    "unknown time zone {text:?}: Indonesia's are `WIB` (UTC+07:00), `WITA` (UTC+08:00) and `WIT` (UTC+09:00)"
                                ),
                            ),
                        }
                    }
                }
                "include" => def.include = self.includes(value),
                "hours" => {
                    let loc = self.loc(&key.span(), "hours");
                    def.hours = self.week(value).map(|week| (week, loc));
                }
                "closed" => {
                    for (i, table) in self.tables(value, "closed").into_iter().enumerate() {
                        self.closed(table, &format!("closed[{i}]"), &mut def.closed);
                    }
                }
                "open" => {
                    for (i, table) in self.tables(value, "open").into_iter().enumerate() {
                        self.open(table, &format!("open[{i}]"), &mut def.open);
                    }
                }
                other => self.unknown(&key.span(), "", other, TOP_FIELDS),
            }
        }
        self.same_date_twice(&def);
        if self.problems.is_empty() {
            Ok(def)
        } else {
            Err(self.problems)
        }
    }

    fn unknown(&mut self, span: &Range<usize>, parent: &str, name: &str, allowed: &[&str]) {
        let field = join(parent, name);
        let message = match closest(name, allowed) {
            Some(meant) => format!("unknown field `{name}`: did you mean `{meant}`?"),
            None => format!("unknown field `{name}` (known: {})", allowed.join(", ")),
        };
        self.report(span, &field, message);
    }

    fn string<'v>(&mut self, value: &'v Value<'_>, field: &str) -> Option<&'v str> {
        match value.get_ref() {
            DeValue::String(s) => Some(s.as_ref()),
            other => {
                self.report(
                    &value.span(),
                    field,
                    format!("expected text in quotes, found {}", type_name(other)),
                );
                None
            }
        }
    }

    /// A display name: one line of text.
    fn name(&mut self, value: &Value<'_>, field: &str) -> Option<String> {
        let text = self.string(value, field)?;
        if text.trim().is_empty() {
            self.report(&value.span(), field, "a name cannot be empty");
            return None;
        }
        if text.chars().any(char::is_control) {
            self.report(&value.span(), field, "a name is one line of text");
            return None;
        }
        Some(text.trim().to_owned())
    }

    fn includes(&mut self, value: &Value<'_>) -> Vec<(String, Loc)> {
        let items: Vec<(&Value<'_>, String)> = match value.get_ref() {
            DeValue::String(_) => vec![(value, "include".to_owned())],
            DeValue::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (v, format!("include[{i}]")))
                .collect(),
            other => {
                self.report(
                    &value.span(),
                    "include",
                    format!(
                        "expected a list of calendar ids, e.g. [\"nasional-2026\"], found {}",
                        type_name(other)
                    ),
                );
                return Vec::new();
            }
        };
        let mut out: Vec<(String, Loc)> = Vec::new();
        for (item, field) in items {
            let Some(id) = self.string(item, &field) else {
                continue;
            };
            if out.iter().any(|(seen, _)| seen == id) {
                self.report(&item.span(), &field, format!("`{id}` is included twice"));
                continue;
            }
            let loc = self.loc(&item.span(), &field);
            out.push((id.to_owned(), loc));
        }
        out
    }

    fn tables<'v, 'i>(&mut self, value: &'v Value<'i>, field: &str) -> Vec<&'v Value<'i>> {
        match value.get_ref() {
            DeValue::Array(items) => {
                let mut out = Vec::new();
                for (i, item) in items.iter().enumerate() {
                    if matches!(item.get_ref(), DeValue::Table(_)) {
                        out.push(item);
                    } else {
                        self.report(
                            &item.span(),
                            &format!("{field}[{i}]"),
                            format!(
                                "expected a table (`[[{field}]]` with `date`, `name`...), found {}",
                                type_name(item.get_ref())
                            ),
                        );
                    }
                }
                out
            }
            other => {
                self.report(
                    &value.span(),
                    field,
                    format!(
                        "expected a list of tables, written `[[{field}]]`, found {}",
                        type_name(other)
                    ),
                );
                Vec::new()
            }
        }
    }

    /// `[hours]`: a weekday or a range of them (`monday-thursday`) to its intervals.
    fn week(&mut self, value: &Value<'_>) -> Option<[Hours; 7]> {
        let DeValue::Table(table) = value.get_ref() else {
            self.report(
                &value.span(),
                "hours",
                format!(
                    "expected a table of weekdays (`[hours]` with `monday = [\"08:00-16:00\"]`), found {}",
                    type_name(value.get_ref())
                ),
            );
            return None;
        };
        let mut week: [Option<(Hours, String, usize)>; 7] = Default::default();
        let before = self.problems.len();
        // In the order written, so that "given twice" points at the later key.
        let mut entries: Vec<_> = table.iter().collect();
        entries.sort_by_key(|(k, _)| k.span().start);
        for (key, value) in entries {
            let name = key.get_ref().as_ref();
            let field = format!("hours.{name}");
            let Some(days) = self.days(&key.span(), &field, name) else {
                continue;
            };
            let Some(hours) = self.hours(value, &field) else {
                continue;
            };
            let line = self.loc(&key.span(), &field).line;
            for day in days {
                let slot = &mut week[usize::from(day.number_days_from_monday())];
                if let Some((_, earlier, at)) = slot {
                    let message = format!("{day} is already given by `{earlier}` (line {at})");
                    self.report(&key.span(), &field, message);
                    continue;
                }
                *slot = Some((hours.clone(), name.to_owned(), line));
            }
        }
        (self.problems.len() == before)
            .then(|| week.map(|slot| slot.map(|(hours, _, _)| hours).unwrap_or_default()))
    }

    fn days(&mut self, span: &Range<usize>, field: &str, name: &str) -> Option<Vec<Weekday>> {
        let day = |reader: &mut Self, text: &str| -> Option<Weekday> {
            if let Some((day, _)) = WEEKDAYS.iter().find(|(_, n)| *n == text) {
                return Some(*day);
            }
            let message = match HARI.iter().find(|(hari, _)| *hari == text.to_lowercase()) {
                Some((_, day)) => format!(
                    "`{text}`: weekdays are written in English, here `{}`",
                    weekday_name(*day)
                ),
                None => format!(
                    "`{text}` is not a weekday: write `monday` ... `sunday`, or a range such as `monday-thursday`"
                ),
            };
            reader.report(span, field, message);
            None
        };
        match name.split_once('-') {
            None => day(self, name).map(|d| vec![d]),
            Some((from, to)) => {
                let from = day(self, from)?;
                let to = day(self, to)?;
                let (a, b) = (from.number_days_from_monday(), to.number_days_from_monday());
                if a >= b {
                    self.report(
                        span,
                        field,
                        format!(
                            "`{name}` does not run forward: a range goes from an earlier to a later day of the week, Monday first"
                        ),
                    );
                    return None;
                }
                Some(
                    WEEKDAYS[usize::from(a)..=usize::from(b)]
                        .iter()
                        .map(|(d, _)| *d)
                        .collect(),
                )
            }
        }
    }

    /// `"08:00-16:00"` or a list of such intervals; `[]` is closed.
    fn hours(&mut self, value: &Value<'_>, field: &str) -> Option<Hours> {
        let items: Vec<(&Value<'_>, String)> = match value.get_ref() {
            DeValue::String(_) => vec![(value, field.to_owned())],
            DeValue::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, v)| (v, format!("{field}[{i}]")))
                .collect(),
            other => {
                self.report(
                    &value.span(),
                    field,
                    format!(
                        "expected opening hours such as [\"08:00-12:00\", \"13:00-16:00\"], found {}",
                        type_name(other)
                    ),
                );
                return None;
            }
        };
        let mut intervals = Vec::new();
        let mut places = Vec::new();
        let mut bad = false;
        for (item, item_field) in items {
            let Some(text) = self.string(item, &item_field) else {
                bad = true;
                continue;
            };
            match Interval::parse(text) {
                Ok(interval) => {
                    intervals.push(interval);
                    places.push((item.span(), item_field));
                }
                Err(message) => {
                    self.report(&item.span(), &item_field, message);
                    bad = true;
                }
            }
        }
        if bad {
            return None;
        }
        match Hours::new(intervals.clone()) {
            Ok(hours) => Some(hours),
            Err((a, b)) => {
                let (span, item_field) = &places[b];
                let message = format!(
                    "{} overlaps {} ({})",
                    intervals[b], intervals[a], places[a].1
                );
                self.report(span, item_field, message);
                None
            }
        }
    }

    fn date(&mut self, value: &Value<'_>, field: &str) -> Option<Date> {
        let bad = |reader: &mut Self, what: String| {
            reader.report(
                &value.span(),
                field,
                format!("{what} is not a date: write it as 2026-03-20"),
            );
            None
        };
        let (year, month, day) = match value.get_ref() {
            DeValue::Datetime(dt) => match (dt.date, dt.time, dt.offset) {
                (Some(d), None, None) => (i32::from(d.year), d.month, d.day),
                _ => {
                    self.report(
                        &value.span(),
                        field,
                        format!("{dt} has a time of day: a date is written as 2026-03-20"),
                    );
                    return None;
                }
            },
            DeValue::String(text) => {
                let parts: Vec<&str> = text.split('-').collect();
                let digits =
                    |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
                match parts.as_slice() {
                    [y, m, d] if digits(y, 4) && digits(m, 2) && digits(d, 2) => (
                        y.parse().unwrap_or(0),
                        m.parse().unwrap_or(0),
                        d.parse().unwrap_or(0),
                    ),
                    _ => return bad(self, format!("{:?}", text.as_ref())),
                }
            }
            other => return bad(self, type_name(other).to_owned()),
        };
        let date = Month::try_from(month)
            .ok()
            .and_then(|m| Date::from_calendar_date(year, m, day).ok());
        if date.is_none() {
            self.report(
                &value.span(),
                field,
                format!("{year:04}-{month:02}-{day:02} is not a day of the calendar"),
            );
        }
        date
    }

    /// `date` and the optional `through` of an entry, as the dates they cover.
    fn dates(&mut self, table: &DeTable<'_>, entry: &Value<'_>, field: &str) -> Option<Vec<Date>> {
        let Some(date_value) = table.get("date") else {
            self.report(
                &entry.span(),
                &format!("{field}.date"),
                "missing required field `date`",
            );
            return None;
        };
        let from = self.date(date_value, &format!("{field}.date"));
        let through = match table.get("through") {
            Some(v) => Some((self.date(v, &format!("{field}.through"))?, v)),
            None => None,
        };
        let from = from?;
        let Some((to, to_value)) = through else {
            return Some(vec![from]);
        };
        let length = (to - from).whole_days();
        if length < 0 {
            self.report(
                &to_value.span(),
                &format!("{field}.through"),
                format!(
                    "{} is before `date` {}: `through` is the last day of the range",
                    iso_date(to),
                    iso_date(from)
                ),
            );
            return None;
        }
        if length >= MAX_RANGE_DAYS {
            self.report(
                &to_value.span(),
                &format!("{field}.through"),
                format!(
                    "{} to {} is longer than a year: is it a typo?",
                    iso_date(from),
                    iso_date(to)
                ),
            );
            return None;
        }
        let mut out = vec![from];
        let mut day = from;
        while day < to {
            day = day.next_day()?;
            out.push(day);
        }
        Some(out)
    }

    fn required_name(
        &mut self,
        table: &DeTable<'_>,
        entry: &Value<'_>,
        field: &str,
    ) -> Option<String> {
        let field = format!("{field}.name");
        match table.get("name") {
            Some(v) => self.name(v, &field),
            None => {
                self.report(
                    &entry.span(),
                    &field,
                    "missing required field `name` (e.g. the holiday's name)",
                );
                None
            }
        }
    }

    fn closed(&mut self, entry: &Value<'_>, field: &str, out: &mut Vec<(Date, Closure, Loc)>) {
        let DeValue::Table(table) = entry.get_ref() else {
            return;
        };
        for (key, _) in table.iter() {
            let name = key.get_ref().as_ref();
            if !CLOSED_FIELDS.contains(&name) {
                self.unknown(&key.span(), field, name, CLOSED_FIELDS);
            }
        }
        let dates = self.dates(table, entry, field);
        let name = self.required_name(table, entry, field);
        let kind = match table.get("kind") {
            None => Some(ClosureKind::Lokal),
            Some(v) => {
                let kind_field = format!("{field}.kind");
                self.string(v, &kind_field).and_then(|text| {
                    let kind = ClosureKind::from_name(text);
                    if kind.is_none() {
                        let kinds: Vec<String> = ClosureKind::ALL
                            .iter()
                            .map(|k| format!("`{}`", k.as_str()))
                            .collect();
                        self.report(
                            &v.span(),
                            &kind_field,
                            format!("{text:?} is not one of {}", kinds.join(", ")),
                        );
                    }
                    kind
                })
            }
        };
        let (Some(dates), Some(name), Some(kind)) = (dates, name, kind) else {
            return;
        };
        let span = table.get("date").map_or(entry.span(), Spanned::span);
        let loc = self.loc(&span, &format!("{field}.date"));
        for date in dates {
            out.push((
                date,
                Closure {
                    kind,
                    name: name.clone(),
                },
                loc.clone(),
            ));
        }
    }

    fn open(&mut self, entry: &Value<'_>, field: &str, out: &mut Vec<(Date, OpenDef, Loc)>) {
        let DeValue::Table(table) = entry.get_ref() else {
            return;
        };
        for (key, _) in table.iter() {
            let name = key.get_ref().as_ref();
            if !OPEN_FIELDS.contains(&name) {
                self.unknown(&key.span(), field, name, OPEN_FIELDS);
            }
        }
        let dates = self.dates(table, entry, field);
        let name = self.required_name(table, entry, field);
        let hours = match table.get("hours") {
            None => Some(None),
            Some(v) => {
                let hours_field = format!("{field}.hours");
                match self.hours(v, &hours_field) {
                    Some(hours) if hours.is_closed() => {
                        self.report(
                            &v.span(),
                            &hours_field,
                            "an open day needs hours: to close a day, list it under [[closed]]",
                        );
                        None
                    }
                    Some(hours) => Some(Some(hours)),
                    None => None,
                }
            }
        };
        let (Some(dates), Some(name), Some(hours)) = (dates, name, hours) else {
            return;
        };
        let span = table.get("date").map_or(entry.span(), Spanned::span);
        let loc = self.loc(&span, &format!("{field}.date"));
        for date in dates {
            out.push((
                date,
                OpenDef {
                    name: name.clone(),
                    hours: hours.clone(),
                },
                loc.clone(),
            ));
        }
    }

    /// Within one file a date is listed once, closed or open.
    fn same_date_twice(&mut self, def: &FileDef) {
        let mut seen: BTreeMap<Date, (&'static str, &Loc)> = BTreeMap::new();
        let entries = def
            .closed
            .iter()
            .map(|(d, _, l)| (*d, "closed", l))
            .chain(def.open.iter().map(|(d, _, l)| (*d, "open", l)));
        let mut found = Vec::new();
        for (date, what, loc) in entries {
            match seen.get(&date) {
                Some((earlier, at)) => found.push(loc.problem(format!(
                    "{} is already {earlier} by {}",
                    iso_date(date),
                    at.at()
                ))),
                None => {
                    seen.insert(date, (what, loc));
                }
            }
        }
        // One problem per entry, at its first repeated date.
        found.dedup_by(|a, b| a.line == b.line && a.column == b.column);
        self.problems.extend(found);
    }
}

fn join(parent: &str, name: &str) -> String {
    if parent.is_empty() {
        name.to_owned()
    } else {
        format!("{parent}.{name}")
    }
}

fn type_name(value: &DeValue<'_>) -> &'static str {
    match value {
        DeValue::String(_) => "text",
        DeValue::Integer(_) => "a number",
        DeValue::Float(_) => "a number",
        DeValue::Boolean(_) => "true/false",
        DeValue::Datetime(_) => "a date or time",
        DeValue::Array(_) => "a list",
        DeValue::Table(_) => "a table",
    }
}

/// The allowed name `name` is most likely a misspelling of (at most two edits).
fn closest<'a>(name: &str, allowed: &[&'a str]) -> Option<&'a str> {
    allowed
        .iter()
        .map(|a| (edit_distance(&name.to_lowercase(), a), *a))
        .filter(|&(d, _)| d <= 2 && d < name.chars().count())
        .min_by_key(|&(d, _)| d)
        .map(|(_, a)| a)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for i in 1..=a.len() {
        let mut row = vec![i; b.len() + 1];
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            row[j] = (previous[j] + 1)
                .min(row[j - 1] + 1)
                .min(previous[j - 1] + cost);
        }
        previous = row;
    }
    previous[b.len()]
}
