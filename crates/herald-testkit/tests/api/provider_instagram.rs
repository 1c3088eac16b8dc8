//! `instagram` (Facebook Login, an account per Page, chosen after signing
//! in) and `instagram-standalone` (Instagram Login) against a fake
//! Instagram: containers published once, reels waiting while Instagram
//! processes them, thread items as comments, the 24-hour publishing limit
//! as the account's rate budget and checked before each post, and JPEG
//! only.

use std::time::Duration;

use herald_testkit::fakes::instagram::{
    FACEBOOK_APP_ID, FACEBOOK_APP_SECRET, INSTAGRAM_APP_ID, INSTAGRAM_APP_SECRET, InstagramFake, PAGE_ACCOUNTS,
    STANDALONE_ID, STANDALONE_USERNAME,
};
use herald_testkit::{Account, TINY_MP4, TINY_PNG, TestApp, TestOptions, db_test, id_of};
use serde_json::{Value, json};

const JSON: &[(&str, &str)] = &[("accept", "application/json")];
/// The smallest JPEG the sniffer takes.
const TINY_JPEG: &[u8] =
    &[0xff, 0xd8, 0xff, 0xe0, 0, 16, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0, 0xff, 0xd9];

fn instagram_options(fake: &InstagramFake) -> TestOptions {
    let mut options = TestOptions::driven();
    options.provider_api_base.insert("instagram".into(), fake.base_url());
    options.provider_api_base.insert("instagram-standalone".into(), fake.base_url());
    options.app_credentials = vec![
        ("FACEBOOK_APP_ID".into(), FACEBOOK_APP_ID.into()),
        ("FACEBOOK_APP_SECRET".into(), FACEBOOK_APP_SECRET.into()),
        ("INSTAGRAM_APP_ID".into(), INSTAGRAM_APP_ID.into()),
        ("INSTAGRAM_APP_SECRET".into(), INSTAGRAM_APP_SECRET.into()),
    ];
    options
}

async fn sign_in(app: &TestApp, account: &Account, platform: &str) -> Value {
    let begun = account.session.get_with(&format!("/api/auth/{platform}"), JSON).await;
    let authorize = begun.expect(200)["authorizeUrl"].as_str().unwrap().to_string();
    let location = herald_testkit::fakes::consent(&authorize).await;
    let done = account.session.get_with(location.strip_prefix(&app.address).unwrap(), JSON).await;
    done.expect(200).clone()
}

async fn target_of(account: &Account, post_id: &str) -> Value {
    let post = account.session.get(&format!("/api/posts/{post_id}")).await;
    post.expect(200)["targets"][0].clone()
}

db_test!(async fn pages_offer_their_instagram_accounts_and_a_post_is_published_once_with_comments(app, fake = InstagramFake::start().await, instagram_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let answer = sign_in(&app, &ada, "instagram").await;
    let pending = answer["pendingId"].as_str().unwrap().to_string();
    let offered = ada.session.get(&format!("/api/integrations/pending/{pending}")).await;
    let offered = offered.expect(200);
    let usernames: Vec<&str> = offered["accounts"].as_array().unwrap().iter().map(|a| a["username"].as_str().unwrap()).collect();
    assert_eq!(usernames, [PAGE_ACCOUNTS[0].2, PAGE_ACCOUNTS[1].2], "the Page without Instagram is not offered");
    assert!(!offered.to_string().contains("EAAG"), "tokens never leave");
    let chosen = ada.session.post(&format!("/api/integrations/pending/{pending}"), json!({"accountIds": [PAGE_ACCOUNTS[1].1]})).await;
    let id = chosen.expect(201)[0]["id"].as_str().unwrap().to_string();
    let integration = ada.session.get(&format!("/api/integrations/{id}")).await;
    let integration = integration.expect(200);
    // The account's own publishing limit is its rate budget.
    assert_eq!(integration["settings"]["rateBudget"], json!({"max": 100, "windowSeconds": 86400}), "{integration}");

    let jpeg = id_of(ada.session.upload("dish.jpg", TINY_JPEG.to_vec(), Some("A bowl of soup")).await.expect(201));
    let post = ada.session.post("/api/posts", json!({
        "content": "Pumpkin soup #autumn", "platforms": [id], "mediaIds": [jpeg],
        "thread": [{"content": "Recipe in the comments"}]
    })).await;
    let post_id = id_of(post.expect(201));
    app.worker().run_once().await.unwrap();
    let target = target_of(&ada, &post_id).await;
    assert_eq!(target["status"], "PUBLISHED", "{target}");
    let media = fake.media();
    assert_eq!(media.len(), 1);
    assert_eq!(media[0]["owner"], PAGE_ACCOUNTS[1].1);
    assert_eq!(media[0]["caption"], "Pumpkin soup #autumn");
    assert!(target["url"].as_str().unwrap().starts_with("https://www.instagram.com/p/"));
    let container = fake.containers().into_values().next().unwrap();
    assert!(container["image_url"].contains("/uploads/"), "{container:?}");
    assert_eq!(container["alt_text"], "A bowl of soup");
    let comments = fake.comments();
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0]["text"], "Recipe in the comments");
    assert_eq!(target["platformPostIds"], json!([media[0]["id"], comments[0]["id"]]));
    // Graph calls carry the pinned version, and the token as a parameter.
    let limit = fake.requests_to(&format!("/v24.0/{}/content_publishing_limit", PAGE_ACCOUNTS[1].1));
    assert!(!limit.is_empty() && limit[0].query.contains_key("access_token"));

    assert_eq!(app.engine.refresh_metrics_once().await.unwrap(), 1);
    let analytics = ada.session.get(&format!("/api/analytics/{post_id}")).await;
    assert!(analytics.text.contains("\"saved\":12"), "{}", analytics.text);

    // PNG is not an image Instagram takes: refused when the post is saved.
    let png = id_of(ada.session.upload("a.png", TINY_PNG.to_vec(), None).await.expect(201));
    let refused = ada.session.post("/api/posts", json!({"content": "x", "platforms": [id], "mediaIds": [png]})).await;
    refused.expect_error(422, "VALIDATION_FAILED");
    // Nor a post without media.
    ada.session.post("/api/posts", json!({"content": "words", "platforms": [id]})).await.expect_error(422, "VALIDATION_FAILED");
});

db_test!(async fn instagram_login_publishes_a_reel_after_processing_and_waits_out_the_daily_limit(app, fake = InstagramFake::start().await, instagram_options(&fake)) {
    fake.video_polls(2);
    let ada = app.register("ada@example.com").await;
    let answer = sign_in(&app, &ada, "instagram-standalone").await;
    let id = answer["integrationId"].as_str().unwrap().to_string();
    let integration = ada.session.get(&format!("/api/integrations/{id}")).await;
    let integration = integration.expect(200);
    assert_eq!(integration["platformUsername"], STANDALONE_USERNAME);
    assert!(integration["accessEndsAt"].is_null(), "the token renews itself: {integration}");
    assert_eq!(fake.requests_to("/access_token")[0].query["grant_type"], "ig_exchange_token");

    let clip = id_of(ada.session.upload("clip.mp4", TINY_MP4.to_vec(), None).await.expect(201));
    let post = ada.session.post("/api/posts", json!({"content": "A reel", "platforms": [id], "mediaIds": [clip]})).await;
    let post_id = id_of(post.expect(201));
    app.worker().run_once().await.unwrap();
    let target = target_of(&ada, &post_id).await;
    assert_eq!(target["status"], "QUEUED");
    assert_eq!(target["processing"]["stage"], "processing the video");
    for _ in 0..5 {
        app.clock().advance(Duration::from_secs(60));
        app.worker().run_once().await.unwrap();
    }
    let target = target_of(&ada, &post_id).await;
    assert_eq!(target["status"], "PUBLISHED", "{target}");
    assert_eq!(fake.media().len(), 1);
    assert_eq!(fake.media()[0]["media_type"], "REELS");
    assert_eq!(fake.containers().len(), 1);

    // The daily limit is used up: the post waits instead of failing.
    fake.quota_used(STANDALONE_ID, 100);
    let post = ada.session.post("/api/posts", json!({"content": "Later", "platforms": [id], "mediaIds": [clip]})).await;
    let later = id_of(post.expect(201));
    app.worker().run_once().await.unwrap();
    let target = target_of(&ada, &later).await;
    assert_eq!(target["status"], "QUEUED", "{target}");
    assert!(target["lastError"]["message"].as_str().unwrap().contains("100 posts of the last 24 hours"), "{target}");
    assert_eq!(fake.containers().len(), 1, "no container while the limit is used up");

    // The 60-day token is renewed with ig_refresh_token.
    app.clock().advance(Duration::from_secs(54 * 86400));
    assert_eq!(app.engine.renew_tokens_once().await.unwrap(), 1);
    assert_eq!(fake.requests_to("/refresh_access_token")[0].query["grant_type"], "ig_refresh_token");
});

db_test!(async fn a_video_instagram_cannot_process_fails_with_its_reason(app, fake = InstagramFake::start().await, instagram_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let answer = sign_in(&app, &ada, "instagram-standalone").await;
    let id = answer["integrationId"].as_str().unwrap().to_string();
    fake.fail_next_container("The video file is too short");
    let clip = id_of(ada.session.upload("clip.mp4", TINY_MP4.to_vec(), None).await.expect(201));
    let post = ada.session.post("/api/posts", json!({"content": "Too short", "platforms": [id], "mediaIds": [clip]})).await;
    let post_id = id_of(post.expect(201));
    for _ in 0..6 {
        app.worker().run_once().await.unwrap();
        app.clock().advance(Duration::from_secs(60));
    }
    let target = target_of(&ada, &post_id).await;
    assert_eq!(target["status"], "FAILED", "{target}");
    assert!(target["lastError"]["message"].as_str().unwrap().contains("too short"), "{target}");
    assert!(fake.media().is_empty());
});
