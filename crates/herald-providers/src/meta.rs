//! What Meta's platforms (Threads, Instagram, Facebook) share: the Graph
//! API's error body and its codes, the token endpoints that answer without
//! RFC 6749's `token_type`, and the media container a post is built from —
//! created, processed by the platform while Herald waits
//! ([`crate::Step::Pending`]), then published once.
//!
//! Requests carry `access_token` as a parameter, as Meta's reference shows
//! them; every URL in a message is cut to its host, so it never leaks.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::http::{classify_status, excerpt, retry_after};
use crate::{ErrorClass, HttpClient, Pending, ProviderError, Step};

/// The Graph API version Facebook and Instagram calls use, pinned here only
/// (Meta keeps a version about two years).
pub(crate) const GRAPH_VERSION: &str = "v24.0";

/// Graph error codes of rate limits: application (4), user (17), page
/// (32), per-action (613) and the business use case limits (80001–80014).
fn is_rate_limit(code: i64) -> bool {
    matches!(code, 4 | 17 | 32 | 613) || (80_001..=80_014).contains(&code)
}

/// How long to wait after a Graph rate limit that names no time.
const RATE_LIMIT_PAUSE: Duration = Duration::from_secs(15 * 60);

/// A Graph error answer (`{"error": {"message", "type", "code",
/// "error_subcode", "is_transient", "error_user_msg"}}`) as a provider error.
pub(crate) fn graph_error(
    platform: &str,
    status: StatusCode,
    headers: &reqwest::header::HeaderMap,
    body: &str,
) -> ProviderError {
    let parsed: Value = serde_json::from_str(body).unwrap_or_default();
    let error = &parsed["error"];
    let code = error["code"].as_i64().unwrap_or_default();
    let subcode = error["error_subcode"].as_i64();
    let said = error["error_user_msg"]
        .as_str()
        .or_else(|| error["message"].as_str())
        .map_or_else(|| excerpt(body), str::to_string);
    let class = match code {
        // An expired, invalidated or unknown token: refreshed once, then reconnect.
        190 | 102 => ErrorClass::AuthExpired,
        // Permission not granted, or the app lost it: reconnecting asks again.
        10 | 200..=299 => {
            return ProviderError::invalid(format!("{platform} does not allow this (permission missing): {said}"));
        }
        // Instagram's 24-hour publishing limit (code 9, subcode 2207042).
        9 if subcode == Some(2_207_042) => ErrorClass::Retryable { after: Some(Duration::from_secs(60 * 60)) },
        code if is_rate_limit(code) => {
            ErrorClass::Retryable { after: Some(retry_after(headers, Utc::now()).unwrap_or(RATE_LIMIT_PAUSE)) }
        }
        1 | 2 => ErrorClass::Retryable { after: None },
        _ if error["is_transient"].as_bool() == Some(true) => ErrorClass::Retryable { after: None },
        // Invalid parameter, or the media could not be fetched or used.
        100 | 9004 | 36_000..=36_999 | 2_207_000..=2_207_999 => ErrorClass::Invalid,
        _ => match status.as_u16() {
            400 | 404 | 422 => ErrorClass::Invalid,
            401 => ErrorClass::AuthExpired,
            403 => ErrorClass::Invalid,
            _ => classify_status(status, retry_after(headers, Utc::now())),
        },
    };
    let subcode = subcode.map_or_else(String::new, |s| format!(", subcode {s}"));
    ProviderError::new(class, format!("{platform} answered {status} (code {code}{subcode}): {said}"))
}

/// A Graph answer: the JSON body, or the classified error.
pub(crate) async fn graph_answer(platform: &str, response: reqwest::Response) -> Result<Value, ProviderError> {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.map_err(|error| {
        ProviderError::new(ErrorClass::MaybeSent, format!("{platform}'s answer could not be read: {error}"))
    })?;
    if !status.is_success() {
        return Err(graph_error(platform, status, &headers, &text));
    }
    serde_json::from_str(&text).map_err(|_| {
        ProviderError::new(
            ErrorClass::MaybeSent,
            format!("{platform} answered with something that is not JSON: {}", excerpt(&text)),
        )
    })
}

/// A token endpoint's answer (`access_token`, `expires_in`, sometimes
/// `user_id`), which Meta sends without `token_type`.
#[derive(Debug, Clone)]
pub(crate) struct MetaToken {
    pub access_token: String,
    pub expires_at: Option<DateTime<Utc>>,
    pub user_id: Option<String>,
}

impl MetaToken {
    pub(crate) fn from_answer(platform: &str, answer: &Value, now: DateTime<Utc>) -> Result<Self, ProviderError> {
        let access_token = answer["access_token"]
            .as_str()
            .filter(|token| !token.is_empty())
            .ok_or_else(|| {
                ProviderError::new(ErrorClass::Unknown, format!("{platform} answered without an access token"))
            })?
            .to_string();
        let expires_at = answer["expires_in"].as_i64().filter(|s| *s > 0).map(|s| now + chrono::Duration::seconds(s));
        let user_id = match &answer["user_id"] {
            Value::String(id) => Some(id.clone()),
            Value::Number(id) => Some(id.to_string()),
            _ => None,
        };
        Ok(Self { access_token, expires_at, user_id })
    }
}

/// `GET url` with the query `params`, answered by the Graph.
pub(crate) async fn get(
    client: &HttpClient,
    platform: &str,
    url: &str,
    params: &[(&str, &str)],
) -> Result<Value, ProviderError> {
    graph_answer(platform, client.send(client.inner().get(url).query(params)).await?).await
}

/// `POST url` with `params` in the query string, as Meta's reference sends them.
pub(crate) async fn post(
    client: &HttpClient,
    platform: &str,
    url: &str,
    params: &[(&str, &str)],
) -> Result<Value, ProviderError> {
    graph_answer(platform, client.send(client.inner().post(url).query(params)).await?).await
}

/// Where a media container is, as Threads (`status`) and Instagram
/// (`status_code`) report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ContainerStatus {
    InProgress,
    Finished,
    Published,
    Error(String),
    Expired,
}

impl ContainerStatus {
    pub(crate) fn of(status: &str, message: Option<&str>) -> Self {
        match status {
            "FINISHED" => Self::Finished,
            "PUBLISHED" => Self::Published,
            "ERROR" => Self::Error(message.filter(|m| !m.is_empty()).unwrap_or("no reason given").to_string()),
            "EXPIRED" => Self::Expired,
            // IN_PROGRESS, and anything newer: ask again.
            _ => Self::InProgress,
        }
    }
}

/// The wait before asking about a container again: short for text and
/// images, longer for videos, and longer still as the polls add up.
pub(crate) fn poll_wait(video: bool, polls: u64) -> Duration {
    let base = if video { 10 } else { 1 };
    Duration::from_secs((base * (1 + polls / 5)).min(60))
}

/// What Herald keeps while Threads or Instagram processes a post: the
/// container, or a carousel's item containers first. No token in it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct ContainerHandle {
    /// The container to publish, once it exists.
    pub container: Option<String>,
    /// A carousel's item containers.
    pub children: Vec<String>,
    pub video: bool,
    pub polls: u64,
}

/// The platform is processing: ask again after [`poll_wait`].
pub(crate) fn waiting(handle: ContainerHandle, stage: &str) -> Step {
    let after = poll_wait(handle.video, handle.polls);
    let handle = serde_json::to_value(&handle).unwrap_or_default();
    Step::Pending(Pending { handle, after, stage: stage.to_string() })
}

/// What people read while a container is processed.
pub(crate) fn stage(video: bool) -> &'static str {
    if video { "processing the video" } else { "preparing the post" }
}

/// Owned parameters as the `(&str, &str)` pairs a request takes.
pub(crate) fn borrowed<'a>(params: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    params.iter().map(|(name, value)| (*name, value.as_str())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderMap;

    fn classify(status: u16, body: &str) -> ProviderError {
        graph_error("Threads", StatusCode::from_u16(status).unwrap(), &HeaderMap::new(), body)
    }

    #[test]
    fn graph_codes_decide_the_class() {
        let expired = classify(
            400,
            r#"{"error":{"message":"Error validating access token: Session has expired","type":"OAuthException","code":190,"error_subcode":463}}"#,
        );
        assert_eq!(expired.class, ErrorClass::AuthExpired);
        assert!(
            expired.message.contains("Session has expired") && expired.message.contains("subcode 463"),
            "{}",
            expired.message
        );
        let limited = classify(400, r#"{"error":{"message":"Application request limit reached","code":4}}"#);
        assert_eq!(limited.class, ErrorClass::Retryable { after: Some(RATE_LIMIT_PAUSE) });
        let transient =
            classify(500, r#"{"error":{"message":"An unexpected error has occurred.","code":2,"is_transient":true}}"#);
        assert_eq!(transient.class, ErrorClass::Retryable { after: None });
        let permission = classify(
            403,
            r#"{"error":{"message":"(#10) Application does not have permission for this action","code":10}}"#,
        );
        assert_eq!(permission.class, ErrorClass::Invalid);
        let param = classify(
            400,
            r#"{"error":{"message":"Invalid parameter","code":100,"error_user_msg":"The text is too long."}}"#,
        );
        assert_eq!(param.class, ErrorClass::Invalid);
        assert!(param.message.contains("The text is too long."));
        let limit = classify(400, r#"{"error":{"message":"limit","code":9,"error_subcode":2207042}}"#);
        assert!(matches!(limit.class, ErrorClass::Retryable { after: Some(_) }));
        assert!(matches!(classify(503, "down").class, ErrorClass::Retryable { .. }));
    }

    #[test]
    fn tokens_come_without_a_type_and_ids_as_numbers() {
        let now = Utc::now();
        let token =
            MetaToken::from_answer("Threads", &serde_json::json!({"access_token": "t", "user_id": 1789}), now).unwrap();
        assert_eq!(token.user_id.as_deref(), Some("1789"));
        assert_eq!(token.expires_at, None);
        let long = MetaToken::from_answer(
            "Threads",
            &serde_json::json!({"access_token": "t", "token_type": "bearer", "expires_in": 5_183_944}),
            now,
        )
        .unwrap();
        assert_eq!(long.expires_at, Some(now + chrono::Duration::seconds(5_183_944)));
        assert!(MetaToken::from_answer("Threads", &serde_json::json!({}), now).is_err());
    }

    #[test]
    fn container_statuses_and_waits() {
        assert_eq!(ContainerStatus::of("ERROR", Some("bad video")), ContainerStatus::Error("bad video".into()));
        assert_eq!(ContainerStatus::of("SOMETHING_NEW", None), ContainerStatus::InProgress);
        assert_eq!(poll_wait(false, 0), Duration::from_secs(1));
        assert_eq!(poll_wait(true, 12), Duration::from_secs(30));
        assert_eq!(poll_wait(true, 1000), Duration::from_secs(60));
    }
}
