//! `DigitalOceanDatabaseCluster`: a managed database cluster. One object, which holds data.

use super::digital_ocean_vpc::DigitalOceanRegion;
use super::{de, output};
use crate::refs::{DigitalOceanVpcId, ValueOrRef};
use crate::{OutputSpec, Part};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

/// What dbplan records of a cluster. Not its admin credentials (Project Planton's
/// `connection_uri` and `database_password`): dbplan reads them from the API each time it
/// connects as the admin, and never stores them.
pub const OUTPUTS: &[OutputSpec] = &[
    output("cluster_id"),
    output("host"),
    output("private_host"),
    output("port"),
    output("database_name"),
    output("username"),
    output("database_user"),
    output("urn"),
];

/// No attribute holds a secret.
pub const SECRET_ATTRIBUTES: &[&str] = &[];

/// The DigitalOcean API has no call that changes a cluster's engine, name or VPC, and dbplan
/// does not migrate clusters between regions: a new region is a new cluster.
pub fn replaced_by(_: &Part) -> &'static [&'static str] {
    &["engine", "region", "cluster_name", "vpc"]
}

pub fn holds_data(_: &Part) -> bool {
    true
}

/// The attributes the object is planned with.
pub fn attribute_names(_: &Part) -> Option<&'static [&'static str]> {
    Some(de::attribute_names::<Cluster>())
}

/// The planned (or read) attributes of the cluster.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Cluster {
    #[serde(default, deserialize_with = "de::opt_text")]
    pub cluster_name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub engine: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub engine_version: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub region: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub size_slug: Option<String>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub node_count: Option<i64>,
    /// The VPC's id.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub vpc: Option<String>,
    /// 0 or none: the size's default storage.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub storage_gib: Option<i64>,
    #[serde(default)]
    pub maintenance_window: Option<MaintenanceWindow>,
    /// `None` when the manifest does not set tags (dbplan then leaves them alone).
    #[serde(default)]
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub project_id: Option<String>,
}

/// `maintenance_window`: a weekday and an hour (`HH:MM`, or `HH:MM:SS` as the API answers).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct MaintenanceWindow {
    #[serde(default)]
    pub day: Option<String>,
    #[serde(default)]
    pub hour: Option<String>,
}

// The spec: the fields a manifest declares (their doc comments are the editor schema's help).
// Its semantic checks, which report with spans, live with the loader
// (`dbplan-manifest/src/checks/`).

/// A DigitalOcean managed database engine (the API's slugs; `postgres` is accepted for `pg`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DigitalOceanEngine {
    /// PostgreSQL (`pg`; `postgres` is accepted as an alias).
    #[serde(rename = "pg", alias = "postgres")]
    Pg,
    #[serde(rename = "mysql")]
    Mysql,
    /// Caching (Redis); DigitalOcean now offers Valkey instead.
    #[serde(rename = "redis")]
    Redis,
    #[serde(rename = "valkey")]
    Valkey,
    #[serde(rename = "mongodb")]
    Mongodb,
    #[serde(rename = "kafka")]
    Kafka,
    #[serde(rename = "opensearch")]
    Opensearch,
}

// Written by hand because the derived schema would not list the `postgres` alias.
impl JsonSchema for DigitalOceanEngine {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "DigitalOceanEngine".into()
    }

    fn json_schema(_generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "The database engine: pg (alias postgres), mysql, redis, valkey, mongodb, kafka or opensearch.",
            "type": "string",
            "enum": ["pg", "postgres", "mysql", "redis", "valkey", "mongodb", "kafka", "opensearch"]
        })
    }
}

impl DigitalOceanEngine {
    /// The engine's slug in the DigitalOcean API.
    pub fn slug(self) -> &'static str {
        match self {
            DigitalOceanEngine::Pg => "pg",
            DigitalOceanEngine::Mysql => "mysql",
            DigitalOceanEngine::Redis => "redis",
            DigitalOceanEngine::Valkey => "valkey",
            DigitalOceanEngine::Mongodb => "mongodb",
            DigitalOceanEngine::Kafka => "kafka",
            DigitalOceanEngine::Opensearch => "opensearch",
        }
    }
}

/// A day of the week, as DigitalOcean's maintenance window names it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Weekday {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

/// The weekly maintenance window of a DigitalOcean cluster: an hour-long block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "MaintenanceWindow")]
pub struct MaintenanceWindowSpec {
    /// Day of the week, e.g. `tuesday`.
    pub day: Weekday,
    /// Start hour in UTC, 24-hour `HH:MM`, e.g. `14:00`.
    pub hour: String,
}

/// Project Planton's `DigitalOceanDatabaseClusterSpec`, with the engines, maintenance window and
/// tags DigitalOcean offers.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DigitalOceanDatabaseClusterSpec {
    /// The cluster's name in DigitalOcean, at most 64 characters.
    #[schemars(length(min = 1, max = 64))]
    pub cluster_name: String,
    /// The database engine.
    pub engine: DigitalOceanEngine,
    /// Major (or major.minor) engine version as a string, e.g. "16".
    pub engine_version: String,
    /// The DigitalOcean region, e.g. `nyc3`.
    pub region: DigitalOceanRegion,
    /// The node size slug, e.g. `db-s-2vcpu-4gb`.
    #[schemars(length(min = 1))]
    pub size_slug: String,
    /// Number of nodes (primary plus standbys; Kafka and OpenSearch have more).
    #[schemars(range(min = 1, max = 15))]
    pub node_count: u32,
    /// The VPC the cluster is placed in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vpc: Option<ValueOrRef<DigitalOceanVpcId>>,
    /// Custom storage size in GiB; the size slug's default when omitted or 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub storage_gib: Option<u32>,
    /// Accepted for Project Planton compatibility, but not a DigitalOcean setting: the API has
    /// no such field, so dbplan neither sends nor plans it. Every cluster has a public
    /// hostname; trusted sources (`DigitalOceanDatabaseFirewall`) restrict who connects, and
    /// `private_host` serves the VPC.
    #[serde(default)]
    pub enable_public_connectivity: bool,
    /// The weekly maintenance window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance_window: Option<MaintenanceWindowSpec>,
    /// Tags applied to the cluster.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The DigitalOcean project the cluster belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
    /// How dbplan connects to a PostgreSQL cluster as its admin user to manage the TenantDatabases on it (dbplan extension): TLS, a tunnel. Not a DigitalOcean setting: changing it changes no cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_connection: Option<DigitalOceanAdminConnection>,
}

/// How dbplan connects to a DigitalOcean PostgreSQL cluster as its admin user (`doadmin`, its
/// login read from the API when needed), to manage the tenant databases on it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DigitalOceanAdminConnection {
    /// `verify-full` (default: the certificate and the cluster's host name verified against the cluster's CA, read from the API) or `require` (encrypted, not verified).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sslmode: Option<super::aws_rds_cluster::AdminSslMode>,
    /// A CA file to verify the cluster's certificate with instead of the CA the API gives.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sslrootcert: Option<String>,
    /// Connect through a tunnel's local end (`{host: 127.0.0.1, port: 15432}`) instead of the cluster's host, for a cluster reached only from its VPC; TLS still verifies the cluster's host name, and tenants' connection secrets still point at the cluster.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_via: Option<super::postgres_server::ConnectVia>,
    /// Database dbplan connects to for administration; the cluster's `defaultdb` when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
}

impl DigitalOceanDatabaseClusterSpec {
    /// What the role and database of a tenant on this cluster are planned with (attribute
    /// `admin`): its `admin_connection`, `verify-full` by default. The admin's login is read
    /// from the API when a connection is made, never planned.
    pub fn tenant_admin(&self) -> Json {
        tenant_admin(self.admin_connection.as_ref())
    }
}

/// The `admin` attribute of the tenants on a DigitalOcean cluster reached as `connection` says
/// (a managed cluster's or a reference's `admin_connection`).
pub fn tenant_admin(connection: Option<&DigitalOceanAdminConnection>) -> Json {
    let connection = connection.cloned().unwrap_or_default();
    let mut admin = serde_json::Map::new();
    let sslmode = connection
        .sslmode
        .unwrap_or(super::aws_rds_cluster::AdminSslMode::VerifyFull);
    admin.insert("sslmode".to_owned(), Json::from(sslmode.as_str()));
    if let Some(root) = connection.sslrootcert {
        admin.insert("sslrootcert".to_owned(), Json::from(root));
    }
    if let Some(via) = &connection.connect_via {
        admin.insert("connect_via".to_owned(), super::to_json(via));
    }
    if let Some(database) = connection.database {
        admin.insert("database".to_owned(), Json::from(database));
    }
    Json::Object(admin)
}
