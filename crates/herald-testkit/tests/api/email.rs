//! E-mail notifications against a real SMTP server (aiosmtpd): invites,
//! approvals and failures reach the right people as text + HTML, per-user
//! choices hold, and a dead SMTP server delays mail without touching
//! publishing.

use herald_store::repo::Outbox;
use herald_testkit::smtp::{SmtpSink, free_port};
use herald_testkit::{Reply, TestOptions, WebhookReceiver, db_test, id_of};
use serde_json::json;

fn mail_to(smtp: &str) -> TestOptions {
    let mut options = TestOptions::driven();
    options.engine.mail = Some(herald_engine::mailer::MailSettings {
        smtp_url: smtp.to_string(),
        from: "Herald <herald@example.com>".into(),
    });
    options
}

db_test!(async fn invites_approvals_and_failures_are_emailed(app, smtp = SmtpSink::start().await, mail_to(&smtp.url())) {
    let ada = app.register("ada@example.com").await;
    let invited = ada.session.post(&format!("/api/workspaces/{}/invites", ada.workspace_id), json!({"email": "cleo@example.com"})).await;
    let invited = invited.expect(201).clone();
    assert_eq!(invited["emailed"], true);
    app.engine.send_mail_once().await.unwrap();
    let mails = smtp.wait_for(1).await;
    assert_eq!(mails[0].to, ["cleo@example.com"]);
    assert_eq!(mails[0].from, "herald@example.com");
    assert!(mails[0].subject().contains("invited you"), "{}", mails[0].data);
    assert!(mails[0].data.contains("text/plain") && mails[0].data.contains("text/html"));
    let url = invited["inviteUrl"].as_str().unwrap();
    assert!(mails[0].data.contains(url.rsplit('/').next().unwrap()), "the link is in the mail");

    // Cleo joins, drafts and submits: Ada is told; Cleo is not.
    let token = url.rsplit('/').next().unwrap();
    let cleo_home = app.register("cleo@example.com").await;
    cleo_home.session.post(&format!("/api/invites/{token}/accept"), json!({})).await.expect(200);
    let cleo = cleo_home.session.with_header("x-herald-workspace", &ada.workspace_id.to_string());
    let receiver = WebhookReceiver::start("a-webhook-secret-of-some-length").await;
    let integration = app.connect_webhook(&ada, &receiver, "a-webhook-secret-of-some-length").await;
    let draft = cleo.post("/api/posts", json!({"content": "Our big launch", "platforms": [integration], "status": "DRAFT"})).await;
    let post = id_of(draft.expect(201));
    cleo.post(&format!("/api/posts/{post}/submit"), json!({})).await.expect(200);
    app.engine.notify_once().await.unwrap();
    app.engine.send_mail_once().await.unwrap();
    let mails = smtp.wait_for(2).await;
    assert_eq!(mails[1].to, ["ada@example.com"]);
    assert!(mails[1].subject().contains("waits for approval"));
    assert!(mails[1].data.contains("Our big launch"));

    // Ada approves for now; the platform refuses: owner and author hear of it.
    receiver.push_reply(Reply::Status { status: 400, body: "{\"error\":\"rejected\"}".into(), retry_after: None });
    let at = (app.store.now() + chrono::Duration::minutes(2)).to_rfc3339();
    ada.session.post(&format!("/api/posts/{post}/approve"), json!({"scheduledFor": at})).await.expect(200);
    app.clock().advance(std::time::Duration::from_secs(180));
    app.worker().run_once().await.unwrap();
    let failed = ada.session.get(&format!("/api/posts/{post}")).await;
    assert_eq!(failed.expect(200)["status"], "FAILED");
    app.engine.notify_once().await.unwrap();
    app.engine.send_mail_once().await.unwrap();
    let mails = smtp.wait_for(5).await;
    let mut to: Vec<String> = mails[2..].iter().map(|m| m.to.join(",")).collect();
    to.sort();
    // Cleo: approved + failed; Ada: failed.
    assert_eq!(to, ["ada@example.com", "cleo@example.com", "cleo@example.com"]);
    assert!(mails[2..].iter().any(|m| m.subject().contains("A post failed")));
    // Sending twice sends nothing twice.
    app.engine.notify_once().await.unwrap();
    assert_eq!(app.engine.send_mail_once().await.unwrap(), 0);
});

db_test!(async fn people_choose_which_emails_they_get(app, smtp = SmtpSink::start().await, mail_to(&smtp.url())) {
    let ada = app.register("ada@example.com").await;
    let cleo = app.join(&ada, "cleo@example.com", "CONTRIBUTOR").await;
    app.engine.send_mail_once().await.unwrap();
    let invites = smtp.wait_for(1).await.len();
    let prefs = ada.session.get("/api/me/email-preferences").await;
    assert_eq!(prefs.expect(200), &json!({"postFailed": true, "integrations": true, "approvals": true}));
    let saved = ada.session.put("/api/me/email-preferences", json!({"approvals": false})).await;
    assert_eq!(saved.expect(200)["approvals"], false);
    ada.session.put("/api/me/email-preferences", json!({"sms": true})).await.expect_error(422, "VALIDATION_FAILED");
    let key = ada.api_key(None).await;
    app.with_key(&key).get("/api/me/email-preferences").await.expect_error(403, "FORBIDDEN");

    let integration = app.add_integration(&ada, "mastodon").await;
    let draft = cleo.session.post("/api/posts", json!({"content": "Quiet", "platforms": [integration], "status": "DRAFT"})).await;
    cleo.session.post(&format!("/api/posts/{}/submit", id_of(draft.expect(201))), json!({})).await.expect(200);
    app.engine.notify_once().await.unwrap();
    assert_eq!(app.engine.send_mail_once().await.unwrap(), 0, "Ada turned approval e-mails off");
    assert_eq!(smtp.received().len(), invites);
    // The bell still tells her.
    assert_eq!(ada.session.get("/api/notifications").await.expect(200)["unread"], 1);
});

db_test!(async fn a_dead_smtp_server_delays_mail_and_nothing_else(app, port = free_port(), mail_to(&format!("smtp://127.0.0.1:{port}"))) {
    let ada = app.register("ada@example.com").await;
    ada.session.post(&format!("/api/workspaces/{}/invites", ada.workspace_id), json!({"email": "bob@example.com"})).await.expect(201);
    // Publishing goes on while nothing listens for mail.
    let receiver = WebhookReceiver::start("a-webhook-secret-of-some-length").await;
    let integration = app.connect_webhook(&ada, &receiver, "a-webhook-secret-of-some-length").await;
    let post = ada.session.post("/api/posts", json!({"content": "Still goes out", "platforms": [integration]})).await;
    let post = id_of(post.expect(201));
    app.worker().run_once().await.unwrap();
    assert_eq!(ada.session.get(&format!("/api/posts/{post}")).await.expect(200)["status"], "PUBLISHED");

    assert_eq!(app.engine.send_mail_once().await.unwrap(), 0);
    let outbox = Outbox(app.store.conn()).all().await.unwrap();
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox[0].attempts, 1);
    assert!(outbox[0].sent_at.is_none() && outbox[0].failed_at.is_none(), "kept for a retry");
    assert!(outbox[0].last_error.is_some());
    assert!(outbox[0].next_attempt_at > app.store.now());
    // Not due yet: nothing is tried.
    assert_eq!(app.engine.send_mail_once().await.unwrap(), 0);
    assert_eq!(Outbox(app.store.conn()).all().await.unwrap()[0].attempts, 1);

    // The server comes back; the retry delivers.
    let smtp = SmtpSink::start_on(port).await;
    app.clock().advance(std::time::Duration::from_secs(120));
    assert_eq!(app.engine.send_mail_once().await.unwrap(), 1);
    assert_eq!(smtp.wait_for(1).await[0].to, ["bob@example.com"]);
});
