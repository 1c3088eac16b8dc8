//! MCP over HTTP: the same Host/Origin rules on every transport, errors in
//! the JSON error format, a Streamable HTTP session answering only the key
//! that opened it, and open streams closed within seconds of a revocation.

use std::time::Duration;

use futures::StreamExt;
use herald_testkit::{Account, TestApp, db_test};
use serde_json::{Value, json};

const STREAM_END: Duration = Duration::from_secs(10);

fn initialize() -> Value {
    json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "1"}}})
}

fn mcp_post(app: &TestApp, key: &str, body: &Value) -> reqwest::RequestBuilder {
    reqwest::Client::new()
        .post(format!("{}/api/mcp", app.address))
        .bearer_auth(key)
        .header("accept", "application/json, text/event-stream")
        .json(body)
}

/// Opens a Streamable HTTP session; returns its id.
async fn open_session(app: &TestApp, key: &str) -> String {
    let opened = mcp_post(app, key, &initialize()).send().await.unwrap();
    assert_eq!(opened.status(), 200);
    let id = opened.headers()["mcp-session-id"].to_str().unwrap().to_string();
    let initialized = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    let done = mcp_post(app, key, &initialized).header("mcp-session-id", &id).send().await.unwrap();
    assert_eq!(done.status(), 202);
    id
}

async fn revoke_all_keys(account: &Account) {
    let keys = account.session.get("/api/api-keys").await;
    for key in keys.expect(200).as_array().unwrap() {
        account.session.delete(&format!("/api/api-keys/{}", key["id"].as_str().unwrap())).await;
    }
}

async fn ends_within(response: reqwest::Response, within: Duration) -> bool {
    let mut stream = response.bytes_stream();
    tokio::time::timeout(within, async { while let Some(Ok(_)) = stream.next().await {} }).await.is_ok()
}

async fn json_error(response: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(response.status(), status);
    let request_id = response.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_string);
    let body: Value = response.json().await.expect("a JSON error body");
    assert_eq!(body["error"]["code"], code, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    assert_eq!(body["error"]["requestId"].as_str(), request_id.as_deref(), "{body}");
    body
}

db_test!(async fn a_streamable_session_answers_only_the_key_that_opened_it(app) {
    let ada = app.register("ada@example.com").await;
    let (mine, other) = (ada.api_key(None).await, ada.api_key(None).await);
    let mallory = app.register("mallory@example.com").await;
    let theirs = mallory.api_key(None).await;
    let session = open_session(&app, &mine).await;
    let list = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"});
    let answered = mcp_post(&app, &mine, &list).header("mcp-session-id", &session).send().await.unwrap();
    assert_eq!(answered.status(), 200);
    for key in [&other, &theirs] {
        let refused = mcp_post(&app, key, &list).header("mcp-session-id", &session).send().await.unwrap();
        json_error(refused, 404, "NOT_FOUND").await;
    }
    // Not even to close it.
    let close = reqwest::Client::new().delete(format!("{}/api/mcp", app.address)).bearer_auth(&theirs).header("mcp-session-id", &session).send().await.unwrap();
    json_error(close, 404, "NOT_FOUND").await;
    let still = mcp_post(&app, &mine, &list).header("mcp-session-id", &session).send().await.unwrap();
    assert_eq!(still.status(), 200);
});

db_test!(async fn open_mcp_streams_close_when_their_key_is_revoked(app) {
    let ada = app.register("ada@example.com").await;
    let key = ada.api_key(None).await;
    let session = open_session(&app, &key).await;
    let stream = reqwest::Client::new()
        .get(format!("{}/api/mcp", app.address))
        .bearer_auth(&key)
        .header("accept", "text/event-stream")
        .header("mcp-session-id", &session)
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    let legacy = reqwest::Client::new().get(format!("{}/api/mcp/{key}/sse", app.address)).send().await.unwrap();
    assert_eq!(legacy.status(), 200);
    revoke_all_keys(&ada).await;
    let (streamable, sse) = tokio::join!(ends_within(stream, STREAM_END), ends_within(legacy, STREAM_END));
    assert!(streamable, "the Streamable HTTP stream is still open");
    assert!(sse, "the legacy SSE stream is still open");
});

db_test!(async fn every_mcp_transport_checks_host_and_origin_and_answers_errors_as_json(app) {
    let ada = app.register("ada@example.com").await;
    let key = ada.api_key(None).await;
    let http = reqwest::Client::new();
    let base = &app.address;
    let foreign_host = [
        http.get(format!("{base}/api/mcp/{key}/sse")).header("host", "evil.example"),
        http.post(format!("{base}/api/mcp/{key}/messages?sessionId=x")).header("host", "evil.example").body("{}"),
        mcp_post(&app, &key, &initialize()).header("host", "evil.example"),
    ];
    for request in foreign_host {
        json_error(request.send().await.unwrap(), 403, "FORBIDDEN").await;
    }
    let foreign_origin = [
        http.get(format!("{base}/api/mcp/{key}/sse")).header("origin", "https://evil.example"),
        mcp_post(&app, &key, &initialize()).header("origin", "https://evil.example"),
    ];
    for request in foreign_origin {
        json_error(request.send().await.unwrap(), 403, "FORBIDDEN").await;
    }
    let same_origin = mcp_post(&app, &key, &initialize()).header("origin", base.as_str()).send().await.unwrap();
    assert_eq!(same_origin.status(), 200);
    // rmcp's own refusals, in Herald's format.
    let no_accept = http.post(format!("{base}/api/mcp")).bearer_auth(&key).json(&initialize()).send().await.unwrap();
    let status = no_accept.status().as_u16();
    assert!((400..500).contains(&status), "{status}");
    let body: Value = no_accept.json().await.expect("JSON");
    assert!(body["error"]["code"].is_string() && body["error"]["message"].is_string(), "{body}");
    let unknown = mcp_post(&app, &key, &json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})).header("mcp-session-id", "no-such-session").send().await.unwrap();
    json_error(unknown, 404, "NOT_FOUND").await;
    let anonymous = http.post(format!("{base}/api/mcp")).json(&initialize()).send().await.unwrap();
    json_error(anonymous, 401, "UNAUTHORIZED").await;
});
