//! Problems found in an SOP file, each with its line, column and field.

use std::fmt;

use super::source_map::Pos;

/// Which check found the problem. Later layers run only on what earlier ones accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Layer {
    /// The text is not YAML (or has duplicate keys, or nests too deep).
    Syntax,
    /// The YAML does not match the SOP format (`sop.schema.json`).
    Schema,
    /// A name refers to nothing, or an id is used twice.
    References,
    /// The steps do not form a runnable procedure.
    Graph,
    /// A guard does not compile or reads an undeclared name.
    Guards,
}

/// Whether a problem keeps the SOP from being deployed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Severity {
    /// The SOP is refused.
    #[default]
    Error,
    /// The SOP runs, but this deserves a look ([`Sop::warnings`](super::Sop::warnings)).
    Warning,
}

/// One problem, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub layer: Layer,
    pub pos: Pos,
    /// The field, as a path such as `steps[3].actor` (empty for the whole document).
    pub field: String,
    pub message: String,
}

impl Diagnostic {
    pub fn new(layer: Layer, pos: Pos, pointer: &str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            layer,
            pos,
            field: field_path(pointer),
            message: message.into(),
        }
    }

    /// A warning: located like an error, but the SOP is deployed.
    pub fn warning(layer: Layer, pos: Pos, pointer: &str, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::new(layer, pos, pointer, message)
        }
    }

    /// `FILE:LINE:COLUMN: field: message`, the form editors and CI logs understand
    /// (`FILE:LINE:COLUMN: warning: field: message` for a warning).
    pub fn display_with<'a>(&'a self, file: &'a str) -> impl fmt::Display + 'a {
        struct Located<'a>(&'a Diagnostic, &'a str);
        impl fmt::Display for Located<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(
                    f,
                    "{}:{}:{}: {}",
                    self.1, self.0.pos.line, self.0.pos.column, self.0
                )
            }
        }
        Located(self, file)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.severity == Severity::Warning {
            f.write_str("warning: ")?;
        }
        if self.field.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

/// Orders problems by position (then field and message) and drops repeats: every layer
/// reports this way.
pub(crate) fn sort_and_dedup(out: &mut Vec<Diagnostic>) {
    out.sort_by(|a, b| (a.pos, &a.field, &a.message).cmp(&(b.pos, &b.field, &b.message)));
    out.dedup();
}

/// `/steps/3/actor` becomes `steps[3].actor`.
pub fn field_path(pointer: &str) -> String {
    let mut out = String::new();
    for segment in pointer.split('/').skip(1) {
        let segment = segment.replace("~1", "/").replace("~0", "~");
        if !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit()) {
            out.push('[');
            out.push_str(&segment);
            out.push(']');
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(&segment);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointers_read_as_field_paths() {
        assert_eq!(field_path(""), "");
        assert_eq!(field_path("/steps/3/actor"), "steps[3].actor");
        assert_eq!(field_path("/header/legal_basis/0"), "header.legal_basis[0]");
    }

    #[test]
    fn warnings_say_so_after_the_position() {
        let d = Diagnostic::warning(
            Layer::Guards,
            Pos {
                line: 7,
                column: 15,
            },
            "/steps/2/next/0/when",
            "guard reads `x`",
        );
        assert_eq!(
            d.display_with("a.yaml").to_string(),
            "a.yaml:7:15: warning: steps[2].next[0].when: guard reads `x`"
        );
    }

    #[test]
    fn displays_as_file_line_column() {
        let d = Diagnostic::new(
            Layer::References,
            Pos {
                line: 4,
                column: 12,
            },
            "/steps/0/actor",
            "unknown actor `x`",
        );
        assert_eq!(
            d.display_with("a.yaml").to_string(),
            "a.yaml:4:12: steps[0].actor: unknown actor `x`"
        );
    }
}
