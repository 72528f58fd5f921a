//! `DigitalOceanDatabaseCluster`: a managed database cluster. One object, which holds data.

use super::{de, output, secret};
use crate::{OutputSpec, Part};
use serde::Deserialize;

pub const OUTPUTS: &[OutputSpec] = &[
    output("cluster_id"),
    secret("connection_uri"),
    secret("private_uri"),
    output("host"),
    output("private_host"),
    output("port"),
    output("database_name"),
    output("username"),
    secret("password"),
    output("database_user"),
    secret("database_password"),
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
