//! A fake Mastodon instance, written from docs.joinmastodon.org: the
//! account, media and status endpoints Herald uses, with Bearer tokens,
//! `Idempotency-Key` on statuses, `POST /api/v2/media` answering 202 while
//! "processing" (then `GET /api/v1/media/:id` 206 until done — with the
//! attachment and a null `url`, as Mastodon's code sends, or with an empty
//! body, as its documentation allows — and 422 when processing failed), and errors as
//! `{"error": "…"}` with 401, 404, 422 and (scripted) 429 with
//! `X-RateLimit-Reset` as an ISO 8601 time.
//!
//! Sign-in as Mastodon documents it: `POST /api/v1/apps` registers a client;
//! `GET /oauth/authorize` (the user approves at once) redirects with a code;
//! `POST /oauth/token` (client by Basic auth or in the form, PKCE checked
//! when a challenge was sent) answers `MASTODON_TOKEN` without an expiry;
//! `POST /oauth/revoke` revokes it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use herald_core::platform::{LengthCounting, count_length};
use serde_json::{Value, json};

mod oauth;

use super::server::{FakeServer, Recorded, Scripted};
use oauth::oauth;

/// The token the fake accepts until [`FakeMastodon::revoke_token`].
pub const MASTODON_TOKEN: &str = "mastodon-test-token-0123456789";
/// Mastodon's default `max_characters`.
const DEFAULT_MAX_CHARACTERS: usize = 500;

#[derive(Clone)]
pub struct FakeMastodon {
    server: FakeServer,
    state: Arc<Mutex<State>>,
}

/// What the instance says about itself.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum InstanceInfo {
    /// `GET /api/v2/instance` (Mastodon 4) and `/api/v1/instance` (3.4+).
    Current,
    /// Only `/api/v1/instance`, with Pleroma's `max_toot_chars`.
    LegacyV1,
    /// Neither endpoint (404).
    Missing,
}

/// What server software the fake plays, as its NodeInfo names it; each
/// keeps its documented defaults and habits.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Software {
    Mastodon,
    /// Posts need media unless they reply (`403 Empty statuses are not
    /// allowed`); no `Idempotency-Key`; 500 characters, 4 files.
    Pixelfed,
    /// No `Idempotency-Key`; 5,000 characters, 6 files.
    GoToSocial,
    /// `Idempotency-Key` honoured; `max_toot_chars` on `/api/v1/instance`
    /// only; 5,000 characters.
    Akkoma,
}

impl Software {
    fn name(self) -> (&'static str, &'static str) {
        match self {
            Self::Mastodon => ("mastodon", "4.3.2"),
            Self::Pixelfed => ("pixelfed", "0.12.4"),
            Self::GoToSocial => ("gotosocial", "0.17.3"),
            Self::Akkoma => ("akkoma", "3.13.2"),
        }
    }
}

struct State {
    software: Software,
    max_media: usize,
    info: InstanceInfo,
    max_characters: usize,
    revoked: bool,
    next_id: u64,
    statuses: Vec<Value>,
    /// Status id per idempotency key: a repeated key returns the same status.
    by_key: HashMap<String, String>,
    media: HashMap<String, Media>,
    /// How each of the next uploads is processed.
    processing: std::collections::VecDeque<Processing>,
    /// Registered apps: client id → (secret, redirect URI).
    apps: HashMap<String, (String, String)>,
    /// Codes issued: code → (client id, redirect URI, PKCE challenge).
    codes: HashMap<String, (String, String, Option<String>)>,
}

/// How the fake processes an upload.
#[derive(Clone, Copy)]
struct Processing {
    /// Lookups that still answer 206 before the attachment is ready.
    polls: u32,
    /// Whether those 206 answers have no body (the documented form) rather
    /// than the attachment with a null `url` (what Mastodon's code sends).
    empty_partial: bool,
    /// Whether processing ends in failure (422) instead.
    fails: bool,
}

struct Media {
    entity: Value,
    polls_left: u32,
    empty_partial: bool,
    fails: bool,
}

impl FakeMastodon {
    pub async fn start() -> Self {
        Self::start_as(Software::Mastodon).await
    }

    /// A server of another Mastodon-compatible software, with its defaults.
    pub async fn start_as(software: Software) -> Self {
        let (max_characters, max_media, info) = match software {
            Software::Mastodon => (DEFAULT_MAX_CHARACTERS, 4, InstanceInfo::Current),
            Software::Pixelfed => (500, 4, InstanceInfo::Current),
            Software::GoToSocial => (5000, 6, InstanceInfo::Current),
            Software::Akkoma => (5000, 10, InstanceInfo::LegacyV1),
        };
        let state = Arc::new(Mutex::new(State {
            software,
            max_media,
            info,
            max_characters,
            revoked: false,
            next_id: 109_000_000_000_000_000,
            statuses: Vec::new(),
            by_key: HashMap::new(),
            media: HashMap::new(),
            processing: std::collections::VecDeque::new(),
            apps: HashMap::new(),
            codes: HashMap::new(),
        }));
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

    /// The instance URL (`http://127.0.0.1:<port>`).
    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.server.requests_to(path)
    }

    /// The statuses created, oldest first.
    pub fn statuses(&self) -> Vec<Value> {
        lock(&self.state).statuses.clone()
    }

    /// The instance's character limit (its `max_characters`), which it
    /// announces and enforces.
    pub fn set_max_characters(&self, limit: usize) {
        lock(&self.state).max_characters = limit;
    }

    /// How the instance describes itself (`/api/v2/instance`, `/api/v1/instance`).
    pub fn set_instance_info(&self, info: InstanceInfo) {
        lock(&self.state).info = info;
    }

    /// From now on the token is refused with 401.
    pub fn revoke_token(&self) {
        lock(&self.state).revoked = true;
    }

    /// Whether the token is refused now (revoked by the user or through
    /// `POST /oauth/revoke`).
    pub fn is_revoked(&self) -> bool {
        lock(&self.state).revoked
    }

    /// How many apps were registered (`POST /api/v1/apps`).
    pub fn registered_apps(&self) -> usize {
        lock(&self.state).apps.len()
    }

    /// The next upload answers 202 and stays processing for `polls` lookups,
    /// each a 206 with the attachment and a null `url`.
    pub fn process_next_upload_slowly(&self, polls: u32) {
        lock(&self.state).processing.push_back(Processing { polls, empty_partial: false, fails: false });
    }

    /// Like [`FakeMastodon::process_next_upload_slowly`], with each 206 an
    /// empty body, as docs.joinmastodon.org describes it.
    pub fn process_next_upload_slowly_without_body(&self, polls: u32) {
        lock(&self.state).processing.push_back(Processing { polls, empty_partial: true, fails: false });
    }

    /// The next upload answers 202, then its processing fails: lookups
    /// answer 422 as Mastodon's `check_processing` does.
    pub fn fail_next_upload_processing(&self) {
        lock(&self.state).processing.push_back(Processing { polls: 0, empty_partial: false, fails: true });
    }

    /// Sets a status's engagement counters.
    pub fn set_counts(&self, id: &str, favourites: i64, reblogs: i64, replies: i64) {
        let mut state = lock(&self.state);
        if let Some(status) = state.statuses.iter_mut().find(|s| s["id"] == id) {
            status["favourites_count"] = json!(favourites);
            status["reblogs_count"] = json!(reblogs);
            status["replies_count"] = json!(replies);
        }
    }

    /// The next request to `path` gets 429 with Mastodon's rate-limit headers.
    pub fn rate_limit_next(&self, path: &str, reset_in_seconds: i64) {
        let reset = (chrono::Utc::now() + chrono::Duration::seconds(reset_in_seconds))
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        self.server.script(
            Scripted::json(429, json!({"error": "Too many requests"}))
                .with_header("x-ratelimit-limit", "300")
                .with_header("x-ratelimit-remaining", "0")
                .with_header("x-ratelimit-reset", &reset)
                .at(path),
        );
    }

    /// Any scripted answer for the next request to `path`.
    pub fn script(&self, path: &str, status: u16, body: Value) {
        self.server.script(Scripted::json(status, body).at(path));
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn error(status: u16, message: &str) -> Scripted {
    Scripted::json(status, json!({ "error": message }))
}

fn account(base: &str) -> Value {
    json!({
        "id": "109348745619200001",
        "username": "alice",
        "acct": "alice",
        "display_name": "Alice Example",
        "locked": false,
        "bot": false,
        "created_at": "2022-11-15T00:00:00.000Z",
        "note": "<p>Testing</p>",
        "url": format!("{base}/@alice"),
        "avatar": format!("{base}/system/accounts/avatars/alice.png"),
        "avatar_static": format!("{base}/system/accounts/avatars/alice.png"),
        "followers_count": 3,
        "following_count": 5,
        "statuses_count": 7,
        "source": { "privacy": "public", "sensitive": false, "language": "en", "note": "Testing" }
    })
}

/// `GET /api/v2/instance` and `/api/v1/instance`: public, no token needed.
fn instance(state: &State, version: &str) -> Scripted {
    let configuration =
        json!({"statuses": {"max_characters": state.max_characters, "max_media_attachments": state.max_media}});
    match (state.info, version) {
        (InstanceInfo::Current, "v2") => {
            Scripted::json(200, json!({"domain": "127.0.0.1", "title": "Fake", "configuration": configuration}))
        }
        (InstanceInfo::Current, _) => {
            Scripted::json(200, json!({"uri": "127.0.0.1", "title": "Fake", "configuration": configuration}))
        }
        (InstanceInfo::LegacyV1, "v1") => {
            Scripted::json(200, json!({"uri": "127.0.0.1", "title": "Fake", "max_toot_chars": state.max_characters}))
        }
        _ => error(404, "Not Found"),
    }
}

/// NodeInfo 2.0: the index at `/.well-known/nodeinfo` and the document.
fn nodeinfo(state: &State, base: &str, path: &str) -> Option<Scripted> {
    let (name, version) = state.software.name();
    match path {
        "/.well-known/nodeinfo" => Some(Scripted::json(
            200,
            json!({"links": [
                {"rel": "http://nodeinfo.diaspora.software/ns/schema/2.0", "href": format!("{base}/nodeinfo/2.0")},
            ]}),
        )),
        "/nodeinfo/2.0" => Some(Scripted::json(
            200,
            json!({
                "version": "2.0",
                "software": {"name": name, "version": version},
                "protocols": ["activitypub"],
                "usage": {"users": {"total": 1}, "localPosts": state.statuses.len()},
                "openRegistrations": false,
            }),
        )),
        _ => None,
    }
}

fn answer(state: &mut State, base: &str, request: &Recorded) -> Scripted {
    if let ("GET", ["api", version, "instance"]) =
        (request.method.as_str(), request.path.trim_matches('/').split('/').collect::<Vec<_>>().as_slice())
    {
        return instance(state, version);
    }
    if request.method == "GET"
        && let Some(answer) = nodeinfo(state, base, &request.path)
    {
        return answer;
    }
    if let Some(answer) = oauth(state, request) {
        return answer;
    }
    match request.bearer() {
        None => return error(401, "The access token is invalid"),
        Some(token) if token != MASTODON_TOKEN => return error(401, "The access token is invalid"),
        Some(_) if state.revoked => return error(401, "The access token was revoked"),
        Some(_) => {}
    }
    let method = request.method.as_str();
    let segments: Vec<&str> = request.path.trim_matches('/').split('/').collect();
    match (method, segments.as_slice()) {
        ("GET", ["api", "v1", "accounts", "verify_credentials"]) => Scripted::json(200, account(base)),
        ("POST", ["api", "v2", "media"]) => upload(state, base, request),
        ("GET", ["api", "v1", "media", id]) => match state.media.get_mut(*id) {
            None => error(404, "Record not found"),
            Some(media) if media.fails => error(422, "Error processing thumbnail for uploaded media"),
            Some(media) if media.polls_left > 0 => {
                media.polls_left -= 1;
                if media.empty_partial {
                    return Scripted::empty(206);
                }
                let mut entity = media.entity.clone();
                entity["url"] = Value::Null;
                Scripted::json(206, entity)
            }
            Some(media) => Scripted::json(200, media.entity.clone()),
        },
        ("POST", ["api", "v1", "statuses"]) => create_status(state, base, request),
        ("GET", ["api", "v1", "statuses", id]) => match state.statuses.iter().find(|s| s["id"] == *id) {
            Some(status) => Scripted::json(200, status.clone()),
            None => error(404, "Record not found"),
        },
        _ => error(404, "Not Found"),
    }
}

fn upload(state: &mut State, base: &str, request: &Recorded) -> Scripted {
    let parts = request.parts.clone();
    let Some(file) = parts.iter().find(|p| p.name == "file" && p.file_name.is_some()) else {
        return error(422, "Validation failed: File can't be blank");
    };
    let mime = file.content_type.clone().unwrap_or_default();
    let kind = match mime.split('/').next() {
        Some("image") => "image",
        Some("video") => "video",
        _ => return error(422, "Validation failed: File content type is invalid"),
    };
    state.next_id += 1;
    let id = state.next_id.to_string();
    let description = parts.iter().find(|p| p.name == "description").map(super::server::FormPart::text);
    let entity = json!({
        "id": id,
        "type": kind,
        "url": format!("{base}/system/media_attachments/files/{id}/original.{}", mime.rsplit('/').next().unwrap_or("bin")),
        "preview_url": format!("{base}/system/media_attachments/files/{id}/small.jpg"),
        "remote_url": null,
        "description": description,
        "blurhash": "UFBWY:8_0Jxv4mx]t8t64.%M-:IUWGWAt6M}",
        "meta": { "original": { "size_bytes": file.data.len() } }
    });
    let processing =
        state.processing.pop_front().unwrap_or(Processing { polls: 0, empty_partial: false, fails: false });
    let media = Media {
        entity: entity.clone(),
        polls_left: processing.polls,
        empty_partial: processing.empty_partial,
        fails: processing.fails,
    };
    state.media.insert(id, media);
    if processing.polls > 0 || processing.fails {
        let mut pending = entity;
        pending["url"] = Value::Null;
        Scripted::json(202, pending)
    } else {
        Scripted::json(200, entity)
    }
}

fn create_status(state: &mut State, base: &str, request: &Recorded) -> Scripted {
    let honours_key = matches!(state.software, Software::Mastodon | Software::Akkoma);
    let key = request.header("idempotency-key").map(str::to_string).filter(|_| honours_key);
    if let Some(existing) = key.as_ref().and_then(|k| state.by_key.get(k))
        && let Some(status) = state.statuses.iter().find(|s| s["id"] == existing.as_str())
    {
        return Scripted::json(200, status.clone());
    }
    let body = request.json.clone();
    let text = body["status"].as_str().unwrap_or_default().to_string();
    let media_ids: Vec<String> = body["media_ids"]
        .as_array()
        .map(|ids| ids.iter().filter_map(|i| i.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    if text.trim().is_empty() && media_ids.is_empty() {
        return error(422, "Validation failed: Text can't be blank");
    }
    // Mastodon counts the content warning (as is) with the text (URLs as
    // 23, remote mentions without their domain).
    let warning = body["spoiler_text"].as_str().unwrap_or_default();
    let length =
        count_length(warning, LengthCounting::Graphemes) + count_length(&text, LengthCounting::GraphemesUrlsAs23);
    if length > state.max_characters {
        let limit = state.max_characters;
        return error(422, &format!("Validation failed: Text character limit of {limit} exceeded"));
    }
    if media_ids.len() > state.max_media {
        return error(422, &format!("Validation failed: Media attachments can't exceed {}", state.max_media));
    }
    if state.software == Software::Pixelfed && media_ids.is_empty() && body["in_reply_to_id"].as_str().is_none() {
        return error(403, "Empty statuses are not allowed");
    }
    let mut attachments = Vec::new();
    for id in &media_ids {
        match state.media.get(id) {
            Some(media) if media.polls_left == 0 && !media.fails => attachments.push(media.entity.clone()),
            Some(_) => return error(422, "Validation failed: Media attachments are still being processed"),
            None => return error(422, "Validation failed: Media attachments are invalid"),
        }
    }
    let in_reply_to = body["in_reply_to_id"].as_str().map(str::to_string);
    if let Some(parent) = &in_reply_to
        && !state.statuses.iter().any(|s| s["id"] == parent.as_str())
    {
        return error(404, "Record not found");
    }
    let visibility = body["visibility"].as_str().unwrap_or("public");
    if !["public", "unlisted", "private", "direct"].contains(&visibility) {
        return error(422, "Validation failed: Visibility is not included in the list");
    }
    state.next_id += 1;
    let id = state.next_id.to_string();
    let status = json!({
        "id": id,
        "created_at": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "in_reply_to_id": in_reply_to,
        "in_reply_to_account_id": in_reply_to.as_ref().map(|_| "109348745619200001"),
        "sensitive": body["sensitive"].as_bool().unwrap_or(false),
        "spoiler_text": body["spoiler_text"].as_str().unwrap_or_default(),
        "visibility": visibility,
        "language": body["language"].as_str().unwrap_or("en"),
        "uri": format!("{base}/users/alice/statuses/{id}"),
        "url": format!("{base}/@alice/{id}"),
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
        "content": format!("<p>{}</p>", text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")),
        "account": account(base),
        "media_attachments": attachments,
        "mentions": [],
        "tags": [],
        "emojis": [],
        "card": null,
        "poll": null
    });
    state.statuses.push(status.clone());
    if let Some(key) = key {
        state.by_key.insert(key, id);
    }
    Scripted::json(200, status)
}
