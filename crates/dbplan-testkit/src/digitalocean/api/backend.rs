//! The real PostgreSQL server behind the `pg` clusters ([`crate::digitalocean::SqlBackend`]):
//! what the API makes or deletes is made or dropped there too, before the API's own record
//! changes, so that a refusal by PostgreSQL leaves both as they were.

use super::request::ApiError;
use super::shared::{Shared, lock};
use axum::http::StatusCode;

/// An identifier, quoted.
pub(super) fn ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A string literal, quoted.
pub(super) fn literal(text: &str) -> String {
    format!("'{}'", text.replace('\'', "''"))
}

/// Whether clusters of `engine` have the server behind them.
pub(super) fn backs(shared: &Shared, engine: &str) -> bool {
    engine == "pg" && lock(&shared.config).sql.is_some()
}

/// Runs `sql` on the server, when there is one, off the request's worker (`psql` blocks). A
/// refusal is a `422` with PostgreSQL's message.
pub(super) async fn run(shared: &Shared, sql: String) -> Result<(), ApiError> {
    let Some(backend) = lock(&shared.config).sql.clone() else {
        return Ok(());
    };
    tokio::task::spawn_blocking(move || (backend.execute)(&sql))
        .await
        .map_err(|error| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                format!("the database server's task failed: {error}"),
            )
        })?
        .map_err(ApiError::invalid)
}

/// The SQL that makes (or, for a name made by an earlier cluster on the same server, resets)
/// a cluster's `doadmin` as DigitalOcean makes it.
pub(super) fn admin_sql(name: &str, password: &str) -> String {
    format!(
        "DO $$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {name_literal}) THEN CREATE ROLE {name}; END IF; END$$; ALTER ROLE {name} WITH LOGIN CREATEDB CREATEROLE NOSUPERUSER PASSWORD {password}",
        name_literal = literal(name),
        name = ident(name),
        password = literal(password),
    )
}

/// Makes a new cluster's admin on the server (`sql`, from [`admin_sql`]) and its `defaultdb`,
/// which every cluster has; one an earlier cluster made on the same server stays.
pub(super) async fn make_admin(shared: &Shared, sql: String) -> Result<(), ApiError> {
    run(shared, sql).await?;
    match run(shared, "CREATE DATABASE defaultdb OWNER doadmin".to_owned()).await {
        Err(error) if error.message().contains("already exists") => Ok(()),
        other => other,
    }
}
