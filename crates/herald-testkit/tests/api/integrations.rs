use herald_testkit::{db_test, in_minutes};
use serde_json::json;

db_test!(async fn integrations_are_listed_edited_and_deleted_in_the_owners_workspace(app) {
    let ada = app.register("ada@example.com").await;
    let bob = app.register("bob@example.com").await;
    let mastodon = app.add_integration(&ada, "mastodon").await;
    let key = ada.api_key(None).await;
    let api = app.with_key(&key);

    let listed = api.get("/api/integrations").await;
    let listed = listed.expect(200);
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(listed[0]["platform"], "mastodon");
    assert_eq!(listed[0]["isActive"], true);
    assert!(listed[0].get("credentials").is_none());
    api.get(&format!("/api/integrations/{mastodon}")).await.expect(200);

    let patched = ada
        .session
        .patch(&format!("/api/integrations/{mastodon}"), json!({"name": "Work", "postingTimes": [600, 480], "timezone": "Europe/Paris"}))
        .await;
    let patched = patched.expect(200);
    assert_eq!(patched["name"], "Work");
    assert_eq!(patched["postingTimes"], json!([480, 600]));
    assert_eq!(patched["timezone"], "Europe/Paris");
    let bad = ada.session.patch(&format!("/api/integrations/{mastodon}"), json!({"postingTimes": [1440]})).await;
    bad.expect_error(422, "VALIDATION_FAILED");
    api.patch(&format!("/api/integrations/{mastodon}"), json!({"name": "key"})).await.expect_error(403, "FORBIDDEN");

    let slot = api.get(&format!("/api/integrations/{mastodon}/next-slot")).await;
    let slot = slot.expect(200);
    assert_eq!(slot["timezone"], "Europe/Paris");
    let local = slot["local"].as_str().unwrap();
    assert!(local.contains("T08:00:00") || local.contains("T10:00:00"), "{local}");

    // Disabled integrations cannot be scheduled to.
    ada.session.patch(&format!("/api/integrations/{mastodon}"), json!({"status": "DISABLED"})).await.expect(200);
    let refused = api.post("/api/posts", json!({"content": "x", "platforms": [mastodon], "scheduledFor": in_minutes(10)})).await;
    assert!(refused.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().contains("not active"));
    ada.session.patch(&format!("/api/integrations/{mastodon}"), json!({"status": "ACTIVE"})).await.expect(200);

    // Someone else's integration does not exist for them.
    for client in [app.with_key(&bob.api_key(None).await), bob.session.clone()] {
        client.get(&format!("/api/integrations/{mastodon}")).await.expect_error(404, "NOT_FOUND");
        assert_eq!(client.get("/api/integrations").await.expect(200), &json!([]));
    }
    bob.session.patch(&format!("/api/integrations/{mastodon}"), json!({"name": "mine"})).await.expect_error(404, "NOT_FOUND");
    bob.session.delete(&format!("/api/integrations/{mastodon}")).await.expect_error(404, "NOT_FOUND");

    // Deleting drops its queued deliveries; the post keeps its other targets.
    let slack = app.add_integration(&ada, "slack").await;
    let post = api.post("/api/posts", json!({"content": "x", "platforms": [mastodon, slack], "scheduledFor": in_minutes(10)})).await;
    let post_id = post.expect(201)["id"].as_str().unwrap().to_string();
    assert_eq!(ada.session.delete(&format!("/api/integrations/{mastodon}")).await.status, 204);
    let post = api.get(&format!("/api/posts/{post_id}")).await;
    let post = post.expect(200);
    assert_eq!(post["targets"].as_array().unwrap().len(), 1);
    assert_eq!(post["status"], "SCHEDULED");
    api.get(&format!("/api/integrations/{mastodon}")).await.expect_error(404, "NOT_FOUND");
});
