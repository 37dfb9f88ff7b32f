//! A validated SOP version, ready to run: ids resolved to indices, guards compiled once,
//! budgets resolved to the step whose clock they run on.

use std::collections::HashMap;

use foldhash::fast::RandomState;
use std::sync::{Arc, OnceLock};

use super::duration::BudgetRule;
use super::model::{PrintLayout, SopDocument, Step, StepKind};
use crate::guard::CompiledGuard;

/// Index of a step in [`SopDocument::steps`].
pub type StepIdx = usize;

/// One exit of a step, resolved.
#[derive(Debug, Clone)]
pub struct CompiledBranch {
    pub to: StepIdx,
    /// `None` on the default branch.
    pub guard: Option<CompiledGuard>,
    pub label: Option<Arc<str>>,
}

/// What the engine needs of a step beyond its text.
#[derive(Debug, Clone)]
pub struct CompiledStep {
    /// The step's id, shared by the events and states that name it.
    pub id: Arc<str>,
    /// Its queue and its adapter, likewise shared.
    pub queue: Option<Arc<str>>,
    pub adapter: Option<Arc<str>>,
    pub branches: Vec<CompiledBranch>,
    /// Documents of the step, as indices into [`SopDocument::documents`].
    pub documents: Vec<usize>,
    /// Roles that may act on the step (see [`Sop::recorders`]).
    pub(crate) roles: Vec<String>,
    /// Case fields the step may set: its `collects`, then its `requires` not among them.
    pub(crate) sets: Vec<String>,
    /// A print step's printout, resolved (the default one when the step declares none).
    pub printout: Option<CompiledPrintout>,
    /// A consultation step's problem texts, each with its compiled condition (none: always).
    pub problem: Vec<(Option<CompiledGuard>, Arc<str>)>,
    /// The step whose time budget this step runs on (itself, or the first step of its row
    /// that has a budget), with that budget on its clock.
    pub budget: Option<(StepIdx, BudgetRule)>,
}

/// What a print step prints, ready to fill with a case's values.
#[derive(Debug, Clone)]
pub struct CompiledPrintout {
    pub layout: PrintLayout,
    pub title: String,
    /// `(case field, label)`, in print order.
    pub fields: Vec<(String, String)>,
}

/// A validated, compiled SOP version. Immutable: a changed file is a new `Sop`.
#[derive(Debug)]
pub struct Sop {
    document: SopDocument,
    steps: Vec<CompiledStep>,
    /// Step ids to indices, looked up on every command (a fast hash: the keys are the
    /// SOP's own).
    index: HashMap<String, StepIdx, RandomState>,
    start: StepIdx,
    document_conditions: Vec<Option<CompiledGuard>>,
    case_validator: jsonschema::Validator,
    field_validators: Option<FieldValidators>,
    /// Results of document conditions by the values they read, per document (`None`: no
    /// condition, or one not to remember, see [`GuardMemo::fits`]).
    condition_memo: Vec<Option<GuardMemo>>,
    /// Results of branch guards by the values they read, per step and branch (likewise).
    branch_memo: Vec<Vec<Option<GuardMemo>>>,
    case_fields: Vec<String>,
    personal_fields: Vec<String>,
    /// Document ids, by index into [`SopDocument::documents`], shared by the events.
    document_ids: Vec<Arc<str>>,
    warnings: Vec<super::Diagnostic>,
    /// SHA-256 (hex) of the text it was loaded from: a version's identity, recorded in each
    /// case it starts (`case_started.sop_content_hash`).
    content_hash: String,
}

/// The results of one guard remembered by the values it read. A guard is a pure expression
/// of the names it reads (no clock, no random source in the guard engine), so its result
/// on the same values is the same: a hit spares the scope and the evaluation. Values are
/// compared as they are (no key is built); an absent value is `null`, as guards see it.
///
/// Entries fill slots in order and are never removed, so a lookup takes no lock: threads
/// deciding or verifying cases of one SOP at once only read shared memory, where a lock's
/// counter would bounce between their cores on every lookup.
#[derive(Debug)]
pub(crate) struct GuardMemo {
    entries: Box<[OnceLock<Remembered>]>,
}

/// The values a guard read, and its result on them.
type Remembered = (Box<[serde_json::Value]>, bool);

/// Results remembered per guard. The values are those of a few enumerated fields in
/// practice; the bound keeps odd SOPs from growing it (and a lookup is a scan).
const REMEMBERED_PER_GUARD: usize = 32;

impl Default for GuardMemo {
    fn default() -> Self {
        Self {
            entries: (0..REMEMBERED_PER_GUARD).map(|_| OnceLock::new()).collect(),
        }
    }
}

impl GuardMemo {
    /// Whether `guard`'s results may be remembered by the values it reads: not when it reads
    /// a personal field (kept out of any cache) or has an interpolated string (its names
    /// are not all known).
    fn fits(guard: &CompiledGuard, personal: &[String]) -> bool {
        !guard.source.contains('`') && guard.reads.iter().all(|n| !personal.contains(n))
    }

    fn for_guard(guard: Option<&CompiledGuard>, personal: &[String]) -> Option<Self> {
        guard
            .filter(|g| Self::fits(g, personal))
            .map(|_| Self::default())
    }

    /// The result remembered for the values `value(i)` gives for the guard's `n` reads.
    pub(crate) fn recall<'v>(
        &self,
        n: usize,
        value: impl Fn(usize) -> &'v serde_json::Value,
    ) -> Option<bool> {
        self.entries
            .iter()
            .map_while(OnceLock::get)
            .find(|(values, _)| values.len() == n && (0..n).all(|i| values[i] == *value(i)))
            .map(|(_, result)| *result)
    }

    /// Remembers `result` for `values` in the first free slot, up to the bound. Two threads
    /// remembering at once take two slots (at worst the same values twice: the same result).
    pub(crate) fn remember(&self, values: Box<[serde_json::Value]>, result: bool) {
        let mut entry = (values, result);
        for slot in &self.entries {
            match slot.set(entry) {
                Ok(()) => return,
                Err(taken) => entry = taken,
            }
        }
    }
}

/// The case schema field by field, when it constrains fields only one by one (an object
/// schema of `properties`, `required` and a boolean `additionalProperties`, without
/// references). Then data that was valid stays valid when a field is set to a value its own
/// schema accepts, and a command's changes are checked without the whole case data.
#[derive(Debug)]
pub struct FieldValidators {
    fields: HashMap<String, jsonschema::Validator, RandomState>,
    /// Whether fields not in `properties` are allowed (`additionalProperties` not false).
    others_allowed: bool,
    /// The fields the schema requires (`required`).
    required: Vec<String>,
}

impl FieldValidators {
    fn new(schema: &serde_json::Map<String, serde_json::Value>) -> Option<Self> {
        use serde_json::Value;
        const PLAIN: &[&str] = &["description", "title", "$comment", "$schema", "examples"];
        let mut others_allowed = true;
        for (key, value) in schema {
            match key.as_str() {
                "type" if value == "object" => {}
                "properties" | "required" => {}
                "additionalProperties" => others_allowed = value.as_bool()?,
                k if PLAIN.contains(&k) || k.starts_with("x-") => {}
                _ => return None,
            }
        }
        let properties = match schema.get("properties") {
            Some(Value::Object(p)) => p,
            None => &serde_json::Map::new(),
            Some(_) => return None,
        };
        let required = match schema.get("required") {
            None => Vec::new(),
            Some(Value::Array(names)) => names
                .iter()
                .map(|n| n.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()?,
            Some(_) => return None,
        };
        let mut fields = HashMap::default();
        for (name, sub) in properties {
            // A reference points into the whole schema: not checkable alone.
            if has_reference(sub) {
                return None;
            }
            let mut sub = sub.clone();
            if let (Some(draft), Value::Object(map)) = (schema.get("$schema"), &mut sub) {
                map.insert("$schema".to_owned(), draft.clone());
            }
            fields.insert(name.clone(), jsonschema::validator_for(&sub).ok()?);
        }
        Some(Self {
            fields,
            others_allowed,
            required,
        })
    }

    /// Whether the whole case data `data` fits the schema: every field alone, and every
    /// required field present (what the schema says, as it constrains fields one by one).
    pub fn is_valid_whole(&self, data: &serde_json::Map<String, serde_json::Value>) -> bool {
        self.required.iter().all(|f| data.contains_key(f))
            && data.iter().all(|(k, v)| self.is_valid(k, v))
    }

    /// Whether field `name` may hold `value`.
    pub fn is_valid(&self, name: &str, value: &serde_json::Value) -> bool {
        match self.fields.get(name) {
            Some(validator) => validator.is_valid(value),
            None => self.others_allowed,
        }
    }
}

impl Sop {
    pub(crate) fn new(
        document: SopDocument,
        steps: Vec<CompiledStep>,
        document_conditions: Vec<Option<CompiledGuard>>,
        case_validator: jsonschema::Validator,
        warnings: Vec<super::Diagnostic>,
    ) -> Self {
        let index: HashMap<String, StepIdx, RandomState> = document
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| (s.id.clone(), i))
            .collect();
        let start = index.get(&document.start).copied().unwrap_or(0);
        let case_fields = document
            .case_fields()
            .into_iter()
            .map(str::to_owned)
            .collect();
        let personal_fields: Vec<String> = document
            .personal_fields()
            .into_iter()
            .map(str::to_owned)
            .collect();
        let field_validators = FieldValidators::new(&document.case_schema);
        let condition_memo = document_conditions
            .iter()
            .map(|c| GuardMemo::for_guard(c.as_ref(), &personal_fields))
            .collect();
        let branch_memo = steps
            .iter()
            .map(|s| {
                s.branches
                    .iter()
                    .map(|b| GuardMemo::for_guard(b.guard.as_ref(), &personal_fields))
                    .collect()
            })
            .collect();
        let document_ids = document
            .documents
            .iter()
            .map(|d| Arc::from(d.id.as_str()))
            .collect();
        Self {
            document,
            steps,
            index,
            start,
            document_conditions,
            case_validator,
            field_validators,
            condition_memo,
            branch_memo,
            case_fields,
            personal_fields,
            document_ids,
            warnings,
            content_hash: String::new(),
        }
    }

    /// SHA-256 (hex) of the SOP text this was loaded from (empty when not loaded from text).
    pub fn content_hash(&self) -> &str {
        &self.content_hash
    }

    pub(crate) fn set_content_hash(&mut self, hash: String) {
        self.content_hash = hash;
    }

    /// The id of document `doc` (an index into [`SopDocument::documents`]).
    pub fn document_id(&self, doc: usize) -> &Arc<str> {
        &self.document_ids[doc]
    }

    /// The id of step `idx`, shared.
    pub fn step_id(&self, idx: StepIdx) -> &Arc<str> {
        &self.steps[idx].id
    }

    /// The SOP as written.
    pub fn document(&self) -> &SopDocument {
        &self.document
    }

    pub fn id(&self) -> &str {
        &self.document.id
    }

    pub fn start(&self) -> StepIdx {
        self.start
    }

    pub fn step_index(&self, id: &str) -> Option<StepIdx> {
        self.index.get(id).copied()
    }

    pub fn step(&self, idx: StepIdx) -> &Step {
        &self.document.steps[idx]
    }

    pub fn compiled(&self, idx: StepIdx) -> &CompiledStep {
        &self.steps[idx]
    }

    /// Who may act on step `idx`: for a queue step the roles that call it from its queue;
    /// for any other the roles that record it (the step's `recorded_by`, else its actor's
    /// `recorded_by`, else the actor's own id). The one rule of who may act: deciding,
    /// replaying and listing inboxes all ask here.
    pub fn recorders(&self, idx: StepIdx) -> &[String] {
        &self.steps[idx].roles
    }

    /// The case fields step `idx` may set: its `collects` and its `requires`.
    pub fn settable(&self, idx: StepIdx) -> &[String] {
        &self.steps[idx].sets
    }

    /// Whether `role` may act on step `idx` (see [`recorders`](Self::recorders)).
    pub fn may_record(&self, idx: StepIdx, role: &str) -> bool {
        self.steps[idx].roles.iter().any(|r| r == role)
    }

    pub fn step_count(&self) -> usize {
        self.steps.len()
    }

    pub fn kind(&self, idx: StepIdx) -> StepKind {
        self.document.steps[idx].kind
    }

    /// The condition under which document `doc` is required (`None`: always).
    pub fn document_condition(&self, doc: usize) -> Option<&CompiledGuard> {
        self.document_conditions.get(doc).and_then(Option::as_ref)
    }

    /// The case-data JSON Schema, compiled.
    pub fn case_validator(&self) -> &jsonschema::Validator {
        &self.case_validator
    }

    /// The case schema field by field, when it allows checking changes alone.
    pub fn field_validators(&self) -> Option<&FieldValidators> {
        self.field_validators.as_ref()
    }

    /// The remembered results of document condition `doc`.
    pub(crate) fn condition_memo(&self, doc: usize) -> Option<&GuardMemo> {
        self.condition_memo.get(doc).and_then(Option::as_ref)
    }

    /// The remembered results of the guard of branch `branch` of step `step`.
    pub(crate) fn branch_memo(&self, step: StepIdx, branch: usize) -> Option<&GuardMemo> {
        self.branch_memo
            .get(step)
            .and_then(|b| b.get(branch))
            .and_then(Option::as_ref)
    }

    /// Warnings of the deploy-time checks: the SOP runs, but something in it deserves a look
    /// (a guard reading a field that may never be set before it).
    pub fn warnings(&self) -> &[super::Diagnostic] {
        &self.warnings
    }

    /// Top-level case-data fields guards may read.
    pub fn case_fields(&self) -> &[String] {
        &self.case_fields
    }

    /// Case fields marked `x-personal: true`: kept out of logs, hashed in the event chain.
    pub fn personal_fields(&self) -> &[String] {
        &self.personal_fields
    }
}

/// Whether a schema holds a reference (`$ref`, `$dynamicRef`, `$recursiveRef`).
fn has_reference(schema: &serde_json::Value) -> bool {
    match schema {
        serde_json::Value::Object(map) => map
            .iter()
            .any(|(k, v)| k == "$ref" || k.ends_with("Ref") || has_reference(v)),
        serde_json::Value::Array(items) => items.iter().any(has_reference),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(v: &[serde_json::Value]) -> Box<[serde_json::Value]> {
        v.to_vec().into_boxed_slice()
    }

    #[test]
    fn a_memo_recalls_what_it_was_told_by_every_value_and_the_count() {
        let memo = GuardMemo::default();
        assert_eq!(memo.recall(1, |_| &serde_json::Value::Null), None);
        memo.remember(values(&[json!("lengkap")]), true);
        memo.remember(values(&[json!("kurang")]), false);
        memo.remember(values(&[json!("kurang"), json!(2)]), true);
        let one = [json!("kurang")];
        assert_eq!(memo.recall(1, |i| &one[i]), Some(false));
        let two = [json!("kurang"), json!(2)];
        assert_eq!(memo.recall(2, |i| &two[i]), Some(true));
        let other = [json!("kurang"), json!(3)];
        assert_eq!(memo.recall(2, |i| &other[i]), None);
    }

    #[test]
    fn a_memo_stops_at_its_bound_and_threads_filling_it_at_once_lose_nothing_they_kept() {
        let memo = GuardMemo::default();
        std::thread::scope(|scope| {
            for t in 0..4 {
                let memo = &memo;
                scope.spawn(move || {
                    for i in 0..REMEMBERED_PER_GUARD {
                        memo.remember(values(&[json!(t), json!(i)]), (t + i) % 2 == 0);
                    }
                });
            }
        });
        let kept: Vec<_> = memo.entries.iter().map_while(OnceLock::get).collect();
        assert_eq!(kept.len(), REMEMBERED_PER_GUARD);
        for (v, result) in kept {
            let (t, i) = (v[0].as_u64().unwrap(), v[1].as_u64().unwrap());
            assert_eq!(*result, (t + i) % 2 == 0);
            assert_eq!(memo.recall(2, |j| &v[j]), Some(*result));
        }
        // Full: what comes after is not kept, and nothing kept is replaced.
        let late = json!("late");
        memo.remember(values(std::slice::from_ref(&late)), true);
        assert_eq!(memo.recall(1, |_| &late), None);
    }
}
