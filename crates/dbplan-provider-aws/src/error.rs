//! AWS's errors as provider errors.

use aws_sdk_rds::config::http::HttpResponse;
use aws_sdk_rds::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_rds::operation::RequestId;
use dbplan_provider::ProviderError;

/// An SDK error as a provider error, in one readable sentence (the address is put in front of
/// it by `ProviderError`): for an answer of AWS, its HTTP status, error code, message and
/// request id (`AWS answered HTTP 404 DBClusterNotFoundFault: DBCluster orders-db not found
/// (request id 5e2…)`); for a request that got no usable answer, what happened and the chain of
/// causes. Never the SDK's `Debug` form, which holds the raw HTTP response.
fn sdk_error<E>(address: &str, error: SdkError<E, HttpResponse>) -> ProviderError
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

/// The AWS error codes dbplan acts on (each means "that object is not there"), and any other
/// code as AWS wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    /// `DBClusterNotFoundFault`
    DbClusterNotFound,
    /// `DBInstanceNotFound`
    DbInstanceNotFound,
    /// `DBSubnetGroupNotFoundFault`
    DbSubnetGroupNotFound,
    /// `DBParameterGroupNotFound`
    DbParameterGroupNotFound,
    /// `InvalidGroup.NotFound` (a security group)
    SecurityGroupNotFound,
    /// `InvalidVpcID.NotFound`
    VpcNotFound,
    /// `InvalidAllocationID.NotFound` (an Elastic IP)
    AllocationNotFound,
    /// Any other code (`InvalidParameterValue`, `DBClusterAlreadyExistsFault`, …).
    Other(String),
}

impl ErrorCode {
    /// The code AWS answered with.
    pub fn parse(code: &str) -> ErrorCode {
        match code {
            "DBClusterNotFoundFault" => ErrorCode::DbClusterNotFound,
            "DBInstanceNotFound" => ErrorCode::DbInstanceNotFound,
            "DBSubnetGroupNotFoundFault" => ErrorCode::DbSubnetGroupNotFound,
            "DBParameterGroupNotFound" => ErrorCode::DbParameterGroupNotFound,
            "InvalidGroup.NotFound" => ErrorCode::SecurityGroupNotFound,
            "InvalidVpcID.NotFound" => ErrorCode::VpcNotFound,
            "InvalidAllocationID.NotFound" => ErrorCode::AllocationNotFound,
            other => ErrorCode::Other(other.to_owned()),
        }
    }

    /// The code as AWS writes it.
    pub fn as_str(&self) -> &str {
        match self {
            ErrorCode::DbClusterNotFound => "DBClusterNotFoundFault",
            ErrorCode::DbInstanceNotFound => "DBInstanceNotFound",
            ErrorCode::DbSubnetGroupNotFound => "DBSubnetGroupNotFoundFault",
            ErrorCode::DbParameterGroupNotFound => "DBParameterGroupNotFound",
            ErrorCode::SecurityGroupNotFound => "InvalidGroup.NotFound",
            ErrorCode::VpcNotFound => "InvalidVpcID.NotFound",
            ErrorCode::AllocationNotFound => "InvalidAllocationID.NotFound",
            ErrorCode::Other(code) => code,
        }
    }
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The AWS error code of an SDK error, if it is a service error with one.
fn error_code<E, R>(error: &SdkError<E, R>) -> Option<ErrorCode>
where
    E: ProvideErrorMetadata,
{
    match error {
        SdkError::ServiceError(service) => service.err().code().map(ErrorCode::parse),
        _ => None,
    }
}

/// The answer of an SDK call, as the provider reports it: `.at(address)?` in place of
/// `.map_err(|error| sdk_error(address, error))?`.
pub(crate) trait At<T> {
    /// The answer, or the error about `address`.
    fn at(self, address: &str) -> Result<T, ProviderError>;

    /// The answer; `None` when AWS answers `missing` (the object is not there); else the error
    /// about `address`.
    fn unless(self, missing: ErrorCode, address: &str) -> Result<Option<T>, ProviderError>;
}

impl<T, E> At<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn at(self, address: &str) -> Result<T, ProviderError> {
        self.map_err(|error| sdk_error(address, error))
    }

    fn unless(self, missing: ErrorCode, address: &str) -> Result<Option<T>, ProviderError> {
        match self {
            Ok(answer) => Ok(Some(answer)),
            Err(error) if error_code(&error) == Some(missing) => Ok(None),
            Err(error) => Err(sdk_error(address, error)),
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
