//! Bluesky end to end against the fake PDS: connecting with an app
//! password, threads as reply chains, rich-text facets with UTF-8 byte
//! offsets, expired sessions, rate limits, refused records, images and
//! metrics.

use std::time::Duration;

use herald_providers::{Attachment, ErrorClass, ProviderSettings, PublishRequest, Recovery, Registry};
use herald_testkit::fakes::bluesky::{BLUESKY_APP_PASSWORD, BLUESKY_DID, FakeBluesky, is_tid};
use herald_testkit::{Account, TINY_PNG, TestOptions, db_test, id_of};
use serde_json::{Value, json};
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(15);

async fn connect(account: &Account, credentials: Value) -> Uuid {
    let connected =
        account.session.post("/api/integrations", json!({"platform": "bluesky", "credentials": credentials})).await;
    Uuid::parse_str(&id_of(connected.expect(201))).unwrap()
}

fn credentials(fake: &FakeBluesky) -> Value {
    json!({"service": fake.url(), "identifier": "@alice.test", "appPassword": BLUESKY_APP_PASSWORD})
}

/// An app whose Bluesky default service is the fake (the
/// `HERALD_PROVIDER_BLUESKY_API_BASE` override), known before it starts.
fn default_service(fake: &FakeBluesky) -> TestOptions {
    let mut options = TestOptions::default();
    options.provider_api_base.insert("bluesky".into(), fake.url());
    options
}

db_test!(async fn bluesky_connects_with_an_app_password_and_refuses_a_bad_one(app) {
    let ada = app.register("ada@example.com").await;
    let fake = FakeBluesky::start().await;
    let bad = json!({"platform": "bluesky", "credentials": {"service": fake.url(), "identifier": "alice.test", "appPassword": "wrong-pass-word-0000"}});
    let refused = ada.session.post("/api/integrations", bad).await;
    let message = refused.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().to_string();
    assert!(message.contains("Invalid identifier or password"), "{message}");
    assert!(!message.contains("wrong-pass-word-0000"));
    assert_eq!(ada.session.get("/api/integrations").await.expect(200), &json!([]), "nothing stored");

    let id = connect(&ada, credentials(&fake)).await;
    let integration = ada.session.get(&format!("/api/integrations/{id}")).await;
    let integration = integration.expect(200);
    assert_eq!(integration["platformAccountId"], BLUESKY_DID);
    assert_eq!(integration["platformUsername"], "alice.test");
    assert_eq!(integration["name"], "Alice 🌷");
    assert!(integration["avatarUrl"].as_str().unwrap().starts_with("https://cdn.bsky.app/"));
    let sessions = fake.calls("com.atproto.server.createSession");
    assert_eq!(sessions[1].json, json!({"identifier": "alice.test", "password": BLUESKY_APP_PASSWORD}));
    let profile = &fake.calls("app.bsky.actor.getProfile")[0];
    assert_eq!(profile.query_values("actor"), [BLUESKY_DID]);
    assert_eq!(profile.header("authorization"), Some("Bearer access-jwt-1"));
});

db_test!(async fn bluesky_publishes_a_thread_with_facets_through_the_default_service(
    app,
    fake = FakeBluesky::start().await,
    default_service(&fake)
) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    // No service: the operator's HERALD_PROVIDER_BLUESKY_API_BASE (the fake) is used.
    let id = connect(&ada, json!({"identifier": "alice.test", "appPassword": BLUESKY_APP_PASSWORD})).await;
    let text = "日本語 👨‍👩‍👧 e\u{301} see https://example.com/post #herald @bob.test @nobody.invalid";
    let post = api
        .post(
            "/api/posts",
            json!({
                "content": text,
                "platforms": [id],
                "thread": [{"content": "second"}, {"content": "third"}],
                "overrides": {id.to_string(): {"settings": {"langs": ["ja", "en"]}}}
            }),
        )
        .await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;

    let created = fake.calls("com.atproto.repo.createRecord");
    assert_eq!(created.len(), 3);
    let first = created[0].json.clone();
    assert_eq!(first["repo"], BLUESKY_DID);
    assert_eq!(first["collection"], "app.bsky.feed.post");
    let record = &first["record"];
    assert_eq!(record["$type"], "app.bsky.feed.post");
    assert_eq!(record["text"], text);
    assert_eq!(record["langs"], json!(["ja", "en"]));
    // 9 bytes of CJK + space, 18 of emoji + space, 3 of e + U+0301 + space, "see ".
    assert_eq!(
        record["facets"],
        json!([
            {"index": {"byteStart": 37, "byteEnd": 61}, "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/post"}]},
            {"index": {"byteStart": 62, "byteEnd": 69}, "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "herald"}]},
            {"index": {"byteStart": 70, "byteEnd": 79}, "features": [{"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:bob00000000000000000000000"}]}
        ])
    );
    assert_eq!(&text.as_bytes()[37..61], b"https://example.com/post");
    let resolved: Vec<Vec<String>> =
        fake.calls("com.atproto.identity.resolveHandle").iter().map(|r| r.query_values("handle")).collect();
    assert_eq!(
        resolved,
        [vec!["bob.test".to_string()], vec!["nobody.invalid".to_string()]],
        "unresolvable mentions stay plain text"
    );

    let posts = fake.posts();
    let refs: Vec<Value> = posts.iter().map(|p| json!({"uri": p["uri"], "cid": p["cid"]})).collect();
    assert!(posts[0]["record"].get("reply").is_none());
    assert_eq!(posts[1]["record"]["reply"], json!({"root": refs[0], "parent": refs[0]}));
    assert_eq!(posts[2]["record"]["reply"], json!({"root": refs[0], "parent": refs[1]}));

    let target = &done["targets"][0];
    let ids: Vec<String> =
        posts.iter().map(|p| format!("{}|{}", p["uri"].as_str().unwrap(), p["cid"].as_str().unwrap())).collect();
    assert_eq!(target["platformPostIds"], json!(ids));
    let rkey = posts[0]["uri"].as_str().unwrap().rsplit('/').next().unwrap();
    assert_eq!(target["url"], format!("https://bsky.app/profile/alice.test/post/{rkey}"));
});

db_test!(async fn bluesky_expired_sessions_are_refreshed_then_published(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let fake = FakeBluesky::start().await;
    let id = connect(&ada, credentials(&fake)).await;

    fake.expire_access_tokens();
    let post = api.post("/api/posts", json!({"content": "after a while", "platforms": [id]})).await;
    app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    let created = fake.calls("com.atproto.repo.createRecord");
    assert_eq!(created.iter().map(|r| r.status).collect::<Vec<_>>(), [400, 200]);
    let refreshes = fake.calls("com.atproto.server.refreshSession");
    assert_eq!(refreshes.len(), 1);
    assert_eq!(refreshes[0].header("authorization"), Some("Bearer refresh-jwt-1"));
    assert_eq!(created[1].header("authorization"), Some("Bearer access-jwt-2"));

    // The rotated session was stored: the next post uses it at once.
    let post = api.post("/api/posts", json!({"content": "fresh session", "platforms": [id]})).await;
    app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    assert_eq!(fake.calls("com.atproto.repo.createRecord")[2].header("authorization"), Some("Bearer access-jwt-2"));

    // Both tokens expired: Herald signs in again with the app password.
    fake.expire_access_tokens();
    fake.expire_refresh_tokens();
    let post = api.post("/api/posts", json!({"content": "months later", "platforms": [id]})).await;
    app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    assert_eq!(fake.calls("com.atproto.server.refreshSession").last().unwrap().status, 400);
    assert_eq!(fake.calls("com.atproto.server.createSession").len(), 2);
    assert_eq!(fake.posts().len(), 3);
});

db_test!(async fn bluesky_a_token_the_pds_cannot_verify_is_renewed_then_published(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let fake = FakeBluesky::start().await;
    let id = connect(&ada, credentials(&fake)).await;
    fake.forget_access_tokens();
    let post = api.post("/api/posts", json!({"content": "after a PDS move", "platforms": [id]})).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    assert_eq!(done["targets"][0]["attempts"], 1, "renewed within the same attempt");
    let created = fake.calls("com.atproto.repo.createRecord");
    assert_eq!(created.iter().map(|r| r.status).collect::<Vec<_>>(), [400, 200]);
    assert_eq!(fake.calls("com.atproto.server.refreshSession").len(), 1);
    assert_eq!(fake.posts().len(), 1);
});

db_test!(async fn bluesky_texts_over_3000_bytes_are_refused_before_publishing(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let fake = FakeBluesky::start().await;
    let id = connect(&ada, credentials(&fake)).await;
    // 200 family emoji: 200 graphemes, but 3,600 bytes of UTF-8.
    let text = "👨‍👩‍👧".repeat(200);
    let refused = api.post("/api/posts", json!({"content": text, "platforms": [id]})).await;
    let error = refused.expect_error(422, "VALIDATION_FAILED");
    let message = error["details"]["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("3600 bytes") && message.contains("3000"), "{message}");
    assert!(fake.calls("com.atproto.repo.createRecord").is_empty());
    let fits = api.post("/api/posts", json!({"content": "👨‍👩‍👧".repeat(166), "platforms": [id]})).await;
    app.wait_for_post_status(&api, &id_of(fits.expect(201)), "PUBLISHED", WAIT).await;
});

db_test!(async fn bluesky_revoked_app_password_needs_reconnecting(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let fake = FakeBluesky::start().await;
    let id = connect(&ada, credentials(&fake)).await;
    fake.expire_access_tokens();
    fake.expire_refresh_tokens();
    fake.script("com.atproto.server.createSession", 401, json!({"error": "AuthenticationRequired", "message": "Invalid identifier or password"}));
    let post = api.post("/api/posts", json!({"content": "hello?", "platforms": [id]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    let error = &failed["targets"][0]["lastError"];
    assert_eq!(error["class"], "REVOKED");
    assert!(error["message"].as_str().unwrap().contains("Invalid identifier or password"));
    assert_eq!(api.get(&format!("/api/integrations/{id}")).await.expect(200)["status"], "NEEDS_RECONNECT");
});

db_test!(async fn bluesky_a_busy_token_endpoint_is_retried_not_a_reconnect(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let fake = FakeBluesky::start().await;
    let id = connect(&ada, credentials(&fake)).await;

    fake.expire_access_tokens();
    fake.rate_limit_next("com.atproto.server.refreshSession", 1);
    let post = api.post("/api/posts", json!({"content": "refresh rate-limited", "platforms": [id]})).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    assert_eq!(done["targets"][0]["attempts"], 2);
    let refreshes = fake.calls("com.atproto.server.refreshSession");
    assert_eq!(refreshes.iter().map(|r| r.status).collect::<Vec<_>>(), [429, 200]);
    assert_eq!(api.get(&format!("/api/integrations/{id}")).await.expect(200)["status"], "ACTIVE");

    fake.expire_access_tokens();
    fake.script("com.atproto.server.refreshSession", 503, json!({"error": "InternalServerError", "message": "Internal Server Error"}));
    let post = api.post("/api/posts", json!({"content": "refresh down", "platforms": [id]})).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    assert_eq!(done["targets"][0]["attempts"], 2);
    assert_eq!(fake.calls("com.atproto.server.refreshSession").last().unwrap().status, 200);
    assert_eq!(api.get(&format!("/api/integrations/{id}")).await.expect(200)["status"], "ACTIVE");
    assert_eq!(fake.posts().len(), 2);
});

db_test!(async fn bluesky_rate_limits_are_retried_and_refused_records_fail(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let fake = FakeBluesky::start().await;
    let id = connect(&ada, credentials(&fake)).await;
    fake.rate_limit_next("com.atproto.repo.createRecord", 1);
    let post = api.post("/api/posts", json!({"content": "limited", "platforms": [id]})).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    assert_eq!(done["targets"][0]["attempts"], 2);
    let created = fake.calls("com.atproto.repo.createRecord");
    assert_eq!(created.iter().map(|r| r.status).collect::<Vec<_>>(), [429, 200]);

    fake.script("com.atproto.repo.createRecord", 400, json!({"error": "InvalidRequest", "message": "Invalid app.bsky.feed.post record: Record/text must not be longer than 300 graphemes"}));
    let post = api.post("/api/posts", json!({"content": "refused", "platforms": [id]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    let target = &failed["targets"][0];
    assert_eq!(target["attempts"], 1);
    assert_eq!(target["lastError"]["class"], "INVALID");
    assert!(target["lastError"]["message"].as_str().unwrap().contains("must not be longer than 300 graphemes"));
});

fn provider(fake: &FakeBluesky) -> std::sync::Arc<dyn herald_providers::Provider> {
    let mut settings = ProviderSettings { allow_private_targets: true, ..ProviderSettings::default() };
    settings.api_base.insert("bluesky".into(), fake.url());
    Registry::new(&settings).get("bluesky").unwrap()
}

fn request(credentials: Value, content: &str, media: Vec<Attachment>) -> PublishRequest {
    PublishRequest {
        target_id: Uuid::now_v7(),
        post_id: Uuid::now_v7(),
        integration_id: Uuid::now_v7(),
        integration_name: "Bluesky".into(),
        credentials,
        settings: json!({}),
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

fn image(bytes: usize, mime: &str, alt: Option<&str>) -> Attachment {
    Attachment {
        url: "https://herald.example/m/1".into(),
        mime: mime.into(),
        alt_text: alt.map(Into::into),
        ..Attachment::loaded(vec![7u8; bytes])
    }
}

#[tokio::test]
async fn bluesky_images_are_uploaded_as_blobs_and_embedded_with_alt_text() {
    let fake = FakeBluesky::start().await;
    let provider = provider(&fake);
    let connected =
        provider.connect(&json!({"identifier": "alice.test", "appPassword": BLUESKY_APP_PASSWORD})).await.unwrap();
    let media = vec![image(1_000_000, "image/jpeg", Some("A sunset")), image(10, "image/png", None)];
    let published = provider
        .publish(&request(connected.credentials.clone(), "two pictures", media))
        .await
        .unwrap()
        .published()
        .unwrap();

    let uploads = fake.calls("com.atproto.repo.uploadBlob");
    assert_eq!(uploads.len(), 2);
    assert_eq!(uploads[0].header("content-type"), Some("image/jpeg"));
    assert_eq!(uploads[0].body.len(), 1_000_000);
    assert_eq!(uploads[1].header("content-type"), Some("image/png"));
    assert_eq!(uploads[1].header("authorization"), Some("Bearer access-jwt-1"));
    let record = &fake.calls("com.atproto.repo.createRecord")[0].json["record"];
    assert_eq!(record["embed"]["$type"], "app.bsky.embed.images");
    let images = record["embed"]["images"].as_array().unwrap();
    assert_eq!(images[0]["alt"], "A sunset");
    assert_eq!(images[1]["alt"], "");
    assert!(images[0].get("aspectRatio").is_none(), "no size in bytes that are not an image");
    assert_eq!(
        images[0]["image"],
        json!({"$type": "blob", "ref": {"$link": "bafkreiblob00000002"}, "mimeType": "image/jpeg", "size": 1_000_000})
    );
    assert!(published.id.starts_with("at://did:plc:alice"));

    // Too large, or not an image: refused before anything is uploaded.
    let large = provider
        .publish(&request(connected.credentials.clone(), "big", vec![image(1_000_001, "image/png", None)]))
        .await;
    assert_eq!(large.unwrap_err().class, ErrorClass::Invalid);
    let video =
        provider.publish(&request(connected.credentials.clone(), "video", vec![image(10, "video/mp4", None)])).await;
    assert_eq!(video.unwrap_err().class, ErrorClass::Invalid);
    assert_eq!(fake.calls("com.atproto.repo.uploadBlob").len(), 2);
}

#[tokio::test]
async fn bluesky_an_item_sent_again_with_the_same_key_makes_one_record() {
    let fake = FakeBluesky::start().await;
    let provider = provider(&fake);
    assert_eq!(provider.recovery(), Recovery::ResendWithSameKey);
    let connected =
        provider.connect(&json!({"identifier": "alice.test", "appPassword": BLUESKY_APP_PASSWORD})).await.unwrap();
    let first_item = request(connected.credentials.clone(), "exactly once", Vec::new());
    let first = provider.publish(&first_item).await.unwrap().published().unwrap();
    // The worker died before saving the outcome: the engine sends the item again.
    let again = provider.publish(&first_item).await.unwrap().published().unwrap();
    assert_eq!(again, first, "the record made the first time is reused");
    assert_eq!(fake.posts().len(), 1);
    let created = fake.calls("com.atproto.repo.createRecord");
    assert_eq!(created.iter().map(|r| r.status).collect::<Vec<_>>(), [200, 500]);
    let rkey = created[0].json["rkey"].as_str().unwrap().to_string();
    assert!(is_tid(&rkey), "{rkey}");
    assert_eq!(created[1].json["rkey"], rkey.as_str());
    assert!(first.id.starts_with(&format!("at://{BLUESKY_DID}/app.bsky.feed.post/{rkey}|")));
    let lookups = fake.calls("com.atproto.repo.getRecord");
    assert_eq!(lookups.len(), 1);
    assert_eq!(lookups[0].query_values("rkey"), [rkey.as_str()]);
    assert_eq!(lookups[0].query_values("repo"), [BLUESKY_DID]);

    // The next item of the thread has a key of its own.
    let mut reply = first_item.clone();
    reply.item_index = 1;
    reply.content = "second".into();
    reply.root = Some(first.clone());
    reply.reply_to = Some(first.clone());
    let second = provider.publish(&reply).await.unwrap().published().unwrap();
    assert_ne!(second, first);
    assert_eq!(fake.posts().len(), 2);

    // The answer was lost although the record was made: found at once, not made twice.
    fake.lose_next_create_answer();
    let lost = request(connected.credentials.clone(), "answer lost", Vec::new());
    let found = provider.publish(&lost).await.unwrap().published().unwrap();
    assert_eq!(fake.posts().len(), 3);
    assert_eq!(fake.posts()[2]["uri"], found.id.split('|').next().unwrap());
    assert_eq!(fake.calls("com.atproto.repo.createRecord").last().unwrap().status, 502);

    // Another post under the same key (a clash): refused, never taken for this one.
    let mut clash = first_item.clone();
    clash.content = "something else".into();
    let refused = provider.publish(&clash).await.unwrap_err();
    assert_eq!(refused.class, ErrorClass::Invalid);
    assert!(refused.message.contains(&rkey), "{}", refused.message);

    // Nothing there: the original error stands.
    fake.script(
        "com.atproto.repo.createRecord",
        502,
        json!({"error": "UpstreamFailure", "message": "Upstream Failure"}),
    );
    let failed = provider.publish(&request(connected.credentials.clone(), "down", Vec::new())).await.unwrap_err();
    assert_eq!(failed.class, ErrorClass::Retryable { after: None });
    assert!(failed.message.contains("UpstreamFailure"), "{}", failed.message);
    assert_eq!(fake.posts().len(), 3);
}

#[tokio::test]
async fn bluesky_metrics_come_from_get_posts() {
    let fake = FakeBluesky::start().await;
    let provider = provider(&fake);
    assert!(provider.has_metrics());
    let connected =
        provider.connect(&json!({"identifier": "alice.test", "appPassword": BLUESKY_APP_PASSWORD})).await.unwrap();
    let published = provider
        .publish(&request(connected.credentials.clone(), "count me", Vec::new()))
        .await
        .unwrap()
        .published()
        .unwrap();
    let uri = published.id.split('|').next().unwrap();
    fake.set_counts(uri, 10, 2, 3, 1);
    let metrics = provider.fetch_metrics(&connected.credentials, &published).await.unwrap();
    assert_eq!(
        metrics.into_iter().collect::<Vec<_>>(),
        [("likes".into(), 10), ("quotes".into(), 1), ("replies".into(), 3), ("reposts".into(), 2)]
    );
    assert_eq!(fake.calls("app.bsky.feed.getPosts")[0].query_values("uris"), [uri]);

    // An expired session says so, for the caller to refresh.
    fake.expire_access_tokens();
    let expired = provider.fetch_metrics(&connected.credentials, &published).await.unwrap_err();
    assert_eq!(expired.class, ErrorClass::AuthExpired);
    let fresh = provider.refresh(&connected.credentials).await.unwrap().credentials;
    assert_ne!(fresh["accessJwt"], connected.credentials["accessJwt"]);
    assert_eq!(fresh["appPassword"], BLUESKY_APP_PASSWORD);
    assert!(provider.fetch_metrics(&fresh, &published).await.is_ok());
}

db_test!(async fn bluesky_posts_carry_uploaded_images_as_blobs(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let fake = FakeBluesky::start().await;
    let id = connect(&ada, credentials(&fake)).await;
    let media = api.upload("dot.png", TINY_PNG.to_vec(), Some("A single red pixel")).await;
    let media_id = media.expect(201)["id"].clone();
    let post = api.post("/api/posts", json!({"content": "look", "platforms": [id], "mediaIds": [media_id]})).await;
    app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;

    let uploads = fake.calls("com.atproto.repo.uploadBlob");
    assert_eq!(uploads.len(), 1);
    assert_eq!(uploads[0].body.as_ref(), TINY_PNG);
    assert_eq!(uploads[0].header("content-type"), Some("image/png"));
    let embed = &fake.posts()[0]["record"]["embed"];
    assert_eq!(embed["$type"], "app.bsky.embed.images");
    assert_eq!(embed["images"][0]["alt"], "A single red pixel");
    assert_eq!(embed["images"][0]["image"]["size"], TINY_PNG.len());
    assert_eq!(embed["images"][0]["aspectRatio"], json!({"width": 1, "height": 1}), "read from the PNG header");
});
