//! The receiver checked against itself: signatures, scripted replies,
//! idempotency keys and the accepted-once view.

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
