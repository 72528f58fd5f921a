//! The objects that hang off a cluster: its trusted sources (replaced as a set), its
//! connection pools, and its CA certificate written to a file.

use crate::client::{Client, Failure};
use crate::{DigitalOceanProvider, cluster_of, create_once, output, require_tls, segment};
use base64::Engine as _;
use dbplan_core::ResourceAddress;
use dbplan_core::kinds::digital_ocean_database_ca_certificate::CaCertificate;
use dbplan_core::kinds::digital_ocean_database_firewall::{Firewall, Rule};
use dbplan_core::kinds::digital_ocean_database_pool::Pool;
use dbplan_provider::{
    Applied, ChangeRequest, Existing, Field, FindOutcome, ProviderError, ReadOutcome, ReadRequest,
    RemoteObject, files,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn cluster_path(cluster: &str) -> String {
    format!("/v2/databases/{}", segment(cluster))
}

/// The trusted sources of the kind's attributes, as pairs.
fn pairs(rules: Vec<Rule>) -> Vec<(String, String)> {
    rules
        .into_iter()
        .map(|rule| (rule.source_type, rule.value))
        .collect()
}

/// `[{type, value}]` of an answer.
fn rules(value: Option<&Value>) -> Vec<(String, String)> {
    value
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|rule| {
                    let field = |name: &str| match rule.get(name) {
                        Some(Value::String(text)) => text.clone(),
                        Some(Value::Object(map)) => map
                            .get("value")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        Some(other) if !other.is_null() => other.to_string(),
                        _ => String::new(),
                    };
                    (field("type"), field("value"))
                })
                .collect()
        })
        .unwrap_or_default()
}

fn rules_json(rules: &[(String, String)]) -> Value {
    Value::Array(
        rules
            .iter()
            .map(|(kind, value)| json!({"type": kind, "value": value}))
            .collect(),
    )
}

pub(crate) async fn read_firewall(
    provider: &DigitalOceanProvider,
    request: &ReadRequest,
) -> Result<ReadOutcome, ProviderError> {
    let address = &request.address;
    let recorded: Firewall = request.decode()?;
    let Some(cluster) = request.provider_id.clone().or(recorded.cluster_id) else {
        return Ok(ReadOutcome::Gone);
    };
    let client = provider.client(address)?;
    let reply = match client
        .get(&format!("{}/firewall", cluster_path(&cluster)))
        .await
    {
        Ok(reply) => reply,
        Err(failure) if failure.is_not_found() => return Ok(ReadOutcome::Gone),
        Err(failure) => return Err(failure.error(address, "read the trusted sources")),
    };
    let remote = rules(reply.body.get("rules"));
    let recorded = pairs(recorded.rules);
    // The rules are a set: the recorded order stands when the members are the same.
    let mut sorted_remote = remote.clone();
    sorted_remote.sort();
    let mut sorted_recorded = recorded.clone();
    sorted_recorded.sort();
    let shown = if sorted_remote == sorted_recorded {
        recorded
    } else {
        remote
    };
    let mut attributes = BTreeMap::new();
    attributes.insert("cluster_id".to_owned(), json!(cluster));
    attributes.insert("rules".to_owned(), rules_json(&shown));
    let mut outputs = BTreeMap::new();
    outputs.insert("cluster_id".to_owned(), Field::plain(cluster.clone()));
    Ok(ReadOutcome::Found(RemoteObject {
        provider_id: Some(cluster),
        attributes,
        outputs,
    }))
}

pub(crate) async fn put_firewall(
    provider: &DigitalOceanProvider,
    request: &ChangeRequest,
) -> Result<Applied, ProviderError> {
    let address = &request.address;
    let client = provider.client(address)?;
    let wanted: Firewall = request.decode()?;
    let cluster = cluster_of(address, wanted.cluster_id)?;
    let body = json!({"rules": rules_json(&pairs(wanted.rules))});
    client
        .put(&format!("{}/firewall", cluster_path(&cluster)), &body)
        .await
        .map_err(|failure| failure.error(address, "set the trusted sources"))?;
    // Rules moved to another cluster leave the old one open to what it had: clear them.
    if let Some(old) = request.provider_id.as_ref().filter(|old| **old != cluster) {
        clear_firewall(client, address, old).await?;
    }
    let mut outputs = BTreeMap::new();
    outputs.insert("cluster_id".to_owned(), Field::plain(cluster.clone()));
    Ok(Applied {
        provider_id: Some(cluster),
        outputs,
    })
}

/// The trusted sources a cluster has now (`None` when the cluster is gone).
async fn current_rules(
    client: &Client,
    address: &ResourceAddress,
    cluster: &str,
) -> Result<Option<Vec<(String, String)>>, ProviderError> {
    match client
        .get(&format!("{}/firewall", cluster_path(cluster)))
        .await
    {
        Ok(reply) => Ok(Some(rules(reply.body.get("rules")))),
        Err(failure) if failure.is_not_found() => Ok(None),
        Err(failure) => Err(failure.error(address, "read the trusted sources")),
    }
}

/// Sets the trusted sources of a cluster dbplan has no record of them for: trusted sources it
/// already has were set outside dbplan (or by another firewall resource), and are replaced only
/// when the request permits it.
pub(crate) async fn create_firewall(
    provider: &DigitalOceanProvider,
    request: &ChangeRequest,
) -> Result<Applied, ProviderError> {
    let address = &request.address;
    let client = provider.client(address)?;
    let cluster = cluster_of(address, request.decode::<Firewall>()?.cluster_id)?;
    let current = current_rules(client, address, &cluster).await?;
    if current.is_some_and(|current| !current.is_empty()) {
        request.adopt.check(
            address,
            format!("the trusted sources of the cluster {cluster}"),
        )?;
    }
    put_firewall(provider, request).await
}

/// The trusted sources a create would replace, if the cluster has any.
pub(crate) async fn find_firewall(
    provider: &DigitalOceanProvider,
    request: &ChangeRequest,
) -> Result<FindOutcome, ProviderError> {
    let address = &request.address;
    let Some(cluster) = request.decode::<Firewall>()?.cluster_id else {
        return Ok(FindOutcome::Unknown);
    };
    let client = provider.client(address)?;
    let current = match current_rules(client, address, &cluster).await? {
        Some(current) if !current.is_empty() => current,
        _ => return Ok(FindOutcome::Absent),
    };
    let mut attributes = BTreeMap::new();
    attributes.insert("cluster_id".to_owned(), json!(cluster));
    attributes.insert("rules".to_owned(), rules_json(&current));
    Ok(FindOutcome::Found(Existing {
        remote: RemoteObject {
            provider_id: Some(cluster),
            attributes,
            outputs: BTreeMap::new(),
        },
        effects: vec![
            "the cluster's trusted sources will be replaced by the manifest's".to_owned(),
        ],
    }))
}

/// The connection pool a create would take over, if one of this name exists.
pub(crate) async fn find_pool(
    provider: &DigitalOceanProvider,
    request: &ChangeRequest,
) -> Result<FindOutcome, ProviderError> {
    let address = &request.address;
    let wanted: Pool = request.decode()?;
    let (Some(cluster), Some(name)) = (wanted.cluster_id, wanted.name) else {
        return Ok(FindOutcome::Unknown);
    };
    let client = provider.client(address)?;
    let Some(pool) = get_pool(client, &cluster, &name)
        .await
        .map_err(|failure| failure.error(address, "read the connection pool"))?
    else {
        return Ok(FindOutcome::Absent);
    };
    let mut attributes = BTreeMap::new();
    attributes.insert("cluster_id".to_owned(), json!(cluster));
    for key in ["name", "mode", "size", "db", "user"] {
        if let Some(value) = pool.get(key) {
            attributes.insert(key.to_owned(), value.clone());
        }
    }
    Ok(FindOutcome::Found(Existing {
        remote: RemoteObject {
            provider_id: Some(format!("{cluster}/{name}")),
            attributes,
            outputs: BTreeMap::new(),
        },
        effects: vec!["its mode, size, database and user will be set to the manifest's".to_owned()],
    }))
}

async fn clear_firewall(
    client: &Client,
    address: &ResourceAddress,
    cluster: &str,
) -> Result<(), ProviderError> {
    match client
        .put(
            &format!("{}/firewall", cluster_path(cluster)),
            &json!({"rules": []}),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(failure) if failure.is_not_found() => Ok(()),
        Err(failure) => Err(failure.error(address, "remove the trusted sources")),
    }
}

/// Deleting the trusted sources leaves the cluster without any (DigitalOcean then accepts
/// connections from anywhere, with credentials).
pub(crate) async fn delete_firewall(
    provider: &DigitalOceanProvider,
    request: &ChangeRequest,
) -> Result<(), ProviderError> {
    let address = &request.address;
    let recorded: Firewall = request.decode_prior()?;
    let Some(cluster) = request.provider_id.clone().or(recorded.cluster_id) else {
        return Ok(());
    };
    let client = provider.client(address)?;
    clear_firewall(client, address, &cluster).await
}

fn pool_path(cluster: &str, name: &str) -> String {
    format!("{}/pools/{}", cluster_path(cluster), segment(name))
}

async fn get_pool(client: &Client, cluster: &str, name: &str) -> Result<Option<Value>, Failure> {
    match client.get(&pool_path(cluster, name)).await {
        Ok(reply) => Ok(reply.body.get("pool").cloned()),
        Err(failure) if failure.is_not_found() => Ok(None),
        Err(failure) => Err(failure),
    }
}

fn pool_outputs(cluster: &str, pool: &Value) -> Applied {
    let connection = pool.get("connection").cloned().unwrap_or(Value::Null);
    let private = pool
        .get("private_connection")
        .cloned()
        .unwrap_or(Value::Null);
    let name = pool.get("name").and_then(Value::as_str).unwrap_or_default();
    let mut outputs = BTreeMap::new();
    let mut put = |key: &str, value: Option<&Value>, sensitive: bool| {
        outputs.insert(key.to_owned(), output(value, sensitive));
    };
    put("name", pool.get("name"), false);
    put("host", connection.get("host"), false);
    put("private_host", private.get("host"), false);
    put("port", connection.get("port"), false);
    put("database_name", connection.get("database"), false);
    put("username", connection.get("user"), false);
    put("password", connection.get("password"), true);
    // The pooler URI is what applications should use; it always requires TLS.
    let uri = |connection: &Value| {
        connection
            .get("uri")
            .and_then(Value::as_str)
            .map(|uri| json!(require_tls(uri)))
    };
    put("uri", uri(&connection).as_ref(), true);
    put("private_uri", uri(&private).as_ref(), true);
    Applied {
        provider_id: Some(format!("{cluster}/{name}")),
        outputs,
    }
}

fn pool_body(wanted: &Pool, with_name: bool) -> Value {
    let mut body = json!({
        "mode": wanted.mode,
        "size": wanted.size,
        "db": wanted.db,
    });
    if let Some(user) = &wanted.user {
        body["user"] = json!(user);
    }
    if with_name {
        body["name"] = json!(wanted.name);
    }
    body
}

pub(crate) async fn read_pool(
    provider: &DigitalOceanProvider,
    request: &ReadRequest,
) -> Result<ReadOutcome, ProviderError> {
    let address = &request.address;
    // The id is `CLUSTER_ID/POOL` (what apply records, and what `dbplan import` is given); an
    // id of another form names no pool (rather than the one the manifest names). Without an
    // id, the cluster and name as recorded.
    let located = match request.provider_id.as_deref() {
        Some(id) => id
            .split_once('/')
            .filter(|(cluster, name)| !cluster.is_empty() && !name.is_empty())
            .map(|(cluster, name)| (cluster.to_owned(), name.to_owned())),
        None => {
            let recorded: Pool = request.decode()?;
            recorded.cluster_id.zip(recorded.name)
        }
    };
    let Some((cluster, name)) = located else {
        return Ok(ReadOutcome::Gone);
    };
    let client = provider.client(address)?;
    let pool = match get_pool(client, &cluster, &name).await {
        Ok(Some(pool)) => pool,
        Ok(None) => return Ok(ReadOutcome::Gone),
        Err(failure) => return Err(failure.error(address, "read the connection pool")),
    };
    let mut attributes = BTreeMap::new();
    attributes.insert("cluster_id".to_owned(), json!(cluster));
    for key in ["name", "mode", "size", "db", "user"] {
        attributes.insert(
            key.to_owned(),
            pool.get(key).cloned().unwrap_or(Value::Null),
        );
    }
    Ok(ReadOutcome::Found(RemoteObject {
        provider_id: Some(format!("{cluster}/{name}")),
        attributes,
        outputs: pool_outputs(&cluster, &pool).outputs,
    }))
}

pub(crate) async fn create_pool(
    provider: &DigitalOceanProvider,
    request: &ChangeRequest,
) -> Result<Applied, ProviderError> {
    let address = &request.address;
    let client = provider.client(address)?;
    let wanted: Pool = request.decode()?;
    let cluster = cluster_of(address, wanted.cluster_id.clone())?;
    let name = wanted.name.clone().unwrap_or_default();
    let existing = get_pool(client, &cluster, &name)
        .await
        .map_err(|failure| failure.error(address, "read the connection pool"))?;
    if existing.is_some() {
        request
            .adopt
            .check(address, format!("a connection pool named {name:?}"))?;
        // A pool is configuration only: an existing one of this name is adopted (when the
        // request permits it) and given the manifest's settings.
        tracing::info!(address = %address, "adopting the existing connection pool {name:?}");
        return update_pool(provider, request).await;
    }
    let created = create_once(
        client,
        address,
        "create the connection pool",
        &format!("{}/pools", cluster_path(&cluster)),
        &pool_body(&wanted, true),
        || get_pool(client, &cluster, &name),
    )
    .await?;
    let pool = created.get("pool").cloned().unwrap_or(created);
    Ok(pool_outputs(&cluster, &pool))
}

pub(crate) async fn update_pool(
    provider: &DigitalOceanProvider,
    request: &ChangeRequest,
) -> Result<Applied, ProviderError> {
    let address = &request.address;
    let client = provider.client(address)?;
    let wanted: Pool = request.decode()?;
    let cluster = cluster_of(address, wanted.cluster_id.clone())?;
    let name = wanted.name.clone().unwrap_or_default();
    match client
        .put(&pool_path(&cluster, &name), &pool_body(&wanted, false))
        .await
    {
        Ok(_) => {}
        Err(failure) if failure.is_not_found() => {
            // Deleted outside dbplan since the plan: create it again.
            let created = create_once(
                client,
                address,
                "create the connection pool",
                &format!("{}/pools", cluster_path(&cluster)),
                &pool_body(&wanted, true),
                || get_pool(client, &cluster, &name),
            )
            .await?;
            let pool = created.get("pool").cloned().unwrap_or(created);
            return Ok(pool_outputs(&cluster, &pool));
        }
        Err(failure) => return Err(failure.error(address, "update the connection pool")),
    }
    let pool = get_pool(client, &cluster, &name)
        .await
        .map_err(|failure| failure.error(address, "read the connection pool"))?
        .ok_or_else(|| ProviderError::Conflict {
            address: address.clone(),
            message: format!("the connection pool {name:?} vanished while it was updated; run `dbplan apply` again"),
            source: None,
        })?;
    Ok(pool_outputs(&cluster, &pool))
}

pub(crate) async fn delete_pool(
    provider: &DigitalOceanProvider,
    request: &ChangeRequest,
) -> Result<(), ProviderError> {
    let address = &request.address;
    let before: Pool = request.decode_prior()?;
    let (Some(cluster), Some(name)) = (before.cluster_id, before.name) else {
        return Ok(());
    };
    let client = provider.client(address)?;
    match client.delete(&pool_path(&cluster, &name)).await {
        Ok(_) => Ok(()),
        Err(failure) if failure.is_not_found() => Ok(()),
        Err(failure) => Err(failure.error(address, "delete the connection pool")),
    }
}

const CA_FILE: &str = "CA certificate";

pub(crate) async fn write_ca(
    provider: &DigitalOceanProvider,
    request: &ChangeRequest,
) -> Result<Applied, ProviderError> {
    let address = &request.address;
    let client = provider.client(address)?;
    let wanted: CaCertificate = request.decode()?;
    let cluster = cluster_of(address, wanted.cluster_id)?;
    let file = wanted.file.unwrap_or_default();
    let reply = client
        .get(&format!("{}/ca", cluster_path(&cluster)))
        .await
        .map_err(|failure| failure.error(address, "read the CA certificate"))?;
    let encoded = reply
        .body
        .pointer("/ca/certificate")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .filter(|pem| pem.contains("-----BEGIN CERTIFICATE-----"))
        .ok_or_else(|| ProviderError::Api {
            address: address.clone(),
            code: None,
            message: "DigitalOcean answered with a CA certificate that is not base64-encoded PEM"
                .to_owned(),
            source: None,
        })?;
    let recorded = request.decode_prior::<CaCertificate>()?.file;
    let ownership = files::Ownership {
        recorded_file: recorded.as_deref(),
        outputs: &request.prior_outputs,
        adopt: request
            .attribute(files::ADOPT_ATTRIBUTE)
            .and_then(Value::as_bool)
            .unwrap_or(false),
    };
    let mut outputs = files::write_owned(address, CA_FILE, &file, decoded.as_bytes(), ownership)?;
    // A certificate moved to another file leaves no copy behind, unless the old file changed
    // since dbplan wrote it (then it is the user's, and stays).
    if let Some(old) = recorded.filter(|old| !files::same_place(old, &file)) {
        remove_ca(request, &old)?;
    }
    outputs.insert("file".to_owned(), Field::plain(file.clone()));
    outputs.insert("certificate".to_owned(), Field::plain(decoded));
    Ok(Applied {
        provider_id: Some(file),
        outputs,
    })
}

/// The file is the object: gone, it is written again. A file changed since dbplan wrote it is
/// still found: dbplan does not overwrite what it did not write, and `destroy` leaves it in
/// place (the plan says so).
pub(crate) fn read_ca(request: &ReadRequest) -> Result<ReadOutcome, ProviderError> {
    let file = request.decode::<CaCertificate>()?.file.unwrap_or_default();
    Ok(if std::fs::symlink_metadata(&file).is_ok() {
        // Its outputs are the certificate and a fingerprint of what dbplan wrote, which the
        // read does not make up.
        ReadOutcome::Found(RemoteObject {
            provider_id: Some(file),
            attributes: request.attributes.clone(),
            outputs: BTreeMap::new(),
        })
    } else {
        tracing::debug!(address = %request.address, "CA certificate {file} is gone");
        ReadOutcome::Gone
    })
}

/// Removes the certificate file while it is still what dbplan wrote (the recorded
/// fingerprint, or for a record from before fingerprints, the recorded certificate).
fn remove_ca(request: &ChangeRequest, file: &str) -> Result<(), ProviderError> {
    let legacy = request
        .prior_outputs
        .get("certificate")
        .and_then(Field::as_str)
        .map(str::as_bytes);
    files::remove_owned(
        &request.address,
        CA_FILE,
        file,
        &request.prior_outputs,
        legacy,
    )
    .map(drop)
}

pub(crate) fn delete_ca(request: &ChangeRequest) -> Result<(), ProviderError> {
    let recorded = request.decode_prior::<CaCertificate>()?.file;
    match recorded.or_else(|| request.provider_id.clone()) {
        Some(file) => remove_ca(request, &file),
        None => Ok(()),
    }
}
