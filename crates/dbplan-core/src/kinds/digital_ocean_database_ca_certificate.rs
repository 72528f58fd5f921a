//! `DigitalOceanDatabaseCaCertificate`: a cluster's CA certificate, written to a file. One
//! object.

use super::{de, output};
use crate::{OutputSpec, Part};
use serde::Deserialize;

pub const OUTPUTS: &[OutputSpec] = &[output("file"), output("certificate")];

/// No attribute holds a secret.
pub const SECRET_ATTRIBUTES: &[&str] = &[];

/// Every attribute is written again in place (the file is rewritten).
pub fn replaced_by(_: &Part) -> &'static [&'static str] {
    &[]
}

pub fn holds_data(_: &Part) -> bool {
    false
}

/// The attributes the object is planned with.
pub fn attribute_names(_: &Part) -> Option<&'static [&'static str]> {
    Some(de::attribute_names::<CaCertificate>())
}

/// The planned (or recorded) attributes of the certificate file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct CaCertificate {
    /// Known once the cluster is applied.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub cluster_id: Option<String>,
    /// The file, resolved against the manifest's directory.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub file: Option<String>,
}
