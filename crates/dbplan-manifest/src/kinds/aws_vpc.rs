use super::{Check, Checker};
use crate::codes;
use crate::formats;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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

impl Check for AwsVpcSpec {
    fn check(&self, checker: &mut Checker<'_>) {
        if let Some(cidr) =
            checker.format("/spec/vpc_cidr", formats::parse_ipv4_cidr(&self.vpc_cidr))
            && !(16..=28).contains(&cidr.prefix)
        {
            checker.report(
                codes::OUT_OF_RANGE,
                "/spec/vpc_cidr",
                format!(
                    "a VPC's CIDR block must be between /16 and /28, not /{}",
                    cidr.prefix
                ),
                "use a block such as `10.0.0.0/16`",
            );
        }
        for (index, zone) in self.availability_zones.iter().enumerate() {
            checker.format(
                &format!("/spec/availability_zones/{index}"),
                formats::check_availability_zone(zone),
            );
        }
        if let Some(region) = &self.region {
            checker.format("/spec/region", formats::check_aws_region(region));
        }
        if !self.subnet_size.is_power_of_two() || !(16..=65536).contains(&self.subnet_size) {
            checker.report(
                codes::OUT_OF_RANGE,
                "/spec/subnet_size",
                format!("{} addresses cannot form a subnet", self.subnet_size),
                "use a power of two from 16 (/28) to 65536 (/16), e.g. 256 for a /24",
            );
        }
    }
}
