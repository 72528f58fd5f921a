//! ## What it does
//! Reports CloudNativePG clusters with `enable_superuser_access: true`.
//!
//! ## Why is this bad?
//! It creates the `<cluster>-superuser` secret and lets the `postgres` superuser log in over the
//! network; anyone who can read that secret owns every database in the cluster.
//!
//! ## Example
//! ```yaml
//! spec:
//!   enable_superuser_access: true
//! ```
//!
//! Use instead: leave it at `false` (CloudNativePG's default) and use the application owner or
//! `kubectl cnpg psql` for administration.
//!
//! ## References
//! - CloudNativePG, Cluster `spec.enableSuperuserAccess`: "When this option is enabled, the
//!   operator will use the `SuperuserSecret` to update the `postgres` user password (if the
//!   secret is not present, the operator will automatically create one). … Disabled by default."

use super::{Check, Code, Rule};
use crate::context::{Context, Findings};
use crate::pack::Enforcement;
use dbplan_manifest::Spec;

pub(crate) const RULE: Rule = Rule {
    code: Code::new(
        "DB604",
        "CloudNativePG superuser reachable over the network",
    ),
    id: "cnpg-superuser",
    default: Enforcement::Advisory,
    params: &[],
    source: include_str!("db604_cnpg_superuser.rs"),
    check: Check::Manifest(check),
};

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for resource in context.resources() {
        if let Spec::CnpgCluster(spec) = &resource.spec
            && spec.enable_superuser_access
        {
            findings.fail(
                resource,
                "/spec/enable_superuser_access",
                "superuser logins are enabled and the superuser password is stored in a secret",
                "set `enable_superuser_access: false`",
            );
        }
    }
}
