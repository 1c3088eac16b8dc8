//! `googlechat`: messages to a Google Chat space through its incoming
//! webhook (<https://developers.google.com/workspace/chat/quickstart/webhooks>),
//! `POST https://chat.googleapis.com/v1/spaces/{space}/messages?key=…&token=…`.
//!
//! The webhook URL is the credential (its `key` and `token` are secrets), so
//! requests go through [`HttpClient::send`] and it never appears in an
//! error. Connecting sends an empty message: Chat refuses it for lack of
//! text (nothing is posted) from a live webhook.
//!
//! Every message carries a client-assigned id (`messageId=client-…`, from
//! the item's idempotency key), and Chat refuses a second message with an
//! id it has (`409 ALREADY_EXISTS`): a resend after a lost answer is
//! answered by that refusal, which means the message is there. Thread items
//! go into one thread (`thread.threadKey`, with
//! `messageReplyOption=REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD`); the
//! `threadKey` setting posts into an existing one. Webhooks cannot upload
//! files, so Google Chat's rules allow no media.

use async_trait::async_trait;
use chrono::Utc;
use garde::Validate;
use herald_core::platform::PlatformRules;
use reqwest::StatusCode;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::declared::{self, Declaration};
use crate::http::{classify_status, excerpt, retry_after};
use crate::net::TargetGuard;
use crate::{
    ConnectedAccount, ErrorClass, HttpClient, Provider, ProviderError, PublishRequest, PublishedItem, Recovery,
};

pub struct GoogleChat {
    client: HttpClient,
    guard: TargetGuard,
}

impl GoogleChat {
    pub fn new(client: HttpClient, allow_private_targets: bool) -> Self {
        Self { client, guard: TargetGuard::new(allow_private_targets) }
    }
}

/// What connecting asks for (and what is stored).
#[derive(Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Credentials {
    /// In the space: Apps & integrations → Webhooks → Add webhook, then copy
    /// its URL (https://chat.googleapis.com/v1/spaces/…/messages?key=…&token=…).
    #[schemars(title = "Webhook URL", url, extend("writeOnly" = true))]
    webhook_url: String,
}

/// A checked webhook URL and its space. No `Debug`: the URL is a secret.
struct Hook {
    url: url::Url,
    space: String,
}

fn hook(value: &Value, guard: &TargetGuard) -> Result<Hook, ProviderError> {
    let shape = "`webhookUrl` must be a Google Chat webhook like \
                 https://chat.googleapis.com/v1/spaces/<space>/messages?key=…&token=… (space → Apps & integrations → Webhooks)";
    let given: Credentials = serde_json::from_value(value.clone()).map_err(|_| ProviderError::invalid(shape))?;
    let raw = given.webhook_url.trim();
    let url = guard.check_url(raw).map_err(|e| ProviderError::invalid(e.replace(raw, "the URL")))?;
    let segments: Vec<&str> = url.path_segments().map(|s| s.filter(|p| !p.is_empty()).collect()).unwrap_or_default();
    let ["v1", "spaces", space, "messages"] = segments.as_slice() else {
        return Err(ProviderError::invalid(shape));
    };
    let has = |name: &str| url.query_pairs().any(|(key, value)| key == name && !value.is_empty());
    if !has("key") || !has("token") {
        return Err(ProviderError::invalid(shape));
    }
    if url.host_str().is_some_and(|h| h.eq_ignore_ascii_case("chat.googleapis.com")) && url.scheme() != "https" {
        return Err(ProviderError::invalid(shape));
    }
    // Only the hook's own parameters: Herald sets the others per message.
    let kept: Vec<(String, String)> = url
        .query_pairs()
        .filter(|(key, _)| key == "key" || key == "token")
        .map(|(key, value)| (key.into_owned(), value.into_owned()))
        .collect();
    let space = space.to_string();
    let mut url = url;
    url.query_pairs_mut().clear().extend_pairs(kept);
    url.set_fragment(None);
    Ok(Hook { url, space })
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Settings {
    /// Post into the thread with this key (created by the first message that
    /// names it); by default a post starts its own thread.
    #[garde(length(chars, min = 1, max = 128))]
    thread_key: Option<String>,
}

/// The client-assigned message id Chat takes: `client-` then lowercase
/// letters, digits and hyphens, 63 characters at most.
fn message_id(idempotency_key: &str) -> String {
    let digest = hex::encode(&Sha256::digest(idempotency_key.as_bytes())[..20]);
    format!("client-herald-{digest}")
}

/// The thread every item of a post goes into: the setting's, or one of the
/// post's own (the same for every item and every retry).
fn thread_key(settings: &Settings, request: &PublishRequest) -> Option<String> {
    if let Some(key) = settings.thread_key.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
        return Some(key.to_string());
    }
    (request.item_count > 1).then(|| format!("herald-{}", request.target_id))
}

/// Google's error body: `{"error": {"code": 400, "message": "…", "status": "INVALID_ARGUMENT"}}`.
fn classify(status: StatusCode, wait: Option<std::time::Duration>, body: &str) -> ProviderError {
    let value: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let said = value["error"]["message"].as_str().map_or_else(|| excerpt(body), str::to_string);
    let kind = value["error"]["status"].as_str().unwrap_or_default();
    let shown = format!("Google Chat answered {}: {said}", status.as_u16());
    let dead_key = said.contains("API key not valid") || said.contains("token") && status == StatusCode::BAD_REQUEST;
    match (status.as_u16(), kind) {
        (401 | 403 | 404, _) | (_, "PERMISSION_DENIED" | "UNAUTHENTICATED" | "NOT_FOUND") => ProviderError::new(
            ErrorClass::Revoked,
            format!("{shown} — this webhook can no longer post; add a new one and reconnect"),
        ),
        (400, _) if dead_key => ProviderError::new(
            ErrorClass::Revoked,
            format!("{shown} — this webhook's key or token is no longer valid; reconnect"),
        ),
        (_, "RESOURCE_EXHAUSTED") => ProviderError::new(ErrorClass::Retryable { after: wait }, shown),
        _ => ProviderError::new(classify_status(status, wait), shown),
    }
}

fn is_empty_message_refusal(status: StatusCode, body: &str) -> bool {
    let value: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    status == StatusCode::BAD_REQUEST
        && value["error"]["message"].as_str().is_some_and(|m| m.to_lowercase().contains("empty"))
}

impl GoogleChat {
    async fn post(
        &self,
        url: url::Url,
        body: &Value,
    ) -> Result<(StatusCode, String, Option<std::time::Duration>), ProviderError> {
        let response = self.client.send(self.client.inner().post(url).json(body)).await?;
        let status = response.status();
        let wait = retry_after(response.headers(), Utc::now());
        Ok((status, response.text().await.unwrap_or_default(), wait))
    }
}

#[async_trait]
impl Provider for GoogleChat {
    fn id(&self) -> &'static str {
        "googlechat"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("googlechat")
    }

    fn recovery(&self) -> Recovery {
        Recovery::ResendWithSameKey
    }

    fn wants_media_bytes(&self) -> bool {
        false
    }

    fn credentials(&self) -> Declaration {
        Declaration::of::<Credentials>("Google Chat")
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>("Google Chat")
    }

    async fn connect(&self, value: &Value) -> Result<ConnectedAccount, ProviderError> {
        let hook = hook(value, &self.guard)?;
        self.guard.check_resolved(&hook.url).await.map_err(ProviderError::invalid)?;
        let (status, body, wait) = self.post(hook.url.clone(), &json!({})).await?;
        if !status.is_success() && !is_empty_message_refusal(status, &body) {
            return Err(classify(status, wait, &body));
        }
        Ok(ConnectedAccount {
            account_id: hook.space.clone(),
            username: format!("spaces/{}", hook.space),
            display_name: format!("Google Chat space {}", hook.space),
            avatar_url: None,
            credentials: json!({ "webhookUrl": hook.url.as_str() }),
            token_expires_at: None,
            scopes: Vec::new(),
            profile_pending: false,
        })
    }

    async fn publish(&self, request: &PublishRequest) -> Result<crate::Step, ProviderError> {
        let hook = hook(&request.credentials, &self.guard)?;
        let settings: Settings = declared::read("Google Chat", &request.settings).map_err(ProviderError::invalid)?;
        let message_id = message_id(&request.idempotency_key);
        let mut url = hook.url;
        let mut body = json!({ "text": request.content });
        {
            let mut query = url.query_pairs_mut();
            query.append_pair("messageId", &message_id);
            if let Some(key) = thread_key(&settings, request) {
                query.append_pair("messageReplyOption", "REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD");
                body["thread"] = json!({ "threadKey": key });
            }
        }
        let (status, text, wait) = self.post(url, &body).await?;
        let name = if status == StatusCode::CONFLICT {
            // The message with this id exists: an earlier attempt posted it.
            format!("spaces/{}/messages/{message_id}", hook.space)
        } else if status.is_success() {
            let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            answer["name"]
                .as_str()
                .map_or_else(|| format!("spaces/{}/messages/{message_id}", hook.space), str::to_string)
        } else {
            return Err(classify(status, wait, &text));
        };
        Ok(PublishedItem { id: name, url: None }.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const URL: &str = "https://chat.googleapis.com/v1/spaces/AAAA1234/messages?key=KEY&token=TOK%3D";

    #[test]
    fn webhook_urls_are_checked_and_stripped_of_other_parameters() {
        let guard = TargetGuard::new(false);
        let checked = hook(&json!({"webhookUrl": format!("{URL}&threadKey=x&messageReplyOption=y")}), &guard).unwrap();
        assert_eq!(checked.space, "AAAA1234");
        assert_eq!(checked.url.as_str(), URL);
        for bad in [
            "https://chat.googleapis.com/v1/spaces/AAAA/messages?key=K",
            "https://chat.googleapis.com/v1/spaces/AAAA?key=K&token=T",
            "http://chat.googleapis.com/v1/spaces/AAAA/messages?key=K&token=T",
        ] {
            assert!(hook(&json!({"webhookUrl": bad}), &guard).is_err(), "{bad}");
        }
        let private = hook(&json!({"webhookUrl": "http://10.0.0.1/v1/spaces/A/messages?key=K&token=SECRET"}), &guard);
        assert!(!private.err().unwrap().message.contains("SECRET"));
    }

    #[test]
    fn message_ids_are_what_chat_accepts_and_stable() {
        let id = message_id("5d3c2e4a-0000-0000-0000-000000000000-2");
        assert!(id.starts_with("client-") && id.len() <= 63, "{id}");
        assert!(id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{id}");
        assert_eq!(id, message_id("5d3c2e4a-0000-0000-0000-000000000000-2"));
        assert_ne!(id, message_id("5d3c2e4a-0000-0000-0000-000000000000-3"));
    }

    #[test]
    fn documented_errors_are_classified() {
        let error = |code: u16, status: &str, message: &str| {
            json!({"error": {"code": code, "message": message, "status": status}}).to_string()
        };
        let empty = error(400, "INVALID_ARGUMENT", "Message cannot be empty. Discarding empty message.");
        assert!(is_empty_message_refusal(StatusCode::BAD_REQUEST, &empty));
        assert_eq!(classify(StatusCode::BAD_REQUEST, None, &empty).class, ErrorClass::Invalid);
        let key = error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.");
        assert_eq!(classify(StatusCode::BAD_REQUEST, None, &key).class, ErrorClass::Revoked);
        let gone = error(404, "NOT_FOUND", "Requested entity was not found.");
        assert_eq!(classify(StatusCode::NOT_FOUND, None, &gone).class, ErrorClass::Revoked);
        let busy = error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).");
        assert_eq!(classify(StatusCode::TOO_MANY_REQUESTS, None, &busy).class, ErrorClass::Retryable { after: None });
        assert_eq!(classify(StatusCode::SERVICE_UNAVAILABLE, None, "").class, ErrorClass::Retryable { after: None });
    }
}
