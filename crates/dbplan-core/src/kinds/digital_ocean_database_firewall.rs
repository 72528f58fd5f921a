//! `DigitalOceanDatabaseFirewall`: the trusted sources of a cluster. One object.

use super::{de, output};
use crate::{OutputSpec, Part};
use serde::Deserialize;

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
