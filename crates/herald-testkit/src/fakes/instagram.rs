//! A fake Instagram for the `instagram` (Facebook Login) and
//! `instagram-standalone` (Instagram Login) providers, written from the
//! Instagram Platform reference (developers.facebook.com/docs/instagram-platform):
//!
//! - Facebook Login: `GET /{v}/dialog/oauth`, `GET /{v}/oauth/access_token`
//!   (the code → a short-lived user token; `grant_type=fb_exchange_token`
//!   → a 60-day one), `GET /{v}/me/accounts` (Pages with their tokens and
//!   `instagram_business_account`).
//! - Instagram Login: `GET /oauth/authorize`, `POST /oauth/access_token`
//!   (form → `{access_token, user_id, permissions}`), `GET /access_token`
//!   (`ig_exchange_token`), `GET /refresh_access_token` (`ig_refresh_token`),
//!   `GET /{v}/me`.
//! - Publishing, the same for both: `GET /{v}/{ig}/content_publishing_limit`,
//!   `POST /{v}/{ig}/media` (a container: `image_url`, `media_type` REELS,
//!   STORIES, VIDEO or CAROUSEL with `children`), `GET /{v}/{container}?fields=status_code`
//!   (IN_PROGRESS for as many polls as the test asks), `POST
//!   /{v}/{ig}/media_publish` (a FINISHED container, once), `GET /{v}/{ig}/media`
//!   (recent, newest first), `GET /{v}/{media}?fields=permalink`,
//!   `POST`/`GET /{v}/{media}/comments`, `GET /{v}/{media}/insights`.
//!
//! Parameters are read from the query and the form alike; the token is the
//! `access_token` parameter; errors are the Graph's `{"error": {…}}`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

use super::server::{FakeServer, Recorded, Scripted};

pub const FACEBOOK_APP_ID: &str = "facebook-test-app";
pub const FACEBOOK_APP_SECRET: &str = "facebook-test-secret";
pub const INSTAGRAM_APP_ID: &str = "instagram-test-app";
pub const INSTAGRAM_APP_SECRET: &str = "instagram-test-secret";
/// The Instagram accounts of the user's Pages: (page id, ig id, username).
pub const PAGE_ACCOUNTS: [(&str, &str, &str); 2] =
    [("1020001", "17841400000000101", "ada.kitchen"), ("1020002", "17841400000000102", "ada.garden")];
/// The account of Instagram Login.
pub const STANDALONE_ID: &str = "17841400000000201";
pub const STANDALONE_USERNAME: &str = "ada.studio";

#[derive(Clone)]
pub struct InstagramFake {
    server: FakeServer,
    state: Arc<Mutex<FakeState>>,
}

#[derive(Debug, Clone)]
struct Container {
    owner: String,
    params: BTreeMap<String, String>,
    processing: u32,
    error: Option<String>,
    published: Option<String>,
}

#[derive(Default)]
struct FakeState {
    codes: BTreeMap<String, String>,
    short_tokens: BTreeSet<String>,
    /// Tokens that work, with the accounts they may post as ("*": any page's).
    tokens: BTreeMap<String, String>,
    issued: u64,
    containers: BTreeMap<String, Container>,
    /// Published media, oldest first.
    media: Vec<Value>,
    comments: Vec<Value>,
    video_polls: u32,
    fail_next: Option<String>,
    /// Posts used of the 24-hour limit, per account.
    quota_used: BTreeMap<String, u64>,
    quota_total: u64,
}

fn lock(state: &Mutex<FakeState>) -> MutexGuard<'_, FakeState> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl InstagramFake {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(FakeState { video_polls: 2, quota_total: 100, ..FakeState::default() }));
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

    /// Published media, oldest first: id, owner, caption, media_type, container.
    pub fn media(&self) -> Vec<Value> {
        lock(&self.state).media.clone()
    }

    pub fn comments(&self) -> Vec<Value> {
        lock(&self.state).comments.clone()
    }

    pub fn containers(&self) -> BTreeMap<String, BTreeMap<String, String>> {
        lock(&self.state).containers.iter().map(|(id, c)| (id.clone(), c.params.clone())).collect()
    }

    pub fn video_polls(&self, polls: u32) {
        lock(&self.state).video_polls = polls;
    }

    pub fn fail_next_container(&self, message: &str) {
        lock(&self.state).fail_next = Some(message.to_string());
    }

    /// The account has used `used` of its 24-hour publishing limit.
    pub fn quota_used(&self, ig_user: &str, used: u64) {
        lock(&self.state).quota_used.insert(ig_user.to_string(), used);
    }

    /// Every token stops working (Instagram says: session expired).
    pub fn expire_tokens(&self) {
        lock(&self.state).tokens.clear();
    }
}

fn graph_error(status: u16, code: u32, subcode: Option<u32>, message: &str) -> Scripted {
    let mut error = json!({"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEf123"});
    if let Some(subcode) = subcode {
        error["error_subcode"] = json!(subcode);
    }
    Scripted::json(status, json!({ "error": error }))
}

fn params(request: &Recorded) -> BTreeMap<String, String> {
    let mut all = request.query.clone();
    if request.content_type().starts_with("application/x-www-form-urlencoded") {
        all.extend(request.form());
    }
    all
}

fn consent(state: &mut FakeState, p: &BTreeMap<String, String>, app: &str, needed: &[&str]) -> Scripted {
    let get = |name: &str| p.get(name).map(String::as_str);
    let scopes: Vec<&str> = get("scope").map(|s| s.split(',').collect()).unwrap_or_default();
    if get("client_id") != Some(app)
        || get("response_type") != Some("code")
        || !needed.iter().all(|s| scopes.contains(s))
    {
        return Scripted::text(400, "Invalid request");
    }
    let redirect = get("redirect_uri").unwrap_or_default().to_string();
    state.issued += 1;
    let code = format!("ig-code-{}", state.issued);
    state.codes.insert(code.clone(), redirect.clone());
    Scripted::redirect_back(&redirect, &[("code", &code), ("state", get("state").unwrap_or_default())])
}

fn token(state: &mut FakeState, prefix: &str, may_post_as: &str, lifetime: Option<i64>) -> Value {
    state.issued += 1;
    let token = format!("{prefix}{}", state.issued);
    state.tokens.insert(token.clone(), may_post_as.to_string());
    match lifetime {
        Some(seconds) => json!({"access_token": token, "token_type": "bearer", "expires_in": seconds}),
        None => json!({"access_token": token, "token_type": "bearer"}),
    }
}

fn answer(state: &mut FakeState, request: &Recorded) -> Scripted {
    let p = params(request);
    let get = |name: &str| p.get(name).map(String::as_str);
    let path = request.path.as_str();
    // Any Graph version, as the Graph itself routes them.
    let (version, rest) = match path.strip_prefix("/v").and_then(|r| r.split_once('/')) {
        Some((v, rest)) if v.contains('.') => (Some(v), format!("/{rest}")),
        _ => (None, path.to_string()),
    };
    match (request.method.as_str(), version.is_some(), rest.as_str()) {
        ("GET", true, "/dialog/oauth") => {
            consent(state, &p, FACEBOOK_APP_ID, &["instagram_basic", "instagram_content_publish", "pages_show_list"])
        }
        ("GET", false, "/oauth/authorize") => {
            consent(state, &p, INSTAGRAM_APP_ID, &["instagram_business_basic", "instagram_business_content_publish"])
        }
        ("GET", true, "/oauth/access_token") => {
            if get("client_id") != Some(FACEBOOK_APP_ID) || get("client_secret") != Some(FACEBOOK_APP_SECRET) {
                return graph_error(400, 1, None, "Error validating client secret.");
            }
            if get("grant_type") == Some("fb_exchange_token") {
                if !get("fb_exchange_token").is_some_and(|t| state.short_tokens.remove(t)) {
                    return graph_error(400, 190, None, "Invalid OAuth access token.");
                }
                return Scripted::json(200, token(state, "EAAGlong", "user", Some(5_183_944)));
            }
            let redirect = get("code").and_then(|code| state.codes.remove(code));
            if redirect.is_none() || redirect.as_deref() != get("redirect_uri") {
                return graph_error(400, 100, Some(36007), "Invalid verification code format.");
            }
            let answer = token(state, "EAAGshort", "none", Some(5_000));
            let short = answer["access_token"].as_str().unwrap_or_default().to_string();
            state.tokens.remove(&short);
            state.short_tokens.insert(short);
            Scripted::json(200, answer)
        }
        ("POST", false, "/oauth/access_token") => {
            if get("client_id") != Some(INSTAGRAM_APP_ID) || get("client_secret") != Some(INSTAGRAM_APP_SECRET) {
                return Scripted::json(
                    400,
                    json!({"error_type": "OAuthException", "code": 400, "error_message": "Invalid client_secret"}),
                );
            }
            let redirect = get("code").and_then(|code| state.codes.remove(code));
            if get("grant_type") != Some("authorization_code")
                || redirect.is_none()
                || redirect.as_deref() != get("redirect_uri")
            {
                return Scripted::json(
                    400,
                    json!({"error_type": "OAuthException", "code": 400, "error_message": "Invalid authorization code"}),
                );
            }
            state.issued += 1;
            let short = format!("IGshort{}", state.issued);
            state.short_tokens.insert(short.clone());
            Scripted::json(
                200,
                json!({"access_token": short, "user_id": STANDALONE_ID.parse::<u64>().unwrap_or_default(), "permissions": "instagram_business_basic,instagram_business_content_publish"}),
            )
        }
        ("GET", false, "/access_token") => {
            let known = get("access_token").is_some_and(|t| state.short_tokens.remove(t));
            if get("grant_type") != Some("ig_exchange_token")
                || get("client_secret") != Some(INSTAGRAM_APP_SECRET)
                || !known
            {
                return graph_error(400, 190, None, "Invalid OAuth access token.");
            }
            Scripted::json(200, token(state, "IGlong", STANDALONE_ID, Some(5_183_944)))
        }
        ("GET", false, "/refresh_access_token") => {
            let old = get("access_token").unwrap_or_default().to_string();
            if get("grant_type") != Some("ig_refresh_token") || state.tokens.remove(&old).is_none() {
                return graph_error(400, 190, Some(463), "Error validating access token: Session has expired.");
            }
            Scripted::json(200, token(state, "IGlong", STANDALONE_ID, Some(5_183_944)))
        }
        (_, true, _) => graph(state, request.method.as_str(), &rest, &p),
        _ => graph_error(400, 100, None, "Unsupported request"),
    }
}

fn graph(state: &mut FakeState, method: &str, rest: &str, p: &BTreeMap<String, String>) -> Scripted {
    let get = |name: &str| p.get(name).map(String::as_str);
    let Some(may_post_as) = get("access_token").and_then(|t| state.tokens.get(t)).cloned() else {
        return graph_error(400, 190, Some(463), "Error validating access token: Session has expired.");
    };
    let segments: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("GET", ["me", "accounts"]) if may_post_as == "user" => {
            let mut data: Vec<Value> = Vec::new();
            for (page, ig, username) in PAGE_ACCOUNTS {
                let page_token = token(state, "EAAGpage", ig, None)["access_token"].clone();
                data.push(json!({"id": page, "name": format!("Page {username}"), "access_token": page_token,
                    "instagram_business_account": {"id": ig, "username": username, "name": format!("Ada {username}"), "profile_picture_url": "https://scontent.example/ada.jpg"}}));
            }
            let plain = token(state, "EAAGpage", "nobody", None)["access_token"].clone();
            data.push(json!({"id": "1020009", "name": "A page without Instagram", "access_token": plain}));
            Scripted::json(200, json!({"data": data, "paging": {"cursors": {"before": "a", "after": "b"}}}))
        }
        ("GET", ["me"]) => Scripted::json(
            200,
            json!({"id": "app-scoped-1", "user_id": STANDALONE_ID, "username": STANDALONE_USERNAME, "name": "Ada Studio", "profile_picture_url": "https://scontent.example/studio.jpg"}),
        ),
        (_, [account, ..]) if account.starts_with("17841") && *account != may_post_as => {
            graph_error(400, 10, None, "(#10) Application does not have permission for this action")
        }
        ("GET", [account, "content_publishing_limit"]) => {
            let used = state.quota_used.get(*account).copied().unwrap_or(0);
            Scripted::json(
                200,
                json!({"data": [{"quota_usage": used, "config": {"quota_total": state.quota_total, "quota_duration": 86400}}]}),
            )
        }
        ("POST", [account, "media"]) => create(state, account, p),
        ("GET", [account, "media"]) => {
            let data: Vec<Value> = state.media.iter().rev().filter(|m| m["owner"] == *account).map(|m| json!({"id": m["id"], "caption": m["caption"], "permalink": m["permalink"], "timestamp": m["timestamp"]})).collect();
            Scripted::json(200, json!({"data": data}))
        }
        ("POST", [account, "media_publish"]) => publish(state, account, get("creation_id")),
        ("POST", [media, "comments"]) => {
            if !state.media.iter().any(|m| m["id"] == *media) {
                return graph_error(400, 100, Some(33), "Object does not exist");
            }
            let Some(message) = get("message").filter(|m| !m.is_empty()) else {
                return graph_error(400, 100, None, "The parameter message is required");
            };
            state.issued += 1;
            let id = format!("1791000000{}", state.issued);
            state.comments.push(json!({"id": id, "media": media, "text": message}));
            Scripted::json(200, json!({"id": id}))
        }
        ("GET", [media, "comments"]) => {
            let data: Vec<Value> = state
                .comments
                .iter()
                .filter(|c| c["media"] == *media)
                .map(|c| json!({"id": c["id"], "text": c["text"]}))
                .collect();
            Scripted::json(200, json!({"data": data}))
        }
        ("GET", [media, "insights"]) if state.media.iter().any(|m| m["id"] == *media) => {
            let values =
                [("reach", 900), ("likes", 77), ("comments", 4), ("shares", 3), ("saved", 12), ("views", 1500)];
            let wanted: Vec<&str> = get("metric").unwrap_or_default().split(',').collect();
            let data: Vec<Value> = values
                .iter()
                .filter(|(n, _)| wanted.contains(n))
                .map(|(n, v)| json!({"name": n, "period": "lifetime", "values": [{"value": v}]}))
                .collect();
            Scripted::json(200, json!({"data": data}))
        }
        ("GET", [id]) => {
            if let Some(container) = state.containers.get_mut(*id) {
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
                return Scripted::json(
                    200,
                    json!({"id": id, "status_code": status, "status": container.error.clone().map(|e| format!("Error: {e}"))}),
                );
            }
            match state.media.iter().find(|m| m["id"] == *id) {
                Some(media) => Scripted::json(200, json!({"id": id, "permalink": media["permalink"]})),
                None => graph_error(400, 100, Some(33), "Unsupported get request. Object does not exist"),
            }
        }
        _ => graph_error(400, 100, None, "Unsupported request"),
    }
}

fn create(state: &mut FakeState, account: &str, p: &BTreeMap<String, String>) -> Scripted {
    let get = |name: &str| p.get(name).map(String::as_str);
    if get("caption").is_some_and(|c| c.chars().count() > 2200) {
        return graph_error(400, 100, Some(2_207_010), "The caption is too long");
    }
    let url_ok = |name: &str| get(name).is_some_and(|u| u.starts_with("http"));
    let processing = match get("media_type") {
        None | Some("IMAGE") if url_ok("image_url") => 0,
        Some("REELS" | "VIDEO") if url_ok("video_url") => state.video_polls,
        Some("STORIES") if url_ok("image_url") || url_ok("video_url") => 0,
        Some("CAROUSEL") => {
            let children: Vec<&str> =
                get("children").unwrap_or_default().split(',').filter(|c| !c.is_empty()).collect();
            let ready = children
                .iter()
                .all(|child| state.containers.get(*child).is_some_and(|c| c.processing == 0 && c.error.is_none()));
            if !(2..=10).contains(&children.len()) || !ready {
                return graph_error(400, 100, Some(2_207_004), "The carousel items are not ready or not valid");
            }
            0
        }
        _ => return graph_error(400, 100, None, "Invalid parameter: the media type and its URL"),
    };
    state.issued += 1;
    let id = format!("1790000000{}", state.issued);
    let error = state.fail_next.take();
    state.containers.insert(
        id.clone(),
        Container { owner: account.to_string(), params: p.clone(), processing, error, published: None },
    );
    Scripted::json(200, json!({ "id": id }))
}

fn publish(state: &mut FakeState, account: &str, creation_id: Option<&str>) -> Scripted {
    let used = state.quota_used.get(account).copied().unwrap_or(0);
    if used >= state.quota_total {
        return graph_error(
            400,
            9,
            Some(2_207_042),
            "You have reached the maximum number of posts allowed in 24 hours.",
        );
    }
    let Some(container) = creation_id.and_then(|id| state.containers.get_mut(id)).filter(|c| c.owner == account) else {
        return graph_error(400, 100, Some(33), "The media container does not exist");
    };
    if container.published.is_some() {
        return graph_error(400, 100, Some(2_207_008), "The media container was already published");
    }
    if container.processing > 0 || container.error.is_some() {
        return graph_error(
            400,
            9007,
            Some(2_207_027),
            "Media ID is not available: the media is not ready for publishing",
        );
    }
    if container.params.get("is_carousel_item").map(String::as_str) == Some("true") {
        return graph_error(400, 100, None, "A carousel item cannot be published alone");
    }
    state.issued += 1;
    let id = format!("1800000000{}", state.issued);
    container.published = Some(id.clone());
    let params = container.params.clone();
    state.media.push(json!({
        "id": id, "owner": account, "caption": params.get("caption"), "media_type": params.get("media_type").map_or("IMAGE", String::as_str),
        "container": creation_id, "permalink": format!("https://www.instagram.com/p/C{id}/"), "timestamp": chrono::Utc::now().to_rfc3339(),
    }));
    *state.quota_used.entry(account.to_string()).or_default() += 1;
    Scripted::json(200, json!({ "id": id }))
}
