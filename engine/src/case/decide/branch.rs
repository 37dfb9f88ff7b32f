//! The choice of a branch: the guards of a step in order, the first that holds (or the
//! default) wins, with the values each read recorded for the auditor.

use std::sync::Arc;

use rhai::Scope;
use serde_json::{Map, Value};

use super::scope::{guard_scope, missing_documents, scope_names};
use crate::case::event::GuardEvaluation;
use crate::case::state::Documents;
use crate::guard::{self, CompiledGuard, GuardError};
use crate::sop::{Sop, StepIdx};

/// The branch a step takes, and the evaluations that decided it.
#[derive(Debug, Clone, PartialEq)]
pub struct BranchChoice {
    pub branch: usize,
    pub evaluations: Vec<GuardEvaluation>,
}

/// Evaluates the branches of `step` in order; the first whose guard holds (or the default)
/// wins. Also used by replay to re-check a recorded decision.
pub fn choose_branch(
    sop: &Sop,
    step: StepIdx,
    data: &Map<String, Value>,
    documents: &Documents,
    outcome: Option<&str>,
) -> Result<BranchChoice, GuardError> {
    choose_branch_knowing(sop, step, data, documents, outcome, None)
}

/// [`choose_branch`], given the step's missing documents when the caller just computed them
/// on the same data and documents.
pub(super) fn choose_branch_knowing(
    sop: &Sop,
    step: StepIdx,
    data: &Map<String, Value>,
    documents: &Documents,
    outcome: Option<&str>,
    known_missing: Option<Vec<Arc<str>>>,
) -> Result<BranchChoice, GuardError> {
    let branches = &sop.compiled(step).branches;
    let needs_scope = branches.iter().any(|b| b.guard.is_some());
    let mut evaluations = Vec::new();
    if needs_scope {
        let missing = match known_missing {
            Some(m) => m,
            None => missing_documents(sop, step, data, documents)?,
        };
        let names = branches
            .iter()
            .filter_map(|b| b.guard.as_ref())
            .flat_map(|g| scope_names(sop, g, true));
        let mut scope = guard_scope(sop, names, data, Some((documents, &missing)), outcome);
        let engine = guard::shared();
        for (i, branch) in branches.iter().enumerate() {
            let Some(guard) = &branch.guard else {
                return Ok(BranchChoice {
                    branch: i,
                    evaluations,
                });
            };
            let result = engine.eval(guard, &mut scope)?;
            evaluations.push(GuardEvaluation {
                branch: i,
                guard: guard.source.clone(),
                result,
                values: read_values(guard, &scope),
            });
            if result {
                return Ok(BranchChoice {
                    branch: i,
                    evaluations,
                });
            }
        }
    }
    // Validation guarantees a default branch; an SOP without one ends here on its last.
    Ok(BranchChoice {
        branch: branches.len().saturating_sub(1),
        evaluations,
    })
}

/// [`choose_branch`] when replaying a history whose personal data was erased: a guard that
/// reads an erased value cannot be evaluated again (the value is gone), so its recorded
/// evaluation stands, provided it is the evaluation of that guard at that place and the value
/// it recorded reading is the case's (both are the same salted hash). Every other guard, and
/// the choice of the first branch whose guard held, are checked as before.
pub fn choose_branch_replaying(
    sop: &Sop,
    step: StepIdx,
    data: &Map<String, Value>,
    documents: &Documents,
    outcome: Option<&str>,
    recorded: &[GuardEvaluation],
) -> Result<BranchChoice, GuardError> {
    let branches = &sop.compiled(step).branches;
    let reads_erased = |g: &CompiledGuard| {
        g.reads
            .iter()
            .any(|n| data.get(n.as_str()).is_some_and(super::data::is_erased))
    };
    if !branches
        .iter()
        .filter_map(|b| b.guard.as_ref())
        .any(reads_erased)
    {
        return choose_branch(sop, step, data, documents, outcome);
    }
    let missing = missing_documents(sop, step, data, documents)?;
    let names = branches
        .iter()
        .filter_map(|b| b.guard.as_ref())
        .filter(|g| !reads_erased(g))
        .flat_map(|g| scope_names(sop, g, true));
    let mut scope = guard_scope(sop, names, data, Some((documents, &missing)), outcome);
    let engine = guard::shared();
    let mut evaluations = Vec::new();
    for (i, branch) in branches.iter().enumerate() {
        let Some(guard) = &branch.guard else {
            return Ok(BranchChoice {
                branch: i,
                evaluations,
            });
        };
        let evaluation = if reads_erased(guard) {
            match recorded.get(evaluations.len()) {
                Some(r)
                    if r.branch == i
                        // v2 records no guard text: the place (branch) names the guard.
                        && (r.guard.is_empty() || r.guard == guard.source)
                        && guard.reads.iter().all(|n| {
                            data.get(n.as_str()).is_none_or(|v| {
                                !super::data::is_erased(v) || r.values.get(n.as_str()) == Some(v)
                            })
                        }) =>
                {
                    r.clone()
                }
                // Not what was evaluated here: the comparison with the record fails.
                _ => GuardEvaluation {
                    branch: i,
                    guard: guard.source.clone(),
                    result: false,
                    values: Map::new(),
                },
            }
        } else {
            let result = engine.eval(guard, &mut scope)?;
            GuardEvaluation {
                branch: i,
                guard: guard.source.clone(),
                result,
                values: read_values(guard, &scope),
            }
        };
        let result = evaluation.result;
        evaluations.push(evaluation);
        if result {
            return Ok(BranchChoice {
                branch: i,
                evaluations,
            });
        }
    }
    Ok(BranchChoice {
        branch: branches.len().saturating_sub(1),
        evaluations,
    })
}

/// The values a guard read, as recorded: what `rhai::serde::from_dynamic` gives, without the
/// deserializer for the common scalars.
fn read_values(guard: &CompiledGuard, scope: &Scope) -> Map<String, Value> {
    // Inserted one by one: collecting into a map sorts a buffer first, dear for a few.
    let mut values = Map::new();
    for name in &guard.reads {
        let value = match scope.get(name) {
            None => Value::Null,
            Some(d) if d.is_unit() => Value::Null,
            Some(d) => match (d.as_bool(), d.as_immutable_string_ref()) {
                (Ok(b), _) => Value::Bool(b),
                (_, Ok(s)) => Value::String(s.to_string()),
                _ => rhai::serde::from_dynamic::<Value>(d).unwrap_or(Value::Null),
            },
        };
        values.insert(name.clone(), value);
    }
    values
}
