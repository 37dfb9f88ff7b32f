//! What a service step asks of its adapter: the request the SOP lists, a printout filled
//! with the case's values, a consultation's problem text.

use serde_json::{Map, Value};

use super::scope::{guard_scope, scope_names};
use super::types::{AdapterCall, PrintLine, Printout};
use crate::case::state::CaseState;
use crate::guard::{self, GuardError};
use crate::sop::{Sop, StepIdx};

/// The call case `state` makes of the adapter of service step `step`, under `key`. A failing
/// problem condition is an error (the case gets an incident), never a guess.
pub fn adapter_call(
    sop: &Sop,
    step: StepIdx,
    state: &CaseState,
    key: String,
) -> Result<AdapterCall, GuardError> {
    let def = sop.step(step);
    let compiled = sop.compiled(step);
    let data = &state.data;
    // Inserted one by one: collecting into a map sorts a buffer first, dear for a few.
    let mut request = Map::new();
    for f in &def.request {
        if let Some(v) = data.get(f) {
            request.insert(f.clone(), v.clone());
        }
    }
    let printout = compiled.printout.as_ref().map(|p| {
        let mut missing = Vec::new();
        let lines = p
            .fields
            .iter()
            .map(|(field, label)| {
                let value = match data.get(field) {
                    None | Some(Value::Null) => {
                        missing.push(field.clone());
                        String::new()
                    }
                    Some(value) => printed(value),
                };
                PrintLine {
                    label: label.clone(),
                    value,
                }
            })
            .collect();
        Printout {
            layout: p.layout,
            title: p.title.clone(),
            lines,
            missing,
        }
    });
    let mut problem = None;
    for (condition, text) in &compiled.problem {
        let holds = match condition {
            None => true,
            Some(condition) => {
                let names = scope_names(sop, condition, false);
                let mut scope = guard_scope(sop, names, data, None, None);
                guard::shared().eval(condition, &mut scope)?
            }
        };
        if holds {
            problem = Some(text.to_string());
            break;
        }
    }
    Ok(AdapterCall {
        adapter: compiled.adapter.as_deref().unwrap_or_default().to_owned(),
        case_id: state.case_id.clone(),
        sop_id: state.sop_id.clone(),
        step: def.id.clone(),
        idempotency_key: key,
        request,
        printout,
        problem,
    })
}

/// The call of the adapter request case `state` waits on, if it waits on one: for a reader
/// of a stored call older than some field of [`AdapterCall`].
pub fn pending_call(sop: &Sop, state: &CaseState) -> Option<Result<AdapterCall, GuardError>> {
    let pending = state.pending_request.as_ref()?;
    let step = sop.step_index(&pending.step)?;
    Some(adapter_call(
        sop,
        step,
        state,
        pending.idempotency_key.clone(),
    ))
}

/// A value as printed: text as it is, anything else as its JSON.
fn printed(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
