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

use async_trait::async_trait;
use garde::Validate;
use herald_core::platform::PlatformRules;
use reqwest::multipart::{Form, Part};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::declared::{self, Declaration};
use crate::http::excerpt;
use crate::{
    Attachment, ConnectedAccount, ErrorClass, HttpClient, Provider, ProviderError, ProviderSettings, PublishRequest,
    PublishedItem, RateBudget,
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

/// The Bot API's envelope: `{ok:true, result}` or `{ok:false, error_code, description, parameters}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Answer {
    ok: bool,
    result: Value,
    error_code: Option<u16>,
    description: Option<String>,
    parameters: Option<ResponseParameters>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ResponseParameters {
    retry_after: Option<u64>,
    migrate_to_chat_id: Option<i64>,
}

/// Maps a failed answer to an error class (unit-tested below).
fn classify(status: u16, answer: &Answer) -> ProviderError {
    let code = answer.error_code.unwrap_or(status);
    let description = answer.description.clone().unwrap_or_else(|| format!("HTTP {status}"));
    let parameters = answer.parameters.as_ref();
    if let Some(new_id) = parameters.and_then(|p| p.migrate_to_chat_id) {
        return ProviderError::invalid(format!(
            "Telegram: the group was upgraded to a supergroup with chat id {new_id}; reconnect Telegram with chatId {new_id}"
        ));
    }
    let lower = description.to_lowercase();
    match code {
        429 => ProviderError::new(
            ErrorClass::Retryable { after: parameters.and_then(|p| p.retry_after).map(std::time::Duration::from_secs) },
            format!("Telegram: {description}"),
        ),
        401 => ProviderError::new(
            ErrorClass::Revoked,
            format!(
                "Telegram: {description} — the bot token is invalid or was revoked; get a new one from @BotFather and reconnect"
            ),
        ),
        // A bad token answers 401; 404 means the method is unknown, i.e. the
        // request did not reach the Bot API it was meant for.
        404 => ProviderError::invalid(format!(
            "Telegram: {description} — unknown Bot API method; check the API base URL (HERALD_PROVIDER_TELEGRAM_API_BASE)"
        )),
        403 => ProviderError::new(
            ErrorClass::Revoked,
            format!(
                "Telegram: {description} — add the bot back to the chat (as an admin allowed to post, for channels) and reconnect"
            ),
        ),
        400 if lower.contains("chat not found") => ProviderError::new(
            ErrorClass::Revoked,
            format!("Telegram: {description} — the chat is gone or the bot cannot see it; reconnect"),
        ),
        400..=499 => ProviderError::invalid(format!("Telegram: {description}")),
        500..=599 => ProviderError::new(ErrorClass::Retryable { after: None }, format!("Telegram: {description}")),
        _ => ProviderError::new(ErrorClass::Unknown, format!("Telegram: {description}")),
    }
}

/// How a request carries its parameters.
enum Params {
    Query(Vec<(&'static str, String)>),
    Json(Value),
    Multipart(Form),
}

/// A sent message, as much of it as Herald needs.
#[derive(Debug, Deserialize)]
struct Message {
    message_id: i64,
    chat: Chat,
}

#[derive(Debug, Deserialize)]
struct Chat {
    id: i64,
    #[serde(rename = "type")]
    kind: String,
    title: Option<String>,
    username: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
}

impl Chat {
    fn name(&self) -> String {
        let person = [self.first_name.as_deref(), self.last_name.as_deref()].into_iter().flatten();
        let person = person.collect::<Vec<_>>().join(" ");
        self.title.clone().filter(|t| !t.is_empty()).unwrap_or(person)
    }
}

/// Public link of a message: `t.me/<username>/<id>` for public chats,
/// `t.me/c/<id>/<id>` (members only) for private channels and supergroups,
/// none for private chats and basic groups, which have no message links.
fn message_url(message: &Message) -> Option<String> {
    let chat = &message.chat;
    if let Some(username) = chat.username.as_deref().filter(|u| !u.is_empty()) {
        return Some(format!("https://t.me/{username}/{}", message.message_id));
    }
    let internal = chat.id.to_string();
    let internal = internal.strip_prefix("-100")?;
    matches!(chat.kind.as_str(), "channel" | "supergroup")
        .then(|| format!("https://t.me/c/{internal}/{}", message.message_id))
}

impl Telegram {
    /// Calls one Bot API method and returns its `result`.
    async fn call(&self, token: &str, method: &str, params: Params) -> Result<Value, ProviderError> {
        let url = format!("{}/bot{token}/{method}", self.api);
        let request = match params {
            Params::Query(query) => {
                let mut url = url::Url::parse(&url).map_err(|_| ProviderError::invalid("bad Telegram API base URL"))?;
                url.query_pairs_mut().extend_pairs(query);
                self.client.inner().get(url)
            }
            Params::Json(body) => self.client.inner().post(url).json(&body),
            Params::Multipart(form) => self.client.inner().post(url).multipart(form),
        };
        let scrub = |mut error: ProviderError| {
            error.message = error.message.replace(token, "<bot token>");
            error
        };
        let response = self.client.send(request).await.map_err(scrub)?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let answer: Answer = serde_json::from_str(&text).unwrap_or_else(|_| Answer {
            description: Some(format!("unexpected answer (HTTP {status}): {}", excerpt(&text))),
            ..Answer::default()
        });
        if answer.ok && (200..300).contains(&status) {
            return Ok(answer.result);
        }
        Err(scrub(classify(status, &answer)))
    }

    async fn send_text(
        &self,
        creds: &Credentials,
        settings: &Settings,
        text: &str,
        reply_to: Option<i64>,
    ) -> Result<Message, ProviderError> {
        let mut body = json!({ "chat_id": chat_id_json(&creds.chat_id), "text": text });
        if let Some(topic) = settings.message_thread_id {
            body["message_thread_id"] = json!(topic);
        }
        if let Some(mode) = settings.parse_mode() {
            body["parse_mode"] = json!(mode);
        }
        if settings.disable_link_preview {
            body["link_preview_options"] = json!({ "is_disabled": true });
        }
        if settings.disable_notification {
            body["disable_notification"] = json!(true);
        }
        if let Some(id) = reply_to {
            body["reply_parameters"] = reply_parameters(id);
        }
        message(self.call(&creds.bot_token, "sendMessage", Params::Json(body)).await?)
    }

    /// One file, with the caption if any.
    async fn send_one(
        &self,
        creds: &Credentials,
        settings: &Settings,
        file: &Attachment,
        caption: Option<&str>,
        reply_to: Option<i64>,
    ) -> Result<Message, ProviderError> {
        let (method, field) = single_method(file);
        let mut form = common_form(creds, settings, caption, reply_to);
        form = form.part(field, file_part(file, 0)?);
        message(self.call(&creds.bot_token, method, Params::Multipart(form)).await?)
    }

    /// An album of 2–10 files, the caption on the first; answers the first message.
    async fn send_group(
        &self,
        creds: &Credentials,
        settings: &Settings,
        files: &[&Attachment],
        caption: Option<&str>,
        reply_to: Option<i64>,
    ) -> Result<Message, ProviderError> {
        let media = media_group_json(files, caption, settings.parse_mode());
        let mut form = common_form(creds, settings, None, reply_to).text("media", media.to_string());
        for (index, file) in files.iter().enumerate() {
            form = form.part(format!("file{index}"), file_part(file, index)?);
        }
        let result = self.call(&creds.bot_token, "sendMediaGroup", Params::Multipart(form)).await?;
        let first = result.as_array().and_then(|messages| messages.first()).cloned().unwrap_or(Value::Null);
        message(first)
    }

    /// Every file of an item, in [`batches`]; all reply to the same message,
    /// the caption goes on the first send. Answers the first message.
    async fn send_files(
        &self,
        creds: &Credentials,
        settings: &Settings,
        files: &[Attachment],
        caption: Option<&str>,
        reply_to: Option<i64>,
    ) -> Result<Message, ProviderError> {
        let mut first: Option<Message> = None;
        for batch in batches(files) {
            let caption = if first.is_none() { caption } else { None };
            let sent = match batch.as_slice() {
                [file] => self.send_one(creds, settings, file, caption, reply_to).await?,
                files => self.send_group(creds, settings, files, caption, reply_to).await?,
            };
            first.get_or_insert(sent);
        }
        first.ok_or_else(|| ProviderError::new(ErrorClass::Unknown, "Telegram: no file was sent"))
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

/// Whether a `ChatMember` may post in a chat of this type; the problem if it
/// positively may not. A status this code does not know passes.
fn may_post(chat_kind: &str, member: &Value) -> Result<(), &'static str> {
    let channel = chat_kind == "channel";
    match member["status"].as_str().unwrap_or_default() {
        "creator" => Ok(()),
        "administrator" if channel && member["can_post_messages"] == json!(false) => {
            Err("is an administrator of the channel but may not post messages: allow it to post")
        }
        "administrator" => Ok(()),
        "member" if !channel => Ok(()),
        "restricted" if member["can_send_messages"] != json!(false) && !channel => Ok(()),
        "member" | "restricted" if channel => Err("must be an administrator of the channel, allowed to post messages"),
        "restricted" => Err("is not allowed to send messages in this chat"),
        "left" | "kicked" => {
            Err("is not a member of this chat: add it (as an administrator allowed to post, for a channel)")
        }
        _ => Ok(()),
    }
}

fn message(result: Value) -> Result<Message, ProviderError> {
    serde_json::from_value(result)
        .map_err(|_| ProviderError::new(ErrorClass::Unknown, "Telegram answered without the sent message"))
}

/// Numeric ids go as JSON numbers, usernames as strings.
fn chat_id_json(chat_id: &str) -> Value {
    chat_id.parse::<i64>().map_or_else(|_| json!(chat_id), |id| json!(id))
}

/// Thread items answer the previous item; if it was deleted meanwhile, the
/// item is still posted rather than failing the rest of the thread.
fn reply_parameters(message_id: i64) -> Value {
    json!({ "message_id": message_id, "allow_sending_without_reply": true })
}

/// Which files may share a `sendMediaGroup` album: photos and videos
/// together, documents only with documents; GIFs with nothing (albums take
/// no animations).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AlbumKind {
    Visual,
    Animation,
    Document,
}

fn album_kind(file: &Attachment) -> AlbumKind {
    if file.mime == "image/gif" {
        AlbumKind::Animation
    } else if file.is_image() || file.is_video() {
        AlbumKind::Visual
    } else {
        AlbumKind::Document
    }
}

/// The sends of a multi-file item: one album per kind that may be grouped,
/// one message per GIF, in the order their first file comes.
fn batches(files: &[Attachment]) -> Vec<Vec<&Attachment>> {
    let mut batches: Vec<(AlbumKind, Vec<&Attachment>)> = Vec::new();
    for file in files {
        let kind = album_kind(file);
        match batches.iter_mut().find(|(k, _)| *k == kind && kind != AlbumKind::Animation) {
            Some((_, batch)) => batch.push(file),
            None => batches.push((kind, vec![file])),
        }
    }
    batches.into_iter().map(|(_, batch)| batch).collect()
}

/// Method and file field for a single file, by type.
fn single_method(file: &Attachment) -> (&'static str, &'static str) {
    if file.mime == "image/gif" {
        ("sendAnimation", "animation")
    } else if file.is_video() {
        ("sendVideo", "video")
    } else if file.is_image() {
        ("sendPhoto", "photo")
    } else {
        ("sendDocument", "document")
    }
}

/// The `media` array of `sendMediaGroup` (files of one [`AlbumKind`], see [`batches`]).
fn media_group_json(files: &[&Attachment], caption: Option<&str>, parse_mode: Option<&str>) -> Value {
    let items: Vec<Value> = files
        .iter()
        .enumerate()
        .map(|(index, file)| {
            let kind = match album_kind(file) {
                AlbumKind::Visual if file.is_video() => "video",
                AlbumKind::Visual => "photo",
                AlbumKind::Animation | AlbumKind::Document => "document",
            };
            let mut item = json!({ "type": kind, "media": format!("attach://file{index}") });
            if let (0, Some(caption)) = (index, caption) {
                item["caption"] = json!(caption);
                if let Some(mode) = parse_mode {
                    item["parse_mode"] = json!(mode);
                }
            }
            item
        })
        .collect();
    Value::Array(items)
}

/// Fields every multipart send shares (multipart values are strings; objects are JSON).
fn common_form(creds: &Credentials, settings: &Settings, caption: Option<&str>, reply_to: Option<i64>) -> Form {
    let mut form = Form::new().text("chat_id", creds.chat_id.clone());
    if let Some(topic) = settings.message_thread_id {
        form = form.text("message_thread_id", topic.to_string());
    }
    if let Some(caption) = caption {
        form = form.text("caption", caption.to_string());
        if let Some(mode) = settings.parse_mode() {
            form = form.text("parse_mode", mode.to_string());
        }
    }
    if settings.disable_notification {
        form = form.text("disable_notification", "true");
    }
    if let Some(id) = reply_to {
        form = form.text("reply_parameters", reply_parameters(id).to_string());
    }
    form
}

fn file_part(file: &Attachment, index: usize) -> Result<Part, ProviderError> {
    Part::stream(reqwest::Body::from(file.data.clone()))
        .file_name(file.file_name(index))
        .mime_str(&file.mime)
        .map_err(|_| ProviderError::invalid(format!("`{}` is not a media type Telegram can take", file.mime)))
}

fn fits_caption(text: &str) -> bool {
    text.encode_utf16().count() <= MAX_CAPTION
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

    async fn publish(&self, request: &PublishRequest) -> Result<PublishedItem, ProviderError> {
        let creds = credentials(&request.credentials)?;
        let settings: Settings = declared::read("Telegram", &request.settings).map_err(ProviderError::invalid)?;
        let reply_to = request.reply_to.as_ref().and_then(|item| item.id.parse::<i64>().ok());
        // Sent as written: leading spaces can matter to MarkdownV2 and code blocks.
        let text = request.content.as_str();
        let blank = text.trim().is_empty();
        let caption = (!blank && fits_caption(text)).then_some(text);
        let media = &request.media;
        let sent = match media.len() {
            0 => return self.send_text(&creds, &settings, text, reply_to).await.map(published),
            1..=10 => self.send_files(&creds, &settings, media, caption, reply_to).await?,
            n => return Err(ProviderError::invalid(format!("Telegram takes at most 10 files per post, not {n}"))),
        };
        if blank || caption.is_some() {
            return Ok(published(sent));
        }
        // Too long for a caption: the text follows as a reply to the media.
        self.send_text(&creds, &settings, text, Some(sent.message_id)).await.map(published)
    }
}

fn published(message: Message) -> PublishedItem {
    PublishedItem { id: message.message_id.to_string(), url: message_url(&message) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(body: Value) -> Answer {
        serde_json::from_value(body).unwrap()
    }

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
    fn errors_are_classified_as_the_bot_api_documents_them() {
        let limited = classify(
            429,
            &answer(
                json!({"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 7", "parameters": {"retry_after": 7}}),
            ),
        );
        assert_eq!(limited.class, ErrorClass::Retryable { after: Some(std::time::Duration::from_secs(7)) });
        let bad = classify(
            400,
            &answer(json!({"ok": false, "error_code": 400, "description": "Bad Request: message is too long"})),
        );
        assert_eq!(bad.class, ErrorClass::Invalid);
        assert_eq!(bad.message, "Telegram: Bad Request: message is too long");
        let unauthorized =
            classify(401, &answer(json!({"ok": false, "error_code": 401, "description": "Unauthorized"})));
        assert_eq!(unauthorized.class, ErrorClass::Revoked);
        let unknown_method =
            classify(404, &answer(json!({"ok": false, "error_code": 404, "description": "Not Found"})));
        assert_eq!(unknown_method.class, ErrorClass::Invalid);
        assert!(unknown_method.message.contains("unknown Bot API method"), "{}", unknown_method.message);
        let kicked = classify(
            403,
            &answer(
                json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was kicked from the channel chat"}),
            ),
        );
        assert_eq!(kicked.class, ErrorClass::Revoked);
        assert!(kicked.message.contains("bot was kicked"));
        let migrated = classify(
            400,
            &answer(
                json!({"ok": false, "error_code": 400, "description": "Bad Request: group chat was upgraded to a supergroup chat", "parameters": {"migrate_to_chat_id": -1009876}}),
            ),
        );
        assert_eq!(migrated.class, ErrorClass::Invalid);
        assert!(migrated.message.contains("chatId -1009876"));
        let gone = classify(
            400,
            &answer(json!({"ok": false, "error_code": 400, "description": "Bad Request: chat not found"})),
        );
        assert_eq!(gone.class, ErrorClass::Revoked);
        let down = classify(502, &Answer::default());
        assert_eq!(down.class, ErrorClass::Retryable { after: None });
    }

    #[test]
    fn message_links_exist_for_public_chats_and_members_of_private_channels() {
        let message = |chat: Value| serde_json::from_value::<Message>(json!({"message_id": 42, "chat": chat})).unwrap();
        let public = message(json!({"id": -1001, "type": "channel", "username": "herald_news", "title": "News"}));
        assert_eq!(message_url(&public).as_deref(), Some("https://t.me/herald_news/42"));
        let private = message(json!({"id": -1001234567890_i64, "type": "channel", "title": "Secret"}));
        assert_eq!(message_url(&private).as_deref(), Some("https://t.me/c/1234567890/42"));
        let dm = message(json!({"id": 777, "type": "private", "first_name": "Ada"}));
        assert_eq!(message_url(&dm), None);
        let group = message(json!({"id": -4242, "type": "group", "title": "Friends"}));
        assert_eq!(message_url(&group), None);
    }

    #[test]
    fn captions_count_utf16_units_and_albums_attach_their_files() {
        assert!(fits_caption(&"a".repeat(1024)));
        assert!(!fits_caption(&"a".repeat(1025)));
        // An emoji outside the BMP is two UTF-16 units.
        assert!(!fits_caption(&"😀".repeat(513)));
        let file = |mime: &str| Attachment {
            url: "https://example.com/f".into(),
            mime: mime.into(),
            alt_text: None,
            data: bytes::Bytes::from_static(b"x"),
        };
        let media = media_group_json(&[&file("image/png"), &file("video/mp4")], Some("hello"), Some("HTML"));
        assert_eq!(
            media,
            json!([
                {"type": "photo", "media": "attach://file0", "caption": "hello", "parse_mode": "HTML"},
                {"type": "video", "media": "attach://file1"}
            ])
        );
        assert_eq!(single_method(&file("image/gif")), ("sendAnimation", "animation"));
        let mixed =
            [file("image/gif"), file("image/png"), file("application/pdf"), file("video/mp4"), file("image/gif")];
        let kinds: Vec<Vec<&str>> =
            batches(&mixed).iter().map(|batch| batch.iter().map(|f| f.mime.as_str()).collect()).collect();
        assert_eq!(
            kinds,
            [vec!["image/gif"], vec!["image/png", "video/mp4"], vec!["application/pdf"], vec!["image/gif"]],
            "GIFs alone, photos with videos, documents apart, in order of first appearance"
        );
        assert_eq!(single_method(&file("video/mp4")), ("sendVideo", "video"));
        assert_eq!(single_method(&file("image/jpeg")), ("sendPhoto", "photo"));
    }

    #[test]
    fn only_members_allowed_to_post_pass() {
        assert!(may_post("channel", &json!({"status": "creator"})).is_ok());
        assert!(may_post("channel", &json!({"status": "administrator", "can_post_messages": true})).is_ok());
        assert!(may_post("channel", &json!({"status": "administrator", "can_post_messages": false})).is_err());
        assert!(may_post("channel", &json!({"status": "member"})).is_err());
        assert!(may_post("supergroup", &json!({"status": "member"})).is_ok());
        assert!(may_post("group", &json!({"status": "restricted", "can_send_messages": false})).is_err());
        assert!(may_post("group", &json!({"status": "restricted", "can_send_messages": true})).is_ok());
        assert!(may_post("supergroup", &json!({"status": "left"})).unwrap_err().contains("not a member"));
        assert!(may_post("channel", &json!({"status": "kicked"})).is_err());
        assert!(may_post("channel", &json!({"status": "some_future_status"})).is_ok(), "only a clear no refuses");
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
