//! A fake Slack incoming webhook (<https://api.slack.com/messaging/webhooks>).
//!
//! `POST /services/{team}/{hook}/{token}` with a JSON body (or a form with a
//! `payload` field) answers `200 ok` (text/html). Errors are plain-text
//! codes, as Slack documents them: `400 invalid_payload` (unreadable body),
//! `400 no_text` (nothing to post), `403 invalid_token`, `404 no_service`,
//! `410 channel_is_archived`; a rate limit is `429` with `Retry-After`.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use axum::routing::any;
use serde_json::Value;

use super::server::{Journal, Recorded, Running, Scripted, serve};

pub const TEAM: &str = "T0HERALD1";
pub const HOOK: &str = "B0HERALD2";

#[derive(Clone)]
pub struct SlackFake {
    shared: Arc<Shared>,
    running: Arc<Running>,
}

struct Shared {
    token: String,
    journal: Journal,
    state: Mutex<HookState>,
}

#[derive(Default)]
struct HookState {
    archived: bool,
    /// After this many more answers, the next one is late by this much.
    slow_answer: Option<(usize, Duration)>,
    /// The JSON payloads posted, in order.
    posted: Vec<Value>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, HookState> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// `429` with `Retry-After`, as Slack answers a hook posting too fast.
pub fn rate_limited(retry_after: u64) -> Scripted {
    Scripted::text(429, "rate_limited").with_header("retry-after", &retry_after.to_string())
}

impl SlackFake {
    pub async fn start(token: &str) -> Self {
        let shared =
            Arc::new(Shared { token: token.to_string(), journal: Journal::default(), state: Mutex::default() });
        let router = Router::new().fallback(any(handle)).with_state(Arc::clone(&shared));
        let running = Arc::new(serve(router).await);
        Self { shared, running }
    }

    pub fn webhook_url(&self) -> String {
        format!("http://{}/services/{TEAM}/{HOOK}/{}", self.running.address, self.shared.token)
    }

    /// The same hook with another token (`403 invalid_token`).
    pub fn url_with_token(&self, token: &str) -> String {
        format!("http://{}/services/{TEAM}/{HOOK}/{token}", self.running.address)
    }

    /// A hook that does not exist (`404 no_service`).
    pub fn unknown_url(&self) -> String {
        format!("http://{}/services/{TEAM}/B0GONE/{}", self.running.address, self.shared.token)
    }

    /// The channel is archived from now on.
    pub fn archive(&self) {
        self.shared.lock().archived = true;
    }

    /// After `after` more answers, the next request is handled (the message
    /// posted) but answered `delay` late, as when Slack is slow to reply.
    pub fn answer_slowly(&self, after: usize, delay: Duration) {
        self.shared.lock().slow_answer = Some((after, delay));
    }

    pub fn push_reply(&self, reply: Scripted) {
        self.shared.journal.script(reply);
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.journal.requests()
    }

    /// The messages Slack would have shown.
    pub fn posted(&self) -> Vec<Value> {
        self.shared.lock().posted.clone()
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let mut recorded = Recorded::of(&method, &uri, &headers, body);
    let answer = answer(&shared, &method, &recorded);
    recorded.status = answer.status;
    shared.journal.record(recorded);
    let late = {
        let mut state = shared.lock();
        match state.slow_answer {
            Some((0, delay)) => state.slow_answer.take().map(|_| delay),
            Some((ref mut after, _)) => {
                *after -= 1;
                None
            }
            None => None,
        }
    };
    if let Some(delay) = late {
        tokio::time::sleep(delay).await;
    }
    answer.into_response()
}

fn answer(shared: &Shared, method: &Method, recorded: &Recorded) -> Scripted {
    let segments: Vec<&str> = recorded.path.split('/').filter(|s| !s.is_empty()).collect();
    match segments.as_slice() {
        ["services", TEAM, HOOK, token] if *token == shared.token => {}
        ["services", TEAM, HOOK, _] => return Scripted::text(403, "invalid_token"),
        _ => return Scripted::text(404, "no_service"),
    }
    if method != Method::POST {
        return Scripted::text(405, "invalid_method");
    }
    if let Some(scripted) = shared.journal.next_for(&recorded.method, &recorded.path) {
        return scripted;
    }
    // The hook is checked before the payload.
    if shared.lock().archived {
        return Scripted::text(410, "channel_is_archived");
    }
    let payload = if recorded.content_type().starts_with("application/x-www-form-urlencoded") {
        url::form_urlencoded::parse(&recorded.body)
            .find(|(k, _)| k == "payload")
            .and_then(|(_, v)| serde_json::from_str::<Value>(&v).ok())
    } else {
        Some(recorded.json.clone()).filter(Value::is_object)
    };
    let Some(payload) = payload else { return Scripted::text(400, "invalid_payload") };
    let has_text = payload["text"].as_str().is_some_and(|t| !t.trim().is_empty());
    let has_blocks = payload["blocks"].as_array().is_some_and(|b| !b.is_empty());
    if !has_text && !has_blocks {
        return Scripted::text(400, "no_text");
    }
    shared.lock().posted.push(payload);
    Scripted::text(200, "ok")
}
