use super::{Check, Checker};
use crate::formats;
use crate::refs::{AwsVpcId, ValueOrRef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One ingress or egress rule of a security group (Project Planton's `SecurityGroupRule`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SecurityGroupRule {
    /// `tcp`, `udp`, `icmp` or `-1` (all protocols).
    #[schemars(length(min = 1))]
    pub protocol: String,
    /// First port of the range.
    #[serde(default)]
    #[schemars(range(min = -1, max = 65535))]
    pub from_port: i32,
    /// Last port of the range.
    #[serde(default)]
    #[schemars(range(min = -1, max = 65535))]
    pub to_port: i32,
    /// IPv4 CIDR blocks allowed (ingress) or targeted (egress).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ipv4_cidrs: Vec<String>,
    /// IPv6 CIDR blocks allowed or targeted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ipv6_cidrs: Vec<String>,
    /// Security groups that may send traffic (ingress).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_security_group_ids: Vec<String>,
    /// Security groups that receive traffic (egress).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub destination_security_group_ids: Vec<String>,
    /// Allow traffic from or to the group itself.
    #[serde(default)]
    pub self_reference: bool,
    /// Description of the rule, at most 255 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 255))]
    pub description: Option<String>,
}

/// Project Planton's `AwsSecurityGroupSpec`, plus an optional region.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsSecurityGroupSpec {
    /// The VPC of the security group.
    pub vpc_id: ValueOrRef<AwsVpcId>,
    /// Description of the group, at most 255 characters (cannot change without a replacement).
    #[schemars(length(min = 1, max = 255))]
    pub description: String,
    /// Inbound rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ingress: Vec<SecurityGroupRule>,
    /// Outbound rules.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub egress: Vec<SecurityGroupRule>,
    /// The AWS region (dbplan extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

impl Check for AwsSecurityGroupSpec {
    fn check(&self, checker: &mut Checker<'_>) {
        for (direction, rules) in [("ingress", &self.ingress), ("egress", &self.egress)] {
            for (index, rule) in rules.iter().enumerate() {
                for (cidr_index, cidr) in rule.ipv4_cidrs.iter().enumerate() {
                    checker.format(
                        &format!("/spec/{direction}/{index}/ipv4_cidrs/{cidr_index}"),
                        formats::parse_ipv4_cidr(cidr),
                    );
                }
                for (cidr_index, cidr) in rule.ipv6_cidrs.iter().enumerate() {
                    checker.format(
                        &format!("/spec/{direction}/{index}/ipv6_cidrs/{cidr_index}"),
                        formats::parse_ipv6_cidr(cidr),
                    );
                }
                if rule.from_port > rule.to_port && rule.protocol != "-1" && rule.protocol != "icmp"
                {
                    checker.report(
                        crate::codes::INVALID_VALUE,
                        &format!("/spec/{direction}/{index}/from_port"),
                        format!(
                            "from_port {} is above to_port {}",
                            rule.from_port, rule.to_port
                        ),
                        "write the lower port in from_port",
                    );
                }
            }
        }
        if let Some(region) = &self.region {
            checker.format("/spec/region", formats::check_aws_region(region));
        }
    }
}
