//! What a provider that manages tenant databases on an Aurora cluster asks AWS for, to log in
//! as the cluster's master user: [`AwsLogin`]. Its implementation over the AWS SDK lives in the
//! AWS provider's crate; this one only says what may be asked.
//!
//! Values go one way: the password and the token are returned to the caller, which uses them
//! for one connection and never records them. Their `Debug` is redacted.

use crate::{BoxFuture, ProviderError};
use dbplan_core::ResourceAddress;
use std::fmt;

/// The master user's login from the secret RDS manages in AWS Secrets Manager.
#[derive(Clone, PartialEq, Eq)]
pub struct MasterLogin {
    /// The secret's `username`.
    pub username: String,
    /// The secret's `password`.
    pub password: String,
}

impl fmt::Debug for MasterLogin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MasterLogin")
            .field("username", &self.username)
            .field("password", &"(sensitive)")
            .finish()
    }
}

/// Where an IAM authentication token logs in: the endpoint and port it is signed for, and the
/// database user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenTarget<'a> {
    pub host: &'a str,
    pub port: u16,
    pub user: &'a str,
}

/// AWS as a source of database logins; `region` is the cluster's (`None`: the AWS
/// configuration chain's). Errors are about `address`, the tenant part that asked.
pub trait AwsLogin: Send + Sync {
    /// The current value of the RDS-managed master user secret `secret_arn`
    /// (`GetSecretValue`), read from its `username` and `password` keys.
    fn master_secret<'a>(
        &'a self,
        address: &'a ResourceAddress,
        region: Option<&'a str>,
        secret_arn: &'a str,
    ) -> BoxFuture<'a, Result<MasterLogin, ProviderError>>;

    /// An IAM authentication token for `target` (a presigned `rds-db:connect` request, valid
    /// for 15 minutes), signed with the chain's credentials.
    fn iam_token<'a>(
        &'a self,
        address: &'a ResourceAddress,
        region: Option<&'a str>,
        target: TokenTarget<'a>,
    ) -> BoxFuture<'a, Result<String, ProviderError>>;
}
