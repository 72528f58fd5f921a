//! ## What it does
//! Reports CloudNativePG backups that use the in-tree Barman object store
//! (`method: barman-object-store`).
//!
//! ## Why is this bad?
//! The in-tree `barmanObjectStore` is deprecated since CloudNativePG 1.26 and will be removed;
//! the Barman Cloud plugin (`method: plugin`, the default) replaces it.
//!
//! ## Example
//! ```yaml
//! spec:
//!   backup:
//!     method: barman-object-store
//! ```
//!
//! Use instead:
//! ```yaml
//! spec:
//!   backup:
//!     method: plugin
//! ```
//!
//! ## References
//! - CloudNativePG documentation, Backup: the in-tree Barman Cloud support
//!   (`spec.backup.barmanObjectStore`) is deprecated since 1.26 and "progressively phased out"
//!   in favour of the Barman Cloud plugin (CNPG-I).

use super::{Check, Code, Rule};
use crate::context::{Context, Findings};
use crate::pack::Enforcement;
use dbplan_manifest::Spec;
use dbplan_manifest::kinds::BackupMethod;

pub(crate) const RULE: Rule = Rule {
    code: Code::new(
        "DB603",
        "deprecated in-tree CloudNativePG object store backup",
    ),
    id: "cnpg-in-tree-backup",
    default: Enforcement::Advisory,
    params: &[],
    source: include_str!("db603_cnpg_in_tree_backup.rs"),
    check: Check::Manifest(check),
};

fn check(context: &Context<'_>, findings: &mut Findings<'_>) {
    for resource in context.resources() {
        if let Spec::CnpgCluster(spec) = &resource.spec
            && let Some(backup) = &spec.backup
            && backup.method == BackupMethod::BarmanObjectStore
        {
            findings.fail(
                resource,
                "/spec/backup/method",
                "the in-tree Barman object store is deprecated since CloudNativePG 1.26",
                "use `method: plugin` (the Barman Cloud plugin)",
            );
        }
    }
}
