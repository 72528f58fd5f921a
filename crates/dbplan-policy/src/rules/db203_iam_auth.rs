//! ## What it does
//! Reports Aurora clusters without IAM database authentication.
//!
//! ## Why is this bad?
//! Without IAM authentication every application and person logs in with a long-lived database
//! password. IAM authentication issues 15-minute tokens tied to IAM roles, which are audited
//! and revoked with the role.
//!
//! ## Example
//! ```yaml
//! spec:
//!   iam_database_authentication_enabled: false
//! ```
//!
//! Use instead:
//! ```yaml
//! spec:
//!   iam_database_authentication_enabled: true
//! ```
//!
//! ## References
//! - AWS, "IAM database authentication": "An authentication token is a unique string of
//!   characters that Amazon Aurora generates on request. … Each token has a lifetime of 15
//!   minutes."

use super::{Check, Code, Rule, aurora_clusters};
use crate::context::{Context, Findings};
use crate::pack::Enforcement;

pub(crate) const RULE: Rule = Rule {
    code: Code::new("DB203", "IAM database authentication off"),
    id: "iam-auth",
    default: Enforcement::Advisory,
    params: &[],
    source: include_str!("db203_iam_auth.rs"),
    check: Check::Manifest(check),
};

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for (resource, spec) in aurora_clusters(context) {
        if !spec.iam_database_authentication_enabled {
            findings.fail(
                resource,
                "/spec/iam_database_authentication_enabled",
                "every login uses a long-lived database password; IAM tokens are not accepted",
                "set `iam_database_authentication_enabled: true`",
            );
        }
    }
}
