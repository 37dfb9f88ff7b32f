//! What the pages show of cases: the time left against the budget and its colour, a task's
//! row in the inbox, the case's data (personal data masked for roles that do not work the
//! case), the document checklist.

use sopflow_core::queries::ChecklistItem;
use sopflow_core::registry::Deployed;
use sopflow_engine::case::{CaseState, CaseStatus};
use time::OffsetDateTime;

use crate::i18n::Msg;

/// How much of its budget a step has left: `grey` (no budget), `green`, `amber` (less than a
/// quarter left), `red` (overdue). Also a CSS class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    Grey,
    Green,
    Amber,
    Red,
}

impl Urgency {
    pub fn class(self) -> &'static str {
        match self {
            Urgency::Grey => "grey",
            Urgency::Green => "green",
            Urgency::Amber => "amber",
            Urgency::Red => "red",
        }
    }
}

/// The time left of the case's running budget at `now`, with its urgency and a text
/// (`1 m 20 s tersisa`, `lewat 3 m`).
pub fn time_left(
    d: &Deployed,
    state: &CaseState,
    now: OffsetDateTime,
    m: &Msg,
) -> (Urgency, String) {
    let Some(clock) = state.clock.as_ref().filter(|_| !state.status.is_closed()) else {
        return (Urgency::Grey, m.no_budget.to_owned());
    };
    let budget = d
        .sop
        .step_index(&clock.step)
        .and_then(|idx| d.sop.compiled(idx).budget)
        .map(|(_, b)| b.as_secs() as i64)
        .unwrap_or(0);
    let left = (clock.due_at - now).whole_seconds();
    if left < 0 || clock.exceeded {
        return (
            Urgency::Red,
            format!("{} {}", m.overdue_by, duration(-left.min(0))),
        );
    }
    let urgency = if budget > 0 && left * 4 < budget {
        Urgency::Amber
    } else {
        Urgency::Green
    };
    (urgency, format!("{} {}", duration(left), m.left))
}

/// `2 j 5 m`, `1 m 20 s`, `40 s`.
pub fn duration(seconds: i64) -> String {
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    match (h, m) {
        (0, 0) => format!("{s} s"),
        (0, _) => format!("{m} m {s:02} s"),
        _ => format!("{h} j {m:02} m"),
    }
}

/// A task in the inbox.
pub struct TaskRow {
    pub case_id: String,
    pub registration: String,
    pub service: String,
    pub step: String,
    pub queue_number: String,
    pub urgency: &'static str,
    pub time_left: String,
}

impl TaskRow {
    pub fn new(d: &Deployed, state: &CaseState, now: OffsetDateTime, m: &Msg) -> Self {
        let step = state
            .current_step
            .as_deref()
            .and_then(|s| d.sop.step_index(s))
            .map(|i| d.sop.step(i).name.clone())
            .unwrap_or_default();
        let (urgency, time_left) = time_left(d, state, now, m);
        Self {
            case_id: state.case_id.clone(),
            registration: state.registration_number.clone().unwrap_or_default(),
            service: d.sop.document().header.title.clone(),
            step,
            queue_number: state.queue_number.clone().unwrap_or_default(),
            urgency: urgency.class(),
            time_left,
        }
    }
}

/// One field of the case data as shown.
pub struct DataRow {
    pub label: String,
    pub value: String,
    pub masked: bool,
    pub empty: bool,
}

/// The case data, field by field in the schema's order; personal fields masked unless
/// `personal` (the viewer works the case).
pub fn data_rows(d: &Deployed, state: &CaseState, personal: bool, m: &Msg) -> Vec<DataRow> {
    let schema = &d.sop.document().case_schema;
    // In the SOP's order: what it requires, what its steps collect, then the rest.
    let mut names = crate::forms::required_fields(schema);
    for step in &d.sop.document().steps {
        names.extend(step.collects.iter().cloned());
    }
    names.extend(d.sop.case_fields().iter().cloned());
    crate::forms::fields(schema, &names, &[], &state.data)
        .into_iter()
        .map(|f| {
            let shown = match &f.input {
                crate::forms::Input::Choice(options) => options
                    .iter()
                    .find(|(v, _)| *v == f.value)
                    .map(|(_, l)| l.clone())
                    .unwrap_or(f.value.clone()),
                crate::forms::Input::YesNo => match f.value.as_str() {
                    "true" => m.yes.to_owned(),
                    "false" => m.no.to_owned(),
                    other => other.to_owned(),
                },
                _ => f.value.clone(),
            };
            let masked = f.personal && !personal && !f.value.is_empty();
            DataRow {
                label: f.label,
                empty: f.value.is_empty(),
                value: if masked { String::new() } else { shown },
                masked,
            }
        })
        .collect()
}

/// A checklist row as shown: the status word and its class.
pub struct DocRow {
    pub doc: String,
    pub name: String,
    pub ticked: bool,
    pub status: &'static str,
    pub class: &'static str,
}

/// The checklist as shown; `ticked` says which boxes are ticked (the case's receipts, or a
/// posted form's).
pub fn doc_rows(
    items: &[ChecklistItem],
    ticked: impl Fn(&ChecklistItem) -> bool,
    m: &Msg,
) -> Vec<DocRow> {
    items
        .iter()
        .map(|item| {
            let ticked = ticked(item);
            let (status, class) = match (item.required, ticked) {
                (true, true) => (m.doc_received, "ok"),
                (true, false) => (m.doc_missing, "missing"),
                (false, true) => (m.doc_received, "ok"),
                (false, false) => (m.doc_not_needed, "not-needed"),
            };
            DocRow {
                doc: item.doc.clone(),
                name: item.name.clone(),
                ticked,
                status,
                class,
            }
        })
        .collect()
}

/// How many required documents are not ticked.
pub fn missing_count(rows: &[DocRow]) -> usize {
    rows.iter().filter(|r| r.class == "missing").count()
}

/// The case's status in words.
pub fn status_text(status: CaseStatus, m: &Msg) -> &'static str {
    match status {
        CaseStatus::Open => m.status_open,
        CaseStatus::Incident => m.status_incident,
        CaseStatus::Completed => m.status_completed,
        CaseStatus::Cancelled => m.status_cancelled,
    }
}
