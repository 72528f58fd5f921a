//! Where a PostgreSQL state lives: a libpq-style URL plus dbplan's own parameters.
//!
//! `postgres://USER@HOST:PORT/DATABASE?sslmode=verify-full&sslrootcert=ca.pem&schema=dbplan&state=prod`
//!
//! - `schema` (default `dbplan`): the schema holding the tables; `state` (default `default`):
//!   the state's name, so that one schema holds several states (one per environment).
//! - The password never comes from the command line: a URL holding one is refused. It comes
//!   from the variable `password_env` names, else from `PGPASSWORD`, as libpq reads it. `PGHOST`,
//!   `PGPORT`, `PGUSER`, `PGDATABASE`, `PGSSLMODE` and `PGSSLROOTCERT` fill in what the URL
//!   leaves out.
//! - `sslmode` is libpq's: `disable`, `prefer` (the default), `require` (encrypted, the
//!   certificate not verified), `verify-ca` and `verify-full` (both verify the certificate
//!   chain and the host name, against `sslrootcert` or the system's CA certificates).
//!
//! The parameters dbplan reads are taken out before the rest is handed to tokio-postgres,
//! which accepts libpq's other parameters (`connect_timeout`, `application_name`, …).

use crate::StateError;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// The schema when the URL names none.
pub const DEFAULT_SCHEMA: &str = "dbplan";
/// The state's name when the URL names none.
pub const DEFAULT_STATE: &str = "default";

/// How the connection is encrypted (libpq's `sslmode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Prefer,
    Require,
    /// `verify-ca` and `verify-full`: the chain and the host name are verified.
    Verify,
}

/// A PostgreSQL state: where it is and how to reach it. `Debug` and `Display` never show the
/// password.
#[derive(Clone)]
pub struct PgLocation {
    pub(crate) config: tokio_postgres::Config,
    pub(crate) schema: String,
    pub(crate) state: String,
    pub(crate) sslmode: SslMode,
    pub(crate) sslrootcert: Option<PathBuf>,
    /// How long a writer's lock lasts without its heartbeat ([`super::LEASE_VARIABLE`]).
    pub(crate) lease: Duration,
    /// Each connection attempt (`DBPLAN_CONNECT_TIMEOUT`).
    pub(crate) connect_timeout: Duration,
    /// Each statement (`DBPLAN_READ_TIMEOUT`).
    pub(crate) statement_timeout: Duration,
    /// `postgres://user@host:port/database (schema dbplan, state default)`, for messages.
    shown: String,
}

impl std::fmt::Debug for PgLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

impl std::fmt::Display for PgLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.shown)
    }
}

/// Whether `text` names a PostgreSQL state rather than a directory.
pub fn is_postgres_url(text: &str) -> bool {
    text.starts_with("postgres://") || text.starts_with("postgresql://")
}

fn bad(text: &str, why: impl std::fmt::Display) -> StateError {
    StateError::Url {
        url: redacted(text),
        why: why.to_string(),
    }
}

/// The URL without a password, for messages: neither the one between `://` and `@` nor a
/// `password=` parameter.
fn redacted(text: &str) -> String {
    let Some((scheme, rest)) = text.split_once("://") else {
        return text.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((user_info, host)) if user_info.contains(':') => {
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{user}:(password removed)@{host}")
        }
        _ => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some(("password", _)) => "password=(removed)".to_owned(),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// A name dbplan puts in SQL as an identifier: lower-case letters, digits and `_`, not
/// starting with a digit, at most 63 bytes (PostgreSQL's limit).
fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_')
        && !name.starts_with(|first: char| first.is_ascii_digit())
}

/// A state's name: letters, digits, `.`, `_` and `-`, 1 to 100 of them.
fn is_state_name(name: &str) -> bool {
    (1..=100).contains(&name.len())
        && name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-'))
}

impl PgLocation {
    /// The location `text` names, with the environment `env` (libpq's variables) filling in
    /// what the URL leaves out.
    // Long: one pass over the URL's parameters, then the environment's defaults, in libpq's
    // order; each refusal says what to change.
    pub fn parse(
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<PgLocation, StateError> {
        let (base, query) = text.split_once('?').unwrap_or((text, ""));
        let mut schema = DEFAULT_SCHEMA.to_owned();
        let mut state = DEFAULT_STATE.to_owned();
        let mut sslmode = env("PGSSLMODE");
        let mut sslrootcert = env("PGSSLROOTCERT");
        let mut password_env = None;
        let mut rest = Vec::new();
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            match name {
                "schema" => schema = value.to_owned(),
                "state" => state = value.to_owned(),
                "sslmode" => sslmode = Some(value.to_owned()),
                "sslrootcert" => sslrootcert = Some(value.to_owned()),
                "password_env" => password_env = Some(value.to_owned()),
                "password" => {
                    return Err(bad(
                        text,
                        "the URL holds a password; remove it and set PGPASSWORD (or the variable `password_env=` names) instead",
                    ));
                }
                _ => rest.push(pair),
            }
        }
        if !is_identifier(&schema) {
            return Err(bad(
                text,
                format!(
                    "schema={schema:?} is not a schema name dbplan uses; use lower-case letters, digits and _ (at most 63)"
                ),
            ));
        }
        if !is_state_name(&state) {
            return Err(bad(
                text,
                format!(
                    "state={state:?} is not a state name; use letters, digits, '.', '_' and '-' (1 to 100)"
                ),
            ));
        }
        let handed = if rest.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", rest.join("&"))
        };
        let mut config = tokio_postgres::Config::from_str(&handed)
            .map_err(|error| bad(text, format!("it is not a PostgreSQL URL: {error}")))?;
        if config.get_password().is_some() {
            return Err(bad(
                text,
                "the URL holds a password; remove it and set PGPASSWORD (or the variable `password_env=` names) instead",
            ));
        }
        if config.get_hosts().is_empty() {
            config.host(env("PGHOST").as_deref().unwrap_or("localhost"));
        }
        if config.get_ports().is_empty()
            && let Some(port) = env("PGPORT")
        {
            let port = port
                .trim()
                .parse::<u16>()
                .map_err(|_| bad(text, format!("PGPORT={port:?} is not a port number")))?;
            config.port(port);
        }
        if config.get_user().is_none() {
            let user = env("PGUSER").or_else(|| env("USER")).ok_or_else(|| {
                bad(
                    text,
                    "the URL names no user; add it (postgres://USER@HOST/DATABASE) or set PGUSER",
                )
            })?;
            config.user(&user);
        }
        if config.get_dbname().is_none() {
            let database = env("PGDATABASE")
                .or_else(|| config.get_user().map(str::to_owned))
                .unwrap_or_default();
            config.dbname(&database);
        }
        let password = match &password_env {
            Some(variable) => Some(env(variable).ok_or_else(|| {
                bad(
                    text,
                    format!(
                        "the state's password comes from the environment variable {variable} (password_env), which is not set; set it"
                    ),
                )
            })?),
            None => env("PGPASSWORD"),
        };
        if let Some(password) = password {
            config.password(password);
        }
        let sslmode = match sslmode.as_deref().unwrap_or("prefer") {
            "disable" => SslMode::Disable,
            "allow" | "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" | "verify-full" => SslMode::Verify,
            other => {
                return Err(bad(
                    text,
                    format!(
                        "sslmode={other:?} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                    ),
                ));
            }
        };
        config.ssl_mode(match sslmode {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::Verify => tokio_postgres::config::SslMode::Require,
        });
        if config.get_application_name().is_none() {
            // Its own name, so that a server's sessions tell the state's from a provider's.
            config.application_name("dbplan-state");
        }
        let shown = format!("{} (schema {schema}, state {state})", shown_url(&config));
        let lease =
            dbplan_core::timeouts::seconds(env, super::LEASE_VARIABLE, super::DEFAULT_LEASE)
                .map_err(|error| bad(text, error))?;
        if lease < Duration::from_secs(1) {
            return Err(bad(
                text,
                format!("{} must be at least 1 second", super::LEASE_VARIABLE),
            ));
        }
        let timeout = |variable, default| {
            dbplan_core::timeouts::seconds(env, variable, default).map_err(|error| bad(text, error))
        };
        let connect_timeout = timeout(
            dbplan_core::timeouts::CONNECT_VARIABLE,
            dbplan_core::timeouts::DEFAULT_CONNECT,
        )?;
        let statement_timeout = timeout(
            dbplan_core::timeouts::READ_VARIABLE,
            dbplan_core::timeouts::DEFAULT_READ,
        )?;
        Ok(PgLocation {
            config,
            schema,
            state,
            sslmode,
            sslrootcert: sslrootcert.map(PathBuf::from),
            lease,
            connect_timeout,
            statement_timeout,
            shown,
        })
    }

    /// The location from the process's environment.
    pub fn from_text(text: &str) -> Result<PgLocation, StateError> {
        PgLocation::parse(text, &|name| std::env::var(name).ok())
    }

    /// For errors, whose location is a path: the location's text as one.
    pub(crate) fn as_path(&self) -> PathBuf {
        PathBuf::from(&self.shown)
    }

    /// The schema, quoted as an identifier (it holds only characters that need no escaping).
    pub(crate) fn quoted_schema(&self) -> String {
        format!("\"{}\"", self.schema)
    }

    /// The state's name within its schema.
    pub fn state_name(&self) -> &str {
        &self.state
    }
}

/// `postgres://user@host:port/database`, never with a password.
fn shown_url(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) if host.contains(':') => format!("[{host}]"),
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => String::new(),
    };
    let port = config
        .get_ports()
        .first()
        .map_or_else(String::new, |port| format!(":{port}"));
    format!(
        "postgres://{}@{host}{port}/{}",
        config.get_user().unwrap_or_default(),
        config.get_dbname().unwrap_or_default()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        }
    }

    #[test]
    fn dbplan_parameters_are_taken_out_and_the_rest_is_libpq() {
        let location = PgLocation::parse(
            "postgres://ci@db.internal:6432/platform?sslmode=require&schema=team_a&state=prod&application_name=x",
            &env(&[("PGPASSWORD", "s3cret")]),
        )
        .unwrap();
        assert_eq!(location.schema, "team_a");
        assert_eq!(location.state, "prod");
        assert_eq!(location.sslmode, SslMode::Require);
        assert_eq!(location.config.get_password(), Some("s3cret".as_bytes()));
        assert_eq!(location.config.get_application_name(), Some("x"));
        assert_eq!(
            location.to_string(),
            "postgres://ci@db.internal:6432/platform (schema team_a, state prod)"
        );
        assert!(!format!("{location:?}").contains("s3cret"));
    }

    #[test]
    fn a_password_in_the_url_is_refused_and_never_repeated() {
        for url in [
            "postgres://ci:hunter2@db/platform",
            "postgres://ci@db/platform?password=hunter2",
        ] {
            let error = PgLocation::parse(url, &env(&[])).unwrap_err().to_string();
            assert!(error.contains("PGPASSWORD"), "{error}");
            assert!(!error.contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn the_password_comes_from_the_variable_password_env_names() {
        let location = PgLocation::parse(
            "postgresql://ci@db/platform?password_env=STATE_PW",
            &env(&[("STATE_PW", "from-variable"), ("PGPASSWORD", "other")]),
        )
        .unwrap();
        assert_eq!(
            location.config.get_password(),
            Some("from-variable".as_bytes())
        );
        let error = PgLocation::parse(
            "postgresql://ci@db/platform?password_env=STATE_PW",
            &env(&[]),
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains("STATE_PW"), "{error}");
    }

    #[test]
    fn defaults_and_bad_names() {
        let location =
            PgLocation::parse("postgres://db/platform", &env(&[("PGUSER", "me")])).unwrap();
        assert_eq!(
            (location.schema.as_str(), location.state.as_str()),
            (DEFAULT_SCHEMA, DEFAULT_STATE)
        );
        assert_eq!(location.sslmode, SslMode::Prefer);
        assert_eq!(location.config.get_user(), Some("me"));
        for url in [
            "postgres://me@db/p?schema=Bad-Name",
            "postgres://me@db/p?schema=1x",
            "postgres://me@db/p?state=a%20b",
            "postgres://me@db/p?sslmode=sometimes",
        ] {
            assert!(PgLocation::parse(url, &env(&[])).is_err(), "{url}");
        }
    }
}
