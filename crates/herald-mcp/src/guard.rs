//! What every MCP HTTP request passes before a session sees it: the
//! `Host` (DNS rebinding) and `Origin` (a page in a browser calling a local
//! server) checks, and errors in Herald's JSON format — rmcp's own answers
//! are plain text, which clients cannot read as Herald errors.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use herald_app::AppError;

/// An error in the JSON format of the REST API.
pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({ "error": {
        "code": code, "message": message, "details": null, "timestamp": chrono::Utc::now(),
        "requestId": herald_app::request_id::current(),
    }});
    let mut response = (status, axum::Json(body)).into_response();
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    }
    response
}

pub(crate) fn refuse(app_error: &AppError) -> Response {
    let status = match app_error {
        AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        AppError::Forbidden { .. } => StatusCode::FORBIDDEN,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let message = match app_error {
        AppError::Internal(source) => {
            tracing::error!(error = %source, "internal error in the MCP transport");
            "something went wrong on our side".to_string()
        }
        other => other.to_string(),
    };
    error(status, app_error.code(), &message)
}

/// The refusal of a request whose `Host` is not one Herald answers to, or
/// that a page of another site sent (`Origin`): one rule for every transport.
pub(crate) fn host_or_origin_refusal(headers: &HeaderMap, allowed_hosts: &[String]) -> Option<Response> {
    let refusal = check_host_and_origin(headers, allowed_hosts).err()?;
    Some(error(StatusCode::FORBIDDEN, "FORBIDDEN", refusal))
}

fn check_host_and_origin(headers: &HeaderMap, allowed_hosts: &[String]) -> Result<(), &'static str> {
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !is_allowed(host, allowed_hosts) {
        tracing::warn!(host, "MCP request with a Host Herald does not answer to (DNS rebinding?)");
        return Err("this Host is not allowed for MCP; add it to HERALD_MCP_ALLOWED_HOSTS or set MAIN_URL");
    }
    if let Some(origin) = headers.get(header::ORIGIN) {
        let same_site = origin
            .to_str()
            .ok()
            .and_then(|o| url::Url::parse(o).ok())
            .filter(|o| matches!(o.scheme(), "http" | "https"))
            .and_then(|o| o.host_str().map(|h| authority(h, o.port())))
            .is_some_and(|authority| is_allowed(&authority, allowed_hosts));
        if !same_site {
            tracing::warn!("MCP request from a page of another site (Origin refused)");
            return Err("requests from other sites' pages are refused (Origin)");
        }
    }
    Ok(())
}

fn authority(host: &str, port: Option<u16>) -> String {
    match port {
        Some(port) => format!("{host}:{port}"),
        None => host.to_string(),
    }
}

/// `host` (`name`, `name:port`, `[v6]:port`) against entries `name` (any
/// port) or `name:port`.
fn is_allowed(host: &str, allowed: &[String]) -> bool {
    let Ok(parsed) = host.parse::<axum::http::uri::Authority>() else { return false };
    let name = parsed.host().trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
    allowed.iter().any(|entry| {
        let entry = entry.trim().to_ascii_lowercase();
        let (entry_host, entry_port) = match entry.parse::<axum::http::uri::Authority>() {
            Ok(a) => (a.host().trim_start_matches('[').trim_end_matches(']').to_string(), a.port_u16()),
            // A bare IPv6 address (`::1`) is no authority.
            Err(_) => (entry.clone(), None),
        };
        entry_host == name && entry_port.is_none_or(|port| parsed.port_u16() == Some(port))
    })
}

/// rmcp's HTTP-level refusals (406, 415, 404 for an unknown session …) in
/// the JSON error format; JSON answers (JSON-RPC errors) pass unchanged.
pub(crate) async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let text = axum::body::to_bytes(response.into_body(), 64 * 1024).await.unwrap_or_default();
    let message = String::from_utf8_lossy(&text).trim().to_string();
    let message = if message.is_empty() { status.canonical_reason().unwrap_or("error").to_string() } else { message };
    let code = match status {
        StatusCode::NOT_FOUND => "NOT_FOUND",
        StatusCode::UNAUTHORIZED => "UNAUTHORIZED",
        StatusCode::FORBIDDEN => "FORBIDDEN",
        StatusCode::METHOD_NOT_ALLOWED => "METHOD_NOT_ALLOWED",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "UNSUPPORTED_MEDIA_TYPE",
        s if s.is_server_error() => "INTERNAL",
        _ => "BAD_REQUEST",
    };
    error(status, code, &message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn hosts_and_origins_must_be_ours() {
        let allowed: Vec<String> =
            ["localhost", "127.0.0.1", "::1", "herald.example.com:443"].map(String::from).to_vec();
        let ok = |pairs: &[(&'static str, &str)]| check_host_and_origin(&headers(pairs), &allowed).is_ok();
        assert!(ok(&[("host", "localhost:5000")]));
        assert!(ok(&[("host", "[::1]:5000")]));
        assert!(ok(&[("host", "herald.example.com:443")]));
        assert!(!ok(&[("host", "herald.example.com:8443")]));
        assert!(!ok(&[("host", "evil.example:5000")]));
        assert!(!ok(&[]));
        assert!(ok(&[("host", "localhost:5000"), ("origin", "http://localhost:5000")]));
        assert!(!ok(&[("host", "localhost:5000"), ("origin", "https://evil.example")]));
        assert!(!ok(&[("host", "localhost:5000"), ("origin", "null")]));
    }
}
