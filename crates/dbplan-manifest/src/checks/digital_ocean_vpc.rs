use super::{Check, Checker};
use crate::formats;
use dbplan_core::kinds::digital_ocean_vpc::DigitalOceanVpcSpec;

impl Check for DigitalOceanVpcSpec {
    fn check(&self, checker: &mut Checker<'_>) {
        if let Some(range) = &self.ip_range_cidr
            && let Some(cidr) =
                checker.format("/spec/ip_range_cidr", formats::parse_ipv4_cidr(range))
        {
            checker.format("/spec/ip_range_cidr", formats::check_do_vpc_range(&cidr));
        }
    }
}
