//! `facebook` against a fake Graph API: Pages chosen after signing in,
//! text and link posts, photos uploaded unpublished and attached to one
//! post, a video through the resumable upload — continued at the offset
//! Facebook acknowledged when a chunk fails — comments as thread items, a
//! lost answer found among the Page's posts, and metrics.

use std::time::Duration;

use herald_testkit::fakes::facebook::{APP_ID, APP_SECRET, CHUNK, FacebookFake, PAGES};
use herald_testkit::{Account, TINY_MP4, TINY_PNG, TestApp, TestOptions, db_test, id_of};
use serde_json::{Value, json};

const JSON: &[(&str, &str)] = &[("accept", "application/json")];

fn facebook_options(fake: &FacebookFake) -> TestOptions {
    let mut options = TestOptions::driven();
    options.provider_api_base.insert("facebook".into(), fake.base_url());
    options.app_credentials =
        vec![("FACEBOOK_APP_ID".into(), APP_ID.into()), ("FACEBOOK_APP_SECRET".into(), APP_SECRET.into())];
    options
}

async fn connect_page(app: &TestApp, account: &Account, page: &str) -> String {
    let begun = account.session.get_with("/api/auth/facebook", JSON).await;
    let authorize = begun.expect(200)["authorizeUrl"].as_str().unwrap().to_string();
    let location = herald_testkit::fakes::consent(&authorize).await;
    let done = account.session.get_with(location.strip_prefix(&app.address).unwrap(), JSON).await;
    let pending = done.expect(200)["pendingId"].as_str().unwrap().to_string();
    let offered = account.session.get(&format!("/api/integrations/pending/{pending}")).await;
    let names: Vec<String> = offered.expect(200)["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, [PAGES[0].1, PAGES[1].1]);
    let chosen =
        account.session.post(&format!("/api/integrations/pending/{pending}"), json!({"accountIds": [page]})).await;
    chosen.expect(201)[0]["id"].as_str().unwrap().to_string()
}

async fn target_of(account: &Account, post_id: &str) -> Value {
    let post = account.session.get(&format!("/api/posts/{post_id}")).await;
    post.expect(200)["targets"][0].clone()
}

db_test!(async fn a_page_posts_text_links_photos_and_comments(app, fake = FacebookFake::start().await, facebook_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let id = connect_page(&app, &ada, PAGES[0].0).await;
    let long = "a long post ".repeat(600);
    let post = ada.session.post("/api/posts", json!({
        "content": long, "platforms": [id], "thread": [{"content": "First comment"}],
        "overrides": {id.clone(): {"settings": {"link": "https://ada.example/soup"}}}
    })).await;
    let post_id = id_of(post.expect(201));
    app.worker().run_once().await.unwrap();
    let target = target_of(&ada, &post_id).await;
    assert_eq!(target["status"], "PUBLISHED", "{target}");
    let posts = fake.posts();
    assert_eq!(posts[0]["message"], long.as_str());
    assert_eq!(posts[0]["link"], "https://ada.example/soup");
    assert_eq!(fake.comments()[0]["post"], posts[0]["id"]);
    assert_eq!(target["url"], format!("https://www.facebook.com/{}", posts[0]["id"].as_str().unwrap()));

    let png = id_of(ada.session.upload("a.png", TINY_PNG.to_vec(), None).await.expect(201));
    let png2 = id_of(ada.session.upload("b.png", TINY_PNG.to_vec(), None).await.expect(201));
    let post = ada.session.post("/api/posts", json!({"content": "Two photos", "platforms": [id], "mediaIds": [png, png2]})).await;
    let photos_post = id_of(post.expect(201));
    app.worker().run_once().await.unwrap();
    assert_eq!(target_of(&ada, &photos_post).await["status"], "PUBLISHED");
    let posts = fake.posts();
    assert_eq!(posts[1]["attached_media"].as_array().unwrap().len(), 2, "one post with both photos");
    let uploads = fake.requests_to(&format!("/v24.0/{}/photos", PAGES[0].0));
    assert!(uploads.iter().all(|r| r.field("published").as_deref() == Some("false")));

    assert_eq!(app.engine.refresh_metrics_once().await.unwrap(), 2);
    let analytics = ada.session.get(&format!("/api/analytics/{post_id}")).await;
    assert!(analytics.text.contains("\"likes\":31"), "{}", analytics.text);
    assert!(analytics.text.contains("\"reach\":260"), "{}", analytics.text);
});

db_test!(async fn a_video_upload_continues_where_facebook_left_off(app, fake = FacebookFake::start().await, facebook_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let id = connect_page(&app, &ada, PAGES[1].0).await;
    let mut video = TINY_MP4.to_vec();
    video.extend((0..(2 * CHUNK + 1000)).map(|i| (i % 199) as u8));
    let form = reqwest::multipart::Form::new().part("file", reqwest::multipart::Part::bytes(video.clone()).file_name("clip.mp4"));
    let media = ada.session.post_multipart("/api/media", form).await;
    let media_id = id_of(media.expect(201));
    let post = ada.session.post("/api/posts", json!({
        "content": "Our garden in spring", "platforms": [id], "mediaIds": [media_id],
        "overrides": {id.clone(): {"settings": {"title": "Spring"}}}
    })).await;
    let post_id = id_of(post.expect(201));
    let transfers = format!("/v24.0/{}/videos", PAGES[1].0);
    // A chunk fails once (503): the upload goes on from the offset Facebook last acknowledged.
    fake.fail_transfers(1);
    let mut rounds = 0;
    while target_of(&ada, &post_id).await["status"] != "PUBLISHED" {
        rounds += 1;
        assert!(rounds < 20, "{}", target_of(&ada, &post_id).await);
        app.worker().run_once().await.unwrap();
        app.clock().advance(Duration::from_secs(120));
    }
    assert_eq!(fake.upload_sessions(), 1, "one upload session, whatever failed");
    assert!(fake.requests_to(&transfers).iter().any(|r| r.status == 503), "a chunk did fail");
    let videos = fake.videos();
    assert_eq!(videos.len(), 1);
    assert_eq!(videos[0].1, video, "every byte once, in order");
    let finish = fake.requests_to(&transfers).into_iter().find(|r| r.form().get("upload_phase").map(String::as_str) == Some("finish")).unwrap();
    assert_eq!(finish.form()["title"], "Spring");
    let target = target_of(&ada, &post_id).await;
    assert_eq!(target["platformPostIds"][0], videos[0].0.as_str());
});

db_test!(async fn a_lost_feed_answer_is_found_among_the_page_s_posts(app, fake = FacebookFake::start().await, facebook_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let id = connect_page(&app, &ada, PAGES[0].0).await;
    fake.lose_next_feed_answer();
    let post = ada.session.post("/api/posts", json!({"content": "Only once", "platforms": [id]})).await;
    let post_id = id_of(post.expect(201));
    app.worker().run_once().await.unwrap();
    assert_eq!(target_of(&ada, &post_id).await["status"], "QUEUED", "asks Facebook before sending again");
    app.clock().advance(Duration::from_secs(3600));
    app.worker().run_once().await.unwrap();
    let target = target_of(&ada, &post_id).await;
    assert_eq!(target["status"], "PUBLISHED", "{target}");
    let posts = fake.posts();
    assert_eq!(posts.len(), 1, "published once");
    assert_eq!(target["platformPostIds"][0], posts[0]["id"]);
});
