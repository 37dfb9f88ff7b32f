//! Reads and calls that span cases or SOP versions, below the faces: the SOP catalogue, a
//! role's inbox, and calling the next number of a queue. The faces check nothing of their
//! own here: who may list or call is decided in these functions.

use std::sync::Arc;

use sopflow_engine::case::{Actor, Command};
use sopflow_engine::sop::model::StepKind;
use sopflow_store::{CaseFilter, Page, Release, SopVersion};
use time::OffsetDateTime;

use crate::auth::{ADMIN, User};
use crate::registry::Deployed;
use crate::runtime::{CommandRequest, LoadedCase, Outcome, Runtime, RuntimeError};

/// Why a query was refused.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The caller's role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// No such queue, SOP...
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
}

impl From<sopflow_store::Error> for QueryError {
    fn from(e: sopflow_store::Error) -> Self {
        QueryError::Runtime(e.into())
    }
}

/// One SOP: its versions, oldest first, the title of the newest, and which version new cases
/// start on now and later.
#[derive(Debug, Clone)]
pub struct SopEntry {
    pub sop_id: String,
    pub title: String,
    pub latest_version: i64,
    pub versions: Vec<SopVersion>,
    /// The version new cases start on now (none while every release is still ahead).
    pub in_force: Option<i64>,
    /// Releases that will still take effect, in recorded order.
    pub scheduled: Vec<Release>,
    /// Every release, in recorded order: who chose which version, why, from when.
    pub releases: Vec<Release>,
}

impl SopEntry {
    fn new(
        sop_id: &str,
        versions: Vec<SopVersion>,
        releases: Vec<Release>,
        now: OffsetDateTime,
        offset: time::UtcOffset,
    ) -> Self {
        let latest_version = versions.iter().map(|v| v.version).max().unwrap_or(0);
        let in_force = match crate::releases::in_force(&releases, now, offset) {
            Some(r) => Some(r.version),
            None if releases.is_empty() => Some(latest_version),
            None => None,
        };
        let scheduled = crate::releases::scheduled(&releases, now, offset)
            .into_iter()
            .cloned()
            .collect();
        Self {
            sop_id: sop_id.to_owned(),
            title: String::new(),
            latest_version,
            versions,
            in_force,
            scheduled,
            releases,
        }
    }
}

/// Every SOP with its versions and releases, by SOP id.
pub async fn sop_catalog(
    runtime: &Runtime,
    now: OffsetDateTime,
) -> Result<Vec<SopEntry>, RuntimeError> {
    let mut versions = runtime.store.all_sop_versions().await?;
    let mut releases = runtime.store.releases(None).await?;
    let mut ids: Vec<String> = versions.iter().map(|v| v.sop_id.clone()).collect();
    ids.dedup();
    let mut sops = Vec::with_capacity(ids.len());
    for id in ids {
        let (mine, rest): (Vec<_>, Vec<_>) = versions.into_iter().partition(|v| v.sop_id == id);
        versions = rest;
        let (its, rest): (Vec<_>, Vec<_>) = releases.into_iter().partition(|r| r.sop_id == id);
        releases = rest;
        let mut entry = SopEntry::new(&id, mine, its, now, runtime.registry.utc_offset());
        entry.title = title(runtime, &id, entry.latest_version).await;
        sops.push(entry);
    }
    Ok(sops)
}

/// One SOP with its versions and releases, if it has any version.
pub async fn sop_entry(
    runtime: &Runtime,
    sop_id: &str,
    now: OffsetDateTime,
) -> Result<Option<SopEntry>, RuntimeError> {
    let versions = runtime.store.sop_versions(sop_id).await?;
    if versions.is_empty() {
        return Ok(None);
    }
    let releases = runtime.store.releases(Some(sop_id)).await?;
    let mut entry = SopEntry::new(
        sop_id,
        versions,
        releases,
        now,
        runtime.registry.utc_offset(),
    );
    entry.title = title(runtime, sop_id, entry.latest_version).await;
    Ok(Some(entry))
}

/// The title of a version (empty when it cannot be loaded: a listing still lists it).
async fn title(runtime: &Runtime, sop_id: &str, version: i64) -> String {
    let Ok(version) = u32::try_from(version) else {
        return String::new();
    };
    match runtime.registry.get(&runtime.store, sop_id, version).await {
        Ok(Some(d)) => d.sop.document().header.title.clone(),
        _ => String::new(),
    }
}

/// Whether `role` acts on step `idx` of `d`: records it (a task, or a service step without
/// an adapter) or calls its queue (`Sop::may_record` says who may, for every kind).
fn acts_on(d: &Deployed, idx: usize, role: &str) -> bool {
    match d.sop.step(idx).kind {
        StepKind::Task | StepKind::Service | StepKind::Queue => d.sop.may_record(idx, role),
        _ => false,
    }
}

/// The open cases at a step `role` acts on, most urgent first (the earliest due; cases
/// without a budget first, as they have waited without a clock). A user lists its own
/// role's inbox; an admin any role's.
pub async fn inbox(
    runtime: &Runtime,
    viewer: &User,
    role: &str,
) -> Result<Vec<LoadedCase>, QueryError> {
    if role != viewer.role && !viewer.is(ADMIN) {
        return Err(QueryError::Forbidden(format!(
            "role `{}` may only list its own inbox",
            viewer.role
        )));
    }
    let steps = steps_where(runtime, |d, idx| acts_on(d, idx, role)).await?;
    if steps.is_empty() {
        return Ok(Vec::new());
    }
    let rows = open_cases_at(runtime, &steps).await?;
    let mut out = Vec::new();
    for row in rows {
        let in_version = steps.iter().any(|(sop, v, s)| {
            *sop == row.sop_id
                && i64::from(*v) == row.sop_version
                && Some(s) == row.current_step.as_ref()
        });
        if !in_version {
            continue;
        }
        let Ok(loaded) = runtime.load(&row.case_id).await else {
            continue;
        };
        if !loaded.state.status.is_closed() {
            out.push(loaded);
        }
    }
    out.sort_by(|a, b| {
        let due = |c: &LoadedCase| c.state.clock.as_ref().map(|c| c.due_at);
        (due(a), &a.state.case_id).cmp(&(due(b), &b.state.case_id))
    });
    Ok(out)
}

/// Calls the next waiting case of `queue` (the oldest number first) for `actor` at `counter`;
/// `None` when nobody is waiting. Another operator calling the same case first is not an
/// error: the next case is taken. A committed call is announced on [`Runtime::calls`].
pub async fn call_next(
    runtime: &Runtime,
    queue: &str,
    actor: &Actor,
    counter: Option<&str>,
    now: OffsetDateTime,
) -> Result<Option<Outcome>, QueryError> {
    let steps = steps_where(runtime, |d, idx| {
        d.sop.step(idx).queue.as_deref() == Some(queue)
    })
    .await?;
    if steps.is_empty() {
        return Err(QueryError::NotFound(format!("no queue `{queue}`")));
    }
    let mut allowed = false;
    let mut queue_name = String::new();
    for (sop_id, version, step) in &steps {
        if let Ok(Some(d)) = runtime.registry.get(&runtime.store, sop_id, *version).await {
            allowed |= d
                .sop
                .step_index(step)
                .is_some_and(|idx| d.sop.may_record(idx, &actor.role));
            if let Some(def) = d.sop.document().queues.iter().find(|q| q.id == queue) {
                queue_name.clone_from(&def.name);
            }
        }
    }
    if !allowed {
        return Err(QueryError::Forbidden(format!(
            "role `{}` may not call queue `{queue}`",
            actor.role
        )));
    }
    let rows = open_cases_at(runtime, &steps).await?;
    let mut waiting = Vec::new();
    for row in rows {
        if let Ok(state) = runtime.state_at(&row.case_id, row.version).await
            && let Some(order) = crate::queue::call_order(&state, runtime.utc_offset)
        {
            waiting.push((order, row.case_id));
        }
    }
    waiting.sort();
    for ((_, number), case_id) in waiting {
        // Another call of this process is taking that one: take the next.
        let Some(_reserved) = runtime.reserve_call(&case_id) else {
            continue;
        };
        let command = Command::CallFromQueue {
            queue: queue.to_owned(),
        };
        match runtime
            .run(CommandRequest::on_case(
                case_id,
                command,
                actor.clone(),
                now,
            ))
            .await
        {
            Ok(outcome) => {
                runtime.calls.publish(crate::queue::QueueCall {
                    queue: queue.to_owned(),
                    queue_name,
                    number: number.to_string(),
                    counter: counter.map(str::to_owned),
                    at: now,
                    recall: false,
                });
                return Ok(Some(outcome));
            }
            // Another operator called this one first: take the next.
            Err(RuntimeError::Command { .. } | RuntimeError::Conflict { .. }) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(None)
}

/// The open cases currently at one of `steps`.
async fn open_cases_at(
    runtime: &Runtime,
    steps: &[(String, u32, String)],
) -> Result<Vec<sopflow_store::CaseRecord>, RuntimeError> {
    let filter = CaseFilter {
        statuses: Some(vec!["open".into()]),
        current_steps: Some(steps.iter().map(|(_, _, s)| s.clone()).collect()),
        ..CaseFilter::default()
    };
    Ok(runtime.store.list_cases(&filter, &Page::first(500)).await?)
}

/// `(sop_id, version, step_id)` of every known SOP version's steps that match.
async fn steps_where(
    runtime: &Runtime,
    matches: impl Fn(&Deployed, usize) -> bool,
) -> Result<Vec<(String, u32, String)>, RuntimeError> {
    let store = &runtime.store;
    let versions = store.all_sop_versions().await?;
    let mut out = Vec::new();
    for v in versions {
        let Ok(version) = u32::try_from(v.version) else {
            continue;
        };
        let Some(d): Option<Arc<Deployed>> =
            runtime.registry.get(store, &v.sop_id, version).await?
        else {
            continue;
        };
        for idx in 0..d.sop.step_count() {
            if matches(&d, idx) {
                out.push((d.sop_id.clone(), version, d.sop.step(idx).id.clone()));
            }
        }
    }
    Ok(out)
}

/// A role's inbox, one page of it: the most urgent open cases at the steps the role acts on,
/// and how many there are in all.
#[derive(Debug, Clone)]
pub struct InboxPage {
    pub total: i64,
    pub cases: Vec<LoadedCase>,
}

/// The first `limit` cases of `role`'s inbox, most urgent first: overdue ones, then by due
/// time, then those without a budget; oldest first within each. The store orders and counts
/// (an inbox of 10,000 cases loads only the page shown). Who may list: as [`inbox`].
pub async fn inbox_page(
    runtime: &Runtime,
    viewer: &User,
    role: &str,
    limit: u32,
) -> Result<InboxPage, QueryError> {
    if role != viewer.role && !viewer.is(ADMIN) {
        return Err(QueryError::Forbidden(format!(
            "role `{}` may only list its own inbox",
            viewer.role
        )));
    }
    let steps = step_keys(steps_where(runtime, |d, idx| acts_on(d, idx, role)).await?);
    let urgent = runtime.store.urgent_open_cases(&steps, limit).await?;
    let mut cases = Vec::with_capacity(urgent.cases.len());
    for row in urgent.cases {
        let Ok(state) = runtime.state_at(&row.case_id, row.version).await else {
            continue;
        };
        let Ok(version) = u32::try_from(row.sop_version) else {
            continue;
        };
        if let Some(deployed) = runtime
            .registry
            .get(&runtime.store, &row.sop_id, version)
            .await?
        {
            cases.push(LoadedCase { deployed, state });
        }
    }
    Ok(InboxPage {
        total: urgent.total,
        cases,
    })
}

fn step_keys(steps: Vec<(String, u32, String)>) -> Vec<sopflow_store::StepKey> {
    steps
        .into_iter()
        .map(|(sop_id, version, step)| sopflow_store::StepKey {
            sop_id,
            sop_version: i64::from(version),
            step,
        })
        .collect()
}

/// Whether `role` may open a case of `d`: it records the SOP's first step.
pub fn may_open(d: &Deployed, role: &str) -> bool {
    d.sop.may_record(d.sop.start(), role)
}

/// The SOPs `role` may open cases of, on the version new cases start on now, by SOP id.
pub async fn openable_sops(
    runtime: &Runtime,
    role: &str,
) -> Result<Vec<Arc<Deployed>>, RuntimeError> {
    let now = OffsetDateTime::now_utc();
    let mut out = Vec::new();
    for v in runtime.store.latest_sop_versions().await? {
        if let Some(d) = runtime
            .registry
            .in_force(&runtime.store, &v.sop_id, now)
            .await?
            && may_open(&d, role)
        {
            out.push(d);
        }
    }
    Ok(out)
}

/// Whether `role` works on cases of `d` (records one of its steps or calls one of its
/// queues), and so sees their personal data. Admins, auditors and other roles see it masked;
/// an auditor reveals it with a reason through the audit tools, which record it.
pub fn sees_personal_data(d: &Deployed, role: &str) -> bool {
    (0..d.sop.step_count()).any(|idx| acts_on(d, idx, role))
        || d.sop
            .document()
            .queues
            .iter()
            .any(|q| q.called_by.iter().any(|r| r == role))
}

/// A document of a step's checklist: whether the SOP's conditions require it for the case
/// data given, and whether the case holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChecklistItem {
    pub doc: String,
    pub name: String,
    pub required: bool,
    pub received: bool,
}

impl ChecklistItem {
    /// Required and not held: what blocks the step or sends the file back.
    pub fn missing(&self) -> bool {
        self.required && !self.received
    }
}

/// The documents step `idx` needs or checks, evaluated with the SOP's conditions on `data`
/// (the case's, or what a form would set), against `held`.
pub fn checklist(
    d: &Deployed,
    idx: usize,
    data: &serde_json::Map<String, serde_json::Value>,
    held: &sopflow_engine::case::Documents,
) -> Result<Vec<ChecklistItem>, sopflow_engine::guard::GuardError> {
    let sop = &d.sop;
    // Required ones are those "missing" from an empty file.
    let required = sopflow_engine::case::decide::missing_documents(
        sop,
        idx,
        data,
        &sopflow_engine::case::Documents::default(),
    )?;
    Ok(sop
        .compiled(idx)
        .documents
        .iter()
        .map(|&doc| {
            let def = &sop.document().documents[doc];
            ChecklistItem {
                doc: def.id.clone(),
                name: def.name.clone(),
                required: required.iter().any(|r| **r == *def.id),
                received: held.get(&def.id).is_some_and(|r| r.received),
            }
        })
        .collect())
}

/// The case with this registration number (as typed), for officers finding a returning
/// applicant.
pub async fn find_by_registration(
    runtime: &Runtime,
    typed: &str,
) -> Result<Option<String>, RuntimeError> {
    let number = crate::registration::normalise_registration_number(typed);
    if number.is_empty() || number.len() > 100 {
        return Ok(None);
    }
    Ok(runtime
        .store
        .case_by_registration(&number)
        .await?
        .map(|r| r.case_id))
}

/// Where a case stands, in the words the public status page may show: no personal data, no
/// case id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicStatus {
    /// The service (the SOP's title).
    pub service: String,
    /// The step's name in the SOP (for a completed case: its end step's).
    pub step: Option<String>,
    pub stage: PublicStage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicStage {
    /// Being worked on.
    InProgress,
    /// Stopped until an officer deals with a problem.
    OnHold,
    /// At a step the SOP marks `ready_to_collect`.
    ReadyToCollect,
    Completed,
    Cancelled,
}

/// The public status of the case whose tracking code was typed; `None` for a code that is
/// not one (the caller answers unknown and malformed codes alike, and rate-limits).
pub async fn public_status(
    runtime: &Runtime,
    typed_code: &str,
) -> Result<Option<PublicStatus>, RuntimeError> {
    let Some(code) = crate::codes::normalise_tracking_code(typed_code) else {
        return Ok(None);
    };
    let Some(refs) = runtime.store.case_by_tracking_code(&code).await? else {
        return Ok(None);
    };
    let loaded = runtime.load(&refs.case_id).await?;
    let sop = &loaded.deployed.sop;
    let state = &loaded.state;
    let idx = state
        .current_step
        .as_deref()
        .and_then(|s| sop.step_index(s));
    let stage = match state.status {
        sopflow_engine::case::CaseStatus::Completed => PublicStage::Completed,
        sopflow_engine::case::CaseStatus::Cancelled => PublicStage::Cancelled,
        sopflow_engine::case::CaseStatus::Incident => PublicStage::OnHold,
        sopflow_engine::case::CaseStatus::Open => match idx {
            Some(i) if sop.step(i).ready_to_collect => PublicStage::ReadyToCollect,
            _ => PublicStage::InProgress,
        },
    };
    Ok(Some(PublicStatus {
        service: sop.document().header.title.clone(),
        step: idx.map(|i| sop.step(i).name.clone()),
        stage,
    }))
}

/// `(sop_id, version, step_id)`: a step of one SOP version.
type StepOf = (String, u32, String);

/// A queue as the display board shows it: how many wait.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueSummary {
    pub queue: String,
    pub name: String,
    pub prefix: String,
    pub waiting: i64,
}

/// Every queue of the SOPs in force, with the number of cases waiting in it, by queue id.
pub async fn queue_summaries(runtime: &Runtime) -> Result<Vec<QueueSummary>, RuntimeError> {
    let steps = steps_where(runtime, |d, idx| d.sop.step(idx).kind == StepKind::Queue).await?;
    let mut queues: Vec<(QueueSummary, Vec<StepOf>)> = Vec::new();
    for (sop_id, version, step) in steps {
        let Some(d) = runtime
            .registry
            .get(&runtime.store, &sop_id, version)
            .await?
        else {
            continue;
        };
        let Some(def) = d
            .sop
            .document()
            .step(&step)
            .and_then(|s| s.queue.as_ref())
            .and_then(|q| d.sop.document().queues.iter().find(|def| def.id == *q))
        else {
            continue;
        };
        match queues.iter_mut().find(|(q, _)| q.queue == def.id) {
            Some((_, keys)) => keys.push((sop_id, version, step)),
            None => queues.push((
                QueueSummary {
                    queue: def.id.clone(),
                    name: def.name.clone(),
                    prefix: def.prefix.clone(),
                    waiting: 0,
                },
                vec![(sop_id, version, step)],
            )),
        }
    }
    let mut out = Vec::with_capacity(queues.len());
    for (mut summary, keys) in queues {
        summary.waiting = runtime
            .store
            .urgent_open_cases(&step_keys(keys), 0)
            .await?
            .total;
        out.push(summary);
    }
    out.sort_by(|a, b| a.queue.cmp(&b.queue));
    Ok(out)
}

/// The queues `role` may call, as [`queue_summaries`] gives them.
pub async fn queues_called_by(
    runtime: &Runtime,
    role: &str,
) -> Result<Vec<QueueSummary>, RuntimeError> {
    let mut callable = Vec::new();
    for v in runtime.store.latest_sop_versions().await? {
        let Ok(version) = u32::try_from(v.version) else {
            continue;
        };
        if let Some(d) = runtime
            .registry
            .get(&runtime.store, &v.sop_id, version)
            .await?
        {
            for q in &d.sop.document().queues {
                if q.called_by.iter().any(|r| r == role) {
                    callable.push(q.id.clone());
                }
            }
        }
    }
    Ok(queue_summaries(runtime)
        .await?
        .into_iter()
        .filter(|q| callable.contains(&q.queue))
        .collect())
}

/// The registration number and tracking code of a case, for its receipt; only to roles that
/// work the case (the code is the applicant's key to the status page) and admins.
pub async fn receipt_references(
    runtime: &Runtime,
    viewer: &User,
    loaded: &LoadedCase,
) -> Result<Option<sopflow_store::CaseReferences>, QueryError> {
    if !sees_personal_data(&loaded.deployed, &viewer.role) && !viewer.is(ADMIN) {
        return Err(QueryError::Forbidden(format!(
            "role `{}` does not work cases of `{}`",
            viewer.role, loaded.deployed.sop_id
        )));
    }
    Ok(runtime.store.case_references(&loaded.state.case_id).await?)
}

/// Announces again a number this process called (the applicant did not come to the counter):
/// only to a role that calls that queue, only a number among the recent calls. Nothing is
/// recorded in the case (recalls, no-shows and transfers become history with counters).
pub async fn recall(
    runtime: &Runtime,
    role: &str,
    queue: &str,
    number: &str,
    counter: Option<&str>,
    now: OffsetDateTime,
) -> Result<bool, QueryError> {
    let callable = queues_called_by(runtime, role).await?;
    if !callable.iter().any(|q| q.queue == queue) {
        return Err(QueryError::Forbidden(format!(
            "role `{role}` may not call queue `{queue}`"
        )));
    }
    let Some(call) = runtime
        .calls
        .recent()
        .into_iter()
        .find(|c| c.queue == queue && c.number == number)
    else {
        return Ok(false);
    };
    runtime.calls.publish(crate::queue::QueueCall {
        counter: counter.map(str::to_owned).or(call.counter),
        at: now,
        recall: true,
        ..call
    });
    Ok(true)
}
