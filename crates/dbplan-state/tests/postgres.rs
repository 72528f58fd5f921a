//! The PostgreSQL state backend against a real server: records and history, the lease lock
//! and its fencing, lost connections and a restarted server, the schema's version and
//! privileges, damage, and encryption at rest.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use dbplan_core::ResourceAddress;
use dbplan_state::{
    EncryptionChange, LockStatus, Passphrase, PgLocation, PgStore, ResourceState, SerialChoice,
    StateChange, StateError, StateLocation, StateStore, StateValue,
};
use dbplan_testkit::{PgBouncer, PgServer, SUPERUSER, SUPERUSER_PASSWORD};
use std::time::Duration;

const PASSWORD_CANARY: &str = "canary-password-7f3a9c";

/// The location of state `name` on `server`, as the superuser, with a lease of `lease` s.
fn location(server: &PgServer, query: &str, lease: &str) -> PgLocation {
    location_as(server, SUPERUSER, SUPERUSER_PASSWORD, query, lease)
}

fn location_as(
    server: &PgServer,
    user: &str,
    password: &str,
    query: &str,
    lease: &str,
) -> PgLocation {
    let url = format!(
        "postgres://{user}@127.0.0.1:{}/postgres?sslmode=disable{query}",
        server.port
    );
    let password = password.to_owned();
    let lease = lease.to_owned();
    PgLocation::parse(&url, &move |name| match name {
        "PGPASSWORD" => Some(password.clone()),
        "DBPLAN_STATE_LEASE" => Some(lease.clone()),
        _ => None,
    })
    .unwrap()
}

fn resource(address: &str, secret: Option<&str>) -> ResourceState {
    let mut resource = ResourceState::new(address.parse::<ResourceAddress>().unwrap());
    resource.attributes.insert(
        "name".to_owned(),
        StateValue::plain(serde_json::json!(address)),
    );
    if let Some(secret) = secret {
        resource.outputs.insert(
            "password".to_owned(),
            StateValue::sensitive(serde_json::json!(secret)),
        );
    }
    resource
}

fn addresses(location: &PgLocation) -> Vec<String> {
    let read = PgStore::read(location, "test").unwrap().unwrap();
    read.snapshot
        .resources
        .keys()
        .map(ToString::to_string)
        .collect()
}

#[test]
fn records_serial_and_history_round_trip_and_reading_creates_nothing() {
    let server = PgServer::start().unwrap();
    let location = location(&server, "", "30");
    // A reader finds nothing and creates nothing, not even the schema.
    assert!(PgStore::read(&location, "test").unwrap().is_none());
    assert_eq!(
        server
            .psql(
                "postgres",
                "SELECT count(*) FROM pg_namespace WHERE nspname = 'dbplan'"
            )
            .unwrap(),
        "0"
    );
    let store = PgStore::open(&location, "dbplan apply").unwrap();
    let serial = store
        .write_batch(&[
            StateChange::Put(resource(
                "TenantDatabase/billing/role",
                Some(PASSWORD_CANARY),
            )),
            StateChange::Put(resource("TenantDatabase/billing/database", None)),
        ])
        .unwrap();
    assert_eq!(serial, 2);
    let serial = store
        .write_batch(&[StateChange::Remove(
            "TenantDatabase/billing/database".parse().unwrap(),
        )])
        .unwrap();
    assert_eq!(serial, 3);
    let snapshot = store.snapshot().unwrap();
    drop(store);

    let read = PgStore::read(&location, "test").unwrap().unwrap();
    assert_eq!(read.snapshot, snapshot);
    assert_eq!(read.snapshot.serial, 3);
    assert_eq!(
        read.snapshot.resources.values().next().unwrap().outputs["password"].value,
        serde_json::json!(PASSWORD_CANARY)
    );
    let history = dbplan_state::postgres::history(&location, 10).unwrap();
    assert_eq!(
        history.iter().map(|entry| entry.serial).collect::<Vec<_>>(),
        vec![3, 2]
    );
    assert_eq!(
        history[0].changes,
        vec!["- TenantDatabase/billing/database"]
    );
    assert_eq!(history[0].command, "dbplan apply");
    assert_eq!(history[0].db_user.as_deref(), Some(SUPERUSER));
    assert_eq!(history[0].pid, std::process::id());
    // One row per resource, with the serial that wrote it.
    assert_eq!(
        server
            .psql(
                "postgres",
                "SELECT address || ' ' || generation FROM dbplan.resources ORDER BY address"
            )
            .unwrap(),
        "TenantDatabase/billing/role 2"
    );
    // The lock was released when the store was dropped.
    assert_eq!(
        dbplan_state::postgres::lock_status(&location).unwrap(),
        LockStatus::Unlocked
    );
}

#[test]
fn a_second_writer_is_refused_with_the_holder_named() {
    let server = PgServer::start().unwrap();
    let location = location(&server, "&state=prod", "30");
    let first = PgStore::open(&location, "dbplan apply").unwrap();
    let error = PgStore::open(&location, "dbplan destroy").unwrap_err();
    let message = error.to_string();
    assert!(matches!(error, StateError::PgLocked { .. }), "{message}");
    assert!(message.contains("`dbplan apply`"), "{message}");
    assert!(
        message.contains(&format!("pid {}", std::process::id())),
        "{message}"
    );
    assert!(message.contains("user "), "{message}");
    // Another state in the same schema has a lock of its own.
    let other = location_as(
        &server,
        SUPERUSER,
        SUPERUSER_PASSWORD,
        "&state=staging",
        "30",
    );
    drop(PgStore::open(&other, "dbplan apply").unwrap());
    drop(first);
    drop(PgStore::open(&location, "dbplan destroy").unwrap());
}

#[test]
fn an_expired_lease_is_taken_over_and_its_old_holder_writes_nothing_more() {
    let server = PgServer::start().unwrap();
    let location = location(&server, "", "30");
    let first = PgStore::open(&location, "dbplan apply").unwrap();
    first.put(&resource("TenantDatabase/a/role", None)).unwrap();
    // The holder stops renewing (as if it hung): its lease runs out.
    server
        .psql(
            "postgres",
            "UPDATE dbplan.states SET lock_expires = now() - interval '1 second'",
        )
        .unwrap();
    assert!(matches!(
        dbplan_state::postgres::lock_status(&location).unwrap(),
        LockStatus::Stale(_)
    ));
    let second = PgStore::open(&location, "dbplan apply").unwrap();
    let error = first
        .put(&resource("TenantDatabase/b/role", None))
        .unwrap_err();
    assert!(matches!(error, StateError::LockLost { .. }), "{error}");
    assert!(error.to_string().contains("wrote nothing more"), "{error}");
    second
        .put(&resource("TenantDatabase/c/role", None))
        .unwrap();
    drop(second);
    drop(first);
    assert_eq!(
        addresses(&location),
        vec!["TenantDatabase/a/role", "TenantDatabase/c/role"]
    );
}

#[test]
fn a_live_holder_keeps_its_lease_and_a_forced_unlock_fences_it() {
    let server = PgServer::start().unwrap();
    let location = location(&server, "", "1");
    let first = PgStore::open(&location, "dbplan apply").unwrap();
    // The heartbeat keeps a live holder's lease: after three leases it still holds it.
    std::thread::sleep(Duration::from_millis(3200));
    assert!(matches!(
        PgStore::open(&location, "dbplan apply"),
        Err(StateError::PgLocked { .. })
    ));
    first.put(&resource("TenantDatabase/a/role", None)).unwrap();
    dbplan_state::postgres::force_unlock(&location).unwrap();
    let error = first
        .put(&resource("TenantDatabase/b/role", None))
        .unwrap_err();
    assert!(matches!(error, StateError::LockLost { .. }), "{error}");
    drop(first);
}

#[test]
fn writes_go_on_after_the_connection_is_terminated_and_after_a_server_restart() {
    let server = PgServer::start().unwrap();
    let location = location(&server, "", "30");
    let store = PgStore::open(&location, "dbplan apply").unwrap();
    store.put(&resource("TenantDatabase/a/role", None)).unwrap();
    server
        .psql(
            "postgres",
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'dbplan-state'",
        )
        .unwrap();
    assert_eq!(
        store.put(&resource("TenantDatabase/b/role", None)).unwrap(),
        2
    );
    server.restart().unwrap();
    assert_eq!(
        store.put(&resource("TenantDatabase/c/role", None)).unwrap(),
        3
    );
    assert_eq!(store.snapshot().unwrap().resources.len(), 3);
    drop(store);
    assert_eq!(
        addresses(&location),
        vec![
            "TenantDatabase/a/role",
            "TenantDatabase/b/role",
            "TenantDatabase/c/role"
        ]
    );
    // One history row per write: nothing was applied twice.
    assert_eq!(
        server
            .psql(
                "postgres",
                "SELECT string_agg(serial::text, ',' ORDER BY id) FROM dbplan.history"
            )
            .unwrap(),
        "1,2,3"
    );
}

#[test]
fn a_newer_schema_is_refused_and_damage_is_reported() {
    let server = PgServer::start().unwrap();
    let location = location(&server, "", "30");
    let store = PgStore::open(&location, "dbplan apply").unwrap();
    store.put(&resource("TenantDatabase/a/role", None)).unwrap();
    store.put(&resource("TenantDatabase/b/role", None)).unwrap();
    drop(store);

    // A record changed behind dbplan's back fails its checksum.
    server
        .psql(
            "postgres",
            "UPDATE dbplan.resources SET record = overlay(record placing '\\x58'::bytea from 60 for 1) WHERE address = 'TenantDatabase/a/role'",
        )
        .unwrap();
    let error = PgStore::read(&location, "test").unwrap_err();
    assert!(matches!(error, StateError::Corrupted { .. }), "{error}");
    assert!(
        error.to_string().contains("TenantDatabase/a/role"),
        "{error}"
    );
    assert!(PgStore::open(&location, "dbplan apply").is_err());
    // A record removed behind its back: the head no longer matches.
    server
        .psql(
            "postgres",
            "DELETE FROM dbplan.resources WHERE address = 'TenantDatabase/a/role'",
        )
        .unwrap();
    let error = PgStore::read(&location, "test").unwrap_err();
    assert!(error.to_string().contains("records 2 resources"), "{error}");

    server
        .psql("postgres", "UPDATE dbplan.dbplan_schema SET version = 99")
        .unwrap();
    let error = PgStore::read(&location, "test").unwrap_err();
    assert!(
        matches!(error, StateError::NewerSchema { found: 99, .. }),
        "{error}"
    );
    assert!(error.to_string().contains("upgrade dbplan"), "{error}");
}

#[test]
fn a_role_with_only_its_schema_creates_the_tables_and_one_without_is_told_what_to_ask_for() {
    let server = PgServer::start().unwrap();
    server
        .psql(
            "postgres",
            "CREATE ROLE ci LOGIN PASSWORD 'ci-password'; REVOKE CREATE ON DATABASE postgres FROM PUBLIC; REVOKE CREATE ON SCHEMA public FROM PUBLIC; CREATE SCHEMA team_state AUTHORIZATION ci",
        )
        .unwrap();
    let allowed = location_as(&server, "ci", "ci-password", "&schema=team_state", "30");
    let store = PgStore::open(&allowed, "dbplan apply").unwrap();
    store.put(&resource("TenantDatabase/a/role", None)).unwrap();
    drop(store);
    // Opening again finds the tables and creates nothing.
    drop(PgStore::open(&allowed, "dbplan apply").unwrap());
    assert_eq!(addresses(&allowed), vec!["TenantDatabase/a/role"]);

    let refused = location_as(&server, "ci", "ci-password", "&schema=elsewhere", "30");
    let error = PgStore::open(&refused, "dbplan apply")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("CREATE SCHEMA elsewhere AUTHORIZATION"),
        "{error}"
    );
}

#[test]
fn encryption_keeps_the_password_out_of_every_table_and_row_version() {
    let server = PgServer::start().unwrap();
    let location = location(&server, "", "30");
    let store = PgStore::open(&location, "dbplan apply").unwrap();
    store
        .put(&resource("TenantDatabase/a/role", Some(PASSWORD_CANARY)))
        .unwrap();
    drop(store);
    let passphrase = || Passphrase::new("correct horse battery staple").unwrap();
    PgStore::change_encryption(
        &location,
        "dbplan state encrypt",
        None,
        EncryptionChange::Encrypt(passphrase()),
    )
    .unwrap();
    let everything = server
        .psql(
            "postgres",
            "SELECT string_agg(encode(record, 'escape'), ' ') FROM dbplan.resources UNION ALL SELECT string_agg(key || coalesce(encryption, ''), ' ') FROM dbplan.states UNION ALL SELECT string_agg(changes, ' ') FROM dbplan.history",
        )
        .unwrap();
    assert!(!everything.contains(PASSWORD_CANARY), "{everything}");
    assert!(everything.contains("$dbplan-encrypted"), "{everything}");
    // Not in the table's files either: the old row versions were rewritten away.
    server.psql("postgres", "CHECKPOINT").unwrap();
    let file = server
        .psql(
            "postgres",
            "SELECT pg_relation_filepath('dbplan.resources')",
        )
        .unwrap();
    let data = std::fs::read(server.socket_directory().join("data").join(file)).unwrap();
    assert!(
        !data
            .windows(PASSWORD_CANARY.len())
            .any(|window| window == PASSWORD_CANARY.as_bytes())
    );

    // Without the passphrase: refused, never read as plaintext.
    let error = PgStore::read_with(&location, None).unwrap_err();
    assert!(
        matches!(error, StateError::PassphraseMissing { .. }),
        "{error}"
    );
    let error = PgStore::read_with(&location, Passphrase::new("wrong")).unwrap_err();
    assert!(
        matches!(error, StateError::WrongPassphrase { .. }),
        "{error}"
    );
    let read = PgStore::read_with(&location, Some(passphrase()))
        .unwrap()
        .unwrap();
    assert_eq!(
        read.snapshot.resources.values().next().unwrap().outputs["password"].value,
        serde_json::json!(PASSWORD_CANARY)
    );
    // A writer with the passphrase writes sealed values too.
    let store = PgStore::open_with(&location, "dbplan apply", Some(passphrase())).unwrap();
    store
        .put(&resource("TenantDatabase/b/role", Some(PASSWORD_CANARY)))
        .unwrap();
    drop(store);
    let records = server
        .psql(
            "postgres",
            "SELECT string_agg(encode(record, 'escape'), ' ') FROM dbplan.resources",
        )
        .unwrap();
    assert!(!records.contains(PASSWORD_CANARY));
    PgStore::change_encryption(
        &location,
        "dbplan state decrypt",
        Some(passphrase()),
        EncryptionChange::Decrypt,
    )
    .unwrap();
    assert!(PgStore::read_with(&location, None).unwrap().is_some());
}

#[test]
fn a_state_moves_from_a_directory_to_postgres_and_back_keeping_lineage_and_serial() {
    let server = PgServer::start().unwrap();
    let directory = tempfile::tempdir().unwrap();
    let local = StateLocation::Local(directory.path().join("state"));
    let store = local.open("dbplan apply").unwrap();
    store
        .put(&resource("TenantDatabase/a/role", Some(PASSWORD_CANARY)))
        .unwrap();
    store.close().unwrap();
    let source = local.read("test").unwrap().unwrap();
    let exported = dbplan_state::Exported::from_read(&source).unwrap();

    let postgres = StateLocation::Postgres(Box::new(location(&server, "", "30")));
    postgres
        .replace("dbplan state migrate", &exported, SerialChoice::Keep, false)
        .unwrap();
    let moved = postgres.read("test").unwrap().unwrap();
    assert_eq!(moved.snapshot, source.snapshot);
    assert_eq!(moved.key, source.key);

    let back = StateLocation::Local(directory.path().join("back"));
    back.replace(
        "dbplan state migrate",
        &dbplan_state::Exported::from_read(&moved).unwrap(),
        SerialChoice::Keep,
        false,
    )
    .unwrap();
    assert_eq!(
        back.read("test").unwrap().unwrap().snapshot,
        source.snapshot
    );
    // Another state's export is refused without --force.
    let other = StateLocation::Local(directory.path().join("other"));
    let store = other.open("dbplan apply").unwrap();
    store.put(&resource("TenantDatabase/z/role", None)).unwrap();
    store.close().unwrap();
    let other_export =
        dbplan_state::Exported::from_read(&other.read("t").unwrap().unwrap()).unwrap();
    assert!(matches!(
        postgres.replace(
            "dbplan state import",
            &other_export,
            SerialChoice::Keep,
            false
        ),
        Err(StateError::LineageMismatch { .. })
    ));
}

#[test]
fn behind_pgbouncer_in_transaction_mode_the_lease_fencing_and_writes_hold() {
    let server = PgServer::start().unwrap();
    let bouncer = PgBouncer::start_in_transaction_mode(&server).unwrap();
    let url = format!(
        "postgres://{SUPERUSER}@127.0.0.1:{}/postgres?sslmode=disable",
        bouncer.port
    );
    let location = PgLocation::parse(&url, &|name| {
        (name == "DBPLAN_STATE_LEASE").then(|| "2".to_owned())
    })
    .unwrap();
    let first = PgStore::open(&location, "dbplan apply")
        .unwrap_or_else(|error| panic!("{error}\n{}", bouncer.log()));
    // Many small transactions, each on whichever server connection pgbouncer hands out.
    for index in 0..20 {
        first
            .put(&resource(
                &format!("TenantDatabase/t{index}/role"),
                Some(PASSWORD_CANARY),
            ))
            .unwrap_or_else(|error| panic!("{error}\n{}", bouncer.log()));
    }
    let error = PgStore::open(&location, "dbplan destroy").unwrap_err();
    assert!(matches!(error, StateError::PgLocked { .. }), "{error}");
    // The heartbeat renews through the pooler: after three leases the lock is still held.
    std::thread::sleep(Duration::from_millis(6500));
    assert!(matches!(
        PgStore::open(&location, "dbplan destroy"),
        Err(StateError::PgLocked { .. })
    ));
    assert_eq!(
        first
            .put(&resource("TenantDatabase/last/role", None))
            .unwrap(),
        21
    );
    // Fencing holds through the pooler too.
    dbplan_state::postgres::force_unlock(&location).unwrap();
    assert!(matches!(
        first.put(&resource("TenantDatabase/late/role", None)),
        Err(StateError::LockLost { .. })
    ));
    drop(first);
    let read = PgStore::read(&location, "test").unwrap().unwrap();
    assert_eq!(read.snapshot.serial, 21);
    assert_eq!(read.snapshot.resources.len(), 21);
    assert_eq!(
        dbplan_state::postgres::history(&location, 100)
            .unwrap()
            .len(),
        21
    );
}

#[test]
fn a_server_that_never_answers_fails_within_the_connect_timeout() {
    let silent = dbplan_testkit::silent::SilentListener::start().unwrap();
    let url = format!(
        "postgres://{SUPERUSER}@127.0.0.1:{}/postgres?sslmode=disable",
        silent.port()
    );
    let location = PgLocation::parse(&url, &|name| {
        (name == "DBPLAN_CONNECT_TIMEOUT").then(|| "1".to_owned())
    })
    .unwrap();
    let started = std::time::Instant::now();
    let error = PgStore::open(&location, "dbplan apply").unwrap_err();
    let waited = started.elapsed();
    assert!(matches!(error, StateError::Connect { .. }), "{error}");
    assert!(
        error.to_string().contains("DBPLAN_CONNECT_TIMEOUT"),
        "{error}"
    );
    assert!(silent.connections() >= 1);
    eprintln!(
        "a silent server failed the open after {:.1} s",
        waited.as_secs_f64()
    );
    let error = PgStore::read(&location, "dbplan plan").unwrap_err();
    assert!(matches!(error, StateError::Connect { .. }), "{error}");
}
