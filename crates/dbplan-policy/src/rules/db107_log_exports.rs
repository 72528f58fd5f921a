//! ## What it does
//! Checks that every log type in `enabled_cloudwatch_logs_exports` exists for the cluster's
//! engine: Aurora MySQL `audit`, `error`, `general`, `slowquery`, `iam-db-auth-error`,
//! `instance`; Aurora PostgreSQL `postgresql`, `iam-db-auth-error`, `instance`; RDS for MySQL
//! Multi-AZ clusters `error`, `general`, `slowquery`, `iam-db-auth-error`; RDS for PostgreSQL
//! `postgresql`, `upgrade`, `iam-db-auth-error`.
//!
//! ## Why is this bad?
//! RDS refuses an unknown log type (`InvalidParameterCombination`), typically a MySQL log name
//! on a PostgreSQL cluster copied from another stack.
//!
//! ## Example
//! ```yaml
//! spec:
//!   engine: aurora-postgresql
//!   enabled_cloudwatch_logs_exports: [slowquery]
//! ```
//!
//! Use instead:
//! ```yaml
//! spec:
//!   engine: aurora-postgresql
//!   enabled_cloudwatch_logs_exports: [postgresql]
//! ```
//!
//! ## References
//! - AWS, CreateDBCluster `EnableCloudwatchLogsExports`: "Aurora MySQL: Valid values: audit,
//!   error, general, instance, slowquery, iam-db-auth-error. Aurora PostgreSQL: Valid values:
//!   instance, postgresql, iam-db-auth-error."

use super::{Check, Code, Rule, aurora_clusters};
use crate::context::{Context, Findings};
use crate::pack::Enforcement;
use dbplan_manifest::kinds::AwsClusterEngine;

pub(crate) const RULE: Rule = Rule {
    code: Code::new("DB107", "log export not offered by the engine"),
    id: "log-exports",
    default: Enforcement::Mandatory,
    params: &[],
    source: include_str!("db107_log_exports.rs"),
    check: Check::Manifest(check),
};

fn valid(engine: AwsClusterEngine) -> &'static [&'static str] {
    match engine {
        AwsClusterEngine::AuroraMysql => &[
            "audit",
            "error",
            "general",
            "slowquery",
            "iam-db-auth-error",
            "instance",
        ],
        AwsClusterEngine::AuroraPostgresql => &["postgresql", "iam-db-auth-error", "instance"],
        AwsClusterEngine::Mysql => &["error", "general", "slowquery", "iam-db-auth-error"],
        AwsClusterEngine::Postgres => &["postgresql", "upgrade", "iam-db-auth-error"],
    }
}

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for (resource, spec) in aurora_clusters(context) {
        let allowed = valid(spec.engine);
        for (index, log) in spec.enabled_cloudwatch_logs_exports.iter().enumerate() {
            if !allowed.contains(&log.as_str()) {
                findings.fail(
                    resource,
                    &format!("/spec/enabled_cloudwatch_logs_exports/{index}"),
                    format!("{} does not export `{log}` logs", spec.engine.as_str()),
                    format!("use one of: {}", allowed.join(", ")),
                );
            }
        }
    }
}
