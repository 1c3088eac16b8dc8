//! Slack end to end against the fake incoming webhook: a connect check that
//! posts nothing, text and threads as follow-up messages, settings,
//! retries, and broken hooks.

use std::time::Duration;

use herald_testkit::fakes::Scripted;
use herald_testkit::fakes::slack::{self, HOOK, SlackFake, TEAM};
use herald_testkit::{TINY_PNG, TestApp, db_test, id_of};
use serde_json::json;

const TOKEN: &str = "xyzSlackHookToken0123456789";
const WAIT: Duration = Duration::from_secs(15);

async fn connect(app: &TestApp, account: &herald_testkit::Account, fake: &SlackFake) -> String {
    let _ = app;
    let body = json!({"platform": "slack", "credentials": {"webhookUrl": fake.webhook_url()}});
    id_of(account.session.post("/api/integrations", body).await.expect(201))
}

db_test!(async fn slack_connect_checks_the_hook_without_posting(app) {
    let fake = SlackFake::start(TOKEN).await;
    let ada = app.register("ada@example.com").await;
    let connect_url = |url: String| ada.session.post("/api/integrations", json!({"platform": "slack", "credentials": {"webhookUrl": url}}));

    for (url, code) in [(fake.url_with_token("revoked-token"), "invalid_token"), (fake.unknown_url(), "no_service")] {
        let refused = connect_url(url).await;
        let message = refused.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().to_string();
        assert!(message.contains(code), "{message}");
        assert!(!message.contains("revoked-token") && !message.contains(TOKEN), "the URL is a secret: {message}");
    }
    let archived = SlackFake::start(TOKEN).await;
    archived.archive();
    let refused = connect_url(archived.webhook_url()).await;
    assert!(refused.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().contains("channel_is_archived"));
    assert_eq!(ada.session.get("/api/integrations").await.expect(200), &json!([]), "nothing stored");

    let connected = ada.session.post("/api/integrations", json!({"platform": "slack", "credentials": {"webhookUrl": fake.webhook_url()}})).await;
    let integration = connected.expect(201);
    assert_eq!(integration["platformAccountId"], format!("{TEAM}/{HOOK}"));
    assert!(!connected.text.contains(TOKEN));
    let check = fake.requests().pop().unwrap();
    assert_eq!((check.method.as_str(), check.content_type(), &check.body[..]), ("POST", "application/json", &b"{}"[..]));
    assert_eq!(check.status, 400);
    assert!(fake.posted().is_empty(), "checking the hook posted nothing");
});

db_test!(async fn slack_publishes_a_thread_as_messages_in_order_with_escaped_text(app) {
    let fake = SlackFake::start(TOKEN).await;
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let hook = connect(&app, &ada, &fake).await;
    // A webhook cannot upload files: Slack posts take no media.
    let png = id_of(api.upload("chart.png", TINY_PNG.to_vec(), None).await.expect(201));
    let refused = api.post("/api/posts", json!({"content": "x", "platforms": [hook], "mediaIds": [png]})).await;
    refused.expect_error(422, "VALIDATION_FAILED");
    let post = api.post("/api/posts", json!({
        "content": "Deploy <main> & relax", "platforms": [hook], "thread": [{"content": "step 2"}, {"content": "step 3"}],
        "overrides": {hook.clone(): {"settings": {"unfurlLinks": false}}},
    })).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    assert_eq!(fake.posted(), [
        json!({"text": "Deploy &lt;main&gt; &amp; relax", "unfurl_links": false}),
        json!({"text": "step 2", "unfurl_links": false}),
        json!({"text": "step 3", "unfurl_links": false}),
    ]);
    let target = &done["targets"][0];
    let target_id = target["id"].as_str().unwrap();
    assert_eq!(target["platformPostIds"], json!([format!("{target_id}-0"), format!("{target_id}-1"), format!("{target_id}-2")]),
        "a webhook returns no id: the idempotency keys stand in");
    assert!(target["url"].is_null());

    // rawText keeps Slack's own link syntax.
    let post = api.post("/api/posts", json!({"content": "<https://example.com|docs>", "platforms": [hook],
        "overrides": {hook.clone(): {"settings": {"rawText": true}}}})).await;
    app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    assert_eq!(fake.posted().last().unwrap(), &json!({"text": "<https://example.com|docs>"}));
});

db_test!(async fn slack_rate_limits_are_retried_after_retry_after(app) {
    let fake = SlackFake::start(TOKEN).await;
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let hook = connect(&app, &ada, &fake).await;
    fake.push_reply(slack::rate_limited(1));
    let post = api.post("/api/posts", json!({"content": "patience", "platforms": [hook]})).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    assert_eq!(done["targets"][0]["attempts"], 2);
    let posts: Vec<_> = fake.requests().into_iter().skip(1).collect();
    assert_eq!(posts.iter().map(|r| r.status).collect::<Vec<_>>(), [429, 200]);
    assert_eq!(fake.posted().len(), 1);
});

db_test!(async fn slack_refusals_fail_and_an_archived_channel_needs_reconnecting(app) {
    let fake = SlackFake::start(TOKEN).await;
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let hook = connect(&app, &ada, &fake).await;

    fake.push_reply(Scripted::text(400, "invalid_payload"));
    let post = api.post("/api/posts", json!({"content": "x", "platforms": [hook]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    let target = &failed["targets"][0];
    assert_eq!((target["lastError"]["class"].as_str(), target["attempts"].as_u64()), (Some("INVALID"), Some(1)));
    assert_eq!(target["lastError"]["message"], "Slack answered 400 invalid_payload");

    fake.archive();
    let post = api.post("/api/posts", json!({"content": "y", "platforms": [hook]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    assert_eq!(failed["targets"][0]["lastError"]["class"], "REVOKED");
    assert!(failed["targets"][0]["lastError"]["message"].as_str().unwrap().contains("channel_is_archived"));
    assert_eq!(api.get(&format!("/api/integrations/{hook}")).await.expect(200)["status"], "NEEDS_RECONNECT");
    assert!(fake.posted().is_empty());
});

db_test!(async fn slack_a_message_sent_without_an_answer_is_unconfirmed_not_sent_twice(app) {
    let fake = SlackFake::start(TOKEN).await;
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let hook = connect(&app, &ada, &fake).await;
    let started = chrono::Utc::now();
    // The first item is answered; the second is posted but its answer comes
    // after the test app's 3 s provider timeout.
    fake.answer_slowly(1, Duration::from_secs(4));
    let post = api.post("/api/posts", json!({"content": "one", "platforms": [hook], "thread": [{"content": "two"}, {"content": "three"}]})).await;
    let post_id = id_of(post.expect(201));
    let failed = app.wait_for_post_status(&api, &post_id, "FAILED", WAIT).await;
    let target = &failed["targets"][0];
    assert_eq!(target["status"], "UNCONFIRMED");
    assert_eq!((target["attempts"].as_u64(), target["lastError"]["class"].as_str()), (Some(1), Some("MAYBE_SENT")));
    let message = target["lastError"]["message"].as_str().unwrap();
    assert!(message.contains("may have received it") && message.contains("check the account"), "{message}");
    let target_id = target["id"].as_str().unwrap();
    assert_eq!(target["platformPostIds"], json!([format!("{target_id}-0")]), "the first item stays recorded");

    // Nothing is left to send: not sent again, and the third item never went out.
    assert_eq!(app.worker().run_once().await.unwrap(), 0);
    assert_eq!(fake.posted(), [json!({"text": "one"}), json!({"text": "two"})]);
    assert_eq!(fake.requests().len(), 3, "the connect check and two messages");
    let events = herald_store::repo::Events(app.store.conn()).since(started, 100).await.unwrap();
    let unconfirmed: Vec<_> = events.iter().filter(|e| e.kind == herald_core::event::EventKind::PostUnconfirmed).collect();
    assert_eq!(unconfirmed.len(), 1);
    assert_eq!(unconfirmed[0].post_id.map(|id| id.to_string()), Some(post_id));
    assert_eq!(unconfirmed[0].data["status"], "UNCONFIRMED");
});
