use herald_testkit::{PASSWORD, TestOptions, db_test};
use serde_json::json;

db_test!(async fn first_user_is_admin_and_later_ones_are_not(app) {
    let ada = app.register("ada@example.com").await;
    let me = ada.session.get("/api/me").await;
    assert_eq!(me.expect(200)["role"], "ADMIN");
    assert_eq!(me.body["workspaceRole"], "OWNER");
    let bob = app.register("bob@example.com").await;
    assert_eq!(bob.session.get("/api/me").await.expect(200)["role"], "USER");
    assert_ne!(ada.workspace_id, bob.workspace_id);
});

db_test!(async fn registration_rejects_bad_input_precisely(app) {
    let client = app.anonymous();
    let short = client.post("/api/auth/register", json!({"email": "a@example.com", "password": "elevenchars"})).await;
    let error = short.expect_error(422, "VALIDATION_FAILED");
    assert_eq!(error["details"]["errors"][0]["field"], "password");
    assert!(error["message"].as_str().unwrap().contains("12"));

    let bad_email = client.post("/api/auth/register", json!({"email": "not-an-email", "password": PASSWORD})).await;
    assert_eq!(bad_email.expect_error(422, "VALIDATION_FAILED")["details"]["errors"][0]["field"], "email");

    let bad_zone = client
        .post("/api/auth/register", json!({"email": "z@example.com", "password": PASSWORD, "timezone": "Mars/Base"}))
        .await;
    assert_eq!(bad_zone.expect_error(422, "VALIDATION_FAILED")["details"]["errors"][0]["field"], "timezone");

    app.register("taken@example.com").await;
    let again = client.post("/api/auth/register", json!({"email": "TAKEN@example.com", "password": PASSWORD})).await;
    again.expect_error(409, "CONFLICT");

    let missing = client.post("/api/auth/register", json!({"email": "x@example.com"})).await;
    missing.expect_error(422, "VALIDATION_FAILED");
});

db_test!(async fn disabled_registration_still_lets_the_first_admin_in(app, TestOptions { disable_registration: true, ..TestOptions::default() }) {
    app.register("admin@example.com").await;
    let second = app.anonymous().post("/api/auth/register", json!({"email": "b@example.com", "password": PASSWORD})).await;
    let error = second.expect_error(403, "FORBIDDEN");
    assert!(error["message"].as_str().unwrap().contains("registration is disabled"));
});

db_test!(async fn login_sets_an_http_only_cookie_and_logout_clears_it(app) {
    app.register("ada@example.com").await;
    let client = app.anonymous();
    let wrong = client.post("/api/auth/login", json!({"email": "ada@example.com", "password": "wrong password!!"})).await;
    wrong.expect_error(401, "UNAUTHORIZED");
    let unknown = client.post("/api/auth/login", json!({"email": "nobody@example.com", "password": PASSWORD})).await;
    assert_eq!(unknown.expect_error(401, "UNAUTHORIZED")["message"], wrong.body["error"]["message"]);

    let ok = client.post("/api/auth/login", json!({"email": "ADA@example.com", "password": PASSWORD})).await;
    assert_eq!(ok.expect(200)["user"]["email"], "ada@example.com");
    let cookie = ok.header("set-cookie").expect("session cookie");
    assert!(cookie.starts_with("herald_session="));
    assert!(cookie.contains("HttpOnly"));
    assert!(cookie.contains("SameSite=Lax"));
    assert!(cookie.contains("Max-Age=604800"));
    client.get("/api/me").await.expect(200);

    let out = client.post("/api/auth/logout", json!({})).await;
    assert_eq!(out.status, 204);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    client.get("/api/me").await.expect_error(401, "UNAUTHORIZED");
});

db_test!(async fn forged_or_foreign_session_tokens_are_refused(app) {
    app.register("ada@example.com").await;
    let forged = app.with_authorization("Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl");
    forged.get("/api/me").await.expect_error(401, "UNAUTHORIZED");
    let scheme = app.with_authorization("Basic YWRhOnB3");
    scheme.get("/api/me").await.expect_error(401, "UNAUTHORIZED");
});
