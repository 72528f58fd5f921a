//! ## What it does
//! Reports an Aurora cluster with a `kms_key_id` but `storage_encrypted: false`.
//!
//! ## Why is this bad?
//! The key names how storage is encrypted, but storage is not encrypted: the manifest says two
//! contradicting things, and RDS refuses the combination.
//!
//! ## Example
//! ```yaml
//! spec:
//!   storage_encrypted: false
//!   kms_key_id: {value: arn:aws:kms:us-east-1:111122223333:key/…}
//! ```
//!
//! Use instead:
//! ```yaml
//! spec:
//!   storage_encrypted: true
//!   kms_key_id: {value: arn:aws:kms:us-east-1:111122223333:key/…}
//! ```
//!
//! ## References
//! - AWS, CreateDBCluster `KmsKeyId`: "The Amazon Web Services KMS key identifier for an
//!   encrypted DB cluster." "If StorageEncrypted is enabled, and you do not specify a value for
//!   the KmsKeyId parameter, then Amazon RDS will use your default KMS key."

use super::{Check, Code, Rule, aurora_clusters};
use crate::context::{Context, Findings};
use crate::pack::Enforcement;

pub(crate) const RULE: Rule = Rule {
    code: Code::new("DB404", "KMS key given for unencrypted storage"),
    id: "kms-key-without-encryption",
    default: Enforcement::Mandatory,
    params: &[],
    source: include_str!("db404_kms_key_without_encryption.rs"),
    check: Check::Manifest(check),
};

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for (resource, spec) in aurora_clusters(context) {
        if spec.kms_key_id.is_some()
            && !spec.storage_encrypted
            && spec.snapshot_identifier.is_none()
        {
            findings.fail(
                resource,
                "/spec/kms_key_id",
                "`kms_key_id` is set but `storage_encrypted` is false",
                "set `storage_encrypted: true`, or remove `kms_key_id`",
            );
        }
    }
}
