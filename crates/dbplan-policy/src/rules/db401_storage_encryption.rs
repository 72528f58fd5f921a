//! ## What it does
//! Reports Aurora clusters whose storage is not encrypted. A cluster restored from a snapshot
//! inherits the snapshot's encryption, which cannot be known offline (`info`).
//!
//! ## Why is this bad?
//! Unencrypted storage exposes the data, its automated backups and snapshots to anyone who gets
//! at the volumes or a shared snapshot, and encryption cannot be turned on later: the cluster
//! must be replaced (restored from an encrypted copy of a snapshot).
//!
//! ## Example
//! ```yaml
//! spec:
//!   storage_encrypted: false
//! ```
//!
//! Use instead:
//! ```yaml
//! spec:
//!   storage_encrypted: true
//! ```
//!
//! ## References
//! - AWS, "Encrypting Amazon Aurora resources": "You can only enable encryption for an Amazon
//!   Aurora DB cluster when you create it, not after the DB cluster is created."

use super::{Check, Rule, aurora_clusters};
use crate::context::{Context, Findings};
use crate::pack::Enforcement;

pub(crate) const RULE: Rule = Rule {
    code: "DB401",
    id: "storage-encryption",
    summary: "Aurora storage not encrypted",
    default: Enforcement::Mandatory,
    params: &[],
    source: include_str!("db401_storage_encryption.rs"),
    check: Check::Manifest(check),
};

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for (resource, spec) in aurora_clusters(context) {
        if spec.storage_encrypted {
            continue;
        }
        if let Some(snapshot) = &spec.snapshot_identifier {
            findings.undecidable(
                resource,
                "/spec/snapshot_identifier",
                format!("the cluster's encryption follows snapshot {snapshot}, which cannot be checked offline"),
                "set `storage_encrypted: true` to require an encrypted cluster",
            );
        } else {
            findings.fail(
                resource,
                "/spec/storage_encrypted",
                "the cluster's storage, backups and snapshots are not encrypted; encryption cannot be turned on later",
                "set `storage_encrypted: true` (with `kms_key_id` for a customer-managed key)",
            );
        }
    }
}
