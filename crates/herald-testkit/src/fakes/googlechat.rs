//! A fake Google Chat incoming webhook, written from developers.google.com
//! (Chat API `spaces.messages.create` as webhooks call it):
//! `POST /v1/spaces/{space}/messages?key=…&token=…`, with the optional
//! `messageId` (a client-assigned id `client-…`; a second message with the
//! same id is `409 ALREADY_EXISTS`), `messageReplyOption` and
//! `thread.threadKey`. Answers the Message resource; errors are Google's
//! `{"error": {"code", "message", "status"}}`: an invalid key is
//! `400 INVALID_ARGUMENT`, a wrong token `401 UNAUTHENTICATED`, an unknown
//! space `404 NOT_FOUND`, an empty message `400 INVALID_ARGUMENT`.

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

use super::server::{FakeServer, Recorded, Scripted};

pub const SPACE: &str = "AAAAherald1";
pub const KEY: &str = "AIzaSyFakeChatKey0123456789";
pub const TOKEN: &str = "fakeChatToken0123456789=";

#[derive(Clone)]
pub struct FakeGoogleChat {
    server: FakeServer,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    deleted: bool,
    /// The next message is posted but answered `504`, as when Chat's
    /// answer is lost on the way back.
    lose_next_answer: bool,
    next_id: u64,
    messages: Vec<Value>,
    /// Thread resource names by their key.
    threads: Vec<(String, String)>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub fn error(code: u16, status: &str, message: &str) -> Scripted {
    Scripted::json(code, json!({"error": {"code": code, "message": message, "status": status}}))
}

impl FakeGoogleChat {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let for_server = Arc::clone(&state);
        let server = FakeServer::start(Box::new(move |request| answer(&mut lock(&for_server), request))).await;
        Self { server, state }
    }

    pub fn webhook_url(&self) -> String {
        self.url_with(SPACE, KEY, TOKEN)
    }

    /// The hook's address with another space, key or token.
    pub fn url_with(&self, space: &str, key: &str, token: &str) -> String {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("key", key)
            .append_pair("token", token)
            .finish();
        format!("{}/v1/spaces/{space}/messages?{query}", self.server.url())
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    pub fn script(&self, reply: Scripted) {
        self.server.script(reply);
    }

    /// The messages in the space, in order.
    pub fn messages(&self) -> Vec<Value> {
        lock(&self.state).messages.clone()
    }

    /// The next message is posted, but its answer is a `504`.
    pub fn lose_next_answer(&self) {
        lock(&self.state).lose_next_answer = true;
    }

    /// The webhook is removed from the space.
    pub fn delete_hook(&self) {
        lock(&self.state).deleted = true;
    }
}

fn answer(state: &mut State, request: &Recorded) -> Scripted {
    let segments: Vec<&str> = request.path.split('/').filter(|s| !s.is_empty()).collect();
    let ["v1", "spaces", space, "messages"] = segments.as_slice() else {
        return error(404, "NOT_FOUND", "Requested entity was not found.");
    };
    if request.method != "POST" {
        return error(405, "METHOD_NOT_ALLOWED", "Method not allowed.");
    }
    if request.query.get("key").map(String::as_str) != Some(KEY) {
        return error(400, "INVALID_ARGUMENT", "API key not valid. Please pass a valid API key.");
    }
    if request.query.get("token").map(String::as_str) != Some(TOKEN) || state.deleted {
        return error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.");
    }
    if *space != SPACE {
        return error(404, "NOT_FOUND", "Requested entity was not found.");
    }
    let text = request.json["text"].as_str().unwrap_or_default();
    if text.trim().is_empty() && request.json.get("cardsV2").is_none() {
        return error(400, "INVALID_ARGUMENT", "Message cannot be empty. Discarding empty message.");
    }
    if text.chars().count() > 4096 {
        return error(400, "INVALID_ARGUMENT", "Message text is too long.");
    }
    let client_id = request.query.get("messageId").cloned();
    if let Some(id) = &client_id {
        let valid = id.starts_with("client-")
            && id.len() <= 63
            && id.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !valid {
            return error(400, "INVALID_ARGUMENT", "Invalid client-assigned message ID.");
        }
        if state.messages.iter().any(|m| m["clientAssignedMessageId"] == *id) {
            return error(409, "ALREADY_EXISTS", &format!("Message with client-assigned ID {id} already exists."));
        }
    }
    state.next_id += 1;
    let n = state.next_id;
    let key = request.json["thread"]["threadKey"].as_str().map(str::to_string);
    let replying = request.query.get("messageReplyOption").is_some_and(|o| o.starts_with("REPLY_MESSAGE"));
    let thread = match key.filter(|_| replying) {
        Some(key) => match state.threads.iter().find(|(k, _)| *k == key) {
            Some((_, name)) => name.clone(),
            None => {
                let name = format!("spaces/{SPACE}/threads/t{n}");
                state.threads.push((key, name.clone()));
                name
            }
        },
        None => format!("spaces/{SPACE}/threads/t{n}"),
    };
    let name = format!("spaces/{SPACE}/messages/{}", client_id.clone().unwrap_or_else(|| format!("m{n}.m{n}")));
    let message = json!({
        "name": name,
        "sender": {"name": "users/114022495153014004089", "displayName": "Herald", "type": "BOT"},
        "text": text,
        "thread": {"name": thread},
        "space": {"name": format!("spaces/{SPACE}"), "type": "ROOM"},
        "createTime": "2026-12-07T12:00:00.000000Z",
        "clientAssignedMessageId": client_id,
    });
    state.messages.push(message.clone());
    if std::mem::take(&mut state.lose_next_answer) {
        return error(504, "DEADLINE_EXCEEDED", "Deadline expired before operation could complete.");
    }
    Scripted::json(200, message)
}
