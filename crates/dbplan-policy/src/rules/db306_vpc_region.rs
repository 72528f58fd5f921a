//! ## What it does
//! Checks that a DigitalOcean database cluster is in the same region as the VPC it is placed
//! in, when the VPC is a `DigitalOceanVpc` in the manifest set.
//!
//! ## Why is this bad?
//! A VPC belongs to one region; DigitalOcean refuses a cluster in another region's VPC.
//!
//! ## Example
//! ```yaml
//! kind: DigitalOceanVpc
//! spec: {region: nyc3}
//! ---
//! kind: DigitalOceanDatabaseCluster
//! spec:
//!   region: fra1
//!   vpc: {valueFrom: {name: production-vpc}}
//! ```
//!
//! Use instead: the same region for both.
//!
//! ## References
//! - DigitalOcean API, Create a Database Cluster, `private_network_uuid`: "A string specifying
//!   the UUID of the VPC to which the database cluster will be assigned. If excluded, the
//!   cluster when creating a new database cluster, it will be assigned to your account's default
//!   VPC for the region."

use super::{Check, Code, Rule, digitalocean_clusters};
use crate::context::{Context, Findings, Target};
use crate::pack::Enforcement;
use dbplan_manifest::Spec;

pub(crate) const RULE: Rule = Rule {
    code: Code::new(
        "DB306",
        "DigitalOcean cluster in another region than its VPC",
    ),
    id: "vpc-region",
    default: Enforcement::Mandatory,
    params: &[],
    source: include_str!("db306_vpc_region.rs"),
    check: Check::Manifest(check),
};

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for (resource, spec) in digitalocean_clusters(context) {
        let Some(vpc) = &spec.vpc else { continue };
        if let Target::Resource(target, _) = context.target(vpc)
            && let Spec::DigitalOceanVpc(vpc_spec) = &target.spec
            && vpc_spec.region != spec.region
        {
            findings.fail(
                resource,
                "/spec/region",
                format!(
                    "the cluster is in {} but {} is in {}",
                    spec.region.as_str(),
                    target.address,
                    vpc_spec.region.as_str()
                ),
                format!(
                    "use `region: {}`, or a VPC in {}",
                    vpc_spec.region.as_str(),
                    spec.region.as_str()
                ),
            );
        }
    }
}
