//! The DigitalOcean provider: `DigitalOceanVpc`, `DigitalOceanDatabaseCluster`,
//! `DigitalOceanDatabaseFirewall` (trusted sources), `DigitalOceanDatabaseConnectionPool` and
//! `DigitalOceanDatabaseCaCertificate`, through DigitalOcean's API v2 over reqwest (rustls).
//!
//! - The token comes from `DIGITALOCEAN_TOKEN`, the API's address from `DIGITALOCEAN_API_URL`
//!   (default `https://api.digitalocean.com`). The token is sent only in the `Authorization`
//!   header, marked sensitive, and never logged; neither are request or response bodies, which
//!   carry passwords.
//! - `429` is waited out as `retry-after` or `ratelimit-reset` say; `5xx` and transport
//!   failures of GET, PUT and DELETE are retried with backoff, a bounded number of times. A POST
//!   is not sent twice blindly: after a failure that may have created the object, the object is
//!   looked up by name and adopted when it is there.
//! - Create looks first: an existing VPC, cluster or pool of the same name (or trusted sources
//!   a cluster already has) is taken over only when the request permits it (an interrupted
//!   create of dbplan's own, or the manifest's opt-in: `dbplan.io/adopt`, `--adopt`) and it
//!   matches the manifest; otherwise the create fails and says why, or how to opt in. A
//!   retried POST whose first answer was lost finds its own object, which is dbplan's.
//!   [`Provider::find`] runs the same lookup for the plan.
//! - Errors carry DigitalOcean's `id`, `message` and `request_id`, and the resource address.
//!
//! This crate is the only user of reqwest.

mod children;
mod client;
mod cluster;
mod reference;
mod tenants;
mod vpc;

use client::{Client, Failure, RetryPolicy, SetupError};
use dbplan_core::Kind;
use dbplan_core::ResourceAddress;
use dbplan_provider::{
    Applied, BoxFuture, ChangeRequest, Field, FindOutcome, Provider, ProviderError, ReadOutcome,
    ReadRequest,
};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::OnceLock;
use std::time::Duration;

/// How long a create, resize or delete waits for a cluster by default (DigitalOcean takes
/// minutes to create one).
const DEFAULT_WAIT: Duration = Duration::from_secs(60 * 60);

/// How long one request may take.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The DigitalOcean provider.
#[derive(Default)]
pub struct DigitalOceanProvider {
    /// Set by `with_endpoint`; else read from the environment on first use.
    endpoint: Option<(String, String)>,
    timeout: Option<Duration>,
    wait: Option<Duration>,
    policy: Option<RetryPolicy>,
    client: OnceLock<Result<Client, SetupError>>,
}

impl std::fmt::Debug for DigitalOceanProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DigitalOceanProvider")
    }
}

impl DigitalOceanProvider {
    /// A provider that reads `DIGITALOCEAN_TOKEN` and `DIGITALOCEAN_API_URL` when first used.
    pub fn new() -> Self {
        Self::default()
    }

    /// A provider of the API at `url` with `token`, ignoring the environment.
    pub fn with_endpoint(url: &str, token: &str) -> Self {
        DigitalOceanProvider {
            endpoint: Some((url.to_owned(), token.to_owned())),
            ..Self::default()
        }
    }

    /// Sets how long one request may take before it counts as failed.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets how long create, resize and delete wait for a cluster.
    pub fn with_wait(mut self, wait: Duration) -> Self {
        self.wait = Some(wait);
        self
    }

    /// Sets how many times a request is tried, and the first pause between tries.
    pub fn with_retries(mut self, attempts: u32, first_pause: Duration) -> Self {
        self.policy = Some(RetryPolicy {
            attempts: attempts.max(1),
            first_pause,
            ..RetryPolicy::default()
        });
        self
    }

    pub(crate) fn wait_limit(&self) -> Duration {
        self.wait.unwrap_or(DEFAULT_WAIT)
    }

    pub(crate) fn client(&self, address: &ResourceAddress) -> Result<&Client, ProviderError> {
        let made = self.client.get_or_init(|| {
            let (url, token) = match &self.endpoint {
                Some((url, token)) => (url.clone(), token.clone()),
                None => {
                    let token = std::env::var("DIGITALOCEAN_TOKEN").unwrap_or_default();
                    if token.trim().is_empty() {
                        return Err(SetupError::Endpoint("DIGITALOCEAN_TOKEN is not set; export a DigitalOcean personal access token with the database and VPC scopes".to_owned()));
                    }
                    let url = std::env::var("DIGITALOCEAN_API_URL")
                        .ok()
                        .filter(|url| !url.trim().is_empty())
                        .unwrap_or_else(|| client::DEFAULT_URL.to_owned());
                    (url, token)
                }
            };
            Client::new(
                &url,
                &token,
                self.timeout.unwrap_or(DEFAULT_TIMEOUT),
                self.policy.unwrap_or_default(),
            )
        });
        made.as_ref().map_err(|error| match error {
            SetupError::Endpoint(message) => ProviderError::Credentials {
                address: address.clone(),
                message: message.clone(),
                source: None,
            },
            // A setting of dbplan's, not a credential: reported as the other providers do.
            SetupError::Timeout(error) => ProviderError::Conflict {
                address: address.clone(),
                message: error.to_string(),
                source: Some(Box::new(error.clone())),
            },
        })
    }
}

impl Provider for DigitalOceanProvider {
    fn name(&self) -> &str {
        "digitalocean"
    }

    fn handles(&self, kind: Kind) -> bool {
        matches!(
            kind,
            Kind::DigitalOceanVpc
                | Kind::DigitalOceanDatabaseCluster
                | Kind::DigitalOceanDatabaseFirewall
                | Kind::DigitalOceanDatabaseConnectionPool
                | Kind::DigitalOceanDatabaseCaCertificate
                | Kind::DigitalOceanDatabaseClusterReference
        )
    }

    fn read<'a>(
        &'a self,
        request: &'a ReadRequest,
    ) -> BoxFuture<'a, Result<ReadOutcome, ProviderError>> {
        Box::pin(async move {
            match request.kind() {
                Kind::DigitalOceanVpc => vpc::read(self, request).await,
                Kind::DigitalOceanDatabaseCluster => cluster::read(self, request).await,
                Kind::DigitalOceanDatabaseFirewall => children::read_firewall(self, request).await,
                Kind::DigitalOceanDatabaseConnectionPool => {
                    children::read_pool(self, request).await
                }
                Kind::DigitalOceanDatabaseCaCertificate => children::read_ca(request),
                Kind::DigitalOceanDatabaseClusterReference => reference::read(self, request).await,
                _ => Err(unsupported(&request.address)),
            }
        })
    }

    /// With `DIGITALOCEAN_TOKEN` set.
    fn can_look_up(&self, _request: &ChangeRequest) -> bool {
        std::env::var("DIGITALOCEAN_TOKEN").is_ok_and(|token| !token.trim().is_empty())
    }

    fn find<'a>(
        &'a self,
        request: &'a ChangeRequest,
    ) -> BoxFuture<'a, Result<FindOutcome, ProviderError>> {
        Box::pin(async move {
            match request.kind() {
                Kind::DigitalOceanVpc => vpc::find_existing(self, request).await,
                Kind::DigitalOceanDatabaseCluster => cluster::find_existing(self, request).await,
                Kind::DigitalOceanDatabaseFirewall => children::find_firewall(self, request).await,
                Kind::DigitalOceanDatabaseConnectionPool => {
                    children::find_pool(self, request).await
                }
                // A CA certificate file that exists is reported by the plan's look at the disk.
                Kind::DigitalOceanDatabaseCaCertificate => Ok(FindOutcome::Unknown),
                // Nothing to take over: a referenced cluster is read, never adopted.
                Kind::DigitalOceanDatabaseClusterReference => Ok(FindOutcome::Unknown),
                _ => Err(unsupported(&request.address)),
            }
        })
    }

    fn create<'a>(
        &'a self,
        request: &'a ChangeRequest,
    ) -> BoxFuture<'a, Result<Applied, ProviderError>> {
        Box::pin(async move {
            match request.kind() {
                Kind::DigitalOceanVpc => vpc::create(self, request).await,
                Kind::DigitalOceanDatabaseCluster => cluster::create(self, request).await,
                Kind::DigitalOceanDatabaseFirewall => {
                    children::create_firewall(self, request).await
                }
                Kind::DigitalOceanDatabaseConnectionPool => {
                    children::create_pool(self, request).await
                }
                Kind::DigitalOceanDatabaseCaCertificate => children::write_ca(self, request).await,
                Kind::DigitalOceanDatabaseClusterReference => reference::apply(self, request).await,
                _ => Err(unsupported(&request.address)),
            }
        })
    }

    fn update<'a>(
        &'a self,
        request: &'a ChangeRequest,
    ) -> BoxFuture<'a, Result<Applied, ProviderError>> {
        Box::pin(async move {
            match request.kind() {
                Kind::DigitalOceanVpc => vpc::update(self, request).await,
                Kind::DigitalOceanDatabaseCluster => cluster::update(self, request).await,
                Kind::DigitalOceanDatabaseFirewall => children::put_firewall(self, request).await,
                Kind::DigitalOceanDatabaseConnectionPool => {
                    children::update_pool(self, request).await
                }
                Kind::DigitalOceanDatabaseCaCertificate => children::write_ca(self, request).await,
                Kind::DigitalOceanDatabaseClusterReference => reference::apply(self, request).await,
                _ => Err(unsupported(&request.address)),
            }
        })
    }

    fn delete<'a>(
        &'a self,
        request: &'a ChangeRequest,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            match request.kind() {
                Kind::DigitalOceanVpc => vpc::delete(self, request).await,
                Kind::DigitalOceanDatabaseCluster => cluster::delete(self, request).await,
                Kind::DigitalOceanDatabaseFirewall => {
                    children::delete_firewall(self, request).await
                }
                Kind::DigitalOceanDatabaseConnectionPool => {
                    children::delete_pool(self, request).await
                }
                Kind::DigitalOceanDatabaseCaCertificate => children::delete_ca(request),
                // dbplan never deletes a referenced cluster: it only forgets it.
                Kind::DigitalOceanDatabaseClusterReference => Ok(()),
                _ => Err(unsupported(&request.address)),
            }
        })
    }
}

fn unsupported(address: &ResourceAddress) -> ProviderError {
    ProviderError::Unsupported {
        address: address.clone(),
        message: format!(
            "the DigitalOcean provider does not manage {} objects",
            address.kind
        ),
    }
}

/// What an answer of DigitalOcean says, mapped to the kind's attributes, read as the kind's
/// typed part (as the planned attributes are), so that the two compare field by field.
pub(crate) fn read_as<T: serde::de::DeserializeOwned>(
    address: &ResourceAddress,
    attributes: &BTreeMap<String, Value>,
) -> Result<T, ProviderError> {
    dbplan_core::kinds::decode_map(attributes).map_err(|source| ProviderError::Decode {
        address: address.clone(),
        which: "answered",
        source: Box::new(source),
    })
}

/// The cluster a child object (firewall, pool, CA certificate) belongs to: its resolved
/// `cluster_id`.
pub(crate) fn cluster_of(
    address: &ResourceAddress,
    cluster_id: Option<String>,
) -> Result<String, ProviderError> {
    cluster_id.ok_or_else(|| ProviderError::Conflict {
        address: address.clone(),
        message: "the cluster's ID is not known; apply the DigitalOceanDatabaseCluster first"
            .to_owned(),
        source: None,
    })
}

/// A path segment, percent-encoded (pool names and tags go into paths).
pub(crate) fn segment(text: &str) -> String {
    let mut encoded = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

/// Runs a POST that creates a named object. A failure that may have created it anyway (a `5xx`,
/// a timeout) is followed by `find`; the object is adopted when it is there, and the POST sent
/// again when it is not, a bounded number of times.
pub(crate) async fn create_once<Find, FindFut>(
    client: &Client,
    address: &ResourceAddress,
    what: &str,
    path: &str,
    body: &Value,
    mut find: Find,
) -> Result<Value, ProviderError>
where
    Find: FnMut() -> FindFut,
    FindFut: std::future::Future<Output = Result<Option<Value>, Failure>>,
{
    let mut tries = 0;
    let mut pause = Duration::from_millis(250);
    loop {
        tries += 1;
        match client.post(path, body).await {
            Ok(reply) => return Ok(reply.body),
            Err(failure) if failure.is_transient() && tries < 6 => {
                tracing::debug!(
                    address = %address,
                    "{what}: {}; looking for the object",
                    failure.describe()
                );
                if let Some(found) = find()
                    .await
                    .map_err(|failure| failure.error(address, what))?
                {
                    return Ok(found);
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(8));
            }
            Err(failure) => {
                // A second POST after a lost answer finds the first one's object: adopt it.
                if matches!(failure.status(), Some(409 | 422))
                    && tries > 1
                    && let Some(found) = find()
                        .await
                        .map_err(|failure| failure.error(address, what))?
                {
                    return Ok(found);
                }
                return Err(failure.error(address, what));
            }
        }
    }
}

/// An output field: plain or sensitive.
pub(crate) fn output(value: Option<&Value>, sensitive: bool) -> Field {
    let value = value.cloned().unwrap_or(Value::Null);
    Field { value, sensitive }
}

/// Adds `sslmode=require` to a connection URI that does not say how to use TLS.
pub(crate) fn require_tls(uri: &str) -> String {
    if uri.is_empty() || uri.contains("sslmode=") {
        return uri.to_owned();
    }
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}sslmode=require")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_require_tls_and_segments_are_encoded() {
        assert_eq!(
            require_tls("postgresql://u:p@h:25061/pool"),
            "postgresql://u:p@h:25061/pool?sslmode=require"
        );
        assert_eq!(
            require_tls("postgresql://u:p@h/pool?sslmode=verify-full"),
            "postgresql://u:p@h/pool?sslmode=verify-full"
        );
        assert_eq!(segment("api pool/x"), "api%20pool%2Fx");
    }
}
