use super::{Check, Checker};
use crate::codes;
use crate::formats;
use dbplan_core::kinds::digital_ocean_database_firewall::{
    DigitalOceanDatabaseFirewallSpec, TrustedSourceType,
};

impl Check for DigitalOceanDatabaseFirewallSpec {
    fn check(&self, checker: &mut Checker<'_>) {
        for (index, rule) in self.rules.iter().enumerate() {
            if rule.source_type == TrustedSourceType::IpAddr
                && let Some(value) = rule.value.literal()
            {
                let pointer = format!("/spec/rules/{index}/value");
                if value.contains('/') {
                    checker.format(&pointer, formats::parse_ipv4_cidr(value));
                } else if value.parse::<std::net::Ipv4Addr>().is_err() {
                    checker.report(
                        codes::BAD_FORMAT,
                        &pointer,
                        format!("{value:?} is not an IPv4 address or CIDR"),
                        "write an address such as `203.0.113.7` or a range such as `10.10.0.0/16`; DigitalOcean trusted sources do not accept IPv6",
                    );
                }
            }
        }
    }
}
