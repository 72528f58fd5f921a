//! `DigitalOceanDatabaseClusterReference`: a cluster dbplan reads and never changes. Create
//! and update look it up by name (`GET /v2/databases`) and record what the API reports as
//! outputs, none of its credentials; a read gets it by its id and reports it gone when the API
//! has no such cluster; delete only forgets it.

use crate::cluster::{database_of, find, read_cluster};
use crate::{DigitalOceanProvider, output};
use dbplan_core::kinds::digital_ocean_database_cluster_reference::Reference;
use dbplan_provider::{
    Applied, ChangeRequest, Field, ProviderError, ReadOutcome, ReadRequest, RemoteObject,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The referenced cluster, looked up by name now; an error that says dbplan does not create it
/// when the account has no cluster of that name.
pub(crate) async fn apply(
    provider: &DigitalOceanProvider,
    request: &ChangeRequest,
) -> Result<Applied, ProviderError> {
    let address = &request.address;
    let client = provider.client(address)?;
    let reference: Reference = request.decode()?;
    let name = reference.cluster_name.unwrap_or_default();
    let Some(cluster) = find(client, &name)
        .await
        .map_err(|failure| failure.error(address, "list the database clusters"))?
    else {
        return Err(ProviderError::Conflict {
            address: address.clone(),
            message: format!(
                "DigitalOcean has no database cluster named {name:?} in this account; dbplan only reads a referenced cluster and never creates one: check `cluster_name` and the token's account, or declare a DigitalOceanDatabaseCluster for dbplan to manage"
            ),
            source: None,
        });
    };
    Ok(Applied {
        provider_id: id_of(&cluster),
        outputs: outputs(&cluster),
    })
}

/// What the API reports of the cluster now, by the id recorded (by name when none is: plan's
/// read of a reference not recorded yet); gone when it has none.
pub(crate) async fn read(
    provider: &DigitalOceanProvider,
    request: &ReadRequest,
) -> Result<ReadOutcome, ProviderError> {
    let name = request.decode::<Reference>()?.cluster_name;
    Ok(match read_cluster(provider, request, name).await? {
        Some(cluster) => ReadOutcome::Found(RemoteObject {
            provider_id: id_of(&cluster),
            attributes: attributes(&cluster),
            outputs: outputs(&cluster),
        }),
        None => ReadOutcome::Gone,
    })
}

fn id_of(cluster: &Value) -> Option<String> {
    cluster.get("id").and_then(Value::as_str).map(str::to_owned)
}

/// The reference's attributes as the API has them: its name.
fn attributes(cluster: &Value) -> BTreeMap<String, Value> {
    BTreeMap::from([(
        "cluster_name".to_owned(),
        cluster.get("name").cloned().unwrap_or(Value::Null),
    )])
}

/// What a reference records: where the cluster is and what it runs, never its password or its
/// connection URIs (which carry the password); tenants read the login from the API when they
/// connect.
fn outputs(cluster: &Value) -> BTreeMap<String, Field> {
    let connection = cluster.get("connection").unwrap_or(&Value::Null);
    let private = cluster.get("private_connection").unwrap_or(&Value::Null);
    let mut outputs = BTreeMap::new();
    let mut put = |name: &str, value: Option<&Value>| {
        outputs.insert(name.to_owned(), output(value, false));
    };
    put("cluster_id", cluster.get("id"));
    put("engine", cluster.get("engine"));
    put("engine_version", cluster.get("version"));
    put("region", cluster.get("region"));
    put("host", connection.get("host"));
    put("private_host", private.get("host"));
    put("port", connection.get("port"));
    put("database_user", connection.get("user"));
    let urn = id_of(cluster).map(|id| json!(format!("do:dbaas:{id}")));
    put("urn", urn.as_ref());
    // The API leaves `database` empty in some answers; the URI names it (read here, not kept).
    let database = connection
        .get("database")
        .and_then(Value::as_str)
        .filter(|name| !name.is_empty())
        .map(str::to_owned)
        .or_else(|| {
            connection
                .get("uri")
                .and_then(Value::as_str)
                .and_then(database_of)
        });
    put("database_name", database.map(Value::from).as_ref());
    outputs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_where_the_cluster_is_and_none_of_its_credentials() {
        let cluster = json!({
            "id": "9cc10173-e9ea-4176-9dbc-a4cee4c4ff30", "name": "platform-pg",
            "engine": "pg", "version": "16", "region": "nyc3", "status": "online",
            "connection": {"uri": "postgres://doadmin:s3cret-admin@h:25060/defaultdb?sslmode=require",
                           "database": "", "host": "h", "port": 25060, "user": "doadmin",
                           "password": "s3cret-admin", "ssl": true},
            "private_connection": {"uri": "postgres://doadmin:s3cret-admin@private-h:25060/defaultdb?sslmode=require",
                                   "host": "private-h", "port": 25060, "user": "doadmin",
                                   "password": "s3cret-admin"}
        });
        let outputs = outputs(&cluster);
        assert_eq!(outputs["database_name"].value, json!("defaultdb"));
        assert_eq!(outputs["private_host"].value, json!("private-h"));
        assert_eq!(outputs["engine"].value, json!("pg"));
        assert_eq!(
            outputs["urn"].value,
            json!("do:dbaas:9cc10173-e9ea-4176-9dbc-a4cee4c4ff30")
        );
        let recorded = serde_json::to_string(&outputs).expect("fields serialise");
        assert!(!recorded.contains("s3cret-admin"), "{recorded}");
        assert_eq!(attributes(&cluster)["cluster_name"], json!("platform-pg"));
    }
}
