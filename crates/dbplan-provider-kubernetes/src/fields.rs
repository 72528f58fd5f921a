//! Which fields of an object a field manager owns: `metadata.managedFields[].fieldsV1`, the
//! server-side apply ownership record, decoded; pure.
//!
//! A `fieldsV1` tree is a JSON object whose keys name what is owned, one level per field:
//! `f:<name>` a field of an object, `k:<json object>` the item of a list-map with those key
//! fields, `v:<json value>` the item of a set with that value, `i:<index>` the item at an index
//! of an atomic list, and `.` the node itself. An empty object is a leaf (the whole value).
//!
//! Drift is read only from the fields `dbplan` owns, and from the fields dbplan renders that
//! another manager took over (an `Update` that changes a field moves its ownership to the
//! updater, and the next apply would conflict there): what the operator, its webhooks or the
//! API server default (and own) never counts as a change.

use serde_json::{Map, Value as Json};

/// The field manager dbplan applies as.
pub const MANAGER: &str = "dbplan";

/// The union of the `fieldsV1` trees a manager owns in an object (every operation of it).
pub fn owned_tree(object: &Json, manager: &str) -> Json {
    let mut tree = Json::Object(Map::new());
    let entries = object
        .pointer("/metadata/managedFields")
        .and_then(Json::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for entry in entries {
        if entry.get("manager").and_then(Json::as_str) != Some(manager) {
            continue;
        }
        if let Some(fields) = entry.get("fieldsV1") {
            merge_trees(&mut tree, fields);
        }
    }
    tree
}

fn merge_trees(into: &mut Json, from: &Json) {
    let (Json::Object(into), Json::Object(from)) = (into, from) else {
        return;
    };
    for (key, value) in from {
        match into.get_mut(key) {
            Some(existing) => merge_trees(existing, value),
            None => {
                into.insert(key.clone(), value.clone());
            }
        }
    }
}

/// The managers other than `except` that own a field, by their `fieldsV1` trees: each
/// manager's name with the owned field paths (`.spec.instances`) that `paths` lists.
pub fn other_owners(object: &Json, except: &str, paths: &[Vec<String>]) -> Vec<(String, String)> {
    let mut owners = Vec::new();
    let entries = object
        .pointer("/metadata/managedFields")
        .and_then(Json::as_array)
        .map(Vec::as_slice)
        .unwrap_or_default();
    for entry in entries {
        let Some(manager) = entry.get("manager").and_then(Json::as_str) else {
            continue;
        };
        if manager == except {
            continue;
        }
        let Some(tree) = entry.get("fieldsV1") else {
            continue;
        };
        for path in paths {
            if owns(tree, path) {
                owners.push((manager.to_owned(), format!(".{}", path.join("."))));
            }
        }
    }
    owners
}

/// Whether a tree owns the field at `path` (field names only) or a field above it.
fn owns(tree: &Json, path: &[String]) -> bool {
    let mut node = tree;
    for name in path {
        match node.get(format!("f:{name}")) {
            Some(Json::Object(children)) if children.is_empty() => return true,
            Some(next) => node = next,
            None => return false,
        }
    }
    !path.is_empty()
}

/// The leaf field paths of an object (field names from the root; lists are leaves), e.g.
/// `spec.storage.size`: the fields a rendered object sets.
pub fn leaf_paths(object: &Json) -> Vec<Vec<String>> {
    fn walk(value: &Json, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        match value {
            Json::Object(map) if !map.is_empty() => {
                for (key, child) in map {
                    prefix.push(key.clone());
                    walk(child, prefix, out);
                    prefix.pop();
                }
            }
            _ => out.push(prefix.clone()),
        }
    }
    let mut out = Vec::new();
    walk(object, &mut Vec::new(), &mut out);
    out
}

/// What of `value` the tree covers: the owned fields, with their values.
pub fn project(value: &Json, tree: &Json) -> Option<Json> {
    let Json::Object(children) = tree else {
        return Some(value.clone());
    };
    let owned: Vec<(&String, &Json)> = children.iter().filter(|(key, _)| *key != ".").collect();
    if owned.is_empty() {
        return Some(value.clone());
    }
    match value {
        Json::Object(map) => {
            let mut out = Map::new();
            for (key, subtree) in owned {
                let Some(name) = key.strip_prefix("f:") else {
                    continue;
                };
                if let Some(child) = map.get(name)
                    && let Some(projected) = project(child, subtree)
                {
                    out.insert(name.to_owned(), projected);
                }
            }
            Some(Json::Object(out))
        }
        Json::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                for (key, subtree) in &owned {
                    if item_matches(item, key)
                        && let Some(projected) = project(item, subtree)
                    {
                        out.push(projected);
                        break;
                    }
                }
            }
            if out.is_empty() {
                // An index-addressed (`i:`) item, or items no longer there.
                for (key, subtree) in owned {
                    if let Some(index) =
                        key.strip_prefix("i:").and_then(|i| i.parse::<usize>().ok())
                        && let Some(item) = items.get(index)
                        && let Some(projected) = project(item, subtree)
                    {
                        out.push(projected);
                    }
                }
            }
            Some(Json::Array(out))
        }
        other => Some(other.clone()),
    }
}

/// Whether a list item is the one a `k:` or `v:` key names.
fn item_matches(item: &Json, key: &str) -> bool {
    if let Some(keys) = key.strip_prefix("k:") {
        let Ok(Json::Object(keys)) = serde_json::from_str::<Json>(keys) else {
            return false;
        };
        return keys
            .iter()
            .all(|(name, wanted)| item.get(name) == Some(wanted));
    }
    if let Some(wanted) = key.strip_prefix("v:") {
        return serde_json::from_str::<Json>(wanted).is_ok_and(|wanted| &wanted == item);
    }
    false
}

/// A `fieldsV1` tree of the given field paths.
fn tree_of(paths: &[Vec<String>]) -> Json {
    let mut tree = Json::Object(Map::new());
    for path in paths {
        let mut node = &mut tree;
        for name in path {
            let Json::Object(children) = node else {
                break;
            };
            node = children
                .entry(format!("f:{name}"))
                .or_insert_with(|| Json::Object(Map::new()));
        }
    }
    tree
}

/// The differences between the live object and the rendered one over the fields dbplan owns
/// and the rendered fields another manager owns now: the paths (one segment per key, as a
/// key may hold a `.`: `pg_stat_statements.track`) whose values differ (an owned field that is
/// gone counts too).
pub fn differences(live: &Json, rendered: &Json) -> Vec<Vec<String>> {
    let mut tree = owned_tree(live, MANAGER);
    let taken: Vec<Vec<String>> = leaf_paths(rendered)
        .into_iter()
        .filter(|path| !owns(&tree, path))
        .filter(|path| !other_owners(live, MANAGER, std::slice::from_ref(path)).is_empty())
        .collect();
    merge_trees(&mut tree, &tree_of(&taken));
    let live = strip_metadata(project(live, &tree).unwrap_or(Json::Null));
    let rendered = strip_metadata(project(rendered, &tree).unwrap_or(Json::Null));
    let mut out = Vec::new();
    diff(&live, &rendered, &mut Vec::new(), &mut out);
    out
}

/// Leaves out what the API server owns for every applier (`metadata.managedFields`,
/// `resourceVersion`, …): the labels and annotations stay.
fn strip_metadata(mut object: Json) -> Json {
    if let Some(Json::Object(metadata)) = object.get_mut("metadata") {
        metadata.retain(|key, _| key == "labels" || key == "annotations");
    }
    object
}

fn diff(live: &Json, rendered: &Json, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    match (live, rendered) {
        (Json::Object(live), Json::Object(rendered)) => {
            let mut keys: Vec<&String> = live.keys().chain(rendered.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                path.push(key.clone());
                diff(
                    live.get(key).unwrap_or(&Json::Null),
                    rendered.get(key).unwrap_or(&Json::Null),
                    path,
                    out,
                );
                path.pop();
            }
        }
        (live, rendered) if live != rendered => out.push(path.clone()),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    fn live() -> Json {
        json!({
            "apiVersion": "postgresql.cnpg.io/v1",
            "kind": "Cluster",
            "metadata": {
                "name": "home-pg",
                "resourceVersion": "7",
                "labels": {"app.kubernetes.io/managed-by": "dbplan"},
                "managedFields": [
                    {
                        "manager": "dbplan",
                        "operation": "Apply",
                        "apiVersion": "postgresql.cnpg.io/v1",
                        "fieldsType": "FieldsV1",
                        "fieldsV1": {
                            "f:metadata": {"f:labels": {"f:app.kubernetes.io/managed-by": {}}},
                            "f:spec": {
                                "f:instances": {},
                                "f:storage": {"f:size": {}},
                                "f:plugins": {"k:{\"name\":\"barman-cloud.cloudnative-pg.io\"}": {
                                    ".": {}, "f:name": {}, "f:isWALArchiver": {}
                                }}
                            }
                        }
                    },
                    {
                        "manager": "kubectl-edit",
                        "operation": "Update",
                        "fieldsType": "FieldsV1",
                        "fieldsV1": {"f:spec": {"f:storage": {"f:storageClass": {}}}}
                    },
                    {
                        "manager": "cloudnative-pg",
                        "operation": "Update",
                        "subresource": "status",
                        "fieldsV1": {"f:status": {"f:phase": {}}}
                    }
                ]
            },
            "spec": {
                "instances": 3,
                "storage": {"size": "20Gi", "storageClass": "fast"},
                "postgresql": {"parameters": {"max_connections": "100"}},
                "plugins": [
                    {"name": "barman-cloud.cloudnative-pg.io", "isWALArchiver": true, "enabled": true}
                ]
            },
            "status": {"phase": "Cluster in healthy state"}
        })
    }

    fn rendered() -> Json {
        json!({
            "apiVersion": "postgresql.cnpg.io/v1",
            "kind": "Cluster",
            "metadata": {"name": "home-pg", "labels": {"app.kubernetes.io/managed-by": "dbplan"}},
            "spec": {
                "instances": 3,
                "storage": {"size": "20Gi"},
                "plugins": [{"name": "barman-cloud.cloudnative-pg.io", "isWALArchiver": true}]
            }
        })
    }

    #[test]
    fn only_dbplan_s_fields_are_projected() {
        let tree = owned_tree(&live(), MANAGER);
        let projected = project(&live(), &tree).unwrap();
        assert_eq!(
            projected["spec"],
            json!({
                "instances": 3,
                "storage": {"size": "20Gi"},
                "plugins": [{"name": "barman-cloud.cloudnative-pg.io", "isWALArchiver": true}]
            })
        );
        assert!(projected.get("status").is_none());
    }

    #[test]
    fn what_others_own_or_default_is_no_drift() {
        assert_eq!(differences(&live(), &rendered()), Vec::<Vec<String>>::new());
    }

    #[test]
    fn a_changed_owned_field_is_drift() {
        let mut live = live();
        live["spec"]["instances"] = json!(1);
        live["spec"]["storage"]["size"] = json!("30Gi");
        assert_eq!(
            differences(&live, &rendered()),
            [vec!["spec", "instances"], vec!["spec", "storage", "size"]]
        );
    }

    #[test]
    fn a_rendered_field_another_manager_took_over_is_drift() {
        let mut rendered = rendered();
        rendered["spec"]["storage"]["storageClass"] = json!("local-path");
        assert_eq!(
            differences(&live(), &rendered),
            [vec!["spec", "storage", "storageClass"]]
        );
    }

    #[test]
    fn the_other_owners_of_rendered_fields_are_named() {
        let paths =
            leaf_paths(&json!({"spec": {"storage": {"storageClass": "x"}, "instances": 3}}));
        assert_eq!(
            other_owners(&live(), MANAGER, &paths),
            [(
                "kubectl-edit".to_owned(),
                ".spec.storage.storageClass".to_owned()
            )]
        );
    }
}
