//! YAML written out (the loader's YAML library is this crate's alone): `dbplan render`'s files.

use serde_json::Value as Json;

/// Why a value could not be written as YAML.
#[derive(Debug, thiserror::Error)]
#[error("cannot write the object as YAML: {0}")]
pub struct YamlError(String);

/// A JSON value as one YAML document, its object members in their order.
pub fn to_yaml(value: &Json) -> Result<String, YamlError> {
    serde_saphyr::to_string(value).map_err(|error| YamlError(error.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn yaml_reads_back_as_the_same_value_in_the_same_order() {
        let value = serde_json::json!({"kind": "Secret", "stringData": {"DB_PORT": "5432"},
            "spec": {"schedule": "0 0 3 * * *", "instances": 3, "on": true, "list": [{"a": "yes"}]}});
        let yaml = to_yaml(&value).unwrap();
        assert!(yaml.starts_with("kind: Secret\n"), "{yaml}");
        let back: Json = serde_saphyr::from_str(&yaml).unwrap();
        assert_eq!(back, value, "{yaml}");
    }
}
