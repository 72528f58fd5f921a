//! The gate every API request passes: authentication, latency, fault injection (`429` with
//! `ratelimit-reset`, `5xx` before or after the request took effect, stalls past the client's
//! timeout) and the `ratelimit-*` headers.

use super::request::{ApiError, epoch};
use super::shared::{Shared, lock};
use crate::digitalocean::Faults;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// DigitalOcean's rate limit: requests per hour and token.
const HOURLY_LIMIT: u64 = 5000;

/// Authentication, latency, faults and rate-limit headers.
pub(super) async fn gate(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    count_request(&shared, &request);
    let (token, latency, faults) = {
        let config = lock(&shared.config);
        (config.token.clone(), config.latency, config.faults.clone())
    };
    let remaining = remaining_this_hour(&shared);
    let reset = epoch() + 3600;
    let authorized = authorized(&request, token.as_deref());
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
                return rate_limited(retry_after);
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

/// Counts the request, in total and per `METHOD /route/template`.
fn count_request(shared: &Shared, request: &Request) {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|path| path.as_str().to_owned())
        .unwrap_or_else(|| request.uri().path().to_owned());
    let key = format!("{} {route}", request.method());
    let mut stats = lock(&shared.stats);
    stats.requests += 1;
    *stats.by_route.entry(key).or_default() += 1;
}

/// Records the request in the last hour's window and returns what is left of the hourly limit.
fn remaining_this_hour(shared: &Shared) -> u64 {
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
}

/// Whether the request carries the bearer token the fake accepts (any non-empty one when the
/// configuration names none).
fn authorized(request: &Request, token: Option<&str>) -> bool {
    request
        .headers()
        .get("authorization")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "))
        .is_some_and(|given| match token {
            Some(token) => given == token,
            None => !given.trim().is_empty(),
        })
}

/// An injected `429`: no requests left, the limit resets in a second, and (sometimes) a
/// `retry-after` saying so too.
fn rate_limited(retry_after: bool) -> Response {
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
