//! ## What it does
//! Reports Aurora clusters that do not copy their tags to snapshots.
//!
//! ## Why is this bad?
//! Snapshots without the cluster's tags escape cost allocation, ownership and tag-based access
//! and retention policies; orphaned snapshots are hard to attribute.
//!
//! ## Example
//! ```yaml
//! spec:
//!   copy_tags_to_snapshot: false
//! ```
//!
//! Use instead:
//! ```yaml
//! spec:
//!   copy_tags_to_snapshot: true
//! ```
//!
//! ## References
//! - AWS, CreateDBCluster `CopyTagsToSnapshot`: "Specifies whether to copy all tags from the DB
//!   cluster to snapshots of the DB cluster. The default is not to copy them."

use super::{Check, Code, Rule, aurora_clusters};
use crate::context::{Context, Findings};
use crate::pack::Enforcement;

pub(crate) const RULE: Rule = Rule {
    code: Code::new("DB405", "cluster tags not copied to snapshots"),
    id: "copy-tags",
    default: Enforcement::Advisory,
    params: &[],
    source: include_str!("db405_copy_tags.rs"),
    check: Check::Manifest(check),
};

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for (resource, spec) in aurora_clusters(context) {
        if !spec.copy_tags_to_snapshot {
            findings.fail(
                resource,
                "/spec/copy_tags_to_snapshot",
                "snapshots will not carry the cluster's tags",
                "set `copy_tags_to_snapshot: true`",
            );
        }
    }
}
