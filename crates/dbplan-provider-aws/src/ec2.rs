//! VPCs (with their subnets, and NAT gateways when enabled) and security groups, through
//! `aws-sdk-ec2`.
//!
//! Subnet layout, documented because addresses depend on it: the VPC's range is cut into
//! blocks of `subnet_size` addresses, in order; the private subnets take the first blocks, AZ by
//! AZ in the order `availability_zones` lists them (`subnets_per_availability_zone` each), and
//! with NAT enabled the public subnets (one per AZ) take the blocks after them.

use crate::{Attributes, Clients, error_code, resource_name, sdk_error};
use aws_sdk_ec2::types::{
    AttributeBooleanValue, Filter, IpPermission, IpRange, Ipv6Range, ResourceType, Tag,
    TagSpecification, UserIdGroupPair,
};
use dbplan_provider::{
    Applied, ChangeRequest, Field, ProviderError, ReadOutcome, ReadRequest, RemoteObject,
};
use std::collections::BTreeMap;

/// The tag that ties an EC2 object to its dbplan address (how describe-before-create finds it).
const ADDRESS_TAG: &str = "dbplan:address";

fn tags(resource: ResourceType, name: &str, address: &str) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource)
        .tags(Tag::builder().key("Name").value(name).build())
        .tags(Tag::builder().key(ADDRESS_TAG).value(address).build())
        .build()
}

pub(crate) fn filter(name: &str, value: &str) -> Filter {
    Filter::builder().name(name).values(value).build()
}

fn conflict(address: &str, message: String) -> ProviderError {
    ProviderError::Conflict {
        address: address.to_owned(),
        message,
    }
}

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
struct PlannedSubnet {
    name: String,
    cidr: String,
    zone: String,
    public: bool,
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

/// An internet gateway, and per AZ an Elastic IP and a NAT gateway in the public subnet, with
/// route tables: public subnets route to the internet gateway, private ones to their AZ's NAT.
async fn ensure_nat(
    clients: &Clients,
    address: &str,
    vpc_id: &str,
    subnets: &[(PlannedSubnet, String)],
) -> Result<(String, BTreeMap<String, String>), ProviderError> {
    let ec2 = &clients.ec2;
    let name = resource_name(address);
    let attached = ec2
        .describe_internet_gateways()
        .filters(filter("attachment.vpc-id", vpc_id))
        .send()
        .await
        .map_err(|error| sdk_error(address, error))?;
    let gateway = match attached
        .internet_gateways()
        .first()
        .and_then(|gateway| gateway.internet_gateway_id())
    {
        Some(id) => id.to_owned(),
        None => {
            let id = ec2
                .create_internet_gateway()
                .tag_specifications(tags(ResourceType::InternetGateway, name, address))
                .send()
                .await
                .map_err(|error| sdk_error(address, error))?
                .internet_gateway()
                .and_then(|gateway| gateway.internet_gateway_id())
                .unwrap_or_default()
                .to_owned();
            ec2.attach_internet_gateway()
                .internet_gateway_id(&id)
                .vpc_id(vpc_id)
                .send()
                .await
                .map_err(|error| sdk_error(address, error))?;
            id
        }
    };
    let existing = ec2
        .describe_nat_gateways()
        .filter(filter("vpc-id", vpc_id))
        .send()
        .await
        .map_err(|error| sdk_error(address, error))?;
    let mut nat_by_subnet: BTreeMap<String, String> = existing
        .nat_gateways()
        .iter()
        .filter(|nat| {
            !matches!(
                nat.state().map(|state| state.as_str()),
                Some("deleted" | "deleting" | "failed")
            )
        })
        .filter_map(|nat| {
            Some((
                nat.subnet_id()?.to_owned(),
                nat.nat_gateway_id()?.to_owned(),
            ))
        })
        .collect();
    let mut nat_by_zone = BTreeMap::new();
    for (subnet, subnet_id) in subnets.iter().filter(|(subnet, _)| subnet.public) {
        let nat = match nat_by_subnet.remove(subnet_id) {
            Some(id) => id,
            None => {
                let allocation = ec2
                    .allocate_address()
                    .domain(aws_sdk_ec2::types::DomainType::Vpc)
                    .tag_specifications(tags(ResourceType::ElasticIp, &subnet.name, address))
                    .send()
                    .await
                    .map_err(|error| sdk_error(address, error))?
                    .allocation_id()
                    .unwrap_or_default()
                    .to_owned();
                ec2.create_nat_gateway()
                    .subnet_id(subnet_id)
                    .allocation_id(allocation)
                    .tag_specifications(tags(ResourceType::Natgateway, &subnet.name, address))
                    .send()
                    .await
                    .map_err(|error| sdk_error(address, error))?
                    .nat_gateway()
                    .and_then(|nat| nat.nat_gateway_id())
                    .unwrap_or_default()
                    .to_owned()
            }
        };
        nat_by_zone.insert(subnet.zone.clone(), nat);
    }
    // Route tables: one public, one private per AZ; created once (tagged), routes replaced.
    let tables = ec2
        .describe_route_tables()
        .filters(filter("vpc-id", vpc_id))
        .filters(filter(&format!("tag:{ADDRESS_TAG}"), address))
        .send()
        .await
        .map_err(|error| sdk_error(address, error))?;
    let table_names: BTreeMap<String, String> = tables
        .route_tables()
        .iter()
        .filter_map(|table| {
            let name = table
                .tags()
                .iter()
                .find(|tag| tag.key() == Some("Name"))?
                .value()?
                .to_owned();
            Some((name, table.route_table_id()?.to_owned()))
        })
        .collect();
    let mut wanted: Vec<(String, Option<String>, Vec<String>)> = vec![(
        format!("{name}-public"),
        None,
        subnets
            .iter()
            .filter(|(subnet, _)| subnet.public)
            .map(|(_, id)| id.clone())
            .collect(),
    )];
    for (zone, nat) in &nat_by_zone {
        wanted.push((
            format!("{name}-private-{zone}"),
            Some(nat.clone()),
            subnets
                .iter()
                .filter(|(subnet, _)| !subnet.public && &subnet.zone == zone)
                .map(|(_, id)| id.clone())
                .collect(),
        ));
    }
    for (table_name, nat, members) in wanted {
        if table_names.contains_key(&table_name) {
            continue;
        }
        let table = ec2
            .create_route_table()
            .vpc_id(vpc_id)
            .tag_specifications(tags(ResourceType::RouteTable, &table_name, address))
            .send()
            .await
            .map_err(|error| sdk_error(address, error))?
            .route_table()
            .and_then(|table| table.route_table_id())
            .unwrap_or_default()
            .to_owned();
        let route = ec2
            .create_route()
            .route_table_id(&table)
            .destination_cidr_block("0.0.0.0/0");
        let route = match &nat {
            Some(nat) => route.nat_gateway_id(nat),
            None => route.gateway_id(&gateway),
        };
        route
            .send()
            .await
            .map_err(|error| sdk_error(address, error))?;
        for subnet in members {
            ec2.associate_route_table()
                .route_table_id(&table)
                .subnet_id(subnet)
                .send()
                .await
                .map_err(|error| sdk_error(address, error))?;
        }
    }
    Ok((gateway, nat_by_zone))
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

/// A rule as the manifests give it: protocol, ports, sources.
fn permission(rule: &serde_json::Value, own_group: Option<&str>) -> IpPermission {
    let text = |name: &str| rule.get(name).and_then(serde_json::Value::as_str);
    let list = |name: &str| -> Vec<String> {
        rule.get(name)
            .and_then(serde_json::Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| item.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let protocol = text("protocol").unwrap_or("tcp");
    let mut builder = IpPermission::builder().ip_protocol(protocol);
    if protocol != "-1" {
        builder = builder
            .from_port(
                rule.get("from_port")
                    .and_then(serde_json::Value::as_i64)
                    .unwrap_or(0) as i32,
            )
            .to_port(
                rule.get("to_port")
                    .and_then(serde_json::Value::as_i64)
                    .unwrap_or(0) as i32,
            );
    }
    let description = text("description");
    for cidr in list("ipv4_cidrs") {
        let mut range = IpRange::builder().cidr_ip(cidr);
        if let Some(description) = description {
            range = range.description(description);
        }
        builder = builder.ip_ranges(range.build());
    }
    for cidr in list("ipv6_cidrs") {
        builder = builder.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(cidr).build());
    }
    let mut groups = list("source_security_group_ids");
    groups.extend(list("destination_security_group_ids"));
    if rule
        .get("self_reference")
        .and_then(serde_json::Value::as_bool)
        == Some(true)
        && let Some(own) = own_group
    {
        groups.push(own.to_owned());
    }
    for group in groups {
        builder = builder.user_id_group_pairs(UserIdGroupPair::builder().group_id(group).build());
    }
    builder.build()
}

/// The ingress of a cluster's security group: the cluster port from each allowed CIDR block and
/// each listed security group.
fn cluster_ingress(attributes: &Attributes<'_>) -> Vec<IpPermission> {
    // 0 (the kind's default) is the engine's default port.
    let port = match attributes.int("port").filter(|port| *port > 0) {
        Some(port) => port as i32,
        None if attributes
            .text("engine")
            .is_some_and(|engine| engine.contains("mysql")) =>
        {
            3306
        }
        None => 5432,
    };
    let mut builder = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port);
    let cidrs = attributes.texts("allowed_cidr_blocks");
    let groups = attributes.texts("security_group_ids");
    if cidrs.is_empty() && groups.is_empty() {
        return Vec::new();
    }
    for cidr in cidrs {
        builder = builder.ip_ranges(IpRange::builder().cidr_ip(cidr).build());
    }
    for group in groups {
        builder = builder.user_id_group_pairs(UserIdGroupPair::builder().group_id(group).build());
    }
    vec![builder.build()]
}

pub(crate) fn group_name(address: &str, cluster: bool) -> String {
    if cluster {
        format!("{}-aurora", resource_name(address))
    } else {
        resource_name(address).to_owned()
    }
}

pub(crate) async fn apply_security_group(
    clients: &Clients,
    request: &ChangeRequest,
    plain: &BTreeMap<String, serde_json::Value>,
    create: bool,
    cluster: bool,
) -> Result<Applied, ProviderError> {
    let address = request.address.as_str();
    let attributes = Attributes(plain);
    let ec2 = &clients.ec2;
    let vpc_id = attributes.text("vpc_id").unwrap_or_default();
    let name = group_name(address, cluster);
    let description = attributes
        .text("description")
        .unwrap_or_else(|| format!("{} (managed by dbplan)", request.address));
    let existing = ec2
        .describe_security_groups()
        .filters(filter("vpc-id", &vpc_id))
        .filters(filter("group-name", &name))
        .send()
        .await
        .map_err(|error| sdk_error(address, error))?;
    let group_id = match existing.security_groups().first() {
        Some(group) => {
            if create {
                request.adopt.check(
                    address,
                    format!(
                        "the security group {name:?} ({}) in {vpc_id}",
                        group.group_id().unwrap_or_default()
                    ),
                )?;
            }
            if create && group.description() != Some(description.as_str()) {
                return Err(conflict(
                    address,
                    format!(
                        "a security group {name:?} already exists in {vpc_id} with another description ({:?}); dbplan adopts only a matching group: rename or delete it",
                        group.description().unwrap_or_default()
                    ),
                ));
            }
            group.group_id().unwrap_or_default().to_owned()
        }
        None => ec2
            .create_security_group()
            .group_name(&name)
            .description(&description)
            .vpc_id(&vpc_id)
            .tag_specifications(tags(ResourceType::SecurityGroup, &name, address))
            .send()
            .await
            .map_err(|error| sdk_error(address, error))?
            .group_id()
            .unwrap_or_default()
            .to_owned(),
    };

    // Rules are replaced as a set: what is there and not planned is revoked, what is planned
    // and not there is authorised.
    let ingress: Vec<IpPermission> = if cluster {
        cluster_ingress(&attributes)
    } else {
        attributes
            .get("ingress")
            .and_then(serde_json::Value::as_array)
            .map(|rules| {
                rules
                    .iter()
                    .map(|rule| permission(rule, Some(&group_id)))
                    .collect()
            })
            .unwrap_or_default()
    };
    let egress: Option<Vec<IpPermission>> = if cluster {
        None
    } else {
        attributes
            .get("egress")
            .and_then(serde_json::Value::as_array)
            .filter(|rules| !rules.is_empty())
            .map(|rules| {
                rules
                    .iter()
                    .map(|rule| permission(rule, Some(&group_id)))
                    .collect()
            })
    };
    let current = ec2
        .describe_security_groups()
        .group_ids(&group_id)
        .send()
        .await
        .map_err(|error| sdk_error(address, error))?;
    let group = current.security_groups().first();
    let current_ingress = group
        .map(|group| group.ip_permissions().to_vec())
        .unwrap_or_default();
    let current_egress = group
        .map(|group| group.ip_permissions_egress().to_vec())
        .unwrap_or_default();
    if !same_rules(&current_ingress, &ingress) {
        if !current_ingress.is_empty() {
            ec2.revoke_security_group_ingress()
                .group_id(&group_id)
                .set_ip_permissions(Some(strip(&current_ingress)))
                .send()
                .await
                .map_err(|error| sdk_error(address, error))?;
        }
        if !ingress.is_empty() {
            ec2.authorize_security_group_ingress()
                .group_id(&group_id)
                .set_ip_permissions(Some(ingress))
                .send()
                .await
                .map_err(|error| sdk_error(address, error))?;
        }
    }
    if let Some(egress) = egress
        && !same_rules(&current_egress, &egress)
    {
        if !current_egress.is_empty() {
            ec2.revoke_security_group_egress()
                .group_id(&group_id)
                .set_ip_permissions(Some(strip(&current_egress)))
                .send()
                .await
                .map_err(|error| sdk_error(address, error))?;
        }
        ec2.authorize_security_group_egress()
            .group_id(&group_id)
            .set_ip_permissions(Some(egress))
            .send()
            .await
            .map_err(|error| sdk_error(address, error))?;
    }
    let mut outputs = BTreeMap::new();
    outputs.insert(
        "security_group_id".to_owned(),
        Field::plain(group_id.clone()),
    );
    outputs.insert("security_group_name".to_owned(), Field::plain(name));
    Ok(Applied {
        provider_id: Some(group_id),
        outputs,
    })
}

/// A rule reduced to what identifies it (protocol, ports, sources), for comparison and revoke.
fn strip(rules: &[IpPermission]) -> Vec<IpPermission> {
    rules
        .iter()
        .map(|rule| {
            let mut builder = IpPermission::builder()
                .set_ip_protocol(rule.ip_protocol().map(str::to_owned))
                .set_from_port(rule.from_port())
                .set_to_port(rule.to_port());
            for range in rule.ip_ranges() {
                builder = builder.ip_ranges(
                    IpRange::builder()
                        .set_cidr_ip(range.cidr_ip().map(str::to_owned))
                        .build(),
                );
            }
            for range in rule.ipv6_ranges() {
                builder = builder.ipv6_ranges(
                    Ipv6Range::builder()
                        .set_cidr_ipv6(range.cidr_ipv6().map(str::to_owned))
                        .build(),
                );
            }
            for pair in rule.user_id_group_pairs() {
                builder = builder.user_id_group_pairs(
                    UserIdGroupPair::builder()
                        .set_group_id(pair.group_id().map(str::to_owned))
                        .build(),
                );
            }
            builder.build()
        })
        .collect()
}

/// The comparable form of a rule set.
fn rule_keys(rules: &[IpPermission]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for rule in strip(rules) {
        let head = format!(
            "{}:{}:{}",
            rule.ip_protocol().unwrap_or_default(),
            rule.from_port().unwrap_or(-1),
            rule.to_port().unwrap_or(-1)
        );
        let head = if rule.ip_protocol() == Some("-1") {
            "-1".to_owned()
        } else {
            head
        };
        keys.extend(
            rule.ip_ranges()
                .iter()
                .map(|range| format!("{head} {}", range.cidr_ip().unwrap_or_default())),
        );
        keys.extend(
            rule.ipv6_ranges()
                .iter()
                .map(|range| format!("{head} {}", range.cidr_ipv6().unwrap_or_default())),
        );
        keys.extend(
            rule.user_id_group_pairs()
                .iter()
                .map(|pair| format!("{head} {}", pair.group_id().unwrap_or_default())),
        );
    }
    keys.sort();
    keys.dedup();
    keys
}

fn same_rules(current: &[IpPermission], planned: &[IpPermission]) -> bool {
    rule_keys(current) == rule_keys(planned)
}

pub(crate) async fn read_security_group(
    clients: &Clients,
    request: &ReadRequest,
) -> Result<ReadOutcome, ProviderError> {
    let address = request.address.as_str();
    let Some(group_id) = &request.provider_id else {
        return Ok(ReadOutcome::Gone);
    };
    let found = clients
        .ec2
        .describe_security_groups()
        .group_ids(group_id)
        .send()
        .await;
    let groups = match found {
        Ok(found) => found,
        Err(error) if error_code(&error) == Some("InvalidGroup.NotFound") => {
            return Ok(ReadOutcome::Gone);
        }
        Err(error) => return Err(sdk_error(address, error)),
    };
    let Some(group) = groups.security_groups().first() else {
        return Ok(ReadOutcome::Gone);
    };
    let mut attributes = request.attributes.clone();
    attributes.insert(
        "vpc_id".to_owned(),
        serde_json::Value::from(group.vpc_id().unwrap_or_default()),
    );
    if attributes.contains_key("description") {
        attributes.insert(
            "description".to_owned(),
            serde_json::Value::from(group.description().unwrap_or_default()),
        );
    }
    // A cluster's security group: the sources of its ingress on the cluster port.
    if request.part.as_deref() == Some("security-group") {
        let mut cidrs = Vec::new();
        let mut groups_in = Vec::new();
        for rule in group.ip_permissions() {
            cidrs.extend(
                rule.ip_ranges()
                    .iter()
                    .filter_map(|range| range.cidr_ip().map(str::to_owned)),
            );
            groups_in.extend(
                rule.user_id_group_pairs()
                    .iter()
                    .filter_map(|pair| pair.group_id().map(str::to_owned)),
            );
        }
        if attributes.contains_key("allowed_cidr_blocks") || !cidrs.is_empty() {
            attributes.insert("allowed_cidr_blocks".to_owned(), serde_json::json!(cidrs));
        }
        if attributes.contains_key("security_group_ids") || !groups_in.is_empty() {
            attributes.insert(
                "security_group_ids".to_owned(),
                serde_json::json!(groups_in),
            );
        }
    }
    let mut outputs = BTreeMap::new();
    outputs.insert(
        "security_group_id".to_owned(),
        Field::plain(group_id.clone()),
    );
    outputs.insert(
        "security_group_name".to_owned(),
        Field::plain(group.group_name().unwrap_or_default()),
    );
    Ok(ReadOutcome::Found(RemoteObject {
        provider_id: Some(group_id.clone()),
        attributes,
        outputs,
    }))
}

pub(crate) async fn delete_security_group(
    clients: &Clients,
    request: &ChangeRequest,
) -> Result<(), ProviderError> {
    let address = request.address.as_str();
    let Some(group_id) = request.provider_id.clone() else {
        return Ok(());
    };
    // A group still used by a cluster is not deleted (AWS would refuse with
    // DependencyViolation; emulators may not).
    let clusters = clients
        .rds
        .describe_db_clusters()
        .send()
        .await
        .map_err(|error| sdk_error(address, error))?;
    if let Some(user) = clusters.db_clusters().iter().find(|cluster| {
        cluster
            .vpc_security_groups()
            .iter()
            .any(|group| group.vpc_security_group_id() == Some(group_id.as_str()))
    }) {
        return Err(conflict(
            address,
            format!(
                "the security group {group_id} is still used by the DB cluster {}; it is left in place: remove it from that cluster first",
                user.db_cluster_identifier().unwrap_or_default()
            ),
        ));
    }
    match clients
        .ec2
        .delete_security_group()
        .group_id(&group_id)
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(error) if error_code(&error) == Some("InvalidGroup.NotFound") => Ok(()),
        Err(error) => Err(sdk_error(address, error)),
    }
}
