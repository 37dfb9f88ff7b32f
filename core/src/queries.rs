//! Reads and calls that span cases or SOP versions, below the faces: the SOP catalogue, a
//! role's inbox, and calling the next number of a queue. The faces check nothing of their
//! own here: who may list or call is decided in these functions.

use std::sync::Arc;

use sopflow_engine::sop::model::StepKind;
use std::collections::{BTreeSet, HashMap};

use sopflow_store::{CaseFilter, CaseRecord, Membership, Page, Release, SopVersion};
use time::OffsetDateTime;

use crate::access::Sight;
use crate::auth::{ADMIN, AUDITOR, User};
use crate::registry::Deployed;
use crate::runtime::{LoadedCase, Runtime, RuntimeError};

/// Why a query was refused.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The caller's role may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// No such queue, SOP, service point, counter...
    #[error("{0}")]
    NotFound(String),
    /// The request cannot be answered as asked (a field that is not searchable...).
    #[error("{0}")]
    Invalid(String),
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
    pub latest_version: u32,
    pub versions: Vec<SopVersion>,
    /// The version new cases start on now (none while every release is still ahead).
    pub in_force: Option<u32>,
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

/// How many cases run on each version of `sop_id` (versions without cases left out).
pub async fn cases_per_version(
    runtime: &Runtime,
    sop_id: &str,
) -> Result<std::collections::BTreeMap<u32, i64>, RuntimeError> {
    Ok(runtime
        .store
        .count_cases_by_version(sop_id)
        .await?
        .into_iter()
        .collect())
}

/// The title of a version (empty when it cannot be loaded: a listing still lists it).
async fn title(runtime: &Runtime, sop_id: &str, version: u32) -> String {
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

/// Where `viewer` may list `role`'s work: the service points where they hold it (an admin:
/// where they are admin); `None` for every service point. With `point`, only there, if they
/// may.
fn points_for(
    viewer: &User,
    role: &str,
    point: Option<&str>,
) -> Result<Option<Vec<String>>, QueryError> {
    let as_role = if viewer.is(role) { role } else { ADMIN };
    if let Some(point) = point {
        return if viewer.holds(as_role, point) {
            Ok(Some(vec![point.to_owned()]))
        } else {
            Err(QueryError::Forbidden(format!(
                "{} does not work as `{role}` at `{point}`",
                viewer.name
            )))
        };
    }
    let mut points = Vec::new();
    for m in viewer.memberships.iter().filter(|m| m.role == as_role) {
        if m.service_point == Membership::EVERYWHERE {
            return Ok(None);
        }
        points.push(m.service_point.clone());
    }
    Ok(Some(points))
}

/// The open cases at a step `role` acts on, at the service points where the viewer holds
/// it (or at `point`), most urgent first (the earliest due; cases without a budget first, as
/// they have waited without a clock). A user lists the inbox of a role of theirs; an admin
/// any role's, where they are admin.
pub async fn inbox(
    runtime: &Runtime,
    viewer: &User,
    role: &str,
    point: Option<&str>,
) -> Result<Vec<LoadedCase>, QueryError> {
    if !viewer.is(role) && !viewer.is(ADMIN) {
        return Err(QueryError::Forbidden(format!(
            "{} may only list the inbox of their own roles ({})",
            viewer.name,
            viewer.roles().join(", ")
        )));
    }
    let points = points_for(viewer, role, point)?;
    let steps = steps_where(runtime, |d, idx| acts_on(d, idx, role)).await?;
    if steps.is_empty() {
        return Ok(Vec::new());
    }
    let rows = open_cases_at(runtime, &steps, points).await?;
    let mut out = Vec::new();
    for row in rows {
        let Ok(loaded) = runtime.load_listed(row).await else {
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

/// A page of the cases `viewer` may see among those `filter` selects, with how they see
/// each, and the `after` of the next page (`None` on the last). A page may hold fewer cases
/// than `page.limit` when some on it are not the viewer's to see.
pub async fn list_cases(
    runtime: &Runtime,
    viewer: &User,
    mut filter: CaseFilter,
    page: Page,
) -> Result<(Vec<(CaseRecord, Sight)>, Option<String>), QueryError> {
    let versions = version_roles(runtime).await?;
    // The SOPs and service points the viewer sees anything of: the store's first cut.
    let mut sops: BTreeSet<String> = BTreeSet::new();
    let mut every_sop = false;
    let mut points: BTreeSet<String> = BTreeSet::new();
    let mut every_point = false;
    for m in &viewer.memberships {
        let seen: Vec<&String> = versions
            .iter()
            .filter(|(_, roles)| roles.contains(&m.role))
            .map(|((sop, _), _)| sop)
            .collect();
        let all = m.role == ADMIN || m.role == AUDITOR;
        if !all && seen.is_empty() {
            continue;
        }
        every_sop |= all;
        sops.extend(seen.into_iter().cloned());
        if m.service_point == Membership::EVERYWHERE {
            every_point = true;
        } else {
            points.insert(m.service_point.clone());
        }
    }
    // What the caller asked for, narrowed to what the viewer sees (never widened).
    if !every_sop {
        filter.sop_ids = Some(match filter.sop_ids.take() {
            Some(asked) => asked.into_iter().filter(|s| sops.contains(s)).collect(),
            None => sops.into_iter().collect(),
        });
    }
    if !every_point {
        filter.service_points = Some(match filter.service_points.take() {
            Some(asked) => asked.into_iter().filter(|p| points.contains(p)).collect(),
            None => points.into_iter().collect(),
        });
    }
    let limit = page.limit;
    let rows = runtime.store.list_cases(&filter, &page).await?;
    let next = (rows.len() as u32 == limit)
        .then(|| rows.last().map(|r| r.case_id.clone()))
        .flatten();
    let no_roles = BTreeSet::new();
    let seen = rows
        .into_iter()
        .filter_map(|row| {
            let roles = versions
                .get(&(row.sop_id.clone(), row.sop_version))
                .unwrap_or(&no_roles);
            let point = runtime.point_of(&row);
            crate::access::sight_by_roles(viewer, roles, &point).map(|s| (row, s))
        })
        .collect();
    Ok((seen, next))
}

/// The cases `viewer` may see whose searchable field `field` has `value` (of `sop_id`, if
/// given), a page at a time. A field that is personal data finds only the cases the viewer
/// sees in full: one who sees them masked learns nothing from a NIK.
pub async fn search(
    runtime: &Runtime,
    viewer: &User,
    sop_id: Option<String>,
    field: &str,
    value: &serde_json::Value,
    page: Page,
) -> Result<(Vec<(CaseRecord, Sight)>, Option<String>), QueryError> {
    let mut searchable = false;
    let mut personal = false;
    for d in runtime.registry.all(&runtime.store).await? {
        if sop_id.as_ref().is_some_and(|s| *s != d.sop_id) {
            continue;
        }
        if d.searchable.iter().any(|f| f == field) {
            searchable = true;
            personal |= d.sop.personal_fields().iter().any(|f| f == field);
        }
    }
    if !searchable {
        return Err(QueryError::Invalid(format!(
            "`{field}` is not a searchable field of {}: an SOP marks its searchable case fields `x-searchable: true`",
            sop_id
                .as_deref()
                .map_or("any SOP".to_owned(), |s| format!("SOP `{s}`"))
        )));
    }
    let filter = CaseFilter {
        sop_id,
        search: Some(crate::search::key(field, value)),
        ..CaseFilter::default()
    };
    let (mut found, next) = list_cases(runtime, viewer, filter, page).await?;
    if personal {
        found.retain(|(_, sight)| sight.personal());
    }
    Ok((found, next))
}

/// The roles that work each SOP version, by (SOP, version).
async fn version_roles(
    runtime: &Runtime,
) -> Result<HashMap<(String, u32), BTreeSet<String>>, RuntimeError> {
    let mut out = HashMap::new();
    for d in runtime.registry.all(&runtime.store).await? {
        out.insert((d.sop_id.clone(), d.version), d.roles.clone());
    }
    Ok(out)
}

/// The open cases currently at one of `steps`, at one of `points` (`None`: anywhere).
pub(crate) async fn open_cases_at(
    runtime: &Runtime,
    steps: &[(String, u32, String)],
    points: Option<Vec<String>>,
) -> Result<Vec<sopflow_store::CaseRecord>, RuntimeError> {
    // One ordered index range per (step, service point), as the inbox page reads: a filter
    // over every case would walk the whole table on every call and every board refresh.
    let keys = step_keys(steps.to_vec());
    Ok(runtime
        .store
        .urgent_open_cases(&keys, points.as_ref(), OPEN_AT_MOST)
        .await?
        .cases)
}

/// Most open cases [`open_cases_at`] reads (the urgent ones first).
const OPEN_AT_MOST: u32 = 500;

/// `(sop_id, version, step_id)` of every known SOP version's steps that match.
pub(crate) async fn steps_where(
    runtime: &Runtime,
    matches: impl Fn(&Deployed, usize) -> bool,
) -> Result<Vec<(String, u32, String)>, RuntimeError> {
    Ok(steps_in(
        &runtime.registry.all(&runtime.store).await?,
        matches,
    ))
}

/// [`steps_where`] among `versions` (a caller that already listed them).
pub(crate) fn steps_in(
    versions: &[Arc<Deployed>],
    matches: impl Fn(&Deployed, usize) -> bool,
) -> Vec<(String, u32, String)> {
    let mut out = Vec::new();
    for d in versions {
        for idx in 0..d.sop.step_count() {
            if matches(d, idx) {
                out.push((d.sop_id.clone(), d.version, d.sop.step(idx).id.clone()));
            }
        }
    }
    out
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
/// (an inbox of 10,000 cases loads only the page shown). Who may list, and where: as
/// [`inbox`].
pub async fn inbox_page(
    runtime: &Runtime,
    viewer: &User,
    role: &str,
    point: Option<&str>,
    limit: u32,
) -> Result<InboxPage, QueryError> {
    if !viewer.is(role) && !viewer.is(ADMIN) {
        return Err(QueryError::Forbidden(format!(
            "{} may only list the inbox of their own roles ({})",
            viewer.name,
            viewer.roles().join(", ")
        )));
    }
    let points = points_for(viewer, role, point)?;
    let steps = step_keys(steps_where(runtime, |d, idx| acts_on(d, idx, role)).await?);
    let urgent = runtime
        .store
        .urgent_open_cases(&steps, points.as_ref(), limit)
        .await?;
    let mut cases = Vec::with_capacity(urgent.cases.len());
    for row in urgent.cases {
        if let Ok(loaded) = runtime.load_listed(row).await {
            cases.push(loaded);
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
            sop_version: version,
            step,
        })
        .collect()
}

/// The SOPs `user` may open cases of at `point`, on the version new cases start on now.
pub async fn openable_sops(
    runtime: &Runtime,
    user: &User,
    point: &str,
    now: OffsetDateTime,
) -> Result<Vec<Arc<Deployed>>, RuntimeError> {
    let mut out = Vec::new();
    for v in runtime.store.latest_sop_versions().await? {
        if let Some(d) = runtime
            .registry
            .in_force(&runtime.store, &v.sop_id, now)
            .await?
            && !crate::access::opening_roles(user, &d, point).is_empty()
        {
            out.push(d);
        }
    }
    Ok(out)
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

/// The id of the case with this registration number (as typed), for officers finding a
/// returning applicant; `None` as well for a case `viewer` may not see (as for an unknown
/// number).
pub async fn find_by_registration(
    runtime: &Runtime,
    viewer: &User,
    typed: &str,
) -> Result<Option<String>, RuntimeError> {
    let found = case_by_registration(runtime, viewer, typed).await?;
    Ok(found.map(|(loaded, _)| loaded.state.case_id.clone()))
}

/// The case with this registration number (as typed), loaded, and how `viewer` sees it;
/// `None` as well for a case they may not see (as for an unknown number).
pub async fn case_by_registration(
    runtime: &Runtime,
    viewer: &User,
    typed: &str,
) -> Result<Option<(LoadedCase, Sight)>, RuntimeError> {
    let number = crate::registration::normalise_registration_number(typed);
    if number.is_empty() || number.len() > 100 {
        return Ok(None);
    }
    let Some(refs) = runtime.store.case_by_registration(&number).await? else {
        return Ok(None);
    };
    match runtime.load_for(viewer, &refs.case_id).await {
        Ok(seen) => Ok(Some(seen)),
        Err(RuntimeError::CaseNotFound(_)) => Ok(None),
        Err(e) => Err(e),
    }
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

/// The registration number and tracking code of a case, for its receipt: only to those who
/// see it in full (the code is the applicant's key to the status page) and to admins where
/// they are admin.
pub async fn receipt_references(
    runtime: &Runtime,
    viewer: &User,
    loaded: &LoadedCase,
) -> Result<Option<sopflow_store::CaseReferences>, QueryError> {
    let sight = crate::access::sight(viewer, &loaded.deployed, &loaded.service_point);
    let admin = viewer.holds(ADMIN, &loaded.service_point);
    if !sight.is_some_and(crate::access::Sight::personal) && !admin {
        return Err(QueryError::Forbidden(format!(
            "{} does not work cases of `{}` at `{}`",
            viewer.name, loaded.deployed.sop_id, loaded.service_point
        )));
    }
    Ok(runtime.store.case_references(&loaded.state.case_id).await?)
}
