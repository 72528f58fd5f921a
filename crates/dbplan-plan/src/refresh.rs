//! Refresh: ask each object's provider for the remote object, report what changed outside
//! dbplan, and give the diff the state as it really is.

use crate::desired::Desired;
use crate::model::{Drift, DriftKind, DriftedAttribute};
use dbplan_core::{ResourceAddress, Value};
use dbplan_provider::{
    Adoption, ChangeRequest, Context, Existing, Field, FindOutcome, ProviderError, Providers,
    ReadOutcome, ReadRequest, Recorded, RemoteObject,
};
use dbplan_state::{ResourceState, Snapshot, StateValue, Status};
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// What refresh found.
#[derive(Debug, Default)]
pub struct Refreshed {
    /// The state with the remote values in place of the recorded ones, and without the
    /// objects that are gone.
    pub snapshot: Snapshot,
    pub drift: Vec<Drift>,
    /// Per address, the fingerprint of the remote object (or of the recorded one where it was
    /// not read).
    pub fingerprints: BTreeMap<ResourceAddress, String>,
    /// What was not refreshed, and why.
    pub notices: Vec<String>,
    /// Reads that failed; a plan with any is not trustworthy.
    pub errors: Vec<ProviderError>,
    /// Objects that exist although state has no record of them (what a create would take
    /// over), by address: [`find_unrecorded`].
    pub found: BTreeMap<ResourceAddress, Existing>,
}

/// The fingerprint of an object: SHA-256 over its id and plain attributes (secrets are left
/// out, so that the fingerprint says nothing about them).
pub fn fingerprint(
    provider_id: Option<&str>,
    attributes: &BTreeMap<String, serde_json::Value>,
) -> String {
    fingerprint_of(provider_id, attributes)
}

/// [`fingerprint`] over anything that serialises as the same JSON map, written straight into
/// the hash.
#[expect(
    clippy::expect_used,
    reason = "attributes are JSON values under string keys, which always serialise"
)]
fn fingerprint_of(provider_id: Option<&str>, attributes: &impl serde::Serialize) -> String {
    /// Feeds what the JSON writer writes to the hash.
    struct HashWriter(Sha256);
    impl std::io::Write for HashWriter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.update(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut hasher = HashWriter(Sha256::new());
    hasher.0.update(provider_id.unwrap_or_default().as_bytes());
    hasher.0.update([0]);
    serde_json::to_writer(&mut hasher, attributes)
        .expect("a map of JSON values with string keys serialises");
    format!("sha256:{}", hex::encode(hasher.0.finalize()))
}

/// A resource's plain attributes as [`plain_attributes`] has them, borrowed: serialised as the
/// same JSON map (the same keys in the same order) without copying the values.
struct PlainAttributes<'a>(&'a BTreeMap<String, StateValue>);

impl serde::Serialize for PlainAttributes<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(
            self.0
                .iter()
                .filter(|(_, value)| !value.sensitive)
                .map(|(key, value)| (key, &value.value)),
        )
    }
}

pub fn plain_attributes(resource: &ResourceState) -> BTreeMap<String, serde_json::Value> {
    resource
        .attributes
        .iter()
        .filter(|(_, value)| !value.sensitive)
        .map(|(key, value)| (key.clone(), value.value.clone()))
        .collect()
}

/// State values as provider fields.
pub fn fields(values: &BTreeMap<String, StateValue>) -> BTreeMap<String, Field> {
    values
        .iter()
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// The recorded objects a resource depends on, directly or through others, as a provider
/// sees them.
pub fn context_of(snapshot: &Snapshot, dependencies: &[ResourceAddress]) -> Context {
    let mut context = Context::new();
    let mut pending: Vec<&ResourceAddress> = dependencies.iter().collect();
    while let Some(address) = pending.pop() {
        if context.contains_key(address) {
            continue;
        }
        let Some(dependency) = snapshot.resources.get(address) else {
            continue;
        };
        context.insert(
            address.clone(),
            Recorded {
                provider_id: dependency.provider_id.clone(),
                attributes: plain_attributes(dependency),
                outputs: fields(&dependency.outputs),
            },
        );
        pending.extend(dependency.dependencies.iter());
    }
    context
}

/// Fingerprints from state alone (offline plans).
pub fn recorded_fingerprints(snapshot: &Snapshot) -> BTreeMap<ResourceAddress, String> {
    snapshot
        .resources
        .iter()
        .map(|(address, resource)| {
            (
                address.clone(),
                fingerprint_of(
                    resource.provider_id.as_deref(),
                    &PlainAttributes(&resource.attributes),
                ),
            )
        })
        .collect()
}

/// The plain, known attributes among `attributes` (a declared object's, or a change's
/// `after`), for [`ReadRequest::declared`]: none that holds a secret (`secrets` names their
/// pointers) or a value known only after apply.
pub fn declared_attributes<S>(
    attributes: &BTreeMap<String, Value>,
    secrets: &BTreeMap<String, S>,
) -> BTreeMap<String, serde_json::Value> {
    fn plain(value: &Value) -> bool {
        match value {
            Value::Unknown | Value::Sensitive(_) => false,
            Value::List(items) => items.iter().all(plain),
            Value::Map(entries) => entries.values().all(plain),
            _ => true,
        }
    }
    attributes
        .iter()
        .filter(|(name, value)| {
            plain(value)
                && !secrets
                    .keys()
                    .any(|pointer| pointer.split('/').next() == Some(name.as_str()))
        })
        .map(|(name, value)| (name.clone(), value.to_json_exposed()))
        .collect()
}

/// The read of a recorded object, with what the manifests declare for it now.
fn read_request(
    snapshot: &Snapshot,
    resource: &ResourceState,
    declared: Option<&Desired>,
) -> ReadRequest {
    ReadRequest {
        address: resource.address.clone(),
        provider_id: resource.provider_id.clone(),
        attributes: plain_attributes(resource),
        outputs: fields(&resource.outputs),
        context: context_of(snapshot, &resource.dependencies),
        declared: declared
            .map(|object| declared_attributes(&object.attributes, &object.secrets))
            .unwrap_or_default(),
    }
}

/// Reads every object recorded in state through its provider, `concurrency` reads at a time;
/// one still in `declared` (the manifests' objects) is read with its declared attributes at
/// hand.
pub async fn refresh(
    snapshot: &Snapshot,
    providers: &Providers,
    concurrency: usize,
    declared: &[Desired],
) -> Refreshed {
    let declared: BTreeMap<&ResourceAddress, &Desired> = declared
        .iter()
        .map(|object| (&object.address, object))
        .collect();
    let mut refreshed = Refreshed {
        snapshot: snapshot.clone(),
        ..Refreshed::default()
    };
    let mut unprovided: BTreeMap<String, usize> = BTreeMap::new();
    let mut requests = Vec::new();
    for (address, resource) in &snapshot.resources {
        match providers.for_kind(resource.kind) {
            Some(provider) => {
                let declared = declared.get(address).copied();
                requests.push((
                    provider,
                    address,
                    read_request(snapshot, resource, declared),
                ));
            }
            None => {
                *unprovided
                    .entry(resource.kind.as_str().to_owned())
                    .or_default() += 1;
                refreshed.fingerprints.insert(
                    address.clone(),
                    fingerprint_of(
                        resource.provider_id.as_deref(),
                        &PlainAttributes(&resource.attributes),
                    ),
                );
            }
        }
    }
    // Read in the order of the addresses' text, as state stores them.
    requests.sort_by_cached_key(|(_, address, _)| address.to_string());
    for (kind, count) in unprovided {
        refreshed.notices.push(format!(
            "{count} {kind} object{} not refreshed: this build has no provider for {kind}; the plan compares against the recorded state",
            if count == 1 { "" } else { "s" }
        ));
    }

    // Each result comes with the address state records the object under; they are ordered by
    // its text, as plans list objects.
    let results: Vec<_> = futures_util::stream::iter(requests.iter())
        .map(|(provider, address, request)| async move { (*address, provider.read(request).await) })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut results = results;
    results.sort_by_cached_key(|(address, _)| address.to_string());
    for (address, result) in results {
        match result {
            Ok(ReadOutcome::Found(remote)) => apply_remote(&mut refreshed, address, remote),
            Ok(ReadOutcome::Gone) => {
                let Some(removed) = refreshed.snapshot.resources.remove(address) else {
                    continue;
                };
                // An interrupted create that never reached the provider is not drift.
                if removed.status == Status::Pending {
                    continue;
                }
                refreshed.drift.push(Drift {
                    address: removed.address,
                    kind: DriftKind::Deleted,
                    attributes: Vec::new(),
                });
            }
            // A provider that cannot read this object (a tenant on a server kind it does not
            // reach yet) leaves it as recorded, and says so.
            Err(error @ ProviderError::Unsupported { .. }) => refreshed.notices.push(format!(
                "not refreshed: {error}; the plan compares against the recorded state"
            )),
            Err(error) => refreshed.errors.push(error),
        }
    }
    refreshed
}

/// The fingerprint of a remote object as read now, over what the record holds in plain: the
/// apply engine compares it with the plan's to refuse an object changed since the plan.
pub fn remote_fingerprint(recorded: &ResourceState, remote: &RemoteObject) -> String {
    let compared: BTreeMap<String, serde_json::Value> = remote
        .attributes
        .iter()
        .filter(|(name, _)| {
            recorded
                .attributes
                .get(*name)
                .is_some_and(|value| !value.sensitive)
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    fingerprint(remote.provider_id.as_deref(), &compared)
}

fn apply_remote(refreshed: &mut Refreshed, address: &ResourceAddress, remote: RemoteObject) {
    let Some(resource) = refreshed.snapshot.resources.get_mut(address) else {
        return;
    };
    // Only what state records in plain is compared, fingerprinted and replaced. A secret is
    // never compared (a provider cannot read it back), and an attribute the provider returns
    // but dbplan never recorded is not dbplan's to report: it may be a secret (a connection
    // password), which must not reach a drift report or a plan file.
    let compared: BTreeMap<String, serde_json::Value> = remote
        .attributes
        .into_iter()
        .filter(|(name, _)| {
            resource
                .attributes
                .get(name)
                .is_some_and(|recorded| !recorded.sensitive)
        })
        .collect();
    refreshed.fingerprints.insert(
        address.clone(),
        fingerprint(remote.provider_id.as_deref(), &compared),
    );
    let mut drifted = Vec::new();
    for (name, remote_value) in compared {
        let Some(recorded) = resource.attributes.get(&name) else {
            continue;
        };
        if recorded.value == remote_value {
            continue;
        }
        drifted.push(DriftedAttribute {
            name: name.clone(),
            recorded: recorded.value.clone(),
            remote: remote_value.clone(),
        });
        resource
            .attributes
            .insert(name, StateValue::plain(remote_value));
    }
    // A `pending` record stays pending even when its object exists: the interrupted create
    // may not have finished (a role without its password, a database without its
    // extensions), so the plan creates it again and the provider adopts what is there.
    if remote.provider_id.is_some() {
        resource.provider_id = remote.provider_id;
    }
    if !drifted.is_empty() {
        refreshed.drift.push(Drift {
            address: resource.address.clone(),
            kind: DriftKind::Changed,
            attributes: drifted,
        });
    }
}

/// Which desired objects [`find_unrecorded`] looks up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LookupScope {
    /// Every one with a provider (a plan that refreshes recorded objects anyway).
    All,
    /// Only those whose provider has credentials at hand ([`dbplan_provider::Provider::can_look_up`]):
    /// a first plan against an empty state, which otherwise needs no credentials at all.
    WithCredentialsAtHand,
}

/// Asks each desired object's provider whether an object a create would take over exists
/// already, for the objects state has no record of (`recorded`: the state as read, so that a
/// `pending` record, which apply recovers, is not looked up), `concurrency` at a time. The
/// request is what a create would get, as far as it is known at plan time: references resolved
/// from the refreshed state, no secrets, nothing still unknown; the objects it depends on from
/// state, or, for those still to be created, as the manifests plan them (no id, no outputs).
///
/// A provider that cannot look (no credentials yet, an object whose lookup needs an id still
/// to be created) leaves a notice rather than failing the plan: the object is planned as a
/// create, and apply still refuses to take over an object it finds without an opt-in.
///
/// An object only read (a referenced cluster, [`dbplan_core::Kind::only_read`]) is read instead,
/// as Terraform reads a data source at plan time: one that does not exist, or that runs another
/// engine than PostgreSQL under a tenant database (read now, or recorded and refreshed), is an
/// error of the plan.
pub async fn find_unrecorded(
    refreshed: &mut Refreshed,
    desired: &[Desired],
    recorded: &Snapshot,
    providers: &Providers,
    concurrency: usize,
    scope: LookupScope,
) -> usize {
    let by_address: BTreeMap<&ResourceAddress, &Desired> = desired
        .iter()
        .map(|object| (&object.address, object))
        .collect();
    let mut requests = Vec::new();
    let mut reads = Vec::new();
    for object in desired {
        let address = &object.address;
        // A reference recorded but found gone by refresh is read again: its cluster no longer
        // exists, which stops the plan as for one never read.
        let known = if address.kind.only_read() {
            refreshed.snapshot.resources.contains_key(address)
        } else {
            recorded.resources.contains_key(address)
        };
        if known {
            continue;
        }
        let Some(provider) = providers.for_kind(object.address.kind) else {
            continue;
        };
        let context = planned_context(&refreshed.snapshot, &by_address, object);
        let request = ChangeRequest {
            address: object.address.clone(),
            provider_id: None,
            attributes: known_attributes(object, &refreshed.snapshot),
            prior: BTreeMap::new(),
            prior_outputs: BTreeMap::new(),
            context,
            adopt: Adoption::Refuse,
        };
        if scope == LookupScope::WithCredentialsAtHand && !provider.can_look_up(&request) {
            continue;
        }
        if address.kind.only_read() {
            reads.push((provider, object, request));
            continue;
        }
        requests.push((provider, address, request));
    }
    let looked_up = requests.len() + reads.len();
    read_references(refreshed, &reads, desired, concurrency).await;
    // Each result comes with its address; they are ordered by its text, as plans list objects.
    let mut results: Vec<_> = futures_util::stream::iter(requests.iter())
        .map(|(provider, address, request)| async move { (*address, provider.find(request).await) })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    results.sort_by_cached_key(|(address, _)| address.to_string());
    for (address, result) in results {
        match result {
            Ok(FindOutcome::Found(existing)) => {
                refreshed.found.insert(address.clone(), existing);
            }
            Ok(FindOutcome::Absent | FindOutcome::Unknown) => {}
            Err(error) => refreshed.notices.push(format!(
                "not looked up: {error}; {address} is planned as a create, and apply refuses to take over an existing object without an opt-in"
            )),
        }
    }
    looked_up
}

/// The objects `object` depends on, directly or through others, as a lookup before its create
/// sees them: from `state` where recorded, else as the manifests plan them (`by_address`; no
/// id, no outputs).
fn planned_context(
    state: &Snapshot,
    by_address: &BTreeMap<&ResourceAddress, &Desired>,
    object: &Desired,
) -> Context {
    let mut context = context_of(state, &object.dependencies);
    let mut pending: Vec<&ResourceAddress> = object.dependencies.iter().collect();
    while let Some(dependency) = pending.pop() {
        if context.contains_key(dependency) {
            continue;
        }
        let Some(planned) = by_address.get(dependency) else {
            continue;
        };
        context.insert(
            dependency.clone(),
            Recorded {
                provider_id: None,
                attributes: known_attributes(planned, state)
                    .into_iter()
                    .map(|(name, field)| (name, field.value))
                    .collect(),
                outputs: BTreeMap::new(),
            },
        );
        // What it depends on comes along: from state where recorded, else as planned.
        context.extend(context_of(state, &planned.dependencies));
        pending.extend(planned.dependencies.iter());
    }
    context
}

/// Reads the referenced clusters state has no record of ([`read_reference`]), `concurrency` at
/// a time, and checks the engine of every referenced cluster a tenant of `desired` is on; what
/// fails is an error of the plan.
async fn read_references(
    refreshed: &mut Refreshed,
    reads: &[(&dyn dbplan_provider::Provider, &Desired, ChangeRequest)],
    desired: &[Desired],
    concurrency: usize,
) {
    let read: Vec<_> = futures_util::stream::iter(reads.iter())
        .map(|(provider, object, request)| async move {
            (*object, read_reference(*provider, object, request).await)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut failed = Vec::new();
    let mut read_now: BTreeMap<&ResourceAddress, BTreeMap<String, Field>> = BTreeMap::new();
    for (object, result) in read {
        match result {
            Ok(remote) => {
                read_now.insert(&object.address, remote.outputs);
            }
            Err(error) => failed.push(error),
        }
    }
    failed.extend(referenced_engines(&refreshed.snapshot, &read_now, desired));
    failed.sort_by_cached_key(|error| error.to_string());
    refreshed.errors.extend(failed);
}

/// Reads a referenced cluster the state has no record of yet, as apply will: an error when it
/// does not exist (dbplan never creates one).
async fn read_reference(
    provider: &dyn dbplan_provider::Provider,
    object: &Desired,
    request: &ChangeRequest,
) -> Result<RemoteObject, ProviderError> {
    let address = &object.address;
    let read = ReadRequest {
        address: address.clone(),
        provider_id: None,
        attributes: request
            .attributes
            .iter()
            .map(|(name, field)| (name.clone(), field.value.clone()))
            .collect(),
        outputs: BTreeMap::new(),
        context: request.context.clone(),
        declared: declared_attributes(&object.attributes, &object.secrets),
    };
    match provider.read(&read).await? {
        ReadOutcome::Found(remote) => Ok(remote),
        ReadOutcome::Gone => {
            let (field, name) = ["cluster_name", "cluster_identifier"]
                .into_iter()
                .find_map(|field| Some((field, read.attributes.get(field)?.as_str()?)))
                .unwrap_or(("the cluster's name", ""));
            Err(ProviderError::Conflict {
                address: address.clone(),
                message: format!(
                    "the referenced cluster {name:?} does not exist in the account (and region) dbplan reads it from; dbplan only reads a referenced cluster and never creates one: check `{field}`, or declare the cluster for dbplan to manage"
                ),
                source: None,
            })
        }
    }
}

/// An error for each tenant database of `desired` on a referenced cluster that runs another
/// engine than PostgreSQL, as read now (`read_now`) or recorded and refreshed (`state`).
fn referenced_engines(
    state: &Snapshot,
    read_now: &BTreeMap<&ResourceAddress, BTreeMap<String, Field>>,
    desired: &[Desired],
) -> Vec<ProviderError> {
    let mut errors = Vec::new();
    let mut reported = std::collections::BTreeSet::new();
    for tenant in desired
        .iter()
        .filter(|object| object.address.kind == dbplan_core::Kind::TenantDatabase)
    {
        for server in tenant
            .dependencies
            .iter()
            .filter(|dependency| dependency.kind.only_read())
        {
            let recorded;
            let outputs = match read_now.get(server) {
                Some(outputs) => outputs,
                None => match state.resources.get(server) {
                    Some(resource) => {
                        recorded = fields(&resource.outputs);
                        &recorded
                    }
                    None => continue,
                },
            };
            // Said once per tenant, not for each of its parts on the server.
            let address = ResourceAddress::new(tenant.address.kind, tenant.address.name.clone());
            if let Some((engine, false)) = server.kind.referenced_engine(outputs)
                && reported.insert((address.clone(), server))
            {
                errors.push(ProviderError::Conflict {
                    address,
                    message: format!(
                        "{server} runs {engine}, not PostgreSQL; a tenant database needs a PostgreSQL cluster"
                    ),
                    source: None,
                });
            }
        }
    }
    errors
}

/// The planned attributes of a desired object that are known at plan time, references
/// resolved from `state`; secrets (only their fingerprints are at hand) and unknowns left out.
fn known_attributes(object: &Desired, state: &Snapshot) -> BTreeMap<String, Field> {
    crate::diff::resolve(&object.attributes, &object.references, state)
        .into_iter()
        .filter(|(name, value)| {
            !matches!(value, Value::Sensitive(_))
                && !value.contains_unknown()
                && !object.secrets.contains_key(name)
        })
        .map(|(name, value)| (name, Field::plain(value.to_json_exposed())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use dbplan_core::Field;
    use dbplan_core::Kind;

    #[test]
    fn recorded_fingerprints_are_the_fingerprints_of_the_plain_attributes() {
        let mut resource =
            ResourceState::new(ResourceAddress::new(Kind::AwsVpc, "main".to_owned()));
        resource.provider_id = Some("vpc-1".to_owned());
        resource
            .attributes
            .insert("cidr_block".to_owned(), Field::plain("10.0.0.0/16"));
        resource.attributes.insert(
            "tags".to_owned(),
            Field::plain(serde_json::json!({"b": [1, 2.5, null], "a": "x"})),
        );
        resource
            .attributes
            .insert("password".to_owned(), Field::sensitive("hunter22"));
        let expected = fingerprint(Some("vpc-1"), &plain_attributes(&resource));
        let mut snapshot = Snapshot::default();
        snapshot
            .resources
            .insert(resource.address.clone(), resource.clone());
        let recorded = recorded_fingerprints(&snapshot);
        assert_eq!(recorded.get(&resource.address), Some(&expected));
    }
}
