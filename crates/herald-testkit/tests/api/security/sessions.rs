//! Sessions end on the server: signing out, "sign out everywhere", a
//! password change and disabling an account stop every copy of a session
//! token at once; open event and MCP streams of a revoked key or ended
//! session close within seconds; a token "issued" in the future is refused.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use futures::StreamExt;
use herald_testkit::{Client, PASSWORD, TestApp, db_test};
use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

/// The secret `spawn_app` signs session tokens with.
const JWT_SECRET: &[u8] = b"test-jwt-secret-that-is-long-enough-0123456789";
/// Streams check their credential every 2 s; a margin for a busy machine.
const STREAM_END: Duration = Duration::from_secs(10);

/// Signs in with a fresh client; returns a client sending the session
/// token as a bearer token (a copy of the cookie), and the token.
async fn sign_in(app: &TestApp, email: &str, password: &str) -> (Client, String) {
    let login = app.anonymous().post("/api/auth/login", json!({"email": email, "password": password})).await;
    login.expect(200);
    let cookie = login.header("set-cookie").expect("session cookie");
    let token = cookie.split(';').next().and_then(|c| c.strip_prefix("herald_session=")).unwrap().to_string();
    (app.with_authorization(&format!("Bearer {token}")), token)
}

/// Waits until a streaming response ends; false when it is still open after `within`.
async fn ends_within(response: reqwest::Response, within: Duration) -> bool {
    let mut stream = response.bytes_stream();
    tokio::time::timeout(within, async {
        while let Some(chunk) = stream.next().await {
            if chunk.is_err() {
                break;
            }
        }
    })
    .await
    .is_ok()
}

async fn open_events(app: &TestApp, authorization: &str) -> reqwest::Response {
    let response = reqwest::Client::new()
        .get(format!("{}/api/events", app.address))
        .header("authorization", authorization)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    response
}

fn resign(token: &str, change: impl FnOnce(&mut Value)) -> String {
    let mut parts = token.split('.');
    let (header, payload) = (parts.next().unwrap(), parts.next().unwrap());
    let mut claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    change(&mut claims);
    let signed = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims.to_string()));
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(JWT_SECRET).unwrap();
    mac.update(signed.as_bytes());
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()))
}

db_test!(async fn signing_out_ends_the_session_on_the_server(app) {
    let ada = app.register("ada@example.com").await;
    let (copy, token) = sign_in(&app, &ada.email, PASSWORD).await;
    copy.get("/api/me").await.expect(200);
    // Signing out with the cookie's token: every copy of it stops working.
    let signed_out = reqwest::Client::new()
        .post(format!("{}/api/auth/logout", app.address))
        .header("cookie", format!("herald_session={token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), 204);
    assert!(signed_out.headers()["set-cookie"].to_str().unwrap().starts_with("herald_session=;"));
    copy.get("/api/me").await.expect_error(401, "UNAUTHORIZED");
    // Other sessions of the same person go on.
    ada.session.get("/api/me").await.expect(200);
});

db_test!(async fn signing_out_everywhere_ends_every_session_but_not_api_keys(app) {
    let ada = app.register("ada@example.com").await;
    let key = ada.api_key(None).await;
    let (laptop, _) = sign_in(&app, &ada.email, PASSWORD).await;
    let (phone, _) = sign_in(&app, &ada.email, PASSWORD).await;
    app.with_key(&key).post("/api/auth/logout-all", json!({})).await.expect_error(403, "FORBIDDEN");
    let ended = laptop.post("/api/auth/logout-all", json!({})).await;
    assert_eq!(ended.expect(200)["ended"], 3, "registration, laptop and phone");
    for client in [&laptop, &phone, &ada.session] {
        client.get("/api/me").await.expect_error(401, "UNAUTHORIZED");
    }
    app.with_key(&key).get("/api/me").await.expect(200);
    // Signing in again works.
    sign_in(&app, &ada.email, PASSWORD).await.0.get("/api/me").await.expect(200);
});

db_test!(async fn changing_the_password_ends_every_other_session(app) {
    let ada = app.register("ada@example.com").await;
    let (here, _) = sign_in(&app, &ada.email, PASSWORD).await;
    let (elsewhere, _) = sign_in(&app, &ada.email, PASSWORD).await;
    let change = |current: &str, new: &str| json!({"currentPassword": current, "newPassword": new});
    let wrong = here.post("/api/me/password", change("not my password at all", "a brand new password")).await;
    assert_eq!(wrong.expect_error(422, "VALIDATION_FAILED")["details"]["errors"][0]["field"], "currentPassword");
    let short = here.post("/api/me/password", change(PASSWORD, "short")).await;
    assert_eq!(short.expect_error(422, "VALIDATION_FAILED")["details"]["errors"][0]["field"], "newPassword");
    let key = ada.api_key(None).await;
    app.with_key(&key).post("/api/me/password", change(PASSWORD, "a brand new password")).await.expect_error(403, "FORBIDDEN");
    let unknown = here.post("/api/me/password", json!({"currentPassword": PASSWORD, "newPassword": "a brand new password", "extra": 1})).await;
    unknown.expect_error(422, "VALIDATION_FAILED");
    elsewhere.get("/api/me").await.expect(200);

    assert_eq!(here.post("/api/me/password", change(PASSWORD, "a brand new password")).await.status, 204);
    here.get("/api/me").await.expect(200);
    elsewhere.get("/api/me").await.expect_error(401, "UNAUTHORIZED");
    ada.session.get("/api/me").await.expect_error(401, "UNAUTHORIZED");
    let old = app.anonymous().post("/api/auth/login", json!({"email": ada.email, "password": PASSWORD})).await;
    old.expect_error(401, "UNAUTHORIZED");
    sign_in(&app, &ada.email, "a brand new password").await.0.get("/api/me").await.expect(200);
});

db_test!(async fn tokens_from_the_future_or_for_no_session_are_refused(app) {
    let ada = app.register("ada@example.com").await;
    let (_, token) = sign_in(&app, &ada.email, PASSWORD).await;
    let bearer = |token: &str| app.with_authorization(&format!("Bearer {token}"));
    bearer(&resign(&token, |_| {})).get("/api/me").await.expect(200);
    let future = resign(&token, |claims| claims["iat"] = json!(claims["iat"].as_i64().unwrap() + 3600));
    bearer(&future).get("/api/me").await.expect_error(401, "UNAUTHORIZED");
    let unknown_session = resign(&token, |claims| claims["jti"] = json!(uuid::Uuid::new_v4()));
    bearer(&unknown_session).get("/api/me").await.expect_error(401, "UNAUTHORIZED");
    let expired = resign(&token, |claims| claims["exp"] = json!(chrono::Utc::now().timestamp() - 60));
    bearer(&expired).get("/api/me").await.expect_error(401, "UNAUTHORIZED");
    let forged = format!("{}x", &token[..token.len() - 1]);
    bearer(&forged).get("/api/me").await.expect_error(401, "UNAUTHORIZED");
});

db_test!(async fn open_event_streams_end_when_their_credential_does(app) {
    let ada = app.register("ada@example.com").await;
    // A revoked key.
    let key = ada.api_key(None).await;
    let stream = open_events(&app, &format!("Bearer {key}")).await;
    let keys = ada.session.get("/api/api-keys").await;
    let key_id = keys.expect(200)[0]["id"].as_str().unwrap().to_string();
    ada.session.delete(&format!("/api/api-keys/{key_id}")).await;
    assert!(ends_within(stream, STREAM_END).await, "the revoked key's stream is still open");
    // A session signed out.
    let (_, token) = sign_in(&app, &ada.email, PASSWORD).await;
    let stream = open_events(&app, &format!("Bearer {token}")).await;
    let out = reqwest::Client::new()
        .post(format!("{}/api/auth/logout", app.address))
        .header("authorization", format!("Bearer {token}"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert!(ends_within(stream, STREAM_END).await, "the ended session's stream is still open");
    // A disabled account (by the instance admin, ada, as in Settings).
    let bob = app.register("bob@example.com").await;
    let stream = open_events(&app, &format!("Bearer {}", bob.api_key(None).await)).await;
    let (_, admin_token) = sign_in(&app, &ada.email, PASSWORD).await;
    let admin = app.app.authenticate_session(&admin_token, None).await.unwrap();
    app.app.admin_update_user(&admin, bob.id, Some(true), None).await.unwrap();
    assert!(ends_within(stream, STREAM_END).await, "the disabled account's stream is still open");
    bob.session.get("/api/me").await.expect_error(401, "UNAUTHORIZED");
});
