//! Changes to a running cluster: resize, maintenance window and major version upgrade.

use super::clusters::{require_online, require_ready, with_cluster};
use super::request::{
    Answer, ApiError, body, no_content, optional_int, required_int, required_str,
};
use super::shared::{Shared, lock};
use crate::digitalocean::model::Status;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use std::sync::Arc;
use std::time::Instant;

const WEEKDAYS: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// `HH:MM` or `HH:MM:SS` → `HH:MM:SS`.
fn normalize_hour(hour: &str) -> Option<String> {
    let parts: Vec<&str> = hour.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let numbers: Vec<u32> = parts
        .iter()
        .map(|part| {
            if part.len() == 2 {
                part.parse().ok()
            } else {
                None
            }
        })
        .collect::<Option<_>>()?;
    let seconds = numbers.get(2).copied().unwrap_or(0);
    (numbers[0] < 24 && numbers[1] < 60 && seconds < 60)
        .then(|| format!("{:02}:{:02}:{seconds:02}", numbers[0], numbers[1]))
}

pub(super) async fn resize(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let map = body(&bytes)?;
    let size = required_str(&map, "size")?.to_owned();
    let num_nodes = required_int(&map, "num_nodes")?;
    let storage = optional_int(&map, "storage_size_mib")?;
    let delay = lock(&shared.config).resize_delay;
    with_cluster(&shared, &id, |cluster, shared| {
        require_online(cluster)?;
        match shared.sizes(&cluster.engine, num_nodes) {
            Some(sizes) if sizes.contains(&size) => {}
            _ => {
                return Err(ApiError::invalid(format!(
                    "size {size:?} with {num_nodes} nodes is not available for {}",
                    cluster.engine
                )));
            }
        }
        if let Some(storage) = storage
            && storage < cluster.storage_size_mib
        {
            return Err(ApiError::invalid(format!(
                "storage cannot shrink from {} MiB to {storage} MiB",
                cluster.storage_size_mib
            )));
        }
        cluster.size = size;
        cluster.num_nodes = num_nodes;
        if let Some(storage) = storage {
            cluster.storage_size_mib = storage;
        }
        cluster.status = Status::Resizing;
        cluster.busy_until = Some(Instant::now() + delay);
        Ok(())
    })?;
    Ok(StatusCode::ACCEPTED.into_response())
}

pub(super) async fn maintenance(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let map = body(&bytes)?;
    let day = required_str(&map, "day")?.to_owned();
    let hour = required_str(&map, "hour")?;
    if !WEEKDAYS.contains(&day.as_str()) {
        return Err(ApiError::invalid(format!(
            "day {day:?} is not a day of the week"
        )));
    }
    let Some(hour) = normalize_hour(hour) else {
        return Err(ApiError::invalid(format!(
            "hour {hour:?} is not a 24-hour time such as 14:00"
        )));
    };
    with_cluster(&shared, &id, |cluster, _| {
        require_ready(cluster)?;
        cluster.maintenance = (day, hour);
        Ok(())
    })?;
    no_content()
}

pub(super) async fn upgrade(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let map = body(&bytes)?;
    let version = required_str(&map, "version")?.to_owned();
    with_cluster(&shared, &id, |cluster, shared| {
        require_online(cluster)?;
        let versions = shared
            .engine(&cluster.engine)
            .map(|options| Shared::strings(options.get("versions")))
            .unwrap_or_default();
        let major = |text: &str| text.split('.').next().and_then(|m| m.parse::<u32>().ok());
        if !versions.contains(&version) || major(&version) <= major(&cluster.version) {
            return Err(ApiError::invalid(format!(
                "cannot upgrade from {} to {version:?}; a later version of {} is required",
                cluster.version, cluster.engine
            )));
        }
        cluster.version = version;
        Ok(())
    })?;
    no_content()
}
