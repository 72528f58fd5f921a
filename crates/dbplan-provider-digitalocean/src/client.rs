//! DigitalOcean's API v2 over reqwest: bearer authentication, `{id, message, request_id}`
//! errors, rate limits (`429` with `retry-after` or `ratelimit-reset`), retries of `5xx` and
//! transport failures with backoff and a bound, and paged lists.
//!
//! Every attempt is bounded ([`Timeouts`]): the connection (TCP and TLS) by
//! `DBPLAN_CONNECT_TIMEOUT` (10 s), the wait for the answer by `DBPLAN_READ_TIMEOUT` (60 s, or
//! the request timeout the provider was given; the variable, when set, takes its place),
//! counted from the start of the attempt and again between reads of the body, and the whole
//! attempt by both together. A GET, PUT or DELETE that times out is tried again like any
//! transport failure, so against an API that never answers one request takes at most
//! 8 attempts × 60 s + the pauses between them (at most 30 s) ≈ 8.5 minutes with the defaults
//! (10 minutes if each answer stalls halfway). A POST whose answer timed out is not sent
//! again blindly: the caller looks the object up by name first.

use dbplan_core::ResourceAddress;
use dbplan_provider::ProviderError;
use dbplan_provider::timeouts::{
    BadTimeout, CONNECT_VARIABLE, DEFAULT_CONNECT, READ_VARIABLE, seconds,
};
use reqwest::Method;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use serde_json::Value;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// DigitalOcean's API.
pub(crate) const DEFAULT_URL: &str = "https://api.digitalocean.com";

/// How requests are retried.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RetryPolicy {
    /// Attempts of one request, the first included.
    pub(crate) attempts: u32,
    /// The first pause after a failure; it doubles, with jitter, up to `max_pause`.
    pub(crate) first_pause: Duration,
    pub(crate) max_pause: Duration,
    /// The longest a `429` is waited out; a reset further away fails the request.
    pub(crate) max_rate_wait: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 8,
            first_pause: Duration::from_millis(250),
            max_pause: Duration::from_secs(8),
            max_rate_wait: Duration::from_secs(120),
        }
    }
}

/// Whether a request may be sent again after a failure that may have taken effect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Idempotent {
    /// GET, PUT, DELETE: sending twice does no harm.
    Yes,
    /// POST: a `5xx` or a timeout may have created the object, so the caller reconciles
    /// (looks for it) instead; only `429` and a connection never made are retried here.
    No,
}

/// A successful answer.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) body: Value,
}

/// A failed request.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The API answered with an error.
    Api {
        status: u16,
        id: String,
        message: String,
        request_id: Option<String>,
    },
    /// No answer (connection, timeout) or an unreadable one; `retriable` when sending again may
    /// succeed. `message` says what happened (reqwest's error and its causes, and for a timeout
    /// what to do); `source` is reqwest's error itself.
    Transport {
        message: String,
        retriable: bool,
        source: reqwest::Error,
    },
}

impl Failure {
    pub(crate) fn is_not_found(&self) -> bool {
        matches!(self, Failure::Api { status: 404, .. })
    }

    pub(crate) fn status(&self) -> Option<u16> {
        match self {
            Failure::Api { status, .. } => Some(*status),
            Failure::Transport { .. } => None,
        }
    }

    /// Whether the request may have failed for a passing reason (and may have taken effect).
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            Failure::Api { status, .. } => *status == 429 || *status >= 500,
            Failure::Transport { retriable, .. } => *retriable,
        }
    }

    /// The API's answer, as `HTTP 403: forbidden: message (request id)`.
    pub(crate) fn describe(&self) -> String {
        match self {
            Failure::Api {
                status,
                id,
                message,
                request_id,
            } => format!(
                "HTTP {status}: {id}: {message}{}",
                request_suffix(request_id)
            ),
            Failure::Transport { message, .. } => message.clone(),
        }
    }

    /// The failure as a provider error about `address`, doing `what` ("create the cluster").
    pub(crate) fn error(self, address: &ResourceAddress, what: &str) -> ProviderError {
        match self {
            Failure::Api {
                status: 401 | 403,
                id,
                message,
                request_id,
            } => ProviderError::Credentials {
                address: address.clone(),
                message: format!(
                    "DigitalOcean refused to {what}: {id}: {message}{}; check that DIGITALOCEAN_TOKEN holds a valid token with the database and VPC scopes",
                    request_suffix(&request_id)
                ),
                source: None,
            },
            Failure::Api {
                status,
                id,
                message,
                request_id,
            } => ProviderError::Api {
                address: address.clone(),
                code: Some(id.as_str().into()),
                message: format!(
                    "DigitalOcean refused to {what} (HTTP {status}): {id}: {message}{}",
                    request_suffix(&request_id)
                ),
                source: None,
            },
            Failure::Transport {
                message, source, ..
            } => ProviderError::Transport {
                address: address.clone(),
                message: format!("cannot {what}: {message}"),
                source: Some(Box::new(source)),
            },
        }
    }
}

fn request_suffix(request_id: &Option<String>) -> String {
    match request_id {
        Some(id) if !id.is_empty() => format!(" (request {id})"),
        _ => String::new(),
    }
}

/// The API token; never printed.
struct Token(HeaderValue);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("(token)")
    }
}

/// How long an attempt may wait: for the connection, and for the answer.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Timeouts {
    pub(crate) connect: Duration,
    pub(crate) read: Duration,
}

impl Timeouts {
    /// The bounds `lookup` (the environment) sets, the read bound `read` when it sets none; an
    /// error naming a variable with a bad value, never a silent fallback to the default.
    pub(crate) fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
        read: Duration,
    ) -> Result<Timeouts, BadTimeout> {
        Ok(Timeouts {
            connect: seconds(&lookup, CONNECT_VARIABLE, DEFAULT_CONNECT)?,
            read: seconds(&lookup, READ_VARIABLE, read)?,
        })
    }
}

/// Why a client could not be set up.
#[derive(Debug)]
pub(crate) enum SetupError {
    /// The token, the API URL (`DIGITALOCEAN_TOKEN`, `DIGITALOCEAN_API_URL`) or the HTTPS
    /// client.
    Endpoint(String),
    /// A timeout variable with a bad value.
    Timeout(BadTimeout),
}

impl From<String> for SetupError {
    fn from(message: String) -> SetupError {
        SetupError::Endpoint(message)
    }
}

fn shown(duration: Duration) -> String {
    format!("{} s", duration.as_secs_f64())
}

#[derive(Debug)]
pub(crate) struct Client {
    http: reqwest::Client,
    base: String,
    token: Token,
    policy: RetryPolicy,
    /// `host:port` of `base`, for messages.
    target: String,
    timeouts: Timeouts,
}

impl Client {
    /// A transport failure's text, with what to do when it is a timeout: which step ran out,
    /// at which `host:port`, after how many attempts, and which variable to raise.
    fn explain(&self, error: &reqwest::Error, message: String, attempts: u32) -> String {
        if !error.is_timeout() {
            return message;
        }
        let target = &self.target;
        let tries = if attempts == 1 {
            "1 attempt".to_owned()
        } else {
            format!("each of {attempts} attempts")
        };
        if error.is_connect() {
            format!(
                "{message}: no connection to {target} within {} ({CONNECT_VARIABLE}), {tries}; check DIGITALOCEAN_API_URL and that no firewall or proxy stops dbplan's requests, or raise {CONNECT_VARIABLE}",
                shown(self.timeouts.connect)
            )
        } else {
            format!(
                "{message}: {target} accepted the connection but did not answer within {} ({READ_VARIABLE}), {tries}; check DIGITALOCEAN_API_URL and DigitalOcean's status, or raise {READ_VARIABLE}",
                shown(self.timeouts.read)
            )
        }
    }
}

impl Client {
    /// A client of `base` (no trailing `/`) with `token`, whose attempts wait `timeout` for an
    /// answer unless `DBPLAN_READ_TIMEOUT` says otherwise (read here, once per provider).
    pub(crate) fn new(
        base: &str,
        token: &str,
        timeout: Duration,
        policy: RetryPolicy,
    ) -> Result<Client, SetupError> {
        // Error texts name the URL; a URL carrying credentials would put them there.
        let target = match reqwest::Url::parse(base) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => {
                if !url.username().is_empty() || url.password().is_some() {
                    return Err(SetupError::Endpoint("DIGITALOCEAN_API_URL must not carry credentials; the token goes in DIGITALOCEAN_TOKEN".to_owned()));
                }
                format!(
                    "{}:{}",
                    url.host_str().unwrap_or_default(),
                    url.port_or_known_default().unwrap_or_default()
                )
            }
            _ => {
                return Err(SetupError::Endpoint(format!(
                    "DIGITALOCEAN_API_URL {base:?} is not an http(s) URL such as https://api.digitalocean.com"
                )));
            }
        };
        let timeouts = Timeouts::from_lookup(|name| std::env::var(name).ok(), timeout)
            .map_err(SetupError::Timeout)?;
        let mut header = HeaderValue::from_str(&format!("Bearer {}", token.trim()))
            .map_err(|_| "DIGITALOCEAN_TOKEN holds characters a token cannot have".to_owned())?;
        // Marked sensitive, the header is left out of reqwest's and hyper's debug output.
        header.set_sensitive(true);
        // The read timeout runs from the start of an attempt to the answer's headers, then
        // between reads of the body; the total bounds an answer that trickles in.
        // reqwest's rustls takes the process-wide crypto provider: ring, as for every other
        // client of dbplan. `install_default` refuses only when one is installed already,
        // which is as good.
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            let _installed_elsewhere = rustls::crypto::ring::default_provider().install_default();
        }
        let http = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .read_timeout(timeouts.read)
            .timeout(timeouts.connect + timeouts.read)
            .user_agent(concat!("dbplan/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| format!("cannot set up HTTPS: {error}"))?;
        Ok(Client {
            http,
            base: base.trim_end_matches('/').to_owned(),
            token: Token(header),
            policy,
            target,
            timeouts,
        })
    }

    pub(crate) async fn get(&self, path: &str) -> Result<Reply, Failure> {
        self.send(Method::GET, path, None, Idempotent::Yes).await
    }

    pub(crate) async fn put(&self, path: &str, body: &Value) -> Result<Reply, Failure> {
        self.send(Method::PUT, path, Some(body), Idempotent::Yes)
            .await
    }

    pub(crate) async fn patch(&self, path: &str, body: &Value) -> Result<Reply, Failure> {
        self.send(Method::PATCH, path, Some(body), Idempotent::Yes)
            .await
    }

    pub(crate) async fn post(&self, path: &str, body: &Value) -> Result<Reply, Failure> {
        self.send(Method::POST, path, Some(body), Idempotent::No)
            .await
    }

    pub(crate) async fn delete(&self, path: &str) -> Result<Reply, Failure> {
        self.send(Method::DELETE, path, None, Idempotent::Yes).await
    }

    /// A tag's resources are removed with a DELETE that has a body.
    pub(crate) async fn delete_with(&self, path: &str, body: &Value) -> Result<Reply, Failure> {
        self.send(Method::DELETE, path, Some(body), Idempotent::Yes)
            .await
    }

    /// Every item of a list, following `links.pages.next` where the API pages it.
    pub(crate) async fn list(&self, path: &str, key: &str) -> Result<Vec<Value>, Failure> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut next = Some(format!("{path}{separator}per_page=200"));
        let mut items = Vec::new();
        // A bound on pages, against a server whose `next` never ends.
        for _ in 0..1000 {
            let Some(current) = next.take() else {
                break;
            };
            let reply = self.get(&current).await?;
            if let Some(page) = reply.body.get(key).and_then(Value::as_array) {
                items.extend(page.iter().cloned());
            }
            next = reply
                .body
                .pointer("/links/pages/next")
                .and_then(Value::as_str)
                .and_then(path_of);
        }
        Ok(items)
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        idempotent: Idempotent,
    ) -> Result<Reply, Failure> {
        let url = format!("{}{path}", self.base);
        let mut pause = self.policy.first_pause;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let last = attempt >= self.policy.attempts;
            let mut request = self
                .http
                .request(method.clone(), &url)
                .header(AUTHORIZATION, self.token.0.clone());
            if let Some(body) = body {
                request = request.json(body);
            }
            let started = std::time::Instant::now();
            let outcome = request.send().await;
            let response = match outcome {
                Ok(response) => response,
                Err(error) => {
                    // A connection never made sent nothing; anything else may have reached the
                    // API.
                    let retriable = error.is_connect() || idempotent == Idempotent::Yes;
                    let message = self.explain(&error, describe(&error), attempt);
                    tracing::debug!(%method, path, attempt, "DigitalOcean request failed: {message}");
                    if retriable && !last {
                        tokio::time::sleep(jitter(pause)).await;
                        pause = (pause * 2).min(self.policy.max_pause);
                        continue;
                    }
                    return Err(Failure::Transport {
                        message,
                        retriable: error.is_connect() || error.is_timeout(),
                        source: error,
                    });
                }
            };
            let status = response.status().as_u16();
            tracing::debug!(
                %method,
                path,
                status,
                attempt,
                elapsed_ms = started.elapsed().as_millis() as u64,
                "DigitalOcean API"
            );
            if status == 429 {
                let wait = rate_limit_wait(response.headers());
                if !last && wait <= self.policy.max_rate_wait {
                    tracing::debug!(path, wait_ms = wait.as_millis() as u64, "rate limited");
                    tokio::time::sleep(wait).await;
                    continue;
                }
            }
            if status >= 500 && idempotent == Idempotent::Yes && !last {
                tokio::time::sleep(jitter(pause)).await;
                pause = (pause * 2).min(self.policy.max_pause);
                continue;
            }
            let bytes = match response.bytes().await {
                Ok(bytes) => bytes,
                Err(error) => {
                    if idempotent == Idempotent::Yes && !last {
                        tokio::time::sleep(jitter(pause)).await;
                        pause = (pause * 2).min(self.policy.max_pause);
                        continue;
                    }
                    return Err(Failure::Transport {
                        message: self.explain(&error, describe(&error), attempt),
                        retriable: true,
                        source: error,
                    });
                }
            };
            let parsed: Option<Value> = serde_json::from_slice(&bytes).ok();
            if (200..300).contains(&status) {
                return Ok(Reply {
                    body: parsed.unwrap_or(Value::Null),
                });
            }
            return Err(api_failure(status, parsed.as_ref()));
        }
    }
}

/// An answer outside `2xx`, from DigitalOcean's `{id, message, request_id}` error body (or the
/// status alone when the body is not one).
fn api_failure(status: u16, parsed: Option<&Value>) -> Failure {
    let field = |name: &str| {
        parsed
            .and_then(|body| body.get(name))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    Failure::Api {
        status,
        id: field("id").unwrap_or_else(|| format!("http_{status}")),
        message: field("message").unwrap_or_else(|| {
            reqwest::StatusCode::from_u16(status)
                .ok()
                .and_then(|code| code.canonical_reason())
                .unwrap_or("no message")
                .to_owned()
        }),
        request_id: field("request_id"),
    }
}

/// The path and query of a `next` link (the API may name its public host; the client keeps to
/// the base it was given).
fn path_of(link: &str) -> Option<String> {
    let rest = link
        .strip_prefix("https://")
        .or_else(|| link.strip_prefix("http://"))?;
    let start = rest.find('/')?;
    Some(rest[start..].to_owned())
}

/// How long a `429` asks to wait: `retry-after` seconds, else until `ratelimit-reset` (Unix
/// time), else a second.
fn rate_limit_wait(headers: &reqwest::header::HeaderMap) -> Duration {
    let number = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.trim().parse::<u64>().ok())
    };
    if let Some(seconds) = number("retry-after") {
        return Duration::from_secs(seconds).max(Duration::from_millis(100));
    }
    if let Some(reset) = number("ratelimit-reset") {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs())
            .unwrap_or_default();
        return Duration::from_secs(reset.saturating_sub(now)).max(Duration::from_millis(250));
    }
    Duration::from_secs(1)
}

/// A pause with ±25 % jitter, so that parallel retries do not fall in step.
fn jitter(pause: Duration) -> Duration {
    let factor = 0.75 + fastrand::f64() * 0.5;
    pause.mul_f64(factor)
}

/// A reqwest error's text with its causes (connection refused, timed out, certificate …).
fn describe(error: &reqwest::Error) -> String {
    let text = if error.is_timeout() {
        "the DigitalOcean API did not answer in time".to_owned()
    } else {
        error.to_string()
    };
    dbplan_core::causes::with_causes(text, error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transport_failure_keeps_reqwest_s_error_as_its_cause() {
        // As `Client::new` does: reqwest's rustls takes the process-wide crypto provider.
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            let _installed_elsewhere = rustls::crypto::ring::default_provider().install_default();
        }
        let Some(source) = reqwest::Client::new().get("not a url").build().err() else {
            unreachable!("a request to no URL cannot be built");
        };
        let failure = Failure::Transport {
            message: "no answer".to_owned(),
            retriable: false,
            source,
        };
        let error = failure.error(&"DigitalOceanVpc/net".parse().unwrap(), "read the VPC");
        assert!(matches!(error, ProviderError::Transport { .. }), "{error}");
        assert_eq!(
            error.to_string(),
            "DigitalOceanVpc/net: cannot read the VPC: no answer"
        );
        let cause = std::error::Error::source(&error)
            .and_then(|cause| cause.downcast_ref::<reqwest::Error>());
        assert!(cause.is_some_and(reqwest::Error::is_builder), "{cause:?}");
    }

    #[test]
    fn a_base_url_with_credentials_or_no_scheme_is_refused() {
        let policy = RetryPolicy::default();
        let timeout = Duration::from_secs(1);
        let refused = Client::new("https://user:pw@api.example", "t", timeout, policy).err();
        assert!(
            matches!(refused, Some(SetupError::Endpoint(error)) if error.contains("must not carry credentials"))
        );
        let refused = Client::new("api.digitalocean.com", "t", timeout, policy).err();
        assert!(
            matches!(refused, Some(SetupError::Endpoint(error)) if error.contains("is not an http(s) URL"))
        );
        assert!(Client::new("http://127.0.0.1:8089", "t", timeout, policy).is_ok());
    }

    #[test]
    fn next_links_keep_the_clients_base() {
        assert_eq!(
            path_of("https://api.digitalocean.com/v2/vpcs?page=2&per_page=200").as_deref(),
            Some("/v2/vpcs?page=2&per_page=200")
        );
        assert_eq!(path_of("/v2/vpcs"), None);
    }

    #[test]
    fn rate_limit_waits_follow_the_headers() {
        let mut headers = reqwest::header::HeaderMap::new();
        assert_eq!(rate_limit_wait(&headers), Duration::from_secs(1));
        let soon = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|elapsed| elapsed.as_secs())
            .unwrap_or_default()
            + 3;
        headers.insert("ratelimit-reset", HeaderValue::from(soon));
        let wait = rate_limit_wait(&headers);
        assert!(
            wait <= Duration::from_secs(3) && wait >= Duration::from_secs(1),
            "{wait:?}"
        );
        headers.insert("retry-after", HeaderValue::from(29));
        assert_eq!(rate_limit_wait(&headers), Duration::from_secs(29));
    }

    #[test]
    fn timeouts_come_from_the_environment_or_the_defaults_and_bad_values_are_errors() {
        let read = Duration::from_secs(60);
        let none = |_: &str| None;
        assert_eq!(
            Timeouts::from_lookup(none, read),
            Ok(Timeouts {
                connect: Duration::from_secs(10),
                read
            })
        );
        let set = |name: &str| match name {
            "DBPLAN_CONNECT_TIMEOUT" => Some("0.5".to_owned()),
            "DBPLAN_READ_TIMEOUT" => Some("90".to_owned()),
            _ => None,
        };
        assert_eq!(
            Timeouts::from_lookup(set, read),
            Ok(Timeouts {
                connect: Duration::from_millis(500),
                read: Duration::from_secs(90)
            })
        );
        // The parsing is dbplan_provider::timeouts's (tested there); the default in the message
        // is the read bound the provider was given.
        let bad = |name: &str| (name == "DBPLAN_READ_TIMEOUT").then(|| "1 minute".to_owned());
        let error = Timeouts::from_lookup(bad, Duration::from_millis(2500))
            .err()
            .map(String::from);
        assert_eq!(
            error.as_deref(),
            Some(
                "DBPLAN_READ_TIMEOUT=\"1 minute\" is not a number of seconds; set it to a positive number up to 86400 (a day), such as 2.5 (the default), or unset it"
            )
        );
    }
}
