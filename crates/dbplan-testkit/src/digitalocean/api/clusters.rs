//! Database clusters: list, create, read and delete, and the helpers the other cluster routes
//! share (`with_cluster`, the status checks).

use super::ca::certificate;
use super::firewall::parse_rules;
use super::request::{
    Answer, ApiError, body, no_content, now_text, ok, optional_int, optional_str, page,
    required_int, required_str,
};
use super::shared::{Shared, lock};
use super::tags::valid_tag;
use super::vpcs::default_vpc;
use crate::digitalocean::model::{Cluster, Status, User, World};
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

pub(super) fn random_password() -> String {
    let mut rng = fastrand::Rng::new();
    let tail: String = (0..20).map(|_| rng.alphanumeric()).collect();
    format!("AVNS_{tail}")
}

/// RAM in GB of a size slug (`db-s-2vcpu-4gb` → 4).
pub(super) fn ram_gb(size: &str) -> Option<i64> {
    size.split('-')
        .find_map(|part| part.strip_suffix("gb").and_then(|gb| gb.parse().ok()))
}

pub(super) async fn list_clusters(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Answer {
    let mut world = lock(&shared.world);
    let now = Instant::now();
    let tag = query.get("tag_name");
    for cluster in &mut world.clusters {
        cluster.settle(now);
    }
    let items: Vec<Value> = world
        .clusters
        .iter()
        .filter(|cluster| tag.is_none_or(|tag| cluster.tags.contains(tag)))
        .map(Cluster::json)
        .collect();
    page("databases", items, &query, &headers, "/v2/databases")
}

pub(super) fn with_cluster<T>(
    shared: &Shared,
    id: &str,
    work: impl FnOnce(&mut Cluster, &Shared) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let mut world = lock(&shared.world);
    let now = Instant::now();
    let cluster = world
        .clusters
        .iter_mut()
        .find(|cluster| cluster.id == id)
        .ok_or_else(ApiError::not_found)?;
    cluster.settle(now);
    work(cluster, shared)
}

pub(super) fn require_online(cluster: &Cluster) -> Result<(), ApiError> {
    if cluster.status == Status::Online {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "the cluster is {}; try again once it is online",
            cluster.status.as_str()
        )))
    }
}

pub(super) fn require_ready(cluster: &Cluster) -> Result<(), ApiError> {
    if cluster.status == Status::Creating {
        Err(ApiError::invalid(
            "the cluster is still being created; try again once it is online",
        ))
    } else {
        Ok(())
    }
}

pub(super) async fn create_cluster(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Answer {
    let map = body(&bytes)?;
    let name = required_str(&map, "name")?;
    let engine = required_str(&map, "engine")?;
    let num_nodes = required_int(&map, "num_nodes")?;
    let size = required_str(&map, "size")?;
    let region = required_str(&map, "region")?;
    let version = offered_version(&shared, &map, name, engine, region, num_nodes, size)?;
    let tags = parse_tags(map.get("tags"))?;
    let rules = match map.get("rules") {
        None | Some(Value::Null) => Vec::new(),
        value => parse_rules(value)?,
    };
    let storage = optional_int(&map, "storage_size_mib")?;
    if storage.is_some_and(|mib| mib <= 0) {
        return Err(ApiError::invalid("storage_size_mib must be positive"));
    }
    let project_id = optional_str(&map, "project_id")?.map(str::to_owned);
    let network = optional_str(&map, "private_network_uuid")?.filter(|id| !id.is_empty());
    let (create_delay, backend) = creation_settings(&shared, engine);

    // The world's lock is not held across the server's work below.
    let (json, admin_sql) = {
        let mut world = lock(&shared.world);
        if world.clusters.iter().any(|cluster| cluster.name == name) {
            return Err(ApiError::invalid(format!(
                "a database cluster named {name:?} already exists"
            )));
        }
        let network = cluster_network(&mut world, network, region)?;
        for tag in &tags {
            world.tags.insert(tag.clone());
        }
        let admin = admin_user(engine);
        world.passwords.push(admin.password.clone());
        world.next_host += 1;
        let id = uuid::Uuid::new_v4().to_string();
        let ram = ram_gb(size).unwrap_or(1);
        let admin_sql = backend
            .as_ref()
            .map(|_| super::backend::admin_sql(&admin.name, &admin.password));
        let cluster = Cluster {
            ca: backend
                .as_ref()
                .map_or_else(|| certificate(&id), |backend| backend.ca_pem.clone()),
            id,
            name: name.to_owned(),
            engine: engine.to_owned(),
            version,
            num_nodes,
            size: size.to_owned(),
            region: region.to_owned(),
            private_network_uuid: network,
            tags,
            project_id,
            storage_size_mib: storage.unwrap_or(ram * 10 * 1024),
            created_at: now_text(),
            status: Status::Creating,
            busy_until: Some(Instant::now() + create_delay),
            maintenance: ("sunday".to_owned(), "04:00:00".to_owned()),
            rules,
            pools: Vec::new(),
            dbs: vec!["defaultdb".to_owned()],
            users: vec![admin],
            host_number: 8_000_000 + world.next_host,
            backend_host: backend.map(|backend| backend.host),
        };
        let json = cluster.json();
        world.clusters.push(cluster);
        (json, admin_sql)
    };
    if let Some(sql) = admin_sql {
        super::backend::make_admin(&shared, sql).await?;
    }
    ok(StatusCode::CREATED, json!({"database": json}))
}

/// Checks a new cluster against the engine options DigitalOcean publishes (engine, name, region,
/// version, then nodes and size, in the API's order) and returns the version to create: the one
/// asked for, or the engine's default.
fn offered_version(
    shared: &Shared,
    map: &serde_json::Map<String, Value>,
    name: &str,
    engine: &str,
    region: &str,
    num_nodes: i64,
    size: &str,
) -> Result<String, ApiError> {
    let Some(options) = shared.engine(engine) else {
        return Err(ApiError::invalid(format!("invalid engine {engine:?}")));
    };
    if name.is_empty() || name.len() > 64 {
        return Err(ApiError::invalid("name must be 1 to 64 characters"));
    }
    if !Shared::strings(options.get("regions"))
        .iter()
        .any(|r| r == region)
    {
        return Err(ApiError::invalid(format!(
            "region {region:?} is not available for {engine}"
        )));
    }
    let versions = Shared::strings(options.get("versions"));
    let version = match optional_str(map, "version")? {
        Some(version) => version.to_owned(),
        None => options
            .get("default_version")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| versions.last().cloned())
            .unwrap_or_default(),
    };
    if !versions.contains(&version) {
        return Err(ApiError::invalid(format!(
            "version {version:?} is not available for {engine}; available: {}",
            versions.join(", ")
        )));
    }
    match shared.sizes(engine, num_nodes) {
        None => {
            return Err(ApiError::invalid(format!(
                "{engine} clusters cannot have {num_nodes} nodes"
            )));
        }
        Some(sizes) if !sizes.iter().any(|s| s == size) => {
            return Err(ApiError::invalid(format!(
                "size {size:?} is not available for {engine} with {num_nodes} nodes"
            )));
        }
        Some(_) => {}
    }
    Ok(version)
}

/// The `tags` of a new cluster: absent, or an array of valid tag names.
fn parse_tags(value: Option<&Value>) -> Result<Vec<String>, ApiError> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item.as_str() {
                Some(tag) if valid_tag(tag) => Ok(tag.to_owned()),
                _ => Err(ApiError::invalid(format!(
                    "tag {item} may contain only letters, numbers, colons, dashes and underscores"
                ))),
            })
            .collect(),
        Some(_) => Err(ApiError::invalid("tags must be an array of strings")),
    }
}

/// The VPC a new cluster joins: the one asked for, which must be in the cluster's region, or the
/// region's default VPC (made if the account has none yet).
fn cluster_network(
    world: &mut World,
    requested: Option<&str>,
    region: &str,
) -> Result<String, ApiError> {
    match requested {
        Some(id) => match world.vpcs.iter().find(|vpc| vpc.id == id) {
            Some(vpc) if vpc.region == region => Ok(id.to_owned()),
            Some(vpc) => Err(ApiError::invalid(format!(
                "VPC {id} is in {}, not in {region}",
                vpc.region
            ))),
            None => Err(ApiError::invalid(format!("VPC {id} does not exist"))),
        },
        None => Ok(default_vpc(world, region)),
    }
}

/// How long a new cluster of `engine` stays `creating`, and the server behind it, if any.
fn creation_settings(
    shared: &Shared,
    engine: &str,
) -> (std::time::Duration, Option<crate::digitalocean::SqlBackend>) {
    let config = lock(&shared.config);
    (
        config.create_delay,
        config.sql.clone().filter(|_| engine == "pg"),
    )
}

/// The admin user DigitalOcean makes with a cluster (`default` for Redis and Valkey).
fn admin_user(engine: &str) -> User {
    User {
        name: if matches!(engine, "redis" | "valkey") {
            "default".to_owned()
        } else {
            "doadmin".to_owned()
        },
        role: "primary",
        password: random_password(),
    }
}

pub(super) async fn get_cluster(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Answer {
    let json = with_cluster(&shared, &id, |cluster, _| Ok(cluster.json()))?;
    ok(StatusCode::OK, json!({"database": json}))
}

pub(super) async fn delete_cluster(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
) -> Answer {
    let mut world = lock(&shared.world);
    let before = world.clusters.len();
    world.clusters.retain(|cluster| cluster.id != id);
    if world.clusters.len() == before {
        return Err(ApiError::not_found());
    }
    no_content()
}
