//! The SSRF guard: no user-given URL reaches loopback, private or
//! link-local addresses — whatever its spelling, at posting, uploading,
//! connecting and publishing — unless `HERALD_ALLOW_PRIVATE_TARGETS` is
//! set. Platforms the operator configured (`HERALD_PROVIDER_<ID>_API_BASE`)
//! stay reachable on a private address: they are configuration, not input.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use herald_store::repo::{Integrations, Posts};
use herald_testkit::fakes::telegram::TelegramFake;
use herald_testkit::{TINY_PNG, TestApp, TestOptions, db_test, id_of};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const TOKEN: &str = "7000000001:AAHerald-test_token-0123456789abcdef";
const WAIT: Duration = Duration::from_secs(15);

/// An internal service an attacker wants to reach: it counts connections
/// and would answer each with a PNG.
struct InternalService {
    port: u16,
    connections: Arc<AtomicUsize>,
}

impl InternalService {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let connections = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&connections);
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                let mut head = Vec::new();
                let mut buffer = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&buffer[..n]),
                    }
                }
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: image/png\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    TINY_PNG.len()
                );
                let _ = socket.write_all(head.as_bytes()).await;
                let _ = socket.write_all(TINY_PNG).await;
            }
        });
        Self { port, connections }
    }

    fn reached(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    /// Every spelling of an internal address the guard must see through.
    fn spellings(&self) -> Vec<String> {
        let port = self.port;
        vec![
            format!("http://127.0.0.1:{port}/a.png"),
            format!("http://2130706433:{port}/a.png"),
            format!("http://0x7f.0.0.1:{port}/a.png"),
            format!("http://127.1:{port}/a.png"),
            format!("http://[::1]:{port}/a.png"),
            format!("http://[::ffff:127.0.0.1]:{port}/a.png"),
            format!("http://0.0.0.0:{port}/a.png"),
            "http://169.254.169.254/latest/meta-data/".to_string(),
            "http://10.0.0.1/a.png".to_string(),
        ]
    }
}

/// Private targets refused, as in production; the Telegram fake (on
/// 127.0.0.1) is the operator's configured API base.
fn closed(fake: &TelegramFake) -> TestOptions {
    TestOptions {
        allow_private_targets: false,
        provider_api_base: [("telegram".to_string(), fake.api_base())].into(),
        ..TestOptions::default()
    }
}

async fn telegram() -> TelegramFake {
    let fake = TelegramFake::start(TOKEN).await;
    fake.add_chat(
        json!({"id": -1_001_234_567_890_i64, "type": "channel", "title": "Herald News", "username": "herald_news"}),
    );
    fake
}

async fn connect_telegram(account: &herald_testkit::Account) -> String {
    let body = json!({"platform": "telegram", "credentials": {"botToken": TOKEN, "chatId": "@herald_news"}});
    id_of(account.session.post("/api/integrations", body).await.expect(201))
}

/// Rewrites a stored post's media URLs, as a post saved before the guard
/// (or by any path that skipped validation) would hold them.
async fn store_media_urls(app: &TestApp, post_id: &str, urls: &[String]) {
    let posts = Posts(app.store.conn());
    let mut row = posts.by_id(post_id.parse().unwrap()).await.unwrap().unwrap();
    row.media = json!({"urls": urls, "ids": []});
    posts.update(row).await.unwrap();
}

fn last_error(post: &Value) -> String {
    post["targets"][0]["lastError"]["message"].as_str().unwrap_or_default().to_string()
}

db_test!(async fn internal_media_urls_are_refused_when_posting(app, fake = telegram().await, closed(&fake)) {
    let internal = InternalService::start().await;
    let ada = app.register("ada@example.com").await;
    let channel = connect_telegram(&ada).await;
    for url in internal.spellings() {
        let created = ada.session.post("/api/posts", json!({"content": "look", "platforms": [channel], "mediaUrls": [url]})).await;
        let error = created.expect_error(422, "VALIDATION_FAILED");
        let field = &error["details"]["errors"][0];
        assert_eq!(field["field"], "mediaUrls[0]", "{url}: {error}");
        assert!(field["message"].as_str().unwrap().contains("is a private address"), "{url}: {error}");
        let reply = ada.session.post("/api/posts", json!({"content": "look", "platforms": [channel], "thread": [{"content": "more", "mediaUrls": [url]}]})).await;
        assert_eq!(reply.expect_error(422, "VALIDATION_FAILED")["details"]["errors"][0]["field"], "thread[0].mediaUrls[0]");
    }
    assert_eq!(internal.reached(), 0);
});

db_test!(async fn internal_media_urls_are_refused_at_publishing(app, fake = telegram().await, closed(&fake)) {
    let internal = InternalService::start().await;
    let ada = app.register("ada@example.com").await;
    let channel = connect_telegram(&ada).await;
    let mut posts = Vec::new();
    for url in internal.spellings() {
        let when = (chrono::Utc::now() + chrono::Duration::seconds(2)).to_rfc3339();
        let created = ada.session.post("/api/posts", json!({"content": "look", "platforms": [channel], "scheduledFor": when, "mediaUrls": ["https://cdn.example/a.png"]})).await;
        let post_id = id_of(created.expect(201));
        store_media_urls(&app, &post_id, std::slice::from_ref(&url)).await;
        posts.push((url, post_id));
    }
    // A name is checked on what it resolves to, when it is fetched.
    let by_name = format!("http://localhost:{}/a.png", internal.port);
    let created = ada.session.post("/api/posts", json!({"content": "look", "platforms": [channel], "mediaUrls": [by_name]})).await;
    posts.push((by_name, id_of(created.expect(201))));

    for (url, post_id) in &posts {
        let failed = app.wait_for_post_status(&ada.session, post_id, "FAILED", WAIT).await;
        let error = last_error(&failed);
        assert_eq!(failed["targets"][0]["lastError"]["class"], "INVALID", "{url}: {failed}");
        assert!(error.contains("private address"), "{url}: {error}");
        // The rule, never how the address behaved (refused, timed out, …).
        for telltale in ["onnection refused", "timed out", "reset", "could not connect", "200 OK", "image/png"] {
            assert!(!error.contains(telltale), "{url}: `{telltale}` in {error}");
        }
    }
    assert_eq!(internal.reached(), 0, "no internal address was reached");
    assert!(fake.sent().is_empty(), "nothing went out to the platform");
});

db_test!(async fn media_from_internal_urls_is_refused(app, fake = telegram().await, closed(&fake)) {
    let internal = InternalService::start().await;
    let ada = app.register("ada@example.com").await;
    let mut spellings = internal.spellings();
    spellings.push(format!("http://localhost:{}/a.png", internal.port));
    for url in spellings {
        let fetched = ada.session.post("/api/media/from-url", json!({"url": url})).await;
        let error = fetched.expect_error(422, "VALIDATION_FAILED");
        assert!(error["message"].as_str().unwrap().contains("private address"), "{url}: {error}");
    }
    assert_eq!(internal.reached(), 0);
    let _ = &fake;
});

db_test!(async fn webhooks_to_internal_addresses_are_refused_at_connect_and_delivery(app, fake = telegram().await, closed(&fake)) {
    let internal = InternalService::start().await;
    let ada = app.register("ada@example.com").await;
    let mut spellings = internal.spellings();
    spellings.push(format!("http://localhost:{}/hook", internal.port));
    for url in &spellings {
        let body = json!({"platform": "webhook", "credentials": {"url": url, "secret": "a-webhook-secret-0123456789"}});
        let refused = ada.session.post("/api/integrations", body).await;
        let error = refused.expect_error(422, "VALIDATION_FAILED");
        assert!(error["message"].as_str().unwrap().contains("private address"), "{url}: {error}");
    }
    // One stored before the guard: refused at every delivery too.
    let hook = app.add_integration(&ada, "webhook").await;
    let credentials = json!({"url": format!("http://[::ffff:127.0.0.1]:{}/hook", internal.port), "secret": "a-webhook-secret-0123456789"});
    let vault = herald_core::vault::Vault::from_hex(herald_testkit::TEST_ENCRYPTION_KEY).unwrap();
    let sealed = vault.encrypt(credentials.to_string().as_bytes(), hook.as_bytes());
    assert!(Integrations(app.store.conn()).store_tokens(hook, sealed, None, herald_store::repo::AccessEnd::default(), app.store.now()).await.unwrap());
    let created = ada.session.post("/api/posts", json!({"content": "hello", "platforms": [hook]})).await;
    let failed = app.wait_for_post_status(&ada.session, &id_of(created.expect(201)), "FAILED", WAIT).await;
    assert!(last_error(&failed).contains("is a private address"), "{failed}");
    assert_eq!(internal.reached(), 0);
    let _ = &fake;
});

db_test!(async fn the_operator_may_allow_private_targets(app, fake = telegram().await, TestOptions { allow_private_targets: true, ..closed(&fake) }) {
    let internal = InternalService::start().await;
    let ada = app.register("ada@example.com").await;
    let fetched = ada.session.post("/api/media/from-url", json!({"url": format!("http://127.0.0.1:{}/a.png", internal.port)})).await;
    fetched.expect(201);
    assert_eq!(internal.reached(), 1);
});

db_test!(async fn signing_in_on_an_internal_instance_is_refused_before_any_request(app, fake = telegram().await, closed(&fake)) {
    let ada = app.register("ada@example.com").await;
    let internal = InternalService::start().await;
    for instance in [format!("http://127.0.0.1:{}", internal.port), format!("http://[::ffff:127.0.0.1]:{}", internal.port), "http://2130706433".to_string()] {
        let path = format!("/api/auth/mastodon?instance={}", url::form_urlencoded::byte_serialize(instance.as_bytes()).collect::<String>());
        let refused = ada.session.get_with(&path, &[("accept", "application/json")]).await;
        let error = refused.expect_error(422, "VALIDATION_FAILED");
        assert!(error["message"].as_str().unwrap().contains("private address"), "{instance}: {error}");
    }
    assert_eq!(internal.reached(), 0, "no app was registered on it");
    let _ = &fake;
});
