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
