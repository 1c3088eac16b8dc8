//! A fake Bluesky PDS, written from the atproto lexicons and docs.bsky.app:
//! `createSession` / `refreshSession` (refresh tokens rotate: the old one
//! stops working), `getProfile`, `resolveHandle`, `uploadBlob`,
//! `createRecord` validating `app.bsky.feed.post` records (300 graphemes
//! and 3000 UTF-8 bytes of text,
//! facets on UTF-8 byte boundaries, reply refs that exist, images ≤
//! 1,000,000 bytes; a given `rkey` must be a TID, as the lexicon's record
//! key type says, and a taken one fails as in the PDS, whose repository
//! refuses a second value at a key: `500 InternalServerError`),
//! `getRecord` and `getPosts`. Errors are `{"error", "message"}`: an
//! expired access token is `400 ExpiredToken`, an unknown one
//! `400 InvalidToken`, a bad sign-in
//! `401 AuthenticationRequired`; rate limits are scripted as 429 with
//! `ratelimit-*` headers (reset in epoch seconds).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use herald_core::platform::{LengthCounting, count_length};
use serde_json::{Value, json};

use super::server::{FakeServer, Recorded, Scripted};

pub const BLUESKY_HANDLE: &str = "alice.test";
pub const BLUESKY_DID: &str = "did:plc:alice0000000000000000000";
pub const BLUESKY_APP_PASSWORD: &str = "abcd-efgh-ijkl-mnop";
const MAX_GRAPHEMES: usize = 300;
const MAX_TEXT_BYTES: usize = 3000;
const MAX_IMAGE_BYTES: usize = 1_000_000;

#[derive(Clone)]
pub struct FakeBluesky {
    server: FakeServer,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    counter: u64,
    /// Access tokens and whether they have expired.
    access: HashMap<String, bool>,
    refresh: HashMap<String, bool>,
    /// Other accounts' handles, for mentions.
    handles: HashMap<String, String>,
    blobs: HashMap<String, (String, usize)>,
    posts: Vec<Value>,
    /// The next `createRecord` that succeeds answers 502 instead, as if the
    /// answer were lost on its way back.
    lose_next_create_answer: bool,
}

impl FakeBluesky {
    pub async fn start() -> Self {
        let mut initial = State::default();
        initial.handles.insert(BLUESKY_HANDLE.into(), BLUESKY_DID.into());
        initial.handles.insert("bob.test".into(), "did:plc:bob00000000000000000000000".into());
        let state = Arc::new(Mutex::new(initial));
        let for_server = Arc::clone(&state);
        let server = FakeServer::start(Box::new(move |request| answer(&mut lock(&for_server), request))).await;
        Self { server, state }
    }

    /// The service URL (`http://127.0.0.1:<port>`).
    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    /// Requests to one XRPC method, e.g. `com.atproto.repo.createRecord`.
    pub fn calls(&self, method: &str) -> Vec<Recorded> {
        self.server.requests_to(&format!("/xrpc/{method}"))
    }

    /// The records created, oldest first, as `{uri, cid, record}`.
    pub fn posts(&self) -> Vec<Value> {
        lock(&self.state).posts.clone()
    }

    /// The next record created is kept, but its answer is a 502 (a proxy
    /// timing out after the PDS did the work).
    pub fn lose_next_create_answer(&self) {
        lock(&self.state).lose_next_create_answer = true;
    }

    /// Every access token issued so far now answers `ExpiredToken`.
    pub fn expire_access_tokens(&self) {
        lock(&self.state).access.values_mut().for_each(|expired| *expired = true);
    }

    /// Every access token issued so far is unknown from now on (signed with
    /// a key the PDS no longer has): `400 InvalidToken`.
    pub fn forget_access_tokens(&self) {
        lock(&self.state).access.clear();
    }

    /// Every refresh token issued so far now answers `ExpiredToken`.
    pub fn expire_refresh_tokens(&self) {
        lock(&self.state).refresh.values_mut().for_each(|expired| *expired = true);
    }

    pub fn set_counts(&self, uri: &str, likes: i64, reposts: i64, replies: i64, quotes: i64) {
        let mut state = lock(&self.state);
        if let Some(post) = state.posts.iter_mut().find(|p| p["uri"] == uri) {
            post["likeCount"] = json!(likes);
            post["repostCount"] = json!(reposts);
            post["replyCount"] = json!(replies);
            post["quoteCount"] = json!(quotes);
        }
    }

    /// The next call of `method` gets 429 with the PDS's rate-limit headers.
    pub fn rate_limit_next(&self, method: &str, reset_in_seconds: i64) {
        let reset = chrono::Utc::now().timestamp() + reset_in_seconds;
        self.server.script(
            Scripted::json(429, json!({"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}))
                .with_header("ratelimit-limit", "5000")
                .with_header("ratelimit-remaining", "0")
                .with_header("ratelimit-reset", &reset.to_string())
                .with_header("ratelimit-policy", "5000;w=3600")
                .at(&format!("/xrpc/{method}")),
        );
    }

    /// Any scripted answer for the next call of `method`.
    pub fn script(&self, method: &str, status: u16, body: Value) {
        self.server.script(Scripted::json(status, body).at(&format!("/xrpc/{method}")));
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn error(status: u16, name: &str, message: &str) -> Scripted {
    Scripted::json(status, json!({ "error": name, "message": message }))
}

fn invalid(message: &str) -> Scripted {
    error(400, "InvalidRequest", message)
}

impl State {
    fn next(&mut self) -> u64 {
        self.counter += 1;
        self.counter
    }

    fn session(&mut self) -> Value {
        let n = self.next();
        let (access, refresh) = (format!("access-jwt-{n}"), format!("refresh-jwt-{n}"));
        self.access.insert(access.clone(), false);
        self.refresh.insert(refresh.clone(), false);
        json!({
            "did": BLUESKY_DID,
            "handle": BLUESKY_HANDLE,
            "email": "alice@example.com",
            "emailConfirmed": true,
            "accessJwt": access,
            "refreshJwt": refresh,
            "active": true
        })
    }

    /// `None` when the access token is good; otherwise the error answer.
    fn check_access(&self, request: &Recorded) -> Option<Scripted> {
        let Some(token) = request.bearer() else {
            return Some(error(401, "AuthenticationRequired", "Authentication Required"));
        };
        match self.access.get(token) {
            Some(false) => None,
            Some(true) => Some(error(400, "ExpiredToken", "Token has expired")),
            // The PDS's auth verifier: a token it cannot verify is a bad request.
            None => Some(error(400, "InvalidToken", "Token could not be verified")),
        }
    }
}

fn answer(state: &mut State, request: &Recorded) -> Scripted {
    let Some(method) = request.path.strip_prefix("/xrpc/") else {
        return error(404, "NotFound", "Not Found");
    };
    let verb = request.method.as_str();
    match (verb, method) {
        ("POST", "com.atproto.server.createSession") => {
            let body = request.json.clone();
            let (Some(identifier), Some(password)) = (body["identifier"].as_str(), body["password"].as_str()) else {
                return invalid("Input must have the property \"identifier\"");
            };
            let known = [BLUESKY_HANDLE, BLUESKY_DID, "alice@example.com"];
            if !known.contains(&identifier.to_ascii_lowercase().as_str()) || password != BLUESKY_APP_PASSWORD {
                return error(401, "AuthenticationRequired", "Invalid identifier or password");
            }
            Scripted::json(200, state.session())
        }
        ("POST", "com.atproto.server.refreshSession") => {
            let Some(token) = request.bearer().map(str::to_string) else {
                return error(401, "AuthenticationRequired", "Authentication Required");
            };
            match state.refresh.get(&token) {
                Some(false) => {
                    // Refresh tokens are single-use: the old one is revoked.
                    state.refresh.remove(&token);
                    let mut session = state.session();
                    if let Some(object) = session.as_object_mut() {
                        object.remove("email");
                        object.remove("emailConfirmed");
                    }
                    Scripted::json(200, session)
                }
                Some(true) => error(400, "ExpiredToken", "Token has expired"),
                None => error(400, "InvalidToken", "Token has been revoked"),
            }
        }
        // Records are public: no token needed.
        ("GET", "com.atproto.repo.getRecord") => get_record(state, request),
        ("GET", "com.atproto.identity.resolveHandle") => {
            match request.query.get("handle").cloned().and_then(|h| state.handles.get(&h.to_ascii_lowercase()).cloned())
            {
                Some(did) => Scripted::json(200, json!({ "did": did })),
                None => invalid("Unable to resolve handle"),
            }
        }
        _ => {
            if let Some(refused) = state.check_access(request) {
                return refused;
            }
            authenticated(state, verb, method, request)
        }
    }
}

fn authenticated(state: &mut State, verb: &str, method: &str, request: &Recorded) -> Scripted {
    match (verb, method) {
        ("GET", "app.bsky.actor.getProfile") => match request.query.get("actor").cloned().as_deref() {
            Some(BLUESKY_DID | BLUESKY_HANDLE) => Scripted::json(
                200,
                json!({
                    "did": BLUESKY_DID,
                    "handle": BLUESKY_HANDLE,
                    "displayName": "Alice 🌷",
                    "avatar": "https://cdn.bsky.app/img/avatar/plain/did:plc:alice/bafkreiavatar@jpeg",
                    "followersCount": 3,
                    "followsCount": 4,
                    "postsCount": state.posts.len()
                }),
            ),
            _ => invalid("Profile not found"),
        },
        ("POST", "com.atproto.repo.uploadBlob") => {
            let mime = request.header("content-type").unwrap_or("*/*").to_string();
            let n = state.next();
            let link = format!("bafkreiblob{n:08}");
            let size = request.body.len();
            state.blobs.insert(link.clone(), (mime.clone(), size));
            Scripted::json(
                200,
                json!({"blob": {"$type": "blob", "ref": {"$link": link}, "mimeType": mime, "size": size}}),
            )
        }
        ("POST", "com.atproto.repo.createRecord") => create_record(state, &request.json.clone()),
        ("GET", "app.bsky.feed.getPosts") => {
            let uris = request.query_values("uris");
            let posts: Vec<Value> = state
                .posts
                .iter()
                .filter(|p| uris.iter().any(|u| p["uri"] == u.as_str()))
                .map(|p| {
                    let mut view = p.clone();
                    view["author"] = json!({"did": BLUESKY_DID, "handle": BLUESKY_HANDLE});
                    view["indexedAt"] = p["record"]["createdAt"].clone();
                    view
                })
                .collect();
            Scripted::json(200, json!({ "posts": posts }))
        }
        _ => error(501, "MethodNotImplemented", "Method Not Implemented"),
    }
}

fn create_record(state: &mut State, body: &Value) -> Scripted {
    if body["repo"] != BLUESKY_DID {
        return invalid("Invalid repo: the repo must be the authenticated account");
    }
    if body["collection"] != "app.bsky.feed.post" {
        return invalid("Invalid collection");
    }
    let record = &body["record"];
    if let Err(problem) = check_post(state, record) {
        return invalid(&format!("Invalid app.bsky.feed.post record: {problem}"));
    }
    let n = state.next();
    let rkey = match &body["rkey"] {
        Value::Null => tid(n),
        Value::String(key) if is_tid(key) => key.clone(),
        _ => return invalid("Invalid record key: app.bsky.feed.post records are keyed by TIDs"),
    };
    let uri = format!("at://{BLUESKY_DID}/app.bsky.feed.post/{rkey}");
    if state.posts.iter().any(|p| p["uri"] == uri.as_str()) {
        // The repository's tree refuses a second value at a key, and the
        // PDS lets that error through as a 500.
        return error(500, "InternalServerError", "Internal Server Error");
    }
    let cid = format!("bafyreipost{n:08}");
    state.posts.push(json!({
        "uri": uri, "cid": cid, "record": record,
        "likeCount": 0, "repostCount": 0, "replyCount": 0, "quoteCount": 0
    }));
    if std::mem::take(&mut state.lose_next_create_answer) {
        return error(502, "UpstreamFailure", "Upstream Failure");
    }
    Scripted::json(
        200,
        json!({"uri": uri, "cid": cid, "commit": {"cid": format!("bafyreicommit{n}"), "rev": tid(n)}, "validationStatus": "valid"}),
    )
}

/// `com.atproto.repo.getRecord`: the record at `repo`/`collection`/`rkey`.
fn get_record(state: &State, request: &Recorded) -> Scripted {
    let (Some(repo), Some(collection), Some(rkey)) = (
        request.query.get("repo").cloned(),
        request.query.get("collection").cloned(),
        request.query.get("rkey").cloned(),
    ) else {
        return invalid("Params must have the properties \"repo\", \"collection\" and \"rkey\"");
    };
    if repo != BLUESKY_DID && repo != BLUESKY_HANDLE {
        return invalid(&format!("Could not find repo: {repo}"));
    }
    let uri = format!("at://{BLUESKY_DID}/{collection}/{rkey}");
    match state.posts.iter().find(|p| p["uri"] == uri.as_str()) {
        Some(post) => Scripted::json(200, json!({"uri": uri, "cid": post["cid"], "value": post["record"]})),
        None => error(400, "RecordNotFound", &format!("Could not locate record: {uri}")),
    }
}

const TID_ALPHABET: &[u8; 32] = b"234567abcdefghijklmnopqrstuvwxyz";

/// A TID for the `n`th record the PDS keys itself: now, plus `n` µs.
fn tid(n: u64) -> String {
    let micros = u64::try_from(chrono::Utc::now().timestamp_micros()).unwrap_or(0) + n;
    let value = (micros & ((1 << 53) - 1)) << 10;
    (0..13).rev().map(|digit| TID_ALPHABET[((value >> (digit * 5)) & 0x1F) as usize] as char).collect()
}

/// The TID syntax of atproto.com/specs/tid.
pub fn is_tid(key: &str) -> bool {
    key.len() == 13
        && key.bytes().all(|b| TID_ALPHABET.contains(&b))
        && key.bytes().next().is_some_and(|first| TID_ALPHABET[..16].contains(&first))
}

/// The lexicon's constraints on `app.bsky.feed.post`.
fn check_post(state: &State, record: &Value) -> Result<(), String> {
    if record["$type"] != "app.bsky.feed.post" {
        return Err("$type must be app.bsky.feed.post".into());
    }
    let text = record["text"].as_str().ok_or("Record must have the property \"text\"")?;
    if count_length(text, LengthCounting::Graphemes) > MAX_GRAPHEMES {
        return Err(format!("Record/text must not be longer than {MAX_GRAPHEMES} graphemes"));
    }
    // The lexicon's `maxLength` counts UTF-8 bytes.
    if text.len() > MAX_TEXT_BYTES {
        return Err(format!("Record/text must not be longer than {MAX_TEXT_BYTES} characters"));
    }
    let created = record["createdAt"].as_str().ok_or("Record must have the property \"createdAt\"")?;
    chrono::DateTime::parse_from_rfc3339(created).map_err(|_| "Record/createdAt must be an valid atproto datetime")?;
    for facet in record["facets"].as_array().into_iter().flatten() {
        let (Some(start), Some(end)) = (facet["index"]["byteStart"].as_u64(), facet["index"]["byteEnd"].as_u64())
        else {
            return Err("facet index needs byteStart and byteEnd".into());
        };
        let (start, end) = (usize::try_from(start).unwrap_or(usize::MAX), usize::try_from(end).unwrap_or(usize::MAX));
        if start >= end || end > text.len() || !text.is_char_boundary(start) || !text.is_char_boundary(end) {
            return Err(format!("facet byte range {start}..{end} is not within the text"));
        }
        if facet["features"].as_array().is_none_or(Vec::is_empty) {
            return Err("facet needs features".into());
        }
    }
    if let Some(embed) = record.get("embed") {
        let images = embed["images"].as_array().ok_or("only app.bsky.embed.images is supported by this fake")?;
        if embed["$type"] != "app.bsky.embed.images" || images.is_empty() || images.len() > 4 {
            return Err("Record/embed/images must be 1 to 4 images".into());
        }
        for image in images {
            let link = image["image"]["ref"]["$link"].as_str().unwrap_or_default();
            let Some((_, size)) = state.blobs.get(link) else {
                return Err(format!("Could not find blob: {link}"));
            };
            if *size > MAX_IMAGE_BYTES {
                return Err(format!("Record/embed/images/0/image file too large ({size} bytes)"));
            }
            if !image["alt"].is_string() {
                return Err("Record/embed/images/0 must have the property \"alt\"".into());
            }
            // app.bsky.embed.defs#aspectRatio: both sides integers of at least 1.
            if let Some(ratio) = image.get("aspectRatio")
                && [&ratio["width"], &ratio["height"]].iter().any(|side| side.as_u64().is_none_or(|n| n < 1))
            {
                return Err("Record/embed/images/0/aspectRatio must have integer width and height of at least 1".into());
            }
        }
    }
    if let Some(reply) = record.get("reply") {
        for part in ["root", "parent"] {
            let (uri, cid) = (&reply[part]["uri"], &reply[part]["cid"]);
            if !state.posts.iter().any(|p| p["uri"] == *uri && p["cid"] == *cid) {
                return Err(format!("Record/reply/{part} does not refer to an existing post (uri and cid)"));
            }
        }
    }
    Ok(())
}
