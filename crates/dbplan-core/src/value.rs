use serde::{Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

/// An attribute value as dbplan reasons about it: known, known only after apply, or secret.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    String(String),
    List(Vec<Value>),
    Map(BTreeMap<String, Value>),
    /// Known only after apply (e.g. an ID the cloud assigns).
    Unknown,
    /// A secret. Never printed: both `Debug` and serialisation show `"(sensitive)"`.
    Sensitive(Secret),
}

impl Value {
    pub fn is_unknown(&self) -> bool {
        matches!(self, Value::Unknown)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(text) => Some(text),
            _ => None,
        }
    }

    /// Whether this value, or anything inside it, is known only after apply.
    pub fn contains_unknown(&self) -> bool {
        match self {
            Value::Unknown => true,
            Value::List(values) => values.iter().any(Value::contains_unknown),
            Value::Map(values) => values.values().any(Value::contains_unknown),
            _ => false,
        }
    }

    /// A value read from JSON (state, a provider's answer). Numbers that fit `i64` stay
    /// integers.
    pub fn from_json(json: &serde_json::Value) -> Value {
        match json {
            serde_json::Value::Null => Value::Null,
            serde_json::Value::Bool(value) => Value::Bool(*value),
            serde_json::Value::Number(number) => match number.as_i64() {
                Some(value) => Value::Int(value),
                None => Value::Float(number.as_f64().unwrap_or_default()),
            },
            serde_json::Value::String(text) => Value::String(text.clone()),
            serde_json::Value::Array(values) => {
                Value::List(values.iter().map(Value::from_json).collect())
            }
            serde_json::Value::Object(values) => Value::Map(
                values
                    .iter()
                    .map(|(key, value)| (key.clone(), Value::from_json(value)))
                    .collect(),
            ),
        }
    }

    /// The value as JSON, with secrets exposed: only for the places that must store or send
    /// them (the state store, a provider call). `Unknown` becomes `null`.
    pub fn to_json_exposed(&self) -> serde_json::Value {
        match self {
            Value::Null | Value::Unknown => serde_json::Value::Null,
            Value::Bool(value) => serde_json::Value::Bool(*value),
            Value::Int(value) => serde_json::Value::from(*value),
            Value::Float(value) => serde_json::Value::from(*value),
            Value::String(text) => serde_json::Value::String(text.clone()),
            Value::List(values) => {
                serde_json::Value::Array(values.iter().map(Value::to_json_exposed).collect())
            }
            Value::Map(values) => serde_json::Value::Object(
                values
                    .iter()
                    .map(|(key, value)| (key.clone(), value.to_json_exposed()))
                    .collect(),
            ),
            Value::Sensitive(secret) => secret.expose().to_json_exposed(),
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Null => serializer.serialize_none(),
            Value::Bool(value) => serializer.serialize_bool(*value),
            Value::Int(value) => serializer.serialize_i64(*value),
            Value::Float(value) => serializer.serialize_f64(*value),
            Value::String(value) => serializer.serialize_str(value),
            Value::List(values) => values.serialize(serializer),
            Value::Map(values) => values.serialize(serializer),
            Value::Unknown => serializer.serialize_str("(known after apply)"),
            Value::Sensitive(_) => serializer.serialize_str("(sensitive)"),
        }
    }
}

/// A secret value. Its `Debug` output is redacted so that it cannot reach a log by accident; the
/// value itself is only reachable through [`Secret::expose`].
#[derive(Clone, PartialEq)]
pub struct Secret(Box<Value>);

impl Secret {
    pub fn new(value: Value) -> Self {
        Secret(Box::new(value))
    }

    /// The secret value, for the one place that must send it (a provider call, a secret sink).
    pub fn expose(&self) -> &Value {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(sensitive)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sensitive_values_are_redacted_in_debug_and_serialisation() {
        let value = Value::Map(BTreeMap::from([(
            "password".to_owned(),
            Value::Sensitive(Secret::new(Value::String("hunter2".into()))),
        )]));
        assert!(!format!("{value:?}").contains("hunter2"));
        let json = serde_json::to_string(&value).unwrap();
        assert_eq!(json, r#"{"password":"(sensitive)"}"#);
    }
}
