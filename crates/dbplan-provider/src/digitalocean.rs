//! What a provider that manages tenant databases on a DigitalOcean cluster asks DigitalOcean
//! for: [`DigitalOceanDatabases`]. The cluster's connection and CA come from the API; the users and databases endpoints do what they can (a
//! user's password is generated and returned by the API); the rest (ownership, extensions,
//! connection limits) is SQL over the cluster's admin connection. The implementation over the
//! API lives in the DigitalOcean provider's crate.

use crate::{BoxFuture, ProviderError};
use dbplan_core::ResourceAddress;
use std::fmt;

/// The cluster's admin connection, as the API reports it (`connection` of the cluster).
#[derive(Clone, PartialEq, Eq)]
pub struct AdminLogin {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    /// The default database (`defaultdb`).
    pub database: String,
}

impl fmt::Debug for AdminLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminLogin")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("password", &"(sensitive)")
            .field("database", &self.database)
            .finish()
    }
}

/// DigitalOcean's database users and databases of one cluster (`cluster` is its id). Errors
/// are about `address`, the tenant part that asked.
pub trait DigitalOceanDatabases: Send + Sync {
    /// The cluster's admin connection, read now (`GET /v2/databases/{id}`).
    fn admin_login<'a>(
        &'a self,
        address: &'a ResourceAddress,
        cluster: &'a str,
    ) -> BoxFuture<'a, Result<AdminLogin, ProviderError>>;

    /// The cluster's CA certificate, PEM (`GET /v2/databases/{id}/ca`), which its servers'
    /// certificates are signed by.
    fn ca_certificate<'a>(
        &'a self,
        address: &'a ResourceAddress,
        cluster: &'a str,
    ) -> BoxFuture<'a, Result<String, ProviderError>>;

    /// Adds a user (`POST …/users`); its password, which DigitalOcean generates. `None` when a
    /// user of that name exists already.
    fn add_user<'a>(
        &'a self,
        address: &'a ResourceAddress,
        cluster: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, ProviderError>>;

    /// A user's password as the API reports it (`GET …/users/{name}`); `None` when there is
    /// no such user.
    fn user_password<'a>(
        &'a self,
        address: &'a ResourceAddress,
        cluster: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Option<String>, ProviderError>>;

    /// Deletes a user (`DELETE …/users/{name}`); one that is gone already is no error.
    fn delete_user<'a>(
        &'a self,
        address: &'a ResourceAddress,
        cluster: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<(), ProviderError>>;

    /// Adds a database (`POST …/dbs`); `false` when one of that name exists already.
    fn add_database<'a>(
        &'a self,
        address: &'a ResourceAddress,
        cluster: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<bool, ProviderError>>;

    /// Deletes a database (`DELETE …/dbs/{name}`); one that is gone already is no error.
    fn delete_database<'a>(
        &'a self,
        address: &'a ResourceAddress,
        cluster: &'a str,
        name: &'a str,
    ) -> BoxFuture<'a, Result<(), ProviderError>>;
}
