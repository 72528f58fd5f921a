//! `DigitalOceanDatabaseConnectionPool`: a PgBouncer pool of a cluster. One object.

use super::{de, output, secret};
use crate::refs::{DigitalOceanClusterId, ValueOrRef};
use crate::{OutputSpec, Part};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub const OUTPUTS: &[OutputSpec] = &[
    output("name"),
    output("host"),
    output("private_host"),
    output("port"),
    output("database_name"),
    output("username"),
    secret("password"),
    secret("uri"),
    secret("private_uri"),
];

/// No attribute holds a secret.
pub const SECRET_ATTRIBUTES: &[&str] = &[];

/// A pool's name is its key in the API (`PUT …/pools/{pool_name}` cannot rename it).
pub fn replaced_by(_: &Part) -> &'static [&'static str] {
    &["name", "cluster_id"]
}

pub fn holds_data(_: &Part) -> bool {
    false
}

/// The attributes the object is planned with.
pub fn attribute_names(_: &Part) -> Option<&'static [&'static str]> {
    Some(de::attribute_names::<Pool>())
}

/// The planned (or recorded) attributes of the pool.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Pool {
    /// Known once the cluster is applied.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub cluster_id: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub mode: Option<String>,
    #[serde(default, deserialize_with = "de::opt_int")]
    pub size: Option<i64>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub db: Option<String>,
    /// The cluster's default user when not given.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub user: Option<String>,
}

// The spec: the fields a manifest declares (their doc comments are the editor schema's help).
// Its semantic checks, which report with spans, live with the loader
// (`dbplan-manifest/src/checks/`).

/// PgBouncer pool mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum PoolMode {
    Transaction,
    Session,
    Statement,
}

/// A PgBouncer connection pool on a DigitalOcean PostgreSQL cluster.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DigitalOceanDatabaseConnectionPoolSpec {
    /// The PostgreSQL cluster the pool belongs to.
    pub cluster_id: ValueOrRef<DigitalOceanClusterId>,
    /// The pool's name, 3 to 60 characters.
    #[schemars(length(min = 3, max = 60))]
    pub name: String,
    /// The PgBouncer pool mode.
    pub mode: PoolMode,
    /// Backend connections of the pool; all pools of a cluster share 25 per GB of RAM, less 3.
    #[schemars(range(min = 1))]
    pub size: u32,
    /// The database the pool connects to.
    #[schemars(length(min = 1))]
    pub db: String,
    /// The user the pool connects as; the inbound user when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}
