use super::{Check, Checker};
use crate::codes;
use crate::refs::{DigitalOceanClusterId, ValueOrRef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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

impl Check for DigitalOceanDatabaseCaCertificateSpec {
    fn check(&self, checker: &mut Checker<'_>) {
        if self.file.ends_with('/') || self.file.contains('\0') {
            checker.report(
                codes::BAD_FORMAT,
                "/spec/file",
                format!("{:?} is not a file name", self.file),
                "name a file, such as `secrets/app-db-ca.crt`",
            );
        }
    }
}
