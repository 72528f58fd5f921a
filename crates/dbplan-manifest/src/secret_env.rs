//! Which environment variables a `{secretEnv: NAME}` field may read.
//!
//! A secret read from the environment is sent to the host the manifest names. A manifest must
//! not be able to send dbplan's own credentials (`AWS_*`, `DIGITALOCEAN_*`, `DBPLAN_*`) or a CI
//! system's tokens there: whoever can change a manifest in a pull request could otherwise
//! point a `PostgresServer` at a host of theirs and collect the token when the plan job runs.
//! Such a name is refused (a located diagnostic, naming the variable, never its value) unless
//! `DBPLAN_SECRET_ENV_ALLOW` lists it by its exact name.

use crate::checks::Checker;
use crate::codes;

/// The setting that allows refused names: a comma-separated list of exact variable names.
pub const ALLOW_VARIABLE: &str = "DBPLAN_SECRET_ENV_ALLOW";

/// Refused names: a trailing `*` matches any rest. dbplan's own credentials and settings
/// first, then the tokens CI systems put into every job's environment.
pub const DENIED: &[(&str, &str)] = &[
    (
        "AWS_*",
        "the AWS credentials and settings dbplan itself uses",
    ),
    (
        "DIGITALOCEAN_*",
        "the DigitalOcean token and API address dbplan itself uses",
    ),
    ("DBPLAN_*", "dbplan's own settings"),
    ("GITHUB_TOKEN", "the GitHub Actions job token"),
    ("GH_TOKEN", "the GitHub CLI's token"),
    ("GITHUB_*", "GitHub Actions' job settings and tokens"),
    (
        "ACTIONS_*",
        "GitHub Actions' runtime and OIDC request tokens",
    ),
    ("CI_*", "GitLab CI's job token and job settings"),
    ("GITLAB_*", "GitLab's tokens and settings"),
    ("BUILDKITE_*", "the Buildkite agent's token and settings"),
    ("SYSTEM_ACCESSTOKEN", "the Azure Pipelines job token"),
];

/// Why a variable name is refused: the matching entry of [`DENIED`], unless `allowed` (the
/// value of [`ALLOW_VARIABLE`]) names it.
pub fn refused(name: &str, allowed: Option<&str>) -> Option<(&'static str, &'static str)> {
    if allowed.is_some_and(|list| list.split(',').any(|entry| entry.trim() == name)) {
        return None;
    }
    DENIED
        .iter()
        .copied()
        .find(|(pattern, _)| match pattern.strip_suffix('*') {
            Some(prefix) => name.starts_with(prefix),
            None => name == *pattern,
        })
}

/// Reports a `secretEnv` name at `pointer` when it is refused. The allow list is read from the
/// process environment, as the loader reads its other settings.
pub(crate) fn check(checker: &mut Checker<'_>, pointer: &str, name: &str) {
    let allowed = std::env::var(ALLOW_VARIABLE).ok();
    if let Some((pattern, what)) = refused(name, allowed.as_deref()) {
        checker.report(
            codes::SECRET_ENV_REFUSED,
            pointer,
            format!(
                "`secretEnv` names {name}, which matches {pattern} ({what}); dbplan does not send it to a database server"
            ),
            format!(
                "keep the database password in a variable of its own, e.g. `PG_ADMIN_PASSWORD`; if {name} really holds it, allow it with {ALLOW_VARIABLE}={name}"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_and_ci_tokens_are_refused_unless_allowed_by_name() {
        for name in [
            "AWS_SECRET_ACCESS_KEY",
            "DIGITALOCEAN_TOKEN",
            "DBPLAN_STATE",
            "GITHUB_TOKEN",
            "GH_TOKEN",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            "CI_JOB_TOKEN",
            "GITLAB_TOKEN",
            "BUILDKITE_AGENT_ACCESS_TOKEN",
            "SYSTEM_ACCESSTOKEN",
        ] {
            assert!(refused(name, None).is_some(), "{name} must be refused");
        }
        for name in [
            "PG_ADMIN_PASSWORD",
            "PGPASSWORD",
            "ORDERS_DB_PASSWORD",
            "AWSX",
        ] {
            assert!(refused(name, None).is_none(), "{name} must be allowed");
        }
        let allow = Some("CI_DB_PASSWORD, AWS_DB_PASSWORD");
        assert!(refused("CI_DB_PASSWORD", allow).is_none());
        assert!(refused("AWS_DB_PASSWORD", allow).is_none());
        assert!(
            refused("AWS_SECRET_ACCESS_KEY", allow).is_some(),
            "only the names listed are allowed, not their prefix"
        );
        assert!(refused("CI_JOB_TOKEN", Some("CI_*")).is_some());
    }
}
