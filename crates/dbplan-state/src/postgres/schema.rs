//! The tables of the PostgreSQL backend, in a schema of their own (`dbplan` by default).
//!
//! - `dbplan_schema`: one row, the version of these tables; a newer one is refused.
//! - `states`: one row per state: lineage, serial, the state's key (sealed when encrypted),
//!   the encryption header, the head (record count and XOR digest of the record hashes, as
//!   in the local state), and the lock (a lease: fencing token, holder, expiry).
//! - `resources`: one row per resource: its address, the serial that last wrote it
//!   (`generation`) and its checksummed record (the local state's record format).
//! - `history`: one row per committed change: serial, the lock token it was written under,
//!   when, who (database role and operating-system user), where, which command and plan, and
//!   the addresses it wrote or removed; rows a migration brought along have lock token 0 (and
//!   no role when they were written to a local state).
//!
//! Creating them is idempotent and needs no privilege beyond the schema: an administrator can
//! create the schema for the role (`CREATE SCHEMA dbplan AUTHORIZATION ci`), and dbplan then
//! creates only tables in it. Two first runs at once are serialised by a transaction-scoped
//! advisory lock whose key is derived from the schema's name, so it is neither global nor
//! held past the transaction (which a transaction-mode pooler would break).

use super::location::PgLocation;
use crate::StateError;
use tokio_postgres::Client;
use tokio_postgres::types::Type;

/// The version of the tables this dbplan reads and writes.
pub(crate) const SCHEMA_VERSION: i32 = 1;

fn tables(schema: &str) -> String {
    format!(
        r#"
CREATE TABLE IF NOT EXISTS {schema}.dbplan_schema (
    id boolean PRIMARY KEY DEFAULT true CHECK (id),
    version integer NOT NULL
);
CREATE TABLE IF NOT EXISTS {schema}.states (
    name text PRIMARY KEY,
    lineage text NOT NULL,
    serial bigint NOT NULL,
    key text NOT NULL,
    encryption text,
    resources bigint NOT NULL,
    digest text NOT NULL,
    lock_token bigint NOT NULL DEFAULT 0,
    lock_holder text,
    lock_expires timestamptz,
    created timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {schema}.resources (
    state text NOT NULL REFERENCES {schema}.states (name) ON DELETE CASCADE,
    address text NOT NULL,
    generation bigint NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (state, address)
);
CREATE TABLE IF NOT EXISTS {schema}.history (
    id bigserial PRIMARY KEY,
    state text NOT NULL REFERENCES {schema}.states (name) ON DELETE CASCADE,
    serial bigint NOT NULL,
    lock_token bigint NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    db_user text,
    os_user text NOT NULL,
    host text NOT NULL,
    pid bigint NOT NULL,
    command text NOT NULL,
    plan text,
    changes text NOT NULL
);
CREATE INDEX IF NOT EXISTS history_by_serial ON {schema}.history (state, serial);
INSERT INTO {schema}.dbplan_schema (version) VALUES ({SCHEMA_VERSION}) ON CONFLICT (id) DO NOTHING;
"#
    )
}

fn query_error(location: &PgLocation, what: &str, error: &tokio_postgres::Error) -> StateError {
    StateError::Query {
        location: location.to_string(),
        message: format!("{what}: {}", super::connect::describe(error)),
    }
}

/// What the server has of dbplan's tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Found {
    /// No `dbplan_schema` table (the schema may or may not exist).
    Nothing,
    /// The tables, at this version.
    Version(i32),
}

/// Whether dbplan's tables are there, and their version.
pub(crate) async fn find(client: &Client, location: &PgLocation) -> Result<Found, StateError> {
    let table = format!("{}.dbplan_schema", location.quoted_schema());
    let rows = client
        .query_typed(
            "SELECT to_regclass($1) IS NOT NULL",
            &[(&table, Type::TEXT)],
        )
        .await
        .map_err(|error| query_error(location, "cannot look for dbplan's tables", &error))?;
    let exists = rows
        .first()
        .and_then(|row| row.try_get::<_, bool>(0).ok())
        .ok_or_else(|| StateError::Query {
            location: location.to_string(),
            message: "the server did not say whether dbplan's tables exist".to_owned(),
        })?;
    if !exists {
        return Ok(Found::Nothing);
    }
    let rows = client
        .query_typed(&format!("SELECT version FROM {table}"), &[])
        .await
        .map_err(|error| {
            query_error(
                location,
                "cannot read the version of dbplan's tables",
                &error,
            )
        })?;
    let version = rows
        .first()
        .and_then(|row| row.try_get::<_, i32>(0).ok())
        .ok_or_else(|| StateError::Corrupted {
            path: location.as_path(),
            what: format!("the table {table} holds no version"),
        })?;
    Ok(Found::Version(version))
}

/// Refuses tables newer than this dbplan.
pub(crate) fn check_version(location: &PgLocation, version: i32) -> Result<(), StateError> {
    if version > SCHEMA_VERSION {
        return Err(StateError::NewerSchema {
            location: location.to_string(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    Ok(())
}

/// Creates dbplan's tables when they are missing (and the schema, when the role may), and
/// checks their version.
pub(crate) async fn ensure(client: &mut Client, location: &PgLocation) -> Result<(), StateError> {
    if let Found::Version(version) = find(client, location).await? {
        return check_version(location, version);
    }
    let schema = location.quoted_schema();
    let transaction = client
        .transaction()
        .await
        .map_err(|error| query_error(location, "cannot start creating dbplan's tables", &error))?;
    // The schema's name is an identifier of lower-case letters, digits and `_` (checked when
    // the URL was read), so it needs no escaping inside the literal.
    transaction
        .batch_execute(&format!(
            "SELECT pg_advisory_xact_lock(hashtext('dbplan-state-schema:{}'))",
            location.schema
        ))
        .await
        .map_err(|error| {
            query_error(
                location,
                "cannot serialise creating dbplan's tables",
                &error,
            )
        })?;
    let namespace = transaction
        .query_typed(
            "SELECT 1 FROM pg_namespace WHERE nspname = $1",
            &[(&location.schema, Type::TEXT)],
        )
        .await
        .map_err(|error| query_error(location, "cannot look for the schema", &error))?;
    if namespace.is_empty() {
        transaction
            .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .await
            .map_err(|error| StateError::Query {
                location: location.to_string(),
                message: format!(
                    "cannot create the schema {}: {}; have an administrator run `CREATE SCHEMA {} AUTHORIZATION <the role in the URL>`, after which dbplan needs no other privilege",
                    location.schema,
                    super::connect::describe(&error),
                    location.schema
                ),
            })?;
    }
    transaction
        .batch_execute(&tables(&schema))
        .await
        .map_err(|error| StateError::Query {
            location: location.to_string(),
            message: format!(
                "cannot create dbplan's tables in the schema {}: {}; the role in the URL needs CREATE and USAGE on that schema (or to own it)",
                location.schema,
                super::connect::describe(&error)
            ),
        })?;
    transaction
        .commit()
        .await
        .map_err(|error| query_error(location, "cannot commit dbplan's tables", &error))?;
    match find(client, location).await? {
        Found::Version(version) => check_version(location, version),
        Found::Nothing => Err(StateError::Query {
            location: location.to_string(),
            message: "dbplan's tables are still missing after they were created".to_owned(),
        }),
    }
}
