//! XRPC plumbing shared by the Bluesky calls: error bodies
//! (`{"error": "ExpiredToken", "message": "…"}`), rate-limit headers and
//! sessions.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::http::{classify_status, excerpt, retry_after};
use crate::{ErrorClass, ProviderError};

/// `Retry-After`, or the PDS's `ratelimit-reset` (epoch seconds).
pub fn rate_limit_wait(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    retry_after(headers, now).or_else(|| {
        let reset = headers.get("ratelimit-reset")?.to_str().ok()?.trim().parse::<i64>().ok()?;
        let at = DateTime::from_timestamp(reset, 0)?;
        Some((at - now).to_std().unwrap_or_default())
    })
}

/// Classifies an XRPC error answer; the message keeps Bluesky's own words.
pub fn error_from(status: StatusCode, headers: &HeaderMap, body: &str, now: DateTime<Utc>) -> ProviderError {
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let name = parsed["error"].as_str().unwrap_or_default();
    let said = match (name, parsed["message"].as_str()) {
        ("", None) => excerpt(body),
        (name, None) => name.to_string(),
        ("", Some(message)) => message.to_string(),
        (name, Some(message)) => format!("{name}: {message}"),
    };
    // An expired access token is a 400 with `ExpiredToken`, not a 401.
    let class = match (status.as_u16(), name) {
        (_, "ExpiredToken" | "InvalidToken") | (401, _) => ErrorClass::AuthExpired,
        (429, _) => ErrorClass::Retryable { after: rate_limit_wait(headers, now) },
        (400 | 413, _) => ErrorClass::Invalid,
        _ => classify_status(status, rate_limit_wait(headers, now)),
    };
    ProviderError::new(class, format!("Bluesky answered {}: {said}", status.as_u16()))
}

/// Reads a JSON answer, or the error it stands for.
pub async fn json_or_error(response: reqwest::Response) -> Result<Value, ProviderError> {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(error_from(status, &headers, &text, Utc::now()));
    }
    serde_json::from_str(&text).map_err(|_| {
        ProviderError::new(
            ErrorClass::Unknown,
            format!("Bluesky answered with something else than JSON: {}", excerpt(&text)),
        )
    })
}

/// What `createSession` and `refreshSession` return.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub did: String,
    pub handle: String,
    pub access_jwt: String,
    pub refresh_jwt: String,
}

impl Session {
    pub fn from_json(value: Value) -> Result<Self, ProviderError> {
        serde_json::from_value(value).map_err(|_| {
            ProviderError::new(ErrorClass::Unknown, "Bluesky's session answer lacks did, handle or tokens")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn xrpc_errors_are_classified() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
        let none = HeaderMap::new();
        let expired = error_from(
            StatusCode::BAD_REQUEST,
            &none,
            r#"{"error":"ExpiredToken","message":"Token has expired"}"#,
            now,
        );
        assert_eq!(expired.class, ErrorClass::AuthExpired);
        assert_eq!(expired.message, "Bluesky answered 400: ExpiredToken: Token has expired");
        let invalid = error_from(
            StatusCode::BAD_REQUEST,
            &none,
            r#"{"error":"InvalidRequest","message":"Record/text must not be longer than 300 graphemes"}"#,
            now,
        );
        assert_eq!(invalid.class, ErrorClass::Invalid);
        assert!(invalid.message.contains("300 graphemes"));
        let auth = error_from(
            StatusCode::UNAUTHORIZED,
            &none,
            r#"{"error":"AuthenticationRequired","message":"Invalid identifier or password"}"#,
            now,
        );
        assert_eq!(auth.class, ErrorClass::AuthExpired);
        let mut limited = HeaderMap::new();
        limited.insert("ratelimit-reset", (now.timestamp() + 30).to_string().parse().unwrap());
        let limit = error_from(StatusCode::TOO_MANY_REQUESTS, &limited, r#"{"error":"RateLimitExceeded"}"#, now);
        assert_eq!(limit.class, ErrorClass::Retryable { after: Some(Duration::from_secs(30)) });
        assert_eq!(error_from(StatusCode::BAD_GATEWAY, &none, "", now).class, ErrorClass::Retryable { after: None });
    }
}
