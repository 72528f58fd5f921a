//! A stateful fake of the Kubernetes API server, enough for kube-rs clients and `kubectl`:
//! discovery (`/version`, `/api`, `/apis`, resource lists, an OpenAPI v3 index), namespaces,
//! Secrets, CustomResourceDefinitions and every kind the stored CRDs define (namespaced or
//! cluster-scoped as each CRD says), with `Status` errors, resource versions, generations,
//! finalizers, propagation policies, dry runs, status subresources, pruning of undeclared
//! fields, and server-side apply with `managedFields` (structured-merge-diff's ownership,
//! merge and conflict rules, driven by each CRD's list and map types).
//!
//! Before a CRD-backed object is stored, the configuration's hooks default it and validate it
//! (`422 Invalid` with the field causes, as the API server reports schema and CEL failures). A
//! simulation of the CloudNativePG operator moves Clusters to healthy, writes their Secrets,
//! applies Databases and schedules backups after a configurable delay (`operator`).
//!
//! Endpoints outside the API serve tests: `GET /_fake/stats` (requests per verb and path,
//! faults injected), `POST /_fake/faults` and `DELETE /_fake/faults` (a `FaultRule`: `409`,
//! `429` with `Retry-After`, `500` or no answer at all, for the next N matching requests),
//! `PUT /_fake/status-delay` (`{"milliseconds": N}`) and `PUT /_fake/failures` /
//! `DELETE /_fake/failures` (a `FailureRule`: an object the operator reports as failing).

mod api;
mod fields;
mod managed;
mod operator;
mod patch;
mod resources;
mod status;
mod store;
mod table;
mod watch;

pub use crate::loopback::Reply;
pub use status::{FieldError, FieldErrorKind};

use crate::StartError;
use serde_json::Value as Json;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// The version `/version` reports.
pub const SERVER_VERSION: &str = "v1.33.0";

/// An admission check of one kind: the new object, the old one on updates; no errors admits it.
pub type Validator = Box<dyn Fn(&Json, Option<&Json>) -> Vec<FieldError> + Send + Sync>;

/// A defaulting step of one kind (the schema's `default`s), run before validation.
pub type Defaulter = Box<dyn Fn(&mut Json) + Send + Sync>;

/// How the fake behaves.
pub struct FakeConfig {
    /// The bearer token the API accepts (and the kubeconfig carries); any other is `401`.
    pub token: String,
    /// Serve requests without an `Authorization` header. `kubectl` needs it: client-go sends a
    /// kubeconfig's token only to a TLS server, and this fake speaks plain HTTP.
    pub anonymous: bool,
    /// The CustomResourceDefinitions installed at start (as JSON objects). More can be created
    /// through the API.
    pub crds: Vec<Json>,
    /// Admission checks, by `Kind.group` (`Cluster.postgresql.cnpg.io`).
    pub validators: HashMap<String, Validator>,
    /// Defaulting, by `Kind.group`.
    pub defaulters: HashMap<String, Defaulter>,
    /// How long the simulated operator takes to make an object ready.
    pub status_delay: Duration,
    /// Simulate the CloudNativePG operator.
    pub operator: bool,
}

impl std::fmt::Debug for FakeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FakeConfig")
            .field("crds", &self.crds.len())
            .field("validators", &self.validators.keys().collect::<Vec<_>>())
            .field("defaulters", &self.defaulters.keys().collect::<Vec<_>>())
            .field("status_delay", &self.status_delay)
            .field("operator", &self.operator)
            .finish_non_exhaustive()
    }
}

impl Default for FakeConfig {
    /// CloudNativePG's CRDs (`dbplan_crd::Crds::embedded`), each kind defaulted and validated
    /// by its CRD (schema and CEL rules; a rule that cannot be evaluated admits the object),
    /// the operator simulated with a 500 ms delay, a random token.
    fn default() -> Self {
        let crds = dbplan_crd::Crds::embedded();
        let mut validators: HashMap<String, Validator> = HashMap::new();
        let mut defaulters: HashMap<String, Defaulter> = HashMap::new();
        for crd in crds.iter() {
            let key = format!("{}.{}", crd.kind(), crd.group());
            validators.insert(
                key.clone(),
                Box::new(move |new: &Json, old: Option<&Json>| validate(crd, new, old)),
            );
            defaulters.insert(key, Box::new(move |object: &mut Json| crd.defaults(object)));
        }
        FakeConfig {
            token: format!("dbplan-fake-{}", uuid::Uuid::new_v4().simple()),
            anonymous: true,
            crds: crds.iter().map(|crd| crd.definition().clone()).collect(),
            validators,
            defaulters,
            status_delay: Duration::from_millis(500),
            operator: true,
        }
    }
}

/// A CRD's violations as the API server's field errors (a rule kube-cel cannot evaluate is no
/// error here: the fake admits what it cannot check).
fn validate(crd: &dbplan_crd::Crd, new: &Json, old: Option<&Json>) -> Vec<FieldError> {
    crd.validate(new, old)
        .into_iter()
        .filter(|violation| violation.kind != dbplan_crd::ViolationKind::Unevaluated)
        .map(|violation| FieldError {
            kind: match violation.reason() {
                "FieldValueRequired" => FieldErrorKind::Required,
                "FieldValueNotSupported" => FieldErrorKind::NotSupported,
                "FieldValueDuplicate" => FieldErrorKind::Duplicate,
                "FieldValueForbidden" => FieldErrorKind::Forbidden,
                "FieldValueTooLong" => FieldErrorKind::TooLong,
                "FieldValueTooMany" => FieldErrorKind::TooMany,
                _ => FieldErrorKind::Invalid,
            },
            field: violation.path,
            value: None,
            detail: String::new(),
            rendered: Some(violation.message),
        })
        .collect()
}

/// An injected fault.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Fault {
    /// `409 Conflict` (a stale resource version).
    Conflict,
    /// `429 TooManyRequests` with `Retry-After`.
    TooManyRequests { retry_after_seconds: u64 },
    /// `500 InternalError`.
    InternalError,
    /// No answer until the fake stops (a client sees its own timeout).
    Timeout,
}

/// Which requests get a fault.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FaultRule {
    /// The HTTP method (`GET`, `PATCH`, ...); any when absent.
    #[serde(default)]
    pub verb: Option<String>,
    /// The request path; `*` matches any run of characters
    /// (`/apis/postgresql.cnpg.io/v1/namespaces/*/clusters/*`).
    pub path: String,
    pub fault: Fault,
    /// How many of the next matching requests get it.
    pub count: u32,
}

/// An object the simulated operator reports as failing.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FailureRule {
    /// `Cluster`, `Database` or `ScheduledBackup`.
    pub kind: String,
    pub namespace: String,
    pub name: String,
    #[serde(flatten)]
    pub failure: Failure,
}

/// What a failing object reports.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Failure {
    /// A Cluster's `status.phase` (`Cluster cannot be created`).
    #[serde(default)]
    pub phase: String,
    /// The message of its condition (or of a Database's status).
    pub message: String,
}

/// Requests served and faults injected.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Stats {
    /// API requests received (faulted ones included), not counting `/_fake/`.
    pub requests: u64,
    /// Per `METHOD /path` (without the query).
    pub by_request: BTreeMap<String, u64>,
    /// Faults injected, per kind.
    pub faults: BTreeMap<String, u64>,
}

impl Stats {
    /// Requests of `verb` to `path` so far.
    pub fn count(&self, verb: &str, path: &str) -> u64 {
        self.by_request
            .get(&format!("{verb} {path}"))
            .copied()
            .unwrap_or_default()
    }
}

pub(crate) struct Admission {
    pub(crate) validators: HashMap<String, Validator>,
    pub(crate) defaulters: HashMap<String, Defaulter>,
}

pub(crate) struct Shared {
    pub(crate) world: Mutex<store::World>,
    pub(crate) admission: Admission,
    pub(crate) token: String,
    pub(crate) anonymous: bool,
    pub(crate) status_delay: Mutex<Duration>,
    pub(crate) operator: Mutex<operator::Operator>,
    pub(crate) simulate: bool,
    pub(crate) faults: Mutex<Vec<FaultRule>>,
    pub(crate) stats: Mutex<Stats>,
    pub(crate) stopping: tokio::sync::watch::Sender<bool>,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // Every change to the world is made in one step under the lock; a panicking handler leaves
    // it usable.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub(crate) fn now_text() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|time| {
            time.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

impl Shared {
    fn new(config: FakeConfig) -> Shared {
        Shared {
            world: Mutex::new(store::World::new(&config.crds)),
            admission: Admission {
                validators: config.validators,
                defaulters: config.defaulters,
            },
            token: config.token,
            anonymous: config.anonymous,
            status_delay: Mutex::new(config.status_delay),
            operator: Mutex::new(operator::Operator::default()),
            simulate: config.operator,
            faults: Mutex::new(Vec::new()),
            stats: Mutex::new(Stats::default()),
            stopping: tokio::sync::watch::channel(false).0,
        }
    }

    /// One pass of the simulated operator.
    pub(crate) fn tick(&self) {
        if !self.simulate {
            return;
        }
        let delay = *lock(&self.status_delay);
        let mut world = lock(&self.world);
        lock(&self.operator).reconcile(&mut world, &self.admission, delay);
        world.collect_garbage();
    }
}

/// A running fake, on a loopback port; it stops when dropped.
pub struct FakeKubernetes {
    address: SocketAddr,
    shared: Arc<Shared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for FakeKubernetes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FakeKubernetes({})", self.address)
    }
}

impl FakeKubernetes {
    /// Starts the fake on a free loopback port, in a thread of its own.
    pub fn start(config: FakeConfig) -> Result<FakeKubernetes, StartError> {
        Self::start_on("127.0.0.1:0", config)
    }

    /// Starts the fake on `listen` (`127.0.0.1:6443`; port 0 picks a free one).
    pub fn start_on(listen: &str, config: FakeConfig) -> Result<FakeKubernetes, StartError> {
        let failed =
            |error: std::io::Error| StartError(format!("cannot listen on {listen}: {error}"));
        let listener = std::net::TcpListener::bind(listen).map_err(failed)?;
        listener.set_nonblocking(true).map_err(failed)?;
        let address = listener.local_addr().map_err(failed)?;
        let shared = Arc::new(Shared::new(config));
        let router = api::router(shared.clone());
        let (ready, started) = std::sync::mpsc::channel::<Result<(), String>>();
        let ticker = shared.clone();
        let mut stopped = shared.stopping.subscribe();
        let thread = std::thread::Builder::new()
            .name("fake-kubernetes".to_owned())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = ready.send(Err(error.to_string()));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => listener,
                        Err(error) => {
                            let _ = ready.send(Err(error.to_string()));
                            return;
                        }
                    };
                    let mut ticks = ticker.stopping.subscribe();
                    tokio::spawn(async move {
                        loop {
                            tokio::select! {
                                _ = tokio::time::sleep(Duration::from_millis(20)) => ticker.tick(),
                                _ = ticks.wait_for(|stop| *stop) => return,
                            }
                        }
                    });
                    let _ = ready.send(Ok(()));
                    let _ = axum::serve(listener, router)
                        .with_graceful_shutdown(async move {
                            let _ = stopped.wait_for(|stop| *stop).await;
                        })
                        .await;
                });
            })
            .map_err(|error| StartError(format!("cannot start the fake: {error}")))?;
        match started.recv() {
            Ok(Ok(())) => {}
            Ok(Err(error)) => return Err(StartError(format!("cannot start the fake: {error}"))),
            Err(_) => return Err(StartError("the fake's thread ended early".to_owned())),
        }
        Ok(FakeKubernetes {
            address,
            shared,
            thread: Some(thread),
        })
    }

    /// The server's URL (`http://127.0.0.1:PORT`).
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// The bearer token the API accepts.
    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// A kubeconfig for the fake: cluster, user (with the token) and context `dbplan-fake`,
    /// namespace `default`.
    pub fn kubeconfig(&self) -> String {
        kubeconfig(&self.url(), &self.shared.token)
    }

    /// Writes [`FakeKubernetes::kubeconfig`] to `path` (readable by its owner only).
    pub fn write_kubeconfig(&self, path: &std::path::Path) -> std::io::Result<()> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        // Written whole under a temporary name, then renamed: a client that waits for the file
        // to appear never reads half of it.
        let mut partial = path.as_os_str().to_owned();
        partial.push(".partial");
        let partial = std::path::PathBuf::from(partial);
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&partial)?;
        file.write_all(self.kubeconfig().as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&partial, path)
    }

    /// Requests served so far, and the faults injected.
    pub fn stats(&self) -> Stats {
        lock(&self.shared.stats).clone()
    }

    /// Adds a fault for the next `rule.count` requests that match it.
    pub fn add_fault(&self, rule: FaultRule) {
        lock(&self.shared.faults).push(rule);
    }

    /// Removes every pending fault.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear();
    }

    /// How long the simulated operator takes to make an object ready, from now on.
    pub fn set_status_delay(&self, delay: Duration) {
        *lock(&self.shared.status_delay) = delay;
    }

    /// Makes the simulated operator report an object as failing (until [`Self::clear_failure`]).
    pub fn fail(&self, rule: FailureRule) {
        lock(&self.shared.operator)
            .failing
            .insert((rule.kind, rule.namespace, rule.name), rule.failure);
    }

    /// Lets a failing object recover.
    pub fn clear_failure(&self, kind: &str, namespace: &str, name: &str) {
        lock(&self.shared.operator).failing.remove(&(
            kind.to_owned(),
            namespace.to_owned(),
            name.to_owned(),
        ));
    }

    /// Sends one API request with the fake's token, as another client would: how tests look
    /// at objects and change them behind a client's back. `content_type` defaults to
    /// `application/json`.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        content_type: Option<&str>,
        body: Option<&str>,
    ) -> Result<Reply, StartError> {
        crate::loopback::call(
            self.address,
            Some(&self.shared.token),
            &crate::loopback::Call {
                method,
                path,
                content_type: content_type.unwrap_or("application/json"),
                body,
                timeout: Duration::from_secs(30),
            },
        )
    }

    /// [`Self::call`] without a body, giving up after `timeout` (an error then).
    pub fn call_with_timeout(
        &self,
        method: &str,
        path: &str,
        timeout: Duration,
    ) -> Result<Reply, StartError> {
        crate::loopback::call(
            self.address,
            Some(&self.shared.token),
            &crate::loopback::Call {
                method,
                path,
                content_type: "application/json",
                body: None,
                timeout,
            },
        )
    }

    /// [`Self::call`] with a JSON body.
    pub fn call_json(&self, method: &str, path: &str, body: &Json) -> Result<Reply, StartError> {
        self.call(method, path, None, Some(&body.to_string()))
    }
}

/// A kubeconfig for a server at `url` with a bearer token.
pub fn kubeconfig(url: &str, token: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: dbplan-fake\n  cluster:\n    server: {url}\ncontexts:\n- name: dbplan-fake\n  context:\n    cluster: dbplan-fake\n    user: dbplan-fake\n    namespace: default\ncurrent-context: dbplan-fake\nusers:\n- name: dbplan-fake\n  user:\n    token: {token}\npreferences: {{}}\n"
    )
}

impl Drop for FakeKubernetes {
    fn drop(&mut self) {
        self.shared.stopping.send_replace(true);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
