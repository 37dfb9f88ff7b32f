//! The figures of a simulation: every replication reduced to its own figures, then each
//! figure averaged over replications with a 95% confidence interval. This is also the JSON
//! output (`--format json`).

use rayon::prelude::*;
use serde::Serialize;
use sopflow_engine::sop::model::StepKind;

use crate::SimError;
use crate::model::{Model, seconds};
use crate::sim::{Tally, run_replication};
use crate::stats::{Ci, ci, mean, percentile, share};

/// Runs every replication of `model`, in parallel, and returns their tallies in replication
/// order (so that everything computed from them is the same whatever the thread count).
pub fn simulate(model: &Model) -> Result<Vec<Tally>, SimError> {
    let results: Vec<Result<Tally, SimError>> = (0..model.replications)
        .into_par_iter()
        .map(|rep| run_replication(model, rep, false).map(|out| out.tally))
        .collect();
    // The first error in replication order, so that the message is the same on every run.
    results.into_iter().collect()
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub sop: SopInfo,
    pub scenario: ScenarioInfo,
    /// What "within budget" means for a case here.
    pub criterion: String,
    pub cases: CaseFigures,
    pub steps: Vec<StepReport>,
    pub roles: Vec<RoleReport>,
    pub queues: Vec<QueueReport>,
    /// Hours of the day (0-23) in which some service point is open on some day.
    pub hours_open: Vec<u32>,
    pub branches: Vec<BranchReport>,
    /// `--staff-for`: the search and its answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub staffing: Option<StaffSearch>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SopInfo {
    pub id: String,
    pub title: String,
    pub total_budget_seconds: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScenarioInfo {
    /// The scenario file (or `fitted from ...`).
    pub source: String,
    pub seed: u64,
    pub replications: u32,
    pub days: u32,
    pub start: String,
    pub warm_up_seconds: f64,
    pub service_points: Vec<String>,
}

/// Per replication: counts of cases arrived in the measured window, and their times.
#[derive(Debug, Clone, Serialize)]
pub struct CaseFigures {
    pub arrived: Option<Ci>,
    pub completed: Option<Ci>,
    pub incidents: Option<Ci>,
    /// Still open when the simulation ended (the `drain` after the last day).
    pub unfinished: Option<Ci>,
    /// Share of the cases within the budget (see `criterion`).
    pub within_budget: Option<Ci>,
    /// Arrival to end of the completed cases, seconds.
    pub time_mean_seconds: Option<Ci>,
    pub time_p90_seconds: Option<Ci>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub step: String,
    pub name: String,
    pub row: u32,
    pub kind: String,
    /// The step owning the budget clock this step runs on, and that budget.
    pub budget_step: Option<String>,
    pub budget_seconds: Option<f64>,
    /// Roles of the people who take it up (none: an adapter alone, or nobody).
    pub taken_up_by: Vec<String>,
    /// Visits per replication.
    pub visits: Option<Ci>,
    /// From entering the step to a person (or adapter) taking it up, seconds.
    pub waiting_mean_seconds: Option<Ci>,
    pub waiting_p90_seconds: Option<Ci>,
    /// From taking it up to its completion, seconds.
    pub handling_mean_seconds: Option<Ci>,
    pub handling_p90_seconds: Option<Ci>,
    /// Share of visits that waited at all.
    pub waited: Option<Ci>,
    /// Share of visits completed by their budget clock's due time.
    pub within_budget: Option<Ci>,
    pub wait_target_seconds: Option<f64>,
    /// Share of visits taken up within the wait target.
    pub within_wait_target: Option<Ci>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoleReport {
    pub service_point: String,
    pub role: String,
    pub staff: u32,
    /// Busy time over working time in the measured window.
    pub utilisation: Option<Ci>,
}

/// Mean number waiting for a person at one step, per hour of the day.
#[derive(Debug, Clone, Serialize)]
pub struct QueueReport {
    pub service_point: String,
    pub step: String,
    pub by_hour: Vec<Option<Ci>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BranchReport {
    pub from: String,
    pub to: String,
    pub label: Option<String>,
    /// Share of the decisions at `from` that went to `to`.
    pub share: Option<Ci>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StaffSearch {
    pub target: f64,
    /// Whether a staffing reaching the target was found within the search's bounds.
    pub reached: bool,
    pub staff: Vec<StaffCount>,
    /// Every staffing evaluated, in order, with its share within budget.
    pub tried: Vec<Trial>,
}

#[derive(Debug, Clone, Serialize)]
pub struct StaffCount {
    pub service_point: String,
    pub role: String,
    pub staff: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Trial {
    pub staff: Vec<StaffCount>,
    pub within_budget: Option<Ci>,
}

impl Report {
    pub fn new(model: &Model, mut tallies: Vec<Tally>, source: &str, start: &str) -> Self {
        let sop = &model.sop;
        let doc = sop.document();
        let n = model.steps.len();
        let per = |f: &dyn Fn(&Tally) -> Option<f64>, t: &[Tally]| ci(t.iter().map(f));
        let cases = CaseFigures {
            arrived: per(&|t| Some(t.arrived as f64), &tallies),
            completed: per(&|t| Some(t.completed as f64), &tallies),
            incidents: per(&|t| Some(t.incidents as f64), &tallies),
            unfinished: per(&|t| Some(t.unfinished as f64), &tallies),
            within_budget: per(&|t| share(t.within, t.arrived), &tallies),
            time_mean_seconds: per(&|t| mean(&t.durations).map(|m| m / 1e6), &tallies),
            time_p90_seconds: ci(tallies
                .iter_mut()
                .map(|t| percentile(&mut t.durations, 0.9).map(seconds))),
        };
        let mut steps = Vec::new();
        for (i, step) in doc.steps.iter().enumerate() {
            if matches!(step.kind, StepKind::Decision | StepKind::End) {
                continue;
            }
            let budget = sop.compiled(i).budget;
            let m = &model.steps[i];
            let s = |f: &dyn Fn(&crate::sim::StepTally) -> Option<f64>, t: &[Tally]| {
                ci(t.iter().map(|t| f(&t.steps[i])))
            };
            steps.push(StepReport {
                step: step.id.clone(),
                name: step.name.clone(),
                row: step.row,
                kind: step.kind.as_str().to_owned(),
                budget_step: budget.map(|(owner, _)| sop.step(owner).id.clone()),
                budget_seconds: budget.map(|(_, d)| d.as_secs() as f64),
                taken_up_by: m.servers.iter().map(|r| model.roles[*r].clone()).collect(),
                visits: s(&|a| Some(a.visits as f64), &tallies),
                waiting_mean_seconds: s(&|a| mean(&a.waits).map(|v| v / 1e6), &tallies),
                waiting_p90_seconds: ci(tallies
                    .iter_mut()
                    .map(|t| percentile(&mut t.steps[i].waits, 0.9).map(seconds))),
                handling_mean_seconds: s(&|a| mean(&a.handles).map(|v| v / 1e6), &tallies),
                handling_p90_seconds: ci(tallies
                    .iter_mut()
                    .map(|t| percentile(&mut t.steps[i].handles, 0.9).map(seconds))),
                waited: s(&|a| share(a.waited, a.waits.len() as u64), &tallies),
                within_budget: s(&|a| share(a.within_budget, a.budget_visits), &tallies),
                wait_target_seconds: m.wait_target.map(seconds),
                within_wait_target: s(&|a| share(a.within_target, a.target_visits), &tallies),
            });
        }
        let mut roles = Vec::new();
        for (p, point) in model.points.iter().enumerate() {
            for (r, role) in model.roles.iter().enumerate() {
                let staff: u32 = point
                    .shifts
                    .iter()
                    .filter(|s| s.role == r)
                    .map(|s| s.count)
                    .sum();
                let utilisation = ci(tallies.iter().map(|t| {
                    let (busy, available) = t
                        .people
                        .iter()
                        .filter(|(pp, rr, _, _)| *pp == p && *rr == r)
                        .fold((0i64, 0i64), |(b, a), (_, _, busy, av)| (b + busy, a + av));
                    (available > 0).then(|| busy as f64 / available as f64)
                }));
                roles.push(RoleReport {
                    service_point: point.id.clone(),
                    role: role.clone(),
                    staff,
                    utilisation,
                });
            }
        }
        let mut queues = Vec::new();
        for (p, point) in model.points.iter().enumerate() {
            for (i, step) in model.steps.iter().enumerate() {
                if !step.needs_person() {
                    continue;
                }
                let line = p * n + i;
                let by_hour = (0..24)
                    .map(|h| {
                        ci(tallies.iter().map(|t| {
                            (t.coverage[h] > 0.0).then(|| t.queue_area[line][h] / t.coverage[h])
                        }))
                    })
                    .collect();
                queues.push(QueueReport {
                    service_point: point.id.clone(),
                    step: step.id.clone(),
                    by_hour,
                });
            }
        }
        let mut branches = Vec::new();
        for from in 0..n {
            let compiled = &sop.compiled(from).branches;
            let mut targets: Vec<usize> = Vec::new();
            for b in compiled {
                if !targets.contains(&b.to) {
                    targets.push(b.to);
                }
            }
            if targets.len() < 2 {
                continue;
            }
            for &to in &targets {
                let label = compiled
                    .iter()
                    .find(|b| b.to == to)
                    .and_then(|b| b.label.as_deref())
                    .map(str::to_owned);
                let share = ci(tallies.iter().map(|t| {
                    let all: u64 = (0..n).map(|x| t.branches[from * n + x]).sum();
                    share(t.branches[from * n + to], all)
                }));
                branches.push(BranchReport {
                    from: sop.step(from).id.clone(),
                    to: sop.step(to).id.clone(),
                    label,
                    share,
                });
            }
        }
        Report {
            sop: SopInfo {
                id: sop.id().to_owned(),
                title: doc.header.title.clone(),
                total_budget_seconds: model.total_budget.map(seconds),
            },
            scenario: ScenarioInfo {
                source: source.to_owned(),
                seed: model.seed,
                replications: model.replications,
                days: model.days,
                start: start.to_owned(),
                warm_up_seconds: seconds(model.warm_up),
                service_points: model.points.iter().map(|p| p.id.clone()).collect(),
            },
            criterion: criterion(model),
            cases,
            steps,
            roles,
            queues,
            hours_open: open_hours(model),
            branches,
            staffing: None,
        }
    }
}

fn open_hours(model: &Model) -> Vec<u32> {
    let hour = crate::model::HOUR;
    let mut open = [false; 24];
    for point in &model.points {
        for &(a, b) in &point.open {
            let mut t = a - a.rem_euclid(hour);
            while t < b {
                open[(t.rem_euclid(crate::model::DAY) / hour) as usize] = true;
                t += hour;
            }
        }
    }
    (0..24).filter(|h| open[*h as usize]).collect()
}

/// What "within budget" means for a case of this SOP.
pub fn criterion(model: &Model) -> String {
    match model.total_budget {
        Some(b) => format!(
            "completed within the SOP's total budget ({})",
            crate::duration::Seconds(seconds(b))
        ),
        None => "completed with every step within its budget (the SOP has no total budget)".into(),
    }
}
