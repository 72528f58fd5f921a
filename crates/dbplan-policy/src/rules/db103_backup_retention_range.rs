//! ## What it does
//! Checks that an Aurora cluster keeps automated backups for 1 to 35 days.
//!
//! ## Why is this bad?
//! Project Planton accepts `backup_retention_period: 0`, but Aurora cannot turn automated
//! backups off: RDS refuses 0 at apply time.
//!
//! ## Example
//! ```yaml
//! spec:
//!   backup_retention_period: 0
//! ```
//!
//! Use instead:
//! ```yaml
//! spec:
//!   backup_retention_period: 7
//! ```
//!
//! ## References
//! - AWS, CreateDBCluster `BackupRetentionPeriod`: "Must be a value from 1 to 35." Default: 1.

use super::{Check, Code, Rule, aurora_clusters};
use crate::context::{Context, Findings};
use crate::pack::Enforcement;

pub(crate) const RULE: Rule = Rule {
    code: Code::new("DB103", "backup retention outside 1 to 35 days"),
    id: "backup-retention-range",
    default: Enforcement::Mandatory,
    params: &[],
    source: include_str!("db103_backup_retention_range.rs"),
    check: Check::Manifest(check),
};

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for (resource, spec) in aurora_clusters(context) {
        if let Some(days) = spec.backup_retention_period
            && !(1..=35).contains(&days)
        {
            findings.fail(
                resource,
                "/spec/backup_retention_period",
                format!("Aurora keeps automated backups 1 to 35 days, not {days}; backups cannot be turned off"),
                "set `backup_retention_period` from 1 to 35",
            );
        }
    }
}
