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
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test_secret";

    fn body(key: &str, index: u64) -> String {
        json!({
            "idempotencyKey": key,
            "item": {"index": index, "of": 2, "content": format!("part {index}")},
            "post": {"id": "post-1"},
        })
        .to_string()
    }

    async fn send_signed(receiver: &WebhookReceiver, key: &str, body: &str) -> reqwest::Response {
        send(receiver, key, body, &signature(SECRET.as_bytes(), body.as_bytes())).await
    }

    async fn send(receiver: &WebhookReceiver, key: &str, body: &str, signature: &str) -> reqwest::Response {
        reqwest::Client::new()
            .post(receiver.url())
            .header("content-type", "application/json")
            .header("x-herald-signature", signature)
            .header("idempotency-key", key)
            .header("x-herald-event", "post.publish")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }

    #[test]
    fn signature_matches_a_known_hmac_sha256_vector() {
        // RFC 4231, test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[tokio::test]
    async fn valid_signed_request_is_accepted_and_recorded() {
        let receiver = WebhookReceiver::start(SECRET).await;
        assert!(receiver.url().starts_with("http://127.0.0.1:"));
        assert!(receiver.url().ends_with("/hook"));

        let sent = body("key-1", 0);
        let response = send_signed(&receiver, "key-1", &sent).await;
        assert_eq!(response.status(), 200);
        let answer: Value = response.json().await.unwrap();
        let id = answer["id"].as_str().unwrap();
        assert!(!id.is_empty());
        assert_eq!(answer["url"], format!("https://receiver.example/posts/{id}"));

        let deliveries = receiver.deliveries();
        assert_eq!(deliveries.len(), 1);
        let delivery = &deliveries[0];
        assert!(delivery.signature_valid);
        assert_eq!(delivery.status, 200);
        assert_eq!(delivery.idempotency_key.as_deref(), Some("key-1"));
        assert_eq!(delivery.body, serde_json::from_str::<Value>(&sent).unwrap());
        assert_eq!(delivery.headers["x-herald-event"], "post.publish");
        assert_eq!(delivery.headers["content-type"], "application/json");
        assert!(delivery.received_at <= Utc::now());
        assert_eq!(receiver.accepted_unique(), deliveries);
    }

    #[tokio::test]
    async fn bad_signature_gets_401_and_is_recorded() {
        let receiver = WebhookReceiver::start(SECRET).await;
        // A queued reply must not override the signature check, nor be used up.
        receiver.push_reply(Reply::Status { status: 503, body: String::new(), retry_after: None });
        let sent = body("key-1", 0);
        let wrong_secret = signature(b"another secret", sent.as_bytes());
        let response = send(&receiver, "key-1", &sent, &wrong_secret).await;
        assert_eq!(response.status(), 401);
        let answer: Value = response.json().await.unwrap();
        assert_eq!(answer, json!({"error": "bad signature"}));

        // Signature over a different body is rejected too.
        let other = signature(SECRET.as_bytes(), body("key-1", 1).as_bytes());
        assert_eq!(send(&receiver, "key-1", &sent, &other).await.status(), 401);
        // So is a missing prefix.
        let bare = signature(SECRET.as_bytes(), sent.as_bytes()).replace("sha256=", "");
        assert_eq!(send(&receiver, "key-1", &sent, &bare).await.status(), 401);

        let deliveries = receiver.deliveries();
        assert_eq!(deliveries.len(), 3);
        assert!(deliveries.iter().all(|d| !d.signature_valid && d.status == 401));
        assert!(receiver.accepted_unique().is_empty());

        // The queued 503 is still waiting for the next valid request.
        assert_eq!(send_signed(&receiver, "key-1", &sent).await.status(), 503);
    }

    #[tokio::test]
    async fn queued_replies_are_used_in_order_then_the_default() {
        let receiver = WebhookReceiver::start(SECRET).await;
        receiver.push_reply(Reply::Status { status: 500, body: "boom".into(), retry_after: None });
        receiver.push_reply(Reply::Status {
            status: 400,
            body: json!({"error": "content too long"}).to_string(),
            retry_after: None,
        });
        receiver.push_reply(Reply::Ok);

        let sent = body("key-1", 0);
        let first = send_signed(&receiver, "key-1", &sent).await;
        assert_eq!(first.status(), 500);
        assert_eq!(first.text().await.unwrap(), "boom");
        let second = send_signed(&receiver, "key-1", &sent).await;
        assert_eq!(second.status(), 400);
        assert_eq!(second.headers()["content-type"], "application/json");
        assert_eq!(second.json::<Value>().await.unwrap(), json!({"error": "content too long"}));
        assert_eq!(send_signed(&receiver, "key-1", &sent).await.status(), 200);
        // Queue exhausted: back to the default.
        assert_eq!(send_signed(&receiver, "key-2", &sent).await.status(), 200);

        let statuses: Vec<u16> = receiver.deliveries().iter().map(|d| d.status).collect();
        assert_eq!(statuses, [500, 400, 200, 200]);
    }

    #[tokio::test]
    async fn retry_after_header_is_sent() {
        let receiver = WebhookReceiver::start(SECRET).await;
        receiver.push_reply(Reply::Status {
            status: 429,
            body: json!({"error": "slow down"}).to_string(),
            retry_after: Some(7),
        });
        receiver.push_reply(Reply::Status { status: 503, body: String::new(), retry_after: None });
        let sent = body("key-1", 0);
        let limited = send_signed(&receiver, "key-1", &sent).await;
        assert_eq!(limited.status(), 429);
        assert_eq!(limited.headers()["retry-after"], "7");
        let unavailable = send_signed(&receiver, "key-1", &sent).await;
        assert_eq!(unavailable.status(), 503);
        assert!(unavailable.headers().get("retry-after").is_none());
    }

    #[tokio::test]
    async fn delay_delays_the_answer() {
        let receiver = WebhookReceiver::start(SECRET).await;
        receiver.push_reply(Reply::Delay(Duration::from_millis(300)));
        let sent = body("key-1", 0);
        let started = Instant::now();
        let response = send_signed(&receiver, "key-1", &sent).await;
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert_eq!(response.status(), 200);
        assert!(response.json::<Value>().await.unwrap()["id"].is_string());

        // Back to prompt answers.
        let started = Instant::now();
        assert_eq!(send_signed(&receiver, "key-2", &sent).await.status(), 200);
        assert!(started.elapsed() < Duration::from_millis(300));
    }

    #[tokio::test]
    async fn delayed_request_a_client_gave_up_on_still_counts_as_accepted() {
        let receiver = WebhookReceiver::start(SECRET).await;
        receiver.push_reply(Reply::Delay(Duration::from_secs(5)));
        let sent = body("key-1", 0);
        let result = reqwest::Client::builder()
            .timeout(Duration::from_millis(100))
            .build()
            .unwrap()
            .post(receiver.url())
            .header("x-herald-signature", signature(SECRET.as_bytes(), sent.as_bytes()))
            .header("idempotency-key", "key-1")
            .body(sent.clone())
            .send()
            .await;
        assert!(result.unwrap_err().is_timeout());

        // The retry with the same key is not processed twice.
        assert_eq!(send_signed(&receiver, "key-1", &sent).await.status(), 200);
        assert_eq!(receiver.deliveries().len(), 2);
        assert_eq!(receiver.accepted_unique().len(), 1);
    }

    #[tokio::test]
    async fn accepted_unique_dedupes_by_key_and_skips_errors() {
        let receiver = WebhookReceiver::start(SECRET).await;
        receiver.push_reply(Reply::Status { status: 500, body: String::new(), retry_after: None });
        let first = body("key-a", 0);
        let second = body("key-b", 1);
        send_signed(&receiver, "key-a", &first).await; // 500
        send_signed(&receiver, "key-a", &first).await; // 200
        send_signed(&receiver, "key-a", &first).await; // 200, duplicate
        send_signed(&receiver, "key-b", &second).await; // 200

        assert_eq!(receiver.deliveries().len(), 4);
        let unique = receiver.accepted_unique();
        let keys: Vec<_> = unique.iter().map(|d| d.idempotency_key.clone().unwrap()).collect();
        assert_eq!(keys, ["key-a", "key-b"]);
        assert_eq!(unique[1].body["item"]["index"], 1);

        let waited = receiver.wait_for_accepted(2, Duration::from_secs(1)).await;
        assert_eq!(waited, unique);
    }

    #[tokio::test]
    async fn same_key_gets_the_same_id() {
        let receiver = WebhookReceiver::start(SECRET).await;
        let sent = body("key-1", 0);
        let id = |answer: Value| answer["id"].as_str().unwrap().to_string();
        let first = id(send_signed(&receiver, "key-1", &sent).await.json().await.unwrap());
        receiver.push_reply(Reply::Delay(Duration::from_millis(10)));
        let again = id(send_signed(&receiver, "key-1", &sent).await.json().await.unwrap());
        let other = id(send_signed(&receiver, "key-2", &sent).await.json().await.unwrap());
        assert_eq!(first, again);
        assert_ne!(first, other);
    }

    #[tokio::test]
    async fn wait_for_accepted_sees_requests_that_arrive_later() {
        let receiver = WebhookReceiver::start(SECRET).await;
        let background = receiver.clone();
        tokio::spawn(async move {
            for (n, key) in ["key-1", "key-2"].into_iter().enumerate() {
                tokio::time::sleep(Duration::from_millis(50)).await;
                send_signed(&background, key, &body(key, n as u64)).await;
            }
        });
        let accepted = receiver.wait_for_accepted(2, Duration::from_secs(5)).await;
        assert_eq!(accepted.len(), 2);
    }

    #[tokio::test]
    async fn server_stops_when_the_last_handle_is_dropped() {
        let receiver = WebhookReceiver::start(SECRET).await;
        let url = receiver.url();
        let clone = receiver.clone();
        drop(receiver);
        // One handle left: still serving.
        assert_eq!(send_signed(&clone, "key-1", &body("key-1", 0)).await.status(), 200);
        drop(clone);
        let fresh = || reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
        let started = Instant::now();
        while fresh().post(&url).body("{}").send().await.is_ok() {
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "receiver still answering after its last handle was dropped"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[tokio::test]
    #[should_panic(expected = "expected 2 accepted deliveries")]
    async fn wait_for_accepted_panics_listing_what_arrived() {
        let receiver = WebhookReceiver::start(SECRET).await;
        send_signed(&receiver, "key-1", &body("key-1", 0)).await;
        send(&receiver, "key-2", &body("key-2", 1), "sha256=00").await;
        receiver.wait_for_accepted(2, Duration::from_millis(100)).await;
    }
}
