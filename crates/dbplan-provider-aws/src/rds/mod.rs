//! DB subnet groups, cluster parameter groups, Aurora clusters and their instances, through
//! `aws-sdk-rds`.
//!
//! Names: the subnet group and the parameter group are named after the cluster's
//! `metadata.name`; the cluster identifier is `metadata.name`; an instance's identifier is its
//! `identifier`, else its `metadata.name`.

mod cluster;
mod instance;
mod parameter_group;
mod subnet_group;

pub(crate) use cluster::{apply_cluster, delete_cluster, describe_cluster, read_cluster};
pub(crate) use instance::{
    apply_instance, delete_instance, describe_instance, instance_identifier, read_instance,
};
pub(crate) use parameter_group::{
    apply_parameter_group, delete_parameter_group, family, read_parameter_group,
};
pub(crate) use subnet_group::{apply_subnet_group, delete_subnet_group, read_subnet_group};

use crate::{Clients, resource_name, sdk_error};
use aws_sdk_rds::types::{DbCluster, Tag};
use dbplan_provider::{Applied, Field, ProviderError};
use std::collections::BTreeMap;

pub(crate) fn conflict(address: &str, message: String) -> ProviderError {
    ProviderError::Conflict {
        address: address.to_owned(),
        message,
    }
}

pub(crate) fn address_tag(address: &str) -> Tag {
    Tag::builder().key("dbplan:address").value(address).build()
}

/// The cluster's address (`AwsRdsCluster/name/cluster`) of one of its parts.
pub(crate) fn part_address(address: &str, part: &str) -> String {
    let mut segments = address.splitn(3, '/');
    let kind = segments.next().unwrap_or_default();
    let name = segments.next().unwrap_or_default();
    format!("{kind}/{name}/{part}")
}

/// A subnet or parameter group's name: as recorded, else the cluster's `metadata.name`.
pub(crate) fn group_name(provider_id: Option<&String>, address: &str) -> String {
    provider_id
        .cloned()
        .unwrap_or_else(|| resource_name(address).to_owned())
}

/// What a create or update of a group leaves: its name, as the id and as an output.
pub(crate) fn named(output: &str, name: String) -> Applied {
    let mut outputs = BTreeMap::new();
    outputs.insert(output.to_owned(), Field::plain(name.clone()));
    Applied {
        provider_id: Some(name),
        outputs,
    }
}

/// Refuses to delete a group that a cluster still uses (AWS refuses too; emulators may not).
pub(crate) async fn refuse_if_used(
    clients: &Clients,
    address: &str,
    what: &str,
    name: &str,
    uses: impl Fn(&DbCluster) -> bool,
) -> Result<(), ProviderError> {
    let using = users(clients, address, uses).await?;
    if using.is_empty() {
        return Ok(());
    }
    Err(conflict(
        address,
        format!(
            "the {what} {name} is still used by {}; it is left in place",
            using.join(", ")
        ),
    ))
}

/// Clusters that use a subnet group or parameter group (other than the one being deleted).
pub(crate) async fn users(
    clients: &Clients,
    address: &str,
    uses: impl Fn(&DbCluster) -> bool,
) -> Result<Vec<String>, ProviderError> {
    let clusters = clients
        .rds
        .describe_db_clusters()
        .send()
        .await
        .map_err(|error| sdk_error(address, error))?;
    Ok(clusters
        .db_clusters()
        .iter()
        .filter(|cluster| uses(cluster))
        .filter_map(|cluster| cluster.db_cluster_identifier().map(str::to_owned))
        .collect())
}
