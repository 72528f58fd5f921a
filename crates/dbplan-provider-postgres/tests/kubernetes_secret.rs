//! A tenant's connection secret written to a Kubernetes Secret (through the in-memory
//! `FakeKubernetesSecrets`) for a tenant created on a real PostgreSQL server: its keys and
//! values, drift (a changed value, a missing key, a deleted Secret), ownership (a Secret dbplan
//! did not write is not taken over silently), deletion, and no password outside the Secret.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dbplan_core::kinds::tenant_database::CHANGED_OUTSIDE;
use dbplan_provider::kubernetes::{
    FakeKubernetesSecrets, FakeSecret, MANAGED_BY_LABEL, SecretTarget, SecretValue,
};
use dbplan_provider::{
    Adoption, ChangeRequest, Context, Field, Provider, ProviderError, ReadOutcome, ReadRequest,
    Recorded,
};
use dbplan_provider_postgres::PostgresProvider;
use dbplan_testkit::{PgServer, SUPERUSER, SUPERUSER_PASSWORD};
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;

/// A password with characters a URI must percent-encode.
const PASSWORD: &str = "p@ss:w/rd%?#x";

fn env() -> dbplan_provider_postgres::Env {
    Arc::new(|name| (name == "PG_ADMIN_PASSWORD").then(|| SUPERUSER_PASSWORD.to_owned()))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn server_context(server: &PgServer) -> Context {
    let attributes: BTreeMap<String, serde_json::Value> = [
        ("host", json!("127.0.0.1")),
        ("port", json!(server.port)),
        ("database", json!("postgres")),
        ("admin_user", json!(SUPERUSER)),
        ("admin_password_env", json!("PG_ADMIN_PASSWORD")),
        ("sslmode", json!("disable")),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value))
    .collect();
    let mut context = Context::new();
    context.insert(
        "PostgresServer/pg".parse().unwrap(),
        Recorded {
            provider_id: None,
            attributes,
            outputs: BTreeMap::new(),
        },
    );
    context
}

fn fields(attributes: serde_json::Value) -> BTreeMap<String, Field> {
    attributes
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, value)| (name.clone(), Field::plain(value.clone())))
        .collect()
}

fn request(address: &str, attributes: serde_json::Value, context: Context) -> ChangeRequest {
    ChangeRequest {
        address: address.parse().unwrap(),
        provider_id: None,
        attributes: fields(attributes),
        prior: BTreeMap::new(),
        prior_outputs: BTreeMap::new(),
        context,
        adopt: Adoption::Refuse,
    }
}

/// Creates the tenant's role and database; the context a connection secret is written in.
fn tenant(runtime: &tokio::runtime::Runtime, server: &PgServer) -> Context {
    let provider = PostgresProvider::with_env(env());
    let mut role = request(
        "TenantDatabase/app/role",
        json!({"name": "app_user", "server": "PostgresServer/pg"}),
        server_context(server),
    );
    role.prior_outputs
        .insert("password".to_owned(), Field::sensitive(PASSWORD));
    let role_applied = runtime.block_on(provider.create(&role)).unwrap();
    let mut context = server_context(server);
    context.insert(
        "TenantDatabase/app/role".parse().unwrap(),
        Recorded {
            provider_id: role_applied.provider_id.clone(),
            attributes: BTreeMap::new(),
            outputs: role_applied.outputs,
        },
    );
    let database = request(
        "TenantDatabase/app/database",
        json!({"name": "app", "owner": "app_user", "extensions": []}),
        context.clone(),
    );
    let applied = runtime.block_on(provider.create(&database)).unwrap();
    context.insert(
        "TenantDatabase/app/database".parse().unwrap(),
        Recorded {
            provider_id: applied.provider_id,
            attributes: BTreeMap::new(),
            outputs: applied.outputs,
        },
    );
    context
}

fn secret_request(context: &Context, data: serde_json::Value) -> ChangeRequest {
    request(
        "TenantDatabase/app/connection-secret",
        json!({
            "kubernetes_secret": {"namespace": "apps", "name": "app-postgres-credentials"},
            "data": data,
            "database": "app",
            "owner": "app_user",
        }),
        context.clone(),
    )
}

fn database_url_data() -> serde_json::Value {
    json!({
        "DATABASE_URL": "DATABASE_URL", "DB_HOST": "DB_HOST", "DB_PORT": "DB_PORT",
        "DB_NAME": "DB_NAME", "DB_USER": "DB_USER", "PGPASSWORD": "DB_PASSWORD",
    })
}

fn target(name: &str) -> SecretTarget {
    SecretTarget {
        context: None,
        namespace: "apps".to_owned(),
        name: name.to_owned(),
    }
}

fn values(secret: &FakeSecret) -> BTreeMap<String, String> {
    secret
        .data
        .iter()
        .map(|(key, value)| (key.clone(), value.expose().to_owned()))
        .collect()
}

/// What state would record after an apply: the planned attributes and the outputs.
fn read_request(request: &ChangeRequest, applied: &dbplan_provider::Applied) -> ReadRequest {
    ReadRequest {
        address: request.address.clone(),
        provider_id: applied.provider_id.clone(),
        attributes: request
            .attributes
            .iter()
            .map(|(name, field)| (name.clone(), field.value.clone()))
            .collect(),
        outputs: applied.outputs.clone(),
        context: request.context.clone(),
        declared: Default::default(),
    }
}

fn read_data(
    runtime: &tokio::runtime::Runtime,
    provider: &PostgresProvider,
    request: &ReadRequest,
) -> Option<serde_json::Value> {
    match runtime.block_on(provider.read(request)).unwrap() {
        ReadOutcome::Found(remote) => Some(remote.attributes["data"].clone()),
        ReadOutcome::Gone => None,
    }
}

#[test]
fn the_secret_holds_the_renamed_keys_and_drift_shows_without_a_value() {
    let server = PgServer::start().unwrap();
    let runtime = runtime();
    let context = tenant(&runtime, &server);
    let request = secret_request(&context, database_url_data());

    // Without Kubernetes access the write fails and says so, with no secret in the message.
    let error = runtime
        .block_on(PostgresProvider::with_env(env()).create(&request))
        .unwrap_err();
    assert!(
        matches!(&error, ProviderError::Unsupported { .. })
            && error
                .to_string()
                .contains("no Kubernetes access configured"),
        "{error}"
    );
    assert!(!error.to_string().contains(PASSWORD));

    let secrets = Arc::new(FakeKubernetesSecrets::new());
    let provider = PostgresProvider::with_env(env()).with_kubernetes(secrets.clone());
    let applied = runtime.block_on(provider.create(&request)).unwrap();
    assert_eq!(
        applied.provider_id.as_deref(),
        Some("apps/app-postgres-credentials")
    );
    let written = secrets.get(&target("app-postgres-credentials")).unwrap();
    let data = values(&written);
    assert_eq!(
        data.keys().collect::<Vec<_>>(),
        [
            "DATABASE_URL",
            "DB_HOST",
            "DB_NAME",
            "DB_PORT",
            "DB_USER",
            "PGPASSWORD"
        ]
    );
    assert_eq!(data["PGPASSWORD"], PASSWORD);
    assert_eq!(data["DB_HOST"], "127.0.0.1");
    assert_eq!(data["DB_PORT"], server.port.to_string());
    assert_eq!(data["DB_NAME"], "app");
    assert_eq!(data["DB_USER"], "app_user");
    assert_eq!(written.labels[MANAGED_BY_LABEL], "dbplan");
    // The URL percent-encodes the password, and connects.
    assert!(!data["DATABASE_URL"].contains(PASSWORD));
    let config: tokio_postgres::Config = data["DATABASE_URL"].parse().unwrap();
    assert_eq!(config.get_password(), Some(PASSWORD.as_bytes()));
    runtime.block_on(async {
        let (client, connection) = config.connect(tokio_postgres::NoTls).await.unwrap();
        tokio::spawn(connection);
        client.simple_query("SELECT 1").await.unwrap();
    });
    // No value in the outputs state records (the key is a random fingerprint key), nor in any
    // Debug output.
    let recorded = serde_json::to_string(&applied.outputs).unwrap();
    assert!(!recorded.contains(PASSWORD) && !recorded.contains(&data["DATABASE_URL"]));
    assert!(!format!("{written:?} {applied:?}").contains(PASSWORD));

    // Read as written: the planned data, no drift.
    let read = read_request(&request, &applied);
    assert_eq!(
        read_data(&runtime, &provider, &read),
        Some(database_url_data())
    );

    // A value changed and a key removed behind dbplan's back.
    let mut changed = written.clone();
    changed
        .data
        .insert("PGPASSWORD".to_owned(), SecretValue::new("guessed"));
    changed.data.remove("DB_HOST");
    secrets.put(target("app-postgres-credentials"), changed);
    let drifted = read_data(&runtime, &provider, &read).unwrap();
    assert_eq!(drifted["PGPASSWORD"], CHANGED_OUTSIDE);
    assert!(drifted.get("DB_HOST").is_none());
    assert_eq!(drifted["DB_USER"], "DB_USER");
    // An update rewrites it.
    let mut update = request.clone();
    update.prior = request.attributes.clone();
    update.prior_outputs = applied.outputs.clone();
    update.provider_id = applied.provider_id.clone();
    update.adopt = Adoption::Recover;
    let updated = runtime.block_on(provider.update(&update)).unwrap();
    assert_eq!(updated.outputs, applied.outputs);
    assert_eq!(
        values(&secrets.get(&target("app-postgres-credentials")).unwrap()),
        data
    );
    assert_eq!(
        read_data(&runtime, &provider, &read),
        Some(database_url_data())
    );

    // Deleted behind dbplan's back: gone.
    secrets.remove(&target("app-postgres-credentials"));
    assert_eq!(read_data(&runtime, &provider, &read), None);
}

#[test]
fn a_secret_dbplan_did_not_write_is_taken_over_only_with_opt_in_and_deleted_only_intact() {
    let server = PgServer::start().unwrap();
    let runtime = runtime();
    let context = tenant(&runtime, &server);
    let secrets = Arc::new(FakeKubernetesSecrets::new());
    let provider = PostgresProvider::with_env(env()).with_kubernetes(secrets.clone());
    let request = secret_request(
        &context,
        json!({"endpoint": "endpoint", "password": "password", "port": "port", "username": "username"}),
    );
    let foreign = FakeSecret {
        data: BTreeMap::from([("password".to_owned(), SecretValue::new("theirs"))]),
        ..FakeSecret::default()
    };
    secrets.put(target("app-postgres-credentials"), foreign.clone());
    let error = runtime.block_on(provider.create(&request)).unwrap_err();
    assert!(
        matches!(&error, ProviderError::NotAdopted { existing, .. } if existing.contains("not written by dbplan")),
        "{error}"
    );
    assert_eq!(
        secrets.get(&target("app-postgres-credentials")),
        Some(foreign)
    );
    // The manifest's opt-in (`dbplan.io/adopt`) takes it over.
    let mut adopting = request.clone();
    adopting.attributes.insert(
        dbplan_provider::files::ADOPT_ATTRIBUTE.to_owned(),
        Field::plain(true),
    );
    let applied = runtime.block_on(provider.create(&adopting)).unwrap();
    let written = values(&secrets.get(&target("app-postgres-credentials")).unwrap());
    assert_eq!(
        written,
        BTreeMap::from([
            ("endpoint".to_owned(), "127.0.0.1".to_owned()),
            ("password".to_owned(), PASSWORD.to_owned()),
            ("port".to_owned(), server.port.to_string()),
            ("username".to_owned(), "app_user".to_owned()),
        ])
    );

    // A Secret changed since dbplan wrote it is left in place on delete; an intact one goes.
    let mut delete = request.clone();
    delete.attributes = BTreeMap::new();
    delete.prior = request.attributes.clone();
    delete.prior_outputs = applied.outputs.clone();
    delete.adopt = Adoption::Recover;
    let mut changed = secrets.get(&target("app-postgres-credentials")).unwrap();
    changed
        .data
        .insert("password".to_owned(), SecretValue::new("rotated by hand"));
    secrets.put(target("app-postgres-credentials"), changed.clone());
    runtime.block_on(provider.delete(&delete)).unwrap();
    assert_eq!(
        secrets.get(&target("app-postgres-credentials")),
        Some(changed)
    );
    runtime.block_on(provider.create(&adopting)).unwrap();
    runtime.block_on(provider.delete(&delete)).unwrap();
    assert_eq!(secrets.get(&target("app-postgres-credentials")), None);
    // Already gone: not an error.
    runtime.block_on(provider.delete(&delete)).unwrap();
}
