//! `AwsRdsClusterReference`: a cluster dbplan reads and never changes. Create and update
//! describe it (`DescribeDBClusters`) and record what AWS reports as outputs; a read does the
//! same, and reports it gone when AWS has no such cluster; delete only forgets it.

use crate::Clients;
use crate::rds::cluster::{describe, drift::observed_outputs};
use dbplan_core::kinds::aws_rds_cluster_reference::Reference;
use dbplan_provider::{
    Applied, ChangeRequest, ProviderError, ReadOutcome, ReadRequest, RemoteObject,
};

/// The referenced cluster, described now; an error that says dbplan does not create it when
/// AWS has none of that identifier.
pub(crate) async fn apply(
    clients: &Clients,
    request: &ChangeRequest,
) -> Result<Applied, ProviderError> {
    let address = &request.address;
    let reference: Reference = request.decode()?;
    let identifier = reference.cluster_identifier.unwrap_or_default();
    let Some(cluster) = describe(clients, address, &identifier).await? else {
        return Err(ProviderError::Conflict {
            address: address.clone(),
            message: format!(
                "AWS has no Aurora cluster {identifier:?} in this account and region; dbplan only reads a referenced cluster and never creates one: check `cluster_identifier` and `region` (or AWS_REGION), or declare an AwsRdsCluster for dbplan to manage"
            ),
            source: None,
        });
    };
    Ok(Applied {
        provider_id: Some(identifier),
        outputs: observed_outputs(&cluster),
    })
}

/// What AWS reports of the cluster now; gone when it has none of that identifier.
pub(crate) async fn read(
    clients: &Clients,
    request: &ReadRequest,
) -> Result<ReadOutcome, ProviderError> {
    let reference: Reference = request.decode()?;
    let identifier = reference.cluster_identifier.unwrap_or_default();
    let Some(cluster) = describe(clients, &request.address, &identifier).await? else {
        return Ok(ReadOutcome::Gone);
    };
    Ok(ReadOutcome::Found(RemoteObject {
        provider_id: Some(identifier),
        attributes: request.attributes.clone(),
        outputs: observed_outputs(&cluster),
    }))
}
