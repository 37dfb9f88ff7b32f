//! The SOP as a Mermaid flowchart, in the style of the seed's graph: terminators as stadiums,
//! activities as boxes, choices as diamonds, one subgraph per actor (Pelaksana).
//!
//! Shapes: start/end `([..])`, task `[..]`, decision `{..}`, service (an adapter does the
//! work) subroutine `[[..]]`, queue (the case waits to be called) parallelogram `[/../]`. A
//! task, service or queue step whose outcome branches is drawn as its box followed by a
//! diamond that carries the labelled exits.

use std::fmt::Write as _;

use super::{edges, has_choice, identifier, one_line};
use crate::sop::model::{SopDocument, Step, StepKind};

/// Node id of the synthetic start terminator (the SOP has a start step, not a start symbol).
const START_NODE: &str = "start_terminator";

/// The Mermaid source of `document`'s flowchart.
pub fn mermaid(document: &SopDocument) -> String {
    let mut out = String::new();
    // `%%` comments are ignored by Mermaid; the line starts with a letter so it is never read
    // as a `%%{...}%%` directive.
    let _ = writeln!(
        out,
        "%% SOP {}: {}",
        one_line(&document.id),
        one_line(&document.header.title)
    );
    out.push_str("flowchart TD\n");

    let start_index = document.steps.iter().position(|s| s.id == document.start);
    let mut placed = vec![false; document.steps.len()];
    for actor in &document.actors {
        let _ = writeln!(
            out,
            "    subgraph actor_{}[\"{}\"]",
            identifier(&actor.id),
            text(&actor.name)
        );
        out.push_str("        direction TB\n");
        if start_index.is_some_and(|i| document.steps[i].actor == actor.id) {
            let _ = writeln!(out, "        {START_NODE}([\"Mulai\"])");
        }
        for (index, step) in document.steps.iter().enumerate() {
            if step.actor == actor.id {
                write_nodes(&mut out, "        ", step);
                placed[index] = true;
            }
        }
        out.push_str("    end\n");
    }
    // Steps whose actor is unknown (an unvalidated document) still appear, outside any lane.
    for (index, step) in document.steps.iter().enumerate() {
        if !placed[index] {
            write_nodes(&mut out, "    ", step);
        }
    }
    if let Some(start) = start_index {
        if document.actor(&document.steps[start].actor).is_none() {
            let _ = writeln!(out, "    {START_NODE}([\"Mulai\"])");
        }
        let _ = writeln!(
            out,
            "    {START_NODE} --> {}",
            node_id(&document.steps[start])
        );
    }

    for step in &document.steps {
        if has_choice(step) && step.kind != StepKind::Decision {
            let _ = writeln!(out, "    {} --> {}", node_id(step), choice_id(step));
        }
    }
    for edge in edges(document) {
        let from = &document.steps[edge.from];
        let to = &document.steps[edge.to];
        let source = if has_choice(from) && from.kind != StepKind::Decision {
            choice_id(from)
        } else {
            node_id(from)
        };
        match edge.label {
            Some(label) => {
                let _ = writeln!(out, "    {source} -->|\"{}\"| {}", text(label), node_id(to));
            }
            None => {
                let _ = writeln!(out, "    {source} --> {}", node_id(to));
            }
        }
    }
    out
}

/// The node (and, for a branching activity, its diamond) of one step.
fn write_nodes(out: &mut String, indent: &str, step: &Step) {
    let label = format!("({}) {}", step.row, step.name);
    let label = text(&label);
    let id = node_id(step);
    let _ = match step.kind {
        StepKind::Task => writeln!(out, "{indent}{id}[\"{label}\"]"),
        StepKind::Decision => writeln!(out, "{indent}{id}{{\"{label}\"}}"),
        StepKind::Service => writeln!(out, "{indent}{id}[[\"{label}\"]]"),
        StepKind::Queue => writeln!(out, "{indent}{id}[/\"{label}\"/]"),
        StepKind::End => writeln!(out, "{indent}{id}([\"{}\"])", text(&step.name)),
    };
    if has_choice(step) && step.kind != StepKind::Decision {
        let question = format!("{}?", step.name);
        let _ = writeln!(
            out,
            "{indent}{}{{\"{}\"}}",
            choice_id(step),
            text(&question)
        );
    }
}

/// Step ids are prefixed so that none can collide with a Mermaid keyword (`end`, `graph`...).
fn node_id(step: &Step) -> String {
    format!("step_{}", identifier(&step.id))
}

fn choice_id(step: &Step) -> String {
    format!("choice_{}", identifier(&step.id))
}

/// Text for inside a double-quoted Mermaid label. Mermaid decodes `#name;` / `#code;` entity
/// codes there and then treats the label as HTML, so the quote, markup characters and the
/// characters Mermaid itself gives meaning to (`#`, `;`, `|`, the backtick that starts a
/// markdown string) are written as entity codes. Line breaks become spaces.
pub(crate) fn text(raw: &str) -> String {
    let mut escaped = String::with_capacity(raw.len());
    for c in one_line(raw).chars() {
        match c {
            '"' => escaped.push_str("#quot;"),
            '#' => escaped.push_str("#35;"),
            ';' => escaped.push_str("#59;"),
            '&' => escaped.push_str("#amp;"),
            '<' => escaped.push_str("#lt;"),
            '>' => escaped.push_str("#gt;"),
            '|' => escaped.push_str("#124;"),
            '`' => escaped.push_str("#96;"),
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
    fn quotes_and_markup_become_entity_codes() {
        assert_eq!(
            text("Berkas \"lengkap\" <b>&</b> #1; a|b `x`"),
            "Berkas #quot;lengkap#quot; #lt;b#gt;#amp;#lt;/b#gt; #35;1#59; a#124;b #96;x#96;"
        );
    }

    #[test]
    fn brackets_and_indonesian_text_stay_readable() {
        assert_eq!(
            text("KTP-el [baru] (hilang), {rusak} – perubahan\ndata"),
            "KTP-el [baru] (hilang), {rusak} – perubahan data"
        );
    }
}
