//! Request and answer helpers every handler uses: DigitalOcean's error shape, reading the JSON
//! body, timestamps, and the paging of lists.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

/// An API error: `{id, message, request_id}`, as every DigitalOcean error is.
#[derive(Debug)]
pub(super) struct ApiError {
    status: StatusCode,
    id: &'static str,
    message: String,
}

impl ApiError {
    pub(super) fn new(
        status: StatusCode,
        id: &'static str,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            id,
            message: message.into(),
        }
    }

    pub(super) fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable_entity",
            message,
        )
    }

    pub(super) fn message(&self) -> &str {
        &self.message
    }

    pub(super) fn not_found() -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "The resource you requested could not be found.",
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "id": self.id,
            "message": self.message,
            "request_id": uuid::Uuid::new_v4().to_string(),
        });
        (self.status, axum::Json(body)).into_response()
    }
}

pub(super) type Answer = Result<Response, ApiError>;

pub(super) fn ok(status: StatusCode, body: Value) -> Answer {
    Ok((status, axum::Json(body)).into_response())
}

pub(super) fn no_content() -> Answer {
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub(super) fn now_text() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|time| {
            time.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

pub(super) fn epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default()
}

/// The request body as JSON: a body that is not a JSON object is DigitalOcean's `400`.
pub(super) fn body(bytes: &Bytes) -> Result<serde_json::Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "error parsing request body",
        )),
    }
}

pub(super) fn required_str<'a>(
    map: &'a serde_json::Map<String, Value>,
    name: &str,
) -> Result<&'a str, ApiError> {
    match map.get(name) {
        Some(Value::String(text)) => Ok(text),
        Some(_) => Err(ApiError::invalid(format!("{name} must be a string"))),
        None => Err(ApiError::invalid(format!("{name} is required"))),
    }
}

pub(super) fn optional_str<'a>(
    map: &'a serde_json::Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, ApiError> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(ApiError::invalid(format!("{name} must be a string"))),
    }
}

pub(super) fn required_int(
    map: &serde_json::Map<String, Value>,
    name: &str,
) -> Result<i64, ApiError> {
    match map.get(name) {
        Some(value) => value
            .as_i64()
            .ok_or_else(|| ApiError::invalid(format!("{name} must be an integer"))),
        None => Err(ApiError::invalid(format!("{name} is required"))),
    }
}

pub(super) fn optional_int(
    map: &serde_json::Map<String, Value>,
    name: &str,
) -> Result<Option<i64>, ApiError> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_i64()
            .map(Some)
            .ok_or_else(|| ApiError::invalid(format!("{name} must be an integer"))),
    }
}

/// One page of `items` under `key`, with `links.pages` and `meta.total` as the API pages lists.
pub(super) fn page(
    key: &str,
    items: Vec<Value>,
    query: &BTreeMap<String, String>,
    headers: &HeaderMap,
    path: &str,
) -> Answer {
    let per_page = query
        .get("per_page")
        .and_then(|value| value.parse::<usize>().ok())
        .unwrap_or(20)
        .clamp(1, 200);
    let page = query
        .get("page")
        .and_then(|value| value.parse::<usize>().ok())
        .unwrap_or(1)
        .max(1);
    let total = items.len();
    let last = total.div_ceil(per_page).max(1);
    let host = headers
        .get("host")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("127.0.0.1");
    let link = |number: usize| format!("http://{host}{path}?page={number}&per_page={per_page}");
    let mut pages = serde_json::Map::new();
    if page > 1 {
        pages.insert("first".to_owned(), json!(link(1)));
        pages.insert("prev".to_owned(), json!(link(page - 1)));
    }
    if page < last {
        pages.insert("next".to_owned(), json!(link(page + 1)));
        pages.insert("last".to_owned(), json!(link(last)));
    }
    let shown: Vec<Value> = items
        .into_iter()
        .skip((page - 1).saturating_mul(per_page))
        .take(per_page)
        .collect();
    let mut body = json!({key: shown, "links": {}, "meta": {"total": total}});
    if !pages.is_empty() {
        body["links"] = json!({"pages": pages});
    }
    ok(StatusCode::OK, body)
}
