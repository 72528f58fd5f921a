//! What the policies and the semantic checks see of a resource whose document failed schema
//! validation.
//!
//! One wrong field must not hide every other mistake of its resource: the fields that failed
//! are *unknown*, and everything else is still checked. A typed spec has no "unknown" value, so
//! an unknown field is represented twice, by two stand-ins that differ wherever they can:
//!
//! - the **base view** leaves an optional unknown field out (it takes its default) and gives a
//!   required one the first value its schema allows (the first enum value, `false`, the
//!   minimum, an empty text);
//! - the **alternative view** gives every unknown field the last value its schema allows (the
//!   last enum value, `true`, the maximum).
//!
//! A policy finding or semantic error is kept only when both views produce it and it does not
//! point at, inside or next to an unknown field, so a finding never rests on a stand-in.
//! Written by hand: the stand-ins come from our own generated schemas, which no crate reads.

use crate::kinds::{KindSchema, Spec};
use crate::metadata::Metadata;
use crate::schema::{self, alternatives, properties, resolve, type_names};
use jsonschema::error::ValidationErrorKind;
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};

/// The views of a resource with unknown fields.
#[derive(Debug)]
pub(crate) struct Views {
    pub metadata: Metadata,
    pub base: Spec,
    pub alternative: Option<Spec>,
    /// JSON pointers of the fields that failed validation (or stand in for them).
    pub unknown: Vec<String>,
}

/// Which stand-in a schema gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pick {
    First,
    Last,
}

/// A validation error's pointer; for a missing required field, the pointer of that field.
fn error_pointers(validator: &jsonschema::Validator, value: &Json) -> Vec<(String, bool)> {
    validator
        .iter_errors(value)
        .map(|error| {
            let at = error.instance_path().as_str().to_owned();
            match error.kind() {
                ValidationErrorKind::Required { property } => (
                    format!(
                        "{at}/{}",
                        schema::escape(property.as_str().unwrap_or_default())
                    ),
                    true,
                ),
                _ => (at, false),
            }
        })
        .collect()
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// The parent pointer and the last token.
fn split(pointer: &str) -> Option<(&str, String)> {
    let (parent, last) = pointer.rsplit_once('/')?;
    Some((parent, unescape(last)))
}

/// Whether a finding at `pointer` may rest on the unknown field at `unknown`: it points at the
/// field, inside it, at a container holding it (other than the whole spec or metadata), or at a
/// sibling inside the same nested object or list item.
pub fn related(pointer: &str, unknown: &str) -> bool {
    let within = |outer: &str, inner: &str| {
        inner == outer
            || inner
                .strip_prefix(outer)
                .is_some_and(|rest| rest.starts_with('/'))
    };
    if within(unknown, pointer) {
        return true;
    }
    let depth = |text: &str| text.matches('/').count();
    if depth(pointer) >= 2 && within(pointer, unknown) {
        return true;
    }
    match (split(pointer), split(unknown)) {
        (Some((a, _)), Some((b, _))) => a == b && depth(a) >= 2,
        _ => false,
    }
}

/// A value the schema accepts (as far as types go), for a field whose value is unknown.
fn stand_in(root: &Json, schema: &Json, pick: Pick, depth: usize) -> Json {
    let schema = resolve(root, schema);
    if depth > 16 {
        return Json::Null;
    }
    if let Some(value) = schema.get("const") {
        return value.clone();
    }
    if let Some(values) = schema.get("enum").and_then(Json::as_array) {
        let mut values = values.iter().filter(|value| !value.is_null());
        let value = match pick {
            Pick::First => values.next(),
            Pick::Last => values.next_back(),
        };
        if let Some(value) = value {
            return value.clone();
        }
    }
    if schema.get("anyOf").is_some() || schema.get("oneOf").is_some() {
        let options: Vec<&Json> = alternatives(root, schema)
            .into_iter()
            .filter(|option| type_names(option) != ["null"])
            .collect();
        let option = match pick {
            Pick::First => options.first(),
            Pick::Last => options.last(),
        };
        return option.map_or(Json::Null, |option| stand_in(root, option, pick, depth + 1));
    }
    let number = |keyword: &str| schema.get(keyword).and_then(Json::as_f64);
    match type_names(schema)
        .into_iter()
        .find(|name| *name != "null")
        .unwrap_or("null")
    {
        "boolean" => Json::Bool(pick == Pick::Last),
        "integer" => {
            let value = match pick {
                Pick::First => number("minimum").unwrap_or(0.0),
                Pick::Last => number("maximum").unwrap_or(1_000_000.0),
            };
            Json::from(value as i64)
        }
        "number" => {
            let value = match pick {
                Pick::First => number("minimum").unwrap_or(0.0),
                Pick::Last => number("maximum").unwrap_or(1_000_000.0),
            };
            serde_json::Number::from_f64(value).map_or(Json::Null, Json::Number)
        }
        "string" => Json::String(match pick {
            Pick::First => String::new(),
            Pick::Last => "unknown".to_owned(),
        }),
        "array" => Json::Array(Vec::new()),
        "object" => {
            let mut object = serde_json::Map::new();
            let required = schema.get("required").and_then(Json::as_array);
            if let (Some(props), Some(required)) = (properties(schema), required) {
                for name in required.iter().filter_map(Json::as_str) {
                    if let Some(field) = props.get(name) {
                        object.insert(name.to_owned(), stand_in(root, field, pick, depth + 1));
                    }
                }
            }
            Json::Object(object)
        }
        _ => Json::Null,
    }
}

/// Sets the value at `pointer` to `fill`, or removes it (`None`); false if the parent is gone.
fn put(value: &mut Json, pointer: &str, fill: Option<Json>) -> bool {
    let Some((parent, key)) = split(pointer) else {
        return false;
    };
    match value.pointer_mut(parent) {
        Some(Json::Object(map)) => {
            match fill {
                Some(fill) => {
                    map.insert(key, fill);
                }
                None => {
                    map.remove(&key);
                }
            }
            true
        }
        Some(Json::Array(items)) => {
            let slot = key
                .parse::<usize>()
                .ok()
                .and_then(|index| items.get_mut(index));
            match (slot, fill) {
                (Some(slot), Some(fill)) => {
                    *slot = fill;
                    true
                }
                _ => false,
            }
        }
        _ => false,
    }
}

fn parent_is_array(value: &Json, pointer: &str) -> bool {
    split(pointer).is_some_and(|(parent, _)| matches!(value.pointer(parent), Some(Json::Array(_))))
}

/// The views of a document that failed validation: `instance` is its normalised JSON form and
/// `reported` the pointers the normalising walk already reported. `None` when no typed view
/// can be built (the document is not a mapping of the kind's shape at all).
pub(crate) fn views(
    kind_schema: &KindSchema,
    instance: &Json,
    reported: &BTreeSet<String>,
) -> Option<Views> {
    let root = &kind_schema.schema;
    let mut base = instance.clone();
    // Pointer → whether it holds a stand-in (true) or was left out (false).
    let mut unknown: BTreeMap<String, bool> = BTreeMap::new();
    let mut pending: Vec<(String, bool)> = reported
        .iter()
        .map(|pointer| (pointer.clone(), false))
        .chain(error_pointers(&kind_schema.validator, instance))
        .collect();
    // Each round settles at least one pointer; the bound only guards against a schema whose
    // stand-ins never validate (their own errors are ignored below).
    for _ in 0..32 {
        let mut changed = false;
        for (pointer, required) in pending {
            if matches!(pointer.as_str(), "" | "/apiVersion" | "/kind") {
                continue;
            }
            let under_stand_in = unknown.iter().any(|(done, stand_in)| {
                *stand_in && (pointer == *done || pointer.starts_with(&format!("{done}/")))
            });
            if under_stand_in || (unknown.contains_key(&pointer) && !required) {
                continue;
            }
            let top_level = pointer.matches('/').count() == 1;
            let fill = (required || top_level || parent_is_array(&base, &pointer)).then(|| {
                schema::schema_at(root, &pointer)
                    .map_or(Json::Null, |schema| stand_in(root, schema, Pick::First, 0))
            });
            let stands_in = fill.is_some();
            if put(&mut base, &pointer, fill) {
                unknown.insert(pointer, stands_in);
                changed = true;
            }
        }
        if !changed {
            break;
        }
        pending = error_pointers(&kind_schema.validator, &base);
        if pending.is_empty() {
            break;
        }
    }
    let metadata: Metadata =
        serde_json::from_value(base.get("metadata").cloned().unwrap_or_default()).ok()?;
    let spec = Spec::from_json(
        kind_schema.kind,
        base.get("spec").cloned().unwrap_or_default(),
    )
    .ok()?;

    // The alternative: the last stand-in everywhere, outer fields first.
    let mut alternative = base.clone();
    for pointer in unknown.keys() {
        if let Some(schema) = schema::schema_at(root, pointer) {
            put(
                &mut alternative,
                pointer,
                Some(stand_in(root, schema, Pick::Last, 0)),
            );
        }
    }
    let alternative = Spec::from_json(
        kind_schema.kind,
        alternative.get("spec").cloned().unwrap_or_default(),
    )
    .ok();
    Some(Views {
        metadata,
        base: spec,
        alternative,
        unknown: unknown.into_keys().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::related;

    #[test]
    fn relations_to_an_unknown_field() {
        // The field itself, inside it, a list holding it.
        assert!(related("/spec/engine", "/spec/engine"));
        assert!(related("/spec/rules/1/value", "/spec/rules/1"));
        assert!(related("/spec/rules", "/spec/rules/1/type"));
        // A sibling inside the same item or nested object.
        assert!(related("/spec/rules/1/value", "/spec/rules/1/type"));
        assert!(related(
            "/spec/serverless_v2_scaling/max_capacity",
            "/spec/serverless_v2_scaling/min_capacity"
        ));
        // Another top-level field, another item, the whole spec: unrelated.
        assert!(!related("/spec/preferred_backup_window", "/spec/engine"));
        assert!(!related("/spec/rules/0/value", "/spec/rules/1/type"));
        assert!(!related("/spec", "/spec/engine"));
        assert!(!related("/metadata/name", "/spec/engine"));
        assert!(!related("/spec/engine_version", "/spec/engine"));
    }
}
