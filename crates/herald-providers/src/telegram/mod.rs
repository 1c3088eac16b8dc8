//! `telegram`: a bot posts to a chat, group or channel through the Bot API
//! (<https://core.telegram.org/bots/api>).
//!
//! The bot token is part of every request *path* (`/bot<token>/<method>`), so
//! requests go through [`HttpClient::send`] (reqwest errors carry
//! the URL) and every message built from an answer has the token scrubbed.
//!
//! Connecting checks the bot (`getMe`) and the chat (`getChat`), and stores
//! the chat's numeric id. `getChatMember` is asked too, best-effort: connect
//! only fails when it positively says the bot may not post there.
//!
//! One item becomes: `sendMessage` for text; `sendPhoto` / `sendVideo` /
//! `sendAnimation` (GIF) / `sendDocument` with the text as caption for one
//! file; for 2–10 files, `sendMediaGroup` albums (photos with videos,
//! documents with documents) and a `sendAnimation` per GIF, which albums
//! cannot hold — sent in the order their first file comes, the caption on
//! the first.
//! A caption may hold 1024 UTF-16 units: longer text is sent after the media,
//! as a reply to it, and that text message is the item Herald records (so a
//! thread reads on from the text). Thread items reply to the previous item
//! with `reply_parameters`.

mod bot_api;
mod send;

use async_trait::async_trait;
use garde::Validate;
use herald_core::platform::PlatformRules;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use self::bot_api::{Chat, Message, Params, may_post, message_url};
use self::send::fits_caption;
use crate::declared::{self, Declaration};
use crate::{
    ConnectedAccount, ErrorClass, HttpClient, Provider, ProviderError, ProviderSettings, PublishRequest, PublishedItem,
    RateBudget,
};

const DEFAULT_API: &str = "https://api.telegram.org";
/// Telegram counts captions in UTF-16 code units, after entity parsing.
const MAX_CAPTION: usize = 1024;

pub struct Telegram {
    client: HttpClient,
    api: String,
}

impl Telegram {
    pub fn new(client: HttpClient, settings: &ProviderSettings) -> Self {
        Self { client, api: settings.api_base("telegram", DEFAULT_API) }
    }
}

/// Decrypted credentials. No `Debug`: it holds the bot token.
struct Credentials {
    bot_token: String,
    /// A numeric id (`-100…` for channels and supergroups) or `@username`.
    chat_id: String,
}

/// What connecting asks for (and what is stored, normalised).
#[derive(Deserialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Given {
    /// From @BotFather (/newbot), e.g. 123456789:AAE…
    #[schemars(title = "Bot token", regex(pattern = "^[0-9]+:[A-Za-z0-9_-]{20,}$"), extend("writeOnly" = true))]
    bot_token: String,
    /// Numeric chat id (e.g. -1001234567890) or @channelusername. Add the bot
    /// to the chat first; in a channel it must be an admin allowed to post.
    #[schemars(title = "Chat")]
    chat_id: ChatGiven,
}

#[derive(Deserialize, JsonSchema)]
#[serde(untagged)]
enum ChatGiven {
    Id(i64),
    Name(String),
}

fn credentials(value: &Value) -> Result<Credentials, ProviderError> {
    let given: Given = serde_json::from_value(value.clone()).map_err(|_| {
        ProviderError::invalid("Telegram credentials need `botToken` (from @BotFather) and `chatId` (a numeric chat id or @channelusername)")
    })?;
    let bot_token = given.bot_token.trim().to_string();
    if !is_bot_token(&bot_token) {
        return Err(ProviderError::invalid(
            "`botToken` must be the token @BotFather gave, like 123456789:AAE…  (digits, a colon, then letters, digits, - and _)",
        ));
    }
    let chat_id = match &given.chat_id {
        ChatGiven::Id(id) => id.to_string(),
        ChatGiven::Name(name) => normalize_chat(name).ok_or_else(|| {
            ProviderError::invalid(
                "`chatId` must be a numeric chat id (e.g. -1001234567890) or a public @channelusername",
            )
        })?,
    };
    Ok(Credentials { bot_token, chat_id })
}

/// The token goes into the URL path: only its documented alphabet may pass,
/// so nothing can add path segments or a query.
fn is_bot_token(token: &str) -> bool {
    let Some((bot, secret)) = token.split_once(':') else { return false };
    !bot.is_empty()
        && bot.bytes().all(|b| b.is_ascii_digit())
        && secret.len() >= 20
        && secret.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// `-100123`, `@name`, `name`, `t.me/name` and `https://t.me/name` all name a chat.
fn normalize_chat(raw: &str) -> Option<String> {
    let raw = raw.trim();
    let numeric = raw.strip_prefix('-').unwrap_or(raw);
    if !numeric.is_empty() && numeric.bytes().all(|b| b.is_ascii_digit()) {
        return Some(raw.to_string());
    }
    let name = raw.trim_start_matches("https://").trim_start_matches("http://").trim_start_matches("t.me/");
    let name = name.trim_start_matches('@').trim_end_matches('/');
    let valid = (4..=32).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    valid.then(|| format!("@{name}"))
}

/// Per-post settings (`overrides.<id>.settings`).
#[derive(Debug, Default, Deserialize, Serialize, JsonSchema, Validate)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
#[garde(allow_unvalidated)]
struct Settings {
    /// Send silently: members get no sound.
    disable_notification: bool,
    /// No preview of the first link in text posts.
    disable_link_preview: bool,
    /// How Telegram reads formatting in the text; with MarkdownV2, reserved
    /// characters must be escaped.
    parse_mode: ParseMode,
    /// Post into this forum topic of the supergroup.
    #[schemars(range(min = 1))]
    message_thread_id: Option<i64>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
enum ParseMode {
    #[default]
    #[serde(rename = "none")]
    Plain,
    #[serde(rename = "HTML")]
    Html,
    MarkdownV2,
}

impl Settings {
    /// `none` (the default) sends the text as written.
    fn parse_mode(&self) -> Option<&'static str> {
        match self.parse_mode {
            ParseMode::Plain => None,
            ParseMode::Html => Some("HTML"),
            ParseMode::MarkdownV2 => Some("MarkdownV2"),
        }
    }
}

impl Telegram {
    /// Fails only when `getChatMember` positively says the bot may not post.
    /// Any error from it (a channel hiding its member list, a proxy without
    /// the method) skips the check: the first delivery will tell.
    async fn check_membership(
        &self,
        token: &str,
        chat: &Chat,
        bot_id: &Value,
        bot_name: &str,
    ) -> Result<(), ProviderError> {
        let query = vec![("chat_id", chat.id.to_string()), ("user_id", bot_id.to_string())];
        match self.call(token, "getChatMember", Params::Query(query)).await {
            Ok(member) => may_post(&chat.kind, &member)
                .map_err(|problem| ProviderError::invalid(format!("@{bot_name} {problem}"))),
            Err(error) => {
                tracing::warn!(chat_id = chat.id, error = %error, "Telegram getChatMember failed; membership not checked");
                Ok(())
            }
        }
    }
}

#[async_trait]
impl Provider for Telegram {
    fn id(&self) -> &'static str {
        "telegram"
    }

    fn rules(&self) -> &'static PlatformRules {
        crate::rules_of("telegram")
    }

    /// Telegram lets a bot post about 20 messages a minute to one group.
    fn rate_budget(&self) -> Option<RateBudget> {
        Some(RateBudget { max: 20, window: std::time::Duration::from_secs(60) })
    }

    fn credentials(&self) -> Declaration {
        Declaration::of::<Given>("Telegram")
    }

    fn settings(&self) -> Declaration {
        Declaration::of::<Settings>("Telegram")
    }

    async fn connect(&self, value: &Value) -> Result<ConnectedAccount, ProviderError> {
        let creds = credentials(value)?;
        let bot = self.call(&creds.bot_token, "getMe", Params::Query(Vec::new())).await?;
        let bot_name = bot["username"].as_str().unwrap_or("the bot").to_string();
        let chat = self
            .call(&creds.bot_token, "getChat", Params::Query(vec![("chat_id", creds.chat_id.clone())]))
            .await
            .map_err(|error| {
                let message = format!(
                    "{} (is @{bot_name} a member of {}? In a channel it must be an admin)",
                    error.message, creds.chat_id
                );
                ProviderError::new(error.class, message)
            })?;
        let chat: Chat = serde_json::from_value(chat)
            .map_err(|_| ProviderError::new(ErrorClass::Unknown, "Telegram answered getChat without a chat"))?;
        // getChat answers for any public channel; only membership says the bot may post there.
        if chat.kind != "private" {
            self.check_membership(&creds.bot_token, &chat, &bot["id"], &bot_name).await?;
        }
        let name = chat.name();
        let username = chat.username.clone().map_or_else(|| name.clone(), |u| format!("@{u}"));
        Ok(ConnectedAccount {
            account_id: chat.id.to_string(),
            username,
            display_name: if name.is_empty() { chat.id.to_string() } else { name },
            // The chat photo is only reachable through a file URL that
            // contains the bot token: not something to store or show.
            avatar_url: None,
            // The numeric id survives a renamed @username.
            credentials: json!({ "botToken": creds.bot_token, "chatId": chat.id.to_string() }),
            token_expires_at: None,
            scopes: Vec::new(),
            profile_pending: false,
        })
    }

    async fn publish(&self, request: &PublishRequest) -> Result<crate::Step, ProviderError> {
        let creds = credentials(&request.credentials)?;
        let settings: Settings = declared::read("Telegram", &request.settings).map_err(ProviderError::invalid)?;
        let reply_to = request.reply_to.as_ref().and_then(|item| item.id.parse::<i64>().ok());
        // Sent as written: leading spaces can matter to MarkdownV2 and code blocks.
        let text = request.content.as_str();
        let blank = text.trim().is_empty();
        let caption = (!blank && fits_caption(text)).then_some(text);
        let media = &request.media;
        let sent = match media.len() {
            0 => return self.send_text(&creds, &settings, text, reply_to).await.map(|m| published(m).into()),
            1..=10 => self.send_files(&creds, &settings, media, caption, reply_to).await?,
            n => return Err(ProviderError::invalid(format!("Telegram takes at most 10 files per post, not {n}"))),
        };
        if blank || caption.is_some() {
            return Ok(published(sent).into());
        }
        // Too long for a caption: the text follows as a reply to the media.
        self.send_text(&creds, &settings, text, Some(sent.message_id)).await.map(|m| published(m).into())
    }
}

fn published(message: Message) -> PublishedItem {
    PublishedItem { id: message.message_id.to_string(), url: message_url(&message) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_chats_are_checked_before_they_reach_a_url() {
        assert!(is_bot_token("123456789:AAEhBP0av28Kc3wY0_xR-abcdefghijk"));
        assert!(!is_bot_token("123456789:short"));
        assert!(!is_bot_token("123456789:AAEhBP0av28Kc3wY0/../../getUpdates"));
        assert!(!is_bot_token("abc:AAEhBP0av28Kc3wY0_xR-abcdefghijk"));
        assert_eq!(normalize_chat("-1001234567890").as_deref(), Some("-1001234567890"));
        assert_eq!(normalize_chat("@herald_news").as_deref(), Some("@herald_news"));
        assert_eq!(normalize_chat("https://t.me/herald_news/").as_deref(), Some("@herald_news"));
        assert_eq!(normalize_chat("herald_news").as_deref(), Some("@herald_news"));
        assert_eq!(normalize_chat("a b"), None);
        assert_eq!(normalize_chat("-"), None);
        let error = credentials(&json!({"botToken": "nope", "chatId": 1})).err().unwrap();
        assert!(error.message.contains("BotFather"));
        let numeric = credentials(&json!({"botToken": "1:abcdefghijklmnopqrstuvwxyz", "chatId": -100})).ok().unwrap();
        assert_eq!(numeric.chat_id, "-100");
    }

    #[test]
    fn settings_are_checked() {
        let telegram = Telegram::new(HttpClient::new(&ProviderSettings::default()), &ProviderSettings::default());
        assert!(
            telegram
                .settings()
                .problems(&json!({"parseMode": "HTML", "disableNotification": true, "messageThreadId": 7}))
                .is_empty()
        );
        let problems =
            telegram.settings().problems(&json!({"parseMode": "Markdown", "disableLinkPreview": "yes", "x": 1}));
        assert_eq!(problems.len(), 3);
        assert_eq!(telegram.settings().problems(&json!({"messageThreadId": 0}))[0].1, "must be at least 1");
        let plain: Settings = declared::read("Telegram", &json!({"parseMode": "none"})).unwrap();
        assert_eq!(plain.parse_mode(), None);
        let schema = telegram.settings().schema();
        assert_eq!(schema["properties"]["parseMode"]["enum"], json!(["none", "HTML", "MarkdownV2"]));
        assert_eq!(schema["properties"]["parseMode"]["default"], "none");
    }
}
