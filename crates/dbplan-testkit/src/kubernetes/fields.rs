//! Field sets, as server-side apply keeps them in `metadata.managedFields`: the paths of an
//! object's fields, walked with the type the CRD's schema gives each node (structured-merge-diff's
//! rules): a map or an object is granular (each field its own member) unless it is
//! `x-kubernetes-map-type: atomic`; a list is atomic (one leaf) unless it is
//! `x-kubernetes-list-type: set` (items `v:<value>`) or `map` (items `k:{<keys>}`, keyed by
//! `x-kubernetes-list-map-keys`). A node without a schema is typed from its value (objects
//! granular, lists atomic), as the API server's deduced type does.
//!
//! `fieldsV1` encodes a set as nested objects: `f:<field>`, `k:{"name":"x"}`, `v:"x"`, `i:0`,
//! and `.` when a node is itself a member and also has members below it.

use serde_json::{Map, Value as Json};
use std::collections::BTreeSet;

/// One step of a path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Element {
    Field(String),
    /// The key fields of an item of an associative list, as canonical JSON (sorted fields).
    Key(String),
    /// An item of a set, as JSON.
    Value(String),
    Index(usize),
}

pub(crate) type Path = Vec<Element>;
pub(crate) type FieldSet = BTreeSet<Path>;

/// How a node is merged and tracked.
pub(crate) enum Shape<'a> {
    Leaf,
    Struct,
    Set,
    Assoc(Vec<&'a str>),
}

/// The schema of `key` below an object node: its property, else `additionalProperties`.
pub(crate) fn child<'a>(schema: Option<&'a Json>, key: &str) -> Option<&'a Json> {
    let schema = schema?;
    if let Some(property) = schema.get("properties").and_then(|p| p.get(key)) {
        return Some(property);
    }
    schema
        .get("additionalProperties")
        .filter(|additional| additional.is_object())
}

/// The schema of a list's items.
pub(crate) fn items(schema: Option<&Json>) -> Option<&Json> {
    schema?.get("items")
}

pub(crate) fn shape<'a>(schema: Option<&'a Json>, value: &Json) -> Shape<'a> {
    let extension = |name: &str| {
        schema
            .and_then(|schema| schema.get(name))
            .and_then(Json::as_str)
    };
    match value {
        Json::Object(_) if extension("x-kubernetes-map-type") == Some("atomic") => Shape::Leaf,
        Json::Object(_) => Shape::Struct,
        Json::Array(_) => match extension("x-kubernetes-list-type") {
            Some("set") => Shape::Set,
            Some("map") => Shape::Assoc(
                schema
                    .and_then(|schema| schema.get("x-kubernetes-list-map-keys"))
                    .and_then(Json::as_array)
                    .map(|keys| keys.iter().filter_map(Json::as_str).collect())
                    .unwrap_or_default(),
            ),
            _ => Shape::Leaf,
        },
        _ => Shape::Leaf,
    }
}

/// The key element of an associative list's item.
pub(crate) fn key_of(item: &Json, keys: &[&str]) -> Element {
    let mut sorted: Vec<&str> = keys.to_vec();
    sorted.sort_unstable();
    let mut map = Map::new();
    for key in sorted {
        if let Some(value) = item.get(key) {
            map.insert(key.to_owned(), value.clone());
        }
    }
    Element::Key(Json::Object(map).to_string())
}

fn with(prefix: &Path, element: Element) -> Path {
    let mut path = prefix.clone();
    path.push(element);
    path
}

/// The members an applied configuration sets (structured-merge-diff's `ToFieldSet`): leaves,
/// empty maps, and the items of associative lists and sets.
pub(crate) fn leaves(value: &Json, schema: Option<&Json>, prefix: &Path, set: &mut FieldSet) {
    match (shape(schema, value), value) {
        (Shape::Struct, Json::Object(map)) => {
            if map.is_empty() && !prefix.is_empty() {
                set.insert(prefix.clone());
            }
            for (key, child_value) in map {
                let path = with(prefix, Element::Field(key.clone()));
                leaves(child_value, child(schema, key), &path, set);
            }
        }
        (Shape::Set, Json::Array(list)) => {
            for item in list {
                set.insert(with(prefix, Element::Value(item.to_string())));
            }
        }
        (Shape::Assoc(keys), Json::Array(list)) => {
            let item_schema = items(schema);
            for item in list {
                let path = with(prefix, key_of(item, &keys));
                set.insert(path.clone());
                if let Json::Object(map) = item {
                    for (key, child_value) in map {
                        let field = with(&path, Element::Field(key.clone()));
                        leaves(child_value, child(item_schema, key), &field, set);
                    }
                }
            }
        }
        _ => {
            if !prefix.is_empty() {
                set.insert(prefix.clone());
            }
        }
    }
}

/// Every path of a value: the node itself and everything below it (what an update that adds
/// the value takes ownership of).
pub(crate) fn all_paths(value: &Json, schema: Option<&Json>, prefix: &Path, set: &mut FieldSet) {
    if !prefix.is_empty() {
        set.insert(prefix.clone());
    }
    match (shape(schema, value), value) {
        (Shape::Struct, Json::Object(map)) => {
            for (key, child_value) in map {
                let path = with(prefix, Element::Field(key.clone()));
                all_paths(child_value, child(schema, key), &path, set);
            }
        }
        (Shape::Set, Json::Array(list)) => {
            for item in list {
                set.insert(with(prefix, Element::Value(item.to_string())));
            }
        }
        (Shape::Assoc(keys), Json::Array(list)) => {
            for item in list {
                let path = with(prefix, key_of(item, &keys));
                all_paths(item, items(schema), &path, set);
            }
        }
        _ => {}
    }
}

/// What changed from `old` to `new`: paths added or modified, and paths removed.
#[derive(Debug, Default)]
pub(crate) struct Comparison {
    pub(crate) changed: FieldSet,
    pub(crate) removed: FieldSet,
}

pub(crate) fn compare(old: &Json, new: &Json, schema: Option<&Json>) -> Comparison {
    let mut comparison = Comparison::default();
    compare_at(old, new, schema, &Vec::new(), &mut comparison);
    comparison
}

fn compare_at(old: &Json, new: &Json, schema: Option<&Json>, prefix: &Path, out: &mut Comparison) {
    match (shape(schema, new), shape(schema, old), old, new) {
        (Shape::Struct, Shape::Struct, Json::Object(before), Json::Object(after)) => {
            for (key, value) in after {
                let path = with(prefix, Element::Field(key.clone()));
                match before.get(key) {
                    Some(previous) => compare_at(previous, value, child(schema, key), &path, out),
                    None => all_paths(value, child(schema, key), &path, &mut out.changed),
                }
            }
            for (key, value) in before {
                if !after.contains_key(key) {
                    let path = with(prefix, Element::Field(key.clone()));
                    all_paths(value, child(schema, key), &path, &mut out.removed);
                }
            }
        }
        (Shape::Set, Shape::Set, Json::Array(before), Json::Array(after)) => {
            for item in after.iter().filter(|item| !before.contains(item)) {
                out.changed
                    .insert(with(prefix, Element::Value(item.to_string())));
            }
            for item in before.iter().filter(|item| !after.contains(item)) {
                out.removed
                    .insert(with(prefix, Element::Value(item.to_string())));
            }
        }
        (Shape::Assoc(keys), Shape::Assoc(_), Json::Array(before), Json::Array(after)) => {
            let item_schema = items(schema);
            for item in after {
                let key = key_of(item, &keys);
                let path = with(prefix, key.clone());
                match before
                    .iter()
                    .find(|previous| key_of(previous, &keys) == key)
                {
                    Some(previous) => compare_at(previous, item, item_schema, &path, out),
                    None => all_paths(item, item_schema, &path, &mut out.changed),
                }
            }
            for item in before {
                let key = key_of(item, &keys);
                if !after.iter().any(|next| key_of(next, &keys) == key) {
                    all_paths(item, item_schema, &with(prefix, key), &mut out.removed);
                }
            }
        }
        _ => {
            if old != new {
                all_paths(new, schema, prefix, &mut out.changed);
            }
        }
    }
}

/// Merges an applied configuration into the live object: granular nodes field by field,
/// associative lists item by item (by key), sets as a union, leaves replaced.
pub(crate) fn merge(live: &Json, applied: &Json, schema: Option<&Json>) -> Json {
    match (shape(schema, applied), live, applied) {
        (Shape::Struct, Json::Object(before), Json::Object(config)) => {
            let mut out = before.clone();
            for (key, value) in config {
                let merged = match before.get(key) {
                    Some(previous) => merge(previous, value, child(schema, key)),
                    None => value.clone(),
                };
                out.insert(key.clone(), merged);
            }
            Json::Object(out)
        }
        (Shape::Set, Json::Array(before), Json::Array(config)) => {
            let mut out = before.clone();
            for item in config {
                if !out.contains(item) {
                    out.push(item.clone());
                }
            }
            Json::Array(out)
        }
        (Shape::Assoc(keys), Json::Array(before), Json::Array(config)) => {
            let mut out = before.clone();
            for item in config {
                let key = key_of(item, &keys);
                match out
                    .iter_mut()
                    .find(|previous| key_of(previous, &keys) == key)
                {
                    Some(previous) => *previous = merge(previous, item, items(schema)),
                    None => out.push(item.clone()),
                }
            }
            Json::Array(out)
        }
        _ => applied.clone(),
    }
}

/// Removes the node at `path` (and everything below it), if it is there.
pub(crate) fn remove(value: &mut Json, path: &[Element], schema: Option<&Json>) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = value;
    let mut node_schema = schema;
    for element in parents {
        let Some((next, next_schema)) = step(node, element, node_schema) else {
            return;
        };
        node = next;
        node_schema = next_schema;
    }
    match (last, node) {
        (Element::Field(name), Json::Object(map)) => {
            map.shift_remove(name);
        }
        (Element::Key(key), Json::Array(list)) => {
            if let Shape::Assoc(keys) = shape(node_schema, &Json::Array(Vec::new())) {
                list.retain(|item| key_of(item, &keys) != Element::Key(key.clone()));
            }
        }
        (Element::Value(text), Json::Array(list)) => {
            list.retain(|item| item.to_string().as_str() != text.as_str());
        }
        (Element::Index(index), Json::Array(list)) if *index < list.len() => {
            list.remove(*index);
        }
        _ => {}
    }
}

fn step<'v, 's>(
    node: &'v mut Json,
    element: &Element,
    schema: Option<&'s Json>,
) -> Option<(&'v mut Json, Option<&'s Json>)> {
    match element {
        Element::Field(name) => {
            let next_schema = child(schema, name);
            Some((node.get_mut(name)?, next_schema))
        }
        Element::Key(key) => {
            let Shape::Assoc(keys) = shape(schema, node) else {
                return None;
            };
            let item = node
                .as_array_mut()?
                .iter_mut()
                .find(|item| key_of(item, &keys) == Element::Key(key.clone()))?;
            Some((item, items(schema)))
        }
        Element::Index(index) => Some((node.get_mut(*index)?, items(schema))),
        Element::Value(_) => None,
    }
}

/// The text of one element in `fieldsV1`.
fn encode_element(element: &Element) -> String {
    match element {
        Element::Field(name) => format!("f:{name}"),
        Element::Key(key) => format!("k:{key}"),
        Element::Value(value) => format!("v:{value}"),
        Element::Index(index) => format!("i:{index}"),
    }
}

/// A set as `fieldsV1`.
pub(crate) fn encode(set: &FieldSet) -> Json {
    let mut root = Map::new();
    for path in set {
        let mut node = &mut root;
        for element in path {
            let entry = node
                .entry(encode_element(element))
                .or_insert_with(|| Json::Object(Map::new()));
            let Json::Object(map) = entry else {
                break;
            };
            node = map;
        }
    }
    mark_members(&mut root, set, &Vec::new());
    Json::Object(root)
}

/// Adds `.` to every node that is a member and got children after it was inserted.
fn mark_members(node: &mut Map<String, Json>, set: &FieldSet, prefix: &Path) {
    let keys: Vec<String> = node.keys().cloned().collect();
    for key in keys {
        let Some(element) = decode_element(&key) else {
            continue;
        };
        let path = with(prefix, element);
        if let Some(Json::Object(child_node)) = node.get_mut(&key) {
            let has_children = child_node.keys().any(|name| name != ".");
            if has_children && set.contains(&path) && !child_node.contains_key(".") {
                child_node.insert(".".to_owned(), Json::Object(Map::new()));
            }
            mark_members(child_node, set, &path);
        }
    }
}

fn decode_element(text: &str) -> Option<Element> {
    let (kind, rest) = text.split_once(':')?;
    Some(match kind {
        "f" => Element::Field(rest.to_owned()),
        "k" => Element::Key(
            serde_json::from_str::<Json>(rest)
                .map(|key| canonical(&key).to_string())
                .unwrap_or_else(|_| rest.to_owned()),
        ),
        "v" => Element::Value(rest.to_owned()),
        "i" => Element::Index(rest.parse().ok()?),
        _ => return None,
    })
}

/// A key object with its fields sorted.
fn canonical(key: &Json) -> Json {
    match key {
        Json::Object(map) => {
            let mut names: Vec<&String> = map.keys().collect();
            names.sort();
            Json::Object(
                names
                    .into_iter()
                    .filter_map(|name| map.get(name).map(|value| (name.clone(), value.clone())))
                    .collect(),
            )
        }
        other => other.clone(),
    }
}

/// `fieldsV1` back into a set.
pub(crate) fn decode(fields: &Json) -> FieldSet {
    let mut set = FieldSet::new();
    decode_into(fields, &Vec::new(), &mut set);
    set
}

fn decode_into(node: &Json, prefix: &Path, set: &mut FieldSet) {
    let Json::Object(map) = node else {
        return;
    };
    for (key, child_node) in map {
        if key == "." {
            set.insert(prefix.clone());
            continue;
        }
        let Some(element) = decode_element(key) else {
            continue;
        };
        let path = with(prefix, element);
        if child_node.as_object().is_some_and(Map::is_empty) {
            set.insert(path);
        } else {
            decode_into(child_node, &path, set);
        }
    }
}

/// A path as the API server prints it in conflicts: `.spec.instances`,
/// `.spec.roles[name="app"]`, `.metadata.finalizers[="x"]`.
pub(crate) fn display(path: &Path) -> String {
    let mut text = String::new();
    for element in path {
        match element {
            Element::Field(name) => {
                text.push('.');
                text.push_str(name);
            }
            Element::Key(key) => {
                let fields = serde_json::from_str::<Json>(key).unwrap_or(Json::Null);
                let parts: Vec<String> = fields
                    .as_object()
                    .map(|map| map.iter().map(|(k, v)| format!("{k}={v}")).collect())
                    .unwrap_or_default();
                text.push_str(&format!("[{}]", parts.join(",")));
            }
            Element::Value(value) => text.push_str(&format!("[={value}]")),
            Element::Index(index) => text.push_str(&format!("[{index}]")),
        }
    }
    text
}

/// Whether `set` holds `path` or anything below it.
pub(crate) fn owns_within(set: &FieldSet, path: &Path) -> bool {
    set.range(path.clone()..)
        .next()
        .is_some_and(|first| first.starts_with(path))
}
