//! Tags, and tagging and untagging clusters.

use super::request::{Answer, ApiError, body, no_content, ok, required_str};
use super::shared::{Shared, lock};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

pub(super) fn valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 255
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_'))
}

pub(super) async fn create_tag(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Answer {
    let map = body(&bytes)?;
    let name = required_str(&map, "name")?.to_owned();
    if !valid_tag(&name) {
        return Err(ApiError::invalid(
            "tags may contain letters, numbers, colons, dashes, and underscores",
        ));
    }
    let mut world = lock(&shared.world);
    world.tags.insert(name.clone());
    let count = world
        .clusters
        .iter()
        .filter(|cluster| cluster.tags.contains(&name))
        .count();
    ok(
        StatusCode::CREATED,
        json!({"tag": {"name": name, "resources": {"count": count}}}),
    )
}

/// The database IDs of a tag request (`{resources: [{resource_id, resource_type}]}`).
fn tagged(bytes: &Bytes) -> Result<Vec<String>, ApiError> {
    let map = body(bytes)?;
    let Some(resources) = map.get("resources").and_then(Value::as_array) else {
        return Err(ApiError::invalid("resources is required"));
    };
    let mut ids = Vec::new();
    for resource in resources {
        let Some(resource) = resource.as_object() else {
            return Err(ApiError::invalid("each resource must be an object"));
        };
        let id = required_str(resource, "resource_id")?;
        let kind = required_str(resource, "resource_type")?;
        if kind != "database" {
            return Err(ApiError::invalid(format!(
                "this fake tags only databases, not {kind:?}"
            )));
        }
        ids.push(id.to_owned());
    }
    Ok(ids)
}

pub(super) async fn tag_resources(
    State(shared): State<Arc<Shared>>,
    Path(tag): Path<String>,
    bytes: Bytes,
) -> Answer {
    let ids = tagged(&bytes)?;
    let mut world = lock(&shared.world);
    if !world.tags.contains(&tag) {
        return Err(ApiError::not_found());
    }
    for id in &ids {
        if !world.clusters.iter().any(|cluster| &cluster.id == id) {
            return Err(ApiError::not_found());
        }
    }
    for cluster in &mut world.clusters {
        if ids.contains(&cluster.id) && !cluster.tags.contains(&tag) {
            cluster.tags.push(tag.clone());
        }
    }
    no_content()
}

pub(super) async fn untag_resources(
    State(shared): State<Arc<Shared>>,
    Path(tag): Path<String>,
    bytes: Bytes,
) -> Answer {
    let ids = tagged(&bytes)?;
    let mut world = lock(&shared.world);
    if !world.tags.contains(&tag) {
        return Err(ApiError::not_found());
    }
    for cluster in &mut world.clusters {
        if ids.contains(&cluster.id) {
            cluster.tags.retain(|existing| existing != &tag);
        }
    }
    no_content()
}
