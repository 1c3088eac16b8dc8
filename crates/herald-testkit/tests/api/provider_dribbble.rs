//! Dribbble end to end against the fake: signing in, a shot (one image,
//! title from the first line, tags) taken with `202` and its id from
//! `Location`, a post without an image refused before sending, and an
//! account that may no longer upload.

use std::time::Duration;

use herald_testkit::fakes::dribbble::{CLIENT_ID, CLIENT_SECRET, FakeDribbble};
use herald_testkit::{TINY_PNG, TestOptions, db_test, id_of};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(15);
const JSON: &[(&str, &str)] = &[("accept", "application/json")];

fn dribbble_options(fake: &FakeDribbble) -> TestOptions {
    let mut options = TestOptions::default();
    options.provider_api_base.insert("dribbble".into(), fake.url());
    options.app_credentials =
        vec![("DRIBBBLE_CLIENT_ID".into(), CLIENT_ID.into()), ("DRIBBBLE_CLIENT_SECRET".into(), CLIENT_SECRET.into())];
    options
}

db_test!(async fn dribbble_shots_are_one_image_with_a_title(app, fake = FakeDribbble::start().await, dribbble_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let begun = ada.session.get_with("/api/auth/dribbble", JSON).await;
    let authorize = begun.expect(200)["authorizeUrl"].as_str().unwrap().to_string();
    assert!(authorize.contains("scope=public+upload") || authorize.contains("scope=public%20upload"), "{authorize}");
    let location = herald_testkit::fakes::consent(&authorize).await;
    let done = ada.session.get_with(location.strip_prefix(&app.address).unwrap(), JSON).await;
    let id = done.expect(200)["integrationId"].as_str().unwrap().to_string();
    let integration = api.get(&format!("/api/integrations/{id}")).await.expect(200).clone();
    assert_eq!((integration["name"].as_str(), integration["platformUsername"].as_str()), (Some("Ada Designs"), Some("adadesigns")));

    api.post("/api/posts", json!({"content": "no image", "platforms": [id]})).await.expect_error(422, "VALIDATION_FAILED");

    let png = id_of(api.upload("shot.png", TINY_PNG.to_vec(), None).await.expect(201));
    let post = api.post("/api/posts", json!({"content": "Herald logo\n\nExplorations for the new mark.", "platforms": [id], "mediaIds": [png],
        "overrides": {id.clone(): {"settings": {"tags": ["logo", "branding"], "lowProfile": true}}}})).await;
    let done = app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    let shot = &fake.shots()[0];
    assert_eq!((shot["title"].as_str(), shot["description"].as_str()), (Some("Herald logo"), Some("Explorations for the new mark.")));
    assert_eq!((shot["tags"].clone(), shot["low_profile"].clone(), shot["image_type"].clone()), (json!(["logo", "branding"]), json!(true), json!("image/png")));
    assert_eq!(done["targets"][0]["url"], format!("https://dribbble.com/shots/{}", shot["id"]));

    fake.withdraw_upload();
    let png = id_of(api.upload("again.png", TINY_PNG.to_vec(), None).await.expect(201));
    let post = api.post("/api/posts", json!({"content": "Again", "platforms": [id], "mediaIds": [png]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    assert_eq!(failed["targets"][0]["lastError"]["class"], "REVOKED");
    assert!(failed["targets"][0]["lastError"]["message"].as_str().unwrap().contains("upload scope"));
});
