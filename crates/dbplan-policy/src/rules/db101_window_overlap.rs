//! ## What it does
//! Checks that an Aurora cluster's daily backup window does not overlap its weekly maintenance
//! window. The backup window repeats every day of the 10,080-minute week; both may cross
//! midnight (`23:30-00:30`) and the maintenance window may cross days (`sun:23:45-mon:00:15`),
//! including the Sunday→Monday wrap. Windows that only touch (one ends when the other starts)
//! do not overlap.
//!
//! ## Why is this bad?
//! RDS refuses the cluster: `InvalidParameterValue: The backup window and maintenance window
//! must not overlap`. The plan looks fine and the apply fails halfway.
//!
//! ## Example
//! ```yaml
//! spec:
//!   preferred_backup_window: "23:30-00:30"
//!   preferred_maintenance_window: "sun:23:45-mon:00:15"
//! ```
//!
//! Use instead:
//! ```yaml
//! spec:
//!   preferred_backup_window: "03:00-03:30"
//!   preferred_maintenance_window: "sun:23:45-mon:00:15"
//! ```
//!
//! ## References
//! - AWS, CreateDBCluster `PreferredBackupWindow`: "Must be in the format hh24:mi-hh24:mi. Must
//!   be in Universal Coordinated Time (UTC). Must not conflict with the preferred maintenance
//!   window. Must be at least 30 minutes."
//! - AWS, CreateDBInstance `PreferredMaintenanceWindow`: "Must not conflict with the preferred
//!   backup window."

use super::{Check, Code, Rule, aurora_clusters};
use crate::context::{Context, Findings};
use crate::pack::Enforcement;
use dbplan_manifest::formats::{
    BackupWindow, DAY_MINUTES, MaintenanceWindow, clock, parse_backup_window,
    parse_maintenance_window, week_time,
};

pub(crate) const RULE: Rule = Rule {
    code: Code::new("DB101", "backup window overlaps the maintenance window"),
    id: "window-overlap",
    default: Enforcement::Mandatory,
    params: &[],
    source: include_str!("db101_window_overlap.rs"),
    check: Check::Manifest(check),
};

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for (resource, spec) in aurora_clusters(context) {
        let (Some(backup), Some(maintenance)) = (
            spec.preferred_backup_window.as_deref(),
            spec.preferred_maintenance_window.as_deref(),
        ) else {
            continue;
        };
        // Malformed windows are reported by validation (M010).
        let (Ok(backup), Ok(maintenance)) = (
            parse_backup_window(backup),
            parse_maintenance_window(maintenance),
        ) else {
            continue;
        };
        if let Some((first, minutes)) = maintenance.overlap_with(&backup) {
            findings.fail(
                resource,
                "/spec/preferred_backup_window",
                format!(
                    "the daily backup window {backup} overlaps the maintenance window {maintenance} for {minutes} minutes (from {})",
                    week_time(first)
                ),
                suggestion(&backup, &maintenance),
            );
        }
    }
}

/// A backup window of the same length that clears the maintenance window: right after it, or
/// right before it.
fn suggestion(backup: &BackupWindow, maintenance: &MaintenanceWindow) -> String {
    let length = backup.minutes();
    let after = maintenance.end % DAY_MINUTES;
    let before = (maintenance.start % DAY_MINUTES + DAY_MINUTES - length) % DAY_MINUTES;
    for start in [after, before] {
        let candidate = BackupWindow {
            start,
            end: (start + length) % DAY_MINUTES,
        };
        if maintenance.overlap_with(&candidate).is_none() {
            return format!(
                "move one of the windows, e.g. `preferred_backup_window: \"{}-{}\"`",
                clock(candidate.start),
                clock(candidate.end)
            );
        }
    }
    "move the maintenance window to a time the daily backup window does not cover".to_owned()
}
