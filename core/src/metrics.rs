//! Metrics the runtime records as commands commit (Prometheus names `sopflow_*`).

use sopflow_engine::case::{CaseState, Event, EventBody};

/// Counts starts and budget breaches, and times completed steps, from a command's events.
pub(crate) fn record_events(after: &CaseState, events: &[Event]) {
    for event in events {
        for fact in event.facts() {
            match fact {
                EventBody::CaseStarted { sop_id, .. } => {
                    metrics::counter!("sopflow_cases_started_total", "sop" => sop_id.clone())
                        .increment(1);
                }
                EventBody::StepCompleted { step, .. } => {
                    let entered = after
                        .visits
                        .iter()
                        .rev()
                        .find(|v| &v.step == step)
                        .map(|v| v.entered_at);
                    if let Some(entered) = entered {
                        metrics::histogram!("sopflow_step_duration_seconds", "sop" => after.sop_id.clone(), "step" => step.clone())
                        .record((event.at - entered).as_seconds_f64());
                    }
                }
                EventBody::TimeBudgetExceeded { step, .. } => {
                    metrics::counter!("sopflow_time_budget_breaches_total", "sop" => after.sop_id.clone(), "step" => step.clone())
                    .increment(1);
                }
                EventBody::TotalBudgetExceeded { .. } => {
                    metrics::counter!("sopflow_total_budget_breaches_total", "sop" => after.sop_id.clone()).increment(1);
                }
                _ => {}
            }
        }
    }
}
