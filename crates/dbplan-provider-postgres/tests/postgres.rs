//! The PostgreSQL provider against a real server: adoption of existing objects, conflicts,
//! TLS modes (including certificate verification), and credentials errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dbplan_provider::{ChangeRequest, Context, Field, Provider, ProviderError, Recorded};
use dbplan_provider_postgres::PostgresProvider;
use dbplan_testkit::{PgServer, SUPERUSER, SUPERUSER_PASSWORD};
use std::collections::BTreeMap;
use std::sync::Arc;

fn provider() -> PostgresProvider {
    PostgresProvider::with_env(Arc::new(|name| {
        (name == "PG_ADMIN_PASSWORD").then(|| SUPERUSER_PASSWORD.to_owned())
    }))
}

fn server_attributes(
    host: &str,
    port: u16,
    sslmode: &str,
    rootcert: Option<&str>,
) -> BTreeMap<String, serde_json::Value> {
    let mut attributes = BTreeMap::new();
    attributes.insert("host".to_owned(), serde_json::json!(host));
    attributes.insert("port".to_owned(), serde_json::json!(port));
    attributes.insert("database".to_owned(), serde_json::json!("postgres"));
    attributes.insert("admin_user".to_owned(), serde_json::json!(SUPERUSER));
    attributes.insert(
        "admin_password_env".to_owned(),
        serde_json::json!("PG_ADMIN_PASSWORD"),
    );
    attributes.insert("sslmode".to_owned(), serde_json::json!(sslmode));
    if let Some(rootcert) = rootcert {
        attributes.insert("sslrootcert".to_owned(), serde_json::json!(rootcert));
    }
    attributes
}

fn server_request(attributes: &BTreeMap<String, serde_json::Value>) -> ChangeRequest {
    let mut fields: BTreeMap<String, Field> = attributes
        .iter()
        .map(|(name, value)| (name.clone(), Field::plain(value.clone())))
        .collect();
    fields.insert(
        "admin_password".to_owned(),
        Field::sensitive(SUPERUSER_PASSWORD),
    );
    ChangeRequest {
        address: "PostgresServer/pg".parse().unwrap(),
        provider_id: None,
        attributes: fields,
        prior: BTreeMap::new(),
        prior_outputs: BTreeMap::new(),
        context: Context::new(),
        adopt: dbplan_provider::Adoption::Refuse,
    }
}

fn context(server: &PgServer) -> Context {
    let mut context = Context::new();
    context.insert(
        "PostgresServer/pg".parse().unwrap(),
        Recorded {
            provider_id: None,
            attributes: server_attributes("127.0.0.1", server.port, "disable", None),
            outputs: BTreeMap::new(),
        },
    );
    context
}

fn role_request(server: &PgServer, name: &str, password: &str) -> ChangeRequest {
    let mut attributes = BTreeMap::new();
    attributes.insert("name".to_owned(), Field::plain(name));
    attributes.insert("server".to_owned(), Field::plain("PostgresServer/pg"));
    let mut prior_outputs = BTreeMap::new();
    prior_outputs.insert("password".to_owned(), Field::sensitive(password));
    ChangeRequest {
        address: format!("TenantDatabase/{name}/role").parse().unwrap(),
        provider_id: None,
        attributes,
        prior: BTreeMap::new(),
        prior_outputs,
        context: context(server),
        adopt: dbplan_provider::Adoption::Refuse,
    }
}

fn database_request(server: &PgServer, name: &str, owner: &str) -> ChangeRequest {
    let mut attributes = BTreeMap::new();
    attributes.insert("name".to_owned(), Field::plain(name));
    attributes.insert("owner".to_owned(), Field::plain(owner));
    attributes.insert("extensions".to_owned(), Field::plain(serde_json::json!([])));
    let mut context = context(server);
    let mut outputs = BTreeMap::new();
    outputs.insert("password".to_owned(), Field::sensitive("unused-here"));
    context.insert(
        format!("TenantDatabase/{name}/role").parse().unwrap(),
        Recorded {
            provider_id: None,
            attributes: BTreeMap::new(),
            outputs,
        },
    );
    ChangeRequest {
        address: format!("TenantDatabase/{name}/database").parse().unwrap(),
        provider_id: None,
        attributes,
        prior: BTreeMap::new(),
        prior_outputs: BTreeMap::new(),
        context,
        adopt: dbplan_provider::Adoption::Refuse,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap()
}

async fn login(port: u16, user: &str, password: &str) -> Result<(), tokio_postgres::Error> {
    let mut config = tokio_postgres::Config::new();
    config
        .host("127.0.0.1")
        .port(port)
        .user(user)
        .password(password)
        .dbname("postgres");
    let (client, connection) = config.connect(tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    client.simple_query("SELECT 1").await.map(drop)
}

#[test]
fn an_existing_login_role_is_adopted_only_with_opt_in_and_gets_the_planned_password() {
    let server = PgServer::start().unwrap();
    server
        .psql(
            "postgres",
            "CREATE ROLE legacy_user LOGIN PASSWORD 'old-password'",
        )
        .unwrap();
    let runtime = runtime();
    let mut request = role_request(&server, "legacy_user", "new-password-from-dbplan");
    // Without an opt-in the role is not taken over: its password stays.
    let refused = runtime.block_on(provider().create(&request)).unwrap_err();
    assert!(
        matches!(&refused, ProviderError::NotAdopted { existing, .. } if existing.contains("legacy_user")),
        "{refused}"
    );
    runtime
        .block_on(login(server.port, "legacy_user", "old-password"))
        .unwrap();
    request.adopt = dbplan_provider::Adoption::Allowed;
    let applied = runtime.block_on(provider().create(&request)).unwrap();
    assert_eq!(applied.outputs["username"].value, "legacy_user");
    runtime
        .block_on(login(
            server.port,
            "legacy_user",
            "new-password-from-dbplan",
        ))
        .unwrap();
    assert!(
        runtime
            .block_on(login(server.port, "legacy_user", "old-password"))
            .is_err()
    );
    // Creating it again (a retried create) is idempotent.
    runtime.block_on(provider().create(&request)).unwrap();
}

#[test]
fn a_superuser_or_nologin_role_and_a_foreign_database_are_not_adopted() {
    let server = PgServer::start().unwrap();
    server
        .psql(
            "postgres",
            "CREATE ROLE boss SUPERUSER LOGIN; CREATE ROLE team NOLOGIN; CREATE ROLE other LOGIN",
        )
        .unwrap();
    server
        .psql("postgres", "CREATE DATABASE taken OWNER other")
        .unwrap();
    let runtime = runtime();
    // Not even with the opt-in.
    let adopting = |mut request: ChangeRequest| {
        request.adopt = dbplan_provider::Adoption::Allowed;
        request
    };
    for (name, expected) in [("boss", "a superuser"), ("team", "not a login role")] {
        let error = runtime
            .block_on(provider().create(&adopting(role_request(&server, name, "x"))))
            .unwrap_err();
        assert!(
            matches!(&error, ProviderError::Conflict { message, .. } if message.contains(expected)),
            "{error}"
        );
    }
    let error = runtime
        .block_on(provider().create(&adopting(database_request(&server, "taken", "taken_user"))))
        .unwrap_err();
    assert!(
        matches!(&error, ProviderError::Conflict { message, .. } if message.contains("owned by \"other\"")),
        "{error}"
    );
    // Untouched.
    assert_eq!(
        server
            .psql(
                "postgres",
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'taken'"
            )
            .unwrap(),
        "other"
    );
    assert_eq!(
        server
            .psql(
                "postgres",
                "SELECT rolsuper FROM pg_roles WHERE rolname = 'boss'"
            )
            .unwrap(),
        "t"
    );
}

#[test]
fn a_wrong_password_or_an_unset_variable_is_a_credentials_error_without_the_secret() {
    let server = PgServer::start().unwrap();
    let runtime = runtime();
    let mut request = server_request(&server_attributes(
        "127.0.0.1",
        server.port,
        "disable",
        None,
    ));
    request.attributes.insert(
        "admin_password".to_owned(),
        Field::sensitive("canary-wrong-password"),
    );
    let error = runtime.block_on(provider().create(&request)).unwrap_err();
    assert!(
        matches!(error, ProviderError::Credentials { .. }),
        "{error}"
    );
    assert!(!error.to_string().contains("canary-wrong-password"));

    let unset = PostgresProvider::with_env(Arc::new(|_| None));
    let error = runtime
        .block_on(unset.create(&role_request(&server, "someone", "x")))
        .unwrap_err();
    assert!(
        matches!(&error, ProviderError::Credentials { message, .. } if message.contains("PG_ADMIN_PASSWORD, which is not set")),
        "{error}"
    );
}

#[test]
fn tls_modes_encrypt_and_verify_full_checks_the_certificate() {
    let server = PgServer::start_with_tls().unwrap();
    let runtime = runtime();
    let ca = server.ca_file();
    let ca = ca.to_str().unwrap();
    // `require` encrypts without verifying; `verify-full` verifies against the CA and the host
    // name.
    for (host, mode, rootcert) in [
        ("127.0.0.1", "require", None),
        ("127.0.0.1", "prefer", None),
        ("localhost", "verify-full", Some(ca)),
    ] {
        let applied = runtime
            .block_on(provider().create(&server_request(&server_attributes(
                host,
                server.port,
                mode,
                rootcert,
            ))))
            .unwrap_or_else(|error| panic!("{mode}: {error}\n{}", server.log()));
        assert_eq!(applied.outputs["port"].value, server.port);
    }
    // `require` really requires TLS: a server without it is refused, while `prefer` falls
    // back to a plain connection.
    let plain = PgServer::start().unwrap();
    let error = runtime
        .block_on(provider().create(&server_request(&server_attributes(
            "127.0.0.1",
            plain.port,
            "require",
            None,
        ))))
        .unwrap_err();
    assert!(matches!(error, ProviderError::Transport { .. }), "{error}");
    runtime
        .block_on(provider().create(&server_request(&server_attributes(
            "127.0.0.1",
            plain.port,
            "prefer",
            None,
        ))))
        .unwrap();

    // A certificate from another CA is refused under verify-full.
    let other = PgServer::start_with_tls().unwrap();
    let other_ca = other.ca_file();
    let error = runtime
        .block_on(provider().create(&server_request(&server_attributes(
            "localhost",
            server.port,
            "verify-full",
            Some(other_ca.to_str().unwrap()),
        ))))
        .unwrap_err();
    assert!(matches!(error, ProviderError::Transport { .. }), "{error}");
    assert!(
        error.to_string().to_lowercase().contains("certificate"),
        "{error}"
    );
}

/// The administrator's password goes only to a server that asks for SCRAM, or to one whose
/// certificate is verified: `password` (cleartext) and `md5` requests over a plain or an
/// unverified TLS connection end the connection before the password is written. The password
/// in these tests is the right one, so a connection that sent it would have succeeded.
#[test]
fn cleartext_and_md5_authentication_are_refused_unless_the_server_is_verified() {
    let runtime = runtime();
    let connect = |port: u16, host: &str, mode: &str, rootcert: Option<&str>| {
        runtime.block_on(provider().create(&server_request(&server_attributes(
            host, port, mode, rootcert,
        ))))
    };

    let server = PgServer::start_with_tls().unwrap();
    // SCRAM works in every mode.
    for mode in ["disable", "prefer", "require"] {
        connect(server.port, "127.0.0.1", mode, None)
            .unwrap_or_else(|error| panic!("scram-sha-256, {mode}: {error}\n{}", server.log()));
    }

    server.set_host_auth("password").unwrap();
    for mode in ["disable", "prefer", "require"] {
        let error = connect(server.port, "127.0.0.1", mode, None).unwrap_err();
        let text = error.to_string();
        assert!(matches!(error, ProviderError::Conflict { .. }), "{text}");
        assert!(text.contains("in clear text"), "{mode}: {text}");
        assert!(text.contains("dbplan did not send it"), "{mode}: {text}");
        assert!(text.contains("scram-sha-256"), "{mode}: {text}");
        assert!(text.contains("sslmode: verify-full"), "{mode}: {text}");
        assert!(!text.contains(SUPERUSER_PASSWORD), "{text}");
    }
    // Over a verified connection the server is the one the manifest names: it gets the
    // password it asks for.
    let ca = server.ca_file();
    connect(
        server.port,
        "localhost",
        "verify-full",
        Some(ca.to_str().unwrap()),
    )
    .unwrap_or_else(|error| panic!("password over verify-full: {error}\n{}", server.log()));

    // `md5` with a password stored as MD5 (with a SCRAM verifier the server uses SCRAM).
    server
        .psql(
            "postgres",
            &format!(
                "SET password_encryption = 'md5'; ALTER ROLE {SUPERUSER} PASSWORD '{SUPERUSER_PASSWORD}'"
            ),
        )
        .unwrap();
    server.set_host_auth("md5").unwrap();
    let error = connect(server.port, "127.0.0.1", "disable", None).unwrap_err();
    assert!(error.to_string().contains("as an MD5 hash"), "{error}");
    connect(
        server.port,
        "localhost",
        "verify-full",
        Some(ca.to_str().unwrap()),
    )
    .unwrap_or_else(|error| panic!("md5 over verify-full: {error}\n{}", server.log()));
}
