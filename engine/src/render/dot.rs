//! The SOP as a Graphviz digraph: the same nodes and arrows as the Mermaid flowchart, each
//! step's actor (Pelaksana) in small italics under its name. (Clusters per actor were tried:
//! the applicant's steps come first, in the middle and last, so its cluster spans the whole
//! drawing and Graphviz overlaps it with the others.)
//!
//! Shapes: start/end rounded box (the capsule), task box, decision diamond, service box with
//! a double border (an adapter does the work), queue parallelogram. A branching task,
//! service or queue step is its box followed by a diamond carrying the labelled exits.

use std::fmt::Write as _;

use super::{edges, has_choice, identifier, one_line};
use crate::sop::model::{SopDocument, Step, StepKind};

const START_NODE: &str = "start_terminator";
const FONT: &str = "DejaVu Sans,Arial,sans-serif";

/// The DOT source of `document`'s flowchart.
pub fn dot(document: &SopDocument) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", quoted(&document.id));
    let _ = writeln!(
        out,
        "    graph [label={}, labelloc=t, fontname={font}, rankdir=TB, nodesep=0.5, ranksep=0.45];",
        quoted(&format!("SOP {}", document.header.title)),
        font = quoted(FONT)
    );
    let _ = writeln!(
        out,
        "    node [fontname={font}, fontsize=11, shape=box];",
        font = quoted(FONT)
    );
    let _ = writeln!(
        out,
        "    edge [fontname={font}, fontsize=9];",
        font = quoted(FONT)
    );

    let start_index = document.steps.iter().position(|s| s.id == document.start);
    if start_index.is_some() {
        let _ = writeln!(
            out,
            "    {} [label=\"Mulai\", shape=box, style=rounded];",
            quoted(START_NODE)
        );
    }
    for step in &document.steps {
        let actor = document
            .actor(&step.actor)
            .map_or(step.actor.as_str(), |a| a.name.as_str());
        write_nodes(&mut out, step, actor);
    }
    if let Some(start) = start_index {
        let _ = writeln!(
            out,
            "    {} -> {};",
            quoted(START_NODE),
            node_id(&document.steps[start])
        );
    }

    for step in &document.steps {
        if has_choice(step) && step.kind != StepKind::Decision {
            let _ = writeln!(out, "    {} -> {};", node_id(step), choice_id(step));
        }
    }
    for edge in edges(document) {
        let from = &document.steps[edge.from];
        let source = if has_choice(from) && from.kind != StepKind::Decision {
            choice_id(from)
        } else {
            node_id(from)
        };
        let target = node_id(&document.steps[edge.to]);
        match edge.label {
            Some(label) => {
                let _ = writeln!(out, "    {source} -> {target} [label={}];", quoted(label));
            }
            None => {
                let _ = writeln!(out, "    {source} -> {target};");
            }
        }
    }
    out.push_str("}\n");
    out
}

fn write_nodes(out: &mut String, step: &Step, actor: &str) {
    let id = node_id(step);
    let name = match step.kind {
        StepKind::End => step.name.clone(),
        _ => format!("({}) {}", step.row, step.name),
    };
    // An HTML-like label, so the actor can be smaller than the step's name.
    let label = format!(
        "<{}<BR/><FONT POINT-SIZE=\"8\"><I>{}</I></FONT>>",
        html_text(&name),
        html_text(actor)
    );
    let _ = match step.kind {
        StepKind::Task => writeln!(out, "    {id} [label={label}, shape=box];"),
        StepKind::Decision => writeln!(out, "    {id} [label={label}, shape=diamond];"),
        StepKind::Service => writeln!(out, "    {id} [label={label}, shape=box, peripheries=2];"),
        StepKind::Queue => writeln!(out, "    {id} [label={label}, shape=parallelogram];"),
        StepKind::End => writeln!(out, "    {id} [label={label}, shape=box, style=rounded];"),
    };
    if has_choice(step) && step.kind != StepKind::Decision {
        let _ = writeln!(
            out,
            "    {} [label={}, shape=diamond];",
            choice_id(step),
            quoted(&format!("{}?", step.name))
        );
    }
}

fn node_id(step: &Step) -> String {
    quoted(&format!("step_{}", identifier(&step.id)))
}

fn choice_id(step: &Step) -> String {
    quoted(&format!("choice_{}", identifier(&step.id)))
}

/// A DOT double-quoted string. Backslashes are doubled so that none starts an escape such as
/// `\N` (the node name) or `\l`; line breaks become spaces; control characters are dropped.
pub(crate) fn quoted(raw: &str) -> String {
    let mut escaped = String::with_capacity(raw.len() + 2);
    escaped.push('"');
    for c in one_line(raw).chars() {
        match c {
            '"' => escaped.push_str("\\\""),
            '\\' => escaped.push_str("\\\\"),
            c if c.is_control() => {}
            c => escaped.push(c),
        }
    }
    escaped.push('"');
    escaped
}

/// Text inside an HTML-like label: the markup characters become entities (Graphviz reads
/// `&amp;`, `&lt;`, `&gt;`, `&quot;`); line breaks become spaces.
pub(crate) fn html_text(raw: &str) -> String {
    let mut escaped = String::with_capacity(raw.len());
    for c in one_line(raw).chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            c if c.is_control() => {}
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_strings_escape_quotes_and_backslashes() {
        assert_eq!(
            quoted("Berkas \"lengkap\" \\N\nbaru"),
            "\"Berkas \\\"lengkap\\\" \\\\N baru\""
        );
    }
}
