//! Where each node of a YAML file stands, so that every problem found after parsing (a
//! schema violation, an unknown actor, a guard that does not compile) can be reported as
//! `FILE:LINE:COLUMN`.
//!
//! serde_yaml gives values without positions, so the file is walked a second time with
//! saphyr-parser's event stream. The walk also catches what the value parser reports late or
//! imprecisely: duplicate keys (at the duplicate, not the mapping) and excessive nesting.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// A 1-based line and column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: usize,
    pub column: usize,
}

/// Position of one node: of its key when it is a mapping value, and of the value itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Entry {
    key: Option<Pos>,
    value: Pos,
    /// A plain (unquoted) scalar on one line: its text is the value, character for character,
    /// so a column inside the value is a column of the file.
    plain_one_line: bool,
}

/// JSON Pointer (`/steps/2/actor`) to position.
#[derive(Debug, Default, Clone)]
pub struct SourceMap {
    entries: HashMap<String, Entry>,
}

/// A problem the walk found: a syntax error, a duplicate key, too deep a nesting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkProblem {
    pub pos: Pos,
    pub pointer: String,
    pub message: String,
}

/// Deeper than this is not an SOP, and recursion on it could exhaust the stack.
pub const MAX_DEPTH: usize = 64;

impl SourceMap {
    /// Position of the value at `pointer`, or of its nearest ancestor that exists.
    pub fn value_pos(&self, pointer: &str) -> Pos {
        self.lookup(pointer, |e| e.value)
    }

    /// Position of the key of the entry at `pointer` (its value when it has no key).
    pub fn key_pos(&self, pointer: &str) -> Pos {
        self.lookup(pointer, |e| e.key.unwrap_or(e.value))
    }

    /// Where to report a problem with the node at `pointer` (or its nearest ancestor): the value
    /// when it stands on its key's line, else the key (`next:` rather than the first branch
    /// on the line below it, `outcome:` rather than its first property).
    pub fn problem_pos(&self, pointer: &str) -> Pos {
        self.lookup(pointer, |e| match e.key {
            Some(key) if e.value.line > key.line => key,
            _ => e.value,
        })
    }

    /// The file position of `line:column` (1-based) inside the value at `pointer`, when that
    /// value is a plain scalar on one line (so the mapping is exact); `None` otherwise.
    pub fn pos_in_value(&self, pointer: &str, line: usize, column: usize) -> Option<Pos> {
        let entry = self.entries.get(pointer)?;
        (entry.plain_one_line && line == 1 && column >= 1).then_some(Pos {
            line: entry.value.line,
            column: entry.value.column + column - 1,
        })
    }

    /// Whether the document has a node at `pointer`.
    pub fn contains(&self, pointer: &str) -> bool {
        self.entries.contains_key(pointer)
    }

    fn lookup(&self, pointer: &str, pick: impl Fn(&Entry) -> Pos) -> Pos {
        let mut current = pointer;
        loop {
            if let Some(entry) = self.entries.get(current) {
                return pick(entry);
            }
            match current.rfind('/') {
                Some(cut) => current = &current[..cut],
                None => return Pos { line: 1, column: 1 },
            }
        }
    }

    /// Walks `text` and records every node's position. Stops at the first syntax error.
    pub fn build(text: &str) -> (Self, Vec<WalkProblem>) {
        let mut walker = Walker {
            parser: Parser::new_from_str(text),
            lines: text.split('\n').collect(),
            open_flows: Vec::new(),
            map: SourceMap::default(),
            problems: Vec::new(),
        };
        walker.document();
        (walker.map, walker.problems)
    }
}

fn pos_of(span: &Span) -> Pos {
    Pos {
        line: span.start.line(),
        column: span.start.col() + 1,
    }
}

/// `pos`, moved back inside `text` if it is past the end of its line or of the text: parsers
/// report the end of the input as the line after it.
pub fn clamp(text: &str, pos: Pos) -> Pos {
    clamp_to_lines(&text.split('\n').collect::<Vec<_>>(), pos)
}

fn clamp_to_lines(lines: &[&str], pos: Pos) -> Pos {
    let line = pos.line.clamp(1, lines.len().max(1));
    let width = lines.get(line - 1).map_or(0, |l| l.chars().count());
    let column = if line < pos.line {
        width + 1
    } else {
        pos.column.clamp(1, width + 1)
    };
    Pos { line, column }
}

/// Escapes one JSON Pointer segment (RFC 6901).
pub fn escape_segment(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

struct Walker<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
    /// The text's lines (split at every `\n`), to explain syntax errors.
    lines: Vec<&'a str>,
    /// The flow collections (`[` or `{`) being walked, innermost last, with where they open.
    open_flows: Vec<(char, Pos)>,
    map: SourceMap,
    problems: Vec<WalkProblem>,
}

/// Signals that the walk cannot go on (a syntax error was recorded).
struct Stop;

impl<'a> Walker<'a> {
    fn next(&mut self, pointer: &str) -> Result<(Event<'a>, Span), Stop> {
        match self.parser.next_event() {
            Some(Ok(ev)) => Ok(ev),
            Some(Err(e)) => {
                let marker = e.marker();
                let reported = clamp_to_lines(
                    &self.lines,
                    Pos {
                        line: marker.line(),
                        column: marker.col() + 1,
                    },
                );
                let (pos, message) = self.explain(reported, e.info());
                // Moved to a later line (a tab below a scalar), the problem is no longer in
                // the node being read but in the mapping or list around it.
                let pointer = match pointer.rfind('/') {
                    Some(cut) if pos.line > reported.line => &pointer[..cut],
                    _ => pointer,
                };
                self.problems.push(WalkProblem {
                    pos,
                    pointer: pointer.to_owned(),
                    message,
                });
                Err(Stop)
            }
            None => Err(Stop),
        }
    }

    /// The character at a 1-based position.
    fn char_at(&self, pos: Pos) -> Option<char> {
        let line = self.lines.get(pos.line.checked_sub(1)?)?;
        line.chars().nth(pos.column.checked_sub(1)?)
    }

    /// The parser's message, made actionable: where the tab is, which bracket or quote is
    /// left open, what a misplaced `:` usually means.
    fn explain(&self, pos: Pos, info: &str) -> (Pos, String) {
        const TAB_ERRORS: &[&str] = &[
            "found a tab",
            "tab cannot be used",
            "tabs disallowed",
            "cannot start with a tab",
        ];
        if TAB_ERRORS.iter().any(|t| info.contains(t)) {
            // The parser reports the scalar or block before the tab; point at the tab itself.
            let tab = self
                .lines
                .iter()
                .enumerate()
                .skip(pos.line.saturating_sub(1))
                .find_map(|(i, line)| {
                    let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
                    line[..indent].find('\t').map(|byte| Pos {
                        line: i + 1,
                        column: byte + 1,
                    })
                });
            if let Some(tab) = tab {
                return (
                    tab,
                    "YAML syntax error: a tab in the indentation (YAML indents with spaces only)"
                        .to_owned(),
                );
            }
        }
        let mut message = format!("YAML syntax error: {info}");
        if info.contains("recursion limit") {
            message = format!(
                "YAML nesting deeper than the parser allows ({info}): an SOP is never nested this deep"
            );
        } else if let Some(quote @ ('\'' | '"')) = self.char_at(pos)
            && info.contains("quoted scalar")
        {
            message.push_str(&format!(
                " (is the closing {quote} of the string opened here missing?)"
            ));
        } else if let Some((open, at)) = self.open_flows.last() {
            let close = if *open == '[' { ']' } else { '}' };
            message.push_str(&format!(
                " (inside the `{open}` opened at line {}, column {}: is its closing `{close}` missing?)",
                at.line, at.column
            ));
        } else if info.contains("mapping values are not allowed") {
            message.push_str(
                " (usually a `: ` inside an unquoted value, which needs quotes, or a key indented deeper than the one before it)",
            );
        }
        (pos, message)
    }

    fn document(&mut self) {
        let _ = self.document_inner();
    }

    fn document_inner(&mut self) -> Result<(), Stop> {
        loop {
            let (event, span) = self.next("")?;
            match event {
                Event::StreamStart | Event::DocumentStart(_) | Event::Nothing => continue,
                Event::StreamEnd | Event::DocumentEnd => return Ok(()),
                other => {
                    self.node(other, span, String::new(), None, 0)?;
                    // Only the first document of a stream is the SOP.
                    return Ok(());
                }
            }
        }
    }

    fn node(
        &mut self,
        event: Event<'a>,
        span: Span,
        pointer: String,
        key: Option<Pos>,
        depth: usize,
    ) -> Result<(), Stop> {
        let value = pos_of(&span);
        let plain_one_line = matches!(event, Event::Scalar(_, ScalarStyle::Plain, ..))
            && span.end.line() == span.start.line();
        self.map.entries.insert(
            pointer.clone(),
            Entry {
                key,
                value,
                plain_one_line,
            },
        );
        if depth > MAX_DEPTH {
            self.problems.push(WalkProblem {
                pos: value,
                pointer,
                message: format!("nesting deeper than {MAX_DEPTH} levels"),
            });
            return Err(Stop);
        }
        if matches!(event, Event::Alias(_)) {
            // One alias is harmless, nested ones expand exponentially ("billion laughs"), and
            // either makes an SOP harder to review: the file writes values out.
            self.problems.push(WalkProblem {
                pos: value,
                pointer,
                message: "YAML aliases (`*name`) are not allowed in an SOP: write the value out"
                    .to_owned(),
            });
            return Err(Stop);
        }
        let flow = match self.char_at(value) {
            Some(c @ ('[' | '{')) => Some(c),
            _ => None,
        };
        match event {
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                if let Some(open) = flow {
                    self.open_flows.push((open, value));
                }
                let walked = if matches!(event, Event::MappingStart(..)) {
                    self.mapping(&pointer, depth)
                } else {
                    self.sequence(&pointer, depth)
                };
                if flow.is_some() {
                    self.open_flows.pop();
                }
                walked
            }
            _ => Ok(()),
        }
    }

    fn mapping(&mut self, pointer: &str, depth: usize) -> Result<(), Stop> {
        let mut seen: HashMap<String, Pos> = HashMap::new();
        loop {
            let (event, span) = self.next(pointer)?;
            let key_pos = pos_of(&span);
            let key = match event {
                Event::MappingEnd => return Ok(()),
                Event::Scalar(text, ..) => text.into_owned(),
                // A complex key (a mapping or list as key) is never valid in an SOP, and JSON
                // cannot hold it: report it here, where its position is known, and walk it so
                // the stream stays in step.
                other => {
                    self.problems.push(WalkProblem {
                        pos: key_pos,
                        pointer: pointer.to_owned(),
                        message: "a key must be text, not a list or a mapping".to_owned(),
                    });
                    self.node(other, span, format!("{pointer}/?"), None, depth + 1)?;
                    "?".to_owned()
                }
            };
            let child = format!("{pointer}/{}", escape_segment(&key));
            if let Some(first) = seen.get(&key) {
                self.problems.push(WalkProblem {
                    pos: key_pos,
                    pointer: child.clone(),
                    message: format!(
                        "duplicate key `{key}` (first defined at line {})",
                        first.line
                    ),
                });
            } else {
                seen.insert(key, key_pos);
            }
            let (event, span) = self.next(&child)?;
            self.node(event, span, child, Some(key_pos), depth + 1)?;
        }
    }

    fn sequence(&mut self, pointer: &str, depth: usize) -> Result<(), Stop> {
        let mut index = 0usize;
        loop {
            let (event, span) = self.next(pointer)?;
            if matches!(event, Event::SequenceEnd) {
                return Ok(());
            }
            self.node(event, span, format!("{pointer}/{index}"), None, depth + 1)?;
            index += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str =
        "id: x\nsteps:\n  - id: a\n    actor: pemohon\n  - id: b\n    next: [a, \"c\"]\n";

    #[test]
    fn positions_are_one_based_and_point_at_keys_and_values() {
        let (map, problems) = SourceMap::build(TEXT);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(map.key_pos("/id"), Pos { line: 1, column: 1 });
        assert_eq!(map.value_pos("/id"), Pos { line: 1, column: 5 });
        assert_eq!(
            map.value_pos("/steps/0/actor"),
            Pos {
                line: 4,
                column: 12
            }
        );
        assert_eq!(map.key_pos("/steps/0/actor"), Pos { line: 4, column: 5 });
        assert_eq!(
            map.value_pos("/steps/1/next/1"),
            Pos {
                line: 6,
                column: 15
            }
        );
    }

    #[test]
    fn missing_pointers_fall_back_to_the_nearest_ancestor() {
        let (map, _) = SourceMap::build(TEXT);
        assert_eq!(map.value_pos("/steps/1/budget"), map.value_pos("/steps/1"));
        assert_eq!(map.value_pos("/nothing/here"), map.value_pos(""));
    }

    #[test]
    fn duplicate_keys_are_reported_at_the_duplicate() {
        let (_, problems) = SourceMap::build("a: 1\nb: 2\na: 3\n");
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].pos, Pos { line: 3, column: 1 });
        assert_eq!(
            problems[0].message,
            "duplicate key `a` (first defined at line 1)"
        );
    }

    #[test]
    fn syntax_errors_stop_the_walk_with_a_position() {
        let (_, problems) = SourceMap::build("a: [1, 2\nb: 3\n");
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0].message.starts_with("YAML syntax error"),
            "{problems:?}"
        );
    }

    #[test]
    fn problems_with_block_values_are_reported_at_their_key() {
        let text = "steps:\n  - id: a\n    next:\n      - to: b\n    name: A\n";
        let (map, _) = SourceMap::build(text);
        assert_eq!(map.problem_pos("/steps/0/next"), Pos { line: 3, column: 5 });
        assert_eq!(map.problem_pos("/steps"), Pos { line: 1, column: 1 });
        // A value on its key's line, or an item of a list, is reported where it stands.
        assert_eq!(
            map.problem_pos("/steps/0/name"),
            Pos {
                line: 5,
                column: 11
            }
        );
        assert_eq!(map.problem_pos("/steps/0"), Pos { line: 2, column: 5 });
    }

    #[test]
    fn columns_inside_plain_one_line_values_map_to_the_file() {
        let text = "a: x == 1\nb: \"x == 1\"\nc: >-\n  x ==\n  1\n";
        let (map, _) = SourceMap::build(text);
        assert_eq!(
            map.pos_in_value("/a", 1, 3),
            Some(Pos { line: 1, column: 6 })
        );
        assert_eq!(map.pos_in_value("/a", 2, 1), None);
        assert_eq!(map.pos_in_value("/b", 1, 3), None);
        assert_eq!(map.pos_in_value("/c", 1, 3), None);
    }

    #[test]
    fn a_tab_is_reported_where_it_is() {
        let (_, problems) = SourceMap::build("a:\n  b: 1\n\tc: 2\n");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].pos, Pos { line: 3, column: 1 });
        assert!(
            problems[0].message.contains("tab in the indentation"),
            "{problems:?}"
        );
    }

    #[test]
    fn an_unclosed_bracket_is_named_with_its_position() {
        let (_, problems) = SourceMap::build("a: [1, 2\nb: 3\n");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(
            problems[0].message.ends_with(
                "(inside the `[` opened at line 1, column 4: is its closing `]` missing?)"
            ),
            "{problems:?}"
        );
    }

    #[test]
    fn complex_keys_are_refused_where_they_stand() {
        let (_, problems) = SourceMap::build("a: 1\n? [b]\n: 2\n");
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert_eq!(problems[0].pos, Pos { line: 2, column: 3 });
    }

    #[test]
    fn positions_past_the_end_are_brought_back_inside() {
        assert_eq!(
            clamp("ab", Pos { line: 2, column: 1 }),
            Pos { line: 1, column: 3 }
        );
        assert_eq!(
            clamp("ab\n", Pos { line: 2, column: 1 }),
            Pos { line: 2, column: 1 }
        );
        assert_eq!(
            clamp("ab", Pos { line: 1, column: 9 }),
            Pos { line: 1, column: 3 }
        );
        assert_eq!(
            clamp("", Pos { line: 0, column: 0 }),
            Pos { line: 1, column: 1 }
        );
    }

    #[test]
    fn deep_nesting_is_refused_without_recursing_further() {
        let text = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let (_, problems) = SourceMap::build(&text);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("nesting deeper"));
    }
}
