//! What the API server checks and does outside the OpenAPI validator: structural defaulting,
//! `x-kubernetes-list-type` uniqueness and the object's name and namespace.

use crate::convert::{join, quoted};
use crate::{Violation, ViolationKind};
use serde_json::Value;

/// Structural defaulting, as the API server does it on every decode: a `null` field that is not
/// `nullable` and has no default is dropped, a property with a `default` that is absent (or
/// `null` without `nullable`) gets a copy of it, and defaulting continues into every property,
/// list item and map value present, the defaulted ones included.
pub(crate) fn apply_defaults(schema: &Value, value: &mut Value) {
    match value {
        Value::Object(object) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            object.retain(|name, child| {
                let field = properties.and_then(|p| p.get(name)).or(additional);
                !(child.is_null()
                    && field.is_some_and(|field| {
                        field.get("nullable").and_then(Value::as_bool) != Some(true)
                            && field.get("default").is_none()
                    }))
            });
            if let Some(properties) = properties {
                for (name, property) in properties {
                    let Some(default) = property.get("default") else {
                        continue;
                    };
                    let nullable = property.get("nullable").and_then(Value::as_bool) == Some(true);
                    let missing = match object.get(name) {
                        None => true,
                        Some(Value::Null) => !nullable,
                        Some(_) => false,
                    };
                    if missing {
                        object.insert(name.clone(), default.clone());
                    }
                }
            }
            for (name, child) in object.iter_mut() {
                match properties.and_then(|properties| properties.get(name)) {
                    Some(property) => apply_defaults(property, child),
                    None => {
                        if let Some(additional) = additional {
                            apply_defaults(additional, child);
                        }
                    }
                }
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for item in items {
                    apply_defaults(item_schema, item);
                }
            }
        }
        _ => {}
    }
}

/// Duplicates in `x-kubernetes-list-type: set` and `map` lists, anywhere in `value`.
pub(crate) fn list_violations(schema: &Value, value: &Value, path: &str, out: &mut Vec<Violation>) {
    match value {
        Value::Object(object) => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (name, child) in object {
                let child_schema = properties
                    .and_then(|properties| properties.get(name))
                    .or(additional);
                if let Some(child_schema) = child_schema {
                    list_violations(child_schema, child, &join(path, name), out);
                }
            }
        }
        Value::Array(items) => {
            match schema.get("x-kubernetes-list-type").and_then(Value::as_str) {
                Some("set") => set_duplicates(items, path, out),
                Some("map") => map_duplicates(schema, items, path, out),
                _ => {}
            }
            if let Some(item_schema) = schema.get("items") {
                for (index, item) in items.iter().enumerate() {
                    list_violations(item_schema, item, &format!("{path}[{index}]"), out);
                }
            }
        }
        _ => {}
    }
}

fn duplicate(path: String, shown: String) -> Violation {
    Violation {
        path,
        message: format!("Duplicate value: {shown}"),
        kind: ViolationKind::Schema,
        rule: None,
    }
}

/// A set's items must be unique; each repeat is reported at its index.
fn set_duplicates(items: &[Value], path: &str, out: &mut Vec<Violation>) {
    for (index, item) in items.iter().enumerate() {
        if items[..index].contains(item) {
            out.push(duplicate(format!("{path}[{index}]"), quoted(item)));
        }
    }
}

/// A map list's items must differ in their keys (`x-kubernetes-list-map-keys`); each repeat is
/// reported at its index, naming the key, as `{"name":"app"}`.
fn map_duplicates(schema: &Value, items: &[Value], path: &str, out: &mut Vec<Violation>) {
    let keys: Vec<&str> = schema
        .get("x-kubernetes-list-map-keys")
        .and_then(Value::as_array)
        .map(|keys| keys.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let key_of = |item: &Value| -> Value {
        let mut key = serde_json::Map::new();
        for name in &keys {
            // A missing key field takes its schema default (the API server defaults first).
            let field = item
                .get(*name)
                .or_else(|| schema.pointer(&format!("/items/properties/{name}/default")))
                .cloned()
                .unwrap_or(Value::Null);
            key.insert((*name).to_owned(), field);
        }
        Value::Object(key)
    };
    let item_keys: Vec<Value> = items.iter().map(key_of).collect();
    for (index, key) in item_keys.iter().enumerate() {
        if item_keys[..index].contains(key) {
            out.push(duplicate(format!("{path}[{index}]"), key.to_string()));
        }
    }
}

/// The fields of `ObjectMeta`: any other in `metadata` is an unknown field.
const OBJECT_META: [&str; 15] = [
    "name",
    "generateName",
    "namespace",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "labels",
    "annotations",
    "ownerReferences",
    "finalizers",
    "managedFields",
];

/// The longest DNS subdomain (RFC 1123), the form of a custom resource's name.
const DNS1123_SUBDOMAIN_MAX: usize = 253;
/// The longest DNS label (RFC 1123), the form of a namespace's name.
const DNS1123_LABEL_MAX: usize = 63;

/// `metadata.name` (a DNS subdomain, or `generateName` instead) and `metadata.namespace` (a DNS
/// label; forbidden on a cluster-scoped kind), as the API server validates a custom resource.
/// Sets `blocking` when the name is missing (a "Required value", which keeps the API server from
/// running the CEL rules).
pub(crate) fn metadata_violations(
    object: &Value,
    namespaced: bool,
    out: &mut Vec<Violation>,
    blocking: &mut bool,
) {
    let Some(metadata) = object.get("metadata").filter(|m| m.is_object()) else {
        return; // reported by the schema: metadata is required and an object
    };
    let invalid = |path: &str, message: String| Violation {
        path: path.to_owned(),
        message,
        kind: ViolationKind::Schema,
        rule: None,
    };
    if let Some(fields) = metadata.as_object() {
        for name in fields
            .keys()
            .filter(|name| !OBJECT_META.contains(&name.as_str()))
        {
            let path = format!("metadata.{name}");
            let message = format!("unknown field {path:?}");
            out.push(invalid(&path, message));
        }
    }
    match metadata.get("name") {
        Some(Value::String(name)) if !name.is_empty() => {
            for problem in dns_subdomain_problems(name) {
                out.push(invalid(
                    "metadata.name",
                    format!("Invalid value: {name:?}: {problem}"),
                ));
            }
        }
        Some(Value::String(_)) | None | Some(Value::Null) => {
            let generated = metadata
                .get("generateName")
                .and_then(Value::as_str)
                .is_some_and(|prefix| !prefix.is_empty());
            if !generated {
                *blocking = true;
                out.push(invalid(
                    "metadata.name",
                    "Required value: name or generateName is required".to_owned(),
                ));
            }
        }
        Some(other) => out.push(invalid(
            "metadata.name",
            format!("Invalid value: {}: must be a string", quoted(other)),
        )),
    }
    match metadata.get("namespace") {
        None | Some(Value::Null) => {}
        Some(Value::String(namespace)) if namespace.is_empty() => {}
        Some(Value::String(_)) if !namespaced => {
            out.push(invalid(
                "metadata.namespace",
                "Forbidden: not allowed on this type".to_owned(),
            ));
        }
        Some(Value::String(namespace)) => {
            for problem in dns_label_problems(namespace) {
                out.push(invalid(
                    "metadata.namespace",
                    format!("Invalid value: {namespace:?}: {problem}"),
                ));
            }
        }
        Some(other) => out.push(invalid(
            "metadata.namespace",
            format!("Invalid value: {}: must be a string", quoted(other)),
        )),
    }
}

/// Is `label` `[a-z0-9]([-a-z0-9]*[a-z0-9])?`?
fn is_dns_label(label: &str) -> bool {
    let bytes = label.as_bytes();
    let alphanumeric = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            alphanumeric(first)
                && alphanumeric(last)
                && bytes.iter().all(|b| alphanumeric(b) || *b == b'-')
        }
        _ => false,
    }
}

/// What apimachinery's `IsDNS1123Subdomain` says about `name`.
pub(crate) fn dns_subdomain_problems(name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if name.len() > DNS1123_SUBDOMAIN_MAX {
        problems.push(format!(
            "must be no more than {DNS1123_SUBDOMAIN_MAX} characters"
        ));
    }
    if !name.split('.').all(is_dns_label) {
        problems.push(
            "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' \
             or '.', and must start and end with an alphanumeric character (e.g. 'example.com', \
             regex used for validation is \
             '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
                .to_owned(),
        );
    }
    problems
}

/// What apimachinery's `IsDNS1123Label` says about `name`.
pub(crate) fn dns_label_problems(name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if name.len() > DNS1123_LABEL_MAX {
        problems.push(format!(
            "must be no more than {DNS1123_LABEL_MAX} characters"
        ));
    }
    if !is_dns_label(name) {
        problems.push(
            "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or \
             '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or \
             '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
                .to_owned(),
        );
    }
    problems
}
