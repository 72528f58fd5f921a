//! What a plan does to one object ([`Change`]), with what it carries: where referenced values and
//! secrets come from ([`OutputRef`], [`SecretRef`]) and the lifecycle settings that guard its
//! destruction ([`Lifecycle`], recorded in state at each apply). The plan makes them, the policies'
//! plan rules judge them, the engine carries them out.

use crate::{Action, Kind, ResourceAddress, Value};
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
    /// `hmac-sha256:…` of the value (`dbplan_plan::secret_hash`); `None` when the environment
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
    pub dependencies: Vec<ResourceAddress>,
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

/// What happens to an object when its resource leaves the manifests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeletionPolicy {
    /// Drop it.
    #[default]
    Delete,
    /// Remove it from state and leave it in place.
    Orphan,
}

/// The lifecycle recorded at the last apply, so that deleting the manifest cannot silently
/// destroy a protected resource.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    /// `dbplan.io/prevent-destroy: "true"`.
    #[serde(default)]
    pub prevent_destroy: bool,
    /// The provider-side deletion protection (Aurora `deletion_protection`, tenant databases).
    #[serde(default)]
    pub deletion_protection: bool,
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
    /// Whether the manifest itself opted into deleting the object (it said
    /// `deletion_protection: false` and, where the kind has one, a `Delete` policy, rather than
    /// relying on defaults): the reviewed intent that policy DB701 accepts in place of a
    /// waiver. A record written before this field existed reads as `false` (not opted in), and
    /// the next apply of its manifest records the manifest's choice.
    #[serde(default)]
    pub deletion_opted_in: bool,
}
