//! The plan: one [`Change`] per object, the order to apply them in, what drifted, and the
//! policy findings.

use crate::findings::PolicyFinding;
use dbplan_core::{Action, Operation, ResourceAddress};
pub use dbplan_core::{Change, OutputRef, SecretRef, SecretSource};
use serde::{Deserialize, Serialize};

/// What changed outside dbplan, found by refresh.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Drift {
    pub address: ResourceAddress,
    /// `changed` or `deleted`.
    pub kind: DriftKind,
    /// Attributes that differ from the recorded values, sorted; secrets are not compared.
    #[serde(default)]
    pub attributes: Vec<DriftedAttribute>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DriftKind {
    Changed,
    Deleted,
}

/// One attribute changed outside dbplan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DriftedAttribute {
    pub name: String,
    pub recorded: serde_json::Value,
    pub remote: serde_json::Value,
}

/// One step of the apply order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub address: ResourceAddress,
    /// `create` (also for an adopt), `update`, `delete` (also the first half of a replace)
    /// or `orphan`.
    pub operation: Operation,
}

/// The counts of a plan, as in the plan JSON `summary`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub create: usize,
    /// Existing objects taken over (older plan files have no count: 0).
    #[serde(default)]
    pub adopt: usize,
    pub update: usize,
    pub replace: usize,
    pub delete: usize,
    pub orphan: usize,
}

/// The state a plan was made against.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateRef {
    /// Empty when there was no state yet.
    pub lineage: String,
    pub serial: u64,
}

/// A whole plan.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    pub dbplan_version: String,
    pub state: StateRef,
    /// Changes in apply order (deletes first, in reverse dependency order; then creates and
    /// updates in dependency order); no-ops last, by address.
    pub changes: Vec<Change>,
    pub apply_order: Vec<Step>,
    pub drift: Vec<Drift>,
    /// The policy findings, in the order the policies reported them.
    pub findings: Vec<PolicyFinding>,
    /// Notices about the run (refresh skipped, no provider for a kind, …).
    pub notices: Vec<String>,
    /// Whether refresh ran.
    pub refreshed: bool,
    pub destroy: bool,
    pub targets: Vec<String>,
    /// sha256 over the manifest sources the plan was made from.
    pub manifests_digest: String,
    /// sha256 over the policy packs.
    pub policy_pack_digest: String,
}

impl Plan {
    pub fn summary(&self) -> Summary {
        let mut summary = Summary::default();
        for change in &self.changes {
            match change.action {
                Action::Create => summary.create += 1,
                Action::Adopt => summary.adopt += 1,
                Action::Update => summary.update += 1,
                Action::Replace => summary.replace += 1,
                Action::Delete => summary.delete += 1,
                Action::Orphan => summary.orphan += 1,
                Action::NoOp => {}
            }
        }
        summary
    }

    /// Whether anything would change (for `--detailed-exitcode`).
    pub fn has_changes(&self) -> bool {
        self.changes
            .iter()
            .any(|change| change.action != Action::NoOp)
    }

    /// The changes that may not be applied.
    pub fn blocked(&self) -> Vec<&Change> {
        self.changes
            .iter()
            .filter(|change| change.blocked.is_some())
            .collect()
    }

    /// Unwaived blocking (`error`) policy findings.
    pub fn blocking_findings(&self) -> usize {
        self.findings
            .iter()
            .filter(|finding| finding.is_blocking())
            .count()
    }
}
