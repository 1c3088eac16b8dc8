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

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::oneshot;

pub const USERNAME: &str = "herald_bot";
pub const PASSWORD: &str = "lemmy-password-1234";
pub const PERSON_ID: i64 = 42;
pub const COMMUNITY_ID: i64 = 7;
pub const COMMUNITY_NAME: &str = "rust";

/// One request as the instance saw it.
#[derive(Debug, Clone)]
pub struct LemmyRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// `Authorization` header, if any.
    pub authorization: Option<String>,
    pub body: Value,
    /// The status answered.
    pub status: u16,
}

#[derive(Default)]
struct Instance {
    requests: Vec<LemmyRequest>,
    /// Queued error answers per path: (status, error name).
    errors: HashMap<String, VecDeque<(u16, String)>>,
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
    inner: Arc<Inner>,
}

struct Inner {
    state: Arc<Mutex<Instance>>,
    address: SocketAddr,
    _shutdown: oneshot::Sender<()>,
}

fn lock(state: &Mutex<Instance>) -> MutexGuard<'_, Instance> {
    state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

type Shared = Arc<Mutex<Instance>>;

impl FakeLemmy {
    pub async fn start() -> Self {
        let mut initial = Instance { next_id: 100, ..Instance::default() };
        initial.communities.insert(COMMUNITY_ID, COMMUNITY_NAME.into());
        initial.communities.insert(8, "photos".into());
        let state = Arc::new(Mutex::new(initial));
        let router = Router::new()
            .route("/api/v3/user/login", post(login))
            .route("/api/v3/site", get(site))
            .route("/api/v3/community", get(community))
            .route("/api/v3/post", post(create_post).get(get_post))
            .route("/api/v3/comment", post(create_comment))
            .with_state(Arc::clone(&state));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a free port for fake Lemmy");
        let address = listener.local_addr().expect("fake Lemmy address");
        let (shutdown, on_shutdown) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    let _ = on_shutdown.await;
                })
                .await;
        });
        Self { inner: Arc::new(Inner { state, address, _shutdown: shutdown }) }
    }

    /// `http://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("http://{}", self.inner.address)
    }

    /// The next request to `path` gets `status` with `{"error": error}`.
    pub fn push_error(&self, path: &str, status: u16, error: &str) {
        lock(&self.inner.state).errors.entry(path.to_string()).or_default().push_back((status, error.to_string()));
    }

    /// Every JWT issued so far stops working (as after expiry or a password change).
    pub fn expire_sessions(&self) {
        lock(&self.inner.state).valid_jwts.clear();
    }

    /// Logins without `totp_2fa_token` fail with `missing_totp_token`.
    pub fn require_totp(&self) {
        lock(&self.inner.state).require_totp = true;
    }

    pub fn requests(&self) -> Vec<LemmyRequest> {
        lock(&self.inner.state).requests.clone()
    }

    /// Votes on a post: `counts.upvotes`, `downvotes` and `score` (their difference).
    pub fn set_votes(&self, post_id: i64, upvotes: i64, downvotes: i64) {
        if let Some(view) = lock(&self.inner.state).posts.get_mut(&post_id) {
            let counts = &mut view["counts"];
            counts["upvotes"] = json!(upvotes);
            counts["downvotes"] = json!(downvotes);
            counts["score"] = json!(upvotes - downvotes);
        }
    }

    /// Requests to one path, in order.
    pub fn requests_to(&self, path: &str) -> Vec<LemmyRequest> {
        self.requests().into_iter().filter(|r| r.path == path).collect()
    }
}

fn error(status: u16, name: &str) -> (u16, Value) {
    (status, json!({ "error": name }))
}

fn record(
    state: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Value,
    answer: (u16, Value),
) -> Response {
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
    lock(state).requests.push(LemmyRequest {
        method: method.to_string(),
        path: uri.path().to_string(),
        query: uri.query().map(str::to_string),
        authorization,
        body: body.clone(),
        status: answer.0,
    });
    let status = StatusCode::from_u16(answer.0).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(answer.1)).into_response()
}

/// A queued error for this path, if any.
fn scripted(state: &Shared, path: &str) -> Option<(u16, Value)> {
    let mut state = lock(state);
    state.errors.get_mut(path).and_then(VecDeque::pop_front).map(|(status, name)| error(status, &name))
}

/// Whether the request carries a session the instance still honours.
fn authorized(state: &Shared, headers: &HeaderMap) -> bool {
    let Some(token) =
        headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    lock(state).valid_jwts.iter().any(|jwt| jwt == token)
}

fn parse(body: &str) -> Value {
    serde_json::from_str(body).unwrap_or(Value::Null)
}

async fn login(State(state): State<Shared>, method: Method, uri: Uri, headers: HeaderMap, body: String) -> Response {
    let body = parse(&body);
    let answer = scripted(&state, uri.path()).unwrap_or_else(|| {
        let mut s = lock(&state);
        if body["username_or_email"] != USERNAME || body["password"] != PASSWORD {
            return error(401, "incorrect_login");
        }
        if s.require_totp && body["totp_2fa_token"].as_str().is_none() {
            return error(400, "missing_totp_token");
        }
        s.issued += 1;
        let jwt = format!("eyJhbGciOiJIUzI1NiJ9.session-{}.sig", s.issued);
        s.valid_jwts.push(jwt.clone());
        (200, json!({ "jwt": jwt, "registration_created": false, "verify_email_sent": false }))
    });
    record(&state, &method, &uri, &headers, &body, answer)
}

fn person() -> Value {
    json!({
        "id": PERSON_ID, "name": USERNAME, "display_name": "Herald Bot", "avatar": "https://lemmy.example/pictrs/image/bot.png",
        "banned": false, "published": "2024-01-01T00:00:00Z", "actor_id": format!("https://lemmy.example/u/{USERNAME}"),
        "local": true, "deleted": false, "bot_account": true, "instance_id": 1
    })
}

async fn site(State(state): State<Shared>, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let mut answer = json!({
        "site_view": { "site": { "id": 1, "name": "Fake Lemmy" }, "local_site": {}, "local_site_rate_limit": {}, "counts": {} },
        "admins": [], "version": "0.19.5", "all_languages": [], "discussion_languages": [], "taglines": [], "custom_emojis": [], "blocked_urls": []
    });
    if authorized(&state, &headers) {
        answer["my_user"] = json!({
            "local_user_view": { "local_user": { "id": 3, "person_id": PERSON_ID }, "person": person(), "counts": {} },
            "follows": [], "moderates": [], "community_blocks": [], "instance_blocks": [], "person_blocks": [], "discussion_languages": []
        });
    }
    let answer = scripted(&state, uri.path()).unwrap_or((200, answer));
    record(&state, &method, &uri, &headers, &Value::Null, answer)
}

async fn community(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let answer = scripted(&state, uri.path()).unwrap_or_else(|| {
        let s = lock(&state);
        let found = match (query.get("id").and_then(|id| id.parse::<i64>().ok()), query.get("name")) {
            (Some(id), _) => s.communities.get(&id).map(|name| (id, name.clone())),
            (None, Some(wanted)) => {
                let bare = wanted.split('@').next().unwrap_or_default();
                s.communities.iter().find(|(_, name)| name.as_str() == bare).map(|(id, name)| (*id, name.clone()))
            }
            (None, None) => return error(400, "no_id_given"),
        };
        match found {
            Some((id, name)) => (200, json!({
                "community_view": {
                    "community": { "id": id, "name": name, "title": format!("The {name} community"), "actor_id": format!("https://lemmy.example/c/{name}"), "local": true, "nsfw": false },
                    "subscribed": "NotSubscribed", "blocked": false, "counts": {}, "banned_from_community": false
                },
                "moderators": [], "discussion_languages": []
            })),
            None => error(404, "couldnt_find_community"),
        }
    });
    record(&state, &method, &uri, &headers, &Value::Null, answer)
}

/// Lemmy's `is_valid_post_title`: no newline, and `.*\S{3,200}.*` matches
/// (three non-whitespace characters in a row).
fn valid_post_title(title: &str) -> bool {
    !title.contains('\n') && title.split(char::is_whitespace).any(|word| word.chars().count() >= 3)
}

async fn create_post(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let body = parse(&body);
    let answer = scripted(&state, uri.path()).unwrap_or_else(|| {
        if !authorized(&state, &headers) {
            return error(400, "not_logged_in");
        }
        let name = body["name"].as_str().unwrap_or_default();
        if name.chars().count() > 200 {
            return error(400, "post_title_too_long");
        }
        if !valid_post_title(name) {
            return error(400, "invalid_post_title");
        }
        let mut s = lock(&state);
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
        (200, json!({ "post_view": view }))
    });
    record(&state, &method, &uri, &headers, &body, answer)
}

/// `GET /api/v3/post?id=`: public on a public instance; a session that is
/// sent must still be valid.
async fn get_post(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let answer = scripted(&state, uri.path()).unwrap_or_else(|| {
        if headers.contains_key("authorization") && !authorized(&state, &headers) {
            return error(400, "not_logged_in");
        }
        let Some(id) = query.get("id").and_then(|id| id.parse::<i64>().ok()) else {
            return error(400, "no_id_given");
        };
        match lock(&state).posts.get(&id) {
            Some(view) => {
                (200, json!({ "post_view": view, "community_view": {}, "moderators": [], "cross_posts": [] }))
            }
            None => error(404, "couldnt_find_post"),
        }
    });
    record(&state, &method, &uri, &headers, &Value::Null, answer)
}

async fn create_comment(
    State(state): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: String,
) -> Response {
    let body = parse(&body);
    let answer = scripted(&state, uri.path()).unwrap_or_else(|| {
        if !authorized(&state, &headers) {
            return error(400, "not_logged_in");
        }
        let mut s = lock(&state);
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
        (
            200,
            json!({ "comment_view": {
            "comment": { "id": id, "creator_id": PERSON_ID, "post_id": post_id, "content": body["content"],
                "ap_id": format!("https://lemmy.example/comment/{id}"), "path": path, "local": true },
            "creator": person(), "counts": { "comment_id": id }
        }, "recipient_ids": [] }),
        )
    });
    record(&state, &method, &uri, &headers, &body, answer)
}
