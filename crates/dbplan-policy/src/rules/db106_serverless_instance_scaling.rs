//! ## What it does
//! Checks that a `db.serverless` instance belongs to a cluster with a Serverless v2 capacity
//! range (`serverless_v2_scaling`). A literal cluster identifier that an `AwsRdsCluster` in the
//! manifests has (`metadata.id`, else `metadata.name`) is checked against that cluster; any other
//! literal identifier cannot be checked offline (`info`).
//!
//! ## Why is this bad?
//! RDS refuses to add a Serverless v2 instance to a cluster without a scaling configuration.
//!
//! ## Example
//! ```yaml
//! kind: AwsRdsClusterInstance
//! spec:
//!   cluster: {valueFrom: {name: orders-db}}   # orders-db has no serverless_v2_scaling
//!   instance_class: db.serverless
//! ```
//!
//! Use instead: add `serverless_v2_scaling: {min_capacity: 0.5, max_capacity: 16}` to the
//! cluster, or use a provisioned instance class such as `db.r6g.large`.
//!
//! ## References
//! - AWS, Aurora Serverless v2 requirements: "The DB cluster must have a
//!   ServerlessV2ScalingConfiguration before you add a db.serverless instance"; "the instance
//!   class is always db.serverless".

use super::{Check, Code, Rule};
use crate::context::{Context, Findings, Target};
use crate::pack::Enforcement;
use dbplan_manifest::{Resource, Spec};

pub(crate) const RULE: Rule = Rule {
    code: Code::new(
        "DB106",
        "db.serverless instance on a cluster without Serverless v2 scaling",
    ),
    id: "serverless-instance-scaling",
    default: Enforcement::Mandatory,
    params: &[],
    source: include_str!("db106_serverless_instance_scaling.rs"),
    check: Check::Manifest(check),
};

/// The `AwsRdsCluster` of the set whose cluster identifier (`metadata.id`, else
/// `metadata.name`) is `identifier`, when exactly one has it.
fn cluster_named<'a>(context: &Context<'a>, identifier: &str) -> Option<&'a Resource> {
    let mut matching = context.resources().filter(|resource| {
        matches!(resource.spec, Spec::AwsRdsCluster(_))
            && resource
                .metadata
                .id
                .as_deref()
                .unwrap_or(resource.metadata.name.as_str())
                == identifier
    });
    let first = matching.next()?;
    matching.next().is_none().then_some(first)
}

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for resource in context.resources() {
        let Spec::AwsRdsClusterInstance(spec) = &resource.spec else {
            continue;
        };
        if spec.instance_class != "db.serverless" {
            continue;
        }
        let cluster = match context.target(&spec.cluster) {
            Target::Resource(cluster, _) => cluster,
            // A literal identifier of a cluster the manifests declare is that cluster.
            Target::Literal(id) => match cluster_named(context, id) {
                Some(cluster) => cluster,
                None => {
                    findings.undecidable(
                        resource,
                        "/spec/cluster",
                        format!(
                            "cannot verify offline that cluster {id} has a Serverless v2 capacity range"
                        ),
                        "reference an AwsRdsCluster in the manifests to have it checked",
                    );
                    continue;
                }
            },
            Target::Missing => continue,
        };
        if let Spec::AwsRdsCluster(cluster_spec) = &cluster.spec
            && cluster_spec.serverless_v2_scaling.is_none()
        {
            findings.fail(
                resource,
                "/spec/instance_class",
                format!(
                    "{} has no `serverless_v2_scaling`, so it cannot take a db.serverless instance",
                    cluster.address
                ),
                format!(
                    "add `serverless_v2_scaling: {{min_capacity: 0.5, max_capacity: 16}}` to {}",
                    cluster.address
                ),
            );
        }
    }
}
