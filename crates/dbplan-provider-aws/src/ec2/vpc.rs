//! An `AwsVpc`: the VPC, found by its `dbplan:address` tag, and its subnets.
//!
//! Subnet layout, documented because addresses depend on it: the VPC's range is cut into
//! blocks of `subnet_size` addresses, in order; the private subnets take the first blocks, AZ by
//! AZ in the order `availability_zones` lists them (`subnets_per_availability_zone` each), and
//! with NAT enabled the public subnets (one per AZ) take the blocks after them.

use super::nat::{self, Nat};
use super::{conflict, filter, tagged, tags};
use crate::Clients;
use crate::attributes::{Action, incomplete, unusable};
use crate::error::{At, ErrorCode};
use aws_sdk_ec2::operation::create_subnet::builders::CreateSubnetFluentBuilder;
use aws_sdk_ec2::types::{AttributeBooleanValue, ResourceType, Subnet, VpcAttributeName};
use dbplan_core::ResourceAddress;
use dbplan_core::kinds::aws_vpc::Vpc;
use dbplan_provider::{
    Applied, ChangeRequest, Field, ProviderError, ReadOutcome, ReadRequest, RemoteObject,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

/// What the manifest asks of a VPC, decoded once from the planned (or recorded) attributes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct VpcAttributes {
    /// `vpc_cidr`.
    pub(crate) cidr: String,
    /// `subnet_size`: addresses per subnet (256 when not planned).
    subnet_size: u32,
    /// `subnets_per_availability_zone` (1 when not planned).
    subnets_per_zone: u32,
    /// `availability_zones`.
    zones: Vec<String>,
    /// `is_nat_gateway_enabled`.
    pub(crate) nat: bool,
    /// `is_dns_support_enabled` (on when not planned, as AWS's default).
    dns_support: bool,
    /// `is_dns_hostnames_enabled` (on when not planned).
    dns_hostnames: bool,
}

impl VpcAttributes {
    pub(crate) fn from_planned(
        address: &ResourceAddress,
        vpc: Vpc,
    ) -> Result<VpcAttributes, ProviderError> {
        let count = |name: &str, value: Option<i64>, default: u32| -> Result<u32, ProviderError> {
            match value {
                None => Ok(default),
                Some(value) => u32::try_from(value)
                    .ok()
                    .filter(|value| *value > 0)
                    .ok_or_else(|| unusable(address, name, value, "not a positive number")),
            }
        };
        Ok(VpcAttributes {
            subnet_size: count("subnet_size", vpc.subnet_size, 256)?,
            subnets_per_zone: count(
                "subnets_per_availability_zone",
                vpc.subnets_per_availability_zone,
                1,
            )?,
            cidr: vpc.vpc_cidr,
            zones: vpc.availability_zones,
            nat: vpc.is_nat_gateway_enabled.unwrap_or(false),
            dns_support: vpc.is_dns_support_enabled.unwrap_or(true),
            dns_hostnames: vpc.is_dns_hostnames_enabled.unwrap_or(true),
        })
    }

    /// The subnets of the layout (module docs), private ones first.
    pub(crate) fn subnets(
        &self,
        address: &ResourceAddress,
    ) -> Result<Vec<PlannedSubnet>, ProviderError> {
        let name = address.name.as_str();
        let cidr = &self.cidr;
        let (base, prefix) = parse_cidr(cidr)
            .ok_or_else(|| conflict(address, format!("{cidr:?} is not an IPv4 CIDR")))?;
        let size = self.subnet_size;
        let capacity = if prefix == 0 {
            u32::MAX
        } else {
            1u32 << (32 - prefix)
        };
        let mut wanted = Vec::new();
        for zone in &self.zones {
            for slot in 0..self.subnets_per_zone {
                wanted.push((format!("{name}-private-{zone}-{slot}"), zone, false));
            }
        }
        if self.nat {
            for zone in &self.zones {
                wanted.push((format!("{name}-public-{zone}"), zone, true));
            }
        }
        let count = wanted.len() as u64;
        if count * u64::from(size) > u64::from(capacity) {
            return Err(conflict(
                address,
                format!(
                    "{count} subnets of {size} addresses do not fit in {cidr}; use a larger vpc_cidr or a smaller subnet_size"
                ),
            ));
        }
        let mut subnets = Vec::new();
        for (index, (subnet_name, zone, public)) in (0u32..).zip(wanted) {
            subnets.push(PlannedSubnet {
                name: subnet_name,
                cidr: block(base, size, index)
                    .ok_or_else(|| unusable(address, "subnet_size", size, "not a power of two"))?,
                zone: zone.clone(),
                public,
            });
        }
        Ok(subnets)
    }
}

/// `10.30.0.0/16` → (base address, prefix length).
fn parse_cidr(cidr: &str) -> Option<(u32, u32)> {
    let (ip, prefix) = cidr.split_once('/')?;
    let ip: std::net::Ipv4Addr = ip.parse().ok()?;
    Some((u32::from(ip), prefix.parse().ok()?))
}

/// The `index`-th block of `size` addresses in the VPC's range, as a CIDR (`None` for a size
/// that is not a power of two).
fn block(base: u32, size: u32, index: u32) -> Option<String> {
    if !size.is_power_of_two() {
        return None;
    }
    let prefix = 32 - size.checked_ilog2()?;
    let start = base.checked_add(size.checked_mul(index)?)?;
    Some(format!("{}/{prefix}", std::net::Ipv4Addr::from(start)))
}

/// One subnet the manifest asks for.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PlannedSubnet {
    pub(crate) name: String,
    pub(crate) cidr: String,
    pub(crate) zone: String,
    pub(crate) public: bool,
}

/// A subnet that exists, with its id.
pub(crate) type MadeSubnet = (PlannedSubnet, String);

/// A VPC AWS describes: its id and range.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct FoundVpc {
    pub(crate) id: String,
    pub(crate) cidr: String,
}

/// The VPC tagged for `address`, if there is one.
pub(crate) async fn find(
    clients: &Clients,
    address: &ResourceAddress,
) -> Result<Option<FoundVpc>, ProviderError> {
    let found = clients
        .ec2
        .describe_vpcs()
        .filters(tagged(address))
        .send()
        .await
        .at(address)?;
    let Some(vpc) = found.vpcs().first() else {
        return Ok(None);
    };
    Ok(Some(FoundVpc {
        id: vpc
            .vpc_id()
            .ok_or_else(|| incomplete(address, "VPC id"))?
            .to_owned(),
        cidr: vpc
            .cidr_block()
            .ok_or_else(|| incomplete(address, "VPC range"))?
            .to_owned(),
    }))
}

pub(crate) async fn apply(
    clients: &Clients,
    request: &ChangeRequest,
    action: Action,
) -> Result<Applied, ProviderError> {
    let address = &request.address;
    let vpc = VpcAttributes::from_planned(address, request.decode()?)?;
    let planned = vpc.subnets(&request.address)?;
    let vpc_id = ensure_vpc(clients, request, &vpc, action).await?;
    set_dns(clients, address, &vpc_id, &vpc).await?;
    let made = ensure_subnets(clients, address, &vpc_id, &planned).await?;
    let nat = if vpc.nat {
        Some(nat::ensure(clients, &request.address, &vpc_id, &made).await?)
    } else {
        None
    };
    Ok(applied(vpc_id, &vpc.cidr, &made, nat.as_ref()))
}

/// The VPC's id: the recorded one (an update), the one tagged for this address (a create
/// that may adopt it), or a new one.
async fn ensure_vpc(
    clients: &Clients,
    request: &ChangeRequest,
    vpc: &VpcAttributes,
    action: Action,
) -> Result<String, ProviderError> {
    let address = &request.address;
    let cidr = &vpc.cidr;
    let existing = match (&request.provider_id, action) {
        (Some(id), Action::Update) => Some(FoundVpc {
            id: id.clone(),
            cidr: cidr.clone(),
        }),
        _ => find(clients, address).await?,
    };
    if action == Action::Create
        && let Some(found) = &existing
    {
        request.adopt.check(
            address,
            format!("the VPC {} tagged for this address", found.id),
        )?;
    }
    match existing {
        Some(found) if &found.cidr == cidr => Ok(found.id),
        Some(FoundVpc { id, cidr: found }) => Err(conflict(
            address,
            format!(
                "the VPC {id} tagged for this resource has the range {found}, not {cidr}; delete it or change vpc_cidr"
            ),
        )),
        None => Ok(clients
            .ec2
            .create_vpc()
            .cidr_block(cidr)
            .tag_specifications(tags(ResourceType::Vpc, &request.address.name, address))
            .send()
            .await
            .at(address)?
            .vpc()
            .and_then(|made| made.vpc_id())
            .ok_or_else(|| incomplete(address, "id of the VPC it created"))?
            .to_owned()),
    }
}

/// The VPC's DNS settings (AWS takes one attribute per call).
async fn set_dns(
    clients: &Clients,
    address: &ResourceAddress,
    vpc_id: &str,
    vpc: &VpcAttributes,
) -> Result<(), ProviderError> {
    let value = |enabled: bool| AttributeBooleanValue::builder().value(enabled).build();
    clients
        .ec2
        .modify_vpc_attribute()
        .vpc_id(vpc_id)
        .enable_dns_support(value(vpc.dns_support))
        .send()
        .await
        .at(address)?;
    clients
        .ec2
        .modify_vpc_attribute()
        .vpc_id(vpc_id)
        .enable_dns_hostnames(value(vpc.dns_hostnames))
        .send()
        .await
        .at(address)?;
    Ok(())
}

/// A described subnet's range and zone (what matches it to the layout), and its id.
fn subnet_key(
    address: &ResourceAddress,
    subnet: &Subnet,
) -> Result<((String, String), String), ProviderError> {
    let text = |value: Option<&str>, what: &str| {
        value
            .map(str::to_owned)
            .ok_or_else(|| incomplete(address, what))
    };
    Ok((
        (
            text(subnet.cidr_block(), "subnet range")?,
            text(subnet.availability_zone(), "subnet zone")?,
        ),
        text(subnet.subnet_id(), "subnet id")?,
    ))
}

/// Subnets: those already there (by range and zone) are kept, the missing are created, and
/// the ones no longer planned are deleted first, so that a new layout may reuse their ranges.
/// Only subnets tagged for this resource are dbplan's: others in the VPC are left alone.
async fn ensure_subnets(
    clients: &Clients,
    address: &ResourceAddress,
    vpc_id: &str,
    planned: &[PlannedSubnet],
) -> Result<Vec<MadeSubnet>, ProviderError> {
    let present = clients
        .ec2
        .describe_subnets()
        .filters(filter("vpc-id", vpc_id))
        .filters(tagged(address))
        .send()
        .await
        .at(address)?;
    let mut kept: BTreeMap<(String, String), String> = BTreeMap::new();
    for subnet in present.subnets() {
        let (key, id) = subnet_key(address, subnet)?;
        if planned
            .iter()
            .any(|wanted| (&wanted.cidr, &wanted.zone) == (&key.0, &key.1))
        {
            kept.insert(key, id);
        } else {
            clients
                .ec2
                .delete_subnet()
                .subnet_id(&id)
                .send()
                .await
                .at(address)?;
        }
    }
    let mut made = Vec::new();
    for subnet in planned {
        let id = match kept.remove(&(subnet.cidr.clone(), subnet.zone.clone())) {
            Some(id) => id,
            None => subnet_request(clients.ec2.create_subnet(), vpc_id, subnet, address)
                .send()
                .await
                .at(address)?
                .subnet()
                .and_then(|made| made.subnet_id())
                .ok_or_else(|| incomplete(address, "id of the subnet it created"))?
                .to_owned(),
        };
        made.push((subnet.clone(), id));
    }
    Ok(made)
}

/// The create of a planned subnet.
fn subnet_request(
    call: CreateSubnetFluentBuilder,
    vpc_id: &str,
    subnet: &PlannedSubnet,
    address: &ResourceAddress,
) -> CreateSubnetFluentBuilder {
    call.vpc_id(vpc_id)
        .cidr_block(&subnet.cidr)
        .availability_zone(&subnet.zone)
        .tag_specifications(tags(ResourceType::Subnet, &subnet.name, address))
}

/// One subnet as the `private_subnets` and `public_subnets` outputs list it; `nat_gateway` is
/// `""` for a subnet whose zone has no NAT gateway (the outputs' documented shape).
fn subnet_output(subnet: &PlannedSubnet, id: &str, nat_gateway: &str) -> Value {
    serde_json::json!({
        "name": subnet.name,
        "id": id,
        "cidr": subnet.cidr,
        "availability_zone": subnet.zone,
        "nat_gateway": nat_gateway,
    })
}

/// What an apply leaves: the VPC's id, and its outputs.
fn applied(vpc_id: String, cidr: &str, made: &[MadeSubnet], nat: Option<&Nat>) -> Applied {
    let mut outputs = BTreeMap::new();
    if let Some(nat) = nat {
        outputs.insert(
            "internet_gateway_id".to_owned(),
            Field::plain(nat.internet_gateway.clone()),
        );
    }
    let list = |public: bool| -> Value {
        Value::Array(
            made.iter()
                .filter(|(subnet, _)| subnet.public == public)
                .map(|(subnet, id)| {
                    let gateway = nat
                        .and_then(|nat| nat.by_zone.get(&subnet.zone))
                        .map_or("", String::as_str);
                    subnet_output(subnet, id, gateway)
                })
                .collect(),
        )
    };
    outputs.insert("vpc_id".to_owned(), Field::plain(vpc_id.clone()));
    outputs.insert("vpc_cidr".to_owned(), Field::plain(cidr));
    outputs.insert("private_subnets".to_owned(), Field::plain(list(false)));
    outputs.insert("public_subnets".to_owned(), Field::plain(list(true)));
    Applied {
        provider_id: Some(vpc_id),
        outputs,
    }
}

pub(crate) async fn read(
    clients: &Clients,
    request: &ReadRequest,
) -> Result<ReadOutcome, ProviderError> {
    let address = &request.address;
    let Some(vpc_id) = &request.provider_id else {
        return Ok(ReadOutcome::Gone);
    };
    let Some(vpcs) = clients
        .ec2
        .describe_vpcs()
        .vpc_ids(vpc_id)
        .send()
        .await
        .unless(ErrorCode::VpcNotFound, address)?
    else {
        return Ok(ReadOutcome::Gone);
    };
    let Some(vpc) = vpcs.vpcs().first() else {
        return Ok(ReadOutcome::Gone);
    };
    let cidr = vpc
        .cidr_block()
        .ok_or_else(|| incomplete(address, "VPC range"))?;
    let dns_support = dns_setting(clients, address, vpc_id, VpcAttributeName::EnableDnsSupport);
    let dns_hostnames = dns_setting(
        clients,
        address,
        vpc_id,
        VpcAttributeName::EnableDnsHostnames,
    );
    let attributes = drift(
        &request.attributes,
        cidr,
        dns_support.await?,
        dns_hostnames.await?,
    );
    Ok(ReadOutcome::Found(RemoteObject {
        provider_id: Some(vpc_id.clone()),
        attributes,
        outputs: read_outputs(clients, request, vpc_id, cidr).await?,
    }))
}

/// The recorded attributes with the VPC's range and DNS settings as AWS reports them.
fn drift(
    recorded: &BTreeMap<String, Value>,
    cidr: &str,
    dns_support: Option<bool>,
    dns_hostnames: Option<bool>,
) -> BTreeMap<String, Value> {
    let mut attributes = recorded.clone();
    attributes.insert("vpc_cidr".to_owned(), Value::from(cidr));
    for (name, value) in [
        ("is_dns_support_enabled", dns_support),
        ("is_dns_hostnames_enabled", dns_hostnames),
    ] {
        if let Some(value) = value {
            attributes.insert(name.to_owned(), Value::from(value));
        }
    }
    attributes
}

/// One DNS setting of a VPC, as AWS reports it.
async fn dns_setting(
    clients: &Clients,
    address: &ResourceAddress,
    vpc_id: &str,
    name: VpcAttributeName,
) -> Result<Option<bool>, ProviderError> {
    let answer = clients
        .ec2
        .describe_vpc_attribute()
        .vpc_id(vpc_id)
        .attribute(name.clone())
        .send()
        .await
        .at(address)?;
    let setting = match name {
        VpcAttributeName::EnableDnsSupport => answer.enable_dns_support(),
        _ => answer.enable_dns_hostnames(),
    };
    Ok(setting.and_then(AttributeBooleanValue::value))
}

/// A VPC's outputs as read: its id and range, and its subnets when every subnet of the
/// manifest's layout is there (tagged for this address, as apply makes them) and the layout
/// has no NAT gateways (whose ids a read does not look up). Otherwise the subnet outputs are
/// left out, and what refers to them stays unknown until an apply makes them.
async fn read_outputs(
    clients: &Clients,
    request: &ReadRequest,
    vpc_id: &str,
    cidr: &str,
) -> Result<BTreeMap<String, Field>, ProviderError> {
    let address = &request.address;
    let mut outputs = BTreeMap::new();
    outputs.insert("vpc_id".to_owned(), Field::plain(vpc_id));
    outputs.insert("vpc_cidr".to_owned(), Field::plain(cidr));
    // A record whose layout cannot be worked out (an old record, say) only lacks these
    // outputs: the read itself still answers.
    let Ok(vpc) = request
        .decode()
        .and_then(|recorded| VpcAttributes::from_planned(address, recorded))
    else {
        return Ok(outputs);
    };
    let Ok(planned) = vpc.subnets(&request.address) else {
        return Ok(outputs);
    };
    if vpc.nat {
        return Ok(outputs);
    }
    let present = clients
        .ec2
        .describe_subnets()
        .filters(filter("vpc-id", vpc_id))
        .filters(tagged(address))
        .send()
        .await
        .at(address)?;
    let found = present
        .subnets()
        .iter()
        .map(|subnet| subnet_key(address, subnet))
        .collect::<Result<BTreeMap<_, _>, _>>()?;
    let subnets: Option<Vec<Value>> = planned
        .iter()
        .map(|subnet| {
            found
                .get(&(subnet.cidr.clone(), subnet.zone.clone()))
                .map(|id| subnet_output(subnet, id, ""))
        })
        .collect();
    if let Some(subnets) = subnets {
        outputs.insert("private_subnets".to_owned(), Field::plain(subnets));
        outputs.insert(
            "public_subnets".to_owned(),
            Field::plain(Value::Array(Vec::new())),
        );
    }
    Ok(outputs)
}

pub(crate) async fn delete(
    clients: &Clients,
    request: &ChangeRequest,
    limit: Duration,
) -> Result<(), ProviderError> {
    let address = &request.address;
    let Some(vpc_id) = request.provider_id.clone() else {
        return Ok(());
    };
    let ec2 = &clients.ec2;
    nat::delete(clients, address, &vpc_id, limit).await?;
    let subnets = ec2
        .describe_subnets()
        .filters(filter("vpc-id", &vpc_id))
        .send()
        .await
        .at(address)?;
    for id in subnets.subnets().iter().filter_map(Subnet::subnet_id) {
        ec2.delete_subnet().subnet_id(id).send().await.at(address)?;
    }
    ec2.delete_vpc()
        .vpc_id(&vpc_id)
        .send()
        .await
        .unless(ErrorCode::VpcNotFound, address)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{address, decode, ec2, map, request};
    use serde_json::json;

    const ADDRESS: &str = "AwsVpc/main";

    fn vpc(json: Value) -> VpcAttributes {
        decode(json, |vpc| {
            VpcAttributes::from_planned(&address(ADDRESS), vpc)
        })
    }

    fn layout() -> Value {
        json!({
            "vpc_cidr": "10.30.0.0/16",
            "availability_zones": ["us-east-1a", "us-east-1b"],
            "subnets_per_availability_zone": 2,
            "subnet_size": 4096,
            "is_nat_gateway_enabled": true,
        })
    }

    #[test]
    fn subnets_follow_the_documented_layout() {
        let subnets = vpc(layout()).subnets(&address(ADDRESS)).unwrap_or_default();
        let shown: Vec<(&str, &str, &str, bool)> = subnets
            .iter()
            .map(|s| (s.name.as_str(), s.cidr.as_str(), s.zone.as_str(), s.public))
            .collect();
        assert_eq!(
            shown,
            [
                (
                    "main-private-us-east-1a-0",
                    "10.30.0.0/20",
                    "us-east-1a",
                    false
                ),
                (
                    "main-private-us-east-1a-1",
                    "10.30.16.0/20",
                    "us-east-1a",
                    false
                ),
                (
                    "main-private-us-east-1b-0",
                    "10.30.32.0/20",
                    "us-east-1b",
                    false
                ),
                (
                    "main-private-us-east-1b-1",
                    "10.30.48.0/20",
                    "us-east-1b",
                    false
                ),
                (
                    "main-public-us-east-1a",
                    "10.30.64.0/20",
                    "us-east-1a",
                    true
                ),
                (
                    "main-public-us-east-1b",
                    "10.30.80.0/20",
                    "us-east-1b",
                    true
                ),
            ]
        );
    }

    #[test]
    fn a_layout_that_does_not_fit_or_a_bad_size_is_an_error() {
        let mut json = layout();
        json["subnet_size"] = json!(16384);
        let error = vpc(json)
            .subnets(&address(ADDRESS))
            .err()
            .map(|error| error.to_string());
        assert_eq!(
            error.as_deref(),
            Some(
                "AwsVpc/main: 6 subnets of 16384 addresses do not fit in 10.30.0.0/16; use a larger vpc_cidr or a smaller subnet_size"
            )
        );
        let mut json = layout();
        json["subnet_size"] = json!(1000);
        let error = vpc(json)
            .subnets(&address(ADDRESS))
            .err()
            .map(|error| error.to_string());
        assert!(
            error
                .as_deref()
                .is_some_and(|text| text.contains("`subnet_size` is 1000, not a power of two")),
            "{error:?}"
        );
        let error = request(ADDRESS, json!({"subnet_size": 256}), json!({}))
            .decode::<Vpc>()
            .err();
        assert!(error.is_some_and(|error| error.to_string().contains("missing field `vpc_cidr`")));
    }

    #[test]
    fn a_subnet_is_created_in_its_zone_and_tagged_for_the_address() {
        let subnets = vpc(layout()).subnets(&address(ADDRESS)).unwrap_or_default();
        let call = subnet_request(
            ec2().create_subnet(),
            "vpc-1",
            &subnets[1],
            &address(ADDRESS),
        );
        let input = call.as_input();
        assert_eq!(input.get_vpc_id().as_deref(), Some("vpc-1"));
        assert_eq!(input.get_cidr_block().as_deref(), Some("10.30.16.0/20"));
        assert_eq!(input.get_availability_zone().as_deref(), Some("us-east-1a"));
        let tags: Vec<(Option<&str>, Option<&str>)> = input
            .get_tag_specifications()
            .iter()
            .flatten()
            .flat_map(|spec| spec.tags())
            .map(|tag| (tag.key(), tag.value()))
            .collect();
        assert_eq!(
            tags,
            [
                (Some("Name"), Some("main-private-us-east-1a-1")),
                (Some("dbplan:address"), Some(ADDRESS))
            ]
        );
    }

    #[test]
    fn outputs_list_subnets_with_their_zones_nat_gateway() {
        let subnets = vpc(layout()).subnets(&address(ADDRESS)).unwrap_or_default();
        let made: Vec<MadeSubnet> = subnets
            .into_iter()
            .enumerate()
            .map(|(index, subnet)| (subnet, format!("subnet-{index}")))
            .collect();
        let nat = Nat {
            internet_gateway: "igw-1".to_owned(),
            by_zone: BTreeMap::from([("us-east-1a".to_owned(), "nat-a".to_owned())]),
        };
        let applied = applied("vpc-1".to_owned(), "10.30.0.0/16", &made, Some(&nat));
        assert_eq!(applied.provider_id.as_deref(), Some("vpc-1"));
        let output = |name: &str| applied.outputs.get(name).map(|field| field.value.clone());
        assert_eq!(output("internet_gateway_id"), Some(json!("igw-1")));
        let private = output("private_subnets").unwrap_or_default();
        assert_eq!(private.as_array().map(Vec::len), Some(4));
        assert_eq!(private[0]["nat_gateway"], json!("nat-a"));
        assert_eq!(private[2]["nat_gateway"], json!(""));
        assert_eq!(
            output("public_subnets").unwrap_or_default()[1]["id"],
            json!("subnet-5")
        );
        let without = super::applied("vpc-1".to_owned(), "10.30.0.0/16", &[], None);
        assert_eq!(without.outputs.get("internet_gateway_id"), None);
    }

    #[test]
    fn drift_reports_the_range_and_the_dns_settings_aws_reports() {
        let recorded = map(
            json!({"vpc_cidr": "10.30.0.0/16", "is_dns_support_enabled": true, "is_dns_hostnames_enabled": true}),
        );
        assert_eq!(
            drift(&recorded, "10.31.0.0/16", Some(false), None),
            map(
                json!({"vpc_cidr": "10.31.0.0/16", "is_dns_support_enabled": false, "is_dns_hostnames_enabled": true})
            )
        );
    }
}
