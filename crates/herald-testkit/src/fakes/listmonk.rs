//! A fake listmonk, written from listmonk.app/docs/apis: an API user over
//! HTTP Basic auth; `GET /api/lists`, `POST /api/media` (multipart
//! `file`), `POST /api/campaigns`, `GET /api/campaigns?query=…`,
//! `GET /api/campaigns/{id}` and `PUT /api/campaigns/{id}/status`. Answers
//! wrap their object in `data`; errors are `{"message": "…"}`.

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

use super::server::{FakeServer, Recorded, Scripted};

pub const USER: &str = "herald-api";
pub const TOKEN: &str = "listmonkApiToken0123456789abcdef";

#[derive(Clone)]
pub struct FakeListmonk {
    server: FakeServer,
    state: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    next_id: u64,
    campaigns: Vec<Value>,
    media: Vec<Value>,
    /// The next status change fails with a 502 (listmonk behind a proxy that gave up).
    fail_next_start: bool,
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn error(status: u16, message: &str) -> Scripted {
    Scripted::json(status, json!({"message": message}))
}

impl FakeListmonk {
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

    pub fn campaigns(&self) -> Vec<Value> {
        lock(&self.state).campaigns.clone()
    }

    pub fn media(&self) -> Vec<Value> {
        lock(&self.state).media.clone()
    }

    pub fn fail_next_start(&self) {
        lock(&self.state).fail_next_start = true;
    }
}

fn lists() -> Value {
    json!([{"id": 1, "name": "Newsletter", "type": "public", "subscriber_count": 120}, {"id": 3, "name": "Beta testers", "type": "private", "subscriber_count": 12}])
}

fn answer(state: &mut State, base: &str, request: &Recorded) -> Scripted {
    if request.basic_auth() != Some((USER.to_string(), TOKEN.to_string())) {
        return error(403, "Invalid API credentials");
    }
    let segments: Vec<&str> = request.path.split('/').filter(|s| !s.is_empty()).collect();
    match (request.method.as_str(), segments.as_slice()) {
        ("GET", ["api", "lists"]) => {
            Scripted::json(200, json!({"data": {"results": lists(), "total": 2, "per_page": 0, "page": 1}}))
        }
        ("POST", ["api", "media"]) => {
            let Some(file) = request.part("file").filter(|p| p.file_name.is_some()) else {
                return error(400, "Invalid file.");
            };
            state.next_id += 1;
            let name = file.file_name.clone().unwrap_or_default();
            let entry = json!({"id": state.next_id, "filename": name, "url": format!("{base}/uploads/{name}"), "thumb_url": format!("{base}/uploads/thumb_{name}")});
            state.media.push(entry.clone());
            Scripted::json(200, json!({"data": entry}))
        }
        ("POST", ["api", "campaigns"]) => create(state, request),
        ("GET", ["api", "campaigns"]) => {
            let query = request.query.get("query").cloned().unwrap_or_default();
            let found: Vec<Value> = state
                .campaigns
                .iter()
                .filter(|c| c["name"].as_str().is_some_and(|n| n.contains(&query)))
                .cloned()
                .collect();
            Scripted::json(200, json!({"data": {"results": found, "total": found.len(), "page": 1}}))
        }
        ("GET", ["api", "campaigns", id]) => {
            match state.campaigns.iter().find(|c| id.parse::<u64>().is_ok_and(|id| c["id"] == id)) {
                Some(campaign) => Scripted::json(200, json!({"data": campaign})),
                None => error(404, "Campaign not found."),
            }
        }
        ("PUT", ["api", "campaigns", id, "status"]) => {
            if std::mem::take(&mut state.fail_next_start) {
                return Scripted::text(502, "<html>502 Bad Gateway</html>");
            }
            let Some(campaign) = state.campaigns.iter_mut().find(|c| id.parse::<u64>().is_ok_and(|id| c["id"] == id))
            else {
                return error(404, "Campaign not found.");
            };
            let wanted = request.json["status"].as_str().unwrap_or_default();
            let current = campaign["status"].as_str().unwrap_or_default().to_string();
            if wanted == "running" && !matches!(current.as_str(), "draft" | "scheduled" | "paused") {
                return error(400, &format!("Cannot start a campaign that is {current}."));
            }
            campaign["status"] = json!(wanted);
            if wanted == "running" {
                let sent: i64 = campaign["lists"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|l| {
                        lists().as_array()?.iter().find(|k| k["id"] == l["id"])?["subscriber_count"].as_i64()
                    })
                    .sum();
                campaign["sent"] = json!(sent);
                campaign["views"] = json!(40);
                campaign["clicks"] = json!(9);
            }
            Scripted::json(200, json!({"data": campaign}))
        }
        _ => error(404, "Not found."),
    }
}

fn create(state: &mut State, request: &Recorded) -> Scripted {
    let body = &request.json;
    if body["subject"].as_str().is_none_or(|s| s.trim().is_empty())
        || body["name"].as_str().is_none_or(|s| s.trim().is_empty())
    {
        return error(400, "Invalid length for name / subject.");
    }
    let known = lists();
    let wanted: Vec<Value> = body["lists"].as_array().cloned().unwrap_or_default();
    if wanted.is_empty() || !wanted.iter().all(|id| known.as_array().is_some_and(|k| k.iter().any(|l| &l["id"] == id)))
    {
        return error(400, "Invalid list IDs.");
    }
    if !matches!(body["content_type"].as_str(), Some("richtext" | "html" | "markdown" | "plain" | "visual")) {
        return error(400, "Invalid content type.");
    }
    state.next_id += 1;
    let campaign = json!({
        "id": state.next_id, "uuid": format!("2e6f1c3a-0000-4000-8000-{:012}", state.next_id), "name": body["name"],
        "subject": body["subject"], "body": body["body"], "content_type": body["content_type"], "status": "draft",
        "lists": wanted.iter().map(|id| json!({"id": id})).collect::<Vec<_>>(), "template_id": body["template_id"],
        "sent": 0, "views": 0, "clicks": 0, "bounces": 0,
    });
    state.campaigns.push(campaign.clone());
    Scripted::json(200, json!({"data": campaign}))
}
