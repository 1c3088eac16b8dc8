//! Two Herald processes on one PostgreSQL renew one X account's rotating,
//! single-use refresh tokens: every refresh token is spent once, by one of
//! them, and the account stays connected (DESIGN §5a).

use std::time::Duration;

use herald_testkit::fakes::x::{CLIENT_ID, CLIENT_SECRET, XFake};
use serde_json::Value;

use crate::delivery::{drop_database, fresh_database, with_engine_env};
use crate::{Server, herald};

/// Short-lived tokens (renewed with a quarter of their life left) and a
/// fast upkeep round, so both processes find the token due together.
const TOKEN_SECONDS: i64 = 8;

fn x_node(dir: &std::path::Path, url: &str, fake: &XFake) -> std::process::Command {
    let mut command = with_engine_env(herald(dir), Some(url));
    command
        .env("HERALD_PROVIDER_X_API_BASE", fake.base_url())
        .env("X_CLIENT_ID", CLIENT_ID)
        .env("X_CLIENT_SECRET", CLIENT_SECRET)
        .env("HERALD_MAINTENANCE_SECONDS", "1")
        .env("RUST_LOG", "info");
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_never_spend_a_rotating_refresh_token_twice() {
    let Some((url, admin, name)) = fresh_database("tokens").await else {
        eprintln!("note: HERALD_TEST_PG_URL is not set; skipping");
        return;
    };
    let fake = XFake::start().await;
    fake.token_lifetime(TOKEN_SECONDS);
    // A refresh in flight for 1.5 s: the other node's round comes meanwhile.
    fake.slow_refreshes(Duration::from_millis(1500));
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Server::start(x_node(dir_a.path(), &url, &fake), dir_a.path());
    std::fs::create_dir_all(dir_b.path().join("data")).unwrap();
    std::fs::copy(dir_a.path().join("data/secrets.toml"), dir_b.path().join("data/secrets.toml")).unwrap();
    let mut worker_only = x_node(dir_b.path(), &url, &fake);
    worker_only.env("HERALD_ROLES", "worker,scheduler");
    let b = Server::start(worker_only, dir_b.path());

    // Connect the account through node A, as a browser would.
    let session = reqwest::Client::builder().cookie_store(true).build().unwrap();
    let registered = session
        .post(format!("{}/api/auth/register", a.base))
        .json(&serde_json::json!({"email": "ops@example.com", "password": "a long enough password"}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    let begun: Value = session
        .get(format!("{}/api/auth/x", a.base))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let location = herald_testkit::fakes::consent(begun["authorizeUrl"].as_str().unwrap()).await;
    let back = url::Url::parse(&location).unwrap();
    let callback = format!("{}{}?{}", a.base, back.path(), back.query().unwrap_or_default());
    let done: Value =
        session.get(callback).header("accept", "application/json").send().await.unwrap().json().await.unwrap();
    let id = done["integrationId"].as_str().unwrap_or_else(|| panic!("connected: {done}")).to_string();

    // Three lifetimes: each token is due on both nodes at about the same time.
    tokio::time::sleep(Duration::from_secs(3 * TOKEN_SECONDS as u64)).await;
    let integration: Value =
        session.get(format!("{}/api/integrations/{id}", a.base)).send().await.unwrap().json().await.unwrap();
    eprintln!("refreshes: {}, refused: {}", fake.refreshes(), fake.refused_refreshes());
    assert!(fake.refreshes() >= 2, "the tokens were renewed: {}", fake.refreshes());
    assert_eq!(fake.refused_refreshes(), 0, "a refresh token was presented twice");
    assert_eq!(integration["status"], "ACTIVE", "{integration}");
    let count = |server: &Server, what: &str| server.logs().matches(what).count();
    let (renewed, waited) = ("tokens refreshed", "another worker or process is renewing");
    eprintln!(
        "node A renewed {} and waited {}; node B renewed {} and waited {}",
        count(&a, renewed),
        count(&a, waited),
        count(&b, renewed),
        count(&b, waited)
    );
    // The race happened: a node found the other's refresh in flight.
    assert!(count(&a, waited) + count(&b, waited) >= 1, "no overlapping refresh to test");
    drop((a, b));
    drop_database(admin, &name).await;
}
