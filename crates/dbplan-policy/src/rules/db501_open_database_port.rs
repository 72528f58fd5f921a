//! ## What it does
//! Reports database ports open to the whole Internet: `0.0.0.0/0` in an Aurora cluster's
//! `allowed_cidr_blocks`; an `AwsSecurityGroup` ingress rule from `0.0.0.0/0` or `::/0` that
//! covers a database port (3306, 5432, or all traffic); a DigitalOcean trusted source
//! `ip_addr: 0.0.0.0/0`.
//!
//! ## Why is this bad?
//! Every scanner on the Internet can then reach the database and try passwords, or exploit the
//! next vulnerability in the engine before it is patched.
//!
//! ## Example
//! ```yaml
//! spec:
//!   allowed_cidr_blocks: [0.0.0.0/0]
//! ```
//!
//! Use instead:
//! ```yaml
//! spec:
//!   security_group_ids:
//!     - valueFrom: {kind: AwsSecurityGroup, name: app}
//! ```
//!
//! ## References
//! - AWS, "Controlling access with security groups" (Aurora User Guide): grant access to the
//!   DB cluster from the security groups or IP ranges of the clients that need it.
//! - DigitalOcean, "How to Secure Database Clusters": trusted sources "limit which resources can
//!   connect to the database cluster".

use super::{Check, Code, Rule, aurora_clusters};
use crate::context::{Context, Findings};
use crate::pack::Enforcement;
use dbplan_manifest::Spec;
use dbplan_manifest::formats::{parse_ipv4_cidr, parse_ipv6_cidr};
use dbplan_manifest::kinds::TrustedSourceType;

pub(crate) const RULE: Rule = Rule {
    code: Code::new("DB501", "database port open to the Internet"),
    id: "open-database-port",
    default: Enforcement::Mandatory,
    params: &[],
    source: include_str!("db501_open_database_port.rs"),
    check: Check::Manifest(check),
};

const DATABASE_PORTS: [i32; 2] = [3306, 5432];

fn is_any_v4(text: &str) -> bool {
    parse_ipv4_cidr(text).is_ok_and(|cidr| cidr.is_any())
}

fn is_any_v6(text: &str) -> bool {
    parse_ipv6_cidr(text).is_ok_and(|cidr| cidr.prefix == 0)
}

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for (resource, spec) in aurora_clusters(context) {
        for (index, cidr) in spec.allowed_cidr_blocks.iter().enumerate() {
            if is_any_v4(cidr) {
                findings.fail(
                    resource,
                    &format!("/spec/allowed_cidr_blocks/{index}"),
                    "the cluster's port is open to every address on the Internet (0.0.0.0/0)",
                    "allow the clients' security groups (`security_group_ids`) or their private CIDR blocks",
                );
            }
        }
    }
    for resource in context.resources() {
        match &resource.spec {
            Spec::AwsSecurityGroup(spec) => {
                for (index, rule) in spec.ingress.iter().enumerate() {
                    let all_traffic = rule.protocol == "-1" || rule.protocol == "all";
                    let tcp = rule.protocol == "tcp" || rule.protocol == "6";
                    let ports = all_traffic
                        || (tcp
                            && DATABASE_PORTS
                                .iter()
                                .any(|port| (rule.from_port..=rule.to_port).contains(port)));
                    if !ports {
                        continue;
                    }
                    let open = rule
                        .ipv4_cidrs
                        .iter()
                        .enumerate()
                        .find(|(_, cidr)| is_any_v4(cidr))
                        .map(|(position, _)| format!("/spec/ingress/{index}/ipv4_cidrs/{position}"))
                        .or_else(|| {
                            rule.ipv6_cidrs
                                .iter()
                                .enumerate()
                                .find(|(_, cidr)| is_any_v6(cidr))
                                .map(|(position, _)| {
                                    format!("/spec/ingress/{index}/ipv6_cidrs/{position}")
                                })
                        });
                    if let Some(pointer) = open {
                        findings.fail(
                            resource,
                            &pointer,
                            if all_traffic {
                                "the security group admits all traffic, database ports included, from the whole Internet".to_owned()
                            } else {
                                let ports = if rule.from_port == rule.to_port {
                                    format!("port {}", rule.from_port)
                                } else {
                                    format!("ports {}-{}", rule.from_port, rule.to_port)
                                };
                                format!("the security group admits {ports} (a database port) from the whole Internet")
                            },
                            "admit the clients' security groups (`source_security_group_ids`) or private CIDR blocks",
                        );
                    }
                }
            }
            Spec::DigitalOceanDatabaseFirewall(spec) => {
                for (index, rule) in spec.rules.iter().enumerate() {
                    if rule.source_type == TrustedSourceType::IpAddr
                        && rule.value.literal().is_some_and(is_any_v4)
                    {
                        findings.fail(
                            resource,
                            &format!("/spec/rules/{index}/value"),
                            "the trusted source 0.0.0.0/0 trusts every address on the Internet",
                            "trust the droplets, Kubernetes clusters, tags or addresses of the clients",
                        );
                    }
                }
            }
            _ => {}
        }
    }
}
