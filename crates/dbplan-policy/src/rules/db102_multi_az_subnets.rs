//! ## What it does
//! Checks that the subnets of an Aurora cluster's DB subnet group cover at least two
//! Availability Zones. The zones are known offline when the subnets come from an `AwsVpc` in the
//! same manifest set (its subnets are spread over its `availability_zones`, zone by zone);
//! a DB subnet group named after, or referenced from (`status.outputs.rds_subnet_group`), another
//! `AwsRdsCluster` of the set is that cluster's subnets. Literal subnet IDs and other existing
//! subnet groups cannot be checked offline and are reported at `info`.
//!
//! ## Why is this bad?
//! RDS refuses the subnet group with `DBSubnetGroupDoesNotCoverEnoughAZs`, and a cluster in one
//! zone cannot fail over when that zone goes down.
//!
//! ## Example
//! ```yaml
//! kind: AwsVpc
//! spec:
//!   availability_zones: [us-east-1a]
//! ---
//! kind: AwsRdsCluster
//! spec:
//!   subnet_ids:
//!     - valueFrom: {kind: AwsVpc, name: net, fieldPath: "status.outputs.private_subnets.[*].id"}
//! ```
//!
//! Use instead:
//! ```yaml
//! kind: AwsVpc
//! spec:
//!   availability_zones: [us-east-1a, us-east-1b]
//! ```
//!
//! ## References
//! - AWS, CreateDBSubnetGroup: "DB subnet groups must contain at least one subnet in at least
//!   two Availability Zones in the Amazon Web Services Region."
//! - Error `DBSubnetGroupDoesNotCoverEnoughAZs`: "Subnets in the DB subnet group should cover at
//!   least two Availability Zones unless there is only one Availability Zone."

use super::{Check, Code, Rule, aurora_clusters};
use crate::context::{Context, Findings, Target};
use crate::pack::Enforcement;
use dbplan_manifest::kinds::AwsRdsClusterSpec;
use dbplan_manifest::refs::{AwsPrivateSubnetIds, NoDefault, ValueOrRef};
use dbplan_manifest::schema::snake_case;
use dbplan_manifest::{Resource, Spec};
use std::collections::BTreeSet;

pub(crate) const RULE: Rule = Rule {
    code: Code::new(
        "DB102",
        "DB subnet group in fewer than two Availability Zones",
    ),
    id: "multi-az-subnets",
    default: Enforcement::Mandatory,
    params: &[],
    source: include_str!("db102_multi_az_subnets.rs"),
    check: Check::Manifest(check),
};

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for (resource, spec) in aurora_clusters(context) {
        let (subnet_ids, pointer, owner) = if spec.subnet_ids.is_empty() {
            let Some(group) = &spec.db_subnet_group_name else {
                continue;
            };
            match group_of_cluster_in_set(context, group) {
                Some((cluster, cluster_spec)) => (
                    &cluster_spec.subnet_ids,
                    "/spec/db_subnet_group_name",
                    Some(cluster),
                ),
                None => {
                    let name = group.literal().unwrap_or("(a reference)");
                    findings.undecidable(
                        resource,
                        "/spec/db_subnet_group_name",
                        format!("the existing DB subnet group {name} cannot be checked offline for two Availability Zones"),
                        "give `subnet_ids` from an AwsVpc in the manifests to have it checked, or make sure the group covers two zones",
                    );
                    continue;
                }
            }
        } else {
            (&spec.subnet_ids, "/spec/subnet_ids", None)
        };
        let (zones, unknown) = zones_of(context, subnet_ids);
        if zones.len() >= 2 {
            continue;
        }
        let (group_subnets, subnets) = match owner {
            Some(cluster) => {
                let subnets = format!("the subnets of {}'s DB subnet group", cluster.address);
                (subnets.clone(), subnets)
            }
            None => (
                "the DB subnet group's subnets".to_owned(),
                "the subnets".to_owned(),
            ),
        };
        // A subnet is in exactly one zone: fewer than two subnets settle it without their zones.
        if unknown.is_empty() || zones.len() + unknown.len() < 2 {
            let message = if unknown.is_empty() {
                let listed = if zones.is_empty() {
                    "no Availability Zone".to_owned()
                } else {
                    format!(
                        "only {}",
                        zones.iter().copied().collect::<Vec<_>>().join(", ")
                    )
                };
                format!(
                    "{group_subnets} are in {listed}; RDS requires at least two Availability Zones"
                )
            } else {
                format!(
                    "{group_subnets} are one subnet ({}), and a subnet lies in one Availability Zone; RDS requires at least two",
                    unknown.join(", ")
                )
            };
            findings.fail(
                resource,
                pointer,
                message,
                "add subnets in a second Availability Zone (add a zone to the AwsVpc's `availability_zones`)",
            );
        } else {
            findings.undecidable(
                resource,
                pointer,
                format!(
                    "cannot verify offline that {subnets} cover two Availability Zones: {} {} not known until apply",
                    unknown.join(", "),
                    if unknown.len() == 1 { "is" } else { "are" }
                ),
                "reference the subnets of an AwsVpc in the manifests to have their zones checked",
            );
        }
    }
}

/// The Availability Zones the subnets are known to be in, and the subnets whose zone is not
/// known offline (a literal ID, a missing reference, a subnet of a VPC that does not say).
fn zones_of<'a>(
    context: &Context<'a>,
    subnet_ids: &'a [ValueOrRef<AwsPrivateSubnetIds>],
) -> (BTreeSet<&'a str>, Vec<String>) {
    let mut zones: BTreeSet<&str> = BTreeSet::new();
    let mut unknown = Vec::new();
    for (index, subnet) in subnet_ids.iter().enumerate() {
        match context.target(subnet) {
            Target::Literal(id) => unknown.push(id.to_owned()),
            Target::Missing => unknown.push(format!("subnet_ids[{index}]")),
            Target::Resource(vpc, path) => match subnet_zones(vpc, &path) {
                Some(found) => zones.extend(found),
                None => unknown.push(format!("{} {path}", vpc.address)),
            },
        }
    }
    (zones, unknown)
}

/// The cluster of the set whose DB subnet group `group` names, when that cluster gives its
/// subnets: a reference to its `status.outputs.rds_subnet_group`, or its name written out (dbplan
/// names a cluster's subnet group after the cluster's `metadata.name`).
fn group_of_cluster_in_set<'a>(
    context: &Context<'a>,
    group: &'a ValueOrRef<NoDefault>,
) -> Option<(&'a Resource, &'a AwsRdsClusterSpec)> {
    let cluster = match context.target(group) {
        Target::Resource(cluster, path) => {
            let last = path.rsplit('.').next().map(snake_case)?;
            (last == "rds_subnet_group").then_some(cluster)?
        }
        Target::Literal(name) => context.find("AwsRdsCluster", name)?,
        Target::Missing => return None,
    };
    match &cluster.spec {
        Spec::AwsRdsCluster(spec) if !spec.subnet_ids.is_empty() => Some((cluster, spec)),
        _ => None,
    }
}

/// The zones of the subnets an `AwsVpc` output path names: all private (or public) subnets
/// with `[*]`, or one by index (`.0.` or `.[0].`); segments may be lowerCamelCase. Private
/// subnets are `subnets_per_availability_zone` per zone, zone by zone; public subnets exist
/// only with a NAT gateway, one per zone.
fn subnet_zones<'a>(vpc: &'a dbplan_manifest::Resource, path: &str) -> Option<Vec<&'a str>> {
    let Spec::AwsVpc(spec) = &vpc.spec else {
        return None;
    };
    let rest = path.strip_prefix("status.outputs.")?;
    let mut parts = rest.split('.');
    let zones = match snake_case(parts.next()?).as_str() {
        "private_subnets" => spec.private_subnet_zones(),
        "public_subnets" if spec.is_nat_gateway_enabled => {
            spec.availability_zones.iter().map(String::as_str).collect()
        }
        "public_subnets" => Vec::new(),
        _ => return None,
    };
    let selector = parts.next()?;
    let selector = selector.trim_start_matches('[').trim_end_matches(']');
    if selector == "*" {
        return Some(zones);
    }
    let index: usize = selector.parse().ok()?;
    // An index past the last subnet names no subnet: graph validation reports it, so the zones
    // stay unknown here rather than counting none.
    zones.get(index).map(|zone| vec![*zone])
}
