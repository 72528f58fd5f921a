//! ## What it does
//! Reports Aurora clusters whose storage is not encrypted. A cluster restored from a snapshot
//! inherits the snapshot's encryption, which cannot be known offline (`info`), even with
//! `storage_encrypted: true`: RestoreDBClusterFromSnapshot has no such setting.
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
//! - AWS API, RestoreDBClusterFromSnapshot: "If the DB snapshot or DB cluster snapshot in
//!   SnapshotIdentifier isn't encrypted, then the restored DB cluster isn't encrypted" (unless a
//!   `KmsKeyId` is given, which dbplan does not send on a restore).

use super::{Check, Code, Rule, aurora_clusters};
use crate::context::{Context, Findings};
use crate::pack::Enforcement;

pub(crate) const RULE: Rule = Rule {
    code: Code::new("DB401", "Aurora storage not encrypted"),
    id: "storage-encryption",
    default: Enforcement::Mandatory,
    params: &[],
    source: include_str!("db401_storage_encryption.rs"),
    check: Check::Manifest(check),
};

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for (resource, spec) in aurora_clusters(context) {
        if let Some(snapshot) = &spec.snapshot_identifier {
            // A restore takes the snapshot's encryption whatever `storage_encrypted` says.
            findings.undecidable(
                resource,
                "/spec/snapshot_identifier",
                format!("the cluster is restored from snapshot {snapshot} and takes its encryption, which cannot be checked offline (a restore has no `storage_encrypted` setting, and dbplan sends no `kms_key_id` with it)"),
                "restore from an encrypted snapshot: copy an unencrypted one with a KMS key first (`aws rds copy-db-cluster-snapshot --kms-key-id ...`)",
            );
        } else if !spec.storage_encrypted {
            findings.fail(
                resource,
                "/spec/storage_encrypted",
                "the cluster's storage, backups and snapshots are not encrypted; encryption cannot be turned on later",
                "set `storage_encrypted: true` (with `kms_key_id` for a customer-managed key)",
            );
        }
    }
}
