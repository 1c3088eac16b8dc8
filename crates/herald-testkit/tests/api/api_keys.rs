use herald_core::api_key::hash_key;
use herald_store::repo::{ApiKeys, NewApiKeyRow};
use herald_testkit::db_test;
use serde_json::json;

db_test!(async fn a_key_is_shown_once_and_authenticates_bearer_or_bare(app) {
    let ada = app.register("ada@example.com").await;
    let created = ada.session.post("/api/api-keys", json!({"name": "laptop", "scopes": ["posts:read"]})).await;
    let body = created.expect(201);
    let key = body["key"].as_str().unwrap();
    assert!(key.starts_with("ptz_") && key.len() == 44 && key[4..].chars().all(|c| c.is_ascii_alphanumeric()));
    assert_eq!(body["prefix"], &key[..8]);
    assert_eq!(body["scopes"], json!(["posts:read"]));

    let listed = ada.session.get("/api/api-keys").await;
    assert!(!listed.text.contains(key), "the key must never be listed");
    assert_eq!(listed.body[0]["lastUsedAt"], serde_json::Value::Null);

    app.with_key(key).get("/api/me").await.expect(200);
    let bare = app.with_authorization(key).get("/api/me").await;
    assert_eq!(bare.expect(200)["apiKeyScopes"], json!(["posts:read"]));
    let listed = ada.session.get("/api/api-keys").await;
    assert!(listed.body[0]["lastUsedAt"].is_string(), "lastUsedAt is recorded");
});

db_test!(async fn revoked_expired_and_unknown_keys_get_401(app) {
    let ada = app.register("ada@example.com").await;
    let key = ada.api_key(None).await;
    let keys = ada.session.get("/api/api-keys").await;
    let id = keys.body[0]["id"].as_str().unwrap().to_string();
    assert_eq!(ada.session.delete(&format!("/api/api-keys/{id}")).await.status, 204);
    let refused = app.with_key(&key).get("/api/posts").await;
    assert!(refused.expect_error(401, "UNAUTHORIZED")["message"].as_str().unwrap().contains("revoked"));
    ada.session.delete(&format!("/api/api-keys/{}", uuid::Uuid::now_v7())).await.expect_error(404, "NOT_FOUND");

    let expired = &format!("ptz_{}", "x".repeat(40));
    ApiKeys(app.store.conn())
        .create(NewApiKeyRow {
            user_id: ada.id,
            workspace_id: ada.workspace_id,
            name: "old".into(),
            key_hash: hash_key(expired),
            prefix: expired[..8].into(),
            scopes: vec!["posts:read".into()],
            expires_at: Some(chrono::Utc::now() - chrono::Duration::minutes(1)),
            created_at: app.store.now(),
            mcp_client_id: None,
        })
        .await
        .unwrap();
    let refused = app.with_key(expired).get("/api/posts").await;
    assert!(refused.expect_error(401, "UNAUTHORIZED")["message"].as_str().unwrap().contains("expired"));

    app.with_key("ptz_0000000000000000000000000000000000000000").get("/api/posts").await.expect_error(401, "UNAUTHORIZED");
    app.with_key("ptz_short").get("/api/posts").await.expect_error(401, "UNAUTHORIZED");
});

db_test!(async fn keys_cannot_manage_keys_and_input_is_checked(app) {
    let ada = app.register("ada@example.com").await;
    let key = ada.api_key(None).await;
    let client = app.with_key(&key);
    client.get("/api/api-keys").await.expect_error(403, "FORBIDDEN");
    client.post("/api/api-keys", json!({"name": "escalate"})).await.expect_error(403, "FORBIDDEN");

    let bad = ada.session.post("/api/api-keys", json!({"name": "x", "scopes": ["posts:delete"]})).await;
    assert!(bad.expect_error(422, "VALIDATION_FAILED")["message"].as_str().unwrap().contains("posts:delete"));
    let past = ada.session.post("/api/api-keys", json!({"name": "x", "expiresAt": "2020-01-01T00:00:00Z"})).await;
    past.expect_error(422, "VALIDATION_FAILED");
    let expiring = ada.session.post("/api/api-keys", json!({"name": "x", "expiresInDays": 30})).await;
    assert!(expiring.expect(201)["expiresAt"].is_string());
    app.anonymous().get("/api/api-keys").await.expect_error(401, "UNAUTHORIZED");
});

db_test!(async fn scopes_are_enforced_with_403(app) {
    let ada = app.register("ada@example.com").await;
    let reader = app.with_key(&ada.api_key(Some(&["posts:read"])).await);
    let refused = reader.post("/api/posts", json!({"content": "hi", "status": "DRAFT"})).await;
    assert_eq!(refused.expect_error(403, "FORBIDDEN")["details"]["requiredScope"], "posts:write");
    reader.get("/api/integrations").await.expect_error(403, "FORBIDDEN");

    let integration = app.add_integration(&ada, "mastodon").await;
    let drafter = app.with_key(&ada.api_key(Some(&["posts:read", "posts:write"])).await);
    let draft = drafter.post("/api/posts", json!({"content": "hi", "status": "DRAFT", "platforms": [integration]})).await;
    let draft_id = draft.expect(201)["id"].as_str().unwrap().to_string();
    let scheduled = drafter
        .post("/api/posts", json!({"content": "hi", "platforms": [integration], "scheduledFor": herald_testkit::in_minutes(60)}))
        .await;
    let error = scheduled.expect_error(403, "FORBIDDEN");
    assert!(error["message"].as_str().unwrap().contains("only create and edit drafts"));
    assert_eq!(error["details"]["requiredScope"], "posts:publish");
    drafter.post(&format!("/api/posts/{draft_id}/publish"), json!({})).await.expect_error(403, "FORBIDDEN");
    let promote = drafter.put(&format!("/api/posts/{draft_id}"), json!({"status": "SCHEDULED", "scheduledFor": herald_testkit::in_minutes(60)})).await;
    promote.expect_error(403, "FORBIDDEN");
    drafter.put(&format!("/api/posts/{draft_id}"), json!({"content": "edited draft"})).await.expect(200);
});

db_test!(async fn someone_elses_key_cannot_be_listed_or_revoked(app) {
    let ada = app.register("ada@example.com").await;
    let bob = app.register("bob@example.com").await;
    let key = ada.api_key(None).await;
    let ada_keys = ada.session.get("/api/api-keys").await;
    let id = ada_keys.body[0]["id"].as_str().unwrap().to_string();
    assert_eq!(bob.session.get("/api/api-keys").await.expect(200), &json!([]));
    bob.session.delete(&format!("/api/api-keys/{id}")).await.expect_error(404, "NOT_FOUND");
    app.with_key(&key).get("/api/me").await.expect(200);
});

db_test!(async fn a_disabled_accounts_keys_get_403_until_it_is_enabled_again(app) {
    let ada = app.register("ada@example.com").await;
    let key = ada.api_key(None).await;
    let set_disabled = |disabled: bool| {
        let store = app.store.clone();
        async move {
            let users = herald_store::repo::Users(store.conn());
            let mut user = users.by_id(ada.id).await.unwrap().unwrap();
            user.is_disabled = disabled;
            users.save(user).await.unwrap();
        }
    };
    set_disabled(true).await;
    let refused = app.with_key(&key).get("/api/posts").await;
    assert!(refused.expect_error(403, "FORBIDDEN")["message"].as_str().unwrap().contains("disabled"));
    set_disabled(false).await;
    app.with_key(&key).get("/api/posts").await.expect(200);
});
