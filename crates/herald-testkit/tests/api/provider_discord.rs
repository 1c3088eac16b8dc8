//! Discord end to end against the fake webhook: connect, text, follow-ups
//! and forum threads, per-post settings, files, retries and deleted hooks.

use std::time::Duration;

use herald_testkit::fakes::Scripted;
use herald_testkit::fakes::discord::{self, CHANNEL_ID, DiscordFake, GUILD_ID, WEBHOOK_ID};
use herald_testkit::{TINY_PNG, TestApp, db_test, id_of};
use serde_json::{Value, json};

use crate::provider_support::{attachment, registry, request};

const TOKEN: &str = "hook-Token_0123456789abcdefghijklmnopqrstuvwxyz";
const WAIT: Duration = Duration::from_secs(15);

async fn connect(app: &TestApp, account: &herald_testkit::Account, fake: &DiscordFake) -> String {
    let _ = app;
    let body = json!({"platform": "discord", "credentials": {"webhookUrl": fake.webhook_url()}});
    id_of(account.session.post("/api/integrations", body).await.expect(201))
}

db_test!(async fn discord_connect_reads_the_webhook_and_refuses_broken_ones(app) {
    let fake = DiscordFake::start(TOKEN).await;
    let ada = app.register("ada@example.com").await;
    let connect_url = |url: String| ada.session.post("/api/integrations", json!({"platform": "discord", "credentials": {"webhookUrl": url}}));

    let wrong = connect_url(fake.url_with_token("stolen-or-rotated")).await;
    let message = wrong.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().to_string();
    assert!(message.contains("Invalid Webhook Token"), "{message}");
    assert!(!message.contains("stolen-or-rotated"), "the URL is a secret: {message}");
    let unknown = connect_url(fake.webhook_url().replace(WEBHOOK_ID, "1100000000000000999")).await;
    assert!(unknown.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().contains("Unknown Webhook"));
    let not_a_hook = connect_url(fake.webhook_url().replace("/api/webhooks/", "/channels/")).await;
    assert!(not_a_hook.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().contains("api/webhooks"));
    assert_eq!(ada.session.get("/api/integrations").await.expect(200), &json!([]), "nothing stored");

    let connected = ada.session.post("/api/integrations", json!({"platform": "discord", "credentials": {"webhookUrl": format!("{}?wait=false", fake.webhook_url())}})).await;
    let integration = connected.expect(201);
    assert_eq!(integration["platformAccountId"], WEBHOOK_ID);
    assert_eq!(integration["name"], "Herald Hook");
    assert!(!connected.text.contains(TOKEN));
    let last = fake.requests().pop().unwrap();
    assert_eq!((last.method.as_str(), last.path.clone()), ("GET", format!("/api/webhooks/{WEBHOOK_ID}/{TOKEN}")));
    assert!(last.query.is_empty(), "a pasted query string is dropped");
    assert!(fake.sent().is_empty());
});

db_test!(async fn discord_publishes_a_thread_as_follow_up_messages_with_the_post_settings(app) {
    let fake = DiscordFake::start(TOKEN).await;
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let hook = connect(&app, &ada, &fake).await;
    let refused = api.post("/api/posts", json!({"content": "x", "platforms": [hook],
        "overrides": {hook.clone(): {"settings": {"username": "Discord Official"}}}})).await;
    let refused = refused.expect_error(422, "VALIDATION_FAILED").to_string();
    assert!(refused.contains("may not contain"), "{refused}");
    let post = api.post("/api/posts", json!({
        "content": "Release notes @everyone",
        "platforms": [hook],
        "thread": [{"content": "details"}, {"content": "thanks"}],
        "overrides": {hook.clone(): {"settings": {"username": "Herald", "suppressEmbeds": true}}},
    })).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;

    let executed: Vec<_> = fake.requests().into_iter().filter(|r| r.method == "POST").collect();
    assert_eq!(executed.len(), 3);
    assert!(executed.iter().all(|r| r.query.get("wait").map(String::as_str) == Some("true") && !r.query.contains_key("thread_id")));
    assert_eq!(executed[0].content_type(), "application/json");
    assert_eq!(executed[0].json, json!({"content": "Release notes @everyone", "allowed_mentions": {"parse": ["users", "roles"]},
        "username": "Herald", "flags": 4}));
    let sent = fake.sent();
    assert_eq!(sent.iter().map(|m| m.content.as_str()).collect::<Vec<_>>(), ["Release notes @everyone", "details", "thanks"]);
    assert!(sent.iter().all(|m| m.channel_id == CHANNEL_ID && m.flags == 4));
    let target = &done["targets"][0];
    assert_eq!(target["platformPostIds"], json!(sent.iter().map(|m| m.id.clone()).collect::<Vec<_>>()));
    assert_eq!(target["url"], format!("https://discord.com/channels/{GUILD_ID}/{CHANNEL_ID}/{}", sent[0].id));
});

db_test!(async fn discord_forum_posts_open_a_thread_and_the_rest_goes_into_it(app) {
    let fake = DiscordFake::start(TOKEN).await;
    fake.make_forum();
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let hook = connect(&app, &ada, &fake).await;
    let post = api.post("/api/posts", json!({
        "content": "Welcome", "platforms": [hook], "thread": [{"content": "rules"}],
        "overrides": {hook.clone(): {"settings": {"threadName": "Announcements"}}},
    })).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    let executed: Vec<_> = fake.requests().into_iter().filter(|r| r.method == "POST").collect();
    assert_eq!(executed[0].json["thread_name"], "Announcements");
    let sent = fake.sent();
    let thread = sent[0].channel_id.clone();
    assert_ne!(thread, CHANNEL_ID, "the first message went into a new thread");
    assert_eq!(executed[1].query["thread_id"], thread, "the rest goes into the thread the answer named");
    assert!(executed[1].json.get("thread_name").is_none());
    assert_eq!(sent[1].channel_id, thread);
    let target = &done["targets"][0];
    assert_eq!(target["platformPostIds"], json!([thread, sent[1].id]), "a forum post is known by its thread");
    assert_eq!(target["url"], format!("https://discord.com/channels/{GUILD_ID}/{thread}/{}", sent[0].id));
});

db_test!(async fn discord_unknown_thread_is_invalid_not_a_deleted_webhook(app) {
    let fake = DiscordFake::start(TOKEN).await;
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let hook = connect(&app, &ada, &fake).await;
    let post = api.post("/api/posts", json!({"content": "into a thread", "platforms": [hook],
        "overrides": {hook.clone(): {"settings": {"threadId": "1999999999999999999"}}}})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    let error = &failed["targets"][0]["lastError"];
    assert_eq!(error["class"], "INVALID", "{error}");
    assert!(error["message"].as_str().unwrap().contains("thread not found"), "{error}");
    assert_eq!(api.get(&format!("/api/integrations/{hook}")).await.expect(200)["status"], "ACTIVE");
});

db_test!(async fn discord_rate_limits_are_retried_after_retry_after(app) {
    let fake = DiscordFake::start(TOKEN).await;
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let hook = connect(&app, &ada, &fake).await;
    fake.push_reply(discord::rate_limited(0.4));
    let post = api.post("/api/posts", json!({"content": "patience", "platforms": [hook]})).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    assert_eq!(done["targets"][0]["attempts"], 2);
    let executed: Vec<_> = fake.requests().into_iter().filter(|r| r.method == "POST").collect();
    assert_eq!(executed.iter().map(|r| r.status).collect::<Vec<_>>(), [429, 200]);
    assert_eq!(fake.sent().len(), 1);
});

db_test!(async fn discord_refusals_fail_with_the_message_and_a_deleted_webhook_needs_reconnecting(app) {
    let fake = DiscordFake::start(TOKEN).await;
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let hook = connect(&app, &ada, &fake).await;

    fake.push_reply(Scripted::json(400, json!({"code": 50035, "message": "Invalid Form Body",
        "errors": {"content": {"_errors": [{"code": "CONTENT_TYPE_INVALID", "message": "Contains words not allowed in this server."}]}}})));
    let post = api.post("/api/posts", json!({"content": "spam", "platforms": [hook]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    let target = &failed["targets"][0];
    assert_eq!(target["lastError"]["class"], "INVALID");
    assert_eq!(target["attempts"], 1);
    assert_eq!(target["lastError"]["message"], "Discord: Invalid Form Body (content: Contains words not allowed in this server.)");

    fake.push_reply(discord::unknown_webhook());
    let post = api.post("/api/posts", json!({"content": "anyone?", "platforms": [hook]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    assert_eq!(failed["targets"][0]["lastError"]["class"], "REVOKED");
    assert!(failed["targets"][0]["lastError"]["message"].as_str().unwrap().contains("Unknown Webhook"));
    assert_eq!(api.get(&format!("/api/integrations/{hook}")).await.expect(200)["status"], "NEEDS_RECONNECT");
    let listed = api.get("/api/posts").await;
    assert!(!listed.text.contains(TOKEN));
});

#[tokio::test]
async fn discord_sends_files_as_multipart_with_payload_json() {
    let fake = DiscordFake::start(TOKEN).await;
    let discord = registry(&[]).get("discord").unwrap();
    let credentials = json!({"webhookUrl": fake.webhook_url(), "guildId": GUILD_ID});
    const PNG: &[u8] = b"\x89PNG\r\n\x1a\n-cat";
    const MP4: &[u8] = b"\x00\x00\x00\x18ftypmp42-clip";
    let files = vec![attachment("image/png", PNG, Some("a cat on a mat")), attachment("video/mp4", MP4, None)];
    let item = discord.publish(&request(credentials, "look", files, None)).await.unwrap().published().unwrap();

    let executed = fake.requests().pop().unwrap();
    assert!(executed.content_type().starts_with("multipart/form-data; boundary="));
    let names: Vec<&str> = executed.parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["payload_json", "files[0]", "files[1]"]);
    let payload = executed.part("payload_json").unwrap();
    assert_eq!(payload.content_type.as_deref(), Some("application/json"));
    assert_eq!(
        serde_json::from_slice::<Value>(&payload.data).unwrap(),
        json!({
            "content": "look", "allowed_mentions": {"parse": ["users", "roles"]},
            "attachments": [{"id": 0, "filename": "media-0.png", "description": "a cat on a mat"}, {"id": 1, "filename": "media-1.mp4"}],
        })
    );
    let cat = executed.part("files[0]").unwrap();
    assert_eq!(
        (cat.file_name.as_deref(), cat.content_type.as_deref(), &cat.data[..]),
        (Some("media-0.png"), Some("image/png"), PNG)
    );
    assert_eq!(&executed.part("files[1]").unwrap().data[..], MP4);
    let sent = fake.sent();
    assert_eq!(sent[0].files[0].3.as_deref(), Some("a cat on a mat"));
    assert_eq!(item.id, sent[0].id);
    assert_eq!(item.url, Some(format!("https://discord.com/channels/{GUILD_ID}/{CHANNEL_ID}/{}", sent[0].id)));
}

db_test!(async fn discord_publishes_uploaded_media_as_multipart(app) {
    let fake = DiscordFake::start(TOKEN).await;
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let hook = connect(&app, &ada, &fake).await;
    let png = id_of(api.upload("chart.png", TINY_PNG.to_vec(), Some("a chart")).await.expect(201));
    let post = api.post("/api/posts", json!({"content": "with a chart", "platforms": [hook], "mediaIds": [png]})).await;
    app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    let executed = fake.requests().pop().unwrap();
    let payload: Value = serde_json::from_str(&executed.field("payload_json").expect("payload_json")).unwrap();
    assert_eq!(payload["content"], "with a chart");
    assert_eq!(payload["attachments"], json!([{"id": 0, "filename": "media-0.png", "description": "a chart"}]));
    let file = executed.part("files[0]").unwrap();
    assert_eq!((file.content_type.as_deref(), &file.data[..]), (Some("image/png"), TINY_PNG));
    assert_eq!(fake.sent()[0].files.len(), 1);
});

db_test!(async fn postiz_s_channel_setting_must_name_the_webhooks_channel(app) {
    let fake = DiscordFake::start(TOKEN).await;
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada, &fake).await;
    let api = app.with_authorization(&ada.api_key(None).await);
    let post = |channel: &str| {
        json!({"type": "draft", "posts": [{"integration": {"id": id}, "value": [{"content": "Hello"}],
            "settings": {"__type": "discord", "channel": channel}}]})
    };
    // Postiz clients always name the channel: the webhook's own is the account itself.
    api.post("/public/v1/posts", post(CHANNEL_ID)).await.expect(201);
    let other = api.post("/public/v1/posts", post("1200000000000000999")).await;
    let error = other.expect_error(422, "VALIDATION_FAILED");
    assert_eq!(error["details"]["errors"][0]["field"], "posts[0].settings.channel");
    assert!(error["message"].as_str().unwrap().contains(CHANNEL_ID), "{error}");
});
