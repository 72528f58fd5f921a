//! ## What it does
//! Reports a production `TenantDatabase` whose `db_deletion_policy` or `role_deletion_policy` is
//! `Delete`.
//!
//! ## Why is this bad?
//! With `Delete`, removing the manifest drops the database (or the role its applications log
//! in with) instead of leaving it in place (`Orphan`, the default).
//!
//! ## Example
//! ```yaml
//! metadata:
//!   labels: {env: prod}
//! spec:
//!   db_deletion_policy: Delete
//! ```
//!
//! Use instead:
//! ```yaml
//! spec:
//!   db_deletion_policy: Orphan
//! ```
//!
//! ## References
//! - Crossplane provider-sql, `Database` and `Role` `deletionPolicy`: "DeletionPolicy specifies
//!   what will happen to the underlying external when this managed resource is deleted - either
//!   "Delete" or "Orphan" the external resource."

use super::{Check, Code, Rule};
use crate::context::{Context, Findings};
use crate::pack::Enforcement;
use dbplan_manifest::Spec;
use dbplan_manifest::kinds::DeletionPolicy;

pub(crate) const RULE: Rule = Rule {
    code: Code::new(
        "DB407",
        "production tenant dropped when its manifest is removed",
    ),
    id: "tenant-delete-policy",
    default: Enforcement::Advisory,
    params: &[],
    source: include_str!("db407_tenant_delete_policy.rs"),
    check: Check::Manifest(check),
};

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for resource in context.resources() {
        let Spec::TenantDatabase(spec) = &resource.spec else {
            continue;
        };
        if !context.is_production(resource) {
            continue;
        }
        for (policy, pointer, what) in [
            (
                spec.db_deletion_policy,
                "/spec/db_deletion_policy",
                "database",
            ),
            (
                spec.role_deletion_policy,
                "/spec/role_deletion_policy",
                "role",
            ),
        ] {
            if policy == DeletionPolicy::Delete {
                findings.fail(
                    resource,
                    pointer,
                    format!("removing this production tenant's manifest drops its {what}"),
                    "use `Orphan` (the default) so the object stays when the manifest goes",
                );
            }
        }
    }
}
