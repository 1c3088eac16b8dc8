//! Credentials never leave where they belong: a full publish run — a
//! webhook whose URL carries a token, a connection error, retries, a
//! failure, a success — leaves no credential in the log (at TRACE), the
//! database, the event stream or any API answer.

use std::time::Duration;

use futures::StreamExt;
use herald_testkit::{Backend, PASSWORD, TestApp, WebhookReceiver, db_test, id_of};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

const QUERY_TOKEN: &str = "qtok-5f1d0c9a7e3b";
const PATH_TOKEN: &str = "ptok-8a2b4c6d0e1f";
const SECRET: &str = "signing-secret-0123456789abcdef";
const WAIT: Duration = Duration::from_secs(20);

/// Every row of every table, as text (and the SQLite files' bytes).
async fn database_text(app: &TestApp) -> String {
    let conn = app.store.conn();
    let backend = conn.get_database_backend();
    let tables_sql = match app.backend {
        Backend::Sqlite => "SELECT name AS t FROM sqlite_master WHERE type = 'table'",
        Backend::Postgres => {
            "SELECT table_name::text AS t FROM information_schema.tables WHERE table_schema = current_schema()"
        }
    };
    let tables = conn.query_all_raw(Statement::from_string(backend, tables_sql)).await.unwrap();
    let mut text = String::new();
    for row in tables {
        let table: String = row.try_get("", "t").unwrap();
        let sql = match app.backend {
            Backend::Sqlite => format!("SELECT * FROM \"{table}\""),
            Backend::Postgres => format!("SELECT row_to_json(r)::text AS j FROM \"{table}\" r"),
        };
        for row in conn.query_all_raw(Statement::from_string(backend, sql)).await.unwrap() {
            text.push_str(&format!("{row:?}\n"));
        }
    }
    if app.backend == Backend::Sqlite {
        for file in ["herald.db", "herald.db-wal"] {
            if let Ok(bytes) = std::fs::read(app.data_dir().join(file)) {
                text.push_str(&String::from_utf8_lossy(&bytes));
            }
        }
    }
    text
}

fn assert_clean(place: &str, text: &str, secrets: &[&str]) {
    for secret in secrets {
        assert!(!text.contains(secret), "{place} contains `{secret}`");
    }
}

db_test!(async fn no_credential_reaches_logs_rows_events_or_answers(app) {
    let logs = herald_testkit::logs::capture();
    let ada = app.register("ada@example.com").await;
    let key = ada.api_key(None).await;
    let api = app.with_key(&key);
    let events = reqwest::Client::new().get(format!("{}/api/events", app.address)).bearer_auth(&key).send().await.unwrap();
    let collected = tokio::spawn(async move {
        let mut text = String::new();
        let mut stream = events.bytes_stream();
        let _ = tokio::time::timeout(WAIT, async {
            while let Some(Ok(chunk)) = stream.next().await {
                text.push_str(&String::from_utf8_lossy(&chunk));
                if text.matches("post_published").count() >= 1 && text.contains("post_failed") {
                    break;
                }
            }
        })
        .await;
        text
    });

    // A webhook on a closed port: connection errors, retries, a failure.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let broken_url = format!("http://127.0.0.1:{port}/{PATH_TOKEN}/hook?token={QUERY_TOKEN}");
    let broken = ada.session.post("/api/integrations", json!({"platform": "webhook", "credentials": {"url": broken_url, "secret": SECRET}})).await;
    let broken = id_of(broken.expect(201));
    // A working one whose URL carries the same kind of token.
    let receiver = WebhookReceiver::start(SECRET).await;
    let working_url = format!("{}?token={QUERY_TOKEN}", receiver.url());
    let working = ada.session.post("/api/integrations", json!({"platform": "webhook", "credentials": {"url": working_url, "secret": SECRET}})).await;
    let working = id_of(working.expect(201));

    let failing = id_of(api.post("/api/posts", json!({"content": "to the void", "platforms": [broken]})).await.expect(201));
    let failed = app.wait_for_post_status(&api, &failing, "FAILED", WAIT).await;
    let error = failed["targets"][0]["lastError"]["message"].as_str().unwrap().to_string();
    assert!(error.contains(&format!("http://127.0.0.1:{port}/…")), "the error still says where: {error}");
    let publishing = id_of(api.post("/api/posts", json!({"content": "hello", "platforms": [working]})).await.expect(201));
    app.wait_for_post_status(&api, &publishing, "PUBLISHED", WAIT).await;
    assert_eq!(receiver.deliveries().len(), 1);

    let secrets = [QUERY_TOKEN, PATH_TOKEN, SECRET, key.as_str(), PASSWORD];
    let events = collected.await.unwrap();
    assert!(events.contains("post_failed"), "{events}");
    assert_clean("the event stream", &events, &secrets);
    for path in [
        "/api/posts".to_string(),
        format!("/api/posts/{failing}"),
        format!("/api/posts/{publishing}"),
        "/api/integrations".to_string(),
        format!("/api/integrations/{broken}"),
        format!("/api/analytics/{failing}"),
        "/api/api-keys".to_string(),
        "/api/me".to_string(),
    ] {
        let answer = ada.session.get(&path).await;
        assert_clean(&format!("GET {path}"), &answer.text, &secrets);
    }
    assert_clean("the database", &database_text(&app).await, &secrets);
    assert_clean("the log", &logs.text(), &secrets);
});

db_test!(async fn link_tokens_never_reach_the_log(app) {
    let logs = herald_testkit::logs::capture();
    let ada = app.register("ada@example.com").await;
    let post = id_of(ada.session.post("/api/posts", json!({"content": "for the client", "status": "DRAFT"})).await.expect(201));
    let preview = ada.session.post(&format!("/api/posts/{post}/preview-links"), json!({})).await;
    let preview = preview.expect(201)["url"].as_str().unwrap().to_string();
    let customer = id_of(ada.session.post("/api/customers", json!({"name": "Acme"})).await.expect(201));
    let connect = ada.session.post(&format!("/api/customers/{customer}/connect-links"), json!({})).await;
    let connect = connect.expect(201)["url"].as_str().unwrap().to_string();
    let invite = ada.session.post(&format!("/api/workspaces/{}/invites", ada.workspace_id), json!({"email": "bob@example.com"})).await;
    let invite = invite.expect(201)["inviteUrl"].as_str().unwrap().to_string();
    let visitor = app.anonymous();
    for url in [&preview, &connect, &invite] {
        visitor.get(url.trim_start_matches(&app.address)).await;
    }
    visitor.post(&format!("{}/comments", preview.trim_start_matches(&app.address)), json!({"name": "Jo", "body": "ok"})).await.expect(201);
    visitor.get(&format!("/api/invites/{}", invite.rsplit('/').next().unwrap())).await.expect(200);
    let tokens: Vec<&str> = [&preview, &connect, &invite].iter().map(|url| url.rsplit('/').next().unwrap()).collect();
    let text = logs.text();
    assert!(text.contains("/p/****"), "the requests are logged, their tokens masked");
    assert_clean("the log", &text, &tokens);
});
