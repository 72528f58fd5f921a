//! The PostgreSQL provider: `PostgresServer` and the parts of a `TenantDatabase` (its role,
//! its database with extensions and grants, its connection secret file), through
//! `tokio-postgres`.
//!
//! - A `PostgresServer` is an existing server: "creating" it checks that dbplan can connect
//!   and administer it (CREATEDB and CREATEROLE), deleting it only forgets it.
//! - A role is created `LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE` with a generated password
//!   (32 random letters and digits, generated before the call and recorded `pending` with
//!   it, so a retried create sets the same one), sent as a SCRAM verifier.
//! - A database is created owned by its role; `PUBLIC` loses `CONNECT` and `TEMPORARY` on it,
//!   the owner gets all privileges and the `public` schema; extensions are created in it.
//! - The connection secret is a file (mode 0600) in `env` or `json` format, or a Kubernetes
//!   Secret written through the [`KubernetesSecrets`] the provider is given
//!   ([`PostgresProvider::with_kubernetes`]; without one, such a secret fails with an error
//!   saying so). See the modules `secret_file` and `secret_kubernetes`.
//!
//! An existing role or database of the same name is taken over only when the request permits
//! it (an interrupted create of dbplan's own, or the manifest's opt-in: `dbplan.io/adopt`,
//! `--adopt`) and it matches (a login role that is not a superuser; a database owned by the
//! planned owner); otherwise the create fails and says how to opt in. [`Provider::find`]
//! reports such an object to the plan, with what apply would do to it (a role's password is
//! reset). Identifiers are always quoted (`sql::ident`).
//!
//! Every wait on a server is bounded (module `timeouts`): the TCP connection, then the TLS
//! handshake and authentication, each within `DBPLAN_CONNECT_TIMEOUT` (10 s); a statement
//! within `DBPLAN_READ_TIMEOUT` (60 s), sent to the server as `statement_timeout` and guarded
//! on the client too, since a server that stopped answering never applies its own limit;
//! `CREATE DATABASE` and `DROP DATABASE` within `DBPLAN_LONG_STATEMENT_TIMEOUT` (600 s). A
//! timeout fails the resource with an error naming the step, `host:port` and the variable to
//! raise.
//!
//! This crate is the only user of `tokio-postgres`.

mod aurora;
mod auth_guard;
mod connect;
mod secret_file;
mod secret_kubernetes;
mod sql;
mod timeouts;

pub use connect::Env;

use connect::{Connection, Pool, Server};
use dbplan_core::kinds::postgres_server;
use dbplan_core::kinds::tenant_database::{ConnectionSecret, Database, Role, TenantAdmin};
use dbplan_core::{Kind, Part, ResourceAddress};
use dbplan_provider::aws_login::AwsLogin;
use dbplan_provider::digitalocean::DigitalOceanDatabases;
use dbplan_provider::kubernetes::KubernetesSecrets;
use dbplan_provider::{
    Applied, BoxFuture, ChangeRequest, Context, Existing, Field, FindOutcome, Provider,
    ProviderError, ReadOutcome, ReadRequest, RemoteObject, files,
};
use sql::{ident, literal, password_verifier};
use std::collections::BTreeMap;
use std::sync::Arc;
use timeouts::Timeouts;

/// Length of a generated role password (letters and digits: about 190 bits).
const PASSWORD_LENGTH: usize = 32;

/// The PostgreSQL provider.
pub struct PostgresProvider {
    env: Env,
    pool: Pool,
    /// Where Kubernetes connection secrets are written; `None`: nowhere (they fail).
    kubernetes: Option<Arc<dyn KubernetesSecrets>>,
    /// Applies the roles and databases of tenants on a `CnpgCluster` (declaratively, as the
    /// operator's managed roles and `Database` objects); `None`: they are refused.
    cnpg: Option<Arc<dyn Provider>>,
    /// Logs in to Aurora clusters (their managed master secret, IAM tokens); `None`: tenants
    /// on an Aurora cluster can use only a master password from the environment.
    aws: Option<Arc<dyn AwsLogin>>,
    /// DigitalOcean's users and databases endpoints, for tenants on a DigitalOcean cluster;
    /// `None`: those tenants are refused.
    digitalocean: Option<Arc<dyn DigitalOceanDatabases>>,
}

impl std::fmt::Debug for PostgresProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PostgresProvider")
    }
}

impl Default for PostgresProvider {
    fn default() -> Self {
        Self::new()
    }
}

impl PostgresProvider {
    /// A provider that reads passwords from the process environment.
    pub fn new() -> Self {
        Self::with_env(Arc::new(|name| std::env::var(name).ok()))
    }

    /// A provider that reads passwords and its timeouts (`DBPLAN_CONNECT_TIMEOUT`,
    /// `DBPLAN_READ_TIMEOUT`, `DBPLAN_LONG_STATEMENT_TIMEOUT`) through `env` (tests). The
    /// timeouts are read once, here; a bad value fails every request with an error naming it.
    pub fn with_env(env: Env) -> Self {
        let pool = Pool::new(Timeouts::from_env(&env));
        PostgresProvider {
            env,
            pool,
            kubernetes: None,
            cnpg: None,
            aws: None,
            digitalocean: None,
        }
    }

    /// The provider, making the users and databases of tenants on a DigitalOcean cluster
    /// through `digitalocean` (the DigitalOcean provider), and the rest over SQL.
    #[must_use]
    pub fn with_digitalocean(mut self, digitalocean: Arc<dyn DigitalOceanDatabases>) -> Self {
        self.digitalocean = Some(digitalocean);
        self
    }

    /// The DigitalOcean cluster (its id) and API of a tenant on one; `None` for another server.
    /// A tenant on a DigitalOcean cluster without the API, or whose cluster has no id yet, is an
    /// error.
    fn digitalocean_cluster(
        &self,
        address: &ResourceAddress,
        context: &Context,
    ) -> Result<Option<(String, &dyn DigitalOceanDatabases)>, ProviderError> {
        let Some((server, recorded)) = context.iter().find(|(server, _)| {
            matches!(
                server.kind,
                Kind::DigitalOceanDatabaseCluster | Kind::DigitalOceanDatabaseClusterReference
            )
        }) else {
            return Ok(None);
        };
        // A referenced cluster's engine is known once read (a managed one's is checked in
        // the manifests, G008).
        if let Some(engine) = recorded.outputs.get("engine").and_then(Field::as_str)
            && engine != "pg"
        {
            return Err(ProviderError::Conflict {
                address: address.clone(),
                message: format!(
                    "{server} runs {engine}, not PostgreSQL; a tenant database needs a `pg` cluster"
                ),
                source: None,
            });
        }
        let api = self
            .digitalocean
            .as_deref()
            .ok_or_else(|| ProviderError::Unsupported {
                address: address.clone(),
                message: "this build has no DigitalOcean client for tenant databases".to_owned(),
            })?;
        let id = recorded
            .provider_id
            .clone()
            .or_else(|| {
                recorded
                    .outputs
                    .get("cluster_id")
                    .and_then(Field::as_str)
                    .map(str::to_owned)
            })
            .ok_or_else(|| ProviderError::Conflict {
                address: address.clone(),
                message: format!("the ID of {server} is not known; apply it first"),
                source: None,
            })?;
        Ok(Some((id, api)))
    }

    /// The provider, logging in to the Aurora clusters of tenants through `aws` (the AWS
    /// provider): their managed master secret, IAM authentication tokens.
    #[must_use]
    pub fn with_aws_login(mut self, aws: Arc<dyn AwsLogin>) -> Self {
        self.aws = Some(aws);
        self
    }

    /// The provider, handing the roles and databases of tenants on a `CnpgCluster` to `cnpg`
    /// (the Kubernetes provider); their connection secrets stay here.
    #[must_use]
    pub fn with_cnpg_tenants(mut self, cnpg: Arc<dyn Provider>) -> Self {
        self.cnpg = Some(cnpg);
        self
    }

    /// The provider a tenant's role or database goes to when its server is not a
    /// `PostgresServer`.
    fn delegate(&self, kind: Object, context: &Context) -> Option<&dyn Provider> {
        if !matches!(kind, Object::Role | Object::Database)
            || !context
                .keys()
                .any(|dependency| dependency.kind == Kind::CnpgCluster)
        {
            return None;
        }
        self.cnpg.as_deref()
    }

    /// The provider, writing the connection secrets that go to Kubernetes through `secrets`.
    #[must_use]
    pub fn with_kubernetes(mut self, secrets: Arc<dyn KubernetesSecrets>) -> Self {
        self.kubernetes = Some(secrets);
        self
    }

    fn kubernetes(&self) -> Option<&dyn KubernetesSecrets> {
        self.kubernetes.as_deref()
    }
}

/// Which object of a tenant database a request is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Object {
    Server,
    Role,
    Database,
    ConnectionSecret,
}

fn object(address: &ResourceAddress, part: &Part) -> Result<Object, ProviderError> {
    let kind = address.kind;
    match (kind, part) {
        (Kind::PostgresServer, Part::Whole) => Ok(Object::Server),
        (Kind::TenantDatabase, Part::Role) => Ok(Object::Role),
        (Kind::TenantDatabase, Part::Database) => Ok(Object::Database),
        (Kind::TenantDatabase, Part::ConnectionSecret) => Ok(Object::ConnectionSecret),
        _ => Err(ProviderError::Unsupported {
            address: address.clone(),
            message: format!(
                "the PostgreSQL provider does not manage {kind} objects like this one"
            ),
        }),
    }
}

/// Makes the administrator a member of `owner` unless it is one or a superuser:
/// `CREATE DATABASE … OWNER` and `ALTER DATABASE … OWNER TO` need it, and the master user of
/// RDS and Aurora is no superuser (it has CREATEDB and CREATEROLE). A CREATEROLE role may grant
/// the roles it manages (PostgreSQL 16 and later: those it created), as here.
async fn act_as(
    client: &Connection,
    address: &ResourceAddress,
    owner: &str,
) -> Result<(), ProviderError> {
    let able = client
        .query_opt(
            address,
            "SELECT 1 FROM pg_roles WHERE rolname = current_user AND (rolsuper OR pg_has_role(current_user, $1, 'MEMBER'))",
            &[&owner],
        )
        .await?
        .is_some();
    if able {
        return Ok(());
    }
    tracing::debug!(address = %address, "grant role {owner:?} to the administrator");
    let quoted = ident(address, owner)?;
    let granted = client
        .batch(address, &format!("GRANT {quoted} TO CURRENT_USER"))
        .await?;
    match granted {
        Ok(()) => Ok(()),
        // A CREATEROLE administrator grants no superuser role, and on PostgreSQL 16 and later
        // only the roles it has ADMIN OPTION on (those it created itself): not one a managed
        // service's API made.
        Err(error)
            if error.code() == Some(&tokio_postgres::error::SqlState::INSUFFICIENT_PRIVILEGE) =>
        {
            Err(ProviderError::Conflict {
                address: address.clone(),
                message: format!(
                    "the administrator may not become a member of the role {owner:?}, which it must be to make it a database's owner (the server says: {}); an administrator that is not a superuser may join only a role it administers and that is no superuser (on PostgreSQL 16 and later, one it has ADMIN OPTION on, as on the roles it created): have a superuser or the role's creator run `GRANT {quoted} TO <administrator> WITH ADMIN OPTION`, then apply again",
                    error
                        .as_db_error()
                        .map_or_else(|| error.to_string(), |db| db.message().to_owned())
                ),
                source: None,
            })
        }
        Err(error) => Err(client.api_error(address, error)),
    }
}

/// Renames a role in place (what it owns keeps its owner), unless the new name is taken.
async fn rename_role(
    client: &Connection,
    address: &ResourceAddress,
    old: &str,
    name: &str,
    quoted: &str,
) -> Result<(), ProviderError> {
    let taken = client
        .query_opt(
            address,
            "SELECT 1 FROM pg_roles WHERE rolname = $1",
            &[&name],
        )
        .await?
        .is_some();
    if taken {
        return Err(ProviderError::Conflict {
            address: address.clone(),
            message: format!(
                "cannot rename the role {old:?} to {name:?}: a role {name:?} already exists; choose another `owner`, or drop that role"
            ),
            source: None,
        });
    }
    execute(
        client,
        address,
        &format!("rename role {old:?} to {name:?}"),
        &format!("ALTER ROLE {} RENAME TO {quoted}", ident(address, old)?),
    )
    .await
}

/// Runs statements within the statement bound; `what` names them in logs (statements are
/// logged without values that could be secret: a role's password is never part of `what`).
async fn execute(
    client: &Connection,
    address: &ResourceAddress,
    what: &str,
    statement: &str,
) -> Result<(), ProviderError> {
    client.execute(address, what, statement).await
}

/// The recorded Aurora cluster a tenant is on (its cluster part), if it is on one.
fn aurora_cluster(context: &Context) -> Option<(&ResourceAddress, &dbplan_provider::Recorded)> {
    context.iter().find(|(server, _)| {
        (server.kind == Kind::AwsRdsCluster && server.part.as_deref() == Some("cluster"))
            || server.kind == Kind::AwsRdsClusterReference
    })
}

impl PostgresProvider {
    /// The tenant's server from the request's context: a `PostgresServer`, or an Aurora
    /// cluster reached as `admin` says (the role's or database's `admin` attribute, planned
    /// for a create or update, recorded otherwise).
    async fn tenant_server(
        &self,
        address: &ResourceAddress,
        context: &Context,
        admin: Option<TenantAdmin>,
    ) -> Result<Server, ProviderError> {
        let servers: Vec<(&ResourceAddress, &dbplan_provider::Recorded)> = context
            .iter()
            .filter(|(server, _)| server.kind == Kind::PostgresServer)
            .collect();
        if let [(server_address, recorded)] = servers.as_slice() {
            return Server::from_recorded(server_address, recorded, &self.env);
        }
        if let Some((cluster, api)) = self.digitalocean_cluster(address, context)? {
            let login = api.admin_login(address, &cluster).await?;
            let admin = admin.unwrap_or_default();
            // TLS verifies the cluster's name against its own CA, from the API, unless the
            // manifest names a CA file or asks for `require`.
            let sslmode = admin.sslmode.unwrap_or_else(|| "verify-full".to_owned());
            let ca_pem = match (&admin.sslrootcert, sslmode.as_str()) {
                (None, "verify-full") => Some(api.ca_certificate(address, &cluster).await?),
                _ => None,
            };
            return Ok(Server {
                host: login.host,
                port: login.port,
                database: admin.database.unwrap_or(login.database),
                admin_user: login.user,
                password: Some(login.password),
                sslmode,
                sslrootcert: admin.sslrootcert,
                ca_pem,
                via: admin.connect_via.map(|via| (via.host, via.port)),
            });
        }
        if let Some((cluster_address, recorded)) = aurora_cluster(context) {
            return aurora::server(
                address,
                cluster_address,
                recorded,
                &admin.unwrap_or_default(),
                self.aws.as_deref(),
                &self.env,
            )
            .await;
        }
        let other = context
            .keys()
            .map(|dependency| dependency.kind)
            .find(|kind| *kind != Kind::TenantDatabase);
        Err(ProviderError::Unsupported {
            address: address.clone(),
            message: match other {
                Some(kind) => format!(
                    "tenant databases on a {kind} cannot be applied by this build yet; declare a PostgresServer for the cluster's endpoint and point `server` at it"
                ),
                None => {
                    "the tenant's server is not recorded in state; apply its PostgresServer first"
                        .to_owned()
                }
            },
        })
    }

    /// Whether the tenant's server can be logged in to without asking anyone (for lookups
    /// before a create).
    fn can_log_in(&self, request: &ChangeRequest) -> bool {
        let servers: Vec<_> = request
            .context
            .iter()
            .filter(|(server, _)| server.kind == Kind::PostgresServer)
            .collect();
        if let [(server_address, recorded)] = servers.as_slice() {
            return Server::from_recorded(server_address, recorded, &self.env)
                .is_ok_and(|server| server.password.is_some());
        }
        if let Ok(Some(_)) = self.digitalocean_cluster(&request.address, &request.context) {
            return std::env::var_os("DIGITALOCEAN_TOKEN").is_some_and(|token| !token.is_empty());
        }
        aurora_cluster(&request.context).is_some_and(|(cluster_address, recorded)| {
            aurora::can_log_in(
                &request.address,
                cluster_address,
                recorded,
                &planned_admin(request).unwrap_or_default(),
                self.aws.is_some(),
                &self.env,
            )
        })
    }
}

/// The `admin` attribute a create or update is planned with (role or database).
fn planned_admin(request: &ChangeRequest) -> Option<TenantAdmin> {
    request.decode::<Role>().ok().and_then(|role| role.admin)
}

/// The `admin` attribute a read connects with: the one declared now, else the one recorded
/// (an object no longer declared).
fn read_admin(request: &ReadRequest) -> Option<TenantAdmin> {
    let declared = request
        .declared
        .get("admin")
        .and_then(|admin| serde_json::from_value::<TenantAdmin>(admin.clone()).ok());
    declared.or_else(|| request.decode::<Role>().ok().and_then(|role| role.admin))
}

/// The `admin` attribute recorded with a role or database.
fn prior_admin(request: &ChangeRequest) -> Option<TenantAdmin> {
    request
        .decode_prior::<Role>()
        .ok()
        .and_then(|role| role.admin)
}

fn generate_password(address: &ResourceAddress) -> Result<String, ProviderError> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut password = String::with_capacity(PASSWORD_LENGTH);
    let mut buffer = [0u8; 64];
    while password.len() < PASSWORD_LENGTH {
        getrandom::fill(&mut buffer).map_err(|error| ProviderError::Unsupported {
            address: address.clone(),
            message: format!("the system's random number generator failed: {error}"),
        })?;
        // Rejection sampling keeps every character equally likely (248 = 4 × 62).
        for byte in buffer {
            if byte < 248 && password.len() < PASSWORD_LENGTH {
                password.push(char::from(ALPHABET[usize::from(byte % 62)]));
            }
        }
    }
    Ok(password)
}

impl Provider for PostgresProvider {
    fn name(&self) -> &str {
        "postgres"
    }

    fn handles(&self, kind: Kind) -> bool {
        matches!(kind, Kind::PostgresServer | Kind::TenantDatabase)
    }

    fn read<'a>(
        &'a self,
        request: &'a ReadRequest,
    ) -> BoxFuture<'a, Result<ReadOutcome, ProviderError>> {
        Box::pin(async move {
            let address = &request.address;
            let kind = object(&request.address, &request.part()?)?;
            if let Some(cnpg) = self.delegate(kind, &request.context) {
                return cnpg.read(request).await;
            }
            match kind {
                Object::Server => {
                    let server = Server::from_typed(address, request.decode()?, None, &self.env)?;
                    self.pool.admin(address, &server).await?;
                    let mut outputs = BTreeMap::new();
                    outputs.insert("host".to_owned(), Field::plain(server.host.clone()));
                    outputs.insert("port".to_owned(), Field::plain(server.port));
                    Ok(ReadOutcome::Found(RemoteObject {
                        provider_id: request.provider_id.clone(),
                        attributes: request.attributes.clone(),
                        outputs,
                    }))
                }
                Object::Role => {
                    let server = self
                        .tenant_server(address, &request.context, read_admin(request))
                        .await?;
                    let client = self.pool.admin(address, &server).await?;
                    read_role(&client, request).await
                }
                Object::Database => {
                    let server = self
                        .tenant_server(address, &request.context, read_admin(request))
                        .await?;
                    let client = self.pool.admin(address, &server).await?;
                    read_database(&self.pool, &client, &server, request).await
                }
                Object::ConnectionSecret => {
                    let recorded: ConnectionSecret = request.decode()?;
                    match secret_kubernetes::target(&recorded) {
                        Some(target) => {
                            secret_kubernetes::read(self.kubernetes(), request, &recorded, &target)
                                .await
                        }
                        None => Ok(secret_file::read(address, recorded, &request.attributes)),
                    }
                }
            }
        })
    }

    fn prepare(&self, request: &ChangeRequest) -> Result<BTreeMap<String, Field>, ProviderError> {
        let mut prepared = BTreeMap::new();
        if object(&request.address, &request.part()?)? == Object::Role
            && !request.prior_outputs.contains_key("password")
        {
            prepared.insert(
                "password".to_owned(),
                Field::sensitive(generate_password(&request.address)?),
            );
        }
        Ok(prepared)
    }

    fn find<'a>(
        &'a self,
        request: &'a ChangeRequest,
    ) -> BoxFuture<'a, Result<FindOutcome, ProviderError>> {
        Box::pin(async move {
            let address = &request.address;
            let kind = object(&request.address, &request.part()?)?;
            if self.delegate(kind, &request.context).is_some() {
                // A create on a CnpgCluster finds an existing role or Database itself, and
                // takes it over only with the opt-in.
                return Ok(FindOutcome::Unknown);
            }
            match kind {
                Object::Role => {
                    let server = self
                        .tenant_server(address, &request.context, planned_admin(request))
                        .await?;
                    let client = self.pool.admin(address, &server).await?;
                    find_role(&client, request).await
                }
                Object::Database => {
                    let server = self
                        .tenant_server(address, &request.context, planned_admin(request))
                        .await?;
                    let client = self.pool.admin(address, &server).await?;
                    find_database(&client, request).await
                }
                // A server is not created (create only checks it); a secret file that exists
                // is reported by the plan's look at the disk.
                Object::Server | Object::ConnectionSecret => Ok(FindOutcome::Unknown),
            }
        })
    }

    /// A role or database can be looked up when its server's administrator password is at
    /// hand (its variable is set, or `PGPASSWORD`).
    fn can_look_up(&self, request: &ChangeRequest) -> bool {
        let delegated = request
            .part()
            .and_then(|part| object(&request.address, &part))
            .is_ok_and(|kind| self.delegate(kind, &request.context).is_some());
        !delegated
            && matches!(
                request
                    .part()
                    .and_then(|part| object(&request.address, &part)),
                Ok(Object::Role | Object::Database)
            )
            && self.can_log_in(request)
    }

    /// A tenant's role and database on a server this build applies no tenants on, and a role
    /// on a DigitalOcean cluster renamed (its API has no call for it).
    fn limitation(&self, change: &dbplan_core::Change) -> Option<String> {
        let address = &change.address;
        if address.kind != Kind::TenantDatabase
            || !matches!(address.part.as_deref(), Some("role" | "database"))
        {
            return None;
        }
        let server = change
            .dependencies
            .iter()
            .map(|dependency| dependency.kind)
            .find(|kind| *kind != Kind::TenantDatabase)?;
        match server {
            Kind::PostgresServer | Kind::AwsRdsCluster | Kind::AwsRdsClusterReference => None,
            Kind::DigitalOceanDatabaseCluster | Kind::DigitalOceanDatabaseClusterReference
                if self.digitalocean.is_some()
                    && address.part.as_deref() == Some("role")
                    && change.action == dbplan_core::Action::Update
                    && change.changed.iter().any(|name| name == "name") =>
            {
                let name = |values: &BTreeMap<String, dbplan_core::Value>| {
                    values
                        .get("name")
                        .and_then(dbplan_core::Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                Some(format!(
                    "DigitalOcean cannot rename the database user {:?} to {:?}, so apply will fail here; keep the owner's name, or give the tenant another `database_name` so that a new database and user are made",
                    name(&change.before),
                    name(&change.after)
                ))
            }
            Kind::DigitalOceanDatabaseCluster | Kind::DigitalOceanDatabaseClusterReference
                if self.digitalocean.is_some() =>
            {
                None
            }
            Kind::CnpgCluster if self.cnpg.is_some() => None,
            kind => Some(format!(
                "tenant databases on {kind} servers cannot be applied by this build yet, so apply will fail here; declare a PostgresServer for the cluster's endpoint and point `server` at it"
            )),
        }
    }

    fn create<'a>(
        &'a self,
        request: &'a ChangeRequest,
    ) -> BoxFuture<'a, Result<Applied, ProviderError>> {
        Box::pin(async move {
            let kind = object(&request.address, &request.part()?)?;
            if let Some(cnpg) = self.delegate(kind, &request.context) {
                return cnpg.create(request).await;
            }
            match kind {
                Object::Server => self.check_server(request).await,
                Object::Role => self.apply_role(request, true).await,
                Object::Database => self.create_database(request).await,
                Object::ConnectionSecret => self.write_secret(request).await,
            }
        })
    }

    fn update<'a>(
        &'a self,
        request: &'a ChangeRequest,
    ) -> BoxFuture<'a, Result<Applied, ProviderError>> {
        Box::pin(async move {
            let kind = object(&request.address, &request.part()?)?;
            if let Some(cnpg) = self.delegate(kind, &request.context) {
                return cnpg.update(request).await;
            }
            match kind {
                Object::Server => self.check_server(request).await,
                Object::Role => self.apply_role(request, false).await,
                Object::Database => self.update_database(request).await,
                Object::ConnectionSecret => {
                    let applied = self.write_secret(request).await?;
                    // A secret moved to another file leaves no copy behind (unless the old
                    // file changed since dbplan wrote it: then it is the user's). A Secret
                    // moved elsewhere is replaced, not updated.
                    let planned: ConnectionSecret = request.decode()?;
                    if secret_kubernetes::target(&planned).is_some() {
                        return Ok(applied);
                    }
                    let new = secret_file_of(planned).file.unwrap_or_default();
                    if let Some(old) = recorded_secret_file(request)?
                        && !files::same_place(&old, &new)
                    {
                        remove_secret(request, &old)?;
                    }
                    Ok(applied)
                }
            }
        })
    }

    fn delete<'a>(
        &'a self,
        request: &'a ChangeRequest,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let address = &request.address;
            let kind = object(&request.address, &request.part()?)?;
            if let Some(cnpg) = self.delegate(kind, &request.context) {
                return cnpg.delete(request).await;
            }
            match kind {
                // dbplan did not create the server; it only stops managing it.
                Object::Server => Ok(()),
                Object::Role => {
                    let name = request.decode_prior::<Role>()?.name.unwrap_or_default();
                    let name = name.as_str();
                    if let Some((cluster, api)) =
                        self.digitalocean_cluster(address, &request.context)?
                    {
                        // DigitalOcean keeps its list of users: the API drops the role (no
                        // SQL connection is needed).
                        return api.delete_user(address, &cluster, name).await;
                    }
                    let server = self
                        .tenant_server(address, &request.context, prior_admin(request))
                        .await?;
                    let client = self.pool.admin(address, &server).await?;
                    execute(
                        &client,
                        address,
                        &format!("drop role {name:?}"),
                        &format!("DROP ROLE IF EXISTS {}", ident(address, name)?),
                    )
                    .await
                }
                Object::Database => {
                    let name = request.decode_prior::<Database>()?.name.unwrap_or_default();
                    let name = name.as_str();
                    let server = self
                        .tenant_server(address, &request.context, prior_admin(request))
                        .await?;
                    if name == server.database {
                        return Err(ProviderError::Conflict {
                            address: address.clone(),
                            message: format!(
                                "{name:?} is the database dbplan administers the server through; it is never dropped"
                            ),
                            source: None,
                        });
                    }
                    let client = self.pool.admin(address, &server).await?;
                    if let Some((cluster, api)) =
                        self.digitalocean_cluster(address, &request.context)?
                    {
                        // Its sessions end first, as for a DROP DATABASE; the API drops it.
                        terminate_sessions(&client, address, name).await?;
                        return api.delete_database(address, &cluster, name).await;
                    }
                    drop_database(&client, address, name).await
                }
                Object::ConnectionSecret => {
                    let recorded: ConnectionSecret = request.decode_prior()?;
                    if let Some(target) = secret_kubernetes::target(&recorded) {
                        return secret_kubernetes::delete(self.kubernetes(), request, &target)
                            .await;
                    }
                    match recorded_secret_file(request)? {
                        Some(file) => remove_secret(request, &file),
                        None => Ok(()),
                    }
                }
            }
        })
    }
}

impl PostgresProvider {
    /// Connects to a declared server and checks that its administrator can create databases
    /// and roles.
    async fn check_server(&self, request: &ChangeRequest) -> Result<Applied, ProviderError> {
        let address = &request.address;
        let mut planned: postgres_server::Server = request.decode()?;
        let password = planned
            .admin_password
            .take()
            .map(|password| password.expose().to_owned());
        let server = Server::from_typed(address, planned, password, &self.env)?;
        let client = self.pool.admin(address, &server).await?;
        let row = client
            .query_one(
                address,
                "SELECT rolsuper, rolcreatedb, rolcreaterole, current_setting('server_version_num')::int \
                 FROM pg_roles WHERE rolname = current_user",
                &[],
            )
            .await?;
        let superuser: bool = row.get(0);
        let create_database: bool = row.get(1);
        let create_role: bool = row.get(2);
        let version: i32 = row.get(3);
        if !(superuser || create_database && create_role) {
            return Err(ProviderError::Conflict {
                address: address.clone(),
                message: format!(
                    "the role {:?} can connect but cannot administer tenants: it needs CREATEDB and CREATEROLE (`ALTER ROLE {} CREATEDB CREATEROLE`)",
                    server.admin_user,
                    ident(address, &server.admin_user)?
                ),
                source: None,
            });
        }
        let mut outputs = BTreeMap::new();
        outputs.insert("host".to_owned(), Field::plain(server.host.clone()));
        outputs.insert("port".to_owned(), Field::plain(server.port));
        outputs.insert("server_version_num".to_owned(), Field::plain(version));
        Ok(Applied {
            provider_id: Some(format!(
                "{}:{}/{}",
                server.host, server.port, server.database
            )),
            outputs,
        })
    }

    /// Creates (or adopts) a role, or updates one; sets its password either way on create.
    // Long: the statements for one role in the order they run (password, rename, then create,
    // adopt or update), with the refusals between them that keep a privileged role from being
    // taken over; split further, the safety checks would sit apart from the statements they guard.
    async fn apply_role(
        &self,
        request: &ChangeRequest,
        create: bool,
    ) -> Result<Applied, ProviderError> {
        let address = &request.address;
        if let Some((cluster, api)) = self.digitalocean_cluster(address, &request.context)? {
            return self
                .apply_digitalocean_role(request, create, &cluster, api)
                .await;
        }
        let role: Role = request.decode()?;
        let name = role.name.as_deref().unwrap_or_default();
        let quoted = ident(address, name)?;
        let limit = role.connection_limit.unwrap_or(-1);
        let recorded = request
            .prior_outputs
            .get("password")
            .and_then(Field::as_str);
        let password = match recorded {
            Some(password) => password.to_owned(),
            // An imported role: dbplan never knew its password, and the plan said this update
            // sets a new one. (A create always has one, from `prepare`.)
            None if !create => generate_password(address)?,
            None => {
                return Err(ProviderError::Conflict {
                    address: address.clone(),
                    message:
                        "no password was generated for the role; run `dbplan plan` and apply again"
                            .to_owned(),
                    source: None,
                });
            }
        };
        let password = password.as_str();
        let server = self
            .tenant_server(address, &request.context, planned_admin(request))
            .await?;
        let client = self.pool.admin(address, &server).await?;
        if !create {
            // A new name renames the role in place: what it owns keeps its owner.
            let recorded: Role = request.decode_prior()?;
            let old = recorded.name.as_deref().unwrap_or(name);
            if old != name {
                rename_role(&client, address, old, name, &quoted).await?;
            }
        }
        let existing = client
            .query_opt(
                address,
                "SELECT rolcanlogin, rolsuper, rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls \
                 FROM pg_roles WHERE rolname = $1",
                &[&name],
            )
            .await?;
        let password_clause = format!("PASSWORD {}", literal(&password_verifier(password)));
        match existing {
            None if create => {
                let statement = format!(
                    "CREATE ROLE {quoted} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS CONNECTION LIMIT {limit} {password_clause}"
                );
                let created = client.batch(address, &statement).await?;
                tracing::debug!(address = %address, "create role {name:?}");
                match created {
                    Ok(()) => {}
                    // 42710 duplicate_object: created meanwhile by someone else; taken over
                    // like any existing role, only if the request permits it. (It is not
                    // checked again for privileges: it appeared after the look above, so a
                    // refusal is the safe answer unless the manifest opted in.)
                    Err(error) if error.as_db_error().map(|e| e.code().code()) == Some("42710") => {
                        request.adopt.check(address, format!("the role {name:?}"))?;
                        self.adopt_role(&client, address, name, limit, &password_clause)
                            .await?;
                    }
                    Err(error) => return Err(client.api_error(address, error)),
                }
            }
            None => {
                return Err(ProviderError::Api {
                    address: address.clone(),
                    code: Some("42704".into()),
                    message: format!(
                        "the role {name:?} does not exist any more; run `dbplan plan` again to create it"
                    ),
                    source: None,
                });
            }
            Some(row) => {
                if create {
                    // Its password is about to be replaced: never without the opt-in.
                    request.adopt.check(address, format!("the role {name:?}"))?;
                }
                let can_login: bool = row.get(0);
                let superuser: bool = row.get(1);
                let privileged: bool = row.get(2);
                if superuser || privileged || !can_login {
                    return Err(ProviderError::Conflict {
                        address: address.clone(),
                        message: format!(
                            "a role {name:?} already exists and {}; dbplan adopts only a plain login role (no SUPERUSER, CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS), because its credentials go to an application; choose another `owner`, or change or drop that role",
                            if superuser {
                                "is a superuser"
                            } else if privileged {
                                "has CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS"
                            } else {
                                "is not a login role"
                            }
                        ),
                        source: None,
                    });
                }
                // Adopted or updated: the planned password and connection limit either way.
                self.adopt_role(&client, address, name, limit, &password_clause)
                    .await?;
            }
        }
        Ok(role_applied(name, password))
    }

    /// A tenant's role on a DigitalOcean cluster: a database user made through the API, which
    /// generates its password; its connection limit over SQL. DigitalOcean has no call that
    /// renames a user, and a role renamed over SQL would leave its list behind: a new owner
    /// name is refused.
    async fn apply_digitalocean_role(
        &self,
        request: &ChangeRequest,
        create: bool,
        cluster: &str,
        api: &dyn DigitalOceanDatabases,
    ) -> Result<Applied, ProviderError> {
        let address = &request.address;
        let role: Role = request.decode()?;
        let name = role.name.as_deref().unwrap_or_default();
        let quoted = ident(address, name)?;
        let limit = role.connection_limit.unwrap_or(-1);
        let server = self
            .tenant_server(address, &request.context, role.admin.clone())
            .await?;
        let client = self.pool.admin(address, &server).await?;
        let password = if create {
            match api.add_user(address, cluster, name).await? {
                Some(password) => password,
                None => {
                    request
                        .adopt
                        .check(address, format!("the database user {name:?}"))?;
                    api.user_password(address, cluster, name)
                        .await?
                        .ok_or_else(|| ProviderError::Conflict {
                            address: address.clone(),
                            message: format!(
                                "DigitalOcean reports no password for the existing user {name:?}; reset it in the control panel, or choose another `owner`"
                            ),
                            source: None,
                        })?
                }
            }
        } else {
            let recorded: Role = request.decode_prior()?;
            if let Some(old) = recorded.name.as_deref().filter(|old| *old != name) {
                return Err(ProviderError::Conflict {
                    address: address.clone(),
                    message: format!(
                        "DigitalOcean cannot rename the database user {old:?} to {name:?}; keep the owner's name, or give the tenant another `database_name` so that a new database and user are made"
                    ),
                    source: None,
                });
            }
            match request.prior_outputs.get("password").and_then(Field::as_str) {
                Some(password) => password.to_owned(),
                None => api.user_password(address, cluster, name).await?.ok_or_else(|| {
                    ProviderError::Api {
                        address: address.clone(),
                        code: Some("42704".into()),
                        message: format!(
                            "the database user {name:?} does not exist any more; run `dbplan plan` again to create it"
                        ),
                        source: None,
                    }
                })?,
            }
        };
        execute(
            &client,
            address,
            &format!("set the connection limit of role {name:?}"),
            &format!("ALTER ROLE {quoted} WITH CONNECTION LIMIT {limit}"),
        )
        .await?;
        Ok(role_applied(name, &password))
    }

    async fn adopt_role(
        &self,
        client: &Connection,
        address: &ResourceAddress,
        name: &str,
        limit: i64,
        password_clause: &str,
    ) -> Result<(), ProviderError> {
        execute(
            client,
            address,
            &format!("adopt role {name:?}: set its password and connection limit"),
            &format!(
                "ALTER ROLE {} WITH LOGIN CONNECTION LIMIT {limit} {password_clause}",
                ident(address, name)?
            ),
        )
        .await
    }

    async fn create_database(&self, request: &ChangeRequest) -> Result<Applied, ProviderError> {
        let address = &request.address;
        let database: Database = request.decode()?;
        let name = database.name.as_deref().unwrap_or_default();
        let owner = database.owner.as_deref().unwrap_or_default();
        let server = self
            .tenant_server(address, &request.context, planned_admin(request))
            .await?;
        let client = self.pool.admin(address, &server).await?;
        let existing: Option<String> = client
            .query_opt(
                address,
                "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1",
                &[&name],
            )
            .await?
            .map(|row| row.get(0));
        if existing.is_some() {
            request
                .adopt
                .check(address, format!("the database {name:?}"))?;
        }
        match existing {
            Some(current) if current != owner => {
                return Err(ProviderError::Conflict {
                    address: address.clone(),
                    message: format!(
                        "a database {name:?} already exists, owned by {current:?} rather than {owner:?}; dbplan adopts only a database owned by the planned owner: choose another `database_name`, or `ALTER DATABASE {} OWNER TO {}` if it is this tenant's",
                        ident(address, name)?,
                        ident(address, owner)?
                    ),
                    source: None,
                });
            }
            Some(_) => tracing::debug!(address = %address, "adopt database {name:?}"),
            None if let Some((cluster, api)) =
                self.digitalocean_cluster(address, &request.context)? =>
            {
                // DigitalOcean keeps its list of databases: the API makes it (owned by the
                // admin), and SQL gives it to the tenant's role.
                api.add_database(address, &cluster, name).await?;
                set_owner(&client, address, name, owner).await?;
            }
            None => {
                act_as(&client, address, owner).await?;
                client
                    .execute_long(
                        address,
                        &format!("create database {name:?} owner {owner:?}"),
                        &format!(
                            "CREATE DATABASE {} OWNER {}",
                            ident(address, name)?,
                            ident(address, owner)?
                        ),
                    )
                    .await?;
            }
        }
        self.configure_database(&client, &server, request, &[])
            .await?;
        database_outputs(request, &server)
    }

    async fn update_database(&self, request: &ChangeRequest) -> Result<Applied, ProviderError> {
        let address = &request.address;
        let database: Database = request.decode()?;
        let name = database.name.as_deref().unwrap_or_default();
        let owner = database.owner.as_deref().unwrap_or_default();
        let server = self
            .tenant_server(address, &request.context, planned_admin(request))
            .await?;
        let client = self.pool.admin(address, &server).await?;
        // Always set: the owner may have been changed outside dbplan (drift), which the
        // recorded value does not show.
        set_owner(&client, address, name, owner).await?;
        let recorded: Database = request.decode_prior()?;
        let removed: Vec<String> = recorded
            .extensions
            .into_iter()
            .filter(|extension| !database.extensions.contains(extension))
            .collect();
        self.configure_database(&client, &server, request, &removed)
            .await?;
        database_outputs(request, &server)
    }

    /// Grants, the `public` schema's owner and the extensions, inside the tenant's database.
    async fn configure_database(
        &self,
        admin: &Connection,
        server: &Server,
        request: &ChangeRequest,
        removed_extensions: &[String],
    ) -> Result<(), ProviderError> {
        let address = &request.address;
        let planned: Database = request.decode()?;
        let name = planned.name.as_deref().unwrap_or_default();
        let owner = planned.owner.as_deref().unwrap_or_default();
        let database = ident(address, name)?;
        let role = ident(address, owner)?;
        execute(
            admin,
            address,
            &format!("grants on database {name:?}"),
            &format!(
                "REVOKE CONNECT, TEMPORARY ON DATABASE {database} FROM PUBLIC; GRANT ALL PRIVILEGES ON DATABASE {database} TO {role}"
            ),
        )
        .await?;
        let client = self.pool.connect(address, server, name).await?;
        execute(
            &client,
            address,
            &format!("schema public of {name:?} owned by {owner:?}"),
            &format!(
                "ALTER SCHEMA public OWNER TO {role}; REVOKE CREATE ON SCHEMA public FROM PUBLIC"
            ),
        )
        .await?;
        for extension in &planned.extensions {
            execute(
                &client,
                address,
                &format!("create extension {extension:?}"),
                &format!(
                    "CREATE EXTENSION IF NOT EXISTS {}",
                    ident(address, extension)?
                ),
            )
            .await?;
        }
        for extension in removed_extensions {
            execute(
                &client,
                address,
                &format!("drop extension {extension:?}"),
                &format!("DROP EXTENSION IF EXISTS {}", ident(address, extension)?),
            )
            .await?;
        }
        Ok(())
    }

    async fn write_secret(&self, request: &ChangeRequest) -> Result<Applied, ProviderError> {
        let address = &request.address;
        let database = request
            .context
            .get(&request.address.part("database"))
            .ok_or_else(|| ProviderError::Conflict {
                address: address.clone(),
                message: "the tenant's database is not recorded; apply it first".to_owned(),
                source: None,
            })?;
        let planned: ConnectionSecret = request.decode()?;
        if let Some(target) = secret_kubernetes::target(&planned) {
            return secret_kubernetes::write(
                self.kubernetes(),
                request,
                &planned,
                &target,
                &database.outputs,
            )
            .await;
        }
        let settings = secret_file_of(planned);
        let file = settings.file.as_deref().unwrap_or_default();
        let format = settings.format.as_deref().unwrap_or("env");
        let recorded_file = recorded_secret_file(request)?;
        let ownership = files::Ownership {
            recorded_file: recorded_file.as_deref(),
            outputs: &request.prior_outputs,
            adopt: request
                .attribute(files::ADOPT_ATTRIBUTE)
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
        };
        let mut outputs = secret_file::write(address, file, format, &database.outputs, ownership)?;
        outputs.insert("file".to_owned(), Field::plain(file));
        Ok(Applied {
            provider_id: Some(file.to_owned()),
            outputs,
        })
    }
}

/// The secret file an update or delete finds recorded.
/// The file and format of a connection secret's attributes (none planned: no file).
fn secret_file_of(secret: ConnectionSecret) -> dbplan_core::kinds::tenant_database::SecretFile {
    secret.connection_secret.unwrap_or_default()
}

/// The file the connection secret was written to, as recorded.
fn recorded_secret_file(request: &ChangeRequest) -> Result<Option<String>, ProviderError> {
    Ok(secret_file_of(request.decode_prior()?).file)
}

/// Removes a recorded secret file while it is still what dbplan wrote. A secret recorded
/// before fingerprints is compared with what dbplan writes from the database's recorded
/// outputs.
fn remove_secret(request: &ChangeRequest, file: &str) -> Result<(), ProviderError> {
    let address = &request.address;
    let recorded = secret_file_of(request.decode_prior()?);
    let format = recorded.format.as_deref().unwrap_or("env");
    let database = request
        .context
        .get(&request.address.part("database"))
        .map(|database| (format, &database.outputs));
    // A changed file is left in place; `remove_owned` logs it, and the plan said so.
    secret_file::remove(address, file, &request.prior_outputs, database).map(drop)
}

/// The outputs of a tenant's database: how applications connect to it.
fn database_outputs(request: &ChangeRequest, server: &Server) -> Result<Applied, ProviderError> {
    let address = &request.address;
    let database: Database = request.decode()?;
    let name = database.name.as_deref().unwrap_or_default();
    let owner = database.owner.as_deref().unwrap_or_default();
    let role = request
        .context
        .get(&request.address.part("role"))
        .ok_or_else(|| ProviderError::Conflict {
            address: address.clone(),
            message: "the tenant's role is not recorded; apply it first".to_owned(),
            source: None,
        })?;
    let password = role
        .outputs
        .get("password")
        .and_then(Field::as_str)
        .ok_or_else(|| ProviderError::Conflict {
            address: address.clone(),
            message: "the tenant's role has no password recorded; run `dbplan plan` and apply again, which sets one".to_owned(),
            source: None,
        })?;
    Ok(Applied {
        provider_id: Some(name.to_owned()),
        outputs: connection_outputs(server, name, owner, Some(password)),
    })
}

/// What a role's create or update records: its name and password.
fn role_applied(name: &str, password: &str) -> Applied {
    let mut outputs = BTreeMap::new();
    outputs.insert("username".to_owned(), Field::plain(name));
    outputs.insert("password".to_owned(), Field::sensitive(password));
    Applied {
        provider_id: Some(name.to_owned()),
        outputs,
    }
}

/// How applications connect to a tenant's database; without the owner's password (an
/// imported role's, which dbplan cannot read), the outputs that carry it are left out.
fn connection_outputs(
    server: &Server,
    name: &str,
    owner: &str,
    password: Option<&str>,
) -> BTreeMap<String, Field> {
    let mut outputs = BTreeMap::new();
    outputs.insert("database".to_owned(), Field::plain(name));
    outputs.insert("username".to_owned(), Field::plain(owner));
    outputs.insert("endpoint".to_owned(), Field::plain(server.host.clone()));
    outputs.insert("port".to_owned(), Field::plain(server.port));
    if let Some(password) = password {
        // An IPv6 address is bracketed in a URI.
        let host = if server.host.contains(':') {
            format!("[{}]", server.host)
        } else {
            server.host.clone()
        };
        let uri = format!(
            "postgresql://{}:{}@{host}:{}/{}?sslmode={}",
            sql::uri_component(owner),
            sql::uri_component(password),
            server.port,
            sql::uri_component(name),
            server.client_sslmode()
        );
        outputs.insert("password".to_owned(), Field::sensitive(password));
        outputs.insert("uri".to_owned(), Field::sensitive(uri));
    }
    outputs
}

/// The role a create would take over, if one of that name exists, with what apply would do
/// to it.
async fn find_role(
    client: &Connection,
    request: &ChangeRequest,
) -> Result<FindOutcome, ProviderError> {
    let address = &request.address;
    let role: Role = request.decode()?;
    let Some(name) = role.name.as_deref() else {
        return Ok(FindOutcome::Unknown);
    };
    let row = client
        .query_opt(
            address,
            "SELECT rolconnlimit, rolcanlogin, rolsuper, rolcreatedb OR rolcreaterole OR rolreplication OR rolbypassrls \
             FROM pg_roles WHERE rolname = $1",
            &[&name],
        )
        .await?;
    let Some(row) = row else {
        return Ok(FindOutcome::Absent);
    };
    let limit: i32 = row.get(0);
    let can_login: bool = row.get(1);
    let superuser: bool = row.get(2);
    let privileged: bool = row.get(3);
    let mut attributes = BTreeMap::new();
    attributes.insert("name".to_owned(), serde_json::Value::from(name));
    if role.connection_limit.is_some() || limit != -1 {
        attributes.insert(
            "connection_limit".to_owned(),
            serde_json::Value::from(limit),
        );
    }
    let mut effects = vec![format!(
        "the role's password will be reset to one dbplan generates: whoever logs in as {name:?} with its current password is locked out"
    )];
    if !can_login {
        effects.push("it will be made a login role (LOGIN)".to_owned());
    }
    if superuser || privileged {
        effects.push(format!(
            "apply cannot adopt it: it {}, and dbplan adopts only a plain login role",
            if superuser {
                "is a superuser"
            } else {
                "has CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS"
            }
        ));
    }
    Ok(FindOutcome::Found(Existing {
        remote: RemoteObject {
            provider_id: Some(name.to_owned()),
            attributes,
            outputs: BTreeMap::new(),
        },
        effects,
    }))
}

/// The database a create would take over, if one of that name exists, with what apply would
/// do to it.
async fn find_database(
    client: &Connection,
    request: &ChangeRequest,
) -> Result<FindOutcome, ProviderError> {
    let address = &request.address;
    let database: Database = request.decode()?;
    let (Some(name), Some(owner)) = (database.name.as_deref(), database.owner.as_deref()) else {
        return Ok(FindOutcome::Unknown);
    };
    let current: Option<String> = client
        .query_opt(
            address,
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1",
            &[&name],
        )
        .await?
        .map(|row| row.get(0));
    let Some(current) = current else {
        return Ok(FindOutcome::Absent);
    };
    let mut attributes = BTreeMap::new();
    attributes.insert("name".to_owned(), serde_json::Value::from(name));
    attributes.insert("owner".to_owned(), serde_json::Value::from(current.clone()));
    let mut effects = vec![format!(
        "PUBLIC loses CONNECT and TEMPORARY on it, {owner:?} is granted all privileges on it and given its `public` schema, and the planned extensions are created in it"
    )];
    if current != owner {
        effects.push(format!(
            "apply cannot adopt it: it is owned by {current:?}, and dbplan adopts only a database owned by the planned owner {owner:?}"
        ));
    }
    Ok(FindOutcome::Found(Existing {
        remote: RemoteObject {
            provider_id: Some(name.to_owned()),
            attributes,
            outputs: BTreeMap::new(),
        },
        effects,
    }))
}

/// The name a role or database is read by: its id (the name apply recorded, or the one
/// `dbplan import` is given), else the recorded name (a `pending` create).
fn read_name(request: &ReadRequest, recorded: Option<String>) -> String {
    request.provider_id.clone().or(recorded).unwrap_or_default()
}

async fn read_role(
    client: &Connection,
    request: &ReadRequest,
) -> Result<ReadOutcome, ProviderError> {
    let address = &request.address;
    let recorded = &request.attributes;
    let role: Role = request.decode()?;
    let name = read_name(request, role.name);
    let name = name.as_str();
    let row = client
        .query_opt(
            address,
            "SELECT rolconnlimit FROM pg_roles WHERE rolname = $1",
            &[&name],
        )
        .await?;
    let Some(row) = row else {
        return Ok(ReadOutcome::Gone);
    };
    let limit: i32 = row.get(0);
    let mut attributes = recorded.clone();
    attributes.insert("name".to_owned(), serde_json::Value::from(name));
    if role.connection_limit.is_some() || limit != -1 {
        attributes.insert(
            "connection_limit".to_owned(),
            serde_json::Value::from(limit),
        );
    }
    // The password cannot be read back: an imported role has none recorded until an apply
    // sets one.
    let mut outputs = BTreeMap::new();
    outputs.insert("username".to_owned(), Field::plain(name));
    Ok(ReadOutcome::Found(RemoteObject {
        provider_id: Some(name.to_owned()),
        attributes,
        outputs,
    }))
}

async fn read_database(
    pool: &Pool,
    client: &Connection,
    server: &Server,
    request: &ReadRequest,
) -> Result<ReadOutcome, ProviderError> {
    let address = &request.address;
    let recorded = &request.attributes;
    let typed: Database = request.decode()?;
    let name = read_name(request, typed.name);
    let name = name.as_str();
    let owner: Option<String> = client
        .query_opt(
            address,
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = $1",
            &[&name],
        )
        .await?
        .map(|row| row.get(0));
    let Some(owner) = owner else {
        return Ok(ReadOutcome::Gone);
    };
    let database = pool.connect(address, server, name).await?;
    let installed: Vec<String> = database
        .query(address, "SELECT extname FROM pg_extension", &[])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    // The recorded extensions that are still there, in their order: a missing one is drift;
    // one installed by someone else is not dbplan's.
    let extensions: Vec<serde_json::Value> = typed
        .extensions
        .into_iter()
        .filter(|extension| installed.contains(extension))
        .map(serde_json::Value::from)
        .collect();
    let mut attributes = recorded.clone();
    attributes.insert("name".to_owned(), serde_json::Value::from(name));
    attributes.insert("owner".to_owned(), serde_json::Value::from(owner.clone()));
    attributes.insert(
        "extensions".to_owned(),
        serde_json::Value::Array(extensions),
    );
    let password = request
        .context
        .get(&request.address.part("role"))
        .and_then(|role| role.outputs.get("password"))
        .and_then(Field::as_str);
    let outputs = connection_outputs(server, name, &owner, password);
    Ok(ReadOutcome::Found(RemoteObject {
        provider_id: Some(name.to_owned()),
        attributes,
        outputs,
    }))
}

/// Gives database `name` to `owner`, the administrator acting as a member of it first.
async fn set_owner(
    client: &Connection,
    address: &ResourceAddress,
    name: &str,
    owner: &str,
) -> Result<(), ProviderError> {
    act_as(client, address, owner).await?;
    execute(
        client,
        address,
        &format!("alter database {name:?} owner to {owner:?}"),
        &format!(
            "ALTER DATABASE {} OWNER TO {}",
            ident(address, name)?,
            ident(address, owner)?
        ),
    )
    .await
}

/// Ends the other sessions on database `name`.
async fn terminate_sessions(
    client: &Connection,
    address: &ResourceAddress,
    name: &str,
) -> Result<(), ProviderError> {
    client
        .execute_with(
            address,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&name],
        )
        .await?;
    Ok(())
}

/// Drops a database, terminating its connections first.
async fn drop_database(
    client: &Connection,
    address: &ResourceAddress,
    name: &str,
) -> Result<(), ProviderError> {
    let version: i32 = client
        .query_one(
            address,
            "SELECT current_setting('server_version_num')::int",
            &[],
        )
        .await?
        .get(0);
    terminate_sessions(client, address, name).await?;
    // `WITH (FORCE)` (PostgreSQL 13 and later) also ends connections that arrive meanwhile.
    let force = if version >= 130_000 {
        " WITH (FORCE)"
    } else {
        ""
    };
    client
        .execute_long(
            address,
            &format!("drop database {name:?}"),
            &format!("DROP DATABASE IF EXISTS {}{force}", ident(address, name)?),
        )
        .await
}
