//! One execute-webhook call: the per-post settings (name, avatar, thread,
//! flags, mentions) and the JSON body they make, and which thread a
//! follow-up item goes into.

use garde::Validate;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::PublishRequest;
use crate::declared;

/// `SUPPRESS_EMBEDS` (1 << 2): no link previews.
const FLAG_SUPPRESS_EMBEDS: u64 = 1 << 2;
/// `SUPPRESS_NOTIFICATIONS` (1 << 12): a silent message.
const FLAG_SUPPRESS_NOTIFICATIONS: u64 = 1 << 12;

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub(super) struct Settings {
    /// Name shown instead of the webhook's.
    #[garde(custom(webhook_username))]
    #[schemars(length(min = 1, max = 80))]
    username: Option<String>,
    /// Avatar shown instead of the webhook's.
    #[garde(custom(declared::http_url))]
    #[schemars(url)]
    avatar_url: Option<String>,
    /// Post every item into this existing thread.
    #[garde(custom(thread_id_rule))]
    #[schemars(regex(pattern = r"^[0-9]+$"))]
    thread_id: Option<String>,
    /// Forum/media channels: open a new post with this title; thread items go into it.
    #[garde(length(chars, min = 1, max = 100), custom(not_with_thread_id(&self.thread_id)))]
    thread_name: Option<String>,
    /// No link previews.
    #[garde(skip)]
    suppress_embeds: bool,
    /// Send silently (@silent).
    #[garde(skip)]
    suppress_notifications: bool,
    /// Let @everyone and @here in the text ping the channel.
    #[garde(skip)]
    mention_everyone: bool,
}

/// Discord refuses webhook names with "discord" or "clyde" in them.
fn webhook_username(name: &Option<String>, _: &()) -> garde::Result {
    let Some(name) = name.as_deref().map(str::trim) else { return Ok(()) };
    if !(1..=80).contains(&name.chars().count()) {
        return Err(garde::Error::new("must be 1 to 80 characters"));
    }
    let lower = name.to_lowercase();
    if lower.contains("discord") || lower.contains("clyde") {
        return Err(garde::Error::new("may not contain \"discord\" or \"clyde\""));
    }
    Ok(())
}

fn thread_id_rule(id: &Option<String>, _: &()) -> garde::Result {
    match id.as_deref().map(str::trim) {
        Some(id) if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) => {
            Err(garde::Error::new("must be a thread id (digits)"))
        }
        _ => Ok(()),
    }
}

fn not_with_thread_id(thread_id: &Option<String>) -> impl FnOnce(&Option<String>, &()) -> garde::Result + '_ {
    move |thread_name, _| match (thread_id, thread_name) {
        (Some(_), Some(_)) => Err(garde::Error::new("give either threadId or threadName, not both")),
        _ => Ok(()),
    }
}

/// The JSON body (or `payload_json`) of one execute-webhook call.
pub(super) fn payload(request: &PublishRequest, settings: &Settings) -> Value {
    // Users and roles written in the post are pinged; @everyone/@here only when asked.
    let parse =
        if settings.mention_everyone { json!(["users", "roles", "everyone"]) } else { json!(["users", "roles"]) };
    let mut body = json!({ "content": request.content, "allowed_mentions": { "parse": parse } });
    if let Some(name) = settings.username.as_deref().filter(|n| !n.trim().is_empty()) {
        body["username"] = json!(name.trim());
    }
    if let Some(avatar) = settings.avatar_url.as_deref().filter(|a| !a.trim().is_empty()) {
        body["avatar_url"] = json!(avatar.trim());
    }
    let flags = if settings.suppress_embeds { FLAG_SUPPRESS_EMBEDS } else { 0 }
        | if settings.suppress_notifications { FLAG_SUPPRESS_NOTIFICATIONS } else { 0 };
    if flags != 0 {
        body["flags"] = json!(flags);
    }
    if settings.thread_id.is_none()
        && request.item_index == 0
        && let Some(name) = settings.thread_name.as_deref().filter(|n| !n.trim().is_empty())
    {
        body["thread_name"] = json!(name.trim());
    }
    if !request.media.is_empty() {
        let attachments: Vec<Value> = request
            .media
            .iter()
            .enumerate()
            .map(|(index, file)| {
                let mut attachment = json!({ "id": index, "filename": file.file_name(index) });
                if let Some(alt) = file.alt_text.as_deref().filter(|a| !a.is_empty()) {
                    attachment["description"] = json!(alt);
                }
                attachment
            })
            .collect();
        body["attachments"] = Value::Array(attachments);
    }
    body
}

/// The thread an item goes to, if any.
pub(super) fn thread_of(request: &PublishRequest, settings: &Settings) -> Option<String> {
    if let Some(id) = settings.thread_id.as_deref().map(str::trim).filter(|id| !id.is_empty()) {
        return Some(id.to_string());
    }
    let opened_by_first = settings.thread_name.as_deref().is_some_and(|n| !n.trim().is_empty());
    if opened_by_first && request.item_index > 0 {
        return request.root.as_ref().map(|root| root.id.clone());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::discord::Discord;
    use crate::{Attachment, HttpClient, Provider, PublishedItem};

    fn request(index: usize, settings: Value) -> PublishRequest {
        PublishRequest {
            target_id: uuid::Uuid::nil(),
            post_id: uuid::Uuid::nil(),
            integration_id: uuid::Uuid::nil(),
            integration_name: "hook".into(),
            credentials: Value::Null,
            settings,
            item_index: index,
            item_count: 2,
            content: "hello @everyone".into(),
            media_urls: Vec::new(),
            media: Vec::new(),
            tags: Vec::new(),
            scheduled_for: None,
            root: (index > 0).then(|| PublishedItem { id: "111".into(), url: None }),
            reply_to: (index > 0).then(|| PublishedItem { id: "111".into(), url: None }),
            idempotency_key: "k".into(),
            pending: None,
            interrupted: false,
        }
    }

    #[test]
    fn payloads_follow_the_settings() {
        let plain = payload(&request(0, json!({})), &Settings::default());
        assert_eq!(plain, json!({"content": "hello @everyone", "allowed_mentions": {"parse": ["users", "roles"]}}));
        let settings = json!({"username": "Herald", "avatarUrl": "https://x.test/a.png", "suppressEmbeds": true,
            "suppressNotifications": true, "threadName": "Launch", "mentionEveryone": true});
        let mut first = request(0, settings.clone());
        first.media.push(Attachment {
            url: "u".into(),
            mime: "image/png".into(),
            alt_text: Some("a cat".into()),
            ..crate::Attachment::loaded(bytes::Bytes::from_static(b"png"))
        });
        let parsed: Settings = declared::read("Discord", &settings).unwrap();
        assert_eq!(
            payload(&first, &parsed),
            json!({"content": "hello @everyone", "allowed_mentions": {"parse": ["users", "roles", "everyone"]},
                "username": "Herald", "avatar_url": "https://x.test/a.png", "flags": 4100, "thread_name": "Launch",
                "attachments": [{"id": 0, "filename": "media-0.png", "description": "a cat"}]})
        );
        assert_eq!(thread_of(&first, &parsed), None);
        let second = request(1, settings);
        assert!(payload(&second, &parsed).get("thread_name").is_none());
        assert_eq!(thread_of(&second, &parsed).as_deref(), Some("111"), "follow-ups go into the new forum post");
        let fixed: Settings = declared::read("Discord", &json!({"threadId": "999"})).unwrap();
        assert_eq!(thread_of(&request(0, json!({})), &fixed).as_deref(), Some("999"));
        assert_eq!(thread_of(&request(1, json!({})), &Settings::default()), None);
    }

    #[test]
    fn settings_are_checked() {
        let discord = Discord::new(HttpClient::new(&crate::ProviderSettings::default()), false);
        assert!(
            discord
                .settings()
                .problems(&json!({"username": "Herald", "threadId": "123", "suppressEmbeds": true}))
                .is_empty()
        );
        let problems = discord
            .settings()
            .problems(&json!({"username": "Discord bot", "threadId": "x", "threadName": "", "colour": 1}));
        let fields: Vec<&str> = problems.iter().map(|(field, _)| field.as_str()).collect();
        assert_eq!(fields, ["colour", "threadId", "threadName", "threadName", "username"]);
    }
}
