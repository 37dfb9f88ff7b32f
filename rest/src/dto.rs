//! The wire types of the REST API. Engine types are not the wire format: these are, and they
//! change only with the API.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sopflow_engine::case::decide::DocumentState;
use sopflow_engine::case::{CaseState, DocumentReceipt};
use time::OffsetDateTime;
use utoipa::ToSchema;

use sopflow_core::access::Sight;
use sopflow_core::calls::Call;
use sopflow_core::counters::Board;
use sopflow_core::offices::ServicePoint;
use sopflow_core::queries::SopEntry;
use sopflow_core::registry::Deployed;
use sopflow_core::runtime::{LoadedCase, Upload};
use sopflow_store::QueueCall;

/// A document handed in or checked at a step.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentInput {
    /// The document id of the SOP (e.g. `fotokopi_kk`).
    #[serde(rename = "type")]
    pub doc: String,
    /// Its number, if it has one.
    #[serde(default)]
    pub number: Option<String>,
    /// Whether it was handed in (default true).
    #[serde(default = "yes")]
    pub received: bool,
    /// An optional scan, base64; stored with its SHA-256.
    #[serde(default)]
    pub content_base64: Option<String>,
}

fn yes() -> bool {
    true
}

/// A non-negative whole number, also when written with a fraction of zero (`399.0`).
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    use serde::de::Error;
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    whole(&n, 9_007_199_254_740_992).map(Some).ok_or_else(|| {
        D::Error::custom(format!(
            "expected_version must be a whole number of at least 0, not {n}"
        ))
    })
}

/// An SOP version: a whole number (JSON does not tell `3` from `3.0`, nor does the document's
/// `integer`) that fits in 32 bits.
fn whole_version<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    use serde::de::Error;
    let n = serde_json::Number::deserialize(d)?;
    whole(&n, u64::from(u32::MAX))
        .and_then(|v| u32::try_from(v).ok())
        .ok_or_else(|| {
            D::Error::custom(format!(
                "version must be a whole number from 0 to {}, not {n}",
                u32::MAX
            ))
        })
}

/// `n` as a whole number from 0 to `max`, also when written with a fraction of zero.
fn whole(n: &serde_json::Number, max: u64) -> Option<u64> {
    if let Some(v) = n.as_u64() {
        return (v <= max).then_some(v);
    }
    // Exact: `max` is at most 2^53 here, below which every whole f64 is an integer.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    n.as_f64()
        .filter(|f| *f >= 0.0 && f.fract() == 0.0 && *f <= max as f64)
        .map(|f| f as u64)
}

/// `POST /cases`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartCase {
    pub sop_id: String,
    /// Where the case is opened: one of the caller's service points. Default: the one where
    /// the caller may open a case of this SOP (refused when there are several).
    #[serde(default)]
    pub service_point: Option<String>,
    /// The case data, checked against the SOP's case schema.
    #[schema(value_type = Object)]
    pub data: Map<String, Value>,
    /// Documents handed in with the application.
    #[serde(default)]
    pub documents: Vec<DocumentInput>,
}

/// `POST /cases/{id}/steps/{step}/complete`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompleteStep {
    /// Case fields this step collects.
    #[serde(default)]
    #[schema(value_type = Object)]
    pub data: Map<String, Value>,
    #[serde(default)]
    pub documents: Vec<DocumentInput>,
    /// One of the step's outcomes, when it declares some.
    #[serde(default)]
    pub outcome: Option<String>,
    /// The case version the client saw; a different current version gives 409. A whole
    /// number (`399` or `399.0`: JSON does not tell integers from other numbers).
    #[serde(default, deserialize_with = "whole_number")]
    #[schema(value_type = Option<u64>)]
    pub expected_version: Option<u64>,
}

/// `POST /cases/{id}/cancel` and `POST /cases/{id}/incident/resolve`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    pub reason: String,
}

/// A document of the current step: whether it is required now (its condition evaluated on
/// the case data) and whether the case holds it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RequiredDocument {
    #[serde(rename = "type")]
    pub doc: String,
    pub name: String,
    pub required: bool,
    pub received: bool,
    /// `received` (required, held), `missing` (required, not held), `not_needed`.
    pub state: String,
}

/// The step a case is at.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CurrentStep {
    pub id: String,
    pub row: u32,
    pub name: String,
    pub kind: String,
    pub actor: String,
    /// Roles that may complete it (for a queue step: that may call it).
    pub roles: Vec<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub entered_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub due_at: Option<OffsetDateTime>,
    pub overdue: bool,
    /// Its documents, each required now or not (conditions evaluated) and held or not.
    pub documents: Vec<RequiredDocument>,
    /// Outcomes it may be completed with.
    pub outcomes: Vec<String>,
    /// Fields it may set (its `collects` and its `requires`).
    pub collects: Vec<String>,
    /// Fields that must hold a value once it is completed (set now or earlier).
    pub requires: Vec<String>,
}

/// A case, as the API shows it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseView {
    pub case_id: String,
    pub sop_id: String,
    pub sop_version: u32,
    /// Where the case was opened.
    pub service_point: String,
    /// open, incident, completed, cancelled.
    pub status: String,
    /// Sequence number of its last event: send it back as `expected_version`.
    pub version: u64,
    pub current_step: Option<CurrentStep>,
    /// The number the office gave it (on the applicant's receipt; `POST /cases/lookup`
    /// finds the case by it).
    pub registration_number: Option<String>,
    pub queue_number: Option<String>,
    /// The call of its number to a counter, while the applicant is expected there (recall,
    /// no-show and transfer act on it).
    pub call: Option<CallState>,
    /// How many times its number was called and nobody came.
    pub no_shows: u32,
    #[schema(value_type = Object)]
    pub data: Map<String, Value>,
    #[schema(value_type = Object)]
    pub documents: Value,
    pub incident: Option<String>,
    pub overdue: bool,
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub total_due_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub closed_at: Option<OffsetDateTime>,
}

impl CaseView {
    /// The case as loaded, rendered at `now`, personal data as stored (see [`CaseView::seen`]).
    pub fn of(case: &LoadedCase, now: OffsetDateTime) -> Self {
        Self::new(&case.deployed, &case.state, &case.service_point, now)
    }

    /// The view as someone with `sight` sees it: personal fields and document numbers masked
    /// unless they work the case.
    pub fn seen(mut self, sight: Sight, case: &LoadedCase) -> Self {
        if !sight.personal() {
            sopflow_audit::mask_map(&mut self.data, case.deployed.sop.personal_fields());
            sopflow_audit::mask_document_numbers(&mut self.documents);
        }
        self
    }

    pub fn new(deployed: &Deployed, state: &CaseState, point: &str, now: OffsetDateTime) -> Self {
        let sop = &deployed.sop;
        let current_step = state
            .current_step
            .as_deref()
            .and_then(|id| sop.step_index(id))
            .filter(|_| !state.status.is_closed())
            .map(|idx| {
                let step = sop.step(idx);
                let visit = state.visits.last();
                let checklist = sopflow_engine::case::decide::document_checklist(
                    sop,
                    idx,
                    &state.data,
                    &state.documents,
                )
                .unwrap_or_default();
                let roles = sop.recorders(idx).to_vec();
                CurrentStep {
                    id: step.id.clone(),
                    row: step.row,
                    name: step.name.clone(),
                    kind: step.kind.as_str().to_owned(),
                    actor: step.actor.clone(),
                    roles,
                    entered_at: visit.map(|v| v.entered_at),
                    due_at: state.clock.as_ref().map(|c| c.due_at),
                    overdue: state.clock.as_ref().is_some_and(|c| now > c.due_at),
                    documents: checklist
                        .iter()
                        .map(|check| RequiredDocument {
                            doc: check.doc.to_string(),
                            name: sop
                                .document()
                                .document(&check.doc)
                                .map(|d| d.name.clone())
                                .unwrap_or_default(),
                            required: check.required,
                            received: check.received,
                            state: match check.state() {
                                DocumentState::Received => "received",
                                DocumentState::Missing => "missing",
                                DocumentState::NotNeeded => "not_needed",
                            }
                            .to_owned(),
                        })
                        .collect(),
                    outcomes: step.outcomes.clone(),
                    collects: sop.settable(idx).to_vec(),
                    requires: step.requires.clone(),
                }
            });
        Self {
            case_id: state.case_id.clone(),
            sop_id: state.sop_id.clone(),
            sop_version: state.sop_version,
            service_point: point.to_owned(),
            status: state.status.as_str().to_owned(),
            version: state.version,
            current_step,
            registration_number: state.registration_number.clone(),
            queue_number: state.queue_number.clone(),
            call: sopflow_engine::case::open_call(sop, state).map(|(c, _)| CallState {
                queue: c.queue.to_string(),
                number: c.number.clone(),
                counter: c.counter.clone(),
            }),
            no_shows: state.no_shows,
            data: state.data.clone(),
            documents: serde_json::to_value(&state.documents).unwrap_or(Value::Null),
            incident: state.incident.clone(),
            overdue: state.is_overdue(now),
            started_at: state.started_at,
            total_due_at: state.total_due_at,
            closed_at: state.closed_at,
        }
    }
}

/// A number being called to a counter.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CallState {
    pub queue: String,
    pub number: String,
    pub counter: Option<String>,
}

/// `POST /service-points/{id}/queues/{queue}/call-next`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallFromCounter {
    /// The counter the number is called to (an id of the service point's counters).
    pub counter: String,
}

/// `POST /cases/{id}/call/no-show`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoShow {
    /// Why, if the operator says (kept in the cancellation's reason).
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /cases/{id}/call/transfer`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// The counter the number goes to.
    pub to: String,
}

/// An open step in a role's inbox.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Task {
    pub case_id: String,
    pub sop_id: String,
    pub sop_version: u32,
    pub service_point: String,
    pub version: u64,
    pub queue_number: Option<String>,
    pub step: CurrentStep,
}

impl Task {
    /// The task of a case's view: none for a case at no step (closed).
    pub fn new(view: CaseView) -> Option<Self> {
        let step = view.current_step?;
        Some(Self {
            case_id: view.case_id,
            sop_id: view.sop_id,
            sop_version: view.sop_version,
            service_point: view.service_point,
            version: view.version,
            queue_number: view.queue_number,
            step,
        })
    }
}

/// A page of cases.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CasePage {
    pub cases: Vec<CaseSummary>,
    /// Pass as `after` for the next page; absent on the last page.
    pub next: Option<String>,
}

impl CasePage {
    pub fn new(rows: Vec<(sopflow_store::CaseRecord, Sight)>, next: Option<String>) -> Self {
        Self {
            cases: rows
                .into_iter()
                .map(|(r, _)| CaseSummary::from(r))
                .collect(),
            next,
        }
    }
}

/// `POST /cases/search`: a searchable case field and the value to find.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseSearch {
    /// A case field an SOP marks `x-searchable: true` (e.g. `nik`).
    pub field: String,
    /// The value, as the case data holds it.
    #[schema(value_type = Object)]
    pub value: Value,
    /// Only cases of this SOP.
    #[serde(default)]
    pub sop_id: Option<String>,
    /// Page size, 1 to 500 (default 50).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// The `next` of the previous page.
    #[serde(default)]
    pub after: Option<String>,
}

/// `POST /cases/lookup`: a registration number to find a case by.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CaseLookup {
    /// The number the office gave the case (on the applicant's receipt, e.g.
    /// `KTP-EL-20261202-0001`); case and surrounding spaces do not matter.
    pub registration_number: String,
}

/// A case in a listing.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CaseSummary {
    pub case_id: String,
    pub sop_id: String,
    pub sop_version: u32,
    pub service_point: Option<String>,
    pub status: String,
    pub current_step: Option<String>,
    pub version: u64,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub due_at: Option<OffsetDateTime>,
    pub overdue: bool,
}

impl From<sopflow_store::CaseRecord> for CaseSummary {
    fn from(r: sopflow_store::CaseRecord) -> Self {
        Self {
            case_id: r.case_id,
            sop_id: r.sop_id,
            sop_version: r.sop_version,
            service_point: r.service_point,
            status: r.status,
            current_step: r.current_step,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
            due_at: r.due_at,
            overdue: r.overdue,
        }
    }
}

/// One event of a history.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct HistoryEvent {
    pub seq: u64,
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub user: String,
    pub role: String,
    /// The event as stored (its stable JSON form). Event format 2 (`"v": 2`) holds one
    /// command's facts: the first is the event itself (its `type`), the rest follow in order
    /// in `then` (e.g. a `step_completed` carrying its `data` and `documents`, then
    /// `branch_taken`, then the next `step_entered`). Format 1 holds one fact per event.
    #[schema(value_type = Object)]
    pub event: Value,
    /// The kinds of the event's facts, in order (`type`, then each of `then`).
    pub facts: Vec<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl From<sopflow_store::Event> for HistoryEvent {
    fn from(e: sopflow_store::Event) -> Self {
        let mut facts = vec![e.kind.clone()];
        if let Some(then) = e.payload.get("then").and_then(Value::as_array) {
            facts.extend(
                then.iter()
                    .filter_map(|f| f.get("type").and_then(Value::as_str))
                    .map(str::to_owned),
            );
        }
        Self {
            seq: e.seq,
            kind: e.kind,
            at: e.recorded_at,
            user: e.user_name,
            role: e.role,
            facts,
            event: e.payload,
            prev_hash: e.prev_hash,
            hash: e.hash,
        }
    }
}

/// An SOP and its versions.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SopSummary {
    pub sop_id: String,
    pub title: String,
    /// The newest deployed version.
    pub latest_version: u32,
    /// The version new cases start on now (absent while every release is still ahead).
    pub in_force_version: Option<u32>,
    /// Releases that will still take effect (a version deployed ahead of its Tanggal
    /// Efektif), in the order they were decided.
    pub scheduled: Vec<ReleaseView>,
    pub versions: Vec<SopVersionSummary>,
    /// Every decision on which version new cases start on, oldest first.
    pub releases: Vec<ReleaseView>,
}

/// A decision on which version of an SOP new cases start on.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ReleaseView {
    pub id: i64,
    pub version: u32,
    /// When it takes (or took) effect: an instant, or a local date (midnight at the office).
    #[serde(
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub effective_at: Option<OffsetDateTime>,
    #[schema(value_type = Option<String>, format = Date)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub effective_on: Option<String>,
    /// `file:<path>` (the definitions folder), `api` or `cli`.
    pub source: String,
    pub released_by: String,
    pub reason: String,
    #[serde(with = "time::serde::rfc3339")]
    pub recorded_at: OffsetDateTime,
}

impl From<&sopflow_store::Release> for ReleaseView {
    fn from(r: &sopflow_store::Release) -> Self {
        Self {
            id: r.id,
            version: r.version,
            effective_at: r.effective_at,
            effective_on: r.effective_on.map(|d| d.to_string()),
            source: r.source.clone(),
            released_by: r.released_by.clone(),
            reason: r.reason.clone(),
            recorded_at: r.recorded_at,
        }
    }
}

/// `POST /sops/{id}/releases`: the version new cases start on, from when, and why.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRelease {
    #[serde(deserialize_with = "whole_version")]
    #[schema(value_type = u32)]
    pub version: u32,
    /// Why (recorded with who decided).
    pub reason: String,
    /// From this local date (`YYYY-MM-DD`, midnight at the office); at once when absent or
    /// not ahead.
    #[schema(value_type = Option<String>, format = Date)]
    pub effective_on: Option<String>,
}

impl From<SopEntry> for SopSummary {
    fn from(e: SopEntry) -> Self {
        Self {
            sop_id: e.sop_id,
            title: e.title,
            latest_version: e.latest_version,
            in_force_version: e.in_force,
            scheduled: e.scheduled.iter().map(ReleaseView::from).collect(),
            releases: e.releases.iter().map(ReleaseView::from).collect(),
            versions: e
                .versions
                .into_iter()
                .map(|v| SopVersionSummary {
                    version: v.version,
                    content_hash: v.content_hash,
                    created_at: v.created_at,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SopVersionSummary {
    pub version: u32,
    pub content_hash: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// `GET /sops`: the SOPs, and the definition files whose last change was refused.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SopList {
    pub sops: Vec<SopSummary>,
    pub refused_files: Vec<RefusedFile>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RefusedFile {
    pub file: String,
    /// `FILE:LINE:COLUMN: field: message`.
    pub problems: Vec<String>,
}

/// `GET /sops/{id}/versions/{v}`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SopVersionDetail {
    pub sop_id: String,
    pub version: u32,
    pub content_hash: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    pub yaml: String,
    /// The flowchart, as Mermaid.
    pub mermaid: String,
}

/// `POST /sops` answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Deployment {
    pub sop_id: String,
    pub version: u32,
    pub content_hash: String,
}

/// Converts API document inputs to engine receipts, hashing any uploaded content.
pub fn receipts(inputs: &[DocumentInput]) -> Result<(Vec<DocumentReceipt>, Vec<Upload>), String> {
    use base64::Engine as _;
    let mut receipts = Vec::with_capacity(inputs.len());
    let mut files = Vec::new();
    for (i, input) in inputs.iter().enumerate() {
        let sha256 = match &input.content_base64 {
            Some(content) => {
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(content)
                    .map_err(|e| format!("/documents/{i}/content_base64: not base64: {e}"))?;
                let hash = sopflow_engine::case::chain::sha256_hex(&bytes);
                files.push((hash.clone(), bytes));
                Some(hash)
            }
            None => None,
        };
        receipts.push(DocumentReceipt {
            doc: input.doc.clone(),
            number: input.number.clone(),
            received: input.received,
            sha256,
        });
    }
    Ok((receipts, files))
}

/// A counter as an admin gives it: its name alone (`"Loket 1"`, id `loket_1`), or its id and
/// name.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum CounterInput {
    Name(String),
    Full { id: String, name: String },
}

impl CounterInput {
    /// As the core takes it ([`sopflow_core::offices::put_point`]).
    pub fn config(self) -> sopflow_core::offices::CounterConfig {
        use sopflow_core::offices::CounterConfig;
        match self {
            CounterInput::Name(name) => CounterConfig::Name(name),
            CounterInput::Full { id, name } => CounterConfig::Full { id, name },
        }
    }
}

/// `PUT /service-points/{id}`.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutServicePoint {
    pub name: String,
    /// `Asia/Jakarta` (WIB), `Asia/Makassar` (WITA), `Asia/Jayapura` (WIT), `UTC` or `+07:00`;
    /// default: the deployment's.
    #[serde(default)]
    pub timezone: Option<String>,
    /// The calendar it keeps, by the name of its file.
    #[serde(default)]
    pub calendar: Option<String>,
    /// Its counters, in the order boards list them.
    #[serde(default)]
    pub counters: Vec<CounterInput>,
}

/// A counter (loket).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CounterView {
    pub id: String,
    pub name: String,
}

/// A service point.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ServicePointView {
    pub id: String,
    pub name: String,
    pub timezone: String,
    pub calendar: Option<String>,
    pub counters: Vec<CounterView>,
    /// Where cases from before service points belong, and users made without one work.
    pub default: bool,
    /// `config` (change it in the configuration file) or `api`.
    pub kept_by: String,
}

impl ServicePointView {
    pub fn new(point: &ServicePoint, default: &str) -> Self {
        Self {
            id: point.id.clone(),
            name: point.name.clone(),
            timezone: point.timezone.clone(),
            calendar: point.calendar.clone(),
            counters: point
                .counters
                .iter()
                .map(|c| CounterView {
                    id: c.id.clone(),
                    name: c.name.clone(),
                })
                .collect(),
            default: point.id == default,
            kept_by: point.source.as_str().to_owned(),
        }
    }
}

/// A call of a number to a counter, as boards show it: numbers and counters, never names.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CallView {
    pub service_point: String,
    pub sop_id: String,
    pub queue: String,
    pub number: String,
    /// The counter's id and name; absent for a call from no counter.
    pub counter: Option<String>,
    pub counter_name: Option<String>,
    /// `call`, `recall`, `transfer` or `no_show`.
    pub kind: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

impl From<Call> for CallView {
    fn from(c: Call) -> Self {
        Self {
            service_point: c.service_point,
            sop_id: c.sop_id,
            queue: c.queue,
            number: c.number,
            counter: c.counter,
            counter_name: c.counter_name,
            kind: c.kind.as_str().to_owned(),
            at: c.at,
        }
    }
}

impl CallView {
    fn stored(c: &QueueCall, point: &ServicePoint) -> Self {
        Self {
            service_point: c.service_point.clone(),
            sop_id: c.sop_id.clone(),
            queue: c.queue.clone(),
            number: c.number.clone(),
            counter: c.counter.clone(),
            counter_name: c
                .counter
                .as_deref()
                .and_then(|id| point.counter(id))
                .map(|c| c.name.clone()),
            kind: c.kind.as_str().to_owned(),
            at: c.at,
        }
    }
}

/// A queue of a service point.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueView {
    pub sop_id: String,
    pub queue: String,
    pub name: String,
    pub prefix: String,
    /// The numbers waiting, in the order they will be called.
    pub waiting: Vec<String>,
}

/// A counter and the last number called to it today.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct CounterStateView {
    pub id: String,
    pub name: String,
    pub last_call: Option<CallView>,
}

/// `GET /service-points/{id}/queues`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BoardView {
    pub service_point: String,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub queues: Vec<QueueView>,
    pub counters: Vec<CounterStateView>,
    /// The last number called today from no counter, if any.
    pub last_call_without_counter: Option<CallView>,
}

impl BoardView {
    pub fn new(board: &Board, at: OffsetDateTime) -> Self {
        let point = &board.point;
        Self {
            service_point: point.id.clone(),
            at,
            queues: board
                .queues
                .iter()
                .map(|q| QueueView {
                    sop_id: q.sop_id.clone(),
                    queue: q.queue.clone(),
                    name: q.name.clone(),
                    prefix: q.prefix.clone(),
                    waiting: q.waiting.clone(),
                })
                .collect(),
            counters: board
                .counters
                .iter()
                .map(|c| CounterStateView {
                    id: c.counter.id.clone(),
                    name: c.counter.name.clone(),
                    last_call: c.last_call.as_ref().map(|l| CallView::stored(l, point)),
                })
                .collect(),
            last_call_without_counter: board
                .last_call_without_counter
                .as_ref()
                .map(|l| CallView::stored(l, point)),
        }
    }
}
