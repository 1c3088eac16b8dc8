//! A fake TikTok for the `tiktok` provider, written from the Login Kit
//! (OAuth v2) and Content Posting API references (developers.tiktok.com):
//!
//! - `GET /v2/auth/authorize/` (`client_key`, comma-separated `scope`),
//!   `POST /v2/oauth/token/` (form with `client_key`, `client_secret`;
//!   `authorization_code` and `refresh_token`; 24-hour access tokens,
//!   refresh tokens that rotate and are spent once; a spent one answers
//!   `{"error": "invalid_grant"}`), `POST /v2/oauth/revoke/`;
//! - `GET /v2/user/info/`, `POST /v2/post/publish/creator_info/query/`,
//!   `POST /v2/post/publish/video/init/` (FILE_UPLOAD with `video_size`,
//!   `chunk_size`, `total_chunk_count`, or PULL_FROM_URL) → `publish_id` and
//!   `upload_url`; `PUT {upload_url}` with `Content-Range` (206, then 201);
//!   `POST /v2/post/publish/status/fetch/` (`uploaded_bytes`, then
//!   PROCESSING_UPLOAD for as many polls as the test asks, PUBLISH_COMPLETE).
//!
//! Answers wrap `{"data": …, "error": {"code": "ok", "message": "", "log_id"}}`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

use super::server::{FakeServer, Recorded, Scripted};

pub const CLIENT_KEY: &str = "tiktok-test-key";
pub const CLIENT_SECRET: &str = "tiktok-test-secret";
pub const OPEN_ID: &str = "-000ada-open-id";

#[derive(Clone)]
pub struct TikTokFake {
    server: FakeServer,
    state: Arc<Mutex<FakeState>>,
}

#[derive(Default)]
struct Publish {
    post_info: Value,
    size: u64,
    chunk_size: u64,
    received: Vec<u8>,
    pull_url: Option<String>,
    polls_left: u32,
    complete: bool,
}

#[derive(Default)]
struct FakeState {
    base: String,
    codes: BTreeMap<String, String>,
    access_tokens: BTreeSet<String>,
    refresh_tokens: BTreeSet<String>,
    spent_refresh_tokens: u32,
    issued: u64,
    publishes: BTreeMap<String, Publish>,
    processing_polls: u32,
    privacy_options: Vec<&'static str>,
}

fn lock(state: &Mutex<FakeState>) -> MutexGuard<'_, FakeState> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn ok(data: Value) -> Scripted {
    Scripted::json(200, json!({"data": data, "error": {"code": "ok", "message": "", "log_id": "2026120600000001"}}))
}

fn error(status: u16, code: &str, message: &str) -> Scripted {
    Scripted::json(
        status,
        json!({"data": {}, "error": {"code": code, "message": message, "log_id": "2026120600000002"}}),
    )
}

impl TikTokFake {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(FakeState {
            processing_polls: 1,
            privacy_options: vec!["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"],
            ..FakeState::default()
        }));
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

    /// Publishes begun (`video/init` calls that succeeded).
    pub fn publishes(&self) -> usize {
        lock(&self.state).publishes.len()
    }

    /// Completed posts: post info and the bytes received.
    pub fn posts(&self) -> Vec<(Value, Vec<u8>)> {
        lock(&self.state)
            .publishes
            .values()
            .filter(|p| p.complete)
            .map(|p| (p.post_info.clone(), p.received.clone()))
            .collect()
    }

    /// Refresh tokens that were presented after being spent.
    pub fn spent_refresh_tokens_used(&self) -> u32 {
        lock(&self.state).spent_refresh_tokens
    }

    /// An app TikTok has not audited: private posts only.
    pub fn unaudited(&self) {
        lock(&self.state).privacy_options = vec!["SELF_ONLY"];
    }

    /// Every access token expires (refresh tokens keep working).
    pub fn expire_access_tokens(&self) {
        lock(&self.state).access_tokens.clear();
    }
}

fn answer(state: &mut FakeState, request: &Recorded) -> Scripted {
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/v2/auth/authorize/") => {
            let q = &request.query;
            let get = |name: &str| q.get(name).map(String::as_str);
            let scopes: Vec<&str> = get("scope").map(|s| s.split(',').collect()).unwrap_or_default();
            if get("client_key") != Some(CLIENT_KEY)
                || get("response_type") != Some("code")
                || !scopes.contains(&"video.publish")
            {
                return Scripted::text(400, "invalid request");
            }
            let redirect = get("redirect_uri").unwrap_or_default().to_string();
            state.issued += 1;
            let code = format!("tt-code-{}", state.issued);
            state.codes.insert(code.clone(), redirect.clone());
            Scripted::redirect_back(
                &redirect,
                &[
                    ("code", &code),
                    ("state", get("state").unwrap_or_default()),
                    ("scopes", "user.info.basic,video.publish,video.upload"),
                ],
            )
        }
        ("POST", "/v2/oauth/token/") => {
            let form = request.form();
            let get = |name: &str| form.get(name).map(String::as_str);
            if get("client_key") != Some(CLIENT_KEY) || get("client_secret") != Some(CLIENT_SECRET) {
                return Scripted::json(
                    200,
                    json!({"error": "invalid_client", "error_description": "Client key or secret is incorrect.", "log_id": "x"}),
                );
            }
            match get("grant_type") {
                Some("authorization_code") => {
                    let redirect = get("code").and_then(|code| state.codes.remove(code));
                    if redirect.is_none() || redirect.as_deref() != get("redirect_uri") {
                        return Scripted::json(
                            200,
                            json!({"error": "invalid_grant", "error_description": "Authorization code is expired.", "log_id": "x"}),
                        );
                    }
                }
                Some("refresh_token") => {
                    let presented = get("refresh_token").unwrap_or_default().to_string();
                    if !state.refresh_tokens.remove(&presented) {
                        state.spent_refresh_tokens += 1;
                        return Scripted::json(
                            200,
                            json!({"error": "invalid_grant", "error_description": "Refresh token is invalid or expired.", "log_id": "x"}),
                        );
                    }
                }
                _ => {
                    return Scripted::json(
                        200,
                        json!({"error": "invalid_request", "error_description": "grant_type", "log_id": "x"}),
                    );
                }
            }
            state.issued += 1;
            let (access, refresh) = (format!("act.tt-{}", state.issued), format!("rft.tt-{}", state.issued));
            state.access_tokens.insert(access.clone());
            state.refresh_tokens.insert(refresh.clone());
            Scripted::json(
                200,
                json!({"access_token": access, "expires_in": 86400, "open_id": OPEN_ID, "refresh_expires_in": 31_536_000, "refresh_token": refresh, "scope": "user.info.basic,video.publish,video.upload", "token_type": "Bearer"}),
            )
        }
        ("POST", "/v2/oauth/revoke/") => Scripted::json(200, json!({})),
        ("PUT", path) if path.starts_with("/upload/") => upload(state, request),
        _ if !request.bearer().is_some_and(|t| state.access_tokens.contains(t)) => {
            error(401, "access_token_invalid", "The access token is invalid or not found in the request.")
        }
        ("GET", "/v2/user/info/") => ok(
            json!({"user": {"open_id": OPEN_ID, "union_id": "u-1", "avatar_url": "https://p16.tiktokcdn.example/ada.jpeg", "display_name": "Ada Makes", "username": "adamakes"}}),
        ),
        ("POST", "/v2/post/publish/creator_info/query/") => ok(json!({
            "creator_avatar_url": "https://p16.tiktokcdn.example/ada.jpeg", "creator_username": "adamakes", "creator_nickname": "Ada Makes",
            "privacy_level_options": state.privacy_options, "comment_disabled": false, "duet_disabled": false, "stitch_disabled": true,
            "max_video_post_duration_sec": 600
        })),
        ("POST", "/v2/post/publish/video/init/") => init(state, &request.json),
        ("POST", "/v2/post/publish/status/fetch/") => {
            let Some(publish) = request.json["publish_id"].as_str().and_then(|id| state.publishes.get_mut(id)) else {
                return error(400, "invalid_publish_id", "The publish_id does not exist.");
            };
            let uploaded = publish.received.len() as u64;
            let status = if publish.pull_url.is_none() && uploaded < publish.size {
                "PROCESSING_UPLOAD"
            } else if publish.polls_left > 0 {
                publish.polls_left -= 1;
                if publish.pull_url.is_some() { "PROCESSING_DOWNLOAD" } else { "PROCESSING_UPLOAD" }
            } else {
                publish.complete = true;
                "PUBLISH_COMPLETE"
            };
            let ids: Vec<u64> = if status == "PUBLISH_COMPLETE" && publish.post_info["privacy_level"] != "SELF_ONLY" {
                vec![7_400_000_000_000_000_001]
            } else {
                Vec::new()
            };
            ok(json!({"status": status, "uploaded_bytes": uploaded, "publicaly_available_post_id": ids}))
        }
        _ => error(404, "not_found", "Not found"),
    }
}

fn init(state: &mut FakeState, body: &Value) -> Scripted {
    let privacy = body["post_info"]["privacy_level"].as_str().unwrap_or_default();
    if !state.privacy_options.contains(&privacy) {
        let code = if state.privacy_options == ["SELF_ONLY"] {
            "unaudited_client_can_only_post_to_private_accounts"
        } else {
            "privacy_level_option_mismatch"
        };
        return error(403, code, "The privacy level is not one the creator may use.");
    }
    let source = &body["source_info"];
    state.issued += 1;
    let id = format!("v_pub_file~v2-1.{}", state.issued);
    let mut publish =
        Publish { post_info: body["post_info"].clone(), polls_left: state.processing_polls, ..Publish::default() };
    match source["source"].as_str() {
        Some("FILE_UPLOAD") => {
            let (Some(size), Some(chunk), Some(count)) =
                (source["video_size"].as_u64(), source["chunk_size"].as_u64(), source["total_chunk_count"].as_u64())
            else {
                return error(400, "invalid_params", "video_size, chunk_size and total_chunk_count are required");
            };
            let valid = if size < 5 * 1024 * 1024 {
                chunk == size && count == 1
            } else {
                (5 * 1024 * 1024..=64 * 1024 * 1024).contains(&chunk) && count == size / chunk
            };
            if !valid {
                return error(400, "invalid_params", "The chunk size or count does not fit the video size");
            }
            publish.size = size;
            publish.chunk_size = chunk;
        }
        Some("PULL_FROM_URL") => publish.pull_url = source["video_url"].as_str().map(str::to_string),
        _ => return error(400, "invalid_params", "source must be FILE_UPLOAD or PULL_FROM_URL"),
    }
    let upload_url = publish.pull_url.is_none().then(|| format!("{}/upload/?upload_id={}", state.base, state.issued));
    state.publishes.insert(id.clone(), publish);
    ok(json!({"publish_id": id, "upload_url": upload_url}))
}

fn upload(state: &mut FakeState, request: &Recorded) -> Scripted {
    let upload_id = request.query.get("upload_id").cloned().unwrap_or_default();
    let Some(publish) =
        state.publishes.iter_mut().find(|(id, _)| id.ends_with(&format!(".{upload_id}"))).map(|(_, p)| p)
    else {
        return Scripted::text(404, "no such upload");
    };
    let range = request.header("content-range").unwrap_or_default().trim_start_matches("bytes ").to_string();
    let start: u64 = range.split('-').next().and_then(|s| s.parse().ok()).unwrap_or(u64::MAX);
    if (start != 0 && !start.is_multiple_of(publish.chunk_size)) || start > publish.received.len() as u64 {
        return Scripted::text(416, "Range Not Satisfiable");
    }
    publish.received.truncate(start as usize);
    publish.received.extend_from_slice(&request.body);
    if publish.received.len() as u64 == publish.size { Scripted::empty(201) } else { Scripted::empty(206) }
}
