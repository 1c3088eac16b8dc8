//! A fake YouTube for the `youtube` provider, written from Google's OAuth
//! 2.0 for web server apps and the YouTube Data API v3 reference
//! (developers.google.com/youtube/v3/guides/using_resumable_upload_protocol):
//!
//! - `GET /o/oauth2/v2/auth` (`access_type=offline`, PKCE S256), `POST
//!   /token` (form; `authorization_code` checks the verifier, `refresh_token`;
//!   errors as RFC 6749), `POST /revoke`;
//! - `GET /youtube/v3/channels?part=snippet&mine=true`;
//! - `POST /upload/youtube/v3/videos?uploadType=resumable&part=snippet,status`
//!   (JSON metadata, `X-Upload-Content-Length`) → 200 with the session URI
//!   in `Location`; `PUT` to it with `Content-Range: bytes a-b/total` → 308
//!   `Range: bytes=0-N` until the last byte, then 200 with the video; `PUT`
//!   with `bytes */total` asks where it stands;
//! - `GET /youtube/v3/videos?part=statistics&id=` (counts as strings).
//!
//! Errors are Google's `{"error": {"code", "message", "errors": [{"reason"}]}}`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::server::{FakeServer, Recorded, Scripted};

pub const CLIENT_ID: &str = "youtube-test-client.apps.googleusercontent.com";
pub const CLIENT_SECRET: &str = "youtube-test-secret";
pub const CHANNEL_ID: &str = "UCada0000000000000000001";

#[derive(Clone)]
pub struct YouTubeFake {
    server: FakeServer,
    state: Arc<Mutex<FakeState>>,
}

#[derive(Default)]
struct Session {
    metadata: Value,
    size: u64,
    received: Vec<u8>,
    video: Option<String>,
}

#[derive(Default)]
struct FakeState {
    base: String,
    /// code → (redirect, challenge)
    codes: BTreeMap<String, (String, String)>,
    access_tokens: BTreeSet<String>,
    refresh_tokens: BTreeSet<String>,
    issued: u64,
    sessions: BTreeMap<String, Session>,
    /// Chunks still to refuse with a 503 (their bytes dropped).
    failing_chunks: u32,
    quota_exceeded: bool,
}

fn lock(state: &Mutex<FakeState>) -> MutexGuard<'_, FakeState> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl YouTubeFake {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(FakeState::default()));
        let for_server = Arc::clone(&state);
        let server = FakeServer::start(Box::new(move |request| answer(&mut lock(&for_server), request))).await;
        lock(&state).base = server.url();
        Self { server, state }
    }

    pub fn base_url(&self) -> String {
        self.server.url()
    }

    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.server.requests_to(path)
    }

    /// Upload sessions opened.
    pub fn sessions(&self) -> usize {
        lock(&self.state).sessions.len()
    }

    /// Finished videos: (id, metadata, bytes).
    pub fn videos(&self) -> Vec<(String, Value, Vec<u8>)> {
        lock(&self.state)
            .sessions
            .values()
            .filter_map(|s| Some((s.video.clone()?, s.metadata.clone(), s.received.clone())))
            .collect()
    }

    /// The next `count` chunks answer 503 and are dropped.
    pub fn fail_chunks(&self, count: u32) {
        lock(&self.state).failing_chunks = count;
    }

    /// The daily quota is used up (or no longer).
    pub fn quota_exceeded(&self, exceeded: bool) {
        lock(&self.state).quota_exceeded = exceeded;
    }
}

fn google_error(status: u16, reason: &str, message: &str) -> Scripted {
    Scripted::json(
        status,
        json!({"error": {"code": status, "message": message, "errors": [{"message": message, "domain": "youtube", "reason": reason}]}}),
    )
}

fn answer(state: &mut FakeState, request: &Recorded) -> Scripted {
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/o/oauth2/v2/auth") => {
            let q = &request.query;
            let get = |name: &str| q.get(name).map(String::as_str);
            let ok = get("client_id") == Some(CLIENT_ID)
                && get("response_type") == Some("code")
                && get("access_type") == Some("offline")
                && get("code_challenge_method") == Some("S256")
                && get("scope").is_some_and(|s| s.split(' ').any(|s| s.ends_with("/auth/youtube.upload")));
            if !ok {
                return Scripted::text(400, "Error 400: invalid_request");
            }
            let redirect = get("redirect_uri").unwrap_or_default().to_string();
            state.issued += 1;
            let code = format!("4/yt-code-{}", state.issued);
            state.codes.insert(code.clone(), (redirect.clone(), get("code_challenge").unwrap_or_default().to_string()));
            Scripted::redirect_back(&redirect, &[("code", &code), ("state", get("state").unwrap_or_default())])
        }
        ("POST", "/token") => token(state, &request.form()),
        ("POST", "/revoke") => {
            let form = request.form();
            let token = form.get("token").cloned().unwrap_or_default();
            state.refresh_tokens.remove(&token);
            state.access_tokens.remove(&token);
            Scripted::json(200, json!({}))
        }
        _ if !request.bearer().is_some_and(|t| state.access_tokens.contains(t)) => {
            google_error(401, "authError", "Request had invalid authentication credentials.")
        }
        ("GET", "/youtube/v3/channels") => Scripted::json(
            200,
            json!({"kind": "youtube#channelListResponse", "items": [{"kind": "youtube#channel", "id": CHANNEL_ID, "snippet": {"title": "Ada Cooks", "customUrl": "@adacooks", "thumbnails": {"default": {"url": "https://yt3.example/ada.jpg"}}}}]}),
        ),
        ("POST", "/upload/youtube/v3/videos") => {
            if request.query.get("uploadType").map(String::as_str) != Some("resumable") {
                return google_error(400, "invalidParameter", "uploadType must be resumable here");
            }
            if state.quota_exceeded {
                return google_error(
                    403,
                    "quotaExceeded",
                    "The request cannot be completed because you have exceeded your quota.",
                );
            }
            let Some(size) = request.header("x-upload-content-length").and_then(|s| s.parse::<u64>().ok()) else {
                return google_error(400, "invalidParameter", "X-Upload-Content-Length is required");
            };
            if request.json["snippet"]["title"].as_str().is_none_or(str::is_empty) {
                return google_error(400, "invalidTitle", "The video title is required");
            }
            state.issued += 1;
            let id = format!("yt-session-{}", state.issued);
            state.sessions.insert(id.clone(), Session { metadata: request.json.clone(), size, ..Session::default() });
            let location = format!("{}/upload/youtube/v3/videos?uploadType=resumable&upload_id={id}", state.base);
            Scripted::json(200, json!({})).with_header("location", &location)
        }
        ("PUT", "/upload/youtube/v3/videos") => put(state, request),
        ("GET", "/youtube/v3/videos") => {
            let id = request.query.get("id").cloned().unwrap_or_default();
            let known = state.sessions.values().any(|s| s.video.as_deref() == Some(id.as_str()));
            let items = if known {
                vec![json!({"id": id, "statistics": {"viewCount": "321", "likeCount": "25", "commentCount": "4"}})]
            } else {
                Vec::new()
            };
            Scripted::json(200, json!({"items": items}))
        }
        _ => google_error(404, "notFound", "Not Found"),
    }
}

fn token(state: &mut FakeState, form: &BTreeMap<String, String>) -> Scripted {
    let get = |name: &str| form.get(name).map(String::as_str);
    if get("client_id") != Some(CLIENT_ID) || get("client_secret") != Some(CLIENT_SECRET) {
        return Scripted::json(
            401,
            json!({"error": "invalid_client", "error_description": "The OAuth client was not found."}),
        );
    }
    match get("grant_type") {
        Some("authorization_code") => {
            let Some((redirect, challenge)) = get("code").and_then(|code| state.codes.remove(code)) else {
                return Scripted::json(
                    400,
                    json!({"error": "invalid_grant", "error_description": "Malformed auth code."}),
                );
            };
            let verified =
                get("code_verifier").is_some_and(|v| URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes())) == challenge);
            if Some(redirect.as_str()) != get("redirect_uri") || !verified {
                return Scripted::json(400, json!({"error": "invalid_grant", "error_description": "Bad Request"}));
            }
            state.issued += 1;
            let refresh = format!("1//yt-refresh-{}", state.issued);
            state.refresh_tokens.insert(refresh.clone());
            issue(state, Some(refresh))
        }
        Some("refresh_token") => {
            if !get("refresh_token").is_some_and(|t| state.refresh_tokens.contains(t)) {
                return Scripted::json(
                    400,
                    json!({"error": "invalid_grant", "error_description": "Token has been expired or revoked."}),
                );
            }
            // Google keeps the refresh token: the answer carries none.
            issue(state, None)
        }
        _ => Scripted::json(400, json!({"error": "unsupported_grant_type"})),
    }
}

fn issue(state: &mut FakeState, refresh: Option<String>) -> Scripted {
    state.issued += 1;
    let access = format!("ya29.yt-access-{}", state.issued);
    state.access_tokens.insert(access.clone());
    let mut body = json!({"access_token": access, "expires_in": 3599, "token_type": "Bearer", "scope": "https://www.googleapis.com/auth/youtube.upload https://www.googleapis.com/auth/youtube.readonly"});
    if let Some(refresh) = refresh {
        body["refresh_token"] = json!(refresh);
    }
    Scripted::json(200, body)
}

fn put(state: &mut FakeState, request: &Recorded) -> Scripted {
    let Some(session) = request.query.get("upload_id").and_then(|id| state.sessions.get_mut(id)) else {
        return google_error(404, "notFound", "The upload session does not exist");
    };
    let range = request.header("content-range").unwrap_or_default().trim_start_matches("bytes ").to_string();
    let (span, total) = range.split_once('/').unwrap_or(("", ""));
    if total.parse::<u64>().ok() != Some(session.size) {
        return google_error(400, "badContent", "Content-Range does not match the upload");
    }
    if span != "*" {
        if state.failing_chunks > 0 {
            state.failing_chunks -= 1;
            return Scripted::text(503, "Service Unavailable");
        }
        let start: u64 = span.split('-').next().and_then(|s| s.parse().ok()).unwrap_or(u64::MAX);
        if start != session.received.len() as u64 {
            return google_error(400, "badContent", "The chunk does not start where the upload stands");
        }
        session.received.extend_from_slice(&request.body);
    }
    if session.received.len() as u64 == session.size {
        let id = session.video.get_or_insert_with(|| format!("vid{:08}", session.size % 100_000_000)).clone();
        return Scripted::json(
            200,
            json!({"kind": "youtube#video", "id": id, "snippet": session.metadata["snippet"], "status": {"uploadStatus": "uploaded"}}),
        );
    }
    let answer = Scripted::empty(308);
    if session.received.is_empty() {
        answer
    } else {
        answer.with_header("range", &format!("bytes=0-{}", session.received.len() - 1))
    }
}
