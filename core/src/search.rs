//! Finding a returning applicant: by the case fields an SOP marks `x-searchable` (a NIK, a KK
//! number). The store keeps, per case and field, the SHA-256 of the field and its value, not
//! the value: a search hashes what it looks for the same way. The values are often personal
//! data, so a search carries them in a request body, never in a URL.

use serde_json::{Map, Value};
use sopflow_engine::case::chain::sha256_hex;
use sopflow_store::SearchKey;

/// The key of `field` having `value`. A text is compared as typed, without the spaces around
/// it; any other value as its JSON text.
pub fn key(field: &str, value: &Value) -> SearchKey {
    let text = match value {
        Value::String(s) => s.trim().to_owned(),
        other => other.to_string(),
    };
    SearchKey {
        field: field.to_owned(),
        value_hash: sha256_hex(format!("sopflow-search-v1\0{field}\0{text}").as_bytes()),
    }
}

/// The keys of a case's `searchable` fields that have a value.
pub fn keys(searchable: &[String], data: &Map<String, Value>) -> Vec<SearchKey> {
    searchable
        .iter()
        .filter_map(|f| data.get(f).filter(|v| !v.is_null()).map(|v| key(f, v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_value_is_found_as_typed_and_only_in_its_field() {
        let nik = key("nik", &json!("1312990101900001"));
        assert_eq!(nik, key("nik", &json!(" 1312990101900001 ")));
        assert_ne!(nik, key("no_kk", &json!("1312990101900001")));
        assert_ne!(nik, key("nik", &json!("1312990101900002")));
        assert!(!nik.value_hash.contains("1312990101900001"));
        let data = json!({ "nik": "1", "no_kk": null, "alasan": "baru" });
        let fields = ["nik".to_owned(), "no_kk".to_owned(), "nama".to_owned()];
        let found = keys(&fields, data.as_object().expect("an object"));
        assert_eq!(found, [key("nik", &json!("1"))]);
    }
}
