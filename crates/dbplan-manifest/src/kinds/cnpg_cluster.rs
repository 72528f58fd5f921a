use super::{Check, Checker};
use crate::codes;
use crate::formats;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A persistent volume of a CNPG cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CnpgStorage {
    /// Volume size as a Kubernetes quantity, e.g. `10Gi`; it can grow but never shrink.
    pub size: String,
    /// Storage class; the cluster's default class when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_class: Option<String>,
}

/// The application database created at bootstrap (`bootstrap.initdb`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CnpgBootstrap {
    /// Database name; `app` when omitted.
    #[serde(default = "default_app")]
    pub database: String,
    /// Owner role; the database name when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
}

fn default_app() -> String {
    "app".to_owned()
}

/// PostgreSQL configuration.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CnpgPostgresql {
    /// `postgresql.conf` parameters; CNPG takes every value as a string, so quote numbers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub parameters: BTreeMap<String, String>,
}

/// Whether a declared database should exist.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Ensure {
    #[default]
    Present,
    Absent,
}

/// A database managed through CNPG's `Database` resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CnpgDatabase {
    /// Database name.
    pub name: String,
    /// Owner role.
    pub owner: String,
    /// Extensions created in the database.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<String>,
    /// `present` (default) or `absent`.
    #[serde(default)]
    pub ensure: Ensure,
}

/// How backups are taken.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum BackupMethod {
    /// The Barman Cloud plugin with an `ObjectStore` (CNPG's way forward since 1.26).
    #[default]
    Plugin,
    /// The in-tree `barmanObjectStore` (deprecated since CNPG 1.26).
    BarmanObjectStore,
    /// Volume snapshots.
    VolumeSnapshot,
}

/// Backups to an S3-compatible object store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CnpgBackup {
    /// `plugin` (default), `barman-object-store` or `volume-snapshot`.
    #[serde(default)]
    pub method: BackupMethod,
    /// Object store path, e.g. `s3://backups/home-pg`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_path: Option<String>,
    /// Endpoint of an S3-compatible store (e.g. MinIO).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    /// How long backups are kept: a number and `d`, `w` or `m`, e.g. `7d`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention_policy: Option<String>,
    /// Schedule of the ScheduledBackup: a 6-field cron with seconds first, e.g. `0 0 3 * * *`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    /// Take a backup as soon as the ScheduledBackup is created.
    #[serde(default)]
    pub immediate: bool,
    /// Secret with the object store credentials (`ACCESS_KEY_ID`, `ACCESS_SECRET_KEY`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_secret: Option<String>,
}

/// A key of the connection secret dbplan renders.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema,
)]
pub enum ConnectionSecretKey {
    #[serde(rename = "DATABASE_URL")]
    DatabaseUrl,
    #[serde(rename = "DB_HOST")]
    DbHost,
    #[serde(rename = "DB_PORT")]
    DbPort,
    #[serde(rename = "DB_NAME")]
    DbName,
    #[serde(rename = "DB_USER")]
    DbUser,
    #[serde(rename = "DB_PASSWORD")]
    DbPassword,
    #[serde(rename = "username")]
    Username,
    #[serde(rename = "password")]
    Password,
    #[serde(rename = "host")]
    Host,
    #[serde(rename = "port")]
    Port,
    #[serde(rename = "dbname")]
    Dbname,
    #[serde(rename = "uri")]
    Uri,
}

/// The Kubernetes Secret with the keys applications read (CNPG's own `<cluster>-app` secret has
/// no `DATABASE_URL`/`DB_*` keys).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CnpgConnectionSecret {
    /// Secret name; `<cluster>-connection` when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Keys to write; all `DATABASE_URL` and `DB_*` keys when omitted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<ConnectionSecretKey>,
}

/// A CloudNativePG cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CnpgClusterSpec {
    /// Kubernetes namespace; `default` when omitted.
    #[serde(default = "default_namespace")]
    pub namespace: String,
    /// Number of instances: one primary and the rest standbys.
    #[schemars(range(min = 1))]
    pub instances: u32,
    /// Operand image, e.g. `ghcr.io/cloudnative-pg/postgresql:17.5`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_name: Option<String>,
    /// PostgreSQL major version (used when `image_name` is omitted), e.g. "17".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgres_version: Option<String>,
    /// Data volume.
    pub storage: CnpgStorage,
    /// Separate WAL volume.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wal_storage: Option<CnpgStorage>,
    /// Application database created at bootstrap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bootstrap: Option<CnpgBootstrap>,
    /// PostgreSQL configuration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub postgresql: Option<CnpgPostgresql>,
    /// Further databases, each a CNPG `Database`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub databases: Vec<CnpgDatabase>,
    /// Backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backup: Option<CnpgBackup>,
    /// Connection secret for applications.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_secret: Option<CnpgConnectionSecret>,
    /// Create the `<cluster>-superuser` secret and allow superuser logins.
    #[serde(default)]
    pub enable_superuser_access: bool,
}

fn default_namespace() -> String {
    "default".to_owned()
}

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
