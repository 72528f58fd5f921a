//! Fixtures and helpers the test binaries share.

#![allow(dead_code, reason = "each test binary uses a part of the helpers")]

use dbplan_crd::{Crd, Crds, Violation, ViolationKind};
use serde_json::Value;

/// A fixture of `tests/fixtures/`, read as JSON.
pub fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap();
    serde_saphyr::from_str(&text).unwrap()
}

/// The vendored CRD of `kind` (its only version, v1).
pub fn crd(kind: &str) -> &'static Crd {
    let group = if kind == "ObjectStore" {
        "barmancloud.cnpg.io"
    } else {
        "postgresql.cnpg.io"
    };
    Crds::embedded().find(&format!("{group}/v1"), kind).unwrap()
}

/// The valid object of `kind` among the fixtures.
pub fn valid(kind: &str) -> Value {
    if kind == "Cluster" {
        return fixture("cluster.yaml");
    }
    let all = fixture("others.yaml");
    all.as_array()
        .unwrap()
        .iter()
        .find(|object| object["kind"] == kind)
        .unwrap()
        .clone()
}

/// Validates `object` against its kind's CRD.
pub fn validate(object: &Value, old: Option<&Value>) -> Vec<Violation> {
    crd(object["kind"].as_str().unwrap()).validate(object, old)
}

/// Sets the value at a JSON pointer, creating objects on the way.
pub fn set(object: &mut Value, pointer: &str, value: Value) {
    let (parent, last) = pointer.rsplit_once('/').unwrap();
    let mut current = object;
    for part in parent.split('/').skip(1) {
        current = match current {
            Value::Array(items) => &mut items[part.parse::<usize>().unwrap()],
            Value::Object(map) => map
                .entry(part)
                .or_insert_with(|| Value::Object(Default::default())),
            _ => panic!("{pointer} goes through a scalar"),
        };
    }
    match current {
        Value::Array(items) => items[last.parse::<usize>().unwrap()] = value,
        Value::Object(map) => {
            map.insert(last.to_owned(), value);
        }
        _ => panic!("{pointer} goes through a scalar"),
    }
}

/// Removes the value at a JSON pointer; it must be there.
pub fn remove(object: &mut Value, pointer: &str) -> Value {
    let (parent, last) = pointer.rsplit_once('/').unwrap();
    object
        .pointer_mut(parent)
        .and_then(Value::as_object_mut)
        .and_then(|map| map.shift_remove(last))
        .unwrap_or_else(|| panic!("nothing at {pointer}"))
}

/// The violations of one kind.
pub fn of_kind(violations: &[Violation], kind: ViolationKind) -> Vec<&Violation> {
    violations.iter().filter(|v| v.kind == kind).collect()
}
