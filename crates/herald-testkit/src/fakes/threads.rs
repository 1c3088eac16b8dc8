//! A fake Threads for the `threads` provider, written from the Threads API
//! reference (developers.facebook.com/docs/threads):
//!
//! - `GET /oauth/authorize` (comma-separated `scope`; approves at once),
//!   `POST /oauth/access_token` (form: `client_id`, `client_secret`, `code`,
//!   `grant_type=authorization_code`, `redirect_uri` → a 1-hour token and
//!   `user_id`, no `token_type`), `GET /access_token?grant_type=th_exchange_token`
//!   (→ a 60-day token), `GET /refresh_access_token?grant_type=th_refresh_token`;
//! - `GET /v1.0/me`, `POST /v1.0/{user}/threads` (a container: TEXT, IMAGE,
//!   VIDEO, CAROUSEL of `is_carousel_item` containers, `reply_to_id`),
//!   `GET /v1.0/{container}?fields=status,error_message` (IN_PROGRESS for as
//!   many polls as the test asks, then FINISHED or ERROR), `POST
//!   /v1.0/{user}/threads_publish?creation_id=` (only a FINISHED container,
//!   once), `GET /v1.0/{post}?fields=permalink`, `GET /v1.0/me/threads` and
//!   `/me/replies` (newest first), `GET /v1.0/{post}/insights`.
//!
//! Parameters are read from the query and the form body alike, as the
//! Graph API does; the token is the `access_token` parameter. Errors are
//! the Graph's `{"error": {"message", "type", "code", "error_subcode",
//! "fbtrace_id"}}`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

use super::server::{FakeServer, Recorded, Scripted};

pub const APP_ID: &str = "threads-test-app";
pub const APP_SECRET: &str = "threads-test-secret";
pub const USER_ID: &str = "17841400000000001";
pub const USERNAME: &str = "ada.threads";
/// A long-lived token's lifetime: 60 days, as Threads answers it.
pub const LONG_LIVED_SECONDS: i64 = 5_183_944;

#[derive(Clone)]
pub struct ThreadsFake {
    server: FakeServer,
    state: Arc<Mutex<FakeState>>,
}

#[derive(Debug, Clone)]
struct Container {
    params: BTreeMap<String, String>,
    /// Status answers still IN_PROGRESS.
    processing: u32,
    error: Option<String>,
    published: Option<String>,
}

#[derive(Default)]
struct FakeState {
    codes: BTreeMap<String, String>,
    short_tokens: BTreeSet<String>,
    tokens: BTreeSet<String>,
    issued: u64,
    containers: BTreeMap<String, Container>,
    /// Published posts, oldest first: id, text, reply_to_id, container.
    posts: Vec<Value>,
    /// Polls a new video container stays IN_PROGRESS.
    video_polls: u32,
    /// The next container's processing ends in ERROR with this message.
    fail_next: Option<String>,
    /// The next publish goes through but its answer is a 504.
    lose_next_publish_answer: bool,
    /// Publishing answers this late (after the post is out).
    publish_delay: Option<std::time::Duration>,
}

fn lock(state: &Mutex<FakeState>) -> MutexGuard<'_, FakeState> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ThreadsFake {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(FakeState { video_polls: 2, ..FakeState::default() }));
        let for_server = Arc::clone(&state);
        let server = FakeServer::start(Box::new(move |request| answer(&mut lock(&for_server), request))).await;
        Self { server, state }
    }

    pub fn base_url(&self) -> String {
        self.server.url()
    }

    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.server.requests_to(path)
    }

    pub fn script(&self, reply: Scripted) {
        self.server.script(reply);
    }

    /// The published posts, oldest first.
    pub fn posts(&self) -> Vec<Value> {
        lock(&self.state).posts.clone()
    }

    /// The containers created, by id.
    pub fn containers(&self) -> BTreeMap<String, BTreeMap<String, String>> {
        lock(&self.state).containers.iter().map(|(id, c)| (id.clone(), c.params.clone())).collect()
    }

    /// How many status polls a video container stays IN_PROGRESS.
    pub fn video_polls(&self, polls: u32) {
        lock(&self.state).video_polls = polls;
    }

    /// The next container fails processing with `message`.
    pub fn fail_next_container(&self, message: &str) {
        lock(&self.state).fail_next = Some(message.to_string());
    }

    /// The next `threads_publish` publishes, then answers 504.
    pub fn lose_next_publish_answer(&self) {
        lock(&self.state).lose_next_publish_answer = true;
    }

    /// Every publish answers `delay` late, the post already out.
    pub fn slow_publish(&self, delay: std::time::Duration) {
        lock(&self.state).publish_delay = Some(delay);
    }

    /// Every token stops working (Threads says: session expired).
    pub fn expire_tokens(&self) {
        lock(&self.state).tokens.clear();
    }

    /// The tokens in use are invalidated, but can still be refreshed.
    pub fn invalidate_tokens_keeping_refresh(&self) {
        let mut state = lock(&self.state);
        let old: Vec<String> = state.tokens.iter().cloned().collect();
        state.tokens.clear();
        for token in old {
            state.tokens.insert(format!("refreshable:{token}"));
        }
    }
}

fn graph_error(status: u16, code: u32, subcode: Option<u32>, message: &str) -> Scripted {
    let mut error = json!({"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf123"});
    if let Some(subcode) = subcode {
        error["error_subcode"] = json!(subcode);
    }
    Scripted::json(status, json!({ "error": error }))
}

fn expired() -> Scripted {
    graph_error(
        400,
        190,
        Some(463),
        "Error validating access token: Session has expired on Friday, 04-Dec-26 10:00:00 PST.",
    )
}

/// Query and form parameters together, as the Graph reads them.
fn params(request: &Recorded) -> BTreeMap<String, String> {
    let mut all = request.query.clone();
    if request.content_type().starts_with("application/x-www-form-urlencoded") {
        all.extend(request.form());
    }
    all
}

fn answer(state: &mut FakeState, request: &Recorded) -> Scripted {
    let p = params(request);
    let get = |name: &str| p.get(name).map(String::as_str);
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/oauth/authorize") => {
            let scopes: Vec<&str> = get("scope").map(|s| s.split(',').collect()).unwrap_or_default();
            let ok = get("client_id") == Some(APP_ID)
                && get("response_type") == Some("code")
                && ["threads_basic", "threads_content_publish"].iter().all(|s| scopes.contains(s));
            if !ok {
                return Scripted::text(400, "Invalid request");
            }
            let redirect = get("redirect_uri").unwrap_or_default().to_string();
            state.issued += 1;
            let code = format!("threads-code-{}", state.issued);
            state.codes.insert(code.clone(), redirect.clone());
            Scripted::redirect_back(&redirect, &[("code", &code), ("state", get("state").unwrap_or_default())])
        }
        ("POST", "/oauth/access_token") => {
            if get("client_id") != Some(APP_ID) || get("client_secret") != Some(APP_SECRET) {
                return graph_error(400, 101, None, "Error validating client secret.");
            }
            let redirect = get("code").and_then(|code| state.codes.remove(code));
            if get("grant_type") != Some("authorization_code")
                || redirect.is_none()
                || redirect.as_deref() != get("redirect_uri")
            {
                return graph_error(400, 100, Some(36007), "Invalid authorization code");
            }
            state.issued += 1;
            let token = format!("THQVJshort{}", state.issued);
            state.short_tokens.insert(token.clone());
            Scripted::json(200, json!({"access_token": token, "user_id": USER_ID.parse::<u64>().unwrap_or_default()}))
        }
        ("GET", "/access_token") => {
            let known = get("access_token").is_some_and(|t| state.short_tokens.remove(t));
            if get("grant_type") != Some("th_exchange_token") || get("client_secret") != Some(APP_SECRET) || !known {
                return graph_error(400, 190, None, "Invalid OAuth access token - Cannot parse access token");
            }
            long_lived(state)
        }
        ("GET", "/refresh_access_token") => {
            let token = get("access_token").unwrap_or_default().to_string();
            let known = state.tokens.remove(&token) || state.tokens.remove(&format!("refreshable:{token}"));
            if get("grant_type") != Some("th_refresh_token") || !known {
                return expired();
            }
            long_lived(state)
        }
        _ if !get("access_token").is_some_and(|t| state.tokens.contains(t)) => {
            if get("access_token").is_some_and(|t| state.tokens.contains(&format!("refreshable:{t}"))) {
                return expired();
            }
            graph_error(400, 190, None, "Invalid OAuth access token - Cannot parse access token")
        }
        ("GET", "/v1.0/me") => Scripted::json(
            200,
            json!({"id": USER_ID, "username": USERNAME, "name": "Ada Lovelace", "threads_profile_picture_url": "https://scontent.cdninstagram.com/ada.jpg"}),
        ),
        ("GET", "/v1.0/me/threads") => recent(state, false),
        ("GET", "/v1.0/me/replies") => recent(state, true),
        ("POST", path) if path == format!("/v1.0/{USER_ID}/threads") => create(state, &p),
        ("POST", path) if path == format!("/v1.0/{USER_ID}/threads_publish") => publish(state, get("creation_id")),
        ("GET", path) => {
            let rest = path.strip_prefix("/v1.0/").unwrap_or_default();
            if let Some(post) = rest.strip_suffix("/insights") {
                return insights(state, post, get("metric"));
            }
            if let Some(container) = state.containers.get_mut(rest) {
                let status = if container.published.is_some() {
                    "PUBLISHED"
                } else if container.processing > 0 {
                    container.processing -= 1;
                    "IN_PROGRESS"
                } else if container.error.is_some() {
                    "ERROR"
                } else {
                    "FINISHED"
                };
                return Scripted::json(200, json!({"id": rest, "status": status, "error_message": container.error}));
            }
            match state.posts.iter().find(|post| post["id"] == rest) {
                Some(post) => Scripted::json(200, json!({"id": rest, "permalink": post["permalink"]})),
                None => graph_error(400, 100, Some(33), "Unsupported get request. Object does not exist"),
            }
        }
        _ => graph_error(400, 100, None, "Unsupported request"),
    }
}

fn long_lived(state: &mut FakeState) -> Scripted {
    state.issued += 1;
    let token = format!("THQVJlong{}", state.issued);
    state.tokens.insert(token.clone());
    Scripted::json(200, json!({"access_token": token, "token_type": "bearer", "expires_in": LONG_LIVED_SECONDS}))
}

fn create(state: &mut FakeState, p: &BTreeMap<String, String>) -> Scripted {
    let get = |name: &str| p.get(name).map(String::as_str);
    let text = get("text").unwrap_or_default();
    if text.chars().count() > 500 {
        return graph_error(400, 100, Some(2_207_010), "The text is longer than 500 characters");
    }
    let carousel_item = get("is_carousel_item") == Some("true");
    let processing = match get("media_type") {
        Some("TEXT") if !text.is_empty() => 0,
        Some("IMAGE") if get("image_url").is_some_and(|u| u.starts_with("http")) => 0,
        Some("VIDEO") if get("video_url").is_some_and(|u| u.starts_with("http")) => state.video_polls,
        Some("CAROUSEL") => {
            let children: Vec<&str> =
                get("children").unwrap_or_default().split(',').filter(|c| !c.is_empty()).collect();
            let ready = children.iter().all(|child| {
                state.containers.get(*child).is_some_and(|c| {
                    c.processing == 0
                        && c.error.is_none()
                        && c.params.get("is_carousel_item").map(String::as_str) == Some("true")
                })
            });
            if !(2..=20).contains(&children.len()) || !ready {
                return graph_error(400, 100, Some(4_279_009), "The carousel items are not ready or not valid");
            }
            0
        }
        _ => return graph_error(400, 100, None, "Invalid parameter: media_type and its media"),
    };
    if carousel_item && get("reply_to_id").is_some() {
        return graph_error(400, 100, None, "A carousel item cannot be a reply");
    }
    if let Some(parent) = get("reply_to_id")
        && !state.posts.iter().any(|post| post["id"] == parent)
    {
        return graph_error(400, 100, Some(33), "The post replied to does not exist");
    }
    state.issued += 1;
    let id = format!("1790000000{}", state.issued);
    let error = state.fail_next.take();
    state.containers.insert(id.clone(), Container { params: p.clone(), processing, error, published: None });
    Scripted::json(200, json!({ "id": id }))
}

fn publish(state: &mut FakeState, creation_id: Option<&str>) -> Scripted {
    let Some(container) = creation_id.and_then(|id| state.containers.get_mut(id)) else {
        return graph_error(400, 100, Some(33), "The media container does not exist");
    };
    if container.published.is_some() {
        return graph_error(400, 100, Some(4_279_001), "The media container was already published");
    }
    if container.processing > 0 || container.error.is_some() {
        return graph_error(400, 24, Some(4_279_009), "The media is not ready to be published");
    }
    if container.params.get("is_carousel_item").map(String::as_str) == Some("true") {
        return graph_error(400, 100, None, "A carousel item cannot be published alone");
    }
    state.issued += 1;
    let id = format!("1800000000{}", state.issued);
    container.published = Some(id.clone());
    let params = container.params.clone();
    state.posts.push(json!({
        "id": id,
        "text": params.get("text"),
        "reply_to_id": params.get("reply_to_id"),
        "media_type": params.get("media_type"),
        "container": creation_id,
        "permalink": format!("https://www.threads.net/@{USERNAME}/post/C{id}"),
        "timestamp": chrono::Utc::now().to_rfc3339(),
    }));
    if std::mem::take(&mut state.lose_next_publish_answer) {
        return Scripted::text(504, "Gateway Timeout");
    }
    let answer = Scripted::json(200, json!({ "id": id }));
    match state.publish_delay {
        Some(delay) => answer.after(delay),
        None => answer,
    }
}

fn recent(state: &FakeState, replies: bool) -> Scripted {
    let data: Vec<Value> = state
        .posts
        .iter()
        .rev()
        .filter(|post| post["reply_to_id"].is_string() == replies)
        .map(|post| {
            let mut shown = json!({"id": post["id"], "permalink": post["permalink"], "text": post["text"], "timestamp": post["timestamp"], "is_reply": replies});
            if replies {
                shown["replied_to"] = json!({"id": post["reply_to_id"]});
            }
            shown
        })
        .collect();
    Scripted::json(200, json!({ "data": data, "paging": {} }))
}

fn insights(state: &FakeState, post: &str, metric: Option<&str>) -> Scripted {
    if !state.posts.iter().any(|p| p["id"] == post) {
        return graph_error(400, 100, Some(33), "Object does not exist");
    }
    let values = [("views", 1200), ("likes", 42), ("replies", 5), ("reposts", 3), ("quotes", 1), ("shares", 2)];
    let wanted: Vec<&str> = metric.unwrap_or_default().split(',').collect();
    let data: Vec<Value> = values
        .iter()
        .filter(|(name, _)| wanted.contains(name))
        .map(|(name, value)| json!({"name": name, "period": "lifetime", "values": [{"value": value}], "title": name, "id": format!("{post}/insights/{name}/lifetime")}))
        .collect();
    Scripted::json(200, json!({ "data": data }))
}
