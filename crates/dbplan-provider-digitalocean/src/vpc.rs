//! `DigitalOceanVpc`: created, or (with the request's permission) adopted by name
//! (`metadata.name`), with its region, range, description and default flag.

use crate::{DigitalOceanProvider, create_once, read_as};
use dbplan_core::ResourceAddress;
use dbplan_core::kinds::digital_ocean_vpc::Vpc;
use dbplan_provider::{
    Applied, ChangeRequest, Existing, Field, FindOutcome, ProviderError, ReadOutcome, ReadRequest,
    RemoteObject,
};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The VPC's attributes. `isDefaultForRegion: false` asks for nothing (DigitalOcean makes the
/// first VPC of a region its default, and a default cannot be unset), so the flag is reported
/// only where the manifest asks for a default.
fn remote_attributes(vpc: &Value, asks_default: bool) -> BTreeMap<String, Value> {
    let mut attributes = attributes(vpc);
    if !asks_default {
        attributes.remove("is_default_for_region");
    }
    attributes
}

/// Whether the attributes ask for the region's default VPC.
fn asks_default(vpc: &Vpc) -> bool {
    vpc.is_default_for_region == Some(true)
}

/// The VPC of an answer, read as a VPC's attributes.
fn remote(address: &ResourceAddress, vpc: &Value) -> Result<Vpc, ProviderError> {
    read_as(address, &attributes(vpc))
}

fn attributes(vpc: &Value) -> BTreeMap<String, Value> {
    let mut attributes = BTreeMap::new();
    let field = |name: &str| vpc.get(name).cloned().unwrap_or(Value::Null);
    attributes.insert("region".to_owned(), field("region"));
    attributes.insert("ip_range_cidr".to_owned(), field("ip_range"));
    attributes.insert("description".to_owned(), field("description"));
    attributes.insert(
        "is_default_for_region".to_owned(),
        Value::Bool(vpc.get("default").and_then(Value::as_bool).unwrap_or(false)),
    );
    attributes
}

/// The VPC's id in an answer of DigitalOcean, which always sends it: an answer without one is
/// an error, never an empty id.
fn vpc_id<'a>(address: &ResourceAddress, vpc: &'a Value) -> Result<&'a str, ProviderError> {
    vpc.get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| ProviderError::Api {
            address: address.clone(),
            code: None,
            message: "DigitalOcean's answer has no VPC id; check that DIGITALOCEAN_API_URL (if set) is DigitalOcean's API, then run the command again".to_owned(),
            source: None,
        })
}

fn applied(address: &ResourceAddress, vpc: &Value) -> Result<Applied, ProviderError> {
    let id = vpc_id(address, vpc)?.to_owned();
    let mut outputs = BTreeMap::new();
    outputs.insert("vpc_id".to_owned(), Field::plain(id.as_str()));
    outputs.insert(
        "ip_range".to_owned(),
        Field::plain(vpc.get("ip_range").cloned().unwrap_or(Value::Null)),
    );
    outputs.insert(
        "urn".to_owned(),
        Field::plain(vpc.get("urn").cloned().unwrap_or(Value::Null)),
    );
    Ok(Applied {
        provider_id: Some(id),
        outputs,
    })
}

pub(crate) async fn read(
    provider: &DigitalOceanProvider,
    request: &ReadRequest,
) -> Result<ReadOutcome, ProviderError> {
    let address = &request.address;
    let client = provider.client(address)?;
    let vpc = locate(
        client,
        address,
        &request.address.name,
        request.provider_id.as_deref(),
    )
    .await?;
    Ok(match vpc {
        Some(vpc) => ReadOutcome::Found(RemoteObject {
            provider_id: vpc.get("id").and_then(Value::as_str).map(str::to_owned),
            attributes: remote_attributes(&vpc, asks_default(&request.decode()?)),
            outputs: applied(address, &vpc)?.outputs,
        }),
        None => ReadOutcome::Gone,
    })
}

/// The VPC by its id, or, for a create interrupted before its id was recorded, by its name
/// (the resource's `metadata.name`); `None` when it is gone.
async fn locate(
    client: &crate::client::Client,
    address: &ResourceAddress,
    name: &str,
    id: Option<&str>,
) -> Result<Option<Value>, ProviderError> {
    match id {
        Some(id) => match client
            .get(&format!("/v2/vpcs/{}", crate::segment(id)))
            .await
        {
            Ok(reply) => Ok(reply.body.get("vpc").cloned()),
            Err(failure) if failure.is_not_found() => Ok(None),
            Err(failure) => Err(failure.error(address, "read the VPC")),
        },
        None => find(client, name)
            .await
            .map_err(|failure| failure.error(address, "list the VPCs")),
    }
}

async fn find(
    client: &crate::client::Client,
    name: &str,
) -> Result<Option<Value>, crate::client::Failure> {
    let vpcs = client.list("/v2/vpcs", "vpcs").await?;
    Ok(vpcs
        .into_iter()
        .find(|vpc| vpc.get("name").and_then(Value::as_str) == Some(name)))
}

pub(crate) async fn create(
    provider: &DigitalOceanProvider,
    request: &ChangeRequest,
) -> Result<Applied, ProviderError> {
    let address = &request.address;
    let client = provider.client(address)?;
    let name = &request.address.name;
    let wanted: Vpc = request.decode()?;
    let region = wanted.region.clone().unwrap_or_default();
    let range = wanted.ip_range_cidr.clone();
    let existing = find(client, name)
        .await
        .map_err(|failure| failure.error(address, "list the VPCs"))?;
    let vpc = match existing {
        Some(vpc) => {
            request
                .adopt
                .check(address, format!("a VPC named {name:?}"))?;
            let remote = remote(address, &vpc)?;
            let same_region = remote.region.as_deref() == Some(region.as_str());
            let same_range = range.is_none() || remote.ip_range_cidr == range;
            if !(same_region && same_range) {
                return Err(ProviderError::Conflict {
                    address: address.clone(),
                    message: format!(
                        "a VPC named {name:?} already exists in {} with range {}; rename this resource, or make region and ipRangeCidr match it to adopt it",
                        remote.region.unwrap_or_default(),
                        remote.ip_range_cidr.unwrap_or_default()
                    ),
                    source: None,
                });
            }
            tracing::info!(address = %address, "adopting the existing VPC {name:?}");
            vpc
        }
        None => {
            let mut body = json!({"name": name, "region": region});
            if let Some(range) = &range {
                body["ip_range"] = json!(range);
            }
            if let Some(description) = &wanted.description {
                body["description"] = json!(description);
            }
            let created = create_once(client, address, "create the VPC", "/v2/vpcs", &body, || {
                find(client, name)
            })
            .await?;
            created.get("vpc").cloned().unwrap_or(created)
        }
    };
    converge(provider, request, &vpc).await
}

/// Sets the description and default flag where they differ from `vpc`.
async fn converge(
    provider: &DigitalOceanProvider,
    request: &ChangeRequest,
    vpc: &Value,
) -> Result<Applied, ProviderError> {
    let address = &request.address;
    let client = provider.client(address)?;
    let wanted: Vpc = request.decode()?;
    let remote = remote(address, vpc)?;
    let id = vpc
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let mut patch = serde_json::Map::new();
    let description = wanted.description.unwrap_or_default();
    if remote.description.unwrap_or_default() != description {
        patch.insert("description".to_owned(), json!(description));
    }
    let default = wanted.is_default_for_region.unwrap_or(false);
    let is_default = remote.is_default_for_region.unwrap_or(false);
    if default && !is_default {
        patch.insert("default".to_owned(), json!(true));
    } else if !default && is_default {
        // The first VPC of a region becomes its default, and a default cannot be unset.
        tracing::info!(
            address = %address,
            "the VPC is its region's default (DigitalOcean makes the first VPC of a region the default)"
        );
    }
    if patch.is_empty() {
        return applied(address, vpc);
    }
    let reply = client
        .patch(
            &format!("/v2/vpcs/{}", crate::segment(&id)),
            &Value::Object(patch),
        )
        .await
        .map_err(|failure| failure.error(address, "update the VPC"))?;
    applied(address, reply.body.get("vpc").unwrap_or(vpc))
}

pub(crate) async fn update(
    provider: &DigitalOceanProvider,
    request: &ChangeRequest,
) -> Result<Applied, ProviderError> {
    let address = &request.address;
    let client = provider.client(address)?;
    let Some(id) = &request.provider_id else {
        return create(provider, request).await;
    };
    let vpc = match client
        .get(&format!("/v2/vpcs/{}", crate::segment(id)))
        .await
    {
        Ok(reply) => reply.body.get("vpc").cloned().unwrap_or(Value::Null),
        Err(failure) if failure.is_not_found() => return create(provider, request).await,
        Err(failure) => return Err(failure.error(address, "read the VPC")),
    };
    converge(provider, request, &vpc).await
}

pub(crate) async fn delete(
    provider: &DigitalOceanProvider,
    request: &ChangeRequest,
) -> Result<(), ProviderError> {
    let address = &request.address;
    let client = provider.client(address)?;
    let vpc = locate(
        client,
        address,
        &request.address.name,
        request.provider_id.as_deref(),
    )
    .await?;
    let Some(vpc) = vpc else {
        return Ok(());
    };
    if vpc.get("default").and_then(Value::as_bool) == Some(true) {
        return Err(ProviderError::Conflict {
            address: address.clone(),
            message: "DigitalOcean does not delete a region's default VPC (the first VPC of a region becomes its default); make another VPC of the region the default first, or forget this one with `dbplan state rm`".to_owned(),
            source: None,
        });
    }
    let id = vpc_id(address, &vpc)?;
    let path = format!("/v2/vpcs/{}", crate::segment(id));
    let refused = std::sync::Mutex::new(None);
    // A VPC with members answers 403 Forbidden; a cluster deleted a moment ago may still count
    // as a member for a while.
    let limit = provider
        .wait_limit()
        .min(std::time::Duration::from_secs(600));
    let outcome = dbplan_provider::wait_until(address, "the VPC to have no members", limit, || {
        let path = path.clone();
        let refused = &refused;
        async move {
            match client.delete(&path).await {
                Ok(_) => Ok(true),
                Err(failure) if failure.is_not_found() => Ok(true),
                Err(failure) if matches!(failure.status(), Some(403 | 409)) => {
                    if let Ok(mut refused) = refused.lock() {
                        *refused = Some(failure.describe());
                    }
                    Ok(false)
                }
                Err(failure) => Err(failure.error(address, "delete the VPC")),
            }
        }
    })
    .await;
    match (outcome, refused.into_inner().ok().flatten()) {
        (Ok(()), _) => Ok(()),
        (Err(_), Some(answer)) => Err(ProviderError::Conflict {
            address: address.clone(),
            message: format!(
                "DigitalOcean refused to delete the VPC: {answer}; delete or move what is still in it (Droplets, clusters, load balancers), then run `dbplan destroy` again"
            ),
            source: None,
        }),
        (Err(error), None) => Err(error),
    }
}

/// The VPC a create would take over, if one of this name exists.
pub(crate) async fn find_existing(
    provider: &DigitalOceanProvider,
    request: &ChangeRequest,
) -> Result<FindOutcome, ProviderError> {
    let address = &request.address;
    let client = provider.client(address)?;
    let Some(vpc) = find(client, &request.address.name)
        .await
        .map_err(|failure| failure.error(address, "list the VPCs"))?
    else {
        return Ok(FindOutcome::Absent);
    };
    let wanted: Vpc = request.decode()?;
    let mut effects =
        vec!["its description and default flag will be set to the manifest's".to_owned()];
    let remote = remote(address, &vpc)?;
    let range = &wanted.ip_range_cidr;
    if remote.region != wanted.region || (range.is_some() && remote.ip_range_cidr != *range) {
        effects.push(
            "apply cannot adopt it: its region or range differs from the manifest's".to_owned(),
        );
    }
    Ok(FindOutcome::Found(Existing {
        remote: RemoteObject {
            provider_id: vpc.get("id").and_then(Value::as_str).map(str::to_owned),
            attributes: remote_attributes(&vpc, asks_default(&wanted)),
            outputs: BTreeMap::new(),
        },
        effects,
    }))
}
