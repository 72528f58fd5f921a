//! Security groups: an `AwsSecurityGroup` (named `metadata.name`, rules as the manifest lists
//! them) and the security group part of an `AwsRdsCluster` (named `<name>-aurora`, ingress on
//! the cluster port from the allowed CIDR blocks and security groups).

use super::{conflict, filter, tags};
use crate::{Attributes, Clients, error_code, resource_name, sdk_error};
use aws_sdk_ec2::types::{IpPermission, IpRange, Ipv6Range, ResourceType, UserIdGroupPair};
use dbplan_provider::{
    Applied, ChangeRequest, Field, ProviderError, ReadOutcome, ReadRequest, RemoteObject,
};
use std::collections::BTreeMap;

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
