//! Expansion of components into their parts.

use crate::{EdgeReason, Graph, GraphNode};
use dbplan_core::{Kind, ResourceAddress};
use dbplan_manifest::{ManifestSet, Spec};

/// What a graph node stands for: the whole resource or one part of a component (the
/// vocabulary's [`dbplan_core::Part`], which providers read back from an address too).
pub use dbplan_core::Part;

/// The parts of a resource in dependency order, each with the parts (earlier in the list) it
/// depends on.
pub(crate) fn parts(spec: &Spec) -> Vec<(Part, Vec<Part>)> {
    match spec {
        Spec::AwsRdsCluster(spec) => {
            let mut parts = Vec::new();
            let mut cluster_needs = Vec::new();
            if !spec.allowed_cidr_blocks.is_empty() || !spec.security_group_ids.is_empty() {
                parts.push((Part::SecurityGroup, Vec::new()));
                cluster_needs.push(Part::SecurityGroup);
            }
            if !spec.subnet_ids.is_empty() {
                parts.push((Part::SubnetGroup, Vec::new()));
                cluster_needs.push(Part::SubnetGroup);
            }
            if !spec.parameters.is_empty() {
                parts.push((Part::ParameterGroup, Vec::new()));
                cluster_needs.push(Part::ParameterGroup);
            }
            parts.push((Part::Cluster, cluster_needs));
            parts
        }
        Spec::TenantDatabase(spec) => {
            let mut parts = vec![(Part::Role, Vec::new()), (Part::Database, vec![Part::Role])];
            if spec.connection_secret.is_some() {
                parts.push((Part::ConnectionSecret, vec![Part::Role, Part::Database]));
            }
            parts
        }
        Spec::CnpgCluster(spec) => {
            let mut parts = vec![(Part::Cluster, Vec::new())];
            if spec
                .backup
                .as_ref()
                .is_some_and(|backup| backup.schedule.is_some())
            {
                parts.push((Part::ScheduledBackup, vec![Part::Cluster]));
            }
            for database in &spec.databases {
                parts.push((
                    Part::CnpgDatabase(database.name.clone()),
                    vec![Part::Cluster],
                ));
            }
            parts.push((Part::ConnectionSecret, vec![Part::Cluster]));
            parts
        }
        _ => vec![(Part::Whole, Vec::new())],
    }
}

/// The part that a reference to the whole resource means (e.g. `AwsRdsCluster/x` → its cluster).
pub(crate) fn primary_part(kind: Kind) -> Part {
    match kind {
        Kind::AwsRdsCluster | Kind::CnpgCluster => Part::Cluster,
        Kind::TenantDatabase => Part::Database,
        _ => Part::Whole,
    }
}

/// The part of a component that a field (JSON pointer) belongs to.
pub(crate) fn part_for_field(spec: &Spec, pointer: &str) -> Part {
    match spec {
        Spec::AwsRdsCluster(spec) => {
            let has_security_group =
                !spec.allowed_cidr_blocks.is_empty() || !spec.security_group_ids.is_empty();
            if pointer.starts_with("/spec/subnet_ids") {
                Part::SubnetGroup
            } else if pointer.starts_with("/spec/security_group_ids")
                || (pointer.starts_with("/spec/vpc_id") && has_security_group)
            {
                Part::SecurityGroup
            } else {
                Part::Cluster
            }
        }
        Spec::TenantDatabase(_) => Part::Role,
        Spec::CnpgCluster(_) => Part::Cluster,
        _ => Part::Whole,
    }
}

pub(crate) fn address(base: &ResourceAddress, part: &Part) -> ResourceAddress {
    match part.name() {
        Some(name) => base.part(name),
        None => base.clone(),
    }
}

pub(crate) fn expand(set: &ManifestSet, graph: &mut Graph) {
    for (resource_index, resource) in set.resources.iter().enumerate() {
        let parts = parts(&resource.spec);
        for (part, needs) in parts {
            let address = address(&resource.address, &part);
            let index = graph.graph.add_node(GraphNode {
                address: address.clone(),
                resource: resource_index,
                part,
            });
            graph.index.insert(address, index);
            for need in needs {
                let need_address = self::address(&resource.address, &need);
                if let Some(&need_index) = graph.index.get(&need_address) {
                    graph
                        .graph
                        .add_edge(index, need_index, EdgeReason::Component);
                }
            }
        }
    }
}
