use super::{Check, Checker};
use crate::formats;
use dbplan_core::kinds::digital_ocean_database_cluster::{
    DigitalOceanAdminConnection, DigitalOceanDatabaseClusterSpec, DigitalOceanEngine,
};
use dbplan_core::kinds::digital_ocean_database_cluster_reference::DigitalOceanDatabaseClusterReferenceSpec;

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
        if let Some(connection) = &self.admin_connection {
            if self.engine != DigitalOceanEngine::Pg {
                checker.report(
                    crate::codes::BAD_FORMAT,
                    "/spec/admin_connection",
                    format!(
                        "`admin_connection` is for the tenant databases of a PostgreSQL cluster; this cluster's engine is {}",
                        self.engine.slug()
                    ),
                    "remove `admin_connection`, or point the TenantDatabases at a `pg` cluster",
                );
            }
            check_connect_via(checker, connection);
        }
    }
}

impl Check for DigitalOceanDatabaseClusterReferenceSpec {
    fn check(&self, checker: &mut Checker<'_>) {
        if let Some(connection) = &self.admin_connection {
            check_connect_via(checker, connection);
        }
    }
}

fn check_connect_via(checker: &mut Checker<'_>, connection: &DigitalOceanAdminConnection) {
    super::postgres_server::check_connect_via(
        checker,
        "/spec/admin_connection/connect_via/host",
        connection.connect_via.as_ref(),
    );
}
