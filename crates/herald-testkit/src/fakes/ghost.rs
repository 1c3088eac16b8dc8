//! A fake Ghost Admin API, written from ghost.org/docs/admin-api: every
//! request needs `Authorization: Ghost <jwt>` — HS256 signed with the
//! hex-decoded secret of the Admin API key, `kid` its id, audience
//! `/admin/`, at most five minutes long — and `Accept-Version`. `GET site/`,
//! `GET posts/`, `POST posts/?source=html` (with `newsletter` and
//! `email_segment`), `POST images/upload/` (multipart `file`). Errors are
//! `{"errors": [{"message", "context", "type"}]}`: `UnauthorizedError`
//! (401), `ValidationError` (422).

use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use super::server::{FakeServer, Recorded, Scripted};

pub const KEY_ID: &str = "6489a1f2b3c4d5e6f7a8b9c0";
pub const SECRET: &str = "3b1e5d4a2c6f8e0d9b7a5c3e1f2d4b6a8c0e2f4a6b8d0c2e4f6a8b0d2c4e6f8a";

/// The Admin API key as Ghost shows it.
pub fn admin_key() -> String {
    format!("{KEY_ID}:{SECRET}")
}

#[derive(Clone)]
pub struct FakeGhost {
    server: FakeServer,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    removed: bool,
    next_id: u64,
    posts: Vec<Value>,
    images: Vec<Value>,
    /// The query of each post creation (`source`, `newsletter` …).
    queries: Vec<std::collections::BTreeMap<String, String>>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn error(status: u16, kind: &str, message: &str) -> Scripted {
    Scripted::json(status, json!({"errors": [{"message": message, "context": null, "type": kind, "details": null}]}))
}

impl FakeGhost {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
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

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    pub fn posts(&self) -> Vec<Value> {
        lock(&self.state).posts.clone()
    }

    pub fn images(&self) -> Vec<Value> {
        lock(&self.state).images.clone()
    }

    pub fn post_queries(&self) -> Vec<std::collections::BTreeMap<String, String>> {
        lock(&self.state).queries.clone()
    }

    /// The custom integration is deleted: its key no longer signs.
    pub fn remove_integration(&self) {
        lock(&self.state).removed = true;
    }
}

/// Checks the token as Ghost does: signature, key id, audience, lifetime.
fn authorised(request: &Recorded) -> Result<(), &'static str> {
    let token = request
        .header("authorization")
        .and_then(|h| h.strip_prefix("Ghost "))
        .ok_or("Authorization header format is \"Authorization: Ghost [token]\"")?;
    let parts: Vec<&str> = token.split('.').collect();
    let [header, claims, signature] = parts.as_slice() else { return Err("Invalid token") };
    let decode = |part: &str| -> Option<Value> {
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(part).ok()?).ok()
    };
    let (Some(header_json), Some(claims_json)) = (decode(header), decode(claims)) else { return Err("Invalid token") };
    if header_json["kid"] != KEY_ID || header_json["alg"] != "HS256" {
        return Err("Unknown Admin API Key");
    }
    let secret = hex::decode(SECRET).map_err(|_| "Invalid token")?;
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&secret).map_err(|_| "Invalid token")?;
    mac.update(format!("{header}.{claims}").as_bytes());
    let expected = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes());
    if expected != *signature {
        return Err("Invalid token: invalid signature");
    }
    if claims_json["aud"] != "/admin/" {
        return Err("Invalid token: jwt audience invalid");
    }
    let (iat, exp) = (claims_json["iat"].as_i64().unwrap_or(0), claims_json["exp"].as_i64().unwrap_or(0));
    let now = chrono::Utc::now().timestamp();
    if exp - iat > 300 || exp < now {
        return Err("Invalid token: jwt expired or too long-lived");
    }
    Ok(())
}

fn answer(state: &mut State, base: &str, request: &Recorded) -> Scripted {
    let Some(path) = request.path.strip_prefix("/ghost/api/admin") else {
        return error(404, "NotFoundError", "Resource not found");
    };
    if state.removed {
        return error(401, "UnauthorizedError", "Unknown Admin API Key");
    }
    if let Err(why) = authorised(request) {
        return error(401, "UnauthorizedError", why);
    }
    match (request.method.as_str(), path) {
        ("GET", "/site/") => Scripted::json(
            200,
            json!({"site": {
                "title": "Herald Journal", "description": "Notes", "url": format!("{base}/"), "version": "5.101",
                "icon": format!("{base}/content/images/icon.png"),
            }}),
        ),
        ("GET", "/posts/") => Scripted::json(
            200,
            json!({"posts": state.posts.iter().take(1).map(|p| json!({"id": p["id"]})).collect::<Vec<_>>(), "meta": {"pagination": {"page": 1}}}),
        ),
        ("POST", "/images/upload/") => {
            let Some(file) = request.part("file").filter(|p| p.file_name.is_some()) else {
                return error(422, "ValidationError", "Please select an image.");
            };
            state.next_id += 1;
            let url = format!("{base}/content/images/2026/12/{}", file.file_name.clone().unwrap_or_default());
            state.images.push(json!({"url": url, "size": file.data.len()}));
            Scripted::json(201, json!({"images": [{"url": url, "ref": null}]}))
        }
        ("POST", "/posts/") => {
            let post = &request.json["posts"][0];
            if post["title"].as_str().is_none_or(|t| t.trim().is_empty()) {
                return error(
                    422,
                    "ValidationError",
                    "Validation error, cannot save post. Value in [posts.title] cannot be blank.",
                );
            }
            if !matches!(post["status"].as_str(), None | Some("published" | "draft" | "scheduled")) {
                return error(422, "ValidationError", "Validation error, cannot save post.");
            }
            state.next_id += 1;
            let slug = post["title"].as_str().unwrap_or_default().to_lowercase().replace(' ', "-");
            let mut created = post.clone();
            created["id"] = json!(format!("6571{:020}", state.next_id));
            created["slug"] = json!(slug);
            created["url"] = json!(format!("{base}/{slug}/"));
            state.posts.push(created.clone());
            state.queries.push(request.query.clone());
            Scripted::json(201, json!({"posts": [created]}))
        }
        _ => error(404, "NotFoundError", "Resource not found"),
    }
}
