//! From YAML text to a runnable [`Sop`]: the five validation layers in order.
//!
//! 1. YAML syntax (serde_yaml, plus the position walk for duplicate keys and nesting);
//! 2. the SOP format's JSON Schema (generated from [`SopDocument`]) and the case schema;
//! 3. references; 4. the graph; 5. the guards (see `validate`).
//!
//! Each layer reports all its problems. A later layer runs only when the earlier ones found
//! nothing, since its checks assume their results (the graph cannot be built over unknown
//! step ids); the graph and guard layers are independent and both run.

use std::sync::LazyLock;

use jsonschema::error::ValidationErrorKind;

use super::compiled::Sop;
use super::diagnostic::{Diagnostic, Layer};
use super::model::{SCHEMA_VERSION, SopDocument, schema_json};
use super::source_map::{Pos, SourceMap, escape_segment};
use super::validate;

/// Larger than any real SOP by two orders of magnitude; refused before parsing.
pub const MAX_SOP_BYTES: usize = 1024 * 1024;

static FORMAT_VALIDATOR: LazyLock<Result<jsonschema::Validator, String>> = LazyLock::new(|| {
    let schema: serde_json::Value =
        serde_json::from_str(&schema_json()).map_err(|e| format!("SOP format schema: {e}"))?;
    jsonschema::validator_for(&schema).map_err(|e| format!("SOP format schema: {e}"))
});

/// Parses and validates one SOP file's text.
pub fn load(text: &str) -> Result<Sop, Vec<Diagnostic>> {
    let (map, json) = parse(text)?;
    check_schema(&map, &json)?;
    let document: SopDocument = serde_json::from_value(json).map_err(|e| {
        // The schema accepted it, so this is a gap between schema and types: still say where.
        vec![Diagnostic::new(
            Layer::Schema,
            Pos::default(),
            "",
            e.to_string(),
        )]
    })?;
    validate::validate(document, &map)
}

/// Layer 1: text to a JSON value plus the position of every node.
fn parse(text: &str) -> Result<(SourceMap, serde_json::Value), Vec<Diagnostic>> {
    if text.len() > MAX_SOP_BYTES {
        return Err(vec![Diagnostic::new(
            Layer::Syntax,
            Pos { line: 1, column: 1 },
            "",
            format!(
                "file is {} bytes, the limit for an SOP is {MAX_SOP_BYTES}",
                text.len()
            ),
        )]);
    }
    let (map, problems) = SourceMap::build(text);
    if !problems.is_empty() {
        return Err(problems
            .into_iter()
            .map(|p| Diagnostic::new(Layer::Syntax, p.pos, &p.pointer, p.message))
            .collect());
    }
    // serde_yaml is the parser of record (it also bounds alias expansion); the walk above has
    // already reported anything it would reject with a better position.
    let yaml: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| {
        let pos = e
            .location()
            .map(|l| Pos {
                line: l.line(),
                column: l.column(),
            })
            .unwrap_or(Pos { line: 1, column: 1 });
        vec![Diagnostic::new(
            Layer::Syntax,
            pos,
            "",
            format!("YAML: {e}"),
        )]
    })?;
    let json = serde_json::to_value(&yaml).map_err(|e| {
        vec![Diagnostic::new(
            Layer::Syntax,
            Pos { line: 1, column: 1 },
            "",
            format!("not representable as JSON: {e}"),
        )]
    })?;
    Ok((map, json))
}

/// Layer 2: the SOP format, then the case schema inside it.
fn check_schema(map: &SourceMap, json: &serde_json::Value) -> Result<(), Vec<Diagnostic>> {
    let mut out = Vec::new();
    // A future format gets one clear message instead of a cascade of unknown fields.
    if let Some(v) = json.get("schema_version")
        && v.as_u64() != Some(u64::from(SCHEMA_VERSION))
    {
        return Err(vec![Diagnostic::new(
            Layer::Schema,
            map.value_pos("/schema_version"),
            "/schema_version",
            format!("unsupported schema_version {v}: this sopflow reads version {SCHEMA_VERSION}"),
        )]);
    }
    let validator = match &*FORMAT_VALIDATOR {
        Ok(v) => v,
        Err(e) => {
            return Err(vec![Diagnostic::new(
                Layer::Schema,
                Pos::default(),
                "",
                e.clone(),
            )]);
        }
    };
    for error in validator.iter_errors(json) {
        let pointer = error.instance_path().as_str().to_owned();
        match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                for name in unexpected {
                    let child = format!("{pointer}/{}", escape_segment(name));
                    out.push(Diagnostic::new(
                        Layer::Schema,
                        map.key_pos(&child),
                        &child,
                        format!("unknown field `{name}`"),
                    ));
                }
            }
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or_default();
                out.push(Diagnostic::new(
                    Layer::Schema,
                    map.value_pos(&pointer),
                    &format!("{pointer}/{}", escape_segment(name)),
                    format!("missing required field `{name}`"),
                ));
            }
            ValidationErrorKind::Pattern { pattern } => {
                out.push(Diagnostic::new(
                    Layer::Schema,
                    map.value_pos(&pointer),
                    &pointer,
                    pattern_message(error.instance(), pattern),
                ));
            }
            ValidationErrorKind::AnyOf { .. } if pointer.ends_with("/next") => out.push(Diagnostic::new(
                Layer::Schema,
                map.value_pos(&pointer),
                &pointer,
                format!("{} is neither a step id nor a list of branches (`- to: step`, optional `when`, `label`)", error.instance()),
            )),
            _ => out.push(Diagnostic::new(Layer::Schema, map.value_pos(&pointer), &pointer, error.to_string())),
        }
    }
    if out.is_empty()
        && let Some(case_schema) = json.get("case_schema")
        && let Err(e) = jsonschema::validator_for(case_schema)
    {
        let pointer = format!("/case_schema{}", e.instance_path().as_str());
        out.push(Diagnostic::new(
            Layer::Schema,
            map.value_pos(&pointer),
            &pointer,
            format!("not a valid JSON Schema: {}", e.to_string().trim_end()),
        ));
    }
    sort_and_dedup(&mut out);
    if out.is_empty() { Ok(()) } else { Err(out) }
}

fn pattern_message(instance: &serde_json::Value, pattern: &str) -> String {
    let found = instance.to_string();
    if pattern == super::duration::DURATION_PATTERN {
        format!("invalid duration {found}: expected e.g. `30s`, `2m`, `1h30m`, `3d` or `PT2M`")
    } else if pattern.starts_with("^[a-z]") {
        format!(
            "invalid id {found}: use lowercase ASCII letters, digits and `_`, starting with a letter"
        )
    } else if pattern == "^[A-Z]{1,3}$" {
        format!("invalid queue prefix {found}: one to three capital letters")
    } else {
        format!("{found} does not match the pattern `{pattern}`")
    }
}

pub(crate) fn sort_and_dedup(out: &mut Vec<Diagnostic>) {
    out.sort_by(|a, b| (a.pos, &a.field, &a.message).cmp(&(b.pos, &b.field, &b.message)));
    out.dedup();
}
