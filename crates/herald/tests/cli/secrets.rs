//! Credentials stay secret: encrypted in the database, absent from logs
//! (even at debug level) and from every API answer.

use std::time::Duration;

use herald_testkit::{Reply, WebhookReceiver};
use serde_json::json;

use crate::delivery::{SECRET, create_posts, set_up, statuses, with_engine_env};
use crate::{Server, herald};

/// Every file of the data directory, as bytes (the SQLite database, its
/// WAL, the generated secrets file excluded: it holds the keys, not credentials).
fn data_files(dir: &std::path::Path) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(path) = stack.pop() {
        for entry in std::fs::read_dir(&path).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.file_name().is_some_and(|n| n != "secrets.toml") {
                files.push((path.display().to_string(), std::fs::read(&path).unwrap_or_default()));
            }
        }
    }
    files
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credentials_never_reach_the_database_the_logs_or_the_api_in_clear() {
    let dir = tempfile::tempdir().unwrap();
    let receiver = WebhookReceiver::start(SECRET).await;
    // The first attempt is refused, so error paths are logged too.
    receiver.push_reply(Reply::Status { status: 500, body: "try later".into(), retry_after: None });
    let mut command = with_engine_env(herald(dir.path()), None);
    command.env("RUST_LOG", "debug");
    let server = Server::start(command, dir.path());
    let (client, key, hook) = set_up(&server.base, &receiver).await;

    // A refused connection attempt carrying another secret.
    let refused = client
        .post(format!("{}/api/integrations", server.base))
        .bearer_auth(&key)
        .json(&json!({"platform": "webhook", "credentials": {"url": "ftp://nowhere", "secret": "refused-secret-0123456789"}}))
        .send()
        .await
        .unwrap();
    let refused_text = refused.text().await.unwrap();
    assert!(!refused_text.contains("refused-secret"), "{refused_text}");

    let ids = create_posts(&client, &server.base, &key, &hook, 1, None).await;
    receiver.wait_for_accepted(1, Duration::from_secs(20)).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while statuses(&client, &server.base, &key, &ids).await != ["PUBLISHED"] {
        assert!(std::time::Instant::now() < deadline, "not published");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let mut answers = String::new();
    for path in ["/api/integrations", &format!("/api/integrations/{hook}"), &format!("/api/posts/{}", ids[0])] {
        let answer = client.get(format!("{}{path}", server.base)).bearer_auth(&key).send().await.unwrap();
        answers.push_str(&answer.text().await.unwrap());
    }
    assert!(answers.contains(&hook), "the answers are real: {answers}");

    let (clean, logs) = server.terminate();
    assert!(clean, "{logs}");
    assert!(logs.contains("DEBUG") || logs.contains("debug"), "debug logging was on");
    for secret in [SECRET, "refused-secret-0123456789"] {
        assert!(!logs.contains(secret), "a secret is in the logs:\n{logs}");
        assert!(!answers.contains(secret), "a secret is in an API answer");
        for (name, bytes) in data_files(dir.path()) {
            assert!(!contains(&bytes, secret), "a secret is in clear in {name}");
        }
    }
}
