//! Duplicate detection (DESIGN §11): validate and create warn with
//! `DUPLICATE_CONTENT`, naming the earlier post, when the same normalised
//! text went or is due to go to the same account within 30 days — in the
//! REST answers, the composer's check and MCP's `validate_post`.

use herald_testkit::{TestApp, db_test, id_of};
use serde_json::{Value, json};

fn at(app: &TestApp, minutes: i64) -> String {
    (app.store.now() + chrono::Duration::minutes(minutes)).to_rfc3339()
}

fn codes(body: &Value) -> Vec<String> {
    body["warnings"]
        .as_array()
        .map(|w| w.iter().map(|w| w["code"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

db_test!(async fn the_same_text_to_the_same_account_is_flagged(app) {
    let ada = app.register("ada@example.com").await;
    let mastodon = app.add_integration(&ada, "mastodon").await;
    let bluesky = app.add_integration(&ada, "bluesky").await;
    let first = ada.session.post("/api/posts", json!({"content": "Big news: we ship today!", "platforms": [mastodon], "scheduledFor": at(&app, 60)})).await;
    let first = first.expect(201).clone();
    assert!(codes(&first).is_empty());
    let earlier = id_of(&first);

    // Case, spacing and end punctuation do not make it different.
    let check = ada.session.post("/api/posts/validate", json!({"content": "big news:  we ship today", "platforms": [mastodon, bluesky], "scheduledFor": at(&app, 180)})).await;
    let check = check.expect(200).clone();
    assert_eq!(check["valid"], true, "a warning does not stop the post");
    assert_eq!(codes(&check), ["DUPLICATE_CONTENT"]);
    assert_eq!(check["warnings"][0]["postId"], earlier);
    assert_eq!(check["warnings"][0]["integrationId"], mastodon.to_string());
    let target = check["targets"].as_array().unwrap().iter().find(|t| t["integrationId"] == mastodon.to_string()).unwrap();
    assert!(target["warnings"][0].as_str().unwrap().starts_with("DUPLICATE_CONTENT"));

    let second = ada.session.post("/api/posts", json!({"content": "Big news: we ship today", "platforms": [mastodon], "scheduledFor": at(&app, 120)})).await;
    let second = second.expect(201).clone();
    assert_eq!(codes(&second), ["DUPLICATE_CONTENT"]);
    // A post does not duplicate itself when edited; a fresh read carries no warning.
    let edited = ada.session.put(&format!("/api/posts/{earlier}"), json!({"tags": ["launch"]})).await;
    assert_eq!(codes(edited.expect(200)), ["DUPLICATE_CONTENT"], "the second post is a duplicate of it");
    ada.session.delete(&format!("/api/posts/{}", id_of(&second))).await.expect(204);
    let edited = ada.session.put(&format!("/api/posts/{earlier}"), json!({"tags": ["launch", "news"]})).await;
    assert!(codes(edited.expect(200)).is_empty());
    assert!(ada.session.get(&format!("/api/posts/{earlier}")).await.body.get("warnings").is_none());

    // Drafts do not count, nor another account, nor 30 days apart.
    ada.session.post("/api/posts", json!({"content": "Only an idea", "platforms": [mastodon], "status": "DRAFT"})).await.expect(201);
    let idea = ada.session.post("/api/posts/validate", json!({"content": "Only an idea", "platforms": [mastodon], "scheduledFor": at(&app, 60)})).await;
    assert!(codes(idea.expect(200)).is_empty());
    let later = ada.session.post("/api/posts/validate", json!({"content": "Big news: we ship today!", "platforms": [mastodon], "scheduledFor": at(&app, 60 * 24 * 31 + 120)})).await;
    assert!(codes(later.expect(200)).is_empty());
    // An override is the text that counts on its account.
    let overridden = ada.session.post("/api/posts/validate", json!({"content": "Something else", "platforms": [mastodon], "scheduledFor": at(&app, 60), "overrides": {mastodon.to_string(): {"content": "BIG NEWS: we ship today!"}}})).await;
    assert_eq!(codes(overridden.expect(200)), ["DUPLICATE_CONTENT"]);

    // MCP's validate_post says the same.
    let key = ada.api_key(None).await;
    let session = crate::mcp_rpc::mcp_session(&app, &key).await;
    let arguments = json!({"content": "big news: we ship today", "integrationIds": [mastodon], "scheduledFor": at(&app, 90)});
    let answer = crate::mcp_rpc::tool(&app, &key, &session, "validate_post", arguments).await;
    assert_eq!(codes(&answer["structuredContent"]), ["DUPLICATE_CONTENT"], "{answer}");
});

db_test!(async fn the_composer_check_shows_the_warning(app) {
    let mut browser = crate::browser::Browser::new(&app);
    browser.register("ada@example.com").await;
    let ada = browser.account(&app).await;
    let mastodon = app.add_integration(&ada, "mastodon").await.to_string();
    let created = browser.api(reqwest::Method::POST, "/api/posts", Some(json!({"content": "Same again", "platforms": [mastodon], "scheduledFor": at(&app, 60)}))).await;
    assert!(created["id"].is_string(), "{created}");
    browser.get("/posts/new").await;
    // A day later, as the picker writes it (the zone's offset is nothing against 30 days).
    let tomorrow = (app.store.now() + chrono::Duration::days(1)).format("%Y-%m-%dT%H:%M").to_string();
    let page = browser.post("/posts/new", &[("content", "same again"), ("platforms", &mastodon), ("scheduled_for", &tomorrow), ("action", "check")]).await;
    assert!(page.html.contains("DUPLICATE_CONTENT"), "{}", page.html);
    assert!(page.html.contains(r#"id="composer-warnings""#));
});
