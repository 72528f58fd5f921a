//! ## What it does
//! Reports Aurora instances with `publicly_accessible: true`.
//!
//! ## Why is this bad?
//! A publicly accessible instance gets a DNS name that resolves to a public address; only its
//! security groups stand between the database and the Internet.
//!
//! ## Example
//! ```yaml
//! kind: AwsRdsClusterInstance
//! spec:
//!   publicly_accessible: true
//! ```
//!
//! Use instead: leave `publicly_accessible` at its default, `false`, and connect from inside the
//! VPC.
//!
//! ## References
//! - AWS, CreateDBInstance `PubliclyAccessible`: "When the DB instance is publicly accessible,
//!   its Domain Name System (DNS) endpoint resolves to the public IP address from outside of the
//!   DB instance's virtual private cloud (VPC)."

use super::{Check, Code, Rule};
use crate::context::{Context, Findings};
use crate::pack::Enforcement;
use dbplan_manifest::Spec;

pub(crate) const RULE: Rule = Rule {
    code: Code::new("DB502", "Aurora instance publicly accessible"),
    id: "public-instance",
    default: Enforcement::Mandatory,
    params: &[],
    source: include_str!("db502_public_instance.rs"),
    check: Check::Manifest(check),
};

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for resource in context.resources() {
        if let Spec::AwsRdsClusterInstance(spec) = &resource.spec
            && spec.publicly_accessible
        {
            findings.fail(
                resource,
                "/spec/publicly_accessible",
                "the instance's endpoint resolves to a public address",
                "set `publicly_accessible: false` and connect from inside the VPC",
            );
        }
    }
}
