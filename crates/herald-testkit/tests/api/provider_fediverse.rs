//! The Mastodon-compatible family against the fake instance playing each
//! server software: Pixelfed (posts need media, replies are comments),
//! GoToSocial (its own limits, read from the server) and Akkoma (signing
//! in, `max_toot_chars`, idempotent resends) — one publisher, each
//! platform refusing a server of another.

use std::time::Duration;

use herald_testkit::fakes::mastodon::{FakeMastodon, MASTODON_TOKEN, Software};
use herald_testkit::{Account, TINY_PNG, db_test, id_of};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(15);

async fn connect(account: &Account, platform: &str, fake: &FakeMastodon) -> herald_testkit::Resp {
    let credentials = json!({"instanceUrl": fake.url(), "accessToken": MASTODON_TOKEN});
    account.session.post("/api/integrations", json!({"platform": platform, "credentials": credentials})).await
}

db_test!(async fn each_server_software_connects_as_its_own_platform(app) {
    let ada = app.register("ada@example.com").await;
    let platforms = ada.session.get("/api/platforms").await.expect(200).clone();
    let listed: Vec<&str> = platforms.as_array().unwrap().iter().filter_map(|p| p["id"].as_str()).collect();
    for id in ["pixelfed", "gotosocial", "akkoma", "mattermost", "zulip", "googlechat", "teams"] {
        assert!(listed.contains(&id), "{id} in {listed:?}");
    }

    let pixelfed = FakeMastodon::start_as(Software::Pixelfed).await;
    let wrong = connect(&ada, "mastodon", &pixelfed).await;
    assert!(wrong.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().contains("this server runs Pixelfed: connect it as `pixelfed`"));
    let mastodon = FakeMastodon::start().await;
    let wrong = connect(&ada, "gotosocial", &mastodon).await;
    assert!(wrong.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().contains("runs mastodon, not GoToSocial"));

    let integration = connect(&ada, "pixelfed", &pixelfed).await.expect(201).clone();
    assert_eq!(integration["platform"], "pixelfed");
    assert_eq!(integration["settings"]["software"], "pixelfed 0.12.4");
    assert_eq!(integration["settings"]["maxLength"], 500);
});

db_test!(async fn pixelfed_posts_need_media_and_replies_become_comments(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let fake = FakeMastodon::start_as(Software::Pixelfed).await;
    let id = id_of(connect(&ada, "pixelfed", &fake).await.expect(201));

    let bare = api.post("/api/posts", json!({"content": "no photo", "platforms": [id]})).await;
    assert!(bare.expect_error(422, "VALIDATION_FAILED").to_string().contains("Pixelfed needs at least one media item"));

    let png = id_of(api.upload("sunset.png", TINY_PNG.to_vec(), Some("a sunset")).await.expect(201));
    let post = api.post("/api/posts", json!({"content": "Sunset #photography", "platforms": [id], "mediaIds": [png],
        "thread": [{"content": "shot on film"}], "overrides": {id.clone(): {"settings": {"sensitive": false}}}})).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    let statuses = fake.statuses();
    assert_eq!(statuses.len(), 2);
    assert_eq!(statuses[0]["media_attachments"][0]["description"], "a sunset");
    assert_eq!(statuses[1]["in_reply_to_id"], statuses[0]["id"], "the thread item is a comment on the photo");
    assert_eq!(done["targets"][0]["url"], statuses[0]["url"]);

    // Should a post without media reach the server, its refusal fails the
    // post; it does not disconnect the account.
    fake.script("/api/v1/statuses", 403, json!({"error": "Empty statuses are not allowed"}));
    let png = id_of(api.upload("dawn.png", TINY_PNG.to_vec(), None).await.expect(201));
    let post = api.post("/api/posts", json!({"content": "dawn", "platforms": [id], "mediaIds": [png]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    assert_eq!(failed["targets"][0]["lastError"]["class"], "INVALID");
    assert_eq!(api.get(&format!("/api/integrations/{id}")).await.expect(200)["status"], "ACTIVE");
});

db_test!(async fn gotosocial_and_akkoma_use_their_servers_limits(app) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let gts = FakeMastodon::start_as(Software::GoToSocial).await;
    gts.set_max_characters(3000);
    let gts_id = connect(&ada, "gotosocial", &gts).await.expect(201).clone();
    assert_eq!(gts_id["settings"]["maxLength"], 3000, "the server's own limit, from /api/v2/instance");
    let gts_id = gts_id["id"].as_str().unwrap().to_string();
    let long = "a".repeat(2000);
    let too_long = "a".repeat(3001);
    let checked = api.post("/api/posts/validate", json!({"content": too_long, "platforms": [gts_id]})).await;
    assert_eq!(checked.expect(200)["targets"][0]["maxLength"], 3000);
    assert_eq!(checked.body["valid"], false);
    let post = api.post("/api/posts", json!({"content": long, "platforms": [gts_id]})).await;
    app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    assert_eq!(gts.statuses().len(), 1);
    assert!(gts.requests_to("/api/v1/statuses")[0].header("idempotency-key").is_some());

    // Akkoma: signing in on the server, `max_toot_chars` from /api/v1/instance.
    let akkoma = FakeMastodon::start_as(Software::Akkoma).await;
    let json = [("accept", "application/json")];
    let begun = ada.session.get_with(&format!("/api/auth/akkoma?instance={}", akkoma.url()), &json).await;
    let authorize = begun.expect(200)["authorizeUrl"].as_str().unwrap().to_string();
    assert_eq!(akkoma.requests_to("/api/v1/apps")[0].json["redirect_uris"], format!("{}/api/auth/akkoma/callback", app.address));
    let location = herald_testkit::fakes::consent(&authorize).await;
    let done = ada.session.get_with(location.strip_prefix(&app.address).unwrap(), &json).await;
    let akkoma_id = done.expect(200)["integrationId"].as_str().unwrap().to_string();
    let integration = api.get(&format!("/api/integrations/{akkoma_id}")).await.expect(200).clone();
    assert_eq!((integration["platform"].as_str(), integration["settings"]["maxLength"].as_u64()), (Some("akkoma"), Some(5000)));
    assert_eq!(integration["settings"]["software"], "akkoma 3.13.2");
    let post = api.post("/api/posts", json!({"content": "hello from Herald", "platforms": [akkoma_id],
        "overrides": {akkoma_id.clone(): {"settings": {"spoilerText": "greetings", "visibility": "unlisted"}}}})).await;
    app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    let status = &akkoma.statuses()[0];
    assert_eq!((status["spoiler_text"].as_str(), status["visibility"].as_str()), (Some("greetings"), Some("unlisted")));
});
