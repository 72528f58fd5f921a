//! `TenantDatabase`: a component of a role, the database it owns and (when the manifest asks
//! for one) a connection secret file, on a `PostgresServer`.

use super::{SecretText, de, output, secret};
use crate::refs::ResourceRef;
use crate::{OutputSpec, Part};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

pub const OUTPUTS: &[OutputSpec] = &[
    output("username"),
    secret("password"),
    output("endpoint"),
    output("port"),
    output("database"),
    secret("uri"),
];

/// No attribute holds a secret.
pub const SECRET_ATTRIBUTES: &[&str] = &[];

/// A tenant database on another server, or under another name, is another database. A role is
/// renamed in place (`ALTER ROLE … RENAME TO`): the databases it owns keep their owner, so the
/// old role never has to be dropped while it still owns them.
pub fn replaced_by(part: &Part) -> &'static [&'static str] {
    match part {
        Part::Database => &["name", "server"],
        Part::Role => &["server"],
        _ => &[],
    }
}

/// The database holds the data, and the role owns it.
pub fn holds_data(part: &Part) -> bool {
    matches!(part, Part::Database | Part::Role)
}

/// The attributes each part is planned with.
pub fn attribute_names(part: &Part) -> Option<&'static [&'static str]> {
    match part {
        Part::Role => Some(de::attribute_names::<Role>()),
        Part::Database => Some(de::attribute_names::<Database>()),
        Part::ConnectionSecret => Some(de::attribute_names::<ConnectionSecret>()),
        _ => None,
    }
}

/// The planned (or recorded) attributes of the role part.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Role {
    /// The owner's name (`owner`, else `<database>_user`).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub name: Option<String>,
    /// The server's address (`PostgresServer/<name>`).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub server: Option<String>,
    /// -1 (no limit) when not given.
    #[serde(default, deserialize_with = "de::opt_int")]
    pub connection_limit: Option<i64>,
}

/// The planned (or recorded) attributes of the database part.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct Database {
    /// `database_name`, else `metadata.name`.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub owner: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub server: Option<String>,
    #[serde(default, deserialize_with = "de::texts")]
    pub extensions: Vec<String>,
    /// The owner's password (the role's output): a new one changes the URI output.
    #[serde(default)]
    pub owner_password: Option<SecretText>,
}

/// The planned (or recorded) attributes of the connection secret part: the file, and what it
/// holds (so that a renamed owner or database rewrites it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ConnectionSecret {
    #[serde(default)]
    pub connection_secret: Option<SecretFile>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub database: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub owner: Option<String>,
    /// The owner's password (the role's output): a new one rewrites the file.
    #[serde(default)]
    pub owner_password: Option<SecretText>,
}

/// `connection_secret`: where the secret is written, and how.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct SecretFile {
    /// Resolved against the manifest's directory.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub file: Option<String>,
    /// `env` when not given, or `json`.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub format: Option<String>,
}

// The spec: the fields a manifest declares (their doc comments are the editor schema's help).
// Its semantic checks, which report with spans, live with the loader
// (`dbplan-manifest/src/checks/`).

/// What happens to an object when its resource leaves the manifests or is destroyed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum DeletionPolicy {
    /// Remove it from state and leave it in place.
    #[default]
    Orphan,
    /// Drop it.
    Delete,
}

/// The policy a tenant's part records in its lifecycle (whose default differs: what the state
/// does when told nothing).
impl From<DeletionPolicy> for crate::DeletionPolicy {
    fn from(policy: DeletionPolicy) -> Self {
        match policy {
            DeletionPolicy::Orphan => crate::DeletionPolicy::Orphan,
            DeletionPolicy::Delete => crate::DeletionPolicy::Delete,
        }
    }
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
#[schemars(rename = "ConnectionSecret")]
pub struct TenantConnectionSecret {
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
    pub connection_secret: Option<TenantConnectionSecret>,
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
    /// What each part is planned with, all derived from the spec (a tenant's fields are spread
    /// over its parts): the role's name, server and connection limit; the database's name,
    /// owner, server and extensions; the connection secret's file, and the database and owner
    /// it holds (so that a renamed owner or database rewrites it). `name` is the resource's.
    pub fn derived_attributes(&self, name: &str, part: &Part) -> Json {
        let database = self.database_name(name);
        let owner = self.owner(name);
        let (kind, server_name) = self.server();
        let server = format!("{kind}/{server_name}");
        let mut attributes = serde_json::Map::new();
        match part {
            Part::Role => {
                attributes.insert("name".to_owned(), Json::from(owner));
                attributes.insert("server".to_owned(), Json::from(server));
                if let Some(limit) = self.connection_limit {
                    attributes.insert("connection_limit".to_owned(), Json::from(limit));
                }
            }
            Part::Database => {
                attributes.insert("name".to_owned(), Json::from(database));
                attributes.insert("owner".to_owned(), Json::from(owner));
                attributes.insert("server".to_owned(), Json::from(server));
                attributes.insert("extensions".to_owned(), Json::from(self.extensions.clone()));
            }
            Part::ConnectionSecret => {
                if let Some(secret) = &self.connection_secret {
                    attributes.insert("connection_secret".to_owned(), super::to_json(secret));
                }
                attributes.insert("database".to_owned(), Json::from(database));
                attributes.insert("owner".to_owned(), Json::from(owner));
            }
            _ => {}
        }
        Json::Object(attributes)
    }

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
