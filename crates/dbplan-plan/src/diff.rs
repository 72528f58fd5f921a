//! The diff: desired objects against the (refreshed) state, to one [`Change`] per object.
//!
//! Pure and deterministic: no I/O, no clock, no environment; the same input gives the same
//! changes in the same order.

use crate::desired::{Desired, get_at_mut, set_at};
use crate::knowledge::{self, Removal};
use crate::model::{Change, OutputRef, Step};
use dbplan_core::{Action, Kind, Operation, ResourceAddress, Secret, Value};
use dbplan_provider::Existing;
// The opt-in to replace a file dbplan did not write is an instruction to apply, not a property
// of the object: adding or dropping it (`--adopt` is given once) is no change.
use dbplan_provider::files::ADOPT_ATTRIBUTE;
use dbplan_state::{DeletionPolicy, Lifecycle, ResourceState, Snapshot, StateValue, Status};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// What the desired objects are diffed against.
#[derive(Debug)]
pub struct DiffInput<'a> {
    /// The state after refresh.
    pub state: &'a Snapshot,
    /// The state as read, before refresh: what it records that refresh found gone is in it and
    /// not in `state`.
    pub recorded: &'a Snapshot,
    /// State addresses the plan may touch (all when `None`): with `--target`, only the
    /// targeted ones.
    pub state_scope: Option<&'a BTreeSet<ResourceAddress>>,
    /// `--destroy`: every object in scope is deleted.
    pub destroy: bool,
    /// Remote fingerprints per address, from refresh (or state when offline).
    pub fingerprints: &'a BTreeMap<ResourceAddress, String>,
    /// Objects that exist although state has no record of them, by address (refresh's
    /// [`crate::refresh::find_unrecorded`]; empty offline): planned as adopts.
    pub found: &'a BTreeMap<ResourceAddress, Existing>,
    /// Addresses whose objects may be adopted (`Kind/name` covers every part): the resources
    /// annotated `dbplan.io/adopt: "true"` and those named by `--adopt`.
    pub adopt: &'a [String],
    /// Checks the objects planned parts become, offline, as their API server would
    /// ([`crate::admission`]); `None` checks nothing.
    pub admission: Option<&'a dyn dbplan_provider::admission::Admission>,
}

/// The changes in apply order, and the order itself.
#[derive(Debug, Default)]
pub struct DiffOutput {
    pub changes: Vec<Change>,
    pub apply_order: Vec<Step>,
    /// What the admission refused, besides the updates it turned into replacements.
    pub refusals: Vec<dbplan_provider::admission::Refusal>,
}

/// A value recorded in state, as the diff compares it.
pub fn state_value(value: &StateValue) -> Value {
    let plain = Value::from_json(&value.value);
    if value.sensitive {
        Value::Sensitive(Secret::new(plain))
    } else {
        plain
    }
}

fn state_values(values: &BTreeMap<String, StateValue>) -> BTreeMap<String, Value> {
    values
        .iter()
        .map(|(key, value)| (key.clone(), state_value(value)))
        .collect()
}

/// Whether a planned value differs from the recorded one. An unknown value differs (it is
/// known only after apply); a secret whose variable was not set at plan time does not, nor
/// one recorded with an unkeyed fingerprint by an older dbplan (it cannot be compared).
fn differs(before: Option<&Value>, after: &Value) -> bool {
    match (before, after) {
        (_, Value::Unknown) => true,
        (Some(Value::Sensitive(before)), Value::Sensitive(after)) => {
            let unkeyed = matches!(
                before.expose(),
                Value::String(recorded) if crate::is_unkeyed_fingerprint(recorded)
            );
            !after.expose().is_unknown() && !unkeyed && before.expose() != after.expose()
        }
        (_, Value::Sensitive(after)) if after.expose().is_unknown() => before.is_none(),
        // A list or map with an unknown inside is known only after apply, like the unknown.
        (Some(_), after) if after.contains_unknown() => true,
        (Some(before), after) => !equal(before, after),
        (None, Value::Null) => false,
        (None, Value::List(values)) if values.is_empty() => false,
        (None, Value::Map(values)) if values.is_empty() => false,
        (None, _) => true,
    }
}

/// Equality that treats an integer and a float of the same value alike (state holds JSON).
fn equal(before: &Value, after: &Value) -> bool {
    match (before, after) {
        (Value::Int(a), Value::Float(b)) | (Value::Float(b), Value::Int(a)) => (*a as f64) == *b,
        (Value::List(a), Value::List(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(a, b)| equal(a, b))
        }
        (Value::Map(a), Value::Map(b)) => {
            a.len() == b.len()
                && a.iter()
                    .all(|(key, value)| b.get(key).is_some_and(|other| equal(value, other)))
        }
        (a, b) => a == b,
    }
}

/// Resolves the references of a desired object against the outputs recorded in state, where
/// the referenced object keeps its outputs (it is not created or replaced by this plan).
fn resolve_references(
    attributes: BTreeMap<String, Value>,
    references: &BTreeMap<String, OutputRef>,
    state: &Snapshot,
    actions: &HashMap<ResourceAddress, Action>,
) -> BTreeMap<String, Value> {
    resolve_with(attributes, references, state, |address| {
        !matches!(
            actions.get(address),
            Some(Action::Create | Action::Adopt | Action::Replace)
        )
    })
}

/// Resolves every reference of planned attributes against the outputs recorded in state (the
/// apply engine's view, after the referenced objects were applied). A reference whose output
/// is not recorded stays unknown.
pub fn resolve(
    attributes: &BTreeMap<String, Value>,
    references: &BTreeMap<String, OutputRef>,
    state: &Snapshot,
) -> BTreeMap<String, Value> {
    resolve_with(attributes.clone(), references, state, |_| true)
}

fn resolve_with(
    mut after: BTreeMap<String, Value>,
    references: &BTreeMap<String, OutputRef>,
    state: &Snapshot,
    usable: impl Fn(&ResourceAddress) -> bool,
) -> BTreeMap<String, Value> {
    // Items of a list that take every item of a list output (`[*]`) are spliced in, last
    // first, so that earlier indices stay valid.
    let mut splices: Vec<(String, usize, Vec<Value>)> = Vec::new();
    for (pointer, reference) in references {
        if !usable(&reference.address) {
            continue;
        }
        let Some(target) = state.resources.get(&reference.address) else {
            continue;
        };
        let Some(value) = output_value(target, &reference.output) else {
            continue;
        };
        let list_item = pointer
            .rsplit_once('/')
            .and_then(|(parent, index)| Some((parent, index.parse::<usize>().ok()?)));
        match (reference.output.contains("[*]"), list_item, value) {
            (true, Some((parent, index)), Value::List(items)) => {
                splices.push((parent.to_owned(), index, items));
            }
            (_, _, value) => set_at(&mut after, pointer, value),
        }
    }
    splices.sort_by(|a, b| (&b.0, b.1).cmp(&(&a.0, a.1)));
    for (parent, index, items) in splices {
        if let Some(Value::List(list)) = get_at_mut(&mut after, &parent)
            && index < list.len()
        {
            list.splice(index..=index, items);
        }
    }
    after
}

/// An output recorded in state, by dotted path (`vpc_id`, `private_subnets.0.id`,
/// `private_subnets.[*].id`: the `id` of every item).
fn output_value(resource: &ResourceState, path: &str) -> Option<Value> {
    let mut segments = path.split('.');
    let first = resource.outputs.get(segments.next()?)?;
    let rest: Vec<&str> = segments.collect();
    let value = Value::from_json(&walk(&first.value, &rest)?);
    Some(if first.sensitive {
        Value::Sensitive(Secret::new(value))
    } else {
        value
    })
}

fn walk(json: &serde_json::Value, segments: &[&str]) -> Option<serde_json::Value> {
    let Some((segment, rest)) = segments.split_first() else {
        return Some(json.clone());
    };
    match (*segment, json) {
        ("[*]", serde_json::Value::Array(items)) => Some(serde_json::Value::Array(
            items
                .iter()
                .map(|item| walk(item, rest))
                .collect::<Option<Vec<_>>>()?,
        )),
        (segment, serde_json::Value::Array(items)) => {
            let index: usize = segment.trim_matches(['[', ']']).parse().ok()?;
            walk(items.get(index)?, rest)
        }
        (segment, serde_json::Value::Object(map)) => walk(map.get(segment)?, rest),
        _ => None,
    }
}

/// The note of a change that removes the record of an object deleted outside dbplan.
pub const GONE_NOTE: &str =
    "deleted outside dbplan and no longer declared: apply removes its record from the state";

/// Computes the changes. The desired objects, in dependency order (already narrowed to the
/// targets), move into their changes: nothing of them is copied, and each is freed as soon as its
/// change is made.
pub fn diff(desired: Vec<Desired>, input: &DiffInput<'_>) -> DiffOutput {
    let mut actions: HashMap<ResourceAddress, Action> = HashMap::new();
    let mut changes: Vec<Change> = Vec::with_capacity(desired.len());

    if !input.destroy {
        for desired in desired {
            let change = desired_change(desired, input, &actions);
            actions.insert(change.address.clone(), change.action);
            changes.push(change);
        }
    }

    for (address, recorded) in &input.state.resources {
        // Every desired address has its action by now, and no other recorded address has yet
        // (the state's addresses are distinct): a recorded object with an action is desired.
        if actions.contains_key(address) {
            continue;
        }
        if input
            .state_scope
            .is_some_and(|scope| !scope.contains(address))
        {
            continue;
        }
        let change = removed_change(recorded, input);
        actions.insert(address.clone(), change.action);
        changes.push(change);
    }
    // An object refresh found gone (deleted outside dbplan) that nothing asks for any more:
    // apply removes its record, as Terraform keeps what refresh found. Nothing is left to
    // protect, so nothing blocks it. A targeted plan leaves such records alone.
    if input.state_scope.is_none() {
        for (address, recorded) in &input.recorded.resources {
            if actions.contains_key(address) || input.state.resources.contains_key(address) {
                continue;
            }
            let mut change = removed_change(recorded, input);
            change.action = Action::Orphan;
            change.final_snapshot = None;
            change.stateful = false;
            change.blocked = None;
            change.note = Some(GONE_NOTE.to_owned());
            actions.insert(address.clone(), change.action);
            changes.push(change);
        }
    }

    let refusals = match input.admission {
        Some(admission) => crate::admission::check(&mut changes, admission, input.state),
        None => Vec::new(),
    };
    DiffOutput {
        refusals,
        ..order(changes)
    }
}

// Long: the decision for one desired object (create, adopt, update, replace, no-op) and the notes
// that explain it, made over the same before and after maps; in one place so the conditions of
// every outcome can be compared.
fn desired_change(
    desired: Desired,
    input: &DiffInput<'_>,
    actions: &HashMap<ResourceAddress, Action>,
) -> Change {
    let Desired {
        address,
        attributes,
        references,
        secrets,
        dependencies,
        lifecycle,
        waivers,
    } = desired;
    let after = resolve_references(attributes, &references, input.state, actions);
    let kind = address.kind;
    let part = address.part.clone();
    let mut change = Change {
        action: Action::Create,
        before: BTreeMap::new(),
        after,
        changed: Vec::new(),
        replace_because: Vec::new(),
        references,
        secrets,
        dependencies,
        lifecycle,
        waivers,
        stateful: knowledge::is_stateful(kind, part.as_deref()),
        final_snapshot: None,
        blocked: None,
        note: None,
        fingerprint: input.fingerprints.get(&address).cloned(),
        lifecycle_before: None,
        lifecycle_changed: Vec::new(),
        adopt: input
            .adopt
            .iter()
            .any(|opted| matches_target(&address, opted)),
        adopt_effects: Vec::new(),
        address,
    };
    let Some(recorded) = input.state.resources.get(&change.address) else {
        match input.found.get(&change.address) {
            Some(existing) => adopt(&mut change, existing),
            None => change.changed = change.after.keys().cloned().collect(),
        }
        return change;
    };
    change.before = state_values(&recorded.attributes);
    // A field the manifest no longer has returns to its default (or to empty), or, where the
    // provider cannot reset it, is no longer recorded: either way the plan shows it.
    let mut notes: Vec<String> = Vec::new();
    let mut forgotten: Vec<String> = Vec::new();
    for (name, before) in &change.before {
        if change.after.contains_key(name) || name == ADOPT_ATTRIBUTE {
            continue;
        }
        if let Some(why) = knowledge::not_applied(kind, part.as_deref(), name) {
            // Recorded by an older dbplan, which planned it: no longer recorded, nothing sent.
            notes.push(format!("`{name}` is no longer recorded: {why}"));
            forgotten.push(name.clone());
            continue;
        }
        match knowledge::on_removal(kind, part.as_deref(), name, before) {
            Removal::Reset(value) => {
                change.after.insert(name.clone(), value);
            }
            Removal::Forget(why) => {
                notes.push(format!(
                    "`{name}` was removed from the manifest, but {why}; dbplan stops recording it"
                ));
                forgotten.push(name.clone());
            }
        }
    }
    // An output the provider generates but cannot read back (an imported role's password) is
    // set by an update: known only after apply.
    if recorded.status == Status::Ready {
        for output in knowledge::generated_outputs(kind, part.as_deref()) {
            if !recorded.outputs.contains_key(*output) {
                change.after.insert(
                    (*output).to_owned(),
                    Value::Sensitive(Secret::new(Value::Unknown)),
                );
                notes.push(format!(
                    "its `{output}` is not known to dbplan (the object was imported): apply sets a new one"
                ));
            }
        }
    }
    change.changed = change
        .after
        .iter()
        .filter(|(key, value)| {
            key.as_str() != ADOPT_ATTRIBUTE && differs(change.before.get(*key), value)
        })
        .map(|(key, _)| key.clone())
        .chain(forgotten)
        .collect();
    change.changed.sort();
    for name in &change.changed {
        if let Some(after) = change.after.get(name)
            && let Some(note) = knowledge::kept_after_removal(
                kind,
                part.as_deref(),
                name,
                change.before.get(name),
                after,
            )
        {
            notes.push(note);
        }
    }
    change.replace_because = change
        .changed
        .iter()
        .filter(|attribute| {
            change.after.contains_key(*attribute)
                && knowledge::forces_replacement(kind, part.as_deref(), attribute)
        })
        .cloned()
        .collect();
    change.lifecycle_changed = lifecycle_differences(
        &recorded.lifecycle,
        &change.lifecycle,
        &recorded.waivers,
        &change.waivers,
    );
    if !change.lifecycle_changed.is_empty() {
        change.lifecycle_before = Some(recorded.lifecycle.clone());
    }
    change.action = match recorded.status {
        Status::Tainted => {
            notes.insert(
                0,
                "tainted: an earlier apply failed part-way through it, so it is replaced"
                    .to_owned(),
            );
            Action::Replace
        }
        Status::Pending => {
            notes.insert(
                0,
                "pending: an earlier apply was interrupted before it confirmed this object; apply adopts it if it exists, or creates it".to_owned(),
            );
            Action::Create
        }
        Status::Ready if !change.replace_because.is_empty() => Action::Replace,
        Status::Ready if !change.changed.is_empty() || !change.lifecycle_changed.is_empty() => {
            Action::Update
        }
        Status::Ready => Action::NoOp,
    };
    if !notes.is_empty() {
        change.note = Some(notes.join("; "));
    }
    if change.action == Action::Replace {
        change.final_snapshot = knowledge::final_snapshot(kind, part.as_deref(), &change.before);
        change.blocked = destroy_blocked(
            &change.address,
            Action::Replace,
            &recorded.lifecycle,
            Some(&change.lifecycle),
            input.state,
        );
    }
    change
}

/// An object that exists although state has no record of it: an adopt, whose `before` is the
/// remote object (the attributes the manifest plans in plain that the provider reports; a
/// secret is never compared), and which is blocked unless the manifest opts in.
fn adopt(change: &mut Change, existing: &Existing) {
    change.action = Action::Adopt;
    change.before = existing
        .remote
        .attributes
        .iter()
        .filter(|(name, _)| {
            change
                .after
                .get(*name)
                .is_some_and(|planned| !matches!(planned, Value::Sensitive(_)))
        })
        .map(|(name, value)| (name.clone(), Value::from_json(value)))
        .collect();
    // Only what the provider reports is compared: an attribute it does not read back (a
    // reference to the server) says nothing about the object.
    change.changed = change
        .after
        .iter()
        .filter(|(name, value)| {
            change
                .before
                .get(*name)
                .is_some_and(|before| differs(Some(before), value))
        })
        .map(|(name, _)| name.clone())
        .collect();
    change.adopt_effects = existing.effects.clone();
    let fixed: Vec<&str> = change
        .changed
        .iter()
        .filter(|name| {
            change.before.contains_key(*name)
                && knowledge::forces_replacement(change.kind(), change.part(), name)
        })
        .map(String::as_str)
        .collect();
    let id = existing
        .remote
        .provider_id
        .as_deref()
        .map(|id| format!(" (id {id})"))
        .unwrap_or_default();
    let mut notes = vec![format!(
        "exists{id} but dbplan did not create it: apply takes it over and brings it to the manifest"
    )];
    if !fixed.is_empty() {
        notes.push(format!(
            "{} differ{} and cannot change in place: apply refuses to adopt it unless the manifest matches it",
            fixed.join(", "),
            if fixed.len() == 1 { "s" } else { "" }
        ));
    }
    change.note = Some(notes.join("; "));
    if !change.adopt {
        let address = &change.address;
        change.blocked = Some(format!(
            "{address} exists{id}, and dbplan did not create it; apply does not take it over without an explicit opt-in: annotate the resource `dbplan.io/adopt: \"true\"`, pass `--adopt {address}`, or record it first with `dbplan import {address} ID`; or choose another name"
        ));
    }
}

/// The lifecycle settings (and recorded waivers) that differ between the record and the
/// manifest, by name: `deletion_protection`, `deletion_policy`, `prevent_destroy`,
/// `deletion_opted_in`, `waivers`.
fn lifecycle_differences(
    recorded: &Lifecycle,
    desired: &Lifecycle,
    recorded_waivers: &BTreeMap<String, String>,
    desired_waivers: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut changed = Vec::new();
    if recorded.deletion_opted_in != desired.deletion_opted_in {
        changed.push("deletion_opted_in".to_owned());
    }
    if recorded.deletion_policy != desired.deletion_policy {
        changed.push("deletion_policy".to_owned());
    }
    if recorded.deletion_protection != desired.deletion_protection {
        changed.push("deletion_protection".to_owned());
    }
    if recorded.prevent_destroy != desired.prevent_destroy {
        changed.push("prevent_destroy".to_owned());
    }
    if recorded_waivers != desired_waivers {
        changed.push("waivers".to_owned());
    }
    changed
}

/// Why deleting, orphaning or replacing an object is refused, if it is: prevent-destroy or
/// deletion protection, its own (recorded, or for a replace also the manifest's) or, for a
/// tenant, that of any recorded part of the same tenant (a tenant's protection guards its
/// role, database and secret alike, including records written before the parts carried it).
pub(crate) fn destroy_blocked(
    address: &ResourceAddress,
    action: Action,
    recorded: &Lifecycle,
    desired: Option<&Lifecycle>,
    state: &Snapshot,
) -> Option<String> {
    let verb = match action {
        Action::Replace => "replaced (deleted and created again)",
        Action::Orphan => "orphaned (forgotten and left in place)",
        _ => "deleted",
    };
    if recorded.prevent_destroy || desired.is_some_and(|desired| desired.prevent_destroy) {
        return Some(format!(
            "{address} has `dbplan.io/prevent-destroy: \"true\"`, so it cannot be {verb}; remove the annotation and apply that first if it must really go"
        ));
    }
    if recorded.deletion_protection {
        return Some(format!(
            "{address} has deletion protection on, so it cannot be {verb}; turn it off (`deletion_protection: false`) and apply that first if it must really go"
        ));
    }
    if address.kind == Kind::TenantDatabase {
        let name = &address.name;
        let guard = state.resources.iter().find(|(other, resource)| {
            other.kind == Kind::TenantDatabase
                && other.name == *name
                && other.part.is_some()
                && (resource.lifecycle.deletion_protection || resource.lifecycle.prevent_destroy)
        });
        if let Some((other, _)) = guard {
            return Some(format!(
                "{address} belongs to TenantDatabase/{name}, whose deletion protection is on ({other}), so it cannot be {verb}; turn it off (`deletion_protection: false`) and apply that first if it must really go"
            ));
        }
    }
    None
}

fn removed_change(recorded: &ResourceState, input: &DiffInput<'_>) -> Change {
    let address = &recorded.address;
    let kind = recorded.kind;
    let part = recorded.address.part.clone();
    let before = state_values(&recorded.attributes);
    let stateful = knowledge::is_stateful(kind, part.as_deref());
    let orphan = recorded.lifecycle.deletion_policy == DeletionPolicy::Orphan;
    let mut change = Change {
        address: recorded.address.clone(),
        action: if orphan {
            Action::Orphan
        } else {
            Action::Delete
        },
        final_snapshot: if orphan {
            None
        } else {
            knowledge::final_snapshot(kind, part.as_deref(), &before)
        },
        before,
        after: BTreeMap::new(),
        changed: Vec::new(),
        replace_because: Vec::new(),
        references: BTreeMap::new(),
        secrets: BTreeMap::new(),
        dependencies: recorded.dependencies.clone(),
        lifecycle: recorded.lifecycle.clone(),
        waivers: recorded.waivers.clone(),
        stateful,
        blocked: None,
        note: None,
        fingerprint: input.fingerprints.get(address).cloned(),
        lifecycle_before: None,
        lifecycle_changed: Vec::new(),
        adopt: false,
        adopt_effects: Vec::new(),
    };
    change.blocked = destroy_blocked(
        &recorded.address,
        change.action,
        &recorded.lifecycle,
        None,
        input.state,
    );
    change
}

/// Orders the changes and derives the apply order: deletes (and the delete half of each
/// replace) first, dependents before their dependencies; then creates, updates and the create
/// half of each replace, dependencies first. No-ops come last, by address.
// Long: Kahn's algorithm over the changes' indices and the two passes that make it the apply order
// (deletes dependents first, then creates dependencies first); the passes share its vectors.
fn order(changes: Vec<Change>) -> DiffOutput {
    // A small Kahn's algorithm over the changes' indices (petgraph stays inside dbplan-graph):
    // the dependencies come from the manifests for desired objects and from state for removed
    // ones. Ties are broken by the address as text, as state and plans list them; each
    // address's text is made once and ranked, and the rest works on the ranks.
    let count = changes.len();
    let texts: Vec<String> = changes
        .iter()
        .map(|change| change.address.to_string())
        .collect();
    let mut by_text: Vec<usize> = (0..count).collect();
    by_text.sort_by(|a, b| texts[*a].cmp(&texts[*b]));
    drop(texts);
    let mut text_rank = vec![0; count];
    for (rank, index) in by_text.iter().enumerate() {
        text_rank[*index] = rank;
    }
    let index_of: HashMap<&ResourceAddress, usize> = changes
        .iter()
        .enumerate()
        .map(|(index, change)| (&change.address, index))
        .collect();
    let mut remaining = vec![0_usize; count];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); count];
    for (index, change) in changes.iter().enumerate() {
        let mut dependencies: Vec<usize> = change
            .dependencies
            .iter()
            .filter_map(|dependency| index_of.get(dependency).copied())
            .filter(|dependency| *dependency != index)
            .collect();
        dependencies.sort_unstable();
        dependencies.dedup();
        remaining[index] = dependencies.len();
        for dependency in dependencies {
            dependents[dependency].push(index);
        }
    }
    drop(index_of);
    // Ready changes by the rank of their address's text.
    let mut ready: BTreeSet<usize> = (0..count)
        .filter(|index| remaining[*index] == 0)
        .map(|index| text_rank[index])
        .collect();
    let mut topological: Vec<usize> = Vec::with_capacity(count);
    let mut placed = vec![false; count];
    while let Some(rank) = ready.pop_first() {
        let index = by_text[rank];
        topological.push(index);
        placed[index] = true;
        for dependent in &dependents[index] {
            remaining[*dependent] -= 1;
            if remaining[*dependent] == 0 {
                ready.insert(text_rank[*dependent]);
            }
        }
    }
    // A cycle cannot come from validated manifests; should state hold one, the rest follow by
    // address rather than being lost.
    if topological.len() < count {
        topological.extend(by_text.iter().copied().filter(|index| !placed[*index]));
    }
    let mut position = vec![0; count];
    for (at, index) in topological.iter().enumerate() {
        position[*index] = at;
    }

    // Deletes in reverse dependency order, then creates and updates in dependency order.
    let mut steps: Vec<(usize, Step)> = Vec::new();
    for index in topological.iter().rev() {
        let change = &changes[*index];
        let operation = match change.action {
            Action::Delete | Action::Replace => Operation::Delete,
            Action::Orphan => Operation::Orphan,
            _ => continue,
        };
        steps.push((
            *index,
            Step {
                address: change.address.clone(),
                operation,
            },
        ));
    }
    for index in &topological {
        let change = &changes[*index];
        let operation = match change.action {
            Action::Create | Action::Adopt | Action::Replace => Operation::Create,
            Action::Update => Operation::Update,
            _ => continue,
        };
        steps.push((
            *index,
            Step {
                address: change.address.clone(),
                operation,
            },
        ));
    }

    // Changes are listed by their first step, then (no step) in dependency order.
    let mut first_step = vec![usize::MAX; count];
    for (at, (index, _)) in steps.iter().enumerate() {
        if first_step[*index] == usize::MAX {
            first_step[*index] = at;
        }
    }
    let apply_order = steps.into_iter().map(|(_, step)| step).collect();
    let mut keyed: Vec<((usize, usize, usize), Change)> = changes
        .into_iter()
        .enumerate()
        .map(|(index, change)| {
            (
                (first_step[index], position[index], text_rank[index]),
                change,
            )
        })
        .collect();
    keyed.sort_by_key(|(key, _)| *key);
    let changes = keyed.into_iter().map(|(_, change)| change).collect();
    DiffOutput {
        changes,
        apply_order,
        refusals: Vec::new(),
    }
}

/// The address a target names: `Kind/name` (every part) or `Kind/name/part`.
pub fn matches_target(address: &ResourceAddress, target: &str) -> bool {
    let text = address.to_string();
    text == target || address.root().to_string() == target
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbplan_provider::RemoteObject;

    fn role(password: Value) -> Desired {
        let mut attributes = BTreeMap::new();
        attributes.insert("name".to_owned(), Value::String("legacy_app".to_owned()));
        attributes.insert("connection_limit".to_owned(), Value::Int(10));
        attributes.insert(
            "server".to_owned(),
            Value::String("PostgresServer/pg".into()),
        );
        attributes.insert("password".to_owned(), password);
        Desired {
            address: ResourceAddress::new(Kind::TenantDatabase, "legacy").part("role"),
            attributes,
            references: BTreeMap::new(),
            secrets: BTreeMap::new(),
            dependencies: Vec::new(),
            lifecycle: Lifecycle::default(),
            waivers: BTreeMap::new(),
        }
    }

    fn existing() -> BTreeMap<ResourceAddress, Existing> {
        let mut attributes = BTreeMap::new();
        attributes.insert("name".to_owned(), serde_json::json!("legacy_app"));
        attributes.insert("connection_limit".to_owned(), serde_json::json!(-1));
        attributes.insert("password".to_owned(), serde_json::json!("leaked?"));
        let mut found = BTreeMap::new();
        found.insert(
            ResourceAddress::new(Kind::TenantDatabase, "legacy").part("role"),
            Existing {
                remote: RemoteObject {
                    provider_id: Some("legacy_app".to_owned()),
                    attributes,
                    outputs: BTreeMap::new(),
                },
                effects: vec!["the role's password will be reset".to_owned()],
            },
        );
        found
    }

    fn planned(desired: &[Desired], state: &Snapshot, adopt: &[String]) -> DiffOutput {
        diff(
            desired.to_vec(),
            &DiffInput {
                state,
                recorded: state,
                state_scope: None,
                destroy: false,
                fingerprints: &BTreeMap::new(),
                found: &existing(),
                adopt,
                admission: None,
            },
        )
    }

    #[test]
    fn an_object_found_without_a_record_is_an_adopt_blocked_without_opt_in() {
        let desired = [role(Value::Sensitive(Secret::new(Value::String(
            "hmac-sha256:abc".into(),
        ))))];
        let output = planned(&desired, &Snapshot::default(), &[]);
        let change = &output.changes[0];
        assert_eq!(change.action, Action::Adopt);
        // Only what the provider reports, and never a secret.
        assert_eq!(
            change.before.keys().collect::<Vec<_>>(),
            ["connection_limit", "name"]
        );
        assert_eq!(change.changed, ["connection_limit"]);
        assert_eq!(change.adopt_effects, ["the role's password will be reset"]);
        let blocked = change.blocked.as_deref().unwrap();
        assert!(
            blocked.contains("--adopt TenantDatabase/legacy/role")
                && blocked.contains("dbplan.io/adopt")
                && blocked.contains("dbplan import"),
            "{blocked}"
        );
        assert_eq!(output.apply_order[0].operation, Operation::Create);
    }

    #[test]
    fn a_record_of_an_object_gone_and_no_longer_declared_is_removed_even_when_protected() {
        let mut recorded = Snapshot::default();
        for name in ["gone", "kept"] {
            let mut resource = ResourceState::new(ResourceAddress::new(
                Kind::DigitalOceanDatabaseCluster,
                name,
            ));
            resource.lifecycle.deletion_protection = true;
            recorded
                .resources
                .insert(resource.address.clone(), resource);
        }
        // Refresh found `gone` deleted outside dbplan; `kept` is still there.
        let mut refreshed = recorded.clone();
        refreshed
            .resources
            .retain(|address, _| address.name != "gone");
        let output = diff(
            Vec::new(),
            &DiffInput {
                state: &refreshed,
                recorded: &recorded,
                state_scope: None,
                destroy: true,
                fingerprints: &BTreeMap::new(),
                found: &BTreeMap::new(),
                adopt: &[],
                admission: None,
            },
        );
        let change = |name: &str| {
            output
                .changes
                .iter()
                .find(|change| change.address.name == name)
                .unwrap_or_else(|| panic!("{name} in {:?}", output.changes))
        };
        let gone = change("gone");
        assert_eq!(gone.action, Action::Orphan);
        assert_eq!(gone.note.as_deref(), Some(GONE_NOTE));
        assert!(gone.blocked.is_none() && !gone.is_data_risk(), "{gone:?}");
        // The one still there is protected as ever.
        let kept = change("kept");
        assert_eq!(kept.action, Action::Delete);
        assert!(kept.blocked.is_some(), "{kept:?}");
    }

    #[test]
    fn an_opt_in_for_the_resource_covers_its_parts() {
        let desired = [role(Value::Unknown)];
        let output = planned(
            &desired,
            &Snapshot::default(),
            &["TenantDatabase/legacy".to_owned()],
        );
        let change = &output.changes[0];
        assert_eq!(change.action, Action::Adopt);
        assert!(change.adopt && change.blocked.is_none(), "{change:?}");
    }

    #[test]
    fn a_pending_record_is_recovered_as_a_create_not_adopted() {
        let desired = [role(Value::Unknown)];
        let mut state = Snapshot::default();
        let mut pending =
            ResourceState::new(ResourceAddress::new(Kind::TenantDatabase, "legacy").part("role"));
        pending.status = Status::Pending;
        state.resources.insert(pending.address.clone(), pending);
        let change = &planned(&desired, &state, &[]).changes[0];
        assert_eq!(change.action, Action::Create);
        assert!(change.blocked.is_none());
    }

    #[test]
    fn the_file_opt_in_is_no_change_of_a_recorded_object() {
        let mut desired = role(Value::Unknown);
        desired.attributes.remove("password");
        let mut state = Snapshot::default();
        let mut recorded =
            ResourceState::new(ResourceAddress::new(Kind::TenantDatabase, "legacy").part("role"));
        for (name, value) in &desired.attributes {
            recorded
                .attributes
                .insert(name.clone(), StateValue::plain(value.to_json_exposed()));
        }
        recorded
            .attributes
            .insert(ADOPT_ATTRIBUTE.to_owned(), StateValue::plain(true));
        recorded
            .outputs
            .insert("password".to_owned(), StateValue::sensitive("generated"));
        state.resources.insert(recorded.address.clone(), recorded);
        let change = &planned(&[desired], &state, &[]).changes[0];
        assert_eq!(change.action, Action::NoOp, "{:?}", change.changed);
    }
}
