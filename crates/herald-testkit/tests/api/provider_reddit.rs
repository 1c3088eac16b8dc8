//! `reddit` end to end against a fake Reddit: signing in for a permanent
//! grant, self and link posts with flair, comments as thread items,
//! refusals inside 200 answers, a refresh refused inside a 200 answer.

use std::time::Duration;

use herald_testkit::fakes::reddit::{CLIENT_ID, CLIENT_SECRET, RedditFake, USERNAME};
use herald_testkit::{Account, TestApp, TestOptions, db_test, id_of};
use serde_json::json;
use uuid::Uuid;

const JSON: &[(&str, &str)] = &[("accept", "application/json")];

fn reddit_options(fake: &RedditFake) -> TestOptions {
    let mut options = TestOptions::driven();
    options.provider_api_base.insert("reddit".into(), fake.base_url());
    options.app_credentials =
        vec![("REDDIT_CLIENT_ID".into(), CLIENT_ID.into()), ("REDDIT_CLIENT_SECRET".into(), CLIENT_SECRET.into())];
    options
}

async fn connect(app: &TestApp, account: &Account) -> Uuid {
    let begun = account.session.get_with("/api/auth/reddit", JSON).await;
    let location = herald_testkit::fakes::consent(begun.expect(200)["authorizeUrl"].as_str().unwrap()).await;
    let done = account.session.get_with(location.strip_prefix(&app.address).unwrap(), JSON).await;
    Uuid::parse_str(done.expect(200)["integrationId"].as_str().unwrap()).unwrap()
}

db_test!(async fn reddit_posts_to_a_subreddit_with_comments_as_the_thread(app, fake = RedditFake::start().await, reddit_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada).await;
    let integration = ada.session.get(&format!("/api/integrations/{id}")).await;
    assert_eq!(integration.body["platformUsername"], format!("u/{USERNAME}"));

    // Without a subreddit the post fails with a clear message.
    let post = ada.session.post("/api/posts", json!({"content": "No place", "platforms": [id]})).await;
    let failed = id_of(post.expect(201));
    app.worker().run_once().await.unwrap();
    let failed = ada.session.get(&format!("/api/posts/{failed}")).await;
    assert!(failed.text.contains("choose the subreddit"), "{}", failed.text);

    let settings = json!({id.to_string(): {"settings": {"subreddit": "rust", "flairId": "f-42", "nsfw": false}}});
    let post = ada.session.post("/api/posts", json!({"content": "Herald 1.0 is out\n\nIt schedules posts.", "platforms": [id], "overrides": settings, "thread": [{"content": "Changelog inside"}]})).await;
    let post_id = id_of(post.expect(201));
    assert_eq!(app.worker().run_once().await.unwrap(), 1);
    let done = ada.session.get(&format!("/api/posts/{post_id}")).await;
    assert_eq!(done.body["status"], "PUBLISHED", "{}", done.text);
    let things = fake.things();
    assert_eq!(things[0]["sr"], "rust");
    assert_eq!(things[0]["kind"], "self");
    assert_eq!(things[0]["title"], "Herald 1.0 is out");
    assert_eq!(things[0]["flair_id"], "f-42");
    assert_eq!(things[1]["parent_id"], things[0]["name"]);
    assert!(done.body["targets"][0]["url"].as_str().unwrap().starts_with("https://www.reddit.com/r/rust/comments/"));
    assert!(fake.requests_to("/api/submit")[0].header("user-agent").unwrap().starts_with("web:herald:"));
    assert_eq!(app.engine.refresh_metrics_once().await.unwrap(), 1);

    // A refusal inside a 200 answer fails the post; RATELIMIT waits as told.
    let bad = json!({id.to_string(): {"settings": {"subreddit": "nosuchplace"}}});
    let post = ada.session.post("/api/posts", json!({"content": "Lost", "platforms": [id], "overrides": bad})).await;
    let lost = id_of(post.expect(201));
    app.worker().run_once().await.unwrap();
    let lost = ada.session.get(&format!("/api/posts/{lost}")).await;
    assert_eq!(lost.body["targets"][0]["lastError"]["class"], "INVALID");
    assert!(lost.text.contains("SUBREDDIT_NOEXIST"));
    fake.rate_limit_next_submission();
    let link = json!({id.to_string(): {"settings": {"subreddit": "selfhosted", "url": "https://herald.example/"}}});
    let post = ada.session.post("/api/posts", json!({"content": "A link", "platforms": [id], "overrides": link})).await;
    let waiting = id_of(post.expect(201));
    app.worker().run_once().await.unwrap();
    let waiting = ada.session.get(&format!("/api/posts/{waiting}")).await;
    assert_eq!(waiting.body["targets"][0]["status"], "QUEUED", "{}", waiting.text);
    app.clock().advance(Duration::from_secs(10 * 60));
    assert_eq!(app.worker().run_once().await.unwrap(), 1);
    assert_eq!(fake.things().last().unwrap()["kind"], "link");
});

db_test!(async fn a_refresh_refused_inside_a_200_answer_asks_for_a_reconnect(app, fake = RedditFake::start().await, reddit_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada).await;
    // A day-long token: renewed with six hours left, keeping the refresh token.
    app.clock().advance(Duration::from_secs(19 * 3600));
    assert_eq!(app.engine.renew_tokens_once().await.unwrap(), 1);
    fake.revoke_grant();
    app.clock().advance(Duration::from_secs(19 * 3600));
    assert_eq!(app.engine.renew_tokens_once().await.unwrap(), 0);
    let integration = ada.session.get(&format!("/api/integrations/{id}")).await;
    assert_eq!(integration.body["status"], "NEEDS_RECONNECT");
});

db_test!(async fn an_image_post_goes_through_reddit_s_media_store_and_is_found_after(app, fake = RedditFake::start().await, reddit_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada).await;
    let media_id = id_of(ada.session.upload("ferris.png", herald_testkit::TINY_PNG.to_vec(), None).await.expect(201));
    let settings = json!({id.to_string(): {"settings": {"subreddit": "rust", "title": "Ferris at the beach"}}});
    let post = ada.session.post("/api/posts", json!({"content": "Photo from the meetup", "platforms": [id], "mediaIds": [media_id], "overrides": settings, "thread": [{"content": "More in the comments"}]})).await;
    let post_id = id_of(post.expect(201));
    assert_eq!(app.worker().run_once().await.unwrap(), 1);
    let done = ada.session.get(&format!("/api/posts/{post_id}")).await;
    assert_eq!(done.body["status"], "PUBLISHED", "{}", done.text);
    let things = fake.things();
    assert_eq!(things[0]["kind"], "image");
    assert!(things[0]["url"].as_str().unwrap().contains("/rte_images/"), "{}", things[0]);
    // The post was found in the account's submissions; the comment hangs under it.
    assert_eq!(things[1]["parent_id"], things[0]["name"]);
    assert!(done.body["targets"][0]["url"].as_str().unwrap().starts_with("https://www.reddit.com/r/rust/comments/"));
    let lease = &fake.requests_to("/api/media/asset.json")[0];
    assert_eq!(lease.form()["mimetype"], "image/png");
    assert_eq!(fake.requests_to("/").len(), 1, "one upload to the storage");
});

db_test!(async fn flairs_and_subreddits_are_postiz_tools(app, fake = RedditFake::start().await, reddit_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada).await;
    let api = app.with_authorization(&ada.api_key(None).await);
    let settings = api.get(&format!("/public/v1/integration-settings/{id}")).await;
    let tools = settings.expect(200)["output"]["tools"].clone();
    assert_eq!(tools[0]["methodName"], "getFlairs");
    assert_eq!(tools[0]["dataSchema"][0]["key"], "subreddit");

    let path = format!("/public/v1/integration-trigger/{id}");
    let trigger = |body: serde_json::Value| api.post(&path, body);
    let flairs = trigger(json!({"methodName": "getFlairs", "data": {"subreddit": "rust"}})).await;
    let flairs = flairs.expect(200)["output"].clone();
    assert_eq!(flairs[0], json!({"id": "f-42", "name": "Discussion", "editable": false}));
    let requests = fake.requests_to("/r/rust/api/link_flair_v2");
    assert!(requests[0].header("authorization").unwrap().starts_with("Bearer "));
    let found = trigger(json!({"methodName": "searchSubreddits", "data": {"query": "sel"}})).await;
    assert_eq!(found.expect(200)["output"], json!([{"id": "selfhosted", "name": "selfhosted", "title": "The selfhosted community"}]));

    // Refusals name what is wrong.
    let missing = trigger(json!({"methodName": "getFlairs", "data": {}})).await;
    assert_eq!(missing.expect_error(422, "VALIDATION_FAILED")["details"]["errors"][0]["field"], "data.subreddit");
    let unknown = trigger(json!({"methodName": "getFlairs", "data": {"subreddit": "nosuchplace"}})).await;
    assert!(unknown.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().contains("404"), "{}", unknown.text);
    let bad = trigger(json!({"methodName": "getFlairs", "data": {"subreddit": "../etc"}})).await;
    bad.expect_error(422, "VALIDATION_FAILED");

    // The flair picked there goes out with the post (Postiz's settings shape).
    let body = json!({"type": "now", "posts": [{"integration": {"id": id}, "value": [{"content": "Hello Rustaceans"}],
        "settings": {"__type": "reddit", "subreddit": [{"value": {"subreddit": "rust", "title": "Hello", "type": "text", "url": "", "is_flair_required": true, "flair": {"id": "f-42", "name": "Discussion"}}}]}}]});
    let created = api.post("/public/v1/posts", body).await;
    let group = created.expect(201)[0]["group"].as_str().unwrap().to_string();
    assert_eq!(app.worker().run_once().await.unwrap(), 1);
    let done = api.get(&format!("/api/posts/{group}")).await;
    assert_eq!(done.body["status"], "PUBLISHED", "{}", done.text);
    assert_eq!(done.body["targets"][0]["settings"]["flairId"], "f-42");
    let things = fake.things();
    assert_eq!(things[0]["flair_id"], "f-42");
    assert_eq!(things[0]["sr"], "rust");
    assert_eq!(things[0]["title"], "Hello");
});
