//! The routes of the fake, one handler per API operation, and the gate every API request
//! passes: authentication, latency, fault injection and the `ratelimit-*` headers.

use super::model::{Cluster, Pool, Rule, Stats, Status, User, Vpc, World};
use super::{FakeConfig, Faults};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{MatchedPath, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Value, json};
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The engine options DigitalOcean publishes, from dbplan's snapshot of them.
const OPTIONS: &str = include_str!("../../../../policies/data/digitalocean-database-options.json");

/// DigitalOcean's rate limit: requests per hour and token.
const HOURLY_LIMIT: u64 = 5000;

pub(crate) struct Shared {
    world: Mutex<World>,
    config: Mutex<FakeConfig>,
    rng: Mutex<fastrand::Rng>,
    stats: Mutex<Stats>,
    /// When each request of the last hour arrived (for `ratelimit-remaining`).
    window: Mutex<VecDeque<Instant>>,
    /// `{options, version_availability}`.
    options: Value,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A handler that panicked while holding a lock leaves its data usable: every change to the
    // world is made in one step after validation.
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Shared {
    pub(crate) fn new(config: FakeConfig) -> Shared {
        let mut options: Value = serde_json::from_str(OPTIONS).unwrap_or_default();
        if let Some(map) = options.as_object_mut() {
            map.remove("snapshot");
        }
        let world = Mutex::new(World::default());
        let shared = Shared {
            rng: Mutex::new(fastrand::Rng::with_seed(config.faults.seed)),
            world,
            config: Mutex::new(config),
            stats: Mutex::new(Stats::default()),
            window: Mutex::new(VecDeque::new()),
            options,
        };
        shared.seed_default_vpcs();
        shared
    }

    /// A default VPC in every region, when the configuration asks for them.
    fn seed_default_vpcs(&self) {
        if !lock(&self.config).default_vpcs {
            return;
        }
        let regions = self
            .engine("pg")
            .map(|pg| Shared::strings(pg.get("regions")))
            .unwrap_or_default();
        let mut world = lock(&self.world);
        for region in regions {
            default_vpc(&mut world, &region);
        }
    }

    pub(crate) fn stats(&self) -> Stats {
        lock(&self.stats).clone()
    }

    pub(crate) fn set_faults(&self, faults: Faults) {
        *lock(&self.rng) = fastrand::Rng::with_seed(faults.seed);
        lock(&self.config).faults = faults;
    }

    pub(crate) fn set_delays(&self, create: Duration, resize: Duration) {
        let mut config = lock(&self.config);
        config.create_delay = create;
        config.resize_delay = resize;
    }

    pub(crate) fn set_latency(&self, latency: Duration) {
        lock(&self.config).latency = latency;
    }

    pub(crate) fn token(&self) -> Option<String> {
        lock(&self.config).token.clone()
    }

    pub(crate) fn passwords(&self) -> Vec<String> {
        lock(&self.world).passwords.clone()
    }

    pub(crate) fn reset(&self) {
        *lock(&self.world) = World::default();
        *lock(&self.stats) = Stats::default();
        lock(&self.window).clear();
        self.seed_default_vpcs();
    }

    fn engine(&self, engine: &str) -> Option<&Value> {
        self.options.get("options")?.get(engine)
    }

    fn strings(value: Option<&Value>) -> Vec<String> {
        value
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(|item| item.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The sizes the engine offers with `num_nodes` nodes (`None`: no such layout).
    fn sizes(&self, engine: &str, num_nodes: i64) -> Option<Vec<String>> {
        self.engine(engine)?
            .get("layouts")?
            .as_array()?
            .iter()
            .find(|layout| layout.get("num_nodes").and_then(Value::as_i64) == Some(num_nodes))
            .map(|layout| Shared::strings(layout.get("sizes")))
    }
}

/// An API error: `{id, message, request_id}`, as every DigitalOcean error is.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    id: &'static str,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, id: &'static str, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            id,
            message: message.into(),
        }
    }

    fn invalid(message: impl Into<String>) -> ApiError {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable_entity",
            message,
        )
    }

    fn not_found() -> ApiError {
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

type Answer = Result<Response, ApiError>;

fn ok(status: StatusCode, body: Value) -> Answer {
    Ok((status, axum::Json(body)).into_response())
}

fn no_content() -> Answer {
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn now_text() -> String {
    time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .ok()
        .and_then(|time| {
            time.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

fn epoch() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_secs())
        .unwrap_or_default()
}

/// The request body as JSON: a body that is not a JSON object is DigitalOcean's `400`.
fn body(bytes: &Bytes) -> Result<serde_json::Map<String, Value>, ApiError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_request",
            "error parsing request body",
        )),
    }
}

fn required_str<'a>(
    map: &'a serde_json::Map<String, Value>,
    name: &str,
) -> Result<&'a str, ApiError> {
    match map.get(name) {
        Some(Value::String(text)) => Ok(text),
        Some(_) => Err(ApiError::invalid(format!("{name} must be a string"))),
        None => Err(ApiError::invalid(format!("{name} is required"))),
    }
}

fn optional_str<'a>(
    map: &'a serde_json::Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, ApiError> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text)),
        Some(_) => Err(ApiError::invalid(format!("{name} must be a string"))),
    }
}

fn required_int(map: &serde_json::Map<String, Value>, name: &str) -> Result<i64, ApiError> {
    match map.get(name) {
        Some(value) => value
            .as_i64()
            .ok_or_else(|| ApiError::invalid(format!("{name} must be an integer"))),
        None => Err(ApiError::invalid(format!("{name} is required"))),
    }
}

fn optional_int(map: &serde_json::Map<String, Value>, name: &str) -> Result<Option<i64>, ApiError> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => value
            .as_i64()
            .map(Some)
            .ok_or_else(|| ApiError::invalid(format!("{name} must be an integer"))),
    }
}

fn random_password() -> String {
    let mut rng = fastrand::Rng::new();
    let tail: String = (0..20).map(|_| rng.alphanumeric()).collect();
    format!("AVNS_{tail}")
}

/// A stand-in certificate authority in PEM form, different per cluster.
fn certificate(id: &str) -> String {
    use base64::Engine as _;
    let mut rng = fastrand::Rng::with_seed(id.bytes().map(u64::from).sum());
    let der: Vec<u8> = (0..640).map(|_| rng.u8(..)).collect();
    let encoded = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = encoded
        .as_bytes()
        .chunks(64)
        .filter_map(|chunk| std::str::from_utf8(chunk).ok())
        .collect();
    format!(
        "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n",
        lines.join("\n")
    )
}

fn parse_cidr(text: &str) -> Option<(u32, u32)> {
    let (address, bits) = text.split_once('/').unwrap_or((text, "32"));
    let address: std::net::Ipv4Addr = address.parse().ok()?;
    let bits: u32 = bits.parse().ok()?;
    if bits > 32 {
        return None;
    }
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    Some((u32::from(address) & mask, bits))
}

fn overlaps(a: (u32, u32), b: (u32, u32)) -> bool {
    let bits = a.1.min(b.1);
    let mask = if bits == 0 {
        0
    } else {
        u32::MAX << (32 - bits)
    };
    a.0 & mask == b.0 & mask
}

fn is_private(range: (u32, u32)) -> bool {
    [("10.0.0.0", 8), ("172.16.0.0", 12), ("192.168.0.0", 16)]
        .iter()
        .filter_map(|(network, bits)| parse_cidr(&format!("{network}/{bits}")))
        .any(|private| range.1 >= private.1 && overlaps(range, private))
}

fn valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 255
        && tag
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, ':' | '-' | '_'))
}

/// RAM in GB of a size slug (`db-s-2vcpu-4gb` → 4).
fn ram_gb(size: &str) -> Option<i64> {
    size.split('-')
        .find_map(|part| part.strip_suffix("gb").and_then(|gb| gb.parse().ok()))
}

const WEEKDAYS: &[&str] = &[
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// `HH:MM` or `HH:MM:SS` → `HH:MM:SS`.
fn normalize_hour(hour: &str) -> Option<String> {
    let parts: Vec<&str> = hour.split(':').collect();
    if !(2..=3).contains(&parts.len()) {
        return None;
    }
    let numbers: Vec<u32> = parts
        .iter()
        .map(|part| {
            if part.len() == 2 {
                part.parse().ok()
            } else {
                None
            }
        })
        .collect::<Option<_>>()?;
    let seconds = numbers.get(2).copied().unwrap_or(0);
    (numbers[0] < 24 && numbers[1] < 60 && seconds < 60)
        .then(|| format!("{:02}:{:02}:{seconds:02}", numbers[0], numbers[1]))
}

fn parse_rules(value: Option<&Value>) -> Result<Vec<Rule>, ApiError> {
    let Some(items) = value.and_then(Value::as_array) else {
        return Err(ApiError::invalid("rules must be an array"));
    };
    if items.len() > 100 {
        return Err(ApiError::invalid(
            "a cluster accepts at most 100 trusted sources",
        ));
    }
    let mut rules = Vec::new();
    for item in items {
        let Some(map) = item.as_object() else {
            return Err(ApiError::invalid("each rule must be an object"));
        };
        let kind = required_str(map, "type")?;
        if !["droplet", "k8s", "ip_addr", "tag", "app"].contains(&kind) {
            return Err(ApiError::invalid(format!(
                "rule type {kind:?} is not one of droplet, k8s, ip_addr, tag, app"
            )));
        }
        let value = required_str(map, "value")?;
        if value.is_empty() {
            return Err(ApiError::invalid("rule value must not be empty"));
        }
        if kind == "ip_addr" && parse_cidr(value).is_none() {
            return Err(ApiError::invalid(format!(
                "{value:?} is not an IPv4 address or range"
            )));
        }
        rules.push(Rule {
            uuid: uuid::Uuid::new_v4().to_string(),
            kind: kind.to_owned(),
            value: value.to_owned(),
            description: optional_str(map, "description")?.map(str::to_owned),
            created_at: now_text(),
        });
    }
    Ok(rules)
}

/// Authentication, latency, faults and rate-limit headers.
async fn gate(State(shared): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| request.uri().path().to_owned());
    let key = format!("{} {route}", request.method());
    {
        let mut stats = lock(&shared.stats);
        stats.requests += 1;
        *stats.by_route.entry(key).or_default() += 1;
    }
    let (token, latency, faults) = {
        let config = lock(&shared.config);
        (config.token.clone(), config.latency, config.faults.clone())
    };
    let remaining = {
        let mut window = lock(&shared.window);
        let now = Instant::now();
        while window
            .front()
            .is_some_and(|oldest| now.duration_since(*oldest) > Duration::from_secs(3600))
        {
            window.pop_front();
        }
        window.push_back(now);
        HOURLY_LIMIT.saturating_sub(window.len() as u64)
    };
    let reset = epoch() + 3600;
    let authorized = request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .is_some_and(|given| match &token {
            Some(token) => given == token,
            None => !given.trim().is_empty(),
        });
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    let mut response = if !authorized {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "Unable to authenticate you.",
        )
        .into_response()
    } else {
        let fault = draw(&shared, &faults);
        match fault {
            Some(Fault::RateLimited { retry_after }) => {
                count_fault(&shared, "429");
                let mut response = ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "too_many_requests",
                    "API rate limit exceeded.",
                )
                .into_response();
                let headers = response.headers_mut();
                set(headers, "ratelimit-limit", HOURLY_LIMIT);
                set(headers, "ratelimit-remaining", 0);
                set(headers, "ratelimit-reset", epoch() + 1);
                if retry_after {
                    set(headers, "retry-after", 1);
                }
                return response;
            }
            Some(Fault::ServerError { status, after }) => {
                count_fault(&shared, "500");
                if after {
                    // The request took effect; only its answer is an error.
                    let _ = next.run(request).await;
                }
                ApiError::new(status, "server_error", "Unexpected server-side error")
                    .into_response()
            }
            Some(Fault::Stall(stall)) => {
                count_fault(&shared, "stall");
                let response = next.run(request).await;
                tokio::time::sleep(stall).await;
                response
            }
            None => next.run(request).await,
        }
    };
    let headers = response.headers_mut();
    set(headers, "ratelimit-limit", HOURLY_LIMIT);
    set(headers, "ratelimit-remaining", remaining);
    set(headers, "ratelimit-reset", reset);
    response
}

fn set(headers: &mut HeaderMap, name: &'static str, value: u64) {
    if let Ok(value) = HeaderValue::from_str(&value.to_string()) {
        headers.insert(name, value);
    }
}

fn count_fault(shared: &Shared, kind: &str) {
    *lock(&shared.stats)
        .faults
        .entry(kind.to_owned())
        .or_default() += 1;
}

enum Fault {
    RateLimited { retry_after: bool },
    ServerError { status: StatusCode, after: bool },
    Stall(Duration),
}

fn draw(shared: &Shared, faults: &Faults) -> Option<Fault> {
    let mut rng = lock(&shared.rng);
    if faults.rate <= 0.0 || rng.f64() >= faults.rate {
        return None;
    }
    let mut kinds = Vec::new();
    if faults.rate_limit {
        kinds.push(0);
    }
    if faults.server_error {
        kinds.push(1);
    }
    if faults.stall.is_some() {
        kinds.push(2);
    }
    let kind = *kinds.get(rng.usize(..kinds.len().max(1)))?;
    Some(match kind {
        0 => Fault::RateLimited {
            retry_after: rng.bool(),
        },
        1 => Fault::ServerError {
            status: [
                StatusCode::INTERNAL_SERVER_ERROR,
                StatusCode::BAD_GATEWAY,
                StatusCode::SERVICE_UNAVAILABLE,
            ][rng.usize(..3)],
            after: rng.bool(),
        },
        _ => Fault::Stall(faults.stall.unwrap_or_default()),
    })
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    let api = Router::new()
        .route("/v2/databases/options", get(options))
        .route("/v2/databases", get(list_clusters).post(create_cluster))
        .route(
            "/v2/databases/{id}",
            get(get_cluster).delete(delete_cluster),
        )
        .route("/v2/databases/{id}/resize", put(resize))
        .route("/v2/databases/{id}/maintenance", put(maintenance))
        .route("/v2/databases/{id}/upgrade", put(upgrade))
        .route(
            "/v2/databases/{id}/firewall",
            get(get_firewall).put(put_firewall),
        )
        .route("/v2/databases/{id}/pools", get(list_pools).post(add_pool))
        .route(
            "/v2/databases/{id}/pools/{name}",
            get(get_pool).put(update_pool).delete(delete_pool),
        )
        .route("/v2/databases/{id}/dbs", get(list_dbs).post(add_db))
        .route(
            "/v2/databases/{id}/dbs/{name}",
            get(get_db).delete(delete_db),
        )
        .route("/v2/databases/{id}/users", get(list_users))
        .route("/v2/databases/{id}/users/{name}", get(get_user))
        .route("/v2/databases/{id}/ca", get(get_ca))
        .route("/v2/vpcs", get(list_vpcs).post(create_vpc))
        .route(
            "/v2/vpcs/{id}",
            get(get_vpc)
                .put(update_vpc)
                .patch(update_vpc)
                .delete(delete_vpc),
        )
        .route("/v2/tags", post(create_tag))
        .route(
            "/v2/tags/{tag}/resources",
            post(tag_resources).delete(untag_resources),
        )
        .route_layer(axum::middleware::from_fn_with_state(shared.clone(), gate));
    Router::new()
        .route("/_fake/stats", get(fake_stats))
        .route("/_fake/faults", put(fake_faults))
        .merge(api)
        .fallback(|| async { ApiError::not_found() })
        .with_state(shared)
}

async fn fake_stats(State(shared): State<Arc<Shared>>) -> Response {
    axum::Json(shared.stats()).into_response()
}

async fn fake_faults(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Answer {
    let faults: Faults = serde_json::from_slice(&bytes)
        .map_err(|error| ApiError::invalid(format!("not a fault setting: {error}")))?;
    shared.set_faults(faults);
    no_content()
}

async fn options(State(shared): State<Arc<Shared>>) -> Answer {
    ok(StatusCode::OK, shared.options.clone())
}

/// One page of `items` under `key`, with `links.pages` and `meta.total` as the API pages lists.
fn page(
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

async fn list_clusters(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Answer {
    let mut world = lock(&shared.world);
    let now = Instant::now();
    let tag = query.get("tag_name");
    for cluster in &mut world.clusters {
        cluster.settle(now);
    }
    let items: Vec<Value> = world
        .clusters
        .iter()
        .filter(|cluster| tag.is_none_or(|tag| cluster.tags.contains(tag)))
        .map(Cluster::json)
        .collect();
    page("databases", items, &query, &headers, "/v2/databases")
}

fn with_cluster<T>(
    shared: &Shared,
    id: &str,
    work: impl FnOnce(&mut Cluster, &Shared) -> Result<T, ApiError>,
) -> Result<T, ApiError> {
    let mut world = lock(&shared.world);
    let now = Instant::now();
    let cluster = world
        .clusters
        .iter_mut()
        .find(|cluster| cluster.id == id)
        .ok_or_else(ApiError::not_found)?;
    cluster.settle(now);
    work(cluster, shared)
}

fn require_online(cluster: &Cluster) -> Result<(), ApiError> {
    if cluster.status == Status::Online {
        Ok(())
    } else {
        Err(ApiError::invalid(format!(
            "the cluster is {}; try again once it is online",
            cluster.status.as_str()
        )))
    }
}

fn require_ready(cluster: &Cluster) -> Result<(), ApiError> {
    if cluster.status == Status::Creating {
        Err(ApiError::invalid(
            "the cluster is still being created; try again once it is online",
        ))
    } else {
        Ok(())
    }
}

/// Finds or makes the region's default VPC.
fn default_vpc(world: &mut World, region: &str) -> String {
    if let Some(vpc) = world
        .vpcs
        .iter()
        .find(|vpc| vpc.region == region && vpc.default)
    {
        return vpc.id.clone();
    }
    let taken: Vec<(u32, u32)> = world
        .vpcs
        .iter()
        .filter_map(|vpc| parse_cidr(&vpc.ip_range))
        .collect();
    let range = (100..=250)
        .map(|second| format!("10.{second}.0.0/20"))
        .find(|candidate| {
            parse_cidr(candidate).is_some_and(|range| !taken.iter().any(|t| overlaps(*t, range)))
        })
        .unwrap_or_else(|| "10.99.0.0/20".to_owned());
    let vpc = Vpc {
        id: uuid::Uuid::new_v4().to_string(),
        name: format!("default-{region}"),
        description: String::new(),
        region: region.to_owned(),
        ip_range: range,
        default: true,
        created_at: now_text(),
    };
    let id = vpc.id.clone();
    world.vpcs.push(vpc);
    id
}

async fn create_cluster(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Answer {
    let map = body(&bytes)?;
    let name = required_str(&map, "name")?;
    let engine = required_str(&map, "engine")?;
    let num_nodes = required_int(&map, "num_nodes")?;
    let size = required_str(&map, "size")?;
    let region = required_str(&map, "region")?;
    let Some(options) = shared.engine(engine) else {
        return Err(ApiError::invalid(format!("invalid engine {engine:?}")));
    };
    if name.is_empty() || name.len() > 64 {
        return Err(ApiError::invalid("name must be 1 to 64 characters"));
    }
    if !Shared::strings(options.get("regions"))
        .iter()
        .any(|r| r == region)
    {
        return Err(ApiError::invalid(format!(
            "region {region:?} is not available for {engine}"
        )));
    }
    let versions = Shared::strings(options.get("versions"));
    let version = match optional_str(&map, "version")? {
        Some(version) => version.to_owned(),
        None => options
            .get("default_version")
            .and_then(Value::as_str)
            .map(str::to_owned)
            .or_else(|| versions.last().cloned())
            .unwrap_or_default(),
    };
    if !versions.contains(&version) {
        return Err(ApiError::invalid(format!(
            "version {version:?} is not available for {engine}; available: {}",
            versions.join(", ")
        )));
    }
    match shared.sizes(engine, num_nodes) {
        None => {
            return Err(ApiError::invalid(format!(
                "{engine} clusters cannot have {num_nodes} nodes"
            )));
        }
        Some(sizes) if !sizes.iter().any(|s| s == size) => {
            return Err(ApiError::invalid(format!(
                "size {size:?} is not available for {engine} with {num_nodes} nodes"
            )));
        }
        Some(_) => {}
    }
    let tags: Vec<String> = match map.get("tags") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| match item.as_str() {
                Some(tag) if valid_tag(tag) => Ok(tag.to_owned()),
                _ => Err(ApiError::invalid(format!(
                    "tag {item} may contain only letters, numbers, colons, dashes and underscores"
                ))),
            })
            .collect::<Result<_, _>>()?,
        Some(_) => return Err(ApiError::invalid("tags must be an array of strings")),
    };
    let rules = match map.get("rules") {
        None | Some(Value::Null) => Vec::new(),
        value => parse_rules(value)?,
    };
    let storage = optional_int(&map, "storage_size_mib")?;
    if storage.is_some_and(|mib| mib <= 0) {
        return Err(ApiError::invalid("storage_size_mib must be positive"));
    }
    let project_id = optional_str(&map, "project_id")?.map(str::to_owned);
    let network = optional_str(&map, "private_network_uuid")?.filter(|id| !id.is_empty());
    let (create_delay, _) = {
        let config = lock(&shared.config);
        (config.create_delay, config.resize_delay)
    };

    let mut world = lock(&shared.world);
    if world.clusters.iter().any(|cluster| cluster.name == name) {
        return Err(ApiError::invalid(format!(
            "a database cluster named {name:?} already exists"
        )));
    }
    let network = match network {
        Some(id) => match world.vpcs.iter().find(|vpc| vpc.id == id) {
            Some(vpc) if vpc.region == region => id.to_owned(),
            Some(vpc) => {
                return Err(ApiError::invalid(format!(
                    "VPC {id} is in {}, not in {region}",
                    vpc.region
                )));
            }
            None => return Err(ApiError::invalid(format!("VPC {id} does not exist"))),
        },
        None => default_vpc(&mut world, region),
    };
    for tag in &tags {
        world.tags.insert(tag.clone());
    }
    let admin = User {
        name: if matches!(engine, "redis" | "valkey") {
            "default".to_owned()
        } else {
            "doadmin".to_owned()
        },
        role: "primary",
        password: random_password(),
    };
    world.passwords.push(admin.password.clone());
    world.next_host += 1;
    let id = uuid::Uuid::new_v4().to_string();
    let ram = ram_gb(size).unwrap_or(1);
    let cluster = Cluster {
        ca: certificate(&id),
        id,
        name: name.to_owned(),
        engine: engine.to_owned(),
        version,
        num_nodes,
        size: size.to_owned(),
        region: region.to_owned(),
        private_network_uuid: network,
        tags,
        project_id,
        storage_size_mib: storage.unwrap_or(ram * 10 * 1024),
        created_at: now_text(),
        status: Status::Creating,
        busy_until: Some(Instant::now() + create_delay),
        maintenance: ("sunday".to_owned(), "04:00:00".to_owned()),
        rules,
        pools: Vec::new(),
        dbs: vec!["defaultdb".to_owned()],
        users: vec![admin],
        host_number: 8_000_000 + world.next_host,
    };
    let json = cluster.json();
    world.clusters.push(cluster);
    ok(StatusCode::CREATED, json!({"database": json}))
}

async fn get_cluster(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let json = with_cluster(&shared, &id, |cluster, _| Ok(cluster.json()))?;
    ok(StatusCode::OK, json!({"database": json}))
}

async fn delete_cluster(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let mut world = lock(&shared.world);
    let before = world.clusters.len();
    world.clusters.retain(|cluster| cluster.id != id);
    if world.clusters.len() == before {
        return Err(ApiError::not_found());
    }
    no_content()
}

async fn resize(State(shared): State<Arc<Shared>>, Path(id): Path<String>, bytes: Bytes) -> Answer {
    let map = body(&bytes)?;
    let size = required_str(&map, "size")?.to_owned();
    let num_nodes = required_int(&map, "num_nodes")?;
    let storage = optional_int(&map, "storage_size_mib")?;
    let delay = lock(&shared.config).resize_delay;
    with_cluster(&shared, &id, |cluster, shared| {
        require_online(cluster)?;
        match shared.sizes(&cluster.engine, num_nodes) {
            Some(sizes) if sizes.contains(&size) => {}
            _ => {
                return Err(ApiError::invalid(format!(
                    "size {size:?} with {num_nodes} nodes is not available for {}",
                    cluster.engine
                )));
            }
        }
        if let Some(storage) = storage
            && storage < cluster.storage_size_mib
        {
            return Err(ApiError::invalid(format!(
                "storage cannot shrink from {} MiB to {storage} MiB",
                cluster.storage_size_mib
            )));
        }
        cluster.size = size;
        cluster.num_nodes = num_nodes;
        if let Some(storage) = storage {
            cluster.storage_size_mib = storage;
        }
        cluster.status = Status::Resizing;
        cluster.busy_until = Some(Instant::now() + delay);
        Ok(())
    })?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn maintenance(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let map = body(&bytes)?;
    let day = required_str(&map, "day")?.to_owned();
    let hour = required_str(&map, "hour")?;
    if !WEEKDAYS.contains(&day.as_str()) {
        return Err(ApiError::invalid(format!(
            "day {day:?} is not a day of the week"
        )));
    }
    let Some(hour) = normalize_hour(hour) else {
        return Err(ApiError::invalid(format!(
            "hour {hour:?} is not a 24-hour time such as 14:00"
        )));
    };
    with_cluster(&shared, &id, |cluster, _| {
        require_ready(cluster)?;
        cluster.maintenance = (day, hour);
        Ok(())
    })?;
    no_content()
}

async fn upgrade(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let map = body(&bytes)?;
    let version = required_str(&map, "version")?.to_owned();
    with_cluster(&shared, &id, |cluster, shared| {
        require_online(cluster)?;
        let versions = shared
            .engine(&cluster.engine)
            .map(|options| Shared::strings(options.get("versions")))
            .unwrap_or_default();
        let major = |text: &str| text.split('.').next().and_then(|m| m.parse::<u32>().ok());
        if !versions.contains(&version) || major(&version) <= major(&cluster.version) {
            return Err(ApiError::invalid(format!(
                "cannot upgrade from {} to {version:?}; a later version of {} is required",
                cluster.version, cluster.engine
            )));
        }
        cluster.version = version;
        Ok(())
    })?;
    no_content()
}

async fn get_firewall(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let rules = with_cluster(&shared, &id, |cluster, _| {
        Ok(cluster
            .rules
            .iter()
            .map(|rule| cluster.rule_json(rule))
            .collect::<Vec<_>>())
    })?;
    ok(StatusCode::OK, json!({"rules": rules}))
}

async fn put_firewall(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let map = body(&bytes)?;
    let rules = parse_rules(map.get("rules"))?;
    with_cluster(&shared, &id, |cluster, _| {
        require_ready(cluster)?;
        // A rule that stays keeps its uuid and creation time.
        let kept: Vec<Rule> = rules
            .into_iter()
            .map(|rule| {
                cluster
                    .rules
                    .iter()
                    .find(|old| old.kind == rule.kind && old.value == rule.value)
                    .map(|old| Rule {
                        description: rule.description.clone(),
                        ..old.clone()
                    })
                    .unwrap_or(rule)
            })
            .collect();
        cluster.rules = kept;
        Ok(())
    })?;
    no_content()
}

async fn list_pools(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let pools = with_cluster(&shared, &id, |cluster, _| {
        Ok(cluster
            .pools
            .iter()
            .map(|pool| cluster.pool_json(pool))
            .collect::<Vec<_>>())
    })?;
    ok(StatusCode::OK, json!({"pools": pools}))
}

/// Checks a pool's settings against the cluster: mode, size (all pools share 25 backend
/// connections per GB of RAM, less 3), database and user.
fn check_pool(cluster: &Cluster, pool: &Pool, replacing: Option<&str>) -> Result<(), ApiError> {
    if cluster.engine != "pg" {
        return Err(ApiError::invalid(
            "connection pools are only supported for PostgreSQL clusters",
        ));
    }
    if !["session", "transaction", "statement"].contains(&pool.mode.as_str()) {
        return Err(ApiError::invalid(format!(
            "mode {:?} is not one of session, transaction, statement",
            pool.mode
        )));
    }
    if pool.size < 1 {
        return Err(ApiError::invalid("size must be at least 1"));
    }
    let limit = ram_gb(&cluster.size).unwrap_or(1) * 25 - 3;
    let others: i64 = cluster
        .pools
        .iter()
        .filter(|other| Some(other.name.as_str()) != replacing)
        .map(|other| other.size)
        .sum();
    if others + pool.size > limit {
        return Err(ApiError::invalid(format!(
            "the pools of this cluster may hold at most {limit} connections; {others} are already allocated"
        )));
    }
    if !cluster.dbs.contains(&pool.db) {
        return Err(ApiError::invalid(format!(
            "database {:?} does not exist in this cluster",
            pool.db
        )));
    }
    if !cluster.users.iter().any(|user| user.name == pool.user) {
        return Err(ApiError::invalid(format!(
            "user {:?} does not exist in this cluster",
            pool.user
        )));
    }
    Ok(())
}

fn pool_from(
    map: &serde_json::Map<String, Value>,
    name: &str,
    cluster: &Cluster,
) -> Result<Pool, ApiError> {
    let admin = cluster
        .users
        .iter()
        .find(|user| user.role == "primary")
        .map(|user| user.name.clone())
        .unwrap_or_default();
    Ok(Pool {
        name: name.to_owned(),
        mode: required_str(map, "mode")?.to_owned(),
        size: required_int(map, "size")?,
        db: required_str(map, "db")?.to_owned(),
        user: optional_str(map, "user")?
            .map(str::to_owned)
            .unwrap_or(admin),
    })
}

async fn add_pool(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let map = body(&bytes)?;
    let name = required_str(&map, "name")?.to_owned();
    if !(3..=60).contains(&name.chars().count()) {
        return Err(ApiError::invalid("pool name must be 3 to 60 characters"));
    }
    let json = with_cluster(&shared, &id, |cluster, _| {
        require_ready(cluster)?;
        if cluster.pools.iter().any(|pool| pool.name == name) {
            return Err(ApiError::invalid(format!(
                "a pool named {name:?} already exists"
            )));
        }
        let pool = pool_from(&map, &name, cluster)?;
        check_pool(cluster, &pool, None)?;
        let json = cluster.pool_json(&pool);
        cluster.pools.push(pool);
        Ok(json)
    })?;
    ok(StatusCode::CREATED, json!({"pool": json}))
}

async fn get_pool(
    State(shared): State<Arc<Shared>>,
    Path((id, name)): Path<(String, String)>,
) -> Answer {
    let json = with_cluster(&shared, &id, |cluster, _| {
        let pool = cluster
            .pools
            .iter()
            .find(|pool| pool.name == name)
            .ok_or_else(ApiError::not_found)?;
        Ok(cluster.pool_json(pool))
    })?;
    ok(StatusCode::OK, json!({"pool": json}))
}

async fn update_pool(
    State(shared): State<Arc<Shared>>,
    Path((id, name)): Path<(String, String)>,
    bytes: Bytes,
) -> Answer {
    let map = body(&bytes)?;
    with_cluster(&shared, &id, |cluster, _| {
        require_ready(cluster)?;
        if !cluster.pools.iter().any(|pool| pool.name == name) {
            return Err(ApiError::not_found());
        }
        let pool = pool_from(&map, &name, cluster)?;
        check_pool(cluster, &pool, Some(&name))?;
        for existing in &mut cluster.pools {
            if existing.name == name {
                *existing = pool.clone();
            }
        }
        Ok(())
    })?;
    no_content()
}

async fn delete_pool(
    State(shared): State<Arc<Shared>>,
    Path((id, name)): Path<(String, String)>,
) -> Answer {
    with_cluster(&shared, &id, |cluster, _| {
        let before = cluster.pools.len();
        cluster.pools.retain(|pool| pool.name != name);
        if cluster.pools.len() == before {
            return Err(ApiError::not_found());
        }
        Ok(())
    })?;
    no_content()
}

async fn list_dbs(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let dbs = with_cluster(&shared, &id, |cluster, _| {
        Ok(cluster
            .dbs
            .iter()
            .map(|name| json!({"name": name}))
            .collect::<Vec<_>>())
    })?;
    ok(StatusCode::OK, json!({"dbs": dbs}))
}

async fn add_db(State(shared): State<Arc<Shared>>, Path(id): Path<String>, bytes: Bytes) -> Answer {
    let map = body(&bytes)?;
    let name = required_str(&map, "name")?.to_owned();
    with_cluster(&shared, &id, |cluster, _| {
        require_ready(cluster)?;
        if cluster.dbs.contains(&name) {
            return Err(ApiError::invalid(format!(
                "database {name:?} already exists"
            )));
        }
        cluster.dbs.push(name.clone());
        Ok(())
    })?;
    ok(StatusCode::CREATED, json!({"db": {"name": name}}))
}

async fn get_db(
    State(shared): State<Arc<Shared>>,
    Path((id, name)): Path<(String, String)>,
) -> Answer {
    with_cluster(&shared, &id, |cluster, _| {
        if cluster.dbs.contains(&name) {
            Ok(())
        } else {
            Err(ApiError::not_found())
        }
    })?;
    ok(StatusCode::OK, json!({"db": {"name": name}}))
}

async fn delete_db(
    State(shared): State<Arc<Shared>>,
    Path((id, name)): Path<(String, String)>,
) -> Answer {
    with_cluster(&shared, &id, |cluster, _| {
        let before = cluster.dbs.len();
        cluster.dbs.retain(|db| db != &name);
        if cluster.dbs.len() == before {
            return Err(ApiError::not_found());
        }
        Ok(())
    })?;
    no_content()
}

async fn list_users(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let users = with_cluster(&shared, &id, |cluster, _| {
        Ok(cluster
            .users
            .iter()
            .map(Cluster::user_json)
            .collect::<Vec<_>>())
    })?;
    ok(StatusCode::OK, json!({"users": users}))
}

async fn get_user(
    State(shared): State<Arc<Shared>>,
    Path((id, name)): Path<(String, String)>,
) -> Answer {
    let user = with_cluster(&shared, &id, |cluster, _| {
        cluster
            .users
            .iter()
            .find(|user| user.name == name)
            .map(Cluster::user_json)
            .ok_or_else(ApiError::not_found)
    })?;
    ok(StatusCode::OK, json!({"user": user}))
}

async fn get_ca(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    use base64::Engine as _;
    let ca = with_cluster(&shared, &id, |cluster, _| Ok(cluster.ca.clone()))?;
    ok(
        StatusCode::OK,
        json!({"ca": {"certificate": base64::engine::general_purpose::STANDARD.encode(ca)}}),
    )
}

async fn list_vpcs(
    State(shared): State<Arc<Shared>>,
    Query(query): Query<BTreeMap<String, String>>,
    headers: HeaderMap,
) -> Answer {
    let items: Vec<Value> = lock(&shared.world).vpcs.iter().map(Vpc::json).collect();
    page("vpcs", items, &query, &headers, "/v2/vpcs")
}

fn valid_vpc_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'))
}

async fn create_vpc(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Answer {
    let map = body(&bytes)?;
    let name = required_str(&map, "name")?.to_owned();
    let region = required_str(&map, "region")?.to_owned();
    let description = optional_str(&map, "description")?
        .unwrap_or_default()
        .to_owned();
    if !valid_vpc_name(&name) {
        return Err(ApiError::invalid(
            "name may only contain alphanumeric characters, dashes, and periods",
        ));
    }
    if description.chars().count() > 255 {
        return Err(ApiError::invalid(
            "description may be at most 255 characters",
        ));
    }
    let known_region = shared
        .engine("pg")
        .map(|pg| Shared::strings(pg.get("regions")))
        .unwrap_or_default();
    if !known_region.contains(&region) {
        return Err(ApiError::invalid(format!(
            "region {region:?} is not available"
        )));
    }
    let requested = optional_str(&map, "ip_range")?.map(str::to_owned);
    let mut world = lock(&shared.world);
    if world.vpcs.iter().any(|vpc| vpc.name == name) {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("a VPC named {name:?} already exists"),
        ));
    }
    let taken: Vec<(u32, u32)> = world
        .vpcs
        .iter()
        .filter_map(|vpc| parse_cidr(&vpc.ip_range))
        .collect();
    let ip_range = match requested {
        Some(range) => {
            let Some(parsed) = parse_cidr(&range)
                .filter(|parsed| range.contains('/') && (16..=28).contains(&parsed.1))
            else {
                return Err(ApiError::invalid(format!(
                    "ip_range {range:?} must be a CIDR block from /16 to /28"
                )));
            };
            if !is_private(parsed) {
                return Err(ApiError::invalid(format!(
                    "ip_range {range:?} is not a private (RFC 1918) range"
                )));
            }
            if taken.iter().any(|other| overlaps(*other, parsed)) {
                return Err(ApiError::invalid(format!(
                    "ip_range {range:?} overlaps another network of the account"
                )));
            }
            range
        }
        None => (0..=255)
            .flat_map(|second| (0..16).map(move |block| format!("10.{second}.{}.0/20", block * 16)))
            .find(|candidate| {
                parse_cidr(candidate)
                    .is_some_and(|range| !taken.iter().any(|other| overlaps(*other, range)))
            })
            .unwrap_or_default(),
    };
    // The first VPC of a region becomes its default.
    let first = !world.vpcs.iter().any(|vpc| vpc.region == region);
    let vpc = Vpc {
        id: uuid::Uuid::new_v4().to_string(),
        name,
        description,
        region,
        ip_range,
        default: first,
        created_at: now_text(),
    };
    let json = vpc.json();
    world.vpcs.push(vpc);
    ok(StatusCode::CREATED, json!({"vpc": json}))
}

async fn get_vpc(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let world = lock(&shared.world);
    let vpc = world
        .vpcs
        .iter()
        .find(|vpc| vpc.id == id)
        .ok_or_else(ApiError::not_found)?;
    ok(StatusCode::OK, json!({"vpc": vpc.json()}))
}

async fn update_vpc(
    State(shared): State<Arc<Shared>>,
    method: Method,
    Path(id): Path<String>,
    bytes: Bytes,
) -> Answer {
    let map = body(&bytes)?;
    let name = if method == Method::PUT {
        Some(required_str(&map, "name")?)
    } else {
        optional_str(&map, "name")?
    };
    if name.is_some_and(|name| !valid_vpc_name(name)) {
        return Err(ApiError::invalid(
            "name may only contain alphanumeric characters, dashes, and periods",
        ));
    }
    let description = optional_str(&map, "description")?;
    let default = match map.get("default") {
        None | Some(Value::Null) => None,
        Some(Value::Bool(flag)) => Some(*flag),
        Some(_) => return Err(ApiError::invalid("default must be a boolean")),
    };
    let mut world = lock(&shared.world);
    let Some(index) = world.vpcs.iter().position(|vpc| vpc.id == id) else {
        return Err(ApiError::not_found());
    };
    if default == Some(false) && world.vpcs[index].default {
        return Err(ApiError::invalid(
            "default cannot be unset; make another VPC of the region the default instead",
        ));
    }
    if let Some(name) = name
        && world
            .vpcs
            .iter()
            .any(|vpc| vpc.name == name && vpc.id != id)
    {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            format!("a VPC named {name:?} already exists"),
        ));
    }
    if default == Some(true) {
        let region = world.vpcs[index].region.clone();
        for vpc in &mut world.vpcs {
            if vpc.region == region {
                vpc.default = vpc.id == id;
            }
        }
    }
    let vpc = &mut world.vpcs[index];
    if let Some(name) = name {
        vpc.name = name.to_owned();
    }
    if let Some(description) = description {
        vpc.description = description.to_owned();
    }
    ok(StatusCode::OK, json!({"vpc": vpc.json()}))
}

async fn delete_vpc(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Answer {
    let mut world = lock(&shared.world);
    let Some(vpc) = world.vpcs.iter().find(|vpc| vpc.id == id) else {
        return Err(ApiError::not_found());
    };
    // Both are 403 Forbidden, as DigitalOcean's API reference says.
    if vpc.default {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "The default VPC for a region cannot be deleted.",
        ));
    }
    if world
        .clusters
        .iter()
        .any(|cluster| cluster.private_network_uuid == id)
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Cannot delete a VPC that still has members.",
        ));
    }
    world.vpcs.retain(|vpc| vpc.id != id);
    no_content()
}

async fn create_tag(State(shared): State<Arc<Shared>>, bytes: Bytes) -> Answer {
    let map = body(&bytes)?;
    let name = required_str(&map, "name")?.to_owned();
    if !valid_tag(&name) {
        return Err(ApiError::invalid(
            "tags may contain letters, numbers, colons, dashes, and underscores",
        ));
    }
    let mut world = lock(&shared.world);
    world.tags.insert(name.clone());
    let count = world
        .clusters
        .iter()
        .filter(|cluster| cluster.tags.contains(&name))
        .count();
    ok(
        StatusCode::CREATED,
        json!({"tag": {"name": name, "resources": {"count": count}}}),
    )
}

/// The database IDs of a tag request (`{resources: [{resource_id, resource_type}]}`).
fn tagged(bytes: &Bytes) -> Result<Vec<String>, ApiError> {
    let map = body(bytes)?;
    let Some(resources) = map.get("resources").and_then(Value::as_array) else {
        return Err(ApiError::invalid("resources is required"));
    };
    let mut ids = Vec::new();
    for resource in resources {
        let Some(resource) = resource.as_object() else {
            return Err(ApiError::invalid("each resource must be an object"));
        };
        let id = required_str(resource, "resource_id")?;
        let kind = required_str(resource, "resource_type")?;
        if kind != "database" {
            return Err(ApiError::invalid(format!(
                "this fake tags only databases, not {kind:?}"
            )));
        }
        ids.push(id.to_owned());
    }
    Ok(ids)
}

async fn tag_resources(
    State(shared): State<Arc<Shared>>,
    Path(tag): Path<String>,
    bytes: Bytes,
) -> Answer {
    let ids = tagged(&bytes)?;
    let mut world = lock(&shared.world);
    if !world.tags.contains(&tag) {
        return Err(ApiError::not_found());
    }
    for id in &ids {
        if !world.clusters.iter().any(|cluster| &cluster.id == id) {
            return Err(ApiError::not_found());
        }
    }
    for cluster in &mut world.clusters {
        if ids.contains(&cluster.id) && !cluster.tags.contains(&tag) {
            cluster.tags.push(tag.clone());
        }
    }
    no_content()
}

async fn untag_resources(
    State(shared): State<Arc<Shared>>,
    Path(tag): Path<String>,
    bytes: Bytes,
) -> Answer {
    let ids = tagged(&bytes)?;
    let mut world = lock(&shared.world);
    if !world.tags.contains(&tag) {
        return Err(ApiError::not_found());
    }
    for cluster in &mut world.clusters {
        if ids.contains(&cluster.id) {
            cluster.tags.retain(|existing| existing != &tag);
        }
    }
    no_content()
}
