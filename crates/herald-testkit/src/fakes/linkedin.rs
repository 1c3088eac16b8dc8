//! A fake LinkedIn for the `linkedin` and `linkedin-page` providers,
//! written from learn.microsoft.com/linkedin:
//!
//! - OAuth 2.0 (3-legged): `GET /oauth/v2/authorization` (the member
//!   approves at once: 302 with `code` and `state`), `POST
//!   /oauth/v2/accessToken` with the client in the form body (HTTP Basic is
//!   not accepted), answering 60-day access tokens with a refresh token
//!   (`refresh_token_expires_in`, a year; refreshing returns the same
//!   refresh token), `POST /oauth/v2/revoke`;
//! - `GET /v2/userinfo` (OpenID Connect), `GET /rest/organizationAcls`,
//!   `GET /rest/organizations/{id}`;
//! - `POST /rest/posts` (201, the id in `x-restli-id`), the Images API
//!   (`initializeUpload`, then `PUT` of the bytes), comments and social
//!   actions — every `/rest` call must name `LinkedIn-Version` and
//!   `X-Restli-Protocol-Version: 2.0.0`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

use super::server::{FakeServer, Recorded, Scripted};

pub const CLIENT_ID: &str = "linkedin-test-client";
pub const CLIENT_SECRET: &str = "linkedin-test-secret";
/// The member's OpenID subject.
pub const MEMBER: &str = "782bbtaQ";
/// The pages the member administers: (id, name, vanity name).
pub const PAGES: [(&str, &str, &str); 2] =
    [("2414183", "Analytical Engines Ltd", "analytical-engines"), ("5550001", "Difference Club", "difference-club")];

#[derive(Clone)]
pub struct LinkedInFake {
    server: FakeServer,
    state: Arc<Mutex<FakeState>>,
}

#[derive(Default)]
struct FakeState {
    base: String,
    codes: BTreeMap<String, (String, String)>,
    access_tokens: BTreeSet<String>,
    refresh_tokens: BTreeSet<String>,
    issued: u64,
    posts: Vec<Value>,
    comments: Vec<Value>,
    images: BTreeMap<String, usize>,
    /// Videos by URN: size announced, parts received (index → bytes), finalized.
    videos: BTreeMap<String, FakeVideo>,
    revoked: Vec<String>,
    /// The app is not one LinkedIn approved for refresh tokens.
    without_refresh_tokens: bool,
}

/// A video upload as LinkedIn tracks it.
#[derive(Clone, Default)]
pub struct FakeVideo {
    pub size: usize,
    pub parts: BTreeMap<usize, usize>,
    pub finalized_with: Vec<String>,
}

/// LinkedIn splits a video into parts of 4 MiB.
const VIDEO_PART: usize = 4 * 1024 * 1024;

fn lock(state: &Mutex<FakeState>) -> MutexGuard<'_, FakeState> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl LinkedInFake {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(FakeState::default()));
        let for_server = Arc::clone(&state);
        let server = FakeServer::start(Box::new(move |request| answer(&mut lock(&for_server), request))).await;
        lock(&state).base = server.url();
        Self { server, state }
    }

    /// From now on, token answers carry no refresh token: LinkedIn gives
    /// them only to apps it approved.
    pub fn without_refresh_tokens(&self) {
        lock(&self.state).without_refresh_tokens = true;
    }

    /// What `HERALD_PROVIDER_LINKEDIN_API_BASE` (and `…_LINKEDIN_PAGE_…`) should be.
    pub fn base_url(&self) -> String {
        self.server.url()
    }

    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.server.requests_to(path)
    }

    /// Posts created, as LinkedIn stored them (with their `id`).
    pub fn posts(&self) -> Vec<Value> {
        lock(&self.state).posts.clone()
    }

    pub fn comments(&self) -> Vec<Value> {
        lock(&self.state).comments.clone()
    }

    /// Bytes received per uploaded image URN.
    pub fn videos(&self) -> BTreeMap<String, FakeVideo> {
        lock(&self.state).videos.clone()
    }

    pub fn uploaded_images(&self) -> BTreeMap<String, usize> {
        lock(&self.state).images.clone()
    }

    pub fn revoked(&self) -> Vec<String> {
        lock(&self.state).revoked.clone()
    }
}

fn oauth_error(error: &str, description: &str) -> Scripted {
    Scripted::json(400, json!({ "error": error, "error_description": description }))
}

fn api_error(status: u16, code: &str, message: &str) -> Scripted {
    Scripted::json(status, json!({ "status": status, "code": code, "message": message }))
}

fn answer(state: &mut FakeState, request: &Recorded) -> Scripted {
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/oauth/v2/authorization") => authorize(state, request),
        ("POST", "/oauth/v2/accessToken") => token(state, request),
        ("POST", "/oauth/v2/revoke") => {
            let form = request.form();
            if form.get("client_secret").map(String::as_str) != Some(CLIENT_SECRET) {
                return oauth_error("invalid_client", "Client authentication failed");
            }
            let token = form.get("token").cloned().unwrap_or_default();
            state.access_tokens.remove(&token);
            state.refresh_tokens.remove(&token);
            state.revoked.push(token);
            Scripted::empty(200)
        }
        (method, path) if path.starts_with("/video-parts/") && method == "PUT" => {
            let rest = path.trim_start_matches("/video-parts/");
            let (id, part) = rest.split_once('/').unwrap_or((rest, "0"));
            let urn = format!("urn:li:video:C5F10AQ{id}");
            let part: usize = part.parse().unwrap_or(0);
            let Some(video) = state.videos.get_mut(&urn) else { return api_error(404, "NOT_FOUND", "Not Found") };
            let expected = VIDEO_PART.min(video.size - part * VIDEO_PART);
            if request.body.len() != expected {
                return api_error(400, "BAD_REQUEST", "part size does not match the upload instruction");
            }
            video.parts.insert(part, request.body.len());
            Scripted::empty(200).with_header("etag", &format!("/ambry-video/signedId/{id}-{part}"))
        }
        (method, path) if path.starts_with("/dms-uploads/") && method == "PUT" => {
            let urn = format!("urn:li:image:C4E10AQ{}", path.trim_start_matches("/dms-uploads/"));
            state.images.insert(urn, request.body.len());
            Scripted::empty(201)
        }
        _ => {
            if !request.bearer().is_some_and(|token| state.access_tokens.contains(token)) {
                return api_error(401, "INVALID_ACCESS_TOKEN", "Invalid access token");
            }
            if request.path.starts_with("/rest/")
                && (request.header("linkedin-version").is_none()
                    || request.header("x-restli-protocol-version") != Some("2.0.0"))
            {
                return api_error(426, "NONEXISTENT_VERSION", "A version header is required");
            }
            api(state, request)
        }
    }
}

fn authorize(state: &mut FakeState, request: &Recorded) -> Scripted {
    let q = &request.query;
    let redirect = q.get("redirect_uri").cloned().unwrap_or_default();
    if q.get("client_id").map(String::as_str) != Some(CLIENT_ID)
        || q.get("response_type").map(String::as_str) != Some("code")
        || redirect.is_empty()
    {
        return Scripted::text(400, "invalid request");
    }
    state.issued += 1;
    let code = format!("li-code-{}", state.issued);
    state.codes.insert(code.clone(), (redirect.clone(), q.get("scope").cloned().unwrap_or_default()));
    Scripted::redirect_back(&redirect, &[("code", &code), ("state", q.get("state").map_or("", String::as_str))])
}

fn token(state: &mut FakeState, request: &Recorded) -> Scripted {
    let form = request.form();
    let client_ok = form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
        && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET);
    if request.header("authorization").is_some() || !client_ok {
        return Scripted::json(
            401,
            json!({"error": "invalid_client", "error_description": "Client authentication failed"}),
        );
    }
    let (refresh, scope) = match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let Some((redirect, scope)) = form.get("code").and_then(|code| state.codes.remove(code)) else {
                return oauth_error("invalid_request", "Unable to retrieve access token: authorization code not found");
            };
            if form.get("redirect_uri") != Some(&redirect) {
                return oauth_error(
                    "invalid_redirect_uri",
                    "Unable to retrieve access token: appid/redirect uri/code verifier does not match authorization code",
                );
            }
            state.issued += 1;
            (format!("li-refresh-{}", state.issued), scope)
        }
        Some("refresh_token") => {
            let presented = form.get("refresh_token").cloned().unwrap_or_default();
            if !state.refresh_tokens.contains(&presented) {
                return oauth_error(
                    "invalid_grant",
                    "The provided authorization grant or refresh token is invalid, expired or revoked.",
                );
            }
            (presented, "openid profile w_member_social".to_string())
        }
        _ => return oauth_error("unsupported_grant_type", "grant_type not supported"),
    };
    state.issued += 1;
    let access = format!("li-access-{}", state.issued);
    state.access_tokens.insert(access.clone());
    if state.without_refresh_tokens {
        return Scripted::json(
            200,
            json!({"access_token": access, "expires_in": 5_184_000, "scope": scope.replace(' ', ",")}),
        );
    }
    state.refresh_tokens.insert(refresh.clone());
    Scripted::json(
        200,
        json!({
            "access_token": access, "expires_in": 5_184_000,
            "refresh_token": refresh, "refresh_token_expires_in": 31_536_000, "scope": scope.replace(' ', ","),
        }),
    )
}

fn api(state: &mut FakeState, request: &Recorded) -> Scripted {
    let person = format!("urn:li:person:{MEMBER}");
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/v2/userinfo") => Scripted::json(
            200,
            json!({
                "sub": MEMBER, "email_verified": true, "name": "Ada Lovelace", "locale": {"country": "GB", "language": "en"},
                "given_name": "Ada", "family_name": "Lovelace", "email": "ada@example.com",
                "picture": "https://media.licdn.com/dms/image/ada.jpg"
            }),
        ),
        ("GET", "/rest/organizationAcls") => {
            let elements: Vec<Value> = PAGES
                .iter()
                .map(|(id, _, _)| {
                    json!({
                        "roleAssignee": person, "state": "APPROVED", "role": "ADMINISTRATOR",
                        "organization": format!("urn:li:organization:{id}")
                    })
                })
                .collect();
            Scripted::json(
                200,
                json!({ "paging": {"start": 0, "count": 10, "total": elements.len()}, "elements": elements }),
            )
        }
        ("POST", "/rest/images") if request.query.get("action").map(String::as_str) == Some("initializeUpload") => {
            let n = state.images.len() + state.posts.len() + 1;
            Scripted::json(
                200,
                json!({"value": {
                    "uploadUrlExpiresAt": 1_764_000_000_000_i64,
                    "uploadUrl": format!("{}/dms-uploads/{n}", state.base),
                    "image": format!("urn:li:image:C4E10AQ{n}")
                }}),
            )
        }
        ("POST", "/rest/videos") => match request.query.get("action").map(String::as_str) {
            Some("initializeUpload") => {
                let size = request.json["initializeUploadRequest"]["fileSizeBytes"].as_u64().unwrap_or(0) as usize;
                if size == 0 {
                    return api_error(422, "UNPROCESSABLE_ENTITY", "/fileSizeBytes :: field is required");
                }
                let id = state.videos.len() + 1;
                let urn = format!("urn:li:video:C5F10AQ{id}");
                let parts: Vec<Value> = (0..size.div_ceil(VIDEO_PART))
                    .map(|part| {
                        json!({
                            "uploadUrl": format!("{}/video-parts/{id}/{part}", state.base),
                            "firstByte": part * VIDEO_PART,
                            "lastByte": ((part + 1) * VIDEO_PART).min(size) - 1,
                        })
                    })
                    .collect();
                state.videos.insert(urn.clone(), FakeVideo { size, ..FakeVideo::default() });
                Scripted::json(
                    200,
                    json!({"value": {"uploadUrlsExpireAt": 1_764_000_000_000_i64, "video": urn, "uploadInstructions": parts, "uploadToken": ""}}),
                )
            }
            Some("finalizeUpload") => {
                let request = &request.json["finalizeUploadRequest"];
                let urn = request["video"].as_str().unwrap_or_default();
                let Some(video) = state.videos.get_mut(urn) else { return api_error(404, "NOT_FOUND", "Not Found") };
                let etags: Vec<String> = request["uploadedPartIds"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e.as_str().map(str::to_string))
                    .collect();
                if video.parts.len() != video.size.div_ceil(VIDEO_PART) || etags.len() != video.parts.len() {
                    return api_error(400, "BAD_REQUEST", "uploadedPartIds do not match the parts uploaded");
                }
                video.finalized_with = etags;
                Scripted::empty(200)
            }
            _ => api_error(400, "BAD_REQUEST", "unknown action"),
        },
        ("POST", "/rest/posts") => {
            let body = &request.json;
            let author = body["author"].as_str().unwrap_or_default();
            let allowed =
                author == person || PAGES.iter().any(|(id, _, _)| author == format!("urn:li:organization:{id}"));
            if !allowed {
                return api_error(403, "ACCESS_DENIED", &format!("Not enough permissions to post as {author}"));
            }
            if body["commentary"].as_str().is_none() || body["lifecycleState"] != "PUBLISHED" {
                return api_error(422, "UNPROCESSABLE_ENTITY", "/commentary :: field is required");
            }
            let urn = format!("urn:li:share:71234567890{:05}", state.posts.len() + 1);
            let mut stored = body.clone();
            stored["id"] = json!(urn);
            state.posts.push(stored);
            Scripted::empty(201).with_header("x-restli-id", &urn)
        }
        (method, path) => match path.strip_prefix("/rest/socialActions/") {
            Some(rest) => {
                let (target, tail) = rest.split_once('/').unwrap_or((rest, ""));
                let target = url::form_urlencoded::parse(format!("v={target}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                if !state.posts.iter().any(|p| p["id"] == target.as_str()) {
                    return api_error(404, "NOT_FOUND", "Not Found");
                }
                match (method, tail) {
                    ("POST", "comments") => {
                        let id = format!("urn:li:comment:({target},{})", 7000 + state.comments.len());
                        let mut stored = request.json.clone();
                        stored["id"] = json!(id);
                        state.comments.push(stored);
                        Scripted::json(201, json!({"id": id})).with_header("x-restli-id", &id)
                    }
                    ("GET", "") => Scripted::json(
                        200,
                        json!({
                            "likesSummary": {"totalLikes": 12, "likedByCurrentUser": false},
                            "commentsSummary": {"aggregatedTotalComments": state.comments.iter().filter(|c| c["object"] == target.as_str()).count(), "totalFirstLevelComments": 0},
                            "target": target
                        }),
                    ),
                    _ => api_error(404, "NOT_FOUND", "Not Found"),
                }
            }
            None if path.starts_with("/rest/videos/") && method == "GET" => {
                let urn =
                    url::form_urlencoded::parse(format!("v={}", path.trim_start_matches("/rest/videos/")).as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default();
                match state.videos.get(&urn) {
                    Some(video) if !video.finalized_with.is_empty() => Scripted::json(
                        200,
                        json!({"id": urn, "status": "AVAILABLE", "owner": format!("urn:li:person:{MEMBER}")}),
                    ),
                    Some(_) => Scripted::json(200, json!({"id": urn, "status": "WAITING_UPLOAD"})),
                    None => api_error(404, "NOT_FOUND", "Not Found"),
                }
            }
            None => match path.strip_prefix("/rest/organizations/") {
                Some(id) => match PAGES.iter().find(|(page, _, _)| *page == id) {
                    Some((id, name, vanity)) => Scripted::json(
                        200,
                        json!({"id": id.parse::<u64>().unwrap_or(0), "localizedName": name, "vanityName": vanity}),
                    ),
                    None => api_error(404, "NOT_FOUND", "Not Found"),
                },
                None => api_error(404, "NOT_FOUND", "Not Found"),
            },
        },
    }
}
