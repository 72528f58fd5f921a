//! The users of a cluster: its admin user (made with the cluster) and those added through the
//! API, whose passwords DigitalOcean generates.

use super::backend;
use super::clusters::{random_password, require_ready, with_cluster};
use super::request::{Answer, ApiError, body, no_content, ok, required_str};
use super::shared::{Shared, lock};
use crate::digitalocean::model::{Cluster, User};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::json;
use std::sync::Arc;

/// `POST /v2/databases/{id}/users`: a `normal` user with a generated password. On a cluster
/// with the server behind it, the role is made there first.
pub(super) async fn add_user(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let map = body(&bytes)?;
    let name = required_str(&map, "name")?.to_owned();
    if name.is_empty() || name.len() > 63 {
        return Err(ApiError::invalid("name must be 1 to 63 characters"));
    }
    let engine = with_cluster(&shared, &id, |cluster, _| {
        require_ready(cluster)?;
        if cluster.users.iter().any(|user| user.name == name) {
            return Err(ApiError::invalid(format!("user {name:?} already exists")));
        }
        Ok(cluster.engine.clone())
    })?;
    let user = User {
        name: name.clone(),
        role: "normal",
        password: random_password(),
    };
    if backend::backs(&shared, &engine) {
        backend::run(
            &shared,
            format!(
                "CREATE ROLE {} WITH LOGIN PASSWORD {}",
                backend::ident(&name),
                backend::literal(&user.password)
            ),
        )
        .await?;
    }
    let json = Cluster::user_json(&user);
    let mut world = lock(&shared.world);
    world.passwords.push(user.password.clone());
    let cluster = world
        .clusters
        .iter_mut()
        .find(|cluster| cluster.id == id)
        .ok_or_else(ApiError::not_found)?;
    cluster.users.push(user);
    drop(world);
    ok(StatusCode::CREATED, json!({"user": json}))
}

/// `DELETE /v2/databases/{id}/users/{name}`; the admin user cannot be deleted.
pub(super) async fn delete_user(
    State(shared): State<Arc<Shared>>,
    Path((id, name)): Path<(String, String)>,
) -> Answer {
    let engine = with_cluster(&shared, &id, |cluster, _| {
        let user = cluster
            .users
            .iter()
            .find(|user| user.name == name)
            .ok_or_else(ApiError::not_found)?;
        if user.role == "primary" {
            return Err(ApiError::invalid(format!(
                "the cluster's admin user {name:?} cannot be deleted"
            )));
        }
        Ok(cluster.engine.clone())
    })?;
    if backend::backs(&shared, &engine) {
        backend::run(
            &shared,
            format!("DROP ROLE IF EXISTS {}", backend::ident(&name)),
        )
        .await?;
    }
    with_cluster(&shared, &id, |cluster, _| {
        cluster.users.retain(|user| user.name != name);
        Ok(())
    })?;
    no_content()
}

pub(super) async fn list_users(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Answer {
    let users = with_cluster(&shared, &id, |cluster, _| {
        Ok(cluster
            .users
            .iter()
            .map(Cluster::user_json)
            .collect::<Vec<_>>())
    })?;
    ok(StatusCode::OK, json!({"users": users}))
}

pub(super) async fn get_user(
    State(shared): State<Arc<Shared>>,
    Path((id, name)): Path<(String, String)>,
) -> Answer {
    let user = with_cluster(&shared, &id, |cluster, _| {
        cluster
            .users
            .iter()
            .find(|user| user.name == name)
            .map(Cluster::user_json)
            .ok_or_else(ApiError::not_found)
    })?;
    ok(StatusCode::OK, json!({"user": user}))
}
