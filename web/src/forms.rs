//! Forms generated from an SOP: a field per case-schema property a step collects (or, to open
//! a case, the schema requires), typed from its schema (an `enum` is a choice, a boolean
//! yes/no, a string's `pattern`, `maxLength` and `minLength` are checked by the browser
//! before submitting), the posted strings turned back into typed JSON, and the server's
//! errors (JSON Pointers into the case data) placed beside their fields.

use serde_json::{Map, Value};
use sopflow_engine::case::DataError;

use crate::i18n::Msg;

/// How a field is entered.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    Text {
        pattern: Option<String>,
        max_length: Option<u64>,
        min_length: Option<u64>,
        /// `numeric` for digit-only patterns (the on-screen keyboard of a tablet).
        inputmode: &'static str,
    },
    Number {
        integer: bool,
        min: Option<String>,
        max: Option<String>,
    },
    Date,
    /// One of the schema's `enum` values: (value as posted, label).
    Choice(Vec<(String, String)>),
    YesNo,
}

/// One field of a generated form.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    /// The form control's name (`f.<field>`) and id (`f-<field>`).
    pub control: String,
    pub id: String,
    pub label: String,
    /// The schema's description, when the label is its title.
    pub hint: Option<String>,
    pub input: Input,
    pub required: bool,
    pub personal: bool,
    /// The value shown: posted, or the case's.
    pub value: String,
    pub error: Option<String>,
}

impl Field {
    pub fn is_choice(&self, value: &str) -> bool {
        self.value == value
    }
}

/// The schema of property `name`.
fn property<'a>(schema: &'a Map<String, Value>, name: &str) -> Option<&'a Map<String, Value>> {
    schema.get("properties")?.get(name)?.as_object()
}

/// The schema's `required` list.
pub fn required_fields(schema: &Map<String, Value>) -> Vec<String> {
    schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| {
            r.iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// A label for an enum value written as an id (`perubahan_data` → `Perubahan data`); values
/// in capitals (`PRINT_READY_RECORD`) stay as the SOP writes them, as the systems show them.
fn value_label(value: &Value) -> String {
    let text = match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().any(|c| c.is_ascii_lowercase()) {
        let spaced = text.replace('_', " ");
        let mut chars = spaced.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => spaced,
        }
    } else {
        text
    }
}

/// The text of a JSON value in a form control.
fn posted_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The fields `names` of the case schema, in the order of `names` (the SOP's own lists:
/// `required`, a step's `collects`), each once, with the case's values.
pub fn fields(
    schema: &Map<String, Value>,
    names: &[String],
    required: &[String],
    values: &Map<String, Value>,
) -> Vec<Field> {
    let mut seen: Vec<&str> = Vec::new();
    names
        .iter()
        .filter(|name| {
            let first = !seen.contains(&name.as_str());
            seen.push(name);
            first
        })
        .filter_map(|name| {
            let prop = property(schema, name)?;
            Some(field(name, prop, required.contains(name), values.get(name)))
        })
        .collect()
}

fn field(name: &str, prop: &Map<String, Value>, required: bool, value: Option<&Value>) -> Field {
    let title = prop.get("title").and_then(Value::as_str);
    let description = prop.get("description").and_then(Value::as_str);
    let label = title
        .or(description)
        .map(|l| l.trim_end_matches('.').to_owned())
        .unwrap_or_else(|| name.to_owned());
    let hint = title.and(description).map(str::to_owned);
    let kind = prop.get("type").and_then(Value::as_str);
    let input = if let Some(values) = prop.get("enum").and_then(Value::as_array) {
        Input::Choice(
            values
                .iter()
                .map(|v| (posted_text(v), value_label(v)))
                .collect(),
        )
    } else {
        match kind {
            Some("boolean") => Input::YesNo,
            Some(k @ ("integer" | "number")) => Input::Number {
                integer: k == "integer",
                min: prop.get("minimum").map(posted_text),
                max: prop.get("maximum").map(posted_text),
            },
            _ if prop.get("format").and_then(Value::as_str) == Some("date") => Input::Date,
            _ => {
                let pattern = prop
                    .get("pattern")
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                let numeric = pattern.as_deref().is_some_and(|p| {
                    p.trim_start_matches('^').starts_with("[0-9]")
                        || p.trim_start_matches('^').starts_with("\\d")
                });
                Input::Text {
                    pattern,
                    max_length: prop.get("maxLength").and_then(Value::as_u64),
                    min_length: prop.get("minLength").and_then(Value::as_u64),
                    inputmode: if numeric { "numeric" } else { "text" },
                }
            }
        }
    };
    Field {
        control: format!("f.{name}"),
        id: format!("f-{name}"),
        name: name.to_owned(),
        label,
        hint,
        input,
        required,
        personal: prop.get("x-personal").and_then(Value::as_bool) == Some(true),
        value: value.map(posted_text).unwrap_or_default(),
        error: None,
    }
}

/// The posted values of `fields` as typed case data: empty controls set nothing; a value that
/// does not parse as its type is kept as text, for the case schema to refuse at its field.
pub fn typed_values(
    schema: &Map<String, Value>,
    fields: &mut [Field],
    posted: &[(String, String)],
) -> Map<String, Value> {
    let mut data = Map::new();
    for f in fields.iter_mut() {
        let Some(text) = crate::people::field(posted, &f.control) else {
            f.value.clear();
            continue;
        };
        f.value = text.to_owned();
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        let prop = property(schema, &f.name);
        let value = match &f.input {
            Input::YesNo => match text {
                "true" => Value::Bool(true),
                "false" => Value::Bool(false),
                other => Value::String(other.to_owned()),
            },
            Input::Choice(_) => prop
                .and_then(|p| p.get("enum"))
                .and_then(Value::as_array)
                .and_then(|values| values.iter().find(|v| posted_text(v) == text))
                .cloned()
                .unwrap_or_else(|| Value::String(text.to_owned())),
            Input::Number { integer, .. } => {
                let parsed = if *integer {
                    text.parse::<i64>().ok().map(Value::from)
                } else {
                    text.parse::<f64>()
                        .ok()
                        .and_then(serde_json::Number::from_f64)
                        .map(Value::Number)
                };
                parsed.unwrap_or_else(|| Value::String(text.to_owned()))
            }
            _ => Value::String(text.to_owned()),
        };
        data.insert(f.name.clone(), value);
    }
    data
}

/// The document receipts of a posted checklist: each of `docs` ticked (`d.<id>`) is handed in.
pub fn ticked_documents(
    docs: &[String],
    posted: &[(String, String)],
) -> Vec<sopflow_engine::case::DocumentReceipt> {
    docs.iter()
        .filter(|d| crate::people::field(posted, &format!("d.{d}")).is_some())
        .map(|d| sopflow_engine::case::DocumentReceipt {
            doc: d.clone(),
            number: None,
            received: true,
            sha256: None,
        })
        .collect()
}

/// Places the case schema's errors beside their fields (by JSON Pointer; a missing required
/// field is reported at the root and named in the message). Errors no field shown takes are
/// returned, to show above the form.
pub fn place_errors(fields: &mut [Field], errors: &[DataError], m: &Msg) -> Vec<String> {
    let mut unplaced = Vec::new();
    for e in errors {
        let name = e
            .pointer
            .trim_start_matches('/')
            .split('/')
            .next()
            .unwrap_or("")
            .replace("~1", "/")
            .replace("~0", "~");
        let name = if name.is_empty() {
            // `"nik" is a required property`: the name is the quoted word.
            e.message.split('"').nth(1).unwrap_or("").to_owned()
        } else {
            name
        };
        let text = message(&e.message, m);
        match fields.iter_mut().find(|f| f.name == name) {
            Some(f) if f.error.is_none() => f.error = Some(text.to_owned()),
            Some(_) => {}
            None => unplaced.push(format!("{name}: {text}")),
        }
    }
    unplaced
}

/// The clerk's words for a schema error (the validator's own text echoes the value).
fn message(text: &str, m: &Msg) -> &'static str {
    if text.contains("is a required property") {
        m.err_required
    } else if text.contains("does not match") {
        m.err_pattern
    } else if text.contains("is longer than") {
        m.err_too_long
    } else if text.contains("is shorter than") {
        m.err_too_short
    } else if text.contains("is not one of") {
        m.err_choice
    } else if text.contains("is not of type") || text.contains("is not of types") {
        m.err_type
    } else {
        m.err_invalid
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Map<String, Value> {
        json!({
            "type": "object",
            "required": ["nomor"],
            "properties": {
                "nomor": {"type": "string", "pattern": "^[0-9]{4}$", "description": "Nomor (4 digit).", "x-personal": true},
                "jenis": {"enum": ["baru", "perubahan_data", "HILANG"]},
                "setuju": {"type": "boolean", "title": "Setuju", "description": "Pemohon setuju."},
                "jumlah": {"type": "integer", "minimum": 1},
                "catatan": {"type": "string", "maxLength": 20}
            }
        })
        .as_object()
        .cloned()
        .unwrap_or_default()
    }

    #[test]
    fn fields_are_typed_from_the_schema_in_the_sops_order() {
        let s = schema();
        let names: Vec<String> = [
            "nomor",
            "jenis",
            "setuju",
            "jumlah",
            "nomor",
            "catatan",
            "tidak_ada",
        ]
        .map(String::from)
        .to_vec();
        let f = fields(&s, &names, &required_fields(&s), &Map::new());
        let order: Vec<&str> = f.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(order, ["nomor", "jenis", "setuju", "jumlah", "catatan"]);
        assert_eq!(f[0].label, "Nomor (4 digit)");
        assert!(f[0].required && f[0].personal);
        assert!(
            matches!(&f[0].input, Input::Text { pattern: Some(p), inputmode: "numeric", .. } if p == "^[0-9]{4}$")
        );
        assert_eq!(
            f[1].input,
            Input::Choice(vec![
                ("baru".into(), "Baru".into()),
                ("perubahan_data".into(), "Perubahan data".into()),
                ("HILANG".into(), "HILANG".into()),
            ])
        );
        assert_eq!(
            (f[2].input.clone(), f[2].label.as_str()),
            (Input::YesNo, "Setuju")
        );
        assert_eq!(f[2].hint.as_deref(), Some("Pemohon setuju."));
        assert!(matches!(f[3].input, Input::Number { integer: true, .. }));
        assert!(matches!(
            f[4].input,
            Input::Text {
                max_length: Some(20),
                ..
            }
        ));
    }

    #[test]
    fn posted_strings_become_typed_values_and_errors_find_their_fields() {
        let s = schema();
        let names: Vec<String> = ["nomor", "jenis", "setuju", "jumlah"]
            .map(String::from)
            .to_vec();
        let mut f = fields(&s, &names, &required_fields(&s), &Map::new());
        let posted = vec![
            ("f.nomor".to_owned(), "12a4".to_owned()),
            ("f.jenis".to_owned(), "perubahan_data".to_owned()),
            ("f.setuju".to_owned(), "false".to_owned()),
            ("f.jumlah".to_owned(), "x".to_owned()),
        ];
        let data = typed_values(&s, &mut f, &posted);
        assert_eq!(
            Value::Object(data),
            json!({"nomor": "12a4", "jenis": "perubahan_data", "setuju": false, "jumlah": "x"})
        );
        let m = crate::i18n::Lang::Id.msg();
        let errors = [
            DataError {
                pointer: "/nomor".into(),
                message: "\"12a4\" does not match \"^[0-9]{4}$\"".into(),
            },
            DataError {
                pointer: "".into(),
                message: "\"nomor\" is a required property".into(),
            },
            DataError {
                pointer: "/lain".into(),
                message: "x".into(),
            },
        ];
        let rest = place_errors(&mut f, &errors, m);
        assert_eq!(f[0].error.as_deref(), Some(m.err_pattern));
        assert_eq!(rest, vec![format!("lain: {}", m.err_invalid)]);
        // The validator's text (which echoes the value) is never what the page shows.
        assert!(
            f.iter()
                .all(|f| !f.error.as_deref().unwrap_or("").contains("12a4"))
        );
    }
}
