//! Request ids and logging, security headers, rate limits.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sha2::{Digest, Sha256};
use tracing::Instrument;

use herald_app::request_id::REQUEST_ID;

use crate::error::ApiError;

const REQUEST_ID_HEADER: &str = "x-request-id";

/// Gives each request an id (the client's `X-Request-Id` when it is sane),
/// runs the handler inside a span carrying it, logs the outcome, and echoes
/// the id in the response.
pub async fn request_id_and_log(request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string);
    let method = request.method().clone();
    let path = redact_keys(request.uri().path());
    // The route template, not the path: ids must not multiply the series.
    // Written `/api/posts/:id`, which every Prometheus tool reads easily.
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |m| m.as_str().replace('{', ":").replace('}', ""));
    let span = tracing::info_span!("request", request_id = %id, %method, %path);
    let started = Instant::now();
    let mut response = REQUEST_ID.scope(id.clone(), next.run(request)).instrument(span.clone()).await;
    let status = response.status().as_u16();
    let elapsed = started.elapsed().as_secs_f64();
    let elapsed_ms = elapsed * 1000.0;
    metrics::counter!("herald_http_requests_total", "method" => method.to_string(), "route" => route.clone(), "status" => status.to_string())
        .increment(1);
    metrics::histogram!("herald_http_request_duration_seconds", "method" => method.to_string(), "route" => route)
        .record(elapsed);
    span.in_scope(|| {
        if path == "/api/health" && status == 200 {
            tracing::debug!(status, elapsed_ms, "request finished");
        } else {
            tracing::info!(status, elapsed_ms, "request finished");
        }
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// A path with API keys (`/api/mcp/ptz_…`) masked: keys never reach the logs.
fn redact_keys(path: &str) -> String {
    path.split('/')
        .map(|segment| if herald_core::api_key::looks_like_api_key(segment) { "ptz_****" } else { segment })
        .collect::<Vec<_>>()
        .join("/")
}

/// The security headers of every response.
pub async fn security_headers(State(https): State<bool>, request: Request, next: Next) -> Response {
    let is_api = request.uri().path().starts_with("/api/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let mut set = |name: &'static str, value: &'static str| {
        headers.entry(name).or_insert(HeaderValue::from_static(value));
    };
    set("x-content-type-options", "nosniff");
    set("x-frame-options", "DENY");
    set("referrer-policy", "strict-origin-when-cross-origin");
    set("cross-origin-opener-policy", "same-origin");
    set("permissions-policy", "camera=(), microphone=(), geolocation=()");
    set(
        "content-security-policy",
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
    );
    if https {
        set("strict-transport-security", "max-age=31536000; includeSubDomains");
    }
    if is_api {
        // Personal data: never kept by shared caches or the browser's back/forward cache.
        set("cache-control", "no-store");
    }
    response
}

/// Per-client request budgets: one for the whole API and a tighter one for
/// creating posts, as the seed asks (100 and 10 per minute by default).
pub struct RateLimits {
    general: Option<DefaultKeyedRateLimiter<String>>,
    create_post: Option<DefaultKeyedRateLimiter<String>>,
}

impl RateLimits {
    pub fn new(per_minute: u32, posts_per_minute: u32) -> Self {
        let limiter = |n: u32| NonZeroU32::new(n).map(|n| RateLimiter::keyed(Quota::per_minute(n)));
        Self { general: limiter(per_minute), create_post: limiter(posts_per_minute) }
    }

    /// Forgets clients idle long enough to have a full budget again.
    pub fn forget_idle(&self) {
        for limiter in [&self.general, &self.create_post].into_iter().flatten() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    fn check(limiter: Option<&DefaultKeyedRateLimiter<String>>, key: &String) -> Result<(), Duration> {
        match limiter.map(|l| l.check_key(key)) {
            Some(Err(not_until)) => Err(not_until.wait_time_from(DefaultClock::default().now())),
            _ => Ok(()),
        }
    }
}

/// Who a request counts against: its API key (hashed, never kept in
/// memory as given), otherwise its peer address.
fn client_key(request: &Request) -> String {
    if let Some(auth) = request.headers().get(header::AUTHORIZATION) {
        let digest = Sha256::digest(auth.as_bytes());
        return format!("key:{}", hex_prefix(&digest));
    }
    let ip = request.extensions().get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip().to_string());
    format!("ip:{}", ip.unwrap_or_else(|| "unknown".into()))
}

fn hex_prefix(bytes: &[u8]) -> String {
    bytes.iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// Paths outside the API budget (DESIGN §9 limits the API): platforms
/// fetching a post's media and health probes must never get 429.
fn is_unlimited(path: &str) -> bool {
    path.starts_with("/uploads/") || path == "/api/health"
}

pub async fn rate_limit(State(limits): State<Arc<RateLimits>>, request: Request, next: Next) -> Response {
    if is_unlimited(request.uri().path()) {
        return next.run(request).await;
    }
    let key = client_key(&request);
    let creates_post = request.method() == Method::POST && request.uri().path() == "/api/posts";
    let verdict = RateLimits::check(limits.general.as_ref(), &key)
        .and_then(|()| if creates_post { RateLimits::check(limits.create_post.as_ref(), &key) } else { Ok(()) });
    match verdict {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            let error = ApiError::rate_limited("too many requests", wait);
            error.into_response()
        }
    }
}
