//! Case data against the SOP's case schema: a whole check, or a command's changes alone.

use serde_json::{Map, Value};

use super::types::{CommandError, DataError};
use crate::sop::Sop;

/// Validates case data against the SOP's case schema, every error with its JSON Pointer.
pub fn check_data(sop: &Sop, data: &Map<String, Value>) -> Result<(), CommandError> {
    // Checked field by field when the schema allows it: no copy of the data into a `Value`.
    // A failure is reported by the whole check, so the errors are the same.
    if sop
        .field_validators()
        .is_some_and(|fields| fields.is_valid_whole(data))
    {
        return Ok(());
    }
    let value = Value::Object(data.clone());
    if sop.case_validator().is_valid(&value) {
        return Ok(());
    }
    let errors: Vec<DataError> = sop
        .case_validator()
        .iter_errors(&value)
        .map(|e| DataError {
            pointer: e.instance_path().as_str().to_owned(),
            message: e.to_string(),
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CommandError::InvalidData { errors })
    }
}

/// Whether a stored value is an erased personal value (its salted hash, see `chain`).
pub fn is_erased(value: &Value) -> bool {
    value.get(crate::case::chain::PERSONAL_MARK).is_some()
}

/// [`check_data`] for a history whose personal data was erased: every field still holding a
/// value is checked as before; an erased field is known to have been present (its salted
/// hash is there) but its value is gone, so what its own schema said of it cannot be checked
/// again (it was checked when the command was accepted).
pub fn check_data_erased(sop: &Sop, data: &Map<String, Value>) -> Result<(), CommandError> {
    let erased: Vec<&String> = data
        .iter()
        .filter(|(_, v)| is_erased(v))
        .map(|(k, _)| k)
        .collect();
    if erased.is_empty() {
        return check_data(sop, data);
    }
    let kept: Map<String, Value> = data
        .iter()
        .filter(|(_, v)| !is_erased(v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let value = Value::Object(kept);
    let errors: Vec<DataError> = sop
        .case_validator()
        .iter_errors(&value)
        .filter(|e| {
            let about_erased = match e.kind() {
                jsonschema::error::ValidationErrorKind::Required { property } => {
                    erased.iter().any(|f| property.as_str() == Some(f.as_str()))
                }
                _ => false,
            };
            !about_erased
        })
        .map(|e| DataError {
            pointer: e.instance_path().as_str().to_owned(),
            message: e.to_string(),
        })
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CommandError::InvalidData { errors })
    }
}

/// Read access to case data by field name: a case's data, or a command's changes over it
/// (read through, never copied: most commands are checked without the whole data).
pub trait CaseFields {
    fn field(&self, name: &str) -> Option<&Value>;
}

impl CaseFields for Map<String, Value> {
    fn field(&self, name: &str) -> Option<&Value> {
        self.get(name)
    }
}

/// The case data after a command's `changes`, seen through: a change wins over `base`.
#[derive(Clone, Copy)]
pub(super) struct Changed<'a> {
    pub changes: &'a Map<String, Value>,
    pub base: &'a Map<String, Value>,
}

impl CaseFields for Changed<'_> {
    fn field(&self, name: &str) -> Option<&Value> {
        self.changes.get(name).or_else(|| self.base.get(name))
    }
}

impl Changed<'_> {
    /// The whole data, copied: for the rare check that needs it as one object.
    fn to_map(self) -> Map<String, Value> {
        let mut merged = self.base.clone();
        merged.extend(self.changes.iter().map(|(k, v)| (k.clone(), v.clone())));
        merged
    }
}

/// Validates `after`, a case's data with a command's changes set over it. The data passed
/// this check when it was recorded (at the start and at every change), so when the case
/// schema constrains fields one by one only the changed fields are checked; a failure is
/// reported by the whole check, so the errors are exactly those of [`check_data`].
pub(super) fn check_changes(sop: &Sop, after: Changed<'_>) -> Result<(), CommandError> {
    if after.changes.is_empty() {
        return Ok(());
    }
    if let Some(fields) = sop.field_validators()
        && after.changes.iter().all(|(k, v)| fields.is_valid(k, v))
    {
        return Ok(());
    }
    check_data(sop, &after.to_map())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KTP_EL: &str = include_str!("../../../../sop-definitions/ktp-el.yaml");

    /// The field-by-field check of a whole object says what the schema's validator says,
    /// on data that is right, has a wrong field, lacks a required one, has an unknown one,
    /// or holds a null.
    #[test]
    fn the_field_by_field_check_agrees_with_the_whole_schema() {
        let sop = crate::sop::load(KTP_EL).expect("the SOP loads");
        let fields = sop
            .field_validators()
            .expect("KTP-el's schema is field by field");
        let cases = [
            json!({"nik": "3201000000000001", "alasan": "baru"}),
            json!({"nik": "3201000000000001", "alasan": "baru", "nama_lengkap": "A"}),
            json!({"nik": "32010000000000", "alasan": "baru"}),
            json!({"nik": "3201000000000001", "alasan": "lain"}),
            json!({"nik": "3201000000000001"}),
            json!({"alasan": "baru"}),
            json!({}),
            json!({"nik": "3201000000000001", "alasan": "baru", "unknown": 1}),
            json!({"nik": null, "alasan": "baru"}),
            json!({"nik": "3201000000000001", "alasan": "baru", "masalah_nik": "no"}),
            json!({"nik": "3201000000000001", "alasan": "hilang", "masalah_nik": false}),
        ];
        for case in cases {
            let Value::Object(map) = &case else {
                unreachable!()
            };
            assert_eq!(
                fields.is_valid_whole(map),
                sop.case_validator().is_valid(&case),
                "{case}"
            );
            assert_eq!(
                check_data(&sop, map).is_ok(),
                sop.case_validator().is_valid(&case),
                "{case}"
            );
        }
    }
}
