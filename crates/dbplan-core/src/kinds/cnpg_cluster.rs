//! `CnpgCluster`: a component of a CloudNativePG `Cluster`, its scheduled backup, one `Database`
//! per listed database and a connection secret.

use super::{de, output, secret};
use crate::{OutputSpec, Part};
use serde::Deserialize;
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

/// A cluster cannot move to another namespace or bootstrap again; a database is named once.
pub fn replaced_by(part: &Part) -> &'static [&'static str] {
    match part {
        Part::Cluster => &["namespace", "bootstrap"],
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
