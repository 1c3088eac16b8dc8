//! `youtube` against a fake YouTube: Google sign-in with offline access and
//! PKCE, the channel chosen, a video sent by resumable upload in chunks that
//! survives a failed chunk (continued at the byte YouTube reports), the
//! metadata settings, quota exhaustion waited out, and statistics.

use std::time::Duration;

use herald_testkit::fakes::youtube::{CLIENT_ID, CLIENT_SECRET, YouTubeFake};
use herald_testkit::{Account, TINY_MP4, TINY_PNG, TestApp, TestOptions, db_test, id_of};
use serde_json::{Value, json};

const JSON: &[(&str, &str)] = &[("accept", "application/json")];

fn youtube_options(fake: &YouTubeFake) -> TestOptions {
    let mut options = TestOptions::driven();
    options.provider_api_base.insert("youtube".into(), fake.base_url());
    options.app_credentials =
        vec![("YOUTUBE_CLIENT_ID".into(), CLIENT_ID.into()), ("YOUTUBE_CLIENT_SECRET".into(), CLIENT_SECRET.into())];
    options
}

async fn connect(app: &TestApp, account: &Account) -> String {
    let begun = account.session.get_with("/api/auth/youtube", JSON).await;
    let authorize = begun.expect(200)["authorizeUrl"].as_str().unwrap().to_string();
    assert!(authorize.contains("access_type=offline"), "{authorize}");
    let location = herald_testkit::fakes::consent(&authorize).await;
    let done = account.session.get_with(location.strip_prefix(&app.address).unwrap(), JSON).await;
    done.expect(200)["integrationId"].as_str().unwrap().to_string()
}

async fn target_of(account: &Account, post_id: &str) -> Value {
    let post = account.session.get(&format!("/api/posts/{post_id}")).await;
    post.expect(200)["targets"][0].clone()
}

async fn until_done(app: &TestApp, account: &Account, post_id: &str) -> Value {
    for _ in 0..30 {
        let target = target_of(account, post_id).await;
        if target["status"] != "QUEUED" && target["status"] != "PUBLISHING" {
            return target;
        }
        app.worker().run_once().await.unwrap();
        app.clock().advance(Duration::from_secs(120));
    }
    target_of(account, post_id).await
}

db_test!(async fn a_video_goes_up_in_chunks_and_survives_a_failed_chunk(app, fake = YouTubeFake::start().await, youtube_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada).await;
    let integration = ada.session.get(&format!("/api/integrations/{id}")).await;
    let integration = integration.expect(200);
    assert_eq!(integration["name"], "Ada Cooks");
    assert_eq!(integration["platformUsername"], "@adacooks");

    // 8 MiB chunks: this one takes three.
    let mut video = TINY_MP4.to_vec();
    video.extend((0..(17 * 1024 * 1024)).map(|i| (i % 233) as u8));
    let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(video.clone()).file_name("clip.mp4"));
    let media_id = id_of(ada.session.post_multipart("/api/media", form).await.expect(201));
    fake.fail_chunks(1);
    let post = ada.session.post("/api/posts", json!({
        "content": "Autumn soup\n\nThe whole recipe, step by step.", "platforms": [id], "mediaIds": [media_id],
        "overrides": {id.clone(): {"settings": {"privacy": "unlisted", "tags": ["soup", "autumn"], "categoryId": "26", "madeForKids": false}}}
    })).await;
    let post_id = id_of(post.expect(201));
    let target = until_done(&app, &ada, &post_id).await;
    assert_eq!(target["status"], "PUBLISHED", "{target}");
    assert_eq!(fake.sessions(), 1, "one upload, whatever failed");
    let videos = fake.videos();
    let (video_id, metadata, bytes) = &videos[0];
    assert_eq!(bytes, &video, "every byte once, in order");
    assert_eq!(metadata["snippet"]["title"], "Autumn soup");
    assert_eq!(metadata["snippet"]["tags"], json!(["soup", "autumn"]));
    assert_eq!(metadata["snippet"]["categoryId"], "26");
    assert_eq!(metadata["status"]["privacyStatus"], "unlisted");
    assert_eq!(metadata["status"]["selfDeclaredMadeForKids"], false);
    assert_eq!(target["url"], format!("https://www.youtube.com/watch?v={video_id}"));
    let puts = fake.requests_to("/upload/youtube/v3/videos");
    assert!(puts.iter().any(|r| r.status == 503), "a chunk did fail");
    assert!(puts.iter().all(|r| r.method != "PUT" || r.body.len() as u64 <= 8 * 1024 * 1024));

    assert_eq!(app.engine.refresh_metrics_once().await.unwrap(), 1);
    let analytics = ada.session.get(&format!("/api/analytics/{post_id}")).await;
    assert!(analytics.text.contains("\"views\":321"), "{}", analytics.text);
});

db_test!(async fn quota_exhaustion_waits_and_only_videos_are_taken(app, fake = YouTubeFake::start().await, youtube_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada).await;
    let png = id_of(ada.session.upload("a.png", TINY_PNG.to_vec(), None).await.expect(201));
    ada.session.post("/api/posts", json!({"content": "a picture", "platforms": [id], "mediaIds": [png]})).await.expect_error(422, "VALIDATION_FAILED");
    ada.session.post("/api/posts", json!({"content": "no video", "platforms": [id]})).await.expect_error(422, "VALIDATION_FAILED");
    let wrong = ada.session.post("/api/posts", json!({"content": "x", "platforms": [id], "overrides": {id.clone(): {"settings": {"privacy": "friends"}}}})).await;
    wrong.expect_error(422, "VALIDATION_FAILED");

    fake.quota_exceeded(true);
    let clip = id_of(ada.session.upload("clip.mp4", TINY_MP4.to_vec(), None).await.expect(201));
    let post = ada.session.post("/api/posts", json!({"content": "Later today", "platforms": [id], "mediaIds": [clip]})).await;
    let post_id = id_of(post.expect(201));
    app.worker().run_once().await.unwrap();
    let target = target_of(&ada, &post_id).await;
    assert_eq!(target["status"], "QUEUED", "{target}");
    assert!(target["lastError"]["message"].as_str().unwrap().contains("quotaExceeded"), "{target}");
    fake.quota_exceeded(false);
    app.clock().advance(Duration::from_secs(3700));
    let target = until_done(&app, &ada, &post_id).await;
    assert_eq!(target["status"], "PUBLISHED", "{target}");
    assert_eq!(fake.sessions(), 1);
});

db_test!(async fn the_daily_quota_is_the_project_s_shared_by_every_channel(app, fake = YouTubeFake::start().await, youtube_options(&fake)) {
    // Two people, two workspaces, one Google Cloud project: six uploads a day in all.
    let ada = app.register("ada@example.com").await;
    let bob = app.register("bob@example.com").await;
    let ada_channel = connect(&app, &ada).await;
    let bob_channel = connect(&app, &bob).await;
    let mut posts = Vec::new();
    for (account, channel, count) in [(&ada, &ada_channel, 4), (&bob, &bob_channel, 2)] {
        let clip = id_of(account.session.upload("clip.mp4", TINY_MP4.to_vec(), None).await.expect(201));
        for i in 0..count {
            let post = account.session.post("/api/posts", json!({"content": format!("Video {i}"), "platforms": [channel], "mediaIds": [clip]})).await;
            posts.push((account, id_of(post.expect(201))));
        }
    }
    // A seventh, due in twelve hours: still within the day of the first six.
    let clip = id_of(bob.session.upload("clip.mp4", TINY_MP4.to_vec(), None).await.expect(201));
    let due = (app.clock().now() + chrono::Duration::hours(12)).to_rfc3339();
    let seventh = bob.session.post("/api/posts", json!({"content": "Video 7", "platforms": [bob_channel], "mediaIds": [clip], "scheduledFor": due})).await;
    let seventh = id_of(seventh.expect(201));
    for _ in 0..10 {
        app.worker().run_once().await.unwrap();
    }
    let mut published = 0;
    for (account, post_id) in &posts {
        if target_of(account, post_id).await["status"] == "PUBLISHED" {
            published += 1;
        }
    }
    assert_eq!(published, 6, "six uploads in the project's day");
    app.clock().advance(Duration::from_secs(12 * 3600 + 60));
    for _ in 0..3 {
        app.worker().run_once().await.unwrap();
    }
    assert_eq!(fake.sessions(), 6, "the seventh waits for the project's quota");
    assert_eq!(target_of(&bob, &seventh).await["status"], "QUEUED");
    app.clock().advance(Duration::from_secs(12 * 3600));
    for _ in 0..3 {
        app.worker().run_once().await.unwrap();
    }
    assert_eq!(fake.videos().len(), 7, "the next day it goes");
});
