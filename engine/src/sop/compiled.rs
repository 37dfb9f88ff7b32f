//! A validated SOP version, ready to run: ids resolved to indices, guards compiled once,
//! budgets resolved to the step whose clock they run on.

use std::collections::HashMap;

use super::duration::Duration;
use super::model::{SopDocument, Step, StepKind};
use crate::guard::CompiledGuard;

/// Index of a step in [`SopDocument::steps`].
pub type StepIdx = usize;

/// One exit of a step, resolved.
#[derive(Debug, Clone)]
pub struct CompiledBranch {
    pub to: StepIdx,
    /// `None` on the default branch.
    pub guard: Option<CompiledGuard>,
    pub label: Option<String>,
}

/// What the engine needs of a step beyond its text.
#[derive(Debug, Clone)]
pub struct CompiledStep {
    pub branches: Vec<CompiledBranch>,
    /// Documents of the step, as indices into [`SopDocument::documents`].
    pub documents: Vec<usize>,
    /// Roles that may record the step.
    pub roles: Vec<String>,
    /// The step whose time budget this step runs on (itself, or the first step of its row
    /// that has a budget), with that budget.
    pub budget: Option<(StepIdx, Duration)>,
}

/// A validated, compiled SOP version. Immutable: a changed file is a new `Sop`.
#[derive(Debug)]
pub struct Sop {
    document: SopDocument,
    steps: Vec<CompiledStep>,
    index: HashMap<String, StepIdx>,
    start: StepIdx,
    document_conditions: Vec<Option<CompiledGuard>>,
    case_validator: jsonschema::Validator,
    case_fields: Vec<String>,
    personal_fields: Vec<String>,
}

impl Sop {
    pub(crate) fn new(
        document: SopDocument,
        steps: Vec<CompiledStep>,
        document_conditions: Vec<Option<CompiledGuard>>,
        case_validator: jsonschema::Validator,
    ) -> Self {
        let index: HashMap<String, StepIdx> = document
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
        let personal_fields = document
            .personal_fields()
            .into_iter()
            .map(str::to_owned)
            .collect();
        Self {
            document,
            steps,
            index,
            start,
            document_conditions,
            case_validator,
            case_fields,
            personal_fields,
        }
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

    /// Top-level case-data fields guards may read.
    pub fn case_fields(&self) -> &[String] {
        &self.case_fields
    }

    /// Case fields marked `x-personal: true`: kept out of logs, hashed in the event chain.
    pub fn personal_fields(&self) -> &[String] {
        &self.personal_fields
    }
}
