use super::{Check, Checker};
use crate::codes;
use crate::formats;
use crate::refs::{DigitalOceanClusterId, NoDefault, ValueOrRef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The kind of a trusted source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TrustedSourceType {
    /// A Droplet ID.
    Droplet,
    /// A Kubernetes cluster ID.
    K8s,
    /// An IPv4 address or CIDR.
    IpAddr,
    /// A Droplet tag.
    Tag,
    /// An App Platform app ID.
    App,
}

/// One trusted source of a database cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrustedSource {
    /// What `value` names.
    #[serde(rename = "type")]
    pub source_type: TrustedSourceType,
    /// The ID, tag or IP address; a literal or a reference.
    pub value: ValueOrRef<NoDefault>,
}

/// The trusted sources (firewall rules) of a DigitalOcean database cluster, replaced as a set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DigitalOceanDatabaseFirewallSpec {
    /// The cluster the rules apply to.
    pub cluster_id: ValueOrRef<DigitalOceanClusterId>,
    /// The trusted sources; DigitalOcean allows at most 100 IP addresses.
    #[schemars(length(min = 1))]
    pub rules: Vec<TrustedSource>,
}

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
