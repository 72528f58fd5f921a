//! Shared helpers: load inline manifests, plan them, and record a plan as applied (what the
//! apply engine will do: the planned values, with cloud-assigned values and outputs filled in).

#![allow(dead_code)]

use dbplan_core::{Action, Kind, ResourceAddress, Value};
use dbplan_graph::Graph;
use dbplan_manifest::{Loader, ManifestSet};
use dbplan_plan::refresh::Refreshed;
use dbplan_plan::{Plan, PlanRequest, Planned};
use dbplan_policy::Pack;
use dbplan_state::{ResourceState, Snapshot, StateValue};

pub fn load(sources: &[(&str, &str)]) -> (ManifestSet, Graph) {
    let mut loader = Loader::new();
    for (name, text) in sources {
        loader.add_source(name, (*text).to_owned());
    }
    let (set, diagnostics) = loader.finish();
    assert!(
        diagnostics
            .iter()
            .all(|d| d.severity != dbplan_diagnostics::Severity::Error),
        "{diagnostics:#?}"
    );
    let (graph, diagnostics) = dbplan_graph::build(&set);
    assert!(diagnostics.is_empty(), "{diagnostics:#?}");
    (set, graph)
}

#[derive(Default)]
pub struct Run<'a> {
    pub refreshed: Option<&'a Refreshed>,
    pub targets: Vec<String>,
    pub destroy: bool,
    pub env: Vec<(&'a str, &'a str)>,
    pub admission: Option<&'a dyn dbplan_provider::admission::Admission>,
}

/// The state key of these tests (a real state makes a random one).
/// An address from its text.
pub fn address(text: &str) -> ResourceAddress {
    text.parse().expect("a valid address")
}

pub fn test_key() -> dbplan_state::StateKey {
    dbplan_state::StateKey::from_bytes(&[7; 32]).expect("32 bytes")
}

pub fn plan_with(set: &ManifestSet, graph: &Graph, state: &Snapshot, run: &Run<'_>) -> Planned {
    let env_pairs = run.env.clone();
    let env = move |name: &str| {
        env_pairs
            .iter()
            .find(|(key, _)| *key == name)
            .map(|(_, value)| (*value).to_owned())
    };
    dbplan_plan::make_plan(&PlanRequest {
        set,
        graph,
        state,
        refreshed: run.refreshed,
        pack: &Pack::builtin(),
        options: dbplan_policy::options::Snapshot::digitalocean(),
        destroy: run.destroy,
        targets: &run.targets,
        adopt: &[],
        env: &env,
        key: &test_key(),
        admission: run.admission,
    })
    .unwrap()
}

pub fn plan(set: &ManifestSet, graph: &Graph, state: &Snapshot) -> Plan {
    plan_with(set, graph, state, &Run::default()).plan
}

/// The fake value of an output, stable per object.
pub fn output_value(address: impl std::fmt::Display, output: &str) -> serde_json::Value {
    serde_json::Value::String(format!("{output}-of-{address}"))
}

fn outputs_of(
    kind: Kind,
    address: &ResourceAddress,
) -> std::collections::BTreeMap<String, StateValue> {
    kind.outputs()
        .iter()
        .map(|output| {
            let value = if output.item_fields.is_empty() {
                output_value(address, output.name)
            } else {
                let item: serde_json::Map<String, serde_json::Value> = output
                    .item_fields
                    .iter()
                    .map(|field| ((*field).to_owned(), output_value(address, field)))
                    .collect();
                serde_json::Value::Array(vec![serde_json::Value::Object(item)])
            };
            let value = if output.sensitive {
                StateValue::sensitive(value)
            } else {
                StateValue::plain(value)
            };
            (output.name.to_owned(), value)
        })
        .collect()
}

/// Records a plan as applied on top of `base`.
pub fn applied(plan: &Plan, base: &Snapshot) -> Snapshot {
    let mut state = base.clone();
    if state.lineage.is_empty() {
        state.lineage = "lineage-under-test".to_owned();
    }
    state.serial += 1;
    for change in &plan.changes {
        match change.action {
            Action::Delete | Action::Orphan => {
                state.resources.remove(&change.address);
            }
            Action::NoOp => {}
            Action::Create | Action::Adopt | Action::Update | Action::Replace => {
                let mut resource = ResourceState::new(change.address.clone());
                resource.provider_id = Some(format!("id-{}", change.address));
                for (name, value) in &change.after {
                    resource.attributes.insert(name.clone(), record(value));
                }
                // What the references resolved to, once their targets exist.
                for (pointer, reference) in &change.references {
                    let top = pointer.split('/').next().unwrap_or_default();
                    let resolved = output_value(&reference.address, &reference.output);
                    if top == pointer {
                        // The role's password (a tenant's `owner_password`) is a secret.
                        let value = if reference.output == "password" {
                            StateValue::sensitive(resolved)
                        } else {
                            StateValue::plain(resolved)
                        };
                        resource.attributes.insert(top.to_owned(), value);
                    } else if let Some(attribute) = resource.attributes.get_mut(top) {
                        let json_pointer = format!("/{}", pointer.split_once('/').unwrap().1);
                        if let Some(slot) = attribute.value.pointer_mut(&json_pointer) {
                            *slot = resolved;
                        }
                    }
                }
                resource.outputs = outputs_of(change.kind(), &change.address);
                if change.kind() == Kind::TenantDatabase && change.part() == Some("role") {
                    resource.outputs.insert(
                        "password".to_owned(),
                        StateValue::sensitive(output_value(&change.address, "password")),
                    );
                }
                resource.dependencies = change.dependencies.clone();
                resource.lifecycle = change.lifecycle.clone();
                resource.waivers = change.waivers.clone();
                state.resources.insert(change.address.clone(), resource);
            }
        }
    }
    state
}

fn record(value: &Value) -> StateValue {
    match value {
        Value::Sensitive(secret) => StateValue::sensitive(secret.expose().to_json_exposed()),
        other => StateValue::plain(other.to_json_exposed()),
    }
}

pub fn change<'a>(plan: &'a Plan, address: &str) -> &'a dbplan_plan::Change {
    plan.changes
        .iter()
        .find(|change| change.address.to_string() == address)
        .unwrap_or_else(|| panic!("no change for {address} in {:#?}", plan.changes))
}

pub fn order(plan: &Plan) -> Vec<String> {
    plan.apply_order
        .iter()
        .map(|step| format!("{} {}", step.operation, step.address))
        .collect()
}
