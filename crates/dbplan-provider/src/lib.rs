//! The interface between dbplan and the systems it manages.
//!
//! A [`Provider`] answers for some kinds: it reads the remote object of a resource recorded in
//! state ([`Provider::read`]), so that `plan` can report what changed outside dbplan, and it
//! creates, updates and deletes objects for the apply engine ([`Provider::create`],
//! [`Provider::update`], [`Provider::delete`]). Every request carries the recorded objects the
//! resource depends on ([`Recorded`]), so that a provider finds its context (a tenant
//! database's server) without reading state itself. [`Providers`] is the set a run uses;
//! [`FakeProvider`] keeps objects in memory, so the refresh and apply logic is tested against a
//! provider that really holds state, with drift, deletion, latency and failures injected by
//! the test.
//!
//! This crate uses no SDK; each real provider lives in its own crate.

pub mod admission;
pub mod aws_login;
pub mod digitalocean;
mod fake;
pub mod files;
pub mod kubernetes;
pub use dbplan_core::timeouts;

pub use fake::{Call, FakeProvider};

use dbplan_core::kinds::{self, DecodeError};
use dbplan_core::{Kind, Part, ResourceAddress};
use serde::de::DeserializeOwned;
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

/// A boxed future, so that providers can be used as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A value handed to or returned by a provider, marked when it is a secret: the same type
/// state records values in (`dbplan_state::StateValue`), so nothing is converted by hand.
pub use dbplan_core::Field;

/// An object as state records it, handed to a provider as context (e.g. the server a tenant
/// database lives on, with its connection settings and outputs).
#[derive(Clone, Debug, PartialEq)]
pub struct Recorded {
    pub provider_id: Option<String>,
    /// Plain attributes (secrets, which state holds as salted hashes, are left out).
    pub attributes: BTreeMap<String, serde_json::Value>,
    pub outputs: BTreeMap<String, Field>,
}

/// The recorded objects a resource depends on, directly or not, by address (the address
/// says each one's kind).
pub type Context = BTreeMap<ResourceAddress, Recorded>;

/// What a provider needs to find one resource's remote object.
#[derive(Clone, Debug, PartialEq)]
pub struct ReadRequest {
    /// `Kind/name[/part]`: the part of a component (`cluster`, `subnet-group`, …) is the
    /// address's, `None` for a whole resource ([`ReadRequest::part`]).
    pub address: ResourceAddress,
    /// The provider's id of the object, as recorded in state.
    pub provider_id: Option<String>,
    /// The attributes recorded in state (secrets left out).
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// The outputs recorded in state (secrets marked).
    pub outputs: BTreeMap<String, Field>,
    /// What the resource depends on, as recorded.
    pub context: Context,
    /// The plain, known attributes the manifests declare now for the object, when a plan
    /// refreshes one that is still declared; empty otherwise. A provider reads with the
    /// connection settings declared now (a tenant's `admin`), as Terraform reads with the
    /// current provider configuration, so that a setting that failed can be corrected.
    pub declared: BTreeMap<String, serde_json::Value>,
}

/// One create, update or delete, as the engine asks a provider for it.
#[derive(Clone, Debug, PartialEq)]
pub struct ChangeRequest {
    /// `Kind/name[/part]`, the part read with [`ChangeRequest::part`].
    pub address: ResourceAddress,
    /// The provider's id as recorded (update, delete, or a create that adopts a `pending`
    /// record).
    pub provider_id: Option<String>,
    /// The attributes as planned, references resolved; secrets as sensitive fields holding the
    /// real value (read from the environment at apply). Empty for a delete.
    pub attributes: BTreeMap<String, Field>,
    /// The attributes as recorded (secrets as their salted hashes); empty for a create.
    pub prior: BTreeMap<String, Field>,
    /// The outputs as recorded: for a create, what [`Provider::prepare`] generated before an
    /// interrupted attempt (so a retried create reuses the same generated password).
    pub prior_outputs: BTreeMap<String, Field>,
    /// What the resource depends on, as recorded.
    pub context: Context,
    /// Whether a create may take over an object that exists already (for an update or a
    /// delete, which act on a recorded object, it is [`Adoption::Recover`]).
    pub adopt: Adoption,
}

/// Whether a create may take over an existing object of the same name (or tag): dbplan never
/// takes over silently an object it did not create.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Adoption {
    /// dbplan has no record of the object: an existing one is refused
    /// ([`ProviderError::NotAdopted`]).
    #[default]
    Refuse,
    /// A `pending` record: an earlier create of dbplan's own was interrupted, so what exists
    /// is dbplan's (an update or delete acts on a recorded object, which is dbplan's too).
    Recover,
    /// The manifest opts in (`dbplan.io/adopt: "true"`, or `--adopt ADDR` on plan/apply).
    Allowed,
}

impl Adoption {
    /// Whether an existing object may be taken over.
    pub fn permits(self) -> bool {
        self != Adoption::Refuse
    }

    /// `Ok` when an existing object (`what`, e.g. `the role "legacy_app"`) may be taken over,
    /// else the error that says how to opt in.
    pub fn check(
        self,
        address: &ResourceAddress,
        what: impl std::fmt::Display,
    ) -> Result<(), ProviderError> {
        if self.permits() {
            return Ok(());
        }
        Err(ProviderError::NotAdopted {
            address: address.clone(),
            existing: what.to_string(),
        })
    }
}

impl ChangeRequest {
    /// A planned attribute.
    pub fn attribute(&self, name: &str) -> Option<&serde_json::Value> {
        self.attributes.get(name).map(|field| &field.value)
    }

    /// The planned attributes as the kind's typed part ([`dbplan_core::kinds`]), secrets
    /// included (a typed part holds them as `SecretText`, which never prints).
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, ProviderError> {
        let planned = self
            .attributes
            .iter()
            .map(|(name, field)| (name.clone(), field.value.clone()));
        kinds::decode(planned).map_err(|mut source| {
            // serde quotes the value it could not take ("invalid type: string \"…\""): never
            // a secret's.
            let top = source.attribute.split(['.', '[']).next();
            if top.and_then(|name| self.attributes.get(name)).is_some_and(|field| field.sensitive) {
                source.message = "a sensitive value of another type than the part expects (the value is not shown)".to_owned();
            }
            decode_error(&self.address, "planned", source)
        })
    }

    /// The recorded attributes as a typed struct; secrets, which state records as fingerprints,
    /// left out.
    pub fn decode_prior<T: DeserializeOwned>(&self) -> Result<T, ProviderError> {
        let recorded = self
            .prior
            .iter()
            .filter(|(_, field)| !field.sensitive)
            .map(|(name, field)| (name.clone(), field.value.clone()));
        kinds::decode(recorded).map_err(|source| decode_error(&self.address, "recorded", source))
    }

    /// The part the request is about.
    pub fn part(&self) -> Result<Part, ProviderError> {
        part_of(&self.address)
    }

    /// The kind of the resource, the address's.
    pub fn kind(&self) -> Kind {
        self.address.kind
    }
}

impl ReadRequest {
    /// The recorded attributes as a typed struct (secrets are not in a read request).
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, ProviderError> {
        kinds::decode_map(&self.attributes)
            .map_err(|source| decode_error(&self.address, "recorded", source))
    }

    /// The part the request is about.
    pub fn part(&self) -> Result<Part, ProviderError> {
        part_of(&self.address)
    }

    /// The kind of the resource, the address's.
    pub fn kind(&self) -> Kind {
        self.address.kind
    }
}

impl Recorded {
    /// The recorded attributes of a context object as a typed struct.
    pub fn decode<T: DeserializeOwned>(
        &self,
        address: &ResourceAddress,
    ) -> Result<T, ProviderError> {
        kinds::decode_map(&self.attributes)
            .map_err(|source| decode_error(address, "recorded", source))
    }
}

fn decode_error(
    address: &ResourceAddress,
    which: &'static str,
    source: DecodeError,
) -> ProviderError {
    ProviderError::Decode {
        address: address.clone(),
        which,
        source: Box::new(source),
    }
}

fn part_of(address: &ResourceAddress) -> Result<Part, ProviderError> {
    Part::of(address.part.as_deref()).map_err(|error| ProviderError::Unsupported {
        address: address.clone(),
        message: error.to_string(),
    })
}

/// What a create or update left behind: the id and the outputs to record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Applied {
    pub provider_id: Option<String>,
    pub outputs: BTreeMap<String, Field>,
}

/// The remote object as the provider read it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RemoteObject {
    pub provider_id: Option<String>,
    /// The attributes the provider manages, in the same shape as state records them.
    pub attributes: BTreeMap<String, serde_json::Value>,
    /// The outputs the kind declares, as far as the object shows them (`dbplan import` records
    /// them for dependents to resolve their references). What cannot be read back (a role's
    /// password) is left out: a reference to it stays unknown until an apply sets it.
    pub outputs: BTreeMap<String, Field>,
}

/// The answer to a read.
#[derive(Clone, Debug, PartialEq)]
pub enum ReadOutcome {
    Found(RemoteObject),
    /// The object no longer exists (deleted outside dbplan).
    Gone,
}

/// What a create would find: an object that exists although dbplan has no record of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Existing {
    /// The object, with the attributes the provider manages (in the shape state records).
    pub remote: RemoteObject,
    /// What apply would do to it beyond bringing those attributes to the manifest, one
    /// sentence each (e.g. "the role's password will be reset").
    pub effects: Vec<String>,
}

/// The answer to [`Provider::find`].
#[derive(Clone, Debug, PartialEq)]
pub enum FindOutcome {
    /// The provider cannot tell before apply (it does not look, or what it would look by is
    /// known only after apply: the id of an object still to be created).
    Unknown,
    /// Nothing of that name exists: a create makes it.
    Absent,
    /// An object exists that a create would take over.
    Found(Existing),
}

/// Why a provider call failed.
#[derive(Debug, thiserror::Error)]
pub enum ProviderError {
    #[error("{address}: {message}")]
    Api {
        address: ResourceAddress,
        /// The API's own error code, when it has one (e.g. `DBClusterNotFoundFault`).
        code: Option<Box<str>>,
        message: String,
        /// The client library's error the message was read from, when there is one.
        #[source]
        source: Option<Cause>,
    },
    #[error("{address}: credentials are missing or refused: {message}")]
    Credentials {
        address: ResourceAddress,
        message: String,
        /// The error the refusal came as (a server's answer), when there is one.
        #[source]
        source: Option<Cause>,
    },
    #[error("{address}: {message}")]
    Transport {
        address: ResourceAddress,
        message: String,
        /// The connection's or client library's error, when there is one.
        #[source]
        source: Option<Cause>,
    },
    /// The provider cannot do this (a kind or part it does not manage, an operation it does
    /// not support).
    #[error("{address}: {message}")]
    Unsupported {
        address: ResourceAddress,
        message: String,
    },
    /// The manifest asks for something the remote system refuses before any change (an
    /// existing object that does not match, a missing secret).
    #[error("{address}: {message}")]
    Conflict {
        address: ResourceAddress,
        message: String,
        /// The error that revealed the conflict (a file that cannot be read), when there is one.
        #[source]
        source: Option<Cause>,
    },
    /// The planned or recorded attributes do not fit the kind's typed part: a plan or state
    /// edited by hand, or written by another version of dbplan.
    #[error(
        "{address}: the {which} attributes do not fit the kind: {source}; run `dbplan plan` again (a plan or state edited by hand, or written by another version of dbplan, may hold what this one cannot read)"
    )]
    Decode {
        address: ResourceAddress,
        /// `planned` or `recorded`.
        which: &'static str,
        /// Boxed, with the API code as a `Box<str>`, so that the error stays small now that it
        /// holds a whole `ResourceAddress`.
        #[source]
        source: Box<DecodeError>,
    },
    /// A create found an object that exists but that dbplan did not create, and nothing opts
    /// into taking it over.
    #[error(
        "{address}: {existing} already exists, and dbplan did not create it; dbplan does not take it over without an explicit opt-in: annotate the resource `dbplan.io/adopt: \"true\"`, pass `--adopt {address}` to `dbplan plan` or `dbplan apply`, or record it first with `dbplan import {address} ID`; or choose another name"
    )]
    NotAdopted {
        address: ResourceAddress,
        existing: String,
    },
    /// An API or transport failure whose cause is kept: the provider's own error (the AWS
    /// provider's `AwsError`, holding the SDK's error), whose `Display` is the one sentence
    /// users see. Callers that want more read [`std::error::Error::source`] and downcast.
    #[error("{address}: {source}")]
    Caused {
        address: ResourceAddress,
        /// The API's own error code, when it answered with one (as [`ProviderError::Api`]).
        code: Option<Box<str>>,
        /// Whether trying again may help (as [`ProviderError::Transport`]).
        transient: bool,
        #[source]
        source: Cause,
    },
}

/// The cause a [`ProviderError`] keeps: the error of the library or system it came from. The
/// error's own message already says what it means, in one sentence (the cause's text included
/// where it helps), so callers print that message; the cause is there for those that read
/// [`std::error::Error::source`] and downcast.
pub type Cause = Box<dyn std::error::Error + Send + Sync + 'static>;

impl ProviderError {
    /// Whether trying again may help (a dropped connection, a throttled call).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            ProviderError::Transport { .. }
                | ProviderError::Caused {
                    transient: true,
                    ..
                }
        )
    }

    /// The API's own error code, when it answered with one (e.g. `DBClusterNotFoundFault`).
    pub fn code(&self) -> Option<&str> {
        match self {
            ProviderError::Api { code, .. } | ProviderError::Caused { code, .. } => code.as_deref(),
            _ => None,
        }
    }
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

    /// Values the provider generates before it creates an object (a password), recorded with
    /// the `pending` record before the create is called, so that an interrupted create can be
    /// retried with the same values. They come back in [`ChangeRequest::prior_outputs`].
    fn prepare(&self, request: &ChangeRequest) -> Result<BTreeMap<String, Field>, ProviderError> {
        let _ = request;
        Ok(BTreeMap::new())
    }

    /// Looks for an object a create would take over (plan, for an object without a record in
    /// state): the lookup `create` does first, with the planned attributes known at plan time
    /// (no secrets; references to objects still to be created left out). `Unknown` when the
    /// provider does not look.
    fn find<'a>(
        &'a self,
        request: &'a ChangeRequest,
    ) -> BoxFuture<'a, Result<FindOutcome, ProviderError>> {
        let _ = request;
        Box::pin(async { Ok(FindOutcome::Unknown) })
    }

    /// Whether credentials for a lookup of this object are at hand without asking anyone (a
    /// token or key in the environment, a server password variable that is set). A first plan
    /// against an empty state looks for existing objects only where this holds, so that a plan
    /// of manifests nobody has credentials for yet stays quick and quiet.
    fn can_look_up(&self, request: &ChangeRequest) -> bool {
        let _ = request;
        false
    }

    /// Why this build cannot carry out a planned change, known before apply from the change
    /// (its address, what it depends on, what it changes: a tenant on a server kind no
    /// provider applies tenants on, a rename the server's API has no call for); `None` when
    /// it can. `plan` warns with it, so that a plan never promises what apply will refuse.
    fn limitation(&self, change: &dbplan_core::Change) -> Option<String> {
        let _ = change;
        None
    }

    /// Creates the object. An existing object of the same name is taken over (and brought to
    /// the request) only when [`ChangeRequest::adopt`] permits it and it matches; else the
    /// create fails with [`ProviderError::NotAdopted`] or [`ProviderError::Conflict`].
    fn create<'a>(
        &'a self,
        request: &'a ChangeRequest,
    ) -> BoxFuture<'a, Result<Applied, ProviderError>>;

    /// Changes the object in place.
    fn update<'a>(
        &'a self,
        request: &'a ChangeRequest,
    ) -> BoxFuture<'a, Result<Applied, ProviderError>>;

    /// Deletes the object; an object that is already gone is not an error.
    fn delete<'a>(&'a self, request: &'a ChangeRequest)
    -> BoxFuture<'a, Result<(), ProviderError>>;
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

/// A shared provider is a provider, so a test can keep a handle on the fake it gives a run.
impl<P: Provider + ?Sized> Provider for std::sync::Arc<P> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn handles(&self, kind: Kind) -> bool {
        (**self).handles(kind)
    }

    fn read<'a>(
        &'a self,
        request: &'a ReadRequest,
    ) -> BoxFuture<'a, Result<ReadOutcome, ProviderError>> {
        (**self).read(request)
    }

    fn prepare(&self, request: &ChangeRequest) -> Result<BTreeMap<String, Field>, ProviderError> {
        (**self).prepare(request)
    }

    fn find<'a>(
        &'a self,
        request: &'a ChangeRequest,
    ) -> BoxFuture<'a, Result<FindOutcome, ProviderError>> {
        (**self).find(request)
    }

    fn can_look_up(&self, request: &ChangeRequest) -> bool {
        (**self).can_look_up(request)
    }

    fn limitation(&self, change: &dbplan_core::Change) -> Option<String> {
        (**self).limitation(change)
    }

    fn create<'a>(
        &'a self,
        request: &'a ChangeRequest,
    ) -> BoxFuture<'a, Result<Applied, ProviderError>> {
        (**self).create(request)
    }

    fn update<'a>(
        &'a self,
        request: &'a ChangeRequest,
    ) -> BoxFuture<'a, Result<Applied, ProviderError>> {
        (**self).update(request)
    }

    fn delete<'a>(
        &'a self,
        request: &'a ChangeRequest,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        (**self).delete(request)
    }
}

/// Polls `check` with backoff (250 ms doubling to 15 s) until it says done, or the limit passes.
pub async fn wait_until<F, Fut>(
    address: &ResourceAddress,
    what: &str,
    limit: Duration,
    mut check: F,
) -> Result<(), ProviderError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<bool, ProviderError>>,
{
    let started = Instant::now();
    let mut pause = Duration::from_millis(250);
    loop {
        if check().await? {
            return Ok(());
        }
        if started.elapsed() + pause > limit {
            return Err(ProviderError::Transport {
                address: address.clone(),
                message: format!(
                    "gave up waiting for {what} after {} s; it may still finish: run `dbplan plan` to see where it stands",
                    limit.as_secs()
                ),
                source: None,
            });
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(15));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code, reason = "only decoded, to see the error")]
    struct Part {
        name: String,
        password: u32,
    }

    fn request(password: Field) -> ChangeRequest {
        let address: ResourceAddress = "PostgresServer/main".parse().unwrap();
        ChangeRequest {
            address,
            provider_id: None,
            attributes: BTreeMap::from([
                ("name".to_owned(), Field::plain("main")),
                ("password".to_owned(), password),
            ]),
            prior: BTreeMap::new(),
            prior_outputs: BTreeMap::new(),
            context: Context::new(),
            adopt: Adoption::Refuse,
        }
    }

    #[test]
    fn a_planned_secret_that_does_not_fit_is_named_but_never_shown() {
        let error = request(Field::sensitive("hunter2-canary"))
            .decode::<Part>()
            .unwrap_err()
            .to_string();
        assert!(error.contains("`password`"), "{error}");
        assert!(!error.contains("hunter2-canary"), "{error}");
        // The same value in plain shows, as any other wrong value does.
        let error = request(Field::plain("plain-value"))
            .decode::<Part>()
            .unwrap_err()
            .to_string();
        assert!(error.contains("plain-value"), "{error}");
    }
}
