//! Scoping, table-driven over every resource route and MCP tool: another
//! workspace's id answers 404 (never 403, which would confirm it exists),
//! its lists and events show nothing of it, a key without the route's scope
//! answers 403 naming the scope, and workspace roles hold on every path.

use chrono::{TimeZone, Utc};
use herald_store::OAuthPendingRow;
use herald_store::repo::{ApiKeys, NewApiKeyRow, PendingConnections};
use herald_testkit::{Account, Client, TINY_PNG, TestApp, db_test, id_of, in_minutes};

use crate::mcp_rpc::{mcp_session, tool, tool_error_code};
use reqwest::Method;
use sea_orm::{ConnectionTrait, Statement, Value as DbValue};
use serde_json::{Value, json};
use uuid::Uuid;

const ALL_SCOPES: [&str; 5] = ["posts:read", "posts:write", "posts:publish", "analytics:read", "integrations:read"];

/// Ids of one workspace's resources.
struct Owned {
    post: String,
    workspace: Uuid,
    owner: Uuid,
    integration: Uuid,
    media: String,
    key_id: String,
    /// An OAuth choice waiting for the owner.
    pending: Uuid,
    feed: String,
    /// A connected MCP app's grant.
    connected_app: Uuid,
    customer: String,
    tag: String,
    signature: String,
    set: String,
    preview_link: String,
    connect_link: String,
}

async fn resources_of(app: &TestApp, account: &Account) -> Owned {
    let integration = app.add_integration(account, "webhook").await;
    let post = account
        .session
        .post("/api/posts", json!({"content": "mine", "status": "DRAFT", "platforms": [integration]}))
        .await;
    let media = account.session.upload("a.png", TINY_PNG.to_vec(), None).await;
    let feed = account
        .session
        .post(
            "/api/feeds",
            json!({"url": "https://feeds.example/rss.xml", "platforms": [integration], "mode": "DRAFT", "pollMinutes": 1440}),
        )
        .await;
    let feed = id_of(feed.expect(201));
    account.api_key(None).await;
    let keys = account.session.get("/api/api-keys").await;
    let pending = Uuid::now_v7();
    let vault = herald_core::vault::Vault::from_hex(herald_testkit::TEST_ENCRYPTION_KEY).unwrap();
    PendingConnections(app.store.conn())
        .insert(OAuthPendingRow {
            id: pending,
            platform: "x".into(),
            user_id: account.id,
            workspace_id: account.workspace_id,
            sealed: vault.encrypt(b"[]", pending.as_bytes()),
            expires_at: app.store.now() + chrono::Duration::minutes(30),
            created_at: app.store.now(),
        })
        .await
        .unwrap();
    let grant = ApiKeys(app.store.conn())
        .create(NewApiKeyRow {
            user_id: account.id,
            workspace_id: account.workspace_id,
            name: "Assistant".into(),
            key_hash: format!("grant-{}", Uuid::now_v7()),
            prefix: "app".into(),
            scopes: vec!["posts:read".into()],
            expires_at: None,
            created_at: app.store.now(),
            mcp_client_id: Some("matrix-test-client".into()),
        })
        .await
        .unwrap();
    let customer = id_of(account.session.post("/api/customers", json!({"name": "Acme"})).await.expect(201));
    let connect_link = account.session.post(&format!("/api/customers/{customer}/connect-links"), json!({})).await;
    let tag = account.session.post("/api/tags", json!({"name": "launch"})).await;
    let signature = account.session.post("/api/signatures", json!({"name": "Sig", "content": "— Ada"})).await;
    let set = account.session.post("/api/sets", json!({"name": "All", "integrationIds": [integration]})).await;
    let post = id_of(post.expect(201));
    let preview_link = account.session.post(&format!("/api/posts/{post}/preview-links"), json!({})).await;
    Owned {
        customer,
        connect_link: id_of(connect_link.expect(201)),
        tag: id_of(tag.expect(201)),
        signature: id_of(signature.expect(201)),
        set: id_of(set.expect(201)),
        preview_link: id_of(preview_link.expect(201)),
        connected_app: grant.id,
        workspace: account.workspace_id,
        owner: account.id,
        pending,
        feed,
        post,
        integration,
        media: id_of(media.expect(201)),
        key_id: keys.expect(200)[0]["id"].as_str().unwrap().to_string(),
    }
}

/// A route: method, path, body, and the scope a key needs (`None`: only a
/// signed-in session may use it).
struct Route {
    method: Method,
    path: String,
    body: Option<Value>,
    scope: Option<&'static str>,
}

fn route(method: Method, path: String, body: Option<Value>, scope: Option<&'static str>) -> Route {
    Route { method, path, body, scope }
}

/// Every route that names one resource by id.
fn routes_on(ids: &Owned) -> Vec<Route> {
    let (post, integration, media, key, pending) = (&ids.post, ids.integration, &ids.media, &ids.key_id, ids.pending);
    let (workspace, owner) = (ids.workspace, ids.owner);
    vec![
        route(Method::GET, format!("/api/posts/{post}"), None, Some("posts:read")),
        route(Method::GET, format!("/api/posts/{post}/occurrences"), None, Some("posts:read")),
        route(Method::POST, format!("/api/feeds/{}/poll", ids.feed), Some(json!({})), Some("posts:write")),
        route(Method::DELETE, format!("/api/feeds/{}", ids.feed), None, Some("posts:write")),
        route(Method::PUT, format!("/api/posts/{post}"), Some(json!({"content": "changed"})), Some("posts:write")),
        route(Method::POST, format!("/api/posts/{post}/publish"), Some(json!({})), Some("posts:publish")),
        route(Method::DELETE, format!("/api/posts/{post}"), None, Some("posts:write")),
        route(Method::GET, format!("/api/analytics/{post}"), None, Some("analytics:read")),
        route(Method::GET, format!("/api/integrations/{integration}"), None, Some("integrations:read")),
        route(Method::GET, format!("/api/integrations/{integration}/next-slot"), None, Some("posts:read")),
        route(Method::GET, format!("/api/analytics/integrations/{integration}"), None, Some("analytics:read")),
        route(Method::PATCH, format!("/api/integrations/{integration}"), Some(json!({"name": "taken"})), None),
        route(Method::DELETE, format!("/api/integrations/{integration}"), None, None),
        route(Method::PATCH, format!("/api/media/{media}"), Some(json!({"altText": "taken"})), Some("posts:write")),
        route(Method::DELETE, format!("/api/api-keys/{key}"), None, None),
        route(Method::DELETE, format!("/api/connected-apps/{}", ids.connected_app), None, None),
        route(Method::GET, format!("/api/integrations/pending/{pending}"), None, None),
        route(Method::POST, format!("/api/posts/{post}/submit"), Some(json!({})), Some("posts:write")),
        route(Method::GET, format!("/api/integrations/{integration}/queue"), None, Some("posts:read")),
        route(
            Method::POST,
            format!("/api/integrations/{integration}/queue"),
            Some(json!({"postIds": []})),
            Some("posts:publish"),
        ),
        route(
            Method::POST,
            format!("/api/integrations/{integration}/queue/shuffle"),
            Some(json!({})),
            Some("posts:publish"),
        ),
        route(
            Method::POST,
            format!("/api/integrations/{integration}/queue/compact"),
            Some(json!({})),
            Some("posts:publish"),
        ),
        route(Method::POST, format!("/api/posts/{post}/approve"), Some(json!({})), Some("posts:publish")),
        route(Method::POST, format!("/api/posts/{post}/reject"), Some(json!({"note": "no"})), Some("posts:publish")),
        route(Method::PATCH, format!("/api/workspaces/{workspace}"), Some(json!({"name": "taken"})), None),
        route(Method::POST, format!("/api/workspaces/{workspace}/select"), Some(json!({})), None),
        route(Method::GET, format!("/api/workspaces/{workspace}/members"), None, None),
        route(
            Method::PATCH,
            format!("/api/workspaces/{workspace}/members/{owner}"),
            Some(json!({"role": "VIEWER"})),
            None,
        ),
        route(Method::DELETE, format!("/api/workspaces/{workspace}/members/{owner}"), None, None),
        route(Method::GET, format!("/api/workspaces/{workspace}/invites"), None, None),
        route(
            Method::POST,
            format!("/api/workspaces/{workspace}/invites"),
            Some(json!({"email": "x@example.com"})),
            None,
        ),
        route(Method::POST, format!("/api/integrations/pending/{pending}"), Some(json!({"accountIds": ["a"]})), None),
        // For agencies.
        route(Method::PATCH, format!("/api/customers/{}", ids.customer), Some(json!({"name": "Taken"})), None),
        route(Method::GET, format!("/api/customers/{}/connect-links", ids.customer), None, None),
        route(Method::POST, format!("/api/customers/{}/connect-links", ids.customer), Some(json!({})), None),
        route(
            Method::DELETE,
            format!("/api/customers/{}/connect-links/{}", ids.customer, ids.connect_link),
            None,
            None,
        ),
        route(Method::DELETE, format!("/api/customers/{}", ids.customer), None, None),
        route(
            Method::PUT,
            format!("/api/integrations/{integration}/customer"),
            Some(json!({"customerId": null})),
            None,
        ),
        route(Method::GET, format!("/api/integrations?customer={}", ids.customer), None, Some("integrations:read")),
        route(Method::GET, format!("/api/posts?customer={}", ids.customer), None, Some("posts:read")),
        route(Method::PATCH, format!("/api/tags/{}", ids.tag), Some(json!({"color": "#000000"})), Some("posts:write")),
        route(Method::DELETE, format!("/api/tags/{}", ids.tag), None, Some("posts:write")),
        route(
            Method::PATCH,
            format!("/api/signatures/{}", ids.signature),
            Some(json!({"name": "x"})),
            Some("posts:write"),
        ),
        route(Method::DELETE, format!("/api/signatures/{}", ids.signature), None, Some("posts:write")),
        route(Method::PATCH, format!("/api/sets/{}", ids.set), Some(json!({"name": "x"})), Some("posts:write")),
        route(Method::DELETE, format!("/api/sets/{}", ids.set), None, Some("posts:write")),
        route(Method::GET, format!("/api/posts/{post}/preview-links"), None, Some("posts:read")),
        route(Method::POST, format!("/api/posts/{post}/preview-links"), Some(json!({})), Some("posts:write")),
        route(
            Method::DELETE,
            format!("/api/posts/{post}/preview-links/{}", ids.preview_link),
            None,
            Some("posts:write"),
        ),
        route(Method::GET, format!("/api/posts/{post}/comments"), None, Some("posts:read")),
        route(Method::POST, format!("/api/posts/{post}/comments"), Some(json!({"body": "hi"})), Some("posts:read")),
    ]
}

/// Every route without an id, with the scope it needs.
fn collection_routes(ids: &Owned) -> Vec<Route> {
    vec![
        route(Method::GET, "/api/posts".into(), None, Some("posts:read")),
        route(Method::POST, "/api/posts".into(), Some(json!({"content": "x", "status": "DRAFT"})), Some("posts:write")),
        route(
            Method::POST,
            "/api/posts".into(),
            Some(json!({"content": "x", "platforms": [ids.integration], "scheduledFor": in_minutes(60)})),
            Some("posts:publish"),
        ),
        route(Method::POST, "/api/posts/validate".into(), Some(json!({"content": "x"})), Some("posts:read")),
        route(Method::GET, "/api/integrations".into(), None, Some("integrations:read")),
        route(Method::POST, "/api/integrations".into(), Some(json!({"platform": "webhook", "credentials": {}})), None),
        route(Method::GET, "/api/media".into(), None, Some("posts:read")),
        route(
            Method::POST,
            "/api/media/from-url".into(),
            Some(json!({"url": "https://cdn.example/a.png"})),
            Some("posts:write"),
        ),
        route(Method::GET, "/api/events?timeout=1".into(), None, Some("posts:read")),
        route(Method::GET, "/api/api-keys".into(), None, None),
        route(Method::GET, "/api/connected-apps".into(), None, None),
        route(Method::POST, "/api/api-keys".into(), Some(json!({"name": "k"})), None),
        route(Method::POST, "/api/auth/logout-all".into(), Some(json!({})), None),
        route(Method::POST, "/api/me/password".into(), Some(json!({"currentPassword": "x", "newPassword": "y"})), None),
        route(Method::GET, "/api/auth/x".into(), None, None),
        route(Method::GET, "/api/auth/x/callback?code=c&state=s".into(), None, None),
        route(Method::GET, "/api/audit".into(), None, Some("posts:read")),
        route(Method::GET, "/api/notifications".into(), None, Some("posts:read")),
        route(Method::POST, "/api/notifications/read".into(), Some(json!({})), Some("posts:read")),
        route(Method::POST, "/api/workspaces".into(), Some(json!({"name": "x"})), None),
        route(Method::GET, "/api/me/email-preferences".into(), None, None),
        route(Method::PUT, "/api/me/email-preferences".into(), Some(json!({})), None),
        route(Method::GET, "/api/posts/export?format=csv".into(), None, Some("posts:read")),
        route(Method::POST, "/api/posts/import".into(), Some(json!([])), Some("posts:write")),
        route(Method::GET, "/api/feeds".into(), None, Some("posts:read")),
        route(Method::GET, "/api/customers".into(), None, Some("integrations:read")),
        route(Method::POST, "/api/customers".into(), Some(json!({"name": "New client"})), None),
        route(Method::GET, "/api/tags".into(), None, Some("posts:read")),
        route(Method::POST, "/api/tags".into(), Some(json!({"name": "fresh"})), Some("posts:write")),
        route(Method::GET, "/api/signatures".into(), None, Some("posts:read")),
        route(Method::POST, "/api/signatures".into(), Some(json!({"name": "s", "content": "c"})), Some("posts:write")),
        route(Method::GET, "/api/sets".into(), None, Some("posts:read")),
        route(
            Method::POST,
            "/api/sets".into(),
            Some(json!({"name": "s", "integrationIds": [ids.integration]})),
            Some("posts:write"),
        ),
        route(
            Method::POST,
            "/api/ai/suggest".into(),
            Some(json!({"content": "x", "platforms": [ids.integration], "action": "rewrite"})),
            Some("posts:write"),
        ),
        route(
            Method::POST,
            "/api/feeds".into(),
            Some(json!({"url": "https://feeds.example/m.xml", "platforms": [ids.integration], "mode": "DRAFT"})),
            Some("posts:write"),
        ),
        route(
            Method::POST,
            "/api/feeds".into(),
            Some(json!({"url": "https://feeds.example/m.xml", "platforms": [ids.integration], "mode": "NOW"})),
            Some("posts:publish"),
        ),
    ]
}

async fn send(client: &Client, route: &Route) -> herald_testkit::Resp {
    client.send(route.method.clone(), &route.path, route.body.clone()).await
}

fn key_without(account: &Account, scope: &str) -> impl Future<Output = String> {
    let scopes: Vec<&str> = ALL_SCOPES.iter().copied().filter(|s| *s != scope).collect();
    let session = account.session.clone();
    async move {
        let created =
            session.post("/api/api-keys", json!({"name": format!("without {scope}"), "scopes": scopes})).await;
        created.expect(201)["key"].as_str().unwrap().to_string()
    }
}

db_test!(async fn another_workspace_s_ids_answer_404_on_every_route(app) {
    let ada = app.register("ada@example.com").await;
    let theirs = resources_of(&app, &ada).await;
    let mallory = app.register("mallory@example.com").await;
    let mallory_key = app.with_key(&mallory.api_key(None).await);
    for route in routes_on(&theirs) {
        let client = if route.scope.is_some() { &mallory_key } else { &mallory.session };
        let answer = send(client, &route).await;
        answer.expect_error(404, "NOT_FOUND");
        if route.scope.is_some() {
            send(&mallory.session, &route).await.expect_error(404, "NOT_FOUND");
        }
    }
    // Lists show nothing of it, and ids in bodies are answered like unknown ones.
    for (path, id) in [("/api/posts", theirs.post.clone()), ("/api/integrations", theirs.integration.to_string()), ("/api/media", theirs.media.clone())] {
        let list = mallory_key.get(path).await;
        assert!(!list.text.contains(&id), "{path} shows another workspace's {id}");
    }
    assert!(!mallory.session.get("/api/api-keys").await.text.contains(&theirs.key_id));
    assert!(!mallory.session.get("/api/connected-apps").await.text.contains(&theirs.connected_app.to_string()));
    let borrowed = mallory_key.post("/api/posts", json!({"content": "x", "status": "DRAFT", "platforms": [theirs.integration], "mediaIds": [theirs.media]})).await;
    let fields: Vec<String> = borrowed.expect_error(422, "VALIDATION_FAILED")["details"]["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_string()).collect();
    assert!(fields.contains(&"platforms[0]".to_string()) && fields.contains(&"mediaIds[0]".to_string()), "{fields:?}");
    // Nothing of theirs changed.
    let post = ada.session.get(&format!("/api/posts/{}", theirs.post)).await;
    assert_eq!((post.body["content"].as_str(), post.body["status"].as_str()), (Some("mine"), Some("DRAFT")));
    ada.session.get(&format!("/api/integrations/{}", theirs.integration)).await.expect(200);
    // Their events never reach another workspace's stream.
    let stream = reqwest::Client::new().get(format!("{}/api/events?timeout=2", app.address)).bearer_auth(mallory.api_key(None).await).send().await.unwrap();
    ada.session.post("/api/posts", json!({"content": "secret plans", "status": "DRAFT"})).await.expect(201);
    let seen = stream.text().await.unwrap();
    assert!(!seen.contains("secret plans") && !seen.contains(&theirs.post), "{seen}");
});

db_test!(async fn a_key_without_the_route_s_scope_gets_403_naming_it(app) {
    let ada = app.register("ada@example.com").await;
    let ids = resources_of(&app, &ada).await;
    let mut without = std::collections::BTreeMap::new();
    for scope in ALL_SCOPES {
        without.insert(scope, app.with_key(&key_without(&ada, scope).await));
    }
    let full = app.with_key(&ada.api_key(None).await);
    for route in routes_on(&ids).into_iter().chain(collection_routes(&ids)) {
        match route.scope {
            Some(scope) => {
                let refused = send(&without[scope], &route).await;
                let error = refused.expect_error(403, "FORBIDDEN");
                assert_eq!(error["details"]["requiredScope"], scope, "{} {}", route.method, route.path);
            }
            // Session-only routes refuse every key, whatever its scopes.
            None => {
                let answer = send(&full, &route).await;
                assert_eq!(answer.status, 403, "{} {}", route.method, route.path);
                answer.expect_error(403, "FORBIDDEN");
            }
        }
    }
});

/// Makes `account` a member of `workspace` with `role`, as its first
/// (so default) workspace — what an invitation will do.
async fn join(app: &TestApp, account: &Account, workspace: Uuid, role: &str) {
    let conn = app.store.conn();
    let backend = conn.get_database_backend();
    let placeholders = match app.backend {
        herald_testkit::Backend::Postgres => "$1, $2, $3, $4",
        herald_testkit::Backend::Sqlite => "?, ?, ?, ?",
    };
    let sql =
        format!("INSERT INTO workspace_members (workspace_id, user_id, role, created_at) VALUES ({placeholders})");
    let long_ago = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap();
    let values: [DbValue; 4] = [workspace.into(), account.id.into(), role.into(), long_ago.into()];
    conn.execute_raw(Statement::from_sql_and_values(backend, sql, values)).await.unwrap();
}

db_test!(async fn roles_hold_on_every_path(app) {
    let owner = app.register("owner@example.com").await;
    let ids = resources_of(&app, &owner).await;
    let viewer = app.register("viewer@example.com").await;
    join(&app, &viewer, owner.workspace_id, "VIEWER").await;
    let contributor = app.register("contributor@example.com").await;
    join(&app, &contributor, owner.workspace_id, "CONTRIBUTOR").await;
    assert_eq!(viewer.session.get("/api/me").await.body["workspaceRole"], "VIEWER");

    // What each role may do: (route, viewer, contributor).
    let integration = ids.integration;
    let cases = [
        (route(Method::GET, format!("/api/posts/{}", ids.post), None, None), true, true),
        (route(Method::GET, "/api/integrations".into(), None, None), true, true),
        (route(Method::POST, "/api/posts".into(), Some(json!({"content": "idea", "status": "DRAFT"})), None), false, true),
        (route(Method::PUT, format!("/api/posts/{}", ids.post), Some(json!({"content": "edit"})), None), false, true),
        (route(Method::PATCH, format!("/api/media/{}", ids.media), Some(json!({"altText": "alt"})), None), false, true),
        (route(Method::POST, "/api/posts".into(), Some(json!({"content": "go", "platforms": [integration], "scheduledFor": in_minutes(30)})), None), false, false),
        (route(Method::POST, format!("/api/posts/{}/publish", ids.post), Some(json!({})), None), false, false),
        (route(Method::PATCH, format!("/api/integrations/{integration}"), Some(json!({"name": "renamed"})), None), false, false),
        (route(Method::POST, "/api/integrations".into(), Some(json!({"platform": "webhook", "credentials": {"url": "https://hooks.example/x", "secret": "0123456789abcdef"}})), None), false, false),
        (route(Method::DELETE, format!("/api/integrations/{integration}"), None, None), false, false),
        (route(Method::DELETE, format!("/api/posts/{}", ids.post), None, None), false, true),
        (route(Method::GET, "/api/auth/x".into(), None, None), false, false),
        (route(Method::POST, format!("/api/integrations/pending/{}", ids.pending), Some(json!({"accountIds": ["a"]})), None), false, false),
    ];
    for (route, viewer_may, contributor_may) in &cases {
        for (who, may) in [(&viewer, *viewer_may), (&contributor, *contributor_may)] {
            let answer = send(&who.session, route).await;
            if may {
                assert!(answer.status < 300, "{} may {} {}: {}", who.email, route.method, route.path, answer.text);
            } else {
                answer.expect_error(403, "FORBIDDEN");
            }
        }
    }
    ada_still_owns(&owner, &ids).await;
});

async fn ada_still_owns(owner: &Account, ids: &Owned) {
    owner.session.get(&format!("/api/integrations/{}", ids.integration)).await.expect(200);
}

db_test!(async fn mcp_tools_are_scoped_like_the_routes(app) {
    let ada = app.register("ada@example.com").await;
    let ids = resources_of(&app, &ada).await;
    let mallory = app.register("mallory@example.com").await;
    let mallory_key = mallory.api_key(None).await;
    let session = mcp_session(&app, &mallory_key).await;
    let post = ids.post.clone();
    let integration = ids.integration.to_string();
    let on_theirs = [
        ("get_post", json!({"postId": post})),
        ("update_post", json!({"postId": post, "content": "taken"})),
        ("delete_post", json!({"postId": post})),
        ("publish_post", json!({"postId": post})),
        ("get_post_analytics", json!({"postId": post})),
        ("get_integration_analytics", json!({"integrationId": integration})),
        ("find_next_slot", json!({"integrationId": integration})),
        ("create_preview_link", json!({"postId": post})),
        ("list_integrations", json!({"customerId": ids.customer})),
    ];
    for (name, arguments) in &on_theirs {
        let result = tool(&app, &mallory_key, &session, name, arguments.clone()).await;
        assert_eq!(tool_error_code(&result), Some("NOT_FOUND"), "{name}: {result}");
    }
    for (name, arguments) in [("list_posts", json!({})), ("list_integrations", json!({})), ("list_customers", json!({}))] {
        let result = tool(&app, &mallory_key, &session, name, arguments).await;
        let text = result.to_string();
        assert!(!text.contains(&post) && !text.contains(&integration), "{name}: {text}");
    }
    // Missing scopes, on the caller's own data.
    let own = [
        ("posts:read", "get_post", json!({"postId": post})),
        ("posts:write", "update_post", json!({"postId": post, "content": "x"})),
        ("posts:publish", "publish_post", json!({"postId": post})),
        ("analytics:read", "get_post_analytics", json!({"postId": post})),
        ("integrations:read", "list_integrations", json!({})),
        ("integrations:read", "list_customers", json!({})),
        ("posts:write", "create_preview_link", json!({"postId": post})),
    ];
    for (scope, name, arguments) in own {
        let key = key_without(&ada, scope).await;
        let session = mcp_session(&app, &key).await;
        let result = tool(&app, &key, &session, name, arguments).await;
        assert_eq!(tool_error_code(&result), Some("FORBIDDEN"), "{name} without {scope}: {result}");
        assert_eq!(result["structuredContent"]["error"]["details"]["requiredScope"], scope);
    }
});
