use super::{Check, Checker};
use crate::formats;
use dbplan_core::kinds::aws_security_group::AwsSecurityGroupSpec;

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
