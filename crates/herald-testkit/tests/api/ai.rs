//! AI writing help against a fake OpenAI-compatible server: one suggestion
//! per account, each checked against that platform's limit by Herald (an
//! over-long answer is `valid: false`, never passed off); the key goes to
//! the model and nowhere else; off (404) when not configured.

use herald_testkit::{FAKE_MODEL_KEY, FakeModel, TestOptions, db_test, spawn_app_with};
use serde_json::json;

db_test!(async fn suggestions_are_written_per_platform_and_checked_against_its_limit(app) {
    // Without a model endpoint the feature is off.
    let ada = app.register("ada@example.com").await;
    let hook = app.add_integration(&ada, "mastodon").await;
    let body = json!({"content": "Hello", "platforms": [hook], "action": "rewrite"});
    ada.session.post("/api/ai/suggest", body).await.expect_error(404, "NOT_FOUND");

    let model = FakeModel::start().await;
    let app = spawn_app_with(app.backend, TestOptions { ai: Some(model.settings()), ..TestOptions::default() }).await.unwrap();
    let ada = app.register("ada@example.com").await;
    let mastodon = app.add_integration(&ada, "mastodon").await;
    let bluesky = app.add_integration(&ada, "bluesky").await;
    let too_long = "x".repeat(400);
    model.reply_with(&["\"Short and sweet for Mastodon\"", &too_long]);
    let answer = ada.session.post("/api/ai/suggest", json!({
        "content": "We launched Herald today, a scheduler you host yourself.",
        "platforms": [mastodon, bluesky], "action": "shorten"
    })).await.expect(200).clone();
    let suggestions = answer["suggestions"].as_array().unwrap();
    assert_eq!(suggestions.len(), 2);
    assert_eq!(suggestions[0]["integrationId"], mastodon.to_string());
    assert_eq!(suggestions[0]["content"], "Short and sweet for Mastodon", "quotes around the answer are dropped");
    assert_eq!(suggestions[0]["valid"], true);
    assert_eq!(suggestions[1]["platform"], "bluesky");
    assert_eq!(suggestions[1]["valid"], false, "400 characters do not fit Bluesky's 300");
    assert_eq!((suggestions[1]["length"].as_u64(), suggestions[1]["maxLength"].as_u64()), (Some(400), Some(300)));
    assert!(suggestions[1]["errors"][0]["message"].as_str().unwrap().contains("at most 300"));

    let requests = model.requests();
    assert_eq!(requests.len(), 2);
    let (authorization, request) = &requests[1];
    assert_eq!(authorization.as_deref(), Some(format!("Bearer {FAKE_MODEL_KEY}").as_str()));
    assert_eq!(request["model"], "fake-model");
    let system = request["messages"][0]["content"].as_str().unwrap();
    assert!(system.contains("Bluesky") && system.contains("300") && system.contains("Shorten"), "{system}");
    assert_eq!(request["messages"][1]["content"], "We launched Herald today, a scheduler you host yourself.");

    // Translate needs a language, which reaches the prompt.
    let translate = json!({"content": "Hello", "platforms": [mastodon], "action": "translate"});
    let refused = ada.session.post("/api/ai/suggest", translate).await;
    assert_eq!(refused.expect_error(422, "VALIDATION_FAILED")["details"]["errors"][0]["field"], "language");
    let translate = json!({"content": "Hello", "platforms": [mastodon], "action": "translate", "language": "German"});
    ada.session.post("/api/ai/suggest", translate).await.expect(200);
    assert!(model.requests()[2].1["messages"][0]["content"].as_str().unwrap().contains("into German"));

    // Bad input, another workspace's account, a failing model: clear errors, no key shown.
    ada.session.post("/api/ai/suggest", json!({"content": "x", "platforms": [mastodon], "action": "poem"})).await.expect_error(422, "VALIDATION_FAILED");
    let bob = app.register("bob@example.com").await;
    let theirs = json!({"content": "x", "platforms": [mastodon], "action": "rewrite"});
    bob.session.post("/api/ai/suggest", theirs).await.expect_error(422, "VALIDATION_FAILED");
    model.fail_with(Some(500));
    let failed = ada.session.post("/api/ai/suggest", json!({"content": "x", "platforms": [mastodon], "action": "rewrite"})).await;
    failed.expect_error(503, "PLATFORM_UNAVAILABLE");
    assert!(failed.text.contains("HTTP 500") && !failed.text.contains(FAKE_MODEL_KEY), "{}", failed.text);
    model.fail_with(None);

    // Scope: a draft-only key may ask; a read-only key may not.
    let drafter = app.with_key(&ada.api_key(Some(&["posts:read", "posts:write"])).await);
    drafter.post("/api/ai/suggest", json!({"content": "x", "platforms": [mastodon], "action": "hashtags"})).await.expect(200);
    let reader = app.with_key(&ada.api_key(Some(&["posts:read"])).await);
    reader.post("/api/ai/suggest", json!({"content": "x", "platforms": [mastodon], "action": "hashtags"})).await.expect_error(403, "FORBIDDEN");
});
