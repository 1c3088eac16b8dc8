//! Farcaster through a fake Neynar API: an approved signer connects (a
//! pending one is refused), casts with embeds and replies, the account's
//! byte limit, and a cast whose answer was lost resent under its `idem`
//! key without a second cast.

use std::time::Duration;

use herald_testkit::fakes::farcaster::{API_KEY, FID, FakeNeynar, PENDING_SIGNER, SIGNER};
use herald_testkit::{TINY_PNG, TestOptions, db_test, id_of};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(15);

fn pointed_at(fake: &FakeNeynar) -> TestOptions {
    let mut options = TestOptions::default();
    options.provider_api_base.insert("farcaster".into(), fake.url());
    options
}

db_test!(async fn farcaster_casts_threads_and_never_twice(app, fake = FakeNeynar::start().await, pointed_at(&fake)) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let connect = |signer: &str| ada.session.post("/api/integrations", json!({"platform": "farcaster", "credentials": {"apiKey": API_KEY, "signerUuid": signer}}));
    assert!(connect(PENDING_SIGNER).await.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().contains("not approved"));
    let connected = connect(SIGNER).await;
    assert!(!connected.text.contains(API_KEY) && !connected.text.contains(SIGNER));
    let integration = connected.expect(201).clone();
    assert_eq!((integration["platformAccountId"].as_str(), integration["settings"]["maxLength"].as_u64()), (Some(FID.to_string().as_str()), Some(320)));
    let id = id_of(&integration);

    let too_long = api.post("/api/posts", json!({"content": "x".repeat(321), "platforms": [id]})).await;
    too_long.expect_error(422, "VALIDATION_FAILED");

    let png = id_of(api.upload("frame.png", TINY_PNG.to_vec(), None).await.expect(201));
    let post = api.post("/api/posts", json!({"content": "gm from Herald", "platforms": [id], "mediaIds": [png],
        "thread": [{"content": "a reply"}], "overrides": {id.clone(): {"settings": {"channelId": "rust", "embedUrl": "https://example.org"}}}})).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    let casts = fake.casts();
    assert_eq!(casts.len(), 2);
    assert_eq!(casts[0]["channel"], "rust");
    let embeds: Vec<&str> = casts[0]["embeds"].as_array().unwrap().iter().map(|e| e["url"].as_str().unwrap()).collect();
    assert!(embeds[0].starts_with(&app.address) && embeds[1] == "https://example.org", "{embeds:?}");
    assert_eq!(casts[1]["parent_hash"], casts[0]["hash"], "the thread item replies to the cast");
    assert_eq!(done["targets"][0]["url"], format!("https://warpcast.com/herald/{}", &casts[0]["hash"].as_str().unwrap()[..10]));

    fake.lose_next_answer();
    let post = api.post("/api/posts", json!({"content": "once", "platforms": [id]})).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    assert_eq!(fake.casts().iter().filter(|c| c["text"] == "once").count(), 1, "the resend is the same cast");
    assert_eq!(done["targets"][0]["attempts"], 2);
    assert_eq!(done["targets"][0]["platformPostIds"][0], fake.casts().last().unwrap()["hash"]);
});
