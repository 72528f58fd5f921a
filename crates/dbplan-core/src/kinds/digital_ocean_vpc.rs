//! `DigitalOceanVpc`: a VPC. One object.

use super::{de, output};
use crate::{OutputSpec, Part};
use serde::Deserialize;

pub const OUTPUTS: &[OutputSpec] = &[output("vpc_id"), output("ip_range"), output("urn")];

/// No attribute holds a secret.
pub const SECRET_ATTRIBUTES: &[&str] = &[];

/// A VPC's region and range are fixed when it is created.
pub fn replaced_by(_: &Part) -> &'static [&'static str] {
    &["region", "ip_range_cidr"]
}

pub fn holds_data(_: &Part) -> bool {
    false
}

/// The attributes the object is planned with.
pub fn attribute_names(_: &Part) -> Option<&'static [&'static str]> {
    Some(de::attribute_names::<Vpc>())
}

/// The planned (or read) attributes of the VPC.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Vpc {
    #[serde(default, deserialize_with = "de::opt_text")]
    pub region: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub ip_range_cidr: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub description: Option<String>,
    /// `false` asks for nothing: DigitalOcean makes the first VPC of a region its default.
    #[serde(default)]
    pub is_default_for_region: Option<bool>,
}
