//! Server-side printing: a `Table` (`meta.k8s.io/v1`) for a client that asks for one
//! (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`, as `kubectl get` does), with the
//! columns of the CRD's `additionalPrinterColumns` (or the built-in kinds' usual ones).

use super::store::Request;
use serde_json::{Value as Json, json};

struct Column {
    name: String,
    kind: String,
    format: String,
    description: String,
    priority: i64,
    path: String,
}

fn columns(request: &Request) -> Vec<Column> {
    let column = |name: &str, kind: &str, path: &str, description: &str| Column {
        name: name.to_owned(),
        kind: kind.to_owned(),
        format: String::new(),
        description: description.to_owned(),
        priority: 0,
        path: path.to_owned(),
    };
    let age = || {
        column(
            "Age",
            "date",
            ".metadata.creationTimestamp",
            "CreationTimestamp is a timestamp representing the server time when this object was created.",
        )
    };
    let resource = &request.resource;
    if resource.builtin {
        return match resource.plural.as_str() {
            "secrets" => vec![
                column("Type", "string", ".type", "The type of the secret"),
                column(
                    "Data",
                    "integer",
                    "#data",
                    "The number of entries in the data",
                ),
                age(),
            ],
            "namespaces" => vec![
                column(
                    "Status",
                    "string",
                    ".status.phase",
                    "The status of the namespace",
                ),
                age(),
            ],
            _ => vec![age()],
        };
    }
    if resource.printer_columns.is_empty() {
        return vec![age()];
    }
    resource
        .printer_columns
        .iter()
        .map(|definition| {
            let text = |name: &str| {
                definition
                    .get(name)
                    .and_then(Json::as_str)
                    .unwrap_or_default()
                    .to_owned()
            };
            Column {
                name: text("name"),
                kind: text("type"),
                format: text("format"),
                description: text("description"),
                priority: definition
                    .get("priority")
                    .and_then(Json::as_i64)
                    .unwrap_or(0),
                path: text("jsonPath"),
            }
        })
        .collect()
}

/// The value of a simple JSONPath (`.status.phase`,
/// `.status.conditions[?(@.type=='Ready')].status`, `.spec.items[0].name`).
fn lookup(object: &Json, path: &str) -> Json {
    if path == "#data" {
        return json!(
            object
                .get("data")
                .and_then(Json::as_object)
                .map_or(0, |data| data.len())
        );
    }
    let mut node = object.clone();
    let mut rest = path.trim_start_matches('.');
    while !rest.is_empty() {
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        let (name, tail) = rest.split_at(end);
        if !name.is_empty() {
            node = node.get(name).cloned().unwrap_or(Json::Null);
        }
        rest = tail;
        if let Some(bracket) = rest.strip_prefix('[') {
            let Some((inside, after)) = bracket.split_once(']') else {
                return Json::Null;
            };
            node = if let Some(filter) = inside
                .strip_prefix("?(@.")
                .and_then(|f| f.strip_suffix(')'))
            {
                let (field, wanted) = filter.split_once("==").unwrap_or((filter, ""));
                let wanted = wanted.trim().trim_matches(['\'', '"']);
                node.as_array()
                    .and_then(|list| {
                        list.iter().find(|item| {
                            item.get(field.trim()).and_then(Json::as_str) == Some(wanted)
                        })
                    })
                    .cloned()
                    .unwrap_or(Json::Null)
            } else {
                inside
                    .parse::<usize>()
                    .ok()
                    .and_then(|index| node.get(index).cloned())
                    .unwrap_or(Json::Null)
            };
            rest = after;
        }
        rest = rest.strip_prefix('.').unwrap_or(rest);
        if node.is_null() {
            break;
        }
    }
    node
}

/// `kubectl`'s human duration: `45s`, `3m12s`, `25m`, `4h10m`, `12h`, `3d`.
fn human(seconds: i64) -> String {
    match seconds {
        s if s < 0 => "0s".to_owned(),
        s if s < 120 => format!("{s}s"),
        s if s < 600 => {
            if s % 60 == 0 {
                format!("{}m", s / 60)
            } else {
                format!("{}m{}s", s / 60, s % 60)
            }
        }
        s if s < 3 * 3600 => format!("{}m", s / 60),
        s if s < 8 * 3600 => format!("{}h{}m", s / 3600, (s % 3600) / 60),
        s if s < 48 * 3600 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86400),
    }
}

fn cell(object: &Json, column: &Column) -> Json {
    let value = lookup(object, &column.path);
    if column.kind == "date"
        && let Some(text) = value.as_str()
        && let Ok(time) =
            time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
    {
        return json!(human(
            (time::OffsetDateTime::now_utc() - time).whole_seconds()
        ));
    }
    value
}

/// A `Table` of one object or a list.
pub(crate) fn render(request: &Request, body: Json, include: &str) -> Json {
    let columns = columns(request);
    let is_list = body.get("items").is_some();
    let objects: Vec<Json> = if is_list {
        body.get("items")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default()
    } else {
        vec![body.clone()]
    };
    let mut definitions = vec![json!({"name": "Name", "type": "string", "format": "name",
        "description": "Name must be unique within a namespace.", "priority": 0})];
    definitions.extend(columns.iter().map(|column| {
        json!({"name": column.name, "type": column.kind, "format": column.format,
            "description": column.description, "priority": column.priority})
    }));
    let rows: Vec<Json> = objects
        .iter()
        .map(|object| {
            let mut cells = vec![
                object
                    .pointer("/metadata/name")
                    .cloned()
                    .unwrap_or(Json::Null),
            ];
            cells.extend(columns.iter().map(|column| cell(object, column)));
            let mut row = json!({"cells": cells});
            match include {
                "None" => {}
                "Object" => row["object"] = object.clone(),
                _ => {
                    row["object"] = json!({"kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": object.get("metadata").cloned().unwrap_or(json!({}))});
                }
            }
            row
        })
        .collect();
    let resource_version = body.pointer("/metadata/resourceVersion").cloned();
    json!({
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": resource_version.unwrap_or(json!(""))},
        "columnDefinitions": definitions,
        "rows": rows,
    })
}
