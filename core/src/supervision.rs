//! What a supervisor (kepala seksi, kepala dinas) watches at a service point today: the open
//! cases per step and how many are past their budget, the numbers waiting in each queue and
//! the oldest wait, the overdue cases by registration number and step, the cases completed
//! per hour, and the last call at each counter. Counts, numbers and times only: no case's
//! data, no personal data.

use std::collections::BTreeMap;
use std::sync::Arc;

use sopflow_engine::sop::model::StepKind;
use sopflow_store::{CaseFilter, Page};
use time::OffsetDateTime;

use crate::Runtime;
use crate::auth::{ADMIN, SUPERVISOR, User};
use crate::offices::ServicePoint;
use crate::queries::QueryError;
use crate::registry::Deployed;

/// Overdue cases listed by name (registration number); the count covers them all.
pub const BREACHES_LISTED: u32 = 50;

/// The open cases of one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepLoad {
    pub sop_id: String,
    pub service: String,
    pub version: u32,
    pub step: String,
    pub step_name: String,
    pub row: u32,
    /// The budget of the step's clock, in seconds.
    pub budget_seconds: Option<u64>,
    pub open: i64,
    pub overdue: i64,
}

/// The numbers waiting in one queue of one SOP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueLoad {
    pub sop_id: String,
    pub name: String,
    pub prefix: String,
    pub waiting: usize,
    /// When the number waiting longest entered the queue.
    pub oldest_since: Option<OffsetDateTime>,
}

/// An open case past its due time: its office number and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    pub registration: Option<String>,
    pub service: String,
    pub step_name: String,
    pub due_at: Option<OffsetDateTime>,
}

/// A counter and the last call made to it today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterLoad {
    pub name: String,
    pub last_number: Option<String>,
    pub last_at: Option<OffsetDateTime>,
}

/// A service point's live figures.
#[derive(Debug, Clone)]
pub struct Live {
    pub point: Arc<ServicePoint>,
    pub steps: Vec<StepLoad>,
    pub queues: Vec<QueueLoad>,
    pub breaches: Vec<Breach>,
    pub breach_total: i64,
    /// Completed today per local hour (0–23).
    pub completed_per_hour: [u32; 24],
    pub completed_today: usize,
    pub counters: Vec<CounterLoad>,
}

/// Whether `user` reads the aggregate figures of `point`: a supervisor or an admin there.
pub fn supervises(user: &User, point: &str) -> bool {
    user.holds(SUPERVISOR, point) || user.holds(ADMIN, point)
}

/// The service points `user` supervises.
pub async fn points(runtime: &Runtime, user: &User) -> Result<Vec<Arc<ServicePoint>>, QueryError> {
    let all = crate::counters::points_of(runtime, user).await?;
    Ok(all
        .into_iter()
        .filter(|p| supervises(user, &p.id))
        .collect())
}

async fn deployed(
    runtime: &Runtime,
    cache: &mut BTreeMap<(String, u32), Option<Arc<Deployed>>>,
    sop_id: &str,
    version: u32,
) -> Result<Option<Arc<Deployed>>, QueryError> {
    if let Some(d) = cache.get(&(sop_id.to_owned(), version)) {
        return Ok(d.clone());
    }
    let d = runtime
        .registry
        .get(&runtime.store, sop_id, version)
        .await?;
    cache.insert((sop_id.to_owned(), version), d.clone());
    Ok(d)
}

/// The live figures of service point `id` as of `now`, for a supervisor there.
pub async fn live(
    runtime: &Runtime,
    user: &User,
    id: &str,
    now: OffsetDateTime,
) -> Result<Live, QueryError> {
    if !supervises(user, id) {
        return Err(QueryError::Forbidden(format!(
            "{} does not supervise `{id}`",
            user.name
        )));
    }
    let point = crate::counters::point(runtime, id).await?;
    let store = &runtime.store;
    let mut sops = BTreeMap::new();

    // Open cases per step; the queue steps' cases are read for their wait.
    let mut steps = Vec::new();
    let mut queues: BTreeMap<(String, String), QueueLoad> = BTreeMap::new();
    let mut queue_steps = Vec::new();
    for row in store.open_cases_by_step(id, now).await? {
        let Some(d) = deployed(runtime, &mut sops, &row.sop_id, row.sop_version).await? else {
            continue;
        };
        let Some(idx) = d.sop.step_index(&row.step) else {
            continue;
        };
        let step = d.sop.step(idx);
        if step.kind == StepKind::Queue
            && let Some(queue) = &step.queue
            && let Some(q) = d.sop.document().queues.iter().find(|q| q.id == *queue)
        {
            queues
                .entry((row.sop_id.clone(), queue.clone()))
                .or_insert_with(|| QueueLoad {
                    sop_id: row.sop_id.clone(),
                    name: q.name.clone(),
                    prefix: q.prefix.clone(),
                    waiting: 0,
                    oldest_since: None,
                });
            queue_steps.push((row.sop_id.clone(), row.sop_version, row.step.clone()));
        }
        steps.push(StepLoad {
            sop_id: row.sop_id.clone(),
            service: d.sop.document().header.title.clone(),
            version: row.sop_version,
            step: row.step.clone(),
            step_name: step.name.clone(),
            row: step.row,
            budget_seconds: d.sop.compiled(idx).budget.map(|(_, b)| b.as_secs()),
            open: row.open,
            overdue: row.overdue,
        });
    }
    if !queue_steps.is_empty() {
        let filter = CaseFilter {
            statuses: Some(vec!["open".into()]),
            current_steps: Some(queue_steps.iter().map(|(_, _, s)| s.clone()).collect()),
            service_points: Some(vec![id.to_owned()]),
            ..CaseFilter::default()
        };
        for record in store.list_cases(&filter, &Page::first(500)).await? {
            let Some(current) = &record.current_step else {
                continue;
            };
            if !queue_steps
                .iter()
                .any(|(s, v, st)| *s == record.sop_id && *v == record.sop_version && st == current)
            {
                continue;
            }
            let Some(d) = deployed(runtime, &mut sops, &record.sop_id, record.sop_version).await?
            else {
                continue;
            };
            let Some(queue) = d
                .sop
                .step_index(current)
                .and_then(|i| d.sop.step(i).queue.clone())
            else {
                continue;
            };
            let Ok(state) = runtime.state_at(&record.case_id, record.version).await else {
                continue;
            };
            if state.current_completed {
                continue;
            }
            let Some((since, _)) = crate::queue::call_order(&state) else {
                continue;
            };
            if let Some(q) = queues.get_mut(&(record.sop_id.clone(), queue)) {
                q.waiting += 1;
                q.oldest_since = Some(q.oldest_since.map_or(since, |o| o.min(since)));
            }
        }
    }

    // The overdue cases, by registration number and step.
    let breach_total = steps.iter().map(|s| s.overdue).sum();
    let overdue = CaseFilter {
        statuses: Some(vec!["open".into()]),
        service_points: Some(vec![id.to_owned()]),
        overdue_at: Some(now),
        ..CaseFilter::default()
    };
    let mut breaches = Vec::new();
    for record in store
        .list_cases(&overdue, &Page::first(BREACHES_LISTED))
        .await?
    {
        let Some(d) = deployed(runtime, &mut sops, &record.sop_id, record.sop_version).await?
        else {
            continue;
        };
        let refs = store.case_references(&record.case_id).await?;
        breaches.push(Breach {
            registration: refs.map(|r| r.registration_number),
            service: d.sop.document().header.title.clone(),
            step_name: record
                .current_step
                .as_deref()
                .and_then(|s| d.sop.step_index(s))
                .map(|i| d.sop.step(i).name.clone())
                .unwrap_or_default(),
            due_at: record.due_at,
        });
    }
    breaches.sort_by(|a, b| (a.due_at, &a.registration).cmp(&(b.due_at, &b.registration)));

    // Completed today, per local hour.
    let start = point.day_start(now);
    let done = store.completed_since(id, start).await?;
    let mut completed_per_hour = [0u32; 24];
    for at in &done {
        let hour = (*at - start).whole_hours().clamp(0, 23);
        completed_per_hour[usize::try_from(hour).unwrap_or(0)] += 1;
    }

    let board = crate::counters::public_board(runtime, id, now).await?;
    let counters = board
        .counters
        .iter()
        .map(|c| CounterLoad {
            name: c.counter.name.clone(),
            last_number: c.last_call.as_ref().map(|l| l.number.clone()),
            last_at: c.last_call.as_ref().map(|l| l.at),
        })
        .collect();

    Ok(Live {
        point,
        steps,
        queues: queues.into_values().collect(),
        breaches,
        breach_total,
        completed_per_hour,
        completed_today: done.len(),
        counters,
    })
}
