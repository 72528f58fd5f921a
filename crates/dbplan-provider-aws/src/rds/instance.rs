//! An `AwsRdsClusterInstance`: identified by its `identifier`, else its `metadata.name`.

use super::describe_cluster;
use super::{address_tag, conflict};
use crate::{Attributes, Clients, error_code, resource_name, sdk_error, wait_until};
use aws_sdk_rds::types::DbInstance;
use dbplan_provider::{
    Applied, ChangeRequest, Field, ProviderError, ReadOutcome, ReadRequest, RemoteObject,
};
use std::collections::BTreeMap;
use std::time::Duration;

pub(crate) fn instance_identifier(request_address: &str, attributes: &Attributes<'_>) -> String {
    attributes
        .text("identifier")
        .unwrap_or_else(|| resource_name(request_address).to_owned())
        .to_lowercase()
}

pub(crate) async fn describe_instance(
    clients: &Clients,
    address: &str,
    identifier: &str,
) -> Result<Option<aws_sdk_rds::types::DbInstance>, ProviderError> {
    match clients
        .rds
        .describe_db_instances()
        .db_instance_identifier(identifier)
        .send()
        .await
    {
        Ok(found) => Ok(found.db_instances().first().cloned()),
        Err(error) if error_code(&error) == Some("DBInstanceNotFound") => Ok(None),
        Err(error) => Err(sdk_error(address, error)),
    }
}

pub(crate) async fn apply_instance(
    clients: &Clients,
    request: &ChangeRequest,
    plain: &BTreeMap<String, serde_json::Value>,
    create: bool,
    limit: Duration,
) -> Result<Applied, ProviderError> {
    let address = request.address.as_str();
    let attributes = Attributes(plain);
    let identifier = instance_identifier(address, &attributes);
    let cluster_id = attributes.text("cluster").unwrap_or_default();
    let class = attributes.text("instance_class").unwrap_or_default();
    let Some(cluster) = describe_cluster(clients, address, &cluster_id).await? else {
        return Err(ProviderError::Api {
            address: address.to_owned(),
            code: Some("DBClusterNotFoundFault".to_owned()),
            message: format!("the cluster {cluster_id} does not exist; apply it first"),
        });
    };
    // `db.serverless` needs the cluster's Serverless v2 scaling first (AWS refuses otherwise).
    if class == "db.serverless" && cluster.serverless_v2_scaling_configuration().is_none() {
        return Err(conflict(
            address,
            format!(
                "db.serverless needs the cluster {cluster_id} to have serverless_v2_scaling; set it on the cluster"
            ),
        ));
    }
    let existing = describe_instance(clients, address, &identifier).await?;
    match existing {
        Some(instance) if create => {
            request
                .adopt
                .check(address, format!("the DB instance {identifier}"))?;
            if instance.db_cluster_identifier() != Some(cluster_id.as_str()) {
                return Err(conflict(
                    address,
                    format!(
                        "a DB instance {identifier} already exists in another cluster ({}); choose another identifier",
                        instance.db_cluster_identifier().unwrap_or("none")
                    ),
                ));
            }
        }
        None if create => {
            clients
                .rds
                .create_db_instance()
                .db_instance_identifier(&identifier)
                .db_cluster_identifier(&cluster_id)
                .set_engine(cluster.engine().map(str::to_owned))
                .db_instance_class(&class)
                .set_availability_zone(attributes.text("availability_zone"))
                .set_publicly_accessible(attributes.flag("publicly_accessible"))
                .set_promotion_tier(attributes.int("promotion_tier").map(|tier| tier as i32))
                .set_auto_minor_version_upgrade(attributes.flag("auto_minor_version_upgrade"))
                .set_enable_performance_insights(attributes.flag("performance_insights_enabled"))
                .set_monitoring_interval(attributes.int("monitoring_interval").map(|s| s as i32))
                .set_db_parameter_group_name(attributes.text("db_parameter_group_name"))
                .set_ca_certificate_identifier(attributes.text("ca_cert_identifier"))
                .tags(address_tag(address))
                .send()
                .await
                .map_err(|error| sdk_error(address, error))?;
        }
        _ => {
            clients
                .rds
                .modify_db_instance()
                .db_instance_identifier(&identifier)
                .apply_immediately(attributes.flag("apply_immediately").unwrap_or(true))
                .db_instance_class(&class)
                .set_publicly_accessible(attributes.flag("publicly_accessible"))
                .set_promotion_tier(attributes.int("promotion_tier").map(|tier| tier as i32))
                .set_auto_minor_version_upgrade(attributes.flag("auto_minor_version_upgrade"))
                .set_enable_performance_insights(attributes.flag("performance_insights_enabled"))
                .set_monitoring_interval(attributes.int("monitoring_interval").map(|s| s as i32))
                .send()
                .await
                .map_err(|error| sdk_error(address, error))?;
        }
    }
    wait_until(address, "the instance to be available", limit, || {
        let clients = clients.clone();
        let identifier = identifier.clone();
        async move {
            Ok(describe_instance(&clients, address, &identifier)
                .await?
                .is_some_and(|instance| instance.db_instance_status() == Some("available")))
        }
    })
    .await?;
    let instance = describe_instance(clients, address, &identifier)
        .await?
        .ok_or_else(|| ProviderError::Api {
            address: address.to_owned(),
            code: Some("DBInstanceNotFound".to_owned()),
            message: format!("the instance {identifier} disappeared while dbplan waited for it"),
        })?;
    Ok(Applied {
        outputs: instance_outputs(&identifier, &instance),
        provider_id: Some(identifier),
    })
}

/// An instance's outputs: its identifier, ARN and endpoint.
fn instance_outputs(identifier: &str, instance: &DbInstance) -> BTreeMap<String, Field> {
    let mut outputs = BTreeMap::new();
    outputs.insert("instance_id".to_owned(), Field::plain(identifier));
    if let Some(arn) = instance.db_instance_arn() {
        outputs.insert("arn".to_owned(), Field::plain(arn));
    }
    if let Some(endpoint) = instance.endpoint() {
        if let Some(host) = endpoint.address() {
            outputs.insert("endpoint".to_owned(), Field::plain(host));
        }
        if let Some(port) = endpoint.port() {
            outputs.insert("port".to_owned(), Field::plain(port));
        }
    }
    outputs
}

pub(crate) async fn read_instance(
    clients: &Clients,
    request: &ReadRequest,
) -> Result<ReadOutcome, ProviderError> {
    let address = request.address.as_str();
    let identifier = request
        .provider_id
        .clone()
        .unwrap_or_else(|| instance_identifier(address, &Attributes(&request.attributes)));
    let Some(instance) = describe_instance(clients, address, &identifier).await? else {
        return Ok(ReadOutcome::Gone);
    };
    let mut attributes = request.attributes.clone();
    let mut put = |name: &str, value: Option<serde_json::Value>| {
        if let Some(value) = value
            && attributes.contains_key(name)
        {
            attributes.insert(name.to_owned(), value);
        }
    };
    put(
        "instance_class",
        instance.db_instance_class().map(serde_json::Value::from),
    );
    put(
        "cluster",
        instance
            .db_cluster_identifier()
            .map(serde_json::Value::from),
    );
    put(
        "publicly_accessible",
        instance.publicly_accessible().map(serde_json::Value::from),
    );
    put(
        "promotion_tier",
        instance.promotion_tier().map(serde_json::Value::from),
    );
    Ok(ReadOutcome::Found(RemoteObject {
        outputs: instance_outputs(&identifier, &instance),
        provider_id: Some(identifier),
        attributes,
    }))
}

pub(crate) async fn delete_instance(
    clients: &Clients,
    request: &ChangeRequest,
    limit: Duration,
) -> Result<(), ProviderError> {
    let address = request.address.as_str();
    let Some(identifier) = request.provider_id.clone() else {
        return Ok(());
    };
    match clients
        .rds
        .delete_db_instance()
        .db_instance_identifier(&identifier)
        .skip_final_snapshot(true)
        .send()
        .await
    {
        Ok(_) => {}
        Err(error) if error_code(&error) == Some("DBInstanceNotFound") => return Ok(()),
        Err(error) => return Err(sdk_error(address, error)),
    }
    wait_until(address, "the instance to be deleted", limit, || {
        let clients = clients.clone();
        let identifier = identifier.clone();
        async move {
            Ok(describe_instance(&clients, address, &identifier)
                .await?
                .is_none())
        }
    })
    .await
}
