//! A fake Facebook for the `facebook` provider, written from the Graph API
//! reference (developers.facebook.com/docs/graph-api, Pages API, Video API):
//!
//! - `GET /{v}/dialog/oauth`, `GET /{v}/oauth/access_token` (the code → a
//!   short-lived user token; `grant_type=fb_exchange_token` → a 60-day one),
//!   `GET /{v}/me/accounts` (Pages with their tokens);
//! - `POST /{v}/{page}/feed` (`message`, `link`, `attached_media[i]`),
//!   `GET /{v}/{page}/feed` (newest first), `POST /{v}/{page}/photos`
//!   (multipart `source`, `published=false`), the resumable
//!   `POST /{v}/{page}/videos` (`upload_phase` start → `upload_session_id`,
//!   `video_id`, offsets as strings; `transfer` with `start_offset` and
//!   `video_file_chunk`; `finish`), `POST`/`GET /{v}/{post}/comments`,
//!   `GET /{v}/{post}?fields=reactions…`.
//!
//! The token is the `access_token` parameter (query, form or multipart
//! field); errors are the Graph's `{"error": {…}}`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

use super::server::{FakeServer, Recorded, Scripted};

pub const APP_ID: &str = "facebook-test-app";
pub const APP_SECRET: &str = "facebook-test-secret";
/// The user's Pages: id, name.
pub const PAGES: [(&str, &str); 2] = [("1040001", "Ada's Kitchen"), ("1040002", "Ada's Garden")];
/// Bytes a video transfer takes at a time.
pub const CHUNK: u64 = 1024 * 1024;

#[derive(Clone)]
pub struct FacebookFake {
    server: FakeServer,
    state: Arc<Mutex<FakeState>>,
}

#[derive(Default)]
struct Upload {
    page: String,
    video: String,
    size: u64,
    received: Vec<u8>,
    finished: bool,
}

#[derive(Default)]
struct FakeState {
    codes: BTreeMap<String, String>,
    short_tokens: BTreeSet<String>,
    user_tokens: BTreeSet<String>,
    /// Page tokens and their Page.
    page_tokens: BTreeMap<String, String>,
    issued: u64,
    /// Feed posts, oldest first.
    posts: Vec<Value>,
    photos: BTreeMap<String, Value>,
    uploads: BTreeMap<String, Upload>,
    comments: Vec<Value>,
    /// Transfers still to refuse with a 503 (nothing kept).
    failing_transfers: u32,
    /// The next feed post goes out, but its answer is a 504.
    lose_next_feed_answer: bool,
    /// Each transfer is answered this late (after its bytes are kept).
    transfer_delay: Option<std::time::Duration>,
}

fn lock(state: &Mutex<FakeState>) -> MutexGuard<'_, FakeState> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FacebookFake {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(FakeState::default()));
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

    pub fn posts(&self) -> Vec<Value> {
        lock(&self.state).posts.clone()
    }

    pub fn comments(&self) -> Vec<Value> {
        lock(&self.state).comments.clone()
    }

    /// Videos finished: (video id, the bytes received).
    pub fn videos(&self) -> Vec<(String, Vec<u8>)> {
        lock(&self.state)
            .uploads
            .values()
            .filter(|u| u.finished)
            .map(|u| (u.video.clone(), u.received.clone()))
            .collect()
    }

    /// Upload sessions started.
    pub fn upload_sessions(&self) -> usize {
        lock(&self.state).uploads.len()
    }

    /// Each video transfer is answered `delay` late, its bytes kept.
    pub fn slow_transfers(&self, delay: std::time::Duration) {
        lock(&self.state).transfer_delay = Some(delay);
    }

    /// Transfers received so far (answered or not).
    pub fn transfers(&self) -> usize {
        self.server.requests().iter().filter(|r| r.parts.iter().any(|p| p.name == "video_file_chunk")).count()
    }

    /// The next feed post goes out, but its answer is a 504.
    pub fn lose_next_feed_answer(&self) {
        lock(&self.state).lose_next_feed_answer = true;
    }

    /// The next `count` transfers answer 503 and keep nothing.
    pub fn fail_transfers(&self, count: u32) {
        lock(&self.state).failing_transfers = count;
    }
}

fn graph_error(status: u16, code: u32, message: &str) -> Scripted {
    Scripted::json(
        status,
        json!({"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf"}}),
    )
}

/// Query, form and multipart text fields together, as the Graph reads them.
fn params(request: &Recorded) -> BTreeMap<String, String> {
    let mut all = request.query.clone();
    if request.content_type().starts_with("application/x-www-form-urlencoded") {
        all.extend(request.form());
    }
    for part in &request.parts {
        if part.file_name.is_none() {
            all.insert(part.name.clone(), part.text());
        }
    }
    all
}

fn answer(state: &mut FakeState, request: &Recorded) -> Scripted {
    let p = params(request);
    let get = |name: &str| p.get(name).map(String::as_str);
    let Some(rest) = request.path.strip_prefix("/v").and_then(|r| r.split_once('/')).map(|(_, rest)| rest.to_string())
    else {
        return graph_error(400, 100, "Unknown path components");
    };
    match (request.method.as_str(), rest.as_str()) {
        ("GET", "dialog/oauth") => {
            let scopes: Vec<&str> = get("scope").map(|s| s.split(',').collect()).unwrap_or_default();
            if get("client_id") != Some(APP_ID)
                || !["pages_show_list", "pages_manage_posts"].iter().all(|s| scopes.contains(s))
            {
                return Scripted::text(400, "Invalid request");
            }
            let redirect = get("redirect_uri").unwrap_or_default().to_string();
            state.issued += 1;
            let code = format!("fb-code-{}", state.issued);
            state.codes.insert(code.clone(), redirect.clone());
            Scripted::redirect_back(&redirect, &[("code", &code), ("state", get("state").unwrap_or_default())])
        }
        ("GET", "oauth/access_token") => {
            if get("client_id") != Some(APP_ID) || get("client_secret") != Some(APP_SECRET) {
                return graph_error(400, 1, "Error validating client secret.");
            }
            state.issued += 1;
            if get("grant_type") == Some("fb_exchange_token") {
                if !get("fb_exchange_token").is_some_and(|t| state.short_tokens.remove(t)) {
                    return graph_error(400, 190, "Invalid OAuth access token.");
                }
                let token = format!("EAAuser{}", state.issued);
                state.user_tokens.insert(token.clone());
                return Scripted::json(
                    200,
                    json!({"access_token": token, "token_type": "bearer", "expires_in": 5_183_944}),
                );
            }
            let redirect = get("code").and_then(|code| state.codes.remove(code));
            if redirect.is_none() || redirect.as_deref() != get("redirect_uri") {
                return graph_error(400, 100, "Invalid verification code format.");
            }
            let token = format!("EAAshort{}", state.issued);
            state.short_tokens.insert(token.clone());
            Scripted::json(200, json!({"access_token": token, "token_type": "bearer", "expires_in": 5000}))
        }
        ("GET", "me/accounts") => {
            if !get("access_token").is_some_and(|t| state.user_tokens.contains(t)) {
                return graph_error(400, 190, "Invalid OAuth access token.");
            }
            let mut data = Vec::new();
            for (id, name) in PAGES {
                state.issued += 1;
                let token = format!("EAApage{}", state.issued);
                state.page_tokens.insert(token.clone(), id.to_string());
                data.push(json!({"id": id, "name": name, "access_token": token, "tasks": ["CREATE_CONTENT", "MANAGE"], "picture": {"data": {"url": "https://scontent.example/page.jpg"}}}));
            }
            Scripted::json(200, json!({"data": data, "paging": {"cursors": {"before": "a", "after": "b"}}}))
        }
        (method, rest) => {
            let Some(page) = get("access_token").and_then(|t| state.page_tokens.get(t)).cloned() else {
                return graph_error(400, 190, "Error validating access token: The session has been invalidated.");
            };
            page_call(state, method, rest, &page, &p, request)
        }
    }
}

fn page_call(
    state: &mut FakeState,
    method: &str,
    rest: &str,
    page: &str,
    p: &BTreeMap<String, String>,
    request: &Recorded,
) -> Scripted {
    let get = |name: &str| p.get(name).map(String::as_str);
    let segments: Vec<&str> = rest.split('/').collect();
    match (method, segments.as_slice()) {
        (_, [target, _]) if target.starts_with("104000") && !target.contains('_') && *target != page => {
            graph_error(403, 200, "(#200) The user hasn't authorized the application to perform this action")
        }
        ("POST", [_, "feed"]) => {
            let message = get("message").unwrap_or_default();
            let mut attached = Vec::new();
            for index in 0.. {
                let Some(raw) = get(&format!("attached_media[{index}]")) else { break };
                let media: Value = serde_json::from_str(raw).unwrap_or_default();
                let Some(photo) = media["media_fbid"].as_str().filter(|id| state.photos.contains_key(*id)) else {
                    return graph_error(400, 100, "Invalid parameter: attached_media");
                };
                attached.push(photo.to_string());
            }
            if message.is_empty() && attached.is_empty() && get("link").is_none() {
                return graph_error(400, 100, "(#100) Missing message or attachment");
            }
            state.issued += 1;
            let id = format!("{page}_90000{}", state.issued);
            state.posts.push(json!({"id": id, "message": message, "link": get("link"), "attached_media": attached, "created_time": chrono::Utc::now().to_rfc3339()}));
            if std::mem::take(&mut state.lose_next_feed_answer) {
                return Scripted::text(504, "Gateway Timeout");
            }
            Scripted::json(200, json!({"id": id}))
        }
        ("GET", [_, "feed"]) => {
            let data: Vec<Value> = state
                .posts
                .iter()
                .rev()
                .filter(|post| post["id"].as_str().unwrap_or_default().starts_with(page))
                .map(|post| json!({"id": post["id"], "message": post["message"], "created_time": post["created_time"]}))
                .collect();
            Scripted::json(200, json!({"data": data}))
        }
        ("POST", [_, "photos"]) => {
            let Some(source) = request.parts.iter().find(|part| part.name == "source" && part.file_name.is_some())
            else {
                return graph_error(400, 324, "(#324) Requires upload file");
            };
            state.issued += 1;
            let id = format!("80000{}", state.issued);
            state.photos.insert(
                id.clone(),
                json!({"bytes": source.data.len(), "published": get("published") != Some("false")}),
            );
            Scripted::json(200, json!({"id": id}))
        }
        ("POST", [_, "videos"]) => video(state, page, p, request),
        ("POST", [post, "comments"]) => {
            if !state.posts.iter().any(|p| p["id"] == *post)
                && !state.uploads.values().any(|u| u.video == *post && u.finished)
            {
                return graph_error(400, 100, "Unsupported post request. Object does not exist");
            }
            state.issued += 1;
            let id = format!("{post}_c{}", state.issued);
            state.comments.push(json!({"id": id, "post": post, "message": get("message")}));
            Scripted::json(200, json!({"id": id}))
        }
        ("GET", [post, "comments"]) => {
            let data: Vec<Value> = state
                .comments
                .iter()
                .filter(|c| c["post"] == *post)
                .map(|c| json!({"id": c["id"], "message": c["message"]}))
                .collect();
            Scripted::json(200, json!({"data": data}))
        }
        ("GET", [post, "insights"]) if state.posts.iter().any(|p| p["id"] == *post) => {
            let values = [("post_media_view", 410), ("post_impressions_unique", 260), ("post_clicks", 18)];
            let wanted: Vec<&str> = get("metric").unwrap_or_default().split(',').collect();
            if let Some(unknown) = wanted.iter().find(|w| !values.iter().any(|(n, _)| n == *w)) {
                return graph_error(400, 100, &format!("(#100) The value must be a valid insights metric: {unknown}"));
            }
            let data: Vec<Value> = values.iter().filter(|(n, _)| wanted.contains(n)).map(|(n, v)| json!({"name": n, "period": "lifetime", "values": [{"value": v}], "id": format!("{post}/insights/{n}/lifetime")})).collect();
            Scripted::json(200, json!({"data": data}))
        }
        ("GET", [post]) if state.posts.iter().any(|p| p["id"] == *post) => Scripted::json(
            200,
            json!({"id": post, "reactions": {"data": [], "summary": {"total_count": 31}}, "comments": {"data": [], "summary": {"total_count": 6}}, "shares": {"count": 2}}),
        ),
        _ => graph_error(400, 100, "Unsupported request"),
    }
}

fn video(state: &mut FakeState, page: &str, p: &BTreeMap<String, String>, request: &Recorded) -> Scripted {
    let get = |name: &str| p.get(name).map(String::as_str);
    match get("upload_phase") {
        Some("start") => {
            let Some(size) = get("file_size").and_then(|s| s.parse::<u64>().ok()).filter(|s| *s > 0) else {
                return graph_error(400, 100, "(#100) file_size is required");
            };
            state.issued += 1;
            let session = format!("7000{}", state.issued);
            let video = format!("6000{}", state.issued);
            state.uploads.insert(
                session.clone(),
                Upload { page: page.to_string(), video: video.clone(), size, ..Upload::default() },
            );
            Scripted::json(
                200,
                json!({"upload_session_id": session, "video_id": video, "start_offset": "0", "end_offset": CHUNK.min(size).to_string()}),
            )
        }
        Some("transfer") => {
            if state.failing_transfers > 0 {
                state.failing_transfers -= 1;
                return Scripted::text(503, "Service Unavailable");
            }
            let Some(upload) =
                get("upload_session_id").and_then(|s| state.uploads.get_mut(s)).filter(|u| u.page == page)
            else {
                return graph_error(400, 100, "Invalid upload_session_id");
            };
            let start: u64 = get("start_offset").and_then(|s| s.parse().ok()).unwrap_or(u64::MAX);
            let Some(chunk) = request.parts.iter().find(|part| part.name == "video_file_chunk") else {
                return graph_error(400, 100, "(#100) video_file_chunk is required");
            };
            // The offset expected next: a repeated chunk is taken again in place.
            if start > upload.received.len() as u64 {
                return graph_error(400, 6001, &format!("Start offset {start} is beyond the bytes received"));
            }
            upload.received.truncate(start as usize);
            upload.received.extend_from_slice(&chunk.data);
            let next = upload.received.len() as u64;
            let answer = Scripted::json(
                200,
                json!({"start_offset": next.to_string(), "end_offset": (next + CHUNK).min(upload.size).to_string()}),
            );
            match state.transfer_delay {
                Some(delay) => answer.after(delay),
                None => answer,
            }
        }
        Some("finish") => {
            let Some(upload) =
                get("upload_session_id").and_then(|s| state.uploads.get_mut(s)).filter(|u| u.page == page)
            else {
                return graph_error(400, 100, "Invalid upload_session_id");
            };
            if upload.received.len() as u64 != upload.size {
                return graph_error(400, 6001, "The upload is not complete");
            }
            upload.finished = true;
            Scripted::json(200, json!({"success": true}))
        }
        _ => graph_error(400, 100, "(#100) upload_phase is required"),
    }
}
