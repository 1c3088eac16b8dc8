//! A feed polled by two real processes sharing one database (and polled
//! again after a restart) posts each new item exactly once, on SQLite and
//! on PostgreSQL.

use std::path::Path;
use std::time::Duration;

use herald_testkit::{FeedEntry, FeedServer, WebhookReceiver};
use serde_json::{Value, json};

use crate::delivery::{SECRET, drop_database, fresh_database, set_up, with_engine_env};
use crate::{Server, herald};

fn start(dir: &Path, database_url: &str) -> Server {
    Server::start(with_engine_env(herald(dir), Some(database_url)), dir)
}

/// Polls the feed on both nodes at once, three times each; a poll that
/// finds the feed busy on the other node answers 409.
async fn poll_everywhere(client: &reqwest::Client, key: &str, bases: [&str; 2], feed: &str) {
    let poll = |base: String| {
        let request = client.post(format!("{base}/api/feeds/{feed}/poll")).bearer_auth(key).json(&json!({}));
        async move {
            let status = request.send().await.unwrap().status().as_u16();
            assert!(status == 200 || status == 409, "poll answered {status}");
        }
    };
    let polls = bases.iter().cycle().take(6).map(|base| poll(base.to_string()));
    futures::future::join_all(polls).await;
}

async fn feed_posts_once_across_processes(database_url: String, dir_a: &Path, dir_b: &Path) {
    let receiver = WebhookReceiver::start(SECRET).await;
    let blog = FeedServer::start().await;
    blog.set(vec![FeedEntry::numbered(2), FeedEntry::numbered(1)]);
    let a = start(dir_a, &database_url);
    std::fs::create_dir_all(dir_b.join("data")).unwrap();
    std::fs::copy(dir_a.join("data/secrets.toml"), dir_b.join("data/secrets.toml")).unwrap();
    let b = start(dir_b, &database_url);
    let (client, key, hook) = set_up(&a.base, &receiver).await;

    let created: Value = client
        .post(format!("{}/api/feeds", a.base))
        .bearer_auth(&key)
        .json(&json!({"url": blog.url(), "platforms": [hook], "mode": "NOW", "template": "{title} {link}"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let feed = created["id"].as_str().unwrap_or_else(|| panic!("{created}")).to_string();
    // Primed by whichever node polls first; nothing is posted for items 1 and 2.
    poll_everywhere(&client, &key, [&a.base, &b.base], &feed).await;

    for n in 3..=6 {
        blog.publish(FeedEntry::numbered(n));
        poll_everywhere(&client, &key, [&a.base, &b.base], &feed).await;
    }
    receiver.wait_for_accepted(4, Duration::from_secs(30)).await;

    // Restart one node; the items it saw before stay seen.
    drop(a);
    let a = start(dir_a, &database_url);
    blog.publish(FeedEntry::numbered(7));
    poll_everywhere(&client, &key, [&a.base, &b.base], &feed).await;
    receiver.wait_for_accepted(5, Duration::from_secs(30)).await;
    // Both nodes' loops keep running a while: still nothing twice.
    tokio::time::sleep(Duration::from_secs(6)).await;
    // A delivery cut by the kill may be resent with the same idempotency
    // key (the receiver keeps one); a second post would carry another key.
    let mut links: Vec<String> = receiver
        .accepted_unique()
        .iter()
        .map(|d| {
            d.body["item"]["content"].as_str().unwrap_or_default().rsplit(' ').next().unwrap_or_default().to_string()
        })
        .collect();
    assert_eq!(links.len(), 5, "each new item exactly once: {links:?}");
    links.sort();
    let expected: Vec<String> = (3..=7).map(|n| format!("https://blog.example/posts/{n}")).collect();
    assert_eq!(links, expected);
    drop(b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_sqlite_file_post_each_feed_item_once() {
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let url = format!("sqlite://{}", dir_a.path().join("data/herald.db").display());
    feed_posts_once_across_processes(url, dir_a.path(), dir_b.path()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_postgres_post_each_feed_item_once() {
    let Some((url, admin, name)) = fresh_database("feeds").await else {
        eprintln!("note: HERALD_TEST_PG_URL is not set; skipping");
        return;
    };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    feed_posts_once_across_processes(url, dir_a.path(), dir_b.path()).await;
    drop_database(admin, &name).await;
}
