//! Workspace roles, table-driven over every REST route, every state-changing
//! UI action and every MCP tool: OWNER > EDITOR > CONTRIBUTOR > VIEWER, each
//! allowed exactly what its row says and refused with 403 otherwise. The
//! tables are checked against the OpenAPI document and `tools/list`, so a
//! new route or tool without a row fails here.

use std::collections::BTreeSet;

use herald_store::OAuthPendingRow;
use herald_store::repo::{ApiKeys, NewApiKeyRow, PendingConnections};
use herald_testkit::{Account, TINY_PNG, TestApp, db_test, id_of};
use reqwest::Method;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::browser::Browser;
use crate::mcp_rpc::{mcp_session, rpc, tool, tool_error_code};

/// Who may: the lowest role allowed, or a route outside workspace roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Need {
    Viewer,
    Contributor,
    Editor,
    Owner,
}

const ROLES: [(&str, Need); 4] =
    [("VIEWER", Need::Viewer), ("CONTRIBUTOR", Need::Contributor), ("EDITOR", Need::Editor), ("OWNER", Need::Owner)];

/// Routes with no workspace role to check, and why.
const OUTSIDE_ROLES: &[(&str, &str, &str)] = &[
    ("/api/health", "get", "public"),
    ("/api/auth/register", "post", "signed out"),
    ("/api/auth/login", "post", "signed out"),
    ("/api/auth/logout", "post", "ends one's own session"),
    ("/api/auth/logout-all", "post", "ends one's own sessions"),
    ("/api/me/password", "post", "one's own account"),
    ("/api/auth/{platform}/callback", "get", "bound to the OAuth state of whoever started it"),
    ("/api/invites/{token}", "get", "public: the invite page"),
    ("/api/invites/{token}/accept", "post", "the invitee, whatever their roles elsewhere (teams.rs)"),
];

struct Case {
    /// The route as the OpenAPI document names it.
    api: (&'static str, &'static str),
    /// The concrete path, with `{placeholders}` filled per call.
    path: &'static str,
    body: Option<Value>,
    need: Need,
}

fn case(api: (&'static str, &'static str), path: &'static str, body: Option<Value>, need: Need) -> Case {
    Case { api, path, body, need }
}

fn rest_cases() -> Vec<Case> {
    use Need::*;
    let later = (chrono::Utc::now() + chrono::Duration::hours(3)).to_rfc3339();
    vec![
        case(("/api/me", "get"), "/api/me", None, Viewer),
        case(("/api/api-keys", "get"), "/api/api-keys", None, Viewer),
        case(("/api/api-keys", "post"), "/api/api-keys", Some(json!({"name": "k", "scopes": ["posts:read"]})), Viewer),
        case(("/api/api-keys/{id}", "delete"), "/api/api-keys/{key}", None, Viewer),
        case(("/api/connected-apps", "get"), "/api/connected-apps", None, Viewer),
        case(("/api/connected-apps/{id}", "delete"), "/api/connected-apps/{connected_app}", None, Viewer),
        case(("/api/integrations", "get"), "/api/integrations", None, Viewer),
        case(
            ("/api/integrations", "post"),
            "/api/integrations",
            Some(
                json!({"platform": "webhook", "credentials": {"url": "https://hooks.example/x", "secret": "0123456789abcdef"}}),
            ),
            Editor,
        ),
        case(("/api/integrations/{id}", "get"), "/api/integrations/{integration}", None, Viewer),
        case(
            ("/api/integrations/{id}", "patch"),
            "/api/integrations/{fresh_integration}",
            Some(json!({"name": "renamed"})),
            Editor,
        ),
        case(("/api/integrations/{id}", "delete"), "/api/integrations/{fresh_integration}", None, Editor),
        case(("/api/integrations/{id}/next-slot", "get"), "/api/integrations/{integration}/next-slot", None, Viewer),
        // Reading one's own pending choice; making it (POST) needs EDITOR.
        case(("/api/integrations/pending/{id}", "get"), "/api/integrations/pending/{pending}", None, Viewer),
        case(
            ("/api/integrations/pending/{id}", "post"),
            "/api/integrations/pending/{pending}",
            Some(json!({"accountIds": ["a"]})),
            Editor,
        ),
        case(("/api/auth/{platform}", "get"), "/api/auth/x", None, Editor),
        case(("/api/events", "get"), "/api/events?timeout=1", None, Viewer),
        case(("/api/integrations/{id}/queue", "get"), "/api/integrations/{integration}/queue", None, Viewer),
        case(
            ("/api/integrations/{id}/queue", "post"),
            "/api/integrations/{integration}/queue",
            Some(json!({"postIds": []})),
            Editor,
        ),
        case(
            ("/api/integrations/{id}/queue/shuffle", "post"),
            "/api/integrations/{integration}/queue/shuffle",
            Some(json!({})),
            Editor,
        ),
        case(
            ("/api/integrations/{id}/queue/compact", "post"),
            "/api/integrations/{integration}/queue/compact",
            Some(json!({})),
            Editor,
        ),
        case(("/api/analytics/{id}", "get"), "/api/analytics/{draft}", None, Viewer),
        case(("/api/analytics/integrations/{id}", "get"), "/api/analytics/integrations/{integration}", None, Viewer),
        case(("/api/media", "get"), "/api/media", None, Viewer),
        case(("/api/media", "post"), "/api/media", None, Contributor),
        case(
            ("/api/media/from-url", "post"),
            "/api/media/from-url",
            Some(json!({"url": "https://cdn.example/a.png"})),
            Contributor,
        ),
        case(("/api/media/{id}", "patch"), "/api/media/{media}", Some(json!({"altText": "alt"})), Contributor),
        case(("/api/platforms", "get"), "/api/platforms", None, Viewer),
        case(("/api/posts", "get"), "/api/posts", None, Viewer),
        case(("/api/posts", "post"), "/api/posts", Some(json!({"content": "idea", "status": "DRAFT"})), Contributor),
        case(
            ("/api/posts", "post"),
            "/api/posts",
            Some(json!({"content": "go", "platforms": ["{integration}"], "scheduledFor": later})),
            Editor,
        ),
        case(("/api/posts/validate", "post"), "/api/posts/validate", Some(json!({"content": "x"})), Viewer),
        case(("/api/posts/{id}", "get"), "/api/posts/{draft}", None, Viewer),
        case(("/api/posts/{id}/occurrences", "get"), "/api/posts/{draft}/occurrences", None, Viewer),
        case(("/api/posts/{id}", "put"), "/api/posts/{draft}", Some(json!({"content": "edited"})), Contributor),
        case(("/api/posts/{id}", "put"), "/api/posts/{scheduled}", Some(json!({"content": "edited"})), Editor),
        case(("/api/posts/{id}", "delete"), "/api/posts/{draft}", None, Contributor),
        case(("/api/posts/{id}", "delete"), "/api/posts/{scheduled}", None, Editor),
        case(("/api/posts/{id}/publish", "post"), "/api/posts/{draft}/publish", Some(json!({})), Editor),
        case(("/api/posts/{id}/submit", "post"), "/api/posts/{draft}/submit", Some(json!({})), Contributor),
        case(("/api/posts/{id}/approve", "post"), "/api/posts/{requested}/approve", Some(json!({})), Editor),
        case(("/api/posts/{id}/reject", "post"), "/api/posts/{requested}/reject", Some(json!({"note": "no"})), Editor),
        case(("/api/workspaces", "get"), "/api/workspaces", None, Viewer),
        case(("/api/workspaces", "post"), "/api/workspaces", Some(json!({"name": "Mine"})), Viewer),
        case(("/api/workspaces/{id}", "get"), "/api/workspaces/{workspace}", None, Viewer),
        case(
            ("/api/workspaces/{id}", "patch"),
            "/api/workspaces/{workspace}",
            Some(json!({"requireApproval": false})),
            Owner,
        ),
        case(("/api/workspaces/{id}/select", "post"), "/api/workspaces/{workspace}/select", Some(json!({})), Viewer),
        case(("/api/workspaces/{id}/members", "get"), "/api/workspaces/{workspace}/members", None, Owner),
        case(
            ("/api/workspaces/{id}/members/{userId}", "patch"),
            "/api/workspaces/{workspace}/members/{member}",
            Some(json!({"role": "EDITOR"})),
            Owner,
        ),
        case(
            ("/api/workspaces/{id}/members/{userId}", "delete"),
            "/api/workspaces/{workspace}/members/{member}",
            None,
            Owner,
        ),
        case(("/api/workspaces/{id}/invites", "get"), "/api/workspaces/{workspace}/invites", None, Owner),
        case(
            ("/api/workspaces/{id}/invites", "post"),
            "/api/workspaces/{workspace}/invites",
            Some(json!({"email": "{email}"})),
            Owner,
        ),
        case(
            ("/api/workspaces/{id}/invites/{inviteId}", "delete"),
            "/api/workspaces/{workspace}/invites/{invite}",
            None,
            Owner,
        ),
        case(("/api/audit", "get"), "/api/audit", None, Editor),
        case(("/api/feeds", "get"), "/api/feeds", None, Viewer),
        case(
            ("/api/ai/suggest", "post"),
            "/api/ai/suggest",
            Some(json!({"content": "x", "platforms": ["{integration}"], "action": "rewrite"})),
            Contributor,
        ),
        case(("/api/posts/export", "get"), "/api/posts/export", None, Viewer),
        // Postiz's public API: the same rules as the routes it stands on.
        case(("/public/v1/is-connected", "get"), "/public/v1/is-connected", None, Viewer),
        case(("/public/v1/integrations", "get"), "/public/v1/integrations", None, Viewer),
        case(
            ("/public/v1/integration-settings/{id}", "get"),
            "/public/v1/integration-settings/{integration}",
            None,
            Viewer,
        ),
        case(
            ("/public/v1/integration-trigger/{id}", "post"),
            "/public/v1/integration-trigger/{integration}",
            Some(json!({"methodName": "getBoards"})),
            Viewer,
        ),
        case(("/public/v1/find-slot/{id}", "get"), "/public/v1/find-slot/{integration}", None, Viewer),
        case(("/public/v1/posts", "get"), "/public/v1/posts", None, Viewer),
        case(
            ("/public/v1/posts", "post"),
            "/public/v1/posts",
            Some(
                json!({"type": "draft", "posts": [{"integration": {"id": "{integration}"}, "value": [{"content": "idea"}]}]}),
            ),
            Contributor,
        ),
        case(
            ("/public/v1/posts", "post"),
            "/public/v1/posts",
            Some(
                json!({"type": "schedule", "date": later, "posts": [{"integration": {"id": "{integration}"}, "value": [{"content": "go"}]}]}),
            ),
            Editor,
        ),
        case(("/public/v1/posts/{id}", "delete"), "/public/v1/posts/{draft}", None, Contributor),
        case(("/public/v1/posts/{id}", "delete"), "/public/v1/posts/{scheduled}", None, Editor),
        case(("/public/v1/posts/{id}/missing", "get"), "/public/v1/posts/{draft}/missing", None, Viewer),
        case(
            ("/public/v1/posts/{id}/release-id", "put"),
            "/public/v1/posts/{draft}/release-id",
            Some(json!({"releaseId": "1"})),
            Editor,
        ),
        case(("/public/v1/upload", "post"), "/public/v1/upload", None, Contributor),
        case(
            ("/public/v1/upload-from-url", "post"),
            "/public/v1/upload-from-url",
            Some(json!({"url": "https://media.example/a.png"})),
            Contributor,
        ),
        case(("/public/v1/analytics/{id}", "get"), "/public/v1/analytics/{integration}", None, Viewer),
        case(("/public/v1/analytics/post/{id}", "get"), "/public/v1/analytics/post/{draft}", None, Viewer),
        case(("/api/posts/import", "post"), "/api/posts/import", Some(json!([])), Contributor),
        case(
            ("/api/feeds", "post"),
            "/api/feeds",
            Some(json!({"url": "https://feeds.example/a.xml", "platforms": ["{integration}"], "mode": "DRAFT"})),
            Contributor,
        ),
        case(
            ("/api/feeds", "post"),
            "/api/feeds",
            Some(json!({"url": "https://feeds.example/b.xml", "platforms": ["{integration}"], "mode": "QUEUE"})),
            Editor,
        ),
        case(("/api/feeds/{id}", "delete"), "/api/feeds/{draft_feed}", None, Contributor),
        case(("/api/feeds/{id}", "delete"), "/api/feeds/{queue_feed}", None, Editor),
        case(("/api/feeds/{id}/poll", "post"), "/api/feeds/{draft_feed}/poll", Some(json!({})), Contributor),
        case(("/api/webhooks", "get"), "/api/webhooks", None, Editor),
        case(
            ("/api/webhooks", "post"),
            "/api/webhooks",
            Some(json!({"url": "https://hooks.example/in", "events": ["*"]})),
            Editor,
        ),
        case(("/api/webhooks/{id}", "patch"), "/api/webhooks/{webhook}", Some(json!({"active": true})), Editor),
        case(("/api/webhooks/{id}", "delete"), "/api/webhooks/{webhook}", None, Editor),
        case(("/api/webhooks/{id}/deliveries", "get"), "/api/webhooks/{webhook}/deliveries", None, Editor),
        case(
            ("/api/webhooks/{id}/deliveries/{deliveryId}/redeliver", "post"),
            "/api/webhooks/{webhook}/deliveries/{delivery}/redeliver",
            Some(json!({})),
            Editor,
        ),
        // For agencies.
        case(("/api/customers", "get"), "/api/customers", None, Viewer),
        case(("/api/customers", "post"), "/api/customers", Some(json!({"name": "Client {n}"})), Editor),
        case(
            ("/api/customers/{id}", "patch"),
            "/api/customers/{customer}",
            Some(json!({"name": "Renamed {n}"})),
            Editor,
        ),
        case(("/api/customers/{id}", "delete"), "/api/customers/{customer}", None, Editor),
        case(("/api/customers/{id}/connect-links", "get"), "/api/customers/{customer}/connect-links", None, Editor),
        case(
            ("/api/customers/{id}/connect-links", "post"),
            "/api/customers/{customer}/connect-links",
            Some(json!({"platforms": ["webhook"]})),
            Editor,
        ),
        case(("/api/customers/{id}/connect-links/{linkId}", "delete"), "/api/customers/{connect_link}", None, Editor),
        case(
            ("/api/integrations/{id}/customer", "put"),
            "/api/integrations/{integration}/customer",
            Some(json!({"customerId": "{customer}"})),
            Editor,
        ),
        case(("/api/tags", "get"), "/api/tags", None, Viewer),
        case(("/api/tags", "post"), "/api/tags", Some(json!({"name": "tag {n}"})), Contributor),
        case(("/api/tags/{id}", "patch"), "/api/tags/{tag}", Some(json!({"color": "#123456"})), Contributor),
        case(("/api/tags/{id}", "delete"), "/api/tags/{tag}", None, Contributor),
        case(("/api/signatures", "get"), "/api/signatures", None, Viewer),
        case(
            ("/api/signatures", "post"),
            "/api/signatures",
            Some(json!({"name": "s", "content": "— us"})),
            Contributor,
        ),
        case(
            ("/api/signatures/{id}", "patch"),
            "/api/signatures/{signature}",
            Some(json!({"autoAdd": true})),
            Contributor,
        ),
        case(("/api/signatures/{id}", "delete"), "/api/signatures/{signature}", None, Contributor),
        case(("/api/sets", "get"), "/api/sets", None, Viewer),
        case(
            ("/api/sets", "post"),
            "/api/sets",
            Some(json!({"name": "s", "integrationIds": ["{integration}"]})),
            Contributor,
        ),
        case(("/api/sets/{id}", "patch"), "/api/sets/{set}", Some(json!({"name": "renamed"})), Contributor),
        case(("/api/sets/{id}", "delete"), "/api/sets/{set}", None, Contributor),
        case(("/api/posts/{id}/preview-links", "get"), "/api/posts/{draft}/preview-links", None, Viewer),
        case(
            ("/api/posts/{id}/preview-links", "post"),
            "/api/posts/{draft}/preview-links",
            Some(json!({})),
            Contributor,
        ),
        case(("/api/posts/{id}/preview-links/{linkId}", "delete"), "/api/posts/{preview_link}", None, Contributor),
        case(("/api/posts/{id}/comments", "get"), "/api/posts/{draft}/comments", None, Viewer),
        case(
            ("/api/posts/{id}/comments", "post"),
            "/api/posts/{draft}/comments",
            Some(json!({"body": "nice"})),
            Viewer,
        ),
        case(("/api/notifications", "get"), "/api/notifications", None, Viewer),
        case(("/api/notifications/read", "post"), "/api/notifications/read", Some(json!({})), Viewer),
        case(("/api/me/email-preferences", "get"), "/api/me/email-preferences", None, Viewer),
        case(
            ("/api/me/email-preferences", "put"),
            "/api/me/email-preferences",
            Some(json!({"approvals": true})),
            Viewer,
        ),
    ]
}

/// The team: an owner, a member of each role, and what they act on.
struct Team {
    owner: Account,
    members: Vec<(Need, Account)>,
    integration: Uuid,
    media: String,
}

async fn team(app: &TestApp) -> Team {
    let owner = app.register("owner@example.com").await;
    let mut members = Vec::new();
    for (role, need) in ROLES {
        let account = if need == Need::Owner {
            Account {
                session: owner.session.clone(),
                id: owner.id,
                workspace_id: owner.workspace_id,
                email: owner.email.clone(),
            }
        } else {
            app.join(&owner, &format!("{}@example.com", role.to_lowercase()), role).await
        };
        members.push((need, account));
    }
    let integration = app.add_integration(&owner, "webhook").await;
    let media = id_of(owner.session.upload("a.png", TINY_PNG.to_vec(), None).await.expect(201));
    Team { owner, members, integration, media }
}

static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Fills the placeholders of `text`, making fresh resources where the
/// call would use one up (a deleted post, a removed member).
async fn fill(app: &TestApp, team: &Team, who: &Account, text: &str) -> String {
    let mut out = text.replace("{integration}", &team.integration.to_string()).replace("{media}", &team.media);
    out = out.replace("{workspace}", &team.owner.workspace_id.to_string());
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    out = out.replace("{email}", &format!("invitee{n}@example.com")).replace("{n}", &n.to_string());
    let owner = &team.owner.session;
    if out.contains("{draft}") {
        let draft = owner
            .post("/api/posts", json!({"content": "draft", "status": "DRAFT", "platforms": [team.integration]}))
            .await;
        out = out.replace("{draft}", &id_of(draft.expect(201)));
    }
    if out.contains("{scheduled}") {
        let at = (chrono::Utc::now() + chrono::Duration::hours(2)).to_rfc3339();
        let post = owner
            .post("/api/posts", json!({"content": "planned", "platforms": [team.integration], "scheduledFor": at}))
            .await;
        out = out.replace("{scheduled}", &id_of(post.expect(201)));
    }
    if out.contains("{requested}") {
        let draft = owner
            .post("/api/posts", json!({"content": "please", "status": "DRAFT", "platforms": [team.integration]}))
            .await;
        let id = id_of(draft.expect(201));
        owner.post(&format!("/api/posts/{id}/submit"), json!({})).await.expect(200);
        out = out.replace("{requested}", &id);
    }
    for (placeholder, mode) in [("{draft_feed}", "DRAFT"), ("{queue_feed}", "QUEUE")] {
        if out.contains(placeholder) {
            let body = json!({"url": format!("https://feeds.example/{n}.xml"), "platforms": [team.integration], "mode": mode, "pollMinutes": 1440});
            out = out.replace(placeholder, &id_of(owner.post("/api/feeds", body).await.expect(201)));
        }
    }
    if out.contains("{connect_link}") {
        let customer = id_of(owner.post("/api/customers", json!({"name": format!("Linked {n}")})).await.expect(201));
        let link = owner.post(&format!("/api/customers/{customer}/connect-links"), json!({})).await;
        out = out.replace("{connect_link}", &format!("{customer}/connect-links/{}", id_of(link.expect(201))));
    }
    if out.contains("{customer}") {
        let customer = owner.post("/api/customers", json!({"name": format!("Customer {n}")})).await;
        out = out.replace("{customer}", &id_of(customer.expect(201)));
    }
    if out.contains("{tag}") {
        let tag = owner.post("/api/tags", json!({"name": format!("t{n}")})).await;
        out = out.replace("{tag}", &id_of(tag.expect(201)));
    }
    if out.contains("{signature}") {
        let signature = owner.post("/api/signatures", json!({"name": "s", "content": "— us"})).await;
        out = out.replace("{signature}", &id_of(signature.expect(201)));
    }
    if out.contains("{set}") {
        let set = owner.post("/api/sets", json!({"name": "s", "integrationIds": [team.integration]})).await;
        out = out.replace("{set}", &id_of(set.expect(201)));
    }
    if out.contains("{preview_link}") {
        let draft = owner.post("/api/posts", json!({"content": "for the client", "status": "DRAFT"})).await;
        let draft = id_of(draft.expect(201));
        let link = owner.post(&format!("/api/posts/{draft}/preview-links"), json!({})).await;
        out = out.replace("{preview_link}", &format!("{draft}/preview-links/{}", id_of(link.expect(201))));
    }
    if out.contains("{fresh_integration}") {
        out = out.replace("{fresh_integration}", &app.add_integration(&team.owner, "webhook").await.to_string());
    }
    if out.contains("{member}") {
        let member = app.join(&team.owner, &format!("member{n}@example.com"), "VIEWER").await;
        out = out.replace("{member}", &member.id.to_string());
    }
    if out.contains("{invite}") {
        let invite = owner
            .post(
                &format!("/api/workspaces/{}/invites", team.owner.workspace_id),
                json!({"email": format!("later{n}@example.com")}),
            )
            .await;
        out = out.replace("{invite}", &id_of(invite.expect(201)));
    }
    if out.contains("{key}") {
        let key = who.session.post("/api/api-keys", json!({"name": "throwaway"})).await;
        out = out.replace("{key}", &id_of(key.expect(201)));
    }
    if out.contains("{connected_app}") {
        // A grant as the token endpoint makes one (the flow itself is
        // tested in mcp_oauth.rs).
        let grant = ApiKeys(app.store.conn())
            .create(NewApiKeyRow {
                user_id: who.id,
                workspace_id: team.owner.workspace_id,
                name: "Assistant".into(),
                key_hash: format!("grant-{}", Uuid::now_v7()),
                prefix: "app".into(),
                scopes: vec!["posts:read".into()],
                expires_at: None,
                created_at: app.store.now(),
                mcp_client_id: Some("roles-test-client".into()),
            })
            .await
            .unwrap();
        out = out.replace("{connected_app}", &grant.id.to_string());
    }
    if out.contains("{webhook}") {
        let hook = owner.post("/api/webhooks", json!({"url": "http://127.0.0.1:9/in", "events": ["*"]})).await;
        let hook = id_of(hook.expect(201));
        if out.contains("{delivery}") {
            let delivery = webhook_delivery(app, &team.owner, &hook).await;
            out = out.replace("{delivery}", &delivery);
        }
        out = out.replace("{webhook}", &hook);
    }
    if out.contains("{pending}") {
        let pending = Uuid::now_v7();
        let vault = herald_core::vault::Vault::from_hex(herald_testkit::TEST_ENCRYPTION_KEY).unwrap();
        PendingConnections(app.store.conn())
            .insert(OAuthPendingRow {
                id: pending,
                platform: "x".into(),
                user_id: who.id,
                workspace_id: team.owner.workspace_id,
                sealed: vault.encrypt(b"[]", pending.as_bytes()),
                expires_at: app.store.now() + chrono::Duration::minutes(30),
                created_at: app.store.now(),
            })
            .await
            .unwrap();
        out = out.replace("{pending}", &pending.to_string());
    }
    out
}

/// A delivery of `hook`: an event, then the fan-out.
async fn webhook_delivery(app: &TestApp, owner: &Account, hook: &str) -> String {
    owner.session.post("/api/posts", json!({"content": "an event", "status": "DRAFT"})).await.expect(201);
    app.engine.webhooks_once().await.unwrap();
    let deliveries = owner.session.get(&format!("/api/webhooks/{hook}/deliveries")).await;
    id_of(&deliveries.expect(200)[0])
}

fn refused_text(text: &str) -> bool {
    text.contains("does not allow")
}

db_test!(async fn every_rest_route_holds_each_role_to_its_row(app) {
    let cases = rest_cases();
    // Every documented route has a row, or a reason it has none.
    let spec = app.anonymous().get("/api/openapi.json").await;
    let mut documented = BTreeSet::new();
    for (path, item) in spec.expect(200)["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.insert((path.clone(), method.clone()));
        }
    }
    let covered: BTreeSet<(String, String)> = cases
        .iter()
        .map(|c| (c.api.0.to_string(), c.api.1.to_string()))
        .chain(OUTSIDE_ROLES.iter().map(|(p, m, _)| (p.to_string(), m.to_string())))
        .collect();
    let missing: Vec<_> = documented.difference(&covered).collect();
    assert!(missing.is_empty(), "routes without a row in the role table: {missing:?}");

    let team = team(&app).await;
    for case in &cases {
        for (need, who) in &team.members {
            let path = fill(&app, &team, who, case.path).await;
            let body = match &case.body {
                Some(body) => Some(serde_json::from_str(&fill(&app, &team, who, &body.to_string()).await).unwrap()),
                None => None,
            };
            let answer = if case.api == ("/api/media", "post") {
                who.session.upload("b.png", TINY_PNG.to_vec(), None).await
            } else if case.api == ("/public/v1/upload", "post") {
                let part = reqwest::multipart::Part::bytes(TINY_PNG.to_vec()).file_name("b.png");
                who.session.post_multipart(&path, reqwest::multipart::Form::new().part("file", part)).await
            } else {
                who.session.send(case.path_method(), &path, body).await
            };
            let what = format!("{:?} {} {path}", need, case.api.1);
            if *need >= case.need {
                assert!(![401, 403].contains(&answer.status), "{what} must be allowed: {}", answer.text);
            } else {
                assert_eq!(answer.status, 403, "{what} must be refused: {}", answer.text);
                assert_eq!(answer.body["error"]["code"], "FORBIDDEN");
            }
        }
    }
});

impl Case {
    fn path_method(&self) -> Method {
        Method::from_bytes(self.api.1.to_uppercase().as_bytes()).unwrap()
    }
}

/// State-changing forms of the web UI (every POST route but signing in and
/// out, one's password and sessions, and the instance admin's user forms).
/// (path, form fields, lowest role allowed)
type UiCase = (&'static str, Vec<(&'static str, &'static str)>, Need);

fn ui_cases() -> Vec<UiCase> {
    use Need::*;
    vec![
        ("/posts/new", vec![("content", "idea"), ("action", "draft")], Contributor),
        ("/posts/new", vec![("content", "idea"), ("platforms", "{integration}"), ("action", "submit")], Contributor),
        ("/posts/new", vec![("content", "go"), ("platforms", "{integration}"), ("action", "now")], Editor),
        ("/posts/{draft}/edit", vec![("content", "edited"), ("action", "draft")], Contributor),
        ("/posts/{draft}/delete", vec![], Contributor),
        ("/posts/delete", vec![("ids", "{draft}")], Contributor),
        ("/posts/{draft}/publish", vec![], Editor),
        ("/calendar/move/{scheduled}", vec![("at", "2031-01-01T09:00")], Editor),
        ("/approvals/{requested}/approve", vec![], Editor),
        ("/approvals/{requested}/reject", vec![("note", "no")], Editor),
        ("/approvals/approve-all", vec![("post", "{requested}")], Editor),
        (
            "/integrations/connect",
            vec![("platform", "webhook"), ("cred.url", "https://hooks.example/x"), ("cred.secret", "0123456789abcdef")],
            Editor,
        ),
        (
            "/integrations/{fresh_integration}",
            vec![("name", "renamed"), ("posting_times", "09:00"), ("timezone", "UTC")],
            Editor,
        ),
        ("/integrations/{fresh_integration}/status", vec![("status", "DISABLED")], Editor),
        ("/integrations/{fresh_integration}/delete", vec![], Editor),
        ("/integrations/choose/{pending}", vec![("account", "a")], Editor),
        ("/settings/team/workspace", vec![("name", "Team")], Owner),
        ("/settings/team/invites", vec![("email", "{email}"), ("role", "VIEWER")], Owner),
        ("/settings/team/invites/{invite}/revoke", vec![], Owner),
        ("/settings/team/members/{member}", vec![("role", "EDITOR")], Owner),
        ("/settings/team/members/{member}/remove", vec![], Owner),
        ("/settings/team/new", vec![("name", "Side project")], Viewer),
        ("/settings/webhooks", vec![("url", "https://hooks.example/in"), ("events", "*")], Editor),
        ("/queue/{integration}/order", vec![("order", "")], Editor),
        ("/queue/{integration}/shuffle", vec![], Editor),
        ("/queue/{integration}/compact", vec![], Editor),
        ("/posts/new", vec![("content", "queued"), ("platforms", "{integration}"), ("action", "queue")], Editor),
        ("/settings/webhooks/{webhook}/status", vec![("active", "false")], Editor),
        ("/settings/webhooks/{webhook}/delete", vec![], Editor),
        ("/settings/webhooks/{webhook}/deliveries/{delivery}/redeliver", vec![], Editor),
        (
            "/feeds",
            vec![("url", "https://feeds.example/ui.xml"), ("platforms", "{integration}"), ("mode", "DRAFT")],
            Contributor,
        ),
        (
            "/feeds",
            vec![("url", "https://feeds.example/ui.xml"), ("platforms", "{integration}"), ("mode", "NOW")],
            Editor,
        ),
        ("/feeds/{draft_feed}/poll", vec![], Contributor),
        ("/feeds/{queue_feed}/delete", vec![], Editor),
        ("/notifications/read", vec![], Viewer),
        ("/notifications/email", vec![("approvals", "on")], Viewer),
        ("/settings/profile", vec![("name", "Me"), ("timezone", "UTC")], Viewer),
        ("/settings/api-keys", vec![("name", "k"), ("scopes", "posts:read")], Viewer),
        ("/settings/api-keys/{key}/revoke", vec![], Viewer),
        ("/settings/connected-apps/{connected_app}/revoke", vec![], Viewer),
    ]
}

db_test!(async fn every_ui_action_holds_each_role_to_its_row(app) {
    let team = team(&app).await;
    for (need, who) in &team.members {
        let mut browser = Browser::new(&app);
        browser.get("/login").await;
        browser.post("/login", &[("email", &who.email), ("password", herald_testkit::PASSWORD)]).await;
        browser.get("/").await;
        for (path, fields, allowed_from) in ui_cases() {
            // The team's workspace, again: creating one switches to it.
            browser.post("/workspace", &[("workspace", &team.owner.workspace_id.to_string())]).await;
            let path = fill(&app, &team, who, path).await;
            let mut filled = Vec::new();
            for (k, v) in &fields {
                filled.push((*k, fill(&app, &team, who, v).await));
            }
            let fields: Vec<(&str, &str)> = filled.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let page = browser.post(&path, &fields).await;
            let refused = page.status == 403 || refused_text(&page.html);
            let what = format!("{need:?} POST {path}");
            assert_ne!(page.status, 400, "{what}: {}", page.html);
            if *need >= allowed_from {
                assert!(!refused, "{what} must be allowed ({}): {}", page.status, page.html);
            } else {
                assert!(refused, "{what} must be refused ({}): {}", page.status, page.html);
            }
        }
    }
});

fn mcp_cases() -> Vec<(&'static str, Value, Need)> {
    use Need::*;
    let later = (chrono::Utc::now() + chrono::Duration::hours(3)).to_rfc3339();
    vec![
        ("list_integrations", json!({}), Viewer),
        ("get_platform_rules", json!({"platform": "x"}), Viewer),
        ("validate_post", json!({"content": "x", "integrationIds": ["{integration}"]}), Viewer),
        (
            "create_post",
            json!({"content": "idea", "integrationIds": ["{integration}"], "status": "DRAFT"}),
            Contributor,
        ),
        ("create_post", json!({"content": "go", "integrationIds": ["{integration}"], "scheduledFor": later}), Editor),
        ("add_to_queue", json!({"content": "queued", "integrationIds": ["{integration}"]}), Editor),
        ("list_posts", json!({}), Viewer),
        ("get_post", json!({"postId": "{draft}"}), Viewer),
        ("update_post", json!({"postId": "{draft}", "content": "edited"}), Contributor),
        ("delete_post", json!({"postId": "{draft}"}), Contributor),
        ("publish_post", json!({"postId": "{draft}"}), Editor),
        ("submit_for_approval", json!({"postId": "{draft}"}), Contributor),
        ("approve_post", json!({"postId": "{requested}"}), Editor),
        ("reject_post", json!({"postId": "{requested}", "note": "no"}), Editor),
        ("find_next_slot", json!({"integrationId": "{integration}"}), Viewer),
        ("get_post_analytics", json!({"postId": "{draft}"}), Viewer),
        ("get_integration_analytics", json!({"integrationId": "{integration}"}), Viewer),
        ("list_feeds", json!({}), Viewer),
        (
            "create_feed",
            json!({"url": "https://feeds.example/rss.xml", "platforms": ["{integration}"], "mode": "DRAFT"}),
            Contributor,
        ),
        (
            "create_feed",
            json!({"url": "https://feeds.example/rss.xml", "platforms": ["{integration}"], "mode": "NOW"}),
            Editor,
        ),
        ("upload_media_from_url", json!({"url": "https://cdn.example/a.png"}), Contributor),
        ("list_customers", json!({}), Viewer),
        ("create_preview_link", json!({"postId": "{draft}"}), Contributor),
    ]
}

db_test!(async fn every_mcp_tool_holds_each_role_to_its_row(app) {
    let team = team(&app).await;
    let cases = mcp_cases();
    for (need, who) in &team.members {
        let key = who.session.post("/api/api-keys", json!({"name": "assistant"})).await;
        let key = key.expect(201)["key"].as_str().unwrap().to_string();
        let session = mcp_session(&app, &key).await;
        if *need == Need::Owner {
            let (_, listed) = rpc(&app, &key, Some(&session), json!({"jsonrpc": "2.0", "id": 3, "method": "tools/list"})).await;
            let tools: BTreeSet<String> = listed["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_string()).collect();
            let covered: BTreeSet<String> = cases.iter().map(|(n, _, _)| n.to_string()).collect();
            assert_eq!(tools, covered, "every MCP tool has a row");
        }
        for (name, arguments, allowed_from) in &cases {
            let arguments: Value = serde_json::from_str(&fill(&app, &team, who, &arguments.to_string()).await).unwrap();
            let result = tool(&app, &key, &session, name, arguments).await;
            let code = tool_error_code(&result);
            if *need >= *allowed_from {
                assert!(!matches!(code, Some("FORBIDDEN" | "UNAUTHORIZED")), "{need:?} {name} must be allowed: {result}");
            } else {
                assert_eq!(code, Some("FORBIDDEN"), "{need:?} {name} must be refused: {result}");
            }
        }
    }
});
