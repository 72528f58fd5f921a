//! An `AwsVpc`: the VPC, found by its `dbplan:address` tag, and its subnets.
//!
//! Subnet layout, documented because addresses depend on it: the VPC's range is cut into
//! blocks of `subnet_size` addresses, in order; the private subnets take the first blocks, AZ by
//! AZ in the order `availability_zones` lists them (`subnets_per_availability_zone` each), and
//! with NAT enabled the public subnets (one per AZ) take the blocks after them.

use super::nat::ensure_nat;
use super::{ADDRESS_TAG, conflict, filter, tags};
use crate::{Attributes, Clients, error_code, resource_name, sdk_error};
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType};
use dbplan_provider::{
    Applied, ChangeRequest, Field, ProviderError, ReadOutcome, ReadRequest, RemoteObject,
};
use std::collections::BTreeMap;

/// `10.30.0.0/16` → (base address, prefix length).
fn parse_cidr(cidr: &str) -> Option<(u32, u32)> {
    let (ip, prefix) = cidr.split_once('/')?;
    let ip: std::net::Ipv4Addr = ip.parse().ok()?;
    Some((u32::from(ip), prefix.parse().ok()?))
}

/// The `index`-th block of `size` addresses in the VPC's range, as a CIDR.
fn block(base: u32, size: u32, index: u32) -> Option<String> {
    let prefix = 32 - size.checked_ilog2()?;
    let start = base.checked_add(size.checked_mul(index)?)?;
    Some(format!("{}/{prefix}", std::net::Ipv4Addr::from(start)))
}

/// One subnet the manifest asks for.
#[derive(Clone, Debug)]
pub(crate) struct PlannedSubnet {
    pub(crate) name: String,
    pub(crate) cidr: String,
    pub(crate) zone: String,
    pub(crate) public: bool,
}

fn planned_subnets(
    address: &str,
    attributes: &Attributes<'_>,
) -> Result<Vec<PlannedSubnet>, ProviderError> {
    let name = resource_name(address);
    let cidr = attributes.text("vpc_cidr").unwrap_or_default();
    let (base, prefix) = parse_cidr(&cidr)
        .ok_or_else(|| conflict(address, format!("{cidr:?} is not an IPv4 CIDR")))?;
    let size = u32::try_from(attributes.int("subnet_size").unwrap_or(256)).unwrap_or(256);
    let per_zone =
        u32::try_from(attributes.int("subnets_per_availability_zone").unwrap_or(1)).unwrap_or(1);
    let zones = attributes.texts("availability_zones");
    let nat = attributes.flag("is_nat_gateway_enabled").unwrap_or(false);
    let capacity = if prefix == 0 {
        u32::MAX
    } else {
        1u32 << (32 - prefix)
    };
    let mut subnets = Vec::new();
    let mut index = 0u32;
    for zone in &zones {
        for slot in 0..per_zone {
            subnets.push(PlannedSubnet {
                name: format!("{name}-private-{zone}-{slot}"),
                cidr: block(base, size, index).unwrap_or_default(),
                zone: zone.clone(),
                public: false,
            });
            index += 1;
        }
    }
    if nat {
        for zone in &zones {
            subnets.push(PlannedSubnet {
                name: format!("{name}-public-{zone}"),
                cidr: block(base, size, index).unwrap_or_default(),
                zone: zone.clone(),
                public: true,
            });
            index += 1;
        }
    }
    if u64::from(index) * u64::from(size) > u64::from(capacity) {
        return Err(conflict(
            address,
            format!(
                "{} subnets of {size} addresses do not fit in {cidr}; use a larger vpc_cidr or a smaller subnet_size",
                index
            ),
        ));
    }
    Ok(subnets)
}

pub(crate) async fn find_vpc(
    clients: &Clients,
    address: &str,
) -> Result<Option<(String, String)>, ProviderError> {
    let found = clients
        .ec2
        .describe_vpcs()
        .filters(filter(&format!("tag:{ADDRESS_TAG}"), address))
        .send()
        .await
        .map_err(|error| sdk_error(address, error))?;
    Ok(found.vpcs().first().map(|vpc| {
        (
            vpc.vpc_id().unwrap_or_default().to_owned(),
            vpc.cidr_block().unwrap_or_default().to_owned(),
        )
    }))
}

pub(crate) async fn apply_vpc(
    clients: &Clients,
    request: &ChangeRequest,
    plain: &BTreeMap<String, serde_json::Value>,
    create: bool,
) -> Result<Applied, ProviderError> {
    let address = request.address.as_str();
    let attributes = Attributes(plain);
    let cidr = attributes.text("vpc_cidr").unwrap_or_default();
    let planned = planned_subnets(address, &attributes)?;
    let name = resource_name(address);
    let existing = match (&request.provider_id, create) {
        (Some(id), false) => Some((id.clone(), cidr.clone())),
        _ => find_vpc(clients, address).await?,
    };
    if create && let Some((id, _)) = &existing {
        request
            .adopt
            .check(address, format!("the VPC {id} tagged for this address"))?;
    }
    let vpc_id = match existing {
        Some((id, found)) if found == cidr => id,
        Some((id, found)) => {
            return Err(conflict(
                address,
                format!(
                    "the VPC {id} tagged for this resource has the range {found}, not {cidr}; delete it or change vpc_cidr"
                ),
            ));
        }
        None => clients
            .ec2
            .create_vpc()
            .cidr_block(&cidr)
            .tag_specifications(tags(ResourceType::Vpc, name, address))
            .send()
            .await
            .map_err(|error| sdk_error(address, error))?
            .vpc()
            .and_then(|vpc| vpc.vpc_id())
            .unwrap_or_default()
            .to_owned(),
    };
    for (attribute, hostnames) in [
        ("is_dns_support_enabled", false),
        ("is_dns_hostnames_enabled", true),
    ] {
        let value = AttributeBooleanValue::builder()
            .value(attributes.flag(attribute).unwrap_or(true))
            .build();
        let call = clients.ec2.modify_vpc_attribute().vpc_id(&vpc_id);
        let call = if hostnames {
            call.enable_dns_hostnames(value)
        } else {
            call.enable_dns_support(value)
        };
        call.send()
            .await
            .map_err(|error| sdk_error(address, error))?;
    }

    // Subnets: adopt those already there (by range), create the missing, delete the ones no
    // longer planned.
    // Only subnets tagged for this resource are dbplan's: others in the VPC are left alone.
    // They are matched by range and zone; those no longer planned go first, so that a new
    // layout may reuse their ranges.
    let present = clients
        .ec2
        .describe_subnets()
        .filters(filter("vpc-id", &vpc_id))
        .filters(filter(&format!("tag:{ADDRESS_TAG}"), address))
        .send()
        .await
        .map_err(|error| sdk_error(address, error))?;
    let wanted: Vec<(String, String)> = planned
        .iter()
        .map(|subnet| (subnet.cidr.clone(), subnet.zone.clone()))
        .collect();
    let mut kept: BTreeMap<(String, String), String> = BTreeMap::new();
    for subnet in present.subnets() {
        let key = (
            subnet.cidr_block().unwrap_or_default().to_owned(),
            subnet.availability_zone().unwrap_or_default().to_owned(),
        );
        let id = subnet.subnet_id().unwrap_or_default().to_owned();
        if wanted.contains(&key) {
            kept.insert(key, id);
        } else {
            clients
                .ec2
                .delete_subnet()
                .subnet_id(&id)
                .send()
                .await
                .map_err(|error| sdk_error(address, error))?;
        }
    }
    let mut made: Vec<(PlannedSubnet, String)> = Vec::new();
    for subnet in &planned {
        let id = match kept.remove(&(subnet.cidr.clone(), subnet.zone.clone())) {
            Some(id) => id,
            None => clients
                .ec2
                .create_subnet()
                .vpc_id(&vpc_id)
                .cidr_block(&subnet.cidr)
                .availability_zone(&subnet.zone)
                .tag_specifications(tags(ResourceType::Subnet, &subnet.name, address))
                .send()
                .await
                .map_err(|error| sdk_error(address, error))?
                .subnet()
                .and_then(|made| made.subnet_id())
                .unwrap_or_default()
                .to_owned(),
        };
        made.push((subnet.clone(), id));
    }

    let mut outputs = BTreeMap::new();
    let mut nat_by_zone: BTreeMap<String, String> = BTreeMap::new();
    if attributes.flag("is_nat_gateway_enabled").unwrap_or(false) {
        let (gateway, nats) = ensure_nat(clients, address, &vpc_id, &made).await?;
        outputs.insert("internet_gateway_id".to_owned(), Field::plain(gateway));
        nat_by_zone = nats;
    }
    let subnet_list = |public: bool| -> serde_json::Value {
        serde_json::Value::Array(
            made.iter()
                .filter(|(subnet, _)| subnet.public == public)
                .map(|(subnet, id)| {
                    serde_json::json!({
                        "name": subnet.name,
                        "id": id,
                        "cidr": subnet.cidr,
                        "availability_zone": subnet.zone,
                        "nat_gateway": nat_by_zone.get(&subnet.zone).cloned().unwrap_or_default(),
                    })
                })
                .collect(),
        )
    };
    outputs.insert("vpc_id".to_owned(), Field::plain(vpc_id.clone()));
    outputs.insert("vpc_cidr".to_owned(), Field::plain(cidr));
    outputs.insert(
        "private_subnets".to_owned(),
        Field::plain(subnet_list(false)),
    );
    outputs.insert("public_subnets".to_owned(), Field::plain(subnet_list(true)));
    Ok(Applied {
        provider_id: Some(vpc_id),
        outputs,
    })
}

pub(crate) async fn read_vpc(
    clients: &Clients,
    request: &ReadRequest,
) -> Result<ReadOutcome, ProviderError> {
    let address = request.address.as_str();
    let Some(vpc_id) = &request.provider_id else {
        return Ok(ReadOutcome::Gone);
    };
    let found = clients.ec2.describe_vpcs().vpc_ids(vpc_id).send().await;
    let vpcs = match found {
        Ok(found) => found,
        Err(error) if error_code(&error) == Some("InvalidVpcID.NotFound") => {
            return Ok(ReadOutcome::Gone);
        }
        Err(error) => return Err(sdk_error(address, error)),
    };
    let Some(vpc) = vpcs.vpcs().first() else {
        return Ok(ReadOutcome::Gone);
    };
    let mut attributes = request.attributes.clone();
    attributes.insert(
        "vpc_cidr".to_owned(),
        serde_json::Value::from(vpc.cidr_block().unwrap_or_default()),
    );
    for (attribute, name) in [
        (
            "is_dns_support_enabled",
            aws_sdk_ec2::types::VpcAttributeName::EnableDnsSupport,
        ),
        (
            "is_dns_hostnames_enabled",
            aws_sdk_ec2::types::VpcAttributeName::EnableDnsHostnames,
        ),
    ] {
        let answer = clients
            .ec2
            .describe_vpc_attribute()
            .vpc_id(vpc_id)
            .attribute(name.clone())
            .send()
            .await
            .map_err(|error| sdk_error(address, error))?;
        let value = match name {
            aws_sdk_ec2::types::VpcAttributeName::EnableDnsSupport => answer.enable_dns_support(),
            _ => answer.enable_dns_hostnames(),
        }
        .and_then(|value| value.value());
        if let Some(value) = value {
            attributes.insert(attribute.to_owned(), serde_json::Value::from(value));
        }
    }
    let outputs = vpc_outputs(
        clients,
        request,
        vpc_id,
        vpc.cidr_block().unwrap_or_default(),
    )
    .await?;
    Ok(ReadOutcome::Found(RemoteObject {
        provider_id: Some(vpc_id.clone()),
        attributes,
        outputs,
    }))
}

/// A VPC's outputs as read: its id and range, and its subnets when every subnet of the
/// manifest's layout is there (tagged for this address, as apply makes them) and the layout
/// has no NAT gateways (whose ids a read does not look up). Otherwise the subnet outputs are
/// left out, and what refers to them stays unknown until an apply makes them.
async fn vpc_outputs(
    clients: &Clients,
    request: &ReadRequest,
    vpc_id: &str,
    cidr: &str,
) -> Result<BTreeMap<String, Field>, ProviderError> {
    let address = request.address.as_str();
    let mut outputs = BTreeMap::new();
    outputs.insert("vpc_id".to_owned(), Field::plain(vpc_id));
    outputs.insert("vpc_cidr".to_owned(), Field::plain(cidr));
    let attributes = Attributes(&request.attributes);
    let Ok(planned) = planned_subnets(address, &attributes) else {
        return Ok(outputs);
    };
    if attributes.flag("is_nat_gateway_enabled").unwrap_or(false) {
        return Ok(outputs);
    }
    let present = clients
        .ec2
        .describe_subnets()
        .filters(filter("vpc-id", vpc_id))
        .filters(filter(&format!("tag:{ADDRESS_TAG}"), address))
        .send()
        .await
        .map_err(|error| sdk_error(address, error))?;
    let found: BTreeMap<(String, String), String> = present
        .subnets()
        .iter()
        .map(|subnet| {
            (
                (
                    subnet.cidr_block().unwrap_or_default().to_owned(),
                    subnet.availability_zone().unwrap_or_default().to_owned(),
                ),
                subnet.subnet_id().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let mut subnets = Vec::new();
    for subnet in &planned {
        let Some(id) = found.get(&(subnet.cidr.clone(), subnet.zone.clone())) else {
            return Ok(outputs);
        };
        subnets.push(serde_json::json!({
            "name": subnet.name,
            "id": id,
            "cidr": subnet.cidr,
            "availability_zone": subnet.zone,
            "nat_gateway": "",
        }));
    }
    outputs.insert("private_subnets".to_owned(), Field::plain(subnets));
    outputs.insert(
        "public_subnets".to_owned(),
        Field::plain(serde_json::Value::Array(Vec::new())),
    );
    Ok(outputs)
}

pub(crate) async fn delete_vpc(
    clients: &Clients,
    request: &ChangeRequest,
    limit: std::time::Duration,
) -> Result<(), ProviderError> {
    let address = request.address.as_str();
    let Some(vpc_id) = request.provider_id.clone() else {
        return Ok(());
    };
    let ec2 = &clients.ec2;
    let nats = ec2
        .describe_nat_gateways()
        .filter(filter("vpc-id", &vpc_id))
        .send()
        .await
        .map_err(|error| sdk_error(address, error))?;
    let mut allocations = Vec::new();
    for nat in nats.nat_gateways() {
        if matches!(
            nat.state().map(|state| state.as_str()),
            Some("deleted" | "deleting")
        ) {
            continue;
        }
        if let Some(id) = nat.nat_gateway_id() {
            ec2.delete_nat_gateway()
                .nat_gateway_id(id)
                .send()
                .await
                .map_err(|error| sdk_error(address, error))?;
        }
        allocations.extend(
            nat.nat_gateway_addresses()
                .iter()
                .filter_map(|address| address.allocation_id().map(str::to_owned)),
        );
    }
    // An address, the internet gateway and the subnets are free only once the NAT gateways
    // are gone (minutes on AWS).
    crate::wait_until(address, "the NAT gateways to be deleted", limit, || {
        let ec2 = ec2.clone();
        let vpc_id = vpc_id.clone();
        async move {
            let nats = ec2
                .describe_nat_gateways()
                .filter(filter("vpc-id", &vpc_id))
                .send()
                .await
                .map_err(|error| sdk_error(address, error))?;
            Ok(nats
                .nat_gateways()
                .iter()
                .all(|nat| nat.state().map(|state| state.as_str()) == Some("deleted")))
        }
    })
    .await?;
    for allocation in allocations {
        match ec2
            .release_address()
            .allocation_id(&allocation)
            .send()
            .await
        {
            Ok(_) => {}
            Err(error) if error_code(&error) == Some("InvalidAllocationID.NotFound") => {}
            Err(error) => return Err(sdk_error(address, error)),
        }
    }
    let tables = ec2
        .describe_route_tables()
        .filters(filter("vpc-id", &vpc_id))
        .send()
        .await
        .map_err(|error| sdk_error(address, error))?;
    for table in tables.route_tables() {
        let main = table
            .associations()
            .iter()
            .any(|association| association.main() == Some(true));
        if main {
            continue;
        }
        for association in table.associations() {
            if let Some(id) = association.route_table_association_id() {
                ec2.disassociate_route_table()
                    .association_id(id)
                    .send()
                    .await
                    .map_err(|error| sdk_error(address, error))?;
            }
        }
        if let Some(id) = table.route_table_id() {
            ec2.delete_route_table()
                .route_table_id(id)
                .send()
                .await
                .map_err(|error| sdk_error(address, error))?;
        }
    }
    let gateways = ec2
        .describe_internet_gateways()
        .filters(filter("attachment.vpc-id", &vpc_id))
        .send()
        .await
        .map_err(|error| sdk_error(address, error))?;
    for gateway in gateways.internet_gateways() {
        if let Some(id) = gateway.internet_gateway_id() {
            ec2.detach_internet_gateway()
                .internet_gateway_id(id)
                .vpc_id(&vpc_id)
                .send()
                .await
                .map_err(|error| sdk_error(address, error))?;
            ec2.delete_internet_gateway()
                .internet_gateway_id(id)
                .send()
                .await
                .map_err(|error| sdk_error(address, error))?;
        }
    }
    let subnets = ec2
        .describe_subnets()
        .filters(filter("vpc-id", &vpc_id))
        .send()
        .await
        .map_err(|error| sdk_error(address, error))?;
    for subnet in subnets.subnets() {
        if let Some(id) = subnet.subnet_id() {
            ec2.delete_subnet()
                .subnet_id(id)
                .send()
                .await
                .map_err(|error| sdk_error(address, error))?;
        }
    }
    match ec2.delete_vpc().vpc_id(&vpc_id).send().await {
        Ok(_) => Ok(()),
        Err(error) if error_code(&error) == Some("InvalidVpcID.NotFound") => Ok(()),
        Err(error) => Err(sdk_error(address, error)),
    }
}
