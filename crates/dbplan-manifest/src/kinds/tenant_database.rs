use super::{Check, Checker};
use crate::codes;
use crate::formats;
use crate::refs::ResourceRef;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What happens to an object when its resource leaves the manifests or is destroyed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum DeletionPolicy {
    /// Remove it from state and leave it in place.
    #[default]
    Orphan,
    /// Drop it.
    Delete,
}

/// Format of a connection secret file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SecretFormat {
    /// `KEY=value` lines.
    #[default]
    Env,
    /// A JSON object.
    Json,
}

/// Where the connection secret of a tenant database is written.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionSecret {
    /// File the secret is written to (mode 0600), relative to the manifest that declares it; inside the project unless `--allow-files-outside`, never in the state directory.
    #[schemars(length(min = 1))]
    pub file: String,
    /// `env` (default) or `json`.
    #[serde(default)]
    pub format: SecretFormat,
}

/// A database, its owner role and a connection secret on a PostgreSQL server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantDatabaseSpec {
    /// The server: a PostgresServer name, or `{kind, name}` (also `{valueFrom: {kind, name}}` or
    /// `{ref: {kind, name}}`) of a PostgresServer, AwsRdsCluster, DigitalOceanDatabaseCluster or
    /// CnpgCluster.
    pub server: ResourceRef,
    /// Database name; `metadata.name` when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub database_name: Option<String>,
    /// Owner role; `<database_name>_user` when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Extensions created in the database, e.g. `pgcrypto`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extensions: Vec<String>,
    /// Refuse to drop the database (default true).
    #[serde(default = "default_true")]
    pub deletion_protection: bool,
    /// What happens to the role on removal: `Orphan` (default) or `Delete`.
    #[serde(default)]
    pub role_deletion_policy: DeletionPolicy,
    /// What happens to the database on removal: `Orphan` (default) or `Delete`.
    #[serde(default)]
    pub db_deletion_policy: DeletionPolicy,
    /// Where to write the connection secret.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connection_secret: Option<ConnectionSecret>,
    /// Maximum concurrent connections of the role; unlimited when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = -1))]
    pub connection_limit: Option<i32>,
}

fn default_true() -> bool {
    true
}

/// Kinds a tenant database may live on.
pub const TENANT_SERVER_KINDS: &[&str] = &[
    "PostgresServer",
    "AwsRdsCluster",
    "DigitalOceanDatabaseCluster",
    "CnpgCluster",
];

impl TenantDatabaseSpec {
    /// The database name: `database_name`, else the resource name.
    pub fn database_name<'a>(&'a self, resource_name: &'a str) -> &'a str {
        self.database_name.as_deref().unwrap_or(resource_name)
    }

    /// The owner role: `owner`, else `<database_name>_user`.
    pub fn owner(&self, resource_name: &str) -> String {
        self.owner
            .clone()
            .unwrap_or_else(|| format!("{}_user", self.database_name(resource_name)))
    }

    /// The server's kind and name.
    pub fn server(&self) -> (&str, &str) {
        match &self.server {
            ResourceRef::Name(name) => ("PostgresServer", name),
            ResourceRef::Full { kind, name, .. } => {
                (kind.as_deref().unwrap_or("PostgresServer"), name)
            }
        }
    }
}

impl Check for TenantDatabaseSpec {
    fn check(&self, checker: &mut Checker<'_>) {
        let name = checker.metadata.name.clone();
        let database = self.database_name(&name).to_owned();
        let pointer = if self.database_name.is_some() {
            "/spec/database_name"
        } else {
            "/metadata/name"
        };
        checker.format(
            pointer,
            formats::check_postgres_identifier(&database, "database name"),
        );
        let owner = self.owner(&name);
        let pointer = if self.owner.is_some() {
            "/spec/owner"
        } else {
            pointer
        };
        checker.format(
            pointer,
            formats::check_postgres_identifier(&owner, "role name"),
        );
        for (index, extension) in self.extensions.iter().enumerate() {
            let valid = !extension.is_empty()
                && extension.len() <= 63
                && extension
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
            if !valid {
                checker.report(
                    codes::BAD_FORMAT,
                    &format!("/spec/extensions/{index}"),
                    format!("{extension:?} is not an extension name"),
                    "write the name as `CREATE EXTENSION` takes it, e.g. `pgcrypto` or `uuid-ossp`",
                );
            }
        }
        let (kind, _) = self.server();
        if !TENANT_SERVER_KINDS.contains(&kind) {
            checker.report(
                codes::BAD_ENUM,
                "/spec/server/kind",
                format!("a tenant database cannot live on a {kind}"),
                format!("use one of: {}", TENANT_SERVER_KINDS.join(", ")),
            );
        }
    }
}
