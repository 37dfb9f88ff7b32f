//! Layers 3 to 5 of SOP validation, and compilation into a runnable [`Sop`].
//!
//! 3. references: every actor, document, step, adapter, queue and role named exists; ids are
//!    unique; each step kind has the fields it needs;
//! 4. the graph (petgraph): every step reachable from the start, every step can reach an end,
//!    every branching point has one default branch (last), no cycle of automatic decisions;
//! 5. guards: each compiles, reads only names the case schema declares or the engine gives,
//!    and only declared documents.

use std::collections::HashMap;
use std::sync::Arc;

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{Dfs, Reversed};

use super::compiled::{CompiledBranch, CompiledPrintout, CompiledStep, Sop, StepIdx};
use super::diagnostic::{Diagnostic, Layer, sort_and_dedup};
use super::duration::BudgetClock;
use super::model::{AdapterKind, Next, PrintLayout, ProblemText, SopDocument, Step, StepKind};
use super::source_map::SourceMap;
use crate::guard::{self, BUILTIN_NAMES, CompiledGuard};

/// The lines an ID-1 card has room for below its title (see the effects crate's layout).
pub const MAX_CARD_LINES: usize = 7;

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
            map.problem_pos("/case_schema"),
            "/case_schema",
            e.to_string(),
        )]
    })?;
    let steps = compile_steps(&document, guards.branches, guards.problems);
    let warnings = unset_field_warnings(&document, &steps, &guards.documents, map);
    Ok(Sop::new(
        document,
        steps,
        guards.documents,
        case_validator,
        warnings,
    ))
}

struct Problems<'a> {
    map: &'a SourceMap,
    out: Vec<Diagnostic>,
}

impl Problems<'_> {
    fn at(&mut self, layer: Layer, pointer: &str, message: impl Into<String>) {
        self.out.push(Diagnostic::new(
            layer,
            self.map.problem_pos(pointer),
            pointer,
            message,
        ));
    }

    /// A problem at `line:column` inside the guard at `pointer`: that exact place when the
    /// guard is a plain one-line scalar, else the guard, with the place in the message.
    fn in_guard(&mut self, pointer: &str, at: (usize, usize), message: String) {
        let (pos, message) = match self.map.pos_in_value(pointer, at.0, at.1) {
            Some(pos) => (pos, message),
            None => (
                self.map.problem_pos(pointer),
                format!("{message} (at {}:{} of the expression)", at.0, at.1),
            ),
        };
        self.out
            .push(Diagnostic::new(Layer::Guards, pos, pointer, message));
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
            let line = p.map.problem_pos(&format!("/{section}/{first}/id")).line;
            p.at(
                Layer::References,
                &format!("/{section}/{i}/id"),
                format!(
                    "duplicate {what} id `{id}` (first defined at line {line}, {section}[{first}])"
                ),
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
        for (list, name) in [
            (&step.collects, "collects"),
            (&step.requires, "requires"),
            (&step.request, "request"),
        ] {
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
        if !matches!(step.kind, StepKind::Task | StepKind::Service) && !step.requires.is_empty() {
            p.at(
                Layer::References,
                &at("requires"),
                format!(
                    "a {} step is not completed by a person or an adapter: only task and service steps require fields",
                    step.kind.as_str()
                ),
            );
        }
        let adapter_kind = step
            .adapter
            .as_ref()
            .and_then(|a| doc.adapters.iter().find(|d| d.id == *a))
            .map(|a| a.kind);
        if let Some(printout) = &step.printout {
            if step.kind != StepKind::Service || adapter_kind != Some(AdapterKind::CardPrinter) {
                p.at(
                    Layer::References,
                    &at("printout"),
                    "only a service step whose adapter is a card_printer prints",
                );
            }
            for (j, f) in printout.fields.iter().enumerate() {
                if !fields.contains(&f.field.as_str()) {
                    p.at(
                        Layer::References,
                        &format!("/steps/{i}/printout/fields/{j}/field"),
                        format!(
                            "`{}` is not a property of case_schema ({})",
                            f.field,
                            known(&fields)
                        ),
                    );
                }
            }
            if printout.layout == PrintLayout::Id1Card && printout.fields.len() > MAX_CARD_LINES {
                p.at(
                    Layer::References,
                    &format!("/steps/{i}/printout/fields/{MAX_CARD_LINES}"),
                    format!(
                        "an id1_card holds at most {MAX_CARD_LINES} lines below its title ({} given): use a4_document for more",
                        printout.fields.len()
                    ),
                );
            }
        }
        if step.problem.is_some()
            && (step.kind != StepKind::Service || adapter_kind != Some(AdapterKind::Consultation))
        {
            p.at(
                Layer::References,
                &at("problem"),
                "only a service step whose adapter is a consultation sends a problem",
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
        match (step.budget, step.budget_clock) {
            (None, Some(_)) => {
                let owner = doc
                    .steps
                    .iter()
                    .find(|s| s.row == step.row && s.budget.is_some());
                let runs_on = match owner {
                    Some(owner) => format!(
                        "the step runs on the budget of its row, step `{}`: set the clock there",
                        owner.id
                    ),
                    None => "the step has no budget, nor has its row".to_owned(),
                };
                p.at(
                    Layer::References,
                    &at("budget_clock"),
                    format!("`budget_clock` without `budget`: {runs_on}"),
                );
            }
            (Some(budget), Some(BudgetClock::Wall)) if budget.counts_working_days() => p.at(
                Layer::References,
                &at("budget_clock"),
                format!(
                    "`{}` counts the calendar's working days, and `budget_clock: wall` ignores the calendar: write calendar days (`hari`) instead, or drop `budget_clock: wall`",
                    budget.to_indonesian()
                ),
            ),
            _ => {}
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
                [first, extra, ..] => p.at(
                    Layer::Graph,
                    &format!("/steps/{i}/next/{extra}"),
                    format!("more than one default branch (without `when`; next[{first}] is one too): only the last branch may have no `when`"),
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
    /// Per step, the conditions of its problem texts (empty without `problem`).
    problems: Vec<Vec<Option<CompiledGuard>>>,
}

/// What one guard may read.
struct GuardScope<'a> {
    names: Vec<&'a str>,
    /// Names that only take a few text values (an `enum` case field, a step's `outcome`), with
    /// those values and where they are declared.
    values: Vec<(&'a str, Vec<&'a str>, String)>,
    /// For a branch guard, the step it leaves; `None` for a condition over case fields only.
    step: Option<&'a Step>,
    /// What a condition over case fields only is, for messages (`a document condition`).
    what: &'static str,
    documents: &'a [&'a str],
}

fn compile_guards(doc: &SopDocument, p: &mut Problems) -> Guards {
    let fields = doc.case_fields();
    let document_ids: Vec<&str> = doc.documents.iter().map(|d| d.id.as_str()).collect();
    let field_values: Vec<(&str, Vec<&str>, String)> = fields
        .iter()
        .filter_map(|&f| Some((f, text_values(doc, f)?, "case_schema allows".to_owned())))
        .collect();

    let documents = doc
        .documents
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let scope = GuardScope {
                names: fields.clone(),
                values: field_values.clone(),
                step: None,
                what: "a document condition",
                documents: &document_ids,
            };
            d.required_when.as_deref().and_then(|src| {
                compile_guard(src, &format!("/documents/{i}/required_when"), &scope, p)
            })
        })
        .collect();
    let branches = doc
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| match &step.next {
            Some(Next::Branches(b)) => {
                let mut names = fields.clone();
                names.extend_from_slice(BUILTIN_NAMES);
                let mut values = field_values.clone();
                if !step.outcomes.is_empty() {
                    values.push((
                        "outcome",
                        step.outcomes.iter().map(String::as_str).collect(),
                        format!("step `{}` declares outcomes", step.id),
                    ));
                }
                let scope = GuardScope {
                    names,
                    values,
                    step: Some(step),
                    what: "a branch guard",
                    documents: &document_ids,
                };
                b.iter()
                    .enumerate()
                    .map(|(j, br)| {
                        br.when.as_deref().and_then(|src| {
                            compile_guard(src, &format!("/steps/{i}/next/{j}/when"), &scope, p)
                        })
                    })
                    .collect()
            }
            Some(Next::Step(_)) => vec![None],
            None => Vec::new(),
        })
        .collect();
    let problems = doc
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| match &step.problem {
            Some(ProblemText::Choices(choices)) => {
                let scope = GuardScope {
                    names: fields.clone(),
                    values: field_values.clone(),
                    step: None,
                    what: "a problem condition",
                    documents: &document_ids,
                };
                choices
                    .iter()
                    .enumerate()
                    .map(|(j, c)| {
                        c.when.as_deref().and_then(|src| {
                            compile_guard(src, &format!("/steps/{i}/problem/{j}/when"), &scope, p)
                        })
                    })
                    .collect()
            }
            _ => Vec::new(),
        })
        .collect();
    Guards {
        branches,
        documents,
        problems,
    }
}

/// The text values case field `field` is limited to by its `enum` or `const`, if any.
fn text_values<'a>(doc: &'a SopDocument, field: &str) -> Option<Vec<&'a str>> {
    let schema = doc.case_schema.get("properties")?.get(field)?;
    if let Some(options) = schema.get("enum").and_then(|e| e.as_array()) {
        options.iter().map(|o| o.as_str()).collect()
    } else {
        schema.get("const")?.as_str().map(|c| vec![c])
    }
}

/// Words that start a statement: a guard is one expression.
const STATEMENT_WORDS: &[&str] = &[
    "let", "const", "fn", "for", "while", "loop", "do", "return", "throw", "import", "export",
];

fn compile_guard(
    source: &str,
    pointer: &str,
    scope: &GuardScope,
    p: &mut Problems,
) -> Option<CompiledGuard> {
    match guard::shared().compile(source, &scope.names) {
        Ok(g) => {
            check_guard_values(source, pointer, scope, p);
            Some(g)
        }
        Err(e) => {
            let mut detail = match e.message.strip_prefix("Undefined variable: ") {
                Some(name) if scope.step.is_some() => {
                    format!("`{name}` is not declared ({})", known(&scope.names))
                }
                Some(name) => format!(
                    "`{name}` is not declared: {} reads only case fields ({})",
                    scope.what,
                    known(&scope.names)
                ),
                None => e.message.clone(),
            };
            let tokens = tokens(source);
            let statement = tokens.iter().any(|t| t.token == Token::Symbol(";"))
                || matches!(tokens.first(), Some(Located { token: Token::Name(w), .. }) if STATEMENT_WORDS.contains(&w.as_str()));
            if statement {
                detail.push_str(
                    ": a guard is one expression, without `let`, `;`, loops or functions",
                );
            }
            let message = format!("guard `{source}` does not compile: {detail}");
            match (e.line, e.column) {
                (Some(line), Some(column)) => p.in_guard(pointer, (line, column), message),
                _ => p.at(Layer::Guards, pointer, message),
            }
            None
        }
    }
}

/// What compiling cannot see: documents read that are not declared, `outcome` read after a
/// step that has none, and comparisons with a text value a name never takes (a typo there
/// silently sends every case down another branch).
fn check_guard_values(source: &str, pointer: &str, scope: &GuardScope, p: &mut Problems) {
    let tokens = tokens(source);
    let at = |i: usize| tokens.get(i).map(|t| &t.token);
    let text_at = |i: usize| match at(i) {
        Some(Token::Text(t)) => Some(t.as_str()),
        _ => None,
    };
    let is_comparison = |i: usize| matches!(at(i), Some(Token::Symbol("==" | "!=")));
    // A name read as a whole: not a property (`x.outcome`), not called or indexed.
    let bare = |i: usize| {
        i.checked_sub(1).and_then(at) != Some(&Token::Symbol("."))
            && !matches!(at(i + 1), Some(Token::Symbol("." | "[" | "(")))
    };
    let values_of = |name: &str| scope.values.iter().find(|(n, ..)| *n == name);
    let check_value = |name: &str, i: usize, p: &mut Problems| {
        if let (Some(text), Some((_, values, origin))) = (text_at(i), values_of(name))
            && !values.contains(&text)
        {
            let values: Vec<String> = values.iter().map(|v| format!("`{v}`")).collect();
            p.in_guard(
                pointer,
                (tokens[i].line, tokens[i].column),
                format!(
                    "`{name}` is never \"{text}\" ({origin} {})",
                    values.join(", ")
                ),
            );
        }
    };
    for (i, t) in tokens.iter().enumerate() {
        let after_dot = i.checked_sub(1).and_then(at) == Some(&Token::Symbol("."));
        match &t.token {
            Token::Name(n) if n == "documents" && !after_dot => {
                let (id, shown, pos) = match (at(i + 1), at(i + 2), at(i + 3)) {
                    (Some(Token::Symbol(".")), Some(Token::Name(id)), _) => {
                        (id.as_str(), format!("documents.{id}"), i + 2)
                    }
                    (Some(Token::Symbol("[")), Some(Token::Text(id)), Some(Token::Symbol("]"))) => {
                        (id.as_str(), format!("documents[\"{id}\"]"), i + 2)
                    }
                    _ => continue,
                };
                if !scope.documents.contains(&id) {
                    p.in_guard(
                        pointer,
                        (tokens[pos].line, tokens[pos].column),
                        format!(
                            "guard reads `{shown}`, but no document `{id}` is declared ({})",
                            known(scope.documents)
                        ),
                    );
                }
            }
            Token::Name(n)
                if n == "outcome"
                    && !after_dot
                    && scope.step.is_some_and(|s| s.outcomes.is_empty()) =>
            {
                let step = scope.step.map_or("", |s| s.id.as_str());
                p.in_guard(
                    pointer,
                    (t.line, t.column),
                    format!("guard reads `outcome`, but step `{step}` declares no `outcomes`"),
                );
            }
            Token::Name(n) if bare(i) && values_of(n).is_some() => {
                if is_comparison(i + 1) {
                    check_value(n, i + 2, p);
                } else if at(i + 1) == Some(&Token::Name("in".to_owned()))
                    && at(i + 2) == Some(&Token::Symbol("["))
                {
                    let mut j = i + 3;
                    while text_at(j).is_some() {
                        check_value(n, j, p);
                        if at(j + 1) != Some(&Token::Symbol(",")) {
                            break;
                        }
                        j += 2;
                    }
                }
            }
            Token::Text(_) if is_comparison(i + 1) => {
                if let Some(Token::Name(n)) = at(i + 2)
                    && bare(i + 2)
                {
                    check_value(n, i, p);
                }
            }
            _ => {}
        }
    }
}

/// A guard's tokens, as far as the checks above need them.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Name(String),
    /// A double-quoted string without escapes (with escapes it is `Other`: no check guesses).
    Text(String),
    Symbol(&'static str),
    Other,
}

/// A token and where it starts in the guard (1-based line and column, in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Located {
    token: Token,
    line: usize,
    column: usize,
}

fn tokens(source: &str) -> Vec<Located> {
    let chars: Vec<char> = source.chars().collect();
    let mut out = Vec::new();
    let (mut i, mut line, mut column) = (0, 1, 1);
    while let Some(&c) = chars.get(i) {
        let (start_line, start_column) = (line, column);
        let mut len = 1;
        let token = match c {
            '\n' => {
                i += 1;
                line += 1;
                column = 1;
                continue;
            }
            c if c.is_whitespace() => {
                i += 1;
                column += 1;
                continue;
            }
            '"' | '\'' | '`' => {
                let mut escaped = false;
                let mut closed = false;
                while let Some(&n) = chars.get(i + len) {
                    len += 1;
                    if n == '\\' {
                        escaped = true;
                        len += 1;
                    } else if n == c {
                        closed = true;
                        break;
                    }
                }
                let body: String = chars[i + 1..(i + len).min(chars.len())]
                    .iter()
                    .take(len.saturating_sub(2))
                    .collect();
                if c == '"' && closed && !escaped && !body.contains('\n') {
                    Token::Text(body)
                } else {
                    Token::Other
                }
            }
            c if c.is_alphabetic() || c == '_' => {
                while chars
                    .get(i + len)
                    .is_some_and(|n| n.is_alphanumeric() || *n == '_')
                {
                    len += 1;
                }
                Token::Name(chars[i..i + len].iter().collect())
            }
            '=' | '!' if chars.get(i + 1) == Some(&'=') => {
                len = 2;
                Token::Symbol(if c == '=' { "==" } else { "!=" })
            }
            '.' => Token::Symbol("."),
            '[' => Token::Symbol("["),
            ']' => Token::Symbol("]"),
            '(' => Token::Symbol("("),
            ',' => Token::Symbol(","),
            ';' => Token::Symbol(";"),
            _ => Token::Other,
        };
        // Strings may span lines; keep the position right after them.
        for n in chars.iter().skip(i).take(len) {
            if *n == '\n' {
                line += 1;
                column = 1;
            } else {
                column += 1;
            }
        }
        i += len;
        out.push(Located {
            token,
            line: start_line,
            column: start_column,
        });
    }
    out
}

fn compile_steps(
    doc: &SopDocument,
    mut branch_guards: Vec<Vec<Option<CompiledGuard>>>,
    mut problem_guards: Vec<Vec<Option<CompiledGuard>>>,
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
                    label: b.label.map(Arc::from),
                })
                .collect();
            let roles = if step.kind == StepKind::Queue {
                doc.queues
                    .iter()
                    .find(|q| Some(&q.id) == step.queue.as_ref())
                    .map(|q| q.called_by.clone())
                    .unwrap_or_default()
            } else if !step.recorded_by.is_empty() {
                step.recorded_by.clone()
            } else {
                match doc.actor(&step.actor) {
                    Some(a) if !a.recorded_by.is_empty() => a.recorded_by.clone(),
                    _ => vec![step.actor.clone()],
                }
            };
            let mut sets = step.collects.clone();
            sets.extend(
                step.requires
                    .iter()
                    .filter(|f| !step.collects.contains(f))
                    .cloned(),
            );
            let problem = match &step.problem {
                None => Vec::new(),
                Some(ProblemText::Text(text)) => vec![(None, Arc::from(text.as_str()))],
                Some(ProblemText::Choices(choices)) => {
                    let guards = std::mem::take(&mut problem_guards[i]);
                    choices
                        .iter()
                        .zip(guards.into_iter().chain(std::iter::repeat(None)))
                        .map(|(c, guard)| (guard, Arc::from(c.text.as_str())))
                        .collect()
                }
            };
            let rule = |owner: StepIdx| {
                let owner_step = &doc.steps[owner];
                owner_step
                    .budget
                    .map(|b| (owner, b.on(owner_step.budget_clock.unwrap_or_default())))
            };
            let budget = match step.budget {
                Some(_) => rule(i),
                None => row_owner.get(&step.row).and_then(|&o| rule(o)),
            };
            CompiledStep {
                id: Arc::from(step.id.as_str()),
                queue: step.queue.as_deref().map(Arc::from),
                adapter: step.adapter.as_deref().map(Arc::from),
                branches,
                documents: step
                    .documents
                    .iter()
                    .filter_map(|d| doc_index.get(d.as_str()).copied())
                    .collect(),
                roles,
                sets,
                printout: printout(doc, step),
                problem,
                budget,
            }
        })
        .collect()
}

/// Warnings for guards that read a case field which may hold no value where they run: no
/// step on any path from the start up to there collects or requires it, and the case schema
/// does not require it at the start. (Such a guard silently reads `()`: the case takes the
/// default branch, or a document is judged on a missing value.)
fn unset_field_warnings(
    doc: &SopDocument,
    steps: &[CompiledStep],
    document_conditions: &[Option<CompiledGuard>],
    map: &SourceMap,
) -> Vec<Diagnostic> {
    use std::collections::BTreeSet;
    let fields = doc.case_fields();
    let required: BTreeSet<&str> = doc
        .case_schema
        .get("required")
        .and_then(|r| r.as_array())
        .map(|r| r.iter().filter_map(|f| f.as_str()).collect())
        .unwrap_or_default();
    let start = doc
        .steps
        .iter()
        .position(|s| s.id == doc.start)
        .unwrap_or(0);
    // The fields that may hold a value on arrival at each step (None: not reached), a union
    // over the paths from the start, grown until nothing changes (loops included).
    let mut arrival: Vec<Option<BTreeSet<&str>>> = vec![None; steps.len()];
    arrival[start] = Some(required);
    let mut work = vec![start];
    // The fields that may hold a value once step `i` is completed.
    fn after<'a>(
        arrival: &[Option<BTreeSet<&'a str>>],
        steps: &'a [CompiledStep],
        i: usize,
    ) -> BTreeSet<&'a str> {
        let mut set = arrival[i].clone().unwrap_or_default();
        set.extend(steps[i].sets.iter().map(String::as_str));
        set
    }
    while let Some(i) = work.pop() {
        let out = after(&arrival, steps, i);
        for branch in &steps[i].branches {
            let reached = arrival[branch.to].is_some();
            let target = arrival[branch.to].get_or_insert_with(BTreeSet::new);
            let before = target.len();
            target.extend(out.iter().copied());
            if !reached || target.len() != before {
                work.push(branch.to);
            }
        }
    }
    let mut out = Vec::new();
    let mut warn = |pointer: String, guard: &CompiledGuard, available: &BTreeSet<&str>| {
        if guard.source.contains('`') {
            return; // an interpolated string: its names are not all known
        }
        for name in &guard.reads {
            if fields.contains(&name.as_str()) && !available.contains(name.as_str()) {
                out.push(Diagnostic::warning(
                    Layer::Guards,
                    map.problem_pos(&pointer),
                    &pointer,
                    format!(
                        "guard reads `{name}`, which no step up to here collects or requires and case_schema does not require: it may have no value (add it to a step's `requires`)"
                    ),
                ));
            }
        }
    };
    for (i, step) in steps.iter().enumerate() {
        if arrival[i].is_none() {
            continue;
        }
        let done = after(&arrival, steps, i);
        for (j, branch) in step.branches.iter().enumerate() {
            if let Some(guard) = &branch.guard {
                warn(format!("/steps/{i}/next/{j}/when"), guard, &done);
            }
        }
        for &d in &step.documents {
            if let Some(Some(condition)) = document_conditions.get(d) {
                warn(format!("/documents/{d}/required_when"), condition, &done);
            }
        }
        let entry = arrival[i].clone().unwrap_or_default();
        for (j, (guard, _)) in step.problem.iter().enumerate() {
            if let Some(guard) = guard {
                warn(format!("/steps/{i}/problem/{j}/when"), guard, &entry);
            }
        }
    }
    sort_and_dedup(&mut out);
    out
}

/// The printout of a step that calls a card printer: the one it declares, else its
/// `request` fields on an A4 page titled with the step's name, each labelled with the
/// field's `title` in the case schema (or its name).
fn printout(doc: &SopDocument, step: &Step) -> Option<CompiledPrintout> {
    let prints = step
        .adapter
        .as_ref()
        .and_then(|a| doc.adapters.iter().find(|d| d.id == *a))
        .is_some_and(|a| a.kind == AdapterKind::CardPrinter);
    if step.kind != StepKind::Service || !prints {
        return None;
    }
    Some(match &step.printout {
        Some(p) => CompiledPrintout {
            layout: p.layout,
            title: p.title.clone(),
            fields: p
                .fields
                .iter()
                .map(|f| (f.field.clone(), f.label.clone()))
                .collect(),
        },
        None => CompiledPrintout {
            layout: PrintLayout::A4Document,
            title: step.name.clone(),
            fields: step
                .request
                .iter()
                .map(|f| {
                    let title = doc
                        .case_schema
                        .get("properties")
                        .and_then(|p| p.get(f))
                        .and_then(|s| s.get("title"))
                        .and_then(|t| t.as_str());
                    (f.clone(), title.unwrap_or(f).to_owned())
                })
                .collect(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<Token> {
        tokens(source).into_iter().map(|t| t.token).collect()
    }

    #[test]
    fn tokens_keep_names_texts_and_comparisons() {
        use Token::*;
        assert_eq!(
            kinds(r#"outcome == "ok" && documents["kk"]"#),
            vec![
                Name("outcome".into()),
                Symbol("=="),
                Text("ok".into()),
                Other,
                Other,
                Name("documents".into()),
                Symbol("["),
                Text("kk".into()),
                Symbol("]"),
            ]
        );
        // Escapes, other quotes and unclosed strings are not guessed at.
        assert_eq!(kinds(r#""a\"b""#), vec![Other]);
        assert_eq!(kinds("'a' `b` \"c"), vec![Other, Other, Other]);
    }

    #[test]
    fn tokens_know_their_line_and_column() {
        let located = tokens("a ==\n  \"b\" != c");
        let at: Vec<(usize, usize)> = located.iter().map(|t| (t.line, t.column)).collect();
        assert_eq!(at, vec![(1, 1), (1, 3), (2, 3), (2, 7), (2, 10)]);
    }
}
