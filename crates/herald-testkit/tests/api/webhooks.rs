//! Outbound webhooks (DESIGN §11): signed deliveries of a workspace's
//! events, a receiver that fails then recovers, the delivery log,
//! redelivery, turning off after 20 failures in a row, and the SSRF guard.

use herald_testkit::{Reply, TestOptions, WebhookReceiver, db_test, id_of};
use serde_json::json;

const SECRET: &str = "a-signing-secret-for-webhooks";

db_test!(async fn events_are_delivered_signed_and_retried_until_the_receiver_recovers(app, TestOptions::driven()) {
    let ada = app.register("ada@example.com").await;
    let receiver = WebhookReceiver::start(SECRET).await;
    let created = ada.session.post("/api/webhooks", json!({"url": receiver.url(), "events": ["post_created", "post_deleted"], "secret": SECRET})).await;
    let created = created.expect(201).clone();
    assert_eq!(created["secret"], SECRET);
    let hook = id_of(&created);
    let listed = ada.session.get("/api/webhooks").await;
    assert!(!listed.text.contains(SECRET), "the secret is shown once");
    assert!(!listed.text.contains(&receiver.url()) && listed.body[0]["url"].as_str().unwrap().ends_with("/…"), "the URL's path may be secret");

    receiver.push_reply(Reply::Status { status: 503, body: "down for maintenance".into(), retry_after: None });
    let post = ada.session.post("/api/posts", json!({"content": "hello", "status": "DRAFT"})).await;
    let post = id_of(post.expect(201));
    assert_eq!(app.engine.webhooks_once().await.unwrap(), 0, "the first attempt fails");
    let log = ada.session.get(&format!("/api/webhooks/{hook}/deliveries")).await;
    let delivery = log.expect(200)[0].clone();
    assert_eq!(delivery["type"], "post_created");
    assert_eq!(delivery["status"], "PENDING");
    assert_eq!(delivery["statusCode"], 503);
    assert_eq!(delivery["attemptsLog"][0]["response"], "down for maintenance");
    // Not due yet: nothing is sent.
    assert_eq!(app.engine.webhooks_once().await.unwrap(), 0);
    assert_eq!(receiver.deliveries().len(), 1);

    app.clock().advance(std::time::Duration::from_secs(31));
    assert_eq!(app.engine.webhooks_once().await.unwrap(), 1, "the receiver recovered");
    let received = receiver.deliveries();
    let last = received.last().unwrap();
    assert!(last.signature_valid, "X-Herald-Signature is the HMAC of the body");
    assert_eq!(last.headers["x-herald-event"], "post_created");
    assert_eq!(last.headers["x-herald-delivery"], delivery["id"].as_str().unwrap());
    assert_eq!(last.body["type"], "post_created");
    assert_eq!(last.body["data"]["postId"], post);
    assert!(last.body["id"].is_string() && last.body["occurredAt"].is_string());
    let log = ada.session.get(&format!("/api/webhooks/{hook}/deliveries")).await;
    let delivery = log.expect(200)[0].clone();
    assert_eq!(delivery["status"], "SUCCEEDED");
    assert_eq!(delivery["attempts"], 2);
    assert_eq!(delivery["attemptsLog"].as_array().unwrap().len(), 2);
    assert_eq!(ada.session.get("/api/webhooks").await.expect(200)[0]["consecutiveFailures"], 0);

    // Events it did not ask for are not sent; those it did are.
    ada.session.put(&format!("/api/posts/{post}"), json!({"content": "edited"})).await.expect(200);
    ada.session.delete(&format!("/api/posts/{post}")).await.expect(204);
    app.engine.webhooks_once().await.unwrap();
    let types: Vec<String> = receiver.deliveries().iter().map(|d| d.body["type"].as_str().unwrap().to_string()).collect();
    assert_eq!(types, ["post_created", "post_created", "post_deleted"]);

    // Redelivery sends the same delivery again.
    let id = delivery["id"].as_str().unwrap();
    let again = ada.session.post(&format!("/api/webhooks/{hook}/deliveries/{id}/redeliver"), json!({})).await;
    assert_eq!(again.expect(200)["status"], "PENDING");
    app.engine.webhooks_once().await.unwrap();
    assert_eq!(receiver.deliveries().last().unwrap().headers["x-herald-delivery"], id);
    ada.session.post(&format!("/api/webhooks/{hook}/deliveries/{}/redeliver", uuid::Uuid::now_v7()), json!({})).await.expect_error(404, "NOT_FOUND");

    // Another workspace sees none of it; a contributor may not manage it.
    let eve = app.register("eve@example.com").await;
    eve.session.get(&format!("/api/webhooks/{hook}/deliveries")).await.expect_error(404, "NOT_FOUND");
    eve.session.delete(&format!("/api/webhooks/{hook}")).await.expect_error(404, "NOT_FOUND");
    assert_eq!(eve.session.get("/api/webhooks").await.expect(200).as_array().unwrap().len(), 0);
    let key = ada.api_key(None).await;
    app.with_key(&key).get("/api/webhooks").await.expect_error(403, "FORBIDDEN");
    ada.session.delete(&format!("/api/webhooks/{hook}")).await.expect(204);
});

db_test!(async fn twenty_failures_in_a_row_turn_a_webhook_off(app, TestOptions::driven()) {
    let ada = app.register("ada@example.com").await;
    let dead = format!("http://127.0.0.1:{}/in", herald_testkit::smtp::free_port());
    let created = ada.session.post("/api/webhooks", json!({"url": dead, "events": ["*"]})).await;
    let created = created.expect(201).clone();
    assert_eq!(created["secret"].as_str().unwrap().len(), 40, "a secret is made when none is given");
    let hook = id_of(&created);
    for n in 0..20 {
        ada.session.post("/api/posts", json!({"content": format!("idea {n}"), "status": "DRAFT"})).await.expect(201);
    }
    app.engine.webhooks_once().await.unwrap();
    let listed = ada.session.get("/api/webhooks").await;
    let listed = listed.expect(200)[0].clone();
    assert_eq!(listed["active"], false);
    assert_eq!(listed["consecutiveFailures"], 20);
    assert!(listed["disabledReason"].as_str().unwrap().contains("20"));
    let audit = ada.session.get("/api/audit?type=webhook_disabled").await;
    assert_eq!(audit.expect(200)["entries"][0]["data"]["webhookId"], hook);
    // Turned on again, it starts a fresh count.
    let back = ada.session.patch(&format!("/api/webhooks/{hook}"), json!({"active": true})).await;
    let back = back.expect(200).clone();
    assert_eq!((back["active"].as_bool(), back["consecutiveFailures"].as_i64()), (Some(true), Some(0)));
});

db_test!(async fn webhook_urls_and_events_are_checked(app, { let mut o = TestOptions::driven(); o.allow_private_targets = false; o }) {
    let ada = app.register("ada@example.com").await;
    for url in ["http://127.0.0.1:8080/in", "http://[::1]/in", "http://169.254.169.254/latest", "ftp://example.com/x", "not a url"] {
        let refused = ada.session.post("/api/webhooks", json!({"url": url, "events": ["*"]})).await;
        assert_eq!(refused.expect_error(422, "VALIDATION_FAILED")["details"]["errors"][0]["field"], "url", "{url}");
    }
    let bad = ada.session.post("/api/webhooks", json!({"url": "https://hooks.example/in", "events": ["post_exploded"], "secret": "short"})).await;
    let fields: Vec<String> = bad.expect_error(422, "VALIDATION_FAILED")["details"]["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_string()).collect();
    assert!(fields.contains(&"events".to_string()) && fields.contains(&"secret".to_string()), "{fields:?}");
    ada.session.post("/api/webhooks", json!({"url": "https://hooks.example/in", "events": []})).await.expect_error(422, "VALIDATION_FAILED");
});

db_test!(async fn the_webhooks_page_shows_the_log_and_redelivers(app, TestOptions::driven()) {
    let mut browser = crate::browser::Browser::new(&app);
    browser.register("ada@example.com").await;
    let receiver = WebhookReceiver::start(SECRET).await;
    browser.get("/settings/webhooks").await;
    let created = browser.post("/settings/webhooks", &[("url", &receiver.url()), ("events", "*"), ("secret", SECRET)]).await;
    assert_eq!(created.status, 200);
    assert!(created.html.contains(&format!(r#"id="new-secret" class="secret" readonly value="{SECRET}""#)));
    browser.api(reqwest::Method::POST, "/api/posts", Some(json!({"content": "hi", "status": "DRAFT"}))).await;
    receiver.push_reply(Reply::Status { status: 500, body: "boom".into(), retry_after: None });
    app.engine.webhooks_once().await.unwrap();
    let page = browser.get("/settings/webhooks").await;
    assert!(page.html.contains("500 boom"), "{}", page.html);
    let hooks = browser.api(reqwest::Method::GET, "/api/webhooks", None).await;
    let hook = hooks[0]["id"].as_str().unwrap().to_string();
    let deliveries = browser.api(reqwest::Method::GET, &format!("/api/webhooks/{hook}/deliveries"), None).await;
    let delivery = deliveries[0]["id"].as_str().unwrap().to_string();
    let again = browser.post(&format!("/settings/webhooks/{hook}/deliveries/{delivery}/redeliver"), &[]).await;
    assert_eq!(again.location, "/settings/webhooks?notice=redelivering");
    app.engine.webhooks_once().await.unwrap();
    assert!(browser.get("/settings/webhooks").await.html.contains("SUCCEEDED"));
    assert_eq!(receiver.deliveries().len(), 2);
});
