use super::{Check, Checker};
use crate::codes;
use dbplan_core::kinds::postgres_server::PostgresServerSpec;

impl Check for PostgresServerSpec {
    fn check(&self, checker: &mut Checker<'_>) {
        if !is_host(&self.host) {
            checker.report(
                codes::BAD_FORMAT,
                "/spec/host",
                format!("{:?} is not a host name or IP address", self.host),
                "write only the host, e.g. `db.internal.example.com`; the port goes in `port`",
            );
        }
        if let Some(via) = &self.connect_via
            && !is_host(&via.host)
        {
            checker.report(
                codes::BAD_FORMAT,
                "/spec/connect_via/host",
                format!("{:?} is not a host name or IP address", via.host),
                "write only the tunnel's local host, e.g. `127.0.0.1`; the port goes in its own `port` field",
            );
        }
        if let Some(password) = &self.admin_password {
            if is_env_name(&password.secret_env) {
                crate::secret_env::check(
                    checker,
                    "/spec/admin_password/secret_env",
                    &password.secret_env,
                );
            } else {
                checker.report(
                    codes::BAD_FORMAT,
                    "/spec/admin_password/secret_env",
                    format!("{:?} is not an environment variable name", password.secret_env),
                    "use letters, digits and underscores, not starting with a digit, e.g. `PG_ADMIN_PASSWORD`",
                );
            }
        }
    }
}

/// Whether a string can be a host name or an IP address alone: no space, path, user or the like.
pub(super) fn is_host(text: &str) -> bool {
    !text
        .chars()
        .any(|c| c.is_whitespace() || c == '/' || c == '@')
}

/// Whether a string is a portable environment variable name.
pub fn is_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic() || first == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}
