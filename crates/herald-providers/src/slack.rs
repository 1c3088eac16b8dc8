//! `slack`: posts through an incoming webhook
//! (<https://api.slack.com/messaging/webhooks>).
//!
//! The webhook URL is the credential, so requests go through
//! [`HttpClient::send`]. Slack has nothing to read an incoming
//! webhook with, and connecting must not post a visible message, so
//! `connect` POSTs an empty JSON object: Slack answers `400 no_text` for a
//! live hook (nothing is posted) and `404 no_service`, `403 invalid_token`,
//! `410 channel_is_archived`, … for a broken one. `hooks.slack.com` URLs
//! must be https and under `/services/`; other hosts (Slack GovSlack,
//! Slack-compatible servers, proxies) are accepted behind the SSRF guard.
//!
//! A webhook answers a plain `ok` and no message id, so the item's
//! idempotency key stands in as its id and there is no URL. Webhooks cannot
//! reply in a thread: thread items follow as messages, in order. They cannot
//! upload files either, so Slack's rules allow no media.

use async_trait::async_trait;
use chrono::Utc;
use garde::Validate;
use herald_core::platform::PlatformRules;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::declared::{self, Declaration};
use crate::http::{classify_status, excerpt, retry_after};
use crate::net::{TargetGuard, url_fingerprint};
use crate::{ConnectedAccount, ErrorClass, HttpClient, Provider, ProviderError, PublishRequest, PublishedItem};

pub struct Slack {
    client: HttpClient,
    guard: TargetGuard,
}

impl Slack {
    pub fn new(client: HttpClient, allow_private_targets: bool) -> Self {
        Self { client, guard: TargetGuard::new(allow_private_targets) }
    }
}

/// What connecting asks for (and what is stored).
#[derive(Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Credentials {
    /// From your Slack app → Incoming Webhooks → Add New Webhook to Workspace
    /// (https://hooks.slack.com/services/…). Checked without posting anything.
    #[schemars(title = "Incoming webhook URL", url, extend("writeOnly" = true))]
    webhook_url: String,
}

fn hook_url(credentials: &Value, guard: &TargetGuard) -> Result<url::Url, ProviderError> {
    let given: Option<Credentials> = serde_json::from_value(credentials.clone()).ok();
    let raw = given.as_ref().map(|c| c.webhook_url.trim()).unwrap_or_default();
    if raw.is_empty() {
        return Err(ProviderError::invalid("`webhookUrl` is required (hooks.slack.com/services/…)"));
    }
    let url = guard.check_url(raw).map_err(|e| ProviderError::invalid(e.replace(raw, "the URL")))?;
    if url.host_str().is_some_and(|h| h.eq_ignore_ascii_case("hooks.slack.com"))
        && (url.scheme() != "https" || !url.path().starts_with("/services/"))
    {
        return Err(ProviderError::invalid(
            "`webhookUrl` must be an https URL like hooks.slack.com/services/T…/B…/… (your app → Incoming Webhooks → Copy)",
        ));
    }
    Ok(url)
}

/// `T…/B…` of `/services/T…/B…/<token>`: the workspace and the hook, not
/// secret; other URLs are known by a hash.
fn account_id(url: &url::Url) -> String {
    let segments: Vec<&str> = url.path_segments().map(|s| s.filter(|p| !p.is_empty()).collect()).unwrap_or_default();
    match segments.as_slice() {
        ["services", team, hook, _token] => format!("{team}/{hook}"),
        _ => url_fingerprint(url),
    }
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Settings {
    /// Show previews of links (Slack's default: only for media links).
    unfurl_links: Option<bool>,
    /// Show previews of media links (Slack's default: true).
    unfurl_media: Option<bool>,
    /// Send the text as written so Slack syntax like <https://example.com|label>
    /// or <@U123> works; by default & < > show literally.
    raw_text: bool,
}

/// Slack reads `&`, `<` and `>` as markup (links, mentions); a post is
/// plain text unless `rawText` asks for Slack's syntax.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn payload(content: &str, settings: &Settings) -> Value {
    let text = if settings.raw_text { content.to_string() } else { escape(content) };
    let mut body = json!({ "text": text });
    if let Some(unfurl) = settings.unfurl_links {
        body["unfurl_links"] = json!(unfurl);
    }
    if let Some(unfurl) = settings.unfurl_media {
        body["unfurl_media"] = json!(unfurl);
    }
    body
}

/// Slack's documented answers (plain-text bodies) by meaning.
fn classify(status: u16, wait: Option<std::time::Duration>, body: &str) -> ProviderError {
    let code = body.trim();
    let message = format!("Slack answered {status} {}", excerpt(code));
    match code {
        "no_service"
        | "no_service_id"
        | "no_team"
        | "team_disabled"
        | "invalid_token"
        | "action_prohibited"
        | "channel_not_found"
        | "channel_is_archived"
        | "posting_to_general_channel_denied" => ProviderError::new(
            ErrorClass::Revoked,
            format!("{message} — this webhook can no longer post; create a new one and reconnect"),
        ),
        "invalid_payload"
        | "no_text"
        | "missing_text_or_fallback_or_attachments"
        | "too_many_attachments"
        | "user_not_found"
        | "invalid_blocks"
        | "invalid_blocks_format" => ProviderError::invalid(message),
        "rollup_error" => ProviderError::new(ErrorClass::Retryable { after: wait }, message),
        // A webhook has nothing to refresh: refused credentials mean a new hook.
        _ if status == 401 => ProviderError::new(
            ErrorClass::Revoked,
            format!("{message} — this webhook is no longer accepted; create a new one and reconnect"),
        ),
        _ => ProviderError::new(
            classify_status(reqwest::StatusCode::from_u16(status).unwrap_or_default(), wait),
            message,
        ),
    }
}

impl Slack {
    async fn post(
        &self,
        url: url::Url,
        body: &Value,
    ) -> Result<(u16, Option<std::time::Duration>, String), ProviderError> {
        let response = self.client.send(self.client.inner().post(url).json(body)).await?;
        let status = response.status().as_u16();
        let wait = retry_after(response.headers(), Utc::now());
        Ok((status, wait, response.text().await.unwrap_or_default()))
    }
}

#[async_trait]
impl Provider for Slack {
    fn id(&self) -> &'static str {
        "slack"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("slack")
    }

    fn wants_media_bytes(&self) -> bool {
        false
    }

    fn credentials(&self) -> Declaration {
        Declaration::of::<Credentials>("Slack")
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>("Slack")
    }

    async fn connect(&self, value: &Value) -> Result<ConnectedAccount, ProviderError> {
        let url = hook_url(value, &self.guard)?;
        let (status, wait, body) = self.post(url.clone(), &json!({})).await?;
        let alive = match status {
            // Refused for lack of text: the hook exists and nothing was posted.
            400 => matches!(body.trim(), "no_text" | "missing_text_or_fallback_or_attachments" | "invalid_payload"),
            // A Slack-compatible server that took the empty message.
            200..=299 => true,
            _ => false,
        };
        if !alive {
            return Err(classify(status, wait, &body));
        }
        let account_id = account_id(&url);
        let team = account_id.split('/').next().unwrap_or_default().to_string();
        let host = url.host_str().unwrap_or("slack").to_string();
        Ok(ConnectedAccount {
            username: if account_id.contains('/') { team.clone() } else { host.clone() },
            display_name: if account_id.contains('/') {
                format!("Slack {team}")
            } else {
                format!("Slack webhook {host}")
            },
            account_id,
            avatar_url: None,
            credentials: json!({ "webhookUrl": url.as_str() }),
            token_expires_at: None,
            scopes: Vec::new(),
            profile_pending: false,
        })
    }

    async fn publish(&self, request: &PublishRequest) -> Result<crate::Step, ProviderError> {
        let url = hook_url(&request.credentials, &self.guard)?;
        let settings: Settings = declared::read("Slack", &request.settings).map_err(ProviderError::invalid)?;
        let (status, wait, body) = self.post(url, &payload(&request.content, &settings)).await?;
        if !(200..300).contains(&status) {
            return Err(classify(status, wait, &body));
        }
        Ok(PublishedItem { id: request.idempotency_key.clone(), url: None }.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_and_named_without_their_token() {
        let guard = TargetGuard::new(false);
        let url = hook_url(&json!({"webhookUrl": "https://hooks.slack.com/services/T000/B000/XXXX"}), &guard).unwrap();
        assert_eq!(account_id(&url), "T000/B000");
        for bad in ["http://hooks.slack.com/services/T/B/X", "https://hooks.slack.com/workflows/T/A/1/x", ""] {
            assert!(hook_url(&json!({"webhookUrl": bad}), &guard).is_err(), "{bad}");
        }
        let private = hook_url(&json!({"webhookUrl": "http://127.0.0.1/services/T/B/secret"}), &guard).err().unwrap();
        assert!(!private.message.contains("secret"));
        let other = hook_url(&json!({"webhookUrl": "https://chat.example.org/hooks/abc"}), &guard).unwrap();
        assert_eq!(account_id(&other).len(), 24);
    }

    #[test]
    fn text_is_escaped_unless_raw() {
        let read = |value: Value| declared::read::<Settings>("Slack", &value).unwrap();
        assert_eq!(payload("a < b & c > d", &read(json!({}))), json!({"text": "a &lt; b &amp; c &gt; d"}));
        assert_eq!(
            payload("<https://x.test|x>", &read(json!({"rawText": true, "unfurlLinks": false}))),
            json!({"text": "<https://x.test|x>", "unfurl_links": false})
        );
    }

    #[test]
    fn settings_and_credentials_are_declared_once() {
        let slack = Slack::new(HttpClient::new(&crate::ProviderSettings::default()), false);
        let schema = slack.settings().schema();
        assert_eq!(schema["properties"]["rawText"]["type"], "boolean");
        assert_eq!(schema["properties"]["unfurlLinks"]["type"], "boolean");
        assert!(slack.settings().problems(&json!({"rawText": true, "unfurlMedia": false})).is_empty());
        assert_eq!(
            slack.settings().problems(&json!({"rawText": "yes", "colour": 1})),
            [
                ("colour".to_string(), "is not a Slack setting".to_string()),
                ("rawText".to_string(), "must be true or false".to_string())
            ]
        );
        let credentials = slack.credentials().schema();
        assert_eq!(credentials["required"], json!(["webhookUrl"]));
        assert_eq!(credentials["properties"]["webhookUrl"]["writeOnly"], true);
        assert_eq!(credentials["properties"]["webhookUrl"]["format"], "uri");
        assert_eq!(credentials["properties"]["webhookUrl"]["title"], "Incoming webhook URL");
    }

    #[test]
    fn documented_errors_are_classified() {
        assert_eq!(classify(404, None, "no_service").class, ErrorClass::Revoked);
        assert_eq!(classify(403, None, "invalid_token").class, ErrorClass::Revoked);
        assert_eq!(classify(410, None, "channel_is_archived").class, ErrorClass::Revoked);
        assert_eq!(classify(403, None, "action_prohibited").class, ErrorClass::Revoked);
        assert_eq!(classify(401, None, "").class, ErrorClass::Revoked, "a webhook cannot be refreshed");
        let invalid = classify(400, None, "invalid_payload");
        assert_eq!(invalid.class, ErrorClass::Invalid);
        assert_eq!(invalid.message, "Slack answered 400 invalid_payload");
        let wait = Some(std::time::Duration::from_secs(2));
        assert_eq!(classify(429, wait, "rate_limited").class, ErrorClass::Retryable { after: wait });
        assert_eq!(classify(500, None, "rollup_error").class, ErrorClass::Retryable { after: None });
        assert_eq!(classify(503, None, "").class, ErrorClass::Retryable { after: None });
    }
}
