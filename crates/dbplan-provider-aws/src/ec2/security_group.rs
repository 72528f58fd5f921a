//! Security groups: an `AwsSecurityGroup` (named `metadata.name`, rules as the manifest lists
//! them) and the security group part of an `AwsRdsCluster` (named `<name>-aurora`, ingress on
//! the cluster port from the allowed CIDR blocks and security groups).

use super::{conflict, filter, tags};
use crate::Clients;
use crate::attributes::{Action, incomplete, int32, missing};
use crate::error::{At, ErrorCode};
use aws_sdk_ec2::types::{
    IpPermission, IpRange, Ipv6Range, ResourceType, SecurityGroup, UserIdGroupPair,
};
use dbplan_core::ResourceAddress;
use dbplan_core::kinds::{aws_rds_cluster, aws_security_group};
use dbplan_provider::{
    Applied, ChangeRequest, Field, ProviderError, ReadOutcome, ReadRequest, RemoteObject,
};
use serde_json::Value;
use std::collections::BTreeMap;

/// Which of the two kinds of security group a request is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SecurityGroupKind {
    /// An `AwsSecurityGroup`: its rules as the manifest lists them.
    Standalone,
    /// The security group part of an `AwsRdsCluster`: ingress on the cluster port only.
    ClusterPart,
}

impl SecurityGroupKind {
    /// The group's name: `metadata.name` (`name`), or `<name>-aurora` for a cluster's.
    pub(crate) fn group_name(self, name: &str) -> String {
        match self {
            SecurityGroupKind::Standalone => name.to_owned(),
            SecurityGroupKind::ClusterPart => format!("{name}-aurora"),
        }
    }
}

/// What the manifest asks of a security group, decoded once: where, and the rules.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct SecurityGroupAttributes {
    /// `vpc_id`.
    vpc_id: String,
    /// `description`, else `<address> (managed by dbplan)`.
    description: String,
    /// The ingress rules; the group's own id stands for `self_reference`.
    ingress: Rules,
    /// The egress rules (`None`: AWS's default egress is left alone).
    egress: Option<Rules>,
}

/// Rules as the manifest gives them, turned into AWS's form once the group's id is known.
#[derive(Clone, Debug, PartialEq)]
enum Rules {
    /// An `AwsSecurityGroup`'s `ingress` or `egress` items.
    Listed(Vec<aws_security_group::Rule>),
    /// A cluster's: the port, from these CIDR blocks and security groups.
    Cluster {
        port: i32,
        cidrs: Vec<String>,
        groups: Vec<String>,
    },
}

impl Rules {
    fn permissions(&self, own_group: &str) -> Vec<IpPermission> {
        match self {
            Rules::Listed(rules) => rules
                .iter()
                .map(|rule| permission(rule, Some(own_group)))
                .collect(),
            Rules::Cluster {
                port,
                cidrs,
                groups,
            } => cluster_ingress(*port, cidrs, groups),
        }
    }
}

impl SecurityGroupAttributes {
    /// The planned group of a request, decoded as its kind's typed part.
    pub(crate) fn decode(
        request: &ChangeRequest,
        kind: SecurityGroupKind,
    ) -> Result<SecurityGroupAttributes, ProviderError> {
        let address = &request.address;
        match kind {
            SecurityGroupKind::Standalone => Self::standalone(address, request.decode()?),
            SecurityGroupKind::ClusterPart => Self::cluster_part(address, request.decode()?),
        }
    }

    /// An `AwsSecurityGroup`: its rules as the manifest lists them.
    pub(crate) fn standalone(
        address: &ResourceAddress,
        group: aws_security_group::SecurityGroup,
    ) -> Result<SecurityGroupAttributes, ProviderError> {
        Ok(SecurityGroupAttributes {
            vpc_id: group.vpc_id.ok_or_else(|| missing(address, "vpc_id"))?,
            description: group
                .description
                .unwrap_or_else(|| format!("{address} (managed by dbplan)")),
            // No `ingress` (the kind's default): no ingress at all.
            ingress: Rules::Listed(group.ingress.unwrap_or_default()),
            egress: group
                .egress
                .filter(|rules| !rules.is_empty())
                .map(Rules::Listed),
        })
    }

    /// The security group part of an `AwsRdsCluster`: ingress on the cluster port only.
    pub(crate) fn cluster_part(
        address: &ResourceAddress,
        group: aws_rds_cluster::SecurityGroup,
    ) -> Result<SecurityGroupAttributes, ProviderError> {
        let port = cluster_port(address, &group)?;
        Ok(SecurityGroupAttributes {
            vpc_id: group.vpc_id.ok_or_else(|| missing(address, "vpc_id"))?,
            description: format!("{address} (managed by dbplan)"),
            ingress: Rules::Cluster {
                port,
                cidrs: group.allowed_cidr_blocks,
                groups: group.security_group_ids,
            },
            egress: None,
        })
    }
}

/// The cluster's port: `port`, else (0, the kind's default) the engine's default port.
fn cluster_port(
    address: &ResourceAddress,
    group: &aws_rds_cluster::SecurityGroup,
) -> Result<i32, ProviderError> {
    Ok(
        match int32(address, "port", group.port)?.filter(|port| *port > 0) {
            Some(port) => port,
            None if group
                .engine
                .as_deref()
                .is_some_and(|engine| engine.contains("mysql")) =>
            {
                3306
            }
            None => 5432,
        },
    )
}

/// A rule as the manifests give it: protocol, ports, sources.
fn permission(rule: &aws_security_group::Rule, own_group: Option<&str>) -> IpPermission {
    let port = |port: Option<i64>| port.and_then(|port| i32::try_from(port).ok()).unwrap_or(0);
    // The kind documents `tcp` as the default protocol, and ports as 0 when not given.
    let protocol = rule.protocol.as_deref().unwrap_or("tcp");
    let mut builder = IpPermission::builder().ip_protocol(protocol);
    if protocol != "-1" {
        builder = builder
            .from_port(port(rule.from_port))
            .to_port(port(rule.to_port));
    }
    for cidr in &rule.ipv4_cidrs {
        let range = IpRange::builder()
            .cidr_ip(cidr)
            .set_description(rule.description.clone());
        builder = builder.ip_ranges(range.build());
    }
    for cidr in &rule.ipv6_cidrs {
        builder = builder.ipv6_ranges(Ipv6Range::builder().cidr_ipv6(cidr).build());
    }
    let mut groups = rule.source_security_group_ids.clone();
    groups.extend(rule.destination_security_group_ids.iter().cloned());
    if rule.self_reference
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
/// each listed security group (none when neither is listed).
fn cluster_ingress(port: i32, cidrs: &[String], groups: &[String]) -> Vec<IpPermission> {
    if cidrs.is_empty() && groups.is_empty() {
        return Vec::new();
    }
    let mut builder = IpPermission::builder()
        .ip_protocol("tcp")
        .from_port(port)
        .to_port(port);
    for cidr in cidrs {
        builder = builder.ip_ranges(IpRange::builder().cidr_ip(cidr).build());
    }
    for group in groups {
        builder = builder.user_id_group_pairs(UserIdGroupPair::builder().group_id(group).build());
    }
    vec![builder.build()]
}

/// The security group of this name in the VPC, if there is one.
pub(crate) async fn find(
    clients: &Clients,
    address: &ResourceAddress,
    vpc_id: &str,
    name: &str,
) -> Result<Option<SecurityGroup>, ProviderError> {
    let existing = clients
        .ec2
        .describe_security_groups()
        .filters(filter("vpc-id", vpc_id))
        .filters(filter("group-name", name))
        .send()
        .await
        .at(address)?;
    Ok(existing.security_groups().first().cloned())
}

pub(crate) async fn apply(
    clients: &Clients,
    request: &ChangeRequest,
    action: Action,
    kind: SecurityGroupKind,
) -> Result<Applied, ProviderError> {
    let address = &request.address;
    let group = SecurityGroupAttributes::decode(request, kind)?;
    let name = kind.group_name(&request.address.name);
    let group_id = ensure_group(clients, request, &group, &name, action).await?;
    // Rules are replaced as a set: what is there and not planned is revoked, what is planned
    // and not there is authorised.
    let current = clients
        .ec2
        .describe_security_groups()
        .group_ids(&group_id)
        .send()
        .await
        .at(address)?;
    let current = current.security_groups().first();
    let ingress = group.ingress.permissions(&group_id);
    let current_ingress = current.map_or(&[][..], SecurityGroup::ip_permissions);
    if !same_rules(current_ingress, &ingress) {
        replace_ingress(clients, address, &group_id, current_ingress, ingress).await?;
    }
    if let Some(egress) = &group.egress {
        let egress = egress.permissions(&group_id);
        let current_egress = current.map_or(&[][..], SecurityGroup::ip_permissions_egress);
        if !same_rules(current_egress, &egress) {
            replace_egress(clients, address, &group_id, current_egress, egress).await?;
        }
    }
    Ok(Applied {
        outputs: outputs(&group_id, &name),
        provider_id: Some(group_id),
    })
}

/// The group's id: the one of this name in the VPC (for a create, only when the request
/// permits taking it over and its description matches), or a new one.
async fn ensure_group(
    clients: &Clients,
    request: &ChangeRequest,
    group: &SecurityGroupAttributes,
    name: &str,
    action: Action,
) -> Result<String, ProviderError> {
    let address = &request.address;
    let vpc_id = &group.vpc_id;
    let Some(existing) = find(clients, address, vpc_id, name).await? else {
        return Ok(clients
            .ec2
            .create_security_group()
            .group_name(name)
            .description(&group.description)
            .vpc_id(vpc_id)
            .tag_specifications(tags(ResourceType::SecurityGroup, name, address))
            .send()
            .await
            .at(address)?
            .group_id()
            .ok_or_else(|| incomplete(address, "id of the security group it created"))?
            .to_owned());
    };
    let id = existing
        .group_id()
        .ok_or_else(|| incomplete(address, "security group id"))?;
    if action == Action::Create {
        request.adopt.check(
            address,
            format!("the security group {name:?} ({id}) in {vpc_id}"),
        )?;
        if existing.description() != Some(group.description.as_str()) {
            return Err(conflict(
                address,
                format!(
                    "a security group {name:?} already exists in {vpc_id} with another description ({:?}); dbplan adopts only a matching group: rename or delete it",
                    existing.description().unwrap_or_default()
                ),
            ));
        }
    }
    Ok(id.to_owned())
}

async fn replace_ingress(
    clients: &Clients,
    address: &ResourceAddress,
    group_id: &str,
    current: &[IpPermission],
    planned: Vec<IpPermission>,
) -> Result<(), ProviderError> {
    let ec2 = &clients.ec2;
    if !current.is_empty() {
        ec2.revoke_security_group_ingress()
            .group_id(group_id)
            .set_ip_permissions(Some(strip(current)))
            .send()
            .await
            .at(address)?;
    }
    if !planned.is_empty() {
        ec2.authorize_security_group_ingress()
            .group_id(group_id)
            .set_ip_permissions(Some(planned))
            .send()
            .await
            .at(address)?;
    }
    Ok(())
}

async fn replace_egress(
    clients: &Clients,
    address: &ResourceAddress,
    group_id: &str,
    current: &[IpPermission],
    planned: Vec<IpPermission>,
) -> Result<(), ProviderError> {
    let ec2 = &clients.ec2;
    if !current.is_empty() {
        ec2.revoke_security_group_egress()
            .group_id(group_id)
            .set_ip_permissions(Some(strip(current)))
            .send()
            .await
            .at(address)?;
    }
    ec2.authorize_security_group_egress()
        .group_id(group_id)
        .set_ip_permissions(Some(planned))
        .send()
        .await
        .at(address)?;
    Ok(())
}

fn outputs(group_id: &str, name: &str) -> BTreeMap<String, Field> {
    BTreeMap::from([
        ("security_group_id".to_owned(), Field::plain(group_id)),
        ("security_group_name".to_owned(), Field::plain(name)),
    ])
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

/// The comparable form of a rule set: one `protocol:from:to source` line per source (`-1 source`
/// for all traffic), sorted, each once.
fn rule_keys(rules: &[IpPermission]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    for rule in rules {
        let head = if rule.ip_protocol() == Some("-1") {
            "-1".to_owned()
        } else {
            format!(
                "{}:{}:{}",
                rule.ip_protocol().unwrap_or_default(),
                rule.from_port().unwrap_or(-1),
                rule.to_port().unwrap_or(-1)
            )
        };
        let sources = rule
            .ip_ranges()
            .iter()
            .filter_map(IpRange::cidr_ip)
            .chain(rule.ipv6_ranges().iter().filter_map(Ipv6Range::cidr_ipv6))
            .chain(
                rule.user_id_group_pairs()
                    .iter()
                    .filter_map(UserIdGroupPair::group_id),
            );
        keys.extend(sources.map(|source| format!("{head} {source}")));
    }
    keys.sort();
    keys.dedup();
    keys
}

fn same_rules(current: &[IpPermission], planned: &[IpPermission]) -> bool {
    rule_keys(current) == rule_keys(planned)
}

pub(crate) async fn read(
    clients: &Clients,
    request: &ReadRequest,
    kind: SecurityGroupKind,
) -> Result<ReadOutcome, ProviderError> {
    let address = &request.address;
    let Some(group_id) = &request.provider_id else {
        return Ok(ReadOutcome::Gone);
    };
    let Some(groups) = clients
        .ec2
        .describe_security_groups()
        .group_ids(group_id)
        .send()
        .await
        .unless(ErrorCode::SecurityGroupNotFound, address)?
    else {
        return Ok(ReadOutcome::Gone);
    };
    let Some(group) = groups.security_groups().first() else {
        return Ok(ReadOutcome::Gone);
    };
    let name = group
        .group_name()
        .ok_or_else(|| incomplete(address, "security group name"))?;
    Ok(ReadOutcome::Found(RemoteObject {
        provider_id: Some(group_id.clone()),
        attributes: drift(address, &request.attributes, group, kind)?,
        outputs: outputs(group_id, name),
    }))
}

/// The recorded attributes with the group's VPC, description and (a cluster's) ingress sources
/// as AWS reports them.
fn drift(
    address: &ResourceAddress,
    recorded: &BTreeMap<String, Value>,
    group: &SecurityGroup,
    kind: SecurityGroupKind,
) -> Result<BTreeMap<String, Value>, ProviderError> {
    let mut attributes = recorded.clone();
    let vpc_id = group
        .vpc_id()
        .ok_or_else(|| incomplete(address, "VPC of the security group"))?;
    attributes.insert("vpc_id".to_owned(), Value::from(vpc_id));
    if attributes.contains_key("description") {
        // A group without a description has an empty one.
        let description = group.description().unwrap_or_default();
        attributes.insert("description".to_owned(), Value::from(description));
    }
    if kind == SecurityGroupKind::ClusterPart {
        let rules = group.ip_permissions();
        let cidrs: Vec<&str> = rules
            .iter()
            .flat_map(|rule| rule.ip_ranges().iter().filter_map(IpRange::cidr_ip))
            .collect();
        let groups: Vec<&str> = rules
            .iter()
            .flat_map(|rule| {
                rule.user_id_group_pairs()
                    .iter()
                    .filter_map(UserIdGroupPair::group_id)
            })
            .collect();
        for (name, sources) in [
            ("allowed_cidr_blocks", cidrs),
            ("security_group_ids", groups),
        ] {
            if attributes.contains_key(name) || !sources.is_empty() {
                attributes.insert(name.to_owned(), serde_json::json!(sources));
            }
        }
    }
    Ok(attributes)
}

pub(crate) async fn delete(
    clients: &Clients,
    request: &ChangeRequest,
) -> Result<(), ProviderError> {
    let address = &request.address;
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
        .at(address)?;
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
                user.db_cluster_identifier()
                    .ok_or_else(|| incomplete(address, "DB cluster identifier"))?
            ),
        ));
    }
    clients
        .ec2
        .delete_security_group()
        .group_id(&group_id)
        .send()
        .await
        .unless(ErrorCode::SecurityGroupNotFound, address)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{address, decode, map};
    use serde_json::json;

    const ADDRESS: &str = "AwsSecurityGroup/db-clients";
    const CLUSTER: &str = "AwsRdsCluster/orders-db/security-group";

    fn group(
        address: &ResourceAddress,
        kind: SecurityGroupKind,
        json: Value,
    ) -> SecurityGroupAttributes {
        match kind {
            SecurityGroupKind::Standalone => decode(json, |group| {
                SecurityGroupAttributes::standalone(address, group)
            }),
            SecurityGroupKind::ClusterPart => decode(json, |group| {
                SecurityGroupAttributes::cluster_part(address, group)
            }),
        }
    }

    #[test]
    fn names_follow_the_kind() {
        assert_eq!(
            SecurityGroupKind::Standalone.group_name(&address(ADDRESS).name),
            "db-clients"
        );
        assert_eq!(
            SecurityGroupKind::ClusterPart.group_name(&address(CLUSTER).name),
            "orders-db-aurora"
        );
    }

    #[test]
    fn listed_rules_become_permissions_with_the_group_itself_for_self_reference() {
        let group = group(
            &address(ADDRESS),
            SecurityGroupKind::Standalone,
            json!({
                "vpc_id": "vpc-1",
                "ingress": [
                    {"from_port": 5432, "to_port": 5432, "ipv4_cidrs": ["10.0.0.0/16"], "description": "app", "self_reference": true},
                    {"protocol": "-1", "from_port": 1, "to_port": 2, "ipv6_cidrs": ["::/0"]},
                ],
                "egress": [],
            }),
        );
        assert_eq!(
            group.description,
            "AwsSecurityGroup/db-clients (managed by dbplan)"
        );
        // An empty egress list leaves AWS's default egress alone.
        assert_eq!(group.egress, None);
        let ingress = group.ingress.permissions("sg-own");
        assert_eq!(ingress.len(), 2);
        assert_eq!(ingress[0].ip_protocol(), Some("tcp"));
        assert_eq!(
            (ingress[0].from_port(), ingress[0].to_port()),
            (Some(5432), Some(5432))
        );
        assert_eq!(ingress[0].ip_ranges()[0].cidr_ip(), Some("10.0.0.0/16"));
        assert_eq!(ingress[0].ip_ranges()[0].description(), Some("app"));
        assert_eq!(
            ingress[0].user_id_group_pairs()[0].group_id(),
            Some("sg-own")
        );
        // All traffic has no ports.
        assert_eq!((ingress[1].from_port(), ingress[1].to_port()), (None, None));
        assert_eq!(ingress[1].ipv6_ranges()[0].cidr_ipv6(), Some("::/0"));
    }

    #[test]
    fn a_clusters_ingress_is_its_port_from_the_allowed_sources() {
        let port_of = |json: Value| {
            let group = group(&address(CLUSTER), SecurityGroupKind::ClusterPart, json);
            group.ingress.permissions("sg-own")[0].from_port()
        };
        let sources = json!({"vpc_id": "vpc-1", "allowed_cidr_blocks": ["10.1.0.0/16"], "security_group_ids": ["sg-app"]});
        let mut mysql = sources.clone();
        mysql["engine"] = json!("aurora-mysql");
        mysql["port"] = json!(0);
        assert_eq!(port_of(mysql), Some(3306));
        assert_eq!(port_of(sources.clone()), Some(5432));
        let mut custom = sources;
        custom["port"] = json!(6000);
        let group = group(&address(CLUSTER), SecurityGroupKind::ClusterPart, custom);
        let ingress = group.ingress.permissions("sg-own");
        assert_eq!(ingress.len(), 1);
        assert_eq!(ingress[0].to_port(), Some(6000));
        assert_eq!(ingress[0].ip_ranges()[0].cidr_ip(), Some("10.1.0.0/16"));
        assert_eq!(
            ingress[0].user_id_group_pairs()[0].group_id(),
            Some("sg-app")
        );
        // Nothing allowed: no ingress at all.
        let closed = self::group(
            &address(CLUSTER),
            SecurityGroupKind::ClusterPart,
            json!({"vpc_id": "vpc-1"}),
        );
        assert!(closed.ingress.permissions("sg-own").is_empty());
    }

    #[test]
    fn rules_compare_as_sets_of_sources_whatever_aws_adds() {
        let planned = cluster_ingress(
            5432,
            &["10.0.0.0/16".to_owned(), "10.1.0.0/16".to_owned()],
            &[],
        );
        let described = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(5432)
            .to_port(5432)
            .ip_ranges(
                IpRange::builder()
                    .cidr_ip("10.1.0.0/16")
                    .description("by hand")
                    .build(),
            )
            .ip_ranges(IpRange::builder().cidr_ip("10.0.0.0/16").build())
            .build();
        assert!(same_rules(std::slice::from_ref(&described), &planned));
        assert!(!same_rules(
            &[described],
            &cluster_ingress(5433, &["10.0.0.0/16".to_owned()], &[])
        ));
    }

    #[test]
    fn drift_reports_the_vpc_the_description_and_a_clusters_sources() {
        let described = SecurityGroup::builder()
            .group_id("sg-1")
            .group_name("orders-db-aurora")
            .vpc_id("vpc-2")
            .description("changed by hand")
            .ip_permissions(
                cluster_ingress(5432, &["10.9.0.0/16".to_owned()], &["sg-app".to_owned()])[0]
                    .clone(),
            )
            .build();
        let recorded = map(json!({"vpc_id": "vpc-1", "allowed_cidr_blocks": ["10.0.0.0/16"]}));
        let now = drift(
            &address(CLUSTER),
            &recorded,
            &described,
            SecurityGroupKind::ClusterPart,
        );
        assert_eq!(
            now.ok(),
            Some(map(
                json!({"vpc_id": "vpc-2", "allowed_cidr_blocks": ["10.9.0.0/16"], "security_group_ids": ["sg-app"]})
            ))
        );
        let recorded = map(json!({"vpc_id": "vpc-2", "description": "app clients"}));
        let now = drift(
            &address(ADDRESS),
            &recorded,
            &described,
            SecurityGroupKind::Standalone,
        );
        assert_eq!(
            now.ok(),
            Some(map(
                json!({"vpc_id": "vpc-2", "description": "changed by hand"})
            ))
        );
    }

    #[test]
    fn a_plan_without_a_vpc_is_an_error() {
        let planned = dbplan_core::kinds::decode_map(&map(json!({"ingress": []})));
        let error = planned.map_err(|error| error.to_string()).map(|group| {
            SecurityGroupAttributes::standalone(&address(ADDRESS), group)
                .map_err(|error| error.to_string())
        });
        let text = format!("{error:?}");
        assert!(text.contains("`vpc_id` is missing"), "{text}");
    }
}
