//! `tiktok`: videos through the Content Posting API (Direct Post),
//! connected by TikTok's OAuth v2 (`TIKTOK_CLIENT_ID` is the app's client
//! key; scopes `user.info.basic,video.publish,video.upload`).
//!
//! Publishing asks the creator's options first (`creator_info/query`: the
//! privacy levels this account may use, whether comments, duets and
//! stitches can be allowed), then `video/init` with the post info and the
//! file's chunking, stores the `publish_id` and upload URL
//! ([`Step::Pending`]), sends the chunks (5–64 MB, streamed from the media
//! store; before each one after the first, `status/fetch` says how many
//! bytes TikTok holds, so a restart continues there), and asks
//! `status/fetch` until `PUBLISH_COMPLETE`. With `source: "url"` TikTok
//! pulls the file from `MAIN_URL` instead (its domain must be verified in
//! the app). Access tokens live 24 hours and refresh tokens a year, and
//! may rotate: the engine's one-refresh-at-a-time lease keeps a spent one
//! from being used twice. Apps TikTok has not audited can only post
//! privately (`SELF_ONLY`).

use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use garde::Validate;
use herald_core::platform::PlatformRules;
use reqwest::StatusCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::declared::{self, Declaration};
use crate::http::{classify_status, excerpt, retry_after};
use crate::oauth::{App, Begin, Callback, CodeFlow, Consent, Endpoints, OAuthConnect, Tokens};
use crate::{
    Attachment, ConnectedAccount, ErrorClass, HttpClient, Pending, Provider, ProviderError, ProviderSettings,
    PublishRequest, PublishedItem, RateBudget, Recovery, Refreshed, Step,
};

const PLATFORM: &str = "TikTok";
const SCOPES: &str = "user.info.basic,video.publish,video.upload";
/// TikTok's chunks: at least 5 MB, at most 64 MB; the last takes the rest.
const MIN_CHUNK: u64 = 5 * 1024 * 1024;
const CHUNK: u64 = 10 * 1024 * 1024;
/// About how many posts a creator may make through the API in a day.
const POSTS_PER_DAY: u32 = 15;

pub struct TikTok {
    client: HttpClient,
    api: String,
    app: Option<App>,
    flow: Option<CodeFlow>,
}

impl TikTok {
    pub fn new(client: HttpClient, settings: &ProviderSettings) -> Self {
        let api = settings.platform_url("tiktok", "https://open.tiktokapis.com");
        let app = App::from_env(settings, "TIKTOK_CLIENT_ID", "TIKTOK_CLIENT_SECRET");
        let flow = app.clone().map(|app| {
            let endpoints = Endpoints {
                authorize: settings.platform_url("tiktok", "https://www.tiktok.com/v2/auth/authorize/"),
                token: format!("{api}/v2/oauth/token/"),
                revoke: None,
            };
            CodeFlow::new(client.clone(), app, endpoints, PLATFORM).without_pkce()
        });
        Self { client, api, app, flow }
    }

    fn app(&self) -> Result<&App, ProviderError> {
        self.app.as_ref().ok_or_else(|| ProviderError::invalid("TikTok is not configured: set TIKTOK_CLIENT_ID"))
    }

    /// The token endpoint, which names the app `client_key`.
    async fn token(&self, grant: &[(&str, &str)]) -> Result<Tokens, ProviderError> {
        let app = self.app()?;
        let mut form = vec![
            ("client_key", app.client_id.as_str()),
            ("client_secret", app.client_secret.as_deref().unwrap_or_default()),
        ];
        form.extend_from_slice(grant);
        let request = self.client.inner().post(format!("{}/v2/oauth/token/", self.api)).form(&form);
        let response = self.client.send(request).await?;
        let status = response.status();
        let answer: Value = response.json().await.unwrap_or_default();
        // Errors come as RFC 6749 (`error`, `error_description`), with a 200 at times.
        if let Some(error) = answer["error"].as_str().filter(|e| !e.is_empty() && *e != "ok") {
            let said = answer["error_description"].as_str().unwrap_or(error);
            let class = if error == "invalid_grant" { ErrorClass::Revoked } else { classify_status(status, None) };
            let class = if class == ErrorClass::Unknown && status.is_success() { ErrorClass::Invalid } else { class };
            return Err(ProviderError::new(class, format!("TikTok refused the token request ({error}): {said}")));
        }
        let access = answer["access_token"].as_str().filter(|t| !t.is_empty()).ok_or_else(|| {
            ProviderError::new(ErrorClass::Unknown, format!("TikTok answered {status} without a token"))
        })?;
        let now = Utc::now();
        let seconds = |name: &str| answer[name].as_i64().filter(|s| *s > 0).map(|s| now + chrono::Duration::seconds(s));
        Ok(Tokens {
            access_token: access.to_string(),
            refresh_token: answer["refresh_token"].as_str().filter(|t| !t.is_empty()).map(str::to_string),
            expires_at: seconds("expires_in"),
            refresh_expires_at: seconds("refresh_expires_in"),
            scopes: answer["scope"].as_str().unwrap_or(SCOPES).split(',').map(str::to_string).collect(),
        })
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: &str,
        body: Option<Value>,
    ) -> Result<Value, ProviderError> {
        let mut request = self.client.inner().request(method, format!("{}{path}", self.api)).bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = self.client.send(request).await?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        let parsed: Value = serde_json::from_str(&text).unwrap_or_default();
        let code = parsed["error"]["code"].as_str().unwrap_or(if status.is_success() { "ok" } else { "" });
        if status.is_success() && code == "ok" {
            return Ok(parsed["data"].clone());
        }
        Err(error_from(
            status,
            &headers,
            code,
            parsed["error"]["message"].as_str().map_or_else(|| excerpt(&text), str::to_string),
        ))
    }

    async fn status(&self, token: &str, publish_id: &str) -> Result<Value, ProviderError> {
        self.call(
            reqwest::Method::POST,
            "/v2/post/publish/status/fetch/",
            token,
            Some(json!({ "publish_id": publish_id })),
        )
        .await
    }

    /// `creator_info/query`, then `video/init`: the publish id to follow.
    async fn init(
        &self,
        token: &str,
        request: &PublishRequest,
        settings: &Settings,
        file: &Attachment,
    ) -> Result<Step, ProviderError> {
        let creator = self.call(reqwest::Method::POST, "/v2/post/publish/creator_info/query/", token, None).await?;
        let offered: Vec<&str> =
            creator["privacy_level_options"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        let privacy = match settings.privacy {
            Some(chosen) if offered.contains(&chosen.as_str()) => chosen.as_str(),
            Some(chosen) => {
                return Err(ProviderError::invalid(format!(
                    "this TikTok account cannot post as {}; it offers {}",
                    chosen.as_str(),
                    offered.join(", ")
                )));
            }
            None if offered.contains(&"PUBLIC_TO_EVERYONE") => "PUBLIC_TO_EVERYONE",
            None => offered.first().copied().unwrap_or("SELF_ONLY"),
        };
        let post_info = json!({
            "title": request.content,
            "privacy_level": privacy,
            "disable_comment": settings.disable_comment || creator["comment_disabled"] == true,
            "disable_duet": settings.disable_duet || creator["duet_disabled"] == true,
            "disable_stitch": settings.disable_stitch || creator["stitch_disabled"] == true,
        });
        let source_info = if settings.source == Source::Url {
            json!({ "source": "PULL_FROM_URL", "video_url": file.url })
        } else {
            let (chunk_size, count) = chunking(file.size);
            json!({ "source": "FILE_UPLOAD", "video_size": file.size, "chunk_size": chunk_size, "total_chunk_count": count })
        };
        let started = self
            .call(
                reqwest::Method::POST,
                "/v2/post/publish/video/init/",
                token,
                Some(json!({ "post_info": post_info, "source_info": source_info })),
            )
            .await
            // Nothing is published before the file is complete.
            .map_err(ProviderError::before_publishing)?;
        let publish_id = started["publish_id"]
            .as_str()
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "TikTok did not give a publish id"))?;
        let handle = Handle {
            publish_id: publish_id.to_string(),
            upload_url: started["upload_url"].as_str().map(str::to_string),
            sent: 0,
            fresh: true,
            polls: 0,
        };
        Ok(handle.pending("uploading the video (0 %)", Duration::ZERO))
    }

    /// Continues from the stored handle: the next chunk, or a look at the post.
    async fn resume(&self, token: &str, file: &Attachment, mut handle: Handle) -> Result<Step, ProviderError> {
        let size = file.size;
        if let Some(upload_url) = handle.upload_url.clone().filter(|_| handle.sent < size) {
            if !handle.fresh {
                // Where TikTok stands, not where this process last heard.
                let status = self.status(token, &handle.publish_id).await?;
                if let Some(held) = status["uploaded_bytes"].as_u64() {
                    handle.sent = chunk_start(held, size);
                }
                if let Some(done) = finished(&status, &handle.publish_id)? {
                    return Ok(done);
                }
            }
            if handle.sent < size {
                let (chunk_size, count) = chunking(size);
                let index = handle.sent / chunk_size;
                let end = if index + 1 >= count { size } else { (index + 1) * chunk_size };
                let put = self
                    .client
                    .inner()
                    .put(&upload_url)
                    .header(reqwest::header::CONTENT_TYPE, &file.mime)
                    .header(reqwest::header::CONTENT_LENGTH, end - handle.sent)
                    .header(reqwest::header::CONTENT_RANGE, format!("bytes {}-{}/{size}", handle.sent, end - 1))
                    .body(file.stream(handle.sent..end));
                let response = self.client.send(put).await.map_err(ProviderError::before_publishing)?;
                let status = response.status();
                if !status.is_success() {
                    let headers = response.headers().clone();
                    let text = response.text().await.unwrap_or_default();
                    return Err(error_from(status, &headers, "", excerpt(&text)).before_publishing());
                }
                handle.sent = end;
                handle.fresh = true;
                let stage = format!("uploading the video ({} %)", end * 100 / size.max(1));
                return Ok(handle.pending(&stage, Duration::ZERO));
            }
        }
        handle.polls += 1;
        handle.fresh = false;
        let status = self.status(token, &handle.publish_id).await?;
        match finished(&status, &handle.publish_id)? {
            Some(done) => Ok(done),
            None => {
                let after = Duration::from_secs((5 * (1 + handle.polls / 6)).min(60));
                Ok(handle.pending("TikTok is processing the video", after))
            }
        }
    }
}

/// The post once TikTok has published it; `None` while it is processing.
fn finished(status: &Value, publish_id: &str) -> Result<Option<Step>, ProviderError> {
    match status["status"].as_str().unwrap_or_default() {
        "PUBLISH_COMPLETE" => {
            // A private post has no public id: the publish id names it.
            let id = status["publicaly_available_post_id"][0]
                .as_i64()
                .map(|id| id.to_string())
                .or_else(|| status["publicaly_available_post_id"][0].as_str().map(str::to_string));
            Ok(Some(match id {
                Some(id) => PublishedItem { url: Some(format!("https://www.tiktok.com/video/{id}")), id }.into(),
                None => PublishedItem { id: publish_id.to_string(), url: None }.into(),
            }))
        }
        "FAILED" => Err(ProviderError::invalid(format!(
            "TikTok could not publish the video: {}",
            status["fail_reason"].as_str().unwrap_or("no reason given")
        ))),
        _ => Ok(None),
    }
}

/// The chunk size and count TikTok is told: one chunk under 5 MB, else
/// 10 MB chunks with the remainder in the last.
fn chunking(size: u64) -> (u64, u64) {
    if size < MIN_CHUNK.max(CHUNK) {
        return (size, 1);
    }
    (CHUNK, size / CHUNK)
}

/// The start of the chunk that holds byte `held` (chunks are whole or absent).
fn chunk_start(held: u64, size: u64) -> u64 {
    let (chunk_size, count) = chunking(size);
    if held >= size {
        return size;
    }
    ((held / chunk_size).min(count - 1)) * chunk_size
}

fn error_from(status: StatusCode, headers: &reqwest::header::HeaderMap, code: &str, said: String) -> ProviderError {
    let class = match (status.as_u16(), code) {
        (_, "access_token_invalid" | "token_not_authorized_for_specified_scope") | (401, _) => ErrorClass::AuthExpired,
        (_, "rate_limit_exceeded" | "spam_risk_too_many_posts" | "spam_risk_too_many_pending_share") => {
            ErrorClass::Retryable {
                after: Some(retry_after(headers, Utc::now()).unwrap_or(Duration::from_secs(60 * 60))),
            }
        }
        (
            _,
            "spam_risk_user_banned_from_posting"
            | "unaudited_client_can_only_post_to_private_accounts"
            | "privacy_level_option_mismatch"
            | "invalid_params"
            | "url_ownership_unverified",
        ) => ErrorClass::Invalid,
        (400 | 403 | 404, _) => ErrorClass::Invalid,
        _ => classify_status(status, retry_after(headers, Utc::now())),
    };
    let code = if code.is_empty() { String::new() } else { format!(" ({code})") };
    ProviderError::new(class, format!("TikTok answered {status}{code}: {said}"))
}

/// What Herald keeps while TikTok takes the video. The upload URL is a
/// capability for this one upload, not an account token.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Handle {
    publish_id: String,
    upload_url: Option<String>,
    /// Bytes TikTok acknowledged.
    sent: u64,
    /// `sent` is TikTok's own last answer (no need to ask again).
    #[serde(default)]
    fresh: bool,
    #[serde(default)]
    polls: u64,
}

impl Handle {
    fn pending(self, stage: &str, after: Duration) -> Step {
        Step::Pending(Pending {
            handle: serde_json::to_value(&self).unwrap_or_default(),
            after,
            stage: stage.to_string(),
        })
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    #[serde(flatten)]
    tokens: Tokens,
    open_id: String,
}

fn credentials(value: &Value) -> Result<Credentials, ProviderError> {
    serde_json::from_value(value.clone()).map_err(|_| {
        ProviderError::new(ErrorClass::Revoked, "the stored TikTok credentials are incomplete; reconnect the account")
    })
}

/// Who may watch; it must be one the account offers (apps TikTok has not
/// audited: `SELF_ONLY` only).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum Privacy {
    PublicToEveryone,
    MutualFollowFriends,
    FollowerOfCreator,
    SelfOnly,
}

impl Privacy {
    fn as_str(self) -> &'static str {
        match self {
            Self::PublicToEveryone => "PUBLIC_TO_EVERYONE",
            Self::MutualFollowFriends => "MUTUAL_FOLLOW_FRIENDS",
            Self::FollowerOfCreator => "FOLLOWER_OF_CREATOR",
            Self::SelfOnly => "SELF_ONLY",
        }
    }
}

/// Where TikTok gets the file: `upload` (Herald sends it, the default) or
/// `url` (TikTok pulls it from `MAIN_URL`, whose domain the app must have verified).
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Source {
    #[default]
    Upload,
    Url,
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
struct Settings {
    /// Who may watch (public when the account offers it, otherwise its first option).
    #[garde(skip)]
    privacy: Option<Privacy>,
    #[garde(skip)]
    disable_comment: bool,
    #[garde(skip)]
    disable_duet: bool,
    #[garde(skip)]
    disable_stitch: bool,
    #[garde(skip)]
    source: Source,
}

#[async_trait]
impl OAuthConnect for TikTok {
    fn app_env(&self) -> &'static [&'static str] {
        &["TIKTOK_CLIENT_ID", "TIKTOK_CLIENT_SECRET"]
    }

    fn is_configured(&self) -> bool {
        self.flow.is_some()
    }

    /// Refresh tokens may rotate: each grant connects one account.
    fn one_account_per_sign_in(&self) -> bool {
        true
    }

    async fn begin(&self, begin: Begin<'_>) -> Result<Consent, ProviderError> {
        let flow = self.flow.as_ref().ok_or_else(|| ProviderError::invalid("TikTok is not configured"))?;
        let mut consent = flow.consent(&begin, &[SCOPES], &[])?;
        // TikTok names the app `client_key`.
        let mut url =
            url::Url::parse(&consent.url).map_err(|_| ProviderError::invalid("the TikTok consent URL is not valid"))?;
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (if k == "client_id" { "client_key".to_string() } else { k.into_owned() }, v.into_owned()))
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
        consent.url = url.to_string();
        Ok(consent)
    }

    async fn finish(&self, callback: Callback<'_>) -> Result<Vec<ConnectedAccount>, ProviderError> {
        let tokens = self
            .token(&[
                ("code", callback.code),
                ("grant_type", "authorization_code"),
                ("redirect_uri", callback.redirect_uri),
            ])
            .await?;
        let user = self
            .call(
                reqwest::Method::GET,
                "/v2/user/info/?fields=open_id,union_id,avatar_url,display_name,username",
                &tokens.access_token,
                None,
            )
            .await?;
        let user = &user["user"];
        let open_id = user["open_id"]
            .as_str()
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "TikTok did not say which account this is"))?;
        let username = user["username"].as_str().unwrap_or(open_id).to_string();
        let creds = Credentials { tokens: tokens.clone(), open_id: open_id.to_string() };
        Ok(vec![ConnectedAccount {
            account_id: open_id.to_string(),
            display_name: user["display_name"]
                .as_str()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or(&username)
                .to_string(),
            username,
            avatar_url: user["avatar_url"].as_str().map(str::to_string),
            credentials: serde_json::to_value(&creds).unwrap_or_default(),
            token_expires_at: tokens.expires_at,
            scopes: tokens.scopes,
            profile_pending: false,
        }])
    }

    async fn revoke(&self, value: &Value) -> Result<(), ProviderError> {
        let creds = credentials(value)?;
        let app = self.app()?;
        let form = [
            ("client_key", app.client_id.as_str()),
            ("client_secret", app.client_secret.as_deref().unwrap_or_default()),
            ("token", creds.tokens.access_token.as_str()),
        ];
        self.client.send(self.client.inner().post(format!("{}/v2/oauth/revoke/", self.api)).form(&form)).await?;
        Ok(())
    }
}

#[async_trait]
impl Provider for TikTok {
    fn id(&self) -> &'static str {
        "tiktok"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("tiktok")
    }

    fn credentials(&self) -> Declaration {
        Declaration::none(PLATFORM)
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>(PLATFORM)
    }

    fn oauth(&self) -> Option<&dyn OAuthConnect> {
        Some(self)
    }

    /// With `source: "url"` TikTok pulls the video from `MAIN_URL`.
    fn fetches_media(&self, settings: &Value) -> bool {
        settings.get("source").and_then(Value::as_str) == Some("url")
    }

    /// A stored publish id tells where the upload and the post stand.
    fn recovery(&self) -> Recovery {
        Recovery::AskPlatform
    }

    fn notice(&self) -> Option<&'static str> {
        Some(
            "Until TikTok has audited this server's app, TikTok lets it post only privately: the videos are visible to their creator alone.",
        )
    }

    fn rate_budget(&self) -> Option<RateBudget> {
        Some(RateBudget { max: POSTS_PER_DAY, window: Duration::from_secs(24 * 60 * 60) })
    }

    async fn connect(&self, _credentials: &Value) -> Result<ConnectedAccount, ProviderError> {
        Err(ProviderError::invalid("TikTok is connected by signing in: GET /api/auth/tiktok"))
    }

    /// A refresh may rotate the refresh token: the new one is stored
    /// before it is used, and the old one never spent again.
    async fn refresh(&self, value: &Value) -> Result<Refreshed, ProviderError> {
        let mut creds = credentials(value)?;
        let Some(refresh) = creds.tokens.refresh_token.clone() else {
            return Err(ProviderError::new(ErrorClass::Revoked, "TikTok gave no refresh token; reconnect the account"));
        };
        let fresh = self.token(&[("grant_type", "refresh_token"), ("refresh_token", refresh.as_str())]).await?;
        creds.tokens = creds.tokens.renewed(fresh);
        Ok(Refreshed {
            expires_at: creds.tokens.expires_at,
            credentials: serde_json::to_value(&creds).unwrap_or_default(),
        })
    }

    async fn publish(&self, request: &PublishRequest) -> Result<Step, ProviderError> {
        let creds = credentials(&request.credentials)?;
        let settings: Settings = declared::read(PLATFORM, &request.settings).map_err(ProviderError::invalid)?;
        let [file] = &request.media[..] else {
            return Err(ProviderError::invalid("a TikTok post is exactly one video"));
        };
        if !file.is_video() {
            return Err(ProviderError::invalid("a TikTok post is a video"));
        }
        let token = &creds.tokens.access_token;
        match &request.pending {
            Some(stored) => {
                let mut handle = Handle::deserialize(stored)
                    .map_err(|_| ProviderError::invalid("the stored TikTok upload cannot be read"))?;
                // After an interruption nothing this process heard is trusted.
                handle.fresh &= !request.interrupted;
                self.resume(token, file, handle).await
            }
            // No publish id was stored, so nothing can have been published.
            None => self.init(token, request, &settings, file).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_follow_tiktok_s_rules() {
        assert_eq!(chunking(3 * 1024 * 1024), (3 * 1024 * 1024, 1));
        let size = 25 * 1024 * 1024 + 7;
        assert_eq!(chunking(size), (CHUNK, 2), "the last chunk takes the remainder");
        assert_eq!(chunk_start(0, size), 0);
        assert_eq!(chunk_start(CHUNK + 5, size), CHUNK);
        assert_eq!(chunk_start(size - 1, size), CHUNK, "the last chunk is resent whole");
        assert_eq!(chunk_start(size, size), size);
    }
}
