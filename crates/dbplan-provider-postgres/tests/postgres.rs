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

/// A server in a private network is reached through a tunnel's local end (`connect_via`): the
/// TCP connection goes there, TLS still verifies the server's own name, and the outputs (what
/// tenants' connection secrets point at) are the server's, not the tunnel's.
#[test]
fn a_tunnel_carries_the_connection_and_tls_still_verifies_the_servers_name() {
    let server = PgServer::start_with_tls().unwrap();
    let runtime = runtime();
    let ca = server.ca_file();
    let ca = ca.to_str().unwrap();
    let tunnelled = |host: &str, port: u16| {
        let mut attributes = server_attributes(host, 5432, "verify-full", Some(ca));
        attributes.insert(
            "connect_via".to_owned(),
            serde_json::json!({"host": "127.0.0.1", "port": port}),
        );
        attributes
    };
    // The name resolves nowhere: only the tunnel (here, straight to the server's port) reaches it.
    let attributes = tunnelled(dbplan_testkit::TLS_ONLY_NAME, server.port);
    let applied = runtime
        .block_on(provider().create(&server_request(&attributes)))
        .unwrap_or_else(|error| panic!("through the tunnel: {error}\n{}", server.log()));
    assert_eq!(applied.outputs["host"].value, dbplan_testkit::TLS_ONLY_NAME);
    assert_eq!(applied.outputs["port"].value, 5432);

    // A tenant's role is made through the recorded server's tunnel too.
    let mut request = role_request(&server, "tunnelled_app", "tunnelled-password-1");
    request
        .context
        .get_mut(&"PostgresServer/pg".parse().unwrap())
        .unwrap()
        .attributes = attributes;
    runtime
        .block_on(provider().create(&request))
        .unwrap_or_else(|error| panic!("a role through the tunnel: {error}\n{}", server.log()));
    let roles = server
        .psql(
            "postgres",
            "SELECT rolname FROM pg_roles WHERE rolname = 'tunnelled_app'",
        )
        .unwrap();
    assert!(roles.contains("tunnelled_app"), "{roles}");

    // The tunnel does not stand in for the name: a name the certificate does not hold is
    // refused, although the same tunnel reached the server above.
    let error = runtime
        .block_on(provider().create(&server_request(&tunnelled(
            "elsewhere.dbplan.test",
            server.port,
        ))))
        .unwrap_err();
    assert!(matches!(error, ProviderError::Transport { .. }), "{error}");
    let text = error.to_string();
    assert!(
        text.contains("elsewhere.dbplan.test:5432 (through 127.0.0.1:"),
        "{text}"
    );

    // A tunnel whose far end never answers (its local end accepts, as an SSM or SSH forward
    // does before it reaches the server): the connection gives up within its bound, and the
    // error names the server and the tunnel's end.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let impatient = PostgresProvider::with_env(Arc::new(|name| match name {
        "PG_ADMIN_PASSWORD" => Some(SUPERUSER_PASSWORD.to_owned()),
        "DBPLAN_CONNECT_TIMEOUT" => Some("0.5".to_owned()),
        _ => None,
    }));
    let error = runtime
        .block_on(impatient.create(&server_request(&tunnelled(
            dbplan_testkit::TLS_ONLY_NAME,
            silent_port,
        ))))
        .unwrap_err();
    drop(silent);
    let text = error.to_string();
    assert!(
        text.contains(&format!(
            "postgres.dbplan.test:5432 (through 127.0.0.1:{silent_port})"
        )),
        "{text}"
    );
    assert!(text.contains("timed out"), "{text}");
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

/// An administrator that is no superuser (RDS's master user, DigitalOcean's `doadmin`) must be
/// a member of a database's owner; when the server refuses it the role, the error says why and
/// what a superuser grants (on PostgreSQL 16 and later: ADMIN OPTION on a role it did not make).
#[test]
fn an_owner_the_administrator_may_not_join_is_refused_with_what_to_grant() {
    let server = PgServer::start().unwrap();
    server
        .psql(
            "postgres",
            "CREATE ROLE platform LOGIN CREATEDB CREATEROLE PASSWORD 'platform-pw'; CREATE ROLE root_owner SUPERUSER NOLOGIN",
        )
        .unwrap();
    let provider = PostgresProvider::with_env(Arc::new(|name| {
        (name == "PLATFORM_PASSWORD").then(|| "platform-pw".to_owned())
    }));
    let mut request = database_request(&server, "ledger", "root_owner");
    let mut attributes = server_attributes("127.0.0.1", server.port, "disable", None);
    attributes.insert("admin_user".to_owned(), serde_json::json!("platform"));
    attributes.insert(
        "admin_password_env".to_owned(),
        serde_json::json!("PLATFORM_PASSWORD"),
    );
    request.context.insert(
        "PostgresServer/pg".parse().unwrap(),
        Recorded {
            provider_id: None,
            attributes,
            outputs: BTreeMap::new(),
        },
    );
    let error = runtime().block_on(provider.create(&request)).unwrap_err();
    assert!(
        matches!(&error, ProviderError::Conflict { message, .. }
            if message.contains("may not become a member of the role \"root_owner\"")
                && message.contains("GRANT \"root_owner\" TO <administrator> WITH ADMIN OPTION")),
        "{error}"
    );
    assert_eq!(
        server
            .psql(
                "postgres",
                "SELECT count(*) FROM pg_database WHERE datname = 'ledger'"
            )
            .unwrap(),
        "0"
    );
}
