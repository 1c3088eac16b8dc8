//! A fake Google Business Profile for the `gmb` provider, written from the
//! Business Profile APIs reference (developers.google.com/my-business):
//!
//! - Google OAuth: `GET /o/oauth2/v2/auth` (`access_type=offline`, scope
//!   `business.manage`), `POST /token` (form; RFC 6749 answers);
//! - `GET /v1/accounts` (Account Management), `GET /v1/{account}/locations`
//!   (Business Information, `readMask` required);
//! - `POST /v4/{account}/{location}/localPosts` (a `LocalPost`: `summary`,
//!   `topicType`, `media[].sourceUrl`, `callToAction`, `event`, `offer`),
//!   `GET /v4/{account}/{location}/localPosts`.
//!
//! Errors are Google's `{"error": {"code", "message", "status"}}`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

use super::server::{FakeServer, Recorded, Scripted};

pub const CLIENT_ID: &str = "gmb-test-client.apps.googleusercontent.com";
pub const CLIENT_SECRET: &str = "gmb-test-secret";
/// Locations: (account, location, title).
pub const LOCATIONS: [(&str, &str, &str); 2] = [
    ("accounts/111", "locations/901", "Ada's Bakery, Main St"),
    ("accounts/111", "locations/902", "Ada's Bakery, Harbour"),
];

#[derive(Clone)]
pub struct GmbFake {
    server: FakeServer,
    state: Arc<Mutex<FakeState>>,
}

#[derive(Default)]
struct FakeState {
    codes: BTreeMap<String, String>,
    tokens: BTreeSet<String>,
    issued: u64,
    /// Posts: (location, LocalPost).
    posts: Vec<(String, Value)>,
    lose_next_answer: bool,
}

fn lock(state: &Mutex<FakeState>) -> MutexGuard<'_, FakeState> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn google_error(status: u16, code: &str, message: &str) -> Scripted {
    Scripted::json(status, json!({"error": {"code": status, "message": message, "status": code}}))
}

impl GmbFake {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(FakeState::default()));
        let for_server = Arc::clone(&state);
        let server = FakeServer::start(Box::new(move |request| answer(&mut lock(&for_server), request))).await;
        Self { server, state }
    }

    pub fn base_url(&self) -> String {
        self.server.url()
    }

    /// Posts created: (location, the LocalPost as sent).
    pub fn posts(&self) -> Vec<(String, Value)> {
        lock(&self.state).posts.clone()
    }

    /// The next post is created, but its answer is a 504.
    pub fn lose_next_answer(&self) {
        lock(&self.state).lose_next_answer = true;
    }
}

fn answer(state: &mut FakeState, request: &Recorded) -> Scripted {
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/o/oauth2/v2/auth") => {
            let q = &request.query;
            let get = |name: &str| q.get(name).map(String::as_str);
            if get("client_id") != Some(CLIENT_ID)
                || !get("scope").is_some_and(|s| s.contains("/auth/business.manage"))
                || get("access_type") != Some("offline")
            {
                return Scripted::text(400, "Error 400: invalid_request");
            }
            let redirect = get("redirect_uri").unwrap_or_default().to_string();
            state.issued += 1;
            let code = format!("4/gmb-code-{}", state.issued);
            state.codes.insert(code.clone(), redirect.clone());
            Scripted::redirect_back(&redirect, &[("code", &code), ("state", get("state").unwrap_or_default())])
        }
        ("POST", "/token") => {
            let form = request.form();
            let get = |name: &str| form.get(name).map(String::as_str);
            if get("client_id") != Some(CLIENT_ID) || get("client_secret") != Some(CLIENT_SECRET) {
                return Scripted::json(401, json!({"error": "invalid_client"}));
            }
            let redirect = get("code").and_then(|code| state.codes.remove(code));
            if get("grant_type") == Some("authorization_code")
                && (redirect.is_none() || redirect.as_deref() != get("redirect_uri"))
            {
                return Scripted::json(400, json!({"error": "invalid_grant", "error_description": "Bad Request"}));
            }
            state.issued += 1;
            let token = format!("ya29.gmb-{}", state.issued);
            state.tokens.insert(token.clone());
            Scripted::json(
                200,
                json!({"access_token": token, "expires_in": 3599, "token_type": "Bearer", "refresh_token": format!("1//gmb-refresh-{}", state.issued), "scope": "https://www.googleapis.com/auth/business.manage"}),
            )
        }
        _ if !request.bearer().is_some_and(|t| state.tokens.contains(t)) => {
            google_error(401, "UNAUTHENTICATED", "Request had invalid authentication credentials.")
        }
        ("GET", "/v1/accounts") => Scripted::json(
            200,
            json!({"accounts": [{"name": "accounts/111", "accountName": "Ada", "type": "PERSONAL"}]}),
        ),
        ("GET", "/v1/accounts/111/locations") => {
            if !request.query.contains_key("readMask") {
                return google_error(400, "INVALID_ARGUMENT", "Request must contain a read mask.");
            }
            let locations: Vec<Value> =
                LOCATIONS.iter().map(|(_, name, title)| json!({"name": name, "title": title})).collect();
            Scripted::json(200, json!({"locations": locations}))
        }
        (method, path) => {
            let Some(location) = path.strip_prefix("/v4/").and_then(|rest| rest.strip_suffix("/localPosts")) else {
                return google_error(404, "NOT_FOUND", "Requested entity was not found.");
            };
            if !LOCATIONS.iter().any(|(account, name, _)| format!("{account}/{name}") == location) {
                return google_error(404, "NOT_FOUND", "Requested entity was not found.");
            }
            if method == "GET" {
                let posts: Vec<Value> =
                    state.posts.iter().rev().filter(|(l, _)| l == location).map(|(_, p)| p.clone()).collect();
                return Scripted::json(200, json!({"localPosts": posts}));
            }
            let post = &request.json;
            let summary = post["summary"].as_str().unwrap_or_default();
            if summary.chars().count() > 1500 || post["languageCode"].as_str().is_none() {
                return google_error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.");
            }
            if post["topicType"] != "STANDARD" && post["event"]["schedule"]["startDate"].is_null() {
                return google_error(400, "INVALID_ARGUMENT", "event.schedule is required for EVENT and OFFER posts");
            }
            state.issued += 1;
            let mut created = post.clone();
            created["name"] = json!(format!("{location}/localPosts/{}", 5000 + state.issued));
            created["searchUrl"] =
                json!(format!("https://local.google.com/place?id=1&use=posts&lpsid={}", 5000 + state.issued));
            created["state"] = json!("LIVE");
            state.posts.push((location.to_string(), created.clone()));
            if std::mem::take(&mut state.lose_next_answer) {
                return Scripted::text(504, "Gateway Timeout");
            }
            Scripted::json(200, created)
        }
    }
}
