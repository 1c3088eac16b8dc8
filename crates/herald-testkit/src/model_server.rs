//! A fake OpenAI-compatible chat-completions server for AI writing help:
//! `POST /v1/chat/completions` answers with scripted texts (or, with none
//! left, the user's text prefixed by "Better: "), records every request
//! with its `Authorization` header, and can be told to fail.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde_json::{Value, json};

pub const FAKE_MODEL_KEY: &str = "sk-fake-model-key-0123456789";

#[derive(Default)]
struct Inner {
    replies: VecDeque<String>,
    failing: Option<StatusCode>,
    requests: Vec<(Option<String>, Value)>,
}

#[derive(Clone)]
pub struct FakeModel {
    inner: Arc<Mutex<Inner>>,
    base: String,
}

impl FakeModel {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let router = Router::new().route("/v1/chat/completions", post(complete)).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind the model server");
        let address = listener.local_addr().expect("an address");
        tokio::spawn(async move { axum::serve(listener, router).await.ok() });
        Self { inner, base: format!("http://{address}/v1") }
    }

    /// What Herald is configured with to use this server.
    pub fn settings(&self) -> herald_app::ai::AiSettings {
        herald_app::ai::AiSettings {
            base_url: self.base.clone(),
            api_key: Some(FAKE_MODEL_KEY.into()),
            model: "fake-model".into(),
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().expect("model server state"))
    }

    /// The next answers, in order.
    pub fn reply_with(&self, texts: &[&str]) {
        self.with(|inner| inner.replies.extend(texts.iter().map(|t| t.to_string())));
    }

    pub fn fail_with(&self, status: Option<u16>) {
        self.with(|inner| inner.failing = status.and_then(|s| StatusCode::from_u16(s).ok()));
    }

    /// Every request: its `Authorization` header and JSON body.
    pub fn requests(&self) -> Vec<(Option<String>, Value)> {
        self.with(|inner| inner.requests.clone())
    }
}

async fn complete(State(inner): State<Arc<Mutex<Inner>>>, headers: HeaderMap, body: String) -> Response {
    let Ok(mut inner) = inner.lock() else { return StatusCode::INTERNAL_SERVER_ERROR.into_response() };
    let request: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let authorization = headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_string);
    inner.requests.push((authorization, request.clone()));
    if let Some(status) = inner.failing {
        let error = json!({"error": {"message": "the model is overloaded", "type": "server_error"}});
        return (status, axum::Json(error)).into_response();
    }
    let user = request["messages"][1]["content"].as_str().unwrap_or_default();
    let text = inner.replies.pop_front().unwrap_or_else(|| format!("Better: {user}"));
    axum::Json(json!({
        "id": "chatcmpl-fake",
        "object": "chat.completion",
        "model": request["model"],
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 10, "total_tokens": 20}
    }))
    .into_response()
}
