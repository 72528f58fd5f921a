//! JSON merge patches (RFC 7386) and JSON patches (RFC 6902).

use serde_json::Value as Json;

/// RFC 7386: objects merge field by field, `null` removes, anything else replaces.
pub(crate) fn merge_patch(target: &mut Json, patch: &Json) {
    let Json::Object(changes) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Json::Object(serde_json::Map::new());
    }
    let Json::Object(map) = target else {
        return;
    };
    for (key, value) in changes {
        if value.is_null() {
            map.shift_remove(key);
        } else {
            let entry = map.entry(key.clone()).or_insert(Json::Null);
            merge_patch(entry, value);
        }
    }
}

/// RFC 6902: `add`, `remove`, `replace`, `move`, `copy` and `test`, in order; the first that
/// fails fails the patch (and changes nothing).
pub(crate) fn json_patch(target: &Json, operations: &Json) -> Result<Json, String> {
    let list = operations
        .as_array()
        .ok_or("a JSON patch must be a list of operations")?;
    let mut document = target.clone();
    for operation in list {
        let op = operation
            .get("op")
            .and_then(Json::as_str)
            .ok_or("an operation has no \"op\"")?;
        let path = operation
            .get("path")
            .and_then(Json::as_str)
            .ok_or("an operation has no \"path\"")?;
        let value = || {
            operation
                .get("value")
                .cloned()
                .ok_or(format!("operation {op} on {path} has no \"value\""))
        };
        let from = || {
            operation
                .get("from")
                .and_then(Json::as_str)
                .ok_or(format!("operation {op} on {path} has no \"from\""))
        };
        match op {
            "add" => add(&mut document, path, value()?)?,
            "remove" => {
                remove(&mut document, path)?;
            }
            "replace" => {
                remove(&mut document, path)?;
                add(&mut document, path, value()?)?;
            }
            "move" => {
                let moved = remove(&mut document, from()?)?;
                add(&mut document, path, moved)?;
            }
            "copy" => {
                let copied = document
                    .pointer(from()?)
                    .cloned()
                    .ok_or(format!("copy: {} does not exist", from()?))?;
                add(&mut document, path, copied)?;
            }
            "test" => {
                if document.pointer(path) != Some(&value()?) {
                    return Err(format!("testing value {path} failed"));
                }
            }
            other => return Err(format!("unexpected operation {other:?}")),
        }
    }
    Ok(document)
}

fn split(path: &str) -> Result<(&str, String), String> {
    let (parent, last) = path
        .rsplit_once('/')
        .ok_or(format!("{path:?} is not a JSON pointer"))?;
    Ok((parent, last.replace("~1", "/").replace("~0", "~")))
}

fn add(document: &mut Json, path: &str, value: Json) -> Result<(), String> {
    if path.is_empty() {
        *document = value;
        return Ok(());
    }
    let (parent, last) = split(path)?;
    let node = document.pointer_mut(parent).ok_or(format!(
        "add operation does not apply: doc is missing path: {parent:?}"
    ))?;
    match node {
        Json::Object(map) => {
            map.insert(last, value);
            Ok(())
        }
        Json::Array(list) => {
            let index = if last == "-" {
                list.len()
            } else {
                last.parse::<usize>()
                    .map_err(|_| format!("{path:?}: not an index"))?
            };
            if index > list.len() {
                return Err(format!("{path:?}: index out of range"));
            }
            list.insert(index, value);
            Ok(())
        }
        _ => Err(format!(
            "add operation does not apply: {parent:?} is not a container"
        )),
    }
}

fn remove(document: &mut Json, path: &str) -> Result<Json, String> {
    let (parent, last) = split(path)?;
    let missing = || format!("remove operation does not apply: doc is missing path: {path:?}");
    match document.pointer_mut(parent).ok_or_else(missing)? {
        Json::Object(map) => map.shift_remove(&last).ok_or_else(missing),
        Json::Array(list) => {
            let index = last.parse::<usize>().map_err(|_| missing())?;
            if index < list.len() {
                Ok(list.remove(index))
            } else {
                Err(missing())
            }
        }
        _ => Err(missing()),
    }
}
