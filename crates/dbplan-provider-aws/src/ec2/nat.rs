//! A VPC's way out, when `is_nat_gateway_enabled`: an internet gateway, per AZ an Elastic IP
//! and a NAT gateway in the public subnet, and route tables (public subnets to the internet
//! gateway, private ones to their AZ's NAT gateway).

use super::vpc::PlannedSubnet;
use super::{ADDRESS_TAG, filter, tags};
use crate::{Clients, resource_name, sdk_error};
use aws_sdk_ec2::types::ResourceType;
use dbplan_provider::ProviderError;
use std::collections::BTreeMap;

/// An internet gateway, and per AZ an Elastic IP and a NAT gateway in the public subnet, with
/// route tables: public subnets route to the internet gateway, private ones to their AZ's NAT.
pub(crate) async fn ensure_nat(
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
