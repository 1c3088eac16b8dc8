//! Zulip end to end against the fake server: a bot connected to a channel
//! (a wrong key or channel refused), messages in a topic with uploaded
//! files, a post's own topic, rate limits, a bot no longer allowed to post.

use std::time::Duration;

use herald_providers::{ProviderSettings, PublishedItem, Registry};
use herald_testkit::fakes::zulip::{self, API_KEY, BOT_EMAIL, FakeZulip, STREAM, STREAM_ID};
use herald_testkit::{TINY_PNG, db_test, id_of};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(15);

fn credentials(fake: &FakeZulip, key: &str, stream: &str) -> serde_json::Value {
    json!({"site": fake.url(), "email": BOT_EMAIL, "apiKey": key, "stream": stream, "topic": "releases"})
}

db_test!(async fn zulip_connects_a_bot_to_a_channel_and_posts_in_its_topic(app) {
    let fake = FakeZulip::start().await;
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let connect = |credentials: serde_json::Value| ada.session.post("/api/integrations", json!({"platform": "zulip", "credentials": credentials}));

    let refused = connect(credentials(&fake, "wrong-key", STREAM)).await;
    let message = refused.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().to_string();
    assert!(message.contains("Invalid API key") && !message.contains("wrong-key"), "{message}");
    let refused = connect(credentials(&fake, API_KEY, "nowhere")).await;
    assert!(refused.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().contains("Invalid channel name 'nowhere'"));

    let connected = connect(credentials(&fake, API_KEY, &format!("#{STREAM}"))).await;
    let integration = connected.expect(201);
    assert!(!connected.text.contains(API_KEY));
    assert_eq!(integration["platformAccountId"], format!("{STREAM_ID}@127.0.0.1"));
    assert_eq!(integration["name"], format!("#{STREAM} (Herald Bot)"));
    let bot = id_of(integration);

    let png = id_of(api.upload("chart.png", TINY_PNG.to_vec(), Some("the chart")).await.expect(201));
    let post = api.post("/api/posts", json!({
        "content": "Herald 2.0 is out", "platforms": [bot], "mediaIds": [png], "thread": [{"content": "what changed"}],
    })).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    let messages = fake.messages();
    assert_eq!(messages.len(), 2);
    let upload = fake.uploads()[0]["path"].as_str().unwrap().to_string();
    assert_eq!(messages[0]["content"], format!("Herald 2.0 is out\n[the chart]({upload})"));
    assert_eq!((messages[0]["subject"].as_str(), messages[1]["subject"].as_str()), (Some("releases"), Some("releases")));
    assert_eq!(messages[1]["content"], "what changed");
    let first = messages[0]["id"].as_u64().unwrap();
    assert_eq!(done["targets"][0]["url"], format!("{}/#narrow/channel/{STREAM_ID}/topic/releases/near/{first}", fake.url()));
    let sent = fake.requests().into_iter().find(|r| r.path == "/api/v1/messages").unwrap();
    assert_eq!(sent.form().get("to").map(String::as_str), Some("17"), "the channel's id, kept when connecting");

    // A post's own topic; a rate limit is waited out.
    fake.script(zulip::rate_limited(0.5).at("POST /api/v1/messages"));
    let post = api.post("/api/posts", json!({"content": "hotfix", "platforms": [bot],
        "overrides": {bot.clone(): {"settings": {"topic": "incidents"}}}})).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    assert_eq!(done["targets"][0]["attempts"], 2);
    assert_eq!(fake.messages().last().unwrap()["subject"], "incidents");
    let too_long = api.post("/api/posts", json!({"content": "x", "platforms": [bot],
        "overrides": {bot.clone(): {"settings": {"topic": "t".repeat(61)}}}})).await;
    too_long.expect_error(422, "VALIDATION_FAILED");

    // Reactions are its metrics.
    fake.react(first, 4);
    let provider = Registry::new(&ProviderSettings { allow_private_targets: true, ..ProviderSettings::default() })
        .get("zulip")
        .unwrap();
    let mut stored = credentials(&fake, API_KEY, STREAM);
    stored["streamId"] = json!(STREAM_ID);
    let metrics = provider.fetch_metrics(&stored, &PublishedItem { id: first.to_string(), url: None }).await.unwrap();
    assert_eq!(metrics.get("reactions"), Some(&4));

    fake.forbid_posting();
    let post = api.post("/api/posts", json!({"content": "muted", "platforms": [bot]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    assert_eq!(failed["targets"][0]["lastError"]["class"], "REVOKED");
    assert!(failed["targets"][0]["lastError"]["message"].as_str().unwrap().contains("Not authorized to send"));
    assert_eq!(api.get(&format!("/api/integrations/{bot}")).await.expect(200)["status"], "NEEDS_RECONNECT");
});
