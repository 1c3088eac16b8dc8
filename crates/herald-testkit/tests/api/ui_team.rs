//! Teams and approvals in the web UI, without JavaScript: invite by link,
//! accept after registering, a contributor submits, an owner approves from
//! /approvals; the switcher, the bell, the audit log and the accounts page.

use herald_testkit::{TestOptions, db_test};

use crate::browser::Browser;

fn between<'a>(html: &'a str, start: &str, end: &str) -> &'a str {
    let from = html.find(start).map_or(html.len(), |i| i + start.len());
    let rest = &html[from..];
    &rest[..rest.find(end).unwrap_or(rest.len())]
}

db_test!(async fn invite_accept_submit_and_approve_in_the_browser(app, TestOptions::driven()) {
    let mut owner = Browser::new(&app);
    owner.register("ada@example.com").await;
    let ada = owner.account(&app).await;
    let integration = app.add_integration(&ada, "mastodon").await.to_string();

    owner.get("/settings/team").await;
    let invited = owner.post("/settings/team/invites", &[("email", "cleo@example.com"), ("role", "CONTRIBUTOR")]).await;
    assert_eq!(invited.status, 200, "{}", invited.html);
    let url = between(&invited.html, r#"id="invite-url" class="secret" readonly value=""#, "\"").to_string();
    let path = url.strip_prefix(&app.address).unwrap().to_string();
    assert!(path.starts_with("/invites/"), "{url}");

    // Cleo follows the link signed out, registers, and comes back to it.
    let mut cleo = Browser::new(&app);
    let landing = cleo.get(&path).await;
    assert_eq!(landing.status, 200);
    assert!(landing.html.contains("invited") && landing.html.contains("Create an account"));
    cleo.get(&format!("/register?next={path}&email=cleo@example.com")).await;
    let registered = cleo
        .post("/register", &[("email", "cleo@example.com"), ("password", herald_testkit::PASSWORD), ("name", "Cleo"), ("timezone", "UTC"), ("next", &path)])
        .await;
    assert_eq!(registered.location, path);
    let offer = cleo.get(&path).await;
    assert!(offer.html.contains("Join"), "{}", offer.html);
    let joined = cleo.post(&path, &[]).await;
    assert_eq!(joined.location, "/?notice=joined");
    let home = cleo.get("/").await;
    assert!(home.html.contains(r#"id="ws-switch""#), "the switcher shows two workspaces");

    // The contributor's composer offers "Submit for approval", not "Schedule".
    let composer = cleo.get("/posts/new").await;
    assert!(composer.html.contains(r#"id="do-submit""#) && !composer.html.contains(r#"id="do-schedule""#));
    let submitted = cleo.post("/posts/new", &[("content", "Hello from Cleo"), ("platforms", &integration), ("action", "submit")]).await;
    assert_eq!(submitted.status, 303, "{}", submitted.html);
    assert!(submitted.location.starts_with("/posts?notice=submitted"));
    assert!(cleo.get("/posts").await.html.contains("Waiting for approval"));

    // The owner hears of it and approves from /approvals.
    app.engine.notify_once().await.unwrap();
    let page = owner.get("/approvals").await;
    assert!(page.html.contains("Hello from Cleo") && page.html.contains("Submitted by Cleo"), "{}", page.html);
    assert!(page.html.contains("My mastodon") && page.html.contains("/ 500 characters"), "a preview per account");
    assert!(page.html.contains(r#"<span class="count" data-unread>1</span>"#), "the bell counts it");
    let post_id = between(&page.html, r#"data-approval=""#, "\"").to_string();
    let approved = owner.post(&format!("/approvals/{post_id}/approve"), &[]).await;
    assert_eq!(approved.location, "/approvals?notice=approved");
    let post = owner.api(reqwest::Method::GET, &format!("/api/posts/{post_id}"), None).await;
    assert_eq!(post["status"], "SCHEDULED");
    assert!(owner.get("/approvals").await.html.contains("Nothing waits for approval"));

    // The bell's page, and marking it read.
    let bell = owner.get("/notifications").await;
    assert!(bell.html.contains("A post waits for approval"));
    owner.post("/notifications/read", &[]).await;
    assert!(!owner.get("/").await.html.contains("data-unread"));
    // Audit log: who did what.
    let audit = owner.get("/settings/audit").await;
    assert!(audit.html.contains("approval approved") && audit.html.contains("Cleo"), "{}", audit.html);
    // A contributor sees no approve buttons and no audit log.
    let queue = cleo.get("/approvals").await;
    assert!(!queue.html.contains("/approve\""));
    assert_eq!(cleo.get("/settings/audit").await.status, 403);
});

db_test!(async fn the_owner_manages_roles_and_the_switcher_changes_workspace(app) {
    let ada = app.register("ada@example.com").await;
    let bob = app.join(&ada, "bob@example.com", "VIEWER").await;
    let mut owner = Browser::new(&app);
    owner.get("/login").await;
    owner.post("/login", &[("email", "ada@example.com"), ("password", herald_testkit::PASSWORD)]).await;
    let team = owner.get("/settings/team").await;
    assert!(team.html.contains("bob@example.com"));
    let changed = owner.post(&format!("/settings/team/members/{}", bob.id), &[("role", "EDITOR")]).await;
    assert_eq!(changed.location, "/settings/team?notice=role-changed");
    let last = owner.post(&format!("/settings/team/members/{}", ada.id), &[("role", "VIEWER")]).await;
    assert_eq!(last.status, 422);
    assert!(last.html.contains("last owner"));
    let created = owner.post("/settings/team/new", &[("name", "Side project")]).await;
    assert_eq!(created.location, "/settings/team?notice=workspace-created");
    let home = owner.get("/").await;
    assert!(home.html.contains(r#"selected>Side project"#), "the new workspace is current");
    let switched = owner.post("/workspace", &[("workspace", &ada.workspace_id.to_string())]).await;
    assert_eq!(switched.location, "/?notice=switched");
    assert!(owner.get("/settings/team").await.html.contains("bob@example.com"));
    // Bob, removed, loses the workspace at once.
    owner.post(&format!("/settings/team/members/{}/remove", bob.id), &[]).await;
    bob.session.get("/api/posts").await.expect_error(404, "NOT_FOUND");
});

db_test!(async fn the_accounts_page_groups_platforms_with_their_marks(app) {
    let mut browser = Browser::new(&app);
    browser.register("ada@example.com").await;
    let page = browser.get("/integrations").await;
    for group in ["Social networks", "Fediverse and open networks", "Chat", "Blogs and newsletters", "Other"] {
        assert!(page.html.contains(group), "{group}");
    }
    assert!(page.html.contains(r#"id="platform-search""#));
    assert!(page.html.matches("<svg viewBox=\"0 0 28 28\"").count() >= 20, "a mark per platform");
    assert!(!page.html.contains("src=\"http"), "no image from elsewhere");
    assert!(page.html.contains(r#"id="connect-webhook""#));
});
