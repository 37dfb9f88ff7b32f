//! What an outbox row carries: the engine's [`AdapterCall`] (the case, the step, the key, the
//! request the SOP lists, a printout, a consultation's problem), written by the command
//! pipeline with the event that asks for the delivery and read back by the dispatcher and by
//! the faces that show incidents. One typed payload for all of them.

use sopflow_engine::case::CaseState;
use sopflow_engine::case::decide::AdapterCall;
use sopflow_store::{NewOutbox, OutboxItem};
use time::OffsetDateTime;

use crate::runtime::RuntimeError;

/// Whether `state` still waits for the adapter request `key`: an open case at the request's
/// step, not yet completed there. A request it no longer waits for is settled unsent.
pub(crate) fn awaits(state: &CaseState, key: &str) -> bool {
    !state.status.is_closed()
        && !state.current_completed
        && state.pending_request.as_ref().is_some_and(|p| {
            p.idempotency_key == key && state.current_step.as_deref() == Some(&*p.step)
        })
}

/// The row that queues `call`, due at `now`.
pub(crate) fn row(call: &AdapterCall, now: OffsetDateTime) -> Result<NewOutbox, RuntimeError> {
    Ok(NewOutbox {
        idempotency_key: call.idempotency_key.clone(),
        adapter: call.adapter.clone(),
        payload: serde_json::to_value(call)
            .map_err(|e| RuntimeError::Corrupt(format!("outbox payload: {e}")))?,
        next_attempt_at: now,
    })
}

/// The call a stored row carries. Rows queued before the payload was the whole call hold only
/// its case, step, SOP and request: the row's own columns give the rest.
pub fn call(item: &OutboxItem) -> Result<AdapterCall, RuntimeError> {
    let mut call: AdapterCall = serde_json::from_value(item.payload.clone())
        .map_err(|e| RuntimeError::Corrupt(format!("outbox row {}: payload: {e}", item.id)))?;
    if call.adapter.is_empty() {
        call.adapter = item.adapter.clone();
    }
    if call.idempotency_key.is_empty() {
        call.idempotency_key = item.idempotency_key.clone();
    }
    if call.case_id.is_empty() {
        call.case_id = item.case_id.clone();
    }
    Ok(call)
}

/// What retrying an incident did.
#[derive(Debug)]
pub enum Retried {
    /// The case's incident was resolved and the delivery queued again, in one command.
    Resolved(Box<crate::runtime::Outcome>),
    /// The case's incident was resolved already (say, a crash between giving up and parking
    /// the row): only the row was queued again.
    Requeued,
}

/// Retries delivery `id`, given up after its attempts, as `user` for `reason`: every face's
/// way (the REST API's `POST /incidents/{id}/retry`, the administrator's page). `None` when
/// there is no open incident with this id. For a print, the retry is a person's decision that
/// no card came out: it prints.
pub async fn retry_incident(
    runtime: &crate::Runtime,
    user: &crate::auth::User,
    id: i64,
    reason: &str,
    now: OffsetDateTime,
) -> Result<Option<(String, Retried)>, RuntimeError> {
    use sopflow_engine::case::{Command, CommandError};
    let store = &runtime.store;
    let Some(incident) = store
        .list_incidents()
        .await?
        .into_iter()
        .find(|i| i.id == id)
    else {
        return Ok(None);
    };
    let command = Command::ResolveIncident {
        note: format!("delivery {id} retried: {reason}"),
    };
    let retry = crate::runtime::CommandRequest::on_case(
        incident.case_id.clone(),
        command,
        user.actor(),
        now,
    )
    .by(user);
    match runtime.run(retry).await {
        Ok(outcome) => Ok(Some((
            incident.case_id,
            Retried::Resolved(Box::new(outcome)),
        ))),
        Err(RuntimeError::Command {
            error: CommandError::NoIncident,
            ..
        }) => {
            store.retry_incident(id, now).await?;
            runtime.outbox_queued.notify_one();
            Ok(Some((incident.case_id, Retried::Requeued)))
        }
        Err(e) => Err(e),
    }
}
