//! The values the store takes and returns. Those it reads back derive `sqlx::FromRow`, for
//! either backend: times through [`Ts`] (a NULL one through [`MaybeTs`]), JSON through
//! `sqlx::types::Json`.

use serde::{Deserialize, Serialize};
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Type};
use time::OffsetDateTime;

use crate::timestamp::{MaybeTs, Ts};

/// One deployed SOP text.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct SopVersion {
    pub sop_id: String,
    /// The version number (1, 2, …): `u32` everywhere above the store, as the engine's
    /// `SopVersion`; an SQL integer in the database.
    #[sqlx(try_from = "i64")]
    pub version: u32,
    pub content_hash: String,
    pub yaml: String,
    #[sqlx(try_from = "Ts")]
    pub created_at: OffsetDateTime,
}

/// An event to append; its seq follows from the append's expected version.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub kind: String,
    pub recorded_at: OffsetDateTime,
    pub user_name: String,
    pub role: String,
    /// The exact JSON text stored (the hash chain covers it), already encoded.
    pub payload: crate::Payload,
    pub prev_hash: String,
    pub hash: String,
}

/// A stored event.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct Event {
    pub case_id: String,
    #[sqlx(try_from = "i64")]
    pub seq: u64,
    pub kind: String,
    #[sqlx(try_from = "Ts")]
    pub recorded_at: OffsetDateTime,
    pub user_name: String,
    pub role: String,
    #[sqlx(json)]
    pub payload: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// What the runtime computed from the events, stored with them for listing and timers.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseProjection {
    /// Only used when the case is created: a case stays on its SOP version.
    pub sop_id: String,
    pub sop_version: u32,
    pub status: String,
    pub current_step: Option<String>,
    /// The last event's seq.
    pub version: u64,
    /// The last event's hash.
    pub head_hash: String,
    /// When the ticker must next look at the case (the current step's budget end); `None`
    /// when nothing is pending, e.g. the case is closed.
    pub due_at: Option<OffsetDateTime>,
    pub overdue: bool,
    /// The command's time.
    pub updated_at: OffsetDateTime,
    /// Where the case was opened. Only used when the case is created: a case stays there.
    pub service_point: String,
    /// The queue the case waits in now, if any (see [`crate::Tx::claim_waiting`]).
    pub queue: Option<QueuePlace>,
}

/// Where a case waits in a queue: the order calls take waiting cases in is by when they
/// entered it, then by number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuePlace {
    pub queue: String,
    pub entered_at: OffsetDateTime,
    /// The sequence of its queue number (`7` for `A-007`).
    pub sequence: i64,
}

/// A case as listed: its projection.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct CaseRecord {
    pub case_id: String,
    pub sop_id: String,
    #[sqlx(try_from = "i64")]
    pub sop_version: u32,
    pub status: String,
    pub current_step: Option<String>,
    #[sqlx(try_from = "i64")]
    pub version: u64,
    pub head_hash: String,
    #[sqlx(try_from = "Ts")]
    pub created_at: OffsetDateTime,
    #[sqlx(try_from = "Ts")]
    pub updated_at: OffsetDateTime,
    #[sqlx(try_from = "MaybeTs")]
    pub due_at: Option<OffsetDateTime>,
    pub overdue: bool,
    /// Where the case was opened; `None` for a case from before service points that the
    /// runtime has not yet assigned (see [`crate::Store::assign_service_point`]).
    pub service_point: Option<String>,
}

/// Filters for [`crate::Store::list_cases`]; `None` does not filter. A list matches any of
/// its values (an empty list matches nothing).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseFilter {
    pub sop_id: Option<String>,
    /// Cases of any of these SOPs (who may see which SOPs' cases).
    pub sop_ids: Option<Vec<String>>,
    /// Cases opened at any of these service points.
    pub service_points: Option<Vec<String>>,
    pub statuses: Option<Vec<String>>,
    pub current_steps: Option<Vec<String>>,
    /// Cases overdue at this time: flagged `overdue`, or `due_at` at or before it.
    pub overdue_at: Option<OffsetDateTime>,
    /// Cases whose searchable field has this value (see [`SearchKey`]).
    pub search: Option<SearchKey>,
    /// Cases opened at or after this time.
    pub created_from: Option<OffsetDateTime>,
    /// Cases opened before this time.
    pub created_before: Option<OffsetDateTime>,
}

/// A searchable case field and the hash of a value, as [`crate::Tx::index_case`] stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchKey {
    pub field: String,
    /// Hex SHA-256 that the caller computed of the field and value (the store never sees the
    /// value).
    pub value_hash: String,
}

/// A page of a listing, by case_id.
#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub limit: u32,
    /// The last case_id of the previous page.
    pub after: Option<String>,
}

impl Page {
    pub fn first(limit: u32) -> Self {
        Self { limit, after: None }
    }
}

/// An effect to deliver, queued with the events that call for it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOutbox {
    /// Deterministic (case, step, attempt): delivering twice must be recognisable.
    pub idempotency_key: String,
    pub adapter: String,
    pub payload: serde_json::Value,
    /// When the first delivery may start.
    pub next_attempt_at: OffsetDateTime,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    Pending,
    Claimed,
    Done,
    /// The last attempt failed; retried at `next_attempt_at`.
    Failed,
    /// Given up; waits for a human to retry it.
    Incident,
}

impl OutboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Claimed => "claimed",
            OutboxStatus::Done => "done",
            OutboxStatus::Failed => "failed",
            OutboxStatus::Incident => "incident",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "pending" => OutboxStatus::Pending,
            "claimed" => OutboxStatus::Claimed,
            "done" => OutboxStatus::Done,
            "failed" => OutboxStatus::Failed,
            "incident" => OutboxStatus::Incident,
            _ => return None,
        })
    }
}

/// Stored as its [`OutboxStatus::as_str`] text (a column both backends declare `TEXT`).
impl<DB: Database> Type<DB> for OutboxStatus
where
    str: Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <str as Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <str as Type<DB>>::compatible(ty)
    }
}

impl<'r, DB: Database> Decode<'r, DB> for OutboxStatus
where
    &'r str: Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<Self, BoxDynError> {
        let text = <&str as Decode<DB>>::decode(value)?;
        OutboxStatus::parse(text).ok_or_else(|| format!("unknown outbox status {text:?}").into())
    }
}

/// An outbox row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct OutboxItem {
    pub id: i64,
    pub case_id: String,
    /// The last event of the append that queued it.
    #[sqlx(try_from = "i64")]
    pub seq: u64,
    pub idempotency_key: String,
    pub adapter: String,
    #[sqlx(json)]
    pub payload: serde_json::Value,
    pub status: OutboxStatus,
    /// Claims so far (a claim whose worker died counts too).
    pub attempts: i32,
    #[sqlx(try_from = "Ts")]
    pub next_attempt_at: OffsetDateTime,
    pub claimed_by: Option<String>,
    #[sqlx(try_from = "MaybeTs")]
    pub lease_until: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    #[sqlx(try_from = "Ts")]
    pub created_at: OffsetDateTime,
    #[sqlx(try_from = "Ts")]
    pub updated_at: OffsetDateTime,
}

/// An API user.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub name: String,
    pub role: String,
    /// Hex SHA-256 of the token, for the caller's constant-time comparison after the lookup.
    pub token_hash: String,
    #[sqlx(try_from = "Ts")]
    pub created_at: OffsetDateTime,
    /// When an administrator disabled the user (none: active).
    #[sqlx(try_from = "MaybeTs")]
    pub disabled_at: Option<OffsetDateTime>,
}

/// The response given to an idempotent request, replayed when the same key comes again.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredResponse {
    /// A hash of the request, to refuse the same key reused for a different request.
    pub request_hash: String,
    #[sqlx(try_from = "i32")]
    pub status_code: u16,
    #[sqlx(rename = "response_body")]
    pub body: String,
    #[sqlx(try_from = "Ts")]
    pub created_at: OffsetDateTime,
}

/// A counter (loket) of a service point.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counter {
    /// Stable ASCII id, used by the API (`loket_1`).
    pub id: String,
    /// As the display board shows it (`Loket 1`).
    pub name: String,
}

/// Who keeps a service point: the configuration file (rewritten from it at each start) or an
/// admin through the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointSource {
    Config,
    Api,
}

impl PointSource {
    pub fn as_str(self) -> &'static str {
        match self {
            PointSource::Config => "config",
            PointSource::Api => "api",
        }
    }
}

/// Stored as its [`PointSource::as_str`] text.
impl<DB: Database> Type<DB> for PointSource
where
    str: Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <str as Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <str as Type<DB>>::compatible(ty)
    }
}

impl<'r, DB: Database> Decode<'r, DB> for PointSource
where
    &'r str: Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<Self, BoxDynError> {
        match <&str as Decode<DB>>::decode(value)? {
            "config" => Ok(PointSource::Config),
            "api" => Ok(PointSource::Api),
            other => Err(format!("unknown service point source {other:?}").into()),
        }
    }
}

/// A service point (kantor, kecamatan office, MPP desk) as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ServicePoint {
    pub id: String,
    pub name: String,
    /// As configured (`Asia/Jakarta`, `WITA`, `+09:00`...): the core reads it.
    pub timezone: String,
    /// The calendar it keeps, by the name of its file.
    pub calendar: Option<String>,
    #[sqlx(json)]
    pub counters: Vec<Counter>,
    pub source: PointSource,
    #[sqlx(try_from = "Ts")]
    pub created_at: OffsetDateTime,
    #[sqlx(try_from = "Ts")]
    pub updated_at: OffsetDateTime,
}

/// One of a user's roles and where they hold it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, sqlx::FromRow)]
pub struct Membership {
    pub role: String,
    /// A service point id, or [`Membership::EVERYWHERE`].
    pub service_point: String,
}

impl Membership {
    /// The service point of a membership that holds at every service point.
    pub const EVERYWHERE: &'static str = "*";
}

/// What a call to a counter was.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallKind {
    /// A number called for the first time (or again after it went back to the queue).
    Call,
    /// The same number called again at the same counter.
    Recall,
    /// The number sent on to another counter.
    Transfer,
    /// Nobody came: the number went back to the queue (or the case was cancelled).
    NoShow,
}

impl CallKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CallKind::Call => "call",
            CallKind::Recall => "recall",
            CallKind::Transfer => "transfer",
            CallKind::NoShow => "no_show",
        }
    }
}

impl<DB: Database> Type<DB> for CallKind
where
    str: Type<DB>,
{
    fn type_info() -> DB::TypeInfo {
        <str as Type<DB>>::type_info()
    }

    fn compatible(ty: &DB::TypeInfo) -> bool {
        <str as Type<DB>>::compatible(ty)
    }
}

impl<'r, DB: Database> Decode<'r, DB> for CallKind
where
    &'r str: Decode<'r, DB>,
{
    fn decode(value: DB::ValueRef<'r>) -> Result<Self, BoxDynError> {
        Ok(match <&str as Decode<DB>>::decode(value)? {
            "call" => CallKind::Call,
            "recall" => CallKind::Recall,
            "transfer" => CallKind::Transfer,
            "no_show" => CallKind::NoShow,
            other => return Err(format!("unknown call kind {other:?}").into()),
        })
    }
}

/// A call to record, with the event of the case that made it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCall {
    pub service_point: String,
    pub sop_id: String,
    pub queue: String,
    pub number: String,
    pub counter: Option<String>,
    pub kind: CallKind,
    pub case_id: String,
    /// The case event that records it.
    pub seq: u64,
    pub at: OffsetDateTime,
    /// The user who made the call (staff); `None` for one made by no user.
    pub called_by: Option<String>,
}

/// A recorded call.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct QueueCall {
    pub id: i64,
    pub service_point: String,
    pub sop_id: String,
    pub queue: String,
    pub number: String,
    pub counter: Option<String>,
    pub kind: CallKind,
    pub case_id: String,
    #[sqlx(try_from = "i64")]
    pub seq: u64,
    #[sqlx(try_from = "Ts")]
    pub at: OffsetDateTime,
    /// Who made the call; `None` for calls recorded before migration 0010.
    pub called_by: Option<String>,
}
