//! `DigitalOceanVpc`: a VPC. One object.

use super::{de, output};
use crate::{OutputSpec, Part};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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

// The spec: the fields a manifest declares (their doc comments are the editor schema's help).
// Its semantic checks, which report with spans, live with the loader
// (`dbplan-manifest/src/checks/`).

/// DigitalOcean region slugs where VPCs and managed databases are offered.
pub const DIGITAL_OCEAN_REGIONS: &[&str] = &[
    "nyc1", "nyc2", "nyc3", "sfo2", "sfo3", "ams3", "sgp1", "lon1", "fra1", "tor1", "blr1", "syd1",
    "atl1",
];

/// A DigitalOcean region slug.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DigitalOceanRegion {
    Nyc1,
    Nyc2,
    Nyc3,
    Sfo2,
    Sfo3,
    Ams3,
    Sgp1,
    Lon1,
    Fra1,
    Tor1,
    Blr1,
    Syd1,
    Atl1,
}

impl DigitalOceanRegion {
    pub fn as_str(self) -> &'static str {
        match self {
            DigitalOceanRegion::Nyc1 => "nyc1",
            DigitalOceanRegion::Nyc2 => "nyc2",
            DigitalOceanRegion::Nyc3 => "nyc3",
            DigitalOceanRegion::Sfo2 => "sfo2",
            DigitalOceanRegion::Sfo3 => "sfo3",
            DigitalOceanRegion::Ams3 => "ams3",
            DigitalOceanRegion::Sgp1 => "sgp1",
            DigitalOceanRegion::Lon1 => "lon1",
            DigitalOceanRegion::Fra1 => "fra1",
            DigitalOceanRegion::Tor1 => "tor1",
            DigitalOceanRegion::Blr1 => "blr1",
            DigitalOceanRegion::Syd1 => "syd1",
            DigitalOceanRegion::Atl1 => "atl1",
        }
    }
}

/// Project Planton's `DigitalOceanVpcSpec`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DigitalOceanVpcSpec {
    /// A human-readable description of the VPC, at most 100 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 100))]
    pub description: Option<String>,
    /// The DigitalOcean region of the VPC, e.g. `nyc3`.
    pub region: DigitalOceanRegion,
    /// The private (RFC 1918) IPv4 range in CIDR notation, `/16` to `/28`; DigitalOcean picks a
    /// free `/20` when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_range_cidr: Option<String>,
    /// Whether this VPC is the region's default VPC.
    #[serde(default)]
    pub is_default_for_region: bool,
}
