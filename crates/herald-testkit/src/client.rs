//! A small HTTP client for tests: JSON in, status + headers + JSON out.

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    authorization: Option<String>,
    /// Sent with every request (e.g. `X-Herald-Workspace`).
    extra: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Client {
    pub fn new(base: &str, authorization: Option<String>) -> Self {
        let http = reqwest::Client::builder().cookie_store(true).build().expect("HTTP client");
        Self { http, base: base.to_string(), authorization, extra: Vec::new() }
    }

    /// The same client (same cookies), sending a header with every request.
    pub fn with_header(&self, name: &str, value: &str) -> Self {
        let mut client = self.clone();
        client.extra.push((name.to_string(), value.to_string()));
        client
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.send(Method::GET, path, None).await
    }

    pub async fn post(&self, path: &str, body: Value) -> Resp {
        self.send(Method::POST, path, Some(body)).await
    }

    pub async fn put(&self, path: &str, body: Value) -> Resp {
        self.send(Method::PUT, path, Some(body)).await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Resp {
        self.send(Method::PATCH, path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> Resp {
        self.send(Method::DELETE, path, None).await
    }

    pub async fn send(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        let body = body.map(|b| (b.to_string(), "application/json"));
        self.send_raw(method, path, body.as_ref().map(|(b, t)| (b.as_str(), *t))).await
    }

    /// `GET` with extra headers, e.g. `Accept: application/json`.
    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut request = self.http.get(format!("{}{path}", self.base));
        if let Some(value) = &self.authorization {
            request = request.header("authorization", value);
        }
        for (name, value) in &self.extra {
            request = request.header(name, value);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Self::read(request.send().await.expect("request reaches the server")).await
    }

    /// `POST` of a multipart form (file uploads).
    pub async fn post_multipart(&self, path: &str, form: reqwest::multipart::Form) -> Resp {
        let mut request = self.http.post(format!("{}{path}", self.base)).multipart(form);
        if let Some(value) = &self.authorization {
            request = request.header("authorization", value);
        }
        for (name, value) in &self.extra {
            request = request.header(name, value);
        }
        Self::read(request.send().await.expect("request reaches the server")).await
    }

    /// Uploads a file into the media library; returns the media JSON.
    pub async fn upload(&self, name: &str, bytes: Vec<u8>, alt_text: Option<&str>) -> Resp {
        let mut form = reqwest::multipart::Form::new()
            .part("file", reqwest::multipart::Part::bytes(bytes).file_name(name.to_string()));
        if let Some(alt) = alt_text {
            form = form.text("altText", alt.to_string());
        }
        self.post_multipart("/api/media", form).await
    }

    /// Sends a body as given, with a chosen content type.
    pub async fn send_raw(&self, method: Method, path: &str, body: Option<(&str, &str)>) -> Resp {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if let Some(value) = &self.authorization {
            request = request.header("authorization", value);
        }
        for (name, value) in &self.extra {
            request = request.header(name, value);
        }
        if let Some((body, content_type)) = body {
            request = request.header("content-type", content_type).body(body.to_string());
        }
        Self::read(request.send().await.expect("request reaches the server")).await
    }

    async fn read(response: reqwest::Response) -> Resp {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.expect("response body");
        let body = serde_json::from_str(&text).unwrap_or(Value::Null);
        Resp { status, headers, body, text }
    }
}

impl Resp {
    /// Asserts the status, and returns the body.
    #[track_caller]
    pub fn expect(&self, status: u16) -> &Value {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text);
        &self.body
    }

    /// Asserts an error in the JSON error format with this status and code;
    /// returns the `error` object.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) -> &Value {
        assert_eq!(self.status, status, "unexpected status; body: {}", self.text);
        let error = &self.body["error"];
        assert_eq!(error["code"], code, "unexpected code; body: {}", self.text);
        assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "no message: {}", self.text);
        assert!(error["timestamp"].as_str().is_some(), "no timestamp: {}", self.text);
        let request_id = error["requestId"].as_str().expect("requestId");
        assert_eq!(
            self.headers.get("x-request-id").and_then(|v| v.to_str().ok()),
            Some(request_id),
            "the error's requestId must match the X-Request-Id header"
        );
        error
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}
