//! A fake Zulip server, written from zulip.com/api: a bot's email and API
//! key as HTTP Basic credentials; `GET /api/v1/users/me`,
//! `GET /api/v1/get_stream_id?stream=…`, `POST /api/v1/user_uploads`
//! (multipart; answers `uri` and `url`), `POST /api/v1/messages` (form:
//! `type=stream`, `to`, `topic`, `content`) and `GET /api/v1/messages/{id}`.
//! Answers carry `"result": "success"`, errors `{"result": "error", "msg",
//! "code"}`: 401 `INVALID_API_KEY`, 400 `BAD_REQUEST`, 429 `RATE_LIMIT_HIT`
//! with `retry-after`.

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

use super::server::{FakeServer, Recorded, Scripted};

pub const BOT_EMAIL: &str = "herald-bot@zulip.example";
pub const API_KEY: &str = "zulipBotApiKey0123456789abcdef";
pub const STREAM: &str = "announce";
pub const STREAM_ID: u64 = 17;

#[derive(Clone)]
pub struct FakeZulip {
    server: FakeServer,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    revoked: bool,
    muted: bool,
    next_id: u64,
    messages: Vec<Value>,
    uploads: Vec<Value>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn error(status: u16, code: &str, msg: &str) -> Scripted {
    Scripted::json(status, json!({"result": "error", "msg": msg, "code": code}))
}

fn success(mut body: Value) -> Scripted {
    body["result"] = json!("success");
    body["msg"] = json!("");
    Scripted::json(200, body)
}

/// `429` as Zulip answers it: the header and the body both say when.
pub fn rate_limited(seconds: f64) -> Scripted {
    Scripted::json(
        429,
        json!({"result": "error", "msg": "API usage exceeded rate limit", "code": "RATE_LIMIT_HIT", "retry-after": seconds}),
    )
    .with_header("retry-after", &seconds.ceil().to_string())
}

impl FakeZulip {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let for_server = Arc::clone(&state);
        let server = FakeServer::start(Box::new(move |request| answer(&mut lock(&for_server), request))).await;
        Self { server, state }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    pub fn script(&self, reply: Scripted) {
        self.server.script(reply);
    }

    /// The messages sent, as Zulip stores them.
    pub fn messages(&self) -> Vec<Value> {
        lock(&self.state).messages.clone()
    }

    pub fn uploads(&self) -> Vec<Value> {
        lock(&self.state).uploads.clone()
    }

    /// The bot's API key is regenerated: the old one is refused.
    pub fn revoke_key(&self) {
        lock(&self.state).revoked = true;
    }

    /// The channel becomes one the bot may not post to.
    pub fn forbid_posting(&self) {
        lock(&self.state).muted = true;
    }

    pub fn react(&self, id: u64, count: usize) {
        let mut state = lock(&self.state);
        if let Some(message) = state.messages.iter_mut().find(|m| m["id"] == id) {
            message["reactions"] =
                Value::Array((0..count).map(|i| json!({"emoji_name": "tada", "user_id": i})).collect());
        }
    }
}

fn answer(state: &mut State, request: &Recorded) -> Scripted {
    let authorised = request.basic_auth().is_some_and(|(email, key)| email == BOT_EMAIL && key == API_KEY);
    if state.revoked || !authorised {
        return error(401, "INVALID_API_KEY", "Invalid API key");
    }
    let segments: Vec<&str> = request.path.split('/').filter(|s| !s.is_empty()).collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["api", "v1", "users", "me"]) => success(json!({
            "user_id": 8, "email": BOT_EMAIL, "full_name": "Herald Bot", "is_bot": true,
            "avatar_url": "https://secure.gravatar.com/avatar/0?d=identicon",
        })),
        ("GET", ["api", "v1", "get_stream_id"]) => match request.query.get("stream").map(String::as_str) {
            Some(STREAM) => success(json!({"stream_id": STREAM_ID})),
            Some(other) => error(400, "BAD_REQUEST", &format!("Invalid channel name '{other}'")),
            None => error(400, "REQUEST_VARIABLE_MISSING", "Missing 'stream' argument"),
        },
        ("POST", ["api", "v1", "user_uploads"]) => {
            let Some(file) = request.parts.iter().find(|p| p.file_name.is_some()) else {
                return error(400, "BAD_REQUEST", "You must specify a file to upload");
            };
            state.next_id += 1;
            let path =
                format!("/user_uploads/2/ab/{:08}/{}", state.next_id, file.file_name.clone().unwrap_or_default());
            state.uploads.push(json!({"path": path, "size": file.data.len(), "type": file.content_type}));
            success(json!({"uri": path, "url": path, "filename": file.file_name}))
        }
        ("POST", ["api", "v1", "messages"]) => send(state, request),
        ("GET", ["api", "v1", "messages", id]) => {
            match state.messages.iter().find(|m| id.parse::<u64>().is_ok_and(|id| m["id"] == id)) {
                Some(message) => success(json!({"message": message, "raw_content": message["content"]})),
                None => error(400, "BAD_REQUEST", "Invalid message(s)"),
            }
        }
        _ => error(404, "BAD_REQUEST", "Endpoint does not exist."),
    }
}

fn send(state: &mut State, request: &Recorded) -> Scripted {
    let form = request.form();
    let kind = form.get("type").map(String::as_str);
    if !matches!(kind, Some("stream" | "channel")) {
        return error(400, "BAD_REQUEST", "Invalid message type");
    }
    let to = form.get("to").cloned().unwrap_or_default();
    if to != STREAM && to != STREAM_ID.to_string() {
        return error(400, "STREAM_DOES_NOT_EXIST", &format!("Channel '{to}' does not exist"));
    }
    if state.muted {
        return error(400, "BAD_REQUEST", &format!("Not authorized to send to channel '{STREAM}'"));
    }
    let content = form.get("content").cloned().unwrap_or_default();
    if content.trim().is_empty() {
        return error(400, "BAD_REQUEST", "Message must not be empty");
    }
    if content.chars().count() > 10_000 {
        return error(400, "BAD_REQUEST", "Message too long");
    }
    let topic = form.get("topic").cloned().unwrap_or_default();
    if topic.chars().count() > 60 {
        return error(400, "BAD_REQUEST", "Topic too long");
    }
    state.next_id += 1;
    let id = 1000 + state.next_id;
    state.messages.push(json!({
        "id": id, "type": "stream", "stream_id": STREAM_ID, "display_recipient": STREAM,
        "subject": topic, "content": content, "sender_email": BOT_EMAIL, "reactions": [],
    }));
    success(json!({"id": id}))
}
