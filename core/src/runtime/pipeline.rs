//! One command inside a store transaction: load (or take the cached state), decide, draw queue
//! numbers, chain the new events, queue adapter requests, update the projection, remember the
//! outcome under its Idempotency-Key.
//!
//! A command on a case this process committed last is decided, chained and encoded before it
//! queues ([`Runtime::prepare`], on the request's task), on the state it left: the writer then
//! only checks that the case is still there (its version and head) and writes. Any other
//! command, or one whose case moved meanwhile, is decided in the transaction as before; both
//! go through the same functions.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};
use sopflow_engine::case::chain::{self, GENESIS};
use sopflow_engine::case::{
    Actor, CaseCalendar, CaseState, CaseStatus, Command, CommandError, Context, Effect, Event,
    EventBody, execute,
};
use sopflow_store::{CaseProjection, NewEvent, NewOutbox, Payload, StoredResponse, Tx};
use time::OffsetDateTime;

use super::cache::Tip;
use super::{
    CommandRequest, FollowUp, Idempotency, LoadedCase, Order, Outcome, Runtime, RuntimeError,
    Upload, decode,
};
use crate::auth::User;
use crate::calls::Call;
use crate::offices::ServicePoint;
use crate::registry::Deployed;

/// A command ready for a transaction: its case resolved (a new case has its id and version).
pub(super) struct Job {
    pub(super) case_id: String,
    target: Target,
    /// The person giving the command (see [`CommandRequest::by`]).
    user: Option<User>,
    expected_version: Option<u64>,
    command: Command,
    pub(super) files: Vec<Upload>,
    actor: Actor,
    now: OffsetDateTime,
    pub(super) idempotency: Option<Idempotency>,
    /// The commands after `command` on the same case (see [`Runtime::run_sequence`]).
    pub(super) then: Vec<FollowUp>,
    /// The command decided ahead, on the case as this process last committed it.
    pub(super) prepared: Option<Prepared>,
}

/// A command decided, chained and encoded before it queued (see [`Runtime::prepare`]): what
/// the writer appends if the case is still at `opened`'s version and head.
pub(super) struct Prepared {
    opened: Opened,
    state: Arc<CaseState>,
    chained: Chained,
}

/// What a job did, as its transaction leaves it: the outcome, and (when it stored events) the
/// case's tip for the cache once committed.
pub(super) struct Executed {
    pub(super) outcome: Option<Outcome>,
    pub(super) tip: Option<Tip>,
}

impl Job {
    /// The stored case the job works on, if it names one (not a new case, nor the next
    /// waiting in a queue).
    pub(super) fn existing_case(&self) -> Option<&str> {
        matches!(self.target, Target::Existing).then_some(self.case_id.as_str())
    }

    /// The time of the job's last command.
    fn last_now(&self) -> OffsetDateTime {
        self.then.last().map_or(self.now, |t| t.now)
    }
}

/// One command of a job, as it is decided: by whom, when.
struct Step<'a> {
    command: &'a Command,
    actor: Actor,
    now: OffsetDateTime,
}

/// What a job's commands made, to be stored in one append.
#[derive(Default)]
struct Decided {
    events: Vec<Event>,
    outbox: Vec<NewOutbox>,
    /// A new case's registration and tracking code.
    references: Option<sopflow_store::CaseReferences>,
}

/// What was decided, chained to the case's head and encoded: one append's rows.
struct Chained {
    events: Vec<Event>,
    rows: Vec<NewEvent>,
    projection: CaseProjection,
    outbox: Vec<NewOutbox>,
    references: Option<sopflow_store::CaseReferences>,
}

/// Where a decision is made: inside the command's transaction (`wrote`: set before its first
/// write), or ahead of it, where a command that must draw numbers in the store cannot be
/// decided.
enum At<'a> {
    Tx(&'a mut Tx, &'a mut bool),
    Ahead,
}

enum Target {
    /// A new case on this SOP version, at this service point.
    New(Arc<Deployed>, Arc<ServicePoint>),
    /// The case `case_id`, as stored.
    Existing,
    /// The next case waiting in `queue` at `point` among the cases of `sop_ids`, taken in
    /// the transaction (see [`Tx::claim_waiting`]); `case_id` is empty.
    Waiting {
        point: String,
        queue: String,
        sop_ids: Vec<String>,
    },
}

/// The case a job works on, as read in its transaction.
struct Opened {
    case_id: String,
    deployed: Arc<Deployed>,
    /// State and head hash; `None` for a new case.
    current: Option<(Arc<CaseState>, String)>,
    salt: String,
    point: Arc<ServicePoint>,
    /// Who records the command's events.
    actor: Actor,
    /// The calendar its due times run on: the service point's for a new case, else the one
    /// the case is pinned to.
    calendar: CaseCalendar,
}

impl Opened {
    /// The case's tip once `state`, ending at `head`, is committed.
    fn tip(&self, state: &Arc<CaseState>, head: String) -> Tip {
        Tip {
            state: Arc::clone(state),
            head,
            salt: self.salt.clone(),
            point: Arc::from(self.point.id.as_str()),
        }
    }
}

/// What an idempotency record holds: enough to give the same outcome again. Records written
/// before this form held the rendered case, which has `case_id` and `version` too.
#[derive(Serialize, Deserialize)]
struct StoredOutcome {
    case_id: String,
    version: u64,
    #[serde(default)]
    created: Option<bool>,
    #[serde(default, with = "time::serde::rfc3339::option")]
    at: Option<OffsetDateTime>,
}

impl Runtime {
    /// Resolves what the request asks into a job: a start gets its case id and SOP version.
    pub(super) async fn job(&self, request: CommandRequest) -> Result<Job, RuntimeError> {
        let CommandRequest {
            order,
            mut actor,
            user,
            now,
            files,
            idempotency,
        } = request;
        let (case_id, target, expected_version, command) = match order {
            Order::Start {
                sop_id,
                data,
                documents,
                service_point,
            } => {
                // A named service point is known first: its midnight decides which version
                // is in force there.
                let named = match service_point.as_deref() {
                    Some(id) => Some(self.point(id).await?),
                    None if user.is_none() => Some(self.point(self.offices.default_id()).await?),
                    None => None,
                };
                let offset = named
                    .as_ref()
                    .map_or(self.registry.utc_offset(), |p| p.utc_offset);
                let in_force =
                    |offset| self.registry.in_force_at(&self.store, &sop_id, now, offset);
                let mut deployed = in_force(offset)
                    .await?
                    .ok_or_else(|| RuntimeError::SopNotFound(sop_id.clone()))?;
                let point = match &user {
                    Some(user) => {
                        let (mut point, mut role) = self
                            .opening_point(user, &deployed, service_point.as_deref())
                            .await?;
                        // Found from the user's memberships, in another zone than assumed:
                        // the version in force at its midnight, and who may open it there.
                        if named.is_none() && point.utc_offset != offset {
                            let there = in_force(point.utc_offset)
                                .await?
                                .ok_or_else(|| RuntimeError::SopNotFound(sop_id.clone()))?;
                            if there.version != deployed.version {
                                (point, role) =
                                    self.opening_point(user, &there, Some(&point.id)).await?;
                                deployed = there;
                            }
                        }
                        actor = user.actor_as(&role);
                        point
                    }
                    None => match named {
                        Some(point) => point,
                        None => self.point(self.offices.default_id()).await?,
                    },
                };
                // Time-ordered ids: listings by id are listings by creation.
                let case_id = uuid::Uuid::now_v7().to_string();
                let command = Command::Start {
                    case_id: case_id.clone(),
                    sop_version: deployed.version,
                    data,
                    documents,
                    service_point: Some(point.id.clone()),
                };
                (case_id, Target::New(deployed, point), None, command)
            }
            Order::Case {
                case_id,
                expected_version,
                command,
            } => (case_id, Target::Existing, expected_version, command),
        };
        Ok(Job {
            case_id,
            target,
            user,
            expected_version,
            command,
            files,
            actor,
            now,
            idempotency,
            then: Vec::new(),
            prepared: None,
        })
    }

    /// A call of the next case waiting in `queue` at `point` (among the cases of `sop_ids`)
    /// by `user`: the case is chosen in the command's transaction.
    pub(super) fn call_job(
        &self,
        user: &User,
        point: &str,
        queue: &str,
        counter: Option<&str>,
        sop_ids: Vec<String>,
        now: OffsetDateTime,
    ) -> Job {
        Job {
            case_id: String::new(),
            target: Target::Waiting {
                point: point.to_owned(),
                queue: queue.to_owned(),
                sop_ids,
            },
            user: Some(user.clone()),
            expected_version: None,
            command: Command::CallFromQueue {
                queue: queue.to_owned(),
                counter: counter.map(str::to_owned),
            },
            files: Vec::new(),
            actor: user.actor(),
            now,
            idempotency: None,
            then: Vec::new(),
            prepared: None,
        }
    }

    /// The service point `id`; `PointNotFound` when there is none.
    pub(crate) async fn point(&self, id: &str) -> Result<Arc<ServicePoint>, RuntimeError> {
        self.offices
            .get(&self.store, id)
            .await
            .map_err(|e| RuntimeError::Busy(format!("service points: {e}")))?
            .ok_or_else(|| RuntimeError::PointNotFound(id.to_owned()))
    }

    /// Where `user` opens a case of `deployed`, and in which role: at `requested` if they may
    /// open one there; else at the one service point where they may. Refused when they may
    /// open none, or several and did not say which.
    pub async fn opening_point(
        &self,
        user: &User,
        deployed: &Deployed,
        requested: Option<&str>,
    ) -> Result<(Arc<ServicePoint>, String), RuntimeError> {
        let start = deployed.sop.recorders(deployed.sop.start());
        let refuse = |at: &str| {
            RuntimeError::Forbidden(format!(
                "{} may not open a case of SOP `{}` at `{at}` (roles that may: {})",
                user.name,
                deployed.sop_id,
                start.join(", ")
            ))
        };
        if let Some(id) = requested {
            let point = self.point(id).await?;
            let role = crate::access::opening_roles(user, deployed, id)
                .first()
                .map(|r| (*r).to_owned())
                .ok_or_else(|| refuse(id))?;
            return Ok((point, role));
        }
        let mut places: Vec<(&str, &str)> = Vec::new();
        for m in &user.memberships {
            if !start.contains(&m.role) {
                continue;
            }
            let at = if m.service_point == sopflow_store::Membership::EVERYWHERE {
                self.offices.default_id()
            } else {
                m.service_point.as_str()
            };
            if !places.iter().any(|(p, _)| *p == at) {
                places.push((at, &m.role));
            }
        }
        match places.as_slice() {
            [] => Err(refuse("any service point")),
            [(at, role)] => Ok((self.point(at).await?, (*role).to_owned())),
            several => Err(RuntimeError::Invalid(format!(
                "say at which service point to open the case: one of {}",
                several
                    .iter()
                    .map(|(p, _)| *p)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Decides `job` before it queues, when it is one command on a case this process
    /// committed last (the cache holds its tip): on that state, with what the transaction
    /// would use (its SOP version, service point, calendar, the person's role there), chained
    /// to that head and encoded. `None` when it cannot be (another case, a sequence, a command
    /// that draws numbers in the store) or is refused: the writer then decides it in the
    /// transaction, on the case as stored, and gives the answer.
    pub(super) async fn prepare(&self, job: &Job) -> Option<Prepared> {
        if !matches!(job.target, Target::Existing) || !job.then.is_empty() {
            return None;
        }
        let tip = self.cache.tip(&job.case_id)?;
        if job.expected_version.is_some_and(|v| v != tip.state.version) {
            return None;
        }
        let state = &tip.state;
        let deployed = self.deployed(&state.sop_id, state.sop_version).await.ok()?;
        let point = self.point(&tip.point).await.ok()?;
        let actor = self.acting(job, &deployed, &point.id, &job.case_id).ok()?;
        let calendar = self.pinned_calendar(state, &job.case_id).await.ok()?;
        let opened = Opened {
            case_id: job.case_id.clone(),
            deployed,
            current: Some((Arc::clone(state), tip.head)),
            salt: tip.salt,
            point,
            actor,
            calendar,
        };
        let step = Step {
            command: &job.command,
            actor: opened.actor.clone(),
            now: job.now,
        };
        let mut decided = Decided::default();
        let after = self
            .decide_step(At::Ahead, &opened, Some(state), step, &mut decided)
            .await
            .ok()??;
        if decided.events.is_empty() {
            return None;
        }
        let chained = chain_decided(&opened, &after, decided, job.now).ok()?;
        Some(Prepared {
            opened,
            state: Arc::new(after),
            chained,
        })
    }

    /// The body of one command inside `tx`: load, decide, append, remember the outcome;
    /// `None` for a call with nobody waiting. `wrote` is set before the command's first
    /// write: an error after it may leave part of the command in `tx`, an error before it
    /// leaves nothing.
    pub(super) async fn execute(
        &self,
        tx: &mut Tx,
        job: &Job,
        wrote: &mut bool,
    ) -> Result<Executed, RuntimeError> {
        if !job.files.is_empty() {
            *wrote = true;
            for (sha256, bytes) in &job.files {
                tx.put_file(sha256, bytes).await?;
            }
        }
        let read = match job.target {
            Target::Existing => Some(
                tx.case_and_salt(&job.case_id)
                    .await?
                    .ok_or_else(|| RuntimeError::CaseNotFound(job.case_id.clone()))?,
            ),
            _ => None,
        };
        // Decided ahead on the case as it still is (its version, head and salt): only written.
        if let (Some(prepared), Some((record, salt))) = (&job.prepared, &read)
            && salt.as_deref() == Some(prepared.opened.salt.as_str())
            && prepared
                .opened
                .current
                .as_ref()
                .is_some_and(|(state, head)| {
                    state.version == record.version && *head == record.head_hash
                })
        {
            let Prepared {
                opened,
                state,
                chained,
            } = prepared;
            let calls = self.write(tx, opened, state, chained, wrote).await?;
            let head = chained.projection.head_hash.clone();
            let stored = Some((calls, head));
            return self
                .finish(tx, job, opened, Arc::clone(state), stored, wrote)
                .await;
        }
        let Some(opened) = self.open(tx, job, read).await? else {
            return Ok(Executed {
                outcome: None,
                tip: None,
            });
        };
        let (state, stored) = self.commit_command(tx, job, &opened, wrote).await?;
        self.finish(tx, job, &opened, Arc::new(state), stored, wrote)
            .await
    }

    /// The job's outcome on the opened case, now at `state` (`stored`: the calls its events
    /// made and the case's new head, when it stored any), remembered under its
    /// Idempotency-Key if it has one; with the case's tip for the cache. The job created the
    /// case if none was open before it.
    async fn finish(
        &self,
        tx: &mut Tx,
        job: &Job,
        opened: &Opened,
        state: Arc<CaseState>,
        stored: Option<(Vec<Call>, String)>,
        wrote: &mut bool,
    ) -> Result<Executed, RuntimeError> {
        let (calls, tip) = match stored {
            Some((calls, head)) => (calls, Some(opened.tip(&state, head))),
            None => (Vec::new(), None),
        };
        let outcome = Outcome {
            case: LoadedCase {
                deployed: Arc::clone(&opened.deployed),
                state,
                service_point: Arc::from(opened.point.id.as_str()),
            },
            created: opened.current.is_none(),
            at: job.last_now(),
            replayed: false,
            calls,
        };
        *wrote |= job.idempotency.is_some();
        self.remember_outcome(tx, job, &outcome).await?;
        Ok(Executed {
            outcome: Some(outcome),
            tip,
        })
    }

    /// As whom the job's command is recorded on the case `case_id` of `deployed` at `point`:
    /// a person in one of their roles there; one who may not see the case is told it does not
    /// exist.
    fn acting(
        &self,
        job: &Job,
        deployed: &Deployed,
        point: &str,
        case_id: &str,
    ) -> Result<Actor, RuntimeError> {
        match &job.user {
            Some(user) => {
                let role = crate::access::acting_role(user, deployed, point, &job.command)
                    .ok_or_else(|| RuntimeError::CaseNotFound(case_id.to_owned()))?;
                Ok(user.actor_as(&role))
            }
            None => Ok(job.actor.clone()),
        }
    }

    /// The calendar the case `state` is pinned to.
    async fn pinned_calendar(
        &self,
        state: &CaseState,
        case_id: &str,
    ) -> Result<CaseCalendar, RuntimeError> {
        self.calendars
            .pinned(&self.store, state.calendar.as_ref())
            .await
            .map_err(|e| match e {
                crate::calendars::CalendarsError::Store(e) => RuntimeError::from(e),
                other => RuntimeError::Corrupt(format!("case {case_id}: {other}")),
            })
    }

    /// Reads and locks the job's case in `tx` (a new case needs nothing read; `read`: the
    /// named case, as already read in `tx`; a call takes the next waiting case with its row);
    /// `None` for a call with nobody waiting.
    async fn open(
        &self,
        tx: &mut Tx,
        job: &Job,
        read: Option<(sopflow_store::CaseRecord, Option<String>)>,
    ) -> Result<Option<Opened>, RuntimeError> {
        let (case_id, read) = match &job.target {
            Target::Waiting {
                point,
                queue,
                sop_ids,
            } => match tx.claim_waiting(point, queue, sop_ids).await? {
                Some(claimed) => (claimed.0.case_id.clone(), Some(claimed)),
                None => return Ok(None),
            },
            _ => (job.case_id.clone(), read),
        };
        if let Target::New(deployed, point) = &job.target {
            let calendar = self
                .calendars
                .for_new_case(point.calendar.as_deref())
                .map_err(|e| RuntimeError::Invalid(format!("service point `{}`: {e}", point.id)))?;
            return Ok(Some(Opened {
                case_id,
                deployed: deployed.clone(),
                current: None,
                salt: new_salt(),
                point: point.clone(),
                actor: job.actor.clone(),
                calendar,
            }));
        }
        let (record, salt) = match read {
            Some(read) => read,
            None => tx
                .case_and_salt(&case_id)
                .await?
                .ok_or_else(|| RuntimeError::CaseNotFound(case_id.clone()))?,
        };
        let deployed = self.deployed(&record.sop_id, record.sop_version).await?;
        let point = self.point(&self.point_of(&record)).await?;
        let actor = self.acting(job, &deployed, &point.id, &case_id)?;
        let state = match self.cache.get(&case_id, record.version) {
            Some(s) => s,
            None => {
                let events = decode(&tx.events(&case_id).await?)?;
                Arc::new(
                    CaseState::replay(&events).map_err(|e| RuntimeError::Corrupt(e.to_string()))?,
                )
            }
        };
        if let Some(expected) = job.expected_version
            && expected != state.version
        {
            return Err(RuntimeError::Conflict {
                current_version: state.version,
                current_step: state.current_step.as_deref().map(str::to_owned),
            });
        }
        let calendar = self.pinned_calendar(&state, &case_id).await?;
        Ok(Some(Opened {
            case_id,
            deployed,
            current: Some((state, record.head_hash)),
            salt: salt.unwrap_or_default(),
            point,
            actor,
            calendar,
        }))
    }

    /// Decides the job's command (and, for a sequence, the commands after it, each on the
    /// case the one before left), draws queue numbers, chains and appends, inside `tx`: one
    /// append for all the job's events. Returns the case after them and, when events were
    /// stored, the calls they made and the case's new head.
    async fn commit_command(
        &self,
        tx: &mut Tx,
        job: &Job,
        opened: &Opened,
        wrote: &mut bool,
    ) -> Result<(CaseState, Option<(Vec<Call>, String)>), RuntimeError> {
        let current = opened.current.as_ref().map(|(s, _)| s.as_ref());
        let mut decided = Decided::default();
        let first = Step {
            command: &job.command,
            actor: opened.actor.clone(),
            now: job.now,
        };
        let mut state = self
            .decide_in(tx, wrote, opened, current, first, &mut decided)
            .await?;
        for then in &job.then {
            // Each follows as a command of its own on the case would: as whom the person
            // acts there is decided by this command.
            let actor = match &then.user {
                Some(user) => {
                    let role = crate::access::acting_role(
                        user,
                        &opened.deployed,
                        &opened.point.id,
                        &then.command,
                    )
                    .ok_or_else(|| RuntimeError::CaseNotFound(opened.case_id.clone()))?;
                    user.actor_as(&role)
                }
                None => then.actor.clone(),
            };
            let step = Step {
                command: &then.command,
                actor,
                now: then.now,
            };
            state = self
                .decide_in(tx, wrote, opened, Some(&state), step, &mut decided)
                .await?;
        }
        if !job.then.is_empty() {
            // A request the sequence itself moved past is one the dispatcher would settle
            // unsent (the case no longer waits for it): only those still awaited are queued.
            decided
                .outbox
                .retain(|row| crate::outbox::awaits(&state, &row.idempotency_key));
        }
        if decided.events.is_empty() {
            // Nothing happened (a tick with nothing due): nothing to store.
            return Ok((state, None));
        }
        let chained = chain_decided(opened, &state, decided, job.last_now())?;
        let calls = self.write(tx, opened, &state, &chained, wrote).await?;
        Ok((state, Some((calls, chained.projection.head_hash))))
    }

    /// [`Runtime::decide_step`] inside `tx`.
    async fn decide_in(
        &self,
        tx: &mut Tx,
        wrote: &mut bool,
        opened: &Opened,
        current: Option<&CaseState>,
        step: Step<'_>,
        decided: &mut Decided,
    ) -> Result<CaseState, RuntimeError> {
        self.decide_step(At::Tx(tx, wrote), opened, current, step, decided)
            .await?
            .ok_or_else(|| {
                RuntimeError::Corrupt("a command in a transaction was not decided".into())
            })
    }

    /// Decides one command on `current` (none: a new case) and gathers what it made into
    /// `decided`: its events, the queue numbers it draws (inside the transaction), its
    /// adapter requests, a new case's registration. Returns the case after it; `None` when
    /// decided ahead and it needs the store (numbers to draw, a case to register).
    async fn decide_step(
        &self,
        mut at: At<'_>,
        opened: &Opened,
        current: Option<&CaseState>,
        step: Step<'_>,
        decided: &mut Decided,
    ) -> Result<Option<CaseState>, RuntimeError> {
        let deployed = &opened.deployed;
        let sop = &deployed.sop;
        let point = &opened.point;
        let now = step.now;
        let ctx = Context {
            now,
            actor: step.actor,
            calendar: opened.calendar.clone(),
        };
        let refuse = |error: CommandError| RuntimeError::Command {
            error,
            current_version: current.map_or(0, |s| s.version),
            current_step: current.and_then(|s| s.current_step.as_deref().map(str::to_owned)),
        };
        let mut executed = execute(sop, current, step.command, &ctx).map_err(refuse)?;
        let mut effects = std::mem::take(&mut executed.effects);
        let mut index = 0;
        while index < effects.len() {
            if let Effect::AssignQueueNumber { queue, prefix } = &effects[index] {
                let At::Tx(tx, wrote) = &mut at else {
                    return Ok(None);
                };
                **wrote = true;
                let number = crate::queue::draw(
                    tx,
                    &point.id,
                    &deployed.sop_id,
                    queue,
                    prefix,
                    point.local_day(now),
                )
                .await?;
                let system = Context {
                    now,
                    actor: Actor::system(),
                    calendar: opened.calendar.clone(),
                };
                let assign = Command::AssignQueueNumber {
                    number: number.to_string(),
                };
                let more = execute(sop, Some(&executed.state), &assign, &system).map_err(refuse)?;
                executed.state = more.state;
                executed.events.extend(more.events);
                effects.extend(more.effects);
            }
            index += 1;
        }
        // A new case gets its registration number (an event of its history) and tracking code.
        if current.is_none() {
            let At::Tx(tx, wrote) = &mut at else {
                return Ok(None);
            };
            **wrote = true;
            let (event, references) = crate::registration::register_new_case(
                tx,
                &mut executed.state,
                now,
                self.utc_offset,
            )
            .await?;
            executed.events.push(event);
            decided.references = Some(references);
        }
        for effect in &effects {
            // The engine's call is the payload (case, step, request, printout...).
            if let Effect::CallAdapter(call) = effect {
                decided.outbox.push(crate::outbox::row(call, now)?);
            }
        }
        decided.events.append(&mut executed.events);
        Ok(Some(executed.state))
    }

    /// Appends what was chained on the opened case, now at `state`; records its references,
    /// search keys and calls.
    async fn write(
        &self,
        tx: &mut Tx,
        opened: &Opened,
        state: &CaseState,
        chained: &Chained,
        wrote: &mut bool,
    ) -> Result<Vec<Call>, RuntimeError> {
        let deployed = &opened.deployed;
        let point = &opened.point;
        let Chained {
            events,
            rows,
            projection,
            outbox,
            references,
        } = chained;
        let now = projection.updated_at;
        let expected = opened.current.as_ref().map_or(0, |(s, _)| s.version);
        *wrote = true;
        if opened.current.is_none() {
            tx.put_case_salt(&opened.case_id, &opened.salt).await?;
            // The calendar the case is pinned to, kept by its hash (once: the same hash is
            // the same text), so replay has it after the file changed.
            if let Some(pin) = opened.calendar.pin() {
                let canonical = opened.calendar.calendar().canonical();
                tx.put_calendar(&pin.hash, &pin.id, canonical, now).await?;
            }
        }
        if let Some(references) = references {
            tx.put_case_references(references).await?;
        }
        tx.append(&opened.case_id, expected, rows, projection, outbox)
            .await?;
        if !outbox.is_empty() {
            self.queued_since_commit.store(true, Ordering::Release);
        }
        // Data comes with the start, a data fact, or (v2) a completion carrying it.
        let data_changed = events.iter().flat_map(|e| e.facts()).any(|f| match f {
            EventBody::CaseStarted { .. } | EventBody::DataRecorded { .. } => true,
            EventBody::StepCompleted { data, .. } => !data.is_empty(),
            _ => false,
        });
        if data_changed && !deployed.searchable.is_empty() {
            let keys = crate::search::keys(&deployed.searchable, &state.data);
            tx.index_case(&opened.case_id, &keys).await?;
        }
        let calls = crate::calls::calls_in(events, &opened.case_id, &deployed.sop_id, point);
        for (row, call) in &calls {
            let notice = self
                .calls
                .notice(call)
                .map_err(|e| RuntimeError::Corrupt(e.to_string()))?;
            tx.record_call(row, Some((crate::calls::CHANNEL, &notice)))
                .await?;
        }
        crate::metrics::record_events(state, events);
        Ok(calls.into_iter().map(|(_, call)| call).collect())
    }

    /// The outcome already given to this request's Idempotency-Key, if any.
    pub(super) async fn replayed(
        &self,
        request: &CommandRequest,
    ) -> Result<Option<Outcome>, RuntimeError> {
        let Some(idem) = &request.idempotency else {
            return Ok(None);
        };
        let Some(stored) = self
            .store
            .idempotent_response(&request.actor.user, &idem.key)
            .await?
        else {
            return Ok(None);
        };
        if stored.request_hash != idem.request_hash {
            return Err(RuntimeError::IdempotencyMismatch);
        }
        let record: StoredOutcome = serde_json::from_str(&stored.body).map_err(|e| {
            RuntimeError::Corrupt(format!("idempotency record `{}`: {e}", idem.key))
        })?;
        let case = self.load_at(&record.case_id, record.version).await?;
        Ok(Some(Outcome {
            case,
            // Records from before this form kept the HTTP status: 201 meant created.
            created: record.created.unwrap_or(stored.status_code == 201),
            at: record.at.unwrap_or(stored.created_at),
            replayed: true,
            // Announced by the first run.
            calls: Vec::new(),
        }))
    }

    async fn remember_outcome(
        &self,
        tx: &mut Tx,
        job: &Job,
        outcome: &Outcome,
    ) -> Result<(), RuntimeError> {
        let Some(idem) = &job.idempotency else {
            return Ok(());
        };
        let record = StoredOutcome {
            case_id: outcome.case.state.case_id.clone(),
            version: outcome.case.state.version,
            created: Some(outcome.created),
            at: Some(outcome.at),
        };
        let stored = StoredResponse {
            request_hash: idem.request_hash.clone(),
            // The outcome record says everything; the column stays for older records.
            status_code: 0,
            body: serde_json::to_string(&record)
                .map_err(|e| RuntimeError::Corrupt(e.to_string()))?,
            created_at: job.now,
        };
        match tx
            .remember_response(&job.actor.user, &idem.key, &stored)
            .await
        {
            // The same key raced in from a parallel retry: that one's answer stands.
            Err(sopflow_store::Error::AlreadyExists(_)) => Err(RuntimeError::Busy(
                "the same Idempotency-Key is being processed".into(),
            )),
            other => Ok(other?),
        }
    }
}

/// Chains what was decided on the opened case (now at `state`) to its head, encodes each
/// event's payload as stored, and makes the case's projection after them: no I/O, so it runs
/// wherever the decision was made.
fn chain_decided(
    opened: &Opened,
    state: &CaseState,
    decided: Decided,
    now: OffsetDateTime,
) -> Result<Chained, RuntimeError> {
    let deployed = &opened.deployed;
    let sop = &deployed.sop;
    let Decided {
        events,
        outbox,
        references,
    } = decided;
    let personal = sop.personal_fields();
    let mut prev = opened
        .current
        .as_ref()
        .map_or_else(|| GENESIS.to_owned(), |(_, head)| head.clone());
    let mut rows = Vec::with_capacity(events.len());
    for event in &events {
        let link = chain::link(&prev, event, personal, &opened.salt);
        rows.push(NewEvent {
            kind: event.body.kind().to_owned(),
            recorded_at: event.at,
            user_name: event.by.user.to_string(),
            role: event.by.role.to_string(),
            payload: Payload::from_text(&link.text)?,
            prev_hash: std::mem::replace(&mut prev, link.hash.clone()),
            hash: link.hash,
        });
    }
    let projection = CaseProjection {
        sop_id: deployed.sop_id.clone(),
        sop_version: deployed.version,
        status: state.status.as_str().to_owned(),
        current_step: state.current_step.as_deref().map(str::to_owned),
        version: state.version,
        head_hash: prev,
        due_at: state.next_due(),
        overdue: state.overdue_recorded(),
        updated_at: now,
        service_point: opened.point.id.clone(),
        queue: queue_place(sop, state),
    };
    Ok(Chained {
        events,
        rows,
        projection,
        outbox,
        references,
    })
}

/// 128 random bits, hex: the per-case salt of personal-data hashes.
fn new_salt() -> String {
    let mut bytes = [0u8; 16];
    // getrandom fails only without an OS entropy source; a fixed salt then still chains.
    let _ = getrandom::fill(&mut bytes);
    hex::encode(bytes)
}

/// Where a case waits in a queue: at an open queue step not yet called, with its number (the
/// cases [`crate::counters`] lists as waiting, and the order it calls them in).
pub(crate) fn queue_place(
    sop: &sopflow_engine::sop::Sop,
    state: &CaseState,
) -> Option<sopflow_store::QueuePlace> {
    if state.status != CaseStatus::Open || state.current_completed {
        return None;
    }
    let step = sop.step(sop.step_index(state.current_step.as_deref()?)?);
    let queue = step.queue.clone()?;
    let (entered_at, number) = crate::queue::call_order(state)?;
    Some(sopflow_store::QueuePlace {
        queue,
        entered_at,
        sequence: i64::from(number.sequence),
    })
}
