//! Connections to a PostgreSQL server: settings from the `PostgresServer` record, the
//! administrator's password from the environment, TLS per `sslmode`, retries with backoff
//! while the server is not reachable yet, and bounded waits: each step of opening a
//! connection, and each statement, fails after its timeout ([`crate::timeouts`]) with an error
//! naming the step, `host:port` and the variable to raise.

use crate::auth_guard::{AuthGuard, Method, Refused, Watch, refused_in};
use crate::timeouts::{CONNECT_VARIABLE, LONG_STATEMENT_VARIABLE, READ_VARIABLE, Timeouts, shown};
use dbplan_core::ResourceAddress;
use dbplan_core::kinds::postgres_server;
use dbplan_provider::{ProviderError, Recorded};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio_postgres::config::SslMode as PgSslMode;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{Client, Row};

/// A function that reads an environment variable.
pub type Env = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// How to reach a server, as a `PostgresServer` declares it.
#[derive(Clone, PartialEq)]
pub(crate) struct Server {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) database: String,
    pub(crate) admin_user: String,
    pub(crate) password: Option<String>,
    pub(crate) sslmode: String,
    pub(crate) sslrootcert: Option<String>,
    /// CA certificates (PEM) the server's operator gave, trusted when `sslrootcert` is not
    /// set: a DigitalOcean cluster's CA, read from its API.
    pub(crate) ca_pem: Option<String>,
    /// The local end of a tunnel the TCP connection is opened at instead of `host:port`.
    pub(crate) via: Option<(String, u16)>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("admin_user", &self.admin_user)
            .field("password", &self.password.as_ref().map(|_| "(sensitive)"))
            .field("sslmode", &self.sslmode)
            .field("via", &self.via)
            .finish()
    }
}

impl Server {
    /// The server a `PostgresServer` object describes: plain attributes, and the password
    /// either given (at create, read from the environment by the engine) or read from the
    /// environment variable the object names (`admin_password_env`), else `PGPASSWORD`.
    pub(crate) fn from_typed(
        address: &ResourceAddress,
        server: postgres_server::Server,
        password: Option<String>,
        env: &Env,
    ) -> Result<Server, ProviderError> {
        let password_env = server.admin_password_env.as_deref();
        let host = server.host.clone().ok_or_else(|| ProviderError::Conflict {
            address: address.clone(),
            message: "the server has no host recorded; apply its PostgresServer first".to_owned(),
            source: None,
        })?;
        let port = server
            .port
            .and_then(|port| u16::try_from(port).ok())
            .unwrap_or(5432);
        let password = match (password, password_env) {
            (Some(password), _) => Some(password),
            (None, Some(variable)) => Some(env(variable).ok_or_else(|| {
                ProviderError::Credentials {
                    address: address.clone(),
                    message: format!(
                        "the administrator's password comes from the environment variable {variable}, which is not set; set it and run the command again"
                    ),
                    source: None,
                }
            })?),
            (None, None) => env("PGPASSWORD"),
        };
        Ok(Server {
            host,
            port,
            database: server.database.unwrap_or_else(|| "postgres".to_owned()),
            admin_user: server.admin_user.unwrap_or_default(),
            password,
            sslmode: server.sslmode.unwrap_or_else(|| "require".to_owned()),
            sslrootcert: server.sslrootcert,
            ca_pem: None,
            via: server.connect_via.map(|via| (via.host, via.port)),
        })
    }

    /// The server of a recorded `PostgresServer` (the context of a tenant's parts).
    pub(crate) fn from_recorded(
        address: &ResourceAddress,
        recorded: &Recorded,
        env: &Env,
    ) -> Result<Server, ProviderError> {
        Server::from_typed(address, recorded.decode(address)?, None, env)
    }

    /// The `sslmode` query parameter for a client URI to this server.
    pub(crate) fn client_sslmode(&self) -> &str {
        &self.sslmode
    }

    /// `host:port` for messages (`[host]:port` for an IPv6 address), and the tunnel's local end
    /// when it is reached through one.
    pub(crate) fn target(&self) -> String {
        let endpoint = |host: &str, port: u16| {
            if host.contains(':') {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            }
        };
        match &self.via {
            Some((host, port)) => format!(
                "{} (through {})",
                endpoint(&self.host, self.port),
                endpoint(host, *port)
            ),
            None => endpoint(&self.host, self.port),
        }
    }

    /// Where the TCP connection is opened: the tunnel's local end, else `host:port`.
    fn dial(&self) -> (&str, u16) {
        self.via
            .as_ref()
            .map_or((self.host.as_str(), self.port), |(host, port)| {
                (host.as_str(), *port)
            })
    }
}

/// An open connection, with the bounds its statements are held to.
pub(crate) struct Connection {
    client: Client,
    /// `host:port`, for messages.
    target: String,
    timeouts: Timeouts,
    /// Set when a statement outlived the client's bound: the server may still answer it later,
    /// so the connection is never reused.
    broken: AtomicBool,
}

/// Parameters of a statement.
type Parameters<'a> = &'a [&'a (dyn tokio_postgres::types::ToSql + Sync)];

impl Connection {
    fn is_usable(&self) -> bool {
        !self.broken.load(Ordering::SeqCst) && !self.client.is_closed()
    }

    /// Waits for the answer to a request the server bounds at `limit` (`statement_timeout`),
    /// and a little longer on the client side: a server that stopped answering altogether
    /// never applies its own limit. `variable` names the setting in the error.
    async fn bounded<T>(
        &self,
        address: &ResourceAddress,
        limit: Duration,
        variable: &str,
        request: impl Future<Output = Result<T, tokio_postgres::Error>>,
    ) -> Result<Result<T, tokio_postgres::Error>, ProviderError> {
        let bound = Timeouts::client_bound(limit);
        match tokio::time::timeout(bound, request).await {
            Ok(result) => Ok(result),
            Err(_) => {
                self.broken.store(true, Ordering::SeqCst);
                Err(ProviderError::Transport {
                    address: address.clone(),
                    message: format!(
                        "{}: a statement timed out after {}: the server did not answer ({variable} is {}); check that the server is running and not overloaded, or raise {variable}",
                        self.target,
                        shown(bound),
                        shown(limit)
                    ),
                    source: None,
                })
            }
        }
    }

    /// A server's error as a provider error; a statement the server cancelled at its
    /// `statement_timeout` says which setting to raise.
    fn error(
        &self,
        address: &ResourceAddress,
        error: tokio_postgres::Error,
        limit: Duration,
        variable: &str,
    ) -> ProviderError {
        let mut converted = api_error(address, error);
        if let ProviderError::Api {
            code: Some(code),
            message,
            ..
        } = &mut converted
            && &**code == "57014"
            && message.contains("statement timeout")
        {
            message.push_str(&format!(
                "; the statement ran longer than {} ({variable}) at {}; raise {variable} if the server is only slow",
                shown(limit),
                self.target
            ));
        }
        converted
    }

    /// Runs statements (simple query protocol) within the statement bound; `what` names them
    /// in logs (statements are logged without values that could be secret: a role's password
    /// is never part of `what`).
    pub(crate) async fn execute(
        &self,
        address: &ResourceAddress,
        what: &str,
        statement: &str,
    ) -> Result<(), ProviderError> {
        tracing::debug!(address = %address, "{what}");
        self.batch(address, statement)
            .await?
            .map_err(|error| self.api_error(address, error))
    }

    /// Like [`Connection::execute`], returning the server's error to the caller, which may
    /// expect some (a role created meanwhile).
    pub(crate) async fn batch(
        &self,
        address: &ResourceAddress,
        statement: &str,
    ) -> Result<Result<(), tokio_postgres::Error>, ProviderError> {
        let limit = self.timeouts.statement;
        self.bounded(
            address,
            limit,
            READ_VARIABLE,
            self.client.batch_execute(statement),
        )
        .await
    }

    /// Runs one statement that may take long (`CREATE DATABASE`, `DROP DATABASE`, which copy
    /// or remove files) within the long-statement bound, then restores the session's
    /// `statement_timeout`.
    pub(crate) async fn execute_long(
        &self,
        address: &ResourceAddress,
        what: &str,
        statement: &str,
    ) -> Result<(), ProviderError> {
        let long = self.timeouts.long_statement;
        self.execute(
            address,
            "statement_timeout for a long statement",
            &statement_timeout(long),
        )
        .await?;
        tracing::debug!(address = %address, "{what}");
        let result = self
            .bounded(
                address,
                long,
                LONG_STATEMENT_VARIABLE,
                self.client.batch_execute(statement),
            )
            .await?
            .map_err(|error| self.error(address, error, long, LONG_STATEMENT_VARIABLE));
        self.execute(
            address,
            "statement_timeout restored",
            &statement_timeout(self.timeouts.statement),
        )
        .await?;
        result
    }

    /// A server's error to a statement run within the statement bound.
    pub(crate) fn api_error(
        &self,
        address: &ResourceAddress,
        error: tokio_postgres::Error,
    ) -> ProviderError {
        self.error(address, error, self.timeouts.statement, READ_VARIABLE)
    }

    pub(crate) async fn query(
        &self,
        address: &ResourceAddress,
        statement: &str,
        parameters: Parameters<'_>,
    ) -> Result<Vec<Row>, ProviderError> {
        let limit = self.timeouts.statement;
        self.bounded(
            address,
            limit,
            READ_VARIABLE,
            self.client.query(statement, parameters),
        )
        .await?
        .map_err(|error| self.api_error(address, error))
    }

    pub(crate) async fn query_opt(
        &self,
        address: &ResourceAddress,
        statement: &str,
        parameters: Parameters<'_>,
    ) -> Result<Option<Row>, ProviderError> {
        let limit = self.timeouts.statement;
        self.bounded(
            address,
            limit,
            READ_VARIABLE,
            self.client.query_opt(statement, parameters),
        )
        .await?
        .map_err(|error| self.api_error(address, error))
    }

    pub(crate) async fn query_one(
        &self,
        address: &ResourceAddress,
        statement: &str,
        parameters: Parameters<'_>,
    ) -> Result<Row, ProviderError> {
        let limit = self.timeouts.statement;
        self.bounded(
            address,
            limit,
            READ_VARIABLE,
            self.client.query_one(statement, parameters),
        )
        .await?
        .map_err(|error| self.api_error(address, error))
    }

    /// Runs one statement with parameters; the number of rows it affected.
    pub(crate) async fn execute_with(
        &self,
        address: &ResourceAddress,
        statement: &str,
        parameters: Parameters<'_>,
    ) -> Result<u64, ProviderError> {
        let limit = self.timeouts.statement;
        self.bounded(
            address,
            limit,
            READ_VARIABLE,
            self.client.execute(statement, parameters),
        )
        .await?
        .map_err(|error| self.api_error(address, error))
    }
}

/// `SET statement_timeout` to a bound, in milliseconds (at least 1: 0 would disable it).
fn statement_timeout(limit: Duration) -> String {
    format!("SET statement_timeout = {}", limit.as_millis().max(1))
}

/// A server's error as a provider error: its SQLSTATE code, message, detail and hint; or the
/// transport failure. tokio-postgres's error is kept as the cause.
pub(crate) fn api_error(address: &ResourceAddress, error: tokio_postgres::Error) -> ProviderError {
    let Some(database_error) = error.as_db_error() else {
        return ProviderError::Transport {
            address: address.clone(),
            message: error_chain(&error),
            source: Some(Box::new(error)),
        };
    };
    let mut message = database_error.message().to_owned();
    if let Some(detail) = database_error.detail() {
        message.push_str(&format!(" ({detail})"));
    }
    if let Some(hint) = database_error.hint() {
        message.push_str(&format!("; {hint}"));
    }
    let code = database_error.code().code().into();
    ProviderError::Api {
        address: address.clone(),
        code: Some(code),
        message,
        source: Some(Box::new(error)),
    }
}

/// Idle connections to servers' administration databases, reused across calls: a tenant's
/// parts and a refresh of many tenants would otherwise each pay for a connection and a SCRAM
/// handshake. Connections to tenants' own databases are never pooled (dropping a database
/// must not find dbplan's own session in it).
pub(crate) struct Pool {
    idle: std::sync::Mutex<Vec<(Server, Connection)>>,
    /// Bounds the administration connections in use at once, whatever the apply's
    /// parallelism, so that dbplan stays well below a server's `max_connections`.
    in_use: Arc<tokio::sync::Semaphore>,
    /// The bounds of every connection, or why the environment's are not valid.
    timeouts: Result<Timeouts, String>,
}

/// At most this many administration connections are open (in use or idle).
const POOL_SIZE: usize = 16;

/// A connection borrowed from the pool; it goes back when dropped, unless it was closed or a
/// statement on it timed out.
pub(crate) struct Pooled<'a> {
    pool: &'a Pool,
    server: Server,
    connection: Option<Connection>,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = Connection;

    fn deref(&self) -> &Connection {
        // Always `Some` until drop.
        match &self.connection {
            Some(connection) => connection,
            None => unreachable_connection(),
        }
    }
}

#[allow(clippy::panic)]
fn unreachable_connection() -> ! {
    panic!("a pooled connection is used after it was returned")
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(connection) = self.connection.take()
            && connection.is_usable()
            && let Ok(mut idle) = self.pool.idle.lock()
            && idle.len() < POOL_SIZE
        {
            idle.push((self.server.clone(), connection));
        }
    }
}

impl Pool {
    /// A pool whose connections keep to `timeouts` (an error: every connection fails with it).
    pub(crate) fn new(timeouts: Result<Timeouts, String>) -> Pool {
        Pool {
            idle: std::sync::Mutex::new(Vec::new()),
            in_use: Arc::new(tokio::sync::Semaphore::new(POOL_SIZE)),
            timeouts,
        }
    }

    fn timeouts(&self, address: &ResourceAddress) -> Result<Timeouts, ProviderError> {
        self.timeouts
            .clone()
            .map_err(|message| ProviderError::Conflict {
                address: address.clone(),
                message,
                source: None,
            })
    }

    /// A connection to the server's administration database.
    pub(crate) async fn admin(
        &self,
        address: &ResourceAddress,
        server: &Server,
    ) -> Result<Pooled<'_>, ProviderError> {
        let timeouts = self.timeouts(address)?;
        let permit = Arc::clone(&self.in_use)
            .acquire_owned()
            .await
            .map_err(|error| ProviderError::Transport {
                address: address.clone(),
                message: "the connection pool was closed".to_owned(),
                source: Some(Box::new(error)),
            })?;
        let reused = self.idle.lock().ok().and_then(|mut idle| {
            let position = idle.iter().position(|(candidate, connection)| {
                candidate == server && connection.is_usable()
            })?;
            Some(idle.swap_remove(position).1)
        });
        // An idle connection the server has ended since (a restart, `idle_session_timeout`),
        // or that stopped answering, is noticed here, not by the statement that needs it.
        let alive = match reused {
            Some(connection) => {
                let ping = connection.client.simple_query("");
                matches!(
                    tokio::time::timeout(timeouts.connect, ping).await,
                    Ok(Ok(_))
                )
                .then_some(connection)
            }
            None => None,
        };
        let connection = match alive {
            Some(connection) => connection,
            None => connect(address, server, &server.database, timeouts).await?,
        };
        Ok(Pooled {
            pool: self,
            server: server.clone(),
            connection: Some(connection),
            _permit: permit,
        })
    }

    /// A connection of its own (not pooled) to one database of the server.
    pub(crate) async fn connect(
        &self,
        address: &ResourceAddress,
        server: &Server,
        database: &str,
    ) -> Result<Connection, ProviderError> {
        let timeouts = self.timeouts(address)?;
        connect(address, server, database, timeouts).await
    }
}

/// How long connecting keeps trying while the server refuses the connection (it may be
/// starting), and the first pause between attempts (doubled each time, up to 2 s). A step that
/// timed out is not tried again: it has waited its whole bound already. Worst case, a
/// connection therefore takes this deadline plus the bounds of its steps (30 s + 2 × 10 s with
/// the defaults).
const CONNECT_DEADLINE: Duration = Duration::from_secs(30);
const FIRST_PAUSE: Duration = Duration::from_millis(100);

/// Connects to one database of the server as the administrator, and sets the session's
/// `statement_timeout`.
async fn connect(
    address: &ResourceAddress,
    server: &Server,
    database: &str,
    timeouts: Timeouts,
) -> Result<Connection, ProviderError> {
    let mut config = tokio_postgres::Config::new();
    config
        .host(&server.host)
        .port(server.port)
        .user(&server.admin_user)
        .dbname(database)
        .application_name("dbplan");
    if let Some(password) = &server.password {
        config.password(password.as_bytes());
    }
    let started = Instant::now();
    let mut pause = FIRST_PAUSE;
    let client = loop {
        let attempt = connect_once(address, server, &config, timeouts).await;
        match attempt {
            Ok(client) => break client,
            Err((error, true)) if started.elapsed() + pause < CONNECT_DEADLINE => {
                tracing::debug!(address = %address, "server not reachable yet, retrying: {error}");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
            Err((error, _)) => return Err(error),
        }
    };
    let connection = Connection {
        client,
        target: server.target(),
        timeouts,
        broken: AtomicBool::new(false),
    };
    connection
        .execute(
            address,
            "statement_timeout",
            &statement_timeout(timeouts.statement),
        )
        .await?;
    Ok(connection)
}

/// A step of opening a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    /// The TCP connection (with the name's resolution).
    Connect,
    /// The TLS request and handshake.
    Tls,
    /// The startup message and the authentication exchange.
    Authentication,
}

/// How far a connection attempt got, as tokio-postgres calls its TLS connector: it asks for
/// one once the TCP connection is made, and the handshake ends when the connector's future
/// does.
#[derive(Debug, Default)]
struct Progress {
    connected: std::sync::OnceLock<Instant>,
    encrypted: AtomicBool,
}

impl Progress {
    /// The step under way, whether TLS is asked for (`sslmode` other than `disable`).
    fn step(&self, tls: bool) -> Step {
        if self.connected.get().is_none() {
            Step::Connect
        } else if tls && !self.encrypted.load(Ordering::SeqCst) {
            Step::Tls
        } else {
            Step::Authentication
        }
    }

    /// When the step under way runs out: each step has the connect bound of its own.
    fn deadline(&self, started: Instant, bound: Duration) -> Instant {
        self.connected.get().copied().unwrap_or(started) + bound
    }
}

/// A TLS connector that reports the progress of the connection to [`Progress`], and puts an
/// [`AuthGuard`] on the decrypted stream when the server is not verified.
struct Tracked<T> {
    inner: T,
    progress: Arc<Progress>,
    guarded: bool,
}

impl<S, T> MakeTlsConnect<S> for Tracked<T>
where
    T: MakeTlsConnect<S>,
    T::TlsConnect: Send + 'static,
    <T::TlsConnect as TlsConnect<S>>::Future: Send + 'static,
{
    type Stream = AuthGuard<T::Stream>;
    type TlsConnect = Tracked<T::TlsConnect>;
    type Error = T::Error;

    fn make_tls_connect(&mut self, domain: &str) -> Result<Self::TlsConnect, Self::Error> {
        let _ = self.progress.connected.set(Instant::now());
        Ok(Tracked {
            inner: self.inner.make_tls_connect(domain)?,
            progress: Arc::clone(&self.progress),
            guarded: self.guarded,
        })
    }
}

impl<S, T> TlsConnect<S> for Tracked<T>
where
    T: TlsConnect<S>,
    T::Future: Send + 'static,
{
    type Stream = AuthGuard<T::Stream>;
    type Error = T::Error;
    type Future =
        std::pin::Pin<Box<dyn Future<Output = Result<AuthGuard<T::Stream>, T::Error>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        let handshake = self.inner.connect(stream);
        let progress = self.progress;
        let watch = if self.guarded {
            Watch::Messages
        } else {
            Watch::Off
        };
        Box::pin(async move {
            let stream = handshake.await?;
            progress.encrypted.store(true, Ordering::SeqCst);
            Ok(AuthGuard::new(stream, watch))
        })
    }
}

/// Why one connection attempt failed.
enum Failure {
    /// The TCP connection.
    Tcp(std::io::Error),
    /// The TLS connector refused the host name.
    Setup(dbplan_provider::Cause),
    /// The TLS handshake, the startup or the authentication.
    Postgres(tokio_postgres::Error),
}

/// Opens the TCP connection itself (so that the guard can watch a plaintext stream) and runs
/// the TLS request, startup and authentication over it.
async fn open<T>(
    server: &Server,
    config: &tokio_postgres::Config,
    mut connector: T,
    watch: Watch,
) -> Result<Client, Failure>
where
    T: MakeTlsConnect<AuthGuard<tokio::net::TcpStream>>,
    T::Stream: Send + 'static,
{
    // Through a tunnel, the TCP connection goes to its local end; TLS below still verifies the
    // server's own name.
    let tcp = tokio::net::TcpStream::connect(server.dial())
        .await
        .map_err(Failure::Tcp)?;
    // As tokio-postgres does: requests are small and answered one by one.
    tcp.set_nodelay(true).map_err(Failure::Tcp)?;
    let tls = connector
        .make_tls_connect(&server.host)
        .map_err(|error| Failure::Setup(error.into()))?;
    let (client, connection) = config
        .connect_raw(AuthGuard::new(tcp, watch), tls)
        .await
        .map_err(Failure::Postgres)?;
    tokio::spawn(connection);
    Ok(client)
}

/// Waits for a connection attempt, each step within `bound`; the step that ran out otherwise.
async fn within_steps<F: Future>(
    progress: &Progress,
    tls: bool,
    bound: Duration,
    attempt: F,
) -> Result<F::Output, Step> {
    let started = Instant::now();
    let mut attempt = std::pin::pin!(attempt);
    loop {
        let deadline = progress.deadline(started, bound);
        match tokio::time::timeout_at(deadline.into(), attempt.as_mut()).await {
            Ok(output) => return Ok(output),
            // The next step may have begun meanwhile, with a bound of its own.
            Err(_) if progress.deadline(started, bound) > Instant::now() => {}
            Err(_) => return Err(progress.step(tls)),
        }
    }
}

/// The error of a step that ran out of time.
fn step_timeout(
    address: &ResourceAddress,
    server: &Server,
    step: Step,
    bound: Duration,
) -> ProviderError {
    let target = server.target();
    let limit = shown(bound);
    let message = match step {
        Step::Connect => format!(
            "cannot connect to {target}: the TCP connection timed out after {limit} ({CONNECT_VARIABLE}); check the PostgresServer's host and port and that no firewall or security group drops dbplan's connections, or raise {CONNECT_VARIABLE}"
        ),
        Step::Tls => format!(
            "{target} accepted the connection, but the TLS handshake{} (sslmode {}) timed out after {limit} ({CONNECT_VARIABLE}): the server did not answer; check that host and port point at a PostgreSQL server (not another service or a stalled proxy) and that it is not overloaded, or raise {CONNECT_VARIABLE}",
            // Under `prefer`, a server without TLS goes on unencrypted, and the wait may be
            // its authentication: the connector never learns which.
            if server.sslmode == "prefer" {
                " or the authentication"
            } else {
                ""
            },
            server.sslmode
        ),
        Step::Authentication => format!(
            "{target} accepted the connection, but the startup and authentication timed out after {limit} ({CONNECT_VARIABLE}): the server did not answer; check that host and port point at a PostgreSQL server (not another service or a stalled proxy) and that it is not overloaded, or raise {CONNECT_VARIABLE}"
        ),
    };
    ProviderError::Transport {
        address: address.clone(),
        message,
        source: None,
    }
}

/// One attempt; on failure, the error and whether another attempt may succeed.
async fn connect_once(
    address: &ResourceAddress,
    server: &Server,
    config: &tokio_postgres::Config,
    timeouts: Timeouts,
) -> Result<Client, (ProviderError, bool)> {
    let mut config = config.clone();
    let tls = match server.sslmode.as_str() {
        "disable" => {
            config.ssl_mode(PgSslMode::Disable);
            None
        }
        "prefer" => {
            config.ssl_mode(PgSslMode::Prefer);
            Some(tls_config(address, server, false).map_err(|error| (error, false))?)
        }
        "verify-full" => {
            config.ssl_mode(PgSslMode::Require);
            Some(tls_config(address, server, true).map_err(|error| (error, false))?)
        }
        _ => {
            config.ssl_mode(PgSslMode::Require);
            Some(tls_config(address, server, false).map_err(|error| (error, false))?)
        }
    };
    let progress = Arc::new(Progress::default());
    let encrypted = tls.is_some();
    let bound = timeouts.connect;
    // Only a verified server is trusted with a password it asks for in clear text or as MD5.
    let guarded = server.sslmode != "verify-full";
    let watch = match (guarded, encrypted) {
        (false, _) => Watch::Off,
        // The server answers the TLS request with one byte before anything else.
        (true, true) => Watch::TlsAnswer,
        (true, false) => Watch::Messages,
    };
    let result = match tls {
        None => {
            let connector = Tracked {
                inner: tokio_postgres::NoTls,
                progress: Arc::clone(&progress),
                guarded,
            };
            within_steps(
                &progress,
                false,
                bound,
                open(server, &config, connector, watch),
            )
            .await
        }
        Some(tls) => {
            let connector = Tracked {
                inner: tokio_postgres_rustls::MakeRustlsConnect::new(tls),
                progress: Arc::clone(&progress),
                guarded,
            };
            within_steps(
                &progress,
                encrypted,
                bound,
                open(server, &config, connector, watch),
            )
            .await
        }
    };
    attempt_outcome(address, server, &progress, encrypted, bound, result)
}

/// What one attempt came to: the client, or the error and whether another attempt may succeed.
fn attempt_outcome(
    address: &ResourceAddress,
    server: &Server,
    progress: &Progress,
    encrypted: bool,
    bound: Duration,
    result: Result<Result<Client, Failure>, Step>,
) -> Result<Client, (ProviderError, bool)> {
    match result {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(Failure::Postgres(error))) => {
            if let Some(refused) = refused_in(&error) {
                return Err((refused_error(address, server, refused), false));
            }
            if is_timeout(&error) {
                let step = progress.step(encrypted);
                return Err((step_timeout(address, server, step, bound), false));
            }
            let transient = is_transient(&error);
            Err((connect_error(address, server, error), transient))
        }
        Ok(Err(Failure::Tcp(error))) => {
            if error.kind() == std::io::ErrorKind::TimedOut {
                return Err((step_timeout(address, server, Step::Connect, bound), false));
            }
            let transient = matches!(
                error.kind(),
                std::io::ErrorKind::ConnectionRefused
                    | std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
            );
            Err((
                ProviderError::Transport {
                    address: address.clone(),
                    message: format!(
                        "cannot connect to {} (sslmode {}): {error}",
                        server.target(),
                        server.sslmode
                    ),
                    source: Some(Box::new(error)),
                },
                transient,
            ))
        }
        Ok(Err(Failure::Setup(error))) => Err((
            ProviderError::Transport {
                address: address.clone(),
                message: format!(
                    "cannot set up TLS for {} (sslmode {}): {error}",
                    server.target(),
                    server.sslmode
                ),
                source: Some(error),
            },
            false,
        )),
        // A step that timed out has waited its whole bound; it is not tried again.
        Err(step) => Err((step_timeout(address, server, step, bound), false)),
    }
}

/// The error of a connection whose server asked for a password method dbplan refuses: what
/// happened (the password was not sent) and the two ways out.
fn refused_error(address: &ResourceAddress, server: &Server, refused: Refused) -> ProviderError {
    let (asked, hba) = match refused.method {
        Method::Cleartext => (
            "the administrator's password in clear text",
            "`password` method",
        ),
        Method::Md5 => (
            "the administrator's password as an MD5 hash",
            "`md5` method with a password stored as MD5",
        ),
    };
    ProviderError::Conflict {
        address: address.clone(),
        message: format!(
            "the server at {} asked for {asked} ({hba} in pg_hba.conf) over a connection whose server is not verified (sslmode {}); dbplan did not send it. Switch that pg_hba.conf entry to `scram-sha-256` (with `password_encryption = scram-sha-256`, then set the password of {:?} again), or connect with `sslmode: verify-full` and `sslrootcert` so that dbplan knows it talks to your server",
            server.target(),
            server.sslmode,
            server.admin_user
        ),
        source: None,
    }
}

/// Whether a failure is a timeout (tokio-postgres's bound of the TCP connection, or the
/// system's).
fn is_timeout(error: &tokio_postgres::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            return io.kind() == std::io::ErrorKind::TimedOut;
        }
        source = cause.source();
    }
    false
}

/// Whether a failed connection may succeed when tried again: the server refused, reset or
/// closed it (it may be starting), or said it is starting up. A TLS or authentication failure
/// will not change by waiting, and a timeout has waited long enough.
fn is_transient(error: &tokio_postgres::Error) -> bool {
    if let Some(database_error) = error.as_db_error() {
        // 57P03 cannot_connect_now: the database system is starting up.
        return database_error.code().code() == "57P03";
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(cause) = source {
        if let Some(io) = cause.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind;
            return matches!(
                io.kind(),
                ErrorKind::ConnectionRefused
                    | ErrorKind::ConnectionReset
                    | ErrorKind::ConnectionAborted
                    | ErrorKind::UnexpectedEof
            );
        }
        source = cause.source();
    }
    false
}

/// A failed connection as a provider error, tokio-postgres's error kept as the cause.
fn connect_error(
    address: &ResourceAddress,
    server: &Server,
    error: tokio_postgres::Error,
) -> ProviderError {
    let target = server.target();
    let Some(database_error) = error.as_db_error() else {
        return ProviderError::Transport {
            address: address.clone(),
            message: format!(
                "cannot connect to {target} (sslmode {}): {}",
                server.sslmode,
                error_chain(&error)
            ),
            source: Some(Box::new(error)),
        };
    };
    let code: Box<str> = database_error.code().code().into();
    // 28P01 invalid_password, 28000 invalid_authorization_specification.
    if code.starts_with("28") {
        return ProviderError::Credentials {
            address: address.clone(),
            message: format!(
                "the server at {target} refused {:?}: {}; check admin_user and the password variable",
                server.admin_user,
                database_error.message()
            ),
            source: Some(Box::new(error)),
        };
    }
    let message = format!("{target}: {}", database_error.message());
    ProviderError::Api {
        address: address.clone(),
        code: Some(code),
        message,
        source: Some(Box::new(error)),
    }
}

/// An error and its sources, one line.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    dbplan_core::causes::error_chain(error)
}

/// The TLS configuration for `server` (see `dbplan_pgtls`): a set-up failure is a transport
/// error, a CA file that cannot be used a conflict to fix in the manifest.
fn tls_config(
    address: &ResourceAddress,
    server: &Server,
    verify: bool,
) -> Result<rustls::ClientConfig, ProviderError> {
    let roots = match (&server.sslrootcert, &server.ca_pem) {
        (Some(path), _) => dbplan_pgtls::Roots::File(std::path::Path::new(path)),
        (None, Some(pem)) => dbplan_pgtls::Roots::Pem {
            pem,
            origin: "the cluster's API",
        },
        (None, None) => dbplan_pgtls::Roots::System,
    };
    dbplan_pgtls::client_config_with(verify, roots).map_err(|error| match error {
        dbplan_pgtls::TlsSetupError::Setup(_) => ProviderError::Transport {
            address: address.clone(),
            message: error.to_string(),
            source: Some(Box::new(error)),
        },
        _ => ProviderError::Conflict {
            address: address.clone(),
            message: error.to_string(),
            source: Some(Box::new(error)),
        },
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::expect_used)]
    use super::*;

    fn server() -> Server {
        Server {
            host: "127.0.0.1".to_owned(),
            port: 1,
            database: "postgres".to_owned(),
            admin_user: "dbplan".to_owned(),
            password: None,
            sslmode: "disable".to_owned(),
            sslrootcert: None,
            ca_pem: None,
            via: None,
        }
    }

    #[test]
    fn a_refused_connection_says_so_and_keeps_the_system_error_as_its_cause() {
        let refused = std::io::Error::from(std::io::ErrorKind::ConnectionRefused);
        let text = refused.to_string();
        let (error, transient) = attempt_outcome(
            &"PostgresServer/main".parse().unwrap(),
            &server(),
            &Progress::default(),
            false,
            Duration::from_secs(1),
            Ok(Err(Failure::Tcp(refused))),
        )
        .expect_err("a refused connection is an error");
        assert!(transient, "a refused connection may be tried again");
        assert!(matches!(error, ProviderError::Transport { .. }), "{error}");
        assert_eq!(
            error.to_string(),
            format!("PostgresServer/main: cannot connect to 127.0.0.1:1 (sslmode disable): {text}")
        );
        let cause = std::error::Error::source(&error)
            .and_then(|cause| cause.downcast_ref::<std::io::Error>())
            .map(std::io::Error::kind);
        assert_eq!(cause, Some(std::io::ErrorKind::ConnectionRefused));
    }
}
