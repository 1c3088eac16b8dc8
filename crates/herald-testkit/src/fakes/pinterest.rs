//! A fake Pinterest for the `pinterest` provider, written from the API v5
//! reference (developers.pinterest.com/docs/api/v5):
//!
//! - `GET /oauth/` (comma-separated `scope`; approves at once),
//!   `POST /v5/oauth/token` with HTTP Basic (`authorization_code` and
//!   `refresh_token` grants; 30-day access tokens with
//!   `refresh_token_expires_in`; a bad grant answers 400
//!   `{"code", "message"}`, Pinterest's error shape, not RFC 6749's);
//! - `GET /v5/user_account`, `GET /v5/boards` (paged by `bookmark`),
//!   `POST /v5/pins` (`image_url` or `image_base64` media sources; an
//!   unknown board is 404), `GET /v5/pins/{id}/analytics`.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

use super::server::{FakeServer, Recorded, Scripted};

pub const CLIENT_ID: &str = "pinterest-test-client";
pub const CLIENT_SECRET: &str = "pinterest-test-secret";
pub const USERNAME: &str = "ada_pins";
/// The account's boards: id, name. Two pages of one board each.
pub const BOARDS: [(&str, &str); 2] = [("549755885175", "Recipes"), ("549755885176", "Garden")];

#[derive(Clone)]
pub struct PinterestFake {
    server: FakeServer,
    state: Arc<Mutex<FakeState>>,
}

#[derive(Default)]
struct FakeState {
    codes: BTreeMap<String, String>,
    access_tokens: BTreeSet<String>,
    refresh_tokens: BTreeSet<String>,
    issued: u64,
    pins: Vec<Value>,
}

fn lock(state: &Mutex<FakeState>) -> MutexGuard<'_, FakeState> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl PinterestFake {
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

    /// The Pins created, as sent.
    pub fn pins(&self) -> Vec<Value> {
        lock(&self.state).pins.clone()
    }

    /// Every token stops working (the user removed the app).
    pub fn revoke_grant(&self) {
        let mut state = lock(&self.state);
        state.access_tokens.clear();
        state.refresh_tokens.clear();
    }
}

fn error(status: u16, code: u32, message: &str) -> Scripted {
    Scripted::json(status, json!({"code": code, "message": message}))
}

fn answer(state: &mut FakeState, request: &Recorded) -> Scripted {
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/oauth/") => {
            let q = &request.query;
            let scopes: Vec<&str> = q.get("scope").map(|s| s.split(',').collect()).unwrap_or_default();
            let ok = q.get("client_id").map(String::as_str) == Some(CLIENT_ID)
                && q.get("response_type").map(String::as_str) == Some("code")
                && ["boards:read", "pins:write", "user_accounts:read"].iter().all(|s| scopes.contains(s));
            if !ok {
                return Scripted::text(400, "invalid request");
            }
            let redirect = q.get("redirect_uri").cloned().unwrap_or_default();
            state.issued += 1;
            let code = format!("pinterest-code-{}", state.issued);
            state.codes.insert(code.clone(), redirect.clone());
            Scripted::redirect_back(&redirect, &[("code", &code), ("state", q.get("state").map_or("", String::as_str))])
        }
        ("POST", "/v5/oauth/token") => token(state, request),
        _ if !request.bearer().is_some_and(|t| state.access_tokens.contains(t)) => {
            error(401, 2, "Authentication failed.")
        }
        ("GET", "/v5/user_account") => Scripted::json(
            200,
            json!({
                "account_type": "BUSINESS", "id": "1042", "username": USERNAME, "business_name": "Ada's Kitchen",
                "profile_image": "https://i.pinimg.com/ada.jpg", "website_url": "https://ada.example"
            }),
        ),
        ("GET", "/v5/boards") => {
            // One board a page, to make the client follow `bookmark`.
            let at: usize =
                request.query.get("bookmark").and_then(|b| b.strip_prefix("page-")?.parse().ok()).unwrap_or(0);
            let items: Vec<Value> = BOARDS
                .iter()
                .skip(at)
                .take(1)
                .map(|(id, name)| json!({"id": id, "name": name, "privacy": "PUBLIC"}))
                .collect();
            let bookmark = (at + 1 < BOARDS.len()).then(|| format!("page-{}", at + 1));
            Scripted::json(200, json!({"items": items, "bookmark": bookmark}))
        }
        ("POST", "/v5/pins") => create_pin(state, &request.json),
        (method, path) => match path.strip_prefix("/v5/pins/").and_then(|rest| rest.strip_suffix("/analytics")) {
            Some(id) if method == "GET" && state.pins.iter().any(|p| p["id"] == id) => {
                let has = |name: &str| request.query.get(name).is_some_and(|v| !v.is_empty());
                if !(has("start_date") && has("end_date") && has("metric_types")) {
                    return error(400, 1, "Invalid parameters.");
                }
                Scripted::json(
                    200,
                    json!({"all": {"daily_metrics": [], "summary_metrics": {"IMPRESSION": 120, "SAVE": 7, "PIN_CLICK": 15, "OUTBOUND_CLICK": 4}}}),
                )
            }
            _ => error(404, 3, "Not found."),
        },
    }
}

fn token(state: &mut FakeState, request: &Recorded) -> Scripted {
    if request.basic_auth() != Some((CLIENT_ID.to_string(), CLIENT_SECRET.to_string())) {
        return error(401, 2, "Authentication failed.");
    }
    let form = request.form();
    match form.get("grant_type").map(String::as_str) {
        Some("authorization_code") => {
            let redirect = form.get("code").and_then(|code| state.codes.remove(code));
            if redirect.is_none() || redirect.as_ref() != form.get("redirect_uri") {
                return error(400, 1, "Invalid authorization code.");
            }
        }
        Some("refresh_token") => {
            if !form.get("refresh_token").is_some_and(|t| state.refresh_tokens.contains(t)) {
                return error(400, 283, "Refresh token not found.");
            }
        }
        _ => return error(400, 1, "Invalid grant type."),
    }
    state.issued += 1;
    let access = format!("pina_{}", state.issued);
    state.access_tokens.insert(access.clone());
    let mut body = json!({
        "access_token": access, "token_type": "bearer", "expires_in": 2_592_000,
        "scope": "boards:read,pins:read,pins:write,user_accounts:read", "response_type": "authorization_code"
    });
    // A refresh keeps the refresh token; a code gives a new one.
    if form.get("grant_type").map(String::as_str) == Some("authorization_code") {
        let refresh = format!("pinr_{}", state.issued);
        state.refresh_tokens.insert(refresh.clone());
        body["refresh_token"] = json!(refresh);
        body["refresh_token_expires_in"] = json!(31_536_000);
    }
    Scripted::json(200, body)
}

fn create_pin(state: &mut FakeState, body: &Value) -> Scripted {
    let board = body["board_id"].as_str().unwrap_or_default();
    if !BOARDS.iter().any(|(id, _)| *id == board) {
        return error(404, 2900, "Board not found.");
    }
    let source = &body["media_source"];
    let ok = match source["source_type"].as_str() {
        Some("image_url") => source["url"].as_str().is_some_and(|u| u.starts_with("https://")),
        Some("image_base64") => {
            matches!(source["content_type"].as_str(), Some("image/png" | "image/jpeg"))
                && source["data"].as_str().is_some_and(|d| !d.is_empty())
        }
        _ => false,
    };
    if !ok {
        return error(400, 1, "Invalid media_source.");
    }
    if body["description"].as_str().is_some_and(|d| d.chars().count() > 500) {
        return error(400, 1, "Description is too long.");
    }
    let id = format!("81374422642079{}", 5880 + state.pins.len());
    let mut pin = body.clone();
    pin["id"] = json!(id);
    state.pins.push(pin.clone());
    Scripted::json(201, pin)
}
