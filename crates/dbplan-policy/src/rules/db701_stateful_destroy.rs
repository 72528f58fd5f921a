//! ## What it does
//! Blocks a plan that replaces or deletes an object holding data (an Aurora cluster, a
//! DigitalOcean database cluster, a CloudNativePG cluster or database, a tenant database or its
//! role) where the manifest did not itself opt into losing it: a replacement forced by an
//! attribute change (e.g. a changed `engine` or `storage_encrypted`) or by an earlier failed
//! apply; a cloud cluster deleted without a final snapshot; an object deleted while its
//! recorded lifecycle did not opt into deletion (its manifest vanished, or an older dbplan
//! applied it). It fires on the plan, not in `lint`.
//!
//! A manifest that says `deletion_protection: false` and `Delete` policies itself (a
//! `TenantDatabase`), or `deletion_protection: false` explicitly (an `AwsRdsCluster` that also
//! takes a final snapshot), has opted into deletion: once that is applied, `destroy` or
//! removing the manifest deletes the object without this rule firing. A protected object is
//! never deleted at all (the plan is blocked until protection is turned off and applied).
//!
//! ## Why is this bad?
//! Replacing a database cluster destroys it and creates an empty one; deleting it loses its data
//! unless a final snapshot is taken. Both are easy to miss in a long plan, and both are
//! irreversible. The plan shows every such change in its "data-loss risk" section; this rule
//! makes a reviewer say, in the manifest, that it is intended.
//!
//! ## Example
//! ```yaml
//! # state: storage_encrypted: false; manifest:
//! spec:
//!   storage_encrypted: true   # forces a new cluster
//! ```
//!
//! Use instead:
//! ```yaml
//! metadata:
//!   annotations:
//!     dbplan.io/waive.DB701: "re-created from snapshot rds:prod-2026-11-20; owner=alice"
//! spec:
//!   storage_encrypted: true
//!   snapshot_identifier: rds:prod-2026-11-20
//! ```
//! For a deletion the manifest did not opt into, either opt in (`deletion_protection: false`
//! and `Delete` policies) or add the waiver, and apply that first (both are recorded in state),
//! then remove the manifest or run `destroy`: deleting takes two reviewed changes. A deletion
//! policy of `Orphan` leaves the object in place and does not trigger this rule.
//!
//! ## References
//! - AWS, DeleteDBCluster: "When you delete a DB cluster, all automated backups for that DB
//!   cluster are deleted and can't be recovered."
//! - AWS, Modifying an Amazon Aurora DB cluster: "You can't modify an existing unencrypted DB
//!   cluster to be encrypted" (the change needs a new cluster).
//! - DigitalOcean API, Destroy a Database Cluster: "To destroy a specific database, send a
//!   DELETE request to /v2/databases/$DATABASE_ID. A status of 204 will be given. This indicates
//!   that the request was processed successfully, but that no response body is needed."

use super::{Check, Code, Rule};
use crate::pack::Enforcement;
use crate::plan::{PlanContext, PlanFindings};
use dbplan_core::Action;

pub(crate) const RULE: Rule = Rule {
    code: Code::new(
        "DB701",
        "the plan replaces or deletes an object that holds data",
    ),
    id: "stateful-destroy",
    default: Enforcement::Mandatory,
    params: &[],
    source: include_str!("db701_stateful_destroy.rs"),
    check: Check::Plan(check),
};

fn check(context: &PlanContext<'_>, findings: &mut PlanFindings) {
    for (index, change) in context.changes.iter().enumerate() {
        if !change.stateful {
            continue;
        }
        let snapshot = match change.final_snapshot {
            Some(true) => "a final snapshot is taken first",
            Some(false) => "no final snapshot is taken",
            None => "no backup is taken by dbplan",
        };
        let why = if change.replace_because.is_empty() {
            "an earlier apply failed part-way through it".to_owned()
        } else {
            format!(
                "{} cannot change in place",
                change.replace_because.join(", ")
            )
        };
        match change.action {
            Action::Replace => findings.fail(
                index,
                format!(
                    "{} is replaced ({why}): the object and its data are destroyed and an empty one is created; {snapshot}",
                    change.address
                ),
                format!(
                    "if this is intended, add `dbplan.io/waive.DB701: \"<why; owner; date>\"` to {}/{}; otherwise keep the attribute as it is",
                    change.kind(), change.address.name
                ),
            ),
            // A cloud cluster without a final snapshot loses its data for good, opted in or
            // not.
            Action::Delete if change.final_snapshot == Some(false) => findings.fail(
                index,
                format!(
                    "{} is deleted with its data; {snapshot}",
                    change.address
                ),
                format!(
                    "to delete it anyway, first apply the manifest with `dbplan.io/waive.DB701: \"<why; owner; date>\"` (or with a final snapshot where the kind offers one), then remove it; or restore the manifest of {}/{}",
                    change.kind(), change.address.name
                ),
            ),
            Action::Delete if !change.lifecycle.deletion_opted_in => findings.fail(
                index,
                format!(
                    "{} is deleted with its data, and its recorded lifecycle did not opt into deletion; {snapshot}",
                    change.address
                ),
                format!(
                    "to delete it, first apply the manifest of {}/{} with `deletion_protection: false` and `Delete` deletion policies (or `dbplan.io/waive.DB701: \"<why; owner; date>\"`), then remove it; to keep the object, set its deletion policy to `Orphan`; or restore the manifest",
                    change.kind(), change.address.name
                ),
            ),
            _ => {}
        }
    }
}
