//! ## What it does
//! Reports a production DigitalOcean database cluster (label `env: prod`/`production`, or
//! `metadata.env`) that no `DigitalOceanDatabaseFirewall` in the manifest set restricts, or whose
//! firewall trusts every address (`ip_addr` `0.0.0.0/0` or `::/0`).
//!
//! ## Why is this bad?
//! DigitalOcean gives every database cluster a public hostname; its trusted sources (the
//! cluster's firewall) are what decide who can connect to it, and without them any client that
//! has the credentials can, from anywhere. `enable_public_connectivity: false` does not change
//! that: DigitalOcean's API has no such setting (not in the cluster create or update requests),
//! so dbplan does not send it and the cluster keeps its public hostname.
//!
//! ## Example
//! ```yaml
//! kind: DigitalOceanDatabaseCluster
//! metadata:
//!   name: prod-postgres
//!   labels: {env: prod}
//! spec:
//!   enable_public_connectivity: false   # not applied: DigitalOcean has no such setting
//! ```
//!
//! Use instead: trusted sources for the cluster, and clients in its VPC that connect to its
//! `private_host`:
//! ```yaml
//! kind: DigitalOceanDatabaseCluster
//! metadata:
//!   name: prod-postgres
//!   labels: {env: prod}
//! spec:
//!   vpc: {valueFrom: {name: production-vpc}}
//! ---
//! kind: DigitalOceanDatabaseFirewall
//! metadata: {name: prod-postgres-trusted-sources}
//! spec:
//!   cluster_id: {valueFrom: {name: prod-postgres}}
//!   rules:
//!     - {type: k8s, value: bd5f5959-5e1e-4205-a714-a914373942af}
//! ```
//!
//! ## References
//! - DigitalOcean, "How to Secure Database Clusters": restrict incoming connections with trusted
//!   sources and connect over the VPC network.
//! - DigitalOcean API, "Create a New Database Cluster" (`POST /v2/databases`) and "Update
//!   Firewall Rules (Trusted Sources)" (`PUT /v2/databases/{uuid}/firewall`): the cluster
//!   request has no public-connectivity field; trusted sources are set on the firewall.

use super::{Check, Code, Rule, digitalocean_clusters};
use crate::context::{Context, Findings, Target};
use crate::pack::Enforcement;
use dbplan_core::ResourceAddress;
use dbplan_manifest::Spec;
use dbplan_manifest::kinds::TrustedSourceType;
use std::collections::{BTreeMap, BTreeSet};

pub(crate) const RULE: Rule = Rule {
    code: Code::new(
        "DB302",
        "production DigitalOcean database reachable from the Internet",
    ),
    id: "public-connectivity",
    default: Enforcement::Mandatory,
    params: &[],
    source: include_str!("db302_public_connectivity.rs"),
    check: Check::Manifest(check),
};

/// An `ip_addr` trusted source that admits every address.
fn admits_everyone(value: &str) -> bool {
    matches!(value.trim(), "0.0.0.0/0" | "::/0")
}

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    // Per cluster: whether a firewall restricts it, else the firewall that trusts everyone.
    let mut restricted = BTreeSet::new();
    let mut open: BTreeMap<&ResourceAddress, &ResourceAddress> = BTreeMap::new();
    for resource in context.resources() {
        let Spec::DigitalOceanDatabaseFirewall(spec) = &resource.spec else {
            continue;
        };
        let Target::Resource(cluster, _) = context.target(&spec.cluster_id) else {
            continue;
        };
        let admits_everyone = spec.rules.iter().any(|rule| {
            rule.source_type == TrustedSourceType::IpAddr
                && rule.value.literal().is_some_and(admits_everyone)
        });
        if admits_everyone {
            open.insert(&cluster.address, &resource.address);
        } else {
            restricted.insert(&cluster.address);
        }
    }
    for (resource, spec) in digitalocean_clusters(context) {
        if !context.is_production(resource) || restricted.contains(&resource.address) {
            continue;
        }
        let pointer = if spec.enable_public_connectivity {
            "/spec/enable_public_connectivity"
        } else {
            "/metadata/name"
        };
        let why = match open.get(&resource.address) {
            Some(firewall) => format!("its trusted sources in {firewall} admit every address"),
            None => "no DigitalOceanDatabaseFirewall restricts who can connect to it".to_owned(),
        };
        findings.fail(
            resource,
            pointer,
            format!(
                "the production cluster {} has a public hostname and {why} (`enable_public_connectivity` is not a DigitalOcean setting and changes nothing)",
                resource.address
            ),
            "give it a DigitalOceanDatabaseFirewall whose trusted sources name only the droplets, Kubernetes clusters, tags or apps that may connect, and connect through the cluster's `private_host` in its VPC",
        );
    }
}
