use super::{Check, Checker};
use crate::codes;
use crate::formats;
use dbplan_core::kinds::aws_vpc::AwsVpcSpec;

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
