//! A fake X (API v2 with OAuth 2.0 Authorization Code + PKCE) for the `x`
//! provider's tests, written from docs.x.com:
//!
//! - `GET /i/oauth2/authorize` (`response_type=code`, `client_id`,
//!   `redirect_uri`, `scope`, `state`, `code_challenge`,
//!   `code_challenge_method=S256`): the user approves at once — 302 to the
//!   redirect URI with `code` and `state` (or `error=access_denied` after
//!   [`XFake::deny_next_consent`]).
//! - `POST /2/oauth2/token` (form): `authorization_code` with `code`,
//!   `redirect_uri`, `code_verifier` — checked against the S256 challenge —
//!   or `refresh_token`. Confidential clients authenticate with HTTP Basic,
//!   public ones send `client_id`. Access tokens live 7200 s; refresh
//!   tokens are single-use and rotate. A spent, revoked or unknown token
//!   answers 400 `{"error":"invalid_request","error_description":…}` —
//!   X's answer, not `invalid_grant`.
//! - `POST /2/oauth2/revoke` (form `token`, `token_type_hint`) → `{"revoked":true}`.
//! - OAuth 1.0a: `POST /oauth/request_token` (signed, with
//!   `oauth_callback`), `GET /oauth/authorize?oauth_token=` (302 back with
//!   `oauth_token` and `oauth_verifier`), `POST /oauth/access_token`
//!   (signed with the request token and the verifier),
//!   `POST /1.1/oauth/invalidate_token`. Each HMAC-SHA1 signature is
//!   recomputed from the request and the secrets and must match.
//! - `GET /2/users/me`, `POST /2/tweets`, `GET /2/tweets/{id}`,
//!   `POST /2/media/upload` (one image), and the chunked upload for video:
//!   `POST /2/media/upload/initialize`, `…/{id}/append` (multipart `media`
//!   and `segment_index`), `…/{id}/finalize` (processing `pending`), then
//!   `GET /2/media/upload?command=STATUS&media_id=` (`succeeded`) — with a
//!   bearer token or an OAuth 1.0a signature; 401 problem JSON otherwise,
//!   403 for duplicate text.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::server::{FakeServer, Recorded, Scripted};

pub const CLIENT_ID: &str = "herald-test-client";
pub const CLIENT_SECRET: &str = "herald-test-secret";
/// The OAuth 1.0a app: `X_API_KEY`, `X_API_SECRET`.
pub const API_KEY: &str = "herald-test-consumer-key";
pub const API_SECRET: &str = "herald-test-consumer-secret";
pub const USER_ID: &str = "2244994945";
pub const USERNAME: &str = "ada_x";
/// Seconds an access token lives, as X documents.
pub const ACCESS_TOKEN_SECONDS: i64 = 7200;

#[derive(Clone)]
pub struct XFake {
    server: FakeServer,
    state: Arc<Mutex<FakeState>>,
}

struct Grant {
    challenge: String,
    redirect_uri: String,
    scope: String,
}

#[derive(Default)]
struct FakeState {
    codes: BTreeMap<String, Grant>,
    access_tokens: BTreeSet<String>,
    refresh_tokens: BTreeSet<String>,
    issued: u64,
    refreshes: u64,
    deny_next: bool,
    /// The next token answer leaves out `refresh_token`.
    omit_refresh_token: bool,
    /// Seconds an access token lives (X's 7200 unless shortened).
    token_seconds: Option<i64>,
    /// How long a refresh answer takes.
    refresh_delay: Option<std::time::Duration>,
    /// Refresh grants refused (a spent or unknown refresh token).
    refused_refreshes: u64,
    tweets: Vec<Value>,
    revoked: Vec<String>,
    /// OAuth 1.0a tokens and their secrets: request tokens (with their
    /// callback and, once approved, verifier), then access tokens.
    request_tokens: BTreeMap<String, RequestToken>,
    access_1a: BTreeMap<String, String>,
    /// Chunked uploads by media id.
    uploads: BTreeMap<String, Upload>,
}

struct RequestToken {
    secret: String,
    callback: String,
    verifier: Option<String>,
}

#[derive(Clone, Default)]
pub struct Upload {
    pub media_type: String,
    pub total_bytes: usize,
    pub received: usize,
    pub segments: Vec<usize>,
    pub finalized: bool,
    pub status_checks: usize,
}

fn lock(state: &Mutex<FakeState>) -> MutexGuard<'_, FakeState> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl XFake {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(FakeState::default()));
        let for_server = Arc::clone(&state);
        let server = FakeServer::start(Box::new(move |request| answer(&mut lock(&for_server), request))).await;
        Self { server, state }
    }

    /// What `HERALD_PROVIDER_X_API_BASE` should be.
    pub fn base_url(&self) -> String {
        self.server.url()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    pub fn requests_to(&self, path: &str) -> Vec<Recorded> {
        self.server.requests_to(path)
    }

    /// Answer the next request to `endpoint` (e.g. `"POST /2/tweets"`) with this.
    pub fn script(&self, reply: Scripted) {
        self.server.script(reply);
    }

    /// The user declines at the consent page next time.
    pub fn deny_next_consent(&self) {
        lock(&self.state).deny_next = true;
    }

    /// The next token answer has no refresh token.
    pub fn omit_refresh_token_once(&self) {
        lock(&self.state).omit_refresh_token = true;
    }

    /// Every access token stops working (as if they expired).
    pub fn expire_access_tokens(&self) {
        lock(&self.state).access_tokens.clear();
    }

    /// The user revoked Herald's access in their X settings.
    pub fn revoke_grant(&self) {
        let mut state = lock(&self.state);
        state.access_tokens.clear();
        state.refresh_tokens.clear();
    }

    /// Access tokens live `seconds` from now on (a race test's fast clock).
    pub fn token_lifetime(&self, seconds: i64) {
        lock(&self.state).token_seconds = Some(seconds);
    }

    /// Refresh answers take `delay`: a refresh is in flight long enough
    /// for another process to try one too.
    pub fn slow_refreshes(&self, delay: std::time::Duration) {
        lock(&self.state).refresh_delay = Some(delay);
    }

    /// How many refresh grants were refused: a spent token presented again.
    pub fn refused_refreshes(&self) -> u64 {
        lock(&self.state).refused_refreshes
    }

    /// How many refresh-token grants X answered successfully.
    pub fn refreshes(&self) -> u64 {
        lock(&self.state).refreshes
    }

    /// Tokens revoked through `POST /2/oauth2/revoke`.
    pub fn revoked(&self) -> Vec<String> {
        lock(&self.state).revoked.clone()
    }

    /// Chunked uploads, by media id.
    pub fn uploads(&self) -> BTreeMap<String, Upload> {
        lock(&self.state).uploads.clone()
    }

    /// OAuth 1.0a access tokens that still work.
    pub fn oauth1_tokens(&self) -> Vec<String> {
        lock(&self.state).access_1a.keys().cloned().collect()
    }

    /// Tweets created, as X stored them.
    pub fn tweets(&self) -> Vec<Value> {
        lock(&self.state).tweets.clone()
    }
}

fn problem(status: u16, title: &str, detail: &str) -> Scripted {
    Scripted::json(status, json!({ "title": title, "detail": detail, "type": "about:blank", "status": status }))
}

fn oauth_error(description: &str) -> Scripted {
    Scripted::json(400, json!({ "error": "invalid_request", "error_description": description }))
}

fn answer(state: &mut FakeState, request: &Recorded) -> Scripted {
    let endpoint = format!("{} {}", request.method, request.path);
    match endpoint.as_str() {
        "GET /i/oauth2/authorize" => authorize(state, request),
        "POST /2/oauth2/token" => token(state, request),
        "POST /2/oauth2/revoke" => revoke(state, request),
        "POST /oauth/request_token" => request_token(state, request),
        "GET /oauth/authorize" => authorize_1a(state, request),
        "POST /oauth/access_token" => access_token(state, request),
        _ => {
            let authorised = request.bearer().is_some_and(|token| state.access_tokens.contains(token))
                || signed_by(state, request).is_some();
            if !authorised {
                return problem(401, "Unauthorized", "Unauthorized");
            }
            api(state, request, &endpoint)
        }
    }
}

fn authorize(state: &mut FakeState, request: &Recorded) -> Scripted {
    let query = &request.query;
    let redirect_uri = query.get("redirect_uri").cloned().unwrap_or_default();
    let state_param = query.get("state").cloned().unwrap_or_default();
    let well_formed = query.get("response_type").map(String::as_str) == Some("code")
        && query.get("client_id").map(String::as_str) == Some(CLIENT_ID)
        && query.get("code_challenge_method").map(String::as_str) == Some("S256")
        && query.get("code_challenge").is_some_and(|c| c.len() >= 43)
        && !state_param.is_empty()
        && !redirect_uri.is_empty();
    if !well_formed {
        return Scripted::text(400, "Something went wrong: the authorization request is not valid");
    }
    if std::mem::take(&mut state.deny_next) {
        return Scripted::redirect_back(&redirect_uri, &[("error", "access_denied"), ("state", &state_param)]);
    }
    state.issued += 1;
    let code = format!("code-{}", state.issued);
    state.codes.insert(
        code.clone(),
        Grant {
            challenge: query.get("code_challenge").cloned().unwrap_or_default(),
            redirect_uri: redirect_uri.clone(),
            scope: query.get("scope").cloned().unwrap_or_default(),
        },
    );
    Scripted::redirect_back(&redirect_uri, &[("state", &state_param), ("code", &code)])
}

/// The client authenticated as X requires: Basic for the confidential
/// client, `client_id` in the body for a public one.
fn client_ok(request: &Recorded, form: &BTreeMap<String, String>) -> bool {
    match request.basic_auth() {
        Some(client) => client == (CLIENT_ID.to_string(), CLIENT_SECRET.to_string()),
        None => form.get("client_id").map(String::as_str) == Some(CLIENT_ID),
    }
}

fn issue(state: &mut FakeState, scope: &str) -> Scripted {
    state.issued += 1;
    let access = format!("x-access-{}", state.issued);
    let refresh = format!("x-refresh-{}", state.issued);
    state.access_tokens.insert(access.clone());
    let mut body = json!({
        "token_type": "bearer",
        "expires_in": state.token_seconds.unwrap_or(ACCESS_TOKEN_SECONDS),
        "access_token": access,
        "scope": scope,
    });
    if !std::mem::take(&mut state.omit_refresh_token) {
        state.refresh_tokens.insert(refresh.clone());
        body["refresh_token"] = json!(refresh);
    }
    Scripted::json(200, body)
}

fn token(state: &mut FakeState, request: &Recorded) -> Scripted {
    let form = request.form();
    if !request.content_type().starts_with("application/x-www-form-urlencoded") {
        return oauth_error("Missing required parameter [grant_type].");
    }
    if !client_ok(request, &form) {
        return Scripted::json(
            401,
            json!({"error": "unauthorized_client", "error_description": "Missing valid authorization header"}),
        );
    }
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let Some(grant) = form.get("code").and_then(|code| state.codes.remove(code)) else {
                return oauth_error("Value passed for the authorization code was invalid.");
            };
            let verifier = form.get("code_verifier").cloned().unwrap_or_default();
            let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
            if challenge != grant.challenge {
                return oauth_error("Value passed for the code verifier was invalid.");
            }
            if form.get("redirect_uri") != Some(&grant.redirect_uri) {
                return oauth_error(
                    "Value passed for the redirect uri did not match the uri of the authorization code.",
                );
            }
            issue(state, &grant.scope)
        }
        Some("refresh_token") => {
            let presented = form.get("refresh_token").cloned().unwrap_or_default();
            // Single-use: the token is spent whatever happens next.
            if !state.refresh_tokens.remove(&presented) {
                state.refused_refreshes += 1;
                return oauth_error("Value passed for the token was invalid.");
            }
            state.refreshes += 1;
            let issued = issue(state, "tweet.read tweet.write users.read media.write offline.access");
            match state.refresh_delay {
                Some(delay) => issued.after(delay),
                None => issued,
            }
        }
        _ => Scripted::json(
            400,
            json!({"error": "unsupported_grant_type", "error_description": "Grant type is not supported."}),
        ),
    }
}

fn revoke(state: &mut FakeState, request: &Recorded) -> Scripted {
    let form = request.form();
    if !client_ok(request, &form) {
        return Scripted::json(401, json!({"error": "unauthorized_client"}));
    }
    let token = form.get("token").cloned().unwrap_or_default();
    state.access_tokens.remove(&token);
    state.refresh_tokens.remove(&token);
    state.revoked.push(token);
    Scripted::json(200, json!({ "revoked": true }))
}

fn api(state: &mut FakeState, request: &Recorded, endpoint: &str) -> Scripted {
    match endpoint {
        "GET /2/users/me" => Scripted::json(
            200,
            json!({"data": {
                "id": USER_ID,
                "name": "Ada Lovelace",
                "username": USERNAME,
                "profile_image_url": "https://pbs.twimg.com/profile_images/ada_normal.jpg"
            }}),
        ),
        "POST /2/tweets" => create_tweet(state, &request.json),
        "POST /1.1/oauth/invalidate_token" => match signed_by(state, request) {
            Some(token) => {
                state.access_1a.remove(&token);
                state.revoked.push(token.clone());
                Scripted::json(200, json!({ "access_token": token }))
            }
            None => problem(401, "Unauthorized", "Unauthorized"),
        },
        "POST /2/media/upload/initialize" => {
            let body = &request.json;
            let (Some(media_type), Some(total)) = (body["media_type"].as_str(), body["total_bytes"].as_u64()) else {
                return problem(400, "Invalid Request", "One or more parameters to your request was invalid.");
            };
            let id = format!("1880028106020516{:03}", state.uploads.len() + 100);
            let upload = Upload {
                media_type: media_type.into(),
                total_bytes: usize::try_from(total).unwrap_or(0),
                ..Upload::default()
            };
            state.uploads.insert(id.clone(), upload);
            Scripted::json(
                200,
                json!({"data": {"id": id, "media_key": format!("7_{id}"), "expires_after_secs": 86400}}),
            )
        }
        "GET /2/media/upload" => {
            let id = request.query.get("media_id").cloned().unwrap_or_default();
            match state.uploads.get_mut(&id) {
                Some(upload)
                    if request.query.get("command").map(String::as_str) == Some("STATUS") && upload.finalized =>
                {
                    upload.status_checks += 1;
                    Scripted::json(
                        200,
                        json!({"data": {"id": id, "processing_info": {"state": "succeeded", "progress_percent": 100}}}),
                    )
                }
                _ => problem(400, "Invalid Request", "One or more parameters to your request was invalid."),
            }
        }
        "POST /2/media/upload" => {
            let Some(media) = request.part("media") else {
                return problem(400, "Invalid Request", "One or more parameters to your request was invalid.");
            };
            let id = format!("1880028106020515{:03}", state.tweets.len() + 100);
            Scripted::json(
                200,
                json!({"data": {"id": id, "media_key": format!("3_{id}"), "size": media.data.len(), "expires_after_secs": 86400}}),
            )
        }
        _ if endpoint.starts_with("POST /2/media/upload/") => chunked(state, request, endpoint),
        _ => match endpoint.strip_prefix("GET /2/tweets/") {
            Some(id) => match state.tweets.iter().find(|t| t["id"] == id) {
                Some(tweet) => Scripted::json(200, json!({"data": tweet})),
                None => Scripted::json(
                    200,
                    json!({"errors": [{"resource_id": id, "title": "Not Found Error", "detail": format!("Could not find tweet with id: [{id}].")}]}),
                ),
            },
            None => problem(404, "Not Found", "Sorry, that page does not exist"),
        },
    }
}

fn create_tweet(state: &mut FakeState, body: &Value) -> Scripted {
    let text = body["text"].as_str().unwrap_or_default().to_string();
    if text.is_empty() && body["media"].is_null() {
        return problem(400, "Invalid Request", "One or more parameters to your request was invalid.");
    }
    if state.tweets.iter().any(|t| t["text"] == text.as_str()) {
        return problem(403, "Forbidden", "You are not allowed to create a Tweet with duplicate content.");
    }
    let id = format!("1445880548472328{:03}", state.tweets.len() + 192);
    let stored = json!({
        "id": id,
        "text": text,
        "edit_history_tweet_ids": [id],
        "in_reply_to": body["reply"]["in_reply_to_tweet_id"],
        "media_ids": body["media"]["media_ids"],
        "public_metrics": {"retweet_count": 2, "reply_count": 1, "like_count": 7, "quote_count": 0, "bookmark_count": 1, "impression_count": 120}
    });
    state.tweets.push(stored);
    Scripted::json(201, json!({"data": {"id": id, "text": text, "edit_history_tweet_ids": [id]}}))
}

/// `append` and `finalize` of a chunked upload.
fn chunked(state: &mut FakeState, request: &Recorded, endpoint: &str) -> Scripted {
    let rest = endpoint.trim_start_matches("POST /2/media/upload/");
    let Some((id, step)) = rest.split_once('/') else {
        return problem(404, "Not Found", "Sorry, that page does not exist");
    };
    let Some(upload) = state.uploads.get_mut(id) else {
        return problem(400, "Invalid Request", "Media id is not valid.");
    };
    let invalid = || problem(400, "Invalid Request", "One or more parameters to your request was invalid.");
    match step {
        "append" => {
            let (Some(media), Some(segment)) = (request.part("media"), request.field("segment_index")) else {
                return invalid();
            };
            // Segments come in order, from 0.
            if segment.parse::<usize>().ok() != Some(upload.segments.len()) || upload.finalized {
                return invalid();
            }
            upload.segments.push(media.data.len());
            upload.received += media.data.len();
            Scripted::json(200, json!({"data": {"expires_at": 1_767_225_600}}))
        }
        "finalize" => {
            if upload.received != upload.total_bytes || upload.received == 0 {
                return problem(400, "Invalid Request", "File size does not match total_bytes.");
            }
            upload.finalized = true;
            let processing = if upload.media_type.starts_with("video/") {
                json!({"state": "pending", "check_after_secs": 1})
            } else {
                Value::Null
            };
            Scripted::json(
                200,
                json!({"data": {"id": id, "media_key": format!("7_{id}"), "size": upload.received, "processing_info": processing}}),
            )
        }
        _ => problem(404, "Not Found", "Sorry, that page does not exist"),
    }
}

/// The parameters of an `Authorization: OAuth …` header, decoded.
fn oauth_params(header: &str) -> Option<BTreeMap<String, String>> {
    let header = header.strip_prefix("OAuth ")?;
    let decode = |v: &str| url::form_urlencoded::parse(format!("v={v}").as_bytes()).next().map(|(_, v)| v.into_owned());
    header
        .split(',')
        .map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            Some((name.to_string(), decode(value.trim_matches('"'))?))
        })
        .collect()
}

/// Whether the request carries a valid signature by the app and `token`
/// (with its `secret`), recomputed from what was sent.
fn signature_ok(request: &Recorded, params: &BTreeMap<String, String>, token: Option<(&str, &str)>) -> bool {
    use herald_providers::oauth1::{Consumer, Extras, TokenPair};
    if params.get("oauth_consumer_key").map(String::as_str) != Some(API_KEY)
        || params.get("oauth_signature_method").map(String::as_str) != Some("HMAC-SHA1")
    {
        return false;
    }
    let (Some(nonce), Some(timestamp)) =
        (params.get("oauth_nonce"), params.get("oauth_timestamp").and_then(|t| t.parse().ok()))
    else {
        return false;
    };
    let host = request.header("host").unwrap_or_default();
    let query = if request.raw_query.is_empty() { String::new() } else { format!("?{}", request.raw_query) };
    let url = format!("http://{host}{}{query}", request.path);
    let consumer = Consumer { key: API_KEY.into(), secret: API_SECRET.into() };
    let extras = Extras {
        callback: params.get("oauth_callback").map(String::as_str),
        verifier: params.get("oauth_verifier").map(String::as_str),
    };
    let method = reqwest::Method::from_bytes(request.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let expected = consumer.signed(
        &method,
        &url,
        token.map(|(token, secret)| TokenPair { token, secret }),
        extras,
        Some((nonce, timestamp)),
    );
    oauth_params(&expected).and_then(|mine| mine.get("oauth_signature").cloned()).as_ref()
        == params.get("oauth_signature")
}

/// The OAuth 1.0a access token a request is validly signed with.
fn signed_by(state: &FakeState, request: &Recorded) -> Option<String> {
    let params = request.header("authorization").and_then(oauth_params)?;
    let token = params.get("oauth_token")?;
    let secret = state.access_1a.get(token)?;
    signature_ok(request, &params, Some((token, secret))).then(|| token.clone())
}

fn form_answer(pairs: &[(&str, &str)]) -> Scripted {
    let body = url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish();
    Scripted::text(200, &body).with_header("content-type", "application/x-www-form-urlencoded")
}

fn request_token(state: &mut FakeState, request: &Recorded) -> Scripted {
    let Some(params) = request.header("authorization").and_then(oauth_params) else {
        return problem(401, "Unauthorized", "Unauthorized");
    };
    let Some(callback) = params.get("oauth_callback").cloned() else {
        return problem(400, "Bad Request", "Callback URL not approved for this client application.");
    };
    if !signature_ok(request, &params, None) {
        return Scripted::json(401, json!({"errors": [{"code": 32, "message": "Could not authenticate you."}]}));
    }
    state.issued += 1;
    let token = format!("rt-{}", state.issued);
    let secret = format!("rts-{}", state.issued);
    state.request_tokens.insert(token.clone(), RequestToken { secret: secret.clone(), callback, verifier: None });
    form_answer(&[("oauth_token", &token), ("oauth_token_secret", &secret), ("oauth_callback_confirmed", "true")])
}

fn authorize_1a(state: &mut FakeState, request: &Recorded) -> Scripted {
    let token = request.query.get("oauth_token").cloned().unwrap_or_default();
    state.issued += 1;
    let verifier = format!("verifier-{}", state.issued);
    let deny = std::mem::take(&mut state.deny_next);
    let Some(pending) = state.request_tokens.get_mut(&token) else {
        return Scripted::text(400, "This page is no longer valid.");
    };
    if deny {
        return Scripted::redirect_back(&pending.callback, &[("denied", &token)]);
    }
    pending.verifier = Some(verifier.clone());
    Scripted::redirect_back(&pending.callback, &[("oauth_token", &token), ("oauth_verifier", &verifier)])
}

fn access_token(state: &mut FakeState, request: &Recorded) -> Scripted {
    let refused = || Scripted::json(401, json!({"errors": [{"code": 32, "message": "Could not authenticate you."}]}));
    let Some(params) = request.header("authorization").and_then(oauth_params) else { return refused() };
    let token = params.get("oauth_token").cloned().unwrap_or_default();
    let Some(pending) = state.request_tokens.get(&token) else { return refused() };
    let verified = pending.verifier.is_some() && params.get("oauth_verifier") == pending.verifier.as_ref();
    if !verified || !signature_ok(request, &params, Some((&token, &pending.secret))) {
        return refused();
    }
    state.request_tokens.remove(&token);
    state.issued += 1;
    let access = format!("{USER_ID}-access1a{}", state.issued);
    let secret = format!("secret1a-{}", state.issued);
    state.access_1a.insert(access.clone(), secret.clone());
    form_answer(&[
        ("oauth_token", &access),
        ("oauth_token_secret", &secret),
        ("user_id", USER_ID),
        ("screen_name", USERNAME),
    ])
}
