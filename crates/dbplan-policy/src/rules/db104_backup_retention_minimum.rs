//! ## What it does
//! Checks that an Aurora cluster keeps automated backups at least as long as the policy pack's
//! `minimum_days` (7 by default). An omitted retention is RDS's default of 1 day.
//!
//! ## Why is this bad?
//! Point-in-time restore reaches back only as far as the retention period: with 1 day, a
//! mistake found on Monday morning can no longer be undone from Friday's data.
//!
//! ## Example
//! ```yaml
//! spec:
//!   backup_retention_period: 1
//! ```
//!
//! Use instead:
//! ```yaml
//! spec:
//!   backup_retention_period: 14
//! ```
//!
//! ## References
//! - AWS, CreateDBCluster `BackupRetentionPeriod`: "The number of days for which automated
//!   backups are retained. Default: 1. Constraints: Must be a value from 1 to 35."

use super::{Check, Code, Rule, RuleParam, aurora_clusters};
use crate::context::{Context, Findings};
use crate::pack::Enforcement;

pub(crate) const RULE: Rule = Rule {
    code: Code::new("DB104", "backup retention below the pack's minimum"),
    id: "backup-retention-minimum",
    default: Enforcement::Advisory,
    params: &[RuleParam {
        name: "minimum_days",
        default: 7,
        min: 1,
        max: 35,
        description: "the shortest retention allowed, in days (1 to 35)",
    }],
    source: include_str!("db104_backup_retention_minimum.rs"),
    check: Check::Manifest(check),
};

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    let minimum = context.param("minimum_days");
    for (resource, spec) in aurora_clusters(context) {
        let (days, pointer, how) = match spec.backup_retention_period {
            Some(days) => (i64::from(days), "/spec/backup_retention_period", "is"),
            None => (1, "/spec", "defaults to"),
        };
        // 0 is DB103's finding.
        if days >= 1 && days < minimum {
            findings.fail(
                resource,
                pointer,
                format!(
                    "backup retention {how} {days} day{}, below the minimum of {minimum}",
                    if days == 1 { "" } else { "s" }
                ),
                format!("set `backup_retention_period: {minimum}` or more"),
            );
        }
    }
}
