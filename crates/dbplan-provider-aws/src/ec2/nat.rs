//! A VPC's way out, when `is_nat_gateway_enabled`: an internet gateway, per AZ an Elastic IP
//! and a NAT gateway in the public subnet, and route tables (public subnets to the internet
//! gateway, private ones to their AZ's NAT gateway).

use super::vpc::MadeSubnet;
use super::{filter, tagged, tags};
use crate::Clients;
use crate::attributes::incomplete;
use crate::error::{At, ErrorCode};
use aws_sdk_ec2::operation::create_route::builders::CreateRouteFluentBuilder;
use aws_sdk_ec2::types::{DomainType, NatGateway, ResourceType};
use dbplan_core::ResourceAddress;
use dbplan_provider::{ProviderError, wait_until};
use std::collections::BTreeMap;
use std::time::Duration;

/// A VPC's NAT as made: its internet gateway, and the NAT gateway of each AZ.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Nat {
    pub(crate) internet_gateway: String,
    pub(crate) by_zone: BTreeMap<String, String>,
}

/// Where a route table sends everything (`0.0.0.0/0`).
#[derive(Clone, Debug, PartialEq)]
enum Target {
    InternetGateway,
    NatGateway(String),
}

/// A route table dbplan makes: its name, where it routes, the subnets it serves.
#[derive(Clone, Debug, PartialEq)]
struct RouteTable {
    name: String,
    target: Target,
    subnets: Vec<String>,
}

/// Makes what is missing of the VPC's NAT (module docs); what exists is kept.
pub(crate) async fn ensure(
    clients: &Clients,
    address: &ResourceAddress,
    vpc_id: &str,
    subnets: &[MadeSubnet],
) -> Result<Nat, ProviderError> {
    let name = &address.name;
    let internet_gateway = internet_gateway(clients, address, name, vpc_id).await?;
    let by_zone = nat_gateways(clients, address, vpc_id, subnets).await?;
    let tables = route_tables(name, subnets, &by_zone);
    ensure_route_tables(clients, address, vpc_id, &internet_gateway, tables).await?;
    Ok(Nat {
        internet_gateway,
        by_zone,
    })
}

/// The internet gateway attached to the VPC; one is created and attached when there is none
/// (tagged with the resource's `name`).
async fn internet_gateway(
    clients: &Clients,
    address: &ResourceAddress,
    name: &str,
    vpc_id: &str,
) -> Result<String, ProviderError> {
    let ec2 = &clients.ec2;
    let attached = ec2
        .describe_internet_gateways()
        .filters(filter("attachment.vpc-id", vpc_id))
        .send()
        .await
        .at(address)?;
    if let Some(id) = attached
        .internet_gateways()
        .first()
        .and_then(|gateway| gateway.internet_gateway_id())
    {
        return Ok(id.to_owned());
    }
    let id = ec2
        .create_internet_gateway()
        .tag_specifications(tags(ResourceType::InternetGateway, name, address))
        .send()
        .await
        .at(address)?
        .internet_gateway()
        .and_then(|gateway| gateway.internet_gateway_id())
        .ok_or_else(|| incomplete(address, "id of the internet gateway it created"))?
        .to_owned();
    ec2.attach_internet_gateway()
        .internet_gateway_id(&id)
        .vpc_id(vpc_id)
        .send()
        .await
        .at(address)?;
    Ok(id)
}

/// Whether a NAT gateway counts as there (not going or gone).
fn is_live(nat: &NatGateway) -> bool {
    !matches!(
        nat.state().map(|state| state.as_str()),
        Some("deleted" | "deleting" | "failed")
    )
}

/// The NAT gateway of each AZ, in its public subnet: those there are kept, the missing are
/// created with an Elastic IP each.
async fn nat_gateways(
    clients: &Clients,
    address: &ResourceAddress,
    vpc_id: &str,
    subnets: &[MadeSubnet],
) -> Result<BTreeMap<String, String>, ProviderError> {
    let ec2 = &clients.ec2;
    let existing = ec2
        .describe_nat_gateways()
        .filter(filter("vpc-id", vpc_id))
        .send()
        .await
        .at(address)?;
    let mut by_subnet: BTreeMap<String, String> = existing
        .nat_gateways()
        .iter()
        .filter(|nat| is_live(nat))
        .filter_map(|nat| {
            Some((
                nat.subnet_id()?.to_owned(),
                nat.nat_gateway_id()?.to_owned(),
            ))
        })
        .collect();
    let mut by_zone = BTreeMap::new();
    for (subnet, subnet_id) in subnets.iter().filter(|(subnet, _)| subnet.public) {
        if let Some(id) = by_subnet.remove(subnet_id) {
            by_zone.insert(subnet.zone.clone(), id);
            continue;
        }
        let allocation = ec2
            .allocate_address()
            .domain(DomainType::Vpc)
            .tag_specifications(tags(ResourceType::ElasticIp, &subnet.name, address))
            .send()
            .await
            .at(address)?
            .allocation_id()
            .ok_or_else(|| incomplete(address, "allocation id of the Elastic IP it allocated"))?
            .to_owned();
        let id = ec2
            .create_nat_gateway()
            .subnet_id(subnet_id)
            .allocation_id(allocation)
            .tag_specifications(tags(ResourceType::Natgateway, &subnet.name, address))
            .send()
            .await
            .at(address)?
            .nat_gateway()
            .and_then(|nat| nat.nat_gateway_id())
            .ok_or_else(|| incomplete(address, "id of the NAT gateway it created"))?
            .to_owned();
        by_zone.insert(subnet.zone.clone(), id);
    }
    Ok(by_zone)
}

/// The route tables of the layout: one public (to the internet gateway) for the public subnets,
/// and per AZ with a NAT gateway one private (to that NAT gateway) for the AZ's private subnets.
fn route_tables(
    name: &str,
    subnets: &[MadeSubnet],
    nat_by_zone: &BTreeMap<String, String>,
) -> Vec<RouteTable> {
    let ids = |keep: &dyn Fn(&MadeSubnet) -> bool| -> Vec<String> {
        subnets
            .iter()
            .filter(|subnet| keep(subnet))
            .map(|(_, id)| id.clone())
            .collect()
    };
    let mut tables = vec![RouteTable {
        name: format!("{name}-public"),
        target: Target::InternetGateway,
        subnets: ids(&|(subnet, _)| subnet.public),
    }];
    for (zone, nat) in nat_by_zone {
        tables.push(RouteTable {
            name: format!("{name}-private-{zone}"),
            target: Target::NatGateway(nat.clone()),
            subnets: ids(&|(subnet, _)| !subnet.public && &subnet.zone == zone),
        });
    }
    tables
}

/// The default route of a table.
fn route_request(
    call: CreateRouteFluentBuilder,
    table_id: &str,
    target: &Target,
    internet_gateway: &str,
) -> CreateRouteFluentBuilder {
    let call = call
        .route_table_id(table_id)
        .destination_cidr_block("0.0.0.0/0");
    match target {
        Target::NatGateway(nat) => call.nat_gateway_id(nat),
        Target::InternetGateway => call.gateway_id(internet_gateway),
    }
}

/// Creates the route tables not there yet (found by their tagged name), with their route and
/// subnets; a table that exists is left as it is.
async fn ensure_route_tables(
    clients: &Clients,
    address: &ResourceAddress,
    vpc_id: &str,
    internet_gateway: &str,
    wanted: Vec<RouteTable>,
) -> Result<(), ProviderError> {
    let ec2 = &clients.ec2;
    let tables = ec2
        .describe_route_tables()
        .filters(filter("vpc-id", vpc_id))
        .filters(tagged(address))
        .send()
        .await
        .at(address)?;
    let present: Vec<&str> = tables
        .route_tables()
        .iter()
        .filter_map(|table| {
            table
                .tags()
                .iter()
                .find(|tag| tag.key() == Some("Name"))?
                .value()
        })
        .collect();
    for table in wanted {
        if present.contains(&table.name.as_str()) {
            continue;
        }
        let table_id = ec2
            .create_route_table()
            .vpc_id(vpc_id)
            .tag_specifications(tags(ResourceType::RouteTable, &table.name, address))
            .send()
            .await
            .at(address)?
            .route_table()
            .and_then(|made| made.route_table_id())
            .ok_or_else(|| incomplete(address, "id of the route table it created"))?
            .to_owned();
        route_request(
            ec2.create_route(),
            &table_id,
            &table.target,
            internet_gateway,
        )
        .send()
        .await
        .at(address)?;
        for subnet in table.subnets {
            ec2.associate_route_table()
                .route_table_id(&table_id)
                .subnet_id(subnet)
                .send()
                .await
                .at(address)?;
        }
    }
    Ok(())
}

/// Removes a VPC's NAT before the VPC goes: its NAT gateways (waiting until they are gone, which
/// takes minutes on AWS, since their addresses, the internet gateway and the subnets are free
/// only then), their Elastic IPs, the route tables but the main one, and the internet gateway.
pub(crate) async fn delete(
    clients: &Clients,
    address: &ResourceAddress,
    vpc_id: &str,
    limit: Duration,
) -> Result<(), ProviderError> {
    let allocations = delete_nat_gateways(clients, address, vpc_id).await?;
    wait_until(address, "the NAT gateways to be deleted", limit, || {
        let ec2 = clients.ec2.clone();
        async move {
            let nats = ec2
                .describe_nat_gateways()
                .filter(filter("vpc-id", vpc_id))
                .send()
                .await
                .at(address)?;
            Ok(nats
                .nat_gateways()
                .iter()
                .all(|nat| nat.state().map(|state| state.as_str()) == Some("deleted")))
        }
    })
    .await?;
    for allocation in allocations {
        clients
            .ec2
            .release_address()
            .allocation_id(&allocation)
            .send()
            .await
            .unless(ErrorCode::AllocationNotFound, address)?;
    }
    delete_route_tables(clients, address, vpc_id).await?;
    delete_internet_gateways(clients, address, vpc_id).await
}

/// Starts the delete of the VPC's NAT gateways; the allocation ids of their Elastic IPs.
async fn delete_nat_gateways(
    clients: &Clients,
    address: &ResourceAddress,
    vpc_id: &str,
) -> Result<Vec<String>, ProviderError> {
    let ec2 = &clients.ec2;
    let nats = ec2
        .describe_nat_gateways()
        .filter(filter("vpc-id", vpc_id))
        .send()
        .await
        .at(address)?;
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
                .at(address)?;
        }
        allocations.extend(
            nat.nat_gateway_addresses()
                .iter()
                .filter_map(|address| address.allocation_id().map(str::to_owned)),
        );
    }
    Ok(allocations)
}

/// Deletes the VPC's route tables (after their subnets' associations), all but the main one.
async fn delete_route_tables(
    clients: &Clients,
    address: &ResourceAddress,
    vpc_id: &str,
) -> Result<(), ProviderError> {
    let ec2 = &clients.ec2;
    let tables = ec2
        .describe_route_tables()
        .filters(filter("vpc-id", vpc_id))
        .send()
        .await
        .at(address)?;
    for table in tables.route_tables() {
        let associations = table.associations();
        if associations
            .iter()
            .any(|association| association.main() == Some(true))
        {
            continue;
        }
        for id in associations
            .iter()
            .filter_map(|association| association.route_table_association_id())
        {
            ec2.disassociate_route_table()
                .association_id(id)
                .send()
                .await
                .at(address)?;
        }
        if let Some(id) = table.route_table_id() {
            ec2.delete_route_table()
                .route_table_id(id)
                .send()
                .await
                .at(address)?;
        }
    }
    Ok(())
}

/// Detaches and deletes the VPC's internet gateways.
async fn delete_internet_gateways(
    clients: &Clients,
    address: &ResourceAddress,
    vpc_id: &str,
) -> Result<(), ProviderError> {
    let ec2 = &clients.ec2;
    let gateways = ec2
        .describe_internet_gateways()
        .filters(filter("attachment.vpc-id", vpc_id))
        .send()
        .await
        .at(address)?;
    for id in gateways
        .internet_gateways()
        .iter()
        .filter_map(|gateway| gateway.internet_gateway_id())
    {
        ec2.detach_internet_gateway()
            .internet_gateway_id(id)
            .vpc_id(vpc_id)
            .send()
            .await
            .at(address)?;
        ec2.delete_internet_gateway()
            .internet_gateway_id(id)
            .send()
            .await
            .at(address)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ec2::vpc::PlannedSubnet;
    use crate::testing::ec2;

    fn subnet(name: &str, zone: &str, public: bool) -> MadeSubnet {
        let planned = PlannedSubnet {
            name: name.to_owned(),
            cidr: String::new(),
            zone: zone.to_owned(),
            public,
        };
        (planned, format!("subnet-{name}"))
    }

    #[test]
    fn public_subnets_route_to_the_internet_and_private_ones_to_their_zones_nat() {
        let subnets = [
            subnet("a0", "us-east-1a", false),
            subnet("a1", "us-east-1a", false),
            subnet("b0", "us-east-1b", false),
            subnet("pa", "us-east-1a", true),
            subnet("pb", "us-east-1b", true),
        ];
        let nats = BTreeMap::from([
            ("us-east-1a".to_owned(), "nat-a".to_owned()),
            ("us-east-1b".to_owned(), "nat-b".to_owned()),
        ]);
        let tables = route_tables("main", &subnets, &nats);
        let ids = |names: &[&str]| -> Vec<String> {
            names.iter().map(|name| format!("subnet-{name}")).collect()
        };
        assert_eq!(
            tables,
            [
                RouteTable {
                    name: "main-public".to_owned(),
                    target: Target::InternetGateway,
                    subnets: ids(&["pa", "pb"]),
                },
                RouteTable {
                    name: "main-private-us-east-1a".to_owned(),
                    target: Target::NatGateway("nat-a".to_owned()),
                    subnets: ids(&["a0", "a1"]),
                },
                RouteTable {
                    name: "main-private-us-east-1b".to_owned(),
                    target: Target::NatGateway("nat-b".to_owned()),
                    subnets: ids(&["b0"]),
                },
            ]
        );
    }

    #[test]
    fn a_default_route_goes_to_its_target() {
        let to_internet = route_request(
            ec2().create_route(),
            "rtb-1",
            &Target::InternetGateway,
            "igw-1",
        );
        let input = to_internet.as_input();
        assert_eq!(input.get_route_table_id().as_deref(), Some("rtb-1"));
        assert_eq!(
            input.get_destination_cidr_block().as_deref(),
            Some("0.0.0.0/0")
        );
        assert_eq!(input.get_gateway_id().as_deref(), Some("igw-1"));
        assert_eq!(*input.get_nat_gateway_id(), None);
        let target = Target::NatGateway("nat-a".to_owned());
        let to_nat = route_request(ec2().create_route(), "rtb-2", &target, "igw-1");
        assert_eq!(
            to_nat.as_input().get_nat_gateway_id().as_deref(),
            Some("nat-a")
        );
        assert_eq!(*to_nat.as_input().get_gateway_id(), None);
    }

    #[test]
    fn gateways_going_or_gone_do_not_count() {
        let nat = |state: &str| NatGateway::builder().state(state.into()).build();
        assert!(is_live(&nat("available")));
        assert!(is_live(&nat("pending")));
        assert!(!is_live(&nat("deleting")));
        assert!(!is_live(&nat("failed")));
    }
}
