//! What an outbox row carries: written by the command pipeline with the event that asks for
//! the delivery, read back by the dispatcher and by the faces that show incidents.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sopflow_store::{NewOutbox, OutboxItem};
use time::OffsetDateTime;

use crate::runtime::RuntimeError;

/// The payload of an outbox row (its JSON column). The row's own columns hold the adapter,
/// the idempotency key and the case id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxPayload {
    pub case_id: String,
    /// The service step that asked.
    pub step: String,
    pub sop_id: String,
    /// What the adapter receives: the fields the SOP's step lists for it.
    pub request: Map<String, Value>,
}

impl OutboxPayload {
    /// The row to queue, due at `now`.
    pub(crate) fn to_row(
        &self,
        adapter: &str,
        idempotency_key: &str,
        now: OffsetDateTime,
    ) -> Result<NewOutbox, RuntimeError> {
        Ok(NewOutbox {
            idempotency_key: idempotency_key.to_owned(),
            adapter: adapter.to_owned(),
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
}
