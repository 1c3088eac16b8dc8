//! The one HTTP client every provider uses: timeouts, no redirects (a
//! redirect could lead a request past the SSRF guard), the guarded
//! resolver, and the mapping of transport failures and status codes to
//! error classes.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;

use crate::net::resolver;
use crate::{ErrorClass, ProviderError, ProviderSettings};

#[derive(Clone)]
pub struct HttpClient {
    inner: reqwest::Client,
}

impl HttpClient {
    pub fn new(settings: &ProviderSettings) -> Self {
        let inner = reqwest::Client::builder()
            .timeout(settings.request_timeout)
            .connect_timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(resolver(settings.allow_private_targets))
            .user_agent(concat!("Herald/", env!("CARGO_PKG_VERSION"), " (+self-hosted social media scheduler)"))
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self { inner }
    }

    pub fn inner(&self) -> &reqwest::Client {
        &self.inner
    }

    /// Sends a request; failures to get any answer become provider errors.
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, ProviderError> {
        request.send().await.map_err(|error| transport_error(&error))
    }

    /// Like [`HttpClient::send`], for URLs that are themselves secrets (a bot
    /// token in the path, a webhook URL): reqwest puts the URL in its error
    /// messages, and those end up in logs and in the post's stored error.
    pub async fn send_secret_url(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, ProviderError> {
        request.send().await.map_err(|error| transport_error(&error.without_url()))
    }
}

fn transport_error(error: &reqwest::Error) -> ProviderError {
    let chain = error_chain(error);
    if chain.contains("HERALD_ALLOW_PRIVATE_TARGETS") || chain.contains("does not resolve") {
        return ProviderError::invalid(format!("the address is not allowed or does not exist: {chain}"));
    }
    let message = if error.is_timeout() {
        "the platform did not answer in time".to_string()
    } else if error.is_connect() {
        format!("could not connect to the platform: {chain}")
    } else {
        format!("the request failed: {chain}")
    };
    ProviderError::new(ErrorClass::Retryable { after: None }, message)
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    parts.join(": ")
}

/// `Retry-After` (seconds or HTTP date) or `x-rate-limit-reset` (epoch seconds).
pub fn retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    if let Some(value) = headers.get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()) {
        let value = value.trim();
        if let Ok(seconds) = value.parse::<u64>() {
            return Some(Duration::from_secs(seconds));
        }
        if let Ok(at) = DateTime::parse_from_rfc2822(value) {
            return Some((at.with_timezone(&Utc) - now).to_std().unwrap_or_default());
        }
    }
    let reset = headers.get("x-rate-limit-reset").and_then(|v| v.to_str().ok())?.trim().parse::<i64>().ok()?;
    let at = DateTime::from_timestamp(reset, 0)?;
    Some((at - now).to_std().unwrap_or_default())
}

/// The usual meaning of an HTTP error status. Providers refine it where a
/// platform says more (error codes in bodies).
pub fn classify_status(status: StatusCode, retry_after: Option<Duration>) -> ErrorClass {
    match status.as_u16() {
        429 | 408 | 425 => ErrorClass::Retryable { after: retry_after },
        401 => ErrorClass::AuthExpired,
        403 => ErrorClass::Revoked,
        400..=499 => ErrorClass::Invalid,
        500..=599 => ErrorClass::Retryable { after: retry_after },
        _ => ErrorClass::Unknown,
    }
}

/// A response body shortened for an error message.
pub fn excerpt(body: &str) -> String {
    let trimmed = body.trim();
    match trimmed.char_indices().nth(300) {
        Some((cut, _)) => format!("{}…", &trimmed[..cut]),
        None => trimmed.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_dates_and_reset_epochs() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(7)));
        headers.insert("retry-after", "Thu, 01 Jan 2026 00:01:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(60)));
        let mut reset = HeaderMap::new();
        reset.insert("x-rate-limit-reset", (now.timestamp() + 90).to_string().parse().unwrap());
        assert_eq!(retry_after(&reset, now), Some(Duration::from_secs(90)));
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn statuses_map_to_classes() {
        assert_eq!(classify_status(StatusCode::TOO_MANY_REQUESTS, None), ErrorClass::Retryable { after: None });
        assert_eq!(classify_status(StatusCode::UNAUTHORIZED, None), ErrorClass::AuthExpired);
        assert_eq!(classify_status(StatusCode::FORBIDDEN, None), ErrorClass::Revoked);
        assert_eq!(classify_status(StatusCode::UNPROCESSABLE_ENTITY, None), ErrorClass::Invalid);
        assert_eq!(classify_status(StatusCode::BAD_GATEWAY, None), ErrorClass::Retryable { after: None });
        assert_eq!(excerpt(&"x".repeat(400)).chars().count(), 301);
    }
}
