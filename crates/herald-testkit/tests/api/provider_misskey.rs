//! Misskey end to end against the fake server: a token checked, the
//! server's note length read, files in the Drive with alt text, threads as
//! replies, settings, metrics, a rate limit and a revoked token.

use std::time::Duration;

use herald_providers::{ProviderSettings, PublishedItem, Registry};
use herald_testkit::fakes::misskey::{self, FakeMisskey, TOKEN};
use herald_testkit::{TINY_PNG, db_test, id_of};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(15);

db_test!(async fn misskey_notes_with_files_threads_and_settings(app) {
    let fake = FakeMisskey::start().await;
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let connect = |token: &str| ada.session.post("/api/integrations", json!({"platform": "misskey", "credentials": {"instanceUrl": fake.url(), "accessToken": token}}));
    let refused = connect("wrong").await;
    assert!(refused.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().contains("AUTHENTICATION_FAILED"));
    let connected = connect(TOKEN).await;
    assert!(!connected.text.contains(TOKEN));
    let integration = connected.expect(201).clone();
    let host = fake.url().trim_start_matches("http://").to_string();
    assert_eq!(integration["platformUsername"], format!("herald@{host}"));
    assert_eq!(integration["settings"]["maxLength"], 3000, "the server's own note length");
    let id = id_of(&integration);

    let png = id_of(api.upload("cat.png", TINY_PNG.to_vec(), Some("a cat")).await.expect(201));
    let post = api.post("/api/posts", json!({"content": "Hello fediverse", "platforms": [id], "mediaIds": [png],
        "thread": [{"content": "more"}],
        "overrides": {id.clone(): {"settings": {"visibility": "home", "cw": "long", "sensitive": true}}}})).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    let notes = fake.notes();
    assert_eq!(notes.len(), 2);
    assert_eq!((notes[0]["text"].as_str(), notes[0]["visibility"].as_str(), notes[0]["cw"].as_str()), (Some("Hello fediverse"), Some("home"), Some("long")));
    let file = &fake.files()[0];
    assert_eq!((file["comment"].as_str(), file["isSensitive"].as_bool()), (Some("a cat"), Some(true)));
    assert_eq!(notes[0]["fileIds"], json!([file["id"]]));
    assert_eq!(notes[1]["replyId"], notes[0]["id"]);
    let first = notes[0]["id"].as_str().unwrap().to_string();
    assert_eq!(done["targets"][0]["url"], format!("{}/notes/{first}", fake.url()));

    fake.react(&first, json!({"👍": 3, ":misskey:": 2}), 4);
    let provider = Registry::new(&ProviderSettings { allow_private_targets: true, ..ProviderSettings::default() }).get("misskey").unwrap();
    let credentials = json!({"instanceUrl": fake.url(), "accessToken": TOKEN});
    let metrics = provider.fetch_metrics(&credentials, &PublishedItem { id: first, url: None }).await.unwrap();
    assert_eq!((metrics["likes"], metrics["reposts"], metrics["replies"]), (5, 4, 1));

    fake.script(misskey::error(429, "RATE_LIMIT_EXCEEDED", "Rate limit exceeded. Please try again later.").retry_after(1).at("POST /api/notes/create"));
    let post = api.post("/api/posts", json!({"content": "patience", "platforms": [id]})).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    assert_eq!(done["targets"][0]["attempts"], 2);

    fake.revoke_token();
    let post = api.post("/api/posts", json!({"content": "revoked", "platforms": [id]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    assert_eq!(failed["targets"][0]["lastError"]["class"], "REVOKED");
});
