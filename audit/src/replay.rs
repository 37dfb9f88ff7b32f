//! A case step by step, for an auditor: who (user, role) did what and when, with which
//! documents, which guard chose which branch with which values, the time spent at each step
//! against its budget, and the state as of any event (`until`). Personal data is masked unless
//! revealed (see [`super::Personal`]).

use serde::Serialize;
use serde_json::{Map, Value};
use sopflow_engine::case::decide::{DocumentCheck, DocumentState, document_checklist};
use sopflow_engine::case::state::StepVisit;
use sopflow_engine::case::{CaseState, DocumentReceipt, Event, EventBody};
use sopflow_engine::sop::Sop;
use sopflow_store::Store;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::verify::{Finding, check_case};
use super::{AuditError, Personal, SopCache, seconds, shown_event};

/// Who did something.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct By {
    pub user: String,
    pub role: String,
}

/// A document as recorded at a step.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplayDocument {
    #[serde(rename = "type")]
    pub doc: String,
    pub number: Option<String>,
    pub received: bool,
    /// SHA-256 of the stored scan, if one was uploaded.
    pub sha256: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub by: By,
}

/// One guard evaluated when a branch was chosen.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplayGuard {
    pub branch: usize,
    pub guard: String,
    pub result: bool,
    /// The values it read (personal ones masked unless revealed).
    #[schema(value_type = Object)]
    pub values: Map<String, Value>,
}

/// The branch a step left by.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplayBranch {
    pub to: String,
    pub branch: usize,
    pub label: Option<String>,
    /// The guards tried in order; the chosen branch is the first that held (or the default).
    pub guards: Vec<ReplayGuard>,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A document of a step as it stood when the step was completed.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplayCheck {
    #[serde(rename = "type")]
    pub doc: String,
    /// Required then (its condition evaluated on the case data then).
    pub required: bool,
    pub received: bool,
    /// `received`, `missing` (required, not held) or `not_needed`.
    pub state: String,
}

/// One stay of the case at a step.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplayStep {
    pub step: String,
    pub name: String,
    pub row: u32,
    pub kind: String,
    /// The SOP actor (Pelaksana) of the step.
    pub actor: String,
    pub visit: u32,
    /// The event that entered it.
    pub entered_seq: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub entered_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub completed_at: Option<OffsetDateTime>,
    pub completed_by: Option<By>,
    pub outcome: Option<String>,
    /// Seconds from entry to completion (absent while the step is open).
    pub spent_seconds: Option<f64>,
    /// The step whose budget clock runs here (itself, or the first budgeted step of its row).
    pub budget_step: Option<String>,
    /// That clock's budget, in seconds.
    pub budget_seconds: Option<u64>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub due_at: Option<OffsetDateTime>,
    /// `under` (completed by its due time), `over` (completed after it, or recorded as
    /// exceeded), `running` (open, not recorded as exceeded), `none` (no budget).
    pub budget: String,
    pub documents: Vec<ReplayDocument>,
    /// The step's documents when it was completed (empty while it is open).
    pub checklist: Vec<ReplayCheck>,
    /// The required documents missing then: what made `documents_complete` false.
    pub missing_documents: Vec<String>,
    /// Case data recorded at the step.
    #[schema(value_type = Object)]
    pub data: Map<String, Value>,
    pub queue_number: Option<String>,
    pub branch: Option<ReplayBranch>,
    /// The events of this stay.
    pub events: Vec<u64>,
}

/// One event, as shown.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplayEvent {
    pub seq: u64,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub by: By,
    /// The event's stable JSON form (personal values masked unless revealed).
    #[schema(value_type = Object)]
    pub event: Value,
    pub hash: String,
}

/// The budget clock running as of `until`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplayClock {
    pub step: String,
    #[serde(with = "time::serde::rfc3339")]
    pub due_at: OffsetDateTime,
    pub exceeded: bool,
}

/// The case as of `until`: the fold of its events up to there.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReplayState {
    pub status: String,
    pub version: u64,
    pub current_step: Option<String>,
    #[schema(value_type = Object)]
    pub data: Map<String, Value>,
    #[schema(value_type = Object)]
    pub documents: Value,
    pub queue_number: Option<String>,
    pub pending_request: Option<String>,
    pub incident: Option<String>,
    pub clock: Option<ReplayClock>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub total_due_at: Option<OffsetDateTime>,
    pub total_exceeded: bool,
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
}

/// `GET /cases/{id}/replay` and `sopflow replay`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Replay {
    pub case_id: String,
    pub sop_id: String,
    pub sop_version: u32,
    pub sop_content_hash: String,
    /// The last event replayed.
    pub until: u64,
    /// Events in the whole history.
    pub events_total: u64,
    /// `masked` or `revealed`.
    pub personal_data: String,
    /// Whether the whole history verifies (chain, head, decisions); the findings if not.
    pub verified: bool,
    pub findings: Vec<Finding>,
    pub steps: Vec<ReplayStep>,
    pub events: Vec<ReplayEvent>,
    pub state: ReplayState,
}

/// Replays `case_id` up to event `until` (the whole history without it). The caller has
/// recorded a reveal before asking for one.
pub async fn replay_case(
    store: &Store,
    case_id: &str,
    until: Option<u64>,
    personal: &Personal,
) -> Result<Replay, AuditError> {
    let record = store
        .case(case_id)
        .await?
        .ok_or_else(|| AuditError::CaseNotFound(case_id.to_owned()))?;
    let stored = store.events(case_id).await?;
    let salt = store.case_salt(case_id).await?;
    let mut sops = SopCache::default();
    let findings = check_case(store, &mut sops, &record, &stored, salt.as_deref(), None).await?;
    // A history that cannot even be read or folded is answered with why, not replayed.
    let unreplayable = |findings: Vec<super::verify::Finding>| AuditError::Unreplayable {
        case_id: case_id.to_owned(),
        findings,
    };
    let Ok(events) = super::decode(case_id, &stored) else {
        return Err(unreplayable(findings));
    };
    let total = events.len() as u64;
    let until = until.unwrap_or(total);
    if until == 0 || until > total {
        return Err(AuditError::Invalid(format!(
            "until must be an event of the case, 1 to {total}"
        )));
    }
    let shown: &[Event] = &events[..until as usize];
    let Some(EventBody::CaseStarted {
        sop_id,
        sop_version,
        ..
    }) = shown.first().map(|e| &e.body)
    else {
        return Err(unreplayable(findings));
    };
    let Ok(checked) = sops.get(store, sop_id, *sop_version).await? else {
        return Err(unreplayable(findings));
    };
    let sop = &checked.sop;
    let Ok(state) = CaseState::replay(shown) else {
        return Err(unreplayable(findings));
    };
    let personal_fields = sop.personal_fields();
    let hashes: Vec<&str> = stored.iter().map(|s| s.hash.as_str()).collect();
    Ok(Replay {
        case_id: case_id.to_owned(),
        sop_id: sop_id.clone(),
        sop_version: *sop_version,
        sop_content_hash: checked.content_hash.clone(),
        until,
        events_total: total,
        personal_data: personal.label().to_owned(),
        verified: findings.is_empty(),
        findings,
        steps: steps(sop, shown, &state.visits, personal),
        events: shown
            .iter()
            .zip(hashes)
            .map(|(e, hash)| ReplayEvent {
                seq: e.seq,
                kind: e.body.kind().to_owned(),
                at: e.at,
                by: by(e),
                event: serde_json::to_value(shown_event(e, personal_fields, personal))
                    .unwrap_or(Value::Null),
                hash: hash.to_owned(),
            })
            .collect(),
        state: state_view(&state, personal_fields, personal),
    })
}

fn by(e: &Event) -> By {
    By {
        user: e.by.user.to_string(),
        role: e.by.role.to_string(),
    }
}

/// The stays at steps: one per `step_entered` fact, each with the events that belong to it.
/// A v2 event holds several facts (a completion, its branch, the next entry): each is
/// attached where it belongs, as the v1 events holding one fact each were.
fn steps(
    sop: &Sop,
    events: &[Event],
    visits: &[StepVisit],
    personal: &Personal,
) -> Vec<ReplayStep> {
    // Each step's documents as they stood at its completion, from the case folded on the
    // events as recorded (document conditions read the real values).
    let mut checklists = checklists(sop, events).into_iter().peekable();
    // Masked once, up front: nothing below sees a personal value unless revealed.
    let events: Vec<Event> = events
        .iter()
        .map(|e| shown_event(e, sop.personal_fields(), personal))
        .collect();
    let mut out: Vec<ReplayStep> = Vec::new();
    // Documents and data recorded before their step is entered (with the case's start).
    let mut early: Vec<(&Event, &EventBody)> = Vec::new();
    for (event, (n, fact)) in events
        .iter()
        .flat_map(|e| e.facts().enumerate().map(move |f| (e, f)))
    {
        if checklists
            .peek()
            .is_some_and(|(at, _)| *at == (event.seq, n))
            && let (Some((_, checks)), Some(stay)) = (checklists.next(), out.last_mut())
        {
            stay.missing_documents = checks
                .iter()
                .filter(|c| c.state() == DocumentState::Missing)
                .map(|c| c.doc.to_string())
                .collect();
            stay.checklist = checks
                .into_iter()
                .map(|c| ReplayCheck {
                    state: match c.state() {
                        DocumentState::Received => "received",
                        DocumentState::Missing => "missing",
                        DocumentState::NotNeeded => "not_needed",
                    }
                    .to_owned(),
                    doc: c.doc.to_string(),
                    required: c.required,
                    received: c.received,
                })
                .collect();
        }
        match fact {
            EventBody::StepEntered { step, visit, .. } => {
                let idx = sop.step_index(step);
                let def = idx.map(|i| sop.step(i));
                let budget = idx.and_then(|i| sop.compiled(i).budget);
                let stay = visits.get(out.len());
                let mut entry = ReplayStep {
                    step: step.to_string(),
                    name: def.map(|d| d.name.clone()).unwrap_or_default(),
                    row: def.map(|d| d.row).unwrap_or(0),
                    kind: def.map(|d| d.kind.as_str().to_owned()).unwrap_or_default(),
                    actor: def.map(|d| d.actor.clone()).unwrap_or_default(),
                    visit: *visit,
                    entered_seq: event.seq,
                    entered_at: event.at,
                    completed_at: None,
                    completed_by: None,
                    outcome: None,
                    spent_seconds: None,
                    budget_step: stay.and_then(|v| v.budget_step.as_deref().map(str::to_owned)),
                    budget_seconds: budget.map(|(_, d)| d.as_secs()),
                    due_at: stay.and_then(|v| v.due_at),
                    budget: if budget.is_some() { "running" } else { "none" }.to_owned(),
                    documents: Vec::new(),
                    checklist: Vec::new(),
                    missing_documents: Vec::new(),
                    data: Map::new(),
                    queue_number: None,
                    branch: None,
                    events: vec![event.seq],
                };
                let (mine, others): (Vec<_>, Vec<_>) = early
                    .drain(..)
                    .partition(|(_, f)| fact_step(f) == Some(&**step));
                early = others;
                for (e, f) in mine {
                    attach(sop, &mut entry, e, f);
                }
                out.push(entry);
            }
            EventBody::CaseStarted { .. } => {}
            EventBody::DocumentsRecorded { step, .. } | EventBody::DataRecorded { step, .. }
                if out.last().is_none_or(|s| *s.step != **step) =>
            {
                early.push((event, fact));
            }
            EventBody::BranchTaken { from, .. } => {
                if let Some(stay) = out.iter_mut().rev().find(|s| *s.step == **from) {
                    attach(sop, stay, event, fact);
                }
            }
            _ => {
                if let Some(stay) = out.last_mut() {
                    attach(sop, stay, event, fact);
                }
            }
        }
    }
    out
}

/// For each `step_completed` fact (by event seq and place in the event), the step's document
/// checklist on the case as it stood then (the documents recorded with it included).
fn checklists(sop: &Sop, events: &[Event]) -> Vec<((u64, usize), Vec<DocumentCheck>)> {
    let mut out = Vec::new();
    let Some(first) = events.first() else {
        return out;
    };
    let Ok(mut state) = CaseState::from_first_parts(first.seq, first.at, &first.body) else {
        return out;
    };
    // Every fact after the first (`case_started`), in order.
    let facts = events
        .iter()
        .flat_map(|e| e.facts().enumerate().map(move |f| (e, f)))
        .skip(1);
    for (event, (n, fact)) in facts {
        if state.apply_fact(event.seq, event.at, fact).is_err() {
            break;
        }
        if let EventBody::StepCompleted { step, .. } = fact
            && let Some(idx) = sop.step_index(step)
            && let Ok(checks) = document_checklist(sop, idx, &state.data, &state.documents)
        {
            out.push(((event.seq, n), checks));
        }
    }
    out
}

/// The step a recording fact names.
fn fact_step(fact: &EventBody) -> Option<&str> {
    match fact {
        EventBody::DocumentsRecorded { step, .. } | EventBody::DataRecorded { step, .. } => {
            Some(step)
        }
        _ => None,
    }
}

fn attach(sop: &Sop, stay: &mut ReplayStep, event: &Event, fact: &EventBody) {
    if !stay.events.contains(&event.seq) {
        stay.events.push(event.seq);
    }
    let documents_of = |stay: &mut ReplayStep, documents: &[DocumentReceipt]| {
        stay.documents
            .extend(documents.iter().map(|d: &DocumentReceipt| ReplayDocument {
                doc: d.doc.clone(),
                number: d.number.clone(),
                received: d.received,
                sha256: d.sha256.clone(),
                at: event.at,
                by: by(event),
            }))
    };
    match fact {
        EventBody::DocumentsRecorded { documents, .. } => documents_of(stay, documents),
        EventBody::DataRecorded { data, .. } => {
            for (k, v) in data {
                stay.data.insert(k.clone(), v.clone());
            }
        }
        EventBody::QueueNumberAssigned { number, .. } => stay.queue_number = Some(number.clone()),
        EventBody::StepCompleted {
            outcome,
            documents,
            data,
            ..
        } => {
            // v2: the documents and data recorded with the completion.
            documents_of(stay, documents);
            for (k, v) in data {
                stay.data.insert(k.clone(), v.clone());
            }
            stay.completed_at = Some(event.at);
            stay.completed_by = Some(by(event));
            stay.outcome = outcome.clone();
            stay.spent_seconds = Some(seconds(stay.entered_at, event.at));
            if let Some(due) = stay.due_at {
                stay.budget = if event.at > due { "over" } else { "under" }.to_owned();
            }
        }
        EventBody::TimeBudgetExceeded { .. } => stay.budget = "over".to_owned(),
        EventBody::BranchTaken {
            from,
            to,
            branch,
            label,
            evaluations,
        } => {
            // A v2 event leaves the label and the guards' text to the pinned SOP.
            let branches = sop.step_index(from).map(|i| &sop.compiled(i).branches);
            let label = label.as_deref().map(str::to_owned).or_else(|| {
                branches
                    .and_then(|b| b.get(*branch))
                    .and_then(|b| b.label.as_deref().map(str::to_owned))
            });
            let guard_text = |g: &sopflow_engine::case::GuardEvaluation| {
                if !g.guard.is_empty() {
                    return g.guard.to_string();
                }
                branches
                    .and_then(|b| b.get(g.branch))
                    .and_then(|b| b.guard.as_ref())
                    .map(|c| c.source.to_string())
                    .unwrap_or_default()
            };
            stay.branch = Some(ReplayBranch {
                to: to.to_string(),
                branch: *branch,
                label,
                guards: evaluations
                    .iter()
                    .map(|g| ReplayGuard {
                        branch: g.branch,
                        guard: guard_text(g),
                        result: g.result,
                        values: g.values.clone(),
                    })
                    .collect(),
                at: event.at,
            })
        }
        _ => {}
    }
}

fn state_view(state: &CaseState, personal_fields: &[String], personal: &Personal) -> ReplayState {
    let mut data = state.data.clone();
    let mut documents = serde_json::to_value(&state.documents).unwrap_or(Value::Null);
    if !personal.is_revealed() {
        super::mask_map(&mut data, personal_fields);
        super::mask_document_numbers(&mut documents);
    }
    ReplayState {
        status: state.status.as_str().to_owned(),
        version: state.version,
        current_step: state.current_step.as_deref().map(str::to_owned),
        data,
        documents,
        queue_number: state.queue_number.clone(),
        pending_request: state
            .pending_request
            .as_ref()
            .map(|p| p.idempotency_key.clone()),
        incident: state.incident.clone(),
        clock: state.clock.as_ref().map(|c| ReplayClock {
            step: c.step.to_string(),
            due_at: c.due_at,
            exceeded: c.exceeded,
        }),
        total_due_at: state.total_due_at,
        total_exceeded: state.total_exceeded,
        closed_at: state.closed_at,
    }
}
