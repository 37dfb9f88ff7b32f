//! `load` must answer every input with an SOP or located problems: no panic, no position
//! outside the file. Inputs are arbitrary text and, closer to what authors really produce,
//! the valid SOPs with lines dropped, duplicated, swapped, cut short or with one character
//! replaced by something that matters to YAML.

use std::path::Path;

use proptest::prelude::*;
use sopflow_engine::sop;

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Loads `text` and checks every problem is located inside it.
fn load_and_locate(text: &str) -> Result<(), TestCaseError> {
    if let Err(problems) = sop::load(text) {
        prop_assert!(!problems.is_empty(), "an error without a problem");
        let text = sop::load::normalize_newlines(text);
        let lines: Vec<&str> = text.split('\n').collect();
        for p in &problems {
            let source = p.pos.line.checked_sub(1).and_then(|i| lines.get(i));
            prop_assert!(
                source.is_some(),
                "{}:{}: {p}: no such line",
                p.pos.line,
                p.pos.column
            );
            let width = source.map_or(0, |l| l.chars().count());
            prop_assert!(
                p.pos.column >= 1 && p.pos.column <= width + 1,
                "{}:{}: {p}: no such column",
                p.pos.line,
                p.pos.column
            );
        }
    }
    Ok(())
}

#[derive(Debug, Clone)]
enum Mutation {
    DropLine(usize),
    DuplicateLine(usize),
    SwapLines(usize, usize),
    Truncate(usize),
    Replace(usize, char),
    Insert(usize, char),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let special = prop::sample::select(vec![
        ':', '-', '[', ']', '{', '}', '"', '\'', '\t', ' ', '#', '&', '*', '!', '|', '>', '\n',
        '?', ',', '%', '@', '`', '\\', 'é', '\u{0}', '\u{feff}',
    ]);
    prop_oneof![
        any::<usize>().prop_map(Mutation::DropLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), special.clone()).prop_map(|(i, c)| Mutation::Replace(i, c)),
        (any::<usize>(), special).prop_map(|(i, c)| Mutation::Insert(i, c)),
    ]
}

fn apply(text: &str, mutations: &[Mutation]) -> String {
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut chars: Vec<char>;
    for m in mutations {
        let n = lines.len().max(1);
        match *m {
            Mutation::DropLine(i) if !lines.is_empty() => {
                lines.remove(i % n);
            }
            Mutation::DuplicateLine(i) if !lines.is_empty() => {
                let line = lines[i % n].clone();
                lines.insert(i % n, line);
            }
            Mutation::SwapLines(a, b) if !lines.is_empty() => lines.swap(a % n, b % n),
            Mutation::Truncate(i) => {
                chars = lines.join("\n").chars().collect();
                chars.truncate(i % (chars.len() + 1));
                lines = vec![chars.iter().collect()];
            }
            Mutation::Replace(i, c) | Mutation::Insert(i, c) => {
                chars = lines.join("\n").chars().collect();
                if chars.is_empty() {
                    continue;
                }
                let at = i % chars.len();
                if matches!(m, Mutation::Replace(..)) {
                    chars[at] = c;
                } else {
                    chars.insert(at, c);
                }
                lines = chars
                    .iter()
                    .collect::<String>()
                    .split('\n')
                    .map(str::to_owned)
                    .collect();
            }
            _ => {}
        }
    }
    lines.join("\n") + "\n"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_text(text in any::<String>()) {
        load_and_locate(&text)?;
    }

    #[test]
    fn yaml_like_text(text in "[a-z_:\\-\\[\\]{}, \n\"'#&*!|>?0-9.]{0,200}") {
        load_and_locate(&text)?;
    }

    #[test]
    fn mutated_minimal_sop(mutations in prop::collection::vec(mutation(), 1..4)) {
        load_and_locate(&apply(&read("tests/valid/minimal.yaml"), &mutations))?;
    }

    #[test]
    fn mutated_ktp_el_sop(mutations in prop::collection::vec(mutation(), 1..4)) {
        load_and_locate(&apply(&read("../sop-definitions/ktp-el.yaml"), &mutations))?;
    }
}
