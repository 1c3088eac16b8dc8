//! VK end to end against the fake: signing in offers the user's wall and
//! their community, a wall post with a photo and a thread of comments, the
//! community posting as itself, a lost answer resent under the same `guid`
//! (one post), metrics, and a revoked token.

use std::time::Duration;

use herald_providers::{ProviderSettings, PublishedItem, Registry};
use herald_testkit::fakes::vk::{CLIENT_ID, CLIENT_SECRET, FakeVk, GROUP_ID, USER_ID};
use herald_testkit::{TINY_PNG, TestOptions, db_test, id_of};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(15);
const JSON: &[(&str, &str)] = &[("accept", "application/json")];

fn vk_options(fake: &FakeVk) -> TestOptions {
    let mut options = TestOptions::default();
    options.provider_api_base.insert("vk".into(), fake.url());
    options.app_credentials =
        vec![("VK_CLIENT_ID".into(), CLIENT_ID.into()), ("VK_CLIENT_SECRET".into(), CLIENT_SECRET.into())];
    options
}

db_test!(async fn vk_walls_and_communities_post_with_photos_and_comments(app, fake = FakeVk::start().await, vk_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let begun = ada.session.get_with("/api/auth/vk", JSON).await;
    let authorize = begun.expect(200)["authorizeUrl"].as_str().unwrap().to_string();
    assert!(authorize.contains("scope=wall%2Cphotos%2Cgroups%2Coffline") && authorize.contains("v=5.199"), "{authorize}");
    let location = herald_testkit::fakes::consent(&authorize).await;
    let done = ada.session.get_with(location.strip_prefix(&app.address).unwrap(), JSON).await;
    let pending = done.expect(200)["pendingId"].as_str().map(str::to_string).expect("a choice between the wall and the community");
    let offered = ada.session.get(&format!("/api/integrations/pending/{pending}")).await.expect(200).clone();
    let ids: Vec<String> = offered["accounts"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids, [USER_ID.to_string(), format!("-{GROUP_ID}")]);
    let chosen = ada.session.post(&format!("/api/integrations/pending/{pending}"), json!({"accountIds": ids})).await;
    let connected = chosen.expect(201).clone();
    let wall = connected.as_array().unwrap().iter().find(|i| i["name"] == "Ada Lovelace").unwrap()["id"].as_str().unwrap().to_string();
    let club = connected.as_array().unwrap().iter().find(|i| i["name"] == "Herald Club").unwrap()["id"].as_str().unwrap().to_string();
    let integration = api.get(&format!("/api/integrations/{wall}")).await.expect(200).clone();
    assert!(integration["tokenExpiresAt"].is_null(), "an offline token does not expire: {integration}");

    let png = id_of(api.upload("cat.png", TINY_PNG.to_vec(), Some("a cat")).await.expect(201));
    let post = api.post("/api/posts", json!({"content": "Привет from Herald", "platforms": [wall], "mediaIds": [png],
        "thread": [{"content": "first comment"}, {"content": "second comment"}]})).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    let posts = fake.posts();
    assert_eq!(posts[0]["message"], "Привет from Herald");
    assert!(posts[0]["attachments"].as_str().unwrap().starts_with(&format!("photo{USER_ID}_")));
    let comments = fake.comments();
    assert_eq!(comments.len(), 2);
    assert_eq!(comments[0]["post_id"], posts[0]["id"]);
    assert_eq!(comments[1]["reply_to_comment"], comments[0]["id"], "each comment replies to the one before");
    assert_eq!(done["targets"][0]["url"], format!("https://vk.com/wall{USER_ID}_{}", posts[0]["id"]));

    // The community posts as itself; an answer lost after VK took the post is resent with its guid: one post.
    fake.lose_next_answer();
    let post = api.post("/api/posts", json!({"content": "club news", "platforms": [club], "overrides": {club.clone(): {"settings": {"signed": true}}}})).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    let club_posts: Vec<_> = fake.posts().into_iter().filter(|p| p["owner_id"] == -GROUP_ID).collect();
    assert_eq!(club_posts.len(), 1, "resent under the same guid: {club_posts:?}");
    assert_eq!((club_posts[0]["from_group"].as_str(), club_posts[0]["signed"].as_str()), (Some("1"), Some("1")));
    assert_eq!(done["targets"][0]["attempts"], 2);

    let provider = {
        let mut settings = ProviderSettings { allow_private_targets: true, ..ProviderSettings::default() };
        settings.api_base.insert("vk".into(), fake.url());
        Registry::new(&settings).get("vk").unwrap()
    };
    let credentials = json!({"accessToken": "vk1.a.fake-offline-token", "ownerId": USER_ID});
    let item = PublishedItem { id: format!("{USER_ID}_{}", posts[0]["id"]), url: None };
    let metrics = provider.fetch_metrics(&credentials, &item).await.unwrap();
    assert_eq!(metrics["replies"], 2);

    fake.revoke();
    let post = api.post("/api/posts", json!({"content": "after revoking", "platforms": [wall]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    assert_eq!(failed["targets"][0]["lastError"]["class"], "REVOKED");
    assert_eq!(api.get(&format!("/api/integrations/{wall}")).await.expect(200)["status"], "NEEDS_RECONNECT");
});
