//! What the JSON API fakes (DEV, WordPress) share: a request log, scripted
//! answers by endpoint, and an axum router on 127.0.0.1:0 that stops with
//! its last handle.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::oneshot;

/// One request as a fake saw it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    /// Decoded query parameters.
    pub query: BTreeMap<String, String>,
    /// Lower-case names; repeated values joined with `, `.
    pub headers: BTreeMap<String, String>,
    pub body: Bytes,
    /// The status the fake answered.
    pub status: u16,
}

impl RecordedRequest {
    pub fn new(method: &Method, uri: &Uri, headers: &HeaderMap, body: Bytes) -> Self {
        let query =
            uri.query().map(|q| url::form_urlencoded::parse(q.as_bytes()).into_owned().collect()).unwrap_or_default();
        let mut recorded = BTreeMap::<String, String>::new();
        for (name, value) in headers {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            recorded
                .entry(name.as_str().to_string())
                .and_modify(|existing| {
                    existing.push_str(", ");
                    existing.push_str(&value);
                })
                .or_insert(value);
        }
        Self { method: method.to_string(), path: uri.path().to_string(), query, headers: recorded, body, status: 0 }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(&name.to_ascii_lowercase()).map(String::as_str)
    }

    /// The body as JSON (`Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

/// An answer queued for the next request to one endpoint, e.g. a 429.
#[derive(Debug, Clone)]
pub struct Scripted {
    pub status: u16,
    pub body: Value,
    pub retry_after: Option<u64>,
}

/// Scripted answers by endpoint (`"POST /api/articles"`), used in order.
#[derive(Debug, Default)]
pub struct Script(Vec<(String, VecDeque<Scripted>)>);

impl Script {
    pub fn push(&mut self, endpoint: &str, reply: Scripted) {
        match self.0.iter_mut().find(|(e, _)| e == endpoint) {
            Some((_, queue)) => queue.push_back(reply),
            None => self.0.push((endpoint.to_string(), VecDeque::from([reply]))),
        }
    }

    pub fn next(&mut self, endpoint: &str) -> Option<Scripted> {
        self.0.iter_mut().find(|(e, _)| e == endpoint).and_then(|(_, queue)| queue.pop_front())
    }
}

/// A JSON answer with an optional `Retry-After`.
pub fn json_response(status: u16, body: &Value, retry_after: Option<u64>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response =
        (status, [(header::CONTENT_TYPE, "application/json; charset=utf-8")], body.to_string()).into_response();
    if let Some(seconds) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// Serves `router` on 127.0.0.1:0 until the returned sender is dropped.
pub async fn serve(router: Router) -> (SocketAddr, oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a free port for a fake");
    let address = listener.local_addr().expect("fake local address");
    let (shutdown, on_shutdown) = oneshot::channel::<()>();
    tokio::spawn(async move {
        let _ = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                let _ = on_shutdown.await;
            })
            .await;
    });
    (address, shutdown)
}
