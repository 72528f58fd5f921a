//! What a create would take over: the lookup each create does first (by the `dbplan:address`
//! tag for a VPC, by name for the others), run at plan time for the objects state has no
//! record of, so that the plan shows them as adopts.

use crate::ec2::{filter, find_vpc, group_name};
use crate::rds::{describe_cluster, describe_instance, family, instance_identifier};
use crate::{Attributes, Clients, error_code, resource_name, sdk_error};
use dbplan_provider::{ChangeRequest, Existing, FindOutcome, ProviderError, RemoteObject};
use serde_json::Value;
use std::collections::BTreeMap;

fn found(id: &str, attributes: BTreeMap<String, Value>, effects: Vec<String>) -> FindOutcome {
    FindOutcome::Found(Existing {
        remote: RemoteObject {
            provider_id: Some(id.to_owned()),
            attributes,
            outputs: BTreeMap::new(),
        },
        effects,
    })
}

pub(crate) async fn vpc(
    clients: &Clients,
    request: &ChangeRequest,
) -> Result<FindOutcome, ProviderError> {
    let Some((id, cidr)) = find_vpc(clients, &request.address).await? else {
        return Ok(FindOutcome::Absent);
    };
    let mut attributes = BTreeMap::new();
    attributes.insert("vpc_cidr".to_owned(), Value::from(cidr));
    Ok(found(
        &id,
        attributes,
        vec![
            "its DNS settings are set, and the planned subnets (and NAT gateways) are created in it where missing".to_owned(),
        ],
    ))
}

pub(crate) async fn security_group(
    clients: &Clients,
    request: &ChangeRequest,
    plain: &BTreeMap<String, Value>,
    cluster: bool,
) -> Result<FindOutcome, ProviderError> {
    let address = request.address.as_str();
    // The group is looked up in its VPC, which is known only once that is applied.
    let Some(vpc_id) = Attributes(plain).text("vpc_id") else {
        return Ok(FindOutcome::Unknown);
    };
    let name = group_name(address, cluster);
    let existing = clients
        .ec2
        .describe_security_groups()
        .filters(filter("vpc-id", &vpc_id))
        .filters(filter("group-name", &name))
        .send()
        .await
        .map_err(|error| sdk_error(address, error))?;
    let Some(group) = existing.security_groups().first() else {
        return Ok(FindOutcome::Absent);
    };
    let mut attributes = BTreeMap::new();
    attributes.insert("vpc_id".to_owned(), Value::from(vpc_id));
    if plain.contains_key("description") {
        attributes.insert(
            "description".to_owned(),
            Value::from(group.description().unwrap_or_default()),
        );
    }
    Ok(found(
        group.group_id().unwrap_or_default(),
        attributes,
        vec!["its ingress rules will be replaced by the manifest's".to_owned()],
    ))
}

pub(crate) async fn subnet_group(
    clients: &Clients,
    request: &ChangeRequest,
) -> Result<FindOutcome, ProviderError> {
    let address = request.address.as_str();
    let name = resource_name(address);
    match clients
        .rds
        .describe_db_subnet_groups()
        .db_subnet_group_name(name)
        .send()
        .await
    {
        Ok(found_groups) if !found_groups.db_subnet_groups().is_empty() => Ok(found(
            name,
            BTreeMap::new(),
            vec!["its subnets will be set to the manifest's".to_owned()],
        )),
        Ok(_) => Ok(FindOutcome::Absent),
        Err(error) if error_code(&error) == Some("DBSubnetGroupNotFoundFault") => {
            Ok(FindOutcome::Absent)
        }
        Err(error) => Err(sdk_error(address, error)),
    }
}

pub(crate) async fn parameter_group(
    clients: &Clients,
    request: &ChangeRequest,
    plain: &BTreeMap<String, Value>,
) -> Result<FindOutcome, ProviderError> {
    let address = request.address.as_str();
    let name = resource_name(address);
    let attributes = Attributes(plain);
    let wanted = family(
        &attributes.text("engine").unwrap_or_default(),
        &attributes.text("engine_version").unwrap_or_default(),
    );
    let existing = match clients
        .rds
        .describe_db_cluster_parameter_groups()
        .db_cluster_parameter_group_name(name)
        .send()
        .await
    {
        Ok(found_groups) => found_groups
            .db_cluster_parameter_groups()
            .first()
            .map(|group| {
                group
                    .db_parameter_group_family()
                    .unwrap_or_default()
                    .to_owned()
            }),
        Err(error) if error_code(&error) == Some("DBParameterGroupNotFound") => None,
        Err(error) => return Err(sdk_error(address, error)),
    };
    let Some(existing) = existing else {
        return Ok(FindOutcome::Absent);
    };
    let mut effects = vec!["its parameters will be set to the manifest's".to_owned()];
    if existing != wanted {
        effects.push(format!(
            "apply cannot adopt it: it is for {existing}, not {wanted}"
        ));
    }
    Ok(found(name, BTreeMap::new(), effects))
}

pub(crate) async fn cluster(
    clients: &Clients,
    request: &ChangeRequest,
) -> Result<FindOutcome, ProviderError> {
    let address = request.address.as_str();
    let identifier = resource_name(address).to_lowercase();
    let Some(cluster) = describe_cluster(clients, address, &identifier).await? else {
        return Ok(FindOutcome::Absent);
    };
    let mut attributes = BTreeMap::new();
    if let Some(engine) = cluster.engine() {
        attributes.insert("engine".to_owned(), Value::from(engine));
    }
    if let Some(version) = cluster.engine_version() {
        attributes.insert("engine_version".to_owned(), Value::from(version));
    }
    Ok(found(
        &identifier,
        attributes,
        vec!["it will be modified to match the manifest (settings that differ, applied immediately unless the manifest defers them)".to_owned()],
    ))
}

pub(crate) async fn instance(
    clients: &Clients,
    request: &ChangeRequest,
    plain: &BTreeMap<String, Value>,
) -> Result<FindOutcome, ProviderError> {
    let address = request.address.as_str();
    let identifier = instance_identifier(address, &Attributes(plain));
    let Some(instance) = describe_instance(clients, address, &identifier).await? else {
        return Ok(FindOutcome::Absent);
    };
    let mut attributes = BTreeMap::new();
    if let Some(class) = instance.db_instance_class() {
        attributes.insert("instance_class".to_owned(), Value::from(class));
    }
    if let Some(cluster) = instance.db_cluster_identifier() {
        attributes.insert("cluster".to_owned(), Value::from(cluster));
    }
    Ok(found(
        &identifier,
        attributes,
        vec!["it will be modified to match the manifest".to_owned()],
    ))
}
