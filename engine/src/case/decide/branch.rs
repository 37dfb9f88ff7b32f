//! The choice of a branch: the guards of a step in order, the first that holds (or the
//! default) wins, with the values each read recorded for the auditor.

use std::sync::Arc;

use rhai::Scope;
use serde_json::{Map, Value};

use super::data::CaseFields;
use super::scope::{NULL, guard_scope, missing_documents, scope_names};
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
        // One per guarded branch at most.
        evaluations.reserve_exact(branches.len());
        let missing = match known_missing {
            Some(m) => m,
            None => missing_documents(sop, step, data, documents)?,
        };
        // Built at the first guard whose result is not remembered.
        let mut scope: Option<Scope> = None;
        let engine = guard::shared();
        for (i, branch) in branches.iter().enumerate() {
            let Some(guard) = &branch.guard else {
                return Ok(BranchChoice {
                    branch: i,
                    evaluations,
                });
            };
            let memo = sop.branch_memo(step, i);
            let inputs = memo.and_then(|_| inputs(guard, data, &missing, outcome));
            let remembered = memo
                .zip(inputs.as_ref())
                .and_then(|(m, v)| m.recall(v.len(), |i| &v[i]));
            let (result, values) = match (remembered, inputs) {
                (Some(result), Some(inputs)) => (result, recorded(guard, inputs)),
                (_, inputs) => {
                    let scope = scope.get_or_insert_with(|| {
                        let names = branches
                            .iter()
                            .filter_map(|b| b.guard.as_ref())
                            .flat_map(|g| scope_names(sop, g, true));
                        guard_scope(sop, names, data, Some((documents, &missing)), outcome)
                    });
                    let result = engine.eval(guard, scope)?;
                    let values = read_values(guard, scope);
                    // Remembered only when a hit would record exactly what was read.
                    if let (Some(memo), Some(inputs)) = (memo, inputs)
                        && guard
                            .reads
                            .iter()
                            .zip(&inputs)
                            .all(|(name, v)| values.get(name) == Some(v))
                    {
                        memo.remember(inputs.into_boxed_slice(), result);
                    }
                    (result, values)
                }
            };
            evaluations.push(GuardEvaluation {
                branch: i,
                guard: guard.source.clone(),
                result,
                values,
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

/// The branch `recorded` says `step` took, when every one of its evaluations is confirmed
/// without evaluating: each is of the guard at its place, read the values the case holds, and
/// has the result remembered for them (a guard is pure: the result on the same values is the
/// same). Then [`choose_branch`] would make exactly these evaluations and choose this branch.
/// `None` when any is not confirmed so: the caller makes the choice again in full (which
/// then also tells what differs). Replay's common case, without a value copied.
pub fn confirm_recorded_choice(
    sop: &Sop,
    step: StepIdx,
    data: &Map<String, Value>,
    documents: &Documents,
    outcome: Option<&str>,
    recorded: &[GuardEvaluation],
) -> Option<usize> {
    let mut missing: Option<Vec<Arc<str>>> = None;
    let mut evaluations = recorded.iter();
    for (i, branch) in sop.compiled(step).branches.iter().enumerate() {
        let Some(guard) = &branch.guard else {
            return evaluations.next().is_none().then_some(i);
        };
        let memo = sop.branch_memo(step, i)?;
        let r = evaluations.next()?;
        if r.branch != i
            || !(r.guard.is_empty() || r.guard == guard.source)
            || r.values.len() != guard.reads.len()
        {
            return None;
        }
        for name in &guard.reads {
            let value = r.values.get(name)?;
            let holds = match name.as_str() {
                "documents" | "missing_documents" => return None,
                "documents_complete" => {
                    let missing = match &missing {
                        Some(m) => m,
                        None => missing.insert(missing_documents(sop, step, data, documents).ok()?),
                    };
                    value.as_bool() == Some(missing.is_empty())
                }
                "outcome" => match outcome {
                    Some(o) => value.as_str() == Some(o),
                    None => value.is_null(),
                },
                field => data.field(field).unwrap_or(&NULL) == value,
            };
            if !holds {
                return None;
            }
        }
        let reads = &guard.reads;
        let result = memo.recall(reads.len(), |j| r.values.get(&reads[j]).unwrap_or(&NULL))?;
        if result != r.result {
            return None;
        }
        if result {
            return evaluations.next().is_none().then_some(i);
        }
    }
    None
}

/// The values `guard` reads, as its evaluation sees them (absent: `null`), to look its
/// result up by; `None` when it reads the documents' map or list (not remembered).
fn inputs<D: CaseFields + ?Sized>(
    guard: &CompiledGuard,
    data: &D,
    missing: &[Arc<str>],
    outcome: Option<&str>,
) -> Option<Vec<Value>> {
    // Sized once (collecting into an `Option` cannot know the length).
    let mut values = Vec::with_capacity(guard.reads.len());
    for name in &guard.reads {
        values.push(match name.as_str() {
            "documents" | "missing_documents" => return None,
            "documents_complete" => Value::Bool(missing.is_empty()),
            "outcome" => outcome.map_or(Value::Null, |o| Value::String(o.to_owned())),
            field => data.field(field).unwrap_or(&NULL).clone(),
        });
    }
    Some(values)
}

/// The values recorded for a remembered evaluation: those it was remembered by.
fn recorded(guard: &CompiledGuard, inputs: Vec<Value>) -> Map<String, Value> {
    let mut values = Map::new();
    for (name, value) in guard.reads.iter().zip(inputs) {
        values.insert(name.clone(), value);
    }
    values
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

#[cfg(test)]
mod tests {
    use super::*;

    /// One step with three exits: a guard on a plain field, one on a personal field, the
    /// default.
    const SOP: &str = r#"
schema_version: 1
id: uji
header:
  government: G
  unit: U
  number: "1"
  title: Uji
  dates: {}
  approver: { title: Kepala, name: K }
actors: [{ id: petugas, name: Petugas }]
case_schema:
  type: object
  properties:
    status: { type: string }
    nomor: { type: string, x-personal: true }
start: periksa
steps:
  - id: periksa
    row: 1
    kind: task
    name: Periksa
    actor: petugas
    next:
      - { to: a, when: status == "baik" }
      - { to: b, when: nomor == "1312990101900001" }
      - { to: c }
  - { id: a, row: 2, kind: end, name: A, actor: petugas }
  - { id: b, row: 2, kind: end, name: B, actor: petugas }
  - { id: c, row: 2, kind: end, name: C, actor: petugas }
"#;

    fn data(pairs: &[(&str, &str)]) -> Map<String, Value> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::String((*v).to_owned())))
            .collect()
    }

    #[test]
    fn a_remembered_guard_decides_and_records_as_an_evaluated_one() {
        let sop = crate::sop::load(SOP).expect("the SOP loads");
        let step = sop.step_index("periksa").expect("a step");
        let none = Documents::default();
        let choose = |d: &Map<String, Value>| {
            choose_branch(&sop, step, d, &none, None).expect("the guards decide")
        };
        let memo = |branch: usize, value: &str| {
            let v = Value::String(value.to_owned());
            sop.branch_memo(step, branch)
                .and_then(|m| m.recall(1, |_| &v))
        };

        let good = data(&[("status", "baik")]);
        let first = choose(&good);
        assert_eq!(first.branch, 0);
        assert_eq!(
            memo(0, "baik"),
            Some(true),
            "remembered after the evaluation"
        );
        assert_eq!(choose(&good), first, "a hit decides and records the same");

        let other = data(&[("status", "rusak"), ("nomor", "1312990101900001")]);
        let second = choose(&other);
        assert_eq!(second.branch, 1);
        assert_eq!(memo(0, "rusak"), Some(false));
        assert_eq!(
            memo(1, "1312990101900001"),
            None,
            "a guard reading a personal field is never remembered"
        );
        assert_eq!(choose(&other), second);
        assert_eq!(choose(&data(&[])).branch, 2, "absent: neither guard holds");
        assert_eq!(
            choose(&good).branch,
            0,
            "other values do not leak into a hit"
        );
    }
}
