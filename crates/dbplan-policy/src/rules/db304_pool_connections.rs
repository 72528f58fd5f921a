//! ## What it does
//! Checks that the connection pools of a DigitalOcean PostgreSQL cluster together ask for no
//! more backend connections than the cluster offers: 25 per GiB of the node's memory, less 3
//! reserved for maintenance (a `db-s-1vcpu-1gb` node has 22, a 4 GiB node 97), shared by all
//! pools of the cluster.
//!
//! ## Why is this bad?
//! DigitalOcean refuses the pool that goes over the limit, so the apply fails on the last pool.
//!
//! ## Example
//! Two pools of 60 on a `db-s-2vcpu-4gb` cluster (97 connections).
//!
//! Use instead: pools of 60 and 37, or a larger size slug.
//!
//! ## References
//! - DigitalOcean, PostgreSQL connection pools: "25 backend server connections are allowed for
//!   every 1GB of RAM. Three are reserved for maintenance." The limit is shared by all pools.

use super::{Check, Code, Rule};
use crate::context::{Context, Findings, Target};
use crate::pack::Enforcement;
use dbplan_manifest::Spec;
use std::collections::BTreeMap;

pub(crate) const RULE: Rule = Rule {
    code: Code::new("DB304", "connection pools larger than the cluster allows"),
    id: "pool-connections",
    default: Enforcement::Mandatory,
    params: &[],
    source: include_str!("db304_pool_connections.rs"),
    check: Check::Manifest(check),
};

/// GiB of memory of a size slug: the number before the final `gb` (`db-s-2vcpu-4gb` → 4,
/// `gd-2vcpu-8gb-intel` → 8).
pub(crate) fn memory_gib(slug: &str) -> Option<u32> {
    slug.split('-')
        .filter_map(|part| part.strip_suffix("gb"))
        .filter_map(|number| number.parse().ok())
        .next_back()
}

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    let mut pools: BTreeMap<&dbplan_core::ResourceAddress, Vec<(&dbplan_manifest::Resource, u32)>> =
        BTreeMap::new();
    let mut clusters = BTreeMap::new();
    for resource in context.resources() {
        let Spec::DigitalOceanDatabaseConnectionPool(spec) = &resource.spec else {
            continue;
        };
        if let Target::Resource(cluster, _) = context.target(&spec.cluster_id)
            && let Spec::DigitalOceanDatabaseCluster(cluster_spec) = &cluster.spec
        {
            pools
                .entry(&cluster.address)
                .or_default()
                .push((resource, spec.size));
            clusters.insert(&cluster.address, cluster_spec);
        }
    }
    for (address, members) in pools {
        let Some(cluster) = clusters.get(address) else {
            continue;
        };
        let Some(gib) = memory_gib(&cluster.size_slug) else {
            continue;
        };
        let limit = (25 * gib).saturating_sub(3);
        let total: u32 = members.iter().map(|(_, size)| size).sum();
        if total <= limit {
            continue;
        }
        let Some((last, _)) = members.last() else {
            continue;
        };
        let listed: Vec<String> = members
            .iter()
            .map(|(pool, size)| format!("{} ({size})", pool.address.name))
            .collect();
        findings.fail(
            last,
            "/spec/size",
            format!(
                "the pools of {address} ask for {total} connections ({}); a {} node offers {limit}",
                listed.join(", "),
                cluster.size_slug
            ),
            format!("shrink the pools to {limit} connections in all, or choose a larger size slug"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::memory_gib;

    #[test]
    fn memory_from_slugs() {
        assert_eq!(memory_gib("db-s-1vcpu-1gb"), Some(1));
        assert_eq!(memory_gib("db-s-2vcpu-4gb"), Some(4));
        assert_eq!(memory_gib("gd-2vcpu-8gb-intel"), Some(8));
        assert_eq!(memory_gib("so1_5-4vcpu-32gb"), Some(32));
        assert_eq!(memory_gib("custom"), None);
    }
}
