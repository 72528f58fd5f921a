//! ## What it does
//! Reports a production `TenantDatabase` (label `env: prod`/`production`, or `metadata.env`)
//! with `deletion_protection: false`.
//!
//! ## Why is this bad?
//! With protection off, removing the manifest or running `destroy` drops a production
//! database (when its deletion policy is `Delete`), with every table in it.
//!
//! ## Example
//! ```yaml
//! metadata:
//!   labels: {env: prod}
//! spec:
//!   deletion_protection: false
//! ```
//!
//! Use instead: leave `deletion_protection` at its default, `true`.
//!
//! ## References
//! - Crossplane provider-sql, `Database` `deletionPolicy`: "DeletionPolicy specifies what will
//!   happen to the underlying external when this managed resource is deleted - either "Delete"
//!   or "Orphan" the external resource." Its default is `Delete`; dbplan's is protection on and
//!   `Orphan`.

use super::{Check, Code, Rule};
use crate::context::{Context, Findings};
use crate::pack::Enforcement;
use dbplan_manifest::Spec;

pub(crate) const RULE: Rule = Rule {
    code: Code::new(
        "DB406",
        "production tenant database without deletion protection",
    ),
    id: "tenant-deletion-protection",
    default: Enforcement::Mandatory,
    params: &[],
    source: include_str!("db406_tenant_deletion_protection.rs"),
    check: Check::Manifest(check),
};

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for resource in context.resources() {
        if let Spec::TenantDatabase(spec) = &resource.spec
            && !spec.deletion_protection
            && context.is_production(resource)
        {
            findings.fail(
                resource,
                "/spec/deletion_protection",
                "a production tenant database has deletion protection turned off",
                "remove `deletion_protection: false` (the default is true)",
            );
        }
    }
}
