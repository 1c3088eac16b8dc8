//! `mastodon`: statuses on any Mastodon instance with a user's access token
//! (Preferences → Development → New application, scopes `read write`).
//!
//! Mastodon honours the `Idempotency-Key` header on `POST /api/v1/statuses`
//! (for an hour), so a delivery interrupted by a crash is sent again with the
//! same key instead of being marked unconfirmed. Its tokens never expire: a
//! 401 means the token was revoked or is wrong, and only reconnecting helps.
//! Media are uploaded again on such a resend; the instance removes
//! attachments no status uses.
//!
//! Accounts connect with an access token, or by signing in on their
//! instance (`oauth.rs`): the same publisher serves both.
//!
//! The same code publishes to Pixelfed, GoToSocial and Akkoma/Pleroma,
//! which speak this API with their own limits (`flavour.rs`): the server's
//! software is read from NodeInfo when connecting, and its limits from its
//! instance document, as for Mastodon.

pub mod flavour;
mod oauth;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use garde::Validate;
use herald_core::platform::PlatformRules;
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use self::flavour::Flavour;
use crate::declared::{self, Declaration};
use crate::http::{classify_status, excerpt, retry_after};
use crate::net::{TargetGuard, server_base};
use crate::{
    Attachment, ConnectedAccount, ErrorClass, HttpClient, Metrics, Provider, ProviderError, PublishRequest,
    PublishedItem, Recovery,
};

/// How often and how many times to ask about an upload the instance is still
/// processing (`202` from `POST /api/v2/media`): well within the engine's
/// 60-second delivery lease; a video that takes longer is retried later.
const MEDIA_POLL_INTERVAL: Duration = Duration::from_secs(1);
const MEDIA_POLL_ATTEMPTS: u32 = 30;
/// Uploads of large files get longer than the client's usual timeout, yet
/// stay within the engine's delivery lease.
const MEDIA_UPLOAD_TIMEOUT: Duration = Duration::from_secs(45);

pub struct Mastodon {
    client: HttpClient,
    guard: TargetGuard,
    flavour: &'static Flavour,
}

impl Mastodon {
    pub fn new(client: HttpClient, allow_private_targets: bool, flavour: &'static Flavour) -> Self {
        Self { client, guard: TargetGuard::new(allow_private_targets), flavour }
    }

    fn name(&self) -> &'static str {
        self.flavour.name
    }
}

/// What connecting asks for (and what is stored).
#[derive(Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Credentials {
    /// Your server, e.g. https://mastodon.social
    #[schemars(title = "Instance")]
    instance_url: String,
    /// Preferences → Development → New application (scopes read and write),
    /// then copy “Your access token”.
    #[schemars(title = "Access token", extend("writeOnly" = true))]
    access_token: String,
    /// The app Herald registered on the instance, for accounts connected by
    /// signing in there: revoking the token on disconnect needs it.
    #[serde(default)]
    #[schemars(skip)]
    client_id: Option<String>,
    #[serde(default)]
    #[schemars(skip)]
    client_secret: Option<String>,
    /// The server's software as NodeInfo named it when connecting
    /// (`pixelfed 0.12.4`): read once, shown as the `software` setting.
    #[serde(default)]
    #[schemars(skip)]
    software: Option<String>,
}

fn credentials(value: &Value) -> Result<Credentials, ProviderError> {
    serde_json::from_value(value.clone())
        .map_err(|_| ProviderError::invalid("the credentials need `instanceUrl` and `accessToken`"))
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
struct Settings {
    /// Who sees the post (the account's default otherwise).
    #[garde(skip)]
    visibility: Option<Visibility>,
    /// Content warning shown before the text.
    #[garde(length(chars, max = 500))]
    spoiler_text: Option<String>,
    /// Hide the media behind a warning.
    #[garde(skip)]
    sensitive: Option<bool>,
    /// ISO 639-1 language of the post.
    #[garde(custom(iso_639_1))]
    #[schemars(regex(pattern = r"^[a-z]{2}$"))]
    language: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Visibility {
    Public,
    Unlisted,
    Private,
    Direct,
}

fn iso_639_1(language: &Option<String>, _: &()) -> garde::Result {
    match language {
        Some(code) if code.len() != 2 || !code.chars().all(|c| c.is_ascii_lowercase()) => {
            Err(garde::Error::new("must be an ISO 639-1 code such as `en`"))
        }
        _ => Ok(()),
    }
}

fn settings(name: &str, value: &Value) -> Result<Settings, String> {
    declared::read(name, value)
}

/// The body of `POST /api/v1/statuses`.
fn status_body(request: &PublishRequest, settings: &Settings, media_ids: &[String]) -> Value {
    let mut body = json!({ "status": request.content });
    if !media_ids.is_empty() {
        body["media_ids"] = json!(media_ids);
    }
    if let Some(parent) = &request.reply_to {
        body["in_reply_to_id"] = json!(parent.id);
    }
    if let Some(visibility) = &settings.visibility {
        body["visibility"] = json!(visibility);
    }
    if let Some(spoiler) = settings.spoiler_text.as_deref().filter(|s| !s.trim().is_empty()) {
        body["spoiler_text"] = json!(spoiler);
    }
    if let Some(sensitive) = settings.sensitive {
        body["sensitive"] = json!(sensitive);
    }
    if let Some(language) = &settings.language {
        body["language"] = json!(language);
    }
    body
}

/// Mastodon says when a rate limit resets in `X-RateLimit-Reset` as an
/// ISO 8601 time, not epoch seconds; `Retry-After` wins when present.
fn mastodon_retry_after(headers: &HeaderMap, now: DateTime<Utc>) -> Option<Duration> {
    retry_after(headers, now).or_else(|| {
        let reset = headers.get("x-ratelimit-reset")?.to_str().ok()?;
        let at = DateTime::parse_from_rfc3339(reset.trim()).ok()?.with_timezone(&Utc);
        Some((at - now).to_std().unwrap_or_default())
    })
}

/// Mastodon's own words in an error body (`{"error": "…"}`), or the body.
fn said(body: &str) -> String {
    serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["error"].as_str().map(str::to_string))
        .unwrap_or_else(|| excerpt(body))
}

/// Turns an error answer into a provider error with the server's own
/// words; `name` is the platform's ("Mastodon", "Pixelfed" …).
fn error_from(name: &str, status: StatusCode, headers: &HeaderMap, body: &str, now: DateTime<Utc>) -> ProviderError {
    let said = said(body);
    match status.as_u16() {
        401 => ProviderError::new(
            ErrorClass::Revoked,
            format!("{name} refused the access token ({said}); it was revoked or is wrong: reconnect the account"),
        ),
        422 => ProviderError::invalid(format!("{name} refused the post: {said}")),
        // Pixelfed refuses a post without media (other than a reply) with a 403.
        403 if said.contains("Empty statuses") => ProviderError::invalid(format!("{name} refused the post: {said}")),
        _ => ProviderError::new(
            classify_status(status, mastodon_retry_after(headers, now)),
            format!("{name} answered {status}: {said}"),
        ),
    }
}

/// Reads a JSON answer, or the error it stands for.
async fn json_or_error(name: &str, response: reqwest::Response) -> Result<(StatusCode, Value), ProviderError> {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap_or_default();
    if !status.is_success() {
        return Err(error_from(name, status, &headers, &text, Utc::now()));
    }
    let value = serde_json::from_str(&text).map_err(|_| {
        ProviderError::new(
            ErrorClass::Unknown,
            format!("{name} answered with something else than JSON: {}", excerpt(&text)),
        )
    })?;
    Ok((status, value))
}

fn id_of(value: &Value) -> Option<String> {
    match &value["id"] {
        Value::String(id) if !id.is_empty() => Some(id.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Mastodon {
    fn get(&self, base: &str, path: &str, token: &str) -> reqwest::RequestBuilder {
        self.client.inner().get(format!("{base}{path}")).bearer_auth(token)
    }

    /// The instance's character limit: `configuration.statuses.max_characters`
    /// of `GET /api/v2/instance` (Mastodon 4), else of `/api/v1/instance`
    /// (3.4+), or its `max_toot_chars` (Pleroma, Akkoma, older forks). `None`
    /// when the instance does not say: the default of 500 applies. The
    /// endpoints are public, so no token is sent.
    async fn instance_max_characters(&self, base: &str) -> Option<u64> {
        for path in ["/api/v2/instance", "/api/v1/instance"] {
            let Ok(response) = self.client.send(self.client.inner().get(format!("{base}{path}"))).await else {
                continue;
            };
            let Ok((_, instance)) = json_or_error(self.name(), response).await else { continue };
            let limit = instance["configuration"]["statuses"]["max_characters"]
                .as_u64()
                .or_else(|| instance["max_toot_chars"].as_u64())
                .filter(|limit| *limit > 0);
            if limit.is_some() {
                return limit;
            }
        }
        None
    }

    /// Uploads one file; waits while the instance processes it.
    async fn upload(&self, base: &str, token: &str, index: usize, media: &Attachment) -> Result<String, ProviderError> {
        let part = media.part().file_name(media.file_name(index)).mime_str(&media.mime).map_err(|_| {
            ProviderError::invalid(format!("`{}` is not a media type {} takes", media.mime, self.name()))
        })?;
        let mut form = reqwest::multipart::Form::new().part("file", part);
        if let Some(alt) = media.alt_text.as_deref().filter(|a| !a.trim().is_empty()) {
            form = form.text("description", alt.to_string());
        }
        let request = self
            .client
            .inner()
            .post(format!("{base}/api/v2/media"))
            .bearer_auth(token)
            .timeout(MEDIA_UPLOAD_TIMEOUT)
            .multipart(form);
        let (status, attachment) = json_or_error(self.name(), self.client.send(request).await?).await?;
        let id = id_of(&attachment).ok_or_else(|| {
            ProviderError::new(ErrorClass::Unknown, format!("{} did not return the media id", self.name()))
        })?;
        // 200: processed at once; 202: the URL is null until processing ends.
        if status != StatusCode::ACCEPTED || !attachment["url"].is_null() {
            return Ok(id);
        }
        for _ in 0..MEDIA_POLL_ATTEMPTS {
            tokio::time::sleep(MEDIA_POLL_INTERVAL).await;
            if self.media_processed(base, token, &id).await? {
                return Ok(id);
            }
        }
        Err(ProviderError::new(
            ErrorClass::Retryable { after: None },
            format!("{} is still processing the media; trying again later", self.name()),
        ))
    }

    /// Whether the instance has finished processing an upload, decided by
    /// the status alone (`GET /api/v1/media/:id`): 206 while processing —
    /// its body may be empty, so it is not read — 200 once done, 422 when
    /// processing failed.
    async fn media_processed(&self, base: &str, token: &str, id: &str) -> Result<bool, ProviderError> {
        let response = self.client.send(self.get(base, &format!("/api/v1/media/{id}"), token)).await?;
        let status = response.status();
        if status == StatusCode::PARTIAL_CONTENT {
            return Ok(false);
        }
        if status.is_success() {
            return Ok(true);
        }
        let headers = response.headers().clone();
        let body = response.text().await.unwrap_or_default();
        Err(if status == StatusCode::UNPROCESSABLE_ENTITY {
            ProviderError::invalid(format!("{} could not process the media: {}", self.name(), said(&body)))
        } else {
            error_from(self.name(), status, &headers, &body, Utc::now())
        })
    }
}

#[async_trait]
impl Provider for Mastodon {
    fn id(&self) -> &'static str {
        self.flavour.id
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of(self.flavour.id)
    }

    fn recovery(&self) -> Recovery {
        self.flavour.recovery()
    }

    fn credentials(&self) -> Declaration {
        Declaration::of::<Credentials>(self.name())
    }

    fn oauth(&self) -> Option<&dyn crate::oauth::OAuthConnect> {
        Some(self)
    }

    fn connects_with_credentials(&self) -> bool {
        true
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>(self.name())
    }

    async fn connect(&self, value: &Value) -> Result<ConnectedAccount, ProviderError> {
        let creds = credentials(value)?;
        let base = server_base(&self.guard, &creds.instance_url)?;
        let token = creds.access_token.trim();
        if token.is_empty() {
            return Err(ProviderError::invalid("the access token is empty"));
        }
        let software = flavour::software(&self.client, &base).await;
        self.flavour.accepts(software.as_ref().map(|(name, _)| name.as_str())).map_err(ProviderError::invalid)?;
        let response = self.client.send(self.get(&base, "/api/v1/accounts/verify_credentials", token)).await?;
        let account = json_or_error(self.name(), response).await?.1;
        let id = id_of(&account).ok_or_else(|| {
            ProviderError::new(ErrorClass::Unknown, format!("{} did not say which account this is", self.name()))
        })?;
        let host = base.split("://").nth(1).unwrap_or(&base).to_string();
        let acct = account["acct"].as_str().or(account["username"].as_str()).unwrap_or(&id);
        // Local accounts come as `alice`; the full address is what people know.
        let username = if acct.contains('@') { acct.to_string() } else { format!("{acct}@{host}") };
        let display_name =
            account["display_name"].as_str().filter(|n| !n.trim().is_empty()).unwrap_or(&username).to_string();
        let mut credentials = json!({ "instanceUrl": base, "accessToken": token });
        if let Some((name, version)) = software {
            credentials["software"] = json!(format!("{name} {version}").trim().to_string());
        }
        Ok(ConnectedAccount {
            // Ids are per instance: the host keeps two servers' accounts apart.
            account_id: format!("{id}@{host}"),
            username,
            display_name,
            avatar_url: account["avatar"].as_str().map(str::to_string),
            credentials,
            token_expires_at: None,
            scopes: vec!["read".into(), "write".into()],
            profile_pending: false,
        })
    }

    /// The instance's own character limit, as `maxLength`, and the
    /// software it runs (`pixelfed 0.12.4`), as `software`.
    async fn discovered_settings(&self, value: &Value) -> Value {
        let Ok(base) = credentials(value).and_then(|creds| server_base(&self.guard, &creds.instance_url)) else {
            return Value::Null;
        };
        let mut found = serde_json::Map::new();
        if let Some(limit) = self.instance_max_characters(&base).await {
            found.insert("maxLength".into(), json!(limit));
        }
        if let Some(software) = credentials(value).ok().and_then(|creds| creds.software) {
            found.insert("software".into(), json!(software));
        }
        if found.is_empty() { Value::Null } else { Value::Object(found) }
    }

    async fn publish(&self, request: &PublishRequest) -> Result<crate::Step, ProviderError> {
        let creds = credentials(&request.credentials)?;
        let base = server_base(&self.guard, &creds.instance_url)?;
        let settings = settings(self.name(), &request.settings).map_err(ProviderError::invalid)?;
        let mut media_ids = Vec::with_capacity(request.media.len());
        for (index, media) in request.media.iter().enumerate() {
            media_ids.push(self.upload(&base, &creds.access_token, index, media).await?);
        }
        let body = status_body(request, &settings, &media_ids);
        let post = self
            .client
            .inner()
            .post(format!("{base}/api/v1/statuses"))
            .bearer_auth(&creds.access_token)
            .header("Idempotency-Key", &request.idempotency_key)
            .json(&body);
        let status = json_or_error(self.name(), self.client.send(post).await?).await?.1;
        let id = id_of(&status).ok_or_else(|| {
            ProviderError::new(ErrorClass::Unknown, format!("{} did not return the status id", self.name()))
        })?;
        let url = status["url"].as_str().or(status["uri"].as_str()).map(str::to_string);
        Ok(PublishedItem { id, url }.into())
    }

    fn has_metrics(&self) -> bool {
        true
    }

    async fn fetch_metrics(&self, value: &Value, item: &PublishedItem) -> Result<Metrics, ProviderError> {
        let creds = credentials(value)?;
        let base = server_base(&self.guard, &creds.instance_url)?;
        let path = format!("/api/v1/statuses/{}", item.id);
        let response = self.client.send(self.get(&base, &path, &creds.access_token)).await?;
        let status = json_or_error(self.name(), response).await?.1;
        let count = |field: &str| status[field].as_i64().unwrap_or(0);
        Ok(Metrics::from([
            ("likes".to_string(), count("favourites_count")),
            ("reposts".to_string(), count("reblogs_count")),
            ("replies".to_string(), count("replies_count")),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn request(content: &str, settings: Value) -> PublishRequest {
        PublishRequest {
            target_id: Uuid::nil(),
            post_id: Uuid::nil(),
            integration_id: Uuid::nil(),
            integration_name: "m".into(),
            credentials: Value::Null,
            settings,
            item_index: 0,
            item_count: 1,
            content: content.into(),
            media_urls: Vec::new(),
            media: Vec::new(),
            tags: Vec::new(),
            scheduled_for: None,
            root: None,
            reply_to: None,
            idempotency_key: "k".into(),
            pending: None,
            interrupted: false,
        }
    }

    #[test]
    fn instance_urls_are_normalised_and_guarded() {
        let guard = TargetGuard::new(false);
        assert_eq!(server_base(&guard, "mastodon.social").unwrap(), "https://mastodon.social");
        assert_eq!(server_base(&guard, " https://fosstodon.org/about/ ").unwrap(), "https://fosstodon.org");
        assert!(server_base(&guard, "http://127.0.0.1:3000").is_err());
        let open = TargetGuard::new(true);
        assert_eq!(server_base(&open, "http://127.0.0.1:3000/").unwrap(), "http://127.0.0.1:3000");
    }

    #[test]
    fn status_body_carries_reply_media_and_settings() {
        let mut reply = request(
            "second",
            json!({"visibility": "unlisted", "spoilerText": "cw", "sensitive": true, "language": "fr"}),
        );
        reply.reply_to = Some(PublishedItem { id: "1099".into(), url: None });
        let settings = settings("Mastodon", &reply.settings).unwrap();
        let body = status_body(&reply, &settings, &["7".into()]);
        assert_eq!(
            body,
            json!({"status": "second", "media_ids": ["7"], "in_reply_to_id": "1099", "visibility": "unlisted",
                   "spoiler_text": "cw", "sensitive": true, "language": "fr"})
        );
        let plain = request("hi", Value::Null);
        assert_eq!(status_body(&plain, &Settings::default(), &[]), json!({"status": "hi"}));
    }

    #[test]
    fn settings_are_checked() {
        let provider = Mastodon::new(HttpClient::new(&crate::ProviderSettings::default()), false, &flavour::MASTODON);
        assert!(provider.settings().problems(&json!({"visibility": "private"})).is_empty());
        assert!(provider.settings().problems(&json!({})).is_empty());
        let problems =
            provider.settings().problems(&json!({"visibility": "everyone", "language": "english", "colour": "red"}));
        let fields: Vec<&str> = problems.iter().map(|(field, _)| field.as_str()).collect();
        assert_eq!(fields, ["colour", "language", "visibility"]);
        assert!(problems[2].1.contains("public, unlisted, private, direct"));
        assert!(
            settings("Mastodon", &json!({"sensitive": "yes"})).unwrap_err().contains("sensitive must be true or false")
        );
    }

    #[test]
    fn errors_are_classified_with_mastodons_message() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().with_timezone(&Utc);
        let none = HeaderMap::new();
        let invalid = error_from(
            "Mastodon",
            StatusCode::UNPROCESSABLE_ENTITY,
            &none,
            r#"{"error":"Validation failed: Text can't be blank"}"#,
            now,
        );
        assert_eq!(invalid.class, ErrorClass::Invalid);
        assert!(invalid.message.contains("Text can't be blank"));
        let revoked =
            error_from("Mastodon", StatusCode::UNAUTHORIZED, &none, r#"{"error":"The access token was revoked"}"#, now);
        assert_eq!(revoked.class, ErrorClass::Revoked);
        let mut limited = HeaderMap::new();
        limited.insert("x-ratelimit-reset", "2026-01-01T00:02:00.000Z".parse().unwrap());
        let limit =
            error_from("Mastodon", StatusCode::TOO_MANY_REQUESTS, &limited, r#"{"error":"Too many requests"}"#, now);
        assert_eq!(limit.class, ErrorClass::Retryable { after: Some(Duration::from_secs(120)) });
        limited.insert("retry-after", "5".parse().unwrap());
        assert_eq!(mastodon_retry_after(&limited, now), Some(Duration::from_secs(5)));
        let down = error_from("Mastodon", StatusCode::SERVICE_UNAVAILABLE, &none, "<html>", now);
        assert_eq!(down.class, ErrorClass::Retryable { after: None });
    }
}
