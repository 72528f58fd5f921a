//! A `CnpgCluster` as the Kubernetes objects that make it, as JSON: pure, no I/O.
//!
//! Each part of the resource renders from its typed attributes ([`cnpg_cluster`]), the same
//! ones a plan and the state hold, so that `dbplan render` and the provider's apply write the
//! same objects:
//!
//! | part | objects |
//! |---|---|
//! | `cluster` | the CNPG `Cluster`; the Barman Cloud plugin's `ObjectStore` `<cluster>-backup` when backups go to an object store through the plugin |
//! | `scheduled-backup` | the `ScheduledBackup` `<cluster>-scheduled-backup` (from the cluster's `backup`) |
//! | `database-<db>` | the CNPG `Database` `<cluster>-<db>` |
//! | `connection-secret` | the core `Secret` (type `Opaque`), values only when given |
//!
//! Every object carries the label `app.kubernetes.io/managed-by: dbplan`, the label
//! `dbplan.io/resource` with the resource's address (`/` written `.`: a label value cannot hold
//! a `/`) and the annotation `dbplan.io/resource` with the address as written. Objects and
//! their fields come in a fixed order, so that the same attributes render the same bytes.

use dbplan_core::kinds::cnpg_cluster::{self, Backup, Cluster, Database, SecretSpec, Storage};
use dbplan_core::kinds::specs::CnpgClusterSpec;
use serde_json::{Map, Value as Json, json};
use std::collections::BTreeMap;

/// The label every rendered object carries: `app.kubernetes.io/managed-by: dbplan`.
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// The label and annotation naming the resource an object belongs to.
pub const RESOURCE: &str = "dbplan.io/resource";
/// The annotation listing the keys of a connection secret rendered without its values.
pub const SECRET_KEYS: &str = "dbplan.io/secret-keys";
/// The Barman Cloud plugin's name, in a Cluster's `plugins` and a ScheduledBackup's
/// `pluginConfiguration`.
pub const BARMAN_PLUGIN: &str = "barman-cloud.cloudnative-pg.io";
/// The image repository of CNPG's PostgreSQL operands.
pub const IMAGE_REPOSITORY: &str = "ghcr.io/cloudnative-pg/postgresql";
/// The keys of a connection secret whose spec lists none.
pub const DEFAULT_SECRET_KEYS: &[&str] = &[
    "DATABASE_URL",
    "DB_HOST",
    "DB_PORT",
    "DB_NAME",
    "DB_USER",
    "DB_PASSWORD",
];
/// The PostgreSQL port of a CNPG cluster's services.
pub const PORT: u16 = 5432;

/// Where the objects of one resource go, and what labels them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    /// The resource's name: the `Cluster`'s name and the prefix of the others'.
    pub name: String,
    /// The resource's address, `CnpgCluster/<name>`.
    pub address: String,
    /// The namespace of every object.
    pub namespace: String,
}

impl Owner {
    /// The owner of a cluster's objects: its namespace is the cluster part's (`default` when
    /// not given).
    pub fn new(name: &str, cluster: &Cluster) -> Owner {
        Owner {
            name: name.to_owned(),
            address: format!("CnpgCluster/{name}"),
            namespace: namespace(cluster).to_owned(),
        }
    }

    fn metadata(&self, name: &str) -> Json {
        json!({
            "name": name,
            "namespace": self.namespace,
            "labels": {
                MANAGED_BY: "dbplan",
                RESOURCE: self.address.replace('/', "."),
            },
            "annotations": { RESOURCE: self.address },
        })
    }
}

/// The namespace of a cluster part's objects.
pub fn namespace(cluster: &Cluster) -> &str {
    cluster.namespace.as_deref().unwrap_or("default")
}

/// The name of the `ObjectStore` of a cluster.
pub fn object_store_name(cluster: &str) -> String {
    format!("{cluster}-backup")
}

/// The name of the `ScheduledBackup` of a cluster.
pub fn scheduled_backup_name(cluster: &str) -> String {
    format!("{cluster}-scheduled-backup")
}

/// The name of the `Database` object of a database: `<cluster>-<db>`, lower case, with `_`
/// written `-` (an object name is a DNS subdomain; the PostgreSQL name is in `spec.name`).
pub fn database_object_name(cluster: &str, database: &str) -> String {
    format!("{cluster}-{database}")
        .to_ascii_lowercase()
        .replace('_', "-")
}

/// The name of the connection secret: the spec's, else `<cluster>-connection`.
pub fn connection_secret_name(cluster: &str, secret: &SecretSpec) -> String {
    secret
        .name
        .clone()
        .unwrap_or_else(|| format!("{cluster}-connection"))
}

/// The secret CNPG writes the application owner's credentials to.
pub fn app_secret_name(cluster: &str) -> String {
    format!("{cluster}-app")
}

/// The read-write service's host, as applications in the cluster reach it.
pub fn host(owner: &Owner) -> String {
    format!("{}-rw.{}.svc", owner.name, owner.namespace)
}

/// The operand image: `image_name`, else the image of `postgres_version`'s major version;
/// `None` leaves it to the operator.
pub fn image(cluster: &Cluster) -> Option<String> {
    if let Some(image) = &cluster.image_name {
        return Some(image.clone());
    }
    let version = cluster.postgres_version.as_deref()?;
    let major = version.split('.').next().unwrap_or(version);
    Some(format!("{IMAGE_REPOSITORY}:{major}"))
}

/// The application database and its owner (`app` and the database's name when not given).
pub fn bootstrap(cluster: &Cluster) -> (String, String) {
    let bootstrap = cluster.bootstrap.clone().unwrap_or_default();
    let database = bootstrap.database.unwrap_or_else(|| "app".to_owned());
    let owner = bootstrap.owner.unwrap_or_else(|| database.clone());
    (database, owner)
}

fn storage(storage: &Storage) -> Json {
    let mut object = Map::new();
    if let Some(size) = &storage.size {
        object.insert("size".to_owned(), json!(size));
    }
    if let Some(class) = &storage.storage_class {
        object.insert("storageClass".to_owned(), json!(class));
    }
    Json::Object(object)
}

/// The backup method: `plugin` when not given.
fn method(backup: &Backup) -> &str {
    backup.method.as_deref().unwrap_or("plugin")
}

/// Whether the cluster archives to an object store through the Barman Cloud plugin (the
/// `plugin` method, or volume snapshots with a destination for the WAL).
fn uses_plugin(backup: &Backup) -> bool {
    match method(backup) {
        "plugin" => true,
        "volume-snapshot" => backup.destination_path.is_some(),
        _ => false,
    }
}

/// The object store configuration shared by the in-tree `barmanObjectStore` and the plugin's
/// `ObjectStore`.
fn store_configuration(backup: &Backup) -> Json {
    let mut configuration = Map::new();
    configuration.insert(
        "destinationPath".to_owned(),
        json!(backup.destination_path.clone().unwrap_or_default()),
    );
    if let Some(endpoint) = &backup.endpoint_url {
        configuration.insert("endpointURL".to_owned(), json!(endpoint));
    }
    if let Some(secret) = &backup.credentials_secret {
        configuration.insert(
            "s3Credentials".to_owned(),
            json!({
                "accessKeyId": { "name": secret, "key": "ACCESS_KEY_ID" },
                "secretAccessKey": { "name": secret, "key": "ACCESS_SECRET_KEY" },
            }),
        );
    }
    Json::Object(configuration)
}

/// The `Cluster` part's objects: the `Cluster`, then the `ObjectStore` when the plugin
/// archives to one.
pub fn cluster_objects(owner: &Owner, cluster: &Cluster) -> Vec<Json> {
    let mut objects = vec![cluster_object(owner, cluster)];
    if let Some(backup) = &cluster.backup
        && uses_plugin(backup)
    {
        objects.push(object_store(owner, backup));
    }
    objects
}

/// The CNPG `Cluster`.
pub fn cluster_object(owner: &Owner, cluster: &Cluster) -> Json {
    let mut spec = Map::new();
    spec.insert(
        "instances".to_owned(),
        json!(cluster.instances.unwrap_or(1)),
    );
    if let Some(image) = image(cluster) {
        spec.insert("imageName".to_owned(), json!(image));
    }
    if let Some(data) = &cluster.storage {
        spec.insert("storage".to_owned(), storage(data));
    }
    if let Some(wal) = &cluster.wal_storage {
        spec.insert("walStorage".to_owned(), storage(wal));
    }
    let (database, database_owner) = bootstrap(cluster);
    spec.insert(
        "bootstrap".to_owned(),
        json!({ "initdb": { "database": database, "owner": database_owner } }),
    );
    if let Some(postgresql) = &cluster.postgresql
        && !postgresql.parameters.is_empty()
    {
        spec.insert(
            "postgresql".to_owned(),
            json!({ "parameters": postgresql.parameters }),
        );
    }
    spec.insert(
        "enableSuperuserAccess".to_owned(),
        json!(cluster.enable_superuser_access.unwrap_or(false)),
    );
    if let Some(backup) = &cluster.backup {
        if uses_plugin(backup) {
            // `enabled` is the CRD's default, written out: `plugins` is an atomic list for
            // server-side apply, so a list without it differs from the defaulted live one and
            // conflicts with any other manager that applied the same plugin.
            spec.insert(
                "plugins".to_owned(),
                json!([{
                    "name": BARMAN_PLUGIN,
                    "enabled": true,
                    "isWALArchiver": true,
                    "parameters": { "barmanObjectName": object_store_name(&owner.name) },
                }]),
            );
        }
        match method(backup) {
            "barman-object-store" => {
                let mut in_tree = Map::new();
                in_tree.insert("barmanObjectStore".to_owned(), store_configuration(backup));
                if let Some(retention) = &backup.retention_policy {
                    in_tree.insert("retentionPolicy".to_owned(), json!(retention));
                }
                spec.insert("backup".to_owned(), Json::Object(in_tree));
            }
            "volume-snapshot" => {
                spec.insert("backup".to_owned(), json!({ "volumeSnapshot": {} }));
            }
            _ => {}
        }
    }
    json!({
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Cluster",
        "metadata": owner.metadata(&owner.name),
        "spec": spec,
    })
}

/// The Barman Cloud plugin's `ObjectStore`.
pub fn object_store(owner: &Owner, backup: &Backup) -> Json {
    let mut spec = Map::new();
    spec.insert("configuration".to_owned(), store_configuration(backup));
    if let Some(retention) = &backup.retention_policy {
        spec.insert("retentionPolicy".to_owned(), json!(retention));
    }
    json!({
        "apiVersion": "barmancloud.cnpg.io/v1",
        "kind": "ObjectStore",
        "metadata": owner.metadata(&object_store_name(&owner.name)),
        "spec": spec,
    })
}

/// The `ScheduledBackup`, when the cluster's backup has a schedule.
pub fn scheduled_backup(owner: &Owner, cluster: &Cluster) -> Option<Json> {
    let backup = cluster.backup.as_ref()?;
    let schedule = backup.schedule.as_ref()?;
    let mut spec = Map::new();
    spec.insert("schedule".to_owned(), json!(schedule));
    spec.insert(
        "immediate".to_owned(),
        json!(backup.immediate.unwrap_or(false)),
    );
    spec.insert("cluster".to_owned(), json!({ "name": owner.name }));
    match method(backup) {
        "barman-object-store" => {
            spec.insert("method".to_owned(), json!("barmanObjectStore"));
        }
        "volume-snapshot" => {
            spec.insert("method".to_owned(), json!("volumeSnapshot"));
        }
        _ => {
            spec.insert("method".to_owned(), json!("plugin"));
            spec.insert(
                "pluginConfiguration".to_owned(),
                json!({ "name": BARMAN_PLUGIN }),
            );
        }
    }
    Some(json!({
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "ScheduledBackup",
        "metadata": owner.metadata(&scheduled_backup_name(&owner.name)),
        "spec": spec,
    }))
}

/// A CNPG `Database`. `retain` (the database stays when the object goes) unless the
/// database's `deletion_policy` is `Delete`.
pub fn database(owner: &Owner, database: &Database) -> Json {
    let name = database.name.clone().unwrap_or_default();
    let reclaim = match database.deletion_policy.as_deref() {
        Some(policy) if policy.eq_ignore_ascii_case("delete") => "delete",
        _ => "retain",
    };
    let extensions: Vec<Json> = database
        .extensions
        .iter()
        .map(|extension| json!({ "name": extension, "ensure": "present" }))
        .collect();
    let mut spec = Map::new();
    spec.insert("name".to_owned(), json!(name));
    spec.insert(
        "owner".to_owned(),
        json!(database.owner.clone().unwrap_or_default()),
    );
    spec.insert("cluster".to_owned(), json!({ "name": owner.name }));
    spec.insert(
        "ensure".to_owned(),
        json!(database.ensure.as_deref().unwrap_or("present")),
    );
    if !extensions.is_empty() {
        spec.insert("extensions".to_owned(), Json::Array(extensions));
    }
    spec.insert("databaseReclaimPolicy".to_owned(), json!(reclaim));
    json!({
        "apiVersion": "postgresql.cnpg.io/v1",
        "kind": "Database",
        "metadata": owner.metadata(&database_object_name(&owner.name, &name)),
        "spec": spec,
    })
}

/// The values a connection secret is made of. The password is the one CNPG generated for the
/// application owner (its `<cluster>-app` secret); `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub database: String,
    pub user: String,
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &"(sensitive)")
            .finish()
    }
}

/// The keys a connection secret holds: the spec's, else [`DEFAULT_SECRET_KEYS`].
pub fn secret_keys(secret: &SecretSpec) -> Vec<String> {
    if secret.keys.is_empty() {
        DEFAULT_SECRET_KEYS
            .iter()
            .map(|key| (*key).to_owned())
            .collect()
    } else {
        secret.keys.clone()
    }
}

/// Whether a key's value holds the password.
pub fn holds_password(key: &str) -> bool {
    matches!(key, "DATABASE_URL" | "DB_PASSWORD" | "password" | "uri")
}

/// The value of one key of the connection secret.
pub fn secret_value(key: &str, owner: &Owner, credentials: &Credentials) -> Option<String> {
    let host = host(owner);
    let url = || {
        format!(
            "postgresql://{}:{}@{host}:{PORT}/{}",
            userinfo(&credentials.user),
            userinfo(&credentials.password),
            userinfo(&credentials.database)
        )
    };
    Some(match key {
        "DATABASE_URL" | "uri" => url(),
        "DB_HOST" | "host" => host,
        "DB_PORT" | "port" => PORT.to_string(),
        "DB_NAME" | "dbname" => credentials.database.clone(),
        "DB_USER" | "username" => credentials.user.clone(),
        "DB_PASSWORD" | "password" => credentials.password.clone(),
        _ => return None,
    })
}

/// Percent-encodes what is not an unreserved character of RFC 3986 (as Go's
/// `url.UserPassword`, which CNPG's own URIs use, encodes more than it must).
fn userinfo(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The connection secret: its keys' values in `stringData` when `values` are given (a
/// key's value left out when `values` lacks it); without values, only the keys, in the
/// [`SECRET_KEYS`] annotation.
pub fn connection_secret(
    owner: &Owner,
    secret: &SecretSpec,
    values: Option<&BTreeMap<String, String>>,
) -> Json {
    let keys = secret_keys(secret);
    let mut metadata = owner.metadata(&connection_secret_name(&owner.name, secret));
    if let Some(annotations) = metadata
        .get_mut("annotations")
        .and_then(Json::as_object_mut)
    {
        annotations.insert(SECRET_KEYS.to_owned(), json!(keys.join(",")));
    }
    let mut object = Map::new();
    object.insert("apiVersion".to_owned(), json!("v1"));
    object.insert("kind".to_owned(), json!("Secret"));
    object.insert("metadata".to_owned(), metadata);
    object.insert("type".to_owned(), json!("Opaque"));
    if let Some(values) = values {
        let data: Map<String, Json> = keys
            .iter()
            .filter_map(|key| values.get(key).map(|value| (key.clone(), json!(value))))
            .collect();
        object.insert("stringData".to_owned(), Json::Object(data));
    }
    Json::Object(object)
}

/// The values of a connection secret's keys.
pub fn secret_values(
    owner: &Owner,
    secret: &SecretSpec,
    credentials: &Credentials,
) -> BTreeMap<String, String> {
    secret_keys(secret)
        .into_iter()
        .filter_map(|key| secret_value(&key, owner, credentials).map(|value| (key, value)))
        .collect()
}

/// A spec's parts, decoded as a plan holds them (the fields of the `Cluster` part, each
/// database's entry, the secret's spec).
#[derive(Clone, Debug, PartialEq)]
pub struct Parts {
    pub cluster: Cluster,
    pub databases: Vec<Database>,
    pub secret: SecretSpec,
}

/// Why a spec could not be taken apart into its parts: the typed parts refused it (a bug, as
/// the spec type and the parts are the same fields).
#[derive(Debug, thiserror::Error)]
#[error("the spec does not decode into its parts: {0}")]
pub struct PartsError(#[from] dbplan_core::kinds::DecodeError);

/// Takes a spec apart as `plan` does: every field but `databases` and `connection_secret` is
/// the cluster's.
pub fn parts(spec: &CnpgClusterSpec) -> Result<Parts, PartsError> {
    let Ok(Json::Object(mut fields)) = serde_json::to_value(spec) else {
        return Err(PartsError(dbplan_core::kinds::DecodeError {
            attribute: ".".to_owned(),
            message: "the spec is not an object".to_owned(),
        }));
    };
    fields.remove("databases");
    let secret = fields.remove("connection_secret");
    let cluster: Cluster = dbplan_core::kinds::decode(fields)?;
    let mut databases = Vec::new();
    for database in &spec.databases {
        let Ok(Json::Object(entry)) = serde_json::to_value(database) else {
            continue;
        };
        databases.push(dbplan_core::kinds::decode::<Database>(entry)?);
    }
    let secret: cnpg_cluster::ConnectionSecret =
        dbplan_core::kinds::decode(secret.map(|secret| ("connection_secret".to_owned(), secret)))?;
    Ok(Parts {
        cluster,
        databases,
        secret: secret.connection_secret.unwrap_or_default(),
    })
}

/// Every object of a resource, in order: the `Cluster` (and `ObjectStore`), the
/// `ScheduledBackup`, the `Database`s in the spec's order, the connection secret (with the
/// values given, else without).
pub fn render(
    name: &str,
    spec: &CnpgClusterSpec,
    secret_values: Option<&BTreeMap<String, String>>,
) -> Result<Vec<Json>, PartsError> {
    let parts = parts(spec)?;
    let owner = Owner::new(name, &parts.cluster);
    let mut objects = cluster_objects(&owner, &parts.cluster);
    // The databases' owners, as apply adds them (as `dbplan-roles`) before their databases.
    let roles = owner_roles(&owner, &parts.cluster, &parts.databases);
    if !roles.is_empty()
        && let Some(cluster) = objects.first_mut()
    {
        cluster["spec"]["managed"] = json!({ "roles": roles });
    }
    objects.extend(scheduled_backup(&owner, &parts.cluster));
    for entry in &parts.databases {
        objects.push(database(&owner, entry));
    }
    objects.push(connection_secret(&owner, &parts.secret, secret_values));
    Ok(objects)
}

/// The managed roles a cluster's databases need: each owner that is neither the bootstrap owner
/// nor `postgres`, once, by name, as a login role without a password or other privilege.
pub fn owner_roles(owner: &Owner, cluster: &Cluster, databases: &[Database]) -> Vec<Json> {
    let (_, bootstrap_owner) = bootstrap(cluster);
    let names: std::collections::BTreeSet<&str> = databases
        .iter()
        .filter_map(|database| database.owner.as_deref())
        .filter(|role| !role.is_empty() && *role != bootstrap_owner && *role != "postgres")
        .collect();
    names
        .into_iter()
        .map(|role| crate::tenant::role_item(&owner.address, role, -1, None, "present"))
        .collect()
}

/// Where `dbplan render` writes an object, relative to its output directory:
/// `<namespace>/<kind, lower case>-<name>.yaml`.
pub fn file_name(object: &Json) -> std::path::PathBuf {
    let text = |pointer: &str| object.pointer(pointer).and_then(Json::as_str).unwrap_or("");
    std::path::Path::new(text("/metadata/namespace")).join(format!(
        "{}-{}.yaml",
        text("/kind").to_ascii_lowercase(),
        text("/metadata/name")
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use dbplan_core::kinds::specs::{BackupMethod, CnpgClusterSpec};

    fn home() -> CnpgClusterSpec {
        serde_json::from_value(json!({
            "namespace": "databases",
            "instances": 3,
            "postgres_version": "17",
            "storage": { "size": "20Gi", "storage_class": "local-path" },
            "wal_storage": { "size": "5Gi", "storage_class": "local-path" },
            "bootstrap": { "database": "app", "owner": "app" },
            "postgresql": { "parameters": { "max_connections": "200", "shared_buffers": "256MB" } },
            "databases": [{ "name": "nextcloud", "owner": "nextcloud", "extensions": ["pg_trgm"] }],
            "backup": {
                "method": "plugin",
                "destination_path": "s3://backups/home-pg",
                "endpoint_url": "http://minio.storage.svc:9000",
                "retention_policy": "7d",
                "schedule": "0 0 3 * * *",
                "immediate": true,
                "credentials_secret": "minio-backup-credentials"
            },
            "connection_secret": {
                "name": "home-pg-connection",
                "keys": ["DATABASE_URL", "DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "DB_PASSWORD"]
            }
        }))
        .unwrap()
    }

    fn kinds_and_names(objects: &[Json]) -> Vec<(String, String)> {
        objects
            .iter()
            .map(|object| {
                (
                    object["kind"].as_str().unwrap().to_owned(),
                    object["metadata"]["name"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    // Long: the example's every object, field by field, in the order they render.
    #[test]
    fn the_home_cluster_renders_its_objects_in_order() {
        let objects = render("home-pg", &home(), None).unwrap();
        assert_eq!(
            kinds_and_names(&objects),
            [
                ("Cluster", "home-pg"),
                ("ObjectStore", "home-pg-backup"),
                ("ScheduledBackup", "home-pg-scheduled-backup"),
                ("Database", "home-pg-nextcloud"),
                ("Secret", "home-pg-connection"),
            ]
            .map(|(kind, name)| (kind.to_owned(), name.to_owned()))
        );
        let cluster = &objects[0];
        assert_eq!(cluster["apiVersion"], "postgresql.cnpg.io/v1");
        assert_eq!(cluster["metadata"]["namespace"], "databases");
        assert_eq!(cluster["metadata"]["labels"][MANAGED_BY], "dbplan");
        assert_eq!(
            cluster["metadata"]["labels"][RESOURCE],
            "CnpgCluster.home-pg"
        );
        assert_eq!(
            cluster["metadata"]["annotations"][RESOURCE],
            "CnpgCluster/home-pg"
        );
        let spec = &cluster["spec"];
        assert_eq!(spec["instances"], 3);
        assert_eq!(spec["imageName"], "ghcr.io/cloudnative-pg/postgresql:17");
        assert_eq!(
            spec["storage"],
            json!({"size": "20Gi", "storageClass": "local-path"})
        );
        assert_eq!(
            spec["walStorage"],
            json!({"size": "5Gi", "storageClass": "local-path"})
        );
        assert_eq!(
            spec["bootstrap"],
            json!({"initdb": {"database": "app", "owner": "app"}})
        );
        assert_eq!(spec["postgresql"]["parameters"]["max_connections"], "200");
        assert_eq!(spec["enableSuperuserAccess"], false);
        assert_eq!(
            spec["plugins"],
            json!([{
                "name": "barman-cloud.cloudnative-pg.io",
                "enabled": true,
                "isWALArchiver": true,
                "parameters": {"barmanObjectName": "home-pg-backup"}
            }])
        );
        assert!(
            spec.get("backup").is_none(),
            "the plugin needs no in-tree backup"
        );

        let store = &objects[1];
        assert_eq!(store["apiVersion"], "barmancloud.cnpg.io/v1");
        assert_eq!(
            store["spec"],
            json!({
                "configuration": {
                    "destinationPath": "s3://backups/home-pg",
                    "endpointURL": "http://minio.storage.svc:9000",
                    "s3Credentials": {
                        "accessKeyId": {"name": "minio-backup-credentials", "key": "ACCESS_KEY_ID"},
                        "secretAccessKey": {"name": "minio-backup-credentials", "key": "ACCESS_SECRET_KEY"}
                    }
                },
                "retentionPolicy": "7d"
            })
        );
        assert_eq!(
            objects[2]["spec"],
            json!({
                "schedule": "0 0 3 * * *",
                "immediate": true,
                "cluster": {"name": "home-pg"},
                "method": "plugin",
                "pluginConfiguration": {"name": "barman-cloud.cloudnative-pg.io"}
            })
        );
        assert_eq!(
            objects[3]["spec"],
            json!({
                "name": "nextcloud",
                "owner": "nextcloud",
                "cluster": {"name": "home-pg"},
                "ensure": "present",
                "extensions": [{"name": "pg_trgm", "ensure": "present"}],
                "databaseReclaimPolicy": "retain"
            })
        );
        let secret = &objects[4];
        assert_eq!(secret["type"], "Opaque");
        assert!(secret.get("stringData").is_none() && secret.get("data").is_none());
        assert_eq!(
            secret["metadata"]["annotations"][SECRET_KEYS],
            "DATABASE_URL,DB_HOST,DB_PORT,DB_NAME,DB_USER,DB_PASSWORD"
        );
    }

    #[test]
    fn objects_are_written_to_a_file_per_namespace_kind_and_name() {
        let objects = render("home-pg", &home(), None).unwrap();
        assert_eq!(
            file_name(&objects[0]),
            std::path::Path::new("databases/cluster-home-pg.yaml")
        );
    }

    #[test]
    fn rendering_is_stable() {
        let first = serde_json::to_string(&render("home-pg", &home(), None).unwrap()).unwrap();
        let second = serde_json::to_string(&render("home-pg", &home(), None).unwrap()).unwrap();
        assert_eq!(first, second);
    }

    #[test]
    fn an_image_name_wins_over_the_version_and_a_minor_version_takes_its_major() {
        let mut spec = home();
        spec.postgres_version = Some("16.4".to_owned());
        let objects = render("x", &spec, None).unwrap();
        assert_eq!(
            objects[0]["spec"]["imageName"],
            "ghcr.io/cloudnative-pg/postgresql:16"
        );
        spec.image_name = Some("registry.local/pg:17.5".to_owned());
        let objects = render("x", &spec, None).unwrap();
        assert_eq!(objects[0]["spec"]["imageName"], "registry.local/pg:17.5");
        spec.image_name = None;
        spec.postgres_version = None;
        let objects = render("x", &spec, None).unwrap();
        assert!(objects[0]["spec"].get("imageName").is_none());
    }

    #[test]
    fn the_in_tree_object_store_is_the_cluster_s_backup() {
        let mut spec = home();
        spec.backup.as_mut().unwrap().method = BackupMethod::BarmanObjectStore;
        let objects = render("home-pg", &spec, None).unwrap();
        assert_eq!(
            kinds_and_names(&objects)
                .iter()
                .map(|(kind, _)| kind.as_str())
                .collect::<Vec<_>>(),
            ["Cluster", "ScheduledBackup", "Database", "Secret"]
        );
        let backup = &objects[0]["spec"]["backup"];
        assert_eq!(backup["retentionPolicy"], "7d");
        assert_eq!(
            backup["barmanObjectStore"]["destinationPath"],
            "s3://backups/home-pg"
        );
        assert_eq!(
            backup["barmanObjectStore"]["s3Credentials"]["secretAccessKey"]["key"],
            "ACCESS_SECRET_KEY"
        );
        assert!(objects[0]["spec"].get("plugins").is_none());
        assert_eq!(objects[1]["spec"]["method"], "barmanObjectStore");
        assert!(objects[1]["spec"].get("pluginConfiguration").is_none());
    }

    #[test]
    fn volume_snapshots_archive_the_wal_through_the_plugin_when_a_destination_is_given() {
        let mut spec = home();
        let backup = spec.backup.as_mut().unwrap();
        backup.method = BackupMethod::VolumeSnapshot;
        let objects = render("home-pg", &spec, None).unwrap();
        assert_eq!(objects[0]["spec"]["backup"], json!({"volumeSnapshot": {}}));
        assert_eq!(objects[0]["spec"]["plugins"][0]["isWALArchiver"], true);
        assert_eq!(objects[1]["kind"], "ObjectStore");
        assert_eq!(objects[2]["spec"]["method"], "volumeSnapshot");

        spec.backup.as_mut().unwrap().destination_path = None;
        let objects = render("home-pg", &spec, None).unwrap();
        assert!(objects[0]["spec"].get("plugins").is_none());
        assert_eq!(objects[1]["kind"], "ScheduledBackup");
    }

    #[test]
    fn no_schedule_no_scheduled_backup_and_no_backup_no_store() {
        let mut spec = home();
        spec.backup.as_mut().unwrap().schedule = None;
        let kinds: Vec<String> = kinds_and_names(&render("x", &spec, None).unwrap())
            .into_iter()
            .map(|(kind, _)| kind)
            .collect();
        assert_eq!(kinds, ["Cluster", "ObjectStore", "Database", "Secret"]);
        spec.backup = None;
        let objects = render("x", &spec, None).unwrap();
        assert_eq!(objects.len(), 3);
        assert!(objects[0]["spec"].get("plugins").is_none());
        assert!(objects[0]["spec"].get("backup").is_none());
    }

    #[test]
    fn a_database_deleted_with_its_object_only_when_its_policy_says_delete() {
        let mut spec = home();
        spec.databases[0].deletion_policy = Some(dbplan_core::kinds::specs::DeletionPolicy::Delete);
        spec.databases[0].name = "photo_archive".to_owned();
        let objects = render("home-pg", &spec, None).unwrap();
        let database = objects
            .iter()
            .find(|object| object["kind"] == "Database")
            .unwrap();
        assert_eq!(database["spec"]["databaseReclaimPolicy"], "delete");
        assert_eq!(database["spec"]["name"], "photo_archive");
        assert_eq!(database["metadata"]["name"], "home-pg-photo-archive");
    }

    #[test]
    fn the_connection_secret_s_values_come_from_the_credentials() {
        let spec = home();
        let parts = parts(&spec).unwrap();
        let owner = Owner::new("home-pg", &parts.cluster);
        let credentials = Credentials {
            database: "app".to_owned(),
            user: "app".to_owned(),
            password: "p@ss/w:rd".to_owned(),
        };
        let values = secret_values(&owner, &parts.secret, &credentials);
        assert_eq!(values["DB_HOST"], "home-pg-rw.databases.svc");
        assert_eq!(values["DB_PORT"], "5432");
        assert_eq!(values["DB_PASSWORD"], "p@ss/w:rd");
        assert_eq!(
            values["DATABASE_URL"],
            "postgresql://app:p%40ss%2Fw%3Ard@home-pg-rw.databases.svc:5432/app"
        );
        let secret = connection_secret(&owner, &parts.secret, Some(&values));
        assert_eq!(secret["stringData"]["DB_NAME"], "app");
        assert!(!format!("{credentials:?}").contains("p@ss"));
    }

    #[test]
    fn a_secret_without_keys_has_the_database_url_and_db_keys() {
        let mut spec = home();
        spec.connection_secret = None;
        let objects = render("home-pg", &spec, None).unwrap();
        let secret = objects.last().unwrap();
        assert_eq!(secret["metadata"]["name"], "home-pg-connection");
        assert_eq!(
            secret["metadata"]["annotations"][SECRET_KEYS],
            DEFAULT_SECRET_KEYS.join(",")
        );
    }
}
