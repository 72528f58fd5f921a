//! ## What it does
//! Reports a master password written as a literal in the manifest.
//!
//! ## Why is this bad?
//! The manifest is reviewed in pull requests and kept in version control: a literal password is
//! readable by everyone with access to the repository, forever, and every rotation is a commit.
//!
//! ## Example
//! ```yaml
//! spec:
//!   password: hunter2hunter2
//! ```
//!
//! Use instead:
//! ```yaml
//! spec:
//!   manage_master_user_password: true
//! ```
//! or `password: {secretEnv: ORDERS_DB_PASSWORD}`, read from the environment at plan and apply.
//!
//! ## References
//! - AWS, "Password management with Amazon RDS and AWS Secrets Manager": RDS can generate,
//!   store and rotate the master password in Secrets Manager so it never appears in plain text.

use super::{Check, Code, Rule, aurora_clusters};
use crate::context::{Context, Findings};
use crate::pack::Enforcement;
use dbplan_manifest::refs::SecretValue;

pub(crate) const RULE: Rule = Rule {
    code: Code::new("DB202", "password written in the manifest"),
    id: "literal-password",
    default: Enforcement::Mandatory,
    params: &[],
    source: include_str!("db202_literal_password.rs"),
    check: Check::Manifest(check),
};

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for (resource, spec) in aurora_clusters(context) {
        if let Some(SecretValue::Literal(_)) = &spec.password {
            findings.fail(
                resource,
                "/spec/password",
                "the master password is written in the manifest (its value is not shown)",
                "use `manage_master_user_password: true`, or `password: {secretEnv: NAME}`, and rotate the exposed password",
            );
        }
    }
}
