//! Errors as the API server answers them: a `Status` object (`kind: Status`, `status: Failure`,
//! `message`, `reason`, `details`, `code`) with the matching HTTP status.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value as Json, json};

/// A field error of an admission check, as `k8s.io/apimachinery`'s `field.Error`.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldError {
    /// The field, as the API server writes it: `spec.instances`, `spec.roles[0].name`.
    pub field: String,
    pub kind: FieldErrorKind,
    /// The value found (rendered in the message of `Invalid`, `NotSupported`, `Duplicate`).
    pub value: Option<Json>,
    /// What is wrong.
    pub detail: String,
    /// The whole body as an admission library already rendered it (`Invalid value: 0: should
    /// be greater than or equal to 1`); `value` and `detail` are then not rendered.
    pub rendered: Option<String>,
}

/// The kind of a field error; its cause type is `FieldValue<kind>`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FieldErrorKind {
    Invalid,
    Required,
    NotSupported,
    Forbidden,
    Duplicate,
    TooLong,
    TooMany,
}

impl FieldError {
    /// `field.Invalid(path, value, detail)`.
    pub fn invalid(field: &str, value: Json, detail: &str) -> FieldError {
        FieldError {
            field: field.to_owned(),
            kind: FieldErrorKind::Invalid,
            value: Some(value),
            detail: detail.to_owned(),
            rendered: None,
        }
    }

    /// `field.Required(path, detail)`.
    pub fn required(field: &str, detail: &str) -> FieldError {
        FieldError {
            field: field.to_owned(),
            kind: FieldErrorKind::Required,
            value: None,
            detail: detail.to_owned(),
            rendered: None,
        }
    }

    fn cause_type(&self) -> &'static str {
        match self.kind {
            FieldErrorKind::Invalid => "FieldValueInvalid",
            FieldErrorKind::Required => "FieldValueRequired",
            FieldErrorKind::NotSupported => "FieldValueNotSupported",
            FieldErrorKind::Forbidden => "FieldValueForbidden",
            FieldErrorKind::Duplicate => "FieldValueDuplicate",
            FieldErrorKind::TooLong => "FieldValueTooLong",
            FieldErrorKind::TooMany => "FieldValueTooMany",
        }
    }

    /// `field.Error.ErrorBody()`: `Invalid value: 0: must be at least 1`.
    pub fn body(&self) -> String {
        if let Some(rendered) = &self.rendered {
            return rendered.clone();
        }
        let value = || match &self.value {
            Some(Json::String(text)) => format!("{text:?}"),
            Some(Json::Object(_)) => "\"object\"".to_owned(),
            Some(Json::Array(_)) => "\"array\"".to_owned(),
            Some(other) => other.to_string(),
            None => "null".to_owned(),
        };
        let head = match self.kind {
            FieldErrorKind::Invalid => format!("Invalid value: {}", value()),
            FieldErrorKind::Required => "Required value".to_owned(),
            FieldErrorKind::NotSupported => format!("Unsupported value: {}", value()),
            FieldErrorKind::Forbidden => "Forbidden".to_owned(),
            FieldErrorKind::Duplicate => format!("Duplicate value: {}", value()),
            FieldErrorKind::TooLong => "Too long".to_owned(),
            FieldErrorKind::TooMany => "Too many".to_owned(),
        };
        if self.detail.is_empty() {
            head
        } else {
            format!("{head}: {}", self.detail)
        }
    }
}

/// A failure `Status`.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    pub(crate) code: StatusCode,
    pub(crate) reason: &'static str,
    pub(crate) message: String,
    pub(crate) details: Option<Box<Json>>,
    pub(crate) retry_after: Option<u64>,
}

/// What names the object an error is about: `clusters.postgresql.cnpg.io "x"`.
#[derive(Debug, Clone)]
pub(crate) struct Target<'a> {
    pub(crate) group: &'a str,
    /// The plural (`clusters`), as the API server puts it in `details.kind` of most errors.
    pub(crate) plural: &'a str,
    pub(crate) name: &'a str,
}

impl Target<'_> {
    fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_owned()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    fn details(&self) -> Json {
        let mut details = json!({"name": self.name, "kind": self.plural});
        if !self.group.is_empty() {
            details["group"] = json!(self.group);
        }
        details
    }
}

impl ApiError {
    pub(crate) fn new(code: StatusCode, reason: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            reason,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    pub(crate) fn not_found(target: &Target<'_>) -> Self {
        ApiError {
            details: Some(Box::new(target.details())),
            ..ApiError::new(
                StatusCode::NOT_FOUND,
                "NotFound",
                format!("{} {:?} not found", target.qualified(), target.name),
            )
        }
    }

    pub(crate) fn already_exists(target: &Target<'_>) -> Self {
        ApiError {
            details: Some(Box::new(target.details())),
            ..ApiError::new(
                StatusCode::CONFLICT,
                "AlreadyExists",
                format!("{} {:?} already exists", target.qualified(), target.name),
            )
        }
    }

    /// A stale `resourceVersion`.
    pub(crate) fn conflict(target: &Target<'_>) -> Self {
        ApiError {
            details: Some(Box::new(target.details())),
            ..ApiError::new(
                StatusCode::CONFLICT,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} {:?}: the object has been modified; please apply your changes to the latest version and try again",
                    target.qualified(),
                    target.name
                ),
            )
        }
    }

    /// `422 Invalid`: `Cluster.postgresql.cnpg.io "x" is invalid: spec.instances: ...`.
    pub(crate) fn invalid(group: &str, kind: &str, name: &str, errors: &[FieldError]) -> Self {
        let qualified = if group.is_empty() {
            kind.to_owned()
        } else {
            format!("{kind}.{group}")
        };
        let rendered: Vec<String> = errors
            .iter()
            .map(|error| format!("{}: {}", error.field, error.body()))
            .collect();
        let message = match rendered.as_slice() {
            [] => format!("{qualified} {name:?} is invalid"),
            [one] => format!("{qualified} {name:?} is invalid: {one}"),
            many => format!("{qualified} {name:?} is invalid: [{}]", many.join(", ")),
        };
        let causes: Vec<Json> = errors
            .iter()
            .map(|error| {
                json!({"reason": error.cause_type(), "message": error.body(), "field": error.field})
            })
            .collect();
        let mut details = json!({"name": name, "kind": kind, "causes": causes});
        if !group.is_empty() {
            details["group"] = json!(group);
        }
        ApiError {
            details: Some(Box::new(details)),
            ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", message)
        }
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "BadRequest", message)
    }

    pub(crate) fn unsupported_media_type(content_type: &str) -> Self {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            format!(
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml (not {content_type:?})"
            ),
        )
    }

    pub(crate) fn method_not_allowed() -> Self {
        ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )
    }

    pub(crate) fn too_many_requests(retry_after: u64) -> Self {
        ApiError {
            details: Some(Box::new(json!({"retryAfterSeconds": retry_after}))),
            retry_after: Some(retry_after),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "Too many requests, please try again later.",
            )
        }
    }

    pub(crate) fn internal(message: &str) -> Self {
        ApiError {
            details: Some(Box::new(json!({"causes": [{"message": message}]}))),
            ..ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalError",
                format!("Internal error occurred: {message}"),
            )
        }
    }

    pub(crate) fn unauthorized() -> Self {
        ApiError::new(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized")
    }

    pub(crate) fn body(&self) -> Json {
        let mut body = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code.as_u16(),
        });
        if let Some(details) = &self.details {
            body["details"] = (**details).clone();
        }
        body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.code, axum::Json(self.body())).into_response();
        if let Some(seconds) = self.retry_after
            && let Ok(value) = HeaderValue::from_str(&seconds.to_string())
        {
            response.headers_mut().insert("retry-after", value);
        }
        response
    }
}
