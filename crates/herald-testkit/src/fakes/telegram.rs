//! A fake Telegram Bot API (<https://core.telegram.org/bots/api>).
//!
//! `{base}/bot<token>/<method>`; parameters in the query string, JSON,
//! form-urlencoded or `multipart/form-data` bodies (objects such as
//! `reply_parameters` as JSON strings in the last two). Answers use the Bot
//! API envelope: `{"ok":true,"result":…}` or
//! `{"ok":false,"error_code":…,"description":…,"parameters":{…}}`. A wrong
//! token gets `401 Unauthorized`, an unknown method `404 Not Found`.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use axum::routing::any;
use serde_json::{Value, json};

use super::server::{Journal, Recorded, Running, Scripted, serve};

pub const BOT_ID: i64 = 7_000_000_001;
pub const BOT_USERNAME: &str = "herald_test_bot";

/// A message the fake accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage {
    pub chat_id: i64,
    pub message_id: i64,
    /// `sendMessage`, `sendPhoto`, … (`sendMediaGroup` records one per file).
    pub method: String,
    /// The text, or the caption.
    pub text: Option<String>,
    pub reply_to: Option<i64>,
    pub media_group_id: Option<String>,
    /// For files: the multipart file name and its bytes.
    pub file: Option<(String, Bytes)>,
}

#[derive(Clone)]
pub struct TelegramFake {
    shared: Arc<Shared>,
    running: Arc<Running>,
}

struct Shared {
    token: String,
    journal: Journal,
    state: Mutex<ChatState>,
}

#[derive(Default)]
struct ChatState {
    chats: Vec<Value>,
    /// The bot's `ChatMember` by chat id; an administrator allowed to post unless set.
    membership: BTreeMap<i64, Value>,
    /// Methods that answer this whatever is asked (see [`TelegramFake::fail_method`]).
    failing: BTreeMap<String, Scripted>,
    sent: Vec<SentMessage>,
    next_id: i64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, ChatState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The Bot API's error answer.
pub fn error(code: u16, description: &str) -> Scripted {
    Scripted::json(code, json!({ "ok": false, "error_code": code, "description": description }))
}

/// `429 Too Many Requests: retry after N` with `parameters.retry_after`.
pub fn rate_limited(retry_after: u64) -> Scripted {
    let description = format!("Too Many Requests: retry after {retry_after}");
    Scripted::json(
        429,
        json!({ "ok": false, "error_code": 429, "description": description, "parameters": { "retry_after": retry_after } }),
    )
}

impl TelegramFake {
    /// Starts with one bot (`token`) and no chats.
    pub async fn start(token: &str) -> Self {
        let shared = Arc::new(Shared {
            token: token.to_string(),
            journal: Journal::default(),
            state: Mutex::new(ChatState { next_id: 100, ..ChatState::default() }),
        });
        let router = Router::new().route("/{bot}/{method}", any(handle)).with_state(Arc::clone(&shared));
        let running = Arc::new(serve(router).await);
        Self { shared, running }
    }

    /// What to set `HERALD_PROVIDER_TELEGRAM_API_BASE` to.
    pub fn api_base(&self) -> String {
        format!("http://{}", self.running.address)
    }

    /// A chat the bot can see, as `getChat` returns it, e.g.
    /// `{"id": -1001234567890, "type": "channel", "title": "News", "username": "herald_news"}`.
    pub fn add_chat(&self, chat: Value) {
        self.shared.lock().chats.push(chat);
    }

    /// The bot's membership of a chat, as `getChatMember` returns it, e.g.
    /// `{"status": "left"}` or `{"status": "administrator", "can_post_messages": false}`.
    pub fn set_membership(&self, chat_id: i64, member: Value) {
        self.shared.lock().membership.insert(chat_id, member);
    }

    /// Every later call to `method` gets this answer, e.g. `getChatMember`
    /// answering `400 Bad Request: member list is inaccessible`.
    pub fn fail_method(&self, method: &str, reply: Scripted) {
        self.shared.lock().failing.insert(method.to_string(), reply);
    }

    /// The next `send*` call gets this answer instead.
    pub fn push_reply(&self, reply: Scripted) {
        self.shared.journal.script(reply);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.journal.requests()
    }

    /// Requests to one Bot API method.
    pub fn calls(&self, method: &str) -> Vec<Recorded> {
        self.requests().into_iter().filter(|r| r.path.ends_with(&format!("/{method}"))).collect()
    }

    pub fn sent(&self) -> Vec<SentMessage> {
        self.shared.lock().sent.clone()
    }
}

/// Parameters from the query string and the body, whatever its encoding.
fn params(recorded: &Recorded) -> BTreeMap<String, Value> {
    let mut params: BTreeMap<String, Value> =
        recorded.query.iter().map(|(k, v)| (k.clone(), Value::String(v.clone()))).collect();
    if let Some(object) = recorded.json.as_object() {
        params.extend(object.iter().map(|(k, v)| (k.clone(), v.clone())));
    } else if recorded.content_type().starts_with("application/x-www-form-urlencoded") {
        for (k, v) in url::form_urlencoded::parse(&recorded.body) {
            params.insert(k.into_owned(), Value::String(v.into_owned()));
        }
    }
    for part in recorded.parts.iter().filter(|p| p.file_name.is_none()) {
        params.insert(part.name.clone(), Value::String(part.text()));
    }
    params
}

/// A JSON-serialized object (multipart/form) or the object itself (JSON).
fn object_param(params: &BTreeMap<String, Value>, name: &str) -> Option<Value> {
    match params.get(name)? {
        Value::String(s) => serde_json::from_str(s).ok(),
        other => Some(other.clone()),
    }
}

fn ok(result: Value) -> Scripted {
    Scripted::json(200, json!({ "ok": true, "result": result }))
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    Path((bot, method)): Path<(String, String)>,
    http_method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut recorded = Recorded::of(&http_method, &uri, &headers, body);
    let answer = answer(&shared, &bot, &method, &recorded);
    recorded.status = answer.status;
    shared.journal.record(recorded);
    answer.into_response()
}

fn answer(shared: &Shared, bot: &str, method: &str, recorded: &Recorded) -> Scripted {
    let Some(token) = bot.strip_prefix("bot") else { return error(404, "Not Found") };
    if token != shared.token {
        return error(401, "Unauthorized");
    }
    if let Some(failing) = shared.lock().failing.get(method).cloned() {
        return failing;
    }
    if method.starts_with("send")
        && let Some(scripted) = shared.journal.next_for(&recorded.method, &recorded.path)
    {
        return scripted;
    }
    let params = params(recorded);
    match method {
        "getMe" => ok(json!({
            "id": BOT_ID, "is_bot": true, "first_name": "Herald Test", "username": BOT_USERNAME,
            "can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false
        })),
        "getChat" => match find_chat(shared, &params) {
            Ok(chat) => ok(chat),
            Err(e) => e,
        },
        "getChatMember" => chat_member(shared, &params),
        "sendMessage" | "sendPhoto" | "sendVideo" | "sendAnimation" | "sendDocument" => {
            send_single(shared, method, &params, recorded)
        }
        "sendMediaGroup" => send_group(shared, &params, recorded),
        _ => error(404, "Not Found"),
    }
}

fn find_chat(shared: &Shared, params: &BTreeMap<String, Value>) -> Result<Value, Scripted> {
    let wanted = match params.get("chat_id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(error(400, "Bad Request: chat_id is empty")),
    };
    let state = shared.lock();
    state
        .chats
        .iter()
        .find(|chat| {
            chat["id"].as_i64().is_some_and(|id| wanted.parse::<i64>() == Ok(id))
                || chat["username"].as_str().is_some_and(|u| format!("@{u}").eq_ignore_ascii_case(&wanted))
        })
        .cloned()
        .ok_or_else(|| error(400, "Bad Request: chat not found"))
}

fn chat_member(shared: &Shared, params: &BTreeMap<String, Value>) -> Scripted {
    let chat = match find_chat(shared, params) {
        Ok(chat) => chat,
        Err(e) => return e,
    };
    let user_id = params.get("user_id").and_then(|v| v.as_str().map(str::to_string).or_else(|| Some(v.to_string())));
    if user_id.as_deref() != Some(&BOT_ID.to_string()) {
        return error(400, "Bad Request: user not found");
    }
    let chat_id = chat["id"].as_i64().unwrap_or_default();
    let mut member = shared.lock().membership.get(&chat_id).cloned().unwrap_or_else(|| {
        json!({ "status": "administrator", "can_be_edited": false, "can_manage_chat": true, "can_post_messages": true,
            "can_edit_messages": true, "can_delete_messages": true })
    });
    member["user"] = json!({ "id": BOT_ID, "is_bot": true, "first_name": "Herald Test", "username": BOT_USERNAME });
    ok(member)
}

fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

fn check_parse_mode(params: &BTreeMap<String, Value>) -> Result<(), Scripted> {
    match params.get("parse_mode").and_then(Value::as_str) {
        None | Some("HTML" | "MarkdownV2" | "Markdown") => Ok(()),
        Some(other) => Err(error(400, &format!("Bad Request: unsupported parse_mode \"{other}\""))),
    }
}

/// `reply_parameters.message_id`, which must exist in the chat unless
/// `allow_sending_without_reply` is set.
fn reply_to(shared: &Shared, chat_id: i64, params: &BTreeMap<String, Value>) -> Result<Option<i64>, Scripted> {
    let Some(reply) = object_param(params, "reply_parameters") else { return Ok(None) };
    let Some(id) = reply["message_id"].as_i64() else {
        return Err(error(400, "Bad Request: can't parse reply parameters JSON object"));
    };
    let exists = shared.lock().sent.iter().any(|m| m.chat_id == chat_id && m.message_id == id);
    if exists {
        Ok(Some(id))
    } else if reply["allow_sending_without_reply"] == json!(true) {
        Ok(None)
    } else {
        Err(error(400, "Bad Request: message to be replied not found"))
    }
}

fn chat_summary(chat: &Value) -> Value {
    let mut summary = json!({ "id": chat["id"], "type": chat["type"] });
    for key in ["title", "username", "first_name", "last_name"] {
        if !chat[key].is_null() {
            summary[key] = chat[key].clone();
        }
    }
    summary
}

fn send_single(shared: &Shared, method: &str, params: &BTreeMap<String, Value>, recorded: &Recorded) -> Scripted {
    let chat = match find_chat(shared, params) {
        Ok(chat) => chat,
        Err(e) => return e,
    };
    let chat_id = chat["id"].as_i64().unwrap_or_default();
    if let Err(e) = check_parse_mode(params) {
        return e;
    }
    let reply = match reply_to(shared, chat_id, params) {
        Ok(reply) => reply,
        Err(e) => return e,
    };
    let (text, file, field) = if method == "sendMessage" {
        let text = params.get("text").and_then(Value::as_str).unwrap_or_default().to_string();
        if text.trim().is_empty() {
            return error(400, "Bad Request: message text is empty");
        }
        if utf16_len(&text) > 4096 {
            return error(400, "Bad Request: message is too long");
        }
        (Some(text), None, None)
    } else {
        let field = method.trim_start_matches("send").to_lowercase();
        let Some(part) = recorded.part(&field).filter(|p| p.file_name.is_some()) else {
            return error(400, &format!("Bad Request: there is no {field} in the request"));
        };
        let caption = params.get("caption").and_then(Value::as_str).map(str::to_string);
        if caption.as_deref().is_some_and(|c| utf16_len(c) > 1024) {
            return error(400, "Bad Request: message caption is too long");
        }
        (caption, Some((part.file_name.clone().unwrap_or_default(), part.data.clone())), Some(field))
    };
    let message = {
        let mut state = shared.lock();
        state.next_id += 1;
        let sent = SentMessage {
            chat_id,
            message_id: state.next_id,
            method: method.to_string(),
            text: text.clone(),
            reply_to: reply,
            media_group_id: None,
            file: file.clone(),
        };
        state.sent.push(sent);
        state.next_id
    };
    let mut result =
        json!({ "message_id": message, "date": chrono::Utc::now().timestamp(), "chat": chat_summary(&chat) });
    match (&field, &text) {
        (None, Some(text)) => result["text"] = json!(text),
        (Some(_), Some(caption)) => result["caption"] = json!(caption),
        _ => {}
    }
    if let Some(field) = field {
        let size = file.as_ref().map_or(0, |(_, data)| data.len());
        let file =
            json!({ "file_id": format!("F{message}"), "file_unique_id": format!("U{message}"), "file_size": size });
        // A photo comes back as its sizes; other files as one object.
        result[field.as_str()] = if field == "photo" { json!([file]) } else { file };
    }
    if let Some(id) = reply {
        result["reply_to_message"] = json!({ "message_id": id, "chat": chat_summary(&chat) });
    }
    ok(result)
}

/// sendMediaGroup takes photos, videos, documents and audio only (no
/// animations), and "documents and audio files can be only grouped in an
/// album with messages of the same type".
fn check_album_kinds(media: &[Value]) -> Result<(), Scripted> {
    let kinds: Vec<&str> = media.iter().map(|item| item["type"].as_str().unwrap_or_default()).collect();
    if let Some(wrong) = kinds.iter().find(|kind| !matches!(**kind, "photo" | "video" | "audio" | "document")) {
        return Err(error(400, &format!("Bad Request: wrong type of the media group item \"{wrong}\"")));
    }
    for only_alone in ["document", "audio"] {
        if kinds.contains(&only_alone) && kinds.iter().any(|kind| *kind != only_alone) {
            return Err(error(400, &format!("Bad Request: {only_alone} can't be mixed with other media types")));
        }
    }
    Ok(())
}

fn send_group(shared: &Shared, params: &BTreeMap<String, Value>, recorded: &Recorded) -> Scripted {
    let chat = match find_chat(shared, params) {
        Ok(chat) => chat,
        Err(e) => return e,
    };
    let chat_id = chat["id"].as_i64().unwrap_or_default();
    let Some(media) = object_param(params, "media").and_then(|m| m.as_array().cloned()) else {
        return error(400, "Bad Request: can't parse media JSON object");
    };
    if !(2..=10).contains(&media.len()) {
        return error(400, "Bad Request: media group must include 2-10 items");
    }
    let reply = match reply_to(shared, chat_id, params) {
        Ok(reply) => reply,
        Err(e) => return e,
    };
    if let Err(e) = check_album_kinds(&media) {
        return e;
    }
    let mut files = Vec::new();
    for item in &media {
        let kind = item["type"].as_str().unwrap_or_default();
        let Some(name) = item["media"].as_str().and_then(|m| m.strip_prefix("attach://")) else {
            return error(400, "Bad Request: wrong file identifier/HTTP URL specified");
        };
        let Some(part) = recorded.part(name).filter(|p| p.file_name.is_some()) else {
            return error(400, "Bad Request: wrong file identifier/HTTP URL specified");
        };
        let caption = item["caption"].as_str().map(str::to_string);
        if caption.as_deref().is_some_and(|c| utf16_len(c) > 1024) {
            return error(400, "Bad Request: message caption is too long");
        }
        files.push((kind.to_string(), caption, part.file_name.clone().unwrap_or_default(), part.data.clone()));
    }
    let mut state = shared.lock();
    let group_id = format!("{}", 13_000_000 + state.next_id);
    let mut messages = Vec::new();
    for (kind, caption, file_name, data) in files {
        state.next_id += 1;
        let message_id = state.next_id;
        state.sent.push(SentMessage {
            chat_id,
            message_id,
            method: "sendMediaGroup".into(),
            text: caption.clone(),
            reply_to: reply,
            media_group_id: Some(group_id.clone()),
            file: Some((file_name, data)),
        });
        let mut message = json!({ "message_id": message_id, "date": chrono::Utc::now().timestamp(),
            "chat": chat_summary(&chat), "media_group_id": group_id });
        let file = json!({ "file_id": format!("F{message_id}"), "file_unique_id": format!("U{message_id}") });
        message[kind.as_str()] = if kind == "photo" { json!([file]) } else { file };
        if let Some(caption) = caption {
            message["caption"] = json!(caption);
        }
        messages.push(message);
    }
    ok(Value::Array(messages))
}
