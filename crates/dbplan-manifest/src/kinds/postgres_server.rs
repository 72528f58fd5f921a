use super::{Check, Checker};
use crate::codes;
use crate::refs::SecretEnv;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

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
}

fn default_port() -> u16 {
    5432
}

fn default_database() -> String {
    "postgres".to_owned()
}

impl Check for PostgresServerSpec {
    fn check(&self, checker: &mut Checker<'_>) {
        if self
            .host
            .chars()
            .any(|c| c.is_whitespace() || c == '/' || c == '@')
        {
            checker.report(
                codes::BAD_FORMAT,
                "/spec/host",
                format!("{:?} is not a host name or IP address", self.host),
                "write only the host, e.g. `db.internal.example.com`; the port goes in `port`",
            );
        }
        if let Some(password) = &self.admin_password {
            if is_env_name(&password.secret_env) {
                crate::secret_env::check(
                    checker,
                    "/spec/admin_password/secret_env",
                    &password.secret_env,
                );
            } else {
                checker.report(
                    codes::BAD_FORMAT,
                    "/spec/admin_password/secret_env",
                    format!("{:?} is not an environment variable name", password.secret_env),
                    "use letters, digits and underscores, not starting with a digit, e.g. `PG_ADMIN_PASSWORD`",
                );
            }
        }
    }
}

/// Whether a string is a portable environment variable name.
pub fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
