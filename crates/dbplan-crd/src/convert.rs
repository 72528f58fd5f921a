//! A CRD version's `openAPIV3Schema` as a JSON Schema (Draft 4) that accepts and rejects what
//! the API server does, and the API server's wording for what the JSON Schema validator finds.

use crate::{Violation, ViolationKind};
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::{Map, Value};

/// The JSON Schema for one version of a CRD: `schema` is its `openAPIV3Schema`, `api_version`
/// and `kind` are pinned at the root, which also requires `metadata`.
pub(crate) fn json_schema(schema: &Value, api_version: &str, kind: &str) -> Value {
    let mut converted = convert(schema);
    if let Value::Object(root) = &mut converted {
        let properties = root
            .entry("properties")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(properties) = properties {
            properties.insert("apiVersion".to_owned(), pinned(api_version));
            properties.insert("kind".to_owned(), pinned(kind));
            // ObjectMeta's own fields are checked apart (`structural::metadata_violations`).
            properties.insert("metadata".to_owned(), serde_json::json!({"type": "object"}));
        }
        let required = root
            .entry("required")
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(required) = required {
            for name in ["apiVersion", "kind", "metadata"] {
                if !required.iter().any(|present| present == name) {
                    required.push(Value::String(name.to_owned()));
                }
            }
        }
        root.insert("type".to_owned(), Value::String("object".to_owned()));
    }
    converted
}

/// A string property that accepts one value (`enum`: Draft 4 has no `const`).
fn pinned(value: &str) -> Value {
    serde_json::json!({"type": "string", "enum": [value]})
}

/// Converts one schema node and everything below it.
fn convert(node: &Value) -> Value {
    let Value::Object(node) = node else {
        return node.clone();
    };
    let mut out = Map::new();
    for (key, value) in node {
        let converted = match key.as_str() {
            "properties" => match value {
                Value::Object(properties) => Value::Object(
                    properties
                        .iter()
                        .map(|(name, schema)| (name.clone(), convert(schema)))
                        .collect(),
                ),
                other => other.clone(),
            },
            "items" | "additionalProperties" | "not" => convert(value),
            "allOf" | "anyOf" | "oneOf" => match value {
                Value::Array(branches) => Value::Array(branches.iter().map(convert).collect()),
                other => other.clone(),
            },
            // Annotations only: the JSON Schema validator has nothing to do with them, and a
            // default is applied before validation, never validated as a schema.
            "description" | "default" | "example" | "x-kubernetes-validations" => continue,
            _ => value.clone(),
        };
        out.insert(key.clone(), converted);
    }
    let flag = |name: &str| node.get(name).and_then(Value::as_bool) == Some(true);
    if flag("x-kubernetes-int-or-string") {
        int_or_string(&mut out);
    }
    if matches!(node.get("type").and_then(Value::as_str), Some("integer")) {
        integer_bounds(&mut out, node.get("format").and_then(Value::as_str));
    }
    let is_object = matches!(node.get("type").and_then(Value::as_str), Some("object"));
    if is_object
        && !node.contains_key("additionalProperties")
        && !flag("x-kubernetes-preserve-unknown-fields")
        && !flag("x-kubernetes-embedded-resource")
    {
        // Strict field validation: an unknown field is an error, not silently pruned. An object
        // without properties has none known (a nested `metadata: {type: object}` included: the
        // API server prunes all of it).
        out.insert("additionalProperties".to_owned(), Value::Bool(false));
        // With no `properties` at all the validator reports a bare "false schema" at the
        // object instead of naming the unknown fields.
        out.entry("properties")
            .or_insert_with(|| Value::Object(Map::new()));
    }
    if flag("nullable") {
        nullable(&mut out);
    }
    if let Some(format) = out.remove("format") {
        keep_format(&mut out, format);
    }
    Value::Object(out)
}

/// `x-kubernetes-int-or-string`: an integer or a string, whatever `anyOf` says besides.
fn int_or_string(out: &mut Map<String, Value>) {
    let plain = serde_json::json!([{"type": "integer"}, {"type": "string"}]);
    if out.get("anyOf").is_none_or(|any_of| *any_of == plain) {
        out.remove("anyOf");
        out.insert("type".to_owned(), serde_json::json!(["integer", "string"]));
    }
}

/// `format: int32` / `int64` are bounds the API server enforces on decoding.
fn integer_bounds(out: &mut Map<String, Value>, format: Option<&str>) {
    let (min, max) = match format {
        Some("int32") => (i64::from(i32::MIN), i64::from(i32::MAX)),
        Some("int64") => (i64::MIN, i64::MAX),
        _ => return,
    };
    out.entry("minimum").or_insert_with(|| Value::from(min));
    out.entry("maximum").or_insert_with(|| Value::from(max));
}

/// `nullable: true`: `null` is one more accepted value.
fn nullable(out: &mut Map<String, Value>) {
    if let Some(Value::String(single)) = out.get("type") {
        let both = serde_json::json!([single, "null"]);
        out.insert("type".to_owned(), both);
    } else if let Some(Value::Array(types)) = out.get_mut("type")
        && !types.iter().any(|t| t == "null")
    {
        types.push(Value::String("null".to_owned()));
    }
    if let Some(Value::Array(values)) = out.get_mut("enum")
        && !values.contains(&Value::Null)
    {
        values.push(Value::Null);
    }
}

/// Keeps the string formats the API server checks (`date-time`); the integer formats are bounds
/// (above) and `byte` is not checked by the validator.
fn keep_format(out: &mut Map<String, Value>, format: Value) {
    if format == "date-time" {
        out.insert("format".to_owned(), format);
    }
}

/// A JSON pointer's segments as a Kubernetes field path: `spec.managed.roles[0].name`.
pub(crate) fn field_path<'a>(segments: impl IntoIterator<Item = PathSegment<'a>>) -> String {
    let mut path = String::new();
    for segment in segments {
        match segment {
            PathSegment::Field(name) => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(name);
            }
            PathSegment::Index(index) => {
                path.push('[');
                path.push_str(&index.to_string());
                path.push(']');
            }
        }
    }
    path
}

/// One step of a field path.
pub(crate) enum PathSegment<'a> {
    Field(&'a str),
    Index(usize),
}

/// A value as the API server quotes it in "Invalid value: ...": strings quoted, numbers and
/// booleans bare, objects and arrays by their type name.
pub(crate) fn quoted(value: &Value) -> String {
    match value {
        Value::String(text) => format!("{text:?}"),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        Value::Null => "null".to_owned(),
        Value::Array(_) => "\"array\"".to_owned(),
        Value::Object(_) => "\"object\"".to_owned(),
    }
}

/// The JSON type name the API server's schema validator gives a value.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::String(_) => "string",
        Value::Number(number) if number.is_i64() || number.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::Bool(_) => "boolean",
        Value::Null => "null",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The violations the API server reports for one JSON Schema error; `blocking` is set when the
/// error is one that stops the API server from running the CEL rules (a wrong type, a missing
/// required field, an unsupported value, too long, too many).
pub(crate) fn violations(
    error: &jsonschema::ValidationError<'_>,
    blocking: &mut bool,
) -> Vec<Violation> {
    let segments: Vec<jsonschema::paths::LocationSegment<'_>> =
        error.instance_path().iter().collect();
    let path = field_path(segments.iter().map(|segment| match segment {
        jsonschema::paths::LocationSegment::Property(name) => PathSegment::Field(name.as_ref()),
        jsonschema::paths::LocationSegment::Index(index) => PathSegment::Index(*index),
    }));
    let value = error.instance().as_ref();
    let here = if path.is_empty() {
        "body".to_owned()
    } else {
        path.clone()
    };
    let schema = |path: String, message: String| Violation {
        path,
        message,
        kind: ViolationKind::Schema,
        rule: None,
    };
    let message = match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            return unexpected
                .iter()
                .map(|name| {
                    let full = join(&path, name);
                    schema(full.clone(), format!("unknown field {full:?}"))
                })
                .collect();
        }
        ValidationErrorKind::Required { property } => {
            *blocking = true;
            let name = property.as_str().unwrap_or_default();
            return vec![schema(join(&path, name), "Required value".to_owned())];
        }
        ValidationErrorKind::Type { kind } => {
            *blocking = true;
            let expected = match kind {
                TypeKind::Single(single) => single.to_string(),
                TypeKind::Multiple(many) => many
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
            };
            let given = type_name(value);
            format!(
                "Invalid value: {given:?}: {here} in body must be of type {expected}: {given:?}"
            )
        }
        ValidationErrorKind::Enum { options } => {
            *blocking = true;
            let supported = options
                .as_array()
                .map(|values| values.iter().map(quoted).collect::<Vec<_>>().join(", "))
                .unwrap_or_default();
            format!(
                "Unsupported value: {}: supported values: {supported}",
                quoted(value)
            )
        }
        ValidationErrorKind::MaxLength { limit } => {
            *blocking = true;
            format!("Too long: may not be more than {limit} bytes")
        }
        ValidationErrorKind::MaxItems { limit } => {
            *blocking = true;
            let count = value.as_array().map_or(0, Vec::len);
            format!("Too many: {count}: must have at most {limit} items")
        }
        other => format!("Invalid value: {}: {}", quoted(value), detail(other, &here)),
    };
    vec![schema(path, message)]
}

/// The kube-openapi wording of the errors that are "Invalid value".
fn detail(kind: &ValidationErrorKind, here: &str) -> String {
    match kind {
        ValidationErrorKind::Minimum { limit } => {
            format!("{here} in body should be greater than or equal to {limit}")
        }
        ValidationErrorKind::Maximum { limit } => {
            format!("{here} in body should be less than or equal to {limit}")
        }
        ValidationErrorKind::ExclusiveMinimum { limit } => {
            format!("{here} in body should be greater than {limit}")
        }
        ValidationErrorKind::ExclusiveMaximum { limit } => {
            format!("{here} in body should be less than {limit}")
        }
        ValidationErrorKind::Pattern { pattern } => {
            format!("{here} in body should match '{pattern}'")
        }
        ValidationErrorKind::MinLength { limit } => {
            format!("{here} in body should be at least {limit} chars long")
        }
        ValidationErrorKind::MinItems { limit } => {
            format!("{here} in body should have at least {limit} items")
        }
        ValidationErrorKind::MinProperties { limit } => {
            format!("{here} in body should have at least {limit} properties")
        }
        ValidationErrorKind::MaxProperties { limit } => {
            format!("{here} in body should have at most {limit} properties")
        }
        ValidationErrorKind::UniqueItems => format!("{here} in body shouldn't contain duplicates"),
        ValidationErrorKind::Format { format } => {
            format!("{here} in body must be of type {format}")
        }
        ValidationErrorKind::MultipleOf { .. } => {
            format!("{here} in body should be a multiple of the given value")
        }
        ValidationErrorKind::AnyOf { .. } => {
            format!("{here} in body must match at least one schema in anyOf")
        }
        ValidationErrorKind::OneOfNotValid { .. }
        | ValidationErrorKind::OneOfMultipleValid { .. } => {
            format!("{here} in body must validate one and only one schema (oneOf)")
        }
        ValidationErrorKind::Not { .. } => {
            format!("{here} in body must not validate the schema (not)")
        }
        other => format!("{here} in body: {}", kind_name(other)),
    }
}

/// A short name for a JSON Schema error the CRD subset never produces.
fn kind_name(kind: &ValidationErrorKind) -> String {
    format!("{kind:?}")
        .split([' ', '{', '('])
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// `base.name`, or `name` at the root.
pub(crate) fn join(base: &str, name: &str) -> String {
    if base.is_empty() {
        name.to_owned()
    } else {
        format!("{base}.{name}")
    }
}
