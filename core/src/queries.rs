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

/// Calls the next waiting case of `queue` (the oldest number first) for `actor`; `None` when
/// nobody is waiting. Another operator calling the same case first is not an error: the next
/// case is taken.
pub async fn call_next(
    runtime: &Runtime,
    queue: &str,
    actor: &Actor,
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
    for (sop_id, version, step) in &steps {
        if let Ok(Some(d)) = runtime.registry.get(&runtime.store, sop_id, *version).await {
            allowed |= d
                .sop
                .step_index(step)
                .is_some_and(|idx| d.sop.may_record(idx, &actor.role));
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
    for (_, case_id) in waiting {
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
            Ok(outcome) => return Ok(Some(outcome)),
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
