//! Calling from counters: the next number of a queue called to a counter, and the state of a
//! service point's queues and counters (what a supervisor's board and a waiting room's display
//! show). Who may call, and where, is decided here.

use std::collections::BTreeMap;
use std::sync::Arc;

use sopflow_engine::case::Command;
use sopflow_engine::sop::model::StepKind;
use sopflow_store::{Counter, Membership, QueueCall};
use time::OffsetDateTime;
use tokio::sync::broadcast;

use crate::auth::User;
use crate::calls::Published;
use crate::offices::ServicePoint;
use crate::queries::{QueryError, open_cases_at, steps_in};
use crate::registry::Deployed;
use crate::runtime::{CommandRequest, Outcome, Runtime, RuntimeError};

/// Where a call is made: at which service point (`None`: the caller's), from which queue, to
/// which counter (`None`: to no counter).
#[derive(Debug, Clone)]
pub struct CallAt<'a> {
    pub service_point: Option<&'a str>,
    pub queue: &'a str,
    pub counter: Option<&'a str>,
}

/// What is done with a number being called.
#[derive(Debug, Clone)]
pub enum CallAction {
    /// Call it again, at the counter it is called to.
    Recall,
    /// Nobody came: back to the end of the queue, or the case cancelled after the
    /// configured number of no-shows.
    NoShow { reason: Option<String> },
    /// Send it to another counter of the case's service point.
    Transfer { to: String },
}

/// Who calls `queue`: for each SOP version that has it, the SOP and the roles that call it
/// there. `NotFound` when no SOP has such a queue.
struct QueueCallers(Vec<(String, Vec<String>)>);

impl QueueCallers {
    async fn of(runtime: &Runtime, queue: &str) -> Result<Self, QueryError> {
        let mut callers = Vec::new();
        for d in runtime.registry.all(&runtime.store).await? {
            for q in d.sop.document().queues.iter().filter(|q| q.id == queue) {
                callers.push((d.sop_id.clone(), q.called_by.clone()));
            }
        }
        if callers.is_empty() {
            return Err(QueryError::NotFound(format!("no queue `{queue}`")));
        }
        Ok(Self(callers))
    }

    /// The roles that call it in any SOP version.
    fn roles(&self) -> Vec<&str> {
        let mut roles: Vec<&str> = Vec::new();
        for role in self.0.iter().flat_map(|(_, r)| r) {
            if !roles.contains(&role.as_str()) {
                roles.push(role);
            }
        }
        roles
    }

    /// The SOPs whose queue `user` calls at service point `point` (in any version).
    fn sops_of(&self, user: &User, point: &str) -> Vec<String> {
        let roles: Vec<&str> = user.roles_at(point).collect();
        let mut sops: Vec<String> = Vec::new();
        for (sop_id, called_by) in &self.0 {
            let calls = called_by.iter().any(|r| roles.contains(&r.as_str()));
            if calls && !sops.contains(sop_id) {
                sops.push(sop_id.clone());
            }
        }
        sops
    }
}

/// The service point `user` calls `queue` at: the one named, if they call it there; else the
/// one where they do.
async fn calling_point(
    runtime: &Runtime,
    user: &User,
    at: &CallAt<'_>,
    callers: &QueueCallers,
) -> Result<Arc<ServicePoint>, QueryError> {
    let callers = callers.roles();
    let refuse = |where_: &str| {
        QueryError::Forbidden(format!(
            "{} may not call queue `{}` {where_} (roles that may: {})",
            user.name,
            at.queue,
            callers.join(", ")
        ))
    };
    if let Some(id) = at.service_point {
        let point = point(runtime, id).await?;
        if !user.roles_at(id).any(|r| callers.contains(&r)) {
            return Err(refuse(&format!("at `{id}`")));
        }
        return Ok(point);
    }
    let mut places: Vec<&str> = Vec::new();
    for m in user
        .memberships
        .iter()
        .filter(|m| callers.contains(&m.role.as_str()))
    {
        let id = if m.service_point == Membership::EVERYWHERE {
            runtime.offices.default_id()
        } else {
            &m.service_point
        };
        if !places.contains(&id) {
            places.push(id);
        }
    }
    match places.as_slice() {
        [] => Err(refuse("anywhere")),
        [id] => point(runtime, id).await,
        several => Err(QueryError::Invalid(format!(
            "say at which service point to call: one of {}",
            several.join(", ")
        ))),
    }
}

/// The service point `id`, or `NotFound`.
pub async fn point(runtime: &Runtime, id: &str) -> Result<Arc<ServicePoint>, QueryError> {
    match runtime.offices.get(&runtime.store, id).await {
        Ok(Some(p)) => Ok(p),
        Ok(None) => Err(QueryError::NotFound(format!("no service point `{id}`"))),
        Err(e) => Err(QueryError::Runtime(RuntimeError::Busy(format!(
            "service points: {e}"
        )))),
    }
}

/// Calls the next waiting case of `at.queue` at the service point (the oldest number of the
/// day first) for `user`; `None` when nobody is waiting. The case is taken in the command's
/// transaction by one claiming statement, so operators calling at once, in one process or
/// several, take different cases.
pub async fn call_next(
    runtime: &Runtime,
    user: &User,
    at: CallAt<'_>,
    now: OffsetDateTime,
) -> Result<Option<Outcome>, QueryError> {
    let callers = QueueCallers::of(runtime, at.queue).await?;
    let point = calling_point(runtime, user, &at, &callers).await?;
    if let Some(counter) = at.counter {
        known_counter(&point, counter)?;
    }
    let sop_ids = callers.sops_of(user, &point.id);
    Ok(runtime
        .call_next(user, &point.id, at.queue, at.counter, sop_ids, now)
        .await?)
}

/// Refuses a counter that `point` does not have.
fn known_counter(point: &ServicePoint, counter: &str) -> Result<(), QueryError> {
    match point.counter(counter) {
        Some(_) => Ok(()),
        None => Err(QueryError::NotFound(format!(
            "service point `{}` has no counter `{counter}` (its counters: {})",
            point.id,
            point
                .counters
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

/// Recalls, sends to another counter or marks as a no-show the number of case `case_id`
/// being called, for `user` (one who calls its queue, at its service point).
pub async fn act_on_call(
    runtime: &Runtime,
    user: &User,
    case_id: &str,
    action: CallAction,
    now: OffsetDateTime,
) -> Result<Outcome, QueryError> {
    let command = match action {
        CallAction::Recall => Command::Recall,
        CallAction::NoShow { reason } => Command::NoShow {
            limit: runtime.no_shows_before_cancel,
            reason,
        },
        CallAction::Transfer { to } => {
            let (case, _) = runtime.load_for(user, case_id).await?;
            let at = point(runtime, &case.service_point).await?;
            known_counter(&at, &to)?;
            Command::Transfer { to }
        }
    };
    let request = CommandRequest::on_case(case_id, command, user.actor(), now).by(user);
    Ok(runtime.run(request).await?)
}

/// The cases waiting in `queue` at `point`, in the order they are called: (number, case,
/// SOP).
async fn waiting(
    runtime: &Runtime,
    versions: &[Arc<Deployed>],
    point: &ServicePoint,
    queue: &str,
) -> Result<Vec<(String, String, String)>, QueryError> {
    let steps = steps_in(versions, |d, idx| {
        d.sop.step(idx).queue.as_deref() == Some(queue)
    });
    let rows = open_cases_at(runtime, &steps, Some(vec![point.id.clone()])).await?;
    let mut waiting = Vec::new();
    for row in rows {
        if let Ok(state) = runtime.state_at(&row.case_id, row.version).await
            && !state.current_completed
            && let Some(order) = crate::queue::call_order(&state)
        {
            waiting.push((order, row.case_id, row.sop_id));
        }
    }
    waiting.sort();
    Ok(waiting
        .into_iter()
        .map(|((_, number), case_id, sop_id)| (number.to_string(), case_id, sop_id))
        .collect())
}

/// A queue of a service point: its numbers waiting, in the order they will be called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueState {
    pub sop_id: String,
    pub queue: String,
    pub name: String,
    pub prefix: String,
    pub waiting: Vec<String>,
}

/// A counter and the last call made to it today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterState {
    pub counter: Counter,
    pub last_call: Option<QueueCall>,
}

/// A service point's queues and counters as of now.
#[derive(Debug, Clone)]
pub struct Board {
    pub point: Arc<ServicePoint>,
    pub queues: Vec<QueueState>,
    pub counters: Vec<CounterState>,
    /// The last call made today from no counter (through the old `call-next`).
    pub last_call_without_counter: Option<QueueCall>,
}

/// The calls made at service point `id` from now on, for anyone who works there (a display
/// board included): numbers and counters only.
pub async fn watch(
    runtime: &Runtime,
    user: &User,
    id: &str,
) -> Result<(Arc<ServicePoint>, broadcast::Receiver<Published>), QueryError> {
    let point = point(runtime, id).await?;
    works_at(user, id)?;
    Ok((point, runtime.calls.subscribe()))
}

fn works_at(user: &User, id: &str) -> Result<(), QueryError> {
    if user.roles_at(id).next().is_none() {
        return Err(QueryError::Forbidden(format!(
            "{} does not work at `{id}`",
            user.name
        )));
    }
    Ok(())
}

/// The queues and counters of service point `id`, for anyone who works there (a display
/// board included): numbers and counters only.
pub async fn board(
    runtime: &Runtime,
    user: &User,
    id: &str,
    now: OffsetDateTime,
) -> Result<Board, QueryError> {
    works_at(user, id)?;
    public_board(runtime, id, now).await
}

/// [`board`] for anyone: a waiting-room screen shows numbers and counters only, so the web
/// face serves it without a login.
pub async fn public_board(
    runtime: &Runtime,
    id: &str,
    now: OffsetDateTime,
) -> Result<Board, QueryError> {
    let point = point(runtime, id).await?;
    // Every queue of every SOP version, once per (SOP, queue).
    let mut queues: BTreeMap<(String, String), QueueState> = BTreeMap::new();
    let versions = runtime.registry.all(&runtime.store).await?;
    for d in &versions {
        let used = (0..d.sop.step_count()).filter_map(|idx| {
            let step = d.sop.step(idx);
            (step.kind == StepKind::Queue).then_some(step.queue.clone()?)
        });
        for queue in used.collect::<Vec<_>>() {
            if let Some(q) = d.sop.document().queues.iter().find(|q| q.id == queue) {
                queues.insert(
                    (d.sop_id.clone(), queue.clone()),
                    QueueState {
                        sop_id: d.sop_id.clone(),
                        queue: queue.clone(),
                        name: q.name.clone(),
                        prefix: q.prefix.clone(),
                        waiting: Vec::new(),
                    },
                );
            }
        }
    }
    let mut out = Vec::with_capacity(queues.len());
    for ((sop_id, queue), mut state) in queues {
        state.waiting = waiting(runtime, &versions, &point, &queue)
            .await?
            .into_iter()
            // Two SOPs may name a queue alike: each keeps its own cases.
            .filter_map(|(number, _, sop)| (sop == sop_id).then_some(number))
            .collect();
        out.push(state);
    }
    let last = runtime.store.last_calls(id, point.day_start(now)).await?;
    let counters = point
        .counters
        .iter()
        .map(|c| CounterState {
            counter: c.clone(),
            last_call: last
                .iter()
                .find(|call| call.counter.as_deref() == Some(c.id.as_str()))
                .cloned(),
        })
        .collect();
    let last_call_without_counter = last.iter().find(|c| c.counter.is_none()).cloned();
    Ok(Board {
        point,
        queues: out,
        counters,
        last_call_without_counter,
    })
}

/// The last `n` calls made at service point `id` today, newest first: numbers and counters
/// only.
pub async fn recent_calls(
    runtime: &Runtime,
    id: &str,
    n: usize,
    now: OffsetDateTime,
) -> Result<Vec<QueueCall>, QueryError> {
    let point = point(runtime, id).await?;
    let limit = u32::try_from(n).unwrap_or(u32::MAX);
    Ok(runtime
        .store
        .recent_calls(id, point.day_start(now), limit)
        .await?)
}

/// The board of service point `id` as `user`'s counter shows it: only the queues they call
/// there (in the SOP versions new cases start on, or any version still holding cases).
pub async fn desk_board(
    runtime: &Runtime,
    user: &User,
    id: &str,
    now: OffsetDateTime,
) -> Result<Board, QueryError> {
    works_at(user, id)?;
    let mut board = public_board(runtime, id, now).await?;
    let roles: Vec<&str> = user.roles_at(id).collect();
    let mut callable: Vec<(String, String)> = Vec::new();
    for d in runtime.registry.all(&runtime.store).await? {
        for q in &d.sop.document().queues {
            if q.called_by.iter().any(|r| roles.contains(&r.as_str())) {
                callable.push((d.sop_id.clone(), q.id.clone()));
            }
        }
    }
    board
        .queues
        .retain(|q| callable.contains(&(q.sop_id.clone(), q.queue.clone())));
    Ok(board)
}

/// The service points where `user` works, by id (every one for someone everywhere).
pub async fn points_of(
    runtime: &Runtime,
    user: &User,
) -> Result<Vec<Arc<ServicePoint>>, QueryError> {
    let all = runtime
        .offices
        .all(&runtime.store)
        .await
        .map_err(|e| QueryError::Runtime(RuntimeError::Busy(format!("service points: {e}"))))?;
    Ok(all
        .into_iter()
        .filter(|p| user.roles_at(&p.id).next().is_some())
        .collect())
}
