//! ## What it does
//! Reports Aurora clusters without deletion protection.
//!
//! ## Why is this bad?
//! Without it, one mistaken `destroy`, a removed manifest or a console click deletes the
//! cluster. With it, RDS refuses `DeleteDBCluster` until protection is turned off in a separate,
//! reviewable change.
//!
//! ## Example
//! ```yaml
//! spec:
//!   deletion_protection: false
//! ```
//!
//! Use instead:
//! ```yaml
//! spec:
//!   deletion_protection: true
//! ```
//!
//! ## References
//! - AWS, CreateDBCluster `DeletionProtection`: "Specifies whether the DB cluster has deletion
//!   protection enabled. The database can't be deleted when deletion protection is enabled. By
//!   default, deletion protection isn't enabled."

use super::{Check, Code, Rule, aurora_clusters};
use crate::context::{Context, Findings};
use crate::pack::Enforcement;

pub(crate) const RULE: Rule = Rule {
    code: Code::new("DB402", "Aurora cluster without deletion protection"),
    id: "deletion-protection",
    default: Enforcement::Advisory,
    params: &[],
    source: include_str!("db402_deletion_protection.rs"),
    check: Check::Manifest(check),
};

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for (resource, spec) in aurora_clusters(context) {
        if !spec.deletion_protection {
            findings.fail(
                resource,
                "/spec/deletion_protection",
                "deletion protection is off: the cluster can be deleted in one step",
                "set `deletion_protection: true`",
            );
        }
    }
}
