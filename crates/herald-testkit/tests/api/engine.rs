//! The publishing engine end to end: API → queue → worker → webhook
//! receiver → result, with faults injected at the receiver.

use std::time::Duration;

use herald_store::repo::{ClaimRequest, Posts, Queue};
use herald_testkit::{Reply, TestOptions, WebhookReceiver, db_test, id_of};
use serde_json::json;

const SECRET: &str = "a-webhook-secret-0123456789";
const WAIT: Duration = Duration::from_secs(15);

fn soon(millis: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::milliseconds(millis)).to_rfc3339()
}

db_test!(async fn a_scheduled_thread_arrives_once_on_time_in_order(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let receiver = WebhookReceiver::start(SECRET).await;
    let hook = app.connect_webhook(&ada, &receiver, SECRET).await;

    let when = soon(1500);
    let post = api
        .post("/api/posts", json!({"content": "first", "platforms": [hook], "scheduledFor": when, "thread": [{"content": "second"}, {"content": "third"}]}))
        .await;
    let post_id = id_of(post.expect(201));
    let delivered = receiver.wait_for_accepted(3, WAIT).await;
    let due: chrono::DateTime<chrono::Utc> = when.parse().unwrap();
    let lateness = (delivered[0].received_at - due).num_milliseconds();
    assert!((0..1000).contains(&lateness), "published {lateness} ms after its time");
    let contents: Vec<&str> = delivered.iter().map(|d| d.body["item"]["content"].as_str().unwrap()).collect();
    assert_eq!(contents, ["first", "second", "third"]);
    assert!(delivered.iter().all(|d| d.signature_valid), "every request is signed");

    let done = app.wait_for_post_status(&api, &post_id, "PUBLISHED", WAIT).await;
    let target = &done["targets"][0];
    assert_eq!(target["status"], "PUBLISHED");
    assert_eq!(target["platformPostIds"].as_array().unwrap().len(), 3);
    assert!(target["url"].as_str().unwrap().starts_with("https://receiver.example/"));
    assert!(done["publishedAt"].is_string());
    assert_eq!(done["platformPostIds"][hook.to_string()], target["platformPostIds"][0]);
    // Each reply points at the item before it, and at the thread's root.
    let ids = target["platformPostIds"].as_array().unwrap();
    assert_eq!(delivered[1].body["replyTo"]["id"], ids[0]);
    assert_eq!(delivered[2].body["replyTo"]["id"], ids[1]);
    assert_eq!(delivered[2].body["root"]["id"], ids[0]);
    // Nothing is left to deliver: exactly once.
    assert_eq!(app.worker().run_once().await.unwrap(), 0);
    assert_eq!(receiver.deliveries().len(), 3);
});

db_test!(async fn rate_limits_and_server_errors_are_retried_with_backoff(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let receiver = WebhookReceiver::start(SECRET).await;
    let hook = app.connect_webhook(&ada, &receiver, SECRET).await;
    receiver.push_reply(Reply::Status { status: 429, body: "{\"error\":\"slow down\"}".into(), retry_after: Some(1) });
    receiver.push_reply(Reply::Status { status: 503, body: "maintenance".into(), retry_after: None });
    let post = api.post("/api/posts", json!({"content": "persistent", "platforms": [hook]})).await;
    let post_id = id_of(post.expect(201));
    let done = app.wait_for_post_status(&api, &post_id, "PUBLISHED", WAIT).await;
    assert_eq!(done["targets"][0]["attempts"], 3);
    let all = receiver.deliveries();
    assert_eq!(all.iter().map(|d| d.status).collect::<Vec<_>>(), [429, 503, 200]);
    let waited = (all[1].received_at - all[0].received_at).num_milliseconds();
    assert!(waited >= 1000, "Retry-After: 1 was honoured ({waited} ms)");
    assert_eq!(all[0].idempotency_key, all[2].idempotency_key, "retries reuse the idempotency key");
});

db_test!(async fn retries_stop_at_the_limit_and_invalid_content_fails_at_once(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let receiver = WebhookReceiver::start(SECRET).await;
    let hook = app.connect_webhook(&ada, &receiver, SECRET).await;
    for _ in 0..3 {
        receiver.push_reply(Reply::Status { status: 500, body: "boom".into(), retry_after: None });
    }
    let post = api.post("/api/posts", json!({"content": "doomed", "platforms": [hook]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    assert_eq!(failed["targets"][0]["attempts"], 3);
    assert!(failed["targets"][0]["lastError"]["message"].as_str().unwrap().contains("gave up after 3 attempts"));
    assert!(failed["errorMessage"].as_str().unwrap().contains("boom"));

    receiver.push_reply(Reply::Status { status: 422, body: "{\"error\":\"text too long for us\"}".into(), retry_after: None });
    let post = api.post("/api/posts", json!({"content": "refused", "platforms": [hook]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    let target = &failed["targets"][0];
    assert_eq!(target["attempts"], 1);
    assert_eq!(target["lastError"]["class"], "INVALID");
    assert!(target["lastError"]["message"].as_str().unwrap().contains("text too long for us"));
});

db_test!(async fn a_revoked_integration_needs_reconnecting_and_fails_its_due_posts(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let receiver = WebhookReceiver::start(SECRET).await;
    let hook = app.connect_webhook(&ada, &receiver, SECRET).await;
    receiver.push_reply(Reply::Status { status: 401, body: "{\"error\":\"token revoked\"}".into(), retry_after: None });
    let post = api.post("/api/posts", json!({"content": "x", "platforms": [hook]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    assert_eq!(failed["targets"][0]["lastError"]["class"], "REVOKED");
    assert!(failed["targets"][0]["lastError"]["message"].as_str().unwrap().contains("reconnect"));
    let integration = api.get(&format!("/api/integrations/{hook}")).await;
    assert_eq!(integration.expect(200)["status"], "NEEDS_RECONNECT");
    // New posts to it are refused until it is reconnected.
    api.post("/api/posts", json!({"content": "y", "platforms": [hook]})).await.expect_error(422, "VALIDATION_FAILED");
    let again = ada.session.post("/api/integrations", json!({"platform": "webhook", "credentials": {"url": receiver.url(), "secret": SECRET}})).await;
    assert_eq!(again.expect(200)["status"], "ACTIVE");
});

db_test!(async fn a_slow_receiver_is_retried_with_the_same_key(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let receiver = WebhookReceiver::start(SECRET).await;
    let hook = app.connect_webhook(&ada, &receiver, SECRET).await;
    // Longer than the 3 s provider timeout of the test app.
    receiver.push_reply(Reply::Delay(Duration::from_secs(4)));
    let post = api.post("/api/posts", json!({"content": "patience", "platforms": [hook]})).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", Duration::from_secs(20)).await;
    assert_eq!(done["targets"][0]["attempts"], 2);
    let raw = receiver.deliveries();
    assert_eq!(raw.len(), 2);
    assert_eq!(raw[0].idempotency_key, raw[1].idempotency_key);
    assert_eq!(receiver.accepted_unique().len(), 1, "a receiver honouring the key processed it once");
});

db_test!(async fn deleted_and_moved_posts_never_go_out_at_their_old_time(app, TestOptions::driven()) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let receiver = WebhookReceiver::start(SECRET).await;
    let hook = app.connect_webhook(&ada, &receiver, SECRET).await;
    let (clock, mut worker) = (app.clock(), app.worker());
    let at = |minutes: i64| (clock.now() + chrono::Duration::minutes(minutes)).to_rfc3339();
    let doomed = api.post("/api/posts", json!({"content": "deleted", "platforms": [hook], "scheduledFor": at(10)})).await;
    let moved = api.post("/api/posts", json!({"content": "moved", "platforms": [hook], "scheduledFor": at(10)})).await;
    assert_eq!(api.delete(&format!("/api/posts/{}", id_of(doomed.expect(201)))).await.status, 204);
    let moved_id = id_of(moved.expect(201));
    api.put(&format!("/api/posts/{moved_id}"), json!({"scheduledFor": at(30)})).await.expect(200);

    clock.advance(Duration::from_secs(10 * 60));
    assert_eq!(worker.run_once().await.unwrap(), 0, "nothing is due at the old time");
    clock.advance(Duration::from_secs(20 * 60));
    assert_eq!(worker.run_once().await.unwrap(), 1);
    let delivered = receiver.deliveries();
    assert_eq!(delivered.len(), 1, "the deleted post never went out");
    assert_eq!(delivered[0].body["item"]["content"], "moved");
    assert_eq!(worker.run_once().await.unwrap(), 0);
});

db_test!(async fn missed_windows_fail_and_recent_ones_go_out_at_once(app, TestOptions { run_engine: false, ..TestOptions::default() }) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let receiver = WebhookReceiver::start(SECRET).await;
    let hook = app.connect_webhook(&ada, &receiver, SECRET).await;
    let old = id_of(api.post("/api/posts", json!({"content": "old", "platforms": [hook], "scheduledFor": soon(60_000)})).await.expect(201));
    let recent = id_of(api.post("/api/posts", json!({"content": "recent", "platforms": [hook], "scheduledFor": soon(60_000)})).await.expect(201));
    // Pretend Herald was down: one was due two days ago, the other an hour ago.
    for (id, hours) in [(&old, 48), (&recent, 1)] {
        let posts = Posts(app.store.conn());
        let mut target = posts.targets_of(&[id.parse().unwrap()]).await.unwrap().remove(0).target;
        target.next_attempt_at = Some(app.store.now() - chrono::Duration::hours(hours));
        posts.update_target(target).await.unwrap();
    }
    app.engine.sweep_once().await.unwrap();
    let mut worker = herald_engine::Worker::new(app.engine.clone());
    assert_eq!(worker.run_once().await.unwrap(), 1);
    let old = api.get(&format!("/api/posts/{old}")).await;
    assert_eq!(old.body["status"], "FAILED");
    assert_eq!(old.body["targets"][0]["lastError"]["class"], "MISSED");
    assert_eq!(api.get(&format!("/api/posts/{recent}")).await.body["status"], "PUBLISHED");
    assert_eq!(receiver.deliveries().len(), 1);
});

db_test!(async fn interrupted_deliveries_are_resent_with_the_key_or_marked_unconfirmed(app, TestOptions { run_engine: false, ..TestOptions::default() }) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let receiver = WebhookReceiver::start(SECRET).await;
    let hook = app.connect_webhook(&ada, &receiver, SECRET).await;
    // A platform with no idempotency and no lookup: Herald cannot know.
    let blind = app.add_integration(&ada, "slack").await;
    let resend = id_of(api.post("/api/posts", json!({"content": "webhook", "platforms": [hook]})).await.expect(201));
    let unknown = id_of(api.post("/api/posts", json!({"content": "slack", "platforms": [blind]})).await.expect(201));

    // A worker claims both, then dies: its lease expires.
    let at = app.store.now();
    let claim = ClaimRequest {
        worker: "crashed-worker",
        now: at,
        lease_until: at - chrono::Duration::seconds(1),
        not_before: at - chrono::Duration::hours(24),
        limit: 10,
        skip_platforms: &[],
        skip_integrations: &[],
        only_integration: None,
    };
    let txn = app.store.begin_write().await.unwrap();
    let claimed = Queue(&txn).claim(&claim).await.unwrap();
    assert_eq!(claimed.len(), 2);
    for target in claimed {
        Posts(&txn).recompute_status(target.post_id, at).await.unwrap();
    }
    txn.commit().await.unwrap();
    assert_eq!(api.get(&format!("/api/posts/{resend}")).await.body["status"], "PUBLISHING");
    api.delete(&format!("/api/posts/{resend}")).await.expect_error(409, "CONFLICT");

    assert_eq!(app.engine.sweep_once().await.unwrap(), 2);
    let blind_post = api.get(&format!("/api/posts/{unknown}")).await;
    assert_eq!(blind_post.body["targets"][0]["status"], "UNCONFIRMED");
    assert_eq!(blind_post.body["status"], "FAILED");
    assert!(blind_post.body["errorMessage"].as_str().unwrap().contains("cannot tell whether it arrived"));

    let mut worker = herald_engine::Worker::new(app.engine.clone());
    assert_eq!(worker.run_once().await.unwrap(), 1);
    let done = api.get(&format!("/api/posts/{resend}")).await;
    assert_eq!(done.body["status"], "PUBLISHED");
    assert_eq!(done.body["targets"][0]["attempts"], 2);
    assert_eq!(receiver.deliveries()[0].idempotency_key.as_deref(), Some(format!("{}-0", done.body["targets"][0]["id"].as_str().unwrap()).as_str()));
});

db_test!(async fn rate_budgets_hold_back_deliveries_at_claim_time(app, TestOptions::driven()) {
    let logs = herald_testkit::logs::capture();
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let receiver = WebhookReceiver::start(SECRET).await;
    let hook = app.connect_webhook(&ada, &receiver, SECRET).await;
    ada.session.patch(&format!("/api/integrations/{hook}"), json!({"settings": {"rateBudget": {"max": 2, "windowSeconds": 3600}}})).await.expect(200);
    for i in 0..4 {
        api.post("/api/posts", json!({"content": format!("post {i}"), "platforms": [hook]})).await.expect(201);
    }
    let (clock, mut worker) = (app.clock(), app.worker());
    assert_eq!(worker.run_once().await.unwrap(), 2, "the budget of 2 per hour holds");
    clock.advance(Duration::from_secs(30 * 60));
    assert_eq!(worker.run_once().await.unwrap(), 0, "still within the hour");
    assert_eq!(receiver.deliveries().len(), 2);
    let queued = api.get("/api/posts?status=SCHEDULED").await;
    assert_eq!(queued.expect(200)["posts"].as_array().unwrap().len(), 2);
    // An hour after the first two went out, the next two may.
    clock.advance(Duration::from_secs(31 * 60));
    assert_eq!(worker.run_once().await.unwrap(), 2);
    assert_eq!(receiver.deliveries().len(), 4);
    // What happens during a delivery is logged with the post and target it concerns.
    let post_id = receiver.deliveries()[0].body["post"]["id"].as_str().unwrap().to_string();
    let text = logs.text();
    assert!(text.lines().any(|line| line.contains(&format!("deliver{{post_id={post_id} target_id="))), "{text}");
});

db_test!(async fn a_budget_set_after_posts_were_scheduled_holds_at_their_claim(app, TestOptions::driven()) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let receiver = WebhookReceiver::start(SECRET).await;
    let hook = app.connect_webhook(&ada, &receiver, SECRET).await;
    let (clock, mut worker) = (app.clock(), app.worker());
    let at = (clock.now() + chrono::Duration::minutes(10)).to_rfc3339();
    for i in 0..3 {
        api.post("/api/posts", json!({"content": format!("post {i}"), "platforms": [hook], "scheduledFor": at})).await.expect(201);
    }
    // The worker has looked at the queue since; only the update tells it
    // that the integration now has a budget.
    assert_eq!(worker.run_once().await.unwrap(), 0);
    ada.session.patch(&format!("/api/integrations/{hook}"), json!({"settings": {"rateBudget": {"max": 1, "windowSeconds": 3600}}})).await.expect(200);
    clock.advance(Duration::from_secs(10 * 60));
    assert_eq!(worker.run_once().await.unwrap(), 1, "the budget of 1 per hour holds");
    assert_eq!(worker.run_once().await.unwrap(), 0);
    assert_eq!(receiver.deliveries().len(), 1);
});

db_test!(async fn events_stream_to_the_owner_only(app) {
    let ada = app.register("ada@example.com").await;
    let bob = app.register("bob@example.com").await;
    let key = ada.api_key(None).await;
    let bob_key = bob.api_key(None).await;
    let receiver = WebhookReceiver::start(SECRET).await;
    let hook = app.connect_webhook(&ada, &receiver, SECRET).await;
    let http = reqwest::Client::new();
    let mut ada_stream = http.get(format!("{}/api/events", app.address)).bearer_auth(&key).send().await.unwrap();
    assert_eq!(ada_stream.headers()["content-type"], "text/event-stream");
    let mut bob_stream = http.get(format!("{}/api/events", app.address)).bearer_auth(&bob_key).send().await.unwrap();
    app.with_key(&key).post("/api/posts", json!({"content": "live", "platforms": [hook]})).await.expect(201);

    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while !seen.contains("event: post_published") {
        let chunk = tokio::time::timeout_at(deadline, ada_stream.chunk()).await.expect("events in time").unwrap().unwrap();
        seen.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(seen.contains("event: post_created"));
    assert!(seen.contains("\"kind\":\"post_published\""));
    let quiet = tokio::time::timeout(Duration::from_millis(300), bob_stream.chunk()).await;
    assert!(quiet.is_err() || quiet.unwrap().unwrap().is_none_or(|c| !String::from_utf8_lossy(&c).contains("post_")), "bob sees none of ada's events");
});

db_test!(async fn metrics_describe_real_traffic_in_prometheus_format(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let receiver = WebhookReceiver::start(SECRET).await;
    let hook = app.connect_webhook(&ada, &receiver, SECRET).await;
    receiver.push_reply(Reply::Status { status: 500, body: "oops".into(), retry_after: None });
    let post = api.post("/api/posts", json!({"content": "measured", "platforms": [hook]})).await;
    app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    api.get("/api/posts/not-a-uuid").await;

    let scraped = app.anonymous().get("/metrics").await;
    assert_eq!(scraped.status, 200);
    assert!(scraped.header("content-type").unwrap().starts_with("text/plain"));
    let lines = scraped.text.lines().map(|l| Ok(l.to_string()));
    let parsed = prometheus_parse::Scrape::parse(lines).expect("valid Prometheus text");
    let find = |name: &str| parsed.samples.iter().filter(|s| s.metric == name).collect::<Vec<_>>();
    let requests = find("herald_http_requests_total");
    assert!(requests.iter().any(|s| s.labels.get("route") == Some("/api/posts") && s.labels.get("status") == Some("201")));
    assert!(requests.iter().any(|s| s.labels.get("route") == Some("/api/posts/:id") && s.labels.get("status") == Some("404")));
    assert!(!find("herald_http_request_duration_seconds").is_empty());
    assert!(find("herald_targets_published_total").iter().any(|s| s.labels.get("platform") == Some("webhook")));
    assert!(find("herald_provider_errors_total").iter().any(|s| s.labels.get("class") == Some("RETRYABLE")));
    assert!(!find("herald_publish_latency_seconds").is_empty());
    assert!(!find("herald_targets_claimed_total").is_empty());
    // Database round trips, read by bench/engine.sh per delivery.
    let counted = |name: &str| {
        find(name).iter().map(|s| if let prometheus_parse::Value::Counter(v) = s.value { v } else { 0.0 }).sum::<f64>()
    };
    assert!(counted("herald_db_statements_total") > counted("herald_db_transactions_total"));
    assert!(counted("herald_db_transactions_total") > 0.0);
    for gauge in ["herald_build_info", "herald_db_pool_connections", "herald_targets_due", "herald_queue_lag_seconds", "herald_database_up"] {
        assert!(!find(gauge).is_empty(), "{gauge} missing");
    }
});

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_can_require_a_token() {
    let options = TestOptions { metrics_token: Some("scrape-token".into()), ..TestOptions::default() };
    let app = herald_testkit::spawn_app_with(herald_testkit::Backend::Sqlite, options).await.unwrap();
    app.anonymous().get("/metrics").await.expect_error(401, "UNAUTHORIZED");
    let scraper = app.with_authorization("Bearer scrape-token");
    assert_eq!(scraper.get("/metrics").await.status, 200);
}

db_test!(async fn a_thread_retry_resumes_after_the_last_item_that_succeeded(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let receiver = WebhookReceiver::start(SECRET).await;
    let hook = app.connect_webhook(&ada, &receiver, SECRET).await;
    // First item goes through, the second fails once, then everything passes.
    receiver.push_reply(Reply::Ok);
    receiver.push_reply(Reply::Status { status: 502, body: "bad gateway".into(), retry_after: None });
    let post = api
        .post("/api/posts", json!({"content": "one", "platforms": [hook], "thread": [{"content": "two"}, {"content": "three"}]}))
        .await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    assert_eq!(done["targets"][0]["attempts"], 2);
    let contents: Vec<String> =
        receiver.deliveries().iter().map(|d| format!("{}:{}", d.status, d.body["item"]["content"].as_str().unwrap())).collect();
    assert_eq!(contents, ["200:one", "502:two", "200:two", "200:three"], "the first item was not sent again");
});

fn two_webhooks_at_a_time() -> TestOptions {
    let mut options = TestOptions::default();
    options.engine.platform_concurrency.insert("webhook".into(), 2);
    options
}

db_test!(async fn a_platform_never_has_more_deliveries_in_flight_than_its_limit(app, two_webhooks_at_a_time()) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let receiver = WebhookReceiver::start(SECRET).await;
    let hook = app.connect_webhook(&ada, &receiver, SECRET).await;
    let slow = Duration::from_millis(400);
    for _ in 0..6 {
        receiver.push_reply(Reply::Delay(slow));
    }
    for i in 0..6 {
        api.post("/api/posts", json!({"content": format!("post {i}"), "platforms": [hook]})).await.expect(201);
    }
    let arrived = receiver.wait_for_accepted(6, WAIT).await;
    // Each request is answered 400 ms after it arrives: with at most two in
    // flight, no three arrive within less than that.
    let mut times: Vec<_> = arrived.iter().map(|d| d.received_at).collect();
    times.sort();
    for window in times.windows(3) {
        let span = window[2] - window[0];
        assert!(span >= chrono::Duration::milliseconds(350), "three deliveries in flight at once: {times:?}");
    }
});
