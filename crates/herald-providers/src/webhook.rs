//! `webhook`: a signed JSON POST of each post to a URL of the user's.
//!
//! Every request carries `X-Herald-Signature: sha256=<HMAC-SHA256 of the
//! body with the integration's secret>` and an `Idempotency-Key` that stays
//! the same across retries of the same item, so a receiver can drop
//! duplicates — which is why a delivery interrupted by a crash is sent again
//! rather than marked unconfirmed.

use async_trait::async_trait;
use chrono::Utc;
use garde::Validate;
use herald_core::platform::PlatformRules;
use hmac::{Hmac, KeyInit, Mac};
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::declared::Declaration;
use crate::http::{classify_status, excerpt, retry_after};
use crate::net::TargetGuard;
use crate::{ConnectedAccount, HttpClient, Provider, ProviderError, PublishRequest, PublishedItem, Recovery};

pub const SIGNATURE_HEADER: &str = "X-Herald-Signature";
const MIN_SECRET_LEN: usize = 16;

pub struct Webhook {
    client: HttpClient,
    guard: TargetGuard,
}

impl Webhook {
    pub fn new(client: HttpClient, allow_private_targets: bool) -> Self {
        Self { client, guard: TargetGuard::new(allow_private_targets) }
    }
}

/// What connecting asks for (and what is stored).
#[derive(Deserialize, JsonSchema, Validate)]
#[serde(deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Credentials {
    /// Where each post is POSTed as JSON.
    #[schemars(title = "Webhook URL", url)]
    url: String,
    /// Key of the X-Herald-Signature HMAC-SHA256 header.
    #[schemars(title = "Signing secret", length(min = MIN_SECRET_LEN), extend("writeOnly" = true))]
    secret: String,
}

/// Passed through to the receiver as `target.settings`.
#[derive(Deserialize, JsonSchema, Validate)]
#[expect(dead_code, reason = "declared for its schema: publishing passes the object on as it is")]
struct Settings(#[garde(skip)] Map<String, Value>);

fn credentials(value: &Value) -> Result<Credentials, ProviderError> {
    serde_json::from_value(value.clone()).map_err(|_| {
        ProviderError::invalid("webhook credentials need `url` (http or https) and `secret` (at least 16 characters)")
    })
}

/// `sha256=` + hex HMAC-SHA256 of `body` keyed with `secret`.
pub fn signature(secret: &str, body: &[u8]) -> Result<String, ProviderError> {
    // HMAC takes keys of any length, so this cannot fail in practice.
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .map_err(|_| ProviderError::invalid("the webhook secret cannot be used as an HMAC key"))?;
    mac.update(body);
    Ok(format!("sha256={}", hex::encode(mac.finalize().into_bytes())))
}

#[async_trait]
impl Provider for Webhook {
    fn id(&self) -> &'static str {
        "webhook"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("webhook")
    }

    fn max_concurrency(&self) -> usize {
        32
    }

    fn recovery(&self) -> Recovery {
        Recovery::ResendWithSameKey
    }

    fn credentials(&self) -> Declaration {
        Declaration::of::<Credentials>("webhook")
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>("webhook")
    }

    fn wants_media_bytes(&self) -> bool {
        false
    }

    async fn connect(&self, value: &Value) -> Result<ConnectedAccount, ProviderError> {
        let creds = credentials(value)?;
        let url = self.guard.check_url(creds.url.trim()).map_err(|e| ProviderError::invalid(format!("url: {e}")))?;
        if creds.secret.len() < MIN_SECRET_LEN {
            return Err(ProviderError::invalid(format!(
                "the webhook secret must be at least {MIN_SECRET_LEN} characters"
            )));
        }
        // Nothing is sent when connecting: the name is resolved and checked
        // now, and again at every delivery.
        self.guard.check_resolved(&url).await.map_err(|e| ProviderError::invalid(format!("url: {e}")))?;
        let host = url.host_str().unwrap_or("webhook").to_string();
        Ok(ConnectedAccount {
            account_id: hex::encode(&Sha256::digest(url.as_str().as_bytes())[..12]),
            username: host.clone(),
            display_name: format!("Webhook {host}"),
            avatar_url: None,
            credentials: json!({ "url": url.as_str(), "secret": creds.secret }),
            token_expires_at: None,
            scopes: Vec::new(),
            profile_pending: false,
        })
    }

    async fn publish(&self, request: &PublishRequest) -> Result<crate::Step, ProviderError> {
        let creds = credentials(&request.credentials)?;
        self.guard.check_url(&creds.url).map_err(ProviderError::invalid)?;
        let payload = json!({
            "event": "post.publish",
            "idempotencyKey": request.idempotency_key,
            "sentAt": Utc::now(),
            "post": {
                "id": request.post_id,
                "tags": request.tags,
                "scheduledFor": request.scheduled_for,
            },
            "item": {
                "index": request.item_index,
                "of": request.item_count,
                "content": request.content,
                "mediaUrls": request.media_urls,
            },
            "replyTo": request.reply_to,
            "root": request.root,
            "integration": { "id": request.integration_id, "name": request.integration_name },
            "target": { "id": request.target_id, "settings": request.settings },
        });
        let body = serde_json::to_vec(&payload).map_err(|e| ProviderError::invalid(e.to_string()))?;
        let response = self
            .client
            .send(
                self.client
                    .inner()
                    .post(&creds.url)
                    .header("content-type", "application/json")
                    .header(SIGNATURE_HEADER, signature(&creds.secret, &body)?)
                    .header("Idempotency-Key", &request.idempotency_key)
                    .header("X-Herald-Event", "post.publish")
                    .body(body),
            )
            .await?;
        let status = response.status();
        let after = retry_after(response.headers(), Utc::now());
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            let class = classify_status(status, after);
            let message = format!("the webhook answered {status}: {}", excerpt(&text));
            return Err(ProviderError::new(class, message));
        }
        // A receiver may answer with its own id and URL; otherwise the key identifies the item.
        let answer: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        let id = match &answer["id"] {
            Value::String(id) if !id.is_empty() => id.clone(),
            Value::Number(n) => n.to_string(),
            _ => request.idempotency_key.clone(),
        };
        let url = answer["url"].as_str().filter(|u| u.starts_with("http")).map(str::to_string);
        Ok(PublishedItem { id, url }.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorClass;

    #[test]
    fn signature_is_hex_hmac_sha256() {
        // RFC 4231 test case 2.
        let sig = signature("Jefe", b"what do ya want for nothing?").unwrap();
        assert_eq!(sig, "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    }

    #[tokio::test]
    async fn connect_checks_url_and_secret() {
        let hook = Webhook::new(HttpClient::new(&crate::ProviderSettings::default()), false);
        // This machine resolves no outside name; the guard is tested elsewhere.
        let open = Webhook::new(HttpClient::new(&crate::ProviderSettings::default()), true);
        let ok = open.connect(&json!({"url": "https://example.com/hook", "secret": "0123456789abcdef"})).await.unwrap();
        assert_eq!(ok.username, "example.com");
        assert_eq!(ok.account_id.len(), 24);
        let private = hook.connect(&json!({"url": "http://127.0.0.1/hook", "secret": "0123456789abcdef"})).await;
        assert!(private.unwrap_err().message.contains("HERALD_ALLOW_PRIVATE_TARGETS"));
        let unresolvable =
            hook.connect(&json!({"url": "https://no-such-host.invalid/hook", "secret": "0123456789abcdef"})).await;
        assert!(unresolvable.unwrap_err().message.contains("does not resolve"));
        let short = hook.connect(&json!({"url": "https://example.com/hook", "secret": "short"})).await;
        assert_eq!(short.unwrap_err().class, ErrorClass::Invalid);
        let missing = hook.connect(&json!({"url": "https://example.com/hook"})).await;
        assert!(missing.unwrap_err().message.contains("secret"));
    }
}
