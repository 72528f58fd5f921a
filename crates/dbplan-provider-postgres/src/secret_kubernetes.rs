//! The connection secret of a tenant database as a Kubernetes Secret, written through the
//! provider's [`KubernetesSecrets`]: the keys of its style (`DATABASE_URL`, `DB_*`, or
//! Crossplane's `username`, `password`, `endpoint`, `port`), renamed as the manifest says, with
//! the values a secret file holds.
//!
//! State records no value: the attributes hold the key names (`data`: each data key and the
//! standard key whose value it holds), the outputs each value's fingerprint (an HMAC under a
//! random key of the object's own, recorded sensitive, as for files). A read reports a key
//! whose value changed as [`CHANGED_OUTSIDE`] and leaves out a key that is gone, so the plan
//! shows the drift and apply rewrites it.
//!
//! dbplan owns only the Secret it wrote: one that exists without its labels (or written for
//! another resource) is taken over only when the manifest opts in, as a file is; `delete`
//! removes the Secret only while it still holds what dbplan wrote.

use crate::secret_file;
use dbplan_core::ResourceAddress;
use dbplan_core::kinds::tenant_database::{CHANGED_OUTSIDE, ConnectionSecret, StandardSecretKey};
use dbplan_provider::kubernetes::{KubernetesSecrets, SecretDeletion, SecretTarget, SecretValue};
use dbplan_provider::{
    Adoption, Applied, ChangeRequest, Field, ProviderError, ReadOutcome, ReadRequest, RemoteObject,
    files,
};
use std::collections::BTreeMap;

/// The output that records the fingerprint key (sensitive).
pub(crate) const KEY_OUTPUT: &str = "secret_key";
/// The output that records each data key's fingerprint (a map, plain).
pub(crate) const FINGERPRINTS_OUTPUT: &str = "data_fingerprints";

/// The Secret a planned or recorded connection secret goes to, if a Kubernetes one.
pub(crate) fn target(secret: &ConnectionSecret) -> Option<SecretTarget> {
    match secret.target() {
        dbplan_core::kinds::tenant_database::PlannedTarget::Kubernetes {
            context,
            namespace,
            name,
        } => Some(SecretTarget {
            context: context.map(str::to_owned),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }),
        _ => None,
    }
}

/// The id recorded for a Secret: `[context:]namespace/name`.
fn provider_id(target: &SecretTarget) -> String {
    match &target.context {
        Some(context) => format!("{context}:{}/{}", target.namespace, target.name),
        None => format!("{}/{}", target.namespace, target.name),
    }
}

/// The Kubernetes access, or the error that says there is none.
pub(crate) fn client<'a>(
    kubernetes: Option<&'a dyn KubernetesSecrets>,
    address: &ResourceAddress,
    target: &SecretTarget,
) -> Result<&'a dyn KubernetesSecrets, ProviderError> {
    kubernetes.ok_or_else(|| ProviderError::Unsupported {
        address: address.clone(),
        message: format!(
            "the connection secret goes to the Kubernetes {target}, but this build or run of dbplan has no Kubernetes access configured; write it to a `file` instead, or run a dbplan with Kubernetes support and a kubeconfig"
        ),
    })
}

/// The Secret's data: each data key with the value of its standard key, from the database's
/// outputs (the values a secret file holds).
fn render(
    address: &ResourceAddress,
    data: &BTreeMap<String, String>,
    outputs: &BTreeMap<String, Field>,
) -> Result<BTreeMap<String, SecretValue>, ProviderError> {
    let values: BTreeMap<&str, String> = secret_file::entries(outputs).into_iter().collect();
    data.iter()
        .map(|(name, standard)| {
            let value = StandardSecretKey::parse(standard)
                .and_then(|key| values.get(key.as_str()))
                .ok_or_else(|| ProviderError::Unsupported {
                    address: address.clone(),
                    message: format!(
                        "the data key {name:?} is planned to hold {standard:?}, which is not a key dbplan writes; run `dbplan plan` again"
                    ),
                })?;
            Ok((name.clone(), SecretValue::new(value.clone())))
        })
        .collect()
}

/// The fingerprint key recorded (or prepared), as text.
fn recorded_key(outputs: &BTreeMap<String, Field>) -> Option<&str> {
    outputs.get(KEY_OUTPUT).and_then(Field::as_str)
}

/// The fingerprints recorded for each data key.
fn recorded_fingerprints(outputs: &BTreeMap<String, Field>) -> BTreeMap<String, String> {
    match outputs.get(FINGERPRINTS_OUTPUT).map(|field| &field.value) {
        Some(serde_json::Value::Object(map)) => map
            .iter()
            .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_owned())))
            .collect(),
        _ => BTreeMap::new(),
    }
}

/// Writes the Secret (create or update) when dbplan may: none there, one dbplan wrote for
/// this resource, or one the manifest adopts.
pub(crate) async fn write(
    kubernetes: Option<&dyn KubernetesSecrets>,
    request: &ChangeRequest,
    planned: &ConnectionSecret,
    target: &SecretTarget,
    database_outputs: &BTreeMap<String, Field>,
) -> Result<Applied, ProviderError> {
    let address = &request.address;
    let client = client(kubernetes, address, target)?;
    let data = render(address, &planned.data, database_outputs)?;
    let key_field = match request.prior_outputs.get(KEY_OUTPUT) {
        Some(field) if field.as_str().is_some() => field.clone(),
        _ => files::new_key(address)?,
    };
    let key = key_field.as_str().unwrap_or_default().to_owned();
    let key = SecretValue::new(key);
    if let Some(existing) = client.read(address, target, &key).await?
        && !existing.written_for(address)
    {
        let adopt = request.adopt == Adoption::Allowed
            || request
                .attribute(files::ADOPT_ATTRIBUTE)
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false);
        if !adopt {
            let whose = if existing.managed_by_dbplan() {
                "written by dbplan for another resource"
            } else {
                "not written by dbplan"
            };
            return Err(ProviderError::NotAdopted {
                address: address.clone(),
                existing: format!("the Kubernetes {target} ({whose})"),
            });
        }
    }
    client.apply(address, target, &data).await?;
    let fingerprints: serde_json::Map<String, serde_json::Value> = data
        .iter()
        .map(|(name, value)| {
            (
                name.clone(),
                serde_json::Value::from(files::fingerprint(
                    key.expose(),
                    value.expose().as_bytes(),
                )),
            )
        })
        .collect();
    let mut outputs = BTreeMap::new();
    outputs.insert(KEY_OUTPUT.to_owned(), key_field);
    outputs.insert(
        FINGERPRINTS_OUTPUT.to_owned(),
        Field::plain(serde_json::Value::Object(fingerprints)),
    );
    outputs.insert("secret".to_owned(), Field::plain(provider_id(target)));
    Ok(Applied {
        provider_id: Some(provider_id(target)),
        outputs,
    })
}

/// Reads the Secret: gone, or its data keys as recorded, a changed value marked
/// [`CHANGED_OUTSIDE`] and a missing key left out.
pub(crate) async fn read(
    kubernetes: Option<&dyn KubernetesSecrets>,
    request: &ReadRequest,
    recorded: &ConnectionSecret,
    target: &SecretTarget,
) -> Result<ReadOutcome, ProviderError> {
    let address = &request.address;
    let client = client(kubernetes, address, target)?;
    // Without a recorded key (a state edited by hand) no value can be recognised: a new key
    // makes every value read as changed, which apply rewrites.
    let key = match recorded_key(&request.outputs) {
        Some(key) => key.to_owned(),
        None => files::new_key(address)?
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    };
    let Some(observed) = client.read(address, target, &SecretValue::new(key)).await? else {
        tracing::debug!(address = %address, "the Kubernetes {target} is gone");
        return Ok(ReadOutcome::Gone);
    };
    let fingerprints = recorded_fingerprints(&request.outputs);
    let ours = observed.written_for(address);
    let data: serde_json::Map<String, serde_json::Value> = recorded
        .data
        .iter()
        .filter_map(|(name, standard)| {
            let found = observed.fingerprints.get(name)?;
            let intact = ours && fingerprints.get(name) == Some(found);
            Some((
                name.clone(),
                serde_json::Value::from(if intact {
                    standard.as_str()
                } else {
                    CHANGED_OUTSIDE
                }),
            ))
        })
        .collect();
    let mut attributes = request.attributes.clone();
    attributes.insert("data".to_owned(), serde_json::Value::Object(data));
    Ok(ReadOutcome::Found(RemoteObject {
        provider_id: Some(provider_id(target)),
        attributes,
        outputs: BTreeMap::new(),
    }))
}

/// Deletes the Secret while it is still what dbplan wrote for this resource; one that changed
/// (or that dbplan did not write) is left in place with a warning, as a changed file is.
pub(crate) async fn delete(
    kubernetes: Option<&dyn KubernetesSecrets>,
    request: &ChangeRequest,
    target: &SecretTarget,
) -> Result<(), ProviderError> {
    let address = &request.address;
    let client = client(kubernetes, address, target)?;
    let Some(key) = recorded_key(&request.prior_outputs) else {
        tracing::warn!(
            address = %address,
            "no fingerprint of the Kubernetes {target} is recorded, so dbplan cannot tell it still holds what it wrote; it is left in place"
        );
        return Ok(());
    };
    let Some(observed) = client.read(address, target, &SecretValue::new(key)).await? else {
        return Ok(());
    };
    let intact = observed.written_for(address)
        && observed.fingerprints == recorded_fingerprints(&request.prior_outputs);
    if !intact {
        tracing::warn!(
            address = %address,
            "the Kubernetes {target} changed since dbplan wrote it (or dbplan did not write it); it is left in place"
        );
        return Ok(());
    }
    match client.delete(address, target).await? {
        SecretDeletion::Deleted | SecretDeletion::Gone => Ok(()),
    }
}
