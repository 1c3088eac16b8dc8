//! Medium, Hashnode and Buttondown end to end against fakes written from
//! their documentation: connecting with a token (a wrong one refused, the
//! token never shown), a post becoming a story, an article or an email
//! with its title from the first line or the settings, images uploaded or
//! linked, and the refusals that fail a post or ask for reconnecting.

use std::time::Duration;

use herald_providers::{ProviderSettings, PublishedItem, Registry};
use herald_testkit::fakes::buttondown::{self, FakeButtondown};
use herald_testkit::fakes::hashnode::{self, FakeHashnode, OTHER_PUBLICATION_ID, PUBLICATION_ID};
use herald_testkit::fakes::medium::{self, FakeMedium, USER_ID};
use herald_testkit::{TINY_PNG, TestOptions, db_test, id_of};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(15);

fn pointed_at(platform: &str, url: String) -> TestOptions {
    let mut options = TestOptions::default();
    options.provider_api_base.insert(platform.into(), url);
    options
}

fn provider(platform: &str, url: String) -> std::sync::Arc<dyn herald_providers::Provider> {
    let mut settings = ProviderSettings { allow_private_targets: true, ..ProviderSettings::default() };
    settings.api_base.insert(platform.into(), url);
    Registry::new(&settings).get(platform).unwrap()
}

db_test!(async fn medium_stories_take_the_first_line_as_title_and_upload_images(app, fake = FakeMedium::start().await, pointed_at("medium", fake.url())) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let connect = |token: &str| ada.session.post("/api/integrations", json!({"platform": "medium", "credentials": {"integrationToken": token}}));
    let refused = connect("not-a-token").await;
    assert!(refused.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().contains("Token was invalid"));
    let connected = connect(medium::TOKEN).await;
    assert!(!connected.text.contains(medium::TOKEN));
    let integration = connected.expect(201).clone();
    assert_eq!((integration["platformAccountId"].as_str(), integration["name"].as_str()), (Some(USER_ID), Some("Herald Writer")));
    let id = id_of(&integration);

    let png = id_of(api.upload("chart.png", TINY_PNG.to_vec(), Some("the chart")).await.expect(201));
    let post = api.post("/api/posts", json!({"content": "# Shipping Herald 2.0\n\nIt is **out**.", "platforms": [id], "mediaIds": [png],
        "overrides": {id.clone(): {"settings": {"tags": ["rust", "self-hosting"], "publishStatus": "draft", "canonicalUrl": "https://example.org/herald-2"}}}})).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    let story = &fake.posts()[0];
    assert_eq!(story["title"], "Shipping Herald 2.0");
    let image = fake.images()[0]["url"].as_str().unwrap().to_string();
    assert_eq!(story["content"], format!("# Shipping Herald 2.0\n\nIt is **out**.\n\n![the chart]({image})"));
    assert_eq!((story["publishStatus"].as_str(), story["owner"].as_str()), (Some("draft"), Some(USER_ID)));
    assert_eq!(story["tags"], json!(["rust", "self-hosting"]));
    assert_eq!(done["targets"][0]["url"], story["url"]);

    // No right to a publication: the story fails, the account stays connected.
    let post = api.post("/api/posts", json!({"content": "Elsewhere\n\nbody", "platforms": [id],
        "overrides": {id.clone(): {"settings": {"publicationId": "0000aaaa"}}}})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    assert_eq!(failed["targets"][0]["lastError"]["class"], "INVALID");
    assert_eq!(api.get(&format!("/api/integrations/{id}")).await.expect(200)["status"], "ACTIVE");

    fake.revoke_token();
    let post = api.post("/api/posts", json!({"content": "Revoked\n\nbody", "platforms": [id]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    assert_eq!(failed["targets"][0]["lastError"]["class"], "REVOKED");
});

db_test!(async fn hashnode_articles_go_to_the_chosen_blog_with_linked_images(app, fake = FakeHashnode::start().await, pointed_at("hashnode", fake.url())) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let connect = |credentials: serde_json::Value| ada.session.post("/api/integrations", json!({"platform": "hashnode", "credentials": credentials}));
    let refused = connect(json!({"accessToken": "wrong"})).await;
    assert!(refused.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().contains("UNAUTHENTICATED"));
    let unknown = connect(json!({"accessToken": hashnode::TOKEN, "publicationId": "nope"})).await;
    unknown.expect_error(422, "VALIDATION_FAILED");
    let first = connect(json!({"accessToken": hashnode::TOKEN})).await.expect(201).clone();
    assert_eq!((first["platformAccountId"].as_str(), first["name"].as_str()), (Some(PUBLICATION_ID), Some("Herald Blog")));
    let side = connect(json!({"accessToken": hashnode::TOKEN, "publicationId": OTHER_PUBLICATION_ID})).await.expect(201).clone();
    assert_eq!(side["name"], "Side Notes");
    let id = id_of(&side);

    let png = id_of(api.upload("cover.png", TINY_PNG.to_vec(), None).await.expect(201));
    let post = api.post("/api/posts", json!({"content": "Why we rewrote it in Rust\n\nMemory.", "platforms": [id], "mediaIds": [png],
        "overrides": {id.clone(): {"settings": {"tags": ["rust"], "subtitle": "and what it cost"}}}})).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    let input = &fake.posts()[0];
    assert_eq!((input["title"].as_str(), input["publicationId"].as_str()), (Some("Why we rewrote it in Rust"), Some(OTHER_PUBLICATION_ID)));
    assert_eq!(input["contentMarkdown"], "Memory.");
    assert_eq!(input["tags"], json!([{"slug": "rust", "name": "rust"}]));
    let cover = input["coverImageOptions"]["coverImageURL"].as_str().unwrap();
    assert!(cover.starts_with(&app.address), "the image is linked from Herald: {cover}");
    assert!(done["targets"][0]["url"].as_str().unwrap().starts_with("https://herald.hashnode.dev/"));

    let refused = api.post("/api/posts", json!({"content": "Short\n\nbody", "platforms": [id]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(refused.expect(201)), "FAILED", WAIT).await;
    assert!(failed["targets"][0]["lastError"]["message"].as_str().unwrap().contains("at least 6 characters"));

    let item = PublishedItem { id: done["targets"][0]["platformPostIds"][0].as_str().unwrap().into(), url: None };
    let metrics = provider("hashnode", fake.url()).fetch_metrics(&json!({"accessToken": hashnode::TOKEN}), &item).await.unwrap();
    assert_eq!((metrics["views"], metrics["likes"], metrics["replies"]), (321, 17, 4));
});

db_test!(async fn buttondown_sends_a_post_as_an_email(app, fake = FakeButtondown::start().await, pointed_at("buttondown", fake.url())) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let connect = |key: &str| ada.session.post("/api/integrations", json!({"platform": "buttondown", "credentials": {"apiKey": key}}));
    assert!(connect("wrong").await.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().contains("Invalid token"));
    let connected = connect(buttondown::API_KEY).await;
    assert!(!connected.text.contains(buttondown::API_KEY));
    let integration = connected.expect(201).clone();
    assert_eq!(integration["name"], "Herald News");
    let id = id_of(&integration);

    let png = id_of(api.upload("chart.png", TINY_PNG.to_vec(), Some("growth")).await.expect(201));
    let post = api.post("/api/posts", json!({"content": "December update\n\nWe shipped **a lot**.", "platforms": [id], "mediaIds": [png],
        "overrides": {id.clone(): {"settings": {"emailType": "premium"}}}})).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    let email = &fake.emails()[0];
    let image = fake.images()[0]["url"].as_str().unwrap().to_string();
    assert_eq!(email["subject"], "December update");
    assert_eq!(email["body"], format!("We shipped **a lot**.\n\n![growth]({image})"));
    assert_eq!((email["status"].as_str(), email["email_type"].as_str()), (Some("about_to_send"), Some("premium")));
    assert_eq!(done["targets"][0]["url"], email["absolute_url"]);

    let draft = api.post("/api/posts", json!({"content": "Draft\n\nlater", "platforms": [id],
        "overrides": {id.clone(): {"settings": {"status": "draft", "subject": "A draft"}}}})).await;
    app.wait_for_post_status(&api, &id_of(draft.expect(201)), "PUBLISHED", WAIT).await;
    assert_eq!((fake.emails()[1]["status"].as_str(), fake.emails()[1]["subject"].as_str()), (Some("draft"), Some("A draft")));

    let item = PublishedItem { id: email["id"].as_str().unwrap().into(), url: None };
    let metrics = provider("buttondown", fake.url()).fetch_metrics(&json!({"apiKey": buttondown::API_KEY}), &item).await.unwrap();
    assert_eq!((metrics["opens"], metrics["clicks"], metrics["recipients"]), (64, 12, 120));
});
