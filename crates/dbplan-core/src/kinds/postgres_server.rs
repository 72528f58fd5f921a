//! `PostgresServer`: an existing PostgreSQL server that tenant databases are created in. One
//! object, which dbplan only records (create checks the connection, delete forgets it).

use super::{SecretText, de, output};
use crate::{OutputSpec, Part};
use serde::Deserialize;

pub const OUTPUTS: &[OutputSpec] = &[output("host"), output("port")];

/// The attributes that hold a secret: planned as its keyed fingerprint, read at apply.
pub const SECRET_ATTRIBUTES: &[&str] = &["admin_password"];

/// Every setting is only how dbplan connects: a change is recorded in place.
pub fn replaced_by(_: &Part) -> &'static [&'static str] {
    &[]
}

pub fn holds_data(_: &Part) -> bool {
    false
}

/// The attributes the object is planned with.
pub fn attribute_names(_: &Part) -> Option<&'static [&'static str]> {
    Some(de::attribute_names::<Server>())
}

/// The planned (or recorded) attributes of the server: how dbplan connects to it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Server {
    /// Known once the record is applied; an object without one cannot be connected to.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub host: Option<String>,
    /// 5432 when not given.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub port: Option<i64>,
    /// `postgres` when not given.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub database: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub admin_user: Option<String>,
    /// The administrator's password, read from the environment at apply (never recorded).
    #[serde(default)]
    pub admin_password: Option<SecretText>,
    /// The variable the password comes from, recorded so that later runs can connect.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub admin_password_env: Option<String>,
    /// `require` when not given.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub sslmode: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub sslrootcert: Option<String>,
}
