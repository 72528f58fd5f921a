//! `DigitalOceanDatabaseCaCertificate`: a cluster's CA certificate, written to a file. One
//! object.

use super::{de, output};
use crate::refs::{DigitalOceanClusterId, ValueOrRef};
use crate::{OutputSpec, Part};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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

// The spec: the fields a manifest declares (their doc comments are the editor schema's help).
// Its semantic checks, which report with spans, live with the loader
// (`dbplan-manifest/src/checks/`).

/// The CA certificate of a DigitalOcean database cluster, written to a file (mode 0600) for
/// clients that verify the server (`sslmode=verify-full` with `sslrootcert=FILE`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DigitalOceanDatabaseCaCertificateSpec {
    /// The cluster whose certificate authority is written.
    pub cluster_id: ValueOrRef<DigitalOceanClusterId>,
    /// Where the PEM file is written (mode 0600), relative to the manifest that declares it;
    /// inside the project unless `--allow-files-outside`, never in the state directory.
    #[schemars(length(min = 1))]
    pub file: String,
}
