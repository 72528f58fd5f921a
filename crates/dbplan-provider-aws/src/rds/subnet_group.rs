//! The DB subnet group of an `AwsRdsCluster`, named after the cluster.

use super::{address_tag, group_name, named, refuse_if_used};
use crate::Clients;
use crate::attributes::Action;
use crate::error::{At, ErrorCode};
use aws_sdk_rds::operation::create_db_subnet_group::builders::CreateDBSubnetGroupFluentBuilder;
use aws_sdk_rds::operation::modify_db_subnet_group::builders::ModifyDBSubnetGroupFluentBuilder;
use aws_sdk_rds::types::DbSubnetGroup;
use dbplan_core::ResourceAddress;
use dbplan_core::kinds::aws_rds_cluster::SubnetGroup;
use dbplan_provider::{
    Applied, ChangeRequest, ProviderError, ReadOutcome, ReadRequest, RemoteObject,
};
use serde_json::Value;
use std::collections::BTreeMap;

/// The output that names the group.
const OUTPUT: &str = "db_subnet_group_name";

/// What the manifest asks of the group, decoded once.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SubnetGroupAttributes {
    /// The group's name: the cluster's `metadata.name`.
    name: String,
    /// `<name> (managed by dbplan)`.
    description: String,
    /// `subnet_ids`.
    subnet_ids: Vec<String>,
}

impl SubnetGroupAttributes {
    /// The group of the cluster `name` (its `metadata.name`).
    pub(crate) fn from_planned(name: &str, group: SubnetGroup) -> Self {
        let name = name.to_owned();
        SubnetGroupAttributes {
            description: format!("{name} (managed by dbplan)"),
            name,
            subnet_ids: group.subnet_ids,
        }
    }

    fn create(
        &self,
        call: CreateDBSubnetGroupFluentBuilder,
        address: &ResourceAddress,
    ) -> CreateDBSubnetGroupFluentBuilder {
        call.db_subnet_group_name(&self.name)
            .db_subnet_group_description(&self.description)
            .set_subnet_ids(Some(self.subnet_ids.clone()))
            .tags(address_tag(address))
    }

    fn modify(&self, call: ModifyDBSubnetGroupFluentBuilder) -> ModifyDBSubnetGroupFluentBuilder {
        call.db_subnet_group_name(&self.name)
            .db_subnet_group_description(&self.description)
            .set_subnet_ids(Some(self.subnet_ids.clone()))
    }
}

/// The group of this name, if there is one.
pub(crate) async fn describe(
    clients: &Clients,
    address: &ResourceAddress,
    name: &str,
) -> Result<Option<DbSubnetGroup>, ProviderError> {
    let found = clients
        .rds
        .describe_db_subnet_groups()
        .db_subnet_group_name(name)
        .send()
        .await
        .unless(ErrorCode::DbSubnetGroupNotFound, address)?;
    Ok(found.and_then(|found| found.db_subnet_groups().first().cloned()))
}

pub(crate) async fn apply(
    clients: &Clients,
    request: &ChangeRequest,
    action: Action,
) -> Result<Applied, ProviderError> {
    let address = &request.address;
    let group = SubnetGroupAttributes::from_planned(&request.address.name, request.decode()?);
    let exists = describe(clients, address, &group.name).await?.is_some();
    if action == Action::Create && exists {
        request
            .adopt
            .check(address, format!("the DB subnet group {}", group.name))?;
    }
    // An existing group (ours, interrupted; or one to adopt) is brought to the planned subnets;
    // AWS refuses a create of an existing name (DBSubnetGroupAlreadyExists).
    if exists {
        group
            .modify(clients.rds.modify_db_subnet_group())
            .send()
            .await
            .at(address)?;
    } else {
        group
            .create(clients.rds.create_db_subnet_group(), address)
            .send()
            .await
            .at(address)?;
    }
    Ok(named(OUTPUT, group.name))
}

pub(crate) async fn read(
    clients: &Clients,
    request: &ReadRequest,
) -> Result<ReadOutcome, ProviderError> {
    let address = &request.address;
    let name = group_name(request.provider_id.as_ref(), &request.address.name);
    let Some(group) = describe(clients, address, &name).await? else {
        return Ok(ReadOutcome::Gone);
    };
    Ok(ReadOutcome::Found(RemoteObject {
        attributes: drift(&request.attributes, request.decode()?, &group),
        outputs: named(OUTPUT, name.clone()).outputs,
        provider_id: Some(name),
    }))
}

/// The recorded attributes with the group's subnets as AWS reports them, compared as a set: in
/// the recorded order when it is the same set.
fn drift(
    recorded: &BTreeMap<String, Value>,
    typed: SubnetGroup,
    group: &DbSubnetGroup,
) -> BTreeMap<String, Value> {
    let mut attributes = recorded.clone();
    let mut remote: Vec<String> = group
        .subnets()
        .iter()
        .filter_map(|subnet| subnet.subnet_identifier().map(str::to_owned))
        .collect();
    let recorded_ids = typed.subnet_ids;
    let mut sorted_recorded = recorded_ids.clone();
    let mut sorted_remote = remote.clone();
    sorted_recorded.sort();
    sorted_remote.sort();
    if sorted_remote == sorted_recorded {
        remote = recorded_ids;
    }
    attributes.insert("subnet_ids".to_owned(), serde_json::json!(remote));
    attributes
}

pub(crate) async fn delete(
    clients: &Clients,
    request: &ChangeRequest,
) -> Result<(), ProviderError> {
    let address = &request.address;
    let name = group_name(request.provider_id.as_ref(), &request.address.name);
    refuse_if_used(clients, address, "DB subnet group", &name, |cluster| {
        cluster.db_subnet_group() == Some(name.as_str())
    })
    .await?;
    clients
        .rds
        .delete_db_subnet_group()
        .db_subnet_group_name(&name)
        .send()
        .await
        .unless(ErrorCode::DbSubnetGroupNotFound, address)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{address, decode, map, rds, typed};
    use aws_sdk_rds::types::Subnet;
    use serde_json::json;

    const ADDRESS: &str = "AwsRdsCluster/orders-db/subnet-group";

    fn group() -> SubnetGroupAttributes {
        decode(json!({"subnet_ids": ["subnet-a", "subnet-b"]}), |group| {
            Ok::<_, ProviderError>(SubnetGroupAttributes::from_planned(
                &address(ADDRESS).name,
                group,
            ))
        })
    }

    #[test]
    fn create_and_modify_name_the_group_after_the_cluster_with_the_planned_subnets() {
        let subnets = Some(vec!["subnet-a".to_owned(), "subnet-b".to_owned()]);
        let create = group().create(rds().create_db_subnet_group(), &address(ADDRESS));
        let input = create.as_input();
        assert_eq!(
            input.get_db_subnet_group_name().as_deref(),
            Some("orders-db")
        );
        assert_eq!(
            input.get_db_subnet_group_description().as_deref(),
            Some("orders-db (managed by dbplan)")
        );
        assert_eq!(*input.get_subnet_ids(), subnets);
        assert_eq!(input.get_tags().as_ref().map(Vec::len), Some(1));
        let modify = group().modify(rds().modify_db_subnet_group());
        assert_eq!(
            modify.as_input().get_db_subnet_group_name().as_deref(),
            Some("orders-db")
        );
        assert_eq!(*modify.as_input().get_subnet_ids(), subnets);
    }

    fn described(subnets: &[&str]) -> DbSubnetGroup {
        let mut group = DbSubnetGroup::builder().db_subnet_group_name("orders-db");
        for subnet in subnets {
            group = group.subnets(Subnet::builder().subnet_identifier(*subnet).build());
        }
        group.build()
    }

    #[test]
    fn drift_compares_subnets_as_a_set() {
        let recorded = map(json!({"subnet_ids": ["subnet-b", "subnet-a"], "region": "us-east-1"}));
        // The same set in another order: the recorded order stays, no drift.
        assert_eq!(
            drift(
                &recorded,
                typed(&recorded),
                &described(&["subnet-a", "subnet-b"])
            ),
            recorded
        );
        // Another set: AWS's.
        assert_eq!(
            drift(
                &recorded,
                typed(&recorded),
                &described(&["subnet-c", "subnet-a"])
            ),
            map(json!({"subnet_ids": ["subnet-c", "subnet-a"], "region": "us-east-1"}))
        );
    }
}
