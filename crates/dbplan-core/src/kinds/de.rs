//! How a part's attributes are read from the JSON a plan and state hold: one rule for every
//! kind. A text is a string or a number written as text (a reference resolved from a numeric
//! output); an empty text is no text; a whole number may be written as text (a `{value: "5"}`
//! literal becomes text); a list of texts may hold `{value: x}` literals.

use serde::de::Error;
use serde::{Deserialize, Deserializer};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::fmt;

/// Decodes a part's attributes (a JSON object's members) into its typed struct. The error
/// names the attribute that does not fit (`serverless_v2_scaling.min_capacity`, or `.` for the
/// object itself, e.g. a missing attribute).
pub fn decode<T: serde::de::DeserializeOwned>(
    attributes: impl IntoIterator<Item = (String, Json)>,
) -> Result<T, DecodeError> {
    let object = Json::Object(attributes.into_iter().collect());
    serde_path_to_error::deserialize(object).map_err(|error| DecodeError {
        attribute: error.path().to_string(),
        message: error.into_inner().to_string(),
    })
}

/// Decodes recorded or planned attributes held as a map.
pub fn decode_map<T: serde::de::DeserializeOwned>(
    attributes: &BTreeMap<String, Json>,
) -> Result<T, DecodeError> {
    decode(
        attributes
            .iter()
            .map(|(name, value)| (name.clone(), value.clone())),
    )
}

/// Attributes that do not fit a part's typed struct.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError {
    /// Where: the attribute's path (`port`, `parameters[2].name`), `.` for the whole object.
    pub attribute: String,
    /// What serde says is wrong (`missing field \`engine\``, `invalid type: …`).
    pub message: String,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.attribute == "." {
            f.write_str(&self.message)
        } else {
            write!(f, "`{}`: {}", self.attribute, self.message)
        }
    }
}

impl std::error::Error for DecodeError {}

/// A text read from a string or a number.
fn scalar_text<E: Error>(value: Json) -> Result<Option<String>, E> {
    match value {
        Json::Null => Ok(None),
        Json::String(text) if text.is_empty() => Ok(None),
        Json::String(text) => Ok(Some(text)),
        Json::Number(number) => Ok(Some(number.to_string())),
        other => Err(E::custom(format!("expected a text, found {other}"))),
    }
}

/// An optional text (`""` is none).
pub fn opt_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    scalar_text(Json::deserialize(deserializer)?)
}

/// A text an object cannot be made without (`""` is missing too).
pub fn text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    scalar_text(Json::deserialize(deserializer)?)?
        .ok_or_else(|| D::Error::custom("expected a text, found nothing"))
}

/// A list of texts, whose items may be `{value: x}` literals; `null` is empty.
pub fn texts<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    match Json::deserialize(deserializer)? {
        Json::Null => Ok(Vec::new()),
        Json::Array(items) => items
            .into_iter()
            .map(|item| match item {
                Json::String(text) => Ok(text),
                Json::Object(mut map) if map.len() == 1 => match map.remove("value") {
                    Some(Json::String(text)) => Ok(text),
                    _ => Err(D::Error::custom("expected a text or `{value: text}`")),
                },
                other => Err(D::Error::custom(format!(
                    "expected a text or `{{value: text}}`, found {other}"
                ))),
            })
            .collect(),
        other => Err(D::Error::custom(format!(
            "expected a list of texts, found {other}"
        ))),
    }
}

/// An optional whole number, which may be written as text.
pub fn opt_int<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<i64>, D::Error> {
    match Json::deserialize(deserializer)? {
        Json::Null => Ok(None),
        Json::Number(number) => number
            .as_i64()
            .map(Some)
            .ok_or_else(|| D::Error::custom(format!("expected a whole number, found {number}"))),
        Json::String(text) => text
            .parse()
            .map(Some)
            .map_err(|_| D::Error::custom(format!("expected a whole number, found {text:?}"))),
        other => Err(D::Error::custom(format!(
            "expected a whole number, found {other}"
        ))),
    }
}

/// The attribute names a typed part reads (its fields, as serde names them): what the tests
/// hold the planner's attributes and the replacement tables to.
pub fn attribute_names<'de, T: Deserialize<'de>>() -> &'static [&'static str] {
    let mut names: &'static [&'static str] = &[];
    // The derive asks for the fields by name; the deserializer answers nothing else.
    let _ = T::deserialize(FieldNames(&mut names));
    names
}

/// A deserializer that only records the fields a struct asks for.
struct FieldNames<'a>(&'a mut &'static [&'static str]);

#[derive(Debug)]
struct Recorded;

impl fmt::Display for Recorded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("field names recorded")
    }
}

impl std::error::Error for Recorded {}

impl Error for Recorded {
    fn custom<M: fmt::Display>(_: M) -> Self {
        Recorded
    }
}

impl<'de> Deserializer<'de> for FieldNames<'_> {
    type Error = Recorded;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Recorded> {
        Err(Recorded)
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Recorded> {
        *self.0 = fields;
        Err(Recorded)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

/// A text that is a secret (a password): carried to the one call that sends it, never shown
/// (`Debug` prints `(sensitive)`).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct SecretText(String);

impl SecretText {
    /// The secret, for the call that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(sensitive)")
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Sample {
        #[serde(deserialize_with = "text")]
        engine: String,
        #[serde(default, deserialize_with = "opt_text")]
        version: Option<String>,
        #[serde(default, deserialize_with = "opt_int")]
        port: Option<i64>,
        #[serde(default, deserialize_with = "texts")]
        subnets: Vec<String>,
    }

    fn sample(json: Json) -> Result<Sample, DecodeError> {
        match json {
            Json::Object(map) => decode(map),
            _ => unreachable!(),
        }
    }

    #[test]
    fn texts_numbers_and_lists_read_one_way() {
        let read = sample(json!({
            "engine": "aurora-postgresql",
            "version": 16,
            "port": "5432",
            "subnets": ["subnet-a", {"value": "subnet-b"}],
        }))
        .unwrap();
        assert_eq!(
            read,
            Sample {
                engine: "aurora-postgresql".to_owned(),
                version: Some("16".to_owned()),
                port: Some(5432),
                subnets: vec!["subnet-a".to_owned(), "subnet-b".to_owned()],
            }
        );
        let empty = sample(json!({"engine": "x", "version": "", "port": null})).unwrap();
        assert_eq!((empty.version, empty.port), (None, None));
    }

    #[test]
    fn what_does_not_fit_names_its_attribute() {
        let missing = sample(json!({"version": "16"})).unwrap_err();
        assert_eq!(missing.attribute, ".");
        assert!(
            missing.to_string().contains("missing field `engine`"),
            "{missing}"
        );
        let empty = sample(json!({"engine": ""})).unwrap_err();
        assert_eq!(empty.attribute, "engine");
        let wrong = sample(json!({"engine": "x", "subnets": [true]})).unwrap_err();
        assert_eq!(wrong.attribute, "subnets");
        assert!(
            wrong.to_string().starts_with("`subnets`: expected a text"),
            "{wrong}"
        );
    }

    #[test]
    fn a_parts_attribute_names_are_its_fields() {
        assert_eq!(
            attribute_names::<Sample>(),
            ["engine", "version", "port", "subnets"]
        );
    }

    #[test]
    fn a_secret_text_never_shows() {
        let secret: SecretText = serde_json::from_value(json!("hunter2")).unwrap();
        assert_eq!(format!("{secret:?}"), "(sensitive)");
        assert_eq!(secret.expose(), "hunter2");
    }
}
