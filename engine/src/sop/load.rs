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

use jsonschema::ValidationError;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::types::JsonType;
use serde_json::Value;

use super::compiled::Sop;
use super::diagnostic::{Diagnostic, Layer, sort_and_dedup};
use super::duration::{BUDGET_PATTERN, Budget};
use super::model::{SCHEMA_VERSION, SopDocument, schema_json};
use super::source_map::{Pos, SourceMap, clamp, escape_segment};
use super::validate;

/// Larger than any real SOP by two orders of magnitude; refused before parsing.
pub const MAX_SOP_BYTES: usize = 1024 * 1024;

/// The SOP format's JSON Schema, as a value (to look up the fields an object allows) and
/// compiled.
struct Format {
    schema: Value,
    validator: jsonschema::Validator,
}

static FORMAT: LazyLock<Result<Format, String>> = LazyLock::new(|| {
    let schema: Value =
        serde_json::from_str(&schema_json()).map_err(|e| format!("SOP format schema: {e}"))?;
    let validator =
        jsonschema::validator_for(&schema).map_err(|e| format!("SOP format schema: {e}"))?;
    Ok(Format { schema, validator })
});

/// Parses and validates one SOP file's text.
pub fn load(text: &str) -> Result<Sop, Vec<Diagnostic>> {
    // The hash of the text as given: what the store records as the version's content hash.
    let content_hash = crate::case::chain::sha256_hex(text.as_bytes());
    let text = normalize_newlines(text);
    let (map, json) = parse(&text)?;
    check_schema(&map, &json)?;
    let document: SopDocument = serde_json::from_value(json).map_err(|e| {
        // The schema accepted it, so this is a gap between schema and types (a bug here).
        vec![Diagnostic::new(
            Layer::Schema,
            Pos { line: 1, column: 1 },
            "",
            e.to_string(),
        )]
    })?;
    let mut sop = validate::validate(document, &map)?;
    sop.set_content_hash(content_hash);
    Ok(sop)
}

/// Layer 1: text to a JSON value plus the position of every node.
/// Line breaks as YAML counts them (LF, CRLF, and a lone CR) become LF, so that every position
/// the loader reports counts lines one way: the way an editor shows the file. Callers that
/// locate reported positions in the text split this normalized text on LF.
pub fn normalize_newlines(text: &str) -> std::borrow::Cow<'_, str> {
    if text.contains('\r') {
        std::borrow::Cow::Owned(text.replace("\r\n", "\n").replace('\r', "\n"))
    } else {
        std::borrow::Cow::Borrowed(text)
    }
}

fn parse(text: &str) -> Result<(SourceMap, Value), Vec<Diagnostic>> {
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
            .map(|l| {
                clamp(
                    text,
                    Pos {
                        line: l.line(),
                        column: l.column(),
                    },
                )
            })
            .unwrap_or(Pos { line: 1, column: 1 });
        vec![Diagnostic::new(
            Layer::Syntax,
            pos,
            "",
            format!("YAML: {e}"),
        )]
    })?;
    let mut json = serde_json::to_value(&yaml).map_err(|e| {
        vec![Diagnostic::new(
            Layer::Syntax,
            Pos { line: 1, column: 1 },
            "",
            format!("not representable as JSON: {e}"),
        )]
    })?;
    integral_floats(&mut json);
    Ok((map, json))
}

/// `3.0` becomes `3`. JSON Schema counts both as integers, so the schema accepts `row: 3.0`;
/// without this, deserializing it into the model would fail where nobody can say where.
fn integral_floats(value: &mut Value) {
    match value {
        Value::Number(n) => {
            if let Some(f) = n.as_f64()
                && n.is_f64()
                && f.fract() == 0.0
                && f.abs() < 9_007_199_254_740_992.0
            {
                *value = Value::from(f as i64);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats),
        Value::Object(fields) => fields.values_mut().for_each(integral_floats),
        _ => {}
    }
}

/// Layer 2: the SOP format, then the durations and the case schema inside it.
fn check_schema(map: &SourceMap, json: &Value) -> Result<(), Vec<Diagnostic>> {
    let schema_error = |pointer: &str, message: String| {
        Diagnostic::new(Layer::Schema, map.problem_pos(pointer), pointer, message)
    };
    if !json.is_object() {
        let found = match json {
            Value::Null => "nothing",
            Value::Array(_) => "a list",
            _ => "a single value",
        };
        return Err(vec![schema_error(
            "",
            format!(
                "an SOP is a mapping of fields (`schema_version: 1`, `id`, `header`, ...), but the file holds {found}"
            ),
        )]);
    }
    // A future format gets one clear message instead of a cascade of unknown fields. (A
    // version that is not a number at all is a plain type error, left to the schema.)
    if let Some(v) = json.get("schema_version")
        && v.is_number()
        && v.as_u64() != Some(u64::from(SCHEMA_VERSION))
    {
        return Err(vec![schema_error(
            "/schema_version",
            format!("unsupported schema_version {v}: this sopflow reads version {SCHEMA_VERSION}"),
        )]);
    }
    let format = match &*FORMAT {
        Ok(format) => format,
        Err(e) => return Err(vec![schema_error("", e.clone())]),
    };
    let mut found = Found::default();
    for error in format.validator.iter_errors(json) {
        found.add(&error, &format.schema, map);
    }
    let Found {
        mut out,
        unknown,
        mut missing,
    } = found;
    for (object, name, allowed) in &unknown {
        let present: Vec<&str> = json
            .pointer(object)
            .and_then(Value::as_object)
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let candidates = allowed
            .iter()
            .map(String::as_str)
            .filter(|a| !present.contains(a));
        let child = format!("{object}/{}", escape_segment(name));
        let message = match closest(name, candidates) {
            Some(meant) => {
                missing.retain(|(o, m)| !(o == object && m == meant));
                format!("unknown field `{name}`: did you mean `{meant}`?")
            }
            None => format!("unknown field `{name}`"),
        };
        out.push(Diagnostic::new(
            Layer::Schema,
            map.key_pos(&child),
            &child,
            message,
        ));
    }
    for (object, name) in &missing {
        out.push(Diagnostic::new(
            Layer::Schema,
            map.problem_pos(object),
            &format!("{object}/{}", escape_segment(name)),
            format!("missing required field `{name}`"),
        ));
    }
    if out.is_empty() {
        out.extend(check_durations(map, json));
    }
    if out.is_empty()
        && let Some(case_schema) = json.get("case_schema")
        && let Err(e) = jsonschema::validator_for(case_schema)
    {
        let pointer = format!("/case_schema{}", e.instance_path().as_str());
        let message = match allowed_values(e.kind()) {
            Some(values) => not_one_of(e.instance(), &values),
            None => e.to_string().trim_end().to_owned(),
        };
        out.push(schema_error(
            &pointer,
            format!("not a valid JSON Schema: {message}"),
        ));
    }
    sort_and_dedup(&mut out);
    if out.is_empty() { Ok(()) } else { Err(out) }
}

/// The schema layer's findings. A misspelt field is both unknown and (if required) missing:
/// both are collected first, so that it can be reported once, with the name it was meant to be.
#[derive(Default)]
struct Found {
    out: Vec<Diagnostic>,
    /// Object pointer, unknown field, the fields that object allows.
    unknown: Vec<(String, String, Vec<String>)>,
    /// Object pointer, missing field.
    missing: Vec<(String, String)>,
}

impl Found {
    fn add(&mut self, error: &ValidationError<'_>, schema: &Value, map: &SourceMap) {
        let pointer = error.instance_path().as_str().to_owned();
        let mut push = |message: String| {
            self.out.push(Diagnostic::new(
                Layer::Schema,
                map.problem_pos(&pointer),
                &pointer,
                message,
            ));
        };
        match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                let allowed = allowed_fields(schema, error.schema_path().as_str());
                for name in unexpected {
                    self.unknown
                        .push((pointer.clone(), name.clone(), allowed.clone()));
                }
            }
            ValidationErrorKind::Required { property } => {
                let name = property.as_str().unwrap_or_default().to_owned();
                self.missing.push((pointer, name));
            }
            ValidationErrorKind::Pattern { pattern } => {
                push(pattern_message(error.instance(), pattern));
            }
            ValidationErrorKind::Type {
                kind: TypeKind::Single(JsonType::Array),
            } if error.instance().is_string() => {
                push(format!(
                    "{} is not a list: write it as [{}]",
                    error.instance(),
                    error.instance().as_str().unwrap_or_default()
                ));
            }
            ValidationErrorKind::Type { kind }
                if expects_text(kind)
                    && (error.instance().is_number() || error.instance().is_boolean()) =>
            {
                push(format!(
                    "{} is not of type \"string\": put it in quotes (\"{}\") to keep it as text",
                    error.instance(),
                    error.instance()
                ));
            }
            kind => {
                // A choice of values, when it is this value's (not a field's inside it: an
                // optional block whose `layout` is wrong is about the `layout`).
                let about_this_value = match kind {
                    ValidationErrorKind::AnyOf { context }
                    | ValidationErrorKind::OneOfNotValid { context } => context
                        .iter()
                        .flatten()
                        .all(|e| e.instance_path() == error.instance_path()),
                    _ => true,
                };
                if about_this_value && let Some(values) = allowed_values(kind) {
                    return push(not_one_of(error.instance(), &values));
                }
                if let ValidationErrorKind::AnyOf { context }
                | ValidationErrorKind::OneOfNotValid { context } = kind
                {
                    // Only one alternative is for this type of value (the list of branches for
                    // a list, not the step id or the `null`): its own problems say what is wrong.
                    let relevant: Vec<_> = context
                        .iter()
                        .filter(|alternative| !for_another_type(alternative, error))
                        .collect();
                    if let [only] = relevant.as_slice() {
                        for inner in only.iter() {
                            self.add(inner, schema, map);
                        }
                        return;
                    }
                    if pointer.ends_with("/next") {
                        return push(format!(
                            "{} is neither a step id nor a list of branches (`- to: step`, optional `when`, `label`)",
                            error.instance()
                        ));
                    }
                }
                push(error.to_string());
            }
        }
    }
}

/// Whether an alternative of `parent` (a `oneOf`/`anyOf`) failed only because the value is
/// of another type than it is for (a list where it takes text), not over something inside.
fn for_another_type(alternative: &[ValidationError<'_>], parent: &ValidationError<'_>) -> bool {
    alternative.iter().all(|e| {
        matches!(e.kind(), ValidationErrorKind::Type { .. })
            && e.instance_path() == parent.instance_path()
    })
}

/// Whether a type error is about text (`title: 2021`, `made: 2021`, `note: yes`).
fn expects_text(kind: &TypeKind) -> bool {
    match kind {
        TypeKind::Single(t) => *t == JsonType::String,
        TypeKind::Multiple(set) => set.contains(JsonType::String),
    }
}

/// Budgets the pattern accepts but the parser refuses (`60000 hari`: longer than 100 years).
fn check_durations(map: &SourceMap, json: &Value) -> Vec<Diagnostic> {
    let steps = json
        .get("steps")
        .and_then(Value::as_array)
        .map_or(0, Vec::len);
    std::iter::once("/total_budget".to_owned())
        .chain((0..steps).map(|i| format!("/steps/{i}/budget")))
        .filter_map(|pointer| {
            let text = json.pointer(&pointer)?.as_str()?;
            let error = text.parse::<Budget>().err()?;
            Some(Diagnostic::new(
                Layer::Schema,
                map.problem_pos(&pointer),
                &pointer,
                error.to_string(),
            ))
        })
        .collect()
}

/// The fields the object whose `additionalProperties` failed at `schema_path` allows.
fn allowed_fields(schema: &Value, schema_path: &str) -> Vec<String> {
    schema_path
        .strip_suffix("/additionalProperties")
        .and_then(|object| schema.pointer(object))
        .and_then(|object| object.get("properties"))
        .and_then(Value::as_object)
        .map(|properties| properties.keys().cloned().collect())
        .unwrap_or_default()
}

/// The candidate `name` is most likely a misspelling of: at most two edits away, and fewer
/// edits than it has characters.
fn closest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (edit_distance(&name.to_lowercase(), c), c))
        .filter(|&(d, _)| d <= 2 && d < name.chars().count())
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Levenshtein distance, counting a swap of two neighbours as one edit.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut rows = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in rows.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in rows[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[i - 1][j] + 1)
                .min(rows[i][j - 1] + 1)
                .min(rows[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[i - 2][j - 2] + 1);
            }
            rows[i][j] = d;
        }
    }
    rows[a.len()][b.len()]
}

/// The values an `enum`, a `const`, or a `oneOf`/`anyOf` of them allows. Alternatives for
/// another type of value (a `null` for an optional field, a list) are not what was meant and
/// are left out; `None` when the failure is not about a choice of values.
fn allowed_values(kind: &ValidationErrorKind) -> Option<Vec<Value>> {
    match kind {
        ValidationErrorKind::Constant { expected_value } => Some(vec![(**expected_value).clone()]),
        ValidationErrorKind::Enum { options } => options.as_array().cloned(),
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            let mut values = Vec::new();
            for alternative in context {
                if alternative
                    .iter()
                    .all(|e| matches!(e.kind(), ValidationErrorKind::Type { .. }))
                {
                    continue;
                }
                match alternative.as_slice() {
                    [only] => values.extend(allowed_values(only.kind())?),
                    _ => return None,
                }
            }
            (!values.is_empty()).then_some(values)
        }
        _ => None,
    }
}

fn not_one_of(instance: &Value, values: &[Value]) -> String {
    let show = |v: &Value| match v {
        Value::String(s) => format!("`{s}`"),
        other => format!("`{other}`"),
    };
    let values: Vec<String> = values.iter().map(show).collect();
    format!("{} is not one of {}", show(instance), values.join(", "))
}

fn pattern_message(instance: &Value, pattern: &str) -> String {
    let found = instance.to_string();
    if pattern == BUDGET_PATTERN.as_str() {
        // The parser knows what is wrong with it (the unit, the order, a fraction...).
        match instance.as_str().map(str::parse::<Budget>) {
            Some(Err(e)) => e.to_string(),
            _ => format!(
                "invalid budget {found}: expected e.g. `2 menit`, `14 hari kerja` or `PT2M`"
            ),
        }
    } else if pattern == "^[a-z][a-z0-9_-]*$" {
        format!(
            "invalid id {found}: use lowercase ASCII letters, digits, `_` and `-`, starting with a letter"
        )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distance_counts_swaps_as_one() {
        assert_eq!(edit_distance("actr", "actor"), 1);
        assert_eq!(edit_distance("stpes", "steps"), 1);
        assert_eq!(edit_distance("notes", "note"), 1);
        assert_eq!(edit_distance("", "id"), 2);
    }

    #[test]
    fn suggestions_need_a_close_enough_name() {
        let fields = ["id", "name", "note", "next"];
        assert_eq!(closest("nmae", fields.into_iter()), Some("name"));
        assert_eq!(closest("Name", fields.into_iter()), Some("name"));
        assert_eq!(closest("x", fields.into_iter()), None);
        assert_eq!(closest("budget", fields.into_iter()), None);
    }

    #[test]
    fn integral_floats_become_integers() {
        let mut v = serde_json::json!({"row": 3.0, "x": [1.5, -2.0], "s": "3.0"});
        integral_floats(&mut v);
        assert_eq!(v, serde_json::json!({"row": 3, "x": [1.5, -2], "s": "3.0"}));
    }
}
