//! A fake Reddit for the `reddit` provider, written from reddit.com/dev/api
//! and the OAuth2 wiki (github.com/reddit-archive/reddit/wiki/OAuth2):
//!
//! - `GET /api/v1/authorize` (`duration=permanent`; approves at once),
//!   `POST /api/v1/access_token` with HTTP Basic (day-long access tokens, a
//!   refresh token that stays the same on refresh; a spent or revoked one
//!   answers **200** `{"error": "invalid_grant"}`, as Reddit does),
//!   `POST /api/v1/revoke_token`;
//! - `GET /api/v1/me`, `POST /api/submit`, `POST /api/comment`,
//!   `GET /by_id/{fullname}` — refusals inside 200 answers
//!   (`json.errors`), and a `User-Agent` is required;
//! - image posts as Reddit's own clients make them: `POST
//!   /api/media/asset.json` leases an upload to its storage (`action`,
//!   `fields`), the file goes there (`POST /` here, S3's form upload), and
//!   `POST /api/submit` with `kind=image` answers only a `websocket_url`
//!   and the `user_submitted_page`; the post shows in
//!   `GET /user/{name}/submitted`;
//! - `GET /r/{subreddit}/api/link_flair_v2` (a subreddit's post flairs; 404
//!   for one that does not exist) and `GET /api/subreddit_autocomplete_v2`
//!   (a `Listing` of `t5` subreddits whose name starts with `query`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

use super::server::{FakeServer, Recorded, Scripted};

pub const CLIENT_ID: &str = "reddit-test-client";
pub const CLIENT_SECRET: &str = "reddit-test-secret";
pub const USERNAME: &str = "ada_reddit";
/// The subreddits that exist.
pub const SUBREDDITS: [&str; 2] = ["rust", "selfhosted"];

#[derive(Clone)]
pub struct RedditFake {
    server: FakeServer,
    state: Arc<Mutex<FakeState>>,
}

#[derive(Default)]
struct FakeState {
    codes: BTreeMap<String, String>,
    access_tokens: BTreeSet<String>,
    refresh_tokens: BTreeSet<String>,
    issued: u64,
    things: Vec<Value>,
    rate_limit_next: bool,
    /// Media keys leased, and those whose file arrived.
    leased: BTreeSet<String>,
    stored: BTreeSet<String>,
}

fn lock(state: &Mutex<FakeState>) -> MutexGuard<'_, FakeState> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl RedditFake {
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

    /// Submissions and comments, in order.
    pub fn things(&self) -> Vec<Value> {
        lock(&self.state).things.clone()
    }

    /// The next submission is refused with `RATELIMIT`, inside a 200 answer.
    pub fn rate_limit_next_submission(&self) {
        lock(&self.state).rate_limit_next = true;
    }

    /// Every token stops working (the user removed the app).
    pub fn revoke_grant(&self) {
        let mut state = lock(&self.state);
        state.access_tokens.clear();
        state.refresh_tokens.clear();
    }
}

fn basic_ok(request: &Recorded) -> bool {
    request.basic_auth() == Some((CLIENT_ID.to_string(), CLIENT_SECRET.to_string()))
}

fn errors(code: &str, message: &str, field: &str) -> Scripted {
    Scripted::json(200, json!({"json": {"errors": [[code, message, field]]}}))
}

fn answer(state: &mut FakeState, request: &Recorded) -> Scripted {
    // Reddit throttles API clients without a User-Agent (the consent page
    // is the user's browser).
    if request.path != "/api/v1/authorize"
        && request.path != "/"
        && request.header("user-agent").is_none_or(str::is_empty)
    {
        return Scripted::text(429, "Too Many Requests");
    }
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/api/v1/authorize") => {
            let q = &request.query;
            let redirect = q.get("redirect_uri").cloned().unwrap_or_default();
            let ok = q.get("client_id").map(String::as_str) == Some(CLIENT_ID)
                && q.get("response_type").map(String::as_str) == Some("code")
                && q.get("duration").map(String::as_str) == Some("permanent");
            if !ok {
                return Scripted::text(400, "invalid request");
            }
            state.issued += 1;
            let code = format!("reddit-code-{}", state.issued);
            state.codes.insert(code.clone(), redirect.clone());
            Scripted::redirect_back(&redirect, &[("state", q.get("state").map_or("", String::as_str)), ("code", &code)])
        }
        ("POST", "/api/v1/access_token") => {
            if !basic_ok(request) {
                return Scripted::json(401, json!({"message": "Unauthorized", "error": 401}));
            }
            let form = request.form();
            let refresh = match form.get("grant_type").map(String::as_str) {
                Some("authorization_code") => {
                    let redirect = form.get("code").and_then(|code| state.codes.remove(code));
                    if redirect.is_none() || redirect.as_ref() != form.get("redirect_uri") {
                        return Scripted::json(200, json!({"error": "invalid_grant"}));
                    }
                    state.issued += 1;
                    Some(format!("reddit-refresh-{}", state.issued))
                }
                Some("refresh_token") => {
                    if !form.get("refresh_token").is_some_and(|t| state.refresh_tokens.contains(t)) {
                        return Scripted::json(200, json!({"error": "invalid_grant"}));
                    }
                    None
                }
                _ => return Scripted::json(200, json!({"error": "unsupported_grant_type"})),
            };
            state.issued += 1;
            let access = format!("reddit-access-{}", state.issued);
            state.access_tokens.insert(access.clone());
            let mut body = json!({"access_token": access, "token_type": "bearer", "expires_in": 86400, "scope": "identity submit read flair"});
            if let Some(refresh) = refresh {
                state.refresh_tokens.insert(refresh.clone());
                body["refresh_token"] = json!(refresh);
            }
            Scripted::json(200, body)
        }
        // The storage's form upload (S3 `POST` policy): the leased key and the file.
        ("POST", "/") => {
            let key = request.field("key").unwrap_or_default();
            if !state.leased.contains(&key) || request.part("file").is_none_or(|file| file.data.is_empty()) {
                return Scripted::text(400, "<Error><Code>InvalidArgument</Code></Error>");
            }
            state.stored.insert(key.clone());
            Scripted::text(201, &format!("<PostResponse><Key>{key}</Key></PostResponse>"))
        }
        ("POST", "/api/v1/revoke_token") => {
            if !basic_ok(request) {
                return Scripted::json(401, json!({"message": "Unauthorized", "error": 401}));
            }
            let token = request.form().get("token").cloned().unwrap_or_default();
            state.access_tokens.remove(&token);
            state.refresh_tokens.remove(&token);
            Scripted::empty(204)
        }
        _ if !request.bearer().is_some_and(|t| state.access_tokens.contains(t)) => {
            Scripted::json(401, json!({"message": "Unauthorized", "error": 401}))
        }
        ("GET", "/api/v1/me") => Scripted::json(
            200,
            json!({
                "name": USERNAME, "id": "1w72", "icon_img": "https://styles.redditmedia.com/ada.png?width=256&amp;s=1"
            }),
        ),
        ("POST", "/api/submit") => submit(state, &request.form(), request.header("host").unwrap_or_default()),
        ("POST", "/api/media/asset.json") => {
            let form = request.form();
            let (Some(_), Some(mime)) = (form.get("filepath"), form.get("mimetype")) else {
                return Scripted::json(400, json!({"message": "Bad Request", "error": 400}));
            };
            state.issued += 1;
            let key = format!("rte_images/a8kq{}", state.issued);
            state.leased.insert(key.clone());
            Scripted::json(
                200,
                json!({
                    "args": {"action": "//reddit-uploaded-media.s3-accelerate.amazonaws.com", "fields": [
                        {"name": "acl", "value": "public-read"}, {"name": "key", "value": key},
                        {"name": "X-Amz-Credential", "value": "AKIA/20261205/us-west-2/s3/aws4_request"},
                        {"name": "Content-Type", "value": mime}, {"name": "policy", "value": "eyJleHBpcmF0aW9uIjoi"},
                        {"name": "X-Amz-Signature", "value": "0f1e2d"}
                    ]},
                    "asset": {"asset_id": key.trim_start_matches("rte_images/"), "processing_state": "incomplete",
                              "websocket_url": format!("wss://ws-0a1b.wss.redditmedia.com/{key}?m=AQAA")}
                }),
            )
        }
        ("POST", "/api/comment") => {
            let form = request.form();
            let parent = form.get("thing_id").cloned().unwrap_or_default();
            if !state.things.iter().any(|t| t["name"] == parent.as_str()) {
                return errors("INVALID_PARENT", "that thing doesn't exist", "parent");
            }
            let id = format!("k{}", state.things.len() + 1);
            let thing = json!({"name": format!("t1_{id}"), "parent_id": parent, "body": form.get("text"), "permalink": format!("/r/rust/comments/x/_/{id}/")});
            state.things.push(thing.clone());
            Scripted::json(200, json!({"json": {"errors": [], "data": {"things": [{"kind": "t1", "data": thing}]}}}))
        }
        (method, path) if method == "GET" && path == format!("/user/{USERNAME}/submitted") => {
            let children: Vec<Value> = state
                .things
                .iter()
                .rev()
                .filter(|t| t["name"].as_str().is_some_and(|n| n.starts_with("t3_")))
                .map(|t| {
                    json!({"kind": "t3", "data": {
                        "name": t["name"], "title": t["title"], "subreddit": t["sr"], "created_utc": t["created_utc"],
                        "permalink": t["permalink"], "url": t["url"]
                    }})
                })
                .collect();
            Scripted::json(200, json!({"kind": "Listing", "data": {"children": children, "after": null}}))
        }
        ("GET", "/api/subreddit_autocomplete_v2") => {
            let query = request.query.get("query").cloned().unwrap_or_default().to_lowercase();
            let children: Vec<Value> = SUBREDDITS
                .iter()
                .filter(|name| !query.is_empty() && name.starts_with(&query))
                .map(|name| json!({"kind": "t5", "data": {"display_name": name, "name": format!("t5_{name}"), "title": format!("The {name} community")}}))
                .collect();
            Scripted::json(200, json!({"kind": "Listing", "data": {"children": children, "after": null}}))
        }
        (method, path) if method == "GET" && path.starts_with("/r/") && path.ends_with("/api/link_flair_v2") => {
            let subreddit = path.trim_start_matches("/r/").trim_end_matches("/api/link_flair_v2");
            if !SUBREDDITS.contains(&subreddit) {
                return Scripted::json(404, json!({"message": "Not Found", "error": 404}));
            }
            Scripted::json(
                200,
                json!([
                    {"id": "f-42", "text": "Discussion", "text_editable": false, "type": "text", "background_color": "#ff4500"},
                    {"id": "f-43", "text": "Show and tell", "text_editable": true, "type": "text", "background_color": ""}
                ]),
            )
        }
        (method, path) => match path.strip_prefix("/by_id/") {
            Some(name) if method == "GET" => {
                let children: Vec<Value> = state
                    .things
                    .iter()
                    .filter(|t| t["name"] == name)
                    .map(|t| json!({"kind": "t3", "data": {"name": t["name"], "score": 42, "num_comments": 3}}))
                    .collect();
                Scripted::json(200, json!({"kind": "Listing", "data": {"children": children}}))
            }
            _ => Scripted::json(404, json!({"message": "Not Found", "error": 404})),
        },
    }
}

fn submit(state: &mut FakeState, form: &BTreeMap<String, String>, host: &str) -> Scripted {
    if std::mem::take(&mut state.rate_limit_next) {
        return errors("RATELIMIT", "you are doing that too much. try again in 9 minutes.", "ratelimit");
    }
    let subreddit = form.get("sr").cloned().unwrap_or_default();
    if !SUBREDDITS.contains(&subreddit.as_str()) {
        return errors("SUBREDDIT_NOEXIST", "that subreddit doesn't exist", "sr");
    }
    if form.get("title").is_none_or(String::is_empty) {
        return errors("NO_TEXT", "we need something here", "title");
    }
    let id = format!("1h{}", state.things.len() + 1);
    let mut thing: Value = json!(form);
    thing["name"] = json!(format!("t3_{id}"));
    thing["created_utc"] = json!(chrono::Utc::now().timestamp() as f64);
    thing["permalink"] = json!(format!("/r/{subreddit}/comments/{id}/post/"));
    if form.get("kind").map(String::as_str) == Some("image") {
        // Only an image this storage holds; the post exists once it is processed.
        let url = form.get("url").cloned().unwrap_or_default();
        let key = url.strip_prefix(&format!("http://{host}/")).unwrap_or_default().to_string();
        if !state.stored.contains(&key) {
            return errors("NO_IMAGE", "that image could not be found", "url");
        }
        state.things.push(thing);
        return Scripted::json(
            200,
            json!({"json": {"errors": [], "data": {
                "user_submitted_page": format!("https://www.reddit.com/user/{USERNAME}/submitted/"),
                "websocket_url": format!("wss://ws-0a1b.wss.redditmedia.com/{key}?m=AQAA")
            }}}),
        );
    }
    state.things.push(thing);
    let url = format!("https://www.reddit.com/r/{subreddit}/comments/{id}/post/");
    Scripted::json(
        200,
        json!({"json": {"errors": [], "data": {"url": url, "drafts_count": 0, "id": id, "name": format!("t3_{id}")}}}),
    )
}
