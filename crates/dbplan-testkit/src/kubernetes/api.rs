//! The HTTP side: the gate every API request passes (counting, the bearer token, injected
//! faults), discovery, and the dispatch of resource paths
//! (`/api/v1/namespaces/{ns}/secrets/{name}`, `/apis/{group}/{version}[/namespaces/{ns}]/{plural}[/{name}[/status]]`)
//! to the store's operations.

use super::resources::{self, Resource};
use super::status::ApiError;
use super::store::{self, Options, Request};
use super::{Failure, FailureRule, Fault, FaultRule, SERVER_VERSION, Shared, lock, patch, table};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, put};
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::sync::Arc;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/_fake/stats", get(fake_stats))
        .route(
            "/_fake/faults",
            axum::routing::post(add_fault).delete(clear_faults),
        )
        .route("/_fake/status-delay", put(set_delay))
        .route("/_fake/failures", put(add_failure).delete(clear_failures))
        .route("/", any(handle))
        .route("/{*path}", any(handle))
        .with_state(shared)
}

async fn fake_stats(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(lock(&shared.stats).clone()).into_response()
}

async fn add_fault(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    match serde_json::from_slice::<FaultRule>(&bytes) {
        Ok(rule) => {
            lock(&shared.faults).push(rule);
            StatusCode::NO_CONTENT.into_response()
        }
        Err(error) => ApiError::bad_request(format!("not a fault rule: {error}")).into_response(),
    }
}

async fn clear_faults(State(shared): State<Arc<Shared>>) -> Response {
    lock(&shared.faults).clear();
    StatusCode::NO_CONTENT.into_response()
}

async fn set_delay(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    let milliseconds = serde_json::from_slice::<Json>(&bytes)
        .ok()
        .and_then(|body| body.get("milliseconds").and_then(Json::as_u64));
    match milliseconds {
        Some(milliseconds) => {
            *lock(&shared.status_delay) = std::time::Duration::from_millis(milliseconds);
            StatusCode::NO_CONTENT.into_response()
        }
        None => ApiError::bad_request("expected {\"milliseconds\": N}").into_response(),
    }
}

async fn add_failure(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Response {
    match serde_json::from_slice::<FailureRule>(&bytes) {
        Ok(rule) => {
            lock(&shared.operator).failing.insert(
                (rule.kind, rule.namespace, rule.name),
                Failure { ..rule.failure },
            );
            StatusCode::NO_CONTENT.into_response()
        }
        Err(error) => ApiError::bad_request(format!("not a failure rule: {error}")).into_response(),
    }
}

async fn clear_failures(State(shared): State<Arc<Shared>>) -> Response {
    lock(&shared.operator).failing.clear();
    StatusCode::NO_CONTENT.into_response()
}

/// Whether `text` matches `pattern`, where `*` matches any run of characters.
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return pattern == text;
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    for (index, part) in parts.iter().enumerate() {
        if index + 1 == parts.len() {
            return rest.ends_with(part);
        }
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.is_empty()
}

/// The fault for this request, if a rule has one left.
fn take_fault(shared: &Shared, method: &Method, path: &str) -> Option<Fault> {
    let mut rules = lock(&shared.faults);
    let rule = rules.iter_mut().find(|rule| {
        rule.count > 0
            && rule
                .verb
                .as_deref()
                .is_none_or(|verb| verb.eq_ignore_ascii_case(method.as_str()))
            && glob(&rule.path, path)
    })?;
    rule.count -= 1;
    let fault = rule.fault.clone();
    rules.retain(|rule| rule.count > 0);
    Some(fault)
}

/// Whether the request carries the token, or none at all when anonymous requests are allowed
/// (client-go reads a kubeconfig's credentials only for a TLS server, so `kubectl` sends none
/// to this plain-HTTP fake).
fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    match headers.get("authorization") {
        None => shared.anonymous,
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .is_some_and(|given| given.trim() == shared.token),
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().trim_end_matches('/').to_owned();
    {
        let mut stats = lock(&shared.stats);
        stats.requests += 1;
        *stats
            .by_request
            .entry(format!("{method} {}", uri.path()))
            .or_default() += 1;
    }
    let open = matches!(
        path.as_str(),
        "/version" | "/healthz" | "/livez" | "/readyz"
    );
    if !open && !authorized(&shared, &headers) {
        return ApiError::unauthorized().into_response();
    }
    if let Some(fault) = take_fault(&shared, &method, uri.path()) {
        let name = match &fault {
            Fault::Conflict => "409",
            Fault::TooManyRequests { .. } => "429",
            Fault::InternalError => "500",
            Fault::Timeout => "timeout",
        };
        *lock(&shared.stats)
            .faults
            .entry(name.to_owned())
            .or_default() += 1;
        return injected(&shared, fault, &path).await;
    }
    let host = headers
        .get("host")
        .and_then(|value| value.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned();
    if method == Method::GET && query.get("watch").is_some_and(|w| w == "true" || w == "1") {
        return match watch_request(&shared, &path, &query) {
            Ok(response) => response,
            Err(error) => error.into_response(),
        };
    }
    let mut warnings = Vec::new();
    let answer = route(
        &shared,
        &method,
        &path,
        &query,
        &headers,
        &body,
        &host,
        &mut warnings,
    );
    let mut response = match answer {
        Ok((code, body)) => (code, axum::Json(body)).into_response(),
        Err(error) => error.into_response(),
    };
    for warning in warnings {
        if let Ok(value) = HeaderValue::from_str(&format!("299 - {warning:?}")) {
            response.headers_mut().append("warning", value);
        }
    }
    response
}

async fn injected(shared: &Shared, fault: Fault, path: &str) -> Response {
    match fault {
        Fault::Conflict => {
            let name = path.rsplit('/').next().unwrap_or_default();
            let plural = path.rsplit('/').nth(1).unwrap_or_default();
            ApiError::conflict(&super::status::Target {
                group: "",
                plural,
                name,
            })
            .into_response()
        }
        Fault::TooManyRequests {
            retry_after_seconds,
        } => ApiError::too_many_requests(retry_after_seconds).into_response(),
        Fault::InternalError => ApiError::internal("injected fault").into_response(),
        Fault::Timeout => {
            let mut stopping = shared.stopping.subscribe();
            let _ = stopping.wait_for(|stop| *stop).await;
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "the server is shutting down",
            )
            .into_response()
        }
    }
}

type Answer = store::Answer;

/// Where a request goes.
// Long: the dispatch table of the API's paths, one arm per kind of path.
#[expect(clippy::too_many_arguments, reason = "the parts of one HTTP request")]
fn route(
    shared: &Shared,
    method: &Method,
    path: &str,
    query: &BTreeMap<String, String>,
    headers: &HeaderMap,
    body: &Bytes,
    host: &str,
    warnings: &mut Vec<String>,
) -> Answer {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let ok = |body: Json| Ok((StatusCode::OK, body));
    let not_found = || {
        let mut error = ApiError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            "the server could not find the requested resource",
        );
        error.details = Some(Box::new(
            json!({"causes": [{"reason": "UnexpectedServerResponse", "message": "404 page not found"}]}),
        ));
        error
    };
    let world = lock(&shared.world);
    let discovery = method == Method::GET;
    match segments.as_slice() {
        ["version"] => ok(
            json!({"major": "1", "minor": "33", "gitVersion": SERVER_VERSION,
            "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
            "buildDate": "2026-01-01T00:00:00Z", "goVersion": "go1.24.0", "compiler": "gc",
            "platform": "linux/amd64"}),
        ),
        ["healthz"] | ["livez"] | ["readyz"] => ok(json!("ok")),
        ["api"] if discovery => ok(resources::core_versions(host)),
        ["apis"] if discovery => ok(resources::group_list(&world.resources)),
        ["api", version] if discovery => resources::resource_list(&world.resources, "", version)
            .map_or_else(|| Err(not_found()), ok),
        ["apis", group] if discovery => {
            let list = resources::group_list(&world.resources);
            list["groups"]
                .as_array()
                .and_then(|groups| groups.iter().find(|g| g["name"] == json!(group)))
                .map(|g| {
                    let mut g = g.clone();
                    g["kind"] = json!("APIGroup");
                    g["apiVersion"] = json!("v1");
                    g
                })
                .map_or_else(|| Err(not_found()), ok)
        }
        ["apis", group, version] if discovery => {
            resources::resource_list(&world.resources, group, version)
                .map_or_else(|| Err(not_found()), ok)
        }
        ["openapi", "v3"] if discovery => ok(resources::openapi_index(&world.resources)),
        ["openapi", "v3", "api", version] if discovery => {
            resources::openapi_document(&world.resources, "", version)
                .map_or_else(|| Err(not_found()), ok)
        }
        ["openapi", "v3", "apis", group, version] if discovery => {
            resources::openapi_document(&world.resources, group, version)
                .map_or_else(|| Err(not_found()), ok)
        }
        ["api", version, rest @ ..] => {
            let request = parse(&world.resources, "", version, rest).ok_or_else(not_found)?;
            drop(world);
            resource(shared, method, request, query, headers, body, warnings)
        }
        ["apis", group, version, rest @ ..] => {
            let request = parse(&world.resources, group, version, rest).ok_or_else(not_found)?;
            drop(world);
            resource(shared, method, request, query, headers, body, warnings)
        }
        _ => Err(not_found()),
    }
}

/// A watch of a collection (`/apis/{group}/{version}[/namespaces/{ns}]/{plural}?watch=true`).
fn watch_request(
    shared: &Arc<Shared>,
    path: &str,
    query: &BTreeMap<String, String>,
) -> Result<Response, ApiError> {
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let request = {
        let world = lock(&shared.world);
        match segments.as_slice() {
            ["api", version, rest @ ..] => parse(&world.resources, "", version, rest),
            ["apis", group, version, rest @ ..] => parse(&world.resources, group, version, rest),
            _ => None,
        }
    }
    .filter(|request| request.name.is_none())
    .ok_or_else(|| {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NotFound",
            "the server could not find the requested resource",
        )
    })?;
    let labels = store::parse_selector(query.get("labelSelector").map_or("", String::as_str))?;
    let fields_wanted =
        parse_field_selector(query.get("fieldSelector").map_or("", String::as_str))?;
    Ok(super::watch::watch(
        shared.clone(),
        request,
        labels,
        fields_wanted,
        query,
    ))
}

/// The request a resource path names: `[namespaces/{ns}/]{plural}[/{name}[/status]]`.
fn parse(resources: &[Resource], group: &str, version: &str, rest: &[&str]) -> Option<Request> {
    let find = |plural: &str| {
        resources.iter().find(|r| {
            r.group == group && r.plural == plural && r.versions.iter().any(|v| v == version)
        })
    };
    let namespaced = match rest {
        ["namespaces", namespace, plural, tail @ ..]
            if find(plural).is_some_and(|r| r.namespaced) =>
        {
            Some((Some((*namespace).to_owned()), *plural, tail))
        }
        _ => None,
    };
    let (namespace, plural, tail) = match namespaced {
        Some(found) => found,
        None => {
            let (plural, tail) = rest.split_first()?;
            (None, *plural, tail)
        }
    };
    let resource = find(plural)?;
    let (name, subresource) = match tail {
        [] => (None, ""),
        [name] => (Some((*name).to_owned()), ""),
        [name, "status"] if resource.status_subresource => (Some((*name).to_owned()), "status"),
        _ => return None,
    };
    // A cluster-scoped resource has no namespaced path, and a named namespaced object needs its
    // namespace (only lists may span every namespace).
    if resource.namespaced && namespace.is_none() && name.is_some() {
        return None;
    }
    Some(Request {
        resource: resource.clone(),
        version: version.to_owned(),
        namespace,
        name,
        subresource: subresource.to_owned(),
    })
}

/// `application/json` when no type is given; parameters dropped.
fn media_type(headers: &HeaderMap) -> String {
    headers
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .map(|value| {
            value
                .split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .filter(|value| !value.is_empty())
        .unwrap_or_else(|| "application/json".to_owned())
}

fn parse_body(bytes: &Bytes, yaml: bool) -> Result<Json, ApiError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| ApiError::bad_request("the request body is not UTF-8"))?;
    let parsed = if yaml {
        serde_saphyr::from_str::<Json>(text).map_err(|error| error.to_string())
    } else {
        serde_json::from_str::<Json>(text).map_err(|error| error.to_string())
    };
    parsed
        .map_err(|error| ApiError::bad_request(format!("error decoding the request body: {error}")))
}

/// The options of a write, from the query (and a `DeleteOptions` body).
fn options(query: &BTreeMap<String, String>, headers: &HeaderMap) -> Result<Options, ApiError> {
    let dry_run = match query.get("dryRun").map(String::as_str) {
        None | Some("") => false,
        Some("All") => true,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "Invalid dryRun value: {other:?}; supported values: \"All\""
            )));
        }
    };
    let manager = match query.get("fieldManager") {
        Some(manager) => manager.clone(),
        None => headers
            .get("user-agent")
            .and_then(|value| value.to_str().ok())
            .map(|agent| {
                agent
                    .split('/')
                    .next()
                    .unwrap_or_default()
                    .chars()
                    .take(128)
                    .collect()
            })
            .unwrap_or_default(),
    };
    Ok(Options {
        dry_run,
        manager,
        force: query.get("force").is_some_and(|force| force == "true"),
        strict: query.get("fieldValidation").is_some_and(|v| v == "Strict"),
        warnings: Vec::new(),
    })
}

fn invalid_option(field: &str, error: super::status::FieldError) -> ApiError {
    ApiError::invalid("meta.k8s.io", field, "", &[error])
}

// Long: one arm per verb on a resource path.
fn resource(
    shared: &Shared,
    method: &Method,
    request: Request,
    query: &BTreeMap<String, String>,
    headers: &HeaderMap,
    body: &Bytes,
    warnings: &mut Vec<String>,
) -> Answer {
    let mut opts = options(query, headers)?;
    let admission = &shared.admission;
    let named = request.name.is_some();
    let wants_table = headers
        .get("accept")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("as=Table"));
    let include = query
        .get("includeObject")
        .map_or("Metadata", String::as_str);
    let result = match (method.as_str(), named) {
        ("GET", true) => {
            let answer = lock(&shared.world).get(&request);
            if wants_table {
                answer.map(|(code, body)| (code, table::render(&request, body, include)))
            } else {
                answer
            }
        }
        ("GET", false) => {
            let labels =
                store::parse_selector(query.get("labelSelector").map_or("", String::as_str))?;
            let fields_wanted =
                parse_field_selector(query.get("fieldSelector").map_or("", String::as_str))?;
            let answer = lock(&shared.world).list(&request, &labels, &fields_wanted);
            if wants_table {
                answer.map(|(code, body)| (code, table::render(&request, body, include)))
            } else {
                answer
            }
        }
        ("POST", false) => {
            let body = parse_body(body, media_type(headers).contains("yaml"))?;
            lock(&shared.world).create(&request, body, &mut opts, admission)
        }
        ("PUT", true) => {
            let body = parse_body(body, media_type(headers).contains("yaml"))?;
            lock(&shared.world).update(&request, body, &mut opts, admission)
        }
        ("PATCH", true) => {
            let explicit = query.get("fieldManager").is_some_and(|m| !m.is_empty());
            patch_request(shared, &request, headers, body, &mut opts, explicit)
        }
        ("DELETE", true) => {
            let options = if body.is_empty() {
                json!({})
            } else {
                parse_body(body, false)?
            };
            let policy = query
                .get("propagationPolicy")
                .cloned()
                .or_else(|| {
                    options
                        .get("propagationPolicy")
                        .and_then(Json::as_str)
                        .map(str::to_owned)
                })
                .unwrap_or_else(|| "Background".to_owned());
            if !matches!(policy.as_str(), "Foreground" | "Background" | "Orphan") {
                return Err(ApiError::bad_request(format!(
                    "propagationPolicy: Unsupported value: {policy:?}: supported values: \"Foreground\", \"Background\", \"Orphan\""
                )));
            }
            let dry_run = opts.dry_run
                || options
                    .get("dryRun")
                    .and_then(Json::as_array)
                    .is_some_and(|list| list.iter().any(|v| v == "All"));
            lock(&shared.world).delete(&request, &policy, dry_run)
        }
        _ => Err(ApiError::method_not_allowed()),
    };
    warnings.append(&mut opts.warnings);
    result
}

fn patch_request(
    shared: &Shared,
    request: &Request,
    headers: &HeaderMap,
    body: &Bytes,
    opts: &mut Options,
    explicit_manager: bool,
) -> Answer {
    let admission = &shared.admission;
    let media = media_type(headers);
    if media != "application/apply-patch+yaml" && opts.force {
        return Err(invalid_option(
            "PatchOptions",
            super::status::FieldError {
                field: "force".to_owned(),
                kind: super::status::FieldErrorKind::Forbidden,
                value: None,
                detail: "may not be specified for non-apply patch".to_owned(),
                rendered: None,
            },
        ));
    }
    match media.as_str() {
        "application/apply-patch+yaml" => {
            if !explicit_manager {
                return Err(invalid_option(
                    "PatchOptions",
                    super::status::FieldError::required(
                        "fieldManager",
                        "is required for apply patch",
                    ),
                ));
            }
            let config = parse_body(body, true)?;
            lock(&shared.world).apply(request, config, opts, admission)
        }
        "application/merge-patch+json" => {
            let change = parse_body(body, false)?;
            lock(&shared.world).patch(
                request,
                |object| {
                    let mut object = object.clone();
                    patch::merge_patch(&mut object, &change);
                    Ok(object)
                },
                opts,
                admission,
            )
        }
        "application/strategic-merge-patch+json" if request.resource.builtin => {
            let change = parse_body(body, false)?;
            lock(&shared.world).patch(
                request,
                |object| {
                    let mut object = object.clone();
                    patch::merge_patch(&mut object, &change);
                    Ok(object)
                },
                opts,
                admission,
            )
        }
        "application/json-patch+json" => {
            let operations = parse_body(body, false)?;
            lock(&shared.world).patch(
                request,
                |object| {
                    patch::json_patch(object, &operations).map_err(|message| {
                        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", message)
                    })
                },
                opts,
                admission,
            )
        }
        other => Err(ApiError::unsupported_media_type(other)),
    }
}

fn parse_field_selector(selector: &str) -> Result<Vec<(String, bool, String)>, ApiError> {
    let mut out = Vec::new();
    for part in selector.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (field, equal, value) = if let Some((field, value)) = part.split_once("!=") {
            (field, false, value)
        } else if let Some((field, value)) = part.split_once("==") {
            (field, true, value)
        } else if let Some((field, value)) = part.split_once('=') {
            (field, true, value)
        } else {
            return Err(ApiError::bad_request(format!("invalid selector: {part:?}")));
        };
        if !matches!(field.trim(), "metadata.name" | "metadata.namespace") {
            return Err(ApiError::bad_request(format!(
                "field label not supported: {}",
                field.trim()
            )));
        }
        out.push((field.trim().to_owned(), equal, value.trim().to_owned()));
    }
    Ok(out)
}
