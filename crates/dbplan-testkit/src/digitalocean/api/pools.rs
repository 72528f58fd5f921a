//! Connection pools of a PostgreSQL cluster.

use super::clusters::{ram_gb, require_ready, with_cluster};
use super::request::{
    Answer, ApiError, body, no_content, ok, optional_str, required_int, required_str,
};
use super::shared::Shared;
use crate::digitalocean::model::{Cluster, Pool};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::{Value, json};
use std::sync::Arc;

pub(super) async fn list_pools(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Answer {
    let pools = with_cluster(&shared, &id, |cluster, _| {
        Ok(cluster
            .pools
            .iter()
            .map(|pool| cluster.pool_json(pool))
            .collect::<Vec<_>>())
    })?;
    ok(StatusCode::OK, json!({"pools": pools}))
}

/// Checks a pool's settings against the cluster: mode, size (all pools share 25 backend
/// connections per GB of RAM, less 3), database and user.
fn check_pool(cluster: &Cluster, pool: &Pool, replacing: Option<&str>) -> Result<(), ApiError> {
    if cluster.engine != "pg" {
        return Err(ApiError::invalid(
            "connection pools are only supported for PostgreSQL clusters",
        ));
    }
    if !["session", "transaction", "statement"].contains(&pool.mode.as_str()) {
        return Err(ApiError::invalid(format!(
            "mode {:?} is not one of session, transaction, statement",
            pool.mode
        )));
    }
    if pool.size < 1 {
        return Err(ApiError::invalid("size must be at least 1"));
    }
    let limit = ram_gb(&cluster.size).unwrap_or(1) * 25 - 3;
    let others: i64 = cluster
        .pools
        .iter()
        .filter(|other| Some(other.name.as_str()) != replacing)
        .map(|other| other.size)
        .sum();
    if others + pool.size > limit {
        return Err(ApiError::invalid(format!(
            "the pools of this cluster may hold at most {limit} connections; {others} are already allocated"
        )));
    }
    if !cluster.dbs.contains(&pool.db) {
        return Err(ApiError::invalid(format!(
            "database {:?} does not exist in this cluster",
            pool.db
        )));
    }
    if !cluster.users.iter().any(|user| user.name == pool.user) {
        return Err(ApiError::invalid(format!(
            "user {:?} does not exist in this cluster",
            pool.user
        )));
    }
    Ok(())
}

fn pool_from(
    map: &serde_json::Map<String, Value>,
    name: &str,
    cluster: &Cluster,
) -> Result<Pool, ApiError> {
    let admin = cluster
        .users
        .iter()
        .find(|user| user.role == "primary")
        .map(|user| user.name.clone())
        .unwrap_or_default();
    Ok(Pool {
        name: name.to_owned(),
        mode: required_str(map, "mode")?.to_owned(),
        size: required_int(map, "size")?,
        db: required_str(map, "db")?.to_owned(),
        user: optional_str(map, "user")?
            .map(str::to_owned)
            .unwrap_or(admin),
    })
}

pub(super) async fn add_pool(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let map = body(&bytes)?;
    let name = required_str(&map, "name")?.to_owned();
    if !(3..=60).contains(&name.chars().count()) {
        return Err(ApiError::invalid("pool name must be 3 to 60 characters"));
    }
    let json = with_cluster(&shared, &id, |cluster, _| {
        require_ready(cluster)?;
        if cluster.pools.iter().any(|pool| pool.name == name) {
            return Err(ApiError::invalid(format!(
                "a pool named {name:?} already exists"
            )));
        }
        let pool = pool_from(&map, &name, cluster)?;
        check_pool(cluster, &pool, None)?;
        let json = cluster.pool_json(&pool);
        cluster.pools.push(pool);
        Ok(json)
    })?;
    ok(StatusCode::CREATED, json!({"pool": json}))
}

pub(super) async fn get_pool(
    State(shared): State<Arc<Shared>>,
    Path((id, name)): Path<(String, String)>,
) -> Answer {
    let json = with_cluster(&shared, &id, |cluster, _| {
        let pool = cluster
            .pools
            .iter()
            .find(|pool| pool.name == name)
            .ok_or_else(ApiError::not_found)?;
        Ok(cluster.pool_json(pool))
    })?;
    ok(StatusCode::OK, json!({"pool": json}))
}

pub(super) async fn update_pool(
    State(shared): State<Arc<Shared>>,
    Path((id, name)): Path<(String, String)>,
    bytes: Bytes,
) -> Answer {
    let map = body(&bytes)?;
    with_cluster(&shared, &id, |cluster, _| {
        require_ready(cluster)?;
        if !cluster.pools.iter().any(|pool| pool.name == name) {
            return Err(ApiError::not_found());
        }
        let pool = pool_from(&map, &name, cluster)?;
        check_pool(cluster, &pool, Some(&name))?;
        for existing in &mut cluster.pools {
            if existing.name == name {
                *existing = pool.clone();
            }
        }
        Ok(())
    })?;
    no_content()
}

pub(super) async fn delete_pool(
    State(shared): State<Arc<Shared>>,
    Path((id, name)): Path<(String, String)>,
) -> Answer {
    with_cluster(&shared, &id, |cluster, _| {
        let before = cluster.pools.len();
        cluster.pools.retain(|pool| pool.name != name);
        if cluster.pools.len() == before {
            return Err(ApiError::not_found());
        }
        Ok(())
    })?;
    no_content()
}
