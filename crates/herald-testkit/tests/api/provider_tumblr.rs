//! `tumblr` end to end against a fake Tumblr: signing in, choosing one of
//! the account's blogs (one per sign-in: its refresh tokens are spent on
//! use), an NPF post with an image in the same multipart request, metrics,
//! and a rotated refresh token that is never spent twice.

use std::time::Duration;

use herald_testkit::fakes::tumblr::{BLOGS, CLIENT_ID, CLIENT_SECRET, TumblrFake};
use herald_testkit::{Account, TINY_PNG, TestApp, TestOptions, db_test, id_of};
use serde_json::{Value, json};
use uuid::Uuid;

const JSON: &[(&str, &str)] = &[("accept", "application/json")];

fn tumblr_options(fake: &TumblrFake) -> TestOptions {
    let mut options = TestOptions::driven();
    options.provider_api_base.insert("tumblr".into(), fake.base_url());
    options.app_credentials =
        vec![("TUMBLR_CLIENT_ID".into(), CLIENT_ID.into()), ("TUMBLR_CLIENT_SECRET".into(), CLIENT_SECRET.into())];
    options
}

/// Signs in at Tumblr; the answer names the pending choice of blogs.
async fn sign_in(app: &TestApp, account: &Account) -> Value {
    let begun = account.session.get_with("/api/auth/tumblr", JSON).await;
    let location = herald_testkit::fakes::consent(begun.expect(200)["authorizeUrl"].as_str().unwrap()).await;
    let done = account.session.get_with(location.strip_prefix(&app.address).unwrap(), JSON).await;
    done.expect(200).clone()
}

async fn connect_blog(app: &TestApp, account: &Account, blog: usize) -> Uuid {
    let pending = sign_in(app, account).await["pendingId"].as_str().unwrap().to_string();
    let chosen = account
        .session
        .post(&format!("/api/integrations/pending/{pending}"), json!({"accountIds": [BLOGS[blog].2]}))
        .await;
    Uuid::parse_str(chosen.expect(201)[0]["id"].as_str().unwrap()).unwrap()
}

db_test!(async fn a_blog_is_chosen_and_gets_an_npf_post_with_its_image(app, fake = TumblrFake::start().await, tumblr_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let pending = sign_in(&app, &ada).await["pendingId"].as_str().unwrap().to_string();
    let offered = ada.session.get(&format!("/api/integrations/pending/{pending}")).await;
    let offered = offered.expect(200);
    assert_eq!(offered["chooseOne"], true);
    assert_eq!(offered["accounts"][1]["name"], BLOGS[1].1);
    // Both blogs on one grant would spend each other's refresh token.
    let both = json!({"accountIds": [BLOGS[0].2, BLOGS[1].2]});
    ada.session.post(&format!("/api/integrations/pending/{pending}"), both).await.expect_error(422, "VALIDATION_FAILED");
    let chosen = ada.session.post(&format!("/api/integrations/pending/{pending}"), json!({"accountIds": [BLOGS[1].2]})).await;
    let id = Uuid::parse_str(chosen.expect(201)[0]["id"].as_str().unwrap()).unwrap();
    let token = fake.requests_to("/v2/oauth2/token").remove(0).form();
    assert_eq!(token["client_secret"], CLIENT_SECRET, "the client goes in the form body");

    let media = ada.session.upload("heron.png", TINY_PNG.to_vec(), Some("A heron")).await;
    let media_id = id_of(media.expect(201));
    let settings = json!({id.to_string(): {"settings": {"tags": ["birds", "spring"]}}});
    let post = ada.session.post("/api/posts", json!({"content": "Spring\n\nThe herons are back.", "platforms": [id], "mediaIds": [media_id], "overrides": settings})).await;
    let post_id = id_of(post.expect(201));
    assert_eq!(app.worker().run_once().await.unwrap(), 1);
    let done = ada.session.get(&format!("/api/posts/{post_id}")).await;
    assert_eq!(done.body["status"], "PUBLISHED", "{}", done.text);
    let (blog, body) = fake.posts().remove(0);
    assert_eq!(blog, BLOGS[1].0);
    assert_eq!(body["content"][0], json!({"type": "text", "text": "Spring"}));
    assert_eq!(body["content"][2]["alt_text"], "A heron");
    assert_eq!(body["tags"], "birds,spring");
    let sent = fake.requests_to(&format!("/v2/blog/{}/posts", BLOGS[1].0)).remove(0);
    assert_eq!(sent.part("media0").unwrap().data.as_ref(), TINY_PNG);
    assert!(done.body["targets"][0]["url"].as_str().unwrap().starts_with("https://www.tumblr.com/ada-draws/"));
    assert_eq!(app.engine.refresh_metrics_once().await.unwrap(), 1);
    let analytics = ada.session.get(&format!("/api/analytics/{post_id}")).await;
    assert!(analytics.text.contains("\"notes\":9"), "{}", analytics.text);

    // A text post without media goes as plain JSON.
    let post = ada.session.post("/api/posts", json!({"content": "Just words", "platforms": [id]})).await;
    id_of(post.expect(201));
    assert_eq!(app.worker().run_once().await.unwrap(), 1);
    assert_eq!(fake.posts()[1].1["content"][0]["text"], "Just words");
});

db_test!(async fn short_lived_tokens_are_renewed_with_each_rotated_refresh_token_once(app, fake = TumblrFake::start().await, tumblr_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let first = connect_blog(&app, &ada, 0).await;
    let second = connect_blog(&app, &ada, 1).await;
    // 42-minute tokens: each blog's own grant is renewed, twice over.
    for _ in 0..2 {
        app.clock().advance(Duration::from_secs(35 * 60));
        assert_eq!(app.engine.renew_tokens_once().await.unwrap(), 2);
    }
    let refreshes: Vec<String> = fake
        .requests_to("/v2/oauth2/token")
        .iter()
        .filter_map(|r| r.form().get("refresh_token").cloned())
        .collect();
    assert_eq!(refreshes.len(), 4);
    let mut unique = refreshes.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 4, "a refresh token is spent once: {refreshes:?}");
    for id in [first, second] {
        let integration = ada.session.get(&format!("/api/integrations/{id}")).await;
        assert_eq!(integration.body["status"], "ACTIVE");
    }
    let post = ada.session.post("/api/posts", json!({"content": "Still here", "platforms": [first, second]})).await;
    id_of(post.expect(201));
    assert_eq!(app.worker().run_once().await.unwrap(), 2);
});
