//! The `devto` provider end to end: Herald's API → engine → a fake DEV
//! (Forem API v1) → outcome, and what exactly Herald sent.

use std::time::Duration;

use herald_store::repo::Integrations;
use herald_testkit::fakes::devto::{DevtoFake, USER_ID};
use herald_testkit::{TestApp, TestOptions, db_test, id_of};
use serde_json::json;
use uuid::Uuid;

const API_KEY: &str = "devto-secret-key-4f9a2c7e1b";
const WAIT: Duration = Duration::from_secs(15);

/// One test per backend; the fake must run before the app, which is pointed at it.
/// A DEV fake and an app that publishes to it.
fn devto_options(fake: &DevtoFake) -> TestOptions {
    let mut options = TestOptions::default();
    options.provider_api_base.insert("devto".into(), fake.base_url());
    options
}

async fn connect(account: &herald_testkit::Account) -> Uuid {
    let connected = account
        .session
        .post("/api/integrations", json!({"platform": "devto", "credentials": {"apiKey": API_KEY}}))
        .await;
    Uuid::parse_str(connected.expect(201)["id"].as_str().unwrap()).unwrap()
}

/// Requests Herald made to create articles.
fn article_requests(fake: &DevtoFake) -> Vec<herald_testkit::fakes::Recorded> {
    fake.requests().into_iter().filter(|r| r.method == "POST" && r.path == "/api/articles").collect()
}

async fn assert_no_secret_leaks(app: &TestApp, account: &herald_testkit::Account, texts: &[&str]) {
    for text in texts {
        assert!(!text.contains(API_KEY), "the API key leaked: {text}");
    }
    let listed = account.session.get("/api/integrations").await;
    assert!(!listed.text.contains(API_KEY));
    for row in Integrations(app.store.conn()).list(account.workspace_id).await.unwrap() {
        assert!(!row.credentials.unwrap_or_default().contains(API_KEY), "credentials are stored encrypted");
    }
}

db_test!(async fn devto_connects_with_a_valid_key_and_refuses_a_bad_one(app, fake = DevtoFake::start(API_KEY).await, devto_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let refused = ada.session.post("/api/integrations", json!({"platform": "devto", "credentials": {"apiKey": "wrong-key"}})).await;
    let error = refused.expect_error(422, "VALIDATION_FAILED");
    assert!(error["message"].as_str().unwrap().contains("unauthorized"), "{error}");
    assert_eq!(ada.session.get("/api/integrations").await.expect(200), &json!([]), "nothing stored");

    let id = connect(&ada).await;
    let integration = ada.session.get(&format!("/api/integrations/{id}")).await;
    let integration = integration.expect(200);
    assert_eq!(integration["platform"], "devto");
    assert_eq!(integration["platformUsername"], "ada_dev");
    assert_eq!(integration["name"], "Ada Lovelace");
    assert_eq!(integration["platformAccountId"], USER_ID.to_string());
    assert_eq!(integration["avatarUrl"], "https://media.dev.to/profile/ada.png");
    assert_eq!(integration["status"], "ACTIVE");
    let me = fake.requests().into_iter().filter(|r| r.path == "/api/users/me").collect::<Vec<_>>();
    assert_eq!(me.len(), 2);
    assert_eq!(me[1].method, "GET");
    assert_eq!(me[1].header("api-key"), Some(API_KEY));
    assert_eq!(me[1].header("accept"), Some("application/vnd.forem.api-v1+json"));
    assert_no_secret_leaks(&app, &ada, &[&refused.text, &integration.to_string()]).await;
});

db_test!(async fn devto_publishes_an_article_titled_by_its_first_line(app, fake = DevtoFake::start(API_KEY).await, devto_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let devto = connect(&ada).await;
    let content = "# Shipping Herald\n\nIt schedules posts.\n\n```rust\nfn main() {}\n```";
    let post = api.post("/api/posts", json!({"content": content, "platforms": [devto], "tags": ["Rust", "self-hosted"]})).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    let target = &done["targets"][0];
    let article = &fake.articles()[0];
    assert_eq!(target["platformPostIds"][0], article["id"].to_string());
    assert_eq!(target["url"], article["url"]);

    let sent = article_requests(&fake);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].header("api-key"), Some(API_KEY));
    assert_eq!(sent[0].header("accept"), Some("application/vnd.forem.api-v1+json"));
    assert_eq!(sent[0].header("content-type"), Some("application/json"));
    assert_eq!(
        sent[0].json,
        json!({"article": {
            "title": "Shipping Herald",
            "body_markdown": "It schedules posts.\n\n```rust\nfn main() {}\n```",
            "published": true,
            "tags": ["rust", "selfhosted"]
        }})
    );
    assert_no_secret_leaks(&app, &ada, &[&done.to_string()]).await;
});

db_test!(async fn devto_takes_its_settings_from_the_target(app, fake = DevtoFake::start(API_KEY).await, devto_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let devto = connect(&ada).await;
    let settings = json!({
        "title": "A given title", "tags": ["#Rust", "webdev"], "published": false, "series": "Herald diaries",
        "canonicalUrl": "https://blog.example.com/herald", "description": "How it works",
        "mainImage": "https://blog.example.com/cover.png", "organizationId": 77
    });
    let body = json!({"content": "First line stays in the body\nsecond", "platforms": [devto], "overrides": {devto.to_string(): {"settings": settings}}});
    let post = api.post("/api/posts", body).await;
    app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    assert_eq!(
        article_requests(&fake)[0].json["article"],
        json!({
            "title": "A given title", "body_markdown": "First line stays in the body\nsecond", "published": false,
            "tags": ["rust", "webdev"], "series": "Herald diaries", "canonical_url": "https://blog.example.com/herald",
            "description": "How it works", "main_image": "https://blog.example.com/cover.png", "organization_id": 77
        })
    );
    assert_eq!(fake.articles()[0]["published"], false);
});

db_test!(async fn devto_rate_limits_are_retried_after_the_hint(app, fake = DevtoFake::start(API_KEY).await, devto_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let devto = connect(&ada).await;
    fake.script("POST /api/articles", 429, json!({"error": "Rate limit reached, try again in 1 seconds", "status": 429}), Some(1));
    let post = api.post("/api/posts", json!({"content": "Patience\nbody", "platforms": [devto]})).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    assert_eq!(done["targets"][0]["attempts"], 2);
    let sent = article_requests(&fake);
    assert_eq!(sent.iter().map(|r| r.status).collect::<Vec<_>>(), [429, 201]);
    assert_eq!(sent[0].body, sent[1].body, "the same article is sent again");
    assert_eq!(fake.articles().len(), 1);
});

db_test!(async fn devto_revoked_keys_need_reconnecting(app, fake = DevtoFake::start(API_KEY).await, devto_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let devto = connect(&ada).await;
    fake.revoke_key();
    let post = api.post("/api/posts", json!({"content": "Too late\nbody", "platforms": [devto]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    let error = &failed["targets"][0]["lastError"];
    assert_eq!(error["class"], "REVOKED");
    assert!(error["message"].as_str().unwrap().contains("reconnect"), "{error}");
    let integration = api.get(&format!("/api/integrations/{devto}")).await;
    assert_eq!(integration.expect(200)["status"], "NEEDS_RECONNECT");
    assert_no_secret_leaks(&app, &ada, &[&failed.to_string()]).await;
});

db_test!(async fn devto_refusals_fail_at_once_with_the_platform_message(app, fake = DevtoFake::start(API_KEY).await, devto_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let devto = connect(&ada).await;
    fake.script("POST /api/articles", 422, json!({"error": "Body markdown has already been taken", "status": 422}), None);
    let post = api.post("/api/posts", json!({"content": "Twice\nthe same", "platforms": [devto]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    let target = &failed["targets"][0];
    assert_eq!(target["attempts"], 1);
    assert_eq!(target["lastError"]["class"], "INVALID");
    assert_eq!(target["lastError"]["message"], "DEV refused the article: Body markdown has already been taken");
    assert!(failed["errorMessage"].as_str().unwrap().contains("Body markdown has already been taken"));
});

db_test!(async fn devto_settings_are_validated_before_anything_is_stored(app, fake = DevtoFake::start(API_KEY).await, devto_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let devto = connect(&ada).await;
    let settings = json!({"tags": ["rust", "web-dev", "a", "b", "c"], "published": "yes"});
    let body = json!({"content": "Title\nbody", "platforms": [devto], "overrides": {devto.to_string(): {"settings": settings}}});
    let report = api.post("/api/posts/validate", body.clone()).await;
    let report = report.expect(200);
    assert_eq!(report["valid"], false);
    let errors: Vec<(String, String)> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].as_str().unwrap().to_string(), e["message"].as_str().unwrap().to_string()))
        .collect();
    let field = |key: &str| format!("overrides.{devto}.settings.{key}");
    assert_eq!(
        errors,
        [
            (field("published"), "must be true or false".to_string()),
            (field("tags"), "DEV takes at most 4 tags, got 5".to_string()),
            (field("tags"), "DEV tags are letters and digits only: \"web-dev\"".to_string()),
        ]
    );
    api.post("/api/posts", body).await.expect_error(422, "VALIDATION_FAILED");
    assert_eq!(api.get("/api/posts").await.expect(200)["posts"], json!([]));
    assert!(article_requests(&fake).is_empty());
});

db_test!(async fn devto_uses_the_first_uploaded_image_as_the_cover(app, fake = DevtoFake::start(API_KEY).await, devto_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let devto = connect(&ada).await;
    let uploaded = api.upload("cover.png", herald_testkit::TINY_PNG.to_vec(), Some("Cover")).await;
    let media = uploaded.expect(201).clone();
    let post = api.post("/api/posts", json!({"content": "With a cover\nbody", "platforms": [devto], "mediaIds": [media["id"]]})).await;
    app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    let article = article_requests(&fake)[0].json.clone();
    assert_eq!(article["article"]["main_image"], media["url"]);
    assert!(media["url"].as_str().unwrap().starts_with(&format!("{}/uploads/", app.address)));
});
