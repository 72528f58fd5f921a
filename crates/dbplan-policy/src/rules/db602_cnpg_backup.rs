//! ## What it does
//! Reports CloudNativePG clusters without backups, or with an object store but no `schedule`
//! (only WAL archiving, no base backups to restore from).
//!
//! ## Why is this bad?
//! Without base backups, a lost volume, a dropped table or a bad migration cannot be recovered;
//! WAL alone cannot be replayed without a base backup.
//!
//! ## Example
//! ```yaml
//! kind: CnpgCluster
//! spec:
//!   instances: 3
//! ```
//!
//! Use instead:
//! ```yaml
//! spec:
//!   backup:
//!     destination_path: s3://backups/home-pg
//!     retention_policy: 30d
//!     schedule: "0 0 3 * * *"
//! ```
//!
//! ## References
//! - CloudNativePG, Backup: "a base backup … and the continuous archive of WAL files are the two
//!   components of a physical backup"; a `ScheduledBackup` takes base backups on a schedule.

use super::{Check, Code, Rule};
use crate::context::{Context, Findings};
use crate::pack::Enforcement;
use dbplan_manifest::Spec;

pub(crate) const RULE: Rule = Rule {
    code: Code::new("DB602", "CloudNativePG cluster without scheduled backups"),
    id: "cnpg-backup",
    default: Enforcement::Advisory,
    params: &[],
    source: include_str!("db602_cnpg_backup.rs"),
    check: Check::Manifest(check),
};

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for resource in context.resources() {
        let Spec::CnpgCluster(spec) = &resource.spec else {
            continue;
        };
        match &spec.backup {
            None => findings.fail(
                resource,
                "/spec",
                "the cluster has no backups",
                "add `backup` with `destination_path`, `retention_policy` and a `schedule`",
            ),
            Some(backup) if backup.schedule.is_none() => findings.fail(
                resource,
                "/spec/backup",
                "backups are configured but not scheduled: there will be no base backup to restore from",
                "add `schedule`, e.g. \"0 0 3 * * *\" for 03:00 every day",
            ),
            Some(_) => {}
        }
    }
}
