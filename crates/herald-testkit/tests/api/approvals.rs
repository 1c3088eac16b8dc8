//! Approvals (DESIGN §11): submit, the queue, approve (at its time or the
//! next free slot), reject with a note, edits send an approved post back,
//! and `requireApproval`; with the notifications and audit entries they make.

use herald_testkit::{TestOptions, db_test, id_of, in_minutes};
use serde_json::json;

db_test!(async fn a_contributor_drafts_submits_and_an_owner_approves(app, TestOptions::driven()) {
    let ada = app.register("ada@example.com").await;
    let cleo = app.join(&ada, "cleo@example.com", "CONTRIBUTOR").await;
    let integration = app.add_integration(&ada, "mastodon").await;

    // A contributor may not schedule…
    let body = json!({"content": "Launch day!", "platforms": [integration], "scheduledFor": in_minutes(90)});
    cleo.session.post("/api/posts", body.clone()).await.expect_error(403, "FORBIDDEN");
    // …but drafts and submits.
    let draft = cleo.session.post("/api/posts", json!({"content": "Launch day!", "platforms": [integration], "status": "DRAFT"})).await;
    let post = id_of(draft.expect(201));
    let submitted = cleo.session.post(&format!("/api/posts/{post}/submit"), json!({"note": "for Monday"})).await;
    let submitted = submitted.expect(200).clone();
    assert_eq!(submitted["status"], "DRAFT");
    assert_eq!(submitted["approval"]["state"], "REQUESTED");
    assert_eq!(submitted["approval"]["requestedBy"], cleo.id.to_string());
    assert_eq!(submitted["approval"]["note"], "for Monday");
    // Submitting twice changes nothing; an empty body is fine too.
    cleo.session.send_raw(reqwest::Method::POST, &format!("/api/posts/{post}/submit"), None).await.expect(200);

    let queue = ada.session.get("/api/posts?approval=REQUESTED").await;
    assert_eq!(queue.expect(200)["posts"].as_array().unwrap().len(), 1);
    ada.session.get("/api/posts?approval=MAYBE").await.expect_error(422, "VALIDATION_FAILED");

    // The contributor cannot approve their own post.
    cleo.session.post(&format!("/api/posts/{post}/approve"), json!({})).await.expect_error(403, "FORBIDDEN");

    // Reviewers hear of it; the author does not hear of their own request.
    app.engine.notify_once().await.unwrap();
    let bell = ada.session.get("/api/notifications").await;
    let bell = bell.expect(200).clone();
    assert_eq!(bell["unread"], 1);
    assert_eq!(bell["notifications"][0]["type"], "approval_requested");
    assert_eq!(bell["notifications"][0]["link"], "/approvals");
    assert_eq!(cleo.session.get("/api/notifications").await.expect(200)["unread"], 0);

    // Approved without a time: the next free posting slot (9:00, 12:00 or 17:00 UTC).
    let approved = ada.session.send_raw(reqwest::Method::POST, &format!("/api/posts/{post}/approve"), None).await;
    let approved = approved.expect(200).clone();
    assert_eq!(approved["status"], "SCHEDULED");
    assert_eq!(approved["approval"]["state"], "APPROVED");
    assert_eq!(approved["approval"]["decidedBy"], ada.id.to_string());
    let at: chrono::DateTime<chrono::Utc> = approved["scheduledFor"].as_str().unwrap().parse().unwrap();
    assert!(at > app.store.now());
    assert!([9, 12, 17].contains(&chrono::Timelike::hour(&at)), "{at} is a posting slot");
    ada.session.post(&format!("/api/posts/{post}/approve"), json!({})).await.expect_error(409, "CONFLICT");

    app.engine.notify_once().await.unwrap();
    let cleo_bell = cleo.session.get("/api/notifications").await;
    assert_eq!(cleo_bell.expect(200)["notifications"][0]["type"], "approval_approved");

    // Editing an approved post sends it back to the queue, unscheduled.
    let edited = ada.session.put(&format!("/api/posts/{post}"), json!({"content": "Launch day, v2"})).await;
    let edited = edited.expect(200).clone();
    assert_eq!(edited["approval"]["state"], "REQUESTED");
    assert_eq!(edited["status"], "DRAFT");

    // Approved for a given time.
    let at = in_minutes(300);
    let approved = ada.session.post(&format!("/api/posts/{post}/approve"), json!({"scheduledFor": at})).await;
    let when: chrono::DateTime<chrono::Utc> = approved.expect(200)["scheduledFor"].as_str().unwrap().parse().unwrap();
    assert_eq!(when.timestamp(), chrono::DateTime::parse_from_rfc3339(&at).unwrap().timestamp());

    let audit = ada.session.get("/api/audit?type=approval_requested,approval_approved").await;
    let kinds: Vec<String> = audit.expect(200)["entries"].as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_string()).collect();
    assert_eq!(kinds, ["approval_approved", "approval_requested", "approval_approved", "approval_requested"]);
    cleo.session.get("/api/audit").await.expect_error(403, "FORBIDDEN");
});

db_test!(async fn a_rejection_carries_a_note_to_the_author(app, TestOptions::driven()) {
    let ada = app.register("ada@example.com").await;
    let cleo = app.join(&ada, "cleo@example.com", "CONTRIBUTOR").await;
    let integration = app.add_integration(&ada, "mastodon").await;
    let draft = cleo.session.post("/api/posts", json!({"content": "Hot take", "platforms": [integration], "status": "DRAFT"})).await;
    let post = id_of(draft.expect(201));
    ada.session.post(&format!("/api/posts/{post}/reject"), json!({"note": "no"})).await.expect_error(409, "CONFLICT");
    cleo.session.post(&format!("/api/posts/{post}/submit"), json!({})).await.expect(200);
    ada.session.post(&format!("/api/posts/{post}/reject"), json!({"note": "  "})).await.expect_error(422, "VALIDATION_FAILED");
    ada.session.post(&format!("/api/posts/{post}/reject"), json!({})).await.expect_error(422, "VALIDATION_FAILED");
    let rejected = ada.session.post(&format!("/api/posts/{post}/reject"), json!({"note": "Tone it down, please."})).await;
    let rejected = rejected.expect(200).clone();
    assert_eq!(rejected["approval"]["state"], "REJECTED");
    assert_eq!(rejected["approval"]["note"], "Tone it down, please.");
    assert_eq!(rejected["status"], "DRAFT");

    app.engine.notify_once().await.unwrap();
    let bell = cleo.session.get("/api/notifications").await;
    let note = &bell.expect(200)["notifications"][0];
    assert_eq!(note["type"], "approval_rejected");
    assert!(note["body"].as_str().unwrap().contains("Tone it down"));
    let id = note["id"].as_str().unwrap();
    let read = cleo.session.post("/api/notifications/read", json!({"ids": [id]})).await;
    assert_eq!(read.expect(200)["unread"], 0);
    // A second round writes nothing twice.
    app.engine.notify_once().await.unwrap();
    assert_eq!(cleo.session.get("/api/notifications").await.expect(200)["notifications"].as_array().unwrap().len(), 1);

    // Resubmitted after an edit.
    cleo.session.put(&format!("/api/posts/{post}"), json!({"content": "A calmer take"})).await.expect(200);
    let again = cleo.session.post(&format!("/api/posts/{post}/submit"), json!({})).await;
    assert_eq!(again.expect(200)["approval"]["state"], "REQUESTED");
    // Someone else's post: 404.
    let eve = app.register("eve@example.com").await;
    eve.session.post(&format!("/api/posts/{post}/submit"), json!({})).await.expect_error(404, "NOT_FOUND");
    eve.session.post(&format!("/api/posts/{post}/approve"), json!({})).await.expect_error(404, "NOT_FOUND");
});

db_test!(async fn require_approval_turns_scheduling_below_editor_into_a_request(app, TestOptions::driven()) {
    let ada = app.register("ada@example.com").await;
    let cleo = app.join(&ada, "cleo@example.com", "CONTRIBUTOR").await;
    let integration = app.add_integration(&ada, "mastodon").await;
    ada.session.patch(&format!("/api/workspaces/{}", ada.workspace_id), json!({"requireApproval": true})).await.expect(200);

    let at = in_minutes(120);
    let created = cleo.session.post("/api/posts", json!({"content": "Hello", "platforms": [integration], "scheduledFor": at})).await;
    let created = created.expect(201).clone();
    assert_eq!(created["status"], "DRAFT");
    assert_eq!(created["approval"]["state"], "REQUESTED");
    // Approval keeps the time asked for.
    let approved = ada.session.post(&format!("/api/posts/{}/approve", id_of(&created)), json!({})).await;
    let when: chrono::DateTime<chrono::Utc> = approved.expect(200)["scheduledFor"].as_str().unwrap().parse().unwrap();
    assert_eq!(when.timestamp(), chrono::DateTime::parse_from_rfc3339(&at).unwrap().timestamp());

    // "Publish now" asked by a contributor is published at approval.
    let now = cleo.session.post("/api/posts", json!({"content": "Now please", "platforms": [integration]})).await;
    let now = now.expect(201).clone();
    assert_eq!(now["approval"]["wantsNow"], true);
    let approved = ada.session.post(&format!("/api/posts/{}/approve", id_of(&now)), json!({})).await;
    assert_eq!(approved.expect(200)["status"], "SCHEDULED");

    // A draft-only key in that workspace asks for approval the same way.
    let key = ada.api_key(Some(&["posts:read", "posts:write"])).await;
    let by_key = app.with_key(&key).post("/api/posts", json!({"content": "From the assistant", "platforms": [integration], "scheduledFor": in_minutes(60)})).await;
    assert_eq!(by_key.expect(201)["approval"]["state"], "REQUESTED");
    // Owners publish as before.
    let own = ada.session.post("/api/posts", json!({"content": "Mine", "platforms": [integration], "scheduledFor": in_minutes(60)})).await;
    let own = own.expect(201).clone();
    assert_eq!(own["status"], "SCHEDULED");
    assert!(own["approval"].is_null());
});

db_test!(async fn account_alerts_reach_managers_and_the_audit_log_pages(app, TestOptions::driven()) {
    use herald_core::event::{ActorType, EventKind};
    use herald_store::repo::{Events, NewEvent};
    let ada = app.register("ada@example.com").await;
    let eddie = app.join(&ada, "eddie@example.com", "EDITOR").await;
    let cleo = app.join(&ada, "cleo@example.com", "CONTRIBUTOR").await;
    let integration = app.add_integration(&ada, "mastodon").await;
    Events(app.store.conn())
        .append(NewEvent {
            at: app.store.now(),
            workspace_id: ada.workspace_id,
            kind: EventKind::IntegrationNeedsReconnect,
            post_id: None,
            integration_id: Some(integration),
            actor_type: ActorType::System,
            actor_id: None,
            data: json!({"platform": "mastodon", "reason": "the token was revoked"}),
        })
        .await
        .unwrap();
    app.engine.notify_once().await.unwrap();
    for (who, expected) in [(&ada, 1), (&eddie, 1), (&cleo, 0)] {
        let bell = who.session.get("/api/notifications").await;
        let bell = bell.expect(200).clone();
        assert_eq!(bell["unread"], expected, "{}", who.email);
        if expected == 1 {
            assert_eq!(bell["notifications"][0]["title"], "My mastodon (mastodon) needs reconnecting");
            assert_eq!(bell["notifications"][0]["link"], "/integrations");
        }
    }
    // The bell is per workspace: Eddie's own workspace has nothing.
    let home = app.anonymous();
    home.post("/api/auth/login", json!({"email": "eddie@example.com", "password": herald_testkit::PASSWORD})).await.expect(200);
    assert_eq!(home.get("/api/notifications").await.expect(200)["unread"], 0);

    // The audit log pages with a cursor, newest first, and filters by actor.
    let first = ada.session.get("/api/audit?limit=2").await;
    let first = first.expect(200).clone();
    assert_eq!(first["entries"].as_array().unwrap().len(), 2);
    let cursor = first["nextCursor"].as_str().unwrap();
    let second = ada.session.get(&format!("/api/audit?limit=2&cursor={cursor}")).await;
    let second = second.expect(200).clone();
    assert_ne!(first["entries"][0]["id"], second["entries"][0]["id"]);
    assert!(first["entries"][1]["occurredAt"].as_str().unwrap() >= second["entries"][0]["occurredAt"].as_str().unwrap());
    let system = ada.session.get("/api/audit?actor=SYSTEM").await;
    let system = system.expect(200).clone();
    assert_eq!(system["entries"].as_array().unwrap().len(), 1);
    assert_eq!(system["entries"][0]["actor"]["name"], "Herald");
    let by_eddie = ada.session.get(&format!("/api/audit?actor={}", eddie.id)).await;
    assert!(by_eddie.expect(200)["entries"].as_array().unwrap().iter().all(|e| e["actor"]["id"] == eddie.id.to_string()));
    let bad = ada.session.get("/api/audit?type=nope&actor=robot&from=yesterday").await;
    let fields: Vec<String> = bad.expect_error(422, "VALIDATION_FAILED")["details"]["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap().to_string()).collect();
    assert_eq!(fields, ["actor", "from"]);
    // An event type Herald does not know matches nothing.
    assert_eq!(ada.session.get("/api/audit?type=nope").await.expect(200)["entries"], json!([]));
});

db_test!(async fn avatars_are_served_from_herald_and_never_fail_a_page(app) {
    use herald_store::repo::Integrations;
    let ada = app.register("ada@example.com").await;
    let integration = app.add_integration(&ada, "mastodon").await;
    let png = ada.session.upload("a.png", herald_testkit::TINY_PNG.to_vec(), None).await;
    let url = png.expect(201)["url"].as_str().unwrap().to_string();
    let repo = Integrations(app.store.conn());
    let mut row = repo.get(ada.workspace_id, integration).await.unwrap().unwrap();
    row.avatar_url = Some(url);
    repo.update(row.clone()).await.unwrap();
    let avatar = ada.session.get(&format!("/integrations/{integration}/avatar")).await;
    assert_eq!(avatar.status, 200);
    assert_eq!(avatar.header("content-type"), Some("image/png"));
    // Not an image, or nowhere: 404, and the accounts page still renders.
    row.avatar_url = Some(format!("{}/api/health", app.address));
    repo.update(row.clone()).await.unwrap();
    assert_eq!(ada.session.get(&format!("/integrations/{integration}/avatar")).await.status, 404);
    row.avatar_url = Some("http://127.0.0.1:9/nothing.png".into());
    repo.update(row).await.unwrap();
    assert_eq!(ada.session.get(&format!("/integrations/{integration}/avatar")).await.status, 404);
    assert_eq!(ada.session.get("/integrations").await.status, 200);
    // Someone else's account: 404.
    let eve = app.register("eve@example.com").await;
    assert_eq!(eve.session.get(&format!("/integrations/{integration}/avatar")).await.status, 404);
});
