//! `AwsVpc`: a VPC with subnets in a documented layout, and NAT gateways when enabled. One
//! object (no parts).

use super::{de, list, output};
use crate::{OutputSpec, Part};
use serde::Deserialize;

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
