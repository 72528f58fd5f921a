//! ## What it does
//! Reports a DigitalOcean database cluster that no `DigitalOceanDatabaseFirewall` in the
//! manifest set restricts.
//!
//! ## Why is this bad?
//! Without trusted sources, any client that has the credentials can connect from anywhere.
//!
//! ## Example
//! A `DigitalOceanDatabaseCluster` with no firewall referencing it.
//!
//! Use instead:
//! ```yaml
//! apiVersion: dbplan.io/v1
//! kind: DigitalOceanDatabaseFirewall
//! metadata: {name: prod-postgres-trusted-sources}
//! spec:
//!   cluster_id: {valueFrom: {name: prod-postgres}}
//!   rules:
//!     - {type: k8s, value: bd5f5959-5e1e-4205-a714-a914373942af}
//! ```
//!
//! ## References
//! - DigitalOcean, "How to Secure Database Clusters": "Trusted sources limit which resources can
//!   connect to the database cluster."

use super::{Check, Code, Rule, digitalocean_clusters};
use crate::context::{Context, Findings, Target};
use crate::pack::Enforcement;
use dbplan_manifest::Spec;
use std::collections::BTreeSet;

pub(crate) const RULE: Rule = Rule {
    code: Code::new("DB303", "DigitalOcean database without trusted sources"),
    id: "trusted-sources",
    default: Enforcement::Advisory,
    params: &[],
    source: include_str!("db303_trusted_sources.rs"),
    check: Check::Manifest(check),
};

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    let mut protected = BTreeSet::new();
    for resource in context.resources() {
        if let Spec::DigitalOceanDatabaseFirewall(spec) = &resource.spec
            && let Target::Resource(cluster, _) = context.target(&spec.cluster_id)
        {
            protected.insert(&cluster.address);
        }
    }
    for (resource, _) in digitalocean_clusters(context) {
        if !protected.contains(&resource.address) {
            findings.fail(
                resource,
                "/metadata/name",
                format!("no DigitalOceanDatabaseFirewall restricts {}: any client with credentials can connect", resource.address),
                "add a DigitalOceanDatabaseFirewall with the droplets, Kubernetes clusters, tags or addresses that may connect",
            );
        }
    }
}
