//! A fake Medium API, written from github.com/Medium/medium-api-docs:
//! `Authorization: Bearer <integration token>`; `GET /v1/me`,
//! `POST /v1/images` (multipart `image`), `POST /v1/users/{id}/posts` and
//! `POST /v1/publications/{id}/posts` (JSON: `title`, `contentFormat`,
//! `content`, `tags` ≤ 5, `publishStatus` …). Answers wrap their object in
//! `data`; errors are `{"errors": [{"message", "code"}]}`.

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

use super::server::{FakeServer, Recorded, Scripted};

pub const TOKEN: &str = "2b1e8f4c0d9a7e6f5c3b2a1d0e9f8c7b6a5d4e3f2";
pub const USER_ID: &str = "5303d74c64f66366f00cb9b2a94f3251bf5";
pub const PUBLICATION_ID: &str = "b969ac62a46b";

#[derive(Clone)]
pub struct FakeMedium {
    server: FakeServer,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    revoked: bool,
    next_id: u64,
    posts: Vec<Value>,
    images: Vec<Value>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn error(status: u16, message: &str, code: u32) -> Scripted {
    Scripted::json(status, json!({"errors": [{"message": message, "code": code}]}))
}

impl FakeMedium {
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

    pub fn posts(&self) -> Vec<Value> {
        lock(&self.state).posts.clone()
    }

    pub fn images(&self) -> Vec<Value> {
        lock(&self.state).images.clone()
    }

    pub fn revoke_token(&self) {
        lock(&self.state).revoked = true;
    }
}

fn answer(state: &mut State, request: &Recorded) -> Scripted {
    if state.revoked || request.bearer() != Some(TOKEN) {
        return error(401, "Token was invalid.", 6003);
    }
    let segments: Vec<&str> = request.path.split('/').filter(|s| !s.is_empty()).collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["v1", "me"]) => Scripted::json(
            200,
            json!({"data": {
                "id": USER_ID, "username": "heraldwriter", "name": "Herald Writer",
                "url": "https://medium.com/@heraldwriter", "imageUrl": "https://cdn-images-1.medium.com/fit/c/400/400/0*abc.png",
            }}),
        ),
        ("POST", ["v1", "images"]) => {
            let Some(image) = request.part("image").filter(|p| p.file_name.is_some()) else {
                return error(400, "Image is required.", 6000);
            };
            state.next_id += 1;
            let url = format!("https://cdn-images-1.medium.com/proxy/1*{:020}.png", state.next_id);
            state.images.push(json!({"url": url, "type": image.content_type, "size": image.data.len()}));
            Scripted::json(201, json!({"data": {"url": url, "md5": "31b1b9c1e4c5c0b0a2d5f9e7f0a1b2c3"}}))
        }
        ("POST", ["v1", "users", USER_ID, "posts"]) | ("POST", ["v1", "publications", PUBLICATION_ID, "posts"]) => {
            create(state, request, segments[2])
        }
        ("POST", ["v1", "publications", _, "posts"]) => {
            error(403, "You are not allowed to publish to this publication.", 6027)
        }
        ("POST", ["v1", "users", _, "posts"]) => error(403, "You are not allowed to publish as this user.", 6026),
        _ => error(404, "Resource not found.", 6001),
    }
}

fn create(state: &mut State, request: &Recorded, owner: &str) -> Scripted {
    let body = &request.json;
    let title = body["title"].as_str().unwrap_or_default();
    if title.is_empty() || title.chars().count() > 100 {
        return error(400, "Invalid field: title", 6000);
    }
    if !matches!(body["contentFormat"].as_str(), Some("html" | "markdown"))
        || body["content"].as_str().is_none_or(str::is_empty)
    {
        return error(400, "Invalid field: content", 6000);
    }
    if body["tags"].as_array().is_some_and(|tags| tags.len() > 5) {
        return error(400, "Invalid field: tags", 6000);
    }
    let status = body["publishStatus"].as_str().unwrap_or("public");
    if !["public", "draft", "unlisted"].contains(&status) {
        return error(400, "Invalid field: publishStatus", 6000);
    }
    state.next_id += 1;
    let id = format!("e6f36a{:06}", state.next_id);
    let post = json!({
        "id": id, "title": title, "authorId": USER_ID, "tags": body["tags"].as_array().cloned().unwrap_or_default(),
        "url": format!("https://medium.com/@heraldwriter/{id}"), "canonicalUrl": body["canonicalUrl"].as_str().unwrap_or(""),
        "publishStatus": status, "publishedAt": 1_700_000_000_000_u64, "license": "all-rights-reserved",
        "content": body["content"], "owner": owner,
    });
    state.posts.push(post.clone());
    Scripted::json(201, json!({"data": post}))
}
