//! `AwsVpc`: a VPC with subnets in a documented layout, and NAT gateways when enabled. One
//! object (no parts).

use super::{de, list, output};
use crate::{OutputSpec, Part};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

const SUBNET_FIELDS: &[&str] = &["name", "id", "cidr", "availability_zone", "nat_gateway"];

pub const OUTPUTS: &[OutputSpec] = &[
    output("vpc_id"),
    output("internet_gateway_id"),
    list("private_subnets", SUBNET_FIELDS),
    list("public_subnets", SUBNET_FIELDS),
    output("vpc_cidr"),
];

/// No attribute holds a secret.
pub const SECRET_ATTRIBUTES: &[&str] = &[];

/// A VPC's CIDR block and region are fixed when it is created.
pub fn replaced_by(_: &Part) -> &'static [&'static str] {
    &["vpc_cidr", "region"]
}

pub fn holds_data(_: &Part) -> bool {
    false
}

/// The attributes the object is planned with.
pub fn attribute_names(_: &Part) -> Option<&'static [&'static str]> {
    Some(de::attribute_names::<Vpc>())
}

/// The planned attributes of the VPC: the spec's fields.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Vpc {
    #[serde(deserialize_with = "de::text")]
    pub vpc_cidr: String,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub subnet_size: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub subnets_per_availability_zone: Option<i64>,
    #[serde(default, deserialize_with = "de::texts")]
    pub availability_zones: Vec<String>,
    #[serde(default)]
    pub is_nat_gateway_enabled: Option<bool>,
    #[serde(default)]
    pub is_dns_support_enabled: Option<bool>,
    #[serde(default)]
    pub is_dns_hostnames_enabled: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub region: Option<String>,
}

// The spec: the fields a manifest declares (their doc comments are the editor schema's help).
// Its semantic checks, which report with spans, live with the loader
// (`dbplan-manifest/src/checks/`).

/// Project Planton's `AwsVpcSpec`, plus an optional region.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AwsVpcSpec {
    /// The VPC's IPv4 CIDR block, e.g. `10.0.0.0/16`.
    pub vpc_cidr: String,
    /// The Availability Zones to create subnets in, e.g. `[us-east-1a, us-east-1b]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub availability_zones: Vec<String>,
    /// Number of private (and public) subnets in each Availability Zone.
    #[schemars(range(min = 1))]
    pub subnets_per_availability_zone: u32,
    /// Number of IP addresses in each subnet, e.g. 256 for a `/24`.
    #[schemars(range(min = 1))]
    pub subnet_size: u32,
    /// Whether private subnets get NAT gateways.
    #[serde(default)]
    pub is_nat_gateway_enabled: bool,
    /// Whether instances get public DNS hostnames.
    #[serde(default)]
    pub is_dns_hostnames_enabled: bool,
    /// Whether the Amazon DNS server resolves names in the VPC.
    #[serde(default)]
    pub is_dns_support_enabled: bool,
    /// The AWS region (dbplan extension); the AWS configuration chain's region when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
}

impl AwsVpcSpec {
    /// The Availability Zone of each private subnet, in the order the subnets are created:
    /// `subnets_per_availability_zone` subnets per zone, zone by zone.
    pub fn private_subnet_zones(&self) -> Vec<&str> {
        self.availability_zones
            .iter()
            .flat_map(|zone| {
                std::iter::repeat_n(zone.as_str(), self.subnets_per_availability_zone as usize)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_the_planned_vpc() {
        let json = json!({
            "vpc_cidr": "10.0.0.0/16",
            "availability_zones": ["us-east-1a", "us-east-1b"],
            "subnets_per_availability_zone": 1,
            "subnet_size": 256,
            "is_nat_gateway_enabled": false,
            "is_dns_hostnames_enabled": true,
            "is_dns_support_enabled": true,
            "region": "us-east-1",
        });
        let vpc: Vpc = serde_json::from_value(json).unwrap();
        assert_eq!(vpc.subnet_size, Some(256));
        assert_eq!(vpc.availability_zones.len(), 2);
        assert_eq!(vpc.region.as_deref(), Some("us-east-1"));
    }
}
