//! Microsoft Teams end to end against the fake Workflows webhook: checked
//! without posting a card, a post as one Adaptive Card with its title and
//! images (fetched from Herald), thread items as cards in order, a
//! workflow turned off.

use std::time::Duration;

use herald_testkit::fakes::teams::{FakeTeams, SIG, WORKFLOW};
use herald_testkit::{TINY_PNG, db_test, id_of};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(15);

db_test!(async fn teams_posts_adaptive_cards_through_a_workflow(app) {
    let fake = FakeTeams::start().await;
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let connect = |url: String| ada.session.post("/api/integrations", json!({"platform": "teams", "credentials": {"webhookUrl": url}}));

    for (url, said) in [
        (fake.url_with(WORKFLOW, "forged"), "DirectApiInvalidAuthorizationSignature"),
        (fake.url_with("0000", SIG), "WorkflowNotFound"),
    ] {
        let message = connect(url).await.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().to_string();
        assert!(message.contains(said) && !message.contains("forged") && !message.contains(SIG), "{message}");
    }
    let connected = connect(fake.webhook_url()).await;
    assert!(!connected.text.contains(SIG));
    let channel = id_of(connected.expect(201));
    assert!(fake.cards().is_empty(), "checking the workflow posted nothing");

    let png = id_of(api.upload("chart.png", TINY_PNG.to_vec(), Some("sales chart")).await.expect(201));
    let post = api.post("/api/posts", json!({
        "content": "Q4 numbers", "platforms": [channel], "mediaIds": [png], "thread": [{"content": "details follow"}],
        "overrides": {channel.clone(): {"settings": {"title": "Quarterly update", "fullWidth": true}}},
    })).await;
    app.wait_for_post_status(&api, &id_of(post.expect(201)), "PUBLISHED", WAIT).await;
    let cards = fake.cards();
    assert_eq!(cards.len(), 2);
    let body = cards[0]["body"].as_array().unwrap();
    assert_eq!(body[0]["text"], "Quarterly update");
    assert_eq!(body[1]["text"], "Q4 numbers");
    assert_eq!(body[2]["type"], "Image");
    assert_eq!(body[2]["altText"], "sales chart");
    let image = body[2]["url"].as_str().unwrap();
    assert!(image.starts_with(&app.address), "Teams fetches the image from Herald: {image}");
    assert_eq!(reqwest::get(image).await.unwrap().bytes().await.unwrap().as_ref(), TINY_PNG);
    assert_eq!(cards[0]["msteams"]["width"], "Full");
    assert_eq!(cards[1]["body"][1]["text"], "details follow");

    fake.disable();
    let post = api.post("/api/posts", json!({"content": "off", "platforms": [channel]})).await;
    let failed = app.wait_for_post_status(&api, &id_of(post.expect(201)), "FAILED", WAIT).await;
    assert_eq!(failed["targets"][0]["lastError"]["class"], "REVOKED");
    assert!(failed["targets"][0]["lastError"]["message"].as_str().unwrap().contains("WorkflowTriggerIsNotEnabled"));
});
