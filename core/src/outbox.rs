//! What an outbox row carries: written by the command pipeline with the event that asks for
//! the delivery, read back by the dispatcher and by the faces that show incidents.

use serde::{Deserialize, Serialize};
use sopflow_engine::case::decide::AdapterCall;
use sopflow_store::{NewOutbox, OutboxItem};
use time::OffsetDateTime;

use crate::runtime::RuntimeError;

/// The payload of an outbox row (its JSON column): the engine's call as it decided it (case,
/// step, request fields, a print step's printout, a consultation's problem). The row's own
/// columns repeat the adapter, the idempotency key and the case id. A row written before
/// printouts were part of the call reads with the parts it lacks empty.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OutboxPayload(pub AdapterCall);

impl OutboxPayload {
    /// The row to queue, due at `now`.
    pub(crate) fn to_row(&self, now: OffsetDateTime) -> Result<NewOutbox, RuntimeError> {
        Ok(NewOutbox {
            idempotency_key: self.0.idempotency_key.clone(),
            adapter: self.0.adapter.clone(),
            payload: serde_json::to_value(self)
                .map_err(|e| RuntimeError::Corrupt(format!("outbox payload: {e}")))?,
            next_attempt_at: now,
        })
    }

    /// The payload of a stored row.
    pub fn of(item: &OutboxItem) -> Result<Self, RuntimeError> {
        serde_json::from_value(item.payload.clone())
            .map_err(|e| RuntimeError::Corrupt(format!("outbox row {}: payload: {e}", item.id)))
    }

    /// The service step that asked.
    pub fn step(&self) -> &str {
        &self.0.step
    }
}
