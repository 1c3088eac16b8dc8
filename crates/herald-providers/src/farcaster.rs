//! `farcaster`: casts through Neynar's API (<https://docs.neynar.com>), with
//! a Neynar API key and the UUID of an approved signer for the account
//! (Neynar's dashboard, or its "Sign in with Neynar").
//!
//! Connecting reads the signer (`GET /v2/farcaster/signer`: it must be
//! `approved`) and its account (`GET /v2/farcaster/user/bulk`). A cast's text
//! is at most 320 bytes, 1,024 for Farcaster Pro accounts (kept as the
//! account's `maxTextBytes`); up to two embeds, which Farcaster clients
//! fetch from `MAIN_URL`; thread items reply to the cast before them
//! (`parent`); `channelId` posts in a channel. Every cast carries an
//! idempotency key (`idem`) from the item, so a resend after a lost answer
//! is not a second cast. Likes, recasts and replies come from the cast.

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
use crate::{
    ConnectedAccount, ErrorClass, HttpClient, Metrics, Provider, ProviderError, ProviderSettings, PublishRequest,
    PublishedItem, Recovery,
};

pub const DEFAULT_API_BASE: &str = "https://api.neynar.com";
/// A cast's text, in bytes: 320, or 1,024 for Pro accounts.
const CAST_BYTES: usize = 320;
const PRO_CAST_BYTES: usize = 1024;

pub struct Farcaster {
    client: HttpClient,
    api: String,
}

impl Farcaster {
    pub fn new(client: HttpClient, settings: &ProviderSettings) -> Self {
        Self { client, api: settings.api_base("farcaster", DEFAULT_API_BASE) }
    }
}

/// What connecting asks for (and what is stored).
#[derive(Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Credentials {
    /// From dev.neynar.com → your app → API key.
    #[schemars(title = "Neynar API key", extend("writeOnly" = true))]
    api_key: String,
    /// An approved signer of the account (Neynar → your app → signers, or
    /// "Sign in with Neynar").
    #[schemars(title = "Signer UUID", extend("writeOnly" = true))]
    signer_uuid: String,
    /// How many bytes a cast may hold, learnt when connecting.
    #[serde(default)]
    #[schemars(skip)]
    max_text_bytes: Option<usize>,
}

fn credentials(value: &Value) -> Result<Credentials, ProviderError> {
    serde_json::from_value(value.clone())
        .map_err(|_| ProviderError::invalid("Farcaster credentials need `apiKey` and `signerUuid`"))
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Settings {
    /// Cast in this channel (its id, e.g. `rust`).
    #[garde(pattern(r"^[a-z0-9-]{1,32}$"))]
    channel_id: Option<String>,
    /// A link to show under the cast (counts as one of its two embeds).
    #[garde(custom(declared::http_url))]
    #[schemars(url)]
    embed_url: Option<String>,
}

/// Neynar's error body: `{"code": "…", "message": "…"}`.
fn classify(status: StatusCode, wait: Option<std::time::Duration>, body: &str) -> ProviderError {
    let value: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let said = value["message"].as_str().map_or_else(|| excerpt(body), str::to_string);
    let shown = format!("Neynar answered {}: {said}", status.as_u16());
    match status.as_u16() {
        401 => ProviderError::new(ErrorClass::Revoked, format!("{shown} — the API key was refused; reconnect")),
        403 => {
            ProviderError::new(ErrorClass::Revoked, format!("{shown} — the signer may have been revoked; reconnect"))
        }
        _ => ProviderError::new(classify_status(status, wait), shown),
    }
}

/// Neynar's idempotency key for an item: 16 characters or more, stable.
fn idem(key: &str) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..12])
}

impl Farcaster {
    fn request(&self, method: reqwest::Method, path: &str, key: &str) -> reqwest::RequestBuilder {
        self.client.inner().request(method, format!("{}{path}", self.api)).header("x-api-key", key.trim())
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, ProviderError> {
        let response = self.client.send(request).await?;
        let status = response.status();
        let wait = retry_after(response.headers(), Utc::now());
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(classify(status, wait, &text));
        }
        serde_json::from_str(&text).map_err(|_| {
            ProviderError::new(
                ErrorClass::Unknown,
                format!("Neynar answered with something else than JSON: {}", excerpt(&text)),
            )
        })
    }
}

#[async_trait]
impl Provider for Farcaster {
    fn id(&self) -> &'static str {
        "farcaster"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("farcaster")
    }

    fn recovery(&self) -> Recovery {
        Recovery::ResendWithSameKey
    }

    fn wants_media_bytes(&self) -> bool {
        false
    }

    fn credentials(&self) -> Declaration {
        Declaration::of::<Credentials>("Farcaster")
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>("Farcaster")
    }

    async fn connect(&self, value: &Value) -> Result<ConnectedAccount, ProviderError> {
        let creds = credentials(value)?;
        let signer_uuid = creds.signer_uuid.trim();
        let signer = self
            .call(
                self.request(reqwest::Method::GET, "/v2/farcaster/signer", &creds.api_key)
                    .query(&[("signer_uuid", signer_uuid)]),
            )
            .await?;
        if signer["status"] != "approved" {
            let status = signer["status"].as_str().unwrap_or("unknown");
            return Err(ProviderError::invalid(format!(
                "the signer is `{status}`, not approved: approve it in Warpcast first"
            )));
        }
        let fid = signer["fid"]
            .as_u64()
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Neynar did not say whose signer this is"))?;
        let users = self
            .call(
                self.request(reqwest::Method::GET, "/v2/farcaster/user/bulk", &creds.api_key)
                    .query(&[("fids", fid.to_string())]),
            )
            .await?;
        let user = &users["users"][0];
        let username = user["username"].as_str().map_or_else(|| format!("fid {fid}"), str::to_string);
        let pro = user["pro"]["status"] == "subscribed";
        Ok(ConnectedAccount {
            account_id: fid.to_string(),
            display_name: user["display_name"]
                .as_str()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or(&username)
                .to_string(),
            username,
            avatar_url: user["pfp_url"].as_str().filter(|u| u.starts_with("https://")).map(str::to_string),
            credentials: json!({
                "apiKey": creds.api_key.trim(),
                "signerUuid": signer_uuid,
                "maxTextBytes": if pro { PRO_CAST_BYTES } else { CAST_BYTES },
            }),
            token_expires_at: None,
            scopes: Vec::new(),
            profile_pending: false,
        })
    }

    /// The account's cast size (320 or 1,024 bytes) as its `maxLength`: a
    /// cast of that many characters fits when they are ASCII; the bytes
    /// are checked again when it is sent.
    async fn discovered_settings(&self, value: &Value) -> Value {
        match credentials(value).ok().and_then(|creds| creds.max_text_bytes) {
            Some(limit) => json!({ "maxLength": limit }),
            None => Value::Null,
        }
    }

    async fn publish(&self, request: &PublishRequest) -> Result<crate::Step, ProviderError> {
        let creds = credentials(&request.credentials)?;
        let settings: Settings = declared::read("Farcaster", &request.settings).map_err(ProviderError::invalid)?;
        let limit = creds.max_text_bytes.unwrap_or(CAST_BYTES);
        if request.content.len() > limit {
            return Err(ProviderError::invalid(format!(
                "a cast of this account holds {limit} bytes; this one has {}",
                request.content.len()
            )));
        }
        let mut embeds: Vec<Value> = request.media.iter().map(|m| json!({"url": m.url})).collect();
        embeds.extend(
            request
                .media_urls
                .iter()
                .filter(|u| !request.media.iter().any(|m| &m.url == *u))
                .map(|u| json!({"url": u})),
        );
        if let Some(link) = &settings.embed_url {
            embeds.push(json!({"url": link}));
        }
        if embeds.len() > 2 {
            return Err(ProviderError::invalid(
                "a cast holds at most two embeds (media and the `embedUrl` link together)",
            ));
        }
        let mut body = json!({
            "signer_uuid": creds.signer_uuid.trim(),
            "text": request.content,
            "idem": idem(&request.idempotency_key),
        });
        if !embeds.is_empty() {
            body["embeds"] = json!(embeds);
        }
        if let Some(parent) = &request.reply_to {
            body["parent"] = json!(parent.id);
        } else if let Some(channel) = &settings.channel_id {
            body["channel_id"] = json!(channel);
        }
        let answer =
            self.call(self.request(reqwest::Method::POST, "/v2/farcaster/cast", &creds.api_key).json(&body)).await?;
        let cast = &answer["cast"];
        let hash = cast["hash"]
            .as_str()
            .ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Neynar did not return the cast hash"))?;
        let author = cast["author"]["username"].as_str();
        let url = author.map(|name| format!("https://warpcast.com/{name}/{}", &hash[..hash.len().min(10)]));
        Ok(PublishedItem { id: hash.to_string(), url }.into())
    }

    fn has_metrics(&self) -> bool {
        true
    }

    async fn fetch_metrics(&self, value: &Value, item: &PublishedItem) -> Result<Metrics, ProviderError> {
        let creds = credentials(value)?;
        let query = [("identifier", item.id.as_str()), ("type", "hash")];
        let answer =
            self.call(self.request(reqwest::Method::GET, "/v2/farcaster/cast", &creds.api_key).query(&query)).await?;
        let cast = &answer["cast"];
        Ok(Metrics::from([
            ("likes".to_string(), cast["reactions"]["likes_count"].as_i64().unwrap_or(0)),
            ("reposts".to_string(), cast["reactions"]["recasts_count"].as_i64().unwrap_or(0)),
            ("replies".to_string(), cast["replies"]["count"].as_i64().unwrap_or(0)),
        ]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idempotency_keys_are_stable_and_long_enough() {
        assert_eq!(idem("a-0"), idem("a-0"));
        assert_ne!(idem("a-0"), idem("a-1"));
        assert!(idem("a-0").len() >= 16);
    }

    #[test]
    fn documented_errors_are_classified() {
        let error = |code: &str, message: &str| json!({"code": code, "message": message}).to_string();
        assert_eq!(
            classify(StatusCode::UNAUTHORIZED, None, &error("Unauthorized", "Invalid API key")).class,
            ErrorClass::Revoked
        );
        assert_eq!(
            classify(StatusCode::FORBIDDEN, None, &error("Forbidden", "Signer is not approved")).class,
            ErrorClass::Revoked
        );
        let bad = classify(StatusCode::BAD_REQUEST, None, &error("InvalidField", "text is too long"));
        assert_eq!((bad.class, bad.message.as_str()), (ErrorClass::Invalid, "Neynar answered 400: text is too long"));
        assert_eq!(classify(StatusCode::TOO_MANY_REQUESTS, None, "").class, ErrorClass::Retryable { after: None });
    }
}
