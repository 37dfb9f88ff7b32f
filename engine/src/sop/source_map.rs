//! Where each node of a YAML file stands, so that every problem found after parsing (a
//! schema violation, an unknown actor, a guard that does not compile) can be reported as
//! `FILE:LINE:COLUMN`.
//!
//! serde_yaml gives values without positions, so the file is walked a second time with
//! saphyr-parser's event stream. The walk also catches what the value parser reports late or
//! imprecisely: duplicate keys (at the duplicate, not the mapping) and excessive nesting.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, Span};

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

/// Escapes one JSON Pointer segment (RFC 6901).
pub fn escape_segment(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

struct Walker<'a> {
    parser: Parser<'a, saphyr_parser::StrInput<'a>>,
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
                self.problems.push(WalkProblem {
                    pos: Pos {
                        line: marker.line(),
                        column: marker.col() + 1,
                    },
                    pointer: pointer.to_owned(),
                    message: format!("YAML syntax error: {}", e.info()),
                });
                Err(Stop)
            }
            None => Err(Stop),
        }
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
        self.map
            .entries
            .insert(pointer.clone(), Entry { key, value });
        if depth > MAX_DEPTH {
            self.problems.push(WalkProblem {
                pos: value,
                pointer,
                message: format!("nesting deeper than {MAX_DEPTH} levels"),
            });
            return Err(Stop);
        }
        match event {
            Event::MappingStart(..) => self.mapping(&pointer, depth),
            Event::SequenceStart(..) => self.sequence(&pointer, depth),
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
                // A complex key (a mapping or list as key) is never valid in an SOP; walk it
                // so the stream stays in step, and let the schema layer report it.
                other => {
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
    fn deep_nesting_is_refused_without_recursing_further() {
        let text = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let (_, problems) = SourceMap::build(&text);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("nesting deeper"));
    }
}
