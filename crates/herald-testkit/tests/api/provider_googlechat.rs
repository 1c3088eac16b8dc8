//! Google Chat end to end against the fake webhook: checked without
//! posting, threads in one thread, a resend answered "already exists" taken
//! as sent, and a removed webhook.

use std::time::Duration;

use herald_testkit::fakes::googlechat::{FakeGoogleChat, KEY, SPACE, TOKEN};
use herald_testkit::{db_test, id_of};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(15);

db_test!(async fn googlechat_posts_threads_into_one_thread_and_never_twice(app) {
    let fake = FakeGoogleChat::start().await;
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let connect = |url: String| ada.session.post("/api/integrations", json!({"platform": "googlechat", "credentials": {"webhookUrl": url}}));

    for (url, said) in [
        (fake.url_with(SPACE, "bad-key", TOKEN), "API key not valid"),
        (fake.url_with(SPACE, KEY, "bad-token"), "invalid authentication credentials"),
        (fake.url_with("AAAAother", KEY, TOKEN), "not found"),
    ] {
        let message = connect(url).await.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().to_string();
        assert!(message.contains(said) && !message.contains(TOKEN) && !message.contains("bad-token"), "{message}");
    }
    let connected = connect(fake.webhook_url()).await;
    let integration = connected.expect(201);
    assert!(!connected.text.contains(TOKEN) && !connected.text.contains(KEY));
    assert_eq!(integration["platformAccountId"], SPACE);
    assert!(fake.messages().is_empty(), "checking the webhook posted nothing");
    let space = id_of(integration);

    let post = api.post("/api/posts", json!({"content": "Launch day", "platforms": [space], "thread": [{"content": "details"}]})).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    let messages = fake.messages();
    assert_eq!(messages.iter().map(|m| m["text"].as_str().unwrap()).collect::<Vec<_>>(), ["Launch day", "details"]);
    assert_eq!(messages[0]["thread"]["name"], messages[1]["thread"]["name"], "one thread");
    let ids = done["targets"][0]["platformPostIds"].as_array().unwrap().clone();
    assert_eq!(ids[0], messages[0]["name"]);
    let sent = fake.requests().into_iter().find(|r| r.json["text"] == "details").unwrap();
    assert_eq!(sent.query.get("messageReplyOption").map(String::as_str), Some("REPLY_MESSAGE_FALLBACK_TO_NEW_THREAD"));

    // The answer to a message is lost (a 504 after Chat took it): the resend
    // carries the same id, Chat answers 409, and nothing is posted twice.
    fake.lose_next_answer();
    let before = fake.messages().len();
    let post = api.post("/api/posts", json!({"content": "once", "platforms": [space]})).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    assert_eq!(fake.messages().len(), before + 1, "posted once");
    let target = &done["targets"][0];
    assert_eq!(target["attempts"], 2);
    assert_eq!(target["platformPostIds"][0], fake.messages().last().unwrap()["name"]);
    let statuses: Vec<u16> = fake.requests().iter().filter(|r| r.json["text"] == "once").map(|r| r.status).collect();
    assert_eq!(statuses, [504, 409]);
    let ids: Vec<_> = fake.requests().iter().filter(|r| r.json["text"] == "once").map(|r| r.query["messageId"].clone()).collect();
    assert_eq!(ids[0], ids[1], "the resend carries the same id");

    fake.delete_hook();
    let post = api.post("/api/posts", json!({"content": "gone", "platforms": [space]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    assert_eq!(failed["targets"][0]["lastError"]["class"], "REVOKED");
});
