//! `CnpgCluster`: a component of a CloudNativePG `Cluster`, its scheduled backup, one `Database`
//! per listed database and a connection secret.

use super::{de, output, secret};
use crate::{OutputSpec, Part};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::BTreeMap;

pub const OUTPUTS: &[OutputSpec] = &[
    output("cluster_name"),
    output("namespace"),
    output("host"),
    output("read_only_host"),
    output("port"),
    output("database"),
    output("username"),
    secret("password"),
    secret("uri"),
    output("app_secret_name"),
];

/// No attribute holds a secret.
pub const SECRET_ATTRIBUTES: &[&str] = &[];

/// A cluster cannot move to another namespace or bootstrap again, and one in another
/// Kubernetes cluster (another kubeconfig `context`) is another cluster; a database is named
/// once.
pub fn replaced_by(part: &Part) -> &'static [&'static str] {
    match part {
        Part::Cluster => &["namespace", "context", "bootstrap"],
        Part::CnpgDatabase(_) => &["name"],
        _ => &[],
    }
}

/// The cluster and its databases hold the data.
pub fn holds_data(part: &Part) -> bool {
    matches!(part, Part::Cluster | Part::CnpgDatabase(_))
}

/// The attributes each part is planned with. (No provider applies this kind in this build:
/// the Kubernetes provider is planned, and will decode these.)
pub fn attribute_names(part: &Part) -> Option<&'static [&'static str]> {
    match part {
        Part::Cluster => Some(de::attribute_names::<Cluster>()),
        Part::ScheduledBackup => Some(de::attribute_names::<ScheduledBackup>()),
        Part::CnpgDatabase(_) => Some(de::attribute_names::<Database>()),
        Part::ConnectionSecret => Some(de::attribute_names::<ConnectionSecret>()),
        _ => None,
    }
}

/// The planned attributes of the `Cluster` part: the spec's fields but the databases and the
/// connection secret.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Cluster {
    /// `default` when not given.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub namespace: Option<String>,
    /// The kubeconfig context; the current context when not given.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub context: Option<String>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub instances: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub image_name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub postgres_version: Option<String>,
    #[serde(default)]
    pub storage: Option<Storage>,
    #[serde(default)]
    pub wal_storage: Option<Storage>,
    #[serde(default)]
    pub bootstrap: Option<Bootstrap>,
    #[serde(default)]
    pub postgresql: Option<Postgresql>,
    #[serde(default)]
    pub backup: Option<Backup>,
    #[serde(default)]
    pub enable_superuser_access: Option<bool>,
}

/// A volume: its size (a Kubernetes quantity) and storage class.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Storage {
    #[serde(default, deserialize_with = "de::opt_text")]
    pub size: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub storage_class: Option<String>,
}

/// `bootstrap`: the application database and its owner.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Bootstrap {
    #[serde(default, deserialize_with = "de::opt_text")]
    pub database: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub owner: Option<String>,
}

/// `postgresql`: the server's parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Postgresql {
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
}

/// `backup`: where and how the cluster is backed up, and when.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Backup {
    #[serde(default, deserialize_with = "de::opt_text")]
    pub method: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub destination_path: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub endpoint_url: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub retention_policy: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub schedule: Option<String>,
    #[serde(default)]
    pub immediate: Option<bool>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub credentials_secret: Option<String>,
}

/// The scheduled backup part: it takes its schedule from the cluster's `backup`, and is
/// planned with no attributes of its own.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ScheduledBackup {}

/// A `Database` part (`database-<name>`): one item of `databases`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Database {
    #[serde(default, deserialize_with = "de::opt_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub owner: Option<String>,
    #[serde(default, deserialize_with = "de::texts")]
    pub extensions: Vec<String>,
    /// `present` when not given, or `absent`.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub ensure: Option<String>,
    /// `Orphan` when not given (the database stays when its `Database` object goes), or
    /// `Delete`.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub deletion_policy: Option<String>,
}

/// The connection secret part.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ConnectionSecret {
    #[serde(default)]
    pub connection_secret: Option<SecretSpec>,
}

/// `connection_secret`: the Kubernetes secret's name and the keys it holds.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct SecretSpec {
    #[serde(default, deserialize_with = "de::opt_text")]
    pub name: Option<String>,
    #[serde(default)]
    pub keys: Vec<String>,
}

// The spec: the fields a manifest declares (their doc comments are the editor schema's help).
// Its semantic checks, which report with spans, live with the loader
// (`dbplan-manifest/src/checks/`).

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
    /// What happens to the PostgreSQL database when its `Database` object is deleted: `Orphan`
    /// (default: it stays, CNPG's `retain`) or `Delete` (CNPG drops it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deletion_policy: Option<super::tenant_database::DeletionPolicy>,
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
    /// kubeconfig context to reach the Kubernetes cluster through; the current context (or
    /// the in-cluster configuration) when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
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

impl CnpgClusterSpec {
    /// The part a top-level spec field configures: the databases and the connection secret are
    /// parts of their own, everything else is the `Cluster` resource's.
    pub fn part_of(&self, field: &str) -> Part {
        match field {
            "databases" | "connection_secret" => Part::Whole,
            _ => Part::Cluster,
        }
    }

    /// What a database part or the connection secret is planned with: the database's entry,
    /// the secret's spec.
    pub fn derived_attributes(&self, part: &Part) -> Json {
        let attributes = match part {
            Part::CnpgDatabase(name) => self
                .databases
                .iter()
                .find(|database| &database.name == name)
                .map(super::to_json),
            Part::ConnectionSecret => self
                .connection_secret
                .as_ref()
                .map(|secret| serde_json::json!({ "connection_secret": super::to_json(secret) })),
            _ => None,
        };
        attributes.unwrap_or_else(|| Json::Object(serde_json::Map::new()))
    }
}
