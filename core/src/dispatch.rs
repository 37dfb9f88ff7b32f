//! The outbox dispatcher: delivers the adapter requests that commands queued, and turns the
//! adapters' answers back into commands (design invariant 4).
//!
//! Loop: claim due outbox rows under a lease, then for each row:
//! 1. check that the case still waits for that request (a person may have completed the step,
//!    or the case was cancelled): if not, the row is settled without a delivery;
//! 2. call the adapter the SOP names, as the configuration binds it;
//! 3. record the answer as a command (a finished print completes the step) and mark the row
//!    done — or schedule a retry with exponential backoff and jitter — or, after
//!    `max_attempts` or an error no retry can fix, give up: the case gets an incident and the row
//!    waits for an admin's retry (`POST /incidents/{id}/retry`).
//!
//! A card is printed at most once. The first attempt prints (the printer itself refuses a second
//! job under a key it knows). A later attempt whose predecessor may have reached the printer —
//! it timed out, or its process died holding the lease — first looks the job up by its key;
//! where the printer cannot tell (an IPP printer forgets finished jobs), a person decides:
//! the case becomes an incident, never an automatic reprint.

use std::sync::Arc;

use backon::BackoffBuilder;
use serde_json::Map;
use sopflow_effects::{
    AdapterError, CardPrinter, Consultation, ConsultationRequest, IdempotencyKey, JobState, Layout,
    Lookup, PrintDocument, PrintJob, PrintLine, PrintOutcome,
};
use sopflow_engine::case::decide::{AdapterCall, pending_call};
use sopflow_engine::case::{Actor, Command};
use sopflow_engine::sop::model::PrintLayout;
use sopflow_store::OutboxItem;
use time::OffsetDateTime;
use tokio::sync::{Notify, Semaphore};

use crate::adapters::{Adapter, Adapters, DispatchConfig, std_duration};
use crate::outbox;
use crate::runtime::{CommandRequest, Runtime, RuntimeError};

/// How often an idle dispatcher looks for due rows (a commit that queues one wakes it sooner).
const POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// Marks a stored error whose attempt may have reached the peer: the next attempt looks first.
const MAYBE_SENT: &str = "maybe sent: ";

/// Delivers outbox rows until the task is dropped.
#[derive(Clone)]
pub struct Dispatcher {
    runtime: Runtime,
    adapters: Arc<Adapters>,
    policy: DispatchConfig,
    worker: String,
    /// Where the consultation desk posts its answer, before `/callbacks/{adapter}`.
    public_url: String,
}

/// What one attempt came to.
#[derive(Debug)]
enum Attempt {
    /// The adapter finished; record this command (none: the answer comes later, by callback).
    Done(Option<Command>),
    /// No delivery is due: the case moved on, or its actor does the step by hand.
    Settled(&'static str),
    /// Try again later.
    Retry { error: String, maybe_sent: bool },
    /// A person has to look.
    GiveUp(String),
}

impl Dispatcher {
    pub fn new(
        runtime: Runtime,
        adapters: Arc<Adapters>,
        policy: DispatchConfig,
        worker: String,
        public_url: String,
    ) -> Self {
        Self {
            runtime,
            adapters,
            policy,
            worker,
            public_url,
        }
    }

    /// Claims and delivers, `concurrency` at a time, waking on new rows or every [`POLL`].
    pub async fn run(self) {
        let wake: Arc<Notify> = self.runtime.outbox_queued.clone();
        let permits = Arc::new(Semaphore::new(self.policy.concurrency.max(1)));
        let lease = time::Duration::seconds(
            i64::try_from(self.policy.lease.as_secs().max(1)).unwrap_or(i64::MAX),
        );
        loop {
            let free = permits.available_permits();
            let mut claimed_all = false;
            if free > 0 {
                let limit = u32::try_from(free).unwrap_or(u32::MAX);
                match self
                    .runtime
                    .store
                    .claim_outbox(&self.worker, OffsetDateTime::now_utc(), lease, limit)
                    .await
                {
                    Ok(items) => {
                        claimed_all = items.len() == free;
                        for item in items {
                            let Ok(permit) = permits.clone().acquire_owned().await else {
                                return;
                            };
                            let me = self.clone();
                            tokio::spawn(async move {
                                me.deliver(item).await;
                                drop(permit);
                            });
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "cannot claim outbox rows"),
                }
            }
            if claimed_all {
                // There may be more due rows: ask again as soon as a delivery finishes.
                let _ = permits.acquire().await;
                continue;
            }
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(POLL) => {}
            }
        }
    }

    /// One delivery of one claimed row, settled in the store whatever happens.
    pub async fn deliver(&self, item: OutboxItem) {
        let attempt = self.attempt(&item).await;
        tracing::debug!(outbox = item.id, adapter = %item.adapter, attempt = item.attempts, outcome = ?kind(&attempt), "delivery");
        metrics::counter!("sopflow_adapter_deliveries_total", "adapter" => item.adapter.clone(), "outcome" => kind(&attempt))
            .increment(1);
        if let Err(e) = self.settle(&item, attempt).await {
            // The lease runs out and another attempt follows: nothing is lost.
            tracing::warn!(outbox = item.id, error = %e, "cannot settle a delivery");
        }
    }

    async fn attempt(&self, item: &OutboxItem) -> Attempt {
        let case_id = item.case_id.as_str();
        let loaded = match self.runtime.load(case_id).await {
            Ok(loaded) => loaded,
            Err(RuntimeError::CaseNotFound(_)) => return Attempt::Settled("no such case"),
            Err(e) => {
                return Attempt::Retry {
                    error: format!("cannot load the case: {e}"),
                    maybe_sent: false,
                };
            }
        };
        let state = &loaded.state;
        if !outbox::awaits(state, &item.idempotency_key) {
            return Attempt::Settled("the case no longer waits for this request");
        }
        let Some(def) = loaded
            .deployed
            .sop
            .document()
            .adapters
            .iter()
            .find(|a| a.id == item.adapter)
        else {
            return Attempt::GiveUp(format!("the SOP has no adapter `{}`", item.adapter));
        };
        let key = match IdempotencyKey::new(item.idempotency_key.clone()) {
            Ok(key) => key,
            Err(e) => return Attempt::GiveUp(e.to_string()),
        };
        // The engine's call, as the runtime stored it.
        let mut call = match outbox::call(item) {
            Ok(call) => call,
            Err(e) => return Attempt::GiveUp(e.to_string()),
        };
        match self.adapters.resolve(def) {
            Adapter::Manual => Attempt::Settled("no adapter configured: the actor completes it"),
            Adapter::Printer(printer) => {
                // A row stored before printouts were part of the call: the engine gives the
                // printout of the request the case waits on.
                if call.printout.is_none()
                    && let Some(Ok(current)) = pending_call(&loaded.deployed.sop, state)
                {
                    call.printout = current.printout;
                }
                self.print(printer.as_ref(), item, key, call).await
            }
            Adapter::Consultation(desk) => {
                let consultation = ConsultationRequest {
                    key,
                    case_id: case_id.to_owned(),
                    sop_id: loaded.deployed.sop_id.clone(),
                    step: call.step,
                    problem: call.problem,
                    fields: call.request,
                    callback: Some(format!(
                        "{}/callbacks/{}",
                        self.public_url.trim_end_matches('/'),
                        item.adapter
                    )),
                };
                self.consult(desk.as_ref(), &consultation).await
            }
        }
    }

    async fn print(
        &self,
        printer: &dyn CardPrinter,
        item: &OutboxItem,
        key: IdempotencyKey,
        call: AdapterCall,
    ) -> Attempt {
        let Some(printout) = call.printout else {
            return Attempt::GiveUp(format!("step `{}` has no printout to print", call.step));
        };
        if !printout.missing.is_empty() {
            // Field names, never values: this reason is logged and shown.
            return Attempt::GiveUp(format!(
                "the printout lacks case field(s) {}: set them, then retry the incident",
                printout.missing.join(", ")
            ));
        }
        if earlier_maybe_sent(item) {
            match printer.lookup(&key).await {
                Ok(Lookup::Found { job_ref, state }) => {
                    return printed(
                        &key,
                        PrintOutcome {
                            job_ref,
                            state,
                            reasons: Vec::new(),
                            already_submitted: true,
                        },
                    );
                }
                Ok(Lookup::NotFound) => {}
                Ok(Lookup::NotRemembered) => {
                    return Attempt::GiveUp(format!(
                        "the printer cannot tell whether card {key} was printed: look at the \
                         printer; if the card came out, complete the step; if not, retry the \
                         incident to print it"
                    ));
                }
                Err(e) => return failed(e),
            }
        }
        let job = PrintJob {
            key: key.clone(),
            document: PrintDocument {
                layout: match printout.layout {
                    PrintLayout::Id1Card => Layout::Id1Card,
                    PrintLayout::A4Document => Layout::A4Document,
                },
                title: printout.title,
                lines: printout
                    .lines
                    .into_iter()
                    .map(|l| PrintLine {
                        label: l.label,
                        value: l.value,
                    })
                    .collect(),
            },
        };
        match printer.print(&job).await {
            Ok(outcome) => printed(&key, outcome),
            Err(e) => failed(e),
        }
    }

    async fn consult(&self, desk: &dyn Consultation, request: &ConsultationRequest) -> Attempt {
        match desk.send(request).await {
            // The desk has it; its answer arrives on the callback (or an ADB user answers).
            Ok(_) => Attempt::Done(None),
            Err(e) => failed(e),
        }
    }

    async fn settle(&self, item: &OutboxItem, attempt: Attempt) -> Result<(), RuntimeError> {
        let store = &self.runtime.store;
        let now = OffsetDateTime::now_utc();
        let case_id = item.case_id.as_str();
        let actor = Actor::new(format!("adapter:{}", item.adapter), "system");
        match attempt {
            Attempt::Done(command) => {
                if let Some(command) = command {
                    match self
                        .runtime
                        .run(CommandRequest::on_case(case_id, command, actor, now))
                        .await
                    {
                        Ok(_) | Err(RuntimeError::Command { .. }) => {}
                        Err(e) => {
                            // Recorded nowhere yet: try again; the next attempt finds the job.
                            let error = format!("{MAYBE_SENT}cannot record the result: {e}");
                            return self.retry_or_give_up(item, error).await;
                        }
                    }
                }
                store.complete_outbox(item.id, &self.worker, now).await?;
            }
            Attempt::Settled(why) => {
                tracing::debug!(outbox = item.id, why, "nothing to deliver");
                store.complete_outbox(item.id, &self.worker, now).await?;
            }
            Attempt::Retry { error, maybe_sent } => {
                // Once an attempt may have reached the peer, every later one looks first.
                let error = if maybe_sent || earlier_maybe_sent(item) {
                    format!("{MAYBE_SENT}{error}")
                } else {
                    error
                };
                self.retry_or_give_up(item, error).await?;
            }
            Attempt::GiveUp(reason) => self.give_up(item, &reason).await?,
        }
        Ok(())
    }

    async fn retry_or_give_up(&self, item: &OutboxItem, error: String) -> Result<(), RuntimeError> {
        let attempts = u32::try_from(item.attempts).unwrap_or(u32::MAX);
        if attempts >= self.policy.max_attempts {
            let reason = format!("{attempts} attempts failed, the last: {error}");
            return self.give_up(item, &reason).await;
        }
        let now = OffsetDateTime::now_utc();
        let wait = self.backoff(attempts);
        tracing::info!(outbox = item.id, adapter = %item.adapter, attempt = attempts, retry_in_ms = wait.as_millis() as u64, error = %error, "delivery failed; retrying");
        let next = now + wait;
        self.runtime
            .store
            .fail_outbox(item.id, &self.worker, &error, next, false, now)
            .await?;
        Ok(())
    }

    /// The case gets an incident first, then the row is parked: a crash in between leaves a
    /// row that is retried (and given up) again, never a case that waits for nothing.
    async fn give_up(&self, item: &OutboxItem, reason: &str) -> Result<(), RuntimeError> {
        let now = OffsetDateTime::now_utc();
        tracing::warn!(outbox = item.id, adapter = %item.adapter, reason, "delivery given up: incident");
        let command = Command::RecordAdapterFailure {
            idempotency_key: item.idempotency_key.clone(),
            reason: reason.to_owned(),
        };
        let actor = Actor::new(format!("adapter:{}", item.adapter), "system");
        match self
            .runtime
            .run(CommandRequest::on_case(
                item.case_id.clone(),
                command,
                actor,
                now,
            ))
            .await
        {
            Ok(_) | Err(RuntimeError::Command { .. }) | Err(RuntimeError::CaseNotFound(_)) => {}
            Err(e) => return Err(e),
        }
        self.runtime
            .store
            .fail_outbox(item.id, &self.worker, reason, now, true, now)
            .await?;
        Ok(())
    }

    /// The wait after failed attempt `attempt` (1-based): doubling from `first_retry`, capped at
    /// `max_retry`, with jitter so that many rows failing together do not retry together.
    fn backoff(&self, attempt: u32) -> std::time::Duration {
        let first = std_duration(self.policy.first_retry);
        let max = std_duration(self.policy.max_retry).max(first);
        backon::ExponentialBuilder::default()
            .with_min_delay(first)
            .with_max_delay(max)
            .with_factor(2.0)
            .with_jitter()
            .without_max_times()
            .build()
            .nth(attempt.saturating_sub(1) as usize)
            .unwrap_or(max)
            .min(max)
    }
}

/// A print outcome as an attempt: completed cards complete the step.
fn printed(key: &IdempotencyKey, outcome: PrintOutcome) -> Attempt {
    match outcome.state {
        JobState::Completed => Attempt::Done(Some(Command::RecordAdapterResult {
            idempotency_key: key.as_str().to_owned(),
            outcome: None,
            reference: Some(format!("job {}", outcome.job_ref)),
            data: Map::new(),
        })),
        JobState::Aborted | JobState::Canceled => Attempt::GiveUp(format!(
            "print job {} ended {:?} ({}): the card may be partly printed; look at the printer, \
             then complete the step or retry the incident",
            outcome.job_ref,
            outcome.state,
            outcome.reasons.join(", ")
        )),
        // Accepted and still going: look again later, never print again.
        state => Attempt::Retry {
            error: format!("print job {} is still {state:?}", outcome.job_ref),
            maybe_sent: true,
        },
    }
}

/// Whether an earlier attempt of this delivery may have reached the peer. A process that died
/// holding the lease left no error, so it may have. The first attempt after a claim (or after an
/// admin's retry, which resets the count: a person decided) has no earlier attempt.
fn earlier_maybe_sent(item: &OutboxItem) -> bool {
    item.attempts > 1
        && item
            .last_error
            .as_deref()
            .is_none_or(|e| e.starts_with(MAYBE_SENT))
}

fn failed(e: AdapterError) -> Attempt {
    if e.is_retryable() {
        Attempt::Retry {
            maybe_sent: e.may_have_taken_effect(),
            error: e.to_string(),
        }
    } else {
        Attempt::GiveUp(e.to_string())
    }
}

fn kind(attempt: &Attempt) -> &'static str {
    match attempt {
        Attempt::Done(_) => "done",
        Attempt::Settled(_) => "settled",
        Attempt::Retry { .. } => "retry",
        Attempt::GiveUp(_) => "given_up",
    }
}
