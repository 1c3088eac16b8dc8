//! MCP resources and prompts over Streamable HTTP: the accounts and a post
//! read as resources (another workspace's post is not found, a read-only key
//! reads, a key without `integrations:read` does not), prompts listed and
//! filled in.

use herald_testkit::{db_test, id_of};
use serde_json::json;

use crate::mcp_rpc::{mcp_session, rpc};

db_test!(async fn resources_and_prompts_give_an_assistant_context(app) {
    let ada = app.register("ada@example.com").await;
    let mastodon = app.add_integration(&ada, "mastodon").await;
    let post = ada.session.post("/api/posts", json!({"content": "Resource me", "status": "DRAFT", "platforms": [mastodon]})).await;
    let post = id_of(post.expect(201));
    let key = ada.api_key(Some(&["posts:read", "integrations:read"])).await;
    let session = mcp_session(&app, &key).await;
    let call = |id: u32, method: &str, params: serde_json::Value| json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});

    let (_, init) = rpc(&app, &key, None, json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}})).await;
    assert!(init["result"]["capabilities"]["resources"].is_object() && init["result"]["capabilities"]["prompts"].is_object(), "{init}");

    let (_, listed) = rpc(&app, &key, Some(&session), call(2, "resources/list", json!({}))).await;
    let uris: Vec<&str> = listed["result"]["resources"].as_array().unwrap().iter().map(|r| r["uri"].as_str().unwrap()).collect();
    assert!(uris.contains(&"herald://integrations") && uris.contains(&format!("herald://posts/{post}").as_str()), "{listed}");
    let (_, templates) = rpc(&app, &key, Some(&session), call(3, "resources/templates/list", json!({}))).await;
    assert_eq!(templates["result"]["resourceTemplates"][0]["uriTemplate"], "herald://posts/{id}");

    let (_, accounts) = rpc(&app, &key, Some(&session), call(4, "resources/read", json!({"uri": "herald://integrations"}))).await;
    let contents = &accounts["result"]["contents"][0];
    assert_eq!(contents["mimeType"], "application/json");
    let body: serde_json::Value = serde_json::from_str(contents["text"].as_str().unwrap()).unwrap();
    assert_eq!(body["integrations"][0]["id"], mastodon.to_string());
    let (_, read) = rpc(&app, &key, Some(&session), call(5, "resources/read", json!({"uri": format!("herald://posts/{post}")}))).await;
    let body: serde_json::Value = serde_json::from_str(read["result"]["contents"][0]["text"].as_str().unwrap()).unwrap();
    assert_eq!(body["content"], "Resource me");
    assert!(body["createdAtLocal"].is_string());

    // Another workspace's post, a made-up URI: not found.
    let bob = app.register("bob@example.com").await;
    let theirs = bob.session.post("/api/posts", json!({"content": "Bob's", "status": "DRAFT"})).await;
    let theirs = id_of(theirs.expect(201));
    let (_, hidden) = rpc(&app, &key, Some(&session), call(6, "resources/read", json!({"uri": format!("herald://posts/{theirs}")}))).await;
    assert_eq!(hidden["error"]["code"], -32002, "{hidden}");
    let (_, unknown) = rpc(&app, &key, Some(&session), call(7, "resources/read", json!({"uri": "herald://secrets"}))).await;
    assert_eq!(unknown["error"]["code"], -32002);
    // A key without integrations:read does not read the accounts.
    let posts_only = ada.api_key(Some(&["posts:read"])).await;
    let other = mcp_session(&app, &posts_only).await;
    let (_, refused) = rpc(&app, &posts_only, Some(&other), call(8, "resources/read", json!({"uri": "herald://integrations"}))).await;
    assert!(refused["error"]["message"].as_str().unwrap().contains("FORBIDDEN"), "{refused}");

    let (_, prompts) = rpc(&app, &key, Some(&session), call(9, "prompts/list", json!({}))).await;
    let names: Vec<&str> = prompts["result"]["prompts"].as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["plan_week", "adapt_for_each_account"]);
    let (_, plan) = rpc(&app, &key, Some(&session), call(10, "prompts/get", json!({"name": "plan_week", "arguments": {"topic": "our launch"}}))).await;
    let text = plan["result"]["messages"][0]["content"]["text"].as_str().unwrap();
    assert!(text.contains("our launch") && text.contains("find_next_slot") && text.contains("validate_post"), "{text}");
    let (_, missing) = rpc(&app, &key, Some(&session), call(11, "prompts/get", json!({"name": "plan_week", "arguments": {}}))).await;
    assert_eq!(missing["error"]["code"], -32602, "{missing}");
});
