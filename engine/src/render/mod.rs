//! Drawings of an SOP: a Mermaid flowchart, a Graphviz digraph, a standalone SVG flowchart
//! drawn here (for pages without script), and the official
//! PermenPAN-RB 35/2012 table as one printable HTML page.
//!
//! Pure, like the rest of the engine: a [`SopDocument`] in, text out. The renderers expect a
//! validated document (`sop::load` first) but never panic on one that is not: a reference
//! that does not resolve (unknown actor, unknown target step) is simply not drawn.

mod dot;
mod grid;
mod html;
mod mermaid;
mod pages;
mod svg;

use std::fmt;
use std::str::FromStr;

pub use dot::dot;
pub use html::html;
pub use mermaid::mermaid;
pub use svg::{svg, svg_pages};

use crate::sop::model::{Next, SopDocument, Step, StepKind};

/// The output formats of `sopflow render`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Mermaid,
    Dot,
    Html,
    Svg,
}

impl Format {
    pub const ALL: [Format; 4] = [Format::Mermaid, Format::Dot, Format::Html, Format::Svg];

    pub fn name(self) -> &'static str {
        match self {
            Format::Mermaid => "mermaid",
            Format::Dot => "dot",
            Format::Html => "html",
            Format::Svg => "svg",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a format name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown render format {0:?}: expected mermaid, dot, html or svg")]
pub struct UnknownFormat(String);

impl FromStr for Format {
    type Err = UnknownFormat;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.name() == text)
            .ok_or_else(|| UnknownFormat(text.to_owned()))
    }
}

/// Renders `document` in `format`.
pub fn render(document: &SopDocument, format: Format) -> String {
    match format {
        Format::Mermaid => mermaid(document),
        Format::Dot => dot(document),
        Format::Html => html(document),
        Format::Svg => svg(document),
    }
}

/// One arrow of the flowchart, between steps given as indices into `document.steps`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Edge<'a> {
    pub from: usize,
    pub to: usize,
    pub label: Option<&'a str>,
}

/// Every arrow, in step order then branch order. Targets that do not resolve are left out.
pub(crate) fn edges(document: &SopDocument) -> Vec<Edge<'_>> {
    let index_of = |id: &str| document.steps.iter().position(|s| s.id == id);
    let mut edges = Vec::new();
    for (from, step) in document.steps.iter().enumerate() {
        match &step.next {
            None => {}
            Some(Next::Step(to)) => {
                if let Some(to) = index_of(to) {
                    edges.push(Edge {
                        from,
                        to,
                        label: None,
                    });
                }
            }
            Some(Next::Branches(branches)) => {
                for branch in branches {
                    if let Some(to) = index_of(&branch.to) {
                        edges.push(Edge {
                            from,
                            to,
                            label: branch.label.as_deref(),
                        });
                    }
                }
            }
        }
    }
    edges
}

/// Whether the step chooses between exits (a decision, or a task whose outcome branches).
pub(crate) fn has_choice(step: &Step) -> bool {
    step.kind == StepKind::Decision || matches!(&step.next, Some(Next::Branches(b)) if b.len() > 1)
}

/// The identifier-safe form of an id: ASCII letters, digits and `_` only. Valid SOP ids are
/// already in that form; this only keeps an unvalidated document from breaking the syntax.
pub(crate) fn identifier(id: &str) -> String {
    id.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}

/// Collapses runs of whitespace (including newlines) to single spaces: diagram labels are
/// one line each.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Splits text into lines of at most `width` characters, at spaces where possible.
pub(crate) fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split_whitespace() {
        let needed =
            current.chars().count() + usize::from(!current.is_empty()) + word.chars().count();
        if !current.is_empty() && needed > width {
            lines.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(word);
    }
    if !current.is_empty() {
        lines.push(current);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_names_round_trip() {
        for format in Format::ALL {
            assert_eq!(format.name().parse::<Format>(), Ok(format));
        }
        assert!("png".parse::<Format>().is_err());
    }

    #[test]
    fn identifiers_keep_only_safe_characters() {
        assert_eq!(identifier("cetak_ktp"), "cetak_ktp");
        assert_eq!(identifier("a-b c\"d"), "a_b_c_d");
    }

    #[test]
    fn wrap_breaks_at_spaces() {
        assert_eq!(
            wrap("Tidak lengkap, berkas dikembalikan", 14),
            vec!["Tidak lengkap,", "berkas", "dikembalikan"]
        );
        assert_eq!(wrap("", 10), Vec::<String>::new());
        assert_eq!(wrap("sangatpanjangsekali", 5), vec!["sangatpanjangsekali"]);
    }
}
