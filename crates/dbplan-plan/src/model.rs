//! The plan: one [`Change`] per object, the order to apply them in, what drifted, and the
//! policy findings.

use crate::findings::PolicyFinding;
use dbplan_core::{Action, Kind, Operation, ResourceAddress, Value};
use dbplan_state::Lifecycle;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where a referenced value comes from: an output of another object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OutputRef {
    /// The object, `Kind/name[/part]`.
    pub address: ResourceAddress,
    /// The output, e.g. `vpc_id` or `private_subnets.0.id`.
    pub output: String,
}

/// Where a secret comes from. Its value is never part of a plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SecretSource {
    /// `{secretEnv: NAME}`: read from the environment at apply.
    Env(String),
    /// A literal in the manifest (policy DB202 flags it); a saved plan cannot carry it.
    Literal,
}

/// A secret as a plan carries it: its source and its keyed fingerprint, never the value.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecretRef {
    pub source: SecretSource,
    /// `hmac-sha256:…` of the value ([`crate::secret_hash`]); `None` when the environment
    /// variable was not set at plan time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
}

/// What the plan does to one object.
#[derive(Clone, Debug, PartialEq)]
pub struct Change {
    /// `Kind/name[/part]`: the kind, `metadata.name` of the declaring resource, and the part.
    pub address: ResourceAddress,
    pub action: Action,
    /// Attributes as recorded in state (after refresh); empty for a create.
    pub before: BTreeMap<String, Value>,
    /// Attributes as planned; empty for a delete or an orphan.
    pub after: BTreeMap<String, Value>,
    /// Top-level attributes that differ, sorted.
    pub changed: Vec<String>,
    /// Attributes whose change forces the replacement, sorted.
    pub replace_because: Vec<String>,
    /// Attribute pointer → the output its value comes from (resolved at apply).
    pub references: BTreeMap<String, OutputRef>,
    /// Attribute → where the secret comes from.
    pub secrets: BTreeMap<String, SecretRef>,
    /// Addresses this object depends on.
    pub dependencies: Vec<String>,
    /// The lifecycle to record (or, for a delete, the one recorded).
    pub lifecycle: Lifecycle,
    /// The lifecycle recorded before, for an object in state that the manifests still have.
    pub lifecycle_before: Option<Lifecycle>,
    /// Lifecycle settings that change, sorted: `deletion_opted_in`, `deletion_policy`,
    /// `deletion_protection`, `prevent_destroy`, `waivers`. A change of these alone is an
    /// update that apply records without calling the provider.
    pub lifecycle_changed: Vec<String>,
    /// Waivers to record in state with the object.
    pub waivers: BTreeMap<String, String>,
    /// Whether the object holds data.
    pub stateful: bool,
    /// For a delete or replace of a stateful object: whether a final snapshot is taken.
    pub final_snapshot: Option<bool>,
    /// Why this change may not be applied (prevent-destroy, deletion protection, an adopt
    /// without opt-in).
    pub blocked: Option<String>,
    /// Something the reviewer should know (e.g. a `pending` record that apply will adopt).
    pub note: Option<String>,
    /// The remote object's fingerprint at plan time (from refresh, else from state); apply
    /// refuses the change when it no longer matches.
    pub fingerprint: Option<String>,
    /// Whether the manifest opts into taking over an existing object dbplan did not create
    /// (`dbplan.io/adopt: "true"`, or `--adopt ADDR`): apply's create may adopt it.
    pub adopt: bool,
    /// For an adopt: what apply would do to the existing object beyond the attributes shown
    /// (e.g. "the role's password will be reset"), as the provider said.
    pub adopt_effects: Vec<String>,
}

impl Change {
    pub fn kind(&self) -> Kind {
        self.address.kind
    }

    /// The part of a component, `None` for a whole resource.
    pub fn part(&self) -> Option<&str> {
        self.address.part.as_deref()
    }

    /// Attributes that are no longer recorded (removed from the manifest where the provider
    /// cannot reset them): in `changed`, but not in `after`.
    pub fn forgotten(&self) -> impl Iterator<Item = &String> {
        self.changed
            .iter()
            .filter(|name| !self.after.contains_key(*name))
    }

    /// Whether an update changes nothing remote: only lifecycle settings, waivers or fields
    /// dbplan stops recording. Apply records it without calling the provider.
    pub fn records_only(&self) -> bool {
        self.action == Action::Update
            && self
                .changed
                .iter()
                .all(|name| !self.after.contains_key(name))
    }

    /// Whether the change touches data at all (the "data-loss risk" section of a review lists
    /// these: a replace, a delete or an orphan of an object holding data).
    pub fn is_data_risk(&self) -> bool {
        self.stateful
            && matches!(
                self.action,
                Action::Replace | Action::Delete | Action::Orphan
            )
    }
}

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
