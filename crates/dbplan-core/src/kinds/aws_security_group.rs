//! `AwsSecurityGroup`: an EC2 security group with the rules the manifest lists. One object.

use super::{de, output};
use crate::refs::{AwsVpcId, ValueOrRef};
use crate::{OutputSpec, Part};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub const OUTPUTS: &[OutputSpec] = &[output("security_group_id")];

/// No attribute holds a secret.
pub const SECRET_ATTRIBUTES: &[&str] = &[];

/// EC2 cannot move a group to another VPC or change its description.
pub fn replaced_by(_: &Part) -> &'static [&'static str] {
    &["vpc_id", "description", "region"]
}

pub fn holds_data(_: &Part) -> bool {
    false
}

/// The attributes the object is planned with.
pub fn attribute_names(_: &Part) -> Option<&'static [&'static str]> {
    Some(de::attribute_names::<SecurityGroup>())
}

/// The planned attributes of the group.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct SecurityGroup {
    /// Known only once the VPC is applied; the engine resolves it before an apply.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub vpc_id: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub description: Option<String>,
    /// No `ingress` (the kind's default): no ingress at all.
    #[serde(default)]
    pub ingress: Option<Vec<Rule>>,
    /// No (or no) `egress`: AWS's default egress is left alone.
    #[serde(default)]
    pub egress: Option<Vec<Rule>>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub region: Option<String>,
}

/// One ingress or egress rule, as the manifest gives it.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Rule {
    /// `tcp` when not given (the kind's documented default).
    #[serde(default)]
    pub protocol: Option<String>,
    #[serde(default)]
    pub from_port: Option<i64>,
    #[serde(default)]
    pub to_port: Option<i64>,
    #[serde(default)]
    pub ipv4_cidrs: Vec<String>,
    #[serde(default)]
    pub ipv6_cidrs: Vec<String>,
    #[serde(default)]
    pub source_security_group_ids: Vec<String>,
    #[serde(default)]
    pub destination_security_group_ids: Vec<String>,
    #[serde(default)]
    pub self_reference: bool,
    #[serde(default)]
    pub description: Option<String>,
}

// The spec: the fields a manifest declares (their doc comments are the editor schema's help).
// Its semantic checks, which report with spans, live with the loader
// (`dbplan-manifest/src/checks/`).

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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_the_planned_group() {
        let json = json!({
            "vpc_id": "vpc-1",
            "description": "app",
            "ingress": [{"protocol": "tcp", "from_port": 5432, "to_port": 5432,
                         "ipv4_cidrs": ["10.0.0.0/16"], "self_reference": true}],
        });
        let group: SecurityGroup = serde_json::from_value(json).unwrap();
        let ingress = group.ingress.unwrap();
        assert_eq!(ingress[0].from_port, Some(5432));
        assert!(ingress[0].self_reference);
        assert_eq!(group.egress, None);
    }
}
