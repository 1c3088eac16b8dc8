//! Mattermost end to end against the fake server: a webhook (checked
//! without posting, thread items as messages, no files) and a channel with
//! a personal access token (membership checked, files uploaded, thread
//! items in the root's thread, permalinks, metrics, a revoked token).

use std::time::Duration;

use herald_providers::{ProviderSettings, PublishedItem, Registry};
use herald_testkit::fakes::mattermost::{CHANNEL_ID, FakeMattermost, HOOK_ID, TOKEN};
use herald_testkit::{TINY_PNG, db_test, id_of};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(15);

async fn connect(account: &herald_testkit::Account, credentials: serde_json::Value) -> herald_testkit::Resp {
    account.session.post("/api/integrations", json!({"platform": "mattermost", "credentials": credentials})).await
}

db_test!(async fn mattermost_webhook_is_checked_without_posting_and_posts_threads_in_order(app) {
    let fake = FakeMattermost::start().await;
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);

    let unknown = connect(&ada, json!({"url": format!("{}/hooks/nosuchhook", fake.url())})).await;
    let message = unknown.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().to_string();
    assert!(message.contains("Invalid webhook") && !message.contains("nosuchhook"), "{message}");

    let connected = connect(&ada, json!({"url": fake.hook_url()})).await;
    let hook = id_of(connected.expect(201));
    assert!(!connected.text.contains(HOOK_ID), "the hook URL is a secret");
    assert!(fake.hook_posts().is_empty(), "checking the hook posted nothing");

    let post = api.post("/api/posts", json!({
        "content": "Release 2.0 is out", "platforms": [hook], "thread": [{"content": "changelog"}],
        "overrides": {hook.clone(): {"settings": {"username": "Herald", "channel": "releases"}}},
    })).await;
    app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    assert_eq!(fake.hook_posts(), [
        json!({"text": "Release 2.0 is out", "username": "Herald", "channel": "releases"}),
        json!({"text": "changelog", "username": "Herald", "channel": "releases"}),
    ]);

    // A webhook cannot carry files: the post fails with the way out.
    let png = id_of(api.upload("chart.png", TINY_PNG.to_vec(), None).await.expect(201));
    let post = api.post("/api/posts", json!({"content": "chart", "platforms": [hook], "mediaIds": [png]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    assert!(failed["targets"][0]["lastError"]["message"].as_str().unwrap().contains("access token"));

    fake.delete_hook();
    let post = api.post("/api/posts", json!({"content": "gone", "platforms": [hook]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    assert_eq!(failed["targets"][0]["lastError"]["class"], "REVOKED");
    assert_eq!(api.get(&format!("/api/integrations/{hook}")).await.expect(200)["status"], "NEEDS_RECONNECT");
});

db_test!(async fn mattermost_channel_with_a_token_posts_files_and_threads(app) {
    let fake = FakeMattermost::start().await;
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);

    let missing = connect(&ada, json!({"url": fake.channel_url()})).await;
    assert!(missing.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().contains("accessToken"));
    let wrong = connect(&ada, json!({"url": fake.channel_url(), "accessToken": "nope"})).await;
    assert!(wrong.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().contains("Invalid or expired session"));
    let other = connect(&ada, json!({"url": format!("{}/herald/channels/nope", fake.url()), "accessToken": TOKEN})).await;
    assert!(other.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().contains("Channel does not exist"));

    let connected = connect(&ada, json!({"url": fake.channel_url(), "accessToken": TOKEN})).await;
    let integration = connected.expect(201);
    assert!(!connected.text.contains(TOKEN));
    assert_eq!(integration["platformAccountId"], format!("{CHANNEL_ID}@127.0.0.1"));
    assert_eq!(integration["name"], "Town Square (herald-bot)");
    let channel = id_of(integration);

    let png = id_of(api.upload("chart.png", TINY_PNG.to_vec(), None).await.expect(201));
    let post = api.post("/api/posts", json!({
        "content": "Numbers are in", "platforms": [channel], "mediaIds": [png],
        "thread": [{"content": "details"}, {"content": "more details"}],
    })).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    let posts = fake.posts();
    assert_eq!(posts.len(), 3);
    assert_eq!(posts[0]["message"], "Numbers are in");
    assert_eq!(posts[0]["file_ids"], json!([fake.files()[0]["id"]]));
    assert_eq!(fake.files()[0]["mime_type"], "image/png");
    let root = posts[0]["id"].as_str().unwrap();
    assert_eq!((posts[1]["root_id"].as_str(), posts[2]["root_id"].as_str()), (Some(root), Some(root)), "flat threads: every reply names the root");
    let target = &done["targets"][0];
    assert_eq!(target["url"], format!("{}/herald/pl/{root}", fake.url()));
    assert_eq!(target["platformPostIds"][0], root);
    // The channel's id was kept when connecting: publishing looks nothing up.
    assert!(fake.requests().iter().filter(|r| r.path.contains("/channels/name/")).count() <= 4);

    fake.engage(root, 2, 3);
    let provider = Registry::new(&ProviderSettings { allow_private_targets: true, ..ProviderSettings::default() })
        .get("mattermost")
        .unwrap();
    let credentials = json!({"url": fake.channel_url(), "accessToken": TOKEN, "channelId": CHANNEL_ID});
    let item = PublishedItem { id: root.to_string(), url: None };
    let metrics = provider.fetch_metrics(&credentials, &item).await.unwrap();
    assert_eq!(metrics.into_iter().collect::<Vec<_>>(), [("reactions".to_string(), 3), ("replies".to_string(), 2)]);

    fake.leave_channel();
    let post = api.post("/api/posts", json!({"content": "after leaving", "platforms": [channel]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    assert_eq!(failed["targets"][0]["lastError"]["class"], "REVOKED");
});
