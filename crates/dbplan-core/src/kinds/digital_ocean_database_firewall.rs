//! `DigitalOceanDatabaseFirewall`: the trusted sources of a cluster. One object.

use super::{de, output};
use crate::refs::{DigitalOceanClusterId, NoDefault, ValueOrRef};
use crate::{OutputSpec, Part};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub const OUTPUTS: &[OutputSpec] = &[output("cluster_id")];

/// No attribute holds a secret.
pub const SECRET_ATTRIBUTES: &[&str] = &[];

/// The rules belong to one cluster.
pub fn replaced_by(_: &Part) -> &'static [&'static str] {
    &["cluster_id"]
}

pub fn holds_data(_: &Part) -> bool {
    false
}

/// The attributes the object is planned with.
pub fn attribute_names(_: &Part) -> Option<&'static [&'static str]> {
    Some(de::attribute_names::<Firewall>())
}

/// The planned (or recorded) trusted sources.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Firewall {
    /// Known once the cluster is applied.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub cluster_id: Option<String>,
    #[serde(default)]
    pub rules: Vec<Rule>,
}

/// One trusted source.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct Rule {
    /// `ip_addr`, `droplet`, `k8s`, `tag` or `app`.
    #[serde(rename = "type", deserialize_with = "de::text")]
    pub source_type: String,
    #[serde(deserialize_with = "de::text")]
    pub value: String,
}

// The spec: the fields a manifest declares (their doc comments are the editor schema's help).
// Its semantic checks, which report with spans, live with the loader
// (`dbplan-manifest/src/checks/`).

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
