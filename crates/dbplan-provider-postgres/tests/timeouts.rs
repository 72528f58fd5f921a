//! Bounded waits: a server that accepts connections and never answers fails the step under way
//! within the configured timeout, with an error naming the resource, `host:port`, the step and
//! the variable to raise; a statement longer than `DBPLAN_READ_TIMEOUT` is cancelled by the
//! server itself, and one whose answer never comes (a server gone silent mid-session) ends on
//! the client's bound. The timeouts are short overrides, so the tests run fast; they assert no
//! timings (the bound shows in the test ending at all).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use dbplan_provider::{ChangeRequest, Context, Field, Provider, ProviderError, Recorded};
use dbplan_provider_postgres::PostgresProvider;
use dbplan_testkit::silent::SilentListener;
use dbplan_testkit::{PgServer, SUPERUSER, SUPERUSER_PASSWORD};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;

/// A provider with the administrator's password and these timeout variables.
fn provider(timeouts: &[(&'static str, &'static str)]) -> PostgresProvider {
    let timeouts = timeouts.to_vec();
    PostgresProvider::with_env(Arc::new(move |name| {
        if name == "PG_ADMIN_PASSWORD" {
            return Some(SUPERUSER_PASSWORD.to_owned());
        }
        timeouts
            .iter()
            .find(|(variable, _)| *variable == name)
            .map(|(_, value)| (*value).to_owned())
    }))
}

fn server_attributes(port: u16, sslmode: &str) -> BTreeMap<String, serde_json::Value> {
    let mut attributes = BTreeMap::new();
    attributes.insert("host".to_owned(), serde_json::json!("127.0.0.1"));
    attributes.insert("port".to_owned(), serde_json::json!(port));
    attributes.insert("database".to_owned(), serde_json::json!("postgres"));
    attributes.insert("admin_user".to_owned(), serde_json::json!(SUPERUSER));
    attributes.insert(
        "admin_password_env".to_owned(),
        serde_json::json!("PG_ADMIN_PASSWORD"),
    );
    attributes.insert("sslmode".to_owned(), serde_json::json!(sslmode));
    attributes
}

fn server_request(port: u16, sslmode: &str) -> ChangeRequest {
    let mut attributes: BTreeMap<String, Field> = server_attributes(port, sslmode)
        .into_iter()
        .map(|(name, value)| (name, Field::plain(value)))
        .collect();
    attributes.insert(
        "admin_password".to_owned(),
        Field::sensitive(SUPERUSER_PASSWORD),
    );
    ChangeRequest {
        address: "PostgresServer/pg".parse().unwrap(),
        provider_id: None,
        attributes,
        prior: BTreeMap::new(),
        prior_outputs: BTreeMap::new(),
        context: Context::new(),
        adopt: dbplan_provider::Adoption::Refuse,
    }
}

fn tenant_request(port: u16, part: &str, name: &str, password: &str) -> ChangeRequest {
    let mut context = Context::new();
    context.insert(
        "PostgresServer/pg".parse().unwrap(),
        Recorded {
            provider_id: None,
            attributes: server_attributes(port, "disable"),
            outputs: BTreeMap::new(),
        },
    );
    let mut role_outputs = BTreeMap::new();
    role_outputs.insert("password".to_owned(), Field::sensitive(password));
    context.insert(
        format!("TenantDatabase/{name}/role").parse().unwrap(),
        Recorded {
            provider_id: None,
            attributes: BTreeMap::new(),
            outputs: role_outputs.clone(),
        },
    );
    let mut attributes = BTreeMap::new();
    attributes.insert("name".to_owned(), Field::plain(name));
    attributes.insert("owner".to_owned(), Field::plain(name));
    attributes.insert("extensions".to_owned(), Field::plain(serde_json::json!([])));
    ChangeRequest {
        address: format!("TenantDatabase/{name}/{part}").parse().unwrap(),
        provider_id: None,
        attributes,
        prior: BTreeMap::new(),
        prior_outputs: role_outputs,
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

#[test]
fn a_silent_server_fails_the_handshake_within_the_connect_timeout_naming_the_step() {
    let silent = SilentListener::start().unwrap();
    let runtime = runtime();
    let provider = provider(&[("DBPLAN_CONNECT_TIMEOUT", "0.5")]);
    let target = format!("127.0.0.1:{}", silent.port());
    // Without TLS the startup message goes unanswered; with it, the TLS request does.
    for (sslmode, step) in [
        (
            "disable",
            "the startup and authentication timed out after 0.5 s",
        ),
        (
            "require",
            "the TLS handshake (sslmode require) timed out after 0.5 s",
        ),
    ] {
        let started = Instant::now();
        let error = runtime
            .block_on(provider.create(&server_request(silent.port(), sslmode)))
            .unwrap_err();
        eprintln!("{sslmode}: failed after {:?}", started.elapsed());
        let text = error.to_string();
        assert!(matches!(error, ProviderError::Transport { .. }), "{text}");
        assert!(text.starts_with("PostgresServer/pg: "), "{text}");
        assert!(text.contains(&target), "{text}");
        assert!(text.contains(step), "{text}");
        assert!(text.contains("raise DBPLAN_CONNECT_TIMEOUT"), "{text}");
        assert!(!text.contains(SUPERUSER_PASSWORD), "{text}");
    }
    // One connection each: a timed-out step is not tried again.
    assert_eq!(silent.connections(), 2);

    // A tenant's part on that server fails the same way, naming the part.
    let error = runtime
        .block_on(provider.create(&tenant_request(silent.port(), "role", "app", "pw")))
        .unwrap_err();
    let text = error.to_string();
    assert!(text.starts_with("TenantDatabase/app/role: "), "{text}");
    assert!(text.contains("timed out after 0.5 s"), "{text}");
}

#[test]
fn a_bad_timeout_value_is_an_error_naming_the_variable() {
    let silent = SilentListener::start().unwrap();
    let error = runtime()
        .block_on(
            provider(&[("DBPLAN_CONNECT_TIMEOUT", "ten")])
                .create(&server_request(silent.port(), "disable")),
        )
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("DBPLAN_CONNECT_TIMEOUT=\"ten\" is not a number of seconds"),
        "{text}"
    );
    // Nothing was tried with a default instead.
    assert_eq!(silent.connections(), 0);
}

#[test]
fn a_statement_longer_than_the_read_timeout_is_cancelled_by_the_server() {
    let server = PgServer::start().unwrap();
    let runtime = runtime();
    let provider = provider(&[
        ("DBPLAN_READ_TIMEOUT", "1"),
        ("DBPLAN_LONG_STATEMENT_TIMEOUT", "30"),
    ]);
    // Another session creates the same role and does not commit: dbplan's CREATE ROLE waits
    // for it, until the server's statement_timeout cancels it.
    let (blocker, connection) = runtime
        .block_on(
            tokio_postgres::Config::new()
                .host("127.0.0.1")
                .port(server.port)
                .user(SUPERUSER)
                .password(SUPERUSER_PASSWORD)
                .dbname("postgres")
                .connect(tokio_postgres::NoTls),
        )
        .unwrap();
    runtime.spawn(connection);
    runtime
        .block_on(blocker.batch_execute("BEGIN; CREATE ROLE blocked LOGIN"))
        .unwrap();
    let role = tenant_request(server.port, "role", "blocked", "role-password");
    let started = Instant::now();
    let error = runtime.block_on(provider.create(&role)).unwrap_err();
    eprintln!("statement timeout: failed after {:?}", started.elapsed());
    let text = error.to_string();
    assert!(
        matches!(&error, ProviderError::Api { code: Some(code), .. } if &**code == "57014"),
        "{text}"
    );
    assert!(text.starts_with("TenantDatabase/blocked/role: "), "{text}");
    assert!(text.contains("statement timeout"), "{text}");
    assert!(
        text.contains(&format!(
            "longer than 1 s (DBPLAN_READ_TIMEOUT) at 127.0.0.1:{}",
            server.port
        )),
        "{text}"
    );
    assert!(!text.contains("role-password"), "{text}");

    // The connection the server cancelled a statement on is still good, and once the other
    // session is gone the role and its database are made (CREATE DATABASE under the long
    // bound, then the session's bound restored).
    runtime.block_on(blocker.batch_execute("ROLLBACK")).unwrap();
    runtime.block_on(provider.create(&role)).unwrap();
    runtime
        .block_on(provider.create(&tenant_request(
            server.port,
            "database",
            "blocked",
            "role-password",
        )))
        .unwrap();
    let log = server.log();
    let statements: Vec<&str> = log
        .lines()
        .filter(|line| line.starts_with("dbplan:"))
        .filter(|line| line.contains("statement_timeout") || line.contains("CREATE DATABASE"))
        .map(|line| line.rsplit("statement: ").next().unwrap_or(line))
        .collect();
    let create = statements
        .iter()
        .position(|statement| statement.starts_with("CREATE DATABASE"))
        .unwrap_or_else(|| panic!("{log}"));
    assert_eq!(statements[0], "SET statement_timeout = 1000", "{log}");
    assert_eq!(
        statements[create - 1..=create + 1],
        [
            "SET statement_timeout = 30000",
            "CREATE DATABASE \"blocked\" OWNER \"blocked\"",
            "SET statement_timeout = 1000"
        ],
        "{log}"
    );
}

/// A TCP proxy in front of a server that stops passing the server's answers on a connection
/// once the client sent `marker` on it: a server that went silent in the middle of a session.
struct FreezingProxy {
    port: u16,
}

impl FreezingProxy {
    fn start(upstream: u16, marker: &'static [u8]) -> FreezingProxy {
        use std::io::{Read, Write};
        use std::sync::atomic::{AtomicBool, Ordering};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(mut client) = client else { return };
                let Ok(mut server) = std::net::TcpStream::connect(("127.0.0.1", upstream)) else {
                    return;
                };
                let frozen = Arc::new(AtomicBool::new(false));
                let (mut client_reader, mut server_writer) =
                    (client.try_clone().unwrap(), server.try_clone().unwrap());
                let seen = Arc::clone(&frozen);
                std::thread::spawn(move || {
                    let mut buffer = [0u8; 8192];
                    while let Ok(count) = client_reader.read(&mut buffer) {
                        if count == 0 {
                            return;
                        }
                        let bytes = &buffer[..count];
                        if bytes.windows(marker.len()).any(|window| window == marker) {
                            seen.store(true, Ordering::SeqCst);
                        }
                        if server_writer.write_all(bytes).is_err() {
                            return;
                        }
                    }
                });
                std::thread::spawn(move || {
                    let mut buffer = [0u8; 8192];
                    while let Ok(count) = server.read(&mut buffer) {
                        if count == 0 {
                            return;
                        }
                        if !frozen.load(Ordering::SeqCst)
                            && client.write_all(&buffer[..count]).is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        FreezingProxy { port }
    }
}

#[test]
fn a_server_that_stops_answering_mid_session_fails_the_statement_on_the_client_side() {
    let server = PgServer::start().unwrap();
    let proxy = FreezingProxy::start(server.port, b"rolconnlimit");
    let runtime = runtime();
    let provider = provider(&[("DBPLAN_READ_TIMEOUT", "0.5")]);
    let request = dbplan_provider::ReadRequest {
        address: "TenantDatabase/quiet/role".parse().unwrap(),
        provider_id: Some("quiet_user".to_owned()),
        attributes: [("name".to_owned(), serde_json::json!("quiet_user"))].into(),
        outputs: BTreeMap::new(),
        context: tenant_request(proxy.port, "role", "quiet", "pw").context,
        declared: Default::default(),
    };
    // The connection and its `SET statement_timeout` pass; the answer to the role's query never
    // comes back, so the server's own limit cannot help: the client's bound ends the wait.
    let started = Instant::now();
    let error = runtime.block_on(provider.read(&request)).unwrap_err();
    eprintln!(
        "client-side statement bound: failed after {:?}",
        started.elapsed()
    );
    let text = error.to_string();
    assert!(matches!(error, ProviderError::Transport { .. }), "{text}");
    assert!(
        text.starts_with(&format!(
            "TenantDatabase/quiet/role: 127.0.0.1:{}: a statement timed out after 1 s: the server did not answer (DBPLAN_READ_TIMEOUT is 0.5 s)",
            proxy.port
        )),
        "{text}"
    );
    assert!(text.contains("raise DBPLAN_READ_TIMEOUT"), "{text}");
}
