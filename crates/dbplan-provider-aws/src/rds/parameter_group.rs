//! The cluster parameter group of an `AwsRdsCluster`, named after the cluster.

use super::{address_tag, conflict, group_name, named, refuse_if_used};
use crate::{Attributes, Clients, error_code, resource_name, sdk_error};
use aws_sdk_rds::types::{ApplyMethod, Parameter};
use dbplan_provider::{
    Applied, ChangeRequest, ProviderError, ReadOutcome, ReadRequest, RemoteObject,
};
use std::collections::BTreeMap;

/// `aurora-postgresql` + `16.4` → `aurora-postgresql16`; `aurora-mysql` + `8.0.mysql_aurora.3.05.2`
/// → `aurora-mysql8.0`.
pub(crate) fn family(engine: &str, version: &str) -> String {
    let major = if engine.contains("mysql") {
        version.split('.').take(2).collect::<Vec<_>>().join(".")
    } else {
        version.split('.').next().unwrap_or_default().to_owned()
    };
    format!("{engine}{major}")
}

fn parameters(attributes: &Attributes<'_>) -> Vec<(String, String, String)> {
    attributes
        .get("parameters")
        .and_then(serde_json::Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| {
                    Some((
                        item.get("name")?.as_str()?.to_owned(),
                        item.get("value")?.as_str()?.to_owned(),
                        item.get("apply_method")
                            .and_then(serde_json::Value::as_str)
                            // The kind documents `immediate` as the default.
                            .unwrap_or("immediate")
                            .to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) async fn apply_parameter_group(
    clients: &Clients,
    request: &ChangeRequest,
    plain: &BTreeMap<String, serde_json::Value>,
    create: bool,
) -> Result<Applied, ProviderError> {
    let address = request.address.as_str();
    let attributes = Attributes(plain);
    let name = resource_name(address).to_owned();
    let family = family(
        &attributes.text("engine").unwrap_or_default(),
        &attributes.text("engine_version").unwrap_or_default(),
    );
    let existing = clients
        .rds
        .describe_db_cluster_parameter_groups()
        .db_cluster_parameter_group_name(&name)
        .send()
        .await;
    let found_family = match existing {
        Ok(found) => found.db_cluster_parameter_groups().first().map(|group| {
            group
                .db_parameter_group_family()
                .unwrap_or_default()
                .to_owned()
        }),
        Err(error) if error_code(&error) == Some("DBParameterGroupNotFound") => None,
        Err(error) => return Err(sdk_error(address, error)),
    };
    if create && found_family.is_some() {
        request
            .adopt
            .check(address, format!("the cluster parameter group {name}"))?;
    }
    match found_family {
        Some(found) if found != family => {
            return Err(conflict(
                address,
                format!(
                    "a cluster parameter group {name} already exists for {found}, not {family}; delete it or rename the cluster"
                ),
            ));
        }
        Some(_) => {}
        None => {
            clients
                .rds
                .create_db_cluster_parameter_group()
                .db_cluster_parameter_group_name(&name)
                .db_parameter_group_family(&family)
                .description(format!("{name} (managed by dbplan)"))
                .tags(address_tag(address))
                .send()
                .await
                .map_err(|error| sdk_error(address, error))?;
        }
    }
    // At most 20 parameters per call (the API's limit).
    let planned = parameters(&attributes);
    for chunk in planned.chunks(20) {
        let mut call = clients
            .rds
            .modify_db_cluster_parameter_group()
            .db_cluster_parameter_group_name(&name);
        for (parameter, value, method) in chunk {
            call = call.parameters(
                Parameter::builder()
                    .parameter_name(parameter)
                    .parameter_value(value)
                    .apply_method(ApplyMethod::from(method.as_str()))
                    .build(),
            );
        }
        call.send()
            .await
            .map_err(|error| sdk_error(address, error))?;
    }
    Ok(named("db_cluster_parameter_group_name", name))
}

pub(crate) async fn read_parameter_group(
    clients: &Clients,
    request: &ReadRequest,
) -> Result<ReadOutcome, ProviderError> {
    let address = request.address.as_str();
    let name = group_name(request.provider_id.as_ref(), address);
    let found = clients
        .rds
        .describe_db_cluster_parameters()
        .db_cluster_parameter_group_name(&name)
        .source("user")
        .send()
        .await;
    let answer = match found {
        Ok(found) => found,
        Err(error) if error_code(&error) == Some("DBParameterGroupNotFound") => {
            return Ok(ReadOutcome::Gone);
        }
        Err(error) => return Err(sdk_error(address, error)),
    };
    let remote: BTreeMap<String, (String, String)> = answer
        .parameters()
        .iter()
        .filter_map(|parameter| {
            Some((
                parameter.parameter_name()?.to_owned(),
                (
                    parameter.parameter_value().unwrap_or_default().to_owned(),
                    parameter
                        .apply_method()
                        .map(|method| method.as_str().to_owned())
                        .unwrap_or_default(),
                ),
            ))
        })
        .collect();
    // The recorded parameters with their values as AWS holds them now; one that is gone shows
    // as a missing item.
    let mut attributes = request.attributes.clone();
    if let Some(serde_json::Value::Array(items)) = request.attributes.get("parameters") {
        let now: Vec<serde_json::Value> = items
            .iter()
            .filter_map(|item| {
                let name = item.get("name")?.as_str()?;
                let (value, method) = remote.get(name)?;
                let mut item = item.clone();
                if let Some(map) = item.as_object_mut() {
                    map.insert("value".to_owned(), serde_json::Value::from(value.clone()));
                    if !method.is_empty() && map.contains_key("apply_method") {
                        map.insert(
                            "apply_method".to_owned(),
                            serde_json::Value::from(method.clone()),
                        );
                    }
                }
                Some(item)
            })
            .collect();
        attributes.insert("parameters".to_owned(), serde_json::Value::Array(now));
    }
    Ok(ReadOutcome::Found(RemoteObject {
        outputs: named("db_cluster_parameter_group_name", name.clone()).outputs,
        provider_id: Some(name),
        attributes,
    }))
}

pub(crate) async fn delete_parameter_group(
    clients: &Clients,
    request: &ChangeRequest,
) -> Result<(), ProviderError> {
    let address = request.address.as_str();
    let name = group_name(request.provider_id.as_ref(), address);
    refuse_if_used(
        clients,
        address,
        "cluster parameter group",
        &name,
        |cluster| cluster.db_cluster_parameter_group() == Some(name.as_str()),
    )
    .await?;
    match clients
        .rds
        .delete_db_cluster_parameter_group()
        .db_cluster_parameter_group_name(&name)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(error) if error_code(&error) == Some("DBParameterGroupNotFound") => Ok(()),
        Err(error) => Err(sdk_error(address, error)),
    }
}
