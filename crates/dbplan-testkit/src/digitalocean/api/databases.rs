//! The databases of a cluster.

use super::backend;
use super::clusters::{require_ready, with_cluster};
use super::request::{Answer, ApiError, body, no_content, ok, required_str};
use super::shared::Shared;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde_json::json;
use std::sync::Arc;

pub(super) async fn list_dbs(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let dbs = with_cluster(&shared, &id, |cluster, _| {
        Ok(cluster
            .dbs
            .iter()
            .map(|name| json!({"name": name}))
            .collect::<Vec<_>>())
    })?;
    ok(StatusCode::OK, json!({"dbs": dbs}))
}

pub(super) async fn add_db(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let map = body(&bytes)?;
    let name = required_str(&map, "name")?.to_owned();
    let (engine, admin) = with_cluster(&shared, &id, |cluster, _| {
        require_ready(cluster)?;
        if cluster.dbs.contains(&name) {
            return Err(ApiError::invalid(format!(
                "database {name:?} already exists"
            )));
        }
        Ok((
            cluster.engine.clone(),
            cluster.admin().map(|admin| admin.name.clone()),
        ))
    })?;
    if backend::backs(&shared, &engine) {
        let owner = admin
            .map(|admin| format!(" OWNER {}", backend::ident(&admin)))
            .unwrap_or_default();
        backend::run(
            &shared,
            format!("CREATE DATABASE {}{owner}", backend::ident(&name)),
        )
        .await?;
    }
    with_cluster(&shared, &id, |cluster, _| {
        cluster.dbs.push(name.clone());
        Ok(())
    })?;
    ok(StatusCode::CREATED, json!({"db": {"name": name}}))
}

pub(super) async fn get_db(
    State(shared): State<Arc<Shared>>,
    Path((id, name)): Path<(String, String)>,
) -> Answer {
    with_cluster(&shared, &id, |cluster, _| {
        if cluster.dbs.contains(&name) {
            Ok(())
        } else {
            Err(ApiError::not_found())
        }
    })?;
    ok(StatusCode::OK, json!({"db": {"name": name}}))
}

pub(super) async fn delete_db(
    State(shared): State<Arc<Shared>>,
    Path((id, name)): Path<(String, String)>,
) -> Answer {
    let engine = with_cluster(&shared, &id, |cluster, _| {
        if cluster.dbs.contains(&name) {
            Ok(cluster.engine.clone())
        } else {
            Err(ApiError::not_found())
        }
    })?;
    if backend::backs(&shared, &engine) {
        // Without FORCE: a database in use is refused, as PostgreSQL refuses it.
        backend::run(
            &shared,
            format!("DROP DATABASE IF EXISTS {}", backend::ident(&name)),
        )
        .await?;
    }
    with_cluster(&shared, &id, |cluster, _| {
        cluster.dbs.retain(|db| db != &name);
        Ok(())
    })?;
    no_content()
}
