//! ## What it does
//! Reports a plan that changes a database engine's major version (Aurora `engine_version`,
//! DigitalOcean `engine_version`, CloudNativePG `postgres_version`), up or down.
//!
//! ## Why is this bad?
//! A major-version upgrade rewrites the system catalogs, takes the database offline for the
//! length of the upgrade, and cannot be undone except by restoring a snapshot. Extensions,
//! parameter group families and client drivers may have to change with it. It deserves its own
//! reviewed change, with a snapshot taken and the application tested against the new version.
//!
//! ## Example
//! ```yaml
//! # state: engine_version: "15.4"; manifest:
//! spec:
//!   engine_version: "16.4"
//! ```
//!
//! Use instead:
//! ```yaml
//! metadata:
//!   annotations:
//!     dbplan.io/waive.DB702: "upgrade tested in staging on 2026-11-20; snapshot taken; owner=alice"
//! spec:
//!   engine_version: "16.4"
//! ```
//!
//! ## References
//! - AWS, Upgrading Amazon Aurora PostgreSQL DB clusters: "Major version upgrades can contain
//!   database changes that are not backward-compatible with previous versions of the database."
//! - DigitalOcean API, Upgrade Major Version for a Database: "To upgrade the major version of a
//!   database, send a PUT request to /v2/databases/$DATABASE_ID/upgrade, specifying the target
//!   version."

use super::{Check, Code, Rule};
use crate::pack::Enforcement;
use crate::plan::{PlanContext, PlanFindings, major_version};
use dbplan_core::{Action, Value};

pub(crate) const RULE: Rule = Rule {
    code: Code::new(
        "DB702",
        "the plan changes a database engine's major version",
    ),
    id: "engine-major-version",
    default: Enforcement::Advisory,
    params: &[],
    source: include_str!("db702_engine_major_version.rs"),
    check: Check::Plan(check),
};

const VERSION_ATTRIBUTES: &[&str] = &["engine_version", "postgres_version"];

fn check(context: &PlanContext<'_>, findings: &mut PlanFindings) {
    for (index, change) in context.changes.iter().enumerate() {
        if !matches!(change.action, Action::Update | Action::Replace) {
            continue;
        }
        for attribute in VERSION_ATTRIBUTES {
            let (Some(Value::String(before)), Some(Value::String(after))) =
                (change.before.get(*attribute), change.after.get(*attribute))
            else {
                continue;
            };
            let (Some(from), Some(to)) = (major_version(before), major_version(after)) else {
                continue;
            };
            if from != to {
                findings.fail(
                    index,
                    format!(
                        "{} changes {attribute} from major version {from} to {to} ({before} → {after})",
                        change.address
                    ),
                    format!(
                        "take a snapshot, test the application on {to}, and make the upgrade its own change; then add `dbplan.io/waive.DB702: \"<why; owner; date>\"` to {}/{}",
                        change.kind(), change.address.name
                    ),
                );
            }
        }
    }
}
