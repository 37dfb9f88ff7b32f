//! One command inside a store transaction: load (or take the cached state), decide, draw queue
//! numbers, chain the new events, queue adapter requests, update the projection, remember the
//! outcome under its Idempotency-Key.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use serde::{Deserialize, Serialize};
use sopflow_engine::case::chain::{self, GENESIS};
use sopflow_engine::case::{Actor, CaseState, Command, CommandError, Context, Effect, execute};
use sopflow_store::{CaseProjection, NewEvent, NewOutbox, StoredResponse, Tx};
use time::OffsetDateTime;

use super::{
    CommandRequest, Idempotency, LoadedCase, Order, Outcome, Runtime, RuntimeError, Upload, decode,
};
use crate::registry::Deployed;

/// A command ready for a transaction: its case resolved (a new case has its id and version).
pub(super) struct Job {
    pub(super) case_id: String,
    target: Target,
    expected_version: Option<u64>,
    command: Command,
    pub(super) files: Vec<Upload>,
    actor: Actor,
    now: OffsetDateTime,
    pub(super) idempotency: Option<Idempotency>,
}

enum Target {
    /// A new case on this SOP version.
    New(Arc<Deployed>),
    /// The case `case_id`, as stored.
    Existing,
}

/// The case a job works on, as read in its transaction.
struct Opened {
    deployed: Arc<Deployed>,
    /// State and head hash; `None` for a new case.
    current: Option<(Arc<CaseState>, String)>,
    salt: String,
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
            actor,
            now,
            files,
            idempotency,
        } = request;
        let (case_id, target, expected_version, command) = match order {
            Order::Start {
                sop_id,
                data,
                documents,
            } => {
                let deployed = self
                    .registry
                    .in_force(&self.store, &sop_id, now)
                    .await?
                    .ok_or_else(|| RuntimeError::SopNotFound(sop_id.clone()))?;
                // Time-ordered ids: listings by id are listings by creation.
                let case_id = uuid::Uuid::now_v7().to_string();
                let command = Command::Start {
                    case_id: case_id.clone(),
                    sop_version: deployed.version,
                    data,
                    documents,
                };
                (case_id, Target::New(deployed), None, command)
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
            expected_version,
            command,
            files,
            actor,
            now,
            idempotency,
        })
    }

    /// The body of one command inside `tx`: load, decide, append, remember the outcome.
    /// `wrote` is set before the command's first write: an error after it may leave part of
    /// the command in `tx`, an error before it leaves nothing.
    pub(super) async fn execute(
        &self,
        tx: &mut Tx,
        job: &Job,
        wrote: &mut bool,
    ) -> Result<Outcome, RuntimeError> {
        if !job.files.is_empty() {
            *wrote = true;
            for (sha256, bytes) in &job.files {
                tx.put_file(sha256, bytes).await?;
            }
        }
        let opened = self.open(tx, job).await?;
        let created = opened.current.is_none();
        let state = self.commit_command(tx, job, &opened, wrote).await?;
        let outcome = Outcome {
            case: LoadedCase {
                deployed: opened.deployed,
                state: Arc::new(state),
            },
            created,
            at: job.now,
            replayed: false,
        };
        *wrote |= job.idempotency.is_some();
        self.remember_outcome(tx, job, &outcome).await?;
        Ok(outcome)
    }

    /// Reads and locks the job's case in `tx` (a new case needs nothing read).
    async fn open(&self, tx: &mut Tx, job: &Job) -> Result<Opened, RuntimeError> {
        if let Target::New(deployed) = &job.target {
            return Ok(Opened {
                deployed: deployed.clone(),
                current: None,
                salt: new_salt(),
            });
        }
        let (record, salt) = tx
            .case_and_salt(&job.case_id)
            .await?
            .ok_or_else(|| RuntimeError::CaseNotFound(job.case_id.clone()))?;
        let deployed = self.deployed(&record.sop_id, record.sop_version).await?;
        let state = match self.cache.get(&job.case_id, record.version) {
            Some(s) => s,
            None => {
                let events = decode(&tx.events(&job.case_id).await?)?;
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
        Ok(Opened {
            deployed,
            current: Some((state, record.head_hash)),
            salt: salt.unwrap_or_default(),
        })
    }

    /// Decides, draws queue numbers, chains and appends, inside `tx`.
    async fn commit_command(
        &self,
        tx: &mut Tx,
        job: &Job,
        opened: &Opened,
        wrote: &mut bool,
    ) -> Result<CaseState, RuntimeError> {
        let deployed = &opened.deployed;
        let sop = &deployed.sop;
        let current = opened.current.as_ref().map(|(s, _)| s.as_ref());
        let now = job.now;
        let ctx = Context {
            now,
            actor: job.actor.clone(),
        };
        let refuse = |error: CommandError| RuntimeError::Command {
            error,
            current_version: current.map_or(0, |s| s.version),
            current_step: current.and_then(|s| s.current_step.as_deref().map(str::to_owned)),
        };
        let mut executed = execute(sop, current, &job.command, &ctx).map_err(refuse)?;
        let mut effects = std::mem::take(&mut executed.effects);
        let mut index = 0;
        while index < effects.len() {
            if let Effect::AssignQueueNumber { queue, prefix } = &effects[index] {
                *wrote = true;
                let number = crate::queue::draw(
                    tx,
                    &deployed.sop_id,
                    queue,
                    prefix,
                    now.to_offset(self.utc_offset).date(),
                )
                .await?;
                let system = Context {
                    now,
                    actor: Actor::system(),
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
        if executed.events.is_empty() {
            // Nothing happened (a tick with nothing due): nothing to store.
            return Ok(executed.state);
        }
        let personal = sop.personal_fields();
        let mut prev = opened
            .current
            .as_ref()
            .map_or_else(|| GENESIS.to_owned(), |(_, head)| head.clone());
        let mut new_events = Vec::with_capacity(executed.events.len());
        for event in &executed.events {
            let hash = chain::event_hash(&prev, event, personal, &opened.salt);
            new_events.push(NewEvent {
                kind: event.body.kind().to_owned(),
                recorded_at: event.at,
                user_name: event.by.user.to_string(),
                role: event.by.role.to_string(),
                payload: serde_json::to_value(event)
                    .map_err(|e| RuntimeError::Corrupt(e.to_string()))?,
                prev_hash: prev.clone(),
                hash: hash.clone(),
            });
            prev = hash;
        }
        let outbox = effects
            .iter()
            .filter_map(|e| match e {
                // The engine's call is the payload (case, step, request, printout...).
                Effect::CallAdapter(call) => Some(crate::outbox::row(call, now)),
                _ => None,
            })
            .collect::<Result<Vec<NewOutbox>, RuntimeError>>()?;
        let state = &executed.state;
        let projection = CaseProjection {
            sop_id: deployed.sop_id.clone(),
            sop_version: i64::from(deployed.version),
            status: state.status.as_str().to_owned(),
            current_step: state.current_step.as_deref().map(str::to_owned),
            version: i64::try_from(state.version).unwrap_or(i64::MAX),
            head_hash: prev,
            due_at: next_due(state),
            overdue: state.overdue_recorded(),
            updated_at: now,
        };
        let expected = current.map_or(0, |s| i64::try_from(s.version).unwrap_or(i64::MAX));
        *wrote = true;
        if current.is_none() {
            tx.put_case_salt(&job.case_id, &opened.salt).await?;
        }
        tx.append(&job.case_id, expected, &new_events, &projection, &outbox)
            .await?;
        if !outbox.is_empty() {
            self.queued_since_commit.store(true, Ordering::Release);
        }
        crate::metrics::record_events(state, &executed.events);
        Ok(executed.state)
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
            case_id: job.case_id.clone(),
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

/// When the case needs the ticker next (the engine's rule, which the auditor checks too).
pub fn next_due(state: &CaseState) -> Option<OffsetDateTime> {
    state.next_due()
}

/// 128 random bits, hex: the per-case salt of personal-data hashes.
fn new_salt() -> String {
    let mut bytes = [0u8; 16];
    // getrandom fails only without an OS entropy source; a fixed salt then still chains.
    let _ = getrandom::fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
