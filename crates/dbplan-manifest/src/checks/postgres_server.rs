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
        check_connect_via(checker, "/spec/connect_via/host", self.connect_via.as_ref());
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

/// A tunnel's local end (`connect_via`, of a server or of a cluster's `admin_connection`, at
/// `pointer`): its host alone, without a scheme, port, path or user.
pub(super) fn check_connect_via(
    checker: &mut Checker<'_>,
    pointer: &str,
    via: Option<&dbplan_core::kinds::postgres_server::ConnectVia>,
) {
    if let Some(via) = via
        && !is_host(&via.host)
    {
        checker.report(
            codes::BAD_FORMAT,
            pointer,
            format!("{:?} is not a host name or IP address", via.host),
            "write only the tunnel's local host, e.g. `127.0.0.1`; the port goes in its own `port` field",
        );
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
