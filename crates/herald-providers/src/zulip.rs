//! `zulip`: messages to a Zulip channel ("stream") and topic, as a bot
//! (<https://zulip.com/api/send-message>), on zulip.com or a self-hosted
//! server.
//!
//! A bot's email and API key are HTTP Basic credentials. Connecting reads
//! the bot (`GET /api/v1/users/me`) and the channel's id
//! (`GET /api/v1/get_stream_id`), and keeps the id, so renaming the channel
//! does not break it. A post is a message in the account's topic (or the
//! post's own `topic`); a thread is the same topic, which is how Zulip
//! threads conversations, so its items follow in order. Files are uploaded
//! (`POST /api/v1/user_uploads`) and linked in the message, as Zulip's own
//! clients do. Zulip drops no repeated message: an interrupted delivery is
//! not sent again.

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
use crate::net::{TargetGuard, server_base};
use crate::{
    ConnectedAccount, ErrorClass, HttpClient, Metrics, Provider, ProviderError, PublishRequest, PublishedItem,
};

/// The topic of an account that names none.
const DEFAULT_TOPIC: &str = "Herald";
/// Zulip's `max_topic_length`.
const MAX_TOPIC_CHARS: usize = 60;

pub struct Zulip {
    client: HttpClient,
    guard: TargetGuard,
}

impl Zulip {
    pub fn new(client: HttpClient, allow_private_targets: bool) -> Self {
        Self { client, guard: TargetGuard::new(allow_private_targets) }
    }
}

/// What connecting asks for (and what is stored).
#[derive(Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Credentials {
    /// Your Zulip server, e.g. https://chat.zulip.org or https://yourorg.zulipchat.com
    #[schemars(title = "Server")]
    site: String,
    /// Personal settings → Bots → Add a new bot (type "Generic" or
    /// "Incoming webhook"): the bot's email.
    #[schemars(title = "Bot email")]
    email: String,
    /// The bot's API key, from the same page.
    #[schemars(title = "API key", extend("writeOnly" = true))]
    api_key: String,
    /// The channel (stream) to post in, by name; the bot must be allowed to post there.
    #[schemars(title = "Channel")]
    stream: String,
    /// The topic posts go to unless a post names its own (default "Herald").
    #[garde(length(chars, max = 60))]
    #[schemars(title = "Topic")]
    topic: Option<String>,
    /// The channel's id, learnt when connecting.
    #[serde(default)]
    #[schemars(skip)]
    stream_id: Option<u64>,
}

fn credentials(value: &Value) -> Result<Credentials, ProviderError> {
    serde_json::from_value(value.clone())
        .map_err(|_| ProviderError::invalid("Zulip credentials need `site`, `email`, `apiKey` and `stream`"))
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Settings {
    /// The topic of this post (the account's topic otherwise).
    #[garde(length(chars, min = 1, max = 60))]
    topic: Option<String>,
}

/// Zulip's error body: `{"result": "error", "code": "…", "msg": "…"}`.
fn classify(status: StatusCode, wait: Option<std::time::Duration>, body: &str) -> ProviderError {
    let value: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let code = value["code"].as_str().unwrap_or_default();
    let said = value["msg"].as_str().map_or_else(|| excerpt(body), str::to_string);
    let shown = format!("Zulip answered {}: {said}", status.as_u16());
    let wait = wait.or_else(|| value["retry-after"].as_f64().map(|s| std::time::Duration::from_secs_f64(s.max(0.0))));
    let cannot_post = said.starts_with("Not authorized to send")
        || said.starts_with("Invalid channel")
        || said.starts_with("Invalid stream")
        || said.contains("does not exist");
    match (status.as_u16(), code) {
        (401, _) | (_, "INVALID_API_KEY" | "USER_DEACTIVATED" | "REALM_DEACTIVATED" | "UNAUTHORIZED") => {
            ProviderError::new(ErrorClass::Revoked, format!("{shown} — the bot's key was refused; reconnect"))
        }
        (400, _) if cannot_post => {
            ProviderError::new(ErrorClass::Revoked, format!("{shown} — the bot can no longer post there; reconnect"))
        }
        (_, "RATE_LIMIT_HIT") => ProviderError::new(ErrorClass::Retryable { after: wait }, shown),
        _ => ProviderError::new(classify_status(status, wait), shown),
    }
}

/// A topic as Zulip's links write it (`hash_util.encodeHashComponent`):
/// URI-encoded, then `%` as `.` and `.`, `(`, `)` as `.2E`, `.28`, `.29`.
fn hash_component(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'!' | b'~' | b'*' | b'\'' => {
                out.push(char::from(byte))
            }
            _ => out.push_str(&format!(".{byte:02X}")),
        }
    }
    out
}

impl Zulip {
    fn request(&self, creds: &Credentials, base: &str, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client
            .inner()
            .request(method, format!("{base}/api/v1{path}"))
            .basic_auth(creds.email.trim(), Some(creds.api_key.trim()))
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, ProviderError> {
        let response = self.client.send(request).await?;
        let status = response.status();
        let wait = retry_after(response.headers(), Utc::now());
        let text = response.text().await.unwrap_or_default();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        if !status.is_success() || value["result"] != "success" {
            return Err(classify(if status.is_success() { StatusCode::BAD_REQUEST } else { status }, wait, &text));
        }
        Ok(value)
    }

    /// Uploads a file and answers the Markdown link to it.
    async fn upload(
        &self,
        creds: &Credentials,
        base: &str,
        index: usize,
        media: &crate::Attachment,
    ) -> Result<String, ProviderError> {
        let name = media.file_name(index);
        let part = media
            .part()
            .file_name(name.clone())
            .mime_str(&media.mime)
            .map_err(|_| ProviderError::invalid(format!("`{}` is not a file type Zulip takes", media.mime)))?;
        let form = reqwest::multipart::Form::new().part("filename", part);
        let answer = self
            .call(self.request(creds, base, reqwest::Method::POST, "/user_uploads").multipart(form))
            .await
            .map_err(ProviderError::before_publishing)?;
        let path = answer["url"]
            .as_str()
            .or(answer["uri"].as_str())
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Zulip did not return the file's address"))?;
        let label = media.alt_text.as_deref().map(str::trim).filter(|a| !a.is_empty()).unwrap_or(&name);
        let label = label.replace(['[', ']'], "");
        Ok(format!("[{label}]({path})"))
    }
}

fn topic_of<'a>(settings: &'a Settings, creds: &'a Credentials) -> &'a str {
    settings
        .topic
        .as_deref()
        .or(creds.topic.as_deref())
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or(DEFAULT_TOPIC)
}

#[async_trait]
impl Provider for Zulip {
    fn id(&self) -> &'static str {
        "zulip"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("zulip")
    }

    fn credentials(&self) -> Declaration {
        Declaration::of::<Credentials>("Zulip")
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>("Zulip")
    }

    async fn connect(&self, value: &Value) -> Result<ConnectedAccount, ProviderError> {
        let creds = credentials(value)?;
        let base = server_base(&self.guard, &creds.site)?;
        let stream = creds.stream.trim().trim_start_matches('#').to_string();
        if stream.is_empty() || creds.email.trim().is_empty() || creds.api_key.trim().is_empty() {
            return Err(ProviderError::invalid("`email`, `apiKey` and `stream` must not be empty"));
        }
        if let Some(topic) = &creds.topic
            && topic.chars().count() > MAX_TOPIC_CHARS
        {
            return Err(ProviderError::invalid(format!("`topic` is longer than Zulip's {MAX_TOPIC_CHARS} characters")));
        }
        let me = self.call(self.request(&creds, &base, reqwest::Method::GET, "/users/me")).await?;
        let found = self
            .call(self.request(&creds, &base, reqwest::Method::GET, "/get_stream_id").query(&[("stream", &stream)]))
            .await?;
        let stream_id = found["stream_id"]
            .as_u64()
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Zulip did not return the channel's id"))?;
        let host = url::Url::parse(&base).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
        let bot = me["full_name"].as_str().filter(|n| !n.trim().is_empty()).unwrap_or("Zulip bot");
        Ok(ConnectedAccount {
            account_id: format!("{stream_id}@{host}"),
            username: format!("#{stream}@{host}"),
            display_name: format!("#{stream} ({bot})"),
            avatar_url: me["avatar_url"].as_str().filter(|a| a.starts_with("http")).map(str::to_string),
            credentials: json!({
                "site": base,
                "email": creds.email.trim(),
                "apiKey": creds.api_key.trim(),
                "stream": stream,
                "topic": creds.topic.as_deref().map(str::trim).filter(|t| !t.is_empty()),
                "streamId": stream_id,
            }),
            token_expires_at: None,
            scopes: Vec::new(),
            profile_pending: false,
        })
    }

    async fn publish(&self, request: &PublishRequest) -> Result<crate::Step, ProviderError> {
        let creds = credentials(&request.credentials)?;
        let base = server_base(&self.guard, &creds.site)?;
        let settings: Settings = declared::read("Zulip", &request.settings).map_err(ProviderError::invalid)?;
        let mut content = request.content.clone();
        for (index, media) in request.media.iter().enumerate() {
            let link = self.upload(&creds, &base, index, media).await?;
            content = if content.trim().is_empty() { link } else { format!("{content}\n{link}") };
        }
        let topic = topic_of(&settings, &creds).to_string();
        let to = creds.stream_id.map_or_else(|| creds.stream.clone(), |id| id.to_string());
        let form = [("type", "stream"), ("to", to.as_str()), ("topic", topic.as_str()), ("content", content.as_str())];
        let sent = self.call(self.request(&creds, &base, reqwest::Method::POST, "/messages").form(&form)).await?;
        let id = sent["id"]
            .as_u64()
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Zulip did not return the message id"))?;
        let channel = creds.stream_id.map_or_else(|| hash_component(&creds.stream), |id| id.to_string());
        let url = format!("{base}/#narrow/channel/{channel}/topic/{}/near/{id}", hash_component(&topic));
        Ok(PublishedItem { id: id.to_string(), url: Some(url) }.into())
    }

    fn has_metrics(&self) -> bool {
        true
    }

    /// Emoji reactions on the message (Zulip 5.0 and later).
    async fn fetch_metrics(&self, value: &Value, item: &PublishedItem) -> Result<Metrics, ProviderError> {
        let creds = credentials(value)?;
        let base = server_base(&self.guard, &creds.site)?;
        let path = format!("/messages/{}", item.id);
        let answer = self.call(self.request(&creds, &base, reqwest::Method::GET, &path)).await?;
        let reactions = answer["message"]["reactions"].as_array().map_or(0, Vec::len);
        Ok(Metrics::from([("reactions".to_string(), i64::try_from(reactions).unwrap_or(i64::MAX))]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_are_written_as_zulip_links_write_them() {
        assert_eq!(hash_component("release notes"), "release.20notes");
        assert_eq!(hash_component("v1.2 (beta)"), "v1.2E2.20.28beta.29");
        assert_eq!(hash_component("café"), "caf.C3.A9");
    }

    #[test]
    fn documented_errors_are_classified() {
        let error = |code: &str, msg: &str| json!({"result": "error", "code": code, "msg": msg}).to_string();
        assert_eq!(
            classify(StatusCode::UNAUTHORIZED, None, &error("INVALID_API_KEY", "Invalid API key")).class,
            ErrorClass::Revoked
        );
        let denied =
            classify(StatusCode::BAD_REQUEST, None, &error("BAD_REQUEST", "Not authorized to send to channel 'news'"));
        assert_eq!(denied.class, ErrorClass::Revoked);
        let empty = classify(StatusCode::BAD_REQUEST, None, &error("BAD_REQUEST", "Message must not be empty"));
        assert_eq!(
            (empty.class, empty.message.as_str()),
            (ErrorClass::Invalid, "Zulip answered 400: Message must not be empty")
        );
        let limited = json!({"result": "error", "code": "RATE_LIMIT_HIT", "msg": "API usage exceeded rate limit", "retry-after": 2.5}).to_string();
        assert_eq!(
            classify(StatusCode::TOO_MANY_REQUESTS, None, &limited).class,
            ErrorClass::Retryable { after: Some(std::time::Duration::from_millis(2500)) }
        );
        assert_eq!(classify(StatusCode::BAD_GATEWAY, None, "<html>").class, ErrorClass::Retryable { after: None });
    }

    #[test]
    fn the_posts_topic_wins_then_the_accounts() {
        let creds = |topic: Option<&str>| Credentials {
            site: "https://z.example".into(),
            email: "bot@z.example".into(),
            api_key: "k".into(),
            stream: "news".into(),
            topic: topic.map(str::to_string),
            stream_id: None,
        };
        let own = Settings { topic: Some("launch".into()) };
        assert_eq!(topic_of(&own, &creds(Some("general"))), "launch");
        assert_eq!(topic_of(&Settings::default(), &creds(Some("general"))), "general");
        assert_eq!(topic_of(&Settings::default(), &creds(None)), DEFAULT_TOPIC);
    }
}
