use super::{Check, Checker, DigitalOceanRegion};
use crate::formats;
use crate::refs::{DigitalOceanVpcId, ValueOrRef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
pub struct MaintenanceWindow {
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
    pub maintenance_window: Option<MaintenanceWindow>,
    /// Tags applied to the cluster.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The DigitalOcean project the cluster belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project_id: Option<String>,
}

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
