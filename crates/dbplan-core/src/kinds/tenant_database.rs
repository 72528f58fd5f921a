//! `TenantDatabase`: a component of a role, the database it owns and (when the manifest asks
//! for one) a connection secret, a file or a Kubernetes Secret, on a `PostgresServer`.

use super::{SecretText, de, output, secret};
use crate::refs::ResourceRef;
use crate::{OutputSpec, Part};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::fmt;

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
/// old role never has to be dropped while it still owns them. A Kubernetes Secret in another
/// cluster, namespace or name is another Secret (its keys and style are rewritten in place).
pub fn replaced_by(part: &Part) -> &'static [&'static str] {
    match part {
        Part::Database => &["name", "server"],
        Part::Role => &["server"],
        Part::ConnectionSecret => &["kubernetes_secret"],
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
    /// How the server is reached, when it is an Aurora or DigitalOcean cluster.
    #[serde(default)]
    pub admin: Option<TenantAdmin>,
}

/// How the provider reaches a tenant's Aurora cluster as its administrator, planned from the
/// cluster's `admin_connection` ([`super::aws_rds_cluster::AwsRdsClusterSpec::tenant_admin`])
/// and recorded with the tenant's role and database, so that refresh and destroy reach it the
/// same way. The endpoint, port, master user and managed secret are the cluster's own record.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct TenantAdmin {
    /// `require` when not given, or `verify-full`.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub sslmode: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub sslrootcert: Option<String>,
    #[serde(default)]
    pub connect_via: Option<super::postgres_server::ConnectVia>,
    /// `postgres` when not given.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub database: Option<String>,
    /// Log in as this user with an IAM authentication token.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub iam_user: Option<String>,
    /// The variable that holds the master password (a cluster without a managed password).
    #[serde(default, deserialize_with = "de::opt_text")]
    pub password_env: Option<String>,
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
    /// How the server is reached, when it is an Aurora or DigitalOcean cluster.
    #[serde(default)]
    pub admin: Option<TenantAdmin>,
}

/// The planned (or recorded) attributes of the connection secret part: the file or the
/// Kubernetes Secret, and what it holds (so that a renamed owner or database rewrites it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct ConnectionSecret {
    /// A file target: `{file, format}`.
    #[serde(default)]
    pub connection_secret: Option<SecretFile>,
    /// A Kubernetes target: where the Secret is (a change is another Secret).
    #[serde(default)]
    pub kubernetes_secret: Option<KubernetesSecretAddress>,
    /// A Kubernetes target: each data key of the Secret and the standard key whose value it
    /// holds (planned); as read, a key whose value changed since dbplan wrote it holds
    /// [`CHANGED_OUTSIDE`], and a key that is gone is missing. Never a value.
    #[serde(default)]
    pub data: BTreeMap<String, String>,
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

/// What a read reports, in `data`, for a key whose value is no longer what dbplan wrote.
pub const CHANGED_OUTSIDE: &str = "(changed outside dbplan)";

/// `kubernetes_secret`: the Secret's cluster, namespace and name.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
pub struct KubernetesSecretAddress {
    /// The kubeconfig context; the current context when not given.
    #[serde(default, deserialize_with = "de::opt_text")]
    pub context: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub namespace: Option<String>,
    #[serde(default, deserialize_with = "de::opt_text")]
    pub name: Option<String>,
}

impl ConnectionSecret {
    /// Where the planned (or recorded) secret goes.
    pub fn target(&self) -> PlannedTarget<'_> {
        if let Some(KubernetesSecretAddress {
            context,
            namespace: Some(namespace),
            name: Some(name),
        }) = &self.kubernetes_secret
        {
            return PlannedTarget::Kubernetes {
                context: context.as_deref(),
                namespace,
                name,
            };
        }
        match &self.connection_secret {
            Some(SecretFile {
                file: Some(file),
                format,
            }) => PlannedTarget::File {
                file,
                format: format.as_deref().unwrap_or("env"),
            },
            _ => PlannedTarget::None,
        }
    }
}

/// Where a planned (or recorded) connection secret goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlannedTarget<'a> {
    /// No secret (a part recorded without one).
    None,
    File {
        file: &'a str,
        format: &'a str,
    },
    Kubernetes {
        context: Option<&'a str>,
        namespace: &'a str,
        name: &'a str,
    },
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

/// Where the connection secret of a tenant database is written: a file or a Kubernetes Secret (exactly one of `file` and `kubernetes`, which the manifest checks hold to).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ConnectionSecret")]
pub struct TenantConnectionSecret {
    /// File the secret is written to (mode 0600), relative to the manifest that declares it; inside the project unless `--allow-files-outside`, never in the state directory. Give `file` or `kubernetes`, not both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1))]
    pub file: Option<String>,
    /// For a `file`: `env` (default) or `json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<SecretFormat>,
    /// A Kubernetes Secret (type Opaque) the secret is written to, server-side applied by dbplan. Give `file` or `kubernetes`, not both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<KubernetesSecretSpec>,
}

/// Where a declared connection secret goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretTarget<'a> {
    File { file: &'a str, format: SecretFormat },
    Kubernetes(&'a KubernetesSecretSpec),
}

/// Why a declared connection secret has no target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretTargetError {
    /// Both `file` and `kubernetes` are given.
    Both,
    /// Neither is.
    Neither,
}

impl TenantConnectionSecret {
    /// The target: the file or the Kubernetes Secret.
    pub fn target(&self) -> Result<SecretTarget<'_>, SecretTargetError> {
        match (&self.file, &self.kubernetes) {
            (Some(file), None) => Ok(SecretTarget::File {
                file,
                format: self.format.unwrap_or_default(),
            }),
            (None, Some(kubernetes)) => Ok(SecretTarget::Kubernetes(kubernetes)),
            (Some(_), Some(_)) => Err(SecretTargetError::Both),
            (None, None) => Err(SecretTargetError::Neither),
        }
    }

    /// The file, for a file target.
    pub fn file(&self) -> Option<&str> {
        match self.target() {
            Ok(SecretTarget::File { file, .. }) => Some(file),
            _ => None,
        }
    }
}

/// The key set of a Kubernetes connection secret.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum SecretStyle {
    /// `DATABASE_URL`, `DB_HOST`, `DB_PORT`, `DB_NAME`, `DB_USER`, `DB_PASSWORD`; the Secret is `<database>-postgres-credentials` unless named.
    #[default]
    DatabaseUrl,
    /// Crossplane's connection secret keys: `username`, `password`, `endpoint`, `port`; the Secret is `<database>-secret` unless named.
    Crossplane,
}

impl SecretStyle {
    /// The standard keys the style writes.
    pub fn keys(self) -> &'static [StandardSecretKey] {
        use StandardSecretKey as K;
        match self {
            SecretStyle::DatabaseUrl => &[
                K::DatabaseUrl,
                K::DbHost,
                K::DbPort,
                K::DbName,
                K::DbUser,
                K::DbPassword,
            ],
            SecretStyle::Crossplane => &[K::Username, K::Password, K::Endpoint, K::Port],
        }
    }

    /// As the manifest writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            SecretStyle::DatabaseUrl => "database-url",
            SecretStyle::Crossplane => "crossplane",
        }
    }

    /// The Secret's name when the manifest gives none.
    pub fn default_name(self, database: &str) -> String {
        match self {
            SecretStyle::DatabaseUrl => format!("{database}-postgres-credentials"),
            SecretStyle::Crossplane => format!("{database}-secret"),
        }
    }
}

/// A key dbplan knows how to fill in a connection secret, and the tenant database output its
/// value comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StandardSecretKey {
    DatabaseUrl,
    DbHost,
    DbPort,
    DbName,
    DbUser,
    DbPassword,
    Username,
    Password,
    Endpoint,
    Port,
}

impl StandardSecretKey {
    pub const ALL: [StandardSecretKey; 10] = [
        StandardSecretKey::DatabaseUrl,
        StandardSecretKey::DbHost,
        StandardSecretKey::DbPort,
        StandardSecretKey::DbName,
        StandardSecretKey::DbUser,
        StandardSecretKey::DbPassword,
        StandardSecretKey::Username,
        StandardSecretKey::Password,
        StandardSecretKey::Endpoint,
        StandardSecretKey::Port,
    ];

    /// The key's name (`DATABASE_URL`, `username`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            StandardSecretKey::DatabaseUrl => "DATABASE_URL",
            StandardSecretKey::DbHost => "DB_HOST",
            StandardSecretKey::DbPort => "DB_PORT",
            StandardSecretKey::DbName => "DB_NAME",
            StandardSecretKey::DbUser => "DB_USER",
            StandardSecretKey::DbPassword => "DB_PASSWORD",
            StandardSecretKey::Username => "username",
            StandardSecretKey::Password => "password",
            StandardSecretKey::Endpoint => "endpoint",
            StandardSecretKey::Port => "port",
        }
    }

    /// The key of that name.
    pub fn parse(name: &str) -> Option<StandardSecretKey> {
        Self::ALL.into_iter().find(|key| key.as_str() == name)
    }

    /// The output of the tenant's database the value is: the URI (user and password
    /// percent-encoded), the server's host, and so on.
    pub fn output(self) -> &'static str {
        match self {
            StandardSecretKey::DatabaseUrl => "uri",
            StandardSecretKey::DbHost | StandardSecretKey::Endpoint => "endpoint",
            StandardSecretKey::DbPort | StandardSecretKey::Port => "port",
            StandardSecretKey::DbName => "database",
            StandardSecretKey::DbUser | StandardSecretKey::Username => "username",
            StandardSecretKey::DbPassword | StandardSecretKey::Password => "password",
        }
    }
}

impl fmt::Display for StandardSecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key of a Secret's `data`: 1 to 253 of `-`, `.`, `_`, letters and digits, neither `.` nor
/// `..` nor starting with `..` (Kubernetes' rule for Secret and ConfigMap keys).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretDataKey(String);

impl SecretDataKey {
    /// The key, when it is one Kubernetes accepts; else why not.
    pub fn new(text: &str) -> Result<SecretDataKey, String> {
        if text.is_empty() || text.len() > 253 {
            return Err(format!(
                "a Secret data key has 1 to 253 characters; {text:?} has {}",
                text.len()
            ));
        }
        if let Some(bad) = text
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_')))
        {
            return Err(format!(
                "{text:?} is not a Secret data key: {bad:?} is not allowed (only letters, digits, `-`, `.` and `_`)"
            ));
        }
        if text == "." || text.starts_with("..") {
            return Err(format!(
                "{text:?} is not a Secret data key: it may not be `.`, `..` or start with `..`"
            ));
        }
        Ok(SecretDataKey(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SecretDataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A Kubernetes Secret a tenant's connection secret is written to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "KubernetesConnectionSecret")]
pub struct KubernetesSecretSpec {
    /// The Secret's namespace (a DNS label), e.g. `apps`.
    #[schemars(length(min = 1))]
    pub namespace: String,
    /// The Secret's name; `<database>-postgres-credentials` (style `database-url`) or `<database>-secret` (style `crossplane`) when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The kubeconfig context of the cluster; the current context when omitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    /// The keys written: `database-url` (default) or `crossplane`.
    #[serde(default)]
    pub style: SecretStyle,
    /// Key names the application wants instead of the style's, e.g. `{DB_PASSWORD: PGPASSWORD}`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub keys: BTreeMap<String, String>,
}

impl KubernetesSecretSpec {
    /// The Secret's name: `name`, else the style's default for the database.
    pub fn secret_name(&self, database: &str) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| self.style.default_name(database))
    }

    /// Each data key of the Secret with the standard key whose value it holds: the style's
    /// keys, renamed by `keys` (the manifest checks refuse a rename they cannot take).
    pub fn data(&self) -> BTreeMap<String, StandardSecretKey> {
        self.style
            .keys()
            .iter()
            .map(|key| {
                let name = self
                    .keys
                    .get(key.as_str())
                    .cloned()
                    .unwrap_or_else(|| key.as_str().to_owned());
                (name, *key)
            })
            .collect()
    }
}

/// A database, its owner role and a connection secret on a PostgreSQL server.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantDatabaseSpec {
    /// The server: a PostgresServer name, or `{kind, name}` (also `{valueFrom: {kind, name}}` or
    /// `{ref: {kind, name}}`) of a PostgresServer, AwsRdsCluster, AwsRdsClusterReference,
    /// DigitalOceanDatabaseCluster, DigitalOceanDatabaseClusterReference or CnpgCluster.
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
    "AwsRdsClusterReference",
    "DigitalOceanDatabaseCluster",
    "DigitalOceanDatabaseClusterReference",
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
                match self
                    .connection_secret
                    .as_ref()
                    .map(TenantConnectionSecret::target)
                {
                    Some(Ok(SecretTarget::File { file, format })) => {
                        attributes.insert(
                            "connection_secret".to_owned(),
                            serde_json::json!({ "file": file, "format": format }),
                        );
                    }
                    Some(Ok(SecretTarget::Kubernetes(kubernetes))) => {
                        let mut address = serde_json::Map::new();
                        if let Some(context) = &kubernetes.context {
                            address.insert("context".to_owned(), Json::from(context.as_str()));
                        }
                        address.insert(
                            "namespace".to_owned(),
                            Json::from(kubernetes.namespace.as_str()),
                        );
                        address.insert(
                            "name".to_owned(),
                            Json::from(kubernetes.secret_name(database)),
                        );
                        attributes.insert("kubernetes_secret".to_owned(), Json::Object(address));
                        let data: serde_json::Map<String, Json> = kubernetes
                            .data()
                            .into_iter()
                            .map(|(name, key)| (name, Json::from(key.as_str())))
                            .collect();
                        attributes.insert("data".to_owned(), Json::Object(data));
                    }
                    // Refused by the manifest checks: nothing to write.
                    Some(Err(_)) | None => {}
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use serde_json::json;

    fn spec(secret: Json) -> TenantDatabaseSpec {
        serde_json::from_value(json!({"server": "main", "connection_secret": secret})).unwrap()
    }

    #[test]
    fn a_file_target_is_planned_as_before() {
        let planned =
            spec(json!({"file": "a.env"})).derived_attributes("app", &Part::ConnectionSecret);
        assert_eq!(
            planned,
            json!({"connection_secret": {"file": "a.env", "format": "env"}, "database": "app", "owner": "app_user"})
        );
        let decoded: ConnectionSecret =
            crate::kinds::decode_map(&planned.as_object().unwrap().clone().into_iter().collect())
                .unwrap();
        assert_eq!(
            decoded.target(),
            PlannedTarget::File {
                file: "a.env",
                format: "env"
            }
        );
    }

    #[test]
    fn a_kubernetes_target_is_planned_with_its_address_and_key_names() {
        let planned = spec(json!({"kubernetes": {
            "namespace": "apps", "context": "dev", "keys": {"DB_PASSWORD": "PGPASSWORD"}
        }}))
        .derived_attributes("app", &Part::ConnectionSecret);
        assert_eq!(
            planned["kubernetes_secret"],
            json!({"context": "dev", "namespace": "apps", "name": "app-postgres-credentials"})
        );
        assert_eq!(planned["data"]["PGPASSWORD"], "DB_PASSWORD");
        assert_eq!(planned["data"]["DATABASE_URL"], "DATABASE_URL");
        assert!(planned.get("connection_secret").is_none());
        let decoded: ConnectionSecret =
            crate::kinds::decode_map(&planned.as_object().unwrap().clone().into_iter().collect())
                .unwrap();
        assert_eq!(
            decoded.target(),
            PlannedTarget::Kubernetes {
                context: Some("dev"),
                namespace: "apps",
                name: "app-postgres-credentials"
            }
        );
        assert_eq!(decoded.data.len(), 6);
        let crossplane = spec(json!({"kubernetes": {"namespace": "apps", "style": "crossplane"}}))
            .derived_attributes("app", &Part::ConnectionSecret);
        assert_eq!(crossplane["kubernetes_secret"]["name"], "app-secret");
        assert_eq!(
            crossplane["data"],
            json!({"endpoint": "endpoint", "password": "password", "port": "port", "username": "username"})
        );
    }

    #[test]
    fn another_secret_address_replaces_the_secret() {
        assert!(replaced_by(&Part::ConnectionSecret).contains(&"kubernetes_secret"));
        assert!(!replaced_by(&Part::ConnectionSecret).contains(&"data"));
    }
}
