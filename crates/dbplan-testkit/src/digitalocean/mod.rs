//! A stateful fake of DigitalOcean's API v2 (databases, VPCs and the tags a cluster carries),
//! written from DigitalOcean's OpenAPI specification: the same paths, request and response
//! bodies, status codes (`201` create, `202` resize, `204` updates and deletes), `{id, message,
//! request_id}` errors and `ratelimit-*` headers on every answer.
//!
//! It keeps what a client creates, moves clusters from `creating` to `online` (and `resizing`
//! back to `online`) after configurable delays, checks requests against the engine options
//! DigitalOcean publishes (`GET /v2/databases/options`, served from dbplan's snapshot), and can
//! inject faults: `429` with `ratelimit-reset` (and sometimes `retry-after`), `5xx`, and answers
//! that stall past a client's timeout after the request took effect.
//!
//! With a [`SqlBackend`], a real PostgreSQL server stands in for the nodes of its `pg` clusters:
//! their connection and CA are that server's, and the users and databases made through the API
//! are made on it, so that a client can log in as DigitalOcean's users do.
//!
//! Two endpoints outside the API serve tests: `GET /_fake/stats` (requests served, faults
//! injected) and `PUT /_fake/faults` (change the fault settings of a running server).

mod api;
mod model;

use crate::StartError;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use model::Stats;

/// Which faults the fake injects, and how often.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Faults {
    /// The share of API requests (0.0 to 1.0) that get a fault instead of their answer.
    pub rate: f64,
    /// Inject `429 too_many_requests` (half with `retry-after`, half with only `ratelimit-reset`).
    pub rate_limit: bool,
    /// Inject `500`, `502` or `503`; half of them after the request took effect.
    pub server_error: bool,
    /// Inject stalls: the request takes effect, then the answer waits this long (longer than the
    /// client's timeout, so the client sees a timeout for a request that did happen).
    pub stall: Option<Duration>,
    /// Seed of the fault draws.
    pub seed: u64,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            rate: 0.0,
            rate_limit: true,
            server_error: true,
            stall: None,
            seed: 7,
        }
    }
}

/// How the fake behaves.
#[derive(Clone, Debug)]
pub struct FakeConfig {
    /// The bearer token the API accepts; `None` accepts any non-empty token.
    pub token: Option<String>,
    /// How long a new cluster stays `creating`.
    pub create_delay: Duration,
    /// How long a resized cluster stays `resizing`.
    pub resize_delay: Duration,
    /// Added to every API request (network and API latency).
    pub latency: Duration,
    pub faults: Faults,
    /// Start with a default VPC in every region, as an account that has used them has; without
    /// them, the first VPC created in a region becomes its default (which cannot be deleted).
    pub default_vpcs: bool,
    /// A real PostgreSQL server behind the `pg` clusters; without one, users and databases
    /// exist only in the API.
    pub sql: Option<SqlBackend>,
}

/// A real PostgreSQL server standing in for the nodes of the fake's `pg` clusters: their
/// `connection` names `host` (port 25060, as DigitalOcean's), their `ca` endpoint returns
/// `ca_pem`, and `execute` (SQL run as the server's superuser) makes on it what the API does:
/// each new cluster's `doadmin` (LOGIN, CREATEDB, CREATEROLE, not a superuser, as DigitalOcean
/// makes it), the users added (LOGIN, with the password the API generates) and the databases
/// added (owned by `doadmin`), and drops the users and databases deleted. An error of
/// `execute` (PostgreSQL's message) is the API's `422`, and nothing changes in the API.
#[derive(Clone)]
pub struct SqlBackend {
    pub host: String,
    pub ca_pem: String,
    #[allow(clippy::type_complexity)]
    pub execute: Arc<dyn Fn(&str) -> Result<(), String> + Send + Sync>,
}

impl std::fmt::Debug for SqlBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqlBackend")
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl SqlBackend {
    /// `server` (started with TLS) behind clusters whose host is `host`, a name its
    /// certificate holds.
    pub fn postgres(server: &crate::PgServer, host: &str) -> Result<SqlBackend, StartError> {
        let ca_pem = std::fs::read_to_string(server.ca_file()).map_err(|error| {
            StartError(format!(
                "the server's CA certificate {}: {error}",
                server.ca_file().display()
            ))
        })?;
        let runner = server.runner();
        Ok(SqlBackend {
            host: host.to_owned(),
            ca_pem,
            execute: Arc::new(move |sql| runner("postgres", sql).map(drop)),
        })
    }
}

impl Default for FakeConfig {
    fn default() -> Self {
        FakeConfig {
            token: None,
            create_delay: Duration::from_millis(500),
            resize_delay: Duration::from_millis(300),
            latency: Duration::ZERO,
            faults: Faults::default(),
            default_vpcs: true,
            sql: None,
        }
    }
}

/// A running fake, on a loopback port; it stops when dropped.
pub struct FakeDigitalOcean {
    address: SocketAddr,
    shared: Arc<api::Shared>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for FakeDigitalOcean {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FakeDigitalOcean({})", self.address)
    }
}

impl FakeDigitalOcean {
    /// Starts the fake on a free loopback port, in a thread of its own.
    pub fn start(config: FakeConfig) -> Result<FakeDigitalOcean, StartError> {
        Self::start_on("127.0.0.1:0", config)
    }

    /// Starts the fake on `listen` (`127.0.0.1:8080`; port 0 picks a free one).
    pub fn start_on(listen: &str, config: FakeConfig) -> Result<FakeDigitalOcean, StartError> {
        let listener = std::net::TcpListener::bind(listen)
            .map_err(|error| StartError(format!("cannot listen on {listen}: {error}")))?;
        listener
            .set_nonblocking(true)
            .map_err(|error| StartError(format!("cannot listen on {listen}: {error}")))?;
        let address = listener
            .local_addr()
            .map_err(|error| StartError(error.to_string()))?;
        let shared = Arc::new(api::Shared::new(config));
        let router = api::router(shared.clone());
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let (ready, started) = std::sync::mpsc::channel::<Result<(), String>>();
        let thread = std::thread::Builder::new()
            .name("fake-digitalocean".to_owned())
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
                    let _ = ready.send(Ok(()));
                    let _ = axum::serve(listener, router)
                        .with_graceful_shutdown(async {
                            let _ = stopped.await;
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
        Ok(FakeDigitalOcean {
            address,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// The base URL, for `DIGITALOCEAN_API_URL`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Requests served so far, and the faults injected.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Changes the faults of the running server.
    pub fn set_faults(&self, faults: Faults) {
        self.shared.set_faults(faults);
    }

    /// Changes the delays of the running server.
    pub fn set_delays(&self, create: Duration, resize: Duration) {
        self.shared.set_delays(create, resize);
    }

    /// Changes the latency added to every request.
    pub fn set_latency(&self, latency: Duration) {
        self.shared.set_latency(latency);
    }

    /// Every password the fake has handed out (for tests that check none leaks).
    pub fn passwords(&self) -> Vec<String> {
        self.shared.passwords()
    }

    /// Sends one API request, as another client of the account would (`doctl`, the control
    /// panel): how tests change things behind dbplan's back and look at the result. Returns
    /// the status and the JSON body (`null` when there is none).
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(u16, serde_json::Value), StartError> {
        let token = self
            .shared
            .token()
            .unwrap_or_else(|| "test-client".to_owned());
        let payload = body.map(ToString::to_string);
        let reply = crate::loopback::call(
            self.address,
            Some(&token),
            &crate::loopback::Call {
                method,
                path,
                content_type: "application/json",
                body: payload.as_deref(),
                timeout: std::time::Duration::from_secs(60),
            },
        )?;
        let json = if reply.text.trim().is_empty() {
            serde_json::Value::Null
        } else {
            serde_json::from_str(&reply.text)
                .map_err(|error| StartError(format!("{method} {path}: {error}: {}", reply.text)))?
        };
        Ok((reply.status, json))
    }

    /// Forgets every object and resets the counters.
    pub fn reset(&self) {
        self.shared.reset();
    }
}

impl Drop for FakeDigitalOcean {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
