//! `nostr`: signed kind-1 notes sent to the user's relays (NIP-01), threads
//! as NIP-10 replies, hashtags as `t` tags, media as URLs in the text with
//! NIP-92 `imeta` tags.
//!
//! Nothing here is HTTP: each relay gets a WebSocket of its own, opened
//! through the same SSRF rules as every user-given URL. A note counts as
//! published when at least one relay acknowledges it.
//!
//! Retries resend the very same signed event. An event's id is the hash of
//! its content, tags, author and `created_at`, and the signature is
//! deterministic (see [`event::Keys::sign`]), so `created_at` is the only
//! thing that could change between attempts; it is derived from the post
//! (its scheduled time, else its creation time in its UUIDv7 id) rather
//! than from the clock. A relay that already stored the event answers
//! `duplicate:` (counted as accepted) instead of storing a second note,
//! which is why an interrupted delivery may simply be sent again
//! ([`Recovery::ResendWithSameKey`]).

pub mod event;
pub mod relay;

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::future::join_all;
use garde::Validate;
use herald_core::platform::PlatformRules;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use self::event::{Event, Keys, TEXT_NOTE, to_bech32};
use self::relay::Answer;
use crate::declared::Declaration;
use crate::net::TargetGuard;
use crate::{ConnectedAccount, ErrorClass, Provider, ProviderError, PublishRequest, PublishedItem, Recovery};

pub const MAX_RELAYS: usize = 10;

pub struct Nostr {
    guard: TargetGuard,
    /// How long to wait for each relay's `OK`.
    timeout: Duration,
}

impl Nostr {
    pub fn new(allow_private_targets: bool, timeout: Duration) -> Self {
        Self { guard: TargetGuard::new(allow_private_targets), timeout }
    }
}

struct Credentials {
    keys: Keys,
    relays: Vec<url::Url>,
}

/// What connecting asks for (and what is stored).
#[derive(Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Given {
    /// Your Nostr secret key: nsec1… or 64 hex characters. Notes are signed with it.
    #[schemars(
        title = "Private key",
        regex(pattern = "^([0-9a-fA-F]{64}|nsec1[02-9ac-hj-np-z]{58})$"),
        extend("writeOnly" = true)
    )]
    private_key: String,
    /// Relays to publish to, e.g. wss://relay.damus.io.
    #[schemars(title = "Relays", length(min = 1, max = MAX_RELAYS), inner(regex(pattern = "^wss?://")))]
    relays: Vec<String>,
}

fn credentials(value: &Value, guard: TargetGuard) -> Result<Credentials, ProviderError> {
    let given: Given = serde_json::from_value(value.clone()).map_err(|_| {
        ProviderError::invalid(
            "nostr credentials need `privateKey` (64 hex characters or nsec1…) and `relays` (1 to 10 ws:// or wss:// URLs)",
        )
    })?;
    let keys = Keys::parse(&given.private_key).map_err(ProviderError::invalid)?;
    if given.relays.is_empty() || given.relays.len() > MAX_RELAYS {
        return Err(ProviderError::invalid(format!("give between 1 and {MAX_RELAYS} relays")));
    }
    let mut relays: Vec<url::Url> = Vec::new();
    for raw in &given.relays {
        let url = guard.check_relay_url(raw).map_err(ProviderError::invalid)?;
        if !relays.contains(&url) {
            relays.push(url);
        }
    }
    Ok(Credentials { keys, relays })
}

/// The event's timestamp, stable across retries (see the module comment):
/// the post's scheduled time, else the time its id was made, never later
/// than now (a note from the future is refused by many relays), plus one
/// second per thread item so clients order the thread as written.
pub fn created_at(request: &PublishRequest, now: DateTime<Utc>) -> i64 {
    let from_id = request.post_id.get_timestamp().map(|t| t.to_unix().0 as i64);
    let base = request.scheduled_for.map(|t| t.timestamp()).or(from_id).unwrap_or_else(|| now.timestamp());
    base.min(now.timestamp()) + request.item_index as i64
}

/// NIP-10 marked tags of a thread item, NIP-24 hashtags, NIP-92 media.
pub fn tags_for(request: &PublishRequest, pubkey: &str, relay_hint: &str) -> Vec<Vec<String>> {
    let tag = |parts: &[&str]| parts.iter().map(|p| p.to_string()).collect::<Vec<String>>();
    let mut tags = Vec::new();
    if let Some(root) = &request.root {
        tags.push(tag(&["e", &root.id, relay_hint, "root"]));
        // A direct reply to the root carries the root marker alone.
        if let Some(parent) = request.reply_to.as_ref().filter(|parent| parent.id != root.id) {
            tags.push(tag(&["e", &parent.id, relay_hint, "reply"]));
        }
        // Every item is ours: the author replied to is this key.
        tags.push(tag(&["p", pubkey]));
    }
    let mut hashtags: Vec<String> = Vec::new();
    for raw in &request.tags {
        let name = raw.trim().trim_start_matches('#').to_lowercase();
        if !name.is_empty() && !hashtags.contains(&name) {
            hashtags.push(name);
        }
    }
    tags.extend(hashtags.iter().map(|name| tag(&["t", name])));
    for url in media_urls(request) {
        let attachment = request.media.iter().find(|a| a.url == url);
        let mime = attachment.map(|a| a.mime.clone()).or_else(|| mime_from_extension(&url).map(str::to_string));
        // NIP-92 wants at least one field besides the URL.
        let Some(mime) = mime else { continue };
        let mut imeta = vec![format!("url {url}"), format!("m {mime}")];
        if let Some(alt) = attachment.and_then(|a| a.alt_text.as_deref()).filter(|alt| !alt.trim().is_empty()) {
            imeta.push(format!("alt {}", alt.trim()));
        }
        tags.push(std::iter::once("imeta".to_string()).chain(imeta).collect());
    }
    tags
}

fn media_urls(request: &PublishRequest) -> Vec<String> {
    let mut urls: Vec<String> = request.media.iter().map(|a| a.url.clone()).collect();
    for url in &request.media_urls {
        if !urls.contains(url) {
            urls.push(url.clone());
        }
    }
    urls
}

fn mime_from_extension(url: &str) -> Option<&'static str> {
    let path = url.split(['?', '#']).next()?.to_ascii_lowercase();
    let extension = path.rsplit_once('.')?.1;
    Some(match extension {
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "mp4" => "video/mp4",
        "mov" => "video/quicktime",
        "webm" => "video/webm",
        _ => return None,
    })
}

/// The text with each media URL on its own line (clients render them).
pub fn content_for(request: &PublishRequest) -> String {
    let mut content = request.content.trim_end().to_string();
    for url in media_urls(request) {
        if !content.contains(&url) {
            if !content.is_empty() {
                content.push('\n');
            }
            content.push_str(&url);
        }
    }
    content
}

/// One verdict from every relay's answer: published if any relay has the
/// event; otherwise failed for good if every relay refused it, or retried
/// if some relay could not be asked (it may accept later).
pub fn outcome(event: &Event, answers: &[(String, Answer)]) -> Result<PublishedItem, ProviderError> {
    if answers.iter().any(|(_, answer)| matches!(answer, Answer::Accepted(_))) {
        let id_bytes = hex::decode(&event.id).unwrap_or_default();
        let url = Some(format!("https://njump.me/{}", to_bech32("note", &id_bytes))).filter(|u| !u.ends_with('/'));
        return Ok(PublishedItem { id: event.id.clone(), url });
    }
    let said: Vec<String> = answers
        .iter()
        .map(|(relay, answer)| match answer {
            Answer::Accepted(m) | Answer::Refused(m) | Answer::Unavailable(m) => format!("{relay}: {m}"),
        })
        .collect();
    let all_refused = answers.iter().all(|(_, answer)| matches!(answer, Answer::Refused(_)));
    if all_refused {
        return Err(ProviderError::invalid(format!("every relay refused the note — {}", said.join("; "))));
    }
    let message = format!("no relay accepted the note yet — {}", said.join("; "));
    Err(ProviderError::new(ErrorClass::Retryable { after: None }, message))
}

#[async_trait]
impl Provider for Nostr {
    fn id(&self) -> &'static str {
        "nostr"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("nostr")
    }

    fn recovery(&self) -> Recovery {
        Recovery::ResendWithSameKey
    }

    fn credentials(&self) -> Declaration {
        Declaration::of::<Given>("Nostr")
    }

    fn wants_media_bytes(&self) -> bool {
        false
    }

    /// Connecting is deriving the public key (platforms.md): a relay that
    /// cannot be reached right now is logged, not refused — relays come and
    /// go, and publishing needs only one of them to answer `OK`.
    async fn connect(&self, value: &Value) -> Result<ConnectedAccount, ProviderError> {
        let creds = credentials(value, self.guard)?;
        let probe = |url| async move {
            match tokio::time::timeout(self.timeout, relay::probe(url, self.guard)).await {
                Ok(result) => result,
                Err(_) => Err("no WebSocket connection in time".to_string()),
            }
        };
        let probes = join_all(creds.relays.iter().map(probe)).await;
        for (url, probe) in creds.relays.iter().zip(&probes) {
            if let Err(error) = probe {
                tracing::warn!(relay = %url, error = %error, "nostr relay not reachable while connecting");
            }
        }
        let pubkey = creds.keys.public_hex();
        let npub = creds.keys.npub();
        let short = format!("{}…{}", &npub[..12.min(npub.len())], &npub[npub.len().saturating_sub(6)..]);
        Ok(ConnectedAccount {
            account_id: pubkey,
            username: npub,
            display_name: format!("Nostr {short}"),
            avatar_url: None,
            credentials: json!({
                "privateKey": creds.keys.secret_hex(),
                "relays": creds.relays.iter().map(url::Url::as_str).collect::<Vec<_>>(),
            }),
            token_expires_at: None,
            scopes: Vec::new(),
            profile_pending: false,
        })
    }

    async fn publish(&self, request: &PublishRequest) -> Result<crate::Step, ProviderError> {
        let creds = credentials(&request.credentials, self.guard)?;
        let pubkey = creds.keys.public_hex();
        let hint = creds.relays.first().map(url::Url::as_str).unwrap_or_default();
        let tags = tags_for(request, &pubkey, hint);
        let event = creds
            .keys
            .sign(created_at(request, Utc::now()), TEXT_NOTE, tags, content_for(request))
            .map_err(ProviderError::invalid)?;
        let sends = creds.relays.iter().map(|url| relay::publish(url, self.guard, &event, self.timeout));
        let answers = join_all(sends).await;
        let answers: Vec<(String, Answer)> =
            creds.relays.iter().map(|url| url.as_str().to_string()).zip(answers).collect();
        for (relay, answer) in &answers {
            tracing::debug!(relay, ?answer, event_id = %event.id, "relay answered");
        }
        outcome(&event, &answers).map(crate::Step::from)
    }
}

#[cfg(test)]
mod tests {
    use uuid::Uuid;

    use super::*;
    use crate::{Attachment, Provider};

    const KEY: &str = "7f7ff03d123792d6ac594bfa67bf6d0c0ab55b6b1fdb6249303fe861f1ccba9a";

    fn request(index: usize) -> PublishRequest {
        PublishRequest {
            target_id: Uuid::now_v7(),
            post_id: Uuid::now_v7(),
            integration_id: Uuid::now_v7(),
            integration_name: "n".into(),
            credentials: json!({"privateKey": KEY, "relays": ["wss://relay.example"]}),
            settings: json!({}),
            item_index: index,
            item_count: 3,
            content: "hello".into(),
            media_urls: Vec::new(),
            media: Vec::new(),
            tags: Vec::new(),
            scheduled_for: None,
            root: None,
            reply_to: None,
            idempotency_key: format!("k-{index}"),
            pending: None,
            interrupted: false,
        }
    }

    fn item(id: &str) -> Option<PublishedItem> {
        Some(PublishedItem { id: id.into(), url: None })
    }

    #[test]
    fn thread_items_carry_nip10_marked_tags() {
        let mut second = request(1);
        second.root = item("aa");
        second.reply_to = item("aa");
        let tags = tags_for(&second, "pk", "wss://r");
        assert_eq!(tags, vec![vec!["e", "aa", "wss://r", "root"], vec!["p", "pk"]]);
        let mut third = request(2);
        third.root = item("aa");
        third.reply_to = item("bb");
        third.tags = vec!["#Rust".into(), "rust".into(), "nostr".into()];
        let tags = tags_for(&third, "pk", "wss://r");
        assert_eq!(
            tags,
            vec![
                vec!["e", "aa", "wss://r", "root"],
                vec!["e", "bb", "wss://r", "reply"],
                vec!["p", "pk"],
                vec!["t", "rust"],
                vec!["t", "nostr"]
            ]
        );
        assert!(tags_for(&request(0), "pk", "wss://r").is_empty());
    }

    #[test]
    fn media_go_into_the_text_with_imeta_tags() {
        let mut req = request(0);
        req.media_urls = vec!["https://cdn.example/a.png".into(), "https://cdn.example/b".into()];
        req.media = vec![Attachment {
            url: "https://cdn.example/c".into(),
            mime: "image/webp".into(),
            alt_text: Some("a cat".into()),
            ..crate::Attachment::loaded(bytes::Bytes::new())
        }];
        assert_eq!(content_for(&req), "hello\nhttps://cdn.example/c\nhttps://cdn.example/a.png\nhttps://cdn.example/b");
        let tags = tags_for(&req, "pk", "wss://r");
        assert_eq!(
            tags,
            vec![
                vec!["imeta", "url https://cdn.example/c", "m image/webp", "alt a cat"],
                vec!["imeta", "url https://cdn.example/a.png", "m image/png"],
            ]
        );
    }

    #[test]
    fn created_at_is_stable_and_orders_the_thread() {
        let now = Utc::now();
        let mut req = request(0);
        let first = created_at(&req, now);
        assert!((now.timestamp() - first).abs() <= 1);
        assert_eq!(created_at(&req, now + chrono::Duration::hours(2)), first, "a retry later signs the same event");
        req.item_index = 2;
        assert_eq!(created_at(&req, now), first + 2);
        let scheduled = now - chrono::Duration::minutes(5);
        req.scheduled_for = Some(scheduled);
        assert_eq!(created_at(&req, now), scheduled.timestamp() + 2);
    }

    #[test]
    fn one_acceptance_is_enough_and_refusals_are_final_only_when_unanimous() {
        let keys = Keys::parse(KEY).unwrap();
        let event = keys.sign(1, 1, Vec::new(), "x".into()).unwrap();
        let ok = outcome(
            &event,
            &[("a".into(), Answer::Refused("blocked: no".into())), ("b".into(), Answer::Accepted(String::new()))],
        )
        .unwrap();
        assert_eq!(ok.id, event.id);
        assert!(ok.url.unwrap().starts_with("https://njump.me/note1"));
        let refused = outcome(
            &event,
            &[("a".into(), Answer::Refused("blocked: no".into())), ("b".into(), Answer::Refused("pow: 20".into()))],
        )
        .unwrap_err();
        assert_eq!(refused.class, ErrorClass::Invalid);
        assert!(refused.message.contains("a: blocked: no") && refused.message.contains("b: pow: 20"));
        let later = outcome(
            &event,
            &[("a".into(), Answer::Refused("blocked: no".into())), ("b".into(), Answer::Unavailable("down".into()))],
        )
        .unwrap_err();
        assert_eq!(later.class, ErrorClass::Retryable { after: None });
    }

    #[tokio::test]
    async fn connect_refuses_bad_keys_and_relays_without_echoing_the_key() {
        let nostr = Nostr::new(false, Duration::from_secs(1));
        let bad_key = nostr.connect(&json!({"privateKey": "nsec1qqqq", "relays": ["wss://r.example"]})).await;
        assert!(!bad_key.unwrap_err().message.contains("nsec1qqqq"));
        let private = nostr.connect(&json!({"privateKey": KEY, "relays": ["ws://127.0.0.1:9"]})).await;
        assert!(private.unwrap_err().message.contains("HERALD_ALLOW_PRIVATE_TARGETS"));
        let none = nostr.connect(&json!({"privateKey": KEY, "relays": []})).await;
        assert!(none.unwrap_err().message.contains("between 1 and 10"));
        let too_many: Vec<String> = (0..11).map(|i| format!("wss://r{i}.example")).collect();
        assert!(nostr.connect(&json!({"privateKey": KEY, "relays": too_many})).await.is_err());
    }

    #[tokio::test]
    async fn connect_derives_the_key_even_when_no_relay_answers_now() {
        let open = Nostr::new(true, Duration::from_secs(1));
        let down = open.connect(&json!({"privateKey": KEY, "relays": ["ws://127.0.0.1:9"]})).await.unwrap();
        assert_eq!(down.account_id, Keys::parse(KEY).unwrap().public_hex());
        assert_eq!(down.credentials["relays"], json!(["ws://127.0.0.1:9/"]));
    }
}
