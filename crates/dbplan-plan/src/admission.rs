//! Offline admission of the planned parts ([`dbplan_provider::admission`]): each resource of a
//! kind an admission handles is handed over with its parts' planned and recorded values. A part
//! whose update a transition rule refuses (an immutable field) is replaced instead, and the
//! replacement is blocked like any other where the lifecycle protects the object; every other
//! refusal goes back to the caller, which reports it with the resource's place in the manifests.

use crate::codes;
use crate::diff::destroy_blocked;
use crate::knowledge;
use crate::model::Change;
use dbplan_core::{Action, ResourceAddress, Value};
use dbplan_diagnostics::Diagnostic;
use dbplan_provider::admission::{Admission, PartValues, Refusal, RefusalKind};
use dbplan_state::Snapshot;
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// A part's attributes as the admission reads them.
type Attributes = BTreeMap<String, Json>;

/// The values as the admission reads them: an attribute known only after apply (a reference to
/// an output still to be made) and a secret (never rendered into an object the CRDs check) are
/// left out; `None` when a value is known only in part.
fn plain(values: &BTreeMap<String, Value>) -> Option<Attributes> {
    let mut plain = BTreeMap::new();
    for (name, value) in values {
        if matches!(value, Value::Sensitive(_) | Value::Unknown) {
            continue;
        }
        if value.contains_unknown() {
            return None;
        }
        plain.insert(name.clone(), value.to_json_exposed());
    }
    Some(plain)
}

fn changing(action: Action) -> bool {
    matches!(
        action,
        Action::Create | Action::Adopt | Action::Update | Action::Replace
    )
}

/// Whether the part's object stays and is changed in place (its recorded object is the old one
/// of a transition rule): an update, an adopt (applied over the existing object) or no change.
fn kept(action: Action) -> bool {
    matches!(action, Action::Update | Action::Adopt | Action::NoOp)
}

/// Checks the changes of the kinds `admission` handles; turns updates refused by a transition
/// rule into replacements and returns the other refusals.
pub(crate) fn check(
    changes: &mut [Change],
    admission: &dyn Admission,
    state: &Snapshot,
) -> Vec<Refusal> {
    let mut resources: BTreeMap<ResourceAddress, Vec<usize>> = BTreeMap::new();
    for (index, change) in changes.iter().enumerate() {
        if admission.handles(change.address.kind)
            && (changing(change.action) || change.action == Action::NoOp)
        {
            resources
                .entry(change.address.root())
                .or_default()
                .push(index);
        }
    }
    let mut refusals = Vec::new();
    for (resource, indices) in resources {
        if !indices.iter().any(|index| changing(changes[*index].action)) {
            continue;
        }
        let values: Vec<(Option<Attributes>, Option<Attributes>)> = indices
            .iter()
            .map(|index| {
                let change = &changes[*index];
                let before = kept(change.action).then(|| plain(&change.before)).flatten();
                (plain(&change.after), before)
            })
            .collect();
        let parts: Vec<PartValues<'_>> = indices
            .iter()
            .zip(&values)
            .map(|(index, (after, before))| PartValues {
                address: &changes[*index].address,
                after: after.as_ref(),
                before: before.as_ref(),
                changing: changing(changes[*index].action),
            })
            .collect();
        let found = admission.admit(&resource, &parts);
        for refusal in found {
            let change = changes
                .iter_mut()
                .find(|change| change.address == refusal.part);
            match change {
                Some(change) if refusal.kind == RefusalKind::Immutable => {
                    if change.action == Action::Update {
                        replace(change, &refusal, state);
                    } else {
                        refusals.push(refusal);
                    }
                }
                _ => refusals.push(refusal),
            }
        }
    }
    refusals
}

/// An update a transition rule refuses becomes a replacement, which the lifecycle may block.
fn replace(change: &mut Change, refusal: &Refusal, state: &Snapshot) {
    let why = format!(
        "{refusal} (a rule of its CRD, checked against the recorded object): replaced, as the API server would refuse the update"
    );
    change.note = Some(match change.note.take() {
        Some(note) => format!("{note}; {why}"),
        None => why,
    });
    if change.action == Action::Replace {
        return;
    }
    change.action = Action::Replace;
    change.replace_because = change.changed.clone();
    change.final_snapshot = knowledge::final_snapshot(
        change.address.kind,
        change.address.part.as_deref(),
        &change.before,
    );
    let recorded = state
        .resources
        .get(&change.address)
        .map(|recorded| recorded.lifecycle.clone())
        .unwrap_or_default();
    change.blocked = destroy_blocked(
        &change.address,
        Action::Replace,
        &recorded,
        Some(&change.lifecycle),
        state,
    );
}

/// A refusal as a diagnostic at the resource's place in the manifests: an error for an object
/// the API server would refuse, a warning for a rule left to it.
pub fn diagnostic(refusal: &Refusal, set: &dbplan_manifest::ManifestSet) -> Diagnostic {
    let resource = set.resources.iter().find(|resource| {
        resource.address.kind == refusal.part.kind && resource.address.name == refusal.part.name
    });
    let span = resource.map(|resource| resource.span_at(&pointer(resource, &refusal.part)));
    let rule = refusal
        .rule
        .as_ref()
        .map(|rule| format!(" (rule `{rule}`)"))
        .unwrap_or_default();
    let diagnostic = match refusal.kind {
        RefusalKind::Invalid | RefusalKind::Immutable => Diagnostic::error(codes::OBJECT_REFUSED)
            .with_message(format!(
                "{}: the API server would refuse {refusal}{rule}",
                refusal.part
            ))
            .with_help(
                "change the manifest so that the object passes its CustomResourceDefinition (README.md, \"CloudNativePG on Kubernetes\", says which CRDs dbplan checks against)",
            ),
        RefusalKind::Unknown => Diagnostic::warning(codes::RULE_NOT_EVALUATED)
            .with_message(format!(
                "{}: not checked offline: {refusal}{rule}",
                refusal.part
            ))
            .with_help("the API server checks it at apply; the plan does not count it as passed"),
    };
    let diagnostic = diagnostic.with_resource(refusal.part.to_string());
    match span {
        Some(span) => diagnostic.with_span(span),
        None => diagnostic,
    }
}

/// Where a part's values are in its resource's document: a database's entry, else the spec.
fn pointer(resource: &dbplan_manifest::Resource, part: &ResourceAddress) -> String {
    if let Some(name) = part
        .part
        .as_deref()
        .and_then(|part| part.strip_prefix("database-"))
        && let dbplan_core::kinds::Spec::CnpgCluster(spec) = &resource.spec
        && let Some(index) = spec
            .databases
            .iter()
            .position(|database| database.name == name)
    {
        return format!("/spec/databases/{index}");
    }
    "/spec".to_owned()
}
