//! Connections to a PostgreSQL server: settings from the `PostgresServer` record, the
//! administrator's password from the environment, TLS per `sslmode`, retries with backoff
//! while the server is not reachable yet.

use dbplan_provider::{ProviderError, Recorded};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_postgres::Client;
use tokio_postgres::config::SslMode as PgSslMode;

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
            .finish()
    }
}

fn text(attributes: &BTreeMap<String, serde_json::Value>, name: &str) -> Option<String> {
    attributes.get(name).and_then(|value| match value {
        serde_json::Value::String(text) => Some(text.clone()),
        serde_json::Value::Number(number) => Some(number.to_string()),
        _ => None,
    })
}

impl Server {
    /// The server a `PostgresServer` object describes: plain attributes, and the password
    /// either given (at create, read from the environment by the engine) or read from the
    /// environment variable the object names (`admin_password_env`), else `PGPASSWORD`.
    pub(crate) fn from_attributes(
        address: &str,
        attributes: &BTreeMap<String, serde_json::Value>,
        password: Option<String>,
        env: &Env,
    ) -> Result<Server, ProviderError> {
        let password_env = attributes
            .get("admin_password_env")
            .and_then(serde_json::Value::as_str);
        let host = text(attributes, "host").ok_or_else(|| ProviderError::Conflict {
            address: address.to_owned(),
            message: "the server has no host recorded; apply its PostgresServer first".to_owned(),
        })?;
        let port = text(attributes, "port")
            .and_then(|port| port.parse().ok())
            .unwrap_or(5432);
        let password = match (password, password_env) {
            (Some(password), _) => Some(password),
            (None, Some(variable)) => Some(env(variable).ok_or_else(|| {
                ProviderError::Credentials {
                    address: address.to_owned(),
                    message: format!(
                        "the administrator's password comes from the environment variable {variable}, which is not set; set it and run the command again"
                    ),
                }
            })?),
            (None, None) => env("PGPASSWORD"),
        };
        Ok(Server {
            host,
            port,
            database: text(attributes, "database").unwrap_or_else(|| "postgres".to_owned()),
            admin_user: text(attributes, "admin_user").unwrap_or_default(),
            password,
            sslmode: text(attributes, "sslmode").unwrap_or_else(|| "require".to_owned()),
            sslrootcert: text(attributes, "sslrootcert"),
        })
    }

    /// The server of a recorded `PostgresServer` (the context of a tenant's parts).
    pub(crate) fn from_recorded(
        address: &str,
        recorded: &Recorded,
        env: &Env,
    ) -> Result<Server, ProviderError> {
        Server::from_attributes(address, &recorded.attributes, None, env)
    }

    /// The `sslmode` query parameter for a client URI to this server.
    pub(crate) fn client_sslmode(&self) -> &str {
        &self.sslmode
    }
}

/// Idle connections to servers' administration databases, reused across calls: a tenant's
/// parts and a refresh of many tenants would otherwise each pay for a connection and a SCRAM
/// handshake. Connections to tenants' own databases are never pooled (dropping a database
/// must not find dbplan's own session in it).
pub(crate) struct Pool {
    idle: std::sync::Mutex<Vec<(Server, Client)>>,
    /// Bounds the administration connections in use at once, whatever the apply's
    /// parallelism, so that dbplan stays well below a server's `max_connections`.
    in_use: Arc<tokio::sync::Semaphore>,
}

impl Default for Pool {
    fn default() -> Self {
        Pool {
            idle: std::sync::Mutex::new(Vec::new()),
            in_use: Arc::new(tokio::sync::Semaphore::new(POOL_SIZE)),
        }
    }
}

/// At most this many administration connections are open (in use or idle).
const POOL_SIZE: usize = 16;

/// A connection borrowed from the pool; it goes back when dropped, unless it was closed.
pub(crate) struct Pooled<'a> {
    pool: &'a Pool,
    server: Server,
    client: Option<Client>,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl std::ops::Deref for Pooled<'_> {
    type Target = Client;

    fn deref(&self) -> &Client {
        // Always `Some` until drop.
        match &self.client {
            Some(client) => client,
            None => unreachable_client(),
        }
    }
}

#[allow(clippy::panic)]
fn unreachable_client() -> ! {
    panic!("a pooled connection is used after it was returned")
}

impl Drop for Pooled<'_> {
    fn drop(&mut self) {
        if let Some(client) = self.client.take()
            && !client.is_closed()
            && let Ok(mut idle) = self.pool.idle.lock()
            && idle.len() < POOL_SIZE
        {
            idle.push((self.server.clone(), client));
        }
    }
}

impl Pool {
    /// A connection to the server's administration database.
    pub(crate) async fn admin(
        &self,
        address: &str,
        server: &Server,
    ) -> Result<Pooled<'_>, ProviderError> {
        let permit = Arc::clone(&self.in_use)
            .acquire_owned()
            .await
            .map_err(|_| ProviderError::Transport {
                address: address.to_owned(),
                message: "the connection pool was closed".to_owned(),
            })?;
        let reused = self.idle.lock().ok().and_then(|mut idle| {
            let position = idle
                .iter()
                .position(|(candidate, client)| candidate == server && !client.is_closed())?;
            Some(idle.swap_remove(position).1)
        });
        // An idle connection the server has ended since (a restart, `idle_session_timeout`)
        // is noticed here, not by the statement that needs it.
        let alive = match reused {
            Some(client) => client.simple_query("").await.is_ok().then_some(client),
            None => None,
        };
        let client = match alive {
            Some(client) => client,
            None => connect(address, server, &server.database).await?,
        };
        Ok(Pooled {
            pool: self,
            server: server.clone(),
            client: Some(client),
            _permit: permit,
        })
    }
}

/// How long connecting keeps trying while the server refuses or times out (it may be
/// starting), and the first pause between attempts (doubled each time, up to 2 s).
const CONNECT_DEADLINE: Duration = Duration::from_secs(30);
const FIRST_PAUSE: Duration = Duration::from_millis(100);

/// Connects to one database of the server as the administrator.
pub(crate) async fn connect(
    address: &str,
    server: &Server,
    database: &str,
) -> Result<Client, ProviderError> {
    let mut config = tokio_postgres::Config::new();
    config
        .host(&server.host)
        .port(server.port)
        .user(&server.admin_user)
        .dbname(database)
        .application_name("dbplan")
        .connect_timeout(Duration::from_secs(10));
    if let Some(password) = &server.password {
        config.password(password.as_bytes());
    }
    let started = Instant::now();
    let mut pause = FIRST_PAUSE;
    loop {
        let attempt = connect_once(address, server, &config).await;
        match attempt {
            Ok(client) => return Ok(client),
            Err((error, true)) if started.elapsed() + pause < CONNECT_DEADLINE => {
                tracing::debug!(address, "server not reachable yet, retrying: {error}");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
            Err((error, _)) => return Err(error),
        }
    }
}

/// One attempt; on failure, the error and whether another attempt may succeed.
async fn connect_once(
    address: &str,
    server: &Server,
    config: &tokio_postgres::Config,
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
    let result = match tls {
        None => config
            .connect(tokio_postgres::NoTls)
            .await
            .map(|(client, connection)| {
                tokio::spawn(connection);
                client
            }),
        Some(tls) => config
            .connect(tokio_postgres_rustls::MakeRustlsConnect::new(tls))
            .await
            .map(|(client, connection)| {
                tokio::spawn(connection);
                client
            }),
    };
    result.map_err(|error| (connect_error(address, server, &error), is_transient(&error)))
}

/// Whether a failed connection may succeed when tried again: the server refused, reset or did
/// not answer (it may be starting), or said it is starting up. A TLS or authentication failure
/// will not change by waiting.
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
                    | ErrorKind::TimedOut
                    | ErrorKind::UnexpectedEof
            );
        }
        source = cause.source();
    }
    error.to_string().contains("timeout")
}

fn connect_error(address: &str, server: &Server, error: &tokio_postgres::Error) -> ProviderError {
    let target = format!("{}:{}", server.host, server.port);
    if let Some(database_error) = error.as_db_error() {
        let code = database_error.code().code().to_owned();
        // 28P01 invalid_password, 28000 invalid_authorization_specification.
        if code.starts_with("28") {
            return ProviderError::Credentials {
                address: address.to_owned(),
                message: format!(
                    "the server at {target} refused {:?}: {}; check admin_user and the password variable",
                    server.admin_user,
                    database_error.message()
                ),
            };
        }
        return ProviderError::Api {
            address: address.to_owned(),
            code: Some(code),
            message: format!("{target}: {}", database_error.message()),
        };
    }
    ProviderError::Transport {
        address: address.to_owned(),
        message: format!(
            "cannot connect to {target} (sslmode {}): {}",
            server.sslmode,
            error_chain(error)
        ),
    }
}

/// An error and its sources, one line.
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn tls_config(
    address: &str,
    server: &Server,
    verify: bool,
) -> Result<rustls::ClientConfig, ProviderError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|error| ProviderError::Transport {
            address: address.to_owned(),
            message: format!("TLS setup: {error}"),
        })?;
    if !verify {
        // `prefer` and `require` encrypt without verifying the certificate, as libpq does;
        // `verify-full` is the mode that verifies.
        return Ok(builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
            .with_no_client_auth());
    }
    let mut roots = rustls::RootCertStore::empty();
    match &server.sslrootcert {
        Some(path) => {
            use rustls::pki_types::pem::PemObject;
            let certificates = CertificateDer::pem_file_iter(path).map_err(|error| {
                ProviderError::Conflict {
                    address: address.to_owned(),
                    message: format!(
                        "cannot read sslrootcert {path}: {error}; give the PEM file of the CA that signed the server's certificate"
                    ),
                }
            })?;
            for certificate in certificates {
                let certificate = certificate.map_err(|error| ProviderError::Conflict {
                    address: address.to_owned(),
                    message: format!("sslrootcert {path} is not a PEM certificate file: {error}"),
                })?;
                roots
                    .add(certificate)
                    .map_err(|error| ProviderError::Conflict {
                        address: address.to_owned(),
                        message: format!("sslrootcert {path}: {error}"),
                    })?;
            }
        }
        None => {
            let native = rustls_native_certs::load_native_certs();
            for certificate in native.certs {
                let _ = roots.add(certificate);
            }
        }
    }
    if roots.is_empty() {
        return Err(ProviderError::Conflict {
            address: address.to_owned(),
            message: "sslmode verify-full needs a CA certificate: set sslrootcert, or install the system's CA certificates".to_owned(),
        });
    }
    Ok(builder.with_root_certificates(roots).with_no_client_auth())
}

/// Accepts any server certificate (for `prefer` and `require`), while still checking that
/// the handshake is signed by the certificate's key.
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            certificate,
            signature,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            certificate,
            signature,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
