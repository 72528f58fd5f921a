//! The DB subnet group of an `AwsRdsCluster`, named after the cluster.

use super::{address_tag, group_name, named, refuse_if_used};
use crate::{Attributes, Clients, error_code, resource_name, sdk_error};
use dbplan_provider::{
    Applied, ChangeRequest, ProviderError, ReadOutcome, ReadRequest, RemoteObject,
};
use std::collections::BTreeMap;

pub(crate) async fn apply_subnet_group(
    clients: &Clients,
    request: &ChangeRequest,
    plain: &BTreeMap<String, serde_json::Value>,
    create: bool,
) -> Result<Applied, ProviderError> {
    let address = request.address.as_str();
    let attributes = Attributes(plain);
    let name = resource_name(address).to_owned();
    let subnets = attributes.texts("subnet_ids");
    let description = format!("{} (managed by dbplan)", resource_name(address));
    let existing = clients
        .rds
        .describe_db_subnet_groups()
        .db_subnet_group_name(&name)
        .send()
        .await;
    let exists = match existing {
        Ok(found) => !found.db_subnet_groups().is_empty(),
        Err(error) if error_code(&error) == Some("DBSubnetGroupNotFoundFault") => false,
        Err(error) => return Err(sdk_error(address, error)),
    };
    if create && exists {
        request
            .adopt
            .check(address, format!("the DB subnet group {name}"))?;
    }
    // An existing group (ours, interrupted; or one to adopt) is brought to the planned subnets;
    // AWS refuses a create of an existing name (DBSubnetGroupAlreadyExists).
    if exists {
        clients
            .rds
            .modify_db_subnet_group()
            .db_subnet_group_name(&name)
            .db_subnet_group_description(&description)
            .set_subnet_ids(Some(subnets))
            .send()
            .await
            .map_err(|error| sdk_error(address, error))?;
    } else if create || !exists {
        clients
            .rds
            .create_db_subnet_group()
            .db_subnet_group_name(&name)
            .db_subnet_group_description(&description)
            .set_subnet_ids(Some(subnets))
            .tags(address_tag(address))
            .send()
            .await
            .map_err(|error| sdk_error(address, error))?;
    }
    Ok(named("db_subnet_group_name", name))
}

pub(crate) async fn read_subnet_group(
    clients: &Clients,
    request: &ReadRequest,
) -> Result<ReadOutcome, ProviderError> {
    let address = request.address.as_str();
    let name = group_name(request.provider_id.as_ref(), address);
    let found = clients
        .rds
        .describe_db_subnet_groups()
        .db_subnet_group_name(&name)
        .send()
        .await;
    let groups = match found {
        Ok(found) => found,
        Err(error) if error_code(&error) == Some("DBSubnetGroupNotFoundFault") => {
            return Ok(ReadOutcome::Gone);
        }
        Err(error) => return Err(sdk_error(address, error)),
    };
    let Some(group) = groups.db_subnet_groups().first() else {
        return Ok(ReadOutcome::Gone);
    };
    let mut attributes = request.attributes.clone();
    let mut remote: Vec<String> = group
        .subnets()
        .iter()
        .filter_map(|subnet| subnet.subnet_identifier().map(str::to_owned))
        .collect();
    // Compared as a set, in the recorded order when it is the same set.
    let mut recorded = Attributes(&request.attributes).texts("subnet_ids");
    let mut sorted_remote = remote.clone();
    sorted_remote.sort();
    recorded.sort();
    if sorted_remote == recorded {
        remote = Attributes(&request.attributes).texts("subnet_ids");
    }
    attributes.insert("subnet_ids".to_owned(), serde_json::json!(remote));
    Ok(ReadOutcome::Found(RemoteObject {
        outputs: named("db_subnet_group_name", name.clone()).outputs,
        provider_id: Some(name),
        attributes,
    }))
}

pub(crate) async fn delete_subnet_group(
    clients: &Clients,
    request: &ChangeRequest,
) -> Result<(), ProviderError> {
    let address = request.address.as_str();
    let name = group_name(request.provider_id.as_ref(), address);
    refuse_if_used(clients, address, "DB subnet group", &name, |cluster| {
        cluster.db_subnet_group() == Some(name.as_str())
    })
    .await?;
    match clients
        .rds
        .delete_db_subnet_group()
        .db_subnet_group_name(&name)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(error) if error_code(&error) == Some("DBSubnetGroupNotFoundFault") => Ok(()),
        Err(error) => Err(sdk_error(address, error)),
    }
}
