use super::{Check, Checker};
use crate::formats;
use crate::refs::{SecretValue, ValueOrRef};
use dbplan_core::kinds::aws_rds_cluster::{AdminConnection, AdminSslMode, AwsRdsClusterSpec};
use dbplan_core::kinds::aws_rds_cluster_reference::AwsRdsClusterReferenceSpec;

impl Check for AwsRdsClusterSpec {
    fn check(&self, checker: &mut Checker<'_>) {
        let (identifier, pointer) = match &checker.metadata.id {
            Some(id) => (id.clone(), "/metadata/id"),
            None => (checker.metadata.name.clone(), "/metadata/name"),
        };
        checker.format(
            pointer,
            formats::check_aurora_cluster_identifier(&identifier),
        );
        checker.format(
            "/spec/engine_version",
            formats::check_aurora_engine_version(&self.engine_version),
        );
        if let Some(SecretValue::Env { secret_env }) = &self.password {
            crate::secret_env::check(checker, "/spec/password/secret_env", secret_env);
        }
        if let Some(connection) = &self.admin_connection {
            check_admin_connection(checker, connection);
        }
        if let Some(window) = &self.preferred_backup_window {
            checker.format(
                "/spec/preferred_backup_window",
                formats::parse_backup_window(window),
            );
        }
        if let Some(window) = &self.preferred_maintenance_window {
            checker.format(
                "/spec/preferred_maintenance_window",
                formats::parse_maintenance_window(window),
            );
        }
        for (index, cidr) in self.allowed_cidr_blocks.iter().enumerate() {
            checker.format(
                &format!("/spec/allowed_cidr_blocks/{index}"),
                formats::parse_ipv4_cidr(cidr),
            );
        }
        if let Some(name) = &self.final_snapshot_identifier {
            checker.format(
                "/spec/final_snapshot_identifier",
                formats::check_final_snapshot_identifier(name),
            );
        }
        if let Some(name) = &self.db_cluster_parameter_group_name {
            checker.format(
                "/spec/db_cluster_parameter_group_name",
                formats::check_parameter_group_name(name),
            );
        }
        if let Some(ValueOrRef::Value(name)) = &self.db_subnet_group_name {
            checker.format(
                "/spec/db_subnet_group_name",
                formats::check_db_subnet_group_name(name),
            );
        }
        if let Some(name) = &self.database_name {
            checker.format(
                "/spec/database_name",
                formats::check_aurora_database_name(name, self.engine.as_str()),
            );
        }
        if checker.is_set("/spec/username") {
            checker.format(
                "/spec/username",
                formats::check_aurora_master_username(&self.username),
            );
        }
        if let Some(region) = &self.region {
            checker.format("/spec/region", formats::check_aws_region(region));
        }
    }
}

impl Check for AwsRdsClusterReferenceSpec {
    fn check(&self, checker: &mut Checker<'_>) {
        checker.format(
            "/spec/cluster_identifier",
            formats::check_aurora_cluster_identifier(&self.cluster_identifier),
        );
        if let Some(password) = &self.master_password {
            if super::postgres_server::is_env_name(&password.secret_env) {
                crate::secret_env::check(
                    checker,
                    "/spec/master_password/secret_env",
                    &password.secret_env,
                );
            } else {
                checker.report(
                    crate::codes::BAD_FORMAT,
                    "/spec/master_password/secret_env",
                    format!("{:?} is not an environment variable name", password.secret_env),
                    "use letters, digits and underscores, not starting with a digit, e.g. `PLATFORM_PG_PASSWORD`",
                );
            }
        }
        if let Some(connection) = &self.admin_connection {
            check_admin_connection(checker, connection);
        }
    }
}

/// `admin_connection`: a tunnel's host alone (no port, path or user in it); `verify-full`
/// verifies against the CA bundle given, else the system's CAs, which do not hold RDS's.
fn check_admin_connection(checker: &mut Checker<'_>, connection: &AdminConnection) {
    super::postgres_server::check_connect_via(
        checker,
        "/spec/admin_connection/connect_via/host",
        connection.connect_via.as_ref(),
    );
    if connection.sslmode == AdminSslMode::VerifyFull && connection.sslrootcert.is_none() {
        checker.report(
            crate::codes::BAD_FORMAT,
            "/spec/admin_connection/sslmode",
            "`verify-full` needs the CA bundle that signs RDS's certificates, which the system's CAs do not hold".to_owned(),
            "set `sslrootcert` to RDS's `global-bundle.pem` (linked from the RDS user guide's SSL/TLS page), or use `require`",
        );
    }
}
