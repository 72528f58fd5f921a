use serde::{Deserialize, Serialize};

/// A value handed to or returned by a provider, and recorded in state: JSON, marked when it is
/// a secret. Sensitive values are carried and stored (a provider needs them) but never shown:
/// `Debug` and [`Field::display`] print `(sensitive)`. In state it is written as
/// `{"value": …}`, with `"sensitive": true` for a secret.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Field {
    pub value: serde_json::Value,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sensitive: bool,
}

impl Field {
    pub fn plain(value: impl Into<serde_json::Value>) -> Self {
        Field {
            value: value.into(),
            sensitive: false,
        }
    }

    pub fn sensitive(value: impl Into<serde_json::Value>) -> Self {
        Field {
            value: value.into(),
            sensitive: true,
        }
    }

    /// The value as a string (`None` for a non-string).
    pub fn as_str(&self) -> Option<&str> {
        self.value.as_str()
    }

    /// The value for display: `(sensitive)` for secrets.
    pub fn display(&self) -> String {
        if self.sensitive {
            "(sensitive)".to_owned()
        } else {
            match &self.value {
                serde_json::Value::String(text) => text.clone(),
                other => other.to_string(),
            }
        }
    }
}

impl std::fmt::Debug for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.sensitive {
            f.write_str("(sensitive)")
        } else {
            write!(f, "{:?}", self.value)
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_secret_is_stored_marked_and_never_shown() {
        let secret = Field::sensitive("hunter2");
        assert_eq!(format!("{secret:?}"), "(sensitive)");
        assert_eq!(secret.display(), "(sensitive)");
        let json = serde_json::to_string(&secret).unwrap();
        assert_eq!(json, r#"{"value":"hunter2","sensitive":true}"#);
        assert_eq!(serde_json::from_str::<Field>(&json).unwrap(), secret);
        let plain = Field::plain(5);
        assert_eq!(serde_json::to_string(&plain).unwrap(), r#"{"value":5}"#);
        assert_eq!(format!("{plain:?}"), "Number(5)");
        assert_eq!(plain.display(), "5");
    }
}
