//! `PostgresServer`: an existing PostgreSQL server that tenant databases are created in. One
//! object, which dbplan only records (create checks the connection, delete forgets it).

use super::{SecretText, de, output};
use crate::refs::SecretEnv;
use crate::{OutputSpec, Part};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

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
    /// The local end of a tunnel dbplan connects through instead of `host:port`.
    #[serde(default)]
    pub connect_via: Option<ConnectVia>,
}

// The spec: the fields a manifest declares (their doc comments are the editor schema's help).
// Its semantic checks, which report with spans, live with the loader
// (`dbplan-manifest/src/checks/`).

/// How the connection to the server is secured (libpq's `sslmode`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SslMode {
    Disable,
    Prefer,
    /// Encrypt, without verifying the certificate.
    #[default]
    Require,
    /// Encrypt and verify the certificate and host name.
    VerifyFull,
}

/// An existing PostgreSQL server that tenant databases are created in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PostgresServerSpec {
    /// Host name or IP address.
    #[schemars(length(min = 1, max = 253))]
    pub host: String,
    /// Port; 5432 when omitted.
    #[serde(default = "default_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: u16,
    /// Database dbplan connects to for administration; `postgres` when omitted.
    #[serde(default = "default_database")]
    pub database: String,
    /// The administrative role dbplan connects as (needs CREATEDB and CREATEROLE).
    #[schemars(length(min = 1, max = 63))]
    pub admin_user: String,
    /// The administrator's password, only as `{secretEnv: NAME}` (not dbplan's own or a CI system's credentials, unless `DBPLAN_SECRET_ENV_ALLOW` names them); omit it where the server trusts the client.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_password: Option<SecretEnv>,
    /// `disable`, `prefer`, `require` (default) or `verify-full`.
    #[serde(default)]
    pub sslmode: SslMode,
    /// CA certificate file that verifies the server (for `verify-full`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sslrootcert: Option<String>,
    /// Connect through a tunnel's local end (`{host: 127.0.0.1, port: 15432}`) instead of `host:port`, for a server in a private network; TLS still verifies `host`, and tenants' connection secrets still point at `host:port`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connect_via: Option<ConnectVia>,
}

/// The local end of a tunnel to the server (SSH or SSM port forwarding, a bastion): dbplan opens
/// its TCP connection here instead of at `host:port`. TLS still verifies `host`, and tenants'
/// connection secrets still point at `host:port`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectVia {
    /// Host name or IP address of the tunnel's local end, e.g. `127.0.0.1`.
    #[schemars(length(min = 1, max = 253))]
    pub host: String,
    /// The tunnel's local port.
    #[schemars(range(min = 1, max = 65535))]
    pub port: u16,
}

fn default_port() -> u16 {
    5432
}

fn default_database() -> String {
    "postgres".to_owned()
}

impl PostgresServerSpec {
    /// The name of the administrator's password variable (not its value), recorded so that
    /// later runs (refresh, tenants) can connect.
    pub fn derived_attributes(&self) -> Json {
        let mut attributes = serde_json::Map::new();
        if let Some(password) = &self.admin_password {
            attributes.insert(
                "admin_password_env".to_owned(),
                Json::from(password.secret_env.clone()),
            );
        }
        Json::Object(attributes)
    }
}
