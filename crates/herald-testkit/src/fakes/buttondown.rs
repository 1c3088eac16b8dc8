//! A fake Buttondown API, written from docs.buttondown.com:
//! `Authorization: Token <key>`; `GET /v1/newsletters`, `POST /v1/images`
//! (multipart `image`), `POST /v1/emails` (`subject`, `body` in Markdown,
//! `status`, `email_type`) and `GET /v1/emails/{id}/analytics`. Errors are
//! `{"code", "detail"}`; a wrong key is `401 {"detail": "Invalid token."}`.

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

use super::server::{FakeServer, Recorded, Scripted};

pub const API_KEY: &str = "0b5a4e7c-9d1f-4a3b-8c2e-6f7a8b9c0d1e";

#[derive(Clone)]
pub struct FakeButtondown {
    server: FakeServer,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    emails: Vec<Value>,
    images: Vec<Value>,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FakeButtondown {
    pub async fn start() -> Self {
        let state = Arc::new(Mutex::new(State::default()));
        let for_server = Arc::clone(&state);
        let server = FakeServer::start(Box::new(move |request| answer(&mut lock(&for_server), request))).await;
        Self { server, state }
    }

    pub fn url(&self) -> String {
        self.server.url()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    pub fn script(&self, reply: Scripted) {
        self.server.script(reply);
    }

    pub fn emails(&self) -> Vec<Value> {
        lock(&self.state).emails.clone()
    }

    pub fn images(&self) -> Vec<Value> {
        lock(&self.state).images.clone()
    }
}

fn answer(state: &mut State, request: &Recorded) -> Scripted {
    if request.header("authorization") != Some(&format!("Token {API_KEY}")) {
        return Scripted::json(401, json!({"detail": "Invalid token."}));
    }
    let segments: Vec<&str> = request.path.split('/').filter(|s| !s.is_empty()).collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["v1", "newsletters"]) => Scripted::json(
            200,
            json!({"results": [{
            "id": "7c1a0b2e-3f4d-4e5a-9b6c-8d7e6f5a4b3c", "username": "heraldnews", "name": "Herald News",
            "description": "Release notes", "creation_date": "2026-01-01T00:00:00Z",
        }], "count": 1}),
        ),
        ("POST", ["v1", "images"]) => {
            let Some(image) = request.part("image").filter(|p| p.file_name.is_some()) else {
                return Scripted::json(400, json!({"code": "image_missing", "detail": "An image is required."}));
            };
            state.next_id += 1;
            let url = format!("https://assets.buttondown.email/images/{:08}.png", state.next_id);
            state.images.push(json!({"url": url, "size": image.data.len()}));
            Scripted::json(
                201,
                json!({"id": format!("img-{}", state.next_id), "creation_date": "2026-12-07T00:00:00Z", "image": url}),
            )
        }
        ("POST", ["v1", "emails"]) => {
            let body = &request.json;
            let subject = body["subject"].as_str().unwrap_or_default();
            if subject.trim().is_empty() {
                return Scripted::json(400, json!({"code": "subject_invalid", "detail": "Subject is required."}));
            }
            let status = body["status"].as_str().unwrap_or("about_to_send");
            if !["about_to_send", "draft", "scheduled", "imported"].contains(&status) {
                return Scripted::json(
                    400,
                    json!({"code": "status_invalid", "detail": format!("'{status}' is not a valid status.")}),
                );
            }
            state.next_id += 1;
            let id = format!("0e1f2a3b-0000-4000-8000-{:012}", state.next_id);
            let email = json!({
                "id": id, "subject": subject, "body": body["body"], "status": status,
                "email_type": body["email_type"].as_str().unwrap_or("public"),
                "absolute_url": format!("https://buttondown.com/heraldnews/archive/{}", state.next_id),
                "creation_date": "2026-12-07T00:00:00Z",
            });
            state.emails.push(email.clone());
            Scripted::json(201, email)
        }
        ("GET", ["v1", "emails", id, "analytics"]) if state.emails.iter().any(|e| e["id"] == *id) => Scripted::json(
            200,
            json!({"recipients": 120, "deliveries": 118, "opens": 64, "clicks": 12, "unsubscriptions": 1}),
        ),
        _ => Scripted::json(404, json!({"detail": "Not found."})),
    }
}
