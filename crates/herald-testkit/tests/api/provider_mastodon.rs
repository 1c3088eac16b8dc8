//! Mastodon end to end against the fake instance: connecting, publishing
//! posts and threads with per-post settings, media that the instance is
//! still processing, rate limits, refused content and revoked tokens.

use std::time::Duration;

use herald_providers::{Attachment, ErrorClass, ProviderSettings, PublishRequest, PublishedItem, Registry};
use herald_testkit::fakes::mastodon::{FakeMastodon, InstanceInfo, MASTODON_TOKEN};
use herald_testkit::{Account, TINY_PNG, db_test, id_of};
use serde_json::json;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(15);

async fn connect(account: &Account, fake: &FakeMastodon) -> Uuid {
    let body =
        json!({"platform": "mastodon", "credentials": {"instanceUrl": fake.url(), "accessToken": MASTODON_TOKEN}});
    let connected = account.session.post("/api/integrations", body).await;
    Uuid::parse_str(&id_of(connected.expect(201))).unwrap()
}

db_test!(async fn mastodon_connects_with_a_valid_token_and_refuses_a_bad_one(app) {
    let ada = app.register("ada@example.com").await;
    let fake = FakeMastodon::start().await;
    let bad = json!({"platform": "mastodon", "credentials": {"instanceUrl": fake.url(), "accessToken": "not-the-token"}});
    let refused = ada.session.post("/api/integrations", bad).await;
    let message = refused.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().to_string();
    assert!(message.contains("The access token is invalid"), "{message}");
    assert!(!message.contains("not-the-token"), "the token is never echoed");
    assert_eq!(ada.session.get("/api/integrations").await.expect(200), &json!([]), "nothing stored");

    let id = connect(&ada, &fake).await;
    let integration = ada.session.get(&format!("/api/integrations/{id}")).await;
    let integration = integration.expect(200);
    assert_eq!(integration["platform"], "mastodon");
    assert_eq!(integration["platformAccountId"], format!("109348745619200001@{}", fake.url().trim_start_matches("http://")));
    assert!(integration["avatarUrl"].as_str().unwrap().ends_with("/avatars/alice.png"));
    assert_eq!(integration["name"], "Alice Example");
    let host = fake.url().trim_start_matches("http://").to_string();
    assert_eq!(integration["platformUsername"], format!("alice@{host}"));
    let verify = fake.requests_to("/api/v1/accounts/verify_credentials");
    assert_eq!(verify.len(), 2);
    assert_eq!(verify[1].header("authorization"), Some(format!("Bearer {MASTODON_TOKEN}").as_str()));
});

db_test!(async fn mastodon_publishes_a_thread_as_a_reply_chain_with_settings(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let fake = FakeMastodon::start().await;
    let id = connect(&ada, &fake).await;
    let settings = json!({"visibility": "unlisted", "spoilerText": "launch", "sensitive": false, "language": "en"});
    let post = api
        .post("/api/posts", json!({
            "content": "Herald 1.0 is out https://example.com/a/very/long/path/to/the/release/notes",
            "platforms": [id],
            "thread": [{"content": "second"}, {"content": "third"}],
            "overrides": {id.to_string(): {"settings": settings}}
        }))
        .await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    let target = &done["targets"][0];
    let statuses = fake.statuses();
    assert_eq!(statuses.len(), 3);
    let ids: Vec<&str> = statuses.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(target["platformPostIds"], json!(ids));
    assert_eq!(target["url"], statuses[0]["url"]);
    assert_eq!(statuses[1]["in_reply_to_id"], ids[0]);
    assert_eq!(statuses[2]["in_reply_to_id"], ids[1]);

    let sent = fake.requests_to("/api/v1/statuses");
    assert_eq!(sent.len(), 3);
    assert_eq!(
        sent[0].json,
        json!({"status": "Herald 1.0 is out https://example.com/a/very/long/path/to/the/release/notes",
               "visibility": "unlisted", "spoiler_text": "launch", "sensitive": false, "language": "en"})
    );
    assert_eq!(sent[2].json["in_reply_to_id"], ids[1]);
    assert_eq!(sent[0].header("authorization"), Some(format!("Bearer {MASTODON_TOKEN}").as_str()));
    assert_eq!(sent[0].header("content-type"), Some("application/json"));
    let target_id = target["id"].as_str().unwrap();
    for (index, request) in sent.iter().enumerate() {
        assert_eq!(request.header("idempotency-key"), Some(format!("{target_id}-{index}").as_str()));
    }
});

db_test!(async fn mastodon_posts_are_held_to_the_instances_own_limit(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let fake = FakeMastodon::start().await;
    fake.set_max_characters(1000);
    let id = connect(&ada, &fake).await;
    let integration = api.get(&format!("/api/integrations/{id}")).await;
    assert_eq!(integration.expect(200)["settings"]["maxLength"], 1000);
    assert_eq!(fake.requests_to("/api/v2/instance")[0].header("authorization"), None, "a public endpoint");

    let post = api.post("/api/posts", json!({"content": "x".repeat(800), "platforms": [id]})).await;
    app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    let refused = api.post("/api/posts", json!({"content": "x".repeat(1001), "platforms": [id]})).await;
    let error = refused.expect_error(422, "VALIDATION_FAILED");
    assert!(error["details"]["errors"][0]["message"].as_str().unwrap().ends_with("the limit is 1000"), "{error}");

    // An older server tells only through /api/v1/instance; reconnecting reads
    // the limit again and keeps the other settings.
    let budget = json!({"settings": {"maxLength": 1000, "rateBudget": {"max": 50, "windowSeconds": 3600}}});
    ada.session.patch(&format!("/api/integrations/{id}"), budget).await.expect(200);
    fake.set_instance_info(InstanceInfo::LegacyV1);
    fake.set_max_characters(5000);
    let body = json!({"platform": "mastodon", "credentials": {"instanceUrl": fake.url(), "accessToken": MASTODON_TOKEN}});
    let settings = ada.session.post("/api/integrations", body).await.expect(200)["settings"].clone();
    assert_eq!(
        settings,
        json!({"maxLength": 5000, "rateBudget": {"max": 50, "windowSeconds": 3600}, "software": "mastodon 4.3.2"})
    );

    // An instance that does not say: Mastodon's default of 500 applies.
    let quiet = FakeMastodon::start().await;
    quiet.set_instance_info(InstanceInfo::Missing);
    let other = connect(&ada, &quiet).await;
    let settings = api.get(&format!("/api/integrations/{other}")).await.expect(200)["settings"].clone();
    assert_eq!(settings, json!({"software": "mastodon 4.3.2"}), "no limit told, only the software");
    let refused = api.post("/api/posts", json!({"content": "x".repeat(501), "platforms": [other]})).await;
    let error = refused.expect_error(422, "VALIDATION_FAILED");
    assert!(error["details"]["errors"][0]["message"].as_str().unwrap().ends_with("the limit is 500"), "{error}");
});

db_test!(async fn mastodon_rate_limits_are_waited_out_and_retried_with_the_same_key(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let fake = FakeMastodon::start().await;
    let id = connect(&ada, &fake).await;
    fake.rate_limit_next("/api/v1/statuses", 1);
    let post = api.post("/api/posts", json!({"content": "patience", "platforms": [id]})).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    assert_eq!(done["targets"][0]["attempts"], 2);
    let sent = fake.requests_to("/api/v1/statuses");
    assert_eq!(sent.iter().map(|r| r.status).collect::<Vec<_>>(), [429, 200]);
    assert_eq!(sent[0].header("idempotency-key"), sent[1].header("idempotency-key"));
    assert_eq!(fake.statuses().len(), 1);
});

db_test!(async fn mastodon_refused_content_fails_with_the_instances_message(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let fake = FakeMastodon::start().await;
    let id = connect(&ada, &fake).await;
    // Settings the instance would not understand are refused when the post is made.
    let bad = json!({"content": "x", "platforms": [id], "overrides": {id.to_string(): {"settings": {"visibility": "everyone"}}}});
    let refused = api.post("/api/posts", bad).await;
    let error = refused.expect_error(422, "VALIDATION_FAILED");
    assert_eq!(error["details"]["errors"][0]["field"], format!("overrides.{id}.settings.visibility"), "{error}");
    assert!(fake.requests_to("/api/v1/statuses").is_empty());

    fake.script("/api/v1/statuses", 422, json!({"error": "Validation failed: Text contains a forbidden word"}));
    let post = api.post("/api/posts", json!({"content": "forbidden", "platforms": [id]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    let target = &failed["targets"][0];
    assert_eq!(target["attempts"], 1);
    assert_eq!(target["lastError"]["class"], "INVALID");
    assert!(target["lastError"]["message"].as_str().unwrap().contains("Text contains a forbidden word"));
});

db_test!(async fn mastodon_revoked_token_needs_reconnecting(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let fake = FakeMastodon::start().await;
    let id = connect(&ada, &fake).await;
    fake.revoke_token();
    let post = api.post("/api/posts", json!({"content": "hello?", "platforms": [id]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    let error = &failed["targets"][0]["lastError"];
    assert_eq!(error["class"], "REVOKED");
    assert!(error["message"].as_str().unwrap().contains("The access token was revoked"));
    let integration = api.get(&format!("/api/integrations/{id}")).await;
    assert_eq!(integration.expect(200)["status"], "NEEDS_RECONNECT");
    assert_eq!(fake.requests_to("/api/v1/statuses").len(), 1, "no refresh attempt: Mastodon tokens cannot be refreshed");
});

fn provider() -> std::sync::Arc<dyn herald_providers::Provider> {
    let settings = ProviderSettings { allow_private_targets: true, ..ProviderSettings::default() };
    Registry::new(&settings).get("mastodon").unwrap()
}

fn request(fake: &FakeMastodon, content: &str, media: Vec<Attachment>) -> PublishRequest {
    PublishRequest {
        target_id: Uuid::now_v7(),
        post_id: Uuid::now_v7(),
        integration_id: Uuid::now_v7(),
        integration_name: "Mastodon".into(),
        credentials: json!({"instanceUrl": fake.url(), "accessToken": MASTODON_TOKEN}),
        settings: json!({"sensitive": true}),
        item_index: 0,
        item_count: 1,
        content: content.into(),
        media_urls: Vec::new(),
        media,
        tags: Vec::new(),
        scheduled_for: None,
        root: None,
        reply_to: None,
        idempotency_key: Uuid::now_v7().to_string(),
        pending: None,
        interrupted: false,
    }
}

fn png(alt: Option<&str>) -> Attachment {
    let data = b"\x89PNG\r\n\x1a\n-fake-image-bytes".to_vec();
    Attachment {
        url: "https://herald.example/m/1.png".into(),
        mime: "image/png".into(),
        alt_text: alt.map(Into::into),
        ..Attachment::loaded(data)
    }
}

#[tokio::test]
async fn mastodon_media_is_uploaded_and_awaited_while_processing() {
    let fake = FakeMastodon::start().await;
    fake.process_next_upload_slowly(1);
    let published = provider()
        .publish(&request(&fake, "with pictures", vec![png(Some("A red square")), png(None)]))
        .await
        .unwrap()
        .published()
        .unwrap();

    let uploads = fake.requests_to("/api/v2/media");
    assert_eq!(uploads.iter().map(|r| r.status).collect::<Vec<_>>(), [202, 200]);
    let parts = uploads[0].parts.clone();
    let file = parts.iter().find(|p| p.name == "file").unwrap();
    assert_eq!(file.file_name.as_deref(), Some("media-0.png"));
    assert_eq!(file.content_type.as_deref(), Some("image/png"));
    assert_eq!(file.data, b"\x89PNG\r\n\x1a\n-fake-image-bytes".to_vec());
    assert_eq!(parts.iter().find(|p| p.name == "description").unwrap().text(), "A red square");
    assert!(uploads[1].parts.iter().all(|p| p.name != "description"), "no empty alt text");

    let polls: Vec<_> = fake.requests().into_iter().filter(|r| r.path.starts_with("/api/v1/media/")).collect();
    assert_eq!(polls.iter().map(|r| r.status).collect::<Vec<_>>(), [206, 200], "polled until the url was there");

    let status = &fake.statuses()[0];
    assert_eq!(status["id"], published.id.as_str());
    assert_eq!(published.url.as_deref(), status["url"].as_str());
    assert_eq!(status["media_attachments"].as_array().unwrap().len(), 2);
    assert_eq!(status["media_attachments"][0]["description"], "A red square");
    let sent = fake.requests_to("/api/v1/statuses")[0].json.clone();
    assert_eq!(sent["media_ids"], json!([status["media_attachments"][0]["id"], status["media_attachments"][1]["id"]]));
    assert_eq!(sent["sensitive"], true);
}

#[tokio::test]
async fn mastodon_media_lookups_are_read_by_status_not_body() {
    // The documented 206 has no body at all: still processing, ask again.
    let fake = FakeMastodon::start().await;
    fake.process_next_upload_slowly_without_body(2);
    let published =
        provider().publish(&request(&fake, "video soon", vec![png(None)])).await.unwrap().published().unwrap();
    let polls: Vec<_> = fake.requests().into_iter().filter(|r| r.path.starts_with("/api/v1/media/")).collect();
    assert_eq!(polls.iter().map(|r| r.status).collect::<Vec<_>>(), [206, 206, 200]);
    assert_eq!(fake.statuses()[0]["id"], published.id.as_str());
    assert_eq!(fake.statuses()[0]["media_attachments"].as_array().unwrap().len(), 1);

    // Processing failed (422): the post fails with the instance's words, no status is made.
    let fake = FakeMastodon::start().await;
    fake.fail_next_upload_processing();
    let error = provider().publish(&request(&fake, "broken file", vec![png(None)])).await.unwrap_err();
    assert_eq!(error.class, ErrorClass::Invalid);
    assert!(error.message.contains("Error processing thumbnail for uploaded media"), "{}", error.message);
    assert!(fake.requests_to("/api/v1/statuses").is_empty());
}

#[tokio::test]
async fn mastodon_metrics_are_read_from_the_status() {
    let fake = FakeMastodon::start().await;
    let provider = provider();
    assert!(provider.has_metrics());
    let request = request(&fake, "count me", Vec::new());
    let published = provider.publish(&request).await.unwrap().published().unwrap();
    fake.set_counts(&published.id, 12, 3, 4);
    let metrics = provider.fetch_metrics(&request.credentials, &published).await.unwrap();
    assert_eq!(
        metrics.into_iter().collect::<Vec<_>>(),
        [("likes".into(), 12), ("replies".into(), 4), ("reposts".into(), 3)]
    );
    let gone = PublishedItem { id: "1".into(), url: None };
    let error = provider.fetch_metrics(&request.credentials, &gone).await.unwrap_err();
    assert_eq!(error.class, ErrorClass::Invalid);
}

db_test!(async fn mastodon_posts_carry_uploaded_media_with_alt_text(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let fake = FakeMastodon::start().await;
    let id = connect(&ada, &fake).await;
    let media = api.upload("dot.png", TINY_PNG.to_vec(), Some("A single red pixel")).await;
    let media_id = media.expect(201)["id"].clone();
    fake.process_next_upload_slowly(1);
    let post = api.post("/api/posts", json!({"content": "look", "platforms": [id], "mediaIds": [media_id]})).await;
    app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;

    let uploads = fake.requests_to("/api/v2/media");
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].status, 202);
    let parts = uploads[0].parts.clone();
    let file = parts.iter().find(|p| p.name == "file").unwrap();
    assert_eq!(file.data, TINY_PNG);
    assert_eq!(file.content_type.as_deref(), Some("image/png"));
    assert_eq!(parts.iter().find(|p| p.name == "description").unwrap().text(), "A single red pixel");
    let status = &fake.statuses()[0];
    assert_eq!(status["media_attachments"][0]["description"], "A single red pixel");
    assert_eq!(fake.requests_to("/api/v1/statuses")[0].json["media_ids"], json!([status["media_attachments"][0]["id"]]));
});

db_test!(async fn mastodon_signs_in_on_any_instance_and_publishes_with_the_same_publisher(app) {
    let ada = app.register("ada@example.com").await;
    let fake = FakeMastodon::start().await;
    let json = [("accept", "application/json")];
    // No server named: a clear refusal.
    ada.session.get_with("/api/auth/mastodon", &json).await.expect_error(422, "VALIDATION_FAILED");

    let begin = |instance: String| {
        let session = ada.session.clone();
        async move {
            let begun = session.get_with(&format!("/api/auth/mastodon?instance={instance}"), &[("accept", "application/json")]).await;
            begun.expect(200)["authorizeUrl"].as_str().unwrap().to_string()
        }
    };
    let authorize = url::Url::parse(&begin(fake.url()).await).unwrap();
    assert_eq!(authorize.path(), "/oauth/authorize");
    let query: std::collections::BTreeMap<String, String> = authorize.query_pairs().into_owned().collect();
    assert_eq!(query["scope"], "read write");
    assert_eq!(query["code_challenge_method"], "S256");
    let apps = fake.requests_to("/api/v1/apps");
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0].json["redirect_uris"], format!("{}/api/auth/mastodon/callback", app.address));

    let location = herald_testkit::fakes::consent(authorize.as_str()).await;
    let path = location.strip_prefix(&app.address).unwrap();
    let done = ada.session.get_with(path, &json).await;
    let id = Uuid::parse_str(done.expect(200)["integrationId"].as_str().unwrap()).unwrap();
    let integration = ada.session.get(&format!("/api/integrations/{id}")).await;
    assert_eq!(integration.body["platform"], "mastodon");
    assert_eq!(integration.body["name"], "Alice Example");
    // The client secret is kept encrypted, never shown.
    assert!(!ada.session.get("/api/integrations").await.text.contains("secret-1"));

    // A second connection on the same instance reuses the registered app,
    // and the same account is updated in place.
    let location = herald_testkit::fakes::consent(&begin(fake.url()).await).await;
    let again = ada.session.get_with(location.strip_prefix(&app.address).unwrap(), &json).await;
    assert_eq!(again.expect(200)["integrationId"], id.to_string());
    assert_eq!(fake.registered_apps(), 1);

    let post = ada.session.post("/api/posts", json!({"content": "signed in", "platforms": [id]})).await;
    app.wait_for_post_status(&ada.session, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    assert_eq!(fake.statuses()[0]["content"], "<p>signed in</p>");

    // Disconnecting revokes the token at the instance.
    ada.session.delete(&format!("/api/integrations/{id}")).await.expect(204);
    assert!(fake.is_revoked());
    let revoke = fake.requests_to("/oauth/revoke").remove(0);
    assert!(revoke.header("authorization").unwrap().starts_with("Basic "));
});
