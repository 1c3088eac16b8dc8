//! `x`: posts on X through API v2, connected by OAuth 2.0 with PKCE
//! (`X_CLIENT_ID`, and `X_CLIENT_SECRET` for a confidential client) or,
//! where only the seed's `X_API_KEY`/`X_API_SECRET` are set, by OAuth 1.0a
//! (request token, consent, access token; every request signed, the token
//! never expires).
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
use crate::oauth1::{Consumer, Extras, TokenPair};
use crate::{
    Attachment, ConnectedAccount, ErrorClass, HttpClient, Metrics, Provider, ProviderError, ProviderSettings,
    PublishRequest, PublishedItem, RateBudget, Refreshed,
};

/// What a post needs: write tweets and upload media, read the account, and
/// keep access without the user (`offline.access` gives a refresh token).
const SCOPES: &[&str] = &["tweet.read", "tweet.write", "users.read", "media.write", "offline.access"];

pub struct X {
    client: HttpClient,
    api: String,
    flow: Option<CodeFlow>,
    /// The OAuth 1.0a app (`X_API_KEY`/`X_API_SECRET`): new connections use
    /// it when OAuth 2.0 is not configured, and accounts connected with it
    /// need it to sign their requests.
    consumer: Option<Consumer>,
    /// Where the user consents to an OAuth 1.0a request token.
    authorize_1a: String,
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
        let app = |name: &str| settings.app_credentials.get(name).filter(|v| !v.is_empty()).map(str::to_string);
        let consumer = app("X_API_KEY").zip(app("X_API_SECRET")).map(|(key, secret)| Consumer { key, secret });
        Self {
            api: settings.platform_url("x", "https://api.x.com"),
            authorize_1a: settings.platform_url("x", "https://api.x.com/oauth/authorize"),
            client,
            flow,
            consumer,
        }
    }

    fn flow(&self) -> Result<&CodeFlow, ProviderError> {
        self.flow.as_ref().ok_or_else(|| ProviderError::invalid("X is not configured: set X_CLIENT_ID"))
    }

    fn consumer(&self) -> Result<&Consumer, ProviderError> {
        self.consumer.as_ref().ok_or_else(|| {
            ProviderError::new(
                ErrorClass::Revoked,
                "this X account was connected with X_API_KEY, which is no longer set; set it again or reconnect",
            )
        })
    }

    /// A request as the account: signed by OAuth 1.0a for an account
    /// connected that way, else with its bearer token.
    fn as_account(
        &self,
        method: reqwest::Method,
        url: &str,
        creds: &Credentials,
    ) -> Result<reqwest::RequestBuilder, ProviderError> {
        let request = self.client.inner().request(method.clone(), url);
        Ok(match &creds.token_secret {
            Some(secret) => {
                let token = TokenPair { token: &creds.tokens.access_token, secret };
                let header = self.consumer()?.authorization(&method, url, Some(token), Extras::default());
                request.header(reqwest::header::AUTHORIZATION, header)
            }
            None => request.bearer_auth(&creds.tokens.access_token),
        })
    }
}

/// What is stored for a connected account.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    #[serde(flatten)]
    tokens: Tokens,
    /// OAuth 1.0a: the access token's secret (its token is `accessToken`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    token_secret: Option<String>,
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

/// Video goes up in chunks of this size (X takes at most 5 MB a chunk).
const CHUNK_BYTES: u64 = 4 * 1024 * 1024;
/// How long a publish waits for X to process a video before trying later.
const MAX_PROCESSING_WAIT: std::time::Duration = std::time::Duration::from_secs(120);

impl X {
    /// The account a token belongs to: `GET /2/users/me`.
    async fn me(&self, creds: &Credentials) -> Result<Value, ProviderError> {
        let url = format!("{}/2/users/me?user.fields=profile_image_url", self.api);
        let me = json_or_error(self.client.send(self.as_account(reqwest::Method::GET, &url, creds)?).await?).await?;
        Ok(me["data"].clone())
    }

    /// One file through the v2 media upload: an image in one request, a
    /// video or GIF in chunks, waiting for X to process it.
    async fn upload(&self, creds: &Credentials, index: usize, media: &Attachment) -> Result<String, ProviderError> {
        if media.is_image() && media.mime != "image/gif" {
            return self.upload_image(creds, index, media).await;
        }
        let id = self.upload_chunked(creds, index, media).await.map_err(ProviderError::before_publishing)?;
        Ok(id)
    }

    async fn upload_image(
        &self,
        creds: &Credentials,
        index: usize,
        media: &Attachment,
    ) -> Result<String, ProviderError> {
        let form = reqwest::multipart::Form::new()
            .part("media", part(media, index, media.part())?)
            .text("media_category", "tweet_image");
        let url = format!("{}/2/media/upload", self.api);
        let request = self.as_account(reqwest::Method::POST, &url, creds)?.multipart(form);
        let answer = json_or_error(self.client.send(request).await.map_err(ProviderError::before_publishing)?).await?;
        media_id(&answer)
    }

    /// `initialize`, an `append` per chunk, `finalize`, then `STATUS`
    /// until X has processed the file.
    async fn upload_chunked(
        &self,
        creds: &Credentials,
        index: usize,
        media: &Attachment,
    ) -> Result<String, ProviderError> {
        let category = if media.mime == "image/gif" { "tweet_gif" } else { "tweet_video" };
        let init = json!({ "media_type": media.mime, "total_bytes": media.size, "media_category": category });
        let url = format!("{}/2/media/upload/initialize", self.api);
        let started =
            json_or_error(self.client.send(self.as_account(reqwest::Method::POST, &url, creds)?.json(&init)).await?)
                .await?;
        let id = media_id(&started)?;
        for (segment, at) in (0..media.size).step_by(CHUNK_BYTES as usize).enumerate() {
            let chunk = media.chunk(at..(at + CHUNK_BYTES).min(media.size)).await?;
            let form = reqwest::multipart::Form::new()
                .part("media", part(media, index, reqwest::multipart::Part::stream(chunk))?)
                .text("segment_index", segment.to_string());
            let url = format!("{}/2/media/upload/{id}/append", self.api);
            json_or_error(
                self.client.send(self.as_account(reqwest::Method::POST, &url, creds)?.multipart(form)).await?,
            )
            .await?;
        }
        let url = format!("{}/2/media/upload/{id}/finalize", self.api);
        let mut state =
            json_or_error(self.client.send(self.as_account(reqwest::Method::POST, &url, creds)?).await?).await?;
        let mut waited = std::time::Duration::ZERO;
        loop {
            let info = &state["data"]["processing_info"];
            match info["state"].as_str() {
                None | Some("succeeded") => return Ok(id),
                Some("failed") => {
                    let said = info["error"]["message"].as_str().unwrap_or("no reason given");
                    return Err(ProviderError::invalid(format!("X could not process the media: {said}")));
                }
                Some(_) => {}
            }
            let after = std::time::Duration::from_secs(info["check_after_secs"].as_u64().unwrap_or(5).clamp(1, 60));
            if waited + after > MAX_PROCESSING_WAIT {
                return Err(ProviderError::new(
                    ErrorClass::Retryable { after: Some(after) },
                    "X is still processing the video; trying again later",
                ));
            }
            tokio::time::sleep(after).await;
            waited += after;
            let url = format!("{}/2/media/upload?command=STATUS&media_id={id}", self.api);
            state = json_or_error(self.client.send(self.as_account(reqwest::Method::GET, &url, creds)?).await?).await?;
        }
    }
}

/// A file (or a chunk of it) as the `media` part.
fn part(
    media: &Attachment,
    index: usize,
    data: reqwest::multipart::Part,
) -> Result<reqwest::multipart::Part, ProviderError> {
    data.file_name(media.file_name(index))
        .mime_str(&media.mime)
        .map_err(|_| ProviderError::invalid(format!("`{}` is not a media type X takes", media.mime)))
}

fn media_id(answer: &Value) -> Result<String, ProviderError> {
    answer["data"]["id"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "X did not return the media id"))
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
        self.flow.is_some() || self.consumer.is_some()
    }

    /// OAuth 2.0 where configured; else OAuth 1.0a: a request token first,
    /// which the callback brings back in place of the state.
    async fn begin(&self, begin: Begin<'_>) -> Result<Consent, ProviderError> {
        if let Some(flow) = &self.flow {
            return flow.consent(&begin, SCOPES, &[]);
        }
        let url = format!("{}/oauth/request_token", self.api);
        let extras = Extras { callback: Some(begin.redirect_uri), verifier: None };
        let answer = self.consumer()?.token_request(&self.client, &url, None, extras, "X").await?;
        if answer.get("oauth_callback_confirmed").map(String::as_str) != Some("true") {
            return Err(ProviderError::new(ErrorClass::Unknown, "X did not confirm the callback URL"));
        }
        let token = answer.get("oauth_token").cloned().unwrap_or_default();
        let secret = answer.get("oauth_token_secret").cloned().unwrap_or_default();
        let encoded: String = url::form_urlencoded::byte_serialize(token.as_bytes()).collect();
        Ok(Consent {
            url: format!("{}?oauth_token={encoded}", self.authorize_1a),
            verifier: None,
            context: json!({ "requestToken": token, "requestSecret": secret }),
            state_key: Some(token),
        })
    }

    async fn finish(&self, callback: Callback<'_>) -> Result<Vec<ConnectedAccount>, ProviderError> {
        let (tokens, token_secret) = match callback.context["requestToken"].as_str() {
            Some(request_token) => {
                let pair = TokenPair {
                    token: request_token,
                    secret: callback.context["requestSecret"].as_str().unwrap_or_default(),
                };
                let url = format!("{}/oauth/access_token", self.api);
                let extras = Extras { callback: None, verifier: Some(callback.code) };
                let answer = self.consumer()?.token_request(&self.client, &url, Some(pair), extras, "X").await?;
                let tokens = Tokens {
                    access_token: answer.get("oauth_token").cloned().unwrap_or_default(),
                    refresh_token: None,
                    expires_at: None,
                    refresh_expires_at: None,
                    scopes: Vec::new(),
                };
                (tokens, answer.get("oauth_token_secret").cloned())
            }
            None => (self.flow()?.exchange(&callback, Utc::now()).await?, None),
        };
        let mut stored = Credentials { tokens, token_secret, user_id: String::new(), username: String::new() };
        let me = self.me(&stored).await?;
        let (Some(user_id), Some(username)) = (me["id"].as_str(), me["username"].as_str()) else {
            return Err(ProviderError::new(ErrorClass::Unknown, "X did not say which account this is"));
        };
        let display_name = me["name"].as_str().filter(|n| !n.trim().is_empty()).unwrap_or(username).to_string();
        stored.user_id = user_id.to_string();
        stored.username = username.to_string();
        Ok(vec![ConnectedAccount {
            account_id: user_id.to_string(),
            username: username.to_string(),
            display_name,
            avatar_url: me["profile_image_url"].as_str().map(str::to_string),
            token_expires_at: stored.tokens.expires_at,
            scopes: stored.tokens.scopes.clone(),
            credentials: serde_json::to_value(&stored).unwrap_or_default(),
            profile_pending: false,
        }])
    }

    /// OAuth 2.0: RFC 7009 revocation. OAuth 1.0a: `POST /1.1/oauth/invalidate_token`.
    async fn revoke(&self, value: &Value) -> Result<(), ProviderError> {
        let creds = credentials(value)?;
        if creds.token_secret.is_none() {
            return self.flow()?.revoke(&creds.tokens).await;
        }
        let url = format!("{}/1.1/oauth/invalidate_token", self.api);
        let response = self.client.send(self.as_account(reqwest::Method::POST, &url, &creds)?).await?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = response.text().await.unwrap_or_default();
        Err(ProviderError::new(
            classify_status(status, None),
            format!("X refused revoking the grant ({status}): {}", said(&body)),
        ))
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
        // An OAuth 1.0a token never expires: refused, it was revoked.
        if credentials(value)?.token_secret.is_some() {
            return Err(ProviderError::new(
                ErrorClass::Revoked,
                "X no longer accepts this account's token; reconnect it",
            ));
        }
        self.flow()?.refresh_stored(value).await
    }

    async fn publish(&self, request: &PublishRequest) -> Result<crate::Step, ProviderError> {
        let creds = credentials(&request.credentials)?;
        if request.media.len() > 1 && request.media.iter().any(|m| m.is_video() || m.mime == "image/gif") {
            return Err(ProviderError::invalid("X takes one video or GIF per post, alone: remove the other files"));
        }
        let mut media_ids = Vec::with_capacity(request.media.len());
        for (index, media) in request.media.iter().enumerate() {
            media_ids.push(self.upload(&creds, index, media).await?);
        }
        let url = format!("{}/2/tweets", self.api);
        let post = self.as_account(reqwest::Method::POST, &url, &creds)?.json(&tweet_body(request, &media_ids));
        let answer = json_or_error(self.client.send(post).await?).await?;
        let id = answer["data"]["id"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "X did not return the post id"))?;
        let url = Some(format!("https://x.com/{}/status/{id}", creds.username));
        Ok(PublishedItem { id, url }.into())
    }

    /// X's per-user limit on creating posts for paid plans and pay-per-use:
    /// 100 in 24 hours. The free tier allows 17: set
    /// `HERALD_PROVIDER_X_RATE_BUDGET=17/24h` (or an account's `rateBudget`).
    fn rate_budget(&self) -> Option<RateBudget> {
        Some(RateBudget { max: 100, window: std::time::Duration::from_secs(24 * 3600) })
    }

    fn has_metrics(&self) -> bool {
        true
    }

    /// `public_metrics` of `GET /2/tweets/{id}`.
    async fn fetch_metrics(&self, value: &Value, item: &PublishedItem) -> Result<Metrics, ProviderError> {
        let creds = credentials(value)?;
        let url = format!("{}/2/tweets/{}?tweet.fields=public_metrics", self.api, item.id);
        let request = self.as_account(reqwest::Method::GET, &url, &creds)?;
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
