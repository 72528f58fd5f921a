//! ## What it does
//! Reports CloudNativePG object store backups whose `destination_path` (or `endpoint_url`) is
//! not something Barman Cloud can write to: a local or NFS path (`/mnt/backups`,
//! `nas:/exports/pg`, `nfs://nas/exports/pg`, `file:///backups`) instead of an object store URL.
//!
//! ## Why is this bad?
//! CloudNativePG's object store backups (the Barman Cloud plugin, and the deprecated in-tree
//! `barmanObjectStore`) run `barman-cloud-*` inside the instance pods, and those tools speak only
//! to object stores: Amazon S3 and S3-compatible stores (`s3://bucket/path`), Google Cloud
//! Storage (`gs://bucket/path`) and Azure Blob Storage (`https://account.blob.core.windows.net/
//! container/path`). The operator accepts any string, so a file path is only found out when WAL
//! archiving fails on the running cluster, and the cluster has no backups until then.
//!
//! ## Example
//! ```yaml
//! spec:
//!   backup:
//!     destination_path: /mnt/nfs/backups/home-pg
//! ```
//!
//! Use instead (an S3-compatible endpoint serving the share, e.g. MinIO on the NFS export):
//! ```yaml
//! spec:
//!   backup:
//!     destination_path: s3://backups/home-pg
//!     endpoint_url: http://minio.storage.svc:9000
//! ```
//! or `method: volume-snapshot` when the storage class supports CSI volume snapshots.
//!
//! ## References
//! - CloudNativePG, Appendix C "Common object stores for backups": backups go to "any service
//!   that is supported by the Barman Cloud infrastructure" (AWS S3, Microsoft Azure Blob
//!   Storage, Google Cloud Storage) or a compatible implementation such as MinIO.
//! - CloudNativePG, Appendix A "Backup on volume snapshots".

use super::{Check, Code, Rule};
use crate::context::{Context, Findings};
use crate::pack::Enforcement;
use dbplan_manifest::Spec;
use dbplan_manifest::kinds::BackupMethod;

pub(crate) const RULE: Rule = Rule {
    code: Code::new(
        "DB605",
        "CloudNativePG backup target is not an object store",
    ),
    id: "cnpg-backup-target",
    default: Enforcement::Mandatory,
    params: &[],
    source: include_str!("db605_cnpg_backup_target.rs"),
    check: Check::Manifest(check),
};

/// What Barman Cloud writes to, by the destination's URL scheme.
const DESTINATION_SCHEMES: &[&str] = &["s3://", "gs://", "https://", "http://"];

/// What an object store endpoint is reached over.
const ENDPOINT_SCHEMES: &[&str] = &["https://", "http://"];

const WHAT_WORKS: &str = "back up to an object store: `s3://bucket/path` with `endpoint_url` for an S3-compatible server (e.g. MinIO serving that share), `gs://bucket/path`, or `https://account.blob.core.windows.net/container/path`; or use `method: volume-snapshot`";

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for resource in context.resources() {
        let Spec::CnpgCluster(spec) = &resource.spec else {
            continue;
        };
        let Some(backup) = &spec.backup else {
            continue;
        };
        if backup.method == BackupMethod::VolumeSnapshot {
            continue;
        }
        if let Some(path) = &backup.destination_path
            && !has_scheme(path, DESTINATION_SCHEMES)
        {
            findings.fail(
                resource,
                "/spec/backup/destination_path",
                format!(
                    "{path:?} is {}: CloudNativePG backs up only to object stores",
                    describe(path)
                ),
                WHAT_WORKS,
            );
        }
        if let Some(endpoint) = &backup.endpoint_url
            && !has_scheme(endpoint, ENDPOINT_SCHEMES)
        {
            findings.fail(
                resource,
                "/spec/backup/endpoint_url",
                format!(
                    "{endpoint:?} is {}: the object store endpoint must be an http:// or https:// URL",
                    describe(endpoint)
                ),
                WHAT_WORKS,
            );
        }
    }
}

/// Whether `target` starts with one of `schemes` (case-insensitively, as URL schemes are) and
/// names something after it.
fn has_scheme(target: &str, schemes: &[&str]) -> bool {
    schemes.iter().any(|scheme| {
        target.len() > scheme.len()
            && target
                .get(..scheme.len())
                .is_some_and(|prefix| prefix.eq_ignore_ascii_case(scheme))
    })
}

/// A few words on what the target looks like, so the finding says why it does not work.
fn describe(target: &str) -> &'static str {
    let lower = target.to_ascii_lowercase();
    if lower.starts_with("nfs://") || lower.starts_with("smb://") || lower.starts_with("cifs://") {
        "a network file share"
    } else if lower.starts_with("file://") || target.starts_with('/') || target.starts_with('.') {
        "a file system path"
    } else if !target.contains("://") && target.contains(":/") {
        "an NFS export (`host:/path`)"
    } else if DESTINATION_SCHEMES
        .iter()
        .any(|scheme| lower == scheme.to_ascii_lowercase())
    {
        "a URL scheme with no bucket or path"
    } else {
        "not an object store URL"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_store_urls_pass_and_file_targets_are_named() {
        for good in [
            "s3://backups/pg",
            "S3://backups/pg",
            "gs://bucket/pg",
            "https://account.blob.core.windows.net/container/pg",
        ] {
            assert!(has_scheme(good, DESTINATION_SCHEMES), "{good}");
        }
        for (bad, what) in [
            ("/mnt/nfs/backups", "a file system path"),
            ("file:///backups", "a file system path"),
            ("nas:/exports/pg", "an NFS export (`host:/path`)"),
            ("nfs://nas/exports/pg", "a network file share"),
            ("s3://", "a URL scheme with no bucket or path"),
            ("backups", "not an object store URL"),
        ] {
            assert!(!has_scheme(bad, DESTINATION_SCHEMES), "{bad}");
            assert_eq!(describe(bad), what, "{bad}");
        }
    }
}
