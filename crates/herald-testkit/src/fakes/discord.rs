//! A fake Discord webhook
//! (<https://discord.com/developers/docs/resources/webhook>).
//!
//! `GET /api[/v10]/webhooks/{id}/{token}` returns the webhook object;
//! `POST` executes it: a JSON body, or `multipart/form-data` with
//! `payload_json` and `files[n]`; `?wait=true` answers the message object,
//! otherwise `204`; `?thread_id=` posts into a thread; `thread_name` opens a
//! forum post (forum channels only), whose thread the answered message's
//! `channel_id` names. The fake gives that thread an id of its own, unlike
//! its first message's, so nothing can lean on the two being equal.
//! Errors are Discord's `{code, message, errors?}`: 401 `Invalid Webhook
//! Token` (50027), 404 `Unknown Webhook` (10015), 400 `Invalid Form Body`
//! (50035), `Cannot send an empty message` (50006), 404 `Unknown Channel`
//! (10003, a `thread_id` that names no thread).

use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};

use super::server::{Journal, Recorded, Running, Scripted, serve};

pub const WEBHOOK_ID: &str = "1100000000000000001";
pub const CHANNEL_ID: &str = "1200000000000000002";
pub const GUILD_ID: &str = "1300000000000000003";

/// A message the fake accepted.
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage {
    pub id: String,
    /// The channel, or the thread it went into.
    pub channel_id: String,
    pub content: String,
    pub username: Option<String>,
    pub flags: u64,
    /// `(file name, content type, bytes, description)` of each file.
    pub files: Vec<(String, String, Bytes, Option<String>)>,
}

#[derive(Clone)]
pub struct DiscordFake {
    shared: Arc<Shared>,
    running: Arc<Running>,
}

struct Shared {
    token: String,
    journal: Journal,
    state: Mutex<HookState>,
}

#[derive(Default)]
struct HookState {
    forum: bool,
    threads: Vec<String>,
    sent: Vec<SentMessage>,
    next_id: u64,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, HookState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn error(status: u16, code: u64, message: &str) -> Scripted {
    Scripted::json(status, json!({ "message": message, "code": code }))
}

/// Discord's 429: JSON `retry_after` in (fractional) seconds plus headers.
pub fn rate_limited(retry_after: f64) -> Scripted {
    let seconds = retry_after.ceil().to_string();
    Scripted::json(
        429,
        json!({ "message": "You are being rate limited.", "retry_after": retry_after, "global": false }),
    )
    .with_header("retry-after", &seconds)
    .with_header("x-ratelimit-scope", "user")
}

/// `404 Unknown Webhook`, as a deleted webhook answers.
pub fn unknown_webhook() -> Scripted {
    error(404, 10015, "Unknown Webhook")
}

impl DiscordFake {
    /// One webhook whose token is `token`, in a text channel of a guild.
    pub async fn start(token: &str) -> Self {
        let shared = Arc::new(Shared {
            token: token.to_string(),
            journal: Journal::default(),
            state: Mutex::new(HookState { next_id: 1_400_000_000_000_000_000, ..HookState::default() }),
        });
        let router = Router::new()
            .route("/api/webhooks/{id}/{token}", get(handle).post(handle))
            .route("/api/{version}/webhooks/{id}/{token}", get(handle_versioned).post(handle_versioned))
            .with_state(Arc::clone(&shared));
        let running = Arc::new(serve(router).await);
        Self { shared, running }
    }

    pub fn webhook_url(&self) -> String {
        format!("http://{}/api/webhooks/{WEBHOOK_ID}/{}", self.running.address, self.shared.token)
    }

    /// A URL with the right id and a wrong token.
    pub fn url_with_token(&self, token: &str) -> String {
        format!("http://{}/api/webhooks/{WEBHOOK_ID}/{token}", self.running.address)
    }

    /// Makes the webhook's channel a forum (where `thread_name` works).
    pub fn make_forum(&self) {
        self.shared.lock().forum = true;
    }

    pub fn add_thread(&self, id: &str) {
        self.shared.lock().threads.push(id.to_string());
    }

    /// The next execute call gets this answer instead.
    pub fn push_reply(&self, reply: Scripted) {
        self.shared.journal.script(reply);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.journal.requests()
    }

    pub fn sent(&self) -> Vec<SentMessage> {
        self.shared.lock().sent.clone()
    }
}

async fn handle_versioned(
    State(shared): State<Arc<Shared>>,
    Path((_version, id, token)): Path<(String, String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(&shared, &id, &token, &method, &uri, &headers, body)
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    Path((id, token)): Path<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    respond(&shared, &id, &token, &method, &uri, &headers, body)
}

fn respond(
    shared: &Shared,
    id: &str,
    token: &str,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Response {
    let mut recorded = Recorded::of(method, uri, headers, body);
    let answer = answer(shared, id, token, method, &recorded);
    recorded.status = answer.as_ref().map_or(204, |a| a.status);
    shared.journal.record(recorded);
    answer.map_or_else(|| axum::http::StatusCode::NO_CONTENT.into_response(), Scripted::into_response)
}

/// `None` answers 204 (executed without `wait`).
fn answer(shared: &Shared, id: &str, token: &str, method: &Method, recorded: &Recorded) -> Option<Scripted> {
    if id != WEBHOOK_ID {
        return Some(unknown_webhook());
    }
    if token != shared.token {
        return Some(error(401, 50027, "Invalid Webhook Token"));
    }
    if method == Method::GET {
        return Some(Scripted::json(
            200,
            json!({ "application_id": null, "avatar": null, "channel_id": CHANNEL_ID, "guild_id": GUILD_ID,
                "id": WEBHOOK_ID, "name": "Herald Hook", "type": 1, "token": shared.token }),
        ));
    }
    if let Some(scripted) = shared.journal.next_for(&recorded.method, &recorded.path) {
        return Some(scripted);
    }
    let message = match execute(shared, recorded) {
        Ok(message) => message,
        Err(e) => return Some(e),
    };
    (recorded.query.get("wait").map(String::as_str) == Some("true")).then(|| Scripted::json(200, &message))
}

fn execute(shared: &Shared, recorded: &Recorded) -> Result<Value, Scripted> {
    let invalid_json = || error(400, 50109, "The request body contains invalid JSON.");
    let payload = if recorded.content_type().starts_with("multipart/form-data") {
        let raw = recorded.field("payload_json").ok_or_else(invalid_json)?;
        serde_json::from_str::<Value>(&raw).map_err(|_| invalid_json())?
    } else if recorded.content_type().starts_with("application/json") {
        recorded.json.clone()
    } else {
        return Err(invalid_json());
    };
    if !payload.is_object() {
        return Err(invalid_json());
    }
    let content = payload["content"].as_str().unwrap_or_default().to_string();
    if content.chars().count() > 2000 {
        return Err(Scripted::json(
            400,
            json!({ "code": 50035, "message": "Invalid Form Body", "errors": { "content": { "_errors": [
                { "code": "BASE_TYPE_MAX_LENGTH", "message": "Must be 2000 or fewer in length." } ] } } }),
        ));
    }
    let descriptions: Vec<(u64, Option<String>)> = payload["attachments"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| (a["id"].as_u64().unwrap_or(u64::MAX), a["description"].as_str().map(str::to_string)))
        .collect();
    let mut files = Vec::new();
    for part in recorded.parts.iter().filter(|p| p.name.starts_with("files[")) {
        let index: u64 = part.name.trim_start_matches("files[").trim_end_matches(']').parse().unwrap_or(u64::MAX);
        let description = descriptions.iter().find(|(id, _)| *id == index).and_then(|(_, d)| d.clone());
        files.push((
            part.file_name.clone().unwrap_or_default(),
            part.content_type.clone().unwrap_or_default(),
            part.data.clone(),
            description,
        ));
    }
    if content.trim().is_empty() && files.is_empty() {
        return Err(error(400, 50006, "Cannot send an empty message"));
    }
    let mut state = shared.lock();
    let channel_id = match (recorded.query.get("thread_id"), payload["thread_name"].as_str()) {
        (Some(thread), _) if state.threads.contains(thread) => thread.clone(),
        (Some(_), _) => return Err(error(404, 10003, "Unknown Channel")),
        (None, Some(_)) if !state.forum => {
            return Err(error(400, 220003, "Webhooks can only create threads in forum channels"));
        }
        (None, Some(_)) => {
            state.next_id += 1;
            let thread = state.next_id.to_string();
            state.threads.push(thread.clone());
            thread
        }
        (None, None) => CHANNEL_ID.to_string(),
    };
    state.next_id += 1;
    let id = state.next_id.to_string();
    let username = payload["username"].as_str().map(str::to_string);
    let flags = payload["flags"].as_u64().unwrap_or(0);
    let attachments: Vec<Value> = files
        .iter()
        .enumerate()
        .map(|(n, (name, mime, data, description))| {
            json!({ "id": format!("15{n:017}"), "filename": name, "content_type": mime, "size": data.len(),
                "description": description, "url": format!("https://cdn.discordapp.com/attachments/{channel_id}/{n}/{name}") })
        })
        .collect();
    state.sent.push(SentMessage {
        id: id.clone(),
        channel_id: channel_id.clone(),
        content: content.clone(),
        username: username.clone(),
        flags,
        files,
    });
    Ok(json!({
        "id": id, "type": 0, "content": content, "channel_id": channel_id,
        "author": { "bot": true, "id": WEBHOOK_ID, "username": username.unwrap_or_else(|| "Herald Hook".into()), "discriminator": "0000" },
        "attachments": attachments, "embeds": [], "mentions": [], "mention_roles": [], "pinned": false,
        "mention_everyone": false, "tts": false, "timestamp": chrono::Utc::now().to_rfc3339(), "flags": flags,
        "webhook_id": WEBHOOK_ID
    }))
}
