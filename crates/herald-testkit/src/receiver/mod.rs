//! A fake webhook receiver for end-to-end tests of the publishing engine.
//!
//! It plays the other side of Herald's webhook contract: `POST /hook` with a
//! JSON body, signed with `X-Herald-Signature: sha256=<hex HMAC-SHA256 of the
//! raw body>`, carrying an `Idempotency-Key`. Every request is recorded so a
//! test can assert on exactly what Herald sent, and replies can be scripted
//! (errors, `Retry-After`, slow answers) to drive retries and timeouts.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, Utc};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::sync::oneshot;

/// Handle to a running fake receiver. Clones share the same server and
/// recordings; the server shuts down once the last handle is dropped.
#[derive(Clone)]
pub struct WebhookReceiver {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<Shared>,
    address: SocketAddr,
    /// Dropping this (with the last handle) resolves the server's graceful
    /// shutdown future.
    _shutdown: oneshot::Sender<()>,
}

/// State shared with the server task (which must not keep `Inner` alive).
struct Shared {
    secret: Vec<u8>,
    state: Mutex<Recorded>,
}

#[derive(Default)]
struct Recorded {
    replies: VecDeque<Reply>,
    deliveries: Vec<Delivery>,
    /// Response id handed out per `Idempotency-Key`, so a repeated key gets
    /// the same answer an idempotent receiver would give.
    ids: HashMap<String, String>,
}

/// One request as the receiver saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    /// When the request arrived (before any scripted delay).
    pub received_at: DateTime<Utc>,
    /// The `Idempotency-Key` header, if sent.
    pub idempotency_key: Option<String>,
    /// `X-Herald-Signature` matched the HMAC of the raw body.
    pub signature_valid: bool,
    /// All request headers; names are lower-case, repeated values are
    /// joined with `, `.
    pub headers: BTreeMap<String, String>,
    /// The parsed JSON body (a JSON string holding the raw text if the body
    /// was not JSON, so nothing Herald sent is lost).
    pub body: Value,
    /// The status the receiver answered (for [`Reply::Delay`], the 200 it
    /// answers once the delay is over, even if the client gave up first).
    pub status: u16,
}

/// A scripted answer, queued with [`WebhookReceiver::push_reply`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// 200 with `{"id": "<generated id>", "url": "https://receiver.example/posts/<id>"}`
    /// (the default). The id is stable per `Idempotency-Key`.
    Ok,
    /// Any status with a body (e.g. 500, 401, 400 with a JSON error) and
    /// optional `Retry-After` seconds header, to exercise error handling.
    Status { status: u16, body: String, retry_after: Option<u64> },
    /// Wait this long before answering like [`Reply::Ok`] (to test client
    /// timeouts / kill mid-delivery). The request is recorded — as accepted —
    /// on arrival: the receiver processed it even if the answer is lost.
    Delay(Duration),
}

impl WebhookReceiver {
    /// Starts on 127.0.0.1:0 with the given signing secret; answers 200 by default.
    pub async fn start(secret: &str) -> Self {
        let shared = Arc::new(Shared { secret: secret.as_bytes().to_vec(), state: Mutex::new(Recorded::default()) });
        let router = Router::new()
            .route("/hook", post(receive))
            // Record every body, however large, rather than rejecting it unseen.
            .layer(DefaultBodyLimit::disable())
            .with_state(Arc::clone(&shared));
        let listener =
            tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind a free port for the webhook receiver");
        let address = listener.local_addr().expect("webhook receiver local address");
        let (shutdown, on_shutdown) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async move {
                    // Resolves when the sender is dropped with the last handle.
                    let _ = on_shutdown.await;
                })
                .await;
        });
        Self { inner: Arc::new(Inner { shared, address, _shutdown: shutdown }) }
    }

    /// The webhook URL to configure in Herald: `http://127.0.0.1:PORT/hook`.
    pub fn url(&self) -> String {
        format!("http://{}/hook", self.inner.address)
    }

    /// Queue replies used for the next requests, in order (then back to the default).
    /// Requests with a bad signature are answered 401 and do not consume a reply.
    pub fn push_reply(&self, reply: Reply) {
        self.inner.shared.lock().replies.push_back(reply);
    }

    /// Every request received, in arrival order (including ones answered with errors).
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.inner.shared.lock().deliveries.clone()
    }

    /// Requests that were answered 2xx, deduplicated by Idempotency-Key (what a
    /// receiver that honours the key would have processed). The first arrival
    /// of each key is kept; requests without a key are never merged.
    pub fn accepted_unique(&self) -> Vec<Delivery> {
        accepted_unique(&self.inner.shared.lock().deliveries)
    }

    /// Waits (polling every 10 ms, no fixed sleeps) until at least n requests
    /// were answered 2xx with distinct keys, or panics after `timeout` with a
    /// message listing what arrived, so a failing test shows why.
    pub async fn wait_for_accepted(&self, n: usize, timeout: Duration) -> Vec<Delivery> {
        let started = Instant::now();
        loop {
            let accepted = self.accepted_unique();
            if accepted.len() >= n {
                return accepted;
            }
            if started.elapsed() >= timeout {
                panic!(
                    "webhook receiver: expected {n} accepted deliveries with distinct \
                     idempotency keys within {timeout:?}, got {}.\n{}",
                    accepted.len(),
                    describe(&self.deliveries())
                );
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl std::fmt::Debug for WebhookReceiver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookReceiver").field("url", &self.url()).finish_non_exhaustive()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Recorded> {
        // A panicking test thread must not hide the recordings from others.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

fn accepted_unique(deliveries: &[Delivery]) -> Vec<Delivery> {
    let mut seen = HashSet::new();
    deliveries
        .iter()
        .filter(|d| (200..300).contains(&d.status))
        .filter(|d| match &d.idempotency_key {
            Some(key) => seen.insert(key.clone()),
            None => true,
        })
        .cloned()
        .collect()
}

/// One line per delivery, for failure messages.
fn describe(deliveries: &[Delivery]) -> String {
    if deliveries.is_empty() {
        return "No requests arrived at all.".to_string();
    }
    let mut out = format!("{} request(s) arrived:", deliveries.len());
    for (n, d) in deliveries.iter().enumerate() {
        let item = &d.body["item"];
        let _ = write!(
            out,
            "\n  #{n} at {} -> {} key={} signature_valid={} post={} item={}/{}",
            d.received_at.format("%H:%M:%S%.3f"),
            d.status,
            d.idempotency_key.as_deref().unwrap_or("<none>"),
            d.signature_valid,
            d.body["post"]["id"],
            item["index"],
            item["of"],
        );
    }
    out
}

/// `sha256=<lowercase hex HMAC-SHA256 of body keyed with secret>`.
fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts any key length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

async fn receive(State(shared): State<Arc<Shared>>, headers: HeaderMap, body: Bytes) -> Response {
    let received_at = Utc::now();
    let idempotency_key = headers.get("idempotency-key").map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
    let signature_valid =
        headers.get("x-herald-signature").is_some_and(|v| v.as_bytes() == signature(&shared.secret, &body).as_bytes());
    let mut recorded_headers = BTreeMap::<String, String>::new();
    for (name, value) in &headers {
        let value = String::from_utf8_lossy(value.as_bytes());
        recorded_headers
            .entry(name.as_str().to_string())
            .and_modify(|existing| {
                existing.push_str(", ");
                existing.push_str(&value);
            })
            .or_insert_with(|| value.into_owned());
    }
    let json_body =
        serde_json::from_slice(&body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));

    // Decide the answer and record the delivery under one lock, so arrival
    // order and the reply queue stay consistent under concurrent requests.
    let (status, answer) = {
        let mut state = shared.lock();
        let (status, answer) = if signature_valid {
            match state.replies.pop_front().unwrap_or(Reply::Ok) {
                Reply::Ok => (200, Answer::Ok(id_for(&mut state, &idempotency_key))),
                Reply::Delay(delay) => (200, Answer::Delayed(delay, id_for(&mut state, &idempotency_key))),
                Reply::Status { status, body, retry_after } => (status, Answer::Status(body, retry_after)),
            }
        } else {
            (401, Answer::Status(json!({"error": "bad signature"}).to_string(), None))
        };
        state.deliveries.push(Delivery {
            received_at,
            idempotency_key,
            signature_valid,
            headers: recorded_headers,
            body: json_body,
            status,
        });
        (status, answer)
    };

    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match answer {
        Answer::Ok(id) => ok_response(&id),
        Answer::Delayed(delay, id) => {
            tokio::time::sleep(delay).await;
            ok_response(&id)
        }
        Answer::Status(body, retry_after) => {
            let content_type = if serde_json::from_str::<Value>(&body).is_ok() {
                "application/json"
            } else {
                "text/plain; charset=utf-8"
            };
            let mut response = (status, [(header::CONTENT_TYPE, content_type)], body).into_response();
            if let Some(seconds) = retry_after {
                response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
            }
            response
        }
    }
}

enum Answer {
    Ok(String),
    Delayed(Duration, String),
    Status(String, Option<u64>),
}

/// The same key always gets the same id; requests without a key get a fresh one.
fn id_for(state: &mut Recorded, key: &Option<String>) -> String {
    let fresh = || format!("rcv_{}", uuid::Uuid::new_v4().simple());
    match key {
        Some(key) => state.ids.entry(key.clone()).or_insert_with(fresh).clone(),
        None => fresh(),
    }
}

fn ok_response(id: &str) -> Response {
    axum::Json(json!({
        "id": id,
        "url": format!("https://receiver.example/posts/{id}"),
    }))
    .into_response()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests;
