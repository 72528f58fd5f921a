//! ## What it does
//! Checks that a static cluster parameter (one that takes effect only after a reboot, such as
//! `shared_buffers` or `shared_preload_libraries` on Aurora PostgreSQL, or `binlog_format` on
//! Aurora MySQL) is applied with `apply_method: pending-reboot`. An omitted `apply_method` is
//! `immediate`.
//!
//! ## Why is this bad?
//! RDS refuses `immediate` for static parameters (`InvalidParameterCombination: cannot use
//! immediate apply method for static parameter`), so the parameter group update fails.
//!
//! ## Example
//! ```yaml
//! spec:
//!   parameters:
//!     - {name: shared_preload_libraries, value: pg_stat_statements, apply_method: immediate}
//! ```
//!
//! Use instead:
//! ```yaml
//! spec:
//!   parameters:
//!     - {name: shared_preload_libraries, value: pg_stat_statements, apply_method: pending-reboot}
//! ```
//!
//! ## References
//! - AWS, Parameter `ApplyMethod`: "Indicates when to apply parameter updates." "You can use the
//!   immediate value with dynamic parameters only. You can use the pending-reboot value for both
//!   dynamic and static parameters."

use super::{Check, Code, Rule, aurora_clusters};
use crate::context::{Context, Findings};
use crate::pack::Enforcement;
use dbplan_manifest::kinds::{ApplyMethod, AwsClusterEngine};

pub(crate) const RULE: Rule = Rule {
    code: Code::new("DB108", "static parameter applied immediately"),
    id: "static-parameter-immediate",
    default: Enforcement::Mandatory,
    params: &[],
    source: include_str!("db108_static_parameter_immediate.rs"),
    check: Check::Manifest(check),
};

/// Static parameters of Aurora PostgreSQL cluster parameter groups (PostgreSQL's
/// "postmaster"-context settings that Aurora exposes).
const POSTGRES_STATIC: &[&str] = &[
    "shared_buffers",
    "shared_preload_libraries",
    "max_connections",
    "max_worker_processes",
    "max_wal_senders",
    "max_replication_slots",
    "max_prepared_transactions",
    "max_locks_per_transaction",
    "max_pred_locks_per_transaction",
    "max_logical_replication_workers",
    "autovacuum_max_workers",
    "track_activity_query_size",
    "huge_pages",
    "rds.logical_replication",
];

/// Static parameters of Aurora MySQL cluster parameter groups.
const MYSQL_STATIC: &[&str] = &[
    "binlog_format",
    "lower_case_table_names",
    "performance_schema",
    "innodb_autoinc_lock_mode",
    "innodb_ft_min_token_size",
    "innodb_ft_max_token_size",
    "ft_min_word_len",
    "ft_max_word_len",
];

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for (resource, spec) in aurora_clusters(context) {
        let statics = match spec.engine {
            AwsClusterEngine::AuroraPostgresql | AwsClusterEngine::Postgres => POSTGRES_STATIC,
            AwsClusterEngine::AuroraMysql | AwsClusterEngine::Mysql => MYSQL_STATIC,
        };
        for (index, parameter) in spec.parameters.iter().enumerate() {
            let name = parameter.name.to_ascii_lowercase();
            if parameter.apply_method != Some(ApplyMethod::PendingReboot)
                && statics.contains(&name.as_str())
            {
                let (pointer, how) = match parameter.apply_method {
                    Some(_) => (
                        format!("/spec/parameters/{index}/apply_method"),
                        "is applied",
                    ),
                    None => (format!("/spec/parameters/{index}/name"), "defaults to"),
                };
                findings.fail(
                    resource,
                    &pointer,
                    format!("`{}` is a static parameter; it {how} `immediate`, which RDS refuses", parameter.name),
                    "set `apply_method: pending-reboot` (the change takes effect at the next reboot)",
                );
            }
        }
    }
}
