//! One step of an apply: a create, update, delete or orphan of one object.

use crate::error::StepError;
use crate::writer::Writer;
use crate::{Operation, StepResult};
use dbplan_core::Value;
use dbplan_plan::refresh::{
    context_of, declared_attributes, fields, plain_attributes, remote_fingerprint,
};
use dbplan_plan::{Change, SecretSource, secret_hash};
use dbplan_provider::{
    Adoption, ChangeRequest, Field, Provider, ProviderError, Providers, ReadOutcome, ReadRequest,
};
use dbplan_state::{ResourceState, StateValue, Status};
use std::collections::BTreeMap;
use std::sync::Arc;

/// What every step shares.
pub(crate) struct Shared {
    pub(crate) writer: Writer,
    /// The state's key, which fingerprints secrets.
    pub(crate) key: dbplan_state::StateKey,
    pub(crate) providers: Arc<Providers>,
    pub(crate) env: crate::Env,
    /// Whether the plan's fingerprints come from refresh (and so can be checked against the
    /// remote objects now).
    pub(crate) refreshed: bool,
}

/// Runs one step; every failure comes back as a [`StepError`] that names the object and says
/// what to do.
pub(crate) async fn run(shared: &Shared, operation: Operation, change: &Change) -> StepResult {
    let result = match operation {
        Operation::Orphan => orphan(shared, change).await,
        Operation::Delete => delete(shared, change).await,
        Operation::Create => create(shared, change).await,
        Operation::Update => update(shared, change).await,
    };
    match result {
        Ok(()) => StepResult::Done,
        Err(error) => {
            tracing::warn!(address = %change.address, "{} failed: {error}", operation.as_str());
            StepResult::Failed(error)
        }
    }
}

fn provider<'a>(shared: &'a Shared, change: &Change) -> Result<&'a dyn Provider, StepError> {
    shared
        .providers
        .for_kind(change.kind())
        .ok_or_else(|| StepError::NoProvider {
            address: change.address.clone(),
        })
}

async fn orphan(shared: &Shared, change: &Change) -> Result<(), StepError> {
    shared.writer.remove(&change.address).await?;
    Ok(())
}

/// Reads the object and refuses to go on when it changed since the plan (the plan's
/// fingerprint comes from refresh). `Ok(false)` when the object is gone.
async fn check_fingerprint(
    shared: &Shared,
    provider: &dyn Provider,
    change: &Change,
    recorded: &ResourceState,
) -> Result<bool, StepError> {
    let request = ReadRequest {
        address: change.address.clone(),
        provider_id: recorded.provider_id.clone(),
        attributes: plain_attributes(recorded),
        outputs: fields(&recorded.outputs),
        context: shared
            .writer
            .read(|snapshot| context_of(snapshot, &recorded.dependencies)),
        // Read as the change will be made: with the connection settings planned now.
        declared: declared_attributes(&change.after, &change.secrets),
    };
    match provider.read(&request).await? {
        ReadOutcome::Gone => Ok(false),
        ReadOutcome::Found(remote) => {
            if shared.refreshed
                && let Some(planned) = &change.fingerprint
                && *planned != remote_fingerprint(recorded, &remote)
            {
                return Err(StepError::ChangedSincePlan {
                    address: change.address.clone(),
                });
            }
            Ok(true)
        }
    }
}

async fn delete(shared: &Shared, change: &Change) -> Result<(), StepError> {
    let Some(recorded) = shared.writer.resource(&change.address) else {
        // Already gone from state (an earlier, interrupted apply got this far).
        return Ok(());
    };
    let provider = provider(shared, change)?;
    let exists = check_fingerprint(shared, provider, change, &recorded).await?;
    if exists {
        let request = ChangeRequest {
            address: change.address.clone(),
            provider_id: recorded.provider_id.clone(),
            attributes: BTreeMap::new(),
            prior: fields(&recorded.attributes),
            prior_outputs: fields(&recorded.outputs),
            context: shared
                .writer
                .read(|snapshot| context_of(snapshot, &recorded.dependencies)),
            adopt: Adoption::Recover,
        };
        provider.delete(&request).await?;
    }
    shared.writer.remove(&change.address).await?;
    Ok(())
}

/// Attributes for the provider, and as state records them.
type Planned = (BTreeMap<String, Field>, BTreeMap<String, StateValue>);

/// The planned attributes with references resolved from state and secrets read from the
/// environment (checked against the hashes the plan carries); and the same attributes as
/// state records them (secrets as their hashes).
fn planned_attributes(shared: &Shared, change: &Change) -> Result<Planned, StepError> {
    let resolved = shared
        .writer
        .read(|snapshot| dbplan_plan::diff::resolve(&change.after, &change.references, snapshot));
    let mut fields = BTreeMap::new();
    let mut record = BTreeMap::new();
    for (name, value) in &resolved {
        if let Some(secret) = change.secrets.get(name) {
            let value = match &secret.source {
                SecretSource::Env(variable) => {
                    (shared.env)(variable).ok_or_else(|| StepError::SecretUnset {
                        address: change.address.clone(),
                        attribute: name.clone(),
                        variable: variable.clone(),
                    })?
                }
                SecretSource::Literal => {
                    return Err(StepError::LiteralSecret {
                        address: change.address.clone(),
                        attribute: name.clone(),
                    });
                }
            };
            let hash = secret_hash(&shared.key, &change.address, name, &value);
            if let Some(planned) = &secret.hash
                && *planned != hash
            {
                let variable = match &secret.source {
                    SecretSource::Env(variable) => variable.clone(),
                    SecretSource::Literal => String::new(),
                };
                return Err(StepError::SecretChanged {
                    address: change.address.clone(),
                    variable,
                });
            }
            fields.insert(name.clone(), Field::sensitive(value));
            record.insert(name.clone(), StateValue::sensitive(hash));
            continue;
        }
        if contains_unknown(value) {
            // An output the provider generates itself (an imported role's password): it is
            // set by the update and recorded among the outputs, not sent as an attribute.
            if dbplan_plan::knowledge::generated_outputs(change.kind(), change.part())
                .contains(&name.as_str())
            {
                continue;
            }
            return Err(StepError::UnknownReference {
                address: change.address.clone(),
                attribute: name.clone(),
            });
        }
        let field = Field {
            value: value.to_json_exposed(),
            sensitive: matches!(value, Value::Sensitive(_)),
        };
        fields.insert(name.clone(), field.clone());
        record.insert(name.clone(), field);
    }
    Ok((fields, record))
}

fn contains_unknown(value: &Value) -> bool {
    match value {
        Value::Sensitive(secret) => contains_unknown(secret.expose()),
        other => other.contains_unknown(),
    }
}

fn record(
    change: &Change,
    attributes: BTreeMap<String, StateValue>,
    outputs: BTreeMap<String, Field>,
    provider_id: Option<String>,
    status: Status,
) -> ResourceState {
    let mut resource = ResourceState::new(change.address.clone());
    resource.provider_id = provider_id;
    resource.attributes = attributes;
    resource.outputs = outputs;
    resource.dependencies = change.dependencies.clone();
    resource.status = status;
    resource.lifecycle = change.lifecycle.clone();
    resource.waivers = change.waivers.clone();
    resource
}

async fn create(shared: &Shared, change: &Change) -> Result<(), StepError> {
    let provider = provider(shared, change)?;
    let (attributes, recorded_attributes) = planned_attributes(shared, change)?;
    // A `pending` record left by an interrupted create holds what was generated for it.
    let earlier = shared
        .writer
        .resource(&change.address)
        .filter(|resource| resource.status == Status::Pending);
    let mut request = ChangeRequest {
        address: change.address.clone(),
        provider_id: earlier
            .as_ref()
            .and_then(|resource| resource.provider_id.clone()),
        attributes,
        prior: BTreeMap::new(),
        prior_outputs: earlier
            .as_ref()
            .map(|resource| fields(&resource.outputs))
            .unwrap_or_default(),
        context: shared
            .writer
            .read(|snapshot| context_of(snapshot, &change.dependencies)),
        // What exists is dbplan's own when an interrupted create left a `pending` record;
        // anything else is taken over only when the manifest opts in.
        adopt: if earlier.is_some() {
            Adoption::Recover
        } else if change.adopt {
            Adoption::Allowed
        } else {
            Adoption::Refuse
        },
    };
    let prepared = provider.prepare(&request)?;
    for (name, field) in prepared {
        request.prior_outputs.entry(name).or_insert(field);
    }
    let pending = record(
        change,
        recorded_attributes.clone(),
        request.prior_outputs.clone(),
        request.provider_id.clone(),
        Status::Pending,
    );
    shared.writer.put(pending).await?;
    let applied = match provider.create(&request).await {
        Ok(applied) => applied,
        Err(error @ ProviderError::NotAdopted { .. }) => {
            // Nothing was created: the `pending` record must not stay, or the next apply would
            // take it for an interrupted create of dbplan's own and adopt the object silently.
            shared.writer.remove(&change.address).await?;
            return Err(error.into());
        }
        Err(error) => return Err(error.into()),
    };
    let mut outputs = request.prior_outputs;
    outputs.extend(applied.outputs);
    shared
        .writer
        .put(record(
            change,
            recorded_attributes,
            outputs,
            applied.provider_id,
            Status::Ready,
        ))
        .await?;
    Ok(())
}

async fn update(shared: &Shared, change: &Change) -> Result<(), StepError> {
    let Some(recorded) = shared.writer.resource(&change.address) else {
        return Err(StepError::NotInState {
            address: change.address.clone(),
        });
    };
    if change.records_only() {
        return record_only(shared, change, recorded).await;
    }
    let provider = provider(shared, change)?;
    if !check_fingerprint(shared, provider, change, &recorded).await? {
        return Err(StepError::DeletedSincePlan {
            address: change.address.clone(),
        });
    }
    let (attributes, recorded_attributes) = planned_attributes(shared, change)?;
    let request = ChangeRequest {
        address: change.address.clone(),
        provider_id: recorded.provider_id.clone(),
        attributes,
        prior: fields(&recorded.attributes),
        prior_outputs: fields(&recorded.outputs),
        context: shared
            .writer
            .read(|snapshot| context_of(snapshot, &change.dependencies)),
        adopt: Adoption::Recover,
    };
    let applied = provider.update(&request).await?;
    let mut outputs = request.prior_outputs;
    outputs.extend(applied.outputs);
    shared
        .writer
        .put(record(
            change,
            recorded_attributes,
            outputs,
            applied.provider_id.or(recorded.provider_id),
            Status::Ready,
        ))
        .await?;
    Ok(())
}

/// An update that changes nothing remote (lifecycle settings, waivers, fields dbplan stops
/// recording): the record takes the new lifecycle and waivers, and drops the forgotten
/// fields, without a provider call.
async fn record_only(
    shared: &Shared,
    change: &Change,
    mut recorded: ResourceState,
) -> Result<(), StepError> {
    for name in change.forgotten() {
        recorded.attributes.remove(name);
    }
    recorded.lifecycle = change.lifecycle.clone();
    recorded.waivers = change.waivers.clone();
    recorded.dependencies = change.dependencies.clone();
    shared.writer.put(recorded).await?;
    Ok(())
}
