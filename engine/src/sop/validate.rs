//! Layers 3 to 5 of SOP validation, and compilation into a runnable [`Sop`].
//!
//! 3. references: every actor, document, step, adapter, queue and role named exists; ids are
//!    unique; each step kind has the fields it needs;
//! 4. the graph (petgraph): every step reachable from the start, every step can reach an end,
//!    every branching point has one default branch (last), no cycle of automatic decisions;
//! 5. guards: each compiles, reads only names the case schema declares or the engine gives,
//!    and only declared documents.

use std::collections::HashMap;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{Dfs, Reversed};

use super::compiled::{CompiledBranch, CompiledStep, Sop, StepIdx};
use super::diagnostic::{Diagnostic, Layer};
use super::load::sort_and_dedup;
use super::model::{Next, SopDocument, StepKind};
use super::source_map::SourceMap;
use crate::guard::{self, BUILTIN_NAMES, CompiledGuard};

/// Runs layers 3 to 5 and compiles the SOP when they find nothing.
pub fn validate(document: SopDocument, map: &SourceMap) -> Result<Sop, Vec<Diagnostic>> {
    let mut problems = Problems {
        map,
        out: Vec::new(),
    };
    check_references(&document, &mut problems);
    if !problems.out.is_empty() {
        return Err(problems.finish());
    }
    check_graph(&document, &mut problems);
    let guards = compile_guards(&document, &mut problems);
    if !problems.out.is_empty() {
        return Err(problems.finish());
    }
    let case_schema = serde_json::Value::Object(document.case_schema.clone());
    let case_validator = jsonschema::validator_for(&case_schema).map_err(|e| {
        vec![Diagnostic::new(
            Layer::Schema,
            map.value_pos("/case_schema"),
            "/case_schema",
            e.to_string(),
        )]
    })?;
    let steps = compile_steps(&document, guards.branches);
    Ok(Sop::new(document, steps, guards.documents, case_validator))
}

struct Problems<'a> {
    map: &'a SourceMap,
    out: Vec<Diagnostic>,
}

impl Problems<'_> {
    fn at(&mut self, layer: Layer, pointer: &str, message: impl Into<String>) {
        self.out.push(Diagnostic::new(
            layer,
            self.map.value_pos(pointer),
            pointer,
            message,
        ));
    }

    fn finish(mut self) -> Vec<Diagnostic> {
        sort_and_dedup(&mut self.out);
        self.out
    }
}

fn known(list: &[&str]) -> String {
    if list.is_empty() {
        "none are declared".to_owned()
    } else {
        format!("known: {}", list.join(", "))
    }
}

/// Reports ids used twice in `items` (at the second use).
fn check_unique<'a>(
    what: &str,
    section: &str,
    ids: impl Iterator<Item = &'a str>,
    p: &mut Problems,
) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, id) in ids.enumerate() {
        if let Some(first) = seen.get(id) {
            p.at(
                Layer::References,
                &format!("/{section}/{i}/id"),
                format!("duplicate {what} id `{id}` (also {section}[{first}])"),
            );
        } else {
            seen.insert(id, i);
        }
    }
}

fn check_references(doc: &SopDocument, p: &mut Problems) {
    check_unique(
        "actor",
        "actors",
        doc.actors.iter().map(|a| a.id.as_str()),
        p,
    );
    check_unique(
        "document",
        "documents",
        doc.documents.iter().map(|d| d.id.as_str()),
        p,
    );
    check_unique(
        "adapter",
        "adapters",
        doc.adapters.iter().map(|a| a.id.as_str()),
        p,
    );
    check_unique(
        "queue",
        "queues",
        doc.queues.iter().map(|q| q.id.as_str()),
        p,
    );
    check_unique("step", "steps", doc.steps.iter().map(|s| s.id.as_str()), p);

    let actors: Vec<&str> = doc.actors.iter().map(|a| a.id.as_str()).collect();
    let documents: Vec<&str> = doc.documents.iter().map(|d| d.id.as_str()).collect();
    let adapters: Vec<&str> = doc.adapters.iter().map(|a| a.id.as_str()).collect();
    let queues: Vec<&str> = doc.queues.iter().map(|q| q.id.as_str()).collect();
    let steps: Vec<&str> = doc.steps.iter().map(|s| s.id.as_str()).collect();
    let fields = doc.case_fields();

    let role = |pointer: String, name: &str, p: &mut Problems| {
        if !actors.contains(&name) {
            p.at(
                Layer::References,
                &pointer,
                format!("unknown role `{name}` ({})", known(&actors)),
            );
        }
    };
    for (i, actor) in doc.actors.iter().enumerate() {
        for (j, r) in actor.recorded_by.iter().enumerate() {
            role(format!("/actors/{i}/recorded_by/{j}"), r, p);
        }
    }
    for (i, queue) in doc.queues.iter().enumerate() {
        for (j, r) in queue.called_by.iter().enumerate() {
            role(format!("/queues/{i}/called_by/{j}"), r, p);
        }
    }
    for field in &fields {
        if BUILTIN_NAMES.contains(field) {
            p.at(
                Layer::References,
                &format!("/case_schema/properties/{field}"),
                format!("case field `{field}` clashes with a name the engine gives guards"),
            );
        }
    }
    if !steps.contains(&doc.start.as_str()) {
        p.at(
            Layer::References,
            "/start",
            format!("unknown step `{}` ({})", doc.start, known(&steps)),
        );
    }

    for (i, step) in doc.steps.iter().enumerate() {
        let at = |field: &str| format!("/steps/{i}/{field}");
        if !actors.contains(&step.actor.as_str()) {
            p.at(
                Layer::References,
                &at("actor"),
                format!("unknown actor `{}` ({})", step.actor, known(&actors)),
            );
        }
        for (j, r) in step.recorded_by.iter().enumerate() {
            role(format!("/steps/{i}/recorded_by/{j}"), r, p);
        }
        for (j, d) in step.documents.iter().enumerate() {
            if !documents.contains(&d.as_str()) {
                p.at(
                    Layer::References,
                    &format!("/steps/{i}/documents/{j}"),
                    format!("unknown document `{d}` ({})", known(&documents)),
                );
            }
        }
        for (list, name) in [(&step.collects, "collects"), (&step.request, "request")] {
            for (j, f) in list.iter().enumerate() {
                if !fields.contains(&f.as_str()) {
                    p.at(
                        Layer::References,
                        &format!("/steps/{i}/{name}/{j}"),
                        format!(
                            "`{f}` is not a property of case_schema ({})",
                            known(&fields)
                        ),
                    );
                }
            }
        }
        match (&step.adapter, step.kind) {
            (Some(a), StepKind::Service) => {
                if !adapters.contains(&a.as_str()) {
                    p.at(
                        Layer::References,
                        &at("adapter"),
                        format!("unknown adapter `{a}` ({})", known(&adapters)),
                    );
                }
            }
            (None, StepKind::Service) => p.at(
                Layer::References,
                &format!("/steps/{i}"),
                "a service step needs `adapter`",
            ),
            (Some(_), _) => p.at(
                Layer::References,
                &at("adapter"),
                "only service steps call an adapter",
            ),
            (None, _) => {}
        }
        if step.kind != StepKind::Service && !step.request.is_empty() {
            p.at(
                Layer::References,
                &at("request"),
                "only service steps send a request",
            );
        }
        match (&step.queue, step.kind) {
            (Some(q), StepKind::Queue) => {
                if !queues.contains(&q.as_str()) {
                    p.at(
                        Layer::References,
                        &at("queue"),
                        format!("unknown queue `{q}` ({})", known(&queues)),
                    );
                }
            }
            (None, StepKind::Queue) => p.at(
                Layer::References,
                &format!("/steps/{i}"),
                "a queue step needs `queue`",
            ),
            (Some(_), _) => p.at(
                Layer::References,
                &at("queue"),
                "only queue steps wait in a queue",
            ),
            (None, _) => {}
        }
        match (&step.next, step.kind) {
            (Some(_), StepKind::End) => {
                p.at(Layer::References, &at("next"), "an end step has no `next`")
            }
            (None, kind) if kind != StepKind::End => p.at(
                Layer::References,
                &format!("/steps/{i}"),
                "missing `next` (only end steps have none)",
            ),
            _ => {}
        }
        let targets: Vec<(String, &str)> = match &step.next {
            Some(Next::Step(to)) => vec![(at("next"), to.as_str())],
            Some(Next::Branches(b)) => b
                .iter()
                .enumerate()
                .map(|(j, br)| (format!("/steps/{i}/next/{j}/to"), br.to.as_str()))
                .collect(),
            None => Vec::new(),
        };
        for (pointer, to) in targets {
            if !steps.contains(&to) {
                p.at(
                    Layer::References,
                    &pointer,
                    format!("unknown step `{to}` ({})", known(&steps)),
                );
            }
        }
        if step.kind == StepKind::Decision && step.branches().len() < 2 {
            p.at(
                Layer::References,
                &at("next"),
                "a decision needs at least two branches",
            );
        }
    }
}

fn check_graph(doc: &SopDocument, p: &mut Problems) {
    let index: HashMap<&str, usize> = doc
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let mut graph: DiGraph<usize, ()> =
        DiGraph::with_capacity(doc.steps.len(), doc.steps.len() * 2);
    let nodes: Vec<NodeIndex> = (0..doc.steps.len()).map(|i| graph.add_node(i)).collect();
    for (i, step) in doc.steps.iter().enumerate() {
        for branch in step.branches() {
            if let Some(&to) = index.get(branch.to.as_str()) {
                graph.add_edge(nodes[i], nodes[to], ());
            }
        }
    }

    // Branches: one default, and last, wherever there is a choice.
    for (i, step) in doc.steps.iter().enumerate() {
        if let Some(Next::Branches(branches)) = &step.next {
            let defaults: Vec<usize> = branches
                .iter()
                .enumerate()
                .filter(|(_, b)| b.when.is_none())
                .map(|(j, _)| j)
                .collect();
            match defaults.as_slice() {
                [] => p.at(
                    Layer::Graph,
                    &format!("/steps/{i}/next"),
                    "no default branch: the last branch must have no `when`, so that the case always has a way out",
                ),
                [j] if *j + 1 != branches.len() => p.at(
                    Layer::Graph,
                    &format!("/steps/{i}/next/{j}"),
                    "the default branch (without `when`) must be the last one: branches after it are never taken",
                ),
                [_] => {}
                [_, extra, ..] => p.at(
                    Layer::Graph,
                    &format!("/steps/{i}/next/{extra}"),
                    "more than one default branch (without `when`)",
                ),
            }
        }
    }

    let start = index.get(doc.start.as_str()).copied().unwrap_or(0);
    if doc.steps[start].kind == StepKind::End {
        p.at(
            Layer::Graph,
            "/start",
            "the start step is an end step: the procedure does nothing",
        );
    }
    let ends: Vec<usize> = doc
        .steps
        .iter()
        .enumerate()
        .filter(|(_, s)| s.kind == StepKind::End)
        .map(|(i, _)| i)
        .collect();
    if ends.is_empty() {
        p.at(
            Layer::Graph,
            "/steps",
            "no end step (kind: end): no case could ever finish",
        );
        return;
    }

    let mut reachable = vec![false; doc.steps.len()];
    let mut dfs = Dfs::new(&graph, nodes[start]);
    while let Some(n) = dfs.next(&graph) {
        reachable[graph[n]] = true;
    }
    let mut reaches_end = vec![false; doc.steps.len()];
    let reversed = Reversed(&graph);
    for &end in &ends {
        let mut dfs = Dfs::new(reversed, nodes[end]);
        while let Some(n) = dfs.next(reversed) {
            reaches_end[graph[n]] = true;
        }
    }
    for (i, step) in doc.steps.iter().enumerate() {
        if !reachable[i] {
            p.at(
                Layer::Graph,
                &format!("/steps/{i}/id"),
                format!(
                    "step `{}` is unreachable from the start step `{}`",
                    step.id, doc.start
                ),
            );
        } else if !reaches_end[i] {
            p.at(
                Layer::Graph,
                &format!("/steps/{i}/id"),
                format!(
                    "step `{}` can never reach an end step: a case there would be stuck",
                    step.id
                ),
            );
        }
    }

    // A loop of automatic decisions would spin forever: some step in every cycle must wait
    // for a person, a queue call or an adapter result.
    let mut automatic = graph.clone();
    automatic.retain_nodes(|g, n| doc.steps[g[n]].kind == StepKind::Decision);
    for scc in petgraph::algo::tarjan_scc(&automatic) {
        let looped = scc.len() > 1 || scc.iter().any(|&n| automatic.contains_edge(n, n));
        if looped {
            let mut ids: Vec<usize> = scc.iter().map(|&n| automatic[n]).collect();
            ids.sort_unstable();
            let names: Vec<&str> = ids.iter().map(|&i| doc.steps[i].id.as_str()).collect();
            p.at(
                Layer::Graph,
                &format!("/steps/{}/next", ids[0]),
                format!(
                    "decisions {} form a loop that no person, queue or adapter breaks: a case would spin forever",
                    names.join(" → ")
                ),
            );
        }
    }
}

struct Guards {
    branches: Vec<Vec<Option<CompiledGuard>>>,
    documents: Vec<Option<CompiledGuard>>,
}

fn compile_guards(doc: &SopDocument, p: &mut Problems) -> Guards {
    let engine = guard::shared();
    let fields = doc.case_fields();
    let document_ids: Vec<&str> = doc.documents.iter().map(|d| d.id.as_str()).collect();
    let mut branch_names: Vec<&str> = fields.clone();
    branch_names.extend_from_slice(BUILTIN_NAMES);

    let compile = |source: &str,
                   pointer: String,
                   names: &[&str],
                   p: &mut Problems|
     -> Option<CompiledGuard> {
        match engine.compile(source, names) {
            Ok(g) => {
                for prop in guard::properties_of(source, "documents") {
                    if !document_ids.contains(&prop.as_str()) {
                        p.at(
                            Layer::Guards,
                            &pointer,
                            format!("guard reads `documents.{prop}`, but no document `{prop}` is declared ({})", known(&document_ids)),
                        );
                    }
                }
                Some(g)
            }
            Err(e) => {
                let location = match (e.line, e.column) {
                    (Some(l), Some(c)) => format!(" (at {l}:{c} of the expression)"),
                    _ => String::new(),
                };
                p.at(
                    Layer::Guards,
                    &pointer,
                    format!("guard `{source}` does not compile: {}{location}", e.message),
                );
                None
            }
        }
    };

    let documents = doc
        .documents
        .iter()
        .enumerate()
        .map(|(i, d)| {
            d.required_when
                .as_deref()
                .and_then(|src| compile(src, format!("/documents/{i}/required_when"), &fields, p))
        })
        .collect();
    let branches = doc
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| match &step.next {
            Some(Next::Branches(b)) => b
                .iter()
                .enumerate()
                .map(|(j, br)| {
                    br.when.as_deref().and_then(|src| {
                        compile(src, format!("/steps/{i}/next/{j}/when"), &branch_names, p)
                    })
                })
                .collect(),
            Some(Next::Step(_)) => vec![None],
            None => Vec::new(),
        })
        .collect();
    Guards {
        branches,
        documents,
    }
}

fn compile_steps(
    doc: &SopDocument,
    mut branch_guards: Vec<Vec<Option<CompiledGuard>>>,
) -> Vec<CompiledStep> {
    let index: HashMap<&str, StepIdx> = doc
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| (s.id.as_str(), i))
        .collect();
    let doc_index: HashMap<&str, usize> = doc
        .documents
        .iter()
        .enumerate()
        .map(|(i, d)| (d.id.as_str(), i))
        .collect();
    // The first budgeted step of each row owns the row's budget.
    let mut row_owner: HashMap<u32, StepIdx> = HashMap::new();
    for (i, step) in doc.steps.iter().enumerate() {
        if step.budget.is_some() {
            row_owner.entry(step.row).or_insert(i);
        }
    }
    doc.steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let guards = std::mem::take(&mut branch_guards[i]);
            let branches = step
                .branches()
                .into_iter()
                .zip(guards.into_iter().chain(std::iter::repeat(None)))
                .map(|(b, guard)| CompiledBranch {
                    to: index.get(b.to.as_str()).copied().unwrap_or(0),
                    guard,
                    label: b.label,
                })
                .collect();
            let roles = if !step.recorded_by.is_empty() {
                step.recorded_by.clone()
            } else {
                match doc.actor(&step.actor) {
                    Some(a) if !a.recorded_by.is_empty() => a.recorded_by.clone(),
                    _ => vec![step.actor.clone()],
                }
            };
            let budget = match step.budget {
                Some(b) => Some((i, b)),
                None => row_owner
                    .get(&step.row)
                    .and_then(|&o| doc.steps[o].budget.map(|b| (o, b))),
            };
            CompiledStep {
                branches,
                documents: step
                    .documents
                    .iter()
                    .filter_map(|d| doc_index.get(d.as_str()).copied())
                    .collect(),
                roles,
                budget,
            }
        })
        .collect()
}
