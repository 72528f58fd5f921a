use super::{Check, Checker};
use crate::refs::{DigitalOceanClusterId, ValueOrRef};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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

impl Check for DigitalOceanDatabaseConnectionPoolSpec {
    fn check(&self, _checker: &mut Checker<'_>) {}
}
