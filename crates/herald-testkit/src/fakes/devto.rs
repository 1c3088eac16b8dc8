//! A fake DEV (Forem API v1) for the `devto` provider's tests.
//!
//! As documented at developers.forem.com/api/v1: requests authenticate with
//! an `api-key` header (401 `{"error":"unauthorized","status":401}`
//! otherwise); `GET /api/users/me` describes the key's user;
//! `POST /api/articles` with `{"article": {title, body_markdown, published,
//! tags, ...}}` answers 201 with the article, or 422
//! `{"error": "...", "status": 422}` when Forem's validations refuse it (a
//! blank title, more than four tags, tags that are not alphanumeric).
//! Rate-limit answers (429 with `Retry-After`) can be scripted.

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};

use super::server::{FakeServer, Recorded, Scripted};

pub const USER_ID: u64 = 1234;
pub const USERNAME: &str = "ada_dev";

#[derive(Clone)]
pub struct DevtoFake {
    server: FakeServer,
    state: Arc<Mutex<FakeState>>,
}

struct FakeState {
    api_key: String,
    articles: Vec<Value>,
}

fn lock(state: &Mutex<FakeState>) -> MutexGuard<'_, FakeState> {
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl DevtoFake {
    /// Starts a DEV that accepts `api_key`.
    pub async fn start(api_key: &str) -> Self {
        let state = Arc::new(Mutex::new(FakeState { api_key: api_key.to_string(), articles: Vec::new() }));
        let for_server = Arc::clone(&state);
        let server = FakeServer::start(Box::new(move |request| answer(&mut lock(&for_server), request))).await;
        Self { server, state }
    }

    /// What `HERALD_PROVIDER_DEVTO_API_BASE` should be: `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        self.server.url()
    }

    /// The key is revoked on DEV: every request now gets 401.
    pub fn revoke_key(&self) {
        lock(&self.state).api_key = String::new();
    }

    /// Answer the next request to `endpoint` (e.g. `"POST /api/articles"`) with this.
    pub fn script(&self, endpoint: &str, status: u16, body: Value, retry_after: Option<u64>) {
        let scripted = Scripted::json(status, body).at(endpoint);
        self.server.script(match retry_after {
            Some(seconds) => scripted.retry_after(seconds),
            None => scripted,
        });
    }

    pub fn requests(&self) -> Vec<Recorded> {
        self.server.requests()
    }

    /// Articles created, as DEV stored them.
    pub fn articles(&self) -> Vec<Value> {
        lock(&self.state).articles.clone()
    }
}

fn error(status: u16, message: &str) -> Scripted {
    Scripted::json(status, json!({ "error": message, "status": status }))
}

fn answer(state: &mut FakeState, request: &Recorded) -> Scripted {
    let authorised = !state.api_key.is_empty() && request.header("api-key") == Some(state.api_key.as_str());
    if !authorised {
        return error(401, "unauthorized");
    }
    let endpoint = format!("{} {}", request.method, request.path);
    match endpoint.as_str() {
        "GET /api/users/me" => Scripted::json(
            200,
            json!({
                "type_of": "user",
                "id": USER_ID,
                "username": USERNAME,
                "name": "Ada Lovelace",
                "twitter_username": null,
                "github_username": "ada",
                "summary": "Poet of science",
                "location": "London",
                "website_url": null,
                "joined_at": "Jan 1, 2020",
                "profile_image": "https://media.dev.to/profile/ada.png"
            }),
        ),
        "POST /api/articles" => create_article(state, &request.json),
        _ => error(404, "not found"),
    }
}

fn create_article(state: &mut FakeState, body: &Value) -> Scripted {
    let Some(article) = body.get("article").filter(|a| a.is_object()) else {
        return error(422, "param is missing or the value is empty: article");
    };
    let title = article["title"].as_str().unwrap_or_default().trim().to_string();
    if title.is_empty() {
        return error(422, "Title can't be blank");
    }
    if title.chars().count() > 128 {
        return error(422, "Title is too long (maximum is 128 characters)");
    }
    // Forem takes tags as a list or as a comma-separated string.
    let tags: Vec<String> = match &article["tags"] {
        Value::Array(tags) => tags.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        Value::String(list) => list.split(',').map(|t| t.trim().to_string()).filter(|t| !t.is_empty()).collect(),
        _ => Vec::new(),
    };
    if tags.len() > 4 {
        return error(422, "Tag list exceed the maximum of 4 tags");
    }
    if let Some(bad) = tags.iter().find(|t| !t.chars().all(|c| c.is_ascii_alphanumeric())) {
        return error(422, &format!("Tag \"{bad}\" contains non-alphanumeric or prohibited unicode characters"));
    }
    let id = 100_000 + state.articles.len() as u64 + 1;
    let slug = format!(
        "{}-{id:x}",
        title.to_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect::<String>()
    );
    let published = article["published"].as_bool().unwrap_or(false);
    let created = json!({
        "type_of": "article",
        "id": id,
        "title": title,
        "description": article["description"].as_str().unwrap_or_default(),
        "slug": slug,
        "path": format!("/{USERNAME}/{slug}"),
        "url": format!("https://dev.to/{USERNAME}/{slug}"),
        "published": published,
        "published_at": if published { json!("2026-11-26T12:00:00Z") } else { Value::Null },
        "tag_list": tags.join(", "),
        "tags": tags,
        "series": article["series"],
        "canonical_url": article["canonical_url"],
        "cover_image": article["main_image"],
        "organization_id": article["organization_id"],
        "body_markdown": article["body_markdown"].as_str().unwrap_or_default(),
        "user": { "username": USERNAME, "name": "Ada Lovelace" }
    });
    state.articles.push(created.clone());
    Scripted::json(201, created)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn post(fake: &DevtoFake, key: &str, body: Value) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/api/articles", fake.base_url()))
            .header("api-key", key)
            .json(&body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    #[tokio::test]
    async fn answers_like_forem() {
        let fake = DevtoFake::start("key").await;
        let (status, body) = post(&fake, "nope", json!({})).await;
        assert_eq!((status, body), (401, json!({"error": "unauthorized", "status": 401})));
        let (status, body) = post(&fake, "key", json!({"article": {"title": " "}})).await;
        assert_eq!((status, body), (422, json!({"error": "Title can't be blank", "status": 422})));
        let (status, body) = post(&fake, "key", json!({"article": {"title": "T", "tags": "a, b, c, d, e"}})).await;
        assert_eq!(status, 422);
        assert_eq!(body["error"], "Tag list exceed the maximum of 4 tags");
        let (status, body) = post(&fake, "key", json!({"article": {"title": "Hi", "published": true}})).await;
        assert_eq!(status, 201);
        assert!(body["url"].as_str().unwrap().starts_with("https://dev.to/ada_dev/hi-"));
        fake.script("POST /api/articles", 429, json!({"error": "Rate limit reached", "status": 429}), Some(30));
        let response = reqwest::Client::new()
            .post(format!("{}/api/articles", fake.base_url()))
            .header("api-key", "key")
            .json(&json!({"article": {"title": "Hi"}}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 429);
        assert_eq!(response.headers()["retry-after"], "30");
        assert_eq!(fake.requests().len(), 5);
        assert_eq!(fake.articles().len(), 1);
    }
}
