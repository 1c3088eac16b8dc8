//! A fake Lemmy instance (API v3, as in lemmy-js-client and
//! join-lemmy.org/api): `POST /api/v3/user/login` → `{jwt}`, `GET
//! /api/v3/site` with `my_user` for a valid session, `GET /api/v3/community`
//! by `id` or `name`, `POST /api/v3/post` and `POST /api/v3/comment` with
//! `Authorization: Bearer <jwt>`, `GET /api/v3/post?id=` → `post_view` with
//! its `counts` (`score`, `upvotes`, `downvotes`, `comments`). Errors are Lemmy 0.19's: `{"error":
//! "<name>"}` with 400 — `incorrect_login` with 401, missing rows with 404
//! (its `ResponseError::status_code`); the rate limiter's
//! `rate_limit_error` is 400 in 0.19 and 429 in later versions, so tests
//! queue either. Tests can queue error answers, expire every session and
//! require 2FA.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

use super::server::{FakeServer, Recorded, Scripted};

pub const USERNAME: &str = "herald_bot";
pub const PASSWORD: &str = "lemmy-password-1234";
pub const PERSON_ID: i64 = 42;
pub const COMMUNITY_ID: i64 = 7;
pub const COMMUNITY_NAME: &str = "rust";

#[derive(Default)]
struct Instance {
    valid_jwts: Vec<String>,
    issued: u64,
    require_totp: bool,
    communities: BTreeMap<i64, String>,
    /// Each post's `post_view`, as `GET /api/v3/post` answers it.
    posts: BTreeMap<i64, Value>,
    next_id: i64,
}

#[derive(Clone)]
pub struct FakeLemmy {
    server: FakeServer,
    state: Arc<Mutex<Instance>>,
}

fn lock(state: &Mutex<Instance>) -> MutexGuard<'_, Instance> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FakeLemmy {
    pub async fn start() -> Self {
        let mut initial = Instance { next_id: 100, ..Instance::default() };
        initial.communities.insert(COMMUNITY_ID, COMMUNITY_NAME.into());
        initial.communities.insert(8, "photos".into());
        let state = Arc::new(Mutex::new(initial));
        let for_server = Arc::clone(&state);
        let server = FakeServer::start(Box::new(move |request| answer(&mut lock(&for_server), request))).await;
        Self { server, state }
    }

    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// The next request to `path` gets `status` with `{"error": error}`.
    pub fn push_error(&self, path: &str, status: u16, error: &str) {
        self.server.script(self::error(status, error).at(path));
    }

    /// Every JWT issued so far stops working (as after expiry or a password change).
    pub fn expire_sessions(&self) {
        lock(&self.state).valid_jwts.clear();
    }

    /// Logins without `totp_2fa_token` fail with `missing_totp_token`.
    pub fn require_totp(&self) {
        lock(&self.state).require_totp = true;
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    /// Votes on a post: `counts.upvotes`, `downvotes` and `score` (their difference).
    pub fn set_votes(&self, post_id: i64, upvotes: i64, downvotes: i64) {
        if let Some(view) = lock(&self.state).posts.get_mut(&post_id) {
            let counts = &mut view["counts"];
            counts["upvotes"] = json!(upvotes);
            counts["downvotes"] = json!(downvotes);
            counts["score"] = json!(upvotes - downvotes);
        }
    }

    /// Requests to one path, in order.
    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.server.requests_to(path)
    }
}

fn error(status: u16, name: &str) -> Scripted {
    Scripted::json(status, json!({ "error": name }))
}

fn answer(state: &mut Instance, request: &Recorded) -> Scripted {
    match (request.method.as_str(), request.path.as_str()) {
        ("POST", "/api/v3/user/login") => login(state, &request.json),
        ("GET", "/api/v3/site") => site(state, request),
        ("GET", "/api/v3/community") => community(state, request),
        ("POST", "/api/v3/post") => create_post(state, request),
        ("GET", "/api/v3/post") => get_post(state, request),
        ("POST", "/api/v3/comment") => create_comment(state, request),
        _ => Scripted::empty(404),
    }
}

/// Whether the request carries a session the instance still honours.
fn authorized(state: &Instance, request: &Recorded) -> bool {
    request.bearer().is_some_and(|token| state.valid_jwts.iter().any(|jwt| jwt == token))
}

fn login(s: &mut Instance, body: &Value) -> Scripted {
    if body["username_or_email"] != USERNAME || body["password"] != PASSWORD {
        return error(401, "incorrect_login");
    }
    if s.require_totp && body["totp_2fa_token"].as_str().is_none() {
        return error(400, "missing_totp_token");
    }
    s.issued += 1;
    let jwt = format!("eyJhbGciOiJIUzI1NiJ9.session-{}.sig", s.issued);
    s.valid_jwts.push(jwt.clone());
    Scripted::json(200, json!({ "jwt": jwt, "registration_created": false, "verify_email_sent": false }))
}

fn person() -> Value {
    json!({
        "id": PERSON_ID, "name": USERNAME, "display_name": "Herald Bot", "avatar": "https://lemmy.example/pictrs/image/bot.png",
        "banned": false, "published": "2024-01-01T00:00:00Z", "actor_id": format!("https://lemmy.example/u/{USERNAME}"),
        "local": true, "deleted": false, "bot_account": true, "instance_id": 1
    })
}

fn site(s: &Instance, request: &Recorded) -> Scripted {
    let mut answer = json!({
        "site_view": { "site": { "id": 1, "name": "Fake Lemmy" }, "local_site": {}, "local_site_rate_limit": {}, "counts": {} },
        "admins": [], "version": "0.19.5", "all_languages": [], "discussion_languages": [], "taglines": [], "custom_emojis": [], "blocked_urls": []
    });
    if authorized(s, request) {
        answer["my_user"] = json!({
            "local_user_view": { "local_user": { "id": 3, "person_id": PERSON_ID }, "person": person(), "counts": {} },
            "follows": [], "moderates": [], "community_blocks": [], "instance_blocks": [], "person_blocks": [], "discussion_languages": []
        });
    }
    Scripted::json(200, answer)
}

fn community(s: &Instance, request: &Recorded) -> Scripted {
    let query = &request.query;
    let found = match (query.get("id").and_then(|id| id.parse::<i64>().ok()), query.get("name")) {
        (Some(id), _) => s.communities.get(&id).map(|name| (id, name.clone())),
        (None, Some(wanted)) => {
            let bare = wanted.split('@').next().unwrap_or_default();
            s.communities.iter().find(|(_, name)| name.as_str() == bare).map(|(id, name)| (*id, name.clone()))
        }
        (None, None) => return error(400, "no_id_given"),
    };
    match found {
        Some((id, name)) => Scripted::json(
            200,
            json!({
                "community_view": {
                    "community": { "id": id, "name": name, "title": format!("The {name} community"), "actor_id": format!("https://lemmy.example/c/{name}"), "local": true, "nsfw": false },
                    "subscribed": "NotSubscribed", "blocked": false, "counts": {}, "banned_from_community": false
                },
                "moderators": [], "discussion_languages": []
            }),
        ),
        None => error(404, "couldnt_find_community"),
    }
}

/// Lemmy's `is_valid_post_title`: no newline, and `.*\S{3,200}.*` matches
/// (three non-whitespace characters in a row).
fn valid_post_title(title: &str) -> bool {
    !title.contains('\n') && title.split(char::is_whitespace).any(|word| word.chars().count() >= 3)
}

fn create_post(s: &mut Instance, request: &Recorded) -> Scripted {
    if !authorized(s, request) {
        return error(400, "not_logged_in");
    }
    let body = &request.json;
    let name = body["name"].as_str().unwrap_or_default();
    if name.chars().count() > 200 {
        return error(400, "post_title_too_long");
    }
    if !valid_post_title(name) {
        return error(400, "invalid_post_title");
    }
    let Some(community) = body["community_id"].as_i64().and_then(|id| s.communities.get(&id).cloned()) else {
        return error(404, "couldnt_find_community");
    };
    s.next_id += 1;
    let id = s.next_id;
    // The author's own upvote counts from the start.
    let view = json!({
        "post": { "id": id, "name": name, "body": body["body"], "url": body["url"], "alt_text": body["alt_text"],
            "creator_id": PERSON_ID, "community_id": body["community_id"], "nsfw": body["nsfw"].as_bool().unwrap_or(false),
            "ap_id": format!("https://lemmy.example/post/{id}"), "local": true, "language_id": body["language_id"].as_i64().unwrap_or(0) },
        "creator": person(),
        "community": { "id": body["community_id"], "name": community },
        "counts": { "post_id": id, "comments": 0, "score": 1, "upvotes": 1, "downvotes": 0, "published": "2024-06-01T00:00:00Z" }
    });
    s.posts.insert(id, view.clone());
    Scripted::json(200, json!({ "post_view": view }))
}

/// `GET /api/v3/post?id=`: public on a public instance; a session that is
/// sent must still be valid.
fn get_post(s: &Instance, request: &Recorded) -> Scripted {
    if request.header("authorization").is_some() && !authorized(s, request) {
        return error(400, "not_logged_in");
    }
    let Some(id) = request.query.get("id").and_then(|id| id.parse::<i64>().ok()) else {
        return error(400, "no_id_given");
    };
    match s.posts.get(&id) {
        Some(view) => {
            Scripted::json(200, json!({ "post_view": view, "community_view": {}, "moderators": [], "cross_posts": [] }))
        }
        None => error(404, "couldnt_find_post"),
    }
}

fn create_comment(s: &mut Instance, request: &Recorded) -> Scripted {
    if !authorized(s, request) {
        return error(400, "not_logged_in");
    }
    let body = &request.json;
    let Some(post_id) = body["post_id"].as_i64().filter(|id| s.posts.contains_key(id)) else {
        return error(404, "couldnt_find_post");
    };
    if let Some(view) = s.posts.get_mut(&post_id) {
        let comments = view["counts"]["comments"].as_i64().unwrap_or(0);
        view["counts"]["comments"] = json!(comments + 1);
    }
    s.next_id += 1;
    let id = s.next_id;
    let path = match body["parent_id"].as_i64() {
        Some(parent) => format!("0.{parent}.{id}"),
        None => format!("0.{id}"),
    };
    Scripted::json(
        200,
        json!({ "comment_view": {
            "comment": { "id": id, "creator_id": PERSON_ID, "post_id": post_id, "content": body["content"],
                "ap_id": format!("https://lemmy.example/comment/{id}"), "path": path, "local": true },
            "creator": person(), "counts": { "comment_id": id }
        }, "recipient_ids": [] }),
    )
}
