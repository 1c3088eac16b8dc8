//! `tiktok` against a fake TikTok: sign-in with `client_key`, the creator's
//! options honoured (privacy offered, stitch disabled by the account),
//! chunked FILE_UPLOAD and PULL_FROM_URL, `status/fetch` polled until the
//! post is complete, unaudited apps limited to private posts, and a 24-hour
//! token renewed with its rotating refresh token, spent once.

use std::time::Duration;

use herald_testkit::fakes::tiktok::{CLIENT_KEY, CLIENT_SECRET, TikTokFake};
use herald_testkit::{Account, TINY_MP4, TestApp, TestOptions, db_test, id_of};
use serde_json::{Value, json};

const JSON: &[(&str, &str)] = &[("accept", "application/json")];

fn tiktok_options(fake: &TikTokFake) -> TestOptions {
    let mut options = TestOptions::driven();
    options.provider_api_base.insert("tiktok".into(), fake.base_url());
    options.app_credentials =
        vec![("TIKTOK_CLIENT_ID".into(), CLIENT_KEY.into()), ("TIKTOK_CLIENT_SECRET".into(), CLIENT_SECRET.into())];
    options
}

async fn connect(app: &TestApp, account: &Account) -> String {
    let begun = account.session.get_with("/api/auth/tiktok", JSON).await;
    let authorize = begun.expect(200)["authorizeUrl"].as_str().unwrap().to_string();
    assert!(authorize.contains(&format!("client_key={CLIENT_KEY}")), "{authorize}");
    let location = herald_testkit::fakes::consent(&authorize).await;
    let done = account.session.get_with(location.strip_prefix(&app.address).unwrap(), JSON).await;
    done.expect(200)["integrationId"].as_str().unwrap().to_string()
}

async fn until_done(app: &TestApp, account: &Account, post_id: &str) -> Value {
    for _ in 0..30 {
        let post = account.session.get(&format!("/api/posts/{post_id}")).await;
        let target = post.expect(200)["targets"][0].clone();
        if target["status"] != "QUEUED" {
            return target;
        }
        app.worker().run_once().await.unwrap();
        app.clock().advance(Duration::from_secs(60));
    }
    panic!("not done");
}

db_test!(async fn a_video_is_uploaded_in_chunks_and_followed_until_published(app, fake = TikTokFake::start().await, tiktok_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada).await;
    let integration = ada.session.get(&format!("/api/integrations/{id}")).await;
    let integration = integration.expect(200);
    assert_eq!(integration["platformUsername"], "adamakes");

    let mut video = TINY_MP4.to_vec();
    video.extend((0..(23 * 1024 * 1024)).map(|i| (i % 227) as u8));
    let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(video.clone()).file_name("clip.mp4"));
    let media_id = id_of(ada.session.post_multipart("/api/media", form).await.expect(201));
    let post = ada.session.post("/api/posts", json!({"content": "How I fold dumplings #cooking", "platforms": [id], "mediaIds": [media_id]})).await;
    let post_id = id_of(post.expect(201));
    let target = until_done(&app, &ada, &post_id).await;
    assert_eq!(target["status"], "PUBLISHED", "{target}");
    assert_eq!(fake.publishes(), 1);
    let posts = fake.posts();
    let (info, bytes) = &posts[0];
    assert_eq!(bytes, &video, "two chunks, the last with the rest");
    assert_eq!(info["title"], "How I fold dumplings #cooking");
    assert_eq!(info["privacy_level"], "PUBLIC_TO_EVERYONE");
    assert_eq!(info["disable_stitch"], true, "the account has stitches off");
    assert_eq!(target["url"], "https://www.tiktok.com/video/7400000000000000001");
    let init = &fake.requests_to("/v2/post/publish/video/init/")[0].json;
    assert_eq!(init["source_info"]["total_chunk_count"], 2);
});

db_test!(async fn unaudited_apps_post_privately_and_pulls_come_from_the_url(app, fake = TikTokFake::start().await, tiktok_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada).await;
    fake.unaudited();
    let clip = id_of(ada.session.upload("clip.mp4", TINY_MP4.to_vec(), None).await.expect(201));
    let public = json!({id.clone(): {"settings": {"privacy": "PUBLIC_TO_EVERYONE"}}});
    let post = ada.session.post("/api/posts", json!({"content": "Public?", "platforms": [id], "mediaIds": [clip], "overrides": public})).await;
    let refused = id_of(post.expect(201));
    let target = until_done(&app, &ada, &refused).await;
    assert_eq!(target["status"], "FAILED");
    assert!(target["lastError"]["message"].as_str().unwrap().contains("SELF_ONLY"), "{target}");

    let pull = json!({id.clone(): {"settings": {"source": "url"}}});
    let post = ada.session.post("/api/posts", json!({"content": "Private by default", "platforms": [id], "mediaIds": [clip], "overrides": pull})).await;
    let post_id = id_of(post.expect(201));
    let target = until_done(&app, &ada, &post_id).await;
    assert_eq!(target["status"], "PUBLISHED", "{target}");
    let init = &fake.requests_to("/v2/post/publish/video/init/").last().unwrap().json.clone();
    assert_eq!(init["source_info"]["source"], "PULL_FROM_URL");
    assert!(init["source_info"]["video_url"].as_str().unwrap().contains("/uploads/"));
    assert_eq!(init["post_info"]["privacy_level"], "SELF_ONLY");
});

db_test!(async fn the_rotating_refresh_token_is_spent_once(app, fake = TikTokFake::start().await, tiktok_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada).await;
    // A 24-hour token is renewed with a quarter of its life left, then again.
    for _ in 0..3 {
        app.clock().advance(Duration::from_secs(20 * 3600));
        assert_eq!(app.engine.renew_tokens_once().await.unwrap(), 1);
    }
    assert_eq!(fake.spent_refresh_tokens_used(), 0, "never a spent refresh token");
    fake.expire_access_tokens();
    let clip = id_of(ada.session.upload("clip.mp4", TINY_MP4.to_vec(), None).await.expect(201));
    let post = ada.session.post("/api/posts", json!({"content": "After renewals", "platforms": [id], "mediaIds": [clip]})).await;
    let post_id = id_of(post.expect(201));
    let target = until_done(&app, &ada, &post_id).await;
    assert_eq!(target["status"], "PUBLISHED", "{target}");
    assert_eq!(fake.spent_refresh_tokens_used(), 0);
});

db_test!(async fn the_accounts_page_says_unaudited_apps_post_privately(app, fake = TikTokFake::start().await, tiktok_options(&fake)) {
    let mut browser = crate::browser::Browser::new(&app);
    browser.register("ada@example.com").await;
    let page = browser.get("/integrations").await;
    assert!(page.html.contains("TikTok lets it post only privately"), "the notice is shown");
});

db_test!(async fn pulling_by_url_needs_a_public_main_url(app, fake = TikTokFake::start().await, {
    let mut options = tiktok_options(&fake);
    options.allow_private_targets = false;
    options
}) {
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada).await;
    let clip = id_of(ada.session.upload("clip.mp4", TINY_MP4.to_vec(), None).await.expect(201));
    let pull = json!({id.clone(): {"settings": {"source": "url"}}});
    let refused = ada.session.post("/api/posts", json!({"content": "Pull", "platforms": [id], "mediaIds": [clip], "overrides": pull})).await;
    let body = refused.expect_error(422, "VALIDATION_FAILED");
    assert!(body.to_string().contains("MAIN_URL"), "{body}");
    // Sent by Herald, the video needs no public address.
    ada.session.post("/api/posts", json!({"content": "Upload", "platforms": [id], "mediaIds": [clip], "status": "DRAFT"})).await.expect(201);
});
