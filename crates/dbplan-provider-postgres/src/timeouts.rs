//! How long dbplan waits for a PostgreSQL server, per step, so that a server that accepts the
//! connection and never answers fails the resource instead of holding the apply (and the state
//! lock) forever.
//!
//! | variable | default | bounds |
//! | --- | --- | --- |
//! | `DBPLAN_CONNECT_TIMEOUT` | 10 s | each step of opening a connection: the TCP connection; then the TLS handshake and the authentication together |
//! | `DBPLAN_READ_TIMEOUT` | 60 s | one statement (sent to the server as `statement_timeout`) |
//! | `DBPLAN_LONG_STATEMENT_TIMEOUT` | 600 s | `CREATE DATABASE` and `DROP DATABASE`, which copy or remove files |
//!
//! Values are seconds, decimals allowed (`0.5`), above 0 and at most 86400; anything else is an
//! error, never a silent fallback to the default (read by [`dbplan_provider::timeouts`]). The
//! same `DBPLAN_CONNECT_TIMEOUT` and `DBPLAN_READ_TIMEOUT` bound the AWS and DigitalOcean
//! providers' HTTP requests.

use crate::connect::Env;
pub(crate) use dbplan_provider::timeouts::{CONNECT_VARIABLE, READ_VARIABLE};
use dbplan_provider::timeouts::{DEFAULT_CONNECT, DEFAULT_READ, seconds};
use std::time::Duration;

/// PostgreSQL's own variable, for the statements that copy or remove files, and its default.
pub(crate) const LONG_STATEMENT_VARIABLE: &str = "DBPLAN_LONG_STATEMENT_TIMEOUT";
const DEFAULT_LONG_STATEMENT: Duration = Duration::from_secs(600);

/// The client gives a statement this much longer than the server-side `statement_timeout`
/// (or the limit again, when that is shorter), so that a live server reports its own timeout
/// (SQLSTATE 57014, the connection stays usable) before the client gives up on a silent one.
const CLIENT_GRACE: Duration = Duration::from_secs(5);

/// The bounds of one provider, read once from the environment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Timeouts {
    /// Each step of opening a connection.
    pub(crate) connect: Duration,
    /// One statement.
    pub(crate) statement: Duration,
    /// `CREATE DATABASE`, `DROP DATABASE`.
    pub(crate) long_statement: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            connect: DEFAULT_CONNECT,
            statement: DEFAULT_READ,
            long_statement: DEFAULT_LONG_STATEMENT,
        }
    }
}

impl Timeouts {
    /// The bounds the environment sets, or an error naming the variable with a bad value.
    pub(crate) fn from_env(env: &Env) -> Result<Timeouts, String> {
        let defaults = Timeouts::default();
        Ok(Timeouts {
            connect: seconds(&**env, CONNECT_VARIABLE, defaults.connect)?,
            statement: seconds(&**env, READ_VARIABLE, defaults.statement)?,
            long_statement: seconds(&**env, LONG_STATEMENT_VARIABLE, defaults.long_statement)?,
        })
    }

    /// How long the client waits for an answer to a statement the server bounds at `limit`.
    pub(crate) fn client_bound(limit: Duration) -> Duration {
        limit + limit.min(CLIENT_GRACE)
    }
}

/// A duration as the text of messages: `10 s`, `0.5 s`.
pub(crate) fn shown(duration: Duration) -> String {
    format!("{} s", duration.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> Env {
        Arc::new(move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| (*value).to_owned())
        })
    }

    #[test]
    fn defaults_apply_when_nothing_is_set_and_variables_override_them() {
        assert_eq!(Timeouts::from_env(&env(&[])), Ok(Timeouts::default()));
        let timeouts = Timeouts::from_env(&env(&[
            ("DBPLAN_CONNECT_TIMEOUT", "0.5"),
            ("DBPLAN_READ_TIMEOUT", " 2 "),
            ("DBPLAN_LONG_STATEMENT_TIMEOUT", "3600"),
        ]));
        assert_eq!(
            timeouts,
            Ok(Timeouts {
                connect: Duration::from_millis(500),
                statement: Duration::from_secs(2),
                long_statement: Duration::from_secs(3600),
            })
        );
    }

    #[test]
    fn a_bad_value_is_an_error_naming_the_variable() {
        // The parsing is dbplan_provider::timeouts's (tested there); each variable is read
        // with it, PostgreSQL's own included.
        for (variable, default) in [
            ("DBPLAN_CONNECT_TIMEOUT", 10),
            ("DBPLAN_READ_TIMEOUT", 60),
            ("DBPLAN_LONG_STATEMENT_TIMEOUT", 600),
        ] {
            let pairs: &'static [(&'static str, &'static str)] =
                Box::leak(Box::new([(variable, "ten")]));
            let error = Timeouts::from_env(&env(pairs)).err();
            assert!(
                error.as_deref().is_some_and(|error| error
                    .starts_with(&format!("{variable}=\"ten\" is not a number"))
                    && error.contains(&format!("such as {default} (the default)"))),
                "{variable}: {error:?}"
            );
        }
    }

    #[test]
    fn the_client_waits_a_little_longer_than_the_server() {
        assert_eq!(
            Timeouts::client_bound(Duration::from_secs(60)),
            Duration::from_secs(65)
        );
        assert_eq!(
            Timeouts::client_bound(Duration::from_secs(1)),
            Duration::from_secs(2)
        );
    }
}
