//! The runtime around the pure engine: one command = one store transaction.
//!
//! For each command: lock the case (the store's transaction), fold its events, `decide`,
//! draw queue numbers inside the same transaction, chain the new events, queue the adapter
//! requests in the outbox, update the case's projection and commit. Only then is the command
//! acknowledged, so an acknowledged command is durable and nothing half-done is ever visible.
//! A command on a case this process committed last is decided and chained before it queues,
//! on that state; in the transaction it is only written, if the case is still there.
//!
//! The runtime answers with what happened ([`Outcome`]: the case after the command, whether
//! it was created, the command's time); the faces (REST, web pages) render it. It knows no
//! HTTP.
//!
//! - [`pipeline`](self): the command inside a transaction (`pipeline.rs`);
//! - the group committer (`writer.rs`);
//! - the state cache (`cache.rs`);
//! - what a command may carry ([`limits`]).

mod cache;
pub mod limits;
mod pipeline;
mod writer;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Map, Value};
use sopflow_engine::case::{Actor, CaseState, Command, CommandError, DocumentReceipt, Event};
use sopflow_store::Store;
use time::{OffsetDateTime, UtcOffset};
use tokio::sync::{Notify, mpsc, oneshot};

use cache::StateCache;
use writer::Batched;

use crate::access::Sight;
use crate::auth::User;
use crate::calendars::Calendars;
use crate::calls::{Call, CallHub};
use crate::offices::Offices;
use crate::registry::{Deployed, Registry};

/// Why a command did not go through.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// The engine refused the command.
    #[error("{error}")]
    Command {
        error: CommandError,
        current_version: u64,
        current_step: Option<String>,
    },
    /// The client expected another version of the case.
    #[error("the case is at version {current_version}")]
    Conflict {
        current_version: u64,
        current_step: Option<String>,
    },
    #[error("no case `{0}`")]
    CaseNotFound(String),
    #[error("no SOP `{0}`")]
    SopNotFound(String),
    #[error("no service point `{0}`")]
    PointNotFound(String),
    /// The person may not do this (e.g. open a case of this SOP there).
    #[error("{0}")]
    Forbidden(String),
    /// The request cannot be carried out as given (e.g. it must name a service point).
    #[error("{0}")]
    Invalid(String),
    /// The request carries what no command may (see [`limits`]): `pointer` says where.
    #[error("{pointer}: {message}")]
    Refused { pointer: String, message: String },
    #[error("Idempotency-Key reused for a different request")]
    IdempotencyMismatch,
    #[error("busy: {0}")]
    Busy(String),
    /// A stored history that does not fold: never expected, reported loudly.
    #[error("corrupt history: {0}")]
    Corrupt(String),
    #[error("store: {0}")]
    Store(sopflow_store::Error),
}

impl From<sopflow_store::Error> for RuntimeError {
    fn from(e: sopflow_store::Error) -> Self {
        match e {
            sopflow_store::Error::Conflict {
                current_version, ..
            } => RuntimeError::Conflict {
                current_version,
                current_step: None,
            },
            sopflow_store::Error::Busy(m) => RuntimeError::Busy(m),
            other => RuntimeError::Store(other),
        }
    }
}

/// A request's Idempotency-Key, with a hash of what was asked (the face decides what makes
/// two requests the same: its endpoint and body).
#[derive(Debug, Clone)]
pub struct Idempotency {
    pub key: String,
    pub request_hash: String,
}

/// An uploaded scan: its SHA-256 (hex) and its bytes.
pub type Upload = (String, Vec<u8>);

/// What a command asks, of which case.
#[derive(Debug, Clone)]
pub enum Order {
    /// Open a case on the version of `sop_id` that new cases start on, at a service point:
    /// the one named, else the opener's (see [`Runtime::opening_point`]).
    Start {
        sop_id: String,
        data: Map<String, Value>,
        documents: Vec<DocumentReceipt>,
        service_point: Option<String>,
    },
    /// Run `command` on the case `case_id`; with `expected_version`, only if the case is at
    /// that version (a stale screen gets a conflict).
    Case {
        case_id: String,
        expected_version: Option<u64>,
        command: Command,
    },
}

/// One command for [`Runtime::run`]: what, by whom, when, with which uploads and key.
#[derive(Debug, Clone)]
pub struct CommandRequest {
    pub order: Order,
    /// Who records it. For a person (see [`CommandRequest::by`]) the role is chosen in the
    /// command's transaction among theirs at the case's service point.
    pub actor: Actor,
    /// The person giving the command, whose roles and service points decide whether they see
    /// the case and as whom they act; `None` for the service itself (timer, adapters).
    pub user: Option<User>,
    pub now: OffsetDateTime,
    pub files: Vec<Upload>,
    pub idempotency: Option<Idempotency>,
}

impl CommandRequest {
    /// Opens a case.
    pub fn start(
        sop_id: impl Into<String>,
        data: Map<String, Value>,
        documents: Vec<DocumentReceipt>,
        actor: Actor,
        now: OffsetDateTime,
    ) -> Self {
        Self::new(
            Order::Start {
                sop_id: sop_id.into(),
                data,
                documents,
                service_point: None,
            },
            actor,
            now,
        )
    }

    /// Runs `command` on a case, whatever its version.
    pub fn on_case(
        case_id: impl Into<String>,
        command: Command,
        actor: Actor,
        now: OffsetDateTime,
    ) -> Self {
        Self::new(
            Order::Case {
                case_id: case_id.into(),
                expected_version: None,
                command,
            },
            actor,
            now,
        )
    }

    fn new(order: Order, actor: Actor, now: OffsetDateTime) -> Self {
        Self {
            order,
            actor,
            user: None,
            now,
            files: Vec::new(),
            idempotency: None,
        }
    }

    /// Given by `user`: refused as an unknown case when they do not see it, recorded in the
    /// first of their roles at its service point that may do it.
    pub fn by(mut self, user: &User) -> Self {
        self.actor = user.actor();
        self.user = Some(user.clone());
        self
    }

    /// Opens the case at `service_point` (no effect on a command on a case).
    pub fn at(mut self, point: Option<String>) -> Self {
        if let Order::Start { service_point, .. } = &mut self.order {
            *service_point = point;
        }
        self
    }

    /// Only if the case is at `version` (no effect on a start).
    pub fn expected_version(mut self, version: Option<u64>) -> Self {
        if let Order::Case {
            expected_version, ..
        } = &mut self.order
        {
            *expected_version = version;
        }
        self
    }

    /// Scans stored with the command, in its transaction.
    pub fn files(mut self, files: Vec<Upload>) -> Self {
        self.files = files;
        self
    }

    /// Same key, same outcome: a retry is answered from the first run.
    pub fn idempotency(mut self, idempotency: Option<Idempotency>) -> Self {
        self.idempotency = idempotency;
        self
    }
}

/// A command after the first of [`Runtime::run_sequence`], on the same case.
#[derive(Debug, Clone)]
pub struct FollowUp {
    pub command: Command,
    /// Who records it; for a person (see [`FollowUp::by`]) the role is chosen as for a
    /// command of its own.
    pub actor: Actor,
    pub user: Option<User>,
    pub now: OffsetDateTime,
}

impl FollowUp {
    pub fn new(command: Command, actor: Actor, now: OffsetDateTime) -> Self {
        Self {
            command,
            actor,
            user: None,
            now,
        }
    }

    /// Given by `user` (see [`CommandRequest::by`]).
    pub fn by(mut self, user: &User) -> Self {
        self.actor = user.actor();
        self.user = Some(user.clone());
        self
    }
}

/// A case as loaded: its SOP version, its state and where it was opened.
#[derive(Debug, Clone)]
pub struct LoadedCase {
    pub deployed: Arc<Deployed>,
    pub state: Arc<CaseState>,
    pub service_point: Arc<str>,
}

/// What a command did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// The case after the command.
    pub case: LoadedCase,
    /// Whether the command opened the case.
    pub created: bool,
    /// The command's time (for a replay: the first run's), at which faces render the case.
    pub at: OffsetDateTime,
    /// Whether this is the first run's outcome given again for the same Idempotency-Key.
    pub replayed: bool,
    /// The calls of queue numbers the command made (published once it has committed).
    pub calls: Vec<Call>,
}

/// Shared by all faces and background tasks. Cheap to clone.
#[derive(Clone)]
pub struct Runtime {
    pub store: Store,
    pub registry: Registry,
    /// The deployment's UTC offset (that of its configuration).
    pub utc_offset: UtcOffset,
    /// The service points, their time zones and counters.
    pub offices: Offices,
    /// The calls committed, for the call streams.
    pub calls: CallHub,
    /// Set by the configuration: how many no-shows cancel a case.
    pub no_shows_before_cancel: u32,
    /// The service points' calendars and those cases are pinned to.
    pub calendars: Calendars,
    cache: StateCache,
    /// Commands go to the group committer, which commits them in batches (see `writer.rs`);
    /// `None` in the committer's own copy.
    batcher: Option<mpsc::UnboundedSender<Batched>>,
    /// Woken after a commit that queued adapter requests: the dispatcher need not poll.
    pub outbox_queued: Arc<Notify>,
    /// Set by a command that queued outbox rows, taken after its commit.
    queued_since_commit: Arc<AtomicBool>,
}

impl Runtime {
    /// A runtime; it starts the group committer (call inside a tokio runtime), which runs
    /// commands on a copy of it: what they need is set here.
    pub fn new(
        store: Store,
        registry: Registry,
        utc_offset: UtcOffset,
        offices: Offices,
        calendars: Calendars,
    ) -> Self {
        let mut runtime = Self {
            store,
            registry,
            utc_offset,
            offices,
            calls: CallHub::default(),
            no_shows_before_cancel: crate::config::CounterConfig::default().no_shows_before_cancel,
            calendars,
            cache: StateCache::default(),
            batcher: None,
            outbox_queued: Arc::new(Notify::new()),
            queued_since_commit: Arc::new(AtomicBool::new(false)),
        };
        runtime.batcher = Some(writer::spawn(runtime.clone()));
        runtime
    }

    async fn deployed(&self, sop_id: &str, version: u32) -> Result<Arc<Deployed>, RuntimeError> {
        self.registry
            .get(&self.store, sop_id, version)
            .await?
            .ok_or_else(|| {
                RuntimeError::Corrupt(format!("SOP `{sop_id}` version {version} is not loadable"))
            })
    }

    /// The state of a case at `version` (as a listing just read it): from the cache without a
    /// query when it holds that version, else loaded. Call-next orders the waiting cases this
    /// way: one query per waiting case, each waiting for a pooled connection, made it the
    /// slowest request under load.
    pub async fn state_at(
        &self,
        case_id: &str,
        version: u64,
    ) -> Result<Arc<CaseState>, RuntimeError> {
        match self.cache.get(case_id, version) {
            Some(state) => Ok(state),
            None => Ok(self.load(case_id).await?.state),
        }
    }

    /// A case's projection and its SOP version, outside any transaction.
    async fn record(
        &self,
        case_id: &str,
    ) -> Result<(sopflow_store::CaseRecord, Arc<Deployed>), RuntimeError> {
        let record = self
            .store
            .case(case_id)
            .await?
            .ok_or_else(|| RuntimeError::CaseNotFound(case_id.to_owned()))?;
        let deployed = self.deployed(&record.sop_id, record.sop_version).await?;
        Ok((record, deployed))
    }

    /// How `user` sees case `case_id`, from its projection alone: for the auditor's tools,
    /// which must reach a history whose fold fails (a damaged one) to say why.
    /// [`RuntimeError::CaseNotFound`] for one they may not see.
    pub async fn sight_of(&self, user: &User, case_id: &str) -> Result<Sight, RuntimeError> {
        let (record, deployed) = self.record(case_id).await?;
        crate::access::sight(user, &deployed, &self.point_of(&record))
            .ok_or_else(|| RuntimeError::CaseNotFound(case_id.to_owned()))
    }

    /// Reads a case (outside any transaction), from the cache when it is current.
    pub async fn load(&self, case_id: &str) -> Result<LoadedCase, RuntimeError> {
        let (record, _) = self.record(case_id).await?;
        self.load_listed(record).await
    }

    /// A case from the projection a listing just read: from the cache when it holds that
    /// version (no query at all), else folded from its events. A page of 50 cases loaded by
    /// id read each projection a second time.
    pub async fn load_listed(
        &self,
        record: sopflow_store::CaseRecord,
    ) -> Result<LoadedCase, RuntimeError> {
        let case_id = record.case_id.as_str();
        let deployed = self.deployed(&record.sop_id, record.sop_version).await?;
        let service_point = self.point_of(&record);
        if let Some(state) = self.cache.get(case_id, record.version) {
            return Ok(LoadedCase {
                deployed,
                state,
                service_point,
            });
        }
        let events = decode(&self.store.events(case_id).await?)?;
        let state =
            Arc::new(CaseState::replay(&events).map_err(|e| RuntimeError::Corrupt(e.to_string()))?);
        self.cache.put(state.clone());
        Ok(LoadedCase {
            deployed,
            state,
            service_point,
        })
    }

    /// The case as it was at `version` (folded from its first `version` events).
    pub async fn load_at(&self, case_id: &str, version: u64) -> Result<LoadedCase, RuntimeError> {
        let (record, deployed) = self.record(case_id).await?;
        let stored = self.store.events(case_id).await?;
        let events = decode(&stored)?;
        let upto = events.iter().take_while(|e| e.seq <= version);
        let state =
            Arc::new(CaseState::replay(upto).map_err(|e| RuntimeError::Corrupt(e.to_string()))?);
        Ok(LoadedCase {
            deployed,
            state,
            service_point: self.point_of(&record),
        })
    }

    /// Where a stored case was opened (one from before service points: the default one).
    pub(crate) fn point_of(&self, record: &sopflow_store::CaseRecord) -> Arc<str> {
        Arc::from(
            record
                .service_point
                .as_deref()
                .unwrap_or(self.offices.default_id()),
        )
    }

    /// A case as `user` may see it: `CaseNotFound`, as for an unknown case, when they may not.
    pub async fn load_for(
        &self,
        user: &User,
        case_id: &str,
    ) -> Result<(LoadedCase, Sight), RuntimeError> {
        let loaded = self.load(case_id).await?;
        match crate::access::sight(user, &loaded.deployed, &loaded.service_point) {
            Some(sight) => Ok((loaded, sight)),
            None => Err(RuntimeError::CaseNotFound(case_id.to_owned())),
        }
    }

    /// The history of a case, as stored.
    pub async fn history(
        &self,
        case_id: &str,
    ) -> Result<(LoadedCase, Vec<sopflow_store::Event>), RuntimeError> {
        let loaded = self.load(case_id).await?;
        let events = self.store.events(case_id).await?;
        Ok((loaded, events))
    }

    /// Runs one command through the group committer. A request whose Idempotency-Key
    /// already has an outcome gets that outcome again.
    pub async fn run(&self, mut request: CommandRequest) -> Result<Outcome, RuntimeError> {
        limits::check(&mut request.order)?;
        if let Some(outcome) = self.replayed(&request).await? {
            return Ok(outcome);
        }
        let mut job = self.job(request).await?;
        // Decided here, on this request's task, where it can be: the one writer only writes.
        job.prepared = self.prepare(&job).await;
        self.submit(job)
            .await?
            .ok_or_else(|| RuntimeError::Corrupt("a command on a case came back without it".into()))
    }

    /// Runs `first` and then each of `then` on the same case, one after another in one
    /// transaction, and stores all their events as one append: how a backfill writes whole
    /// cases (the benchmark fills a store with a year of them so). Each command is checked
    /// and decided as [`Runtime::run`] would (limits, who may, the SOP's rules, queue and
    /// registration numbers); the first refusal undoes them all and is the answer. The
    /// outcome is the case after the last.
    pub async fn run_sequence(
        &self,
        mut first: CommandRequest,
        mut then: Vec<FollowUp>,
    ) -> Result<Outcome, RuntimeError> {
        if first.idempotency.is_some() {
            // Its record would answer a retry of the first command with the last's outcome.
            return Err(RuntimeError::Invalid(
                "a sequence of commands takes no Idempotency-Key".into(),
            ));
        }
        limits::check(&mut first.order)?;
        for follow in &mut then {
            limits::check_command(&mut follow.command)?;
        }
        let mut job = self.job(first).await?;
        job.then = then;
        self.submit(job)
            .await?
            .ok_or_else(|| RuntimeError::Corrupt("a command on a case came back without it".into()))
    }

    /// Calls the next case waiting in `queue` at service point `point` (among the cases of
    /// `sop_ids`, the SOPs whose queue `user` calls there) to `counter`, for `user`; `None`
    /// when nobody is waiting. The case is taken in the command's transaction, by one
    /// claiming statement: two calls at once, in this process or another, take two cases.
    /// Whether the case may be called is still the engine's decision (`CallFromQueue`).
    pub async fn call_next(
        &self,
        user: &User,
        point: &str,
        queue: &str,
        counter: Option<&str>,
        sop_ids: Vec<String>,
        now: OffsetDateTime,
    ) -> Result<Option<Outcome>, RuntimeError> {
        let job = self.call_job(user, point, queue, counter, sop_ids, now);
        self.submit(job).await
    }

    /// Hands a job to the group committer and waits for its commit.
    async fn submit(&self, job: pipeline::Job) -> Result<Option<Outcome>, RuntimeError> {
        let (reply, answer) = oneshot::channel();
        self.batcher
            .as_ref()
            .ok_or_else(|| RuntimeError::Busy("the writer has stopped".into()))?
            .send(Batched { job, reply })
            .map_err(|_| RuntimeError::Busy("the writer has stopped".into()))?;
        let outcome = answer
            .await
            .unwrap_or_else(|_| Err(RuntimeError::Busy("the writer has stopped".into())))?;
        // Committed: the boards may show the calls now.
        if let Some(outcome) = &outcome {
            self.calls.publish(&outcome.calls);
        }
        Ok(outcome)
    }

    /// Gives the cases waiting in a queue whose projection has no queue place (stored before
    /// it had one: migration 0012) theirs, so that calls find them; returns how many. Run at
    /// the service's start; a case that moved meanwhile got its place from its command.
    pub async fn project_queue_places(&self) -> Result<u64, RuntimeError> {
        let mut steps: Vec<String> = Vec::new();
        for d in self.registry.all(&self.store).await? {
            for idx in 0..d.sop.step_count() {
                let step = d.sop.step(idx);
                if step.queue.is_some() && !steps.contains(&step.id) {
                    steps.push(step.id.clone());
                }
            }
        }
        if steps.is_empty() {
            return Ok(0);
        }
        let mut placed = 0;
        let mut after: Option<String> = None;
        loop {
            let page = self
                .store
                .cases_without_queue_place(&steps, after.as_deref(), 500)
                .await?;
            let Some(last) = page.last() else {
                return Ok(placed);
            };
            after = Some(last.case_id.clone());
            for record in page {
                let version = record.version;
                let case_id = record.case_id.clone();
                let loaded = self.load_listed(record).await?;
                if let Some(place) = pipeline::queue_place(&loaded.deployed.sop, &loaded.state)
                    && self
                        .store
                        .set_queue_place(&case_id, version, Some(&place))
                        .await?
                {
                    placed += 1;
                }
            }
        }
    }

    /// After a commit: wakes the dispatcher if adapter requests were queued.
    fn committed(&self) {
        if self.queued_since_commit.swap(false, Ordering::AcqRel) {
            self.outbox_queued.notify_one();
        }
    }
}

/// Decodes stored event payloads into engine events.
pub fn decode(stored: &[sopflow_store::Event]) -> Result<Vec<Event>, RuntimeError> {
    stored
        .iter()
        .map(|e| {
            serde_json::from_value::<Event>(e.payload.clone()).map_err(|err| {
                RuntimeError::Corrupt(format!("case {} event {}: {err}", e.case_id, e.seq))
            })
        })
        .collect()
}
