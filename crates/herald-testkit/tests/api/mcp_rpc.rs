//! A small MCP client over Streamable HTTP for the tests that call tools
//! with raw JSON-RPC (the SDK clients are tested in `herald::cli::mcp`).

use herald_testkit::TestApp;
use serde_json::{Value, json};

/// A JSON-RPC call over Streamable HTTP; the answer, read from JSON or SSE.
pub async fn rpc(app: &TestApp, key: &str, session: Option<&str>, body: Value) -> (Option<String>, Value) {
    let mut request = reqwest::Client::new()
        .post(format!("{}/api/mcp", app.address))
        .bearer_auth(key)
        .header("accept", "application/json, text/event-stream")
        .json(&body);
    if let Some(session) = session {
        request = request.header("mcp-session-id", session);
    }
    let answer = request.send().await.unwrap();
    let id = answer.headers().get("mcp-session-id").map(|v| v.to_str().unwrap().to_string());
    let text = answer.text().await.unwrap();
    let json = text.lines().filter_map(|l| l.strip_prefix("data:")).find_map(|d| serde_json::from_str(d.trim()).ok());
    (id, json.or_else(|| serde_json::from_str(&text).ok()).unwrap_or(Value::Null))
}

pub async fn mcp_session(app: &TestApp, key: &str) -> String {
    let init = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "herald-tests", "version": "1"}}});
    let (id, _) = rpc(app, key, None, init).await;
    let id = id.unwrap();
    rpc(app, key, Some(&id), json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
    id
}

pub async fn tool(app: &TestApp, key: &str, session: &str, name: &str, arguments: Value) -> Value {
    let call =
        json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": name, "arguments": arguments}});
    rpc(app, key, Some(session), call).await.1["result"].clone()
}

pub fn tool_error_code(result: &Value) -> Option<&str> {
    (result["isError"] == true).then(|| result["structuredContent"]["error"]["code"].as_str()).flatten()
}
