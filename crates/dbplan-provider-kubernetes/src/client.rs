//! The Kubernetes API as dbplan uses it: server-side apply, GET and DELETE of objects given as
//! JSON, through kube's client (its configuration, TLS and authentication), with raw requests
//! so that every answer's status, headers and `Status` body are read here.
//!
//! - Every request is idempotent (an apply patch, a GET, a DELETE), so `429` (waited out as
//!   `Retry-After` or the `Status`'s `retryAfterSeconds` say), `5xx`, a stale-version `409`
//!   (never a field manager conflict) and transport failures are retried with backoff a
//!   bounded number of times; what still fails is transient
//!   ([`ProviderError::is_transient`]) when trying later may help.
//! - Bodies are never logged: a Secret's carries a password.

use crate::fields;
use dbplan_core::ResourceAddress;
use dbplan_provider::{ProviderError, timeouts};
use http::{Method, Request, StatusCode};
use http_body_util::BodyExt;
use kube::client::Body;
use serde_json::Value as Json;
use std::time::Duration;

/// How requests are retried.
#[derive(Clone, Copy, Debug)]
pub struct RetryPolicy {
    /// Attempts of one request, the first included.
    pub attempts: u32,
    /// The first pause after a failure; it doubles up to 8 s.
    pub first_pause: Duration,
    /// The longest a `429` is waited out.
    pub max_rate_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            first_pause: Duration::from_millis(250),
            max_rate_wait: Duration::from_secs(120),
        }
    }
}

/// Where one object is: its API path's parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

impl ObjectRef {
    /// The reference of a rendered object.
    pub fn of(object: &Json) -> ObjectRef {
        let text = |pointer: &str| {
            object
                .pointer(pointer)
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        ObjectRef {
            api_version: text("/apiVersion"),
            kind: text("/kind"),
            namespace: text("/metadata/namespace"),
            name: text("/metadata/name"),
        }
    }

    /// A core v1 Secret.
    pub fn secret(namespace: &str, name: &str) -> ObjectRef {
        ObjectRef {
            api_version: "v1".to_owned(),
            kind: "Secret".to_owned(),
            namespace: namespace.to_owned(),
            name: name.to_owned(),
        }
    }

    /// The resource's plural, as the API's paths name it (the kinds dbplan renders).
    fn plural(&self) -> String {
        match self.kind.as_str() {
            "ObjectStore" => "objectstores".to_owned(),
            "ScheduledBackup" => "scheduledbackups".to_owned(),
            other => format!("{}s", other.to_ascii_lowercase()),
        }
    }

    /// `/api/v1/namespaces/NS/secrets/NAME`, `/apis/GROUP/VERSION/namespaces/NS/PLURAL/NAME`.
    pub fn path(&self) -> String {
        let prefix = if self.api_version.contains('/') {
            format!("/apis/{}", self.api_version)
        } else {
            format!("/api/{}", self.api_version)
        };
        format!(
            "{prefix}/namespaces/{}/{}/{}",
            self.namespace,
            self.plural(),
            self.name
        )
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}/{}", self.kind, self.namespace, self.name)
    }
}

/// A Kubernetes API's answer outside `2xx`.
#[derive(Clone, Debug)]
pub struct Refusal {
    pub status: StatusCode,
    /// The `Status` body's `reason` (`Conflict`, `NotFound`, `Invalid`, …).
    pub reason: String,
    pub message: String,
    /// `details.causes[]`: `(field, message)`.
    pub causes: Vec<(String, String)>,
    /// A server-side apply conflict: a cause of type `FieldManagerConflict` (another manager
    /// owns a field the patch sets). A `409` without one is a stale-version conflict, which a
    /// request that sends no `resourceVersion` may simply try again.
    pub manager_conflict: bool,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.message, self.status.as_u16())
    }
}

impl std::error::Error for Refusal {}

impl Refusal {
    /// A refusal as the API would send it, for tests of what is made of one.
    #[cfg(test)]
    pub(crate) fn read_for_test(status: u16, body: &Json) -> Refusal {
        Refusal::read(
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            body.to_string().as_bytes(),
        )
    }

    fn read(status: StatusCode, body: &[u8]) -> Refusal {
        let parsed: Json = serde_json::from_slice(body).unwrap_or(Json::Null);
        let text = |pointer: &str| {
            parsed
                .pointer(pointer)
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let causes = parsed
            .pointer("/details/causes")
            .and_then(Json::as_array)
            .map(|causes| {
                causes
                    .iter()
                    .map(|cause| {
                        (
                            cause["field"].as_str().unwrap_or_default().to_owned(),
                            cause["message"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        // A `StatusCause`'s type is serialised as `reason`.
        let manager_conflict = parsed
            .pointer("/details/causes")
            .and_then(Json::as_array)
            .is_some_and(|causes| {
                causes.iter().any(|cause| {
                    cause["reason"] == "FieldManagerConflict"
                        || cause["type"] == "FieldManagerConflict"
                })
            });
        let message = match text("/message") {
            message if message.is_empty() => {
                status.canonical_reason().unwrap_or("no message").to_owned()
            }
            message => message,
        };
        Refusal {
            status,
            reason: text("/reason"),
            message,
            causes,
            manager_conflict,
        }
    }
}

/// A client of one Kubernetes API server (one kubeconfig context).
#[derive(Clone)]
pub struct Kube {
    client: kube::Client,
    policy: RetryPolicy,
    /// Bounds each attempt, as `DBPLAN_READ_TIMEOUT` says.
    read_timeout: Duration,
}

impl std::fmt::Debug for Kube {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kube")
    }
}

/// What makes a client: a kubeconfig file (`KUBECONFIG`, `~/.kube/config`, or the path the
/// provider was given) with a context, or the in-cluster configuration.
pub async fn connect(
    kubeconfig: Option<&std::path::Path>,
    context: Option<&str>,
    policy: RetryPolicy,
) -> Result<Kube, String> {
    // rustls on ring: the one crypto provider every client of dbplan uses. `install_default`
    // refuses only when one is installed already, which is the same one.
    let _installed_elsewhere = rustls::crypto::ring::default_provider().install_default();
    let env = |name: &str| std::env::var(name).ok();
    let connect_timeout =
        timeouts::seconds(env, timeouts::CONNECT_VARIABLE, timeouts::DEFAULT_CONNECT)
            .map_err(String::from)?;
    let read_timeout = timeouts::seconds(env, timeouts::READ_VARIABLE, timeouts::DEFAULT_READ)
        .map_err(String::from)?;
    let options = kube::config::KubeConfigOptions {
        context: context.map(str::to_owned),
        ..Default::default()
    };
    let mut config = match (kubeconfig, context) {
        (Some(path), _) => {
            let file = kube::config::Kubeconfig::read_from(path)
                .map_err(|error| format!("cannot read the kubeconfig {}: {error}", path.display()))?;
            kube::Config::from_custom_kubeconfig(file, &options)
                .await
                .map_err(|error| format!("the kubeconfig {}: {error}", path.display()))?
        }
        (None, Some(context)) => kube::Config::from_kubeconfig(&options)
            .await
            .map_err(|error| {
                format!("cannot use the kubeconfig context `{context}` (KUBECONFIG or ~/.kube/config): {error}")
            })?,
        (None, None) => kube::Config::infer().await.map_err(|error| {
            format!("no Kubernetes configuration: set KUBECONFIG, write ~/.kube/config, or run in a cluster ({error})")
        })?,
    };
    config.connect_timeout = Some(connect_timeout);
    // The read bound is `Kube::send`'s, around each whole exchange, so that a server that does
    // not answer is always reported as such, with the variable to raise. kube's own read
    // timeout stays off: it would race that bound with a bare transport error, and it counts
    // the time a pooled connection sat idle (between two polls of a wait) against the next
    // request.
    config.read_timeout = None;
    let client = kube::Client::try_from(config)
        .map_err(|error| format!("cannot make a Kubernetes client: {error}"))?;
    Ok(Kube {
        client,
        policy,
        read_timeout,
    })
}

/// A failure of one request: the API refused, or the request did not get through.
#[derive(Debug)]
pub enum Failure {
    Refused(Refusal),
    Transport {
        message: String,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

impl Failure {
    /// The provider error for a resource: refusals by kind, transport failures transient.
    pub fn into_error(self, address: &ResourceAddress, what: &str) -> ProviderError {
        match self {
            Failure::Transport { message, source } => ProviderError::Transport {
                address: address.clone(),
                message: format!("{what}: {message}"),
                source,
            },
            Failure::Refused(refusal) => refusal_error(address, what, refusal),
        }
    }
}

fn refusal_error(address: &ResourceAddress, what: &str, refusal: Refusal) -> ProviderError {
    let status = refusal.status.as_u16();
    let message = match status {
        401 | 403 => {
            return ProviderError::Credentials {
                address: address.clone(),
                message: format!(
                    "{what}: the Kubernetes API refused ({status}): {}",
                    refusal.message
                ),
                source: Some(Box::new(refusal)),
            };
        }
        404 => format!(
            "{what}: {} (404); is the CloudNativePG operator (and, for an ObjectStore, the Barman Cloud plugin) installed, and does the namespace exist?",
            refusal.message
        ),
        _ => format!("{what}: {}", refusal.message),
    };
    let transient = status == 429 || status >= 500;
    let code = (!refusal.reason.is_empty()).then(|| refusal.reason.clone().into_boxed_str());
    ProviderError::Caused {
        address: address.clone(),
        code,
        transient,
        source: Box::new(Described { message, refusal }),
    }
}

/// A refusal with the sentence that explains it.
#[derive(Debug)]
struct Described {
    message: String,
    refusal: Refusal,
}

impl std::fmt::Display for Described {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Described {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.refusal)
    }
}

/// How long a `429` asks to be waited: `Retry-After` (seconds), else the body's
/// `details.retryAfterSeconds`, else a second.
fn retry_after(headers: &http::HeaderMap, body: &[u8]) -> Duration {
    let header = headers
        .get(http::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok());
    let detail = || {
        serde_json::from_slice::<Json>(body)
            .ok()?
            .pointer("/details/retryAfterSeconds")?
            .as_u64()
    };
    Duration::from_secs(header.or_else(detail).unwrap_or(1))
}

impl Kube {
    /// Sends one request with retries; the answer's body as JSON (`Null` when empty).
    async fn send(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> Result<Json, Failure> {
        let mut pause = self.policy.first_pause;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= self.policy.attempts.max(1);
            let mut builder = Request::builder()
                .method(method.clone())
                .uri(path)
                .header(http::header::ACCEPT, "application/json");
            if let Some(content_type) = content_type {
                builder = builder.header(http::header::CONTENT_TYPE, content_type);
            }
            let request = builder
                .body(Body::from(body.clone().unwrap_or_default()))
                .map_err(|error| Failure::Transport {
                    message: format!("cannot build the request: {error}"),
                    source: Some(Box::new(error)),
                })?;
            let outcome = tokio::time::timeout(self.read_timeout, self.exchange(request)).await;
            let (status, headers, bytes) = match outcome {
                Ok(Ok(answer)) => answer,
                Ok(Err(failure)) => {
                    if last {
                        return Err(failure);
                    }
                    tracing::debug!(%method, path, attempt, "Kubernetes request failed, retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(8));
                    continue;
                }
                Err(_elapsed) => {
                    if last {
                        return Err(Failure::Transport {
                            message: format!(
                                "no answer within {} s, {attempt} attempts ({} sets the bound)",
                                self.read_timeout.as_secs_f64(),
                                timeouts::READ_VARIABLE
                            ),
                            source: None,
                        });
                    }
                    tracing::debug!(%method, path, attempt, "Kubernetes request timed out, retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(8));
                    continue;
                }
            };
            tracing::debug!(%method, path, status = status.as_u16(), attempt, "Kubernetes API");
            if status == StatusCode::TOO_MANY_REQUESTS && !last {
                let wait = retry_after(&headers, &bytes);
                if wait <= self.policy.max_rate_wait {
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            if status.is_server_error() && !last {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(8));
                continue;
            }
            if status.is_success() {
                return Ok(serde_json::from_slice(&bytes).unwrap_or(Json::Null));
            }
            let refusal = Refusal::read(status, &bytes);
            // No request here carries a `resourceVersion`, so a stale-version conflict (the
            // object changed while the server applied the request) goes away when it is sent
            // again; a field manager conflict does not.
            if status == StatusCode::CONFLICT
                && refusal.reason == "Conflict"
                && !refusal.manager_conflict
                && !last
            {
                tracing::debug!(%method, path, attempt, "Kubernetes stale-version conflict, retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(8));
                continue;
            }
            return Err(Failure::Refused(refusal));
        }
    }

    async fn exchange(
        &self,
        request: Request<Body>,
    ) -> Result<(StatusCode, http::HeaderMap, Vec<u8>), Failure> {
        let response = self
            .client
            .send(request)
            .await
            .map_err(|error| Failure::Transport {
                message: format!("the Kubernetes API could not be reached: {error}"),
                source: Some(Box::new(error)),
            })?;
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|error| Failure::Transport {
                message: format!("the Kubernetes API's answer was cut off: {error}"),
                source: Some(Box::new(error)),
            })?
            .to_bytes()
            .to_vec();
        Ok((status, headers, bytes))
    }

    /// Server-side apply of a rendered object as field manager `dbplan`, forcing conflicts
    /// only when `force`. A conflict is a refusal with status 409 and the conflicting fields in
    /// its causes.
    pub async fn apply(&self, object: &Json, force: bool) -> Result<Json, Failure> {
        self.apply_as(object, fields::MANAGER, force).await
    }

    /// Server-side apply as another field manager of dbplan's (the tenants' managed roles are
    /// `dbplan-roles`, so that the cluster part's apply, which does not list them, keeps them).
    pub async fn apply_as(
        &self,
        object: &Json,
        manager: &str,
        force: bool,
    ) -> Result<Json, Failure> {
        let target = ObjectRef::of(object);
        let path = format!("{}?fieldManager={manager}&force={force}", target.path());
        let body = serde_json::to_vec(object).map_err(|error| Failure::Transport {
            message: format!("cannot write the object: {error}"),
            source: Some(Box::new(error)),
        })?;
        // JSON is YAML: the apply patch content type takes either.
        self.send(
            Method::PATCH,
            &path,
            Some("application/apply-patch+yaml"),
            Some(body),
        )
        .await
    }

    /// The object, `None` when it does not exist.
    pub async fn get(&self, target: &ObjectRef) -> Result<Option<Json>, Failure> {
        match self.send(Method::GET, &target.path(), None, None).await {
            Ok(object) => Ok(Some(object)),
            Err(Failure::Refused(refusal)) if refusal.status == StatusCode::NOT_FOUND => Ok(None),
            Err(failure) => Err(failure),
        }
    }

    /// Deletes the object with `propagationPolicy: Foreground`; one already gone is not an
    /// error. Returns whether it was there.
    pub async fn delete(&self, target: &ObjectRef) -> Result<bool, Failure> {
        let options = serde_json::json!({
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "propagationPolicy": "Foreground",
        });
        let body = options.to_string().into_bytes();
        match self
            .send(
                Method::DELETE,
                &target.path(),
                Some("application/json"),
                Some(body),
            )
            .await
        {
            Ok(_) => Ok(true),
            Err(Failure::Refused(refusal)) if refusal.status == StatusCode::NOT_FOUND => Ok(false),
            Err(failure) => Err(failure),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use serde_json::json;

    #[test]
    fn paths_of_core_and_custom_objects() {
        let cluster = json!({"apiVersion": "postgresql.cnpg.io/v1", "kind": "Cluster",
            "metadata": {"name": "home-pg", "namespace": "databases"}});
        assert_eq!(
            ObjectRef::of(&cluster).path(),
            "/apis/postgresql.cnpg.io/v1/namespaces/databases/clusters/home-pg"
        );
        assert_eq!(
            ObjectRef::secret("databases", "home-pg-app").path(),
            "/api/v1/namespaces/databases/secrets/home-pg-app"
        );
        let store = json!({"apiVersion": "barmancloud.cnpg.io/v1", "kind": "ObjectStore",
            "metadata": {"name": "b", "namespace": "n"}});
        assert_eq!(
            ObjectRef::of(&store).path(),
            "/apis/barmancloud.cnpg.io/v1/namespaces/n/objectstores/b"
        );
    }

    #[test]
    fn a_status_body_is_read() {
        let body = json!({
            "kind": "Status", "apiVersion": "v1", "status": "Failure",
            "message": "Apply failed with 1 conflict: conflict with \"kubectl-edit\" using postgresql.cnpg.io/v1: .spec.instances",
            "reason": "Conflict",
            "details": {"causes": [{"type": "FieldManagerConflict",
                "message": "conflict with \"kubectl-edit\" using postgresql.cnpg.io/v1",
                "field": ".spec.instances"}]},
            "code": 409
        });
        let refusal = Refusal::read(StatusCode::CONFLICT, body.to_string().as_bytes());
        assert_eq!(refusal.reason, "Conflict");
        assert_eq!(refusal.causes[0].0, ".spec.instances");
        assert!(refusal.manager_conflict);
    }

    #[test]
    fn a_stale_version_conflict_is_no_manager_conflict() {
        let body = json!({
            "kind": "Status", "apiVersion": "v1", "status": "Failure",
            "message": "Operation cannot be fulfilled on clusters.postgresql.cnpg.io \"home-pg\": the object has been modified; please apply your changes to the latest version and try again",
            "reason": "Conflict",
            "details": {"name": "home-pg", "group": "postgresql.cnpg.io", "kind": "clusters"},
            "code": 409
        });
        let refusal = Refusal::read(StatusCode::CONFLICT, body.to_string().as_bytes());
        assert_eq!(refusal.reason, "Conflict");
        assert!(!refusal.manager_conflict);
        let wire = json!({"reason": "Conflict", "details": {"causes": [
            {"reason": "FieldManagerConflict", "message": "conflict with \"kubectl\"", "field": ".spec.instances"}]}});
        assert!(Refusal::read(StatusCode::CONFLICT, wire.to_string().as_bytes()).manager_conflict);
    }

    #[test]
    fn retry_after_comes_from_the_header_or_the_status() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(retry_after(&headers, b""), Duration::from_secs(1));
        let body = json!({"details": {"retryAfterSeconds": 3}}).to_string();
        assert_eq!(
            retry_after(&headers, body.as_bytes()),
            Duration::from_secs(3)
        );
        headers.insert(http::header::RETRY_AFTER, "2".parse().unwrap());
        assert_eq!(
            retry_after(&headers, body.as_bytes()),
            Duration::from_secs(2)
        );
    }
}
