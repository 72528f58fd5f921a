//! The users of a cluster (read only: the fake makes the admin user with the cluster).

use super::clusters::with_cluster;
use super::request::{Answer, ApiError, ok};
use super::shared::Shared;
use crate::digitalocean::model::Cluster;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::json;
use std::sync::Arc;

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
