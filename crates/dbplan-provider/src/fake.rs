//! An in-memory provider for tests: it holds objects like a remote system would, and the test
//! changes them behind dbplan's back (drift), deletes them, makes calls fail or slow.

use crate::{
    Applied, BoxFuture, ChangeRequest, Existing, Field, FindOutcome, Provider, ProviderError,
    ReadOutcome, ReadRequest, RemoteObject,
};
use dbplan_core::{Kind, ResourceAddress};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// One call the fake answered, for tests that check what the engine asked for and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Call {
    /// `read`, `find`, `create`, `update` or `delete`.
    pub operation: &'static str,
    pub address: ResourceAddress,
}

/// A provider whose remote objects live in memory, keyed by resource address.
#[derive(Debug)]
pub struct FakeProvider {
    name: String,
    kinds: BTreeSet<Kind>,
    objects: Mutex<BTreeMap<ResourceAddress, RemoteObject>>,
    failing: Mutex<BTreeMap<ResourceAddress, String>>,
    failing_changes: Mutex<BTreeMap<ResourceAddress, String>>,
    calls: Mutex<Vec<Call>>,
    latency: Mutex<Duration>,
    next_id: AtomicU64,
}

impl FakeProvider {
    /// A fake that answers for these kinds and holds no object yet.
    pub fn new(name: impl Into<String>, kinds: impl IntoIterator<Item = Kind>) -> Self {
        FakeProvider {
            name: name.into(),
            kinds: kinds.into_iter().collect(),
            objects: Mutex::new(BTreeMap::new()),
            failing: Mutex::new(BTreeMap::new()),
            failing_changes: Mutex::new(BTreeMap::new()),
            calls: Mutex::new(Vec::new()),
            latency: Mutex::new(Duration::ZERO),
            next_id: AtomicU64::new(1),
        }
    }

    /// Makes every create, update and delete take this long (reads are not slowed).
    pub fn set_latency(&self, latency: Duration) {
        if let Ok(mut current) = self.latency.lock() {
            *current = latency;
        }
    }

    /// Creates or overwrites the remote object of an address.
    pub fn put(&self, address: &ResourceAddress, object: RemoteObject) {
        if let Ok(mut objects) = self.objects.lock() {
            objects.insert(address.clone(), object);
        }
    }

    /// The remote object of an address, if it exists.
    pub fn get(&self, address: &ResourceAddress) -> Option<RemoteObject> {
        self.objects
            .lock()
            .ok()
            .and_then(|objects| objects.get(address).cloned())
    }

    /// The addresses of every remote object.
    pub fn addresses(&self) -> Vec<ResourceAddress> {
        self.objects
            .lock()
            .map(|objects| objects.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// Changes one attribute of a remote object, as someone in a console would.
    pub fn set_attribute(
        &self,
        address: &ResourceAddress,
        attribute: &str,
        value: serde_json::Value,
    ) {
        if let Ok(mut objects) = self.objects.lock()
            && let Some(object) = objects.get_mut(address)
        {
            object.attributes.insert(attribute.to_owned(), value);
        }
    }

    /// Deletes a remote object.
    pub fn delete(&self, address: &ResourceAddress) {
        if let Ok(mut objects) = self.objects.lock() {
            objects.remove(address);
        }
    }

    /// Makes every read of an address fail with this message.
    pub fn fail_reads(&self, address: &ResourceAddress, message: &str) {
        if let Ok(mut failing) = self.failing.lock() {
            failing.insert(address.clone(), message.to_owned());
        }
    }

    /// Makes every create, update and delete of an address fail with this message.
    pub fn fail_changes(&self, address: &ResourceAddress, message: &str) {
        if let Ok(mut failing) = self.failing_changes.lock() {
            failing.insert(address.clone(), message.to_owned());
        }
    }

    /// The addresses read so far, in order.
    pub fn reads(&self) -> Vec<ResourceAddress> {
        self.calls()
            .into_iter()
            .filter(|call| call.operation == "read")
            .map(|call| call.address)
            .collect()
    }

    /// Every call so far, in the order they started.
    pub fn calls(&self) -> Vec<Call> {
        self.calls
            .lock()
            .map(|calls| calls.clone())
            .unwrap_or_default()
    }

    fn record(&self, operation: &'static str, address: &ResourceAddress) {
        if let Ok(mut calls) = self.calls.lock() {
            calls.push(Call {
                operation,
                address: address.clone(),
            });
        }
    }

    fn injected(
        &self,
        failing: &Mutex<BTreeMap<ResourceAddress, String>>,
        address: &ResourceAddress,
    ) -> Result<(), ProviderError> {
        let failure = failing
            .lock()
            .ok()
            .and_then(|failing| failing.get(address).cloned());
        match failure {
            Some(message) => Err(ProviderError::Api {
                address: address.clone(),
                code: Some("InjectedFailure".into()),
                message,
                source: None,
            }),
            None => Ok(()),
        }
    }

    async fn wait(&self) {
        let latency = self
            .latency
            .lock()
            .map(|latency| *latency)
            .unwrap_or_default();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
    }

    /// Stores the planned plain attributes as the remote object; its outputs are its id and
    /// every attribute, so that references to any field resolve.
    fn store(&self, request: &ChangeRequest, provider_id: String) -> Applied {
        let attributes: BTreeMap<String, serde_json::Value> = request
            .attributes
            .iter()
            .filter(|(_, field)| !field.sensitive)
            .map(|(name, field)| (name.clone(), field.value.clone()))
            .collect();
        let mut outputs: BTreeMap<String, Field> = attributes
            .iter()
            .map(|(name, value)| (name.clone(), Field::plain(value.clone())))
            .collect();
        outputs.insert("id".to_owned(), Field::plain(provider_id.clone()));
        self.put(
            &request.address,
            RemoteObject {
                provider_id: Some(provider_id.clone()),
                attributes,
                outputs: outputs.clone(),
            },
        );
        Applied {
            provider_id: Some(provider_id),
            outputs,
        }
    }
}

impl Provider for FakeProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn handles(&self, kind: Kind) -> bool {
        self.kinds.contains(&kind)
    }

    fn read<'a>(
        &'a self,
        request: &'a ReadRequest,
    ) -> BoxFuture<'a, Result<ReadOutcome, ProviderError>> {
        Box::pin(async move {
            let address = &request.address;
            self.record("read", address);
            self.injected(&self.failing, address)?;
            Ok(match self.get(address) {
                Some(object) => ReadOutcome::Found(object),
                None => ReadOutcome::Gone,
            })
        })
    }

    fn find<'a>(
        &'a self,
        request: &'a ChangeRequest,
    ) -> BoxFuture<'a, Result<FindOutcome, ProviderError>> {
        Box::pin(async move {
            let address = &request.address;
            self.record("find", address);
            self.injected(&self.failing, address)?;
            Ok(match self.get(address) {
                Some(remote) => FindOutcome::Found(Existing {
                    remote,
                    effects: Vec::new(),
                }),
                None => FindOutcome::Absent,
            })
        })
    }

    fn create<'a>(
        &'a self,
        request: &'a ChangeRequest,
    ) -> BoxFuture<'a, Result<Applied, ProviderError>> {
        Box::pin(async move {
            let address = &request.address;
            self.record("create", address);
            self.wait().await;
            self.injected(&self.failing_changes, address)?;
            // An object that already exists (an interrupted create, or one the request opts
            // into adopting) is taken over with its id.
            let existing = self.get(address);
            if existing.is_some() {
                request
                    .adopt
                    .check(address, "a fake object of this address")?;
            }
            let provider_id = existing
                .and_then(|object| object.provider_id)
                .unwrap_or_else(|| {
                    format!("fake-{}", self.next_id.fetch_add(1, Ordering::Relaxed))
                });
            Ok(self.store(request, provider_id))
        })
    }

    fn update<'a>(
        &'a self,
        request: &'a ChangeRequest,
    ) -> BoxFuture<'a, Result<Applied, ProviderError>> {
        Box::pin(async move {
            let address = &request.address;
            self.record("update", address);
            self.wait().await;
            self.injected(&self.failing_changes, address)?;
            let Some(existing) = self.get(address) else {
                return Err(ProviderError::Api {
                    address: address.clone(),
                    code: Some("NotFound".into()),
                    message: "the object does not exist".to_owned(),
                    source: None,
                });
            };
            let provider_id = existing.provider_id.unwrap_or_default();
            Ok(self.store(request, provider_id))
        })
    }

    fn delete<'a>(
        &'a self,
        request: &'a ChangeRequest,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let address = &request.address;
            self.record("delete", address);
            self.wait().await;
            self.injected(&self.failing_changes, address)?;
            FakeProvider::delete(self, address);
            Ok(())
        })
    }
}
