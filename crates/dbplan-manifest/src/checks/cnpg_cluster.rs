use super::{Check, Checker};
use crate::codes;
use crate::formats;
use dbplan_core::kinds::cnpg_cluster::{BackupMethod, CnpgClusterSpec};

impl Check for CnpgClusterSpec {
    fn check(&self, checker: &mut Checker<'_>) {
        let name = checker.metadata.name.clone();
        checker.format("/metadata/name", formats::check_kubernetes_name(&name));
        checker.format(
            "/spec/namespace",
            formats::check_kubernetes_name(&self.namespace),
        );
        checker.format(
            "/spec/storage/size",
            formats::check_kubernetes_quantity(&self.storage.size),
        );
        if let Some(wal) = &self.wal_storage {
            checker.format(
                "/spec/wal_storage/size",
                formats::check_kubernetes_quantity(&wal.size),
            );
        }
        if self.image_name.is_some() && self.postgres_version.is_some() {
            checker.report(
                codes::CONFLICTING_FIELDS,
                "/spec/postgres_version",
                "`image_name` and `postgres_version` both choose the PostgreSQL image",
                "keep one: `image_name` for an exact image, or `postgres_version` for the major version",
            );
        }
        if let Some(version) = &self.postgres_version
            && (version.is_empty() || !version.chars().all(|c| c.is_ascii_digit()))
        {
            checker.report(
                codes::BAD_FORMAT,
                "/spec/postgres_version",
                format!("{version:?} is not a PostgreSQL major version"),
                "write the major version as a string, e.g. \"17\"",
            );
        }
        if let Some(backup) = &self.backup {
            if let Some(retention) = &backup.retention_policy {
                checker.format(
                    "/spec/backup/retention_policy",
                    formats::check_cnpg_retention_policy(retention),
                );
            }
            if let Some(schedule) = &backup.schedule {
                checker.format(
                    "/spec/backup/schedule",
                    formats::parse_cnpg_schedule(schedule),
                );
            }
            if backup.method != BackupMethod::VolumeSnapshot && backup.destination_path.is_none() {
                checker.report(
                    codes::MISSING_FIELD,
                    "/spec/backup",
                    "object store backups need `destination_path`",
                    "add `destination_path: s3://bucket/path`",
                );
            }
        }
        for (index, database) in self.databases.iter().enumerate() {
            checker.format(
                &format!("/spec/databases/{index}/name"),
                formats::check_postgres_identifier(&database.name, "database name"),
            );
            checker.format(
                &format!("/spec/databases/{index}/owner"),
                formats::check_postgres_identifier(&database.owner, "role name"),
            );
        }
    }
}
