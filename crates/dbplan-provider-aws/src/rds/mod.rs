//! DB subnet groups, cluster parameter groups, Aurora clusters and their instances, through
//! `aws-sdk-rds`.
//!
//! Names: the subnet group and the parameter group are named after the cluster's
//! `metadata.name`; the cluster identifier is `metadata.name`; an instance's identifier is its
//! `identifier`, else its `metadata.name`.

pub(crate) mod cluster;
pub(crate) mod instance;
pub(crate) mod parameter_group;
pub(crate) mod reference;
pub(crate) mod subnet_group;

use crate::Clients;
use crate::error::At;
use aws_sdk_rds::types::{DbCluster, Tag};
use dbplan_core::ResourceAddress;
use dbplan_provider::{Applied, Field, ProviderError};
use std::collections::BTreeMap;

pub(crate) fn conflict(address: &ResourceAddress, message: String) -> ProviderError {
    ProviderError::Conflict {
        address: address.clone(),
        message,
        source: None,
    }
}

/// The tag that ties an RDS object to its dbplan address.
pub(crate) fn address_tag(address: &ResourceAddress) -> Tag {
    Tag::builder()
        .key("dbplan:address")
        .value(address.to_string())
        .build()
}

/// `16.4` → `16` (an engine version's major version).
pub(crate) fn major_version(version: &str) -> &str {
    version.split_once('.').map_or(version, |(major, _)| major)
}

/// A subnet or parameter group's name: as recorded, else the cluster's `metadata.name`
/// (`name`).
pub(crate) fn group_name(provider_id: Option<&String>, name: &str) -> String {
    provider_id.cloned().unwrap_or_else(|| name.to_owned())
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
    address: &ResourceAddress,
    what: &str,
    name: &str,
    uses: impl Fn(&DbCluster) -> bool,
) -> Result<(), ProviderError> {
    let clusters = clients
        .rds
        .describe_db_clusters()
        .send()
        .await
        .at(address)?;
    let using: Vec<&str> = clusters
        .db_clusters()
        .iter()
        .filter(|cluster| uses(cluster))
        .filter_map(DbCluster::db_cluster_identifier)
        .collect();
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
