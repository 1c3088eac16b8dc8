//! Teams (DESIGN §11): workspaces, invites, members and roles, and what
//! removing someone ends.

use herald_testkit::{TestOptions, db_test, id_of};
use serde_json::json;

db_test!(async fn an_invite_is_accepted_once_by_the_person_invited(app) {
    let ada = app.register("ada@example.com").await;
    let ws = ada.workspace_id;
    let invite = ada.session.post(&format!("/api/workspaces/{ws}/invites"), json!({"email": "Bob@Example.com", "role": "EDITOR"})).await;
    let invite = invite.expect(201).clone();
    assert_eq!(invite["email"], "bob@example.com");
    assert_eq!(invite["emailed"], false, "no SMTP configured");
    let url = invite["inviteUrl"].as_str().unwrap();
    assert!(url.starts_with(&app.address) && url.contains("/invites/"));
    let token = url.rsplit('/').next().unwrap();
    let listed = ada.session.get(&format!("/api/workspaces/{ws}/invites")).await;
    assert!(!listed.text.contains(token), "the token is shown once");
    assert_eq!(listed.expect(200).as_array().unwrap().len(), 1);

    // The link tells what it offers without signing in.
    let preview = app.anonymous().get(&format!("/api/invites/{token}")).await;
    assert_eq!(preview.expect(200)["role"], "EDITOR");
    app.anonymous().post(&format!("/api/invites/{token}/accept"), json!({})).await.expect_error(401, "UNAUTHORIZED");

    // Someone else holding the link cannot use it.
    let eve = app.register("eve@example.com").await;
    let refused = eve.session.post(&format!("/api/invites/{token}/accept"), json!({})).await;
    assert!(refused.expect_error(403, "FORBIDDEN")["message"].as_str().unwrap().contains("bob@example.com"));

    let bob = app.register("bob@example.com").await;
    let joined = bob.session.post(&format!("/api/invites/{token}/accept"), json!({})).await;
    assert_eq!(joined.expect(200)["id"], ws.to_string());
    bob.session.post(&format!("/api/invites/{token}/accept"), json!({})).await.expect_error(409, "CONFLICT");
    app.anonymous().get(&format!("/api/invites/{token}")).await.expect_error(409, "CONFLICT");
    app.anonymous().get("/api/invites/nonsense").await.expect_error(404, "NOT_FOUND");

    let workspaces = bob.session.get("/api/workspaces").await;
    let workspaces = workspaces.expect(200).as_array().unwrap().clone();
    assert_eq!(workspaces.len(), 2);
    assert_eq!(workspaces.iter().filter(|w| w["current"] == true).count(), 1);
    let shared = workspaces.iter().find(|w| w["id"] == ws.to_string()).unwrap();
    assert_eq!(shared["role"], "EDITOR");

    let members = ada.session.get(&format!("/api/workspaces/{ws}/members")).await;
    let roles: Vec<_> = members.expect(200).as_array().unwrap().iter().map(|m| m["role"].as_str().unwrap().to_string()).collect();
    assert_eq!(roles, ["OWNER", "EDITOR"]);
    // Inviting a member again is refused.
    ada.session.post(&format!("/api/workspaces/{ws}/invites"), json!({"email": "bob@example.com"})).await.expect_error(409, "CONFLICT");
    ada.session.post(&format!("/api/workspaces/{ws}/invites"), json!({"email": "nope"})).await.expect_error(422, "VALIDATION_FAILED");
});

db_test!(async fn the_workspace_header_switches_and_outsiders_get_404(app) {
    let ada = app.register("ada@example.com").await;
    let bob = app.join(&ada, "bob@example.com", "EDITOR").await;
    let integration = app.add_integration(&ada, "mastodon").await;
    let created = bob.session.post("/api/posts", json!({"content": "team post", "platforms": [integration], "status": "DRAFT"})).await;
    let post = id_of(created.expect(201));

    // Without the header Bob acts in his own workspace, where the post is not.
    let plain = app.anonymous();
    let login = plain.post("/api/auth/login", json!({"email": "bob@example.com", "password": herald_testkit::PASSWORD})).await;
    login.expect(200);
    plain.get(&format!("/api/posts/{post}")).await.expect_error(404, "NOT_FOUND");
    plain.with_header("x-herald-workspace", &ada.workspace_id.to_string()).get(&format!("/api/posts/{post}")).await.expect(200);

    // The UI switcher's endpoint makes the session act there without the header.
    plain.post(&format!("/api/workspaces/{}/select", ada.workspace_id), json!({})).await.expect(200);
    plain.get(&format!("/api/posts/{post}")).await.expect(200);
    assert_eq!(plain.get("/api/me").await.expect(200)["workspaceRole"], "EDITOR");

    // Someone else's workspace: 404, by header and by select.
    let eve = app.register("eve@example.com").await;
    let as_eve = eve.session.with_header("x-herald-workspace", &ada.workspace_id.to_string());
    as_eve.get("/api/posts").await.expect_error(404, "NOT_FOUND");
    eve.session.post(&format!("/api/workspaces/{}/select", ada.workspace_id), json!({})).await.expect_error(404, "NOT_FOUND");
    eve.session.get(&format!("/api/workspaces/{}/members", ada.workspace_id)).await.expect_error(404, "NOT_FOUND");
    eve.session.get(&format!("/api/workspaces/{}", ada.workspace_id)).await.expect_error(404, "NOT_FOUND");
    assert_eq!(plain.get(&format!("/api/workspaces/{}", ada.workspace_id)).await.expect(200)["role"], "EDITOR");
    eve.session.with_header("x-herald-workspace", "not-a-uuid").get("/api/posts").await.expect_error(404, "NOT_FOUND");

    // A key acts only in its own workspace.
    let key = ada.api_key(None).await;
    app.with_key(&key).with_header("x-herald-workspace", &eve.workspace_id.to_string()).get("/api/posts").await.expect_error(403, "FORBIDDEN");
    app.with_key(&key).with_header("x-herald-workspace", &ada.workspace_id.to_string()).get("/api/posts").await.expect(200);
});

db_test!(async fn the_last_owner_stays_and_only_owners_manage(app) {
    let ada = app.register("ada@example.com").await;
    let ws = ada.workspace_id;
    let bob = app.join(&ada, "bob@example.com", "EDITOR").await;
    let members = format!("/api/workspaces/{ws}/members");

    let demoted = ada.session.patch(&format!("{members}/{}", ada.id), json!({"role": "EDITOR"})).await;
    assert!(demoted.expect_error(409, "CONFLICT")["message"].as_str().unwrap().contains("last owner"));
    ada.session.delete(&format!("{members}/{}", ada.id)).await.expect_error(409, "CONFLICT");

    // An editor cannot manage the team.
    bob.session.get(&members).await.expect_error(403, "FORBIDDEN");
    bob.session.patch(&format!("{members}/{}", bob.id), json!({"role": "OWNER"})).await.expect_error(403, "FORBIDDEN");
    bob.session.post(&format!("/api/workspaces/{ws}/invites"), json!({"email": "c@example.com"})).await.expect_error(403, "FORBIDDEN");
    bob.session.patch(&format!("/api/workspaces/{ws}"), json!({"requireApproval": true})).await.expect_error(403, "FORBIDDEN");

    // With a second owner, the first may step down or leave.
    let promoted = ada.session.patch(&format!("{members}/{}", bob.id), json!({"role": "OWNER"})).await;
    assert_eq!(promoted.expect(200)["role"], "OWNER");
    ada.session.patch(&format!("{members}/{}", ada.id), json!({"role": "VIEWER"})).await.expect(200);
    ada.session.patch(&format!("{members}/{}", bob.id), json!({"role": "VIEWER"})).await.expect_error(403, "FORBIDDEN");
    bob.session.patch(&format!("{members}/{}", bob.id), json!({"role": "EDITOR"})).await.expect_error(409, "CONFLICT");
    bob.session.patch(&format!("{members}/{}", uuid::Uuid::now_v7()), json!({"role": "EDITOR"})).await.expect_error(404, "NOT_FOUND");
    bob.session.patch(&format!("{members}/{}", ada.id), json!({"role": "BOSS"})).await.expect_error(422, "VALIDATION_FAILED");
    // Ada (a viewer now) leaves on her own.
    let ada_here = ada.session.with_header("x-herald-workspace", &ws.to_string());
    ada_here.delete(&format!("{members}/{}", ada.id)).await.expect(204);
    assert_eq!(bob.session.get(&members).await.expect(200).as_array().unwrap().len(), 1);
});

db_test!(async fn removing_a_member_ends_their_sessions_and_keys_there(app) {
    let ada = app.register("ada@example.com").await;
    let ws = ada.workspace_id;
    let bob = app.join(&ada, "bob@example.com", "EDITOR").await;
    // Bob's UI session acts in Ada's workspace; a second one stays in his own.
    let bob_ui = app.anonymous();
    bob_ui.post("/api/auth/login", json!({"email": "bob@example.com", "password": herald_testkit::PASSWORD})).await.expect(200);
    bob_ui.post(&format!("/api/workspaces/{ws}/select"), json!({})).await.expect(200);
    let bob_home = app.anonymous();
    bob_home.post("/api/auth/login", json!({"email": "bob@example.com", "password": herald_testkit::PASSWORD})).await.expect(200);
    let key = bob.session.post("/api/api-keys", json!({"name": "bot"})).await;
    let key = key.expect(201)["key"].as_str().unwrap().to_string();
    app.with_key(&key).get("/api/posts").await.expect(200);

    ada.session.delete(&format!("/api/workspaces/{ws}/members/{}", bob.id)).await.expect(204);

    app.with_key(&key).get("/api/posts").await.expect_error(401, "UNAUTHORIZED");
    bob_ui.get("/api/posts").await.expect_error(401, "UNAUTHORIZED");
    bob.session.get("/api/posts").await.expect_error(404, "NOT_FOUND");
    bob_home.get("/api/posts").await.expect(200);

    let audit = ada.session.get("/api/audit?type=member_removed").await;
    let entry = &audit.expect(200)["entries"][0];
    assert_eq!(entry["data"]["userId"], bob.id.to_string());
    assert_eq!(entry["actor"]["type"], "USER");
    assert!(entry["actor"]["name"].as_str().unwrap().contains("ada@example.com"));
});

db_test!(async fn invites_can_be_revoked_and_expire(app, TestOptions::driven()) {
    let ada = app.register("ada@example.com").await;
    let ws = ada.workspace_id;
    let first = ada.session.post(&format!("/api/workspaces/{ws}/invites"), json!({"email": "bob@example.com"})).await;
    let first = first.expect(201).clone();
    assert_eq!(first["role"], "CONTRIBUTOR", "the default role");
    ada.session.delete(&format!("/api/workspaces/{ws}/invites/{}", id_of(&first))).await.expect(204);
    ada.session.delete(&format!("/api/workspaces/{ws}/invites/{}", id_of(&first))).await.expect_error(404, "NOT_FOUND");
    let bob = app.register("bob@example.com").await;
    let token = first["inviteUrl"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    bob.session.post(&format!("/api/invites/{token}/accept"), json!({})).await.expect_error(409, "CONFLICT");

    let second = ada.session.post(&format!("/api/workspaces/{ws}/invites"), json!({"email": "bob@example.com"})).await;
    let token = second.expect(201)["inviteUrl"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
    app.clock().advance(std::time::Duration::from_secs(7 * 24 * 3600 + 60));
    // Sessions last 7 days too: Bob signs in again.
    let bob_again = app.anonymous();
    bob_again.post("/api/auth/login", json!({"email": "bob@example.com", "password": herald_testkit::PASSWORD})).await.expect(200);
    let late = bob_again.post(&format!("/api/invites/{token}/accept"), json!({})).await;
    assert!(late.expect_error(409, "CONFLICT")["message"].as_str().unwrap().contains("expired"));
});

db_test!(async fn workspaces_can_be_created_renamed_and_set_to_require_approval(app) {
    let ada = app.register("ada@example.com").await;
    let created = ada.session.post("/api/workspaces", json!({"name": "Client A"})).await;
    let created = created.expect(201).clone();
    assert_eq!(created["role"], "OWNER");
    assert_eq!(created["requireApproval"], false);
    let id = id_of(&created);
    let changed = ada.session.patch(&format!("/api/workspaces/{id}"), json!({"name": "Client A GmbH", "requireApproval": true})).await;
    assert_eq!(changed.expect(200)["requireApproval"], true);
    ada.session.post("/api/workspaces", json!({"name": ""})).await.expect_error(422, "VALIDATION_FAILED");
    let key = ada.api_key(None).await;
    app.with_key(&key).post("/api/workspaces", json!({"name": "x"})).await.expect_error(403, "FORBIDDEN");
    let listed = app.with_key(&key).get("/api/workspaces").await;
    assert_eq!(listed.expect(200).as_array().unwrap().len(), 1, "a key sees its own workspace only");
});
