//! The AWS provider: `AwsVpc` and `AwsSecurityGroup` through `aws-sdk-ec2`; the parts of an
//! `AwsRdsCluster` (security group, DB subnet group, cluster parameter group, the Aurora
//! cluster) and `AwsRdsClusterInstance` through `aws-sdk-rds`.
//!
//! - Credentials and endpoints come from aws-config's standard chain (environment, profiles,
//!   `AWS_ENDPOINT_URL`); the region from the manifest (`region`), else the chain.
//! - Throttling and 5xx answers are retried by the SDK (standard retry mode, with backoff);
//!   other errors are reported with AWS's error code and the resource address, the SDK's
//!   error kept as their source (module `error`).
//! - Every attempt is bounded: the connection by `DBPLAN_CONNECT_TIMEOUT` (10 s), the answer
//!   by `DBPLAN_READ_TIMEOUT` (60 s); a timeout names the step, `host:port` and the variable
//!   to raise (module `timeouts`).
//! - Describe before create: an object that already exists is taken over only when the request
//!   permits it (an interrupted create of dbplan's own, or the manifest's opt-in) and it matches
//!   what the manifest asks for; otherwise the create fails and says why, or how to opt in.
//!   [`Provider::find`] runs the same lookup for the plan.
//! - Create and delete wait for the cluster or instance to be `available` or gone, with
//!   backoff and a timeout.
//!
//! One module per object (`ec2::{vpc, nat, security_group}`, `rds::{subnet_group,
//! parameter_group, cluster, instance}`): each decodes its planned attributes once into its
//! kind's typed part (`dbplan_core::kinds`, `request.decode()`), turns that into what AWS takes,
//! and builds its requests from it in pure functions, unit-tested without AWS.
//!
//! [`kms::Kms`] is AWS KMS for the state's encryption at rest (data keys wrapped by a KMS
//! key), synchronous, for the CLI to hand to `dbplan-state`.
//!
//! This crate is the only user of the AWS SDK.

mod attributes;
mod ec2;
mod error;
mod find;
pub mod kms;
mod login;
mod rds;
#[cfg(test)]
mod testing;
mod timeouts;

pub use error::ErrorCode;

use attributes::Action;
use aws_config::BehaviorVersion;
use dbplan_core::kinds::Region;
use dbplan_core::{Kind, Part, ResourceAddress};
use dbplan_provider::{
    Applied, BoxFuture, ChangeRequest, Context, FindOutcome, Provider, ProviderError, ReadOutcome,
    ReadRequest,
};
use ec2::security_group::SecurityGroupKind;
use std::collections::BTreeMap;
use std::time::Duration;

/// The AWS provider.
#[derive(Default)]
pub struct AwsProvider {
    clients: tokio::sync::Mutex<BTreeMap<String, Clients>>,
    /// How long create and delete wait for a cluster or instance ([`DEFAULT_WAIT`] if unset).
    wait: Option<Duration>,
    /// The bounds of every request, read from the environment once, on first use.
    timeouts: std::sync::OnceLock<Result<timeouts::Timeouts, String>>,
}

impl std::fmt::Debug for AwsProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AwsProvider")
    }
}

#[derive(Clone)]
pub(crate) struct Clients {
    pub(crate) rds: aws_sdk_rds::Client,
    pub(crate) ec2: aws_sdk_ec2::Client,
    pub(crate) secrets: aws_sdk_secretsmanager::Client,
    /// The region and credentials the clients were made with (an IAM token is signed with them).
    pub(crate) config: aws_config::SdkConfig,
}

/// Default time a create or delete waits for a cluster or instance (Aurora takes minutes).
const DEFAULT_WAIT: Duration = Duration::from_secs(60 * 60);

impl AwsProvider {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets how long create and delete wait for a cluster or instance.
    pub fn with_wait(self, wait: Duration) -> Self {
        AwsProvider {
            wait: Some(wait),
            ..self
        }
    }

    fn wait_limit(&self) -> Duration {
        self.wait.unwrap_or(DEFAULT_WAIT)
    }

    /// The clients of a region (`None`: the chain's region), with the request timeouts; an
    /// error about `address` when a timeout variable has a bad value.
    pub(crate) async fn clients(
        &self,
        address: &ResourceAddress,
        region: Option<&str>,
    ) -> Result<Clients, ProviderError> {
        let timeouts = self
            .timeouts
            .get_or_init(timeouts::Timeouts::from_env)
            .clone()
            .map_err(|message| ProviderError::Conflict {
                address: address.clone(),
                message,
                source: None,
            })?;
        let key = region.unwrap_or_default().to_owned();
        let mut clients = self.clients.lock().await;
        if let Some(found) = clients.get(&key) {
            return Ok(found.clone());
        }
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .timeout_config(timeouts.config())
            .http_client(https_client());
        if let Some(region) = region {
            loader = loader.region(aws_config::Region::new(region.to_owned()));
        }
        let config = loader.load().await;
        let made = Clients {
            rds: aws_sdk_rds::Client::from_conf(
                aws_sdk_rds::config::Builder::from(&config)
                    .interceptor(timeouts::ExplainTimeouts::new(timeouts))
                    .build(),
            ),
            ec2: aws_sdk_ec2::Client::from_conf(
                aws_sdk_ec2::config::Builder::from(&config)
                    .interceptor(timeouts::ExplainTimeouts::new(timeouts))
                    .build(),
            ),
            secrets: aws_sdk_secretsmanager::Client::from_conf(
                aws_sdk_secretsmanager::config::Builder::from(&config)
                    .interceptor(timeouts::ExplainTimeouts::new(timeouts))
                    .build(),
            ),
            config,
        };
        clients.insert(key, made.clone());
        Ok(made)
    }
}

/// The SDK's HTTPS client: rustls with ring, the crypto library every other client of dbplan
/// uses too (the SDK's default client would bring a second one), trusting the platform's
/// certificates.
fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// Which object a request is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Object {
    Vpc,
    SecurityGroup(SecurityGroupKind),
    SubnetGroup,
    ParameterGroup,
    Cluster,
    Instance,
    /// A cluster only read (`AwsRdsClusterReference`).
    Reference,
}

fn object(address: &ResourceAddress, part: &Part) -> Result<Object, ProviderError> {
    let kind = address.kind;
    Ok(match (kind, part) {
        (Kind::AwsVpc, Part::Whole) => Object::Vpc,
        (Kind::AwsSecurityGroup, Part::Whole) => {
            Object::SecurityGroup(SecurityGroupKind::Standalone)
        }
        (Kind::AwsRdsCluster, Part::SecurityGroup) => {
            Object::SecurityGroup(SecurityGroupKind::ClusterPart)
        }
        (Kind::AwsRdsCluster, Part::SubnetGroup) => Object::SubnetGroup,
        (Kind::AwsRdsCluster, Part::ParameterGroup) => Object::ParameterGroup,
        (Kind::AwsRdsCluster, Part::Cluster) => Object::Cluster,
        (Kind::AwsRdsClusterInstance, Part::Whole) => Object::Instance,
        (Kind::AwsRdsClusterReference, Part::Whole) => Object::Reference,
        _ => {
            return Err(ProviderError::Unsupported {
                address: address.clone(),
                message: format!("the AWS provider does not manage {kind} objects like this one"),
            });
        }
    })
}

/// The region of a request: its own `region`, else its cluster's (an instance), else the
/// chain's.
fn region(own: Region, context: &Context) -> Option<String> {
    own.region.or_else(|| {
        context.iter().find_map(|(address, recorded)| {
            recorded
                .decode::<Region>(address)
                .ok()
                .and_then(|found| found.region)
        })
    })
}

impl Provider for AwsProvider {
    fn name(&self) -> &str {
        "aws"
    }

    fn handles(&self, kind: Kind) -> bool {
        matches!(
            kind,
            Kind::AwsVpc
                | Kind::AwsSecurityGroup
                | Kind::AwsRdsCluster
                | Kind::AwsRdsClusterInstance
                | Kind::AwsRdsClusterReference
        )
    }

    fn read<'a>(
        &'a self,
        request: &'a ReadRequest,
    ) -> BoxFuture<'a, Result<ReadOutcome, ProviderError>> {
        Box::pin(async move {
            let object = object(&request.address, &request.part()?)?;
            let clients = self
                .clients(
                    &request.address,
                    region(request.decode()?, &request.context).as_deref(),
                )
                .await?;
            match object {
                Object::Vpc => ec2::vpc::read(&clients, request).await,
                Object::SecurityGroup(kind) => {
                    ec2::security_group::read(&clients, request, kind).await
                }
                Object::SubnetGroup => rds::subnet_group::read(&clients, request).await,
                Object::ParameterGroup => rds::parameter_group::read(&clients, request).await,
                Object::Cluster => rds::cluster::read(&clients, request).await,
                Object::Instance => rds::instance::read(&clients, request).await,
                Object::Reference => rds::reference::read(&clients, request).await,
            }
        })
    }

    /// When the environment names credentials (keys, a profile, a web identity or container
    /// credentials) or a shared credentials or config file exists: what aws-config's chain
    /// finds without asking the instance metadata service, which a first plan must not wait on.
    fn can_look_up(&self, _request: &ChangeRequest) -> bool {
        let set = |name: &str| std::env::var_os(name).is_some_and(|value| !value.is_empty());
        let named = [
            "AWS_ACCESS_KEY_ID",
            "AWS_PROFILE",
            "AWS_WEB_IDENTITY_TOKEN_FILE",
            "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
            "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        ]
        .iter()
        .any(|name| set(name));
        let file = |variable: &str, default: &str| {
            std::env::var_os(variable)
                .map(std::path::PathBuf::from)
                .or_else(|| {
                    std::env::var_os("HOME").map(|home| std::path::Path::new(&home).join(default))
                })
                .is_some_and(|path| path.is_file())
        };
        named
            || file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials")
            || file("AWS_CONFIG_FILE", ".aws/config")
    }

    fn find<'a>(
        &'a self,
        request: &'a ChangeRequest,
    ) -> BoxFuture<'a, Result<FindOutcome, ProviderError>> {
        Box::pin(async move {
            let object = object(&request.address, &request.part()?)?;
            let clients = self
                .clients(
                    &request.address,
                    region(request.decode()?, &request.context).as_deref(),
                )
                .await?;
            match object {
                Object::Vpc => find::vpc(&clients, request).await,
                Object::SecurityGroup(kind) => find::security_group(&clients, request, kind).await,
                Object::SubnetGroup => find::subnet_group(&clients, request).await,
                Object::ParameterGroup => find::parameter_group(&clients, request).await,
                Object::Cluster => find::cluster(&clients, request).await,
                Object::Instance => find::instance(&clients, request).await,
                // Nothing is created, so nothing is taken over: the cluster is only read.
                Object::Reference => Ok(FindOutcome::Unknown),
            }
        })
    }

    fn create<'a>(
        &'a self,
        request: &'a ChangeRequest,
    ) -> BoxFuture<'a, Result<Applied, ProviderError>> {
        Box::pin(async move { self.apply(request, Action::Create).await })
    }

    fn update<'a>(
        &'a self,
        request: &'a ChangeRequest,
    ) -> BoxFuture<'a, Result<Applied, ProviderError>> {
        Box::pin(async move { self.apply(request, Action::Update).await })
    }

    fn delete<'a>(
        &'a self,
        request: &'a ChangeRequest,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let object = object(&request.address, &request.part()?)?;
            let clients = self
                .clients(
                    &request.address,
                    region(request.decode_prior()?, &request.context).as_deref(),
                )
                .await?;
            let limit = self.wait_limit();
            match object {
                Object::Vpc => ec2::vpc::delete(&clients, request, limit).await,
                Object::SecurityGroup(_) => ec2::security_group::delete(&clients, request).await,
                Object::SubnetGroup => rds::subnet_group::delete(&clients, request).await,
                Object::ParameterGroup => rds::parameter_group::delete(&clients, request).await,
                Object::Cluster => rds::cluster::delete(&clients, request, limit).await,
                Object::Instance => rds::instance::delete(&clients, request, limit).await,
                // dbplan never deletes a referenced cluster: it only forgets it.
                Object::Reference => Ok(()),
            }
        })
    }
}

impl AwsProvider {
    async fn apply(
        &self,
        request: &ChangeRequest,
        action: Action,
    ) -> Result<Applied, ProviderError> {
        let object = object(&request.address, &request.part()?)?;
        let clients = self
            .clients(
                &request.address,
                region(request.decode()?, &request.context).as_deref(),
            )
            .await?;
        let limit = self.wait_limit();
        match object {
            Object::Vpc => ec2::vpc::apply(&clients, request, action).await,
            Object::SecurityGroup(kind) => {
                ec2::security_group::apply(&clients, request, action, kind).await
            }
            Object::SubnetGroup => rds::subnet_group::apply(&clients, request, action).await,
            Object::ParameterGroup => rds::parameter_group::apply(&clients, request, action).await,
            Object::Cluster => rds::cluster::apply(&clients, request, action, limit).await,
            Object::Instance => rds::instance::apply(&clients, request, action, limit).await,
            Object::Reference => rds::reference::apply(&clients, request).await,
        }
    }
}
