//! `DigitalOceanDatabaseConnectionPool`: a PgBouncer pool of a cluster. One object.

use super::{de, output, secret};
use crate::{OutputSpec, Part};
use serde::Deserialize;

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
