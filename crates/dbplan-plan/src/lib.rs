//! From manifests and state to a reviewed plan.
//!
//! [`desired`] reads what the manifests ask for (references left as unknowns, secrets as
//! salted hashes); [`refresh`] asks the providers what really exists; [`diff`] compares the
//! two, purely, into one [`Change`] per object (`create`, `update`, `replace` with the
//! attributes that force it, `delete`, `orphan`, `no-op`) and an apply order; [`make_plan`]
//! adds the policy findings (lint rules on the planned values, plan rules on the changes), and
//! [`Verdict::of`] says whether the plan may be applied.
//! A [`Plan`] is saved to a versioned, checksummed file ([`file`](mod@file)) and rendered as text,
//! Markdown or JSON ([`render`]).

pub mod admission;
pub mod codes;
pub mod desired;
pub mod diff;
pub mod file;
pub mod files;
mod findings;
pub mod knowledge;
mod model;
pub mod refresh;
pub mod render;
pub mod revalidate;
mod verdict;
mod wire;

pub use desired::{Desired, DesiredSet, PREVENT_DESTROY, is_unkeyed_fingerprint, secret_hash};
pub use diff::{DiffInput, DiffOutput};
pub use file::{PlanFileError, Staleness, check_fresh};
pub use findings::PolicyFinding;
pub use model::{
    Change, Drift, DriftKind, DriftedAttribute, OutputRef, Plan, SecretRef, SecretSource, StateRef,
    Step, Summary,
};
pub use refresh::Refreshed;
pub use verdict::{Blocked, NotMade, Verdict};
pub use wire::FORMAT_VERSION;

use dbplan_core::ResourceAddress;
use dbplan_diagnostics::Diagnostic;
use dbplan_graph::Graph;
use dbplan_manifest::ManifestSet;
use dbplan_policy::{Pack, RULES, Report};
use dbplan_state::Snapshot;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// Everything a plan is made from.
pub struct PlanRequest<'a> {
    pub set: &'a ManifestSet,
    pub graph: &'a Graph,
    /// The state as recorded (its lineage and serial bind the plan).
    pub state: &'a Snapshot,
    /// What refresh found; `None` for an offline plan.
    pub refreshed: Option<&'a Refreshed>,
    pub pack: &'a Pack,
    pub options: &'a dbplan_policy::options::Snapshot,
    /// `--destroy`.
    pub destroy: bool,
    /// `--target` addresses (`Kind/name` or `Kind/name/part`).
    pub targets: &'a [String],
    /// `--adopt` addresses (`Kind/name` or `Kind/name/part`): existing objects that apply may
    /// take over, besides those of resources annotated `dbplan.io/adopt: "true"`.
    pub adopt: &'a [String],
    /// Reads `secretEnv` variables.
    pub env: &'a dyn Fn(&str) -> Option<String>,
    /// The state's key: secrets are fingerprinted with it.
    pub key: &'a dbplan_state::StateKey,
    /// Checks the objects the planned parts become against what their API server accepts
    /// (CRDs), offline; `None` checks nothing.
    pub admission: Option<&'a dyn dbplan_provider::admission::Admission>,
}

/// A plan with the full policy report (for rendering findings with source excerpts) and the
/// diagnostics found on the way.
#[derive(Debug)]
pub struct Planned {
    pub plan: Plan,
    pub report: Report,
    pub diagnostics: Vec<Diagnostic>,
}

/// Why no plan could be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("--target {target} matches no resource in the manifests or the state{hint}")]
    UnknownTarget { target: String, hint: String },
    #[error("--adopt {address} matches no resource in the manifests{hint}")]
    UnknownAdopt { address: String, hint: String },
}

/// Makes a plan.
// Long: the planning pipeline in order (desired objects, adoption, narrowing, diff, policies, plan
// rules, notices) assembling one Plan; each step is a call, this is the assembly.
pub fn make_plan(request: &PlanRequest<'_>) -> Result<Planned, PlanError> {
    let effective = request
        .refreshed
        .map_or(request.state, |refreshed| &refreshed.snapshot);
    // The recorded fingerprints and the manifests' policies need nothing of the desired objects:
    // they are made on a second core while those are read.
    let (set, graph, pack, options) = (request.set, request.graph, request.pack, request.options);
    let (state, refreshed) = (request.state, request.refreshed);
    let (desired_set, fingerprints, mut report) = std::thread::scope(|scope| {
        let beside = scope.spawn(move || {
            let fingerprints = match refreshed {
                Some(refreshed) => refreshed.fingerprints.clone(),
                None => refresh::recorded_fingerprints(state),
            };
            (fingerprints, dbplan_policy::lint(set, graph, pack, options))
        });
        let desired_set = desired::desired(request.set, request.graph, request.env, request.key);
        let (fingerprints, report) = beside
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (desired_set, fingerprints, report)
    });
    let mut diagnostics = desired_set.diagnostics;
    let mut objects = desired_set.objects;
    let adopt = adoptions(request.set, &mut objects, effective, request.adopt)?;
    let (desired, state_scope) = narrow(objects, effective, request.targets, request.destroy)?;
    let no_objects_found = BTreeMap::new();
    let output = diff::diff(
        desired,
        &DiffInput {
            state: effective,
            recorded: request.state,
            state_scope: state_scope.as_ref(),
            destroy: request.destroy,
            fingerprints: &fingerprints,
            found: request
                .refreshed
                .map_or(&no_objects_found, |refreshed| &refreshed.found),
            adopt: &adopt,
            admission: request.admission,
        },
    );
    diagnostics.extend(
        output
            .refusals
            .iter()
            .map(|refusal| admission::diagnostic(refusal, request.set)),
    );

    let plan_report = dbplan_policy::check_plan(request.set, &output.changes, request.pack);
    report.findings.extend(plan_report.findings);
    let findings = report
        .findings
        .iter()
        .map(|finding| PolicyFinding::of(finding, &request.set.sources))
        .collect();

    let mut notices = Vec::new();
    if let Some(refreshed) = request.refreshed {
        notices.extend(refreshed.notices.iter().cloned());
    }
    let plan = Plan {
        dbplan_version: env!("CARGO_PKG_VERSION").to_owned(),
        state: StateRef {
            lineage: request.state.lineage.clone(),
            serial: request.state.serial,
        },
        changes: output.changes,
        apply_order: output.apply_order,
        drift: request
            .refreshed
            .map(|refreshed| refreshed.drift.clone())
            .unwrap_or_default(),
        findings,
        notices,
        refreshed: request.refreshed.is_some(),
        destroy: request.destroy,
        targets: request.targets.to_vec(),
        manifests_digest: manifests_digest(request.set),
        policy_pack_digest: pack_digest(request.pack),
    };
    Ok(Planned {
        plan,
        report,
        diagnostics,
    })
}

/// A plan of desired objects against a state, without manifests or policies: the diff and the
/// apply order only. For tests and benchmarks of apply, which need plans of a given shape (a
/// DAG with a known critical path) rather than of given manifests.
pub fn plan_objects(desired: &[Desired], state: &Snapshot, destroy: bool) -> Plan {
    let fingerprints = refresh::recorded_fingerprints(state);
    let output = diff::diff(
        desired.to_vec(),
        &DiffInput {
            state,
            recorded: state,
            state_scope: None,
            destroy,
            fingerprints: &fingerprints,
            found: &BTreeMap::new(),
            adopt: &[],
            admission: None,
        },
    );
    Plan {
        dbplan_version: env!("CARGO_PKG_VERSION").to_owned(),
        state: StateRef {
            lineage: state.lineage.clone(),
            serial: state.serial,
        },
        changes: output.changes,
        apply_order: output.apply_order,
        drift: Vec::new(),
        findings: Vec::new(),
        notices: Vec::new(),
        refreshed: false,
        destroy,
        targets: Vec::new(),
        manifests_digest: String::new(),
        policy_pack_digest: String::new(),
    }
}

/// The addresses whose existing objects apply may take over: every resource annotated
/// `dbplan.io/adopt: "true"`, and each `--adopt` address, which must name a resource (or a
/// part) of the manifests. A file-writing part that `--adopt` names and state does not record
/// may replace an existing file, as the annotation allows.
fn adoptions(
    set: &ManifestSet,
    objects: &mut [Desired],
    state: &Snapshot,
    opted: &[String],
) -> Result<Vec<String>, PlanError> {
    let mut adopt: Vec<String> = set
        .resources
        .iter()
        .filter(|resource| files::adopts(resource))
        .map(|resource| resource.address.to_string())
        .collect();
    for address in opted {
        let mut found = false;
        for object in objects.iter_mut() {
            if !diff::matches_target(&object.address, address) {
                continue;
            }
            found = true;
            if files::writes_file_at(&object.address)
                && !state.resources.contains_key(&object.address)
            {
                object.attributes.insert(
                    dbplan_provider::files::ADOPT_ATTRIBUTE.to_owned(),
                    dbplan_core::Value::Bool(true),
                );
            }
        }
        if !found {
            let known: Vec<String> = objects
                .iter()
                .map(|object| object.address.to_string())
                .collect();
            let hint = dbplan_manifest::schema::suggest(address, &known)
                .map(|suggestion| format!("; did you mean {suggestion}?"))
                .unwrap_or_else(|| "; `dbplan graph` lists the addresses".to_owned());
            return Err(PlanError::UnknownAdopt {
                address: address.clone(),
                hint,
            });
        }
        adopt.push(address.clone());
    }
    adopt.sort();
    adopt.dedup();
    Ok(adopt)
}

/// Narrows the desired objects to the targets and their dependencies, and the state to the
/// targeted addresses. With `--destroy`, the state scope is the targets and what depends on
/// them (a dependent cannot outlive what it needs), never their dependencies. Without targets,
/// everything.
fn narrow(
    objects: Vec<Desired>,
    state: &Snapshot,
    targets: &[String],
    destroy: bool,
) -> Result<(Vec<Desired>, Option<BTreeSet<ResourceAddress>>), PlanError> {
    if targets.is_empty() {
        return Ok((objects, None));
    }
    let mut wanted: BTreeSet<ResourceAddress> = BTreeSet::new();
    let mut scope: BTreeSet<ResourceAddress> = BTreeSet::new();
    for target in targets {
        let mut found = false;
        for object in &objects {
            if diff::matches_target(&object.address, target) {
                wanted.insert(object.address.clone());
                found = true;
            }
        }
        // A target is the text given on the command line: a recorded address is in scope
        // when its text is the target or continues it with `/`.
        let under = format!("{target}/");
        for address in state.resources.keys() {
            let text = address.to_string();
            if text == *target || text.starts_with(&under) {
                scope.insert(address.clone());
                found = true;
            }
        }
        if !found {
            let mut known: Vec<String> = objects
                .iter()
                .map(|object| object.address.to_string())
                .chain(state.resources.keys().map(ToString::to_string))
                .collect();
            known.sort();
            known.dedup();
            let hint = dbplan_manifest::schema::suggest(target, &known)
                .map(|suggestion| format!("; did you mean {suggestion}?"))
                .unwrap_or_else(|| "; `dbplan graph` lists the addresses".to_owned());
            return Err(PlanError::UnknownTarget {
                target: target.clone(),
                hint,
            });
        }
    }
    if destroy {
        let mut stack: Vec<ResourceAddress> = scope.iter().cloned().collect();
        while let Some(address) = stack.pop() {
            for (dependent, resource) in &state.resources {
                let depends = resource.dependencies.contains(&address);
                if depends && scope.insert(dependent.clone()) {
                    stack.push(dependent.clone());
                }
            }
        }
        return Ok((Vec::new(), Some(scope)));
    }
    // Dependencies of the targets come along (they must exist first).
    let by_address: BTreeMap<&ResourceAddress, &Desired> = objects
        .iter()
        .map(|object| (&object.address, object))
        .collect();
    let mut stack: Vec<ResourceAddress> = wanted.iter().cloned().collect();
    while let Some(address) = stack.pop() {
        if let Some(object) = by_address.get(&address) {
            for dependency in &object.dependencies {
                if wanted.insert(dependency.clone()) {
                    stack.push(dependency.clone());
                }
            }
        }
    }
    scope.extend(wanted.iter().cloned());
    drop(by_address);
    let narrowed = objects
        .into_iter()
        .filter(|object| wanted.contains(&object.address))
        .collect();
    Ok((narrowed, Some(scope)))
}

/// SHA-256 over the files that declare the resources (names and redacted texts).
fn manifests_digest(set: &ManifestSet) -> String {
    let files: BTreeSet<u32> = set
        .resources
        .iter()
        .map(|resource| resource.name_span().file.index())
        .collect();
    let mut hasher = Sha256::new();
    for (id, file) in set.sources.files() {
        if files.contains(&id.index()) {
            hasher.update((file.name().len() as u64).to_le_bytes());
            hasher.update(file.name().as_bytes());
            hasher.update((file.text().len() as u64).to_le_bytes());
            hasher.update(file.text().as_bytes());
        }
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

/// SHA-256 over the effective enforcement and parameters of every rule.
fn pack_digest(pack: &Pack) -> String {
    let mut hasher = Sha256::new();
    for rule in RULES {
        hasher.update(rule.code.as_str().as_bytes());
        hasher.update(pack.enforcement(rule).as_str().as_bytes());
        for (name, value) in pack.params(rule.code.as_str()) {
            hasher.update(name.as_bytes());
            hasher.update(value.to_le_bytes());
        }
        hasher.update([0]);
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}
