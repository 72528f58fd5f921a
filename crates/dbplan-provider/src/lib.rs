//! The interface between dbplan and the systems it manages.
//!
//! A [`Provider`] answers for some kinds: it reads the remote object of a resource recorded in
//! state ([`Provider::read`]), so that `plan` can report what changed outside dbplan. The
//! operations that change objects arrive with the apply engine. [`Providers`] is the set a run
//! uses; [`FakeProvider`] keeps objects in memory, so the refresh logic is tested against a
//! provider that really holds state, with drift, deletion and failures injected by the test.
//!
//! This crate uses no SDK; each real provider lives in its own crate.

mod fake;

pub use fake::FakeProvider;

use dbplan_core::Kind;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

/// A boxed future, so that providers can be used as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a provider needs to find one resource's remote object.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadRequest {
    /// `Kind/name[/part]`.
    pub address: String,
    pub kind: Kind,
    /// The part of a component (`cluster`, `subnet-group`, …), `None` for a whole resource.
    pub part: Option<String>,
    /// The provider's id of the object, as recorded in state.
    pub provider_id: Option<String>,
    /// The attributes recorded in state (secrets left out).
    pub attributes: BTreeMap<String, serde_json::Value>,
}

/// The remote object as the provider read it.
#[derive(Clone, Debug, PartialEq)]
pub struct RemoteObject {
    pub provider_id: Option<String>,
    /// The attributes the provider manages, in the same shape as state records them.
    pub attributes: BTreeMap<String, serde_json::Value>,
}

/// The answer to a read.
#[derive(Clone, Debug, PartialEq)]
pub enum ReadOutcome {
    Found(RemoteObject),
    /// The object no longer exists (deleted outside dbplan).
    Gone,
}

/// Why a provider call failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("{address}: {message}")]
    Api {
        address: String,
        /// The API's own error code, when it has one (e.g. `DBClusterNotFoundFault`).
        code: Option<String>,
        message: String,
    },
    #[error("{address}: credentials are missing or refused: {message}")]
    Credentials { address: String, message: String },
    #[error("{address}: {message}")]
    Transport { address: String, message: String },
}

/// One provider: the kinds it answers for and what it can do with them.
pub trait Provider: Send + Sync {
    /// A short name for messages, e.g. `postgres`.
    fn name(&self) -> &str;

    /// Whether this provider manages resources of this kind.
    fn handles(&self, kind: Kind) -> bool;

    /// Reads the remote object of a resource recorded in state.
    fn read<'a>(
        &'a self,
        request: &'a ReadRequest,
    ) -> BoxFuture<'a, Result<ReadOutcome, ProviderError>>;
}

/// The providers of a run.
#[derive(Default)]
pub struct Providers {
    providers: Vec<Box<dyn Provider>>,
}

impl std::fmt::Debug for Providers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.providers.iter().map(|provider| provider.name()))
            .finish()
    }
}

impl Providers {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with(mut self, provider: impl Provider + 'static) -> Self {
        self.providers.push(Box::new(provider));
        self
    }

    /// The provider that manages a kind, if this build has one.
    pub fn for_kind(&self, kind: Kind) -> Option<&dyn Provider> {
        self.providers
            .iter()
            .find(|provider| provider.handles(kind))
            .map(|provider| provider.as_ref())
    }
}
