//! What a create would take over: the lookup each create does first (by the `dbplan:address`
//! tag for a VPC, by name for the others), run at plan time for the objects state has no
//! record of, so that the plan shows them as adopts.

use crate::Clients;
use crate::attributes::incomplete;
use crate::ec2::security_group::SecurityGroupKind;
use crate::ec2::{security_group, vpc};
use crate::rds::parameter_group::{ParameterGroupAttributes, existing_family};
use crate::rds::{cluster, instance, subnet_group};
use dbplan_core::kinds::{aws_rds_cluster, aws_rds_cluster_instance, aws_security_group};
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
    let Some(found_vpc) = vpc::find(clients, &request.address).await? else {
        return Ok(FindOutcome::Absent);
    };
    let mut attributes = BTreeMap::new();
    attributes.insert("vpc_cidr".to_owned(), Value::from(found_vpc.cidr));
    Ok(found(
        &found_vpc.id,
        attributes,
        vec![
            "its DNS settings are set, and the planned subnets (and NAT gateways) are created in it where missing".to_owned(),
        ],
    ))
}

pub(crate) async fn security_group(
    clients: &Clients,
    request: &ChangeRequest,
    kind: SecurityGroupKind,
) -> Result<FindOutcome, ProviderError> {
    let address = &request.address;
    let (vpc_id, described) = match kind {
        SecurityGroupKind::Standalone => {
            let group: aws_security_group::SecurityGroup = request.decode()?;
            (group.vpc_id, group.description.is_some())
        }
        SecurityGroupKind::ClusterPart => {
            let group: aws_rds_cluster::SecurityGroup = request.decode()?;
            (group.vpc_id, false)
        }
    };
    // The group is looked up in its VPC, which is known only once that is applied.
    let Some(vpc_id) = vpc_id else {
        return Ok(FindOutcome::Unknown);
    };
    let name = kind.group_name(&request.address.name);
    let Some(group) = security_group::find(clients, address, &vpc_id, &name).await? else {
        return Ok(FindOutcome::Absent);
    };
    let mut attributes = BTreeMap::new();
    attributes.insert("vpc_id".to_owned(), Value::from(vpc_id));
    if described {
        // A group without a description has an empty one.
        let description = group.description().unwrap_or_default();
        attributes.insert("description".to_owned(), Value::from(description));
    }
    let id = group
        .group_id()
        .ok_or_else(|| incomplete(address, "security group id"))?;
    Ok(found(
        id,
        attributes,
        vec!["its ingress rules will be replaced by the manifest's".to_owned()],
    ))
}

pub(crate) async fn subnet_group(
    clients: &Clients,
    request: &ChangeRequest,
) -> Result<FindOutcome, ProviderError> {
    let address = &request.address;
    let name = request.address.name.as_str();
    if subnet_group::describe(clients, address, name)
        .await?
        .is_none()
    {
        return Ok(FindOutcome::Absent);
    }
    Ok(found(
        name,
        BTreeMap::new(),
        vec!["its subnets will be set to the manifest's".to_owned()],
    ))
}

pub(crate) async fn parameter_group(
    clients: &Clients,
    request: &ChangeRequest,
) -> Result<FindOutcome, ProviderError> {
    let address = &request.address;
    let name = request.address.name.as_str();
    let wanted = ParameterGroupAttributes::from_planned(request.decode()?).family;
    let Some(existing) = existing_family(clients, address, name).await? else {
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
    let address = &request.address;
    let identifier = request.address.name.to_lowercase();
    let Some(cluster) = cluster::describe(clients, address, &identifier).await? else {
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
) -> Result<FindOutcome, ProviderError> {
    let address = &request.address;
    let planned: aws_rds_cluster_instance::Identity = request.decode()?;
    let identifier = instance::identifier(&request.address.name, planned);
    let Some(instance) = instance::describe(clients, address, &identifier).await? else {
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
