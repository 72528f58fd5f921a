//! `DigitalOceanDatabaseCluster`: create (and wait from `creating` to `online`), adopt an
//! existing cluster of the same name when the request permits it and it matches, resize (size, node count, storage) in
//! place, upgrade the engine version, set the maintenance window and tags, delete.

use crate::client::{Client, Failure};
use crate::{DigitalOceanProvider, create_once, output, read_as, segment};
use dbplan_core::ResourceAddress;
use dbplan_core::kinds::digital_ocean_database_cluster::{Cluster, MaintenanceWindow};
use dbplan_provider::{
    Applied, ChangeRequest, Existing, FindOutcome, ProviderError, ReadOutcome, ReadRequest,
    RemoteObject,
};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

const MIB_PER_GIB: i64 = 1024;

fn path(id: &str) -> String {
    format!("/v2/databases/{}", segment(id))
}

/// `HH:MM:SS` (as the API answers) → `HH:MM` (as manifests and requests say).
fn hour(text: &str) -> String {
    let parts: Vec<&str> = text.split(':').collect();
    match parts.as_slice() {
        [hours, minutes, ..] => format!("{hours}:{minutes}"),
        _ => text.to_owned(),
    }
}

/// A cluster as the manifest's attributes describe it.
fn attributes(cluster: &Value) -> BTreeMap<String, Value> {
    let field = |name: &str| cluster.get(name).cloned().unwrap_or(Value::Null);
    let mut attributes = BTreeMap::new();
    attributes.insert("cluster_name".to_owned(), field("name"));
    attributes.insert("engine".to_owned(), field("engine"));
    attributes.insert("engine_version".to_owned(), field("version"));
    attributes.insert("region".to_owned(), field("region"));
    attributes.insert("size_slug".to_owned(), field("size"));
    attributes.insert("node_count".to_owned(), field("num_nodes"));
    attributes.insert("vpc".to_owned(), field("private_network_uuid"));
    if let Some(mib) = cluster.get("storage_size_mib").and_then(Value::as_i64) {
        attributes.insert("storage_gib".to_owned(), json!(mib / MIB_PER_GIB));
    }
    if let Some(window) = cluster.get("maintenance_window").filter(|w| !w.is_null()) {
        attributes.insert(
            "maintenance_window".to_owned(),
            json!({
                "day": window.get("day").cloned().unwrap_or(Value::Null),
                "hour": hour(window.get("hour").and_then(Value::as_str).unwrap_or_default()),
            }),
        );
    }
    let tags = cluster
        .get("tags")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    attributes.insert("tags".to_owned(), Value::Array(tags));
    if let Some(project) = cluster.get("project_id").filter(|p| !p.is_null()) {
        attributes.insert("project_id".to_owned(), project.clone());
    }
    attributes
}

/// The cluster of an answer, read as a cluster's attributes.
fn remote(address: &ResourceAddress, cluster: &Value) -> Result<Cluster, ProviderError> {
    read_as(address, &attributes(cluster))
}

/// The cluster's attributes, in the recorded form where both say the same thing: tags in the
/// recorded order, the maintenance hour as written (`04:00` or `04:00:00`), a version written
/// with its minor part, and no storage where the manifest leaves it to the size's default.
fn remote_attributes(
    address: &ResourceAddress,
    cluster: &Value,
    recorded: &Cluster,
) -> Result<BTreeMap<String, Value>, ProviderError> {
    let mut remote = attributes(cluster);
    let read: Cluster = read_as(address, &remote)?;
    if let Some(recorded_tags) = &recorded.tags
        && tag_set(read.tags.as_ref()) == tag_set(Some(recorded_tags))
    {
        remote.insert("tags".to_owned(), json!(recorded_tags));
    }
    if let (Some(recorded_window), Some(remote_window)) =
        (&recorded.maintenance_window, &read.maintenance_window)
        && same_window(recorded_window, remote_window)
    {
        remote.insert(
            "maintenance_window".to_owned(),
            json!({"day": recorded_window.day, "hour": recorded_window.hour}),
        );
    }
    if let (Some(written), Some(actual)) = (&recorded.engine_version, &read.engine_version)
        && same_version(written, actual)
    {
        remote.insert("engine_version".to_owned(), json!(written));
    }
    if recorded.storage_gib.unwrap_or(0) <= 0 {
        remote.remove("storage_gib");
    }
    Ok(remote)
}

/// Whether two maintenance windows are the same (the hour compared as `HH:MM`).
fn same_window(a: &MaintenanceWindow, b: &MaintenanceWindow) -> bool {
    let hour_of = |window: &MaintenanceWindow| hour(window.hour.as_deref().unwrap_or_default());
    a.day == b.day && hour_of(a) == hour_of(b)
}

/// Whether a written version and the API's name the same release (`16` and `16`, `8.0` and
/// `8`): equal, or one the other with a `.0` minor.
fn same_version(written: &str, actual: &str) -> bool {
    written == actual
        || written.strip_suffix(".0") == Some(actual)
        || actual.strip_suffix(".0") == Some(written)
}

fn outputs(cluster: &Value) -> Applied {
    let id = cluster.get("id").and_then(Value::as_str).map(str::to_owned);
    let connection = cluster.get("connection").cloned().unwrap_or(Value::Null);
    let private = cluster
        .get("private_connection")
        .cloned()
        .unwrap_or(Value::Null);
    let mut outputs = BTreeMap::new();
    let mut put = |name: &str, value: Option<&Value>, sensitive: bool| {
        outputs.insert(name.to_owned(), output(value, sensitive));
    };
    // The admin's password, and the connection URIs that carry it, are not recorded: dbplan
    // reads them from the API each time it connects as the admin (its tenants).
    put("cluster_id", cluster.get("id"), false);
    put("host", connection.get("host"), false);
    put("private_host", private.get("host"), false);
    put("port", connection.get("port"), false);
    put("database_name", connection.get("database"), false);
    put("username", connection.get("user"), false);
    put("database_user", connection.get("user"), false);
    let urn = id.as_ref().map(|id| json!(format!("do:dbaas:{id}")));
    put("urn", urn.as_ref(), false);
    // The API leaves `database` empty in some answers; the URI names it.
    if outputs
        .get("database_name")
        .and_then(|field| field.as_str())
        .is_none_or(str::is_empty)
        && let Some(name) = connection
            .get("uri")
            .and_then(Value::as_str)
            .and_then(database_of)
    {
        outputs.insert(
            "database_name".to_owned(),
            output(Some(&json!(name)), false),
        );
    }
    Applied {
        provider_id: id,
        outputs,
    }
}

/// The database a connection URI names (`…:25060/defaultdb?sslmode=require` → `defaultdb`).
pub(crate) fn database_of(uri: &str) -> Option<String> {
    let rest = uri.split_once("://")?.1;
    let path = rest.split_once('/')?.1;
    let name = path.split(['?', '#']).next()?;
    (!name.is_empty()).then(|| name.to_owned())
}

async fn get(client: &Client, id: &str) -> Result<Value, Failure> {
    let reply = client.get(&path(id)).await?;
    Ok(reply.body.get("database").cloned().unwrap_or(Value::Null))
}

pub(crate) async fn find(client: &Client, name: &str) -> Result<Option<Value>, Failure> {
    let clusters = client.list("/v2/databases", "databases").await?;
    Ok(clusters
        .into_iter()
        .find(|cluster| cluster.get("name").and_then(Value::as_str) == Some(name)))
}

fn status(cluster: &Value) -> &str {
    cluster
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// Waits until the cluster is `online`; returns it as it then is.
async fn wait_online(
    provider: &DigitalOceanProvider,
    address: &ResourceAddress,
    id: &str,
) -> Result<Value, ProviderError> {
    wait_for(provider, address, id, "the cluster to be online", |_| true).await
}

/// Waits until the cluster is `online` and `done` says the change shows (a resize is accepted
/// with `202` before the cluster turns `resizing`, so `online` alone may still be the old one).
async fn wait_for(
    provider: &DigitalOceanProvider,
    address: &ResourceAddress,
    id: &str,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Result<Value, ProviderError> {
    let client = provider.client(address)?;
    let latest = std::sync::Mutex::new(Value::Null);
    let done = &done;
    dbplan_provider::wait_until(address, what, provider.wait_limit(), || {
        let latest = &latest;
        async move {
            let cluster = get(client, id)
                .await
                .map_err(|failure| failure.error(address, "read the cluster"))?;
            let finished = status(&cluster) == "online" && done(&cluster);
            tracing::debug!(
                address = %address,
                status = status(&cluster),
                "waiting for the cluster"
            );
            if let Ok(mut latest) = latest.lock() {
                *latest = cluster;
            }
            Ok(finished)
        }
    })
    .await?;
    Ok(latest.into_inner().unwrap_or(Value::Null))
}

/// The cluster a read is about, as the API has it now: by the id recorded, else (a create
/// interrupted before its answer was recorded, a reference never read) by `name`; `None` when
/// there is none.
pub(crate) async fn read_cluster(
    provider: &DigitalOceanProvider,
    request: &ReadRequest,
    name: Option<String>,
) -> Result<Option<Value>, ProviderError> {
    let address = &request.address;
    let client = provider.client(address)?;
    match (&request.provider_id, name) {
        (Some(id), _) => match get(client, id).await {
            Ok(cluster) => Ok(Some(cluster)),
            Err(failure) if failure.is_not_found() => Ok(None),
            Err(failure) => Err(failure.error(address, "read the cluster")),
        },
        (None, Some(name)) => find(client, &name)
            .await
            .map_err(|failure| failure.error(address, "list the database clusters")),
        (None, None) => Ok(None),
    }
}

pub(crate) async fn read(
    provider: &DigitalOceanProvider,
    request: &ReadRequest,
) -> Result<ReadOutcome, ProviderError> {
    let address = &request.address;
    let name = request.decode::<Cluster>()?.cluster_name;
    let cluster = read_cluster(provider, request, name).await?;
    Ok(match cluster {
        Some(cluster) => ReadOutcome::Found(RemoteObject {
            provider_id: cluster.get("id").and_then(Value::as_str).map(str::to_owned),
            attributes: remote_attributes(address, &cluster, &request.decode()?)?,
            outputs: outputs(&cluster).outputs,
        }),
        None => ReadOutcome::Gone,
    })
}

fn major(version: &str) -> Option<u64> {
    version.split('.').next()?.parse().ok()
}

fn tag_set(tags: Option<&Vec<String>>) -> BTreeSet<String> {
    tags.into_iter().flatten().cloned().collect()
}

/// What differs between an existing cluster and the manifest, for the fields a create cannot
/// change afterwards.
fn mismatches(wanted: &Cluster, remote: &Cluster) -> Vec<String> {
    let mut differences = Vec::new();
    for (label, wanted, remote) in [
        ("engine", &wanted.engine, &remote.engine),
        ("region", &wanted.region, &remote.region),
        ("sizeSlug", &wanted.size_slug, &remote.size_slug),
    ] {
        if wanted != remote {
            differences.push(format!(
                "{label} is {} there",
                remote.as_deref().unwrap_or_default()
            ));
        }
    }
    if wanted.node_count != remote.node_count {
        differences.push(format!(
            "nodeCount is {} there",
            remote
                .node_count
                .map(|count| count.to_string())
                .unwrap_or_default()
        ));
    }
    let wanted_version = wanted.engine_version.as_deref().unwrap_or_default();
    let remote_version = remote.engine_version.as_deref().unwrap_or_default();
    if major(wanted_version) != major(remote_version) {
        differences.push(format!("engineVersion is {remote_version} there"));
    }
    if let Some(vpc) = &wanted.vpc
        && remote.vpc.as_ref() != Some(vpc)
    {
        differences.push(format!(
            "it is in VPC {}",
            remote.vpc.as_deref().unwrap_or_default()
        ));
    }
    differences
}

pub(crate) async fn create(
    provider: &DigitalOceanProvider,
    request: &ChangeRequest,
) -> Result<Applied, ProviderError> {
    let address = &request.address;
    let client = provider.client(address)?;
    let wanted: Cluster = request.decode()?;
    let name = wanted.cluster_name.clone().unwrap_or_default();
    let existing = find(client, &name)
        .await
        .map_err(|failure| failure.error(address, "list the database clusters"))?;
    let cluster = match existing {
        Some(cluster) => {
            request
                .adopt
                .check(address, format!("a database cluster named {name:?}"))?;
            let differences = mismatches(&wanted, &remote(address, &cluster)?);
            if !differences.is_empty() {
                return Err(ProviderError::Conflict {
                    address: address.clone(),
                    message: format!(
                        "a database cluster named {name:?} already exists and does not match this manifest: {}; make the manifest match to adopt it, or choose another clusterName",
                        differences.join(", ")
                    ),
                    source: None,
                });
            }
            tracing::info!(address = %address, "adopting the existing cluster {name:?}");
            cluster
        }
        None => {
            let mut body = json!({
                "name": name,
                "engine": wanted.engine,
                "version": wanted.engine_version,
                "region": wanted.region,
                "size": wanted.size_slug,
                "num_nodes": wanted.node_count,
            });
            if let Some(vpc) = &wanted.vpc {
                body["private_network_uuid"] = json!(vpc);
            }
            let wanted_tags = tag_set(wanted.tags.as_ref());
            if !wanted_tags.is_empty() {
                body["tags"] = json!(wanted_tags);
            }
            if let Some(project) = &wanted.project_id {
                body["project_id"] = json!(project);
            }
            if let Some(gib) = wanted.storage_gib.filter(|gib| *gib > 0) {
                body["storage_size_mib"] = json!(gib * MIB_PER_GIB);
            }
            let created = create_once(
                client,
                address,
                "create the database cluster",
                "/v2/databases",
                &body,
                || find(client, &name),
            )
            .await?;
            created.get("database").cloned().unwrap_or(created)
        }
    };
    let Some(id) = cluster
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .map(str::to_owned)
    else {
        return Err(ProviderError::Api {
            address: address.clone(),
            code: None,
            message: "DigitalOcean answered the create without the cluster's id; run `dbplan plan` to find the cluster".to_owned(),
            source: None,
        });
    };
    let mut cluster = wait_online(provider, address, &id).await?;
    if set_window(client, address, &id, &wanted, &remote(address, &cluster)?).await? {
        cluster = get(client, &id)
            .await
            .map_err(|failure| failure.error(address, "read the cluster"))?;
    }
    Ok(outputs(&cluster))
}

/// Sets the maintenance window when the manifest names one that differs; says whether it did.
async fn set_window(
    client: &Client,
    address: &ResourceAddress,
    id: &str,
    wanted: &Cluster,
    remote: &Cluster,
) -> Result<bool, ProviderError> {
    let Some(window) = &wanted.maintenance_window else {
        return Ok(false);
    };
    if remote
        .maintenance_window
        .as_ref()
        .is_some_and(|current| same_window(current, window))
    {
        return Ok(false);
    }
    let body = json!({"day": window.day, "hour": window.hour});
    client
        .put(&format!("{}/maintenance", path(id)), &body)
        .await
        .map_err(|failure| failure.error(address, "set the maintenance window"))?;
    Ok(true)
}

// Long: an update's steps in the order DigitalOcean accepts them (version upgrade, then resize,
// then maintenance window, then tags), each waiting for the cluster to settle before the next;
// one sequence, so the order and the waits read top to bottom.
pub(crate) async fn update(
    provider: &DigitalOceanProvider,
    request: &ChangeRequest,
) -> Result<Applied, ProviderError> {
    let address = &request.address;
    let client = provider.client(address)?;
    let Some(id) = request.provider_id.clone() else {
        return create(provider, request).await;
    };
    let wanted: Cluster = request.decode()?;
    let before: Cluster = request.decode_prior()?;
    if wanted.project_id != before.project_id && wanted.project_id.is_some() {
        return Err(ProviderError::Unsupported {
            address: address.clone(),
            message: "a cluster moves to another project through DigitalOcean's Projects API, which dbplan does not manage; assign it in the control panel (or `doctl projects resources assign`), then set projectId to match".to_owned(),
        });
    }
    let mut cluster = match get(client, &id).await {
        Ok(cluster) => cluster,
        Err(failure) if failure.is_not_found() => return create(provider, request).await,
        Err(failure) => return Err(failure.error(address, "read the cluster")),
    };
    let mut remote = self::remote(address, &cluster)?;

    // Engine upgrade: only forward.
    let wanted_version = wanted.engine_version.clone().unwrap_or_default();
    let remote_version = remote.engine_version.clone().unwrap_or_default();
    if !same_version(&wanted_version, &remote_version)
        && major(&wanted_version) != major(&remote_version)
    {
        if major(&wanted_version) < major(&remote_version) {
            return Err(ProviderError::Unsupported {
                address: address.clone(),
                message: format!(
                    "DigitalOcean cannot downgrade a cluster from {remote_version} to {wanted_version}; restore a backup into a new cluster instead"
                ),
            });
        }
        wait_online(provider, address, &id).await?;
        client
            .put(
                &format!("{}/upgrade", path(&id)),
                &json!({"version": wanted_version}),
            )
            .await
            .map_err(|failure| failure.error(address, "upgrade the engine version"))?;
        let wanted_major = major(&wanted_version);
        cluster = wait_for(provider, address, &id, "the upgrade to finish", |cluster| {
            major(
                cluster
                    .get("version")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            ) == wanted_major
        })
        .await?;
        remote = self::remote(address, &cluster)?;
    }

    // Resize: size, node count and storage in one call.
    let wanted_storage = wanted.storage_gib.filter(|gib| *gib > 0);
    let resize = wanted.size_slug != remote.size_slug
        || wanted.node_count != remote.node_count
        || wanted_storage.is_some_and(|gib| Some(gib) != remote.storage_gib);
    if resize {
        wait_online(provider, address, &id).await?;
        let mut body = json!({
            "size": wanted.size_slug,
            "num_nodes": wanted.node_count,
        });
        if let Some(gib) = wanted_storage {
            body["storage_size_mib"] = json!(gib * MIB_PER_GIB);
        }
        client
            .put(&format!("{}/resize", path(&id)), &body)
            .await
            .map_err(|failure| failure.error(address, "resize the cluster"))?;
        let (size, nodes) = (&wanted.size_slug, wanted.node_count);
        cluster = wait_for(provider, address, &id, "the resize to finish", |cluster| {
            // An answer that does not read as a cluster has not shown the resize yet.
            self::remote(address, cluster).is_ok_and(|now| {
                now.size_slug == *size
                    && now.node_count == nodes
                    && wanted_storage.is_none_or(|gib| now.storage_gib == Some(gib))
            })
        })
        .await?;
        remote = self::remote(address, &cluster)?;
    }

    if set_window(client, address, &id, &wanted, &remote).await? {
        cluster = get(client, &id)
            .await
            .map_err(|failure| failure.error(address, "read the cluster"))?;
        remote = self::remote(address, &cluster)?;
    }

    // Tags: DigitalOcean's Tags API tags and untags a database (`resource_type: database`).
    // Tags are dbplan's only when the manifest sets them (or did, and now removes them).
    let managed = wanted.tags.is_some() || before.tags.is_some();
    let wanted_tags = tag_set(wanted.tags.as_ref());
    let remote_tags = tag_set(remote.tags.as_ref());
    if managed && wanted_tags != remote_tags {
        sync_tags(client, address, &id, &wanted_tags, &remote_tags).await?;
        cluster = get(client, &id)
            .await
            .map_err(|failure| failure.error(address, "read the cluster"))?;
    }
    Ok(outputs(&cluster))
}

/// Tags the cluster with the tags it lacks (creating them first) and untags the ones it should
/// not have, through DigitalOcean's Tags API (`resource_type: database`).
async fn sync_tags(
    client: &Client,
    address: &ResourceAddress,
    id: &str,
    wanted_tags: &BTreeSet<String>,
    remote_tags: &BTreeSet<String>,
) -> Result<(), ProviderError> {
    let resource = json!({"resources": [{"resource_id": id, "resource_type": "database"}]});
    for tag in wanted_tags.difference(remote_tags) {
        match client.post("/v2/tags", &json!({"name": tag})).await {
            Ok(_) => {}
            // The tag exists already.
            Err(failure) if matches!(failure.status(), Some(409 | 422)) => {}
            Err(failure) => {
                return Err(failure.error(address, &format!("create the tag {tag:?}")));
            }
        }
        client
            .post(&format!("/v2/tags/{}/resources", segment(tag)), &resource)
            .await
            .map_err(|failure| failure.error(address, &format!("tag the cluster {tag:?}")))?;
    }
    for tag in remote_tags.difference(wanted_tags) {
        match client
            .delete_with(&format!("/v2/tags/{}/resources", segment(tag)), &resource)
            .await
        {
            Ok(_) => {}
            Err(failure) if failure.is_not_found() => {}
            Err(failure) => {
                return Err(failure.error(address, &format!("untag the cluster {tag:?}")));
            }
        }
    }
    Ok(())
}

pub(crate) async fn delete(
    provider: &DigitalOceanProvider,
    request: &ChangeRequest,
) -> Result<(), ProviderError> {
    let address = &request.address;
    let client = provider.client(address)?;
    let id = match &request.provider_id {
        Some(id) => id.clone(),
        // A create interrupted before its answer was recorded: the cluster may exist all the
        // same, and is found by name.
        None => {
            let Some(name) = request.decode_prior::<Cluster>()?.cluster_name else {
                return Ok(());
            };
            let found = find(client, &name)
                .await
                .map_err(|failure| failure.error(address, "list the database clusters"))?;
            match found
                .and_then(|cluster| cluster.get("id").and_then(Value::as_str).map(str::to_owned))
            {
                Some(id) => id,
                None => return Ok(()),
            }
        }
    };
    match client.delete(&path(&id)).await {
        Ok(_) => {}
        Err(failure) if failure.is_not_found() => return Ok(()),
        Err(failure) => return Err(failure.error(address, "delete the cluster")),
    }
    let id = id.as_str();
    dbplan_provider::wait_until(
        address,
        "the cluster to be deleted",
        provider.wait_limit(),
        || async {
            match get(client, id).await {
                Ok(_) => Ok(false),
                Err(failure) if failure.is_not_found() => Ok(true),
                Err(failure) => Err(failure.error(address, "read the cluster")),
            }
        },
    )
    .await
}

/// The cluster a create would take over, if one of this name exists, with what apply would do
/// to it.
pub(crate) async fn find_existing(
    provider: &DigitalOceanProvider,
    request: &ChangeRequest,
) -> Result<FindOutcome, ProviderError> {
    let address = &request.address;
    let client = provider.client(address)?;
    let wanted: Cluster = request.decode()?;
    let Some(name) = wanted.cluster_name.clone() else {
        return Ok(FindOutcome::Unknown);
    };
    let Some(cluster) = find(client, &name)
        .await
        .map_err(|failure| failure.error(address, "list the database clusters"))?
    else {
        return Ok(FindOutcome::Absent);
    };
    let mut effects = vec![
        "its size, storage, engine version, maintenance window and tags will be set to the manifest's".to_owned(),
    ];
    let differences = mismatches(&wanted, &remote(address, &cluster)?);
    if !differences.is_empty() {
        effects.push(format!("apply cannot adopt it: {}", differences.join(", ")));
    }
    Ok(FindOutcome::Found(Existing {
        remote: RemoteObject {
            provider_id: cluster.get("id").and_then(Value::as_str).map(str::to_owned),
            attributes: remote_attributes(address, &cluster, &wanted)?,
            outputs: BTreeMap::new(),
        },
        effects,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_read_as_manifest_attributes() {
        let cluster = json!({
            "id": "9cc10173-e9ea-4176-9dbc-a4cee4c4ff30",
            "name": "backend", "engine": "pg", "version": "14", "num_nodes": 2,
            "size": "db-s-2vcpu-4gb", "region": "nyc3", "status": "online",
            "private_network_uuid": "d455e75d-4858-4eec-8c95-da2f0a5f93a7",
            "tags": null, "storage_size_mib": 61440,
            "maintenance_window": {"day": "tuesday", "hour": "08:45:12", "pending": false},
            "connection": {"uri": "postgres://doadmin:pw@h:25060/defaultdb?sslmode=require",
                           "database": "", "host": "h", "port": 25060, "user": "doadmin",
                           "password": "pw", "ssl": true}
        });
        let read = attributes(&cluster);
        assert_eq!(
            read["maintenance_window"],
            json!({"day": "tuesday", "hour": "08:45"})
        );
        assert_eq!(read["storage_gib"], json!(60));
        assert_eq!(read["tags"], json!([]));
        let applied = outputs(&cluster);
        assert_eq!(applied.outputs["database_name"].value, json!("defaultdb"));
        let recorded = serde_json::to_string(&applied.outputs).expect("fields serialise");
        assert!(
            !recorded.contains("pw@") && !recorded.contains("\"pw\""),
            "{recorded}"
        );
        assert_eq!(applied.outputs["username"].value, json!("doadmin"));
        assert_eq!(
            applied.outputs["urn"].value,
            json!("do:dbaas:9cc10173-e9ea-4176-9dbc-a4cee4c4ff30")
        );
    }
}
