//! The Kubernetes side of the providers that write Secrets (a tenant database's connection
//! secret): [`KubernetesSecrets`] applies, reads and deletes one Secret. Its implementation over
//! a Kubernetes client lives in its own crate; this one only says what a provider may ask.
//!
//! Values go one way. [`KubernetesSecrets::apply`] takes them as [`SecretValue`]s, whose
//! `Debug` is redacted; [`KubernetesSecrets::read`] returns no value, only each key's
//! fingerprint under a key the caller gives ([`crate::files::fingerprint`]: an HMAC, so that
//! what dbplan records cannot be used to test guesses of a password), and the labels that say
//! who wrote the Secret.

use crate::{BoxFuture, ProviderError};
use dbplan_core::ResourceAddress;
use std::collections::BTreeMap;
use std::fmt;

/// The label every Secret dbplan writes carries, with the value [`MANAGED_BY_VALUE`].
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// See [`MANAGED_BY_LABEL`].
pub const MANAGED_BY_VALUE: &str = "dbplan";
/// The label that names the resource a Secret belongs to. A label value is at most 63
/// characters of `[-._a-zA-Z0-9]`, so it holds [`resource_label`] of the address.
pub const RESOURCE_LABEL: &str = "dbplan.io/resource";
/// The annotation that holds the address in full.
pub const RESOURCE_ANNOTATION: &str = "dbplan.io/resource";
/// The field manager of dbplan's server-side applies.
pub const FIELD_MANAGER: &str = "dbplan";

/// Which Secret: the kubeconfig context (the current one when `None`), namespace and name.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretTarget {
    pub context: Option<String>,
    pub namespace: String,
    pub name: String,
}

impl fmt::Display for SecretTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret {}/{}", self.namespace, self.name)?;
        if let Some(context) = &self.context {
            write!(f, " (context {context})")?;
        }
        Ok(())
    }
}

/// A value of a Secret's data: never printed (`Debug` shows `(sensitive)`).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretValue(String);

impl SecretValue {
    pub fn new(value: impl Into<String>) -> Self {
        SecretValue(value.into())
    }

    /// The value, for the one call that sends it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("(sensitive)")
    }
}

/// A Secret as a read sees it: its keys with each value's fingerprint, and its labels.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObservedSecret {
    /// Each data key, with [`crate::files::fingerprint`] of its value under the caller's key.
    pub fingerprints: BTreeMap<String, String>,
    /// The Secret's labels.
    pub labels: BTreeMap<String, String>,
    /// The Secret's annotations.
    pub annotations: BTreeMap<String, String>,
}

impl ObservedSecret {
    /// Whether dbplan wrote the Secret for this resource (its labels and annotation say so).
    pub fn written_for(&self, address: &ResourceAddress) -> bool {
        self.labels.get(MANAGED_BY_LABEL).map(String::as_str) == Some(MANAGED_BY_VALUE)
            && self.annotations.get(RESOURCE_ANNOTATION) == Some(&address.to_string())
    }

    /// Whether dbplan wrote the Secret, for any resource.
    pub fn managed_by_dbplan(&self) -> bool {
        self.labels.get(MANAGED_BY_LABEL).map(String::as_str) == Some(MANAGED_BY_VALUE)
    }
}

/// The value of [`RESOURCE_LABEL`] for an address: its characters that a label value cannot
/// hold (`/`) turned into `.`, cut to 63 and trimmed to end with a letter or digit.
pub fn resource_label(address: &ResourceAddress) -> String {
    let text: String = address
        .to_string()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '.'
            }
        })
        .take(63)
        .collect();
    text.trim_matches(|c: char| !c.is_ascii_alphanumeric())
        .to_owned()
}

/// What [`KubernetesSecrets::delete`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretDeletion {
    Deleted,
    /// There was no such Secret.
    Gone,
}

/// One Kubernetes API (a kubeconfig's clusters) as far as Secrets go. `address` is the
/// resource the Secret belongs to: it names errors, and `apply` labels the Secret with it.
pub trait KubernetesSecrets: Send + Sync {
    /// Server-side applies a Secret of type Opaque holding exactly `data` (field manager
    /// [`FIELD_MANAGER`], forced: dbplan's keys are dbplan's), labelled [`MANAGED_BY_LABEL`]
    /// and [`RESOURCE_LABEL`], annotated [`RESOURCE_ANNOTATION`]. A key dbplan applied before
    /// and `data` no longer holds is removed.
    fn apply<'a>(
        &'a self,
        address: &'a ResourceAddress,
        target: &'a SecretTarget,
        data: &'a BTreeMap<String, SecretValue>,
    ) -> BoxFuture<'a, Result<(), ProviderError>>;

    /// The Secret, if it exists: its keys with their values' fingerprints under
    /// `fingerprint_key`, and its labels. Never a value.
    fn read<'a>(
        &'a self,
        address: &'a ResourceAddress,
        target: &'a SecretTarget,
        fingerprint_key: &'a SecretValue,
    ) -> BoxFuture<'a, Result<Option<ObservedSecret>, ProviderError>>;

    /// Deletes the Secret.
    fn delete<'a>(
        &'a self,
        address: &'a ResourceAddress,
        target: &'a SecretTarget,
    ) -> BoxFuture<'a, Result<SecretDeletion, ProviderError>>;
}

/// Kubernetes Secrets held in memory: for tests of the providers that write them. Secrets can
/// be changed or deleted behind dbplan's back, and created as if by someone else.
#[derive(Debug, Default)]
pub struct FakeKubernetesSecrets {
    secrets: std::sync::Mutex<BTreeMap<SecretTarget, FakeSecret>>,
}

/// A Secret held by [`FakeKubernetesSecrets`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FakeSecret {
    pub data: BTreeMap<String, SecretValue>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

impl FakeKubernetesSecrets {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<SecretTarget, FakeSecret>> {
        // A test that panicked while holding the lock left the map as it was.
        self.secrets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The Secret, as the API server holds it.
    pub fn get(&self, target: &SecretTarget) -> Option<FakeSecret> {
        self.lock().get(target).cloned()
    }

    /// Creates or replaces a Secret, as someone else would.
    pub fn put(&self, target: SecretTarget, secret: FakeSecret) {
        self.lock().insert(target, secret);
    }

    /// Deletes a Secret, as someone else would.
    pub fn remove(&self, target: &SecretTarget) -> Option<FakeSecret> {
        self.lock().remove(target)
    }
}

impl KubernetesSecrets for FakeKubernetesSecrets {
    fn apply<'a>(
        &'a self,
        address: &'a ResourceAddress,
        target: &'a SecretTarget,
        data: &'a BTreeMap<String, SecretValue>,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let mut secrets = self.lock();
            let secret = secrets.entry(target.clone()).or_default();
            secret.data = data.clone();
            secret
                .labels
                .insert(MANAGED_BY_LABEL.to_owned(), MANAGED_BY_VALUE.to_owned());
            secret
                .labels
                .insert(RESOURCE_LABEL.to_owned(), resource_label(address));
            secret
                .annotations
                .insert(RESOURCE_ANNOTATION.to_owned(), address.to_string());
            Ok(())
        })
    }

    fn read<'a>(
        &'a self,
        _address: &'a ResourceAddress,
        target: &'a SecretTarget,
        fingerprint_key: &'a SecretValue,
    ) -> BoxFuture<'a, Result<Option<ObservedSecret>, ProviderError>> {
        Box::pin(async move {
            Ok(self.lock().get(target).map(|secret| ObservedSecret {
                fingerprints: secret
                    .data
                    .iter()
                    .map(|(key, value)| {
                        (
                            key.clone(),
                            crate::files::fingerprint(
                                fingerprint_key.expose(),
                                value.expose().as_bytes(),
                            ),
                        )
                    })
                    .collect(),
                labels: secret.labels.clone(),
                annotations: secret.annotations.clone(),
            }))
        })
    }

    fn delete<'a>(
        &'a self,
        _address: &'a ResourceAddress,
        target: &'a SecretTarget,
    ) -> BoxFuture<'a, Result<SecretDeletion, ProviderError>> {
        Box::pin(async move {
            Ok(match self.lock().remove(target) {
                Some(_) => SecretDeletion::Deleted,
                None => SecretDeletion::Gone,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn values_never_print_and_labels_fit_a_label_value() {
        let value = SecretValue::new("hunter2");
        assert_eq!(format!("{value:?}"), "(sensitive)");
        let address: ResourceAddress = "TenantDatabase/app/connection-secret".parse().unwrap();
        assert_eq!(
            resource_label(&address),
            "TenantDatabase.app.connection-secret"
        );
        let long: ResourceAddress = format!("TenantDatabase/{}/connection-secret", "a".repeat(80))
            .parse()
            .unwrap();
        assert!(resource_label(&long).len() <= 63);
    }
}
