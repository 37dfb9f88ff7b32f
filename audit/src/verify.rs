//! Verification of everything stored that decides behaviour or records what happened: for
//! each case, the stored rows against the events they claim to be, the hash chain from the
//! genesis hash, the case's head and projection (status, step, due time, overdue flag: what
//! the queue, the inbox and the ticker act on) against the fold, a replay against its pinned
//! SOP version (whose text is checked against the content hash its first event recorded)
//! re-evaluating every decision, its outbox rows against the events that asked for them, its
//! erasure, and its events against the leaves of the log; then, over the whole store, the log
//! itself against its signed checkpoints ([`crate::logcheck`]) and the queue counters against
//! the numbers the histories issued; and, given an anchor, that every case head it recorded
//! is still in that case's history.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

use serde::{Deserialize as _, Serialize};
use serde_json::{Map, Value};
use sopflow_engine::case::chain::{PERSONAL_MARK, personal_hash, verify_chain};
use sopflow_engine::case::{CaseState, Event, EventBody, QueueNumber, verify_on};
use sopflow_store::{
    CaseRecord, Erasure, Leaf, LeafKind, NewLeaf, OutboxItem, OutboxStatus, Store,
};
use time::{OffsetDateTime, UtcOffset};
use utoipa::ToSchema;

use super::anchor::{Anchor, AnchorHead};
use super::checkpoint::PublicKey;
use super::{AuditError, CaseWalk, SopCache};

/// Which check a finding comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Check {
    /// A stored row is not the event it claims to be (its JSON, seq, kind, who or when).
    Record,
    /// The hash chain is broken.
    Chain,
    /// The case's recorded head (version, head hash) is not its last event.
    Head,
    /// The case's projection (status, current step, due time, overdue) is not its fold.
    Projection,
    /// The SOP version the case is pinned to cannot be used to judge it.
    Sop,
    /// The calendar the case is pinned to cannot be used to judge it (not stored, or its
    /// stored text is not the pinned content).
    Calendar,
    /// Replaying the case against its SOP version diverges.
    Replay,
    /// An outbox row does not match the event that asked for it, or a pending request has none.
    Outbox,
    /// A queue counter or a queue number is not what the histories issued.
    Queue,
    /// Personal data erased without a record, or a recorded erasure that left some.
    Erasure,
    /// The log and what it covers disagree: a leaf without its event, access row or erasure,
    /// one without a leaf, one whose leaf changed, a gap.
    Log,
    /// A signed checkpoint does not verify, is signed by another key, or no longer matches
    /// the log (a change, a removal or a fork below its size).
    Checkpoint,
    /// A case head recorded in the anchor is no longer in the history.
    Anchor,
}

impl Check {
    pub fn as_str(self) -> &'static str {
        match self {
            Check::Record => "record",
            Check::Chain => "chain",
            Check::Head => "head",
            Check::Projection => "projection",
            Check::Sop => "sop",
            Check::Calendar => "calendar",
            Check::Replay => "replay",
            Check::Outbox => "outbox",
            Check::Queue => "queue",
            Check::Erasure => "erasure",
            Check::Log => "log",
            Check::Checkpoint => "checkpoint",
            Check::Anchor => "anchor",
        }
    }
}

/// One mismatch: the case and the event when one is to blame, else the place (`leaf 12`,
/// `checkpoint 3`, `access 7`, `queue ktp-el:cetak_ktp 2026-12-01`), and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Finding {
    pub case_id: Option<String>,
    pub seq: Option<u64>,
    pub place: Option<String>,
    pub check: Check,
    pub reason: String,
}

impl Finding {
    /// A finding about a case (and one of its events).
    pub fn case(case_id: &str, seq: Option<u64>, check: Check, reason: String) -> Self {
        Self {
            case_id: Some(case_id.to_owned()),
            seq,
            place: None,
            check,
            reason,
        }
    }

    /// A finding about something that is not a case's.
    pub fn at(place: String, check: Check, reason: String) -> Self {
        Self {
            case_id: None,
            seq: None,
            place: Some(place),
            check,
            reason,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.case_id, self.seq, &self.place) {
            (Some(case), Some(seq), _) => write!(f, "case {case} event {seq}: ")?,
            (Some(case), None, _) => write!(f, "case {case}: ")?,
            (None, _, Some(place)) => write!(f, "{place}: ")?,
            (None, _, None) => {}
        }
        write!(f, "{}: {}", self.check.as_str(), self.reason)
    }
}

/// What to verify.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Only this case (and only its entry of the anchor); the log is then checked for this
    /// case's events only.
    pub case: Option<String>,
    pub anchor: Option<Anchor>,
    /// The log's public key: every stored checkpoint must be signed by it. Without it the
    /// checkpoints cannot be trusted, and a store holding some is a finding.
    pub public_key: Option<PublicKey>,
    /// Checkpoints kept outside the database (signed notes, e.g. exported files): each must
    /// verify, match the log, and be among the stored ones.
    pub exported: Vec<String>,
    /// The office's UTC offset: queue numbers run per local day.
    pub utc_offset: UtcOffset,
    /// Only the cases opened at these service points (an auditor of some points): each is
    /// checked in full; the log, the queue counters and anchored heads of cases not walked
    /// concern the whole store and are left to a verification of all.
    pub service_points: Option<Vec<String>>,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            case: None,
            anchor: None,
            public_key: None,
            exported: Vec::new(),
            // Asia/Jakarta, the service's default time zone.
            utc_offset: UtcOffset::from_hms(7, 0, 0).unwrap_or(UtcOffset::UTC),
            service_points: None,
        }
    }
}

/// The outcome of a run.
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct VerifyReport {
    pub cases: u64,
    pub events: u64,
    /// Case heads of the anchor checked (0 without an anchor).
    pub anchor_heads: u64,
    /// Leaves of the log walked (0 for one case).
    pub leaves: u64,
    /// Signed checkpoints checked.
    pub checkpoints: u64,
    /// The tree size of the latest checkpoint that verified: what is signed (0 if none).
    pub signed_size: u64,
    /// Cases whose first event does not record its SOP text's hash (histories from before
    /// it was recorded): their SOP text is checked against the stored hash only.
    pub unpinned_sop_texts: u64,
    /// Cases whose personal data was erased (their decisions on personal values are taken as
    /// recorded: see the replay's doc).
    pub erased_cases: u64,
    pub findings: Vec<Finding>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.findings.is_empty()
    }
}

/// What one case's check leaves for the checks over all cases.
#[derive(Debug, Default)]
pub(crate) struct CaseFacts {
    /// (queue counter key, local day, number, seq) of each number issued.
    pub queue_numbers: Vec<(String, String, QueueNumber, u64)>,
    pub pinned: bool,
    pub erased: bool,
}

/// Verifies every case (or one), calling `progress` after each case, then the log, its
/// checkpoints and the queue counters. Streams: one page of case projections and one case's
/// events in memory at a time (and, for the log, one page of leaves).
pub async fn verify_store(
    store: &Store,
    options: &VerifyOptions,
    progress: &mut (dyn FnMut(&str) + Send),
) -> Result<VerifyReport, AuditError> {
    let mut sops = SopCache::default();
    let mut report = VerifyReport::default();
    let mut anchored: BTreeMap<String, AnchorHead> = BTreeMap::new();
    if let Some(anchor) = &options.anchor {
        anchor.check_self().map_err(AuditError::Invalid)?;
        for head in &anchor.heads {
            if options.case.as_ref().is_none_or(|c| *c == head.case_id) {
                anchored.insert(head.case_id.clone(), head.clone());
            }
        }
        report.anchor_heads = anchored.len() as u64;
    }
    let mut numbers = Vec::new();
    let mut seen = HashSet::new();
    match &options.case {
        Some(case_id) => {
            if let Some(record) = store.case(case_id).await? {
                let rows = CaseRows::of_case(store, case_id).await?;
                let facts = verify_one(
                    store,
                    &mut sops,
                    &record,
                    &rows,
                    &mut anchored,
                    &mut report,
                    options,
                )
                .await?;
                numbers.extend(facts.queue_numbers);
                progress(case_id);
            } else if !anchored.contains_key(case_id) {
                return Err(AuditError::CaseNotFound(case_id.clone()));
            }
        }
        None => {
            let mut walk = CaseWalk::filtered(sopflow_store::CaseFilter {
                service_points: options.service_points.clone(),
                ..sopflow_store::CaseFilter::default()
            });
            // A page of cases at a time: each kind of row they have is read in one statement
            // for the page, not one per case; and the next page's rows are read and decoded
            // (on another worker) while this page is checked.
            let mut next = walk.next_page(store).await?.map(|p| read_page(store, p));
            while let Some(reading) = next {
                let (page, mut rows) = match reading.await {
                    Ok(read) => read?,
                    Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                    Err(e) => return Err(AuditError::Corrupt(format!("reading cases: {e}"))),
                };
                next = walk.next_page(store).await?.map(|p| read_page(store, p));
                for record in page {
                    let case_rows = rows.remove(&record.case_id).unwrap_or_default();
                    let facts = verify_one(
                        store,
                        &mut sops,
                        &record,
                        &case_rows,
                        &mut anchored,
                        &mut report,
                        options,
                    )
                    .await?;
                    numbers.extend(facts.queue_numbers);
                    progress(&record.case_id);
                    seen.insert(record.case_id);
                }
            }
            if options.service_points.is_some() {
                // Heads of cases elsewhere are not missing, only not walked.
                anchored.clear();
            } else {
                crate::logcheck::check_log(store, options, &seen, &mut report).await?;
                check_queues(store, numbers, &mut report).await?;
            }
        }
    }
    // Anchored cases the store no longer has at all.
    for (case_id, head) in anchored {
        report.findings.push(Finding::case(
            &case_id,
            Some(head.seq),
            Check::Anchor,
            "the anchor records this case, the store no longer has it".to_owned(),
        ));
    }
    Ok(report)
}

/// The page's records and their rows, read by a task of its own.
type PageRead = Result<(Vec<CaseRecord>, HashMap<String, CaseRows>), AuditError>;

fn read_page(store: &Store, page: Vec<CaseRecord>) -> tokio::task::JoinHandle<PageRead> {
    let store = store.clone();
    tokio::spawn(async move {
        let ids: Vec<String> = page.iter().map(|r| r.case_id.clone()).collect();
        let rows = CaseRows::of_cases(&store, &ids).await?;
        Ok((page, rows))
    })
}

async fn verify_one(
    store: &Store,
    sops: &mut SopCache,
    record: &CaseRecord,
    rows: &CaseRows,
    anchored: &mut BTreeMap<String, AnchorHead>,
    report: &mut VerifyReport,
    options: &VerifyOptions,
) -> Result<CaseFacts, AuditError> {
    report.cases += 1;
    report.events += rows.stored.len() as u64;
    let anchor = anchored.remove(&record.case_id);
    let (findings, facts) = check_case_facts(
        store,
        sops,
        record,
        rows.read(),
        anchor.as_ref(),
        options.utc_offset,
    )
    .await?;
    report.findings.extend(findings);
    report.unpinned_sop_texts += u64::from(!facts.pinned);
    report.erased_cases += u64::from(facts.erased);
    Ok(facts)
}

/// The queue counters against the numbers the histories issued: a counter below a number
/// issued that day would issue it again, and a number issued twice calls two applicants.
async fn check_queues(
    store: &Store,
    numbers: Vec<(String, String, QueueNumber, u64)>,
    report: &mut VerifyReport,
) -> Result<(), AuditError> {
    let counters: HashMap<(String, String), i64> = store
        .queue_counters()
        .await?
        .into_iter()
        .map(|(key, day, last)| ((key, day), last))
        .collect();
    let mut issued: BTreeMap<(String, String, String, u32), Vec<u64>> = BTreeMap::new();
    let mut highest: BTreeMap<(String, String), u32> = BTreeMap::new();
    for (key, day, number, seq) in &numbers {
        let top = highest.entry((key.clone(), day.clone())).or_default();
        *top = (*top).max(number.sequence);
        issued
            .entry((
                key.clone(),
                day.clone(),
                number.prefix.clone(),
                number.sequence,
            ))
            .or_default()
            .push(*seq);
    }
    for ((key, day), top) in highest {
        let counter = counters
            .get(&(key.clone(), day.clone()))
            .copied()
            .unwrap_or(0);
        if counter < i64::from(top) {
            report.findings.push(Finding::at(
                format!("queue {key} {day}"),
                Check::Queue,
                format!(
                    "the counter is at {counter}, the histories issued numbers up to {top}: \
                     the next number would be issued again"
                ),
            ));
        }
    }
    for ((key, day, prefix, sequence), times) in issued {
        if times.len() > 1 {
            let number = QueueNumber::new(&prefix, sequence);
            report.findings.push(Finding::at(
                format!("queue {key} {day}"),
                Check::Queue,
                format!("number {number} was issued {} times", times.len()),
            ));
        }
    }
    Ok(())
}

/// What the checks of one case read from the store besides its record: its event rows and
/// what is kept beside them. Read for one case, or for a page of cases at once.
#[derive(Debug, Default)]
pub(crate) struct CaseRows {
    stored: Vec<sopflow_store::Event>,
    salt: Option<String>,
    erasure: Option<Erasure>,
    outbox: Vec<OutboxItem>,
    leaves: Vec<Leaf>,
}

impl CaseRows {
    async fn of_case(store: &Store, case_id: &str) -> Result<Self, AuditError> {
        let (erasure, outbox, leaves) = kept_beside(store, case_id).await?;
        Ok(Self {
            stored: store.events(case_id).await?,
            salt: store.case_salt(case_id).await?,
            erasure,
            outbox,
            leaves,
        })
    }

    /// The rows of the cases `case_ids`, by case: each kind in one statement for them all.
    async fn of_cases(
        store: &Store,
        case_ids: &[String],
    ) -> Result<HashMap<String, Self>, AuditError> {
        let mut rows: HashMap<String, Self> = HashMap::with_capacity(case_ids.len());
        // Each list comes ordered as the case's own would (events by seq, outbox rows by id,
        // leaves by index), so pushing in order keeps each case's order.
        for event in store.events_of_cases(case_ids).await? {
            rows.entry(event.case_id.clone())
                .or_default()
                .stored
                .push(event);
        }
        for (case_id, salt) in store.salts_of_cases(case_ids).await? {
            rows.entry(case_id).or_default().salt = Some(salt);
        }
        for erasure in store.erasures_of_cases(case_ids).await? {
            let case_id = erasure.case_id.clone();
            rows.entry(case_id).or_default().erasure = Some(erasure);
        }
        for item in store.outbox_of_cases(case_ids).await? {
            let case_id = item.case_id.clone();
            rows.entry(case_id).or_default().outbox.push(item);
        }
        for leaf in store.leaves_of_cases(case_ids).await? {
            if let Some(case_id) = leaf.case_id.clone() {
                rows.entry(case_id).or_default().leaves.push(leaf);
            }
        }
        Ok(rows)
    }

    fn read(&self) -> CaseRead<'_> {
        CaseRead {
            stored: &self.stored,
            salt: self.salt.as_deref(),
            erasure: self.erasure.as_ref(),
            outbox: &self.outbox,
            leaves: &self.leaves,
        }
    }
}

/// What is kept beside one case's events: its erasure, outbox rows and log leaves.
async fn kept_beside(
    store: &Store,
    case_id: &str,
) -> Result<(Option<Erasure>, Vec<OutboxItem>, Vec<Leaf>), AuditError> {
    Ok((
        store.erasure_of(case_id).await?,
        store.outbox_for_case(case_id).await?,
        store.case_leaves(case_id).await?,
    ))
}

/// [`CaseRows`] as the checks read them (a caller may hold the events and salt already).
#[derive(Clone, Copy)]
pub(crate) struct CaseRead<'a> {
    stored: &'a [sopflow_store::Event],
    /// `None` when the case has none (erased, or removed).
    salt: Option<&'a str>,
    erasure: Option<&'a Erasure>,
    outbox: &'a [OutboxItem],
    leaves: &'a [Leaf],
}

/// All checks of one case. `Err` only when the store fails; mismatches are findings. `salt`
/// is `None` when the case has none (erased, or removed).
pub async fn check_case(
    store: &Store,
    sops: &mut SopCache,
    record: &CaseRecord,
    stored: &[sopflow_store::Event],
    salt: Option<&str>,
    anchor: Option<&AnchorHead>,
) -> Result<Vec<Finding>, AuditError> {
    let offset = VerifyOptions::default().utc_offset;
    let case_id = record.case_id.as_str();
    let (erasure, outbox, leaves) = kept_beside(store, case_id).await?;
    let read = CaseRead {
        stored,
        salt,
        erasure: erasure.as_ref(),
        outbox: &outbox,
        leaves: &leaves,
    };
    Ok(check_case_facts(store, sops, record, read, anchor, offset)
        .await?
        .0)
}

pub(crate) async fn check_case_facts(
    store: &Store,
    sops: &mut SopCache,
    record: &CaseRecord,
    read: CaseRead<'_>,
    anchor: Option<&AnchorHead>,
    utc_offset: UtcOffset,
) -> Result<(Vec<Finding>, CaseFacts), AuditError> {
    let case_id = record.case_id.as_str();
    let mut facts = CaseFacts::default();
    let mut findings = check_history(store, sops, record, read, utc_offset, &mut facts).await?;
    // What the log recorded of this case, and the anchor's head: neither needs the history
    // to decode.
    check_leaves(case_id, read.stored, read.leaves, &mut findings);
    if let Some(head) = anchor {
        check_anchor(case_id, read.stored, head, &mut findings);
    }
    Ok((findings, facts))
}

/// The checks that read the history: rows, chain, head, SOP, erasure, replay, projection,
/// outbox, and the queue numbers it issued (into `facts`).
async fn check_history(
    store: &Store,
    sops: &mut SopCache,
    record: &CaseRecord,
    read: CaseRead<'_>,
    utc_offset: UtcOffset,
    facts: &mut CaseFacts,
) -> Result<Vec<Finding>, AuditError> {
    let case_id = record.case_id.as_str();
    let CaseRead { stored, salt, .. } = read;
    let finding =
        |seq: Option<u64>, check: Check, reason: String| Finding::case(case_id, seq, check, reason);
    let mut findings = Vec::new();

    let events = match decode_rows(stored) {
        Ok(events) => events,
        Err((seq, reason)) => {
            findings.push(finding(Some(seq), Check::Record, reason));
            return Ok(findings);
        }
    };
    let Some(first) = events.first() else {
        findings.push(finding(None, Check::Head, "the case has no events".into()));
        return Ok(findings);
    };
    // The SOP version comes from the first event (what the chain covers), not the projection.
    let EventBody::CaseStarted {
        sop_id,
        sop_version,
        sop_content_hash,
        case_id: started_id,
        calendar: pin,
        ..
    } = &first.body
    else {
        findings.push(finding(
            Some(first.seq),
            Check::Replay,
            "the history does not start with case_started".into(),
        ));
        return Ok(findings);
    };
    if started_id != case_id {
        findings.push(finding(
            Some(1),
            Check::Record,
            format!("the history is of case `{started_id}`"),
        ));
    }
    if *sop_id != record.sop_id || *sop_version != record.sop_version {
        findings.push(finding(
            None,
            Check::Head,
            format!(
                "the case is listed on SOP `{}` version {}, its history started on `{sop_id}` version {sop_version}",
                record.sop_id, record.sop_version
            ),
        ));
    }
    let sop = sops.get(store, sop_id, *sop_version).await?;
    let sop = match sop {
        Ok(sop) => sop,
        Err(reason) => {
            findings.push(finding(None, Check::Sop, reason));
            return Ok(findings);
        }
    };
    // The text the case ran on, as its first event recorded it: a text replaced together
    // with its stored hash is found here.
    facts.pinned = sop_content_hash.is_some();
    if let Some(recorded) = sop_content_hash
        && *recorded != sop.content_hash
    {
        findings.push(finding(
            Some(1),
            Check::Sop,
            format!(
                "the case started on the text of SOP `{sop_id}` version {sop_version} with hash {}, \
                 the stored text has hash {}",
                short(recorded),
                short(&sop.content_hash)
            ),
        ));
    }
    let personal = sop.sop.personal_fields();

    // Erasure: a case without its salt must have a recorded erasure, and an erased case
    // must hold no personal value any more.
    let erasure = read.erasure;
    facts.erased = erasure.is_some();
    match (erasure, salt) {
        (None, None) => findings.push(finding(
            None,
            Check::Erasure,
            "the salt of its personal data is gone, and no erasure is recorded".into(),
        )),
        (Some(e), Some(_)) => findings.push(finding(
            None,
            Check::Erasure,
            format!(
                "an erasure is recorded ({}), but the salt of its personal data is still stored",
                e.at
            ),
        )),
        (Some(e), None) => {
            if let Some(event) = events.iter().find(|ev| holds_personal_value(ev, personal)) {
                findings.push(finding(
                    Some(event.seq),
                    Check::Erasure,
                    format!(
                        "the erasure recorded at {} left a personal value in this event",
                        e.at
                    ),
                ));
            }
        }
        (None, Some(_)) => {}
    }
    let salt = salt.unwrap_or_default();

    // The chain: each event's hash covers the one before it.
    let links = events
        .iter()
        .zip(stored)
        .map(|(e, s)| (e, s.prev_hash.as_str(), s.hash.as_str()));
    if let Err(broken) = verify_chain(links, personal, salt) {
        findings.push(finding(Some(broken.seq), Check::Chain, broken.reason));
    }

    // The head: the projection must end where the chain ends.
    if let Some(last) = stored.last()
        && (record.version != last.seq || record.head_hash != last.hash)
    {
        findings.push(finding(
            Some(last.seq),
            Check::Head,
            format!(
                "the case records head event {} ({}), its last stored event is {} ({})",
                record.version,
                short(&record.head_hash),
                last.seq,
                short(&last.hash)
            ),
        ));
    }

    // The decisions, re-evaluated against the pinned SOP version with the due times on the
    // pinned calendar, and the projection against the state they lead to (or, where they
    // diverge, the plain fold).
    let state = match sops.calendar(store, pin.as_ref()).await? {
        Ok(calendar) => match verify_on(&sop.sop, &calendar, &events) {
            Ok(state) => Some(state),
            Err(divergence) => {
                findings.push(finding(
                    Some(divergence.seq),
                    Check::Replay,
                    divergence.reason,
                ));
                CaseState::replay(&events).ok()
            }
        },
        Err(reason) => {
            findings.push(finding(Some(1), Check::Calendar, reason));
            CaseState::replay(&events).ok()
        }
    };
    if let Some(state) = &state {
        check_projection(case_id, record, state, &mut findings);
    }

    // The outbox: each row is what an event asked for; a request still awaited has its row.
    check_outbox(
        case_id,
        &events,
        state.as_ref(),
        read.outbox,
        personal,
        salt,
        &mut findings,
    );

    // The counter is the service point's (a case from before service points is the
    // deployment's, keyed as the runtime assigned it), and its day the point's local day.
    let point = record.service_point.clone().unwrap_or_default();
    let point_offset = sops
        .point_offset(store, &point)
        .await?
        .unwrap_or(utc_offset);
    for (e, fact) in events.iter().flat_map(|e| e.facts().map(move |f| (e, f))) {
        if let EventBody::QueueNumberAssigned { queue, number, .. } = fact
            && let Ok(parsed) = number.parse::<QueueNumber>()
        {
            let day =
                e.at.to_offset(point_offset)
                    .date()
                    .format(time::macros::format_description!("[year]-[month]-[day]"))
                    .unwrap_or_default();
            // As `core::queue::draw` keys the counter.
            facts
                .queue_numbers
                .push((format!("{point}:{sop_id}:{queue}"), day, parsed, e.seq));
        }
    }
    Ok(findings)
}

/// Each stored event against the leaf the log recorded for it (`leaves`: those naming the
/// case).
fn check_leaves(
    case_id: &str,
    stored: &[sopflow_store::Event],
    leaves: &[Leaf],
    findings: &mut Vec<Finding>,
) {
    let mut leaves: BTreeMap<u64, &Leaf> = leaves
        .iter()
        .filter(|l| l.kind == LeafKind::Event)
        .filter_map(|l| Some((l.seq?, l)))
        .collect();
    for row in stored {
        let seq = Some(row.seq);
        match leaves.remove(&row.seq) {
            None => findings.push(Finding::case(
                case_id,
                seq,
                Check::Log,
                "the event is not in the log: it was written around the store".into(),
            )),
            Some(leaf)
                if leaf.leaf_hash != NewLeaf::event(case_id, row.seq, &row.hash).leaf_hash =>
            {
                findings.push(Finding::case(
                    case_id,
                    seq,
                    Check::Log,
                    format!(
                        "not the event the log recorded at leaf {}: it was rewritten since",
                        leaf.idx
                    ),
                ))
            }
            Some(_) => {}
        }
    }
    // What the log recorded and the store no longer has: a removed tail, a removed event.
    for (seq, leaf) in leaves {
        findings.push(Finding::case(
            case_id,
            Some(seq),
            Check::Log,
            format!(
                "the event is missing: the log recorded it at leaf {}",
                leaf.idx
            ),
        ));
    }
}

fn check_anchor(
    case_id: &str,
    stored: &[sopflow_store::Event],
    head: &AnchorHead,
    findings: &mut Vec<Finding>,
) {
    let at = usize::try_from(head.seq)
        .ok()
        .and_then(|s| s.checked_sub(1))
        .and_then(|i| stored.get(i));
    match at {
        None => findings.push(Finding::case(
            case_id,
            Some(head.seq),
            Check::Anchor,
            format!(
                "the anchor records head event {}, the history has {} events",
                head.seq,
                stored.len()
            ),
        )),
        Some(event) if event.hash != head.head => findings.push(Finding::case(
            case_id,
            Some(head.seq),
            Check::Anchor,
            format!(
                "event {} has hash {}, the anchor recorded {}",
                head.seq,
                short(&event.hash),
                short(&head.head)
            ),
        )),
        Some(_) => {}
    }
}

/// The projection the queue, the inboxes and the ticker act on, against the fold.
fn check_projection(
    case_id: &str,
    record: &CaseRecord,
    state: &CaseState,
    findings: &mut Vec<Finding>,
) {
    let mut differs = Vec::new();
    if record.status != state.status.as_str() {
        differs.push(format!(
            "status `{}` (the history says `{}`)",
            record.status,
            state.status.as_str()
        ));
    }
    if record.current_step.as_deref() != state.current_step.as_deref() {
        differs.push(format!(
            "current step {:?} (the history says {:?})",
            record.current_step.as_deref(),
            state.current_step.as_deref()
        ));
    }
    let due = state.next_due().map(to_micros);
    if record.due_at != due {
        differs.push(format!(
            "due time {:?} (the history says {due:?})",
            record.due_at
        ));
    }
    if record.overdue != state.overdue_recorded() {
        differs.push(format!(
            "overdue {} (the history says {})",
            record.overdue,
            state.overdue_recorded()
        ));
    }
    if !differs.is_empty() {
        findings.push(Finding::case(
            case_id,
            None,
            Check::Projection,
            format!("the case is listed with {}", differs.join(", ")),
        ));
    }
}

/// Outbox rows against the events that asked for them.
fn check_outbox(
    case_id: &str,
    events: &[Event],
    state: Option<&CaseState>,
    outbox: &[sopflow_store::OutboxItem],
    personal: &[String],
    salt: &str,
    findings: &mut Vec<Finding>,
) {
    /// By key: the event that asked, its step, its adapter and its request.
    type Asked<'a> = (&'a Event, &'a str, &'a str, &'a Map<String, Value>);
    let mut asked: HashMap<&str, Asked> = HashMap::new();
    let mut answered: HashSet<&str> = HashSet::new();
    for (e, fact) in events.iter().flat_map(|e| e.facts().map(move |f| (e, f))) {
        match fact {
            EventBody::AdapterRequested {
                step,
                adapter,
                idempotency_key,
                request,
            } => {
                asked.insert(idempotency_key, (e, step, adapter, request));
            }
            EventBody::AdapterCompleted {
                idempotency_key, ..
            } => {
                answered.insert(idempotency_key);
            }
            _ => {}
        }
    }
    for row in outbox {
        let place = format!("outbox row {} (`{}`)", row.id, row.idempotency_key);
        let Some((event, step, adapter, request)) = asked.get(row.idempotency_key.as_str()) else {
            findings.push(Finding::case(
                case_id,
                None,
                Check::Outbox,
                format!("{place}: no event of the case asked for it"),
            ));
            continue;
        };
        let payload = &row.payload;
        let same_request = payload
            .get("request")
            .and_then(Value::as_object)
            .is_some_and(|r| redact(r, personal, salt) == redact(request, personal, salt));
        let same_call = row.adapter == **adapter
            && payload.get("step").and_then(Value::as_str) == Some(*step)
            && payload
                .get("case_id")
                .and_then(Value::as_str)
                .is_none_or(|c| c == case_id);
        if !same_call || !same_request {
            findings.push(Finding::case(
                case_id,
                Some(event.seq),
                Check::Outbox,
                format!("{place} is not the request this event asked for"),
            ));
        }
    }
    // A request the case still waits for (it is at that step, with no result) needs its
    // row, not yet done: without it the adapter is never called and the case waits for ever.
    if let Some(state) = state.filter(|s| !s.status.is_closed()) {
        for (key, (event, step, ..)) in &asked {
            if answered.contains(key) || state.current_step.as_deref() != Some(*step) {
                continue;
            }
            let row = outbox.iter().find(|r| r.idempotency_key == *key);
            let lost = match row {
                None => Some("has no outbox row: the adapter will never be called".to_owned()),
                Some(r) if r.status == OutboxStatus::Done => Some(format!(
                    "is marked done in outbox row {}, but no result was recorded",
                    r.id
                )),
                Some(_) => None,
            };
            if let Some(lost) = lost {
                findings.push(Finding::case(
                    case_id,
                    Some(event.seq),
                    Check::Outbox,
                    format!("the request `{key}` {lost}"),
                ));
            }
        }
    }
}

/// A map with its personal values as their salted hashes (what the chain covers).
fn redact(map: &Map<String, Value>, personal: &[String], salt: &str) -> Map<String, Value> {
    map.iter()
        .map(|(k, v)| {
            let v = match personal.iter().any(|p| p == k) {
                true => personal_hash(salt, k, v),
                false => v.clone(),
            };
            (k.clone(), v)
        })
        .collect()
}

/// Whether an event still holds a personal value (not its salted hash).
fn holds_personal_value(event: &Event, personal: &[String]) -> bool {
    let open = |map: &Map<String, Value>| {
        map.iter().any(|(k, v)| {
            personal.iter().any(|p| p == k) && !v.is_null() && v.get(PERSONAL_MARK).is_none()
        })
    };
    event.facts().any(|fact| match fact {
        EventBody::CaseStarted { data, .. }
        | EventBody::DataRecorded { data, .. }
        | EventBody::StepCompleted { data, .. } => open(data),
        EventBody::AdapterRequested { request, .. } => open(request),
        EventBody::BranchTaken { evaluations, .. } => evaluations.iter().any(|e| open(&e.values)),
        _ => false,
    })
}

/// Decodes the stored rows and checks that the columns beside each event's JSON (which the
/// API shows and filters on, but the hash does not cover) say what the JSON says.
fn decode_rows(stored: &[sopflow_store::Event]) -> Result<Vec<Event>, (u64, String)> {
    let mut events = Vec::with_capacity(stored.len());
    for row in stored {
        let seq = row.seq;
        let event = Event::deserialize(&row.payload)
            .map_err(|e| (seq, format!("the stored JSON is not an event: {e}")))?;
        if event.seq != seq {
            return Err((
                seq,
                format!("stored as event {seq}, its content is event {}", event.seq),
            ));
        }
        if row.kind != event.body.kind() {
            return Err((
                seq,
                format!(
                    "stored as `{}`, its content is `{}`",
                    row.kind,
                    event.body.kind()
                ),
            ));
        }
        if *row.user_name != *event.by.user || *row.role != *event.by.role {
            return Err((
                seq,
                format!(
                    "stored as done by {} ({}), its content says {} ({})",
                    row.user_name, row.role, event.by.user, event.by.role
                ),
            ));
        }
        if row.recorded_at != to_micros(event.at) {
            return Err((
                seq,
                format!(
                    "stored at {}, its content says {}",
                    row.recorded_at, event.at
                ),
            ));
        }
        events.push(event);
    }
    Ok(events)
}

/// The store keeps microseconds (PostgreSQL's precision); compare at that precision.
fn to_micros(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap_or(t)
}

fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}
