//! Lookups that only decorate never make an action fail: a Bluesky PDS
//! whose AppView is unreachable answers `getProfile` with 502
//! UpstreamFailure, yet the session works — the account connects with its
//! handle as name, and the profile is read later.

use herald_testkit::db_test;
use herald_testkit::fakes::bluesky::{BLUESKY_APP_PASSWORD, FakeBluesky};
use serde_json::json;

db_test!(async fn an_unavailable_profile_does_not_stop_connecting(app) {
    let ada = app.register("ada@example.com").await;
    let fake = FakeBluesky::start().await;
    let upstream = json!({"error": "UpstreamFailure", "message": "Upstream Failure"});
    fake.script("app.bsky.actor.getProfile", 502, upstream.clone());
    let credentials = json!({"service": fake.url(), "identifier": "alice.test", "appPassword": BLUESKY_APP_PASSWORD});
    let connected = ada.session.post("/api/integrations", json!({"platform": "bluesky", "credentials": credentials})).await;
    let integration = connected.expect(201).clone();
    let id = integration["id"].as_str().unwrap().to_string();
    assert_eq!(integration["name"], "alice.test", "the handle stands in for the name");
    assert_eq!(integration["avatarUrl"], json!(null));
    assert_eq!(integration["status"], "ACTIVE");

    // Still unavailable at the next round: nothing changes, nothing fails.
    fake.script("app.bsky.actor.getProfile", 502, upstream);
    assert_eq!(app.engine.refresh_profiles_once().await.unwrap(), 0);
    // Then the AppView is back.
    assert_eq!(app.engine.refresh_profiles_once().await.unwrap(), 1);
    let read = ada.session.get(&format!("/api/integrations/{id}")).await;
    let read = read.expect(200);
    assert_eq!(read["name"], "Alice 🌷");
    assert!(read["avatarUrl"].as_str().unwrap().starts_with("https://cdn.bsky.app/"));
    assert_eq!(app.engine.refresh_profiles_once().await.unwrap(), 0, "asked once the profile is known");
});

db_test!(async fn a_name_the_user_chose_is_kept_when_the_profile_arrives(app) {
    let ada = app.register("ada@example.com").await;
    let fake = FakeBluesky::start().await;
    fake.script("app.bsky.actor.getProfile", 502, json!({"error": "UpstreamFailure", "message": "Upstream Failure"}));
    let credentials = json!({"service": fake.url(), "identifier": "alice.test", "appPassword": BLUESKY_APP_PASSWORD});
    let connected = ada.session.post("/api/integrations", json!({"platform": "bluesky", "credentials": credentials})).await;
    let id = connected.expect(201)["id"].as_str().unwrap().to_string();
    ada.session.patch(&format!("/api/integrations/{id}"), json!({"name": "Our Bluesky"})).await.expect(200);
    assert_eq!(app.engine.refresh_profiles_once().await.unwrap(), 1);
    let read = ada.session.get(&format!("/api/integrations/{id}")).await;
    assert_eq!(read.expect(200)["name"], "Our Bluesky");
    assert!(read.body["avatarUrl"].is_string());
});
