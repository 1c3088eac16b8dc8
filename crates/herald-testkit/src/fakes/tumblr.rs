//! A fake Tumblr for the `tumblr` provider, written from Tumblr's API docs
//! (github.com/tumblr/docs: api.md, npf-spec.md):
//!
//! - `GET /oauth2/authorize` (approves at once), `POST /v2/oauth2/token`
//!   with the client in the form body; access tokens of 2520 s; refreshing
//!   spends the refresh token and gives a new one;
//! - `GET /v2/user/info` (the account's blogs), `POST /v2/blog/{blog}/posts`
//!   (NPF as JSON, or multipart with a `json` part and one part per media
//!   `identifier`), `GET /v2/blog/{blog}/posts?id=` — answers in Tumblr's
//!   `{meta, response, errors}` envelope.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

use super::server::{FakeServer, Recorded, Scripted};

pub const CLIENT_ID: &str = "tumblr-test-client";
pub const CLIENT_SECRET: &str = "tumblr-test-secret";
/// The account's blogs: name, title, uuid.
pub const BLOGS: [(&str, &str, &str); 2] =
    [("ada-writes", "Ada writes", "t:ada0001"), ("ada-draws", "Ada draws", "t:ada0002")];

#[derive(Clone)]
pub struct TumblrFake {
    server: FakeServer,
    state: Arc<Mutex<FakeState>>,
}

#[derive(Default)]
struct FakeState {
    codes: BTreeMap<String, String>,
    access_tokens: BTreeSet<String>,
    refresh_tokens: BTreeSet<String>,
    issued: u64,
    /// Blog name and the NPF body of each post.
    posts: Vec<(String, Value)>,
}

fn lock(state: &Mutex<FakeState>) -> MutexGuard<'_, FakeState> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl TumblrFake {
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

    /// Posts made, as (blog, NPF body).
    pub fn posts(&self) -> Vec<(String, Value)> {
        lock(&self.state).posts.clone()
    }
}

fn envelope(status: u16, msg: &str, response: Value) -> Scripted {
    Scripted::json(status, json!({"meta": {"status": status, "msg": msg}, "response": response}))
}

fn refused(status: u16, msg: &str, detail: &str) -> Scripted {
    Scripted::json(
        status,
        json!({"meta": {"status": status, "msg": msg}, "response": [], "errors": [{"title": msg, "code": 0, "detail": detail}]}),
    )
}

fn answer(state: &mut FakeState, request: &Recorded) -> Scripted {
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/oauth2/authorize") => {
            let q = &request.query;
            let scopes: Vec<&str> = q.get("scope").map(|s| s.split(' ').collect()).unwrap_or_default();
            let ok = q.get("client_id").map(String::as_str) == Some(CLIENT_ID)
                && q.get("response_type").map(String::as_str) == Some("code")
                && ["write", "offline_access"].iter().all(|s| scopes.contains(s));
            if !ok {
                return Scripted::text(400, "invalid request");
            }
            let redirect = q.get("redirect_uri").cloned().unwrap_or_default();
            state.issued += 1;
            let code = format!("tumblr-code-{}", state.issued);
            state.codes.insert(code.clone(), redirect.clone());
            Scripted::redirect_back(&redirect, &[("code", &code), ("state", q.get("state").map_or("", String::as_str))])
        }
        ("POST", "/v2/oauth2/token") => token(state, &request.form()),
        _ if !request.bearer().is_some_and(|t| state.access_tokens.contains(t)) => {
            refused(401, "Unauthorized", "Unauthorized")
        }
        ("GET", "/v2/user/info") => {
            let blogs: Vec<Value> = BLOGS
                .iter()
                .enumerate()
                .map(|(at, (name, title, uuid))| {
                    json!({"name": name, "title": title, "uuid": uuid, "primary": at == 0,
                           "url": format!("https://{name}.tumblr.com/"),
                           "avatar": [{"width": 512, "height": 512, "url": format!("https://64.media.tumblr.com/{name}_512.png")}]})
                })
                .collect();
            envelope(200, "OK", json!({"user": {"name": "ada", "blogs": blogs}}))
        }
        (method, path) => {
            let Some(blog) = path.strip_prefix("/v2/blog/").and_then(|rest| rest.strip_suffix("/posts")) else {
                return refused(404, "Not Found", "Not Found");
            };
            if !BLOGS.iter().any(|(name, _, uuid)| *name == blog || *uuid == blog) {
                return refused(404, "Not Found", "Blog not found");
            }
            match method {
                "POST" => create(state, blog, request),
                "GET" => {
                    let id = request.query.get("id").cloned().unwrap_or_default();
                    let posts: Vec<Value> = (1..=state.posts.len())
                        .filter(|n| post_id(*n) == id)
                        .map(|_| json!({"id_string": id, "note_count": 9}))
                        .collect();
                    envelope(200, "OK", json!({"posts": posts, "total_posts": posts.len()}))
                }
                _ => refused(405, "Method Not Allowed", "Method Not Allowed"),
            }
        }
    }
}

fn post_id(n: usize) -> String {
    format!("7340000000000{n:05}")
}

fn token(state: &mut FakeState, form: &BTreeMap<String, String>) -> Scripted {
    let client_ok = form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
        && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET);
    if !client_ok {
        return Scripted::json(
            401,
            json!({"error": "invalid_client", "error_description": "Client authentication failed"}),
        );
    }
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let redirect = form.get("code").and_then(|code| state.codes.remove(code));
            if redirect.is_none() || redirect.as_ref() != form.get("redirect_uri") {
                return Scripted::json(400, json!({"error": "invalid_grant", "error_description": "Invalid code"}));
            }
        }
        // Spent on use: a second refresh with it is refused.
        Some("refresh_token") => {
            if !form.get("refresh_token").is_some_and(|t| state.refresh_tokens.remove(t)) {
                return Scripted::json(
                    400,
                    json!({"error": "invalid_grant", "error_description": "Invalid refresh token"}),
                );
            }
        }
        _ => return Scripted::json(400, json!({"error": "unsupported_grant_type"})),
    }
    state.issued += 1;
    let access = format!("tumblr-access-{}", state.issued);
    let refresh = format!("tumblr-refresh-{}", state.issued);
    state.access_tokens.insert(access.clone());
    state.refresh_tokens.insert(refresh.clone());
    Scripted::json(
        200,
        json!({"access_token": access, "expires_in": 2520, "token_type": "bearer", "scope": "basic write offline_access", "refresh_token": refresh}),
    )
}

fn create(state: &mut FakeState, blog: &str, request: &Recorded) -> Scripted {
    let body = match request.part("json") {
        Some(part) => serde_json::from_slice(&part.data).unwrap_or(Value::Null),
        None => request.json.clone(),
    };
    let blocks = body["content"].as_array().cloned().unwrap_or_default();
    if blocks.is_empty() {
        return refused(400, "Bad Request", "Posts need content");
    }
    for block in &blocks {
        match block["type"].as_str() {
            Some("text") if block["text"].is_string() => {}
            Some("image") => {
                let Some(identifier) = block["media"][0]["identifier"].as_str() else {
                    return refused(400, "Bad Request", "Image blocks need media");
                };
                if request.part(identifier).is_none_or(|part| part.data.is_empty()) {
                    return refused(400, "Bad Request", "Missing media part");
                }
            }
            _ => return refused(400, "Bad Request", "Unknown content block"),
        }
    }
    state.posts.push((blog.to_string(), body));
    envelope(
        201,
        "Created",
        json!({"id": post_id(state.posts.len()), "state": "published", "display_text": "Posted to Tumblr!"}),
    )
}
