//! The SOP as a Graphviz digraph: the same nodes and arrows as the Mermaid flowchart, one
//! cluster per actor (Pelaksana).
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
        "    graph [label={}, labelloc=t, fontname={font}, rankdir=TB, newrank=true];",
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
    let start_node = format!(
        "{} [label=\"Mulai\", shape=box, style=rounded];",
        quoted(START_NODE)
    );
    let mut placed = vec![false; document.steps.len()];
    for actor in &document.actors {
        let _ = writeln!(
            out,
            "    subgraph {} {{",
            quoted(&format!("cluster_{}", identifier(&actor.id)))
        );
        let _ = writeln!(
            out,
            "        label={}; style=dashed; color=gray40;",
            quoted(&actor.name)
        );
        if start_index.is_some_and(|i| document.steps[i].actor == actor.id) {
            let _ = writeln!(out, "        {start_node}");
        }
        for (index, step) in document.steps.iter().enumerate() {
            if step.actor == actor.id {
                write_nodes(&mut out, "        ", step);
                placed[index] = true;
            }
        }
        out.push_str("    }\n");
    }
    for (index, step) in document.steps.iter().enumerate() {
        if !placed[index] {
            write_nodes(&mut out, "    ", step);
        }
    }
    if let Some(start) = start_index {
        if document.actor(&document.steps[start].actor).is_none() {
            let _ = writeln!(out, "    {start_node}");
        }
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

fn write_nodes(out: &mut String, indent: &str, step: &Step) {
    let label = quoted(&format!("({}) {}", step.row, step.name));
    let id = node_id(step);
    let _ = match step.kind {
        StepKind::Task => writeln!(out, "{indent}{id} [label={label}, shape=box];"),
        StepKind::Decision => writeln!(out, "{indent}{id} [label={label}, shape=diamond];"),
        StepKind::Service => writeln!(
            out,
            "{indent}{id} [label={label}, shape=box, peripheries=2];"
        ),
        StepKind::Queue => writeln!(out, "{indent}{id} [label={label}, shape=parallelogram];"),
        StepKind::End => writeln!(
            out,
            "{indent}{id} [label={}, shape=box, style=rounded];",
            quoted(&step.name)
        ),
    };
    if has_choice(step) && step.kind != StepKind::Decision {
        let _ = writeln!(
            out,
            "{indent}{} [label={}, shape=diamond];",
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
