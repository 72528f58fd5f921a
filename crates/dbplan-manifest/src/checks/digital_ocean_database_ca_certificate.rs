use super::{Check, Checker};
use crate::codes;
use dbplan_core::kinds::digital_ocean_database_ca_certificate::DigitalOceanDatabaseCaCertificateSpec;

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
