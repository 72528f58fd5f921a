use super::{Check, Checker};
use crate::formats;
use dbplan_core::kinds::digital_ocean_database_cluster::DigitalOceanDatabaseClusterSpec;

impl Check for DigitalOceanDatabaseClusterSpec {
    fn check(&self, checker: &mut Checker<'_>) {
        checker.format(
            "/spec/engine_version",
            formats::check_do_engine_version(&self.engine_version),
        );
        if let Some(window) = &self.maintenance_window {
            checker.format(
                "/spec/maintenance_window/hour",
                formats::check_do_maintenance_hour(&window.hour),
            );
        }
    }
}
