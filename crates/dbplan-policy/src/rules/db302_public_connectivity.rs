//! ## What it does
//! Reports a production DigitalOcean database cluster (label `env: prod`/`production`, or
//! `metadata.env`) with `enable_public_connectivity: true`.
//!
//! ## Why is this bad?
//! A public endpoint exposes the database to the Internet; only trusted sources stand between it
//! and every scanner. Production databases should be reached through their VPC.
//!
//! ## Example
//! ```yaml
//! metadata:
//!   labels: {env: prod}
//! spec:
//!   enable_public_connectivity: true
//! ```
//!
//! Use instead:
//! ```yaml
//! spec:
//!   enable_public_connectivity: false
//!   vpc: {valueFrom: {name: production-vpc}}
//! ```
//!
//! ## References
//! - DigitalOcean, "How to Secure Database Clusters": restrict incoming connections with trusted
//!   sources and connect over the VPC network.

use super::{Check, Rule, digitalocean_clusters};
use crate::context::{Context, Findings};
use crate::pack::Enforcement;

pub(crate) const RULE: Rule = Rule {
    code: "DB302",
    id: "public-connectivity",
    summary: "production DigitalOcean database reachable from the Internet",
    default: Enforcement::Mandatory,
    params: &[],
    source: include_str!("db302_public_connectivity.rs"),
    check: Check::Manifest(check),
};

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for (resource, spec) in digitalocean_clusters(context) {
        if spec.enable_public_connectivity && context.is_production(resource) {
            findings.fail(
                resource,
                "/spec/enable_public_connectivity",
                "a production database cluster has public connectivity enabled",
                "set `enable_public_connectivity: false` and connect through the VPC",
            );
        }
    }
}
