//! `--write-histories DATABASE`: the simulated cases as real, hash-chained event histories
//! in a store of their own, so that `sopflow report`, replay, `audit verify` and the pages
//! work on them as on real cases.
//!
//! The histories are those the engine made in the simulation (with the timers' ticks, so
//! breaches are recorded as production records them), chained and projected as the runtime
//! does. Their data is the scenario's (fictitious); each case's salt is derived from the
//! seed and the case id, so the same simulation writes the same bytes. Never point this at
//! the office's own store: the cases would mix with real ones.

use sopflow_engine::case::chain::{self, GENESIS, sha256_hex};
use sopflow_engine::case::{CaseState, CaseStatus, Event, QueueNumber};
use sopflow_engine::sop::Sop;
use sopflow_store::{CaseProjection, NewEvent, Payload, QueuePlace, Store};
use time::OffsetDateTime;

use crate::SimError;

/// Cases written per transaction.
const BATCH: usize = 200;

/// Stores the SOP text as a version (or finds it) and returns its number, for the cases to
/// be pinned to.
pub async fn deploy(
    store: &Store,
    sop: &Sop,
    yaml: &str,
    at: OffsetDateTime,
) -> Result<u32, SimError> {
    let hash = sha256_hex(yaml.as_bytes());
    let (version, _) = store.put_sop_version(sop.id(), &hash, yaml, at).await?;
    Ok(version)
}

/// The store's `due_at` of a case: the earlier of its running clock and its total budget,
/// when not yet exceeded (what the time-budget ticker looks at).
/// Where a case waits in a queue, as the service projects it (sopflow-core's `queue_place`:
/// an open queue step not yet called, by when it entered, then number).
fn queue_place(sop: &Sop, state: &CaseState) -> Option<QueuePlace> {
    if state.status != CaseStatus::Open || state.current_completed {
        return None;
    }
    let queue = sop
        .step(sop.step_index(state.current_step.as_deref()?)?)
        .queue
        .clone()?;
    let number: QueueNumber = state.queue_number.as_deref()?.parse().ok()?;
    Some(QueuePlace {
        queue,
        entered_at: state.visits.last()?.entered_at,
        sequence: i64::from(number.sequence),
    })
}

fn next_due(state: &CaseState) -> Option<OffsetDateTime> {
    if state.status.is_closed() {
        return None;
    }
    let step = state
        .clock
        .as_ref()
        .filter(|c| !c.exceeded)
        .map(|c| c.due_at);
    let total = state.total_due_at.filter(|_| !state.total_exceeded);
    match (step, total) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Writes `histories` (case id, events) of SOP `sop` version `version`; returns how many.
pub async fn write(
    store: &Store,
    sop: &Sop,
    version: u32,
    seed: u64,
    histories: &[(String, Vec<Event>)],
) -> Result<usize, SimError> {
    let personal = sop.personal_fields();
    let mut written = 0;
    for batch in histories.chunks(BATCH) {
        let mut tx = store.begin().await?;
        for (case_id, events) in batch {
            let Some(last) = events.last() else { continue };
            let state = CaseState::replay(events).map_err(|e| {
                SimError::Invalid(format!("simulated case {case_id} does not fold: {e}"))
            })?;
            let salt =
                sha256_hex(format!("sopflow-sim:{seed}:{case_id}").as_bytes())[..32].to_owned();
            let mut prev = GENESIS.to_owned();
            let mut stored = Vec::with_capacity(events.len());
            for event in events {
                let link = chain::link(&prev, event, personal, &salt);
                let hash = link.hash;
                stored.push(NewEvent {
                    kind: event.body.kind().to_owned(),
                    recorded_at: event.at,
                    user_name: event.by.user.to_string(),
                    role: event.by.role.to_string(),
                    payload: Payload::from_text(&link.text)
                        .map_err(|e| SimError::Invalid(format!("event of {case_id}: {e}")))?,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                });
                prev = hash;
            }
            // The first event alone, then the rest, as the runtime appends command by command:
            // the case's `created_at` is its opening.
            let first = CaseState::replay(&events[..1]).map_err(|e| {
                SimError::Invalid(format!("simulated case {case_id} does not fold: {e}"))
            })?;
            let project = |state: &CaseState, head: &str, at: OffsetDateTime| CaseProjection {
                sop_id: sop.id().to_owned(),
                sop_version: version,
                // Simulated cases open at no particular service point: the one a deployment
                // without service points has (sopflow-core's `DEFAULT_POINT`).
                service_point: state
                    .service_point
                    .clone()
                    .unwrap_or_else(|| "kantor".to_owned()),
                status: state.status.as_str().to_owned(),
                current_step: state.current_step.as_deref().map(str::to_owned),
                version: state.version,
                head_hash: head.to_owned(),
                due_at: next_due(state),
                overdue: state.clock.as_ref().is_some_and(|c| c.exceeded) || state.total_exceeded,
                updated_at: at,
                queue: queue_place(sop, state),
            };
            tx.put_case_salt(case_id, &salt).await?;
            let head = stored[0].hash.clone();
            tx.append(
                case_id,
                0,
                &stored[..1],
                &project(&first, &head, events[0].at),
                &[],
            )
            .await?;
            if stored.len() > 1 {
                tx.append(
                    case_id,
                    1,
                    &stored[1..],
                    &project(&state, &prev, last.at),
                    &[],
                )
                .await?;
            }
            written += 1;
        }
        tx.commit().await?;
    }
    Ok(written)
}
