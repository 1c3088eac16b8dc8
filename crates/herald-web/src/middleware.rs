//! Request ids and logging, security headers.

use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use herald_app::request_id::REQUEST_ID;
use tracing::Instrument;

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
    let path = redact_secrets(request.uri().path());
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

/// Path segments after which comes a link's token, its only key
/// (`/invites/{token}`, `/p/{token}` previews, `/connect/{token}`).
const TOKEN_AFTER: [&str; 3] = ["invites", "p", "connect"];

/// A path with its secrets masked — API keys (`/api/mcp/ptz_…`) and the
/// tokens of public links: they never reach the logs.
fn redact_secrets(path: &str) -> String {
    let mut previous = "";
    path.split('/')
        .map(|segment| {
            let masked = if herald_core::api_key::looks_like_api_key(segment) {
                "ptz_****"
            } else if TOKEN_AFTER.contains(&previous) && !segment.is_empty() {
                "****"
            } else {
                segment
            };
            previous = segment;
            masked
        })
        .collect::<Vec<_>>()
        .join("/")
}

/// The security headers of every response.
pub async fn security_headers(State(https): State<bool>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    // Static files and uploads set their own caching; everything else may
    // show personal data (signed-in pages, API answers).
    let personal = !path.starts_with("/static/") && !path.starts_with("/uploads/");
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
    if personal {
        // Never kept by shared caches or the browser's back/forward cache.
        set("cache-control", "no-store");
    }
    response
}
