//! ## What it does
//! Checks the final snapshot settings of an Aurora cluster: unless `skip_final_snapshot` is
//! true, `final_snapshot_identifier` must be set; with `skip_final_snapshot: true` it must not be.
//!
//! ## Why is this bad?
//! Deleting the cluster then fails (RDS needs the identifier of the snapshot it takes), or the
//! identifier suggests a snapshot that will never be taken.
//!
//! ## Example
//! ```yaml
//! spec:
//!   skip_final_snapshot: false
//! ```
//!
//! Use instead:
//! ```yaml
//! spec:
//!   skip_final_snapshot: false
//!   final_snapshot_identifier: orders-db-final
//! ```
//!
//! ## References
//! - AWS, DeleteDBCluster `FinalDBSnapshotIdentifier`: "The DB cluster snapshot identifier of
//!   the new DB cluster snapshot created when SkipFinalSnapshot is disabled. If you specify this
//!   parameter and also skip the creation of a final DB cluster snapshot with the
//!   SkipFinalShapshot parameter, the request results in an error."
//! - `SkipFinalSnapshot`: "If skip isn't specified, and the DB cluster snapshot is created …
//!   you must specify a FinalDBSnapshotIdentifier parameter."

use super::{Check, Code, Rule, aurora_clusters};
use crate::context::{Context, Findings};
use crate::pack::Enforcement;

pub(crate) const RULE: Rule = Rule {
    code: Code::new("DB403", "final snapshot settings RDS refuses on delete"),
    id: "final-snapshot",
    default: Enforcement::Mandatory,
    params: &[],
    source: include_str!("db403_final_snapshot.rs"),
    check: Check::Manifest(check),
};

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for (resource, spec) in aurora_clusters(context) {
        match (spec.skip_final_snapshot, &spec.final_snapshot_identifier) {
            (false, None) => findings.fail(
                resource,
                "/spec",
                "a final snapshot is taken on delete (`skip_final_snapshot` is false) but `final_snapshot_identifier` is not set",
                format!("add `final_snapshot_identifier: {}-final`", resource.address.name),
            ),
            (true, Some(_)) => findings.fail(
                resource,
                "/spec/final_snapshot_identifier",
                "`final_snapshot_identifier` is set but `skip_final_snapshot: true` skips the snapshot; RDS refuses the delete",
                "remove `final_snapshot_identifier`, or set `skip_final_snapshot: false` to keep a final snapshot",
            ),
            _ => {}
        }
    }
}
