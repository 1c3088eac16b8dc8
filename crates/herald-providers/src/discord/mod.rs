//! `discord`: posts through a channel webhook
//! (<https://discord.com/developers/docs/resources/webhook#execute-webhook>).
//!
//! The webhook URL is the credential (its last segment is a token), so
//! requests go through [`HttpClient::send`] and the URL never
//! appears in an error. Any host serving Discord's webhook path
//! (`/api[/vN]/webhooks/<id>/<token>`) is accepted — Discord-compatible
//! servers and proxies — behind the SSRF guard; Discord's own hosts must be
//! reached over https.
//!
//! Threads: a webhook cannot reply to a message. With the `threadId` setting
//! every item goes into that thread; with `threadName` (forum and media
//! channels) the first item opens a new post of that name and the rest go
//! into it; otherwise thread items follow as separate messages in the
//! channel, in order. A forum post is a thread: its first item is recorded
//! by the thread's id (the answered message's `channel_id`), which is what
//! the following items need as `thread_id`.

mod message;

use async_trait::async_trait;
use chrono::Utc;
use garde::Validate;
use herald_core::platform::PlatformRules;
use reqwest::multipart::{Form, Part};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use self::message::{Settings, payload, thread_of};
use crate::declared::{self, Declaration};
use crate::http::{excerpt, retry_after};
use crate::net::TargetGuard;
use crate::{
    ConnectedAccount, ErrorClass, HttpClient, Provider, ProviderError, PublishRequest, PublishedItem, RateBudget,
};

const DISCORD_HOSTS: &[&str] = &[
    "discord.com",
    "discordapp.com",
    "ptb.discord.com",
    "canary.discord.com",
    "ptb.discordapp.com",
    "canary.discordapp.com",
];

pub struct Discord {
    client: HttpClient,
    guard: TargetGuard,
}

impl Discord {
    pub fn new(client: HttpClient, allow_private_targets: bool) -> Self {
        Self { client, guard: TargetGuard::new(allow_private_targets) }
    }
}

/// A checked webhook URL and its webhook id. No `Debug`: the URL is a secret.
struct Hook {
    url: url::Url,
    id: String,
}

fn parse_hook(raw: &str, guard: &TargetGuard) -> Result<Hook, ProviderError> {
    let shape = "`webhookUrl` must be a Discord webhook URL like discord.com/api/webhooks/<id>/<token> \
                 (channel settings → Integrations → Webhooks → Copy Webhook URL)";
    let mut url = guard.check_url(raw.trim()).map_err(|e| ProviderError::invalid(e.replace(raw.trim(), "the URL")))?;
    // A pasted `?wait=…`/`?thread_id=…` would fight the parameters Herald sets.
    url.set_query(None);
    url.set_fragment(None);
    let segments: Vec<String> =
        url.path_segments().map(|s| s.filter(|p| !p.is_empty()).map(str::to_string).collect()).unwrap_or_default();
    let (id, token) = match segments.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["api", "webhooks", id, token] => (id.to_string(), token.to_string()),
        ["api", version, "webhooks", id, token] if version.starts_with('v') => (id.to_string(), token.to_string()),
        _ => return Err(ProviderError::invalid(shape)),
    };
    let token_ok = !token.is_empty() && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) || !token_ok {
        return Err(ProviderError::invalid(shape));
    }
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    if DISCORD_HOSTS.contains(&host.as_str()) && url.scheme() != "https" {
        return Err(ProviderError::invalid("Discord webhook URLs must use https"));
    }
    Ok(Hook { url, id })
}

/// What connecting asks for. Stored with the guild and channel ids Discord
/// reports for the hook.
#[derive(Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase")]
#[schemars(extend("additionalProperties" = false))]
#[garde(allow_unvalidated)]
struct Credentials {
    /// Channel settings → Integrations → Webhooks → Copy Webhook URL
    /// (https://discord.com/api/webhooks/…).
    #[schemars(title = "Webhook URL", url, extend("writeOnly" = true))]
    webhook_url: String,
}

fn hook_of(credentials: &Value, guard: &TargetGuard) -> Result<Hook, ProviderError> {
    let given: Option<Credentials> = serde_json::from_value(credentials.clone()).ok();
    let raw = given.as_ref().map(|c| c.webhook_url.as_str()).unwrap_or_default();
    if raw.is_empty() {
        return Err(ProviderError::invalid("`webhookUrl` is required"));
    }
    parse_hook(raw, guard)
}

/// Discord's error body: `{code, message, errors}` or, when limited, `{message, retry_after, global}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ErrorBody {
    code: Option<u64>,
    message: Option<String>,
    errors: Option<Value>,
    retry_after: Option<f64>,
}

/// `content: Must be 2000 or fewer in length.` from the nested `errors` object.
fn field_errors(errors: &Value, path: &str, out: &mut Vec<String>) {
    let Some(object) = errors.as_object() else { return };
    for (key, value) in object {
        if key == "_errors" {
            for error in value.as_array().into_iter().flatten() {
                let message = error["message"].as_str().unwrap_or("invalid");
                out.push(if path.is_empty() { message.to_string() } else { format!("{path}: {message}") });
            }
        } else {
            let nested = if path.is_empty() { key.clone() } else { format!("{path}.{key}") };
            field_errors(value, &nested, out);
        }
    }
}

fn classify(status: u16, header_wait: Option<std::time::Duration>, text: &str) -> ProviderError {
    let body: ErrorBody = serde_json::from_str(text).unwrap_or_default();
    let mut message = body.message.clone().unwrap_or_else(|| format!("HTTP {status} {}", excerpt(text)));
    if let Some(errors) = &body.errors {
        let mut fields = Vec::new();
        field_errors(errors, "", &mut fields);
        if !fields.is_empty() {
            message = format!("{message} ({})", fields.join("; "));
        }
    }
    let message = format!("Discord: {}", message.trim());
    // 10015 Unknown Webhook, 50027 Invalid Webhook Token; a bare 401/404
    // (no JSON code) is the webhook path itself missing. Any other coded
    // 404 is about something else the request named.
    let gone = match body.code {
        Some(code) => matches!(code, 10015 | 50027),
        None => status == 401 || status == 404,
    };
    match status {
        // 10003 Unknown Channel: the `threadId` setting names no thread the webhook can reach.
        _ if body.code == Some(10003) => ProviderError::invalid(format!(
            "{message} — thread not found: check the threadId setting (the thread may have been deleted)"
        )),
        429 => {
            let from_body = body.retry_after.map(|s| std::time::Duration::from_secs_f64(s.max(0.0).ceil()));
            ProviderError::new(ErrorClass::Retryable { after: header_wait.max(from_body) }, message)
        }
        _ if gone => ProviderError::new(
            ErrorClass::Revoked,
            format!("{message} — the webhook was deleted or its URL changed; create a new one and reconnect"),
        ),
        403 => ProviderError::new(ErrorClass::Revoked, message),
        400..=499 => ProviderError::invalid(message),
        500..=599 => ProviderError::new(ErrorClass::Retryable { after: header_wait }, message),
        _ => ProviderError::new(ErrorClass::Unknown, message),
    }
}

#[derive(Debug, Deserialize)]
struct SentMessage {
    id: String,
    channel_id: String,
}

#[async_trait]
impl Provider for Discord {
    fn id(&self) -> &'static str {
        "discord"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("discord")
    }

    /// Discord allows a webhook about 30 messages a minute.
    fn rate_budget(&self) -> Option<RateBudget> {
        Some(RateBudget { max: 30, window: std::time::Duration::from_secs(60) })
    }

    fn credentials(&self) -> Declaration {
        Declaration::of::<Credentials>("Discord")
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>("Discord")
    }

    async fn connect(&self, value: &Value) -> Result<ConnectedAccount, ProviderError> {
        let hook = hook_of(value, &self.guard)?;
        let response = self.client.send(self.client.inner().get(hook.url.clone())).await?;
        let status = response.status().as_u16();
        let headers_wait = retry_after(response.headers(), Utc::now());
        let text = response.text().await.unwrap_or_default();
        if !(200..300).contains(&status) {
            return Err(classify(status, headers_wait, &text));
        }
        let webhook: Value = serde_json::from_str(&text)
            .map_err(|_| ProviderError::new(ErrorClass::Unknown, "Discord answered without the webhook"))?;
        let id = webhook["id"].as_str().unwrap_or(&hook.id).to_string();
        let name = webhook["name"].as_str().filter(|n| !n.is_empty()).unwrap_or("Discord webhook").to_string();
        let guild_id = webhook["guild_id"].as_str().map(str::to_string);
        let channel_id = webhook["channel_id"].as_str().map(str::to_string);
        let avatar_url =
            webhook["avatar"].as_str().map(|hash| format!("https://cdn.discordapp.com/avatars/{id}/{hash}.png"));
        Ok(ConnectedAccount {
            account_id: id,
            username: name.clone(),
            display_name: name,
            avatar_url,
            credentials: json!({ "webhookUrl": hook.url.as_str(), "guildId": guild_id, "channelId": channel_id }),
            token_expires_at: None,
            scopes: Vec::new(),
            profile_pending: false,
        })
    }

    async fn publish(&self, request: &PublishRequest) -> Result<crate::Step, ProviderError> {
        let hook = hook_of(&request.credentials, &self.guard)?;
        let settings: Settings = declared::read("Discord", &request.settings).map_err(ProviderError::invalid)?;
        let mut url = hook.url.clone();
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("wait", "true");
            if let Some(thread) = thread_of(request, &settings) {
                query.append_pair("thread_id", &thread);
            }
        }
        let body = payload(request, &settings);
        let builder = self.client.inner().post(url);
        let builder = if request.media.is_empty() {
            builder.json(&body)
        } else {
            let json_part = Part::text(body.to_string())
                .mime_str("application/json")
                .map_err(|_| ProviderError::invalid("could not build the Discord request"))?;
            let mut form = Form::new().part("payload_json", json_part);
            for (index, file) in request.media.iter().enumerate() {
                let part = file
                    .part()
                    .file_name(file.file_name(index))
                    .mime_str(&file.mime)
                    .map_err(|_| ProviderError::invalid(format!("`{}` cannot be sent to Discord", file.mime)))?;
                form = form.part(format!("files[{index}]"), part);
            }
            builder.multipart(form)
        };
        let response = self.client.send(builder).await?;
        let status = response.status().as_u16();
        let headers_wait = retry_after(response.headers(), Utc::now());
        let text = response.text().await.unwrap_or_default();
        if !(200..300).contains(&status) {
            return Err(classify(status, headers_wait, &text));
        }
        let sent: SentMessage = serde_json::from_str(&text)
            .map_err(|_| ProviderError::new(ErrorClass::Unknown, "Discord answered without the message"))?;
        let url = request.credentials["guildId"]
            .as_str()
            .map(|guild| format!("https://discord.com/channels/{guild}/{}/{}", sent.channel_id, sent.id));
        // A new forum post is known by its thread, where the next items go.
        let id = if body.get("thread_name").is_some() { sent.channel_id } else { sent.id };
        Ok(PublishedItem { id, url }.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> TargetGuard {
        TargetGuard::new(false)
    }

    #[test]
    fn webhook_urls_are_recognised() {
        for ok in [
            "https://discord.com/api/webhooks/123/abc-DEF_9",
            "https://discordapp.com/api/webhooks/123/abc",
            "https://ptb.discord.com/api/v10/webhooks/123/abc?wait=false",
            "https://canary.discord.com/api/webhooks/123/abc/",
            "https://chat.example.org/api/webhooks/123/abc",
        ] {
            let hook = parse_hook(ok, &guard()).ok().unwrap_or_else(|| panic!("{ok}"));
            assert_eq!(hook.id, "123");
            assert_eq!(hook.url.query(), None);
        }
        for bad in [
            "http://discord.com/api/webhooks/123/abc",
            "https://discord.com/api/webhooks/abc/abc",
            "https://discord.com/channels/1/2",
            "https://discord.com/api/webhooks/123/a%2Fb",
            "http://127.0.0.1/api/webhooks/1/abc",
        ] {
            assert!(parse_hook(bad, &guard()).is_err(), "{bad}");
        }
        let message = parse_hook("http://127.0.0.1/api/webhooks/1/secret-token", &guard()).err().unwrap().message;
        assert!(!message.contains("secret-token"), "{message}");
    }

    #[test]
    fn errors_are_classified() {
        let limited = classify(
            429,
            Some(std::time::Duration::from_secs(1)),
            r#"{"message": "You are being rate limited.", "retry_after": 2.5, "global": false}"#,
        );
        assert_eq!(limited.class, ErrorClass::Retryable { after: Some(std::time::Duration::from_secs(3)) });
        let invalid = classify(
            400,
            None,
            r#"{"code": 50035, "message": "Invalid Form Body", "errors": {"content": {"_errors": [{"code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length."}]}}}"#,
        );
        assert_eq!(invalid.class, ErrorClass::Invalid);
        assert_eq!(invalid.message, "Discord: Invalid Form Body (content: Must be 2000 or fewer in length.)");
        let unknown = classify(404, None, r#"{"message": "Unknown Webhook", "code": 10015}"#);
        assert_eq!(unknown.class, ErrorClass::Revoked);
        assert!(unknown.message.starts_with("Discord: Unknown Webhook"));
        let token = classify(401, None, r#"{"message": "Invalid Webhook Token", "code": 50027}"#);
        assert_eq!(token.class, ErrorClass::Revoked);
        assert_eq!(classify(404, None, "<html>not found</html>").class, ErrorClass::Revoked, "no webhook at this path");
        let thread = classify(404, None, r#"{"message": "Unknown Channel", "code": 10003}"#);
        assert_eq!(thread.class, ErrorClass::Invalid);
        assert!(thread.message.contains("thread not found"), "{}", thread.message);
        let other = classify(404, None, r#"{"message": "Unknown Message", "code": 10008}"#);
        assert_eq!(other.class, ErrorClass::Invalid);
        assert_eq!(classify(502, None, "<html>").class, ErrorClass::Retryable { after: None });
    }
}
