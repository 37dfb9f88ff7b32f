//! What a new SOP version changes against another: the text, line by line, and a summary of
//! the parts an administrator checks before deploying (steps, time budgets, documents,
//! guards, actors, the case schema, the header). Pure: two texts or two documents in, the
//! differences out.

use std::collections::BTreeMap;

use similar::{ChangeTag, TextDiff};
use sopflow_engine::sop::SopDocument;
use sopflow_engine::sop::model::Step;

/// Which part of the SOP a change concerns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Area {
    Steps,
    Budgets,
    Documents,
    Guards,
    Actors,
    CaseSchema,
    Header,
}

/// One difference: `item` (a step id, `step → target` for a guard, a document id...) and
/// what it was and is; `None` before means added, `None` after means removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub area: Area,
    pub item: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

impl Change {
    fn new(
        area: Area,
        item: impl Into<String>,
        before: Option<String>,
        after: Option<String>,
    ) -> Self {
        Self {
            area,
            item: item.into(),
            before,
            after,
        }
    }
}

/// The changes from `old` to `new`, by area, then in the order of the new file (removed items
/// after, in the old file's order).
pub fn summary(old: &SopDocument, new: &SopDocument) -> Vec<Change> {
    let mut out = Vec::new();
    keyed(
        &mut out,
        Area::Steps,
        &old.steps,
        &new.steps,
        |s| &s.id,
        |s| s.name.clone(),
        // A step whose only changes are its budget or its guards is listed there instead.
        |a, b| without_budget_and_guards(a) != without_budget_and_guards(b),
    );
    let budget = |s: &Step| s.budget.as_ref().map(|b| b.to_string());
    if old.total_budget != new.total_budget {
        out.push(Change::new(
            Area::Budgets,
            "total",
            old.total_budget.as_ref().map(|b| b.to_string()),
            new.total_budget.as_ref().map(|b| b.to_string()),
        ));
    }
    for step in &new.steps {
        let before = old.step(&step.id);
        let (was, is) = (before.and_then(budget), budget(step));
        if was != is && (before.is_some() || is.is_some()) {
            out.push(Change::new(Area::Budgets, step.id.clone(), was, is));
        }
    }
    for step in old.steps.iter().filter(|s| new.step(&s.id).is_none()) {
        if let Some(was) = budget(step) {
            out.push(Change::new(Area::Budgets, step.id.clone(), Some(was), None));
        }
    }
    keyed(
        &mut out,
        Area::Documents,
        &old.documents,
        &new.documents,
        |d| &d.id,
        |d| match &d.required_when {
            Some(when) => format!("{} (when {when})", d.name),
            None => d.name.clone(),
        },
        |a, b| a != b,
    );
    guards(&mut out, old, new);
    keyed(
        &mut out,
        Area::Actors,
        &old.actors,
        &new.actors,
        |a| &a.id,
        |a| a.name.clone(),
        |a, b| a != b,
    );
    if old.case_schema != new.case_schema {
        out.push(Change::new(Area::CaseSchema, "case_schema", None, None));
    }
    if old.header != new.header {
        out.push(Change::new(Area::Header, "header", None, None));
    }
    out.sort_by_key(|c| c.area);
    out
}

/// Added, removed and changed items of a list keyed by id.
fn keyed<T>(
    out: &mut Vec<Change>,
    area: Area,
    old: &[T],
    new: &[T],
    id: impl Fn(&T) -> &String,
    show: impl Fn(&T) -> String,
    differs: impl Fn(&T, &T) -> bool,
) {
    for item in new {
        match old.iter().find(|o| id(o) == id(item)) {
            None => out.push(Change::new(area, id(item).clone(), None, Some(show(item)))),
            Some(was) if differs(was, item) => out.push(Change::new(
                area,
                id(item).clone(),
                Some(show(was)),
                Some(show(item)),
            )),
            Some(_) => {}
        }
    }
    for item in old {
        if !new.iter().any(|x| id(x) == id(item)) {
            out.push(Change::new(area, id(item).clone(), Some(show(item)), None));
        }
    }
}

fn without_budget_and_guards(step: &Step) -> Step {
    let mut s = step.clone();
    s.budget = None;
    // Targets stay compared as part of the step; their guards are compared apart.
    if let Some(sopflow_engine::sop::model::Next::Branches(branches)) = &mut s.next {
        for b in branches {
            b.when = None;
        }
    }
    s
}

/// Guards per branch (`step → target`) of the steps both versions have, and of new branches
/// that carry one.
fn guards(out: &mut Vec<Change>, old: &SopDocument, new: &SopDocument) {
    let of = |d: &SopDocument| -> BTreeMap<(String, String), Option<String>> {
        d.steps
            .iter()
            .flat_map(|s| {
                s.branches()
                    .into_iter()
                    .map(move |b| ((s.id.clone(), b.to), b.when))
            })
            .collect()
    };
    let (was, is) = (of(old), of(new));
    for step in &new.steps {
        for branch in step.branches() {
            let key = (step.id.clone(), branch.to.clone());
            let before = was.get(&key).cloned().flatten();
            if (was.contains_key(&key) || branch.when.is_some()) && before != branch.when {
                out.push(Change::new(
                    Area::Guards,
                    format!("{} → {}", step.id, branch.to),
                    before,
                    branch.when.clone(),
                ));
            }
        }
    }
    for ((step, to), when) in &was {
        if !is.contains_key(&(step.clone(), to.clone())) && when.is_some() {
            out.push(Change::new(
                Area::Guards,
                format!("{step} → {to}"),
                when.clone(),
                None,
            ));
        }
    }
}

/// How a line of the text diff reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineTag {
    Same,
    Removed,
    Added,
}

/// One line of the text diff, with its numbers in the old and the new text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiffLine {
    pub tag: LineTag,
    pub old_line: Option<usize>,
    pub new_line: Option<usize>,
    pub text: String,
}

/// The line diff from `old` to `new` as hunks with `context` unchanged lines around each
/// change; empty when the texts are the same.
pub fn text_diff(old: &str, new: &str, context: usize) -> Vec<Vec<DiffLine>> {
    let diff = TextDiff::from_lines(old, new);
    diff.grouped_ops(context)
        .iter()
        .map(|group| {
            group
                .iter()
                .flat_map(|op| diff.iter_changes(op))
                .map(|c| DiffLine {
                    tag: match c.tag() {
                        ChangeTag::Equal => LineTag::Same,
                        ChangeTag::Delete => LineTag::Removed,
                        ChangeTag::Insert => LineTag::Added,
                    },
                    old_line: c.old_index().map(|i| i + 1),
                    new_line: c.new_index().map(|i| i + 1),
                    text: c.value().trim_end_matches(['\n', '\r']).to_owned(),
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = r#"
schema_version: 1
id: contoh
header:
  government: PEMERINTAH KOTA CONTOH
  unit: DINAS CONTOH
  number: 1/SOP/2026
  title: Layanan Contoh
  dates: {}
  approver: { title: Kepala, name: Contoh }
actors:
  - id: pemohon
    name: Pemohon
  - id: petugas
    name: Petugas
documents:
  - id: formulir
    name: Formulir
  - id: surat
    name: Surat pengantar
case_schema:
  type: object
  properties:
    jenis: { enum: [a, b] }
start: terima
steps:
  - id: terima
    row: 1
    kind: task
    name: Terima berkas
    actor: petugas
    documents: [formulir]
    budget: 5m
    collects: [jenis]
    next:
      - to: proses
        when: jenis == "a"
      - to: selesai
  - id: proses
    row: 2
    kind: task
    name: Proses
    actor: petugas
    budget: 10m
    next: selesai
  - id: selesai
    row: 3
    kind: end
    name: Selesai
    actor: pemohon
"#;

    fn doc(text: &str) -> SopDocument {
        sopflow_engine::sop::load(text)
            .unwrap_or_else(|e| panic!("{e:?}"))
            .document()
            .clone()
    }

    #[test]
    fn the_same_sop_changes_nothing() {
        assert!(summary(&doc(OLD), &doc(OLD)).is_empty());
        assert!(text_diff(OLD, OLD, 3).is_empty());
    }

    #[test]
    fn budgets_guards_documents_and_steps_are_told_apart() {
        let new = OLD
            .replace("budget: 10m", "budget: 15m")
            .replace(r#"when: jenis == "a""#, r#"when: jenis == "b""#)
            .replace("name: Surat pengantar", "name: Surat pengantar\n    required_when: jenis == \"b\"")
            .replace("    name: Proses\n", "    name: Proses berkas\n")
            .replace("  - id: surat\n    name: Surat pengantar\n    required_when: jenis == \"b\"\n", "  - id: surat\n    name: Surat pengantar\n    required_when: jenis == \"b\"\n  - id: foto\n    name: Pas foto\n")
            .replace("  - id: formulir\n    name: Formulir\n", "");
        let new = new.replace("documents: [formulir]", "documents: [foto]");
        let changes = summary(&doc(OLD), &doc(&new));
        let got: Vec<(Area, &str, Option<&str>, Option<&str>)> = changes
            .iter()
            .map(|c| {
                (
                    c.area,
                    c.item.as_str(),
                    c.before.as_deref(),
                    c.after.as_deref(),
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                // `terima` needs another document; `proses` was renamed (its budget apart).
                (
                    Area::Steps,
                    "terima",
                    Some("Terima berkas"),
                    Some("Terima berkas")
                ),
                (Area::Steps, "proses", Some("Proses"), Some("Proses berkas")),
                (Area::Budgets, "proses", Some("10m"), Some("15m")),
                (
                    Area::Documents,
                    "surat",
                    Some("Surat pengantar"),
                    Some("Surat pengantar (when jenis == \"b\")")
                ),
                (Area::Documents, "foto", None, Some("Pas foto")),
                (Area::Documents, "formulir", Some("Formulir"), None),
                (
                    Area::Guards,
                    "terima → proses",
                    Some("jenis == \"a\""),
                    Some("jenis == \"b\"")
                ),
            ]
        );
    }

    #[test]
    fn added_and_removed_steps_carry_their_budgets_and_guards() {
        let new = OLD.replace(
            "      - to: proses\n        when: jenis == \"a\"\n      - to: selesai\n",
            "      - to: selesai\n",
        );
        let new = new.replace(
            "  - id: proses\n    row: 2\n    kind: task\n    name: Proses\n    actor: petugas\n    budget: 10m\n    next: selesai\n",
            "",
        );
        let changes = summary(&doc(OLD), &doc(&new));
        assert!(changes.contains(&Change::new(
            Area::Steps,
            "proses",
            Some("Proses".into()),
            None
        )));
        assert!(changes.contains(&Change::new(
            Area::Budgets,
            "proses",
            Some("10m".into()),
            None
        )));
        assert!(changes.contains(&Change::new(
            Area::Guards,
            "terima → proses",
            Some("jenis == \"a\"".into()),
            None
        )));
        // `terima` lost a branch target: a change of the step itself.
        assert!(
            changes
                .iter()
                .any(|c| c.area == Area::Steps && c.item == "terima")
        );
    }

    #[test]
    fn the_text_diff_numbers_lines_in_both_texts() {
        let hunks = text_diff("a\nb\nc\nd\ne\nf\n", "a\nB\nc\nd\ne\nf\ng\n", 1);
        assert_eq!(hunks.len(), 2, "{hunks:?}");
        let first: Vec<_> = hunks[0]
            .iter()
            .map(|l| (l.tag, l.old_line, l.new_line, l.text.as_str()))
            .collect();
        assert_eq!(
            first,
            [
                (LineTag::Same, Some(1), Some(1), "a"),
                (LineTag::Removed, Some(2), None, "b"),
                (LineTag::Added, None, Some(2), "B"),
                (LineTag::Same, Some(3), Some(3), "c"),
            ]
        );
        let second: Vec<_> = hunks[1]
            .iter()
            .map(|l| (l.tag, l.old_line, l.new_line, l.text.as_str()))
            .collect();
        assert_eq!(
            second,
            [
                (LineTag::Same, Some(6), Some(6), "f"),
                (LineTag::Added, None, Some(7), "g"),
            ]
        );
    }
}
