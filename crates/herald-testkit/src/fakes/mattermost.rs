//! A fake Mattermost server, written from developers.mattermost.com and
//! api.mattermost.com: an incoming webhook (`POST /hooks/{id}` answers
//! `200 ok` as text; `400` with `web.incoming_webhook.text.app_error` for a
//! message without text and `web.incoming_webhook.invalid.app_error` for an
//! unknown hook) and the REST API v4 a personal access token uses
//! (`users/me`, channel by team and name, channel membership, file upload,
//! posts with `root_id`, a post with its reply count and reactions).
//! Errors are Mattermost's `{"id", "message", "detailed_error",
//! "request_id", "status_code"}`.

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

use super::server::{FakeServer, Recorded, Scripted};

pub const HOOK_ID: &str = "xr3j5x3p4pfk7qkt8wz9hf8nka";
pub const TOKEN: &str = "mattermost-pat-0123456789abcdef";
pub const TEAM: &str = "herald";
pub const CHANNEL: &str = "town-square";
pub const CHANNEL_ID: &str = "4xp9fdt77pncbef59f4k1qe83o";
const USER_ID: &str = "9k3kgzz1hbbgmbhkm9yq7ajzqe";
/// Mattermost's `PostMessageMaxRunesV2`.
const MAX_RUNES: usize = 16_383;

#[derive(Clone)]
pub struct FakeMattermost {
    server: FakeServer,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    revoked: bool,
    not_member: bool,
    hook_deleted: bool,
    next_id: u64,
    /// What the webhook posted, in order (the payloads as sent).
    hook_posts: Vec<Value>,
    /// Posts made through the API, in order.
    posts: Vec<Value>,
    files: Vec<Value>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn error(status: u16, id: &str, message: &str) -> Scripted {
    Scripted::json(
        status,
        json!({"id": id, "message": message, "detailed_error": "", "request_id": "fakerequestid", "status_code": status}),
    )
}

impl FakeMattermost {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let for_server = Arc::clone(&state);
        let server = FakeServer::start(Box::new(move |request| answer(&mut lock(&for_server), request))).await;
        Self { server, state }
    }

    /// `http://127.0.0.1:<port>`: the server, as its site URL.
    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn hook_url(&self) -> String {
        format!("{}/hooks/{HOOK_ID}", self.url())
    }

    pub fn channel_url(&self) -> String {
        format!("{}/{TEAM}/channels/{CHANNEL}", self.url())
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    pub fn script(&self, reply: Scripted) {
        self.server.script(reply);
    }

    pub fn hook_posts(&self) -> Vec<Value> {
        lock(&self.state).hook_posts.clone()
    }

    pub fn posts(&self) -> Vec<Value> {
        lock(&self.state).posts.clone()
    }

    pub fn files(&self) -> Vec<Value> {
        lock(&self.state).files.clone()
    }

    pub fn revoke_token(&self) {
        lock(&self.state).revoked = true;
    }

    pub fn leave_channel(&self) {
        lock(&self.state).not_member = true;
    }

    pub fn delete_hook(&self) {
        lock(&self.state).hook_deleted = true;
    }

    /// Someone replied to and reacted on a post.
    pub fn engage(&self, post_id: &str, replies: i64, reactions: usize) {
        let mut state = lock(&self.state);
        if let Some(post) = state.posts.iter_mut().find(|p| p["id"] == post_id) {
            post["reply_count"] = json!(replies);
            let list: Vec<Value> = (0..reactions)
                .map(|i| json!({"user_id": format!("u{i}"), "post_id": post_id, "emoji_name": "+1"}))
                .collect();
            post["metadata"] = json!({"reactions": list});
        }
    }
}

fn answer(state: &mut State, request: &Recorded) -> Scripted {
    let segments: Vec<&str> = request.path.split('/').filter(|s| !s.is_empty()).collect();
    if let ["hooks", id] = segments.as_slice() {
        return hook(state, id, request);
    }
    if segments.first() != Some(&"api") {
        return error(404, "api.context.404.app_error", "Sorry, we could not find the page.");
    }
    if state.revoked || request.bearer() != Some(TOKEN) {
        return error(401, "api.context.session_expired.app_error", "Invalid or expired session, please login again.");
    }
    match (request.method.as_str(), &segments[1..]) {
        ("GET", ["v4", "users", "me"]) => Scripted::json(
            200,
            json!({"id": USER_ID, "username": "herald-bot", "first_name": "Herald", "last_name": "", "nickname": ""}),
        ),
        ("GET", ["v4", "teams", "name", TEAM, "channels", "name", CHANNEL]) => Scripted::json(
            200,
            json!({"id": CHANNEL_ID, "team_id": "teamid", "display_name": "Town Square", "name": CHANNEL, "type": "O"}),
        ),
        ("GET", ["v4", "teams", "name", _, "channels", "name", _]) => {
            error(404, "app.channel.get_by_name.missing.app_error", "Channel does not exist.")
        }
        ("GET", ["v4", "channels", CHANNEL_ID, "members", "me"]) if !state.not_member => {
            Scripted::json(200, json!({"channel_id": CHANNEL_ID, "user_id": USER_ID, "roles": "channel_user"}))
        }
        ("GET", ["v4", "channels", _, "members", "me"]) => error(
            404,
            "app.channel.get_member.missing.app_error",
            "No channel member found for that user ID and channel ID.",
        ),
        ("POST", ["v4", "files"]) => upload(state, request),
        ("POST", ["v4", "posts"]) => create_post(state, request),
        ("GET", ["v4", "posts", id]) => match state.posts.iter().find(|p| p["id"] == *id) {
            Some(post) => Scripted::json(200, post.clone()),
            None => error(404, "app.post.get.app_error", "Unable to get the post."),
        },
        _ => error(404, "api.context.404.app_error", "Sorry, we could not find the page."),
    }
}

fn hook(state: &mut State, id: &str, request: &Recorded) -> Scripted {
    if id != HOOK_ID || state.hook_deleted {
        return error(400, "web.incoming_webhook.invalid.app_error", "Invalid webhook.");
    }
    if !request.json.is_object() {
        return error(400, "web.incoming_webhook.parse.app_error", "Unable to parse incoming data.");
    }
    let has_text = request.json["text"].as_str().is_some_and(|t| !t.is_empty());
    if !has_text && request.json.get("attachments").is_none() {
        return error(400, "web.incoming_webhook.text.app_error", "No text specified.");
    }
    state.hook_posts.push(request.json.clone());
    Scripted::text(200, "ok").with_header("content-type", "text/plain")
}

fn upload(state: &mut State, request: &Recorded) -> Scripted {
    let channel = request.field("channel_id").or_else(|| request.query.get("channel_id").cloned());
    if channel.as_deref() != Some(CHANNEL_ID) {
        return error(403, "api.context.permissions.app_error", "You do not have the appropriate permissions.");
    }
    let Some(file) = request.part("files").filter(|p| p.file_name.is_some()) else {
        return error(400, "api.file.upload_file.incorrect_number_of_files.app_error", "Unable to upload files.");
    };
    state.next_id += 1;
    let info = json!({
        "id": format!("file{:022}", state.next_id),
        "name": file.file_name,
        "mime_type": file.content_type,
        "size": file.data.len(),
    });
    state.files.push(info.clone());
    Scripted::json(201, json!({"file_infos": [info], "client_ids": []}))
}

fn create_post(state: &mut State, request: &Recorded) -> Scripted {
    let body = &request.json;
    if body["channel_id"] != CHANNEL_ID {
        return error(403, "api.context.permissions.app_error", "You do not have the appropriate permissions.");
    }
    if state.not_member {
        return error(403, "api.context.permissions.app_error", "You do not have the appropriate permissions.");
    }
    let message = body["message"].as_str().unwrap_or_default();
    let files: Vec<Value> = body["file_ids"].as_array().cloned().unwrap_or_default();
    if message.is_empty() && files.is_empty() {
        return error(
            400,
            "api.post.create_post.message_and_file_ids.app_error",
            "Message and file ids cannot both be empty.",
        );
    }
    if message.chars().count() > MAX_RUNES {
        return error(
            400,
            "model.post.is_valid.message_length.app_error",
            "Message property is longer than the maximum permitted length.",
        );
    }
    let known = |id: &Value| state.files.iter().any(|f| &f["id"] == id);
    if !files.iter().all(known) {
        return error(400, "api.post.create_post.file_ids.app_error", "Invalid file ids.");
    }
    let root = body["root_id"].as_str().unwrap_or_default();
    if !root.is_empty() && !state.posts.iter().any(|p| p["id"] == root && p["root_id"] == "") {
        return error(400, "api.post.create_post.root_id.app_error", "Invalid RootId parameter.");
    }
    state.next_id += 1;
    let post = json!({
        "id": format!("post{:022}", state.next_id),
        "create_at": 1_700_000_000_000_u64 + state.next_id,
        "user_id": USER_ID,
        "channel_id": CHANNEL_ID,
        "root_id": root,
        "message": message,
        "file_ids": files,
        "props": body["props"].clone(),
        "reply_count": 0,
        "metadata": {},
    });
    state.posts.push(post.clone());
    Scripted::json(201, post)
}
