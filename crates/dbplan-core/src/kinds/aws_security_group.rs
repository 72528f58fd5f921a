//! `AwsSecurityGroup`: an EC2 security group with the rules the manifest lists. One object.

use super::{de, output};
use crate::{OutputSpec, Part};
use serde::Deserialize;

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
