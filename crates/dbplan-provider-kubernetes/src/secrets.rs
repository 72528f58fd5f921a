//! [`KubernetesSecrets`] over the provider's clients: the Secrets other providers write (a
//! tenant database's connection secret), one client per kubeconfig context.
//!
//! - `apply` is a server-side apply of a core v1 Secret of type Opaque as field manager
//!   `dbplan`, forced: the provider asking has checked that the Secret is dbplan's (or that
//!   the manifest adopts it), and a value another manager changed is drift dbplan repairs.
//!   Keys dbplan applied before and no longer sends are removed by the API server, as server-side
//!   apply does for the fields a manager stops applying.
//! - `read` is a GET; each value is decoded and fingerprinted here, so no value leaves this
//!   module.
//! - `delete` is a DELETE; a Secret already gone is not an error.
//!
//! Bodies are never logged: they carry passwords.

use crate::KubernetesProvider;
use crate::client::ObjectRef;
use base64::Engine;
use dbplan_core::ResourceAddress;
use dbplan_provider::kubernetes::{
    KubernetesSecrets, MANAGED_BY_LABEL, MANAGED_BY_VALUE, ObservedSecret, RESOURCE_ANNOTATION,
    RESOURCE_LABEL, SecretDeletion, SecretTarget, SecretValue, resource_label,
};
use dbplan_provider::{BoxFuture, ProviderError, files};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;

/// The Secret dbplan applies: type Opaque, its data base64, labelled and annotated.
pub fn secret_object(
    address: &ResourceAddress,
    target: &SecretTarget,
    data: &BTreeMap<String, SecretValue>,
) -> Json {
    let encoded: serde_json::Map<String, Json> = data
        .iter()
        .map(|(key, value)| {
            (
                key.clone(),
                Json::String(base64::engine::general_purpose::STANDARD.encode(value.expose())),
            )
        })
        .collect();
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": target.name,
            "namespace": target.namespace,
            "labels": {
                MANAGED_BY_LABEL: MANAGED_BY_VALUE,
                RESOURCE_LABEL: resource_label(address),
            },
            "annotations": {RESOURCE_ANNOTATION: address.to_string()},
        },
        "type": "Opaque",
        "data": encoded,
    })
}

/// A string map of the object (labels, annotations).
fn strings(object: &Json, pointer: &str) -> BTreeMap<String, String> {
    object
        .pointer(pointer)
        .and_then(Json::as_object)
        .map(|map| {
            map.iter()
                .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_owned())))
                .collect()
        })
        .unwrap_or_default()
}

/// What a read returns of a Secret: its keys with fingerprints of their values, its labels.
pub fn observe(object: &Json, fingerprint_key: &SecretValue) -> ObservedSecret {
    let fingerprints = object
        .pointer("/data")
        .and_then(Json::as_object)
        .map(|data| {
            data.iter()
                .map(|(key, value)| {
                    // A value that is not base64 (no API server sends one) is fingerprinted as
                    // it came, so it reads as changed.
                    let text = value.as_str().unwrap_or_default();
                    let bytes = base64::engine::general_purpose::STANDARD
                        .decode(text)
                        .unwrap_or_else(|_| text.as_bytes().to_vec());
                    (
                        key.clone(),
                        files::fingerprint(fingerprint_key.expose(), &bytes),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    ObservedSecret {
        fingerprints,
        labels: strings(object, "/metadata/labels"),
        annotations: strings(object, "/metadata/annotations"),
    }
}

impl KubernetesSecrets for KubernetesProvider {
    fn apply<'a>(
        &'a self,
        address: &'a ResourceAddress,
        target: &'a SecretTarget,
        data: &'a BTreeMap<String, SecretValue>,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let kube = self.client(address, target.context.as_deref()).await?;
            let object = secret_object(address, target, data);
            kube.apply(&object, true)
                .await
                .map(drop)
                .map_err(|failure| failure.into_error(address, &format!("applying the {target}")))
        })
    }

    fn read<'a>(
        &'a self,
        address: &'a ResourceAddress,
        target: &'a SecretTarget,
        fingerprint_key: &'a SecretValue,
    ) -> BoxFuture<'a, Result<Option<ObservedSecret>, ProviderError>> {
        Box::pin(async move {
            let kube = self.client(address, target.context.as_deref()).await?;
            let object = kube
                .get(&ObjectRef::secret(&target.namespace, &target.name))
                .await
                .map_err(|failure| failure.into_error(address, &format!("reading the {target}")))?;
            Ok(object.map(|object| observe(&object, fingerprint_key)))
        })
    }

    fn delete<'a>(
        &'a self,
        address: &'a ResourceAddress,
        target: &'a SecretTarget,
    ) -> BoxFuture<'a, Result<SecretDeletion, ProviderError>> {
        Box::pin(async move {
            let kube = self.client(address, target.context.as_deref()).await?;
            let deleted = kube
                .delete(&ObjectRef::secret(&target.namespace, &target.name))
                .await
                .map_err(|failure| {
                    failure.into_error(address, &format!("deleting the {target}"))
                })?;
            Ok(if deleted {
                SecretDeletion::Deleted
            } else {
                SecretDeletion::Gone
            })
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_secret_is_opaque_labelled_and_base64_and_reads_back_as_fingerprints() {
        let address: ResourceAddress = "TenantDatabase/app/connection-secret".parse().unwrap();
        let target = SecretTarget {
            context: None,
            namespace: "apps".to_owned(),
            name: "app-postgres-credentials".to_owned(),
        };
        let data = BTreeMap::from([("PGPASSWORD".to_owned(), SecretValue::new("p@ss"))]);
        let object = secret_object(&address, &target, &data);
        assert_eq!(object["type"], "Opaque");
        assert_eq!(object["data"]["PGPASSWORD"], "cEBzcw==");
        assert_eq!(object["metadata"]["labels"][MANAGED_BY_LABEL], "dbplan");
        assert_eq!(
            object["metadata"]["labels"][RESOURCE_LABEL],
            "TenantDatabase.app.connection-secret"
        );
        let key = SecretValue::new("k");
        let observed = observe(&object, &key);
        assert!(observed.written_for(&address));
        assert_eq!(
            observed.fingerprints["PGPASSWORD"],
            files::fingerprint("k", b"p@ss")
        );
        assert!(!format!("{observed:?}").contains("p@ss"));
    }
}
