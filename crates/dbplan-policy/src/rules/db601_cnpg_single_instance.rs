//! ## What it does
//! Reports CloudNativePG clusters with a single instance.
//!
//! ## Why is this bad?
//! With one instance there is no standby to fail over to: a node drain, an eviction or a
//! failed volume takes the database down until the pod is rescheduled or the volume restored.
//!
//! ## Example
//! ```yaml
//! kind: CnpgCluster
//! spec:
//!   instances: 1
//! ```
//!
//! Use instead:
//! ```yaml
//! spec:
//!   instances: 3
//! ```
//!
//! ## References
//! - CloudNativePG, Cluster `spec.instances`: "Number of instances required in the cluster";
//!   CloudNativePG's architecture page recommends one primary and at least two standbys for high
//!   availability.

use super::{Check, Code, Rule};
use crate::context::{Context, Findings};
use crate::pack::Enforcement;
use dbplan_manifest::Spec;

pub(crate) const RULE: Rule = Rule {
    code: Code::new("DB601", "CloudNativePG cluster without a standby"),
    id: "cnpg-single-instance",
    default: Enforcement::Advisory,
    params: &[],
    source: include_str!("db601_cnpg_single_instance.rs"),
    check: Check::Manifest(check),
};

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for resource in context.resources() {
        if let Spec::CnpgCluster(spec) = &resource.spec
            && spec.instances < 2
        {
            findings.fail(
                resource,
                "/spec/instances",
                "the cluster has one instance and nothing to fail over to",
                "use `instances: 3` (a primary and two standbys), or at least 2",
            );
        }
    }
}
