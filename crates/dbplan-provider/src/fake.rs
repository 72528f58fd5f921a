//! An in-memory provider for tests: it holds objects like a remote system would, and the test
//! changes them behind dbplan's back (drift), deletes them, or makes reads fail.

use crate::{BoxFuture, Provider, ProviderError, ReadOutcome, ReadRequest, RemoteObject};
use dbplan_core::Kind;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// A provider whose remote objects live in memory, keyed by resource address.
#[derive(Debug)]
pub struct FakeProvider {
    name: String,
    kinds: BTreeSet<Kind>,
    objects: Mutex<BTreeMap<String, RemoteObject>>,
    failing: Mutex<BTreeMap<String, String>>,
    reads: Mutex<Vec<String>>,
}

impl FakeProvider {
    /// A fake that answers for these kinds and holds no object yet.
    pub fn new(name: impl Into<String>, kinds: impl IntoIterator<Item = Kind>) -> Self {
        FakeProvider {
            name: name.into(),
            kinds: kinds.into_iter().collect(),
            objects: Mutex::new(BTreeMap::new()),
            failing: Mutex::new(BTreeMap::new()),
            reads: Mutex::new(Vec::new()),
        }
    }

    /// Creates or overwrites the remote object of an address.
    pub fn put(&self, address: &str, object: RemoteObject) {
        if let Ok(mut objects) = self.objects.lock() {
            objects.insert(address.to_owned(), object);
        }
    }

    /// Changes one attribute of a remote object, as someone in a console would.
    pub fn set_attribute(&self, address: &str, attribute: &str, value: serde_json::Value) {
        if let Ok(mut objects) = self.objects.lock()
            && let Some(object) = objects.get_mut(address)
        {
            object.attributes.insert(attribute.to_owned(), value);
        }
    }

    /// Deletes a remote object.
    pub fn delete(&self, address: &str) {
        if let Ok(mut objects) = self.objects.lock() {
            objects.remove(address);
        }
    }

    /// Makes every read of an address fail with this message.
    pub fn fail_reads(&self, address: &str, message: &str) {
        if let Ok(mut failing) = self.failing.lock() {
            failing.insert(address.to_owned(), message.to_owned());
        }
    }

    /// The addresses read so far, in order.
    pub fn reads(&self) -> Vec<String> {
        self.reads
            .lock()
            .map(|reads| reads.clone())
            .unwrap_or_default()
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
            if let Ok(mut reads) = self.reads.lock() {
                reads.push(request.address.clone());
            }
            let failure = self
                .failing
                .lock()
                .ok()
                .and_then(|failing| failing.get(&request.address).cloned());
            if let Some(message) = failure {
                return Err(ProviderError::Api {
                    address: request.address.clone(),
                    code: Some("InjectedFailure".to_owned()),
                    message,
                });
            }
            let object = self
                .objects
                .lock()
                .ok()
                .and_then(|objects| objects.get(&request.address).cloned());
            Ok(match object {
                Some(object) => ReadOutcome::Found(object),
                None => ReadOutcome::Gone,
            })
        })
    }
}
