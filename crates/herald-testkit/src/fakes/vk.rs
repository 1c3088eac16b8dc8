//! A fake VK, written from dev.vk.com: the authorization-code flow
//! (`GET /authorize` approving at once with the comma-separated `scope`;
//! `POST /access_token` with the client in the form, answering an
//! `offline` token as `expires_in: 0` and no `token_type`), the API methods
//! Herald calls (`POST /method/<name>` with `access_token` and `v`:
//! `users.get`, `groups.get`, `photos.getWallUploadServer`,
//! `photos.saveWallPhoto`, `wall.post`, `wall.createComment`,
//! `wall.getById`) and the upload server (`POST /upload`, multipart
//! `photo`). A repeated `guid` answers the first post. Errors are `200` with
//! `{"error": {"error_code", "error_msg"}}`.

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

use super::server::{FakeServer, Recorded, Scripted};

pub const CLIENT_ID: &str = "51234567";
pub const CLIENT_SECRET: &str = "vkTestClientSecret0123";
pub const USER_ID: i64 = 1_000_042;
pub const GROUP_ID: i64 = 220_017;
const TOKEN: &str = "vk1.a.fake-offline-token";

#[derive(Clone)]
pub struct FakeVk {
    server: FakeServer,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    revoked: bool,
    next_id: i64,
    posts: Vec<Value>,
    comments: Vec<Value>,
    photos: Vec<Value>,
    /// The next `wall.post` is made but answered with a 504 (lost answer).
    lose_next_answer: bool,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn error(code: i64, message: &str) -> Scripted {
    Scripted::json(200, json!({"error": {"error_code": code, "error_msg": message, "request_params": []}}))
}

fn ok(response: Value) -> Scripted {
    Scripted::json(200, json!({"response": response}))
}

impl FakeVk {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let for_server = Arc::clone(&state);
        let base = Arc::new(Mutex::new(String::new()));
        let base_for_server = Arc::clone(&base);
        let server = FakeServer::start(Box::new(move |request| {
            let base = base_for_server.lock().map(|b| b.clone()).unwrap_or_default();
            answer(&mut lock(&for_server), &base, request)
        }))
        .await;
        if let Ok(mut b) = base.lock() {
            *b = server.url();
        }
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

    pub fn comments(&self) -> Vec<Value> {
        lock(&self.state).comments.clone()
    }

    pub fn revoke(&self) {
        lock(&self.state).revoked = true;
    }

    pub fn lose_next_answer(&self) {
        lock(&self.state).lose_next_answer = true;
    }
}

fn answer(state: &mut State, base: &str, request: &Recorded) -> Scripted {
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/authorize") => {
            let q = &request.query;
            let ok = q.get("client_id").map(String::as_str) == Some(CLIENT_ID)
                && q.get("response_type").map(String::as_str) == Some("code")
                && q.get("scope").is_some_and(|s| s.split(',').any(|scope| scope == "wall"));
            let redirect = q.get("redirect_uri").cloned().unwrap_or_default();
            if !ok {
                return Scripted::redirect_back(
                    &redirect,
                    &[("error", "invalid_request"), ("error_description", "bad request")],
                );
            }
            Scripted::redirect_back(
                &redirect,
                &[("code", "vk-code-1"), ("state", q.get("state").map_or("", String::as_str))],
            )
        }
        ("POST", "/access_token") => {
            let form = request.form();
            let client = form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
                && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET);
            if !client {
                return Scripted::json(
                    401,
                    json!({"error": "invalid_client", "error_description": "client_secret is incorrect"}),
                );
            }
            if form.get("code").map(String::as_str) != Some("vk-code-1") {
                return Scripted::json(
                    401,
                    json!({"error": "invalid_grant", "error_description": "Code is invalid or expired."}),
                );
            }
            Scripted::json(200, json!({"access_token": TOKEN, "expires_in": 0, "user_id": USER_ID}))
        }
        ("POST", "/upload") => {
            let Some(photo) = request.part("photo").filter(|p| p.file_name.is_some()) else {
                return Scripted::json(200, json!({"server": 1, "photo": "[]", "hash": ""}));
            };
            state.next_id += 1;
            Scripted::json(
                200,
                json!({"server": 613_205, "photo": format!("[{{\"photo\":\"p{}\",\"size\":{}}}]", state.next_id, photo.data.len()), "hash": "abc123"}),
            )
        }
        ("POST", path) if path.starts_with("/method/") => {
            let form = request.form();
            if state.revoked || form.get("access_token").map(String::as_str) != Some(TOKEN) {
                return error(5, "User authorization failed: invalid access_token (4).");
            }
            if !form.contains_key("v") {
                return error(8, "Invalid request: v (version) is required");
            }
            method(state, base, &path["/method/".len()..], &form)
        }
        _ => Scripted::json(404, json!({"error": "not found"})),
    }
}

fn method(state: &mut State, base: &str, name: &str, form: &std::collections::BTreeMap<String, String>) -> Scripted {
    let number = |key: &str| form.get(key).and_then(|v| v.parse::<i64>().ok());
    match name {
        "users.get" => ok(
            json!([{"id": USER_ID, "first_name": "Ada", "last_name": "Lovelace", "screen_name": "ada", "photo_100": "https://sun.userapi.com/ada.jpg"}]),
        ),
        "groups.get" => ok(
            json!({"count": 1, "items": [{"id": GROUP_ID, "name": "Herald Club", "screen_name": "heraldclub", "photo_100": "https://sun.userapi.com/club.jpg", "is_admin": 1}]}),
        ),
        "photos.getWallUploadServer" => {
            ok(json!({"upload_url": format!("{base}/upload"), "album_id": -14, "user_id": USER_ID}))
        }
        "photos.saveWallPhoto" => {
            if form.get("hash").map(String::as_str) != Some("abc123") {
                return error(121, "Invalid hash");
            }
            state.next_id += 1;
            let owner = number("group_id").map_or(USER_ID, |group| -group);
            let photo = json!({"id": 457_000 + state.next_id, "owner_id": owner, "text": form.get("caption")});
            state.photos.push(photo.clone());
            ok(json!([photo]))
        }
        "wall.post" => {
            let owner = number("owner_id").unwrap_or(USER_ID);
            if owner != USER_ID && owner != -GROUP_ID {
                return error(214, "Access to adding post denied");
            }
            if let Some(guid) = form.get("guid")
                && let Some(existing) =
                    state.posts.iter().find(|p| p["guid"] == guid.as_str() && p["owner_id"] == owner)
            {
                return ok(json!({"post_id": existing["id"]}));
            }
            let message = form.get("message").cloned().unwrap_or_default();
            let attachments = form.get("attachments").cloned().unwrap_or_default();
            if message.is_empty() && attachments.is_empty() {
                return error(100, "One of the parameters specified was missing or invalid: message is empty");
            }
            state.next_id += 1;
            let post = json!({"id": state.next_id, "owner_id": owner, "message": message, "attachments": attachments,
                "guid": form.get("guid"), "from_group": form.get("from_group"), "signed": form.get("signed"),
                "likes": {"count": 0}, "reposts": {"count": 0}, "comments": {"count": 0}, "views": {"count": 0}});
            state.posts.push(post);
            if std::mem::take(&mut state.lose_next_answer) {
                return Scripted::text(504, "Gateway Timeout");
            }
            ok(json!({"post_id": state.next_id}))
        }
        "wall.createComment" => {
            let (owner, post) = (number("owner_id").unwrap_or(0), number("post_id").unwrap_or(0));
            if !state.posts.iter().any(|p| p["id"] == post && p["owner_id"] == owner) {
                return error(100, "One of the parameters specified was missing or invalid: post not found");
            }
            if let Some(guid) = form.get("guid")
                && let Some(existing) = state.comments.iter().find(|c| c["guid"] == guid.as_str())
            {
                return ok(json!({"comment_id": existing["id"], "parents_stack": []}));
            }
            state.next_id += 1;
            state.comments.push(json!({"id": state.next_id, "owner_id": owner, "post_id": post, "message": form.get("message"),
                "reply_to_comment": number("reply_to_comment"), "from_group": form.get("from_group"), "guid": form.get("guid")}));
            if let Some(parent) = state.posts.iter_mut().find(|p| p["id"] == post && p["owner_id"] == owner) {
                parent["comments"]["count"] = json!(parent["comments"]["count"].as_i64().unwrap_or(0) + 1);
            }
            ok(json!({"comment_id": state.next_id, "parents_stack": []}))
        }
        "wall.getById" => {
            let wanted = form.get("posts").cloned().unwrap_or_default();
            let items: Vec<Value> =
                state.posts.iter().filter(|p| format!("{}_{}", p["owner_id"], p["id"]) == wanted).cloned().collect();
            ok(json!({"items": items}))
        }
        _ => error(3, "Unknown method passed"),
    }
}
