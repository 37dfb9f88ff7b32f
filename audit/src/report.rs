//! The report per SOP version: for each step the time spent there (p50, p90) against its
//! budget, how often it ran over, how many budget breaches were recorded; and per version,
//! from the SOP's own structure, the share of cases that reached each consultation step (a
//! service step on a consultation adapter) and that went round each loop (a branch back to a
//! step the case had come through: a file returned, a record checked again).

use std::collections::BTreeMap;

use serde::Serialize;
use sopflow_engine::case::{CaseState, EventBody};
use sopflow_engine::sop::model::{AdapterKind, StepKind};
use sopflow_engine::sop::{Sop, StepIdx};
use sopflow_store::{CaseRecord, Store};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::{AuditError, CaseWalk, CheckedSop, SopCache, decode, seconds};

/// One step of the report.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct StepReport {
    pub step: String,
    pub name: String,
    pub row: u32,
    pub kind: String,
    /// The step whose budget clock runs here (itself or its row's first budgeted step).
    pub budget_step: Option<String>,
    /// That clock's budget, in seconds.
    pub budget_seconds: Option<u64>,
    /// Completed stays at the step.
    pub visits: u64,
    /// Median time from entry to completion, seconds (nearest rank).
    pub p50_seconds: Option<f64>,
    /// 90th percentile, seconds (nearest rank).
    pub p90_seconds: Option<f64>,
    /// Completed stays that ended after their budget clock's due time.
    pub over_budget: u64,
    /// Budget breaches recorded by the timer on this step's clock (`time_budget_exceeded`).
    pub breaches: u64,
}

/// How many cases reached a consultation step.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ConsultationRate {
    pub step: String,
    pub name: String,
    pub adapter: String,
    #[serde(flatten)]
    pub rate: Rate,
}

/// How many cases went round a loop of the SOP: a branch from `from` back to `to`, a step
/// before it on the way from the start.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct LoopRate {
    pub from: String,
    pub to: String,
    /// The branch's label (e.g. `Tidak lengkap, berkas dikembalikan`), or the two step names.
    pub label: String,
    #[serde(flatten)]
    pub rate: Rate,
}

/// A count of cases and its share of all cases of the version.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
pub struct Rate {
    pub cases: u64,
    /// `cases` / all cases of the version (0 when there are none).
    pub rate: f64,
}

/// `GET /reports/sops/{id}/versions/{v}` and `sopflow report`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SopReport {
    pub sop_id: String,
    pub version: u32,
    /// The service point whose cases it counts; none: every one.
    pub service_point: Option<String>,
    pub content_hash: String,
    pub cases: u64,
    pub completed: u64,
    pub cancelled: u64,
    /// Open or stopped by an incident.
    pub running: u64,
    /// Cases whose stored history does not fold (damaged: see `sopflow audit verify`); they
    /// count in `cases` and in no other figure.
    pub unreadable: u64,
    /// Per consultation step of the SOP: the cases that reached it.
    pub consultations: Vec<ConsultationRate>,
    /// Per loop of the SOP: the cases that went round it (at least once).
    pub loops: Vec<LoopRate>,
    /// Cases whose total budget ran out.
    pub total_budget_breaches: u64,
    pub steps: Vec<StepReport>,
}

/// Figures gathered while walking the cases of one version.
#[derive(Default)]
struct Tally {
    cases: u64,
    completed: u64,
    cancelled: u64,
    unreadable: u64,
    /// Cases per consultation step, per loop (by `Shape` index).
    consulted: BTreeMap<usize, u64>,
    looped: BTreeMap<usize, u64>,
    total_breaches: u64,
    durations: BTreeMap<String, Vec<f64>>,
    over: BTreeMap<String, u64>,
    breaches: BTreeMap<String, u64>,
}

/// The report of every version of every SOP (or of one SOP, or one version), of the cases of
/// one service point or of all, in one pass over the cases.
pub async fn report(
    store: &Store,
    sop_id: Option<&str>,
    version: Option<u32>,
    service_point: Option<&str>,
) -> Result<Vec<SopReport>, AuditError> {
    report_opened(store, sop_id, version, service_point, None).await
}

/// [`report`] of the cases opened in `opened` (from, inclusive, to, exclusive) only: a
/// supervisor's month or week.
pub async fn report_opened(
    store: &Store,
    sop_id: Option<&str>,
    version: Option<u32>,
    service_point: Option<&str>,
    opened: Option<(OffsetDateTime, OffsetDateTime)>,
) -> Result<Vec<SopReport>, AuditError> {
    if let Some((from, to)) = opened
        && from >= to
    {
        return Err(AuditError::Invalid(
            "the period must end after it begins".into(),
        ));
    }
    let mut sops = SopCache::default();
    let mut tallies: BTreeMap<(String, u32), Tally> = BTreeMap::new();
    // Every version asked for appears, with or without cases.
    for v in store.all_sop_versions().await? {
        if sop_id.is_none_or(|id| id == v.sop_id) && version.is_none_or(|n| n == v.version) {
            tallies.entry((v.sop_id, v.version)).or_default();
        }
    }
    if let (Some(id), Some(n)) = (sop_id, version)
        && tallies.is_empty()
    {
        return Err(AuditError::SopNotFound {
            sop_id: id.to_owned(),
            version: n,
        });
    }
    let mut walk = CaseWalk::filtered(sopflow_store::CaseFilter {
        sop_id: sop_id.map(str::to_owned),
        service_points: service_point.map(|p| vec![p.to_owned()]),
        ..sopflow_store::CaseFilter::default()
    });
    while let Some(record) = walk.next(store).await? {
        let key = (record.sop_id.clone(), record.sop_version);
        let Some(tally) = tallies.get_mut(&key) else {
            continue;
        };
        if opened.is_some_and(|(from, to)| record.created_at < from || record.created_at >= to) {
            continue;
        }
        let sop = sops
            .get(store, &record.sop_id, record.sop_version)
            .await?
            .map_err(AuditError::Corrupt)?;
        count_case(store, &sop.sop, &record, tally).await?;
    }
    let mut out = Vec::with_capacity(tallies.len());
    for ((sop_id, version), tally) in tallies {
        let sop = sops
            .get(store, &sop_id, version)
            .await?
            .map_err(AuditError::Corrupt)?;
        let mut report = finish(&sop_id, version, &sop, tally);
        report.service_point = service_point.map(str::to_owned);
        out.push(report);
    }
    Ok(out)
}

async fn count_case(
    store: &Store,
    sop: &Sop,
    record: &CaseRecord,
    tally: &mut Tally,
) -> Result<(), AuditError> {
    tally.cases += 1;
    // A history that does not fold is counted apart (`audit verify` says why), not guessed at.
    let Ok(events) = decode(&record.case_id, &store.events(&record.case_id).await?) else {
        tally.unreadable += 1;
        return Ok(());
    };
    let Ok(state) = CaseState::replay(&events) else {
        tally.unreadable += 1;
        return Ok(());
    };
    match state.status.as_str() {
        "completed" => tally.completed += 1,
        "cancelled" => tally.cancelled += 1,
        _ => {}
    }
    let shape = Shape::of(sop);
    let mut consulted = std::collections::BTreeSet::new();
    let mut looped = std::collections::BTreeSet::new();
    let mut previous = None;
    for visit in &state.visits {
        let Some(idx) = sop.step_index(&visit.step) else {
            continue;
        };
        if let Some(i) = shape.consultations.iter().position(|&c| c == idx) {
            consulted.insert(i);
        }
        if let Some(i) = shape
            .loops
            .iter()
            .position(|&l| Some(l.0) == previous && l.1 == idx)
        {
            looped.insert(i);
        }
        previous = Some(idx);
        if let Some(done) = visit.completed_at {
            tally
                .durations
                .entry(visit.step.to_string())
                .or_default()
                .push(seconds(visit.entered_at, done));
            if visit.due_at.is_some_and(|due| done > due) {
                *tally.over.entry(visit.step.to_string()).or_default() += 1;
            }
        }
    }
    for fact in events.iter().flat_map(|e| e.facts()) {
        match fact {
            EventBody::TimeBudgetExceeded { step, .. } => {
                *tally.breaches.entry(step.to_string()).or_default() += 1
            }
            EventBody::TotalBudgetExceeded { .. } => tally.total_breaches += 1,
            _ => {}
        }
    }
    for i in consulted {
        *tally.consulted.entry(i).or_default() += 1;
    }
    for i in looped {
        *tally.looped.entry(i).or_default() += 1;
    }
    Ok(())
}

/// What the rates are counted on, read off the SOP: its consultation steps and its loops.
struct Shape {
    consultations: Vec<StepIdx>,
    /// Branches `(from, to)` back to a step on the way from the start to `from` (the back
    /// edges of a depth-first walk from the start, in the SOP's branch order).
    loops: Vec<(StepIdx, StepIdx)>,
}

impl Shape {
    fn of(sop: &Sop) -> Self {
        let consultations = (0..sop.step_count())
            .filter(|&i| {
                let step = sop.step(i);
                step.kind == StepKind::Service
                    && step.adapter.as_ref().is_some_and(|a| {
                        sop.document()
                            .adapters
                            .iter()
                            .any(|d| d.id == *a && d.kind == AdapterKind::Consultation)
                    })
            })
            .collect();
        // Iterative depth-first walk: `on_path` marks the steps between the start and the
        // step at hand; a branch into one of them closes a loop.
        let mut loops = Vec::new();
        let mut seen = vec![false; sop.step_count()];
        let mut on_path = vec![false; sop.step_count()];
        let mut stack = vec![(sop.start(), 0usize)];
        seen[sop.start()] = true;
        on_path[sop.start()] = true;
        while let Some((step, next)) = stack.last_mut() {
            let (step, branch) = (*step, *next);
            *next += 1;
            match sop.compiled(step).branches.get(branch) {
                Some(b) if on_path[b.to] => loops.push((step, b.to)),
                Some(b) if !seen[b.to] => {
                    seen[b.to] = true;
                    on_path[b.to] = true;
                    stack.push((b.to, 0));
                }
                Some(_) => {}
                None => {
                    on_path[step] = false;
                    stack.pop();
                }
            }
        }
        Self {
            consultations,
            loops,
        }
    }
}

fn finish(sop_id: &str, version: u32, checked: &CheckedSop, mut tally: Tally) -> SopReport {
    let sop = &checked.sop;
    let shape = Shape::of(sop);
    let rate = |n: u64| Rate {
        cases: n,
        rate: if tally.cases == 0 {
            0.0
        } else {
            (n as f64 / tally.cases as f64 * 10_000.0).round() / 10_000.0
        },
    };
    let steps = (0..sop.step_count())
        .filter(|&i| sop.kind(i) != StepKind::End)
        .map(|i| {
            let step = sop.step(i);
            let mut durations = tally.durations.remove(&step.id).unwrap_or_default();
            durations.sort_by(f64::total_cmp);
            let budget = sop.compiled(i).budget;
            StepReport {
                step: step.id.clone(),
                name: step.name.clone(),
                row: step.row,
                kind: step.kind.as_str().to_owned(),
                budget_step: budget.map(|(owner, _)| sop.step(owner).id.clone()),
                budget_seconds: budget.map(|(_, d)| d.as_secs()),
                visits: durations.len() as u64,
                p50_seconds: percentile(&durations, 50),
                p90_seconds: percentile(&durations, 90),
                over_budget: tally.over.get(&step.id).copied().unwrap_or(0),
                breaches: tally.breaches.get(&step.id).copied().unwrap_or(0),
            }
        })
        .collect();
    SopReport {
        sop_id: sop_id.to_owned(),
        version,
        service_point: None,
        content_hash: checked.content_hash.clone(),
        cases: tally.cases,
        completed: tally.completed,
        cancelled: tally.cancelled,
        running: tally.cases - tally.completed - tally.cancelled - tally.unreadable,
        unreadable: tally.unreadable,
        consultations: shape
            .consultations
            .iter()
            .enumerate()
            .map(|(i, &idx)| ConsultationRate {
                step: sop.step(idx).id.clone(),
                name: sop.step(idx).name.clone(),
                adapter: sop.step(idx).adapter.clone().unwrap_or_default(),
                rate: rate(tally.consulted.get(&i).copied().unwrap_or(0)),
            })
            .collect(),
        loops: shape
            .loops
            .iter()
            .enumerate()
            .map(|(i, &(from, to))| {
                let label = sop
                    .compiled(from)
                    .branches
                    .iter()
                    .find(|b| b.to == to)
                    .and_then(|b| b.label.as_deref().map(str::to_owned))
                    .unwrap_or_else(|| format!("{} → {}", sop.step(from).name, sop.step(to).name));
                LoopRate {
                    from: sop.step(from).id.clone(),
                    to: sop.step(to).id.clone(),
                    label,
                    rate: rate(tally.looped.get(&i).copied().unwrap_or(0)),
                }
            })
            .collect(),
        total_budget_breaches: tally.total_breaches,
        steps,
    }
}

/// Nearest-rank percentile of sorted values: the smallest value with at least `p`% of the
/// values at or below it.
pub fn percentile(sorted: &[f64], p: u32) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (u64::from(p) * sorted.len() as u64).div_ceil(100).max(1);
    sorted.get(usize::try_from(rank).ok()? - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::percentile;

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[7.0], 90), Some(7.0));
        let ten: Vec<f64> = (1..=10).map(f64::from).collect();
        assert_eq!(percentile(&ten, 50), Some(5.0));
        assert_eq!(percentile(&ten, 90), Some(9.0));
        let five = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&five, 50), Some(3.0));
        assert_eq!(percentile(&five, 90), Some(5.0));
    }
}
