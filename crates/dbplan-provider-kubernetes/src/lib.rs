//! The Kubernetes provider: `CnpgCluster`, rendered into CloudNativePG objects ([`render`]) and
//! applied with server-side apply through kube (rustls on ring).
//!
//! - The client comes from the kubeconfig (`KUBECONFIG`, else `~/.kube/config`; the
//!   resource's `context`, else the current context) or, with neither, the in-cluster
//!   configuration; one client per context, made on first use.
//! - Create and update are server-side apply (`PATCH`, `application/apply-patch+yaml`) as field
//!   manager `dbplan`. A field another manager owns is a conflict, reported with the managers
//!   and fields, unless `DBPLAN_KUBERNETES_FORCE_CONFLICTS=1` asks dbplan to take them over
//!   ([`FORCE_VARIABLE`]).
//! - A read is a `GET`; drift is read only from the fields dbplan owns in
//!   `metadata.managedFields` (and those it renders that another manager took over):
//!   [`fields`].
//! - A delete uses `propagationPolicy: Foreground`: the API server removes the Cluster's
//!   dependents (its pods and volume claims) before the Cluster object itself, so the object
//!   being gone means its data volumes went too, and a cluster created again under the same
//!   name does not meet the old one's terminating pods. Every delete waits until the object is
//!   gone (a `Database` object's finalizer drops the database first when its reclaim policy is
//!   `delete`).
//! - After an apply the provider waits for the Cluster to be healthy (phase
//!   `Cluster in healthy state`, every instance ready, condition `Ready` true) and for each
//!   `Database` to be applied (`status.applied`), with backoff and a limit, reporting what the
//!   operator says when it gives up.
//! - `429` (waited out as `Retry-After` says), `5xx`, a `409` that is no field manager conflict
//!   (a stale version: no request sends a `resourceVersion`) and transport failures are retried
//!   with backoff; the timeouts are `DBPLAN_CONNECT_TIMEOUT` and `DBPLAN_READ_TIMEOUT` (each
//!   attempt).
//! - The connection secret's password is read from the operator's `<cluster>-app` Secret at
//!   apply; it goes into the Secret dbplan applies and into the cluster part's sensitive
//!   outputs, never into attributes, messages or logs (no request or answer body is logged).
//! - The provider is also the [`dbplan_provider::kubernetes::KubernetesSecrets`] through which
//!   other providers write their Secrets (a tenant database's connection secret): [`secrets`].

pub mod admission;
mod client;
pub mod cnpg;
pub mod fields;
pub mod render;
pub mod secrets;
pub mod tenant;

pub use admission::CnpgAdmission;
pub use client::RetryPolicy;

use client::{Failure, Kube, ObjectRef};
use dbplan_core::{Kind, ResourceAddress};
use dbplan_provider::{
    Applied, BoxFuture, ChangeRequest, FindOutcome, Provider, ProviderError, ReadOutcome,
    ReadRequest,
};
use serde_json::Value as Json;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

/// Set to `1` (or `true`) to let server-side apply take over fields another manager owns.
pub const FORCE_VARIABLE: &str = "DBPLAN_KUBERNETES_FORCE_CONFLICTS";

/// How long an apply waits for a cluster to be healthy, or a delete for an object to go, by
/// default (a cluster's first instances pull images and initialise their data).
const DEFAULT_WAIT: Duration = Duration::from_secs(30 * 60);

/// The Kubernetes provider.
#[derive(Default)]
pub struct KubernetesProvider {
    kubeconfig: Option<PathBuf>,
    force: Option<bool>,
    wait: Option<Duration>,
    policy: RetryPolicy,
    clients: tokio::sync::Mutex<HashMap<Option<String>, Kube>>,
    /// One edit of a cluster's managed roles at a time ([`tenant`]).
    roles_lock: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for KubernetesProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KubernetesProvider")
    }
}

impl KubernetesProvider {
    /// A provider that finds its configuration in the environment when first used.
    pub fn new() -> Self {
        Self::default()
    }

    /// A provider that reads this kubeconfig file, ignoring `KUBECONFIG`.
    pub fn with_kubeconfig(path: impl Into<PathBuf>) -> Self {
        KubernetesProvider {
            kubeconfig: Some(path.into()),
            ..Self::default()
        }
    }

    /// Whether conflicts are forced (instead of [`FORCE_VARIABLE`]).
    pub fn with_force(mut self, force: bool) -> Self {
        self.force = Some(force);
        self
    }

    /// How long applies and deletes wait for the objects.
    pub fn with_wait(mut self, wait: Duration) -> Self {
        self.wait = Some(wait);
        self
    }

    /// How requests are retried.
    pub fn with_retries(mut self, attempts: u32, first_pause: Duration) -> Self {
        self.policy = RetryPolicy {
            attempts: attempts.max(1),
            first_pause,
            ..RetryPolicy::default()
        };
        self
    }

    pub(crate) fn wait_limit(&self) -> Duration {
        self.wait.unwrap_or(DEFAULT_WAIT)
    }

    pub(crate) fn force(&self) -> bool {
        self.force.unwrap_or_else(|| {
            std::env::var(FORCE_VARIABLE).is_ok_and(|value| {
                matches!(
                    value.trim().to_ascii_lowercase().as_str(),
                    "1" | "true" | "yes"
                )
            })
        })
    }

    /// The client of a context (`None`: the current context, or in-cluster).
    pub(crate) async fn client(
        &self,
        address: &ResourceAddress,
        context: Option<&str>,
    ) -> Result<Kube, ProviderError> {
        let key = context.map(str::to_owned);
        let mut clients = self.clients.lock().await;
        if let Some(kube) = clients.get(&key) {
            return Ok(kube.clone());
        }
        let kube = client::connect(self.kubeconfig.as_deref(), context, self.policy)
            .await
            .map_err(|message| ProviderError::Credentials {
                address: address.clone(),
                message,
                source: None,
            })?;
        clients.insert(key, kube.clone());
        Ok(kube)
    }

    /// Server-side apply of one object; a conflict names the other managers.
    pub(crate) async fn apply_object(
        &self,
        kube: &Kube,
        address: &ResourceAddress,
        object: &Json,
    ) -> Result<Json, ProviderError> {
        let target = ObjectRef::of(object);
        match kube.apply(object, self.force()).await {
            Ok(live) => Ok(live),
            Err(Failure::Refused(refusal))
                if refusal.status == http::StatusCode::CONFLICT && refusal.manager_conflict =>
            {
                Err(cnpg::conflict_error(
                    address,
                    &target,
                    Failure::Refused(refusal),
                ))
            }
            Err(failure) => Err(failure.into_error(address, &format!("applying {target}"))),
        }
    }
}

fn unsupported(address: &ResourceAddress) -> ProviderError {
    ProviderError::Unsupported {
        address: address.clone(),
        message: "the Kubernetes provider manages CnpgCluster, and the roles and databases of tenants on one".to_owned(),
    }
}

impl Provider for KubernetesProvider {
    fn name(&self) -> &str {
        "kubernetes"
    }

    fn handles(&self, kind: Kind) -> bool {
        kind == Kind::CnpgCluster
    }

    fn read<'a>(
        &'a self,
        request: &'a ReadRequest,
    ) -> BoxFuture<'a, Result<ReadOutcome, ProviderError>> {
        Box::pin(async move {
            match request.kind() {
                Kind::CnpgCluster => cnpg::read(self, request).await,
                // A tenant on a CnpgCluster, handed over by the PostgreSQL provider.
                Kind::TenantDatabase => tenant::read(self, request).await,
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
                Kind::CnpgCluster => cnpg::apply(self, request, true).await,
                // A tenant on a CnpgCluster, handed over by the PostgreSQL provider.
                Kind::TenantDatabase => tenant::apply(self, request, true).await,
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
                Kind::CnpgCluster => cnpg::apply(self, request, false).await,
                // A tenant on a CnpgCluster, handed over by the PostgreSQL provider.
                Kind::TenantDatabase => tenant::apply(self, request, false).await,
                _ => Err(unsupported(&request.address)),
            }
        })
    }

    fn find<'a>(
        &'a self,
        request: &'a ChangeRequest,
    ) -> BoxFuture<'a, Result<FindOutcome, ProviderError>> {
        Box::pin(async move {
            match request.kind() {
                Kind::CnpgCluster => cnpg::find(self, request).await,
                // A tenant's role or database: its create looks, and takes over an existing
                // one only with the opt-in.
                _ => Ok(FindOutcome::Unknown),
            }
        })
    }

    /// A kubeconfig is at hand (`KUBECONFIG`, `~/.kube/config`, or the one the provider was
    /// given), or the process runs in a cluster.
    fn can_look_up(&self, request: &ChangeRequest) -> bool {
        if request.kind() != Kind::CnpgCluster {
            return false;
        }
        let home_config = std::env::var_os("HOME")
            .map(|home| PathBuf::from(home).join(".kube/config"))
            .is_some_and(|path| path.is_file());
        self.kubeconfig.is_some()
            || std::env::var_os("KUBECONFIG").is_some_and(|value| !value.is_empty())
            || home_config
            || std::env::var_os("KUBERNETES_SERVICE_HOST").is_some()
    }

    fn delete<'a>(
        &'a self,
        request: &'a ChangeRequest,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            match request.kind() {
                Kind::CnpgCluster => cnpg::delete(self, request).await,
                // A tenant on a CnpgCluster, handed over by the PostgreSQL provider.
                Kind::TenantDatabase => tenant::delete(self, request).await,
                _ => Err(unsupported(&request.address)),
            }
        })
    }
}
