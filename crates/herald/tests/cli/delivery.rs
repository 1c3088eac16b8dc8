//! Exactly-once delivery across crashes and processes, with the real binary.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use herald_testkit::{Reply, WebhookReceiver};
use serde_json::{Value, json};

use crate::{Server, herald};

pub(crate) const SECRET: &str = "kill-test-secret-0123456789";

pub(crate) fn with_engine_env(mut command: Command, database_url: Option<&str>) -> Command {
    command
        .env("HERALD_ALLOW_PRIVATE_TARGETS", "true")
        .env("HERALD_RATE_LIMIT", "0")
        .env("HERALD_RATE_LIMIT_POSTS", "0")
        .env("HERALD_LEASE_SECONDS", "3")
        .env("HERALD_PROVIDER_TIMEOUT_SECONDS", "2")
        .env("HERALD_RETRY_BASE_SECONDS", "0.2");
    if let Some(url) = database_url {
        command.env("DATABASE_URL", url);
    }
    command
}

/// Registers, creates a key and connects the receiver; returns (http client with key, integration id).
pub(crate) async fn set_up(base: &str, receiver: &WebhookReceiver) -> (reqwest::Client, String, String) {
    let session = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let registered = session
        .post(format!("{base}/api/auth/register"))
        .json(&json!({"email": "ops@example.com", "password": "a long enough password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    let key: Value = session
        .post(format!("{base}/api/api-keys"))
        .json(&json!({"name": "t"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let hook: Value = session
        .post(format!("{base}/api/integrations"))
        .json(&json!({"platform": "webhook", "credentials": {"url": receiver.url(), "secret": SECRET}}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    (reqwest::Client::new(), key["key"].as_str().unwrap().to_string(), hook["id"].as_str().unwrap().to_string())
}

pub(crate) async fn create_posts(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    hook: &str,
    count: usize,
    scheduled_for: Option<String>,
) -> Vec<String> {
    let mut ids = Vec::new();
    for i in 0..count {
        let mut body = json!({"content": format!("post {i}"), "platforms": [hook]});
        if let Some(at) = &scheduled_for {
            body["scheduledFor"] = json!(at);
        }
        let post: Value = client
            .post(format!("{base}/api/posts"))
            .bearer_auth(key)
            .json(&body)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.push(post["id"].as_str().unwrap_or_else(|| panic!("{post}")).to_string());
    }
    ids
}

pub(crate) async fn statuses(client: &reqwest::Client, base: &str, key: &str, ids: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    for id in ids {
        let post: Value =
            client.get(format!("{base}/api/posts/{id}")).bearer_auth(key).send().await.unwrap().json().await.unwrap();
        out.push(post["status"].as_str().unwrap_or_default().to_string());
    }
    out
}

/// Kills Herald with SIGKILL before, during and after deliveries, restarts
/// it, and checks every post arrives and none arrives twice (by key).
async fn kill_and_restart(dir: &Path, database_url: Option<&str>, kill_after_requests: usize, round: usize) {
    const POSTS: usize = 8;
    let receiver = WebhookReceiver::start(SECRET).await;
    let server = Server::start(with_engine_env(herald(dir), database_url), dir);
    let (client, key, hook) = set_up(&server.base, &receiver).await;
    // The request we kill during is answered slowly, so the kill lands mid-delivery.
    for _ in 0..kill_after_requests {
        receiver.push_reply(Reply::Ok);
    }
    receiver.push_reply(Reply::Delay(Duration::from_millis(1500)));
    let ids = create_posts(&client, &server.base, &key, &hook, POSTS, None).await;
    let started = std::time::Instant::now();
    while receiver.deliveries().len() <= kill_after_requests.min(POSTS - 1) {
        assert!(started.elapsed() < Duration::from_secs(15), "deliveries did not start");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill_hard();
    let killed_at = chrono::Utc::now();

    let server = Server::start(with_engine_env(herald(dir), database_url), dir);
    receiver.wait_for_accepted(POSTS, Duration::from_secs(30)).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    loop {
        let now = statuses(&client, &server.base, &key, &ids).await;
        if now.iter().all(|s| s == "PUBLISHED") {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "round {round}: not all published: {now:?}\n{}", server.logs());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let raw = receiver.deliveries();
    let mut keys: Vec<String> = raw.iter().filter_map(|d| d.idempotency_key.clone()).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), POSTS, "round {round}: every post arrived");
    // A key is sent again only when its first request was in flight when
    // the process died (its outcome unknown) — never after a recorded outcome.
    for key in &keys {
        let sends: Vec<_> = raw.iter().filter(|d| d.idempotency_key.as_ref() == Some(key)).collect();
        if sends.len() > 1 {
            assert!(
                sends[0].received_at <= killed_at,
                "round {round}: {key} was sent again though it finished before the kill"
            );
            assert_eq!(sends.len(), 2, "round {round}: {key} was sent {} times", sends.len());
        }
    }
    let (clean, logs) = server.terminate();
    assert!(clean, "{logs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_delivery_loses_nothing_and_duplicates_nothing_on_sqlite() {
    for (round, kill_after) in [0, 3, 7].into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        kill_and_restart(dir.path(), None, kill_after, round).await;
    }
}

pub(crate) async fn fresh_database(label: &str) -> Option<(String, sea_orm::DatabaseConnection, String)> {
    use sea_orm::{ConnectionTrait, Database};
    let admin_url = std::env::var("HERALD_TEST_PG_URL").ok()?;
    let name = format!("herald_{label}_{}", crate::uuid_suffix());
    let admin = Database::connect(&admin_url).await.unwrap();
    admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.unwrap();
    let (base, _) = admin_url.rsplit_once('/').unwrap();
    Some((format!("{base}/{name}"), admin, name))
}

pub(crate) async fn drop_database(admin: sea_orm::DatabaseConnection, name: &str) {
    use sea_orm::ConnectionTrait;
    admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_delivery_loses_nothing_and_duplicates_nothing_on_postgres() {
    for (round, kill_after) in [0, 3, 7].into_iter().enumerate() {
        let Some((url, admin, name)) = fresh_database("kill").await else {
            eprintln!("note: HERALD_TEST_PG_URL is not set; skipping");
            return;
        };
        let dir = tempfile::tempdir().unwrap();
        kill_and_restart(dir.path(), Some(&url), kill_after, round).await;
        drop_database(admin, &name).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_postgres_deliver_each_post_exactly_once() {
    const POSTS: usize = 60;
    let Some((url, admin, name)) = fresh_database("pair").await else {
        eprintln!("note: HERALD_TEST_PG_URL is not set; skipping");
        return;
    };
    let receiver = WebhookReceiver::start(SECRET).await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Both nodes need the same secrets: the second reads the first's.
    let a = Server::start(with_engine_env(herald(dir_a.path()), Some(&url)), dir_a.path());
    std::fs::create_dir_all(dir_b.path().join("data")).unwrap();
    std::fs::copy(dir_a.path().join("data/secrets.toml"), dir_b.path().join("data/secrets.toml")).unwrap();
    let mut worker_only = with_engine_env(herald(dir_b.path()), Some(&url));
    worker_only.env("HERALD_ROLES", "worker,scheduler").env("RUST_LOG", "info");
    let b = Server::start(worker_only, dir_b.path());

    let (client, key, hook) = set_up(&a.base, &receiver).await;
    let at = (chrono::Utc::now() + chrono::Duration::seconds(3)).to_rfc3339();
    create_posts(&client, &a.base, &key, &hook, POSTS, Some(at)).await;
    receiver.wait_for_accepted(POSTS, Duration::from_secs(30)).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let raw = receiver.deliveries();
    assert_eq!(raw.len(), POSTS, "each post was sent exactly once between the two processes");
    let by_b = b.logs().matches("delivery recorded").count();
    eprintln!("node A delivered {}, node B delivered {by_b}", POSTS - by_b);
    // The worker-only node serves health and nothing else.
    let posts = reqwest::get(format!("{}/api/posts", b.base)).await.unwrap();
    assert_eq!(posts.status(), 404);
    drop((a, b));
    drop_database(admin, &name).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_a_delivery_in_flight_finish() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = WebhookReceiver::start(SECRET).await;
    let server = Server::start(with_engine_env(herald(dir.path()), None), dir.path());
    let (client, key, hook) = set_up(&server.base, &receiver).await;
    receiver.push_reply(Reply::Delay(Duration::from_millis(800)));
    let ids = create_posts(&client, &server.base, &key, &hook, 1, None).await;
    let started = std::time::Instant::now();
    while receiver.deliveries().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(10), "the delivery did not start");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (clean, logs) = server.terminate();
    assert!(clean, "{logs}");
    assert!(logs.contains("waiting for deliveries in flight"), "{logs}");

    let server = Server::start(with_engine_env(herald(dir.path()), None), dir.path());
    assert_eq!(statuses(&client, &server.base, &key, &ids).await, ["PUBLISHED"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.deliveries().len(), 1, "finished before exit, so never sent again");
}
