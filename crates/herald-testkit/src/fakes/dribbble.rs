//! A fake Dribbble, written from developer.dribbble.com (API v2): OAuth
//! (`GET /oauth/authorize` approving at once; `POST /oauth/token` with the
//! client in the form, a token that does not expire), `GET /v2/user` and
//! `POST /v2/shots` (multipart `image`, `title`, `description`, `tags[]`,
//! `low_profile`, `team_id`) answering `202 Accepted` with the shot's
//! `Location`. Errors are `{"message", "errors": [{"attribute", "message"}]}`.

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

use super::server::{FakeServer, Recorded, Scripted};

pub const CLIENT_ID: &str = "dribbble-test-client";
pub const CLIENT_SECRET: &str = "dribbble-test-secret";
const TOKEN: &str = "dribbble-token-0123456789";

#[derive(Clone)]
pub struct FakeDribbble {
    server: FakeServer,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    no_upload_scope: bool,
    next_id: u64,
    shots: Vec<Value>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FakeDribbble {
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

    pub fn shots(&self) -> Vec<Value> {
        lock(&self.state).shots.clone()
    }

    /// The account loses the right to upload (the app's scope withdrawn).
    pub fn withdraw_upload(&self) {
        lock(&self.state).no_upload_scope = true;
    }
}

fn answer(state: &mut State, base: &str, request: &Recorded) -> Scripted {
    match (request.method.as_str(), request.path.as_str()) {
        ("GET", "/oauth/authorize") => {
            let q = &request.query;
            let redirect = q.get("redirect_uri").cloned().unwrap_or_default();
            if q.get("client_id").map(String::as_str) != Some(CLIENT_ID) {
                return Scripted::redirect_back(&redirect, &[("error", "invalid_client")]);
            }
            Scripted::redirect_back(
                &redirect,
                &[("code", "dribbble-code"), ("state", q.get("state").map_or("", String::as_str))],
            )
        }
        ("POST", "/oauth/token") => {
            let form = request.form();
            let client = form.get("client_id").map(String::as_str) == Some(CLIENT_ID)
                && form.get("client_secret").map(String::as_str) == Some(CLIENT_SECRET);
            if !client || form.get("code").map(String::as_str) != Some("dribbble-code") {
                return Scripted::json(
                    401,
                    json!({"error": "invalid_grant", "error_description": "The provided authorization grant is invalid."}),
                );
            }
            Scripted::json(
                200,
                json!({"access_token": TOKEN, "token_type": "bearer", "scope": "public upload", "created_at": 1_700_000_000}),
            )
        }
        _ if request.bearer() != Some(TOKEN) => Scripted::json(401, json!({"message": "Bad credentials."})),
        ("GET", "/v2/user") => Scripted::json(
            200,
            json!({"id": 1_234_567, "name": "Ada Designs", "login": "adadesigns",
            "avatar_url": "https://cdn.dribbble.com/users/1234567/avatars/normal/ada.png", "html_url": "https://dribbble.com/adadesigns"}),
        ),
        ("POST", "/v2/shots") => {
            if state.no_upload_scope {
                return Scripted::json(403, json!({"message": "You don't have the upload scope."}));
            }
            let title = request.field("title").unwrap_or_default();
            let Some(image) = request.part("image").filter(|p| p.file_name.is_some()) else {
                return Scripted::json(
                    422,
                    json!({"message": "Validation failed.", "errors": [{"attribute": "image", "message": "can't be blank"}]}),
                );
            };
            if title.trim().is_empty() {
                return Scripted::json(
                    422,
                    json!({"message": "Validation failed.", "errors": [{"attribute": "title", "message": "can't be blank"}]}),
                );
            }
            let tags: Vec<String> = request.parts.iter().filter(|p| p.name == "tags[]").map(|p| p.text()).collect();
            state.next_id += 1;
            let id = 23_000_000 + state.next_id;
            state.shots.push(json!({"id": id, "title": title, "description": request.field("description"), "tags": tags,
                "low_profile": request.field("low_profile").as_deref() == Some("true"), "image_type": image.content_type, "image_size": image.data.len()}));
            Scripted::empty(202).with_header("location", &format!("{base}/v2/shots/{id}"))
        }
        _ => Scripted::json(404, json!({"message": "Not Found"})),
    }
}
