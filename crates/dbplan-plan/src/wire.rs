//! The serialised form of a plan, shared by the plan file and the plan JSON (GUIDE §4).
//!
//! Values are written as plain JSON; what plain JSON cannot say is listed beside it, as in
//! Terraform's plan JSON: `after_unknown` (paths known only after apply) and
//! `before_sensitive`/`after_sensitive` (paths shown as `"(sensitive)"`). A secret's value never
//! reaches this form; the plan file keeps its salted hash in `secrets`.

use crate::findings::FindingsWire;
use crate::model::{Change, Drift, OutputRef, Plan, SecretRef, StateRef, Step, Summary};
use dbplan_core::{Action, Kind, ResourceAddress, Secret, Value};
use dbplan_state::Lifecycle;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// The version of the plan JSON (and of the plan inside a plan file); bumped on a breaking
/// change.
pub const FORMAT_VERSION: &str = "1";

const SENSITIVE: &str = "(sensitive)";

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct PlanWire {
    pub format_version: String,
    pub dbplan_version: String,
    pub state: StateRef,
    pub refreshed: bool,
    #[serde(default)]
    pub destroy: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    pub resource_changes: Vec<ChangeWire>,
    #[serde(default)]
    pub resource_drift: Vec<Drift>,
    pub apply_order: Vec<Step>,
    pub policy: FindingsWire,
    pub summary: Summary,
    #[serde(default)]
    pub notices: Vec<String>,
    /// Present in the plan file only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifests_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy_pack_digest: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct ChangeWire {
    pub address: ResourceAddress,
    pub kind: Kind,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
    pub action: String,
    pub before: Option<Json>,
    pub after: Option<Json>,
    #[serde(default)]
    pub after_unknown: Vec<String>,
    #[serde(default)]
    pub before_sensitive: Vec<String>,
    #[serde(default)]
    pub after_sensitive: Vec<String>,
    #[serde(default)]
    pub changed_attributes: Vec<String>,
    pub replace_because: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub references: BTreeMap<String, OutputRef>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub secrets: BTreeMap<String, SecretRef>,
    #[serde(default)]
    pub dependencies: Vec<ResourceAddress>,
    #[serde(default)]
    pub lifecycle: Lifecycle,
    /// The recorded lifecycle, when the object is in state and still in the manifests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifecycle_before: Option<Lifecycle>,
    /// The lifecycle settings (and `waivers`) that change.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lifecycle_changed: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub waivers: BTreeMap<String, String>,
    pub stateful: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub final_snapshot: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The manifest opts into taking over an existing object (apply may adopt it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub adopt_opt_in: bool,
    /// For an adopt: what apply would do to the existing object beyond its attributes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub adopt_effects: Vec<String>,
}

/// Whether the form is for the plan file (secret hashes and digests kept) or for stdout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Audience {
    File,
    Output,
}

pub(crate) fn encode(plan: &Plan, audience: Audience) -> PlanWire {
    let file = audience == Audience::File;
    PlanWire {
        format_version: FORMAT_VERSION.to_owned(),
        dbplan_version: plan.dbplan_version.clone(),
        state: plan.state.clone(),
        refreshed: plan.refreshed,
        destroy: plan.destroy,
        targets: plan.targets.clone(),
        resource_changes: plan
            .changes
            .iter()
            .map(|change| encode_change(change, file))
            .collect(),
        resource_drift: plan.drift.clone(),
        apply_order: plan.apply_order.clone(),
        policy: FindingsWire::encode(&plan.findings),
        summary: plan.summary(),
        notices: plan.notices.clone(),
        manifests_digest: file.then(|| plan.manifests_digest.clone()),
        policy_pack_digest: file.then(|| plan.policy_pack_digest.clone()),
    }
}

fn encode_change(change: &Change, file: bool) -> ChangeWire {
    let (before, _, before_sensitive) = encode_values(&change.before);
    let (after, after_unknown, after_sensitive) = encode_values(&change.after);
    let has_before = !matches!(change.action, Action::Create);
    let has_after = !matches!(change.action, Action::Delete | Action::Orphan);
    ChangeWire {
        address: change.address.clone(),
        kind: change.address.kind,
        name: change.address.name.clone(),
        part: change.address.part.clone(),
        action: change.action.as_str().to_owned(),
        before: has_before.then_some(before),
        after: has_after.then_some(after),
        after_unknown,
        before_sensitive,
        after_sensitive,
        changed_attributes: change.changed.clone(),
        replace_because: change.replace_because.clone(),
        references: change.references.clone(),
        secrets: change
            .secrets
            .iter()
            .map(|(attribute, secret)| {
                (
                    attribute.clone(),
                    SecretRef {
                        source: secret.source.clone(),
                        hash: if file { secret.hash.clone() } else { None },
                    },
                )
            })
            .collect(),
        dependencies: change.dependencies.clone(),
        lifecycle: change.lifecycle.clone(),
        lifecycle_before: change.lifecycle_before.clone(),
        lifecycle_changed: change.lifecycle_changed.clone(),
        waivers: change.waivers.clone(),
        stateful: change.stateful,
        final_snapshot: change.final_snapshot,
        blocked: change.blocked.clone(),
        note: change.note.clone(),
        fingerprint: change.fingerprint.clone(),
        adopt_opt_in: change.adopt,
        adopt_effects: change.adopt_effects.clone(),
    }
}

/// Values → JSON, with the paths of unknown and sensitive values.
fn encode_values(values: &BTreeMap<String, Value>) -> (Json, Vec<String>, Vec<String>) {
    let mut unknown = Vec::new();
    let mut sensitive = Vec::new();
    let mut map = serde_json::Map::new();
    for (key, value) in values {
        map.insert(
            key.clone(),
            encode_value(value, key, &mut unknown, &mut sensitive),
        );
    }
    (Json::Object(map), unknown, sensitive)
}

fn encode_value(
    value: &Value,
    path: &str,
    unknown: &mut Vec<String>,
    sensitive: &mut Vec<String>,
) -> Json {
    match value {
        Value::Unknown => {
            unknown.push(path.to_owned());
            Json::Null
        }
        Value::Sensitive(_) => {
            sensitive.push(path.to_owned());
            Json::String(SENSITIVE.to_owned())
        }
        Value::List(values) => Json::Array(
            values
                .iter()
                .enumerate()
                .map(|(index, value)| {
                    encode_value(value, &format!("{path}/{index}"), unknown, sensitive)
                })
                .collect(),
        ),
        Value::Map(values) => Json::Object(
            values
                .iter()
                .map(|(key, value)| {
                    (
                        key.clone(),
                        encode_value(value, &format!("{path}/{key}"), unknown, sensitive),
                    )
                })
                .collect(),
        ),
        // Plain values carry no secret: `to_json_exposed` only exposes `Sensitive`, handled
        // above.
        other => other.to_json_exposed(),
    }
}

/// Why a serialised plan could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The address disagrees with the kind, name or part written beside it.
    #[error("the change of {address} says kind {kind}, name {name:?} and part {part:?}")]
    Address {
        address: ResourceAddress,
        kind: Kind,
        name: String,
        part: Option<String>,
    },
    #[error("unknown action `{0}`")]
    Action(String),
}

pub(crate) fn decode(wire: PlanWire) -> Result<Plan, DecodeError> {
    let mut changes = Vec::with_capacity(wire.resource_changes.len());
    for change in wire.resource_changes {
        changes.push(decode_change(change)?);
    }
    Ok(Plan {
        dbplan_version: wire.dbplan_version,
        state: wire.state,
        changes,
        apply_order: wire.apply_order,
        drift: wire.resource_drift,
        findings: wire.policy.findings,
        notices: wire.notices,
        refreshed: wire.refreshed,
        destroy: wire.destroy,
        targets: wire.targets,
        manifests_digest: wire.manifests_digest.unwrap_or_default(),
        policy_pack_digest: wire.policy_pack_digest.unwrap_or_default(),
    })
}

fn decode_change(wire: ChangeWire) -> Result<Change, DecodeError> {
    if wire.address.kind != wire.kind
        || wire.address.name != wire.name
        || wire.address.part != wire.part
    {
        return Err(DecodeError::Address {
            address: wire.address,
            kind: wire.kind,
            name: wire.name,
            part: wire.part,
        });
    }
    let action = match wire.action.as_str() {
        "create" => Action::Create,
        "adopt" => Action::Adopt,
        "update" => Action::Update,
        "replace" => Action::Replace,
        "delete" => Action::Delete,
        "orphan" => Action::Orphan,
        "no-op" => Action::NoOp,
        other => return Err(DecodeError::Action(other.to_owned())),
    };
    let mut before = decode_values(wire.before.as_ref());
    for path in &wire.before_sensitive {
        crate::desired::set_at(
            &mut before,
            path,
            Value::Sensitive(Secret::new(Value::String(SENSITIVE.to_owned()))),
        );
    }
    let mut after = decode_values(wire.after.as_ref());
    for path in &wire.after_unknown {
        crate::desired::set_at(&mut after, path, Value::Unknown);
    }
    for path in &wire.after_sensitive {
        let hash = wire
            .secrets
            .get(path)
            .and_then(|secret| secret.hash.clone());
        let inner = match hash {
            Some(hash) => Value::String(hash),
            None => Value::Unknown,
        };
        crate::desired::set_at(&mut after, path, Value::Sensitive(Secret::new(inner)));
    }
    Ok(Change {
        address: wire.address,
        action,
        before,
        after,
        changed: wire.changed_attributes,
        replace_because: wire.replace_because,
        references: wire.references,
        secrets: wire.secrets,
        dependencies: wire.dependencies,
        lifecycle: wire.lifecycle,
        lifecycle_before: wire.lifecycle_before,
        lifecycle_changed: wire.lifecycle_changed,
        waivers: wire.waivers,
        stateful: wire.stateful,
        final_snapshot: wire.final_snapshot,
        blocked: wire.blocked,
        note: wire.note,
        fingerprint: wire.fingerprint,
        adopt: wire.adopt_opt_in,
        adopt_effects: wire.adopt_effects,
    })
}

fn decode_values(json: Option<&Json>) -> BTreeMap<String, Value> {
    match json {
        Some(Json::Object(map)) => map
            .iter()
            .map(|(key, value)| (key.clone(), Value::from_json(value)))
            .collect(),
        _ => BTreeMap::new(),
    }
}
