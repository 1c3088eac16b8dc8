//! `youtube`: videos through the YouTube Data API v3, connected with
//! Google's OAuth (`YOUTUBE_CLIENT_ID`/`_SECRET`, offline access, PKCE);
//! signing in offers the account's channels.
//!
//! A video goes up by Google's resumable upload: the session is opened with
//! the video's metadata (title, description, privacy, tags, category, made
//! for kids), stored ([`Step::Pending`]), then the file follows in 8 MiB
//! chunks streamed from the media store. Each call first asks the session
//! how much it holds (`Content-Range: bytes */size`), so a failed chunk or
//! a restart continues at the byte YouTube reports — never a second upload.
//! An upload costs about 1,600 of the 10,000 daily quota units: six a day,
//! the account's rate budget; `quotaExceeded` waits for the next day.

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
    ConnectedAccount, ErrorClass, HttpClient, Metrics, Pending, Provider, ProviderError, ProviderSettings,
    PublishRequest, PublishedItem, RateBudget, Recovery, Refreshed, Step,
};

const PLATFORM: &str = "YouTube";
const SCOPES: &[&str] =
    &["https://www.googleapis.com/auth/youtube.upload", "https://www.googleapis.com/auth/youtube.readonly"];
/// A multiple of 256 KiB, as resumable uploads require.
const CHUNK: u64 = 8 * 1024 * 1024;
/// Uploads a day within the default quota (10,000 units, 1,600 an upload).
const UPLOADS_PER_DAY: u32 = 6;

pub struct YouTube {
    client: HttpClient,
    api: String,
    upload: String,
    flow: Option<CodeFlow>,
}

impl YouTube {
    pub fn new(client: HttpClient, settings: &ProviderSettings) -> Self {
        let flow = App::from_env(settings, "YOUTUBE_CLIENT_ID", "YOUTUBE_CLIENT_SECRET").map(|app| {
            let endpoints = Endpoints {
                authorize: settings.platform_url("youtube", "https://accounts.google.com/o/oauth2/v2/auth"),
                token: settings.platform_url("youtube", "https://oauth2.googleapis.com/token"),
                revoke: Some(settings.platform_url("youtube", "https://oauth2.googleapis.com/revoke")),
            };
            CodeFlow::new(client.clone(), app, endpoints, PLATFORM).credentials_in_body()
        });
        Self {
            api: settings.platform_url("youtube", "https://www.googleapis.com/youtube/v3"),
            upload: settings.platform_url("youtube", "https://www.googleapis.com/upload/youtube/v3/videos"),
            client,
            flow,
        }
    }

    fn flow(&self) -> Result<&CodeFlow, ProviderError> {
        self.flow.as_ref().ok_or_else(|| ProviderError::invalid("YouTube is not configured: set YOUTUBE_CLIENT_ID"))
    }

    async fn get(&self, path: &str, token: &str, query: &[(&str, &str)]) -> Result<Value, ProviderError> {
        let request = self.client.inner().get(format!("{}/{path}", self.api)).bearer_auth(token).query(query);
        answer(self.client.send(request).await?).await.map(|(_, body)| body)
    }

    /// Opens the upload session with the video's metadata; its URI.
    async fn open_session(
        &self,
        token: &str,
        request: &PublishRequest,
        settings: &Settings,
    ) -> Result<String, ProviderError> {
        let file = &request.media[0];
        let title = settings.title.clone().unwrap_or_else(|| title_from(&request.content));
        let mut snippet = json!({ "title": title, "description": request.content, "categoryId": settings.category_id.as_deref().unwrap_or("22") });
        if !settings.tags.is_empty() {
            snippet["tags"] = json!(settings.tags);
        }
        let metadata = json!({
            "snippet": snippet,
            "status": {
                "privacyStatus": settings.privacy.unwrap_or_default().as_str(),
                "selfDeclaredMadeForKids": settings.made_for_kids.unwrap_or(false),
            },
        });
        let open = self
            .client
            .inner()
            .post(&self.upload)
            .query(&[("uploadType", "resumable"), ("part", "snippet,status")])
            .bearer_auth(token)
            .header("x-upload-content-length", file.size)
            .header("x-upload-content-type", &file.mime)
            .json(&metadata);
        let response = self.client.send(open).await.map_err(ProviderError::before_publishing)?;
        let location =
            response.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_string);
        answer(response).await.map_err(ProviderError::before_publishing)?;
        location.ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "YouTube did not give an upload session"))
    }

    /// One call of the upload: where the session stands, then the next chunk.
    async fn upload_step(&self, token: &str, request: &PublishRequest, handle: Handle) -> Result<Step, ProviderError> {
        let file = &request.media[0];
        let size = file.size;
        let probe = self
            .client
            .inner()
            .put(&handle.session)
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_RANGE, format!("bytes */{size}"))
            .header(reqwest::header::CONTENT_LENGTH, 0);
        let offset = match session_state(self.client.send(probe).await?).await? {
            Session::Done(item) => return Ok(item.into()),
            Session::Holds(offset) => offset,
        };
        let end = (offset + CHUNK).min(size);
        let chunk = self
            .client
            .inner()
            .put(&handle.session)
            .bearer_auth(token)
            .header(reqwest::header::CONTENT_RANGE, format!("bytes {offset}-{}/{size}", end - 1))
            .header(reqwest::header::CONTENT_LENGTH, end - offset)
            .body(file.stream(offset..end));
        // A chunk that may not have arrived is asked about next time, not assumed.
        let sent = self.client.send(chunk).await.map_err(ProviderError::before_publishing)?;
        match session_state(sent).await.map_err(ProviderError::before_publishing)? {
            Session::Done(item) => Ok(item.into()),
            Session::Holds(offset) => {
                let stage = format!("uploading the video ({} %)", offset * 100 / size.max(1));
                let handle = serde_json::to_value(Handle { session: handle.session, offset }).unwrap_or_default();
                Ok(Step::Pending(Pending { handle, after: Duration::ZERO, stage }))
            }
        }
    }
}

/// The session's state: bytes held, or the finished video.
enum Session {
    Holds(u64),
    Done(PublishedItem),
}

/// 308 Resume Incomplete with `Range: bytes=0-N` (N + 1 held; no header:
/// none), or 200/201 with the video resource.
async fn session_state(response: reqwest::Response) -> Result<Session, ProviderError> {
    if response.status().as_u16() == 308 {
        let held = response
            .headers()
            .get(reqwest::header::RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|range| range.rsplit('-').next()?.parse::<u64>().ok())
            .map_or(0, |last| last + 1);
        return Ok(Session::Holds(held));
    }
    let (_, video) = answer(response).await?;
    let id = video["id"]
        .as_str()
        .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "YouTube did not return the video id"))?;
    Ok(Session::Done(PublishedItem { id: id.to_string(), url: Some(format!("https://www.youtube.com/watch?v={id}")) }))
}

/// Google's error body: `{"error": {"code", "message", "errors": [{"reason"}]}}`.
fn error_from(status: StatusCode, headers: &reqwest::header::HeaderMap, body: &str) -> ProviderError {
    let parsed: Value = serde_json::from_str(body).unwrap_or_default();
    let said = parsed["error"]["message"].as_str().map_or_else(|| excerpt(body), str::to_string);
    let reason = parsed["error"]["errors"][0]["reason"].as_str().unwrap_or_default();
    let class = match (status.as_u16(), reason) {
        (_, "quotaExceeded" | "uploadLimitExceeded" | "rateLimitExceeded" | "userRateLimitExceeded") => {
            ErrorClass::Retryable {
                after: Some(retry_after(headers, Utc::now()).unwrap_or(Duration::from_secs(60 * 60))),
            }
        }
        (401, _) => ErrorClass::AuthExpired,
        (400 | 403 | 404, _) => ErrorClass::Invalid,
        _ => classify_status(status, retry_after(headers, Utc::now())),
    };
    let reason = if reason.is_empty() { String::new() } else { format!(" ({reason})") };
    ProviderError::new(class, format!("YouTube answered {status}{reason}: {said}"))
}

async fn answer(response: reqwest::Response) -> Result<(reqwest::header::HeaderMap, Value), ProviderError> {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(error_from(status, &headers, &text));
    }
    Ok((headers, serde_json::from_str(&text).unwrap_or(Value::Null)))
}

/// The first line of the post, at most 100 characters, without `<` or `>`
/// (which YouTube refuses in titles).
fn title_from(content: &str) -> String {
    let first = content.lines().map(str::trim).find(|line| !line.is_empty()).unwrap_or("Video");
    first.chars().filter(|c| *c != '<' && *c != '>').take(100).collect()
}

/// The resumable session and the bytes it held at the last answer. The
/// session URI is a capability for this one upload, not an account token.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Handle {
    session: String,
    offset: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials {
    #[serde(flatten)]
    tokens: Tokens,
    channel_id: String,
}

fn credentials(value: &Value) -> Result<Credentials, ProviderError> {
    serde_json::from_value(value.clone()).map_err(|_| {
        ProviderError::new(ErrorClass::Revoked, "the stored YouTube credentials are incomplete; reconnect the channel")
    })
}

/// Who may watch.
#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize, JsonSchema, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Privacy {
    #[default]
    Public,
    Unlisted,
    Private,
}

impl Privacy {
    fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Unlisted => "unlisted",
            Self::Private => "private",
        }
    }
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
struct Settings {
    /// The video's title (the post's first line otherwise).
    #[garde(length(chars, min = 1, max = 100), pattern(r"^[^<>]*$"))]
    #[schemars(regex(pattern = r"^[^<>]*$"))]
    title: Option<String>,
    /// `public` (default), `unlisted` or `private`.
    #[garde(skip)]
    privacy: Option<Privacy>,
    /// Tags (keywords), 500 characters in all.
    #[garde(length(max = 50), inner(length(chars, min = 1, max = 100)))]
    tags: Vec<String>,
    /// A YouTube video category id, e.g. `22` (People & Blogs, the default).
    #[garde(pattern(r"^[0-9]{1,3}$"))]
    #[schemars(regex(pattern = r"^[0-9]{1,3}$"))]
    category_id: Option<String>,
    /// Whether the video is made for children (COPPA); default false.
    #[garde(skip)]
    made_for_kids: Option<bool>,
}

#[async_trait]
impl OAuthConnect for YouTube {
    fn app_env(&self) -> &'static [&'static str] {
        &["YOUTUBE_CLIENT_ID", "YOUTUBE_CLIENT_SECRET"]
    }

    fn is_configured(&self) -> bool {
        self.flow.is_some()
    }

    async fn begin(&self, begin: Begin<'_>) -> Result<Consent, ProviderError> {
        // Offline access with a consent prompt: Google gives a refresh token.
        self.flow()?.consent(&begin, SCOPES, &[("access_type", "offline"), ("prompt", "consent")])
    }

    async fn finish(&self, callback: Callback<'_>) -> Result<Vec<ConnectedAccount>, ProviderError> {
        let tokens = self.flow()?.exchange(&callback, Utc::now()).await?;
        let channels = self.get("channels", &tokens.access_token, &[("part", "snippet"), ("mine", "true")]).await?;
        let mut accounts = Vec::new();
        for channel in channels["items"].as_array().into_iter().flatten() {
            let Some(id) = channel["id"].as_str() else { continue };
            let snippet = &channel["snippet"];
            let title = snippet["title"].as_str().unwrap_or(id).to_string();
            let username = snippet["customUrl"].as_str().unwrap_or(id).to_string();
            let creds = Credentials { tokens: tokens.clone(), channel_id: id.to_string() };
            accounts.push(ConnectedAccount {
                account_id: id.to_string(),
                username,
                display_name: title,
                avatar_url: snippet["thumbnails"]["default"]["url"].as_str().map(str::to_string),
                credentials: serde_json::to_value(&creds).unwrap_or_default(),
                token_expires_at: tokens.expires_at,
                scopes: tokens.scopes.clone(),
                profile_pending: false,
            });
        }
        if accounts.is_empty() {
            return Err(ProviderError::invalid("this Google account has no YouTube channel: create one first"));
        }
        Ok(accounts)
    }

    async fn revoke(&self, value: &Value) -> Result<(), ProviderError> {
        self.flow()?.revoke(&credentials(value)?.tokens).await
    }
}

#[async_trait]
impl Provider for YouTube {
    fn id(&self) -> &'static str {
        "youtube"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("youtube")
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

    /// A stored session says how much it holds, and a finished one names its video.
    fn recovery(&self) -> Recovery {
        Recovery::AskPlatform
    }

    /// The quota is the project's: every channel connected through it shares it.
    fn app_budget(&self) -> Option<RateBudget> {
        Some(RateBudget { max: UPLOADS_PER_DAY, window: Duration::from_secs(24 * 60 * 60) })
    }

    async fn connect(&self, _credentials: &Value) -> Result<ConnectedAccount, ProviderError> {
        Err(ProviderError::invalid("YouTube is connected by signing in: GET /api/auth/youtube"))
    }

    async fn refresh(&self, value: &Value) -> Result<Refreshed, ProviderError> {
        self.flow()?.refresh_stored(value).await
    }

    async fn publish(&self, request: &PublishRequest) -> Result<Step, ProviderError> {
        let creds = credentials(&request.credentials)?;
        let settings: Settings = declared::read(PLATFORM, &request.settings).map_err(ProviderError::invalid)?;
        let token = &creds.tokens.access_token;
        match (&request.media[..], &request.pending) {
            ([file], _) if !file.is_video() => Err(ProviderError::invalid("YouTube takes one video per post")),
            ([_], Some(stored)) => {
                let handle = Handle::deserialize(stored)
                    .map_err(|_| ProviderError::invalid("the stored YouTube upload cannot be read"))?;
                self.upload_step(token, request, handle).await
            }
            // The session is stored before any byte is sent: a crash before
            // that left no upload, only an unused session that expires.
            ([_], None) => {
                let session = self.open_session(token, request, &settings).await?;
                let handle = serde_json::to_value(Handle { session, offset: 0 }).unwrap_or_default();
                Ok(Step::Pending(Pending { handle, after: Duration::ZERO, stage: "uploading the video (0 %)".into() }))
            }
            _ => Err(ProviderError::invalid("a YouTube post is exactly one video")),
        }
    }

    fn has_metrics(&self) -> bool {
        true
    }

    async fn fetch_metrics(&self, value: &Value, item: &PublishedItem) -> Result<Metrics, ProviderError> {
        let creds = credentials(value)?;
        let answer =
            self.get("videos", &creds.tokens.access_token, &[("part", "statistics"), ("id", &item.id)]).await?;
        let stats = &answer["items"][0]["statistics"];
        // YouTube gives counts as strings.
        let count = |name: &str| stats[name].as_str().and_then(|n| n.parse().ok()).unwrap_or(0);
        Ok(Metrics::from([
            ("views".to_string(), count("viewCount")),
            ("likes".to_string(), count("likeCount")),
            ("comments".to_string(), count("commentCount")),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_come_from_the_first_line_without_angle_brackets() {
        assert_eq!(title_from("\n  My <b>trip</b>\nmore"), "My btrip/b");
        assert_eq!(title_from(&"x".repeat(150)).chars().count(), 100);
        assert_eq!(title_from(""), "Video");
    }

    #[test]
    fn quota_errors_wait_and_others_are_classified() {
        let body = r#"{"error":{"code":403,"message":"quota","errors":[{"reason":"quotaExceeded","domain":"youtube.quota"}]}}"#;
        let quota = error_from(StatusCode::FORBIDDEN, &reqwest::header::HeaderMap::new(), body);
        assert!(matches!(quota.class, ErrorClass::Retryable { after: Some(_) }));
        assert!(quota.message.contains("quotaExceeded"));
        let expired = error_from(StatusCode::UNAUTHORIZED, &reqwest::header::HeaderMap::new(), "{}");
        assert_eq!(expired.class, ErrorClass::AuthExpired);
    }
}
