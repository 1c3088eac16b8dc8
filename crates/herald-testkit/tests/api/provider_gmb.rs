//! `gmb` against a fake Google Business Profile: every location offered
//! after signing in, a standard post with a photo and a call to action, an
//! event with its dates, settings checked when the post is saved, and a
//! lost answer found among the location's posts instead of posting twice.

use std::time::Duration;

use herald_testkit::fakes::gmb::{CLIENT_ID, CLIENT_SECRET, GmbFake, LOCATIONS};
use herald_testkit::{Account, TINY_PNG, TestApp, TestOptions, db_test, id_of};
use serde_json::{Value, json};

const JSON: &[(&str, &str)] = &[("accept", "application/json")];

fn gmb_options(fake: &GmbFake) -> TestOptions {
    let mut options = TestOptions::driven();
    options.provider_api_base.insert("gmb".into(), fake.base_url());
    options.app_credentials = vec![
        ("GOOGLE_GMB_CLIENT_ID".into(), CLIENT_ID.into()),
        ("GOOGLE_GMB_CLIENT_SECRET".into(), CLIENT_SECRET.into()),
    ];
    options
}

async fn connect(app: &TestApp, account: &Account) -> String {
    let begun = account.session.get_with("/api/auth/gmb", JSON).await;
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
    assert_eq!(names, [LOCATIONS[0].2, LOCATIONS[1].2]);
    let chosen = account
        .session
        .post(
            &format!("/api/integrations/pending/{pending}"),
            json!({"accountIds": [format!("{}/{}", LOCATIONS[1].0, LOCATIONS[1].1)]}),
        )
        .await;
    chosen.expect(201)[0]["id"].as_str().unwrap().to_string()
}

async fn target_of(account: &Account, post_id: &str) -> Value {
    let post = account.session.get(&format!("/api/posts/{post_id}")).await;
    post.expect(200)["targets"][0].clone()
}

db_test!(async fn a_location_posts_updates_and_events(app, fake = GmbFake::start().await, gmb_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada).await;
    let png = id_of(ada.session.upload("bread.png", TINY_PNG.to_vec(), None).await.expect(201));
    let button = json!({id.clone(): {"settings": {"callToAction": "ORDER", "callToActionUrl": "https://ada.example/order"}}});
    let post = ada.session.post("/api/posts", json!({"content": "Fresh sourdough every morning", "platforms": [id], "mediaIds": [png], "overrides": button})).await;
    let post_id = id_of(post.expect(201));
    app.worker().run_once().await.unwrap();
    let target = target_of(&ada, &post_id).await;
    assert_eq!(target["status"], "PUBLISHED", "{target}");
    let (location, sent) = fake.posts().remove(0);
    assert_eq!(location, format!("{}/{}", LOCATIONS[1].0, LOCATIONS[1].1));
    assert_eq!(sent["summary"], "Fresh sourdough every morning");
    assert_eq!(sent["topicType"], "STANDARD");
    assert_eq!(sent["callToAction"], json!({"actionType": "ORDER", "url": "https://ada.example/order"}));
    assert!(sent["media"][0]["sourceUrl"].as_str().unwrap().contains("/uploads/"));

    let event = json!({id.clone(): {"settings": {"topic": "event", "title": "Christmas market", "startDate": "2026-12-20", "endDate": "2026-12-24"}}});
    let post = ada.session.post("/api/posts", json!({"content": "Come see us", "platforms": [id], "overrides": event})).await;
    let event_post = id_of(post.expect(201));
    app.worker().run_once().await.unwrap();
    assert_eq!(target_of(&ada, &event_post).await["status"], "PUBLISHED");
    let (_, sent) = fake.posts().remove(1);
    assert_eq!(sent["event"]["schedule"]["endDate"], json!({"year": 2026, "month": 12, "day": 24}));

    let bad = json!({id.clone(): {"settings": {"startDate": "next week"}}});
    ada.session.post("/api/posts", json!({"content": "x", "platforms": [id], "overrides": bad})).await.expect_error(422, "VALIDATION_FAILED");
});

db_test!(async fn a_lost_answer_is_found_among_the_location_s_posts(app, fake = GmbFake::start().await, gmb_options(&fake)) {
    let ada = app.register("ada@example.com").await;
    let id = connect(&app, &ada).await;
    fake.lose_next_answer();
    let post = ada.session.post("/api/posts", json!({"content": "Closed on Monday", "platforms": [id]})).await;
    let post_id = id_of(post.expect(201));
    app.worker().run_once().await.unwrap();
    app.clock().advance(Duration::from_secs(3600));
    app.worker().run_once().await.unwrap();
    let target = target_of(&ada, &post_id).await;
    assert_eq!(target["status"], "PUBLISHED", "{target}");
    assert_eq!(fake.posts().len(), 1, "posted once");
});
