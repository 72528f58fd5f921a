//! The AWS provider: `AwsVpc` and `AwsSecurityGroup` through `aws-sdk-ec2`; the parts of an
//! `AwsRdsCluster` (security group, DB subnet group, cluster parameter group, the Aurora
//! cluster) and `AwsRdsClusterInstance` through `aws-sdk-rds`.
//!
//! - Credentials and endpoints come from aws-config's standard chain (environment, profiles,
//!   `AWS_ENDPOINT_URL`); the region from the manifest (`region`), else the chain.
//! - Throttling and 5xx answers are retried by the SDK (standard retry mode, with backoff);
//!   other errors are reported with AWS's error code and the resource address.
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
//! This crate is the only user of the AWS SDK.

mod ec2;
mod find;
mod rds;
mod timeouts;

use aws_config::BehaviorVersion;
use aws_sdk_rds::config::http::HttpResponse;
use aws_sdk_rds::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_rds::operation::RequestId;
use dbplan_core::Kind;
pub(crate) use dbplan_provider::wait_until;
use dbplan_provider::{
    Applied, BoxFuture, ChangeRequest, Context, Field, FindOutcome, Provider, ProviderError,
    ReadOutcome, ReadRequest,
};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

/// The AWS provider.
#[derive(Default)]
pub struct AwsProvider {
    clients: tokio::sync::Mutex<BTreeMap<String, Clients>>,
    /// How long create and delete wait for a cluster or instance.
    wait: Mutex<Option<Duration>>,
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
}

/// Default time a create or delete waits for a cluster or instance (Aurora takes minutes).
const DEFAULT_WAIT: Duration = Duration::from_secs(60 * 60);

impl AwsProvider {
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets how long create and delete wait for a cluster or instance.
    pub fn with_wait(self, wait: Duration) -> Self {
        if let Ok(mut current) = self.wait.lock() {
            *current = Some(wait);
        }
        self
    }

    fn wait_limit(&self) -> Duration {
        self.wait
            .lock()
            .ok()
            .and_then(|wait| *wait)
            .unwrap_or(DEFAULT_WAIT)
    }

    /// The clients of a region (`None`: the chain's region), with the request timeouts; an
    /// error about `address` when a timeout variable has a bad value.
    pub(crate) async fn clients(
        &self,
        address: &str,
        region: Option<&str>,
    ) -> Result<Clients, ProviderError> {
        let timeouts = self
            .timeouts
            .get_or_init(timeouts::Timeouts::from_env)
            .clone()
            .map_err(|message| ProviderError::Conflict {
                address: address.to_owned(),
                message,
            })?;
        let key = region.unwrap_or_default().to_owned();
        let mut clients = self.clients.lock().await;
        if let Some(found) = clients.get(&key) {
            return Ok(found.clone());
        }
        let mut loader =
            aws_config::defaults(BehaviorVersion::latest()).timeout_config(timeouts.config());
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
        };
        clients.insert(key, made.clone());
        Ok(made)
    }
}

/// An SDK error as a provider error, in one readable sentence (the address is put in front of
/// it by `ProviderError`): for an answer of AWS, its HTTP status, error code, message and
/// request id (`AWS answered HTTP 404 DBClusterNotFoundFault: DBCluster orders-db not found
/// (request id 5e2…)`); for a request that got no usable answer, what happened and the chain of
/// causes. Never the SDK's `Debug` form, which holds the raw HTTP response.
pub(crate) fn sdk_error<E>(address: &str, error: SdkError<E, HttpResponse>) -> ProviderError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let request_id = |fallback: Option<&str>| match error.request_id().or(fallback) {
        Some(id) if !id.is_empty() => format!(" (request id {id})"),
        _ => String::new(),
    };
    let transport = |what: &str, cause: Option<&(dyn std::error::Error + 'static)>| {
        let causes = cause.map(error_chain).unwrap_or_default();
        ProviderError::Transport {
            address: address.to_owned(),
            message: if causes.is_empty() {
                what.to_owned()
            } else {
                format!("{what}: {causes}")
            },
        }
    };
    match &error {
        SdkError::ServiceError(service) => {
            let status = service.raw().status().as_u16();
            let metadata = service.err().meta();
            let request = request_id(metadata.request_id());
            match metadata.code() {
                Some(code) => ProviderError::Api {
                    address: address.to_owned(),
                    code: Some(code.to_owned()),
                    message: format!(
                        "AWS answered HTTP {status} {code}: {}{request}",
                        metadata.message().unwrap_or("no message")
                    ),
                },
                // An answer that is not an AWS error (an HTML error page, say).
                None => ProviderError::Api {
                    address: address.to_owned(),
                    code: None,
                    message: format!(
                        "AWS answered HTTP {status} without an error code{}{request}",
                        metadata
                            .message()
                            .map(|message| format!(": {message}"))
                            .unwrap_or_default()
                    ),
                },
            }
        }
        SdkError::ResponseError(response) => transport(
            &format!(
                "AWS answered HTTP {} with a response the SDK cannot read{}",
                response.raw().status().as_u16(),
                request_id(None)
            ),
            std::error::Error::source(&error),
        ),
        SdkError::DispatchFailure(failure) => transport(
            if failure.is_timeout() {
                "the request to AWS timed out"
            } else {
                "the request could not be sent to AWS"
            },
            std::error::Error::source(&error),
        ),
        SdkError::TimeoutError(_) => transport(
            "AWS did not answer in time",
            std::error::Error::source(&error),
        ),
        SdkError::ConstructionFailure(_) => transport(
            "the request to AWS could not be built",
            std::error::Error::source(&error),
        ),
        _ => transport(
            "the request to AWS failed",
            std::error::Error::source(&error),
        ),
    }
}

/// An error and its causes, each once, as `first: second: third`.
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !cause_text.is_empty() && !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The AWS error code of an SDK error, if it is a service error.
pub(crate) fn error_code<E, R>(error: &aws_sdk_rds::error::SdkError<E, R>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    match error {
        aws_sdk_rds::error::SdkError::ServiceError(service) => service.err().code(),
        _ => None,
    }
}

/// Attribute helpers over planned or recorded JSON values.
pub(crate) struct Attributes<'a>(pub(crate) &'a BTreeMap<String, serde_json::Value>);

impl Attributes<'_> {
    pub(crate) fn text(&self, name: &str) -> Option<String> {
        match self.0.get(name)? {
            serde_json::Value::String(text) if !text.is_empty() => Some(text.clone()),
            serde_json::Value::Number(number) => Some(number.to_string()),
            _ => None,
        }
    }

    pub(crate) fn flag(&self, name: &str) -> Option<bool> {
        self.0.get(name).and_then(serde_json::Value::as_bool)
    }

    pub(crate) fn int(&self, name: &str) -> Option<i64> {
        self.0.get(name).and_then(|value| {
            value
                .as_i64()
                .or_else(|| value.as_str().and_then(|text| text.parse().ok()))
        })
    }

    pub(crate) fn float(&self, name: &str) -> Option<f64> {
        self.0.get(name).and_then(serde_json::Value::as_f64)
    }

    pub(crate) fn texts(&self, name: &str) -> Vec<String> {
        self.0
            .get(name)
            .and_then(serde_json::Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| match item {
                        serde_json::Value::String(text) => Some(text.clone()),
                        serde_json::Value::Object(map) => map
                            .get("value")
                            .and_then(serde_json::Value::as_str)
                            .map(str::to_owned),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    pub(crate) fn get(&self, name: &str) -> Option<&serde_json::Value> {
        self.0.get(name)
    }
}

/// The plain planned attributes of a request, and its secrets by name.
pub(crate) fn split(
    request: &ChangeRequest,
) -> (
    BTreeMap<String, serde_json::Value>,
    BTreeMap<String, String>,
) {
    let mut plain = BTreeMap::new();
    let mut secrets = BTreeMap::new();
    for (name, field) in &request.attributes {
        if field.sensitive {
            if let Some(text) = field.as_str() {
                secrets.insert(name.clone(), text.to_owned());
            }
        } else {
            plain.insert(name.clone(), field.value.clone());
        }
    }
    (plain, secrets)
}

/// The `metadata.name` of an address (`Kind/name[/part]`).
pub(crate) fn resource_name(address: &str) -> &str {
    address.split('/').nth(1).unwrap_or(address)
}

/// A recorded output of a context object, as text.
pub(crate) fn context_output(context: &Context, address: &str, output: &str) -> Option<String> {
    context
        .get(address)?
        .outputs
        .get(output)
        .and_then(Field::as_str)
        .map(str::to_owned)
}

/// Which object a request is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Object {
    Vpc,
    SecurityGroup,
    ClusterSecurityGroup,
    SubnetGroup,
    ParameterGroup,
    Cluster,
    Instance,
}

fn object(address: &str, kind: Kind, part: Option<&str>) -> Result<Object, ProviderError> {
    Ok(match (kind, part) {
        (Kind::AwsVpc, None) => Object::Vpc,
        (Kind::AwsSecurityGroup, None) => Object::SecurityGroup,
        (Kind::AwsRdsCluster, Some("security-group")) => Object::ClusterSecurityGroup,
        (Kind::AwsRdsCluster, Some("subnet-group")) => Object::SubnetGroup,
        (Kind::AwsRdsCluster, Some("parameter-group")) => Object::ParameterGroup,
        (Kind::AwsRdsCluster, Some("cluster")) => Object::Cluster,
        (Kind::AwsRdsClusterInstance, None) => Object::Instance,
        _ => {
            return Err(ProviderError::Unsupported {
                address: address.to_owned(),
                message: format!("the AWS provider does not manage {kind} objects like this one"),
            });
        }
    })
}

/// The region of a request: its own `region`, else its cluster's (an instance), else the
/// chain's.
fn region(attributes: &BTreeMap<String, serde_json::Value>, context: &Context) -> Option<String> {
    Attributes(attributes).text("region").or_else(|| {
        context
            .values()
            .find_map(|recorded| Attributes(&recorded.attributes).text("region"))
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
        )
    }

    fn read<'a>(
        &'a self,
        request: &'a ReadRequest,
    ) -> BoxFuture<'a, Result<ReadOutcome, ProviderError>> {
        Box::pin(async move {
            let object = object(&request.address, request.kind, request.part.as_deref())?;
            let clients = self
                .clients(
                    &request.address,
                    region(&request.attributes, &request.context).as_deref(),
                )
                .await?;
            match object {
                Object::Vpc => ec2::read_vpc(&clients, request).await,
                Object::SecurityGroup | Object::ClusterSecurityGroup => {
                    ec2::read_security_group(&clients, request).await
                }
                Object::SubnetGroup => rds::read_subnet_group(&clients, request).await,
                Object::ParameterGroup => rds::read_parameter_group(&clients, request).await,
                Object::Cluster => rds::read_cluster(&clients, request).await,
                Object::Instance => rds::read_instance(&clients, request).await,
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
            let object = object(&request.address, request.kind, request.part.as_deref())?;
            let (plain, _) = split(request);
            let clients = self
                .clients(
                    &request.address,
                    region(&plain, &request.context).as_deref(),
                )
                .await?;
            match object {
                Object::Vpc => find::vpc(&clients, request).await,
                Object::SecurityGroup => {
                    find::security_group(&clients, request, &plain, false).await
                }
                Object::ClusterSecurityGroup => {
                    find::security_group(&clients, request, &plain, true).await
                }
                Object::SubnetGroup => find::subnet_group(&clients, request).await,
                Object::ParameterGroup => find::parameter_group(&clients, request, &plain).await,
                Object::Cluster => find::cluster(&clients, request).await,
                Object::Instance => find::instance(&clients, request, &plain).await,
            }
        })
    }

    fn create<'a>(
        &'a self,
        request: &'a ChangeRequest,
    ) -> BoxFuture<'a, Result<Applied, ProviderError>> {
        Box::pin(async move { self.apply(request, true).await })
    }

    fn update<'a>(
        &'a self,
        request: &'a ChangeRequest,
    ) -> BoxFuture<'a, Result<Applied, ProviderError>> {
        Box::pin(async move { self.apply(request, false).await })
    }

    fn delete<'a>(
        &'a self,
        request: &'a ChangeRequest,
    ) -> BoxFuture<'a, Result<(), ProviderError>> {
        Box::pin(async move {
            let object = object(&request.address, request.kind, request.part.as_deref())?;
            let prior: BTreeMap<String, serde_json::Value> = request
                .prior
                .iter()
                .filter(|(_, field)| !field.sensitive)
                .map(|(name, field)| (name.clone(), field.value.clone()))
                .collect();
            let clients = self
                .clients(
                    &request.address,
                    region(&prior, &request.context).as_deref(),
                )
                .await?;
            let limit = self.wait_limit();
            match object {
                Object::Vpc => ec2::delete_vpc(&clients, request, limit).await,
                Object::SecurityGroup | Object::ClusterSecurityGroup => {
                    ec2::delete_security_group(&clients, request).await
                }
                Object::SubnetGroup => rds::delete_subnet_group(&clients, request).await,
                Object::ParameterGroup => rds::delete_parameter_group(&clients, request).await,
                Object::Cluster => rds::delete_cluster(&clients, request, &prior, limit).await,
                Object::Instance => rds::delete_instance(&clients, request, limit).await,
            }
        })
    }
}

impl AwsProvider {
    async fn apply(&self, request: &ChangeRequest, create: bool) -> Result<Applied, ProviderError> {
        let object = object(&request.address, request.kind, request.part.as_deref())?;
        let (plain, secrets) = split(request);
        let clients = self
            .clients(
                &request.address,
                region(&plain, &request.context).as_deref(),
            )
            .await?;
        let limit = self.wait_limit();
        match object {
            Object::Vpc => ec2::apply_vpc(&clients, request, &plain, create).await,
            Object::SecurityGroup => {
                ec2::apply_security_group(&clients, request, &plain, create, false).await
            }
            Object::ClusterSecurityGroup => {
                ec2::apply_security_group(&clients, request, &plain, create, true).await
            }
            Object::SubnetGroup => rds::apply_subnet_group(&clients, request, &plain, create).await,
            Object::ParameterGroup => {
                rds::apply_parameter_group(&clients, request, &plain, create).await
            }
            Object::Cluster => {
                rds::apply_cluster(&clients, request, &plain, &secrets, create, limit).await
            }
            Object::Instance => rds::apply_instance(&clients, request, &plain, create, limit).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_rds::error::{ConnectorError, ErrorMetadata};
    use aws_sdk_rds::operation::describe_db_clusters::DescribeDBClustersError;

    const ADDRESS: &str = "AwsRdsCluster/orders-db/cluster";

    fn response(status: u16, request_id: Option<&str>) -> HttpResponse {
        let mut response = HttpResponse::new(
            status.try_into().unwrap_or_else(|_| panic!("{status}")),
            "<ErrorResponse><Error>raw body</Error></ErrorResponse>".into(),
        );
        if let Some(id) = request_id {
            response
                .headers_mut()
                .insert("x-amzn-requestid", id.to_owned());
        }
        response
    }

    fn service(
        code: Option<&str>,
        message: &str,
        request_id: Option<&str>,
    ) -> SdkError<DescribeDBClustersError, HttpResponse> {
        let mut metadata = ErrorMetadata::builder().message(message);
        if let Some(code) = code {
            metadata = metadata.code(code);
        }
        SdkError::service_error(
            DescribeDBClustersError::generic(metadata.build()),
            response(404, request_id),
        )
    }

    /// The sentence has no trace of the SDK's `Debug` form or of the raw response.
    fn assert_readable(text: &str) {
        for fragment in ["HttpResponse", "SdkBody", "{", "raw body", "ErrorMetadata"] {
            assert!(!text.contains(fragment), "{fragment:?} in {text:?}");
        }
        assert!(!text.contains('\n'), "{text:?}");
    }

    #[test]
    fn a_service_error_has_status_code_message_request_id_and_address() {
        let error = sdk_error(
            ADDRESS,
            service(
                Some("DBClusterNotFoundFault"),
                "DBCluster orders-db not found.",
                Some("5e2a-77"),
            ),
        );
        let ProviderError::Api { code, .. } = &error else {
            panic!("{error:?}");
        };
        assert_eq!(code.as_deref(), Some("DBClusterNotFoundFault"));
        let text = error.to_string();
        assert_eq!(
            text,
            "AwsRdsCluster/orders-db/cluster: AWS answered HTTP 404 DBClusterNotFoundFault: DBCluster orders-db not found. (request id 5e2a-77)"
        );
        assert_readable(&text);
    }

    #[test]
    fn an_answer_without_an_error_code_says_so() {
        let text = sdk_error(ADDRESS, service(None, "Internal Server Error", None)).to_string();
        assert_eq!(
            text,
            "AwsRdsCluster/orders-db/cluster: AWS answered HTTP 404 without an error code: Internal Server Error"
        );
        assert_readable(&text);
    }

    #[test]
    fn requests_without_a_usable_answer_give_the_kind_and_the_causes() {
        let refused: SdkError<DescribeDBClustersError, HttpResponse> =
            SdkError::dispatch_failure(ConnectorError::io(Box::new(std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                "tcp connect error: Connection refused",
            ))));
        let timed_out: SdkError<DescribeDBClustersError, HttpResponse> = SdkError::timeout_error(
            "operation timeout (all attempts including retries) occurred after 30s",
        );
        let unreadable: SdkError<DescribeDBClustersError, HttpResponse> =
            SdkError::response_error("invalid XML: unexpected end", response(200, Some("r-1")));
        let unbuilt: SdkError<DescribeDBClustersError, HttpResponse> =
            SdkError::construction_failure("no credentials in the chain");
        for (error, expected) in [
            (
                refused,
                "the request could not be sent to AWS: io error: tcp connect error: Connection refused",
            ),
            (
                timed_out,
                "AWS did not answer in time: operation timeout (all attempts including retries) occurred after 30s",
            ),
            (
                unreadable,
                "AWS answered HTTP 200 with a response the SDK cannot read (request id r-1): invalid XML: unexpected end",
            ),
            (
                unbuilt,
                "the request to AWS could not be built: no credentials in the chain",
            ),
        ] {
            let error = sdk_error(ADDRESS, error);
            assert!(
                matches!(error, ProviderError::Transport { .. }),
                "{error:?}"
            );
            let text = error.to_string();
            assert_eq!(text, format!("{ADDRESS}: {expected}"));
            assert_readable(&text);
        }
    }
}
