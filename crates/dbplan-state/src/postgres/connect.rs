//! Opening a connection to the state's server: TLS per `sslmode` (rustls on ring, the stack
//! every other client of dbplan uses), every step bounded by `DBPLAN_CONNECT_TIMEOUT`, and
//! retries with backoff while the server cannot be reached (a restart), up to
//! [`Bounds::reconnect`].

use super::location::{PgLocation, SslMode};
use crate::StateError;
use dbplan_core::timeouts::CONNECT_VARIABLE;
use std::time::{Duration, Instant};
use tokio_postgres::Client;

/// How long the backend waits, read once from the environment.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Bounds {
    /// One connection attempt: TCP, TLS and authentication together.
    pub(crate) connect: Duration,
    /// One statement (also sent as `statement_timeout`).
    pub(crate) statement: Duration,
    /// How long a lost connection is tried again before the operation fails: long enough for
    /// a server restart, shorter than the lease so a writer never outlives its lock unnoticed.
    pub(crate) reconnect: Duration,
}

impl Bounds {
    pub(crate) fn of(location: &PgLocation) -> Bounds {
        Bounds {
            connect: location.connect_timeout,
            statement: location.statement_timeout,
            reconnect: Duration::from_secs(30),
        }
    }
}

/// A connection error, as one sentence with its causes, for the messages.
pub(crate) fn describe(error: &tokio_postgres::Error) -> String {
    if let Some(database) = error.as_db_error() {
        return format!(
            "{} (SQLSTATE {})",
            database.message(),
            database.code().code()
        );
    }
    dbplan_core::causes::error_chain(error)
}

/// Whether trying again may help: the server could not be reached or went away, as opposed
/// to refusing (authentication, a missing database, a TLS certificate it does not accept).
pub(crate) fn is_transient(error: &tokio_postgres::Error) -> bool {
    match error.as_db_error() {
        // 57P01..57P03: the server shuts down, or is starting up.
        Some(database) => matches!(database.code().code(), "57P01" | "57P02" | "57P03"),
        None => {
            error.is_closed()
                || std::error::Error::source(error)
                    .is_some_and(|cause| cause.downcast_ref::<std::io::Error>().is_some())
        }
    }
}

fn connect_error(location: &PgLocation, message: impl std::fmt::Display) -> StateError {
    StateError::Connect {
        location: location.to_string(),
        message: message.to_string(),
    }
}

/// One connection, its driver spawned on the current runtime; a failure says whether trying
/// again may help.
async fn connect_once(
    location: &PgLocation,
    bounds: &Bounds,
) -> Result<Client, (StateError, bool)> {
    let tls = match location.sslmode {
        SslMode::Disable => None,
        mode => Some(
            tls_config(location, mode == SslMode::Verify)
                .map_err(|message| (connect_error(location, message), false))?,
        ),
    };
    let attempt = async {
        match tls {
            None => {
                let (client, connection) = location.config.connect(tokio_postgres::NoTls).await?;
                tokio::spawn(connection);
                Ok::<Client, tokio_postgres::Error>(client)
            }
            Some(tls) => {
                let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls);
                let (client, connection) = location.config.connect(tls).await?;
                tokio::spawn(connection);
                Ok(client)
            }
        }
    };
    match tokio::time::timeout(bounds.connect, attempt).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(error)) => Err((
            connect_error(location, describe(&error)),
            is_transient(&error),
        )),
        Err(_) => Err((
            connect_error(
                location,
                format!(
                    "no answer within {} s ({CONNECT_VARIABLE}); check the host and port, or raise {CONNECT_VARIABLE}",
                    bounds.connect.as_secs_f64()
                ),
            ),
            true,
        )),
    }
}

/// A connection. With `patient` (a connection lost mid-session), tried again with backoff
/// while the server cannot be reached, for at most `bounds.reconnect`; otherwise (the first
/// connection, where a wrong host or port is the likelier cause) tried once.
pub(crate) async fn connect(
    location: &PgLocation,
    bounds: &Bounds,
    patient: bool,
) -> Result<Client, StateError> {
    // The TLS set-up is checked once, before any attempt: a bad CA file is not transient.
    if location.sslmode != SslMode::Disable {
        tls_config(location, location.sslmode == SslMode::Verify)
            .map_err(|message| connect_error(location, message))?;
    }
    let started = Instant::now();
    let mut pause = Duration::from_millis(100);
    loop {
        match connect_once(location, bounds).await {
            Ok(client) => return Ok(client),
            Err((error, retry)) => {
                if !patient || !retry || started.elapsed() + pause > bounds.reconnect {
                    return Err(error);
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
        }
    }
}

/// The TLS configuration for `location` (see `dbplan_pgtls`), or what is wrong with its CA file.
pub(crate) fn tls_config(
    location: &PgLocation,
    verify: bool,
) -> Result<rustls::ClientConfig, String> {
    dbplan_pgtls::client_config(verify, location.sslrootcert.as_deref())
        .map_err(|error| error.to_string())
}
