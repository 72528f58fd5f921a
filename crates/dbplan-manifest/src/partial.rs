//! What the policies and the semantic checks see of a resource whose document failed schema
//! validation.
//!
//! One wrong field must not hide every other mistake of its resource: the fields that failed
//! are *unknown*, and everything else is still checked. A typed spec has no "unknown" value, so
//! an unknown field is represented by several stand-ins, each a value its schema accepts:
//!
//! - the **base view** leaves an optional unknown field out (it takes its default) and gives a
//!   required one its first candidate;
//! - **alternative view** *i* gives every unknown field its candidate *i*: for an enumeration
//!   every value in turn, for a flag `false` and `true`, for a number its minimum, its maximum
//!   and a value between, for a text an empty and a non-empty one.
//!
//! A policy finding or semantic error is kept only when every view produces it and it does not
//! point at, inside or next to an unknown field, so a finding never rests on a stand-in: a
//! comparison with an unknown region, engine or flag meets a view where they agree.
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
    /// One spec per candidate index (at least one when anything is unknown).
    pub alternatives: Vec<Spec>,
    /// JSON pointers of the fields that failed validation (or stand in for them).
    pub unknown: Vec<String>,
}

/// The most candidates one field contributes (the longest enumeration, DigitalOcean's regions,
/// has fewer): a bound on the views, each of which runs every policy once.
const MAX_CANDIDATES: usize = 24;

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

/// The values a stand-in for this schema takes, in order (the first is the base view's).
fn candidates(root: &Json, schema: &Json, depth: usize) -> Vec<Json> {
    let schema = resolve(root, schema);
    if depth > 16 {
        return vec![Json::Null];
    }
    if let Some(value) = schema.get("const") {
        return vec![value.clone()];
    }
    if let Some(values) = schema.get("enum").and_then(Json::as_array) {
        let values: Vec<Json> = values
            .iter()
            .filter(|value| !value.is_null())
            .cloned()
            .collect();
        if !values.is_empty() {
            return values;
        }
    }
    if schema.get("anyOf").is_some() || schema.get("oneOf").is_some() {
        let mut out: Vec<Json> = alternatives(root, schema)
            .into_iter()
            .filter(|option| type_names(option) != ["null"])
            .flat_map(|option| candidates(root, option, depth + 1))
            .collect();
        out.truncate(MAX_CANDIDATES);
        if out.is_empty() {
            out.push(Json::Null);
        }
        return out;
    }
    match type_names(schema)
        .into_iter()
        .find(|name| *name != "null")
        .unwrap_or("null")
    {
        "boolean" => vec![Json::Bool(false), Json::Bool(true)],
        kind @ ("integer" | "number") => number_candidates(schema, kind == "integer"),
        "string" => vec![
            Json::String(String::new()),
            Json::String("unknown".to_owned()),
        ],
        "array" => vec![Json::Array(Vec::new())],
        "object" => object_candidates(root, schema, depth),
        _ => vec![Json::Null],
    }
}

/// A number's minimum (or 0), maximum (or a large value) and the value between.
fn number_candidates(schema: &Json, integer: bool) -> Vec<Json> {
    let number = |keyword: &str| schema.get(keyword).and_then(Json::as_f64);
    let low = number("minimum").unwrap_or(0.0);
    let high = number("maximum").unwrap_or(1_000_000.0).max(low);
    let middle = low + (high - low) / 2.0;
    [low, high, middle.floor()]
        .into_iter()
        .map(|value| {
            if integer {
                Json::from(value as i64)
            } else {
                serde_json::Number::from_f64(value).map_or(Json::Null, Json::Number)
            }
        })
        .collect()
}

/// One object per candidate index of its required fields.
fn object_candidates(root: &Json, schema: &Json, depth: usize) -> Vec<Json> {
    let required: Vec<(&str, Vec<Json>)> = match (
        properties(schema),
        schema.get("required").and_then(Json::as_array),
    ) {
        (Some(props), Some(required)) => required
            .iter()
            .filter_map(Json::as_str)
            .filter_map(|name| {
                props
                    .get(name)
                    .map(|field| (name, candidates(root, field, depth + 1)))
            })
            .collect(),
        _ => Vec::new(),
    };
    let count = required
        .iter()
        .map(|(_, values)| values.len())
        .max()
        .unwrap_or(1)
        .clamp(1, MAX_CANDIDATES);
    (0..count)
        .map(|index| {
            Json::Object(
                required
                    .iter()
                    .map(|(name, values)| ((*name).to_owned(), pick(values, index)))
                    .collect(),
            )
        })
        .collect()
}

/// Candidate `index` of a list, wrapping around.
fn pick(values: &[Json], index: usize) -> Json {
    match values.len() {
        0 => Json::Null,
        len => values[index % len].clone(),
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
    let (base, unknown) = settle_unknowns(kind_schema, instance, reported);
    let metadata: Metadata =
        serde_json::from_value(base.get("metadata").cloned().unwrap_or_default()).ok()?;
    let spec = Spec::from_json(
        kind_schema.kind,
        base.get("spec").cloned().unwrap_or_default(),
    )
    .ok()?;
    let alternatives = alternative_specs(kind_schema, &base, unknown.keys());
    Some(Views {
        metadata,
        base: spec,
        alternatives,
        unknown: unknown.into_keys().collect(),
    })
}

/// The base view's JSON: every field that fails validation left out, or given its first
/// candidate where it must be there (a required field, a list item, `spec` itself), until the
/// rest validates. Returns it with the unknown pointers (true: holds a stand-in).
fn settle_unknowns(
    kind_schema: &KindSchema,
    instance: &Json,
    reported: &BTreeSet<String>,
) -> (Json, BTreeMap<String, bool>) {
    let root = &kind_schema.schema;
    let mut base = instance.clone();
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
                    .map_or(Json::Null, |schema| pick(&candidates(root, schema, 0), 0))
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
    (base, unknown)
}

/// Alternative view `index` for every candidate index: candidate `index` in every unknown
/// field, outer fields first.
fn alternative_specs<'a>(
    kind_schema: &KindSchema,
    base: &Json,
    unknown: impl Iterator<Item = &'a String>,
) -> Vec<Spec> {
    let root = &kind_schema.schema;
    let fields: Vec<(&String, Vec<Json>)> = unknown
        .filter_map(|pointer| {
            schema::schema_at(root, pointer).map(|schema| (pointer, candidates(root, schema, 0)))
        })
        .collect();
    let count = fields
        .iter()
        .map(|(_, values)| values.len())
        .max()
        .unwrap_or(1)
        .clamp(1, MAX_CANDIDATES);
    (0..count)
        .filter_map(|index| {
            let mut view = base.clone();
            for (pointer, values) in &fields {
                put(&mut view, pointer, Some(pick(values, index)));
            }
            Spec::from_json(
                kind_schema.kind,
                view.get("spec").cloned().unwrap_or_default(),
            )
            .ok()
        })
        .collect()
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
