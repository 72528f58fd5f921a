//! AWS's errors as provider errors: [`AwsError`] keeps the SDK's error as its source and AWS's
//! code as an [`ErrorCode`]; every SDK call ends in `.at(address)?` or
//! `.unless(ErrorCode::…, address)?` ([`At`]), which makes it a [`ProviderError::Caused`].

use aws_sdk_rds::config::http::HttpResponse;
use aws_sdk_rds::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_rds::operation::RequestId;
use dbplan_core::ResourceAddress;
use dbplan_provider::ProviderError;

/// An error of AWS, or of a request to AWS that got no usable answer. The SDK's error is kept
/// as the [source](std::error::Error::source) and AWS's error code as a typed field; the
/// `Display` is one readable sentence (the resource address is put in front of it by
/// [`ProviderError`]): for an answer of AWS, its HTTP status, error code, message and request
/// id (`AWS answered HTTP 404 DBClusterNotFoundFault: DBCluster orders-db not found (request id
/// 5e2…)`); for a request that got no usable answer, what happened and the chain of causes.
/// Neither it nor its `Debug` ever shows the SDK's `Debug` form, which holds the raw HTTP
/// response.
#[derive(thiserror::Error)]
pub enum AwsError {
    /// AWS answered with an error.
    Service {
        /// The HTTP status of the answer.
        status: u16,
        /// AWS's error code (`None`: an answer that is not an AWS error, an HTML page, say).
        code: Option<ErrorCode>,
        message: Option<String>,
        request_id: Option<String>,
        #[source]
        source: BoxError,
    },
    /// The request got no usable answer.
    NoAnswer {
        failure: Failure,
        #[source]
        source: BoxError,
    },
}

/// The SDK's error, of whichever call.
type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a request got no usable answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// AWS answered with something the SDK cannot read.
    Unreadable {
        status: u16,
        request_id: Option<String>,
    },
    /// The request timed out on its way (the connection, or the answer of an attempt).
    TimedOut,
    /// The request could not be sent (no connection, say).
    NotSent,
    /// AWS did not answer within the operation's time.
    NoAnswerInTime,
    /// The request could not be built (no credentials, say).
    NotBuilt,
    /// Anything else the SDK reports.
    Other,
}

impl AwsError {
    /// The SDK's error, read once: what AWS answered, or why there is no answer.
    pub(crate) fn from_sdk<E>(error: SdkError<E, HttpResponse>) -> AwsError
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        let request_id = |fallback: Option<&str>| {
            error
                .request_id()
                .or(fallback)
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
        };
        let failure = match &error {
            SdkError::ServiceError(service) => {
                let metadata = service.err().meta();
                return AwsError::Service {
                    status: service.raw().status().as_u16(),
                    code: metadata.code().map(ErrorCode::parse),
                    message: metadata.message().map(str::to_owned),
                    request_id: request_id(metadata.request_id()),
                    source: Box::new(error),
                };
            }
            SdkError::ResponseError(response) => Failure::Unreadable {
                status: response.raw().status().as_u16(),
                request_id: request_id(None),
            },
            SdkError::DispatchFailure(failure) if failure.is_timeout() => Failure::TimedOut,
            SdkError::DispatchFailure(_) => Failure::NotSent,
            SdkError::TimeoutError(_) => Failure::NoAnswerInTime,
            SdkError::ConstructionFailure(_) => Failure::NotBuilt,
            _ => Failure::Other,
        };
        AwsError::NoAnswer {
            failure,
            source: Box::new(error),
        }
    }

    /// AWS's error code, when AWS answered with one.
    pub fn code(&self) -> Option<&ErrorCode> {
        match self {
            AwsError::Service { code, .. } => code.as_ref(),
            AwsError::NoAnswer { .. } => None,
        }
    }

    /// Whether the request got no usable answer (trying again may help).
    pub fn is_transient(&self) -> bool {
        matches!(self, AwsError::NoAnswer { .. })
    }

    /// As a provider error about `address`, the cause kept.
    pub(crate) fn at(self, address: &ResourceAddress) -> ProviderError {
        ProviderError::Caused {
            address: address.clone(),
            code: self.code().map(|code| code.to_string().into()),
            transient: self.is_transient(),
            source: Box::new(self),
        }
    }
}

/// ` (request id …)`, or nothing.
fn request_suffix(request_id: Option<&str>) -> String {
    request_id
        .map(|id| format!(" (request id {id})"))
        .unwrap_or_default()
}

impl std::fmt::Display for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (failure, source) = match self {
            AwsError::Service {
                status,
                code: Some(code),
                message,
                request_id,
                ..
            } => {
                let message = message.as_deref().unwrap_or("no message");
                let request = request_suffix(request_id.as_deref());
                return write!(f, "AWS answered HTTP {status} {code}: {message}{request}");
            }
            AwsError::Service {
                status,
                code: None,
                message,
                request_id,
                ..
            } => {
                write!(f, "AWS answered HTTP {status} without an error code")?;
                if let Some(message) = message {
                    write!(f, ": {message}")?;
                }
                return f.write_str(&request_suffix(request_id.as_deref()));
            }
            AwsError::NoAnswer { failure, source } => (failure, source),
        };
        match failure {
            Failure::Unreadable { status, request_id } => write!(
                f,
                "AWS answered HTTP {status} with a response the SDK cannot read{}",
                request_suffix(request_id.as_deref())
            )?,
            Failure::TimedOut => f.write_str("the request to AWS timed out")?,
            Failure::NotSent => f.write_str("the request could not be sent to AWS")?,
            Failure::NoAnswerInTime => f.write_str("AWS did not answer in time")?,
            Failure::NotBuilt => f.write_str("the request to AWS could not be built")?,
            Failure::Other => f.write_str("the request to AWS failed")?,
        }
        // The causes below the SDK's own error, whose text only names the kind of failure.
        let causes = source.source().map(error_chain).unwrap_or_default();
        if causes.is_empty() {
            Ok(())
        } else {
            write!(f, ": {causes}")
        }
    }
}

/// Like the `Display`, so that a `Debug` of a provider error never holds the SDK's `Debug`
/// form (the raw HTTP response).
impl std::fmt::Debug for AwsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AwsError({:?})", self.to_string())
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

/// The answer of an SDK call, as the provider reports it: `.at(address)?`.
pub(crate) trait At<T> {
    /// The answer, or the error about `address`.
    fn at(self, address: &ResourceAddress) -> Result<T, ProviderError>;

    /// The answer; `None` when AWS answers `missing` (the object is not there); else the error
    /// about `address`.
    fn unless(
        self,
        missing: ErrorCode,
        address: &ResourceAddress,
    ) -> Result<Option<T>, ProviderError>;
}

impl<T, E> At<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    fn at(self, address: &ResourceAddress) -> Result<T, ProviderError> {
        self.map_err(|error| AwsError::from_sdk(error).at(address))
    }

    fn unless(
        self,
        missing: ErrorCode,
        address: &ResourceAddress,
    ) -> Result<Option<T>, ProviderError> {
        match self {
            Ok(answer) => Ok(Some(answer)),
            Err(error) if error_code(&error) == Some(missing) => Ok(None),
            Err(error) => Err(AwsError::from_sdk(error).at(address)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::address;
    use aws_sdk_rds::error::{ConnectorError, ErrorMetadata};
    use aws_sdk_rds::operation::describe_db_clusters::DescribeDBClustersError;

    const ADDRESS: &str = "AwsRdsCluster/orders-db/cluster";

    fn sdk_error(
        address: &ResourceAddress,
        error: SdkError<DescribeDBClustersError, HttpResponse>,
    ) -> ProviderError {
        AwsError::from_sdk(error).at(address)
    }

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
            &address(ADDRESS),
            service(
                Some("DBClusterNotFoundFault"),
                "DBCluster orders-db not found.",
                Some("5e2a-77"),
            ),
        );
        assert_eq!(error.code(), Some("DBClusterNotFoundFault"));
        assert!(!error.is_transient(), "{error:?}");
        let text = error.to_string();
        assert_eq!(
            text,
            "AwsRdsCluster/orders-db/cluster: AWS answered HTTP 404 DBClusterNotFoundFault: DBCluster orders-db not found. (request id 5e2a-77)"
        );
        assert_readable(&text);
    }

    #[test]
    fn an_answer_without_an_error_code_says_so() {
        let text = sdk_error(
            &address(ADDRESS),
            service(None, "Internal Server Error", None),
        )
        .to_string();
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
            let error = sdk_error(&address(ADDRESS), error);
            assert!(error.is_transient(), "{error:?}");
            let text = error.to_string();
            assert_eq!(text, format!("{ADDRESS}: {expected}"));
            assert_readable(&text);
        }
    }

    #[test]
    fn codes_round_trip_and_unknown_ones_are_kept() {
        for code in [
            "DBClusterNotFoundFault",
            "DBInstanceNotFound",
            "DBSubnetGroupNotFoundFault",
            "DBParameterGroupNotFound",
            "InvalidGroup.NotFound",
            "InvalidVpcID.NotFound",
            "InvalidAllocationID.NotFound",
            "InvalidParameterValue",
        ] {
            assert_eq!(ErrorCode::parse(code).as_str(), code);
        }
        assert_eq!(
            ErrorCode::parse("DBClusterNotFoundFault"),
            ErrorCode::DbClusterNotFound
        );
        assert_eq!(
            ErrorCode::parse("InvalidParameterValue"),
            ErrorCode::Other("InvalidParameterValue".to_owned())
        );
    }

    #[test]
    fn the_cause_is_kept_typed_and_debug_shows_no_raw_response() {
        let error = sdk_error(
            &address(ADDRESS),
            service(Some("InvalidParameterValue"), "bad port", Some("r-9")),
        );
        let source = std::error::Error::source(&error);
        let aws = source.and_then(|source| source.downcast_ref::<AwsError>());
        let Some(aws) = aws else {
            panic!("no AwsError under {error:?}");
        };
        assert_eq!(
            aws.code(),
            Some(&ErrorCode::Other("InvalidParameterValue".to_owned()))
        );
        let AwsError::Service {
            status, request_id, ..
        } = aws
        else {
            panic!("{aws:?}");
        };
        assert_eq!((*status, request_id.as_deref()), (404, Some("r-9")));
        // Below it, the SDK's own error of the call.
        let sdk = std::error::Error::source(aws);
        assert!(sdk.is_some_and(|sdk| sdk.is::<SdkError<DescribeDBClustersError, HttpResponse>>()));
        let debug = format!("{error:?}");
        assert!(debug.contains("InvalidParameterValue"), "{debug}");
        for fragment in ["HttpResponse", "SdkBody", "raw body", "ErrorMetadata"] {
            assert!(!debug.contains(fragment), "{fragment:?} in {debug}");
        }
    }

    #[test]
    fn a_missing_object_is_none_and_any_other_code_an_error() {
        let missing: Result<(), _> = Err(service(Some("DBClusterNotFoundFault"), "gone", None));
        assert_eq!(
            missing
                .unless(ErrorCode::DbClusterNotFound, &address(ADDRESS))
                .ok(),
            Some(None)
        );
        let other: Result<(), _> = Err(service(Some("DBClusterNotFoundFault"), "gone", None));
        let error = other
            .unless(ErrorCode::DbInstanceNotFound, &address(ADDRESS))
            .err();
        assert_eq!(
            error.as_ref().and_then(ProviderError::code),
            Some("DBClusterNotFoundFault")
        );
        let fine: Result<u8, SdkError<DescribeDBClustersError, HttpResponse>> = Ok(7);
        assert_eq!(fine.at(&address(ADDRESS)).ok(), Some(7));
    }
}
