//! `threads` end to end against a fake Threads: signing in (a 1-hour token
//! exchanged for a 60-day one), containers that Threads processes while the
//! target waits with its handle stored, exactly one publish per container,
//! a publish whose answer was lost found again instead of repeated, threads
//! as replies, carousels, metrics, and the token renewed before it ends.

use std::time::Duration;

use herald_core::integration::IntegrationStatus;
use herald_store::repo::Integrations;
use herald_testkit::fakes::threads::{APP_ID, APP_SECRET, ThreadsFake, USER_ID, USERNAME};
use herald_testkit::{Account, TINY_MP4, TINY_PNG, TestApp, TestOptions, db_test, id_of};
use serde_json::{Value, json};
use uuid::Uuid;

const JSON: &[(&str, &str)] = &[("accept", "application/json")];

fn threads_options(fake: &ThreadsFake) -> TestOptions {
    let mut options = TestOptions::driven();
    options.provider_api_base.insert("threads".into(), fake.base_url());
    options.app_credentials =
        vec![("THREADS_APP_ID".into(), APP_ID.into()), ("THREADS_APP_SECRET".into(), APP_SECRET.into())];
    options
}

async fn connect(app: &TestApp, account: &Account) -> Uuid {
    let begun = account.session.get_with("/api/auth/threads", JSON).await;
    let authorize = begun.expect(200)["authorizeUrl"].as_str().unwrap().to_string();
    assert!(authorize.contains("scope=threads_basic%2Cthreads_content_publish"), "{authorize}");
    let location = herald_testkit::fakes::consent(&authorize).await;
    let done = account.session.get_with(location.strip_prefix(&app.address).unwrap(), JSON).await;
    Uuid::parse_str(done.expect(200)["integrationId"].as_str().unwrap()).unwrap()
}

async fn post_now(account: &Account, body: Value) -> String {
    id_of(account.session.post("/api/posts", body).await.expect(201))
}

async fn target_of(account: &Account, post_id: &str) -> Value {
    let post = account.session.get(&format!("/api/posts/{post_id}")).await;
    post.expect(200)["targets"][0].clone()
}

db_test!(async fn a_text_post_is_one_container_published_once(app, fake = ThreadsFake::start().await, threads_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada).await;
    let integration = ada.session.get(&format!("/api/integrations/{id}")).await;
    let integration = integration.expect(200);
    assert_eq!(integration["platformUsername"], USERNAME);
    assert_eq!(integration["name"], "Ada Lovelace");
    // The 1-hour token was exchanged for a 60-day one at once.
    assert_eq!(fake.requests_to("/access_token")[0].query["grant_type"], "th_exchange_token");

    let post_id = post_now(&ada, json!({"content": "Hello from Herald", "platforms": [id]})).await;
    // The container is ready at the first look: published within the claim.
    assert_eq!(app.worker().run_once().await.unwrap(), 1);
    let target = target_of(&ada, &post_id).await;
    assert_eq!(target["status"], "PUBLISHED", "{target}");
    assert!(target["url"].as_str().unwrap().starts_with("https://www.threads.net/@ada.threads/post/"));
    assert!(target["processing"].is_null());
    assert_eq!(fake.containers().len(), 1);
    let posts = fake.posts();
    assert_eq!(posts.len(), 1);
    assert_eq!(posts[0]["text"], "Hello from Herald");
    assert_eq!(posts[0]["media_type"], "TEXT");
    let created = &fake.requests_to(&format!("/v1.0/{USER_ID}/threads"))[0];
    assert!(created.query.contains_key("access_token"), "the token goes as Meta documents it");

    // Metrics from the post's insights.
    assert_eq!(app.engine.refresh_metrics_once().await.unwrap(), 1);
    let analytics = ada.session.get(&format!("/api/analytics/{post_id}")).await;
    assert!(analytics.text.contains("\"likes\":42"), "{}", analytics.text);
});

db_test!(async fn a_video_waits_with_its_container_stored_and_is_published_once(app, fake = ThreadsFake::start().await, threads_options(&fake)) {
    fake.video_polls(3);
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada).await;
    let video = TINY_MP4.to_vec();
    let media = ada.session.upload("clip.mp4", video.clone(), Some("A short clip")).await;
    let media_id = id_of(media.expect(201));
    let post_id = post_now(&ada, json!({"content": "Watch this", "platforms": [id], "mediaIds": [media_id]})).await;

    app.worker().run_once().await.unwrap();
    // Threads is processing: the target waits in the queue, unleased, and
    // says so — without the container id, which is Herald's business.
    let target = target_of(&ada, &post_id).await;
    assert_eq!(target["status"], "QUEUED", "{target}");
    assert_eq!(target["processing"]["stage"], "processing the video", "{target}");
    assert_eq!(target["processing"]["polls"], 1);
    assert!(!target.to_string().contains("1790000000"), "no handle in answers: {target}");
    assert_eq!(target["attempts"], 0, "a wait is not an attempt");
    let page = ada.session.get_with("/posts", &[("accept", "text/html")]).await;
    assert!(page.text.contains("Threads: processing the video"), "the posts page says what Threads is doing");

    let mut rounds = 0;
    while target_of(&ada, &post_id).await["status"] != "PUBLISHED" {
        rounds += 1;
        assert!(rounds < 10, "still not published: {}", target_of(&ada, &post_id).await);
        app.clock().advance(Duration::from_secs(60));
        app.worker().run_once().await.unwrap();
    }
    assert_eq!(fake.containers().len(), 1, "one container, however many polls");
    assert_eq!(fake.posts().len(), 1);
    assert_eq!(fake.requests_to(&format!("/v1.0/{USER_ID}/threads_publish")).len(), 1);
    // Threads fetched the video from Herald's URL, which serves the file.
    let container = fake.containers().into_values().next().unwrap();
    assert_eq!(container["alt_text"], "A short clip");
    let served = reqwest::get(&container["video_url"]).await.unwrap();
    assert_eq!(served.bytes().await.unwrap().to_vec(), video);
});

db_test!(async fn a_container_threads_cannot_process_fails_with_its_reason(app, fake = ThreadsFake::start().await, threads_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada).await;
    fake.fail_next_container("The video's aspect ratio is not supported");
    let media = ada.session.upload("clip.mp4", TINY_MP4.to_vec(), None).await;
    let media_id = id_of(media.expect(201));
    let post_id = post_now(&ada, json!({"content": "Odd video", "platforms": [id], "mediaIds": [media_id]})).await;
    for _ in 0..5 {
        app.worker().run_once().await.unwrap();
        app.clock().advance(Duration::from_secs(60));
    }
    let target = target_of(&ada, &post_id).await;
    assert_eq!(target["status"], "FAILED", "{target}");
    assert_eq!(target["lastError"]["class"], "INVALID");
    assert!(target["lastError"]["message"].as_str().unwrap().contains("aspect ratio"), "{target}");
    assert!(target["processing"].is_null());
    assert!(fake.posts().is_empty());
});

db_test!(async fn a_lost_publish_answer_is_found_on_threads_not_sent_again(app, fake = ThreadsFake::start().await, threads_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada).await;
    fake.lose_next_publish_answer();
    let post_id = post_now(&ada, json!({"content": "Said once", "platforms": [id]})).await;
    app.worker().run_once().await.unwrap();
    let target = target_of(&ada, &post_id).await;
    assert_eq!(target["status"], "QUEUED", "asks Threads again: {target}");
    app.clock().advance(Duration::from_secs(3600));
    app.worker().run_once().await.unwrap();
    let target = target_of(&ada, &post_id).await;
    assert_eq!(target["status"], "PUBLISHED", "{target}");
    let posts = fake.posts();
    assert_eq!(posts.len(), 1, "published once");
    assert_eq!(target["platformPostIds"][0], posts[0]["id"]);
    assert_eq!(fake.requests_to(&format!("/v1.0/{USER_ID}/threads_publish")).len(), 1);
    assert_eq!(fake.requests_to("/v1.0/me/threads").len(), 1);
});

db_test!(async fn a_thread_is_replies_and_a_carousel_waits_for_its_items(app, fake = ThreadsFake::start().await, threads_options(&fake)) {
    fake.video_polls(1);
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada).await;
    let png = id_of(ada.session.upload("a.png", TINY_PNG.to_vec(), Some("A red pixel")).await.expect(201));
    let mp4 = id_of(ada.session.upload("b.mp4", TINY_MP4.to_vec(), None).await.expect(201));
    let post_id = post_now(&ada, json!({
        "content": "Two things", "platforms": [id], "mediaIds": [png, mp4],
        "thread": [{"content": "And a reply"}],
        "overrides": {id.to_string(): {"settings": {"replyControl": "accounts_you_follow"}}}
    }))
    .await;
    for _ in 0..6 {
        app.worker().run_once().await.unwrap();
        app.clock().advance(Duration::from_secs(60));
    }
    let target = target_of(&ada, &post_id).await;
    assert_eq!(target["status"], "PUBLISHED", "{target}");
    let posts = fake.posts();
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0]["media_type"], "CAROUSEL");
    assert_eq!(posts[1]["reply_to_id"], posts[0]["id"]);
    assert_eq!(target["platformPostIds"], json!([posts[0]["id"], posts[1]["id"]]));
    let containers = fake.containers();
    let carousel = containers.values().find(|c| c["media_type"] == "CAROUSEL").unwrap();
    assert_eq!(carousel["reply_control"], "accounts_you_follow");
    assert_eq!(carousel["children"].split(',').count(), 2);
    assert_eq!(containers.len(), 4, "two items, the carousel, the reply");

    // A setting Threads does not have is refused before scheduling.
    let wrong = ada.session.post("/api/posts", json!({"content": "x", "platforms": [id], "overrides": {id.to_string(): {"settings": {"replyControl": "nobody"}}}})).await;
    wrong.expect_error(422, "VALIDATION_FAILED");
});

db_test!(async fn an_invalid_token_is_renewed_once_and_the_post_goes_out(app, fake = ThreadsFake::start().await, threads_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada).await;
    fake.invalidate_tokens_keeping_refresh();
    let post_id = post_now(&ada, json!({"content": "After a refresh", "platforms": [id]})).await;
    app.worker().run_once().await.unwrap();
    let target = target_of(&ada, &post_id).await;
    assert_eq!(target["status"], "PUBLISHED", "{target}");
    assert_eq!(fake.requests_to("/refresh_access_token")[0].query["grant_type"], "th_refresh_token");

    // A 60-day token is renewed a week before it ends.
    app.clock().advance(Duration::from_secs(54 * 86400));
    assert_eq!(app.engine.renew_tokens_once().await.unwrap(), 1);
    // One that Threads no longer takes asks for a reconnect.
    fake.expire_tokens();
    app.clock().advance(Duration::from_secs(55 * 86400));
    assert_eq!(app.engine.renew_tokens_once().await.unwrap(), 0);
    // (Months on, the session has expired: the row tells.)
    let row = Integrations(app.store.conn()).by_id(id).await.unwrap().unwrap();
    assert_eq!(row.status, IntegrationStatus::NeedsReconnect);
});

db_test!(async fn media_threads_must_fetch_needs_a_public_main_url(app, fake = ThreadsFake::start().await, {
    let mut options = threads_options(&fake);
    options.allow_private_targets = false;
    options
}) {
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada).await;
    let png = id_of(ada.session.upload("a.png", TINY_PNG.to_vec(), None).await.expect(201));
    let refused = ada.session.post("/api/posts", json!({"content": "Look", "platforms": [id], "mediaIds": [png]})).await;
    let body = refused.expect_error(422, "VALIDATION_FAILED");
    assert!(body.to_string().contains("MAIN_URL"), "{body}");
    // Text needs nothing fetched.
    ada.session.post("/api/posts", json!({"content": "Just words", "platforms": [id], "status": "DRAFT"})).await.expect(201);
});

db_test!(async fn a_post_threads_holds_is_not_a_missed_window_after_downtime(app, fake = ThreadsFake::start().await, threads_options(&fake)) {
    fake.video_polls(1);
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada).await;
    let media_id = id_of(ada.session.upload("clip.mp4", TINY_MP4.to_vec(), None).await.expect(201));
    let post_id = post_now(&ada, json!({"content": "Before the outage", "platforms": [id], "mediaIds": [media_id]})).await;
    app.worker().run_once().await.unwrap();
    assert_eq!(target_of(&ada, &post_id).await["processing"]["stage"], "processing the video");
    // Herald was down for longer than the missed-window grace (24 h): the
    // container is Threads', so Threads is asked about it (not a MISSED
    // window); still processing after a day, it fails with that reason.
    app.clock().advance(Duration::from_secs(30 * 3600));
    app.engine.sweep_once().await.unwrap();
    for _ in 0..3 {
        app.worker().run_once().await.unwrap();
        app.clock().advance(Duration::from_secs(60));
    }
    let target = target_of(&ada, &post_id).await;
    assert_eq!(target["status"], "FAILED", "{target}");
    assert_eq!(target["lastError"]["class"], "INVALID", "{target}");
    assert!(target["lastError"]["message"].as_str().unwrap().contains("after 24 hours"), "{target}");
    assert_eq!(fake.containers().len(), 1);
});
