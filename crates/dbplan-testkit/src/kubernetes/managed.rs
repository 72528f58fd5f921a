//! `metadata.managedFields` and server-side apply, after structured-merge-diff: who owns which
//! field, what an update takes over, and what an apply merges, conflicts on and removes.

use super::fields::{self, Element, FieldSet, Path};
use serde_json::{Map, Value as Json, json};

/// One `managedFields` entry.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Entry {
    pub(crate) manager: String,
    /// `Apply` or `Update`.
    pub(crate) operation: String,
    pub(crate) api_version: String,
    pub(crate) time: String,
    pub(crate) subresource: String,
    pub(crate) set: FieldSet,
}

impl Entry {
    /// Whether this entry is the one of `manager`'s `operation` (the API server's manager
    /// identifier: an applier is one manager whatever the version, an updater one per version).
    fn is(&self, manager: &str, operation: &str, api_version: &str, subresource: &str) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource == subresource
            && (operation == "Apply" || self.api_version == api_version)
    }

    /// How conflict messages name the manager: `"kubectl"`, `"kubectl" using v1`, `"x" with
    /// subresource "status"`.
    pub(crate) fn describe(&self) -> String {
        let mut text = format!("{:?}", self.manager);
        if !self.subresource.is_empty() {
            text.push_str(&format!(" with subresource {:?}", self.subresource));
        }
        if self.operation == "Update" {
            text.push_str(&format!(" using {}", self.api_version));
        }
        text
    }
}

/// The entries of an object.
pub(crate) fn entries(object: &Json) -> Vec<Entry> {
    let Some(list) = object
        .pointer("/metadata/managedFields")
        .and_then(Json::as_array)
    else {
        return Vec::new();
    };
    let text = |entry: &Json, name: &str| {
        entry
            .get(name)
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    list.iter()
        .map(|entry| Entry {
            manager: text(entry, "manager"),
            operation: text(entry, "operation"),
            api_version: text(entry, "apiVersion"),
            time: text(entry, "time"),
            subresource: text(entry, "subresource"),
            set: entry
                .get("fieldsV1")
                .map(fields::decode)
                .unwrap_or_default(),
        })
        .collect()
}

/// Writes the entries into the object.
pub(crate) fn store(object: &mut Json, entries: &[Entry]) {
    let rendered: Vec<Json> = entries
        .iter()
        .map(|entry| {
            let mut map = Map::new();
            map.insert("manager".to_owned(), json!(entry.manager));
            map.insert("operation".to_owned(), json!(entry.operation));
            map.insert("apiVersion".to_owned(), json!(entry.api_version));
            map.insert("time".to_owned(), json!(entry.time));
            map.insert("fieldsType".to_owned(), json!("FieldsV1"));
            map.insert("fieldsV1".to_owned(), fields::encode(&entry.set));
            if !entry.subresource.is_empty() {
                map.insert("subresource".to_owned(), json!(entry.subresource));
            }
            Json::Object(map)
        })
        .collect();
    if let Some(metadata) = object.get_mut("metadata").and_then(Json::as_object_mut) {
        if rendered.is_empty() {
            metadata.shift_remove("managedFields");
        } else {
            metadata.insert("managedFields".to_owned(), Json::Array(rendered));
        }
    }
}

/// Who writes, how, through which version and subresource.
#[derive(Clone, Debug)]
pub(crate) struct Writer<'a> {
    pub(crate) manager: &'a str,
    pub(crate) api_version: &'a str,
    pub(crate) subresource: &'a str,
    pub(crate) now: &'a str,
}

/// The part of an object whose fields are tracked: without the fields the server sets
/// (`apiVersion`, `kind`, name, uid, versions, timestamps, `managedFields`), and without
/// `status` through the main resource of a kind with a status subresource (only `status`
/// through `/status`).
pub(crate) fn view(object: &Json, status_subresource: bool, subresource: &str) -> Json {
    let mut view = object.clone();
    if let Json::Object(map) = &mut view {
        map.shift_remove("apiVersion");
        map.shift_remove("kind");
        if subresource == "status" {
            map.retain(|key, _| key == "status");
        } else if status_subresource {
            map.shift_remove("status");
        }
        if let Some(Json::Object(metadata)) = map.get_mut("metadata") {
            for field in [
                "name",
                "namespace",
                "generateName",
                "uid",
                "resourceVersion",
                "generation",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "managedFields",
                "selfLink",
            ] {
                metadata.shift_remove(field);
            }
        }
    }
    view
}

fn without_metadata_node(mut set: FieldSet) -> FieldSet {
    set.remove(&vec![Element::Field("metadata".to_owned())]);
    set
}

/// Records an update (create, replace, merge or JSON patch, a controller's write): the writer
/// takes every field it added or changed (from whoever owned it), removed fields leave every set.
pub(crate) fn record_update(
    old: &Json,
    new: &mut Json,
    schema: Option<&Json>,
    status_subresource: bool,
    writer: &Writer<'_>,
) {
    let mut list = entries(old);
    let comparison = fields::compare(
        &view(old, status_subresource, writer.subresource),
        &view(new, status_subresource, writer.subresource),
        schema,
    );
    let changed = without_metadata_node(comparison.changed);
    for entry in &mut list {
        if !entry.is(
            writer.manager,
            "Update",
            writer.api_version,
            writer.subresource,
        ) {
            entry.set.retain(|path| !changed.contains(path));
        }
        entry.set.retain(|path| !comparison.removed.contains(path));
    }
    if !changed.is_empty() {
        match list.iter_mut().find(|entry| {
            entry.is(
                writer.manager,
                "Update",
                writer.api_version,
                writer.subresource,
            )
        }) {
            Some(entry) => {
                entry.set.extend(changed);
                entry.time = writer.now.to_owned();
            }
            None => list.push(Entry {
                manager: writer.manager.to_owned(),
                operation: "Update".to_owned(),
                api_version: writer.api_version.to_owned(),
                time: writer.now.to_owned(),
                subresource: writer.subresource.to_owned(),
                set: changed,
            }),
        }
    }
    list.retain(|entry| !entry.set.is_empty());
    store(new, &list);
}

/// A field another manager owns with another value.
#[derive(Clone, Debug)]
pub(crate) struct Conflict {
    pub(crate) manager: String,
    pub(crate) path: Path,
}

/// Server-side apply of `config` (already without the fields the server sets) onto `live`.
/// Returns the new object with its `managedFields`, or the conflicts when `force` is false.
pub(crate) fn apply(
    live: &Json,
    config: &Json,
    schema: Option<&Json>,
    status_subresource: bool,
    writer: &Writer<'_>,
    force: bool,
) -> Result<Json, Vec<Conflict>> {
    let sub = writer.subresource;
    let config_view = view(config, status_subresource, sub);
    let mut merged = fields::merge(live, &config_view, schema);
    let live_view = view(live, status_subresource, sub);
    let comparison = fields::compare(&live_view, &view(&merged, status_subresource, sub), schema);
    let mut list = entries(live);
    let is_me = |entry: &Entry| entry.is(writer.manager, "Apply", writer.api_version, sub);
    let mut conflicts = Vec::new();
    for entry in list.iter().filter(|entry| !is_me(entry)) {
        for path in entry
            .set
            .iter()
            .filter(|path| comparison.changed.contains(*path))
        {
            conflicts.push((entry.describe(), path.clone()));
        }
    }
    if !conflicts.is_empty() && !force {
        return Err(conflicts
            .into_iter()
            .map(|(manager, path)| Conflict { manager, path })
            .collect());
    }
    for entry in list.iter_mut().filter(|entry| !is_me(entry)) {
        entry.set.retain(|path| !comparison.changed.contains(path));
    }
    let mut applied = FieldSet::new();
    fields::leaves(&config_view, schema, &Vec::new(), &mut applied);
    let applied = without_metadata_node(applied);
    let previous = list
        .iter()
        .find(|entry| is_me(entry))
        .map(|entry| entry.set.clone())
        .unwrap_or_default();
    // Fields this manager applied before and no longer applies go, unless another owns them.
    // Parents first (a set orders a path before its extensions): an item goes whole.
    for path in previous.difference(&applied) {
        let owned_by_other = list
            .iter()
            .filter(|entry| !is_me(entry))
            .any(|entry| fields::owns_within(&entry.set, path));
        if !owned_by_other {
            fields::remove(&mut merged, path, schema);
        }
    }
    let removed =
        fields::compare(&live_view, &view(&merged, status_subresource, sub), schema).removed;
    for entry in &mut list {
        entry.set.retain(|path| !removed.contains(path));
    }
    match list.iter_mut().find(|entry| is_me(entry)) {
        Some(entry) => {
            if entry.set != applied || entry.api_version != writer.api_version {
                entry.time = writer.now.to_owned();
            }
            entry.set = applied;
            entry.api_version = writer.api_version.to_owned();
        }
        None => list.push(Entry {
            manager: writer.manager.to_owned(),
            operation: "Apply".to_owned(),
            api_version: writer.api_version.to_owned(),
            time: writer.now.to_owned(),
            subresource: sub.to_owned(),
            set: applied,
        }),
    }
    list.retain(|entry| !entry.set.is_empty());
    store(&mut merged, &list);
    Ok(merged)
}

/// `Apply failed with 1 conflict: conflict with "kubectl" using v1: .spec.instances`, and the
/// causes (`FieldManagerConflict`, one per field).
pub(crate) fn conflict_message(conflicts: &[Conflict]) -> (String, Vec<Json>) {
    let causes = conflicts
        .iter()
        .map(|conflict| {
            json!({
                "reason": "FieldManagerConflict",
                "message": format!("conflict with {}", conflict.manager),
                "field": fields::display(&conflict.path),
            })
        })
        .collect();
    let message = match conflicts {
        [one] => format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            one.manager,
            fields::display(&one.path)
        ),
        many => {
            let mut managers: Vec<&String> = many.iter().map(|c| &c.manager).collect();
            managers.sort();
            managers.dedup();
            let mut lines = Vec::new();
            for manager in managers {
                lines.push(format!("conflicts with {manager}:"));
                for conflict in many.iter().filter(|c| &c.manager == manager) {
                    lines.push(format!("- {}", fields::display(&conflict.path)));
                }
            }
            format!(
                "Apply failed with {} conflicts: {}",
                many.len(),
                lines.join("\n")
            )
        }
    };
    (message, causes)
}
