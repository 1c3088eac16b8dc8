//! Cross-cutting HTTP behaviour: health, error format, headers, limits,
//! OpenAPI and docs.

use herald_testkit::{Backend, TINY_PNG, TestOptions, db_test, spawn_app_with};
use serde_json::json;

db_test!(async fn health_reports_database_and_queue(app) {
    let health = app.anonymous().get("/api/health").await;
    let health = health.expect(200);
    assert_eq!(health["status"], "ok");
    assert_eq!(health["database"], "ok");
    assert_eq!(health["scheduler"]["due"], 0);
    assert!(health["version"].is_string());
});

db_test!(async fn unknown_routes_and_methods_answer_in_the_error_format(app) {
    app.anonymous().get("/api/nope").await.expect_error(404, "NOT_FOUND");
    app.anonymous().send(reqwest::Method::PATCH, "/api/posts", Some(json!({}))).await.expect_error(405, "METHOD_NOT_ALLOWED");
});

db_test!(async fn every_response_carries_security_headers_and_a_request_id(app) {
    let response = app.anonymous().get("/api/health").await;
    for header in ["x-content-type-options", "x-frame-options", "content-security-policy", "referrer-policy", "x-request-id"] {
        assert!(response.header(header).is_some(), "missing {header}");
    }
    assert_eq!(response.header("cache-control"), Some("no-store"));
    // A sane client request id is kept, so logs can be correlated end to end.
    let client = reqwest::Client::new();
    let echoed = client.get(format!("{}/api/me", app.address)).header("x-request-id", "trace-123").send().await.unwrap();
    assert_eq!(echoed.headers()["x-request-id"], "trace-123");
    let body: serde_json::Value = echoed.json().await.unwrap();
    assert_eq!(body["error"]["requestId"], "trace-123");
});

db_test!(async fn request_bodies_are_limited(app, TestOptions { body_limit: 64 * 1024, ..TestOptions::default() }) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let huge = json!({"content": "x".repeat(70 * 1024), "status": "DRAFT"});
    api.post("/api/posts", huge).await.expect_error(413, "PAYLOAD_TOO_LARGE");
});

db_test!(async fn rate_limits_answer_429_with_retry_after(app, TestOptions { rate_limit: 8, rate_limit_posts: 2, ..TestOptions::default() }) {
    let ada = app.register("ada@example.com").await;
    let key = ada.api_key(None).await;
    let api = app.with_key(&key);
    api.post("/api/posts", json!({"content": "1", "status": "DRAFT"})).await.expect(201);
    api.post("/api/posts", json!({"content": "2", "status": "DRAFT"})).await.expect(201);
    let limited = api.post("/api/posts", json!({"content": "3", "status": "DRAFT"})).await;
    limited.expect_error(429, "RATE_LIMITED");
    let retry: u64 = limited.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry));
    // Reads still have budget left under the general limit...
    api.get("/api/posts").await.expect(200);
    // ...until it runs out too.
    let mut last = 0;
    for _ in 0..10 {
        last = api.get("/api/posts").await.status;
    }
    assert_eq!(last, 429);
    // Another client (another key) has its own budget.
    let other = app.with_key(&ada.api_key(None).await);
    assert_eq!(other.get("/api/posts").await.status, 200);
    // Postiz's public API draws on the same budgets, new posts included.
    let postiz = app.with_authorization(&ada.api_key(None).await);
    let draft = json!({"type": "draft", "posts": []});
    postiz.post("/public/v1/posts", draft.clone()).await.expect_error(422, "VALIDATION_FAILED");
    postiz.post("/public/v1/posts", draft.clone()).await.expect_error(422, "VALIDATION_FAILED");
    let limited = postiz.post("/public/v1/posts", draft).await;
    limited.expect_error(429, "RATE_LIMITED");
    assert_eq!(limited.body["statusCode"], 429, "Postiz clients read it: {}", limited.text);
    postiz.get("/public/v1/integrations").await.expect(200);
});

db_test!(async fn uploads_and_health_are_outside_the_api_rate_limit(app, TestOptions { rate_limit: 4, ..TestOptions::default() }) {
    let ada = app.register("ada@example.com").await;
    let api = app.with_key(&ada.api_key(None).await);
    let uploaded = api.upload("photo.png", TINY_PNG.to_vec(), None).await;
    let url = uploaded.expect(201)["url"].as_str().unwrap().to_string();
    // Platforms fetching a post's media and health probes never get 429...
    let platform = reqwest::Client::new();
    for _ in 0..10 {
        assert_eq!(platform.get(&url).send().await.unwrap().status(), 200);
        app.anonymous().get("/api/health").await.expect(200);
    }
    // ...while the API stays limited for the same client.
    let mut last = 0;
    for _ in 0..5 {
        last = app.anonymous().get("/api/platforms").await.status;
    }
    assert_eq!(last, 429);
});

db_test!(async fn openapi_documents_every_route(app) {
    let spec = app.anonymous().get("/api/openapi.json").await;
    let spec = spec.expect(200);
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    let expected = [
        ("/api/health", "get"),
        ("/api/auth/register", "post"),
        ("/api/auth/login", "post"),
        ("/api/auth/logout", "post"),
        ("/api/me", "get"),
        ("/api/api-keys", "get"),
        ("/api/auth/logout-all", "post"),
        ("/api/me/password", "post"),
        ("/api/api-keys", "post"),
        ("/api/api-keys/{id}", "delete"),
        ("/api/connected-apps", "get"),
        ("/api/connected-apps/{id}", "delete"),
        ("/api/integrations", "get"),
        ("/api/integrations", "post"),
        ("/api/events", "get"),
        ("/api/analytics/{id}", "get"),
        ("/api/analytics/integrations/{id}", "get"),
        ("/api/media", "get"),
        ("/api/media", "post"),
        ("/api/media/from-url", "post"),
        ("/api/media/{id}", "patch"),
        ("/api/platforms", "get"),
        ("/api/integrations/{id}", "get"),
        ("/api/integrations/{id}", "patch"),
        ("/api/integrations/{id}", "delete"),
        ("/api/integrations/{id}/next-slot", "get"),
        ("/api/posts", "get"),
        ("/api/posts", "post"),
        ("/api/posts/validate", "post"),
        ("/api/posts/{id}", "get"),
        ("/api/posts/{id}", "put"),
        ("/api/posts/{id}", "delete"),
        ("/api/posts/{id}/publish", "post"),
        ("/api/auth/{platform}", "get"),
        ("/api/auth/{platform}/callback", "get"),
        ("/api/integrations/pending/{id}", "get"),
        ("/api/integrations/pending/{id}", "post"),
        ("/api/posts/{id}/submit", "post"),
        ("/api/posts/{id}/occurrences", "get"),
        ("/api/feeds", "get"),
        ("/api/ai/suggest", "post"),
        ("/api/posts/export", "get"),
        ("/api/posts/import", "post"),
        ("/api/feeds", "post"),
        ("/api/feeds/{id}", "delete"),
        ("/api/feeds/{id}/poll", "post"),
        ("/api/posts/{id}/approve", "post"),
        ("/api/posts/{id}/reject", "post"),
        ("/api/workspaces", "get"),
        ("/api/workspaces", "post"),
        ("/api/workspaces/{id}", "get"),
        ("/api/workspaces/{id}", "patch"),
        ("/api/workspaces/{id}/select", "post"),
        ("/api/workspaces/{id}/members", "get"),
        ("/api/workspaces/{id}/members/{userId}", "patch"),
        ("/api/workspaces/{id}/members/{userId}", "delete"),
        ("/api/workspaces/{id}/invites", "get"),
        ("/api/workspaces/{id}/invites", "post"),
        ("/api/workspaces/{id}/invites/{inviteId}", "delete"),
        ("/api/invites/{token}", "get"),
        ("/api/invites/{token}/accept", "post"),
        ("/api/audit", "get"),
        ("/api/notifications", "get"),
        ("/api/notifications/read", "post"),
        ("/api/me/email-preferences", "get"),
        ("/api/me/email-preferences", "put"),
        ("/api/integrations/{id}/queue", "get"),
        ("/api/integrations/{id}/queue", "post"),
        ("/api/integrations/{id}/queue/shuffle", "post"),
        ("/api/integrations/{id}/queue/compact", "post"),
        ("/api/webhooks", "get"),
        ("/api/webhooks", "post"),
        ("/api/webhooks/{id}", "patch"),
        ("/api/webhooks/{id}", "delete"),
        ("/api/webhooks/{id}/deliveries", "get"),
        ("/api/customers", "get"),
        ("/api/customers", "post"),
        ("/api/customers/{id}", "patch"),
        ("/api/customers/{id}", "delete"),
        ("/api/integrations/{id}/customer", "put"),
        ("/api/customers/{id}/connect-links", "get"),
        ("/api/customers/{id}/connect-links", "post"),
        ("/api/customers/{id}/connect-links/{linkId}", "delete"),
        ("/api/tags", "get"),
        ("/api/tags", "post"),
        ("/api/tags/{id}", "patch"),
        ("/api/tags/{id}", "delete"),
        ("/api/signatures", "get"),
        ("/api/signatures", "post"),
        ("/api/signatures/{id}", "patch"),
        ("/api/signatures/{id}", "delete"),
        ("/api/sets", "get"),
        ("/api/sets", "post"),
        ("/api/sets/{id}", "patch"),
        ("/api/sets/{id}", "delete"),
        ("/api/posts/{id}/preview-links", "get"),
        ("/api/posts/{id}/preview-links", "post"),
        ("/api/posts/{id}/preview-links/{linkId}", "delete"),
        ("/api/posts/{id}/comments", "get"),
        ("/api/posts/{id}/comments", "post"),
        ("/api/webhooks/{id}/deliveries/{deliveryId}/redeliver", "post"),
        ("/public/v1/is-connected", "get"),
        ("/public/v1/integrations", "get"),
        ("/public/v1/integration-settings/{id}", "get"),
        ("/public/v1/integration-trigger/{id}", "post"),
        ("/public/v1/find-slot/{id}", "get"),
        ("/public/v1/posts", "get"),
        ("/public/v1/posts", "post"),
        ("/public/v1/posts/{id}", "delete"),
        ("/public/v1/posts/{id}/missing", "get"),
        ("/public/v1/posts/{id}/release-id", "put"),
        ("/public/v1/upload", "post"),
        ("/public/v1/upload-from-url", "post"),
        ("/public/v1/analytics/{id}", "get"),
        ("/public/v1/analytics/post/{id}", "get"),
    ];
    for (path, method) in expected {
        let operation = &spec["paths"][path][method];
        assert!(operation.is_object(), "{method} {path} is not documented");
        let responses = operation["responses"].as_object().unwrap();
        assert!(responses.contains_key("500"), "{method} {path} lacks error responses");
    }
    let documented: usize = spec["paths"].as_object().unwrap().values().map(|item| item.as_object().unwrap().len()).sum();
    assert_eq!(documented, expected.len(), "a route is documented that the test does not know");
    assert!(spec["components"]["schemas"]["ErrorBody"].is_object());
    assert!(spec["components"]["schemas"]["PostView"].is_object());
    assert!(spec["components"]["securitySchemes"]["api_key"].is_object());

    let docs = app.anonymous().get("/api/docs").await;
    assert_eq!(docs.status, 200);
    assert!(docs.text.contains("/api/docs/assets/docs.js"));
    assert!(!docs.text.contains("http://") && !docs.text.contains("https://"), "the docs page loads nothing from elsewhere");
    assert_eq!(app.anonymous().get("/api/docs/assets/docs.js").await.status, 200);
    assert_eq!(app.anonymous().get("/api/docs/assets/docs.css").await.status, 200);
    app.anonymous().get("/api/docs/assets/other.js").await.expect_error(404, "NOT_FOUND");
});

/// A PostgreSQL-only check: when the database goes away, health says 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_503_when_the_database_is_unreachable() {
    let Some(app) = spawn_app_with(Backend::Postgres, TestOptions::default()).await else {
        return;
    };
    app.anonymous().get("/api/health").await.expect(200);
    // Closing the pool is the in-process equivalent of the server going away.
    app.store.clone().close().await.unwrap();
    let health = app.anonymous().get("/api/health").await;
    assert_eq!(health.status, 503, "{}", health.text);
    assert_eq!(health.body["database"], "unreachable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_503_when_sqlite_is_closed() {
    let app = spawn_app_with(Backend::Sqlite, TestOptions::default()).await.unwrap();
    app.store.clone().close().await.unwrap();
    let health = app.anonymous().get("/api/health").await;
    assert_eq!(health.status, 503, "{}", health.text);
}
