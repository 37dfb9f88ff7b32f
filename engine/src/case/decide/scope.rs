//! What a guard sees (its scope: the case fields and engine names it reads), and document
//! conditions, whose results are remembered per SOP version by the values they read.

use std::sync::Arc;

use rhai::{Array, Dynamic, Map as RhaiMap, Scope};
use serde_json::Value;

use super::data::CaseFields;
use crate::case::event::DocumentReceipt;
use crate::case::state::Documents;
use crate::guard::{self, CompiledGuard, GuardError};
use crate::sop::{Sop, StepIdx};

/// A case-data value as rhai sees it: what `rhai::serde::to_dynamic` gives, without the
/// serializer for the common scalars.
fn to_dynamic(value: &Value) -> Dynamic {
    match value {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::String(s) => Dynamic::from(s.clone()),
        other => rhai::serde::to_dynamic(other).unwrap_or(Dynamic::UNIT),
    }
}

/// The scope guards see: the case fields and engine names in `names` (the ones the guards
/// at hand read; absent fields as `()`).
pub(super) fn guard_scope<'n, D: CaseFields + ?Sized>(
    sop: &Sop,
    names: impl IntoIterator<Item = &'n str>,
    data: &D,
    documents: Option<(&Documents, &[Arc<str>])>,
    outcome: Option<&str>,
) -> Scope<'static> {
    let mut scope = Scope::new();
    for name in names {
        if scope.contains(name) {
            continue;
        }
        let value = match (name, documents) {
            ("documents", Some((held, _))) => {
                let mut map = RhaiMap::new();
                for doc in &sop.document().documents {
                    let present = held.get(&doc.id).is_some_and(|r| r.received);
                    map.insert(doc.id.as_str().into(), Dynamic::from_bool(present));
                }
                Dynamic::from_map(map)
            }
            ("documents_complete", Some((_, missing))) => Dynamic::from_bool(missing.is_empty()),
            ("missing_documents", Some((_, missing))) => {
                let missing: Array = missing.iter().map(|m| Dynamic::from(m.clone())).collect();
                Dynamic::from_array(missing)
            }
            ("outcome", Some(_)) => outcome
                .map(|o| Dynamic::from(o.to_owned()))
                .unwrap_or(Dynamic::UNIT),
            _ => data.field(name).map(to_dynamic).unwrap_or(Dynamic::UNIT),
        };
        scope.push_dynamic(name, value);
    }
    scope
}

/// The names a scope must hold for `guard`: those it reads, or every name when it has an
/// interpolated string (whose names the reader of identifiers does not see).
pub(super) fn scope_names<'g>(
    sop: &'g Sop,
    guard: &'g CompiledGuard,
    builtins: bool,
) -> Vec<&'g str> {
    if guard.source.contains('`') {
        let mut all: Vec<&str> = sop.case_fields().iter().map(String::as_str).collect();
        if builtins {
            all.extend(guard::BUILTIN_NAMES);
        }
        all
    } else {
        guard.reads.iter().map(String::as_str).collect()
    }
}

/// What a guard sees of an absent field.
pub(super) static NULL: Value = Value::Null;

/// Whether document `doc` (an index into the SOP's documents) is required for case data
/// `data`: always, or as its `required_when` says (remembered by the values it reads).
fn document_required<D: CaseFields + ?Sized>(
    sop: &Sop,
    doc: usize,
    data: &D,
) -> Result<bool, GuardError> {
    let Some(condition) = sop.document_condition(doc) else {
        return Ok(true);
    };
    let memo = sop.condition_memo(doc);
    let reads = &condition.reads;
    let value = |i: usize| data.field(&reads[i]).unwrap_or(&NULL);
    if let Some(result) = memo.and_then(|m| m.recall(reads.len(), value)) {
        return Ok(result);
    }
    let names = scope_names(sop, condition, false);
    let mut scope = guard_scope(sop, names, data, None, None);
    let result = guard::shared().eval(condition, &mut scope)?;
    if let Some(memo) = memo {
        memo.remember((0..reads.len()).map(|i| value(i).clone()).collect(), result);
    }
    Ok(result)
}

/// The required documents of `step` that the case does not hold, in the step's order: what
/// makes `documents_complete` false.
pub fn missing_documents<D: CaseFields + ?Sized>(
    sop: &Sop,
    step: StepIdx,
    data: &D,
    held: &Documents,
) -> Result<Vec<Arc<str>>, GuardError> {
    missing_documents_after(sop, step, data, held, &[])
}

/// [`missing_documents`] once `receipts` are taken in over `held` (a later receipt of a
/// document replaces an earlier one, as in [`Documents::insert`]): a completion is judged on
/// what it hands in without a copy of the case's documents.
pub(crate) fn missing_documents_after<D: CaseFields + ?Sized>(
    sop: &Sop,
    step: StepIdx,
    data: &D,
    held: &Documents,
    receipts: &[DocumentReceipt],
) -> Result<Vec<Arc<str>>, GuardError> {
    let mut missing = Vec::new();
    for &doc in &sop.compiled(step).documents {
        if document_required(sop, doc, data)? {
            let id = sop.document_id(doc);
            let received = match receipts.iter().rev().find(|r| *r.doc == **id) {
                Some(r) => r.received,
                None => is_received(sop, doc, held),
            };
            if !received {
                missing.push(id.clone());
            }
        }
    }
    Ok(missing)
}

fn is_received(sop: &Sop, doc: usize, held: &Documents) -> bool {
    held.get(sop.document_id(doc)).is_some_and(|r| r.received)
}

/// One document of a step's checklist: whether it is required now (its condition evaluated
/// on the case data) and whether the case holds it (handed in, not recorded as missing).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentCheck {
    pub doc: Arc<str>,
    pub required: bool,
    pub received: bool,
}

/// Where a document of a checklist stands, in three states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentState {
    /// Required and held.
    Received,
    /// Required and not held: it keeps `documents_complete` false.
    Missing,
    /// Not required for this case (held or not).
    NotNeeded,
}

impl DocumentCheck {
    pub fn state(&self) -> DocumentState {
        match (self.required, self.received) {
            (true, true) => DocumentState::Received,
            (true, false) => DocumentState::Missing,
            (false, _) => DocumentState::NotNeeded,
        }
    }
}

/// The documents of `step`, in its order, each as [`DocumentCheck`] says: the checklist a
/// clerk works from, and the rule [`missing_documents`] applies.
pub fn document_checklist<D: CaseFields + ?Sized>(
    sop: &Sop,
    step: StepIdx,
    data: &D,
    held: &Documents,
) -> Result<Vec<DocumentCheck>, GuardError> {
    sop.compiled(step)
        .documents
        .iter()
        .map(|&doc| {
            Ok(DocumentCheck {
                doc: sop.document_id(doc).clone(),
                required: document_required(sop, doc, data)?,
                received: is_received(sop, doc, held),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value};

    use super::*;

    const KTP_EL: &str = include_str!("../../../../sop-definitions/ktp-el.yaml");

    fn receipt(doc: &str, received: bool) -> DocumentReceipt {
        DocumentReceipt {
            doc: doc.to_owned(),
            number: None,
            received,
            sha256: None,
        }
    }

    /// Receipts seen over the held documents judge as the held documents with the receipts
    /// inserted: new, replacing a held one either way, and the last of two for one document.
    #[test]
    fn receipts_over_the_held_documents_judge_as_the_documents_after_them() {
        let sop = crate::sop::load(KTP_EL).expect("the SOP loads");
        let step = sop.step_index("serahkan_berkas").expect("a step");
        let kk = "fotokopi_kk";
        let old = "ktp_lama";
        let helds: Vec<Vec<DocumentReceipt>> = vec![
            vec![],
            vec![receipt(kk, true)],
            vec![receipt(kk, false), receipt(old, true)],
        ];
        let news: Vec<Vec<DocumentReceipt>> = vec![
            vec![],
            vec![receipt(kk, true)],
            vec![receipt(kk, false)],
            vec![receipt(old, false), receipt(kk, true)],
            vec![receipt(kk, true), receipt(kk, false)],
            vec![receipt(kk, false), receipt(kk, true), receipt(old, true)],
        ];
        for alasan in ["baru", "rusak"] {
            let mut data = Map::new();
            data.insert("alasan".into(), Value::String(alasan.into()));
            for held in &helds {
                let mut documents = Documents::default();
                for r in held {
                    documents.insert(r.clone());
                }
                for new in &news {
                    let mut after = documents.clone();
                    for r in new {
                        after.insert(r.clone());
                    }
                    assert_eq!(
                        missing_documents_after(&sop, step, &data, &documents, new)
                            .expect("conditions evaluate"),
                        missing_documents(&sop, step, &data, &after).expect("conditions evaluate"),
                        "{alasan}: held {held:?}, new {new:?}"
                    );
                }
            }
        }
    }
}
