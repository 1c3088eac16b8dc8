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
//! - `GET /2/users/me`, `POST /2/tweets`, `GET /2/tweets/{id}`,
//!   `POST /2/media/upload` with a bearer token; 401 problem JSON otherwise,
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
    tweets: Vec<Value>,
    revoked: Vec<String>,
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

    /// How many refresh-token grants X answered successfully.
    pub fn refreshes(&self) -> u64 {
        lock(&self.state).refreshes
    }

    /// Tokens revoked through `POST /2/oauth2/revoke`.
    pub fn revoked(&self) -> Vec<String> {
        lock(&self.state).revoked.clone()
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
        _ => {
            let authorised = request.bearer().is_some_and(|token| state.access_tokens.contains(token));
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
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    let encode = |value: &str| url::form_urlencoded::byte_serialize(value.as_bytes()).collect::<String>();
    if std::mem::take(&mut state.deny_next) {
        let location = format!("{redirect_uri}{separator}error=access_denied&state={}", encode(&state_param));
        return Scripted::empty(302).with_header("location", &location);
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
    let location = format!("{redirect_uri}{separator}state={}&code={code}", encode(&state_param));
    Scripted::empty(302).with_header("location", &location)
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
        "expires_in": ACCESS_TOKEN_SECONDS,
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
                return oauth_error("Value passed for the token was invalid.");
            }
            state.refreshes += 1;
            issue(state, "tweet.read tweet.write users.read media.write offline.access")
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
