//! `x`: posts on X through API v2, connected by OAuth 2.0 with PKCE
//! (`X_CLIENT_ID`, and `X_CLIENT_SECRET` for a confidential client).
//!
//! Access tokens live two hours; the refresh token (scope `offline.access`)
//! is single-use and rotates on every refresh, so a refresh must never run
//! twice for one account (the engine holds a lease while it refreshes). X
//! answers `invalid_request` — not `invalid_grant` — for a spent or revoked
//! refresh token. A thread is a chain of replies; images go through the v2
//! media upload first.

use async_trait::async_trait;
use chrono::Utc;
use herald_core::platform::PlatformRules;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::declared::Declaration;
use crate::http::{classify_status, excerpt, retry_after};
use crate::oauth::{App, Begin, Callback, CodeFlow, Consent, Endpoints, OAuthConnect, Tokens};
use crate::{
    Attachment, ConnectedAccount, ErrorClass, HttpClient, Metrics, Provider, ProviderError, ProviderSettings,
    PublishRequest, PublishedItem, Refreshed,
};

/// What a post needs: write tweets and upload media, read the account, and
/// keep access without the user (`offline.access` gives a refresh token).
const SCOPES: &[&str] = &["tweet.read", "tweet.write", "users.read", "media.write", "offline.access"];

pub struct X {
    client: HttpClient,
    api: String,
    flow: Option<CodeFlow>,
}

impl X {
    pub fn new(client: HttpClient, settings: &ProviderSettings) -> Self {
        let flow = App::from_env(settings, "X_CLIENT_ID", "X_CLIENT_SECRET").map(|app| {
            let endpoints = Endpoints {
                authorize: settings.platform_url("x", "https://x.com/i/oauth2/authorize"),
                token: settings.platform_url("x", "https://api.x.com/2/oauth2/token"),
                revoke: Some(settings.platform_url("x", "https://api.x.com/2/oauth2/revoke")),
            };
            CodeFlow::new(client.clone(), app, endpoints, "X").refused_as(&["invalid_request"])
        });
        Self { api: settings.platform_url("x", "https://api.x.com"), client, flow }
    }

    fn flow(&self) -> Result<&CodeFlow, ProviderError> {
        self.flow.as_ref().ok_or_else(|| ProviderError::invalid("X is not configured: set X_CLIENT_ID"))
    }
}

/// What is stored for a connected account.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    #[serde(flatten)]
    tokens: Tokens,
    user_id: String,
    username: String,
}

fn credentials(value: &Value) -> Result<Credentials, ProviderError> {
    serde_json::from_value(value.clone()).map_err(|_| {
        ProviderError::new(ErrorClass::Revoked, "the stored X credentials are incomplete; reconnect the account")
    })
}

/// X's own words in an error body: `detail` (v2 problem), `errors[0].message`, or the body.
fn said(body: &str) -> String {
    let value: Value = serde_json::from_str(body).unwrap_or_default();
    value["detail"]
        .as_str()
        .or(value["errors"][0]["message"].as_str())
        .or(value["title"].as_str())
        .map_or_else(|| excerpt(body), str::to_string)
}

/// 401: the access token expired (refresh, then retry once). 403 is not a
/// revoked grant on X: it refuses duplicate text, replies to someone who
/// limited replies, and a plan without write access the same way.
fn error_from(status: StatusCode, headers: &HeaderMap, body: &str) -> ProviderError {
    let said = said(body);
    match status.as_u16() {
        401 => ProviderError::new(ErrorClass::AuthExpired, format!("X refused the access token: {said}")),
        400 | 403 | 422 => ProviderError::invalid(format!("X refused the post: {said}")),
        _ => ProviderError::new(
            classify_status(status, retry_after(headers, Utc::now())),
            format!("X answered {status}: {said}"),
        ),
    }
}

async fn json_or_error(response: reqwest::Response) -> Result<Value, ProviderError> {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(error_from(status, &headers, &text));
    }
    serde_json::from_str(&text).map_err(|_| {
        ProviderError::new(ErrorClass::Unknown, format!("X answered with something else than JSON: {}", excerpt(&text)))
    })
}

impl X {
    /// The account a token belongs to: `GET /2/users/me`.
    async fn me(&self, token: &str) -> Result<Value, ProviderError> {
        let request = self
            .client
            .inner()
            .get(format!("{}/2/users/me?user.fields=profile_image_url", self.api))
            .bearer_auth(token);
        let me = json_or_error(self.client.send(request).await?).await?;
        Ok(me["data"].clone())
    }

    /// One image through the v2 media upload (`POST /2/media/upload`).
    async fn upload(&self, token: &str, index: usize, media: &Attachment) -> Result<String, ProviderError> {
        if !media.is_image() {
            return Err(ProviderError::invalid("Herald sends only images to X so far; remove the video"));
        }
        let part = reqwest::multipart::Part::bytes(media.data.to_vec())
            .file_name(media.file_name(index))
            .mime_str(&media.mime)
            .map_err(|_| ProviderError::invalid(format!("`{}` is not a media type X takes", media.mime)))?;
        let form = reqwest::multipart::Form::new().part("media", part).text("media_category", "tweet_image");
        let request =
            self.client.inner().post(format!("{}/2/media/upload", self.api)).bearer_auth(token).multipart(form);
        let answer = json_or_error(self.client.send(request).await.map_err(ProviderError::before_publishing)?).await?;
        answer["data"]["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "X did not return the media id"))
    }
}

/// The body of `POST /2/tweets`.
fn tweet_body(request: &PublishRequest, media_ids: &[String]) -> Value {
    let mut body = json!({ "text": request.content });
    if let Some(parent) = &request.reply_to {
        body["reply"] = json!({ "in_reply_to_tweet_id": parent.id });
    }
    if !media_ids.is_empty() {
        body["media"] = json!({ "media_ids": media_ids });
    }
    body
}

#[async_trait]
impl OAuthConnect for X {
    fn app_env(&self) -> &'static [&'static str] {
        &["X_CLIENT_ID", "X_CLIENT_SECRET"]
    }

    fn is_configured(&self) -> bool {
        self.flow.is_some()
    }

    async fn begin(&self, begin: Begin<'_>) -> Result<Consent, ProviderError> {
        self.flow()?.consent(&begin, SCOPES, &[])
    }

    async fn finish(&self, callback: Callback<'_>) -> Result<Vec<ConnectedAccount>, ProviderError> {
        let tokens = self.flow()?.exchange(&callback, Utc::now()).await?;
        let me = self.me(&tokens.access_token).await?;
        let (Some(user_id), Some(username)) = (me["id"].as_str(), me["username"].as_str()) else {
            return Err(ProviderError::new(ErrorClass::Unknown, "X did not say which account this is"));
        };
        let display_name = me["name"].as_str().filter(|n| !n.trim().is_empty()).unwrap_or(username).to_string();
        let expires_at = tokens.expires_at;
        let scopes = tokens.scopes.clone();
        let stored = Credentials { tokens, user_id: user_id.to_string(), username: username.to_string() };
        Ok(vec![ConnectedAccount {
            account_id: user_id.to_string(),
            username: username.to_string(),
            display_name,
            avatar_url: me["profile_image_url"].as_str().map(str::to_string),
            credentials: serde_json::to_value(&stored).unwrap_or_default(),
            token_expires_at: expires_at,
            scopes,
            profile_pending: false,
        }])
    }

    async fn revoke(&self, value: &Value) -> Result<(), ProviderError> {
        self.flow()?.revoke(&credentials(value)?.tokens).await
    }
}

#[async_trait]
impl Provider for X {
    fn id(&self) -> &'static str {
        "x"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("x")
    }

    fn credentials(&self) -> Declaration {
        Declaration::none("X")
    }

    fn oauth(&self) -> Option<&dyn OAuthConnect> {
        Some(self)
    }

    async fn connect(&self, _credentials: &Value) -> Result<ConnectedAccount, ProviderError> {
        Err(ProviderError::invalid("X is connected by signing in with X: GET /api/auth/x"))
    }

    async fn refresh(&self, value: &Value) -> Result<Refreshed, ProviderError> {
        self.flow()?.refresh_stored(value).await
    }

    async fn publish(&self, request: &PublishRequest) -> Result<PublishedItem, ProviderError> {
        let creds = credentials(&request.credentials)?;
        let token = &creds.tokens.access_token;
        let mut media_ids = Vec::with_capacity(request.media.len());
        for (index, media) in request.media.iter().enumerate() {
            media_ids.push(self.upload(token, index, media).await?);
        }
        let post = self
            .client
            .inner()
            .post(format!("{}/2/tweets", self.api))
            .bearer_auth(token)
            .json(&tweet_body(request, &media_ids));
        let answer = json_or_error(self.client.send(post).await?).await?;
        let id = answer["data"]["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "X did not return the post id"))?;
        let url = Some(format!("https://x.com/{}/status/{id}", creds.username));
        Ok(PublishedItem { id, url })
    }

    fn has_metrics(&self) -> bool {
        true
    }

    /// `public_metrics` of `GET /2/tweets/{id}`.
    async fn fetch_metrics(&self, value: &Value, item: &PublishedItem) -> Result<Metrics, ProviderError> {
        let creds = credentials(value)?;
        let request = self
            .client
            .inner()
            .get(format!("{}/2/tweets/{}?tweet.fields=public_metrics", self.api, item.id))
            .bearer_auth(&creds.tokens.access_token);
        let answer = json_or_error(self.client.send(request).await?).await?;
        let counts = &answer["data"]["public_metrics"];
        let count = |field: &str| counts[field].as_i64().unwrap_or(0);
        let mut metrics = Metrics::from([
            ("likes".to_string(), count("like_count")),
            ("reposts".to_string(), count("retweet_count")),
            ("replies".to_string(), count("reply_count")),
            ("quotes".to_string(), count("quote_count")),
        ]);
        if let Some(impressions) = counts["impression_count"].as_i64() {
            metrics.insert("impressions".to_string(), impressions);
        }
        Ok(metrics)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forbidden_is_a_refused_post_and_unauthorized_an_expired_token() {
        let duplicate = r#"{"detail":"You are not allowed to create a Tweet with duplicate content.","status":403,"title":"Forbidden"}"#;
        let refused = error_from(StatusCode::FORBIDDEN, &HeaderMap::new(), duplicate);
        assert_eq!(refused.class, ErrorClass::Invalid);
        assert!(refused.message.contains("duplicate content"), "{}", refused.message);
        let expired =
            error_from(StatusCode::UNAUTHORIZED, &HeaderMap::new(), r#"{"title":"Unauthorized","status":401}"#);
        assert_eq!(expired.class, ErrorClass::AuthExpired);
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", reqwest::header::HeaderValue::from_static("30"));
        let limited = error_from(StatusCode::TOO_MANY_REQUESTS, &headers, "{}");
        assert_eq!(limited.class, ErrorClass::Retryable { after: Some(std::time::Duration::from_secs(30)) });
    }
}
